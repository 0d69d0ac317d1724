"""Charts of a round, with matplotlib: demand against supply by theme, requests by category, references to Korean
cases, and the round plan (expert load and calendar).

Each chart is a function that takes the tables of :mod:`gscp_match.report._analysis` (or the round plan's), draws on the
given ``ax`` or on a new figure, and returns the :class:`~matplotlib.figure.Figure`. New figures are plain
:class:`~matplotlib.figure.Figure` objects with an Agg canvas: nothing touches pyplot's global state or the
notebook's backend, nothing is shown; a notebook displays the returned figure, a script saves it
(``fig.savefig("chart.png")``).

>>> import pandas as pd
>>> from gscp_match.report._analysis import request_counts
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

from gscp_match.report._analysis import booking_spans
from gscp_match.report._style import CALENDAR_COLORS, COLORS
from gscp_match.report._style import LABELS as _LABELS
from gscp_match.report._style import expert_label as _expert_label

__all__ = [
    "CALENDAR_COLORS",
    "COLORS",
    "WIDTH",
    "calendar_chart",
    "case_references_chart",
    "demand_supply_chart",
    "expert_load_chart",
    "request_counts_chart",
]

#: Width of every new figure, in inches: scaled to a 390 px phone screen its 10 pt text stays above 9 px.
WIDTH = 5.2
_FONT = 10.0  # ticks, axis labels, legends and bar notes
_TITLE = 11.0


def _safe(text: object) -> str:
    """Text drawn as it is: a ``$`` is a dollar sign, never the start of matplotlib mathtext."""
    return str(text).replace("$", r"\$")


def _theme(code: object) -> str:
    return _safe(str(code).replace("_", " "))


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


def _style(ax: Axes, title: str) -> None:
    ax.set_title(_safe(title), fontsize=_TITLE)
    ax.tick_params(labelsize=_FONT)
    ax.xaxis.label.set_fontsize(_FONT)
    ax.yaxis.label.set_fontsize(_FONT)
    ax.spines[["top", "right"]].set_visible(False)


def _height(n_rows: int, *, most: float = 14.0) -> float:
    return min(max(2.2, 1.0 + 0.3 * n_rows), most)


def _no_data(ax: Axes, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color=COLORS["text"], fontsize=_FONT)
    ax.set_xticks([])
    ax.set_yticks([])


def demand_supply_chart(table: pd.DataFrame, *, ax: Axes | None = None, all_themes: bool = False) -> Figure:
    """Experts covering each theme (Korean and other) beside the requests asking for it, gaps highlighted.

    Parameters
    ----------
    table : DataFrame
        :func:`gscp_match.report._analysis.demand_supply`.
    ax : Axes, optional
        Where to draw the experts panel (the requests panel is added to its right); default: a new figure.
    all_themes : bool
        Show themes nobody asks for and nobody covers too.

    Returns
    -------
    Figure
        Themes top to bottom, in two panels that share them, each with its own count axis: experts (Korean
        stacked with other; ``fig.axes[0]``) and requests (``fig.axes[1]``). A gap theme has its requests bar and
        its label in the gap colour.
    """
    rows = table if all_themes else table[(table["requests"] > 0) | (table["experts"] > 0)]
    rows = rows.reset_index(drop=True)
    height = _height(len(rows)) + 0.6
    if ax is None:
        figure = Figure(figsize=(WIDTH, height), layout="constrained")
        FigureCanvasAgg(figure)
        ax, right = figure.subplots(1, 2, sharey=True, width_ratios=(1.6, 1.0))
    else:
        figure, ax = _figure_and_axes(ax, width=WIDTH, height=height)
        from mpl_toolkits.axes_grid1 import make_axes_locatable

        right = make_axes_locatable(ax).append_axes("right", size="60%", pad=0.15, sharey=ax)
    figure.suptitle("Demand and supply by theme", fontsize=_TITLE)
    _style(ax, "Experts")
    _style(right, "Requests")
    if rows.empty:
        _no_data(ax, "no themes in the requests or the roster")
        right.set_axis_off()
        return figure
    y = np.arange(len(rows), dtype=float)
    korean = rows["korean_experts"].to_numpy(dtype=float)
    other = rows["experts"].to_numpy(dtype=float) - korean
    requests = rows["requests"].to_numpy(dtype=float)
    gap = rows["gap"].to_numpy(dtype=bool)
    ax.barh(y, korean, height=0.6, color=COLORS["korean"], label="with Korean experience")
    ax.barh(y, other, height=0.6, left=korean, color=COLORS["other"], label="other experts")
    ax.set_xlabel("experts")
    ax.set_yticks(y, [_theme(t) for t in rows["theme"]])
    for label, is_gap in zip(ax.get_yticklabels(), gap, strict=True):
        if is_gap:
            label.set_color(COLORS["gap"])
            label.set_fontweight("bold")
    ax.set_ylim(len(rows) - 0.5, -0.5)  # first theme on top
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
    colors = np.where(gap, COLORS["gap"], COLORS["requests"]).tolist()
    right.barh(y, requests, height=0.6, color=colors)
    right.set_xlabel("requests")
    right.set_xlim(0, max(1.0, float(requests.max()) * 1.15))
    right.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
    right.tick_params(axis="y", left=False, labelleft=False)
    handles = [
        Patch(color=COLORS["korean"], label="experts with Korean experience"),
        Patch(color=COLORS["other"], label="other experts"),
    ]
    if gap.any():
        handles.append(Patch(color=COLORS["gap"], label="gap: too few experts"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.0, -0.1 - 0.6 / height), fontsize=_FONT,
              frameon=False, ncol=1)  # fmt: skip
    return figure


def _count_bars(
    ax: Axes, labels: list[str], values: np.ndarray, *, notes: list[str] | None = None, room: float = 1.9
) -> None:
    y = np.arange(len(labels), dtype=float)
    bars = ax.barh(y, values, height=0.6, color=COLORS["bars"])
    ax.set_yticks(y, [_safe(label) for label in labels])
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.bar_label(bars, labels=[_safe(n) for n in notes or [str(int(v)) for v in values]], padding=3, fontsize=_FONT)
    ax.set_xlim(0, max(1.0, float(values.max(initial=0)) * (room if notes else 1.25)))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))


def request_counts_chart(counts: pd.DataFrame, *, ax: Axes | None = None, title: str | None = None) -> Figure:
    """Requests by region, practice group or support type, as horizontal bars.

    Parameters
    ----------
    counts : DataFrame
        :func:`gscp_match.report._analysis.request_counts`: the category column, then ``requests``.
    ax : Axes, optional
    title : str, optional
        Default: ``Requests by <category>``.
    """
    by = str(counts.columns[0])
    figure, ax = _figure_and_axes(ax, width=WIDTH, height=_height(len(counts)))
    _style(ax, title or f"Requests by {_LABELS.get(by, by)}")
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
        :func:`gscp_match.report._analysis.case_references`: ``city_group`` or ``theme``, ``references``, ``cases``.
        City
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
    figure, ax = _figure_and_axes(ax, width=WIDTH, height=_height(len(rows)))
    _style(ax, title or f"References to Korean cases by {'city' if by == 'city_group' else 'theme'}")
    if rows.empty:
        _no_data(ax, "no case references")
        return figure
    values = rows["references"].to_numpy(dtype=float)
    notes = [
        f"{int(r)} ({int(c)} {'case' if int(c) == 1 else 'cases'})" for r, c in zip(values, rows["cases"], strict=True)
    ]
    labels = [str(v) if by == "city_group" else str(v).replace("_", " ") for v in rows[by]]
    _count_bars(ax, labels, values, notes=notes)
    ax.set_xlabel("references in shortlists (distinct cases)")
    return figure


def expert_load_chart(load: pd.DataFrame, *, ax: Axes | None = None) -> Figure:
    """Booked working days of each assigned expert, with the number of engagements.

    Parameters
    ----------
    load : DataFrame
        :func:`gscp_match.report._analysis.expert_load`.
    ax : Axes, optional

    Returns
    -------
    Figure
        One bar per expert (``name (id)``), length = booked days, labelled ``days, engagements``.
    """
    figure, ax = _figure_and_axes(ax, width=WIDTH, height=_height(len(load), most=60.0))
    _style(ax, "Expert load in the round")
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
    _count_bars(ax, labels, days, notes=notes, room=2.8)
    ax.set_xlabel("booked working days")
    return figure


def calendar_chart(bookings: pd.DataFrame, *, assignment: pd.DataFrame | None = None, ax: Axes | None = None) -> Figure:
    """Who is booked when: one row per engagement, one bar per stretch of booked working days, labelled by request.

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
        One row per engagement (expert and request; an expert's rows together, named once), a bar per
        :func:`gscp_match.report._analysis.booking_spans` span from its first day to the end of its last day (matplotlib
        date numbers), coloured by request from :data:`CALENDAR_COLORS` (cycled) and labelled with the request id.
        The date axis reads ``May 2027``.
    """
    spans = booking_spans(bookings)
    engagements = spans.drop_duplicates(["expert_id", "request_id"])[["expert_id", "request_id"]]
    engagements = engagements.merge(spans.groupby(["expert_id", "request_id"], as_index=False)["start"].min())
    engagements = engagements.sort_values(["expert_id", "start", "request_id"], kind="stable").reset_index(drop=True)
    figure, ax = _figure_and_axes(ax, width=WIDTH, height=_height(len(engagements), most=60.0) + 0.4)
    _style(ax, "Round calendar: booked working days")
    if spans.empty:
        _no_data(ax, "no booked days")
        return figure
    names: dict[str, object] = {}
    if assignment is not None and len(assignment):
        names = dict(zip(assignment["expert_id"].astype(str), assignment["name"], strict=False))
    row = {(e, r): i for i, (e, r) in enumerate(zip(engagements["expert_id"], engagements["request_id"], strict=True))}
    requests = sorted(spans["request_id"].unique().tolist())
    start = mdates.date2num(spans["start"].to_numpy(dtype="datetime64[ns]"))
    end = mdates.date2num((spans["end"] + pd.Timedelta(days=1)).to_numpy(dtype="datetime64[ns]"))
    y = np.array([row[(e, r)] for e, r in zip(spans["expert_id"], spans["request_id"], strict=True)], dtype=float)
    for i, request in enumerate(requests):
        mine = (spans["request_id"] == request).to_numpy()
        ax.barh(
            y[mine], end[mine] - start[mine], left=start[mine], height=0.6,
            color=CALENDAR_COLORS[i % len(CALENDAR_COLORS)], label=_safe(request),
        )  # fmt: skip
    # One engagement per row: its request is written after its last bar, so colours need no legend to be read.
    last = spans.groupby(["expert_id", "request_id"], sort=False)["end"].idxmax().to_numpy()
    for x, yy, request in zip(end[last], y[last], spans["request_id"].to_numpy()[last], strict=True):
        ax.text(x + 0.8, yy, _safe(request), va="center", ha="left", fontsize=_FONT, color=COLORS["text"])
    labels, previous = [], None
    for expert in engagements["expert_id"]:
        labels.append("" if expert == previous else _safe(_expert_label(expert, names.get(expert))))
        previous = expert
    ax.set_yticks(np.arange(len(engagements)), labels)
    ax.set_ylim(len(engagements) - 0.5, -0.5)
    for i in np.flatnonzero(engagements["expert_id"].ne(engagements["expert_id"].shift()).to_numpy())[1:]:
        ax.axhline(i - 0.5, color="#d0d7de", linewidth=0.8)
    ax.xaxis_date()
    lo, hi = float(start.min()), float(end.max())
    if hi - lo > 75:
        months = (hi - lo) / 30.4
        ax.xaxis.set_major_locator(mdates.MonthLocator(interval=max(1, math.ceil(months / 3.5))))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
        ax.xaxis.set_minor_locator(mdates.WeekdayLocator(byweekday=mdates.MO))
    else:
        ax.xaxis.set_major_locator(mdates.WeekdayLocator(byweekday=mdates.MO, interval=2 if hi - lo > 35 else 1))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
        ax.set_xlabel(_safe(" to ".join(sorted({mdates.num2date(v).strftime("%b %Y") for v in (lo, hi)}))))
    ax.set_xlim(lo - 2, hi + 0.2 * (hi - lo) + 6)
    ax.grid(axis="x", alpha=0.3)
    return figure
