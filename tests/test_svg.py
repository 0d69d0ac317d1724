"""The HTML report's charts written as SVG text: well-formed, one bar per row with its value written, every text
escaped and inside the picture, empty tables named in words, and no matplotlib on the HTML path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from plan_fixtures import small_plan

from gscp_match.report import _svg as svg
from gscp_match.report._analysis import booking_spans, demand_supply, expert_load, request_counts
from gscp_match.report._style import CALENDAR_COLORS, COLORS


def _root(markup: str) -> ET.Element:
    root = ET.fromstring(markup)  # well-formed XML, or this raises
    assert root.tag == "svg" and root.get("role") == "img"
    width, height = (float(v) for v in root.get("viewBox", "").split()[2:])
    assert width == svg.WIDTH == float(root.get("width", "0")) and height == float(root.get("height", "0")) > 0
    assert root.find("title") is not None and root.find("title").text == root.get("aria-label")
    return root


def _bars(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iter("rect") if r.get("class") == "bar"]


def _texts(root: ET.Element) -> list[str]:
    """Each ``<text>``'s content, its wrapped lines joined by a space."""
    return [" ".join(t.strip() for t in e.itertext()) for e in root.iter("text")]


def _width(bar: ET.Element) -> float:
    return float(bar.get("width", "nan"))




def test_request_counts_one_bar_per_row_with_its_value() -> None:
    requests = pd.DataFrame({"region": ["MNA", "EAP", "MNA", "AFR", "MNA", "EAP"]})
    counts = request_counts(requests, by="region")
    root = _root(svg.request_counts_svg(counts))
    bars = _bars(root)
    assert len(bars) == len(counts) and counts["requests"].gt(0).sum() == 3  # every region, zeros included
    texts = _texts(root)
    assert "Requests by region" in texts and "requests" in texts  # title and axis label
    for region, n in zip(counts["region"], counts["requests"], strict=True):
        assert region in texts and str(n) in texts
    widths = np.array([_width(b) for b in bars])
    np.testing.assert_allclose(widths / widths.max(), counts["requests"] / counts["requests"].max(), atol=1e-3)
    assert {b.get("fill") for b in bars} == {COLORS["bars"]}
    # Top to bottom in the table's order.
    assert [float(b.get("y")) for b in bars] == sorted(float(b.get("y")) for b in bars)


def test_case_references_notes_and_rows() -> None:
    by_city = pd.DataFrame(
        {"city_group": ["National", "Seoul", "Others"], "references": [23, 1, 0], "cases": [10, 1, 0]}
    )
    root = _root(svg.case_references_svg(by_city))
    assert len(_bars(root)) == 3  # every city group, zeros included
    texts = _texts(root)
    assert {"23 (10 cases)", "1 (1 case)", "0 (0 cases)", "References to Korean cases by city"} <= set(texts)
    by_theme = pd.DataFrame({"theme": ["public_transport", "water"], "references": [4, 0], "cases": [2, 0]})
    root = _root(svg.case_references_svg(by_theme))
    assert len(_bars(root)) == 1 and "public transport" in _texts(root)  # themes only when referenced


def test_expert_load_labels_and_notes() -> None:
    assignment, bookings = small_plan()
    load = expert_load(assignment, bookings)
    root = _root(svg.expert_load_svg(load))
    assert [_width(b) > 0 for b in _bars(root)] == [True, True]  # the alternate E3 carries no load
    texts = _texts(root)
    assert {"Kim <b> (E1)", "Lee (E2)", "13 days, 2 engagements", "5 days, 1 engagement"} <= set(texts)
    assert _width(_bars(root)[0]) / _width(_bars(root)[1]) == pytest.approx(13 / 5, rel=1e-3)


def test_demand_supply_stacks_korean_and_other_and_marks_gaps() -> None:
    requests = pd.DataFrame(
        {"themes": [("mobility",), ("mobility", "water"), ("land",)], "korean_experience": [True, False, False]}
    )
    experts = pd.DataFrame(
        {
            "themes": [("mobility",)] * 5 + [("water",)] * 3,
            "korean_experience": [True, True, False, False, False, True, False, False],
        }
    )
    table = demand_supply(requests, experts)
    shown = table[(table["requests"] > 0) | (table["experts"] > 0)].reset_index(drop=True)
    root = _root(svg.demand_supply_svg(table))
    bars = _bars(root)
    korean = [b for b in bars if b.get("fill") == COLORS["korean"]]
    other = [b for b in bars if b.get("fill") == COLORS["other"]]
    asked = [b for b in bars if b.get("fill") in (COLORS["requests"], COLORS["gap"])]
    assert len(korean) == len(other) == len(asked) == len(shown) == 3  # land, mobility, water
    experts_px = [_width(k) + _width(o) for k, o in zip(korean, other, strict=True)]
    np.testing.assert_allclose(
        np.array(experts_px) / max(experts_px), shown["experts"] / shown["experts"].max(), atol=1e-3
    )
    np.testing.assert_allclose(
        [_width(k) for k in korean],
        np.array(experts_px) * shown["korean_experts"] / shown["experts"].where(shown["experts"] > 0, 1),
        atol=0.1,  # coordinates are written to 0.1 px
    )
    # Korean first, the other experts stacked after it.
    assert all(
        float(o.get("x")) == pytest.approx(float(k.get("x")) + _width(k), abs=0.11)
        for k, o in zip(korean, other, strict=True)
    )
    gap = shown["gap"].tolist()
    assert [b.get("fill") == COLORS["gap"] for b in asked] == gap and any(gap)
    labels = {" ".join(e.itertext()): e for e in root.iter("text")}
    for theme, is_gap in zip(shown["theme"], gap, strict=True):
        assert (labels[theme].get("font-weight") == "bold") == is_gap
        assert (labels[theme].get("fill") == COLORS["gap"]) == is_gap
    texts = _texts(root)
    assert {"Experts", "Requests", "experts", "requests", "gap: too few experts", "other experts"} <= set(texts)
    for n in [*shown["experts"], *shown["requests"]]:
        assert str(n) in texts
    no_gap = _texts(_root(svg.demand_supply_svg(table.assign(gap=False))))
    assert "gap: too few experts" not in no_gap  # the legend names only what is drawn
    assert len(_bars(_root(svg.demand_supply_svg(table, all_themes=True)))) == 3 * len(table)


def test_calendar_bars_are_the_booked_spans() -> None:
    assignment, bookings = small_plan()
    root = _root(svg.calendar_svg(bookings, assignment=assignment))
    spans = booking_spans(bookings)
    bars = _bars(root)
    assert len(bars) == len(spans) == 4
    days = [(s.end - s.start).days + 1 for s in spans.itertuples()]
    per_day = [_width(b) / d for b, d in zip(bars, days, strict=True)]  # one scale: px per calendar day
    np.testing.assert_allclose(per_day, [per_day[0]] * 4, rtol=1e-2)
    # Colours by request (sorted ids, cycled), three rows, each labelled with its request after its bars.
    assert [b.get("fill") for b in bars] == [
        CALENDAR_COLORS[0],
        CALENDAR_COLORS[1],
        CALENDAR_COLORS[1],
        CALENDAR_COLORS[1],
    ]
    assert len({b.get("y") for b in bars}) == 3
    texts = _texts(root)
    assert texts.count("R1") == 1 and texts.count("R2") == 2
    assert texts.count("Kim <b> (E1)") == 1 and "Lee (E2)" in texts  # an expert named once
    assert "Mar 2027" in texts and "01 Mar" in texts and "15 Mar" in texts
    assert "E1" in _texts(_root(svg.calendar_svg(bookings)))  # without names: the id


def test_calendar_of_a_long_round_reads_months() -> None:
    days = pd.bdate_range("2027-02-01", "2027-06-30")
    root = _root(svg.calendar_svg(pd.DataFrame({"expert_id": "E1", "request_id": "R1", "date": days})))
    texts = _texts(root)
    assert "Feb 2027 to Jun 2027" in texts  # the axis label
    assert [t for t in texts if t in ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul")] == [
        "Feb",
        "Mar",
        "Apr",
        "May",
        "Jun",
    ]


def test_every_text_is_escaped() -> None:
    nasty = "A<b>&\"c' </svg><script>"
    counts = pd.DataFrame({"region": [nasty], "requests": [2]})
    markup = svg.request_counts_svg(counts)
    assert "<script>" not in markup and "<b>" not in markup and "&lt;b&gt;&amp;&quot;c" in markup
    assert nasty in _texts(_root(markup))
    load = pd.DataFrame({"expert_id": ["E&1"], "name": [nasty], "engagements": [1], "booked_days": [3]})
    assert f"{nasty} (E&1)" in _texts(_root(svg.expert_load_svg(load)))
    _, bookings = small_plan()
    bookings = bookings.assign(request_id=bookings["request_id"].replace({"R1": nasty}))
    root = _root(svg.calendar_svg(bookings, assignment=pd.DataFrame({"expert_id": ["E1"], "name": [nasty]})))
    assert nasty in _texts(root) and f"{nasty} (E1)" in _texts(root)
    themes = pd.DataFrame({"theme": [nasty], "requests": [1], "experts": [2], "korean_experts": [1], "gap": [True]})
    assert nasty in _texts(_root(svg.demand_supply_svg(themes, label=nasty)))
    assert _root(svg.demand_supply_svg(themes, label=nasty)).get("aria-label") == nasty


def test_empty_tables_say_so() -> None:
    _, bookings = small_plan()
    empty_load = pd.DataFrame(columns=["expert_id", "name", "engagements", "booked_days"])
    themes = pd.DataFrame({"theme": ["land"], "requests": [0], "experts": [0], "korean_experts": [0], "gap": [False]})
    cases = {
        "no requests": svg.request_counts_svg(pd.DataFrame({"region": [], "requests": []})),
        "no case references": svg.case_references_svg(
            pd.DataFrame({"theme": ["land"], "references": [0], "cases": [0]})
        ),
        "no assigned experts": svg.expert_load_svg(empty_load),
        "no booked days": svg.calendar_svg(bookings.iloc[:0]),
        "no themes in the requests or the roster": svg.demand_supply_svg(themes),
        "nothing to show": svg.bar_chart_svg([], [], title="T", axis_label="n"),
    }
    for message, markup in cases.items():
        root = _root(markup)
        assert _bars(root) == [] and message in _texts(root)


def _extent(element: ET.Element, text: str) -> tuple[float, float]:
    x = float(element.get("x", "0"))
    width = svg.text_width(text, float(element.get("font-size", svg.FONT)), bold=element.get("font-weight") == "bold")
    anchor = element.get("text-anchor", "start")
    return {"start": (x, x + width), "middle": (x - width / 2, x + width / 2), "end": (x - width, x)}[anchor]


def _lines_of(root: ET.Element) -> list[tuple[ET.Element, str]]:
    """Every line of text with the element that sets its anchor and size."""
    found = []
    for element in root.iter("text"):
        spans = element.findall("tspan")
        if spans:
            for span in spans:
                found.append(({**element.attrib, **span.attrib}, span.text or ""))
        else:
            found.append((dict(element.attrib), element.text or ""))
    return [(ET.Element("text", attrib), text) for attrib, text in found]


_WORDS = ["Nuriga", "Urban", "Systems", "(synthetic)", "<img", "src=x", "onerror=alert(1)>", "서울특별시", "WWWMMM",
          "&", '"quoted"', "Dr.", "il", "REQ-" + "x" * 40, "Kim", "$x^2$"]  # fmt: skip
_LABEL = st.one_of(
    st.text(
        alphabet=st.sampled_from(list("abcmwMW il.<&\"'>()/-_0123456789") + ["서", "é", "Ω"]), min_size=1, max_size=40
    ),
    st.lists(st.sampled_from(_WORDS), min_size=1, max_size=9).map(" ".join),
)


@settings(max_examples=40, deadline=None)
@given(
    labels=st.lists(_LABEL, min_size=1, max_size=6),
    values=st.lists(st.integers(0, 5000), min_size=6, max_size=6),
)
def test_no_text_leaves_the_picture_or_overlaps_the_bars(labels: list[str], values: list[int]) -> None:
    load = pd.DataFrame(
        {
            "expert_id": [f"E{i}" for i in range(len(labels))],
            "name": labels,
            "engagements": values[: len(labels)],
            "booked_days": values[::-1][: len(labels)],
        }
    )
    themes = pd.DataFrame(
        {
            "theme": labels,
            "requests": values[: len(labels)],
            "experts": values[::-1][: len(labels)],
            "korean_experts": [0] * len(labels),
            "gap": [i % 2 == 0 for i in range(len(labels))],
        }
    )
    for markup in (svg.expert_load_svg(load), svg.demand_supply_svg(themes, all_themes=True)):
        root = _root(markup)
        left = min(float(b.get("x")) for b in _bars(root))
        for element, text in _lines_of(root):
            lo, hi = _extent(element, text)
            assert 0 <= lo and hi <= svg.WIDTH, (text, lo, hi)
            if element.get("text-anchor") == "end":  # a row label: left of every bar
                assert hi <= left, (text, hi, left)
        for bar in _bars(root):
            assert float(bar.get("x")) + _width(bar) <= svg.WIDTH


@settings(max_examples=30, deadline=None)
@given(
    names=st.lists(_LABEL, min_size=1, max_size=4),
    ids=st.lists(_LABEL, min_size=1, max_size=4, unique=True),
    starts=st.lists(st.integers(0, 300), min_size=4, max_size=4),
    lengths=st.lists(st.integers(1, 60), min_size=4, max_size=4),
)
def test_calendar_text_stays_in_the_picture(
    names: list[str], ids: list[str], starts: list[int], lengths: list[int]
) -> None:
    parts = []
    for i, request in enumerate(ids):
        days = pd.bdate_range(pd.Timestamp("2027-01-04") + pd.Timedelta(days=starts[i]), periods=lengths[i])
        parts.append(pd.DataFrame({"expert_id": f"E{i % len(names)}", "request_id": request, "date": days}))
    bookings = pd.concat(parts, ignore_index=True)
    assignment = pd.DataFrame({"expert_id": [f"E{i}" for i in range(len(names))], "name": names})
    root = _root(svg.calendar_svg(bookings, assignment=assignment))
    assert len(_bars(root)) == len(booking_spans(bookings))
    left = min(float(b.get("x")) for b in _bars(root))
    for element, text in _lines_of(root):
        lo, hi = _extent(element, text)
        assert 0 <= lo and hi <= svg.WIDTH, (text, lo, hi)
        if element.get("text-anchor") == "end":
            assert hi <= left, (text, hi, left)
    for bar in _bars(root):
        assert left <= float(bar.get("x")) and float(bar.get("x")) + _width(bar) <= svg.WIDTH


def test_text_width_is_at_least_dejavu_sans() -> None:
    # DejaVu Sans (matplotlib's own font, Debian's default sans) is the widest common sans-serif: an estimate at
    # or above its advance widths (what a browser lays out, unhinted) holds for the fonts picked for system-ui.
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    samples = [chr(c) for c in range(32, 127)] + [
        "Seo-seul Dasom (SX0001)",
        "WWWWMMMM",
        "<img src=x>",
        "Ωé",
        "Жюль Щукин",
        "Ĉeĥ Ørsted Łódź",
        "ßçñü",
    ]
    for weight in ("normal", "bold"):
        font = FT2Font(font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans", weight=weight)))
        font.set_size(svg.FONT, 72)  # 72 dpi: a point is a px
        for text in samples:
            advance = sum(font.load_char(ord(c)).linearHoriAdvance for c in text) / 65536
            assert svg.text_width(text, bold=weight == "bold") >= advance, (text, weight)


def _run(code: str, cache: Path) -> object:
    env = {**os.environ, "GSCP_MATCH_CACHE": str(cache), "GSCP_MATCH_QUIET": "1", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_html_report_does_not_import_matplotlib(tmp_path) -> None:
    code = f"""
import json, sys
import gscp_match as gm
from gscp_match.report import write_report
demo = gm.load_demo()
matcher = gm.Matcher(embedder="hashing", cache=None).fit(demo.experts, evidence=demo.evidence)
result = matcher.shortlist(demo.requests, k=5, k_cases=3)
plan = matcher.assign(demo.requests)
tables = dict(requests=demo.requests, experts=matcher.experts_, shortlists_experts=result.experts,
              shortlists_cases=result.cases, assignment=plan.assignment, unstaffed=plan.unstaffed,
              bookings=plan.bookings, candidates=plan.candidates)
page = write_report({str(tmp_path / "demo.html")!r}, **tables).read_text(encoding="utf-8")
html_loads = "matplotlib" in sys.modules
write_report({str(tmp_path / "demo.xlsx")!r}, **tables)
print(json.dumps({{"html": html_loads, "xlsx": "matplotlib" in sys.modules, "svgs": page.count("<svg ")}}))
"""
    got = _run(code, tmp_path / "cache")
    assert got == {"html": False, "xlsx": False, "svgs": 8}


def test_cli_demo_does_not_import_matplotlib(tmp_path) -> None:
    code = f"""
import json, sys
from gscp_match.cli import main
code = main(["demo", "--embedder", "hashing", "--quiet", "--out", {str(tmp_path / "demo")!r}])
print(json.dumps({{"code": code, "matplotlib": "matplotlib" in sys.modules}}))
"""
    assert _run(code, tmp_path / "cache") == {"code": 0, "matplotlib": False}
    # Control: the notebook charts do load it, so the check above can see it.
    assert _run("import json, sys; import gscp_match.report as r; r.demand_supply_chart; "
                "print(json.dumps('matplotlib' in sys.modules))", tmp_path / "cache") is True  # fmt: skip
