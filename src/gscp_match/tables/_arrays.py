"""Validated tables -> arrays: the one place that maps ids to integer rows.

The scoring and assignment cores work on integer positions only. :class:`ExpertArrays` holds a roster sorted by
``expert_id`` (so ties broken by position are ties broken by id, whatever order the file had), and
:class:`RequestArrays` a round of requests in file order. Categorical columns become sparse 0/1 matrices over fixed
vocabularies (:data:`THEME_CODES`, :data:`REGION_CODES`, ISO languages and countries), so request-expert overlaps are
sparse or small dense matrix products.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
import pycountry
import scipy.sparse as sp
from numpy.typing import NDArray

from gscp_match.errors import InputError
from gscp_match.tables._vocab import REGIONS, THEMES, country_name, country_region, normalize_country

__all__ = [
    "THEME_CODES",
    "REGION_CODES",
    "LANGUAGE_CODES",
    "COUNTRY_CODES",
    "ExpertArrays",
    "RequestArrays",
    "CaseArrays",
    "day_numbers",
    "conflict_token",
    "one_hot",
]

THEME_CODES: tuple[str, ...] = tuple(THEMES)
REGION_CODES: tuple[str, ...] = tuple(REGIONS)


@lru_cache(maxsize=1)
def _languages() -> tuple[str, ...]:
    return tuple(sorted({lang.alpha_2 for lang in pycountry.languages if hasattr(lang, "alpha_2")}))


@lru_cache(maxsize=1)
def _countries() -> tuple[str, ...]:
    return tuple(sorted({c.alpha_2 for c in pycountry.countries} | {"XK"}))


LANGUAGE_CODES: tuple[str, ...] = _languages()
COUNTRY_CODES: tuple[str, ...] = _countries()


def one_hot(rows: Iterable[Sequence[str]], vocabulary: Sequence[str]) -> sp.csr_matrix:
    """``(n_rows, len(vocabulary))`` float32 0/1 matrix; values outside the vocabulary are ignored."""
    index = {code: i for i, code in enumerate(vocabulary)}
    indptr = [0]
    indices: list[int] = []
    for items in rows:
        cols = sorted({index[v] for v in items if v in index})
        indices.extend(cols)
        indptr.append(len(indices))
    data = np.ones(len(indices), dtype=np.float32)
    return sp.csr_matrix(
        (data, np.asarray(indices, dtype=np.int64), np.asarray(indptr, dtype=np.int64)),
        shape=(len(indptr) - 1, len(vocabulary)),
    )


def day_numbers(values: pd.Series | NDArray[np.datetime64]) -> NDArray[np.int64]:
    """Dates as int64 days since 1970-01-01 (``-1`` stands for a missing date only where documented by callers).

    >>> day_numbers(np.array(["1970-01-02"], dtype="datetime64[D]"))
    array([1])
    """
    return np.asarray(values, dtype="datetime64[D]").astype(np.int64)


def conflict_token(value: str) -> str:
    """Normalize a conflict entry (or a request's country, city, client) for matching.

    Country names and codes become their alpha-2 code; anything else is case-folded with spaces collapsed.

    >>> conflict_token("Morocco"), conflict_token("  City of  Rabat ")
    ('MA', 'city of rabat')
    """
    text = " ".join(value.split())
    code = normalize_country(text) if text else None
    return code if code is not None else text.casefold()


@dataclass(frozen=True, slots=True)
class ExpertArrays:
    """A roster as arrays, rows sorted by ``expert_id``.

    Attributes
    ----------
    ids : (n_experts,) object array of str, sorted ascending.
    korean : (n_experts,) bool; Korean experience.
    day_rate : (n_experts,) float64; NaN where unknown.
    capacity : (n_experts,) int64; engagements per round.
    themes : (n_experts, len(THEME_CODES)) CSR 0/1.
    languages : (n_experts, len(LANGUAGE_CODES)) CSR 0/1.
    regions : (n_experts, len(REGION_CODES)) CSR 0/1; listed regions plus the regions of countries worked in.
    countries : (n_experts, len(COUNTRY_CODES)) CSR 0/1; countries worked in.
    busy_offsets : (n_experts + 1,) int64; busy intervals of expert ``e`` are ``[busy_offsets[e], busy_offsets[e+1])``.
    busy_start, busy_end : (n_intervals,) int64 inclusive day numbers.
    conflict_vocabulary : tuple of str; conflict tokens (see :func:`conflict_token`).
    conflicts : (n_experts, len(conflict_vocabulary)) CSR 0/1.
    """

    ids: NDArray[np.object_]
    korean: NDArray[np.bool_]
    day_rate: NDArray[np.float64]
    capacity: NDArray[np.int64]
    themes: sp.csr_matrix
    languages: sp.csr_matrix
    regions: sp.csr_matrix
    countries: sp.csr_matrix
    busy_offsets: NDArray[np.int64]
    busy_start: NDArray[np.int64]
    busy_end: NDArray[np.int64]
    conflict_vocabulary: tuple[str, ...]
    conflicts: sp.csr_matrix

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_table(cls, experts: pd.DataFrame) -> ExpertArrays:
        """Build from a validated experts table that is already sorted by ``expert_id``."""
        ids = experts["expert_id"].to_numpy(dtype=object)
        if len(ids) > 1 and not bool(np.all(ids[:-1] < ids[1:])):
            raise ValueError("experts must be sorted by expert_id with unique ids (Matcher sorts them)")
        countries = experts["countries"].tolist()
        regions = [
            tuple(r) + tuple(filter(None, (country_region(c) for c in cs)))
            for r, cs in zip(experts["regions"], countries, strict=True)
        ]
        busy_owner, busy_start, busy_end = _busy_intervals(experts["busy"].tolist())
        offsets = np.searchsorted(busy_owner, np.arange(len(ids) + 1)).astype(np.int64)
        tokens = [tuple(conflict_token(c) for c in cs) for cs in experts["conflicts"]]
        vocabulary = tuple(sorted({t for ts in tokens for t in ts}))
        return cls(
            ids=ids,
            korean=experts["korean_experience"].to_numpy(dtype=bool),
            day_rate=experts["day_rate_usd"].to_numpy(dtype=np.float64),
            capacity=experts["max_assignments"].to_numpy(dtype=np.int64),
            themes=one_hot(experts["themes"], THEME_CODES),
            languages=one_hot(experts["languages"], LANGUAGE_CODES),
            regions=one_hot(regions, REGION_CODES),
            countries=one_hot(countries, COUNTRY_CODES),
            busy_offsets=offsets,
            busy_start=busy_start,
            busy_end=busy_end,
            conflict_vocabulary=vocabulary,
            conflicts=one_hot(tokens, vocabulary),
        )

    def positions(self, ids: Sequence[str]) -> NDArray[np.int64]:
        """Rows of the given expert ids; an unknown id is an :class:`InputError`."""
        ids_array = np.asarray(list(ids), dtype=object)
        pos = np.searchsorted(self.ids, ids_array)
        pos = np.minimum(pos, max(len(self.ids) - 1, 0))
        found = self.ids[pos] == ids_array if len(self.ids) else np.zeros(len(ids_array), dtype=bool)
        if not np.all(found):
            unknown = ", ".join(map(repr, ids_array[~found][:5]))
            raise InputError(f"unknown expert id(s): {unknown}")
        return pos.astype(np.int64)


def _busy_intervals(
    busy: list[tuple[str, ...]],
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    counts = np.fromiter((len(b) for b in busy), dtype=np.int64, count=len(busy))
    flat = [interval for intervals in busy for interval in intervals]
    owner = np.repeat(np.arange(len(busy), dtype=np.int64), counts)
    if not flat:
        empty = np.zeros(0, dtype=np.int64)
        return owner, empty, empty
    text = np.asarray(flat, dtype="U21")
    start = text.astype("U10").astype("datetime64[D]").astype(np.int64)
    end = np.char.partition(text, "/")[:, 2].astype("datetime64[D]").astype(np.int64)
    return owner, start, end


@dataclass(frozen=True, slots=True)
class RequestArrays:
    """A round of requests as arrays, rows in the table's order.

    Attributes
    ----------
    ids : (n_requests,) object array of str.
    days : (n_requests,) int64 working days needed; 0 where not given.
    has_window : (n_requests,) bool; window_start/window_end given.
    window_start, window_end : (n_requests,) int64 inclusive day numbers (0 where no window).
    wants_korean : (n_requests,) bool.
    budget : (n_requests,) float64; NaN where not given.
    experts_needed : (n_requests,) int64.
    themes, languages : CSR 0/1 over THEME_CODES and LANGUAGE_CODES.
    region : (n_requests,) int64 index into REGION_CODES, -1 where unknown.
    country : (n_requests,) int64 index into COUNTRY_CODES, -1 where unknown.
    conflict_tokens : tuple of tuple of str; the request's country, city and client as conflict tokens.
    exclude : tuple of tuple of str; expert ids the request excludes.
    """

    ids: NDArray[np.object_]
    days: NDArray[np.int64]
    has_window: NDArray[np.bool_]
    window_start: NDArray[np.int64]
    window_end: NDArray[np.int64]
    wants_korean: NDArray[np.bool_]
    budget: NDArray[np.float64]
    experts_needed: NDArray[np.int64]
    themes: sp.csr_matrix
    languages: sp.csr_matrix
    region: NDArray[np.int64]
    country: NDArray[np.int64]
    conflict_tokens: tuple[tuple[str, ...], ...]
    exclude: tuple[tuple[str, ...], ...]

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_table(cls, requests: pd.DataFrame) -> RequestArrays:
        """Build from a validated requests table."""
        start = requests["window_start"].to_numpy(dtype="datetime64[D]")
        end = requests["window_end"].to_numpy(dtype="datetime64[D]")
        has_window = ~(np.isnat(start) | np.isnat(end))
        window_start = np.where(has_window, start.astype(np.int64), 0)
        window_end = np.where(has_window, end.astype(np.int64), 0)
        region_index = {c: i for i, c in enumerate(REGION_CODES)}
        country_index = {c: i for i, c in enumerate(COUNTRY_CODES)}
        tokens = []
        for country, city, client in zip(requests["country"], requests["city"], requests["client"], strict=True):
            found = [country] if country else []
            if country:
                found.append(conflict_token(country_name(country)))
            found += [conflict_token(v) for v in (city, client) if v]
            tokens.append(tuple(dict.fromkeys(found)))
        return cls(
            ids=requests["request_id"].to_numpy(dtype=object),
            days=requests["days"].fillna(0).to_numpy(dtype=np.int64),
            has_window=has_window,
            window_start=window_start.astype(np.int64),
            window_end=window_end.astype(np.int64),
            wants_korean=requests["korean_experience"].to_numpy(dtype=bool),
            budget=requests["budget_usd"].to_numpy(dtype=np.float64),
            experts_needed=requests["experts_needed"].fillna(1).to_numpy(dtype=np.int64),
            themes=one_hot(requests["themes"], THEME_CODES),
            languages=one_hot(requests["languages"], LANGUAGE_CODES),
            region=np.array([region_index.get(r, -1) for r in requests["region"]], dtype=np.int64),
            country=np.array([country_index.get(c, -1) for c in requests["country"]], dtype=np.int64),
            conflict_tokens=tuple(tokens),
            exclude=tuple(tuple(e) for e in requests["exclude_experts"]),
        )

    def subset(self, rows: NDArray[np.int64]) -> RequestArrays:
        """The requests at ``rows``, in that order."""
        rows = np.asarray(rows, dtype=np.int64)
        return RequestArrays(
            ids=self.ids[rows],
            days=self.days[rows],
            has_window=self.has_window[rows],
            window_start=self.window_start[rows],
            window_end=self.window_end[rows],
            wants_korean=self.wants_korean[rows],
            budget=self.budget[rows],
            experts_needed=self.experts_needed[rows],
            themes=self.themes[rows],
            languages=self.languages[rows],
            region=self.region[rows],
            country=self.country[rows],
            conflict_tokens=tuple(self.conflict_tokens[i] for i in rows),
            exclude=tuple(self.exclude[i] for i in rows),
        )


@dataclass(frozen=True, slots=True)
class CaseArrays:
    """A case catalog as arrays, rows sorted by ``case_id``.

    Attributes
    ----------
    ids : (n_cases,) object array of str, sorted.
    themes : (n_cases, len(THEME_CODES)) CSR 0/1.
    """

    ids: NDArray[np.object_]
    themes: sp.csr_matrix

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_table(cls, cases: pd.DataFrame) -> CaseArrays:
        """Build from a validated cases table sorted by ``case_id``."""
        return cls(ids=cases["case_id"].to_numpy(dtype=object), themes=one_hot(cases["themes"], THEME_CODES))
