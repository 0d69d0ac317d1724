"""lexical.py: TF-IDF index that keeps acronyms, sparse products, block similarity; equal to scikit-learn's."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from gscp_match.errors import InputError
from gscp_match.text._lexical import ENGLISH_STOP_WORDS, LexicalIndex, similarity_block, tokenize

DOCS = [
    "Seoul TOPIS collects real-time traffic data from buses and taxis for the traffic information centre.",
    "Adaptive traffic signal control (ATSC) and a freeway traffic management system (FTMS) for Ulaanbaatar.",
    "Smart water meters and district metering to cut non-revenue water (NRW) in the city utility.",
    "KONEPS e-procurement system for transparent public procurement.",
    "Bus rapid transit (BRT) corridor design and bus route reform for traffic congestion.",
    "C-ITS pilot on the 5-1 corridor of a U-City in Sejong.",
]


def test_acronym_query_ranks_its_document_first():
    index = LexicalIndex.fit(DOCS)
    scores = index.similarity(["TOPIS", "traffic information from TOPIS", "NRW reduction", "C-ITS", "KONEPS"])
    assert scores.argmax(axis=1).tolist() == [0, 0, 2, 5, 3]
    assert scores[0, 0] > 0 and np.all(scores[0, 1:] == 0)


def test_vocabulary_keeps_acronyms_and_hyphenated_tokens_and_drops_stop_words():
    vocabulary = LexicalIndex.fit(DOCS).vocabulary
    for token in [
        "topis",
        "atsc",
        "ftms",
        "nrw",
        "koneps",
        "brt",
        "c-its",
        "5-1",
        "u-city",
        "real-time",
        "real",
    ]:
        assert token in vocabulary, token
    assert "the" not in vocabulary and "and" not in vocabulary
    assert tokenize("U-City 5-1 a") == ["u-city", "city", "5-1"]


def test_transform_is_sparse_and_normalised():
    index = LexicalIndex.fit(DOCS)
    matrix = index.transform(["TOPIS traffic", "nothing known here zzz", "TOPIS traffic"])
    assert sp.issparse(matrix) and matrix.format == "csr" and matrix.dtype == np.float32
    assert matrix.shape == (3, index.n_terms)
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1))).ravel()
    np.testing.assert_allclose(norms, [1, 0, 1], atol=1e-6)
    assert matrix.nnz < 0.1 * matrix.shape[0] * matrix.shape[1]
    scores = index.similarity(["TOPIS traffic"])
    assert scores.dtype == np.float32 and scores.shape == (1, len(DOCS))
    assert np.all((scores >= 0) & (scores <= 1 + 1e-6))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4), st.data())
def test_block_similarity_equals_full(chunk, data):
    index = LexicalIndex.fit(DOCS)
    queries = index.transform(["bus traffic", "water meters NRW", "TOPIS", "zzz"])
    full = similarity_block(queries, index.document_matrix, 0, len(DOCS))
    np.testing.assert_allclose(full, index.similarity(["bus traffic", "water meters NRW", "TOPIS", "zzz"]))
    chunks = [similarity_block(queries, index.document_matrix, s, s + chunk) for s in range(0, len(DOCS), chunk)]
    np.testing.assert_array_equal(np.concatenate(chunks, axis=1), full)
    start = data.draw(st.integers(0, len(DOCS)))
    stop = data.draw(st.integers(start, len(DOCS) + 2))
    block = similarity_block(queries, index.document_matrix, start, stop)
    np.testing.assert_array_equal(block, full[:, start:stop])
    dense_reference = queries.toarray() @ index.document_matrix.toarray().T
    np.testing.assert_allclose(full, dense_reference, rtol=1e-5, atol=1e-6)


def test_empty_vocabulary_and_bad_input():
    index = LexicalIndex.fit(["the and of", ""])
    assert index.similarity(["the anything"]).tolist() == [[0.0, 0.0]]
    assert LexicalIndex.fit([]).similarity(["x"]).shape == (1, 0)
    with pytest.raises(InputError, match="single string"):
        LexicalIndex.fit("TOPIS")
    with pytest.raises(InputError, match="expected str"):
        LexicalIndex.fit(DOCS).transform(["ok", 3])


# -- the same numbers as scikit-learn's TfidfVectorizer ----------------------------------------------------------

_WORDS = (
    "bus Bus BRT c-its C-ITS 5-1 u-city real-time traffic water NRW the and system of x a-b Gestión déchets "
    "스마트 도시 2024 e-procurement meters TOPIS"
).split()
_TEXT = st.lists(st.sampled_from(_WORDS), max_size=30).map(" ".join) | st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40
)


def _sklearn(**options):
    from sklearn.feature_extraction.text import TfidfVectorizer

    stop_words = options.pop("stop_words", "english")
    return TfidfVectorizer(
        lowercase=True,
        tokenizer=tokenize,
        token_pattern=None,
        stop_words=list(stop_words) if stop_words not in (None, "english") else stop_words,
        norm="l2",
        dtype=np.float32,
        **options,
    )


def _assert_same_csr(ours, theirs):
    theirs = sp.csr_matrix(theirs)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype == np.float32
    # Same arrays in the same order, so that every later sparse product rounds the same way.
    np.testing.assert_array_equal(ours.indptr, theirs.indptr)
    np.testing.assert_array_equal(ours.indices, theirs.indices)
    np.testing.assert_array_equal(ours.data, theirs.data)
    assert ours.indices.dtype == theirs.indices.dtype


def test_stop_words_are_scikit_learns():
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS as theirs

    assert ENGLISH_STOP_WORDS == theirs


@pytest.mark.filterwarnings("ignore:Your stop_words may be inconsistent")
@settings(max_examples=150, deadline=None)
@given(
    documents=st.lists(_TEXT, max_size=12),
    queries=st.lists(_TEXT, min_size=1, max_size=6),  # scikit-learn refuses to transform no text at all
    ngram_range=st.sampled_from([(1, 1), (1, 2), (2, 2), (1, 3)]),
    min_df=st.sampled_from([1, 2, 0.2]),
    max_df=st.sampled_from([1.0, 0.6, 3]),
    sublinear_tf=st.booleans(),
    stop_words=st.sampled_from(["english", None, ("bus", "the", "c-its")]),
)
def test_matrices_equal_scikit_learn_tfidf_vectorizer(
    documents, queries, ngram_range, min_df, max_df, sublinear_tf, stop_words
):
    options = {"ngram_range": ngram_range, "min_df": min_df, "max_df": max_df, "sublinear_tf": sublinear_tf}
    vectorizer = _sklearn(stop_words=stop_words, **options)
    try:
        expected = vectorizer.fit_transform(documents)
    except ValueError as exc:
        # An empty vocabulary is an index without terms; a df window that keeps no term is an error, as there.
        if "empty vocabulary" in str(exc):
            index = LexicalIndex.fit(documents, stop_words=stop_words, **options)
            assert index.n_terms == 0 and index.document_matrix.shape == (len(documents), 0)
            assert index.transform(queries).shape == (len(queries), 0)
        else:
            with pytest.raises(InputError):
                LexicalIndex.fit(documents, stop_words=stop_words, **options)
        return
    index = LexicalIndex.fit(documents, stop_words=stop_words, **options)
    assert index.vocabulary == vectorizer.vocabulary_
    np.testing.assert_array_equal(index.idf, vectorizer.idf_)
    assert index.idf.dtype == vectorizer.idf_.dtype
    _assert_same_csr(index.document_matrix, expected)
    _assert_same_csr(index.transform(queries), vectorizer.transform(queries))
    _assert_same_csr(index.transform(documents), vectorizer.transform(documents))
    assert index.transform([]).shape == (0, index.n_terms)


def test_long_rows_are_normalised_like_scikit_learn():
    # Rows of hundreds of terms: squares summed in float32 (or in another order) would round some values apart.
    rng = np.random.default_rng(7)
    vocabulary = [f"w{i}" for i in range(3000)]
    documents = [" ".join(rng.choice(vocabulary, size=int(n))) for n in rng.integers(1, 1500, size=40)]
    index = LexicalIndex.fit(documents)
    vectorizer = _sklearn(ngram_range=(1, 2), sublinear_tf=True)
    _assert_same_csr(index.document_matrix, vectorizer.fit_transform(documents))
    _assert_same_csr(index.transform(documents[:5]), vectorizer.transform(documents[:5]))


def test_matching_does_not_import_scikit_learn(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys; from gscp_match.text._lexical import LexicalIndex; "
        "LexicalIndex.fit(['Seoul TOPIS', 'BRT lanes']).similarity(['TOPIS']); "
        "print('sklearn' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert out.stdout.strip() == "False"
