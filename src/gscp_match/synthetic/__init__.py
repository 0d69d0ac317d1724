"""Seeded synthetic (fictional) experts, evidence and requests that follow the data contract."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gscp_match._lazy import attach

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from gscp_match.synthetic._generate import (
        demo_round,
        generate_evidence,
        generate_experts,
        generate_requests,
        generate_round,
    )

__all__ = [
    "generate_experts",
    "generate_evidence",
    "generate_requests",
    "generate_round",
    "demo_round",
]

_EXPORTS = {
    "generate_experts": "._generate",
    "generate_evidence": "._generate",
    "generate_requests": "._generate",
    "generate_round": "._generate",
    "demo_round": "._generate",
}

__getattr__, __dir__ = attach(__name__, _EXPORTS)
