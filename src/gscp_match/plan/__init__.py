"""A round plan as tables: the core's candidates and assignment turned into staffing, bookings and the unstaffed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gscp_match._lazy import attach

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from gscp_match.plan._round_plan import RoundPlan, add_bookings

__all__ = [
    "RoundPlan",
    "add_bookings",
]

_EXPORTS = {
    "RoundPlan": "._round_plan",
    "add_bookings": "._round_plan",
}

__getattr__, __dir__ = attach(__name__, _EXPORTS)
