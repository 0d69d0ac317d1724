"""Retrieval quality on the hand-written evaluation set (benchmarks/evalset): dense vs lexical vs hybrid, themes,
evidence aggregation, with and without evidence, and the shipped default weights.

Usage::

    python benchmarks/eval_quality.py [--out results.md] [--cache DIR | --cache default] [--quick]

Uses the real packaged all-MiniLM-L6-v2 (offline). Embeddings are cached (a temporary folder unless ``--cache``
is given), so every configuration after the first encodes nothing. ``--quick`` (CI smoke test) uses the hashing
embedder and a few configurations.

The judgments grade subject matter only (benchmarks/evalset/README.md), so the retrieval comparisons run on
*open* requests: no window, languages, budget or excluded experts, and experts without conflicts, so that no hard
filter removes anyone and every expert is ranked. The shipped default weights are then also run on the full
requests, and the judged-relevant experts that the hard filters remove are counted.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

os.environ.setdefault("GSCP_MATCH_QUIET", "1")

from gscp_match import scoring  # noqa: E402
from gscp_match.cache import EmbeddingCache  # noqa: E402
from gscp_match.catalog import load_cases  # noqa: E402
from gscp_match.embed import Embedder, HashingEmbedder, SentenceTransformerEmbedder  # noqa: E402
from gscp_match.matcher import Matcher  # noqa: E402
from gscp_match.metrics import Evaluation, evaluate  # noqa: E402
from gscp_match.scoring import FILTERS, Weights  # noqa: E402

EVALSET = Path(__file__).resolve().parent / "evalset"
#: Request columns dropped for the open (unfiltered) runs: they only feed hard filters, availability and cost.
FILTER_COLUMNS = ("window_start", "window_end", "languages", "budget_usd", "exclude_experts")
LEXICAL_SHARES = (0.1, 0.2, 0.3, 0.4, 0.5)
AGGREGATIONS = ("max", "mean", "topk")
CUTOFFS = (1, 3, 5, 10)
#: Columns of the short tables: (metric column in Evaluation.summary(), header).
SHOWN = (("hit@1", "hit@1"), ("hit@3", "hit@3"), ("ndcg@5", "nDCG@5"), ("ndcg@10", "nDCG@10"), ("mrr", "MRR"))
SHOWN_WIDE = (("ndcg@5", "nDCG@5"), ("hit@3", "hit@3"), ("mrr", "MRR"), ("map", "MAP"))


# ---------------------------------------------------------------------------------------------------------------
# Inputs.


@dataclass(frozen=True, slots=True)
class EvalSet:
    experts: pd.DataFrame
    evidence: pd.DataFrame
    requests: pd.DataFrame
    judgments_experts: pd.DataFrame
    judgments_cases: pd.DataFrame


def _csv(name: str) -> pd.DataFrame:
    return pd.read_csv(EVALSET / name, dtype=str, keep_default_na=False)


def load_evalset() -> EvalSet:
    judgments = {}
    for kind in ("experts", "cases"):
        table = _csv(f"judgments_{kind}.csv")
        judgments[kind] = table.assign(relevance=table["relevance"].astype(int))
    return EvalSet(
        experts=_csv("experts.csv"),
        evidence=_csv("evidence.csv"),
        requests=_csv("requests.csv"),
        judgments_experts=judgments["experts"],
        judgments_cases=judgments["cases"],
    )


def open_requests(requests: pd.DataFrame) -> pd.DataFrame:
    """The requests without the columns that feed hard filters (country, city, client stay: geography uses them;
    conflicts are removed on the expert side instead)."""
    return requests.drop(columns=[c for c in FILTER_COLUMNS if c in requests.columns])


def open_experts(experts: pd.DataFrame) -> pd.DataFrame:
    """The experts without conflicts of interest (busy calendars and rates only act through request columns)."""
    return experts.drop(columns=["conflicts"])


# ---------------------------------------------------------------------------------------------------------------
# Configurations.


@dataclass(frozen=True, slots=True)
class TextConfig:
    label: str
    weights: Weights


def text_configs(theme_ratio: float, shares: Sequence[float]) -> list[TextConfig]:
    """Dense, lexical and hybrids (semantic = 1 - w, lexical = w), each alone and with ``themes = theme_ratio``."""
    base = [("dense", 1.0, 0.0), ("lexical", 0.0, 1.0)] + [(f"hybrid w={w:g}", 1.0 - w, w) for w in shares]
    configs = []
    for themes in (0.0, theme_ratio):
        for name, semantic, lexical in base:
            label = name if themes == 0 else f"{name} + themes"
            configs.append(TextConfig(label, Weights(semantic=semantic, lexical=lexical, themes=themes)))
    return configs


def fit(
    embedder: Embedder,
    cache: EmbeddingCache | None,
    data: EvalSet,
    *,
    weights: Weights,
    aggregation: str = "max",
    evidence: bool = True,
    experts: pd.DataFrame | None = None,
) -> Matcher:
    """A matcher fitted on the evalset roster (default: the open roster, without conflicts)."""
    roster = open_experts(data.experts) if experts is None else experts
    matcher = Matcher(embedder, weights=weights, cache=cache, aggregation=aggregation, lexical=True)
    return matcher.fit(roster, evidence=data.evidence if evidence else None)


def rank_experts(matcher: Matcher, inputs: scoring.ScoringInputs, weights: Weights) -> pd.DataFrame:
    """Every eligible expert ranked for every request: ``request_id, rank, expert_id, score``.

    This is the ranking step of :meth:`Matcher.shortlist` (``scoring.shortlist`` on the matcher's inputs) without
    the per-pair explanations, which cost ~3 ms a pair; :func:`check_same_ranking` confirms the two agree.
    """
    n_experts = len(matcher.experts_)
    result = scoring.shortlist(inputs, k=n_experts, weights=weights, chunk_size=matcher.chunk_size)
    rows, cols = np.nonzero(result.experts >= 0)
    return pd.DataFrame(
        {
            "request_id": inputs.requests.ids[rows],
            "rank": cols + 1,
            "expert_id": matcher.experts_["expert_id"].to_numpy()[result.experts[rows, cols]],
            "score": result.scores[rows, cols],
        }
    )


def check_same_ranking(matcher: Matcher, requests: pd.DataFrame, ranking: pd.DataFrame, *, k: int = 10) -> None:
    shortlist = matcher.shortlist(requests, k=k, k_cases=0).experts
    ours = ranking[ranking["rank"] <= k]
    same = (
        shortlist[["request_id", "rank", "expert_id"]]
        .reset_index(drop=True)
        .equals(ours[["request_id", "rank", "expert_id"]].reset_index(drop=True))
    )
    if not same:
        raise RuntimeError("the core ranking differs from Matcher.shortlist")


def rank_cases(matcher: Matcher, requests: pd.DataFrame, n_cases: int) -> pd.DataFrame:
    """Every catalog case ranked for every request, through :meth:`Matcher.shortlist`."""
    return matcher.shortlist(requests, k=1, k_cases=n_cases).cases


# ---------------------------------------------------------------------------------------------------------------
# Tables.


def markdown(frame: pd.DataFrame, *, digits: int = 3) -> str:
    def cell(value: object) -> str:
        if isinstance(value, float | np.floating):
            return f"{value:.{digits}f}"
        return str(value)

    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns]
    rule = "| " + " | ".join("---:" if n else "---" for n in numeric) + " |"
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def wins(ours: Evaluation, base: Evaluation, metric: str = "ndcg@5") -> str:
    """Per-request wins/ties/losses of ``ours`` against ``base`` on ``metric``."""
    joined = ours.per_request.merge(base.per_request, on="request_id", suffixes=("", "_base"))
    diff = joined[metric].to_numpy() - joined[f"{metric}_base"].to_numpy()
    return f"{int(np.sum(diff > 1e-9))}/{int(np.sum(np.abs(diff) <= 1e-9))}/{int(np.sum(diff < -1e-9))}"


def summary_table(results: dict[str, Evaluation], *, baseline: str = "dense") -> pd.DataFrame:
    rows = []
    for label, result in results.items():
        means = result.summary()
        row: dict[str, object] = {"configuration": label}
        row.update({header: float(means[col]) for col, header in SHOWN})
        row["MAP"] = float(means["map"])
        row["nDCG@5 W/T/L vs dense"] = "-" if label == baseline else wins(result, results[baseline])
        rows.append(row)
    return pd.DataFrame(rows)


def wide_table(
    grid: dict[tuple[str, str], Evaluation], labels: Sequence[str], columns: Sequence[str], metric: str
) -> pd.DataFrame:
    rows = []
    for label in labels:
        row: dict[str, object] = {"configuration": label}
        for column in columns:
            row[column] = float(grid[(label, column)].summary()[metric])
        rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------------------------
# Hard filters on the full requests.


def filtered_relevant(matcher: Matcher, inputs: scoring.ScoringInputs, judgments: pd.DataFrame) -> pd.DataFrame:
    """One row per judged (request, expert) pair with relevance >= 1 and one column per hard filter: removed?"""
    _, masks, _ = scoring.component_block(inputs, 0, len(matcher.experts_))
    request_row = pd.Series(np.arange(len(inputs.requests)), index=inputs.requests.ids)
    expert_row = pd.Series(np.arange(len(matcher.experts_)), index=matcher.experts_["expert_id"].to_numpy())
    pairs = judgments[judgments["relevance"] >= 1].reset_index(drop=True)
    r = request_row.loc[pairs["request_id"].to_numpy()].to_numpy()
    e = expert_row.loc[pairs["expert_id"].to_numpy()].to_numpy()
    out = pairs.copy()
    for name in FILTERS:
        out[name] = masks[name][r, e]
    out["removed"] = out[list(FILTERS)].any(axis=1)
    return out


# ---------------------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="also write the markdown report to this file")
    parser.add_argument("--cache", help="embedding cache folder, or 'default' (default: a temporary folder)")
    parser.add_argument("--quick", action="store_true", help="hashing embedder, few configurations (smoke test)")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    data = load_evalset()
    requests_full = data.requests
    requests_open = open_requests(data.requests)
    request_ids = list(data.requests["request_id"])
    n_experts, n_cases = len(data.experts), len(load_cases())

    with tempfile.TemporaryDirectory(prefix="gscp-eval-cache-") as tmp:
        if args.cache == "default":
            cache = EmbeddingCache()
        else:
            cache = EmbeddingCache(args.cache or tmp)
        embedder: Embedder = HashingEmbedder(256) if args.quick else SentenceTransformerEmbedder(show_progress=False)
        defaults = Weights.default()
        theme_ratio = defaults.themes / (defaults.semantic + defaults.lexical)
        default_share = defaults.lexical / (defaults.semantic + defaults.lexical)
        shares = (0.3,) if args.quick else tuple(sorted(set(LEXICAL_SHARES) | {round(default_share, 4)}))
        configs = text_configs(theme_ratio, shares)
        n_runs = 0
        aggregations = ("max",) if args.quick else AGGREGATIONS

        def scored_experts(ranking: pd.DataFrame, judgments: pd.DataFrame | None = None) -> Evaluation:
            judged = data.judgments_experts if judgments is None else judgments
            return evaluate(ranking, judged, k=CUTOFFS, requests=request_ids)

        def scored_cases(ranking: pd.DataFrame) -> Evaluation:
            return evaluate(ranking, data.judgments_cases, item="case_id", k=CUTOFFS, requests=request_ids)

        # Cases: every text configuration (cases use semantic, lexical and themes only; no evidence, no filters).
        cases: dict[str, Evaluation] = {}
        for config in configs:
            matcher = fit(embedder, cache, data, weights=config.weights)
            cases[config.label] = scored_cases(rank_cases(matcher, requests_open, n_cases))

        # Experts: every text configuration x evidence x aggregation; one fit and one set of inputs per setting.
        grid: dict[tuple[str, str], Evaluation] = {}
        grid_columns = []
        for ev in (True, False):
            for agg in aggregations:
                column = f"{'evidence' if ev else 'bio only'}, {agg}"
                grid_columns.append(column)
                matcher = fit(embedder, cache, data, weights=defaults, aggregation=agg, evidence=ev)
                _, inputs = matcher.scoring_inputs(requests_open)
                for config in configs:
                    ranking = rank_experts(matcher, inputs, config.weights)
                    grid[(config.label, column)] = scored_experts(ranking)
                    n_runs += 1
        experts_main = {c.label: grid[(c.label, "evidence, max")] for c in configs}

        # Shipped default weights: open requests (no filters), then the full requests with every hard filter.
        matcher = fit(embedder, cache, data, weights=defaults)
        default_cases = scored_cases(rank_cases(matcher, requests_open, n_cases))
        _, inputs = matcher.scoring_inputs(requests_open)
        default_open = rank_experts(matcher, inputs, defaults)
        check_same_ranking(matcher, requests_open, default_open)
        default_experts_open = scored_experts(default_open)
        matcher_full = fit(embedder, cache, data, weights=defaults, experts=data.experts)
        _, inputs_full = matcher_full.scoring_inputs(requests_full)
        default_full = rank_experts(matcher_full, inputs_full, defaults)
        check_same_ranking(matcher_full, requests_full, default_full)
        default_experts_full = scored_experts(default_full)
        removed = filtered_relevant(matcher_full, inputs_full, data.judgments_experts)
        reachable = data.judgments_experts.merge(
            removed.loc[removed["removed"], ["request_id", "expert_id"]], how="left", indicator=True
        )
        reachable = reachable[reachable["_merge"] == "left_only"].drop(columns="_merge")
        default_experts_reachable = scored_experts(default_full, reachable)
        n_runs += len(configs) + 3
        elapsed = time.perf_counter() - started

    w = defaults.as_dict()
    lines = [
        "# Retrieval quality on benchmarks/evalset",
        "",
        f"Embedder: `{embedder.name}`; {len(request_ids)} requests, {n_experts} experts, {n_cases} catalog cases; "
        f"{n_runs} rankings in {elapsed:.0f} s (embeddings cached after the first fit).",
        "",
        "Retrieval comparisons use **open requests**: columns "
        f"{', '.join(FILTER_COLUMNS)} dropped from requests.csv and `conflicts` dropped from experts.csv, so no hard "
        "filter removes anyone and every expert and case is ranked (k = all). Availability, language share and "
        "cost are then constant, and only the weighted components differ.",
        f"`+ themes` adds the theme component at the default ratio themes / (semantic + lexical) = "
        f"{w['themes']:g} / {w['semantic'] + w['lexical']:g} = {theme_ratio:.2f}. Hybrid `w` is the lexical share "
        f"(semantic = 1 - w, lexical = w); the shipped defaults have w = {default_share:.2f}.",
        f"Metrics: relevant = grade >= 1; nDCG with linear gain (= sklearn.metrics.ndcg_score); MRR and MAP over "
        f"the full ranking. W/T/L: requests where nDCG@5 beats / ties / loses to dense alone ({len(request_ids)} "
        "requests, so a few points of difference is a handful of requests).",
        "",
        "## Cases (bundled Korean catalog)",
        "",
        markdown(summary_table(cases)),
        "",
        "## Experts (evidence, max aggregation)",
        "",
        markdown(summary_table(experts_main)),
        "",
        "## Experts: evidence and aggregation",
        "",
    ]
    labels = [c.label for c in configs]
    for metric, header in SHOWN_WIDE:
        lines += [f"### {header}", "", markdown(wide_table(grid, labels, grid_columns, metric)), ""]

    default_rows = []
    for label, result in (
        ("cases, open requests", default_cases),
        ("experts, open requests (no filters)", default_experts_open),
        ("experts, full requests (hard filters on), all judgments", default_experts_full),
        ("experts, full requests, judgments the filters allow", default_experts_reachable),
    ):
        means = result.summary()
        row: dict[str, object] = {"run": label}
        row.update({h: float(means[c]) for c, h in SHOWN})
        row["MAP"] = float(means["map"])
        row["requests"] = int(means["n_requests"])
        default_rows.append(row)
    lines += [
        "## Shipped default weights",
        "",
        "Weights: " + ", ".join(f"{k}={v:g}" for k, v in w.items() if v) + " (cases use semantic, lexical, themes).",
        "",
        markdown(pd.DataFrame(default_rows)),
        "",
        "Judged-relevant (request, expert) pairs removed by the hard filters on the full requests "
        "(an expert removed by two filters counts in both columns):",
        "",
    ]
    by_grade = []
    for grade in (3, 2, 1):
        part = removed[removed["relevance"] == grade]
        row = {"grade": str(grade), "judged pairs": len(part)}
        row.update({f"removed: {f}": int(part[f].sum()) for f in FILTERS})
        row["removed: any"] = int(part["removed"].sum())
        by_grade.append(row)
    total = {"grade": ">= 1", "judged pairs": len(removed)}
    total.update({f"removed: {f}": int(removed[f].sum()) for f in FILTERS})
    total["removed: any"] = int(removed["removed"].sum())
    by_grade.append(total)
    lines += [markdown(pd.DataFrame(by_grade)), ""]
    top = removed[removed["removed"] & (removed["relevance"] == 3)]
    if len(top):
        listing = top.assign(filters=top[list(FILTERS)].apply(lambda r: ", ".join(r.index[r.to_numpy()]), axis=1))
        lines += [
            "Grade-3 pairs removed:",
            "",
            markdown(listing[["request_id", "expert_id", "filters"]].reset_index(drop=True)),
            "",
        ]
    report = "\n".join(lines)
    sys.stdout.write(report + "\n")
    if args.out is not None:
        args.out.write_text(report + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
