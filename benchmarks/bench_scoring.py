"""Benchmark of the scoring core: ``scoring.shortlist`` against the similarity-only floor and the usual peers.

At ``--requests`` requests x each of ``--sizes`` experts (384-dim embeddings, top-10), one run times side by side:

1. ``library``: :func:`gscp_match.core._scoring.shortlist` with the default weights: semantic, themes, geography,
language
   share, Korean experience, availability from busy calendars (with holidays), cost, the four hard filters, top-k,
   in chunks of ``--chunk-size`` experts. No lexical component: it needs texts (a TF-IDF index), and random
   embeddings have none, so its default weight (0.15) simply drops out here; its cost is a sparse product per chunk
   and should be measured on real texts separately.
2. ``numpy floor``: ``Q @ E[chunk].T`` + ``np.argpartition`` per chunk, merged into a running top-k (similarity only).
   No code that also scores the other components can be faster than this, so it is the floor of the approach.
3. ``st.semantic_search``: ``sentence_transformers.util.semantic_search(Q, E, top_k=k)`` on the same embeddings as
   CPU torch tensors, with its default ``cos_sim`` (re-normalizes every block) and with ``dot_score``.
4. ``faiss IndexFlatIP``: exact inner-product search, run in its own process (``_faiss_peer.py``, so that its
   OpenBLAS and environment do not touch this one); skipped with a message when ``faiss`` is not importable.
5. ``notebook loop``: what a notebook user writes (pandas ``apply`` over the experts for each request, the same
   components and filters in Python), timed on a small problem and extrapolated linearly in requests x experts.

Inputs are built directly as arrays (no tables, no validation): random unit embeddings (one text per expert),
one-hot themes/languages/regions/countries over the library's vocabularies, 0-3 busy intervals per expert in 2027,
day rates, capacity 1, no conflict vocabulary; requests whose windows (4-20 weeks, starting on a Monday of 2027) come
from ~50 distinct pairs, 5-30 days, 1-2 languages, 1-3 themes, a country and region, a budget on half of them.

Memory: peak bytes allocated during ``shortlist`` beyond its inputs, measured with ``tracemalloc`` (numpy reports
its array buffers to it) in a separate, untimed run. It should depend on requests x chunk size, not on the roster.

A correctness cross-check runs at the smallest size: with similarity-only weights (semantic=1, others 0) and the
filters neutralized (no windows, languages or budgets), the library's top-k ids must equal the numpy floor's; and
with every component, a chunk size that does not divide the product blocks must give the same ids and scores to the
bit (rankings are decided on exact re-scores of the candidates, see ``scoring.shortlist``). The profile
(``--profile``) shows the re-scoring as its own step.

Run with the machine's BLAS overrides unset, e.g.::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_scoring.py --quick
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_scoring.py --sizes 10000,100000,1000000
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from gscp_match.core import _scoring as scoring
from gscp_match.core._arrays import ExpertArrays, RequestArrays
from gscp_match.core._scoring import ScoringInputs, Weights
from gscp_match.tables._arrays import (
    COUNTRY_CODES,
    LANGUAGE_CODES,
    REGION_CODES,
    THEME_CODES,
    ExpertConflicts,
    RequestConflicts,
    conflict_matrix,
)

DIM = 384
SEED = 20270104
K = 10
NOTEBOOK_REQUESTS = 20
NOTEBOOK_EXPERTS = 2_000

YEAR_START = int(np.datetime64("2027-01-01", "D").astype(np.int64))
FIRST_MONDAY = int(np.datetime64("2027-01-04", "D").astype(np.int64))
HOLIDAYS = np.array(
    ["2027-01-01", "2027-04-02", "2027-05-01", "2027-07-05", "2027-10-04", "2027-12-24", "2027-12-31"],
    dtype="datetime64[D]",
).astype(np.int64)

# Languages as a roster would have them: English nearly everywhere, a few others common, the rest rare.
POPULAR_LANGUAGES = ("en", "fr", "es", "ar", "pt", "ru", "ko", "zh", "id", "vi")
POPULAR_WEIGHTS = np.array([0.55, 0.12, 0.1, 0.06, 0.05, 0.04, 0.04, 0.02, 0.01, 0.01])


# ---------------------------------------------------------------------------------------------------------------
# Inputs.


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream])


def unit_rows(n: int, dim: int, *, seed: int, stream: int, block: int = 65_536) -> NDArray[np.float32]:
    """(n, dim) float32 random unit rows, generated block by block (no float64 copy of the whole matrix)."""
    rng = _rng(seed, stream)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, block):
        rows = out[start : start + block]
        rng.standard_normal(out=rows, dtype=np.float32)
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return out


def expert_embeddings(n_experts: int, dim: int = DIM, seed: int = SEED) -> NDArray[np.float32]:
    """The experts' embeddings; ``_faiss_peer.py`` regenerates them with the same call."""
    return unit_rows(n_experts, dim, seed=seed, stream=1)


def request_embeddings(n_requests: int, dim: int = DIM, seed: int = SEED) -> NDArray[np.float32]:
    """The requests' embeddings; ``_faiss_peer.py`` regenerates them with the same call."""
    return unit_rows(n_requests, dim, seed=seed, stream=2)


def random_sets(
    rng: np.random.Generator,
    n: int,
    vocabulary: int,
    low: int,
    high: int,
    *,
    choices: NDArray[np.int64] | None = None,
    p: NDArray[np.float64] | None = None,
) -> sp.csr_matrix:
    """(n, vocabulary) CSR float32 0/1: each row draws ``low..high`` codes (from ``choices`` with weights ``p``)."""
    count = rng.integers(low, high + 1, size=n)
    pool = np.arange(vocabulary) if choices is None else np.asarray(choices)
    drawn = pool[rng.choice(pool.size, size=(n, high), p=p)]
    drawn[np.arange(high)[None, :] >= count[:, None]] = vocabulary  # sentinel, sorts last
    drawn.sort(axis=1)
    keep = drawn < vocabulary
    keep[:, 1:] &= drawn[:, 1:] != drawn[:, :-1]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(keep.sum(axis=1), out=indptr[1:])
    indices = drawn[keep].astype(np.int32)
    data = np.ones(indices.size, dtype=np.float32)
    return sp.csr_matrix((data, indices, indptr), shape=(n, vocabulary))


def _popular_language_codes() -> NDArray[np.int64]:
    index = {c: i for i, c in enumerate(LANGUAGE_CODES)}
    return np.array([index[c] for c in POPULAR_LANGUAGES], dtype=np.int64)


def make_experts(n: int, *, seed: int = SEED) -> ExpertArrays:
    """A random roster of ``n`` experts, built directly as :class:`ExpertArrays`."""
    rng = _rng(seed, 3)
    n_busy = rng.integers(0, 4, size=n)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(n_busy, out=offsets[1:])
    busy_start = YEAR_START + rng.integers(0, 365, size=int(offsets[-1]))
    busy_end = busy_start + rng.integers(2, 60, size=busy_start.size)
    day_rate = np.round(rng.lognormal(np.log(700.0), 0.35, size=n), -1)
    day_rate[rng.random(n) < 0.1] = np.nan
    width = len(str(max(n - 1, 0)))
    return ExpertArrays(
        ids=np.array([f"E{i:0{width}d}" for i in range(n)], dtype=object),
        korean=rng.random(n) < 0.15,
        day_rate=day_rate,
        capacity=np.ones(n, dtype=np.int64),
        themes=random_sets(rng, n, len(THEME_CODES), 1, 4),
        languages=random_sets(rng, n, len(LANGUAGE_CODES), 1, 3, choices=_popular_language_codes(), p=POPULAR_WEIGHTS),
        regions=random_sets(rng, n, len(REGION_CODES), 1, 2),
        countries=random_sets(rng, n, len(COUNTRY_CODES), 1, 5),
        busy_offsets=offsets,
        busy_start=busy_start.astype(np.int64),
        busy_end=busy_end.astype(np.int64),
    )


def make_requests(n: int, *, seed: int = SEED, n_windows: int = 50) -> RequestArrays:
    """A random round of ``n`` requests whose windows come from ``n_windows`` distinct (start, end) pairs."""
    rng = _rng(seed, 4)
    starts = FIRST_MONDAY + 7 * rng.integers(0, 30, size=n_windows)
    ends = starts + 7 * rng.integers(4, 21, size=n_windows) - 3  # a Friday
    which = rng.integers(0, n_windows, size=n)
    window_start, window_end = starts[which].astype(np.int64), ends[which].astype(np.int64)
    workdays = np.busday_count(
        window_start.astype("datetime64[D]"),
        (window_end + 1).astype("datetime64[D]"),
        holidays=HOLIDAYS.astype("datetime64[D]"),
    )
    days = np.minimum(rng.integers(5, 31, size=n), (0.8 * workdays).astype(np.int64))
    budget = np.round(days * rng.uniform(500.0, 1500.0, size=n), -2)
    budget[rng.random(n) < 0.5] = np.nan
    return RequestArrays(
        ids=np.array([f"R{i:05d}" for i in range(n)], dtype=object),
        days=days.astype(np.int64),
        has_window=np.ones(n, dtype=bool),
        window_start=window_start,
        window_end=window_end,
        wants_korean=rng.random(n) < 0.3,
        budget=budget,
        experts_needed=np.ones(n, dtype=np.int64),
        themes=random_sets(rng, n, len(THEME_CODES), 1, 3),
        languages=random_sets(rng, n, len(LANGUAGE_CODES), 1, 2, choices=_popular_language_codes(), p=POPULAR_WEIGHTS),
        region=rng.integers(0, len(REGION_CODES), size=n).astype(np.int64),
        country=rng.integers(0, len(COUNTRY_CODES), size=n).astype(np.int64),
    )


def no_conflicts(requests: RequestArrays, experts: ExpertArrays) -> sp.csr_matrix:
    """The conflict matrix as the Matcher builds it, for a roster and round that declare no conflicts."""
    n = len(requests)
    empty = RequestConflicts(tokens=((),) * n, exclude=((),) * n)
    return conflict_matrix(empty, ExpertConflicts((), sp.csr_matrix((len(experts), 0), dtype=np.float32)), experts.ids)


def make_inputs(n_experts: int, n_requests: int, *, dim: int = DIM, seed: int = SEED) -> ScoringInputs:
    """Scoring inputs for the benchmark, with the conflict matrix as the Matcher builds it."""
    experts = make_experts(n_experts, seed=seed)
    requests = make_requests(n_requests, seed=seed)
    return ScoringInputs(
        requests=requests,
        experts=experts,
        request_embeddings=request_embeddings(n_requests, dim, seed),
        doc_embeddings=expert_embeddings(n_experts, dim, seed),
        doc_offsets=np.arange(n_experts + 1, dtype=np.int64),
        conflicts=no_conflicts(requests, experts),
        holidays=HOLIDAYS,
    )


def without_filters(inputs: ScoringInputs) -> ScoringInputs:
    """The same inputs with no windows, languages or budgets, so that no hard filter removes anyone."""
    req = inputs.requests
    n = len(req)
    requests = dataclasses.replace(
        req,
        has_window=np.zeros(n, dtype=bool),
        window_start=np.zeros(n, dtype=np.int64),
        window_end=np.zeros(n, dtype=np.int64),
        languages=sp.csr_matrix(req.languages.shape, dtype=np.float32),
        budget=np.full(n, np.nan),
    )
    return dataclasses.replace(inputs, requests=requests)


def input_bytes(inputs: ScoringInputs) -> int:
    """Bytes of the arrays the scoring core reads (embeddings, sparse features, calendars)."""
    total = inputs.request_embeddings.nbytes + inputs.doc_embeddings.nbytes + inputs.doc_offsets.nbytes
    exp = inputs.experts
    for m in (exp.themes, exp.languages, exp.regions, exp.countries):
        total += m.data.nbytes + m.indices.nbytes + m.indptr.nbytes
    total += exp.busy_offsets.nbytes + exp.busy_start.nbytes + exp.busy_end.nbytes + exp.day_rate.nbytes
    return total


# ---------------------------------------------------------------------------------------------------------------
# Methods.


def numpy_floor(
    queries: NDArray[np.float32], corpus: NDArray[np.float32], k: int, chunk_size: int
) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """Top-k by inner product: ``Q @ E[chunk].T`` and ``argpartition`` per chunk, merged into a running top-k."""
    n = queries.shape[0]
    best_scores = np.full((n, k), -np.inf, dtype=np.float32)
    best_ids = np.full((n, k), -1, dtype=np.int64)
    for start in range(0, corpus.shape[0], chunk_size):
        block = queries @ corpus[start : start + chunk_size].T
        if block.shape[1] > k:
            part = np.argpartition(block, -k, axis=1)[:, -k:]
        else:
            part = np.broadcast_to(np.arange(block.shape[1]), block.shape)
        scores = np.concatenate([best_scores, np.take_along_axis(block, part, axis=1)], axis=1)
        ids = np.concatenate([best_ids, part + start], axis=1)
        keep = np.argpartition(scores, -k, axis=1)[:, -k:]
        best_scores = np.take_along_axis(scores, keep, axis=1)
        best_ids = np.take_along_axis(ids, keep, axis=1)
    order = np.lexsort((best_ids, -best_scores), axis=1)  # ties by id, as the library breaks them
    return np.take_along_axis(best_ids, order, axis=1), np.take_along_axis(best_scores, order, axis=1)


def st_search(queries: NDArray[np.float32], corpus: NDArray[np.float32], k: int, score: str) -> NDArray[np.int64]:
    """``sentence_transformers.util.semantic_search`` on CPU tensors sharing the numpy buffers."""
    import torch
    from sentence_transformers import util

    function = util.cos_sim if score == "cos_sim" else util.dot_score
    hits = util.semantic_search(torch.from_numpy(queries), torch.from_numpy(corpus), top_k=k, score_function=function)
    return np.array([[h["corpus_id"] for h in row] for row in hits], dtype=np.int64)


def has_avx512f() -> bool:
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    return "avx512f" in text.split()


def faiss_peer(n_experts: int, n_requests: int, *, k: int, seed: int, repeat: int) -> dict:
    """Run ``_faiss_peer.py`` in its own process; ``{"skipped": reason}`` or ``{"seconds": s, "ids": array}``."""
    env = dict(os.environ)
    env.pop("OPENBLAS_L2_SIZE", None)
    env.pop("OPENBLAS_CORETYPE", None)
    if has_avx512f():
        env["OPENBLAS_CORETYPE"] = "SkylakeX"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "ids.npy"
        cmd = [
            sys.executable,
            str(Path(__file__).with_name("_faiss_peer.py")),
            f"--experts={n_experts}",
            f"--requests={n_requests}",
            f"--k={k}",
            f"--seed={seed}",
            f"--repeat={repeat}",
            f"--out={out}",
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        lines = proc.stdout.strip().splitlines()
        if proc.returncode != 0 or not lines:
            reason = lines[-1] if lines else proc.stderr.strip().splitlines()[-1:] or ["no output"]
            return {"skipped": reason if isinstance(reason, str) else reason[0]}
        report = json.loads(lines[-1])
        if "skipped" in report:
            return report
        report["ids"] = np.load(out)
        return report


# ---------------------------------------------------------------------------------------------------------------
# The notebook loop.


def notebook_tables(inputs: ScoringInputs):  # -> tuple[pd.DataFrame, pd.DataFrame]
    """The experts and requests as a notebook user holds them: one row per record, lists of codes, date pairs."""
    import pandas as pd

    exp, req = inputs.experts, inputs.requests

    def codes(matrix: sp.csr_matrix, vocabulary: tuple[str, ...]) -> list[list[str]]:
        return [
            [vocabulary[j] for j in matrix.indices[matrix.indptr[i] : matrix.indptr[i + 1]]]
            for i in range(matrix.shape[0])
        ]

    busy = [
        [(int(exp.busy_start[j]), int(exp.busy_end[j])) for j in range(exp.busy_offsets[i], exp.busy_offsets[i + 1])]
        for i in range(len(exp))
    ]
    experts = pd.DataFrame(
        {
            "expert_id": exp.ids,
            "embedding": list(inputs.doc_embeddings),
            "themes": codes(exp.themes, THEME_CODES),
            "languages": codes(exp.languages, LANGUAGE_CODES),
            "regions": codes(exp.regions, REGION_CODES),
            "countries": codes(exp.countries, COUNTRY_CODES),
            "korean_experience": exp.korean,
            "day_rate_usd": exp.day_rate,
            "busy": busy,
        }
    )
    requests = pd.DataFrame(
        {
            "request_id": req.ids,
            "embedding": list(inputs.request_embeddings),
            "themes": codes(req.themes, THEME_CODES),
            "languages": codes(req.languages, LANGUAGE_CODES),
            "region": [REGION_CODES[r] for r in req.region],
            "country": [COUNTRY_CODES[c] for c in req.country],
            "korean_experience": req.wants_korean,
            "budget_usd": req.budget,
            "days": req.days,
            "window_start": req.window_start,
            "window_end": req.window_end,
        }
    )
    return experts, requests


def notebook_shortlist(experts, requests, weights: Weights, holidays: NDArray[np.int64], k: int) -> NDArray[np.int64]:
    """The loop a notebook user writes: for each request, ``experts.apply(score, axis=1)``, drop filtered, nlargest."""
    holiday_set = {int(h) for h in holidays}
    w = weights.as_dict()
    rows = []
    for _, r in requests.iterrows():
        window = [
            d for d in range(int(r.window_start), int(r.window_end) + 1) if (d + 3) % 7 < 5 and d not in holiday_set
        ]
        need = max(int(r.days), 1)
        has_budget = not np.isnan(r.budget_usd)

        def score(e, r=r, window=window, need=need, has_budget=has_budget):
            busy_days = set()
            for s, t in e.busy:
                busy_days.update(range(s, t + 1))
            free = sum(1 for d in window if d not in busy_days)
            spoken = [lang for lang in r.languages if lang in e.languages]
            rate_known = not np.isnan(e.day_rate_usd)
            if free < need or (r.languages and not spoken):
                return -np.inf
            if has_budget and rate_known and e.day_rate_usd > r.budget_usd / need:
                return -np.inf
            cosine = float(np.dot(r.embedding, e.embedding))
            themes = sum(t in e.themes for t in r.themes) / len(r.themes) if r.themes else 0.0
            geography = 0.5 * (r.country in e.countries) + 0.5 * (r.region in e.regions)
            language = len(spoken) / len(r.languages) if r.languages else 0.0
            korean = float(bool(r.korean_experience and e.korean_experience))
            availability = min(1.0, free / need)
            cost = 1.0 - e.day_rate_usd * need / r.budget_usd if has_budget and rate_known else 0.0
            return (
                w["semantic"] * cosine
                + w["themes"] * themes
                + w["geography"] * geography
                + w["language"] * language
                + w["korean"] * korean
                + w["availability"] * availability
                + w["cost"] * cost
            )

        scores = experts.apply(score, axis=1)
        top = scores[np.isfinite(scores)].nlargest(k)
        ids = np.full(k, -1, dtype=np.int64)
        ids[: len(top)] = top.index.to_numpy()
        rows.append(ids)
    return np.array(rows)


# ---------------------------------------------------------------------------------------------------------------
# Measuring.


def best_time(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Minimum wall time over ``repeat`` runs, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def traced_peak(fn: Callable[[], object]) -> int:
    """Peak bytes allocated while ``fn`` runs (tracemalloc; numpy reports its buffers), beyond what existed before."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak - base


def overlap(a: NDArray[np.int64], b: NDArray[np.int64]) -> float:
    """Share of top-k ids in common, row by row (order ignored)."""
    same = sum(len(set(x[x >= 0]) & set(y[y >= 0])) for x, y in zip(a, b, strict=True))
    total = sum(int((x >= 0).sum()) for x in a)
    return same / max(total, 1)


def blas_report() -> list[str]:
    from threadpoolctl import threadpool_info

    lines = []
    for info in threadpool_info():
        lines.append(
            f"threadpoolctl: {info.get('internal_api')} {info.get('version')} "
            f"architecture={info.get('architecture', '-')} threads={info.get('num_threads')} "
            f"({Path(info.get('filepath', '')).name})"
        )
    return lines


def profile_library(inputs: ScoringInputs, weights: Weights, *, k: int, chunk_size: int) -> dict[str, object]:
    """CPU seconds per step of ``shortlist``, summed over its worker lanes, from the library's own step hook.

    Runs the real code (``scoring._shortlist`` with a ``timer``), so it cannot drift from it. Each lane thread
    charges its own CPU time (``time.thread_time``) to the step it just finished.
    """
    lock = threading.Lock()
    local = threading.local()
    steps: dict[str, float] = {}

    def timer(step: str) -> None:
        now = time.thread_time()
        last = getattr(local, "last", None)
        local.last = now
        if last is None:  # first call in a lane: its thread was started for this run, so its CPU time began at 0
            last = getattr(local, "start", 0.0)
        with lock:
            steps[step] = steps.get(step, 0.0) + now - last

    local.start = time.thread_time()
    t0 = time.perf_counter()
    result = scoring._shortlist(inputs, k=k, weights=weights, chunk_size=chunk_size, timer=timer)
    return {"steps": steps, "wall": time.perf_counter() - t0, "experts": result.experts}


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


# ---------------------------------------------------------------------------------------------------------------
# Main.


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="CI smoke test: 100 requests x 5,000 experts")
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated numbers of experts")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--chunk-size", type=int, default=8192)
    parser.add_argument("--repeat", type=int, default=1, help="timed runs per method (the minimum is reported)")
    parser.add_argument("--k", type=int, default=K)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--no-st", action="store_true", help="skip sentence-transformers")
    parser.add_argument("--no-faiss", action="store_true", help="skip the faiss subprocess")
    parser.add_argument("--no-notebook", action="store_true", help="skip the notebook loop")
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc run of the library")
    parser.add_argument("--profile", action="store_true", help="time each step of the library's chunk loop")
    args = parser.parse_args(argv)
    if args.quick:
        sizes, n_req = [5_000], 100
    else:
        sizes, n_req = sorted(int(s) for s in args.sizes.split(",")), args.requests
    k, chunk, repeat, seed = args.k, args.chunk_size, args.repeat, args.seed

    if not args.no_st:
        import torch
    print(f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} cpus, {platform.machine()}")
    print(f"load average at start: {load_average()} (other processes share the machine when it is above 0)")
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS"):
        print(f"{var}={os.environ.get(var, '(unset)')}")
    if os.environ.get("OPENBLAS_CORETYPE") or os.environ.get("OPENBLAS_L2_SIZE"):
        print("WARNING: OpenBLAS overrides are set; run with env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE")
    for line in blas_report():
        print(line)
    if not args.no_st:
        import torch

        print(f"torch {torch.__version__} intra-op threads={torch.get_num_threads()}")
    print(f"requests={n_req} sizes={sizes} dim={DIM} k={k} chunk_size={chunk} repeat={repeat} seed={seed}")
    weights = Weights.default()
    print(f"library weights: {weights.as_dict()} (lexical has no input here and drops out)")
    print()

    # Warm-up (first-call costs: torch/sentence-transformers import and kernels, BLAS thread start), not timed.
    tiny = make_inputs(2 * k, 4, seed=seed)
    scoring.shortlist(tiny, k=k, weights=weights, chunk_size=chunk)
    numpy_floor(tiny.request_embeddings, tiny.doc_embeddings, k, chunk)
    if not args.no_st:
        for score_name in ("cos_sim", "dot_score"):
            st_search(tiny.request_embeddings, tiny.doc_embeddings, k, score_name)

    rows: list[tuple[int, str, float, str]] = []  # size, method, seconds, note
    notes: list[str] = []

    # Notebook loop: small problem, extrapolated to every size.
    notebook_rate = None
    if not args.no_notebook:
        small = make_inputs(NOTEBOOK_EXPERTS, NOTEBOOK_REQUESTS, seed=seed)
        experts_df, requests_df = notebook_tables(small)
        t_small, nb_ids = best_time(lambda: notebook_shortlist(experts_df, requests_df, weights, HOLIDAYS, k), 1)
        lib_small = scoring.shortlist(small, k=k, weights=weights, chunk_size=chunk).experts
        notebook_rate = t_small / (NOTEBOOK_REQUESTS * NOTEBOOK_EXPERTS)
        notes.append(
            f"notebook loop: {t_small:.2f} s at {NOTEBOOK_REQUESTS} requests x {NOTEBOOK_EXPERTS} experts "
            f"({notebook_rate * 1e6:.1f} us per pair), extrapolated linearly; "
            f"same top-{k} ids as the library on {overlap(nb_ids, lib_small):.1%} of slots"
        )

    for i, n in enumerate(sizes):
        t0 = time.perf_counter()
        inputs = make_inputs(n, n_req, seed=seed)
        built = time.perf_counter() - t0
        t0 = time.perf_counter()
        no_conflicts(inputs.requests, inputs.experts)
        t_conflicts = time.perf_counter() - t0
        q, e = inputs.request_embeddings, inputs.doc_embeddings
        print(
            f"[{n:,} experts] inputs built in {built:.1f} s ({input_bytes(inputs) / 2**20:,.0f} MiB); "
            f"conflict_matrix {t_conflicts * 1e3:.1f} ms (not in the library time below)",
            flush=True,
        )

        if i == 0:
            # Correctness: similarity-only weights, filters neutralized -> same ids as the numpy floor.
            plain = without_filters(inputs)
            lib = scoring.shortlist(plain, k=k, weights=Weights(semantic=1.0), chunk_size=chunk)
            ids, scores = numpy_floor(q, e, k, chunk)
            same_ids = np.array_equal(lib.experts, ids)  # both break ties by id
            close = np.allclose(lib.scores, scores, atol=1e-6)
            bad = int(np.count_nonzero(np.any(lib.experts != ids, axis=1)))
            verdict = "ok" if same_ids and close else f"FAIL ({bad} of {n_req} rows differ)"
            notes.append(f"cross-check at {n:,} experts, similarity-only library vs numpy floor top-{k}: {verdict}")
            print(notes[-1], flush=True)
            # Exactness: every component, a chunk size that cuts the product blocks elsewhere -> the same bits.
            odd = max(1, chunk // 3 + 1)
            a = scoring.shortlist(inputs, k=k, weights=weights, chunk_size=chunk)
            b = scoring.shortlist(inputs, k=k, weights=weights, chunk_size=odd)
            same = np.array_equal(a.experts, b.experts) and np.array_equal(a.scores, b.scores)
            notes.append(
                f"cross-check at {n:,} experts, chunk size {chunk:,} vs {odd:,}: "
                + ("identical ids and scores" if same else "FAIL (results differ)")
            )
            print(notes[-1], flush=True)

        if not args.no_memory:
            peak = traced_peak(partial(scoring.shortlist, inputs, k=k, weights=weights, chunk_size=chunk))
            block = n_req * min(chunk, n) * 4
            notes.append(
                f"library peak working memory at {n:,} experts (tracemalloc, beyond inputs): "
                f"{peak / 2**20:,.0f} MiB = {peak / block:.1f} x one float32 (requests x chunk) block "
                f"({block / 2**20:,.0f} MiB); inputs {input_bytes(inputs) / 2**20:,.0f} MiB"
            )
            print(notes[-1], flush=True)

        t_lib, result = best_time(partial(scoring.shortlist, inputs, k=k, weights=weights, chunk_size=chunk), repeat)
        rows.append((n, "library shortlist (all components)", t_lib, ""))
        print(f"  library {t_lib:.2f} s; median eligible per request {int(np.median(result.eligible)):,}", flush=True)
        t_floor, (floor_ids, _) = best_time(partial(numpy_floor, q, e, k, chunk), repeat)
        rows.append((n, "numpy floor (Q@E.T + argpartition)", t_floor, ""))
        print(f"  numpy floor {t_floor:.2f} s", flush=True)

        if not args.no_st:
            for score_name in ("cos_sim", "dot_score"):
                t_st, st_ids = best_time(partial(st_search, q, e, k, score_name), repeat)
                agree = overlap(st_ids, floor_ids)
                rows.append((n, f"st.semantic_search ({score_name})", t_st, f"ids = floor on {agree:.1%}"))
                print(f"  st.semantic_search {score_name} {t_st:.2f} s", flush=True)

        if not args.no_faiss:
            report = faiss_peer(n, n_req, k=k, seed=seed, repeat=repeat)
            if "skipped" in report:
                if i == 0:
                    notes.append(f"faiss IndexFlatIP skipped: {report['skipped']}")
                    print(notes[-1], flush=True)
            else:
                agree = overlap(report["ids"], floor_ids)
                rows.append(
                    (
                        n,
                        "faiss IndexFlatIP (subprocess)",
                        report["seconds"],
                        f"ids = floor on {agree:.1%}; add {report['add_seconds']:.2f} s not counted",
                    )
                )
                print(
                    f"  faiss {report['seconds']:.2f} s (its own process: {report.get('blas', '?')}, "
                    f"OPENBLAS_CORETYPE={report.get('coretype', '(unset)')})",
                    flush=True,
                )

        if notebook_rate is not None:
            rows.append((n, "notebook loop (pandas apply)", notebook_rate * n_req * n, "extrapolated"))

        if args.profile:
            prof = profile_library(inputs, weights, k=k, chunk_size=chunk)
            steps: dict[str, float] = prof["steps"]  # type: ignore[assignment]
            same = np.array_equal(prof["experts"], result.experts)  # type: ignore[arg-type]
            total = sum(steps.values())
            print(
                f"  profile at {n:,} experts: {total:.2f} CPU s over all lanes, {prof['wall']:.2f} s wall "
                f"(same top-k: {same}); CPU seconds per step:"
            )
            for name, sec in sorted(steps.items(), key=lambda kv: -kv[1]):
                print(f"    {name:<48} {sec:8.2f} s  {sec / total:6.1%}")
        inputs = q = e = result = None  # free this size before building the next
        print(flush=True)

    print(f"{'experts':>10}  {'method':<38} {'seconds':>10} {'/library':>9} {'/floor':>8}  note")
    by_size = {}
    for n, method, sec, _ in rows:
        by_size.setdefault(n, {})[method] = sec
    for n, method, sec, note in rows:
        lib = by_size[n]["library shortlist (all components)"]
        floor = by_size[n]["numpy floor (Q@E.T + argpartition)"]
        print(f"{n:>10,}  {method:<38} {sec:>10.2f} {sec / lib:>9.2f} {sec / floor:>8.2f}  {note}")
    print()
    for note in notes:
        print(note)
    print(f"load average at end: {load_average()}")
    return 0 if not any("FAIL" in note for note in notes) else 1


if __name__ == "__main__":
    sys.exit(main())
