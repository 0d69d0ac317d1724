"""Round summaries: each vectorized table against a plain-loop reference, and the program's city groups."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gscp_match.report import _analysis as analysis
from gscp_match.report._analysis import (
    CITY_GROUPS,
    NOT_GIVEN,
    booking_spans,
    case_references,
    city_groups,
    demand_supply,
    expert_load,
    request_counts,
    request_summary,
)
from gscp_match.tables._arrays import REGION_CODES, THEME_CODES
from gscp_match.tables._catalog import load_cases

SETTINGS = settings(max_examples=60, deadline=None)

theme_lists = st.lists(st.sampled_from(THEME_CODES[:6] + ("water",)), max_size=4).map(tuple)


@st.composite
def requests_tables(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(0, 12))
    return pd.DataFrame(
        {
            "request_id": [f"R{i}" for i in range(n)],
            "themes": [draw(theme_lists) for _ in range(n)],
            "korean_experience": [draw(st.booleans()) for _ in range(n)],
            "region": [draw(st.sampled_from(["", *REGION_CODES[:4]])) for _ in range(n)],
            "practice_group": [draw(st.sampled_from(["", "Transport", "Urban/Land", "b", "a"])) for _ in range(n)],
            "support_type": [draw(st.sampled_from(["", "JIT", "OS"])) for _ in range(n)],
        }
    )  # fmt: skip


@st.composite
def experts_tables(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(0, 15))
    return pd.DataFrame(
        {
            "expert_id": [f"E{i}" for i in range(n)],
            "themes": [draw(theme_lists) for _ in range(n)],
            "korean_experience": [draw(st.booleans()) for _ in range(n)],
        }
    )


# ---------------------------------------------------------------------------------------------------------------
# Demand and supply.


def demand_supply_loop(requests: pd.DataFrame, experts: pd.DataFrame, min_ratio: float) -> pd.DataFrame:
    rows = []
    for theme in THEME_CODES:
        asking = [r for r in requests.itertuples() if theme in r.themes]
        covering = [e for e in experts.itertuples() if theme in e.themes]
        n_req, n_exp = len(asking), len(covering)
        k_req = sum(1 for r in asking if r.korean_experience)
        k_exp = sum(1 for e in covering if e.korean_experience)
        gap = n_req > 0 and (n_exp < min_ratio * n_req or k_exp < min_ratio * k_req)
        ratio = n_exp / n_req if n_req else float("nan")
        rows.append((theme, n_req, k_req, n_exp, k_exp, ratio, gap))
    frame = pd.DataFrame(
        rows, columns=["theme", "requests", "korean_requests", "experts", "korean_experts", "ratio", "gap"]
    )
    return frame.astype({"theme": object})


@SETTINGS
@given(requests=requests_tables(), experts=experts_tables(), min_ratio=st.sampled_from([0.0, 1.0, 2.5, 3.0]))
def test_demand_supply_matches_loop(requests: pd.DataFrame, experts: pd.DataFrame, min_ratio: float) -> None:
    got = demand_supply(requests, experts, min_ratio=min_ratio)
    pd.testing.assert_frame_equal(got, demand_supply_loop(requests, experts, min_ratio))


def test_demand_supply_gap_rule_includes_korean_supply() -> None:
    requests = pd.DataFrame({"themes": [("water",)], "korean_experience": [True]})
    experts = pd.DataFrame({"themes": [("water",)] * 5, "korean_experience": [True, True, False, False, False]})
    row = demand_supply(requests, experts).set_index("theme").loc["water"]
    assert row["ratio"] == 5.0 and bool(row["gap"])  # enough experts, but only 2 Korean for a Korean request
    experts.loc[2, "korean_experience"] = True
    assert not demand_supply(requests, experts).set_index("theme").loc["water", "gap"]


def test_demand_supply_rejects_negative_ratio() -> None:
    with pytest.raises(ValueError, match="min_ratio"):
        demand_supply(pd.DataFrame({"themes": [], "korean_experience": []}), pd.DataFrame(), min_ratio=-1)


# ---------------------------------------------------------------------------------------------------------------
# Requests by category.


def request_counts_loop(requests: pd.DataFrame, by: str) -> pd.DataFrame:
    counter = Counter(str(v).strip() for v in requests[by])
    missing = counter.pop("", 0)
    if by == "region":
        labels = list(REGION_CODES)
    elif by == "support_type":
        labels = ["JIT", "OS"]
    else:
        labels = sorted(counter, key=lambda k: (-counter[k], k))
    pairs = [(label, counter.get(label, 0)) for label in labels]
    if missing:
        pairs.append((NOT_GIVEN, missing))
    return pd.DataFrame(
        {by: pd.Series([p[0] for p in pairs], dtype=object), "requests": np.array([p[1] for p in pairs], np.int64)}
    )


@SETTINGS
@given(requests=requests_tables(), by=st.sampled_from(analysis.REQUEST_CATEGORIES))
def test_request_counts_match_loop(requests: pd.DataFrame, by: str) -> None:
    got = request_counts(requests, by=by)
    pd.testing.assert_frame_equal(got, request_counts_loop(requests, by))
    assert got["requests"].sum() == len(requests)


def test_request_counts_unknown_category_lists_valid() -> None:
    with pytest.raises(ValueError, match="region, practice_group, support_type"):
        request_counts(pd.DataFrame({"country": ["MA"]}), by="country")


# ---------------------------------------------------------------------------------------------------------------
# Korean case references.

_GROUP_OF = {
    "national": "National", "nationwide": "National", "korea": "National", "seoul": "Seoul", "busan": "Busan",
    "sejong": "Sejong", "songdo": "Songdo", "songdo (incheon)": "Songdo", "incheon songdo": "Songdo",
}  # fmt: skip


def city_group_loop(city: object) -> str:
    text = "" if city is None or (isinstance(city, float) and np.isnan(city)) else str(city)
    return _GROUP_OF.get(" ".join(text.split()).casefold(), "Others")


cities = st.sampled_from(
    ["Seoul", "SEOUL", " seoul ", "Seoul (Magok)", "Busan", "Sejong", "Songdo (Incheon)", "songdo  (incheon)",
     "National", "Jeju", "Hwaseong", "", "Paju", "Incheon Songdo"]
)  # fmt: skip


@SETTINGS
@given(values=st.lists(st.one_of(cities, st.none()), max_size=20))
def test_city_groups_match_loop(values: list[object]) -> None:
    assert city_groups(values).tolist() == [city_group_loop(v) for v in values]


def test_bundled_catalog_cities_group_as_the_program_reports() -> None:
    catalog = load_cases()
    groups = dict(zip(catalog["city"], city_groups(catalog["city"]), strict=True))
    assert groups["National"] == "National" and groups["Seoul"] == "Seoul" and groups["Busan"] == "Busan"
    assert groups["Sejong"] == "Sejong" and groups["Songdo (Incheon)"] == "Songdo"
    # The program counts Magok, Gwanggyo and Jeonju among the others.
    assert groups["Seoul (Magok)"] == "Others" and groups["Gwanggyo (Suwon/Yongin)"] == "Others"
    assert {groups[c] for c in ("Hwaseong", "Paju", "Jeju")} == {"Others"}


@st.composite
def case_shortlists(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame]:
    n_cases = draw(st.integers(1, 6))
    catalog = pd.DataFrame(
        {
            "case_id": [f"c{i}" for i in range(n_cases)],
            "city": [draw(cities) for _ in range(n_cases)],
            "themes": [draw(theme_lists) for _ in range(n_cases)],
        }
    )
    picks = draw(st.lists(st.tuples(st.integers(0, 4), st.integers(0, n_cases - 1)), max_size=15))
    short = pd.DataFrame(
        {
            "request_id": [f"R{r}" for r, _ in picks],
            "case_id": [f"c{c}" for _, c in picks],
            "city": [catalog.loc[c, "city"] for _, c in picks],
        }
    )
    return short, catalog


@SETTINGS
@given(data=case_shortlists())
def test_case_references_match_loop(data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    short, catalog = data
    themes_of = dict(zip(catalog["case_id"], catalog["themes"], strict=True))
    by_city = case_references(short, by="city")
    assert by_city["city_group"].tolist() == list(CITY_GROUPS)
    for group, references, distinct in by_city.itertuples(index=False):
        rows = [r for r in short.itertuples() if city_group_loop(r.city) == group]
        assert references == len(rows)
        assert distinct == len({r.case_id for r in rows})
    by_theme = case_references(short, by="theme", cases=catalog)
    assert by_theme["theme"].tolist() == list(THEME_CODES)
    for theme, references, distinct in by_theme.itertuples(index=False):
        rows = [r for r in short.itertuples() if theme in themes_of[r.case_id]]
        assert references == len(rows)
        assert distinct == len({r.case_id for r in rows})
    assert by_city["references"].sum() == len(short)


def test_case_references_unknown_case_and_grouping() -> None:
    short = pd.DataFrame({"request_id": ["R1"], "case_id": ["nope"], "city": ["Seoul"]})
    with pytest.raises(ValueError, match="nope"):
        case_references(short, by="theme")
    with pytest.raises(ValueError, match="city, theme"):
        case_references(short, by="country")


def test_case_references_default_catalog_themes() -> None:
    short = pd.DataFrame({"request_id": ["R1", "R2"], "case_id": ["kr-seoul-topis"] * 2, "city": ["Seoul"] * 2})
    table = case_references(short, by="theme").set_index("theme")
    assert table.loc["mobility", "references"] == 2 and table.loc["mobility", "cases"] == 1
    assert table.loc["water", "references"] == 0


# ---------------------------------------------------------------------------------------------------------------
# Round plan: booked spans, expert load, request summary.


def _working_days_between(a: dt.date, b: dt.date) -> int:
    day, count = a + dt.timedelta(days=1), 0
    while day < b:
        count += day.weekday() < 5
        day += dt.timedelta(days=1)
    return count


def booking_spans_loop(bookings: pd.DataFrame) -> list[tuple[str, str, dt.date, dt.date, int]]:
    days: dict[tuple[str, str], set[dt.date]] = {}
    for row in bookings.itertuples():
        days.setdefault((row.expert_id, row.request_id), set()).add(pd.Timestamp(row.date).date())
    spans = []
    for (expert, request), booked in sorted(days.items()):
        ordered = sorted(booked)
        start = prev = ordered[0]
        count = 1
        for day in ordered[1:]:
            if _working_days_between(prev, day) == 0:
                count += 1
            else:
                spans.append((expert, request, start, prev, count))
                start, count = day, 1
            prev = day
        spans.append((expert, request, start, prev, count))
    return spans


@st.composite
def bookings_tables(draw: st.DrawFn) -> pd.DataFrame:
    rows = draw(
        st.lists(
            st.tuples(st.sampled_from(["E1", "E2", "E10"]), st.sampled_from(["R1", "R2"]), st.integers(0, 40)),
            max_size=40,
        )
    )
    base = dt.date(2027, 3, 1)
    return pd.DataFrame(
        {
            "expert_id": pd.Series([r[0] for r in rows], dtype=object),
            "request_id": pd.Series([r[1] for r in rows], dtype=object),
            "date": pd.to_datetime([base + dt.timedelta(days=r[2]) for r in rows]).astype("datetime64[ns]"),
        }
    )


@SETTINGS
@given(bookings=bookings_tables())
def test_booking_spans_match_loop(bookings: pd.DataFrame) -> None:
    got = booking_spans(bookings)
    assert list(got.columns) == ["expert_id", "request_id", "start", "end", "days"]
    assert str(got["start"].dtype) == "datetime64[ns]"
    rows = [(e, r, s.date(), t.date(), int(d)) for e, r, s, t, d in got.itertuples(index=False)]
    assert rows == booking_spans_loop(bookings)
    assert got["days"].sum() == len(bookings.drop_duplicates())


def _assignment(rows: list[tuple[str, str, str, str, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["request_id", "expert_id", "name", "role", "rank"]).assign(
        score=0.5, free_days=20, days_needed=5, why="w"
    )


@SETTINGS
@given(
    picks=st.lists(
        st.tuples(st.sampled_from(["R1", "R2", "R3"]), st.sampled_from(["E1", "E2", "E3"]),
                  st.sampled_from(["assigned", "alternate"])),
        max_size=9, unique_by=lambda t: (t[0], t[1]),
    ),
    bookings=bookings_tables(),
)  # fmt: skip
def test_expert_load_matches_loop(picks: list[tuple[str, str, str]], bookings: pd.DataFrame) -> None:
    assignment = _assignment([(r, e, f"name {e}", role, 1) for r, e, role in picks])
    got = expert_load(assignment, bookings)
    expected = []
    for expert in sorted({e for _, e, role in picks if role == "assigned"}):
        requests = sorted(r for r, e, role in picks if e == expert and role == "assigned")
        dates = [pd.Timestamp(d) for e, d in zip(bookings["expert_id"], bookings["date"], strict=True) if e == expert]
        first = min(dates) if dates else pd.NaT
        last = max(dates) if dates else pd.NaT
        expected.append((expert, f"name {expert}", len(requests), ";".join(requests), len(dates), first, last))
    expected.sort(key=lambda t: (-t[4], t[0]))
    rows = [tuple(r) for r in got.itertuples(index=False)]
    assert [r[:5] for r in rows] == [e[:5] for e in expected]
    for row, want in zip(rows, expected, strict=True):
        assert (pd.isna(row[5]) and pd.isna(want[5])) or row[5] == want[5]
        assert (pd.isna(row[6]) and pd.isna(want[6])) or row[6] == want[6]


def test_request_summary_statuses_and_reasons() -> None:
    requests = pd.DataFrame(
        {
            "request_id": ["R1", "R2", "R3"],
            "title": ["a", "b", "c"],
            "experts_needed": pd.array([1, 2, 1], dtype="Int64"),
            "window_start": pd.to_datetime(["2027-03-01", None, "2027-04-01"]),
            "window_end": pd.to_datetime(["2027-03-31", None, "2027-04-30"]),
        }
    )
    assignment = _assignment(
        [("R1", "E1", "Kim", "assigned", 1), ("R1", "E2", "Lee", "alternate", 1), ("R2", "E3", "Park", "assigned", 1)]
    )
    unstaffed = pd.DataFrame(
        {"request_id": ["R2", "R3"], "needed": [2, 1], "assigned": [1, 0], "missing": [1, 1],
         "reason_code": ["calendar", "taken"], "reason": ["too busy", "all taken"], "blocked_by": ["", "R1;R2"]}
    )  # fmt: skip
    out = request_summary(requests, assignment=assignment, unstaffed=unstaffed)
    assert out["status"].tolist() == ["staffed", "partly staffed", "unstaffed"]
    assert out["assigned"].tolist() == ["Kim (E1)", "Park (E3)", ""]
    assert out["alternates"].tolist() == ["Lee (E2)", "", ""]
    assert out["reason"].tolist() == ["", "too busy", "all taken"]
    assert out["blocked_by"].tolist() == ["", "", "R1;R2"]
    assert out["window"].tolist() == ["1 Mar 2027 to 31 Mar 2027", "", "1 Apr 2027 to 30 Apr 2027"]
    assert out["needed"].tolist() == [1, 2, 1]
    unplanned = request_summary(requests)
    assert set(unplanned["status"]) == {"not planned"} and set(unplanned["assigned"]) == {""}
