"""cache.py: hits and misses, isolation between embedders, corrupt shards, concurrent processes."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import pickle
import signal
import zipfile
from pathlib import Path

import numpy as np
import pytest

from gscp_match.errors import InputError
from gscp_match.text import _cache as cache_module
from gscp_match.text._cache import EmbeddingCache, encode_cached, text_key
from gscp_match.text._embed import HashingEmbedder


class CountingEmbedder:
    """Wraps an embedder and records every encode call."""

    def __init__(self, inner):
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self.max_tokens = inner.max_tokens
        self.calls: list[list[str]] = []

    def encode(self, texts):
        self.calls.append(list(texts))
        return self.inner.encode(texts)

    def count_tokens(self, texts):
        return self.inner.count_tokens(texts)

    @property
    def encoded(self) -> int:
        return sum(len(c) for c in self.calls)


TEXTS = [f"expert {i} worked on smart city project {i * 7}" for i in range(10)]


def test_second_run_encodes_only_new_texts(tmp_path, fake_embedder):
    cache = EmbeddingCache(tmp_path)
    counting = CountingEmbedder(fake_embedder)
    first = encode_cached(counting, TEXTS + TEXTS[:4], cache=cache)
    assert counting.encoded == 10 and len(counting.calls) == 1
    np.testing.assert_array_equal(first, fake_embedder.encode(TEXTS + TEXTS[:4]))

    counting.calls.clear()
    new = ["TOPIS traffic centre", "NRW reduction", "BRT corridor"]
    second = encode_cached(counting, TEXTS + new + new, cache=EmbeddingCache(tmp_path))
    assert counting.calls == [new]
    np.testing.assert_array_equal(second, fake_embedder.encode(TEXTS + new + new))

    counting.calls.clear()
    encode_cached(counting, list(reversed(TEXTS + new)), cache=cache)
    assert counting.calls == []


def test_no_cache_still_deduplicates(fake_embedder):
    counting = CountingEmbedder(fake_embedder)
    out = encode_cached(counting, ["a", "b", "a", "a"], cache=None)
    assert counting.calls == [["a", "b"]]
    np.testing.assert_array_equal(out[0], out[2])
    assert encode_cached(counting, [], cache=None).shape == (0, 64)


def test_other_embedder_never_reuses_entries(tmp_path, fake_embedder):
    cache = EmbeddingCache(tmp_path)
    encode_cached(fake_embedder, TEXTS, cache=cache)
    other = CountingEmbedder(HashingEmbedder(dimension=64, seed=1))
    out = encode_cached(other, TEXTS, cache=cache)
    assert other.encoded == len(TEXTS)
    np.testing.assert_array_equal(out, HashingEmbedder(dimension=64, seed=1).encode(TEXTS))
    assert cache.folder(fake_embedder.name) != cache.folder(other.name)


def test_shard_copied_into_another_embedders_folder_is_rejected(tmp_path, fake_embedder):
    cache = EmbeddingCache(tmp_path)
    encode_cached(fake_embedder, TEXTS, cache=cache)
    other = CountingEmbedder(HashingEmbedder(dimension=64, seed=1))
    target = cache.folder(other.name)
    target.mkdir(parents=True)
    for shard in cache.shard_paths(fake_embedder.name):
        (target / shard.name).write_bytes(shard.read_bytes())
    out = encode_cached(other, TEXTS, cache=cache)
    assert other.encoded == len(TEXTS)
    np.testing.assert_array_equal(out, other.inner.encode(TEXTS))


class _Exploit:
    """Unpickling this would create a marker file: proves a payload is never unpickled."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _corrupt(kind: str, shard: Path, cache: EmbeddingCache, name: str, marker: Path) -> None:
    data = shard.read_bytes()
    if kind == "truncated":
        shard.write_bytes(data[: len(data) // 2])
    elif kind == "garbage":
        shard.write_bytes(b"\x00garbage" * 50)
    elif kind == "pickle":
        shard.write_bytes(pickle.dumps(_Exploit(str(marker))))
    elif kind == "pickle_inside_npz":
        with open(shard, "wb") as handle:
            np.savez(handle, keys=np.array([_Exploit(str(marker))], dtype=object), vectors=np.zeros((1, 64)))
    elif kind == "wrong_dim":
        shard.unlink()
        keys = np.frombuffer(b"".join(text_key(t) for t in TEXTS), np.uint8).reshape(-1, 16)
        cache._write_shard(name, keys, np.ones((len(TEXTS), 32), np.float32))
    elif kind == "bad_checksum":
        with np.load(shard, allow_pickle=False) as npz:
            arrays = {k: npz[k].copy() for k in npz.files}
        arrays["vectors"][0, 0] += 1.0
        with open(shard, "wb") as handle:
            np.savez(handle, **arrays)
    elif kind in ("zip_of_raw_members", "zip_of_foreign_members"):
        # A zip whose members are not .npy files: np.load hands their raw bytes back instead of arrays.
        names = ["keys", "vectors", "meta", "embedder", "checksum"]
        if kind == "zip_of_foreign_members":
            names = ["readme.txt", "data.bin"]
        shard.unlink()
        with zipfile.ZipFile(shard, "w") as archive:
            for member in names:
                archive.writestr(member, b"not an npy array")
    elif kind == "empty":
        shard.write_bytes(b"")
    elif kind in ("wrong_dtype", "wrong_shape"):
        # Internally consistent (the checksum matches), but not the format's dtype or shape.
        keys = np.frombuffer(b"".join(text_key(t) for t in TEXTS), np.uint8).reshape(-1, 16)
        vectors = np.ones((len(TEXTS), 64), np.float64 if kind == "wrong_dtype" else np.float32)
        if kind == "wrong_shape":
            keys = keys.reshape(-1, 8)
        meta = np.array([1, 64, len(TEXTS)], dtype=np.int64)
        embedder = cache_module._name_digest(name)
        checksum = cache_module._checksum(meta, embedder, keys, vectors)
        with open(shard, "wb") as handle:
            np.savez(handle, keys=keys, vectors=vectors, meta=meta, embedder=embedder, checksum=checksum)
    elif kind == "fifo":
        shard.unlink()
        os.mkfifo(shard)  # opening it for reading would block until a writer came: forever
    elif kind == "symlink":
        target = shard.with_name("elsewhere.bin")
        shard.rename(target)
        shard.symlink_to(target)
    else:  # pragma: no cover
        raise AssertionError(kind)


_BAD_SHARDS = [
    "truncated",
    "garbage",
    "pickle",
    "pickle_inside_npz",
    "wrong_dim",
    "bad_checksum",
    "zip_of_raw_members",
    "zip_of_foreign_members",
    "empty",
    "wrong_dtype",
    "wrong_shape",
    pytest.param("fifo", marks=pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")),
    "symlink",
]


@contextlib.contextmanager
def _deadline(seconds: int):
    """Fail (instead of hanging the suite) when the block blocks: a FIFO opened for reading waits forever."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def _hung(signum, frame):
        raise AssertionError(f"blocked for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, _hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("kind", _BAD_SHARDS)
def test_corrupt_shard_is_ignored_and_rebuilt(tmp_path, fake_embedder, kind, caplog):
    cache = EmbeddingCache(tmp_path / "cache")
    encode_cached(fake_embedder, TEXTS, cache=cache)
    (shard,) = cache.shard_paths(fake_embedder.name)
    marker = tmp_path / "unpickled.txt"
    _corrupt(kind, shard, cache, fake_embedder.name, marker)

    counting = CountingEmbedder(fake_embedder)
    with caplog.at_level(logging.WARNING, logger="gscp_match.text._cache"), _deadline(20):
        out = encode_cached(counting, TEXTS, cache=cache)
    assert not marker.exists()
    assert "invalid embedding cache shard" in caplog.text
    assert counting.encoded == len(TEXTS)
    np.testing.assert_array_equal(out, fake_embedder.encode(TEXTS))
    # The bad shard is gone, a good one replaced it, and the cache now serves every text.
    shards = cache.shard_paths(fake_embedder.name)
    assert len(shards) == 1
    assert os.path.isfile(shards[0]) and not os.path.islink(shards[0])
    counting.calls.clear()
    encode_cached(counting, TEXTS, cache=cache)
    assert counting.calls == []


@pytest.mark.parametrize("kind", ["zip_of_raw_members", "fifo"])
def test_bad_shard_is_discarded_on_every_later_run_too(tmp_path, fake_embedder, kind, caplog):
    """A bad shard written between runs never breaks a run, however often it appears."""
    if kind == "fifo" and not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    cache = EmbeddingCache(tmp_path / "cache")
    for _ in range(2):
        encode_cached(fake_embedder, TEXTS, cache=cache)
        (shard,) = cache.shard_paths(fake_embedder.name)
        _corrupt(kind, shard, cache, fake_embedder.name, tmp_path / "marker")
        with caplog.at_level(logging.WARNING, logger="gscp_match.text._cache"), _deadline(20):
            np.testing.assert_array_equal(encode_cached(fake_embedder, TEXTS, cache=cache), fake_embedder.encode(TEXTS))
        assert caplog.text.count("invalid embedding cache shard") >= 1
        caplog.clear()


def test_folder_named_like_a_shard_is_skipped(tmp_path, fake_embedder, caplog):
    cache = EmbeddingCache(tmp_path / "cache")
    encode_cached(fake_embedder, TEXTS, cache=cache)
    odd = cache.folder(fake_embedder.name) / "shard-0-odd.npz"
    odd.mkdir()
    counting = CountingEmbedder(fake_embedder)
    with caplog.at_level(logging.WARNING, logger="gscp_match.text._cache"):
        out = encode_cached(counting, TEXTS, cache=cache)
    assert "not a regular file" in caplog.text
    assert counting.calls == []  # the good shard still serves every text
    np.testing.assert_array_equal(out, fake_embedder.encode(TEXTS))


def test_compaction_merges_shards_without_losing_entries(tmp_path, fake_embedder):
    cache = EmbeddingCache(tmp_path, max_shards=3)
    batches = [[f"batch {b} text {i}" for i in range(3)] for b in range(7)]
    for batch in batches:
        encode_cached(fake_embedder, batch + batches[0], cache=cache)
    assert len(cache.shard_paths(fake_embedder.name)) <= 3
    every = [t for batch in batches for t in batch]
    found, vectors = cache.get(fake_embedder.name, [text_key(t) for t in every], dimension=64)
    assert found.all()
    np.testing.assert_array_equal(vectors, fake_embedder.encode(every))
    for shard in cache.shard_paths(fake_embedder.name):  # no duplicate keys after compaction
        keys = np.load(shard, allow_pickle=False)["keys"]
        assert len(np.unique(keys, axis=0)) == len(keys)


def test_unwritable_cache_still_returns_vectors(tmp_path, fake_embedder, caplog):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    with caplog.at_level(logging.WARNING, logger="gscp_match.text._cache"):
        out = encode_cached(fake_embedder, TEXTS, cache=EmbeddingCache(blocker))
    np.testing.assert_array_equal(out, fake_embedder.encode(TEXTS))
    assert "could not write the embedding cache" in caplog.text


def test_reader_tolerates_shard_vanishing(tmp_path, fake_embedder, monkeypatch, caplog):
    cache = EmbeddingCache(tmp_path)
    encode_cached(fake_embedder, TEXTS, cache=cache)
    real = cache.shard_paths(fake_embedder.name)
    monkeypatch.setattr(cache, "shard_paths", lambda name: [tmp_path / "shard-gone.npz", *real])
    with caplog.at_level(logging.WARNING):
        found, _ = cache.get(fake_embedder.name, [text_key(t) for t in TEXTS], dimension=64)
    assert found.all() and caplog.text == ""


def test_put_validates_and_default_directory(tmp_path, monkeypatch):
    cache = EmbeddingCache(tmp_path)
    with pytest.raises(InputError):
        cache.put("x", [text_key("a")], np.zeros((2, 3), np.float32))
    with pytest.raises(InputError):
        cache.put("x", [b"short"], np.zeros((1, 3), np.float32))
    monkeypatch.setenv("GSCP_MATCH_CACHE", str(tmp_path / "env"))
    assert EmbeddingCache().directory == tmp_path / "env"
    monkeypatch.delenv("GSCP_MATCH_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert EmbeddingCache().directory == tmp_path / "xdg" / "gscp_match" / "embeddings"


def _worker(directory: str, worker: int, rounds: int, barrier, results) -> None:
    embedder = HashingEmbedder(dimension=64, seed=0)
    ok = True
    barrier.wait(timeout=60)  # start together so writes and compactions really interleave
    for r in range(rounds):
        # Overlapping sets: both workers share half their texts every round.
        texts = [f"shared text {r} {i}" for i in range(4)] + [f"own text {worker} {r} {i}" for i in range(4)]
        texts += [f"shared text {max(r - 1, 0)} {i}" for i in range(2)]
        vectors = encode_cached(embedder, texts, cache=EmbeddingCache(directory, max_shards=4))
        ok &= bool(np.array_equal(vectors, embedder.encode(texts)))
    results.put((worker, ok))


def test_two_processes_write_concurrently(tmp_path):
    rounds = 40
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    results = context.Queue()
    workers = [context.Process(target=_worker, args=(str(tmp_path), w, rounds, barrier, results)) for w in range(2)]
    for process in workers:
        process.start()
    outcome = sorted(results.get(timeout=120) for _ in workers)
    for process in workers:
        process.join(timeout=60)
    assert [p.exitcode for p in workers] == [0, 0]
    assert outcome == [(0, True), (1, True)]

    embedder = HashingEmbedder(dimension=64, seed=0)
    cache = EmbeddingCache(tmp_path, max_shards=4)
    shards = cache.shard_paths(embedder.name)
    assert shards
    for shard in shards:  # every shard is valid
        cache._read_shard(shard, embedder.name, 64)
    every = sorted(
        {f"shared text {r} {i}" for r in range(rounds) for i in range(4)}
        | {f"own text {w} {r} {i}" for w in range(2) for r in range(rounds) for i in range(4)}
    )
    found, vectors = cache.get(embedder.name, [text_key(t) for t in every], dimension=64)
    assert found.all()
    np.testing.assert_array_equal(vectors, embedder.encode(every))
    assert not list(cache.folder(embedder.name).glob(".tmp-*"))
