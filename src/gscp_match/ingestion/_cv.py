"""Blocks of a CV -> the roster's fields: name, bio, nationality, languages, countries, day rate, and one entry per
past assignment or publication; a past report -> one entry.

Everything that is recognized comes from the rules in ``data/ingest_rules.json`` (section headings, field labels,
language, nationality and country names) and ``data/ingest_themes.csv`` (theme keywords), not from code. What is not
found stays empty and becomes a :class:`Finding` for the review file; nothing is guessed. Findings quote at most
the few words of the field they are about.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import pycountry

from gscp_match.tables._vocab import THEMES, normalize_country, normalize_language

from ._documents import Block

__all__ = ["Entry", "Finding", "CV", "parse_cv", "parse_report", "infer_themes", "redact", "rules"]

# Confidence levels of a finding, in the review file.
HIGH, MEDIUM, LOW, NONE = "high", "medium", "low", "none"


@dataclass(frozen=True, slots=True)
class Entry:
    """One past assignment, publication or report."""

    title: str
    year: int | None
    text: str
    kind: str
    countries: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Finding:
    """A field to review: what was found (a few words at most), how sure, and why it is listed."""

    field: str
    found: str
    confidence: str
    note: str


@dataclass(slots=True)
class CV:
    """What one CV states."""

    name: str = ""
    bio: str = ""
    nationality: str = ""
    languages: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    day_rate_usd: float | None = None
    entries: list[Entry] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


@lru_cache(maxsize=1)
def rules() -> dict:
    """The recognition rules (``data/ingest_rules.json``)."""
    path = resources.files("gscp_match") / "data" / "ingest_rules.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _norm(text: str) -> str:
    """A heading or label as compared: case-folded, without numbering, bullets, '#', '*', ':' and spaces."""
    text = re.sub(r"^[\s#*•\-–—]*(?:\d+(?:\.\d+)*[.)]?\s+)?", "", text)
    return re.sub(r"[\s:*#.]+$", "", text).strip().casefold()


@lru_cache(maxsize=1)
def _headings() -> dict[str, str]:
    return {h: kind for kind, names in rules()["sections"].items() for h in names}


@lru_cache(maxsize=1)
def _labels() -> dict[str, str]:
    return {label: kind for kind, names in rules()["labels"].items() for label in names}


@lru_cache(maxsize=1)
def _table_columns() -> dict[str, str]:
    return {name: kind for kind, names in rules()["table_columns"].items() for name in names}


# ---------------------------------------------------------------------------------------------------------------
# Names of languages, countries, nationalities


@lru_cache(maxsize=1)
def _language_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for language in pycountry.languages:
        code = getattr(language, "alpha_2", None)
        if code:
            for name in str(language.name).split(";"):
                index.setdefault(name.strip().casefold(), code)
    index.update(rules()["language_aliases"])
    return index


def language_code(text: str) -> str | None:
    """ISO 639-1 code of a language name or code, else None.

    >>> language_code("Korean"), language_code("FR"), language_code("Farsi"), language_code("Elvish")
    ('ko', 'fr', 'fa', None)
    """
    value = text.strip().casefold()
    if len(value) == 2:
        return normalize_language(value)
    return _language_index().get(value)


def country_code(text: str) -> str | None:
    """ISO alpha-2 of a country name (ISO, common or World Bank spelling) or an upper-case code, else None.

    >>> country_code("Korea, Rep."), country_code("Viet Nam"), country_code("MA"), country_code("Rabat")
    ('KR', 'VN', 'MA', None)
    """
    value = text.strip().strip(".").strip()
    if not value or (len(value) == 2 and not value.isupper()):
        return None
    extra = rules()["country_names"].get(text.strip().casefold()) or rules()["country_names"].get(value.casefold())
    return extra or normalize_country(value)


def countries_in(text: str) -> tuple[list[str], list[str]]:
    """Countries named in a list or a place (``"Rabat, Morocco"``, ``"Korea, Rep.; Chile"``): (codes, unknown parts).

    Comma parts are joined two at a time first, so a World Bank name with a comma is read as one country.

    >>> countries_in("Korea, Rep., Mongolia and Chile")
    (['KR', 'MN', 'CL'], [])
    >>> countries_in("Rabat, Morocco")
    (['MA'], ['Rabat'])
    """
    codes: list[str] = []
    unknown: list[str] = []
    for chunk in re.split(r"[;\n/|]|\band\b", text):
        parts = [p.strip() for p in chunk.split(",") if p.strip()]
        i = 0
        while i < len(parts):
            pair = f"{parts[i]}, {parts[i + 1]}" if i + 1 < len(parts) else ""
            if pair and (code := country_code(pair)):
                codes.append(code)
                i += 2
                continue
            if code := country_code(re.sub(r"\s*\(.*?\)\s*", " ", parts[i]).strip()):
                codes.append(code)
            else:
                unknown.append(parts[i])
            i += 1
    return _unique(codes), unknown


def nationality_code(text: str) -> str | None:
    """Alpha-2 of a nationality written as a demonym or a country name.

    >>> nationality_code("Korean"), nationality_code("Republic of Korea"), nationality_code("Klingon")
    ('KR', 'KR', None)
    """
    value = re.sub(r"\s*\(.*?\)", "", text).strip().strip(".")
    return rules()["nationalities"].get(value.casefold()) or country_code(value)


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


# ---------------------------------------------------------------------------------------------------------------
# Lines and sections

_YEAR = r"(?:19[5-9]\d|20\d\d)"
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_RANGE = (
    rf"(?:{_MONTH}\s+)?(?P<year>{_YEAR})(?:\s*(?:-|–|—|to)\s*(?:(?:{_MONTH}\s+)?{_YEAR}|present|current|now|"
    r"ongoing|date|today))?"
)
_HEAD_YEAR_FIRST = re.compile(rf"^(?:[-•*]\s*)?{_RANGE}\s*(?:\||:|–|—|-|,|\.)\s*(?P<title>\S.*)$", re.I)
_HEAD_YEAR_LAST = re.compile(rf"^(?:[-•*]\s*)?(?P<title>[^()|]{{4,}}?)\s*[(,]\s*{_RANGE}\s*\)?\s*$", re.I)
_PUBLICATION = re.compile(rf"^(?:[-•*]\s*)?(?P<title>.+?)\s*\((?P<year>{_YEAR})\)\.?\s*(?P<text>.*)$")
_LABELLED = re.compile(r"^(?P<label>[A-Za-z][A-Za-z ()/\-]{1,40}?)\s*[:：]\s*(?P<value>.*)$")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE_CANDIDATE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{1,5}(?:[\s.-]\d{1,5}){1,5}(?!\w)"
)
_YEAR_SPAN = re.compile(rf"^{_YEAR}\s*[-–]\s*{_YEAR}$")


def _is_phone(candidate: str) -> bool:
    digits = sum(ch.isdigit() for ch in candidate)
    if _YEAR_SPAN.match(candidate.strip()):
        return False
    marked = candidate.lstrip().startswith(("+", "("))
    return digits >= (7 if marked else 9) and digits <= 15


def redact(text: str) -> str:
    """``text`` without e-mail addresses and phone numbers (each replaced by a marker).

    >>> redact("Call +82-10-1234-5678 or (202) 555-0143, write to name@example.org; since 2019-2021.")
    'Call [phone] or [phone], write to [e-mail]; since 2019-2021.'
    """
    text = _EMAIL.sub("[e-mail]", text)
    return _PHONE_CANDIDATE.sub(lambda m: "[phone]" if _is_phone(m.group(0)) else m.group(0), text)


def _has_contact(text: str) -> bool:
    return bool(_EMAIL.search(text)) or any(_is_phone(m.group(0)) for m in _PHONE_CANDIDATE.finditer(text))


def _heading_kind(block: Block) -> str | None:
    """The section a line opens, or None when it is not a heading."""
    text = block.text
    if not text or len(text.split()) > 8 or _HEAD_YEAR_FIRST.match(text) or _HEAD_YEAR_LAST.match(text):
        return None
    kind = _headings().get(_norm(text))
    if kind is not None:
        return kind
    letters = [ch for ch in text if ch.isalpha()]
    capitals = bool(letters) and all(ch.isupper() for ch in letters) and len(text.split()) <= 4 and ":" not in text
    if block.heading or capitals:
        return "other"
    return None


def _join_lines(lines: Sequence[str]) -> str:
    """Wrapped lines -> one text; a line ending in '-' joins the next without a space."""
    out = ""
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if not out:
            out = line
        elif out.endswith("-") and not out.endswith(" -"):
            out += line
        else:
            out += " " + line
    return out


def _paragraphs(lines: Sequence[str]) -> list[str]:
    paragraphs, current = [], []
    for line in [*lines, ""]:
        if line.strip():
            current.append(line)
        elif current:
            paragraphs.append(_join_lines(current))
            current = []
    return paragraphs


@dataclass(slots=True)
class _Section:
    kind: str
    lines: list[str] = field(default_factory=list)
    tables: list[tuple[int, tuple[tuple[str, ...], ...]]] = field(default_factory=list)  # (line position, rows)


# ---------------------------------------------------------------------------------------------------------------
# The CV


def parse_cv(blocks: Sequence[Block]) -> CV:
    """Read one CV's blocks (see :mod:`._documents`) into a :class:`CV` with its review findings."""
    cv = CV()
    labelled: dict[str, list[str]] = {}
    sections: list[_Section] = [_Section("top")]
    first_lines: list[str] = []
    for block in blocks:
        if block.is_table:
            if _labels().get(_norm(block.rows[0][0])) == "languages" and len(block.rows) > 1:
                # A language table (Language | Speaking | Reading | Writing): the names are in the first column.
                labelled.setdefault("languages", []).extend(row[0] for row in block.rows[1:] if row[0])
                continue
            rest = []
            for row in block.rows:
                cells = [c for c in row if c]
                label = _labels().get(_norm(cells[0])) if len(cells) == 2 else None
                if label in ("name", "nationality", "languages", "countries"):
                    labelled.setdefault(label, []).append(cells[1])
                else:
                    rest.append(row)
            if rest:
                current = sections[-1]
                current.tables.append((len(current.lines), tuple(rest)))
            continue
        text = block.text
        if text and len(first_lines) < 6:
            first_lines.append(text)
        kind = _heading_kind(block)
        if kind is not None and not (sections[-1].kind == "top" and len(first_lines) == 1 and kind == "other"):
            sections.append(_Section(kind))
            continue
        match = _LABELLED.match(text)
        label = _labels().get(_norm(match.group("label"))) if match else None
        if match and label in ("name", "nationality", "languages", "countries") and match.group("value").strip():
            labelled.setdefault(label, []).append(match.group("value").strip())
            continue
        sections[-1].lines.append(text)

    by_kind: dict[str, list[_Section]] = {}
    for section in sections:
        by_kind.setdefault(section.kind, []).append(section)

    cv.name = _name(labelled.get("name", []), first_lines, cv.findings)
    cv.bio = _bio(by_kind, cv.findings, cv.name)
    _languages(cv, labelled.get("languages", []), by_kind.get("languages", []))
    _nationality(cv, labelled.get("nationality", []), by_kind.get("nationality", []))
    stated = labelled.get("countries", []) + [line for s in by_kind.get("countries", []) for line in s.lines]
    entries = [e for s in by_kind.get("experience", []) for e in _entries(s, "engagement", cv.findings)]
    entries += [e for s in by_kind.get("publications", []) for e in _publications(s)]
    cv.entries = entries
    _countries(cv, stated, entries)
    all_lines = [line for s in sections for line in s.lines]
    _day_rate(cv, all_lines)
    if not by_kind.get("experience") and not by_kind.get("publications"):
        cv.findings.append(Finding("evidence", "", NONE, "no assignments or publications section found"))
    elif not entries:
        cv.findings.append(Finding("evidence", "", LOW, "an assignments section was found but no dated entries"))
    return cv


_CV_WORDS = re.compile(r"^(?:curriculum vitae|curriculum|cv|resume|résumé|r[ée]sum[ée])\b[\s:–—\-|]*", re.I)


def _plausible_name(line: str) -> str:
    line = _CV_WORDS.sub("", line).strip(" -–—|:")
    line = re.sub(r"[\s:–—\-|]*\b(?:curriculum vitae|cv|resume)$", "", line, flags=re.I).strip()
    if not line or _has_contact(line) or re.search(r"\d", line) or len(line.split()) > 8:
        return ""
    if _headings().get(_norm(line)) or _LABELLED.match(line):
        return ""
    return line


def _name(labelled: list[str], first_lines: list[str], findings: list[Finding]) -> str:
    if labelled:
        return labelled[0]
    for line in first_lines[:3]:
        if name := _plausible_name(line):
            return name
    findings.append(Finding("name", "", NONE, "no name line at the top and no 'Name:' label"))
    return ""


def _bio(by_kind: dict[str, list[_Section]], findings: list[Finding], name: str) -> str:
    profile = [p for s in by_kind.get("profile", []) for p in _paragraphs(s.lines)]
    if profile:
        return " ".join(profile)
    # No profile heading: the first paragraph of prose at the top, flagged for review.
    for section in by_kind.get("top", []) + by_kind.get("other", []):
        for paragraph in _paragraphs(section.lines):
            if paragraph != name and len(paragraph.split()) >= 12 and not _has_contact(paragraph):
                findings.append(
                    Finding(
                        "bio",
                        _preview(paragraph),
                        LOW,
                        "no profile or summary section; took the first paragraph of prose",
                    )
                )
                return paragraph
    findings.append(Finding("bio", "", NONE, "no profile or summary section"))
    return ""


def _preview(text: str, words: int = 6) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + (" ..." if len(parts) > words else "")


_LEVEL_WORDS = re.compile(
    r"\b(?:native|mother tongue|fluent|fluency|working|knowledge|proficient|proficiency|basic|good|excellent|"
    r"intermediate|advanced|beginner|elementary|conversational|business|professional|limited|full|reading|"
    r"writing|speaking|spoken|written|level|[abc][12])\b",
    re.I,
)


def _language_items(text: str) -> list[str]:
    text = re.sub(r"\(.*?\)", " ", text)
    items = []
    for part in re.split(r"[,;/\n•|]|\band\b", text):
        part = re.split(r"\s[-–—:]\s|:\s", part)[0]
        part = _LEVEL_WORDS.sub(" ", part)
        part = re.sub(r"[^\w\s'-]", " ", part)
        part = " ".join(part.split())
        if part:
            items.append(part)
    return items


def _languages(cv: CV, labelled: list[str], sections: list[_Section]) -> None:
    values = list(labelled)
    for section in sections:
        values += section.lines
        for _, rows in section.tables:
            header = {_norm(c) for c in rows[0]}
            body = rows[1:] if header & {"language", "languages"} else rows
            values += [row[0] for row in body if row and row[0]]
    codes: list[str] = []
    for value in values:
        for item in _language_items(value):
            code = language_code(item)
            if code:
                codes.append(code)
            else:
                cv.findings.append(Finding("languages", item[:40], LOW, "not a language name known; left out"))
    cv.languages = _unique(codes)
    if not cv.languages:
        cv.findings.append(Finding("languages", "", NONE, "no languages stated"))


def _nationality(cv: CV, labelled: list[str], sections: list[_Section]) -> None:
    values = labelled + [line for s in sections for line in s.lines if line.strip()]
    if not values:
        cv.findings.append(Finding("nationality", "", NONE, "not stated"))
        return
    for part in re.split(r"[/,;]|\band\b", values[0]):
        if part.strip() and (code := nationality_code(part)):
            cv.nationality = code
            return
    cv.findings.append(Finding("nationality", values[0][:40], LOW, "not a nationality or country known; left empty"))


def _countries(cv: CV, stated: list[str], entries: list[Entry]) -> None:
    codes: list[str] = []
    for value in stated:
        found, unknown = countries_in(value)
        codes += found
        for part in unknown:
            cv.findings.append(Finding("countries", part[:40], LOW, "not a country name known; left out"))
    for entry in entries:
        codes += entry.countries
    cv.countries = _unique(codes)
    if not cv.countries:
        cv.findings.append(Finding("countries", "", NONE, "no countries of work stated"))


_AMOUNT = r"\d{1,3}(?:[,\s]\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_RATE = re.compile(
    rf"(?P<cur>US\s?\$|USD|\$|EUR|€|GBP|£|KRW|₩|CHF|JPY|¥)\s?(?P<amount>{_AMOUNT})"
    rf"|(?P<amount2>{_AMOUNT})\s?(?P<cur2>USD|US\s?\$|dollars|EUR|euros?|GBP|KRW|won|CHF)\b",
    re.I,
)
_DAY = re.compile(r"\b(?:day|daily|per\s+day|/\s*day|a\s+day)\b|/d\b", re.I)


def _day_rate(cv: CV, lines: Sequence[str]) -> None:
    for line in lines:
        if not _DAY.search(line) or "per diem" in line.lower():
            continue
        match = _RATE.search(line)
        if match is None:
            if re.search(r"\brate\b", line, re.I) and re.search(r"\d", line):
                cv.findings.append(
                    Finding("day_rate_usd", _preview(line), LOW, "a rate without a currency; left empty")
                )
            continue
        currency = (match.group("cur") or match.group("cur2") or "").upper().replace(" ", "")
        amount = float(re.sub(r"[,\s]", "", match.group("amount") or match.group("amount2")))
        if currency in ("USD", "US$", "$", "DOLLARS"):
            cv.day_rate_usd = amount
            return
        cv.findings.append(Finding("day_rate_usd", match.group(0), LOW, "not in US dollars; not converted, left empty"))
        return
    cv.findings.append(Finding("day_rate_usd", "", NONE, "no day rate stated"))


def _entries(section: _Section, kind: str, findings: list[Finding]) -> list[Entry]:
    """Dated entries of an assignments section: text lines and tables, in document order."""
    entries: list[Entry] = []
    current: dict | None = None
    tables = list(section.tables)

    def close() -> None:
        nonlocal current
        if current is not None:
            text = _join_lines(current["text"]) or current["title"]
            countries = current["countries"]
            if not countries and "," in current["title"]:
                # No Location line: a place after the title's first comma ("Bus reform, Rabat, Morocco").
                countries = countries_in(current["title"].split(",", 1)[1])[0]
            entries.append(Entry(current["title"], current["year"], text, kind, tuple(countries)))
        current = None

    for position, line in enumerate([*section.lines, None]):
        while tables and tables[0][0] <= position:
            close()
            entries.extend(_table_entries(tables.pop(0)[1], kind, findings))
        if line is None:
            break
        header = _HEAD_YEAR_FIRST.match(line) or _HEAD_YEAR_LAST.match(line)
        if header:
            close()
            current = {
                "title": header.group("title").strip(" .|-–—"),
                "year": int(header.group("year")),
                "text": [],
                "countries": [],
            }
            continue
        if current is None:
            continue
        match = _LABELLED.match(line)
        if match and _labels().get(_norm(match.group("label"))) == "location":
            current["countries"] += countries_in(match.group("value"))[0]
            continue
        current["text"].append(line)
    close()
    return entries


def _table_entries(rows: tuple[tuple[str, ...], ...], kind: str, findings: list[Finding]) -> list[Entry]:
    columns = {i: _table_columns().get(_norm(c)) for i, c in enumerate(rows[0])}
    if "year" not in columns.values() or not ({"title", "text"} & set(columns.values())):
        return []
    where = {k: i for i, k in reversed(list(columns.items())) if k}
    entries = []
    for row in rows[1:]:
        cell = {k: (row[i] if i < len(row) else "") for k, i in where.items()}
        year = re.search(_YEAR, cell.get("year", ""))
        title = cell.get("title", "").strip()
        text = cell.get("text", "").strip() or title
        if not text:
            continue
        if year is None:
            findings.append(Finding("evidence", _preview(title or text), LOW, "assignment without a year"))
        countries = countries_in(cell.get("location", ""))[0] if cell.get("location") else []
        entries.append(Entry(title, int(year.group(0)) if year else None, text, kind, tuple(countries)))
    return entries


def _publications(section: _Section) -> list[Entry]:
    entries = []
    for paragraph in section.lines:
        match = _PUBLICATION.match(paragraph.strip())
        if match:
            text = match.group("text").strip() or match.group("title")
            entries.append(Entry(match.group("title").strip(" ."), int(match.group("year")), text, "publication"))
    return entries


# ---------------------------------------------------------------------------------------------------------------
# A past report


_META = re.compile(r"^(?:date|author|authors|prepared by|prepared for|client|version|status|reference)\s*:", re.I)
REPORT_TEXT_CHARS = 2000


def parse_report(blocks: Sequence[Block]) -> tuple[Entry, list[Finding]]:
    """A report's title (first line), year (its ``Date:`` line, else the first year near the top) and text (its
    summary section, else the start of its body, at most :data:`REPORT_TEXT_CHARS` characters)."""
    findings: list[Finding] = []
    lines = [b.text for b in blocks if not b.is_table]
    non_empty = [line for line in lines if line.strip()]
    title = non_empty[0].lstrip("#").strip() if non_empty else ""
    year = None
    for line in non_empty[:12]:
        if _META.match(line) and line.lower().startswith("date") and (m := re.search(_YEAR, line)):
            year = int(m.group(0))
            break
    if year is None:
        for line in non_empty[:8]:
            if m := re.search(_YEAR, line):
                year = int(m.group(0))
                break
    if year is None:
        findings.append(Finding("evidence", _preview(title), LOW, "report without a date; year left empty"))
    summary_names = {h.casefold() for h in rules()["report_summary_headings"]}
    summary: list[str] = []
    body: list[str] = []
    in_summary = False
    for block in blocks[1:] if blocks else []:
        if block.is_table:
            continue
        if not block.text:
            if in_summary and summary:
                break  # the summary's paragraph ended (PDF and text formats mark paragraph ends with an empty block)
            continue
        kind = _heading_kind(block)
        if kind is not None or _norm(block.text) in summary_names:
            if summary:
                break
            in_summary = _norm(block.text) in summary_names
            continue
        if in_summary:
            summary.append(block.text)
        elif not _META.match(block.text) and block.text != title:
            body.append(block.text)
    text = _join_lines(summary) or _join_lines(body)
    if len(text) > REPORT_TEXT_CHARS:
        cut = text.rfind(". ", 0, REPORT_TEXT_CHARS)
        text = text[: cut + 1 if cut > 0 else REPORT_TEXT_CHARS]
    return Entry(title, year, text or title, "report"), findings


# ---------------------------------------------------------------------------------------------------------------
# Themes


@lru_cache(maxsize=1)
def _theme_rules() -> tuple[tuple[str, str, re.Pattern[str]], ...]:
    path = resources.files("gscp_match") / "data" / "ingest_themes.csv"
    out = []
    with path.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            theme, keyword = row["theme"].strip(), row["keyword"].strip()
            if theme not in THEMES:
                raise ValueError(f"ingest_themes.csv: unknown theme {theme!r}; allowed: {', '.join(THEMES)}")
            body = re.escape(keyword.rstrip("*")).replace(r"\ ", r"\s+")
            tail = r"\w*" if keyword.endswith("*") else r"\b"
            # An acronym written in capitals (ITS, BRT) matches only in capitals: "its" is a word too.
            flags = 0 if keyword.isupper() else re.I
            out.append((theme, keyword, re.compile(rf"(?<![\w-]){body}{tail}", flags)))
    return tuple(out)


#: A theme is added when its keywords occur at least this often in the expert's texts.
THEME_MIN_HITS = 2


def infer_themes(texts: Sequence[str]) -> tuple[list[str], list[Finding]]:
    """Theme codes whose keywords (``data/ingest_themes.csv``) occur at least :data:`THEME_MIN_HITS` times in
    ``texts``, in the taxonomy's order; a theme with a single hit is a finding, not a theme.

    Keywords match whole words, case-insensitively, except acronyms written in capitals; a trailing ``*`` also
    matches longer words (``bus lane*``: lanes).

    >>> infer_themes(["Reorganized bus routes and bus lanes.", "Wrote a smart grid note."])[0]
    ['public_transport']
    """
    hits: dict[str, int] = {}
    words: dict[str, list[str]] = {}
    for theme, keyword, pattern in _theme_rules():
        n = sum(len(pattern.findall(text)) for text in texts)
        if n:
            hits[theme] = hits.get(theme, 0) + n
            words.setdefault(theme, []).append(keyword.rstrip("*"))
    themes = [t for t in THEMES if hits.get(t, 0) >= THEME_MIN_HITS]
    findings = [
        Finding("themes", f"{t} ({', '.join(words[t])})", LOW, "one keyword hit; not added")
        for t in THEMES
        if hits.get(t, 0) == 1
    ]
    return themes, findings
