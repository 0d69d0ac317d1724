"""The round plan end to end: Matcher.assign, its tables, the roster written back, and ``gscp-match assign``.

Every rule is checked here from the input tables themselves (dates, busy intervals, exclusions), not from the
solver's own bookkeeping.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import gscp_match as gm
from gscp_match.cli import main
from gscp_match.core._assign import REASON_CODES
from gscp_match.plan._round_plan import ASSIGNMENT_COLUMNS, BOOKING_COLUMNS, UNSTAFFED_COLUMNS, add_bookings
from gscp_match.synthetic._generate import generate_round
from gscp_match.tables._catalog import demo_paths
from gscp_match.tables._validate import read_table, validate_table
from gscp_match.text._embed import HashingEmbedder


@pytest.fixture(scope="module")
def demo():
    return gm.load_demo()


@pytest.fixture(scope="module")
def fake_matcher(demo):
    return gm.Matcher(HashingEmbedder(64), cache=None).fit(demo.experts, evidence=demo.evidence)


@pytest.fixture(scope="module")
def synthetic_round():
    """A tight round: 40 requests on 30 experts, so experts are contended and some requests stay short."""
    tables = generate_round(30, 40, seed=11)
    experts = validate_table(tables["experts"], "experts")
    requests = validate_table(tables["requests"], "requests")
    matcher = gm.Matcher(HashingEmbedder(64), cache=None).fit(experts)
    return matcher, experts, requests


def busy_days(intervals) -> set[np.datetime64]:
    """Every calendar day inside the inclusive ``YYYY-MM-DD/YYYY-MM-DD`` intervals (plain loop)."""
    days = set()
    for text in intervals:
        start, end = (np.datetime64(p, "D") for p in text.split("/"))
        day = start
        while day <= end:
            days.add(day)
            day += np.timedelta64(1, "D")
    return days


def is_weekday(day: np.datetime64) -> bool:
    return pd.Timestamp(day).weekday() < 5


def check_plan(plan: gm.RoundPlan, experts: pd.DataFrame, requests: pd.DataFrame, *, require_korean=True) -> None:
    """Assert every rule of a round plan from the tables alone."""
    roster = experts.set_index("expert_id")
    req = requests.set_index("request_id")
    team = plan.assignment[plan.assignment["role"] == "assigned"]
    # Request needs: assigned + missing == needed.
    got = team.groupby("request_id").size().reindex(req.index, fill_value=0)
    missing = plan.unstaffed.set_index("request_id")["missing"].reindex(req.index, fill_value=0)
    assert ((got + missing) == req["experts_needed"]).all()
    assert (got <= req["experts_needed"]).all()
    # Capacity.
    load = team.groupby("expert_id").size()
    assert (load <= roster.loc[load.index, "max_assignments"]).all()
    # Hard filters: exclusions, languages, budgets.
    for row in team.itertuples():
        r, e = req.loc[row.request_id], roster.loc[row.expert_id]
        assert row.expert_id not in r["exclude_experts"]
        if r["languages"]:
            assert set(r["languages"]) & set(e["languages"])
        if not np.isnan(r["budget_usd"]) and not np.isnan(e["day_rate_usd"]) and r["days"] > 0:
            assert e["day_rate_usd"] * r["days"] <= r["budget_usd"] + 1e-6
    # Korean rule.
    if require_korean:
        korean = team.assign(k=roster.loc[team["expert_id"], "korean_experience"].to_numpy())
        for rid, group in korean.groupby("request_id"):
            if req.loc[rid, "korean_experience"]:
                assert group["k"].any(), rid
    # Calendars: every engagement with a window books exactly its days, on distinct free working days inside
    # its window, and never on a day the expert was busy or booked twice.
    booked = plan.bookings
    assert list(booked.columns) == list(BOOKING_COLUMNS)
    assert not booked.duplicated(["expert_id", "date"]).any()
    for (expert_id, request_id), group in booked.groupby(["expert_id", "request_id"]):
        r = req.loc[request_id]
        days = group["date"].to_numpy(dtype="datetime64[D]")
        assert len(days) == r["days"]
        assert all(is_weekday(d) for d in days)
        start, end = np.datetime64(r["window_start"], "D"), np.datetime64(r["window_end"], "D")
        assert ((days >= start) & (days <= end)).all()
        assert not set(days) & busy_days(roster.loc[expert_id, "busy"])
    windowed = team[req.loc[team["request_id"], "window_start"].notna().to_numpy()]
    windowed = windowed[req.loc[windowed["request_id"], "days"].fillna(0).to_numpy() > 0]
    assert set(zip(windowed["expert_id"], windowed["request_id"], strict=True)) == set(
        zip(booked["expert_id"], booked["request_id"], strict=True)
    )


def test_demo_plan_keeps_every_rule(fake_matcher, demo):
    plan = fake_matcher.assign(demo.requests, top_m=15, n_alternates=2)
    assert list(plan.assignment.columns[: len(ASSIGNMENT_COLUMNS)]) == list(ASSIGNMENT_COLUMNS)
    assert list(plan.unstaffed.columns) == list(UNSTAFFED_COLUMNS)
    check_plan(plan, demo.experts, demo.requests)
    assert plan.result.status == "optimal"
    assert "requests fully staffed" in plan.summary()


def test_contended_round_keeps_every_rule_and_explains_shortfalls(synthetic_round):
    matcher, experts, requests = synthetic_round
    plan = matcher.assign(requests, top_m=10)
    assert plan.result.status == "optimal"
    check_plan(plan, experts, requests)
    assert len(plan.unstaffed) >= 3
    assert (plan.unstaffed["reason"].str.len() > 0).all()
    assert set(plan.unstaffed["reason_code"]) <= set(REASON_CODES)
    greedy = matcher.assign(requests, top_m=10, method="greedy")
    check_plan(greedy, experts, requests)
    assert greedy.result.objective <= plan.result.objective + 1e-9


def test_alternates_are_eligible_other_experts(fake_matcher, demo):
    plan = fake_matcher.assign(demo.requests, top_m=15, n_alternates=3)
    shortlist = fake_matcher.shortlist(demo.requests, k=15, k_cases=0).experts
    candidates = set(zip(shortlist["request_id"], shortlist["expert_id"], strict=True))
    table = plan.assignment
    alt = table[table["role"] == "alternate"]
    assert len(alt) > 0
    assert set(zip(alt["request_id"], alt["expert_id"], strict=True)) <= candidates
    assigned = set(
        zip(
            table.loc[table["role"] == "assigned", "request_id"],
            table.loc[table["role"] == "assigned", "expert_id"],
            strict=True,
        )
    )
    assert not set(zip(alt["request_id"], alt["expert_id"], strict=True)) & assigned
    assert (alt.groupby("request_id").size() <= 3).all()
    # Ranks count from 1 within each request and role, scores descending.
    for _, group in table.groupby(["request_id", "role"]):
        assert list(group["rank"]) == list(range(1, len(group) + 1))
        assert (np.diff(group["score"].to_numpy()) <= 1e-9).all()


def test_roster_out_passes_validation_and_the_next_round_sees_the_bookings(fake_matcher, demo, tmp_path):
    plan = fake_matcher.assign(demo.requests)
    updated = add_bookings(demo.experts, plan.bookings)
    path = tmp_path / "next.csv"
    gm.write_table(updated, path)
    again = read_table(path, "experts")
    assert list(again["expert_id"]) == list(demo.experts["expert_id"])
    for before, after, expert_id in zip(demo.experts["busy"], again["busy"], again["expert_id"], strict=True):
        booked = set(plan.bookings.loc[plan.bookings["expert_id"] == expert_id, "date"].to_numpy(dtype="datetime64[D]"))
        workdays_after = {d for d in busy_days(after) if is_weekday(d)}
        workdays_before = {d for d in busy_days(before) if is_weekday(d)}
        assert workdays_after == workdays_before | booked
    # The same round against the updated roster cannot reuse the booked days.
    next_matcher = gm.Matcher(HashingEmbedder(64), cache=None).fit(again, evidence=demo.evidence)
    second = next_matcher.assign(demo.requests)
    check_plan(second, again, demo.requests)
    first_pairs = set(zip(plan.bookings["expert_id"], plan.bookings["date"], strict=True))
    assert not first_pairs & set(zip(second.bookings["expert_id"], second.bookings["date"], strict=True))


def _tables():
    experts = pd.DataFrame(
        {
            "expert_id": ["E1", "E2", "E3"],
            "name": ["Alpha", "Beta", "Gamma"],
            "bio": ["French-speaking bus reform expert", "Transit data analyst", "Traffic signal engineer"],
            "languages": ["fr;en", "en", "en"],
            "max_assignments": ["1", "1", "1"],
            "busy": ["", "", ""],
        }
    )
    requests = pd.DataFrame(
        {
            "request_id": ["R1", "R2", "R3"],
            "title": ["Bus reform in Dakar", "Bus reform in Abidjan", "Signals in Nairobi"],
            "description": ["Bus route reform", "Bus route reform", "Adaptive signals"],
            "languages": ["fr", "fr", "sw"],
            "window_start": ["2027-03-01", "2027-03-08", "2027-03-01"],
            "window_end": ["2027-03-31", "2027-04-09", "2027-03-31"],
            "days": ["10", "10", "5"],
        }
    )
    return validate_table(experts, "experts"), validate_table(requests, "requests")


@pytest.mark.parametrize("method", ["milp", "greedy"])
def test_infeasible_requests_get_reasons_in_words(method):
    experts, requests = _tables()
    matcher = gm.Matcher(HashingEmbedder(32), cache=None).fit(experts)
    plan = matcher.assign(requests, method=method)
    check_plan(plan, experts, requests)
    reasons = plan.unstaffed.set_index("request_id")
    # R1 and R2 both need the only French speaker, who takes one engagement: the other is short, and says who
    # holds the expert.
    short = [r for r in ("R1", "R2") if r in reasons.index]
    assert len(short) == 1
    other = "R2" if short[0] == "R1" else "R1"
    assert reasons.loc[short[0], "reason_code"] == "taken"
    assert reasons.loc[short[0], "blocked_by"] == other
    assert other in reasons.loc[short[0], "reason"]
    # Nobody speaks Swahili: the reason says how many experts the language filter removed.
    assert reasons.loc["R3", "reason_code"] == "no_candidates"
    assert "3 of 3 share no language" in reasons.loc["R3", "reason"]


def test_spread_weight_gives_the_work_to_someone_not_recently_engaged(fake_matcher, demo):
    plan = fake_matcher.assign(demo.requests.iloc[[0]], n_alternates=0)
    first = plan.assignment["expert_id"].iloc[0]
    spread = fake_matcher.assign(
        demo.requests.iloc[[0]], n_alternates=0, recent_engagements={first: 3}, spread_weight=1.0
    )
    assert spread.assignment["expert_id"].iloc[0] != first
    with pytest.raises(gm.InputError, match="recent_engagements"):
        fake_matcher.assign(demo.requests.iloc[[0]], recent_engagements={first: -1})


def test_one_request_plan_is_its_best_eligible_expert(fake_matcher, demo):
    request = demo.requests.iloc[[3]]
    plan = fake_matcher.assign(request, n_alternates=0)
    best = fake_matcher.shortlist(request, k=1, k_cases=0).experts
    wants_korean = bool(request["korean_experience"].iloc[0])
    if not wants_korean:
        assert list(plan.assignment["expert_id"]) == list(best["expert_id"])
    else:
        assert len(plan.assignment) == 1


def test_bad_options_raise():
    experts, requests = _tables()
    matcher = gm.Matcher(HashingEmbedder(32), cache=None).fit(experts)
    with pytest.raises(ValueError, match="top_m"):
        matcher.assign(requests, top_m=0)
    with pytest.raises(ValueError, match="valid methods"):
        matcher.assign(requests, method="hungarian")
    with pytest.raises(gm.InputError, match="korean_share"):
        matcher.assign(requests, korean_share=1.5)


def test_add_bookings_refuses_unknown_experts(demo):
    booked = pd.DataFrame({"expert_id": ["NOPE"], "request_id": ["R"], "date": pd.to_datetime(["2027-03-01"])})
    with pytest.raises(gm.InputError, match="NOPE"):
        add_bookings(demo.experts, booked)


# ---------------------------------------------------------------------------------------------------------------
# CLI


def _demo_args() -> list[str]:
    paths = demo_paths()
    return [
        "--requests",
        str(paths["requests"]),
        "--experts",
        str(paths["experts"]),
        "--evidence",
        str(paths["evidence"]),
    ]


def test_cli_assign_writes_the_plan_and_the_next_roster(tmp_path, capsys):
    out = tmp_path / "plan"
    code = main(
        [
            "assign",
            *_demo_args(),
            "--embedder",
            "hashing",
            "--cache",
            "none",
            "--quiet",
            "--out",
            str(out),
            "--roster-out",
            str(tmp_path / "next.xlsx"),
        ]
    )
    assert code == 0
    assignment = pd.read_csv(out / "assignment.csv")
    assert list(assignment.columns[: len(ASSIGNMENT_COLUMNS)]) == list(ASSIGNMENT_COLUMNS)
    assert set(assignment["role"]) == {"assigned", "alternate"}
    assert list(pd.read_csv(out / "unstaffed.csv").columns) == list(UNSTAFFED_COLUMNS)
    bookings = pd.read_csv(out / "bookings.csv")
    roster = read_table(tmp_path / "next.xlsx", "experts")
    assert len(roster) == 200
    for expert_id, group in bookings.groupby("expert_id"):
        days = busy_days(roster.set_index("expert_id").loc[expert_id, "busy"])
        assert set(pd.to_datetime(group["date"]).to_numpy(dtype="datetime64[D]")) <= days
    assert "plan:" in capsys.readouterr().out


def test_cli_assign_usage_and_input_errors_leave_nothing(tmp_path, capsys):
    out = tmp_path / "plan"
    assert main(["assign", *_demo_args(), "--embedder", "hashing", "--out", str(out), "--top-m", "0"]) == 2
    bad = tmp_path / "requests.csv"
    bad.write_text("request_id,title,description,days\nR1,t,d,many\n", encoding="utf-8")
    args = [
        "assign",
        "--requests",
        str(bad),
        "--experts",
        _demo_args()[3],
        "--embedder",
        "hashing",
        "--cache",
        "none",
        "--out",
        str(out),
    ]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "requests.csv row 2, column 'days'" in err
    assert not out.exists() or not any(out.iterdir())


def test_cli_demo_includes_the_round_plan(tmp_path):
    out = tmp_path / "demo"
    assert main(["demo", "--embedder", "hashing", "--quiet", "--out", str(out)]) == 0
    for name in ("expert_shortlist.csv", "case_shortlist.csv", "assignment.csv", "unstaffed.csv", "bookings.csv"):
        assert (out / name).exists(), name
    assert (pd.read_csv(out / "assignment.csv")["role"] == "assigned").sum() >= 1


def test_cli_spread_weight_moves_work_away_from_recently_selected_experts(tmp_path):
    first = tmp_path / "first"
    # Without the two Yerevan requests: the roster's one Armenian speaker is their only candidate, spread or not.
    requests = pd.read_csv(demo_paths()["requests"], dtype=str, keep_default_na=False)
    requests = requests[~requests["languages"].eq("hy")]
    requests.to_csv(tmp_path / "requests.csv", index=False)
    args = _demo_args()
    args[1] = str(tmp_path / "requests.csv")
    base = ["assign", *args, "--embedder", "hashing", "--cache", "none", "--quiet", "--alternates", "0"]
    assert main([*base, "--out", str(first)]) == 0
    chosen = pd.read_csv(first / "assignment.csv")
    history = pd.DataFrame(
        {"round": "R0", "request_id": chosen["request_id"], "expert_id": chosen["expert_id"], "selected": 1}
    )
    history_path = tmp_path / "history.csv"
    history.to_csv(history_path, index=False)
    second = tmp_path / "second"
    assert main([*base, "--history", str(history_path), "--spread-weight", "1", "--out", str(second)]) == 0
    again = pd.read_csv(second / "assignment.csv")
    assert not set(again["expert_id"]) & set(chosen["expert_id"])
    assert main([*base, "--spread-weight", "1", "--out", str(tmp_path / "x")]) == 2


def test_requests_needing_more_experts_than_top_m_still_get_candidates(fake_matcher, demo):
    requests = demo.requests.copy()
    requests["experts_needed"] = 3
    requests["budget_usd"] = np.nan  # a team budget could legitimately stop the third expert
    plan = fake_matcher.assign(requests.iloc[[2]], top_m=2, n_alternates=0)
    assert plan.problem.n_pairs >= 3
    assert (plan.assignment["role"] == "assigned").sum() == 3
    assert plan.unstaffed.empty


def test_spread_adjusted_scores_order_the_table(fake_matcher, demo):
    ids = list(demo.experts["expert_id"])
    plan = fake_matcher.assign(demo.requests, spread_weight=0.02, recent_engagements={e: 3 for e in ids[::2]})
    table = plan.assignment
    lowered = table["expert_id"].isin(ids[::2])
    np.testing.assert_allclose(table.loc[lowered, "adjusted_score"], table.loc[lowered, "score"] - 0.06, atol=2e-4)
    np.testing.assert_allclose(table.loc[~lowered, "adjusted_score"], table.loc[~lowered, "score"], atol=1e-9)
    for _, group in table.groupby(["request_id", "role"]):
        assert (np.diff(group["adjusted_score"].to_numpy()) <= 2e-4).all()


def test_add_bookings_takes_iso_holidays_and_refuses_double_bookings(demo):
    booked = pd.DataFrame(
        {
            "expert_id": [demo.experts["expert_id"].iloc[0]] * 2,
            "request_id": ["R1", "R1"],
            "date": pd.to_datetime(["2027-03-01", "2027-03-03"]),
        }
    )
    # 2027-03-02 is a holiday: the two booked days join one interval across it.
    out = add_bookings(demo.experts, booked, holidays=["2027-03-02"])
    assert out["busy"].iloc[0][-1] == "2027-03-01/2027-03-03"
    twice = pd.concat([booked, booked.assign(request_id="R2")])
    with pytest.raises(gm.InputError, match="booked twice on 2027-03-01"):
        add_bookings(demo.experts, twice)


def test_recent_rounds_follow_the_numbers_in_round_names(tmp_path):
    from gscp_match.cli import _recent
    from gscp_match.tables._history import read_history

    history = pd.DataFrame(
        {"round": ["R8", "R9", "R10", "R11"], "request_id": ["a", "b", "c", "d"], "expert_id": ["E0", "E1", "E2", "E3"],
         "selected": [1, 1, 1, 1]}
    )  # fmt: skip
    path = tmp_path / "history.csv"
    history.to_csv(path, index=False)
    recent = _recent(read_history(path), 2)
    assert sorted(recent.index) == ["E2", "E3"]


def test_cli_refuses_bad_demo_top_and_roster_out_before_any_work(tmp_path, capsys):
    assert main(["demo", "--embedder", "hashing", "--top", "0", "--out", str(tmp_path / "d")]) == 2
    out = tmp_path / "plan"
    code = main(
        ["assign", *_demo_args(), "--embedder", "hashing", "--out", str(out), "--roster-out", str(out / "r.txt")]
    )
    assert code == 2
    assert "--roster-out" in capsys.readouterr().err
    assert not out.exists()


def check_candidates(plan: gm.RoundPlan, experts: pd.DataFrame, requests: pd.DataFrame) -> pd.Series:
    """Assert every candidate's status and reason from the tables alone; return the reason counts."""
    cands = plan.candidates
    assert list(cands.columns) == list(gm.plan._round_plan.CANDIDATE_COLUMNS)
    assert not cands.duplicated(["request_id", "expert_id"]).any()
    roles = {
        (r, e): role for r, e, role in plan.assignment[["request_id", "expert_id", "role"]].itertuples(index=False)
    }
    for r, e, status in cands[["request_id", "expert_id", "status"]].itertuples(index=False):
        assert roles.get((r, e), "not chosen") == status
    assert len(cands[cands["status"] != "not chosen"]) == len(plan.assignment)
    team = plan.assignment[plan.assignment["role"] == "assigned"]
    expert = experts.set_index("expert_id")
    request = requests.set_index("request_id")
    out = cands[cands["status"] == "not chosen"]
    assert (out["status_reason"].str.len() > 0).all()
    for row in out.itertuples(index=False):
        held = team.loc[team["expert_id"] == row.expert_id, "request_id"].tolist()
        if row.reason_code == "taken":  # at the limit, and the requests named are the ones holding the expert
            assert len(held) >= expert.at[row.expert_id, "max_assignments"]
            assert sorted(row.blocked_by.split(";")) == sorted(held) and all(h in row.status_reason for h in held)
        elif row.reason_code == "korean_requirement":
            assert request.at[row.request_id, "korean_experience"]
            assert not expert.at[row.expert_id, "korean_experience"]
        elif row.reason_code == "budget":
            budget = request.at[row.request_id, "budget_usd"]
            days = request.at[row.request_id, "days"]
            mine = team[team["request_id"] == row.request_id]["expert_id"]
            cost = expert.loc[list(mine), "day_rate_usd"].fillna(0).to_numpy() * days
            own = expert.at[row.expert_id, "day_rate_usd"] * days
            assert own + cost.sum() > budget  # beside the team, or replacing one of it
            assert f"USD {budget:,.0f}" in row.status_reason
        elif row.reason_code == "calendar" and row.blocked_by:
            assert set(row.blocked_by.split(";")) <= set(held)
        else:
            assert row.reason_code in ("calendar", "stand_by", "team_full", "korean_share")
    return out["reason_code"].value_counts()


def test_every_candidate_has_a_status_and_a_reason_in_words(fake_matcher, demo, synthetic_round):
    counts = check_candidates(fake_matcher.assign(demo.requests), demo.experts, demo.requests)
    assert counts.get("taken", 0) > 0 and counts.get("korean_requirement", 0) > 0
    matcher, experts, requests = synthetic_round
    counts = check_candidates(matcher.assign(requests), experts, requests)
    assert counts.get("taken", 0) > 0 or counts.get("calendar", 0) > 0


def test_demo_round_is_contended_and_says_why(fake_matcher, demo):
    plan = fake_matcher.assign(demo.requests)
    check_plan(plan, demo.experts, demo.requests)
    short = plan.unstaffed.set_index("request_id")
    assert (short["assigned"] > 0).sum() >= 1 and (short["assigned"] == 0).sum() >= 1  # partly and unstaffed
    # From the tables: the Armenian-speaking requests share one possible expert, so one of them is left without.
    speaks = demo.experts[demo.experts["languages"].apply(lambda langs: "hy" in langs)]["expert_id"].tolist()
    armenian = demo.requests[demo.requests["languages"].apply(lambda langs: tuple(langs) == ("hy",))]
    assert len(speaks) == 1 and len(armenian) == 2
    team = plan.assignment[plan.assignment["role"] == "assigned"]
    holder = team.loc[team["expert_id"] == speaks[0], "request_id"].tolist()
    left = sorted(set(armenian["request_id"]) - set(holder))
    assert len(holder) == 1 and len(left) == 1
    assert short.loc[left[0], "assigned"] == 0 and holder[0] in short.loc[left[0], "reason"]
    assert short.loc[left[0], "blocked_by"] == holder[0]
    # The Santiago request's budget pays for one of its two experts.
    santiago = demo.requests.set_index("request_id").loc["DEMO-004"]
    assert santiago["experts_needed"] == 2 and short.loc["DEMO-004", "assigned"] == 1
    assert f"budget of USD {santiago['budget_usd']:,.0f}" in short.loc["DEMO-004", "reason"]
    rates = demo.experts["day_rate_usd"].dropna().nsmallest(2).sum() * santiago["days"]
    assert rates > santiago["budget_usd"]  # no two experts of the roster fit the budget
