"""The data contract: the tables (four inputs and the past-selections history), their columns, and how each cell is
read.

Every table is described by :data:`TABLES`; each column by a :class:`Column` with a cell parser. A parser takes the
cell's text and returns the typed value or raises :class:`CellError` with what was expected. The validated (typed)
form of each column:

========== ============================================ ==========================
kind       typed value                                  missing
========== ============================================ ==========================
text       ``str`` (stripped)                           ``""``
list       ``tuple[str, ...]`` (``;``-separated cells)  ``()``
bool       ``bool``                                     column default
int        ``int`` (column dtype ``Int64``)             ``<NA>`` or default
float      ``float``                                    ``nan``
date       ``numpy.datetime64`` (column ``datetime64[s]``) ``NaT``
========== ============================================ ==========================
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from gscp_match.tables._vocab import EXPERT_KINDS, REGIONS, SUPPORT_TYPES, THEMES, normalize_country, normalize_language

__all__ = [
    "Column",
    "CellError",
    "TABLES",
    "TABLE_KINDS",
    "cell_text",
    "clean_text",
    "number_text",
    "to_file_form",
    "parse_interval",
    "MAX_USD",
    "MAX_REQUEST_DAYS",
    "MAX_EXPERTS_NEEDED",
    "MAX_ASSIGNMENTS",
    "DATE_YEARS",
]


class CellError(ValueError):
    """A cell that does not hold what its column expects; the message says what was expected."""


Parser = Callable[[str], Any]


@dataclass(frozen=True, slots=True)
class Column:
    """One column of the contract.

    ``kind`` is one of ``text``, ``list``, ``bool``, ``int``, ``float``, ``date``; ``parse`` reads one non-empty
    cell (for lists: one item). ``default`` fills empty cells of optional columns.
    """

    name: str
    kind: str
    required: bool = False
    parse: Parser | None = None
    default: Any = None
    doc: str = ""


# ---------------------------------------------------------------------------------------------------------------
# Cell parsers. Each takes a stripped, non-empty string.

_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _bool(text: str) -> bool:
    low = text.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise CellError(f"{text!r} is not a boolean (true/false, yes/no, 1/0)")


#: Most a USD amount (day rate, budget) may be: beyond it a number is a typo, and float32 scores stay finite.
MAX_USD = 1_000_000_000
#: Most working days a request may ask for without a support type (JIT and OS have their own caps, 30 and 60).
MAX_REQUEST_DAYS = 260
#: Most experts one request may ask for.
MAX_EXPERTS_NEEDED = 100
#: Most engagements one expert (or firm) may take in a round.
MAX_ASSIGNMENTS = 1000
#: Years a date (a request window, a busy interval) may have, inclusive.
DATE_YEARS = (1990, 2100)
#: Years a year column (evidence year, case start and end) may have, inclusive.
YEAR_RANGE = (1800, 2200)

_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_POINT_GROUPED = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")  # 1,000 / 1,000,000.50
_COMMA_DECIMAL = re.compile(r"[+-]?\d+,\d*")  # 650,50
_COMMA_GROUPED = re.compile(r"[+-]?\d{1,3}(?:[. \u00a0\u202f]\d{3})+(?:,\d*)?")  # 1.000,50 / 1 000,50
_AMBIGUOUS = re.compile(r"[+-]?\d{1,3}[.,]\d{3}")  # 1.000 or 1,000: a thousand, or one


def number_text(text: str, decimal: str = ".") -> str:
    """A number cell's text with a decimal point and no thousands separator, as ``float()`` reads it.

    ``decimal`` is the file's decimal mark. With ``"."`` (every file except a CSV separated by ``;``) a comma may
    only group thousands in threes (``1,000``, ``1,000,000.50``); any other comma is rejected rather than guessed.
    With ``","`` (a CSV separated by ``;``, as European Excel writes it) the comma is the decimal mark and ``.`` or a
    space may group thousands (``1.000,50``, ``1 000,50``); ``1.000`` and ``1,000`` read as a thousand under one
    convention and as one under the other, so they are rejected. A value never changes its magnitude silently.

    >>> number_text("1,000"), number_text("650,50", decimal=","), number_text("1.000,50", decimal=",")
    ('1000', '650.50', '1000.50')
    >>> number_text("650,50")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gscp_match.tables._schema.CellError: '650,50' has a comma that is not a thousands separator; ... for example 650.50
    """
    if decimal == ",":
        if _AMBIGUOUS.fullmatch(text):
            whole, part = re.split("[.,]", text.lstrip("+-"))
            raise CellError(
                f"{text!r} is ambiguous in a file with decimal commas (a thousand, or {whole},{part} units?); "
                f"write {whole}{part} for a thousand or {whole},{part.rstrip('0') or '0'} for the decimal"
            )
        if _COMMA_GROUPED.fullmatch(text):
            return re.sub(r"[. \u00a0\u202f]", "", text).replace(",", ".")
        if _COMMA_DECIMAL.fullmatch(text):
            return text.replace(",", ".")
        return text
    if "," not in text:
        return text
    if _POINT_GROUPED.fullmatch(text):
        return text.replace(",", "")
    suggestion = (
        text.replace(".", "").replace(",", ".")
        if _COMMA_GROUPED.fullmatch(text) or _COMMA_DECIMAL.fullmatch(text)
        else None
    )
    example = f", for example {suggestion}" if suggestion else ""
    raise CellError(
        f"{text!r} has a comma that is not a thousands separator; "
        f"write numbers with a decimal point and no separators{example}"
    )


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise CellError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise CellError(f"{text!r} is not a finite number")
    return value


def _amount(text: str) -> float:
    value = _number(text)
    if value < 0:
        raise CellError(f"{text!r} is negative; expected a number >= 0")
    if value > MAX_USD:
        raise CellError(f"{text!r} is over the maximum of {MAX_USD:,} USD")
    return value


def _int_between(low: int, high: int, what: str = "a whole number") -> Parser:
    def parse(text: str) -> int:
        value = _number(text)
        if value != int(value):
            raise CellError(f"{text!r} is not a whole number")
        if not low <= value <= high:
            raise CellError(f"{text!r} is out of range; expected {what} from {low} to {high:,}")
        return int(value)

    return parse


def _year(text: str) -> int:
    value = _number(text) if _PLAIN_NUMBER.fullmatch(text) else math.nan
    low, high = YEAR_RANGE
    if not (value == value and value == int(value) and low <= value <= high):
        raise CellError(f"{text!r} is not a plausible year; expected a year from {low} to {high}")
    return int(value)


def parse_date(text: str) -> np.datetime64:
    """Read an ISO date ``YYYY-MM-DD`` of a year in :data:`DATE_YEARS`.

    >>> parse_date("2027-03-01")
    np.datetime64('2027-03-01')
    """
    if not _DATE_RE.match(text):
        raise CellError(f"{text!r} is not an ISO date (YYYY-MM-DD)")
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        raise CellError(f"{text!r} is not a valid date (YYYY-MM-DD)") from None
    low, high = DATE_YEARS
    if not low <= int(text[:4]) <= high:
        raise CellError(f"{text!r} is outside the supported years; expected a date from {low}-01-01 to {high}-12-31")
    return np.datetime64(text, "D")


def parse_interval(text: str) -> str:
    """Check an inclusive ISO date interval ``YYYY-MM-DD/YYYY-MM-DD`` and return it normalized.

    >>> parse_interval(" 2027-01-04 / 2027-01-08 ")
    '2027-01-04/2027-01-08'
    """
    parts = [p.strip() for p in text.split("/")]
    if len(parts) != 2 or not all(_DATE_RE.match(p) for p in parts):
        raise CellError(f"{text!r} is not an ISO date interval (YYYY-MM-DD/YYYY-MM-DD)")
    try:
        start, end = parse_date(parts[0]), parse_date(parts[1])
    except CellError as exc:
        raise CellError(f"in interval {text!r}: {exc}") from None
    if end < start:
        raise CellError(f"{text!r} ends before it starts")
    return f"{parts[0]}/{parts[1]}"


def _choice(allowed: tuple[str, ...], *, case: str = "keep") -> Parser:
    folded = {a.casefold(): a for a in allowed}

    def parse(text: str) -> str:
        value = folded.get(text.casefold())
        if value is None:
            raise CellError(f"{text!r} is not one of {', '.join(allowed)}")
        return value

    return parse


def _theme(text: str) -> str:
    if text in THEMES:
        return text
    low = text.lower().replace(" ", "_").replace("-", "_")
    if low in THEMES:
        return low
    raise CellError(f"unknown theme code {text!r}; allowed: {', '.join(THEMES)}")


_region = _choice(tuple(REGIONS))


def _region_item(text: str) -> str:
    try:
        return _region(text)
    except CellError:
        raise CellError(f"unknown region {text!r}; allowed: {', '.join(REGIONS)}") from None


def _language(text: str) -> str:
    code = normalize_language(text)
    if code is None:
        raise CellError(
            f"unknown language {text!r}; expected an ISO 639-1 code such as en, ko, fr, es, ar, ru "
            "or a language name such as English, Korean, français"
        )
    return code


def _country(text: str) -> str:
    code = normalize_country(text)
    if code is None:
        raise CellError(
            f"unknown country {text!r}; expected an ISO 3166 alpha-2 code or a country name "
            "(English, ISO or World Bank spelling, such as KR, South Korea, Korea, Rep.)"
        )
    return code


def _identity(text: str) -> str:
    return text


def _selected(text: str) -> bool:
    low = text.lower()
    if low in ("1", "1.0", "true"):
        return True
    if low in ("0", "0.0", "false"):
        return False
    raise CellError(f"{text!r} is not 0 or 1 (1: the expert was selected, 0: considered and not selected)")


def _rating(text: str) -> int:
    try:
        value = _number(text)
    except CellError:
        raise CellError(f"{text!r} is not a rating; expected a whole number from 1 to 5") from None
    if not 1 <= value <= 5 or value != int(value):
        raise CellError(f"{text!r} is not a rating; expected a whole number from 1 to 5")
    return int(value)


# ---------------------------------------------------------------------------------------------------------------
# The four tables.

EXPERTS: tuple[Column, ...] = (
    Column("expert_id", "text", True, _identity, doc="unique id"),
    Column("name", "text", True, _identity, doc="full name (or firm name)"),
    Column("bio", "text", True, _identity, doc="free-text profile"),
    Column("kind", "text", False, _choice(EXPERT_KINDS), "individual", "individual | firm"),
    Column("nationality", "text", False, _country, "", "ISO 3166 alpha-2 or English name"),
    Column("korean_experience", "bool", False, _bool, None, "default: true when nationality is KR"),
    Column("languages", "list", False, _language, doc="ISO 639-1 codes"),
    Column("regions", "list", False, _region_item, doc="World Bank regions worked in"),
    Column("countries", "list", False, _country, doc="countries worked in"),
    Column("themes", "list", False, _theme, doc="theme codes"),
    Column("day_rate_usd", "float", False, _amount, math.nan, "daily rate, 0 to 1e9"),
    Column("busy", "list", False, parse_interval, doc="inclusive intervals YYYY-MM-DD/YYYY-MM-DD"),
    Column("max_assignments", "int", False, _int_between(1, MAX_ASSIGNMENTS), 1, "engagements per round, 1 to 1000"),
    Column("conflicts", "list", False, _identity, doc="country codes, cities or organisations not to serve"),
)

EVIDENCE: tuple[Column, ...] = (
    Column("expert_id", "text", True, _identity, doc="an expert_id of the roster"),
    Column("text", "text", True, _identity, doc="what the expert did or wrote"),
    Column("title", "text", False, _identity, ""),
    Column("year", "int", False, _year, None),
    Column("kind", "text", False, _identity, "", "engagement, publication, project, ..."),
)

CASES: tuple[Column, ...] = (
    Column("case_id", "text", True, _identity, doc="unique id"),
    Column("title", "text", True, _identity),
    Column("summary", "text", True, _identity),
    Column("city", "text", False, _identity, ""),
    Column("country", "text", False, _country, "KR"),
    Column("themes", "list", False, _theme),
    Column("year_start", "int", False, _year, None),
    Column("year_end", "int", False, _year, None),
    Column("agencies", "list", False, _identity),
    Column("url", "text", False, _identity, ""),
)

REQUESTS: tuple[Column, ...] = (
    Column("request_id", "text", True, _identity, doc="unique id"),
    Column("title", "text", True, _identity),
    Column("description", "text", True, _identity),
    Column("country", "text", False, _country, "", "alpha-2 or English name, stored as alpha-2"),
    Column("city", "text", False, _identity, ""),
    Column("client", "text", False, _identity, "", "client organisation"),
    Column("region", "text", False, _region_item, "", "default: the country's World Bank region"),
    Column("practice_group", "text", False, _identity, ""),
    Column("support_type", "text", False, _choice(SUPPORT_TYPES), "", "JIT | OS"),
    Column(
        "days", "int", False, _int_between(1, MAX_REQUEST_DAYS), None, "working days (JIT <= 30, OS <= 60, any <= 260)"
    ),
    Column("window_start", "date", False, parse_date, None),
    Column("window_end", "date", False, parse_date, None),
    Column("languages", "list", False, _language, doc="the expert must speak at least one"),
    Column("themes", "list", False, _theme),
    Column("korean_experience", "bool", False, _bool, False, "the team asks for Korean experience"),
    Column("experts_needed", "int", False, _int_between(1, MAX_EXPERTS_NEEDED), 1, "1 to 100"),
    Column("budget_usd", "float", False, _amount, math.nan, "0 to 1e9"),
    Column("exclude_experts", "list", False, _identity, doc="expert ids not to propose"),
    Column("round", "text", False, _identity, ""),
)

#: Past selections: one row per (request, expert) pair the program considered in an earlier round.
HISTORY: tuple[Column, ...] = (
    Column("round", "text", True, _identity, doc="round label, as in the requests' round column"),
    Column("request_id", "text", True, _identity, doc="a request_id of that round"),
    Column("expert_id", "text", True, _identity, doc="an expert_id of the roster"),
    Column("selected", "bool", True, _selected, doc="1: selected, 0: considered and not selected"),
    Column("rating", "int", False, _rating, None, "how the engagement went, 1 (poor) to 5 (excellent); selected only"),
)

#: Every table of the contract, by kind.
TABLES: dict[str, tuple[Column, ...]] = {
    "experts": EXPERTS,
    "evidence": EVIDENCE,
    "cases": CASES,
    "requests": REQUESTS,
    "history": HISTORY,
}
TABLE_KINDS: tuple[str, ...] = tuple(TABLES)

#: The id column of each table that has one.
ID_COLUMNS: dict[str, str] = {"experts": "expert_id", "cases": "case_id", "requests": "request_id"}


# Characters no XLSX writer or XML parser (the HTML report's SVG) accepts, and terminal escape sequences.
_ANSI_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_PAGE_BREAKS = re.compile("[\x0b\x0c]")
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_ANY_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def clean_text(text: str) -> str:
    r"""``text`` without control characters: what every writer (CSV, XLSX, HTML, SVG) can hold.

    Tab, newline and carriage return are kept; a vertical tab or form feed (Word's soft line and page breaks) becomes
    a newline; ANSI escape sequences (``\x1b[31m``) go whole; other C0/C1 controls, NUL, lone surrogates and the
    non-characters U+FFFE/U+FFFF are removed.

    >>> clean_text("line\x0bbreak \x1b[31mred\x1b[0m\x00!")
    'line\nbreak red!'
    """
    if not _ANY_BAD.search(text):
        return text
    text = _ANSI_ESCAPE.sub("", text)
    text = _PAGE_BREAKS.sub("\n", text)
    return _CONTROL.sub("", text)


def cell_text(value: object) -> str:
    """A cell as stripped text: missing values are ``""``, whole floats lose their ``.0``, dates become ISO.

    >>> cell_text(3.0), cell_text(None), cell_text(float("nan")), cell_text(" a ")
    ('3', '', '', 'a')
    """
    if value is None or value is pd.NaT:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return ""
        return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, np.datetime64):
        return "" if np.isnat(value) else str(value.astype("datetime64[D]"))
    if value is pd.NA:
        return ""
    return str(value).strip()


def _list_to_text(value: object) -> str:
    if isinstance(value, tuple | list | np.ndarray):
        return ";".join(cell_text(v) for v in value)
    if isinstance(value, str):
        return value  # text is written as it is (contract columns are already stripped)
    return cell_text(value)


def to_file_form(frame: pd.DataFrame) -> pd.DataFrame:
    """Turn a validated (typed) table back into its file form: every cell text, lists ``;``-joined.

    Columns outside the contract are written as text too, so nothing a user added is lost.
    """
    out = pd.DataFrame(index=range(len(frame)))
    for name in frame.columns:
        values = frame[name].to_numpy(dtype=object)
        out[name] = pd.Series([_list_to_text(v) for v in values], dtype=object)
    return out
