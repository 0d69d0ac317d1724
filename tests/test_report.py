"""Reports: the Excel workbook reopens with the expected sheets and cells; the HTML page is self-contained, escapes
every untrusted string, and renders in a real browser (headless Chromium) the way a reader sees it."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gscp_match import InputError, validate_table
from gscp_match.report import _analysis as analysis
from gscp_match.report._report import REPORT_FORMATS, report_format, sheet_names, write_report

SCRIPT = "<script>document.body.setAttribute('data-pwned', '1')</script>"
IMG = "<img src=x onerror=alert(1)>"
LONG_ID = "REQ-" + "x" * 40


def _requests() -> pd.DataFrame:
    raw = pd.DataFrame(
        {
            "request_id": ["R/1:a", "r/1:A", "Summary", LONG_ID],
            "title": ["Bus reform <i>Rabat</i>", "Water meters", "=cmd|' /C calc'!A0", "Land records"],
            "description": [f"{SCRIPT} then =1+1", "Smart meters & NRW.", "-2+3", "Digitize the cadastre."],
            "country": ["Morocco", "Kenya", "Peru", "Nepal"],
            "city": ["Rabat", "Nairobi", "Lima", "Kathmandu"],
            "practice_group": ["Transport", IMG, "Governance", "Urban/Resilience/Land"],
            "support_type": ["JIT", "OS", "JIT", ""],
            "days": ["10", "20", "5", ""],
            "window_start": ["2027-03-01", "2027-03-01", "2027-04-01", ""],
            "window_end": ["2027-04-30", "2027-06-30", "2027-04-30", ""],
            "themes": ["public_transport;mobility", "water", "e_government", "land"],
            "korean_experience": ["yes", "no", "no", "no"],
            "experts_needed": ["1", "2", "1", "1"],
        }
    )
    return validate_table(raw, "requests")


def _experts() -> pd.DataFrame:
    raw = pd.DataFrame(
        {
            "expert_id": ["E1", "E2", "E3", "E4"],
            "name": ["Kim <b>bold</b>", '=HYPERLINK("evil","click")', "Lee", "@Park"],
            "bio": ["bus", "water", "e-gov", "land"],
            "nationality": ["KR", "FR", "KR", "KR"],
            "themes": ["public_transport;mobility", "water", "e_government", "land;water"],
        }
    )
    return validate_table(raw, "experts")


def _shortlists(requests: pd.DataFrame, experts: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    names = dict(zip(experts["expert_id"], experts["name"], strict=True))
    rows = []
    for rid, picks in zip(requests["request_id"], [["E1", "E3"], ["E2", "E4"], ["E3"], ["E4", "E2"]], strict=True):
        for rank, eid in enumerate(picks, start=1):
            rows.append((rid, rank, eid, names[eid], 0.9 - 0.1 * rank, 30, 10, f"why {eid} <u>for</u> {rid}"))
    short_experts = pd.DataFrame(
        rows, columns=["request_id", "rank", "expert_id", "name", "score", "free_days", "days_needed", "why"]
    )
    case_rows = [
        ("R/1:a", 1, "kr-seoul-bus-reform", "Seoul public transport reform", "Seoul", 0.7, "themes public_transport"),
        ("R/1:a", 2, "kr-seoul-topis", "Seoul TOPIS", "Seoul", 0.6, "text match"),
        ("r/1:A", 1, "kr-paju-smart-water", "Paju Smart Water City", "Paju", 0.5, "themes water"),
        (LONG_ID, 1, "kr-land-admin", "Korea's digital land administration", "National", 0.4, "themes land"),
    ]
    short_cases = pd.DataFrame(case_rows, columns=["request_id", "rank", "case_id", "title", "city", "score", "why"])
    return short_experts, short_cases


def _plan() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    assignment = pd.DataFrame(
        {
            "request_id": ["R/1:a", "R/1:a", "r/1:A", LONG_ID],
            "expert_id": ["E1", "E3", "E2", "E4"],
            "name": ["Kim <b>bold</b>", "Lee", '=HYPERLINK("evil","click")', "@Park"],
            "role": ["assigned", "alternate", "assigned", "assigned"],
            "rank": [1, 1, 1, 1],
            "score": [0.8, 0.7, 0.8, 0.6],
            "free_days": [30, 30, 30, 30],
            "days_needed": [10, 10, 20, 0],
            "why": ["assigned why", "alternate why", "why E2", "why E4"],
        }
    )
    unstaffed = pd.DataFrame(
        {
            "request_id": ["r/1:A", "Summary"],
            "needed": [2, 1],
            "assigned": [1, 0],
            "missing": [1, 1],
            "reason_code": ["calendar", "taken"],
            "reason": ["the other candidates are busy <then>", "its only candidate is booked by R/1:a"],
            "blocked_by": ["", "R/1:a"],
        }
    )
    days = [("E1", "R/1:a", d) for d in pd.bdate_range("2027-03-01", periods=10)]
    days += [("E2", "r/1:A", d) for d in pd.bdate_range("2027-03-15", periods=20)]
    bookings = pd.DataFrame(days, columns=["expert_id", "request_id", "date"])
    bookings["date"] = bookings["date"].astype("datetime64[ns]")
    candidates = pd.DataFrame(
        {
            "request_id": ["R/1:a", "R/1:a", "r/1:A", "r/1:A", LONG_ID],
            "expert_id": ["E1", "E3", "E2", "E4", "E4"],
            "status": ["assigned", "alternate", "assigned", "not chosen", "assigned"],
            "status_reason": [
                "in the team",
                "can step in if an assigned expert drops out",
                "in the team",
                "lacks Korean experience, which this request requires",
                "in the team",
            ],
        }
    )
    return assignment, unstaffed, bookings, candidates


@pytest.fixture(scope="module")
def round_inputs() -> dict[str, pd.DataFrame]:
    requests, experts = _requests(), _experts()
    short_experts, short_cases = _shortlists(requests, experts)
    assignment, unstaffed, bookings, candidates = _plan()
    return {
        "requests": requests,
        "experts": experts,
        "shortlists_experts": short_experts,
        "shortlists_cases": short_cases,
        "assignment": assignment,
        "unstaffed": unstaffed,
        "bookings": bookings,
        "candidates": candidates,
    }


@pytest.fixture(scope="module")
def html_report(round_inputs: dict[str, pd.DataFrame], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_report(tmp_path_factory.mktemp("html") / "round.html", title="Round <8>", **round_inputs)


@pytest.fixture(scope="module")
def xlsx_report(round_inputs: dict[str, pd.DataFrame], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_report(tmp_path_factory.mktemp("xlsx") / "round.xlsx", title="Round 8", **round_inputs)


# ---------------------------------------------------------------------------------------------------------------
# Excel.

FIXED = ["Summary", "Demand and supply", "Request counts", "Case references", "Expert load", "Calendar", "About"]


def _header_row(sheet, first: str) -> int:
    return next(cell.row for cell in sheet["A"] if cell.value == first)


def _table(sheet, first: str = "List") -> pd.DataFrame:
    """A sheet's table as openpyxl reads it: the header row whose first cell is ``first``, then the rows."""
    top = _header_row(sheet, first)
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=top)]
    return pd.DataFrame(rows[1:], columns=rows[0])


def test_xlsx_sheets_and_summary(xlsx_report: Path) -> None:
    from openpyxl import load_workbook

    book = load_workbook(xlsx_report)
    request_sheets = ["R_1_a", "r_1_A~2", "Summary~2", LONG_ID[:31]]
    assert book.sheetnames == FIXED + request_sheets
    summary = _table(book["Summary"], "Request")
    assert summary["Request"].tolist() == ["R/1:a", "r/1:A", "Summary", LONG_ID]
    assert summary["Status"].tolist() == ["staffed", "partly staffed", "unstaffed", "staffed"]
    assert summary["Assigned"].tolist()[:2] == ["Kim <b>bold</b> (E1)", '\'=HYPERLINK("evil","click") (E2)']
    assert summary["Alternates"].tolist()[0] == "Lee (E3)"
    reasons = ["the other candidates are busy <then>", "its only candidate is booked by R/1:a"]
    assert summary["Why not fully staffed"].tolist()[1:3] == reasons
    assert summary["Title"].tolist()[2] == "'=cmd|' /C calc'!A0"  # neutralized, shown as text
    assert summary["Window"].tolist()[0] == "1 Mar 2027 to 30 Apr 2027"
    assert not any("_" in str(h) for h in summary.columns)  # plain headers, no snake_case
    demand = _table(book["Demand and supply"], "Theme").set_index("Theme")
    assert demand.loc["water", "Requests"] == 1 and demand.loc["water", "Experts"] == 2
    assert set(demand["Gap"]) <= {"yes", "no"}  # as the HTML says it, not TRUE/FALSE
    calendar = _table(book["Calendar"], "Expert id")
    assert calendar[["Expert id", "Request", "Working days"]].values.tolist() == [
        ["E1", "R/1:a", 10],
        ["E2", "r/1:A", 20],
    ]
    assert calendar["From"].tolist()[0] == dt.datetime(2027, 3, 1)  # a real date
    about = {row[0].value: row[1].value for row in book["About"].iter_rows(min_row=2) if row[0].value}
    assert "Score" in about and about["Library"].startswith("gscp-match ")


def test_xlsx_request_sheets(xlsx_report: Path) -> None:
    from openpyxl import load_workbook

    book = load_workbook(xlsx_report)
    sheet = book["R_1_a"]
    first = _table(sheet)
    assert first["List"].tolist() == ["expert", "expert", "case", "case"]
    assert first["Id"].tolist() == ["E1", "E3", "kr-seoul-bus-reform", "kr-seoul-topis"]
    assert first["Status"].tolist()[:2] == ["assigned", "alternate 1: can step in if an assigned expert drops out"]
    assert first["Why"].tolist()[0] == "why E1 <u>for</u> R/1:a"
    second = _table(book["r_1_A~2"])
    assert second["Name"].tolist()[:2] == ['\'=HYPERLINK("evil","click")', "'@Park"]
    assert second["Status"].tolist()[1] == "not chosen: lacks Korean experience, which this request requires"
    assert sheet["A1"].value == "R/1:a: Bus reform <i>Rabat</i>"
    facts = {}
    for row in sheet.iter_rows(min_row=3, max_col=2):
        if row[0].value is None:
            break
        facts[row[0].value] = row[1].value
    assert facts["Support type"] == "JIT" and facts["Window"] == "1 Mar 2027 to 30 Apr 2027"
    assert facts["Working days"] == 10 and facts["Experts needed"] == 1  # numbers stay numbers
    header = _header_row(sheet, "List")
    texts = [sheet.cell(row=r, column=1).value for r in range(len(facts) + 3, header)]
    assert any(str(t).startswith("Status: staffed. Assigned: Kim <b>bold</b> (E1).") for t in texts)
    assert f"{SCRIPT} then =1+1" in texts
    assert sheet.freeze_panes == f"A{header + 1}"
    assert book["Summary"].freeze_panes == "B2" and book["Demand and supply"].freeze_panes == "A2"
    widths = {sheet.cell(row=header, column=j).value: sheet.column_dimensions[chr(64 + j)].width for j in range(2, 11)}
    assert widths["Why"] >= 20 and widths["Rank"] <= 12
    score, rank = sheet.cell(row=header + 1, column=6), sheet.cell(row=header + 1, column=2)
    assert isinstance(score.value, float) and rank.value == 1  # score and rank stay numbers
    third = book["Summary~2"]
    assert third["A1"].value == "Summary: =cmd|' /C calc'!A0"  # not first in its cell: harmless
    assert "'-2+3" in [c.value for c in third["A"]]  # a formula-looking description is neutralized


def test_xlsx_charts_print_setup_filters_and_number_formats(xlsx_report: Path) -> None:
    from openpyxl import load_workbook
    from openpyxl.chart import BarChart

    book = load_workbook(xlsx_report)
    charts = {name: book[name]._charts for name in FIXED}
    for name in ("Demand and supply", "Request counts", "Case references", "Expert load"):
        assert charts[name] and all(isinstance(c, BarChart) for c in charts[name]), name
    assert len(charts["Request counts"]) == 3 and len(charts["Case references"]) == 2
    for chart in charts["Request counts"]:  # beside the table, not over it
        assert chart.anchor._from.col >= book["Request counts"].max_column
    anchors = sorted(c.anchor._from.row for c in charts["Case references"])
    assert anchors[1] - anchors[0] >= charts["Case references"][0].height / 0.53  # no overlap
    for sheet in book.worksheets:
        assert sheet.page_setup.orientation == "landscape", sheet.title
        assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet.page_setup.fitToWidth == 1, sheet.title
        assert sheet.page_setup.fitToHeight == 0, sheet.title
        if sheet.title != "About":
            assert sheet.auto_filter.ref, sheet.title
            top = int(re.match(r"[A-Z]+(\d+)", sheet.auto_filter.ref).group(1))
            assert sheet.print_title_rows in (f"{top}:{top}", f"${top}:${top}"), sheet.title
    request = book["R_1_a"]
    header = _header_row(request, "List")
    columns = {request.cell(row=header, column=j).value: j for j in range(1, request.max_column + 1)}
    assert request.cell(row=header + 1, column=columns["Score"]).number_format == "0.00"
    facts = {r[0].value: r[1] for r in request.iter_rows(min_row=3, max_row=header, max_col=2) if r[0].value}
    assert facts["Working days"].value == 10 and facts["Working days"].number_format == "0"
    calendar = book["Calendar"]
    assert calendar["C2"].number_format == "d mmm yyyy" and isinstance(calendar["C2"].value, dt.datetime)
    # Wrapped cells get the height of their lines, so no text runs over the next row.
    for sheet in (request, book["Summary"]):
        for row in sheet.iter_rows(min_row=header if sheet is request else 2):
            for cell in row:
                if (
                    cell.alignment.wrap_text
                    and isinstance(cell.value, str)
                    and cell.coordinate not in sheet.merged_cells
                ):
                    width = sheet.column_dimensions[cell.column_letter].width
                    lines = -(-len(cell.value) // max(int(width) - 3, 1))
                    assert (sheet.row_dimensions[cell.row].height or 15) >= 15 * min(lines, 27), cell.coordinate


def test_xlsx_budget_is_a_number_with_a_money_format(round_inputs: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    from openpyxl import load_workbook

    requests = round_inputs["requests"].assign(budget_usd=[60000.0, np.nan, 1234.5, 0.0])
    path = write_report(tmp_path / "b.xlsx", **{**round_inputs, "requests": requests})
    sheet = load_workbook(path)["R_1_a"]
    budget = next(row[1] for row in sheet.iter_rows(min_row=3, max_col=2) if row[0].value == "Budget")
    assert budget.value == 60000 and budget.number_format == "#,##0"
    html_text = write_report(tmp_path / "b.html", **{**round_inputs, "requests": requests}).read_text("utf-8")
    assert "USD 60,000" in html_text and "USD 1,234.50" in html_text


def test_xlsx_cells_never_start_a_formula(xlsx_report: Path) -> None:
    from openpyxl import load_workbook

    book = load_workbook(xlsx_report)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate)
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(("=", "+", "-", "@", "\t", "\r")), (sheet.title, cell.value)


_SHEET_CHARS = st.one_of(
    st.sampled_from(list("[]:*?/\\'' aA\u00e9\U0001f600\t")), st.characters(blacklist_categories=("Cs",))
)


@settings(max_examples=80, deadline=None)
@given(names=st.lists(st.text(_SHEET_CHARS, max_size=40), max_size=8), reserved=st.sampled_from([(), ("Summary",)]))
def test_sheet_names_are_valid_unique_and_accepted_by_openpyxl(names: list[str], reserved: tuple[str, ...]) -> None:
    from openpyxl import Workbook

    out = sheet_names(names, reserved=reserved)
    assert len(out) == len(names)
    assert sheet_names(names, reserved=reserved) == out  # deterministic
    folded = [n.casefold() for n in out] + [r.casefold() for r in reserved]
    assert len(set(folded)) == len(folded)
    book = Workbook()
    book.remove(book.active)
    for name in reserved:
        book.create_sheet(name)
    for name, original in zip(out, names, strict=True):
        assert name and len(name.encode("utf-16-le")) // 2 <= 31
        assert not re.search(r"[\[\]:*?/\\\x00-\x1f]", name)
        assert not name.startswith("'") and not name.endswith("'") and name.casefold() != "history"
        assert book.create_sheet(name).title == name
        if re.fullmatch(r"[A-Za-z0-9 _-]{1,31}", original) and original == original.strip():
            if original.casefold() not in {n.casefold() for n in reserved} and names.count(original) == 1:
                if not any(o.casefold() == original.casefold() for o in names if o != original):
                    assert name == original  # a valid, unique name is kept


# ---------------------------------------------------------------------------------------------------------------
# HTML.


class _Page(HTMLParser):
    """Tags, attributes and the text a reader sees (outside head, style and script)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in ("head", "style", "script", "title"):
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("head", "style", "script", "title"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if self._hidden == 0:
            self.text.append(data)

    @property
    def visible(self) -> str:
        return re.sub(r"\s+", " ", " ".join(self.text))


def _parse(markup: str) -> _Page:
    page = _Page()
    page.feed(markup)
    page.close()
    return page


def _svg_texts(markup: str) -> list[str]:
    """The text of every ``<text>`` element of the page's charts, its lines (``<tspan>``) joined by a space."""
    import xml.etree.ElementTree as ET

    texts = []
    for chart in re.findall(r"<svg\b.*?</svg>", markup, flags=re.DOTALL):
        for element in ET.fromstring(chart).iter("text"):
            texts.append(" ".join(t.strip() for t in element.itertext() if t.strip()))
    return texts


def test_html_is_self_contained(html_report: Path) -> None:
    markup = html_report.read_text(encoding="utf-8")
    page = _parse(markup)
    names = {tag for tag, _ in page.tags}
    assert not names & {"script", "iframe", "object", "embed", "link", "base", "img", "frame", "audio", "video"}
    for tag, attrs in page.tags:
        for key, value in attrs.items():
            value = value or ""
            if key in ("href", "xlink:href"):
                assert value.startswith("#"), (tag, key, value)
            assert key not in ("src", "srcset", "action", "formaction", "poster", "data"), (tag, key)
            assert not key.startswith("on"), (tag, key)
    assert not re.search(r"https?:|//[a-z]|@import|url\((?!#)", markup, flags=re.IGNORECASE)
    csp = [a["content"] for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in (csp[0] or "")
    assert sum(1 for tag, _ in page.tags if tag == "svg") == 8  # every chart inline
    ids = [a["id"] for _, a in page.tags if "id" in a]
    assert len(ids) == len(set(ids))  # the charts' ids do not collide


def test_html_escapes_untrusted_text(html_report: Path) -> None:
    page = _parse(html_report.read_text(encoding="utf-8"))
    names = {tag for tag, _ in page.tags}
    assert "script" not in names and "img" not in names and "i" not in names and "u" not in names
    visible = page.visible
    assert f"{SCRIPT} then =1+1" in visible  # the description shows as text
    assert "Bus reform <i>Rabat</i>" in visible and "Kim <b>bold</b>" in visible
    assert IMG in visible  # in the facts and the practice-group chart's labels (SVG text)
    assert IMG in _svg_texts(html_report.read_text(encoding="utf-8"))  # a long label may wrap onto two lines
    assert "Round <8>" in visible
    assert "the other candidates are busy <then>" in visible


def test_html_has_the_same_content_as_the_workbook(html_report: Path, round_inputs: dict[str, pd.DataFrame]) -> None:
    visible = _parse(html_report.read_text(encoding="utf-8")).visible
    for title in round_inputs["requests"]["title"]:
        assert title in visible
    for why in round_inputs["shortlists_experts"]["why"]:
        assert why in visible
    for case in round_inputs["shortlists_cases"]["case_id"]:
        assert case in visible
    assert "partly staffed" in visible and "alternate 1" in visible
    assert "Requests by practice group" in visible and "References to Korean cases by city" in visible


def test_report_without_a_plan(round_inputs: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    from openpyxl import load_workbook

    inputs = {k: round_inputs[k] for k in ("requests", "experts", "shortlists_experts", "shortlists_cases")}
    html_path = write_report(tmp_path / "r.htm", **inputs)
    markup = html_path.read_text(encoding="utf-8")
    assert "shortlists only" in _parse(markup).visible and 'id="plan"' not in markup
    xlsx_path = write_report(tmp_path / "r.xlsx", **inputs)
    book = load_workbook(xlsx_path)
    assert "Expert load" not in book.sheetnames and "Calendar" not in book.sheetnames
    assert set(_table(book["Summary"], "Request")["Status"]) == {"not planned"}


def test_unknown_extension_raises_listing_valid_ones(round_inputs: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"\.html, \.htm, \.xlsx"):
        write_report(tmp_path / "round.pdf", **round_inputs)
    with pytest.raises(InputError, match="none"):
        report_format("report")
    assert list(tmp_path.iterdir()) == []
    assert set(REPORT_FORMATS.values()) == {"html", "xlsx"}


@pytest.mark.parametrize("suffix", [".xlsx", ".html"])
def test_failed_report_leaves_the_old_file(
    round_inputs: dict[str, pd.DataFrame], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    target = tmp_path / f"round{suffix}"
    target.write_text("old", encoding="utf-8")

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    if suffix == ".xlsx":
        from openpyxl import Workbook

        monkeypatch.setattr(Workbook, "save", fail)
    else:
        monkeypatch.setattr(Path, "write_text", fail)
    with pytest.raises(OSError, match="disk full"):
        write_report(target, **round_inputs)
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


@pytest.fixture(scope="module")
def demo_round() -> dict[str, object]:
    """The demo round, shortlisted and planned (hashing embedder: fast, no model)."""
    import gscp_match as gm

    demo = gm.load_demo()
    matcher = gm.Matcher(embedder="hashing", cache=None).fit(demo.experts, evidence=demo.evidence)
    result = matcher.shortlist(demo.requests, k=5, k_cases=3)
    plan = matcher.assign(demo.requests)
    return {
        "requests": demo.requests,
        "experts": matcher.experts_,
        "shortlists_experts": result.experts,
        "shortlists_cases": result.cases,
        "cases": matcher.cases_,
        "assignment": plan.assignment,
        "unstaffed": plan.unstaffed,
        "bookings": plan.bookings,
        "candidates": plan.candidates,
        "title": "GSCP demo round (synthetic data)",
        "model": matcher.embedder_.name,
        "weights": matcher.weights.as_dict(),
        "inputs": {kind: gm.tables._catalog.demo_paths()[kind] for kind in ("requests", "experts", "evidence")},
        "generated": dt.date(2027, 1, 4),
    }


@pytest.fixture(scope="module")
def demo_html(demo_round: dict[str, object], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_report(tmp_path_factory.mktemp("demo") / "demo.html", **demo_round)


def test_demo_round_report(demo_round: dict[str, object], demo_html: Path, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    requests = demo_round["requests"]
    page = _parse(demo_html.read_text(encoding="utf-8"))
    assert all(title in page.visible for title in requests["title"])
    book = load_workbook(write_report(tmp_path / "demo.xlsx", **demo_round))
    assert book.sheetnames[-12:] == requests["request_id"].tolist()
    summary = _table(book["Summary"], "Request")
    counts = analysis.request_summary(requests, assignment=demo_round["assignment"])["status"].value_counts()
    assert summary["Status"].value_counts().to_dict() == counts.to_dict()
    sheet = _table(book["DEMO-001"])
    assert sheet["List"].tolist()[-3:] == ["case"] * 3
    team = demo_round["assignment"]
    first = team[(team["request_id"] == "DEMO-001") & (team["role"] == "assigned")]["expert_id"].tolist()
    assert sheet.loc[sheet["Status"] == "assigned", "Id"].tolist() == first


def test_every_shortlisted_candidate_has_a_status_in_words(demo_round: dict[str, object], demo_html: Path) -> None:
    visible = _parse(demo_html.read_text(encoding="utf-8")).visible
    short = demo_round["shortlists_experts"]
    candidates = demo_round["candidates"].set_index(["request_id", "expert_id"])
    for row in short.itertuples(index=False):
        key = (row.request_id, row.expert_id)
        if key in candidates.index and candidates.loc[key, "status"] == "not chosen":
            assert f"not chosen: {candidates.loc[key, 'status_reason']}" in visible
    assert "not chosen: at the assignment limit: assigned to DEMO-" in visible


def test_footer_traces_the_report(demo_round: dict[str, object], demo_html: Path) -> None:
    import hashlib

    import gscp_match as gm

    visible = _parse(demo_html.read_text(encoding="utf-8")).visible
    assert "Generated 4 Jan 2027" in visible and f"gscp-match {gm.__version__}" in visible
    assert f"Model {demo_round['model']}" in visible and "semantic 0." in visible
    for kind, path in demo_round["inputs"].items():
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
        assert f"Input: {kind} {Path(path).name} (SHA-256 {digest})" in visible
    assert "How to read this report" in visible


def test_plain_words_and_number_formats(demo_html: Path) -> None:
    markup = demo_html.read_text(encoding="utf-8")
    visible = _parse(markup).visible
    assert "text match" not in visible and not re.search(r"\bratio\b", visible, flags=re.IGNORECASE)
    assert not re.search(r"\b\d\.\d{3,}\b", visible)  # scores to two decimals, never 0.6007
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", visible)  # dates as 3 Mar 2027
    assert re.search(r"\bUSD \d{1,3}(,\d{3})+\b", visible)  # money with separators and currency
    headers = re.findall(r"<th[^>]*>([^<]*)</th>", markup)
    assert headers and not any("_" in h for h in headers)
    # An evidence title is quoted once, not as "title: “title.”".
    assert not re.search(r"evidence: ([^;“]+): “\1\.?”", visible)
    assert re.findall(r'<span class="id">DEMO-\d+</span>', markup)  # ids kept whole (white-space: nowrap)
    assert ".id,td.id{white-space:nowrap" in markup


# ---------------------------------------------------------------------------------------------------------------
# A real browser: what a reader of the HTML report sees.


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _dump_dom(browser: str, page: Path, profile: Path) -> str:
    command = [browser, "--headless", "--disable-gpu", "--no-first-run", f"--user-data-dir={profile}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    command += ["--dump-dom", page.resolve().as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def browser() -> str:
    path = _chromium()
    if path is None:
        if os.environ.get("GSCP_MATCH_REQUIRE_BROWSER", "") not in ("", "0"):
            pytest.fail("GSCP_MATCH_REQUIRE_BROWSER is set but chromium is not installed")
        pytest.skip("chromium is not installed (set GSCP_MATCH_REQUIRE_BROWSER=1 to make this an error)")
    return path


def test_browser_shows_the_report_and_runs_nothing(
    browser: str, html_report: Path, round_inputs: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    # Control: in this harness a script does run and change the DOM, so its absence below means something.
    control = tmp_path / "control.html"
    control.write_text(f"<!DOCTYPE html><html><body><p>control</p>{SCRIPT}</body></html>", encoding="utf-8")
    control_dom = _parse(_dump_dom(browser, control, tmp_path / "profile-control"))
    assert any(t == "body" and a.get("data-pwned") == "1" for t, a in control_dom.tags)

    dom = _parse(_dump_dom(browser, html_report, tmp_path / "profile"))
    body = [a for t, a in dom.tags if t == "body"]
    assert body and "data-pwned" not in body[0]  # the description's script did not run
    assert not any(t in ("script", "img") for t, _ in dom.tags)
    visible = dom.visible
    for title in round_inputs["requests"]["title"]:
        assert title in visible
    assert f"{SCRIPT} then =1+1" in visible and IMG in visible
    assert "Kim <b>bold</b> (E1)" in visible
    assert sum(1 for t, _ in dom.tags if t == "svg") == 8  # the charts are in the rendered page
    assert "Demand and supply by theme" in visible  # chart text rendered as SVG text


_CHROMIUM_QUIET = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-gpu",
]

# The report forbids scripts (its Content-Security-Policy), so the measuring script runs in a harness page that
# shows the unmodified report in a same-origin srcdoc frame of the width under test. (Headless Chromium will not
# make its window narrower than 500 px, a frame can be.)
_MEASURE = """<script>
const frame = document.getElementById('report');
frame.addEventListener('load', () => {
  const doc = frame.contentDocument, win = frame.contentWindow;
  let least = Infinity, texts = 0;
  for (const t of doc.querySelectorAll('svg text')) {
    if (!t.textContent.trim() || t.getBBox().width === 0) continue;
    const m = t.getScreenCTM();
    least = Math.min(least, parseFloat(win.getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b));
    texts += 1;
  }
  document.body.setAttribute('data-measure', JSON.stringify({
    scrollWidth: doc.documentElement.scrollWidth, innerWidth: win.innerWidth, least: least, texts: texts,
    scripts: doc.querySelectorAll('script').length}));
});
</script>"""


def _chromium_command(browser: str, profile: Path) -> list[str]:
    command = [browser, "--headless", *_CHROMIUM_QUIET, f"--user-data-dir={profile}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--no-sandbox")
    return command


def _measure(browser: str, report: Path, width: int, tmp_path: Path) -> dict[str, float]:
    import html
    import json

    tmp_path.mkdir(parents=True, exist_ok=True)
    harness = tmp_path / f"measure-{width}.html"
    source = html.escape(report.read_text(encoding="utf-8"), quote=True)
    harness.write_text(
        f'<!DOCTYPE html><html><body style="margin:0"><iframe id="report" '
        f'style="width:{width}px;height:800px;border:0" srcdoc="{source}"></iframe>{_MEASURE}</body></html>',
        encoding="utf-8",
    )
    command = _chromium_command(browser, tmp_path / f"profile-{width}")
    done = subprocess.run(
        [*command, "--window-size=1500,900", "--dump-dom", harness.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'<body[^>]*data-measure="([^"]*)"', done.stdout)
    assert found, done.stdout[-2000:]
    return json.loads(html.unescape(found.group(1)))


@pytest.mark.parametrize("width", [390, 1400])
def test_browser_no_horizontal_scroll_and_readable_charts(
    browser: str, demo_html: Path, html_report: Path, width: int, tmp_path: Path
) -> None:
    for report in (demo_html, html_report):
        got = _measure(browser, report, width, tmp_path / report.stem)
        assert got["innerWidth"] == width  # the frame is the width under test
        assert got["scrollWidth"] <= got["innerWidth"], (report.name, got)
        assert got["texts"] > 50 and got["scripts"] == 0
        assert got["least"] >= (9.0 if width == 390 else 12.0), (report.name, got)  # rendered px of chart text


def test_browser_narrow_control_overflows(browser: str, tmp_path: Path) -> None:
    # Control: the harness does see a page wider than the frame.
    page = tmp_path / "wide.html"
    page.write_text('<!DOCTYPE html><html><body><div style="width:900px">wide</div></body></html>', "utf-8")
    got = _measure(browser, page, 390, tmp_path)
    assert got["scrollWidth"] > got["innerWidth"] == 390


def _headings(markup: str) -> set[str]:
    found = re.findall(r"<h([1-4])[^>]*>(.*?)</h\1>", markup, flags=re.DOTALL)
    return {re.sub(r"\s+", " ", html_unescape(re.sub(r"<[^>]+>", "", text))).strip() for _, text in found}


def html_unescape(text: str) -> str:
    import html

    return html.unescape(text)


def test_print_layout(browser: str, demo_html: Path, demo_round: dict[str, object], tmp_path: Path) -> None:
    from pypdf import PdfReader

    pdf = tmp_path / "demo.pdf"
    command = _chromium_command(browser, tmp_path / "profile-print")
    done = subprocess.run(
        [*command, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", demo_html.resolve().as_uri()],
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0 and pdf.stat().st_size > 0, done.stderr[-2000:]
    pages = [[line.strip() for line in p.extract_text().splitlines() if line.strip()] for p in PdfReader(pdf).pages]
    n_requests = len(demo_round["requests"])
    # The summary, figures and plan, then each request on its own page (a long one may run onto a second).
    assert n_requests + 3 <= len(pages) <= 2 * n_requests + 6, len(pages)
    headings = _headings(demo_html.read_text(encoding="utf-8"))
    for number, lines in enumerate(pages, start=1):
        assert lines, f"page {number} is empty"
        assert not set(lines) <= headings, f"page {number} holds only a heading: {lines}"
        assert lines[-1] not in headings, f"page {number} ends with the heading {lines[-1]!r}"
    # Each request starts a page (the first one under the section heading "Requests").
    starts = [line for lines in pages for line in lines[:2]]
    for rid in demo_round["requests"]["request_id"]:
        assert any(s.startswith(f"{rid}:") for s in starts), rid


def test_dollar_signs_in_names_reach_the_report_as_written(
    round_inputs: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    # Issue 14: "$\frac{$" crashed the report (mathtext), "$x^2$" lost its dollar signs in the charts.
    names = {"E1": "Kim $x^2$ (fictional)", "E2": "$\\frac{$", "E4": "Park $$ (fictional)"}
    assignment = round_inputs["assignment"].assign(
        name=round_inputs["assignment"]["expert_id"].map(names).fillna("Lee")
    )
    path = write_report(tmp_path / "d.html", **{**round_inputs, "assignment": assignment})
    page = _parse(path.read_text(encoding="utf-8"))
    svg_text = " ".join(page.text)
    for expert_id, name in names.items():
        assert f"{name} ({expert_id})" in svg_text
