"""A run whose texts are all cached loads no tokenizer, no ONNX Runtime, no torch and no language model."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from gscp_match.errors import InputError
from gscp_match.text._cache import CachedTokenCounter, EmbeddingCache, text_key
from gscp_match.text._embed import HashingEmbedder


class CountingSpy:
    """A HashingEmbedder that records what it was asked to count."""

    def __init__(self) -> None:
        self.inner = HashingEmbedder(16)
        self.name, self.dimension, self.max_tokens = self.inner.name, self.inner.dimension, self.inner.max_tokens
        self.counted: list[str] = []

    def encode(self, texts):
        return self.inner.encode(texts)

    def count_tokens(self, texts):
        self.counted.extend(texts)
        return self.inner.count_tokens(texts)


TEXTS = ["bus rapid transit corridor", "", "smart water meters for NRW", "bus rapid transit corridor", "a b c d e"]


def test_counts_are_the_embedders_and_remembered_across_counters(tmp_path):
    cache = EmbeddingCache(tmp_path)
    first = CountingSpy()
    counts = CachedTokenCounter(first, cache)(TEXTS)
    assert counts.dtype == np.int64 and counts.tolist() == HashingEmbedder(16).count_tokens(TEXTS).tolist()
    assert first.counted == list(dict.fromkeys(TEXTS))  # each distinct text once
    second = CountingSpy()
    counter = CachedTokenCounter(second, cache)
    assert counter(TEXTS).tolist() == counts.tolist() and second.counted == []
    assert counter(["new text here", TEXTS[0]]).tolist() == [3, 4] and second.counted == ["new text here"]
    assert CachedTokenCounter(CountingSpy(), cache)(["new text here"]).tolist() == [3]  # written by the last call
    assert counter([]).tolist() == []


def test_without_a_cache_every_call_counts_and_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv("GSCP_MATCH_CACHE", str(tmp_path))
    spy = CountingSpy()
    counter = CachedTokenCounter(spy, None)
    assert counter(TEXTS[:2]).tolist() == counter(TEXTS[:2]).tolist() == [4, 0]
    assert spy.counted == TEXTS[:2] * 2 and list(tmp_path.iterdir()) == []
    with pytest.raises(InputError, match="single string"):
        counter("bus")


def test_entries_that_are_not_counts_are_counted_again(tmp_path):
    cache = EmbeddingCache(tmp_path)
    spy = CountingSpy()
    name = CachedTokenCounter(spy, cache).name
    cache.put(name, [text_key("a b"), text_key("c d e")], np.array([[2.5], [-1.0]], dtype=np.float32))
    assert CachedTokenCounter(spy, cache)(["a b", "c d e"]).tolist() == [2, 3] and spy.counted == ["a b", "c d e"]
    other = CachedTokenCounter(HashingEmbedder(16, seed=1), cache)
    assert other.name != name  # another model never reads these counts


_RUN = """
import json, sys
from gscp_match import Matcher, load_demo
demo = load_demo()
matcher = Matcher(embedder=sys.argv[1], cache=sys.argv[2]).fit(demo.experts, evidence=demo.evidence)
result = matcher.shortlist(demo.requests, k=5, k_cases=3)
heavy = ["tokenizers", "onnxruntime", "torch", "sentence_transformers", "transformers", "py3langid", "sklearn"]
print(json.dumps({
    "experts": result.experts.to_csv(index=False),
    "cases": result.cases.to_csv(index=False),
    "loaded": [name for name in heavy if name in sys.modules],
}))
"""


@pytest.mark.model
@pytest.mark.parametrize("embedder", ["minilm", "minilm-torch"])
def test_a_warm_run_loads_no_model_and_gives_the_same_shortlists(tmp_path, embedder):
    def run() -> dict:
        out = subprocess.run(
            [sys.executable, "-c", _RUN, embedder, str(tmp_path / "cache")],
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])

    cold, warm = run(), run()
    assert "tokenizers" in cold["loaded"] or "torch" in cold["loaded"]  # the first run did count and encode
    assert warm["loaded"] == []
    assert warm["experts"] == cold["experts"] and warm["cases"] == cold["cases"]
