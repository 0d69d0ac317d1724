"""Validation: raw tables in, typed tables out, every problem reported with file, row and column.

Validation happens once, at the boundary. It collects every problem in a table and raises them together as one
:class:`~gscp_match.errors.InputError` (the message lists the first few and counts the rest).

>>> import pandas as pd
>>> from gscp_match.tables._io import RawTable
>>> raw = RawTable.from_frame(pd.DataFrame({"expert_id": ["E1"], "name": ["Kim"], "bio": ["Bus reform."],
...                                         "languages": ["ko;en"]}), source="experts.csv", first_row=2)
>>> validate_table(raw, "experts").loc[0, "languages"]
('ko', 'en')
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from gscp_match.errors import InputError, Problem
from gscp_match.tables._io import RawTable, read_raw
from gscp_match.tables._schema import ID_COLUMNS, TABLES, CellError, Column, cell_text, clean_text, number_text
from gscp_match.tables._vocab import SUPPORT_DAY_CAPS, country_region

__all__ = ["as_table", "validate_table", "read_table", "check_references", "working_days_between"]


def read_table(path: str | os.PathLike[str], kind: str, *, experts: pd.DataFrame | None = None) -> pd.DataFrame:
    """Read and validate a table file of the given kind (``experts``, ``evidence``, ``cases``, ``requests``,
    ``history``).

    With ``experts`` (a validated roster), the expert ids the table names (evidence and history ``expert_id``,
    requests ``exclude_experts``) are checked in the same pass, so one error lists every problem.

    Raises
    ------
    InputError
        Naming the file, and for each problem the row and column, what was expected and what arrived.
    """
    return validate_table(read_raw(path), kind, experts=experts)


def as_table(
    value: pd.DataFrame | str | os.PathLike[str], kind: str, *, experts: pd.DataFrame | None = None
) -> pd.DataFrame:
    """A validated table of ``kind`` from a file path (read) or a DataFrame (validated).

    A DataFrame is validated even when an earlier validation marked it (``attrs["kind"]``): pandas carries
    ``attrs`` through ``drop``, ``assign``, ``head`` and the like, so the mark does not prove the frame still holds.
    """
    if isinstance(value, pd.DataFrame):
        return validate_table(value, kind, experts=experts)
    return read_table(value, kind, experts=experts)


def validate_table(raw: RawTable | pd.DataFrame, kind: str, *, experts: pd.DataFrame | None = None) -> pd.DataFrame:
    """Validate a raw table against the contract of ``kind`` and return the typed table.

    Columns outside the contract are kept after the contract's columns. Row order is kept. Control characters are
    cleaned from every text cell, extra columns included (:func:`~gscp_match.tables._schema.clean_text`), so every
    writer
    downstream can hold the table. With ``experts``, expert ids are checked against it in the same pass
    (:func:`check_references`).
    """
    if kind not in TABLES:
        raise InputError(f"unknown table kind {kind!r}; expected one of {', '.join(TABLES)}")
    if isinstance(raw, pd.DataFrame):
        raw = RawTable.from_frame(raw, source=f"{kind} table")
    columns = TABLES[kind]
    frame = _clean_frame(raw.frame)
    problems: list[Problem] = []

    present = set(frame.columns)
    missing = [c.name for c in columns if c.required and c.name not in present]
    if missing:
        found = ", ".join(map(repr, frame.columns[:12])) + (" ..." if frame.shape[1] > 12 else "")
        raise InputError(
            [
                Problem(raw.source, None, name, f"required column is missing (columns found: {found})")
                for name in missing
            ]
        )
    duplicated = frame.columns[frame.columns.duplicated()].unique().tolist()
    if duplicated:
        raise InputError([Problem(raw.source, None, name, "column appears more than once") for name in duplicated])

    out: dict[str, object] = {}
    for column in columns:
        if column.name in present:
            cells = frame[column.name].to_numpy(dtype=object)
        else:
            cells = np.full(len(frame), None, dtype=object)
        out[column.name] = _parse_column(raw, column, cells, problems)

    typed = pd.DataFrame(out)
    for extra in frame.columns:
        if extra not in typed.columns:
            typed[extra] = frame[extra].to_numpy(dtype=object)

    _check_rows(raw, kind, typed, problems, given=_given(frame, ("window_start", "window_end")))
    if experts is not None:
        problems.extend(_reference_problems(typed, kind, set(experts["expert_id"]), raw.source, raw.row_number))
    if problems:
        order = {c.name: i for i, c in enumerate(columns)}
        problems.sort(key=lambda p: (p.row or 0, order.get(p.column or "", -1)))
        raise InputError(problems)
    # Where the table came from, for messages about references between tables (evidence -> roster).
    numbers = [raw.row_number(i) for i in range(len(typed))]
    consecutive = numbers == list(range(raw.first_row, raw.first_row + len(typed)))
    # Row numbers only when blank rows broke the count (a tuple: attrs are compared and copied by pandas).
    typed.attrs.update(
        source=raw.source, first_row=raw.first_row, kind=kind, row_numbers=None if consecutive else tuple(numbers)
    )
    return typed


def _clean_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with :func:`clean_text` on every text cell (and list item) and column name; copied only if needed."""
    cleaned = None
    for i in range(frame.shape[1]):
        cells = frame.iloc[:, i].to_numpy(dtype=object)
        texts = [v for v in cells if isinstance(v, str)]
        lists = len(texts) < len(cells) and any(isinstance(v, list | tuple | np.ndarray) for v in cells)
        if not lists and clean_text("".join(texts)) == "".join(texts):
            continue  # the usual case, one regex search for the whole column
        fixed = [_clean_cell(v) for v in cells]
        if any(a is not b for a, b in zip(fixed, cells, strict=True)):
            if cleaned is None:
                cleaned = frame.copy()
            cleaned.isetitem(i, pd.Series(fixed, dtype=object, index=frame.index))
    names = [clean_text(c).strip() if isinstance(c, str) else c for c in frame.columns]
    if names != list(frame.columns):
        cleaned = (cleaned if cleaned is not None else frame.copy()).set_axis(names, axis=1)
    return cleaned if cleaned is not None else frame


def _clean_cell(value: object) -> object:
    if isinstance(value, str):
        text = clean_text(value)
        return value if text == value else text
    if isinstance(value, list | tuple | np.ndarray) and any(isinstance(v, str) and clean_text(v) != v for v in value):
        return [clean_text(v) if isinstance(v, str) else v for v in value]
    return value


def _parse_column(raw: RawTable, column: Column, cells: np.ndarray, problems: list[Problem]) -> object:
    """Parse one column; unique cell values are parsed once (rosters repeat the same language or theme lists)."""
    parse = column.parse
    assert parse is not None
    memo: dict[object, object] = {}
    parsed: list[object] = []
    for position, cell in enumerate(cells):
        key = tuple(cell) if isinstance(cell, list | np.ndarray) else cell
        try:
            hit = memo.get(key, _MISSING) if _hashable(key) else _MISSING
        except TypeError:
            hit = _MISSING
        if hit is _MISSING:
            try:
                hit = _parse_cell(column, cell, raw.decimal)
            except CellError as exc:
                problems.append(Problem(raw.source, raw.row_number(position), column.name, str(exc)))
                hit = _ERROR
            if _hashable(key):
                memo[key] = hit
        elif hit is _ERROR:
            # Report each bad row, not only the first occurrence of a bad value.
            try:
                _parse_cell(column, cell, raw.decimal)
            except CellError as exc:
                problems.append(Problem(raw.source, raw.row_number(position), column.name, str(exc)))
        parsed.append(hit)
    return _to_series(column, parsed)


_MISSING = object()
_ERROR = object()


def _hashable(value: object) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _parse_cell(column: Column, cell: object, decimal: str = ".") -> object:
    assert column.parse is not None
    if column.kind == "list":
        if isinstance(cell, list | tuple | np.ndarray):
            items = [cell_text(v) for v in cell]
        else:
            items = cell_text(cell).split(";")
        values: list[object] = []
        for item in items:
            item = item.strip()
            if item:
                value = column.parse(item)
                if value not in values:
                    values.append(value)
        return tuple(values)
    text = cell_text(cell)
    if not text:
        if column.required:
            raise CellError("required value is empty")
        return None
    if column.kind in ("int", "float") and isinstance(cell, str):
        text = number_text(text, decimal)  # text cells only: a number cell has no separators to read
    return column.parse(text)


def _to_series(column: Column, parsed: list[object]) -> pd.Series:
    n = len(parsed)
    if column.kind == "text":
        default = column.default if column.default is not None else ""
        return pd.Series([default if v is None or v is _ERROR else v for v in parsed], dtype=object)
    if column.kind == "list":
        return pd.Series([() if v is _ERROR else v for v in parsed], dtype=object)
    if column.kind == "bool":
        # None stays None here; table rules fill defaults that depend on other columns.
        return pd.Series([None if v is _ERROR else v for v in parsed], dtype=object)
    if column.kind == "int":
        values = [column.default if v is None or v is _ERROR else v for v in parsed]
        return pd.Series(pd.array(values, dtype="Int64"), index=range(n))
    if column.kind == "float":
        return pd.Series(
            [math.nan if v is None or v is _ERROR else float(v) for v in parsed],  # type: ignore[arg-type]
            dtype="float64",
        )
    if column.kind == "date":
        # Seconds, not pandas' default nanoseconds: datetime64[ns] wraps silently outside 1677-2262.
        values = [np.datetime64("NaT") if v is None or v is _ERROR else v for v in parsed]
        return pd.Series(np.array(values, dtype="datetime64[D]").astype("datetime64[s]"))
    raise AssertionError(column.kind)


def working_days_between(start: np.datetime64, end: np.datetime64) -> int:
    """Mon-Fri days in the inclusive interval [start, end].

    >>> working_days_between(np.datetime64("2027-03-01"), np.datetime64("2027-03-14"))
    10
    """
    first, last = np.asarray(start, dtype="datetime64[D]"), np.asarray(end, dtype="datetime64[D]")
    return int(np.busday_count(first, last + np.timedelta64(1, "D")))


def _given(frame: pd.DataFrame, columns: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Per column, whether each raw cell was non-empty (a bad value is given, just not valid)."""
    n = len(frame)
    return {
        c: (
            np.array([cell_text(v) != "" for v in frame[c].to_numpy(dtype=object)], dtype=bool)
            if c in frame.columns
            else np.zeros(n, dtype=bool)
        )
        for c in columns
    }


def _check_rows(
    raw: RawTable, kind: str, typed: pd.DataFrame, problems: list[Problem], *, given: dict[str, np.ndarray]
) -> None:
    source = raw.source
    id_column = ID_COLUMNS.get(kind)
    if id_column is not None:
        ids = typed[id_column]
        first_seen: dict[str, int] = {}
        for position, value in enumerate(ids):
            if not value:
                continue
            if value in first_seen:
                problems.append(
                    Problem(
                        source,
                        raw.row_number(position),
                        id_column,
                        f"duplicate id {value!r} (first at row {raw.row_number(first_seen[value])})",
                    )
                )
            else:
                first_seen[value] = position

    if kind == "experts":
        korean = typed["korean_experience"].to_numpy(dtype=object)
        nationality = typed["nationality"].to_numpy(dtype=object)
        typed["korean_experience"] = np.array(
            [bool(k) if k is not None else n == "KR" for k, n in zip(korean, nationality, strict=True)],
            dtype=bool,
        )
    elif kind == "requests":
        typed["korean_experience"] = typed["korean_experience"].map(lambda v: bool(v) if v is not None else False)
        typed["korean_experience"] = typed["korean_experience"].astype(bool)
        _check_requests(raw, typed, problems, given)
    elif kind == "history":
        _check_history(raw, typed, problems)
    elif kind == "cases":
        for position, (start, end) in enumerate(zip(typed["year_start"], typed["year_end"], strict=True)):
            if start is not pd.NA and end is not pd.NA and end < start:
                problems.append(
                    Problem(source, raw.row_number(position), "year_end", f"{end} is before year_start {start}")
                )


def _check_history(raw: RawTable, typed: pd.DataFrame, problems: list[Problem]) -> None:
    """One row per (request, expert) pair, one round per request, ratings on selected pairs only."""
    source = raw.source
    first_pair: dict[tuple[str, str], int] = {}
    round_of: dict[str, tuple[str, int]] = {}
    selected = typed["selected"].to_numpy(dtype=object)
    ratings = typed["rating"]
    columns = zip(typed["round"], typed["request_id"], typed["expert_id"], selected, strict=True)
    for position, (round_label, request_id, expert_id, chosen) in enumerate(columns):
        row = raw.row_number(position)
        if request_id and expert_id:
            pair = (request_id, expert_id)
            if pair in first_pair:
                problems.append(
                    Problem(
                        source,
                        row,
                        "expert_id",
                        f"pair (request {request_id!r}, expert {expert_id!r}) appears twice "
                        f"(first at row {first_pair[pair]})",
                    )
                )
            else:
                first_pair[pair] = row
        if request_id and round_label:
            seen = round_of.setdefault(request_id, (round_label, row))
            if seen[0] != round_label:
                problems.append(
                    Problem(
                        source,
                        row,
                        "round",
                        f"request {request_id!r} is in round {seen[0]!r} at row {seen[1]}, here {round_label!r}; "
                        "a request belongs to one round",
                    )
                )
        if chosen is False and ratings.iloc[position] is not pd.NA:
            problems.append(
                Problem(
                    source,
                    row,
                    "rating",
                    f"{ratings.iloc[position]} is given for an expert not selected; "
                    "rate selected experts only (leave it empty)",
                )
            )
    typed["selected"] = np.array([bool(v) for v in selected], dtype=bool)


def _check_requests(raw: RawTable, typed: pd.DataFrame, problems: list[Problem], given: dict[str, np.ndarray]) -> None:
    source = raw.source
    starts = typed["window_start"].to_numpy()
    ends = typed["window_end"].to_numpy()
    days = typed["days"]
    support = typed["support_type"]
    regions = typed["region"].to_numpy(dtype=object).copy()
    countries = typed["country"].to_numpy(dtype=object)
    for position in range(len(typed)):
        row = raw.row_number(position)
        start, end = starts[position], ends[position]
        has_start, has_end = not np.isnat(start), not np.isnat(end)
        if given["window_start"][position] != given["window_end"][position]:
            missing = "window_end" if given["window_start"][position] else "window_start"
            problems.append(Problem(source, row, missing, "empty, but the other window date is given; give both"))
        elif has_start and has_end and end < start:
            problems.append(
                Problem(
                    source,
                    row,
                    "window_end",
                    f"{str(end)[:10]} is before window_start {str(start)[:10]}",
                )
            )
        need = days.iloc[position]
        cap = SUPPORT_DAY_CAPS.get(support.iloc[position])
        if need is not pd.NA:
            if cap is not None and need > cap:
                problems.append(
                    Problem(
                        source,
                        row,
                        "days",
                        f"{need} working days is over the {support.iloc[position]} cap of {cap}",
                    )
                )
            if has_start and has_end and end >= start:
                available = working_days_between(start, end)
                if need > available:
                    problems.append(
                        Problem(
                            source,
                            row,
                            "days",
                            f"{need} working days do not fit in the window {str(start)[:10]} to "
                            f"{str(end)[:10]} ({available} working days)",
                        )
                    )
        if not regions[position] and countries[position]:
            regions[position] = country_region(countries[position]) or ""
    typed["region"] = regions


def check_references(
    *,
    experts: pd.DataFrame,
    evidence: pd.DataFrame | None = None,
    requests: pd.DataFrame | None = None,
) -> None:
    """Check that evidence rows and request exclusions name experts of the roster.

    Rows are numbered as in the tables' files, blank rows counted (validated tables remember their source and row
    numbers in ``DataFrame.attrs``). :func:`read_table` with ``experts=`` does the same check in its own pass.

    Raises
    ------
    InputError
        One problem per unknown id, with its row and column.
    """
    known = set(experts["expert_id"])
    problems: list[Problem] = []
    for table, kind in ((evidence, "evidence"), (requests, "requests")):
        if table is not None:
            problems.extend(_reference_problems(table, kind, known, table.attrs.get("source", kind), _rows_of(table)))
    if problems:
        raise InputError(problems)


def _rows_of(table: pd.DataFrame) -> Callable[[int], int]:
    """Position -> the row number a user sees, from a validated table's ``attrs``."""
    numbers = table.attrs.get("row_numbers")
    first_row = int(table.attrs.get("first_row", 1))
    if numbers is not None and len(numbers) == len(table):
        return lambda position: int(numbers[position])
    return lambda position: first_row + position


def _reference_problems(
    table: pd.DataFrame, kind: str, known: set[str], source: str, row_number: Callable[[int], int]
) -> list[Problem]:
    """Expert ids in ``table`` that are not in ``known``, one problem per row."""
    problems: list[Problem] = []
    if kind in ("evidence", "history"):
        for position, expert_id in enumerate(table["expert_id"]):
            if expert_id and expert_id not in known:
                problems.append(
                    Problem(
                        source, row_number(position), "expert_id", f"unknown expert id {expert_id!r}: not in the roster"
                    )
                )
    elif kind == "requests":
        for position, excluded in enumerate(table["exclude_experts"]):
            unknown: Sequence[str] = [e for e in excluded if e not in known]
            if unknown:
                problems.append(
                    Problem(
                        source,
                        row_number(position),
                        "exclude_experts",
                        f"unknown expert id{'s' if len(unknown) > 1 else ''} "
                        f"{', '.join(map(repr, unknown))}: not in the roster",
                    )
                )
    return problems
