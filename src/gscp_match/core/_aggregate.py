"""Bring document (or passage) scores up to their owners (experts or cases).

An expert has several documents (a bio, project descriptions, passages of long texts). Documents are stored
grouped by owner, owners ascending, and described by CSR-style offsets: owner ``j`` holds documents
``offsets[j]:offsets[j + 1]``. Everything here is numpy only and vectorised over owners.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from gscp_match.errors import InputError

__all__ = ["owner_offsets", "aggregate", "AGGREGATION_METHODS", "DEFAULT_TOPK_WEIGHTS"]

#: Valid values of ``aggregate(method=...)``.
AGGREGATION_METHODS = ("max", "mean", "topk")
#: Weights of an owner's best, second and third document for ``method="topk"``.
DEFAULT_TOPK_WEIGHTS = (1.0, 0.5, 1.0 / 3.0)


def owner_offsets(owner: NDArray[np.integer], n_owners: int) -> NDArray[np.int64]:
    """CSR offsets of documents grouped by owner.

    Parameters
    ----------
    owner : ndarray of int, shape (n_docs,)
        Owner of each document, sorted ascending, each in ``[0, n_owners)``.
    n_owners : int

    Returns
    -------
    ndarray of int64, shape (n_owners + 1,)
        Owner ``j`` holds documents ``offsets[j]:offsets[j + 1]`` (empty for an owner without documents).

    Examples
    --------
    >>> owner_offsets(np.array([0, 0, 2]), 4).tolist()
    [0, 2, 2, 3, 3]
    """
    owner_arr = np.asarray(owner)
    if owner_arr.ndim != 1:
        raise InputError(f"owner must be 1-D, got shape {owner_arr.shape}")
    if owner_arr.size and not np.issubdtype(owner_arr.dtype, np.integer):
        raise InputError(f"owner must hold integers, got dtype {owner_arr.dtype}")
    if n_owners < 0:
        raise InputError(f"n_owners must be >= 0, got {n_owners}")
    owner_arr = owner_arr.astype(np.int64, copy=False)
    if owner_arr.size:
        if np.any(np.diff(owner_arr) < 0):
            raise InputError("owner must be sorted ascending (documents grouped by owner)")
        if owner_arr[0] < 0 or owner_arr[-1] >= n_owners:
            raise InputError(f"owner values must lie in [0, {n_owners}), got [{owner_arr[0]}, {owner_arr[-1]}]")
    return np.searchsorted(owner_arr, np.arange(n_owners + 1, dtype=np.int64), side="left").astype(np.int64)


def _segment_argmax(
    scores: NDArray[np.floating], starts: NDArray[np.int64], seg_of_doc: NDArray[np.int64]
) -> tuple[NDArray[np.floating], NDArray[np.int64]]:
    """Max of each non-empty segment (given by ``starts``) and the lowest doc index reaching it."""
    n_docs = scores.shape[1]
    seg_max = np.maximum.reduceat(scores, starts, axis=1)
    hits = scores == seg_max[:, seg_of_doc]
    candidate = np.where(hits, np.arange(n_docs, dtype=np.int64), n_docs)
    return seg_max, np.minimum.reduceat(candidate, starts, axis=1)


def aggregate(
    doc_scores: NDArray[np.floating],
    offsets: NDArray[np.integer],
    *,
    method: str = "max",
    topk_weights: Sequence[float] = DEFAULT_TOPK_WEIGHTS,
) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """Aggregate document scores to owner scores.

    Parameters
    ----------
    doc_scores : ndarray of float, shape (n_q, n_docs)
        Score of each query (request) against each document; finite values. Documents grouped by owner.
    offsets : ndarray of int, shape (n_owners + 1,)
        From :func:`owner_offsets`: ``offsets[0] == 0``, non-decreasing, ``offsets[-1] == n_docs``.
    method : {"max", "mean", "topk"}, default "max"
        ``"max"``: the owner's best document. ``"mean"``: the mean over its documents. ``"topk"``: the
        weighted mean of its best ``len(topk_weights)`` documents, best first:
        ``sum(w[r] * s[r] for r < m) / sum(w[r] for r < m)`` with ``m = min(n_docs_of_owner, k)``.
    topk_weights : sequence of float, default (1, 1/2, 1/3)
        Positive, non-increasing weights of the best, second best, ... document (``method="topk"`` only).

    Returns
    -------
    values : ndarray of float32, shape (n_q, n_owners)
        0.0 for an owner with no documents.
    best_doc : ndarray of int64, shape (n_q, n_owners)
        Global index of the owner's best document (lowest index among ties), -1 for an owner with no
        documents. For every method it points at the highest-scoring document, the evidence to show a user.

    Notes
    -----
    ``topk`` divides by the weights *actually used*, not by all ``k`` weights: an owner with a single document
    scoring ``s`` gets ``s``. Dividing by all weights would cut such an owner to ``s / 1.83``, so a roster
    entry with one strong project description would lose to anyone with three mediocre ones; profiles in the
    roster are uneven in length for reasons unrelated to expertise, so sparse profiles should not be
    punished. The price: an extra weaker document lowers the average a little (``topk`` measures how
    consistently strong the best documents are, not how many there are).

    Examples
    --------
    >>> scores = np.array([[0.2, 0.9, 0.4]], dtype=np.float32)
    >>> values, best = aggregate(scores, owner_offsets(np.array([0, 0, 2]), 3))
    >>> values.tolist(), best.tolist()
    ([[0.8999999761581421, 0.0, 0.4000000059604645]], [[1, -1, 2]])
    """
    if method not in AGGREGATION_METHODS:
        raise InputError(f"unknown aggregation method {method!r}; valid methods: {', '.join(AGGREGATION_METHODS)}")
    scores = np.asarray(doc_scores)
    if scores.ndim != 2:
        raise InputError(f"doc_scores must be 2-D (n_queries, n_docs), got shape {scores.shape}")
    scores = scores.astype(np.float32, copy=False)
    offs = np.asarray(offsets)
    n_q, n_docs = scores.shape
    if (
        offs.ndim != 1
        or offs.size < 1
        or not np.issubdtype(offs.dtype, np.integer)
        or offs[0] != 0
        or offs[-1] != n_docs
        or np.any(np.diff(offs) < 0)
    ):
        raise InputError(f"offsets must be non-decreasing integers from 0 to n_docs={n_docs}")
    if not np.all(np.isfinite(scores)):
        raise InputError("doc_scores must be finite (no NaN or infinity)")
    offs = offs.astype(np.int64, copy=False)
    n_owners = offs.size - 1
    counts = np.diff(offs)

    if method == "topk":
        weights = np.asarray(topk_weights, dtype=np.float64)
        if weights.ndim != 1 or weights.size == 0 or np.any(weights <= 0) or np.any(np.diff(weights) > 0):
            raise InputError(f"topk_weights must be positive and non-increasing, got {list(topk_weights)!r}")

    values = np.zeros((n_q, n_owners), dtype=np.float32)
    best = np.full((n_q, n_owners), -1, dtype=np.int64)
    if n_docs == 0 or n_q == 0:
        return values, best
    if n_owners == n_docs and np.all(counts == 1):  # fast path: one document per owner
        values[:] = scores
        best[:] = np.arange(n_docs, dtype=np.int64)
        return values, best

    nonempty = np.flatnonzero(counts > 0)
    starts = offs[:-1][nonempty]
    seg_of_doc = np.repeat(np.arange(nonempty.size, dtype=np.int64), counts[nonempty])
    seg_max, seg_best = _segment_argmax(scores, starts, seg_of_doc)
    best[:, nonempty] = seg_best

    if method == "max":
        values[:, nonempty] = seg_max
    elif method == "mean":
        sums = np.add.reduceat(scores.astype(np.float64), starts, axis=1)
        values[:, nonempty] = (sums / counts[nonempty]).astype(np.float32)
    else:
        # k rounds of "take the segment max, then knock it out": memory stays O(n_q * n_docs).
        remaining = scores.astype(np.float64)
        total = weights[0] * seg_max.astype(np.float64)
        chosen = seg_best
        rows = np.arange(n_q)[:, None]
        for rank in range(1, min(weights.size, int(counts.max()))):
            remaining[rows, chosen] = -np.inf
            active = counts[nonempty] > rank
            rank_max, chosen = _segment_argmax(remaining, starts, seg_of_doc)
            total += np.where(active, weights[rank] * rank_max, 0.0)
            chosen = np.where(active, chosen, seg_best)  # exhausted segments: harmless re-knockout
        used = np.cumsum(weights)[np.minimum(counts[nonempty], weights.size) - 1]
        values[:, nonempty] = (total / used).astype(np.float32)
    return values, best
