"""A persistent profile store: a roster's records, passages and embeddings in Parquet shards, encoded once.

A roster is encoded once and reused across rounds and machines: :meth:`ProfileStore.update` mirrors a roster into
the store and encodes only the profiles that are new or whose texts changed; a change of calendar (``busy``) or of
any other column rewrites the profile's record without encoding anything.

Layout of a store folder::

    manifest.json            what the store holds: format version, embedder name, dimension, passage limit, and
                             the shards in expert_id order (file, first and last id, profiles, passages)
    shard-<hex>.parquet      contiguous runs of profiles sorted by expert_id, one row per profile
    .update.lock             held while an update runs

Each shard row holds the expert's record in file form (every column of the experts table as text, ``busy``
included) and four internal columns:

* ``_content_hash``: 16 bytes, blake2b of the texts that are embedded (the bio and each evidence title and text,
  in order) and of the passage limit. With the embedder fixed by the manifest, equal hashes mean equal passages
  and equal embeddings, so the profile is not encoded again;
* ``_record_hash``: 16 bytes, blake2b of the record (all columns); a changed record is rewritten, not re-encoded;
* ``_passages``: list of the passages that were embedded;
* ``_embeddings``: list of float32 vectors (fixed size ``dimension``), one per passage, L2-normalised.

Every shard also carries the embedder name, dimension and passage limit in its Parquet metadata, so a shard copied
on its own still says what it is. Files are never modified: an update writes new shards (a temporary file, then a
rename), then replaces ``manifest.json`` atomically, then deletes the shards the new manifest no longer lists.
Readers only open shards listed by the manifest they read.

A store holds one embedder's vectors: opening it with another embedder is an error that names both (use another
folder, or ``update(..., rebuild=True)`` to re-encode everything).

This module does not import Dask; ``update(..., scheduler=...)`` hands the shard jobs to
:mod:`gscp_match.scale._distributed`, which runs them on Dask workers that write the shards themselves.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray

from gscp_match.errors import InputError
from gscp_match.scale._dask import run_encoding_jobs
from gscp_match.tables._io import atomic_path
from gscp_match.tables._schema import to_file_form
from gscp_match.tables._validate import as_table, check_references, validate_table
from gscp_match.text._cache import text_key, try_lock
from gscp_match.text._embed import Embedder
from gscp_match.text._load import load_embedder
from gscp_match.text._similarity import DEFAULT_PASSAGE_TOKENS
from gscp_match.text._texts import expert_documents

if TYPE_CHECKING:
    from gscp_match.scale._dask import Scheduler

__all__ = [
    "ProfileStore",
    "StoreError",
    "StoreManifest",
    "ShardEntry",
    "StoredRoster",
    "StoreUpdate",
    "ShardJob",
    "ShardResult",
    "build_shard",
    "read_shards",
    "content_hashes",
    "record_hashes",
    "DEFAULT_SHARD_SIZE",
]

log = logging.getLogger(__name__)

#: Profiles per shard when a store is first built (a shard is split when it grows past twice this).
DEFAULT_SHARD_SIZE = 50_000
FORMAT = "gscp_match profile store"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_LOCK = ".update.lock"
_METADATA_KEY = b"gscp_match.profile_store"
_HASH_BYTES = 16
_INTERNAL = ("_content_hash", "_record_hash", "_passages", "_embeddings")
_STALE_TMP_SECONDS = 3600.0


class StoreError(InputError):
    """A profile store that cannot be used as asked: another embedder, a damaged manifest or shard, a running update.

    An :class:`~gscp_match.errors.InputError` (so a ``ValueError``): the command line prints it as one line.
    """


# ---------------------------------------------------------------------------------------------------------------
# Records.


@dataclass(frozen=True, slots=True)
class ShardEntry:
    """One shard as the manifest lists it.

    Attributes
    ----------
    file : str
        File name inside the store folder.
    first_id, last_id : str
        Smallest and largest ``expert_id`` in the shard.
    profiles, passages : int
        Rows (profiles) and embedded passages in the shard.
    """

    file: str
    first_id: str
    last_id: str
    profiles: int
    passages: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "first_id": self.first_id,
            "last_id": self.last_id,
            "profiles": self.profiles,
            "passages": self.passages,
        }


@dataclass(frozen=True, slots=True)
class StoreManifest:
    """What a store holds (``manifest.json``).

    Attributes
    ----------
    embedder : str
        Name of the embedder every vector came from (:attr:`gscp_match.text._embed.Embedder.name`).
    dimension : int
        Length ``d`` of the vectors.
    passage_tokens : int
        Longest passage, in the embedder's tokens, that texts were split into.
    columns : tuple of str
        Record columns (file form) of every profile, ``expert_id`` first.
    shards : tuple of ShardEntry
        In ``expert_id`` order; shard ``i`` holds ids from its ``first_id`` up to before shard ``i + 1``'s.
    updated : str
        UTC time of the last update, ISO 8601.
    """

    embedder: str
    dimension: int
    passage_tokens: int
    columns: tuple[str, ...]
    shards: tuple[ShardEntry, ...]
    updated: str = ""

    @property
    def profiles(self) -> int:
        """Profiles in the store."""
        return sum(s.profiles for s in self.shards)

    @property
    def passages(self) -> int:
        """Embedded passages in the store."""
        return sum(s.passages for s in self.shards)

    def to_json(self) -> str:
        data = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "embedder": self.embedder,
            "dimension": self.dimension,
            "passage_tokens": self.passage_tokens,
            "profiles": self.profiles,
            "passages": self.passages,
            "columns": list(self.columns),
            "updated": self.updated,
            "shards": [s.as_dict() for s in self.shards],
        }
        return json.dumps(data, ensure_ascii=False, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str, *, source: str) -> StoreManifest:
        """Parse and check a manifest; any problem is a :class:`StoreError` naming ``source``."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise StoreError(f"{source}: not valid JSON ({exc})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise StoreError(f"{source}: not a gscp_match profile store manifest (no 'format': {FORMAT!r})")
        if data.get("version") != FORMAT_VERSION:
            raise StoreError(
                f"{source}: store format version {data.get('version')!r}, this gscp_match reads version "
                f"{FORMAT_VERSION}; rebuild the store with update(..., rebuild=True)"
            )
        try:
            shards = tuple(
                ShardEntry(
                    file=str(s["file"]),
                    first_id=str(s["first_id"]),
                    last_id=str(s["last_id"]),
                    profiles=int(s["profiles"]),
                    passages=int(s["passages"]),
                )
                for s in data["shards"]
            )
            manifest = cls(
                embedder=str(data["embedder"]),
                dimension=int(data["dimension"]),
                passage_tokens=int(data["passage_tokens"]),
                columns=tuple(str(c) for c in data["columns"]),
                shards=shards,
                updated=str(data.get("updated", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreError(f"{source}: malformed manifest ({type(exc).__name__}: {exc})") from None
        for a, b in zip(shards, shards[1:], strict=False):
            if not a.last_id < b.first_id:
                raise StoreError(f"{source}: shards {a.file} and {b.file} are not in expert_id order")
        return manifest


@dataclass(frozen=True, slots=True)
class StoredRoster:
    """Profiles read back from a store, ready for the scoring core.

    Attributes
    ----------
    experts : DataFrame
        The validated experts table (as :func:`gscp_match.validate_table` returns it), sorted by ``expert_id``.
    passages : list of str, length n_passages
        The embedded passages, grouped by expert.
    doc_offsets : (n_experts + 1,) int64
        Expert ``e``'s passages are ``passages[doc_offsets[e]:doc_offsets[e+1]]``.
    doc_embeddings : (n_passages, d) float32
        One L2-normalised row per passage.
    embedder : str
        The embedder the vectors came from.
    """

    experts: pd.DataFrame
    passages: list[str]
    doc_offsets: NDArray[np.int64]
    doc_embeddings: NDArray[np.float32]
    embedder: str


@dataclass(frozen=True, slots=True)
class StoreUpdate:
    """What :meth:`ProfileStore.update` did.

    Attributes
    ----------
    profiles : int
        Profiles in the store afterwards (the roster given).
    encoded : int
        Profiles whose texts were encoded (new, or texts changed).
    texts_encoded : int
        Passages encoded.
    removed : int
        Profiles in the store before that are not in the roster.
    shards_written, shards_kept : int
        Shards written by this update, and shards left as they were.
    """

    profiles: int
    encoded: int
    texts_encoded: int
    removed: int
    shards_written: int
    shards_kept: int


@dataclass(frozen=True, slots=True)
class ShardJob:
    """Everything a worker needs to write one shard (picklable, no model inside).

    Attributes
    ----------
    directory : str
        The store folder (shared between the client and the workers).
    records : DataFrame
        The shard's profiles in file form (every cell text), sorted by ``expert_id``.
    evidence : DataFrame or None
        Evidence rows of these profiles, in the evidence table's order.
    content_hash, record_hash : (n_profiles, 16) uint8
        See :func:`content_hashes` and :func:`record_hashes`.
    reuse : tuple of str
        Shard files of the current manifest that hold some of these profiles with the same content hash.
    embedder : str
        Name of the embedder that must be used.
    dimension, passage_tokens : int
    planned : int
        Profiles the plan expects to encode (no stored vectors with the same content hash).
    """

    directory: str
    records: pd.DataFrame
    evidence: pd.DataFrame | None
    content_hash: NDArray[np.uint8]
    record_hash: NDArray[np.uint8]
    reuse: tuple[str, ...]
    embedder: str
    dimension: int
    passage_tokens: int
    planned: int

    def __len__(self) -> int:
        return len(self.records)


@dataclass(frozen=True, slots=True)
class ShardResult:
    """A shard written by :func:`build_shard`: its manifest entry and how much was encoded."""

    entry: ShardEntry
    encoded: int
    texts_encoded: int


# ---------------------------------------------------------------------------------------------------------------
# Hashes.


def _evidence_groups(ids: NDArray[np.object_], evidence: pd.DataFrame | None) -> tuple[NDArray[np.int64], NDArray]:
    """Evidence rows ordered by owner (stable: table order within an owner) and the owners' row bounds.

    Returns ``(order, bounds)``: ``order`` indexes ``evidence`` rows; expert ``e``'s evidence is
    ``order[bounds[e]:bounds[e+1]]``.
    """
    if evidence is None or len(evidence) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(len(ids) + 1, dtype=np.int64)
    owner = np.searchsorted(ids, evidence["expert_id"].to_numpy(dtype=object))
    owner = np.minimum(owner, max(len(ids) - 1, 0))
    known = ids[owner] == evidence["expert_id"].to_numpy(dtype=object) if len(ids) else np.zeros(len(owner), bool)
    rows = np.flatnonzero(known)
    order = rows[np.argsort(owner[rows], kind="stable")]
    bounds = np.searchsorted(owner[order], np.arange(len(ids) + 1)).astype(np.int64)
    return order.astype(np.int64), bounds


def content_hashes(experts: pd.DataFrame, evidence: pd.DataFrame | None, *, passage_tokens: int) -> NDArray[np.uint8]:
    """Per profile, blake2b-128 of the texts that are embedded: the bio and each evidence title and text, in order.

    Parameters
    ----------
    experts : DataFrame
        Sorted by ``expert_id`` (rows are profiles); needs ``expert_id`` and ``bio``.
    evidence : DataFrame or None
        Needs ``expert_id``, ``title`` and ``text``; rows of unknown experts are ignored.
    passage_tokens : int
        The passage limit texts are split with; part of the hash, since other passages give other vectors.

    Returns
    -------
    (n_experts, 16) uint8

    Examples
    --------
    >>> experts = pd.DataFrame({"expert_id": ["E1", "E2"], "bio": ["BRT planner", "BRT planner"]})
    >>> evidence = pd.DataFrame({"expert_id": ["E2"], "title": ["Rabat"], "text": ["Bus reform"]})
    >>> h = content_hashes(experts, evidence, passage_tokens=128)
    >>> h.shape, bool((h[0] == h[1]).all())
    ((2, 16), False)
    """
    ids = experts["expert_id"].to_numpy(dtype=object)
    bios = experts["bio"].to_numpy(dtype=object)
    order, bounds = _evidence_groups(ids, evidence)
    titles = evidence["title"].to_numpy(dtype=object)[order] if evidence is not None else order
    texts = evidence["text"].to_numpy(dtype=object)[order] if evidence is not None else order
    out = np.empty((len(ids), _HASH_BYTES), dtype=np.uint8)
    for e in range(len(ids)):
        a, b = bounds[e], bounds[e + 1]
        docs = [str(bios[e])] + [[str(titles[i]), str(texts[i])] for i in range(a, b)]
        payload = json.dumps([passage_tokens, docs], ensure_ascii=False)
        out[e] = np.frombuffer(text_key(payload), dtype=np.uint8)
    return out


def record_hashes(records: pd.DataFrame) -> NDArray[np.uint8]:
    """Per row, blake2b-128 of a file-form record (column names and every cell).

    >>> r = pd.DataFrame({"expert_id": ["E1", "E2"], "busy": ["", ""]})
    >>> record_hashes(r).shape
    (2, 16)
    """
    columns = [str(c) for c in records.columns]
    cells = [records[c].to_numpy(dtype=object) for c in records.columns]
    out = np.empty((len(records), _HASH_BYTES), dtype=np.uint8)
    for row in range(len(records)):
        payload = json.dumps([columns, [str(col[row]) for col in cells]], ensure_ascii=False)
        out[row] = np.frombuffer(text_key(payload), dtype=np.uint8)
    return out


# ---------------------------------------------------------------------------------------------------------------
# Arrow helpers.


def _ranges(starts: NDArray[np.int64], lengths: NDArray[np.int64]) -> NDArray[np.int64]:
    """Concatenation of ``arange(s, s + n)`` for each start and length.

    >>> _ranges(np.array([5, 0]), np.array([2, 3])).tolist()
    [5, 6, 0, 1, 2]
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(lengths)
    first = np.repeat(np.asarray(starts, dtype=np.int64) - (ends - lengths), lengths)
    return first + np.arange(total, dtype=np.int64)


def _fixed_binary(array: NDArray[np.uint8]) -> pa.Array:
    n = array.shape[0]
    buffer = pa.py_buffer(np.ascontiguousarray(array, dtype=np.uint8).tobytes())
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(_HASH_BYTES), n, [None, buffer])


def _from_fixed_binary(column: pa.ChunkedArray) -> NDArray[np.uint8]:
    if column.num_chunks == 0 or len(column) == 0:
        return np.zeros((0, _HASH_BYTES), dtype=np.uint8)
    parts = []
    for chunk in column.chunks:
        if chunk.null_count:
            raise StoreError("a profile hash is missing")
        raw = np.frombuffer(chunk.buffers()[1], dtype=np.uint8)
        start = chunk.offset * _HASH_BYTES
        parts.append(raw[start : start + len(chunk) * _HASH_BYTES].reshape(len(chunk), _HASH_BYTES))
    return np.concatenate(parts)


def _list_parts(column: pa.ChunkedArray) -> tuple[pa.Array, NDArray[np.int64]]:
    """A list column's values and per-row offsets (starting at 0)."""
    array = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    offsets = np.asarray(array.offsets, dtype=np.int64)
    return array.flatten(), offsets - offsets[0]


def _shard_metadata(embedder: str, dimension: int, passage_tokens: int) -> dict[bytes, bytes]:
    info = {"version": FORMAT_VERSION, "embedder": embedder, "dimension": dimension, "passage_tokens": passage_tokens}
    return {_METADATA_KEY: json.dumps(info).encode("utf-8")}


# ---------------------------------------------------------------------------------------------------------------
# Building a shard (runs on a worker, or in the calling process).


@dataclass(frozen=True, slots=True)
class _Vectors:
    ids: NDArray[np.object_]
    content_hash: NDArray[np.uint8]
    passages: NDArray[np.object_]
    offsets: NDArray[np.int64]
    embeddings: NDArray[np.float32]


def _read_vectors(path: Path, *, embedder: str, dimension: int) -> _Vectors:
    table = _read_shard_table(path, embedder=embedder, dimension=dimension, columns=["expert_id", *_INTERNAL])
    passages, offsets = _list_parts(table.column("_passages"))
    vectors, vector_offsets = _list_parts(table.column("_embeddings"))
    if not np.array_equal(offsets, vector_offsets):
        raise StoreError(f"{path}: passages and embeddings do not line up")
    flat = np.asarray(vectors.flatten().to_numpy(zero_copy_only=False), dtype=np.float32)
    return _Vectors(
        ids=np.asarray(table.column("expert_id").to_pylist(), dtype=object),
        content_hash=_from_fixed_binary(table.column("_content_hash")),
        passages=np.asarray(passages.to_pylist(), dtype=object),
        offsets=offsets,
        embeddings=flat.reshape(-1, dimension),
    )


def build_shard(job: ShardJob, embedder: Embedder) -> ShardResult:
    """Write one shard: reuse the vectors of unchanged profiles, split and encode the others.

    Parameters
    ----------
    job : ShardJob
    embedder : Embedder
        Must be named ``job.embedder``; it is only called when some profile has to be encoded.

    Returns
    -------
    ShardResult
    """
    if embedder.name != job.embedder:
        raise StoreError(f"shard job for embedder {job.embedder!r} got embedder {embedder.name!r}")
    directory = Path(job.directory)
    records = job.records
    ids = records["expert_id"].to_numpy(dtype=object)
    n = len(ids)
    counts = np.zeros(n, dtype=np.int64)
    source = np.full(n, -1, dtype=np.int64)  # which reused shard (index into `reused`) holds the profile; -1: encode
    source_row = np.zeros(n, dtype=np.int64)
    reused: list[_Vectors] = []
    for file in job.reuse:
        old = _read_vectors(directory / file, embedder=job.embedder, dimension=job.dimension)
        pos = np.searchsorted(ids, old.ids)
        pos = np.minimum(pos, max(n - 1, 0))
        hit = (ids[pos] == old.ids) & (job.content_hash[pos] == old.content_hash).all(axis=1) if n else pos < 0
        hit &= source[pos] < 0
        rows = np.flatnonzero(hit)
        source[pos[rows]] = len(reused)
        source_row[pos[rows]] = rows
        counts[pos[rows]] = np.diff(old.offsets)[rows]
        reused.append(old)

    to_encode = np.flatnonzero(source < 0)
    new_passages: list[str] = []
    new_offsets = np.zeros(to_encode.size + 1, dtype=np.int64)
    new_vectors = np.zeros((0, job.dimension), dtype=np.float32)
    if to_encode.size:
        subset = records.iloc[to_encode].reset_index(drop=True)
        evidence = job.evidence
        if evidence is not None and len(evidence):
            evidence = evidence[evidence["expert_id"].isin(set(subset["expert_id"]))].reset_index(drop=True)
        docs = expert_documents(subset, evidence, max_tokens=job.passage_tokens, count_tokens=embedder.count_tokens)
        new_passages = docs.passages
        new_offsets = docs.offsets.astype(np.int64)
        new_vectors = np.asarray(embedder.encode(new_passages), dtype=np.float32)
        if new_vectors.shape != (len(new_passages), job.dimension):
            raise StoreError(
                f"embedder {embedder.name!r} returned shape {new_vectors.shape}, "
                f"expected ({len(new_passages)}, {job.dimension})"
            )
        counts[to_encode] = np.diff(new_offsets)

    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    embeddings = np.empty((int(offsets[-1]), job.dimension), dtype=np.float32)
    passages = np.empty(int(offsets[-1]), dtype=object)
    sources: list[tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.object_], NDArray[np.float32], NDArray]] = [
        (to_encode, np.arange(to_encode.size), np.asarray(new_passages, dtype=object), new_vectors, new_offsets)
    ]
    for s, old in enumerate(reused):
        rows = np.flatnonzero(source == s)
        sources.append((rows, source_row[rows], old.passages, old.embeddings, old.offsets))
    for dest_rows, src_rows, src_passages, src_vectors, src_offsets in sources:
        if dest_rows.size == 0:
            continue
        dest = _ranges(offsets[dest_rows], counts[dest_rows])
        src = _ranges(src_offsets[src_rows], counts[dest_rows])
        embeddings[dest] = src_vectors[src]
        passages[dest] = src_passages[src]

    entry = _write_shard(
        directory,
        records,
        job.content_hash,
        job.record_hash,
        passages,
        offsets,
        embeddings,
        embedder=job.embedder,
        passage_tokens=job.passage_tokens,
    )
    return ShardResult(entry=entry, encoded=int(to_encode.size), texts_encoded=len(new_passages))


def _write_shard(
    directory: Path,
    records: pd.DataFrame,
    content_hash: NDArray[np.uint8],
    record_hash: NDArray[np.uint8],
    passages: NDArray[np.object_],
    offsets: NDArray[np.int64],
    embeddings: NDArray[np.float32],
    *,
    embedder: str,
    passage_tokens: int,
) -> ShardEntry:
    dimension = embeddings.shape[1]
    columns: dict[str, pa.Array] = {
        str(c): pa.array(records[c].to_numpy(dtype=object), type=pa.string()) for c in records.columns
    }
    offsets32 = pa.array(offsets.astype(np.int32))
    columns["_content_hash"] = _fixed_binary(content_hash)
    columns["_record_hash"] = _fixed_binary(record_hash)
    columns["_passages"] = pa.ListArray.from_arrays(offsets32, pa.array(list(passages), type=pa.string()))
    flat = pa.array(np.ascontiguousarray(embeddings).ravel(), type=pa.float32())
    columns["_embeddings"] = pa.ListArray.from_arrays(offsets32, pa.FixedSizeListArray.from_arrays(flat, dimension))
    table = pa.table(columns).replace_schema_metadata(_shard_metadata(embedder, dimension, passage_tokens))
    name = f"shard-{time.time_ns():020d}-{uuid.uuid4().hex[:12]}.parquet"
    with atomic_path(directory / name) as tmp:
        pq.write_table(
            table,
            tmp,
            compression="zstd",
            use_dictionary=[str(c) for c in records.columns],
            row_group_size=16_384,
        )
    ids = records["expert_id"]
    return ShardEntry(
        file=name,
        first_id=str(ids.iloc[0]),
        last_id=str(ids.iloc[-1]),
        profiles=len(records),
        passages=int(offsets[-1]),
    )


def _read_shard_table(path: Path, *, embedder: str, dimension: int, columns: Sequence[str] | None = None) -> pa.Table:
    try:
        schema = pq.read_schema(path)
    except FileNotFoundError:
        raise StoreError(
            f"{path}: shard listed in the manifest is missing (was the store updated while it was read?)"
        ) from None
    except (OSError, pa.ArrowException) as exc:
        raise StoreError(f"{path}: cannot be read as a Parquet shard ({exc})") from None
    raw = (schema.metadata or {}).get(_METADATA_KEY)
    if raw is None:
        raise StoreError(f"{path}: not a gscp_match profile store shard (no {_METADATA_KEY.decode()} metadata)")
    info = json.loads(raw)
    if info.get("embedder") != embedder or int(info.get("dimension", -1)) != dimension:
        raise StoreError(
            f"{path}: shard was written with embedder {info.get('embedder')!r} (dimension {info.get('dimension')}),"
            f" the manifest says {embedder!r} (dimension {dimension})"
        )
    try:
        return pq.read_table(path, columns=list(columns) if columns is not None else None)
    except (OSError, pa.ArrowException) as exc:
        raise StoreError(f"{path}: cannot be read ({exc})") from None


def read_shards(
    directory: str | os.PathLike[str], manifest: StoreManifest, entries: Sequence[ShardEntry]
) -> StoredRoster:
    """Read the given shards of a manifest (in that order): validated records, passages and embeddings.

    Workers call this with the manifest the client read, so every task sees the same snapshot of the store.
    """
    directory = Path(directory)
    frames: list[pd.DataFrame] = []
    passages: list[str] = []
    offsets = [np.zeros(1, dtype=np.int64)]
    vectors: list[NDArray[np.float32]] = []
    for entry in entries:
        path = directory / entry.file
        table = _read_shard_table(path, embedder=manifest.embedder, dimension=manifest.dimension)
        if table.num_rows != entry.profiles:
            raise StoreError(f"{path}: {table.num_rows} profiles, the manifest says {entry.profiles}")
        values, local = _list_parts(table.column("_passages"))
        flat, vector_offsets = _list_parts(table.column("_embeddings"))
        if not np.array_equal(local, vector_offsets) or int(local[-1]) != entry.passages:
            raise StoreError(f"{path}: passages and embeddings do not line up with the manifest")
        frames.append(table.select(list(manifest.columns)).to_pandas().astype(object))
        passages.extend(values.to_pylist())
        offsets.append(local[1:] + offsets[-1][-1])
        array = np.asarray(flat.flatten().to_numpy(zero_copy_only=False), dtype=np.float32)
        vectors.append(array.reshape(-1, manifest.dimension))
    records = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(manifest.columns))
    experts = validate_table(records, "experts") if len(records) else records
    if len(experts):
        experts.attrs["source"] = str(directory)
    return StoredRoster(
        experts=experts,
        passages=passages,
        doc_offsets=np.concatenate(offsets).astype(np.int64),
        doc_embeddings=np.concatenate(vectors) if vectors else np.zeros((0, manifest.dimension), dtype=np.float32),
        embedder=manifest.embedder,
    )


# ---------------------------------------------------------------------------------------------------------------
# The store.


class ProfileStore:
    """Experts' records, passages and embeddings in Parquet shards, encoded once and reused.

    Parameters
    ----------
    directory : str or os.PathLike
        The store folder (created by the first update). For Dask workers it must be the same path on every
        machine: a shared file system (NFS, Lustre, a mounted bucket).

    Examples
    --------
    >>> import tempfile
    >>> from gscp_match import load_demo
    >>> demo = load_demo()
    >>> store = ProfileStore(tempfile.mkdtemp())
    >>> store.update(demo.experts, evidence=demo.evidence, embedder="hashing").encoded
    200
    >>> store.update(demo.experts, evidence=demo.evidence, embedder="hashing").encoded
    0
    >>> store.load().doc_embeddings.shape[1]
    64
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory).expanduser()

    def __repr__(self) -> str:
        return f"ProfileStore({str(self.directory)!r})"

    @property
    def manifest_path(self) -> Path:
        return self.directory / MANIFEST

    def manifest(self) -> StoreManifest | None:
        """The current manifest, or None when the store has never been written."""
        try:
            text = self.manifest_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        return StoreManifest.from_json(text, source=str(self.manifest_path))

    def check_embedder(self, embedder: Embedder | str | os.PathLike[str]) -> StoreManifest:
        """The manifest, after checking that the store was built with ``embedder``.

        ``embedder`` is an Embedder, an embedder name (``manifest.embedder``), or a specification that
        :func:`gscp_match.text._load.load_embedder` takes (``"hashing"``, a model folder).

        Raises
        ------
        StoreError
            If the store is empty or was built with another embedder.
        """
        manifest = self.manifest()
        if manifest is None:
            raise StoreError(f"{self.directory}: no profile store here (no {MANIFEST}); build it with update()")
        if isinstance(embedder, str) and embedder == manifest.embedder:
            return manifest
        name = load_embedder(embedder).name
        if manifest.embedder != name:
            raise StoreError(_embedder_message(self.directory, manifest, name))
        return manifest

    # -- reading -------------------------------------------------------------------------------------------
    def load(
        self, *, embedder: Embedder | str | os.PathLike[str] | None = None, shards: Sequence[int] | None = None
    ) -> StoredRoster:
        """Read profiles back: the validated experts table, passages and embeddings.

        Parameters
        ----------
        embedder : Embedder, str or path, optional
            When given, the store must have been built with it (else :class:`StoreError`); see
            :meth:`check_embedder`.
        shards : sequence of int, optional
            Only these shards (positions in the manifest); default all. Shards are contiguous in id order, so
            consecutive shards give a contiguous block of the roster.
        """
        manifest = self.check_embedder(embedder) if embedder is not None else self.manifest()
        if manifest is None:
            raise StoreError(f"{self.directory}: no profile store here (no {MANIFEST}); build it with update()")
        chosen = manifest.shards if shards is None else tuple(manifest.shards[i] for i in shards)
        return read_shards(self.directory, manifest, chosen)

    def ids(self) -> NDArray[np.object_]:
        """(n_profiles,) every stored ``expert_id`` in row order (sorted): row ``e`` of a store-wide result is
        ``ids()[e]``. Reads one column of each shard."""
        manifest = self.manifest()
        if manifest is None:
            raise StoreError(f"{self.directory}: no profile store here (no {MANIFEST}); build it with update()")
        parts = [
            _read_shard_table(
                self.directory / s.file, embedder=manifest.embedder, dimension=manifest.dimension, columns=["expert_id"]
            )
            .column("expert_id")
            .to_pylist()
            for s in manifest.shards
        ]
        return np.asarray([i for part in parts for i in part], dtype=object)

    def _hashes(
        self, manifest: StoreManifest | None
    ) -> tuple[NDArray[np.object_], NDArray[np.uint8], NDArray[np.uint8], NDArray[np.int64]]:
        """ids, content hashes, record hashes and shard index of every stored profile, in id order."""
        empty = np.zeros((0, _HASH_BYTES), dtype=np.uint8)
        if manifest is None or not manifest.shards:
            return np.zeros(0, dtype=object), empty, empty, np.zeros(0, dtype=np.int64)
        ids, content, record, shard = [], [], [], []
        for i, entry in enumerate(manifest.shards):
            table = _read_shard_table(
                self.directory / entry.file,
                embedder=manifest.embedder,
                dimension=manifest.dimension,
                columns=["expert_id", "_content_hash", "_record_hash"],
            )
            ids.append(np.asarray(table.column("expert_id").to_pylist(), dtype=object))
            content.append(_from_fixed_binary(table.column("_content_hash")))
            record.append(_from_fixed_binary(table.column("_record_hash")))
            shard.append(np.full(table.num_rows, i, dtype=np.int64))
        return np.concatenate(ids), np.concatenate(content), np.concatenate(record), np.concatenate(shard)

    # -- writing -------------------------------------------------------------------------------------------
    def update(
        self,
        experts: pd.DataFrame | str | os.PathLike[str],
        *,
        evidence: pd.DataFrame | str | os.PathLike[str] | None = None,
        embedder: Embedder | str | os.PathLike[str] | None = None,
        scheduler: Scheduler | None = None,
        shard_size: int = DEFAULT_SHARD_SIZE,
        rebuild: bool = False,
        passage_tokens: int = DEFAULT_PASSAGE_TOKENS,
    ) -> StoreUpdate:
        """Make the store hold exactly this roster, encoding only new profiles and profiles whose texts changed.

        Parameters
        ----------
        experts : DataFrame or path
            The roster (validated here against the experts contract).
        evidence : DataFrame or path, optional
            Evidence rows; their titles and texts are embedded with the bio.
        embedder : Embedder, str, path or None
            As :func:`gscp_match.text._load.load_embedder` takes it; must be the store's embedder unless ``rebuild``.
        scheduler : str or dask.distributed.Client, optional
            None: write the shards in this process. Otherwise the shards are written by Dask workers (see
            :func:`gscp_match.scale._dask.run_encoding_jobs`): ``"threads"``, ``"processes"``, ``"sync"``,
            ``"local"`` (a LocalCluster for this call), a scheduler address, or a Client.
        shard_size : int
            Profiles per shard in a new store; a shard is split when it grows past twice this.
        rebuild : bool
            Ignore what is stored and encode every profile (to change the embedder).
        passage_tokens : int
            Longest passage texts are split into (at most the embedder's limit); a :class:`~gscp_match.Matcher`
            passes its own.

        Returns
        -------
        StoreUpdate

        Raises
        ------
        StoreError
            If the store was built with another embedder (and not ``rebuild``), or another update is running.
        """
        if shard_size < 1:
            raise InputError(f"shard_size must be >= 1, got {shard_size}")
        experts_table = _experts_table(experts)
        evidence_table = _evidence_table(evidence)
        check_references(experts=experts_table, evidence=evidence_table)
        reserved = sorted(set(_INTERNAL) & {str(c) for c in experts_table.columns})
        if reserved:
            raise InputError(f"experts table: column(s) {', '.join(reserved)} are reserved by the profile store")
        emb = load_embedder(embedder)
        passage_tokens = min(int(emb.max_tokens), int(passage_tokens))
        dimension = int(emb.dimension)

        self.directory.mkdir(parents=True, exist_ok=True)
        with _update_lock(self.directory / _LOCK):
            old = None if rebuild else self.manifest()
            if old is not None and (old.embedder != emb.name or old.dimension != dimension):
                raise StoreError(_embedder_message(self.directory, old, emb.name))
            if old is not None and old.passage_tokens != passage_tokens:
                raise StoreError(
                    f"{self.directory}: the store split texts into passages of {old.passage_tokens} tokens, "
                    f"now {passage_tokens}; use update(..., rebuild=True)"
                )
            records = to_file_form(experts_table)
            ids = records["expert_id"].to_numpy(dtype=object)
            content = content_hashes(experts_table, evidence_table, passage_tokens=passage_tokens)
            record = record_hashes(records)
            jobs, kept, removed = self._plan(
                old, records, evidence_table, content, record, shard_size, emb.name, dimension, passage_tokens
            )
            results = self._run(jobs, emb, scheduler)
            entries = sorted([*kept, *(r.entry for r in results)], key=lambda e: e.first_id)
            manifest = StoreManifest(
                embedder=emb.name,
                dimension=dimension,
                passage_tokens=passage_tokens,
                columns=tuple(str(c) for c in records.columns),
                shards=tuple(entries),
                updated=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            )
            with atomic_path(self.manifest_path) as tmp:
                tmp.write_text(manifest.to_json(), encoding="utf-8")
            self._remove_unlisted(manifest)
        update = StoreUpdate(
            profiles=len(ids),
            encoded=sum(r.encoded for r in results),
            texts_encoded=sum(r.texts_encoded for r in results),
            removed=removed,
            shards_written=len(results),
            shards_kept=len(kept),
        )
        log.info("profile store %s: %s", self.directory, update)
        return update

    def _plan(
        self,
        old: StoreManifest | None,
        records: pd.DataFrame,
        evidence: pd.DataFrame | None,
        content: NDArray[np.uint8],
        record: NDArray[np.uint8],
        shard_size: int,
        embedder: str,
        dimension: int,
        passage_tokens: int,
    ) -> tuple[list[ShardJob], list[ShardEntry], int]:
        """Shard jobs to run, shards to keep, and how many stored profiles the roster drops.

        Shards keep their id ranges across updates, so a changed profile rewrites one shard, not all that follow.
        """
        ids = records["expert_id"].to_numpy(dtype=object)
        n = len(ids)
        old_ids, old_content, old_record, old_shard = self._hashes(old)
        removed = int(np.count_nonzero(~np.isin(old_ids, ids))) if old_ids.size else 0
        if old is None or not old.shards:
            groups = [(a, min(a + shard_size, n), -1) for a in range(0, n, shard_size)]
        else:
            firsts = np.asarray([s.first_id for s in old.shards[1:]], dtype=object)
            which = np.searchsorted(firsts, ids, side="right") if firsts.size else np.zeros(n, dtype=np.int64)
            bounds = np.searchsorted(which, np.arange(len(old.shards) + 1))
            groups = []
            for i in range(len(old.shards)):
                a, b = int(bounds[i]), int(bounds[i + 1])
                if b - a > 2 * shard_size:  # split a grown shard into even parts
                    parts = -(-(b - a) // shard_size)
                    cuts = a + (np.arange(parts + 1) * (b - a)) // parts
                    groups.extend((int(x), int(y), -1) for x, y in zip(cuts[:-1], cuts[1:], strict=True))
                elif b > a:
                    groups.append((a, b, i))
            groups = _merge_small(groups, shard_size)

        jobs: list[ShardJob] = []
        kept: list[ShardEntry] = []
        order, ev_bounds = _evidence_groups(ids, evidence)
        same_columns = old is not None and old.columns == tuple(str(c) for c in records.columns)
        for a, b, i in groups:
            if old is not None and i >= 0 and same_columns:
                in_old = np.flatnonzero(old_shard == i)
                if (
                    in_old.size == b - a
                    and np.array_equal(old_ids[in_old], ids[a:b])
                    and np.array_equal(old_content[in_old], content[a:b])
                    and np.array_equal(old_record[in_old], record[a:b])
                ):
                    kept.append(old.shards[i])
                    continue
            reuse: tuple[str, ...] = ()
            planned = b - a
            if old is not None and old.shards:
                pos = np.minimum(np.searchsorted(old_ids, ids[a:b]), max(old_ids.size - 1, 0))
                same = (old_ids[pos] == ids[a:b]) & (old_content[pos] == content[a:b]).all(axis=1)
                reuse = tuple(old.shards[s].file for s in np.unique(old_shard[pos[same]]))
                planned -= int(np.count_nonzero(same))
            ev_rows = order[ev_bounds[a] : ev_bounds[b]]
            jobs.append(
                ShardJob(
                    directory=str(self.directory),
                    records=records.iloc[a:b].reset_index(drop=True),
                    evidence=(
                        evidence.iloc[np.sort(ev_rows)].reset_index(drop=True)
                        if evidence is not None and ev_rows.size
                        else None
                    ),
                    content_hash=content[a:b],
                    record_hash=record[a:b],
                    reuse=reuse,
                    embedder=embedder,
                    dimension=dimension,
                    passage_tokens=passage_tokens,
                    planned=planned,
                )
            )
        return jobs, kept, removed

    @staticmethod
    def _run(jobs: list[ShardJob], embedder: Embedder, scheduler: Scheduler | None) -> list[ShardResult]:
        if not jobs:
            return []
        if scheduler is None:
            return [build_shard(job, embedder) for job in jobs]
        return run_encoding_jobs(build_shard, jobs, embedder, scheduler=scheduler)

    def _remove_unlisted(self, manifest: StoreManifest) -> None:
        """Delete shard files the manifest does not list, and stale temporaries."""
        listed = {s.file for s in manifest.shards}
        cutoff = time.time() - _STALE_TMP_SECONDS
        for path in self.directory.glob("shard-*.parquet"):
            if path.name not in listed:
                with contextlib.suppress(OSError):
                    path.unlink()
        for path in self.directory.glob(".*.tmp*"):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()


def _merge_small(groups: list[tuple[int, int, int]], shard_size: int) -> list[tuple[int, int, int]]:
    """Merge a shard that shrank below a quarter of ``shard_size`` into its left neighbour when both fit."""
    out: list[tuple[int, int, int]] = []
    for a, b, i in groups:
        if out and (b - a) < shard_size // 4 and (b - out[-1][0]) <= shard_size:
            out[-1] = (out[-1][0], b, -1)
        else:
            out.append((a, b, i))
    return out


def _embedder_message(directory: Path, manifest: StoreManifest, name: str) -> str:
    return (
        f"{directory}: the profile store was built with embedder {manifest.embedder!r} "
        f"(dimension {manifest.dimension}), not {name!r}; embeddings of different models cannot be mixed. "
        "Use another store folder, or update(..., rebuild=True) to re-encode every profile."
    )


def _experts_table(value: pd.DataFrame | str | os.PathLike[str]) -> pd.DataFrame:
    return as_table(value, "experts").sort_values("expert_id", kind="stable").reset_index(drop=True)


def _evidence_table(value: pd.DataFrame | str | os.PathLike[str] | None) -> pd.DataFrame | None:
    if value is None:
        return None
    return as_table(value, "evidence")


@contextlib.contextmanager
def _update_lock(path: Path) -> Iterator[None]:
    """Exclusive, non-blocking lock for an update; a second concurrent update fails at once (no lock on Windows)."""
    with try_lock(path) as locked:
        if not locked:
            raise StoreError(f"{path.parent}: another update of this profile store is running")
        yield
