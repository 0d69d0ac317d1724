"""The notebook: committed with its outputs (small), and it runs top to bottom on the bundled data with the real
model (as a user would run it) without a warning, a traceback or a tuple where a list should read as words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "shortlist_round.ipynb"


def _texts(notebook) -> str:
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.get("outputs", [])]
    parts = []
    for out in outputs:
        data = out.get("data", {})
        parts += [str(out.get("text", "")), str(data.get("text/plain", "")), str(data.get("text/html", ""))]
    return "\n".join(parts)


def _check_outputs(notebook) -> None:
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.get("outputs", [])]
    assert not [out for out in outputs if out.output_type == "error"]
    stderr = [out.get("text", "") for out in outputs if out.output_type == "stream" and out.get("name") == "stderr"]
    assert not stderr, stderr  # no red text: no warning (TqdmWarning, matplotlib, pandas) and no progress bar
    text = _texts(notebook)
    assert "Warning" not in text
    assert re.search(r"\d+ of 12 requests staffed", text)  # the plan in words
    assert "wrote gscp_round/round_report.html" in text and "wrote gscp_round/experts_next_round.csv" in text
    assert not re.search(r"\('[a-z_]+',\)|\([a-z_]+,\)", text)  # list cells read "mobility", not "('mobility',)"
    images = [out for out in outputs if "image/png" in out.get("data", {})]
    assert len(images) >= 8  # every chart rendered


def test_committed_notebook_has_small_outputs():
    nbformat = pytest.importorskip("nbformat")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.get("outputs") for cell in code), "commit the notebook with its outputs"
    assert NOTEBOOK.stat().st_size < 1_000_000
    _check_outputs(notebook)


@pytest.mark.model
def test_notebook_runs_top_to_bottom(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    monkeypatch.delenv("GSCP_MATCH_QUIET", raising=False)  # as a user runs it: progress bars allowed
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    resources = {"metadata": {"path": str(tmp_path)}}
    client = NotebookClient(notebook, timeout=600, kernel_name="python3", resources=resources)
    client.execute()
    _check_outputs(notebook)
    assert (tmp_path / "gscp_round" / "round_report.html").stat().st_size > 0


def test_readme_quick_start_returns_what_it_asks_for(tmp_path, monkeypatch):
    # The quick start, run as written (with the model-free embedder): k_cases=3 gives 3 cases, k=3 three experts.
    readme = (NOTEBOOK.parents[1] / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Quick start \(notebooks\)\s+```python\n(.*?)```", readme, flags=re.DOTALL).group(1)
    assert "k_cases=3" in block
    code = block.replace("gm.Matcher()", 'gm.Matcher("hashing", cache=None)')
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    result, one, plan = namespace["result"], namespace["one"], namespace["plan"]
    assert result.cases.groupby("request_id").size().eq(3).all()
    assert result.experts.groupby("request_id").size().between(1, 5).all()  # Armenian requests: one candidate
    assert len(one.experts) == 3 and len(one.cases) == 3
    assert plan.outcome().endswith("the plan is optimal")
    assert (tmp_path / "round.html").stat().st_size > 0
