"""Streaming top-k against a sort-based reference, with ties, -inf and block sizes that do not divide the input."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gscp_match.core._topk import TopK, candidates, topk_rows


def reference(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    n_rows, n_cols = scores.shape
    cols = np.full((n_rows, k), -1, dtype=np.int64)
    vals = np.full((n_rows, k), -np.inf, dtype=np.float32)
    for r in range(n_rows):
        ranked = sorted((c for c in range(n_cols) if np.isfinite(scores[r, c])), key=lambda c: (-scores[r, c], c))
        for j, c in enumerate(ranked[:k]):
            cols[r, j] = c
            vals[r, j] = scores[r, c]
    return cols, vals


@st.composite
def score_matrices(draw):
    n_rows = draw(st.integers(1, 6))
    n_cols = draw(st.integers(0, 60))
    # Few distinct values so that ties are common.
    values = draw(
        st.lists(
            st.sampled_from([-np.inf, 0.0, 0.25, 0.5, 0.5, 1.0, -0.3]),
            min_size=n_rows * n_cols,
            max_size=n_rows * n_cols,
        )
    )
    return np.array(values, dtype=np.float32).reshape(n_rows, n_cols)


@settings(max_examples=200, deadline=None)
@given(score_matrices(), st.integers(1, 8), st.integers(1, 17))
def test_streaming_topk_matches_reference(scores, k, block):
    acc = TopK(scores.shape[0], k)
    for start in range(0, scores.shape[1], block):
        acc.push(scores[:, start : start + block], start)
    cols, vals = acc.result()
    ref_cols, ref_vals = reference(scores, k)
    np.testing.assert_array_equal(cols, ref_cols)
    np.testing.assert_array_equal(vals, ref_vals)


@settings(max_examples=100, deadline=None)
@given(score_matrices(), st.integers(1, 8))
def test_whole_matrix_equals_reference(scores, k):
    cols, vals = topk_rows(scores, k)
    ref_cols, ref_vals = reference(scores, k)
    np.testing.assert_array_equal(cols, ref_cols)
    np.testing.assert_array_equal(vals, ref_vals)


def test_random_floats_large_block_uses_partition_path():
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((5, 3000)).astype(np.float32)
    scores[:, ::7] = -np.inf
    cols, _ = topk_rows(scores, 10)
    ref_cols, _ = reference(scores, 10)
    np.testing.assert_array_equal(cols, ref_cols)


def test_masked_entries_never_selected():
    scores = np.full((2, 5), -np.inf, dtype=np.float32)
    scores[0, 3] = 0.1
    cols, vals = topk_rows(scores, 3)
    assert cols.tolist() == [[3, -1, -1], [-1, -1, -1]]
    assert np.isneginf(vals[1]).all()


@settings(max_examples=150, deadline=None)
@given(score_matrices(), st.integers(1, 8), st.integers(1, 17), st.integers(2, 3))
def test_interleaved_accumulators_merge_to_the_reference(scores, k, block, n_streams):
    """Blocks dealt round-robin to several accumulators (as the scoring lanes do), then merged in any order."""
    accs = [TopK(scores.shape[0], k) for _ in range(n_streams)]
    for i, start in enumerate(range(0, scores.shape[1], block)):
        accs[i % n_streams].push(scores[:, start : start + block], start)
    merged = accs[-1]
    for other in accs[:-1]:
        merged.merge(np.repeat(np.arange(scores.shape[0]), k), other.columns.ravel(), other.values.ravel())
    cols, vals = merged.result()
    ref_cols, ref_vals = reference(scores, k)
    np.testing.assert_array_equal(cols, ref_cols)
    np.testing.assert_array_equal(vals, ref_vals)


@settings(max_examples=150, deadline=None)
@given(score_matrices(), st.integers(1, 8), st.integers(1, 17), st.data())
def test_keep_masks_dense_packed_and_row_max_agree_with_minus_inf(scores, k, block, data):
    keep = np.array(data.draw(st.lists(st.booleans(), min_size=scores.size, max_size=scores.size)), dtype=bool).reshape(
        scores.shape
    )
    expected = reference(np.where(keep, scores, np.float32(-np.inf)), k)
    for mode in ("dense", "packed"):
        acc = TopK(scores.shape[0], k)
        for start in range(0, scores.shape[1], block):
            part, part_keep = scores[:, start : start + block], keep[:, start : start + block]
            if mode == "dense":
                rows, cols, values = candidates(part, acc.threshold, k, keep=part_keep)
            else:
                row_max = np.max(part, axis=1, initial=-np.inf)
                packed = np.packbits(part_keep, axis=1)
                rows, cols, values = candidates(part, acc.threshold, k, packed_keep=packed, row_max=row_max)
            assert np.all(part_keep[rows, cols])
            acc.merge(rows, cols.astype(np.int64) + start, values)
        cols, vals = acc.result()
        np.testing.assert_array_equal(cols, expected[0])
        np.testing.assert_array_equal(vals, expected[1])


def test_negative_zero_ties_with_zero_by_column():
    acc = TopK(1, 2)
    acc.push(np.array([[-0.0]], dtype=np.float32), 0)
    acc.push(np.array([[0.0, 0.0]], dtype=np.float32), 1)
    assert acc.result()[0].tolist() == [[0, 1]]


@settings(max_examples=200, deadline=None)
@given(score_matrices(), st.integers(1, 8), st.integers(1, 17), st.sampled_from([1e-3, 0.1, 0.3]), st.data())
def test_candidates_with_slack_never_miss_the_top_k_of_the_final_scores(scores, k, block, slack, data):
    """Selection on approximate scores ``fast`` with ``|fast - final| < slack``, merged by the final scores: the
    reference top-k of the final scores (many ties), whatever the error, including errors that reorder entries."""
    noise = np.array(
        data.draw(st.lists(st.floats(-0.99, 0.99), min_size=scores.size, max_size=scores.size)), dtype=np.float64
    ).reshape(scores.shape)
    fast = np.where(np.isfinite(scores), scores + noise * slack, -np.inf).astype(np.float32)
    acc = TopK(scores.shape[0], k)
    for start in range(0, scores.shape[1], block):
        part = fast[:, start : start + block]
        rows, cols, _ = candidates(part, acc.threshold, k, slack=slack)
        acc.merge(rows, cols.astype(np.int64) + start, scores[rows, cols + start])
    cols, vals = acc.result()
    ref_cols, ref_vals = reference(scores, k)
    np.testing.assert_array_equal(cols, ref_cols)
    np.testing.assert_array_equal(vals, ref_vals)


def test_a_slack_too_small_for_the_error_can_miss_an_entry():
    """The test above can fail: with the error larger than the slack, the best final score is not selected."""
    final = np.array([[0.5, 0.6]], dtype=np.float32)
    fast = np.array([[0.5, 0.3]], dtype=np.float32)  # the second entry's fast score is 0.3 too low
    acc = TopK(1, 1)
    acc.merge(np.array([0]), np.array([0]), final[0, :1])
    rows, cols, _ = candidates(fast[:, 1:], acc.threshold, 1, slack=0.1)
    assert cols.size == 0
    rows, cols, _ = candidates(fast[:, 1:], acc.threshold, 1, slack=0.35)
    assert cols.tolist() == [0]
