"""Validated tables -> texts to embed: request texts, expert documents (bio and evidence), case texts.

An expert's documents are its bio and each of its evidence rows; long documents are split into passages that fit
the embedding model (:mod:`gscp_match.text._passages`), and every passage remembers where it came from, so explanations
can quote the text that matched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gscp_match.errors import InputError
from gscp_match.text._passages import explode_documents

__all__ = ["Documents", "request_texts", "case_texts", "expert_documents", "case_documents", "pool_passages"]


def request_texts(requests: pd.DataFrame) -> list[str]:
    """One text per request: title and description.

    >>> request_texts(pd.DataFrame({"title": ["BRT"], "description": ["Plan a corridor."]}))
    ['BRT. Plan a corridor.']
    """
    return [_join(t, d) for t, d in zip(requests["title"], requests["description"], strict=True)]


def case_texts(cases: pd.DataFrame) -> list[str]:
    """One text per case: title and summary."""
    return [_join(t, s) for t, s in zip(cases["title"], cases["summary"], strict=True)]


def _join(title: str, body: str) -> str:
    title = title.strip()
    if not title:
        return body.strip()
    sep = " " if title.endswith((".", "!", "?", ":")) else ". "
    return f"{title}{sep}{body.strip()}"


@dataclass(frozen=True, slots=True)
class Documents:
    """Passages grouped by document, documents grouped by owner (expert or case), with where each came from.

    Three levels: an owner (expert) has documents (its bio, each evidence row; a case's title and summary), and a
    document longer than the model reads is split into passages. Passages are what is embedded (and cached);
    :meth:`by_document` gives the same owners with one unit per whole document, which is what is scored.

    Attributes
    ----------
    passages : list of str, length n_passages.
    owner : (n_passages,) int64 owner row, sorted ascending.
    offsets : (n_owners + 1,) int64; owner ``o`` has passages ``offsets[o]:offsets[o+1]``.
    source_kind : (n_passages,) object array: ``bio``, ``evidence`` or ``summary``.
    source_row : (n_passages,) int64 row of the source table (experts/cases table or evidence table).
    document : (n_passages,) int64 document of each passage, ascending (documents are numbered in owner order).
    texts : list of str, length n_documents; the whole text of each document.
    """

    passages: list[str]
    owner: NDArray[np.int64]
    offsets: NDArray[np.int64]
    source_kind: NDArray[np.object_]
    source_row: NDArray[np.int64]
    document: NDArray[np.int64]
    texts: list[str]

    def by_document(self) -> Documents:
        """The same owners with one unit per document: ``passages`` are the whole texts (``document`` is the
        identity), ``owner``/``offsets``/``source_*`` describe documents."""
        first = np.searchsorted(self.document, np.arange(len(self.texts)))
        owner = self.owner[first]
        return Documents(
            passages=list(self.texts),
            owner=owner,
            offsets=np.searchsorted(owner, np.arange(self.offsets.size)).astype(np.int64),
            source_kind=self.source_kind[first],
            source_row=self.source_row[first],
            document=np.arange(len(self.texts), dtype=np.int64),
            texts=list(self.texts),
        )


def pool_passages(vectors: NDArray[np.float32], document: NDArray[np.int64], n_documents: int) -> NDArray[np.float32]:
    """One vector per document: the L2-normalised mean of its passages' vectors.

    Parameters
    ----------
    vectors : (n_passages, d) float32
    document : (n_passages,) int64, document of each passage (each of ``0 .. n_documents - 1`` has one or more)
    n_documents : int

    Returns
    -------
    (n_documents, d) float32; a document of one passage keeps that passage's vector exactly.

    Examples
    --------
    >>> v = np.array([[1, 0], [0, 1], [1, 0]], dtype=np.float32)
    >>> pool_passages(v, np.array([0, 0, 1]), 2).astype(float).round(3).tolist()
    [[0.707, 0.707], [1.0, 0.0]]
    """
    counts = np.bincount(document, minlength=n_documents)
    if np.all(counts == 1):
        return np.ascontiguousarray(vectors, dtype=np.float32)
    sums = np.zeros((n_documents, vectors.shape[1]), dtype=np.float64)
    np.add.at(sums, document, vectors)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    pooled = (sums / np.where(norms > 0, norms, 1.0)).astype(np.float32)
    single = counts == 1
    pooled[single] = vectors[np.searchsorted(document, np.flatnonzero(single))]
    return pooled


TokenCounter = Callable[[list[str]], NDArray[np.integer]]

#: How an expert's bio takes part: one document among the evidence, or only when there is no evidence.
BIO_MODES = ("document", "fallback")


def expert_documents(
    experts: pd.DataFrame,
    evidence: pd.DataFrame | None,
    *,
    max_tokens: int,
    count_tokens: TokenCounter,
    bio: str = "document",
) -> Documents:
    """Bio and evidence passages of every expert; ``experts`` is sorted by id (rows are expert positions).

    ``bio``: ``"document"`` makes the bio one document among the evidence; ``"fallback"`` uses the bio only for
    experts without evidence (see :data:`BIO_MODES`).
    """
    if bio not in BIO_MODES:
        raise InputError(f"unknown bio mode {bio!r}; valid: {', '.join(BIO_MODES)}")
    n = len(experts)
    texts: list[str] = list(experts["bio"])
    if bio == "fallback" and evidence is not None and len(evidence):
        has_evidence = experts["expert_id"].isin(set(evidence["expert_id"])).to_numpy()
        texts = ["" if has else text for text, has in zip(texts, has_evidence, strict=True)]
    owners = [np.arange(n, dtype=np.int64)]
    kinds = ["bio"] * n
    rows = [np.arange(n, dtype=np.int64)]
    if evidence is not None and len(evidence):
        position = pd.Series(np.arange(n), index=experts["expert_id"].to_numpy())
        ev_owner = position.reindex(evidence["expert_id"].to_numpy()).to_numpy()
        known = ~np.isnan(ev_owner.astype(float))
        ev_rows = np.flatnonzero(known)
        texts += [
            _join(title, text)
            for title, text in zip(
                evidence["title"].to_numpy()[ev_rows], evidence["text"].to_numpy()[ev_rows], strict=True
            )
        ]
        owners.append(ev_owner[known].astype(np.int64))
        kinds += ["evidence"] * ev_rows.size
        rows.append(ev_rows.astype(np.int64))
    owner = np.concatenate(owners)
    kind = np.asarray(kinds, dtype=object)
    row = np.concatenate(rows)
    order = np.argsort(owner, kind="stable")
    return _explode([texts[i] for i in order], owner[order], kind[order], row[order], n, max_tokens, count_tokens)


def case_documents(cases: pd.DataFrame, *, max_tokens: int, count_tokens: TokenCounter) -> Documents:
    """Title-and-summary passages of every case; ``cases`` is sorted by id."""
    n = len(cases)
    return _explode(
        case_texts(cases),
        np.arange(n, dtype=np.int64),
        np.asarray(["summary"] * n, dtype=object),
        np.arange(n, dtype=np.int64),
        n,
        max_tokens,
        count_tokens,
    )


def _explode(
    texts: list[str],
    owner: NDArray[np.int64],
    kind: NDArray[np.object_],
    row: NDArray[np.int64],
    n_owners: int,
    max_tokens: int,
    count_tokens: TokenCounter,
) -> Documents:
    passages, passage_owner, passage_source = explode_documents(
        texts, owner, max_tokens=max_tokens, count_tokens=count_tokens
    )
    offsets = np.searchsorted(passage_owner, np.arange(n_owners + 1)).astype(np.int64)
    sources, document = np.unique(passage_source, return_inverse=True)  # blank texts give no document
    return Documents(
        passages=passages,
        owner=passage_owner,
        offsets=offsets,
        source_kind=kind[passage_source],
        source_row=row[passage_source],
        document=np.asarray(document, dtype=np.int64).reshape(-1),
        texts=[texts[int(i)] for i in sources],
    )
