"""The matcher end to end: demo round, explanations, filters, one request vs a round, CLI shortlist and demo."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import gscp_match as gm
from gscp_match.cli import main
from gscp_match.embed import HashingEmbedder
from gscp_match.scoring import COMPONENTS


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
    with pytest.raises(RuntimeError, match="fit"):
        gm.Matcher("hashing", cache=None).shortlist({"request_id": "Q", "title": "t", "description": "d"})


def test_unknown_aggregation_lists_valid_ones():
    with pytest.raises(ValueError, match="max"):
        gm.Matcher("hashing", aggregation="median")


def test_cli_shortlist_writes_files_and_reports_bad_input(tmp_path, capsys):
    paths = gm.catalog.demo_paths()
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
