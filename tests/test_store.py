"""The profile store: round trip, encoding only what changed, shard layout across updates, errors, hashes against
plain-loop references."""

from __future__ import annotations

import fcntl
import hashlib
import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gscp_match import Matcher, load_demo
from gscp_match.scale._store import (
    MANIFEST,
    ProfileStore,
    StoreError,
    _ranges,
    content_hashes,
    record_hashes,
)
from gscp_match.text._cache import encode_cached
from gscp_match.text._embed import HashingEmbedder
from gscp_match.text._texts import expert_documents


class CountingEmbedder(HashingEmbedder):
    """A HashingEmbedder that counts the texts it encodes."""

    def __init__(self, dimension: int = 16) -> None:
        super().__init__(dimension)
        self.encoded: list[str] = []

    def encode(self, texts):
        self.encoded.extend(texts)
        return super().encode(texts)


@pytest.fixture(scope="module")
def demo():
    return load_demo()


def fresh_roster(experts: pd.DataFrame, evidence: pd.DataFrame | None, embedder) -> tuple[list[str], np.ndarray]:
    """Passages and embeddings of a roster built from scratch, as the Matcher builds them."""
    table = experts.sort_values("expert_id", kind="stable").reset_index(drop=True)
    docs = expert_documents(table, evidence, max_tokens=128, count_tokens=embedder.count_tokens)
    return docs.passages, docs.offsets, encode_cached(embedder, docs.passages, cache=None)


# ---------------------------------------------------------------------------------------------------------------
# Round trip and reuse.


def test_round_trip_matches_the_matcher(demo, tmp_path):
    store = ProfileStore(tmp_path)
    update = store.update(demo.experts, evidence=demo.evidence, embedder="hashing", shard_size=64)
    assert (update.profiles, update.encoded, update.removed) == (200, 200, 0)
    assert update.texts_encoded > 200  # evidence and long bios give several passages per expert
    roster = store.load(embedder="hashing")
    matcher = Matcher(embedder="hashing", cache=None).fit(demo.experts, evidence=demo.evidence)
    assert roster.experts.equals(matcher.experts_)
    assert roster.passages == matcher.expert_docs_.passages
    np.testing.assert_array_equal(roster.doc_offsets, matcher.expert_docs_.offsets)
    np.testing.assert_array_equal(roster.doc_embeddings, matcher.expert_embeddings_)
    assert roster.doc_embeddings.dtype == np.float32 and roster.doc_embeddings.flags.c_contiguous


def test_layout_manifest_and_shards(demo, tmp_path):
    store = ProfileStore(tmp_path)
    store.update(demo.experts, evidence=demo.evidence, embedder="hashing", shard_size=64)
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert manifest["embedder"] == HashingEmbedder().name and manifest["dimension"] == 64
    assert [s["profiles"] for s in manifest["shards"]] == [64, 64, 64, 8]
    files = sorted(p.name for p in tmp_path.glob("shard-*.parquet"))
    assert files == sorted(s["file"] for s in manifest["shards"])
    ids = sorted(demo.experts["expert_id"])
    assert [s["first_id"] for s in manifest["shards"]] == ids[::64]
    shard = pq.read_table(tmp_path / manifest["shards"][1]["file"])
    info = json.loads(shard.schema.metadata[b"gscp_match.profile_store"])
    assert info["embedder"] == manifest["embedder"] and info["dimension"] == 64
    assert shard.column("expert_id").to_pylist() == ids[64:128]
    assert {"busy", "_content_hash", "_record_hash", "_passages", "_embeddings"} <= set(shard.column_names)
    assert not list(tmp_path.glob(".*.tmp*"))  # atomic writes leave no temporaries


def test_only_new_or_changed_profiles_are_encoded(demo, tmp_path):
    store = ProfileStore(tmp_path)
    embedder = CountingEmbedder()
    store.update(demo.experts, evidence=demo.evidence, embedder=embedder, shard_size=50)
    embedder.encoded.clear()

    same = store.update(demo.experts, evidence=demo.evidence, embedder=embedder, shard_size=50)
    assert (same.encoded, same.texts_encoded, same.shards_written, same.shards_kept) == (0, 0, 0, 4)
    assert embedder.encoded == []

    experts = demo.experts.copy()
    bio_row = 7
    experts.loc[bio_row, "bio"] = "Designed adaptive traffic signal control for Ulaanbaatar."
    experts.loc[120, "busy"] = ("2027-05-01/2027-05-31",)  # a calendar change: rewrite, do not encode
    evidence = demo.evidence.copy()
    evidence_owner = evidence.loc[0, "expert_id"]
    evidence.loc[0, "text"] = "Wrote the Rabat bus reform plan."
    new = experts.iloc[[0]].assign(expert_id="SX9999", name="New Expert", bio="Smart water meters.")
    dropped = experts.loc[150, "expert_id"]
    experts = pd.concat([experts.drop(index=150), new], ignore_index=True)

    update = store.update(experts, evidence=evidence, embedder=embedder, shard_size=50)
    changed = {experts.loc[bio_row, "expert_id"], evidence_owner, "SX9999"}
    assert update.encoded == len(changed) and update.removed == 1
    assert update.texts_encoded == len(embedder.encoded)

    roster = store.load()
    passages, offsets, vectors = fresh_roster(experts, evidence, HashingEmbedder(16))
    assert roster.passages == passages
    np.testing.assert_array_equal(roster.doc_offsets, offsets)
    np.testing.assert_array_equal(roster.doc_embeddings, vectors)
    assert set(embedder.encoded) <= set(passages)
    table = roster.experts.set_index("expert_id")
    assert table.loc[experts.loc[120, "expert_id"], "busy"] == ("2027-05-01/2027-05-31",)
    assert dropped not in table.index and "SX9999" in table.index


@st.composite
def roster_edits(draw):
    """A few rounds of edits to a 60-expert roster: drop, add, change a bio, change a calendar."""
    rounds = []
    for _ in range(draw(st.integers(1, 2))):
        rounds.append(
            {
                "drop": draw(st.lists(st.integers(0, 59), max_size=12, unique=True)),
                "add": draw(st.integers(0, 40)),
                "bio": draw(st.lists(st.integers(0, 59), max_size=5, unique=True)),
                "busy": draw(st.lists(st.integers(0, 59), max_size=5, unique=True)),
            }
        )
    return draw(st.integers(4, 15)), rounds


@given(roster_edits())
@settings(max_examples=12, deadline=None)
def test_any_sequence_of_updates_equals_a_fresh_build(demo, tmp_path_factory, case):
    shard_size, rounds = case
    directory = tmp_path_factory.mktemp("store")
    store = ProfileStore(directory)
    base = demo.experts.head(60).reset_index(drop=True)
    store.update(base, embedder=HashingEmbedder(8), shard_size=shard_size)
    experts, added = base, 0
    for edit in rounds:
        previous = experts.set_index("expert_id")
        experts = experts.copy()
        for i in edit["bio"]:
            if i < len(experts):
                experts.loc[i, "bio"] = f"{experts.loc[i, 'bio']} Edited {added}."
        for i in edit["busy"]:
            if i < len(experts):
                experts.loc[i, "busy"] = (f"2027-0{1 + i % 9}-01/2027-0{1 + i % 9}-20",)
        extra = base.iloc[: edit["add"]].copy()
        extra["expert_id"] = [f"SX{5000 + 37 * (added + j) % 4000:04d}x" for j in range(edit["add"])]
        added += edit["add"]
        experts = experts.drop(index=[i for i in edit["drop"] if i < len(experts)])
        experts = pd.concat([experts, extra], ignore_index=True).drop_duplicates("expert_id").reset_index(drop=True)
        embedder = CountingEmbedder(8)
        update = store.update(experts, embedder=embedder, shard_size=shard_size)

        current = experts.set_index("expert_id")
        unchanged = [
            e for e in current.index if e in previous.index and previous.loc[e, "bio"] == current.loc[e, "bio"]
        ]
        assert update.encoded == len(current) - len(unchanged)
        assert update.removed == len(set(previous.index) - set(current.index))
        roster = store.load()
        passages, offsets, vectors = fresh_roster(experts, None, HashingEmbedder(8))
        assert roster.passages == passages
        np.testing.assert_array_equal(roster.doc_offsets, offsets)
        np.testing.assert_array_equal(roster.doc_embeddings, vectors)
        assert list(roster.experts["expert_id"]) == sorted(current.index)
        assert roster.experts.set_index("expert_id")["busy"].to_dict() == current["busy"].to_dict()
        manifest = store.manifest()
        assert manifest is not None
        assert all(s.profiles <= 2 * shard_size for s in manifest.shards)
        assert sorted(p.name for p in directory.glob("shard-*.parquet")) == sorted(s.file for s in manifest.shards)


# ---------------------------------------------------------------------------------------------------------------
# Errors.


def test_another_embedder_is_a_clear_error(demo, tmp_path):
    store = ProfileStore(tmp_path)
    store.update(demo.experts.head(20), embedder="hashing")
    other = HashingEmbedder(32)
    with pytest.raises(
        StoreError, match=r"built with embedder 'hashing:v1:d64:s0' \(dimension 64\), not 'hashing:v1:d32"
    ):
        store.update(demo.experts.head(20), embedder=other)
    with pytest.raises(StoreError, match="rebuild=True"):
        store.load(embedder=other)
    rebuilt = store.update(demo.experts.head(20), embedder=other, rebuild=True)
    assert rebuilt.encoded == 20
    assert store.load(embedder=other).doc_embeddings.shape[1] == 32
    assert len(list(tmp_path.glob("shard-*.parquet"))) == 1  # the old embedder's shards are gone


def test_empty_and_damaged_stores(demo, tmp_path):
    store = ProfileStore(tmp_path / "nothing")
    assert store.manifest() is None
    with pytest.raises(StoreError, match="no profile store here"):
        store.load()

    store = ProfileStore(tmp_path / "damaged")
    store.update(demo.experts.head(30), embedder="hashing", shard_size=10)
    manifest = store.manifest()
    assert manifest is not None
    (store.directory / manifest.shards[1].file).unlink()
    with pytest.raises(StoreError, match="missing"):
        store.load()
    store.manifest_path.write_text("{not json")
    with pytest.raises(StoreError, match="not valid JSON"):
        store.manifest()
    store.manifest_path.write_text(json.dumps({"format": "gscp_match profile store", "version": 99}))
    with pytest.raises(StoreError, match="version 99"):
        store.manifest()


def test_shard_of_another_embedder_is_refused(demo, tmp_path):
    a, b = ProfileStore(tmp_path / "a"), ProfileStore(tmp_path / "b")
    a.update(demo.experts.head(10), embedder="hashing")
    b.update(demo.experts.head(10), embedder=HashingEmbedder(64, seed=1))
    manifest_a, manifest_b = a.manifest(), b.manifest()
    assert manifest_a is not None and manifest_b is not None
    (a.directory / manifest_a.shards[0].file).write_bytes((b.directory / manifest_b.shards[0].file).read_bytes())
    with pytest.raises(StoreError, match="shard was written with embedder 'hashing:v1:d64:s1'"):
        a.load()


def test_concurrent_update_is_refused(demo, tmp_path):
    store = ProfileStore(tmp_path)
    store.update(demo.experts.head(5), embedder="hashing")
    with open(tmp_path / ".update.lock", "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(StoreError, match="another update"):
            store.update(demo.experts.head(6), embedder="hashing")
    assert store.update(demo.experts.head(6), embedder="hashing").encoded == 1


def test_invalid_roster_and_options(demo, tmp_path):
    store = ProfileStore(tmp_path)
    with pytest.raises(ValueError, match="shard_size"):
        store.update(demo.experts, embedder="hashing", shard_size=0)
    with pytest.raises(ValueError, match="reserved"):
        store.update(demo.experts.assign(_passages="x"), embedder="hashing")
    with pytest.raises(ValueError, match="expert_id"):
        store.update(demo.experts.drop(columns="expert_id"), embedder="hashing")
    assert store.manifest() is None


# ---------------------------------------------------------------------------------------------------------------
# Hashes and helpers against plain loops.


def content_hash_reference(experts: pd.DataFrame, evidence: pd.DataFrame | None, passage_tokens: int) -> np.ndarray:
    out = []
    for _, expert in experts.iterrows():
        docs: list = [expert["bio"]]
        if evidence is not None:
            for _, row in evidence.iterrows():
                if row["expert_id"] == expert["expert_id"]:
                    docs.append([row["title"], row["text"]])
        payload = json.dumps([passage_tokens, docs], ensure_ascii=False).encode("utf-8")
        out.append(list(hashlib.blake2b(payload, digest_size=16).digest()))
    return np.asarray(out, dtype=np.uint8).reshape(len(experts), 16)


words = st.text(alphabet="ab ,.é\n", max_size=12)


@given(
    bios=st.lists(words, min_size=0, max_size=6),
    evidence=st.lists(st.tuples(st.integers(0, 7), words, words), max_size=10),
    passage_tokens=st.integers(1, 300),
)
@settings(max_examples=80, deadline=None)
def test_content_hashes_equal_loop_reference(bios, evidence, passage_tokens):
    experts = pd.DataFrame({"expert_id": [f"E{i}" for i in range(len(bios))], "bio": bios})
    table = pd.DataFrame(
        {
            "expert_id": [f"E{e}" for e, _, _ in evidence],  # E6, E7 may be unknown: ignored
            "title": [t for _, t, _ in evidence],
            "text": [x for _, _, x in evidence],
        }
    )
    got = content_hashes(experts, table if len(table) else None, passage_tokens=passage_tokens)
    want = content_hash_reference(experts, table if len(table) else None, passage_tokens)
    np.testing.assert_array_equal(got, want)


def test_hashes_see_every_change():
    experts = pd.DataFrame({"expert_id": ["E1", "E2"], "bio": ["BRT", "BRT"]})
    evidence = pd.DataFrame({"expert_id": ["E1", "E1"], "title": ["a", "b"], "text": ["x", "y"]})
    base = content_hashes(experts, evidence, passage_tokens=128)
    swapped = content_hashes(experts, evidence.iloc[::-1], passage_tokens=128)
    assert not (base[0] == swapped[0]).all()  # evidence order is text order
    assert not (base == content_hashes(experts, evidence, passage_tokens=64)).all(axis=1).any()
    records = pd.DataFrame({"expert_id": ["E1", "E1"], "busy": ["", "2027-01-01/2027-01-02"]})
    h = record_hashes(records)
    assert not (h[0] == h[1]).all()
    renamed = record_hashes(records.rename(columns={"busy": "conflicts"}))
    assert not (h[0] == renamed[0]).all()


@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 6)), max_size=12))
@settings(max_examples=100, deadline=None)
def test_ranges_equal_loop_reference(pairs):
    starts = np.array([s for s, _ in pairs], dtype=np.int64)
    lengths = np.array([n for _, n in pairs], dtype=np.int64)
    want = [x for s, n in pairs for x in range(s, s + n)]
    assert _ranges(starts, lengths).tolist() == want
