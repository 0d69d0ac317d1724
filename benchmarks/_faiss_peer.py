"""faiss ``IndexFlatIP`` (exact inner product) on the benchmark's embeddings, in its own process.

Started by ``bench_scoring.py`` with its own environment (``OPENBLAS_CORETYPE=SkylakeX`` where the CPU has avx512f,
for the OpenBLAS bundled in faiss-cpu wheels, which predates some CPUs; elsewhere OpenBLAS picks its kernel itself, and
the JSON line says which one threadpoolctl saw). Regenerates the same embeddings from the seed, times ``index.search``
(the minimum over ``--repeat`` runs; building the index is reported apart), saves the top-k ids to ``--out`` and prints
one JSON line. When faiss is not importable it prints ``{"skipped": ...}`` and exits with 0.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np


def blas_kernel() -> str:
    """The BLAS faiss runs on, as threadpoolctl reports it (library, version, kernel, threads)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    found = [
        f"{i.get('internal_api')} {i.get('version')} {i.get('architecture', '-')} x{i.get('num_threads')}"
        for i in threadpool_info()
        if i.get("user_api") == "blas" and "faiss" in i.get("filepath", "")
    ]
    return "; ".join(found) or "no BLAS of faiss found"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--experts", type=int, required=True)
    parser.add_argument("--requests", type=int, required=True)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        import faiss
    except ImportError as exc:
        print(json.dumps({"skipped": f"faiss is not importable in {sys.executable} ({exc}); pip install faiss-cpu"}))
        return 0

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_scoring import DIM, expert_embeddings, request_embeddings

    corpus = expert_embeddings(args.experts, DIM, args.seed)
    queries = request_embeddings(args.requests, DIM, args.seed)
    t0 = time.perf_counter()
    index = faiss.IndexFlatIP(DIM)
    index.add(corpus)
    add_seconds = time.perf_counter() - t0
    del corpus
    times = []
    ids = None
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        _, ids = index.search(queries, args.k)
        times.append(time.perf_counter() - t0)
    np.save(args.out, np.asarray(ids, dtype=np.int64))
    report = {
        "seconds": min(times),
        "add_seconds": add_seconds,
        "faiss": getattr(faiss, "__version__", "?"),
        "threads": faiss.omp_get_max_threads(),
        "blas": blas_kernel(),
        "coretype": os.environ.get("OPENBLAS_CORETYPE", "(unset)"),
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
