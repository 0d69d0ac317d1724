"""Distributed scoring and encoding: the merge against a plain loop, shard bounds, identity with the single-process
scoring core on every scheduler (a 2-worker LocalCluster included), model loading once per worker, and the promise
that nothing imports Dask unless asked."""

from __future__ import annotations

import dataclasses
import logging
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gscp_match import Matcher, load_demo
from gscp_match.core import _scoring as scoring
from gscp_match.core._scoring import FILTERS, Ranking, ScoringInputs, Weights
from gscp_match.scale._dask import SCHEDULERS, resident_embedders
from gscp_match.scale._distributed import (
    distributed_shortlist,
    merge_shortlists,
    shard_bounds,
    shard_inputs,
    store_shortlist,
)
from gscp_match.scale._store import ProfileStore
from gscp_match.tables._arrays import RequestConflicts, request_conflicts
from gscp_match.text._embed import HashingEmbedder
from gscp_match.text._texts import expert_documents

# ---------------------------------------------------------------------------------------------------------------
# Fixtures.


@pytest.fixture(scope="module")
def demo():
    return load_demo()


@pytest.fixture(scope="module")
def demo_inputs(demo, demo_matcher) -> tuple[ScoringInputs, Weights]:
    """The demo round against the demo roster: evidence (several texts per expert), TF-IDF, conflicts, exclusions."""
    _, inputs = demo_matcher.scoring_inputs(demo.requests)
    return inputs, demo_matcher.weights


@pytest.fixture(scope="module")
def demo_matcher(demo) -> Matcher:
    # What a profile store holds and store_shortlist scores: 128-token passages, each its own document, raw cosines
    # (the Matcher pools passages into documents and standardizes in memory, on top of the same store).
    matcher = Matcher(embedder=HashingEmbedder(64), cache=None, unit="passage", normalize="none", passage_tokens=128)
    return matcher.fit(demo.experts, evidence=demo.evidence)


@pytest.fixture(scope="module")
def demo_store(demo, tmp_path_factory) -> ProfileStore:
    """The demo roster in a store of 7 shards of 30 profiles (the last 20)."""
    store = ProfileStore(tmp_path_factory.mktemp("demo_store"))
    store.update(demo.experts, evidence=demo.evidence, embedder=HashingEmbedder(64), shard_size=30)
    return store


@pytest.fixture(scope="module")
def tied_inputs(demo) -> ScoringInputs:
    """Every expert with the same bio and no evidence: most scores tie, so the merge must break ties by id."""
    experts = demo.experts.assign(bio="Urban mobility planner: bus reform, BRT and traffic signal control.")
    matcher = Matcher(embedder=HashingEmbedder(32), cache=None, lexical=False).fit(experts)
    _, inputs = matcher.scoring_inputs(demo.requests)
    return inputs


@pytest.fixture(scope="module")
def shuffled_tied_inputs(demo) -> tuple[ScoringInputs, np.ndarray]:
    """The tied roster with its ids dealt to other people (rows are in id order, so the ties fall on other rows)."""
    ids = np.random.default_rng(14).permutation(demo.experts["expert_id"].to_numpy())
    experts = demo.experts.assign(
        expert_id=ids, bio="Urban mobility planner: bus reform, BRT and traffic signal control."
    )
    matcher = Matcher(embedder=HashingEmbedder(32), cache=None, lexical=False).fit(experts)
    _, inputs = matcher.scoring_inputs(demo.requests)
    return inputs, matcher.experts_["expert_id"].to_numpy()


def _one_ulp_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fast scores rounded as another kernel or blocking would: each moved by -1, 0 or +1 ulp (seeded per chunk)."""
    original = scoring._chunk_scores

    def chunk_scores(inputs, plan, start, stop, buffers=None):
        score, _ = original(inputs, plan, start, stop, buffers)
        step = np.random.default_rng([14, start, score.shape[1]]).integers(-1, 2, size=score.shape)
        moved = np.where(step > 0, np.nextafter(score, np.float32(np.inf)), np.nextafter(score, np.float32(-np.inf)))
        score[:] = np.where(step == 0, score, moved)
        return score, np.max(score, axis=1, initial=-np.inf)

    monkeypatch.setattr(scoring, "_chunk_scores", chunk_scores)


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=logging.ERROR
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def assert_same(expected: Ranking, got: Ranking) -> None:
    np.testing.assert_array_equal(got.experts, expected.experts)
    np.testing.assert_array_equal(got.scores, expected.scores)  # to the bit: every reported score is an exact re-score
    np.testing.assert_array_equal(got.filtered, expected.filtered)
    np.testing.assert_array_equal(got.eligible, expected.eligible)


# ---------------------------------------------------------------------------------------------------------------
# The merge against a plain loop.


def merge_reference(parts: list[Ranking], offsets: list[int], k: int) -> Ranking:
    """Per request, every (score, global row) any shard kept, sorted by score descending then row ascending."""
    n_req = parts[0].experts.shape[0]
    experts = np.full((n_req, k), -1, dtype=np.int64)
    scores = np.full((n_req, k), -np.inf, dtype=np.float32)
    for r in range(n_req):
        found = []
        for part, offset in zip(parts, offsets, strict=True):
            for row, score in zip(part.experts[r], part.scores[r], strict=True):
                if row >= 0 and np.isfinite(score):
                    found.append((-float(score), int(row) + offset, score))
        found.sort()
        for j, (_, row, score) in enumerate(found[:k]):
            experts[r, j] = row
            scores[r, j] = score
    filtered = sum(p.filtered for p in parts)
    eligible = sum(p.eligible for p in parts)
    return Ranking(experts, scores, np.asarray(filtered), np.asarray(eligible))


@st.composite
def shard_parts(draw):
    """Per-shard shortlists as the core returns them: distinct local rows, best first, ties by row, -1/-inf tail."""
    n_req = draw(st.integers(1, 4))
    k_part = draw(st.integers(1, 5))
    n_parts = draw(st.integers(1, 4))
    values = st.sampled_from([0.0, 0.25, 0.5, 1.0, -0.5])  # few values: many ties
    parts, offsets, start = [], [], 0
    for _ in range(n_parts):
        size = draw(st.integers(0, 7))
        experts = np.full((n_req, k_part), -1, dtype=np.int64)
        scores = np.full((n_req, k_part), -np.inf, dtype=np.float32)
        for r in range(n_req):
            rows = draw(st.lists(st.integers(0, max(size - 1, 0)), unique=True, max_size=min(size, k_part)))
            pairs = sorted((-draw(values), row) for row in rows)
            for j, (neg, row) in enumerate(pairs):
                experts[r, j], scores[r, j] = row, -neg
        filtered = np.asarray(draw(st.lists(st.integers(0, 9), min_size=4 * n_req, max_size=4 * n_req)))
        eligible = np.asarray(draw(st.lists(st.integers(0, 9), min_size=n_req, max_size=n_req)))
        parts.append(Ranking(experts, scores, filtered.reshape(n_req, 4).astype(np.int64), eligible))
        offsets.append(start)
        start += size
    return parts, offsets, draw(st.integers(1, 8))


@given(shard_parts())
@settings(max_examples=100, deadline=None)
def test_merge_equals_loop_reference(case):
    parts, offsets, k = case
    got = merge_shortlists(parts, offsets, k=k)
    want = merge_reference(parts, offsets, k)
    np.testing.assert_array_equal(got.experts, want.experts)
    np.testing.assert_array_equal(got.scores, want.scores)
    np.testing.assert_array_equal(got.filtered, want.filtered)
    np.testing.assert_array_equal(got.eligible, want.eligible)
    assert got.experts.shape == (parts[0].experts.shape[0], k)


def test_merge_rejects_bad_arguments():
    part = Ranking(np.zeros((1, 1), np.int64), np.zeros((1, 1), np.float32), np.zeros((1, 4), np.int64), np.ones(1))
    with pytest.raises(ValueError, match="k must be"):
        merge_shortlists([part], [0], k=0)
    with pytest.raises(ValueError, match="one offset per part"):
        merge_shortlists([part], [0, 1], k=1)


@given(n=st.integers(0, 200), n_shards=st.integers(1, 9), chunk=st.integers(1, 50))
@settings(max_examples=100, deadline=None)
def test_shard_bounds_cover_whole_chunks(n, n_shards, chunk):
    bounds = shard_bounds(n, n_shards=n_shards, chunk_size=chunk)
    assert bounds[0] == 0 and bounds[-1] == n
    assert len(bounds) - 1 <= n_shards
    sizes = np.diff(bounds)
    if n:
        assert (sizes > 0).all()
        assert (bounds[1:-1] % chunk == 0).all()  # every inner boundary is a chunk boundary
        assert len(bounds) - 1 == min(n_shards, -(-n // chunk))
        chunks = -(-sizes // chunk)
        assert chunks.max() - chunks.min() <= 1  # chunks spread evenly


def test_shard_inputs_slice_every_expert_array(demo_inputs):
    inputs, _ = demo_inputs
    shard = shard_inputs(inputs, 37, 90)
    exp = shard.experts
    assert shard.shape == (len(inputs.requests), 53)
    assert list(exp.ids) == list(inputs.experts.ids[37:90])
    np.testing.assert_array_equal(shard.doc_offsets, inputs.doc_offsets[37:91] - inputs.doc_offsets[37])
    d0, d1 = inputs.doc_offsets[37], inputs.doc_offsets[90]
    np.testing.assert_array_equal(shard.doc_embeddings, inputs.doc_embeddings[d0:d1])
    assert (shard.doc_lexical != inputs.doc_lexical[d0:d1]).nnz == 0
    assert (shard.conflicts != inputs.conflicts[:, 37:90]).nnz == 0
    for e in (0, 20, 52):
        full = inputs.experts
        mine = slice(exp.busy_offsets[e], exp.busy_offsets[e + 1])
        theirs = slice(full.busy_offsets[37 + e], full.busy_offsets[38 + e])
        np.testing.assert_array_equal(exp.busy_start[mine], full.busy_start[theirs])
        np.testing.assert_array_equal(exp.busy_end[mine], full.busy_end[theirs])
    with pytest.raises(ValueError, match="outside"):
        shard_inputs(inputs, 10, 500)


# ---------------------------------------------------------------------------------------------------------------
# Distributed scoring is the single-process scoring.


@given(
    k=st.integers(1, 12),
    n_shards=st.integers(1, 6),
    chunk=st.integers(7, 70),
    aggregation=st.sampled_from(["max", "mean", "topk"]),
)
@settings(max_examples=25, deadline=None)
def test_sharded_scoring_equals_single_process(demo_inputs, k, n_shards, chunk, aggregation):
    inputs, weights = demo_inputs
    inputs = dataclasses.replace(inputs, aggregation=aggregation)
    expected = scoring.shortlist(inputs, k=k, weights=weights, chunk_size=chunk)
    got = distributed_shortlist(inputs, k=k, weights=weights, scheduler="sync", n_shards=n_shards, chunk_size=chunk)
    assert_same(expected, got)


def test_filters_are_exercised(demo_inputs):
    """The identity tests mean something only if every filter removes someone."""
    inputs, weights = demo_inputs
    result = scoring.shortlist(inputs, k=5, weights=weights)
    assert (result.filtered.sum(axis=0) > 0).all(), dict(zip(FILTERS, result.filtered.sum(axis=0), strict=True))


@pytest.mark.parametrize("n_shards", [2, 5])
def test_ties_across_shards_go_to_the_smaller_id(tied_inputs, n_shards):
    expected = scoring.shortlist(tied_inputs, k=15, chunk_size=16)
    got = distributed_shortlist(tied_inputs, k=15, scheduler="threads", n_shards=n_shards, chunk_size=16)
    assert_same(expected, got)
    scores = expected.scores
    tied = (scores[:, :-1] == scores[:, 1:]) & np.isfinite(scores[:, 1:])  # equal scores, not empty slots
    assert tied.any()  # the fixture does produce ties ...
    rows = expected.experts
    assert (rows[:, :-1][tied] < rows[:, 1:][tied]).all()  # ... broken by row, i.e. by id


@pytest.mark.parametrize("chunk", [7, 16, 50])
@pytest.mark.parametrize("n_shards", [1, 3])
def test_shuffled_ties_in_shards_equal_one_process_with_fast_scores_one_ulp_off(
    shuffled_tied_inputs, chunk, n_shards, monkeypatch
):
    """Chunks that do not divide the roster, shards, and shards whose fast scores round differently from the single
    process's: the same ids in the same order with the same scores, ties by id although the ids were shuffled."""
    inputs, ids = shuffled_tied_inputs
    expected = scoring.shortlist(inputs, k=15, chunk_size=4096)
    scores = expected.scores
    tied = (scores[:, :-1] == scores[:, 1:]) & np.isfinite(scores[:, 1:])  # equal scores, not empty slots
    assert tied.sum() > 50
    assert (ids[expected.experts[:, :-1][tied]] < ids[expected.experts[:, 1:][tied]]).all()
    _one_ulp_off(monkeypatch)
    assert_same(expected, distributed_shortlist(inputs, k=15, scheduler="sync", n_shards=n_shards, chunk_size=chunk))
    assert_same(expected, scoring._shortlist(inputs, k=15, weights=Weights.default(), chunk_size=chunk, lanes=2))


def test_threads_scheduler_equals_single_process(demo_inputs):
    inputs, weights = demo_inputs
    expected = scoring.shortlist(inputs, k=10, weights=weights, chunk_size=32)
    got = distributed_shortlist(inputs, k=10, weights=weights, scheduler="threads", n_shards=3, chunk_size=32)
    assert_same(expected, got)


def test_local_cluster_scoring_equals_single_process(demo_inputs, client):
    inputs, weights = demo_inputs
    expected = scoring.shortlist(inputs, k=10, weights=weights, chunk_size=32)
    got = distributed_shortlist(inputs, k=10, weights=weights, scheduler=client, chunk_size=32)
    assert_same(expected, got)
    # By address, as a user of a remote cluster would pass it.
    by_address = distributed_shortlist(inputs, k=10, weights=weights, scheduler=client.scheduler.address, chunk_size=32)
    assert_same(expected, by_address)


def test_local_scheduler_starts_and_stops_a_cluster(demo_inputs):
    inputs, weights = demo_inputs
    before = dict(os.environ)
    expected = scoring.shortlist(inputs, k=4, weights=weights, chunk_size=64)
    got = distributed_shortlist(inputs, k=4, weights=weights, scheduler="local", chunk_size=64)
    assert_same(expected, got)
    assert dict(os.environ) == before  # Dask's OMP_NUM_THREADS=1 for its workers does not leak into this process


def test_empty_roster_and_more_shards_than_chunks(demo_inputs):
    inputs, weights = demo_inputs
    few = shard_inputs(inputs, 0, 3)
    expected = scoring.shortlist(few, k=5, weights=weights)
    got = distributed_shortlist(few, k=5, weights=weights, scheduler="sync", n_shards=8)
    assert_same(expected, got)
    assert (got.experts[:, 3:] == -1).all()
    none = shard_inputs(inputs, 0, 0)
    empty = distributed_shortlist(none, k=2, weights=weights, scheduler="sync")
    assert (empty.experts == -1).all() and (empty.eligible == 0).all()


def test_unknown_scheduler_and_options_raise(demo_inputs):
    inputs, _ = demo_inputs
    with pytest.raises(ValueError, match="unknown scheduler 'thread'; valid: " + ", ".join(SCHEDULERS)):
        distributed_shortlist(inputs, scheduler="thread")
    with pytest.raises(ValueError, match="dask.distributed.Client"):
        distributed_shortlist(inputs, scheduler=object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_shards"):
        distributed_shortlist(inputs, scheduler="sync", n_shards=0)
    with pytest.raises(ValueError, match="k must be"):
        distributed_shortlist(inputs, scheduler="sync", k=0)


def test_missing_dask_names_the_extra(demo_inputs, monkeypatch):
    inputs, _ = demo_inputs
    monkeypatch.setitem(sys.modules, "dask", None)  # makes `import dask` fail
    with pytest.raises(ImportError, match=r"pip install 'gscp_match\[distributed\]'"):
        distributed_shortlist(inputs, scheduler="threads")
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r"gscp_match\[distributed\]"):
        distributed_shortlist(inputs, scheduler="tcp://127.0.0.1:8786")


def test_nothing_imports_dask_unless_asked(tmp_path):
    code = textwrap.dedent(
        f"""
        import sys
        import gscp_match
        import gscp_match.scale._distributed, gscp_match.scale._store
        demo = gscp_match.load_demo()
        matcher = gscp_match.Matcher(embedder="hashing", cache=None).fit(demo.experts, evidence=demo.evidence)
        matcher.shortlist(demo.requests.head(1), k=3, k_cases=1)
        gscp_match.scale._store.ProfileStore({str(tmp_path)!r}).update(demo.experts, embedder="hashing")
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("dask", "distributed"))
        print(loaded)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


# ---------------------------------------------------------------------------------------------------------------
# Distributed encoding into the profile store.


def _same_roster(a, b) -> None:
    assert a.passages == b.passages
    np.testing.assert_array_equal(a.doc_offsets, b.doc_offsets)
    np.testing.assert_array_equal(a.doc_embeddings, b.doc_embeddings)
    assert a.experts.equals(b.experts)


def test_local_cluster_encoding_writes_the_same_store(demo, client, tmp_path):
    serial = ProfileStore(tmp_path / "serial")
    serial.update(demo.experts, evidence=demo.evidence, embedder="hashing", shard_size=30)
    remote = ProfileStore(tmp_path / "remote")
    first = remote.update(demo.experts, evidence=demo.evidence, embedder="hashing", shard_size=30, scheduler=client)
    assert first.encoded == len(demo.experts) and first.shards_written == 7
    _same_roster(serial.load(), remote.load())

    # An edit re-encodes one profile, on a worker; the rest is reused.
    experts = demo.experts.copy()
    experts.loc[5, "bio"] += " Led the Seoul TOPIS rollout."
    again = remote.update(experts, evidence=demo.evidence, embedder="hashing", shard_size=30, scheduler=client)
    assert (again.encoded, again.shards_written, again.shards_kept) == (1, 1, 6)
    serial.update(experts, evidence=demo.evidence, embedder="hashing", shard_size=30)
    _same_roster(serial.load(), remote.load())

    # Each worker process registered the embedder once, although each wrote several shards.
    name = HashingEmbedder().name
    counts = client.run(resident_embedders)
    assert sum(c.get(name, 0) for c in counts.values()) >= 1
    assert all(c.get(name, 0) <= 1 for c in counts.values()), counts


@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_in_process_schedulers_write_the_same_store(demo, tmp_path, scheduler):
    serial = ProfileStore(tmp_path / "serial")
    serial.update(demo.experts, evidence=demo.evidence, embedder="hashing", shard_size=60)
    other = ProfileStore(tmp_path / scheduler)
    other.update(demo.experts, evidence=demo.evidence, embedder="hashing", shard_size=60, scheduler=scheduler)
    _same_roster(serial.load(), other.load())


@pytest.mark.model
def test_real_model_store_matches_direct_encoding(demo, real_embedder, tmp_path):
    experts = demo.experts.head(12)
    evidence = demo.evidence[demo.evidence["expert_id"].isin(set(experts["expert_id"]))]
    store = ProfileStore(tmp_path)
    update = store.update(experts, evidence=evidence, embedder=real_embedder, shard_size=5, scheduler="threads")
    assert update.encoded == 12 and update.shards_written == 3
    roster = store.load(embedder=real_embedder)
    direct = real_embedder.encode(roster.passages)
    np.testing.assert_allclose(roster.doc_embeddings, direct, rtol=0, atol=1e-5)
    docs = expert_documents(
        roster.experts, evidence, max_tokens=min(real_embedder.max_tokens, 128), count_tokens=real_embedder.count_tokens
    )
    assert roster.passages == docs.passages


# ---------------------------------------------------------------------------------------------------------------
# Scoring straight from the store.


def _from_store(store, matcher, inputs, scheduler, conflicts, **options):
    return store_shortlist(
        store,
        inputs.requests,
        inputs.request_embeddings,
        embedder=matcher.embedder_,
        weights=matcher.weights,
        scheduler=scheduler,
        lexical=matcher.lexical_index_,
        request_lexical=inputs.request_lexical,
        holidays=matcher.holidays,
        aggregation=matcher.aggregation,
        conflicts=conflicts,
        **options,
    )


def test_store_scoring_refuses_an_exclusion_no_shard_holds(demo, demo_store, demo_matcher, demo_inputs):
    from gscp_match.errors import InputError

    inputs, _ = demo_inputs
    given = request_conflicts(demo.requests)
    conflicts = RequestConflicts(tokens=given.tokens, exclude=(("NOPE",),) + given.exclude[1:])
    with pytest.raises(InputError, match="unknown expert id.*NOPE"):
        _from_store(demo_store, demo_matcher, inputs, "sync", conflicts, k=8, chunk_size=30)


@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_store_scoring_equals_single_process(demo, demo_store, demo_matcher, demo_inputs, scheduler):
    inputs, weights = demo_inputs
    conflicts = request_conflicts(demo.requests)
    expected = scoring.shortlist(inputs, k=8, weights=weights, chunk_size=30)  # the store's shard size
    got = _from_store(demo_store, demo_matcher, inputs, scheduler, conflicts, k=8, chunk_size=30)
    assert_same(expected, got)
    ids = demo_store.ids()
    assert list(ids) == list(demo_matcher.experts_["expert_id"])
    excluded = [r for r, e in enumerate(conflicts.exclude) if e]
    assert excluded and all(ids[got.experts[r]].tolist().count(e) == 0 for r in excluded for e in conflicts.exclude[r])


def test_store_scoring_on_local_cluster(demo, demo_store, demo_matcher, demo_inputs, client):
    inputs, weights = demo_inputs
    expected = scoring.shortlist(inputs, k=8, weights=weights, chunk_size=30)
    got = _from_store(demo_store, demo_matcher, inputs, client, request_conflicts(demo.requests), k=8, chunk_size=30)
    assert_same(expected, got)


def test_store_scoring_checks_its_inputs(demo, demo_store, demo_matcher, demo_inputs):
    inputs, _ = demo_inputs
    conflicts = request_conflicts(demo.requests)
    with pytest.raises(ValueError, match="built with embedder"):
        store_shortlist(
            demo_store, inputs.requests, inputs.request_embeddings, embedder=HashingEmbedder(8), conflicts=conflicts
        )
    with pytest.raises(ValueError, match="request_embeddings must be"):
        store_shortlist(
            demo_store,
            inputs.requests,
            inputs.request_embeddings[:, :8],
            embedder=demo_matcher.embedder_,
            conflicts=conflicts,
        )
    with pytest.raises(ValueError, match="both lexical and request_lexical"):
        store_shortlist(
            demo_store,
            inputs.requests,
            inputs.request_embeddings,
            embedder=demo_matcher.embedder_,
            conflicts=conflicts,
            lexical=None,
            request_lexical=inputs.request_lexical,
        )
