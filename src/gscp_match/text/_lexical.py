"""TF-IDF lexical similarity (scikit-learn, sparse throughout).

Dense embeddings blur rare exact terms — system names and acronyms such as TOPIS, ATSC, FTMS, NRW, KONEPS,
BRT, C-ITS or U-City — which are often the strongest evidence of a match. :class:`LexicalIndex` keeps them:
its tokenizer keeps acronyms, alphanumeric and hyphenated tokens (``c-its``, ``5-1``, ``u-city``; the parts
of a hyphenated token are emitted too, so ``real-time`` also matches ``real time``), lowercases, and drops
English stop words. Similarities are sparse products; no vocabulary-sized dense array is ever built.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from gscp_match.errors import InputError, check_texts

__all__ = ["LexicalIndex", "similarity_block", "tokenize"]

_TOKEN = re.compile(r"\w+(?:-\w+)+|\w\w+")


def tokenize(text: str) -> list[str]:
    """Split lower-cased text into tokens.

    A hyphenated token (``c-its``, ``5-1``) is kept whole and followed by its parts of two or more characters;
    other tokens need two or more word characters.

    Examples
    --------
    >>> tokenize("Seoul TOPIS and C-ITS pilots, 5-1 plan")
    ['seoul', 'topis', 'and', 'c-its', 'its', 'pilots', '5-1', 'plan']
    """
    tokens: list[str] = []
    for token in _TOKEN.findall(text.lower()):
        tokens.append(token)
        if "-" in token:
            tokens.extend(part for part in token.split("-") if len(part) > 1)
    return tokens


def similarity_block(
    query_matrix: sp.csr_matrix, doc_matrix: sp.csr_matrix, start: int, stop: int
) -> NDArray[np.float32]:
    """Cosine similarity of all queries with documents ``start:stop``.

    Parameters
    ----------
    query_matrix : scipy.sparse.csr_matrix, shape (n_q, n_terms)
        L2-normalised rows (from :meth:`LexicalIndex.transform`).
    doc_matrix : scipy.sparse.csr_matrix, shape (n_docs, n_terms)
        L2-normalised rows, same vocabulary.
    start, stop : int
        Column block ``[start, stop)`` of documents, clipped to ``[0, n_docs]``.

    Returns
    -------
    ndarray of float32, shape (n_q, stop - start)

    Examples
    --------
    >>> index = LexicalIndex.fit(["bus rapid transit", "water meters", "bus lanes"])
    >>> similarity_block(index.transform(["bus"]), index.document_matrix, 1, 3).shape
    (1, 2)
    """
    if query_matrix.shape[1] != doc_matrix.shape[1]:
        raise InputError(f"query_matrix has {query_matrix.shape[1]} terms but doc_matrix has {doc_matrix.shape[1]}")
    n_docs = doc_matrix.shape[0]
    start, stop = max(0, int(start)), min(n_docs, int(stop))
    stop = max(stop, start)
    block = sp.csr_matrix(doc_matrix)[start:stop]
    product = sp.csr_matrix(query_matrix) @ block.T
    return np.asarray(product.toarray(), dtype=np.float32)


class LexicalIndex:
    """TF-IDF vectors of a document collection; build with :meth:`fit`.

    Attributes
    ----------
    vectorizer : sklearn.feature_extraction.text.TfidfVectorizer or None
        ``None`` when the documents had no usable term (then every similarity is 0).
    document_matrix : scipy.sparse.csr_matrix, shape (n_docs, n_terms)
        L2-normalised TF-IDF rows of the fitted documents.

    Examples
    --------
    >>> index = LexicalIndex.fit(["Seoul TOPIS traffic centre", "smart water meters for NRW", "BRT corridor"])
    >>> index.similarity(["TOPIS"]).argmax(axis=1).tolist()
    [0]
    """

    __slots__ = ("vectorizer", "document_matrix")

    def __init__(self, vectorizer: Any, document_matrix: sp.csr_matrix) -> None:
        self.vectorizer = vectorizer
        self.document_matrix = document_matrix

    def __repr__(self) -> str:
        n_docs, n_terms = self.document_matrix.shape
        return f"LexicalIndex(n_docs={n_docs}, n_terms={n_terms})"

    @classmethod
    def fit(
        cls,
        documents: Sequence[str],
        *,
        ngram_range: tuple[int, int] = (1, 2),
        min_df: int | float = 1,
        max_df: int | float = 1.0,
        sublinear_tf: bool = True,
        stop_words: str | Sequence[str] | None = "english",
    ) -> LexicalIndex:
        """Fit TF-IDF weights on ``documents``.

        Parameters
        ----------
        documents : sequence of str, length n_docs
        ngram_range : (int, int), default (1, 2)
            Word n-gram sizes.
        min_df, max_df : int or float
            Document-frequency cut-offs, as in scikit-learn.
        sublinear_tf : bool, default True
            Use ``1 + log(tf)``, so one long document repeating a word does not dominate.
        stop_words : "english", list of str or None, default "english"

        Returns
        -------
        LexicalIndex
        """
        from sklearn.feature_extraction.text import TfidfVectorizer

        items = check_texts(documents, "documents")
        vectorizer = TfidfVectorizer(
            lowercase=True,
            tokenizer=tokenize,
            token_pattern=None,
            stop_words=list(stop_words) if stop_words not in (None, "english") else stop_words,
            ngram_range=ngram_range,
            min_df=min_df,
            max_df=max_df,
            sublinear_tf=sublinear_tf,
            norm="l2",
            dtype=np.float32,
        )
        try:
            matrix = vectorizer.fit_transform(items)
        except ValueError as exc:
            if "empty vocabulary" not in str(exc) and items:
                raise
            return cls(None, sp.csr_matrix((len(items), 0), dtype=np.float32))
        return cls(vectorizer, sp.csr_matrix(matrix, dtype=np.float32))

    @property
    def n_terms(self) -> int:
        """Vocabulary size."""
        return int(self.document_matrix.shape[1])

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """TF-IDF rows of ``texts`` in the fitted vocabulary.

        Returns
        -------
        scipy.sparse.csr_matrix of float32, shape (n, n_terms)
            L2-normalised rows (all-zero for a text with no known term).
        """
        items = check_texts(texts, "texts")
        if self.vectorizer is None:
            return sp.csr_matrix((len(items), 0), dtype=np.float32)
        return sp.csr_matrix(self.vectorizer.transform(items), dtype=np.float32)

    def similarity(self, query_texts: Sequence[str], doc_matrix: sp.csr_matrix | None = None) -> NDArray[np.float32]:
        """Cosine similarity of queries with documents.

        Parameters
        ----------
        query_texts : sequence of str, length n_q
        doc_matrix : scipy.sparse.csr_matrix, shape (n_docs, n_terms), optional
            Defaults to the fitted documents.

        Returns
        -------
        ndarray of float32, shape (n_q, n_docs)
            In ``[0, 1]``.
        """
        docs = self.document_matrix if doc_matrix is None else doc_matrix
        return similarity_block(self.transform(query_texts), docs, 0, docs.shape[0])
