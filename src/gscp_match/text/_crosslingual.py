"""Two embedding models in one score: English pairs on the English model, every other pair on the multilingual one.

The policy (chosen by measurement, ``benchmarks/README.md``, "Languages"): all-MiniLM-L6-v2 is the better model on
English, multilingual-e5-small the only one that matches across languages. So a (request, document) pair is scored
by MiniLM when both texts are English, and by e5 otherwise; e5's cosines live on another scale (they crowd near
0.8), so they are mapped onto MiniLM's by a fixed affine calibration (:data:`E5_TO_MINILM`, moment matching on
English pairs of the evaluation sets) before they meet MiniLM's cosines inside one ranking.

This is done by building, once, vectors whose plain dot product *is* that mixed score, so the scoring core (and
the per-request standardization after it) is unchanged::

    document j:  [ en_j * m_j,  (1 - en_j) * e_j,  en_j * e_j,  1 - en_j,  1 ]
    request  r, English:      [ m_r,  a * e_r,  0,        b,  0 ]
    request  r, not English:  [ 0,    a * e_r,  a * e_r,  0,  b ]

with ``m`` the MiniLM vectors, ``e`` the e5 vectors (unit norm), ``en`` 1 for an English text, and ``a, b`` the
calibration: an English request gets ``m_r . m_j`` from English documents and ``a * e_r . e_j + b`` from the
others; any other request gets ``a * e_r . e_j + b`` from every document. Everything here is numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["Calibration", "E5_TO_MINILM", "document_vectors", "request_vectors"]


@dataclass(frozen=True, slots=True)
class Calibration:
    """``minilm_scale = slope * e5_cosine + intercept``."""

    slope: float
    intercept: float


#: Moment matching on 22 x 600 English (request, evidence) pairs of ``benchmarks/evalset_docs``: e5 cosines have
#: mean 0.792 and standard deviation 0.0194, MiniLM's 0.2015 and 0.1108 (correlation 0.63); the median per-request
#: standard deviations give the same ratio (0.1028 / 0.0178 = 5.8). ``benchmarks/README.md``, "Languages".
E5_TO_MINILM = Calibration(slope=5.70, intercept=-4.31)


def document_vectors(
    minilm: NDArray[np.float32], e5: NDArray[np.float32], english: NDArray[np.bool_]
) -> NDArray[np.float32]:
    """``(n_docs, 3 d + 2)`` document side of the mixed score (see the module docstring)."""
    en = english.astype(np.float32)[:, None]
    return np.ascontiguousarray(
        np.hstack([en * minilm, (1 - en) * e5, en * e5, 1 - en, np.ones_like(en)]), dtype=np.float32
    )


def request_vectors(
    minilm: NDArray[np.float32],
    e5: NDArray[np.float32],
    english: NDArray[np.bool_],
    calibration: Calibration = E5_TO_MINILM,
) -> NDArray[np.float32]:
    """``(n_requests, 3 d + 2)`` request side of the mixed score (see the module docstring).

    Examples
    --------
    >>> m = np.eye(2, dtype=np.float32); e = np.eye(2, dtype=np.float32)[::-1]
    >>> docs = document_vectors(m, e, np.array([True, False]))
    >>> cal = Calibration(2.0, -1.0)
    >>> (request_vectors(m, e, np.array([True, False]), cal) @ docs.T).tolist()
    [[1.0, -1.0], [-1.0, 1.0]]
    """
    en = english.astype(np.float32)[:, None]
    a, b = np.float32(calibration.slope), np.float32(calibration.intercept)
    return np.ascontiguousarray(
        np.hstack([en * minilm, a * e5, (1 - en) * a * e5, en * b, (1 - en) * b]), dtype=np.float32
    )
