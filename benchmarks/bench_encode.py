"""Encoding throughput of the embedders, side by side on the same texts, and the cost of a cached run.

Usage::

    python benchmarks/bench_encode.py [--texts 1000] [--embedders minilm-torch,minilm-fp32,minilm] [--quick]

Texts: evidence paragraphs and bios of the synthetic generator (the kind of text a roster holds). Each embedder
encodes the same texts once after a warm-up (its model already built and loaded), then once more through the
embedding cache. Printed: texts per second and the ratio to the first embedder (sentence-transformers on torch, the
library's former default), and the largest cosine distance between each embedder's vectors and the first's.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence

import numpy as np

os.environ.setdefault("GSCP_MATCH_QUIET", "1")

from gscp_match.synthetic._generate import generate_evidence, generate_experts
from gscp_match.text._cache import EmbeddingCache, encode_cached
from gscp_match.text._load import load_embedder


def texts_for(n: int) -> list[str]:
    experts = generate_experts(max(n // 2, 40), seed=5)
    evidence = generate_evidence(experts, seed=5)
    texts = list(evidence["text"]) + list(experts["bio"])
    return texts[:n]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=1000)
    parser.add_argument("--embedders", default="minilm-torch,minilm-fp32,minilm")
    parser.add_argument("--quick", action="store_true", help="60 texts, the ONNX embedders only (CI smoke test)")
    args = parser.parse_args(argv)
    names = ["minilm-fp32", "minilm"] if args.quick else args.embedders.split(",")
    texts = texts_for(60 if args.quick else args.texts)
    print(f"{len(texts)} texts, mean {np.mean([len(t.split()) for t in texts]):.0f} words")
    base_rate = base_vectors = None
    for name in names:
        embedder = load_embedder(name)
        embedder.encode(["warm up: build and load the model"])
        cache = EmbeddingCache(tempfile.mkdtemp(prefix="gscp_bench_"))
        started = time.perf_counter()
        vectors = encode_cached(embedder, texts, cache=cache)
        cold = time.perf_counter() - started
        started = time.perf_counter()
        encode_cached(embedder, texts, cache=cache)
        warm = time.perf_counter() - started
        rate = len(texts) / cold
        if base_rate is None:
            base_rate, base_vectors = rate, vectors
        distance = float(np.max(1.0 - np.sum(vectors * base_vectors, axis=1)))
        print(
            f"{name:14s} {rate:8.1f} texts/s  x{rate / base_rate:4.2f}  cached {len(texts) / warm:10.0f} texts/s  "
            f"max cosine distance to {names[0]}: {distance:.4f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
