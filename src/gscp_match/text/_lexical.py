"""TF-IDF lexical similarity (numpy and scipy.sparse, sparse throughout).

Dense embeddings blur rare exact terms — system names and acronyms such as TOPIS, ATSC, FTMS, NRW, KONEPS,
BRT, C-ITS or U-City — which are often the strongest evidence of a match. :class:`LexicalIndex` keeps them:
its tokenizer keeps acronyms, alphanumeric and hyphenated tokens (``c-its``, ``5-1``, ``u-city``; the parts
of a hyphenated token are emitted too, so ``real-time`` also matches ``real time``), lowercases, and drops
English stop words. Similarities are sparse products; no vocabulary-sized dense array is ever built.

The weights are scikit-learn's ``TfidfVectorizer(tokenizer=tokenize, stop_words="english", ngram_range=(1, 2),
sublinear_tf=True, norm="l2", dtype=np.float32)`` to the bit (same vocabulary and column order, same float32
operations in the same order; ``tests/test_lexical.py`` compares the two on random texts), computed here so that
matching never imports scikit-learn (about 0.9 s of start-up, most of it ``scipy.stats``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from gscp_match.errors import InputError, check_texts

__all__ = ["ENGLISH_STOP_WORDS", "LexicalIndex", "similarity_block", "tokenize"]

_TOKEN = re.compile(r"\w+(?:-\w+)+|\w\w+")

#: scikit-learn's English stop words (``sklearn.feature_extraction.text.ENGLISH_STOP_WORDS``, from the Glasgow
#: Information Retrieval Group's list), copied so that the vocabulary stays the same.
ENGLISH_STOP_WORDS = frozenset(
    """
    a about above across after afterwards again against all almost alone along already also although always am
    among amongst amoungst amount an and another any anyhow anyone anything anyway anywhere are around as at back
    be became because become becomes becoming been before beforehand behind being below beside besides between
    beyond bill both bottom but by call can cannot cant co con could couldnt cry de describe detail do done down
    due during each eg eight either eleven else elsewhere empty enough etc even ever every everyone everything
    everywhere except few fifteen fifty fill find fire first five for former formerly forty found four from front
    full further get give go had has hasnt have he hence her here hereafter hereby herein hereupon hers herself
    him himself his how however hundred i ie if in inc indeed interest into is it its itself keep last latter
    latterly least less ltd made many may me meanwhile might mill mine more moreover most mostly move much must my
    myself name namely neither never nevertheless next nine no nobody none noone nor not nothing now nowhere of
    off often on once one only onto or other others otherwise our ours ourselves out over own part per perhaps
    please put rather re same see seem seemed seeming seems serious several she should show side since sincere six
    sixty so some somehow someone something sometime sometimes somewhere still such system take ten than that the
    their them themselves then thence there thereafter thereby therefore therein thereupon these they thick thin
    third this those though three through throughout thru thus to together too top toward towards twelve twenty
    two un under until up upon us very via was we well were what whatever when whence whenever where whereafter
    whereas whereby wherein whereupon wherever whether which while whither who whoever whole whom whose why will
    with within without would yet you your yours yourself yourselves
    """.split()
)


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


def _terms(text: str, stop_words: frozenset[str] | None, ngram_range: tuple[int, int]) -> list[str]:
    """The terms of one text: tokens without stop words, then their n-grams (scikit-learn's word analyzer)."""
    tokens = tokenize(text.lower())
    if stop_words is not None:
        tokens = [token for token in tokens if token not in stop_words]
    min_n, max_n = ngram_range
    if max_n == 1:
        return tokens
    terms = list(tokens) if min_n == 1 else []
    for n in range(max(min_n, 2), min(max_n, len(tokens)) + 1):
        terms.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    return terms


def _count_matrix(
    texts: list[str],
    vocabulary: dict[str, int],
    *,
    grow: bool,
    stop_words: frozenset[str] | None,
    ngram_range: tuple[int, int],
) -> sp.csr_matrix:
    """Term counts, shape ``(n_texts, len(vocabulary))`` float32, indices sorted within rows; ``grow``: new terms
    take the next column (first appearance order), else terms outside ``vocabulary`` are dropped."""
    columns: list[int] = []
    counts: list[int] = []
    indptr = [0]
    for text in texts:
        row: dict[int, int] = {}
        for term in _terms(text, stop_words, ngram_range):
            column = vocabulary.setdefault(term, len(vocabulary)) if grow else vocabulary.get(term)
            if column is not None:
                row[column] = row.get(column, 0) + 1
        columns.extend(row)
        counts.extend(row.values())
        indptr.append(len(columns))
    index_dtype = np.int64 if indptr[-1] > np.iinfo(np.int32).max else np.int32
    matrix = sp.csr_matrix(
        (
            np.asarray(counts, dtype=np.intc),
            np.asarray(columns, dtype=index_dtype),
            np.asarray(indptr, dtype=index_dtype),
        ),
        shape=(len(texts), len(vocabulary)),
        dtype=np.float32,
    )
    matrix.sort_indices()
    return matrix


def _l2_normalize_rows(matrix: sp.csr_matrix) -> None:
    """Divide each row by its L2 norm, in place; an all-zero row stays zero.

    As scikit-learn's ``inplace_csr_row_normalize_l2``: float32 squares summed one after the other in float64
    (not numpy's pairwise sum, which rounds differently), each value divided in float64 and rounded to float32.
    The loop runs over positions within a row, each step vectorized over the rows that long.
    """
    lengths = np.diff(matrix.indptr).astype(np.int64)
    if lengths.size == 0:
        return
    order = np.argsort(-lengths, kind="stable")
    longest_first = lengths[order]
    starts = matrix.indptr[:-1].astype(np.int64)[order]
    squares = (matrix.data * matrix.data).astype(np.float64)
    sums = np.zeros(lengths.size, dtype=np.float64)
    for position in range(int(longest_first[0])):
        active = int(np.searchsorted(-longest_first, -position, side="left"))  # rows longer than position
        sums[:active] += squares[starts[:active] + position]
    norms = np.empty_like(sums)
    norms[order] = np.sqrt(sums)
    norms[norms == 0.0] = 1.0
    matrix.data[:] = (matrix.data.astype(np.float64) / np.repeat(norms, lengths)).astype(np.float32)


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
    vocabulary : dict of str to int
        Column of each term (unigram or space-joined n-gram), columns in sorted term order; empty when the
        documents had no usable term (then every similarity is 0).
    idf : ndarray of float32, shape (n_terms,)
        Smoothed inverse document frequencies, ``log((1 + n_docs) / (1 + df)) + 1``.
    document_matrix : scipy.sparse.csr_matrix, shape (n_docs, n_terms)
        L2-normalised TF-IDF rows of the fitted documents.

    Examples
    --------
    >>> index = LexicalIndex.fit(["Seoul TOPIS traffic centre", "smart water meters for NRW", "BRT corridor"])
    >>> index.similarity(["TOPIS"]).argmax(axis=1).tolist()
    [0]
    """

    __slots__ = ("vocabulary", "idf", "document_matrix", "stop_words", "ngram_range", "sublinear_tf")

    def __init__(
        self,
        vocabulary: dict[str, int],
        idf: NDArray[np.float32],
        document_matrix: sp.csr_matrix,
        *,
        stop_words: frozenset[str] | None,
        ngram_range: tuple[int, int],
        sublinear_tf: bool,
    ) -> None:
        self.vocabulary = vocabulary
        self.idf = idf
        self.document_matrix = document_matrix
        self.stop_words = stop_words
        self.ngram_range = ngram_range
        self.sublinear_tf = sublinear_tf

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
            Document-frequency cut-offs, as in scikit-learn: an int counts documents, a float is a fraction of them.
        sublinear_tf : bool, default True
            Use ``1 + log(tf)``, so one long document repeating a word does not dominate.
        stop_words : "english", list of str or None, default "english"

        Returns
        -------
        LexicalIndex

        Raises
        ------
        InputError
            On a bad option, or when ``min_df``/``max_df`` leave no term.
        """
        items = check_texts(documents, "documents")
        if isinstance(stop_words, str) and stop_words != "english":
            raise InputError(f"unknown stop word list {stop_words!r}; valid: 'english', a list of words or None")
        stops = ENGLISH_STOP_WORDS if stop_words == "english" else None if stop_words is None else frozenset(stop_words)
        low, high = (int(n) for n in ngram_range)
        if not 1 <= low <= high:
            raise InputError(f"ngram_range must be (min_n, max_n) with 1 <= min_n <= max_n, got {ngram_range!r}")

        def index(vocabulary: dict[str, int], idf: NDArray[np.float32], n_docs: int) -> LexicalIndex:
            empty = sp.csr_matrix((n_docs, len(vocabulary)), dtype=np.float32)
            return cls(
                vocabulary, idf, empty, stop_words=stops, ngram_range=(low, high), sublinear_tf=bool(sublinear_tf)
            )

        vocabulary: dict[str, int] = {}
        counts = _count_matrix(items, vocabulary, grow=True, stop_words=stops, ngram_range=(low, high))
        if not vocabulary:
            return index({}, np.zeros(0, np.float32), len(items))
        n_docs = len(items)
        max_count = max_df if isinstance(max_df, Integral) else max_df * n_docs
        min_count = min_df if isinstance(min_df, Integral) else min_df * n_docs
        if max_count < min_count:
            raise InputError(f"max_df={max_df!r} keeps fewer documents than min_df={min_df!r}")
        df = np.bincount(counts.indices, minlength=counts.shape[1])
        kept = (df <= max_count) & (df >= min_count)
        if not kept.any():
            raise InputError(f"min_df={min_df!r} and max_df={max_df!r} leave no term; lower min_df or raise max_df")
        if not kept.all():
            new_column = np.cumsum(kept) - 1
            vocabulary = {term: int(new_column[col]) for term, col in vocabulary.items() if kept[col]}
            counts = counts[:, np.flatnonzero(kept)]
        # Columns in sorted term order; the rows' indices keep their order (no re-sort), as scikit-learn's do.
        remap = np.empty(len(vocabulary), dtype=counts.indices.dtype)
        for new, (term, old) in enumerate(sorted(vocabulary.items())):
            vocabulary[term] = new
            remap[old] = new
        counts.indices = remap.take(counts.indices, mode="clip")
        smoothed = np.bincount(counts.indices, minlength=counts.shape[1]).astype(np.float32) + np.float32(1.0)
        idf = np.full_like(smoothed, fill_value=n_docs + 1, dtype=np.float32)
        idf /= smoothed
        np.log(idf, out=idf)
        idf += np.float32(1.0)
        fitted = index(vocabulary, idf, 0)
        fitted.document_matrix = fitted._weigh(counts)
        return fitted

    def _weigh(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        """Counts -> L2-normalised TF-IDF rows, in place."""
        if self.sublinear_tf:
            np.log(counts.data, out=counts.data)
            counts.data += np.float32(1.0)
        counts.data *= self.idf[counts.indices]
        _l2_normalize_rows(counts)
        return counts

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
        counts = _count_matrix(
            items, self.vocabulary, grow=False, stop_words=self.stop_words, ngram_range=self.ngram_range
        )
        return self._weigh(counts)

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
