"""gscp_match: match smart-city technical-assistance requests to experts and Korean benchmark cases.

Quick start::

    import gscp_match as gm
    demo = gm.load_demo()
    matcher = gm.Matcher().fit(demo.experts, evidence=demo.evidence)
    result = matcher.shortlist(demo.requests, k=5)
    result.experts.head()
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# Public names and the module each lives in. They are imported on first use (PEP 562), so that importing a
# submodule, the CLI first of all, does not pull in pandas, scipy or the model stack (``gscp-match --help``).
_EXPORTS: dict[str, str] = {
    "Demo": "catalog",
    "load_cases": "catalog",
    "load_demo": "catalog",
    "distributed_shortlist": "distributed",
    "InputError": "errors",
    "ModelNotFoundError": "errors",
    "read_history": "history",
    "ingest": "ingestion",
    "write_table": "io",
    "evaluate_rounds": "learn",
    "learn_weights": "learn",
    "Matcher": "matcher",
    "Shortlists": "matcher",
    "RoundPlan": "round_plan",
    "add_bookings": "round_plan",
    "COMPONENTS": "scoring",
    "FILTERS": "scoring",
    "Weights": "scoring",
    "similarity": "_similarity",
    "ProfileStore": "store",
    "StoreError": "store",
    "read_table": "validate",
    "validate_table": "validate",
    "write_report": "report",
}

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from ._similarity import similarity
    from .catalog import Demo, load_cases, load_demo
    from .distributed import distributed_shortlist
    from .errors import InputError, ModelNotFoundError
    from .history import read_history
    from .ingestion import ingest
    from .io import write_table
    from .learn import evaluate_rounds, learn_weights
    from .matcher import Matcher, Shortlists
    from .report import write_report
    from .round_plan import RoundPlan, add_bookings
    from .scoring import COMPONENTS, FILTERS, Weights
    from .store import ProfileStore, StoreError
    from .validate import read_table, validate_table


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        if not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
            return importlib.import_module(f".{name}", __name__)  # gm.catalog, as when __init__ imported it
        raise AttributeError(f"module 'gscp_match' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


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
