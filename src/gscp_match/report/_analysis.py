"""Round summaries as tables: demand against supply by theme, requests by category, references to Korean cases, and
the round plan per request, per expert and per booked stretch of days.

Every function takes validated tables (:func:`gscp_match.read_table`), shortlist tables
(:class:`gscp_match.Shortlists`) or round-plan tables (``RoundPlan.assignment``, ``.unstaffed``, ``.bookings``) and
returns a DataFrame, so a notebook or another tool can use the figures without the charts
(:mod:`gscp_match.report._charts`) or the reports (:mod:`gscp_match.report._report`).

>>> import gscp_match as gm
>>> demo = gm.load_demo()
>>> table = demand_supply(demo.requests, demo.experts)
>>> table.columns.tolist()
['theme', 'requests', 'korean_requests', 'experts', 'korean_experts', 'ratio', 'gap']
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gscp_match.errors import InputError
from gscp_match.tables._arrays import REGION_CODES, THEME_CODES, one_hot
from gscp_match.tables._vocab import SUPPORT_TYPES

__all__ = [
    "CITY_GROUPS",
    "GAP_MIN_RATIO",
    "NOT_GIVEN",
    "REQUEST_CATEGORIES",
    "booking_spans",
    "case_references",
    "city_groups",
    "demand_supply",
    "expert_load",
    "request_counts",
    "request_summary",
]

#: City groups the program reports references to Korean cases by, in its order.
CITY_GROUPS: tuple[str, ...] = ("National", "Seoul", "Busan", "Sejong", "Songdo", "Others")

#: How a case's ``city`` reads as a group (after case folding and collapsing spaces); any other city is "Others".
#: "Seoul (Magok)" is not Seoul: the program counts Magok among the others (with Jeonju and Gwanggyo).
_CITY_ALIASES: dict[str, str] = {
    "national": "National",
    "nationwide": "National",
    "korea": "National",
    "seoul": "Seoul",
    "busan": "Busan",
    "sejong": "Sejong",
    "songdo": "Songdo",
    "songdo (incheon)": "Songdo",
    "incheon songdo": "Songdo",
}

#: Request columns :func:`request_counts` counts by.
REQUEST_CATEGORIES: tuple[str, ...] = ("region", "practice_group", "support_type")

#: Default of :func:`demand_supply`'s ``min_ratio``: experts per request below which a theme is a gap.
GAP_MIN_RATIO = 3.0

#: Label of an empty category cell.
NOT_GIVEN = "(not given)"

_SPACES = re.compile(r"\s+")


def _themes_matrix(themes: Iterable[tuple[str, ...]]) -> NDArray[np.bool_]:
    """``(n_rows, n_themes)`` boolean: row covers theme (:data:`~gscp_match.tables._arrays.THEME_CODES` order)."""
    return one_hot(themes, THEME_CODES).toarray() > 0


def demand_supply(requests: pd.DataFrame, experts: pd.DataFrame, *, min_ratio: float = GAP_MIN_RATIO) -> pd.DataFrame:
    """Demand against supply per theme: how many requests ask for it, how many experts cover it.

    Parameters
    ----------
    requests : DataFrame
        Validated requests (``themes``, ``korean_experience``).
    experts : DataFrame
        Validated roster (``themes``, ``korean_experience``).
    min_ratio : float
        Experts per request below which a theme is a gap.

    Returns
    -------
    DataFrame
        One row per theme code, in the taxonomy's order (all 20, zeros included): ``theme``, ``requests`` (requests
        asking for it), ``korean_requests`` (of those, asking for Korean experience), ``experts`` (experts covering
        it), ``korean_experts`` (of those, with Korean experience), ``ratio`` (``experts / requests``, NaN when no
        request asks for it) and ``gap``.

    Notes
    -----
    The gap rule: a theme is a gap when some request asks for it and the roster cannot give each such request a
    shortlist of ``min_ratio`` experts, overall or among Korean-experienced experts for the requests that ask for
    Korean experience::

        gap = requests > 0 and (experts < min_ratio * requests or korean_experts < min_ratio * korean_requests)

    >>> import pandas as pd
    >>> req = pd.DataFrame({"themes": [("water",), ("water", "land")], "korean_experience": [False, False]})
    >>> exp = pd.DataFrame({"themes": [("water",)] * 6, "korean_experience": [False] * 6})
    >>> demand_supply(req, exp).query("requests > 0")[["theme", "requests", "experts", "ratio", "gap"]]
        theme  requests  experts  ratio    gap
    5    land         1        0    0.0   True
    15  water         2        6    3.0  False
    """
    if min_ratio < 0:
        raise InputError(f"min_ratio must be >= 0, got {min_ratio}")
    asked = _themes_matrix(requests["themes"])
    covered = _themes_matrix(experts["themes"])
    korean_request = requests["korean_experience"].to_numpy(dtype=bool)
    korean_expert = experts["korean_experience"].to_numpy(dtype=bool)
    n_requests = asked.sum(axis=0)
    n_korean_requests = asked[korean_request].sum(axis=0)
    n_experts = covered.sum(axis=0)
    n_korean_experts = covered[korean_expert].sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(n_requests > 0, n_experts / np.maximum(n_requests, 1), np.nan)
    gap = (n_requests > 0) & ((n_experts < min_ratio * n_requests) | (n_korean_experts < min_ratio * n_korean_requests))
    return pd.DataFrame(
        {
            "theme": pd.Series(THEME_CODES, dtype=object),
            "requests": n_requests.astype(np.int64),
            "korean_requests": n_korean_requests.astype(np.int64),
            "experts": n_experts.astype(np.int64),
            "korean_experts": n_korean_experts.astype(np.int64),
            "ratio": ratio.astype(np.float64),
            "gap": gap,
        }
    )


def request_counts(requests: pd.DataFrame, *, by: str) -> pd.DataFrame:
    """How many requests fall in each region, practice group or support type.

    Parameters
    ----------
    requests : DataFrame
        Validated requests.
    by : {"region", "practice_group", "support_type"}
        The column to count by.

    Returns
    -------
    DataFrame
        Columns ``by`` and ``requests``. Regions and support types come in the vocabulary's order with zeros
        included; practice groups (free text) by count, then name. Empty cells count as :data:`NOT_GIVEN`, last.

    >>> import pandas as pd
    >>> request_counts(pd.DataFrame({"support_type": ["JIT", "OS", "JIT", ""]}), by="support_type")
      support_type  requests
    0          JIT         2
    1           OS         1
    2  (not given)         1
    """
    if by not in REQUEST_CATEGORIES:
        raise InputError(f"unknown category {by!r}; valid: {', '.join(REQUEST_CATEGORIES)}")
    values = requests[by].astype(object).fillna("").astype(str).str.strip()
    counts = values[values != ""].value_counts()
    missing = int((values == "").sum())
    vocabulary = {"region": REGION_CODES, "support_type": SUPPORT_TYPES}.get(by)
    if vocabulary is not None:
        extra = sorted(set(counts.index) - set(vocabulary))  # not in a validated table, but never drop a request
        labels = [*vocabulary, *extra]
        numbers = [int(counts.get(label, 0)) for label in labels]
    else:
        ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        labels = [label for label, _ in ordered]
        numbers = [int(n) for _, n in ordered]
    if missing:
        labels.append(NOT_GIVEN)
        numbers.append(missing)
    return pd.DataFrame({by: pd.Series(labels, dtype=object), "requests": np.asarray(numbers, dtype=np.int64)})


def city_groups(cities: Iterable[object]) -> NDArray[np.object_]:
    """The :data:`CITY_GROUPS` group of each case city.

    A city is matched whole (case and spaces ignored) against the group names and a few spellings such as
    ``Songdo (Incheon)``; anything else, including an empty city, is ``Others``.

    >>> city_groups(["Seoul", "Songdo (Incheon)", "Seoul (Magok)", "  national ", "Jeju"]).tolist()
    ['Seoul', 'Songdo', 'Others', 'National', 'Others']
    """
    values = pd.Series(list(cities), dtype=object).fillna("").astype(str)
    keys = values.str.strip().str.casefold().str.replace(_SPACES, " ", regex=True)
    return keys.map(_CITY_ALIASES).fillna("Others").to_numpy(dtype=object)


def case_references(shortlist_cases: pd.DataFrame, *, by: str, cases: pd.DataFrame | None = None) -> pd.DataFrame:
    """References to Korean cases in a round's case shortlists, by city group or by theme.

    Each row of ``shortlist_cases`` (a case proposed for a request) is one reference.

    Parameters
    ----------
    shortlist_cases : DataFrame
        ``Shortlists.cases``: ``request_id, case_id, city``, ...
    by : {"city", "theme"}
        ``city``: one row per :data:`CITY_GROUPS` group (from the shortlist's ``city``). ``theme``: one row per
        theme code; a reference counts once for each theme of its case.
    cases : DataFrame, optional
        The case catalog the shortlists came from, for the cases' themes; default: the bundled catalog.

    Returns
    -------
    DataFrame
        ``city_group`` or ``theme``, then ``references`` and ``cases`` (distinct cases referenced), all groups or
        themes in order, zeros included.

    >>> import pandas as pd
    >>> short = pd.DataFrame({"request_id": ["R1", "R1", "R2"], "case_id": ["a", "b", "a"],
    ...                       "city": ["Seoul", "National", "Seoul"]})
    >>> case_references(short, by="city").head(2)
      city_group  references  cases
    0   National           1      1
    1      Seoul           2      1
    """
    if by not in ("city", "theme"):
        raise InputError(f"unknown grouping {by!r}; valid: city, theme")
    case_ids = shortlist_cases["case_id"].astype(str).to_numpy(dtype=object)
    if by == "city":
        labels: tuple[str, ...] = CITY_GROUPS
        member = city_groups(shortlist_cases["city"])[:, None] == np.asarray(CITY_GROUPS, dtype=object)[None, :]
    else:
        labels = THEME_CODES
        if cases is None:
            from gscp_match.tables._catalog import load_cases

            cases = load_cases()
        themes_of = dict(zip(cases["case_id"].astype(str), cases["themes"], strict=True))
        unknown = sorted(set(case_ids) - set(themes_of))
        if unknown:
            raise InputError(f"shortlist_cases: case ids not in the case catalog: {', '.join(unknown[:10])}")
        member = _themes_matrix(themes_of[c] for c in case_ids)
    references = member.sum(axis=0).astype(np.int64)
    rows, groups = np.nonzero(member)
    pairs = pd.DataFrame({"case": case_ids[rows], "group": groups}).drop_duplicates()
    distinct = np.bincount(pairs["group"].to_numpy(dtype=np.int64), minlength=len(labels)).astype(np.int64)
    name = "city_group" if by == "city" else "theme"
    return pd.DataFrame({name: pd.Series(labels, dtype=object), "references": references, "cases": distinct})


def _window_text(start: object, end: object) -> str:
    if pd.isna(start) or pd.isna(end) or start == "" or end == "":
        return ""
    first, last = pd.Timestamp(start), pd.Timestamp(end)
    if pd.isna(first) or pd.isna(last):
        return ""
    return f"{first.day} {first.strftime('%b %Y')} to {last.day} {last.strftime('%b %Y')}"


def _joined_names(rows: pd.DataFrame) -> pd.Series:
    """``name (expert_id)``, ``; ``-joined per request, rank order."""
    if rows.empty:
        return pd.Series(dtype=object)
    rows = rows.sort_values(["request_id", "rank", "expert_id"], kind="stable")
    label = rows["name"].astype(str) + " (" + rows["expert_id"].astype(str) + ")"
    return label.groupby(rows["request_id"].astype(str), sort=False).agg("; ".join)


def request_summary(
    requests: pd.DataFrame,
    *,
    assignment: pd.DataFrame | None = None,
    unstaffed: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per request: what it asks for, who is assigned, and why it is unstaffed when it is.

    Parameters
    ----------
    requests : DataFrame
        Validated requests.
    assignment, unstaffed : DataFrame, optional
        ``RoundPlan.assignment`` and ``RoundPlan.unstaffed``. Without an assignment every status is
        ``not planned``.

    Returns
    -------
    DataFrame
        ``request_id, title, country, city, region, practice_group, support_type, days, window, needed, assigned,
        alternates, status, reason, blocked_by``, in the requests' order. ``status`` is ``staffed``, ``partly
        staffed``, ``unstaffed`` or ``not planned``.

    >>> import pandas as pd
    >>> req = pd.DataFrame({"request_id": ["R1"], "title": ["Bus reform"], "experts_needed": [1]})
    >>> request_summary(req)[["request_id", "needed", "status"]]
      request_id  needed       status
    0         R1       1  not planned
    """
    n = len(requests)
    ids = requests["request_id"].astype(str)

    def column(name: str) -> pd.Series:
        if name in requests.columns:
            return requests[name].reset_index(drop=True)
        return pd.Series([""] * n, dtype=object)

    needed = (
        requests["experts_needed"].fillna(1).astype(np.int64).to_numpy()
        if "experts_needed" in requests.columns
        else np.ones(n, dtype=np.int64)
    )
    starts, ends = column("window_start"), column("window_end")
    out = pd.DataFrame(
        {
            "request_id": ids.to_numpy(dtype=object),
            "title": column("title").astype(object),
            "country": column("country").astype(object),
            "city": column("city").astype(object),
            "region": column("region").astype(object),
            "practice_group": column("practice_group").astype(object),
            "support_type": column("support_type").astype(object),
            "days": column("days"),
            "window": [_window_text(s, e) for s, e in zip(starts, ends, strict=True)],
            "needed": needed,
        }
    )
    if assignment is None:
        out["assigned"] = ""
        out["alternates"] = ""
        out["status"] = "not planned"
        out["reason"] = ""
        out["blocked_by"] = ""
        return out
    role = assignment["role"].astype(str)
    assigned_names = _joined_names(assignment[role == "assigned"])
    alternate_names = _joined_names(assignment[role == "alternate"])
    n_assigned = assignment.loc[role == "assigned", "request_id"].astype(str).value_counts().reindex(ids, fill_value=0)
    out["assigned"] = ids.map(assigned_names).astype(object).fillna("").to_numpy(dtype=object)
    out["alternates"] = ids.map(alternate_names).astype(object).fillna("").to_numpy(dtype=object)
    count = n_assigned.to_numpy(dtype=np.int64)
    status = np.where(count >= needed, "staffed", np.where(count > 0, "partly staffed", "unstaffed"))
    out["status"] = status.astype(object)
    reason = pd.Series([""] * n, dtype=object)
    blocked = pd.Series([""] * n, dtype=object)
    if unstaffed is not None and len(unstaffed):
        by_id = unstaffed.assign(request_id=unstaffed["request_id"].astype(str)).drop_duplicates("request_id")
        by_id = by_id.set_index("request_id")
        reason = ids.map(by_id["reason"].astype(object)).astype(object).fillna("").reset_index(drop=True)
        if "blocked_by" in by_id.columns:
            blocked = ids.map(by_id["blocked_by"].astype(object)).astype(object).fillna("").reset_index(drop=True)
    out["reason"] = reason.astype(object).to_numpy()
    out["blocked_by"] = blocked.astype(object).to_numpy()
    return out


def booking_spans(bookings: pd.DataFrame) -> pd.DataFrame:
    """Booked days joined into spans: consecutive working days of one expert on one request.

    Two booked days are in one span when no working day (Monday to Friday) lies between them, so a booking from
    Friday to Monday is one span and a holiday inside a booking splits it.

    Parameters
    ----------
    bookings : DataFrame
        ``RoundPlan.bookings``: ``expert_id, request_id, date``, one row per booked working day.

    Returns
    -------
    DataFrame
        ``expert_id, request_id, start, end`` (inclusive dates, ``datetime64[ns]``) and ``days`` (booked days in
        the span), sorted by expert, request and start.

    >>> import pandas as pd
    >>> days = pd.to_datetime(["2027-03-05", "2027-03-08", "2027-03-10"])  # Fri, Mon, Wed
    >>> booking_spans(pd.DataFrame({"expert_id": "E1", "request_id": "R1", "date": days}))[["start", "days"]]
           start  days
    0 2027-03-05     2
    1 2027-03-10     1
    """
    columns = ["expert_id", "request_id", "start", "end", "days"]
    if bookings.empty:
        return pd.DataFrame(
            {
                "expert_id": pd.Series(dtype=object),
                "request_id": pd.Series(dtype=object),
                "start": pd.Series(dtype="datetime64[ns]"),
                "end": pd.Series(dtype="datetime64[ns]"),
                "days": pd.Series(dtype=np.int64),
            }
        )
    frame = pd.DataFrame(
        {
            "expert_id": bookings["expert_id"].astype(str).to_numpy(dtype=object),
            "request_id": bookings["request_id"].astype(str).to_numpy(dtype=object),
            "day": bookings["date"].to_numpy(dtype="datetime64[D]"),
        }
    )
    frame = frame.drop_duplicates().sort_values(["expert_id", "request_id", "day"], kind="stable")
    expert = frame["expert_id"].to_numpy(dtype=object)
    request = frame["request_id"].to_numpy(dtype=object)
    day = frame["day"].to_numpy(dtype="datetime64[D]")
    new = np.ones(len(frame), dtype=bool)
    if len(frame) > 1:
        same_pair = (expert[1:] == expert[:-1]) & (request[1:] == request[:-1])
        # Working days strictly between the previous booked day and this one.
        between = np.busday_count(day[:-1] + np.timedelta64(1, "D"), day[1:])
        new[1:] = ~same_pair | (between > 0)
    span = np.cumsum(new) - 1
    first = np.flatnonzero(new)
    last = np.append(first[1:] - 1, len(frame) - 1)
    return pd.DataFrame(
        {
            "expert_id": expert[first],
            "request_id": request[first],
            "start": day[first].astype("datetime64[ns]"),
            "end": day[last].astype("datetime64[ns]"),
            "days": np.bincount(span).astype(np.int64),
        },
        columns=columns,
    )


def expert_load(assignment: pd.DataFrame, bookings: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each assigned expert's load in the round.

    Parameters
    ----------
    assignment : DataFrame
        ``RoundPlan.assignment`` (alternates are not counted).
    bookings : DataFrame, optional
        ``RoundPlan.bookings``.

    Returns
    -------
    DataFrame
        ``expert_id, name, engagements, requests`` (``;``-joined ids), ``booked_days``, ``first_day``,
        ``last_day`` (``NaT`` without bookings); most booked days first, ties by id.

    >>> import pandas as pd
    >>> plan = pd.DataFrame({"request_id": ["R1", "R2"], "expert_id": ["E1", "E1"], "name": ["Kim", "Kim"],
    ...                      "role": ["assigned", "assigned"], "rank": [1, 1]})
    >>> expert_load(plan)[["expert_id", "engagements", "requests"]]
      expert_id  engagements requests
    0        E1            2    R1;R2
    """
    rows = assignment[assignment["role"].astype(str) == "assigned"]
    rows = rows.assign(expert_id=rows["expert_id"].astype(str), request_id=rows["request_id"].astype(str))
    grouped = rows.sort_values(["expert_id", "request_id"], kind="stable").groupby("expert_id", sort=True)
    out = pd.DataFrame(
        {
            "name": grouped["name"].first().astype(object),
            "engagements": grouped.size().astype(np.int64),
            "requests": grouped["request_id"].agg(";".join).astype(object),
        }
    )
    out.index.name = "expert_id"
    if bookings is not None and len(bookings):
        booked = pd.DataFrame(
            {"expert_id": bookings["expert_id"].astype(str), "date": bookings["date"].to_numpy("datetime64[ns]")}
        ).groupby("expert_id")["date"]
        out["booked_days"] = booked.size().reindex(out.index, fill_value=0).astype(np.int64)
        out["first_day"] = booked.min().reindex(out.index)
        out["last_day"] = booked.max().reindex(out.index)
    else:
        out["booked_days"] = np.zeros(len(out), dtype=np.int64)
        out["first_day"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]")
        out["last_day"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]")
    out = out.reset_index()
    out["expert_id"] = out["expert_id"].astype(object)
    order = np.lexsort((out["expert_id"].to_numpy(dtype=str), -out["booked_days"].to_numpy()))
    return out.iloc[order].reset_index(drop=True)
