"""Judge rankings: retrieval metrics and the pairwise loss against graded judgments, past rounds, learned weights."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gscp_match._lazy import attach

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from gscp_match.evaluate._learn import LearnedWeights, RoundEvaluation, evaluate_rounds, learn_weights
    from gscp_match.evaluate._metrics import (
        Evaluation,
        PairwiseEvaluation,
        evaluate,
        evaluate_pairwise,
        ndcg_at_k,
        pairwise_loss,
    )
    from gscp_match.evaluate._simulate import SimulatedHistory, simulate_history

__all__ = [
    "evaluate",
    "evaluate_pairwise",
    "pairwise_loss",
    "ndcg_at_k",
    "Evaluation",
    "PairwiseEvaluation",
    "evaluate_rounds",
    "learn_weights",
    "LearnedWeights",
    "RoundEvaluation",
    "simulate_history",
    "SimulatedHistory",
]

_EXPORTS = {
    "evaluate": "._metrics",
    "evaluate_pairwise": "._metrics",
    "pairwise_loss": "._metrics",
    "ndcg_at_k": "._metrics",
    "Evaluation": "._metrics",
    "PairwiseEvaluation": "._metrics",
    "evaluate_rounds": "._learn",
    "learn_weights": "._learn",
    "LearnedWeights": "._learn",
    "RoundEvaluation": "._learn",
    "simulate_history": "._simulate",
    "SimulatedHistory": "._simulate",
}

__getattr__, __dir__ = attach(__name__, _EXPORTS)
