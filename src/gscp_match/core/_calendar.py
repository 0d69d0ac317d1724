"""Working-day calendar: free working days of experts inside request windows.

Day numbers are int64 days since 1970-01-01 (``numpy.datetime64[D].astype(np.int64)``); 1970-01-01 was a
Thursday. Every interval and window is inclusive ``[start, end]``. A *working day* is Monday to Friday and
not a holiday. A *free* working day of an expert is a working day not covered by any of the expert's busy
intervals.

The core idea: for a chunk of experts, build one boolean grid ``(n_chunk, horizon)`` of free working days
over a fixed horizon ``[origin, origin + horizon)`` and keep its prefix sums ``P`` (``P[i, t]`` = free days
in ``[origin, origin + t)``). The free days of every (window, expert) pair are then two gathers and a
subtraction. Days outside the horizon count as not free, so the caller picks a horizon (:func:`horizon_for`)
that covers all windows.

When only the free days per window are wanted (the scoring core), :func:`free_days_in_windows` skips the grid: each
expert's busy intervals are merged into disjoint runs, and a window's free days are its working days minus the
working days each run covers inside it.

Busy intervals of the whole roster are stored CSR-style: three flat arrays sorted by owner (expert position)
and ``offsets`` from :func:`busy_owner_offsets`, so that expert ``e`` owns ``[offsets[e], offsets[e + 1])``.
The grid functions take the experts of one chunk (a slice or an index array), never the whole roster.

Prefix sums are ``int32``: counts never exceed the horizon, so int32 is exact for any horizon below 2**31
days, and one dtype for every horizon keeps results uniform (int16 would overflow at 32,767 days, about 90
years, and halving memory is not needed: the caller bounds memory through the chunk size).
"""

from __future__ import annotations

import heapq

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gscp_match.errors import InputError

__all__ = [
    "working_day_mask",
    "busy_owner_offsets",
    "free_prefix",
    "window_free_days",
    "free_days_in_windows",
    "window_working_days",
    "free_days_between",
    "horizon_for",
    "place_days",
    "days_to_intervals",
]

#: Weekday (Monday = 0) of day number 0, 1970-01-01.
_EPOCH_WEEKDAY = 3


def _weekday(days: NDArray[np.int64]) -> NDArray[np.int64]:
    """Weekday of day numbers, Monday = 0 ... Sunday = 6."""
    return (days + _EPOCH_WEEKDAY) % 7


def _weekdays_before(days: NDArray[np.int64]) -> NDArray[np.int64]:
    """Number of Mon-Fri days in ``[-3, days)`` (day -3 is Monday 1969-12-29); differences count weekdays."""
    shifted = days + _EPOCH_WEEKDAY
    return 5 * (shifted // 7) + np.minimum(shifted % 7, 5)


def _as_days(values: ArrayLike, name: str) -> NDArray[np.int64]:
    arr = np.asarray(values)
    if arr.size == 0:
        return arr.astype(np.int64).reshape(arr.shape)
    if not np.issubdtype(arr.dtype, np.integer):
        raise InputError(f"{name}: expected integer day numbers, got dtype {arr.dtype}")
    return arr.astype(np.int64, copy=False)


def _as_workdays(workdays: ArrayLike) -> NDArray[np.bool_]:
    mask = np.asarray(workdays)
    if mask.ndim != 1 or mask.dtype != np.bool_:
        raise InputError(f"workdays: expected a 1-D boolean array, got shape {mask.shape} dtype {mask.dtype}")
    return mask


def _as_prefix(prefix: ArrayLike) -> NDArray[np.int32]:
    arr = np.asarray(prefix)
    if arr.ndim != 2 or arr.shape[1] < 1:
        raise InputError(f"prefix: expected shape (n_experts, horizon + 1), got shape {arr.shape}")
    return arr


def _clip_window(
    start: NDArray[np.int64], end: NDArray[np.int64], origin: int, horizon: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Prefix positions ``(a, b)`` with ``a <= b`` so that a window is ``P[b] - P[a]`` after clipping."""
    a = np.clip(start - origin, 0, horizon)
    b = np.clip(end - origin + 1, 0, horizon)
    return a, np.maximum(a, b)


def working_day_mask(origin: int, horizon: int, holidays: ArrayLike = ()) -> NDArray[np.bool_]:
    """Working days (Mon-Fri, not a holiday) of the horizon ``[origin, origin + horizon)``.

    Parameters
    ----------
    origin : int
        Day number of the first day of the horizon.
    horizon : int
        Number of days, ``>= 0``.
    holidays : array_like of int, shape (n_holidays,)
        Holiday day numbers; those outside the horizon or on a weekend change nothing. Duplicates are allowed.

    Returns
    -------
    ndarray of bool, shape (horizon,)
        ``True`` where day ``origin + t`` is a working day.

    Examples
    --------
    >>> working_day_mask(0, 7, holidays=[5]).astype(int)  # Thu 1970-01-01 .. Wed; Tue the 6th is a holiday
    array([1, 1, 0, 0, 1, 0, 1])
    """
    origin, horizon = int(origin), int(horizon)
    if horizon < 0:
        raise InputError(f"horizon: expected a non-negative number of days, got {horizon}")
    days = origin + np.arange(horizon, dtype=np.int64)
    mask = _weekday(days) < 5
    hol = _as_days(holidays, "holidays").ravel() - origin
    mask[hol[(hol >= 0) & (hol < horizon)]] = False
    return mask


def busy_owner_offsets(owner: ArrayLike, n_experts: int) -> NDArray[np.int64]:
    """CSR offsets of busy intervals sorted by owner.

    Parameters
    ----------
    owner : array_like of int, shape (n_intervals,)
        Expert position of each busy interval, sorted ascending.
    n_experts : int
        Number of experts in the roster.

    Returns
    -------
    ndarray of int64, shape (n_experts + 1,)
        The intervals of expert ``e`` are ``[offsets[e], offsets[e + 1])``.

    Raises
    ------
    InputError
        If ``owner`` is not sorted or holds a position outside ``[0, n_experts)``.

    Examples
    --------
    >>> busy_owner_offsets([0, 0, 2], 4)
    array([0, 2, 2, 3, 3])
    """
    owner_arr = _as_days(owner, "owner").ravel()
    n_experts = int(n_experts)
    if n_experts < 0:
        raise InputError(f"n_experts: expected a non-negative count, got {n_experts}")
    if owner_arr.size:
        if np.any(np.diff(owner_arr) < 0):
            first = int(np.flatnonzero(np.diff(owner_arr) < 0)[0]) + 1
            raise InputError(f"owner: expected intervals sorted by owner, position {first} breaks the order")
        if owner_arr[0] < 0 or owner_arr[-1] >= n_experts:
            raise InputError(
                f"owner: expected expert positions in [0, {n_experts}), "
                f"got values from {int(owner_arr[0])} to {int(owner_arr[-1])}"
            )
    return np.searchsorted(owner_arr, np.arange(n_experts + 1, dtype=np.int64), side="left").astype(np.int64)


def free_prefix(
    offsets: NDArray[np.int64],
    busy_start: NDArray[np.int64],
    busy_end: NDArray[np.int64],
    experts: slice | NDArray[np.int64],
    *,
    origin: int,
    workdays: NDArray[np.bool_],
) -> NDArray[np.int32]:
    """Prefix sums of free working days for a chunk of experts.

    Parameters
    ----------
    offsets : ndarray of int64, shape (n_experts + 1,)
        From :func:`busy_owner_offsets`.
    busy_start, busy_end : ndarray of int64, shape (n_intervals,)
        Inclusive busy intervals, sorted by owner. They may overlap, touch, extend past the horizon or lie
        outside it; an interval with ``end < start`` is empty.
    experts : slice or ndarray of int64, shape (n_chunk,)
        Expert positions of the chunk, in any order (a slice is taken over ``range(n_experts)``).
    origin : int
        Day number of the first day of the horizon.
    workdays : ndarray of bool, shape (horizon,)
        From :func:`working_day_mask`.

    Returns
    -------
    ndarray of int32, shape (n_chunk, horizon + 1)
        ``P[i, t]`` = free working days of expert ``experts[i]`` in ``[origin, origin + t)``.

    Examples
    --------
    >>> offsets = busy_owner_offsets([1], 2)
    >>> workdays = working_day_mask(0, 6)  # Thu, Fri, Sat, Sun, Mon, Tue
    >>> free_prefix(offsets, np.array([1]), np.array([4]), slice(None), origin=0, workdays=workdays)
    array([[0, 1, 2, 2, 2, 3, 4],
           [0, 1, 1, 1, 1, 1, 2]], dtype=int32)
    """
    grid = _free_grid(offsets, busy_start, busy_end, experts, origin=origin, workdays=workdays)
    prefix = np.zeros((grid.shape[0], grid.shape[1] + 1), dtype=np.int32)
    np.cumsum(grid, axis=1, dtype=np.int32, out=prefix[:, 1:])
    return prefix


def _busy_runs(
    offsets: NDArray[np.int64],
    busy_start: NDArray[np.int64],
    busy_end: NDArray[np.int64],
    experts: slice | NDArray[np.int64],
    *,
    origin: int,
    horizon: int,
) -> tuple[int, NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Busy days of a chunk of experts as merged runs inside the horizon.

    Returns ``(n_chunk, row, start, stop)``: run ``j`` covers horizon days ``[start[j], stop[j])`` of chunk row
    ``row[j]``; runs are sorted by row then start, and two runs of a row neither overlap nor touch.
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    busy_start = _as_days(busy_start, "busy_start").ravel()
    busy_end = _as_days(busy_end, "busy_end").ravel()
    n_experts = offsets.size - 1
    if offsets.ndim != 1 or n_experts < 0:
        raise InputError(f"offsets: expected shape (n_experts + 1,), got shape {offsets.shape}")
    if busy_start.size != busy_end.size or busy_start.size != offsets[-1]:
        raise InputError(
            f"busy_start/busy_end: expected {int(offsets[-1])} intervals (offsets[-1]), "
            f"got {busy_start.size} starts and {busy_end.size} ends"
        )
    if isinstance(experts, slice):
        picked = range(n_experts)[experts]  # resolves the slice without allocating the whole roster
        rows = np.arange(picked.start, picked.stop, picked.step, dtype=np.int64)
    else:
        rows = _as_days(experts, "experts").ravel()
        if rows.size and (rows.min() < 0 or rows.max() >= n_experts):
            raise InputError(f"experts: expected positions in [0, {n_experts}), got {int(rows.min())}..{rows.max()}")
    n_chunk = rows.size

    # Gather the chunk's intervals without a loop: interval j of chunk row i sits at lo[i] + j.
    lo = offsets[rows]
    count = offsets[rows + 1] - lo
    row_of = np.repeat(np.arange(n_chunk, dtype=np.int64), count)
    first_of_row = np.cumsum(count) - count
    pos = np.repeat(lo - first_of_row, count) + np.arange(row_of.size, dtype=np.int64)
    start = busy_start[pos] - origin
    end = busy_end[pos] - origin
    keep = (start <= end) & (end >= 0) & (start < horizon)
    row_of, start, stop = row_of[keep], np.maximum(start[keep], 0), np.minimum(end[keep], horizon - 1) + 1

    # Merge overlapping or touching intervals of a row. Rows come in order, so sorting by (row, start) is cheap.
    width = horizon + 1
    order = np.argsort(row_of * width + start, kind="stable")
    row_of, start, stop = row_of[order], start[order], stop[order]
    base = row_of * width
    reach = np.maximum.accumulate(base + stop) - base if row_of.size else stop  # furthest stop so far in the row
    head = np.ones(row_of.size, dtype=bool)
    head[1:] = (row_of[1:] != row_of[:-1]) | (start[1:] > reach[:-1])
    heads = np.flatnonzero(head)
    tails = np.append(heads[1:], row_of.size)[: heads.size] - 1
    return n_chunk, row_of[heads], start[heads], reach[tails]


def _free_grid(
    offsets: NDArray[np.int64],
    busy_start: NDArray[np.int64],
    busy_end: NDArray[np.int64],
    experts: slice | NDArray[np.int64],
    *,
    origin: int,
    workdays: NDArray[np.bool_],
) -> NDArray[np.bool_]:
    """``(n_chunk, horizon)`` free working days of a chunk of experts."""
    workdays = _as_workdays(workdays)
    horizon = workdays.size
    n_chunk, row, start, stop = _busy_runs(offsets, busy_start, busy_end, experts, origin=origin, horizon=horizon)
    # Runs neither overlap nor touch, so the busy days of a row are a 0/1 step function whose steps can be written
    # (not added) into an int8 grid: 8x less memory traffic than counting overlaps in int64.
    steps = np.zeros((n_chunk, horizon + 1), dtype=np.int8)
    steps[row, start] = 1
    steps[row, stop] = -1
    busy = np.cumsum(steps[:, :horizon], axis=1, dtype=np.int8)
    return busy < workdays  # a working day (1) that is not busy (0)


def window_free_days(
    prefix: NDArray[np.int32], window_start: ArrayLike, window_end: ArrayLike, *, origin: int
) -> NDArray[np.int32]:
    """Free working days of every expert of a chunk in every window.

    Parameters
    ----------
    prefix : ndarray of int32, shape (n_experts, horizon + 1)
        From :func:`free_prefix`.
    window_start, window_end : array_like of int, shape (n_windows,)
        Inclusive windows. Days outside the horizon count as not free; ``end < start`` gives 0.
    origin : int
        Day number of the first day of the horizon.

    Returns
    -------
    ndarray of int32, shape (n_windows, n_experts)
        Rows are windows (requests), columns are experts.

    Examples
    --------
    >>> prefix = np.array([[0, 1, 2, 2, 2, 3, 4]], dtype=np.int32)
    >>> window_free_days(prefix, [0, 3, 5], [4, 2, 99], origin=0)
    array([[3],
           [0],
           [1]], dtype=int32)
    """
    prefix = _as_prefix(prefix)
    start = _as_days(window_start, "window_start").ravel()
    end = _as_days(window_end, "window_end").ravel()
    if start.shape != end.shape:
        raise InputError(f"window_start/window_end: shapes differ, {start.shape} and {end.shape}")
    a, b = _clip_window(start, end, origin, prefix.shape[1] - 1)
    # Gathering rows of the transposed prefix keeps the output C-ordered (n_windows, n_experts).
    by_day = prefix.T
    return (by_day[b] - by_day[a]).astype(np.int32, copy=False)


def free_days_in_windows(
    offsets: NDArray[np.int64],
    busy_start: NDArray[np.int64],
    busy_end: NDArray[np.int64],
    experts: slice | NDArray[np.int64],
    window_start: ArrayLike,
    window_end: ArrayLike,
    *,
    origin: int,
    workdays: NDArray[np.bool_],
) -> NDArray[np.int32]:
    """Free working days of a chunk of experts in every window, without building prefix sums.

    The same numbers as :func:`window_free_days` of :func:`free_prefix`, for a fraction of the memory traffic when
    only the windows are needed: free days are summed between the distinct window boundaries, with days as rows
    so that every step is a vector operation across the chunk's experts.

    Parameters
    ----------
    offsets, busy_start, busy_end, experts, origin, workdays
        As in :func:`free_prefix`.
    window_start, window_end : array_like of int, shape (n_windows,)
        Inclusive windows, clipped to the horizon like :func:`window_free_days`.

    Returns
    -------
    ndarray of int32, shape (n_windows, n_chunk)
        Rows are windows (requests), columns are the chunk's experts.

    Examples
    --------
    >>> offsets = busy_owner_offsets([1], 2)
    >>> workdays = working_day_mask(0, 6)  # Thu, Fri, Sat, Sun, Mon, Tue
    >>> free_days_in_windows(offsets, np.array([1]), np.array([4]), slice(None), [0, 3], [4, 5],
    ...                      origin=0, workdays=workdays)
    array([[3, 1],
           [2, 1]], dtype=int32)
    """
    return _free_days_in_windows(
        offsets, busy_start, busy_end, experts, window_start, window_end, origin=origin, workdays=workdays
    )


def _free_days_in_windows(
    offsets: NDArray[np.int64],
    busy_start: NDArray[np.int64],
    busy_end: NDArray[np.int64],
    experts: slice | NDArray[np.int64],
    window_start: ArrayLike,
    window_end: ArrayLike,
    *,
    origin: int,
    workdays: NDArray[np.bool_],
    method: str | None = None,
) -> NDArray[np.int32]:
    """:func:`free_days_in_windows`; ``method`` forces ``"runs"`` or ``"grid"`` (tests), else the cheaper one."""
    workdays = _as_workdays(workdays)
    start = _as_days(window_start, "window_start").ravel()
    end = _as_days(window_end, "window_end").ravel()
    if start.shape != end.shape:
        raise InputError(f"window_start/window_end: shapes differ, {start.shape} and {end.shape}")
    horizon = workdays.size
    n_chunk, row, run_start, run_stop = _busy_runs(
        offsets, busy_start, busy_end, experts, origin=origin, horizon=horizon
    )
    a, b = _clip_window(start, end, origin, horizon)
    # The runs way costs about (windows x runs) operations, the grid way (experts x horizon); both are exact.
    if method is None:
        method = "runs" if start.size * max(row.size, 1) <= n_chunk * horizon else "grid"
    if method == "grid":
        steps = np.zeros((n_chunk, horizon + 1), dtype=np.int8)
        steps[row, run_start] = 1
        steps[row, run_stop] = -1
        free = np.cumsum(steps[:, :horizon], axis=1, dtype=np.int8) < workdays
        prefix = np.zeros((n_chunk, horizon + 1), dtype=np.int32)
        np.cumsum(free, axis=1, dtype=np.int32, out=prefix[:, 1:])
        return np.ascontiguousarray((prefix[:, b] - prefix[:, a]).T)
    # Runs way: working days of the window minus, for each run, the working days it covers inside the window. With
    # W the running count of working days (non-decreasing), a run [s, t) covers W[min(t, b)] - W[max(s, a)] =
    # min(W[t], W[b]) - max(W[s], W[a]) working days of a window [a, b) when positive.
    dtype = np.int16 if horizon < np.iinfo(np.int16).max else np.int32
    working = np.zeros(horizon + 1, dtype=np.int32)
    np.cumsum(workdays, dtype=np.int32, out=working[1:])
    run_from, run_to = working[run_start].astype(dtype), working[run_stop].astype(dtype)
    window_from, window_to = working[a].astype(dtype), working[b].astype(dtype)
    covered = np.minimum(run_to, window_to[:, None]) - np.maximum(run_from, window_from[:, None])
    np.maximum(covered, 0, out=covered)
    total = np.zeros((start.size, row.size + 1), dtype=np.int32)
    np.cumsum(covered, axis=1, out=total[:, 1:])
    first = np.searchsorted(row, np.arange(n_chunk + 1))
    busy = total[:, first[1:]] - total[:, first[:-1]]
    return (window_to - window_from).astype(np.int32)[:, None] - busy


def window_working_days(
    window_start: ArrayLike, window_end: ArrayLike, *, origin: int, workdays: NDArray[np.bool_]
) -> NDArray[np.int32]:
    """Working days in each window, busy days not subtracted.

    Parameters
    ----------
    window_start, window_end : array_like of int, shape (n_windows,)
        Inclusive windows, clipped to the horizon like :func:`window_free_days`.
    origin : int
        Day number of the first day of the horizon.
    workdays : ndarray of bool, shape (horizon,)
        From :func:`working_day_mask`.

    Returns
    -------
    ndarray of int32, shape (n_windows,)

    Examples
    --------
    >>> window_working_days([0, 2], [6, 3], origin=0, workdays=working_day_mask(0, 14))
    array([5, 0], dtype=int32)
    """
    workdays = _as_workdays(workdays)
    start = _as_days(window_start, "window_start").ravel()
    end = _as_days(window_end, "window_end").ravel()
    if start.shape != end.shape:
        raise InputError(f"window_start/window_end: shapes differ, {start.shape} and {end.shape}")
    cumulative = np.zeros(workdays.size + 1, dtype=np.int32)
    np.cumsum(workdays, dtype=np.int32, out=cumulative[1:])
    a, b = _clip_window(start, end, origin, workdays.size)
    return cumulative[b] - cumulative[a]


def free_days_between(
    prefix: NDArray[np.int32],
    experts: ArrayLike,
    start: ArrayLike,
    end: ArrayLike,
    *,
    origin: int,
) -> NDArray[np.int32]:
    """Free working days of ``experts[j]`` in ``[start[j], end[j]]``, elementwise.

    Parameters
    ----------
    prefix : ndarray of int32, shape (n_experts, horizon + 1)
        From :func:`free_prefix`.
    experts : array_like of int, shape (m,)
        Row indices into ``prefix`` (chunk rows, not roster positions).
    start, end : array_like of int, shape (m,)
        Inclusive day numbers, clipped to the horizon; ``end < start`` gives 0.
    origin : int
        Day number of the first day of the horizon.

    Returns
    -------
    ndarray of int32, shape (m,)

    Examples
    --------
    >>> prefix = np.array([[0, 1, 2, 2, 2, 3, 4], [0, 1, 1, 1, 1, 1, 2]], dtype=np.int32)
    >>> free_days_between(prefix, [0, 1, 1], [0, 0, 4], [5, 5, 3], origin=0)
    array([4, 2, 0], dtype=int32)
    """
    prefix = _as_prefix(prefix)
    rows = _as_days(experts, "experts").ravel()
    start = _as_days(start, "start").ravel()
    end = _as_days(end, "end").ravel()
    if not rows.shape == start.shape == end.shape:
        raise InputError(f"experts/start/end: shapes differ, {rows.shape}, {start.shape} and {end.shape}")
    if rows.size and (rows.min() < 0 or rows.max() >= prefix.shape[0]):
        raise InputError(f"experts: expected prefix rows in [0, {prefix.shape[0]}), got {rows.min()}..{rows.max()}")
    a, b = _clip_window(start, end, origin, prefix.shape[1] - 1)
    return (prefix[rows, b] - prefix[rows, a]).astype(np.int32, copy=False)


def horizon_for(window_start: ArrayLike, window_end: ArrayLike, *, margin: int = 0) -> tuple[int, int]:
    """Horizon ``(origin, horizon)`` covering all windows.

    Parameters
    ----------
    window_start, window_end : array_like of int, shape (n_windows,)
        Inclusive windows. A window with a negative start or end is a missing one and is ignored.
    margin : int, default 0
        Extra days added before the earliest start and after the latest end.

    Returns
    -------
    origin : int
        First day of the horizon.
    horizon : int
        Number of days, at least 1. With no valid window the horizon is ``(0, 1)`` widened by the margin.

    Examples
    --------
    >>> horizon_for([10, -1, 12], [20, -1, 25], margin=2)
    (8, 20)
    """
    start = _as_days(window_start, "window_start").ravel()
    end = _as_days(window_end, "window_end").ravel()
    if start.shape != end.shape:
        raise InputError(f"window_start/window_end: shapes differ, {start.shape} and {end.shape}")
    margin = int(margin)
    if margin < 0:
        raise InputError(f"margin: expected a non-negative number of days, got {margin}")
    valid = (start >= 0) & (end >= 0)
    if not valid.any():
        return -margin, 1 + 2 * margin
    first = int(start[valid].min()) - margin
    last = int(end[valid].max()) + margin
    return first, max(last - first + 1, 1)


def place_days(
    free_mask: NDArray[np.bool_],
    jobs_start: ArrayLike,
    jobs_end: ArrayLike,
    jobs_days: ArrayLike,
    *,
    origin: int,
) -> list[NDArray[np.int64]]:
    """Give each job (engagement) of one expert its days, earliest deadline first.

    Free days are visited in date order; each goes to the released, unfinished job with the earliest end
    (ties by job index). For unit-length work with release and due days this is optimal: if any
    placement exists, it finds one.

    Parameters
    ----------
    free_mask : ndarray of bool, shape (horizon,)
        ``True`` where day ``origin + t`` is a free working day of the expert.
    jobs_start, jobs_end : array_like of int, shape (n_jobs,)
        Inclusive day numbers of each job's window.
    jobs_days : array_like of int, shape (n_jobs,)
        Number of distinct free days each job needs, ``>= 0``.
    origin : int
        Day number of ``free_mask[0]``.

    Returns
    -------
    list of ndarray of int64
        ``n_jobs`` sorted arrays of day numbers, one per job; no day appears twice.

    Raises
    ------
    InputError
        Naming the first job that cannot get all its days.

    Examples
    --------
    >>> free = working_day_mask(0, 7)  # Thu 0, Fri 1, Mon 4, Tue 5, Wed 6
    >>> [d.tolist() for d in place_days(free, [0, 0], [6, 1], [2, 2], origin=0)]
    [[4, 5], [0, 1]]
    """
    free_mask = _as_workdays(free_mask)
    start = _as_days(jobs_start, "jobs_start").ravel()
    end = _as_days(jobs_end, "jobs_end").ravel()
    need = _as_days(jobs_days, "jobs_days").ravel()
    if not start.shape == end.shape == need.shape:
        raise InputError(f"jobs_start/jobs_end/jobs_days: shapes differ, {start.shape}, {end.shape}, {need.shape}")
    if need.size and need.min() < 0:
        raise InputError(f"jobs_days: expected non-negative day counts, job {int(np.argmin(need))} has {need.min()}")
    free_days = origin + np.flatnonzero(free_mask).astype(np.int64)
    remaining = need.copy()
    given: list[list[int]] = [[] for _ in range(need.size)]
    # Release order: by start, then job index (stable sort); zero-day jobs never enter.
    order = [int(j) for j in np.argsort(start, kind="stable") if need[j] > 0]
    next_job = 0
    ready: list[tuple[int, int]] = []
    k = 0
    while k < free_days.size and (ready or next_job < len(order)):
        if not ready:
            # Nothing released yet: jump to the first free day of the next job.
            k = max(k, int(np.searchsorted(free_days, start[order[next_job]], side="left")))
            if k >= free_days.size:
                break
        day = int(free_days[k])
        while next_job < len(order) and start[order[next_job]] <= day:
            j = order[next_job]
            heapq.heappush(ready, (int(end[j]), j))
            next_job += 1
        if ready and ready[0][0] < day:
            break  # the earliest-deadline job is past its end unfinished: infeasible
        if ready:
            _, j = ready[0]
            given[j].append(day)
            remaining[j] -= 1
            if remaining[j] == 0:
                heapq.heappop(ready)
        k += 1
    short = np.flatnonzero(remaining > 0)
    if short.size:
        j = int(short[np.argmin(end[short])])  # the overdue job when EDF stopped early
        raise InputError(
            f"job {j}: needs {int(need[j])} free days in [{int(start[j])}, {int(end[j])}], "
            f"could place only {len(given[j])} (with earlier-deadline jobs placed first)"
        )
    return [np.asarray(days, dtype=np.int64) for days in given]


def days_to_intervals(
    days: ArrayLike, *, workdays: NDArray[np.bool_] | None = None, origin: int | None = None
) -> list[tuple[int, int]]:
    """Merge sorted day numbers into inclusive busy intervals.

    Rule: two consecutive listed days fall in the same interval when no working day lies strictly
    between them. Weekends are never working days; when ``workdays`` (and ``origin``) are given, its
    non-working weekdays (holidays) inside its horizon are skipped over too, elsewhere every Mon-Fri day
    counts as working. So Fri + Mon give one interval Fri..Mon. Read back as busy intervals, the result
    marks exactly the listed days busy among working days (under the same holidays, or under any
    holidays when ``workdays`` is not given).

    Parameters
    ----------
    days : array_like of int, shape (n_days,)
        Strictly increasing day numbers.
    workdays : ndarray of bool, shape (horizon,), optional
        From :func:`working_day_mask`; holidays in it may be bridged.
    origin : int, optional
        Day number of ``workdays[0]``; required with ``workdays``.

    Returns
    -------
    list of (int, int)
        Inclusive ``(start, end)`` intervals, sorted and disjoint, starting and ending on listed days.

    Examples
    --------
    >>> days_to_intervals([1, 4, 5, 7])  # Fri 1970-01-02, Mon, Tue, Thu
    [(1, 5), (7, 7)]
    """
    arr = _as_days(days, "days").ravel()
    if arr.size == 0:
        return []
    gaps = np.diff(arr)
    if np.any(gaps <= 0):
        raise InputError("days: expected strictly increasing day numbers")
    left, right = arr[:-1] + 1, arr[1:]  # working days strictly between = those in [left, right)
    between = _weekdays_before(right) - _weekdays_before(left)
    if workdays is not None:
        if origin is None:
            raise InputError("origin: required when workdays is given")
        workdays = _as_workdays(workdays)
        grid_days = int(origin) + np.arange(workdays.size, dtype=np.int64)
        holiday = np.zeros(workdays.size + 1, dtype=np.int64)
        np.cumsum((_weekday(grid_days) < 5) & ~workdays, out=holiday[1:])
        a = np.clip(left - origin, 0, workdays.size)
        b = np.clip(right - origin, 0, workdays.size)
        between = between - (holiday[b] - holiday[a])
    breaks = np.flatnonzero(between > 0)
    starts = np.concatenate([arr[:1], arr[breaks + 1]])
    ends = np.concatenate([arr[breaks], arr[-1:]])
    return [(int(s), int(e)) for s, e in zip(starts, ends, strict=True)]
