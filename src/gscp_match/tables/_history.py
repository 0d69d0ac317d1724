"""Past selections: the history table and its checks against a round's requests and the roster.

The history table (kind ``history`` of the data contract, :data:`gscp_match.tables._schema.HISTORY`) records what the
program chose in earlier rounds, one row per (request, expert) pair that was considered:

============ =========================================================================================
round*       round label, the same as the request's ``round`` in the requests table
request_id*  a request of that round
expert_id*   an expert of the roster
selected*    1 the expert was selected for the request, 0 considered and not selected
rating       1 (poor) to 5 (excellent): how the engagement went; selected pairs only, optional
============ =========================================================================================

From it, :func:`history_judgments` makes a judgment table for :func:`gscp_match.evaluate._metrics.evaluate` (selected
pairs
are relevant; the rating, when given, is the grade) and :mod:`gscp_match.evaluate._learn` learns component weights.

A simulator of past rounds, to check a learner against a known truth, is
:func:`gscp_match.evaluate._simulate.simulate_history`.

>>> history = pd.DataFrame({"round": ["R1", "R1"], "request_id": ["Q1", "Q1"], "expert_id": ["E1", "E2"],
...                         "selected": [1, 0], "rating": [4, None]})
>>> history_judgments(history)[["request_id", "expert_id", "relevance"]].values.tolist()
[['Q1', 'E1', 4], ['Q1', 'E2', 0]]
"""

from __future__ import annotations

import logging
import os

import numpy as np
import pandas as pd

from gscp_match.errors import InputError, Problem
from gscp_match.tables._schema import HISTORY
from gscp_match.tables._validate import as_table, read_table

__all__ = [
    "HISTORY_COLUMNS",
    "read_history",
    "as_history",
    "check_history",
    "history_judgments",
]

log = logging.getLogger(__name__)

#: Columns of the history table, in file order.
HISTORY_COLUMNS: tuple[str, ...] = tuple(column.name for column in HISTORY)


def read_history(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read and validate a history file (CSV, XLSX, Parquet or JSON records).

    Returns
    -------
    DataFrame
        ``round, request_id, expert_id`` (str), ``selected`` (bool), ``rating`` (Int64, ``<NA>`` when not given),
        plus any extra columns of the file.

    Raises
    ------
    InputError
        Naming the file, row and column of every problem.
    """
    return read_table(path, "history")


def as_history(history: pd.DataFrame | str | os.PathLike[str]) -> pd.DataFrame:
    """A validated history table from a file path or a DataFrame (validated again unless it already is)."""
    return as_table(history, "history")


def check_history(
    history: pd.DataFrame,
    *,
    requests: pd.DataFrame | None = None,
    experts: pd.DataFrame | None = None,
) -> None:
    """Check that a validated history names requests of the requests table (in the same round) and roster experts.

    Parameters
    ----------
    history : DataFrame
        A validated history table (:func:`read_history`).
    requests : DataFrame, optional
        A validated requests table; when its ``round`` is not empty it must equal the history's round.
    experts : DataFrame, optional
        A validated roster.

    Raises
    ------
    InputError
        One problem per bad row, with the history's file name, row and column.
    """
    source = history.attrs.get("source", "history")
    first_row = history.attrs.get("first_row", 1)
    problems: list[Problem] = []
    if requests is not None:
        round_of = dict(zip(requests["request_id"], requests["round"], strict=True))
        for position, (round_label, request_id) in enumerate(zip(history["round"], history["request_id"], strict=True)):
            if request_id not in round_of:
                problems.append(
                    Problem(
                        source,
                        first_row + position,
                        "request_id",
                        f"unknown request id {request_id!r}: not in the requests table",
                    )
                )
            elif round_of[request_id] and round_of[request_id] != round_label:
                problems.append(
                    Problem(
                        source,
                        first_row + position,
                        "round",
                        f"{round_label!r}, but the requests table puts {request_id!r} in round "
                        f"{round_of[request_id]!r}",
                    )
                )
    if experts is not None:
        known = set(experts["expert_id"])
        for position, expert_id in enumerate(history["expert_id"]):
            if expert_id not in known:
                problems.append(
                    Problem(
                        source, first_row + position, "expert_id", f"unknown expert id {expert_id!r}: not in the roster"
                    )
                )
    if problems:
        problems.sort(key=lambda p: (p.row or 0, HISTORY_COLUMNS.index(p.column or "round")))
        raise InputError(problems)


def history_judgments(history: pd.DataFrame, *, unrated: int = 3) -> pd.DataFrame:
    """Graded judgments from a history: selected pairs are relevant, graded by their rating.

    Parameters
    ----------
    history : DataFrame
        A history table (validated or not).
    unrated : int, default 3
        Grade of a selected pair without a rating (1-5; 3 is the middle of the rating scale, so an unrated
        selection neither outweighs a well-rated one nor counts less than a poorly rated one).

    Returns
    -------
    DataFrame
        ``round, request_id, expert_id, relevance`` (int64): the rating or ``unrated`` for selected pairs, 0 for
        pairs considered and not selected. Same row order as ``history``.
    """
    if isinstance(unrated, bool) or not isinstance(unrated, int | np.integer) or not 1 <= unrated <= 5:
        raise InputError(f"unrated must be a whole number from 1 to 5, got {unrated!r}")
    table = as_history(history)
    rating = table["rating"].astype("Int64").fillna(int(unrated)).to_numpy(dtype=np.int64)
    relevance = np.where(table["selected"].to_numpy(dtype=bool), rating, 0)
    return pd.DataFrame(
        {
            "round": table["round"].to_numpy(dtype=object),
            "request_id": table["request_id"].to_numpy(dtype=object),
            "expert_id": table["expert_id"].to_numpy(dtype=object),
            "relevance": relevance.astype(np.int64),
        }
    )
