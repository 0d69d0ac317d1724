"""Round reports: an Excel workbook or one self-contained HTML page, with the same content.

Both hold a summary (each request, who is assigned, which requests are unstaffed and why), the round's figures
(demand against supply by theme, requests by region, practice group and support type, references to Korean cases
by city and theme, expert load and calendar) and, per request, its expert and case shortlists with the reasons.

* **Excel** (``.xlsx``): a ``Summary`` sheet, one sheet per figure table, and one sheet per request (named from
  its id, made valid and unique by :func:`sheet_names`). Header rows are frozen and columns sized to their text.
  Text cells a spreadsheet would evaluate (``=``, ``+``, ``-``, ``@``, tab, CR first) get a leading quote
  (:func:`gscp_match.io.neutralize_formula`); numbers stay numbers.
* **HTML** (``.html`` or ``.htm``): one file with inline CSS and the charts as inline SVG; no script, no external
  URL, nothing fetched (a Content-Security-Policy forbids it too). Every piece of text from the input tables is
  escaped (:func:`html.escape`), so a description holding ``<script>`` shows as text and never runs.

Files are written atomically (:func:`gscp_match.io.atomic_path`).

>>> import tempfile, pathlib, pandas as pd
>>> from gscp_match import validate_table
>>> requests = validate_table(pd.DataFrame({"request_id": ["R1"], "title": ["Bus <reform>"], "description": ["d"],
...                                         "themes": ["mobility"]}), "requests")
>>> experts = validate_table(pd.DataFrame({"expert_id": ["E1"], "name": ["Kim"], "bio": ["b"], "themes": ["mobility"],
...                                        "nationality": ["KR"]}), "experts")
>>> short = pd.DataFrame({"request_id": ["R1"], "rank": [1], "expert_id": ["E1"], "name": ["Kim"],
...                       "score": [0.5], "why": ["themes mobility"]})
>>> out = pathlib.Path(tempfile.mkdtemp()) / "round.html"
>>> path = write_report(out, requests=requests, experts=experts, shortlists_experts=short)
>>> "Bus &lt;reform&gt;" in path.read_text(encoding="utf-8")
True
"""

from __future__ import annotations

import datetime as dt
import html
import io
import math
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from . import analysis, charts
from .errors import InputError
from .io import atomic_path, neutralize_formula

__all__ = ["REPORT_FORMATS", "report_format", "sheet_names", "write_report"]

#: Report file extensions, by format.
REPORT_FORMATS: dict[str, str] = {".html": "html", ".htm": "html", ".xlsx": "xlsx"}

_EXCEL_MAX_TEXT = 32767
_SHEET_MAX = 31
_SHEET_INVALID = re.compile(r"[\[\]:*?/\\\x00-\x1f\x7f]")
_SHEET_EDGES = re.compile(r"^[\s']+|[\s']+$")  # no apostrophe (nor space) first or last
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # not allowed in XLSX (openpyxl raises)
_SVG_NS = "http://www.w3.org/2000/svg"
_XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
_FIXED_SHEETS = (
    "Summary",
    "Demand and supply",
    "Request counts",
    "Case references",
    "Expert load",
    "Calendar",
)
_NO_CASES = pd.DataFrame(columns=["request_id", "rank", "case_id", "title", "city", "score", "why"])


def report_format(path: str | os.PathLike[str]) -> str:
    """``"html"`` or ``"xlsx"`` from ``path``'s extension; any other extension raises, listing the valid ones.

    >>> report_format("round7.HTM"), report_format("out/round7.xlsx")
    ('html', 'xlsx')
    """
    suffix = Path(path).suffix.lower()
    fmt = REPORT_FORMATS.get(suffix)
    if fmt is None:
        raise InputError(
            f"{Path(path).name}: unknown report extension {suffix or '(none)'!r}; "
            f"expected one of {', '.join(REPORT_FORMATS)}"
        )
    return fmt


# ---------------------------------------------------------------------------------------------------------------
# Content: the tables both formats show.


@dataclass(frozen=True, slots=True)
class _RequestPage:
    request: pd.Series
    summary: pd.Series
    experts: pd.DataFrame
    cases: pd.DataFrame


@dataclass(frozen=True, slots=True)
class _Content:
    title: str
    n_experts: int
    summary: pd.DataFrame
    demand_supply: pd.DataFrame
    request_counts: dict[str, pd.DataFrame]
    case_references: dict[str, pd.DataFrame]
    planned: bool
    assignment: pd.DataFrame | None
    load: pd.DataFrame | None
    spans: pd.DataFrame | None
    bookings: pd.DataFrame | None
    pages: tuple[_RequestPage, ...]


_EXPERT_COLUMNS = ("rank", "expert_id", "name", "score", "free_days", "days_needed", "plan", "why")
_CASE_COLUMNS = ("rank", "case_id", "title", "city", "score", "why")


def _by_request(frame: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    if frame is None or frame.empty:
        return {}
    ids = frame["request_id"].astype(str)
    return {str(k): g for k, g in frame.groupby(ids, sort=False)}


def _plan_label(role: object, rank: object) -> str:
    if role == "assigned":
        return "assigned"
    if role == "alternate":
        return f"alternate {int(rank)}" if rank is not None and not pd.isna(rank) else "alternate"  # type: ignore[call-overload]
    return ""


def _expert_rows(shortlist: pd.DataFrame | None, plan: pd.DataFrame | None) -> pd.DataFrame:
    """A request's shortlist rows, with the plan's role, then the plan's experts that are not on the shortlist."""
    columns = list(_EXPERT_COLUMNS)
    parts: list[pd.DataFrame] = []
    roles: dict[str, str] = {}
    if plan is not None:
        for expert_id, role, rank in zip(plan["expert_id"].astype(str), plan["role"], plan["rank"], strict=True):
            roles.setdefault(expert_id, _plan_label(role, rank))
    listed: set[str] = set()
    if shortlist is not None and len(shortlist):
        rows = shortlist.sort_values("rank", kind="stable")
        frame = pd.DataFrame({c: rows[c].to_numpy(dtype=object) if c in rows else None for c in columns if c != "plan"})
        frame["plan"] = [roles.get(str(e), "") for e in frame["expert_id"]]
        listed = {str(e) for e in frame["expert_id"]}
        parts.append(frame[columns])
    if plan is not None and len(plan):
        extra = plan[~plan["expert_id"].astype(str).isin(listed)]
        extra = extra.assign(_order=(extra["role"] != "assigned").astype(int)).sort_values(["_order", "rank"])
        if len(extra):
            frame = pd.DataFrame(
                {c: extra[c].to_numpy(dtype=object) if c in extra else None for c in columns if c != "plan"}
            )
            frame["rank"] = None  # not on the shortlist
            frame["plan"] = [_plan_label(r, k) for r, k in zip(extra["role"], extra["rank"], strict=True)]
            parts.append(frame[columns])
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)


def _case_rows(shortlist: pd.DataFrame | None) -> pd.DataFrame:
    columns = list(_CASE_COLUMNS)
    if shortlist is None or shortlist.empty:
        return pd.DataFrame(columns=columns)
    rows = shortlist.sort_values("rank", kind="stable")
    return pd.DataFrame({c: rows[c].to_numpy(dtype=object) if c in rows else None for c in columns})


def _content(
    *,
    title: str,
    requests: pd.DataFrame,
    experts: pd.DataFrame,
    shortlists_experts: pd.DataFrame,
    shortlists_cases: pd.DataFrame | None,
    cases: pd.DataFrame | None,
    assignment: pd.DataFrame | None,
    unstaffed: pd.DataFrame | None,
    bookings: pd.DataFrame | None,
) -> _Content:
    requests = requests.reset_index(drop=True)
    case_shortlist = _NO_CASES if shortlists_cases is None else shortlists_cases
    summary = analysis.request_summary(requests, assignment=assignment, unstaffed=unstaffed)
    experts_by = _by_request(shortlists_experts)
    cases_by = _by_request(case_shortlist)
    plan_by = _by_request(assignment)
    pages = tuple(
        _RequestPage(
            request=requests.iloc[i],
            summary=summary.iloc[i],
            experts=_expert_rows(experts_by.get(rid), plan_by.get(rid)),
            cases=_case_rows(cases_by.get(rid)),
        )
        for i, rid in enumerate(requests["request_id"].astype(str))
    )
    references = {by: analysis.case_references(case_shortlist, by=by, cases=cases) for by in ("city", "theme")}
    load = analysis.expert_load(assignment, bookings) if assignment is not None else None
    return _Content(
        title=title,
        n_experts=len(experts),
        summary=summary,
        demand_supply=analysis.demand_supply(requests, experts),
        request_counts={by: analysis.request_counts(requests, by=by) for by in analysis.REQUEST_CATEGORIES},
        case_references=references,
        planned=assignment is not None,
        assignment=assignment,
        load=load,
        spans=analysis.booking_spans(bookings) if bookings is not None else None,
        bookings=bookings,
        pages=pages,
    )


def _text(value: object) -> str:
    """A cell as display text: lists joined, dates ISO, missing empty, floats rounded."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, tuple | list | np.ndarray):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return ""
        return f"{value:.4f}".rstrip("0").rstrip(".") if not float(value).is_integer() else str(int(value))
    if isinstance(value, pd.Timestamp | dt.datetime | np.datetime64):
        stamp = pd.Timestamp(value)
        return "" if pd.isna(stamp) else stamp.date().isoformat()
    return str(value)


def _facts(request: pd.Series, window: str) -> list[tuple[str, str]]:
    """The request's fields a reader wants next to its shortlists, as (label, text)."""
    fields = (
        ("country", "country"),
        ("city", "city"),
        ("client", "client"),
        ("region", "region"),
        ("practice group", "practice_group"),
        ("support type", "support_type"),
        ("working days", "days"),
        ("languages", "languages"),
        ("themes", "themes"),
        ("Korean experience asked", "korean_experience"),
        ("experts needed", "experts_needed"),
        ("budget (USD)", "budget_usd"),
    )
    out = [(label, _text(request[column])) for label, column in fields if column in request.index]
    if window:
        out.insert(7, ("window", window))
    return [(label, text) for label, text in out if text]


def _plan_line(summary: pd.Series) -> str:
    status = str(summary["status"])
    if status == "not planned":
        return "No round plan: shortlists only."
    parts = [f"Status: {status}."]
    if summary["assigned"]:
        parts.append(f"Assigned: {summary['assigned']}.")
    if summary["alternates"]:
        parts.append(f"Alternates: {summary['alternates']}.")
    if summary["reason"]:
        parts.append(f"Why not fully staffed: {summary['reason']}")
    if summary["blocked_by"]:
        parts.append(f"Candidates taken by: {str(summary['blocked_by']).replace(';', ', ')}.")
    return " ".join(parts)


def _headline(content: _Content) -> str:
    n = len(content.summary)
    text = f"{n} {'request' if n == 1 else 'requests'}, a roster of {content.n_experts} experts"
    if content.planned:
        counts = content.summary["status"].value_counts()
        staffed, partly = int(counts.get("staffed", 0)), int(counts.get("partly staffed", 0))
        text += f"; {staffed} staffed, {partly} partly staffed, {int(counts.get('unstaffed', 0))} unstaffed"
    else:
        text += "; shortlists only (no round plan)"
    gaps = content.demand_supply.loc[content.demand_supply["gap"], "theme"].tolist()
    if gaps:
        text += f"; supply gaps: {', '.join(gaps)}"
    return text + "."


# ---------------------------------------------------------------------------------------------------------------
# Excel.


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _truncate_utf16(text: str, limit: int) -> str:
    while _utf16_len(text) > limit:
        text = text[:-1]
    return text


def sheet_names(names: Iterable[object], *, reserved: Sequence[str] = ()) -> list[str]:
    """Valid, unique Excel sheet names for ``names``, in order.

    Excel wants at most 31 characters (UTF-16 units), none of ``[ ] : * ? / \\`` or control characters, no
    apostrophe first or last, not ``History``, and names unique regardless of case. Invalid characters become
    ``_``; a name taken (by an earlier one or ``reserved``) gets ``~2``, ``~3``, ... (shortened to fit).

    >>> sheet_names(["R1", "r1", "a/b:c", "x" * 40], reserved=["Summary"])
    ['R1', 'r1~2', 'a_b_c', 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx']
    """
    taken = {r.casefold() for r in reserved}
    out: list[str] = []
    for name in names:
        base = _SHEET_EDGES.sub("", _truncate_utf16(_SHEET_INVALID.sub("_", str(name)), _SHEET_MAX)) or "sheet"
        if base.casefold() == "history":
            base = "History_"
        candidate, number = base, 2
        while candidate.casefold() in taken:
            suffix = f"~{number}"
            candidate = _SHEET_EDGES.sub("", _truncate_utf16(base, _SHEET_MAX - len(suffix))) + suffix
            number += 1
        taken.add(candidate.casefold())
        out.append(candidate)
    return out


def _excel_value(value: object) -> object:
    """A cell for openpyxl: numbers as numbers, dates as dates, text cleaned, capped and neutralized."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    if isinstance(value, pd.Timestamp | np.datetime64 | dt.datetime):
        stamp = pd.Timestamp(value)
        return None if pd.isna(stamp) else stamp.date()
    text = _CONTROL.sub("", _text(value))
    if len(text) > _EXCEL_MAX_TEXT - 2:
        text = text[: _EXCEL_MAX_TEXT - 3] + "\u2026"
    return neutralize_formula(text)


_WIDE = {"why": 90, "description": 90, "reason": 70, "assigned": 50, "alternates": 60, "title": 50, "requests": 40}


def _write_rows(sheet: object, frame: pd.DataFrame, *, start_row: int) -> None:
    """Header at ``start_row`` (bold, filled), then the rows; column widths from the text."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDE6F0")
    wrap = Alignment(wrap_text=True, vertical="top")
    top = Alignment(vertical="top")
    columns = [str(c) for c in frame.columns]
    for j, name in enumerate(columns, start=1):
        cell = sheet.cell(row=start_row, column=j, value=neutralize_formula(name))  # type: ignore[attr-defined]
        cell.font, cell.fill = bold, fill
    values = frame.to_numpy(dtype=object)
    for i, row in enumerate(values, start=start_row + 1):
        for j, value in enumerate(row, start=1):
            cell = sheet.cell(row=i, column=j, value=_excel_value(value))  # type: ignore[attr-defined]
            cell.alignment = wrap if columns[j - 1] in _WIDE else top
    for j, name in enumerate(columns, start=1):
        longest = max([len(name), *(len(_text(v)) for v in values[:500, j - 1])], default=len(name))
        width = min(longest + 2, _WIDE.get(name, 40))
        sheet.column_dimensions[get_column_letter(j)].width = max(width, 8)  # type: ignore[attr-defined]


def _long_counts(tables: dict[str, pd.DataFrame], value: str) -> pd.DataFrame:
    parts = [
        pd.DataFrame({"by": by, "group": t.iloc[:, 0].astype(object), **{c: t[c] for c in t.columns[1:]}})
        for by, t in tables.items()
    ]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["by", "group", value])


def _write_xlsx(content: _Content, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    book.properties.title = _CONTROL.sub("", content.title)[:255]
    summary_sheet = book.active
    summary_sheet.title = "Summary"
    _write_rows(summary_sheet, content.summary, start_row=1)
    summary_sheet.freeze_panes = "B2"

    figures: list[tuple[str, pd.DataFrame | None]] = [
        ("Demand and supply", content.demand_supply),
        ("Request counts", _long_counts(content.request_counts, "requests")),
        ("Case references", _long_counts(content.case_references, "references")),
        ("Expert load", content.load),
        ("Calendar", content.spans),
    ]
    for name, table in figures:
        if table is None:
            continue
        sheet = book.create_sheet(name)
        _write_rows(sheet, table, start_row=1)
        sheet.freeze_panes = "A2"

    names = sheet_names([page.summary["request_id"] for page in content.pages], reserved=_FIXED_SHEETS)
    header_row = 5
    for name, page in zip(names, content.pages, strict=True):
        sheet = book.create_sheet(name)
        rid, request = page.summary["request_id"], page.request
        sheet.cell(row=1, column=1, value=_excel_value(f"{rid}: {_text(request.get('title'))}")).font = Font(
            bold=True, size=13
        )
        facts = "; ".join(f"{label}: {text}" for label, text in _facts(request, page.summary["window"]))
        sheet.cell(row=2, column=1, value=_excel_value(facts))
        sheet.cell(row=3, column=1, value=_excel_value(_plan_line(page.summary)))
        description = sheet.cell(row=4, column=1, value=_excel_value(_text(request.get("description"))))
        description.alignment = Alignment(wrap_text=True, vertical="top")
        table = _page_table(page)
        _write_rows(sheet, table, start_row=header_row)
        last_column = max(table.shape[1], 1)
        sheet.merge_cells(start_row=4, start_column=1, end_row=4, end_column=last_column)
        # Row height for the wrapped description: about 110 characters a line, at most 8 lines in the frozen rows.
        lines = min(8, max(1, math.ceil(len(_text(request.get("description"))) / 110)))
        sheet.row_dimensions[4].height = 15 * lines
        sheet.freeze_panes = f"A{header_row + 1}"
    book.save(path)


def _page_table(page: _RequestPage) -> pd.DataFrame:
    """One table per request for Excel: experts then cases, under a shared header."""
    experts = page.experts.rename(columns={"expert_id": "id"})
    experts.insert(0, "list", "expert")
    cases = page.cases.rename(columns={"case_id": "id", "title": "name"})
    cases.insert(0, "list", "case")
    columns = ["list", "rank", "id", "name", "city", "score", "free_days", "days_needed", "plan", "why"]
    return pd.concat([experts.reindex(columns=columns), cases.reindex(columns=columns)], ignore_index=True).astype(
        object
    )


# ---------------------------------------------------------------------------------------------------------------
# HTML.

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:2rem auto;max-width:72rem;
color:#222;line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:2px solid #dde6f0;padding-bottom:.2rem}
h3{margin-top:2rem}.headline{color:#444}
table{border-collapse:collapse;width:100%;margin:.6rem 0 1.2rem;font-size:.9rem}
th,td{border:1px solid #d0d7de;padding:.3rem .45rem;text-align:left;vertical-align:top}
th{background:#dde6f0}td.num{text-align:right;white-space:nowrap}
tr.assigned td{background:#e8f5e9}.status{font-weight:600}
.status-staffed{color:#1b5e20}.status-partly-staffed{color:#8a5300}.status-unstaffed{color:#b00020}
.description{white-space:pre-wrap;background:#f6f8fa;padding:.6rem;border-left:3px solid #0072B2}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem;margin:.4rem 0}dl.facts dt{color:#555}
dl.facts dd{margin:0}figure{margin:1rem 0}figure svg{max-width:100%;height:auto}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(22rem,1fr));gap:1rem}
nav ul{columns:3;font-size:.9rem}.note{color:#555;font-size:.9rem}
@media print{nav{display:none}article{break-before:page}}
"""

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _e(value: object) -> str:
    return html.escape(_text(value), quote=True)


def _html_table(frame: pd.DataFrame, *, numeric: Sequence[str] = (), row_class: Sequence[str] | None = None) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    rows = []
    for i, values in enumerate(frame.to_numpy(dtype=object)):
        cells = "".join(
            f'<td class="num">{_e(v)}</td>' if c in numeric else f"<td>{_e(v)}</td>"
            for c, v in zip(frame.columns, values, strict=True)
        )
        klass = f' class="{_e(row_class[i])}"' if row_class is not None and row_class[i] else ""
        rows.append(f"<tr{klass}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _svg(figure: Figure, key: str, label: str) -> str:
    """The figure as inline SVG: text kept as (escaped) text, ids made unique with ``key``, no namespace URLs."""
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": f"gscp-{key}"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    root = ET.fromstring(buffer.getvalue())
    prefix = f"{key}-"
    for element in root.iter():
        if element.tag == f"{{{_SVG_NS}}}metadata":
            element.clear()
        if "id" in element.attrib:
            element.set("id", prefix + element.attrib["id"])
        href = element.attrib.pop(_XLINK_HREF, None)
        if href is not None:
            element.set("href", "#" + prefix + href[1:] if href.startswith("#") else "")
        for name in ("clip-path", "mask", "filter", "fill", "marker-start", "marker-end"):
            value = element.attrib.get(name, "")
            if value.startswith("url(#"):
                element.set(name, "url(#" + prefix + value[5:])
    root.set("role", "img")
    root.set("aria-label", label)
    ET.register_namespace("", _SVG_NS)
    text = ET.tostring(root, encoding="unicode")
    end = text.index(">")
    # Inline SVG in HTML needs no namespace declarations: drop them so the page names no URL at all.
    return re.sub(r'\s+xmlns(?::\w+)?="[^"]*"', "", text[:end]) + text[end:]


def _figure_html(figure: Figure, key: str, label: str, *, caption: str = "") -> str:
    note = f"<figcaption class=note>{_e(caption)}</figcaption>" if caption else ""
    return f"<figure>{_svg(figure, key, label)}{note}</figure>"


def _html(content: _Content) -> str:
    toc = ['<li><a href="#summary">Summary</a></li>', '<li><a href="#figures">Demand and supply</a></li>']
    if content.planned:
        toc.append('<li><a href="#plan">Round plan</a></li>')
    toc += [
        f'<li><a href="#request-{i}">{_e(p.summary["request_id"])}: {_e(p.request.get("title"))}</a></li>'
        for i, p in enumerate(content.pages, start=1)
    ]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(content.title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{_e(content.title)}</h1><p class=headline>{_e(_headline(content))}</p></header>",
        f"<nav><ul>{''.join(toc)}</ul></nav>",
        '<section id="summary"><h2>Summary</h2>',
    ]
    summary = content.summary.rename(columns={"practice_group": "practice group", "support_type": "support"})
    status_class = ["status-" + str(s).replace(" ", "-") for s in content.summary["status"]]
    parts.append(_summary_table(summary, status_class))
    parts.append("</section>")

    parts.append('<section id="figures"><h2>Demand and supply</h2>')
    gap_note = (
        f"A theme is a gap when requests ask for it and the roster has fewer than {analysis.GAP_MIN_RATIO:g} experts "
        "per such request "
        "(overall, or with Korean experience for the requests that ask for it)."
    )
    figure = charts.demand_supply_chart(content.demand_supply)
    parts.append(_figure_html(figure, "demand", "Demand and supply by theme", caption=gap_note))
    parts.append(
        _html_table(
            content.demand_supply, numeric=("requests", "korean_requests", "experts", "korean_experts", "ratio")
        )
    )
    parts.append("<h3>Requests</h3><div class=charts>")
    for by, table in content.request_counts.items():
        figure = charts.request_counts_chart(table)
        parts.append(_figure_html(figure, f"count-{by}", f"Requests by {by.replace('_', ' ')}"))
    parts.append("</div><h3>References to Korean cases in the shortlists</h3><div class=charts>")
    for by, table in content.case_references.items():
        figure = charts.case_references_chart(table)
        parts.append(_figure_html(figure, f"cases-{by}", f"References to Korean cases by {by}"))
    parts.append("</div></section>")

    if content.planned and content.load is not None:
        parts.append('<section id="plan"><h2>Round plan</h2>')
        parts.append(_figure_html(charts.expert_load_chart(content.load), "load", "Expert load in the round"))
        if content.bookings is not None:
            figure = charts.calendar_chart(content.bookings, assignment=content.assignment)
            parts.append(_figure_html(figure, "calendar", "Round calendar: who is booked when, by request"))
        parts.append(_html_table(content.load, numeric=("engagements", "booked_days")))
        parts.append("</section>")

    parts.append('<section id="requests"><h2>Requests</h2>')
    for i, page in enumerate(content.pages, start=1):
        parts.append(_request_html(page, i))
    parts.append("</section></body></html>")
    return "\n".join(parts) + "\n"


def _summary_table(summary: pd.DataFrame, status_class: list[str]) -> str:
    columns = ["request_id", "title", "country", "city", "support", "days", "window", "status", "assigned", "reason"]
    columns = [c for c in columns if c in summary.columns]
    head = "".join(f"<th>{_e(c.replace('_', ' '))}</th>" for c in columns)
    rows = []
    for (_, row), klass in zip(summary.iterrows(), status_class, strict=True):
        cells = []
        for c in columns:
            if c == "status":
                cells.append(f'<td class="status {_e(klass)}">{_e(row[c])}</td>')
            elif c == "days":
                cells.append(f'<td class="num">{_e(row[c])}</td>')
            else:
                cells.append(f"<td>{_e(row[c])}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _request_html(page: _RequestPage, number: int) -> str:
    request, summary = page.request, page.summary
    facts = "".join(f"<dt>{_e(label)}</dt><dd>{_e(text)}</dd>" for label, text in _facts(request, summary["window"]))
    out = [
        f'<article id="request-{number}"><h3>{_e(summary["request_id"])}: {_e(request.get("title"))}</h3>',
        f"<dl class=facts>{facts}</dl>",
        f"<p class=description>{_e(request.get('description'))}</p>",
        f"<p>{_e(_plan_line(summary))}</p>",
        "<h4>Experts</h4>",
    ]
    if page.experts.empty:
        out.append("<p class=note>No eligible expert.</p>")
    else:
        experts = page.experts.rename(columns={"free_days": "free days", "days_needed": "days needed"})
        classes = ["assigned" if p == "assigned" else "" for p in page.experts["plan"]]
        out.append(_html_table(experts, numeric=("rank", "score", "free days", "days needed"), row_class=classes))
    out.append("<h4>Korean cases</h4>")
    if page.cases.empty:
        out.append("<p class=note>No case shortlisted.</p>")
    else:
        out.append(_html_table(page.cases, numeric=("rank", "score")))
    out.append("</article>")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------------------------


def write_report(
    path: str | os.PathLike[str],
    *,
    requests: pd.DataFrame,
    experts: pd.DataFrame,
    shortlists_experts: pd.DataFrame,
    shortlists_cases: pd.DataFrame | None = None,
    cases: pd.DataFrame | None = None,
    assignment: pd.DataFrame | None = None,
    unstaffed: pd.DataFrame | None = None,
    bookings: pd.DataFrame | None = None,
    title: str = "GSCP round report",
) -> Path:
    """Write the round report as Excel (``.xlsx``) or one self-contained HTML page (``.html``, ``.htm``).

    Parameters
    ----------
    path : str or path-like
        The output file; its extension chooses the format (another extension raises, listing the valid ones).
    requests, experts : DataFrame
        Validated requests and roster (:func:`gscp_match.read_table`).
    shortlists_experts, shortlists_cases : DataFrame
        ``Shortlists.experts`` and ``Shortlists.cases`` (:meth:`gscp_match.Matcher.shortlist`).
    cases : DataFrame, optional
        The case catalog the case shortlists came from, for the cases' themes; default: the bundled catalog.
    assignment, unstaffed, bookings : DataFrame, optional
        The round plan's tables (``RoundPlan.assignment``, ``.unstaffed``, ``.bookings``); without them the report
        shows the shortlists only.
    title : str
        The report's title.

    Returns
    -------
    Path
        ``path``, written atomically.
    """
    fmt = report_format(path)
    content = _content(
        title=title,
        requests=requests,
        experts=experts,
        shortlists_experts=shortlists_experts,
        shortlists_cases=shortlists_cases,
        cases=cases,
        assignment=assignment,
        unstaffed=unstaffed,
        bookings=bookings,
    )
    path = Path(path)
    with atomic_path(path) as tmp:
        if fmt == "xlsx":
            _write_xlsx(content, tmp)
        else:
            tmp.write_text(_html(content), encoding="utf-8")
    return path
