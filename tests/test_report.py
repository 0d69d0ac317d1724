"""Reports: the Excel workbook reopens with the expected sheets and cells; the HTML page is self-contained, escapes
every untrusted string, and renders in a real browser (headless Chromium) the way a reader sees it."""

from __future__ import annotations

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
from gscp_match.report import REPORT_FORMATS, report_format, sheet_names, write_report

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
    return assignment, unstaffed, bookings


@pytest.fixture(scope="module")
def round_inputs() -> dict[str, pd.DataFrame]:
    requests, experts = _requests(), _experts()
    short_experts, short_cases = _shortlists(requests, experts)
    assignment, unstaffed, bookings = _plan()
    return {
        "requests": requests,
        "experts": experts,
        "shortlists_experts": short_experts,
        "shortlists_cases": short_cases,
        "assignment": assignment,
        "unstaffed": unstaffed,
        "bookings": bookings,
    }


@pytest.fixture(scope="module")
def html_report(round_inputs: dict[str, pd.DataFrame], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_report(tmp_path_factory.mktemp("html") / "round.html", title="Round <8>", **round_inputs)


@pytest.fixture(scope="module")
def xlsx_report(round_inputs: dict[str, pd.DataFrame], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_report(tmp_path_factory.mktemp("xlsx") / "round.xlsx", title="Round 8", **round_inputs)


# ---------------------------------------------------------------------------------------------------------------
# Excel.

FIXED = ["Summary", "Demand and supply", "Request counts", "Case references", "Expert load", "Calendar"]


def test_xlsx_sheets_and_summary(xlsx_report: Path) -> None:
    sheets = pd.read_excel(xlsx_report, sheet_name=None, dtype=object)
    request_sheets = ["R_1_a", "r_1_A~2", "Summary~2", LONG_ID[:31]]
    assert list(sheets) == FIXED + request_sheets
    summary = sheets["Summary"]
    assert summary["request_id"].tolist() == ["R/1:a", "r/1:A", "Summary", LONG_ID]
    assert summary["status"].tolist() == ["staffed", "partly staffed", "unstaffed", "staffed"]
    assert summary["assigned"].tolist()[:2] == ["Kim <b>bold</b> (E1)", '\'=HYPERLINK("evil","click") (E2)']
    assert summary["alternates"].tolist()[0] == "Lee (E3)"
    reasons = ["the other candidates are busy <then>", "its only candidate is booked by R/1:a"]
    assert summary["reason"].tolist()[1:3] == reasons
    assert summary["title"].tolist()[2] == "'=cmd|' /C calc'!A0"  # neutralized, shown as text
    demand = sheets["Demand and supply"].set_index("theme")
    assert demand.loc["water", "requests"] == 1 and demand.loc["water", "experts"] == 2
    calendar = sheets["Calendar"]
    assert calendar[["expert_id", "request_id", "days"]].values.tolist() == [["E1", "R/1:a", 10], ["E2", "r/1:A", 20]]


def test_xlsx_request_sheets(xlsx_report: Path) -> None:
    from openpyxl import load_workbook

    first = pd.read_excel(xlsx_report, sheet_name="R_1_a", header=4, dtype=object)
    assert first["list"].tolist() == ["expert", "expert", "case", "case"]
    assert first["id"].tolist() == ["E1", "E3", "kr-seoul-bus-reform", "kr-seoul-topis"]
    assert first["plan"].fillna("").tolist() == ["assigned", "alternate 1", "", ""]
    assert first["why"].tolist()[0] == "why E1 <u>for</u> R/1:a"
    second = pd.read_excel(xlsx_report, sheet_name="r_1_A~2", header=4, dtype=object)
    assert second["name"].tolist()[:2] == ['\'=HYPERLINK("evil","click")', "'@Park"]
    book = load_workbook(xlsx_report)
    sheet = book["R_1_a"]
    assert sheet["A1"].value == "R/1:a: Bus reform <i>Rabat</i>"
    assert "support type: JIT" in sheet["A2"].value and "window: 2027-03-01 to 2027-04-30" in sheet["A2"].value
    assert sheet["A3"].value.startswith("Status: staffed. Assigned: Kim <b>bold</b> (E1).")
    assert sheet["A4"].value == f"{SCRIPT} then =1+1"
    assert sheet.freeze_panes == "A6"
    assert book["Summary"].freeze_panes == "B2" and book["Demand and supply"].freeze_panes == "A2"
    widths = {sheet.cell(row=5, column=j).value: sheet.column_dimensions[chr(64 + j)].width for j in range(1, 11)}
    assert widths["why"] >= 20 and widths["list"] <= 12 and widths["rank"] <= 12
    assert isinstance(sheet["F6"].value, float) and sheet["B6"].value == 1  # score and rank stay numbers
    third = book["Summary~2"]
    assert third["A1"].value == "Summary: =cmd|' /C calc'!A0"  # not first in its cell: harmless
    assert third["A4"].value == "'-2+3"  # a formula-looking description is neutralized


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
    assert IMG in visible  # in the summary, the facts and the practice-group chart's labels (SVG text)
    svg_text = [t for t in page.text if IMG in t]
    assert len(svg_text) >= 2
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
    inputs = {k: round_inputs[k] for k in ("requests", "experts", "shortlists_experts", "shortlists_cases")}
    html_path = write_report(tmp_path / "r.htm", **inputs)
    visible = _parse(html_path.read_text(encoding="utf-8")).visible
    assert "shortlists only" in visible and "Round plan" not in visible
    xlsx_path = write_report(tmp_path / "r.xlsx", **inputs)
    sheets = pd.read_excel(xlsx_path, sheet_name=None)
    assert "Expert load" not in sheets and "Calendar" not in sheets
    assert set(sheets["Summary"]["status"]) == {"not planned"}


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


def test_demo_round_report(tmp_path: Path) -> None:
    import gscp_match as gm

    demo = gm.load_demo()
    matcher = gm.Matcher(embedder="hashing", cache=None).fit(demo.experts, evidence=demo.evidence)
    result = matcher.shortlist(demo.requests, k=3, k_cases=2)
    top = result.experts[result.experts["rank"] == 1]
    assignment = top.assign(role="assigned")[["request_id", "expert_id", "name", "role", "rank", "score", "why"]]
    inputs = {
        "requests": demo.requests,
        "experts": demo.experts,
        "shortlists_experts": result.experts,
        "shortlists_cases": result.cases,
        "assignment": assignment,
        "unstaffed": pd.DataFrame(columns=["request_id", "needed", "assigned", "missing", "reason_code", "reason"]),
    }
    page = _parse(write_report(tmp_path / "demo.html", **inputs).read_text(encoding="utf-8"))
    assert all(title in page.visible for title in demo.requests["title"])
    book = pd.read_excel(write_report(tmp_path / "demo.xlsx", **inputs), sheet_name=None)
    assert list(book)[-12:] == demo.requests["request_id"].tolist()
    assert (book["Summary"]["status"] == "staffed").all()
    sheet = pd.read_excel(tmp_path / "demo.xlsx", sheet_name="DEMO-001", header=4)
    assert sheet["list"].tolist() == ["expert"] * 3 + ["case"] * 2
    assert sheet["plan"].tolist()[0] == "assigned" and np.isclose(sheet["score"][0], top["score"].iloc[0])


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
