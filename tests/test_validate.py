"""Validation of the data contract: each problem in a real file is reported with file, row, column, value."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from gscp_match.errors import MAX_REPORTED_PROBLEMS, InputError
from gscp_match.tables._validate import check_references, read_table, validate_table

# One valid row per kind; tests override cells to make one row bad.
GOOD: dict[str, dict[str, str]] = {
    "experts": {"expert_id": "E{i}", "name": "Kim Min-jun", "bio": "Bus reform in Seoul."},
    "evidence": {"expert_id": "E{i}", "text": "Designed a BRT corridor."},
    "cases": {"case_id": "C{i}", "title": "Seoul bus reform", "summary": "Trunk and feeder network, 2004."},
    "requests": {
        "request_id": "R{i}",
        "title": "ITS for Ulaanbaatar",
        "description": "Traffic control centre.",
    },
}


def _rows(kind: str, n: int = 3, *, bad: dict[str, str] | None = None, bad_at: int = 2) -> list[dict[str, str]]:
    rows = [{k: v.format(i=i + 1) for k, v in GOOD[kind].items()} for i in range(n)]
    if bad is not None:
        rows[bad_at].update(bad)
    return rows


def _columns(rows: list[dict[str, str]]) -> list[str]:
    return list(dict.fromkeys(k for r in rows for k in r))


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    columns = _columns(rows)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[dict[str, str]]) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    columns = _columns(rows)
    sheet.append(columns)
    for row in rows:
        sheet.append([row.get(c, "") for c in columns])
    workbook.save(path)
    return path


def write_json(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path


def write_parquet(path: Path, rows: list[dict[str, str]]) -> Path:
    columns = _columns(rows)
    pd.DataFrame([[r.get(c, "") for c in columns] for r in rows], columns=columns).to_parquet(path)
    return path


def _error(path: Path, kind: str) -> InputError:
    with pytest.raises(InputError) as info:
        read_table(path, kind)
    return info.value


def _line(error: InputError, prefix: str) -> str:
    """The one line of the message that starts with ``prefix`` (file, row and column)."""
    matching = [line for line in error.lines if line.startswith(prefix)]
    assert len(matching) == 1, f"expected one line starting {prefix!r} in:\n{error}"
    return matching[0]


# ------------------------------------------------------------------------------------------------------------
# One case per cell/row problem: (kind, bad cells, column reported, substrings of the message).

CELL_CASES = [
    pytest.param("experts", {"name": ""}, "name", ["required value is empty"], id="empty-required"),
    pytest.param("experts", {"name": "   "}, "name", ["required value is empty"], id="blank-required"),
    pytest.param(
        "experts",
        {"busy": "2025-13-01/2025-02-01"},
        "busy",
        ["'2025-13-01/2025-02-01'", "interval"],
        id="bad-interval",
    ),
    pytest.param(
        "experts",
        {"busy": "2025-03-01/2025-02-01"},
        "busy",
        ["'2025-03-01/2025-02-01'", "ends before"],
        id="interval-end-before-start",
    ),
    pytest.param(
        "experts",
        {"busy": "2025-03-01"},
        "busy",
        ["'2025-03-01'", "YYYY-MM-DD/YYYY-MM-DD"],
        id="interval-one-date",
    ),
    pytest.param(
        "requests",
        {"window_start": "2027-02-30", "window_end": "2027-03-31"},
        "window_start",
        ["'2027-02-30'", "YYYY-MM-DD"],
        id="bad-date-day",
    ),
    pytest.param(
        "requests",
        {"window_start": "01/03/2027", "window_end": "2027-03-31"},
        "window_start",
        ["'01/03/2027'", "YYYY-MM-DD"],
        id="bad-date-format",
    ),
    pytest.param(
        "requests",
        {"window_start": "2027-03-10", "window_end": "2027-03-01"},
        "window_end",
        ["2027-03-01", "2027-03-10", "before"],
        id="window-end-before-start",
    ),
    pytest.param("requests", {"window_start": "2027-03-10"}, "window_end", ["both"], id="only-window-start"),
    pytest.param("requests", {"window_end": "2027-03-10"}, "window_start", ["both"], id="only-window-end"),
    pytest.param(
        "experts",
        {"themes": "mobility;smart_parking"},
        "themes",
        ["'smart_parking'", "allowed:", "public_transport", "capacity_building"],
        id="unknown-theme",
    ),
    pytest.param(
        "requests",
        {"themes": "Mobility;Teleportation"},
        "themes",
        ["'Teleportation'", "allowed:"],
        id="unknown-theme-requests",
    ),
    pytest.param("experts", {"regions": "EAP;EUR"}, "regions", ["'EUR'", "AFR", "SAR"], id="unknown-region"),
    pytest.param("requests", {"region": "Asia"}, "region", ["'Asia'", "EAP"], id="unknown-region-requests"),
    pytest.param("experts", {"languages": "en;xx"}, "languages", ["'xx'", "ISO 639-1"], id="unknown-language"),
    pytest.param(
        "experts", {"languages": "Klingon"}, "languages", ["'Klingon'", "language name"], id="unknown-language-name"
    ),
    pytest.param(
        "requests",
        {"country": "Atlantis"},
        "country",
        ["'Atlantis'", "country"],
        id="unknown-country-requests",
    ),
    pytest.param("experts", {"nationality": "Narnia"}, "nationality", ["'Narnia'"], id="unknown-nationality"),
    pytest.param("experts", {"countries": "MN;ZZ"}, "countries", ["'ZZ'"], id="unknown-country-code-in-list"),
    pytest.param(
        "requests", {"support_type": "JIT", "days": "31"}, "days", ["31", "JIT", "30"], id="days-over-jit-cap"
    ),
    pytest.param("requests", {"support_type": "OS", "days": "61"}, "days", ["61", "OS", "60"], id="days-over-os-cap"),
    pytest.param(
        "requests",
        {"days": "6", "window_start": "2027-03-01", "window_end": "2027-03-07"},
        "days",
        ["6 working days", "2027-03-01", "2027-03-07", "(5 working days)"],
        id="days-exceed-window",
    ),
    pytest.param("requests", {"days": "0"}, "days", ["'0'", "from 1 to 260"], id="days-zero"),
    pytest.param("requests", {"days": "2.5"}, "days", ["'2.5'", "whole number"], id="days-fraction"),
    pytest.param(
        "requests",
        {"support_type": "Long"},
        "support_type",
        ["'Long'", "JIT", "OS"],
        id="unknown-support-type",
    ),
    pytest.param(
        "requests",
        {"korean_experience": "maybe"},
        "korean_experience",
        ["'maybe'", "boolean"],
        id="bad-boolean",
    ),
    pytest.param("requests", {"budget_usd": "-5"}, "budget_usd", ["'-5'", "negative"], id="negative-budget"),
    pytest.param(
        "experts",
        {"day_rate_usd": "about 500"},
        "day_rate_usd",
        ["'about 500'", "not a number"],
        id="non-numeric-rate",
    ),
    pytest.param("experts", {"day_rate_usd": "-100"}, "day_rate_usd", ["'-100'", "negative"], id="negative-rate"),
    pytest.param("experts", {"day_rate_usd": "inf"}, "day_rate_usd", ["'inf'", "finite"], id="infinite-rate"),
    pytest.param(
        "experts", {"max_assignments": "0"}, "max_assignments", ["'0'", "from 1 to 1,000"], id="max-assignments-0"
    ),
    pytest.param("experts", {"kind": "company"}, "kind", ["'company'", "individual", "firm"], id="unknown-kind"),
    pytest.param("experts", {"korean_experience": "si"}, "korean_experience", ["'si'"], id="bad-boolean-experts"),
    pytest.param("evidence", {"year": "last year"}, "year", ["'last year'"], id="evidence-bad-year"),
    pytest.param("evidence", {"year": "1066"}, "year", ["'1066'"], id="evidence-implausible-year"),
    pytest.param(
        "cases",
        {"year_start": "2010", "year_end": "2004"},
        "year_end",
        ["2004", "2010"],
        id="case-end-before-start",
    ),
    pytest.param("cases", {"country": "Atlantis"}, "country", ["'Atlantis'"], id="case-unknown-country"),
]


@pytest.mark.parametrize(("kind", "bad", "column", "expected"), CELL_CASES)
def test_cell_problem_in_csv_names_file_row_column_and_value(
    tmp_path: Path, kind: str, bad: dict[str, str], column: str, expected: list[str]
) -> None:
    path = write_csv(tmp_path / f"my_{kind}.csv", _rows(kind, bad=bad))
    error = _error(path, kind)
    # The bad row is the third data row: CSV row 4 (the header is row 1).
    prefix = f"my_{kind}.csv row 4, column {column!r}: "
    lines = [line for line in error.lines if line.startswith(prefix)]
    assert any(all(text in line for text in expected) for line in lines), str(error)
    # Nothing is reported about the good rows.
    assert all(" row 4, " in line for line in error.lines), str(error)


@pytest.mark.parametrize(
    ("writer", "suffix", "row"),
    [
        (write_csv, ".csv", 4),
        (write_xlsx, ".xlsx", 4),
        (write_json, ".json", 3),
        (write_parquet, ".parquet", 3),
    ],
)
def test_row_numbers_per_format(tmp_path: Path, writer, suffix: str, row: int) -> None:
    rows = _rows("experts", n=4, bad={"busy": "2025-13-01/2025-02-01"})
    rows[3]["day_rate_usd"] = "cheap"
    for r in rows[:3]:
        r.setdefault("day_rate_usd", "100")
    path = writer(tmp_path / f"roster{suffix}", rows)
    error = _error(path, "experts")
    assert "'2025-13-01/2025-02-01'" in _line(error, f"roster{suffix} row {row}, column 'busy': ")
    assert "'cheap'" in _line(error, f"roster{suffix} row {row + 1}, column 'day_rate_usd': ")


def test_duplicate_id_names_both_rows(tmp_path: Path) -> None:
    rows = _rows("experts", n=4)
    rows[3]["expert_id"] = "E2"
    error = _error(write_csv(tmp_path / "experts.csv", rows), "experts")
    line = _line(error, "experts.csv row 5, column 'expert_id': ")
    assert "'E2'" in line and "duplicate" in line and "row 3" in line


def test_duplicate_id_in_requests_json(tmp_path: Path) -> None:
    rows = _rows("requests", n=3)
    rows[2]["request_id"] = "R1"
    error = _error(write_json(tmp_path / "round.json", rows), "requests")
    assert "'R1'" in _line(error, "round.json row 3, column 'request_id': ")


def test_missing_required_column_names_file_and_column(tmp_path: Path) -> None:
    rows = [{"expert_id": "E1", "name": "Kim", "biography": "x"}]
    error = _error(write_csv(tmp_path / "experts.csv", rows), "experts")
    line = _line(error, "experts.csv column 'bio': ")
    assert "missing" in line and "'biography'" in line  # says what was found instead


def test_all_problems_of_a_file_are_reported_together(tmp_path: Path) -> None:
    rows = _rows("experts", n=3)
    rows[0]["languages"] = "xx"
    rows[1]["day_rate_usd"] = "-1"
    rows[2]["max_assignments"] = "0"
    error = _error(write_csv(tmp_path / "experts.csv", rows), "experts")
    assert len(error.problems) == 3
    assert error.lines[0].startswith("experts.csv row 2, column 'languages'")
    assert error.lines[1].startswith("experts.csv row 3, column 'day_rate_usd'")
    assert error.lines[2].startswith("experts.csv row 4, column 'max_assignments'")


def test_repeated_bad_value_is_reported_on_every_row(tmp_path: Path) -> None:
    rows = _rows("experts", n=3)
    for r in rows:
        r["languages"] = "en;xx"
    error = _error(write_csv(tmp_path / "experts.csv", rows), "experts")
    for row in (2, 3, 4):
        assert "'xx'" in _line(error, f"experts.csv row {row}, column 'languages': ")


def test_many_problems_are_capped_with_a_count(tmp_path: Path) -> None:
    rows = _rows("experts", n=35)
    for r in rows:
        r["max_assignments"] = "0"
    error = _error(write_csv(tmp_path / "experts.csv", rows), "experts")
    assert len(error.problems) == 35
    assert len(error.lines) == MAX_REPORTED_PROBLEMS + 1
    assert error.lines[-1] == f"... and {35 - MAX_REPORTED_PROBLEMS} more problems"
    assert error.lines[0].startswith("experts.csv row 2, column 'max_assignments'")


# ------------------------------------------------------------------------------------------------------------
# References between tables.


def test_unknown_expert_in_evidence(tmp_path: Path) -> None:
    roster = read_table(write_csv(tmp_path / "experts.csv", _rows("experts", n=2)), "experts")
    rows = _rows("evidence", n=3)
    rows[2]["expert_id"] = "E99"
    evidence = read_table(write_csv(tmp_path / "evidence.csv", rows), "evidence")
    with pytest.raises(InputError) as info:
        check_references(experts=roster, evidence=evidence)
    # E3 (row 4) is also unknown: the roster only has E1 and E2.
    assert "'E99'" in _line(info.value, "evidence.csv row 4, column 'expert_id': ")
    assert len(info.value.problems) == 1


def test_unknown_expert_in_request_exclusions(tmp_path: Path) -> None:
    roster = read_table(write_csv(tmp_path / "experts.csv", _rows("experts", n=2)), "experts")
    rows = _rows("requests", n=2)
    rows[0]["exclude_experts"] = "E1"
    rows[1]["exclude_experts"] = "E2; E77 ;E78"
    requests = read_table(write_json(tmp_path / "round.json", rows), "requests")
    with pytest.raises(InputError) as info:
        check_references(experts=roster, requests=requests)
    line = _line(info.value, "round.json row 2, column 'exclude_experts': ")
    assert "'E77'" in line and "'E78'" in line and "'E2'" not in line
    assert len(info.value.problems) == 1


def test_known_references_pass(tmp_path: Path) -> None:
    roster = read_table(write_csv(tmp_path / "experts.csv", _rows("experts", n=3)), "experts")
    evidence = read_table(write_csv(tmp_path / "evidence.csv", _rows("evidence", n=3)), "evidence")
    check_references(experts=roster, evidence=evidence)


# ------------------------------------------------------------------------------------------------------------
# Whole-file problems.


def test_non_utf8_csv(tmp_path: Path) -> None:
    path = tmp_path / "experts.csv"
    path.write_bytes("expert_id,name,bio\nE1,José Müller,Planner\n".encode("latin-1"))
    error = _error(path, "experts")
    assert str(error).startswith("experts.csv")
    assert "UTF-8" in str(error)


def test_utf8_bom_csv_is_read(tmp_path: Path) -> None:
    path = tmp_path / "experts.csv"
    path.write_bytes("expert_id,name,bio\nE1,José,Planner\n".encode("utf-8-sig"))
    table = read_table(path, "experts")
    assert table.loc[0, "expert_id"] == "E1" and table.loc[0, "name"] == "José"


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("experts.xlsx", b"this is not a zip file at all", "is not an Excel workbook (xlsx): it looks like text"),
        ("experts.parquet", b"PAR1 garbage garbage", "cannot be read as Parquet"),
        ("experts.json", b'[{"expert_id": "E1", ', "is not valid JSON"),
        ("experts.json", b'{"expert_id": ["E1"], "name": ["K"], "bio": ["b"]}', "got an object"),
        ("experts.json", b'["E1", "E2"]', "list of records"),
        ("experts.csv", b"", "empty"),
        ("experts.xlsx", b"", "empty"),
        ("experts.csv", b"expert_id,name,bio\n", "no data rows"),
        ("experts.json", b"[]", "experts.json"),
    ],
)
def test_unreadable_files(tmp_path: Path, name: str, content: bytes, expected: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    error = _error(path, "experts")
    assert str(error).startswith(name)
    assert expected in str(error)
    assert error.__cause__ is None or isinstance(error.__cause__, InputError)


def test_header_only_xlsx(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    workbook.active.append(["expert_id", "name", "bio"])
    workbook.save(tmp_path / "experts.xlsx")
    assert "no data rows" in str(_error(tmp_path / "experts.xlsx", "experts"))


def test_unknown_extension(tmp_path: Path) -> None:
    path = tmp_path / "experts.txt"
    path.write_text("expert_id,name,bio\nE1,K,b\n")
    error = _error(path, "experts")
    assert "experts.txt" in str(error) and "'.txt'" in str(error) and ".csv" in str(error)


def test_missing_file(tmp_path: Path) -> None:
    assert "not found" in str(_error(tmp_path / "nope.csv", "experts"))


def test_unknown_kind_is_a_value_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "experts.csv", _rows("experts"))
    with pytest.raises(ValueError, match="roster"):
        read_table(path, "roster")


def test_input_error_is_a_value_error(tmp_path: Path) -> None:
    assert issubclass(InputError, ValueError)
    path = write_csv(tmp_path / "experts.csv", _rows("experts", bad={"name": ""}))
    with pytest.raises(ValueError, match=r"experts\.csv row 4, column 'name'"):
        read_table(path, "experts")


# ------------------------------------------------------------------------------------------------------------
# What valid files turn into.


def test_extra_columns_are_kept_after_contract_columns(tmp_path: Path) -> None:
    rows = _rows("experts", n=2)
    rows[0].update({"internal_note": "ask HR", "Rank": "3"})
    table = read_table(write_csv(tmp_path / "experts.csv", rows), "experts")
    assert list(table.columns[-2:]) == ["internal_note", "Rank"]
    assert table["internal_note"].tolist() == ["ask HR", ""]
    assert table["Rank"].tolist() == ["3", ""]


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("Morocco", "MA"),
        ("South Korea", "KR"),
        ("korea, republic of", "KR"),
        ("mn", "MN"),
        ("Viet Nam", "VN"),
        ("Côte d'Ivoire", "CI"),
        ("", ""),
    ],
)
def test_country_names_are_normalized(tmp_path: Path, written: str, code: str) -> None:
    experts = read_table(write_csv(tmp_path / "e.csv", _rows("experts", bad={"nationality": written})), "experts")
    requests = read_table(write_csv(tmp_path / "r.csv", _rows("requests", bad={"country": written})), "requests")
    assert experts["nationality"].iloc[2] == code
    assert requests["country"].iloc[2] == code


def test_country_list_is_normalized(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "e.csv", _rows("experts", n=1, bad={"countries": "Morocco; ma ;Mongolia"}, bad_at=0))
    assert read_table(path, "experts")["countries"].iloc[0] == ("MA", "MN")


def test_korean_experience_defaults_from_nationality(tmp_path: Path) -> None:
    rows = _rows("experts", n=4)
    rows[0]["nationality"] = "KR"
    rows[1]["nationality"] = "Mongolia"
    rows[2]["nationality"] = "South Korea"
    rows[2]["korean_experience"] = "no"  # an explicit value wins
    rows[3]["korean_experience"] = "yes"
    table = read_table(write_csv(tmp_path / "experts.csv", rows), "experts")
    assert table["korean_experience"].tolist() == [True, False, False, True]
    assert table["korean_experience"].dtype == bool


def test_region_is_derived_from_country_when_empty(tmp_path: Path) -> None:
    rows = _rows("requests", n=4)
    rows[0]["country"] = "Morocco"
    rows[1]["country"] = "MN"
    rows[2].update(country="Kenya", region="EAP")  # a given region is kept as written
    table = read_table(write_csv(tmp_path / "requests.csv", rows), "requests")
    assert table["region"].tolist() == ["MNA", "EAP", "EAP", ""]
    assert table["country"].tolist() == ["MA", "MN", "KE", ""]


def test_list_cells_strip_and_deduplicate(tmp_path: Path) -> None:
    rows = _rows("experts", n=2)
    rows[0].update(
        languages=" en ; EN ;fr;; ko",
        themes="Public Transport; public_transport;mobility",
        conflicts=" City of X ;;City of X",
    )
    table = read_table(write_csv(tmp_path / "experts.csv", rows), "experts")
    assert table["languages"].tolist() == [("en", "fr", "ko"), ()]
    assert table["themes"].iloc[0] == ("public_transport", "mobility")
    assert table["conflicts"].iloc[0] == ("City of X",)


def test_json_list_cells_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "experts.json"
    path.write_text(
        json.dumps(
            [
                {
                    "expert_id": 7,
                    "name": "K",
                    "bio": "b",
                    "languages": ["en", "ko", "en"],
                    "day_rate_usd": 450,
                    "korean_experience": True,
                }
            ]
        )
    )
    table = read_table(path, "experts")
    assert table.loc[0, "expert_id"] == "7"
    assert table.loc[0, "languages"] == ("en", "ko")
    assert table.loc[0, "day_rate_usd"] == 450.0
    assert bool(table.loc[0, "korean_experience"]) is True


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("TRUE", True),
        ("yes", True),
        ("Y", True),
        ("1", True),
        ("false", False),
        ("No", False),
        ("0", False),
        ("n", False),
    ],
)
def test_booleans(tmp_path: Path, text: str, value: bool) -> None:
    path = write_csv(tmp_path / "r.csv", _rows("requests", n=1, bad={"korean_experience": text}, bad_at=0))
    assert read_table(path, "requests")["korean_experience"].tolist() == [value]


def test_typed_columns(tmp_path: Path) -> None:
    rows = _rows("requests", n=2)
    rows[0].update(
        days="10", window_start="2027-03-01", window_end="2027-03-31", budget_usd="25,000", support_type="jit"
    )
    table = read_table(write_csv(tmp_path / "r.csv", rows), "requests")
    assert table["days"].dtype == "Int64" and table["days"].iloc[0] == 10 and table["days"].iloc[1] is pd.NA
    assert table["window_start"].iloc[0] == pd.Timestamp("2027-03-01")
    assert pd.isna(table["window_end"].iloc[1])
    assert table["budget_usd"].iloc[0] == 25000.0 and math.isnan(table["budget_usd"].iloc[1])
    assert table["support_type"].tolist() == ["JIT", ""]
    assert table["experts_needed"].tolist() == [1, 1]
    assert np.issubdtype(table["window_start"].dtype, np.datetime64)


def test_validate_table_accepts_a_dataframe() -> None:
    frame = pd.DataFrame({"expert_id": ["E1", "E1"], "name": ["a", "b"], "bio": ["x", "y"]})
    with pytest.raises(InputError, match="row 2, column 'expert_id'"):
        validate_table(frame, "experts")


# ------------------------------------------------------------------------------------------------------------
# Findings: library behaviour that breaks the contract (xfail until fixed).


def test_bad_window_date_is_reported_once(tmp_path: Path) -> None:
    bad = {"window_start": "2027-02-30", "window_end": "2027-03-31"}
    error = _error(write_csv(tmp_path / "r.csv", _rows("requests", bad=bad)), "requests")
    assert len(error.problems) == 1, str(error)


def test_xlsx_namibia_is_not_missing(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "round.xlsx", _rows("requests", n=1, bad={"country": "NA"}, bad_at=0))
    table = read_table(path, "requests")
    assert table["country"].tolist() == ["NA"]
    assert table["region"].tolist() == ["AFR"]


def test_xlsx_row_numbers_after_a_blank_row(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["expert_id", "name", "bio", "max_assignments"])
    sheet.append(["E1", "Kim", "bio", 1])
    sheet.append([None, None, None, None])
    sheet.append(["E2", "Lee", "bio", 0])  # Excel row 4
    workbook.save(tmp_path / "experts.xlsx")
    error = _error(tmp_path / "experts.xlsx", "experts")
    _line(error, "experts.xlsx row 4, column 'max_assignments': ")


def test_csv_row_numbers_after_a_blank_line(tmp_path: Path) -> None:
    path = tmp_path / "experts.csv"
    path.write_text("expert_id,name,bio,max_assignments\nE1,Kim,bio,1\n\nE2,Lee,bio,0\n", encoding="utf-8")
    error = _error(path, "experts")
    _line(error, "experts.csv row 4, column 'max_assignments': ")
