"""Learning weights from past selections, and judging configurations by round."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gscp_match.core import _scoring as scoring
from gscp_match.core._scoring import COMPONENTS, FILTERS, Weights
from gscp_match.errors import InputError
from gscp_match.evaluate._learn import (
    CandidatePairs,
    candidate_pairs,
    comparison_pairs,
    evaluate_rounds,
    fit_weights,
    learn_weights,
    pair_features,
    rank_experts,
    save_weights,
    subset_inputs,
    weight_agreement,
)
from gscp_match.evaluate._metrics import evaluate
from gscp_match.evaluate._simulate import simulate_history
from gscp_match.match._matcher import Matcher
from gscp_match.tables._arrays import expert_positions
from gscp_match.tables._history import history_judgments
from gscp_match.tables._weights import read_weights

# ---------------------------------------------------------------------------------------------------------------
# comparison_pairs against a loop.


def ref_comparisons(groups, labels):
    out = []
    for g in sorted(set(groups.tolist())):
        rows = [i for i in range(groups.size) if groups[i] == g]
        for i in rows:
            for j in rows:
                if labels[i] > labels[j]:
                    out.append((i, j))
    return out


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_comparison_pairs_match_loop(data):
    n = data.draw(st.integers(0, 25))
    groups = data.draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, 4)))
    labels = data.draw(hnp.arrays(np.float64, (n,), elements=st.sampled_from([0.0, 1.0, 2.0, 3.0])))
    winner, loser = comparison_pairs(groups, labels)
    assert list(zip(winner.tolist(), loser.tolist(), strict=True)) == ref_comparisons(groups, labels)


# ---------------------------------------------------------------------------------------------------------------
# A small fitted round for the array functions.


@pytest.fixture(scope="module")
def small():
    sim = simulate_history(
        Weights(semantic=0.5, themes=0.3, geography=0.2), rounds=2, experts=70, requests_per_round=9, seed=5
    )
    matcher = Matcher("hashing", cache=None, show_progress=False).fit(sim.experts, evidence=sim.evidence)
    table, inputs = matcher.scoring_inputs(sim.requests)
    return sim, matcher, table, inputs


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_pair_features_match_pair_components_and_blocks(small, data):
    _, _, _, inputs = small
    n_requests, n_experts = inputs.shape
    n = data.draw(st.integers(0, 40))
    r = data.draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, n_requests - 1)))
    e = data.draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, n_experts - 1)))
    chunk = data.draw(st.sampled_from([1, 7, 16, 64, 1000]))  # sizes that do and do not divide 70
    features, removed = pair_features(inputs, r, e, chunk_size=chunk)
    assert features.shape == (n, len(COMPONENTS)) and removed.shape == (n, len(FILTERS))
    # Reference: the explanation path, one expert at a time, and the full block's masks, one pair at a time.
    components, _, _ = scoring.pair_components(inputs, r, e)
    for j, name in enumerate(COMPONENTS):
        np.testing.assert_allclose(features[:, j], components[name], rtol=1e-6, atol=1e-6)
    _, masks, _ = scoring.component_block(inputs, 0, n_experts)
    for p in range(n):
        for j, name in enumerate(FILTERS):
            assert removed[p, j] == masks[name][r[p], e[p]]


def test_pair_features_bad_rows(small):
    _, _, _, inputs = small
    with pytest.raises(ValueError, match="expert_rows"):
        pair_features(inputs, np.array([0]), np.array([10_000]))
    with pytest.raises(ValueError, match="one length"):
        pair_features(inputs, np.array([0, 1]), np.array([0]))


def test_rank_experts_is_the_shortlist_order(small):
    _, matcher, table, inputs = small
    ranking = rank_experts(inputs, matcher.weights, depth=5)
    shortlist = matcher.shortlist(table, k=5, k_cases=0).experts
    pd.testing.assert_frame_equal(
        ranking[["request_id", "rank", "expert_id"]].reset_index(drop=True),
        shortlist[["request_id", "rank", "expert_id"]].reset_index(drop=True),
        check_dtype=False,
    )


def test_subset_inputs_scores_like_the_full_inputs(small):
    _, matcher, _, inputs = small
    rows = np.array([5, 0, 3])
    part = rank_experts(subset_inputs(inputs, rows), matcher.weights, depth=4)
    full = rank_experts(inputs, matcher.weights, depth=4).set_index("request_id")
    for request_id, group in part.groupby("request_id", sort=False):
        assert group["expert_id"].tolist() == full.loc[request_id, "expert_id"].tolist()


def test_candidate_pairs_are_top_m_plus_labelled_and_report_masked(small, caplog):
    _, matcher, table, inputs = small
    first, second = inputs.requests.ids[0], inputs.requests.ids[1]
    _, masks, _ = scoring.component_block(inputs, 0, inputs.shape[1])
    removed = np.zeros(inputs.shape, dtype=bool)
    for m in masks.values():
        removed |= m
    blocked = inputs.experts.ids[np.flatnonzero(removed[0])[0]]  # a pair the filters remove
    top = rank_experts(inputs, matcher.weights, depth=4)
    outside = top[top["request_id"] == second]["expert_id"].iloc[-1]
    far = inputs.experts.ids[np.flatnonzero(~removed[1])[-1]]  # eligible, likely outside the top 3
    labels = pd.DataFrame(
        {
            "round": ["A", "A", "A"],
            "request_id": [first, second, second],
            "expert_id": [blocked, outside, far],
            "label": [1.0, 1.0, 0.0],
        }
    )
    with caplog.at_level(logging.WARNING, logger="gscp_match.evaluate._learn"):
        dropped = candidate_pairs(inputs, labels, weights=matcher.weights, candidates=3)
    assert "removed by the hard filters" in caplog.text
    assert dropped.masked[["request_id", "expert_id"]].values.tolist() == [[first, blocked]]
    assert dropped.masked["filters"].iloc[0] in {
        ", ".join(f for f in FILTERS if masks[f][0, expert_positions(inputs.experts.ids, [blocked])[0]])
    }
    kept = candidate_pairs(inputs, labels, weights=matcher.weights, candidates=3, masked_selected="keep")
    assert len(kept) == len(dropped) + 1
    got = set(zip(dropped.request_ids, dropped.expert_ids, strict=True))
    expected = {(r, e) for r, e in top[top["rank"] <= 3][["request_id", "expert_id"]].values if r in (first, second)}
    expected |= {(second, outside), (second, far)}
    assert got == expected
    labelled = dict(zip(zip(dropped.request_ids, dropped.expert_ids, strict=True), dropped.labels, strict=True))
    assert labelled[(second, outside)] == 1.0 and sum(labelled.values()) == 1.0
    with pytest.raises(ValueError, match="valid: drop, keep"):
        candidate_pairs(inputs, labels, weights=matcher.weights, masked_selected="ignore")


# ---------------------------------------------------------------------------------------------------------------
# fit_weights on known features.


def _choices(weights, n_requests=300, m=15, noise=0.05, seed=0, constant=()):
    """Candidate pairs whose selections follow ``weights`` plus Gumbel noise (one selected per request)."""
    rng = np.random.default_rng(seed)
    x = rng.random((n_requests, m, len(COMPONENTS)))
    for c in constant:
        x[:, :, COMPONENTS.index(c)] = 1.0
    score = x @ np.asarray(weights) + noise * rng.gumbel(size=(n_requests, m))
    labels = (score == score.max(axis=1, keepdims=True)).astype(np.float64)
    ids = np.repeat(np.array([f"q{i}" for i in range(n_requests)], dtype=object), m)
    return CandidatePairs(
        request_ids=ids,
        expert_ids=np.tile(np.array([f"e{j}" for j in range(m)], dtype=object), n_requests),
        rounds=np.where(np.arange(n_requests * m) < n_requests * m // 2, "A", "B").astype(object),
        features=x.reshape(-1, len(COMPONENTS)),
        labels=labels.ravel(),
        masked=pd.DataFrame(columns=["round", "request_id", "expert_id", "label", "filters"]),
    )


def test_fit_weights_recovers_direction_and_handles_constant_and_negative():
    truth = np.array([0.4, 0.2, 0.15, 0.1, 0.0, 0.1, 0.05, -0.1])  # cost hurts: must end at 0
    fit = fit_weights(_choices(truth, constant=("availability",)), reference=Weights.default())
    assert fit.unidentified == ("availability",)
    assert fit.zeroed == ("cost",)
    w = fit.weights
    assert w.availability == Weights.default().availability  # unidentified keep the reference weight
    assert w.cost == 0.0
    assert sum(w.as_dict().values()) == pytest.approx(sum(Weights.default().as_dict().values()))
    positive = ["semantic", "lexical", "themes", "geography", "korean"]
    expected = Weights.from_mapping(dict(zip(COMPONENTS, np.maximum(truth, 0), strict=True)))
    cosine, worst = weight_agreement(w, expected, components=positive)
    assert cosine >= 0.99 and worst <= 0.05


def test_fit_weights_needs_comparisons():
    pairs = _choices(np.ones(len(COMPONENTS)), n_requests=1, m=2)
    with pytest.raises(InputError, match="nothing to learn"):
        fit_weights(pairs.subset(np.array([True, False])))


def test_weight_agreement():
    assert weight_agreement(Weights(semantic=1.0), Weights(semantic=2.0)) == (1.0, 0.0)
    cosine, worst = weight_agreement(Weights(semantic=1.0), Weights(lexical=1.0))
    assert cosine == 0.0 and worst == 1.0
    with pytest.raises(ValueError, match="components"):
        weight_agreement(Weights(semantic=1.0), Weights(semantic=1.0), components=["speed"])


# ---------------------------------------------------------------------------------------------------------------
# Recovery of a hidden weighting from simulated history, leave-one-round-out.

HIDDEN = Weights(semantic=0.3, lexical=0.2, themes=0.15, geography=0.15, language=0.05, korean=0.1, cost=0.05)
#: The recovery criterion: cosine and the largest difference of the weights normalized over identified components.
MIN_COSINE, MAX_DIFF = 0.95, 0.05


def recovered(learned: Weights, truth: Weights, components) -> bool:
    cosine, worst = weight_agreement(learned, truth, components=components)
    return cosine >= MIN_COSINE and worst <= MAX_DIFF


@pytest.fixture(scope="module")
def learned_from_history():
    sim = simulate_history(HIDDEN, rounds=4, experts=200, requests_per_round=40, noise=0.01, korean_share=0.5, seed=0)
    matcher = Matcher("hashing", cache=None, show_progress=False)
    learning = learn_weights(matcher, sim.requests, sim.history, experts=sim.experts, evidence=sim.evidence)
    return sim, matcher, learning


def test_learned_weights_recover_the_hidden_weighting(learned_from_history):
    _, _, learning = learned_from_history
    fit = learning.learned
    # availability is 1 for every pair the filters keep, so no selection can reveal its weight.
    assert fit.unidentified == ("availability",)
    identified = [c for c in COMPONENTS if c not in fit.unidentified]
    assert recovered(fit.weights, HIDDEN, identified)
    # The criterion can fail: a wrong weighting, or the hand-set defaults, does not pass it.
    wrong = Weights(semantic=0.2, lexical=0.3, themes=0.15, geography=0.15, language=0.05, korean=0.1, cost=0.05)
    assert not recovered(fit.weights, wrong, identified)
    assert not recovered(Weights.default(), HIDDEN, identified)


def test_leave_one_round_out_reports_every_round(learned_from_history):
    sim, _, learning = learned_from_history
    per_round = learning.per_round()
    assert per_round["round"].tolist() == ["H1", "H2", "H3", "H4"]
    assert (per_round["n_requests"] == 40).all()
    # Each fold learned without its round: fewer training requests than the full fit, and its own weights.
    assert (learning.folds["n_requests"] < learning.learned.n_requests).all()
    assert learning.folds[list(COMPONENTS)].drop_duplicates().shape[0] == 4
    # Held-out figures are real rankings scored against the round's selections.
    assert per_round["ndcg@5 learned"].between(0, 1).all()
    assert learning.beats_reference  # the defaults are far from the hidden weighting
    summary = learning.summary()
    assert summary.set_index("metric").loc["ndcg@5", "rounds W/T/L"] == "4/0/0"


def test_save_weights_round_trip(learned_from_history, tmp_path):
    _, _, learning = learned_from_history
    path = save_weights(learning, tmp_path / "learned.json", data={"history": "simulated"})
    assert read_weights(path) == Weights.from_mapping(
        {c: round(v, 6) for c, v in learning.learned.weights.as_dict().items()}
    )
    record = json.loads(path.read_text())
    assert record["learned"]["beats_reference"] is True
    assert record["learned"]["held_out_rounds"] == 4
    assert record["learned"]["data"] == {"history": "simulated"}


def test_learn_weights_options_are_checked(learned_from_history):
    sim, matcher, _ = learned_from_history
    with pytest.raises(ValueError, match="valid: selected, grade"):
        learn_weights(matcher, sim.requests, sim.history, label="rating")
    with pytest.raises(ValueError, match="unknown metric"):
        learn_weights(matcher, sim.requests, sim.history, metric="ndcg@7")


# ---------------------------------------------------------------------------------------------------------------
# Evaluating a configuration by round.


def test_evaluate_rounds_matches_metrics_per_round(small):
    sim, matcher, table, inputs = small
    result = evaluate_rounds(matcher, sim.requests, sim.history, k=(1, 5))
    per_round = result.per_round(("hit@1", "ndcg@5", "mrr"))
    assert per_round["round"].tolist() == ["H1", "H2"]
    # By hand for round H2: rank its requests, score against its selections.
    rows = np.flatnonzero(table["round"].to_numpy() == "H2")
    ranking = rank_experts(subset_inputs(inputs, rows), matcher.weights, depth=100)
    judged = history_judgments(sim.history)
    by_hand = evaluate(ranking, judged[["request_id", "expert_id", "relevance"]], k=(1, 5)).summary()
    got = per_round.set_index("round").loc["H2"]
    assert got["ndcg@5"] == pytest.approx(by_hand["ndcg@5"])
    assert got["mrr"] == pytest.approx(by_hand["mrr"])
    assert result.summary()["n_rounds"] == 2


def test_evaluate_rounds_reports_masked_selections(small):
    sim, _, _, _ = small
    history = sim.history
    first = history[history["selected"] == "1"].iloc[0]
    requests = sim.requests.copy()
    requests.loc[requests["request_id"] == first["request_id"], "exclude_experts"] = first["expert_id"]
    matcher = Matcher("hashing", cache=None, show_progress=False)
    result = evaluate_rounds(matcher, requests, history, experts=sim.experts, evidence=sim.evidence)
    assert result.masked[["request_id", "expert_id", "filters"]].values.tolist() == [
        [first["request_id"], first["expert_id"], "conflict"]
    ]
    assert result.per_round().set_index("round").loc[first["round"], "n_masked_selected"] == 1
    learning = learn_weights(matcher, requests, history, candidates=10)
    assert learning.masked["expert_id"].tolist() == [first["expert_id"]]


def test_evaluate_rounds_needs_a_fitted_matcher_or_experts(small):
    sim, _, _, _ = small
    with pytest.raises(ValueError, match="fitted Matcher"):
        evaluate_rounds(Matcher("hashing", cache=None), sim.requests, sim.history)
