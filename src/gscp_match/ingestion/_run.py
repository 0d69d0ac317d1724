"""A folder of CVs -> ``experts.csv``, ``evidence.csv`` and ``ingest_review.csv``.

One expert per file, or per sub-folder (its CV plus that expert's reports). The ``expert_id`` comes from the file or
folder name (slugged) or from a mapping table, so it is the same on every run; extraction is deterministic, so an
unchanged CV gives the same rows and texts (the embedding cache and the profile store key on text content and encode
only new or changed texts). A file that cannot be read is one row in the review file and one warning line (file and
what is wrong, never its text); the rest is still ingested. The three tables are written to temporary files and
renamed only once all are written.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import re
import unicodedata
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from gscp_match._progress import progress_bar
from gscp_match.errors import InputError
from gscp_match.tables._io import atomic_path, format_of, read_raw, write_table
from gscp_match.tables._schema import cell_text
from gscp_match.tables._validate import check_references, validate_table
from gscp_match.tables._vocab import country_region

from ._cv import NONE, Finding, infer_themes, parse_cv, parse_report, redact, rules
from ._documents import DocumentError, kind_of, read_document

__all__ = ["ingest", "IngestResult", "REVIEW_COLUMNS", "DEFAULT_MAX_BYTES"]

logger = logging.getLogger("gscp_match.ingestion")

#: Files larger than this are not read (20 MB).
DEFAULT_MAX_BYTES = 20 * 1024 * 1024

#: Columns of ``ingest_review.csv``.
REVIEW_COLUMNS = ("file", "expert_id", "field", "found", "confidence", "note")

_EXPERT_COLUMNS = (
    "expert_id",
    "name",
    "bio",
    "nationality",
    "languages",
    "regions",
    "countries",
    "themes",
    "day_rate_usd",
    "source",
)
_EVIDENCE_COLUMNS = ("expert_id", "text", "title", "year", "kind", "source")


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What :func:`ingest` read.

    Attributes
    ----------
    experts : DataFrame
        The roster (validated, one row per expert, sorted by ``expert_id``); ``source`` names the CV file.
    evidence : DataFrame
        One row per assignment, publication or report (validated), in the experts' order.
    review : DataFrame
        ``file, expert_id, field, found, confidence, note``: fields left empty or uncertain, and files not read.
    problems : tuple of str
        One line per file (or folder) that could not be ingested: file and what is wrong.
    written : tuple of Path
        The files written (empty when ``out`` is None).
    """

    experts: pd.DataFrame
    evidence: pd.DataFrame
    review: pd.DataFrame
    problems: tuple[str, ...]
    written: tuple[Path, ...] = ()


@dataclass(frozen=True, slots=True)
class _Unit:
    """One expert's documents: a file, or a sub-folder's files (``cv`` first)."""

    name: str  # as shown: the file or folder name, relative to the ingested folder
    expert_id: str
    cv: Path | None
    reports: tuple[Path, ...] = ()
    problem: str = ""  # found before reading (for example no CV in a sub-folder)


@dataclass(slots=True)
class _Outcome:
    expert: dict | None = None
    evidence: list[dict] = field(default_factory=list)
    review: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _slug(name: str) -> str:
    """``expert_id`` from a file or folder name.

    >>> _slug("Kim Ara (CV) 2024.docx".rsplit(".", 1)[0]), _slug("José_Núñez")
    ('kim-ara-cv-2024', 'jose-nunez')
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")


def _ignored(name: str) -> bool:
    # Hidden files, Word's lock files (~$name.docx) and editor backups are not documents someone sent.
    return name.startswith((".", "~$")) or name.endswith("~") or name in ("Thumbs.db", "desktop.ini")


def _documents_in(folder: Path) -> list[Path]:
    return sorted(
        (p for p in folder.rglob("*") if p.is_file() and not any(_ignored(q) for q in p.relative_to(folder).parts)),
        key=lambda p: p.relative_to(folder).as_posix(),
    )


def _pick_cv(files: list[Path], folder: Path) -> tuple[Path | None, list[Path]]:
    """The CV of a sub-folder: the one document whose name says CV (or the only document); the rest are reports."""
    readable = [f for f in files if kind_of(f) is not None]
    hints = tuple(rules()["cv_file_hints"])
    named = [f for f in readable if any(h in re.split(r"[^a-zé]+", f.stem.lower()) for h in hints)]
    if len(named) == 1:
        cv = named[0]
    elif len(readable) == 1:
        cv = readable[0]
    else:
        return None, files
    return cv, [f for f in files if f != cv]


def _read_ids(path: str | os.PathLike[str]) -> dict[str, str]:
    table = read_raw(path)
    frame = table.frame
    missing = [c for c in ("file", "expert_id") if c not in frame.columns]
    if missing:
        raise InputError(f"{table.source}: missing column(s) {', '.join(missing)}; expected file, expert_id")
    mapping: dict[str, str] = {}
    problems = []
    for position, (file, expert_id) in enumerate(zip(frame["file"], frame["expert_id"], strict=True)):
        row = table.row_number(position)
        file, expert_id = cell_text(file).strip(), cell_text(expert_id).strip()
        if not file or not expert_id:
            problems.append(f"{table.source} row {row}: 'file' and 'expert_id' must both be filled")
        elif file in mapping:
            problems.append(f"{table.source} row {row}, column 'file': {file!r} appears twice")
        else:
            mapping[file] = expert_id
    if problems:
        raise InputError(problems)
    return mapping


def _units(folder: Path, ids: dict[str, str]) -> tuple[list[_Unit], list[_Outcome]]:
    units: list[_Unit] = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if _ignored(entry.name):
            continue
        base = entry.name if entry.is_dir() else entry.stem
        expert_id = ids.get(entry.name) or ids.get(base) or _slug(base)
        if entry.is_dir():
            files = _documents_in(entry)
            cv, reports = _pick_cv(files, entry)
            problem = ""
            if cv is None:
                readable = [f for f in files if kind_of(f) is not None]
                problem = (
                    "cannot tell which file is the CV; put 'cv' in its name"
                    if len(readable) > 1
                    else "holds no .docx, .pdf, .txt, .md or .html document"
                )
            units.append(_Unit(entry.name, expert_id, cv, tuple(reports), problem))
        elif entry.is_file():
            units.append(_Unit(entry.name, expert_id, entry))
    outcomes: list[_Outcome] = []
    seen: dict[str, list[_Unit]] = {}
    for unit in units:
        seen.setdefault(unit.expert_id, []).append(unit)
    kept = []
    for unit in units:
        clash = [u.name for u in seen[unit.expert_id] if u is not unit]
        if not unit.expert_id:
            outcomes.append(_problem(unit, "the name gives no expert_id; give one with --ids"))
        elif clash:
            outcomes.append(
                _problem(
                    unit, f"same expert_id {unit.expert_id!r} as {', '.join(clash)}; rename one or give ids with --ids"
                )
            )
        else:
            kept.append(unit)
    return kept, outcomes


def _problem(unit: _Unit, message: str, file: str | None = None) -> _Outcome:
    name = file or unit.name
    return _Outcome(
        review=[_review_row(name, unit.expert_id, Finding("file", "", NONE, message))],
        problems=[f"{name}: {message}"],
    )


def _review_row(file: str, expert_id: str, finding: Finding) -> dict:
    return {
        "file": file,
        "expert_id": expert_id,
        "field": finding.field,
        "found": redact(finding.found),
        "confidence": finding.confidence,
        "note": finding.note,
    }


def _check_size(path: Path, max_bytes: int) -> None:
    size = path.stat().st_size
    if size > max_bytes:
        raise DocumentError(f"is {_size(size)}, over the {_size(max_bytes)} limit; not read")


def _size(n_bytes: int) -> str:
    """``20.0 MB``, ``3.1 kB``."""
    return f"{n_bytes / 1e6:.1f} MB" if n_bytes >= 100_000 else f"{n_bytes / 1e3:.1f} kB"


def _ingest_unit(unit: _Unit, root: Path, redact_contacts: bool, max_bytes: int) -> _Outcome:
    if unit.problem or unit.cv is None:
        return _problem(unit, unit.problem or "no CV")
    cv_name = unit.cv.relative_to(root).as_posix()
    try:
        _check_size(unit.cv, max_bytes)
        cv = parse_cv(read_document(unit.cv))
    except DocumentError as exc:
        return _problem(unit, str(exc), cv_name)
    outcome = _Outcome()
    clean = redact if redact_contacts else (lambda text: text)
    entries = [(e, cv_name) for e in cv.entries]
    for report in unit.reports:
        name = report.relative_to(root).as_posix()
        try:
            _check_size(report, max_bytes)
            entry, findings = parse_report(read_document(report))
        except DocumentError as exc:
            problem = _problem(unit, str(exc), name)
            outcome.review += problem.review
            outcome.problems += problem.problems
            continue
        entries.append((entry, name))
        outcome.review += [_review_row(name, unit.expert_id, f) for f in findings]
    findings = list(cv.findings)
    for missing, what in (("name", cv.name), ("bio", cv.bio)):
        if not what:
            problem = _problem(unit, f"no {missing} found; the expert is not added (see the review file)", cv_name)
            outcome.review += [_review_row(cv_name, unit.expert_id, f) for f in findings] + problem.review
            outcome.problems += problem.problems
            return outcome
    bio = clean(cv.bio)
    evidence = [
        {
            "expert_id": unit.expert_id,
            "text": clean(e.text),
            "title": clean(e.title),
            "year": e.year if e.year is not None else "",
            "kind": e.kind,
            "source": name,
        }
        for e, name in entries
    ]
    themes, theme_findings = infer_themes([bio] + [f"{row['title']}. {row['text']}" for row in evidence])
    findings += theme_findings
    if not themes:
        findings.append(Finding("themes", "", NONE, "no theme keywords found"))
    regions = sorted({r for c in cv.countries if (r := country_region(c))})
    outcome.expert = {
        "expert_id": unit.expert_id,
        "name": cv.name,
        "bio": bio,
        "nationality": cv.nationality,
        "languages": ";".join(cv.languages),
        "regions": ";".join(regions),
        "countries": ";".join(cv.countries),
        "themes": ";".join(themes),
        "day_rate_usd": "" if cv.day_rate_usd is None else cv.day_rate_usd,
        "source": cv_name,
    }
    outcome.evidence = evidence
    outcome.review = [_review_row(cv_name, unit.expert_id, f) for f in findings] + outcome.review
    return outcome


def _run_one(args: tuple[_Unit, Path, bool, int]) -> _Outcome:
    return _ingest_unit(*args)


def ingest(
    folder: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str] | None = None,
    ids: str | os.PathLike[str] | dict[str, str] | None = None,
    redact_contacts: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
    n_jobs: int = 1,
    file_format: str = "csv",
    show_progress: bool | None = None,
) -> IngestResult:
    """Build a roster from a folder of CVs: ``.docx``, ``.pdf``, ``.txt``/``.md``, ``.html``.

    Each file directly in ``folder`` is one expert; each sub-folder is one expert too, its CV (the document with
    "cv" or "resume" in its name, or its only document) plus reports, each report one evidence row. From a CV come
    the name (its top line or a ``Name:`` label), the bio (its profile or summary section), one evidence row per
    dated assignment or publication (title, year, text), and, when stated, nationality, languages (ISO 639-1),
    countries worked in (ISO alpha-2; ISO, common and World Bank names) and the day rate in US dollars; themes
    come from keyword rules (``data/ingest_themes.csv``). What is not found stays empty and is listed in the
    review table, never guessed. Nothing leaves the machine.

    Parameters
    ----------
    folder : path
        The folder of CVs.
    out : path, optional
        Write ``experts``, ``evidence`` and ``ingest_review`` there (all three or none: temporary files renamed
        at the end).
    ids : path or dict, optional
        ``file -> expert_id`` (a table with columns ``file, expert_id``; ``file`` is the file or sub-folder name,
        with or without extension). Other files get the slug of their name.
    redact_contacts : bool
        Replace e-mail addresses and phone numbers in the stored texts by ``[e-mail]`` / ``[phone]``.
    max_bytes : int
        Files larger than this are not read (default 20 MB).
    n_jobs : int
        Processes reading documents (1: this process).
    file_format : {"csv", "xlsx", "parquet", "json"}
        Format of the written tables.
    show_progress : bool or None
        A progress bar on stderr; None: on unless ``GSCP_MATCH_QUIET=1``.

    Returns
    -------
    IngestResult

    Raises
    ------
    InputError
        ``folder`` is not a folder, or the ids table is malformed. A bad CV is never an error: it is reported.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> cvs = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (cvs / "kim-ara.txt").write_text("Kim Ara (fictional)\\nLanguages: Korean, English\\n\\nPROFILE\\n"
    ...     "Bus reform expert; reorganized bus routes and bus lanes.\\n\\nASSIGNMENTS\\n2019 | Bus reform, Rabat\\n"
    ...     "Location: Rabat, Morocco\\nDesigned trunk and feeder bus routes.\\n")
    >>> result = ingest(cvs, show_progress=False)
    >>> result.experts[["expert_id", "name", "languages", "countries", "themes"]].to_dict("records")
    [{'expert_id': 'kim-ara', 'name': 'Kim Ara (fictional)', 'languages': ('ko', 'en'), 'countries': ('MA',), \
'themes': ('public_transport',)}]
    >>> result.evidence[["title", "year", "text"]].to_dict("records")
    [{'title': 'Bus reform, Rabat', 'year': 2019, 'text': 'Designed trunk and feeder bus routes.'}]
    """
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"{root}: not a folder of CVs" if root.exists() else f"{root}: folder not found")
    if max_bytes < 1:
        raise InputError(f"max_bytes must be >= 1, got {max_bytes}")
    if n_jobs < 1:
        raise InputError(f"n_jobs must be >= 1, got {n_jobs}")
    if file_format not in ("csv", "xlsx", "parquet", "json"):
        raise InputError(f"unknown file_format {file_format!r}; valid: csv, xlsx, parquet, json")
    mapping = ids if isinstance(ids, dict) else (_read_ids(ids) if ids is not None else {})
    units, outcomes = _units(root, mapping)
    jobs = [(unit, root, redact_contacts, max_bytes) for unit in units]
    with progress_bar(len(jobs), "ingest: reading CVs", enabled=show_progress is not False) as bar:
        for outcome in _map(jobs, n_jobs):
            outcomes.append(outcome)
            bar.update(1)

    problems = [p for o in outcomes for p in o.problems]
    for line in problems:
        logger.warning("%s", line)
    experts = _frame([o.expert for o in outcomes if o.expert is not None], _EXPERT_COLUMNS)
    experts = experts.sort_values("expert_id", kind="stable").reset_index(drop=True)
    order = {expert_id: i for i, expert_id in enumerate(experts["expert_id"])}
    evidence = _frame([row for o in outcomes if o.expert is not None for row in o.evidence], _EVIDENCE_COLUMNS)
    evidence = evidence.iloc[sorted(range(len(evidence)), key=lambda i: order[evidence["expert_id"].iat[i]])]
    review = _frame([row for o in outcomes for row in o.review], REVIEW_COLUMNS)
    review = review.sort_values(["file"], kind="stable").reset_index(drop=True)
    experts_table = validate_table(experts, "experts")
    evidence_table = validate_table(evidence.reset_index(drop=True), "evidence")
    check_references(experts=experts_table, evidence=evidence_table)
    written = _write_all(out, file_format, experts_table, evidence_table, review) if out is not None else ()
    return IngestResult(experts_table, evidence_table, review, tuple(problems), written)


def _map(jobs: list[tuple[_Unit, Path, bool, int]], n_jobs: int) -> Iterator[_Outcome]:
    if n_jobs == 1 or len(jobs) < 2 * n_jobs:
        yield from map(_run_one, jobs)
        return
    # Spawned, not forked: a fork of a process that runs threads (torch, a notebook's) can deadlock in the child.
    with ProcessPoolExecutor(max_workers=n_jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield from pool.map(_run_one, jobs, chunksize=max(1, min(32, len(jobs) // (4 * n_jobs))))


def _frame(rows: list[dict], columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(columns)).astype(object) if rows else pd.DataFrame(columns=list(columns))


def _write_all(
    out: str | os.PathLike[str], file_format: str, experts: pd.DataFrame, evidence: pd.DataFrame, review: pd.DataFrame
) -> tuple[Path, ...]:
    """All three tables or none: each is written to a temporary file; the renames happen once all are written."""
    folder = Path(out)
    targets = [
        (experts, folder / f"experts.{file_format}"),
        (evidence, folder / f"evidence.{file_format}"),
        (review, folder / f"ingest_review.{file_format}"),
    ]
    for _, path in targets:
        format_of(path)
    with contextlib.ExitStack() as stack:
        for frame, path in targets:
            tmp = stack.enter_context(atomic_path(path))
            write_table(frame, tmp)
    return tuple(path for _, path in targets)
