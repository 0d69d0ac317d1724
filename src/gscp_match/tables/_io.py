"""Reading and writing tables: CSV, Excel (.xlsx), Parquet and JSON records, chosen by file extension.

Reading returns a :class:`RawTable`: every cell as it came (text, number, bool, list or missing), with the row
numbers a user sees in the file. Validation (``gscp_match.tables._validate``) turns it into a typed table. Writing is
atomic:
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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gscp_match._tempfiles import STAGE_PREFIX, TMP_MARK, fsync_folder, sweep_stale_temporaries
from gscp_match.errors import InputError, Problem
from gscp_match.tables._schema import cell_text, clean_text

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
    row_numbers : ndarray of int, optional
        The row number of each row of ``frame`` when they are not consecutive (blank rows were dropped).
    decimal : str
        The decimal mark of the file's numbers written as text: ``","`` for a CSV separated by ``;`` (as
        European Excel writes it), else ``"."``.
    """

    source: str
    frame: pd.DataFrame
    first_row: int
    row_numbers: np.ndarray | None = None
    decimal: str = "."

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


@dataclass(frozen=True, slots=True)
class _Sheet:
    """What a reader found: the header cells, the data rows (lists of cells) and each row's number in the file."""

    header: Sequence[object]
    rows: Sequence[Sequence[object]]
    row_numbers: list[int]
    header_row: int = 1
    decimal: str = "."
    delimiter: str | None = None


#: The separators a CSV file may use; the header line decides (see :func:`_sniff_delimiter`).
CSV_DELIMITERS = (",", ";", "\t")
_DELIMITER_NAMES = {",": "','", ";": "';'", "\t": "tab"}
#: Longest cell a CSV file may hold (Python's csv module stops at 128 KiB by default).
MAX_CELL_CHARS = 16 * 1024 * 1024


def read_raw(path: str | os.PathLike[str]) -> RawTable:
    """Read a table file into a :class:`RawTable`; any failure is an :class:`InputError` naming the file.

    Parameters
    ----------
    path : str or path-like
        A ``.csv``, ``.xlsx``, ``.parquet`` or ``.json`` file (JSON: a list of records).

    A CSV file may be separated by ``,``, ``;`` or tab (the header line decides) and encoded as UTF-8 (with or
    without a byte-order mark) or UTF-16 with a byte-order mark. Every row must have as many fields as the header;
    a column name may appear once only (in every format).
    """
    path = Path(path)
    name = path.name
    fmt = format_of(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, expected a {fmt} file")
    if not path.is_file():
        raise InputError(f"{path}: is not a regular file, expected a {fmt} file")
    if path.stat().st_size == 0:
        raise InputError(f"{name}: the file is empty; expected a header row and at least one data row")
    reader: Callable[[Path], _Sheet | pd.DataFrame] = _READERS[fmt]
    try:
        read = reader(path)
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"{name}: cannot be read as {_FORMAT_NAMES[fmt]}: {_reason(exc)}") from None
    if isinstance(read, _Sheet):
        frame, row_numbers, decimal = _sheet_frame(name, read)
    else:
        frame, decimal = read, "."
        first = 2 if fmt in ("csv", "xlsx") else 1
        row_numbers = list(range(first, first + len(frame)))
    frame = frame.astype(object)
    if fmt in ("csv", "xlsx"):
        frame = _restore_frame(frame)  # our writer quoted cells a spreadsheet would evaluate: undo exactly that
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.shape[1] == 0:
        raise InputError(f"{name}: the file has no columns; expected a header row")
    first_row = 2 if fmt in ("csv", "xlsx") else 1
    # Blank rows are dropped, but rows keep the numbers the user sees in the file.
    blank = frame.map(lambda v: cell_text(v) == "").all(axis=1).to_numpy() if len(frame) else np.zeros(0, bool)
    row_numbers = np.asarray(row_numbers, dtype=np.int64)[~blank]
    frame = frame.loc[~blank].reset_index(drop=True)
    if len(frame) == 0:
        raise InputError(f"{name}: the file has a header but no data rows")
    return RawTable(source=name, frame=frame, first_row=first_row, row_numbers=row_numbers, decimal=decimal)


_FORMAT_NAMES = {"csv": "CSV", "xlsx": "an Excel workbook (xlsx)", "parquet": "Parquet", "json": "JSON"}


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _sheet_frame(name: str, sheet: _Sheet) -> tuple[pd.DataFrame, list[int], str]:
    """Header and rows -> a frame; every header and row-length problem is one :class:`Problem` line."""
    header = [cell_text(h) for h in sheet.header]
    problems: list[Problem] = []
    width = len(header)
    for row, cells in zip(sheet.row_numbers, sheet.rows, strict=True):
        if len(cells) == width or all(cell_text(c) == "" for c in cells):
            continue
        if sheet.delimiter is None:  # a sheet: a value right of the last named column
            message = (
                f"holds a value in column {len(cells)}, right of the header's {width} named columns "
                f"(row {sheet.header_row}); name that column or remove the value"
            )
        else:
            if len(cells) < width:
                hint = "the row ends early: was the file cut short, or is a quote left open?"
            else:
                hint = f"is a {_DELIMITER_NAMES[sheet.delimiter]} inside a cell? put that cell in double quotes"
            message = f"has {len(cells)} fields, the header (row {sheet.header_row}) has {width}; {hint}"
        problems.append(Problem(name, row, None, message))
    first: dict[str, int] = {}
    for i, column in enumerate(header):
        if not column:
            continue
        if column in first:
            problems.append(
                Problem(
                    name,
                    None,
                    column,
                    f"appears more than once in the header (columns {first[column] + 1} and {i + 1}); "
                    "rename or remove one",
                )
            )
        else:
            first[column] = i
    # Columns without a name: dropped when empty (a trailing separator), an error when they hold data.
    keep = []
    for i, column in enumerate(header):
        if column:
            keep.append(i)
            continue
        filled = [
            row
            for row, cells in zip(sheet.row_numbers, sheet.rows, strict=True)
            if i < len(cells) and cell_text(cells[i]) != ""
        ]
        if filled:
            problems.append(
                Problem(
                    name,
                    filled[0],
                    None,
                    f"column {i + 1} holds a value but has no name in the header (row {sheet.header_row}); "
                    "name the column or remove the value",
                )
            )
    if problems:
        raise InputError(problems)
    columns = [header[i] for i in keep]
    data = [[cells[i] if i < len(cells) else None for i in keep] for cells in sheet.rows]
    frame = (
        pd.DataFrame(data, columns=range(len(columns)), dtype=object)
        if data
        else pd.DataFrame(columns=range(len(columns)), dtype=object)
    )
    frame.columns = columns
    return frame, sheet.row_numbers, sheet.decimal


# Signatures of binary files a user may give a text extension by mistake.
_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old Excel .xls (and .doc)
_PARQUET = b"PAR1"


def _binary_kind(path: Path, data: bytes) -> str | None:
    """What a binary file looks like (``None`` when it does not start like a known binary format)."""
    if data.startswith(_ZIP):
        try:
            import zipfile

            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except Exception:
            names = []
        if any(n.startswith("xl/") for n in names):
            return "an Excel workbook (xlsx)"
        if any(n.startswith("word/") for n in names):
            return "a Word document (docx)"
        return "a zip archive"
    if data.startswith(_OLE2):
        return "an old Excel workbook (.xls)"
    if data.startswith(_PARQUET):
        return "a Parquet file"
    if data.startswith(b"%PDF"):
        return "a PDF document"
    return None


_SAVE_AS = {
    "an Excel workbook (xlsx)": "name it .xlsx, or save it from Excel as 'CSV UTF-8'",
    "an old Excel workbook (.xls)": "open it in Excel and save it as .xlsx or 'CSV UTF-8'",
    "a Parquet file": "name it .parquet",
}


def _decode_text(path: Path, fmt: str) -> str:
    """The text of a CSV or JSON file; a binary file, UTF-16 or bad UTF-8 is an :class:`InputError` (or decoded)."""
    data = path.read_bytes()
    name = path.name
    kind = _binary_kind(path, data)
    if kind is not None:
        advice = _SAVE_AS.get(kind, f"export it as {_FORMAT_NAMES[fmt]} text")
        raise InputError(f"{name}: this looks like {kind}, not {_FORMAT_NAMES[fmt]} text; {advice}")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")  # Excel's "Unicode text"; the byte-order mark says which way round
        except UnicodeDecodeError:
            raise InputError(
                f"{name}: starts like UTF-16 text but does not decode as UTF-16; save it as UTF-8"
            ) from None
    head = data[:4096]
    if head[1::2].count(0) > len(head) // 4 or head[0::2].count(0) > len(head) // 4:
        raise InputError(
            f"{name}: looks like UTF-16 text without a byte-order mark; save it as UTF-8 (Excel: 'CSV UTF-8')"
        )
    # A stray control character (a NUL pasted into a cell) is cleaned at validation; many of them are not text.
    controls = sum(head.count(bytes([b])) for b in range(32) if b not in (9, 10, 13))
    if controls > max(len(head) // 10, 8):
        raise InputError(f"{name}: is not a text file (binary data); expected {_FORMAT_NAMES[fmt]} text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{name}: is not UTF-8 text (line {line}, byte {exc.start}: {data[exc.start : exc.start + 1]!r}); "
            "save it as UTF-8 (Excel: 'CSV UTF-8')"
        ) from None


def _sniff_delimiter(text: str) -> str:
    """The separator of a CSV file: of ``,``, ``;`` and tab, the one that splits the header into most fields.

    >>> _sniff_delimiter("expert_id;name;bio\\nE1;Kim;x"), _sniff_delimiter("a,b\\n")
    (';', ',')
    """
    header_line = text.lstrip("\r\n").split("\n", 1)[0]
    best, best_fields = ",", 1
    for delimiter in CSV_DELIMITERS:
        fields = next(csv.reader([header_line], delimiter=delimiter), [])
        if len(fields) > best_fields:
            best, best_fields = delimiter, len(fields)
    return best


@contextlib.contextmanager
def _field_limit(limit: int) -> Iterator[None]:
    old = csv.field_size_limit()
    csv.field_size_limit(max(old, limit))
    try:
        yield
    finally:
        csv.field_size_limit(old)


def _read_csv(path: Path) -> _Sheet:
    text = _decode_text(path, "csv")
    if not text.strip():
        raise InputError(f"{path.name}: holds only blank lines; expected a header row and at least one data row")
    delimiter = _sniff_delimiter(text)
    with _field_limit(MAX_CELL_CHARS):
        try:
            # Strict first: only it notices a quote still open at the end of the file (the rest of the file would
            # silently become one cell). Other strictness (text after a closing quote) is read leniently.
            records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
        except csv.Error as strict_error:
            try:
                records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
            except csv.Error as exc:
                raise InputError(f"{path.name}: cannot be read as CSV: {exc}") from None
            if "unexpected end of data" in str(strict_error):
                raise InputError(
                    f"{path.name} row {len(records)}: a quoted cell opened in this row is never closed, so the rest "
                    'of the file reads as one cell; close the quote (")'
                ) from None
    # Rows are numbered as the file's records (the header is row 1; a blank line is a row too).
    header_at = next(i for i, r in enumerate(records) if any(f.strip() for f in r))
    return _Sheet(
        header=list(records[header_at]),
        rows=records[header_at + 1 :],
        row_numbers=list(range(header_at + 2, len(records) + 1)),
        header_row=header_at + 1,
        decimal="," if delimiter == ";" else ".",
        delimiter=delimiter,
    )


def _read_xlsx(path: Path) -> _Sheet:
    from openpyxl import load_workbook

    with path.open("rb") as f:
        head = f.read(4096)
    kind = _binary_kind(path, head)
    if kind != "an Excel workbook (xlsx)":
        if kind is None:
            kind = "text (a CSV file named .xlsx?)" if b"\x00" not in head else "some other binary file"
        advice = f"; {_SAVE_AS[kind]}" if kind in _SAVE_AS and kind != "an Excel workbook (xlsx)" else ""
        raise InputError(f"{path.name}: is not an Excel workbook (xlsx): it looks like {kind}{advice}")
    book = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # some writers store a wrong sheet size; read the cells that are there
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    finally:
        book.close()
    # Read-only rows start at row 1 of the sheet, so list position + 1 is the row number Excel shows.
    filled = [i for i, r in enumerate(rows) if any(cell_text(c) != "" for c in r)]
    if not filled:
        raise InputError(f"{path.name}: the first sheet is empty; expected a header row and at least one data row")
    header_at = filled[0]
    header = rows[header_at]
    named = [i for i, h in enumerate(header) if cell_text(h) != ""]
    width = named[-1] + 1
    data = rows[header_at + 1 :]
    # Excel rows are a grid: trim each row to the header's width, keeping any value beyond it to report.
    trimmed = []
    for cells in data:
        last = max((i for i, c in enumerate(cells) if cell_text(c) != ""), default=-1)
        kept = ["" if c is None else c for c in cells[: max(width, last + 1)]]  # an empty cell reads as ""
        trimmed.append(kept + [""] * (width - len(kept)))
    return _Sheet(
        header=list(header[:width]),
        rows=trimmed,
        row_numbers=list(range(header_at + 2, header_at + 2 + len(data))),
        header_row=header_at + 1,
    )


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow.parquet as pq

    with path.open("rb") as f:
        head = f.read(8)
    if not head.startswith(_PARQUET):
        kind = _binary_kind(path, head)
        raise InputError(f"{path.name}: is not a Parquet file" + (f": it looks like {kind}" if kind else ""))
    names = pq.read_schema(path).names
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InputError([Problem(path.name, None, n, "appears more than once in the columns") for n in twice])
    return pd.read_parquet(path)


class _Record(dict):
    """A JSON object, remembering keys it held more than once (``json`` keeps the last silently)."""

    twice: tuple[str, ...] = ()


def _record(pairs: list[tuple[str, object]]) -> _Record:
    record = _Record(pairs)
    if len(record) < len(pairs):
        keys = [k for k, _ in pairs]
        record.twice = tuple(sorted({k for k in keys if keys.count(k) > 1}))
    return record


def _read_json(path: Path) -> pd.DataFrame:
    text = _decode_text(path, "json")
    try:
        data = json.loads(text, object_pairs_hook=_record)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path.name}: is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    if isinstance(data, dict):
        # {"records": [...]} or pandas' {"column": {...}} orientation are not the contract: say so.
        raise InputError(f"{path.name}: expected a JSON list of records ([{{...}}, ...]), got an object")
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise InputError(f"{path.name}: expected a JSON list of records ([{{...}}, ...])")
    problems = [
        Problem(path.name, row, key, "appears more than once in this record")
        for row, record in enumerate(data, start=1)
        for key in getattr(record, "twice", ())
    ]
    if problems:
        raise InputError(problems)
    columns: dict[str, None] = {}
    for record in data:
        columns.update(dict.fromkeys(record))
    return pd.DataFrame.from_records([dict(r) for r in data], columns=list(columns))


_READERS: dict[str, Callable[[Path], _Sheet | pd.DataFrame]] = {
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
            fsync_folder(parent)

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
    from gscp_match.tables._schema import to_file_form

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
    """Every cell as a text cell: a value starting with '=' stays text, never a formula.

    Rows are streamed in one pass (openpyxl's write-only mode): time and memory grow linearly with the rows.
    Control characters no XLSX file can hold are removed (:func:`~gscp_match.tables._schema.clean_text`; validated
    tables
    are already clean, this guards tables built in code).
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet(sheet_name[:31])
    sheet.freeze_panes = "A2"

    def cell(value: object) -> object:
        if not isinstance(value, str):
            return value
        value = clean_text(value)
        if value.startswith("="):
            text = WriteOnlyCell(sheet, value=value)
            text.data_type = "s"
            return text
        return value

    sheet.append([cell(str(c)) for c in frame.columns])
    try:
        for row in frame.itertuples(index=False, name=None):
            sheet.append([cell(v) for v in row])
        book.save(path)
    except BaseException:
        with contextlib.suppress(Exception):
            sheet.close()  # end the sheet's stream now, not with a warning when it is collected
        raise
