"""Files -> validated tables: the data contract, readers and writers, and the bundled data.

Every input file is read here (CSV, Excel, Parquet, JSON records), checked cell by cell against the contract in
one pass, and returned as a typed pandas table; every problem names the file, row and column. Validated tables
become the core's arrays here too (``ExpertArrays`` and friends), the one place that maps ids to rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gscp_match._lazy import attach

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from gscp_match.tables._arrays import (
        case_arrays,
        conflict_matrix,
        expert_arrays,
        expert_conflicts,
        request_arrays,
        request_conflicts,
    )
    from gscp_match.tables._catalog import Demo, demo_paths, load_cases, load_demo
    from gscp_match.tables._history import read_history
    from gscp_match.tables._io import FORMATS, write_table
    from gscp_match.tables._schema import TABLES
    from gscp_match.tables._validate import read_table, validate_table
    from gscp_match.tables._vocab import REGIONS, SUPPORT_TYPES, THEMES
    from gscp_match.tables._weights import read_weights

__all__ = [
    "read_table",
    "validate_table",
    "write_table",
    "FORMATS",
    "TABLES",
    "Demo",
    "load_cases",
    "load_demo",
    "demo_paths",
    "read_history",
    "read_weights",
    "expert_arrays",
    "request_arrays",
    "case_arrays",
    "expert_conflicts",
    "request_conflicts",
    "conflict_matrix",
    "THEMES",
    "REGIONS",
    "SUPPORT_TYPES",
]

_EXPORTS = {
    "read_table": "._validate",
    "validate_table": "._validate",
    "write_table": "._io",
    "FORMATS": "._io",
    "TABLES": "._schema",
    "Demo": "._catalog",
    "load_cases": "._catalog",
    "load_demo": "._catalog",
    "demo_paths": "._catalog",
    "read_history": "._history",
    "read_weights": "._weights",
    "expert_arrays": "._arrays",
    "request_arrays": "._arrays",
    "case_arrays": "._arrays",
    "expert_conflicts": "._arrays",
    "request_conflicts": "._arrays",
    "conflict_matrix": "._arrays",
    "THEMES": "._vocab",
    "REGIONS": "._vocab",
    "SUPPORT_TYPES": "._vocab",
}

__getattr__, __dir__ = attach(__name__, _EXPORTS)
