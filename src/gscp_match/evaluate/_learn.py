"""Judge a configuration on past rounds, and learn the component weights from past selections.

Two jobs, both on a history table (:mod:`gscp_match.tables._history`) and the requests of the rounds it covers:

- :func:`evaluate_rounds` ranks every past request with a configured :class:`~gscp_match.Matcher` (weights,
  embedder, aggregation, hard filters on) and scores the rankings against what was selected, round by round
  (selected = relevant, the rating as the grade when given), so that a change can be judged before it ships.
- :func:`learn_weights` learns the eight component weights from the selections, validates them by leaving whole
  rounds out, and says whether they beat the reference (shipped) weights on the held-out rounds.
  :func:`save_weights` writes them in the format of ``src/gscp_match/models/default_weights.json``.

The model: pairwise logistic regression on within-request differences
-----------------------------------------------------------------------
For every request, the *candidates* are the scoring core's top ``candidates`` experts after the hard filters (with
the reference weights: what the tool shows), plus every expert the history lists for the request. The features of
a pair are its eight unweighted components (:data:`gscp_match.core._scoring.COMPONENTS`). Each selected candidate is
compared with each candidate not selected of the same request (with ``label="grade"``: each candidate with each
lower-graded one), and a logistic regression without intercept (scikit-learn) is fitted on the component
differences ``x_winner - x_loser``. Why this and not a pointwise logistic regression of ``selected`` on the
components:

- **It is the model of how selection happens.** If staff pick the best expert by ``w . x`` plus Gumbel noise, the
  choice is a multinomial logit in ``w . x`` (McFadden 1974) and choosing several is a Plackett-Luce top-k; breaking
  each choice into (selected, not selected) pairs is a consistent estimator of ``w`` for that model (position-k
  rank breaking: Azari Soufiani et al. 2014, Khetan and Oh 2016). A pointwise classifier is not, and it needs an
  intercept per request.
- **Only differences within a request matter.** A ranking never compares experts across requests, and whatever is
  constant within a request (the request's own length, how many languages it lists, whether it has a window) drops
  out. A component that never differs between compared candidates cannot move a ranking at all: it is reported as
  *unidentified* and keeps its reference weight. (One always is with the current filters: ``availability`` is
  ``min(1, free / needed)`` and the availability filter removes every pair with ``free < needed``, so it equals 1
  for every ranked pair.)
- **Scale-free.** Only the direction of ``w`` changes a ranking; the fitted coefficients (divided by the noise
  scale) are rescaled so that the weights sum to the reference total.

Non-negativity is kept by an active set: fit; if some coefficient is negative, fix the most negative component at
0 and refit on the rest; repeat. Differences are divided by each component's root mean square before fitting, so
the weak L2 penalty (``C``) treats the components alike; coefficients are mapped back to component units.

>>> import gscp_match as gm
>>> from gscp_match.evaluate._simulate import simulate_history
>>> sim = simulate_history({"semantic": 0.6, "themes": 0.4}, rounds=2, experts=60, requests_per_round=8, seed=0)
>>> learning = learn_weights(gm.Matcher("hashing", cache=None), sim.requests, sim.history, experts=sim.experts,
...                          evidence=sim.evidence, candidates=10)
>>> sorted(learning.per_round()["round"])
['H1', 'H2']
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gscp_match.core import _scoring as scoring
from gscp_match.core._scoring import COMPONENTS, FILTERS, ScoringInputs, Weights
from gscp_match.errors import InputError, NotFittedError
from gscp_match.evaluate._metrics import evaluate
from gscp_match.match._matcher import Matcher, TableLike
from gscp_match.tables._history import as_history, check_history, history_judgments
from gscp_match.tables._io import atomic_path
from gscp_match.tables._validate import as_table

__all__ = [
    "LABELS",
    "MASKED_POLICIES",
    "CandidatePairs",
    "LearnedWeights",
    "RoundEvaluation",
    "WeightLearning",
    "rank_experts",
    "subset_inputs",
    "pair_features",
    "candidate_pairs",
    "comparison_pairs",
    "fit_weights",
    "evaluate_rounds",
    "learn_weights",
    "weight_agreement",
    "save_weights",
]

log = logging.getLogger(__name__)

#: Valid ``label=``: ``"selected"`` (1 selected, 0 not) or ``"grade"`` (the rating of selected pairs, see
#: :func:`gscp_match.tables._history.history_judgments`, 0 for the rest).
LABELS: tuple[str, ...] = ("selected", "grade")
#: Valid ``masked_selected=``: ``"drop"`` a selected pair the hard filters now remove (it is reported either way) or
#: ``"keep"`` it among the training pairs.
MASKED_POLICIES: tuple[str, ...] = ("drop", "keep")
#: Metrics shown per round by :meth:`WeightLearning.per_round` and :meth:`RoundEvaluation.per_round`.
ROUND_METRICS: tuple[str, ...] = ("hit@1", "hit@5", "ndcg@5", "ndcg@10", "mrr", "map")
_CELLS_PER_BLOCK = 4_000_000  # (requests x experts) cells per component block in pair_features


def _choice(value: str, valid: tuple[str, ...], name: str) -> str:
    if value not in valid:
        raise InputError(f"unknown {name} {value!r}; valid: {', '.join(valid)}")
    return value


# ---------------------------------------------------------------------------------------------------------------
# Arrays: rankings and the components of given pairs.


def subset_inputs(inputs: ScoringInputs, rows: NDArray[np.int64]) -> ScoringInputs:
    """The scoring inputs of the requests at ``rows`` (in that order), against the same experts."""
    rows = np.asarray(rows, dtype=np.int64)
    return replace(
        inputs,
        requests=inputs.requests.subset(rows),
        request_embeddings=inputs.request_embeddings[rows],
        request_lexical=inputs.request_lexical[rows] if inputs.request_lexical is not None else None,
        conflicts=inputs.conflicts[rows] if inputs.conflicts is not None else None,
    )


def rank_experts(
    inputs: ScoringInputs,
    weights: Weights,
    *,
    depth: int | None = 100,
    chunk_size: int = 8192,
) -> pd.DataFrame:
    """Every request's eligible experts ranked by score (the ranking of :meth:`Matcher.shortlist`, no explanations).

    Parameters
    ----------
    inputs : ScoringInputs
    weights : Weights
    depth : int or None, default 100
        Experts kept per request; None keeps every eligible expert.
    chunk_size : int

    Returns
    -------
    DataFrame
        ``request_id, rank, expert_id, score``, sorted by request (in ``inputs`` order) and rank (1 = best).
    """
    n_experts = inputs.shape[1]
    k = n_experts if depth is None else min(int(depth), n_experts)
    if k < 1:
        raise InputError(f"depth must be >= 1, got {depth!r}")
    result = scoring.shortlist(inputs, k=k, weights=weights, chunk_size=chunk_size)
    rows, cols = np.nonzero(result.experts >= 0)
    return pd.DataFrame(
        {
            "request_id": inputs.requests.ids[rows],
            "rank": (cols + 1).astype(np.int64),
            "expert_id": inputs.experts.ids[result.experts[rows, cols]],
            "score": result.scores[rows, cols].astype(np.float64),
        }
    )


def pair_features(
    inputs: ScoringInputs,
    request_rows: NDArray[np.int64],
    expert_rows: NDArray[np.int64],
    *,
    chunk_size: int = 4096,
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """The unweighted components and hard filters of given (request, expert) pairs.

    Computed with :func:`gscp_match.core._scoring.component_block` over the chunks of experts that hold some pair (a
    chunk is narrowed so that a block stays near 4 million cells), then gathered.

    Parameters
    ----------
    inputs : ScoringInputs
    request_rows, expert_rows : ndarray of int, shape (n_pairs,)
        Rows of the requests and experts in ``inputs``.
    chunk_size : int, default 4096
        Experts per block at most.

    Returns
    -------
    features : ndarray of float64, shape (n_pairs, len(COMPONENTS))
        Columns in :data:`~gscp_match.core._scoring.COMPONENTS` order.
    removed : ndarray of bool, shape (n_pairs, len(FILTERS))
        True where the filter (columns in :data:`~gscp_match.core._scoring.FILTERS` order) removes the pair.
    """
    request_rows = np.asarray(request_rows, dtype=np.int64)
    expert_rows = np.asarray(expert_rows, dtype=np.int64)
    if request_rows.shape != expert_rows.shape or request_rows.ndim != 1:
        raise ValueError(
            f"request_rows and expert_rows must be 1-D of one length, got {request_rows.shape} and {expert_rows.shape}"
        )
    n_requests, n_experts = inputs.shape
    if request_rows.size and (request_rows.min() < 0 or request_rows.max() >= n_requests):
        raise ValueError(f"request_rows must be in [0, {n_requests})")
    if expert_rows.size and (expert_rows.min() < 0 or expert_rows.max() >= n_experts):
        raise ValueError(f"expert_rows must be in [0, {n_experts})")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    features = np.zeros((request_rows.size, len(COMPONENTS)), dtype=np.float64)
    removed = np.zeros((request_rows.size, len(FILTERS)), dtype=bool)
    if request_rows.size == 0:
        return features, removed

    # Only the requests that have pairs, so a block is (those requests x chunk).
    used_requests, local_request = np.unique(request_rows, return_inverse=True)
    local = subset_inputs(inputs, used_requests) if used_requests.size < n_requests else inputs
    width = max(1, min(chunk_size, _CELLS_PER_BLOCK // used_requests.size))
    order = np.argsort(expert_rows, kind="stable")
    sorted_experts = expert_rows[order]
    for start in np.unique(sorted_experts // width) * width:
        stop = min(int(start) + width, n_experts)
        lo, hi = np.searchsorted(sorted_experts, [start, stop])
        which = order[lo:hi]
        block, masks, _ = scoring.component_block(local, int(start), stop)
        r, c = local_request[which], expert_rows[which] - start
        for j, name in enumerate(COMPONENTS):
            features[which, j] = block[name][r, c]
        for j, name in enumerate(FILTERS):
            removed[which, j] = masks[name][r, c]
    return features, removed


# ---------------------------------------------------------------------------------------------------------------
# Candidate pairs and comparisons.


@dataclass(frozen=True, slots=True)
class CandidatePairs:
    """The candidate (request, expert) pairs of labelled requests, with their components and labels.

    Attributes
    ----------
    request_ids, expert_ids, rounds : ndarray of object, shape (n_pairs,)
    features : ndarray of float64, shape (n_pairs, len(COMPONENTS))
    labels : ndarray of float64, shape (n_pairs,)
        1/0 selected, or a grade (0 for candidates the history does not select).
    masked : DataFrame
        Labelled pairs (label > 0) that the hard filters remove on the current data: ``round, request_id,
        expert_id, label, filters`` (comma-separated filter names). Reported whatever ``masked_selected`` did.
    """

    request_ids: NDArray[np.object_]
    expert_ids: NDArray[np.object_]
    rounds: NDArray[np.object_]
    features: NDArray[np.float64]
    labels: NDArray[np.float64]
    masked: pd.DataFrame

    def __len__(self) -> int:
        return int(self.labels.size)

    def subset(self, keep: NDArray[np.bool_]) -> CandidatePairs:
        """The pairs where ``keep`` (shape (n_pairs,)) is True; ``masked`` is filtered to the same rounds."""
        keep = np.asarray(keep, dtype=bool)
        rounds = set(self.rounds[keep].tolist())
        return CandidatePairs(
            request_ids=self.request_ids[keep],
            expert_ids=self.expert_ids[keep],
            rounds=self.rounds[keep],
            features=self.features[keep],
            labels=self.labels[keep],
            masked=self.masked[self.masked["round"].isin(rounds)].reset_index(drop=True),
        )


def candidate_pairs(
    inputs: ScoringInputs,
    labels: pd.DataFrame,
    *,
    weights: Weights,
    candidates: int = 20,
    masked_selected: str = "drop",
    chunk_size: int = 4096,
) -> CandidatePairs:
    """Candidates of every labelled request: the top ``candidates`` by ``weights`` after the filters, plus the
    pairs ``labels`` lists.

    Parameters
    ----------
    inputs : ScoringInputs
        Scoring inputs of (at least) the labelled requests.
    labels : DataFrame
        ``round, request_id, expert_id, label`` (label >= 0; 0 for a pair considered and not chosen). Request and
        expert ids must be in ``inputs``.
    weights : Weights
        The weights that choose the candidates (the reference weights: what the tool shows).
    candidates : int, default 20
    masked_selected : {"drop", "keep"}
        What to do with a labelled pair (label > 0) that the hard filters remove: it is always reported in
        ``masked`` and logged; "drop" leaves it out of the pairs (a ranking never shows it, so it says nothing
        about how to order the pairs shown), "keep" keeps it. Unselected pairs that are filtered are dropped.
    chunk_size : int

    Returns
    -------
    CandidatePairs
        Sorted by request (in ``inputs`` order), then expert row.
    """
    _choice(masked_selected, MASKED_POLICIES, "masked_selected")
    if isinstance(candidates, bool) or not isinstance(candidates, int) or candidates < 1:
        raise InputError(f"candidates must be an integer >= 1, got {candidates!r}")
    n_requests, n_experts = inputs.shape
    request_row = pd.Series(np.arange(n_requests), index=pd.Index(inputs.requests.ids, dtype=object))
    expert_row = pd.Series(np.arange(n_experts), index=pd.Index(inputs.experts.ids, dtype=object))
    unknown_requests = sorted(set(labels["request_id"]) - set(request_row.index))
    unknown_experts = sorted(set(labels["expert_id"]) - set(expert_row.index))
    if unknown_requests or unknown_experts:
        raise InputError(
            "labels name requests or experts not in the scoring inputs: "
            + ", ".join(unknown_requests + unknown_experts)
        )
    label_r = request_row.loc[labels["request_id"].to_numpy(dtype=object)].to_numpy(dtype=np.int64)
    label_e = expert_row.loc[labels["expert_id"].to_numpy(dtype=object)].to_numpy(dtype=np.int64)
    label_v = labels["label"].to_numpy(dtype=np.float64)
    round_of_row = dict(zip(label_r.tolist(), labels["round"].tolist(), strict=True))
    labelled_rows = np.unique(label_r)

    top = scoring.shortlist(
        subset_inputs(inputs, labelled_rows), k=min(candidates, n_experts), weights=weights, chunk_size=chunk_size
    )
    rows, cols = np.nonzero(top.experts >= 0)
    pair_r = np.concatenate([labelled_rows[rows], label_r])
    pair_e = np.concatenate([top.experts[rows, cols], label_e])
    keys = np.unique(pair_r * n_experts + pair_e)
    pair_r, pair_e = keys // n_experts, keys % n_experts

    value = np.zeros(keys.size)
    value[np.searchsorted(keys, label_r * n_experts + label_e)] = label_v
    features, removed = pair_features(inputs, pair_r, pair_e, chunk_size=chunk_size)
    is_removed = removed.any(axis=1)
    rounds = np.array([round_of_row[r] for r in pair_r.tolist()], dtype=object)
    request_ids = inputs.requests.ids[pair_r]
    expert_ids = inputs.experts.ids[pair_e]

    hit = is_removed & (value > 0)
    masked = pd.DataFrame(
        {
            "round": rounds[hit],
            "request_id": request_ids[hit],
            "expert_id": expert_ids[hit],
            "label": value[hit],
            "filters": [", ".join(np.asarray(FILTERS)[m]) for m in removed[hit]],
        }
    )
    if len(masked):
        log.warning(
            "%d selected pair(s) are removed by the hard filters on the current data (%s): %s",
            len(masked),
            "left out of the training pairs" if masked_selected == "drop" else "kept",
            "; ".join(f"{r}/{e} ({f})" for r, e, f in masked[["request_id", "expert_id", "filters"]].head(10).values),
        )
    keep = ~is_removed | ((value > 0) & (masked_selected == "keep"))
    return CandidatePairs(
        request_ids=request_ids[keep],
        expert_ids=expert_ids[keep],
        rounds=rounds[keep],
        features=features[keep],
        labels=value[keep],
        masked=masked,
    )


def comparison_pairs(groups: NDArray[np.int64], labels: NDArray[np.float64]) -> tuple[NDArray[np.int64], ...]:
    """Every ordered pair ``(i, j)`` of rows with ``groups[i] == groups[j]`` and ``labels[i] > labels[j]``.

    Parameters
    ----------
    groups : ndarray of int, shape (n,)
        Group (request) of each row; rows need not be sorted.
    labels : ndarray of float, shape (n,)

    Returns
    -------
    winner, loser : ndarray of int64, shape (n_comparisons,)
        Row indices, ordered by group, then winner row, then loser row.

    Examples
    --------
    >>> w, l = comparison_pairs(np.array([0, 0, 0, 1, 1]), np.array([1.0, 0.0, 2.0, 0.0, 0.0]))
    >>> list(zip(w.tolist(), l.tolist()))
    [(0, 1), (2, 0), (2, 1)]
    """
    groups = np.asarray(groups, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.float64)
    if groups.shape != labels.shape or groups.ndim != 1:
        raise ValueError(f"groups and labels must be 1-D of one length, got {groups.shape} and {labels.shape}")
    order = np.lexsort((np.arange(groups.size), groups))
    _, starts, sizes = np.unique(groups[order], return_index=True, return_counts=True)
    squares = sizes.astype(np.int64) ** 2
    owner = np.repeat(np.arange(sizes.size), squares)
    within = np.arange(int(squares.sum())) - np.repeat(np.cumsum(squares) - squares, squares)
    i = order[starts[owner] + within // sizes[owner]]
    j = order[starts[owner] + within % sizes[owner]]
    keep = labels[i] > labels[j]
    return i[keep], j[keep]


# ---------------------------------------------------------------------------------------------------------------
# Fitting.


@dataclass(frozen=True, slots=True)
class LearnedWeights:
    """Weights fitted on comparisons.

    Attributes
    ----------
    weights : Weights
        Non-negative, summing to the reference total.
    coefficients : ndarray of float64, shape (len(COMPONENTS),)
        The final fit in component units (utility per unit of each component over the noise scale); 0 for
        unidentified and zeroed components. Their ratios are the learned trade-offs.
    unidentified : tuple of str
        Components that never differ between compared candidates; they keep the reference weight.
    zeroed : tuple of str
        Components the non-negativity constraint fixed at 0.
    n_requests, n_comparisons : int
    """

    weights: Weights
    coefficients: NDArray[np.float64]
    unidentified: tuple[str, ...]
    zeroed: tuple[str, ...]
    n_requests: int
    n_comparisons: int


def fit_weights(pairs: CandidatePairs, *, reference: Weights | None = None, C: float = 1.0) -> LearnedWeights:
    """Fit non-negative component weights on the within-request comparisons of ``pairs`` (see the module notes).

    Parameters
    ----------
    pairs : CandidatePairs
    reference : Weights, optional
        Gives the total the weights sum to and the weights of unidentified components; default the shipped
        defaults.
    C : float, default 1.0
        Inverse L2 strength of :class:`sklearn.linear_model.LogisticRegression` on standardized differences.

    Returns
    -------
    LearnedWeights

    Raises
    ------
    InputError
        When fewer than two comparisons exist (no request has candidates with different labels), or when every
        identified component ends at weight 0.
    """
    from sklearn.linear_model import LogisticRegression

    if not (math.isfinite(C) and C > 0):
        raise InputError(f"C must be a finite number > 0, got {C!r}")
    reference = reference if reference is not None else Weights.default()
    groups = pd.factorize(pairs.request_ids)[0].astype(np.int64) if len(pairs) else np.zeros(0, np.int64)
    winner, loser = comparison_pairs(groups, pairs.labels)
    if winner.size < 2:
        raise InputError(
            f"{winner.size} comparison(s) between candidates: no request has both selected and unselected "
            "candidates, nothing to learn from"
        )
    diff = pairs.features[winner] - pairs.features[loser]
    identified = np.any(np.abs(diff) > 1e-9, axis=0)
    scale = np.sqrt(np.mean(diff**2, axis=0))
    standard = np.divide(diff, scale, out=np.zeros_like(diff), where=scale > 0)
    # No intercept, so a comparison and its mirror image carry the same likelihood: mirror every other one to give
    # scikit-learn two classes.
    sign = np.where(np.arange(winner.size) % 2 == 0, 1.0, -1.0)
    standard *= sign[:, None]
    target = (sign > 0).astype(np.int64)

    active = identified.copy()
    zeroed: list[str] = []
    coefficients = np.zeros(len(COMPONENTS))
    while active.any():
        model = LogisticRegression(C=C, fit_intercept=False, tol=1e-8, max_iter=2000)
        model.fit(standard[:, active], target)
        coefficients = np.zeros(len(COMPONENTS))
        coefficients[active] = model.coef_[0] / scale[active]
        if coefficients.min() >= 0:
            break
        worst = int(np.argmin(coefficients))
        active[worst] = False
        zeroed.append(COMPONENTS[worst])
        coefficients[worst] = 0.0
    if coefficients.sum() <= 0:
        raise InputError("no component explains the selections with a positive weight (every fitted weight was <= 0)")

    ref = np.array([getattr(reference, c) for c in COMPONENTS], dtype=np.float64)
    total = float(ref.sum())
    free = max(total - float(ref[~identified].sum()), 0.0)
    values = np.where(identified, coefficients / coefficients.sum() * free, ref)
    unidentified = tuple(c for c, ok in zip(COMPONENTS, identified, strict=True) if not ok)
    if unidentified:
        log.info(
            "components that never differ between compared candidates keep their reference weight: %s",
            ", ".join(unidentified),
        )
    return LearnedWeights(
        weights=Weights.from_mapping(dict(zip(COMPONENTS, values.tolist(), strict=True))),
        coefficients=coefficients,
        unidentified=unidentified,
        zeroed=tuple(zeroed),
        n_requests=int(np.unique(groups[winner]).size),
        n_comparisons=int(winner.size),
    )


def weight_agreement(
    learned: Weights, truth: Weights, *, components: Sequence[str] = COMPONENTS
) -> tuple[float, float]:
    """How close two weightings are in direction, over ``components``: each is normalized to sum 1 there.

    Returns
    -------
    cosine : float
        Cosine of the two weight vectors.
    max_abs_diff : float
        Largest absolute difference between the normalized weights.

    Examples
    --------
    >>> a = Weights(semantic=0.6, themes=0.4)
    >>> weight_agreement(a, Weights(semantic=1.2, themes=0.8))
    (1.0, 0.0)
    """
    unknown = sorted(set(components) - set(COMPONENTS))
    if unknown or not components:
        raise InputError(f"components must name some of {', '.join(COMPONENTS)}; got {list(components)}")
    a = np.array([getattr(learned, c) for c in components], dtype=np.float64)
    b = np.array([getattr(truth, c) for c in components], dtype=np.float64)
    if a.sum() <= 0 or b.sum() <= 0:
        raise InputError(
            "learned, truth: both weightings need a positive total over the components compared "
            f"({', '.join(components)})"
        )
    a, b = a / a.sum(), b / b.sum()
    cosine = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
    return round(cosine, 12), float(np.abs(a - b).max())


# ---------------------------------------------------------------------------------------------------------------
# Past rounds: preparation, evaluation, learning.


@dataclass(frozen=True, slots=True)
class _Rounds:
    requests: pd.DataFrame  # validated, the requests of the history, in history order of first appearance
    inputs: ScoringInputs  # for those requests
    history: pd.DataFrame  # validated
    judgments: pd.DataFrame  # round, request_id, expert_id, relevance
    round_of: dict[str, str]  # request_id -> round


def _prepare(
    matcher: Matcher,
    requests: TableLike,
    history: pd.DataFrame | str | os.PathLike[str],
    experts: TableLike | None,
    evidence: TableLike | None,
    unrated: int,
) -> _Rounds:
    if experts is not None:
        matcher.fit(experts, evidence=evidence)
    elif not hasattr(matcher, "experts_"):
        raise NotFittedError("the matcher is not fitted: pass experts= (and evidence=) or a fitted Matcher")
    table = as_history(history)
    request_table = as_table(requests, "requests")
    check_history(table, requests=request_table, experts=matcher.experts_)
    wanted = pd.unique(table["request_id"])
    unused = len(request_table) - len(wanted)
    if unused:
        log.info("%d request(s) of the requests table have no history rows and are not evaluated", unused)
    position = pd.Series(np.arange(len(request_table)), index=request_table["request_id"].to_numpy(dtype=object))
    chosen = request_table.iloc[position.loc[wanted].to_numpy()].reset_index(drop=True)
    chosen.attrs.update(request_table.attrs)
    chosen_table, inputs = matcher.scoring_inputs(chosen)
    return _Rounds(
        requests=chosen_table,
        inputs=inputs,
        history=table,
        judgments=history_judgments(table, unrated=unrated),
        round_of=dict(zip(table["request_id"], table["round"], strict=False)),
    )


def _evaluate(
    rounds: _Rounds,
    weights: Weights,
    rows: NDArray[np.int64],
    *,
    k: Sequence[int],
    depth: int | None,
    gain: str,
    chunk_size: int,
) -> pd.DataFrame:
    """Per-request metrics of the requests at ``rows`` ranked with ``weights``; requests without a selection are
    left out."""
    inputs = subset_inputs(rounds.inputs, rows)
    ranking = rank_experts(inputs, weights, depth=depth, chunk_size=chunk_size)
    ids = inputs.requests.ids.tolist()
    judged = rounds.judgments[rounds.judgments["request_id"].isin(ids)]
    result = evaluate(ranking, judged[["request_id", "expert_id", "relevance"]], k=k, requests=ids, gain=gain)
    per_request = result.per_request
    per_request.insert(0, "round", per_request["request_id"].map(rounds.round_of))
    return per_request


def _selected_masked(rounds: _Rounds, chunk_size: int) -> pd.DataFrame:
    """Selected pairs that the hard filters remove on the current data."""
    picked = rounds.history[rounds.history["selected"].to_numpy(dtype=bool)]
    request_row = pd.Series(np.arange(len(rounds.inputs.requests)), index=rounds.inputs.requests.ids)
    expert_row = pd.Series(np.arange(len(rounds.inputs.experts)), index=rounds.inputs.experts.ids)
    r = request_row.loc[picked["request_id"].to_numpy(dtype=object)].to_numpy(dtype=np.int64)
    e = expert_row.loc[picked["expert_id"].to_numpy(dtype=object)].to_numpy(dtype=np.int64)
    _, removed = pair_features(rounds.inputs, r, e, chunk_size=chunk_size)
    hit = removed.any(axis=1)
    return pd.DataFrame(
        {
            "round": picked["round"].to_numpy(dtype=object)[hit],
            "request_id": picked["request_id"].to_numpy(dtype=object)[hit],
            "expert_id": picked["expert_id"].to_numpy(dtype=object)[hit],
            "filters": [", ".join(np.asarray(FILTERS)[m]) for m in removed[hit]],
        }
    )


#: Per-request columns whose mean has its own name.
_MEAN_NAMES = {"mrr": "rr", "map": "ap"}


def _metric_column(per_request: pd.DataFrame, metric: str) -> str:
    column = _MEAN_NAMES.get(metric, metric)
    if column not in per_request.columns:
        known = [c for c in per_request.columns if c not in ("round", "request_id", "weights", "n_relevant")]
        valid = [next((m for m, c in _MEAN_NAMES.items() if c == k), k) for k in known]
        raise InputError(f"unknown metric {metric!r}; valid: {', '.join(valid)}")
    return column


def _check_metric(metric: str, k: Sequence[int]) -> None:
    valid = [f"{name}@{c}" for name in ("hit", "recall", "ndcg") for c in k] + ["mrr", "map"]
    if metric not in valid and metric not in _MEAN_NAMES.values():
        raise InputError(f"unknown metric {metric!r}; valid with k={tuple(k)}: {', '.join(valid)}")


def _round_means(per_request: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    """``round, n_requests`` and the mean of each metric per round (``mrr`` and ``map`` from ``rr`` and ``ap``)."""
    columns = [_metric_column(per_request, m) for m in metrics]
    grouped = per_request.groupby("round", sort=True)
    out = grouped[columns].mean()
    out.columns = list(metrics)
    out.insert(0, "n_requests", grouped.size())
    return out.reset_index()


@dataclass(frozen=True, slots=True)
class RoundEvaluation:
    """A configuration's figures on past rounds.

    Attributes
    ----------
    per_request : DataFrame
        ``round, request_id, n_relevant`` and every metric of :func:`gscp_match.evaluate._metrics.evaluate`.
    excluded : tuple of str
        Requests with history rows but no selection: no metric is defined for them.
    masked : DataFrame
        Selected pairs that the hard filters remove now: ``round, request_id, expert_id, filters``. They count as
        misses in the metrics (the ranking cannot show them).
    """

    per_request: pd.DataFrame
    excluded: tuple[str, ...]
    masked: pd.DataFrame

    def per_round(self, metrics: Sequence[str] = ROUND_METRICS) -> pd.DataFrame:
        """Means per round: ``round, n_requests``, the metrics, ``n_masked_selected``."""
        table = _round_means(self.per_request, metrics)
        counts = self.masked.groupby("round").size()
        table["n_masked_selected"] = table["round"].map(counts).fillna(0).astype(np.int64)
        return table

    def summary(self) -> pd.Series:
        """Means over every evaluated request (``rr`` -> ``mrr``, ``ap`` -> ``map``) and counts."""
        metrics = self.per_request.drop(columns=["round", "request_id", "n_relevant"])
        means = metrics.mean(axis=0).rename({"rr": "mrr", "ap": "map"})
        counts = pd.Series(
            {
                "n_rounds": float(self.per_request["round"].nunique()),
                "n_requests": float(len(self.per_request)),
                "n_excluded": float(len(self.excluded)),
                "n_masked_selected": float(len(self.masked)),
            }
        )
        return pd.concat([means, counts])


def evaluate_rounds(
    matcher: Matcher,
    requests: TableLike,
    history: pd.DataFrame | str | os.PathLike[str],
    *,
    experts: TableLike | None = None,
    evidence: TableLike | None = None,
    k: Sequence[int] = (1, 3, 5, 10),
    depth: int | None = 100,
    unrated: int = 3,
    gain: str = "linear",
) -> RoundEvaluation:
    """Rank every past request with ``matcher`` and score the rankings against the history, round by round.

    Parameters
    ----------
    matcher : Matcher
        The configuration to judge (weights, embedder, aggregation, lexical, holidays). Fitted here on
        ``experts`` (and ``evidence``) when given; otherwise it must be fitted.
    requests : DataFrame or path
        The requests of the past rounds (with their ``round``); requests without history rows are ignored.
    history : DataFrame or path
        The history table (validated here; its requests, rounds and experts are checked against the tables).
    experts, evidence : DataFrame or path, optional
    k : sequence of int
        Cutoffs of hit@k, recall@k, nDCG@k.
    depth : int or None, default 100
        Experts ranked per request (None: all); AP and recall count a selected expert beyond it as missed.
    unrated : int, default 3
        Grade of a selection without a rating (:func:`gscp_match.tables._history.history_judgments`).
    gain : {"linear", "exponential"}

    Returns
    -------
    RoundEvaluation
        Selected experts the hard filters remove count as misses and are listed in ``masked``.
    """
    rounds = _prepare(matcher, requests, history, experts, evidence, unrated)
    rows = np.arange(len(rounds.inputs.requests), dtype=np.int64)
    per_request = _evaluate(rounds, matcher.weights, rows, k=k, depth=depth, gain=gain, chunk_size=matcher.chunk_size)
    excluded = tuple(sorted(set(rounds.inputs.requests.ids.tolist()) - set(per_request["request_id"])))
    return RoundEvaluation(
        per_request=per_request, excluded=excluded, masked=_selected_masked(rounds, matcher.chunk_size)
    )


@dataclass(frozen=True, slots=True)
class WeightLearning:
    """Weights learned from every round, and the leave-one-round-out check against the reference weights.

    Attributes
    ----------
    learned : LearnedWeights
        Fitted on every round: the weights to ship if they win.
    reference : Weights
        The weights they are compared with (the matcher's; the shipped defaults unless configured).
    held_out : DataFrame
        One row per (held-out request, weights): ``round, request_id, weights`` (``"reference"`` or
        ``"learned"``: the weights fitted without that request's round) and the metrics.
    folds : DataFrame
        One row per held-out round: ``round, n_requests`` (training), ``n_comparisons`` (training), the fold's
        weights by component, and ``zeroed``.
    masked : DataFrame
        Selected pairs the hard filters remove (see :class:`CandidatePairs`).
    metric : str
        The metric that decides :attr:`beats_reference`.
    created : str
        ISO date of the fit.
    """

    learned: LearnedWeights
    reference: Weights
    held_out: pd.DataFrame
    folds: pd.DataFrame
    masked: pd.DataFrame
    metric: str
    created: str

    def per_round(self, metrics: Sequence[str] = ROUND_METRICS) -> pd.DataFrame:
        """Held-out means per round: ``round, n_requests``, then ``<metric> reference`` and ``<metric> learned``."""
        if self.held_out.empty:
            names = [f"{m} {n}" for m in metrics for n in ("reference", "learned")]
            return pd.DataFrame(columns=["round", "n_requests", *names])
        parts = []
        for name in ("reference", "learned"):
            part = _round_means(self.held_out[self.held_out["weights"] == name], metrics)
            parts.append(part.rename(columns={m: f"{m} {name}" for m in metrics}))
        table = parts[0].merge(parts[1].drop(columns="n_requests"), on="round", how="outer")
        ordered = ["round", "n_requests"] + [f"{m} {n}" for m in metrics for n in ("reference", "learned")]
        return table[ordered]

    def summary(self, metrics: Sequence[str] = ROUND_METRICS) -> pd.DataFrame:
        """Per metric: mean over held-out rounds with each weighting, and rounds won / tied / lost by learned."""
        rounds = self.per_round(metrics)
        rows = []
        for m in metrics:
            ref, new = rounds[f"{m} reference"].to_numpy(float), rounds[f"{m} learned"].to_numpy(float)
            diff = new - ref
            rows.append(
                {
                    "metric": m,
                    "reference": float(np.mean(ref)) if ref.size else math.nan,
                    "learned": float(np.mean(new)) if new.size else math.nan,
                    "rounds W/T/L": f"{int(np.sum(diff > 1e-9))}/{int(np.sum(np.abs(diff) <= 1e-9))}/"
                    f"{int(np.sum(diff < -1e-9))}",
                }
            )
        return pd.DataFrame(rows)

    @property
    def beats_reference(self) -> bool:
        """Whether the learned weights win on held-out rounds: a higher mean of :attr:`metric` over the held-out
        rounds *and* more rounds won than lost. False with fewer than two rounds."""
        rounds = self.per_round((self.metric,))
        if len(rounds) < 2:
            return False
        diff = rounds[f"{self.metric} learned"].to_numpy(float) - rounds[f"{self.metric} reference"].to_numpy(float)
        return bool(diff.mean() > 1e-9 and np.sum(diff > 1e-9) > np.sum(diff < -1e-9))


def _labels(rounds: _Rounds, label: str) -> pd.DataFrame:
    table = rounds.judgments.rename(columns={"relevance": "label"})
    if label == "selected":
        table = table.assign(label=(table["label"] > 0).astype(np.float64))
    return table.assign(label=table["label"].astype(np.float64))


def learn_weights(
    matcher: Matcher,
    requests: TableLike,
    history: pd.DataFrame | str | os.PathLike[str],
    *,
    experts: TableLike | None = None,
    evidence: TableLike | None = None,
    candidates: int = 20,
    label: str = "selected",
    C: float = 1.0,
    masked_selected: str = "drop",
    k: Sequence[int] = (1, 3, 5, 10),
    metric: str = "ndcg@5",
    depth: int | None = 100,
    unrated: int = 3,
) -> WeightLearning:
    """Learn the component weights from past selections, and check them by leaving whole rounds out.

    For each round, weights are fitted on the other rounds' comparisons (:func:`fit_weights`) and the round's
    requests are ranked with them and with the matcher's weights (the reference), hard filters on; both rankings
    are scored against the round's selections (selected = relevant, rating = grade). The final weights are fitted
    on every round.

    Parameters
    ----------
    matcher : Matcher
        Configuration (embedder, aggregation, lexical, ...) and reference weights; fitted here on ``experts`` when
        given.
    requests, history, experts, evidence
        As for :func:`evaluate_rounds`.
    candidates : int, default 20
        Top experts per request (reference weights, after the filters) compared with the selected ones.
    label : {"selected", "grade"}, default "selected"
        Compare selected with unselected candidates, or every candidate with every lower-graded one (the rating
        of selected pairs, ``unrated`` when missing, is the grade).
    C : float, default 1.0
        Inverse L2 strength (:func:`fit_weights`).
    masked_selected : {"drop", "keep"}
        Selected pairs the hard filters remove now: left out of the training pairs or kept (always reported).
    k, depth, unrated
        As for :func:`evaluate_rounds`.
    metric : str, default "ndcg@5"
        Column of :func:`gscp_match.evaluate._metrics.evaluate` that decides :attr:`WeightLearning.beats_reference`.

    Returns
    -------
    WeightLearning
    """
    _choice(label, LABELS, "label")
    _check_metric(metric, k)
    rounds = _prepare(matcher, requests, history, experts, evidence, unrated)
    reference = matcher.weights
    chunk = matcher.chunk_size
    pairs = candidate_pairs(
        rounds.inputs,
        _labels(rounds, label),
        weights=reference,
        candidates=candidates,
        masked_selected=masked_selected,
        chunk_size=min(chunk, 4096),
    )
    learned = fit_weights(pairs, reference=reference, C=C)

    round_labels = sorted(set(rounds.round_of.values()))
    request_rounds = np.array([rounds.round_of[r] for r in rounds.inputs.requests.ids], dtype=object)
    held: list[pd.DataFrame] = []
    folds: list[dict[str, Any]] = []
    if len(round_labels) < 2:
        log.warning("leave-one-round-out needs at least two rounds; the history has %d", len(round_labels))
    else:
        for held_round in round_labels:
            try:
                fold = fit_weights(pairs.subset(pairs.rounds != held_round), reference=reference, C=C)
            except InputError as exc:
                log.warning("round %s: no weights fitted without it (%s)", held_round, exc)
                continue
            rows = np.flatnonzero(request_rounds == held_round)
            for name, weights in (("reference", reference), ("learned", fold.weights)):
                part = _evaluate(rounds, weights, rows, k=k, depth=depth, gain="linear", chunk_size=chunk)
                part.insert(2, "weights", name)
                held.append(part)
            folds.append(
                {
                    "round": held_round,
                    "n_requests": fold.n_requests,
                    "n_comparisons": fold.n_comparisons,
                    **fold.weights.as_dict(),
                    "zeroed": ", ".join(fold.zeroed),
                }
            )
    held_out = pd.concat(held, ignore_index=True) if held else pd.DataFrame(columns=["round", "request_id", "weights"])
    return WeightLearning(
        learned=learned,
        reference=reference,
        held_out=held_out,
        folds=pd.DataFrame(folds),
        masked=pairs.masked,
        metric=metric,
        created=dt.date.today().isoformat(),
    )


def save_weights(
    learning: WeightLearning,
    path: str | os.PathLike[str],
    *,
    description: str | None = None,
    data: Mapping[str, Any] | None = None,
) -> Path:
    """Write the learned weights as a weights JSON (the format of ``src/gscp_match/models/default_weights.json``),
    atomically.

    Besides ``description`` and ``weights`` (all that :meth:`Weights.from_file` reads), the file records how they
    were made under ``"learned"``: the date, ``data`` (what the caller says about the history), the comparisons,
    unidentified and zeroed components, the held-out figures per metric and whether they beat the reference.

    Returns
    -------
    Path
    """
    fit = learning.learned
    summary = learning.summary()
    record = {
        "description": description
        or (
            "Learned weights: pairwise logistic regression on within-request component differences of past "
            f"selections ({fit.n_comparisons} comparisons, {fit.n_requests} requests); see models/README.md."
        ),
        "weights": {c: round(v, 6) for c, v in fit.weights.as_dict().items()},
        "learned": {
            "date": learning.created,
            "data": dict(data or {}),
            "n_requests": fit.n_requests,
            "n_comparisons": fit.n_comparisons,
            "unidentified": list(fit.unidentified),
            "zeroed": list(fit.zeroed),
            "reference_weights": learning.reference.as_dict(),
            "held_out_rounds": int(len(learning.per_round((learning.metric,)))),
            "held_out": {
                row["metric"]: {
                    "reference": round(row["reference"], 4),
                    "learned": round(row["learned"], 4),
                    "rounds_w_t_l": row["rounds W/T/L"],
                }
                for row in summary.to_dict("records")
            },
            "decided_by": learning.metric,
            "beats_reference": learning.beats_reference,
        },
    }
    target = Path(path)
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(record, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return target
