"""Phrase banks of the synthetic generator, read from the JSON files in ``gscp_match/synthetic/data``.

The files are read on first use (never at import) through :mod:`importlib.resources`, so they are found inside an
installed wheel or a zip as well as in a source checkout, and each is read once. What is read comes back frozen:
JSON lists as tuples, JSON objects as read-only mappings, in file order (the generator draws rows by position, so
the order of every list is part of its output).

The files:

``places.json``
    ``languages`` (code -> English name), ``countries`` (alpha-2 -> name, World Bank region or "" outside the client
    regions, spoken languages, the working language a request from there may ask for besides English or ""),
    ``cities`` ([city, alpha-2] client cities in all six regions), ``region_names`` (code -> prose name).
``themes.json``
    ``text`` per theme: ``roles`` (what an expert of the theme is), ``np`` (focus as a noun phrase), ``vp`` (work
    done as a past participle phrase, read after "has" and on its own), ``title`` and ``problem`` (request texts with
    ``{city}`` / ``{country}``), ``kref`` (the Korean experience a client of the theme would ask for); ``weights``
    (how often a theme is a main theme), ``related`` (themes that come with a main theme), ``practice_group`` (of a
    request, by main theme), ``practice_clients`` (client templates by practice group), ``conflict_orgs`` (city
    clients an expert may have a conflict of interest with).
``names.json``
    Invented name syllables (Korean-style given names and two-syllable family words, international given and family
    name halves) and firm name parts (``firm_b``: the middle word, by main theme).
``seniority.json``
    Seniority levels: label, fewest and most years of experience, day-rate factor.
``templates.json``
    Sentence templates with ``{field}`` placeholders: names, bios, evidence, request descriptions.
``demo.json``
    ``showcase_requests`` (the three matches the program reported, as demo requests) and ``contention`` (changes to
    three generated requests of the bundled demo round; ``description+`` appends to the description).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any, NamedTuple

__all__ = ["BANK_FILES", "Country", "Seniority", "read_bank", "thaw"]

#: The data files under ``gscp_match/synthetic/data``.
BANK_FILES: tuple[str, ...] = (
    "places.json",
    "themes.json",
    "names.json",
    "seniority.json",
    "templates.json",
    "demo.json",
)


class Country(NamedTuple):
    """A country of ``places.json`` (compares equal to the plain tuple of its fields)."""

    name: str
    region: str
    languages: tuple[str, ...]
    work_language: str


class Seniority(NamedTuple):
    """A row of ``seniority.json``."""

    label: str
    min_years: int
    max_years: int
    rate_factor: float


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({key: _freeze(item) for key, item in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(item) for item in value)
    return value


def thaw(value: Any) -> Any:
    """A plain, mutable copy of a frozen bank: mappings become dicts (tuples stay tuples)."""
    if isinstance(value, Mapping):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(thaw(item) for item in value)
    return value


@cache
def read_bank(name: str) -> Any:
    """The frozen contents of data file ``name`` (one of :data:`BANK_FILES`), read once.

    ``countries`` in ``places.json`` come back as :class:`Country` and the rows of ``seniority.json`` as
    :class:`Seniority`.

    Examples
    --------
    >>> read_bank("seniority.json")[0]
    Seniority(label='mid-career', min_years=6, max_years=12, rate_factor=0.8)
    >>> read_bank("places.json")["countries"]["MN"].languages
    ('mn', 'ru')
    """
    if name not in BANK_FILES:
        raise KeyError(f"unknown phrase bank {name!r}; the banks are {', '.join(BANK_FILES)}")
    text = (resources.files("gscp_match.synthetic") / "data" / name).read_text(encoding="utf-8")
    bank = _freeze(json.loads(text))
    if name == "places.json":
        countries = {code: Country(**row) for code, row in bank["countries"].items()}
        bank = MappingProxyType({**bank, "countries": MappingProxyType(countries)})
    elif name == "seniority.json":
        bank = tuple(Seniority(**row) for row in bank)
    return bank
