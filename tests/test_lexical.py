"""lexical.py: TF-IDF index that keeps acronyms, sparse products, block similarity."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from gscp_match.errors import InputError
from gscp_match.text._lexical import LexicalIndex, similarity_block, tokenize

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
    vocabulary = LexicalIndex.fit(DOCS).vectorizer.vocabulary_
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
