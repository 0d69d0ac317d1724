"""Tests for gscp_match.synthetic: validity against the data contract, determinism, correlations, phrase banks, scale.

The validity checkers below are plain Python on purpose: they read each row the way a user's file would be read,
independently of the vectorized generator.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import doctest
import hashlib
import logging
import os
import re
import string
import subprocess
import sys
import time
import zipfile
from collections.abc import Mapping
from importlib import resources

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

from gscp_match.errors import InputError
from gscp_match.synthetic import _banks
from gscp_match.synthetic import _generate as synthetic
from gscp_match.synthetic._banks import BANK_FILES, Country, Seniority, read_bank
from gscp_match.synthetic._generate import (
    EVIDENCE_COLUMNS,
    EXPERT_COLUMNS,
    REQUEST_COLUMNS,
    EvidenceMix,
    RequestMix,
    RosterMix,
    demo_round,
    generate_evidence,
    generate_experts,
    generate_requests,
    generate_round,
)
from gscp_match.tables._vocab import REGIONS, THEMES, normalize_country, normalize_language

log = logging.getLogger(__name__)

CITIES = {city for city, _ in synthetic._CITIES}
CITY_COUNTRY = dict(synthetic._CITIES)
COUNTRY_REGION = {code: row[1] for code, row in synthetic._COUNTRIES.items()}
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


# ----------------------------------------------------------------------------------------------------------------
# Plain-Python checkers
# ----------------------------------------------------------------------------------------------------------------


def _items(cell: str) -> list[str]:
    return cell.split(";") if cell else []


def _date(text: str) -> dt.date:
    assert ISO_DATE.fullmatch(text), text
    return dt.date.fromisoformat(text)


def _working_days(first: dt.date, last: dt.date) -> int:
    return sum((first + dt.timedelta(days=d)).weekday() < 5 for d in range((last - first).days + 1))


def _is_country(code: str) -> bool:
    return len(code) == 2 and normalize_country(code) == code


def check_experts(experts: pd.DataFrame, *, first: str = "2027-01-01", last: str = "2027-12-31") -> list[str]:
    """Every problem with an expert table, one string each (empty list: valid)."""
    problems: list[str] = []
    if tuple(experts.columns) != EXPERT_COLUMNS:
        return [f"columns {list(experts.columns)}"]
    lo, hi = _date(first), _date(last)
    seen: set[str] = set()
    for row in experts.itertuples(index=False):
        r = row._asdict()
        where = r["expert_id"]
        if not all(isinstance(v, str) for v in r.values()):
            problems.append(f"{where}: non-string cell")
            continue
        if where in seen or not where:
            problems.append(f"{where}: duplicate or empty id")
        seen.add(where)
        if not r["name"] or not r["bio"] or r["name"] not in r["bio"]:
            problems.append(f"{where}: name/bio")
        if r["kind"] not in ("individual", "firm"):
            problems.append(f"{where}: kind {r['kind']}")
        if r["kind"] == "firm" and "(synthetic)" not in r["name"]:
            problems.append(f"{where}: firm name not marked synthetic")
        if not _is_country(r["nationality"]):
            problems.append(f"{where}: nationality {r['nationality']}")
        if r["korean_experience"] not in ("true", "false"):
            problems.append(f"{where}: korean_experience")
        langs = _items(r["languages"])
        if not langs or len(set(langs)) != len(langs) or any(normalize_language(x) != x for x in langs):
            problems.append(f"{where}: languages {r['languages']}")
        regions = _items(r["regions"])
        if not regions or len(set(regions)) != len(regions) or any(x not in REGIONS for x in regions):
            problems.append(f"{where}: regions {r['regions']}")
        countries = _items(r["countries"])
        if not countries or len(set(countries)) != len(countries) or not all(map(_is_country, countries)):
            problems.append(f"{where}: countries {r['countries']}")
        if {COUNTRY_REGION.get(c) for c in countries} != set(regions):
            problems.append(f"{where}: regions {regions} do not match countries {countries}")
        themes = _items(r["themes"])
        if not 1 <= len(themes) <= 4 or len(set(themes)) != len(themes) or any(t not in THEMES for t in themes):
            problems.append(f"{where}: themes {r['themes']}")
        if not r["day_rate_usd"].isdigit() or not 350 <= int(r["day_rate_usd"]) <= 1800:
            problems.append(f"{where}: day_rate_usd {r['day_rate_usd']}")
        if not r["max_assignments"].isdigit() or int(r["max_assignments"]) < 1:
            problems.append(f"{where}: max_assignments {r['max_assignments']}")
        intervals = _items(r["busy"])
        if len(intervals) > 4:
            problems.append(f"{where}: {len(intervals)} busy intervals")
        starts = []
        for interval in intervals:
            parts = interval.split("/")
            if len(parts) != 2:
                problems.append(f"{where}: busy {interval}")
                continue
            begin, end = _date(parts[0]), _date(parts[1])
            starts.append(begin)
            if not lo <= begin <= end <= hi:
                problems.append(f"{where}: busy {interval} outside {first}..{last} or reversed")
        if starts != sorted(starts):
            problems.append(f"{where}: busy not sorted by start")
        conflicts = _items(r["conflicts"])
        if len(conflicts) > 1 or any(
            not (_is_country(c) or c in CITIES or any(city in c for city in CITIES)) for c in conflicts
        ):
            problems.append(f"{where}: conflicts {r['conflicts']}")
        if r["synthetic"] != "true":
            problems.append(f"{where}: synthetic")
    return problems


def check_evidence(evidence: pd.DataFrame, expert_ids: set[str], *, last_year: int = 2026) -> list[str]:
    problems: list[str] = []
    if tuple(evidence.columns) != EVIDENCE_COLUMNS:
        return [f"columns {list(evidence.columns)}"]
    for i, row in enumerate(evidence.itertuples(index=False)):
        if row.expert_id not in expert_ids:
            problems.append(f"{i}: unknown expert {row.expert_id}")
        if not row.text or not row.title:
            problems.append(f"{i}: empty text or title")
        if not row.year.isdigit() or not last_year - 15 < int(row.year) <= last_year:
            problems.append(f"{i}: year {row.year}")
        if row.kind not in ("engagement", "publication", "project"):
            problems.append(f"{i}: kind {row.kind}")
        if row.synthetic != "true":
            problems.append(f"{i}: synthetic")
    return problems


def check_requests(
    requests: pd.DataFrame, expert_ids: set[str], *, first: str = "2027-01-01", last: str = "2027-06-30"
) -> list[str]:
    problems: list[str] = []
    if tuple(requests.columns) != REQUEST_COLUMNS:
        return [f"columns {list(requests.columns)}"]
    lo, hi = _date(first), _date(last)
    seen: set[str] = set()
    for row in requests.itertuples(index=False):
        r = row._asdict()
        where = r["request_id"]
        if not all(isinstance(v, str) for v in r.values()):
            problems.append(f"{where}: non-string cell")
            continue
        if where in seen or not where.startswith(r["round"] + "-"):
            problems.append(f"{where}: duplicate id or id not of round {r['round']}")
        seen.add(where)
        if not r["title"] or not r["description"] or not r["client"]:
            problems.append(f"{where}: empty text")
        if not _is_country(r["country"]) or CITY_COUNTRY.get(r["city"]) != r["country"]:
            problems.append(f"{where}: city {r['city']} / country {r['country']}")
        if r["region"] != COUNTRY_REGION[r["country"]] or r["region"] not in REGIONS:
            problems.append(f"{where}: region {r['region']}")
        if r["support_type"] not in ("JIT", "OS"):
            problems.append(f"{where}: support_type")
        begin, end = _date(r["window_start"]), _date(r["window_end"])
        if not lo <= begin <= end <= hi:
            problems.append(f"{where}: window {begin}..{end}")
        days = int(r["days"])
        cap = 30 if r["support_type"] == "JIT" else 60
        if not 1 <= days <= min(cap, _working_days(begin, end)):
            problems.append(f"{where}: days {days} over cap {cap} or working days")
        langs = _items(r["languages"])
        if len(set(langs)) != len(langs) or any(normalize_language(x) != x for x in langs):
            problems.append(f"{where}: languages {r['languages']}")
        themes = _items(r["themes"])
        if not 1 <= len(themes) <= 3 or len(set(themes)) != len(themes) or any(t not in THEMES for t in themes):
            problems.append(f"{where}: themes {r['themes']}")
        if r["korean_experience"] not in ("true", "false"):
            problems.append(f"{where}: korean_experience")
        if r["experts_needed"] not in ("1", "2"):
            problems.append(f"{where}: experts_needed")
        if r["budget_usd"] and (not r["budget_usd"].isdigit() or int(r["budget_usd"]) <= 0):
            problems.append(f"{where}: budget_usd {r['budget_usd']}")
        if any(x not in expert_ids for x in _items(r["exclude_experts"])):
            problems.append(f"{where}: exclude_experts {r['exclude_experts']}")
        if r["synthetic"] != "true":
            problems.append(f"{where}: synthetic")
    return problems


# ----------------------------------------------------------------------------------------------------------------
# Fixtures
# ----------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def experts() -> pd.DataFrame:
    return generate_experts(4000, seed=11)


@pytest.fixture(scope="module")
def requests(experts: pd.DataFrame) -> pd.DataFrame:
    return generate_requests(2000, seed=12, expert_ids=experts["expert_id"].tolist())


# ----------------------------------------------------------------------------------------------------------------
# Contract and validity
# ----------------------------------------------------------------------------------------------------------------


def test_experts_valid(experts: pd.DataFrame) -> None:
    assert check_experts(experts) == []
    assert all(pd.api.types.is_string_dtype(t) for t in experts.dtypes)
    assert experts["expert_id"].iloc[0] == "SX0001"


def test_requests_valid(requests: pd.DataFrame, experts: pd.DataFrame) -> None:
    assert check_requests(requests, set(experts["expert_id"])) == []
    assert all(pd.api.types.is_string_dtype(t) for t in requests.dtypes)


def test_evidence_valid(experts: pd.DataFrame) -> None:
    evidence = generate_evidence(experts, seed=13)
    assert check_evidence(evidence, set(experts["expert_id"])) == []
    assert 1.35 < len(evidence) / len(experts) < 1.65
    # Grouped by expert in roster order.
    order = evidence["expert_id"].map({e: i for i, e in enumerate(experts["expert_id"])})
    assert order.is_monotonic_increasing


def test_checkers_catch_broken_rows(experts: pd.DataFrame, requests: pd.DataFrame) -> None:
    """The checkers are what the other tests rely on: they must fail on bad rows."""
    bad = experts.head(3).copy()
    bad.loc[0, "themes"] = "mobility;teleportation"
    bad.loc[1, "busy"] = "2027-03-05/2027-03-01"
    bad.loc[2, "expert_id"] = bad.loc[1, "expert_id"]
    assert len(check_experts(bad)) == 3
    bad_requests = requests.head(2).copy()
    bad_requests.loc[0, "days"] = "31" if bad_requests.loc[0, "support_type"] == "JIT" else "61"
    bad_requests.loc[1, "exclude_experts"] = "SX9999999"
    assert len(check_requests(bad_requests, set(experts["expert_id"]))) == 2


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(0, 40),
    seed=st.integers(0, 2**32),
    start=st.dates(dt.date(2020, 1, 1), dt.date(2035, 12, 31)),
    months=st.integers(1, 14),
)
def test_any_size_seed_and_period_is_valid(n: int, seed: int, start: dt.date, months: int) -> None:
    first = start.isoformat()
    end = (np.datetime64(first, "M") + months).astype("datetime64[D]") + (start.day - 1)
    last = str(end - 1)
    experts = generate_experts(n, seed=seed, start=first, months=months)
    assert experts.shape == (n, len(EXPERT_COLUMNS))
    assert check_experts(experts, first=first, last=last) == []
    requests = generate_requests(n, seed=seed, start=first, months=months, expert_ids=experts["expert_id"])
    assert requests.shape == (n, len(REQUEST_COLUMNS))
    assert check_requests(requests, set(experts["expert_id"]), first=first, last=last) == []
    evidence = generate_evidence(experts, seed=seed, last_year=start.year - 1)
    assert check_evidence(evidence, set(experts["expert_id"]), last_year=start.year - 1) == []


# ----------------------------------------------------------------------------------------------------------------
# Determinism
# ----------------------------------------------------------------------------------------------------------------


def test_same_seed_same_tables_and_different_seed_differs() -> None:
    a = generate_round(300, 20, seed=7)
    b = generate_round(300, 20, seed=7)
    c = generate_round(300, 20, seed=8)
    for key in ("experts", "evidence", "requests"):
        assert_frame_equal(a[key], b[key])
        assert not a[key].equals(c[key])
    assert_frame_equal(
        generate_experts(50, seed=np.random.default_rng(3)), generate_experts(50, seed=np.random.default_rng(3))
    )
    assert list(a["experts"].columns) == list(EXPERT_COLUMNS)
    assert list(a["evidence"].columns) == list(EVIDENCE_COLUMNS)
    assert list(a["requests"].columns) == list(REQUEST_COLUMNS)


def test_prefix_of_a_larger_roster_is_not_required_but_ids_are_stable() -> None:
    small, large = generate_experts(9, seed=1), generate_experts(12000, seed=1)
    assert small["expert_id"].tolist()[:3] == ["SX0001", "SX0002", "SX0003"]
    assert large["expert_id"].iloc[-1] == "SX12000"
    assert large["expert_id"].str.len().nunique() == 1


# ----------------------------------------------------------------------------------------------------------------
# Realism: shares and correlations
# ----------------------------------------------------------------------------------------------------------------


def test_expert_shares_and_correlations(experts: pd.DataFrame) -> None:
    korean = experts["nationality"] == "KR"
    firm = experts["kind"] == "firm"
    assert 0.57 < korean.mean() < 0.63
    assert 0.035 < firm.mean() < 0.065
    kx = experts["korean_experience"] == "true"
    assert kx[korean].all()
    assert 0.21 < kx[~korean].mean() < 0.29
    langs = experts["languages"].str.split(";")
    assert langs[korean].map(lambda xs: "ko" in xs).all()
    assert langs[korean].map(lambda xs: "en" in xs).mean() > 0.9
    # Spanish or Portuguese goes with Latin America; Arabic or French with MNA; Russian with ECA.
    regions = experts["regions"].str.split(";")
    for region, tongues in (("LAC", {"es", "pt"}), ("MNA", {"ar", "fr"}), ("ECA", {"ru"})):
        worked = regions.map(lambda rs, region=region: region in rs) & ~korean
        speaks = langs.map(lambda xs, tongues=tongues: bool(tongues & set(xs)))
        assert speaks[worked].mean() > speaks[~worked & ~korean].mean() + 0.15, region
    rate = experts["day_rate_usd"].astype(int)
    assert rate[firm].mean() > rate[~firm].mean() + 300
    slots = experts["max_assignments"].astype(int)
    assert slots[firm].between(3, 5).all()
    assert (slots[~firm] == 1).mean() > 0.6 and slots[~firm].max() >= 3
    n_themes = experts["themes"].str.count(";") + 1
    assert set(n_themes) == {1, 2, 3, 4}
    assert set(";".join(experts["regions"]).split(";")) == set(REGIONS)
    has_conflict = experts["conflicts"] != ""
    assert 0.035 < has_conflict.mean() < 0.065
    kinds = experts.loc[has_conflict, "conflicts"].map(lambda c: "country" if _is_country(c) else c in CITIES)
    assert set(kinds) == {"country", True, False}  # a country, a city and an organisation all occur


def test_busy_calendars_have_overlaps_touches_and_weekend_starts(experts: pd.DataFrame) -> None:
    counts = experts["busy"].map(lambda b: len(_items(b)))
    assert set(counts) == {0, 1, 2, 3, 4}
    touching = overlapping = weekend = 0
    for cell in experts["busy"]:
        spans = [tuple(map(_date, iv.split("/"))) for iv in _items(cell)]
        weekend += sum(b.weekday() >= 5 for b, _ in spans)
        for (_, e1), (b2, _) in zip(spans, spans[1:], strict=False):
            touching += b2 == e1 + dt.timedelta(days=1)
            overlapping += b2 <= e1
    assert touching > 20 and overlapping > 20 and weekend > 100


def test_bios_use_the_right_acronyms(experts: pd.DataFrame) -> None:
    where = {
        "TOPIS": {"public_transport", "data_platform"},
        "ATSC": {"mobility"},
        "FTMS": {"mobility"},
        "C-ITS": {"mobility"},
        "BRT": {"public_transport"},
        "BIS": {"public_transport"},
        "NRW": {"water"},
        "KONEPS": {"e_government"},
        "IOC": {"data_platform", "public_safety"},
        "SDI": {"geospatial"},
    }
    themes = experts["themes"].str.split(";").map(set)
    for acronym, allowed in where.items():
        uses = experts["bio"].str.contains(rf"\b{re.escape(acronym)}\b", regex=True)
        assert uses.sum() > 5, acronym
        assert themes[uses].map(lambda ts, allowed=allowed: bool(ts & allowed)).all(), acronym
    # Varied: many distinct opening sentences, no unfilled placeholders.
    assert experts["bio"].str.split(". ", regex=False).str[0].str.replace(r"\d+", "", regex=True).nunique() > 1000
    assert not experts["bio"].str.contains(r"[{}]|  |\ba [aeiou]", regex=True).any()


def test_request_shares_windows_and_coherence(requests: pd.DataFrame, experts: pd.DataFrame) -> None:
    assert 0.56 < (requests["support_type"] == "JIT").mean() < 0.64
    assert 0.17 < (requests["korean_experience"] == "true").mean() < 0.23
    assert 0.25 < (requests["budget_usd"] == "").mean() < 0.35
    assert 0.8 < (requests["experts_needed"] == "1").mean() < 0.9
    assert 0.07 < (requests["exclude_experts"] != "").mean() < 0.13
    langs = requests["languages"]
    assert (langs == "").mean() > 0.03 and langs.str.contains("en").mean() > 0.8
    assert (langs.str.count(";") == 1).mean() > 0.05  # English plus a local language
    assert set(requests["region"]) == set(REGIONS)
    weeks = (pd.to_datetime(requests["window_end"]) - pd.to_datetime(requests["window_start"])).dt.days + 1
    assert weeks.between(28, 140).all() and weeks.nunique() > 10
    # Practice group follows the main theme.
    practice = requests["themes"].str.split(";").str[0].map(synthetic._THEME_PRACTICE_GROUP)
    assert (practice == requests["practice_group"]).all()
    # Windows overlap each other.
    first = requests.head(50)
    overlaps = sum(
        a.window_start <= b.window_end and b.window_start <= a.window_end
        for i, a in enumerate(first.itertuples())
        for b in list(first.itertuples())[i + 1 :]
    )
    assert overlaps > 100
    # Budgets are plausible for the days asked.
    with_budget = requests[requests["budget_usd"] != ""]
    per_day = with_budget["budget_usd"].astype(int) / (
        with_budget["days"].astype(int) * with_budget["experts_needed"].astype(int)
    )
    assert per_day.between(300, 2500).all()
    assert not requests["description"].str.contains(r"[{}]", regex=True).any()
    assert requests.apply(lambda r: r["city"] in r["title"] or r["city"] in r["description"], axis=1).mean() > 0.9


def test_no_exclusions_without_a_roster() -> None:
    assert (generate_requests(300, seed=1)["exclude_experts"] == "").all()
    assert (generate_requests(300, seed=1, expert_ids=["only"])["exclude_experts"].isin(["", "only"])).all()


# ----------------------------------------------------------------------------------------------------------------
# The demo round
# ----------------------------------------------------------------------------------------------------------------


def _eligible(expert: pd.Series, request: pd.Series) -> bool:
    """Shares a theme, speaks every language asked and is free on at least the days asked."""
    if not set(_items(expert["themes"])) & set(_items(request["themes"])):
        return False
    if not set(_items(request["languages"])) <= set(_items(expert["languages"])):
        return False
    begin, end = _date(request["window_start"]), _date(request["window_end"])
    busy = [tuple(map(_date, iv.split("/"))) for iv in _items(expert["busy"])]
    free = sum(
        (begin + dt.timedelta(d)).weekday() < 5 and not any(b <= begin + dt.timedelta(d) <= e for b, e in busy)
        for d in range((end - begin).days + 1)
    )
    return free >= int(request["days"])


@pytest.mark.parametrize("seed", [2027, 1, 2])
def test_demo_round_shows_the_reported_matches(seed: int) -> None:
    demo = demo_round(seed=seed)
    experts, evidence, requests = demo["experts"], demo["evidence"], demo["requests"]
    assert len(experts) == 200 and len(requests) == 12
    assert requests["request_id"].tolist() == [f"DEMO-{i:03d}" for i in range(1, 13)]
    assert (requests["round"] == "DEMO").all()
    assert check_experts(experts) == []
    assert check_requests(requests, set(experts["expert_id"])) == []
    assert check_evidence(evidence, set(experts["expert_id"])) == []
    egypt, ulaanbaatar, rabat = (requests.iloc[i] for i in range(3))
    assert egypt["country"] == "EG" and "new_towns" in egypt["themes"] and "new town" in egypt["description"]
    assert ulaanbaatar["city"] == "Ulaanbaatar" and "mobility" in ulaanbaatar["themes"]
    assert "signal control" in ulaanbaatar["description"] and "freeway traffic management" in ulaanbaatar["description"]
    assert rabat["city"] == "Rabat" and "public_transport" in rabat["themes"]
    assert "TOPIS" in rabat["description"] and "2004 public transport reform" in rabat["description"]
    # The reported matches have several candidates; every other request has at least one.
    for i in range(len(requests)):
        request = requests.iloc[i]
        matches = sum(_eligible(experts.iloc[j], request) for j in range(len(experts)))
        assert matches >= (3 if i < 3 else 1), request["request_id"]
    assert_frame_equal(demo["requests"], demo_round(seed=seed)["requests"])


# ----------------------------------------------------------------------------------------------------------------
# Input errors
# ----------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: generate_experts(-1), "n must be"),
        (lambda: generate_experts(3, seed="x"), "seed must be"),  # type: ignore[arg-type]
        (lambda: generate_experts(3, seed=True), "seed must be"),
        (lambda: generate_experts(3, start="2027-13-01"), "ISO date"),
        (lambda: generate_experts(3, start="01/02/2027"), "ISO date"),
        (lambda: generate_experts(3, months=0), "months"),
        (lambda: generate_experts(3, korean_share=1.5), "korean_share"),
        (lambda: generate_requests(3, round=""), "round"),
        (lambda: generate_evidence(pd.DataFrame({"expert_id": ["a"]})), "missing column"),
        (lambda: generate_evidence(pd.DataFrame({"expert_id": ["a"], "themes": ["x"], "countries": [""]})), "'x'"),
        (lambda: generate_experts(3, firm_share=1.5), "firm_share"),
    ],
)
def test_bad_arguments_raise_input_error(call, message: str) -> None:
    with pytest.raises(InputError, match=message):
        call()


def test_unknown_options_are_rejected() -> None:
    with pytest.raises(TypeError):
        generate_experts(3, sede=1)  # type: ignore[call-arg]


def test_evidence_from_a_users_roster() -> None:
    """Unknown countries and empty themes are tolerated; places then come from the built-in city list."""
    roster = pd.DataFrame(
        {
            "expert_id": ["u1", "u2", "u3"],
            "themes": ["water", "", " mobility ; data_platform"],
            "countries": ["KE", "US;ZZ", ""],
        }
    )
    evidence = generate_evidence(roster, seed=0, per_expert=6)
    assert check_evidence(evidence, {"u1", "u2", "u3"}) == []
    kenya = evidence[evidence["expert_id"] == "u1"]
    assert len(kenya) and kenya["text"].str.contains("Kenya").all()
    assert generate_evidence(roster.head(0), seed=0).shape == (0, len(EVIDENCE_COLUMNS))


# ----------------------------------------------------------------------------------------------------------------
# Phrase banks (data files) and the mix
# ----------------------------------------------------------------------------------------------------------------


def _strings(value, *, empty: bool = False) -> list[str]:
    """Every leaf of a bank, asserting it is a string, non-empty unless ``empty`` (mapping keys are leaves too)."""
    if isinstance(value, str):
        assert empty or value.strip(), "empty string in a phrase bank"
        return [value]
    if isinstance(value, Mapping):
        assert value, "empty mapping in a phrase bank"
        return [s for key, item in value.items() for s in (*_strings(key), *_strings(item, empty=empty))]
    assert isinstance(value, tuple) and value, f"expected a non-empty list of strings, got {value!r}"
    return [s for item in value for s in _strings(item, empty=empty)]


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


@pytest.mark.parametrize("name", BANK_FILES)
def test_every_phrase_bank_loads_and_holds_strings(name: str) -> None:
    bank = read_bank(name)
    assert bank, name
    assert read_bank(name) is bank  # read once
    if name == "places.json":
        assert set(_strings(bank["languages"])) and set(_strings(bank["region_names"])) >= set(REGIONS)
        assert list(bank["region_names"]) == list(REGIONS)
        for code, country in bank["countries"].items():
            assert isinstance(country, Country) and _strings(country.name) and _strings(country.languages)
            assert set(country.languages) <= set(bank["languages"]), code
            assert country.region in ("", *REGIONS) and country.work_language in ("", *bank["languages"]), code
        assert all(len(_strings(city)) == 2 and city[1] in bank["countries"] for city in bank["cities"])
    elif name == "themes.json":
        assert list(bank["text"]) == list(THEMES)
        for theme, text in bank["text"].items():
            assert set(text) == {"roles", "np", "vp", "title", "problem", "kref"}, theme
            assert isinstance(text["kref"], str) and all(isinstance(text[k], tuple) for k in set(text) - {"kref"})
            _strings(text)
            assert all(_placeholders(t) <= {"city", "country"} for t in text["title"] + text["problem"]), theme
        assert set(bank["weights"]) == set(THEMES) and all(w > 0 for w in bank["weights"].values())
        assert set(bank["related"]) == set(THEMES) and set(_strings(bank["related"])) <= set(THEMES)
        assert set(_strings(bank["practice_group"])) - set(THEMES) <= set(bank["practice_clients"])
        assert all(
            _placeholders(t) <= {"city"} for t in _strings(bank["practice_clients"]) + _strings(bank["conflict_orgs"])
        )
    elif name == "names.json":
        _strings(bank)
        assert all(isinstance(bank[key], tuple) for key in bank if key != "firm_b")
        assert set(bank["firm_b"]) == set(THEMES)
    elif name == "seniority.json":
        for row in bank:
            assert isinstance(row, Seniority) and _strings(row.label)
            assert isinstance(row.min_years, int) and isinstance(row.max_years, int) and row.min_years <= row.max_years
            assert isinstance(row.rate_factor, float) and row.rate_factor > 0
        assert len(RosterMix().seniority) == len(bank)
    elif name == "templates.json":
        _strings(bank)
        # Paired groups are drawn with one count, so they must have the same length.
        assert len(bank["bio"]["korean"]["national"]) == len(bank["bio"]["korean"]["other"])
        assert len(bank["requests"]["support"]["JIT"]) == len(bank["requests"]["support"]["OS"])
    elif name == "demo.json":
        _strings(bank, empty=True)  # an empty cell is a missing value (no budget)
        assert all(set(row) < set(REQUEST_COLUMNS) for row in bank["showcase_requests"])
        assert all(set(changes) <= {*REQUEST_COLUMNS, "description+"} for changes in bank["contention"].values())


def test_bank_files_are_package_resources(tmp_path, monkeypatch) -> None:
    """The banks are read through importlib.resources (so from a wheel or a zip), not from a source-tree path."""
    data = resources.files("gscp_match.synthetic").joinpath("data")
    assert sorted(p.name for p in data.iterdir() if p.name.endswith(".json")) == sorted(BANK_FILES)
    # The same files served from a zip archive, with one entry changed: read_bank must see the change.
    archive = tmp_path / "banks.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in BANK_FILES:
            text = data.joinpath(name).read_text(encoding="utf-8")
            if name == "names.json":
                text = text.replace('"Hanbit"', '"Zipfirm"')
            zf.writestr(f"gscp_match/synthetic/data/{name}", text)
    anchors: list[str] = []

    def files(anchor):
        anchors.append(anchor)
        return zipfile.Path(archive, "gscp_match/synthetic/")

    monkeypatch.setattr(_banks.resources, "files", files)
    read_bank.cache_clear()
    try:
        assert read_bank("names.json")["firm_a"][0] == "Zipfirm"
        assert anchors == ["gscp_match.synthetic"]
    finally:
        read_bank.cache_clear()
    monkeypatch.undo()
    assert read_bank("names.json")["firm_a"][0] == "Hanbit"


def test_nothing_is_read_at_import() -> None:
    code = (
        "from gscp_match.synthetic import _banks, _generate\n"
        "assert _banks.read_bank.cache_info().currsize == 0\n"
        "assert _generate._lookups.cache_info().currsize == 0\n"
        "_generate.generate_requests(2)\n"
        "assert _banks.read_bank.cache_info().currsize > 0\n"
    )
    subprocess.run(
        [sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    )


def test_unknown_bank_and_former_names() -> None:
    with pytest.raises(KeyError, match="places.json"):
        read_bank("nope.json")
    # Former module-level names read the banks and lookup tables; they are plain copies.
    assert synthetic._CITIES[0] == ("Ulaanbaatar", "MN") and isinstance(synthetic._THEME_PRACTICE_GROUP, dict)
    synthetic._THEME_PRACTICE_GROUP["strategy"] = "changed"
    assert synthetic._THEME_PRACTICE_GROUP["strategy"] == "Urban/Resilience/Land"
    assert synthetic._SENIORITY[1] == ("senior", 12, 22, 1.0)
    assert synthetic._THEME_CODE_T.to_pylist() == [*THEMES, None]
    with pytest.raises(AttributeError):
        synthetic._NO_SUCH_BANK  # noqa: B018


def test_mixes_are_frozen_and_used(monkeypatch) -> None:
    mix = RosterMix()
    with pytest.raises(dataclasses.FrozenInstanceError):
        mix.conflict = 0.5  # type: ignore[misc]
    with pytest.raises(TypeError):
        mix.region_weights["AFR"] = 1.0  # type: ignore[index]
    assert set(mix.region_weights) == set(mix.learn_language) == set(REGIONS)
    monkeypatch.setattr(synthetic, "_ROSTER_MIX", RosterMix(conflict=1.0, firm_years=(7, 7)))
    experts = generate_experts(200, seed=1, firm_share=0.5)
    assert (experts["conflicts"] != "").all()
    assert experts.loc[experts["kind"] == "firm", "bio"].str.contains(" 7 years").all()
    monkeypatch.setattr(synthetic, "_REQUEST_MIX", RequestMix(no_budget=0.0, exclusion=1.0))
    requests = generate_requests(50, seed=1, expert_ids=["A", "B"])
    assert (requests["budget_usd"] != "").all() and requests["exclude_experts"].isin(["A", "B"]).all()
    monkeypatch.setattr(synthetic, "_EVIDENCE_MIX", EvidenceMix(kinds=(0.0, 1.0, 0.0), years_back=1))
    evidence = generate_evidence(experts, seed=1, last_year=2020)
    assert (evidence["kind"] == "publication").all() and (evidence["year"] == "2020").all()


# Digests of tables generated before the phrase banks moved to data files: the draw order and every phrase are
# pinned, so a change to either shows up here.
GOLDEN = {
    "experts": "ea2e3384d4a1710e350c23e7d3670d0629c8f308605c4de4497debb8b6a913d9",
    "evidence": "6af589e39adcad9f2e65b4a95da6a1e323739156fa1036d0a208c8ba76dfc643",
    "requests": "8372e6f83c710354b39df66ac5d474e691cac28ae3c458a003eb9f530f951376",
    "demo_requests": "0937c5cd0ae04ff896a1d54389afd90367f2a562692ba57c25b3112cf1529936",
}


def _digest(frame: pd.DataFrame) -> str:
    return hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()


def test_tables_are_unchanged_for_a_fixed_seed() -> None:
    tables = generate_round(300, 40, seed=7)
    got = {name: _digest(frame) for name, frame in tables.items()}
    got["demo_requests"] = _digest(demo_round()["requests"])
    assert got == GOLDEN


# ----------------------------------------------------------------------------------------------------------------
# Vectorized helpers against plain loops
# ----------------------------------------------------------------------------------------------------------------

TABLE = ["alpha", "b", "", "c d", "Ünï"]


@st.composite
def slot_matrices(draw, max_k: int = 5):
    n = draw(st.integers(0, 30))
    k = draw(st.integers(1, max_k))
    idx = np.array(draw(st.lists(st.integers(0, len(TABLE) - 1), min_size=n * k, max_size=n * k)), dtype=np.int64)
    valid = np.array(draw(st.lists(st.booleans(), min_size=n * k, max_size=n * k)), dtype=bool)
    return idx.reshape(n, k), valid.reshape(n, k)


def _as_list(arr: pa.Array) -> list[str | None]:
    return arr.to_pylist()


@settings(max_examples=80, deadline=None)
@given(slot_matrices(), st.sampled_from([";", " ", ", "]))
def test_join_matches_loop(slots, sep: str) -> None:
    idx, valid = slots
    got = _as_list(synthetic._join(synthetic._table(TABLE), idx, valid, sep))
    want = [sep.join(TABLE[i] for i, v in zip(row, ok, strict=True) if v) for row, ok in zip(idx, valid, strict=True)]
    assert got == want


@settings(max_examples=80, deadline=None)
@given(slot_matrices())
def test_join_prose_matches_loop(slots) -> None:
    idx, valid = synthetic._compact(*slots)
    got = _as_list(synthetic._join_prose(synthetic._table(TABLE), idx, valid))
    want = []
    for row, ok in zip(idx, valid, strict=True):
        words = [TABLE[i] for i, v in zip(row, ok, strict=True) if v]
        want.append(words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1] if words else "")
    assert got == want


@settings(max_examples=80, deadline=None)
@given(slot_matrices())
def test_dedupe_compact_and_sorted_set_match_loops(slots) -> None:
    idx, valid = slots
    keep = synthetic._dedupe(idx, valid)
    compact_idx, compact_valid = synthetic._compact(idx, keep)
    sorted_idx, sorted_valid = synthetic._sorted_set(idx, valid)
    for row, ok, kept, c_row, c_ok, s_row, s_ok in zip(
        idx, valid, keep, compact_idx, compact_valid, sorted_idx, sorted_valid, strict=True
    ):
        firsts: list[int] = []
        for i, v in zip(row, ok, strict=True):
            if v and i not in firsts:
                firsts.append(int(i))
        assert [int(i) for i, v in zip(row, kept, strict=True) if v] == firsts
        assert c_row[c_ok].tolist() == firsts and c_ok.tolist() == sorted(c_ok.tolist(), reverse=True)
        assert s_row[s_ok].tolist() == sorted(firsts) and s_ok.sum() == len(firsts)
        assert s_ok.tolist() == sorted(s_ok.tolist(), reverse=True)


@settings(max_examples=80, deadline=None)
@given(
    st.integers(0, 40),
    st.lists(st.text(alphabet="ab {x}{y}", max_size=12), min_size=1, max_size=5),
    st.randoms(use_true_random=False),
)
def test_fill_matches_str_format(n: int, raw_templates: list[str], random) -> None:
    # Keep only templates that str.format can read.
    templates = []
    for t in raw_templates:
        try:
            t.format(x="", y="")
        except (ValueError, IndexError, KeyError):
            continue
        if all(f in (None, "x", "y") for _, f, _, _ in string.Formatter().parse(t)):
            templates.append(t)
    if not templates:
        templates = ["{x}-{y}"]
    choice = np.array([random.randrange(len(templates)) for _ in range(n)], dtype=np.int64)
    active = np.array([random.random() < 0.8 for _ in range(n)], dtype=bool)
    xs = [random.choice(TABLE) for _ in range(n)]
    y_idx = np.array([random.randrange(len(TABLE)) for _ in range(n)], dtype=np.int64)
    fields = {"x": pa.array(xs, type=pa.large_string()), "y": (synthetic._table(TABLE), y_idx)}
    got = _as_list(synthetic._fill(templates, choice, fields, active=active))
    want = [
        templates[c].format(x=x, y=TABLE[y]) if a else None
        for c, a, x, y in zip(choice, active, xs, y_idx, strict=True)
    ]
    assert got == want


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.one_of(st.none(), st.sampled_from(TABLE)), min_size=3, max_size=3), max_size=30))
def test_sentences_match_loop(rows: list[list[str | None]]) -> None:
    parts = [pa.array([r[j] for r in rows], type=pa.large_string()) for j in range(3)]
    got = _as_list(synthetic._sentences(*parts)) if rows else []
    want = [" ".join(s for s in r if s is not None) for r in rows]
    assert got == want


def test_module_doctests() -> None:
    result = doctest.testmod(synthetic, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 5 and result.failed == 0


# ----------------------------------------------------------------------------------------------------------------
# Scale
# ----------------------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_two_hundred_thousand_experts() -> None:
    """Shape and validity at scale; the time is recorded (printed and logged), never asserted."""
    started = time.perf_counter()
    experts = generate_experts(200_000, seed=2027)
    seconds = time.perf_counter() - started
    print(f"generate_experts(200_000): {seconds:.2f} s")
    log.info("generate_experts(200_000): %.2f s", seconds)
    assert experts.shape == (200_000, len(EXPERT_COLUMNS))
    assert experts["expert_id"].is_unique
    assert experts["expert_id"].iloc[-1] == "SX200000"
    sample = experts.sample(20_000, random_state=0)
    assert check_experts(sample) == []
    assert not experts.isna().any().any()
    assert experts["themes"].str.split(";").explode().isin(list(THEMES)).all()
    assert experts["bio"].str.len().between(150, 1500).all()
