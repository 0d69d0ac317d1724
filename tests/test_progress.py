"""One progress bar for a whole CLI run, labelled in words; the library's own bars become its steps."""

from __future__ import annotations

import os
import subprocess
import sys

from gscp_match import _progress


def _text_bars(monkeypatch):
    """The terminal's text bar, whatever an earlier test imported (ipykernel makes bars unwelcome)."""
    from tqdm.std import tqdm

    monkeypatch.delenv("GSCP_MATCH_QUIET", raising=False)
    monkeypatch.setattr(_progress, "_tqdm", lambda: tqdm)


def test_inside_a_run_every_bar_is_a_step_of_the_one_bar(monkeypatch):
    _text_bars(monkeypatch)
    with _progress.run_progress():
        with _progress.progress_bar(5, "encoding texts") as first:
            first.update(5)
        with _progress.progress_bar(3, "scoring experts") as second:
            second.update(1)
        assert first is second  # the run's bar, relabelled; not a second bar
        assert isinstance(first, _progress._RunBar)
    with _progress.progress_bar(2, "outside a run") as alone:
        assert not isinstance(alone, _progress._RunBar)


def test_quiet_run_draws_nothing(monkeypatch, capsys):
    _text_bars(monkeypatch)
    monkeypatch.setenv("GSCP_MATCH_QUIET", "1")
    with _progress.run_progress():
        _progress.step("reading")
        with _progress.progress_bar(5, "encoding texts") as bar:
            bar.update(5)
    assert capsys.readouterr().err == ""


def _demo(tmp_path, *extra):
    env = {k: v for k, v in os.environ.items() if k != "GSCP_MATCH_QUIET"}
    env["GSCP_MATCH_CACHE"] = str(tmp_path / "cache")
    command = [sys.executable, "-m", "gscp_match.cli", "demo", "--embedder", "hashing", "--out", str(tmp_path / "o")]
    return subprocess.run([*command, *extra], capture_output=True, text=True, env=env, check=True)


def test_the_demo_shows_its_steps_in_words_in_order(tmp_path):
    err = _demo(tmp_path).stderr.replace("\r", "\n")
    steps = ["reading and checking the input files", "fitting the roster", "scoring experts", "staffing the round"]
    positions = [err.find(s) for s in steps]
    assert -1 not in positions, err[-2000:]
    assert positions == sorted(positions)
    assert "writing the report" in err
    assert "it/s" not in err and "Batches" not in err  # no tqdm bar of its own, no sentence-transformers bar


def test_quiet_demo_writes_no_bar(tmp_path):
    assert _demo(tmp_path, "--quiet").stderr == ""
