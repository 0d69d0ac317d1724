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


def _pack_words(words: list[str], content: NDArray[np.int64], budget: int) -> list[str]:
    """Greedily pack words into pieces whose content tokens are <= budget (an over-long word stays alone)."""
    pieces: list[str] = []
    current: list[str] = []
    used = 0
    for word, size in zip(words, content.tolist(), strict=True):
        if current and used + size > budget:
            pieces.append(" ".join(current))
            current, used = [], 0
        current.append(word)
        used += size
    if current:
        pieces.append(" ".join(current))
    return pieces


def _split_known(
    text: str,
    *,
    max_tokens: int,
    count_tokens: TokenCounter,
    overlap_sentences: int,
    special: int,
) -> list[str]:
    budget = max_tokens - special
    units = split_sentences(text)
    content = _counts(count_tokens, units) - special
    # Sentences longer than the budget are cut on word boundaries into pieces that fit.
    if np.any(content > budget):
        new_units: list[str] = []
        new_content: list[int] = []
        for unit, size in zip(units, content.tolist(), strict=True):
            if size <= budget:
                new_units.append(unit)
                new_content.append(size)
                continue
            words = unit.split()
            pieces = _pack_words(words, _counts(count_tokens, words) - special, budget)
            new_units.extend(pieces)
            new_content.extend((_counts(count_tokens, pieces) - special).tolist())
        units, content = new_units, np.asarray(new_content, dtype=np.int64)

    sizes = content.tolist()
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
    return _enforce_limit(passages, max_tokens=max_tokens, count_tokens=count_tokens)


def _enforce_limit(passages: list[str], *, max_tokens: int, count_tokens: TokenCounter) -> list[str]:
    """Halve (on words) any passage the tokenizer still counts above the limit."""
    counts = _counts(count_tokens, passages)
    if not np.any(counts > max_tokens):
        return passages
    out: list[str] = []
    for passage, count in zip(passages, counts.tolist(), strict=True):
        words = passage.split()
        if count <= max_tokens or len(words) < 2:
            out.append(passage)
            continue
        half = len(words) // 2
        halves = [" ".join(words[:half]), " ".join(words[half:])]
        out.extend(_enforce_limit(halves, max_tokens=max_tokens, count_tokens=count_tokens))
    return out


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
        text,
        max_tokens=max_tokens,
        count_tokens=count_tokens,
        overlap_sentences=overlap_sentences,
        special=special,
    )


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

    passages: list[str] = []
    sources: list[int] = []
    for index, (text, count) in enumerate(zip(items, counts[1:].tolist(), strict=True)):
        if not text.strip():
            continue
        if count <= max_tokens:
            pieces = [text]
        else:
            pieces = _split_known(
                text,
                max_tokens=max_tokens,
                count_tokens=count_tokens,
                overlap_sentences=overlap_sentences,
                special=special,
            )
        passages.extend(pieces)
        sources.extend([index] * len(pieces))
    passage_source = np.asarray(sources, dtype=np.int64)
    return passages, owner_arr[passage_source], passage_source
