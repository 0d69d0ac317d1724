"""Charts of a round as inline SVG, written as text: the HTML report's pictures without matplotlib.

Each writer takes a table of :mod:`gscp_match.report._analysis` (or the round plan's) and returns one ``<svg>``
element as a string, showing what the matching :mod:`gscp_match.report._charts` figure shows: horizontal bars with
their values written beside them, an axis, a legend where the figure has one, the same colours
(:data:`gscp_match.report._style.COLORS`, :data:`~gscp_match.report._style.CALENDAR_COLORS`).

Layout needs no font: a label's width is estimated from its characters with widths at least those of DejaVu Sans
(the widest common sans-serif), labels sit in their own column (right-aligned, so an overestimate only leaves
space) and wrap at spaces onto more lines rather than being cut. Every text is escaped (:func:`html.escape`). The
element has a ``viewBox`` and a natural size of :data:`WIDTH` px, so it shrinks with a phone's screen (``max-width:
100%; height: auto`` in the page's CSS) and its 13 px text stays above 9 px at 390 px; ``role="img"``, an
``aria-label`` and a ``<title>`` name it for screen readers. No ids, no URLs: many charts fit in one page.

>>> import pandas as pd
>>> from gscp_match.report._analysis import request_counts
>>> counts = request_counts(pd.DataFrame({"support_type": ["JIT", "OS", "JIT"]}), by="support_type")
>>> svg = request_counts_svg(counts)
>>> svg.count('class="bar"'), ">JIT<" in svg, ">2<" in svg
(2, True, True)
"""

from __future__ import annotations

import html
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gscp_match.report._analysis import booking_spans
from gscp_match.report._style import CALENDAR_COLORS, COLORS, LABELS, expert_label

__all__ = [
    "WIDTH",
    "bar_chart_svg",
    "calendar_svg",
    "case_references_svg",
    "demand_supply_svg",
    "expert_load_svg",
    "request_counts_svg",
    "text_width",
]

#: Natural width of every chart, px (also its ``viewBox`` width).
WIDTH = 480
FONT = 13.0  # labels, values, ticks, legends
TITLE = 15.0
PAD = 8.0  # around the chart
GAP = 8.0  # between a label column and its bars
ROW = 22.0  # a row of one line
LINE = 16.0  # each further line of a wrapped label
BAR = 13.0  # bar thickness
AXIS = "#57606a"
GRID = "#e5e7eb"
SEPARATOR = "#d0d7de"
_FAMILY = 'system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif'

_THIN = set(" ijlI.,'|")
_NARROW = set('!:;ftrJ()[]-/\\"')
_WIDE = set("mwMW@%")
_SYMBOL = set("<>=+~^#&*?_")
_CAPS = set("OQGDHNUCAVXKRBZ")  # the wider capitals; the others (E F L P S T Y) are narrower


def text_width(text: str, size: float = FONT, *, bold: bool = False) -> float:
    """A safe (over-)estimate of the width of ``text`` in px at font ``size``, from its characters.

    The per-character widths are at least DejaVu Sans's (lowercase and digits 0.64 em, capitals 0.66 or 0.8 em,
    ``m w M W @ %`` and East Asian wide characters 1 em, other scripts 0.9 em; an accented letter counts as
    its base letter); bold adds 15 %.

    >>> text_width("ii") < text_width("mm")
    True
    """
    total = 0.0
    for char in text:
        base = unicodedata.normalize("NFKD", char)[:1] or char  # an accented Latin letter is as wide as its base
        if unicodedata.east_asian_width(char) in ("W", "F") or base in _WIDE:
            total += 1.0
        elif not base.isascii():
            total += 0.9  # Greek, Cyrillic, ...: a few letters reach 0.87 em
        elif base in _THIN:
            total += 0.34
        elif base in _NARROW:
            total += 0.46
        elif base in _SYMBOL:
            total += 0.86
        elif base in _CAPS:
            total += 0.8
        elif base.isupper():
            total += 0.66
        else:
            total += 0.64
    return total * size * (1.15 if bold else 1.0)


def _wrap(text: str, width: float, *, bold: bool = False) -> list[str]:
    """``text`` in lines no wider than ``width`` (estimated), broken at spaces; a word too long alone is split."""
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if text_width(candidate, bold=bold) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = ""
        while text_width(word, bold=bold) > width and len(word) > 1:
            cut = len(word)
            while cut > 1 and text_width(word[:cut], bold=bold) > width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    lines.append(current)
    return lines


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _text(x: float, y: float, text: str, *, anchor: str = "start", size: float = FONT, color: str = "",
          bold: bool = False) -> str:  # fmt: skip
    """One line of text whose middle is at height ``y``."""
    attrs = f'x="{_n(x)}" y="{_n(y + 0.35 * size)}"'
    if anchor != "start":
        attrs += f' text-anchor="{anchor}"'
    if size != FONT:
        attrs += f' font-size="{_n(size)}"'
    if color:
        attrs += f' fill="{color}"'
    if bold:
        attrs += ' font-weight="bold"'
    return f"<text {attrs}>{_e(text)}</text>"


def _lines(x: float, y: float, lines: Sequence[str], *, anchor: str, color: str = "", bold: bool = False) -> str:
    """Lines of text centred as a block on height ``y``."""
    if len(lines) == 1:
        return _text(x, y, lines[0], anchor=anchor, color=color, bold=bold)
    first = y - LINE * (len(lines) - 1) / 2
    spans = "".join(
        f'<tspan x="{_n(x)}" y="{_n(first + i * LINE + 0.35 * FONT)}">{_e(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    attrs = f'text-anchor="{anchor}"' + (f' fill="{color}"' if color else "") + (' font-weight="bold"' if bold else "")
    return f"<text {attrs}>{spans}</text>"


def _svg(body: Sequence[str], height: float, label: str) -> str:
    height = math.ceil(height)
    return (
        f'<svg viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" aria-label="{_e(label)}" '
        f'font-family="{_e(_FAMILY)}" font-size="{_n(FONT)}" fill="{COLORS["text"]}"><title>{_e(label)}</title>'
        + "".join(body)
        + "</svg>"
    )


def _nothing(title: str, label: str, message: str) -> str:
    body = [_text(WIDTH / 2, PAD + TITLE / 2 + 2, title, anchor="middle", size=TITLE)]
    body.append(_text(WIDTH / 2, PAD + TITLE + 30, message, anchor="middle", color=AXIS))
    return _svg(body, PAD + TITLE + 50, label)


@dataclass(frozen=True, slots=True)
class _Rows:
    """Where each row is: its wrapped label, the middle of its bar, and the bottom of the last row."""

    labels: list[list[str]]
    middles: list[float]
    bottom: float
    label_width: float


def _rows(
    labels: Sequence[str],
    top: float,
    *,
    most: float,
    bold: Sequence[bool] | None = None,
    notes: Sequence[int] | None = None,
) -> _Rows:
    """Rows tall enough for their labels wrapped to at most ``most`` px (and for ``notes`` lines, if given)."""
    bold = bold or [False] * len(labels)
    width = min(max((text_width(t, bold=b) for t, b in zip(labels, bold, strict=True)), default=0.0), most)
    wrapped = [_wrap(t, width, bold=b) for t, b in zip(labels, bold, strict=True)]
    middles, y = [], top
    for lines, more in zip(wrapped, notes or [1] * len(labels), strict=True):
        height = max(ROW, LINE * max(len(lines), more) + 6)
        middles.append(y + height / 2)
        y += height
    return _Rows(wrapped, middles, y, width)


def _scale(high: float, pixels: float) -> tuple[float, float]:
    """The axis end (a whole number of steps at or above ``high``) and its integer tick step (1, 2, 5 x 10^k):
    at most 5 steps, tick labels clear of each other over ``pixels``."""
    high = max(float(high), 1.0)
    for exponent in range(0, 12):
        for base in (1, 2, 5):
            step = float(base * 10**exponent)
            end = math.ceil(high / step - 1e-9) * step
            if end / step <= 5 and pixels * step / end >= text_width(f"{int(end)}") + 10:
                return end, step
    return high, high  # pragma: no cover - counts are never that large


def _count_axis(
    x0: float, width: float, high: float, top: float, bottom: float, label: str
) -> tuple[list[str], float, float]:
    """Grid lines, a baseline, integer ticks and ``label`` below, for counts from 0 to at least ``high`` over
    ``width`` px. Returns the SVG pieces, the lowest y used and the count at the axis end."""
    high, step = _scale(high, width)
    ticks = np.arange(0.0, high + 1e-9, step)
    out = []
    for tick in ticks:
        x = x0 + width * tick / high
        if tick > 0:
            out.append(f'<line x1="{_n(x)}" y1="{_n(top)}" x2="{_n(x)}" y2="{_n(bottom)}" stroke="{GRID}"/>')
        out.append(f'<line x1="{_n(x)}" y1="{_n(bottom)}" x2="{_n(x)}" y2="{_n(bottom + 4)}" stroke="{AXIS}"/>')
        out.append(_text(x, bottom + 13, f"{int(tick)}", anchor="middle", color=AXIS))
    out.append(f'<line x1="{_n(x0)}" y1="{_n(top)}" x2="{_n(x0)}" y2="{_n(bottom)}" stroke="{AXIS}"/>')
    out.append(f'<line x1="{_n(x0)}" y1="{_n(bottom)}" x2="{_n(x0 + width)}" y2="{_n(bottom)}" stroke="{AXIS}"/>')
    out.append(_text(x0 + width / 2, bottom + 32, label, anchor="middle"))
    return out, bottom + 32 + FONT, high


def _bars(x0: float, width: float, high: float, middles: Sequence[float], segments: Sequence[Sequence[float]],
          colors: Sequence[Sequence[str]], notes: Sequence[str], tips: Sequence[str]) -> list[str]:  # fmt: skip
    """Each row's bar (stacked segments from ``x0``) and its note after it."""
    high = max(high, 1.0)
    out = []
    for middle, parts, fills, note, tip in zip(middles, segments, colors, notes, tips, strict=True):
        x = x0
        for value, fill in zip(parts, fills, strict=True):
            length = width * float(value) / high
            out.append(
                f'<rect class="bar" x="{_n(x)}" y="{_n(middle - BAR / 2)}" width="{_n(max(length, 0.0))}" '
                f'height="{_n(BAR)}" fill="{fill}"><title>{_e(tip)}</title></rect>'
            )
            x += max(length, 0.0)
        out.append(_text(x + 4, middle, note))
    return out


def bar_chart_svg(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    axis_label: str,
    label: str | None = None,
    notes: Sequence[str] | None = None,
    empty: str = "nothing to show",
) -> str:
    """Horizontal bars, one per label top to bottom, each with its note (default: its value) after it.

    Parameters
    ----------
    labels, values : sequence
        One per bar, in the order shown.
    title, axis_label : str
        Above the chart; under its count axis.
    label : str, optional
        The accessible name (``aria-label`` and ``<title>``); default ``title``.
    notes : sequence of str, optional
        Written after each bar; default the value.
    empty : str
        Shown, under the title, when there are no bars.

    >>> svg = bar_chart_svg(["a & b"], [3], title="T", axis_label="n")
    >>> "a &amp; b" in svg and svg.count("<rect") == 1
    True
    """
    label = label or title
    if len(labels) == 0:
        return _nothing(title, label, empty)
    values = [float(v) for v in values]
    notes = list(notes) if notes is not None else [f"{int(v)}" for v in values]
    top = PAD + TITLE + 12
    rows = _rows([str(t) for t in labels], top, most=0.4 * WIDTH)
    x0 = PAD + rows.label_width + GAP
    width = WIDTH - PAD - x0 - max(text_width(n) for n in notes) - 6
    body = [_text(WIDTH / 2, PAD + TITLE / 2 + 2, title, anchor="middle", size=TITLE)]
    axis, bottom, high = _count_axis(x0, width, max(values), top - 4, rows.bottom + 2, axis_label)
    body += axis
    body += [_lines(x0 - GAP, m, lines, anchor="end") for m, lines in zip(rows.middles, rows.labels, strict=True)]
    tips = [f"{t}: {n}" for t, n in zip(labels, notes, strict=True)]
    body += _bars(x0, width, high, rows.middles, [[v] for v in values], [[COLORS["bars"]]] * len(values), notes, tips)
    return _svg(body, bottom + PAD, label)


def request_counts_svg(counts: pd.DataFrame, *, title: str | None = None) -> str:
    """Requests by region, practice group or support type (:func:`gscp_match.report._analysis.request_counts`),
    as :func:`gscp_match.report._charts.request_counts_chart` draws them."""
    by = str(counts.columns[0])
    title = title or f"Requests by {LABELS.get(by, by)}"
    values = counts["requests"].to_numpy(dtype=float)
    return bar_chart_svg([str(v) for v in counts[by]], values, title=title, axis_label="requests", empty="no requests")


def case_references_svg(counts: pd.DataFrame, *, title: str | None = None) -> str:
    """References to Korean cases by city group (all shown) or by theme (when referenced), each labelled
    ``references (cases)`` (:func:`gscp_match.report._analysis.case_references`)."""
    by = str(counts.columns[0])
    rows = counts if by == "city_group" else counts[counts["references"] > 0]
    title = title or f"References to Korean cases by {'city' if by == 'city_group' else 'theme'}"
    values = rows["references"].to_numpy(dtype=float)
    notes = [
        f"{int(r)} ({int(c)} {'case' if int(c) == 1 else 'cases'})" for r, c in zip(values, rows["cases"], strict=True)
    ]
    labels = [str(v) if by == "city_group" else str(v).replace("_", " ") for v in rows[by]]
    return bar_chart_svg(
        labels, values, title=title, axis_label="references in shortlists (distinct cases)", notes=notes,
        empty="no case references",
    )  # fmt: skip


def expert_load_svg(load: pd.DataFrame) -> str:
    """Booked working days of each assigned expert (``name (id)``), labelled ``days, engagements``
    (:func:`gscp_match.report._analysis.expert_load`)."""
    labels = [expert_label(str(e), n) for e, n in zip(load["expert_id"], load["name"], strict=True)]
    days = load["booked_days"].to_numpy(dtype=float)
    notes = [
        f"{int(d)} days, {int(n)} {'engagement' if int(n) == 1 else 'engagements'}"
        for d, n in zip(days, load["engagements"], strict=True)
    ]
    return bar_chart_svg(
        labels, days, title="Expert load in the round", axis_label="booked working days", notes=notes,
        empty="no assigned experts",
    )  # fmt: skip


def demand_supply_svg(table: pd.DataFrame, *, all_themes: bool = False, label: str | None = None) -> str:
    """Experts covering each theme (Korean stacked with other) beside the requests asking for it, gaps in the gap
    colour and bold (:func:`gscp_match.report._analysis.demand_supply`), as two panels sharing the theme labels,
    each bar with its count, and a legend below.

    Parameters
    ----------
    table : DataFrame
        ``theme, requests, ..., experts, korean_experts, ..., gap``.
    all_themes : bool
        Show themes nobody asks for and nobody covers too.
    label : str, optional
        The accessible name; default the title.
    """
    title = "Demand and supply by theme"
    label = label or title
    rows = table if all_themes else table[(table["requests"] > 0) | (table["experts"] > 0)]
    if rows.empty:
        return _nothing(title, label, "no themes in the requests or the roster")
    themes = [str(t).replace("_", " ") for t in rows["theme"]]
    korean = rows["korean_experts"].to_numpy(dtype=float)
    experts = rows["experts"].to_numpy(dtype=float)
    requests = rows["requests"].to_numpy(dtype=float)
    gap = rows["gap"].to_numpy(dtype=bool)
    top = PAD + TITLE + 12 + FONT + 8  # title, then the panels' titles
    found = _rows(themes, top, most=0.32 * WIDTH, bold=gap.tolist())
    x0 = PAD + found.label_width + GAP
    room = WIDTH - PAD - x0
    expert_notes = [f"{int(n)}" for n in experts]
    request_notes = [f"{int(n)}" for n in requests]
    expert_note_w = max(text_width(n) for n in expert_notes) + 6
    request_note_w = max(text_width(n) for n in request_notes) + 6
    panel_gap = 18.0
    expert_w = (room - panel_gap) * 0.6 - expert_note_w
    x1 = x0 + expert_w + expert_note_w + panel_gap
    request_w = WIDTH - PAD - x1 - request_note_w
    body = [_text(WIDTH / 2, PAD + TITLE / 2 + 2, title, anchor="middle", size=TITLE)]
    panel_title_y = PAD + TITLE + 12 + FONT / 2
    body.append(_text(x0 + expert_w / 2, panel_title_y, "Experts", anchor="middle", bold=True))
    body.append(_text(x1 + request_w / 2, panel_title_y, "Requests", anchor="middle", bold=True))
    axis, bottom, expert_high = _count_axis(x0, expert_w, float(experts.max()), top - 4, found.bottom + 2, "experts")
    body += axis
    axis, _, request_high = _count_axis(x1, request_w, float(requests.max()), top - 4, found.bottom + 2, "requests")
    body += axis
    for middle, lines, is_gap in zip(found.middles, found.labels, gap, strict=True):
        body.append(_lines(x0 - GAP, middle, lines, anchor="end", color=COLORS["gap"] if is_gap else "", bold=is_gap))
    tips = [
        f"{t}: {int(n)} experts, {int(k)} with Korean experience"
        for t, n, k in zip(themes, experts, korean, strict=True)
    ]
    body += _bars(
        x0, expert_w, expert_high, found.middles, [[k, n - k] for k, n in zip(korean, experts, strict=True)],
        [[COLORS["korean"], COLORS["other"]]] * len(themes), expert_notes, tips,
    )  # fmt: skip
    fills = [[COLORS["gap"] if g else COLORS["requests"]] for g in gap]
    tips = [
        f"{t}: {int(n)} requests" + (" (gap: too few experts)" if g else "")
        for t, n, g in zip(themes, requests, gap, strict=True)
    ]
    body += _bars(x1, request_w, request_high, found.middles, [[r] for r in requests], fills, request_notes, tips)
    legend = [(COLORS["korean"], "experts with Korean experience"), (COLORS["other"], "other experts")]
    if gap.any():
        legend.append((COLORS["gap"], "gap: too few experts"))
    y = bottom + 12
    for color, text in legend:
        body.append(f'<rect x="{_n(PAD)}" y="{_n(y - 6)}" width="18" height="12" fill="{color}"/>')
        body.append(_text(PAD + 24, y, text))
        y += LINE + 2
    return _svg(body, y + PAD - LINE / 2, label)


_DAY = np.timedelta64(1, "D")


def _date_ticks(first: np.datetime64, last: np.datetime64, px_per_day: float) -> tuple[list[np.datetime64], str, str]:
    """Ticks from the first to the last booked day, no closer than their labels: month starts (``Mar``) for a
    round over 75 days, else Mondays (``03 May``); the months and years are written under the axis
    (``Feb 2027 to Jun 2027``). Returns the ticks, their strftime format and the axis label."""
    if int((last - first) / _DAY) > 75:
        fmt, every = "%b", 30
        months = np.arange(first.astype("datetime64[M]"), last.astype("datetime64[M]") + 1).astype("datetime64[D]")
        candidates = [m for m in months if first <= m <= last]
    else:
        fmt, every = "%d %b", 7
        weekday = (int(first.astype("int64")) + 3) % 7  # Monday 0: 1970-01-01 was a Thursday
        candidates = list(np.arange(first + ((7 - weekday) % 7) * _DAY, last + _DAY, 7 * _DAY))
    names = [pd.Timestamp(d).strftime("%b %Y") for d in (first, last)]
    axis_label = names[0] if names[0] == names[1] else " to ".join(names)
    widest = text_width("May" if fmt == "%b" else "30 May")
    k = 1
    while every * k * px_per_day < widest + 12 and len(candidates[::k]) > 1:
        k += 1
    return candidates[::k], fmt, axis_label


def calendar_svg(bookings: pd.DataFrame, *, assignment: pd.DataFrame | None = None, label: str | None = None) -> str:
    """Who is booked when, as :func:`gscp_match.report._charts.calendar_chart` draws it: one row per engagement
    (an expert's rows together, named once, separated from the next expert's by a line), a bar per
    :func:`gscp_match.report._analysis.booking_spans` span from its first day to the end of its last, coloured by
    request from :data:`CALENDAR_COLORS` (cycled over the sorted request ids) and labelled with the request id after
    the engagement's last bar; a date axis below.

    Parameters
    ----------
    bookings : DataFrame
        ``RoundPlan.bookings``: ``expert_id, request_id, date`` (one row per booked working day).
    assignment : DataFrame, optional
        ``RoundPlan.assignment``, for the experts' names.
    label : str, optional
        The accessible name; default the title.
    """
    title = "Round calendar: booked working days"
    label = label or title
    spans = booking_spans(bookings)
    if spans.empty:
        return _nothing(title, label, "no booked days")
    engagements = spans.groupby(["expert_id", "request_id"], as_index=False)["start"].min()
    engagements = engagements.sort_values(["expert_id", "start", "request_id"], kind="stable").reset_index(drop=True)
    names: dict[str, object] = {}
    if assignment is not None and len(assignment):
        names = dict(zip(assignment["expert_id"].astype(str), assignment["name"], strict=False))
    experts = engagements["expert_id"].astype(str).tolist()
    first = [i == 0 or experts[i] != experts[i - 1] for i in range(len(experts))]
    labels = [expert_label(e, names.get(e)) if f else "" for e, f in zip(experts, first, strict=True)]
    top = PAD + TITLE + 12
    requests = sorted(spans["request_id"].astype(str).unique().tolist())
    # Each engagement's request id after its last bar, wrapped if a long id would leave the bars no room.
    note_width = min(max(text_width(r) for r in requests), 0.3 * WIDTH)
    notes = [_wrap(r, note_width) for r in engagements["request_id"].astype(str)]
    rows = _rows(labels, top, most=0.4 * WIDTH, notes=[len(n) for n in notes])
    row_of = {(e, r): i for i, (e, r) in enumerate(zip(experts, engagements["request_id"].astype(str), strict=True))}
    color = {r: CALENDAR_COLORS[i % len(CALENDAR_COLORS)] for i, r in enumerate(requests)}
    start = spans["start"].to_numpy(dtype="datetime64[D]")
    end = spans["end"].to_numpy(dtype="datetime64[D]") + _DAY  # the end of the last day
    lo, hi = start.min() - _DAY, end.max() + _DAY
    x0 = PAD + rows.label_width + GAP
    width = WIDTH - PAD - x0 - note_width - 4
    days = max(int((hi - lo) / _DAY), 1)

    def x_of(day: np.datetime64) -> float:
        return x0 + width * int((day - lo) / _DAY) / days

    bottom = rows.bottom + 2
    body = [_text(WIDTH / 2, PAD + TITLE / 2 + 2, title, anchor="middle", size=TITLE)]
    ticks, fmt, axis_label = _date_ticks(start.min(), end.max() - _DAY, width / days)
    for tick in ticks:
        x = x_of(tick)
        half = text_width(pd.Timestamp(tick).strftime(fmt)) / 2
        if x - half < 0 or x + half > WIDTH:
            continue
        body.append(f'<line x1="{_n(x)}" y1="{_n(top - 4)}" x2="{_n(x)}" y2="{_n(bottom)}" stroke="{GRID}"/>')
        body.append(f'<line x1="{_n(x)}" y1="{_n(bottom)}" x2="{_n(x)}" y2="{_n(bottom + 4)}" stroke="{AXIS}"/>')
        body.append(_text(x, bottom + 13, pd.Timestamp(tick).strftime(fmt), anchor="middle", color=AXIS))
    for i in range(1, len(experts)):
        if first[i]:
            y = (rows.middles[i - 1] + rows.middles[i]) / 2
            body.append(f'<line x1="{_n(PAD)}" y1="{_n(y)}" x2="{_n(WIDTH - PAD)}" y2="{_n(y)}" stroke="{SEPARATOR}"/>')
    body.append(f'<line x1="{_n(x0)}" y1="{_n(top - 4)}" x2="{_n(x0)}" y2="{_n(bottom)}" stroke="{AXIS}"/>')
    body.append(f'<line x1="{_n(x0)}" y1="{_n(bottom)}" x2="{_n(x0 + width)}" y2="{_n(bottom)}" stroke="{AXIS}"/>')
    low = bottom + 13 + FONT / 2
    if axis_label:
        body.append(_text(x0 + width / 2, bottom + 32, axis_label, anchor="middle"))
        low = bottom + 32 + FONT
    for middle, lines in zip(rows.middles, rows.labels, strict=True):
        if lines != [""]:
            body.append(_lines(x0 - GAP, middle, lines, anchor="end"))
    last_end: dict[int, float] = {}
    for expert, request, s, e, n in zip(spans["expert_id"].astype(str), spans["request_id"].astype(str), start, end,
                                        spans["days"], strict=True):  # fmt: skip
        row = row_of[(expert, request)]
        left, right = x_of(s), x_of(e)
        tip = (
            f"{expert_label(expert, names.get(expert))}, {request}: {pd.Timestamp(s).strftime('%d %b %Y')} to "
            f"{pd.Timestamp(e - _DAY).strftime('%d %b %Y')}, {int(n)} {'day' if int(n) == 1 else 'days'}"
        )
        body.append(
            f'<rect class="bar" x="{_n(left)}" y="{_n(rows.middles[row] - BAR / 2)}" width="{_n(right - left)}" '
            f'height="{_n(BAR)}" fill="{color[request]}"><title>{_e(tip)}</title></rect>'
        )
        last_end[row] = max(last_end.get(row, 0.0), right)
    for row, lines in enumerate(notes):
        body.append(_lines(last_end[row] + 4, rows.middles[row], lines, anchor="start"))
    return _svg(body, low + PAD, label)
