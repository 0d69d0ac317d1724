"""Streaming top-k per row over column blocks: the ranking step of the scoring core.

Blocks of scores arrive in column order (experts sorted by id); the accumulator keeps the best ``k`` per row, higher
score first, ties broken by the lower column (so by id). Masked entries are ``-inf`` (or excluded by a ``keep`` mask)
and never ranked.

Selection cost: once a row holds k entries, a block costs one comparison against the running k-th best score per
row and a ``nonzero`` over the few entries that beat it, instead of an ``argpartition`` over the whole block. Rows
that would still send many candidates (the first blocks) are cut to the block's own k best first.

:func:`candidates` is pure and reads only the thresholds, so several threads can select from disjoint row ranges of
a block at once; :meth:`TopK.merge` then folds their candidates in, in one thread.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["TopK", "topk_rows", "candidates"]


def candidates(
    block: NDArray[np.float32],
    threshold: NDArray[np.float32],
    k: int,
    *,
    slack: float = 0.0,
    keep: NDArray[np.bool_] | None = None,
    packed_keep: NDArray[np.uint8] | None = None,
    row_max: NDArray[np.float32] | None = None,
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float32]]:
    """Entries of a block that can still enter each row's top-k.

    Parameters
    ----------
    block : (n_rows, width) float32
        Scores; ``-inf`` entries are never selected.
    threshold : (n_rows,) float32
        The running k-th best score of each row (``-inf`` while a row holds fewer than k). With ``slack == 0`` an
        entry equal to it loses (it comes from a later column).
    k : int
        Entries kept per row (>= 1).
    slack : float, default 0
        A bound on how far each entry of ``block`` may be from the score the row is finally ranked by (``block``
        is a fast approximation, ``threshold`` is in final scores): ``|block - final| < slack``. Then every entry
        with ``block >= threshold - slack`` is a candidate, and a crowded row is cut at its block k-th best minus
        ``2 * slack`` (k entries at or above that value have final scores above it minus ``slack``, so an entry more
        than ``2 * slack`` below it has k entries strictly better). Both cuts are rounded down.
    keep : (n_rows, width) bool, optional
        Entries allowed to rank (the pairs that passed the hard filters); default: all.
    packed_keep : (n_rows, ceil(width / 8)) uint8, optional
        ``keep`` packed along rows (``np.packbits(keep, axis=1)``); only the rows that hold a candidate are unpacked.
    row_max : (n_rows,) float32, optional
        ``block.max(axis=1)`` when the caller has it already (computed while the block was in cache).

    Returns
    -------
    rows, columns : (n_candidates,) intp
        Positions in ``block``, row-major. Every entry that belongs in its row's top-k over the columns seen so far
        is among them; a row sends at most ``2 * k`` candidates plus ties at its block k-th best value (with
        ``slack``: plus the entries within ``2 * slack`` of it).
    values : (n_candidates,) float32

    Examples
    --------
    >>> block = np.array([[0.1, 0.7, 0.4]], dtype=np.float32)
    >>> rows, cols, values = candidates(block, np.array([0.3], dtype=np.float32), 1)
    >>> cols.tolist(), values.tolist()
    ([1, 2], [0.699999988079071, 0.4000000059604645])
    >>> candidates(block, np.array([0.55], dtype=np.float32), 1, slack=0.1)[1].tolist()
    [1]
    >>> candidates(block, np.array([0.45], dtype=np.float32), 1, slack=0.1)[1].tolist()
    [1, 2]
    """
    width = block.shape[1]
    floor = _lowered(threshold, slack)
    # Once thresholds are warm, most rows send nothing: a row maximum (one read, no mask) finds the rows that may,
    # and only those rows are compared, masked and searched.
    if row_max is None:
        row_max = np.max(block, axis=1, initial=-np.inf)
    hit = np.flatnonzero(row_max > floor) if width else np.zeros(0, np.intp)
    sub_keep = None
    if keep is not None:
        sub_keep = keep[hit]
    elif packed_keep is not None:
        sub_keep = np.unpackbits(packed_keep[hit], axis=1, count=width).view(bool)
    sub_mask = block[hit] > floor[hit, None]
    if sub_keep is not None:
        sub_mask &= sub_keep
    if width > k and hit.size:
        crowded = np.flatnonzero(np.count_nonzero(sub_mask, axis=1) > 2 * k)
        if crowded.size:
            # Tighten these rows' threshold to the block's own k-th best allowed value first (less 2 x slack), so
            # the merge stays small. Ties at that value are kept, so the result is exact.
            sub = block[hit[crowded]]
            if sub_keep is not None:
                sub = np.where(sub_keep[crowded], sub, np.float32(-np.inf))
            kth = _lowered(-np.partition(-sub, k - 1, axis=1)[:, k - 1], 2 * slack)
            old = floor[hit[crowded]][:, None]
            sub_mask[crowded] = (sub >= np.maximum(kth[:, None], old)) & (sub > old)
    local, cols = np.divmod(np.flatnonzero(sub_mask), width)
    rows = hit[local]
    return rows, cols, block[rows, cols]


def _lowered(values: NDArray[np.float32], amount: float) -> NDArray[np.float32]:
    """``values - amount`` in float32, rounded down (so never above the exact difference); ``values`` when 0.

    The cut may then be below ``value - amount`` by an ulp or two, which only lets a few more candidates through.
    """
    if amount == 0:
        return values
    if not amount > 0:
        raise ValueError(f"slack must be >= 0, got {amount!r}")
    lowered = (values.astype(np.float64) - amount).astype(np.float32)
    return np.nextafter(lowered, np.float32(-np.inf))


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
        rows, cols, values = candidates(block, self.threshold, self.k)
        self.merge(rows, cols.astype(np.int64) + offset, values)

    def merge(self, rows: NDArray[np.intp], columns: NDArray[np.int64], values: NDArray[np.float32]) -> None:
        """Fold entries in: ``rows``, global ``columns`` and ``values``, each ``(n,)``; ``-inf`` values are ignored.

        Entries may come in any order, and ties go to the lower column, as in :meth:`push`. A column must not be
        offered twice for the same row.
        """
        finite = values > -np.inf
        if not finite.all():
            rows, columns, values = rows[finite], columns[finite], values[finite]
        if rows.size == 0:
            return
        k = self.k
        touched, local = np.unique(rows, return_inverse=True)
        old_cols = self.columns[touched]
        all_vals = np.concatenate([self.values[touched].ravel(), values])
        all_cols = np.concatenate([old_cols.ravel(), columns])
        owner = np.concatenate([np.repeat(np.arange(touched.size), k), np.asarray(local).ravel()])
        if columns.min() > old_cols.max():
            # New columns all come after the kept ones (blocks in column order), and both groups are in column order
            # within a row: a stable sort on (row, score descending) then breaks ties by column. One integer key.
            bits = (all_vals + np.float32(0.0)).view(np.int32).astype(np.int64)  # + 0.0 turns -0.0 into 0.0
            ascending = np.where(bits < 0, bits ^ 0x7FFFFFFF, bits)  # order-preserving integer image of the float
            order = np.argsort((owner << 33) | ((1 << 31) - 1 - ascending), kind="stable")
        else:
            # Empty slots (-1, -inf) sort last within their row.
            sort_cols = np.where(all_cols < 0, np.iinfo(np.int64).max, all_cols)
            order = np.lexsort((sort_cols, -all_vals, owner))
        # Every touched row holds at least k entries (its k slots), so the first k of each row, in row order, fill a
        # (touched, k) block.
        counts = k + np.bincount(owner[k * touched.size :], minlength=touched.size)
        rank = np.arange(order.size) - np.repeat(np.cumsum(counts) - counts, counts)
        chosen = order[rank < k]
        new_vals = all_vals[chosen].reshape(touched.size, k)
        new_cols = all_cols[chosen].reshape(touched.size, k)
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
