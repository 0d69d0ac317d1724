"""The ONNX Runtime embedder, built locally from the packaged weights, against the sentence-transformers path."""

from __future__ import annotations

import pickle
import shutil
import subprocess
import sys

import numpy as np
import pytest

from gscp_match.errors import InputError, ModelNotFoundError
from gscp_match.text._embed import SentenceTransformerEmbedder, _model_fingerprint
from gscp_match.text._onnx import OnnxEmbedder

TEXTS = [
    "Adaptive traffic signal control (ATSC) on arterial corridors in Ulaanbaatar.",
    "Non-revenue water reduction with district metered areas and smart meters in Lima.",
    "Seoul's 2004 bus reform: trunk and feeder routes, median bus lanes, distance-based fares.",
    "Cadastre modernisation and a land registry information system.",
    "Flood early warning from river gauges and rainfall radar for a coastal city.",
    "TOPIS " * 300,  # longer than the model reads: truncated like sentence-transformers
    "x",
]
QUERIES = ["real-time signal timing for congested junctions", "reduce water losses in the pipe network",
           "reorganise bus routes and fares", "land titling and property registration", "warn residents of floods"]


@pytest.fixture(scope="module")
def onnx_int8(tmp_path_factory):
    return OnnxEmbedder(show_progress=False)


@pytest.mark.model
def test_fp32_build_equals_sentence_transformers(real_embedder):
    fp32 = OnnxEmbedder(precision="fp32", show_progress=False)
    got, want = fp32.encode(TEXTS), real_embedder.encode(TEXTS)
    assert got.shape == want.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(got, want, atol=2e-5)
    np.testing.assert_array_equal(fp32.count_tokens(TEXTS), real_embedder.count_tokens(TEXTS))


@pytest.mark.model
def test_int8_keeps_the_rankings(real_embedder, onnx_int8):
    got, want = onnx_int8.encode(TEXTS), real_embedder.encode(TEXTS)
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert float(np.min(np.sum(got * want, axis=1))) > 0.97
    q_int8, q_torch = onnx_int8.encode(QUERIES), real_embedder.encode(QUERIES)
    best_int8 = np.argmax(q_int8 @ got[:5].T, axis=1)
    best_torch = np.argmax(q_torch @ want[:5].T, axis=1)
    np.testing.assert_array_equal(best_int8, best_torch)
    np.testing.assert_array_equal(best_torch, np.arange(5))


@pytest.mark.model
def test_batches_and_order_do_not_change_vectors(onnx_int8):
    whole = onnx_int8.encode(TEXTS)
    one_by_one = np.vstack([onnx_int8.encode([t]) for t in TEXTS])
    np.testing.assert_array_equal(one_by_one, whole)  # a text's vector never depends on its neighbours
    np.testing.assert_array_equal(onnx_int8.encode(TEXTS[::-1])[::-1], whole)
    one_lane = OnnxEmbedder(threads=1, show_progress=False)
    np.testing.assert_array_equal(one_lane.encode(TEXTS), whole)
    assert onnx_int8.encode([]).shape == (0, 384)
    with pytest.raises(InputError):
        onnx_int8.encode("a single string")


def test_names_and_lazy_loading(onnx_int8):
    fp32 = OnnxEmbedder(precision="fp32")
    assert onnx_int8.name.startswith("onnx-int8:all-MiniLM-L6-v2:") and fp32.name.startswith("onnx-fp32:")
    assert onnx_int8.name.split(":")[-1] == fp32.name.split(":")[-1]  # same weights, other precision
    assert fp32._session is None and fp32._tokenizer is None
    assert fp32.model_file.name.endswith("-fp32.onnx") and fp32.model_file != onnx_int8.model_file
    with pytest.raises(InputError, match="precision"):
        OnnxEmbedder(precision="int4")
    with pytest.raises(InputError, match="threads"):
        OnnxEmbedder(threads=0)


def test_nothing_heavy_is_imported_until_needed():
    code = (
        "import sys\n"
        "from gscp_match.text._load import load_embedder\n"
        "e = load_embedder(None); e.name; e.dimension; e.max_tokens\n"
        "heavy = {'torch', 'onnxruntime', 'tokenizers', 'sentence_transformers', 'transformers'} & set(sys.modules)\n"
        "print(sorted(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


@pytest.mark.model
def test_a_damaged_build_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("GSCP_MATCH_CACHE", str(tmp_path / "cache"))
    emb = OnnxEmbedder(precision="fp32", show_progress=False)
    first = emb.encode(TEXTS[:2])
    path = emb.model_file
    assert path.is_file() and path.parent == tmp_path / "cache" / "models"
    path.write_bytes(b"not an onnx model")
    again = OnnxEmbedder(precision="fp32", show_progress=False)
    np.testing.assert_array_equal(again.encode(TEXTS[:2]), first)
    assert path.stat().st_size > 1_000_000
    assert not list(path.parent.glob(".tmp-*"))


def test_pickles_without_its_session(onnx_int8):
    copy = pickle.loads(pickle.dumps(onnx_int8))
    assert copy.name == onnx_int8.name and copy._session is None


def test_weights_replaced_in_place_get_a_new_fingerprint(tmp_path, monkeypatch):
    """A retrained model with the same architecture (same file sizes) must not reuse cached vectors."""
    monkeypatch.setenv("GSCP_MATCH_CACHE", str(tmp_path / "cache"))
    source = SentenceTransformerEmbedder().folder
    folder = tmp_path / "model"
    shutil.copytree(source, folder)
    before = _model_fingerprint(folder)
    assert _model_fingerprint(folder) == before  # remembered digests give the same answer
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-100] ^= 0xFF  # one byte of one weight changes; the size does not
    weights.write_bytes(bytes(data))
    after = _model_fingerprint(folder)
    assert after != before
    assert SentenceTransformerEmbedder(folder).name.endswith(after)
    assert OnnxEmbedder(folder).name.endswith(after)


def test_a_folder_without_safetensors_is_refused(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    with pytest.raises(ModelNotFoundError, match="model.safetensors"):
        OnnxEmbedder(folder)
