"""Tests for gscp_match.core._assign: the round assignment solver.

Plans are checked by an independent checker: calendars by an explicit bipartite matching of engagement days
to free days (scipy.sparse.csgraph.maximum_bipartite_matching), never by the solver's own Hall rows.
"""

from __future__ import annotations

import itertools
from functools import cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_bipartite_matching

from gscp_match.core._assign import (
    METHODS,
    REASON_CODES,
    AssignmentProblem,
    AssignmentResult,
    _calendar_rows,
    _hall_excess,
    alternates,
    bookings,
    explain_unstaffed,
    solve,
)
from gscp_match.errors import InputError

ORIGIN = 100
HORIZON = 28
PENALTY = 10.0
TOL = 1e-6


# ------------------------------------------------------------------------------------------------------------
# Instances


def prefix_from_free(free: np.ndarray) -> np.ndarray:
    """free (n_experts, horizon) bool -> prefix sums (n_experts, horizon + 1) int32."""
    prefix = np.zeros((free.shape[0], free.shape[1] + 1), dtype=np.int32)
    prefix[:, 1:] = np.cumsum(free, axis=1)
    return prefix


def random_problem(seed: int, n_req: int, n_exp: int, max_pairs: int = 10, *, loose: bool = False) -> AssignmentProblem:
    """Small round: overlapping windows of a few weeks (some past the horizon), random busy days.

    ``loose`` rounds have freer calendars, shorter engagements and more capacity, so experts are left over.
    """
    rng = np.random.default_rng(seed)
    free = rng.random((n_exp, HORIZON)) < (rng.uniform(0.7, 1.0) if loose else rng.uniform(0.3, 0.9))
    start = ORIGIN + rng.integers(-3, HORIZON - 6, n_req)
    end = start + rng.integers(4, 21, n_req)
    combos = np.array(list(itertools.product(range(n_req), range(n_exp))))
    n_pairs = int(rng.integers(0, min(max_pairs, len(combos)) + 1))
    chosen = combos[np.sort(rng.choice(len(combos), n_pairs, replace=False))]
    days = np.where(rng.random(n_req) < 0.1, 0, rng.integers(1, 5 if loose else 11, n_req))
    team_rate = rng.integers(1, 16, n_req) * 20.0  # a budget per day that often fits one expert, not two
    return AssignmentProblem(
        pair_request=chosen[:, 0].astype(np.int64),
        pair_expert=chosen[:, 1].astype(np.int64),
        pair_score=rng.integers(0, 6, n_pairs) / 5,  # coarse scores make ties
        experts_needed=rng.integers(1, 3, n_req),
        days=days,
        window_start=start,
        window_end=end,
        has_window=rng.random(n_req) < 0.85,
        wants_korean=rng.random(n_req) < 0.35,
        budget=np.where(rng.random(n_req) < 0.5, np.nan, team_rate * days),
        capacity=rng.integers(1, 4 if loose else 3, n_exp),
        korean=rng.random(n_exp) < 0.5,
        day_rate=np.where(rng.random(n_exp) < 0.3, np.nan, rng.integers(1, 10, n_exp) * 20.0),
        free_prefix=prefix_from_free(free),
        origin=ORIGIN,
    )


def replace(problem: AssignmentProblem, **changes) -> AssignmentProblem:
    fields = {name: getattr(problem, name) for name in AssignmentProblem.__dataclass_fields__}
    fields.update(changes)
    return AssignmentProblem(**fields)


problems = st.builds(
    random_problem,
    seed=st.integers(0, 2**32 - 1),
    n_req=st.integers(2, 5),
    n_exp=st.integers(2, 5),
)
loose_small_problems = st.builds(
    random_problem,
    seed=st.integers(0, 2**32 - 1),
    n_req=st.integers(2, 5),
    n_exp=st.integers(2, 5),
    loose=st.just(True),
)
loose_problems = st.builds(
    random_problem,
    seed=st.integers(0, 2**32 - 1),
    n_req=st.integers(2, 5),
    n_exp=st.integers(2, 7),
    max_pairs=st.just(20),
    loose=st.just(True),
)
options = st.fixed_dictionaries(
    {
        "require_korean": st.booleans(),
        "korean_share": st.sampled_from([None, 0.0, 0.5, 1.0]),
    }
)


# ------------------------------------------------------------------------------------------------------------
# Independent checker


def fits_by_matching(free_row: np.ndarray, start, end, days) -> bool:
    """Match each needed engagement day to a distinct free day in its window (explicit bipartite graph)."""
    free_days = ORIGIN + np.flatnonzero(free_row)
    copies = [(s, e) for s, e, d in zip(start, end, days, strict=True) for _ in range(d)]
    if not copies:
        return True
    if free_days.size == 0:
        return False
    graph = np.array([(free_days >= s) & (free_days <= e) for s, e in copies])
    matched = maximum_bipartite_matching(csr_matrix(graph.astype(np.int8)), perm_type="column")
    return bool((matched >= 0).sum() == len(copies))


@cache
def _fits_cached(key):
    free_row, start, end, days = key
    return fits_by_matching(np.array(free_row), start, end, days)


def violations(problem: AssignmentProblem, assigned: np.ndarray, *, require_korean=True, korean_share=None):
    """Every rule a plan breaks, as readable strings (empty list: the plan is valid)."""
    pr, pe = problem.pair_request[assigned], problem.pair_expert[assigned]
    found = []
    count = np.bincount(pr, minlength=problem.n_requests)
    if np.any(count > problem.experts_needed):
        found.append("need")
    if np.any(np.bincount(pe, minlength=problem.n_experts) > problem.capacity):
        found.append("capacity")
    free = np.diff(problem.free_prefix, axis=1) > 0
    for e in np.unique(pe):
        req = pr[(pe == e) & problem.has_window[pr] & (problem.days[pr] > 0)]
        key = (
            tuple(free[e].tolist()),
            tuple(problem.window_start[req].tolist()),
            tuple(problem.window_end[req].tolist()),
            tuple(problem.days[req].tolist()),
        )
        if not _fits_cached(key):
            found.append(f"calendar of expert {e}")
    korean = problem.korean[pe]
    if require_korean:
        has_korean = np.bincount(pr, weights=korean, minlength=problem.n_requests) > 0
        if np.any(problem.wants_korean & (count > 0) & ~has_korean):
            found.append("korean rule")
    if korean_share is not None and korean.sum() < korean_share * korean.size - TOL:
        found.append("korean share")
    cost = np.nan_to_num(problem.day_rate, nan=0.0)[pe] * problem.days[pr]
    spent = np.bincount(pr, weights=cost, minlength=problem.n_requests)
    if np.any(spent > problem.budget + TOL):  # NaN budget compares False
        found.append("budget")
    return found


def plan_objective(problem: AssignmentProblem, assigned: np.ndarray, weight=None) -> float:
    weight = problem.pair_score if weight is None else weight
    count = np.bincount(problem.pair_request[assigned], minlength=problem.n_requests)
    return float(weight[assigned].sum() - PENALTY * (problem.experts_needed - count).sum())


def brute_force(problem: AssignmentProblem, **rules) -> float:
    """Best objective over every plan (each request: any subset of its candidates up to its need)."""
    per_request = []
    for r in range(problem.n_requests):
        mine = np.flatnonzero(problem.pair_request == r).tolist()
        need = int(problem.experts_needed[r])
        per_request.append([c for k in range(min(need, len(mine)) + 1) for c in itertools.combinations(mine, k)])
    best = -np.inf
    for choice in itertools.product(*per_request):
        assigned = np.zeros(problem.n_pairs, dtype=bool)
        assigned[[p for team in choice for p in team]] = True
        value = plan_objective(problem, assigned)
        if value > best + 1e-12 and not violations(problem, assigned, **rules):
            best = value
    return best


# ------------------------------------------------------------------------------------------------------------
# The calendar rule (Hall intervals) against explicit matching


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(1, 6))
def test_hall_check_equals_matching(seed, k):
    rng = np.random.default_rng(seed)
    free_row = rng.random(HORIZON) < rng.uniform(0.2, 1.0)
    prefix = prefix_from_free(free_row[None, :])[0]
    start = ORIGIN + rng.integers(-3, HORIZON - 3, k)
    end = start + rng.integers(0, 15, k)
    days = rng.integers(1, 8, k)
    _, excess = _hall_excess(prefix, start, end, days, ORIGIN)
    assert (excess.max() <= 0) == fits_by_matching(free_row, start, end, days)


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(2, 7), capacity=st.integers(1, 7))
def test_calendar_rows_are_exact_for_plans_within_capacity(seed, k, capacity):
    """The reduced rows (connected unions, capacity and dominance filters) accept exactly fitting plans."""
    rng = np.random.default_rng(seed)
    free_row = rng.random(HORIZON) < rng.uniform(0.2, 1.0)
    prefix = prefix_from_free(free_row[None, :])[0]
    start = ORIGIN + rng.integers(-3, HORIZON - 3, k)
    end = start + rng.integers(0, 15, k)
    days = rng.integers(1, 8, k)
    inside, free = _calendar_rows(prefix, start, end, days, capacity, ORIGIN)
    assert inside.shape == (free.size, k)
    assert np.all(inside.sum(axis=1) >= 2)
    single_free = np.array(
        [free_row[max(s - ORIGIN, 0) : max(e - ORIGIN + 1, 0)].sum() for s, e in zip(start, end, strict=True)]
    )
    for size in range(1, min(k, capacity) + 1):
        for subset in itertools.combinations(range(k), size):
            x = np.zeros(k, dtype=np.int64)
            x[list(subset)] = 1
            rows_hold = np.all(inside @ (x * days) <= free) and np.all(days[x == 1] <= single_free[x == 1])
            assert rows_hold == fits_by_matching(free_row, start[x == 1], end[x == 1], days[x == 1])


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(2, 12), capacity=st.integers(1, 4))
def test_calendar_rows_do_not_depend_on_the_block_size(seed, k, capacity):
    """Hall intervals are built in blocks of starts; one start per block gives the same rows in the same order."""
    import gscp_match.core._assign as assign_module

    rng = np.random.default_rng(seed)
    prefix = prefix_from_free((rng.random(HORIZON) < 0.7)[None, :])[0]
    start = ORIGIN + rng.integers(-3, HORIZON - 3, k)
    end = start + rng.integers(0, 15, k)
    days = rng.integers(1, 8, k)
    whole = _calendar_rows(prefix, start, end, days, capacity, ORIGIN)
    saved = assign_module._HALL_BLOCK
    assign_module._HALL_BLOCK = 1
    try:
        blocked = _calendar_rows(prefix, start, end, days, capacity, ORIGIN)
    finally:
        assign_module._HALL_BLOCK = saved
    np.testing.assert_array_equal(whole[0], blocked[0])
    np.testing.assert_array_equal(whole[1], blocked[1])


def test_calendar_rows_skip_disconnected_and_keep_chains():
    prefix = prefix_from_free(np.zeros((1, 40), dtype=bool))[0]  # nothing free: every row is binding
    start = np.array([0, 5, 30]) + ORIGIN
    end = np.array([10, 15, 35]) + ORIGIN
    inside, free = _calendar_rows(prefix, start, end, np.array([1, 1, 1]), 3, ORIGIN)
    # windows 0 and 1 overlap; window 2 is apart, so [0, 35] (disconnected) is not a row
    assert inside.tolist() == [[True, True, False]]
    assert free.tolist() == [0]


# ------------------------------------------------------------------------------------------------------------
# Solvers: optimality and validity


@settings(max_examples=200, deadline=None)
@given(problem=st.one_of(problems, loose_small_problems), rules=options)
def test_milp_matches_brute_force_and_greedy_is_valid_and_no_better(problem, rules):
    exact = solve(problem, **rules)
    greedy = solve(problem, method="greedy", **rules)
    assert exact.status == "optimal" and exact.method == "milp"
    assert greedy.status == "greedy" and greedy.method == "greedy"
    for result in (exact, greedy):
        assert violations(problem, result.assigned, **rules) == []
        assert result.objective == pytest.approx(plan_objective(problem, result.assigned), abs=TOL)
        expected_shortfall = problem.experts_needed - np.bincount(
            problem.pair_request[result.assigned], minlength=problem.n_requests
        )
        assert result.shortfall.tolist() == expected_shortfall.tolist()
    assert exact.objective == pytest.approx(brute_force(problem, **rules), abs=TOL)
    assert greedy.objective <= exact.objective + TOL
    assert exact.bound >= exact.objective - TOL
    assert 0 <= exact.gap <= 1e-6


def greedy_reference(problem: AssignmentProblem, *, require_korean=True, korean_share=None) -> np.ndarray:
    """Plain-loop greedy with the independent checker: the documented rule, written the obvious way."""
    order = sorted(
        range(problem.n_pairs),
        key=lambda p: (-problem.pair_score[p], problem.pair_request[p], problem.pair_expert[p]),
    )

    def alone_fits(p):
        single = np.zeros(problem.n_pairs, dtype=bool)
        single[p] = True
        return not any(v.startswith("calendar") for v in violations(problem, single))

    excluded = set()
    for r in range(problem.n_requests):
        mine = [p for p in range(problem.n_pairs) if problem.pair_request[p] == r]
        if require_korean and problem.wants_korean[r]:
            if not any(problem.korean[problem.pair_expert[p]] and alone_fits(p) for p in mine):
                excluded.add(r)
    while True:
        plan = np.zeros(problem.n_pairs, dtype=bool)
        for p in order:
            r = problem.pair_request[p]
            if r in excluded:
                continue
            trial = plan.copy()
            trial[p] = True
            if violations(problem, trial, require_korean=False, korean_share=korean_share):
                continue
            team = trial & (problem.pair_request == r)
            full = team.sum() == problem.experts_needed[r]
            if (
                require_korean
                and problem.wants_korean[r]
                and full
                and not problem.korean[problem.pair_expert[team]].any()
            ):
                continue
            plan = trial
        broken = {
            r
            for r in range(problem.n_requests)
            if require_korean
            and problem.wants_korean[r]
            and (plan & (problem.pair_request == r)).any()
            and not problem.korean[problem.pair_expert[plan & (problem.pair_request == r)]].any()
        }
        if not broken:
            return plan
        excluded |= broken


@settings(max_examples=150, deadline=None)
@given(problem=st.one_of(problems, loose_problems), rules=options)
def test_greedy_equals_plain_loop_reference(problem, rules):
    assert solve(problem, method="greedy", **rules).assigned.tolist() == greedy_reference(problem, **rules).tolist()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_req=st.integers(1, 8), n_exp=st.integers(1, 10))
def test_milp_equals_linear_sum_assignment_without_calendars(seed, n_req, n_exp):
    rng = np.random.default_rng(seed)
    allowed = rng.random((n_req, n_exp)) < 0.6
    score = rng.random((n_req, n_exp))
    rows, cols = np.nonzero(allowed)
    problem = AssignmentProblem(
        pair_request=rows.astype(np.int64),
        pair_expert=cols.astype(np.int64),
        pair_score=score[rows, cols],
        experts_needed=np.ones(n_req, dtype=np.int64),
        days=rng.integers(1, 5, n_req),
        window_start=np.zeros(n_req, dtype=np.int64),
        window_end=np.zeros(n_req, dtype=np.int64),
        has_window=np.zeros(n_req, dtype=bool),
        wants_korean=np.zeros(n_req, dtype=bool),
        budget=np.full(n_req, np.nan),
        capacity=np.ones(n_exp, dtype=np.int64),
        korean=np.zeros(n_exp, dtype=bool),
        day_rate=np.full(n_exp, np.nan),
        free_prefix=np.zeros((n_exp, 2), dtype=np.int32),  # nobody is free: windowless work is not checked
        origin=0,
    )
    result = solve(problem)
    # forbidden pairs weigh 0 (= unassigned); allowed ones score + penalty, so LSA staffs as many as it can
    weight = np.where(allowed, score + PENALTY, 0.0)
    r, c = linear_sum_assignment(weight, maximize=True)
    expected = weight[r, c].sum() - PENALTY * n_req
    assert result.objective == pytest.approx(expected, abs=TOL)
    assert violations(problem, result.assigned) == []


def test_time_limited_solve_returns_a_valid_plan():
    problem = random_problem(7, 5, 5, max_pairs=25)
    result = solve(problem, time_limit=1e-6)
    assert result.status in ("optimal", "time_limit", "time_limit_no_solution; greedy fallback")
    assert violations(problem, result.assigned) == []


def test_time_limit_keeps_the_incumbent_and_falls_back_to_greedy_without_one(monkeypatch):
    import gscp_match.core._assign as assign_module

    problem = random_problem(6, 4, 4, max_pairs=12, loose=True)
    exact = solve(problem)
    assert exact.assigned.sum() == 5
    real_milp = assign_module.milp

    def stopped_with_plan(*args, **kwargs):
        res = real_milp(*args, **kwargs)
        res.status, res.mip_gap = 1, 0.25
        return res

    monkeypatch.setattr(assign_module, "milp", stopped_with_plan)
    result = solve(problem)
    assert (result.status, result.method, result.gap) == ("time_limit", "milp", 0.25)
    assert result.assigned.tolist() == exact.assigned.tolist()

    def stopped_without_plan(*args, **kwargs):
        res = real_milp(*args, **kwargs)
        res.status, res.x = 1, None
        return res

    monkeypatch.setattr(assign_module, "milp", stopped_without_plan)
    result = solve(problem)
    assert (result.status, result.method) == ("time_limit_no_solution; greedy fallback", "greedy")
    assert result.assigned.tolist() == solve(problem, method="greedy").assigned.tolist()
    assert result.n_variables > 0 and result.n_constraints > 0


def test_spread_weight_moves_work_to_less_busy_experts():
    problem = replace(random_problem(0, 2, 2), **_one_request_two_equal_experts())
    assert solve(problem).assigned.tolist() == [True, False]  # tie: lower expert position
    spread = solve(problem, recent_engagements=np.array([3.0, 0.0]), spread_weight=0.1)
    assert spread.assigned.tolist() == [False, True]
    assert spread.objective == pytest.approx(0.5)
    greedy = solve(problem, method="greedy", recent_engagements=np.array([3.0, 0.0]), spread_weight=0.1)
    assert greedy.assigned.tolist() == [False, True]


def _one_request_two_equal_experts() -> dict:
    return {
        "pair_request": np.array([0, 0]),
        "pair_expert": np.array([0, 1]),
        "pair_score": np.array([0.5, 0.5]),
        "experts_needed": np.array([1]),
        "days": np.array([0]),
        "window_start": np.array([0]),
        "window_end": np.array([0]),
        "has_window": np.array([False]),
        "wants_korean": np.array([False]),
        "budget": np.array([np.nan]),
    }


def test_greedy_korean_rule_never_gives_last_place_to_non_korean():
    # request 0 needs 2 and wants Korean; its best two are non-Korean, the Korean expert scores lowest
    problem = AssignmentProblem(
        pair_request=np.array([0, 0, 0]),
        pair_expert=np.array([0, 1, 2]),
        pair_score=np.array([0.9, 0.8, 0.1]),
        experts_needed=np.array([2]),
        days=np.array([0]),
        window_start=np.array([0]),
        window_end=np.array([0]),
        has_window=np.array([False]),
        wants_korean=np.array([True]),
        budget=np.array([np.nan]),
        capacity=np.ones(3, dtype=np.int64),
        korean=np.array([False, False, True]),
        day_rate=np.full(3, np.nan),
        free_prefix=np.zeros((3, 2), dtype=np.int32),
        origin=0,
    )
    for method in METHODS:
        assert solve(problem, method=method).assigned.tolist() == [True, False, True]
        assert solve(problem, method=method, require_korean=False).assigned.tolist() == [True, True, False]


# ------------------------------------------------------------------------------------------------------------
# Explanations, alternates, bookings


@settings(max_examples=100, deadline=None)
@given(
    problem=st.one_of(problems, loose_problems),
    rules=options,
    method=st.sampled_from(METHODS),
    noise=st.integers(0, 2**32 - 1),
)
def test_explain_unstaffed_never_raises_even_on_broken_plans(problem, rules, method, noise):
    result = solve(problem, method=method, **rules)
    broken_assigned = np.random.default_rng(noise).random(problem.n_pairs) < 0.5
    broken = AssignmentResult(
        assigned=broken_assigned,
        shortfall=np.random.default_rng(noise).integers(-1, 3, problem.n_requests),
        objective=0.0,
        bound=np.nan,
        gap=np.nan,
        status="made up",
        method=method,
        seconds=0.0,
        options=result.options,
    )
    for res in (result, broken):
        reasons = explain_unstaffed(problem, res)
        assert [x.request for x in reasons] == np.flatnonzero(res.shortfall > 0).tolist()
        for reason in reasons:
            assert reason.code in REASON_CODES
            assert reason.request not in reason.blocking_requests
            assert list(reason.blocking_requests) == sorted(set(reason.blocking_requests))
            assert reason.detail
    # at the optimum every open candidate is blocked by a rule
    if method == "milp":
        assert all(x.code != "not_chosen" for x in explain_unstaffed(problem, result))


@settings(max_examples=150, deadline=None)
@given(problem=loose_problems, rules=options, n=st.integers(0, 3))
def test_alternates_are_exactly_the_best_valid_stand_ins(problem, rules, n):
    result = solve(problem, **rules)
    got = alternates(problem, result, n=n)
    assert got.shape == (problem.n_requests, n) and got.dtype == np.int64
    for r in range(problem.n_requests):
        mine = np.flatnonzero(problem.pair_request == r)
        team = mine[result.assigned[mine]]
        leaving = [[int(p)] for p in team] + ([[]] if result.shortfall[r] > 0 or team.size == 0 else [])
        expected = []
        order = sorted(mine[~result.assigned[mine]], key=lambda p: (-problem.pair_score[p], problem.pair_expert[p]))
        for p in order:
            for drop in leaving:
                plan = result.assigned.copy()
                plan[drop] = False
                plan[p] = True
                if not violations(problem, plan, **rules):
                    expected.append(int(p))
                    break
        expected = expected[:n]
        assert got[r].tolist() == expected + [-1] * (n - len(expected))


@settings(max_examples=100, deadline=None)
@given(problem=st.one_of(problems, loose_problems), method=st.sampled_from(METHODS))
def test_bookings_place_every_engagement_on_distinct_free_days_in_its_window(problem, method):
    result = solve(problem, method=method)
    pair_index, day = bookings(problem, result)
    pr, pe = problem.pair_request, problem.pair_expert
    books = result.assigned & problem.has_window[pr] & (problem.days[pr] > 0)
    assert np.bincount(pair_index, minlength=problem.n_pairs).tolist() == np.where(books, problem.days[pr], 0).tolist()
    r = pr[pair_index]
    assert np.all((day >= problem.window_start[r]) & (day <= problem.window_end[r]))
    free = np.diff(problem.free_prefix, axis=1) > 0
    assert np.all(free[pe[pair_index], day - ORIGIN])
    expert_day = pe[pair_index] * 10**6 + day
    assert np.unique(expert_day).size == expert_day.size
    assert np.all(np.diff(pair_index) >= 0)


def test_bookings_refuse_a_plan_that_breaks_a_calendar():
    problem = AssignmentProblem(**_crowded_expert())
    result = solve(problem)
    assert result.assigned.sum() == 1
    with pytest.raises(InputError, match="expert 0"):
        bookings(problem, replace_result(result, assigned=np.array([True, True])))


def replace_result(result: AssignmentResult, **changes) -> AssignmentResult:
    fields = {name: getattr(result, name) for name in AssignmentResult.__dataclass_fields__}
    fields.update(changes)
    return AssignmentResult(**fields)


def _crowded_expert() -> dict:
    """One expert with 5 free days, two 3-day engagements in the same window."""
    return {
        "pair_request": np.array([0, 1]),
        "pair_expert": np.array([0, 0]),
        "pair_score": np.array([0.4, 0.9]),
        "experts_needed": np.array([1, 1]),
        "days": np.array([3, 3]),
        "window_start": np.array([0, 0]),
        "window_end": np.array([6, 6]),
        "has_window": np.array([True, True]),
        "wants_korean": np.array([False, False]),
        "budget": np.array([np.nan, np.nan]),
        "capacity": np.array([2]),
        "korean": np.array([False]),
        "day_rate": np.array([np.nan]),
        "free_prefix": prefix_from_free(np.array([[1, 1, 0, 1, 1, 0, 1]], dtype=bool)),
        "origin": 0,
    }


# ------------------------------------------------------------------------------------------------------------
# Infeasible and odd rounds


@pytest.mark.parametrize("method", METHODS)
def test_infeasible_rounds_give_shortfall_and_reasons(method):
    base = _crowded_expert()
    # calendar: the expert fits one of the two engagements; request 1 ranks it higher
    result = solve(AssignmentProblem(**base), method=method)
    assert result.assigned.tolist() == [False, True]
    [reason] = explain_unstaffed(AssignmentProblem(**base), result)
    assert (reason.request, reason.code, reason.blocking_requests) == (0, "calendar", (1,))
    assert "free working days" in reason.detail

    # everyone busy: no free days at all
    busy = AssignmentProblem(**{**base, "free_prefix": np.zeros((1, 8), dtype=np.int32)})
    result = solve(busy, method=method)
    assert result.shortfall.tolist() == [1, 1]
    assert {r.code for r in explain_unstaffed(busy, result)} == {"calendar"}

    # no candidates at all
    empty = AssignmentProblem(
        **{
            **base,
            "pair_request": np.zeros(0, int),
            "pair_expert": np.zeros(0, int),
            "pair_score": np.zeros(0),
        }
    )
    result = solve(empty, method=method)
    assert result.shortfall.tolist() == [1, 1] and result.objective == -2 * PENALTY
    assert [r.code for r in explain_unstaffed(empty, result)] == ["no_candidates"] * 2
    assert alternates(empty, result).tolist() == [[-1] * 3] * 2
    assert [a.size for a in bookings(empty, result)] == [0, 0]

    # Korean experience required, nobody has it
    korean = AssignmentProblem(**{**base, "wants_korean": np.array([True, False])})
    result = solve(korean, method=method)
    assert result.assigned.tolist() == [False, True]
    [reason] = explain_unstaffed(korean, result)
    assert reason.code == "korean_requirement" and "Korean experience" in reason.detail

    # budget below any expert's cost
    budget = AssignmentProblem(**{**base, "day_rate": np.array([100.0]), "budget": np.array([250.0, 50.0])})
    result = solve(budget, method=method)
    assert result.shortfall.tolist() == [1, 1]
    assert [r.code for r in explain_unstaffed(budget, result)] == ["budget", "budget"]


def test_capacity_reason_names_the_requests_holding_the_expert():
    base = _crowded_expert()
    problem = AssignmentProblem(**{**base, "days": np.array([0, 0]), "capacity": np.array([1])})
    result = solve(problem)
    [reason] = explain_unstaffed(problem, result)
    assert (reason.request, reason.code, reason.blocking_requests) == (0, "taken", (1,))
    assert "assignment limit" in reason.detail and "request 1" in reason.detail


# ------------------------------------------------------------------------------------------------------------
# Input validation


def test_unknown_method_lists_valid_ones():
    with pytest.raises(ValueError, match="milp, greedy"):
        solve(AssignmentProblem(**_crowded_expert()), method="hungarian")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"pair_expert": np.array([0, 1])}, "pair_expert"),
        ({"pair_expert": np.array([0])}, "n_pairs"),
        ({"pair_request": np.array([1, 1])}, "unique"),
        ({"experts_needed": np.array([0, 1])}, "experts_needed"),
        ({"window_end": np.array([-1, 6])}, "window_end"),
        ({"free_prefix": np.zeros((2, 8), dtype=np.int32)}, "free_prefix"),
        ({"budget": np.array([-1.0, np.nan])}, "budget"),
        ({"pair_score": np.array([np.nan, 0.1])}, "pair_score"),
        ({"has_window": np.array([1.0, 0.0])}, "has_window"),
    ],
)
def test_problem_validation(change, message):
    with pytest.raises(InputError, match=message):
        AssignmentProblem(**{**_crowded_expert(), **change})


@pytest.mark.parametrize(
    "option", [{"korean_share": 1.5}, {"unstaffed_penalty": 0.0}, {"recent_engagements": np.zeros(3)}]
)
def test_option_validation(option):
    with pytest.raises(InputError):
        solve(AssignmentProblem(**_crowded_expert()), **option)
