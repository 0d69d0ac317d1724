"""Checks and reference figures for the DB half of the hard evaluation set.

Usage::

    python benchmarks/evalset_docs/b/sanity.py            # coverage checks only
    python benchmarks/evalset_docs/b/sanity.py --figures  # plus whole-document MiniLM figures (about 1 minute)

Coverage: every (request, expert) pair is judged exactly once, every judged id exists, grades are 0-3, every
request has 1-4 experts at grade 3, and every translated request (``DB-Qnn-xx``) has the same grades as its
English original.

Figures: the packaged all-MiniLM-L6-v2 on whole documents (evidence title + text; a request's title +
description; the model truncates at its own limit), an expert's score an aggregation over their documents:
``max``, ``top3w`` (3 best weighted 1, 1/2, 1/3), ``top3`` (mean of the 3 best), ``mean``. Reported: MRR of the
first grade-3 expert (all requests and English only), nDCG@5, and the benchmark's pairwise loss per expert over
pairs of requests graded differently (weight = grade difference, ties count half), on English requests and on
all requests. This is a reference for the library's own configurations, not a replacement for them.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def load() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    read = {"dtype": str, "keep_default_na": False}
    experts = pd.read_csv(HERE / "experts.csv", **read)
    evidence = pd.read_csv(HERE / "evidence.csv", **read)
    requests = pd.read_csv(HERE / "requests.csv", **read)
    judgments = pd.read_csv(HERE / "judgments_experts.csv", **read)
    return experts, evidence, requests, judgments


def check(experts: pd.DataFrame, requests: pd.DataFrame, judgments: pd.DataFrame) -> None:
    pairs = list(zip(judgments.request_id, judgments.expert_id, strict=True))
    assert len(pairs) == len(set(pairs)), "a pair is judged twice"
    expected = {(q, e) for q in requests.request_id for e in experts.expert_id}
    assert set(pairs) == expected, "judgments do not cover every (request, expert) pair exactly"
    assert judgments.relevance.isin(["0", "1", "2", "3"]).all(), "grades must be 0-3"
    columns = zip(judgments.request_id, judgments.expert_id, judgments.relevance, strict=True)
    grade = {(q, e): int(g) for q, e, g in columns}
    for q in requests.request_id:
        top = sum(grade[(q, e)] == 3 for e in experts.expert_id)
        assert 1 <= top <= 4, f"{q}: {top} experts at grade 3"
        if q.count("-") == 2:
            original = q.rsplit("-", 1)[0]
            assert all(grade[(q, e)] == grade[(original, e)] for e in experts.expert_id), f"{q} differs from {original}"
    print(f"ok: {len(experts)} experts, {len(requests)} requests, {len(judgments)} judgments")


def aggregate(sims: np.ndarray, kind: str) -> np.ndarray:
    """``sims``: (n_requests, n_documents) of one expert -> (n_requests,)."""
    ranked = -np.sort(-sims, axis=1)
    if kind == "max":
        return ranked[:, 0]
    if kind == "mean":
        return ranked.mean(axis=1)
    top = ranked[:, :3]
    if kind == "top3":
        return top.mean(axis=1)
    weights = np.array([1, 1 / 2, 1 / 3])[: top.shape[1]]
    return top @ weights / weights.sum()


def pairwise_loss(scores: np.ndarray, grades: np.ndarray, rows: list[int]) -> float:
    """Weighted share of wrongly ordered request pairs per expert; ``scores``, ``grades``: (n_requests, n_experts)."""
    wrong = total = 0.0
    for j in range(scores.shape[1]):
        for a, b in itertools.combinations(rows, 2):
            diff = grades[a, j] - grades[b, j]
            if diff == 0:
                continue
            hi, lo = (scores[a, j], scores[b, j]) if diff > 0 else (scores[b, j], scores[a, j])
            total += abs(diff)
            wrong += abs(diff) * (0.5 if hi == lo else float(hi < lo))
    return wrong / total


def figures(experts: pd.DataFrame, evidence: pd.DataFrame, requests: pd.DataFrame, judgments: pd.DataFrame) -> None:
    from gscp_match.text._load import load_embedder

    model = load_embedder(None)
    docs = model.encode([f"{t}. {x}" for t, x in zip(evidence.title, evidence.text, strict=True)])
    queries = model.encode([f"{t}. {d}" for t, d in zip(requests.title, requests.description, strict=True)])
    docs = docs / np.linalg.norm(docs, axis=1, keepdims=True)
    queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    sims = queries @ docs.T
    ids = list(experts.expert_id)
    columns = zip(judgments.request_id, judgments.expert_id, judgments.relevance, strict=True)
    grade = {(q, e): int(g) for q, e, g in columns}
    grades = np.array([[grade[(q, e)] for e in ids] for q in requests.request_id])
    english = [i for i, q in enumerate(requests.request_id) if q.count("-") == 1]
    owner = evidence.expert_id.to_numpy()
    print("| aggregation | MRR all | MRR English | nDCG@5 | loss English | loss all |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for kind in ("max", "top3w", "top3", "mean"):
        scores = np.column_stack([aggregate(sims[:, owner == e], kind) for e in ids])
        rr, ndcg = [], []
        for i in range(len(requests)):
            order = np.argsort(-scores[i], kind="stable")
            ranked = grades[i, order]
            rr.append(1 / (1 + int(np.argmax(ranked == 3))))
            discount = 1 / np.log2(np.arange(2, 7))
            ndcg.append(ranked[:5] @ discount / (np.sort(grades[i])[::-1][:5] @ discount))
        mrr_en = np.mean([rr[i] for i in english])
        loss_en = pairwise_loss(scores, grades, english)
        loss_all = pairwise_loss(scores, grades, list(range(len(requests))))
        print(f"| {kind} | {np.mean(rr):.3f} | {mrr_en:.3f} | {np.mean(ndcg):.3f} | {loss_en:.3f} | {loss_all:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--figures", action="store_true", help="also compute the whole-document MiniLM figures")
    args = parser.parse_args()
    experts, evidence, requests, judgments = load()
    check(experts, requests, judgments)
    if args.figures:
        figures(experts, evidence, requests, judgments)


if __name__ == "__main__":
    main()
