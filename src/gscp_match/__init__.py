"""gscp_match: match smart-city technical-assistance requests to experts and Korean benchmark cases.

Quick start::

    import gscp_match as gm
    demo = gm.load_demo()
    matcher = gm.Matcher().fit(demo.experts, evidence=demo.evidence)
    result = matcher.shortlist(demo.requests, k=5)
    result.experts.head()
"""

from __future__ import annotations

from .catalog import Demo, load_cases, load_demo
from .distributed import distributed_shortlist
from .errors import InputError, ModelNotFoundError
from .history import read_history
from .ingest import ingest
from .io import write_table
from .learn import evaluate_rounds, learn_weights
from .matcher import Matcher, Shortlists
from .round_plan import RoundPlan, add_bookings
from .scoring import COMPONENTS, FILTERS, Weights
from .similarity import similarity
from .store import ProfileStore, StoreError
from .validate import read_table, validate_table

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # The report pulls in matplotlib; load it only when asked for.
    if name == "write_report":
        from .report import write_report

        return write_report
    raise AttributeError(f"module 'gscp_match' has no attribute {name!r}")


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
