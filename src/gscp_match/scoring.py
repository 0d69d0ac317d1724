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

Work is done over chunks of experts, so memory beyond the inputs is ``O(n_requests x chunk_size)``, and results are
identical for every chunk size. Themes, geography, language share, Korean experience and cost are bilinear in small
request and expert feature vectors, so they are computed by one extra small matrix product per chunk.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from importlib import resources
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from . import calendar
from .aggregate import aggregate
from .arrays import ExpertArrays, RequestArrays
from .topk import TopK

__all__ = [
    "COMPONENTS",
    "FILTERS",
    "Weights",
    "ScoringInputs",
    "Shortlist",
    "shortlist",
    "component_block",
    "pair_components",
    "conflict_matrix",
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


@dataclass(frozen=True, slots=True)
class Weights:
    """Weights of the score components (non-negative). The defaults live in ``models/default_weights.json``.

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
                raise ValueError(f"weight {f.name!r} must be a finite number >= 0, got {value!r}")

    @classmethod
    def from_mapping(cls, values: Mapping[str, float]) -> Weights:
        """Weights from a mapping; components not named get 0, unknown names raise."""
        unknown = sorted(set(values) - set(COMPONENTS))
        if unknown:
            raise ValueError(f"unknown weight(s) {', '.join(unknown)}; valid components: {', '.join(COMPONENTS)}")
        return cls(**{k: float(v) for k, v in values.items()})

    @classmethod
    def from_file(cls, path: str | Path) -> Weights:
        """Weights from a JSON file ``{"weights": {"semantic": 0.5, ...}}`` (or a flat mapping)."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls.from_mapping(data.get("weights", data))

    @classmethod
    def default(cls) -> Weights:
        """The shipped default weights (``models/default_weights.json``)."""
        text = (resources.files("gscp_match.models") / "default_weights.json").read_text(encoding="utf-8")
        data = json.loads(text)
        return cls.from_mapping(data["weights"])

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
    conflicts : (n_requests, n_experts) CSR bool; conflict-of-interest pairs (see :func:`conflict_matrix`).
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
            raise ValueError(f"embeddings must be 2-D with the same width, got {q.shape} and {d.shape}")
        if q.shape[0] != n_req:
            raise ValueError(f"request_embeddings has {q.shape[0]} rows for {n_req} requests")
        if self.doc_offsets.shape != (n_exp + 1,) or self.doc_offsets[-1] != d.shape[0]:
            raise ValueError("doc_offsets must be (n_experts + 1,) and end at the number of expert texts")
        if (self.request_lexical is None) != (self.doc_lexical is None):
            raise ValueError("give both request_lexical and doc_lexical, or neither")
        if self.conflicts is not None and self.conflicts.shape != (n_req, n_exp):
            raise ValueError(f"conflicts must be ({n_req}, {n_exp}), got {self.conflicts.shape}")

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_requests, n_experts)``."""
        return len(self.requests), len(self.experts)


@dataclass(frozen=True, slots=True)
class Shortlist:
    """Top-k experts per request.

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


def conflict_matrix(requests: RequestArrays, experts: ExpertArrays) -> sp.csr_matrix:
    """(n_requests, n_experts) CSR bool: the expert's conflicts name the request's country, city or client, or the
    request excludes the expert."""
    vocabulary = {t: i for i, t in enumerate(experts.conflict_vocabulary)}
    rows, cols = [], []
    for r, tokens in enumerate(requests.conflict_tokens):
        for t in tokens:
            if t in vocabulary:
                rows.append(r)
                cols.append(vocabulary[t])
    request_tokens = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(requests), len(vocabulary))
    )
    named = (request_tokens @ experts.conflicts.T).tocsr()
    ex_rows = [r for r, excluded in enumerate(requests.exclude) for _ in excluded]
    ex_ids = [e for excluded in requests.exclude for e in excluded]
    ex_cols = experts.positions(ex_ids) if ex_ids else np.zeros(0, dtype=np.int64)
    excluded = sp.csr_matrix((np.ones(len(ex_rows), dtype=np.float32), (ex_rows, ex_cols)), shape=named.shape)
    both = (named + excluded).tocsr()
    both.data = both.data > 0
    both.eliminate_zeros()
    return both.astype(bool)


# ---------------------------------------------------------------------------------------------------------------
# Bilinear features: themes, geography, language share, Korean experience, cost.


@dataclass(frozen=True, slots=True)
class _Features:
    """Request features (dense, weights folded in) and expert features (sparse) whose product is the weighted sum
    of themes + geography + language + korean + cost, and the language overlap count for the language filter."""

    request: NDArray[np.float32]  # (n_req, F)
    expert: sp.csr_matrix  # (n_exp, F)
    request_languages: NDArray[np.float32]  # (n_req, L_used)
    expert_languages: sp.csr_matrix  # (n_exp, L_used)
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


def _features(inputs: ScoringInputs, weights: Weights) -> _Features:
    req, exp = inputs.requests, inputs.experts
    blocks_r: list[NDArray[np.float64]] = []
    blocks_e: list[sp.spmatrix] = []
    columns: dict[str, slice] = {}  # a component's blocks are added one after another, so its columns are contiguous

    def add(name: str, request_block: NDArray[np.float64], expert_block: sp.spmatrix) -> None:
        start = sum(b.shape[1] for b in blocks_r)
        previous = columns.get(name, slice(start, start))
        columns[name] = slice(previous.start, start + request_block.shape[1])
        blocks_r.append(getattr(weights, name) * request_block)
        blocks_e.append(expert_block)

    add("themes", _row_share(req.themes).toarray(), exp.themes)

    # Geography: one column per country and region that some request names, 0.5 each.
    for request_index, expert_matrix in ((req.country, exp.countries), (req.region, exp.regions)):
        used, request_half = _half_one_hot(request_index)
        add("geography", request_half, expert_matrix[:, used])

    languages = np.unique(req.languages.indices)
    request_languages = req.languages[:, languages]
    expert_languages = exp.languages[:, languages].tocsr()
    add("language", _row_share(request_languages).toarray(), expert_languages)
    add("korean", req.wants_korean[:, None].astype(np.float64), sp.csr_matrix(exp.korean[:, None].astype(np.float32)))

    # cost = has_rate_e - rate_e * days_r / budget_r for requests with a budget, else 0.
    # A zero budget is kept finite (1e-6) so that a zero rate costs nothing and any other rate is filtered.
    has_budget = ~np.isnan(req.budget)
    need = np.maximum(req.days, 1).astype(np.float64)
    budget = np.where(has_budget, np.maximum(np.nan_to_num(req.budget), 1e-6), 1.0)
    per_rate = np.where(has_budget, need / budget, 0.0)
    has_rate = ~np.isnan(exp.day_rate)
    rate = np.where(has_rate, exp.day_rate, 0.0)
    max_rate = np.where(has_budget, np.nan_to_num(req.budget) / need, np.inf)
    add(
        "cost",
        np.stack([has_budget.astype(np.float64), -per_rate], axis=1),
        sp.csr_matrix(np.stack([has_rate.astype(np.float64), rate], axis=1)),
    )

    return _Features(
        request=np.hstack(blocks_r).astype(np.float32),
        expert=sp.hstack(blocks_e, format="csr", dtype=np.float32),
        request_languages=request_languages.toarray().astype(np.float32),
        expert_languages=expert_languages.astype(np.float32),
        wants_language=np.asarray(req.languages.sum(axis=1)).ravel() > 0,
        max_rate=max_rate,
        columns=columns,
    )


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


def _free_days(inputs: ScoringInputs, windows: _Windows, start: int, stop: int) -> NDArray[np.int32]:
    """(n_requests, stop - start) free working days; requests without a window get int32 max."""
    exp = inputs.experts
    no_window = np.full((1, stop - start), np.iinfo(np.int32).max, dtype=np.int32)
    if windows.start.size == 0:
        return np.repeat(no_window, len(inputs.requests), axis=0)
    prefix = calendar.free_prefix(
        exp.busy_offsets,
        exp.busy_start,
        exp.busy_end,
        slice(start, stop),
        origin=windows.origin,
        workdays=windows.workdays,
    )
    per_window = calendar.window_free_days(prefix, windows.start, windows.end, origin=windows.origin)
    # One gather from the distinct windows plus the "no window" row.
    return np.take(np.vstack([per_window, no_window]), windows.of_request, axis=0)


# ---------------------------------------------------------------------------------------------------------------
# Blocks.


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
    lexical = None
    if inputs.request_lexical is not None and inputs.doc_lexical is not None:
        lex_docs = (inputs.request_lexical @ inputs.doc_lexical[d0:d1].T).toarray().astype(np.float32)
        lexical = lex_docs if single else aggregate(lex_docs, local, method=inputs.aggregation)[0]
    return semantic, lexical


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
    language_overlap = feats.request_languages @ feats.expert_languages[start:stop].T.toarray()
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
    expert_block = f.expert[start:stop].toarray()
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


def shortlist(
    inputs: ScoringInputs,
    *,
    k: int = 10,
    weights: Weights | None = None,
    chunk_size: int = 16384,
    progress: Callable[[int], None] | None = None,
) -> Shortlist:
    """Top-k experts per request by total score, after the hard filters.

    Parameters
    ----------
    inputs : ScoringInputs
    k : int
        Experts per request (>= 1).
    weights : Weights, optional
        Default: :meth:`Weights.default`.
    chunk_size : int
        Experts per chunk; memory is O(n_requests x chunk_size). Results do not depend on it.
    progress : callable, optional
        Called with the number of experts done after each chunk.

    Returns
    -------
    Shortlist
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    weights = weights if weights is not None else Weights.default()
    n_req, n_exp = inputs.shape
    feats = _features(inputs, weights)
    windows = _windows(inputs)
    inv_need = (1.0 / windows.need).astype(np.float32)[:, None]
    acc = TopK(n_req, k)
    filtered = np.zeros((n_req, len(FILTERS)), dtype=np.int64)
    eligible = np.zeros(n_req, dtype=np.int64)
    for start in range(0, n_exp, chunk_size):
        stop = min(start + chunk_size, n_exp)
        semantic, lexical = _similarity_block(inputs, start, stop)
        score = semantic * np.float32(weights.semantic)
        if lexical is not None and weights.lexical:
            score += np.float32(weights.lexical) * lexical
        score += feats.request @ feats.expert[start:stop].T.toarray()
        free = _free_days(inputs, windows, start, stop)
        if weights.availability:
            # float32 throughout: int32 x float32 would promote the whole block to float64.
            availability = np.multiply(free, inv_need, dtype=np.float32)
            np.minimum(availability, np.float32(1.0), out=availability)
            availability *= np.float32(weights.availability)
            score += availability
        masks = _mask_block(inputs, feats, free, windows, start, stop)
        removed = np.zeros(score.shape, dtype=bool)
        for i, name in enumerate(FILTERS):
            filtered[:, i] += np.count_nonzero(masks[name], axis=1)
            removed |= masks[name]
        eligible += (stop - start) - np.count_nonzero(removed, axis=1)
        score[removed] = -np.inf
        acc.push(score, start)
        if progress is not None:
            progress(stop - start)
    experts, scores = acc.result()
    return Shortlist(experts=experts, scores=scores, filtered=filtered, eligible=eligible)


def pair_components(
    inputs: ScoringInputs, request_rows: NDArray[np.int64], expert_rows: NDArray[np.int64]
) -> tuple[dict[str, NDArray[np.float32]], NDArray[np.int32], NDArray[np.int64]]:
    """Components for given (request, expert) pairs, for explanations.

    Returns
    -------
    components : dict of name -> (n_pairs,) float32
    free_days : (n_pairs,) int32 (int32 max where the request has no window)
    best_doc : (n_pairs,) int64; the expert text (row of ``doc_embeddings``) that matched the request best
    """
    request_rows = np.asarray(request_rows, dtype=np.int64)
    expert_rows = np.asarray(expert_rows, dtype=np.int64)
    n = request_rows.size
    components = {c: np.zeros(n, dtype=np.float32) for c in COMPONENTS}
    free_days = np.zeros(n, dtype=np.int32)
    best_doc = np.full(n, -1, dtype=np.int64)
    context = _context(inputs)
    for e in np.unique(expert_rows):
        which = np.flatnonzero(expert_rows == e)
        block, _, free = component_block(inputs, int(e), int(e) + 1, context=context)
        for c in COMPONENTS:
            components[c][which] = block[c][request_rows[which], 0]
        free_days[which] = free[request_rows[which], 0]
        d0, d1 = int(inputs.doc_offsets[e]), int(inputs.doc_offsets[e + 1])
        if d1 > d0:
            sims = inputs.request_embeddings[request_rows[which]] @ inputs.doc_embeddings[d0:d1].T
            best_doc[which] = d0 + np.argmax(sims, axis=1)
    return components, free_days, best_doc
