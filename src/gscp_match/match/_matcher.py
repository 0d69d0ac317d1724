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
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, cast

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray

from gscp_match._progress import progress_bar, step
from gscp_match.core import _scoring as scoring
from gscp_match.core._arrays import ExpertArrays, RequestArrays
from gscp_match.core._assign import SolveOptions, solve, solve_options
from gscp_match.core._scoring import FILTERS, Ranking, ScoringInputs, Weights
from gscp_match.core._standardize import SCALES, lexical_transform, semantic_transform, with_bias_column
from gscp_match.errors import InputError, NotFittedError
from gscp_match.match._explain import explain_cases, explain_experts
from gscp_match.match._options import N_ALTERNATES, TOP_M, ExpertModel, check_count
from gscp_match.plan import _round_plan as round_plan
from gscp_match.plan._round_plan import RoundPlan
from gscp_match.tables._arrays import (
    COUNTRY_CODES,
    LANGUAGE_CODES,
    REGION_CODES,
    THEME_CODES,
    RequestConflicts,
    conflict_matrix,
    expert_arrays,
    expert_conflicts,
    one_hot,
    request_arrays,
    request_conflicts,
)
from gscp_match.tables._catalog import load_cases
from gscp_match.tables._validate import as_table, check_references
from gscp_match.tables._weights import read_weights
from gscp_match.text._cache import CachedTokenCounter, EmbeddingCache, encode_cached
from gscp_match.text._crosslingual import document_vectors, request_vectors
from gscp_match.text._embed import Embedder
from gscp_match.text._language import detect_languages
from gscp_match.text._lexical import LexicalIndex
from gscp_match.text._load import load_embedder
from gscp_match.text._passages import explode_documents
from gscp_match.text._texts import Documents, case_documents, expert_documents, pool_passages, request_texts

if TYPE_CHECKING:
    from gscp_match.text._e5 import E5Embedder

__all__ = ["Matcher", "RoundPlan", "Shortlists", "TableLike"]

log = logging.getLogger(__name__)

TableLike: TypeAlias = pd.DataFrame | str | os.PathLike[str]


def _table_argument(value: object, kind: str, argument: str) -> pd.DataFrame:
    """A validated table of ``kind`` from what a caller may naturally pass: a DataFrame, a file path, one mapping
    (one row) or a list of mappings (one row each). Anything else is a TypeError naming ``argument``."""
    if isinstance(value, Mapping):
        value = pd.DataFrame([dict(value)])
    elif isinstance(value, list | tuple):
        if not value:
            raise InputError(f"{argument}: the list is empty; expected at least one {kind[:-1]} (a mapping)")
        bad = next((i for i, row in enumerate(value) if not isinstance(row, Mapping)), None)
        if bad is not None:
            raise TypeError(
                f"{argument}[{bad}] is {type(value[bad]).__name__}; a list of {kind} must hold one mapping "
                "(column -> value) per row"
            )
        columns = list(dict.fromkeys(column for row in value for column in row))
        value = pd.DataFrame.from_records([dict(row) for row in value], columns=columns)
    elif not isinstance(value, pd.DataFrame | str | os.PathLike):
        raise TypeError(
            f"{argument} must be a DataFrame, a file path, a mapping (one row) or a list of mappings, "
            f"got {type(value).__name__}"
        )
    table = as_table(value, kind)
    if table.empty:
        raise InputError(f"{argument}: the table has no rows; expected at least one {kind[:-1]}")
    return table


def _requests_table(value: object) -> pd.DataFrame:
    return _table_argument(value, "requests", "requests")


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
        Component weights; default ``src/gscp_match/models/default_weights.json``.
    cache : EmbeddingCache, path, "default" or None
        Where embeddings are cached (``"default"``: ``$GSCP_MATCH_CACHE`` or the user cache folder; None: no cache).
    aggregation, unit, bio, normalize, passage_tokens, multilingual : optional
        The expert model: how an expert's documents aggregate (``"max"``, ``"mean"``, ``"topk"``), what is scored
        (``"document"``, ``"passage"``), the bio's role (``"document"``, ``"fallback"``), standardization per request
        (``"zscore"``, ``"none"``), the longest passage in word pieces, and whether non-English texts use
        multilingual-e5-small (``"auto"``, ``"never"``; with ``"auto"`` the language of every request and document
        is detected, a ``text_language`` column overrides it, and the multilingual model is loaded only when a
        pair needs it). None (the default) takes the measured default of
        :class:`~gscp_match.match.ExpertModel`, which documents each option and checks them all.
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
        A profile store folder (:class:`gscp_match.scale._store.ProfileStore`): experts' embeddings kept in Parquet
        shards, so only new or changed profiles are encoded (on the Dask workers when ``scheduler`` is given).

    Raises
    ------
    InputError
        A bad expert-model option (each listed with its valid values) or ``chunk_size`` below 1.

    Notes
    -----
    As a scikit-learn estimator, the matcher keeps its parameters as attributes (the expert-model ones resolved to
    their defaults) and checks them again at :meth:`fit`, so one changed between construction and ``fit`` is checked
    too. Every method but :meth:`fit` raises :class:`~gscp_match.errors.NotFittedError` (a ``ValueError`` and an
    ``AttributeError``) on an unfitted matcher; earlier versions raised ``RuntimeError``.
    """

    # The expert model's options, set from an ExpertModel (see _set_expert_model).
    aggregation: str
    unit: str
    bio: str
    normalize: str
    passage_tokens: int
    multilingual: str

    def __init__(
        self,
        embedder: Embedder | str | os.PathLike[str] | None = None,
        *,
        weights: Weights | Mapping[str, float] | str | os.PathLike[str] | None = None,
        cache: EmbeddingCache | str | os.PathLike[str] | None = "default",
        aggregation: str | None = None,
        unit: str | None = None,
        bio: str | None = None,
        passage_tokens: int | None = None,
        normalize: str | None = None,
        multilingual: str | None = None,
        lexical: bool = True,
        holidays: Sequence[str] | NDArray[np.datetime64] = (),
        chunk_size: int = 8192,
        show_progress: bool | None = None,
        scheduler: Any = None,
        n_shards: int | None = None,
        store: str | os.PathLike[str] | None = None,
    ) -> None:
        model = ExpertModel.of(
            aggregation=aggregation,
            unit=unit,
            bio=bio,
            normalize=normalize,
            passage_tokens=passage_tokens,
            multilingual=multilingual,
        )
        if isinstance(chunk_size, bool) or not chunk_size >= 1:
            raise InputError(f"chunk_size: expected an integer >= 1, got {chunk_size!r}")
        self.embedder_spec = embedder
        self.weights = _weights(weights)
        self.cache_spec = cache
        self._set_expert_model(model)
        self.lexical = lexical
        self.holidays = round_plan.holiday_days(holidays)
        self.chunk_size = chunk_size
        self.show_progress = show_progress
        if scheduler is not None:
            from gscp_match.scale._dask import check_scheduler

            check_scheduler(scheduler)  # unknown name: ValueError listing the valid ones; no dask: ImportError
        self.scheduler, self.n_shards, self.store = scheduler, n_shards, store
        self._fitted = False

    def _set_expert_model(self, model: ExpertModel) -> None:
        """The expert-model options as attributes (what scikit-learn's ``get_params`` would read)."""
        for option in _EXPERT_MODEL_OPTIONS:
            setattr(self, option, getattr(model, option))

    def _expert_model(self) -> ExpertModel:
        """The expert model of the current attributes, checked (one may have been set after construction)."""
        return ExpertModel(**{option: getattr(self, option) for option in _EXPERT_MODEL_OPTIONS})

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
        self.expert_model_ = self._expert_model()
        self._set_expert_model(self.expert_model_)
        experts_table = _table_argument(experts, "experts", "experts")
        evidence_table = _table_argument(evidence, "evidence", "evidence") if evidence is not None else None
        check_references(experts=experts_table, evidence=evidence_table)
        cases_table = _table_argument(cases, "cases", "cases") if cases is not None else load_cases()

        self.embedder_ = load_embedder(self.embedder_spec)
        self.cache_ = _cache(self.cache_spec)
        self.experts_ = experts_table.sort_values("expert_id", kind="stable").reset_index(drop=True)
        self.evidence_ = evidence_table
        self.cases_ = cases_table.sort_values("case_id", kind="stable").reset_index(drop=True)
        self.expert_arrays_ = expert_arrays(self.experts_)
        self.expert_conflicts_ = expert_conflicts(self.experts_)
        self.case_arrays_ = _case_roster(self.cases_)

        count = self._count_tokens = CachedTokenCounter(self.embedder_, self.cache_)
        max_tokens = self._passage_tokens()
        self.expert_docs_ = expert_documents(
            self.experts_, evidence_table, max_tokens=max_tokens, count_tokens=count, bio=self.bio
        )
        self.case_docs_ = case_documents(self.cases_, max_tokens=max_tokens, count_tokens=count)
        if self.store is not None:
            from gscp_match.scale._store import ProfileStore

            if self.bio != "document":
                raise InputError("a profile store keeps every bio as a document: use bio='document' with store=")
            profiles = ProfileStore(self.store)
            profiles.update(
                self.experts_,
                evidence=evidence_table,
                embedder=self.embedder_,
                scheduler=self.scheduler,
                passage_tokens=max_tokens,
            )
            stored = profiles.load(embedder=self.embedder_)
            if stored.passages != self.expert_docs_.passages:
                raise RuntimeError(f"profile store {profiles.directory} does not hold this roster's passages")
            expert_passages = stored.doc_embeddings
        else:
            expert_passages = self._encode(self.expert_docs_.passages)
        case_passages = self._encode(self.case_docs_.passages)
        # What is scored: whole documents (passages pooled) or each passage on its own.
        self.expert_units_, self.expert_embeddings_ = self._units(self.expert_docs_, expert_passages)
        self.case_units_, self.case_embeddings_ = self._units(self.case_docs_, case_passages)
        if self.lexical:
            self.lexical_index_: LexicalIndex | None = LexicalIndex.fit(
                self.expert_units_.passages + self.case_units_.passages
            )
            n_expert_docs = len(self.expert_units_.passages)
            matrix = self.lexical_index_.document_matrix
            self.expert_lexical_: sp.csr_matrix | None = matrix[:n_expert_docs]
            self.case_lexical_: sp.csr_matrix | None = matrix[n_expert_docs:]
        else:
            self.lexical_index_ = self.expert_lexical_ = self.case_lexical_ = None
        self._fitted = True
        self._e5: Any = None
        self._mixed: dict[str, tuple[NDArray[np.float32], NDArray[np.float32], sp.csr_matrix | None]] = {}
        self.document_languages_ = {
            "experts": self._document_languages(
                self.expert_units_, {"bio": self.experts_, "evidence": evidence_table}
            ),
            "cases": self._document_languages(self.case_units_, {"summary": self.cases_}),
        }
        if self.normalize == "zscore":
            # One more coordinate of 1 per document carries each request's shift (see gscp_match.core._standardize).
            self._scored = {
                "experts": (with_bias_column(self.expert_embeddings_, 1.0), _bias_or_none(self.expert_lexical_)),
                "cases": (with_bias_column(self.case_embeddings_, 1.0), _bias_or_none(self.case_lexical_)),
            }
        else:
            self._scored = {
                "experts": (self.expert_embeddings_, self.expert_lexical_),
                "cases": (self.case_embeddings_, self.case_lexical_),
            }
        return self

    def _passage_tokens(self) -> int:
        return min(self.embedder_.max_tokens, self.passage_tokens)

    def _units(self, docs: Documents, passage_vectors: NDArray[np.float32]) -> tuple[Documents, NDArray[np.float32]]:
        if self.unit == "passage":
            return docs, passage_vectors
        return docs.by_document(), pool_passages(passage_vectors, docs.document, len(docs.texts))

    def _encode(self, texts: list[str]) -> NDArray[np.float32]:
        return encode_cached(self.embedder_, texts, cache=self.cache_)

    def _check_fitted(self, method: str) -> None:
        if not self._fitted:
            raise NotFittedError(
                f"this Matcher is not fitted yet: call fit(experts, evidence=..., cases=...) before {method}()"
            )

    # ------------------------------------------------------------------------------------------------------------
    def embed_requests(self, requests: pd.DataFrame) -> NDArray[np.float32]:
        """(n_requests, d) request embeddings; long requests are split into passages and their mean is used."""
        self._check_fitted("embed_requests")
        return self._embed_texts(request_texts(requests), self.embedder_)

    def _embed_texts(self, texts: list[str], embedder: Embedder) -> NDArray[np.float32]:
        passages, owner, _ = explode_documents(
            texts,
            np.arange(len(texts), dtype=np.int64),
            max_tokens=self._passage_tokens(),
            count_tokens=self._count_tokens,
        )
        vectors = encode_cached(embedder, passages, cache=self.cache_)
        sums = np.zeros((len(texts), vectors.shape[1]), dtype=np.float64)
        np.add.at(sums, owner, vectors)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        return (sums / np.where(norms > 0, norms, 1.0)).astype(np.float32)

    def scoring_inputs(
        self, requests: TableLike | Mapping[str, Any] | Sequence[Mapping[str, Any]]
    ) -> tuple[pd.DataFrame, ScoringInputs]:
        """The validated requests table and the scoring core's inputs against the roster."""
        self._check_fitted("scoring_inputs")
        table, req, side = self._request_side(requests)
        return table, self._inputs("experts", req, side)

    def _request_side(self, requests: TableLike | Mapping[str, Any]) -> tuple[pd.DataFrame, RequestArrays, _Requests]:
        """Validated table, request arrays and the raw embedding, TF-IDF rows and languages of the requests."""
        table = _requests_table(requests)
        check_references(experts=self.experts_, requests=table)
        req = request_arrays(table)
        texts = request_texts(table)
        q = self._embed_texts(texts, self.embedder_)
        lexical_q = self.lexical_index_.transform(texts) if self.lexical_index_ is not None else None
        return table, req, _Requests(
            texts=texts,
            vectors=q,
            lexical=lexical_q,
            languages=self._languages(table),
            conflicts=request_conflicts(table),
        )

    def _document_languages(self, units: Documents, sources: dict[str, pd.DataFrame | None]) -> NDArray[np.object_]:
        """Each scored document's language: the ``text_language`` cell of the row it came from (a bio's from the
        roster, an evidence row's from the evidence table, a case's from the catalog) when given, else detected."""
        n = len(units.passages)
        if self.multilingual == "never":
            return np.full(n, "en", dtype=object)
        languages = np.asarray(detect_languages(units.passages, cache=self.cache_), dtype=object)
        for kind, table in sources.items():
            if table is None or "text_language" not in table.columns:
                continue
            given = _language_cells(table, {"bio": "experts", "summary": "cases"}.get(kind, kind))
            here = np.flatnonzero(units.source_kind == kind)
            chosen = given[units.source_row[here]]
            languages[here] = np.where(chosen != "", chosen, languages[here])
        return languages

    def _languages(self, table: pd.DataFrame) -> NDArray[np.object_]:
        """Each request's language: its ``text_language`` cell when given, else detected from its text."""
        n = len(table)
        if self.multilingual == "never":
            return np.full(n, "en", dtype=object)
        detected = np.asarray(detect_languages(request_texts(table), cache=self.cache_), dtype=object)
        if "text_language" in table.columns:
            given = _language_cells(table, "requests")
            detected = np.where(given != "", given, detected)
        return detected

    def _e5_model(self) -> E5Embedder:
        if self._e5 is None:
            self._e5 = cast("E5Embedder", load_embedder("e5-small"))
        return self._e5

    def _mixed_documents(self, target: str) -> tuple[NDArray[np.float32], NDArray[np.float32], sp.csr_matrix | None]:
        """The documents of ``target`` as :func:`gscp_match.text._crosslingual.document_vectors` (encoded with e5 once):
        raw, as scored, and the TF-IDF rows as scored."""
        if target not in self._mixed:
            docs = self.expert_docs_ if target == "experts" else self.case_docs_
            minilm = self.expert_embeddings_ if target == "experts" else self.case_embeddings_
            e5 = encode_cached(self._e5_model(), docs.passages, cache=self.cache_)
            if self.unit == "document":
                e5 = pool_passages(e5, docs.document, len(docs.texts))
            english = self.document_languages_[target] == "en"
            raw = document_vectors(minilm, e5, english)
            scored = with_bias_column(raw, 1.0) if self.normalize == "zscore" else raw
            lexical = self.expert_lexical_ if target == "experts" else self.case_lexical_
            if lexical is not None and self.normalize == "zscore":
                # Two more columns: the request's shift, and (other languages only) what lifts the pair to neutral.
                lexical = with_bias_column(with_bias_column(lexical, 1.0), (~english).astype(np.float32))
            self._mixed[target] = (raw, scored, lexical)
        return self._mixed[target]

    def _inputs(self, target: str, req: RequestArrays, side: _Requests) -> ScoringInputs:
        """The core's inputs of the requests against ``target`` ("experts" or "cases"): both models mixed when a
        text is not English, standardized if asked."""
        doc_vectors, doc_lexical = self._scored[target]
        raw_vectors = self.expert_embeddings_ if target == "experts" else self.case_embeddings_
        raw_lexical = self.expert_lexical_ if target == "experts" else self.case_lexical_
        units = self.expert_units_ if target == "experts" else self.case_units_
        aggregation = self.aggregation if target == "experts" else "max"
        q, lexical_q = side.vectors, side.lexical
        english = side.languages == "en"
        mixed = not english.all() or not (self.document_languages_[target] == "en").all()
        if mixed:
            raw_vectors, doc_vectors, mixed_lexical = self._mixed_documents(target)
            e5_queries = self._e5_model().with_role("query")
            q = request_vectors(q, self._embed_texts(side.texts, e5_queries), english)
            if lexical_q is not None and not english.all():
                # No shared words is no evidence: a request in another language gets no lexical signal at all.
                lexical_q = sp.diags(english.astype(np.float32)) @ lexical_q
        if self.normalize == "zscore":
            factor, shift = semantic_transform(q, raw_vectors, units.offsets, aggregation=aggregation)
            q = with_bias_column(q * factor[:, None].astype(np.float32), shift)
            if lexical_q is not None and raw_lexical is not None:
                factor, shift = lexical_transform(lexical_q, raw_lexical, units.offsets, aggregation=aggregation)
                lexical_q = with_bias_column(sp.diags(factor.astype(np.float32)) @ lexical_q, shift)
                if mixed:
                    # A document in another language shares no words with the request, which says nothing: its
                    # lexical component is the neutral centre (raw = the request's mean over the roster).
                    center = SCALES["lexical"].center
                    lexical_q = with_bias_column(lexical_q, center - shift)
                    doc_lexical = mixed_lexical
        if target == "cases":
            return ScoringInputs(
                requests=_unconstrained(req),
                experts=self.case_arrays_,
                request_embeddings=q,
                doc_embeddings=doc_vectors,
                doc_offsets=units.offsets,
                request_lexical=lexical_q,
                doc_lexical=doc_lexical,
                aggregation=aggregation,
            )
        return ScoringInputs(
            requests=req,
            experts=self.expert_arrays_,
            request_embeddings=q,
            doc_embeddings=doc_vectors,
            doc_offsets=units.offsets,
            request_lexical=lexical_q,
            doc_lexical=doc_lexical,
            conflicts=conflict_matrix(side.conflicts, self.expert_conflicts_, self.expert_arrays_.ids),
            holidays=self.holidays,
            aggregation=aggregation,
        )

    def shortlist(
        self, requests: TableLike | Mapping[str, Any] | Sequence[Mapping[str, Any]], *, k: int = 10, k_cases: int = 5
    ) -> Shortlists:
        """Top-``k`` experts and top-``k_cases`` Korean cases for each request, with explanations.

        Parameters
        ----------
        requests : DataFrame, path, a mapping for one request, or a list of mappings
            Validated against the requests contract.
        k, k_cases : int
            Shortlist lengths (k_cases=0 skips cases).
        """
        self._check_fitted("shortlist")
        k, k_cases = check_count("k", k, 1), check_count("k_cases", k_cases, 0)
        table, req, side = self._request_side(requests)
        inputs = self._inputs("experts", req, side)
        return self._shortlists(table, req, side, inputs, self._score(inputs, k), k_cases)

    def _shortlists(
        self,
        table: pd.DataFrame,
        req: RequestArrays,
        side: _Requests,
        inputs: ScoringInputs,
        result: Ranking,
        k_cases: int,
    ) -> Shortlists:
        experts_frame = explain_experts(
            table,
            self.experts_,
            inputs,
            result,
            weights=self.weights,
            documents=self.expert_units_,
            evidence=self.evidence_,
            lexical=self.lexical_index_,
        )
        filters = _filter_table(table, result)
        experts_frame.insert(
            experts_frame.columns.get_loc("why"),
            "request_language",
            experts_frame["request_id"].map(dict(zip(table["request_id"], side.languages, strict=True))),
        )
        cases_frame = self._shortlist_cases(table, req, side, k_cases) if k_cases > 0 else _empty_cases()
        return Shortlists(experts=experts_frame, cases=cases_frame, filters=filters)

    def shortlist_and_assign(
        self,
        requests: TableLike | Mapping[str, Any] | Sequence[Mapping[str, Any]],
        *,
        k: int = 10,
        k_cases: int = 5,
        **assign_options: Any,
    ) -> tuple[Shortlists, RoundPlan]:
        """:meth:`shortlist` and :meth:`assign` from one scoring run over the roster (what a round report needs).

        The roster is scored once for the longer of the two candidate lists; the shortlists are its first ``k``
        columns and the plan's candidates its first ``top_m``, so both are identical to the separate calls.

        Parameters
        ----------
        requests : as for :meth:`shortlist`
        k, k_cases : int
            As for :meth:`shortlist`.
        **assign_options
            The options of :meth:`assign` (``top_m``, ``n_alternates``, ``recent_engagements``, ``options`` and the
            solver's, ``method``, ...).

        Returns
        -------
        shortlists : Shortlists
        plan : RoundPlan

        Examples
        --------
        >>> from gscp_match import Matcher, load_demo
        >>> demo = load_demo()
        >>> matcher = Matcher("hashing", cache=None).fit(demo.experts, evidence=demo.evidence)
        >>> result, plan = matcher.shortlist_and_assign(demo.requests, k=3, k_cases=2, top_m=10)
        >>> result.experts.equals(matcher.shortlist(demo.requests, k=3, k_cases=2).experts)
        True
        """
        self._check_fitted("shortlist_and_assign")
        plan_options = _plan_options(**assign_options)
        k, k_cases = check_count("k", k, 1), check_count("k_cases", k_cases, 0)
        table, req, side = self._request_side(requests)
        inputs = self._inputs("experts", req, side)
        width = self._candidate_count(inputs, plan_options.top_m)
        scored = self._score(inputs, max(k, width))
        shortlists = self._shortlists(table, req, side, inputs, _first_columns(scored, k), k_cases)
        return shortlists, self._plan(table, inputs, _first_columns(scored, width), plan_options)

    def assign(
        self,
        requests: TableLike | Mapping[str, Any] | Sequence[Mapping[str, Any]],
        *,
        top_m: int = TOP_M,
        n_alternates: int = N_ALTERNATES,
        recent_engagements: Mapping[str, float] | pd.Series | None = None,
        options: SolveOptions | None = None,
        **solver: Any,
    ) -> RoundPlan:
        """Staff a whole round: no expert double-booked, every request staffed where possible, best total score.

        Each request's candidates are its top-``top_m`` experts after the hard filters (so conflicts, language
        and budget masks hold by construction); :func:`gscp_match.core._assign.solve` then picks the plan under the
        experts' ``max_assignments``, their calendars and the program targets. See :mod:`gscp_match.core._assign`
        for the exact formulation.

        Parameters
        ----------
        requests : DataFrame, path, a mapping for one request, or a list of mappings
        top_m : int, default :data:`~gscp_match.match._options.TOP_M` (20)
            Candidates per request (more: a larger, slower problem that may find a better plan).
        n_alternates : int, default :data:`~gscp_match.match._options.N_ALTERNATES` (3)
            Stand-by experts listed per request (role ``"alternate"``).
        recent_engagements : mapping or Series expert_id -> count, optional
            Engagements in recent rounds; with ``spread_weight`` they lower a pair's score (shown as
            ``adjusted_score`` in the assignment table). Experts not listed count 0.
        options : SolveOptions, optional
            The solver's method and rules (:class:`~gscp_match.core.SolveOptions`, where each default is
            documented); its ``recent_engagements`` must be None (pass the mapping above).
        **solver
            Any field of :class:`~gscp_match.core.SolveOptions`, set on top of ``options``:
            ``method`` ("milp" exact, or "greedy"), ``require_korean`` (a request asking for Korean experience gets
            at least one Korean-experienced expert, or stays unstaffed), ``korean_share`` (minimum share of
            Korean-experienced experts in the round), ``unstaffed_penalty`` (objective cost of each missing
            expert), ``spread_weight`` (score lowered by ``spread_weight * recent_engagements``), ``time_limit``
            and ``mip_rel_gap`` (HiGHS stopping rules; a stopped solve keeps its plan and reports its gap).

        Returns
        -------
        RoundPlan

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        InputError
            A bad option value or an unknown ``method`` (listing the valid ones).
        TypeError
            A keyword that is not an option (the message lists the valid ones), or a count that is not an integer.

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
        self._check_fitted("assign")
        plan_options = _plan_options(
            top_m=top_m, n_alternates=n_alternates, recent_engagements=recent_engagements, options=options, **solver
        )
        table, inputs = self.scoring_inputs(requests)
        candidates = self._score(inputs, self._candidate_count(inputs, plan_options.top_m))
        return self._plan(table, inputs, candidates, plan_options)

    @staticmethod
    def _candidate_count(inputs: ScoringInputs, top_m: int) -> int:
        # A request needing more experts than top_m would be cut short by the candidate list, not by the rules.
        return max(int(top_m), int(inputs.requests.experts_needed.max(initial=1)))

    def _plan(self, table: pd.DataFrame, inputs: ScoringInputs, candidates: Ranking, how: _PlanOptions) -> RoundPlan:
        """The round plan from each request's candidates (``candidates``: top-M per request)."""
        problem, sub_roster = round_plan.build_problem(inputs, candidates)
        expert_ids = self.expert_arrays_.ids
        recent = round_plan.recent_counts(how.recent_engagements, expert_ids[sub_roster.rows])
        step("staffing the round")
        result = solve(problem, replace(how.solver, recent_engagements=recent))
        spread_weight = how.solver.spread_weight
        request_ids = inputs.requests.ids
        n_alternates = min(how.n_alternates, len(expert_ids))  # no more alternates than experts, in every table
        chosen, chosen_score, n_assigned, reasons, booked = round_plan.plan_tables(
            problem,
            result,
            sub_roster,
            request_ids=request_ids,
            expert_ids=expert_ids,
            n_alternates=n_alternates,
        )
        filters = _filter_table(table, candidates)
        picked = Ranking(
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

    def _score(self, inputs: ScoringInputs, k: int) -> Ranking:
        """Top-k per request, on Dask when a scheduler was given (identical results), else in this process.

        ``k`` is capped at the roster size: a longer list holds nothing more, and the top-k buffers are
        (n_requests, k) (``experts_needed = 2000000`` on a 50-expert roster allocated gigabytes).
        """
        k = min(k, max(len(self.experts_), 1))
        if self.scheduler is not None:
            from gscp_match.scale._distributed import distributed_shortlist

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
        picked: Ranking,
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
            documents=self.expert_units_,
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

    def _shortlist_cases(
        self,
        table: pd.DataFrame,
        req: RequestArrays,
        side: _Requests,
        k: int,
    ) -> pd.DataFrame:
        case_inputs = self._inputs("cases", req, side)
        w = self.weights
        case_weights = Weights(semantic=w.semantic, lexical=w.lexical, themes=w.themes)
        result = scoring.shortlist(case_inputs, k=min(k, len(self.cases_)), weights=case_weights)
        return explain_cases(table, self.cases_, case_inputs, result, weights=case_weights)

    def _progress(self, n: int) -> bool:
        if self.show_progress is not None:
            return self.show_progress
        return n > 20000 and os.environ.get("GSCP_MATCH_QUIET", "") != "1"


@dataclass(frozen=True, slots=True)
class _Requests:
    """The request side of one call: texts, MiniLM rows, TF-IDF rows and each request's language."""

    texts: list[str]
    vectors: NDArray[np.float32]
    lexical: sp.csr_matrix | None
    languages: NDArray[np.object_]
    conflicts: RequestConflicts


def _language_cells(table: pd.DataFrame, label: str) -> NDArray[np.object_]:
    """The ``text_language`` column as ISO 639-1 codes ("" where empty); a name or an unknown code is an
    InputError naming the row."""
    from gscp_match.tables._vocab import normalize_language

    cells = table["text_language"].astype("string").fillna("").str.strip().to_numpy(dtype=object)
    out = np.full(cells.size, "", dtype=object)
    for i, cell in enumerate(cells):
        if cell:
            code = normalize_language(cell)
            if code is None:
                raise InputError(
                    f"{label} table, record {i + 1}, column 'text_language': unknown language {cell!r}; "
                    "expected an ISO 639-1 code such as en, fr, es, ar, pt, ru, ko, or a language name"
                )
            out[i] = code
    return out


def _bias_or_none(matrix: sp.csr_matrix | None) -> sp.csr_matrix | None:
    return None if matrix is None else with_bias_column(matrix, 1.0)


#: The expert-model options, which :class:`Matcher` keeps as attributes.
_EXPERT_MODEL_OPTIONS = tuple(field.name for field in fields(ExpertModel))
#: The solver's options that :meth:`Matcher.assign` takes as keywords (recent engagements come as a mapping).
_SOLVER_KEYWORDS = tuple(field.name for field in fields(SolveOptions) if field.name != "recent_engagements")


@dataclass(frozen=True, slots=True)
class _PlanOptions:
    """Every option of one :meth:`Matcher.assign`, checked."""

    top_m: int
    n_alternates: int
    recent_engagements: Mapping[str, float] | pd.Series | None
    solver: SolveOptions


def _plan_options(
    *,
    top_m: int = TOP_M,
    n_alternates: int = N_ALTERNATES,
    recent_engagements: Mapping[str, float] | pd.Series | None = None,
    options: SolveOptions | None = None,
    **solver: Any,
) -> _PlanOptions:
    """The options of :meth:`Matcher.assign` (and of :meth:`Matcher.shortlist_and_assign`), each checked once: the
    counts here, the solver's by :class:`SolveOptions`."""
    unknown = sorted(set(solver) - set(_SOLVER_KEYWORDS))
    if unknown:
        valid = ("top_m", "n_alternates", "recent_engagements", "options", *_SOLVER_KEYWORDS)
        raise TypeError(f"unknown assign option(s) {', '.join(unknown)}; valid: {', '.join(valid)}")
    if isinstance(options, SolveOptions) and options.recent_engagements is not None:
        raise InputError(
            "options.recent_engagements: expected None; pass recent_engagements= (a mapping expert_id -> count) "
            "to assign, which turns it into the solver's per-expert array"
        )
    return _PlanOptions(
        top_m=check_count("top_m", top_m, 1),
        n_alternates=check_count("n_alternates", n_alternates, 0),
        recent_engagements=recent_engagements,
        solver=solve_options(options, **solver),
    )


def _first_columns(result: Ranking, k: int) -> Ranking:
    """The top-``k`` of a longer top-K (its first ``k`` columns: the ranking is a total order, best first)."""
    return Ranking(
        experts=result.experts[:, :k], scores=result.scores[:, :k], filtered=result.filtered, eligible=result.eligible
    )


def _filter_table(table: pd.DataFrame, result: Ranking) -> pd.DataFrame:
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
    return read_weights(Path(value))


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
    )


def _empty_cases() -> pd.DataFrame:
    return pd.DataFrame(columns=["request_id", "rank", "case_id", "title", "city", "score", "why"])
