"""Simulated past rounds: selections that follow a *known* hidden weighting of the score components plus Gumbel
noise, so that a learner (:func:`gscp_match.evaluate.learn_weights`) can be checked against the truth.

Everything it makes is synthetic: the roster and requests come from :mod:`gscp_match.synthetic`, the candidates
and their components from :class:`gscp_match.Matcher`, and the result is a history table
(:mod:`gscp_match.tables._history`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gscp_match.core import _scoring as scoring
from gscp_match.core._scoring import COMPONENTS, Weights
from gscp_match.errors import InputError
from gscp_match.match._matcher import Matcher
from gscp_match.synthetic import _generate as synthetic
from gscp_match.text._cache import EmbeddingCache
from gscp_match.text._embed import Embedder

__all__ = ["SimulatedHistory", "select_top", "simulate_history"]

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------------------------
# Simulated history.


@dataclass(frozen=True, slots=True)
class SimulatedHistory:
    """Past rounds whose selections follow a known weighting. Every table is synthetic and in file form.

    Attributes
    ----------
    experts, evidence : DataFrame
        One synthetic roster (and its evidence), the same for every round.
    requests : DataFrame
        Every round's requests; ``round`` is ``H1``, ``H2``, ...; ids ``H1-001``, ...
    history : DataFrame
        ``round, request_id, expert_id, selected, rating``: one row per candidate shown (the top ``candidates``
        by ``candidate_weights`` after the hard filters), ``selected`` ``"1"`` for the ``experts_needed`` best by
        hidden score plus noise, a ``rating`` on some selected rows.
    hidden_weights : Weights
        The weighting the selections follow.
    candidate_weights : Weights
        The weights that chose the candidates shown (the shipped defaults unless given).
    noise : float
        Scale of the Gumbel noise added to the hidden score.
    """

    experts: pd.DataFrame
    evidence: pd.DataFrame
    requests: pd.DataFrame
    history: pd.DataFrame
    hidden_weights: Weights
    candidate_weights: Weights
    noise: float


def _month_start(start: str, months: int) -> str:
    first = np.datetime64(start, "D")
    return str((first.astype("datetime64[M]") + months).astype("datetime64[D]"))


def select_top(scores: NDArray[np.float64], valid: NDArray[np.bool_], needed: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Per row, the ``needed[r]`` highest-scoring valid columns; ties go to the lower column.

    Parameters
    ----------
    scores : ndarray of float, shape (n_requests, m)
    valid : ndarray of bool, shape (n_requests, m)
        Columns that can be chosen (a short candidate list is padded with invalid columns).
    needed : ndarray of int, shape (n_requests,)

    Returns
    -------
    ndarray of bool, shape (n_requests, m)

    Examples
    --------
    >>> select_top(np.array([[0.1, 0.9, 0.5]]), np.array([[True, False, True]]), np.array([1])).tolist()
    [[False, False, True]]
    """
    masked = np.where(valid, scores, -np.inf)
    order = np.argsort(-masked, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(order.shape[1])[None, :].repeat(order.shape[0], axis=0), axis=1)
    return valid & (rank < needed[:, None])


def simulate_history(
    hidden_weights: Weights | Mapping[str, float],
    *,
    rounds: int = 6,
    experts: int = 300,
    requests_per_round: int = 40,
    candidates: int = 20,
    noise: float = 0.02,
    rated_share: float = 0.5,
    korean_share: float | None = None,
    embedder: Embedder | str | os.PathLike[str] | None = "hashing",
    candidate_weights: Weights | None = None,
    cache: EmbeddingCache | str | os.PathLike[str] | None = None,
    start: str = "2027-01-01",
    seed: int | np.random.Generator = 0,
) -> SimulatedHistory:
    """Simulate past rounds in which staff selected experts by a hidden weighting of the components, with noise.

    One synthetic roster serves every round; round ``r`` (``H1``, ``H2``, ...) has its own synthetic requests,
    their windows starting ``r - 1`` months after ``start``. For each request the candidates are the top
    ``candidates`` experts by ``candidate_weights`` after the hard filters (what the tool would have shown), and
    the ``experts_needed`` candidates with the highest ``hidden score + noise x Gumbel`` are selected, where the
    hidden score is the weighted sum of the components with ``hidden_weights``. With Gumbel noise the choice of
    one expert is a multinomial logit in the hidden score (McFadden), and the choice of several a Plackett-Luce
    top-k: the model :mod:`gscp_match.evaluate._learn` assumes, so the learner should recover the direction of the
    hidden
    weights (up to scale, and only for components that vary among a request's candidates).

    Parameters
    ----------
    hidden_weights : Weights or mapping
        The weighting the selections follow.
    rounds, experts, requests_per_round, candidates : int
        Past rounds, roster size, requests per round, candidates shown per request.
    noise : float, default 0.02
        Scale of the Gumbel noise (0: the hidden score alone decides). The hidden score's spread among a request's
        candidates is of the order of 0.05, so 0.02 is a fairly consistent staff and 0.1 a noisy one.
    rated_share : float, default 0.5
        Share of selected rows that get a rating: 1 + 4 x the noise-free hidden score's percentile among the
        request's candidates, rounded (a selection that only the noise favoured rates poorly).
    korean_share : float, optional
        Share of requests that ask for Korean experience (default: the generator's, about 0.2). The ``korean``
        component only differs between candidates of such requests, so a higher share tells a learner more about
        its weight.
    embedder : Embedder, str or None, default "hashing"
        As for :class:`gscp_match.Matcher`; the model-free hashing embedder keeps the simulation fast.
    candidate_weights : Weights, optional
        Weights that choose the candidates; default the shipped defaults.
    cache : EmbeddingCache, path, "default" or None, default None
        Embedding cache, as for :class:`gscp_match.Matcher` (worth it with a real model).
    start : str
        First day of the first round's period (ISO date).
    seed : int or numpy.random.Generator

    Returns
    -------
    SimulatedHistory

    Examples
    --------
    >>> sim = simulate_history({"semantic": 0.5, "themes": 0.5}, rounds=2, experts=40, requests_per_round=3,
    ...                        candidates=5, seed=1)
    >>> sorted(sim.history["round"].unique()), sim.history["selected"].isin(["0", "1"]).all()
    (['H1', 'H2'], np.True_)
    """
    hidden = hidden_weights if isinstance(hidden_weights, Weights) else Weights.from_mapping(hidden_weights)
    for name, value in (("rounds", rounds), ("experts", experts), ("requests_per_round", requests_per_round)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(f"{name} must be an integer >= 1, got {value!r}")
    if isinstance(candidates, bool) or not isinstance(candidates, int) or candidates < 2:
        raise InputError(f"candidates must be an integer >= 2, got {candidates!r}")
    if not np.isfinite(noise) or noise < 0:
        raise InputError(f"noise must be a finite number >= 0, got {noise!r}")
    for name, share in (("rated_share", rated_share), ("korean_share", korean_share)):
        if share is not None and not 0 <= share <= 1:
            raise InputError(f"{name} must be in [0, 1], got {share!r}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    roster_rng, evidence_rng, choice_rng, korean_rng, *round_rngs = rng.spawn(4 + rounds)

    roster = synthetic.generate_experts(experts, seed=roster_rng, start=start, months=rounds + 6)
    evidence = synthetic.generate_evidence(roster, seed=evidence_rng, last_year=int(start[:4]) - 1)
    ids = roster["expert_id"].tolist()
    requests = pd.concat(
        [
            synthetic.generate_requests(
                requests_per_round,
                seed=round_rngs[r],
                round=f"H{r + 1}",
                start=_month_start(start, r),
                months=6,
                expert_ids=ids,
            )
            for r in range(rounds)
        ],
        ignore_index=True,
    )
    if korean_share is not None:
        asks = korean_rng.random(len(requests)) < korean_share
        requests["korean_experience"] = np.where(asks, "true", "false").astype(object)

    matcher = Matcher(embedder, weights=candidate_weights, cache=cache, show_progress=False)
    matcher.fit(roster, evidence=evidence)
    table, inputs = matcher.scoring_inputs(requests)
    shown = scoring.shortlist(inputs, k=candidates, weights=matcher.weights, chunk_size=matcher.chunk_size)
    valid = shown.experts >= 0
    rows, cols = np.nonzero(valid)
    components, _, _ = scoring.pair_components(inputs, rows, shown.experts[rows, cols])
    true_score = np.zeros(valid.shape)
    true_score[rows, cols] = np.stack([components[c] for c in COMPONENTS], axis=1).astype(np.float64) @ (
        np.array([getattr(hidden, c) for c in COMPONENTS], dtype=np.float64)
    )
    noisy = true_score + noise * choice_rng.gumbel(size=valid.shape)
    chosen = select_top(noisy, valid, inputs.requests.experts_needed)

    # Rating: the noise-free score's percentile among the request's candidates.
    ranked_true = np.where(valid, true_score, np.inf)
    below = (ranked_true[:, :, None] > ranked_true[:, None, :]).sum(axis=2)
    n_valid = np.maximum(valid.sum(axis=1, keepdims=True) - 1, 1)
    rating = 1 + np.rint(4 * below / n_valid).astype(np.int64)
    rated = chosen & (choice_rng.random(valid.shape) < rated_share)

    expert_ids = matcher.experts_["expert_id"].to_numpy(dtype=object)
    history = pd.DataFrame(
        {
            "round": table["round"].to_numpy(dtype=object)[rows],
            "request_id": table["request_id"].to_numpy(dtype=object)[rows],
            "expert_id": expert_ids[shown.experts[rows, cols]],
            "selected": np.where(chosen[rows, cols], "1", "0").astype(object),
            "rating": np.where(rated[rows, cols], rating[rows, cols].astype(str), "").astype(object),
        }
    )
    log.debug("simulated %d rounds, %d requests, %d candidate rows", rounds, len(requests), len(history))
    return SimulatedHistory(
        experts=roster,
        evidence=evidence,
        requests=requests,
        history=history,
        hidden_weights=hidden,
        candidate_weights=matcher.weights,
        noise=float(noise),
    )
