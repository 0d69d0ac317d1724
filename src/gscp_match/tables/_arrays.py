"""Validated tables -> arrays: the one place that maps ids to integer rows.

The scoring and assignment cores work on integer positions only (:mod:`gscp_match.core._arrays`).
:func:`expert_arrays` builds a roster's arrays sorted by ``expert_id`` (so ties broken by position are ties broken
by id, whatever order the file had), :func:`request_arrays` a round's in file order. Conflicts of interest are ids
and tokens: :func:`conflict_matrix` turns them into the core's ``(n_requests, n_experts)`` matrix here.
Categorical columns become sparse 0/1 matrices over fixed vocabularies (:data:`THEME_CODES`, :data:`REGION_CODES`,
ISO languages and countries), so request-expert overlaps are sparse or small dense matrix products.
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

from gscp_match.core._arrays import CaseArrays, ExpertArrays, RequestArrays
from gscp_match.errors import InputError
from gscp_match.tables._vocab import REGIONS, THEMES, country_name, country_region, normalize_country

__all__ = [
    "THEME_CODES",
    "REGION_CODES",
    "LANGUAGE_CODES",
    "COUNTRY_CODES",
    "ExpertConflicts",
    "RequestConflicts",
    "expert_arrays",
    "expert_conflicts",
    "expert_positions",
    "request_arrays",
    "request_conflicts",
    "case_arrays",
    "conflict_matrix",
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


def expert_arrays(experts: pd.DataFrame) -> ExpertArrays:
    """The core's arrays of a validated experts table that is already sorted by ``expert_id``."""
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
    return ExpertArrays(
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
    )


def expert_positions(ids: NDArray[np.object_], wanted: Sequence[str]) -> NDArray[np.int64]:
    """Rows of the ``wanted`` expert ids in ``ids`` (sorted, as :func:`expert_arrays` keeps them); an unknown id is
    an :class:`InputError`.

    >>> expert_positions(np.array(["E1", "E2", "E3"], dtype=object), ["E3", "E1"])
    array([2, 0])
    """
    ids_array = np.asarray(list(wanted), dtype=object)
    pos, found = _lookup(ids, ids_array)
    if not np.all(found):
        unknown = ", ".join(map(repr, ids_array[~found][:5]))
        raise InputError(f"unknown expert id(s): {unknown}")
    return pos


def _lookup(ids: NDArray[np.object_], wanted: NDArray[np.object_]) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Where each of ``wanted`` sits in the sorted ``ids``, and whether it is there at all (``pos`` is then
    meaningless)."""
    if not wanted.size or not len(ids):
        return np.zeros(len(wanted), dtype=np.int64), np.zeros(len(wanted), dtype=bool)
    pos = np.minimum(np.searchsorted(ids, wanted), len(ids) - 1).astype(np.int64)
    return pos, ids[pos] == wanted


@dataclass(frozen=True, slots=True)
class ExpertConflicts:
    """A roster's declared conflicts of interest as tokens (see :func:`conflict_token`).

    Attributes
    ----------
    vocabulary : tuple of str; every token of the roster, sorted.
    matrix : (n_experts, len(vocabulary)) CSR 0/1.
    """

    vocabulary: tuple[str, ...]
    matrix: sp.csr_matrix


def expert_conflicts(experts: pd.DataFrame) -> ExpertConflicts:
    """The conflict tokens of a validated experts table, rows in its order."""
    tokens = [tuple(conflict_token(c) for c in cs) for cs in experts["conflicts"]]
    vocabulary = tuple(sorted({t for ts in tokens for t in ts}))
    return ExpertConflicts(vocabulary=vocabulary, matrix=one_hot(tokens, vocabulary))


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


def request_arrays(requests: pd.DataFrame) -> RequestArrays:
    """The core's arrays of a validated requests table, rows in its order."""
    start = requests["window_start"].to_numpy(dtype="datetime64[D]")
    end = requests["window_end"].to_numpy(dtype="datetime64[D]")
    has_window = ~(np.isnat(start) | np.isnat(end))
    window_start = np.where(has_window, start.astype(np.int64), 0)
    window_end = np.where(has_window, end.astype(np.int64), 0)
    region_index = {c: i for i, c in enumerate(REGION_CODES)}
    country_index = {c: i for i, c in enumerate(COUNTRY_CODES)}
    return RequestArrays(
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
    )


@dataclass(frozen=True, slots=True)
class RequestConflicts:
    """What a round's requests can conflict with, as the edges know it: ids and tokens, turned into the core's
    ``(n_requests, n_experts)`` matrix by :func:`conflict_matrix`.

    Attributes
    ----------
    tokens : tuple of tuple of str; each request's country, city and client as conflict tokens.
    exclude : tuple of tuple of str; the expert ids each request excludes.
    """

    tokens: tuple[tuple[str, ...], ...]
    exclude: tuple[tuple[str, ...], ...]

    def subset(self, rows: NDArray[np.int64]) -> RequestConflicts:
        """The requests at ``rows``, in that order."""
        return RequestConflicts(
            tokens=tuple(self.tokens[i] for i in rows), exclude=tuple(self.exclude[i] for i in rows)
        )


def request_conflicts(requests: pd.DataFrame) -> RequestConflicts:
    """The conflict tokens and exclusions of a validated requests table."""
    tokens = []
    for country, city, client in zip(requests["country"], requests["city"], requests["client"], strict=True):
        found = [country] if country else []
        if country:
            found.append(conflict_token(country_name(country)))
        found += [conflict_token(v) for v in (city, client) if v]
        tokens.append(tuple(dict.fromkeys(found)))
    return RequestConflicts(tokens=tuple(tokens), exclude=tuple(tuple(e) for e in requests["exclude_experts"]))


def conflict_matrix(
    requests: RequestConflicts, experts: ExpertConflicts, expert_ids: NDArray[np.object_]
) -> sp.csr_matrix:
    """``(n_requests, n_experts)`` CSR bool: the expert declared a conflict with the request's country, city or
    client, or the request excludes the expert.

    ``expert_ids`` are the roster's ids in row order (sorted). An excluded id that is not among them is skipped:
    the tables' checks (:func:`~gscp_match.tables.validate_table`'s references) reject unknown ids before, and a
    shard of a profile store holds only some of the roster.
    """
    vocabulary = {t: i for i, t in enumerate(experts.vocabulary)}
    rows, cols = [], []
    for r, tokens in enumerate(requests.tokens):
        for t in tokens:
            if t in vocabulary:
                rows.append(r)
                cols.append(vocabulary[t])
    n_req = len(requests.tokens)
    request_tokens = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n_req, len(experts.vocabulary))
    )
    named = (request_tokens @ experts.matrix.T).tocsr()
    wanted = np.asarray([e for excluded in requests.exclude for e in excluded], dtype=object)
    owner = np.asarray([r for r, excluded in enumerate(requests.exclude) for _ in excluded], dtype=np.int64)
    pos, present = _lookup(expert_ids, wanted)
    excluded = sp.csr_matrix(
        (np.ones(int(present.sum()), dtype=np.float32), (owner[present], pos[present])), shape=named.shape
    )
    both = (named + excluded).tocsr()
    both.data = both.data > 0
    both.eliminate_zeros()
    return both.astype(bool)


def case_arrays(cases: pd.DataFrame) -> CaseArrays:
    """The core's arrays of a validated cases table sorted by ``case_id``."""
    return CaseArrays(ids=cases["case_id"].to_numpy(dtype=object), themes=one_hot(cases["themes"], THEME_CODES))
