"""Runs a user can interrupt, break or slow down: start-up cost, signals, partial outputs, inputs checked first."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

# A child process imports the library the tests import: the parent's own path (an installed package, an editable
# install or a PYTHONPATH checkout alike), never the bare src/ folder, which lacks the packaged models/ data.
PARENT_PATH = os.pathsep.join(p for p in sys.path if p)
HEAVY = ("pandas", "torch", "sentence_transformers", "matplotlib", "sklearn", "scipy", "transformers")


def _fresh_python(code: str, *, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": PARENT_PATH}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=timeout)


def _loaded_after(body: str) -> list[str]:
    code = f"import json, sys\n{body}\nprint(json.dumps(sorted(m for m in {list(HEAVY)!r} if m in sys.modules)))\n"
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
        "assert gm.tables._catalog.demo_paths() and 'Matcher' in dir(gm)"
    )
    assert "pandas" in _loaded_after(body)  # names resolve (and pull in what they need) on first use


# -- helpers for command runs on real files -------------------------------------------------------------------------
def _demo_files(tmp_path: Path) -> dict[str, Path]:
    """The bundled demo round copied into tmp_path (requests, experts, evidence)."""
    from gscp_match.tables._catalog import demo_paths

    copies = {}
    for kind, source in demo_paths().items():
        if kind in ("requests", "experts", "evidence"):
            copies[kind] = tmp_path / f"{kind}.csv"
            copies[kind].write_bytes(Path(source).read_bytes())
    return copies


def _match_args(files: dict[str, Path]) -> list[str]:
    return [
        "--requests", str(files["requests"]), "--experts", str(files["experts"]), "--evidence", str(files["evidence"]),
        "--embedder", "hashing", "--cache", "none", "--quiet",
    ]  # fmt: skip


def _listing(folder: Path) -> dict[str, bytes]:
    """Every entry of a folder (hidden ones too) with its bytes; a folder entry maps to b'<dir>'."""
    if not folder.exists():
        return {}
    return {p.name: (b"<dir>" if p.is_dir() else p.read_bytes()) for p in sorted(folder.iterdir())}


def _old_outputs(folder: Path, names: list[str]) -> dict[str, bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(f"old {name}\n".encode())
    return _listing(folder)


# -- 4. every input validated before a model is loaded or a text encoded ---------------------------------------------
@pytest.fixture
def no_model(monkeypatch):
    """Fail the test if any embedder is built or any text encoded."""
    import gscp_match.match._matcher  # noqa: F401 - imported before patching, so it binds the real functions first

    def refuse(*args, **kwargs):
        raise AssertionError("an embedder was built before every input was validated")

    monkeypatch.setattr("gscp_match.text._load.load_embedder", refuse)
    monkeypatch.setattr("gscp_match.match._matcher.load_embedder", refuse)
    monkeypatch.setattr("gscp_match.text._cache.encode_cached", refuse)
    monkeypatch.setattr("gscp_match.match._matcher.encode_cached", refuse)


def _edit_csv(path: Path, edit) -> None:
    import pandas as pd

    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    edit(table)
    table.to_csv(path, index=False)


def _bad_requests(files: dict[str, Path]) -> None:
    _edit_csv(files["requests"], lambda t: t.__setitem__("request_id", [t["request_id"][0], "", *t["request_id"][2:]]))


@pytest.mark.parametrize("command", ["shortlist", "assign", "report"])
def test_a_bad_requests_file_fails_before_any_model_is_loaded(tmp_path, capsys, no_model, command):
    from gscp_match.cli import main

    files = _demo_files(tmp_path)
    _bad_requests(files)
    out = tmp_path / ("report.html" if command == "report" else "out")
    assert main([command, *_match_args(files), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "requests.csv row 3, column 'request_id'" in err
    assert "Traceback" not in err and not out.exists()


def test_every_problem_of_every_input_is_listed_in_one_run(tmp_path, capsys, no_model):
    from gscp_match.cli import main

    files = _demo_files(tmp_path)
    _bad_requests(files)
    header = [c.strip('"') for c in files["evidence"].read_text(encoding="utf-8").splitlines()[0].split(",")]
    assert header[:5] == ["expert_id", "text", "title", "year", "kind"]
    row = ["NOBODY", "Worked on a bus network", "", "2019", "engagement"] + [""] * (len(header) - 5)
    with files["evidence"].open("a", encoding="utf-8") as handle:
        handle.write(",".join(row) + "\n")  # an expert the roster lacks (a whole row: a short one is its own error)
    weights = tmp_path / "weights.json"
    weights.write_text('{"weights": {"semantic": "heavy"}}', encoding="utf-8")
    history = tmp_path / "history.csv"
    history.write_text("round,request_id,expert_id,selected\nR1,Q1,E1,maybe\n", encoding="utf-8")
    cases = tmp_path / "cases.csv"
    cases.write_text("case_id,title\nc1,no summary column\n", encoding="utf-8")
    argv = [
        "report", *_match_args(files), "--weights", str(weights), "--history", str(history), "--spread-weight", "0.1",
        "--cases", str(cases), "--out", str(tmp_path / "r.html"),
    ]  # fmt: skip
    assert main(argv) == 1
    err = capsys.readouterr().err
    for expected in ("requests.csv row 3", "evidence.csv row", "NOBODY", "weights.json", "history.csv row 2",
                     "cases.csv", "summary"):  # fmt: skip
        assert expected in err, (expected, err)
    assert all(line.startswith("error: ") for line in err.splitlines()) and "Traceback" not in err


def test_a_missing_weights_file_is_one_line_before_any_model(tmp_path, capsys, no_model):
    from gscp_match.cli import main

    files = _demo_files(tmp_path)
    argv = ["shortlist", *_match_args(files), "--weights", str(tmp_path / "nope.json"), "--out", str(tmp_path / "o")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "nope.json" in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


# -- 3. a command's outputs are all-or-nothing ----------------------------------------------------------------------
SHORTLIST_FILES = ["expert_shortlist.csv", "case_shortlist.csv", "filters.csv"]
PLAN_FILES = ["assignment.csv", "unstaffed.csv", "bookings.csv"]


def _fail_on_write(monkeypatch, number: int, error: BaseException) -> list[Path]:
    """Make the ``number``-th table write (1-based) raise ``error``; returns the paths written before it."""
    import gscp_match.tables._io as gio

    real = gio.write_table
    seen: list[Path] = []

    def write_table(frame, path, **kwargs):
        seen.append(Path(path))
        if len(seen) == number:
            raise error
        return real(frame, path, **kwargs)

    monkeypatch.setattr(gio, "write_table", write_table)
    return seen


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_shortlist_failing_at_its_second_file_leaves_the_old_files(tmp_path, capsys, monkeypatch, error):
    from gscp_match.cli import main

    files = _demo_files(tmp_path)
    out = tmp_path / "out"
    before = _old_outputs(out, [*SHORTLIST_FILES, "notes.txt"])
    seen = _fail_on_write(monkeypatch, 2, error)
    code = main(["shortlist", *_match_args(files), "--out", str(out)])
    assert code == (130 if isinstance(error, KeyboardInterrupt) else 1)
    assert len(seen) == 2  # the first file was written (aside) before the second failed
    assert _listing(out) == before  # old files, unchanged, and no hidden leftovers
    assert "Traceback" not in capsys.readouterr().err


def test_assign_failing_at_the_roster_leaves_no_new_plan(tmp_path, monkeypatch):
    from gscp_match.cli import main

    files = _demo_files(tmp_path)
    out, roster_folder = tmp_path / "plan", tmp_path / "next"
    before = _old_outputs(out, PLAN_FILES)
    roster_folder.mkdir()
    seen = _fail_on_write(monkeypatch, 4, OSError(13, "Permission denied"))
    argv = ["assign", *_match_args(files), "--out", str(out), "--roster-out", str(roster_folder / "experts.csv")]
    assert main(argv) == 1
    assert len(seen) == 4
    assert _listing(out) == before and _listing(roster_folder) == {}


def test_demo_failing_at_the_report_leaves_nothing(tmp_path, monkeypatch):
    import gscp_match.report._report
    from gscp_match.cli import main

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(gscp_match.report._report, "write_report", broken)
    out = tmp_path / "demo"
    assert main(["demo", "--embedder", "hashing", "--quiet", "--out", str(out)]) == 1
    assert _listing(out) == {}


def test_a_successful_run_replaces_every_file_and_leaves_no_staging(tmp_path):
    from gscp_match.cli import main

    files = _demo_files(tmp_path)
    out = tmp_path / "out"
    _old_outputs(out, SHORTLIST_FILES)
    assert main(["shortlist", *_match_args(files), "--out", str(out)]) == 0
    listing = _listing(out)
    assert sorted(listing) == sorted(SHORTLIST_FILES)
    assert all(not content.startswith(b"old") for content in listing.values())


# -- 2. SIGTERM: handled like SIGINT, and stale temporaries swept ---------------------------------------------------
DRIVER = """
import contextlib, signal, sys
from pathlib import Path

import gscp_match.tables._io as gio
from gscp_match.cli import main

real_atomic_path = gio.atomic_path


@contextlib.contextmanager
def slow_atomic_path(path):
    # The second output is written slowly: half of it is on disk when the run is told to stop.
    with real_atomic_path(path) as tmp:
        if Path(path).name == sys.argv[1]:
            tmp.write_text("half a table")
            print("writing", flush=True)  # tells the test the temporary file exists
            signal.pause()  # until a signal: SIGTERM must unwind from here
        yield tmp


gio.atomic_path = slow_atomic_path
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
@pytest.mark.parametrize(("command", "slow_file"), [("shortlist", "case_shortlist.csv"), ("assign", "unstaffed.csv")])
def test_sigterm_mid_write_exits_cleanly_and_leaves_no_temporary(tmp_path, command, slow_file):
    files = _demo_files(tmp_path)
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER, encoding="utf-8")
    out = tmp_path / "out"
    before = _old_outputs(out, SHORTLIST_FILES + PLAN_FILES)
    env = {**os.environ, "PYTHONPATH": PARENT_PATH}
    child = subprocess.Popen(
        [sys.executable, str(driver), slow_file, command, *_match_args(files), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        for line in child.stdout:
            if line.strip() == "writing":
                break
        else:
            pytest.fail(f"the run ended before writing: {child.wait()} {child.stderr.read()}")
        assert any(".gscp-" in name for name in _listing(out))  # the staging folder is there now
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 143, err
    assert "terminated" in err and "Traceback" not in err
    assert _listing(out) == before


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def test_a_command_sweeps_stale_temporaries_of_dead_runs(tmp_path):
    from gscp_match.cli import main

    files = _demo_files(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    dead, alive = _dead_pid(), os.getppid()
    (out / f".expert_shortlist.csv.gscp-{dead}-abcd1234.tmp.csv").write_text("half")
    (out / f".gscp-stage-{dead}-x1y2z3").mkdir()
    (out / f".gscp-stage-{dead}-x1y2z3" / "filters.csv").write_text("half")
    live = out / f".filters.csv.gscp-{alive}-live0001.tmp.csv"  # a run still writing: left alone
    live.write_text("in progress")
    mine = out / ".notes.tmp"  # not ours: left alone
    mine.write_text("a user's file")
    assert main(["shortlist", *_match_args(files), "--out", str(out)]) == 0
    assert sorted(_listing(out)) == sorted([*SHORTLIST_FILES, live.name, mine.name])


def test_a_temporary_older_than_the_process_holding_its_pid_is_stale(tmp_path):
    from gscp_match.tables._io import sweep_stale_temporaries

    alive = os.getppid()
    old = tmp_path / f".a.csv.gscp-{alive}-old00001.tmp.csv"
    old.write_text("left by an earlier process with the same pid")
    os.utime(old, (0, 0))  # written in 1970, before any running process started
    if not Path(f"/proc/{alive}/stat").exists():
        pytest.skip("no /proc: process start times unknown")
    assert sweep_stale_temporaries(tmp_path) == [old] and not old.exists()


# -- 5. library warnings never reach a successful run's stderr -------------------------------------------------------
def _run_cli(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    env["PYTHONPATH"] = PARENT_PATH
    return subprocess.run(
        [sys.executable, "-m", "gscp_match.cli", *argv], capture_output=True, text=True, env=env, cwd=cwd, timeout=600
    )


def test_demo_writes_nothing_to_stderr(tmp_path):
    done = _run_cli(["demo", "--embedder", "hashing", "--out", str(tmp_path / "demo")], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_report_with_hangul_and_emoji_names_writes_nothing_to_stderr(tmp_path):
    files = _demo_files(tmp_path)

    def korean_names(table) -> None:
        table["name"] = [f"김아라 {i} 🚌" if i < 40 else name for i, name in enumerate(table["name"])]

    _edit_csv(files["experts"], korean_names)
    done = _run_cli(["report", *_match_args(files), "--out", str(tmp_path / "r.html")], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "김아라 1" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_two_outputs_to_one_file_is_an_input_error(tmp_path, capsys):
    from gscp_match.cli import main

    files = _demo_files(tmp_path)
    out = tmp_path / "plan"
    argv = ["assign", *_match_args(files), "--out", str(out), "--roster-out", str(out / "assignment.csv")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "assignment.csv: two outputs of one run" in err and "Traceback" not in err
    assert _listing(out) == {}


def test_a_progress_bar_in_a_notebook_without_ipywidgets_does_not_warn(monkeypatch, capsys):
    """tqdm.auto warns 'IProgress not found' in a Jupyter kernel without ipywidgets, and a text bar there lands in
    the notebook's stderr: no bar is drawn in that setting, and nothing warns."""
    import types
    import warnings

    from gscp_match._progress import progress_bar

    class ZMQInteractiveShell:  # what get_ipython() returns in a Jupyter kernel
        config = {"IPKernelApp": {}}

    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=ZMQInteractiveShell))
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    monkeypatch.setitem(sys.modules, "ipykernel.zmqshell", types.ModuleType("ipykernel.zmqshell"))
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # `import ipywidgets` fails
    for name in ("tqdm.auto", "tqdm.autonotebook", "tqdm.notebook"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.delenv("GSCP_MATCH_QUIET", raising=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with progress_bar(3, "scoring experts") as bar:
            bar.update(3)
    assert [str(w.message) for w in caught] == []
    assert "scoring experts" not in capsys.readouterr().err
    monkeypatch.delitem(sys.modules, "ipykernel")  # in a terminal the text bar is drawn
    monkeypatch.delitem(sys.modules, "ipykernel.zmqshell")
    with progress_bar(3, "scoring experts") as bar:
        bar.update(3)
    assert "scoring experts" in capsys.readouterr().err
