"""Round reports a task team can open anywhere: an Excel workbook or one self-contained HTML page.

The round summaries behind them are tables (``demand_supply``, ``request_counts``, ...) and each chart is a function
of such a table returning a matplotlib ``Figure``, so a tool can use the numbers without the picture.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gscp_match._lazy import attach

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from gscp_match.report._analysis import case_references, demand_supply, expert_load, request_counts, request_summary
    from gscp_match.report._charts import (
        calendar_chart,
        case_references_chart,
        demand_supply_chart,
        expert_load_chart,
        request_counts_chart,
    )
    from gscp_match.report._report import REPORT_FORMATS, write_report

__all__ = [
    "write_report",
    "REPORT_FORMATS",
    "demand_supply",
    "request_counts",
    "case_references",
    "expert_load",
    "request_summary",
    "demand_supply_chart",
    "request_counts_chart",
    "case_references_chart",
    "expert_load_chart",
    "calendar_chart",
]

_EXPORTS = {
    "write_report": "._report",
    "REPORT_FORMATS": "._report",
    "demand_supply": "._analysis",
    "request_counts": "._analysis",
    "case_references": "._analysis",
    "expert_load": "._analysis",
    "request_summary": "._analysis",
    "demand_supply_chart": "._charts",
    "request_counts_chart": "._charts",
    "case_references_chart": "._charts",
    "expert_load_chart": "._charts",
    "calendar_chart": "._charts",
}

__getattr__, __dir__ = attach(__name__, _EXPORTS)
