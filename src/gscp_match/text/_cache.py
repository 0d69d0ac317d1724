"""On-disk cache of embeddings, safe for concurrent processes.

Layout: ``<directory>/<sanitised embedder name>-<hash of name>/shard-*.npz``. Each shard is an ``.npz`` of
plain arrays, loaded only with ``allow_pickle=False``:

* ``keys``: uint8 ``(n, 16)``, blake2b-128 of each UTF-8 text;
* ``vectors``: float32 ``(n, d)``;
* ``meta``: int64 ``[format version, d, n]``;
* ``embedder``: uint8 ``(16,)``, blake2b-128 of the embedder name;
* ``checksum``: uint8 ``(16,)``, blake2b-128 over the four arrays above.

Shards are written once, atomically (temporary file in the same folder, fsync, ``os.replace``) and never
modified: adding vectors writes a *new* shard, so writers never race on a read-modify-write. When a folder
holds more than ``max_shards`` shards, :meth:`EmbeddingCache.compact` merges them into one new shard and only
then deletes the merged ones; readers tolerate a shard vanishing between listing and reading. A shard that
fails any check (not a regular file, cannot be read, a zip member that is not an ``.npy`` array, wrong dtype,
shape, dimension, embedder or checksum) is logged, deleted and never trusted. Only regular files are opened, and
never with a blocking open, so a FIFO named like a shard cannot hang a run.

The same shards hold other per-text facts under their own names, as one float32 column: the token counts of an
embedder's tokenizer (:class:`CachedTokenCounter`, so splitting cached texts into passages needs no tokenizer) and
detected languages (:func:`gscp_match.text._language.detect_languages`).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import stat
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np
from numpy.typing import NDArray

from gscp_match._tempfiles import fsync_folder
from gscp_match.errors import InputError

if TYPE_CHECKING:
    from gscp_match.text._embed import Embedder

__all__ = ["EmbeddingCache", "CachedTokenCounter", "encode_cached", "text_key", "try_lock", "CACHE_ENV_VAR"]

logger = logging.getLogger(__name__)

#: Environment variable overriding the default cache directory.
CACHE_ENV_VAR = "GSCP_MATCH_CACHE"
_FORMAT_VERSION = 1
_KEY_BYTES = 16
_SHARD_GLOB = "shard-*.npz"
_SHARD_ARRAYS = ("keys", "vectors", "meta", "embedder", "checksum")
_TMP_PREFIX = ".tmp-"
_STALE_TMP_SECONDS = 3600.0


def text_key(text: str) -> bytes:
    """Cache key of a text: blake2b-128 of its UTF-8 bytes.

    Examples
    --------
    >>> len(text_key("Seoul TOPIS"))
    16
    """
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=_KEY_BYTES).digest()


def _name_digest(name: str) -> NDArray[np.uint8]:
    return np.frombuffer(hashlib.blake2b(name.encode("utf-8"), digest_size=_KEY_BYTES).digest(), dtype=np.uint8)


def _checksum(meta: NDArray, embedder: NDArray, keys: NDArray, vectors: NDArray) -> NDArray[np.uint8]:
    digest = hashlib.blake2b(digest_size=16)
    for array in (meta, embedder, keys, vectors):
        digest.update(np.ascontiguousarray(array).tobytes())
    return np.frombuffer(digest.digest(), dtype=np.uint8)


def _default_directory() -> Path:
    env = os.environ.get(CACHE_ENV_VAR)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "gscp_match" / "embeddings"


class _BadShard(Exception):
    pass


class EmbeddingCache:
    """Embeddings on disk, keyed by embedder name and text hash.

    Parameters
    ----------
    directory : str or os.PathLike, optional
        Root folder. Default: ``$GSCP_MATCH_CACHE``, else ``$XDG_CACHE_HOME/gscp_match/embeddings``, else
        ``~/.cache/gscp_match/embeddings``. Created on the first write.
    max_shards : int, default 32
        After a write, shards are merged when an embedder's folder holds more than this many.

    Examples
    --------
    >>> import tempfile
    >>> cache = EmbeddingCache(tempfile.mkdtemp())
    >>> cache.put("demo", [text_key("a")], np.ones((1, 3), dtype=np.float32))
    >>> found, vectors = cache.get("demo", [text_key("a"), text_key("b")], dimension=3)
    >>> found.tolist(), vectors.shape
    ([True, False], (2, 3))
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None, *, max_shards: int = 32) -> None:
        if max_shards < 2:
            raise InputError(f"max_shards must be >= 2, got {max_shards}")
        self.directory = Path(directory).expanduser() if directory is not None else _default_directory()
        self.max_shards = int(max_shards)

    def __repr__(self) -> str:
        return f"EmbeddingCache({str(self.directory)!r})"

    # -- layout --------------------------------------------------------------------------------------------
    def folder(self, name: str) -> Path:
        """Folder holding the shards of embedder ``name``."""
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")[:60] or "embedder"
        digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).hexdigest()
        return self.directory / f"{safe}-{digest}"

    def shard_paths(self, name: str) -> list[Path]:
        """Current shard files of embedder ``name`` (sorted; may vanish at any moment)."""
        folder = self.folder(name)
        if not folder.is_dir():
            return []
        return sorted(folder.glob(_SHARD_GLOB))

    # -- reading -------------------------------------------------------------------------------------------
    def _read_shard(
        self, path: Path, name: str, dimension: int | None
    ) -> tuple[NDArray[np.uint8], NDArray[np.float32]]:
        try:
            # Open the file ourselves: np.load leaks its handle when it rejects a non-npz file.
            with _open_regular(path) as handle:
                data = np.load(handle, allow_pickle=False)
                if not isinstance(data, np.lib.npyio.NpzFile):
                    raise _BadShard("not an .npz archive")
                with data:
                    if set(data.files) != set(_SHARD_ARRAYS):
                        raise _BadShard(f"unexpected arrays {sorted(data.files)}")
                    arrays = [data[array_name] for array_name in _SHARD_ARRAYS]
        except (FileNotFoundError, _BadShard):
            raise
        except Exception as exc:
            raise _BadShard(f"{type(exc).__name__}: {exc}") from exc
        for array_name, array in zip(_SHARD_ARRAYS, arrays, strict=True):
            # A zip member not written by np.save (no .npy header) comes back as bytes, not as an array.
            if not isinstance(array, np.ndarray):
                raise _BadShard(f"member {array_name!r} is {type(array).__name__}, not a .npy array")
        keys, vectors, meta, embedder, checksum = arrays
        if meta.dtype != np.int64 or meta.shape != (3,) or meta[0] != _FORMAT_VERSION:
            raise _BadShard("bad meta")
        d, n = int(meta[1]), int(meta[2])
        if keys.dtype != np.uint8 or keys.shape != (n, _KEY_BYTES):
            raise _BadShard(f"keys have dtype {keys.dtype} and shape {keys.shape}, expected uint8 ({n}, 16)")
        if vectors.dtype != np.float32 or vectors.shape != (n, d):
            raise _BadShard(f"vectors have dtype {vectors.dtype} and shape {vectors.shape}, expected ({n}, {d})")
        if dimension is not None and d != dimension:
            raise _BadShard(f"dimension {d}, expected {dimension}")
        if embedder.dtype != np.uint8 or not np.array_equal(embedder, _name_digest(name)):
            raise _BadShard("written for another embedder")
        if checksum.dtype != np.uint8 or not np.array_equal(checksum, _checksum(meta, embedder, keys, vectors)):
            raise _BadShard("checksum mismatch")
        return keys, vectors

    def _iter_shards(
        self, name: str, dimension: int | None
    ) -> Iterator[tuple[Path, NDArray[np.uint8], NDArray[np.float32]]]:
        for path in self.shard_paths(name):
            try:
                keys, vectors = self._read_shard(path, name, dimension)
            except FileNotFoundError:  # merged away by a concurrent compaction
                continue
            except _BadShard as exc:
                logger.warning("ignoring and deleting invalid embedding cache shard %s: %s", path, exc)
                with contextlib.suppress(OSError):
                    path.unlink()  # a folder named like a shard stays (and is skipped with this warning)
                continue
            yield path, keys, vectors

    def get(self, name: str, keys: Sequence[bytes], *, dimension: int) -> tuple[NDArray[np.bool_], NDArray[np.float32]]:
        """Look keys up.

        Parameters
        ----------
        name : str
            Embedder name.
        keys : sequence of bytes, length n
            From :func:`text_key`.
        dimension : int
            Expected embedding size ``d``; shards of another size are invalid.

        Returns
        -------
        found : ndarray of bool, shape (n,)
        vectors : ndarray of float32, shape (n, d)
            Rows of keys not found are zero.
        """
        wanted = {key: i for i, key in enumerate(keys)}
        found = np.zeros(len(keys), dtype=bool)
        vectors = np.zeros((len(keys), dimension), dtype=np.float32)
        if not wanted:
            return found, vectors
        for _, shard_keys, shard_vectors in self._iter_shards(name, dimension):
            flat = shard_keys.tobytes()
            for row in range(shard_keys.shape[0]):
                position = wanted.get(flat[row * _KEY_BYTES : (row + 1) * _KEY_BYTES])
                if position is not None and not found[position]:
                    found[position] = True
                    vectors[position] = shard_vectors[row]
            if found.all():
                break
        return found, vectors

    # -- writing -------------------------------------------------------------------------------------------
    def _write_shard(self, name: str, keys: NDArray[np.uint8], vectors: NDArray[np.float32]) -> Path:
        folder = self.folder(name)
        folder.mkdir(parents=True, exist_ok=True)
        meta = np.array([_FORMAT_VERSION, vectors.shape[1], vectors.shape[0]], dtype=np.int64)
        embedder = _name_digest(name)
        checksum = _checksum(meta, embedder, keys, vectors)
        fd, tmp_name = tempfile.mkstemp(prefix=_TMP_PREFIX, suffix=".npz", dir=folder)
        final = folder / f"shard-{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:12]}.npz"
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez(handle, keys=keys, vectors=vectors, meta=meta, embedder=embedder, checksum=checksum)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp_name, final)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
            raise
        fsync_folder(folder)
        return final

    def put(self, name: str, keys: Sequence[bytes], vectors: NDArray[np.floating]) -> None:
        """Store vectors (as one new shard), then compact if the folder holds too many shards.

        Parameters
        ----------
        name : str
            Embedder name.
        keys : sequence of bytes, length n
            From :func:`text_key`.
        vectors : ndarray of float, shape (n, d)
        """
        array = np.ascontiguousarray(vectors, dtype=np.float32)
        if array.ndim != 2 or array.shape[0] != len(keys):
            raise InputError(f"vectors must have shape ({len(keys)}, d), got {array.shape}")
        if any(len(k) != _KEY_BYTES for k in keys):
            raise InputError(f"cache keys must be {_KEY_BYTES} bytes (see text_key)")
        if not keys:
            return
        key_array = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), _KEY_BYTES)
        self._write_shard(name, key_array, array)
        if len(self.shard_paths(name)) > self.max_shards:
            self.compact(name, dimension=array.shape[1])

    def compact(self, name: str, *, dimension: int) -> None:
        """Merge all shards of embedder ``name`` into one (skipped if another process is compacting).

        The merged shard is written before any input shard is deleted, so a crash or a concurrent compaction
        never loses data; concurrent readers skip shards that vanish.
        """
        folder = self.folder(name)
        if not folder.is_dir():
            return
        with try_lock(folder / ".compact.lock") as locked:
            if not locked:
                return
            self._remove_stale_temporaries(folder)
            paths: list[Path] = []
            key_parts: list[NDArray[np.uint8]] = []
            vector_parts: list[NDArray[np.float32]] = []
            for path, keys, vectors in self._iter_shards(name, dimension):
                paths.append(path)
                key_parts.append(keys)
                vector_parts.append(vectors)
            if len(paths) < 2:
                return
            keys = np.concatenate(key_parts)
            vectors = np.concatenate(vector_parts)
            # Drop duplicate keys (first occurrence wins) so merged shards do not grow without bound.
            _, first = np.unique(keys.view(f"V{_KEY_BYTES}").ravel(), return_index=True)
            first.sort()
            self._write_shard(name, np.ascontiguousarray(keys[first]), np.ascontiguousarray(vectors[first]))
            for path in paths:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
            logger.debug("compacted %d embedding cache shards in %s", len(paths), folder)

    @staticmethod
    def _remove_stale_temporaries(folder: Path) -> None:
        cutoff = time.time() - _STALE_TMP_SECONDS
        for tmp in folder.glob(f"{_TMP_PREFIX}*"):
            with contextlib.suppress(OSError):
                if tmp.stat().st_mtime < cutoff:
                    tmp.unlink()


def _open_regular(path: Path) -> BinaryIO:
    """Open ``path`` for reading only if it is a regular file; anything else (a FIFO, a device, a folder, a
    symlink) is a bad shard. The open never blocks: a FIFO that appears between the check and the open is
    opened non-blocking and rejected by ``fstat``."""
    mode = os.lstat(path).st_mode  # FileNotFoundError: the shard vanished, which the caller tolerates
    if not stat.S_ISREG(mode):
        raise _BadShard(f"not a regular file (mode {stat.filemode(mode)})")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError as exc:  # ELOOP: replaced by a symlink since the check
        raise _BadShard(f"cannot be opened: {exc}") from exc
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _BadShard(f"not a regular file (mode {stat.filemode(mode)})")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


@contextlib.contextmanager
def try_lock(path: Path) -> Iterator[bool]:
    """Non-blocking advisory lock: yields False if another process holds it (True where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: compaction is still safe, only possibly duplicated
        yield True
        return
    handle = open(path, "a+b")
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    finally:
        handle.close()


def encode_cached(embedder: Embedder, texts: Sequence[str], *, cache: EmbeddingCache | None) -> NDArray[np.float32]:
    """Embed texts, reusing and filling an on-disk cache.

    Texts are deduplicated; cached vectors are looked up under ``embedder.name``; only the misses are
    encoded, in a single ``embedder.encode`` call, and stored as a new shard.

    Parameters
    ----------
    embedder : Embedder
    texts : sequence of str, length n
    cache : EmbeddingCache or None
        ``None``: no disk cache (texts are still deduplicated).

    Returns
    -------
    ndarray of float32, shape (n, d)
        Rows in input order.

    Examples
    --------
    >>> from gscp_match.text._embed import HashingEmbedder
    >>> encode_cached(HashingEmbedder(8), ["a", "b", "a"], cache=None).shape
    (3, 8)
    """
    if isinstance(texts, str):
        raise InputError("texts must be a sequence of strings, not a single string")
    items = list(texts)
    for i, t in enumerate(items):
        if not isinstance(t, str):
            raise InputError(f"texts[{i}] is {type(t).__name__}, expected str")
    dimension = int(embedder.dimension)
    unique: dict[str, int] = {}
    inverse = np.fromiter((unique.setdefault(t, len(unique)) for t in items), dtype=np.int64, count=len(items))
    unique_texts = list(unique)
    if not unique_texts:
        return np.zeros((0, dimension), dtype=np.float32)

    if cache is None:
        found = np.zeros(len(unique_texts), dtype=bool)
        vectors = np.zeros((len(unique_texts), dimension), dtype=np.float32)
        keys: list[bytes] = []
    else:
        keys = [text_key(t) for t in unique_texts]
        found, vectors = cache.get(embedder.name, keys, dimension=dimension)

    missing = np.flatnonzero(~found)
    if missing.size:
        encoded = np.asarray(embedder.encode([unique_texts[i] for i in missing]), dtype=np.float32)
        if encoded.shape != (missing.size, dimension):
            raise InputError(
                f"embedder {embedder.name!r} returned shape {encoded.shape}, expected ({missing.size}, {dimension})"
            )
        vectors[missing] = encoded
        if cache is not None:
            try:
                cache.put(embedder.name, [keys[i] for i in missing], encoded)
            except OSError as exc:  # a cache that cannot be written must not lose the computed vectors
                logger.warning("could not write the embedding cache in %s: %s", cache.directory, exc)
    return vectors[inverse]


#: Counts at or above this are not remembered: float32 holds every integer below it exactly.
_EXACT_FLOAT32 = 1 << 24


class CachedTokenCounter:
    """An embedder's ``count_tokens`` that remembers each text's count in an :class:`EmbeddingCache`.

    Splitting texts into passages (:func:`gscp_match.text._passages.explode_documents`) needs token counts; with
    every text already counted, a run loads no tokenizer (nor, for the torch embedder, the model). Counts are kept
    under ``"<embedder name>:token-counts"`` (the name holds the model's fingerprint, its tokenizer included), read
    from disk once per counter, and each call that counted new texts writes them as one new shard.

    Parameters
    ----------
    embedder : Embedder
    cache : EmbeddingCache or None
        ``None``: every call goes to ``embedder.count_tokens``.

    Examples
    --------
    >>> import tempfile
    >>> from gscp_match.text._embed import HashingEmbedder
    >>> cache = EmbeddingCache(tempfile.mkdtemp())
    >>> CachedTokenCounter(HashingEmbedder(), cache)(["bus rapid transit", ""]).tolist()
    [3, 0]
    """

    def __init__(self, embedder: Embedder, cache: EmbeddingCache | None) -> None:
        self.embedder = embedder
        self.cache = cache
        self.name = f"{embedder.name}:token-counts"
        self._counts: dict[bytes, int] | None = None

    def __repr__(self) -> str:
        return f"CachedTokenCounter({self.embedder!r}, {self.cache!r})"

    def _remembered(self) -> dict[bytes, int]:
        if self._counts is None:
            counts: dict[bytes, int] = {}
            if self.cache is not None:
                for _, keys, values in self.cache._iter_shards(self.name, 1):
                    flat = keys.tobytes()
                    for row, value in enumerate(values[:, 0].tolist()):
                        if value.is_integer() and 0 <= value < _EXACT_FLOAT32:
                            counts.setdefault(flat[row * _KEY_BYTES : (row + 1) * _KEY_BYTES], int(value))
            self._counts = counts
        return self._counts

    def __call__(self, texts: Sequence[str]) -> NDArray[np.int64]:
        """Word pieces per text, special tokens included: shape ``(n,)`` int64, as ``embedder.count_tokens``."""
        if isinstance(texts, str):
            raise InputError("texts must be a sequence of strings, not a single string")
        items = list(texts)
        if self.cache is None:
            return np.asarray(self.embedder.count_tokens(items), dtype=np.int64).reshape(-1)
        counts = self._remembered()
        keys = [text_key(t) for t in items]
        missing = {key: text for key, text in zip(keys, items, strict=True) if key not in counts}
        if missing:
            new = np.asarray(self.embedder.count_tokens(list(missing.values())), dtype=np.int64).reshape(-1)
            if new.shape != (len(missing),):
                raise ValueError(f"embedder {self.embedder.name!r} counted {new.size} texts of {len(missing)}")
            counts.update(zip(missing, new.tolist(), strict=True))
            exact = new < _EXACT_FLOAT32
            try:
                self.cache.put(
                    self.name,
                    [key for key, keep in zip(missing, exact.tolist(), strict=True) if keep],
                    new[exact].astype(np.float32)[:, None],
                )
            except OSError as exc:  # a cache that cannot be written costs a tokenizer load next time
                logger.warning("could not remember token counts in %s: %s", self.cache.directory, exc)
        return np.fromiter((counts[key] for key in keys), dtype=np.int64, count=len(keys))
