"""The matcher: fit on a roster (evidence, cases), then shortlist, explain and staff rounds of requests."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gscp_match._lazy import attach

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from gscp_match.match._matcher import Matcher, Shortlists
    from gscp_match.match._options import ExpertModel

__all__ = [
    "Matcher",
    "Shortlists",
    "ExpertModel",
]

_EXPORTS = {
    "Matcher": "._matcher",
    "Shortlists": "._matcher",
    "ExpertModel": "._options",
}

__getattr__, __dir__ = attach(__name__, _EXPORTS)
