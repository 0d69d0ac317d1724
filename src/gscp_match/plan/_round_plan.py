"""A round plan as tables: from the scoring core's candidates to the assignment, the unstaffed requests and
the booked days, and back to a roster whose calendars include the round.

The arrays in between are :mod:`gscp_match.core._assign`'s. This module is the edge that gives them ids, names and
dates, and explains every row in words:

* :func:`build_problem` turns each request's top-M unmasked candidates (a :class:`~gscp_match.core._scoring.Ranking`
  with ``k = M``) into an :class:`~gscp_match.core._assign.AssignmentProblem` over the experts that appear in them
  (a sub-roster, so the problem stays small whatever the roster size).
* :func:`plan_tables` solves nothing; it turns a solved problem into each request's assigned and alternate
  experts (ranked), the unstaffed reasons and the ``bookings`` table; the matcher adds ids, names and
  explanations to make :class:`RoundPlan`.
* :func:`add_bookings` writes the booked days into the roster's ``busy`` column, so the next round sees them.

:meth:`gscp_match.Matcher.assign` runs the whole chain.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gscp_match.core import _calendar as calendar
from gscp_match.core._assign import (
    AssignmentProblem,
    AssignmentResult,
    UnstaffedReason,
    alternates,
    bookings,
    candidate_reasons,
    explain_unstaffed,
)
from gscp_match.core._scoring import FILTERS, Ranking, ScoringInputs
from gscp_match.errors import InputError

__all__ = [
    "ASSIGNMENT_COLUMNS",
    "BOOKING_COLUMNS",
    "CANDIDATE_COLUMNS",
    "UNSTAFFED_COLUMNS",
    "RoundPlan",
    "SubRoster",
    "add_bookings",
    "build_problem",
    "candidate_table",
    "plan_tables",
    "recent_counts",
    "screening_reason",
    "unstaffed_table",
]

#: Columns of :attr:`RoundPlan.assignment` (before the explanation columns it shares with expert shortlists).
ASSIGNMENT_COLUMNS: tuple[str, ...] = (
    "request_id",
    "expert_id",
    "name",
    "role",
    "rank",
    "score",
    "adjusted_score",
    "free_days",
    "days_needed",
    "why",
)
#: Columns of :attr:`RoundPlan.unstaffed`.
UNSTAFFED_COLUMNS: tuple[str, ...] = (
    "request_id",
    "needed",
    "assigned",
    "missing",
    "reason_code",
    "reason",
    "blocked_by",
)
#: Columns of :attr:`RoundPlan.candidates`.
CANDIDATE_COLUMNS: tuple[str, ...] = ("request_id", "expert_id", "status", "reason_code", "status_reason", "blocked_by")
#: Columns of :attr:`RoundPlan.bookings`.
BOOKING_COLUMNS: tuple[str, ...] = ("expert_id", "request_id", "date")


@dataclass(frozen=True, slots=True)
class RoundPlan:
    """A staffed round.

    Attributes
    ----------
    assignment : DataFrame
        One row per assigned expert (``role == "assigned"``) and per stand-by (``role == "alternate"``):
        :data:`ASSIGNMENT_COLUMNS` then the component and explanation columns of the expert shortlists.
        ``rank`` counts from 1 within each request and role, best ``adjusted_score`` first (the score lowered by
        the spread weight; equal to ``score`` without one).
    unstaffed : DataFrame
        :data:`UNSTAFFED_COLUMNS`, one row per request with fewer experts than it needs; ``blocked_by`` lists
        (``;``-joined) the requests holding its candidates.
    bookings : DataFrame
        :data:`BOOKING_COLUMNS`, one row per booked working day (``date`` is ``datetime64``).
    result : AssignmentResult
        The solver's answer (status, objective, bound, gap, seconds).
    problem : AssignmentProblem
        What was solved; expert positions are those of ``sub_roster``.
    sub_roster : SubRoster
        Which roster rows the problem's experts are.
    filters : DataFrame
        Per request, how many experts each hard filter removed (as :attr:`Shortlists.filters`).
    candidates : DataFrame
        :data:`CANDIDATE_COLUMNS`, one row per candidate the solver was given (request order, best first):
        ``status`` is ``assigned``, ``alternate`` or ``not chosen``, ``status_reason`` says why in words
        (:func:`candidate_table`).
    """

    assignment: pd.DataFrame
    unstaffed: pd.DataFrame
    bookings: pd.DataFrame
    result: AssignmentResult
    problem: AssignmentProblem
    sub_roster: SubRoster
    filters: pd.DataFrame
    candidates: pd.DataFrame | None = None

    def summary(self) -> str:
        """One line: requests staffed, status, objective, bound and gap, solve time."""
        n = self.problem.n_requests
        short = int(np.count_nonzero(self.result.shortfall))
        assigned = int(np.count_nonzero(self.result.assigned))
        gap = "" if np.isnan(self.result.gap) else f", gap {self.result.gap:.2%}"
        bound = "" if np.isnan(self.result.bound) else f", bound {self.result.bound:.4f}"
        status, method = self.result.status, self.result.method
        how = status if status == method else f"{method} {status}"
        return (
            f"{n - short} of {n} requests fully staffed, {assigned} assignments; {how}, "
            f"objective {self.result.objective:.4f}{bound}{gap}, {self.result.seconds:.2f} s"
        )

    def outcome(self) -> str:
        """The plan in plain words: how many requests are staffed and whether the plan is proven the best.

        Examples: ``12 of 12 requests staffed; the plan is optimal``, ``9 of 12 requests staffed, 2 partly, 1
        unstaffed; the solver stopped at its time limit, within 0.5% of the best plan``.
        """
        n = self.problem.n_requests
        short = np.asarray(self.result.shortfall) > 0
        empty = short & (np.asarray(self.result.shortfall) >= self.problem.experts_needed)
        text = f"{n - int(short.sum())} of {n} requests staffed"
        if short.any():
            text += f", {int((short & ~empty).sum())} partly, {int(empty.sum())} unstaffed"
        status = self.result.status
        if status == "optimal":
            return text + "; the plan is optimal"
        if status == "time_limit":
            gap = "" if np.isnan(self.result.gap) else f", within {self.result.gap:.1%} of the best plan"
            return text + f"; the solver stopped at its time limit{gap}"
        if status == "greedy":
            return text + "; a quick (greedy) plan, not proven the best"
        return text + "; the solver failed, so this is a quick (greedy) plan, not proven the best"


@dataclass(frozen=True, slots=True)
class SubRoster:
    """The roster rows an assignment problem is about.

    Attributes
    ----------
    rows : ndarray of int64, shape (n_sub,)
        Roster row of each problem expert, ascending.
    """

    rows: NDArray[np.int64]


def build_problem(
    inputs: ScoringInputs,
    candidates: Ranking,
    *,
    capacity: NDArray[np.int64] | None = None,
) -> tuple[AssignmentProblem, SubRoster]:
    """The assignment problem over each request's unmasked candidates.

    Parameters
    ----------
    inputs : ScoringInputs
        What ``candidates`` were scored from (requests, roster, calendars, holidays).
    candidates : Ranking
        Top-M per request from :func:`gscp_match.core._scoring.shortlist` (shape ``(n_requests, M)``); its -1
        entries (fewer than M experts passed the filters) are no pair.
    capacity : ndarray of int64, shape (n_experts,), optional
        Assignments each roster expert can take; default the roster's ``max_assignments``.

    Returns
    -------
    problem : AssignmentProblem
        Pairs in request order, best candidate first; experts are positions in ``sub_roster.rows``.
    sub_roster : SubRoster
    """
    req, exp = inputs.requests, inputs.experts
    n_req, n_exp = inputs.shape
    if candidates.experts.ndim != 2 or candidates.experts.shape[0] != n_req:
        raise InputError(f"candidates: expected ({n_req}, M) expert rows, got shape {candidates.experts.shape}")
    capacity = exp.capacity if capacity is None else np.asarray(capacity, dtype=np.int64)
    if capacity.shape != (n_exp,):
        raise InputError(f"capacity: expected shape ({n_exp},), got {capacity.shape}")
    rows, cols = np.nonzero(candidates.experts >= 0)
    roster_rows = candidates.experts[rows, cols]
    sub_rows, local = np.unique(roster_rows, return_inverse=True)

    has = req.has_window
    origin, horizon = calendar.horizon_for(req.window_start[has], req.window_end[has]) if has.any() else (0, 1)
    workdays = calendar.working_day_mask(origin, horizon, inputs.holidays)
    prefix = calendar.free_prefix(
        exp.busy_offsets, exp.busy_start, exp.busy_end, sub_rows, origin=origin, workdays=workdays
    )
    problem = AssignmentProblem(
        pair_request=rows.astype(np.int64),
        pair_expert=np.asarray(local, dtype=np.int64).ravel(),
        pair_score=candidates.scores[rows, cols].astype(np.float64),
        experts_needed=req.experts_needed,
        days=req.days,
        window_start=req.window_start,
        window_end=req.window_end,
        has_window=has,
        wants_korean=req.wants_korean,
        budget=req.budget,
        capacity=capacity[sub_rows],
        korean=exp.korean[sub_rows],
        day_rate=exp.day_rate[sub_rows],
        free_prefix=prefix,
        origin=int(origin),
    )
    return problem, SubRoster(rows=sub_rows.astype(np.int64))


def recent_counts(
    recent: Mapping[str, float] | pd.Series | None, expert_ids: NDArray[np.object_]
) -> NDArray[np.float64]:
    """Recent engagements per expert of ``expert_ids`` (0 for an expert not listed)."""
    if recent is None:
        return np.zeros(len(expert_ids))
    mapping = recent.to_dict() if isinstance(recent, pd.Series) else dict(recent)
    values = np.array([float(mapping.get(e, 0.0)) for e in expert_ids], dtype=np.float64)
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise InputError("recent_engagements: expected finite counts >= 0 per expert_id")
    return values


def screening_reason(filters: pd.Series, n_experts: int, days: int, window: str) -> str:
    """Words for a request no expert passed: how many experts each hard filter removed.

    Parameters
    ----------
    filters : Series
        ``removed_<filter>`` counts of one request (a row of :attr:`Shortlists.filters`).
    n_experts : int
        Roster size.
    days : int
        Working days the request needs (0: not given).
    window : str
        The request window as text, or ``""``.

    Examples
    --------
    >>> row = pd.Series({"removed_availability": 180, "removed_conflict": 3, "removed_language": 0,
    ...                  "removed_budget": 25})
    >>> print(screening_reason(row, 200, 20, "2027-03-01..2027-03-31"))  # doctest: +NORMALIZE_WHITESPACE
    no expert passed screening: 180 of 200 lack 20 free working days in 2027-03-01..2027-03-31;
    3 have a conflict of interest; 25 are over the budget
    """
    in_window = f" in {window}" if window else ""
    words = {  # (one, many)
        "availability": (f"lacks {days} free working days{in_window}", f"lack {days} free working days{in_window}"),
        "conflict": ("has a conflict of interest", "have a conflict of interest"),
        "language": ("shares no language with the team", "share no language with the team"),
        "budget": ("is over the budget", "are over the budget"),
    }
    parts: list[str] = []
    for name in FILTERS:
        count = int(filters.get(f"removed_{name}", 0))
        if count:
            prefix = f"{count} of {n_experts}" if not parts else f"{count}"
            parts.append(f"{prefix} {words[name][0] if count == 1 else words[name][1]}")
    if not parts:
        return "no expert passed screening"
    return "no expert passed screening: " + "; ".join(parts)


def plan_tables(
    problem: AssignmentProblem,
    result: AssignmentResult,
    sub_roster: SubRoster,
    *,
    request_ids: NDArray[np.object_],
    expert_ids: NDArray[np.object_],
    n_alternates: int,
) -> tuple[NDArray[np.int64], NDArray[np.float32], NDArray[np.int64], list[UnstaffedReason], pd.DataFrame]:
    """Assigned and stand-by pairs as a ranked matrix, the unstaffed reasons, and the booked days.

    Returns
    -------
    chosen : ndarray of int64, shape (n_requests, width)
        Roster rows: each request's assigned experts then its alternates, each best first by the spread-adjusted
        score (ties by expert position); -1 padding.
    chosen_score : ndarray of float32, shape (n_requests, width)
        The pairs' scores (``pair_score``, not spread-adjusted); -inf padding.
    n_assigned : ndarray of int64, shape (n_requests,)
        How many of the first columns of ``chosen`` are assigned (the rest are alternates).
    reasons : list of UnstaffedReason
    bookings : DataFrame
        :data:`BOOKING_COLUMNS`.
    """
    assigned = np.asarray(result.assigned, dtype=bool)
    pr, pe, ps = problem.pair_request, problem.pair_expert, problem.pair_score
    options = result.options
    if options.recent_engagements is not None and options.spread_weight:
        ps = ps - options.spread_weight * options.recent_engagements[pe]  # alternates() ranks by this too
    n_req = problem.n_requests
    stand_by = alternates(problem, result, n=n_alternates)
    team_pairs = np.flatnonzero(assigned)
    team_pairs = team_pairs[np.lexsort((pe[team_pairs], -ps[team_pairs], pr[team_pairs]))]
    n_assigned = np.bincount(pr[team_pairs], minlength=n_req).astype(np.int64)
    width = int(n_assigned.max(initial=0)) + stand_by.shape[1]
    chosen = np.full((n_req, max(width, 1)), -1, dtype=np.int64)
    chosen_score = np.full(chosen.shape, -np.inf, dtype=np.float32)
    starts = np.concatenate([[0], np.cumsum(n_assigned)])
    for r in range(n_req):
        team = team_pairs[starts[r] : starts[r + 1]]
        alt = stand_by[r][stand_by[r] >= 0]
        picked = np.concatenate([team, alt])
        chosen[r, : picked.size] = sub_roster.rows[pe[picked]]
        chosen_score[r, : picked.size] = problem.pair_score[picked]
    reasons = explain_unstaffed(problem, result, request_names=[str(i) for i in request_ids])
    pair_index, day = bookings(problem, result)
    booked = pd.DataFrame(
        {
            "expert_id": expert_ids[sub_roster.rows[pe[pair_index]]],
            "request_id": request_ids[pr[pair_index]],
            "date": day.astype("datetime64[D]").astype("datetime64[ns]"),
        },
        columns=list(BOOKING_COLUMNS),
    )
    return chosen, chosen_score, n_assigned, reasons, booked


def _money(amount: float) -> str:
    return f"USD {amount:,.0f}"


def candidate_table(
    problem: AssignmentProblem,
    result: AssignmentResult,
    sub_roster: SubRoster,
    *,
    request_ids: NDArray[np.object_],
    expert_ids: NDArray[np.object_],
    n_alternates: int,
) -> pd.DataFrame:
    """:data:`CANDIDATE_COLUMNS`: every candidate pair's status in the plan, and why it was not chosen, in words.

    The codes are :func:`gscp_match.core._assign.candidate_reasons`'; ``blocked_by`` lists (``;``-joined) the requests
    holding the expert or filling its calendar.
    """
    status, code, blocking = candidate_reasons(problem, result, n_alternates=n_alternates)
    pr, pe = problem.pair_request, problem.pair_expert
    order = np.lexsort((pe, -problem.pair_score, pr))
    words = []
    for p in range(problem.n_pairs):
        held = ", ".join(str(request_ids[q]) for q in blocking[p])
        why = code[p]
        if status[p] == "assigned":
            text = "in the team"
        elif status[p] == "alternate":
            text = "can step in if an assigned expert drops out"
        elif why == "taken":
            text = f"at the assignment limit: assigned to {held}" if held else "at the assignment limit"
        elif why == "calendar":
            text = (
                f"not enough free days in the window once booked on {held}"
                if held
                else ("not enough free days in the request window")
            )
        elif why == "budget":
            text = f"would take the team over its budget of {_money(float(problem.budget[pr[p]]))}"
        elif why == "korean_requirement":
            text = "lacks Korean experience, which this request requires"
        elif why == "korean_share":
            share = result.options.korean_share or 0.0
            text = f"would bring the round's share of experts with Korean experience below {share:.0%}"
        elif why == "stand_by":
            text = "could also step in; ranked below the alternates"
        else:
            text = "the team is complete with candidates the plan ranks higher"
        words.append(text)
    frame = pd.DataFrame(
        {
            "request_id": request_ids[pr],
            "expert_id": expert_ids[sub_roster.rows[pe]],
            "status": status,
            "reason_code": code,
            "status_reason": np.asarray(words, dtype=object),
            "blocked_by": [";".join(str(request_ids[q]) for q in b) for b in blocking],
        },
        columns=list(CANDIDATE_COLUMNS),
    )
    return frame.iloc[order].reset_index(drop=True)


def unstaffed_table(
    reasons: list[UnstaffedReason],
    problem: AssignmentProblem,
    result: AssignmentResult,
    *,
    request_ids: NDArray[np.object_],
    filters: pd.DataFrame,
    n_experts: int,
) -> pd.DataFrame:
    """:data:`UNSTAFFED_COLUMNS`, one row per reason; a request no expert passed gets the filters' counts in words
    (:func:`screening_reason`) instead of the solver's "no candidates"."""
    rows = []
    for reason in reasons:
        r = reason.request
        needed = int(problem.experts_needed[r])
        missing = int(result.shortfall[r])
        detail = reason.detail
        if reason.code == "no_candidates" and filters["eligible"].iat[r] == 0:
            window = ""
            if problem.has_window[r]:
                start = np.datetime64(int(problem.window_start[r]), "D")
                end = np.datetime64(int(problem.window_end[r]), "D")
                window = f"{start}..{end}"
            detail = screening_reason(filters.iloc[r], n_experts, int(problem.days[r]), window)
        rows.append(
            {
                "request_id": request_ids[r],
                "needed": needed,
                "assigned": needed - missing,
                "missing": missing,
                "reason_code": reason.code,
                "reason": detail,
                "blocked_by": ";".join(str(request_ids[q]) for q in reason.blocking_requests),
            }
        )
    return pd.DataFrame(rows, columns=list(UNSTAFFED_COLUMNS))


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def holiday_days(value: object, argument: str = "holidays") -> NDArray[np.int64]:
    """Holidays as int64 day numbers (days since 1970-01-01), from what a caller may pass.

    Accepted: ``None`` or an empty sequence (no holidays); a sequence of ISO dates (``"2027-01-01"``),
    ``datetime.date``/``datetime``/``pandas.Timestamp`` or ``numpy.datetime64`` values; an array of ``datetime64``
    or of int day numbers. A single string or a number is a TypeError; a value that is no date is an
    InputError naming its position.

    >>> holiday_days(["2027-01-01", "2027-03-01"]).tolist()
    [20819, 20878]
    """
    if value is None:
        return np.zeros(0, dtype=np.int64)
    if isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype.kind in "iuM":
        if value.dtype.kind == "M":
            if np.isnat(value).any():
                raise InputError(f"{argument}[{int(np.flatnonzero(np.isnat(value))[0])}]: NaT is not a date")
            return value.astype("datetime64[D]").astype(np.int64)
        return value.astype(np.int64)
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise TypeError(
            f"{argument} must be a sequence of dates (ISO strings such as '2027-01-01', dates or datetime64), "
            f"got {type(value).__name__}"
            + (f"; wrap one date in a list: [{value!r}]" if isinstance(value, str) else "")
        )
    days: list[int] = []
    for position, item in enumerate(value):
        day: np.datetime64 | None = None
        if isinstance(item, str) and _ISO_DATE.fullmatch(item.strip()):
            with contextlib.suppress(ValueError):
                day = np.datetime64(dt.date.fromisoformat(item.strip()), "D")
        elif isinstance(item, dt.date) and not pd.isna(item):  # pandas' NaT is a datetime too
            day = np.datetime64(item.date() if isinstance(item, dt.datetime) else item, "D")
        elif isinstance(item, np.datetime64) and not np.isnat(item):
            day = item.astype("datetime64[D]")
        elif isinstance(item, int | np.integer) and not isinstance(item, bool):
            days.append(int(item))
            continue
        if day is None:
            raise InputError(f"{argument}[{position}]: {item!r} is not a date; expected YYYY-MM-DD")
        days.append(int(day.astype(np.int64)))
    return np.asarray(days, dtype=np.int64)


def _check_booking_tables(experts: pd.DataFrame, booked: pd.DataFrame) -> None:
    """TypeError / InputError for a roster or a bookings table add_bookings cannot use, naming the argument."""
    for argument, table, needed in (("experts", experts, ("expert_id", "busy")), ("booked", booked, BOOKING_COLUMNS)):
        if not isinstance(table, pd.DataFrame):
            raise TypeError(
                f"{argument} must be a DataFrame with columns {', '.join(needed)}, got {type(table).__name__}"
            )
        missing = [c for c in needed if c not in table.columns]
        if missing:
            raise InputError(
                f"{argument}: required column(s) {', '.join(missing)} missing (columns found: "
                f"{', '.join(map(str, table.columns[:12]))})"
            )
    bad_busy = [i for i, v in enumerate(experts["busy"].to_numpy(dtype=object)) if not isinstance(v, tuple | list)]
    if bad_busy:
        raise InputError(
            f"experts.iloc[{bad_busy[0]}]['busy']: {experts['busy'].iat[bad_busy[0]]!r} is not a tuple of "
            "intervals; pass a validated experts table (gscp_match.read_table(path, 'experts'))"
        )


def _booking_days(booked: pd.DataFrame) -> NDArray[np.int64]:
    """``booked['date']`` as int64 day numbers: datetime64, or ISO date strings / dates (a table read back)."""
    dates = booked["date"]
    if pd.api.types.is_datetime64_any_dtype(dates):
        if dates.isna().any():
            raise InputError(f"booked.iloc[{int(np.flatnonzero(dates.isna().to_numpy())[0])}]['date']: no date (NaT)")
        return dates.to_numpy(dtype="datetime64[D]").astype(np.int64)
    if dates.dtype.kind in "biufc":
        raise InputError(f"booked['date']: expected dates (datetime64 or YYYY-MM-DD), got numbers ({dates.dtype})")
    return holiday_days(list(dates), argument="booked['date']")


def add_bookings(
    experts: pd.DataFrame,
    booked: pd.DataFrame,
    *,
    holidays: Sequence[str] | NDArray[np.datetime64] | NDArray[np.int64] | None = None,
) -> pd.DataFrame:
    """The roster with each booking added to its expert's ``busy`` intervals.

    Each (expert, request) engagement's days become inclusive intervals
    (:func:`gscp_match.core._calendar.days_to_intervals`:
    days separated only by weekends or holidays join one interval), appended after the expert's existing
    intervals. Rows, their order and every other column stay as they are.

    Parameters
    ----------
    experts : DataFrame
        A validated experts table (``busy`` holds tuples of ``YYYY-MM-DD/YYYY-MM-DD`` strings).
    booked : DataFrame
        :attr:`RoundPlan.bookings`.
    holidays : sequence of ISO dates, datetime64 or int64 day numbers, optional
        The holidays the plan used (bridged like weekends when joining days into intervals).

    Raises
    ------
    TypeError
        ``experts`` or ``booked`` is not a DataFrame, or ``holidays`` is not a sequence.
    InputError
        A table lacks a column it needs, ``booked['date']`` holds no dates, a holiday is no date, a booking names
        an expert the roster does not have, or books an expert twice on one day.

    Examples
    --------
    >>> roster = pd.DataFrame({"expert_id": ["E1"], "busy": [("2027-01-04/2027-01-05",)]})
    >>> booked = pd.DataFrame({"expert_id": ["E1"] * 3, "request_id": ["R1"] * 3,
    ...                        "date": pd.to_datetime(["2027-03-05", "2027-03-08", "2027-03-10"])})
    >>> add_bookings(roster, booked)["busy"].iloc[0]
    ('2027-01-04/2027-01-05', '2027-03-05/2027-03-08', '2027-03-10/2027-03-10')
    """
    _check_booking_tables(experts, booked)
    holiday_numbers = holiday_days(holidays)
    out = experts.copy()
    if booked.empty:
        return out
    days = _booking_days(booked)
    known = pd.Index(out["expert_id"])
    missing = sorted(set(booked["expert_id"]) - set(known))
    if missing:
        raise InputError(f"bookings: experts not on the roster: {', '.join(map(str, missing[:10]))}")
    twice = booked.assign(day=days).duplicated(["expert_id", "day"], keep=False).to_numpy()
    if twice.any():
        first = booked[twice].iloc[0]
        raise InputError(
            f"bookings: expert {first['expert_id']} is booked twice on {np.datetime64(int(days[twice][0]), 'D')} "
            f"(requests {', '.join(map(str, booked.loc[twice, 'request_id'].unique()[:5]))})"
        )
    workdays = origin = None
    if len(holiday_numbers):
        origin, horizon = int(days.min()), int(days.max() - days.min() + 1)
        workdays = calendar.working_day_mask(origin, horizon, holiday_numbers)
    frame = pd.DataFrame({"expert_id": booked["expert_id"].to_numpy(), "request_id": booked["request_id"].to_numpy()})
    frame["day"] = days
    frame = frame.sort_values(["expert_id", "request_id", "day"], kind="stable")
    added: dict[str, list[str]] = {}
    for (expert_id, _), group in frame.groupby(["expert_id", "request_id"], sort=True):
        intervals = calendar.days_to_intervals(group["day"].to_numpy(), workdays=workdays, origin=origin)
        added.setdefault(str(expert_id), []).extend(
            f"{np.datetime64(int(a), 'D')}/{np.datetime64(int(b), 'D')}" for a, b in intervals
        )
    busy = out["busy"].to_numpy(dtype=object).copy()
    for i, expert_id in enumerate(out["expert_id"].to_numpy(dtype=object)):
        extra = added.get(str(expert_id))
        if extra:
            busy[i] = tuple(busy[i]) + tuple(extra)
    out["busy"] = busy
    return out
