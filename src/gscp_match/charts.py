"""Charts of a round, with matplotlib: demand against supply by theme, requests by category, references to Korean
cases, and the round plan (expert load and calendar).

Each chart is a function that takes the tables of :mod:`gscp_match.analysis` (or the round plan's), draws on the
given ``ax`` or on a new figure, and returns the :class:`~matplotlib.figure.Figure`. New figures are plain
:class:`~matplotlib.figure.Figure` objects with an Agg canvas: nothing touches pyplot's global state or the
notebook's backend, nothing is shown; a notebook displays the returned figure, a script saves it
(``fig.savefig("chart.png")``).

>>> import pandas as pd
>>> from gscp_match.analysis import request_counts
>>> counts = request_counts(pd.DataFrame({"support_type": ["JIT", "OS", "JIT"]}), by="support_type")
>>> fig = request_counts_chart(counts)
>>> [round(bar.get_width()) for bar in fig.axes[0].patches]
[2, 1]
"""

from __future__ import annotations

import math

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure, SubFigure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from .analysis import booking_spans

__all__ = [
    "COLORS",
    "calendar_chart",
    "case_references_chart",
    "demand_supply_chart",
    "expert_load_chart",
    "request_counts_chart",
]

#: Colours of the charts (colour-blind safe: Okabe-Ito).
COLORS: dict[str, str] = {
    "requests": "#7f7f7f",
    "korean": "#0072B2",
    "other": "#56B4E9",
    "gap": "#D55E00",
    "bars": "#009E73",
    "text": "#222222",
}
# Request colours in the calendar (Okabe-Ito, then tab20 for larger rounds).
_CYCLE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")

_MAX_LEGEND = 24  # requests named in the calendar's legend; a larger round is told apart by colour only

_LABELS = {"region": "region", "practice_group": "practice group", "support_type": "support type"}


def _figure_and_axes(ax: Axes | None, *, width: float, height: float) -> tuple[Figure, Axes]:
    if ax is not None:
        figure = ax.figure
        while isinstance(figure, SubFigure):
            figure = figure.figure
        if not isinstance(figure, Figure):  # pragma: no cover - an Axes always lives in a figure
            raise ValueError("ax does not belong to a figure")
        return figure, ax
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def _height(n_rows: int, *, most: float = 14.0) -> float:
    return min(max(2.2, 0.8 + 0.3 * n_rows), most)


def _no_data(ax: Axes, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color=COLORS["text"])
    ax.set_xticks([])
    ax.set_yticks([])


def demand_supply_chart(table: pd.DataFrame, *, ax: Axes | None = None, all_themes: bool = False) -> Figure:
    """Requests asking for each theme against the experts covering it (Korean and other), gaps highlighted.

    Parameters
    ----------
    table : DataFrame
        :func:`gscp_match.analysis.demand_supply`.
    ax : Axes, optional
        Where to draw (a second x axis for the requests is added on top of it); default: a new figure.
    all_themes : bool
        Show themes nobody asks for and nobody covers too.

    Returns
    -------
    Figure
        Themes top to bottom; per theme an experts bar (Korean stacked with other, bottom axis) and a requests bar
        (top axis). A gap theme has its requests bar and its label in the gap colour.
    """
    rows = table if all_themes else table[(table["requests"] > 0) | (table["experts"] > 0)]
    rows = rows.reset_index(drop=True)
    figure, ax = _figure_and_axes(ax, width=8.0, height=_height(len(rows)))
    ax.set_title("Demand and supply by theme")
    if rows.empty:
        _no_data(ax, "no themes in the requests or the roster")
        return figure
    y = np.arange(len(rows), dtype=float)
    korean = rows["korean_experts"].to_numpy(dtype=float)
    other = rows["experts"].to_numpy(dtype=float) - korean
    requests = rows["requests"].to_numpy(dtype=float)
    gap = rows["gap"].to_numpy(dtype=bool)
    ax.barh(y + 0.2, korean, height=0.38, color=COLORS["korean"], label="experts with Korean experience")
    ax.barh(y + 0.2, other, height=0.38, left=korean, color=COLORS["other"], label="other experts")
    ax.set_xlabel("experts covering the theme")
    ax.set_yticks(y, [str(t) for t in rows["theme"]])
    for label, is_gap in zip(ax.get_yticklabels(), gap, strict=True):
        if is_gap:
            label.set_color(COLORS["gap"])
            label.set_fontweight("bold")
    ax.set_ylim(len(rows) - 0.4, -0.6)  # first theme on top

    top = ax.twiny()
    colors = np.where(gap, COLORS["gap"], COLORS["requests"]).tolist()
    top.barh(y - 0.2, requests, height=0.38, color=colors, label="requests asking for it")
    top.set_xlabel("requests asking for the theme")
    top.set_xlim(0, max(1.0, float(requests.max()) * 1.15))
    top.xaxis.set_major_locator(MaxNLocator(integer=True))
    top.set_ylim(ax.get_ylim())
    handles = [
        Patch(color=COLORS["requests"], label="requests asking for it (top axis)"),
        Patch(color=COLORS["korean"], label="experts with Korean experience"),
        Patch(color=COLORS["other"], label="other experts"),
    ]
    if gap.any():
        handles.append(Patch(color=COLORS["gap"], label="gap: too few experts for the requests"))
    ax.legend(handles=handles, loc="lower right", fontsize="small")
    return figure


def _count_bars(ax: Axes, labels: list[str], values: np.ndarray, *, notes: list[str] | None = None) -> None:
    y = np.arange(len(labels), dtype=float)
    bars = ax.barh(y, values, height=0.6, color=COLORS["bars"])
    ax.set_yticks(y, labels)
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.bar_label(bars, labels=notes or [str(int(v)) for v in values], padding=3, fontsize="small")
    ax.set_xlim(0, max(1.0, float(values.max(initial=0)) * (1.5 if notes else 1.2)))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def request_counts_chart(counts: pd.DataFrame, *, ax: Axes | None = None, title: str | None = None) -> Figure:
    """Requests by region, practice group or support type, as horizontal bars.

    Parameters
    ----------
    counts : DataFrame
        :func:`gscp_match.analysis.request_counts`: the category column, then ``requests``.
    ax : Axes, optional
    title : str, optional
        Default: ``Requests by <category>``.
    """
    by = str(counts.columns[0])
    figure, ax = _figure_and_axes(ax, width=5.0, height=_height(len(counts)))
    ax.set_title(title or f"Requests by {_LABELS.get(by, by)}")
    if counts.empty:
        _no_data(ax, "no requests")
        return figure
    _count_bars(ax, [str(v) for v in counts[by]], counts["requests"].to_numpy(dtype=float))
    ax.set_xlabel("requests")
    return figure


def case_references_chart(counts: pd.DataFrame, *, ax: Axes | None = None, title: str | None = None) -> Figure:
    """References to Korean cases in the round's shortlists, by city group or by theme.

    Parameters
    ----------
    counts : DataFrame
        :func:`gscp_match.analysis.case_references`: ``city_group`` or ``theme``, ``references``, ``cases``. City
        groups are all shown; themes only when referenced.
    ax : Axes, optional
    title : str, optional
        Default: ``References to Korean cases by city`` (or ``by theme``).

    Returns
    -------
    Figure
        One bar per group, labelled ``references (cases)``.
    """
    by = str(counts.columns[0])
    rows = counts if by == "city_group" else counts[counts["references"] > 0]
    figure, ax = _figure_and_axes(ax, width=6.0, height=_height(len(rows)))
    ax.set_title(title or f"References to Korean cases by {'city' if by == 'city_group' else 'theme'}")
    if rows.empty:
        _no_data(ax, "no case references")
        return figure
    values = rows["references"].to_numpy(dtype=float)
    notes = [
        f"{int(r)} ({int(c)} {'case' if int(c) == 1 else 'cases'})" for r, c in zip(values, rows["cases"], strict=True)
    ]
    _count_bars(ax, [str(v) for v in rows[by]], values, notes=notes)
    ax.set_xlabel("references in shortlists (distinct cases)")
    return figure


def _expert_label(expert_id: str, name: object) -> str:
    text = "" if name is None or (isinstance(name, float) and math.isnan(name)) else str(name)
    return f"{text} ({expert_id})" if text and text != expert_id else expert_id


def expert_load_chart(load: pd.DataFrame, *, ax: Axes | None = None) -> Figure:
    """Booked working days of each assigned expert, with the number of engagements.

    Parameters
    ----------
    load : DataFrame
        :func:`gscp_match.analysis.expert_load`.
    ax : Axes, optional

    Returns
    -------
    Figure
        One bar per expert (``name (id)``), length = booked days, labelled ``days, engagements``.
    """
    figure, ax = _figure_and_axes(ax, width=7.0, height=_height(len(load), most=60.0))
    ax.set_title("Expert load in the round")
    if load.empty:
        _no_data(ax, "no assigned experts")
        return figure
    labels = [_expert_label(str(e), n) for e, n in zip(load["expert_id"], load["name"], strict=True)]
    days = load["booked_days"].to_numpy(dtype=float)
    engagements = load["engagements"].to_numpy(dtype=np.int64)
    notes = [
        f"{int(d)} days, {n} {'engagement' if n == 1 else 'engagements'}"
        for d, n in zip(days, engagements, strict=True)
    ]
    _count_bars(ax, labels, days, notes=notes)
    ax.set_xlabel("booked working days")
    return figure


def calendar_chart(bookings: pd.DataFrame, *, assignment: pd.DataFrame | None = None, ax: Axes | None = None) -> Figure:
    """Who is booked when: one row per expert, one bar per stretch of booked working days, coloured by request.

    Parameters
    ----------
    bookings : DataFrame
        ``RoundPlan.bookings``: ``expert_id, request_id, date`` (one row per booked working day).
    assignment : DataFrame, optional
        ``RoundPlan.assignment``, for the experts' names.
    ax : Axes, optional

    Returns
    -------
    Figure
        A bar per :func:`gscp_match.analysis.booking_spans` span, from its first day to the end of its last day
        (matplotlib date numbers), labelled by request in the legend (rounds of up to 24 requests).
    """
    spans = booking_spans(bookings)
    experts = sorted(spans["expert_id"].unique().tolist())
    figure, ax = _figure_and_axes(ax, width=9.0, height=_height(len(experts), most=60.0))
    ax.set_title("Round calendar: booked working days")
    if spans.empty:
        _no_data(ax, "no booked days")
        return figure
    names: dict[str, object] = {}
    if assignment is not None and len(assignment):
        names = dict(zip(assignment["expert_id"].astype(str), assignment["name"], strict=False))
    row = {expert: i for i, expert in enumerate(experts)}
    requests = sorted(spans["request_id"].unique().tolist())
    palette = _CYCLE if len(requests) <= len(_CYCLE) else tuple(_tab20(len(requests)))
    start = mdates.date2num(spans["start"].to_numpy(dtype="datetime64[ns]"))
    end = mdates.date2num((spans["end"] + pd.Timedelta(days=1)).to_numpy(dtype="datetime64[ns]"))
    y = spans["expert_id"].map(row).to_numpy(dtype=float)
    for i, request in enumerate(requests):
        mine = (spans["request_id"] == request).to_numpy()
        ax.barh(
            y[mine], end[mine] - start[mine], left=start[mine], height=0.6, color=palette[i % len(palette)],
            label=str(request),
        )  # fmt: skip
    ax.set_yticks(np.arange(len(experts)), [_expert_label(e, names.get(e)) for e in experts])
    ax.set_ylim(len(experts) - 0.5, -0.5)
    ax.xaxis_date()
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.grid(axis="x", alpha=0.3)
    if len(requests) <= _MAX_LEGEND:
        ax.legend(title="request", loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    return figure


def _tab20(n: int) -> list[str]:
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    cmap = colormaps["tab20"]
    return [to_hex(cmap(i % 20)) for i in range(n)]
