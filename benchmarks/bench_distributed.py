"""Distributed scoring and encoding on a Dask LocalCluster, against the single process, side by side.

1. Scoring: ``--requests`` requests x each of ``--sizes`` experts (384-dim, top-10, the inputs of
   ``bench_scoring.py``: calendars, languages, budgets, all filters). Timed side by side:

   * ``single``: :func:`gscp_match.core._scoring.shortlist` in this process (BLAS may use every core), and again with
     BLAS held to one thread (``threadpoolctl``): one worker's speed, the base of the scaling projection;
   * ``threads``: :func:`gscp_match.scale._distributed.distributed_shortlist` with Dask's thread pool in this process;
   * ``cluster``: the same on a ``LocalCluster`` of ``--workers`` processes x 1 thread (Dask pins BLAS to one thread
     per worker), through a Client held across calls: the first call (workers allocate their memory) and a second
     one, whose steps are then timed by hand: shipping the shards to the workers (slice + pickle + send) and scoring +
     gathering + merging. Cluster start-up is reported apart.

   Each cell is wall seconds and, in brackets, CPU seconds of this process plus the workers (the machine is shared:
   CPU seconds are the steadier figure). The overhead ratio is ``2nd call / single``. Every distributed result is
   checked against ``single`` (same ids in the same order, scores within 1e-6).

2. Encoding: ``--texts`` short synthetic profiles (the first sentence of a generated bio, no evidence) written into
   a fresh :class:`gscp_match.scale._store.ProfileStore`: in this process (torch uses every core), then on LocalClusters
   of 1 and of ``--workers`` workers x 1 thread. Each cluster first encodes a small warm-up roster, so the model
   load (once per worker) is reported apart from throughput. Then the unchanged roster is updated again: nothing is
   encoded, which is what a store buys on every later round.

Run with the BLAS variables unset, e.g.::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_distributed.py --quick
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_distributed.py --sizes 1000000 --texts 3000
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_scoring import SEED, make_inputs

from gscp_match.core import _scoring as scoring
from gscp_match.core._scoring import Ranking, Weights
from gscp_match.scale._dask import _environ_kept
from gscp_match.scale._distributed import distributed_shortlist, shard_bounds, shard_inputs
from gscp_match.scale._store import ProfileStore
from gscp_match.synthetic._generate import generate_experts

K = 10


def _same(a: Ranking, b: Ranking) -> bool:
    return bool(
        np.array_equal(a.experts, b.experts)
        and np.allclose(a.scores, b.scores, rtol=0, atol=1e-6)
        and np.array_equal(a.filtered, b.filtered)
        and np.array_equal(a.eligible, b.eligible)
    )


def _cluster(n_workers: int):
    from distributed import Client, LocalCluster

    t0 = time.perf_counter()
    with _environ_kept():  # Dask leaves OMP_NUM_THREADS=1 behind, which would slow torch in this process
        cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        )
    client = Client(cluster)
    client.wait_for_workers(n_workers)
    return cluster, client, time.perf_counter() - t0


def _cpu(client) -> float:
    """CPU seconds used so far by this process (every thread) and, with a client, by its worker processes."""
    total = time.process_time()
    if client is not None:
        total += sum(client.run(time.process_time).values())
    return total


def _timed(function, client=None):
    """``(result, wall seconds, CPU seconds)`` of ``function()``; CPU covers the workers when a client is given."""
    cpu0, t0 = _cpu(client), time.perf_counter()
    result = function()
    wall = time.perf_counter() - t0
    return result, wall, _cpu(client) - cpu0


def bench_scoring(n_experts: int, n_requests: int, *, workers: int, chunk_size: int, client) -> dict[str, object]:
    from threadpoolctl import threadpool_limits

    from gscp_match.scale._distributed import _score_shard, merge_shortlists

    t0 = time.perf_counter()
    inputs = make_inputs(n_experts, n_requests, seed=SEED)
    build = time.perf_counter() - t0
    weights = Weights.default()
    load0 = os.getloadavg()[0]

    def single_process():
        return scoring.shortlist(inputs, k=K, weights=weights, chunk_size=chunk_size)

    def one_thread():  # one core's worth: what each single-threaded worker does, the base of the projection
        with threadpool_limits(1):
            return single_process()

    def threads():
        return distributed_shortlist(
            inputs, k=K, weights=weights, scheduler="threads", n_shards=workers, chunk_size=chunk_size
        )

    def cluster():  # the cluster path, end to end, as a user calls it
        return distributed_shortlist(
            inputs, k=K, weights=weights, scheduler=client, n_shards=workers, chunk_size=chunk_size
        )

    single, t_single, cpu_single = _timed(single_process)
    _, t_one, cpu_one = _timed(one_thread)
    by_threads, t_threads, cpu_threads = _timed(threads)
    by_cluster, t_cluster, cpu_cluster = _timed(cluster, client)
    again, t_again, cpu_again = _timed(cluster, client)  # a Client reused for a second round

    # The same steps by hand, to see where the time goes: shipping the shards, then scoring them.
    bounds = shard_bounds(n_experts, n_shards=workers, chunk_size=chunk_size)

    def ship():
        shards = [shard_inputs(inputs, int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        return client.scatter(shards, hash=False)  # returns once the data is on the workers

    def score(futures):
        futures = client.map(_score_shard, futures, k=K, weights=weights, chunk_size=chunk_size, pure=False)
        return merge_shortlists(client.gather(futures), bounds[:-1].tolist(), k=K)

    shipped, t_ship, cpu_ship = _timed(ship, client)
    merged, t_score, cpu_score = _timed(partial(score, shipped), client)
    del shipped  # frees the shards on the workers

    return {
        "experts": n_experts,
        "requests": n_requests,
        "build_inputs_s": build,
        "single": (t_single, cpu_single),
        "single_1thread": (t_one, cpu_one),
        "threads": (t_threads, cpu_threads),
        "cluster": (t_cluster, cpu_cluster),
        "cluster_again": (t_again, cpu_again),
        "cluster_ship": (t_ship, cpu_ship),
        "cluster_score": (t_score, cpu_score),
        "load": (load0, os.getloadavg()[0]),
        "same": all(_same(single, other) for other in (by_threads, by_cluster, again, merged)),
    }


def short_profiles(n: int, *, seed: int):
    experts = generate_experts(n, seed=seed)
    experts["bio"] = [bio.split(". ")[0] + "." for bio in experts["bio"]]
    return experts


def bench_encoding(n_texts: int, *, workers: int, embedder_spec: str | None) -> list[dict[str, object]]:
    from gscp_match.text._load import load_embedder

    experts = short_profiles(n_texts, seed=7)
    warm = short_profiles(max(workers * 4, 8), seed=8)
    shard_size = max(1, -(-n_texts // (4 * workers)))
    rows: list[dict[str, object]] = []
    embedder = load_embedder(embedder_spec)
    tokens = embedder.count_tokens(list(experts["bio"]))

    def run(path: str, folder: Path, client, load: float, threads: int) -> None:
        store = ProfileStore(folder)
        load0 = os.getloadavg()[0]
        update, wall, cpu = _timed(
            lambda: store.update(experts, embedder=embedder, shard_size=shard_size, scheduler=client), client
        )
        again, wall_again, _ = _timed(
            lambda: store.update(experts, embedder=embedder, shard_size=shard_size, scheduler=client)
        )
        rows.append(
            {
                "path": path,
                "torch_threads": threads,
                "texts": update.texts_encoded,
                "wall": wall,
                "cpu": cpu,
                "load_s": load,
                "unchanged_s": wall_again,
                "unchanged_encoded": again.encoded,
                "loadavg": (load0, os.getloadavg()[0]),
            }
        )

    with tempfile.TemporaryDirectory() as tmp:
        ProfileStore(Path(tmp) / "warm").update(warm, embedder=embedder)  # loads the model in this process
        run("this process", Path(tmp) / "local", None, float("nan"), _torch_threads())
        for n in sorted({1, workers}):
            cluster, client, _ = _cluster(n)
            try:
                _, load, _ = _timed(
                    lambda n=n, client=client: ProfileStore(Path(tmp) / f"warm{n}").update(
                        short_profiles(4 * n, seed=9), embedder=embedder, shard_size=2, scheduler=client
                    )
                )
                run(f"LocalCluster {n} x 1 thread", Path(tmp) / f"cluster{n}", client, load, 1)
            finally:
                client.close()
                cluster.close()
    for row in rows:
        row["mean_tokens"] = float(np.mean(tokens))
    return rows


def _pair(value: tuple[float, float]) -> str:
    return f"{value[0]:.1f} s ({value[1]:.0f})"


def _seconds(value: object) -> str:
    return "-" if not isinstance(value, float) or np.isnan(value) else f"{value:.1f} s"


def _torch_threads() -> int:
    try:
        import torch

        return int(torch.get_num_threads())
    except ImportError:
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="CI smoke test: 100 requests x 20,000 experts, 64 texts")
    parser.add_argument("--sizes", default="1000000", help="comma-separated numbers of experts")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk-size", type=int, default=16384)
    parser.add_argument("--texts", type=int, default=3000, help="profiles to encode (0: skip encoding)")
    parser.add_argument("--embedder", default=None, help="embedder spec (default: the packaged model)")
    parser.add_argument("--no-scoring", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.requests, args.texts = "20000", 100, 64

    os.environ.setdefault("GSCP_MATCH_QUIET", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    print(f"# {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    if not args.no_scoring:
        cluster, client, start = _cluster(args.workers)
        try:
            t0 = time.perf_counter()  # first tasks import gscp_match on the workers: not part of a scoring call
            distributed_shortlist(make_inputs(200, 5), k=K, scheduler=client, chunk_size=50)
            warm = time.perf_counter() - t0
            print(
                f"LocalCluster {args.workers} workers x 1 thread: started in {start:.1f} s, warmed up in {warm:.1f} s"
            )
            print("wall seconds (CPU seconds of this process and the workers)")
            print(
                "| experts | requests | single | single, 1 BLAS thread | threads | cluster, 1st call "
                "| cluster, 2nd call | 2nd call by hand: ship + score | 2nd call / single | load avg | same |"
            )
            print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |")
            for size in [int(s) for s in args.sizes.split(",") if s]:
                r = bench_scoring(size, args.requests, workers=args.workers, chunk_size=args.chunk_size, client=client)
                names = ("single", "single_1thread", "threads", "cluster", "cluster_again")
                cells = [_pair(r[name]) for name in names]
                ship, score = r["cluster_ship"], r["cluster_score"]
                print(
                    f"| {r['experts']:,} | {r['requests']:,} | {' | '.join(cells)} "
                    f"| {_pair(ship)} + {_pair(score)} | {r['cluster_again'][0] / r['single'][0]:.2f}x "
                    f"| {r['load'][0]:.1f} / {r['load'][1]:.1f} | {r['same']} |",
                    flush=True,
                )
                if not r["same"]:
                    print("distributed result differs from the single process", file=sys.stderr)
                    return 1
        finally:
            client.close()
            cluster.close()
    if args.texts:
        rows = bench_encoding(args.texts, workers=args.workers, embedder_spec=args.embedder)
        print(f"\nencoding {rows[0]['texts']} passages (mean {rows[0]['mean_tokens']:.0f} tokens)")
        print("| path | torch threads | model load | wall | CPU | texts/s | per CPU-s | unchanged again | load avg |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        for row in rows:
            print(
                f"| {row['path']} | {row['torch_threads']} | {_seconds(row['load_s'])} | {row['wall']:.1f} s "
                f"| {row['cpu']:.1f} s | {row['texts'] / row['wall']:.0f} | {row['texts'] / row['cpu']:.0f} "
                f"| {row['unchanged_s']:.2f} s ({row['unchanged_encoded']} encoded) "
                f"| {row['loadavg'][0]:.1f} / {row['loadavg'][1]:.1f} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
