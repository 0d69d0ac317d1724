"""The scoring core: arrays in, arrays out, numpy and scipy only.

Every request against every expert (components, hard filters, top-k, in chunks), aggregation of document scores up
to their owners, per-request standardization of the text components, the working-day calendar and the assignment
solver. Nothing here reads a file, knows a model or sees an id string: rows are integer positions, requests by
experts (``S = Q @ E.T`` has shape ``(n_requests, n_experts)``). The lowest layer, with :mod:`gscp_match.errors`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gscp_match._lazy import attach

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from gscp_match.core._aggregate import AGGREGATION_METHODS, aggregate
    from gscp_match.core._arrays import CaseArrays, ExpertArrays, RequestArrays
    from gscp_match.core._assign import METHODS, AssignmentProblem, AssignmentResult, SolveOptions, solve
    from gscp_match.core._scoring import (
        COMPONENTS,
        DEFAULT_WEIGHTS,
        FILTERS,
        Ranking,
        ScoringInputs,
        Weights,
        pair_components,
        rescore_pairs,
        shortlist,
    )

__all__ = [
    "COMPONENTS",
    "FILTERS",
    "Weights",
    "DEFAULT_WEIGHTS",
    "ScoringInputs",
    "Ranking",
    "shortlist",
    "pair_components",
    "rescore_pairs",
    "ExpertArrays",
    "RequestArrays",
    "CaseArrays",
    "aggregate",
    "AGGREGATION_METHODS",
    "AssignmentProblem",
    "AssignmentResult",
    "SolveOptions",
    "solve",
    "METHODS",
]

_EXPORTS = {
    "COMPONENTS": "._scoring",
    "FILTERS": "._scoring",
    "Weights": "._scoring",
    "DEFAULT_WEIGHTS": "._scoring",
    "ScoringInputs": "._scoring",
    "Ranking": "._scoring",
    "shortlist": "._scoring",
    "pair_components": "._scoring",
    "rescore_pairs": "._scoring",
    "ExpertArrays": "._arrays",
    "RequestArrays": "._arrays",
    "CaseArrays": "._arrays",
    "aggregate": "._aggregate",
    "AGGREGATION_METHODS": "._aggregate",
    "AssignmentProblem": "._assign",
    "AssignmentResult": "._assign",
    "SolveOptions": "._assign",
    "solve": "._assign",
    "METHODS": "._assign",
}

__getattr__, __dir__ = attach(__name__, _EXPORTS)
