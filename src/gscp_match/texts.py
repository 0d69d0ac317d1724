"""Validated tables -> texts to embed: request texts, expert documents (bio and evidence), case texts.

An expert's documents are its bio and each of its evidence rows; long documents are split into passages that fit
the embedding model (:mod:`gscp_match.passages`), and every passage remembers where it came from, so explanations
can quote the text that matched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .passages import explode_documents

__all__ = ["Documents", "request_texts", "case_texts", "expert_documents", "case_documents"]


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
    """Passages grouped by owner (expert or case), with where each came from.

    Attributes
    ----------
    passages : list of str, length n_passages.
    owner : (n_passages,) int64 owner row, sorted ascending.
    offsets : (n_owners + 1,) int64; owner ``o`` has passages ``offsets[o]:offsets[o+1]``.
    source_kind : (n_passages,) object array: ``bio``, ``evidence`` or ``summary``.
    source_row : (n_passages,) int64 row of the source table (experts/cases table or evidence table).
    """

    passages: list[str]
    owner: NDArray[np.int64]
    offsets: NDArray[np.int64]
    source_kind: NDArray[np.object_]
    source_row: NDArray[np.int64]


TokenCounter = Callable[[list[str]], NDArray[np.integer]]


def expert_documents(
    experts: pd.DataFrame,
    evidence: pd.DataFrame | None,
    *,
    max_tokens: int,
    count_tokens: TokenCounter,
) -> Documents:
    """Bio and evidence passages of every expert; ``experts`` is sorted by id (rows are expert positions)."""
    n = len(experts)
    texts: list[str] = list(experts["bio"])
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
    return Documents(
        passages=passages,
        owner=passage_owner,
        offsets=offsets,
        source_kind=kind[passage_source],
        source_row=row[passage_source],
    )
