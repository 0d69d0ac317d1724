"""The Dask switch and the profile store through the matcher and the CLI: same results as one process."""

from __future__ import annotations

import pandas as pd
import pytest

import gscp_match as gm
from gscp_match.cli import main
from gscp_match.tables._catalog import demo_paths
from gscp_match.text._embed import HashingEmbedder

pytest.importorskip("dask")


class CountingEmbedder(HashingEmbedder):
    """Counts the texts it encodes."""

    def __init__(self) -> None:
        super().__init__(64)
        self.encoded = 0

    def encode(self, texts, **kwargs):
        self.encoded += len(texts)
        return super().encode(texts, **kwargs)


@pytest.fixture(scope="module")
def demo():
    return gm.load_demo()


def test_threads_scheduler_and_store_give_the_same_shortlists_and_plan(demo, tmp_path):
    local = gm.Matcher(HashingEmbedder(64), cache=None, chunk_size=64).fit(demo.experts, evidence=demo.evidence)
    counting = CountingEmbedder()
    dask = gm.Matcher(counting, cache=None, chunk_size=64, scheduler="threads", n_shards=3, store=tmp_path / "store")
    dask.fit(demo.experts, evidence=demo.evidence)
    assert counting.encoded > 0
    a = local.shortlist(demo.requests, k=5, k_cases=0).experts
    b = dask.shortlist(demo.requests, k=5, k_cases=0).experts
    pd.testing.assert_frame_equal(a[["request_id", "rank", "expert_id"]], b[["request_id", "rank", "expert_id"]])
    pd.testing.assert_series_equal(a["score"], b["score"], atol=1e-6)
    plan_a, plan_b = local.assign(demo.requests), dask.assign(demo.requests)
    assert list(plan_a.assignment["expert_id"]) == list(plan_b.assignment["expert_id"])
    # A second fit on the unchanged roster encodes no expert profile again.
    counting.encoded = 0
    dask.fit(demo.experts, evidence=demo.evidence)
    n_case_passages = len(dask.case_docs_.passages)
    assert counting.encoded <= n_case_passages  # only the case catalog (not stored) is encoded


def test_unknown_scheduler_is_refused():
    with pytest.raises(ValueError, match="threads"):
        gm.Matcher("hashing", cache=None, scheduler="warp-drive")


def test_cli_scheduler_switch(tmp_path, capsys):
    paths = demo_paths()
    base = ["shortlist", "--requests", str(paths["requests"]), "--experts", str(paths["experts"]), "--embedder",
            "hashing", "--cache", "none", "--quiet", "--top", "3", "--top-cases", "0"]  # fmt: skip
    assert main([*base, "--scheduler", "nonsense", "--out", str(tmp_path / "x")]) == 2
    assert "nonsense" in capsys.readouterr().err
    assert main([*base, "--out", str(tmp_path / "one")]) == 0
    assert main([*base, "--scheduler", "threads", "--out", str(tmp_path / "dask")]) == 0
    one = pd.read_csv(tmp_path / "one" / "expert_shortlist.csv")
    dask = pd.read_csv(tmp_path / "dask" / "expert_shortlist.csv")
    assert list(one["expert_id"]) == list(dask["expert_id"])
