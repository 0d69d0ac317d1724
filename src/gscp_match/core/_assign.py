"""Round assignment: staff every request with experts, no expert double-booked, best total score.

The scoring core hands over, per request, its unmasked candidate experts as *pairs* ``(request, expert,
score)``. :func:`solve` picks a subset of pairs (the *plan*) with :class:`AssignmentProblem` holding every
array and :class:`AssignmentResult` the answer. Positions are integer rows: requests ``0..n_requests-1``,
experts ``0..n_experts-1`` (rows of the expert arrays and of ``free_prefix``).

Formulation (method ``"milp"``, solved by HiGHS through :func:`scipy.optimize.milp`)
-----------------------------------------------------------------------------------
Variables: ``x_p`` binary for every pair ``p = (r, e)``; ``s_r`` continuous in ``[0, need_r]`` (shortfall; it
is integral at any solution because ``need_r`` and the ``x`` are); ``z_r`` binary for each request that wants
Korean experience when ``require_korean``. With ``w_p = score_p - spread_weight * recent_engagements[e]``:

    maximize   sum_p w_p x_p - unstaffed_penalty * sum_r s_r

    (1) request   sum_{e} x_re + s_r = need_r                                   for every request r
    (2) capacity  sum_{r} x_re <= capacity_e                                    for every expert e
    (3) calendar  sum_{r : W_r inside [a, b]} days_r x_re <= free_e[a, b]      for the Hall intervals below
    (4) Korean    sum_{e Korean} x_re >= z_r,  sum_e x_re <= need_r z_r          requests wanting Korean
    (5) share     sum_{e Korean} x_re >= korean_share * sum x                    over the whole round
    (6) budget    sum_e day_rate_e days_r x_re <= budget_r                       requests with a budget

Calendar (3). Only engagements with a window and ``days_r > 0`` book days; the others are not checked (no
window means no dates to check). An engagement needs ``days_r`` *distinct* free working days of its expert
inside its window ``W_r = [start_r, end_r]``, days need not be contiguous. Make ``days_r`` copies of each
engagement and join each copy to the expert's free days in ``W_r``: a set ``S`` of engagements fits iff this
bipartite graph matches every copy. Hall: iff every set ``T`` of copies has ``|N(T)| >= |T|``. Taking all
copies of the engagements touched only grows ``|T|`` at the same ``N(T)``, so it is enough to check sets ``A``
of engagements: ``sum_{A} days <= free(union of W_A)``. Split the union of ``A`` into its overlapping
components: free days of disjoint components add up, so ``A`` holds iff each component does. A component is an
interval ``[a, b]`` with ``a`` a start and ``b`` an end; adding every engagement of ``S`` whose window lies
inside ``[a, b]`` keeps the union and only grows the left side. Hence **S fits iff for every a in starts(S), b
in ends(S): sum_{r in S, W_r inside [a, b]} days_r <= free[a, b]** (and these are plainly necessary: those
engagements can only use free days in ``[a, b]``).

For the model, take per expert its candidate engagements ``C`` (pairs with a window and days). Because
``x_re = 0`` for ``r`` outside the plan, the interval row of ``[a, b]`` over ``C`` restricted to the plan
is exactly the condition above, so writing all ``(a, b)`` over ``C`` is exact. We keep only the intervals
where the windows of ``C`` inside ``[a, b]`` number ``>= 2`` and their union *is* ``[a, b]`` with each window
overlapping an earlier one by at least a day; this loses nothing: the union of any plan component is such an
interval (the plan's windows cover ``[a, b]``, so ``C``'s windows inside do too), and the dropped rows are
sums of kept rows (a disconnected or adjacent-only union: free days split exactly) or weaker than the row of
their union's hull (same left side, more free days). Single windows are pair masks (``days_r <= free_e[W_r]``,
fixed ``x = 0`` otherwise). A row is also dropped when even the ``capacity_e`` largest ``days`` inside fit
(implied by (2)), or when another row has a superset of its windows and no more free days (implied by that
row).

Korean (4): a request wanting Korean experience is either unstaffed or has a Korean-experienced expert; one
with no Korean candidate stays unstaffed. Budget (6): an unknown day rate counts as 0. The problem is always
feasible (``x = 0``). If HiGHS stops at ``time_limit`` with a plan, it is returned with its gap; with no plan,
the greedy baseline is returned and ``status`` says so.

Greedy baseline (method ``"greedy"``)
-------------------------------------
Pairs by ``w`` descending, ties by request then expert position; a pair is taken when the request still needs
experts and capacity, calendar (the exact Hall check above on the expert's engagements), budget and share
still hold. Korean rule: a request's *last* place never goes to a non-Korean while it has no Korean; requests
that end staffed without a Korean are emptied and excluded, and the pass is re-run until none is left. Share:
a non-Korean is skipped while taking it would put the Korean share below ``korean_share`` (so the share holds
at every step).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from gscp_match.core._calendar import free_days_between, place_days
from gscp_match.core._solve_options import METHODS, SolveOptions
from gscp_match.errors import InputError

__all__ = [
    "METHODS",
    "REASON_CODES",
    "AssignmentProblem",
    "AssignmentResult",
    "SolveOptions",
    "UnstaffedReason",
    "solve",
    "solve_options",
    "explain_unstaffed",
    "CANDIDATE_STATUSES",
    "candidate_reasons",
    "alternates",
    "bookings",
]

logger = logging.getLogger(__name__)

#: Codes of :class:`UnstaffedReason`, in the order ties are broken. ``"not_chosen"`` only appears when a
#: candidate could still be added, i.e. the solver stopped early (time limit, ``mip_rel_gap``) or a score is
#: below ``-unstaffed_penalty``.
REASON_CODES = ("no_candidates", "taken", "calendar", "budget", "korean_requirement", "not_chosen")

_INT_MIN = np.iinfo(np.int64).min
#: Relative tolerance for the floating-point rows (budget, share), as HiGHS's feasibility tolerance.
_TOL = 1e-6
#: Booleans per block of the (starts, ends, windows) array of one expert's Hall intervals.
_HALL_BLOCK = 1 << 22
#: Above this many calendar rows for one expert, skip the quadratic dominance filter.
_DOMINANCE_MAX_ROWS = 2000


@dataclass(frozen=True, slots=True)
class AssignmentProblem:
    """One round to staff: candidate pairs, request needs and expert limits.

    Parameters
    ----------
    pair_request, pair_expert : ndarray of int64, shape (n_pairs,)
        Request and expert position of each candidate pair; pairs are unique.
    pair_score : ndarray of float64, shape (n_pairs,)
        Score of each pair, higher is better (typically in [0, 1]).
    experts_needed : ndarray of int64, shape (n_requests,)
        Experts each request needs, ``>= 1``.
    days : ndarray of int64, shape (n_requests,)
        Working days each engagement needs; 0 means no calendar check.
    window_start, window_end : ndarray of int64, shape (n_requests,)
        Inclusive day numbers of each request's window; ignored where ``has_window`` is False.
    has_window : ndarray of bool, shape (n_requests,)
    wants_korean : ndarray of bool, shape (n_requests,)
        The team asked for Korean experience.
    budget : ndarray of float64, shape (n_requests,)
        Team budget (``sum day_rate * days``); NaN means none.
    capacity : ndarray of int64, shape (n_experts,)
        Assignments each expert can take in the round, ``>= 1``.
    korean : ndarray of bool, shape (n_experts,)
        Expert has Korean experience.
    day_rate : ndarray of float64, shape (n_experts,)
        NaN means unknown and counts as 0 for budgets.
    free_prefix : ndarray of int32, shape (n_experts, horizon + 1)
        ``free_prefix[e, t]`` = free working days of expert ``e`` in ``[origin, origin + t)``; days outside
        the horizon are not free.
    origin : int
        Day number of the first horizon day.

    Raises
    ------
    InputError
        Listing every shape, range or dtype problem.

    Examples
    --------
    >>> a = np.array
    >>> problem = AssignmentProblem(
    ...     pair_request=a([0, 0, 1]), pair_expert=a([0, 1, 1]), pair_score=a([0.9, 0.5, 0.8]),
    ...     experts_needed=a([1, 1]), days=a([3, 3]), window_start=a([0, 0]), window_end=a([4, 4]),
    ...     has_window=a([True, True]), wants_korean=a([False, False]), budget=a([np.nan, np.nan]),
    ...     capacity=a([2, 2]), korean=a([False, True]), day_rate=a([100.0, np.nan]),
    ...     free_prefix=a([[0, 1, 2, 3, 4, 5]] * 2, dtype=np.int32), origin=0)
    >>> problem.n_pairs, problem.n_requests, problem.n_experts
    (3, 2, 2)
    """

    pair_request: NDArray[np.int64]
    pair_expert: NDArray[np.int64]
    pair_score: NDArray[np.float64]
    experts_needed: NDArray[np.int64]
    days: NDArray[np.int64]
    window_start: NDArray[np.int64]
    window_end: NDArray[np.int64]
    has_window: NDArray[np.bool_]
    wants_korean: NDArray[np.bool_]
    budget: NDArray[np.float64]
    capacity: NDArray[np.int64]
    korean: NDArray[np.bool_]
    day_rate: NDArray[np.float64]
    free_prefix: NDArray[np.int32]
    origin: int

    def __post_init__(self) -> None:
        problems: list[str] = []
        kinds = {np.int64: "iub", np.float64: "iubf", np.bool_: "b"}
        specs = {
            "pair_request": (np.int64, "pairs"),
            "pair_expert": (np.int64, "pairs"),
            "pair_score": (np.float64, "pairs"),
            "experts_needed": (np.int64, "requests"),
            "days": (np.int64, "requests"),
            "window_start": (np.int64, "requests"),
            "window_end": (np.int64, "requests"),
            "has_window": (np.bool_, "requests"),
            "wants_korean": (np.bool_, "requests"),
            "budget": (np.float64, "requests"),
            "capacity": (np.int64, "experts"),
            "korean": (np.bool_, "experts"),
            "day_rate": (np.float64, "experts"),
        }
        sizes: dict[str, tuple[str, int]] = {}
        for name, (dtype, axis) in specs.items():
            arr = np.asarray(getattr(self, name))
            if arr.size == 0:
                arr = arr.astype(dtype)
            if arr.dtype.kind not in kinds[dtype]:
                problems.append(f"{name}: expected dtype {np.dtype(dtype).name}, got {arr.dtype}")
                continue
            if arr.ndim != 1:
                problems.append(f"{name}: expected a 1-D array (n_{axis},), got shape {arr.shape}")
                continue
            object.__setattr__(self, name, arr.astype(dtype, copy=False))
            if axis in sizes and sizes[axis][1] != arr.size:
                first, n = sizes[axis]
                problems.append(f"{name}: expected length n_{axis} = {n} (from {first}), got {arr.size}")
            sizes.setdefault(axis, (name, arr.size))
        prefix = np.asarray(self.free_prefix)
        if prefix.ndim != 2 or prefix.shape[1] < 1 or prefix.dtype.kind not in "iu":
            problems.append(
                f"free_prefix: expected an integer array (n_experts, horizon + 1), got {prefix.dtype} {prefix.shape}"
            )
        else:
            object.__setattr__(self, "free_prefix", prefix.astype(np.int32, copy=False))
            if "experts" in sizes and prefix.shape[0] != sizes["experts"][1]:
                problems.append(f"free_prefix: expected {sizes['experts'][1]} rows (n_experts), got {prefix.shape[0]}")
        if isinstance(self.origin, (bool, np.bool_)) or not isinstance(self.origin, (int, np.integer)):
            problems.append(f"origin: expected an integer day number, got {self.origin!r}")
        else:
            object.__setattr__(self, "origin", int(self.origin))
        if problems:
            raise InputError(problems)
        self._check_values()

    def _check_values(self) -> None:
        problems: list[str] = []
        n_req, n_exp = self.n_requests, self.n_experts
        pr, pe = self.pair_request, self.pair_expert
        if pr.size:
            if pr.min() < 0 or pr.max() >= n_req:
                problems.append(f"pair_request: expected positions in [0, {n_req}), got {pr.min()}..{pr.max()}")
            if pe.min() < 0 or pe.max() >= n_exp:
                problems.append(f"pair_expert: expected positions in [0, {n_exp}), got {pe.min()}..{pe.max()}")
            if not problems and np.unique(pr * n_exp + pe).size != pr.size:
                problems.append("pair_request/pair_expert: expected unique (request, expert) pairs, found repeats")
            if not np.all(np.isfinite(self.pair_score)):
                problems.append("pair_score: expected finite scores, found NaN or inf")
        for name, values in (("experts_needed", self.experts_needed), ("capacity", self.capacity)):
            if values.size and values.min() < 1:
                problems.append(f"{name}: expected values >= 1, position {int(np.argmin(values))} has {values.min()}")
        if self.days.size and self.days.min() < 0:
            problems.append(f"days: expected values >= 0, request {int(np.argmin(self.days))} has {self.days.min()}")
        backwards = np.flatnonzero(self.has_window & (self.window_end < self.window_start))
        if backwards.size:
            problems.append(f"window_end: before window_start for requests {backwards[:10].tolist()}")
        for name in ("budget", "day_rate"):
            values = getattr(self, name)
            bad = np.flatnonzero(~np.isnan(values) & ~(values >= 0) | np.isinf(values))
            if bad.size:
                problems.append(f"{name}: expected NaN or a finite value >= 0, positions {bad[:10].tolist()}")
        if problems:
            raise InputError(problems)

    @property
    def n_pairs(self) -> int:
        """Number of candidate pairs."""
        return int(self.pair_request.size)

    @property
    def n_requests(self) -> int:
        """Number of requests in the round."""
        return int(self.experts_needed.size)

    @property
    def n_experts(self) -> int:
        """Number of experts on the roster (rows of the expert arrays)."""
        return int(self.capacity.size)


@dataclass(frozen=True, slots=True)
class AssignmentResult:
    """A round plan.

    Attributes
    ----------
    assigned : ndarray of bool, shape (n_pairs,)
        Pairs in the plan.
    shortfall : ndarray of int64, shape (n_requests,)
        Experts missing per request.
    objective : float
        ``sum(w * assigned) - unstaffed_penalty * sum(shortfall)`` with ``w`` the spread-adjusted scores.
    bound : float
        Upper (dual) bound on the objective from HiGHS; NaN for greedy.
    gap : float
        Relative MIP gap reported by HiGHS; NaN for greedy.
    status : str
        ``"optimal"``, ``"time_limit"`` (plan returned with its gap), ``"greedy"``, or the HiGHS failure
        followed by ``"; greedy fallback"``.
    method : str
        Method that produced ``assigned``.
    seconds : float
        Wall time of :func:`solve`.
    n_variables, n_constraints : int
        Size of the MILP (0 for greedy).
    options : SolveOptions
        Options of the solve.
    """

    assigned: NDArray[np.bool_]
    shortfall: NDArray[np.int64]
    objective: float
    bound: float
    gap: float
    status: str
    method: str
    seconds: float
    n_variables: int = 0
    n_constraints: int = 0
    options: SolveOptions = SolveOptions()


@dataclass(frozen=True, slots=True)
class UnstaffedReason:
    """Why a request is (partly) unstaffed.

    Attributes
    ----------
    request : int
        Request position.
    code : str
        One of :data:`REASON_CODES`: the main reason among its candidates.
    blocking_requests : tuple of int
        Requests holding its candidates (experts at capacity, or whose calendars they fill), sorted.
    detail : str
        The reason in plain words.
    """

    request: int
    code: str
    blocking_requests: tuple[int, ...]
    detail: str


# ------------------------------------------------------------------------------------------------------------
# Calendar: free days and the Hall check


def _free_between(
    prefix_row: NDArray[np.int32], start: NDArray[np.int64], end: NDArray[np.int64], origin: int
) -> NDArray[np.int64]:
    """Free days of one expert in inclusive ``[start, end]`` (broadcast), clipped to the horizon."""
    horizon = prefix_row.shape[-1] - 1
    a = np.clip(np.asarray(start, dtype=np.int64) - origin, 0, horizon)
    b = np.clip(np.asarray(end, dtype=np.int64) - origin + 1, 0, horizon)
    return np.where(b > a, prefix_row[np.maximum(a, b)].astype(np.int64) - prefix_row[a], 0)


def _hall_excess(
    prefix_row: NDArray[np.int32],
    start: NDArray[np.int64],
    end: NDArray[np.int64],
    days: NDArray[np.int64],
    origin: int,
) -> tuple[NDArray[np.bool_], NDArray[np.int64]]:
    """Hall intervals of a set of engagements of one expert.

    Returns ``inside (n_a, n_b, k)`` (engagement inside ``[a, b]``, ``a`` over distinct starts, ``b`` over
    distinct ends) and ``excess (n_a, n_b)`` = required minus free days inside; the set fits iff
    ``excess <= 0``.
    """
    a = np.unique(start)
    b = np.unique(end)
    inside = (start[None, None, :] >= a[:, None, None]) & (end[None, None, :] <= b[None, :, None])
    required = (inside * days).sum(axis=2)
    return inside, required - _free_between(prefix_row, a[:, None], b[None, :], origin)


def _calendar_rows(
    prefix_row: NDArray[np.int32],
    start: NDArray[np.int64],
    end: NDArray[np.int64],
    days: NDArray[np.int64],
    capacity: int,
    origin: int,
) -> tuple[NDArray[np.bool_], NDArray[np.int64]]:
    """Calendar rows (3) of one expert over its ``k`` candidate engagements (see the module docstring).

    Returns ``inside (n_rows, k)`` (engagement in the row) and ``free (n_rows,)`` (its right-hand side).
    """
    k = start.size
    empty = np.zeros((0, k), dtype=bool), np.zeros(0, dtype=np.int64)
    if k < 2:
        return empty
    order = np.lexsort((end, start))
    s, e = start[order], end[order]
    starts, ends = np.unique(s), np.unique(e)
    first = np.searchsorted(s, starts)  # the window starting at a with the smallest end
    blocks, rhs = [], []
    # All (a, b, window) triples at once, in blocks of starts so memory stays bounded for busy experts.
    step = max(1, _HALL_BLOCK // max(1, ends.size * k))
    for lo in range(0, starts.size, step):
        a = starts[lo : lo + step]
        inside = (s[None, None, :] >= a[:, None, None]) & (e[None, None, :] <= ends[None, :, None])
        reach = np.maximum.accumulate(np.where(inside, e[None, None, :], _INT_MIN), axis=2)
        before = np.concatenate([np.full(reach.shape[:2] + (1,), _INT_MIN), reach[:, :, :-1]], axis=2)
        # a window that starts after every earlier window inside has ended splits the union
        split = inside & (before != _INT_MIN) & (s[None, None, :] > before)
        starts_at_a = np.take_along_axis(inside, first[lo : lo + step, None, None], axis=2)[:, :, 0]
        keep = (inside.sum(axis=2) >= 2) & starts_at_a & (reach[:, :, -1] == ends[None, :]) & ~split.any(axis=2)
        if keep.any():
            ia, ib = np.nonzero(keep)
            rows = np.zeros((ia.size, k), dtype=bool)
            rows[:, order] = inside[ia, ib]
            blocks.append(rows)
            rhs.append(_free_between(prefix_row, a[ia], ends[ib], origin))
    if not blocks:
        return empty
    inside_all = np.concatenate(blocks)
    free = np.concatenate(rhs).astype(np.int64)
    # implied by the capacity row: the `capacity` longest engagements inside already fit
    longest = -np.sort(-np.where(inside_all, days[None, :], 0), axis=1)[:, :capacity].sum(axis=1)
    useful = longest > free
    inside_all, free = inside_all[useful], free[useful]
    n_rows = free.size
    if 1 < n_rows <= _DOMINANCE_MAX_ROWS:
        counts = inside_all.astype(np.int32)
        # subset[i, j]: windows of row i are a subset of those of row j (distinct rows have distinct sets)
        subset = (counts @ (1 - counts).T) == 0
        np.fill_diagonal(subset, False)
        dominated = (subset & (free[None, :] <= free[:, None])).any(axis=1)
        inside_all, free = inside_all[~dominated], free[~dominated]
    return inside_all, free


# ------------------------------------------------------------------------------------------------------------
# Derived pair data and the incremental plan used by greedy, explanations and alternates


@dataclass(frozen=True, slots=True)
class _Pairs:
    request: NDArray[np.int64]
    expert: NDArray[np.int64]
    weight: NDArray[np.float64]  # spread-adjusted score
    cost: NDArray[np.float64]  # day_rate * days (unknown rate = 0)
    korean: NDArray[np.bool_]  # the pair's expert has Korean experience
    books: NDArray[np.bool_]  # the engagement books calendar days (window and days > 0)
    fits: NDArray[np.bool_]  # the pair's window alone has enough free days


def _pairs(problem: AssignmentProblem, options: SolveOptions) -> _Pairs:
    pr, pe = problem.pair_request, problem.pair_expert
    weight = problem.pair_score.astype(np.float64, copy=True)
    if options.recent_engagements is not None and options.spread_weight:
        weight -= options.spread_weight * options.recent_engagements[pe]
    books = problem.has_window[pr] & (problem.days[pr] > 0)
    free = free_days_between(
        problem.free_prefix, pe, problem.window_start[pr], problem.window_end[pr], origin=problem.origin
    )
    return _Pairs(
        request=pr,
        expert=pe,
        weight=weight,
        cost=np.nan_to_num(problem.day_rate, nan=0.0)[pe] * problem.days[pr],
        korean=problem.korean[pe],
        books=books,
        fits=~books | (free >= problem.days[pr]),
    )


def _korean_blocked(problem: AssignmentProblem, pairs: _Pairs, options: SolveOptions) -> NDArray[np.bool_]:
    """Requests that want Korean experience (and it is required) but have no usable Korean candidate."""
    if not options.require_korean:
        return np.zeros(problem.n_requests, dtype=bool)
    usable_korean = pairs.korean & pairs.fits
    has = np.bincount(pairs.request[usable_korean], minlength=problem.n_requests) > 0
    return problem.wants_korean & ~has


class _StaffingState:
    """Tallies of a plan, with the check "can pair p join (replacing pair `drop` of the same request)?"."""

    def __init__(self, problem: AssignmentProblem, pairs: _Pairs, options: SolveOptions) -> None:
        self.problem, self.pairs, self.options = problem, pairs, options
        self.req_count = np.zeros(problem.n_requests, dtype=np.int64)
        self.req_korean = np.zeros(problem.n_requests, dtype=np.int64)
        self.req_cost = np.zeros(problem.n_requests, dtype=np.float64)
        self.exp_pairs: dict[int, list[int]] = {}
        self.n_total = 0
        self.n_korean = 0

    def add(self, p: int) -> None:
        r = int(self.pairs.request[p])
        self.req_count[r] += 1
        self.req_korean[r] += int(self.pairs.korean[p])
        self.req_cost[r] += self.pairs.cost[p]
        self.exp_pairs.setdefault(int(self.pairs.expert[p]), []).append(p)
        self.n_total += 1
        self.n_korean += int(self.pairs.korean[p])

    def calendar_conflict(self, p: int) -> tuple[int, ...] | None:
        """None if the expert's engagements plus pair p fit its calendar, else the requests in the way."""
        pairs, problem = self.pairs, self.problem
        if not pairs.books[p]:
            return None
        e = int(pairs.expert[p])
        jobs = [q for q in self.exp_pairs.get(e, []) if pairs.books[q] and q != p] + [p]
        req = pairs.request[np.asarray(jobs)]
        start, end = problem.window_start[req], problem.window_end[req]
        inside, excess = _hall_excess(problem.free_prefix[e], start, end, problem.days[req], problem.origin)
        violated = (excess > 0) & inside[:, :, -1]  # intervals holding the new engagement that overflow
        if not violated.any():
            return None
        in_the_way = np.asarray(inside[violated].any(axis=0))[:-1]
        return tuple(sorted({int(r) for r in req[:-1][in_the_way]}))

    def check(self, p: int, *, drop: int | None = None, last_slot_only: bool = False) -> tuple[str, tuple[int, ...]]:
        """Why pair p cannot join the plan (code, blocking requests); code "" when it can.

        Codes are those of :data:`REASON_CODES`, plus ``"korean_share"`` for the round's share.

        ``drop`` is a pair of the same request leaving the plan. With ``last_slot_only`` (greedy), the Korean
        rule only refuses a non-Korean for the request's last place.
        """
        pairs, problem, options = self.pairs, self.problem, self.options
        r, e = int(pairs.request[p]), int(pairs.expert[p])
        if not pairs.fits[p]:
            return "calendar", ()
        holding = self.exp_pairs.get(e, [])
        if len(holding) >= problem.capacity[e]:
            return "taken", tuple(sorted({int(pairs.request[q]) for q in holding}))
        in_the_way = self.calendar_conflict(p)
        if in_the_way is not None:
            return "calendar", in_the_way
        dropped_cost = pairs.cost[drop] if drop is not None else 0.0
        dropped_korean = int(pairs.korean[drop]) if drop is not None else 0
        budget = problem.budget[r]
        cost = self.req_cost[r] - dropped_cost + pairs.cost[p]
        if not np.isnan(budget) and cost > budget + _TOL * max(1.0, budget):
            return "budget", ()
        if options.require_korean and problem.wants_korean[r] and not pairs.korean[p]:
            no_korean = self.req_korean[r] - dropped_korean == 0
            count = self.req_count[r] - (drop is not None) + 1
            if no_korean and (not last_slot_only or count >= problem.experts_needed[r]):
                return "korean_requirement", ()
        if options.korean_share is not None and not pairs.korean[p]:
            n_korean = self.n_korean - dropped_korean
            n_total = self.n_total - (drop is not None) + 1
            if n_korean < options.korean_share * n_total - _TOL:
                return "korean_share", ()
        return "", ()


def _plan_of(
    problem: AssignmentProblem, pairs: _Pairs, options: SolveOptions, assigned: NDArray[np.bool_]
) -> _StaffingState:
    plan = _StaffingState(problem, pairs, options)
    for p in np.flatnonzero(assigned):
        plan.add(int(p))
    return plan


def _score_order(pairs: _Pairs) -> NDArray[np.int64]:
    """Pairs by weight descending, ties by request then expert position."""
    return np.lexsort((pairs.expert, pairs.request, -pairs.weight))


def _greedy(problem: AssignmentProblem, pairs: _Pairs, options: SolveOptions) -> NDArray[np.bool_]:
    order = _score_order(pairs)
    excluded = _korean_blocked(problem, pairs, options)
    need = problem.experts_needed
    while True:
        plan = _StaffingState(problem, pairs, options)
        assigned = np.zeros(problem.n_pairs, dtype=bool)
        for p in order:
            r = pairs.request[p]
            if excluded[r] or plan.req_count[r] >= need[r]:
                continue
            if plan.check(int(p), last_slot_only=True)[0] == "":
                plan.add(int(p))
                assigned[p] = True
        # teams that wanted Korean experience and ended without it are emptied; re-run without them
        broken = options.require_korean & problem.wants_korean & (plan.req_count > 0) & (plan.req_korean == 0)
        if not broken.any():
            return assigned
        logger.debug("greedy: requests %s ended without a Korean expert, re-running", np.flatnonzero(broken))
        excluded |= broken


# ------------------------------------------------------------------------------------------------------------
# MILP


class _Rows:
    """Sparse constraint rows ``lower <= A x <= upper`` collected in blocks, in the order they are added."""

    def __init__(self) -> None:
        self.rows: list[NDArray[np.int64]] = []
        self.cols: list[NDArray[np.int64]] = []
        self.vals: list[NDArray[np.float64]] = []
        self.lower: list[NDArray[np.float64]] = []
        self.upper: list[NDArray[np.float64]] = []
        self.n_rows = 0

    def add(self, r: NDArray, c: NDArray, v: NDArray, lo: NDArray, hi: NDArray) -> None:
        """A block of ``len(lo)`` rows: entry ``(r[i], c[i]) = v[i]``, rows numbered from 0 within the block."""
        self.rows.append(np.asarray(r, dtype=np.int64) + self.n_rows)
        self.cols.append(np.asarray(c, dtype=np.int64))
        self.vals.append(np.asarray(v, dtype=np.float64))
        self.lower.append(np.asarray(lo, dtype=np.float64))
        self.upper.append(np.asarray(hi, dtype=np.float64))
        self.n_rows += len(lo)

    def constraint(self, n_var: int) -> LinearConstraint:
        matrix = sparse.csr_array(
            (np.concatenate(self.vals), (np.concatenate(self.rows), np.concatenate(self.cols))),
            shape=(self.n_rows, n_var),
        )
        return LinearConstraint(matrix, np.concatenate(self.lower), np.concatenate(self.upper))


def _build_milp(
    problem: AssignmentProblem, pairs: _Pairs, options: SolveOptions
) -> tuple[NDArray[np.float64], NDArray[np.float64], Bounds, LinearConstraint]:
    """Objective, integrality, variable bounds and the sparse rows (1)-(6) of the module docstring.

    Variables: one ``x`` per pair, one shortfall per request, one ``z`` per request with the Korean rule.
    """
    n_pairs, n_req = problem.n_pairs, problem.n_requests
    need = problem.experts_needed
    x_upper = pairs.fits & ~_korean_blocked(problem, pairs, options)[pairs.request]
    budget = problem.budget[pairs.request]
    x_upper &= np.isnan(budget) | (pairs.cost <= budget + _TOL * np.maximum(1.0, np.nan_to_num(budget)))
    usable = np.flatnonzero(x_upper)

    z_requests = np.zeros(0, dtype=np.int64)
    if options.require_korean:
        has_pairs = np.bincount(pairs.request[usable], minlength=n_req) > 0
        z_requests = np.flatnonzero(problem.wants_korean & has_pairs)
    n_z = z_requests.size
    n_var = n_pairs + n_req + n_z

    rows = _Rows()
    # (1) request: sum x + shortfall == need
    rows.add(
        np.concatenate([pairs.request[usable], np.arange(n_req)]),
        np.concatenate([usable, n_pairs + np.arange(n_req)]),
        np.ones(usable.size + n_req),
        need,
        need,
    )
    _capacity_rows(rows, problem, pairs, usable)
    _calendar_constraint_rows(rows, problem, pairs, usable)
    if n_z:
        _korean_rows(rows, problem, pairs, usable, z_requests)
    # (5) share: sum (korean - share) x >= 0
    if options.korean_share:
        share = options.korean_share
        rows.add(np.zeros(usable.size), usable, pairs.korean[usable] - share, np.zeros(1), np.full(1, np.inf))
    _budget_rows(rows, problem, pairs, usable)

    c = np.concatenate([-pairs.weight, np.full(n_req, options.unstaffed_penalty), np.zeros(n_z)])
    integrality = np.concatenate([np.ones(n_pairs), np.zeros(n_req), np.ones(n_z)])
    var_upper = np.concatenate([x_upper.astype(np.float64), need.astype(np.float64), np.ones(n_z)])
    return c, integrality, Bounds(np.zeros(n_var), var_upper), rows.constraint(n_var)


def _capacity_rows(rows: _Rows, problem: AssignmentProblem, pairs: _Pairs, usable: NDArray[np.int64]) -> None:
    """(2) capacity, only for experts with more usable pairs than capacity."""
    experts, counts = np.unique(pairs.expert[usable], return_counts=True)
    tight = experts[counts > problem.capacity[experts]]
    if tight.size:
        on = np.isin(pairs.expert[usable], tight)
        rows.add(
            np.searchsorted(tight, pairs.expert[usable][on]),
            usable[on],
            np.ones(on.sum()),
            np.full(tight.size, -np.inf),
            problem.capacity[tight],
        )


def _calendar_constraint_rows(
    rows: _Rows, problem: AssignmentProblem, pairs: _Pairs, usable: NDArray[np.int64]
) -> None:
    """(3) calendar: per expert with two or more booking pairs, the days booked inside each window set fit."""
    booking = usable[pairs.books[usable]]
    booking = booking[np.argsort(pairs.expert[booking], kind="stable")]
    bounds_at = np.flatnonzero(np.diff(pairs.expert[booking])) + 1
    for group in np.split(booking, bounds_at):
        if group.size < 2:
            continue
        e = int(pairs.expert[group[0]])
        req = pairs.request[group]
        inside, free = _calendar_rows(
            problem.free_prefix[e],
            problem.window_start[req],
            problem.window_end[req],
            problem.days[req],
            int(problem.capacity[e]),
            problem.origin,
        )
        if free.size:
            r, j = np.nonzero(inside)
            rows.add(r, group[j], problem.days[req][j], np.full(free.size, -np.inf), free)


def _korean_rows(
    rows: _Rows,
    problem: AssignmentProblem,
    pairs: _Pairs,
    usable: NDArray[np.int64],
    z_requests: NDArray[np.int64],
) -> None:
    """(4) Korean: sum_korean x - z >= 0 and sum x - need z <= 0, for the requests in ``z_requests``."""
    n_pairs, n_req, n_z = problem.n_pairs, problem.n_requests, z_requests.size
    need = problem.experts_needed
    z_of = np.full(n_req, -1, dtype=np.int64)
    z_of[z_requests] = np.arange(n_z)
    mine = usable[z_of[pairs.request[usable]] >= 0]
    kor = mine[pairs.korean[mine]]
    z_cols = n_pairs + n_req + np.arange(n_z)
    rows.add(
        np.concatenate([z_of[pairs.request[kor]], np.arange(n_z)]),
        np.concatenate([kor, z_cols]),
        np.concatenate([np.ones(kor.size), -np.ones(n_z)]),
        np.zeros(n_z),
        np.full(n_z, np.inf),
    )
    rows.add(
        np.concatenate([z_of[pairs.request[mine]], np.arange(n_z)]),
        np.concatenate([mine, z_cols]),
        np.concatenate([np.ones(mine.size), -need[z_requests].astype(np.float64)]),
        np.full(n_z, -np.inf),
        np.zeros(n_z),
    )


def _budget_rows(rows: _Rows, problem: AssignmentProblem, pairs: _Pairs, usable: NDArray[np.int64]) -> None:
    """(6) budget, only for teams of 2+ whose usable candidates together could exceed it (a single member's cost is
    already within budget through the variable's upper bound)."""
    need = problem.experts_needed
    limited = usable[~np.isnan(problem.budget[pairs.request[usable]])]
    spend = np.bincount(pairs.request[limited], weights=pairs.cost[limited], minlength=problem.n_requests)
    over = np.flatnonzero((spend > np.nan_to_num(problem.budget, nan=np.inf)) & (need >= 2))
    if over.size:
        capped = limited[np.isin(pairs.request[limited], over)]
        rows.add(
            np.searchsorted(over, pairs.request[capped]),
            capped,
            pairs.cost[capped],
            np.full(over.size, -np.inf),
            problem.budget[over],
        )


def _objective(
    problem: AssignmentProblem, pairs: _Pairs, options: SolveOptions, assigned: NDArray[np.bool_]
) -> tuple[NDArray[np.int64], float]:
    """Shortfall per request and the objective of a plan."""
    shortfall = problem.experts_needed - np.bincount(pairs.request[assigned], minlength=problem.n_requests)
    return shortfall.astype(np.int64), float(pairs.weight[assigned].sum() - options.unstaffed_penalty * shortfall.sum())


def solve_options(options: SolveOptions | None = None, **settings: Any) -> SolveOptions:
    """``options`` with ``settings`` set (default ``SolveOptions(**settings)``), checked once, by :class:`SolveOptions`.

    A keyword that is not a field of :class:`SolveOptions` is a TypeError listing the fields.

    >>> solve_options(SolveOptions(method="greedy"), time_limit=5).time_limit
    5.0
    """
    unknown = sorted(set(settings) - set(_OPTION_NAMES))
    if unknown:
        raise TypeError(f"unknown solver option(s) {', '.join(unknown)}; valid: {', '.join(_OPTION_NAMES)}")
    if options is None:
        return SolveOptions(**settings)
    if not isinstance(options, SolveOptions):
        raise TypeError(f"options must be a SolveOptions, got {type(options).__name__}")
    return replace(options, **settings) if settings else options


_OPTION_NAMES = tuple(field.name for field in fields(SolveOptions))


def solve(problem: AssignmentProblem, options: SolveOptions | None = None, **settings: Any) -> AssignmentResult:
    """Staff a round: pick pairs so each request gets its experts, within every rule, at the best total score.

    Parameters
    ----------
    problem : AssignmentProblem
    options : SolveOptions, optional
        The method and the rules; default ``SolveOptions()`` (the defaults are listed there, and only there).
    **settings
        Fields of :class:`SolveOptions` to set (``method="greedy"``, ``time_limit=5``, ...), on top of
        ``options``. ``recent_engagements`` has shape ``(n_experts,)``: one count per expert of ``problem``.

    Returns
    -------
    AssignmentResult

    Raises
    ------
    InputError
        A bad option value or an unknown ``method`` (from :class:`SolveOptions`, listing the valid ones), or
        ``recent_engagements`` not of shape ``(n_experts,)``.
    TypeError
        A keyword that is not an option; the message lists the valid ones.

    Examples
    --------
    >>> a = np.array
    >>> problem = AssignmentProblem(
    ...     pair_request=a([0, 0, 1]), pair_expert=a([0, 1, 1]), pair_score=a([0.9, 0.5, 0.8]),
    ...     experts_needed=a([1, 1]), days=a([3, 3]), window_start=a([0, 0]), window_end=a([4, 4]),
    ...     has_window=a([True, True]), wants_korean=a([False, False]), budget=a([np.nan, np.nan]),
    ...     capacity=a([2, 2]), korean=a([False, True]), day_rate=a([100.0, np.nan]),
    ...     free_prefix=a([[0, 1, 2, 3, 4, 5]] * 2, dtype=np.int32), origin=0)
    >>> result = solve(problem)
    >>> result.assigned.tolist(), result.shortfall.tolist(), round(result.objective, 2), result.status
    ([True, False, True], [0, 0], 1.7, 'optimal')

    Expert 1 has 5 free days, not enough for both 3-day engagements, so the plan gives request 0 to expert 0.
    ``solve(problem, method="greedy")`` and ``solve(problem, SolveOptions(method="greedy"))`` are the same call.
    """
    started = time.perf_counter()
    options = solve_options(options, **settings)
    recent = options.recent_engagements
    if recent is not None and recent.shape != (problem.n_experts,):
        raise InputError(
            f"recent_engagements: expected one count per expert, shape ({problem.n_experts},) (n_experts), "
            f"got shape {recent.shape}"
        )
    pairs = _pairs(problem, options)

    def finish(
        assigned: NDArray[np.bool_],
        bound: float,
        gap: float,
        status: str,
        used: str,
        n_var: int = 0,
        n_con: int = 0,
    ) -> AssignmentResult:
        shortfall, objective = _objective(problem, pairs, options, assigned)
        return AssignmentResult(
            assigned=assigned,
            shortfall=shortfall,
            objective=objective,
            bound=float(bound),
            gap=float(gap),
            status=status,
            method=used,
            seconds=time.perf_counter() - started,
            n_variables=n_var,
            n_constraints=n_con,
            options=options,
        )

    if options.method == "greedy":
        return finish(_greedy(problem, pairs, options), np.nan, np.nan, "greedy", "greedy")
    if problem.n_pairs == 0:
        assigned = np.zeros(0, dtype=bool)
        _, objective = _objective(problem, pairs, options, assigned)
        return finish(assigned, objective, 0.0, "optimal", "milp")

    c, integrality, bounds, constraint = _build_milp(problem, pairs, options)
    n_var, n_con = c.size, constraint.A.shape[0]
    logger.debug("assignment MILP: %d variables, %d constraints, %d nonzeros", n_var, n_con, constraint.A.nnz)
    res = milp(
        c,
        integrality=integrality,
        bounds=bounds,
        constraints=constraint,
        options={"disp": False, "time_limit": options.time_limit, "mip_rel_gap": options.mip_rel_gap},
    )
    if res.x is not None and res.status in (0, 1):
        assigned = res.x[: problem.n_pairs] > 0.5
        status = "optimal" if res.status == 0 else "time_limit"
        bound = -getattr(res, "mip_dual_bound", np.nan)
        return finish(assigned, bound, getattr(res, "mip_gap", np.nan), status, "milp", n_var, n_con)
    status = ("time_limit_no_solution" if res.status == 1 else f"failed: {res.message}") + "; greedy fallback"
    logger.warning("assignment MILP gave no plan (%s); using the greedy baseline", res.message)
    return finish(_greedy(problem, pairs, options), np.nan, np.nan, status, "greedy", n_var, n_con)


# ------------------------------------------------------------------------------------------------------------
# After the solve: explanations, alternates, booked days


def _check_result(problem: AssignmentProblem, result: AssignmentResult) -> None:
    if np.shape(result.assigned) != (problem.n_pairs,) or np.shape(result.shortfall) != (problem.n_requests,):
        raise InputError(
            f"result: expected assigned ({problem.n_pairs},) and shortfall ({problem.n_requests},) for this "
            f"problem, got {np.shape(result.assigned)} and {np.shape(result.shortfall)}"
        )


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _request_list(requests: tuple[int, ...] | list[int], names: Sequence[str] | None = None) -> str:
    shown = ", ".join(str(r) if names is None else str(names[r]) for r in requests[:8])
    more = f" and {len(requests) - 8} more" if len(requests) > 8 else ""
    return f"request{'s' if len(requests) > 1 else ''} {shown}{more}"


def explain_unstaffed(
    problem: AssignmentProblem, result: AssignmentResult, *, request_names: Sequence[str] | None = None
) -> list[UnstaffedReason]:
    """Say why each request with a shortfall is not fully staffed.

    Each unassigned candidate of the request is checked against the plan with the result's options, in this
    order: its window alone too short (``"calendar"``), expert at capacity (``"taken"``), expert's calendar
    full with other engagements (``"calendar"``), team budget (``"budget"``), Korean rule or share
    (``"korean_requirement"``). The request's code is the most common candidate reason (ties in
    :data:`REASON_CODES` order). Before that, a request with no candidate at all or with every candidate
    already in its team gets ``"no_candidates"``, one that needs Korean experience and has no Korean candidate
    gets ``"korean_requirement"``. It never raises on a plan that breaks the rules; it explains the plan as
    given.

    Parameters
    ----------
    problem : AssignmentProblem
    result : AssignmentResult
        From :func:`solve` on ``problem`` (or any plan with the same shapes).
    request_names : sequence of str, shape (n_requests,), optional
        How the details name other requests (default: their positions).

    Returns
    -------
    list of UnstaffedReason
        One per request with ``shortfall > 0``, by request position.

    Examples
    --------
    >>> problem = _example_problem()
    >>> [reason] = explain_unstaffed(problem, solve(problem))
    >>> reason.request, reason.code, reason.blocking_requests
    (2, 'taken', (0,))
    >>> print(reason.detail)  # doctest: +NORMALIZE_WHITESPACE
    needs 1 expert, has 0: 1 candidate is at the assignment limit, booked by request 0;
    1 candidate lacks the Korean experience the team asked for
    """
    _check_result(problem, result)
    if request_names is not None and len(request_names) != problem.n_requests:
        raise InputError(f"request_names: expected {problem.n_requests} names, got {len(request_names)}")
    options = result.options
    pairs = _pairs(problem, options)
    assigned = np.asarray(result.assigned, dtype=bool)
    plan = _plan_of(problem, pairs, options, assigned)
    order = _score_order(pairs)
    by_request = order[np.argsort(pairs.request[order], kind="stable")]
    starts = np.searchsorted(pairs.request[by_request], np.arange(problem.n_requests + 1))
    reasons = []
    for short in np.flatnonzero(np.asarray(result.shortfall) > 0):
        r = int(short)
        candidates = by_request[starts[r] : starts[r + 1]]
        need, got = int(problem.experts_needed[r]), int(assigned[candidates].sum())
        head = f"needs {_plural(need, 'expert', 'experts')}, has {got}"
        wants = options.require_korean and problem.wants_korean[r]
        if candidates.size == 0:
            reasons.append(
                UnstaffedReason(
                    r,
                    "no_candidates",
                    (),
                    f"{head}: no expert passed screening (conflicts, language, budget, dates)",
                )
            )
            continue
        if wants and not (pairs.korean[candidates] & pairs.fits[candidates]).any():
            detail = (
                f"{head}: the team asked for Korean experience and none of its "
                f"{_plural(candidates.size, 'candidate', 'candidates')} with free days has it"
            )
            reasons.append(UnstaffedReason(r, "korean_requirement", (), detail))
            continue
        open_candidates = candidates[~assigned[candidates]]
        if open_candidates.size == 0:
            detail = f"{head}: only {_plural(candidates.size, 'candidate', 'candidates')} passed screening, "
            detail += "all assigned"
            reasons.append(UnstaffedReason(r, "no_candidates", (), detail))
            continue
        tally: dict[str, int] = {}
        blockers: dict[str, set[int]] = {"taken": set(), "calendar": set()}
        for p in open_candidates:
            why, in_the_way = plan.check(int(p))
            why = why or "not_chosen"
            tally[why] = tally.get(why, 0) + 1
            if why in blockers:
                blockers[why].update(q for q in in_the_way if q != r)
        parts = []
        for why in (*REASON_CODES, "korean_share"):
            if why not in tally:
                continue
            one = tally[why] == 1
            if tally[why] == open_candidates.size:
                other = "other " if got else ""
                who = f"the only {other}candidate" if one else f"all {tally[why]} {other}candidates"
            else:
                who = _plural(tally[why], "candidate", "candidates")
            held = sorted(blockers.get(why, ()))
            if why == "taken":
                text = f"{who} {'is' if one else 'are'} at the assignment limit"
                text += f", booked by {_request_list(held, request_names)}" if held else ""
            elif why == "calendar":
                text = f"{who} {'has' if one else 'have'} too few free working days in the window"
                held_text = _request_list(held, request_names)
                text += f" once {held_text} {'is' if len(held) == 1 else 'are'} booked" if held else ""
            elif why == "budget":
                text = f"{who} would take the team over its budget of USD {problem.budget[r]:,.0f}"
            elif why == "korean_requirement":
                text = f"{who} {'lacks' if one else 'lack'} the Korean experience the team asked for"
            elif why == "korean_share":
                text = f"{who} would bring the round's share of Korean-experienced experts below "
                text += f"{options.korean_share:.0%}"
            else:
                text = f"{who} could still be added (the solver stopped early: {result.status})"
            parts.append(text)
        if "korean_share" in tally:
            tally["korean_requirement"] = tally.get("korean_requirement", 0) + tally.pop("korean_share")
        code = max(tally, key=lambda c: (tally[c], -REASON_CODES.index(c)))
        blocking = tuple(sorted(blockers["taken"] | blockers["calendar"]))
        reasons.append(UnstaffedReason(r, code, blocking, f"{head}: " + "; ".join(parts)))
    return reasons


#: Status of a candidate pair in :func:`candidate_reasons`: in the team, stand-by, or not chosen (with a code).
CANDIDATE_STATUSES = ("assigned", "alternate", "not chosen")


def candidate_reasons(
    problem: AssignmentProblem, result: AssignmentResult, *, n_alternates: int = 3
) -> tuple[NDArray[np.object_], NDArray[np.object_], list[tuple[int, ...]]]:
    """Every candidate pair's place in the plan, and why a pair was not chosen.

    A pair is ``"assigned"``, ``"alternate"`` (among the first ``n_alternates`` of :func:`alternates`) or
    ``"not chosen"``. The reason code of a pair not chosen is the first rule it breaks against the plan as it
    stands (the checks of :func:`explain_unstaffed`): joining an open place of a short team, else replacing the
    request's best-ranked team member: ``"calendar"`` (its window alone, or the expert's
    other engagements, leave too few free days), ``"taken"`` (the expert is at the assignment limit),
    ``"budget"``, ``"korean_requirement"`` or ``"korean_share"``; a pair that could join or replace someone
    without breaking a rule is ``"stand_by"`` (ranked below the alternates); ``"team_full"`` is left for a
    request that needs nobody.

    Parameters
    ----------
    problem : AssignmentProblem
    result : AssignmentResult
    n_alternates : int, default 3
        As for :func:`alternates`.

    Returns
    -------
    status : ndarray of object, shape (n_pairs,)
        One of :data:`CANDIDATE_STATUSES`.
    code : ndarray of object, shape (n_pairs,)
        ``""`` for assigned and alternate pairs, else the reason code.
    blocking : list of tuple of int, length n_pairs
        Requests holding the expert (``"taken"``) or filling its calendar (``"calendar"``), sorted.

    Examples
    --------
    >>> problem = _example_problem()
    >>> status, code, blocking = candidate_reasons(problem, solve(problem))
    >>> list(zip(status, code, blocking))[:3]
    [('assigned', '', ()), ('not chosen', 'korean_requirement', ()), ('assigned', '', ())]
    """
    _check_result(problem, result)
    options = result.options
    pairs = _pairs(problem, options)
    assigned = np.asarray(result.assigned, dtype=bool)
    plan = _plan_of(problem, pairs, options, assigned)
    stand_by = alternates(problem, result, n=n_alternates)
    status = np.where(assigned, "assigned", "not chosen").astype(object)
    status[stand_by[stand_by >= 0]] = "alternate"
    code = np.full(problem.n_pairs, "", dtype=object)
    blocking: list[tuple[int, ...]] = [()] * problem.n_pairs
    team_of: dict[int, list[int]] = {}
    for member in np.flatnonzero(assigned):
        team_of.setdefault(int(pairs.request[member]), []).append(int(member))
    for pair in np.flatnonzero(status == "not chosen"):
        p = int(pair)
        r = int(pairs.request[p])
        # An open place: the pair joins as it is; a full team: it would replace a member.
        leaving: list[int | None] = [None] if result.shortfall[r] > 0 else []
        leaving += team_of.get(r, [])
        checks = [plan.check(p, drop=d) for d in leaving]
        in_the_way: tuple[int, ...]
        if any(w == "" for w, _ in checks):
            why, in_the_way = "stand_by", ()
        elif checks:
            why, in_the_way = checks[0]
        else:
            why, in_the_way = "team_full", ()
        code[p] = why
        blocking[p] = tuple(q for q in in_the_way if q != r)
    return status, code, blocking


def alternates(problem: AssignmentProblem, result: AssignmentResult, *, n: int = 3) -> NDArray[np.int64]:
    """Stand-by experts: per request, the next candidates who could step in for one of its assigned experts.

    A candidate not assigned to the request qualifies when, for some assigned expert of the request dropping
    out (or for an open place, when the request is short), the plan with the candidate in stays within every
    rule of the result's options: its capacity and calendar against all other assignments, the team budget,
    the Korean rule and the round's Korean share.

    Parameters
    ----------
    problem : AssignmentProblem
    result : AssignmentResult
    n : int, default 3
        Alternates per request.

    Returns
    -------
    ndarray of int64, shape (n_requests, n)
        Pair indices, best first (score descending, ties by expert position), padded with -1.

    Examples
    --------
    >>> problem = _example_problem()
    >>> alternates(problem, solve(problem), n=2).tolist()
    [[-1, -1], [3, -1], [-1, -1]]

    Request 1 (expert 1) can fall back on expert 2 (pair 3); request 0 cannot: its only other candidate has no
    Korean experience.
    """
    _check_result(problem, result)
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise InputError(f"n: expected a non-negative integer, got {n!r}")
    options = result.options
    pairs = _pairs(problem, options)
    assigned = np.asarray(result.assigned, dtype=bool)
    plan = _plan_of(problem, pairs, options, assigned)
    order = np.lexsort((pairs.expert, -pairs.weight))
    by_request = order[np.argsort(pairs.request[order], kind="stable")]
    starts = np.searchsorted(pairs.request[by_request], np.arange(problem.n_requests + 1))
    out = np.full((problem.n_requests, n), -1, dtype=np.int64)
    for r in range(problem.n_requests):
        candidates = by_request[starts[r] : starts[r + 1]]
        team = candidates[assigned[candidates]]
        leaving: list[int | None] = [int(p) for p in team]
        if result.shortfall[r] > 0 or team.size == 0:
            leaving.append(None)
        found = 0
        for p in candidates[~assigned[candidates]]:
            if found == n:
                break
            if any(plan.check(int(p), drop=d)[0] == "" for d in leaving):
                out[r, found] = p
                found += 1
    return out


def bookings(problem: AssignmentProblem, result: AssignmentResult) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Days each assignment books on its expert's calendar.

    Per expert, its assigned engagements with a window and days are placed on its free working days (rebuilt
    from ``free_prefix``) inside their windows, earliest deadline first
    (:func:`gscp_match.core._calendar.place_days`, ties by request position).

    Parameters
    ----------
    problem : AssignmentProblem
    result : AssignmentResult

    Returns
    -------
    pair_index : ndarray of int64, shape (n_booked,)
    day : ndarray of int64, shape (n_booked,)
        Day numbers, sorted by pair then day; no expert has a day twice.

    Raises
    ------
    InputError
        When an expert's assignments do not fit its calendar (a plan that breaks the calendar rule).

    Examples
    --------
    >>> problem = _example_problem()
    >>> pair_index, day = bookings(problem, solve(problem))
    >>> pair_index.tolist(), day.tolist()
    ([0, 0, 2, 2, 2], [0, 1, 0, 1, 2])
    """
    _check_result(problem, result)
    pr, pe = problem.pair_request, problem.pair_expert
    booked = np.flatnonzero(np.asarray(result.assigned, dtype=bool) & problem.has_window[pr] & (problem.days[pr] > 0))
    booked = booked[np.lexsort((pr[booked], pe[booked]))]
    pair_parts, day_parts = [], []
    for group in np.split(booked, np.flatnonzero(np.diff(pe[booked])) + 1):
        if group.size == 0:
            continue
        e, req = int(pe[group[0]]), pr[group]
        free_mask = np.diff(problem.free_prefix[e]) > 0
        try:
            placed = place_days(
                free_mask,
                problem.window_start[req],
                problem.window_end[req],
                problem.days[req],
                origin=problem.origin,
            )
        except InputError as exc:
            raise InputError(
                f"expert {e}: its assigned requests {req.tolist()} do not fit its calendar ({exc})"
            ) from exc
        for p, days in zip(group, placed, strict=True):
            pair_parts.append(np.full(days.size, p, dtype=np.int64))
            day_parts.append(days)
    if not pair_parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    pair_index, day = np.concatenate(pair_parts), np.concatenate(day_parts)
    order = np.lexsort((day, pair_index))
    return pair_index[order], day[order]


def _example_problem() -> AssignmentProblem:
    """Three requests, three experts; requests 0 and 2 want Korean experience and only expert 0 has it."""
    return AssignmentProblem(
        pair_request=np.array([0, 0, 1, 1, 2, 2]),
        pair_expert=np.array([0, 1, 1, 2, 0, 1]),
        pair_score=np.array([0.9, 0.5, 0.8, 0.6, 0.7, 0.4]),
        experts_needed=np.array([1, 1, 1]),
        days=np.array([2, 3, 1]),
        window_start=np.array([0, 0, 0]),
        window_end=np.array([9, 9, 9]),
        has_window=np.array([True, True, True]),
        wants_korean=np.array([True, False, True]),
        budget=np.full(3, np.nan),
        capacity=np.array([1, 2, 1]),
        korean=np.array([True, False, False]),
        day_rate=np.full(3, np.nan),
        free_prefix=np.tile(np.arange(11, dtype=np.int32), (3, 1)),
        origin=0,
    )
