"""The ``validate`` and ``generate`` commands, run in-process through ``gscp_match.cli.main``."""

from __future__ import annotations

from pathlib import Path

import pytest

from gscp_match.cli import main

EXPERTS_CSV = "expert_id,name,bio,languages\nE1,Kim,Bus reform,ko;en\nE2,Lee,Water utility,en\n"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_validate_good_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path / "experts.csv", EXPERTS_CSV)
    assert main(["validate", str(path), "--kind", "experts"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == "ok: 2 rows"
    assert err == ""


def test_validate_bad_file_one_line_per_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(
        tmp_path / "round.csv",
        "request_id,title,description,support_type,days,country\n"
        "R1,ITS,Traffic,JIT,31,Mongolia\n"
        "R2,Bus,Reform,OS,10,Atlantis\n"
        "R1,Dup,Dup,,,\n",
    )
    assert main(["validate", str(path), "--kind", "requests"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 3
    assert "round.csv row 2, column 'days'" in lines[0] and "31" in lines[0]
    assert "round.csv row 3, column 'country'" in lines[1] and "'Atlantis'" in lines[1]
    assert "round.csv row 4, column 'request_id'" in lines[2] and "'R1'" in lines[2]
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("experts.csv", b""),
        ("experts.xlsx", b"garbage"),
        ("experts.json", b"{}"),
        ("experts.csv", b"\xe9t\xe9\n"),
    ],
)
def test_validate_unreadable_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: bytes
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert main(["validate", str(path), "--kind", "experts"]) == 1
    _, err = capsys.readouterr()
    assert len(err.strip().splitlines()) == 1
    assert name in err and "Traceback" not in err


def test_validate_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "nope.csv"), "--kind", "experts"]) == 1
    _, err = capsys.readouterr()
    assert "nope.csv" in err and "Traceback" not in err


def test_validate_many_problems_capped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = "".join(f"E{i},n,b,0\n" for i in range(25))
    path = _write(tmp_path / "experts.csv", "expert_id,name,bio,max_assignments\n" + rows)
    assert main(["validate", str(path), "--kind", "experts"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 21
    assert lines[-1].endswith("... and 5 more problems")


def test_validate_evidence_against_roster(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    experts = _write(tmp_path / "experts.csv", EXPERTS_CSV)
    evidence = _write(tmp_path / "evidence.csv", "expert_id,text\nE1,Report\nE9,Paper\n")
    assert main(["validate", str(evidence), "--kind", "evidence"]) == 0
    capsys.readouterr()
    assert main(["validate", str(evidence), "--kind", "evidence", "--experts", str(experts)]) == 1
    err = capsys.readouterr().err
    assert "evidence.csv row 3, column 'expert_id'" in err and "'E9'" in err


def test_validate_request_exclusions_against_roster(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    experts = _write(tmp_path / "experts.csv", EXPERTS_CSV)
    requests = _write(tmp_path / "r.csv", "request_id,title,description,exclude_experts\nR1,t,d,E2;E404\n")
    assert main(["validate", str(requests), "--kind", "requests", "--experts", str(experts)]) == 1
    err = capsys.readouterr().err
    assert "r.csv row 2, column 'exclude_experts'" in err and "'E404'" in err and "'E2'" not in err


def test_validate_bad_roster_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    experts = _write(tmp_path / "experts.csv", "expert_id,name,bio\nE1,Kim,\n")
    evidence = _write(tmp_path / "evidence.csv", "expert_id,text\nE1,Report\n")
    assert main(["validate", str(evidence), "--kind", "evidence", "--experts", str(experts)]) == 1
    assert "experts.csv row 2, column 'bio'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [["validate", "x.csv"], ["validate", "x.csv", "--kind", "roster"], ["validate", "--kind", "experts"],
     ["frobnicate"], ["generate", "--experts", "ten", "--out", "x"]],
)  # fmt: skip
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage:" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["validate", "generate", "shortlist", "demo"])
def test_subcommand_help_shows_an_example(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert f"gscp-match {command}" in out
    assert "example:" in out
    assert "exit codes" in out


def test_generate_rejects_zero_sizes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("gscp_match.synthetic._generate")
    assert main(["generate", "--experts", "0", "--requests", "3", "--out", str(tmp_path / "g")]) == 2
    assert "--experts" in capsys.readouterr().err
    assert not (tmp_path / "g").exists() or list((tmp_path / "g").iterdir()) == []


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet", "json"])
def test_generate_then_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    pytest.importorskip("gscp_match.synthetic._generate")
    out = tmp_path / "synthetic"
    argv = [
        "generate",
        "--experts",
        "40",
        "--requests",
        "6",
        "--seed",
        "3",
        "--out",
        str(out),
        "--format",
        fmt,
    ]
    assert main(argv) == 0
    stdout = capsys.readouterr().out
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(f"{kind}.{fmt}" for kind in ("evidence", "experts", "requests"))
    assert stdout.count("wrote ") == 3
    experts = str(out / f"experts.{fmt}")
    assert main(["validate", experts, "--kind", "experts"]) == 0
    assert capsys.readouterr().out.strip() == "ok: 40 rows"
    for kind in ("evidence", "requests"):
        code = main(["validate", str(out / f"{kind}.{fmt}"), "--kind", kind, "--experts", experts])
        captured = capsys.readouterr()
        assert code == 0, captured.err
        assert captured.out.startswith("ok: ")
    assert main(["validate", str(out / f"requests.{fmt}"), "--kind", "requests"]) == 0
    assert capsys.readouterr().out.strip() == "ok: 6 rows"


def test_generate_is_deterministic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("gscp_match.synthetic._generate")
    for name in ("a", "b"):
        assert (
            main(
                [
                    "generate",
                    "--experts",
                    "15",
                    "--requests",
                    "4",
                    "--seed",
                    "9",
                    "--out",
                    str(tmp_path / name),
                ]
            )
            == 0
        )
    capsys.readouterr()
    for kind in ("experts", "evidence", "requests"):
        assert (tmp_path / "a" / f"{kind}.csv").read_bytes() == (tmp_path / "b" / f"{kind}.csv").read_bytes()


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"weights": {"semantik": 1}}', "unknown weight(s) semantik"),
        ('{"weights": {"semantic": -1}}', "must be a finite number >= 0"),
        ("not json", "bad_weights.json"),
        ("[1, 2]", "expected a JSON object"),
    ],
)
def test_bad_weights_file_is_one_line_and_exit_1(tmp_path, capsys, text, message):
    from gscp_match.tables._catalog import demo_paths

    weights = tmp_path / "bad_weights.json"
    weights.write_text(text, encoding="utf-8")
    paths = demo_paths()
    code = main(
        ["shortlist", "--requests", str(paths["requests"]), "--experts", str(paths["experts"]), "--embedder",
         "hashing", "--cache", "none", "--weights", str(weights), "--out", str(tmp_path / "out")]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1
    assert message in err and "bad_weights.json" in err
    assert "Traceback" not in err
