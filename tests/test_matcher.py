"""The matcher end to end: demo round, explanations, filters, one request vs a round, CLI shortlist and demo."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import gscp_match as gm
from gscp_match.cli import main
from gscp_match.core._scoring import COMPONENTS
from gscp_match.errors import NotFittedError
from gscp_match.text._embed import HashingEmbedder


@pytest.fixture(scope="module")
def demo():
    return gm.load_demo()


@pytest.fixture(scope="module")
def fake_matcher(demo):
    return gm.Matcher(HashingEmbedder(64), cache=None).fit(demo.experts, evidence=demo.evidence)


def test_shortlist_tables_have_the_contract_columns(fake_matcher, demo):
    result = fake_matcher.shortlist(demo.requests, k=4, k_cases=3)
    experts = result.experts
    for column in ("request_id", "rank", "expert_id", "name", "score", *COMPONENTS, "free_days", "why"):
        assert column in experts.columns
    assert set(experts["request_id"]) <= set(demo.requests["request_id"])
    assert experts.groupby("request_id")["rank"].apply(lambda r: list(r) == list(range(1, len(r) + 1))).all()
    # Scores are the weighted sum of the components shown.
    w = fake_matcher.weights
    total = sum(getattr(w, c) * experts[c] for c in COMPONENTS)
    np.testing.assert_allclose(experts["score"], total, atol=2e-3)
    assert (experts["why"].str.len() > 0).all()
    assert list(result.cases["rank"].groupby(result.cases["request_id"]).max().unique()) == [3]
    assert len(result.filters) == len(demo.requests)


def test_filtered_pairs_never_appear_and_counts_add_up(fake_matcher, demo):
    result = fake_matcher.shortlist(demo.requests, k=200, k_cases=0)
    counts = result.experts.groupby("request_id").size()
    eligible = result.filters.set_index("request_id")["eligible"]
    for rid, n in counts.items():
        assert n == eligible[rid]
    # Exclusions and availability hold for every shortlisted pair.
    merged = result.experts.merge(demo.requests[["request_id", "exclude_experts", "days"]], on="request_id")
    assert not any(e in ex for e, ex in zip(merged["expert_id"], merged["exclude_experts"], strict=True))
    has = merged["free_days"].notna()
    assert (merged.loc[has, "free_days"] >= merged.loc[has, "days"].fillna(1)).all()


def test_one_request_agrees_with_the_round(fake_matcher, demo):
    round_result = fake_matcher.shortlist(demo.requests, k=5, k_cases=2)
    for i in (0, 5):
        one = fake_matcher.shortlist(demo.requests.iloc[[i]], k=5, k_cases=2)
        rid = demo.requests["request_id"].iloc[i]
        sub = round_result.experts[round_result.experts["request_id"] == rid]
        assert list(one.experts["expert_id"]) == list(sub["expert_id"])
        np.testing.assert_allclose(one.experts["score"], sub["score"], atol=1e-4)


def test_request_from_a_dict(fake_matcher):
    result = fake_matcher.shortlist(
        {"request_id": "Q1", "title": "Bus reform", "description": "Reorganize bus routes", "country": "Morocco"}, k=3
    )
    assert list(result.experts["rank"]) == [1, 2, 3]


def test_unknown_exclusion_is_an_input_error(fake_matcher):
    with pytest.raises(gm.InputError, match="exclude_experts"):
        fake_matcher.shortlist({"request_id": "Q1", "title": "t", "description": "d", "exclude_experts": "NOPE"}, k=3)


def test_unfitted_matcher_says_so():
    with pytest.raises(NotFittedError, match="fit"):
        gm.Matcher("hashing", cache=None).shortlist({"request_id": "Q", "title": "t", "description": "d"})


def test_unknown_aggregation_lists_valid_ones():
    with pytest.raises(ValueError, match="max"):
        gm.Matcher("hashing", aggregation="median")


def test_cli_shortlist_writes_files_and_reports_bad_input(tmp_path, capsys):
    paths = gm.tables._catalog.demo_paths()
    out = tmp_path / "out"
    code = main(
        [
            "shortlist",
            "--requests",
            str(paths["requests"]),
            "--experts",
            str(paths["experts"]),
            "--evidence",
            str(paths["evidence"]),
            "--embedder",
            "hashing",
            "--cache",
            "none",
            "--top",
            "3",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    shortlist = pd.read_csv(out / "expert_shortlist.csv")
    assert shortlist.groupby("request_id").size().max() == 3
    assert (out / "case_shortlist.csv").exists()
    bad = tmp_path / "requests.csv"
    bad.write_text("request_id,title,description,days,support_type\nR1,t,d,45,JIT\n", encoding="utf-8")
    out2 = tmp_path / "out2"
    code = main(
        [
            "shortlist",
            "--requests",
            str(bad),
            "--experts",
            str(paths["experts"]),
            "--embedder",
            "hashing",
            "--cache",
            "none",
            "--out",
            str(out2),
            "--quiet",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "requests.csv row 2, column 'days'" in err and "Traceback" not in err
    assert not out2.exists()


@pytest.mark.model
def test_demo_with_the_real_model_finds_the_reported_matches(tmp_path, real_embedder):
    """The program's reported matches: Ulaanbaatar ITS -> signal control / FTMS; Rabat -> bus reform / TOPIS."""
    demo = gm.load_demo()
    matcher = gm.Matcher(real_embedder, cache=tmp_path / "cache").fit(demo.experts, evidence=demo.evidence)
    result = matcher.shortlist(demo.requests, k=5, k_cases=3)
    requests = demo.requests[["request_id", "city"]].rename(columns={"city": "request_city"})
    cases = result.cases.merge(requests, on="request_id")
    by_city = cases.groupby("request_city")["case_id"].apply(set)
    assert by_city["Ulaanbaatar"] & {"kr-atsc", "kr-ftms"}
    assert by_city["Rabat"] & {"kr-seoul-bus-reform", "kr-seoul-topis"}


# -- the Python API with what a user may pass -----------------------------------------------------------------------
def _requests_file(tmp_path) -> str:
    """Two requests as a real CSV file (the first two of the demo round)."""
    path = tmp_path / "requests.csv"
    raw = pd.read_csv(gm.tables._catalog.demo_paths()["requests"], dtype=str, keep_default_na=False).head(2)
    raw.to_csv(path, index=False)
    return str(path)


def test_a_list_of_dicts_is_a_requests_table(fake_matcher, tmp_path):
    path = _requests_file(tmp_path)
    records = pd.read_csv(path, dtype=str, keep_default_na=False).to_dict("records")
    from_list = fake_matcher.shortlist(records, k=3, k_cases=2)
    from_file = fake_matcher.shortlist(path, k=3, k_cases=2)
    pd.testing.assert_frame_equal(from_list.experts, from_file.experts)
    pd.testing.assert_frame_equal(from_list.cases, from_file.cases)
    plan = fake_matcher.assign(records, top_m=5, n_alternates=1)
    assert set(plan.assignment["request_id"]) <= {r["request_id"] for r in records}


@pytest.mark.parametrize(
    ("requests", "error", "words"),
    [
        (None, TypeError, "requests must be a DataFrame, a file path, a mapping"),
        (5, TypeError, "requests must be a DataFrame, a file path, a mapping"),
        (3.5, TypeError, "got float"),
        ([], gm.InputError, "requests: the list is empty"),
        ([{"request_id": "Q1", "title": "t", "description": "d"}, "Q2"], TypeError, r"requests\[1\] is str"),
    ],
)
def test_requests_of_the_wrong_kind_name_the_argument(fake_matcher, requests, error, words):
    for call in (fake_matcher.shortlist, fake_matcher.assign):
        with pytest.raises(error, match=words):
            call(requests)


def test_an_empty_requests_table_is_an_input_error(fake_matcher, tmp_path):
    header_only = pd.read_csv(_requests_file(tmp_path), dtype=str).iloc[:0]
    for call in (fake_matcher.shortlist, fake_matcher.assign):
        with pytest.raises(gm.InputError, match="requests: the table has no rows"):
            call(header_only)


@pytest.mark.parametrize(
    ("options", "error", "words"),
    [
        ({"k": 1.5}, TypeError, r"k must be an integer >= 1, got 1.5 \(float\)"),
        ({"k": "5"}, TypeError, r"k must be an integer >= 1, got '5' \(str\)"),
        ({"k": True}, TypeError, "k must be an integer"),
        ({"k": 0}, gm.InputError, "k must be an integer >= 1, got 0"),
        ({"k_cases": -1}, gm.InputError, "k_cases must be an integer >= 0"),
        ({"k_cases": 2.0}, TypeError, "k_cases must be an integer"),
    ],
)
def test_bad_shortlist_lengths_name_the_argument(fake_matcher, tmp_path, options, error, words):
    with pytest.raises(error, match=words):
        fake_matcher.shortlist(_requests_file(tmp_path), **options)


def test_bad_assign_counts_name_the_argument(fake_matcher, tmp_path):
    path = _requests_file(tmp_path)
    with pytest.raises(TypeError, match="top_m must be an integer >= 1, got 1.5"):
        fake_matcher.assign(path, top_m=1.5)
    with pytest.raises(gm.InputError, match="n_alternates must be an integer >= 0, got -1"):
        fake_matcher.assign(path, n_alternates=-1)


@pytest.mark.parametrize(
    ("holidays", "error", "words"),
    [
        (["2027-13-01"], gm.InputError, r"holidays\[0\]: '2027-13-01' is not a date; expected YYYY-MM-DD"),
        (["2027-01-01", "1 May"], gm.InputError, r"holidays\[1\]: '1 May'"),
        (["2027"], gm.InputError, r"holidays\[0\]: '2027'"),
        (5, TypeError, "holidays must be a sequence of dates.*got int"),
        ("2027-01-01", TypeError, r"wrap one date in a list: \['2027-01-01'\]"),
        ([None], gm.InputError, r"holidays\[0\]: None"),
        (["2027-01-01", pd.NaT], gm.InputError, r"holidays\[1\]: NaT"),
    ],
)
def test_bad_holidays_name_the_argument(holidays, error, words):
    with pytest.raises(error, match=words):
        gm.Matcher("hashing", cache=None, holidays=holidays)


def test_holidays_take_dates_of_every_usual_kind():
    import datetime as dt

    kinds = ["2027-01-01", dt.date(2027, 1, 1), pd.Timestamp("2027-01-01"), np.datetime64("2027-01-01")]
    for value in kinds:
        assert gm.Matcher("hashing", cache=None, holidays=[value]).holidays.tolist() == [20819]
    assert gm.Matcher("hashing", cache=None, holidays=None).holidays.tolist() == []


@pytest.fixture(scope="module")
def demo_plan(fake_matcher, demo):
    return fake_matcher.assign(demo.requests, top_m=5, n_alternates=0)


@pytest.mark.parametrize(
    ("change", "error", "words"),
    [
        (lambda e, b: (e, b.drop(columns="date")), gm.InputError, r"booked: required column\(s\) date missing"),
        (lambda e, b: (e.drop(columns="busy"), b), gm.InputError, r"experts: required column\(s\) busy missing"),
        (lambda e, b: (e, b.to_dict("records")), TypeError, "booked must be a DataFrame.*got list"),
        (lambda e, b: ("experts.csv", b), TypeError, "experts must be a DataFrame.*got str"),
        (lambda e, b: (e, b.assign(date="next week")), gm.InputError, r"booked\['date'\]\[0\]: 'next week'"),
        (lambda e, b: (e, b.assign(date=5)), gm.InputError, r"booked\['date'\]: expected dates .* got numbers"),
        (lambda e, b: (e, b.assign(date=pd.NaT)), gm.InputError, r"booked.iloc\[0\]\['date'\]: no date"),
        (lambda e, b: (e.assign(busy="2027-01-01/2027-01-02"), b), gm.InputError, "is not a tuple of intervals"),
    ],
)
def test_add_bookings_with_a_wrong_table_names_it(demo, demo_plan, change, error, words):
    experts, booked = change(demo.experts, demo_plan.bookings)
    with pytest.raises(error, match=words):
        gm.add_bookings(experts, booked)


def test_add_bookings_reads_iso_dates_and_checks_holidays(demo, demo_plan, tmp_path):
    path = tmp_path / "bookings.csv"
    demo_plan.bookings.to_csv(path, index=False)  # dates come back as YYYY-MM-DD strings
    from_file = gm.add_bookings(demo.experts, pd.read_csv(path))
    pd.testing.assert_frame_equal(from_file, gm.add_bookings(demo.experts, demo_plan.bookings))
    with pytest.raises(gm.InputError, match=r"holidays\[0\]: '2027-13-01'"):
        gm.add_bookings(demo.experts, demo_plan.bookings, holidays=["2027-13-01"])
    with pytest.raises(TypeError, match="holidays must be a sequence"):
        gm.add_bookings(demo.experts, demo_plan.bookings, holidays=5)


# -- one scoring run for the shortlists and the plan -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("k", "options"),
    [
        (5, {"top_m": 20, "n_alternates": 3}),
        (30, {"top_m": 4, "n_alternates": 1}),  # the shortlist is the longer list
        (3, {"top_m": 8, "n_alternates": 2, "method": "greedy", "korean_share": 0.5}),
    ],
)
def test_shortlist_and_assign_equals_the_separate_calls(demo, k, options):
    matcher = gm.Matcher(HashingEmbedder(64), cache=None, chunk_size=37).fit(demo.experts, evidence=demo.evidence)
    recent = pd.Series({demo.experts["expert_id"].iat[0]: 2.0, demo.experts["expert_id"].iat[5]: 1.0})
    options = {**options, "recent_engagements": recent, "spread_weight": 0.05}
    result, plan = matcher.shortlist_and_assign(demo.requests, k=k, k_cases=3, **options)
    alone = matcher.shortlist(demo.requests, k=k, k_cases=3)
    alone_plan = matcher.assign(demo.requests, **options)
    for name in ("experts", "cases", "filters"):
        pd.testing.assert_frame_equal(getattr(result, name), getattr(alone, name))
    for name in ("assignment", "unstaffed", "bookings", "filters"):
        pd.testing.assert_frame_equal(getattr(plan, name), getattr(alone_plan, name))
    assert plan.result.objective == alone_plan.result.objective


def test_shortlist_and_assign_rejects_an_unknown_option(fake_matcher, demo):
    with pytest.raises(TypeError, match="unknown assign option.*top_k.*valid: top_m"):
        fake_matcher.shortlist_and_assign(demo.requests, top_k=3)


def test_report_and_demo_score_the_roster_once(tmp_path, monkeypatch):
    calls: list[int] = []
    real_score = gm.Matcher._score

    def counting(self, inputs, k):
        calls.append(k)
        return real_score(self, inputs, k)

    monkeypatch.setattr(gm.Matcher, "_score", counting)
    paths = gm.tables._catalog.demo_paths()
    common = ["--embedder", "hashing", "--cache", "none", "--quiet"]
    files = ["--requests", str(paths["requests"]), "--experts", str(paths["experts"])]
    assert main(["report", *files, *common, "--top", "5", "--top-m", "12", "--out", str(tmp_path / "r.html")]) == 0
    assert calls == [12]
    calls.clear()
    assert main(["demo", "--embedder", "hashing", "--quiet", "--out", str(tmp_path / "demo")]) == 0
    assert calls == [20]
