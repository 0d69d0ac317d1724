"""Past one machine: the scoring core and profile encoding on Dask workers.

Scoring (:func:`distributed_shortlist`) cuts the roster into shards of contiguous expert rows, runs the same
:func:`gscp_match.core._scoring.shortlist` on each shard (every component and hard filter: the shard carries its slice
of the expert arrays, texts, TF-IDF rows and conflict columns; the requests are shared), and merges the per-shard
top-k into the global top-k with the core's tie rule: score descending, then expert row ascending (rows are sorted
by ``expert_id``, so ties go to the smaller id). Filter counts and eligible counts are sums over shards. Each shard
returns its exact top-k: every score a shard reports is the exact score of
:func:`gscp_match.core._scoring.rescore_pairs`,
a function of the pair alone (not of the shard, its blocking or the worker's BLAS), and the global top-k by
(exact score, row) is the merge of the shards' top-k by the same key. So the result is the single-process one:
same ids, same order, same scores, to the bit. (Shard boundaries still fall on multiples of ``chunk_size``, so a
shard's chunks are the single-process run's chunks; correctness does not rest on it.)

Encoding (:func:`run_shard_jobs`, used by :meth:`gscp_match.scale._store.ProfileStore.update`) sends one job per profile
store shard to the workers; each worker keeps the embedder it received in a process-wide table keyed by the
embedder's name, so the model is loaded once per worker process, however many shards it encodes. Workers write their
shards into the store folder themselves, so the folder must be shared.

Schedulers: ``"sync"`` (one thread, for debugging), ``"threads"`` (a thread pool in this process), ``"processes"``
(a process pool for this call), ``"local"`` (a ``LocalCluster`` started and closed for this call), a scheduler
address (``"tcp://10.0.0.5:8786"``), or a ``dask.distributed.Client`` you already hold (reuse it across calls:
starting a cluster costs seconds).

Nothing imports Dask until one of these functions runs; without Dask they raise an :class:`ImportError` that names
the extra: ``pip install 'gscp_match[distributed]'``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from gscp_match.core import _scoring as scoring
from gscp_match.core._arrays import ExpertArrays, RequestArrays
from gscp_match.core._scoring import FILTERS, Ranking, ScoringInputs, Weights
from gscp_match.core._topk import TopK
from gscp_match.errors import InputError
from gscp_match.scale._dask import (
    Scheduler,
    _connect,
    _map,
    _worker_slots,
    check_scheduler,
)
from gscp_match.scale._store import ShardEntry, StoreManifest
from gscp_match.tables._arrays import RequestConflicts, conflict_matrix, expert_arrays, expert_conflicts
from gscp_match.text._embed import Embedder
from gscp_match.text._lexical import LexicalIndex

if TYPE_CHECKING:

    from gscp_match.scale._store import ProfileStore

__all__ = [
    "distributed_shortlist",
    "merge_shortlists",
    "shard_bounds",
    "shard_inputs",
    "store_shortlist",
]

log = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------------------------
# Shards and the merge (pure numpy).


def shard_bounds(n_experts: int, *, n_shards: int, chunk_size: int) -> NDArray[np.int64]:
    """Boundaries of up to ``n_shards`` shards of contiguous experts, each a whole number of chunks.

    Chunks are spread as evenly as possible; there are never more shards than chunks.

    Parameters
    ----------
    n_experts, n_shards, chunk_size : int

    Returns
    -------
    (n_used + 1,) int64
        Shard ``i`` is experts ``bounds[i]:bounds[i+1]``; ``bounds[0] == 0``, ``bounds[-1] == n_experts``.

    Examples
    --------
    >>> shard_bounds(10, n_shards=3, chunk_size=3).tolist()
    [0, 6, 9, 10]
    >>> shard_bounds(0, n_shards=4, chunk_size=8).tolist()
    [0, 0]
    """
    if n_shards < 1 or chunk_size < 1 or n_experts < 0:
        raise InputError(
            f"need n_experts >= 0, n_shards >= 1 and chunk_size >= 1; got {n_experts}, {n_shards}, {chunk_size}"
        )
    n_chunks = -(-n_experts // chunk_size)
    used = max(1, min(n_shards, n_chunks))
    per_shard = np.full(used, n_chunks // used, dtype=np.int64)
    per_shard[: n_chunks % used] += 1
    bounds = np.zeros(used + 1, dtype=np.int64)
    np.cumsum(per_shard * chunk_size, out=bounds[1:])
    return np.minimum(bounds, n_experts)


def _slice_experts(experts: ExpertArrays, start: int, stop: int) -> ExpertArrays:
    b0, b1 = int(experts.busy_offsets[start]), int(experts.busy_offsets[stop])
    return replace(
        experts,
        ids=experts.ids[start:stop],
        korean=experts.korean[start:stop],
        day_rate=experts.day_rate[start:stop],
        capacity=experts.capacity[start:stop],
        themes=experts.themes[start:stop],
        languages=experts.languages[start:stop],
        regions=experts.regions[start:stop],
        countries=experts.countries[start:stop],
        busy_offsets=experts.busy_offsets[start : stop + 1] - b0,
        busy_start=experts.busy_start[b0:b1],
        busy_end=experts.busy_end[b0:b1],
    )


def shard_inputs(inputs: ScoringInputs, start: int, stop: int) -> ScoringInputs:
    """The scoring inputs of experts ``start:stop`` against every request.

    The shard carries its rows of every expert array, its texts (``doc_embeddings``, ``doc_offsets`` rebased to
    0, ``doc_lexical``) and its columns of ``conflicts``; the requests, their embeddings and TF-IDF rows, the
    holidays and the aggregation are shared. Dense arrays are views, not copies.

    Examples
    --------
    >>> from gscp_match import Matcher, load_demo
    >>> demo = load_demo()
    >>> m = Matcher(embedder="hashing", cache=None).fit(demo.experts, evidence=demo.evidence)
    >>> _, inputs = m.scoring_inputs(demo.requests.head(3))
    >>> shard_inputs(inputs, 10, 30).shape
    (3, 20)
    """
    n_exp = len(inputs.experts)
    if not 0 <= start <= stop <= n_exp:
        raise ValueError(f"shard {start}:{stop} is outside the {n_exp} experts")
    d0, d1 = int(inputs.doc_offsets[start]), int(inputs.doc_offsets[stop])
    return replace(
        inputs,
        experts=_slice_experts(inputs.experts, start, stop),
        doc_embeddings=inputs.doc_embeddings[d0:d1],
        doc_offsets=inputs.doc_offsets[start : stop + 1] - d0,
        doc_lexical=inputs.doc_lexical[d0:d1] if inputs.doc_lexical is not None else None,
        conflicts=inputs.conflicts[:, start:stop].tocsr() if inputs.conflicts is not None else None,
    )


def merge_shortlists(parts: Sequence[Ranking], offsets: Sequence[int], *, k: int) -> Ranking:
    """Merge per-shard shortlists into the global top-``k``.

    Parameters
    ----------
    parts : sequence of Ranking
        One per shard, over the same requests; ``experts`` are rows local to the shard (``-1`` for empty slots).
    offsets : sequence of int
        First global expert row of each shard.
    k : int
        Length of the merged shortlist (>= 1).

    Returns
    -------
    Ranking
        ``experts`` and ``scores`` ``(n_requests, k)``: best score first, ties to the lower global row, ``-1`` and
        ``-inf`` where fewer than ``k`` experts passed; ``filtered`` and ``eligible`` summed over shards.

    Examples
    --------
    >>> a = Ranking(np.array([[0, 1]]), np.array([[0.9, 0.5]], np.float32), np.zeros((1, 4), np.int64),
    ...               np.array([2]))
    >>> b = Ranking(np.array([[0, -1]]), np.array([[0.9, -np.inf]], np.float32), np.ones((1, 4), np.int64),
    ...               np.array([1]))
    >>> merged = merge_shortlists([a, b], [0, 5], k=2)
    >>> merged.experts.tolist(), merged.eligible.tolist()
    ([[0, 5]], [3])
    """
    if k < 1:
        raise InputError(f"k must be >= 1, got {k}")
    if len(parts) != len(offsets) or not parts:
        raise ValueError(f"need one offset per part and at least one part; got {len(parts)} parts, {len(offsets)}")
    n_req = parts[0].experts.shape[0]
    acc = TopK(n_req, k)  # the same merge that joins the lanes of one process
    for part, offset in zip(parts, offsets, strict=True):
        row, slot = np.nonzero(part.experts >= 0)
        acc.merge(
            row, part.experts[row, slot].astype(np.int64) + int(offset), part.scores[row, slot].astype(np.float32)
        )
    best_rows, best_scores = acc.result()
    return Ranking(
        experts=best_rows,
        scores=best_scores,
        filtered=np.sum([p.filtered for p in parts], axis=0, dtype=np.int64).reshape(n_req, len(FILTERS)),
        eligible=np.sum([p.eligible for p in parts], axis=0, dtype=np.int64).reshape(n_req),
    )


# ---------------------------------------------------------------------------------------------------------------
# Running tasks on a scheduler.


# ---------------------------------------------------------------------------------------------------------------
# Scoring.


def _score_shard(inputs: ScoringInputs, *, k: int, weights: Weights, chunk_size: int) -> Ranking:
    # One lane: the scheduler already runs one shard per worker thread (lanes never change the result).
    return scoring.shortlist(inputs, k=k, weights=weights, chunk_size=chunk_size, lanes=1)


def distributed_shortlist(
    inputs: ScoringInputs,
    *,
    k: int = 10,
    weights: Weights | None = None,
    scheduler: Scheduler = "threads",
    n_shards: int | None = None,
    chunk_size: int = 8192,
) -> Ranking:
    """Top-k experts per request, scored shard by shard on Dask workers; the same result as
    :func:`gscp_match.core._scoring.shortlist`.

    Parameters
    ----------
    inputs : ScoringInputs
        ``(n_requests, n_experts)`` problem, as :meth:`gscp_match.Matcher.scoring_inputs` builds it.
    k : int
        Experts per request (>= 1).
    weights : Weights, optional
        Default: :meth:`Weights.default`.
    scheduler : str or dask.distributed.Client
        ``"sync"``, ``"threads"``, ``"processes"``, ``"local"`` (a LocalCluster for this call), a scheduler
        address, or a Client.
    n_shards : int, optional
        Shards of contiguous experts; default: the worker threads available. Shards are whole numbers of chunks,
        so there are at most ``ceil(n_experts / chunk_size)``.
    chunk_size : int
        Experts scored at a time inside a shard (memory per task is ``O(n_requests x chunk_size)``).

    Returns
    -------
    Ranking
        Identical to ``scoring.shortlist(inputs, k=k, weights=weights, chunk_size=chunk_size)``.

    Examples
    --------
    >>> from gscp_match import Matcher, load_demo
    >>> demo = load_demo()
    >>> m = Matcher(embedder="hashing", cache=None).fit(demo.experts, evidence=demo.evidence)
    >>> _, inputs = m.scoring_inputs(demo.requests.head(3))
    >>> one = scoring.shortlist(inputs, k=5, chunk_size=16)
    >>> many = distributed_shortlist(inputs, k=5, scheduler="sync", n_shards=4, chunk_size=16)
    >>> bool((one.experts == many.experts).all() and (one.scores == many.scores).all())
    True
    """
    if k < 1:
        raise InputError(f"k must be >= 1, got {k}")
    if chunk_size < 1:
        raise InputError(f"chunk_size must be >= 1, got {chunk_size}")
    if n_shards is not None and n_shards < 1:
        raise InputError(f"n_shards must be >= 1, got {n_shards}")
    check_scheduler(scheduler)
    weights = weights if weights is not None else Weights.default()
    n_exp = len(inputs.experts)
    with _connect(scheduler) as client:
        wanted = n_shards if n_shards is not None else _worker_slots(client)
        bounds = shard_bounds(n_exp, n_shards=wanted, chunk_size=chunk_size)
        shards = [shard_inputs(inputs, int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        log.info("scoring %d requests x %d experts in %d shards", len(inputs.requests), n_exp, len(shards))
        score = partial(_score_shard, k=k, weights=weights, chunk_size=chunk_size)
        parts = _map(score, shards, scheduler=scheduler, client=client)
    return merge_shortlists(parts, bounds[:-1].tolist(), k=k)


# ---------------------------------------------------------------------------------------------------------------
# Encoding.

# ---------------------------------------------------------------------------------------------------------------
# Scoring straight from a profile store.


@dataclass(frozen=True, slots=True)
class _RequestSide:
    """What every store shard is scored against (sent once to each worker)."""

    directory: str
    manifest: StoreManifest
    requests: RequestArrays
    conflicts: RequestConflicts
    request_embeddings: NDArray[np.float32]
    request_lexical: sp.csr_matrix | None
    lexical: LexicalIndex | None
    holidays: NDArray[np.int64]
    aggregation: str
    k: int
    weights: Weights
    chunk_size: int


def _store_shard_inputs(entry: ShardEntry, side: _RequestSide) -> ScoringInputs:
    from gscp_match.scale._store import read_shards

    roster = read_shards(side.directory, side.manifest, [entry])
    experts = expert_arrays(roster.experts)
    # A request may exclude experts held by other shards: conflict_matrix looks up this shard's ids only.
    conflicts = conflict_matrix(side.conflicts, expert_conflicts(roster.experts), experts.ids)
    doc_lexical = side.lexical.transform(roster.passages) if side.lexical is not None else None
    return ScoringInputs(
        requests=side.requests,
        experts=experts,
        request_embeddings=side.request_embeddings,
        doc_embeddings=roster.doc_embeddings,
        doc_offsets=roster.doc_offsets,
        request_lexical=side.request_lexical if side.lexical is not None else None,
        doc_lexical=doc_lexical,
        conflicts=conflicts,
        holidays=side.holidays,
        aggregation=side.aggregation,
    )


def _score_store_shard(entry: ShardEntry, side: _RequestSide) -> Ranking:
    inputs = _store_shard_inputs(entry, side)
    return scoring.shortlist(inputs, k=side.k, weights=side.weights, chunk_size=side.chunk_size, lanes=1)


def store_shortlist(
    store: ProfileStore | str | os.PathLike[str],
    requests: RequestArrays,
    request_embeddings: NDArray[np.float32],
    *,
    embedder: Embedder | str | os.PathLike[str],
    conflicts: RequestConflicts,
    k: int = 10,
    weights: Weights | None = None,
    scheduler: Scheduler = "threads",
    lexical: LexicalIndex | None = None,
    request_lexical: sp.csr_matrix | None = None,
    holidays: NDArray[np.int64] | Sequence[int] = (),
    aggregation: str = "max",
    chunk_size: int = 8192,
) -> Ranking:
    """Top-k experts per request over a whole profile store, each worker reading its own shards.

    Only the requests travel from this process; every task reads one store shard from the shared folder, rebuilds
    its expert arrays, conflict columns and TF-IDF rows, and runs :func:`gscp_match.core._scoring.shortlist` on it. The
    roster never has to fit in this process's memory. Each stored passage is scored as a document of its own, with
    raw cosines: the document pooling and per-request standardization of :class:`gscp_match.Matcher` need the
    roster in memory (``Matcher(store=...)`` does both on top of the same store).

    Parameters
    ----------
    store : ProfileStore or path
        Must be reachable at the same path from every worker.
    requests : RequestArrays
        ``(n_requests,)`` the round (:func:`gscp_match.tables._arrays.request_arrays`).
    request_embeddings : (n_requests, d) float32
        From the store's embedder (checked by name).
    embedder : Embedder, str or path
        The embedder the requests were encoded with; must be the store's.
    k, weights, scheduler, chunk_size
        As in :func:`distributed_shortlist`.
    lexical : LexicalIndex, optional
        A fitted TF-IDF index; each shard's passages are transformed with it. Give ``request_lexical`` too.
    request_lexical : CSR (n_requests, n_terms), optional
        ``lexical.transform(request texts)``.
    holidays : (n_holidays,) int64 day numbers
    conflicts : RequestConflicts
        The requests' conflict tokens and excluded ids (:func:`gscp_match.tables.request_conflicts` of the
        requests table); each shard turns them into its columns of the conflict matrix. Required, so that the
        conflict-of-interest filter cannot be dropped by omission.
    aggregation : {"max", "mean", "topk"}

    Returns
    -------
    Ranking
        Expert rows index the store's profiles in id order (:meth:`ProfileStore.ids`). Equal to
        ``scoring.shortlist`` on the same roster built in one process (to the bit when the stored vectors are the
        ones that process holds).
    """
    from gscp_match.scale._store import ProfileStore

    if k < 1:
        raise InputError(f"k must be >= 1, got {k}")
    if chunk_size < 1:
        raise InputError(f"chunk_size must be >= 1, got {chunk_size}")
    if (lexical is None) != (request_lexical is None):
        raise InputError("give both lexical and request_lexical, or neither")
    check_scheduler(scheduler)
    store = store if isinstance(store, ProfileStore) else ProfileStore(store)
    manifest = store.check_embedder(embedder)
    excluded = np.array(sorted({e for ids in conflicts.exclude for e in ids}), dtype=object)
    if excluded.size:  # each shard sees only its own ids: check the whole store once, as ExpertArrays.positions does
        unknown = excluded[~np.isin(excluded, store.ids())]
        if unknown.size:
            raise InputError(f"unknown expert id(s): {', '.join(map(repr, unknown[:5]))}")
    q = np.ascontiguousarray(request_embeddings, dtype=np.float32)
    if q.shape != (len(requests), manifest.dimension):
        raise InputError(f"request_embeddings must be ({len(requests)}, {manifest.dimension}), got {q.shape}")
    side = _RequestSide(
        directory=str(store.directory),
        manifest=manifest,
        requests=requests,
        conflicts=conflicts,
        request_embeddings=q,
        request_lexical=request_lexical,
        lexical=lexical,
        holidays=np.asarray(holidays, dtype=np.int64),
        aggregation=aggregation,
        k=k,
        weights=weights if weights is not None else Weights.default(),
        chunk_size=chunk_size,
    )
    entries = list(manifest.shards)
    if not entries:
        empty = np.zeros(len(requests), dtype=np.int64)
        return Ranking(
            experts=np.full((len(requests), k), -1, dtype=np.int64),
            scores=np.full((len(requests), k), -np.inf, dtype=np.float32),
            filtered=np.zeros((len(requests), len(FILTERS)), dtype=np.int64),
            eligible=empty,
        )
    offsets = np.concatenate([[0], np.cumsum([e.profiles for e in entries])[:-1]]).astype(np.int64)
    with _connect(scheduler) as client:
        parts = _map(_score_store_shard, entries, scheduler=scheduler, client=client, shared=side)
    return merge_shortlists(parts, offsets.tolist(), k=k)
