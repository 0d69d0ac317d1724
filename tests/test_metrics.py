"""Retrieval metrics: vectorized core vs plain loops, nDCG vs scikit-learn, hand examples, the table edge."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.metrics import ndcg_score

from gscp_match.errors import InputError
from gscp_match.metrics import (
    GAINS,
    average_precision,
    dcg_at_k,
    evaluate,
    hit_at_k,
    ndcg_at_k,
    ranked_relevance,
    recall_at_k,
    reciprocal_rank,
)

# ---------------------------------------------------------------------------------------------------------------
# Plain-loop references, one request at a time, straight from the textbook definitions.


def ref_hit(row, k, threshold):
    return 1.0 if any(g >= threshold for g in row[:k]) else 0.0


def ref_recall(row, n_rel, k, threshold):
    if n_rel == 0:
        return 0.0
    return sum(1 for g in row[:k] if g >= threshold) / n_rel


def ref_rr(row, threshold):
    for i, g in enumerate(row):
        if g >= threshold:
            return 1.0 / (i + 1)
    return 0.0


def ref_ap(row, n_rel, threshold):
    if n_rel == 0:
        return 0.0
    hits, total = 0, 0.0
    for i, g in enumerate(row):
        if g >= threshold:
            hits += 1
            total += hits / (i + 1)
    return total / n_rel


def ref_dcg(row, k, gain):
    out = 0.0
    for i, g in enumerate(row[:k]):
        value = g if gain == "linear" else 2.0**g - 1.0
        out += value / math.log2(i + 2)
    return out


def ref_ndcg(row, judged, k, gain):
    ideal = ref_dcg(sorted(judged, reverse=True), k, gain)
    return ref_dcg(row, k, gain) / ideal if ideal > 0 else 0.0


# ---------------------------------------------------------------------------------------------------------------
# Random problems: the ranked grades are a prefix of a permutation of the judged grades (plus unjudged zeros), so
# n_relevant and the ideal are consistent with the ranking, as they are at the table edge.


@st.composite
def problems(draw):
    n = draw(st.integers(0, 7))
    m = draw(st.integers(1, 9))  # items per request
    grades = draw(hnp.arrays(np.int64, (n, m), elements=st.integers(0, 3)))
    width = draw(st.integers(1, m))  # ranking length (a shortlist may be shorter than the catalog)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    order = np.argsort(rng.random((n, m)), axis=1)
    ranked = np.take_along_axis(grades, order, axis=1)[:, :width].astype(np.float64)
    k = draw(st.integers(1, m + 2))  # also beyond the ranking
    threshold = draw(st.sampled_from([1, 2, 3]))
    return ranked, grades.astype(np.float64), k, threshold


SETTINGS = settings(max_examples=150, deadline=None)


@SETTINGS
@given(problems())
def test_hit_recall_match_loops(problem):
    ranked, judged, k, threshold = problem
    n_rel = (judged >= threshold).sum(axis=1)
    np.testing.assert_array_equal(
        hit_at_k(ranked, k=k, threshold=threshold), [ref_hit(r, k, threshold) for r in ranked]
    )
    np.testing.assert_allclose(
        recall_at_k(ranked, n_rel, k=k, threshold=threshold),
        [ref_recall(r, c, k, threshold) for r, c in zip(ranked, n_rel, strict=True)],
    )


@SETTINGS
@given(problems())
def test_rr_ap_match_loops(problem):
    ranked, judged, _, threshold = problem
    n_rel = (judged >= threshold).sum(axis=1)
    np.testing.assert_allclose(reciprocal_rank(ranked, threshold=threshold), [ref_rr(r, threshold) for r in ranked])
    np.testing.assert_allclose(
        average_precision(ranked, n_rel, threshold=threshold),
        [ref_ap(r, c, threshold) for r, c in zip(ranked, n_rel, strict=True)],
    )


@SETTINGS
@given(problems(), st.sampled_from(GAINS))
def test_dcg_ndcg_match_loops(problem, gain):
    ranked, judged, k, _ = problem
    np.testing.assert_allclose(dcg_at_k(ranked, k=k, gain=gain), [ref_dcg(r, k, gain) for r in ranked])
    result = ndcg_at_k(ranked, judged, k=k, gain=gain)
    np.testing.assert_allclose(result, [ref_ndcg(r, j, k, gain) for r, j in zip(ranked, judged, strict=True)])
    assert np.all((result >= 0) & (result <= 1 + 1e-12))


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 6),
    st.integers(2, 12),
    st.integers(1, 14),
    st.integers(0, 2**32 - 1),
)
def test_ndcg_matches_sklearn(n, m, k, seed):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 4, size=(n, m)).astype(np.float64)
    scores = rng.permutation(n * m).reshape(n, m).astype(np.float64)  # distinct: sklearn averages ties
    ranked = np.take_along_axis(y_true, np.argsort(-scores, axis=1), axis=1)
    ours = ndcg_at_k(ranked, y_true, k=k)
    theirs = np.array([ndcg_score(y_true[i : i + 1], scores[i : i + 1], k=k) for i in range(n)])
    np.testing.assert_allclose(ours, theirs, atol=1e-12)
    np.testing.assert_allclose(ours.mean(), ndcg_score(y_true, scores, k=k), atol=1e-12)


# ---------------------------------------------------------------------------------------------------------------
# Hand examples.


def test_reciprocal_rank_by_hand():
    ranked = np.array([[0, 0, 2, 3], [1, 0, 0, 0], [0, 0, 0, 0], [0, 1, 0, 0]])
    np.testing.assert_allclose(reciprocal_rank(ranked), [1 / 3, 1.0, 0.0, 0.5])
    np.testing.assert_allclose(reciprocal_rank(ranked, threshold=3), [1 / 4, 0.0, 0.0, 0.0])


def test_average_precision_by_hand():
    # Relevant at ranks 1, 3, 6 of 3 relevant: (1/1 + 2/3 + 3/6) / 3.
    ranked = np.array([[1, 0, 2, 0, 0, 3]])
    np.testing.assert_allclose(average_precision(ranked, [3]), [(1 + 2 / 3 + 0.5) / 3])
    # Two of four relevant never ranked: they count as misses.
    np.testing.assert_allclose(average_precision(np.array([[0, 1, 1]]), [4]), [(1 / 2 + 2 / 3) / 4])
    # Threshold 2: only the grade-2 and grade-3 items count, at ranks 3 and 6.
    np.testing.assert_allclose(average_precision(ranked, [2], threshold=2), [(1 / 3 + 2 / 6) / 2])


def test_ndcg_by_hand_and_gains():
    ranked = np.array([[1.0, 3.0]])
    ideal = np.array([[3.0, 1.0, 0.0]])
    linear = (1 + 3 / math.log2(3)) / (3 + 1 / math.log2(3))
    exponential = (1 + 7 / math.log2(3)) / (7 + 1 / math.log2(3))
    np.testing.assert_allclose(ndcg_at_k(ranked, ideal, k=2), [linear])
    np.testing.assert_allclose(ndcg_at_k(ranked, ideal, k=2, gain="exponential"), [exponential])
    np.testing.assert_allclose(ndcg_at_k(ranked, ideal, k=1), [1 / 3])
    np.testing.assert_allclose(ndcg_at_k(np.zeros((1, 2)), np.zeros((1, 2)), k=2), [0.0])


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="k must be"):
        hit_at_k(np.zeros((1, 2)), k=0)
    with pytest.raises(ValueError, match="linear, exponential"):
        dcg_at_k(np.zeros((1, 2)), k=1, gain="log")
    with pytest.raises(InputError, match="2-D"):
        reciprocal_rank(np.zeros(3))
    with pytest.raises(InputError, match=">= 0"):
        reciprocal_rank(np.array([[1.0, -1.0]]))
    with pytest.raises(InputError, match="smaller"):
        recall_at_k(np.array([[1, 1]]), [1], k=2)
    with pytest.raises(InputError, match="shape"):
        average_precision(np.array([[1, 1]]), [2, 2])


def test_empty_batch():
    empty = np.zeros((0, 3))
    assert hit_at_k(empty, k=2).shape == (0,)
    assert ndcg_at_k(empty, np.zeros((0, 1)), k=2).shape == (0,)
    assert average_precision(empty, np.zeros(0)).shape == (0,)


# ---------------------------------------------------------------------------------------------------------------
# The table edge.

JUDGMENTS = pd.DataFrame(
    {
        "request_id": ["r1", "r1", "r1", "r2", "r3"],
        "expert_id": ["a", "b", "c", "a", "z"],
        "relevance": [3, 1, 0, 2, 1],
    }
)


def test_ranked_relevance_by_rank_and_by_score():
    by_rank = pd.DataFrame(
        {"request_id": ["r1", "r1", "r1", "r2"], "expert_id": ["x", "b", "a", "a"], "rank": [1, 3, 2, 1]}
    )
    ids, ranked, ideal = ranked_relevance(by_rank, JUDGMENTS)
    assert ids.tolist() == ["r1", "r2"]
    np.testing.assert_array_equal(ranked, [[0, 3, 1], [2, 0, 0]])
    np.testing.assert_array_equal(ideal, [[3, 1, 0], [2, 0, 0]])
    # Without rank: by score, higher first, ties by id.
    by_score = by_rank.drop(columns="rank").assign(score=[0.9, 0.5, 0.5, 0.1])
    _, ranked_score, _ = ranked_relevance(by_score, JUDGMENTS)
    np.testing.assert_array_equal(ranked_score, [[0, 3, 1], [2, 0, 0]])


def test_evaluate_excludes_unjudged_and_scores_empty_shortlists():
    rankings = pd.DataFrame(
        {
            "request_id": ["r1", "r1", "r2", "r9"],
            "expert_id": ["b", "a", "q", "a"],
            "rank": [1, 2, 1, 1],
        }
    )
    result = evaluate(rankings, JUDGMENTS, k=(1, 2), requests=["r1", "r2", "r3", "r9"])
    assert result.excluded == ("r9",)
    table = result.per_request.set_index("request_id")
    assert table.index.tolist() == ["r1", "r2", "r3"]  # r3 was asked but came back empty: it scores 0
    assert table.loc["r1", "hit@1"] == 1.0 and table.loc["r1", "recall@1"] == 0.5
    assert table.loc["r1", "ndcg@2"] == pytest.approx((1 + 3 / math.log2(3)) / (3 + 1 / math.log2(3)))
    assert table.loc["r2", "rr"] == 0.0 and table.loc["r3", "ap"] == 0.0
    summary = result.summary()
    assert summary["mrr"] == pytest.approx((1 + 0 + 0) / 3)
    assert summary["map"] == pytest.approx(((1 + 1) / 2) / 3)
    assert summary["n_requests"] == 3 and summary["n_excluded"] == 1


def test_evaluate_threshold_excludes_requests_without_high_grades():
    rankings = pd.DataFrame({"request_id": ["r1", "r2"], "expert_id": ["a", "a"], "rank": [1, 1]})
    result = evaluate(rankings, JUDGMENTS, k=(1,), threshold=3)
    assert result.excluded == ("r2",)
    assert result.per_request["ndcg@1"].tolist() == [1.0]


def test_evaluate_agrees_with_core_on_random_tables():
    rng = np.random.default_rng(7)
    experts = [f"e{i}" for i in range(12)]
    rows, qrels = [], []
    for r in range(9):
        shown = rng.permutation(experts)[: rng.integers(1, 12)]
        rows += [(f"r{r}", e, i + 1) for i, e in enumerate(shown)]
        judged = rng.permutation(experts)[: rng.integers(1, 6)]
        qrels += [(f"r{r}", e, int(rng.integers(1, 4))) for e in judged]
    rankings = pd.DataFrame(rows, columns=["request_id", "expert_id", "rank"])
    judgments = pd.DataFrame(qrels, columns=["request_id", "expert_id", "relevance"])
    per_request = evaluate(rankings, judgments, k=(3,)).per_request.set_index("request_id")
    grade = {(r, e): g for r, e, g in qrels}
    for request, group in rankings.groupby("request_id"):
        row = [grade.get((request, e), 0) for e in group.sort_values("rank")["expert_id"]]
        judged = [g for (r, _), g in grade.items() if r == request]
        assert per_request.loc[request, "ndcg@3"] == pytest.approx(ref_ndcg(row, judged, 3, "linear"))
        assert per_request.loc[request, "ap"] == pytest.approx(ref_ap(row, len(judged), 1))


def test_evaluate_bad_tables_raise():
    rankings = pd.DataFrame({"request_id": ["r1", "r1"], "expert_id": ["a", "a"], "rank": [1, 2]})
    with pytest.raises(InputError, match="more than once"):
        evaluate(rankings, JUDGMENTS)
    with pytest.raises(InputError, match="missing column"):
        evaluate(rankings.drop(columns="rank"), JUDGMENTS)
    with pytest.raises(InputError, match="relevance"):
        evaluate(rankings.iloc[:1], JUDGMENTS.assign(relevance=-1))
    with pytest.raises(ValueError, match="valid: linear"):
        evaluate(rankings.iloc[:1], JUDGMENTS, gain="exp")


# ---------------------------------------------------------------------------------------------------------------
# Files.


def test_read_rankings_and_judgments_from_files(tmp_path):
    from gscp_match.metrics import read_judgments, read_rankings

    runs = tmp_path / "expert_shortlist.csv"
    runs.write_text("request_id,rank,expert_id,name\nr1,2,a,A\nr1,10,x,X\nr1,1,b,B\nr2,1,a,A\n", encoding="utf-8")
    qrels = tmp_path / "judgments.csv"
    qrels.write_text("request_id,expert_id,relevance\nr1,b,1\nr1,a,3\nr2,a,2\n", encoding="utf-8")
    rankings = read_rankings(runs)
    assert rankings["rank"].dtype == np.int64  # "10" sorts after "2"
    result = evaluate(rankings, read_judgments(qrels), k=(2,))
    table = result.per_request.set_index("request_id")
    assert table.loc["r1", "rr"] == 1.0 and table.loc["r1", "hit@2"] == 1.0
    assert table.loc["r1", "ndcg@2"] == pytest.approx((1 + 3 / math.log2(3)) / (3 + 1 / math.log2(3)))
    scored = tmp_path / "scores.csv"
    scored.write_text("request_id,case_id,score\nr1,c1,0.2\nr1,c2,0.9\n", encoding="utf-8")
    assert read_rankings(scored, item="case_id")["score"].tolist() == [0.2, 0.9]


def test_bad_ranking_and_judgment_files_name_row_and_column(tmp_path):
    from gscp_match.metrics import read_judgments, read_rankings

    runs = tmp_path / "runs.csv"
    runs.write_text("request_id,expert_id,rank\nr1,a,1\nr1,b,first\nr1,a,3\n,c,0\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_rankings(runs)
    assert info.value.lines == [
        "runs.csv row 3, column 'rank': 'first' is not a whole number >= 1",
        "runs.csv row 4, column 'expert_id': (request_id 'r1', expert_id 'a') appears twice (first at row 2)",
        "runs.csv row 5, column 'request_id': required value is empty",
        "runs.csv row 5, column 'rank': '0' is not a whole number >= 1",
    ]
    qrels = tmp_path / "qrels.csv"
    qrels.write_text("request_id,expert_id,relevance\nr1,a,-1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"qrels.csv row 2, column 'relevance': '-1' is not a number >= 0"):
        read_judgments(qrels)
    missing = tmp_path / "missing.csv"
    missing.write_text("request_id,expert_id\nr1,a\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"missing.csv column 'relevance': required column is missing"):
        read_judgments(missing)
