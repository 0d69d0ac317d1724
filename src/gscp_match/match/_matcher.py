"""The matcher: build once from a roster (and evidence, cases), then shortlist experts and cases for requests.

>>> from gscp_match import Matcher, load_demo
>>> demo = load_demo()
>>> matcher = Matcher(embedder="hashing", cache=None).fit(demo.experts, evidence=demo.evidence)
>>> result = matcher.shortlist(demo.requests.head(2), k=3, k_cases=2)
>>> result.experts[["request_id", "rank"]].shape
(6, 2)
"""

from __future__ import annotations

import inspect
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

from gscp_match._progress import progress_bar
from gscp_match.core import _scoring as scoring
from gscp_match.core._aggregate import AGGREGATION_METHODS
from gscp_match.core._assign import solve
from gscp_match.core._scoring import FILTERS, ScoringInputs, Shortlist, Weights
from gscp_match.core._standardize import SCALES, lexical_transform, semantic_transform, with_bias_column
from gscp_match.errors import InputError
from gscp_match.match._explain import explain_cases, explain_experts
from gscp_match.plan import _round_plan as round_plan
from gscp_match.plan._round_plan import RoundPlan
from gscp_match.tables._arrays import (
    COUNTRY_CODES,
    LANGUAGE_CODES,
    REGION_CODES,
    THEME_CODES,
    ExpertArrays,
    RequestArrays,
    one_hot,
)
from gscp_match.tables._catalog import load_cases
from gscp_match.tables._validate import as_table, check_references
from gscp_match.text._cache import CachedTokenCounter, EmbeddingCache, encode_cached
from gscp_match.text._crosslingual import document_vectors, request_vectors
from gscp_match.text._embed import Embedder, load_embedder
from gscp_match.text._language import detect_languages
from gscp_match.text._lexical import LexicalIndex
from gscp_match.text._passages import explode_documents
from gscp_match.text._texts import BIO_MODES, Documents, case_documents, expert_documents, pool_passages, request_texts

__all__ = ["Matcher", "RoundPlan", "Shortlists", "TableLike"]

#: Defaults of the expert model, each chosen by measurement (benchmarks/README.md, "Quality: the expert model"):
#: whole documents, the best three weighted 1, 1/2, 1/3, standardized per request, passages of the model's 256.
DEFAULT_AGGREGATION = "topk"
DEFAULT_UNIT = "document"
DEFAULT_BIO = "document"
DEFAULT_NORMALIZE = "zscore"
DEFAULT_PASSAGE_TOKENS = 256
#: Valid ``normalize`` values.
NORMALIZATIONS = ("zscore", "none")
#: Valid ``multilingual`` values.
MULTILINGUAL = ("auto", "never")
#: Valid ``unit`` values.
UNITS = ("document", "passage")

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


def _count(argument: str, value: object, least: int) -> int:
    """An integer option: a TypeError for another type (1.5, "5", True), an InputError below ``least``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{argument} must be an integer >= {least}, got {value!r} ({type(value).__name__})")
    if value < least:
        raise InputError(f"{argument} must be an integer >= {least}, got {value!r}")
    return int(value)


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
    aggregation : {"max", "mean", "topk"}
        How an expert's documents (its bio and each evidence row) aggregate into one similarity: the best, the
        mean, or the weighted mean of the best three (1, 1/2, 1/3). Default: :data:`DEFAULT_AGGREGATION`.
    unit : {"document", "passage"}
        What is scored against a request: whole documents (a document longer than ``passage_tokens`` is embedded
        passage by passage and pooled; TF-IDF over the whole text), or every passage as a document of its own.
    bio : {"document", "fallback"}
        The bio as one document among the evidence, or only for experts without evidence.
    normalize : {"zscore", "none"}
        ``"zscore"``: each request's text components become standard scores over the roster, on the components'
        usual scale (:mod:`gscp_match.core._standardize`), so scores compare across requests; ``"none"``: raw cosines.
    multilingual : {"auto", "never"}
        ``"auto"``: the language of every request and document is detected (:mod:`gscp_match.text._language`; a
        request's ``text_language`` column overrides it) and a pair in which either text is not English is scored
        with multilingual-e5-small, calibrated to the English model's scale (:mod:`gscp_match.text._crosslingual`); the
        multilingual model is loaded only when such a pair exists. ``"never"``: the English model for every pair.
    passage_tokens : int, optional
        Longest passage embedded at once, in word pieces (at most the model's own limit; default
        :data:`DEFAULT_PASSAGE_TOKENS`).
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
    """

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
        multilingual: str = "auto",
        lexical: bool = True,
        holidays: Sequence[str] | NDArray[np.datetime64] = (),
        chunk_size: int = 8192,
        show_progress: bool | None = None,
        scheduler: Any = None,
        n_shards: int | None = None,
        store: str | os.PathLike[str] | None = None,
    ) -> None:
        aggregation = DEFAULT_AGGREGATION if aggregation is None else aggregation
        unit = DEFAULT_UNIT if unit is None else unit
        bio = DEFAULT_BIO if bio is None else bio
        if aggregation not in AGGREGATION_METHODS:
            raise InputError(f"unknown aggregation {aggregation!r}; valid: {', '.join(AGGREGATION_METHODS)}")
        if unit not in UNITS:
            raise InputError(f"unknown unit {unit!r}; valid: {', '.join(UNITS)}")
        normalize = DEFAULT_NORMALIZE if normalize is None else normalize
        if normalize not in NORMALIZATIONS:
            raise InputError(f"unknown normalize {normalize!r}; valid: {', '.join(NORMALIZATIONS)}")
        if bio not in BIO_MODES:
            raise InputError(f"unknown bio mode {bio!r}; valid: {', '.join(BIO_MODES)}")
        if multilingual not in MULTILINGUAL:
            raise InputError(f"unknown multilingual {multilingual!r}; valid: {', '.join(MULTILINGUAL)}")
        if passage_tokens is not None and (
            isinstance(passage_tokens, bool) or not isinstance(passage_tokens, (int, np.integer)) or passage_tokens < 16
        ):
            raise InputError(f"passage_tokens must be an integer >= 16, got {passage_tokens!r}")
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        self.embedder_spec = embedder
        self.weights = _weights(weights)
        self.cache_spec = cache
        self.aggregation = aggregation
        self.unit = unit
        self.bio = bio
        self.normalize = normalize
        self.multilingual = multilingual
        self.passage_tokens = None if passage_tokens is None else int(passage_tokens)
        self.lexical = lexical
        self.holidays = round_plan.holiday_days(holidays)
        self.chunk_size = chunk_size
        self.show_progress = show_progress
        if scheduler is not None:
            from gscp_match.scale._distributed import check_scheduler

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
        experts_table = _table_argument(experts, "experts", "experts")
        evidence_table = _table_argument(evidence, "evidence", "evidence") if evidence is not None else None
        check_references(experts=experts_table, evidence=evidence_table)
        cases_table = _table_argument(cases, "cases", "cases") if cases is not None else load_cases()

        self.embedder_ = load_embedder(self.embedder_spec)
        self.cache_ = _cache(self.cache_spec)
        self.experts_ = experts_table.sort_values("expert_id", kind="stable").reset_index(drop=True)
        self.evidence_ = evidence_table
        self.cases_ = cases_table.sort_values("case_id", kind="stable").reset_index(drop=True)
        self.expert_arrays_ = ExpertArrays.from_table(self.experts_)
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
        self._mixed: dict[str, tuple[NDArray[np.float32], NDArray[np.float32]]] = {}
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
        wanted = self.passage_tokens if self.passage_tokens is not None else DEFAULT_PASSAGE_TOKENS
        return min(self.embedder_.max_tokens, wanted)

    def _units(self, docs: Documents, passage_vectors: NDArray[np.float32]) -> tuple[Documents, NDArray[np.float32]]:
        if self.unit == "passage":
            return docs, passage_vectors
        return docs.by_document(), pool_passages(passage_vectors, docs.document, len(docs.texts))

    def _encode(self, texts: list[str]) -> NDArray[np.float32]:
        return encode_cached(self.embedder_, texts, cache=self.cache_)

    def _check_fitted(self) -> None:
        if not self._fitted:
            raise RuntimeError("call Matcher.fit(experts, ...) before shortlisting")

    # ------------------------------------------------------------------------------------------------------------
    def embed_requests(self, requests: pd.DataFrame) -> NDArray[np.float32]:
        """(n_requests, d) request embeddings; long requests are split into passages and their mean is used."""
        self._check_fitted()
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
        table, req, side = self._request_side(requests)
        return table, self._inputs("experts", req, side)

    def _request_side(self, requests: TableLike | Mapping[str, Any]) -> tuple[pd.DataFrame, RequestArrays, _Requests]:
        """Validated table, request arrays and the raw embedding, TF-IDF rows and languages of the requests."""
        self._check_fitted()
        table = _requests_table(requests)
        check_references(experts=self.experts_, requests=table)
        req = RequestArrays.from_table(table)
        texts = request_texts(table)
        q = self._embed_texts(texts, self.embedder_)
        lexical_q = self.lexical_index_.transform(texts) if self.lexical_index_ is not None else None
        return table, req, _Requests(texts=texts, vectors=q, lexical=lexical_q, languages=self._languages(table))

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

    def _e5_model(self) -> Embedder:
        if self._e5 is None:
            self._e5 = load_embedder("e5-small")
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
            conflicts=scoring.conflict_matrix(req, self.expert_arrays_),
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
        k, k_cases = _count("k", k, 1), _count("k_cases", k_cases, 0)
        table, req, side = self._request_side(requests)
        inputs = self._inputs("experts", req, side)
        return self._shortlists(table, req, side, inputs, self._score(inputs, k), k_cases)

    def _shortlists(
        self,
        table: pd.DataFrame,
        req: RequestArrays,
        side: _Requests,
        inputs: ScoringInputs,
        result: Shortlist,
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
            The options of :meth:`assign` (``top_m``, ``n_alternates``, ``method``, ...).

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
        unknown = sorted(set(assign_options) - set(_ASSIGN_OPTIONS))
        if unknown:
            raise TypeError(f"unknown assign option(s) {', '.join(unknown)}; valid: {', '.join(_ASSIGN_OPTIONS)}")
        k, k_cases = _count("k", k, 1), _count("k_cases", k_cases, 0)
        options = {**_ASSIGN_OPTIONS, **assign_options}
        top_m = _count("top_m", options.pop("top_m"), 1)
        options["n_alternates"] = _count("n_alternates", options["n_alternates"], 0)
        table, req, side = self._request_side(requests)
        inputs = self._inputs("experts", req, side)
        width = self._candidate_count(inputs, top_m)
        scored = self._score(inputs, max(k, width))
        shortlists = self._shortlists(table, req, side, inputs, _first_columns(scored, k), k_cases)
        return shortlists, self._plan(table, inputs, _first_columns(scored, width), **options)

    def assign(
        self,
        requests: TableLike | Mapping[str, Any] | Sequence[Mapping[str, Any]],
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
        and budget masks hold by construction); :func:`gscp_match.core._assign.solve` then picks the plan under the
        experts' ``max_assignments``, their calendars and the program targets. See :mod:`gscp_match.core._assign`
        for the exact formulation.

        Parameters
        ----------
        requests : DataFrame, path, a mapping for one request, or a list of mappings
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
        top_m, n_alternates = _count("top_m", top_m, 1), _count("n_alternates", n_alternates, 0)
        table, inputs = self.scoring_inputs(requests)
        candidates = self._score(inputs, self._candidate_count(inputs, top_m))
        return self._plan(
            table,
            inputs,
            candidates,
            n_alternates=n_alternates,
            method=method,
            require_korean=require_korean,
            korean_share=korean_share,
            unstaffed_penalty=unstaffed_penalty,
            recent_engagements=recent_engagements,
            spread_weight=spread_weight,
            time_limit=time_limit,
            mip_rel_gap=mip_rel_gap,
        )

    @staticmethod
    def _candidate_count(inputs: ScoringInputs, top_m: int) -> int:
        # A request needing more experts than top_m would be cut short by the candidate list, not by the rules.
        return max(int(top_m), int(inputs.requests.experts_needed.max(initial=1)))

    def _plan(
        self,
        table: pd.DataFrame,
        inputs: ScoringInputs,
        candidates: Shortlist,
        *,
        n_alternates: int,
        method: str,
        require_korean: bool,
        korean_share: float | None,
        unstaffed_penalty: float,
        recent_engagements: Mapping[str, float] | pd.Series | None,
        spread_weight: float,
        time_limit: float,
        mip_rel_gap: float,
    ) -> RoundPlan:
        """The round plan from each request's candidates (``candidates``: top-M per request)."""
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
        n_alternates = min(n_alternates, len(expert_ids))  # no more alternates than experts, in every table
        chosen, chosen_score, n_assigned, reasons, booked = round_plan.plan_tables(
            problem,
            result,
            sub_roster,
            request_ids=request_ids,
            expert_ids=expert_ids,
            n_alternates=n_alternates,
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


#: The options of :meth:`Matcher.assign` and their defaults (for :meth:`Matcher.shortlist_and_assign`).
_ASSIGN_OPTIONS: dict[str, Any] = {
    name: parameter.default
    for name, parameter in inspect.signature(Matcher.assign).parameters.items()
    if parameter.kind is inspect.Parameter.KEYWORD_ONLY
}


def _first_columns(result: Shortlist, k: int) -> Shortlist:
    """The top-``k`` of a longer top-K (its first ``k`` columns: the ranking is a total order, best first)."""
    return Shortlist(
        experts=result.experts[:, :k], scores=result.scores[:, :k], filtered=result.filtered, eligible=result.eligible
    )


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
