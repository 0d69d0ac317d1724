"""Quality of the expert model: passages -> documents -> expert, on the evaluation sets, for every configuration.

Usage::

    python benchmarks/eval_documents.py [--sets old,docs] [--embedders minilm,minilm-torch] [--out FILE.md]
                                        [--cache DIR] [--quick]

Two sets:

* ``old``: the hand-written set of ``benchmarks/evalset`` (38 requests, 51 experts, 0-3 evidence rows each).
* ``docs``: ``benchmarks/evalset_docs/*/`` (experts with 8-30 publication- or project-like documents each, every
  expert of a part judged 0-3 for every request of that part, requests hand-translated into five languages).

Text only: the requests are *open* (no window, languages, budget, exclusions), and the score is
``(1 - s) * semantic + s * lexical`` for a lexical share ``s``: themes, places and the rest are not text and the
hidden benchmark has none. Metrics, per set and per request language:

* ``loss``: the pairwise loss of the expertise benchmark the library is held to (for each expert, the pairs of
  requests it is graded differently on, weighted by the grade difference, that the scores order the wrong way;
  ties count half; mean over experts; 0 is perfect, 0.5 a constant score);
* ``ndcg@5``, ``ndcg@10`` (gains 2^g - 1), ``map`` and ``mrr`` (grade >= 2 relevant) of each request's ranking.

``--quick`` (CI smoke test) runs the hashing embedder on a few configurations.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

os.environ.setdefault("GSCP_MATCH_QUIET", "1")

from gscp_match.core import _scoring as scoring
from gscp_match.match._matcher import Matcher
from gscp_match.text._cache import EmbeddingCache

HERE = Path(__file__).resolve().parent
FILTER_COLUMNS = ("window_start", "window_end", "languages", "budget_usd", "exclude_experts")


@dataclass(frozen=True, slots=True)
class EvalSet:
    name: str
    experts: pd.DataFrame
    evidence: pd.DataFrame
    requests: pd.DataFrame
    judgments: pd.DataFrame  # request_id, expert_id, relevance (int)


def _read(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / name, dtype=str, keep_default_na=False)


DOCS_ROOT = HERE / "evalset_docs"


def load_set(name: str) -> EvalSet:
    if name == "old":
        folders = [HERE / "evalset"]
        judgment_file = "judgments_experts.csv"
    elif name == "docs":
        folders = sorted(p for p in DOCS_ROOT.glob("*") if (p / "experts.csv").is_file())
        judgment_file = "judgments_experts.csv"
    else:
        raise SystemExit(f"unknown set {name!r}; valid: old, docs")
    if not folders:
        raise SystemExit(f"no data for set {name!r}")
    parts = {kind: [] for kind in ("experts", "evidence", "requests", "judgments")}
    for folder in folders:
        parts["experts"].append(_read(folder, "experts.csv"))
        parts["evidence"].append(_read(folder, "evidence.csv"))
        parts["requests"].append(_read(folder, "requests.csv"))
        parts["judgments"].append(_read(folder, judgment_file))
    tables = {k: pd.concat(v, ignore_index=True) for k, v in parts.items()}
    judgments = tables["judgments"].assign(relevance=tables["judgments"]["relevance"].astype(int))
    experts = tables["experts"].drop(columns=[c for c in ("conflicts", "busy") if c in tables["experts"].columns])
    requests = tables["requests"].drop(columns=[c for c in FILTER_COLUMNS if c in tables["requests"].columns])
    return EvalSet(name, experts, tables["evidence"], requests, judgments)


def request_language(request_id: str) -> str:
    tail = request_id.rsplit("-", 1)[-1]
    return tail if tail in {"fr", "es", "ar", "pt", "ru", "ko"} else "en"


# ---------------------------------------------------------------------------------------------------------------
# Metrics (plain and readable: the sets are small).


def pairwise_loss(scores: pd.DataFrame, judgments: pd.DataFrame) -> float:
    """Mean over experts of the weighted share of differently graded request pairs ordered the wrong way."""
    merged = judgments.merge(scores, on=["request_id", "expert_id"], how="left")
    merged["score"] = merged["score"].fillna(-np.inf)
    losses = []
    for _, group in merged.groupby("expert_id", sort=True):
        grade = group["relevance"].to_numpy(dtype=float)
        score = group["score"].to_numpy(dtype=float)
        dg = grade[:, None] - grade[None, :]
        ds = score[:, None] - score[None, :]
        upper = np.triu(np.ones_like(dg, dtype=bool), 1) & (dg != 0)
        if not upper.any():
            continue
        weight = np.abs(dg[upper])
        wrong = np.where(ds[upper] == 0, 0.5, (np.sign(ds[upper]) != np.sign(dg[upper])).astype(float))
        losses.append(float((weight * wrong).sum() / weight.sum()))
    return float(np.mean(losses)) if losses else float("nan")


def ranking_metrics(scores: pd.DataFrame, judgments: pd.DataFrame) -> dict[str, float]:
    grades = judgments.set_index(["request_id", "expert_id"])["relevance"]
    out: dict[str, list[float]] = {"ndcg@5": [], "ndcg@10": [], "map": [], "mrr": []}
    for request_id, group in scores.groupby("request_id", sort=True):
        ranked = group.sort_values(["score", "expert_id"], ascending=[False, True])
        gains = np.array([grades.get((request_id, e), 0) for e in ranked["expert_id"]], dtype=float)
        judged = judgments.loc[judgments["request_id"] == request_id, "relevance"].to_numpy(dtype=float)
        if not (judged > 0).any():
            continue
        ideal = np.sort(judged)[::-1]
        for k in (5, 10):
            discount = 1.0 / np.log2(np.arange(2, k + 2))
            dcg = float(((2 ** gains[:k] - 1) * discount[: gains[:k].size]).sum())
            idcg = float(((2 ** ideal[:k] - 1) * discount[: ideal[:k].size]).sum())
            out[f"ndcg@{k}"].append(dcg / idcg if idcg > 0 else 0.0)
        relevant = gains >= 2
        n_relevant = int((judged >= 2).sum())
        if n_relevant:
            hits = np.cumsum(relevant)
            precision = hits / np.arange(1, relevant.size + 1)
            out["map"].append(float((precision * relevant).sum() / n_relevant))
            first = np.flatnonzero(relevant)
            out["mrr"].append(1.0 / (first[0] + 1) if first.size else 0.0)
    return {k: float(np.mean(v)) if v else float("nan") for k, v in out.items()}


# ---------------------------------------------------------------------------------------------------------------
# Configurations.


@dataclass(frozen=True, slots=True)
class Config:
    embedder: str
    unit: str
    bio: str
    aggregation: str
    passage_tokens: int
    lexical_share: float
    normalize: str = "none"  # "none" | "zscore" (this script, over the set) | "library" (Matcher(normalize="zscore"))
    multilingual: str = "never"  # Matcher(multilingual=...): "auto" scores non-English pairs with e5

    @property
    def label(self) -> str:
        norm = "" if self.normalize == "none" else f" {self.normalize}"
        languages = " e5 for non-English" if self.multilingual == "auto" else ""
        return (
            f"{self.embedder} {self.unit} bio={self.bio} {self.aggregation} p{self.passage_tokens} "
            f"lex={self.lexical_share:g}{norm}{languages}"
        )


def components(config: Config, data: EvalSet, cache: EmbeddingCache | None) -> tuple[pd.Index, pd.Index, dict]:
    matcher = Matcher(
        embedder=config.embedder,
        cache=cache,
        aggregation=config.aggregation,
        unit=config.unit,
        bio=config.bio,
        passage_tokens=config.passage_tokens,
        normalize="zscore" if config.normalize == "library" else "none",
        multilingual=config.multilingual,
        lexical=True,
        show_progress=False,
    ).fit(data.experts, evidence=data.evidence)
    _, inputs = matcher.scoring_inputs(data.requests)
    comps, _, _ = scoring.component_block(inputs, 0, len(matcher.experts_))
    return pd.Index(inputs.requests.ids), pd.Index(matcher.expert_arrays_.ids), comps


def _zscore(matrix: np.ndarray) -> np.ndarray:
    mean = matrix.mean(axis=1, keepdims=True)
    std = matrix.std(axis=1, keepdims=True)
    return (matrix - mean) / np.where(std > 0, std, 1.0)


def score_table(config: Config, requests: pd.Index, experts: pd.Index, comps: dict) -> pd.DataFrame:
    semantic = comps["semantic"].astype(np.float64)
    lexical = comps["lexical"].astype(np.float64)
    if config.normalize == "library":  # standardized on one scale: the shares act as the library's weights do
        return _table(requests, experts, (1 - config.lexical_share) * semantic + config.lexical_share * lexical)
    if config.normalize == "zscore":
        semantic, lexical = _zscore(semantic), _zscore(lexical)
    return _table(requests, experts, (1 - config.lexical_share) * semantic + config.lexical_share * lexical)


def _table(requests: pd.Index, experts: pd.Index, score: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "request_id": np.repeat(requests.to_numpy(dtype=object), len(experts)),
            "expert_id": np.tile(experts.to_numpy(dtype=object), len(requests)),
            "score": score.ravel(),
        }
    )


def evaluate(config: Config, data: EvalSet, cache: EmbeddingCache | None, memo: dict) -> list[dict]:
    library = config.normalize == "library"
    key = (
        config.embedder,
        config.unit,
        config.bio,
        config.aggregation,
        config.passage_tokens,
        library,
        config.multilingual,
        data.name,
    )
    if key not in memo:
        memo[key] = components(config, data, cache)
    scores = score_table(config, *memo[key])
    rows = []
    languages = sorted({request_language(r) for r in data.requests["request_id"]})
    for language in ["all", *languages] if len(languages) > 1 else ["all"]:
        keep = scores["request_id"].map(request_language) == language if language != "all" else slice(None)
        part = scores[keep] if language != "all" else scores
        judged = data.judgments[data.judgments["request_id"].isin(set(part["request_id"]))]
        row = {"set": data.name, "language": language, "config": config.label, "loss": pairwise_loss(part, judged)}
        row.update(ranking_metrics(part, judged))
        rows.append(row)
    return rows


def grid(embedders: Sequence[str], quick: bool, focus: bool = False) -> Iterable[Config]:
    if focus:  # the candidates for the defaults, with the library's own standardization
        for embedder in embedders:
            for unit, aggregation, tokens in (("passage", "max", 128), ("document", "topk", 256)):
                for share in (0.0, 0.2, 0.3, 0.5):
                    for normalize in ("none", "library"):
                        yield Config(embedder, unit, "document", aggregation, tokens, share, normalize)
        # The defaults with the multilingual policy.
        yield Config(embedders[0], "document", "document", "topk", 256, 0.3, "library", "auto")
        yield Config(embedders[0], "passage", "document", "max", 128, 0.3, "none", "auto")
        return
    if quick:
        yield Config("hashing", "passage", "document", "max", 128, 0.0)
        yield Config("hashing", "document", "document", "topk", 256, 0.3)
        return
    for embedder in embedders:
        # The expert model, text similarity alone.
        for unit, bio, aggregation, tokens in itertools.product(
            ("passage", "document"), ("document", "fallback"), ("max", "mean", "topk"), (128, 256)
        ):
            yield Config(embedder, unit, bio, aggregation, tokens, 0.0)
        # Lexical alone and hybrids, raw sums and per-request z-scores.
        hybrids = (("passage", "max", 128), ("document", "topk", 256), ("document", "mean", 256))
        for unit, aggregation, tokens in hybrids:
            for share in (0.1, 0.2, 0.3, 0.5, 1.0):
                for normalize in ("none", "zscore"):
                    yield Config(embedder, unit, "document", aggregation, tokens, share, normalize)
        yield Config(embedder, "document", "document", "topk", 256, 0.0, "zscore")


def markdown(frame: pd.DataFrame) -> str:
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "| " + " | ".join("---" for _ in cols) + " |"]
    for _, row in frame.iterrows():
        cells = [f"{v:.3f}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="old,docs")
    parser.add_argument("--embedders", default="minilm")
    parser.add_argument("--cache", help="embedding cache folder (default: a temporary folder)")
    parser.add_argument("--out", type=Path, help="also write the tables to this markdown file")
    parser.add_argument("--csv", type=Path, help="also write every row to this CSV")
    parser.add_argument("--docs-root", type=Path, default=DOCS_ROOT, help="folder of the docs set's parts")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--focus", action="store_true", help="only the candidate defaults, library standardization")
    args = parser.parse_args(argv)
    globals()["DOCS_ROOT"] = args.docs_root
    started = time.perf_counter()
    cache_dir = args.cache or tempfile.mkdtemp(prefix="gscp_eval_")
    cache = EmbeddingCache(cache_dir)
    sets = [load_set(s) for s in args.sets.split(",") if s]
    memo: dict = {}
    rows = []
    for config in grid(args.embedders.split(","), args.quick, args.focus):
        for data in sets:
            rows.extend(evaluate(config, data, cache, memo))
    frame = pd.DataFrame(rows)
    if args.csv:
        frame.to_csv(args.csv, index=False)
    overall = frame[frame["language"] == "all"].pivot_table(
        index="config", columns="set", values=["loss", "ndcg@5", "map"], sort=False
    )
    overall.columns = [f"{metric} {name}" for metric, name in overall.columns]
    overall = overall.reset_index()
    text = ["## Overall (text only, open requests)", "", markdown(overall)]
    languages = frame[frame["language"] != "all"]
    if not languages.empty:
        by_language = languages.pivot_table(index="config", columns="language", values="ndcg@5", sort=False)
        text += ["", "## nDCG@5 by request language", "", markdown(by_language.reset_index())]
    text += ["", f"({time.perf_counter() - started:.0f} s)"]
    report = "\n".join(text)
    print(report)
    if args.out:
        args.out.write_text(report + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
