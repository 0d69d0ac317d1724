"""Rankings -> tables with explanations: why each expert or case is on a request's shortlist.

Each shortlisted pair gets its components (unweighted, as in :mod:`gscp_match.core._scoring`), their contributions to
the
score, the themes, places and languages in common, free days against days needed, the expert text that matched
best (a sentence of it), and a short ``why`` string built from those, strongest reason first.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray

from gscp_match.core._scoring import COMPONENTS, Ranking, ScoringInputs, Weights, pair_components
from gscp_match.tables._arrays import COUNTRY_CODES, REGION_CODES
from gscp_match.tables._vocab import country_name
from gscp_match.text._lexical import LexicalIndex
from gscp_match.text._passages import split_sentences
from gscp_match.text._texts import Documents

__all__ = ["explain_experts", "explain_cases", "EXPERT_COLUMNS", "CASE_COLUMNS"]

#: Columns of the expert shortlist table, in order.
EXPERT_COLUMNS: tuple[str, ...] = (
    "request_id",
    "rank",
    "expert_id",
    "name",
    "score",
    *COMPONENTS,
    "free_days",
    "days_needed",
    "shared_themes",
    "shared_places",
    "shared_languages",
    "best_source",
    "best_text",
    "why",
)
#: Columns of the case shortlist table, in order.
CASE_COLUMNS: tuple[str, ...] = (
    "request_id",
    "rank",
    "case_id",
    "title",
    "city",
    "score",
    "semantic",
    "lexical",
    "themes",
    "shared_themes",
    "why",
)

_QUOTE_CHARS = 220
_NO_WINDOW = np.iinfo(np.int32).max


def _pairs(
    result: Ranking,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.float32]]:
    rows, ranks = np.nonzero(result.experts >= 0)
    return rows, ranks + 1, result.experts[rows, ranks], result.scores[rows, ranks]


def _best_sentences(
    passages: list[str],
    request_rows: NDArray[np.int64],
    request_lexical: sp.csr_matrix | None,
    lexical: LexicalIndex | None,
) -> list[str]:
    """For each (passage, request): the passage's sentence with the highest TF-IDF cosine to the request (the first
    sentence without a lexical index), shortened for a table cell. All sentences are vectorized in one call."""
    sentences = [split_sentences(p) or [p] for p in passages]
    best = np.zeros(len(passages), dtype=np.int64)
    if lexical is not None and request_lexical is not None and passages:
        counts = np.array([len(x) for x in sentences], dtype=np.int64)
        owner = np.repeat(np.arange(len(passages)), counts)
        matrix = lexical.transform([t for x in sentences for t in x])
        # A standardized request row carries one more (shift) column than the vocabulary: leave it out.
        rows = request_lexical[request_rows[owner]][:, : matrix.shape[1]]
        sims = np.asarray(matrix.multiply(rows).sum(axis=1)).ravel()
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        top = np.maximum.reduceat(sims, starts)
        first = np.where(sims == top[owner], np.arange(sims.size), sims.size)
        best = np.minimum.reduceat(first, starts) - starts
    quotes = []
    for options, b in zip(sentences, best, strict=True):
        text = " ".join(options[int(b)].split())
        quotes.append(text if len(text) <= _QUOTE_CHARS else text[: _QUOTE_CHARS - 1].rstrip() + "…")
    return quotes


def explain_experts(
    requests: pd.DataFrame,
    experts: pd.DataFrame,
    inputs: ScoringInputs,
    result: Ranking,
    *,
    weights: Weights,
    documents: Documents,
    evidence: pd.DataFrame | None,
    lexical: LexicalIndex | None,
) -> pd.DataFrame:
    """The expert shortlist table (:data:`EXPERT_COLUMNS`), one row per (request, rank)."""
    req_rows, ranks, exp_rows, scores = _pairs(result)
    components, free, best_doc = pair_components(inputs, req_rows, exp_rows)
    need = inputs.requests.days[req_rows]
    has_window = inputs.requests.has_window[req_rows]
    out = pd.DataFrame(
        {
            "request_id": inputs.requests.ids[req_rows],
            "rank": ranks.astype(np.int64),
            "expert_id": experts["expert_id"].to_numpy(dtype=object)[exp_rows],
            "name": experts["name"].to_numpy(dtype=object)[exp_rows],
            "score": scores.astype(np.float64).round(4),
        }
    )
    for c in COMPONENTS:
        out[c] = components[c].astype(np.float64).round(4)
    out["free_days"] = pd.array(np.where(has_window, free, 0), dtype="Int64")
    out.loc[~has_window, "free_days"] = pd.NA
    out["days_needed"] = pd.array(np.where(need > 0, need, 0), dtype="Int64")
    out.loc[need <= 0, "days_needed"] = pd.NA

    has_doc = best_doc >= 0
    quote_of = np.full(len(out), -1, dtype=np.int64)
    quote_of[has_doc] = np.arange(int(has_doc.sum()))
    best_quotes = _best_sentences(
        [documents.passages[int(d)] for d in best_doc[has_doc]], req_rows[has_doc], inputs.request_lexical, lexical
    )
    shared_themes, shared_places, shared_languages, sources, quotes, whys = [], [], [], [], [], []
    for i in range(len(out)):
        r, e = int(req_rows[i]), int(exp_rows[i])
        req = requests.iloc[r]
        ex = experts.iloc[e]
        themes = tuple(t for t in req["themes"] if t in ex["themes"])
        places = _shared_places(inputs, r, e)
        languages = tuple(lang for lang in req["languages"] if lang in ex["languages"])
        d = int(best_doc[i])
        source, quote = "", ""
        if d >= 0:
            kind = documents.source_kind[d]
            if kind == "evidence" and evidence is not None:
                title = evidence["title"].iloc[int(documents.source_row[d])]
                source = f"evidence: {title}" if title else "evidence"
            else:
                source = str(kind)
            quote = best_quotes[int(quote_of[i])]
        contributions = {c: float(getattr(weights, c)) * float(components[c][i]) for c in COMPONENTS}
        why = _why_expert(
            contributions,
            components={c: float(components[c][i]) for c in COMPONENTS},
            themes=themes,
            places=places,
            languages=languages,
            free=int(free[i]) if has_window[i] else None,
            need=int(need[i]),
            wants_korean=bool(inputs.requests.wants_korean[r]),
            source=source,
            quote=quote,
        )
        shared_themes.append(themes)
        shared_places.append(places)
        shared_languages.append(languages)
        sources.append(source)
        quotes.append(quote)
        whys.append(why)
    out["shared_themes"] = pd.Series(shared_themes, dtype=object)
    out["shared_places"] = pd.Series(shared_places, dtype=object)
    out["shared_languages"] = pd.Series(shared_languages, dtype=object)
    out["best_source"] = pd.Series(sources, dtype=object)
    out["best_text"] = pd.Series(quotes, dtype=object)
    out["why"] = pd.Series(whys, dtype=object)
    return out[list(EXPERT_COLUMNS)]


def _shared_places(inputs: ScoringInputs, r: int, e: int) -> tuple[str, ...]:
    req, exp = inputs.requests, inputs.experts
    places: list[str] = []
    c = int(req.country[r])
    if c >= 0 and exp.countries[e, c]:
        places.append(country_name(COUNTRY_CODES[c]))
    g = int(req.region[r])
    if g >= 0 and exp.regions[e, g]:
        places.append(REGION_CODES[g])
    return tuple(places)


def _why_expert(
    contributions: dict[str, float],
    *,
    components: dict[str, float],
    themes: tuple[str, ...],
    places: tuple[str, ...],
    languages: tuple[str, ...],
    free: int | None,
    need: int,
    wants_korean: bool,
    source: str,
    quote: str,
) -> str:
    phrases: dict[str, str] = {
        "semantic": f"text match {components['semantic']:.2f}",
        "lexical": f"shared terms {components['lexical']:.2f}",
        "themes": f"themes {', '.join(themes)}" if themes else "",
        "geography": f"worked in {', '.join(places)}" if places else "",
        "language": f"speaks {', '.join(languages)}" if languages else "",
        "korean": "Korean experience (requested)" if wants_korean and components["korean"] > 0 else "",
        "availability": (f"{free} free days for {max(need, 1)} needed" if free is not None else ""),
        "cost": "rate within budget" if components["cost"] > 0 else "",
    }
    ordered = sorted(COMPONENTS, key=lambda c: (-contributions[c], COMPONENTS.index(c)))
    parts = [phrases[c] for c in ordered if phrases[c] and contributions[c] > 0.0005]
    if quote:
        parts.append(f"{source or 'text'}: \u201c{quote}\u201d")
    return "; ".join(parts)


def explain_cases(
    requests: pd.DataFrame,
    cases: pd.DataFrame,
    inputs: ScoringInputs,
    result: Ranking,
    *,
    weights: Weights,
) -> pd.DataFrame:
    """The case shortlist table (:data:`CASE_COLUMNS`), one row per (request, rank)."""
    req_rows, ranks, case_rows, scores = _pairs(result)
    components, _, _ = pair_components(inputs, req_rows, case_rows)
    out = pd.DataFrame(
        {
            "request_id": inputs.requests.ids[req_rows],
            "rank": ranks.astype(np.int64),
            "case_id": cases["case_id"].to_numpy(dtype=object)[case_rows],
            "title": cases["title"].to_numpy(dtype=object)[case_rows],
            "city": cases["city"].to_numpy(dtype=object)[case_rows],
            "score": scores.astype(np.float64).round(4),
            "semantic": components["semantic"].astype(np.float64).round(4),
            "lexical": components["lexical"].astype(np.float64).round(4),
            "themes": components["themes"].astype(np.float64).round(4),
        }
    )
    shared, whys = [], []
    for i in range(len(out)):
        req_themes = requests["themes"].iloc[int(req_rows[i])]
        case_themes = cases["themes"].iloc[int(case_rows[i])]
        themes = tuple(t for t in req_themes if t in case_themes)
        parts = [f"text match {components['semantic'][i]:.2f}"]
        if weights.lexical and components["lexical"][i] > 0:
            parts.append(f"shared terms {components['lexical'][i]:.2f}")
        if themes:
            parts.append(f"themes {', '.join(themes)}")
        shared.append(themes)
        whys.append("; ".join(parts))
    out["shared_themes"] = pd.Series(shared, dtype=object)
    out["why"] = pd.Series(whys, dtype=object)
    return out[list(CASE_COLUMNS)]
