"""Charts: each returns a Figure whose bars and labels carry the table's numbers (artists, not pixels)."""

from __future__ import annotations

import re

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from plan_fixtures import small_plan

from gscp_match.report import _charts as charts
from gscp_match.report._analysis import booking_spans, case_references, demand_supply, expert_load, request_counts


def _bars(ax: matplotlib.axes.Axes) -> list[Rectangle]:
    return [p for p in ax.patches if isinstance(p, Rectangle)]


def _tick_labels(ax: matplotlib.axes.Axes) -> list[str]:
    return [t.get_text() for t in ax.get_yticklabels()]


@pytest.fixture
def round_tables() -> dict[str, pd.DataFrame]:
    requests = pd.DataFrame(
        {
            "request_id": ["R1", "R2", "R3"],
            "themes": [("mobility",), ("mobility", "water"), ("land",)],
            "korean_experience": [True, False, False],
            "region": ["MNA", "EAP", "MNA"],
            "practice_group": ["Transport", "Water", "Transport"],
            "support_type": ["JIT", "OS", "JIT"],
        }
    )
    experts = pd.DataFrame(
        {
            "expert_id": [f"E{i}" for i in range(8)],
            "themes": [("mobility",)] * 5 + [("water",)] * 3,
            "korean_experience": [True, True, False, False, False, True, False, False],
        }
    )
    return {"requests": requests, "experts": experts}


def test_demand_supply_chart_bars_and_gaps(round_tables: dict[str, pd.DataFrame]) -> None:
    table = demand_supply(round_tables["requests"], round_tables["experts"])
    fig = charts.demand_supply_chart(table)
    assert isinstance(fig, Figure)
    experts_ax, requests_ax = fig.axes
    shown = table[(table["requests"] > 0) | (table["experts"] > 0)].reset_index(drop=True)
    assert _tick_labels(experts_ax) == shown["theme"].tolist() == ["land", "mobility", "water"]
    assert experts_ax.get_shared_y_axes().joined(experts_ax, requests_ax)  # one theme axis, two count axes
    assert experts_ax.get_xlabel() == "experts" and requests_ax.get_xlabel() == "requests"
    assert len(fig.axes) == 2  # no twin axis drawn over the same bars
    bars = _bars(experts_ax)
    korean, other = bars[: len(shown)], bars[len(shown) :]
    assert [b.get_width() for b in korean] == shown["korean_experts"].tolist()
    assert [b.get_width() for b in other] == (shown["experts"] - shown["korean_experts"]).tolist()
    assert [b.get_x() for b in other] == shown["korean_experts"].tolist()  # stacked after the Korean experts
    request_bars = _bars(requests_ax)
    assert [b.get_width() for b in request_bars] == shown["requests"].tolist()
    # Gaps: land (1 request, 0 experts) and mobility (2 requests, 5 experts < 6) are gaps; water is not (1, 3).
    assert shown["gap"].tolist() == [True, True, False]
    gap_color = charts.COLORS["gap"].lower()
    assert [to_hex(b.get_facecolor()) for b in request_bars] == [gap_color, gap_color, charts.COLORS["requests"]]
    label_colors = [to_hex(t.get_color()) for t in experts_ax.get_yticklabels()]
    assert label_colors[:2] == [gap_color, gap_color] and label_colors[2] != gap_color
    legend = [t.get_text() for t in experts_ax.get_legend().get_texts()]
    assert any("gap" in t for t in legend)


def test_demand_supply_chart_all_themes_and_empty() -> None:
    empty_requests = pd.DataFrame({"themes": [], "korean_experience": []})
    empty_experts = pd.DataFrame({"themes": [], "korean_experience": []})
    table = demand_supply(empty_requests, empty_experts)
    fig = charts.demand_supply_chart(table)
    assert _bars(fig.axes[0]) == [] and "no themes" in fig.axes[0].texts[0].get_text()
    fig = charts.demand_supply_chart(table, all_themes=True)
    assert _tick_labels(fig.axes[0])[:2] == ["strategy", "institutions"]
    assert "new towns" in _tick_labels(fig.axes[0])  # plain words, not theme codes
    assert len(_tick_labels(fig.axes[0])) == 20


def test_request_counts_chart_draws_on_given_axes(round_tables: dict[str, pd.DataFrame]) -> None:
    fig = Figure()
    axes = fig.subplots(1, 3)
    for ax, by in zip(axes, ("region", "practice_group", "support_type"), strict=True):
        counts = request_counts(round_tables["requests"], by=by)
        assert charts.request_counts_chart(counts, ax=ax) is fig
        assert _tick_labels(ax) == counts[by].tolist()
        assert [b.get_width() for b in _bars(ax)] == counts["requests"].tolist()
        assert ax.get_title() == f"Requests by {by.replace('_', ' ')}"
    assert [b.get_width() for b in _bars(axes[0])] == [0, 1, 0, 0, 2, 0]  # AFR EAP ECA LAC MNA SAR
    assert _tick_labels(axes[1]) == ["Transport", "Water"]


def test_case_references_chart(round_tables: dict[str, pd.DataFrame]) -> None:
    short = pd.DataFrame(
        {
            "request_id": ["R1", "R1", "R2", "R3"],
            "case_id": ["kr-seoul-topis", "kr-atsc", "kr-seoul-topis", "kr-songdo"],
            "city": ["Seoul", "National", "Seoul", "Songdo (Incheon)"],
        }
    )
    by_city = case_references(short, by="city")
    fig = charts.case_references_chart(by_city)
    ax = fig.axes[0]
    assert _tick_labels(ax) == ["National", "Seoul", "Busan", "Sejong", "Songdo", "Others"]
    assert [b.get_width() for b in _bars(ax)] == [1, 2, 0, 0, 1, 0]
    assert "2 (1 case)" in [t.get_text() for t in ax.texts]
    by_theme = case_references(short, by="theme")
    ax = charts.case_references_chart(by_theme).axes[0]
    referenced = by_theme[by_theme["references"] > 0]
    # themes without references are left out; codes read as words
    assert _tick_labels(ax) == referenced["theme"].str.replace("_", " ").tolist()
    assert [b.get_width() for b in _bars(ax)] == referenced["references"].tolist()




def test_expert_load_chart() -> None:
    assignment, bookings = small_plan()
    load = expert_load(assignment, bookings)
    ax = charts.expert_load_chart(load).axes[0]
    assert _tick_labels(ax) == ["Kim <b> (E1)", "Lee (E2)"]  # the alternate E3 carries no load
    assert [b.get_width() for b in _bars(ax)] == [13, 5]
    notes = [t.get_text() for t in ax.texts]
    assert notes == ["13 days, 2 engagements", "5 days, 1 engagement"]


def test_calendar_chart_bars_are_the_booked_spans() -> None:
    assignment, bookings = small_plan()
    fig = charts.calendar_chart(bookings, assignment=assignment)
    ax = fig.axes[0]
    # One row per engagement, an expert's rows together and named once.
    assert _tick_labels(ax) == ["Kim <b> (E1)", "", "Lee (E2)"]
    spans = booking_spans(bookings)
    assert len(spans) == 4  # E1/R1 one span over the weekend; E1/R2 split by a free week; E2/R2 one span
    bars = sorted(_bars(ax), key=lambda b: (b.get_y(), b.get_x()))
    rows = {("E1", "R1"): 0, ("E1", "R2"): 1, ("E2", "R2"): 2}
    expected = sorted(
        (
            rows[(row.expert_id, row.request_id)],
            mdates.date2num(row.start),
            mdates.date2num(row.end + pd.Timedelta(days=1)) - mdates.date2num(row.start),
        )
        for row in spans.itertuples()
    )
    got = [(round(b.get_y() + b.get_height() / 2), float(b.get_x()), float(b.get_width())) for b in bars]
    assert got == expected
    assert [w for _, _, w in got] == [10.0, 3.0, 2.0, 5.0]  # Mon 1 to Wed 10 March is ten calendar days
    assert [t.get_text() for t in ax.texts] == ["R1", "R2", "R2"]  # each engagement labelled with its request
    colors = {to_hex(b.get_facecolor()) for b in bars}
    assert len(colors) == 2  # one colour per request
    fig.canvas.draw()
    ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert ticks[:4] == ["01 Mar", "08 Mar", "15 Mar", "22 Mar"]
    assert ax.get_xlabel() == "Mar 2027"


def test_calendar_axis_reads_month_and_year() -> None:
    days = pd.bdate_range("2027-02-01", "2027-06-30")
    bookings = pd.DataFrame({"expert_id": "E1", "request_id": "R1", "date": days})
    ax = charts.calendar_chart(bookings).axes[0]
    ax.figure.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert labels and all(re.fullmatch(r"[A-Z][a-z]{2} 2027", t) for t in labels), labels


def test_calendar_without_names_and_empty() -> None:
    _, bookings = small_plan()
    ax = charts.calendar_chart(bookings).axes[0]
    assert _tick_labels(ax) == ["E1", "", "E2"]
    empty = bookings.iloc[:0]
    ax = charts.calendar_chart(empty).axes[0]
    assert _bars(ax) == [] and ax.texts[0].get_text() == "no booked days"
    ax = charts.expert_load_chart(expert_load(small_plan()[0].iloc[:0])).axes[0]
    assert _bars(ax) == [] and ax.texts[0].get_text() == "no assigned experts"


def test_charts_leave_pyplot_alone(round_tables: dict[str, pd.DataFrame]) -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    backend = matplotlib.get_backend()
    fig = charts.request_counts_chart(request_counts(round_tables["requests"], by="region"))
    assert plt.get_fignums() == before and matplotlib.get_backend() == backend
    assert type(fig.canvas).__name__ == "FigureCanvasAgg"
    fig.canvas.draw()  # renders without a display
    assert np.asarray(fig.canvas.buffer_rgba()).shape[2] == 4


def test_calendar_of_a_large_round_uses_few_colours_and_labels_every_bar() -> None:
    days = pd.bdate_range("2027-03-01", periods=2)
    bookings = pd.DataFrame(
        [(f"E{i:02d}", f"R{i:02d}", d) for i in range(30) for d in days], columns=["expert_id", "request_id", "date"]
    )
    ax = charts.calendar_chart(bookings).axes[0]
    assert ax.get_legend() is None and len(_bars(ax)) == 30
    assert {to_hex(b.get_facecolor()) for b in _bars(ax)} == {c.lower() for c in charts.CALENDAR_COLORS}
    assert sorted(t.get_text() for t in ax.texts) == [f"R{i:02d}" for i in range(30)]


DOLLAR_NAMES = ["Kim $x^2$ (fictional)", "$\\frac{$", "Lee $5 $ and $$"]


def _svg_text(fig: Figure) -> str:
    import io

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        fig.savefig(buffer, format="svg")
    return buffer.getvalue()


def test_dollar_signs_in_names_are_drawn_as_text_not_mathtext() -> None:
    # Before: "$\frac{$" raised a mathtext ParseException and "$x^2$" lost its dollar signs (drawn as x squared).
    ids = [f"E{i}" for i in range(len(DOLLAR_NAMES))]
    assignment = pd.DataFrame(
        {"request_id": ["R$1$"] * 3, "expert_id": ids, "name": DOLLAR_NAMES, "role": "assigned", "rank": [1, 2, 3]}
    )
    days = pd.bdate_range("2027-03-01", periods=3)
    bookings = pd.DataFrame([(e, "R$1$", d) for e in ids for d in days], columns=["expert_id", "request_id", "date"])
    load = expert_load(assignment, bookings)
    for fig in (charts.expert_load_chart(load), charts.calendar_chart(bookings, assignment=assignment)):
        svg = _svg_text(fig)
        for name, expert_id in zip(DOLLAR_NAMES, ids, strict=True):
            assert f"{name} ({expert_id})".replace("&", "&amp;") in svg
        assert "\\$" not in svg
    counts = pd.DataFrame({"practice_group": ["$a$ group", "$\\frac{$"], "requests": [2, 1]})
    svg = _svg_text(charts.request_counts_chart(counts))
    assert "$a$ group" in svg and "$\\frac{$" in svg
