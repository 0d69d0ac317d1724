"""``gscp-match report``: the round report from the command line, format by extension."""

from __future__ import annotations

import re

import pandas as pd

from gscp_match.cli import main
from gscp_match.tables._catalog import demo_paths


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
    last = capsys.readouterr().out.strip().splitlines()[-1]
    staffed = r"\d+ of 12 requests staffed(, \d+ partly, \d+ unstaffed)?"
    assert re.fullmatch(rf"{staffed}; the plan is optimal; report: {re.escape(str(xlsx))}", last)
    assert "objective" not in last and "milp" not in last


def test_report_unknown_extension_is_a_usage_error(tmp_path, capsys):
    assert main(["report", *_args(), "--out", str(tmp_path / "round.pdf")]) == 2
    assert ".xlsx" in capsys.readouterr().err
    assert not (tmp_path / "round.pdf").exists()


def test_demo_writes_the_report(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--embedder", "hashing", "--quiet", "--out", str(out)]) == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "DEMO-001" in page
    for name in ("requests.csv", "experts.csv", "evidence.csv"):  # the footer traces the inputs
        assert f"{name} (SHA-256 " in page
    assignment = pd.read_csv(out / "assignment.csv")
    requests = pd.read_csv(demo_paths()["requests"])
    staffed = sum(
        (assignment[(assignment["request_id"] == rid) & (assignment["role"] == "assigned")].shape[0] >= need)
        for rid, need in zip(requests["request_id"], requests["experts_needed"].fillna(1), strict=True)
    )
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith(f"{staffed} of {len(requests)} requests staffed")
    assert last.endswith(f"; report: {out / 'report.html'}")


def test_plan_outcome_in_plain_words():
    import dataclasses

    import gscp_match as gm

    demo = gm.load_demo()
    plan = gm.Matcher(embedder="hashing", cache=None).fit(demo.experts, evidence=demo.evidence).assign(demo.requests)
    n = len(demo.requests)
    short = plan.unstaffed
    partly = int((short["assigned"] > 0).sum())
    text = f"{n - len(short)} of {n} requests staffed"
    if len(short):
        text += f", {partly} partly, {len(short) - partly} unstaffed"
    assert plan.outcome() == text + "; the plan is optimal"
    stopped = dataclasses.replace(plan, result=dataclasses.replace(plan.result, status="time_limit", gap=0.005))
    assert stopped.outcome().endswith("the solver stopped at its time limit, within 0.5% of the best plan")
    greedy = dataclasses.replace(plan, result=dataclasses.replace(plan.result, status="greedy", method="greedy"))
    assert greedy.outcome().endswith("a quick (greedy) plan, not proven the best")
