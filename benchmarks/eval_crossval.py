"""The open measurements of issue 12: request passages, BM25, a cross-validation of the defaults, all-mpnet-base-v2.

Usage::

    python benchmarks/eval_crossval.py [--parts passages,bm25,cv,model] [--sets old,docs] [--cache DIR]
                                       [--folds 5] [--seed 0] [--cv-extra] [--tokens 128,256]
                                       [--mpnet FOLDER] [--out FILE.md]

English requests only (the translated requests of ``docs`` are left out), text only, open requests, scored as in
``eval_documents.py``: ``(1 - s) semantic + s lexical`` for a lexical share ``s``, each component either raw or
standardized per request over the roster (``zscore``: the library's ``center + spread * (raw - mean_r) / std_r``
with one spread for both components, which ranks exactly as ``(1 - s) z_semantic + s z_lexical``). Every score
matrix is computed here from the fitted :class:`gscp_match.Matcher`'s arrays, so one fit per (set, embedder,
passage length, unit) serves every aggregation, share, normalisation and request pooling; embeddings are cached,
so each text is encoded once for the whole run.

Parts:

* ``passages``: a request longer than one passage as the mean of its passages' vectors (the library) or, per
  document, the best cosine over the request's passages; on the sets, and on a probe whose requests carry an
  unrelated administrative paragraph (as real terms of reference do), which makes every request multi-passage.
* ``bm25``: the lexical component as the library's TF-IDF cosine or as BM25 (k1 = 1.2, b = 0.75, written here with
  scipy sparse and the library's tokenizer), over whole documents, aggregated and standardized the same way.
* ``cv``: both sets' requests pooled, ``--folds`` folds by request (seeded, stratified by set); on each fold the
  configuration with the lowest pairwise loss on the training requests is chosen and scored on the held-out ones.
* ``model``: all-mpnet-base-v2 (a local sentence-transformers folder, ``--mpnet``) against ``minilm`` with the
  library defaults, on ``docs``: quality and single-thread encoding speed.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

os.environ.setdefault("GSCP_MATCH_QUIET", "1")

import gscp_match

# Internals of gscp_match used here (all of them; the rest is the top-level API).
from gscp_match.core._aggregate import aggregate
from gscp_match.text._cache import EmbeddingCache, encode_cached
from gscp_match.text._lexical import tokenize
from gscp_match.text._load import load_embedder
from gscp_match.text._passages import explode_documents
from gscp_match.text._texts import request_texts

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from eval_documents import EvalSet, load_set, markdown, pairwise_loss, ranking_metrics, request_language  # noqa: E402

#: What real terms of reference append to the technical ask; unrelated to any expertise (the probe of ``passages``).
ADMIN_PARAGRAPH = (
    "Administrative arrangements. The assignment will be supervised by the task team leader, who will review each "
    "deliverable within ten working days of receipt and may ask for one round of revisions. Payments will be made "
    "in three instalments against accepted deliverables: twenty per cent on approval of the inception note, forty "
    "per cent on the draft report and forty per cent on the final report. The consultant will declare any actual "
    "or potential conflict of interest before signing and will keep confidential all documents and data shared "
    "during the work, which remain the property of the client. Travel, if any, will follow the applicable travel "
    "policy and must be approved in advance in writing; daily allowances are paid at the published rates and "
    "economy fares are reimbursed on presentation of receipts. All reports will be written in English, in an "
    "editable format, with an executive summary of no more than two pages and annexes listing every person met. "
    "Working days are counted in full days of eight hours, and time sheets are submitted with each invoice. The "
    "contract may be extended once by written amendment if both parties agree, within the original budget "
    "ceiling and without changing the scope of the services described above."
)


@dataclass(frozen=True, slots=True)
class Config:
    embedder: str = "minilm"
    passage_tokens: int = 256
    unit: str = "document"
    aggregation: str = "topk"
    normalize: str = "zscore"  # "none" | "zscore"
    lexical_share: float = 0.3
    request: str = "mean"  # "mean" of the request's passage vectors (library) | "max" cosine over its passages
    lexical: str = "tfidf"  # "tfidf" (library) | "bm25"

    @property
    def label(self) -> str:
        extra = "".join(
            f" {x}" for x, on in (("request=max", self.request == "max"), ("bm25", self.lexical == "bm25")) if on
        )
        return (
            f"{self.unit} {self.aggregation} p{self.passage_tokens} {self.normalize} lex={self.lexical_share:g}{extra}"
        )


DEFAULT = Config()


# ---------------------------------------------------------------------------------------------------------------
# Document-level score matrices, one fit per (set, embedder, passage length, unit).


@dataclass(frozen=True, slots=True)
class Blocks:
    """Raw (n_requests, n_units) similarities of one set's requests with one roster's scored units."""

    requests: pd.Index
    experts: pd.Index
    offsets: np.ndarray  # (n_experts + 1,) units of each expert
    semantic: dict[str, np.ndarray]  # "mean" | "max" request pooling -> (n_req, n_units)
    lexical: dict[str, np.ndarray]  # "tfidf" | "bm25" -> (n_req, n_units)
    request_passages: np.ndarray  # (n_req,) passages per request


def bm25_scores(
    doc_texts: Sequence[str], query_texts: Sequence[str], scored: int, *, k1: float = 1.2, b: float = 0.75
) -> np.ndarray:
    """(n_queries, scored) Okapi BM25 of each query against the first ``scored`` of ``doc_texts``.

    IDF ``log(1 + (N - df + 0.5) / (df + 0.5))`` and the average length come from all of ``doc_texts``; a query term
    counts as often as it occurs in the query. Tokens as the library's TF-IDF (``gscp_match.text._lexical.tokenize``,
    English stop words dropped), unigrams.
    """
    from sklearn.feature_extraction.text import CountVectorizer

    vectorizer = CountVectorizer(tokenizer=tokenize, token_pattern=None, lowercase=True, stop_words="english")
    tf = sp.csr_matrix(vectorizer.fit_transform(list(doc_texts)), dtype=np.float64)
    n_docs = tf.shape[0]
    df = np.bincount(tf.indices, minlength=tf.shape[1])
    idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
    length = np.asarray(tf.sum(axis=1)).ravel()
    row = np.repeat(np.arange(n_docs), np.diff(tf.indptr))
    tf.data = tf.data * (k1 + 1) / (tf.data + k1 * (1 - b + b * length[row] / length.mean()))
    weights = (tf @ sp.diags(idf))[:scored]
    queries = sp.csr_matrix(vectorizer.transform(list(query_texts)), dtype=np.float64)
    return np.asarray((queries @ weights.T).toarray())


def blocks(data: EvalSet, embedder: str, tokens: int, unit: str, cache: EmbeddingCache) -> Blocks:
    matcher = gscp_match.Matcher(
        embedder=embedder,
        cache=cache,
        unit=unit,
        passage_tokens=tokens,
        normalize="none",
        multilingual="never",
        lexical=True,
        show_progress=False,
    ).fit(data.experts, evidence=data.evidence)
    texts = request_texts(data.requests)
    mean_q = matcher.embed_requests(data.requests).astype(np.float64)
    docs = matcher.expert_embeddings_.astype(np.float64)
    passages, owner, _ = explode_documents(
        texts,
        np.arange(len(texts), dtype=np.int64),
        max_tokens=min(matcher.embedder_.max_tokens, tokens),
        count_tokens=matcher.embedder_.count_tokens,
    )
    by_passage = encode_cached(matcher.embedder_, passages, cache=cache).astype(np.float64) @ docs.T
    best = np.full((len(texts), docs.shape[0]), -np.inf)
    np.maximum.at(best, owner, by_passage)
    expert_texts = matcher.expert_units_.passages
    lexical_q = matcher.lexical_index_.transform(texts)
    tfidf = np.asarray((lexical_q @ matcher.expert_lexical_.T).toarray(), dtype=np.float64)
    bm25 = bm25_scores(expert_texts + matcher.case_units_.passages, texts, len(expert_texts))
    return Blocks(
        requests=pd.Index(data.requests["request_id"]),
        experts=pd.Index(matcher.expert_arrays_.ids),
        offsets=matcher.expert_units_.offsets,
        semantic={"mean": mean_q @ docs.T, "max": best},
        lexical={"tfidf": tfidf, "bm25": bm25},
        request_passages=np.bincount(owner, minlength=len(texts)),
    )


def _zscore(matrix: np.ndarray) -> np.ndarray:
    mean = matrix.mean(axis=1, keepdims=True)
    std = matrix.std(axis=1, keepdims=True)
    return (matrix - mean) / np.where(std > 1e-6, std, 1.0)


def scores(config: Config, block: Blocks) -> np.ndarray:
    """(n_requests, n_experts) scores of ``config``."""

    def expert_level(matrix: np.ndarray) -> np.ndarray:
        values, _ = aggregate(matrix.astype(np.float32), block.offsets, method=config.aggregation)
        values = values.astype(np.float64)
        return _zscore(values) if config.normalize == "zscore" else values

    s = config.lexical_share
    total = np.zeros((block.requests.size, block.experts.size))
    if s < 1:
        total += (1 - s) * expert_level(block.semantic[config.request])
    if s > 0:
        total += s * expert_level(block.lexical[config.lexical])
    return total


# ---------------------------------------------------------------------------------------------------------------
# Evaluation.


class Bench:
    """The sets (English requests only), their fitted blocks (memoised) and the score tables of configurations."""

    def __init__(self, sets: Sequence[EvalSet], cache: EmbeddingCache) -> None:
        self.sets = {data.name: data for data in sets}
        self.cache = cache
        self._blocks: dict[tuple, Blocks] = {}

    def block(self, name: str, config: Config) -> Blocks:
        key = (name, config.embedder, config.passage_tokens, config.unit)
        if key not in self._blocks:
            self._blocks[key] = blocks(self.sets[name], config.embedder, config.passage_tokens, config.unit, self.cache)
        return self._blocks[key]

    def table(self, name: str, config: Config, prefix: bool = False) -> pd.DataFrame:
        block = self.block(name, config)
        score = scores(config, block)
        tag = f"{name}:" if prefix else ""
        return pd.DataFrame(
            {
                "request_id": np.repeat((tag + block.requests.astype(str)).to_numpy(dtype=object), block.experts.size),
                "expert_id": np.tile((tag + block.experts.astype(str)).to_numpy(dtype=object), block.requests.size),
                "score": score.ravel(),
            }
        )

    def judgments(self, name: str, prefix: bool = False) -> pd.DataFrame:
        judged = self.sets[name].judgments
        if not prefix:
            return judged
        return judged.assign(request_id=f"{name}:" + judged["request_id"], expert_id=f"{name}:" + judged["expert_id"])

    def metrics(self, name: str, config: Config) -> dict[str, float]:
        table, judged = self.table(name, config), self.judgments(name)
        return {"loss": pairwise_loss(table, judged), **ranking_metrics(table, judged)}


def english(data: EvalSet) -> EvalSet:
    keep = data.requests["request_id"].map(request_language) == "en"
    requests = data.requests[keep].reset_index(drop=True)
    judgments = data.judgments[data.judgments["request_id"].isin(set(requests["request_id"]))]
    return replace(data, requests=requests, judgments=judgments.reset_index(drop=True))


def with_admin_paragraph(data: EvalSet) -> EvalSet:
    """The probe: every request's description followed by :data:`ADMIN_PARAGRAPH`."""
    requests = data.requests.assign(description=data.requests["description"].str.strip() + " " + ADMIN_PARAGRAPH)
    return replace(data, name=f"{data.name}+admin", requests=requests)


def _row(label: str, per_set: dict[str, dict[str, float]]) -> dict:
    row: dict = {"configuration": label}
    for name, values in per_set.items():
        for metric in ("loss", "ndcg@5", "map"):
            row[f"{name} {metric}"] = values[metric]
    return row


def part_passages(bench: Bench, tokens: Sequence[int]) -> str:
    names = list(bench.sets)
    probes = [with_admin_paragraph(bench.sets[n]) for n in names]
    for probe in probes:
        bench.sets[probe.name] = probe
    counts = []
    for name in [*names, *(p.name for p in probes)]:
        for t in tokens:
            n = bench.block(name, replace(DEFAULT, passage_tokens=t)).request_passages
            counts.append(
                {
                    "set": name,
                    "passage tokens": t,
                    "requests": n.size,
                    "multi-passage": int((n > 1).sum()),
                    "most passages": int(n.max()),
                }
            )
    rows = []
    for t in tokens:
        for pooling in ("mean", "max"):
            config = replace(DEFAULT, passage_tokens=t, request=pooling)
            for share in (0.0, DEFAULT.lexical_share):
                config = replace(config, lexical_share=share)
                label = f"request {pooling} p{t} lex={share:g}"
                rows.append(_row(label, {n: bench.metrics(n, config) for n in bench.sets}))
    return "\n".join(
        [
            "### Request passages: mean vector (library) or best passage",
            "",
            markdown(pd.DataFrame(counts)),
            "",
            "Library defaults otherwise (document, topk, zscore); `+admin`: the probe.",
            "",
            markdown(pd.DataFrame(rows)),
        ]
    )


def part_bm25(bench: Bench) -> str:
    rows = []
    for lexical in ("tfidf", "bm25"):
        for normalize, aggregation in itertools.product(("none", "zscore"), ("topk", "max", "mean")):
            config = replace(DEFAULT, lexical=lexical, lexical_share=1.0, normalize=normalize, aggregation=aggregation)
            rows.append(
                _row(f"{lexical} alone, {aggregation}, {normalize}", {n: bench.metrics(n, config) for n in bench.sets})
            )
    for lexical in ("tfidf", "bm25"):
        for share in (0.2, 0.3, 0.4):
            config = replace(DEFAULT, lexical=lexical, lexical_share=share)
            rows.append(_row(f"hybrid {lexical} lex={share:g}", {n: bench.metrics(n, config) for n in bench.sets}))
    return "\n".join(
        [
            "### Lexical component: TF-IDF (library) or BM25, whole documents",
            "",
            "Library defaults otherwise (document, topk, zscore, 256 tokens); hybrids standardized.",
            "",
            markdown(pd.DataFrame(rows)),
        ]
    )


def cv_grid(tokens: Sequence[int], extra: bool = False) -> list[Config]:
    """The candidate defaults; ``extra`` adds, to every standardized document-level one, its variants with the
    best request passage and with BM25."""
    grid = [
        Config(passage_tokens=t, unit=u, aggregation=a, normalize=n, lexical_share=s)
        for t, u, a, n, s in itertools.product(
            tokens, ("document", "passage"), ("topk", "max", "mean"), ("zscore", "none"), (0.0, 0.2, 0.3, 0.4)
        )
    ]
    if extra:
        base = [c for c in grid if c.unit == "document" and c.normalize == "zscore"]
        grid += [replace(c, request="max") for c in base]
        grid += [replace(c, lexical="bm25") for c in base if c.lexical_share > 0]
    return grid


def folds(bench: Bench, k: int, seed: int) -> dict[str, int]:
    """Fold of every pooled request (``set:request_id``): shuffled within each set, dealt round-robin."""
    rng = np.random.default_rng(seed)
    fold: dict[str, int] = {}
    start = 0
    for name in sorted(bench.sets):
        ids = [f"{name}:{r}" for r in bench.sets[name].requests["request_id"]]
        order = rng.permutation(len(ids))
        for position, i in enumerate(order):
            fold[ids[i]] = (start + position) % k
        start += len(ids)
    return fold


def part_cv(bench: Bench, tokens: Sequence[int], k: int, seed: int, extra: bool = False) -> str:
    grid = cv_grid(tokens, extra)
    assert DEFAULT in grid
    names = sorted(bench.sets)
    judged = pd.concat([bench.judgments(n, prefix=True) for n in names], ignore_index=True)
    fold_of = folds(bench, k, seed)
    tables = {c: pd.concat([bench.table(n, c, prefix=True) for n in names], ignore_index=True) for c in grid}

    def measure(config: Config, chosen: set[str]) -> dict[str, float]:
        table = tables[config]
        part = table[table["request_id"].isin(chosen)]
        j = judged[judged["request_id"].isin(chosen)]
        return {"loss": pairwise_loss(part, j), **ranking_metrics(part, j)}

    fold_rows: list[dict] = []
    held: dict[Config, list[dict]] = {c: [] for c in grid}
    for f in range(k):
        train = {r for r, g in fold_of.items() if g != f}
        test = {r for r, g in fold_of.items() if g == f}
        train_loss = {c: measure(c, train)["loss"] for c in grid}
        chosen = min(grid, key=lambda c: (train_loss[c], grid.index(c)))
        for c in grid:
            held[c].append(measure(c, test))
        fold_rows.append(
            {
                "fold": f,
                "held-out requests": len(test),
                "chosen": chosen.label,
                "chosen train loss": train_loss[chosen],
                "default train loss": train_loss[DEFAULT],
                "chosen held-out loss": held[chosen][-1]["loss"],
                "default held-out loss": held[DEFAULT][-1]["loss"],
                "chosen held-out nDCG@5": held[chosen][-1]["ndcg@5"],
                "default held-out nDCG@5": held[DEFAULT][-1]["ndcg@5"],
                "default rank on train": sorted(grid, key=lambda c: train_loss[c]).index(DEFAULT) + 1,
                "is default": chosen == DEFAULT,
            }
        )
    frame = pd.DataFrame(fold_rows)
    summary = pd.DataFrame(
        [
            {
                "configuration": c.label,
                "held-out loss": np.mean([h["loss"] for h in held[c]]),
                "held-out nDCG@5": np.mean([h["ndcg@5"] for h in held[c]]),
                "held-out MAP": np.mean([h["map"] for h in held[c]]),
            }
            for c in grid
        ]
    ).sort_values(["held-out loss", "configuration"])
    chosen_loss = frame["chosen held-out loss"].mean()
    chosen_ndcg = frame["chosen held-out nDCG@5"].mean()
    lines = [
        f"### Cross-validation of the defaults ({k} folds by request, seed {seed}, {len(grid)} configurations, "
        f"{len(fold_of)} pooled English requests)",
        "",
        markdown(frame),
        "",
        f"Default chosen on {int(frame['is default'].sum())} of {k} folds. Mean held-out loss / nDCG@5: fold-chosen "
        f"{chosen_loss:.4f} / {chosen_ndcg:.4f}, default {frame['default held-out loss'].mean():.4f} / "
        f"{frame['default held-out nDCG@5'].mean():.4f}.",
        "",
        "Every configuration, mean over the held-out folds (pooled loss: mean over both sets' experts):",
        "",
        markdown(summary),
    ]
    return "\n".join(lines)


def encode_speed(embedder_spec: str, texts: Sequence[str]) -> float:
    """Texts per second of one uncached ``encode`` call (after a short warm-up)."""
    embedder = load_embedder(embedder_spec)
    embedder.encode(list(texts[:8]))
    started = time.perf_counter()
    embedder.encode(list(texts))
    return len(texts) / (time.perf_counter() - started)


def part_model(bench: Bench, mpnet: str, n_speed: int) -> str:
    evidence = bench.sets["docs"].evidence
    speed_texts = (evidence["title"].str.strip() + ". " + evidence["text"].str.strip()).tolist()[:n_speed]
    models = (
        ("all-MiniLM-L6-v2 int8 (minilm, default)", "minilm"),
        ("all-MiniLM-L6-v2 torch fp32 (minilm-torch)", "minilm-torch"),
        ("all-mpnet-base-v2 torch fp32", mpnet),
    )
    rows = []
    for label, spec in models:
        speed = encode_speed(spec, speed_texts)
        for share in (0.0, DEFAULT.lexical_share):
            config = replace(DEFAULT, embedder=spec, lexical_share=share)
            row = _row(f"{label} lex={share:g}", {n: bench.metrics(n, config) for n in bench.sets})
            rows.append({**row, "texts/s (1 thread)": speed})
    return "\n".join(
        [
            "### all-mpnet-base-v2 against MiniLM, library defaults otherwise",
            "",
            f"Speed: one `encode` of {len(speed_texts)} evidence texts of `docs` (title + paragraph), uncached.",
            "",
            markdown(pd.DataFrame(rows)),
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="passages,bm25,cv")
    parser.add_argument("--sets", default="old,docs")
    parser.add_argument("--cache", help="embedding cache folder (default: a temporary folder)")
    parser.add_argument("--tokens", default="128,256", help="passage lengths of the cross-validation grid")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cv-extra", action="store_true", help="cv: also request=max and BM25 variants")
    parser.add_argument("--mpnet", help="all-mpnet-base-v2 sentence-transformers folder (part `model`)")
    parser.add_argument("--speed-texts", type=int, default=200)
    parser.add_argument("--out", type=Path, help="also write the tables to this markdown file")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    cache = EmbeddingCache(args.cache or tempfile.mkdtemp(prefix="gscp_cv_"))
    bench = Bench([english(load_set(s)) for s in args.sets.split(",") if s], cache)
    tokens = [int(t) for t in args.tokens.split(",") if t]
    text = []
    for part in args.parts.split(","):
        t0 = time.perf_counter()
        if part == "passages":
            text.append(part_passages(Bench(list(bench.sets.values()), cache), tokens))
        elif part == "bm25":
            text.append(part_bm25(bench))
        elif part == "cv":
            text.append(part_cv(bench, tokens, args.folds, args.seed, args.cv_extra))
        elif part == "model":
            if not args.mpnet:
                raise SystemExit("--parts model needs --mpnet FOLDER")
            text.append(part_model(bench, args.mpnet, args.speed_texts))
        else:
            raise SystemExit(f"unknown part {part!r}; valid: passages, bm25, cv, model")
        text.append(f"({part}: {time.perf_counter() - t0:.0f} s)")
        print(text[-2], text[-1], sep="\n\n", flush=True)
    report = "\n\n".join(text) + f"\n\n({time.perf_counter() - started:.0f} s in all)\n"
    if args.out:
        args.out.write_text(report, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
