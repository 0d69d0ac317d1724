"""A tiny round plan (assignment and bookings) shared by the chart tests: matplotlib figures and SVG text."""

from __future__ import annotations

import pandas as pd


def small_plan() -> tuple[pd.DataFrame, pd.DataFrame]:
    assignment = pd.DataFrame(
        {
            "request_id": ["R1", "R2", "R2", "R3"],
            "expert_id": ["E1", "E1", "E2", "E3"],
            "name": ["Kim <b>", "Kim <b>", "Lee", "Park"],
            "role": ["assigned", "assigned", "assigned", "alternate"],
            "rank": [1, 1, 1, 1],
        }
    )
    days = {
        ("E1", "R1"): pd.bdate_range("2027-03-01", periods=8),  # Mon 1 .. Wed 10: one span over a weekend
        ("E1", "R2"): pd.bdate_range("2027-03-15", periods=3).append(pd.bdate_range("2027-03-22", periods=2)),
        ("E2", "R2"): pd.bdate_range("2027-03-15", periods=5),
    }
    bookings = pd.concat(
        [pd.DataFrame({"expert_id": e, "request_id": r, "date": d}) for (e, r), d in days.items()], ignore_index=True
    )
    bookings["date"] = bookings["date"].astype("datetime64[ns]")
    return assignment, bookings
