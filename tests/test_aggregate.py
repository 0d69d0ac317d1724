"""aggregate.py: vectorised owner aggregation against plain loops."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gscp_match.core._aggregate import AGGREGATION_METHODS, DEFAULT_TOPK_WEIGHTS, aggregate, owner_offsets
from gscp_match.errors import InputError


def offsets_loop(owner: list[int], n_owners: int) -> list[int]:
    offsets = [0]
    for j in range(n_owners):
        offsets.append(offsets[-1] + sum(1 for o in owner if o == j))
    return offsets


def aggregate_loop(scores: np.ndarray, offsets: np.ndarray, method: str, weights) -> tuple[np.ndarray, np.ndarray]:
    n_q = scores.shape[0]
    n_owners = len(offsets) - 1
    values = np.zeros((n_q, n_owners))
    best = np.full((n_q, n_owners), -1)
    for q in range(n_q):
        for j in range(n_owners):
            docs = list(range(offsets[j], offsets[j + 1]))
            if not docs:
                continue
            s = [float(scores[q, d]) for d in docs]
            top = max(s)
            best[q, j] = docs[s.index(top)]
            if method == "max":
                values[q, j] = top
            elif method == "mean":
                values[q, j] = sum(s) / len(s)
            else:
                ranked = sorted(s, reverse=True)[: len(weights)]
                used = weights[: len(ranked)]
                values[q, j] = sum(w * x for w, x in zip(used, ranked, strict=True)) / sum(used)
    return values, best


@st.composite
def problems(draw):
    counts = draw(st.lists(st.integers(0, 5), min_size=0, max_size=9))
    n_docs = sum(counts)
    n_q = draw(st.integers(0, 4))
    # Few distinct values, so ties are common.
    pool = draw(st.lists(st.floats(-1, 1, width=32), min_size=1, max_size=4))
    flat = draw(st.lists(st.sampled_from(pool), min_size=n_q * n_docs, max_size=n_q * n_docs))
    scores = np.array(flat, dtype=np.float32).reshape(n_q, n_docs)
    owner = np.repeat(np.arange(len(counts)), counts)
    return scores, owner, len(counts)


@settings(max_examples=300, deadline=None)
@given(
    problems(),
    st.sampled_from(AGGREGATION_METHODS),
    st.sampled_from([DEFAULT_TOPK_WEIGHTS, (1.0,), (2.0, 1.0)]),
)
def test_aggregate_matches_loop(problem, method, weights):
    scores, owner, n_owners = problem
    offsets = owner_offsets(owner, n_owners)
    assert offsets.tolist() == offsets_loop(owner.tolist(), n_owners)
    values, best = aggregate(scores, offsets, method=method, topk_weights=weights)
    ref_values, ref_best = aggregate_loop(scores, offsets, method, list(weights))
    assert values.dtype == np.float32 and best.dtype == np.int64
    assert values.shape == best.shape == (scores.shape[0], n_owners)
    np.testing.assert_allclose(values, ref_values, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(best, ref_best)


def test_one_doc_per_owner_fast_path():
    scores = np.array([[0.1, 0.7, 0.3], [0.5, 0.2, 0.9]], dtype=np.float32)
    for method in AGGREGATION_METHODS:
        values, best = aggregate(scores, np.arange(4), method=method)
        np.testing.assert_array_equal(values, scores)
        np.testing.assert_array_equal(best, [[0, 1, 2], [0, 1, 2]])


def test_topk_rule_single_strong_document_keeps_its_score():
    # owner 0: one document 0.8; owner 1: 0.8, 0.2, 0.2.
    scores = np.array([[0.8, 0.8, 0.2, 0.2]], dtype=np.float32)
    values, _ = aggregate(scores, owner_offsets(np.array([0, 1, 1, 1]), 2), method="topk")
    assert values[0, 0] == pytest.approx(0.8)
    assert values[0, 1] == pytest.approx((0.8 + 0.5 * 0.2 + 0.2 / 3) / (1 + 0.5 + 1 / 3))


def test_empty_owners_get_zero_and_minus_one():
    scores = np.full((2, 2), -0.5, dtype=np.float32)
    values, best = aggregate(scores, owner_offsets(np.array([1, 1]), 3), method="max")
    np.testing.assert_array_equal(values, [[0, -0.5, 0], [0, -0.5, 0]])
    np.testing.assert_array_equal(best, [[-1, 0, -1], [-1, 0, -1]])


def test_unknown_method_lists_valid_ones():
    with pytest.raises(ValueError, match="max, mean, topk"):
        aggregate(np.zeros((1, 1), np.float32), np.array([0, 1]), method="median")


@pytest.mark.parametrize(
    ("owner", "n_owners"),
    [(np.array([1, 0]), 2), (np.array([0, 2]), 2), (np.array([-1, 0]), 2), (np.array([0.5]), 1)],
)
def test_owner_offsets_rejects_bad_owner(owner, n_owners):
    with pytest.raises(InputError):
        owner_offsets(owner, n_owners)


def test_aggregate_rejects_bad_input():
    with pytest.raises(InputError, match="finite"):
        aggregate(np.array([[np.nan]], np.float32), np.array([0, 1]))
    with pytest.raises(InputError, match="offsets"):
        aggregate(np.zeros((1, 3), np.float32), np.array([0, 2]))
    with pytest.raises(InputError, match="topk_weights"):
        aggregate(np.zeros((1, 2), np.float32), np.array([0, 2]), method="topk", topk_weights=(0.5, 1.0))
