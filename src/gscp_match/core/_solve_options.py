"""The options of the round solver (:func:`gscp_match.core._assign.solve`): the one place with their defaults and
their checks.

Kept apart from the solver so that reading a default (``gscp-match assign --help`` does) needs numpy only, not
scipy's optimizer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from numbers import Real
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gscp_match.errors import InputError

__all__ = ["METHODS", "SolveOptions"]

#: Valid ``method`` names of :func:`gscp_match.core._assign.solve`.
METHODS = ("milp", "greedy")


@dataclass(frozen=True, slots=True)
class SolveOptions:
    """How a round is solved: the method and the program rules. Checked when built, trusted after.

    A result keeps the options it was solved with, so explanations check the same rules.

    Attributes
    ----------
    method : {"milp", "greedy"}, default "milp"
        Exact MILP (HiGHS) or the greedy baseline (see :mod:`gscp_match.core._assign`).
    require_korean : bool, default True
        A request wanting Korean experience gets at least one Korean-experienced expert or none at all.
    korean_share : float in [0, 1] or None, default None
        Minimum share of Korean-experienced experts among all assignments of the round (None: no minimum).
    unstaffed_penalty : float > 0, default 10.0
        Objective cost of each missing expert.
    recent_engagements : ndarray of float, shape (n_experts,), optional
        Recent engagements per expert of the problem, to spread work (stored as float64).
    spread_weight : float >= 0, default 0.0
        Each pair's score is lowered by ``spread_weight * recent_engagements[expert]``.
    time_limit : float > 0, default 60.0
        HiGHS time limit in seconds.
    mip_rel_gap : float >= 0, default 0.0
        HiGHS relative gap at which to stop.

    Raises
    ------
    InputError
        Every bad option at once, one line each, naming the option, what is valid and what arrived.

    Examples
    --------
    >>> SolveOptions(method="greedy", korean_share=0.25).korean_share
    0.25
    >>> SolveOptions(method="hungarian")
    Traceback (most recent call last):
    ...
    gscp_match.errors.InputError: method: unknown 'hungarian'; valid methods: milp, greedy
    """

    method: str = "milp"
    require_korean: bool = True
    korean_share: float | None = None
    unstaffed_penalty: float = 10.0
    recent_engagements: NDArray[np.float64] | None = None
    spread_weight: float = 0.0
    time_limit: float = 60.0
    mip_rel_gap: float = 0.0

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not isinstance(self.method, str) or self.method not in METHODS:
            problems.append(f"method: unknown {self.method!r}; valid methods: {', '.join(METHODS)}")
        if not isinstance(self.require_korean, bool | np.bool_):
            problems.append(f"require_korean: expected True or False, got {self.require_korean!r}")
        checks = (
            ("korean_share", "a share in [0, 1]", lambda v: 0.0 <= v <= 1.0),
            ("unstaffed_penalty", "a positive number", lambda v: v > 0),
            ("spread_weight", "a number >= 0", lambda v: v >= 0),
            ("time_limit", "a positive number of seconds", lambda v: v > 0),
            ("mip_rel_gap", "a number >= 0", lambda v: v >= 0),
        )
        for name, expected, holds in checks:
            value = getattr(self, name)
            if value is None and name == "korean_share":
                continue
            if isinstance(value, bool) or not isinstance(value, Real) or math.isnan(value) or not holds(value):
                problems.append(f"{name}: expected {expected}, got {value!r}")
            else:
                object.__setattr__(self, name, float(value))
        if self.recent_engagements is not None:
            try:
                recent = np.asarray(self.recent_engagements, dtype=np.float64)
            except (TypeError, ValueError):
                recent = None
            if recent is None or recent.ndim != 1 or not np.all(np.isfinite(recent)):
                shape = "not numbers" if recent is None else f"shape {recent.shape}"
                problems.append(f"recent_engagements: expected finite numbers, one per expert, got {shape}")
            else:
                object.__setattr__(self, "recent_engagements", recent)
        if problems:
            raise InputError(problems)
        object.__setattr__(self, "require_korean", bool(self.require_korean))

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Each option's default, by name (what ``gscp-match --help`` shows).

        >>> SolveOptions.defaults()["time_limit"]
        60.0
        """
        return {field.name: field.default for field in fields(cls)}
