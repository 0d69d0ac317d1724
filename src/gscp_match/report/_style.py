"""What the round's charts share, whoever draws them (matplotlib in :mod:`._charts`, plain SVG text in
:mod:`._svg`): colours, category names and expert labels. Imports nothing heavy, so the HTML report can use it
without loading matplotlib."""

from __future__ import annotations

import math

__all__ = ["CALENDAR_COLORS", "COLORS", "LABELS", "expert_label"]

#: Colours of the charts (colour-blind safe: Okabe-Ito).
COLORS: dict[str, str] = {
    "requests": "#7f7f7f",
    "korean": "#0072B2",
    "other": "#56B4E9",
    "gap": "#D55E00",
    "bars": "#009E73",
    "text": "#222222",
}
#: Request colours in the calendar: six Okabe-Ito colours, cycled; each bar is labelled with its request too.
CALENDAR_COLORS: tuple[str, ...] = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")

#: Request columns in words, for chart titles.
LABELS: dict[str, str] = {"region": "region", "practice_group": "practice group", "support_type": "support type"}


def expert_label(expert_id: str, name: object) -> str:
    """``name (id)``, or the id alone when the name is missing or is the id.

    >>> expert_label("E1", "Kim"), expert_label("E2", float("nan"))
    ('Kim (E1)', 'E2')
    """
    text = "" if name is None or (isinstance(name, float) and math.isnan(name)) else str(name)
    return f"{text} ({expert_id})" if text and text != expert_id else expert_id
