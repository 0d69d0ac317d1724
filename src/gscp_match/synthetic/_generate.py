"""Seeded synthetic experts, evidence and requests that follow the data contract.

Everything here is made up: names are built from invented syllables, firms carry "(synthetic)" in their name and
every row has ``synthetic == "true"``. The tables look like a real round (themes, regions, countries, languages and
calendars are correlated the way they are in the program) so that the matcher, its benchmarks and the demo have
something meaningful to work on, at any size.

All tables are returned as pandas DataFrames of strings in file form: list cells are ``;``-separated, booleans are
``true``/``false``, dates are ISO ``YYYY-MM-DD`` and an empty string is a missing value. Nothing is written; the
phrase banks (places, themes, names, sentence templates, the demo's showcase requests) are read once, on first use,
from the package's ``data/*.json`` files (see :mod:`gscp_match.synthetic._banks`). The shares and ranges the
generators draw from are the fields of :class:`RosterMix`, :class:`EvidenceMix` and :class:`RequestMix`.

The generators are vectorized: random integer arrays choose rows of small phrase tables and Arrow compute kernels
assemble the text (one multi-way concatenation per template), so ``generate_experts(1_000_000)`` takes seconds, not
minutes. Columns come back as pandas' Arrow-backed string dtype.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import string
from collections.abc import Mapping, Sequence, Sized
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from gscp_match.errors import InputError
from gscp_match.synthetic._banks import read_bank, thaw
from gscp_match.tables._vocab import REGIONS, SUPPORT_DAY_CAPS, THEMES

__all__ = [
    "EXPERT_COLUMNS",
    "EVIDENCE_COLUMNS",
    "REQUEST_COLUMNS",
    "RosterMix",
    "EvidenceMix",
    "RequestMix",
    "generate_experts",
    "generate_evidence",
    "generate_requests",
    "generate_round",
    "demo_round",
]

logger = logging.getLogger(__name__)

#: Column order of the tables the generators return (``synthetic`` is an extra column allowed by the contract).
EXPERT_COLUMNS: tuple[str, ...] = (
    "expert_id",
    "name",
    "bio",
    "kind",
    "nationality",
    "korean_experience",
    "languages",
    "regions",
    "countries",
    "themes",
    "day_rate_usd",
    "busy",
    "max_assignments",
    "conflicts",
    "synthetic",
)
EVIDENCE_COLUMNS: tuple[str, ...] = ("expert_id", "text", "title", "year", "kind", "synthetic")
REQUEST_COLUMNS: tuple[str, ...] = (
    "request_id",
    "title",
    "description",
    "country",
    "city",
    "client",
    "region",
    "practice_group",
    "support_type",
    "days",
    "window_start",
    "window_end",
    "languages",
    "themes",
    "korean_experience",
    "experts_needed",
    "budget_usd",
    "exclude_experts",
    "round",
    "synthetic",
)

_REGION_CODES: tuple[str, ...] = tuple(REGIONS)
_THEME_CODES: tuple[str, ...] = tuple(THEMES)
_EVIDENCE_KINDS: tuple[str, ...] = ("engagement", "publication", "project")

# --------------------------------------------------------------------------------------------------------------
# The mix: shares and ranges the generators draw from
# --------------------------------------------------------------------------------------------------------------
# A tuple of weights of length k draws one of k outcomes (weights are normalized, they need not sum to one); a
# ``(low, high)`` pair of ints is an inclusive range. The defaults are the program's mix; changing one changes the
# tables for every seed.


def _frozen(mapping: Mapping[str, float]) -> Any:
    return dataclasses.field(default_factory=lambda: MappingProxyType(dict(mapping)))


@dataclass(frozen=True, slots=True)
class RosterMix:
    """Shares and ranges of a synthetic roster (:func:`generate_experts`), besides its Korean and firm shares."""

    #: Share of the non-Korean experts who are nationals of a client country (the others come from elsewhere).
    from_client_country: float = 0.55
    #: Weights of 1, 2, 3 or 4 themes per expert.
    theme_counts: tuple[float, ...] = (0.2, 0.35, 0.3, 0.15)
    #: Chance that a theme after the main one is related to it (else any theme).
    related_theme: float = 0.8
    #: Weights of the regions worked in (the home region comes first for nationals of client countries).
    region_weights: Mapping[str, float] = _frozen(
        {"AFR": 0.13, "EAP": 0.3, "ECA": 0.2, "LAC": 0.12, "MNA": 0.15, "SAR": 0.1}
    )
    #: Weights of 1, 2 or 3 regions worked in.
    region_counts: tuple[float, ...] = (0.45, 0.35, 0.2)
    #: Weights of 1 to 5 countries worked in (drawn inside those regions).
    country_counts: tuple[float, ...] = (0.3, 0.3, 0.2, 0.12, 0.08)
    #: Chance of speaking the second language of one's home country, when it has one.
    second_home_language: float = 0.7
    #: Chance of speaking English, for Korean nationals and for the others.
    english_korean: float = 0.97
    english_other: float = 0.92
    #: Chance of speaking the language of a country worked in, by region of that country ...
    learn_language: Mapping[str, float] = _frozen(
        {"AFR": 0.3, "EAP": 0.2, "ECA": 0.4, "LAC": 0.55, "MNA": 0.4, "SAR": 0.15}
    )
    #: ... times this factor for Korean nationals.
    learn_language_korean: float = 0.5
    #: Chance that the language learnt in a two-language country is its second one.
    learn_second_language: float = 0.5
    #: Chance that an expert who is not Korean has Korean experience (Korean nationals all have).
    korean_experience_other: float = 0.25
    #: Weights of the levels of ``seniority.json``, in file order (mid-career, senior, lead, principal).
    seniority: tuple[float, ...] = (0.25, 0.4, 0.2, 0.15)
    #: Years of practice of a firm.
    firm_years: tuple[int, int] = (5, 30)
    #: An individual's day rate (USD) is log-normal around this median, times the seniority factor ...
    day_rate_median: float = 650.0
    #: ... with this standard deviation of its logarithm.
    day_rate_sigma: float = 0.3
    #: A firm's day rate (USD) is uniform in this range.
    firm_day_rate: tuple[float, float] = (1000.0, 1800.0)
    #: Every day rate is clipped to this range, then rounded to a multiple of ``day_rate_step``.
    day_rate_bounds: tuple[float, float] = (350.0, 1800.0)
    day_rate_step: int = 10
    #: Most concurrent assignments of a firm ...
    firm_max_assignments: tuple[int, int] = (3, 5)
    #: ... and weights of 1, 2 or 3 for an individual.
    max_assignments: tuple[float, ...] = (0.75, 0.18, 0.07)
    #: Weights of 0 to 4 busy intervals per expert.
    busy_counts: tuple[float, ...] = (0.3, 0.3, 0.2, 0.12, 0.08)
    #: Mean length of a busy interval in days (geometric), and its longest length.
    busy_mean_days: float = 12
    busy_max_days: int = 60
    #: Weights of where a busy interval starts: anywhere, right after the one before, or inside it.
    busy_placement: tuple[float, float, float] = (0.75, 0.12, 0.13)
    #: Share of experts who declare a conflict of interest ...
    conflict: float = 0.05
    #: ... and weights of its kind: a country worked in, a city, a city client organisation.
    conflict_kinds: tuple[float, float, float] = (0.4, 0.3, 0.3)


@dataclass(frozen=True, slots=True)
class EvidenceMix:
    """Shares and ranges of synthetic evidence (:func:`generate_evidence`), besides its records per expert."""

    #: Weights of the record kinds: engagement, publication, project.
    kinds: tuple[float, float, float] = (0.5, 0.2, 0.3)
    #: Records go back up to this many years before the last year (exclusive).
    years_back: int = 15


@dataclass(frozen=True, slots=True)
class RequestMix:
    """Shares and ranges of a synthetic request round (:func:`generate_requests`)."""

    #: Weights of 1, 2 or 3 themes per request.
    theme_counts: tuple[float, ...] = (0.35, 0.45, 0.2)
    #: Chance that a theme after the main one is related to it (else any theme).
    related_theme: float = 0.8
    #: Share of operational-support (OS) requests; the others are just-in-time (JIT).
    operational_support: float = 0.4
    #: Length of the request window in whole weeks.
    window_weeks: tuple[int, int] = (4, 20)
    #: Fewest days asked by a JIT and by an OS request (the most is the support type's cap).
    min_days_jit: int = 5
    min_days_os: int = 15
    #: Chance of asking for English ...
    english: float = 0.85
    #: ... and for the country's working language (a smaller language only beside English).
    local_language: float = 0.35
    #: Working languages that may be asked for without English.
    lingua_francas: tuple[str, ...] = ("fr", "es", "pt", "ru", "ar")
    #: Chance of asking for Korean experience ...
    korean_experience: float = 0.2
    #: ... and that the description mentions Korean lessons when it is not asked for.
    korean_mentioned: float = 0.4
    #: Chance of asking for two experts (else one).
    two_experts: float = 0.15
    #: The budget is a day rate in this range (tens of USD) times days, experts and a uniform factor in
    #: ``budget_factor``, rounded to a multiple of ``budget_step``.
    budget_rate_tens: tuple[int, int] = (50, 120)
    budget_factor: tuple[float, float] = (0.8, 2.0)
    budget_step: int = 1000
    #: Share of requests that state no budget.
    no_budget: float = 0.3
    #: Share of requests that exclude one roster expert (when a roster is given).
    exclusion: float = 0.1


_ROSTER_MIX = RosterMix()
_EVIDENCE_MIX = EvidenceMix()
_REQUEST_MIX = RequestMix()

# --------------------------------------------------------------------------------------------------------------
# Lookup tables, built once from the phrase banks on first use
# --------------------------------------------------------------------------------------------------------------

_STR = pa.large_string()


def _table(values: Sequence[str]) -> pa.Array:
    """Arrow lookup table of ``values`` plus a trailing null: index ``len(values)`` reads as missing."""
    return pa.array([*values, None], type=_STR)


@dataclass(frozen=True, slots=True)
class _Groups:
    """Variable-length groups, flattened: group ``g`` is ``values[offsets[g] : offsets[g] + counts[g]]``."""

    values: Any  # list of phrases, or an int64 array of positions
    offsets: NDArray[np.int64]
    counts: NDArray[np.int64]


def _layout(groups: Sequence[Sized]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    counts = np.array([len(g) for g in groups], dtype=np.int64)
    return np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64), counts


def _ragged(groups: Sequence[Sequence[str]]) -> _Groups:
    """Phrase groups, flattened into a list."""
    return _Groups([s for g in groups for s in g], *_layout(groups))


def _positions(groups: Sequence[Sequence[int] | NDArray[np.int64]]) -> _Groups:
    """Groups of table positions, flattened into an int64 array."""
    values = np.array([i for g in groups for i in g], dtype=np.int64)
    return _Groups(values, *_layout(groups))


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _with_article(role: str) -> str:
    return ("an " if role[0] in "aeiouAEIO" or role.startswith("ITS") else "a ") + role


@dataclass(frozen=True, slots=True)
class _Lookups:
    """Arrow string tables and integer arrays the generators index (``*_t``: tables ending with a null)."""

    # Languages, countries, regions and cities.
    lang_codes: tuple[str, ...]
    lang_index: Mapping[str, int]
    lang_code_t: pa.Array
    lang_name_t: pa.Array
    country_codes: tuple[str, ...]  # sorted alpha-2 codes
    country_index: Mapping[str, int]
    country_code_t: pa.Array
    country_name_t: pa.Array
    country_region: NDArray[np.int64]  # position in _REGION_CODES, -1 outside the client regions
    country_lang1: NDArray[np.int64]
    country_lang2: NDArray[np.int64]  # -1: none
    country_work_lang: NDArray[np.int64]  # -1: none
    client_countries: NDArray[np.int64]
    kr: int
    other_countries: NDArray[np.int64]  # outside the client regions, except Korea
    region_countries: _Groups  # client countries by region
    region_code_t: pa.Array
    region_text_t: pa.Array  # readable region list for every subset of the six regions, by bit mask
    city_name_t: pa.Array
    city_country: NDArray[np.int64]
    country_cities: _Groups  # cities by country
    # Themes, practice groups and their phrases.
    theme_code_t: pa.Array
    theme_index: Mapping[str, int]
    theme_p: NDArray[np.float64]
    roles: _Groups  # by theme, like the phrase groups below
    role_t: pa.Array
    a_role_t: pa.Array
    nps: _Groups
    np_t: pa.Array
    np_cap_t: pa.Array
    vps: _Groups
    vp_t: pa.Array
    titles: _Groups
    problems: _Groups
    kref_t: pa.Array
    related: _Groups  # related themes by theme
    firm_b_t: pa.Array
    practices: tuple[str, ...]
    practice_t: pa.Array
    theme_practice: NDArray[np.int64]
    clients: _Groups  # client templates by practice group
    conflict_orgs: tuple[str, ...]
    # Seniority levels.
    seniority_t: pa.Array
    seniority_low: NDArray[np.int64]
    seniority_high: NDArray[np.int64]
    seniority_rate: NDArray[np.float64]


def _region_texts(region_names: Mapping[str, str]) -> pa.Array:
    """Readable region list for every subset of the six regions, indexed by bit mask."""
    out = []
    for mask in range(64):
        names = [region_names[r] for b, r in enumerate(_REGION_CODES) if mask >> b & 1]
        out.append(names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1] if names else "")
    return _table(out)


def _place_lookups() -> dict[str, Any]:
    places = read_bank("places.json")
    countries, cities = places["countries"], places["cities"]
    lang_codes = tuple(places["languages"])
    lang_index = {c: i for i, c in enumerate(lang_codes)}
    codes = tuple(sorted(countries))
    index = {c: i for i, c in enumerate(codes)}
    # Position of a country's region in _REGION_CODES, -1 outside the client regions.
    region = np.array([_REGION_CODES.index(r) if (r := countries[c].region) else -1 for c in codes], dtype=np.int64)
    client = np.flatnonzero(region >= 0)
    city_country = np.array([index[a2] for _, a2 in cities], dtype=np.int64)
    return {
        "lang_codes": lang_codes,
        "lang_index": MappingProxyType(lang_index),
        "lang_code_t": _table(lang_codes),
        "lang_name_t": _table(list(places["languages"].values())),
        "country_codes": codes,
        "country_index": MappingProxyType(index),
        "country_code_t": _table(codes),
        "country_name_t": _table([countries[c].name for c in codes]),
        "country_region": region,
        "country_lang1": np.array([lang_index[countries[c].languages[0]] for c in codes], dtype=np.int64),
        "country_lang2": np.array(
            [lang_index[countries[c].languages[1]] if len(countries[c].languages) > 1 else -1 for c in codes],
            dtype=np.int64,
        ),
        "country_work_lang": np.array(
            [lang_index[countries[c].work_language] if countries[c].work_language else -1 for c in codes],
            dtype=np.int64,
        ),
        "client_countries": client,
        "kr": index["KR"],
        "other_countries": np.flatnonzero((region < 0) & (np.arange(len(codes)) != index["KR"])),
        "region_countries": _positions([client[region[client] == r] for r in range(len(_REGION_CODES))]),
        "region_code_t": _table(_REGION_CODES),
        "region_text_t": _region_texts(places["region_names"]),
        "city_name_t": _table([c for c, _ in cities]),
        "city_country": city_country,
        "country_cities": _positions([np.flatnonzero(city_country == c) for c in range(len(codes))]),
    }


def _theme_lookups() -> dict[str, Any]:
    themes, seniority = read_bank("themes.json"), read_bank("seniority.json")
    text = themes["text"]

    def bank(key: str) -> list[tuple[str, ...]]:
        return [tuple(text[t][key]) for t in _THEME_CODES]

    theme_index = {t: i for i, t in enumerate(_THEME_CODES)}
    roles, nps, vps = _ragged(bank("roles")), _ragged(bank("np")), _ragged(bank("vp"))
    practices = tuple(themes["practice_clients"])
    return {
        "theme_code_t": _table(_THEME_CODES),
        "theme_index": MappingProxyType(theme_index),
        "theme_p": np.array([themes["weights"][t] for t in _THEME_CODES], dtype=float),
        "roles": roles,
        "role_t": _table(roles.values),
        "a_role_t": _table([_with_article(r) for r in roles.values]),
        "nps": nps,
        "np_t": _table(nps.values),
        "np_cap_t": _table([_cap(s) for s in nps.values]),
        "vps": vps,
        "vp_t": _table(vps.values),
        "titles": _ragged(bank("title")),
        "problems": _ragged(bank("problem")),
        "kref_t": _table([str(text[t]["kref"]) for t in _THEME_CODES]),
        "related": _positions([[theme_index[r] for r in themes["related"][t]] for t in _THEME_CODES]),
        "firm_b_t": _table([read_bank("names.json")["firm_b"][t] for t in _THEME_CODES]),
        "practices": practices,
        "practice_t": _table(practices),
        "theme_practice": np.array(
            [practices.index(themes["practice_group"][t]) for t in _THEME_CODES], dtype=np.int64
        ),
        "clients": _ragged([themes["practice_clients"][p] for p in practices]),
        "conflict_orgs": themes["conflict_orgs"],
        "seniority_t": _table([s.label for s in seniority]),
        "seniority_low": np.array([s.min_years for s in seniority]),
        "seniority_high": np.array([s.max_years for s in seniority]),
        "seniority_rate": np.array([s.rate_factor for s in seniority]),
    }


@lru_cache(maxsize=1)
def _lookups() -> _Lookups:
    """The lookup tables, built from the phrase banks the first time a generator runs."""
    return _Lookups(**_place_lookups(), **_theme_lookups())


def _templates(section: str) -> Any:
    """One section of ``templates.json``."""
    return read_bank("templates.json")[section]


# Module-level names the banks had before they moved to data files; reading one loads its file (a plain copy).
_BANK_NAMES: dict[str, tuple[str, str | None]] = {
    "_LANGUAGE_NAMES": ("places.json", "languages"),
    "_COUNTRIES": ("places.json", "countries"),
    "_CITIES": ("places.json", "cities"),
    "_REGION_NAMES": ("places.json", "region_names"),
    "_THEME_TEXT": ("themes.json", "text"),
    "_THEME_WEIGHTS": ("themes.json", "weights"),
    "_RELATED_THEMES": ("themes.json", "related"),
    "_THEME_PRACTICE_GROUP": ("themes.json", "practice_group"),
    "_PRACTICE_CLIENTS": ("themes.json", "practice_clients"),
    "_CONFLICT_ORGS": ("themes.json", "conflict_orgs"),
    **{
        f"_{key.upper()}": ("names.json", key)
        for key in (
            "ko_given_a",
            "ko_given_b",
            "ko_family",
            "int_given_a",
            "int_given_b",
            "int_family_a",
            "int_family_b",
            "firm_a",
            "firm_b",
            "firm_c",
        )
    },
    "_SENIORITY": ("seniority.json", None),
    "_SHOWCASE_REQUESTS": ("demo.json", "showcase_requests"),
    "_CONTENTION": ("demo.json", "contention"),
}
_LOOKUP_NAMES = frozenset(f.name for f in dataclasses.fields(_Lookups))


def __getattr__(name: str) -> Any:
    """``_CITIES``, ``_COUNTRIES``, ...: the banks and lookup tables under their former module-level names."""
    if name in _BANK_NAMES:
        file, key = _BANK_NAMES[name]
        bank = read_bank(file)
        return thaw(bank if key is None else bank[key])
    if name.startswith("_") and name[1:].lower() in _LOOKUP_NAMES:
        return getattr(_lookups(), name[1:].lower())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --------------------------------------------------------------------------------------------------------------
# Vectorized helpers: integer arrays choose rows of small Arrow string tables, Arrow kernels assemble the text
# --------------------------------------------------------------------------------------------------------------


def _rng(seed: int | np.random.Generator) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return np.random.default_rng(int(seed))
    raise InputError(f"seed must be an int or a numpy.random.Generator, got {type(seed).__name__}")


def _check_count(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise InputError(f"{name} must be a non-negative int, got {value!r}")
    return int(value)


def _check_share(name: str, value: float) -> float:
    if not 0.0 <= float(value) <= 1.0:
        raise InputError(f"{name} must be between 0 and 1, got {value!r}")
    return float(value)


def _period(start: str, months: int) -> tuple[np.datetime64, int]:
    """First day and length in days of ``months`` calendar months from ``start`` (an ISO date)."""
    if not isinstance(start, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", start):
        raise InputError(f"start must be an ISO date YYYY-MM-DD, got {start!r}")
    try:
        first = np.datetime64(start, "D")
    except ValueError:
        raise InputError(f"start must be an ISO date YYYY-MM-DD, got {start!r}") from None
    if isinstance(months, bool) or not isinstance(months, (int, np.integer)) or months < 1:
        raise InputError(f"months must be an int >= 1, got {months!r}")
    month = first.astype("datetime64[M]")
    day_in_month = first - month.astype("datetime64[D]")
    end = (month + int(months)).astype("datetime64[D]") + day_in_month
    return first, int((end - first).astype(np.int64))


def _date_table(first: np.datetime64, days: int) -> pa.Array:
    """ISO strings of ``days`` consecutive dates from ``first`` (formatting by lookup beats per-row formatting)."""
    return _table(np.arange(first, first + days, dtype="datetime64[D]").astype(str).tolist())


def _choose(rng: np.random.Generator, n: int, p: Sequence[float] | NDArray) -> NDArray[np.int64]:
    """Categorical draws 0..len(p)-1 with weights ``p``: shape (n,)."""
    cdf = np.cumsum(np.asarray(p, dtype=float))
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(cdf) - 1).astype(np.int64)


def _pick(rng: np.random.Generator, groups: _Groups, group: NDArray) -> NDArray[np.int64]:
    """One uniformly drawn member of each row's group: positions in ``groups.values``, shape (n,)."""
    return groups.offsets[group] + (rng.random(len(group)) * groups.counts[group]).astype(np.int64)


def _dedupe(idx: NDArray[np.int64], valid: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Keep only the first valid occurrence of each value in a row. idx, valid: shape (n, k)."""
    keep = valid.copy()
    for j in range(1, idx.shape[1]):
        for i in range(j):
            keep[:, j] &= ~(keep[:, i] & (idx[:, i] == idx[:, j]))
    return keep


def _compact(idx: NDArray[np.int64], valid: NDArray[np.bool_]) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Move each row's valid entries to the left, keeping their order."""
    order = np.argsort(~valid, axis=1, kind="stable")
    return np.take_along_axis(idx, order, axis=1), np.take_along_axis(valid, order, axis=1)


def _sorted_set(idx: NDArray[np.int64], valid: NDArray[np.bool_]) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Sort each row's valid entries and drop repeats; invalid entries go to the right."""
    sentinel = np.iinfo(np.int64).max
    out = np.sort(np.where(valid, idx, sentinel), axis=1)
    keep = out != sentinel
    keep[:, 1:] &= out[:, 1:] != out[:, :-1]
    return _compact(np.where(keep, out, 0), keep)


def _take(table: pa.Array, idx: NDArray[np.int64], valid: NDArray[np.bool_] | None = None) -> pa.Array:
    """``table[idx]`` as an Arrow column; null where not ``valid`` (tables end with a null)."""
    if valid is not None:
        idx = np.where(valid, idx, len(table) - 1)
    return table.take(pa.array(idx, type=pa.int64()))


def _concat(pieces: Sequence[pa.Array | str]) -> pa.Array:
    """Row-wise concatenation; a null piece reads as "" (a missing slot adds nothing)."""
    args = [pa.scalar(p, _STR) if isinstance(p, str) else p for p in pieces]
    return pc.binary_join_element_wise(*args, pa.scalar("", _STR), null_handling="replace", null_replacement="")


def _separated(parts: Sequence[pa.Array], present: Sequence[NDArray[np.bool_]], sep: str) -> pa.Array:
    """Join the present parts of each row with ``sep`` ("" when none is present)."""
    # Arrow's null_handling="skip" drops all-null rows (pyarrow 26), so the separators are placed here.
    glue_t = _table([sep])
    seen = np.zeros(len(present[0]), dtype=bool)
    pieces: list[pa.Array] = []
    for part, here in zip(parts, present, strict=True):
        if len(pieces):
            pieces.append(_take(glue_t, np.zeros(len(here), dtype=np.int64), here & seen))
        pieces.append(part)
        seen |= here
    return _concat(pieces)


def _join(table: pa.Array, idx: NDArray[np.int64], valid: NDArray[np.bool_], sep: str = ";") -> pa.Array:
    """Join ``table[idx]`` over each row's valid slots with ``sep``. idx, valid: shape (n, k) -> (n,) strings."""
    k = idx.shape[1]
    return _separated([_take(table, idx[:, j], valid[:, j]) for j in range(k)], [valid[:, j] for j in range(k)], sep)


def _join_prose(table: pa.Array, idx: NDArray[np.int64], valid: NDArray[np.bool_]) -> pa.Array:
    """Join the valid slots as prose, "a, b and c" (valid slots must be left-compacted)."""
    count = valid.sum(axis=1)
    glue_t = _table([", ", " and "])
    pieces: list[pa.Array] = []
    for j in range(idx.shape[1]):
        if j:
            pieces.append(_take(glue_t, (j == count - 1).astype(np.int64), valid[:, j]))
        pieces.append(_take(table, idx[:, j], valid[:, j]))
    return _concat(pieces)


def _field_rows(field: pa.Array | tuple[pa.Array, NDArray[np.int64]], rows: NDArray[np.int64]) -> pa.Array:
    if isinstance(field, tuple):
        table, idx = field
        return _take(table, idx[rows])
    return field.take(pa.array(rows, type=pa.int64()))


def _fill(
    templates: Sequence[str],
    choice: NDArray[np.int64],
    fields: Mapping[str, pa.Array | tuple[pa.Array, NDArray[np.int64]]],
    active: NDArray[np.bool_] | None = None,
) -> pa.Array:
    """Format row ``i`` with ``templates[choice[i]]`` (``{field}`` placeholders) and the row's fields.

    Rows are grouped by template so that each template is assembled once over its rows; inactive rows are null.
    """
    n = len(choice)
    if active is not None:
        choice = np.where(active, choice, -1)
    # Few templates: a stable sort of small integers is a radix sort.
    order = np.argsort(choice.astype(np.int16), kind="stable")
    bounds = np.searchsorted(choice[order], np.arange(-1, len(templates) + 1))
    chunks = [pa.nulls(int(bounds[1] - bounds[0]), _STR)]
    for t, template in enumerate(templates):
        rows = order[bounds[t + 1] : bounds[t + 2]]
        if not len(rows):
            continue
        pieces: list[pa.Array | str] = [pa.repeat(pa.scalar("", _STR), len(rows))]
        for literal, field, _, _ in string.Formatter().parse(template):
            if literal:
                pieces.append(literal)
            if field is not None:
                pieces.append(_field_rows(fields[field], rows))
        chunks.append(_concat(pieces))
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.arange(n)
    return pa.concat_arrays(chunks).take(pa.array(inverse, type=pa.int64()))


def _sentences(*parts: pa.Array) -> pa.Array:
    """Join the non-null sentences of each row with one space."""
    return _separated(parts, [pc.is_valid(p).to_numpy(zero_copy_only=False) for p in parts], " ")


def _numbers(values: NDArray[np.int64]) -> pa.Array:
    return pc.cast(pa.array(values, type=pa.int64()), _STR)


def _bool_text(flags: NDArray[np.bool_]) -> pa.Array:
    return _take(_table(["false", "true"]), flags.astype(np.int64))


def _frame(columns: Mapping[str, pa.Array], order: Sequence[str]) -> pd.DataFrame:
    """DataFrame of string columns in ``order`` ("" for missing); every row marked synthetic."""
    n = len(next(iter(columns.values())))
    data = {name: pc.fill_null(columns[name], "") for name in order if name != "synthetic"}
    data["synthetic"] = pa.repeat(pa.scalar("true", _STR), n)
    return pd.DataFrame({name: pd.Series(values, dtype=str) for name, values in data.items()})


def _themes(
    rng: np.random.Generator, n: int, k_p: Sequence[float], related_p: float
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Main theme in slot 0, then related (chance ``related_p``) or random themes: (idx, valid), shape (n, len(k_p))."""
    lk = _lookups()
    k = len(k_p)
    count = 1 + _choose(rng, n, k_p)
    idx = np.empty((n, k), dtype=np.int64)
    idx[:, 0] = _choose(rng, n, lk.theme_p)
    for j in range(1, k):
        related = lk.related.values[_pick(rng, lk.related, idx[:, 0])]
        idx[:, j] = np.where(rng.random(n) < related_p, related, rng.integers(0, len(_THEME_CODES), n))
    valid = np.arange(k)[None, :] < count[:, None]
    return _compact(idx, _dedupe(idx, valid))


# --------------------------------------------------------------------------------------------------------------
# Experts
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Profile:
    """Everything drawn about each of ``n`` experts before their bio, busy calendar and conflicts.

    Flags, codes and numbers have shape (n,); ``*_idx`` / ``*_valid`` are left-compacted slots of shape (n, k):
    themes (main theme first), countries worked in (sorted) and languages, as positions in the lookup tables.
    """

    is_firm: NDArray[np.bool_]
    is_korean: NDArray[np.bool_]
    nationality: NDArray[np.int64]
    korean_experience: NDArray[np.bool_]
    given: pa.Array  # given name, "The firm" for firms
    name: pa.Array
    theme_idx: NDArray[np.int64]
    theme_valid: NDArray[np.bool_]
    country_idx: NDArray[np.int64]
    country_valid: NDArray[np.bool_]
    region_bits: NDArray[np.int64]  # bit r set: worked in region _REGION_CODES[r]
    lang_idx: NDArray[np.int64]
    lang_valid: NDArray[np.bool_]
    seniority: NDArray[np.int64]
    years: NDArray[np.int64]
    day_rate: NDArray[np.int64]
    max_assignments: NDArray[np.int64]


def generate_experts(
    n: int,
    *,
    seed: int | np.random.Generator = 0,
    start: str = "2027-01-01",
    months: int = 12,
    korean_share: float = 0.6,
    firm_share: float = 0.05,
) -> pd.DataFrame:
    """Generate a synthetic expert roster.

    Parameters
    ----------
    n : int
        Number of experts (rows).
    seed : int or numpy.random.Generator
        Same seed, same table.
    start : str
        First day (ISO date) of the period the ``busy`` calendar covers.
    months : int
        Length of that period in calendar months.
    korean_share : float
        Share of Korean nationals (the program mobilized mostly Korean experts).
    firm_share : float
        Share of firms among the experts.

    Returns
    -------
    pandas.DataFrame
        Shape (n, 15), string columns :data:`EXPERT_COLUMNS` in file form; ``expert_id`` is ``SX`` plus a
        zero-padded number. The other shares and ranges are those of :class:`RosterMix`.

    Examples
    --------
    >>> experts = generate_experts(5, seed=1)
    >>> experts.shape, list(experts["expert_id"])
    ((5, 15), ['SX0001', 'SX0002', 'SX0003', 'SX0004', 'SX0005'])
    >>> generate_experts(5, seed=1).equals(experts)
    True
    """
    n = _check_count("n", n)
    korean_share = _check_share("korean_share", korean_share)
    firm_share = _check_share("firm_share", firm_share)
    first, period_days = _period(start, months)
    rng = _rng(seed)
    mix = _ROSTER_MIX
    # The parts draw from ``rng`` in this order; reordering them changes every table.
    profile = _profile(rng, n, korean_share=korean_share, firm_share=firm_share, mix=mix)
    busy = _busy(rng, n, first, period_days, mix)
    conflicts = _conflicts(rng, n, profile.country_idx[:, 0], mix)
    bio = _bio(rng, profile)
    logger.debug("generated %d synthetic experts", n)
    return _expert_table(profile, busy=busy, conflicts=conflicts, bio=bio)


def _profile(rng: np.random.Generator, n: int, *, korean_share: float, firm_share: float, mix: RosterMix) -> _Profile:
    """Nationality, themes, names, places, languages and career of ``n`` experts."""
    lk = _lookups()
    is_firm = rng.random(n) < firm_share
    is_korean = rng.random(n) < korean_share
    from_client = ~is_korean & (rng.random(n) < mix.from_client_country)
    nationality = np.where(
        is_korean,
        lk.kr,
        np.where(
            from_client,
            lk.client_countries[rng.integers(0, len(lk.client_countries), n)],
            lk.other_countries[rng.integers(0, len(lk.other_countries), n)],
        ),
    )
    theme_idx, theme_valid = _themes(rng, n, mix.theme_counts, mix.related_theme)
    given, name = _names(rng, is_firm, is_korean, theme_idx[:, 0])
    country_idx, country_valid, first_country = _countries_worked(rng, from_client, nationality, mix)
    region_bits = np.zeros(n, dtype=np.int64)
    for j in range(country_idx.shape[1]):
        region_bits |= np.where(country_valid[:, j], 1 << lk.country_region[country_idx[:, j]], 0)
    lang_idx, lang_valid = _languages(
        rng, is_korean, nationality, worked=(first_country, country_idx, country_valid), mix=mix
    )
    korean_experience = is_korean | (rng.random(n) < mix.korean_experience_other)
    seniority, years, day_rate, max_assignments = _career(rng, is_firm, mix)
    return _Profile(
        is_firm=is_firm,
        is_korean=is_korean,
        nationality=nationality,
        korean_experience=korean_experience,
        given=given,
        name=name,
        theme_idx=theme_idx,
        theme_valid=theme_valid,
        country_idx=country_idx,
        country_valid=country_valid,
        region_bits=region_bits,
        lang_idx=lang_idx,
        lang_valid=lang_valid,
        seniority=seniority,
        years=years,
        day_rate=day_rate,
        max_assignments=max_assignments,
    )


def _names(
    rng: np.random.Generator, is_firm: NDArray[np.bool_], is_korean: NDArray[np.bool_], main: NDArray[np.int64]
) -> tuple[pa.Array, pa.Array]:
    """(given name, full name): invented syllable combinations; firms say they are synthetic."""
    n = len(is_firm)
    names, templates = read_bank("names.json"), _templates("names")

    def syllables(key: str) -> tuple[pa.Array, NDArray[np.int64]]:
        return _table(names[key]), rng.integers(0, len(names[key]), n)

    # Korean-style given names are hyphenated.
    name_kind = np.where(is_firm, 2, np.where(is_korean, 0, 1))
    given = _fill(
        templates["given"],
        name_kind,
        {key: syllables(f"{key[:-2]}_given_{key[-1]}") for key in ("ko_a", "ko_b", "int_a", "int_b")},
    )
    name = _fill(
        templates["full"],
        name_kind,
        {
            "given": given,
            "ko_family": syllables("ko_family"),
            "fam_a": syllables("int_family_a"),
            "fam_b": syllables("int_family_b"),
            "firm_a": syllables("firm_a"),
            "firm_b": (_lookups().firm_b_t, main),
            "firm_c": syllables("firm_c"),
        },
    )
    return given, name


def _countries_worked(
    rng: np.random.Generator, from_client: NDArray[np.bool_], nationality: NDArray[np.int64], mix: RosterMix
) -> tuple[NDArray[np.int64], NDArray[np.bool_], NDArray[np.int64]]:
    """Countries worked in: (idx, valid) sorted, shape (n, 5), and the first country drawn, shape (n,).

    The home region comes first for nationals of client countries, then weighted draws without replacement
    (Gumbel top-k); countries are drawn inside those regions (the home country first for client nationals).
    """
    lk = _lookups()
    n = len(nationality)
    rows = np.arange(n)
    weights = np.array([mix.region_weights[r] for r in _REGION_CODES])
    region_keys = np.log(weights)[None, :] - np.log(-np.log(rng.random((n, len(_REGION_CODES)))))
    region_keys[from_client, lk.country_region[nationality[from_client]]] = np.inf
    top_regions = np.argsort(-region_keys, axis=1)[:, : len(mix.region_counts)]
    n_regions = 1 + _choose(rng, n, mix.region_counts)
    n_countries = 1 + _choose(rng, n, mix.country_counts)
    k = len(mix.country_counts)
    country_slots = np.empty((n, k), dtype=np.int64)
    for j in range(k):
        region = top_regions[rows, (rng.random(n) * n_regions).astype(np.int64)]
        country_slots[:, j] = lk.region_countries.values[_pick(rng, lk.region_countries, region)]
    country_slots[from_client, 0] = nationality[from_client]
    first_country = country_slots[:, 0].copy()
    country_idx, country_valid = _sorted_set(country_slots, np.arange(k)[None, :] < n_countries[:, None])
    return country_idx, country_valid, first_country


def _languages(
    rng: np.random.Generator,
    is_korean: NDArray[np.bool_],
    nationality: NDArray[np.int64],
    *,
    worked: tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.bool_]],
    mix: RosterMix,
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Home language(s) and English, then languages of countries worked in: (idx, valid), shape (n, 5).

    ``worked`` is (first country drawn, countries worked in as (idx, valid) slots).
    """
    lk = _lookups()
    first_country, country_idx, country_valid = worked
    n = len(nationality)
    lang_slots = np.empty((n, 5), dtype=np.int64)
    lang_valid = np.ones((n, 5), dtype=bool)
    lang_slots[:, 0] = lk.country_lang1[nationality]
    lang_slots[:, 1] = lk.country_lang2[nationality]
    lang_valid[:, 1] = rng.random(n) < mix.second_home_language
    lang_slots[:, 2] = lk.lang_index["en"]
    lang_valid[:, 2] = rng.random(n) < np.where(is_korean, mix.english_korean, mix.english_other)
    n_worked = country_valid.sum(axis=1)
    other_country = country_idx[np.arange(n), (rng.random(n) * n_worked).astype(np.int64)]
    learn_p = np.array([mix.learn_language[r] for r in _REGION_CODES])
    for j, country in ((3, first_country), (4, other_country)):
        second = lk.country_lang2[country]
        learns_second = (second >= 0) & (rng.random(n) < mix.learn_second_language)
        lang_slots[:, j] = np.where(learns_second, second, lk.country_lang1[country])
        factor = np.where(is_korean, mix.learn_language_korean, 1.0)
        lang_valid[:, j] = rng.random(n) < learn_p[lk.country_region[country]] * factor
    return _compact(lang_slots, _dedupe(lang_slots, lang_valid & (lang_slots >= 0)))


def _career(
    rng: np.random.Generator, is_firm: NDArray[np.bool_], mix: RosterMix
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """(seniority level, years of experience, day rate in USD, most concurrent assignments), each shape (n,)."""
    lk = _lookups()
    n = len(is_firm)
    seniority = _choose(rng, n, mix.seniority)
    low, high = lk.seniority_low[seniority], lk.seniority_high[seniority]
    firm_years = rng.integers(mix.firm_years[0], mix.firm_years[1] + 1, n)
    years = np.where(is_firm, firm_years, low + (rng.random(n) * (high - low + 1)).astype(np.int64))
    rate = np.exp(rng.normal(np.log(mix.day_rate_median), mix.day_rate_sigma, n)) * lk.seniority_rate[seniority]
    rate = np.where(is_firm, rng.uniform(*mix.firm_day_rate, n), rate)
    step = mix.day_rate_step
    day_rate = (np.round(np.clip(rate, *mix.day_rate_bounds) / step) * step).astype(np.int64)
    firm_max = rng.integers(mix.firm_max_assignments[0], mix.firm_max_assignments[1] + 1, n)
    max_assignments = np.where(is_firm, firm_max, 1 + _choose(rng, n, mix.max_assignments))
    return seniority, years, day_rate, max_assignments


def _expert_table(profile: _Profile, *, busy: pa.Array, conflicts: pa.Array, bio: pa.Array) -> pd.DataFrame:
    lk = _lookups()
    n = len(profile.is_firm)
    k = len(_REGION_CODES)
    region_idx = np.broadcast_to(np.arange(k), (n, k))
    region_valid = (profile.region_bits[:, None] >> np.arange(k)[None, :] & 1).astype(bool)
    return _frame(
        {
            "expert_id": _concat(
                ["SX", pc.utf8_lpad(_numbers(np.arange(n) + 1), width=max(4, len(str(n))), padding="0")]
            ),
            "name": profile.name,
            "bio": bio,
            "kind": _take(_table(["individual", "firm"]), profile.is_firm.astype(np.int64)),
            "nationality": _take(lk.country_code_t, profile.nationality),
            "korean_experience": _bool_text(profile.korean_experience),
            "languages": _join(lk.lang_code_t, profile.lang_idx, profile.lang_valid),
            "regions": _join(lk.region_code_t, region_idx, region_valid),
            "countries": _join(lk.country_code_t, profile.country_idx, profile.country_valid),
            "themes": _join(lk.theme_code_t, profile.theme_idx, profile.theme_valid),
            "day_rate_usd": _numbers(profile.day_rate),
            "busy": busy,
            "max_assignments": _numbers(profile.max_assignments),
            "conflicts": conflicts,
        },
        EXPERT_COLUMNS,
    )


def _busy(rng: np.random.Generator, n: int, first: np.datetime64, period_days: int, mix: RosterMix) -> pa.Array:
    """0-4 busy intervals per expert inside the period, some touching or overlapping the one before."""
    k = len(mix.busy_counts) - 1
    count = _choose(rng, n, mix.busy_counts)
    length = np.minimum(rng.geometric(1 / mix.busy_mean_days, (n, k)), mix.busy_max_days)
    begin = rng.integers(0, period_days, (n, k))
    for j in range(1, k):
        mode = _choose(rng, n, mix.busy_placement)
        prev_end = np.minimum(begin[:, j - 1] + length[:, j - 1] - 1, period_days - 1)
        touching = prev_end + 1
        overlapping = begin[:, j - 1] + (rng.random(n) * (prev_end - begin[:, j - 1] + 1)).astype(np.int64)
        begin[:, j] = np.where(
            (mode == 1) & (touching < period_days), touching, np.where(mode == 2, overlapping, begin[:, j])
        )
    end = np.minimum(begin + length - 1, period_days - 1)
    valid = np.arange(k)[None, :] < count[:, None]
    order = np.argsort(np.where(valid, begin, period_days), axis=1, kind="stable")
    begin, end, valid = (np.take_along_axis(a, order, axis=1) for a in (begin, end, valid))
    dates = _date_table(first, period_days)
    intervals = [_concat([_take(dates, begin[:, j]), "/", _take(dates, end[:, j])]) for j in range(k)]
    return _separated(
        [pc.if_else(pa.array(valid[:, j]), intervals[j], pa.scalar(None, _STR)) for j in range(k)],
        [valid[:, j] for j in range(k)],
        ";",
    )


def _conflicts(rng: np.random.Generator, n: int, some_country: NDArray[np.int64], mix: RosterMix) -> pa.Array:
    """Some experts declare one conflict: a country they worked in, a city or a city client organisation."""
    lk = _lookups()
    kind = np.where(rng.random(n) < mix.conflict, _choose(rng, n, mix.conflict_kinds), -1)
    city = rng.integers(0, len(lk.city_country), n)
    org = rng.integers(0, len(lk.conflict_orgs), n)
    templates = ["{country}", "{city}", *lk.conflict_orgs]
    return _fill(
        templates,
        np.where(kind == 2, 2 + org, kind),
        {"country": (lk.country_code_t, some_country), "city": (lk.city_name_t, city)},
        active=kind >= 0,
    )


def _bio(rng: np.random.Generator, profile: _Profile) -> pa.Array:
    """A few varied sentences: who, main work, other themes, where, languages, Korean experience."""
    lk, templates = _lookups(), _templates("bio")
    p = profile
    n = len(p.name)
    main = p.theme_idx[:, 0]
    role = _pick(rng, lk.roles, main)
    # "the firm" for firms (``given`` holds "The firm" for them).
    ref_obj = _fill(templates["ref_obj"], p.is_firm.astype(np.int64), {"given": p.given})
    fields = {
        "name": p.name,
        "ref": p.given,
        "ref_obj": ref_obj,
        "seniority": (lk.seniority_t, p.seniority),
        "years": _numbers(p.years),
        "role": (lk.role_t, role),
        "a_role": (lk.a_role_t, role),
        "np": (lk.np_t, _pick(rng, lk.nps, main)),
        "vp": (lk.vp_t, _pick(rng, lk.vps, main)),
        "regions": (lk.region_text_t, p.region_bits),
        # A bio names at most three of the countries worked in.
        "countries": _join_prose(lk.country_name_t, p.country_idx[:, :3], p.country_valid[:, :3]),
        "languages": _join_prose(lk.lang_name_t, p.lang_idx, p.lang_valid),
        "kref": (lk.kref_t, main),
    }
    intro = _fill_by_kind(rng, templates["intro"], p.is_firm, fields)
    main_work = _fill(templates["main_work"], rng.integers(0, len(templates["main_work"]), n), fields)
    others = [
        _fill(
            templates["other_work"],
            rng.integers(0, len(templates["other_work"]), n),
            {
                "ref": p.given,
                "np": (lk.np_t, _pick(rng, lk.nps, p.theme_idx[:, j])),
                "vp": (lk.vp_t, _pick(rng, lk.vps, p.theme_idx[:, j])),
            },
            active=p.theme_valid[:, j],
        )
        for j in range(1, p.theme_idx.shape[1])
    ]
    where = _fill(templates["where"], rng.integers(0, len(templates["where"]), n), fields)
    languages = _fill_by_kind(rng, templates["languages"], p.is_firm, fields)
    # Korean nationals read one of the "national" sentences, the others one of the "other" ones.
    national, other = templates["korean"]["national"], templates["korean"]["other"]
    korean_choice = np.where(p.is_korean, 0, len(national)) + rng.integers(0, len(national), n)
    korean = _fill(national + other, korean_choice, fields, active=p.korean_experience)
    return _sentences(intro, main_work, *others, where, languages, korean)


def _fill_by_kind(
    rng: np.random.Generator,
    templates: Mapping[str, Sequence[str]],
    is_firm: NDArray[np.bool_],
    fields: Mapping[str, pa.Array | tuple[pa.Array, NDArray[np.int64]]],
) -> pa.Array:
    """One of ``templates["firm"]`` for firms, one of ``templates["person"]`` for individuals (firms drawn first)."""
    person, firm = templates["person"], templates["firm"]
    n = len(is_firm)
    firm_choice = len(person) + rng.integers(0, len(firm), n)
    return _fill((*person, *firm), np.where(is_firm, firm_choice, rng.integers(0, len(person), n)), fields)


# --------------------------------------------------------------------------------------------------------------
# Evidence
# --------------------------------------------------------------------------------------------------------------


def _split_codes(
    values: pd.Series, index: Mapping[str, int], *, column: str, ids: NDArray, strict: bool = True
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Parse a ``;``-list column into left-compacted (idx, valid) of shape (n, k).

    Codes not in ``index`` are errors when ``strict``, else they are left out.
    """
    n = len(values)
    lists = pc.split_pattern(pa.array(values.fillna("").astype(str), type=_STR), ";")
    lengths = pc.list_value_length(lists).to_numpy(zero_copy_only=False).astype(np.int64)
    cells = pc.utf8_trim_whitespace(pc.list_flatten(lists))
    vocab = list(index)
    codes = pc.fill_null(pc.index_in(cells, value_set=pa.array(vocab, type=_STR)), -1).to_numpy(zero_copy_only=False)
    lookup = np.array([index[v] for v in vocab] + [-1], dtype=np.int64)
    codes = lookup[codes]
    present = pc.not_equal(cells, "").to_numpy(zero_copy_only=False)
    k = max(1, int(lengths.max(initial=0)))
    row = np.repeat(np.arange(n), lengths)
    col = np.arange(len(codes)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    idx = np.zeros((n, k), dtype=np.int64)
    valid = np.zeros((n, k), dtype=bool)
    unknown = present & (codes < 0)
    if strict and unknown.any():
        where = np.flatnonzero(unknown)[:50]
        raise InputError(
            [
                f"experts row {row[i] + 1} (expert_id {ids[row[i]]!r}), column {column!r}: unknown code "
                f"{cells[int(i)].as_py()!r}"
                for i in where
            ]
        )
    idx[row, col] = np.maximum(codes, 0)
    valid[row, col] = present & ~unknown
    return _compact(idx, valid)


def generate_evidence(
    experts: pd.DataFrame,
    *,
    seed: int | np.random.Generator = 0,
    per_expert: float = 1.5,
    last_year: int = 2026,
) -> pd.DataFrame:
    """Generate evidence records (past engagements, publications, projects) for experts.

    Each expert gets a Poisson(``per_expert``) number of records about one of their themes, set in one of the
    countries they worked in (a random client city when none of theirs is known to the generator).

    Parameters
    ----------
    experts : pandas.DataFrame
        Needs columns ``expert_id``, ``themes`` and ``countries`` (e.g. from :func:`generate_experts`).
    seed : int or numpy.random.Generator
        Same seed and experts, same table.
    per_expert : float
        Mean number of records per expert.
    last_year : int
        Latest year of a record; years go back up to :attr:`EvidenceMix.years_back` years before it.

    Returns
    -------
    pandas.DataFrame
        Shape (n_records, 6), string columns :data:`EVIDENCE_COLUMNS`, grouped by expert in roster order.

    Raises
    ------
    InputError
        A required column is missing or a theme code is unknown.

    Examples
    --------
    >>> evidence = generate_evidence(generate_experts(20, seed=3), seed=3)
    >>> list(evidence.columns)
    ['expert_id', 'text', 'title', 'year', 'kind', 'synthetic']
    >>> set(evidence["kind"]) <= {"engagement", "publication", "project"}
    True
    """
    missing = [c for c in ("expert_id", "themes", "countries") if c not in experts.columns]
    if missing:
        raise InputError(f"experts: missing column(s) {', '.join(map(repr, missing))} needed to generate evidence")
    if not float(per_expert) >= 0.0:
        raise InputError(f"per_expert must be >= 0, got {per_expert!r}")
    rng = _rng(seed)
    lk, mix = _lookups(), _EVIDENCE_MIX
    ids = pa.array(experts["expert_id"].fillna("").astype(str), type=_STR)
    n = len(ids)
    id_list = np.asarray(experts["expert_id"].fillna("").astype(str))
    theme_idx, theme_valid = _split_codes(experts["themes"], lk.theme_index, column="themes", ids=id_list)
    # Countries the generator has no cities for are not used as places.
    client = {c: i for i, c in enumerate(lk.country_codes) if lk.country_region[i] >= 0}
    country_idx, country_valid = _split_codes(
        experts["countries"], client, column="countries", ids=id_list, strict=False
    )

    owner = np.repeat(np.arange(n), rng.poisson(float(per_expert), n))
    m = len(owner)

    def one_of(idx: NDArray[np.int64], valid: NDArray[np.bool_]) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
        count = valid[owner].sum(axis=1)
        slot = (rng.random(m) * count).astype(np.int64)
        return idx[owner, np.minimum(slot, idx.shape[1] - 1)], count > 0

    theme, has_theme = one_of(theme_idx, theme_valid)
    theme = np.where(has_theme, theme, _choose(rng, m, lk.theme_p))
    country, has_country = one_of(country_idx, country_valid)
    random_city = rng.integers(0, len(lk.city_country), m)
    in_country = np.where(has_country, country, 0)
    city_in_country = lk.country_cities.values[_pick(rng, lk.country_cities, in_country)]
    city = np.where(has_country, city_in_country, random_city)

    kind = _choose(rng, m, mix.kinds)
    text, title = _evidence_texts(rng, kind, theme, city)
    year = int(last_year) - (rng.random(m) * mix.years_back).astype(np.int64)
    return _frame(
        {
            "expert_id": ids.take(pa.array(owner, type=pa.int64())),
            "text": text,
            "title": title,
            "year": _numbers(year),
            "kind": _take(_table(_EVIDENCE_KINDS), kind),
        },
        EVIDENCE_COLUMNS,
    )


def _evidence_texts(
    rng: np.random.Generator, kind: NDArray[np.int64], theme: NDArray[np.int64], city: NDArray[np.int64]
) -> tuple[pa.Array, pa.Array]:
    """(text, title) of each record, from its kind (position in ``_EVIDENCE_KINDS``), theme and city."""
    lk, templates = _lookups(), _templates("evidence")
    m = len(kind)
    fields = {
        "city": (lk.city_name_t, city),
        "country": (lk.country_name_t, lk.city_country[city]),
        "np": (lk.np_t, _pick(rng, lk.nps, theme)),
        "NP": (lk.np_cap_t, _pick(rng, lk.nps, theme)),
        "vp": (lk.vp_t, _pick(rng, lk.vps, theme)),
        "org": (_table(templates["org"]), rng.integers(0, len(templates["org"]), m)),
        "pub": (_table(templates["pub"]), rng.integers(0, len(templates["pub"]), m)),
    }
    text = _fill([templates["text"][k] for k in _EVIDENCE_KINDS], kind, fields)
    # Engagement titles read like the request that started them; the others name their subject.
    title_choice = np.where(
        kind == 0,
        _pick(rng, lk.titles, theme),
        len(lk.titles.values) + kind - 1,
    )
    subject_titles = [templates["title"][k] for k in _EVIDENCE_KINDS[1:]]
    title = _fill([*lk.titles.values, *subject_titles], title_choice, fields)
    return text, title


# --------------------------------------------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------------------------------------------


def generate_requests(
    n: int,
    *,
    seed: int | np.random.Generator = 0,
    round: str = "R1",
    start: str = "2027-01-01",
    months: int = 6,
    expert_ids: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Generate a synthetic round of TA requests from client cities in all six regions.

    Parameters
    ----------
    n : int
        Number of requests (rows).
    seed : int or numpy.random.Generator
        Same seed, same table.
    round : str
        Round label; request ids are ``{round}-001``, ``{round}-002``, ...
    start : str
        First day (ISO date) of the period the request windows fall in.
    months : int
        Length of that period in calendar months.
    expert_ids : sequence of str, optional
        Roster ids; about 10% of requests then exclude one of them.

    Returns
    -------
    pandas.DataFrame
        Shape (n, 20), string columns :data:`REQUEST_COLUMNS` in file form. ``days`` never exceeds the support
        type's cap (JIT 30, OS 60) nor the working days (Mon-Fri) in the window.

    Examples
    --------
    >>> requests = generate_requests(3, seed=0, round="R9")
    >>> list(requests["request_id"])
    ['R9-001', 'R9-002', 'R9-003']
    >>> bool((requests["window_end"] >= requests["window_start"]).all())
    True
    """
    n = _check_count("n", n)
    if not isinstance(round, str) or not round.strip():
        raise InputError(f"round must be a non-empty string, got {round!r}")
    first, period_days = _period(start, months)
    rng = _rng(seed)
    ids = _table([] if expert_ids is None else [str(i) for i in expert_ids])
    request_id = _concat(
        [f"{round}-", pc.utf8_lpad(_numbers(np.arange(1, n + 1)), width=max(3, len(str(n))), padding="0")]
    )
    # The parts draw from ``rng`` in this order; reordering them changes every table.
    asks = _asks(rng, n, first, period_days, n_ids=len(ids) - 1, mix=_REQUEST_MIX)
    client, title, description = _request_texts(rng, asks, mix=_REQUEST_MIX)
    logger.debug("generated %d synthetic requests for round %s", n, round)
    lk = _lookups()
    dates = _date_table(first, period_days)
    return _frame(
        {
            "request_id": request_id,
            "title": title,
            "description": description,
            "country": _take(lk.country_code_t, asks.country),
            "city": _take(lk.city_name_t, asks.city),
            "client": client,
            "region": _take(lk.region_code_t, lk.country_region[asks.country]),
            "practice_group": _take(lk.practice_t, lk.theme_practice[asks.theme_idx[:, 0]]),
            "support_type": _take(_table(["JIT", "OS"]), asks.is_os.astype(np.int64)),
            "days": _numbers(asks.days),
            "window_start": _take(dates, asks.window_start),
            "window_end": _take(dates, asks.window_end),
            "languages": _join(lk.lang_code_t, asks.lang_idx, asks.lang_valid),
            "themes": _join(lk.theme_code_t, asks.theme_idx, asks.theme_valid),
            "korean_experience": _bool_text(asks.korean),
            "experts_needed": _numbers(asks.experts_needed),
            "budget_usd": pc.if_else(pa.array(asks.has_budget), _numbers(asks.budget), pa.scalar(None, _STR)),
            "exclude_experts": _take(ids, asks.excluded, asks.excluding),
            "round": pa.repeat(pa.scalar(round, _STR), n),
        },
        REQUEST_COLUMNS,
    )


@dataclass(frozen=True, slots=True)
class _Asks:
    """Everything drawn about each of ``n`` requests before their texts.

    Shape (n,) each, except the (n, k) slots ``theme_idx`` / ``theme_valid`` (main theme first) and ``lang_idx`` /
    ``lang_valid`` (English, then the country's working language); windows are day offsets from the period's start.
    """

    city: NDArray[np.int64]
    country: NDArray[np.int64]
    theme_idx: NDArray[np.int64]
    theme_valid: NDArray[np.bool_]
    is_os: NDArray[np.bool_]
    window_start: NDArray[np.int64]
    window_end: NDArray[np.int64]
    days: NDArray[np.int64]
    lang_idx: NDArray[np.int64]
    lang_valid: NDArray[np.bool_]
    korean: NDArray[np.bool_]
    experts_needed: NDArray[np.int64]
    budget: NDArray[np.int64]
    has_budget: NDArray[np.bool_]
    excluding: NDArray[np.bool_]
    excluded: NDArray[np.int64]  # position in the roster ids


def _asks(
    rng: np.random.Generator, n: int, first: np.datetime64, period_days: int, *, n_ids: int, mix: RequestMix
) -> _Asks:
    """Place, themes, window, days, languages and terms of ``n`` requests (``n_ids``: roster size, may be 0)."""
    lk = _lookups()
    city = rng.integers(0, len(lk.city_country), n)
    country = lk.city_country[city]
    theme_idx, theme_valid = _themes(rng, n, mix.theme_counts, mix.related_theme)
    is_os, window_start, window_end, days = _windows(rng, n, first, period_days, mix)
    lang_idx, lang_valid = _request_languages(rng, country, mix)
    korean = rng.random(n) < mix.korean_experience
    experts_needed = 1 + (rng.random(n) < mix.two_experts).astype(np.int64)
    rate = rng.integers(mix.budget_rate_tens[0], mix.budget_rate_tens[1] + 1, n) * 10
    cost = rate * days * experts_needed * rng.uniform(*mix.budget_factor, n)
    budget = (np.round(cost / mix.budget_step) * mix.budget_step).astype(np.int64)
    has_budget = rng.random(n) >= mix.no_budget
    excluding = (rng.random(n) < mix.exclusion) & (n_ids > 0)
    excluded = rng.integers(0, max(n_ids, 1), n)
    return _Asks(
        city=city,
        country=country,
        theme_idx=theme_idx,
        theme_valid=theme_valid,
        is_os=is_os,
        window_start=window_start,
        window_end=window_end,
        days=days,
        lang_idx=lang_idx,
        lang_valid=lang_valid,
        korean=korean,
        experts_needed=experts_needed,
        budget=budget,
        has_budget=has_budget,
        excluding=excluding,
        excluded=excluded,
    )


def _windows(
    rng: np.random.Generator, n: int, first: np.datetime64, period_days: int, mix: RequestMix
) -> tuple[NDArray[np.bool_], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """(is OS, window start, window end, days asked), each shape (n,); windows are whole weeks in the period.

    ``days`` never exceeds the support type's cap nor the working days (Mon-Fri) in the window.
    """
    is_os = rng.random(n) < mix.operational_support
    weeks = rng.integers(mix.window_weeks[0], mix.window_weeks[1] + 1, n)
    length = np.minimum(7 * weeks, period_days)
    window_start = (rng.random(n) * (period_days - length + 1)).astype(np.int64)
    start_dates = first + window_start.astype("timedelta64[D]")
    working_days = np.busday_count(start_dates, start_dates + length.astype("timedelta64[D]"))
    cap = np.minimum(np.where(is_os, SUPPORT_DAY_CAPS["OS"], SUPPORT_DAY_CAPS["JIT"]), working_days)
    low = np.minimum(np.where(is_os, mix.min_days_os, mix.min_days_jit), cap)
    days = low + (rng.random(n) * (cap - low + 1)).astype(np.int64)
    return is_os, window_start, window_start + length - 1, days


def _request_languages(
    rng: np.random.Generator, country: NDArray[np.int64], mix: RequestMix
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """English mostly, the local working language sometimes, sometimes nothing: (idx, valid), shape (n, 2)."""
    lk = _lookups()
    n = len(country)
    local = lk.country_work_lang[country]
    lang_idx = np.stack([np.full(n, lk.lang_index["en"]), np.maximum(local, 0)], axis=1)
    asks_english = rng.random(n) < mix.english
    # A smaller language is asked for only beside English; a lingua franca may be asked for alone.
    lingua_franca = np.isin(local, [lk.lang_index[c] for c in mix.lingua_francas])
    asks_local = (local >= 0) & (rng.random(n) < mix.local_language) & (asks_english | lingua_franca)
    return lang_idx, np.stack([asks_english, asks_local], axis=1)


def _request_texts(rng: np.random.Generator, asks: _Asks, *, mix: RequestMix) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(client, title, description) of each request."""
    lk, templates = _lookups(), _templates("requests")
    n = len(asks.city)
    main = asks.theme_idx[:, 0]
    fields = {
        "city": (lk.city_name_t, asks.city),
        "country": (lk.country_name_t, asks.country),
        "np": (lk.np_t, _pick(rng, lk.nps, asks.theme_idx[:, 1])),
        "kref": (lk.kref_t, main),
        "language": (lk.lang_name_t, asks.lang_idx[:, 1]),
    }
    practice = lk.theme_practice[main]
    client = _fill(lk.clients.values, _pick(rng, lk.clients, practice), fields)
    title = _fill(lk.titles.values, _pick(rng, lk.titles, main), fields)
    problem = _fill(lk.problems.values, _pick(rng, lk.problems, main), fields)
    also_choice = rng.integers(0, len(templates["also"]), n)
    also = _fill(templates["also"], also_choice, fields, active=asks.theme_valid[:, 1])
    jit, operational = templates["support"]["JIT"], templates["support"]["OS"]
    support = _fill((*jit, *operational), len(jit) * asks.is_os + rng.integers(0, len(jit), n), fields)
    korean = (templates["korean"]["mentioned"], templates["korean"]["asked"])
    mentions_korea = asks.korean | (rng.random(n) < mix.korean_mentioned)
    korean_text = _fill(korean, asks.korean.astype(np.int64), fields, active=mentions_korea)
    language_text = _fill((templates["language"],), np.zeros(n, np.int64), fields, active=asks.lang_valid[:, 1])
    return client, title, _sentences(problem, also, support, korean_text, language_text)


# --------------------------------------------------------------------------------------------------------------
# Rounds and the demo
# --------------------------------------------------------------------------------------------------------------


def generate_round(
    n_experts: int,
    n_requests: int,
    *,
    seed: int | np.random.Generator = 0,
    round: str = "R1",
    start: str = "2027-01-01",
    months: int = 12,
    request_months: int = 6,
    korean_share: float = 0.6,
    firm_share: float = 0.05,
    per_expert: float = 1.5,
) -> dict[str, pd.DataFrame]:
    """Generate a whole round: a roster, its evidence and requests that may exclude roster experts.

    The roster's calendar covers ``months`` from ``start``; request windows fall in the first ``request_months``;
    evidence ends the year before ``start``. Each table draws from its own stream spawned from ``seed``.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``{"experts": ..., "evidence": ..., "requests": ...}``.

    Examples
    --------
    >>> tables = generate_round(30, 4, seed=5)
    >>> sorted(tables), len(tables["experts"]), len(tables["requests"])
    (['evidence', 'experts', 'requests'], 30, 4)
    """
    expert_rng, evidence_rng, request_rng = _rng(seed).spawn(3)
    first, _ = _period(start, months)
    experts = generate_experts(
        n_experts, seed=expert_rng, start=start, months=months, korean_share=korean_share, firm_share=firm_share
    )
    evidence = generate_evidence(experts, seed=evidence_rng, per_expert=per_expert, last_year=int(str(first)[:4]) - 1)
    requests = generate_requests(
        n_requests,
        seed=request_rng,
        round=round,
        start=start,
        months=request_months,
        expert_ids=experts["expert_id"].tolist(),
    )
    return {"experts": experts, "evidence": evidence, "requests": requests}


# ``contention`` in demo.json changes three generated demo requests so that the demo round is contended, as real
# rounds are: two Yerevan requests in overlapping windows need the roster's one Armenian speaker (one is left
# unstaffed, its candidate taken), and the Santiago request wants two experts on a budget that pays for one (partly
# staffed). Nothing else moves. The changes name requests of the bundled round (seed 2027), so other seeds are left
# as generated.


def _contend(requests: pd.DataFrame) -> pd.DataFrame:
    """The demo requests with ``contention`` of ``demo.json`` applied (``description+`` appends to the description)."""
    out = requests.copy()
    for request_id, changes in read_bank("demo.json")["contention"].items():
        row = out.index[out["request_id"] == request_id]
        for column, value in changes.items():
            if column == "description+":
                out.loc[row, "description"] = out.loc[row, "description"] + value
            else:
                out.loc[row, column] = value
    return out


def _is_bundled_seed(seed: int | np.random.Generator) -> bool:
    return isinstance(seed, int | np.integer) and int(seed) == 2027


def _answerable(requests: pd.DataFrame, experts: pd.DataFrame) -> list[bool]:
    """Whether some expert shares a theme, speaks every language asked and is free on enough working days.

    A plain loop: it only serves the small demo.
    """

    def items(cell: str) -> set[str]:
        return set(cell.split(";")) if cell else set()

    roster = [
        (items(themes), items(languages), [tuple(iv.split("/")) for iv in items(busy)])
        for themes, languages, busy in zip(experts["themes"], experts["languages"], experts["busy"], strict=True)
    ]
    out = []
    for themes, languages, first, last, days in zip(
        requests["themes"],
        requests["languages"],
        requests["window_start"],
        requests["window_end"],
        requests["days"],
        strict=True,
    ):
        window = np.arange(np.datetime64(first), np.datetime64(last) + 1, dtype="datetime64[D]")
        # ISO dates compare as strings.
        working = window[np.is_busday(window)].astype(str).tolist()
        out.append(
            any(
                items(themes) & expert_themes
                and items(languages) <= expert_languages
                and sum(not any(b <= d <= e for b, e in busy) for d in working) >= int(days)
                for expert_themes, expert_languages, busy in roster
            )
        )
    return out


def demo_round(seed: int | np.random.Generator = 2027) -> dict[str, pd.DataFrame]:
    """A small demo round: 200 experts, their evidence and 12 requests of round ``DEMO``.

    The first three requests are the matches the program reported (Egypt's new urban communities, Ulaanbaatar's
    intelligent transport systems, Rabat's urban mobility); the other nine are generated, three of them changed so
    that the round is contended (two Yerevan requests need the roster's one Armenian speaker in overlapping
    windows, and the Santiago request's budget pays for one of the two experts it asks for): the plan leaves one
    request unstaffed and one partly staffed, with reasons.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``{"experts": ..., "evidence": ..., "requests": ...}``.

    Examples
    --------
    >>> demo = demo_round()
    >>> len(demo["experts"]), list(demo["requests"]["request_id"][:3])
    (200, ['DEMO-001', 'DEMO-002', 'DEMO-003'])
    >>> demo["requests"].loc[1, "city"]
    'Ulaanbaatar'
    """
    # Draw spare requests and keep the first nine that some demo expert could take, so that each demo request has
    # an answer worth showing.
    tables = generate_round(200, 40, seed=seed, round="DEMO", start="2027-01-01", months=12, request_months=6)
    answerable = _answerable(tables["requests"], tables["experts"])
    generated = tables["requests"][answerable].head(12 - len(read_bank("demo.json")["showcase_requests"]))
    showcase = pd.DataFrame(
        [
            {**row, "exclude_experts": "", "round": "DEMO", "synthetic": "true"}
            for row in read_bank("demo.json")["showcase_requests"]
        ],
        columns=list(REQUEST_COLUMNS),
        dtype=str,
    )
    requests = pd.concat([showcase, generated], ignore_index=True)
    requests["request_id"] = pd.Series([f"DEMO-{i:03d}" for i in range(1, len(requests) + 1)], dtype=str)
    requests = requests.astype(str)
    return {**tables, "requests": _contend(requests) if _is_bundled_seed(seed) else requests}
