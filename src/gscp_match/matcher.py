"""The matcher: build once from a roster (and evidence, cases), then shortlist experts and cases for requests.

>>> from gscp_match import Matcher, load_demo
>>> demo = load_demo()
>>> matcher = Matcher(embedder="hashing", cache=None).fit(demo.experts, evidence=demo.evidence)
>>> result = matcher.shortlist(demo.requests.head(2), k=3, k_cases=2)
>>> result.experts[["request_id", "rank"]].shape
(6, 2)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray

from . import round_plan, scoring
from .aggregate import AGGREGATION_METHODS
from .arrays import (
    COUNTRY_CODES,
    LANGUAGE_CODES,
    REGION_CODES,
    THEME_CODES,
    ExpertArrays,
    RequestArrays,
    one_hot,
)
from .assign import solve
from .cache import EmbeddingCache, encode_cached
from .catalog import load_cases
from .embed import Embedder, load_embedder
from .explain import explain_cases, explain_experts
from .lexical import LexicalIndex
from .passages import explode_documents
from .progress import progress_bar
from .round_plan import RoundPlan
from .scoring import FILTERS, ScoringInputs, Shortlist, Weights
from .similarity import DEFAULT_PASSAGE_TOKENS
from .texts import case_documents, expert_documents, request_texts
from .validate import as_table, check_references

__all__ = ["Matcher", "RoundPlan", "Shortlists", "TableLike"]

log = logging.getLogger(__name__)

TableLike: TypeAlias = pd.DataFrame | str | os.PathLike[str]


def _requests_table(value: TableLike | Mapping[str, Any]) -> pd.DataFrame:
    if isinstance(value, Mapping):
        value = pd.DataFrame([dict(value)])
    return as_table(value, "requests")


@dataclass(frozen=True, slots=True)
class Shortlists:
    """Shortlists for a set of requests.

    Attributes
    ----------
    experts : DataFrame
        ``request_id, rank, expert_id, name, score``, the components, ``free_days``, ``days_needed``, the
        structured explanation columns and ``why``; ``rank`` starts at 1.
    cases : DataFrame
        ``request_id, rank, case_id, title, city, score``, components and ``why``.
    filters : DataFrame
        One row per request: ``request_id, eligible`` and, per hard filter, how many experts it removed.
    """

    experts: pd.DataFrame
    cases: pd.DataFrame
    filters: pd.DataFrame


class Matcher:
    """Shortlist experts and Korean benchmark cases for technical-assistance requests.

    Parameters
    ----------
    embedder : Embedder, str or None
        ``None``: the packaged all-MiniLM-L6-v2 (or ``$GSCP_MATCH_MODEL``); ``"hashing"``: a small deterministic
        embedder without a model; a path: a local sentence-transformers model.
    weights : Weights, mapping or path, optional
        Component weights; default ``models/default_weights.json``.
    cache : EmbeddingCache, path, "default" or None
        Where embeddings are cached (``"default"``: ``$GSCP_MATCH_CACHE`` or the user cache folder; None: no cache).
    aggregation : {"max", "mean", "topk"}
        How an expert's texts (bio passages and evidence) aggregate.
    lexical : bool
        Add the TF-IDF signal.
    holidays : sequence of dates
        Days that are not working days (ISO strings or datetime64).
    chunk_size : int
        Experts scored at a time (memory is O(requests x chunk_size)).
    show_progress : bool or None
        Progress bars on long work; None: on unless ``GSCP_MATCH_QUIET=1``.
    scheduler : str or dask Client, optional
        Score on Dask (``"threads"``, ``"processes"``, ``"local"`` for a LocalCluster, a scheduler address
        ``"tcp://host:8786"``, or a ``Client``), shard by shard, with results identical to one process. Needs
        ``pip install 'gscp_match[distributed]'``; without it nothing imports Dask. See ``docs/distributed.md``.
    n_shards : int, optional
        Expert shards for Dask (default: from the number of workers).
    store : path, optional
        A profile store folder (:class:`gscp_match.store.ProfileStore`): experts' embeddings kept in Parquet
        shards, so only new or changed profiles are encoded (on the Dask workers when ``scheduler`` is given).
    """

    def __init__(
        self,
        embedder: Embedder | str | os.PathLike[str] | None = None,
        *,
        weights: Weights | Mapping[str, float] | str | os.PathLike[str] | None = None,
        cache: EmbeddingCache | str | os.PathLike[str] | None = "default",
        aggregation: str = "max",
        lexical: bool = True,
        holidays: Sequence[str] | NDArray[np.datetime64] = (),
        chunk_size: int = 8192,
        show_progress: bool | None = None,
        scheduler: Any = None,
        n_shards: int | None = None,
        store: str | os.PathLike[str] | None = None,
    ) -> None:
        if aggregation not in AGGREGATION_METHODS:
            raise ValueError(f"unknown aggregation {aggregation!r}; valid: {', '.join(AGGREGATION_METHODS)}")
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        self.embedder_spec = embedder
        self.weights = _weights(weights)
        self.cache_spec = cache
        self.aggregation = aggregation
        self.lexical = lexical
        self.holidays = np.asarray(holidays, dtype="datetime64[D]").astype(np.int64)
        self.chunk_size = chunk_size
        self.show_progress = show_progress
        if scheduler is not None:
            from .distributed import check_scheduler

            check_scheduler(scheduler)  # unknown name: ValueError listing the valid ones; no dask: ImportError
        self.scheduler, self.n_shards, self.store = scheduler, n_shards, store
        self._fitted = False

    def __repr__(self) -> str:
        state = f"{len(self.experts_)} experts, {len(self.cases_)} cases" if self._fitted else "not fitted"
        return f"Matcher({state}, aggregation={self.aggregation!r}, lexical={self.lexical})"

    # ------------------------------------------------------------------------------------------------------------
    def fit(
        self,
        experts: TableLike,
        *,
        evidence: TableLike | None = None,
        cases: TableLike | None = None,
    ) -> Matcher:
        """Read and validate the roster, evidence and cases (default: the bundled Korean catalog), and embed them.

        Embeddings are cached, so fitting again on an unchanged roster encodes nothing.
        """
        experts_table = as_table(experts, "experts")
        evidence_table = as_table(evidence, "evidence") if evidence is not None else None
        check_references(experts=experts_table, evidence=evidence_table)
        cases_table = as_table(cases, "cases") if cases is not None else load_cases()

        self.embedder_ = load_embedder(self.embedder_spec)
        self.cache_ = _cache(self.cache_spec)
        self.experts_ = experts_table.sort_values("expert_id", kind="stable").reset_index(drop=True)
        self.evidence_ = evidence_table
        self.cases_ = cases_table.sort_values("case_id", kind="stable").reset_index(drop=True)
        self.expert_arrays_ = ExpertArrays.from_table(self.experts_)
        self.case_arrays_ = _case_roster(self.cases_)

        count = self.embedder_.count_tokens
        max_tokens = self._passage_tokens()
        self.expert_docs_ = expert_documents(self.experts_, evidence_table, max_tokens=max_tokens, count_tokens=count)
        self.case_docs_ = case_documents(self.cases_, max_tokens=max_tokens, count_tokens=count)
        if self.store is not None:
            from .store import ProfileStore

            profiles = ProfileStore(self.store)
            profiles.update(self.experts_, evidence=evidence_table, embedder=self.embedder_, scheduler=self.scheduler)
            stored = profiles.load(embedder=self.embedder_)
            if stored.passages != self.expert_docs_.passages:
                raise RuntimeError(f"profile store {profiles.directory} does not hold this roster's passages")
            self.expert_embeddings_ = stored.doc_embeddings
        else:
            self.expert_embeddings_ = self._encode(self.expert_docs_.passages)
        self.case_embeddings_ = self._encode(self.case_docs_.passages)
        if self.lexical:
            self.lexical_index_: LexicalIndex | None = LexicalIndex.fit(
                self.expert_docs_.passages + self.case_docs_.passages
            )
            n_expert_docs = len(self.expert_docs_.passages)
            matrix = self.lexical_index_.document_matrix
            self.expert_lexical_: sp.csr_matrix | None = matrix[:n_expert_docs]
            self.case_lexical_: sp.csr_matrix | None = matrix[n_expert_docs:]
        else:
            self.lexical_index_ = self.expert_lexical_ = self.case_lexical_ = None
        self._fitted = True
        return self

    def _passage_tokens(self) -> int:
        # MiniLM was trained on 128-token inputs: shorter passages keep a late sentence of a long bio visible.
        return min(self.embedder_.max_tokens, DEFAULT_PASSAGE_TOKENS)

    def _encode(self, texts: list[str]) -> NDArray[np.float32]:
        return encode_cached(self.embedder_, texts, cache=self.cache_)

    def _check_fitted(self) -> None:
        if not self._fitted:
            raise RuntimeError("call Matcher.fit(experts, ...) before shortlisting")

    # ------------------------------------------------------------------------------------------------------------
    def embed_requests(self, requests: pd.DataFrame) -> NDArray[np.float32]:
        """(n_requests, d) request embeddings; long requests are split into passages and their mean is used."""
        self._check_fitted()
        texts = request_texts(requests)
        passages, owner, _ = explode_documents(
            texts,
            np.arange(len(texts), dtype=np.int64),
            max_tokens=self._passage_tokens(),
            count_tokens=self.embedder_.count_tokens,
        )
        vectors = self._encode(passages)
        sums = np.zeros((len(texts), vectors.shape[1]), dtype=np.float64)
        np.add.at(sums, owner, vectors)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        return (sums / np.where(norms > 0, norms, 1.0)).astype(np.float32)

    def scoring_inputs(self, requests: TableLike | Mapping[str, Any]) -> tuple[pd.DataFrame, ScoringInputs]:
        """The validated requests table and the scoring core's inputs against the roster."""
        self._check_fitted()
        table = _requests_table(requests)
        check_references(experts=self.experts_, requests=table)
        req = RequestArrays.from_table(table)
        q = self.embed_requests(table)
        lexical_q = self.lexical_index_.transform(request_texts(table)) if self.lexical_index_ is not None else None
        inputs = ScoringInputs(
            requests=req,
            experts=self.expert_arrays_,
            request_embeddings=q,
            doc_embeddings=self.expert_embeddings_,
            doc_offsets=self.expert_docs_.offsets,
            request_lexical=lexical_q,
            doc_lexical=self.expert_lexical_,
            conflicts=scoring.conflict_matrix(req, self.expert_arrays_),
            holidays=self.holidays,
            aggregation=self.aggregation,
        )
        return table, inputs

    def shortlist(self, requests: TableLike | Mapping[str, Any], *, k: int = 10, k_cases: int = 5) -> Shortlists:
        """Top-``k`` experts and top-``k_cases`` Korean cases for each request, with explanations.

        Parameters
        ----------
        requests : DataFrame, path, or a mapping for one request
            Validated against the requests contract.
        k, k_cases : int
            Shortlist lengths (k_cases=0 skips cases).
        """
        table, inputs = self.scoring_inputs(requests)
        result = self._score(inputs, k)
        experts_frame = explain_experts(
            table,
            self.experts_,
            inputs,
            result,
            weights=self.weights,
            documents=self.expert_docs_,
            evidence=self.evidence_,
            lexical=self.lexical_index_,
        )
        filters = _filter_table(table, result)
        cases_frame = self._shortlist_cases(table, inputs, k_cases) if k_cases > 0 else _empty_cases()
        return Shortlists(experts=experts_frame, cases=cases_frame, filters=filters)

    def assign(
        self,
        requests: TableLike | Mapping[str, Any],
        *,
        top_m: int = 20,
        n_alternates: int = 3,
        method: str = "milp",
        require_korean: bool = True,
        korean_share: float | None = None,
        unstaffed_penalty: float = 10.0,
        recent_engagements: Mapping[str, float] | pd.Series | None = None,
        spread_weight: float = 0.0,
        time_limit: float = 60.0,
        mip_rel_gap: float = 0.0,
    ) -> RoundPlan:
        """Staff a whole round: no expert double-booked, every request staffed where possible, best total score.

        Each request's candidates are its top-``top_m`` experts after the hard filters (so conflicts, language
        and budget masks hold by construction); :func:`gscp_match.assign.solve` then picks the plan under the
        experts' ``max_assignments``, their calendars and the program targets. See :mod:`gscp_match.assign`
        for the exact formulation.

        Parameters
        ----------
        requests : DataFrame, path, or a mapping for one request
        top_m : int, default 20
            Candidates per request (more: a larger, slower problem that may find a better plan).
        n_alternates : int, default 3
            Stand-by experts listed per request (role ``"alternate"``).
        method : {"milp", "greedy"}
            Exact (HiGHS) or the greedy baseline.
        require_korean : bool, default True
            A request asking for Korean experience gets at least one Korean-experienced expert, or stays
            unstaffed.
        korean_share : float, optional
            Minimum share of Korean-experienced experts among the round's assignments.
        unstaffed_penalty : float, default 10.0
            Objective cost of each missing expert.
        recent_engagements : mapping or Series expert_id -> count, optional
            Engagements in recent rounds; with ``spread_weight`` they lower a pair's score (shown as
            ``adjusted_score`` in the assignment table). Experts not listed count 0.
        spread_weight : float, default 0.0
            Score lowered by ``spread_weight * recent_engagements`` (spreads opportunities).
        time_limit, mip_rel_gap : float
            HiGHS stopping rules; a stopped solve keeps its plan and reports its gap.

        Returns
        -------
        RoundPlan

        Examples
        --------
        >>> from gscp_match import Matcher, load_demo
        >>> demo = load_demo()
        >>> matcher = Matcher("hashing", cache=None).fit(demo.experts, evidence=demo.evidence)
        >>> plan = matcher.assign(demo.requests, top_m=10, n_alternates=1)
        >>> plan.result.status, plan.unstaffed["request_id"].tolist()  # the demo round is contended
        ('optimal', ['DEMO-004', 'DEMO-011'])
        >>> sorted(plan.assignment["role"].unique())
        ['alternate', 'assigned']
        """
        for name, value, least in (("top_m", top_m, 1), ("n_alternates", n_alternates, 0)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
                raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
        table, inputs = self.scoring_inputs(requests)
        # A request needing more experts than top_m would be cut short by the candidate list, not by the rules.
        candidates = self._score(inputs, max(int(top_m), int(inputs.requests.experts_needed.max(initial=1))))
        problem, sub_roster = round_plan.build_problem(inputs, candidates)
        expert_ids = self.expert_arrays_.ids
        recent = round_plan.recent_counts(recent_engagements, expert_ids[sub_roster.rows])
        result = solve(
            problem,
            method=method,
            require_korean=require_korean,
            korean_share=korean_share,
            unstaffed_penalty=unstaffed_penalty,
            recent_engagements=recent,
            spread_weight=spread_weight,
            time_limit=time_limit,
            mip_rel_gap=mip_rel_gap,
        )
        request_ids = inputs.requests.ids
        chosen, chosen_score, n_assigned, reasons, booked = round_plan.plan_tables(
            problem, result, sub_roster, request_ids=request_ids, expert_ids=expert_ids, n_alternates=n_alternates
        )
        filters = _filter_table(table, candidates)
        picked = Shortlist(
            experts=chosen, scores=chosen_score, filtered=candidates.filtered, eligible=candidates.eligible
        )
        lowered = pd.Series(spread_weight * recent, index=expert_ids[sub_roster.rows])
        assignment = self._assignment_table(table, inputs, picked, n_assigned, lowered)
        unstaffed = round_plan.unstaffed_table(
            reasons, problem, result, request_ids=request_ids, filters=filters, n_experts=len(self.experts_)
        )
        return RoundPlan(
            assignment=assignment,
            unstaffed=unstaffed,
            bookings=booked,
            result=result,
            problem=problem,
            sub_roster=sub_roster,
            filters=filters,
            candidates=round_plan.candidate_table(
                problem, result, sub_roster, request_ids=request_ids, expert_ids=expert_ids, n_alternates=n_alternates
            ),
        )

    def _score(self, inputs: ScoringInputs, k: int) -> Shortlist:
        """Top-k per request, on Dask when a scheduler was given (identical results), else in this process."""
        if self.scheduler is not None:
            from .distributed import distributed_shortlist

            return distributed_shortlist(
                inputs,
                k=k,
                weights=self.weights,
                scheduler=self.scheduler,
                n_shards=self.n_shards,
                chunk_size=self.chunk_size,
            )
        n = len(self.experts_)
        with progress_bar(n, "scoring experts", enabled=self._progress(n)) as bar:
            return scoring.shortlist(inputs, k=k, weights=self.weights, chunk_size=self.chunk_size, progress=bar.update)

    def _assignment_table(
        self,
        table: pd.DataFrame,
        inputs: ScoringInputs,
        picked: Shortlist,
        n_assigned: NDArray[np.int64],
        lowered: pd.Series,
    ) -> pd.DataFrame:
        """Each request's assigned then alternate experts (``picked``), explained, with role and rank per role."""
        frame = explain_experts(
            table,
            self.experts_,
            inputs,
            picked,
            weights=self.weights,
            documents=self.expert_docs_,
            evidence=self.evidence_,
            lexical=self.lexical_index_,
        )
        position = frame["rank"].to_numpy(dtype=np.int64)
        row_of = pd.Index(inputs.requests.ids).get_indexer(frame["request_id"].to_numpy(dtype=object))
        is_assigned = position <= n_assigned[row_of]
        frame["adjusted_score"] = (frame["score"] - frame["expert_id"].map(lowered).fillna(0.0)).round(4)
        frame["role"] = np.where(is_assigned, "assigned", "alternate")
        frame["rank"] = np.where(is_assigned, position, position - n_assigned[row_of])
        rest = [c for c in frame.columns if c not in round_plan.ASSIGNMENT_COLUMNS]
        return frame[list(round_plan.ASSIGNMENT_COLUMNS) + rest].reset_index(drop=True)

    def _shortlist_cases(self, table: pd.DataFrame, inputs: ScoringInputs, k: int) -> pd.DataFrame:
        req = _unconstrained(inputs.requests)
        case_inputs = ScoringInputs(
            requests=req,
            experts=self.case_arrays_,
            request_embeddings=inputs.request_embeddings,
            doc_embeddings=self.case_embeddings_,
            doc_offsets=self.case_docs_.offsets,
            request_lexical=inputs.request_lexical,
            doc_lexical=self.case_lexical_,
            aggregation="max",
        )
        w = self.weights
        case_weights = Weights(semantic=w.semantic, lexical=w.lexical, themes=w.themes)
        result = scoring.shortlist(case_inputs, k=min(k, len(self.cases_)), weights=case_weights)
        return explain_cases(table, self.cases_, case_inputs, result, weights=case_weights)

    def _progress(self, n: int) -> bool:
        if self.show_progress is not None:
            return self.show_progress
        return n > 20000 and os.environ.get("GSCP_MATCH_QUIET", "") != "1"


def _filter_table(table: pd.DataFrame, result: Shortlist) -> pd.DataFrame:
    filters = pd.DataFrame({"request_id": table["request_id"].to_numpy(), "eligible": result.eligible})
    for i, name in enumerate(FILTERS):
        filters[f"removed_{name}"] = result.filtered[:, i]
    return filters


def _weights(value: Weights | Mapping[str, float] | str | os.PathLike[str] | None) -> Weights:
    if value is None:
        return Weights.default()
    if isinstance(value, Weights):
        return value
    if isinstance(value, Mapping):
        return Weights.from_mapping(value)
    return Weights.from_file(Path(value))


def _cache(value: EmbeddingCache | str | os.PathLike[str] | None) -> EmbeddingCache | None:
    if value is None or isinstance(value, EmbeddingCache):
        return value
    if value == "default":
        return EmbeddingCache()
    return EmbeddingCache(value)


def _case_roster(cases: pd.DataFrame) -> ExpertArrays:
    """Cases as an ExpertArrays with only themes: no calendars, languages, rates or conflicts."""
    n = len(cases)
    empty = sp.csr_matrix((n, len(COUNTRY_CODES)), dtype=np.float32)
    return ExpertArrays(
        ids=cases["case_id"].to_numpy(dtype=object),
        korean=np.zeros(n, dtype=bool),
        day_rate=np.full(n, np.nan),
        capacity=np.ones(n, dtype=np.int64),
        themes=one_hot(cases["themes"], THEME_CODES),
        languages=sp.csr_matrix((n, len(LANGUAGE_CODES)), dtype=np.float32),
        regions=sp.csr_matrix((n, len(REGION_CODES)), dtype=np.float32),
        countries=empty,
        busy_offsets=np.zeros(n + 1, dtype=np.int64),
        busy_start=np.zeros(0, dtype=np.int64),
        busy_end=np.zeros(0, dtype=np.int64),
        conflict_vocabulary=(),
        conflicts=sp.csr_matrix((n, 0), dtype=np.float32),
    )


def _unconstrained(req: RequestArrays) -> RequestArrays:
    """The requests without calendars, languages, budgets or conflicts: for ranking cases."""
    n = len(req)
    return RequestArrays(
        ids=req.ids,
        days=np.zeros(n, dtype=np.int64),
        has_window=np.zeros(n, dtype=bool),
        window_start=np.zeros(n, dtype=np.int64),
        window_end=np.zeros(n, dtype=np.int64),
        wants_korean=np.zeros(n, dtype=bool),
        budget=np.full(n, np.nan),
        experts_needed=req.experts_needed,
        themes=req.themes,
        languages=sp.csr_matrix(req.languages.shape, dtype=np.float32),
        region=np.full(n, -1, dtype=np.int64),
        country=np.full(n, -1, dtype=np.int64),
        conflict_tokens=tuple(() for _ in range(n)),
        exclude=tuple(() for _ in range(n)),
    )


def _empty_cases() -> pd.DataFrame:
    return pd.DataFrame(columns=["request_id", "rank", "case_id", "title", "city", "score", "why"])
