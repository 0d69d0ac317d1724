"""The scoring core: every request against every expert, components, hard filters and top-k, in chunks.

Orientation: rows are requests, columns are experts. Every component is an ``(n_requests, n_experts)`` float32
matrix (computed one chunk of experts at a time) with these definitions, ``r`` a request and ``e`` an expert:

============== ==================================================================== =========
component      value                                                                range
============== ==================================================================== =========
semantic       cosine of embeddings, aggregated over the expert's texts             [-1, 1]
lexical        TF-IDF cosine, aggregated over the expert's texts                    [0, 1]
themes         share of the request's themes the expert covers (0 if none listed)    [0, 1]
geography      0.5 x worked in the request's country + 0.5 x worked in its region   [0, 1]
language       share of the request's languages the expert speaks (0 if none)       [0, 1]
korean         1 when the request asks for Korean experience and the expert has it  {0, 1}
availability   min(1, free working days in the window / days needed); 1 without a   [0, 1]
               window
cost           1 - day rate x days / budget, where both budget and rate are known   [0, 1]
============== ==================================================================== =========

``score = sum(weight[c] * component[c])`` with weights from :class:`Weights`.

Hard filters are boolean masks, applied before ranking and counted per request (:data:`FILTERS`):

- ``availability``: fewer free working days in the window than the days needed (1 day when ``days`` is not given);
- ``conflict``: the expert's conflicts name the request's country, city or client, or the request excludes the
  expert;
- ``language``: the request lists languages and the expert speaks none of them;
- ``budget``: day rate x days is over the request's budget.

Work is done over chunks of experts, so memory beyond the inputs is ``O(n_requests x chunk_size)``. Rankings and
scores are identical, to the bit, for every chunk size, number of lanes, shard of :mod:`gscp_match.scale._distributed`
and
BLAS kernel: the fast path below only *selects* candidates; each candidate is then re-scored exactly
(:func:`rescore_pairs`) and ranked by that score, ties by expert row (see :func:`shortlist` for the argument).

How :func:`shortlist` is fast (:func:`component_block` is the readable path, one component at a time):

- *One product.* Themes, geography, language share, Korean experience and cost are bilinear in small request and
  expert feature vectors. Their columns ride in the similarity product: ``[w_sem * Q | R] @ [E | X].T`` gives
  ``w_sem * semantic + features`` at once (max, mean and top-k aggregation over an expert's texts commute with adding
  a per-expert constant, so each text carries its expert's features). Columns that few requests use (a country
  named by a handful of requests) are added pair by pair instead of costing a product column each.
- *Availability costs nothing once filtered.* ``min(1, free / need)`` is 1 for every pair that passes the
  availability filter, so it is a constant added to the k kept scores at the end.
- *Filters per distinct key, packed.* Free days are computed per distinct window (from each expert's merged busy
  runs), language overlap per distinct language set, budgets as ranks among distinct max rates; each becomes rows of
  bits (8 experts a byte) per distinct (window, need), set and rank, so a request's filters are three gathers and
  ANDs of ``chunk / 8`` bytes, its counts are popcounts, and no boolean (request x expert) matrix is built.
- *Top-k against a running threshold* (:mod:`gscp_match.core._topk`): row maxima, taken while each product block is in
  cache, find the few requests with an expert above their current k-th best; only those rows are compared.
- *Exact where it decides.* The product's float32 scores depend in their last bits on how BLAS blocked the call
  (the kernel, the chunk, the shard). They only choose candidates, with a margin that bounds that error; the
  candidates still in reach at the end (about k per request) are re-scored by :func:`rescore_pairs` (float64
  products, fixed-order sums, one rounding), and the top-k is decided and reported on those exact scores.
- *Lanes.* Chunks go to one worker thread per core, each with single-threaded BLAS (numpy releases the GIL), and
  the lanes' top-k are merged at the end.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from types import MappingProxyType
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from gscp_match.core import _calendar as calendar
from gscp_match.core._aggregate import aggregate
from gscp_match.core._arrays import ExpertArrays, RequestArrays
from gscp_match.core._topk import TopK, _lowered, candidates
from gscp_match.errors import InputError

__all__ = [
    "COMPONENTS",
    "FILTERS",
    "Weights",
    "ScoringInputs",
    "Ranking",
    "shortlist",
    "component_block",
    "pair_components",
    "rescore_pairs",
    "WEIGHT_TOTAL_MAX",
    "DEFAULT_WEIGHTS",
]

COMPONENTS: tuple[str, ...] = (
    "semantic",
    "lexical",
    "themes",
    "geography",
    "language",
    "korean",
    "availability",
    "cost",
)
FILTERS: tuple[str, ...] = ("availability", "conflict", "language", "budget")
#: The largest sum of the weights. Scores are float32: a weight of 1e39 is infinite there (every score would be
#: inf or nan, and nothing ranked), and far below that a request feature scaled by a weight (the cost term, the
#: day-rate ratio times the cost weight) overflows. Weights are relative, so a total up to a million leaves every
#: score finite and with float32 precision to spare.
WEIGHT_TOTAL_MAX = 1e6

#: The default weights: hand-set, text similarity carrying most of the weight with a lexical share of 0.3 (chosen
#: by measurement: benchmarks/README.md, "Quality: the expert model"; the reasons: models/README.md). The same
#: values are written out in ``src/gscp_match/models/default_weights.json`` (a test keeps the two equal).
DEFAULT_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        "semantic": 0.42,
        "lexical": 0.18,
        "themes": 0.12,
        "geography": 0.06,
        "language": 0.04,
        "korean": 0.06,
        "availability": 0.08,
        "cost": 0.04,
    }
)


@dataclass(frozen=True, slots=True)
class Weights:
    """Weights of the score components (non-negative, summing to at most :data:`WEIGHT_TOTAL_MAX`). The defaults
    are :data:`DEFAULT_WEIGHTS` (:meth:`default`); a weights file is read by
    :func:`gscp_match.tables.read_weights`.

    Raises :class:`~gscp_match.errors.InputError` (a ``ValueError``) naming the component for a negative, non-finite
    or too large weight.

    >>> Weights.default().semantic > 0
    True
    >>> Weights.from_mapping({"semantic": 1.0}).lexical
    0.0
    """

    semantic: float = 0.0
    lexical: float = 0.0
    themes: float = 0.0
    geography: float = 0.0
    language: float = 0.0
    korean: float = 0.0
    availability: float = 0.0
    cost: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise InputError(f"weight {f.name!r} must be a finite number >= 0, got {value!r}")
            if value > WEIGHT_TOTAL_MAX:
                raise InputError(
                    f"weight {f.name!r} is {value!r}, above the largest total the float32 scores allow "
                    f"({WEIGHT_TOTAL_MAX:g}); weights are relative (the defaults sum to 1): scale them down"
                )
        total = math.fsum(getattr(self, f.name) for f in fields(self))
        if total > WEIGHT_TOTAL_MAX:
            largest = max(fields(self), key=lambda f: getattr(self, f.name)).name
            raise InputError(
                f"the weights sum to {total:g} (the largest is {largest!r}), above the largest total the float32 "
                f"scores allow ({WEIGHT_TOTAL_MAX:g}); weights are relative (the defaults sum to 1): scale them down"
            )

    @classmethod
    def from_mapping(cls, values: Mapping[str, float]) -> Weights:
        """Weights from a mapping; components not named get 0, unknown names raise."""
        unknown = sorted(set(values) - set(COMPONENTS))
        if unknown:
            raise InputError(f"unknown weight(s) {', '.join(unknown)}; valid components: {', '.join(COMPONENTS)}")
        return cls(**{k: float(v) for k, v in values.items()})

    @classmethod
    def default(cls) -> Weights:
        """The shipped default weights (:data:`DEFAULT_WEIGHTS`, also written out in
        ``src/gscp_match/models/default_weights.json``, the format a weights file has)."""
        return cls.from_mapping(DEFAULT_WEIGHTS)

    def as_dict(self) -> dict[str, float]:
        """The weights by component name."""
        return asdict(self)

    def vector(self) -> NDArray[np.float32]:
        """(len(COMPONENTS),) the weights in :data:`COMPONENTS` order."""
        return np.array([getattr(self, c) for c in COMPONENTS], dtype=np.float32)


@dataclass(frozen=True, slots=True)
class ScoringInputs:
    """Everything the core needs, as arrays.

    Attributes
    ----------
    requests, experts : RequestArrays, ExpertArrays
    request_embeddings : (n_requests, d) float32, L2-normalized rows.
    doc_embeddings : (n_docs, d) float32; the experts' texts (bio passages, evidence), grouped by expert.
    doc_offsets : (n_experts + 1,) int64; expert ``e``'s texts are rows ``doc_offsets[e]:doc_offsets[e+1]``.
    request_lexical, doc_lexical : CSR TF-IDF rows (L2-normalized), or None to skip the lexical component.
    conflicts : (n_requests, n_experts) CSR bool; conflict-of-interest pairs (built at the edge by
        :func:`gscp_match.tables._arrays.conflict_matrix`).
    holidays : (n_holidays,) int64 day numbers that are not working days.
    aggregation : how texts aggregate to an expert: ``max``, ``mean`` or ``topk``.
    """

    requests: RequestArrays
    experts: ExpertArrays
    request_embeddings: NDArray[np.float32]
    doc_embeddings: NDArray[np.float32]
    doc_offsets: NDArray[np.int64]
    request_lexical: sp.csr_matrix | None = None
    doc_lexical: sp.csr_matrix | None = None
    conflicts: sp.csr_matrix | None = None
    holidays: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    aggregation: str = "max"

    def __post_init__(self) -> None:
        n_req, n_exp = len(self.requests), len(self.experts)
        q, d = self.request_embeddings, self.doc_embeddings
        if q.ndim != 2 or d.ndim != 2 or q.shape[1] != d.shape[1]:
            raise InputError(f"embeddings must be 2-D with the same width, got {q.shape} and {d.shape}")
        if q.shape[0] != n_req:
            raise InputError(f"request_embeddings has {q.shape[0]} rows for {n_req} requests")
        if self.doc_offsets.shape != (n_exp + 1,) or self.doc_offsets[-1] != d.shape[0]:
            raise InputError("doc_offsets must be (n_experts + 1,) and end at the number of expert texts")
        if (self.request_lexical is None) != (self.doc_lexical is None):
            raise InputError("give both request_lexical and doc_lexical, or neither")
        if self.conflicts is not None and self.conflicts.shape != (n_req, n_exp):
            raise InputError(f"conflicts must be ({n_req}, {n_exp}), got {self.conflicts.shape}")

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_requests, n_experts)``."""
        return len(self.requests), len(self.experts)


@dataclass(frozen=True, slots=True)
class Ranking:
    """Top-k experts per request, as rows (the core's result; :class:`gscp_match.Shortlists` is its table form).

    Attributes
    ----------
    experts : (n_requests, k) int64 expert rows, best first; -1 where fewer than k experts passed the filters.
    scores : (n_requests, k) float32; -inf where ``experts`` is -1.
    filtered : (n_requests, len(FILTERS)) int64; how many experts each filter removed (an expert removed by two
        filters counts in both).
    eligible : (n_requests,) int64; experts that passed every filter.
    """

    experts: NDArray[np.int64]
    scores: NDArray[np.float32]
    filtered: NDArray[np.int64]
    eligible: NDArray[np.int64]


# ---------------------------------------------------------------------------------------------------------------
# Bilinear features: themes, geography, language share, Korean experience, cost.


@dataclass(frozen=True, slots=True)
class _ExpertSource:
    """The expert side of one block of feature columns, read a chunk of experts at a time.

    Either a CSR matrix over the whole roster whose column ``lookup[j]`` feeds feature column ``j`` (``-1``: not
    used), or a function giving the block's values for some experts (Korean experience, day rate).
    """

    offset: int  # first feature column of the block
    width: int
    matrix: sp.csr_matrix | None = None  # (n_exp, M)
    lookup: NDArray[np.int64] | None = None  # (M,) feature column (absolute) of each matrix column, or -1
    values: Callable[[NDArray[np.int64] | slice], NDArray[np.float32]] | None = None  # rows -> (n, width)


@dataclass(frozen=True, slots=True)
class _Features:
    """Request features (dense, weights folded in) and expert features (read per chunk) whose product is the
    weighted sum of themes + geography + language + korean + cost, and what the language and budget filters need."""

    request: NDArray[np.float32]  # (n_req, F)
    sources: tuple[_ExpertSource, ...]  # expert side of the F columns
    request_languages: NDArray[np.float32]  # (n_req, L_used)
    languages: NDArray[np.int64]  # (L_used,) columns of experts.languages that some request lists
    wants_language: NDArray[np.bool_]  # (n_req,)
    max_rate: NDArray[np.float64]  # (n_req,) budget / days; inf without budget
    columns: dict[str, slice]  # feature columns of each bilinear component


def _row_share(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Rows divided by their number of entries (0 rows stay 0)."""
    counts = np.asarray(matrix.sum(axis=1)).ravel()
    scale = np.divide(1.0, counts, out=np.zeros_like(counts, dtype=np.float64), where=counts > 0)
    return sp.diags(scale) @ matrix


def _half_one_hot(index: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """The distinct codes used (``index >= 0``) and a (n, n_used) matrix with 0.5 at each row's code."""
    has = index >= 0
    used = np.unique(index[has])
    matrix = np.zeros((index.size, used.size))
    matrix[np.flatnonzero(has), np.searchsorted(used, index[has])] = 0.5
    return used, matrix


def _canonical(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """The matrix with sorted, summed entries (a copy only when it is not so already; the input is not changed)."""
    if matrix.has_canonical_format:
        return matrix
    copy = matrix.copy()
    copy.sum_duplicates()
    return copy


def _features(inputs: ScoringInputs, weights: Weights) -> _Features:
    req, exp = inputs.requests, inputs.experts
    blocks_r: list[NDArray[np.float64]] = []
    sources: list[_ExpertSource] = []
    columns: dict[str, slice] = {}  # a component's blocks are added one after another, so its columns are contiguous

    def add(name: str, request_block: NDArray[np.float64], source: dict) -> None:
        start = sum(b.shape[1] for b in blocks_r)
        width = request_block.shape[1]
        previous = columns.get(name, slice(start, start))
        columns[name] = slice(previous.start, start + width)
        blocks_r.append(getattr(weights, name) * request_block)
        if "used" in source:
            matrix = _canonical(source["matrix"])
            lookup = np.full(matrix.shape[1], -1, dtype=np.int64)
            lookup[source["used"]] = start + np.arange(width)
            sources.append(_ExpertSource(start, width, matrix=matrix, lookup=lookup))
        else:
            sources.append(_ExpertSource(start, width, values=source["values"]))

    add("themes", _row_share(req.themes).toarray(), {"matrix": exp.themes, "used": np.arange(exp.themes.shape[1])})

    # Geography: one column per country and region that some request names, 0.5 each.
    for request_index, expert_matrix in ((req.country, exp.countries), (req.region, exp.regions)):
        used, request_half = _half_one_hot(request_index)
        add("geography", request_half, {"matrix": expert_matrix, "used": used})

    languages = np.unique(req.languages.indices).astype(np.int64)
    request_languages = req.languages[:, languages]
    add("language", _row_share(request_languages).toarray(), {"matrix": exp.languages, "used": languages})
    korean = exp.korean
    add(
        "korean",
        req.wants_korean[:, None].astype(np.float64),
        {"values": lambda rows: korean[rows].astype(np.float32)[:, None]},
    )

    # cost = has_rate_e - rate_e * days_r / budget_r for requests with a budget, else 0.
    # A zero budget is kept finite (1e-6) so that a zero rate costs nothing and any other rate is filtered.
    has_budget = ~np.isnan(req.budget)
    need = np.maximum(req.days, 1).astype(np.float64)
    budget = np.where(has_budget, np.maximum(np.nan_to_num(req.budget), 1e-6), 1.0)
    per_rate = np.where(has_budget, need / budget, 0.0)
    max_rate = np.where(has_budget, np.nan_to_num(req.budget) / need, np.inf)
    day_rate = exp.day_rate

    def cost_values(rows: NDArray[np.int64] | slice) -> NDArray[np.float32]:
        rate = day_rate[rows]
        known = ~np.isnan(rate)
        return np.stack([known, np.where(known, rate, 0.0)], axis=1).astype(np.float32)

    add("cost", np.stack([has_budget.astype(np.float64), -per_rate], axis=1), {"values": cost_values})

    return _Features(
        request=np.hstack(blocks_r).astype(np.float32),
        sources=tuple(sources),
        request_languages=request_languages.toarray().astype(np.float32),
        languages=languages,
        wants_language=np.asarray(req.languages.sum(axis=1)).ravel() > 0,
        max_rate=max_rate,
        columns=columns,
    )


def _csr_rows(
    matrix: sp.csr_matrix, rows: slice | NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int32], NDArray[np.float32]]:
    """Entries of some rows of a CSR matrix as ``(local row, column, value)``, row-major."""
    if isinstance(rows, slice):
        pointer = matrix.indptr[rows.start : rows.stop + 1]
        a, b = int(pointer[0]), int(pointer[-1])
        indices, data = matrix.indices[a:b], matrix.data[a:b]
    else:
        sub = matrix[rows]
        pointer, indices, data = sub.indptr, sub.indices, sub.data
    local = np.repeat(np.arange(pointer.size - 1, dtype=np.int64), np.diff(pointer))
    return local, indices, data


def _expert_entries(
    features: _Features, rows: slice | NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float32]]:
    """The nonzero expert features of some experts as ``(local row, feature column, value)``."""
    local_rows, feature_cols, values = [], [], []
    for source in features.sources:
        if source.matrix is not None and source.lookup is not None:
            local, indices, data = _csr_rows(source.matrix, rows)
            cols = source.lookup[indices]
            used = cols >= 0
            local, cols, data = local[used], cols[used], data[used]
        else:
            assert source.values is not None
            block = source.values(rows)
            local, within = np.nonzero(block)
            cols, data = source.offset + within, block[local, within]
        local_rows.append(local)
        feature_cols.append(cols)
        values.append(np.asarray(data, dtype=np.float32))
    return np.concatenate(local_rows), np.concatenate(feature_cols), np.concatenate(values)


def _expert_block(features: _Features, rows: slice | NDArray[np.int64], n_rows: int) -> NDArray[np.float32]:
    """(n_rows, F) dense expert features of some experts."""
    local, cols, values = _expert_entries(features, rows)
    block = np.zeros((n_rows, features.request.shape[1]), dtype=np.float32)
    block[local, cols] = values
    return block


def _expert_languages(features: _Features, experts: ExpertArrays, rows: slice, n_rows: int) -> NDArray[np.bool_]:
    """(n_rows, L_used) which of the languages some request lists each expert speaks."""
    local, indices, _ = _csr_rows(experts.languages, rows)
    position = np.searchsorted(features.languages, indices)
    position = np.minimum(position, max(features.languages.size - 1, 0))
    found = features.languages[position] == indices if features.languages.size else np.zeros(0, dtype=bool)
    speaks = np.zeros((n_rows, features.languages.size), dtype=bool)
    speaks[local[found], position[found]] = True
    return speaks


# ---------------------------------------------------------------------------------------------------------------
# Calendar: free working days per (request, expert) through distinct windows.


@dataclass(frozen=True, slots=True)
class _Windows:
    origin: int
    workdays: NDArray[np.bool_]
    start: NDArray[np.int64]  # (n_windows,) distinct windows
    end: NDArray[np.int64]
    of_request: NDArray[np.int64]  # (n_req,) window index; n_windows (a row of "always free") without a window
    need: NDArray[np.int64]  # (n_req,) days needed, at least 1


def _windows(inputs: ScoringInputs) -> _Windows:
    req = inputs.requests
    has = req.has_window
    pairs = np.stack([req.window_start[has], req.window_end[has]], axis=1)
    distinct, inverse = np.unique(pairs, axis=0, return_inverse=True) if has.any() else (np.zeros((0, 2)), None)
    of_request = np.full(len(req), distinct.shape[0], dtype=np.int64)
    if inverse is not None:
        of_request[has] = np.asarray(inverse).ravel()
    start = distinct[:, 0].astype(np.int64)
    end = distinct[:, 1].astype(np.int64)
    origin, horizon = calendar.horizon_for(start, end) if start.size else (0, 1)
    workdays = calendar.working_day_mask(origin, horizon, inputs.holidays)
    return _Windows(origin, workdays, start, end, of_request, np.maximum(req.days, 1))


def _window_free_days(inputs: ScoringInputs, windows: _Windows, rows: slice | NDArray[np.int64]) -> NDArray[np.int32]:
    """(n_windows, n_rows) free working days of some experts in each distinct window."""
    exp = inputs.experts
    return calendar.free_days_in_windows(
        exp.busy_offsets,
        exp.busy_start,
        exp.busy_end,
        rows,
        windows.start,
        windows.end,
        origin=windows.origin,
        workdays=windows.workdays,
    )


def _free_days(inputs: ScoringInputs, windows: _Windows, start: int, stop: int) -> NDArray[np.int32]:
    """(n_requests, stop - start) free working days; requests without a window get int32 max."""
    no_window = np.full((1, stop - start), np.iinfo(np.int32).max, dtype=np.int32)
    if windows.start.size == 0:
        return np.repeat(no_window, len(inputs.requests), axis=0)
    per_window = _window_free_days(inputs, windows, slice(start, stop))
    # One gather from the distinct windows plus the "no window" row.
    return np.take(np.vstack([per_window, no_window]), windows.of_request, axis=0)


# ---------------------------------------------------------------------------------------------------------------
# Blocks: the readable path (every component apart), used for explanations and tests.


def _similarity_block(
    inputs: ScoringInputs, start: int, stop: int
) -> tuple[NDArray[np.float32], NDArray[np.float32] | None]:
    """(semantic, lexical) for experts ``start:stop``, each (n_requests, stop - start)."""
    offsets = inputs.doc_offsets[start : stop + 1]
    d0, d1 = int(offsets[0]), int(offsets[-1])
    local = offsets - d0
    doc_scores = inputs.request_embeddings @ inputs.doc_embeddings[d0:d1].T
    single = bool(np.all(np.diff(local) == 1))
    if single:
        semantic = np.asarray(doc_scores, dtype=np.float32)
    else:
        semantic = aggregate(doc_scores, local, method=inputs.aggregation)[0]
    return semantic, _lexical_block(inputs, start, stop)


def _lexical_block(inputs: ScoringInputs, start: int, stop: int) -> NDArray[np.float32] | None:
    """(n_requests, stop - start) lexical component, or None without TF-IDF inputs."""
    if inputs.request_lexical is None or inputs.doc_lexical is None:
        return None
    offsets = inputs.doc_offsets[start : stop + 1]
    d0, d1 = int(offsets[0]), int(offsets[-1])
    local = offsets - d0
    lex_docs = (inputs.request_lexical @ inputs.doc_lexical[d0:d1].T).toarray().astype(np.float32)
    return lex_docs if bool(np.all(np.diff(local) == 1)) else aggregate(lex_docs, local, method=inputs.aggregation)[0]


def _mask_block(
    inputs: ScoringInputs,
    feats: _Features,
    free: NDArray[np.int32],
    windows: _Windows,
    start: int,
    stop: int,
) -> dict[str, NDArray[np.bool_]]:
    """Each filter as an (n_requests, stop - start) bool matrix, True where the pair is removed."""
    exp = inputs.experts
    speaks = _expert_languages(feats, exp, slice(start, stop), stop - start).astype(np.float32)
    language_overlap = feats.request_languages @ speaks.T
    rate = exp.day_rate[start:stop]
    masks = {
        "availability": free < windows.need[:, None],
        "conflict": (
            inputs.conflicts[:, start:stop].toarray()
            if inputs.conflicts is not None
            else np.zeros(free.shape, dtype=bool)
        ),
        "language": (language_overlap == 0) & feats.wants_language[:, None],
        "budget": ~np.isnan(rate)[None, :] & (rate[None, :] > feats.max_rate[:, None]),
    }
    return masks


@dataclass(frozen=True, slots=True)
class _Context:
    """What every block of one scoring run shares: unweighted features and the distinct windows."""

    features: _Features
    windows: _Windows


def _context(inputs: ScoringInputs) -> _Context:
    ones = _features(inputs, Weights(**dict.fromkeys(COMPONENTS, 1.0)))
    return _Context(features=ones, windows=_windows(inputs))


def component_block(
    inputs: ScoringInputs, start: int, stop: int, *, context: _Context | None = None
) -> tuple[dict[str, NDArray[np.float32]], dict[str, NDArray[np.bool_]], NDArray[np.int32]]:
    """Every component and filter for experts ``start:stop``, unweighted: the readable path.

    Returns
    -------
    components : dict of component name -> (n_requests, stop - start) float32
    filters : dict of filter name -> (n_requests, stop - start) bool, True where removed
    free_days : (n_requests, stop - start) int32; free working days in the window (int32 max without a window)
    """
    ctx = context if context is not None else _context(inputs)
    f = ctx.features
    expert_block = _expert_block(f, slice(start, stop), stop - start)
    parts = {
        name: (f.request[:, cols] @ expert_block[:, cols].T).astype(np.float32) for name, cols in f.columns.items()
    }
    free = _free_days(inputs, ctx.windows, start, stop)
    semantic, lexical = _similarity_block(inputs, start, stop)
    availability = np.minimum(1.0, free / ctx.windows.need[:, None]).astype(np.float32)
    components = {
        "semantic": semantic,
        "lexical": lexical if lexical is not None else np.zeros_like(semantic),
        **parts,
        "availability": availability,
    }
    components = {c: components[c] for c in COMPONENTS}
    return components, _mask_block(inputs, f, free, ctx.windows, start, stop), free


# ---------------------------------------------------------------------------------------------------------------
# Exact pair scores: what rankings are decided on and what is reported. Every number here is a function of one
# (request, expert) pair's own data, computed in an order fixed by the code, never by BLAS, the chunk, the batch of
# pairs or the machine (see :func:`shortlist`).

#: Pairs (or pair texts) per block of the float64 temporaries of the exact scores; only bounds memory.
_EXACT_BLOCK = 2048


def _fixed_sum(terms: NDArray[np.float64]) -> NDArray[np.float64]:
    """(n, m) -> (n,) row sums in one fixed order: a pairwise tree over the columns. Overwrites ``terms``.

    The order depends on ``m`` only (never on ``n``, the machine or a library kernel), and each elementwise numpy
    addition is one correctly rounded IEEE operation, so a row's sum is a function of that row alone.
    """
    width = terms.shape[1]
    if width == 0:
        return np.zeros(terms.shape[0], dtype=np.float64)
    while width > 1:
        half = (width + 1) // 2
        terms[:, : width - half] += terms[:, half:width]  # column j += column j + half: disjoint, so no aliasing
        width = half
    return terms[:, 0].copy()


def _segment_sums(values: NDArray[np.float64], counts: NDArray[np.int64]) -> NDArray[np.float64]:
    """Sums of consecutive segments of ``values`` (segment ``i`` holds ``counts[i]`` values), each in the fixed
    order of :func:`_fixed_sum` over its own values, padded with exact zeros to the longest segment."""
    out = np.zeros(counts.size, dtype=np.float64)
    if values.size == 0:
        return out
    first = np.cumsum(counts) - counts
    for a in range(0, counts.size, _EXACT_BLOCK):
        b = min(a + _EXACT_BLOCK, counts.size)
        block_counts = counts[a:b]
        if not block_counts.any():
            continue
        row = np.repeat(np.arange(b - a), block_counts)
        position = np.arange(row.size) - (first[a:b] - first[a])[row]
        dense = np.zeros((b - a, int(block_counts.max())), dtype=np.float64)
        dense[row, position] = values[first[a] + np.arange(row.size)]
        out[a:b] = _fixed_sum(dense)
    return out


def _exact_dots(
    left: NDArray[np.float32], left_rows: NDArray[np.int64], right: NDArray[np.float32], right_rows: NDArray[np.int64]
) -> NDArray[np.float64]:
    """``left[left_rows[i]] . right[right_rows[i]]`` for each i, float64: products of float32 numbers are exact in
    float64 (48 significant bits), then :func:`_fixed_sum`."""
    out = np.empty(left_rows.size, dtype=np.float64)
    for a in range(0, left_rows.size, _EXACT_BLOCK):
        b = min(a + _EXACT_BLOCK, left_rows.size)
        products = left[left_rows[a:b]].astype(np.float64)
        products *= right[right_rows[a:b]]
        out[a:b] = _fixed_sum(products)
    return out


def _exact_sparse_dots(
    left: sp.csr_matrix, left_rows: NDArray[np.int64], right: sp.csr_matrix, right_rows: NDArray[np.int64]
) -> NDArray[np.float64]:
    """The same for CSR rows: each pair's exact products, in term order, summed by :func:`_segment_sums`."""
    out = np.zeros(left_rows.size, dtype=np.float64)
    for a in range(0, left_rows.size, _EXACT_BLOCK):
        b = min(a + _EXACT_BLOCK, left_rows.size)
        products = left[left_rows[a:b]].astype(np.float64).multiply(right[right_rows[a:b]].astype(np.float64)).tocsr()
        products.sort_indices()
        out[a:b] = _segment_sums(products.data, np.diff(products.indptr))
    return out


def _pair_texts(
    inputs: ScoringInputs, request_rows: NDArray[np.int64], expert_rows: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Every text of every pair's expert, pair by pair: pair ``p`` owns ``pair_docs[first[p]:first[p + 1]]`` (rows
    of ``doc_embeddings``), each scored against request ``doc_request``."""
    counts = inputs.doc_offsets[expert_rows + 1] - inputs.doc_offsets[expert_rows]
    first = np.zeros(request_rows.size + 1, dtype=np.int64)
    np.cumsum(counts, out=first[1:])
    owner = np.repeat(np.arange(request_rows.size), counts)
    pair_docs = inputs.doc_offsets[expert_rows][owner] + np.arange(first[-1]) - first[:-1][owner]
    return first, pair_docs, request_rows[owner]


def _pair_parts(
    inputs: ScoringInputs,
    features: _Features,
    request_rows: NDArray[np.int64],
    expert_rows: NDArray[np.int64],
    *,
    wanted: frozenset[str] = frozenset(COMPONENTS),
) -> tuple[dict[str, NDArray[np.float32]], NDArray[np.int64]]:
    """The exact components of some pairs but availability (float32, 0 where not ``wanted``), and each pair's best
    text (row of ``doc_embeddings``, -1 without texts, or when semantic is not wanted).

    ``features`` are the unweighted features (:func:`_context`). Each text similarity is an exact float64 dot product
    of the float32 vectors, aggregated over the expert's texts by :func:`gscp_match.core._aggregate.aggregate` (the same
    rule the fast path uses); each bilinear component is the fixed-order sum of its exact feature products.
    """
    n = request_rows.size
    components = {c: np.zeros(n, dtype=np.float32) for c in COMPONENTS if c != "availability"}
    best_doc = np.full(n, -1, dtype=np.int64)
    lexical = inputs.request_lexical is not None and inputs.doc_lexical is not None and "lexical" in wanted
    if n and ("semantic" in wanted or lexical):
        first, pair_docs, doc_request = _pair_texts(inputs, request_rows, expert_rows)
        if "semantic" in wanted:
            sims = _exact_dots(inputs.request_embeddings, doc_request, inputs.doc_embeddings, pair_docs)
            semantic, best_local = aggregate(sims[None, :], first, method=inputs.aggregation)
            components["semantic"] = semantic[0]
            best_doc = np.where(best_local[0] >= 0, pair_docs[np.maximum(best_local[0], 0)], -1)
        if lexical:
            assert inputs.request_lexical is not None and inputs.doc_lexical is not None
            lex = _exact_sparse_dots(inputs.request_lexical, doc_request, inputs.doc_lexical, pair_docs)
            components["lexical"] = aggregate(lex[None, :], first, method=inputs.aggregation)[0][0]
    bilinear = [(name, cols) for name, cols in features.columns.items() if name in wanted]
    if n and bilinear:
        # Expert features are sparse (a few themes, places, languages): each pair's products are taken over its
        # expert's nonzero features, in feature-column order. A component's columns are contiguous, so sorted by
        # (pair, column) each (pair, component) is one segment of consecutive products.
        experts, expert_index = np.unique(expert_rows, return_inverse=True)
        expert_index = np.asarray(expert_index).ravel()
        local, feature, value = _expert_entries(features, experts)
        component = np.full(feature.size, -1, dtype=np.int64)
        for j, (_, cols) in enumerate(bilinear):
            component[(feature >= cols.start) & (feature < cols.stop)] = j
        used = component >= 0
        local, feature, value, component = local[used], feature[used], value[used], component[used]
        order = np.lexsort((feature, local))
        local, feature, value, component = local[order], feature[order], value[order], component[order]
        pointer = np.searchsorted(local, np.arange(experts.size + 1))
        counts = pointer[expert_index + 1] - pointer[expert_index]
        owner = np.repeat(np.arange(n), counts)
        entry = pointer[expert_index][owner] + np.arange(owner.size) - (np.cumsum(counts) - counts)[owner]
        products = value[entry].astype(np.float64) * features.request[request_rows[owner], feature[entry]]
        segment_counts = np.bincount(owner * len(bilinear) + component[entry], minlength=n * len(bilinear))
        sums = _segment_sums(products, segment_counts).reshape(n, len(bilinear)).astype(np.float32)
        for j, (name, _) in enumerate(bilinear):
            components[name] = sums[:, j]
    return components, best_doc


def _weighted_total(weights: Weights, components: Mapping[str, NDArray[np.float32]]) -> NDArray[np.float32]:
    """``sum(weight[c] * component[c])`` in float64, components in :data:`COMPONENTS` order, rounded once to
    float32: the score. Zero weights are skipped (adding ``0 * x`` changes nothing)."""
    total: NDArray[np.float64] | None = None
    for c in COMPONENTS:
        weight = getattr(weights, c)
        if weight:
            term = float(weight) * np.asarray(components[c], dtype=np.float64)
            total = term if total is None else total + term
    if total is None:
        return np.zeros(np.asarray(components[COMPONENTS[0]]).shape, dtype=np.float32)
    return total.astype(np.float32)


def rescore_pairs(
    inputs: ScoringInputs,
    weights: Weights,
    request_rows: NDArray[np.int64],
    expert_rows: NDArray[np.int64],
    *,
    availability: NDArray[np.float32] | None = None,
    context: _Context | None = None,
) -> NDArray[np.float32]:
    """Exact scores of given (request, expert) pairs: the scores :func:`shortlist` ranks by and reports.

    Each pair's score is computed from that pair's data alone, in an order fixed by this code (float64 products of
    the float32 inputs, which are exact, then fixed-order sums; the expert's texts aggregated by
    :func:`gscp_match.core._aggregate.aggregate`; the components weighted and summed in float64 in :data:`COMPONENTS`
    order and rounded once to float32). So it is the same, to the bit, whatever else is scored with it, on any
    machine and BLAS, and it equals ``float32(sum(w[c] * pair_components(...)[c]))`` computed in float64.

    Parameters
    ----------
    inputs : ScoringInputs
    weights : Weights
    request_rows, expert_rows : (n_pairs,) int64
    availability : (n_pairs,) float32, optional
        The pairs' availability component when the caller knows it (:func:`shortlist` passes 1: every pair it ranks
        passed the availability filter); default: computed from the calendars, as :func:`pair_components` does.
    context : optional
        The unweighted features and windows of ``inputs`` when the caller has them (saves rebuilding them).

    Returns
    -------
    (n_pairs,) float32

    Examples
    --------
    >>> from gscp_match import Matcher, load_demo
    >>> demo = load_demo()
    >>> m = Matcher(embedder="hashing", cache=None).fit(demo.experts, evidence=demo.evidence)
    >>> _, inputs = m.scoring_inputs(demo.requests.head(3))
    >>> top = shortlist(inputs, k=5, weights=m.weights)
    >>> rows = np.repeat(np.arange(3), 5)
    >>> bool((rescore_pairs(inputs, m.weights, rows, top.experts.ravel()) == top.scores.ravel()).all())
    True
    """
    request_rows = np.asarray(request_rows, dtype=np.int64).ravel()
    expert_rows = np.asarray(expert_rows, dtype=np.int64).ravel()
    if request_rows.shape != expert_rows.shape:
        raise InputError(f"request_rows and expert_rows differ in length: {request_rows.size} and {expert_rows.size}")
    ctx = context if context is not None else _context(inputs)
    wanted = frozenset(c for c in COMPONENTS if getattr(weights, c))
    components, _ = _pair_parts(inputs, ctx.features, request_rows, expert_rows, wanted=wanted)
    if availability is not None:
        components["availability"] = np.asarray(availability, dtype=np.float32)
    elif "availability" in wanted:
        components["availability"] = _pair_availability(inputs, ctx.windows, request_rows, expert_rows)[0]
    else:
        components["availability"] = np.zeros(request_rows.size, dtype=np.float32)  # weighted by 0
    return _weighted_total(weights, components)


def _pair_availability(
    inputs: ScoringInputs, windows: _Windows, request_rows: NDArray[np.int64], expert_rows: NDArray[np.int64]
) -> tuple[NDArray[np.float32], NDArray[np.int32]]:
    """(availability, free days) of some pairs; free days are int32 max where the request has no window."""
    n = request_rows.size
    free_days = np.full(n, np.iinfo(np.int32).max, dtype=np.int32)
    window = windows.of_request[request_rows]
    has = window < windows.start.size
    if has.any():
        experts, expert_index = np.unique(expert_rows[has], return_inverse=True)
        per_window = _window_free_days(inputs, windows, experts)  # (n_windows, n_distinct_experts)
        free_days[has] = per_window[window[has], np.asarray(expert_index).ravel()]
    availability = np.minimum(1.0, free_days / windows.need[request_rows]).astype(np.float32)
    return availability, free_days


# ---------------------------------------------------------------------------------------------------------------
# The fast path: one matrix product per chunk for semantic + bilinear features, filters per distinct window and
# language set, and a top-k that only looks at entries above each request's running k-th best.

#: Experts per matrix product call (see :func:`_chunk_scores`): large enough for BLAS to run at full speed, small
#: enough that a block of scores is still in cache when it is reduced.
_PRODUCT_BLOCK = 4096
#: Requests per selection step (filter bits, counts, top-k candidates) within a chunk.
_TILE_ROWS = 256
#: A feature column that at most this share of the requests use is added pair by pair instead of riding in the
#: matrix product (a country named by a handful of requests would otherwise cost a full product column). Decided on
#: the requests alone, so every chunk and every shard of the roster rounds the same way.
_SPARSE_SHARE = 1 / 64


@dataclass(frozen=True, slots=True)
class _ScoringPlan:
    """What every chunk of one :func:`shortlist` run shares, built once from the requests and the weights."""

    features: _Features
    request_block: NDArray[np.float32]  # (n_req, d + n_dense) weighted embeddings | dense request features
    n_dense: int
    semantic: bool  # the semantic weight is > 0 (else the product holds the features alone, per expert)
    sparse_pointer: NDArray[np.int64]  # (n_sparse + 1,) CSC of the pairwise request features
    sparse_requests: NDArray[np.int64]
    sparse_values: NDArray[np.float32]
    lexical: np.float32  # lexical weight, 0 to skip
    windows: _Windows
    cap: int  # free days are clipped to the most days any request needs
    language_sets: NDArray[np.float32]  # (n_sets, L_used) distinct language sets of requests that list some
    language_bits: NDArray[np.unsignedinteger] | None  # (n_sets, 1) the sets as bit masks when L_used <= 64
    language_row: NDArray[np.intp]  # (n_req,) row of the language table; the last row is "lists none"
    max_rates: NDArray[np.float64]  # (J,) distinct finite budget / days, ascending
    budget_rank: NDArray[np.integer]  # (n_req, 1) index of the request's max rate in max_rates; J without budget
    conflicts: sp.csc_matrix | None
    # Keys into the packed tables of a chunk (one bit per expert): distinct (window, need) pairs, language sets and
    # budget ranks, so that a request's filters are three row gathers of C / 8 bytes.
    availability_window: NDArray[np.intp]  # (n_avail,) free-days table row of each distinct (window, need)
    availability_need: NDArray[np.integer]  # (n_avail, 1)
    availability_key: NDArray[np.intp]  # (n_req,)
    budget_ranks: NDArray[np.integer]  # (n_budget, 1) distinct budget ranks
    budget_key: NDArray[np.intp]  # (n_req,)
    # Per feature source: source column -> column of the product (or -1), and -> pairwise column (or -1).
    dense_lookups: tuple[NDArray[np.int64], ...]
    sparse_lookups: tuple[NDArray[np.int64], ...]
    # Exact re-scoring of the candidates (see shortlist): the weights, the unweighted features and windows, and the
    # parts of the bound on |fast score - exact score| that do not depend on the chunk.
    weights: Weights
    context: _Context
    error_terms: int  # roundings on the longest path of a fast score, beyond the d of the embeddings
    error_scale: float  # the bound's scale from the features, lexical excluded (sum of |terms| it can reach)
    request_norm: float  # largest L2 norm of a request embedding
    request_lexical_norm: float  # largest L2 norm of a request's TF-IDF row (0 without lexical)


def _plan(inputs: ScoringInputs, weights: Weights) -> _ScoringPlan:
    req = inputs.requests
    n_req = len(req)
    feats = _features(inputs, weights)
    context = _context(inputs)
    q64 = inputs.request_embeddings.astype(np.float64)
    lexical_terms, request_lexical_norm = 0, 0.0
    if weights.lexical and inputs.request_lexical is not None and inputs.request_lexical.shape[0]:
        lexical_terms = int(np.diff(inputs.request_lexical.indptr).max())
        squares = np.asarray(inputs.request_lexical.multiply(inputs.request_lexical).sum(axis=1, dtype=np.float64))
        request_lexical_norm = float(np.sqrt(np.max(squares, initial=0.0)))
    used = np.count_nonzero(feats.request, axis=0)
    sparse = (used > 0) & (used <= _SPARSE_SHARE * n_req)
    dense = used > _SPARSE_SHARE * n_req
    n_feat = used.size
    route = np.full(n_feat, -(n_feat + 2), dtype=np.int64)  # unused columns: dropped
    route[dense] = np.arange(np.count_nonzero(dense))
    route[sparse] = -1 - np.arange(np.count_nonzero(sparse))
    request_sparse = sp.csc_matrix(feats.request[:, sparse])
    semantic = weights.semantic > 0
    parts = [np.float32(weights.semantic) * inputs.request_embeddings] if semantic else []
    request_block = np.ascontiguousarray(np.hstack([*parts, feats.request[:, dense]]), dtype=np.float32)

    windows = context.windows
    cap = int(windows.need.max()) if n_req else 1
    dtype = np.uint8 if cap <= np.iinfo(np.uint8).max else np.int32
    language_sets, language_row = np.unique(feats.request_languages, axis=0, return_inverse=True)
    language_row = np.asarray(language_row).ravel()
    wanted = feats.wants_language
    # Keep only the sets of requests that list languages; the others point past them ("lists none").
    keep_sets = np.unique(language_row[wanted])
    remap = np.full(language_sets.shape[0] + 1, keep_sets.size, dtype=np.intp)
    remap[keep_sets] = np.arange(keep_sets.size)
    language_row = np.where(wanted, remap[language_row], keep_sets.size).astype(np.intp)
    language_sets = np.ascontiguousarray(language_sets[keep_sets], dtype=np.float32)
    n_languages = language_sets.shape[1]
    language_bits = None
    if n_languages <= 64:
        bits = _bits_dtype(n_languages)
        powers = np.left_shift(np.ones(1, dtype=bits), np.arange(n_languages, dtype=bits))
        language_bits = np.bitwise_or.reduce(np.where(language_sets > 0, powers, bits(0)), axis=1)[:, None]

    # Over budget <=> day rate > max rate. Ranks among the distinct max rates turn that into a small-int compare.
    max_rates = np.unique(feats.max_rate[np.isfinite(feats.max_rate)])
    rank_dtype = np.int16 if max_rates.size < np.iinfo(np.int16).max else np.int32
    budget_rank = np.where(
        np.isfinite(feats.max_rate), np.searchsorted(max_rates, feats.max_rate), max_rates.size
    ).astype(rank_dtype)
    pair_codes, availability_key = np.unique(
        windows.of_request * (cap + 1) + windows.need.astype(np.int64), return_inverse=True
    )
    budget_ranks, budget_key = np.unique(budget_rank, return_inverse=True)
    dense_lookups, sparse_lookups = [], []
    for source in feats.sources:
        feature = source.lookup if source.lookup is not None else source.offset + np.arange(source.width)
        routed = np.where(feature >= 0, route[np.maximum(feature, 0)], -(n_feat + 2))
        dense_lookups.append(np.where(routed >= 0, routed, -1))
        sparse_lookups.append(np.where((routed < 0) & (routed > -(n_feat + 2)), -1 - routed, -1))
    return _ScoringPlan(
        features=feats,
        request_block=request_block,
        n_dense=int(np.count_nonzero(dense)),
        semantic=semantic,
        sparse_pointer=request_sparse.indptr.astype(np.int64),
        sparse_requests=request_sparse.indices.astype(np.int64),
        sparse_values=request_sparse.data.astype(np.float32),
        lexical=np.float32(weights.lexical if inputs.request_lexical is not None else 0.0),
        windows=windows,
        cap=cap,
        language_sets=language_sets,
        language_bits=language_bits,
        language_row=language_row,
        max_rates=max_rates,
        budget_rank=budget_rank[:, None],
        conflicts=inputs.conflicts.tocsc() if inputs.conflicts is not None and inputs.conflicts.nnz else None,
        availability_window=(pair_codes // (cap + 1)).astype(np.intp),
        availability_need=(pair_codes % (cap + 1)).astype(dtype)[:, None],
        availability_key=np.asarray(availability_key, dtype=np.intp).ravel(),
        budget_ranks=budget_ranks.astype(rank_dtype)[:, None],
        budget_key=np.asarray(budget_key, dtype=np.intp).ravel(),
        dense_lookups=tuple(dense_lookups),
        sparse_lookups=tuple(sparse_lookups),
        weights=weights,
        context=context,
        error_terms=n_feat + lexical_terms + 16,
        error_scale=_feature_scale(context.features, weights),
        request_norm=float(np.sqrt(np.max(np.einsum("ij,ij->i", q64, q64), initial=0.0))),
        request_lexical_norm=request_lexical_norm,
    )


def _feature_scale(features: _Features, weights: Weights) -> float:
    """A bound on ``sum |request feature x expert feature|`` over every bilinear term of a pair that passed the
    filters, weighted, plus the availability weight (the exact score adds it; the fast score does not).

    Themes, geography, language and Korean: the request side of each sums to at most 1 in absolute value (shares,
    0.5 + 0.5, an indicator), times the largest expert value (1 for the 0/1 matrices). Cost: ``has budget x has
    rate`` is at most 1 and ``rate x days / budget`` is at most 1 for a pair within budget.
    """
    largest_expert = max(
        [1.0] + [float(np.max(np.abs(s.matrix.data), initial=0.0)) for s in features.sources if s.matrix is not None]
    )
    scale = 2.0 * weights.cost + weights.availability
    for name, cols in features.columns.items():
        if name != "cost":
            request_sum = float(np.max(np.abs(features.request[:, cols]).sum(axis=1, dtype=np.float64), initial=0.0))
            scale += getattr(weights, name) * request_sum * largest_expert
    return scale


def _chunk_features(
    plan: _ScoringPlan, start: int, stop: int
) -> tuple[NDArray[np.float32], NDArray[np.int64], NDArray[np.int64], NDArray[np.float32]]:
    """Expert features of experts ``start:stop``: the (C, n_dense) block of the product, and the pairwise ones as
    ``(local row, pairwise column, value)``."""
    width = stop - start
    dense = np.zeros((width, plan.n_dense), dtype=np.float32)
    local_rows, sparse_cols, sparse_values = [], [], []
    for source, dense_lookup, sparse_lookup in zip(
        plan.features.sources, plan.dense_lookups, plan.sparse_lookups, strict=True
    ):
        if source.matrix is not None:
            local, indices, data = _csr_rows(source.matrix, slice(start, stop))
            column = dense_lookup[indices]
            hit = column >= 0
            dense[local[hit], column[hit]] = data[hit]
            column = sparse_lookup[indices]
            hit = column >= 0
            if hit.any():
                local_rows.append(local[hit])
                sparse_cols.append(column[hit])
                sparse_values.append(np.asarray(data[hit], dtype=np.float32))
        else:
            assert source.values is not None
            block = source.values(slice(start, stop))
            hit = dense_lookup >= 0
            dense[:, dense_lookup[hit]] = block[:, hit]
            for j in np.flatnonzero(sparse_lookup >= 0):
                rows = np.flatnonzero(block[:, j])
                local_rows.append(rows)
                sparse_cols.append(np.full(rows.size, sparse_lookup[j]))
                sparse_values.append(block[rows, j])
    if not local_rows:
        empty = np.zeros(0, dtype=np.int64)
        return dense, empty, empty, np.zeros(0, dtype=np.float32)
    return dense, np.concatenate(local_rows), np.concatenate(sparse_cols), np.concatenate(sparse_values)


def _bits_dtype(n_bits: int) -> type[np.unsignedinteger]:
    for dtype in (np.uint8, np.uint16, np.uint32, np.uint64):
        if n_bits <= np.iinfo(dtype).bits:
            return dtype
    raise ValueError(f"no unsigned integer type holds {n_bits} bits")


class _Buffers:
    """Arrays reused from chunk to chunk: fresh ones would cost page faults on every chunk."""

    def __init__(self) -> None:
        self._arrays: dict[str, NDArray[np.float32]] = {}

    def get(self, name: str, shape: tuple[int, int]) -> NDArray[np.float32]:
        """A C-contiguous float32 array of ``shape`` (contents undefined)."""
        size = shape[0] * shape[1]
        flat = self._arrays.get(name)
        if flat is None or flat.size < size:
            flat = self._arrays[name] = np.empty(size, dtype=np.float32)
        return flat[:size].reshape(shape)


def _chunk_scores(
    inputs: ScoringInputs, plan: _ScoringPlan, start: int, stop: int, buffers: _Buffers | None = None
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Weighted score of every component but availability (constant once filtered), and its row maxima.

    Returns
    -------
    score : (n_requests, stop - start) float32
    row_max : (n_requests,) float32; the largest score of each request in the chunk (-inf for an empty chunk).

    The product runs over blocks of at most :data:`_PRODUCT_BLOCK` experts from the chunk's start, each finished
    (pairwise features, lexical) and reduced to its row maxima while it is still in cache. These *fast* scores
    only select candidates: BLAS rounds an entry differently depending on the kernel and its place in a call, which
    :func:`_chunk_slack` bounds and :func:`rescore_pairs` removes.
    """
    buffers = buffers if buffers is not None else _Buffers()
    width = stop - start
    n_req = plan.request_block.shape[0]
    score = buffers.get("score", (n_req, width))
    row_max = np.full(n_req, -np.inf, dtype=np.float32)
    expert_dense, local, column, values = _chunk_features(plan, start, stop)
    order = np.argsort(local, kind="stable")  # pairwise entries by expert, each expert's in source order
    local, column, values = local[order], column[order], values[order]
    flat = score.reshape(-1)
    for b0 in range(0, width, _PRODUCT_BLOCK):
        b1 = min(b0 + _PRODUCT_BLOCK, width)
        block = slice(b0, b1)
        _product_block(inputs, plan, start + b0, start + b1, expert_dense[block], score[:, block], buffers)
        lo, hi = np.searchsorted(local, [b0, b1])
        if hi > lo:
            # Few requests use these columns: add the (request, expert) products one by one. add.at sums repeated
            # pairs in a fixed order (the expert's features, then the request's), so every chunking rounds the same.
            begin = plan.sparse_pointer[column[lo:hi]]
            lengths = plan.sparse_pointer[column[lo:hi] + 1] - begin
            entry = lo + np.repeat(np.arange(hi - lo), lengths)
            at = np.arange(entry.size) + np.repeat(begin - (np.cumsum(lengths) - lengths), lengths)
            np.add.at(flat, plan.sparse_requests[at] * width + local[entry], plan.sparse_values[at] * values[entry])
        if plan.lexical:
            lexical = _lexical_block(inputs, start + b0, start + b1)
            assert lexical is not None
            score[:, block] += plan.lexical * lexical
        np.maximum(row_max, np.max(score[:, block], axis=1), out=row_max)
    return score, row_max


def _product_block(
    inputs: ScoringInputs,
    plan: _ScoringPlan,
    b0: int,
    b1: int,
    expert_dense: NDArray[np.float32],
    out: NDArray[np.float32],
    buffers: _Buffers,
) -> None:
    """Write ``w_semantic * semantic + dense features`` of experts ``b0:b1`` into ``out`` (n_requests, b1 - b0)."""
    width = b1 - b0
    d = inputs.doc_embeddings.shape[1] if plan.semantic else 0
    offsets = inputs.doc_offsets[b0 : b1 + 1]
    counts = np.diff(offsets)
    if not plan.semantic or bool(np.all(counts == 1)):
        # One row per expert: its text (if semantic counts) and its features side by side.
        docs = buffers.get("docs", (width, d + plan.n_dense))
        if d:
            docs[:, :d] = inputs.doc_embeddings[int(offsets[0]) : int(offsets[-1])]
        docs[:, d:] = expert_dense
        np.matmul(plan.request_block, docs.T, out=out)
        return
    # Each text carries its expert's features: max, mean and the top-k weighted mean all commute with adding a
    # per-expert constant. An expert without texts gets one zero text, so its semantic part is 0.
    d0, d1 = int(offsets[0]), int(offsets[-1])
    slots = np.maximum(counts, 1)
    starts = np.zeros(width + 1, dtype=np.int64)
    np.cumsum(slots, out=starts[1:])
    docs = np.zeros((int(starts[-1]), d + plan.n_dense), dtype=np.float32)
    owner = np.repeat(np.arange(width), counts)
    docs[starts[owner] + np.arange(d1 - d0) - (offsets[owner] - d0), :d] = inputs.doc_embeddings[d0:d1]
    docs[:, d:] = expert_dense[np.repeat(np.arange(width), slots)]
    doc_scores = plan.request_block @ docs.T
    if inputs.aggregation == "max":
        out[:] = np.maximum.reduceat(doc_scores, starts[:-1], axis=1)
    else:
        out[:] = aggregate(doc_scores, starts, method=inputs.aggregation)[0]


@dataclass(frozen=True, slots=True)
class _ChunkFilters:
    """The hard filters of one chunk, packed 8 experts a byte (bit set where the pair passes), by plan key, and how
    many experts each filter removed per request."""

    availability_bits: NDArray[np.uint8]  # (n_avail, ceil(C / 8)) by distinct (window, need)
    language_bits: NDArray[np.uint8]  # (n_sets + 1, ceil(C / 8)) by language set; last row: lists none
    budget_bits: NDArray[np.uint8]  # (n_budget, ceil(C / 8)) by distinct budget rank
    conflict_rows: NDArray[np.int64]  # conflict pairs of the chunk, sorted by request
    conflict_cols: NDArray[np.int64]
    filtered: NDArray[np.int64]  # (n_req, len(FILTERS)) removed by each filter in this chunk


def _chunk_filters(inputs: ScoringInputs, plan: _ScoringPlan, start: int, stop: int) -> _ChunkFilters:
    width = stop - start
    n_req = len(inputs.requests)
    windows = plan.windows
    n_windows = windows.start.size
    filtered = np.zeros((n_req, len(FILTERS)), dtype=np.int64)

    # Availability: free days per distinct window (clipped to the largest need, so they fit a byte), then one bit row
    # per distinct (window, need); the unset bits are the experts it removes.
    free = np.full((n_windows + 1, width), plan.cap, dtype=plan.availability_need.dtype)
    if n_windows:
        per_window = _window_free_days(inputs, windows, slice(start, stop))
        free[:n_windows] = np.minimum(per_window, plan.cap)
    availability_bits = np.packbits(free[plan.availability_window] >= plan.availability_need, axis=1)
    filtered[:, 0] = width - _count_bits(availability_bits)[plan.availability_key]

    # Language: one row per distinct language set (bit masks when the languages in use fit 64 bits).
    n_sets = plan.language_sets.shape[0]
    speaks = np.ones((n_sets + 1, width), dtype=bool)
    if n_sets:
        expert_languages = _expert_languages(plan.features, inputs.experts, slice(start, stop), width)
        if plan.language_bits is not None:
            bits = plan.language_bits.dtype.type
            powers = np.left_shift(np.ones(1, dtype=bits), np.arange(expert_languages.shape[1], dtype=bits))
            spoken = np.bitwise_or.reduce(np.where(expert_languages, powers, bits(0)), axis=1)
            np.not_equal(plan.language_bits & spoken, 0, out=speaks[:n_sets])
        else:
            speaks[:n_sets] = (plan.language_sets @ expert_languages.T.astype(np.float32)) > 0
        filtered[:, 2] = (width - np.count_nonzero(speaks, axis=1))[plan.language_row]

    # Budget: over budget <=> more distinct max rates lie below the day rate than below the request's own.
    rate = inputs.experts.day_rate[start:stop]
    rate_rank = np.searchsorted(plan.max_rates, np.where(np.isnan(rate), -np.inf, rate)).astype(plan.budget_rank.dtype)
    budget_bits = np.packbits(rate_rank <= plan.budget_ranks, axis=1)
    filtered[:, 3] = width - _count_bits(budget_bits)[plan.budget_key]

    if plan.conflicts is not None:
        block = plan.conflicts[:, start:stop].tocoo()
        order = np.lexsort((block.col, block.row))
        conflict_rows, conflict_cols = block.row[order].astype(np.int64), block.col[order].astype(np.int64)
        filtered[:, 1] = np.bincount(conflict_rows, minlength=n_req)
    else:
        conflict_rows = conflict_cols = np.zeros(0, dtype=np.int64)
    return _ChunkFilters(
        availability_bits=availability_bits,
        language_bits=np.packbits(speaks, axis=1),
        budget_bits=budget_bits,
        conflict_rows=conflict_rows,
        conflict_cols=conflict_cols,
        filtered=filtered,
    )


def _select_tile(
    score: NDArray[np.float32],
    row_max: NDArray[np.float32],
    filters: _ChunkFilters,
    plan: _ScoringPlan,
    threshold: NDArray[np.float32],
    k: int,
    r0: int,
    r1: int,
    slack: float,
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float32], NDArray[np.int64]]:
    """Requests ``r0:r1`` of a chunk: which pairs pass every filter, how many, and the top-k candidates (fast scores
    within ``slack`` of ``threshold``, the running k-th best exact score less the availability weight)."""
    keep = filters.availability_bits[plan.availability_key[r0:r1]]
    language_row = plan.language_row[r0:r1]
    if bool(np.any(language_row < plan.language_sets.shape[0])):
        keep &= filters.language_bits[language_row]
    if bool(np.any(plan.budget_rank[r0:r1] < plan.max_rates.size)):
        keep &= filters.budget_bits[plan.budget_key[r0:r1]]
    if filters.conflict_rows.size:
        a, b = np.searchsorted(filters.conflict_rows, [r0, r1])
        cols = filters.conflict_cols[a:b]
        clear = np.invert(np.right_shift(np.uint8(128), (cols & 7).astype(np.uint8)))
        np.bitwise_and.at(keep, (filters.conflict_rows[a:b] - r0, cols >> 3), clear)
    eligible = _count_bits(keep)
    rows, cols, values = candidates(
        score[r0:r1], threshold[r0:r1], k, slack=slack, packed_keep=keep, row_max=row_max[r0:r1]
    )
    return rows + r0, cols, values, eligible


def _count_bits(packed: NDArray[np.uint8]) -> NDArray[np.int64]:
    """Set bits per row of a packed (np.packbits) 2-D array."""
    if hasattr(np, "bitwise_count"):  # numpy >= 2
        return np.bitwise_count(packed).sum(axis=1, dtype=np.int64)
    return np.unpackbits(packed, axis=1).sum(axis=1, dtype=np.int64)


def _threads() -> int:
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        available = os.cpu_count() or 1
    return max(1, min(available, 4))


#: Below this many (request, expert) pairs a run stays in the calling thread: lanes would not pay for themselves.
_LANE_MIN_PAIRS = 1 << 22


class _Lane:
    """One worker's share of a run, over the chunks it took (in column order): its exact top-k, the candidates chosen
    on fast scores and not re-scored yet (``pending``), counts and buffers.

    Re-scoring waits: most candidates of a chunk are pushed out by later chunks, so a candidate is re-scored only
    when the pending pool grows large or at the end, if its fast score still leaves it a chance (see
    :func:`_prune`). The pool is kept to a few k per request, so memory stays O(n_requests x k).
    """

    def __init__(self, n_req: int, k: int) -> None:
        self.topk = TopK(n_req, k)
        self.pending_rows = np.zeros(0, dtype=np.int64)
        self.pending_cols = np.zeros(0, dtype=np.int64)
        self.pending_fast = np.zeros(0, dtype=np.float32)
        self.slack = 0.0  # the largest slack of the chunks the pending candidates came from
        self.filtered = np.zeros((n_req, len(FILTERS)), dtype=np.int64)
        self.eligible = np.zeros(n_req, dtype=np.int64)
        self.buffers = _Buffers()


def _kth_largest(rows: NDArray[np.int64], values: NDArray[np.float64], n_rows: int, k: int) -> NDArray[np.float64]:
    """(n_rows,) the k-th largest of ``values`` in each row (-inf where a row holds fewer than k)."""
    out = np.full(n_rows, -np.inf)
    if rows.size < k:
        return out
    order = np.lexsort((-values, rows))
    first = np.searchsorted(rows[order], np.arange(n_rows))
    full = np.bincount(rows, minlength=n_rows) >= k
    out[full] = values[order][first[full] + k - 1]
    return out


def _prune(lanes: Sequence[_Lane], weights: Weights, n_req: int, k: int) -> NDArray[np.float64]:
    """Drop the pending candidates that can no longer enter the top-k; return the bound that decided it.

    Every pending pair's exact score lies within ``slack`` of ``fast + w_availability``. Per request, ``bound`` is
    the k-th largest *lower* bound over the exact scores held and the pending pairs (``fast + w_a - slack``): k
    pairs are sure to reach it, so a pending pair whose *upper* bound (``fast + w_a + slack``) is below it has k
    pairs strictly better and is dropped, and a new pair can enter only if its fast score is at least
    ``bound - w_a - its chunk's slack``.
    """
    slack = max(lane.slack for lane in lanes)
    shift = float(weights.availability)
    held_rows = np.concatenate([np.repeat(np.arange(n_req), k)] * len(lanes))
    held = np.concatenate([lane.topk.values.ravel().astype(np.float64) for lane in lanes])
    rows = np.concatenate([held_rows] + [lane.pending_rows for lane in lanes])
    lower = np.concatenate([held] + [lane.pending_fast.astype(np.float64) + (shift - slack) for lane in lanes])
    finite = lower > -np.inf
    bound = _kth_largest(rows[finite], lower[finite], n_req, k)
    for lane in lanes:
        alive = lane.pending_fast.astype(np.float64) + (shift + slack) >= bound[lane.pending_rows]
        lane.pending_rows, lane.pending_cols = lane.pending_rows[alive], lane.pending_cols[alive]
        lane.pending_fast = lane.pending_fast[alive]
    return bound


def _flush(inputs: ScoringInputs, plan: _ScoringPlan, lane: _Lane) -> None:
    """Re-score the lane's pending candidates exactly and fold them into its top-k."""
    if lane.pending_rows.size:
        exact = rescore_pairs(
            inputs,
            plan.weights,
            lane.pending_rows,
            lane.pending_cols,
            availability=np.ones(lane.pending_rows.size, dtype=np.float32),  # every candidate passed the filter
            context=plan.context,
        )
        lane.topk.merge(lane.pending_rows, lane.pending_cols, exact)
    lane.pending_rows = np.zeros(0, dtype=np.int64)
    lane.pending_cols = np.zeros(0, dtype=np.int64)
    lane.pending_fast = np.zeros(0, dtype=np.float32)
    lane.slack = 0.0


def _run_chunk(
    inputs: ScoringInputs, plan: _ScoringPlan, lane: _Lane, start: int, stop: int, tick: Callable[[str], None]
) -> None:
    """Score experts ``start:stop`` and fold them into the lane."""
    n_req = plan.request_block.shape[0]
    score, row_max = _chunk_scores(inputs, plan, start, stop, lane.buffers)
    tick("scores (product, pairwise features, lexical)")
    filters = _chunk_filters(inputs, plan, start, stop)
    lane.filtered += filters.filtered
    tick("filters per window / language set, counts")
    # Bounds are exact scores (availability included); fast scores leave the availability weight out.
    n_kept = lane.topk.k
    bound = _prune([lane], plan.weights, n_req, n_kept) if lane.pending_rows.size else lane.topk.threshold
    threshold = _lowered(np.asarray(bound, dtype=np.float32), plan.weights.availability)
    slack = _chunk_slack(inputs, plan, start, stop)
    rows, cols, fast = [], [], []
    for r0 in range(0, n_req, _TILE_ROWS):
        r1 = min(r0 + _TILE_ROWS, n_req)
        tile_rows, tile_cols, tile_fast, counts = _select_tile(
            score, row_max, filters, plan, threshold, n_kept, r0, r1, slack
        )
        lane.eligible[r0:r1] += counts
        rows.append(tile_rows)
        cols.append(tile_cols)
        fast.append(tile_fast)
    tick("masks, eligible counts, top-k candidates")
    if rows:
        lane.pending_rows = np.concatenate([lane.pending_rows, *rows]).astype(np.int64)
        lane.pending_cols = np.concatenate([lane.pending_cols, *(c.astype(np.int64) + start for c in cols)])
        lane.pending_fast = np.concatenate([lane.pending_fast, *fast]).astype(np.float32)
        lane.slack = max(lane.slack, slack)
        _prune([lane], plan.weights, n_req, n_kept)
        if lane.pending_rows.size > _PENDING_PER_REQUEST * n_kept * n_req:
            _flush(inputs, plan, lane)
            tick("exact re-scoring of the candidates")
    tick("top-k merge")


#: A lane re-scores its pending candidates once they outnumber this many times k per request (ties can keep many
#: within the margin); otherwise at the end.
_PENDING_PER_REQUEST = 4


def _chunk_slack(inputs: ScoringInputs, plan: _ScoringPlan, start: int, stop: int) -> float:
    """A bound on ``|fast score - exact score|`` (availability left out of both) for the pairs of experts
    ``start:stop`` that pass the filters; see :func:`shortlist` for the argument. Rises with the embeddings' norms,
    so it is taken per chunk from the chunk's texts."""
    terms, scale = plan.error_terms, plan.error_scale
    d0, d1 = int(inputs.doc_offsets[start]), int(inputs.doc_offsets[stop])
    if plan.semantic:
        docs = inputs.doc_embeddings[d0:d1]
        doc_norm = float(np.sqrt(np.max(np.einsum("ij,ij->i", docs, docs), initial=0.0))) * 1.01
        terms += docs.shape[1]
        scale += plan.weights.semantic * plan.request_norm * doc_norm
    if plan.lexical and inputs.doc_lexical is not None:
        texts = inputs.doc_lexical[d0:d1]
        squares = np.asarray(texts.multiply(texts).sum(axis=1, dtype=np.float64))
        scale += plan.weights.lexical * plan.request_lexical_norm * float(np.sqrt(np.max(squares, initial=0.0))) * 1.01
    slack = 2.0 * terms * _UNIT_ROUNDOFF * scale + terms * 2.0**-140
    if not math.isfinite(slack):
        raise InputError("the embeddings or TF-IDF rows hold non-finite values (nan or inf): nothing can be ranked")
    return slack


#: float32 unit roundoff: a correctly rounded operation is off by at most this times its result.
_UNIT_ROUNDOFF = 2.0**-24


def _shortlist(
    inputs: ScoringInputs,
    *,
    k: int,
    weights: Weights,
    chunk_size: int,
    progress: Callable[[int], object] | None = None,
    timer: Callable[[str], None] | None = None,
    lanes: int | None = None,
) -> Ranking:
    """:func:`shortlist` without the argument checks.

    ``timer(step)`` is called after each step, from the thread that ran it (profiling). ``lanes`` forces the number
    of worker threads (default: the cores available, for problems large enough).
    """
    tick = timer if timer is not None else (lambda step: None)
    n_req, n_exp = inputs.shape
    plan = _plan(inputs, weights)
    bounds = [(start, min(start + chunk_size, n_exp)) for start in range(0, n_exp, chunk_size)]
    if lanes is None:
        lanes = _threads() if n_req * n_exp >= _LANE_MIN_PAIRS else 1
    lanes = max(1, min(lanes, len(bounds)))
    tick("setup")
    with _BLAS.single():
        if lanes == 1:
            workers = [_Lane(n_req, k)]
            for start, stop in bounds:
                _run_chunk(inputs, plan, workers[0], start, stop, tick)
                if progress is not None:
                    progress(stop - start)
        else:
            workers = _run_lanes(inputs, plan, bounds, lanes=lanes, k=k, tick=tick, progress=progress)
    # The lanes' pending candidates face every lane's bounds at once, then the survivors are re-scored.
    if any(lane.pending_rows.size for lane in workers):
        _prune(workers, weights, n_req, k)
    for lane in workers:
        _flush(inputs, plan, lane)
    tick("exact re-scoring of the candidates")
    acc = workers[0].topk
    for other in workers[1:]:
        # Lanes hold interleaved chunks; merge sorts by (score desc, column asc), so the order they come in is moot.
        acc.merge(np.repeat(np.arange(n_req), k), other.topk.columns.ravel(), other.topk.values.ravel())
    experts, scores = acc.result()
    filtered, eligible = workers[0].filtered, workers[0].eligible
    for other in workers[1:]:
        filtered += other.filtered
        eligible += other.eligible
    return Ranking(experts=experts, scores=scores, filtered=filtered, eligible=eligible)


def _run_lanes(
    inputs: ScoringInputs,
    plan: _ScoringPlan,
    bounds: list[tuple[int, int]],
    *,
    lanes: int,
    k: int,
    tick: Callable[[str], None],
    progress: Callable[[int], object] | None,
) -> list[_Lane]:
    """Chunks on ``lanes`` threads (BLAS on one thread each): every step of a chunk (product, filters, selection)
    runs in parallel with the other lanes' chunks, with no barrier between steps. Chunks are queued in column
    order, so each lane sees its chunks in column order, as :class:`TopK` requires."""
    n_req = plan.request_block.shape[0]
    local = threading.local()
    created: list[_Lane] = []
    lock = threading.Lock()

    def task(start: int, stop: int) -> None:
        lane = getattr(local, "lane", None)
        if lane is None:
            lane = local.lane = _Lane(n_req, k)
            with lock:
                created.append(lane)
        _run_chunk(inputs, plan, lane, start, stop, tick)

    with ThreadPoolExecutor(max_workers=lanes) as pool:
        futures = [pool.submit(task, start, stop) for start, stop in bounds]
        try:
            for future, (start, stop) in zip(futures, bounds, strict=True):
                future.result()
                if progress is not None:
                    progress(stop - start)
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return created


class _BlasThreads:
    """BLAS limited to one thread while any :func:`shortlist` runs in this process.

    The lanes are the parallelism: BLAS threads on top of them would only oversubscribe the cores. (Results do not
    depend on it: fast scores only choose candidates, see :func:`shortlist`.) Reference-counted, so
    concurrent runs in one process keep the limit until the last one ends. Other BLAS users in the process get one
    thread meanwhile.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._limiter: Any = None
        self._controller: Any = None

    @contextlib.contextmanager
    def single(self) -> Iterator[None]:
        with self._lock:
            if self._users == 0:
                self._limiter = self._limit()
            self._users += 1
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0 and self._limiter is not None:
                    self._limiter.restore_original_limits()
                    self._limiter = None

    def _limit(self) -> Any:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - a dependency of scikit-learn, so normally present
            return None
        if self._controller is None:
            self._controller = ThreadpoolController()  # scans the loaded libraries once (about 1 ms)
        return self._controller.limit(limits=1, user_api="blas")


_BLAS = _BlasThreads()


def shortlist(
    inputs: ScoringInputs,
    *,
    k: int = 10,
    weights: Weights | None = None,
    chunk_size: int = 8192,
    progress: Callable[[int], object] | None = None,
    lanes: int | None = None,
) -> Ranking:
    """Top-k experts per request by total score, after the hard filters.

    Parameters
    ----------
    inputs : ScoringInputs
    k : int
        Experts per request (>= 1).
    weights : Weights, optional
        Default: :meth:`Weights.default`.
    chunk_size : int
        Experts per chunk; memory is O(n_requests x chunk_size) per worker thread (about 40 MiB per thread for 1,000
        requests at the default). Neither rankings nor scores depend on it, to the bit.
    progress : callable, optional
        Called with the number of experts done after each chunk, from the calling thread.
    lanes : int, optional
        Worker threads over the chunks (default: the cores available, for problems large enough; a Dask shard uses
        1). Neither rankings nor scores depend on it, to the bit.

    Returns
    -------
    Ranking
        Per request, the ``k`` pairs that passed the filters with the highest exact score (:func:`rescore_pairs`),
        ties broken by the lower expert row (rows are in ``expert_id`` order: by id); ``scores`` are those exact
        scores.

    Notes
    -----
    *Why the result cannot depend on the machine, the chunk size, the lanes or the shards.* Two scores exist for a
    pair. The *exact* score ``x`` (:func:`rescore_pairs`) is computed from the pair's own data in an order fixed by
    the code: products of float32 inputs in float64 (exact), sums in a fixed tree order, the text aggregation of
    :func:`gscp_match.core._aggregate.aggregate`, the weighted sum in float64, one rounding to float32. Every step is a
    correctly rounded IEEE operation whose operands are the same whatever else is computed, so ``x`` is the same on
    every machine and every BLAS, and in every batch of pairs. The *fast* score ``f`` comes from one float32 BLAS
    product per block; its last bits depend on the kernel and the blocking. Ranking is decided on ``x`` alone:
    the top-k is the k largest ``(x, -row)``, which is a function of the inputs only.

    *Why the true top-k is never missed.* Let ``delta`` bound ``|f - (x - w_availability)|`` for every pair that
    passed the filters (the fast score leaves the constant availability term out). Any float32 dot product of
    ``n`` terms, summed in any order, with or without FMA, is off by at most ``n u sum|a_i b_i|`` (to first order,
    ``u = 2**-24``; every BLAS sgemm computes each entry as such a sum). Here ``n`` counts the ``d`` embedding
    terms, the feature columns, the TF-IDF terms and a few roundings of inputs, weights, aggregation and the final
    sum (16 allowed), and ``sum|a_i b_i|`` is at most ``w_semantic |q| |e| + w_lexical |q_lex| |d_lex|`` plus the
    features' share of it (at most 1 per component and 2 for cost, for a pair within budget); norms are measured,
    per chunk. ``delta`` is twice that first-order estimate, room for the higher-order terms
    (:func:`_chunk_slack`; about ``1e-4`` for 384-dim unit embeddings and scores of order 1), so every pair's exact
    score lies in ``[f + w_a - delta, f + w_a + delta]`` (``w_a`` the
    availability weight), and exactly at ``x`` once re-scored. Per request, let ``L`` be the k-th largest *lower*
    bound over the pairs kept so far: k pairs are sure to score at least ``L``, so a pair whose *upper* bound is
    below ``L`` has k pairs strictly better and cannot be in the top-k. A lane therefore keeps every pair of a chunk
    with ``f >= L - w_a - delta`` (:func:`gscp_match.core._topk.candidates` with ``slack=delta``, cuts rounded down),
    and
    drops a kept pair as soon as its upper bound falls below ``L`` (:func:`_prune`). Within one chunk a request may
    cut to its own k-th best fast score ``f_k`` first: k pairs have ``x - w_a > f_k - delta``, and a pair with
    ``f < f_k - 2 delta`` has ``x - w_a < f_k - delta``. At the end the lanes' survivors face all lanes' bounds, are
    re-scored to ``x`` (about k per request, more only where pairs tie within ``delta``) and merged by ``(x desc,
    row asc)``; shards merge the same way, so they return the same k pairs with the same scores. A kernel with
    another rounding can only change which pairs are re-scored, never the answer.

    Large problems run on one worker thread per available core (at most 4). While a call runs, BLAS is limited to
    one thread in the whole process (threadpoolctl), so lanes do not oversubscribe the cores.

    Examples
    --------
    >>> from gscp_match import Matcher, load_demo
    >>> demo = load_demo()
    >>> m = Matcher(embedder="hashing", cache=None).fit(demo.experts, evidence=demo.evidence)
    >>> _, inputs = m.scoring_inputs(demo.requests.head(3))
    >>> result = shortlist(inputs, k=5)
    >>> result.experts.shape, bool((shortlist(inputs, k=5, chunk_size=7).experts == result.experts).all())
    ((3, 5), True)
    """
    if k < 1:
        raise InputError(f"k must be >= 1, got {k}")
    if chunk_size < 1:
        raise InputError(f"chunk_size must be >= 1, got {chunk_size}")
    if lanes is not None and lanes < 1:
        raise InputError(f"lanes must be >= 1 (or None for the cores available), got {lanes}")
    weights = weights if weights is not None else Weights.default()
    return _shortlist(inputs, k=k, weights=weights, chunk_size=chunk_size, progress=progress, lanes=lanes)


def pair_components(
    inputs: ScoringInputs, request_rows: NDArray[np.int64], expert_rows: NDArray[np.int64]
) -> tuple[dict[str, NDArray[np.float32]], NDArray[np.int32], NDArray[np.int64]]:
    """Components for given (request, expert) pairs, for explanations.

    Computed for the pairs only (never a whole request x expert block): each pair's texts are scored row by row,
    features are gathered per pair, free days per (distinct window, distinct expert). The components are the exact
    ones of :func:`rescore_pairs`: for a pair :func:`shortlist` ranked, ``float32(sum(w[c] * components[c]))``
    summed in float64 in :data:`COMPONENTS` order is its reported score, to the bit.

    Returns
    -------
    components : dict of name -> (n_pairs,) float32
    free_days : (n_pairs,) int32 (int32 max where the request has no window)
    best_doc : (n_pairs,) int64; the expert text (row of ``doc_embeddings``) that matched the request best

    Examples
    --------
    >>> from gscp_match import Matcher, load_demo
    >>> demo = load_demo()
    >>> m = Matcher(embedder="hashing", cache=None).fit(demo.experts, evidence=demo.evidence)
    >>> _, inputs = m.scoring_inputs(demo.requests.head(2))
    >>> components, free, best = pair_components(inputs, np.array([0, 1]), np.array([3, 3]))
    >>> sorted(components) == sorted(COMPONENTS), free.shape, best.shape
    (True, (2,), (2,))
    """
    request_rows = np.asarray(request_rows, dtype=np.int64).ravel()
    expert_rows = np.asarray(expert_rows, dtype=np.int64).ravel()
    if request_rows.shape != expert_rows.shape:
        raise InputError(f"request_rows and expert_rows differ in length: {request_rows.size} and {expert_rows.size}")
    context = _context(inputs)
    components, best_doc = _pair_parts(inputs, context.features, request_rows, expert_rows)
    components["availability"], free_days = _pair_availability(inputs, context.windows, request_rows, expert_rows)
    return {c: components[c] for c in COMPONENTS}, free_days, best_doc
