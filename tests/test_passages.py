"""passages.py: sentence splitting, packing under a token limit, and exploding many documents."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gscp_match.errors import InputError
from gscp_match.text._passages import explode_documents, split_passages, split_sentences


def word_counter(special: int):
    def count(texts):
        return np.array([len(t.split()) + special for t in texts], dtype=np.int64)

    return count


@st.composite
def texts_of_unique_words(draw):
    """Sentences of unique words w0, w1, ... ending with random punctuation or a newline."""
    lengths = draw(st.lists(st.integers(1, 12), min_size=0, max_size=12))
    ends = draw(
        st.lists(st.sampled_from([".", "!", "?", ";", "\n", ",", ""]), min_size=len(lengths), max_size=len(lengths))
    )
    parts, i = [], 0
    for length, end in zip(lengths, ends, strict=True):
        words = [f"w{i + k}" for k in range(length)]
        i += length
        parts.append(" ".join(words) + end)
    return " ".join(parts), i


def word_indices(passage: str) -> list[int]:
    return [int(w.strip(".!?;,")[1:]) for w in passage.split()]


@settings(max_examples=300, deadline=None)
@given(texts_of_unique_words(), st.integers(1, 15), st.sampled_from([0, 2]), st.integers(0, 2))
def test_split_passages_covers_text_in_order_within_limit(text_and_n, budget, special, overlap):
    text, n_words = text_and_n
    count = word_counter(special)
    max_tokens = budget + special
    passages = split_passages(text, max_tokens=max_tokens, count_tokens=count, overlap_sentences=overlap)
    if n_words == 0:
        assert passages == []
        return
    if count([text])[0] <= max_tokens:
        assert passages == [text]
        return
    assert all(c <= max_tokens for c in count(passages))
    runs = [word_indices(p) for p in passages]
    for run in runs:  # each passage is a contiguous stretch of the text
        assert run == list(range(run[0], run[0] + len(run)))
    assert runs[0][0] == 0 and runs[-1][-1] == n_words - 1
    for prev, nxt in zip(runs, runs[1:], strict=False):
        assert prev[0] < nxt[0] <= prev[-1] + 1  # progress, no gap
        assert nxt[-1] > prev[-1]
    if overlap == 0:
        assert sum(len(r) for r in runs) == n_words


def test_overlap_repeats_last_sentence():
    text = "A b c. D e. F g h. I j."
    passages = split_passages(text, max_tokens=5, count_tokens=word_counter(0), overlap_sentences=1)
    assert passages == ["A b c. D e.", "D e. F g h.", "F g h. I j."]
    assert split_passages(text, max_tokens=5, count_tokens=word_counter(0), overlap_sentences=0) == [
        "A b c. D e.",
        "F g h. I j.",
    ]


def test_long_sentence_cut_on_words_and_short_or_empty_texts():
    text = " ".join(f"x{i}" for i in range(25)) + "."
    passages = split_passages(text, max_tokens=12, count_tokens=word_counter(2), overlap_sentences=0)
    assert [len(p.split()) for p in passages] == [10, 10, 5]
    assert " ".join(passages) == text
    assert split_passages("Tiny.", max_tokens=3, count_tokens=word_counter(2)) == ["Tiny."]
    assert split_passages("", max_tokens=3, count_tokens=word_counter(2)) == []
    assert split_passages(" \n\t", max_tokens=3, count_tokens=word_counter(2)) == []


def test_limit_must_leave_room_for_text():
    with pytest.raises(InputError, match="special tokens"):
        split_passages("a b c", max_tokens=2, count_tokens=word_counter(2))


def test_split_sentences_keeps_abbreviations():
    text = "Dr. Kim advised the U.S. team, e.g. on BRT. Results? Good!\nNext line; last part approx. done"
    assert split_sentences(text) == [
        "Dr. Kim advised the U.S. team, e.g. on BRT.",
        "Results?",
        "Good!",
        "Next line;",
        "last part approx. done",
    ]
    assert split_sentences("Version 2.0 shipped. J. Park led it.") == [
        "Version 2.0 shipped.",
        "J. Park led it.",
    ]


def explode_loop(texts, owners, max_tokens, count):
    passages, owner_out, source = [], [], []
    for i, (text, owner) in enumerate(zip(texts, owners, strict=True)):
        for p in split_passages(text, max_tokens=max_tokens, count_tokens=count):
            passages.append(p)
            owner_out.append(owner)
            source.append(i)
    return passages, owner_out, source


@settings(max_examples=100, deadline=None)
@given(st.lists(texts_of_unique_words(), max_size=6), st.integers(1, 10), st.data())
def test_explode_documents_matches_loop(docs, budget, data):
    texts = [t for t, _ in docs]
    owners = np.sort(
        np.array(data.draw(st.lists(st.integers(0, 3), min_size=len(texts), max_size=len(texts))), dtype=np.int64)
    )
    count = word_counter(2)
    passages, owner, source = explode_documents(texts, owners, max_tokens=budget + 2, count_tokens=count)
    ref = explode_loop(texts, owners.tolist(), budget + 2, count)
    assert passages == ref[0]
    assert owner.tolist() == ref[1] and source.tolist() == ref[2]
    assert owner.dtype == np.int64 and source.dtype == np.int64
    assert np.all(np.diff(owner) >= 0)


def test_explode_documents_checks_owners():
    count = word_counter(0)
    with pytest.raises(InputError, match="sorted ascending"):
        explode_documents(["a", "b"], np.array([1, 0]), max_tokens=5, count_tokens=count)
    with pytest.raises(InputError, match="shape"):
        explode_documents(["a", "b"], np.array([0]), max_tokens=5, count_tokens=count)
    with pytest.raises(InputError, match="single string"):
        explode_documents("ab", np.array([0, 0]), max_tokens=5, count_tokens=count)


@pytest.mark.model
def test_real_tokenizer_limits_hold(real_embedder):
    sentence = "The Ulaanbaatar ITS project deployed adaptive signal control at 120 intersections (ATSC). "
    text = sentence * 40 + "Supercalifragilistic " * 300
    passages = split_passages(text, max_tokens=real_embedder.max_tokens, count_tokens=real_embedder.count_tokens)
    counts = real_embedder.count_tokens(passages)
    assert len(passages) > 4
    assert counts.max() <= real_embedder.max_tokens
    words = set(text.split())
    assert words == set(" ".join(passages).split())


# -- batched counting: the same passages as splitting one text at a time --------------------------------------------


def _reference_split(text, max_tokens, count, overlap):
    """The splitting of one text with one tokenizer call per step and per text (the module before batching)."""

    def counts(texts):
        return [int(c) for c in count(texts)]

    special = counts([""])[0]
    if not text.strip():
        return []
    if counts([text])[0] <= max_tokens:
        return [text]
    budget = max_tokens - special
    units, sizes = [], []
    for unit in split_sentences(text):
        size = counts([unit])[0] - special
        if size <= budget:
            units.append(unit)
            sizes.append(size)
            continue
        current, used = [], 0
        for word in unit.split():
            word_size = counts([word])[0] - special
            if current and used + word_size > budget:
                units.append(" ".join(current))
                sizes.append(counts([units[-1]])[0] - special)
                current, used = [], 0
            current.append(word)
            used += word_size
        units.append(" ".join(current))
        sizes.append(counts([units[-1]])[0] - special)
    passages, start = [], 0
    while start < len(units):
        end, used = start, 0
        while end < len(units) and used + sizes[end] <= budget:
            used += sizes[end]
            end += 1
        end = max(end, start + 1)
        passages.append(" ".join(units[start:end]))
        if end >= len(units):
            break
        nxt = max(end - overlap, start + 1)
        while nxt < end and sum(sizes[nxt:end]) + sizes[end] > budget:
            nxt += 1
        start = nxt

    def enforce(passage):
        words = passage.split()
        if counts([passage])[0] <= max_tokens or len(words) < 2:
            return [passage]
        half = len(words) // 2
        return enforce(" ".join(words[:half])) + enforce(" ".join(words[half:]))

    return [piece for passage in passages for piece in enforce(passage)]


def character_counter(special: int, calls: list):
    """Not additive over words (about 4 characters a token), so that passages overflow and get halved."""

    def count(texts):
        calls.append(len(texts))
        return np.array([-(-len(t) // 4) + special for t in texts], dtype=np.int64)

    return count


def square_counter(special: int):
    """Words squared: joining pieces costs more than the pieces, so passages are halved again and again."""

    def count(texts):
        return np.array([len(t.split()) ** 2 + special for t in texts], dtype=np.int64)

    return count


@settings(max_examples=200, deadline=None)
@given(
    st.lists(texts_of_unique_words(), max_size=8),
    st.integers(1, 12),
    st.sampled_from([0, 2]),
    st.integers(0, 2),
    st.sampled_from(["words", "characters", "squares"]),
)
def test_batched_splitting_equals_one_text_at_a_time(docs, budget, special, overlap, kind):
    calls: list[int] = []
    count = {
        "words": word_counter(special),
        "characters": character_counter(special, calls),
        "squares": square_counter(special),
    }[kind]
    texts = [t for t, _ in docs] + ["Supercalifragilisticexpialidocious " * 5, "  ", "a b c d e f g h i j k"]
    passages, _, source = explode_documents(
        texts,
        np.zeros(len(texts), dtype=np.int64),
        max_tokens=budget + special,
        count_tokens=count,
        overlap_sentences=overlap,
    )
    expected = [_reference_split(t, budget + special, count, overlap) for t in texts]
    assert passages == [p for pieces in expected for p in pieces]
    assert source.tolist() == [i for i, pieces in enumerate(expected) for _ in pieces]
    for text, pieces in zip(texts, expected, strict=True):
        assert (
            split_passages(text, max_tokens=budget + special, count_tokens=count, overlap_sentences=overlap) == pieces
        )


def test_the_tokenizer_is_called_a_few_times_whatever_the_number_of_texts():
    sentence = "Seoul's bus reform of 2004 merged routes and median lanes across the whole city network. "
    texts = [sentence * (3 + i % 5) + "Averyveryverylongwordthatneverends " * 30 for i in range(200)]
    calls: list[int] = []
    passages, _, _ = explode_documents(
        texts, np.arange(len(texts)), max_tokens=40, count_tokens=character_counter(2, calls)
    )
    assert len(passages) > 2 * len(texts)
    # The texts, their sentences, the words and pieces of over-long ones, then one call per halving round.
    assert 5 <= len(calls) <= 12, calls
