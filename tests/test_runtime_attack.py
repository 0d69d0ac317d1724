"""Runs a user can interrupt, break or slow down: start-up cost, signals, partial outputs, inputs checked first."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")
HEAVY = ("pandas", "torch", "sentence_transformers", "matplotlib", "sklearn", "scipy", "transformers")


def _fresh_python(code: str, *, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=timeout)


def _loaded_after(body: str) -> list[str]:
    code = (
        "import json, sys\n"
        f"{body}\n"
        f"print(json.dumps(sorted(m for m in {list(HEAVY)!r} if m in sys.modules)))\n"
    )
    done = _fresh_python(code)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_building_the_cli_parser_imports_nothing_heavy():
    assert _loaded_after("import gscp_match.cli\ngscp_match.cli._parser()") == []


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["shortlist", "--help"],
        ["report", "--help"],
        ["shortlist", "--requests", "r.csv"],  # argparse: --experts and --out are missing
        ["assign", "--requests", "r.csv", "--experts", "e.csv", "--out", "o", "--method", "simplex"],
        ["shortlist", "--requests", "r.csv", "--experts", "e.csv", "--out", "o", "--top", "0"],
    ],
)
def test_help_and_usage_errors_import_nothing_heavy(argv):
    body = (
        "import contextlib, io\n"
        "from gscp_match.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
        "    try:\n"
        f"        code = main({argv!r})\n"
        "    except SystemExit as exc:\n"
        "        code = exc.code\n"
        "assert code in (0, 2), code"
    )
    assert _loaded_after(body) == []


def test_the_package_still_exports_its_names_lazily():
    body = (
        "import gscp_match as gm\n"
        "missing = [n for n in gm.__all__ if getattr(gm, n, None) is None]\n"
        "assert not missing, missing\n"
        "assert gm.catalog.demo_paths() and 'Matcher' in dir(gm)"
    )
    assert "pandas" in _loaded_after(body)  # names resolve (and pull in what they need) on first use
