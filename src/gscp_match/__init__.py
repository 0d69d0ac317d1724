"""gscp_match: match smart-city technical-assistance requests to experts and Korean benchmark cases.

Quick start::

    import gscp_match as gm
    demo = gm.load_demo()
    matcher = gm.Matcher().fit(demo.experts, evidence=demo.evidence)
    result = matcher.shortlist(demo.requests, k=5)
    result.experts.head()
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gscp_match._lazy import attach
from gscp_match._version import __version__ as __version__

# Public names and the subpackage each lives in. They are imported on first use (PEP 562), so that importing a
# submodule, the CLI first of all, does not pull in pandas, scipy or the model stack (``gscp-match --help``).
_EXPORTS: dict[str, str] = {
    "Demo": ".tables",
    "load_cases": ".tables",
    "load_demo": ".tables",
    "distributed_shortlist": ".scale",
    "InputError": ".errors",
    "ModelNotFoundError": ".errors",
    "read_history": ".tables",
    "ingest": ".ingestion",
    "write_table": ".tables",
    "evaluate_rounds": ".evaluate",
    "learn_weights": ".evaluate",
    "Matcher": ".match",
    "Shortlists": ".match",
    "RoundPlan": ".plan",
    "add_bookings": ".plan",
    "COMPONENTS": ".core",
    "FILTERS": ".core",
    "Weights": ".core",
    "similarity": ".text",
    "ProfileStore": ".scale",
    "StoreError": ".scale",
    "read_table": ".tables",
    "validate_table": ".tables",
    "write_report": ".report",
}

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from gscp_match.core import COMPONENTS, FILTERS, Weights
    from gscp_match.errors import InputError, ModelNotFoundError
    from gscp_match.evaluate import evaluate_rounds, learn_weights
    from gscp_match.ingestion import ingest
    from gscp_match.match import Matcher, Shortlists
    from gscp_match.plan import RoundPlan, add_bookings
    from gscp_match.report import write_report
    from gscp_match.scale import ProfileStore, StoreError, distributed_shortlist
    from gscp_match.tables import Demo, load_cases, load_demo, read_history, read_table, validate_table, write_table
    from gscp_match.text import similarity


__getattr__, __dir__ = attach(__name__, _EXPORTS, submodules=True)

__all__ = [
    "COMPONENTS",
    "FILTERS",
    "Demo",
    "InputError",
    "Matcher",
    "ModelNotFoundError",
    "ProfileStore",
    "StoreError",
    "RoundPlan",
    "Shortlists",
    "Weights",
    "add_bookings",
    "distributed_shortlist",
    "evaluate_rounds",
    "ingest",
    "learn_weights",
    "read_history",
    "load_cases",
    "load_demo",
    "read_table",
    "similarity",
    "validate_table",
    "write_report",
    "write_table",
]
