"""One-call text similarity: dense (embeddings), lexical (TF-IDF) or a hybrid of both.

Rows are queries (requests), columns are documents (expert profiles or cases).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from gscp_match.core._aggregate import aggregate, owner_offsets
from gscp_match.errors import InputError, check_texts
from gscp_match.text._cache import EmbeddingCache, encode_cached
from gscp_match.text._embed import Embedder
from gscp_match.text._lexical import LexicalIndex
from gscp_match.text._load import load_embedder
from gscp_match.text._passages import explode_documents

__all__ = [
    "similarity",
    "dense_similarity",
    "SIMILARITY_METHODS",
    "DEFAULT_LEXICAL_WEIGHT",
    "DEFAULT_PASSAGE_TOKENS",
]

#: Valid values of ``similarity(method=...)``.
SIMILARITY_METHODS = ("dense", "lexical", "hybrid")
#: Weight of the lexical score in the hybrid (provisional; to be tuned by measurement).
DEFAULT_LEXICAL_WEIGHT = 0.3
#: Target passage length in word pieces (capped by the model's ``max_tokens``). all-MiniLM-L6-v2 was trained
#: on 128-token inputs, and a mean-pooled 256-token passage dilutes one matching sentence: a bus-reform
#: sentence after 400+ tokens of unrelated bio scored 0.14 against its query in 256-token passages and 0.22
#: in 128-token ones (0.03 truncated, 0.70 alone).
DEFAULT_PASSAGE_TOKENS = 128


def _passage_embeddings(
    embedder: Embedder, texts: list[str], cache: EmbeddingCache | None, max_tokens: int
) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """Passage embeddings ``(n_passages, d)`` and CSR offsets ``(len(texts) + 1,)`` of passages by text."""
    passages, owner, _ = explode_documents(
        texts,
        np.arange(len(texts), dtype=np.int64),
        max_tokens=max_tokens,
        count_tokens=embedder.count_tokens,
    )
    vectors = encode_cached(embedder, passages, cache=cache)
    return vectors, owner_offsets(owner, len(texts))


def dense_similarity(
    queries: Sequence[str],
    documents: Sequence[str],
    *,
    embedder: Embedder,
    cache: EmbeddingCache | None = None,
    passage_tokens: int = DEFAULT_PASSAGE_TOKENS,
) -> NDArray[np.float32]:
    """Cosine similarity of embeddings, long texts split into passages.

    Both queries and documents longer than ``min(passage_tokens, embedder.max_tokens)`` word pieces are split
    (:func:`gscp_match.text._passages.split_passages`); the score of a pair is the maximum cosine over pairs of
    their passages. A blank text scores 0 with everything.

    Parameters
    ----------
    queries : sequence of str, length n_queries
    documents : sequence of str, length n_documents
    embedder : Embedder
    cache : EmbeddingCache, optional
    passage_tokens : int, default :data:`DEFAULT_PASSAGE_TOKENS`
        Target passage length in word pieces, special tokens included.

    Returns
    -------
    ndarray of float32, shape (n_queries, n_documents)
        In ``[-1, 1]``.
    """
    query_items = check_texts(queries, "queries")
    doc_items = check_texts(documents, "documents")
    max_tokens = min(int(passage_tokens), int(embedder.max_tokens))
    q_vectors, q_offsets = _passage_embeddings(embedder, query_items, cache, max_tokens)
    d_vectors, d_offsets = _passage_embeddings(embedder, doc_items, cache, max_tokens)
    passage_scores = q_vectors @ d_vectors.T  # (n_query_passages, n_doc_passages)
    per_doc, _ = aggregate(passage_scores, d_offsets, method="max")  # (n_query_passages, n_docs)
    per_query, _ = aggregate(np.ascontiguousarray(per_doc.T), q_offsets, method="max")  # (n_docs, n_queries)
    return np.ascontiguousarray(per_query.T, dtype=np.float32)


def similarity(
    queries: Sequence[str],
    documents: Sequence[str],
    *,
    method: str = "hybrid",
    embedder: str | os.PathLike[str] | Embedder | None = None,
    cache: EmbeddingCache | None = None,
    lexical_weight: float = DEFAULT_LEXICAL_WEIGHT,
    passage_tokens: int = DEFAULT_PASSAGE_TOKENS,
) -> NDArray[np.float32]:
    """Similarity of each query text with each document text.

    Parameters
    ----------
    queries : sequence of str, length n_queries
        E.g. request descriptions.
    documents : sequence of str, length n_documents
        E.g. expert profiles or case descriptions.
    method : {"dense", "lexical", "hybrid"}, default "hybrid"
        ``"dense"``: cosine of sentence embeddings; long texts are split into passages and the best pair of
        passages counts (see :func:`dense_similarity`). ``"lexical"``: cosine of TF-IDF vectors fitted on
        ``documents`` (:class:`gscp_match.text._lexical.LexicalIndex`). ``"hybrid"``:
        ``(1 - w) * clip(dense, 0, 1) + w * lexical`` with ``w = lexical_weight``; negative cosines carry no
        useful signal and are clipped so both parts lie in ``[0, 1]``.
    embedder : str, os.PathLike, Embedder or None
        Passed to :func:`gscp_match.text._load.load_embedder` (``None``: the default local model; ``"hashing"``:
        the model-free fake). Not used by ``"lexical"``.
    cache : EmbeddingCache or None
        On-disk embedding cache; ``None`` caches nothing.
    lexical_weight : float, default :data:`DEFAULT_LEXICAL_WEIGHT`
        ``w`` in ``[0, 1]`` for ``"hybrid"``.
    passage_tokens : int, default :data:`DEFAULT_PASSAGE_TOKENS`
        Passage length for the dense part (see :func:`dense_similarity`).

    Returns
    -------
    ndarray of float32, shape (n_queries, n_documents)
        ``"dense"`` in ``[-1, 1]``; ``"lexical"`` and ``"hybrid"`` in ``[0, 1]``.

    Examples
    --------
    >>> docs = ["Seoul TOPIS traffic information centre", "smart water meters for non-revenue water"]
    >>> s = similarity(["TOPIS traffic centre"], docs, method="hybrid", embedder="hashing")
    >>> s.shape, int(s.argmax())
    ((1, 2), 0)
    """
    if method not in SIMILARITY_METHODS:
        raise InputError(f"unknown similarity method {method!r}; valid methods: {', '.join(SIMILARITY_METHODS)}")
    weight = float(lexical_weight)
    if not 0.0 <= weight <= 1.0:
        raise InputError(f"lexical_weight must lie in [0, 1], got {lexical_weight!r}")
    query_items = check_texts(queries, "queries")
    doc_items = check_texts(documents, "documents")
    shape = (len(query_items), len(doc_items))
    if 0 in shape:
        return np.zeros(shape, dtype=np.float32)

    if method == "lexical" or (method == "hybrid" and weight == 1.0):
        return LexicalIndex.fit(doc_items).similarity(query_items)
    model = load_embedder(embedder)
    dense = dense_similarity(query_items, doc_items, embedder=model, cache=cache, passage_tokens=passage_tokens)
    if method == "dense":
        return dense
    lexical = LexicalIndex.fit(doc_items).similarity(query_items) if weight > 0 else np.zeros(shape, np.float32)
    return ((1.0 - weight) * np.clip(dense, 0.0, 1.0) + weight * lexical).astype(np.float32)
