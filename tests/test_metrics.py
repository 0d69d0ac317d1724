"""Retrieval metrics: vectorized core vs plain loops, nDCG vs scikit-learn, the pairwise loss vs its pair-by-pair
definition, hand examples, the table edge, files and ``gscp-match evaluate``."""

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
from gscp_match.evaluate._metrics import (
    GAINS,
    average_precision,
    dcg_at_k,
    evaluate,
    evaluate_pairwise,
    hit_at_k,
    ndcg_at_k,
    pairwise_loss,
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


def ref_pairwise(scores, relevance):
    """The benchmark's loss pair by pair: per expert (column), every pair of judged requests with different grades
    weighs the grade difference and is wrong when the better-graded one scores lower, half wrong on a tie."""
    losses = []
    for e in range(relevance.shape[1]):
        judged = [i for i in range(relevance.shape[0]) if not math.isnan(relevance[i, e])]
        wrong = total = 0.0
        for a in judged:
            for b in judged:
                if relevance[a, e] <= relevance[b, e]:
                    continue  # each unordered pair once, better-graded first; equal grades do not count
                weight = relevance[a, e] - relevance[b, e]
                total += weight
                if scores[a, e] < scores[b, e]:
                    wrong += weight
                elif scores[a, e] == scores[b, e]:
                    wrong += weight / 2
        losses.append(wrong / total if total > 0 else math.nan)
    return np.array(losses)


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


@st.composite
def pairwise_problems(draw, values=None):
    """Grades with NaN (not judged) and ties; scores from a small set (ties) with -inf (not scored) or ``values``,
    NaN where not judged."""
    n = draw(st.integers(0, 8))
    m = draw(st.integers(0, 5))
    relevance = draw(hnp.arrays(np.float64, (n, m), elements=st.sampled_from([np.nan, 0.0, 1.0, 2.0, 3.0, 4.5])))
    elements = st.one_of(st.sampled_from([-np.inf, 0.0, 0.5, 1.0]), st.floats(-2, 2) if values is None else values)
    scores = draw(hnp.arrays(np.float64, (n, m), elements=elements))
    return np.where(np.isnan(relevance) & (scores > 0.9), np.nan, scores), relevance


#: Multiples of 1/8: exact in binary, so rescaling keeps every order and tie (1e-65 + 1 == 1 would not).
EIGHTHS = st.integers(-16, 16).map(lambda v: v / 8)


@settings(max_examples=300, deadline=None)
@given(pairwise_problems())
def test_pairwise_loss_matches_pair_by_pair_definition(problem):
    scores, relevance = problem
    got = pairwise_loss(scores, relevance)
    assert got.shape == (relevance.shape[1],)
    np.testing.assert_allclose(got, ref_pairwise(scores, relevance), rtol=0, atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(pairwise_problems(EIGHTHS), st.sampled_from([0.5, 2.0, 3.0, 10.0]), st.integers(-5, 5))
def test_pairwise_loss_ignores_monotone_rescaling_of_scores(problem, scale, shift):
    scores, relevance = problem
    np.testing.assert_allclose(
        pairwise_loss(scores * scale + shift, relevance), pairwise_loss(scores, relevance), rtol=0, atol=1e-12
    )


def test_pairwise_loss_by_hand():
    grades = np.array([[3.0], [2.0], [0.0]])
    assert pairwise_loss([[0.9], [0.5], [0.1]], grades).tolist() == [0.0]  # every pair in order
    assert pairwise_loss([[0.1], [0.5], [0.9]], grades).tolist() == [1.0]  # every pair reversed
    assert pairwise_loss([[0.4], [0.4], [0.4]], grades).tolist() == [0.5]  # a constant score
    # Weights are grade differences: only (2, 0) is reversed, weight 2 of (1 + 3 + 2).
    assert pairwise_loss([[0.9], [0.1], [0.5]], grades).tolist() == [pytest.approx(2 / 6)]
    # Equal grades are not a pair; an unscored (-inf) request ties with the other unscored one only.
    assert pairwise_loss([[0.2], [0.9], [-np.inf], [-np.inf]], [[1.0], [1.0], [0.0], [3.0]]).tolist() == [
        pytest.approx((2 + 2 + 0.5 * 3) / (2 + 2 + 3 + 1 + 1))
    ]
    assert np.isnan(pairwise_loss([[0.1], [0.2]], [[2.0], [2.0]])).all()  # no pair to order
    assert np.isnan(pairwise_loss([[0.1], [np.nan]], [[2.0], [np.nan]])).all()


def test_pairwise_loss_bad_inputs_raise():
    with pytest.raises(InputError, match="one shape"):
        pairwise_loss([[0.1, 0.2]], [[1.0]])
    with pytest.raises(InputError, match="grades >= 0"):
        pairwise_loss([[0.1], [0.2]], [[-1.0], [1.0]])
    with pytest.raises(InputError, match="wherever relevance is judged"):
        pairwise_loss([[np.nan], [0.2]], [[1.0], [2.0]])


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


def test_evaluate_pairwise_from_tables():
    scores = pd.DataFrame(
        {
            "request_id": ["r1", "r2", "r3", "r1", "r2", "r1", "r9"],
            "expert_id": ["a", "a", "a", "b", "b", "c", "a"],
            "score": [0.9, 0.2, 0.5, 0.3, 0.3, 0.8, 5.0],
            "rank": [1, 2, 1, 2, 1, 1, 1],  # other columns are ignored
        }
    )
    judgments = pd.DataFrame(
        {
            "request_id": ["r1", "r2", "r3", "r4", "r1", "r2", "r1", "r2"],
            "expert_id": ["a", "a", "a", "a", "b", "b", "c", "c"],
            "relevance": [3, 1, 0, 2, 2, 0, 1, 1],
        }
    )
    result = evaluate_pairwise(scores, judgments)
    table = result.per_item.set_index("expert_id")
    assert table.index.tolist() == ["a", "b"] and result.excluded == ("c",)  # c: equal grades only
    # a: r4 (grade 2) is judged but not scored, so it ranks below r2 (1) and r3 (0); r9 is scored but not judged.
    # Pairs (better first, weight): r1>r2 2, r1>r3 3, r1>r4 1, r4>r2 1, r4>r3 2, r2>r3 1; wrong: r4<r2, r4<r3, r2<r3.
    assert table.loc["a", "loss"] == pytest.approx((1 + 2 + 1) / 10)
    assert table.loc["a", "n_judged"] == 4 and table.loc["a", "n_unscored"] == 1
    assert table.loc["b", "loss"] == 0.5  # a tie
    summary = result.summary()
    assert summary["pairwise_loss"] == pytest.approx((0.4 + 0.5) / 2)  # experts weigh equally
    assert summary["n_items"] == 2 and summary["n_excluded"] == 1
    # Cases work the same way.
    cases = evaluate_pairwise(
        scores.rename(columns={"expert_id": "case_id"}), judgments.rename(columns={"expert_id": "case_id"}),
        item="case_id",
    )  # fmt: skip
    assert cases.per_item["loss"].tolist() == table["loss"].tolist()


def test_evaluate_pairwise_agrees_with_core_on_random_tables():
    rng = np.random.default_rng(11)
    rows, qrels = [], []
    for r in range(15):
        for e in range(6):
            if rng.random() < 0.8:
                rows.append((f"r{r:02d}", f"e{e}", float(rng.integers(0, 4)) / 4))
            if rng.random() < 0.6:
                qrels.append((f"r{r:02d}", f"e{e}", int(rng.integers(1, 6))))
    scores = pd.DataFrame(rows, columns=["request_id", "expert_id", "score"])
    judgments = pd.DataFrame(qrels, columns=["request_id", "expert_id", "relevance"])
    result = evaluate_pairwise(scores, judgments).per_item.set_index("expert_id")
    score_of = {(r, e): s for r, e, s in rows}
    for expert in result.index:
        mine = [(g, score_of.get((r, e), -math.inf)) for r, e, g in qrels if e == expert]
        expected = ref_pairwise(np.array([[s] for _, s in mine]), np.array([[float(g)] for g, _ in mine]))
        assert result.loc[expert, "loss"] == pytest.approx(expected[0])


def test_evaluate_pairwise_bad_tables_raise():
    scores = pd.DataFrame({"request_id": ["r1", "r1"], "expert_id": ["a", "a"], "score": [0.1, 0.2]})
    with pytest.raises(InputError, match="scores: a \\(request_id, expert_id\\) pair appears more than once"):
        evaluate_pairwise(scores, JUDGMENTS)
    with pytest.raises(InputError, match="missing column"):
        evaluate_pairwise(scores.drop(columns="score"), JUDGMENTS)
    with pytest.raises(InputError, match="'score' must hold numbers"):
        evaluate_pairwise(scores.iloc[:1].assign(score="high"), JUDGMENTS)
    with pytest.raises(InputError, match="relevance"):
        evaluate_pairwise(scores.iloc[:1], JUDGMENTS.assign(relevance=-1))


# ---------------------------------------------------------------------------------------------------------------
# Files.


def test_read_rankings_and_judgments_from_files(tmp_path):
    from gscp_match.evaluate._metrics import read_judgments, read_rankings

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
    assert "score" not in rankings.columns
    scored = tmp_path / "scores.csv"
    scored.write_text("request_id,case_id,score\nr1,c1,0.2\nr1,c2,0.9\n", encoding="utf-8")
    assert read_rankings(scored, item="case_id")["score"].tolist() == [0.2, 0.9]
    # A shortlist has rank and score: both are read (evaluate uses the rank, evaluate_pairwise the score).
    both = tmp_path / "both.csv"
    both.write_text("request_id,rank,expert_id,score\nr1,1,a,0.75\nr1,2,b,0.5\n", encoding="utf-8")
    table = read_rankings(both)
    assert table["rank"].tolist() == [1, 2] and table["score"].tolist() == [0.75, 0.5]
    bad = tmp_path / "bad_score.csv"
    bad.write_text("request_id,rank,expert_id,score\nr1,1,a,0.75\nr1,2,b,high\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad_score.csv row 3, column 'score': 'high' is not a number >= -inf"):
        read_rankings(bad)


def test_bad_ranking_and_judgment_files_name_row_and_column(tmp_path):
    from gscp_match.evaluate._metrics import read_judgments, read_rankings

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


# ---------------------------------------------------------------------------------------------------------------
# gscp-match evaluate.


def test_cli_evaluate_prints_and_writes_the_pairwise_loss(tmp_path, capsys):
    from gscp_match.cli import main

    shortlist = tmp_path / "expert_shortlist.csv"
    shortlist.write_text(
        "request_id,rank,expert_id,score\nr1,1,a,0.9\nr1,2,b,0.3\nr2,1,b,0.3\nr2,2,a,0.2\nr3,1,a,0.5\n",
        encoding="utf-8",
    )
    judgments = tmp_path / "judgments.csv"
    judgments.write_text(
        "request_id,expert_id,relevance\nr1,a,3\nr2,a,1\nr3,a,0\nr4,a,2\nr1,b,2\nr2,b,0\nr1,c,1\n",
        encoding="utf-8",
    )
    per_expert = tmp_path / "per_expert.csv"
    args = ["evaluate", "--rankings", str(shortlist), "--judgments", str(judgments), "--k", "1"]
    assert main([*args, "--pairwise-out", str(per_expert)]) == 0
    lines = dict(line.split("\t") for line in capsys.readouterr().out.splitlines() if "\t" in line)
    assert float(lines["pairwise_loss"]) == pytest.approx((0.4 + 0.5) / 2, abs=1e-4)
    assert lines["pairwise_n_items"] == "2" and lines["pairwise_n_excluded"] == "1"
    table = pd.read_csv(per_expert)
    assert table["expert_id"].tolist() == ["a", "b"] and table["n_unscored"].tolist() == [1, 0]
    # --requests restricts the judged pairs too: without r4, only a's pair r2 < r3 (weight 1 of 6) is wrong.
    requests = tmp_path / "requests.csv"
    requests.write_text("request_id,title,description\nr1,T,D\nr2,T,D\nr3,T,D\n", encoding="utf-8")
    assert main([*args, "--requests", str(requests)]) == 0
    lines = dict(line.split("\t") for line in capsys.readouterr().out.splitlines() if "\t" in line)
    assert float(lines["pairwise_loss"]) == pytest.approx((1 / 6 + 0.5) / 2, abs=1e-4)


def test_cli_evaluate_without_scores_skips_the_pairwise_loss(tmp_path, capsys):
    from gscp_match.cli import main

    ranks = tmp_path / "ranks.csv"
    ranks.write_text("request_id,expert_id,rank\nr1,a,1\nr2,a,1\n", encoding="utf-8")
    judgments = tmp_path / "judgments.csv"
    judgments.write_text("request_id,expert_id,relevance\nr1,a,3\nr2,a,1\n", encoding="utf-8")
    args = ["evaluate", "--rankings", str(ranks), "--judgments", str(judgments), "--k", "1"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "pairwise loss not computed: " in out and "has no 'score' column" in out
    assert "pairwise_loss\t" not in out
    assert main([*args, "--pairwise-out", str(tmp_path / "x.csv")]) == 2
    assert "--pairwise-out needs scores" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()
