"""Malformed, hostile and odd input files (issue 14): each is read from a real file and either read right or
rejected with one clear line per problem (file, row, column, what was expected, what arrived), never silently
changed and never a traceback."""

from __future__ import annotations

import json
import math
import tracemalloc
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gscp_match import Matcher
from gscp_match.cli import main
from gscp_match.errors import InputError
from gscp_match.tables._io import read_raw, write_table
from gscp_match.tables._validate import check_references, read_table, validate_table

EXPERTS_HEADER = "expert_id,name,bio,languages,day_rate_usd,busy,max_assignments"


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def _error(path: Path, kind: str, **kwargs: object) -> InputError:
    with pytest.raises(InputError) as info:
        read_table(path, kind, **kwargs)
    return info.value


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Traceback" not in out
    return code, err.strip().splitlines()


def _no_pandas_wording(text: str) -> None:
    for phrase in ("C error", "No columns to parse", "Error tokenizing", "Unnamed", "line 0", "row 0"):
        assert phrase not in text, text


# ------------------------------------------------------------------------------------------------------------
# 1. Decimal commas and thousands separators


@pytest.mark.parametrize("value", ["650,50", "1.000,50", "1,5", "12,34,5"])
def test_decimal_comma_in_a_comma_csv_is_rejected_with_how_to_write_it(tmp_path: Path, value: str) -> None:
    path = _write(tmp_path / "experts.csv", f'{EXPERTS_HEADER}\nE1,Kim,Bus,en,"{value}",,1\n')
    error = _error(path, "experts")
    assert len(error.lines) == 1
    line = error.lines[0]
    assert line.startswith("experts.csv row 2, column 'day_rate_usd'") and repr(value) in line
    assert "decimal point" in line


def test_decimal_comma_was_read_as_a_bigger_number_before(tmp_path: Path) -> None:
    """The bug: '650,50' became 65050 and the expert vanished as over budget. Never a silent magnitude change."""
    path = _write(tmp_path / "requests.csv", 'request_id,title,description,budget_usd\nR1,T,D,"13000,50"\n')
    error = _error(path, "requests")
    assert "'13000,50'" in str(error) and "column 'budget_usd'" in str(error)


@pytest.mark.parametrize(("value", "expected"), [("1,000", 1000.0), ("1,000,000", 1e6), ("1,000.50", 1000.5)])
def test_thousands_separators_in_groups_of_three_are_read(tmp_path: Path, value: str, expected: float) -> None:
    path = _write(tmp_path / "experts.csv", f'{EXPERTS_HEADER}\nE1,Kim,Bus,en,"{value}",,1\n')
    assert read_table(path, "experts").loc[0, "day_rate_usd"] == expected


def test_semicolon_csv_with_decimal_commas_is_read(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "experts.csv",
        "expert_id;name;bio;languages;countries;day_rate_usd;max_assignments\n"
        "E1;Kim, Ara;Bus reform, Rabat;fr;Korea, Rep.;650,50;2\n"
        "E2;Lee;Water;en;MA;1.200,75;1\n"
        "E3;Park;Roads;en;MA;700;1\n",
    )
    table = read_table(path, "experts")
    assert table["day_rate_usd"].tolist() == [650.5, 1200.75, 700.0]
    assert table.loc[0, "name"] == "Kim, Ara" and table.loc[0, "bio"] == "Bus reform, Rabat"
    assert table.loc[0, "countries"] == ("KR",)
    assert table["max_assignments"].tolist() == [2, 1, 1]


@pytest.mark.parametrize("value", ["1.000", "1,000"])
def test_semicolon_csv_rejects_a_number_that_reads_both_ways(tmp_path: Path, value: str) -> None:
    path = _write(tmp_path / "experts.csv", f"expert_id;name;bio;day_rate_usd\nE1;Kim;Bus;{value}\n")
    error = _error(path, "experts")
    assert "ambiguous" in str(error) and "row 2, column 'day_rate_usd'" in str(error)


def test_number_text_reference_table() -> None:
    from gscp_match.tables._schema import number_text

    cases = {
        (".", "650"): "650",
        (".", "650.5"): "650.5",
        (".", "1,234,567.5"): "1234567.5",
        (",", "650,50"): "650.50",
        (",", "1 000,50"): "1000.50",
        (",", "1.000.000"): "1000000",
        (",", "650.50"): "650.50",
    }
    for (decimal, text), want in cases.items():
        assert number_text(text, decimal) == want


# ------------------------------------------------------------------------------------------------------------
# 2. Dates far from today


@pytest.mark.parametrize("date", ["9999-12-31", "1969-12-31", "1600-01-01", "2101-01-01", "1989-12-31"])
def test_window_dates_outside_1990_2100_are_rejected(tmp_path: Path, date: str) -> None:
    path = _write(
        tmp_path / "requests.csv",
        f"request_id,title,description,window_start,window_end\nR1,T,D,{min(date, '2027-01-01')},"
        f"{max(date, '2027-01-01')}\n",
    )
    error = _error(path, "requests")
    line = next(line for line in error.lines if repr(date) in line)
    assert line.startswith("requests.csv row 2, column 'window_")
    assert "1990-01-01" in line and "2100-12-31" in line


def test_busy_interval_outside_the_range_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path / "experts.csv", f"{EXPERTS_HEADER}\nE1,Kim,Bus,en,500,2027-01-04/9999-12-31,1\n")
    error = _error(path, "experts")
    assert "row 2, column 'busy'" in str(error) and "'9999-12-31'" in str(error) and "2100" in str(error)


def test_dates_are_kept_as_days_not_nanoseconds(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "requests.csv",
        "request_id,title,description,window_start,window_end\nR1,T,D,1990-01-01,2100-12-31\n",
    )
    table = read_table(path, "requests")
    assert str(table["window_end"].dtype) == "datetime64[s]"
    assert str(table.loc[0, "window_end"].date()) == "2100-12-31"
    assert str(table.loc[0, "window_start"].date()) == "1990-01-01"


# ------------------------------------------------------------------------------------------------------------
# 3. Rows with fewer or more fields than the header


def test_a_row_cut_short_is_rejected_not_padded(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "experts.csv",
        f"{EXPERTS_HEADER}\nE1,Kim,Bus,en,500,2027-01-04/2027-01-08,1\n\nE2,Lee,Water,en\n",
    )
    error = _error(path, "experts")
    assert len(error.lines) == 1
    assert error.lines[0].startswith("experts.csv row 4:")  # the blank line is row 3
    assert "4 fields" in error.lines[0] and "has 7" in error.lines[0]


def test_a_row_with_extra_fields_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path / "experts.csv", f"{EXPERTS_HEADER}\nE1,Kim,Bus,en,500,,1\nE2,Lee,Water, rivers,en,500,,1\n")
    error = _error(path, "experts")
    assert error.lines[0].startswith("experts.csv row 3:") and "8 fields" in error.lines[0]
    _no_pandas_wording(str(error))


def test_an_xlsx_value_right_of_the_header_is_rejected(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["expert_id", "name", "bio", None])
    sheet.append(["E1", "Kim", "Bus", None])
    sheet.append(["E2", "Lee", "Water", "stray"])
    book.save(tmp_path / "experts.xlsx")
    error = _error(tmp_path / "experts.xlsx", "experts")
    assert error.lines == [
        "experts.xlsx row 3: holds a value in column 4, right of the header's 3 named columns (row 1); "
        "name that column or remove the value"
    ]


def test_an_unclosed_quote_is_reported_at_its_row(tmp_path: Path) -> None:
    path = _write(tmp_path / "experts.csv", 'expert_id,name,bio\nE1,Kim,"Bus\nE2,Lee,Water\n')
    error = _error(path, "experts")
    assert "row 2" in str(error) and "quote" in str(error)


# ------------------------------------------------------------------------------------------------------------
# 4. Duplicate header columns, in every format


def test_duplicate_column_in_xlsx_is_rejected(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["expert_id", "name", "bio", "bio"])
    sheet.append(["E1", "Kim", "Bus reform", "Water"])
    book.save(tmp_path / "experts.xlsx")
    error = _error(tmp_path / "experts.xlsx", "experts")
    assert "column 'bio'" in str(error) and "more than once" in str(error)
    assert "bio.1" not in str(error)


def test_duplicate_column_in_csv_parquet_and_json_is_rejected(tmp_path: Path) -> None:
    _write(tmp_path / "experts.csv", "expert_id,name,bio,bio\nE1,Kim,Bus,Water\n")
    pq.write_table(
        pa.table(
            [pa.array(["E1"]), pa.array(["Kim"]), pa.array(["a"]), pa.array(["b"])],
            names=["expert_id", "name", "bio", "bio"],
        ),
        tmp_path / "experts.parquet",
    )
    _write(tmp_path / "experts.json", '[{"expert_id": "E1", "name": "Kim", "bio": "Bus", "bio": "Water"}]')
    for name in ("experts.csv", "experts.parquet", "experts.json"):
        error = _error(tmp_path / name, "experts")
        assert "'bio'" in str(error) and ("more than once" in str(error)), name
        assert str(error).startswith(name)


# ------------------------------------------------------------------------------------------------------------
# 5. Control characters in text cells

_DIRTY = {
    "name": "Kim\x1b[31m Ara\x1b[0m",
    "bio": "Bus reform\x0bmedian lanes\x0cfares\x00 and\x07 more\x85",
    "note": "extra\x1bcolumn\x02",
}


def _dirty_roster(tmp_path: Path) -> Path:
    rows = [
        {"expert_id": f"E{i}", "name": _DIRTY["name"] if i == 1 else f"Expert {i}", "bio": _DIRTY["bio"],
         "languages": "en;fr", "themes": "public_transport", "note": _DIRTY["note"]}
        for i in range(1, 6)
    ]  # fmt: skip
    return _write_json(tmp_path / "experts.json", rows)


def _write_json(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path


def test_control_characters_are_cleaned_once_at_validation(tmp_path: Path) -> None:
    table = read_table(_dirty_roster(tmp_path), "experts")
    assert table.loc[0, "name"] == "Kim Ara"
    assert table.loc[0, "bio"] == "Bus reform\nmedian lanes\nfares and more"
    assert table.loc[0, "note"] == "extracolumn"
    written = write_table(table, tmp_path / "x.xlsx")
    assert read_table(written, "experts").loc[0, "bio"] == table.loc[0, "bio"]


def test_write_table_xlsx_survives_control_characters_in_an_unvalidated_frame(tmp_path: Path) -> None:
    frame = pd.DataFrame({"expert_id": ["E1"], "name": ["a\x0bb\x1b[1m"], "bio": ["=cmd|x\x00"]})
    path = write_table(frame, tmp_path / "x.xlsx")
    cells = [c.value for c in openpyxl.load_workbook(path).active[2]]
    assert cells[1] == "a\nb" and cells[2] == "'=cmd|x"


def test_shortlist_xlsx_with_control_characters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    experts = _dirty_roster(tmp_path)
    requests = _write(
        tmp_path / "requests.csv",
        'request_id,title,description,languages\nR1,Bus\x0breform,"Median\x1b[31m lanes\x00",en\n',
    )
    code, err = _cli(
        ["shortlist", "--requests", str(requests), "--experts", str(experts), "--embedder", "hashing",
         "--cache", "none", "--format", "xlsx", "--top", "3", "--quiet", "--out", str(tmp_path / "out")],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    sheet = openpyxl.load_workbook(tmp_path / "out" / "expert_shortlist.xlsx").active
    cells = [str(v) for row in sheet.iter_rows(values_only=True) for v in row if v is not None]
    assert "Kim Ara" in cells
    assert not any(ch in text for text in cells for ch in "\x00\x0b\x0c\x1b")
    code, err = _cli(
        ["report", "--requests", str(requests), "--experts", str(experts), "--embedder", "hashing",
         "--cache", "none", "--quiet", "--out", str(tmp_path / "report.html")],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert "\x1b" not in (tmp_path / "report.html").read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------------------------
# 6. Integers too large, and every k capped at the roster


@pytest.mark.parametrize(
    ("kind", "header", "row", "column"),
    [
        ("experts", "expert_id,name,bio,max_assignments", "E1,Kim,Bus,1e30", "max_assignments"),
        ("experts", "expert_id,name,bio,max_assignments", "E1,Kim,Bus,99999999999999999999999", "max_assignments"),
        ("requests", "request_id,title,description,days", "R1,T,D,3000000000", "days"),
        ("requests", "request_id,title,description,experts_needed", "R1,T,D,2000000", "experts_needed"),
        ("experts", "expert_id,name,bio,day_rate_usd", "E1,Kim,Bus,1e39", "day_rate_usd"),
        ("requests", "request_id,title,description,budget_usd", "R1,T,D,1e300", "budget_usd"),
        ("evidence", "expert_id,text,year", "E1,T,1e30", "year"),
    ],
)
def test_integers_beyond_the_documented_maximum_are_one_clear_line(
    tmp_path: Path, kind: str, header: str, row: str, column: str
) -> None:
    path = _write(tmp_path / f"{kind}.csv", f"{header}\n{row}\n")
    error = _error(path, kind)
    assert len(error.lines) == 1 and error.lines[0].startswith(f"{kind}.csv row 2, column '{column}'")


def test_k_is_capped_at_the_roster_size(tmp_path: Path) -> None:
    """A k far above the roster (experts_needed = 2000000 on a 3-expert roster) allocates nothing per k."""
    experts = validate_table(
        pd.DataFrame({"expert_id": ["E1", "E2", "E3"], "name": ["a", "b", "c"], "bio": ["bus", "water", "roads"]}),
        "experts",
    )
    matcher = Matcher(embedder="hashing", cache=None, show_progress=False).fit(experts)
    requests = pd.DataFrame({"request_id": ["R1"], "title": ["Bus"], "description": ["bus reform"],
                             "experts_needed": ["100"]})  # fmt: skip
    huge = 3_000_000  # before the cap: top-k buffers of (1, 3,000,000), tens of MB; a 10**9 k ran out of memory
    tracemalloc.start()
    try:
        result = matcher.shortlist(requests, k=huge, k_cases=0)
        plan = matcher.assign(requests, top_m=huge, n_alternates=huge)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(result.experts) == 3
    assert set(plan.assignment["expert_id"]) == {"E1", "E2", "E3"}
    assert peak < 10 * 2**20, f"peak {peak / 2**20:.0f} MiB"


# ------------------------------------------------------------------------------------------------------------
# 7. Separators


def test_tab_separated_file_is_read(tmp_path: Path) -> None:
    path = _write(tmp_path / "experts.csv", "expert_id\tname\tbio\tday_rate_usd\nE1\tKim, Ara\tBus\t650.5\n")
    table = read_table(path, "experts")
    assert table.loc[0, "name"] == "Kim, Ara" and table.loc[0, "day_rate_usd"] == 650.5


def test_semicolon_csv_no_longer_says_required_column_missing(tmp_path: Path, capsys) -> None:
    path = _write(tmp_path / "requests.csv", "request_id;title;description;budget_usd\nR1;T;D;15000,50\n")
    code, err = _cli(["validate", str(path), "--kind", "requests"], capsys)
    assert code == 0, err


# ------------------------------------------------------------------------------------------------------------
# 8. Wrong kinds of file


def _xlsx_bytes(tmp_path: Path) -> bytes:
    book = openpyxl.Workbook()
    book.active.append(["expert_id", "name", "bio"])
    book.save(tmp_path / "real.xlsx")
    return (tmp_path / "real.xlsx").read_bytes()


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("experts.csv", "xlsx", "looks like an Excel workbook (xlsx), not CSV"),
        ("experts.json", "xlsx", "looks like an Excel workbook (xlsx), not JSON"),
        ("experts.csv", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old Excel workbook (.xls)"),
        ("experts.csv", b"PAR1\x00\x00\x15\x04", "Parquet file"),
        ("experts.csv", bytes(range(256)) * 4, "not a text file"),
        ("experts.csv", "expert_id,name,bio\nE1,Kim,Bus\n".encode("utf-16-le"), "UTF-16"),
        ("experts.csv", b"", "empty"),
        ("experts.csv", b"\n\n  \n", "blank lines"),
        ("experts.csv", b"expert_id,name,bio\nE1,Jos\xe9,Bus\n", "line 2"),
        ("experts.xlsx", b"expert_id,name,bio\nE1,Kim,Bus\n", "a CSV file named .xlsx"),
        ("experts.parquet", b"expert_id,name,bio\n", "not a Parquet file"),
        ("experts.json", b'[{"expert_id": ', "not valid JSON"),
    ],
)
def test_wrong_kind_of_file_says_what_it_looks_like(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: bytes | str, expected: str
) -> None:
    path = tmp_path / name
    path.write_bytes(_xlsx_bytes(tmp_path) if content == "xlsx" else content)
    code, err = _cli(["validate", str(path), "--kind", "experts"], capsys)
    assert code == 1 and len(err) == 1
    assert err[0].startswith(f"error: {name}") and expected in err[0], err[0]
    _no_pandas_wording(err[0])


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_bom_files_just_work(tmp_path: Path, encoding: str) -> None:
    path = _write(tmp_path / "experts.csv", "expert_id,name,bio\nE1,José,Bus\n", encoding=encoding)
    table = read_table(path, "experts")
    assert table.columns[0] == "expert_id" and table.loc[0, "name"] == "José"


# ------------------------------------------------------------------------------------------------------------
# 9. World Bank country names and language names

WB_NAMES = {
    "Korea, Rep.": "KR", "Iran, Islamic Rep.": "IR", "Venezuela, RB": "VE", "Bahamas, The": "BS", "St. Lucia": "LC",
    "Egypt, Arab Rep.": "EG", "Congo, Dem. Rep.": "CD", "Yemen, Rep.": "YE", "Gambia, The": "GM", "Lao PDR": "LA",
    "Kyrgyz Republic": "KG", "Slovak Republic": "SK", "Micronesia, Fed. Sts.": "FM", "Turkiye": "TR",
    "Cote d'Ivoire": "CI", "Russian Federation": "RU", "Syrian Arab Republic": "SY", "Hong Kong SAR, China": "HK",
    "West Bank and Gaza": "PS", "Kosovo": "XK", "St. Kitts and Nevis": "KN", "St. Vincent and the Grenadines": "VC",
    "Sao Tome and Principe": "ST", "Viet Nam": "VN",
}  # fmt: skip


def test_world_bank_country_names_are_accepted(tmp_path: Path) -> None:
    rows = "".join(f'R{i},T,D,"{name}"\n' for i, name in enumerate(WB_NAMES))
    path = _write(tmp_path / "requests.csv", "request_id,title,description,country\n" + rows)
    assert read_table(path, "requests")["country"].tolist() == list(WB_NAMES.values())


def test_world_bank_names_inside_a_list_cell_stay_one_item(tmp_path: Path) -> None:
    path = _write(tmp_path / "experts.csv", 'expert_id,name,bio,countries\nE1,Kim,Bus,"Korea, Rep.;Bahamas, The;MN"\n')
    assert read_table(path, "experts").loc[0, "countries"] == ("KR", "BS", "MN")


def test_language_names_are_accepted_in_every_language_column(tmp_path: Path) -> None:
    experts = _write(tmp_path / "experts.csv", 'expert_id,name,bio,languages\nE1,Kim,Bus,"English;français;Korean"\n')
    requests = _write(tmp_path / "requests.csv", 'request_id,title,description,languages\nR1,T,D,"Español;Arabic;en"\n')
    assert read_table(experts, "experts").loc[0, "languages"] == ("en", "fr", "ko")
    assert read_table(requests, "requests").loc[0, "languages"] == ("es", "ar", "en")


# ------------------------------------------------------------------------------------------------------------
# 10. Unknown ids: the file's row numbers, in the same pass as the other problems


def test_unknown_ids_use_the_file_rows_when_the_file_has_blank_lines(tmp_path: Path) -> None:
    roster = read_table(_write(tmp_path / "experts.csv", "expert_id,name,bio\nE1,Kim,Bus\n"), "experts")
    evidence = _write(tmp_path / "evidence.csv", "expert_id,text\n\n\nE1,ok\n\nE9,who\n")
    requests = _write(tmp_path / "requests.csv", "request_id,title,description,exclude_experts\n\nR1,T,D,E7\n")
    with pytest.raises(InputError) as info:
        check_references(experts=roster, evidence=read_table(evidence, "evidence"),
                         requests=read_table(requests, "requests"))  # fmt: skip
    assert info.value.lines == [
        "evidence.csv row 6, column 'expert_id': unknown expert id 'E9': not in the roster",
        "requests.csv row 3, column 'exclude_experts': unknown expert id 'E7': not in the roster",
    ]


def test_one_validate_run_lists_cell_and_reference_problems(tmp_path: Path, capsys) -> None:
    experts = _write(tmp_path / "experts.csv", "expert_id,name,bio\nE1,Kim,Bus\n")
    requests = _write(
        tmp_path / "requests.csv",
        "request_id,title,description,days,exclude_experts\n\nR1,T,D,0,E7\nR2,T,D,5,E1\n",
    )
    code, err = _cli(["validate", str(requests), "--kind", "requests", "--experts", str(experts)], capsys)
    assert code == 1
    assert err == [
        "error: requests.csv row 3, column 'days': '0' is out of range; expected a whole number from 1 to 260",
        "error: requests.csv row 3, column 'exclude_experts': unknown expert id 'E7': not in the roster",
    ]


def test_validate_lists_roster_and_table_problems_together(tmp_path: Path, capsys) -> None:
    experts = _write(tmp_path / "experts.csv", "expert_id,name,bio,max_assignments\nE1,Kim,Bus,0\n")
    evidence = _write(tmp_path / "evidence.csv", "expert_id,text,year\nE1,ok,1e30\n")
    code, err = _cli(["validate", str(evidence), "--kind", "evidence", "--experts", str(experts)], capsys)
    assert code == 1 and len(err) == 2
    assert err[0].startswith("error: experts.csv row 2, column 'max_assignments'")
    assert err[1].startswith("error: evidence.csv row 2, column 'year'")


# ------------------------------------------------------------------------------------------------------------
# Round trips stay exact


def test_xlsx_header_and_cells_read_as_written(tmp_path: Path) -> None:
    frame = validate_table(
        pd.DataFrame({"expert_id": ["E1", "E2"], "name": ["=1+1", "Kim"], "bio": ["a\r\nb", "c"],
                      "day_rate_usd": [650.5, math.nan]}),
        "experts",
    )  # fmt: skip
    back = read_table(write_table(frame, tmp_path / "x.xlsx"), "experts")
    pd.testing.assert_frame_equal(back, frame)


def test_raw_rows_keep_their_numbers(tmp_path: Path) -> None:
    raw = read_raw(_write(tmp_path / "experts.csv", "\nexpert_id,name,bio\n\nE1,Kim,Bus\n,,\nE2,Lee,W\n"))
    assert np.asarray(raw.row_numbers).tolist() == [4, 6]
