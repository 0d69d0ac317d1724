"""Retrieval quality: hit@k, recall@k, reciprocal rank, average precision and nDCG@k against graded judgments.

The core works on one matrix: ``ranked``, shape ``(n_requests, width)``, the relevance grade of the item shown at
each rank (column 0 is rank 1), 0 for an unjudged item and for padding after a short ranking. Rows are requests.
Every metric returns one value per request, shape ``(n_requests,)`` float64; means are taken by the caller
(:meth:`Evaluation.summary`).

Definitions (``rel_i`` the grade at rank ``i``, ``R`` the number of judged items with grade >= ``threshold``):

============== ================================================================================================
hit@k          1 if some item in the first ``k`` ranks has ``rel_i >= threshold``, else 0
recall@k       (items in the first ``k`` ranks with ``rel_i >= threshold``) / ``R``
rr             1 / (rank of the first item with ``rel_i >= threshold``), 0 if none is ranked
ap             ``sum(precision@i for every rank i holding a relevant item) / R`` over the whole ranking given:
               relevant items the ranking does not contain count as misses (uninterpolated, TREC style)
ndcg@k         ``DCG@k / IDCG@k``, ``DCG@k = sum_{i<=k} gain(rel_i) / log2(i + 1)``; IDCG@k is the DCG of the
               judged grades sorted best first. Graded: every grade > 0 counts, whatever ``threshold`` is.
============== ================================================================================================

The gain is ``"linear"`` (``gain(rel) = rel``) by default, the same as :func:`sklearn.metrics.ndcg_score`, so the
numbers can be checked against scikit-learn; ``"exponential"`` (``2**rel - 1``, Burges et al. 2005) weighs the top
grade more. On a 0-3 scale the two differ little in ranking of systems.

One metric is per *item* instead of per request: the pairwise loss (:func:`pairwise_loss`, the score of the
expertise benchmark of Stelmakh et al. that this library is measured on). For each expert, over every pair of requests
the expert's judgments grade differently, it is the share of weight (``|grade difference|``) that the scores order
the wrong way, a tie in the scores counting half; 0 is perfect, 0.5 a constant score. It compares an expert's
*scores* across requests, so it needs scores, not ranks. :func:`evaluate_pairwise` computes it from a score table
and a judgment table.

At the edge, :func:`evaluate` turns a ranking table (``request_id, <item>, rank`` or ``score``) and a judgment table
(``request_id, <item>, relevance``) into these matrices; :func:`read_rankings` and :func:`read_judgments` read them
from files (a history of past selections also serves as judgments) with errors that name the file, row and column.

>>> ranked = np.array([[0, 3, 1], [2, 0, 0]])
>>> reciprocal_rank(ranked).tolist()
[0.5, 1.0]
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.stats import rankdata

from gscp_match.errors import InputError, Problem
from gscp_match.tables._schema import cell_text

if TYPE_CHECKING:
    from gscp_match.tables._io import RawTable

__all__ = [
    "GAINS",
    "Evaluation",
    "hit_at_k",
    "recall_at_k",
    "reciprocal_rank",
    "average_precision",
    "dcg_at_k",
    "ndcg_at_k",
    "ranked_relevance",
    "evaluate",
    "pairwise_loss",
    "PairwiseEvaluation",
    "evaluate_pairwise",
    "read_rankings",
    "read_judgments",
]

log = logging.getLogger(__name__)

#: Valid values of ``gain=``: ``"linear"`` (``rel``, scikit-learn's) and ``"exponential"`` (``2**rel - 1``).
GAINS: tuple[str, ...] = ("linear", "exponential")


# ---------------------------------------------------------------------------------------------------------------
# Core: arrays in, one value per request out.


def _ranked(ranked: ArrayLike, name: str = "ranked") -> NDArray[np.float64]:
    matrix = np.asarray(ranked, dtype=np.float64)
    if matrix.ndim != 2:
        raise InputError(f"{name} must be 2-D (n_requests, width), got shape {matrix.shape}")
    if not np.all(np.isfinite(matrix)) or np.any(matrix < 0):
        raise InputError(f"{name} must hold finite grades >= 0")
    return matrix


def _cutoff(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise InputError(f"k must be an integer >= 1, got {k!r}")
    return int(k)


def _n_relevant(n_relevant: ArrayLike, n_requests: int, relevant: NDArray[np.bool_]) -> NDArray[np.float64]:
    counts = np.asarray(n_relevant, dtype=np.float64)
    if counts.shape != (n_requests,):
        raise InputError(f"n_relevant must have shape ({n_requests},), got {counts.shape}")
    if np.any(counts < relevant.sum(axis=1)):
        raise InputError("n_relevant is smaller than the number of relevant items in the ranking")
    return counts


def hit_at_k(ranked: ArrayLike, *, k: int, threshold: float = 1) -> NDArray[np.float64]:
    """Whether a relevant item is in the first ``k`` ranks.

    Parameters
    ----------
    ranked : array of float, shape (n_requests, width)
        Grade of the item at each rank (0: unjudged or padding).
    k : int
        Cutoff (>= 1); a ranking shorter than ``k`` counts as padded with irrelevant items.
    threshold : float, default 1
        Grades ``>= threshold`` are relevant.

    Returns
    -------
    ndarray of float64, shape (n_requests,), each 0 or 1

    Examples
    --------
    >>> hit_at_k([[0, 0, 2], [1, 0, 0]], k=2).tolist()
    [0.0, 1.0]
    """
    matrix = _ranked(ranked)
    return np.any(matrix[:, : _cutoff(k)] >= threshold, axis=1).astype(np.float64)


def recall_at_k(ranked: ArrayLike, n_relevant: ArrayLike, *, k: int, threshold: float = 1) -> NDArray[np.float64]:
    """Share of the relevant items found in the first ``k`` ranks.

    Parameters
    ----------
    ranked : array of float, shape (n_requests, width)
    n_relevant : array of int, shape (n_requests,)
        Judged items with grade ``>= threshold`` per request (ranked or not). A request with none gets 0.
    k : int
    threshold : float, default 1

    Returns
    -------
    ndarray of float64, shape (n_requests,)

    Examples
    --------
    >>> recall_at_k([[2, 0, 1, 0]], [4], k=3).tolist()
    [0.5]
    """
    matrix = _ranked(ranked)
    relevant = matrix >= threshold
    counts = _n_relevant(n_relevant, matrix.shape[0], relevant)
    found = relevant[:, : _cutoff(k)].sum(axis=1)
    return np.divide(found, counts, out=np.zeros(matrix.shape[0]), where=counts > 0)


def reciprocal_rank(ranked: ArrayLike, *, threshold: float = 1) -> NDArray[np.float64]:
    """1 / rank of the first relevant item (0 when the ranking holds none); its mean over requests is the MRR.

    Parameters
    ----------
    ranked : array of float, shape (n_requests, width)
    threshold : float, default 1

    Returns
    -------
    ndarray of float64, shape (n_requests,)

    Examples
    --------
    >>> reciprocal_rank([[0, 0, 1], [0, 0, 0]]).tolist()
    [0.3333333333333333, 0.0]
    """
    matrix = _ranked(ranked)
    relevant = matrix >= threshold
    first = np.argmax(relevant, axis=1)
    return np.where(relevant.any(axis=1), 1.0 / (first + 1.0), 0.0)


def average_precision(ranked: ArrayLike, n_relevant: ArrayLike, *, threshold: float = 1) -> NDArray[np.float64]:
    """Average precision over the whole ranking given; its mean over requests is the MAP.

    ``sum(precision@i * relevant_i) / n_relevant``: relevant items missing from the ranking count as misses, so a
    truncated ranking (a shortlist, or one cut by hard filters) is penalised for what it leaves out.

    Parameters
    ----------
    ranked : array of float, shape (n_requests, width)
    n_relevant : array of int, shape (n_requests,)
        Judged items with grade ``>= threshold`` per request. A request with none gets 0.
    threshold : float, default 1

    Returns
    -------
    ndarray of float64, shape (n_requests,)

    Examples
    --------
    >>> average_precision([[1, 0, 1]], [2]).tolist()  # (1/1 + 2/3) / 2
    [0.8333333333333333]
    """
    matrix = _ranked(ranked)
    relevant = matrix >= threshold
    counts = _n_relevant(n_relevant, matrix.shape[0], relevant)
    ranks = np.arange(1, matrix.shape[1] + 1, dtype=np.float64)
    precision = np.cumsum(relevant, axis=1) / ranks
    total = np.sum(precision * relevant, axis=1)
    return np.divide(total, counts, out=np.zeros(matrix.shape[0]), where=counts > 0)


def _gain(grades: NDArray[np.float64], gain: str) -> NDArray[np.float64]:
    if gain == "linear":
        return grades
    if gain == "exponential":
        return np.exp2(grades) - 1.0
    raise InputError(f"unknown gain {gain!r}; valid: {', '.join(GAINS)}")


def dcg_at_k(ranked: ArrayLike, *, k: int, gain: str = "linear") -> NDArray[np.float64]:
    """Discounted cumulative gain of the first ``k`` ranks: ``sum gain(rel_i) / log2(i + 1)``.

    Parameters
    ----------
    ranked : array of float, shape (n_requests, width)
    k : int
    gain : {"linear", "exponential"}, default "linear"

    Returns
    -------
    ndarray of float64, shape (n_requests,)

    Examples
    --------
    >>> dcg_at_k([[3, 0, 1]], k=3).tolist()  # 3/1 + 1/2
    [3.5]
    """
    matrix = _ranked(ranked)[:, : _cutoff(k)]
    discount = 1.0 / np.log2(np.arange(2, matrix.shape[1] + 2, dtype=np.float64))
    return _gain(matrix, gain) @ discount


def ndcg_at_k(ranked: ArrayLike, ideal: ArrayLike, *, k: int, gain: str = "linear") -> NDArray[np.float64]:
    """Normalised DCG@k with graded relevance; with the linear gain it equals :func:`sklearn.metrics.ndcg_score`.

    Parameters
    ----------
    ranked : array of float, shape (n_requests, width)
    ideal : array of float, shape (n_requests, m)
        Every judged grade of each request, in any order, padded with 0. Its best-first sort gives IDCG@k.
    k : int
    gain : {"linear", "exponential"}, default "linear"

    Returns
    -------
    ndarray of float64, shape (n_requests,); 0 for a request without any grade > 0.

    Examples
    --------
    >>> ndcg_at_k([[0, 2]], [[2, 0]], k=2).round(4).tolist()  # (2 / log2(3)) / 2
    [0.6309]
    """
    matrix = _ranked(ranked)
    judged = _ranked(ideal, "ideal")
    if judged.shape[0] != matrix.shape[0]:
        raise InputError(f"ideal has {judged.shape[0]} rows for {matrix.shape[0]} requests")
    best_first = -np.sort(-judged, axis=1)
    found = dcg_at_k(matrix, k=k, gain=gain)
    possible = dcg_at_k(best_first, k=k, gain=gain)
    return np.divide(found, possible, out=np.zeros(matrix.shape[0]), where=possible > 0)


def pairwise_loss(scores: ArrayLike, relevance: ArrayLike) -> NDArray[np.float64]:
    """Per-expert pairwise loss: the share of graded-pair weight that the scores order the wrong way.

    For expert ``e`` (a column), over every pair of requests ``i, j`` that ``e`` is judged on with
    ``relevance[i, e] > relevance[j, e]``: the pair weighs ``relevance[i, e] - relevance[j, e]`` and is wrong when
    ``scores[i, e] < scores[j, e]``, half wrong when they tie. The loss is the wrong weight over the total weight:
    0 when the scores order every such pair correctly, 0.5 for a constant score, 1 when every pair is reversed.
    Pairs with equal grades do not count. Scores are compared across requests as they are (no normalisation per
    request).

    Computed without forming the pairs, from average ranks ``R`` of the ``m`` judged entries of a column:
    ``sum_ij (r_i - r_j) sign(s_i - s_j) = 2 sum_i r_i (2 R(s)_i - m - 1)``, so the loss is
    ``(1 - sum_i r_i (2 R(s)_i - m - 1) / sum_i r_i (2 R(r)_i - m - 1)) / 2``; O(m log m) per expert.

    Parameters
    ----------
    scores : array of float, shape (n_requests, n_experts)
        Higher is better. ``-inf`` marks a judged pair that was not scored (e.g. left out of a shortlist): it ranks
        below every score and ties with the other ``-inf`` of its column. NaN is allowed only where ``relevance``
        is NaN.
    relevance : array of float, shape (n_requests, n_experts)
        Grades ``>= 0``; NaN where the expert is not judged on the request.

    Returns
    -------
    ndarray of float64, shape (n_experts,)
        In [0, 1]; NaN for an expert without two different judged grades (no pair to order).

    Examples
    --------
    >>> scores = [[0.9, 0.1], [0.2, 0.1], [0.5, np.nan]]
    >>> relevance = [[3, 2], [1, 0], [0, np.nan]]
    >>> pairwise_loss(scores, relevance).round(4).tolist()  # e0: pair (1, 0) reversed, weight 1 of 6; e1: a tie
    [0.1667, 0.5]
    """
    grades = np.asarray(relevance, dtype=np.float64)
    values = np.asarray(scores, dtype=np.float64)
    if grades.ndim != 2 or values.shape != grades.shape:
        raise InputError(
            f"scores and relevance must be 2-D (n_requests, n_experts) of one shape, got {values.shape} and "
            f"{grades.shape}"
        )
    judged = ~np.isnan(grades)
    if np.any(np.isinf(grades)) or np.any(grades[judged] < 0):
        raise InputError("relevance must hold finite grades >= 0 (NaN: not judged)")
    if np.any(np.isnan(values[judged])):
        raise InputError("scores must be a number (or -inf: not scored) wherever relevance is judged")
    if grades.size == 0:
        return np.full(grades.shape[1], np.nan)
    values = np.where(judged, values, np.nan)
    n_judged = judged.sum(axis=0)
    centred = 2.0 * np.nan_to_num(rankdata(values, axis=0, nan_policy="omit")) - (n_judged + 1)
    centred_ideal = 2.0 * np.nan_to_num(rankdata(grades, axis=0, nan_policy="omit")) - (n_judged + 1)
    weights = np.where(judged, grades, 0.0)
    agreement = np.sum(weights * centred, axis=0)
    possible = np.sum(weights * centred_ideal, axis=0)
    ratio = np.divide(agreement, possible, out=np.zeros(grades.shape[1]), where=possible > 0)
    return np.where(possible > 0, np.clip(0.5 * (1.0 - ratio), 0.0, 1.0), np.nan)


# ---------------------------------------------------------------------------------------------------------------
# Edge: tables in, per-request table out.


def _columns(table: pd.DataFrame, needed: Sequence[str], what: str) -> None:
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise InputError(f"{what}: missing column(s) {', '.join(missing)}; has {', '.join(map(str, table.columns))}")


def ranked_relevance(
    rankings: pd.DataFrame,
    judgments: pd.DataFrame,
    *,
    item: str = "expert_id",
    requests: Sequence[str] | None = None,
) -> tuple[NDArray[np.object_], NDArray[np.float64], NDArray[np.float64]]:
    """The core's matrices from a ranking table and a judgment table.

    Parameters
    ----------
    rankings : DataFrame
        ``request_id``, ``item`` and ``rank`` (1 = best) or, without ``rank``, ``score`` (higher is better; ties
        broken by item id). One row per (request, item).
    judgments : DataFrame
        ``request_id``, ``item``, ``relevance`` (grade >= 0; pairs not listed are 0).
    item : str, default "expert_id"
        The item id column (``"case_id"`` for cases).
    requests : sequence of str, optional
        Requests to return, in this order; default: those in ``rankings``, sorted. A request without rows in
        ``rankings`` gets an empty ranking (all zeros), as when hard filters removed every candidate.

    Returns
    -------
    request_ids : ndarray of object, shape (n_requests,)
    ranked : ndarray of float64, shape (n_requests, width)
        Grade at each rank; ``width`` is the longest ranking (at least 1).
    ideal : ndarray of float64, shape (n_requests, m)
        The request's judged grades, best first, padded with 0 (``m`` at least 1).

    Examples
    --------
    >>> runs = pd.DataFrame({"request_id": ["r", "r"], "expert_id": ["a", "b"], "rank": [1, 2]})
    >>> qrels = pd.DataFrame({"request_id": ["r", "r"], "expert_id": ["b", "c"], "relevance": [2, 1]})
    >>> _, ranked, ideal = ranked_relevance(runs, qrels)
    >>> ranked.tolist(), ideal.tolist()
    ([[0.0, 2.0]], [[2.0, 1.0]])
    """
    order_by = "rank" if "rank" in rankings.columns else "score"
    _columns(rankings, ["request_id", item, order_by], "rankings")
    _columns(judgments, ["request_id", item, "relevance"], "judgments")
    if rankings.duplicated(["request_id", item]).any():
        raise InputError(f"rankings: a (request_id, {item}) pair appears more than once")
    if judgments.duplicated(["request_id", item]).any():
        raise InputError(f"judgments: a (request_id, {item}) pair appears more than once")
    grades = pd.to_numeric(judgments["relevance"], errors="coerce").to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(grades)) or np.any(grades < 0):
        raise InputError("judgments: column 'relevance' must hold finite numbers >= 0")

    ids = np.asarray(sorted(rankings["request_id"].unique()) if requests is None else list(requests), dtype=object)
    if len(set(ids)) != ids.size:
        raise InputError("requests: an id appears more than once")
    row_of = pd.Series(np.arange(ids.size), index=pd.Index(ids, dtype=object))

    runs = rankings[rankings["request_id"].isin(row_of.index)]
    if order_by == "rank":
        runs = runs.sort_values(["request_id", "rank"], kind="stable")
    else:
        runs = runs.sort_values(["request_id", "score", item], ascending=[True, False, True], kind="stable")
    qrels = judgments.assign(relevance=grades)[["request_id", item, "relevance"]]
    graded = runs[["request_id", item]].merge(qrels, on=["request_id", item], how="left", validate="one_to_one")
    run_rows = row_of.loc[runs["request_id"].to_numpy()].to_numpy()
    run_cols = runs.groupby("request_id", sort=False).cumcount().to_numpy()
    ranked = np.zeros((ids.size, max(int(run_cols.max(initial=-1)) + 1, 1)))
    ranked[run_rows, run_cols] = graded["relevance"].fillna(0.0).to_numpy(dtype=np.float64)

    judged = qrels[qrels["request_id"].isin(row_of.index)].sort_values(
        ["request_id", "relevance"], ascending=[True, False], kind="stable"
    )
    judged_rows = row_of.loc[judged["request_id"].to_numpy()].to_numpy()
    judged_cols = judged.groupby("request_id", sort=False).cumcount().to_numpy()
    ideal = np.zeros((ids.size, max(int(judged_cols.max(initial=-1)) + 1, 1)))
    ideal[judged_rows, judged_cols] = judged["relevance"].to_numpy(dtype=np.float64)
    return ids, ranked, ideal


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Per-request metrics and the requests left out.

    Attributes
    ----------
    per_request : DataFrame
        One row per evaluated request: ``request_id, n_relevant``, then ``hit@k``, ``recall@k``, ``ndcg@k`` for
        every cutoff, ``rr`` (reciprocal rank) and ``ap`` (average precision).
    excluded : tuple of str
        Requests with no judged item at relevance >= threshold: no metric is defined for them.
    """

    per_request: pd.DataFrame
    excluded: tuple[str, ...]

    def summary(self) -> pd.Series:
        """Means over the evaluated requests (``rr`` -> ``mrr``, ``ap`` -> ``map``), plus ``n_requests`` and
        ``n_excluded``.

        >>> runs = pd.DataFrame({"request_id": ["r", "r"], "case_id": ["a", "b"], "rank": [1, 2]})
        >>> qrels = pd.DataFrame({"request_id": ["r"], "case_id": ["b"], "relevance": [3]})
        >>> float(evaluate(runs, qrels, item="case_id", k=(1,)).summary()["mrr"])
        0.5
        """
        metrics = self.per_request.drop(columns=["request_id", "n_relevant"])
        means = metrics.mean(axis=0) if len(metrics) else pd.Series(np.nan, index=metrics.columns)
        means = means.rename({"rr": "mrr", "ap": "map"})
        counts = pd.Series({"n_requests": float(len(self.per_request)), "n_excluded": float(len(self.excluded))})
        return pd.concat([means, counts])


def evaluate(
    rankings: pd.DataFrame,
    judgments: pd.DataFrame,
    *,
    item: str = "expert_id",
    k: Sequence[int] = (1, 3, 5, 10),
    threshold: float = 1,
    gain: str = "linear",
    requests: Sequence[str] | None = None,
) -> Evaluation:
    """Score rankings against graded judgments, one row per request.

    Parameters
    ----------
    rankings : DataFrame
        ``request_id``, ``item``, ``rank`` (or ``score``), e.g. ``Shortlists.experts`` or ``Shortlists.cases``.
    judgments : DataFrame
        ``request_id``, ``item``, ``relevance``.
    item : str, default "expert_id"
    k : sequence of int, default (1, 3, 5, 10)
        Cutoffs of hit@k, recall@k and nDCG@k.
    threshold : float, default 1
        Grade from which an item counts as relevant for hit, recall, RR and AP (nDCG uses every grade).
    gain : {"linear", "exponential"}, default "linear"
        nDCG gain; linear is scikit-learn's.
    requests : sequence of str, optional
        Requests to evaluate (default: those in ``rankings``). Pass every request asked, so that one whose
        shortlist came back empty scores 0 instead of vanishing.

    Returns
    -------
    Evaluation
        Requests without a relevant judgment are left out of ``per_request`` and listed in ``excluded``.

    Examples
    --------
    >>> runs = pd.DataFrame({"request_id": ["r", "r", "s"], "expert_id": ["a", "b", "a"], "rank": [1, 2, 1]})
    >>> qrels = pd.DataFrame({"request_id": ["r"], "expert_id": ["b"], "relevance": [2]})
    >>> result = evaluate(runs, qrels, k=(1, 2))
    >>> result.per_request[["hit@1", "hit@2", "ndcg@2"]].round(3).values.tolist(), result.excluded
    ([[0.0, 1.0, 0.631]], ('s',))
    """
    cutoffs = tuple(_cutoff(c) for c in k)
    if not cutoffs:
        raise InputError("k must name at least one cutoff, got none")
    if gain not in GAINS:
        raise InputError(f"unknown gain {gain!r}; valid: {', '.join(GAINS)}")
    ids, ranked, ideal = ranked_relevance(rankings, judgments, item=item, requests=requests)
    n_relevant = np.count_nonzero(ideal >= threshold, axis=1)
    keep = n_relevant > 0
    excluded = tuple(str(r) for r in ids[~keep])
    if excluded:
        log.info("%d request(s) without a relevant judgment left out: %s", len(excluded), ", ".join(excluded))
    ranked, ideal, n_relevant = ranked[keep], ideal[keep], n_relevant[keep]

    columns: dict[str, NDArray[np.generic]] = {"request_id": ids[keep], "n_relevant": n_relevant}
    for c in cutoffs:
        columns[f"hit@{c}"] = hit_at_k(ranked, k=c, threshold=threshold)
    for c in cutoffs:
        columns[f"recall@{c}"] = recall_at_k(ranked, n_relevant, k=c, threshold=threshold)
    for c in cutoffs:
        columns[f"ndcg@{c}"] = ndcg_at_k(ranked, ideal, k=c, gain=gain)
    columns["rr"] = reciprocal_rank(ranked, threshold=threshold)
    columns["ap"] = average_precision(ranked, n_relevant, threshold=threshold)
    return Evaluation(per_request=pd.DataFrame(columns), excluded=excluded)


@dataclass(frozen=True, slots=True)
class PairwiseEvaluation:
    """Per-item pairwise loss and the items left out.

    Attributes
    ----------
    per_item : DataFrame
        One row per evaluated item (expert, or case), sorted by id: the item id column, ``n_judged`` (requests it is
        judged on), ``n_unscored`` (of those, requests without a score for it: ranked below every score) and
        ``loss``.
    excluded : tuple of str
        Items without two different judged grades: no pair to order, no loss.
    """

    per_item: pd.DataFrame
    excluded: tuple[str, ...]

    def summary(self) -> pd.Series:
        """``pairwise_loss`` (mean over the evaluated items, each weighted equally), ``n_items`` and ``n_excluded``.

        >>> scores = pd.DataFrame({"request_id": ["p", "q"], "expert_id": ["a", "a"], "score": [0.8, 0.3]})
        >>> judged = pd.DataFrame({"request_id": ["p", "q"], "expert_id": ["a", "a"], "relevance": [1, 4]})
        >>> float(evaluate_pairwise(scores, judged).summary()["pairwise_loss"])
        1.0
        """
        losses = self.per_item["loss"]
        return pd.Series(
            {
                "pairwise_loss": float(losses.mean()) if len(losses) else math.nan,
                "n_items": float(len(losses)),
                "n_excluded": float(len(self.excluded)),
            }
        )


def evaluate_pairwise(scores: pd.DataFrame, judgments: pd.DataFrame, *, item: str = "expert_id") -> PairwiseEvaluation:
    """The pairwise loss of every judged item (expert) from a score table and a judgment table.

    Parameters
    ----------
    scores : DataFrame
        ``request_id``, ``item``, ``score``: one score per (request, item) pair, higher is better, comparable across
        requests (e.g. ``Shortlists.experts`` or a shortlist file; other columns are ignored). A judged pair without a
        row, as when a shortlist was cut at ``--top``, counts as ranked below every score of that item.
    judgments : DataFrame
        ``request_id``, ``item``, ``relevance`` (grade >= 0, e.g. a 1-5 self-rating). Only judged pairs count; a pair
        not listed is *not judged*, not 0, so write the zeros if they are grades.
    item : str, default "expert_id"
        The item id column (``"case_id"`` for cases: the loss of each case over requests).

    Returns
    -------
    PairwiseEvaluation
        ``per_item`` one row per item with two different grades (see :func:`pairwise_loss`), the others in
        ``excluded``; ``summary()["pairwise_loss"]`` is the mean over items.

    Examples
    --------
    >>> scores = pd.DataFrame({"request_id": ["p", "q", "p"], "expert_id": ["a", "a", "b"], "score": [0.7, 0.4, 0.2]})
    >>> judged = pd.DataFrame({"request_id": ["p", "q", "r", "p"], "expert_id": ["a", "a", "a", "b"],
    ...                        "relevance": [3, 1, 2, 2]})
    >>> result = evaluate_pairwise(scores, judged)  # a on r is unscored: below q, whose grade is lower
    >>> result.per_item.round(4).values.tolist(), result.excluded
    ([['a', 3, 1, 0.25]], ('b',))
    """
    _columns(scores, ["request_id", item, "score"], "scores")
    _columns(judgments, ["request_id", item, "relevance"], "judgments")
    if scores.duplicated(["request_id", item]).any():
        raise InputError(f"scores: a (request_id, {item}) pair appears more than once")
    if judgments.duplicated(["request_id", item]).any():
        raise InputError(f"judgments: a (request_id, {item}) pair appears more than once")
    grades = pd.to_numeric(judgments["relevance"], errors="coerce").to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(grades)) or np.any(grades < 0):
        raise InputError("judgments: column 'relevance' must hold finite numbers >= 0")
    values = pd.to_numeric(scores["score"], errors="coerce").to_numpy(dtype=np.float64)
    if np.any(np.isnan(values)):
        raise InputError("scores: column 'score' must hold numbers")

    request_ids = pd.Index(sorted(judgments["request_id"].unique()), dtype=object)
    item_ids = pd.Index(sorted(judgments[item].unique()), dtype=object)
    rows = request_ids.get_indexer(judgments["request_id"])
    cols = item_ids.get_indexer(judgments[item])
    relevance = np.full((request_ids.size, item_ids.size), np.nan)
    relevance[rows, cols] = grades
    score_matrix = np.full(relevance.shape, -np.inf)
    score_rows = request_ids.get_indexer(scores["request_id"])
    score_cols = item_ids.get_indexer(scores[item])
    known = (score_rows >= 0) & (score_cols >= 0)
    score_matrix[score_rows[known], score_cols[known]] = values[known]
    scored = np.zeros(relevance.shape, dtype=bool)
    scored[score_rows[known], score_cols[known]] = True

    losses = pairwise_loss(score_matrix, relevance)
    judged = ~np.isnan(relevance)
    keep = ~np.isnan(losses)
    excluded = tuple(str(i) for i in item_ids[~keep])
    per_item = pd.DataFrame(
        {
            item: item_ids[keep].to_numpy(dtype=object),
            "n_judged": judged.sum(axis=0)[keep],
            "n_unscored": (judged & ~scored).sum(axis=0)[keep],
            "loss": losses[keep],
        }
    )
    return PairwiseEvaluation(per_item=per_item, excluded=excluded)


# ---------------------------------------------------------------------------------------------------------------
# Files.


#: A numeric column of a read file: (name, whole numbers only, lowest allowed value).
_Numeric = tuple[str, bool, float]


def _read_ids_and_numbers(raw: RawTable, needed: Sequence[str], numeric: Sequence[_Numeric]) -> pd.DataFrame:
    """Check ``needed`` id columns and the ``numeric`` columns of a read file; every bad cell and duplicated pair is
    a problem."""
    frame = raw.frame
    names = [name for name, _, _ in numeric]
    missing = [c for c in (*needed, *names) if c not in frame.columns]
    if missing:
        found = ", ".join(map(repr, frame.columns[:12]))
        raise InputError(
            [Problem(raw.source, None, c, f"required column is missing (columns found: {found})") for c in missing]
        )
    problems: list[Problem] = []
    columns: dict[str, list[object]] = {c: [] for c in (*needed, *names)}
    first: dict[tuple[str, ...], int] = {}
    for position in range(len(frame)):
        row = raw.row_number(position)
        ids = tuple(cell_text(frame[c].iloc[position]) for c in needed)
        for column, value in zip(needed, ids, strict=True):
            if not value:
                problems.append(Problem(raw.source, row, column, "required value is empty"))
            columns[column].append(value)
        for name, integer, low in numeric:
            text = cell_text(frame[name].iloc[position])
            try:
                number = float(text)
            except ValueError:
                number = math.nan
            if not math.isfinite(number) or number < low or (integer and number != int(number)):
                expected = f"a whole number >= {low:g}" if integer else f"a number >= {low:g}"
                problems.append(Problem(raw.source, row, name, f"{text!r} is not {expected}"))
            columns[name].append(number)
        if all(ids):
            if ids in first:
                pair = ", ".join(f"{c} {v!r}" for c, v in zip(needed, ids, strict=True))
                problems.append(
                    Problem(raw.source, row, needed[-1], f"({pair}) appears twice (first at row {first[ids]})")
                )
            else:
                first[ids] = row
    if problems:
        raise InputError(problems)
    table = pd.DataFrame({c: pd.Series(v, dtype=object) for c, v in columns.items()})
    for name, integer, _ in numeric:
        table[name] = table[name].astype(np.int64 if integer else np.float64)
    return table


def read_rankings(path: str | os.PathLike[str], *, item: str = "expert_id") -> pd.DataFrame:
    """Read a ranking file: ``request_id``, ``item`` and ``rank`` (whole number >= 1) or, without it, ``score``.

    A shortlist written by ``gscp-match shortlist`` (``expert_shortlist.csv``, ``case_shortlist.csv`` with
    ``item="case_id"``) is such a file, with both; other columns are ignored.

    Returns
    -------
    DataFrame
        ``request_id, <item>, rank`` (int64), plus ``score`` (float64) when the file has one (what
        :func:`evaluate_pairwise` needs); or ``request_id, <item>, score`` for a file without ``rank``.

    Raises
    ------
    InputError
        Naming the file, row and column of every bad cell and repeated (request, item) pair.
    """
    from gscp_match.tables._io import read_raw

    raw = read_raw(path)
    header = raw.frame.columns
    score: list[_Numeric] = [("score", False, -math.inf)] if "score" in header else []
    if "rank" in header or not score:
        return _read_ids_and_numbers(raw, ("request_id", item), [("rank", True, 1), *score])
    return _read_ids_and_numbers(raw, ("request_id", item), score)


def read_judgments(path: str | os.PathLike[str], *, item: str = "expert_id", unrated: int = 3) -> pd.DataFrame:
    """Read a judgment file ``request_id, <item>, relevance`` (a number >= 0), or a history of past selections.

    A file with a ``selected`` column and no ``relevance`` column is read as a history table
    (:func:`gscp_match.tables._history.history_judgments`: selected pairs are relevant, graded by their rating,
    ``unrated``
    when it has none).

    Returns
    -------
    DataFrame
        ``request_id, <item>, relevance`` (float64 for judgment files, int64 for histories).

    Raises
    ------
    InputError
        Naming the file, row and column of every bad cell and repeated (request, item) pair.
    """
    from gscp_match.tables._io import read_raw

    raw = read_raw(path)
    if "selected" in raw.frame.columns and "relevance" not in raw.frame.columns:
        from gscp_match.tables._history import history_judgments
        from gscp_match.tables._validate import validate_table

        if item != "expert_id":
            raise InputError(f"{raw.source}: a history file judges experts; it cannot judge {item!r}")
        judged = history_judgments(validate_table(raw, "history"), unrated=unrated)
        return judged[["request_id", "expert_id", "relevance"]]
    return _read_ids_and_numbers(raw, ("request_id", item), [("relevance", False, 0)])
