"""Round reports: an Excel workbook or one self-contained HTML page, with the same content.

Both hold a summary (each request, who is assigned, which requests are unstaffed and why), the round's figures
(demand against supply by theme, requests by region, practice group and support type, references to Korean cases
by city and theme, expert load and calendar) and, per request, its expert and case shortlists with every
candidate's status in words (assigned, alternate, or not chosen and why). A "How to read this report" note and the
provenance (date, library version, model, weights, input files with SHA-256 checksums) come with both.

* **Excel** (``.xlsx``): a ``Summary`` sheet, one sheet per figure table with a native chart beside it, an
  ``About`` sheet, and one sheet per request (named from its id, made valid and unique by :func:`sheet_names`),
  its facts as a two-column block above its table. Every table has frozen headers, an autofilter, number formats
  (scores ``0.00``, money ``#,##0``, dates as dates) and a landscape, fit-to-width print setup repeating its
  header row. Text cells a spreadsheet would evaluate (``=``, ``+``, ``-``, ``@``, tab, CR first) get a leading
  quote (:func:`gscp_match.tables._io.neutralize_formula`); numbers stay numbers.
* **HTML** (``.html`` or ``.htm``): one file with inline CSS and the charts as inline SVG; no script, no external
  URL, nothing fetched (a Content-Security-Policy forbids it too). Every piece of text from the input tables is
  escaped (:func:`html.escape`), so a description holding ``<script>`` shows as text and never runs. Tables turn
  into cards on a phone, charts scale with the page, and a print stylesheet keeps headings with what follows and
  starts each request on a new page.

Files are written atomically (:func:`gscp_match.tables._io.atomic_path`).

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
import hashlib
import html
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gscp_match.errors import InputError
from gscp_match.report import _analysis as analysis
from gscp_match.report import _svg as svg
from gscp_match.tables._io import atomic_path, neutralize_formula

__all__ = ["REPORT_FORMATS", "Provenance", "file_checksum", "report_format", "sheet_names", "write_report"]

#: Report file extensions, by format.
REPORT_FORMATS: dict[str, str] = {".html": "html", ".htm": "html", ".xlsx": "xlsx"}

_EXCEL_MAX_TEXT = 32767
_SHEET_MAX = 31
_SHEET_INVALID = re.compile(r"[\[\]:*?/\\\x00-\x1f\x7f]")
_SHEET_EDGES = re.compile(r"^[\s']+|[\s']+$")  # no apostrophe (nor space) first or last
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # not allowed in XLSX (openpyxl raises)
_FIXED_SHEETS = (
    "Summary",
    "Demand and supply",
    "Request counts",
    "Case references",
    "Expert load",
    "Calendar",
    "About",
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
# Words and numbers: one style for both formats.

#: Column -> (header, kind). Kinds: text, id, int, score, money, ratio, date, bool.
_COLUMNS: dict[str, tuple[str, str]] = {
    "request_id": ("Request", "id"),
    "expert_id": ("Expert id", "id"),
    "case_id": ("Case id", "id"),
    "id": ("Id", "id"),
    "list": ("List", "text"),
    "rank": ("Rank", "int"),
    "name": ("Name", "text"),
    "title": ("Title", "text"),
    "score": ("Score", "score"),
    "free_days": ("Free days", "int"),
    "days_needed": ("Days needed", "int"),
    "status": ("Status", "text"),
    "why": ("Why", "text"),
    "country": ("Country", "text"),
    "city": ("City", "text"),
    "region": ("Region", "text"),
    "practice_group": ("Practice group", "text"),
    "support_type": ("Support", "text"),
    "days": ("Working days", "int"),
    "window": ("Window", "text"),
    "window_start": ("From", "date"),
    "window_end": ("To", "date"),
    "needed": ("Experts needed", "int"),
    "assigned": ("Assigned", "text"),
    "alternates": ("Alternates", "text"),
    "reason": ("Why not fully staffed", "text"),
    "blocked_by": ("Candidates taken by", "text"),
    "theme": ("Theme", "text"),
    "requests": ("Requests", "int"),
    "korean_requests": ("Of which ask for Korean experience", "int"),
    "experts": ("Experts", "int"),
    "korean_experts": ("Of which with Korean experience", "int"),
    "ratio": ("Experts per request", "ratio"),
    "gap": ("Gap", "bool"),
    "engagements": ("Engagements", "int"),
    "booked_days": ("Booked days", "int"),
    "first_day": ("First day", "date"),
    "last_day": ("Last day", "date"),
    "start": ("From", "date"),
    "end": ("To", "date"),
    "request_list": ("Requests", "text"),
    "references": ("References", "int"),
    "cases": ("Distinct cases", "int"),
    "city_group": ("City", "text"),
    "by": ("Counted by", "text"),
    "group": ("Group", "text"),
}
_MONEY_COLUMNS = ("budget_usd", "day_rate_usd")


def _header(column: str) -> str:
    return _COLUMNS.get(column, (column.replace("_", " ").capitalize(), "text"))[0]


def _kind(column: str) -> str:
    if column in _MONEY_COLUMNS:
        return "money"
    return _COLUMNS.get(column, ("", "text"))[1]


def _missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    if isinstance(value, pd.Timestamp | np.datetime64):
        return bool(pd.isna(value))
    return False


def _date_text(value: object) -> str:
    """``3 Mar 2027``."""
    stamp = pd.Timestamp(value)
    return "" if pd.isna(stamp) else f"{stamp.day} {stamp.strftime('%b %Y')}"


def _money_text(value: object) -> str:
    """``USD 60,000`` (cents only when there are some)."""
    amount = float(value)  # type: ignore[arg-type]
    return f"USD {amount:,.0f}" if amount.is_integer() else f"USD {amount:,.2f}"


def _text(value: object, kind: str = "text") -> str:
    """A cell as display text: lists joined, dates as ``3 Mar 2027``, booleans yes/no, scores to two decimals."""
    if _missing(value):
        return ""
    if isinstance(value, tuple | list | np.ndarray):
        return ", ".join(_text(v, kind) for v in value)
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if kind == "score":
        return f"{float(value):.2f}"  # type: ignore[arg-type]
    if kind == "money":
        return _money_text(value)
    if kind == "ratio":
        return f"{float(value):.1f}"  # type: ignore[arg-type]
    if kind == "date" or isinstance(value, pd.Timestamp | dt.date | np.datetime64):
        return _date_text(value)
    if isinstance(value, float | np.floating):
        return str(int(value)) if float(value).is_integer() else f"{value:.2f}"
    if kind == "theme":
        return str(value).replace("_", " ")
    return str(value)


_TEXT_MATCH = re.compile(r"^text match (\d+(?:\.\d+)?)$")
_SHARED_TERMS = re.compile(r"^shared terms (\d+(?:\.\d+)?)$")
_EVIDENCE = re.compile(r"^evidence: (?P<title>.+?): \u201c(?P<text>.*)\u201d$", re.DOTALL)
_THEMES = re.compile(r"^themes ([a-z_]+(?:, [a-z_]+)*)$")


def _plain_why(why: object) -> str:
    """A shortlist's ``why`` in words a task team reads: no "text match", the evidence title quoted once."""
    if _missing(why):
        return ""
    parts = []
    for part in str(why).split("; "):
        if m := _TEXT_MATCH.match(part):
            part = f"profile reads close to the request ({float(m.group(1)):.2f} of 1)"
        elif m := _SHARED_TERMS.match(part):
            part = f"shares key words with the request ({float(m.group(1)):.2f} of 1)"
        elif m := _THEMES.match(part):
            part = "themes: " + m.group(1).replace("_", " ")
        elif m := _EVIDENCE.match(part):
            title, text = m.group("title"), m.group("text")
            same = text.rstrip(" .").casefold() == title.rstrip(" .").casefold()
            part = f"evidence \u201c{title}\u201d" if same else f"evidence \u201c{title}\u201d: {text}"
        parts.append(part)
    return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class Provenance:
    """What a report was made from, for its footer: so a reader can trace it.

    Attributes
    ----------
    generated : datetime.date
    version : str
        ``gscp_match`` version.
    model : str
        The embedding model's name ("" when not known).
    weights : tuple of (str, float)
        Score weights by component.
    inputs : tuple of (str, str, str)
        ``(kind, file name, SHA-256 hex)`` of each input file.
    """

    generated: dt.date
    version: str
    model: str
    weights: tuple[tuple[str, float], ...]
    inputs: tuple[tuple[str, str, str], ...]

    def lines(self) -> list[tuple[str, str]]:
        """(label, text) pairs, as the footer and the About sheet show them."""
        out = [("Generated", _date_text(self.generated)), ("Library", f"gscp-match {self.version}")]
        if self.model:
            out.append(("Model", self.model))
        if self.weights:
            out.append(("Weights", ", ".join(f"{name} {value:.2f}" for name, value in self.weights)))
        for kind, name, digest in self.inputs:
            out.append((f"Input: {kind}", f"{name} (SHA-256 {digest[:12]})"))
        return out


def file_checksum(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _provenance(
    inputs: Mapping[str, str | os.PathLike[str]] | None,
    model: str | None,
    weights: Mapping[str, float] | None,
    generated: dt.date | None,
) -> Provenance:
    from gscp_match._version import __version__

    files = []
    for kind, path in (inputs or {}).items():
        if path is None:
            continue
        try:
            files.append((str(kind), Path(path).name, file_checksum(path)))
        except OSError as exc:
            raise InputError(f"inputs: cannot read {kind} file {path}: {exc.strerror or exc}") from None
    return Provenance(
        generated=generated or dt.date.today(),
        version=str(__version__),
        model=str(model or ""),
        weights=tuple((str(k), float(v)) for k, v in (weights or {}).items()),
        inputs=tuple(files),
    )


HOW_TO_READ: tuple[tuple[str, str], ...] = (
    (
        "Score",
        "From 0 to 1: how well a candidate fits the request, combining how close the profile and evidence read to "
        "the request, shared themes, places and languages, Korean experience, free days and cost (the weights are "
        "in the footer). Compare scores within one request; higher is better.",
    ),
    (
        "Status",
        "Assigned: in the team the round plan proposes. Alternate: can step in if an assigned expert drops out, "
        "without breaking any rule. Not chosen: the rule that keeps the candidate out (taken by another request, "
        "not enough free days once other bookings are made, over the team budget, no Korean experience where the "
        "request asks for it), or a better-placed candidate.",
    ),
    (
        "Round plan",
        "The best total score the rules allow: no expert above their assignment limit or on two requests the same "
        "day, each team within its budget, Korean experience where a request asks for it.",
    ),
    (
        "Gap",
        f"A theme is a gap when the roster has fewer than {analysis.GAP_MIN_RATIO:g} experts for each request asking "
        "for it (overall, or with Korean experience where requests ask for that).",
    ),
)


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
    provenance: Provenance


_EXPERT_COLUMNS = ("rank", "expert_id", "name", "score", "free_days", "days_needed", "status", "why")
_CASE_COLUMNS = ("rank", "case_id", "title", "city", "score", "why")


def _by_request(frame: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    if frame is None or frame.empty:
        return {}
    ids = frame["request_id"].astype(str)
    return {str(k): g for k, g in frame.groupby(ids, sort=False)}


def _role_text(role: object, rank: object) -> str:
    if role == "assigned":
        return "assigned"
    if role == "alternate":
        return f"alternate {int(rank)}" if not _missing(rank) else "alternate"  # type: ignore[call-overload]
    return "not chosen"


def _status_text(label: str, reason: str) -> str:
    if label == "assigned" or not reason:
        return label
    return f"{label}: {reason}"


def _expert_rows(
    shortlist: pd.DataFrame | None, plan: pd.DataFrame | None, candidates: pd.DataFrame | None, planned: bool
) -> pd.DataFrame:
    """A request's shortlist rows with each candidate's status in words, then the plan's experts not shortlisted."""
    columns = list(_EXPERT_COLUMNS)
    labels: dict[str, str] = {}
    if plan is not None:
        for expert_id, role, rank in zip(plan["expert_id"].astype(str), plan["role"], plan["rank"], strict=True):
            labels.setdefault(expert_id, _role_text(role, rank))
    reasons: dict[str, str] = {}
    if candidates is not None:
        for expert_id, given, reason in zip(
            candidates["expert_id"].astype(str), candidates["status"], candidates["status_reason"], strict=True
        ):
            if given in ("not chosen", "alternate"):
                reasons[expert_id] = str(reason)

    def status(expert_id: str) -> str:
        if not planned:
            return ""
        label = labels.get(expert_id, "not chosen")
        if expert_id not in reasons and label == "not chosen" and candidates is not None:
            return "not chosen: not among the candidates the round plan weighed"
        return _status_text(label, reasons.get(expert_id, ""))

    parts: list[pd.DataFrame] = []
    listed: set[str] = set()
    if shortlist is not None and len(shortlist):
        rows = shortlist.sort_values("rank", kind="stable")
        frame = pd.DataFrame({c: rows[c].to_numpy(dtype=object) if c in rows else None for c in columns})
        frame["status"] = [status(str(e)) for e in frame["expert_id"]]
        listed = {str(e) for e in frame["expert_id"]}
        parts.append(frame[columns])
    if plan is not None and len(plan):
        extra = plan[~plan["expert_id"].astype(str).isin(listed)]
        extra = extra.assign(_order=(extra["role"] != "assigned").astype(int)).sort_values(["_order", "rank"])
        if len(extra):
            frame = pd.DataFrame({c: extra[c].to_numpy(dtype=object) if c in extra else None for c in columns})
            frame["rank"] = None  # not on the shortlist
            frame["status"] = [status(str(e)) for e in extra["expert_id"]]
            parts.append(frame[columns])
    if not parts:
        return pd.DataFrame(columns=columns)
    out = pd.concat(parts, ignore_index=True)
    out["why"] = [_plain_why(w) for w in out["why"]]
    return out


def _case_rows(shortlist: pd.DataFrame | None) -> pd.DataFrame:
    columns = list(_CASE_COLUMNS)
    if shortlist is None or shortlist.empty:
        return pd.DataFrame(columns=columns)
    rows = shortlist.sort_values("rank", kind="stable")
    out = pd.DataFrame({c: rows[c].to_numpy(dtype=object) if c in rows else None for c in columns})
    out["why"] = [_plain_why(w) for w in out["why"]]
    return out


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
    candidates: pd.DataFrame | None,
    provenance: Provenance,
) -> _Content:
    requests = requests.reset_index(drop=True)
    case_shortlist = _NO_CASES if shortlists_cases is None else shortlists_cases
    summary = analysis.request_summary(requests, assignment=assignment, unstaffed=unstaffed)
    experts_by = _by_request(shortlists_experts)
    cases_by = _by_request(case_shortlist)
    plan_by = _by_request(assignment)
    candidates_by = _by_request(candidates)
    planned = assignment is not None
    pages = tuple(
        _RequestPage(
            request=requests.iloc[i],
            summary=summary.iloc[i],
            experts=_expert_rows(experts_by.get(rid), plan_by.get(rid), candidates_by.get(rid), planned),
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
        planned=planned,
        assignment=assignment,
        load=load,
        spans=analysis.booking_spans(bookings) if bookings is not None else None,
        bookings=bookings,
        pages=pages,
        provenance=provenance,
    )


_FACTS = (
    ("Country", "country", "text"),
    ("City", "city", "text"),
    ("Client", "client", "text"),
    ("Region", "region", "text"),
    ("Practice group", "practice_group", "text"),
    ("Support type", "support_type", "text"),
    ("Working days", "days", "int"),
    ("Window", "", "window"),
    ("Languages", "languages", "text"),
    ("Themes", "themes", "theme"),
    ("Korean experience asked", "korean_experience", "bool"),
    ("Experts needed", "experts_needed", "int"),
    ("Budget", "budget_usd", "money"),
)


def _facts(request: pd.Series, window: str) -> list[tuple[str, str, object]]:
    """The request's fields a reader wants next to its shortlists: (label, text, value for a spreadsheet)."""
    out: list[tuple[str, str, object]] = []
    for label, column, kind in _FACTS:
        if kind == "window":
            if window:
                out.append((label, window, window))
            continue
        if column not in request.index:
            continue
        value = request[column]
        text = _text(value, kind)
        if text:
            out.append((label, text, value if kind in ("int", "money") else text))
    return out


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
        parts.append(f"Why not fully staffed: {summary['reason']}.")
    if summary["blocked_by"]:
        parts.append(f"Candidates taken by: {str(summary['blocked_by']).replace(';', ', ')}.")
    return " ".join(parts)


def _status_counts(content: _Content) -> dict[str, int]:
    counts = content.summary["status"].value_counts()
    return {s: int(counts.get(s, 0)) for s in ("staffed", "partly staffed", "unstaffed")}


def _headline(content: _Content) -> str:
    n = len(content.summary)
    text = f"{n} {'request' if n == 1 else 'requests'}, a roster of {content.n_experts} experts"
    if content.planned:
        counts = _status_counts(content)
        text += f"; {counts['staffed']} staffed, {counts['partly staffed']} partly staffed, "
        text += f"{counts['unstaffed']} unstaffed"
    else:
        text += "; shortlists only (no round plan)"
    gaps = content.demand_supply.loc[content.demand_supply["gap"], "theme"].tolist()
    if gaps:
        text += f"; supply gaps: {', '.join(str(g).replace('_', ' ') for g in gaps)}"
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


_NUMBER_FORMATS = {"score": "0.00", "money": "#,##0", "ratio": "0.0", "int": "0", "date": "d mmm yyyy"}
_WIDE = {"why": 80, "status": 45, "reason": 60, "assigned": 45, "alternates": 50, "title": 45, "requests": 30}
_LINE_HEIGHT = 15.0  # points per wrapped line


def _excel_value(value: object, kind: str = "text") -> object:
    """A cell for openpyxl: numbers as numbers, dates as dates, yes/no for booleans, text cleaned and neutralized."""
    if _missing(value):
        return None
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if kind in ("score", "money", "ratio") and isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return int(value) if kind == "int" and float(value).is_integer() else float(value)
    if isinstance(value, pd.Timestamp | np.datetime64 | dt.datetime | dt.date):
        stamp = pd.Timestamp(value)
        return None if pd.isna(stamp) else stamp.date()
    text = _CONTROL.sub("", _text(value, kind))
    if len(text) > _EXCEL_MAX_TEXT - 2:
        text = text[: _EXCEL_MAX_TEXT - 3] + "\u2026"
    return neutralize_formula(text)


def _write_rows(sheet: object, frame: pd.DataFrame, *, start_row: int, start_column: int = 1) -> str:
    """Header at ``start_row`` (bold, filled), then the rows, with number formats, widths and row heights that
    fit the wrapped text. Returns the table's range (``A5:J12``)."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDE6F0")
    wrap = Alignment(wrap_text=True, vertical="top")
    top = Alignment(vertical="top")
    columns = [str(c) for c in frame.columns]
    kinds = [_kind(c) for c in columns]
    values = frame.to_numpy(dtype=object)
    widths = []
    for j, name in enumerate(columns):
        texts = [_text(v, kinds[j]) for v in values[:500, j]]
        longest = max([len(_header(name)), *(len(t) for t in texts)], default=8)
        widths.append(max(min(longest + 2, _WIDE.get(name, 30)), 8))
    for j, name in enumerate(columns):
        cell = sheet.cell(row=start_row, column=start_column + j, value=_header(name))  # type: ignore[attr-defined]
        cell.font, cell.fill, cell.alignment = bold, fill, wrap
        sheet.column_dimensions[get_column_letter(start_column + j)].width = widths[j]  # type: ignore[attr-defined]
    header_lines = max(
        (math.ceil(len(_header(c)) / max(w - 3, 1)) for c, w in zip(columns, widths, strict=True)), default=1
    )
    sheet.row_dimensions[start_row].height = _LINE_HEIGHT * max(1, header_lines)  # type: ignore[attr-defined]
    for i, row in enumerate(values, start=start_row + 1):
        lines = 1
        for j, value in enumerate(row):
            cell = sheet.cell(row=i, column=start_column + j, value=_excel_value(value, kinds[j]))  # type: ignore[attr-defined]
            text = _text(value, kinds[j])
            if len(text) > widths[j] - 2:
                cell.alignment = wrap
                lines = max(lines, math.ceil(len(text) / max(widths[j] - 3, 1)))
            else:
                cell.alignment = top
            number_format = _NUMBER_FORMATS.get(kinds[j])
            if number_format and isinstance(cell.value, int | float | dt.date):
                cell.number_format = number_format
        sheet.row_dimensions[i].height = min(409.0, _LINE_HEIGHT * lines)  # type: ignore[attr-defined]
    first = f"{get_column_letter(start_column)}{start_row}"
    last = f"{get_column_letter(start_column + max(len(columns), 1) - 1)}{start_row + max(len(values), 1)}"
    return f"{first}:{last}"


def _print_setup(sheet: object, *, header_row: int) -> None:
    """Landscape, one page wide, the header row repeated on every page."""
    sheet.page_setup.orientation = "landscape"  # type: ignore[attr-defined]
    sheet.page_setup.fitToWidth = 1  # type: ignore[attr-defined]
    sheet.page_setup.fitToHeight = 0  # type: ignore[attr-defined]
    sheet.sheet_properties.pageSetUpPr.fitToPage = True  # type: ignore[attr-defined]
    sheet.print_title_rows = f"{header_row}:{header_row}"  # type: ignore[attr-defined]
    sheet.print_options.gridLines = False  # type: ignore[attr-defined]
    sheet.page_margins.left = sheet.page_margins.right = 0.4  # type: ignore[attr-defined]


def _table_sheet(book: object, name: str, frame: pd.DataFrame, *, freeze: str = "A2") -> object:
    sheet = book.create_sheet(name)  # type: ignore[attr-defined]
    ref = _write_rows(sheet, frame, start_row=1)
    sheet.auto_filter.ref = ref
    sheet.freeze_panes = freeze
    _print_setup(sheet, header_row=1)
    return sheet


def _bar_chart(
    sheet: object, *, title: str, data_columns: Sequence[int], label_column: int, first_row: int, last_row: int,
    anchor: str, axis_title: str, stacked: bool = False,
) -> int:  # fmt: skip
    """A native horizontal bar chart of ``data_columns`` (header in ``first_row - 1``) against ``label_column``;
    returns the rows it covers."""
    from openpyxl.chart import BarChart, Reference

    chart = BarChart()
    chart.type = "bar"
    chart.title = title
    chart.style = 10
    chart.y_axis.title = axis_title
    chart.x_axis.scaling.orientation = "maxMin"  # first row on top, as in the table
    chart.y_axis.majorGridlines = None
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    if stacked:
        chart.grouping = "stacked"
        chart.overlap = 100
    for column in data_columns:
        data = Reference(sheet, min_col=column, min_row=first_row - 1, max_row=last_row)
        chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=label_column, min_row=first_row, max_row=last_row))
    chart.height = max(7.5, 0.55 * (last_row - first_row + 1) + 3)
    chart.width = 16
    sheet.add_chart(chart, anchor)  # type: ignore[attr-defined]
    return math.ceil(chart.height / 0.53) + 1  # a default row is 15 pt, 0.53 cm


def _long_counts(tables: dict[str, pd.DataFrame], value: str) -> pd.DataFrame:
    parts = [
        pd.DataFrame(
            {"by": by.replace("_", " "), "group": t.iloc[:, 0].astype(object), **{c: t[c] for c in t.columns[1:]}}
        )
        for by, t in tables.items()
    ]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["by", "group", value])


def _next_column(frame: pd.DataFrame) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(frame.shape[1] + 2)


def _write_xlsx(content: _Content, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    book.properties.title = _CONTROL.sub("", content.title)[:255]
    summary_sheet = book.active
    summary_sheet.title = "Summary"
    summary = content.summary.copy()
    ref = _write_rows(summary_sheet, summary, start_row=1)
    summary_sheet.auto_filter.ref = ref
    summary_sheet.freeze_panes = "B2"
    _print_setup(summary_sheet, header_row=1)

    demand = content.demand_supply.assign(theme=content.demand_supply["theme"].str.replace("_", " "))
    shown = demand[(demand["requests"] > 0) | (demand["experts"] > 0)].reset_index(drop=True)
    sheet = _table_sheet(book, "Demand and supply", shown)
    if len(shown):
        _bar_chart(
            sheet, title="Demand and supply by theme", data_columns=(2, 4), label_column=1, first_row=2,
            last_row=len(shown) + 1, anchor=f"{_next_column(shown)}2", axis_title="requests and experts",
        )  # fmt: skip

    for name, tables, value, title in (
        ("Request counts", content.request_counts, "requests", "Requests by {}"),
        ("Case references", content.case_references, "references", "References to Korean cases by {}"),
    ):
        table = _long_counts(tables, value)
        sheet = _table_sheet(book, name, table)
        row, anchor_row = 2, 2
        for by, part in tables.items():
            if len(part):
                label = "city" if by == "city" else by.replace("_", " ")
                anchor_row += _bar_chart(
                    sheet, title=title.format(label), data_columns=(3,), label_column=2, first_row=row,
                    last_row=row + len(part) - 1, anchor=f"{_next_column(table)}{anchor_row}", axis_title=value,
                )  # fmt: skip
            row += len(part)

    if content.load is not None:
        sheet = _table_sheet(book, "Expert load", content.load.rename(columns={"requests": "request_list"}))
        if len(content.load):
            _bar_chart(
                sheet, title="Booked working days per expert", data_columns=(5,), label_column=2, first_row=2,
                last_row=len(content.load) + 1, anchor=f"{_next_column(content.load)}2", axis_title="booked days",
            )  # fmt: skip
    if content.spans is not None:
        _table_sheet(book, "Calendar", content.spans)

    about = book.create_sheet("About")
    about.cell(row=1, column=1, value=_excel_value(content.title)).font = Font(bold=True, size=13)
    about.cell(row=3, column=1, value="How to read this report").font = Font(bold=True)
    row = 4
    for label, text in HOW_TO_READ:
        about.cell(row=row, column=1, value=label).font = Font(bold=True)
        cell = about.cell(row=row, column=2, value=text)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        about.row_dimensions[row].height = _LINE_HEIGHT * math.ceil(len(text) / 95)
        row += 1
    row += 1
    for label, text in content.provenance.lines():
        about.cell(row=row, column=1, value=label).font = Font(bold=True)
        about.cell(row=row, column=2, value=_excel_value(text))
        row += 1
    about.column_dimensions["A"].width = 22
    about.column_dimensions["B"].width = 100
    _print_setup(about, header_row=1)

    names = sheet_names([page.summary["request_id"] for page in content.pages], reserved=_FIXED_SHEETS)
    for name, page in zip(names, content.pages, strict=True):
        _request_sheet(book.create_sheet(name), page)
    book.save(path)


def _request_sheet(sheet: object, page: _RequestPage) -> None:
    """Title, the facts as a label/value block, the plan line, the description, then the shortlists' table."""
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    rid, request = page.summary["request_id"], page.request
    title = f"{rid}: {_text(request.get('title'))}"
    sheet.cell(row=1, column=1, value=_excel_value(title)).font = Font(bold=True, size=13)  # type: ignore[attr-defined]
    row = 3
    for label, _, value in _facts(request, page.summary["window"]):
        sheet.cell(row=row, column=1, value=label).font = Font(bold=True)  # type: ignore[attr-defined]
        kind = (
            "money"
            if label == "Budget"
            else "int"
            if isinstance(value, int | np.integer | float | np.floating)
            else "text"
        )
        cell = sheet.cell(row=row, column=2, value=_excel_value(value, kind))  # type: ignore[attr-defined]
        cell.alignment = Alignment(horizontal="left")
        if kind in _NUMBER_FORMATS:
            cell.number_format = _NUMBER_FORMATS[kind]
        row += 1
    table = _page_table(page)
    last_column = max(table.shape[1], 2)
    width_chars = 110
    for text, bold in ((_plan_line(page.summary), True), (_text(request.get("description")), False)):
        row += 1
        cell = sheet.cell(row=row, column=1, value=_excel_value(text))  # type: ignore[attr-defined]
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        cell.font = Font(bold=bold)
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=last_column)  # type: ignore[attr-defined]
        lines = max(1, sum(math.ceil(max(len(line), 1) / width_chars) for line in text.splitlines() or [""]))
        sheet.row_dimensions[row].height = min(409.0, _LINE_HEIGHT * lines)  # type: ignore[attr-defined]
    header_row = row + 2
    ref = _write_rows(sheet, table, start_row=header_row)
    sheet.auto_filter.ref = ref  # type: ignore[attr-defined]
    sheet.freeze_panes = f"A{header_row + 1}"  # type: ignore[attr-defined]
    sheet.column_dimensions["A"].width = max(sheet.column_dimensions["A"].width or 0, 22)  # type: ignore[attr-defined]
    _print_setup(sheet, header_row=header_row)
    sheet.print_area = f"A1:{get_column_letter(last_column)}{header_row + len(table)}"  # type: ignore[attr-defined]


def _page_table(page: _RequestPage) -> pd.DataFrame:
    """One table per request for Excel: experts then cases, under a shared header."""
    experts = page.experts.rename(columns={"expert_id": "id"})
    experts.insert(0, "list", "expert")
    cases = page.cases.rename(columns={"case_id": "id", "title": "name"})
    cases.insert(0, "list", "case")
    columns = ["list", "rank", "id", "name", "city", "score", "free_days", "days_needed", "status", "why"]
    return pd.concat([experts.reindex(columns=columns), cases.reindex(columns=columns)], ignore_index=True).astype(
        object
    )


# ---------------------------------------------------------------------------------------------------------------
# HTML.

_CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:1.5rem auto;max-width:72rem;
color:#1f2328;line-height:1.45;padding:0 .75rem;font-size:1rem}
h1{font-size:1.6rem;margin:0 0 .3rem}h2{font-size:1.35rem;margin-top:2.2rem;border-bottom:2px solid #dde6f0;
padding-bottom:.2rem}h3{font-size:1.15rem;margin-top:1.6rem}h4{margin:1.2rem 0 .3rem}
h1,h2,h3,h4{break-after:avoid;page-break-after:avoid}
.headline{color:#333;margin:.2rem 0 1rem}
.counts{display:flex;flex-wrap:wrap;gap:.5rem;margin:.5rem 0 1rem;padding:0;list-style:none}
.counts li{border:1px solid #d0d7de;border-radius:.4rem;padding:.35rem .7rem;background:#f6f8fa}
.counts b{font-size:1.2rem;margin-right:.25rem}
.howto{border:1px solid #b6c8dc;background:#f3f7fb;border-radius:.4rem;padding:.6rem 1rem;margin:1rem 0;
break-inside:avoid}.howto h2{margin:.2rem 0 .4rem;border:0;font-size:1.1rem}.howto dl{margin:0}
.howto dl{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,28rem),1fr));gap:.2rem 1.5rem}
.howto dt{font-weight:600}.howto dd{margin:0 0 .4rem}
table{border-collapse:collapse;width:100%;margin:.6rem 0 1.2rem;font-size:.9rem}
th,td{border:1px solid #d0d7de;padding:.3rem .45rem;text-align:left;vertical-align:top}
th{background:#dde6f0;font-weight:600}td.num{text-align:right;white-space:nowrap}
td{overflow-wrap:break-word}.id,td.id{white-space:nowrap;overflow-wrap:normal}
.id.long,td.id .long{white-space:normal;overflow-wrap:anywhere}
tr.assigned td{background:#e8f5e9}.status{font-weight:600}
.status-staffed{color:#1b5e20}.status-partly-staffed{color:#8a5300}.status-unstaffed{color:#b00020}
.description{white-space:pre-wrap;overflow-wrap:anywhere;background:#f6f8fa;padding:.6rem;
border-left:3px solid #0072B2}
dl.facts{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.1rem 1rem;margin:.4rem 0}
dl.facts dt{color:#555}dl.facts dd{margin:0;overflow-wrap:anywhere}
figure{margin:1rem 0;break-inside:avoid;page-break-inside:avoid;max-width:100%}
figure svg{display:block;max-width:100%;height:auto}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,24rem),1fr));gap:1rem}
nav ul{columns:3 16rem;font-size:.9rem;padding-left:1.2rem}.note{color:#555;font-size:.9rem}
article{break-inside:auto}.plan{font-weight:500}
footer{margin-top:2.5rem;border-top:2px solid #dde6f0;padding-top:.6rem;font-size:.85rem;color:#444;
break-inside:avoid}footer dl{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.1rem 1rem}
footer dd{margin:0;overflow-wrap:anywhere}
.scroll{overflow-x:auto;max-width:100%}.scroll table{min-width:36rem}.scroll td{overflow-wrap:normal}
@media (max-width:720px){
body{margin:.8rem auto}h1{font-size:1.35rem}
table.cards,table.cards tbody,table.cards tr,table.cards td{display:block;width:100%}
table.cards thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
table.cards tr{border:1px solid #d0d7de;border-radius:.4rem;margin:0 0 .7rem;padding:.3rem .5rem}
table.cards td{border:0;display:grid;grid-template-columns:minmax(5.5rem,32%) minmax(0,1fr);gap:.6rem;
padding:.15rem 0;text-align:left;white-space:normal}
table.cards td::before{content:attr(data-label);font-weight:600;color:#555}
table.cards td{overflow-wrap:anywhere}
table.cards td.blank{display:none}
table.cards td .id{overflow-x:auto}
dl.facts{grid-template-columns:minmax(5.5rem,38%) minmax(0,1fr);gap:.15rem .6rem}
}
@media print{
@page{margin:12mm 11mm}
body{max-width:none;margin:0;padding:0;font-size:9.5pt;line-height:1.3}
nav,.counts{display:none}h2{margin-top:1.2rem}h3{margin-top:0}h4{margin:.6rem 0 .2rem}
section#plan,section#requests{break-before:page;page-break-before:always}
section#requests>article+article{break-before:page;page-break-before:always}
section#requests>h2{margin-top:0}
tr,dl.facts,.howto,figure,footer,.plan{break-inside:avoid;page-break-inside:avoid}
table{font-size:7.8pt;margin:.3rem 0 .6rem}th,td{padding:.12rem .25rem}thead{display:table-header-group}
td[data-label="Why"]{width:46%}.description{padding:.3rem .5rem;margin:.3rem 0}
dl.facts{grid-template-columns:max-content minmax(0,1fr) max-content minmax(0,1fr);font-size:8.5pt}
tr.assigned td{-webkit-print-color-adjust:exact;print-color-adjust:exact}
.scroll{overflow:visible}.scroll table{min-width:0}
figure svg{max-height:120mm;width:auto}
}
"""

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _e(value: object, kind: str = "text") -> str:
    return html.escape(_text(value, kind), quote=True)


_ID_WHOLE = 24  # ids up to this long never wrap; a longer one may, rather than push the page wider than a phone


def _id_html(value: object) -> str:
    text = _text(value)
    klass = "id" if len(text) <= _ID_WHOLE else "id long"
    return f'<span class="{klass}">{html.escape(text, quote=True)}</span>'


def _cell(column: str, value: object, kind: str, *, extra_class: str = "") -> str:
    text = _e(value, kind)
    classes = [c for c in ("num" if kind in ("int", "score", "ratio", "money") else "", extra_class) if c]
    if kind == "id" and text:
        text = _id_html(value)
        classes.append("id")
    if not text:
        classes.append("blank")
    klass = f' class="{" ".join(classes)}"' if classes else ""
    return f'<td data-label="{html.escape(_header(column))}"{klass}>{text}</td>'


def _html_table(
    frame: pd.DataFrame,
    *,
    kinds: Mapping[str, str] | None = None,
    row_class: Sequence[str] | None = None,
    cell_class: Mapping[str, Sequence[str]] | None = None,
    layout: str = "cards",
) -> str:
    """A table whose rows become cards on a narrow screen (each cell labelled with its header), or with
    ``layout="scroll"`` (a table of figures) one that scrolls inside its own box."""
    columns = [str(c) for c in frame.columns]
    col_kinds = [(kinds or {}).get(c, _kind(c)) for c in columns]
    head = "".join(f'<th scope="col">{html.escape(_header(c))}</th>' for c in columns)
    rows = []
    for i, values in enumerate(frame.to_numpy(dtype=object)):
        cells = "".join(
            _cell(c, v, k, extra_class=(cell_class or {}).get(c, [""] * len(frame))[i])
            for c, v, k in zip(columns, values, col_kinds, strict=True)
        )
        klass = f' class="{html.escape(row_class[i])}"' if row_class is not None and row_class[i] else ""
        rows.append(f"<tr{klass}>{cells}</tr>")
    table = f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody>"
    if layout == "scroll":
        return f'<div class="scroll"><table class="figures">{table}</table></div>'
    return f'<table class="cards">{table}</table>'


def _figure_html(chart: str, *, caption: str = "") -> str:
    note = f"<figcaption class=note>{_e(caption)}</figcaption>" if caption else ""
    return f"<figure>{chart}{note}</figure>"


def _how_to_read() -> str:
    items = "".join(f"<div><dt>{_e(label)}</dt><dd>{_e(text)}</dd></div>" for label, text in HOW_TO_READ)
    return f'<aside class="howto" id="how-to-read"><h2>How to read this report</h2><dl>{items}</dl></aside>'


def _footer(provenance: Provenance) -> str:
    items = "".join(f"<dt>{_e(label)}</dt><dd>{_e(text)}</dd>" for label, text in provenance.lines())
    return f"<footer><dl>{items}</dl></footer>"


def _html(content: _Content) -> str:
    toc = ['<li><a href="#summary">Summary</a></li>', '<li><a href="#figures">Demand and supply</a></li>']
    if content.planned:
        toc.append('<li><a href="#plan">Round plan</a></li>')
    toc += [
        f'<li><a href="#request-{i}">{_id_html(p.summary["request_id"])}: {_e(p.request.get("title"))}</a></li>'
        for i, p in enumerate(content.pages, start=1)
    ]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(content.title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{_e(content.title)}</h1><p class=headline>{_e(_headline(content))}</p>",
    ]
    if content.planned:
        counts = _status_counts(content)
        parts.append(
            "<ul class=counts>" + "".join(f"<li><b>{n}</b>{_e(status)}</li>" for status, n in counts.items()) + "</ul>"
        )
    parts += ["</header>", _how_to_read(), f"<nav><h2>Contents</h2><ul>{''.join(toc)}</ul></nav>"]
    parts.append('<section id="summary"><h2>Summary</h2>')
    parts.append(_summary_table(content.summary))
    parts.append("</section>")

    parts.append('<section id="figures"><h2>Demand and supply</h2>')
    gap_note = (
        f"A theme is a gap when the roster has fewer than {analysis.GAP_MIN_RATIO:g} experts for each request "
        "asking for it (overall, or with Korean experience for the requests that ask for it)."
    )
    chart = svg.demand_supply_svg(content.demand_supply, label="Demand and supply by theme")
    parts.append(_figure_html(chart, caption=gap_note))
    demand = content.demand_supply
    demand = demand[(demand["requests"] > 0) | (demand["experts"] > 0)]
    demand = demand.assign(theme=demand["theme"].str.replace("_", " "))
    parts.append(_html_table(demand, layout="scroll"))
    parts.append("<h3>Requests</h3><div class=charts>")
    for table in content.request_counts.values():
        parts.append(_figure_html(svg.request_counts_svg(table)))
    parts.append("</div><h3>References to Korean cases in the shortlists</h3><div class=charts>")
    for table in content.case_references.values():
        parts.append(_figure_html(svg.case_references_svg(table)))
    parts.append("</div></section>")

    if content.planned and content.load is not None:
        parts.append('<section id="plan"><h2>Round plan</h2>')
        parts.append(_figure_html(svg.expert_load_svg(content.load)))
        if content.bookings is not None:
            chart = svg.calendar_svg(
                content.bookings, assignment=content.assignment, label="Round calendar: who is booked when, by request"
            )
            parts.append(_figure_html(chart))
        load = content.load.rename(columns={"requests": "request_list"})
        load["request_list"] = load["request_list"].str.replace(";", ", ")
        parts.append(_html_table(load, layout="scroll"))
        parts.append("</section>")

    parts.append('<section id="requests"><h2>Requests</h2>')
    for i, page in enumerate(content.pages, start=1):
        parts.append(_request_html(page, i))
    parts.append("</section>")
    parts.append(_footer(content.provenance))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _summary_table(summary: pd.DataFrame) -> str:
    columns = [
        "request_id",
        "title",
        "country",
        "city",
        "support_type",
        "days",
        "window",
        "status",
        "assigned",
        "reason",
    ]
    frame = summary[[c for c in columns if c in summary.columns]]
    status_class = ["status status-" + str(s).replace(" ", "-") for s in summary["status"]]
    return _html_table(frame, cell_class={"status": status_class})


def _request_html(page: _RequestPage, number: int) -> str:
    request, summary = page.request, page.summary
    facts = "".join(f"<dt>{_e(label)}</dt><dd>{_e(text)}</dd>" for label, text, _ in _facts(request, summary["window"]))
    rid = _id_html(summary["request_id"])
    out = [
        f'<article id="request-{number}"><h3>{rid}: {_e(request.get("title"))}</h3>',
        f"<dl class=facts>{facts}</dl>",
        f"<p class=description>{_e(request.get('description'))}</p>",
        f"<p class=plan>{_e(_plan_line(summary))}</p>",
        "<h4>Experts</h4>",
    ]
    if page.experts.empty:
        out.append("<p class=note>No eligible expert.</p>")
    else:
        experts = page.experts if str(summary["status"]) != "not planned" else page.experts.drop(columns="status")
        classes = ["assigned" if str(p) == "assigned" else "" for p in page.experts["status"]]
        out.append(_html_table(experts, row_class=classes))
    out.append("<h4>Korean cases</h4>")
    if page.cases.empty:
        out.append("<p class=note>No case shortlisted.</p>")
    else:
        out.append(_html_table(page.cases))
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
    candidates: pd.DataFrame | None = None,
    title: str = "GSCP round report",
    inputs: Mapping[str, str | os.PathLike[str]] | None = None,
    model: str | None = None,
    weights: Mapping[str, float] | None = None,
    generated: dt.date | None = None,
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
    assignment, unstaffed, bookings, candidates : DataFrame, optional
        The round plan's tables (``RoundPlan.assignment``, ``.unstaffed``, ``.bookings``, ``.candidates``); without
        them the report shows the shortlists only. With ``candidates`` every shortlisted expert's status says why
        they were not chosen.
    title : str
        The report's title.
    inputs : mapping of str to path, optional
        The input files by kind (``{"requests": "round.csv", ...}``): the footer names them with their SHA-256.
    model : str, optional
        The embedding model's name, for the footer.
    weights : mapping of str to float, optional
        The score weights, for the footer.
    generated : datetime.date, optional
        The date in the footer; default today.

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
        candidates=candidates,
        provenance=_provenance(inputs, model, weights, generated),
    )
    path = Path(path)
    with atomic_path(path) as tmp:
        if fmt == "xlsx":
            _write_xlsx(content, tmp)
        else:
            tmp.write_text(_html(content), encoding="utf-8")
    return path
