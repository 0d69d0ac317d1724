"""Calendar: every vectorized function against a plain loop over ``datetime.date``."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gscp_match.core._calendar import (
    busy_owner_offsets,
    days_to_intervals,
    free_days_between,
    free_prefix,
    horizon_for,
    place_days,
    window_free_days,
    window_working_days,
    working_day_mask,
)
from gscp_match.errors import InputError

EPOCH = dt.date(1970, 1, 1)
SETTINGS = settings(max_examples=150, deadline=None)


# ---------------------------------------------------------------- plain-loop references


def ref_is_workday(day: int, holidays: set[int]) -> bool:
    return (EPOCH + dt.timedelta(days=day)).weekday() < 5 and day not in holidays


def ref_is_free(day: int, intervals: list[tuple[int, int]], holidays: set[int], origin: int, horizon: int) -> bool:
    if not origin <= day < origin + horizon:
        return False
    return ref_is_workday(day, holidays) and not any(s <= day <= e for s, e in intervals)


def ref_free_in_window(start, end, intervals, holidays, origin, horizon) -> int:
    return sum(ref_is_free(d, intervals, holidays, origin, horizon) for d in range(start, end + 1))


def ref_working_in_window(start, end, holidays, origin, horizon) -> int:
    return sum(ref_is_workday(d, holidays) for d in range(max(start, origin), min(end, origin + horizon - 1) + 1))


# ---------------------------------------------------------------- strategies


@st.composite
def rosters(draw, max_experts: int = 8):
    """A horizon, holidays and per-expert busy intervals, flattened CSR-style (sorted by owner)."""
    origin = draw(st.integers(19_990, 20_010))  # every weekday alignment
    horizon = draw(st.integers(0, 40))
    holidays = draw(st.lists(st.integers(origin - 5, origin + horizon + 5), max_size=6))
    n = draw(st.integers(0, max_experts))
    per_expert = []
    for _ in range(n):
        intervals = []
        for _ in range(draw(st.integers(0, 4))):
            start = draw(st.integers(origin - 12, origin + horizon + 12))
            # Length -1 gives an empty interval (end < start); long ones run past the horizon.
            intervals.append((start, start + draw(st.integers(-1, 20))))
        per_expert.append(intervals)
    owner = np.array([e for e, ivs in enumerate(per_expert) for _ in ivs], dtype=np.int64)
    starts = np.array([s for ivs in per_expert for s, _ in ivs], dtype=np.int64)
    ends = np.array([e for ivs in per_expert for _, e in ivs], dtype=np.int64)
    return {
        "origin": origin,
        "horizon": horizon,
        "holidays": holidays,
        "per_expert": per_expert,
        "owner": owner,
        "starts": starts,
        "ends": ends,
    }


@st.composite
def windows(draw, origin: int, horizon: int, max_size: int = 8):
    starts, ends = [], []
    for _ in range(draw(st.integers(0, max_size))):
        start = draw(st.integers(origin - 8, origin + horizon + 8))
        starts.append(start)
        ends.append(start + draw(st.integers(-3, 25)))  # empty windows too
    return np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64)


def expert_selections(n: int):
    """Experts as a slice (any step, negative too) or as a shuffled index array (repeats allowed)."""
    slices = st.builds(
        slice,
        st.none() | st.integers(-n - 2, n + 2),
        st.none() | st.integers(-n - 2, n + 2),
        st.none() | st.sampled_from([1, 2, 3, -1, -2]),
    )
    if n == 0:
        return slices
    arrays = st.lists(st.integers(0, n - 1), max_size=2 * n).map(lambda xs: np.array(xs, dtype=np.int64))
    permutations = st.permutations(list(range(n))).map(lambda xs: np.array(xs, dtype=np.int64))
    return slices | arrays | permutations


def build(roster, experts=slice(None)):
    offsets = busy_owner_offsets(roster["owner"], len(roster["per_expert"]))
    workdays = working_day_mask(roster["origin"], roster["horizon"], roster["holidays"])
    prefix = free_prefix(offsets, roster["starts"], roster["ends"], experts, origin=roster["origin"], workdays=workdays)
    return offsets, workdays, prefix


def selected(experts, n: int) -> list[int]:
    return list(range(n))[experts] if isinstance(experts, slice) else [int(e) for e in experts]


# ---------------------------------------------------------------- working days and offsets


@SETTINGS
@given(
    origin=st.integers(-30, 30_000),
    horizon=st.integers(0, 60),
    holidays=st.lists(st.integers(-40, 30_070), max_size=10),
)
def test_working_day_mask_matches_weekday_loop(origin, horizon, holidays):
    holidays += [origin + h for h in range(0, horizon, 3)]  # some land inside, on weekdays and weekends
    mask = working_day_mask(origin, horizon, holidays)
    assert mask.dtype == np.bool_ and mask.shape == (horizon,)
    expected = [ref_is_workday(origin + t, set(holidays)) for t in range(horizon)]
    assert mask.tolist() == expected


def test_working_day_mask_known_week():
    # 2024-12-23 (Mon) .. 2024-12-29 (Sun), Christmas on Wednesday.
    monday = int(np.datetime64("2024-12-23", "D").astype(np.int64))
    christmas = int(np.datetime64("2024-12-25", "D").astype(np.int64))
    assert working_day_mask(monday, 7, [christmas]).tolist() == [True, True, False, True, True, False, False]


@SETTINGS
@given(owner=st.lists(st.integers(0, 9), max_size=30).map(sorted), extra=st.integers(0, 3))
def test_busy_owner_offsets_matches_loop(owner, extra):
    n = (max(owner) + 1 if owner else 0) + extra
    offsets = busy_owner_offsets(np.array(owner, dtype=np.int64), n)
    assert offsets.shape == (n + 1,) and offsets.dtype == np.int64
    for e in range(n):
        assert owner[offsets[e] : offsets[e + 1]] == [e] * owner.count(e)
    assert offsets[0] == 0 and offsets[-1] == len(owner)


@pytest.mark.parametrize(("owner", "n"), [([1, 0], 2), ([0, 2], 2), ([-1, 0], 2), ([0, 0, 1, 0], 3)], ids=str)
def test_busy_owner_offsets_rejects_bad_owner(owner, n):
    with pytest.raises(InputError):
        busy_owner_offsets(np.array(owner, dtype=np.int64), n)


# ---------------------------------------------------------------- free-day grid


@SETTINGS
@given(data=st.data(), roster=rosters())
def test_free_prefix_matches_loop(data, roster):
    n = len(roster["per_expert"])
    experts = data.draw(expert_selections(n))
    _, _, prefix = build(roster, experts)
    rows = selected(experts, n)
    origin, horizon, holidays = roster["origin"], roster["horizon"], set(roster["holidays"])
    assert prefix.dtype == np.int32 and prefix.shape == (len(rows), horizon + 1)
    for i, e in enumerate(rows):
        intervals = roster["per_expert"][e]
        running = [0]
        for t in range(horizon):
            running.append(running[-1] + ref_is_free(origin + t, intervals, holidays, origin, horizon))
        assert prefix[i].tolist() == running


@SETTINGS
@given(data=st.data(), roster=rosters())
def test_window_free_days_matches_loop(data, roster):
    n = len(roster["per_expert"])
    origin, horizon, holidays = roster["origin"], roster["horizon"], set(roster["holidays"])
    starts, ends = data.draw(windows(origin, horizon))
    experts = data.draw(expert_selections(n))
    _, _, prefix = build(roster, experts)
    free = window_free_days(prefix, starts, ends, origin=origin)
    rows = selected(experts, n)
    assert free.dtype == np.int32 and free.shape == (len(starts), len(rows))
    for w, (s, e) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        for i, x in enumerate(rows):
            assert free[w, i] == ref_free_in_window(s, e, roster["per_expert"][x], holidays, origin, horizon)


@SETTINGS
@given(data=st.data(), roster=rosters(max_experts=12), chunk=st.integers(1, 5))
def test_chunked_free_days_equal_all_at_once(data, roster, chunk):
    n = len(roster["per_expert"])
    origin = roster["origin"]
    starts, ends = data.draw(windows(origin, roster["horizon"]))
    offsets, workdays, prefix = build(roster)
    whole = window_free_days(prefix, starts, ends, origin=origin)
    parts = []
    for lo in range(0, n, chunk):
        sl = slice(lo, min(lo + chunk, n))
        chunk_prefix = free_prefix(offsets, roster["starts"], roster["ends"], sl, origin=origin, workdays=workdays)
        np.testing.assert_array_equal(chunk_prefix, prefix[sl])
        parts.append(window_free_days(chunk_prefix, starts, ends, origin=origin))
    chunked = np.concatenate(parts, axis=1) if parts else np.zeros((len(starts), 0), dtype=np.int32)
    np.testing.assert_array_equal(chunked, whole)


@SETTINGS
@given(data=st.data(), roster=rosters())
def test_window_working_days_matches_loop(data, roster):
    origin, horizon, holidays = roster["origin"], roster["horizon"], set(roster["holidays"])
    starts, ends = data.draw(windows(origin, horizon))
    workdays = working_day_mask(origin, horizon, roster["holidays"])
    working = window_working_days(starts, ends, origin=origin, workdays=workdays)
    assert working.dtype == np.int32 and working.shape == starts.shape
    expected = [ref_working_in_window(s, e, holidays, origin, horizon) for s, e in zip(starts, ends, strict=True)]
    assert working.tolist() == expected


@SETTINGS
@given(data=st.data(), roster=rosters())
def test_free_days_between_matches_loop(data, roster):
    n = len(roster["per_expert"])
    assume(n > 0)
    origin, horizon, holidays = roster["origin"], roster["horizon"], set(roster["holidays"])
    starts, ends = data.draw(windows(origin, horizon))
    order = np.array(data.draw(st.permutations(list(range(n)))), dtype=np.int64)
    _, _, prefix = build(roster, order)  # prefix rows are chunk rows, not roster positions
    rows = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=len(starts), max_size=len(starts))))
    rows = rows.astype(np.int64)
    free = free_days_between(prefix, rows, starts, ends, origin=origin)
    assert free.dtype == np.int32 and free.shape == starts.shape
    for j in range(len(starts)):
        intervals = roster["per_expert"][order[rows[j]]]
        assert free[j] == ref_free_in_window(int(starts[j]), int(ends[j]), intervals, holidays, origin, horizon)


@SETTINGS
@given(data=st.data(), roster=rosters())
def test_adding_a_busy_interval_never_increases_free_days(data, roster):
    n = len(roster["per_expert"])
    assume(n > 0)
    origin, horizon = roster["origin"], roster["horizon"]
    starts, ends = data.draw(windows(origin, horizon))
    _, _, before_prefix = build(roster)
    before = window_free_days(before_prefix, starts, ends, origin=origin)

    who = data.draw(st.integers(0, n - 1))
    new_start = data.draw(st.integers(origin - 5, origin + horizon + 5))
    new_interval = (new_start, new_start + data.draw(st.integers(0, 10)))
    per_expert = [list(ivs) for ivs in roster["per_expert"]]
    per_expert[who].append(new_interval)
    more = dict(roster, per_expert=per_expert)
    more["owner"] = np.array([e for e, ivs in enumerate(per_expert) for _ in ivs], dtype=np.int64)
    more["starts"] = np.array([s for ivs in per_expert for s, _ in ivs], dtype=np.int64)
    more["ends"] = np.array([e for ivs in per_expert for _, e in ivs], dtype=np.int64)
    _, _, after_prefix = build(more)
    after = window_free_days(after_prefix, starts, ends, origin=origin)

    assert np.all(after <= before)
    others = np.arange(n) != who
    np.testing.assert_array_equal(after[:, others], before[:, others])


def test_free_prefix_rejects_mismatched_inputs():
    offsets = busy_owner_offsets(np.array([0, 1]), 2)
    workdays = working_day_mask(0, 10)
    with pytest.raises(InputError, match="intervals"):
        free_prefix(offsets, np.array([1]), np.array([2]), slice(None), origin=0, workdays=workdays)
    with pytest.raises(InputError, match="experts"):
        free_prefix(offsets, np.array([1, 2]), np.array([2, 3]), np.array([2]), origin=0, workdays=workdays)


# ---------------------------------------------------------------- horizon


@SETTINGS
@given(
    starts=st.lists(st.integers(-2, 60), max_size=8),
    lengths=st.lists(st.integers(0, 30), min_size=8, max_size=8),
    margin=st.integers(0, 5),
)
def test_horizon_for_covers_valid_windows(starts, lengths, margin):
    ends = [s + length if s >= 0 else -1 for s, length in zip(starts, lengths[: len(starts)], strict=True)]
    origin, horizon = horizon_for(np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64), margin=margin)
    assert horizon >= 1
    valid = [(s, e) for s, e in zip(starts, ends, strict=True) if s >= 0 and e >= 0]
    if valid:
        assert origin == min(s for s, _ in valid) - margin
        assert origin + horizon - 1 == max(e for _, e in valid) + margin
    # Inside the horizon no clipping happens: working days equal the unclipped count.
    workdays = working_day_mask(origin, horizon)
    counted = window_working_days(
        np.array([s for s, _ in valid], dtype=np.int64),
        np.array([e for _, e in valid], dtype=np.int64),
        origin=origin,
        workdays=workdays,
    )
    assert counted.tolist() == [sum(ref_is_workday(d, set()) for d in range(s, e + 1)) for s, e in valid]


# ---------------------------------------------------------------- booking


def feasible_by_matching(free_days: list[int], jobs: list[tuple[int, int, int]]) -> bool:
    """Reference: bipartite matching (Kuhn) of unit job demands to free days."""
    units = [(s, e) for s, e, k in jobs for _ in range(k)]
    owner_of_day: dict[int, int] = {}

    def augment(u: int, seen: set[int]) -> bool:
        s, e = units[u]
        for day in free_days:
            if s <= day <= e and day not in seen:
                seen.add(day)
                if day not in owner_of_day or augment(owner_of_day[day], seen):
                    owner_of_day[day] = u
                    return True
        return False

    return all(augment(u, set()) for u in range(len(units)))


@st.composite
def booking_cases(draw):
    origin = draw(st.integers(19_995, 20_005))
    horizon = draw(st.integers(0, 18))
    free_mask = np.array(draw(st.lists(st.booleans(), min_size=horizon, max_size=horizon)), dtype=bool)
    jobs = []
    for _ in range(draw(st.integers(0, 4))):
        start = draw(st.integers(origin - 3, origin + horizon + 2))
        jobs.append((start, start + draw(st.integers(-1, 10)), draw(st.integers(0, 3))))
    return origin, free_mask, jobs


@settings(max_examples=400, deadline=None)
@given(case=booking_cases())
def test_place_days_succeeds_exactly_when_feasible(case):
    origin, free_mask, jobs = case
    free_days = [origin + int(t) for t in np.flatnonzero(free_mask)]
    starts = np.array([s for s, _, _ in jobs], dtype=np.int64)
    ends = np.array([e for _, e, _ in jobs], dtype=np.int64)
    need = np.array([k for _, _, k in jobs], dtype=np.int64)
    if not feasible_by_matching(free_days, jobs):
        with pytest.raises(InputError, match=r"job \d+"):
            place_days(free_mask, starts, ends, need, origin=origin)
        return
    placed = place_days(free_mask, starts, ends, need, origin=origin)
    assert len(placed) == len(jobs)
    used: list[int] = []
    for days, (s, e, k) in zip(placed, jobs, strict=True):
        assert days.dtype == np.int64 and len(days) == k
        assert days.tolist() == sorted(days.tolist())
        assert all(s <= d <= e and d in free_days for d in days.tolist())
        used += days.tolist()
    assert len(used) == len(set(used))


def test_place_days_is_earliest_deadline_first():
    free = np.ones(6, dtype=bool)
    # Job 1 ends first and takes day 0; jobs 0 and 2 tie on end, job 0 first.
    placed = place_days(free, np.array([0, 0, 0]), np.array([5, 1, 5]), np.array([2, 1, 2]), origin=0)
    assert [p.tolist() for p in placed] == [[1, 2], [0], [3, 4]]


def test_place_days_names_the_job_that_cannot_fit():
    free = np.array([True, True, False, False, True])
    with pytest.raises(InputError, match="job 1"):
        place_days(free, np.array([0, 0]), np.array([4, 1]), np.array([1, 3]), origin=0)


# ---------------------------------------------------------------- days -> intervals


@SETTINGS
@given(case=rosters(max_experts=0), data=st.data(), use_mask=st.booleans())
def test_days_to_intervals_marks_exactly_the_listed_working_days(case, data, use_mask):
    origin, horizon, holidays = case["origin"], case["horizon"], set(case["holidays"])
    workdays = working_day_mask(origin, horizon, case["holidays"])
    candidates = [origin + int(t) for t in np.flatnonzero(workdays)]
    days = sorted(data.draw(st.sets(st.sampled_from(candidates))) if candidates else set())
    options = {"workdays": workdays, "origin": origin} if use_mask else {}
    intervals = days_to_intervals(np.array(days, dtype=np.int64), **options)

    listed = set(days)
    covered = {d for s, e in intervals for d in range(s, e + 1)}
    # Re-read as busy intervals: exactly the listed days among working days. Without a mask only weekends are
    # bridged, so this holds under any holiday list (checked with none); with one, under its holidays.
    check_holidays = holidays if use_mask else set()
    for d in range(origin - 10, origin + horizon + 10):
        if ref_is_workday(d, check_holidays):
            assert (d in covered) == (d in listed)
    # Sorted, disjoint, ending on listed days, and maximal: a working day separates neighbours.
    assert all(s in listed and e in listed for s, e in intervals)
    for (_, e1), (s2, _) in itertools.pairwise(intervals):
        assert e1 < s2
        assert any(ref_is_workday(d, check_holidays) for d in range(e1 + 1, s2))


def test_days_to_intervals_bridges_weekends_and_given_holidays():
    # 1970-01-02 is a Friday; Monday the 5th, Tuesday the 6th, Thursday the 8th.
    assert days_to_intervals(np.array([1, 4, 5, 7])) == [(1, 5), (7, 7)]
    workdays = working_day_mask(0, 14, holidays=[6])  # Wednesday the 7th is a holiday
    assert days_to_intervals(np.array([5, 7]), workdays=workdays, origin=0) == [(5, 7)]
    assert days_to_intervals(np.array([5, 7])) == [(5, 5), (7, 7)]
    assert days_to_intervals(np.array([], dtype=np.int64)) == []
    with pytest.raises(InputError):
        days_to_intervals(np.array([3, 3]))
