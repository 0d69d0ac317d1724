"""Streaming top-k per row over column blocks: the ranking step of the scoring core.

Blocks of scores arrive in column order (experts sorted by id); the accumulator keeps the best ``k`` per row, higher
score first, ties broken by the lower column (so by id). Masked entries are ``-inf`` and never ranked.

Selection cost: after the first block, each block costs one comparison against the running k-th best score per
row and a ``nonzero`` over the few entries that beat it, instead of an ``argpartition`` over the whole block.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["TopK", "topk_rows"]


class TopK:
    """Best ``k`` entries per row over a stream of column blocks.

    Parameters
    ----------
    n_rows : int
        Number of rows (requests).
    k : int
        How many to keep per row (>= 1).

    Examples
    --------
    >>> acc = TopK(1, 2)
    >>> acc.push(np.array([[0.5, 0.9]], dtype=np.float32), 0)
    >>> acc.push(np.array([[0.9, -np.inf]], dtype=np.float32), 2)
    >>> acc.result()[0]
    array([[1, 2]])
    """

    def __init__(self, n_rows: int, k: int) -> None:
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        self.k = k
        self.values = np.full((n_rows, k), -np.inf, dtype=np.float32)
        self.columns = np.full((n_rows, k), -1, dtype=np.int64)

    @property
    def threshold(self) -> NDArray[np.float32]:
        """(n_rows,) the k-th best score so far per row (``-inf`` while fewer than k were seen)."""
        return self.values[:, -1]

    def push(self, block: NDArray[np.float32], offset: int) -> None:
        """Offer a block of scores ``(n_rows, width)`` for columns ``offset .. offset + width - 1``.

        Blocks must arrive in increasing column order: an entry equal to the current k-th best loses to it.
        """
        n_rows, width = block.shape
        if width == 0 or n_rows == 0:
            return
        if width > 4 * self.k:
            rows, cols = self._candidates(block)
        else:
            mask = block > self.threshold[:, None]
            rows, cols = np.nonzero(mask)
        if rows.size == 0:
            return
        values = block[rows, cols]
        self._merge(rows, cols + offset, values)

    def _candidates(self, block: NDArray[np.float32]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        threshold = self.threshold
        mask = block > threshold[:, None]
        counts = np.count_nonzero(mask, axis=1)
        crowded = np.flatnonzero(counts > 2 * self.k)
        if crowded.size:
            # Rows that would send many candidates (the first blocks): tighten their threshold to the block's own
            # k-th best value first, so the merge stays small. Ties at that value are kept, so the result is exact.
            sub = block[crowded]
            kth = -np.partition(-sub, self.k - 1, axis=1)[:, self.k - 1]
            tighter = np.maximum(kth, threshold[crowded])
            sub_mask = (sub >= tighter[:, None]) & (sub > threshold[crowded][:, None])
            mask[crowded] = sub_mask
        return np.nonzero(mask)

    def _merge(self, rows: NDArray[np.intp], cols: NDArray[np.int64], values: NDArray[np.float32]) -> None:
        touched = np.unique(rows)
        old_rows = np.repeat(touched, self.k)
        old_cols = self.columns[touched].ravel()
        old_vals = self.values[touched].ravel()
        all_rows = np.concatenate([old_rows, rows])
        all_cols = np.concatenate([old_cols, cols])
        all_vals = np.concatenate([old_vals, values])
        # Empty slots (-1, -inf) sort last within their row.
        sort_cols = np.where(all_cols < 0, np.iinfo(np.int64).max, all_cols)
        order = np.lexsort((sort_cols, -all_vals, all_rows))
        all_rows, all_cols, all_vals = all_rows[order], all_cols[order], all_vals[order]
        starts = np.searchsorted(all_rows, touched)
        rank = np.arange(all_rows.size) - np.repeat(starts, np.diff(np.append(starts, all_rows.size)))
        keep = rank < self.k
        dest_rows = np.searchsorted(touched, all_rows[keep])
        new_vals = np.full((touched.size, self.k), -np.inf, dtype=np.float32)
        new_cols = np.full((touched.size, self.k), -1, dtype=np.int64)
        new_vals[dest_rows, rank[keep]] = all_vals[keep]
        new_cols[dest_rows, rank[keep]] = all_cols[keep]
        new_cols[~np.isfinite(new_vals)] = -1
        self.values[touched] = new_vals
        self.columns[touched] = new_cols

    def result(self) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """``(columns, values)``, each ``(n_rows, k)``, best first; ``-1`` / ``-inf`` where fewer than k."""
        return self.columns.copy(), self.values.copy()


def topk_rows(scores: NDArray[np.float32], k: int) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """Top-k per row of a whole matrix, ties by lower column; ``-inf`` entries are never selected.

    >>> topk_rows(np.array([[1.0, 3.0, 3.0]], dtype=np.float32), 2)[0]
    array([[1, 2]])
    """
    acc = TopK(scores.shape[0], k)
    acc.push(np.asarray(scores, dtype=np.float32), 0)
    return acc.result()
