"""Split long texts into passages that fit an embedding model.

A sentence-transformers model reads at most ``max_tokens`` word pieces (256 for all-MiniLM-L6-v2) and
silently drops the rest, so a matching sentence at the end of a long expert bio would be lost.
:func:`split_passages` packs whole sentences into passages that fit, and :func:`explode_documents` does it
for many texts at once, keeping track of which text (and which owner, e.g. expert) each passage came from.
Scores over passages are brought back to owners with :func:`gscp_match.core._aggregate.aggregate`.

Token counts come from a ``count_tokens`` callable (an embedder's
:meth:`~gscp_match.text._embed.Embedder.count_tokens`), which counts the model's word pieces *including* special
tokens. Packing assumes counts are additive over space-joined pieces (true for WordPiece/BERT and for
whitespace counting); every passage is checked afterwards and cut further if a tokenizer disagrees.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from gscp_match.errors import InputError

__all__ = ["split_sentences", "split_passages", "explode_documents"]

TokenCounter = Callable[[list[str]], NDArray[np.integer]]

# Words after which a period does not end a sentence.
_ABBREVIATIONS = frozenset(
    """
    e.g i.e etc vs cf al approx dept est fig figs no nos p pp vol eds ed inc ltd co corp jr sr st mr mrs ms
    dr prof gen gov sen rep hon rev mt ft jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k u.n e.u
    min max avg
    """.split()
)
_CANDIDATE = re.compile(r"[.!?;]+[\"'\u2019\u201d)\]]*\s+|\s*\n\s*")
_WORD_BEFORE = re.compile(r"(\S+?)[.!?;]*[\"'\u2019\u201d)\]]*$")


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences on ``. ! ? ;`` followed by whitespace, and on newlines.

    A period after a common abbreviation (``e.g.``, ``Dr.``, ``U.S.``), after a single capital letter (an
    initial), or followed by a lower-case word does not end a sentence.

    Parameters
    ----------
    text : str

    Returns
    -------
    list of str
        Stripped, non-empty sentences; joined with spaces they hold every word of ``text`` in order.

    Examples
    --------
    >>> split_sentences("Dr. Kim led Seoul's 2004 bus reform. It used e.g. median lanes!\\nTOPIS followed")
    ["Dr. Kim led Seoul's 2004 bus reform.", 'It used e.g. median lanes!', 'TOPIS followed']
    """
    sentences: list[str] = []
    start = 0
    for match in _CANDIDATE.finditer(text):
        boundary = match.group()
        if "\n" not in boundary and boundary.startswith(".") and not boundary.startswith(".."):
            before = _WORD_BEFORE.search(text, start, match.start() + 1)
            word = before.group(1).rstrip(".") if before else ""
            following = text[match.end() : match.end() + 1]
            initial = len(word) == 1 and word.isupper()
            if word.lower() in _ABBREVIATIONS or initial or following.islower():
                continue
        piece = text[start : match.end()].strip()
        if piece:
            sentences.append(piece)
        start = match.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def _counts(count_tokens: TokenCounter, texts: list[str]) -> NDArray[np.int64]:
    counts = np.asarray(count_tokens(texts), dtype=np.int64).reshape(-1)
    if counts.shape != (len(texts),):
        raise InputError(f"count_tokens returned {counts.shape[0]} counts for {len(texts)} texts")
    return counts


def _pack_words(words: list[str], content: list[int], budget: int) -> list[str]:
    """Greedily pack words into pieces whose content tokens are <= budget (an over-long word stays alone)."""
    pieces: list[str] = []
    current: list[str] = []
    used = 0
    for word, size in zip(words, content, strict=True):
        if current and used + size > budget:
            pieces.append(" ".join(current))
            current, used = [], 0
        current.append(word)
        used += size
    if current:
        pieces.append(" ".join(current))
    return pieces


def _counted(count_tokens: TokenCounter, texts: list[str]) -> dict[str, int]:
    """Token count of each distinct text, in one call."""
    distinct = list(dict.fromkeys(texts))
    if not distinct:
        return {}
    return dict(zip(distinct, _counts(count_tokens, distinct).tolist(), strict=True))


def _pack_sentences(units: list[str], sizes: list[int], budget: int, overlap_sentences: int) -> list[str]:
    """Greedily pack sentences (content sizes ``sizes``) into passages of <= budget, repeating up to
    ``overlap_sentences`` sentences at the start of the next passage when they fit beside its first new one."""
    m = len(units)
    passages: list[str] = []
    start = 0
    while start < m:
        end, used = start, 0
        while end < m and used + sizes[end] <= budget:
            used += sizes[end]
            end += 1
        end = max(end, start + 1)  # an over-long single word still forms a passage
        passages.append(" ".join(units[start:end]))
        if end >= m:
            break
        nxt = max(end - overlap_sentences, start + 1)
        # Drop overlap sentences until the next new sentence fits beside them.
        while nxt < end and sum(sizes[nxt:end]) + sizes[end] > budget:
            nxt += 1
        start = nxt
    return passages


def _split_known(
    texts: list[str],
    *,
    max_tokens: int,
    count_tokens: TokenCounter,
    overlap_sentences: int,
    special: int,
) -> list[list[str]]:
    """Passages of each of ``texts`` (each longer than ``max_tokens``).

    Each text is split on its own, but the tokenizer is called once per step for all texts together (sentences,
    then words of over-long sentences, then the pieces packed from them, then the passages), so that the number of
    calls does not grow with the number of texts (a counter that remembers counts on disk writes once per call).
    """
    budget = max_tokens - special
    units_of = [split_sentences(text) for text in texts]
    sentence_count = _counted(count_tokens, [unit for units in units_of for unit in units])
    content_of = [[sentence_count[unit] - special for unit in units] for units in units_of]
    # Sentences longer than the budget are cut on word boundaries into pieces that fit.
    over_long = [
        unit
        for units, sizes in zip(units_of, content_of, strict=True)
        for unit, size in zip(units, sizes, strict=True)
        if size > budget
    ]
    if over_long:
        word_count = _counted(count_tokens, [word for unit in over_long for word in unit.split()])
        pieces_of: dict[str, list[str]] = {}
        for unit in dict.fromkeys(over_long):
            words = unit.split()
            pieces_of[unit] = _pack_words(words, [word_count[word] - special for word in words], budget)
        piece_count = _counted(count_tokens, [piece for pieces in pieces_of.values() for piece in pieces])
        for i, (units, sizes) in enumerate(zip(units_of, content_of, strict=True)):
            if not any(size > budget for size in sizes):
                continue
            new_units: list[str] = []
            new_sizes: list[int] = []
            for unit, size in zip(units, sizes, strict=True):
                if size <= budget:
                    new_units.append(unit)
                    new_sizes.append(size)
                    continue
                new_units.extend(pieces_of[unit])
                new_sizes.extend(piece_count[piece] - special for piece in pieces_of[unit])
            units_of[i], content_of[i] = new_units, new_sizes
    passages_of = [
        _pack_sentences(units, sizes, budget, overlap_sentences)
        for units, sizes in zip(units_of, content_of, strict=True)
    ]
    return _enforce_limit(passages_of, max_tokens=max_tokens, count_tokens=count_tokens)


def _enforce_limit(passages_of: list[list[str]], *, max_tokens: int, count_tokens: TokenCounter) -> list[list[str]]:
    """Halve (on words) any passage the tokenizer still counts above the limit, again until every half fits or is
    one word; one tokenizer call per round for all texts."""
    # Each passage is (text, checked); a round counts every unchecked one and halves those over the limit.
    pending = [[(passage, False) for passage in passages] for passages in passages_of]
    while True:
        unchecked = [passage for passages in pending for passage, checked in passages if not checked]
        if not unchecked:
            return [[passage for passage, _ in passages] for passages in pending]
        count = _counted(count_tokens, unchecked)
        for i, passages in enumerate(pending):
            if all(checked for _, checked in passages):
                continue
            out: list[tuple[str, bool]] = []
            for passage, checked in passages:
                words = passage.split()
                if checked or count[passage] <= max_tokens or len(words) < 2:
                    out.append((passage, True))
                    continue
                half = len(words) // 2
                out.extend([(" ".join(words[:half]), False), (" ".join(words[half:]), False)])
            pending[i] = out


def _check_options(max_tokens: int, overlap_sentences: int, special: int) -> None:
    if overlap_sentences < 0:
        raise InputError(f"overlap_sentences must be >= 0, got {overlap_sentences}")
    if max_tokens <= special:
        raise InputError(
            f"max_tokens={max_tokens} leaves no room for text: the tokenizer adds {special} special tokens"
        )


def split_passages(
    text: str,
    *,
    max_tokens: int,
    count_tokens: TokenCounter,
    overlap_sentences: int = 1,
) -> list[str]:
    """Split a text into passages of at most ``max_tokens`` tokens, on sentence boundaries.

    Sentences (see :func:`split_sentences`) are packed greedily; the last ``overlap_sentences`` sentences of a
    passage are repeated at the start of the next one when they fit beside its first new sentence. A sentence
    longer than the limit is cut on word boundaries. A single word longer than the limit becomes a passage of
    its own (the model truncates it).

    Parameters
    ----------
    text : str
    max_tokens : int
        Limit per passage, in tokens as counted by ``count_tokens`` (special tokens included).
    count_tokens : callable
        ``count_tokens(list_of_str) -> (n,) int array``, e.g. ``embedder.count_tokens``.
    overlap_sentences : int, default 1

    Returns
    -------
    list of str
        ``[text]`` when it fits, ``[]`` when it is empty or blank.

    Examples
    --------
    >>> count = lambda texts: [len(t.split()) for t in texts]
    >>> split_passages("One two three. Four five. Six seven eight.", max_tokens=5, count_tokens=count)
    ['One two three. Four five.', 'Four five. Six seven eight.']
    >>> split_passages("Short text.", max_tokens=5, count_tokens=count)
    ['Short text.']
    """
    if not isinstance(text, str):
        raise InputError(f"text must be a str, got {type(text).__name__}")
    if not text.strip():
        return []
    counts = _counts(count_tokens, ["", text])
    special = int(counts[0])
    _check_options(max_tokens, overlap_sentences, special)
    if counts[1] <= max_tokens:
        return [text]
    return _split_known(
        [text],
        max_tokens=max_tokens,
        count_tokens=count_tokens,
        overlap_sentences=overlap_sentences,
        special=special,
    )[0]


def explode_documents(
    texts: Sequence[str],
    owners: NDArray[np.int64],
    *,
    max_tokens: int,
    count_tokens: TokenCounter,
    overlap_sentences: int = 1,
) -> tuple[list[str], NDArray[np.int64], NDArray[np.int64]]:
    """Split many texts into passages, keeping their owners.

    Parameters
    ----------
    texts : sequence of str, length n_texts
    owners : ndarray of int64, shape (n_texts,)
        Owner (e.g. expert position) of each text, **sorted ascending** so that passages come out grouped by
        owner, as :func:`gscp_match.core._aggregate.owner_offsets` requires.
    max_tokens, count_tokens, overlap_sentences
        As in :func:`split_passages`.

    Returns
    -------
    passages : list of str, length n_passages
        In text order; a blank text gives no passage.
    passage_owner : ndarray of int64, shape (n_passages,)
        Owner of each passage (sorted ascending).
    passage_source : ndarray of int64, shape (n_passages,)
        Index into ``texts`` of the text each passage came from.

    Raises
    ------
    InputError
        If ``owners`` is not a 1-D integer array of length ``n_texts`` sorted ascending.

    Examples
    --------
    >>> count = lambda texts: [len(t.split()) for t in texts]
    >>> p, owner, source = explode_documents(["a b. c d.", "", "e"], np.array([0, 0, 1]), max_tokens=2,
    ...                                      count_tokens=count, overlap_sentences=0)
    >>> p, owner.tolist(), source.tolist()
    (['a b.', 'c d.', 'e'], [0, 0, 1], [0, 0, 2])
    """
    if isinstance(texts, str):
        raise InputError("texts must be a sequence of strings, not a single string")
    items = list(texts)
    owner_arr = np.asarray(owners)
    if owner_arr.ndim != 1 or owner_arr.shape[0] != len(items):
        raise InputError(f"owners must have shape ({len(items)},), got {owner_arr.shape}")
    if owner_arr.size and not np.issubdtype(owner_arr.dtype, np.integer):
        raise InputError(f"owners must be integers, got dtype {owner_arr.dtype}")
    owner_arr = owner_arr.astype(np.int64, copy=False)
    if owner_arr.size > 1 and np.any(np.diff(owner_arr) < 0):
        first = int(np.flatnonzero(np.diff(owner_arr) < 0)[0])
        raise InputError(
            f"owners must be sorted ascending: owners[{first}]={owner_arr[first]} > owners[{first + 1}]="
            f"{owner_arr[first + 1]}"
        )
    bad = [i for i, t in enumerate(items) if not isinstance(t, str)]
    if bad:
        raise InputError(f"texts[{bad[0]}] is {type(items[bad[0]]).__name__}, expected str")
    counts = _counts(count_tokens, ["", *items])
    special = int(counts[0])
    _check_options(max_tokens, overlap_sentences, special)

    kept = [i for i, text in enumerate(items) if text.strip()]
    long = [i for i in kept if counts[i + 1] > max_tokens]
    split = _split_known(
        [items[i] for i in long],
        max_tokens=max_tokens,
        count_tokens=count_tokens,
        overlap_sentences=overlap_sentences,
        special=special,
    )
    pieces_of = dict(zip(long, split, strict=True))
    passages: list[str] = []
    sources: list[int] = []
    for index in kept:
        pieces = pieces_of.get(index, [items[index]])
        passages.extend(pieces)
        sources.extend([index] * len(pieces))
    passage_source = np.asarray(sources, dtype=np.int64)
    return passages, owner_arr[passage_source], passage_source
