"""Per-request standardisation of the text components, so that scores are comparable across requests.

A raw cosine says as much about the request as about the expert: a broad request ("smart city strategy") is close
to everyone, a narrow one ("FTMS incident detection") to few, so 0.45 is a strong match for one and an average one
for the other. Rankings within a request do not care, but everything that compares scores *across* requests does:
the round plan (it maximises a sum of scores over requests), a team reading two shortlists, and the pairwise loss
of the expertise benchmark the library is held to (for one expert, is the paper they know better scored higher?).

So each text component of a request is replaced by its standard score over the roster, mapped back onto the
component's usual scale::

    standardized = center + spread * (raw - mean_r) / std_r

where ``mean_r`` and ``std_r`` are the mean and standard deviation of request ``r``'s aggregated raw scores over
the experts of the roster (all of them up to :data:`SAMPLE_EXPERTS`, else that many spread evenly over the roster,
the same rows for every request), and ``center`` / ``spread`` are fixed per component (:data:`SCALES`, the median
per-request mean and standard deviation measured on the evaluation sets), so a standardized cosine reads like a
cosine and the component weights keep their balance with themes, places and the rest.

The transform is affine per request, so it is applied *to the inputs* of the scoring core, which stays unchanged:
request rows are multiplied by ``spread / std_r`` and get one more coordinate holding the shift, and every document
gets a coordinate of 1 (:func:`with_bias_column`). Max, mean and top-k aggregation over an expert's documents all
commute with adding a constant, so the core computes exactly ``center + spread * z`` for every expert with
documents. A request's transform depends on the roster only, never on the other requests of the call.

Everything here is numpy / scipy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from gscp_match.core._aggregate import aggregate

__all__ = ["SCALES", "SAMPLE_EXPERTS", "Scale", "sample_rows", "request_transform", "with_bias_column"]

#: Experts (at most) whose scores estimate a request's mean and standard deviation.
SAMPLE_EXPERTS = 4096
#: A request whose scores vary less than this over the roster is only shifted, not stretched.
_MIN_STD = 1e-6


@dataclass(frozen=True, slots=True)
class Scale:
    """Where a standardized component is centred and how far one standard deviation reaches."""

    center: float
    spread: float


#: Per component: the centre is about the median per-request mean of the raw scores, measured with
#: all-MiniLM-L6-v2 and TF-IDF on the evaluation sets (semantic 0.24 and 0.31, lexical 0.02 and 0.03); the spread is
#: the semantic median per-request standard deviation (0.094 and 0.096) for *both* components, so that one standard
#: deviation weighs the same in either and the weights alone set their shares (benchmarks/README.md, "Quality").
SCALES = {"semantic": Scale(center=0.27, spread=0.095), "lexical": Scale(center=0.03, spread=0.095)}


def sample_rows(n_experts: int, size: int = SAMPLE_EXPERTS) -> NDArray[np.int64]:
    """Rows of the experts that estimate each request's spread: all of them, or ``size`` spread evenly.

    >>> sample_rows(5).tolist(), sample_rows(10, size=4).tolist()
    ([0, 1, 2, 3, 4], [0, 3, 6, 9])
    """
    if n_experts <= size:
        return np.arange(n_experts, dtype=np.int64)
    return np.unique(np.linspace(0, n_experts - 1, size).round().astype(np.int64))


def _sample_docs(offsets: NDArray[np.int64], rows: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Document indices of the sampled experts and their local CSR offsets."""
    starts, stops = offsets[rows], offsets[rows + 1]
    counts = stops - starts
    local = np.zeros(rows.size + 1, dtype=np.int64)
    np.cumsum(counts, out=local[1:])
    owner = np.repeat(np.arange(rows.size), counts)
    docs = starts[owner] + np.arange(int(local[-1])) - local[:-1][owner]
    return docs, local


def request_transform(
    doc_scores: NDArray[np.floating],
    local_offsets: NDArray[np.int64],
    *,
    aggregation: str,
    scale: Scale,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per-request ``(factor, shift)`` with ``standardized = factor * raw + shift``.

    Parameters
    ----------
    doc_scores : (n_requests, n_sample_docs) raw scores of each request against the sampled experts' documents
    local_offsets : (n_sample + 1,) the sampled experts' documents, CSR style
    aggregation : the expert aggregation the core uses
    scale : where the standardized component is centred and its spread

    Experts without documents are left out of the statistics (the core scores them 0).

    Examples
    --------
    >>> scores = np.array([[0.1, 0.3, 0.5]])
    >>> factor, shift = request_transform(scores, np.array([0, 1, 2, 3]), aggregation="max", scale=Scale(0.0, 1.0))
    >>> (np.round(factor * scores + shift, 3) + 0.0).tolist()
    [[-1.225, 0.0, 1.225]]
    """
    n_req = doc_scores.shape[0]
    values, best = aggregate(np.asarray(doc_scores, dtype=np.float32), local_offsets, method=aggregation)
    has_docs = np.diff(local_offsets) > 0
    values = values[:, has_docs].astype(np.float64)
    if values.shape[1] == 0:
        return np.ones(n_req), np.zeros(n_req)
    mean = values.mean(axis=1)
    std = values.std(axis=1)
    factor = np.where(std > _MIN_STD, scale.spread / np.maximum(std, _MIN_STD), 1.0)
    shift = scale.center - factor * mean
    return factor, shift


def semantic_transform(
    request_vectors: NDArray[np.float32],
    doc_vectors: NDArray[np.float32],
    doc_offsets: NDArray[np.int64],
    *,
    aggregation: str,
    scale: Scale = SCALES["semantic"],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``(factor, shift)`` per request for the semantic component (dense vectors, documents grouped by expert)."""
    rows = sample_rows(doc_offsets.size - 1)
    docs, local = _sample_docs(doc_offsets, rows)
    scores = request_vectors.astype(np.float64) @ doc_vectors[docs].astype(np.float64).T
    return request_transform(scores, local, aggregation=aggregation, scale=scale)


def lexical_transform(
    request_matrix: sp.csr_matrix,
    doc_matrix: sp.csr_matrix,
    doc_offsets: NDArray[np.int64],
    *,
    aggregation: str,
    scale: Scale = SCALES["lexical"],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``(factor, shift)`` per request for the lexical component (TF-IDF rows, documents grouped by expert)."""
    rows = sample_rows(doc_offsets.size - 1)
    docs, local = _sample_docs(doc_offsets, rows)
    scores = (request_matrix @ doc_matrix[docs].T).toarray()
    return request_transform(scores, local, aggregation=aggregation, scale=scale)


def with_bias_column(matrix: NDArray[np.float32] | sp.csr_matrix, values: NDArray[np.floating] | float):
    """``matrix`` with one more column: ``values`` (one per row) or a constant. Dense stays dense (float32), sparse
    stays CSR."""
    n = matrix.shape[0]
    column = np.broadcast_to(np.asarray(values, dtype=np.float64), (n,)).astype(np.float32)
    if sp.issparse(matrix):
        return sp.hstack([matrix, sp.csr_matrix(column[:, None])], format="csr", dtype=np.float32)
    return np.ascontiguousarray(np.hstack([matrix, column[:, None]]), dtype=np.float32)
