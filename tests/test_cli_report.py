"""``gscp-match report``: the round report from the command line, format by extension."""

from __future__ import annotations

import pandas as pd

from gscp_match.catalog import demo_paths
from gscp_match.cli import main


def _args() -> list[str]:
    paths = demo_paths()
    return ["--requests", str(paths["requests"]), "--experts", str(paths["experts"]), "--evidence",
            str(paths["evidence"]), "--embedder", "hashing", "--cache", "none", "--quiet"]  # fmt: skip


def test_report_html_and_xlsx(tmp_path, capsys):
    html = tmp_path / "round.html"
    assert main(["report", *_args(), "--out", str(html)]) == 0
    page = html.read_text(encoding="utf-8")
    requests = pd.read_csv(demo_paths()["requests"])
    assert all(rid in page for rid in requests["request_id"])
    assert "<script" not in page.lower()
    xlsx = tmp_path / "round.xlsx"
    assert main(["report", *_args(), "--out", str(xlsx)]) == 0
    sheets = pd.ExcelFile(xlsx).sheet_names
    assert sheets[0] == "Summary"
    assert set(requests["request_id"]) <= set(sheets)
    assert "plan:" in capsys.readouterr().out


def test_report_unknown_extension_is_a_usage_error(tmp_path, capsys):
    assert main(["report", *_args(), "--out", str(tmp_path / "round.pdf")]) == 2
    assert ".xlsx" in capsys.readouterr().err
    assert not (tmp_path / "round.pdf").exists()


def test_demo_writes_the_report(tmp_path):
    out = tmp_path / "demo"
    assert main(["demo", "--embedder", "hashing", "--quiet", "--out", str(out)]) == 0
    assert "DEMO-001" in (out / "report.html").read_text(encoding="utf-8")
