"""Reading and writing tables: CSV, Excel (.xlsx), Parquet and JSON records, chosen by file extension.

Reading returns a :class:`RawTable`: every cell as it came (text, number, bool, list or missing), with the row
numbers a user sees in the file. Validation (``gscp_match.validate``) turns it into a typed table. Writing is atomic:
a temporary file in the same folder, then a rename, so a failed run never leaves a half-written file.

Formula injection. A spreadsheet evaluates a cell whose text starts with ``=``, ``+``, ``-`` or ``@`` as a formula
(OWASP adds a leading tab or carriage return, which some importers drop before looking): a request description
``=HYPERLINK(...)`` or ``-2+3+cmd|...`` would run when a colleague opens the CSV. The CSV and XLSX writers
therefore prefix such a text cell with a single quote (OWASP's advice), and the readers remove it again, so our own
files read back unchanged. The escape is unambiguous:

* written: ``"'" + text`` when ``text`` is a run of zero or more ``'`` followed by one of ``= + - @ \t \r``, except
  a plain number literal such as ``-12.5`` or ``+3e2`` (harmless, and it stays a number for the spreadsheet);
* read: a cell that is a run of one or more ``'`` followed by one of those characters loses its first ``'``.

So ``=1+1`` is written ``'=1+1``, ``'=1+1`` (text a user typed with its own quote) is written ``''=1+1``, and ``'abc``
or ``-5`` are written as they are; each reads back as it was. Cells that are numbers, booleans or dates in the
table are never touched. Parquet and JSON are data formats no spreadsheet evaluates: they are written as they are.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ._tempfiles import STAGE_PREFIX, TMP_MARK, sweep_stale_temporaries
from .errors import InputError
from .schema import cell_text

__all__ = [
    "RawTable",
    "read_raw",
    "write_table",
    "atomic_path",
    "staged_outputs",
    "StagedOutputs",
    "sweep_stale_temporaries",
    "FORMATS",
    "FORMULA_TRIGGERS",
    "format_of",
    "neutralize_formula",
    "restore_formula",
    "neutralize_formulas",
]

#: File extensions understood, by format.
FORMATS: dict[str, tuple[str, ...]] = {
    "csv": (".csv",),
    "xlsx": (".xlsx",),
    "parquet": (".parquet", ".pq"),
    "json": (".json",),
}


#: First characters that make a spreadsheet evaluate a text cell (OWASP "CSV injection"): = + - @ tab CR.
FORMULA_TRIGGERS = "=+-@\t\r"

# Written with a quote in front: optional quotes, then a trigger. Read back without one: one or more quotes, then a
# trigger. A plain number literal (no quote in it) is never escaped.
_TRIGGER = f"[{re.escape(FORMULA_TRIGGERS)}]"
_NEEDS_QUOTE = re.compile("'*" + _TRIGGER)
_QUOTED = re.compile("'+" + _TRIGGER)
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def neutralize_formula(text: str) -> str:
    """Text as written to a CSV or XLSX cell: a single quote in front when a spreadsheet would evaluate it.

    See the module docstring for the exact rule; :func:`restore_formula` undoes it.

    >>> neutralize_formula("=1+1"), neutralize_formula("'=1+1"), neutralize_formula("-12.5"), neutralize_formula("'a")
    ("'=1+1", "''=1+1", '-12.5', "'a")
    """
    if _NEEDS_QUOTE.match(text) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def restore_formula(text: str) -> str:
    """Text of a CSV or XLSX cell as it was before :func:`neutralize_formula`.

    >>> restore_formula("'=1+1"), restore_formula("''=1+1"), restore_formula("'a")
    ('=1+1', "'=1+1", "'a")
    """
    return text[1:] if _QUOTED.match(text) else text


def neutralize_formulas(cells: pd.Series) -> pd.Series:
    """:func:`neutralize_formula` on every text cell of ``cells`` (other cells unchanged); object dtype out.

    >>> neutralize_formulas(pd.Series(["=A1", 3, "-1", "-x"])).tolist()
    ["'=A1", 3, '-1', "'-x"]
    """
    return _map_text(cells, neutralize_formula)


def _map_text(cells: pd.Series, function: Callable[[str], str]) -> pd.Series:
    """``function`` on every text cell (other cells unchanged); object dtype out."""
    values = [function(v) if isinstance(v, str) else v for v in cells.to_numpy(dtype=object)]
    return pd.Series(values, dtype=object, index=cells.index)


def _restore_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Undo :func:`neutralize_formula` on every text cell and column name of a CSV/XLSX table."""
    frame = frame.copy()
    for i in range(frame.shape[1]):
        frame.isetitem(i, _map_text(frame.iloc[:, i], restore_formula))
    frame.columns = [restore_formula(c) if isinstance(c, str) else c for c in frame.columns]
    return frame


def _neutralize_frame(typed: pd.DataFrame, out: pd.DataFrame) -> pd.DataFrame:
    """Neutralize the file form ``out`` of ``typed``: only cells that are text (or lists of text) in ``typed``."""
    out = out.copy()
    for i in range(typed.shape[1]):
        column = typed.iloc[:, i]
        if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_datetime64_any_dtype(column):
            continue  # numbers, booleans and dates: never text, never quoted (a negative number stays a number)
        original = column.to_numpy(dtype=object)
        textlike = np.fromiter(
            (isinstance(v, str | tuple | list | np.ndarray) for v in original), dtype=bool, count=len(original)
        )
        if not textlike.any():
            continue
        cells = out.iloc[:, i]
        escaped = neutralize_formulas(cells).to_numpy(dtype=object)
        out.isetitem(i, pd.Series(np.where(textlike, escaped, cells.to_numpy(dtype=object)), dtype=object))
    out.columns = [neutralize_formula(str(c)) for c in out.columns]
    return out


def format_of(path: str | os.PathLike[str]) -> str:
    """The format of a file from its extension (``csv``, ``xlsx``, ``parquet`` or ``json``).

    >>> format_of("round/requests.XLSX")
    'xlsx'
    """
    suffix = Path(path).suffix.lower()
    for fmt, suffixes in FORMATS.items():
        if suffix in suffixes:
            return fmt
    allowed = ", ".join(s for suffixes in FORMATS.values() for s in suffixes)
    raise InputError(f"{Path(path).name}: unknown file extension {suffix or '(none)'!r}; expected one of {allowed}")


@dataclass(frozen=True, slots=True)
class RawTable:
    """A table as read from a file, before validation.

    Attributes
    ----------
    source : str
        The name shown in error messages (the file name).
    frame : pandas.DataFrame
        Cells as read (object dtype); column names stripped of surrounding spaces.
    first_row : int
        The row number a user sees for ``frame``'s first row: 2 for CSV and Excel (the header is row 1), 1 for JSON
        records and Parquet.
    """

    source: str
    frame: pd.DataFrame
    first_row: int
    row_numbers: np.ndarray | None = None

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, source: str = "table", first_row: int = 1) -> RawTable:
        """Wrap an in-memory DataFrame (for example from a notebook) so it can be validated like a file."""
        frame = frame.reset_index(drop=True).astype(object)
        frame.columns = [str(c).strip() for c in frame.columns]
        return cls(source=source, frame=frame, first_row=first_row)

    def row_number(self, position: int) -> int:
        """The row number a user sees for the ``position``-th row of ``frame`` (blank rows still count)."""
        if self.row_numbers is not None:
            return int(self.row_numbers[position])
        return self.first_row + position


def read_raw(path: str | os.PathLike[str]) -> RawTable:
    """Read a table file into a :class:`RawTable`; any failure is an :class:`InputError` naming the file.

    Parameters
    ----------
    path : str or path-like
        A ``.csv``, ``.xlsx``, ``.parquet`` or ``.json`` file (JSON: a list of records).
    """
    path = Path(path)
    name = path.name
    fmt = format_of(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, expected a {fmt} file")
    if path.stat().st_size == 0:
        raise InputError(f"{name}: the file is empty; expected a header row and at least one data row")
    reader: Callable[[Path], pd.DataFrame] = _READERS[fmt]
    try:
        frame = reader(path)
    except InputError:
        raise
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{name}: is not UTF-8 text (byte {exc.start}: {exc.object[exc.start : exc.start + 1]!r}); "
            "save it as UTF-8 (Excel: 'CSV UTF-8')"
        ) from None
    except Exception as exc:  # noqa: BLE001 - any reader failure is the user's file
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{name}: cannot be read as {fmt}: {reason}") from None
    frame = frame.astype(object)
    if fmt in ("csv", "xlsx"):
        frame = _restore_frame(frame)  # our writer quoted cells a spreadsheet would evaluate: undo exactly that
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.shape[1] == 0:
        raise InputError(f"{name}: the file has no columns; expected a header row")
    first_row = 2 if fmt in ("csv", "xlsx") else 1
    # Blank rows are dropped, but rows keep the numbers the user sees in the file.
    blank = frame.map(lambda v: cell_text(v) == "").all(axis=1).to_numpy() if len(frame) else np.zeros(0, bool)
    row_numbers = first_row + np.flatnonzero(~blank)
    frame = frame.loc[~blank].reset_index(drop=True)
    if len(frame) == 0:
        raise InputError(f"{name}: the file has a header but no data rows")
    return RawTable(source=name, frame=frame, first_row=first_row, row_numbers=row_numbers)


def _read_csv(path: Path) -> pd.DataFrame:
    with path.open("rb") as f:
        text = f.read().decode("utf-8-sig")  # raises UnicodeDecodeError with the byte position
    header = next(csv.reader(io.StringIO(text)), [])
    _check_header(path.name, [h.strip() for h in header])
    return pd.read_csv(
        path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig", skip_blank_lines=False
    )


def _check_header(name: str, header: list[str]) -> None:
    seen: set[str] = set()
    for column in header:
        if column in seen and column:
            raise InputError(f"{name}: column {column!r} appears more than once in the header")
        seen.add(column)


def _read_xlsx(path: Path) -> pd.DataFrame:
    frame = pd.read_excel(path, sheet_name=0, dtype=object, engine="openpyxl", keep_default_na=False, na_filter=False)
    _check_header(path.name, [str(c).strip() for c in frame.columns])
    return frame


def _read_parquet(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path)


def _read_json(path: Path) -> pd.DataFrame:
    text = path.read_bytes().decode("utf-8-sig")
    data = json.loads(text)
    if isinstance(data, dict):
        # {"records": [...]} or pandas' {"column": {...}} orientation are not the contract: say so.
        raise InputError(f"{path.name}: expected a JSON list of records ([{{...}}, ...]), got an object")
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise InputError(f"{path.name}: expected a JSON list of records ([{{...}}, ...])")
    columns: dict[str, None] = {}
    for record in data:
        columns.update(dict.fromkeys(record))
    return pd.DataFrame.from_records(data, columns=list(columns))


_READERS: dict[str, Callable[[Path], pd.DataFrame]] = {
    "csv": _read_csv,
    "xlsx": _read_xlsx,
    "parquet": _read_parquet,
    "json": _read_json,
}


@functools.cache
def _umask() -> int:
    """The process's umask, read once at the first write (reading it means setting it, so not at import)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on failure it is removed.

    The temporary file is hidden and carries this process's id (``.out.txt.gscp-<pid>-<random>.tmp.txt``), so a
    later run can tell one left by a killed process (:func:`sweep_stale_temporaries`).

    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text()
    'done'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{path.name}{TMP_MARK}{os.getpid()}-", suffix=f".tmp{path.suffix}", dir=path.parent
    )
    os.close(fd)
    # mkstemp makes the file private (0600); give it the mode a plain open() would, as the user's umask says.
    os.chmod(tmp_name, 0o666 & ~_umask())
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


class StagedOutputs:
    """Several output files written aside, then moved into place together (see :func:`staged_outputs`)."""

    def __init__(self) -> None:
        self._stages: dict[Path, Path] = {}
        self._moves: dict[Path, Path] = {}

    def path(self, target: str | os.PathLike[str]) -> Path:
        """Where to write ``target`` for now: a file of the same name in a hidden folder beside it."""
        target = Path(target)
        key = target.parent.absolute() / target.name
        if key in self._moves:
            raise InputError(f"{target}: two outputs of one run would be written to this file; give another path")
        parent = target.parent
        stage = self._stages.get(parent.absolute())
        if stage is None:
            parent.mkdir(parents=True, exist_ok=True)
            stage = Path(tempfile.mkdtemp(prefix=f"{STAGE_PREFIX}{os.getpid()}-", dir=parent))
            self._stages[parent.absolute()] = stage
        staged = stage / target.name
        self._moves[key] = staged
        return staged

    def commit(self) -> None:
        """Rename every staged file over its target (quick renames in the same folder); signals wait till done."""
        missing = [str(staged) for staged in self._moves.values() if not staged.exists()]
        if missing:
            raise RuntimeError(f"staged outputs were never written: {', '.join(missing)}")
        with _signals_held():
            for target, staged in self._moves.items():
                os.replace(staged, target)
        for parent in self._stages:
            _fsync_folder(parent)

    def discard(self) -> None:
        """Remove the staging folders and whatever is still in them."""
        for stage in self._stages.values():
            shutil.rmtree(stage, ignore_errors=True)
        self._stages.clear()


@contextlib.contextmanager
def staged_outputs() -> Iterator[StagedOutputs]:
    """All-or-nothing outputs: write each file to ``outputs.path(target)``; when the block ends normally they are
    all renamed into place, when it raises (or the process is interrupted) none is, and nothing is left behind.

    A reader sees the old files until the final renames, which take microseconds per file.

    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> with staged_outputs() as outputs:
    ...     for name in ("a.txt", "b.txt"):
    ...         _ = outputs.path(out / name).write_text(name)
    ...     sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    []
    >>> sorted(p.name for p in out.iterdir())
    ['a.txt', 'b.txt']
    """
    outputs = StagedOutputs()
    try:
        yield outputs
        outputs.commit()
    finally:
        outputs.discard()


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back (they arrive when the block ends), so a rename sequence is not cut short."""
    import signal
    import threading

    held = {signal.SIGINT, getattr(signal, "SIGTERM", signal.SIGINT)}
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _fsync_folder(folder: Path) -> None:
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_table(frame: pd.DataFrame, path: str | os.PathLike[str], *, sheet_name: str = "data") -> Path:
    """Write a table in the format given by ``path``'s extension, atomically.

    List cells (tuples or lists) are written ``;``-separated, dates as ``YYYY-MM-DD``, booleans as ``true``/``false``,
    so that reading and validating the file gives the same table back.

    In CSV and XLSX, text cells (and column names) that a spreadsheet would evaluate as a formula (starting with
    ``= + - @``, tab or carriage return) get a single quote in front (:func:`neutralize_formula`); :func:`read_raw`
    removes it, so the round trip is exact. Numbers, booleans and dates are not text and are never quoted. XLSX cells
    are written as text cells anyway (never formulas); the quote still protects a user who retypes, copies or
    re-saves the cell as CSV.
    """
    from .schema import to_file_form

    path = Path(path)
    fmt = format_of(path)
    out = to_file_form(frame)
    if fmt in ("csv", "xlsx"):
        out = _neutralize_frame(frame, out)
    with atomic_path(path) as tmp:
        if fmt == "csv":
            # Quote every text cell: a bare carriage return inside a cell must not end the row.
            out.to_csv(tmp, index=False, encoding="utf-8", quoting=csv.QUOTE_NONNUMERIC)
        elif fmt == "xlsx":
            _write_xlsx(out, tmp, sheet_name)
        elif fmt == "parquet":
            out.to_parquet(tmp, index=False)
        else:
            records = out.to_dict(orient="records")
            tmp.write_text(json.dumps(records, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def _write_xlsx(frame: pd.DataFrame, path: Path, sheet_name: str) -> None:
    """Every cell as a text cell: a value starting with '=' stays text, never a formula."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = sheet_name[:31]
    sheet.append([str(c) for c in frame.columns])
    for row in frame.itertuples(index=False, name=None):
        sheet.append(list(row))
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"
    sheet.freeze_panes = "A2"
    book.save(path)
