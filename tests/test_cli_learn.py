"""``gscp-match evaluate`` and ``gscp-match learn-weights`` end to end on a simulated history (hashing embedder)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import gscp_match as gm
from gscp_match.cli import main
from gscp_match.core._scoring import COMPONENTS, Weights
from gscp_match.evaluate._simulate import simulate_history
from gscp_match.tables._weights import read_weights


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    hidden = Weights(semantic=0.5, lexical=0.1, themes=0.3, geography=0.1)
    sim = simulate_history(hidden, rounds=3, experts=120, requests_per_round=15, noise=0.01, seed=5)
    folder = tmp_path_factory.mktemp("history")
    paths = {}
    for name in ("experts", "evidence", "requests", "history"):
        paths[name] = folder / f"{name}.csv"
        gm.write_table(getattr(sim, name), paths[name])
    return paths, sim


def test_learn_weights_writes_usable_weights_and_reports_rounds(files, tmp_path, capsys):
    paths, sim = files
    out = tmp_path / "learned.json"
    per_round = tmp_path / "per_round.csv"
    code = main(
        ["learn-weights", "--history", str(paths["history"]), "--requests", str(paths["requests"]),
         "--experts", str(paths["experts"]), "--evidence", str(paths["evidence"]), "--embedder", "hashing",
         "--cache", "none", "--quiet", "--out", str(out), "--per-round", str(per_round)]
    )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "held-out rounds" in printed
    learned = read_weights(out)  # the file is a valid weights file
    values = np.array([getattr(learned, c) for c in COMPONENTS])
    hidden = np.array([getattr(sim.hidden_weights, c) for c in COMPONENTS])
    # Direction of the hidden weighting recovered (the tight tolerance lives in test_learn.py).
    cosine = values @ hidden / np.linalg.norm(values) / np.linalg.norm(hidden)
    assert cosine > 0.9
    assert set(pd.read_csv(per_round)["round"]) >= {"H1", "H2", "H3"}
    # The learned weights are usable by the matcher.
    gm.Matcher("hashing", weights=out, cache=None)


def test_evaluate_scores_a_shortlist_against_the_history(files, tmp_path, capsys):
    paths, _ = files
    shortlist_dir = tmp_path / "shortlist"
    assert main(
        ["shortlist", "--requests", str(paths["requests"]), "--experts", str(paths["experts"]), "--embedder",
         "hashing", "--cache", "none", "--quiet", "--top", "10", "--top-cases", "0", "--out", str(shortlist_dir)]
    ) == 0  # fmt: skip
    capsys.readouterr()
    per_request = tmp_path / "per_request.csv"
    code = main(
        ["evaluate", "--rankings", str(shortlist_dir / "expert_shortlist.csv"), "--judgments",
         str(paths["history"]), "--k", "1,5", "--out", str(per_request)]
    )  # fmt: skip
    assert code == 0
    lines = dict(line.split("\t") for line in capsys.readouterr().out.splitlines() if "\t" in line)
    assert 0.0 <= float(lines["ndcg@5"]) <= 1.0
    table = pd.read_csv(per_request)
    assert {"request_id", "ndcg@5", "hit@1"} <= set(table.columns)


def test_bad_history_and_bad_options_exit_with_one_line(files, tmp_path, capsys):
    paths, _ = files
    bad = tmp_path / "history.csv"
    bad.write_text("round,request_id,expert_id,selected\nH1,H1-001,SX0001,yes\n", encoding="utf-8")
    args = ["learn-weights", "--history", str(bad), "--requests", str(paths["requests"]), "--experts",
            str(paths["experts"]), "--embedder", "hashing", "--cache", "none", "--out",
            str(tmp_path / "w.json")]  # fmt: skip
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "history.csv row 2, column 'selected'" in err
    assert not (tmp_path / "w.json").exists()
    assert main(["evaluate", "--rankings", str(bad), "--judgments", str(bad), "--k", "0"]) == 2
