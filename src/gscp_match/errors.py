"""Exceptions raised by gscp_match.

Every input problem is an :class:`InputError` (a ``ValueError``), so callers can catch broadly. Validation collects
all problems in a file as :class:`Problem` records and raises them together. A :class:`~gscp_match.Matcher` used
before ``fit`` raises :class:`NotFittedError`, scikit-learn's convention (a ``ValueError`` and an ``AttributeError``).
A plain ``ValueError`` that is not an :class:`InputError` is a broken internal invariant: a bug, not bad input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# The exceptions users catch, and the record an InputError lists. The helpers below (check_choice, check_texts, ...)
# are for the library's own modules.
__all__ = ["InputError", "Problem", "ModelNotFoundError", "NotFittedError"]

#: How many problems an :class:`InputError` lists before it only counts the rest.
MAX_REPORTED_PROBLEMS = 20


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem in an input table.

    ``row`` is the row as the user counts it in the file (CSV and Excel: the header is row 1, so the first data row
    is row 2; JSON records and Parquet: the first record is row 1), or ``None`` for a problem with the whole file.
    """

    source: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.source
        if self.row is not None:
            where += f" row {self.row}"
        if self.column is not None:
            where += f"{',' if self.row is not None else ''} column {self.column!r}"
        return f"{where}: {self.message}"


class InputError(ValueError):
    """Bad input: a file, a table or an argument that does not follow the data contract.

    Parameters
    ----------
    problems : list of Problem or str
        What is wrong. The message lists the first :data:`MAX_REPORTED_PROBLEMS` and counts the rest.
    """

    def __init__(self, problems: list[Problem] | list[str] | str) -> None:
        if isinstance(problems, str):
            problems = [problems]
        self.problems: list[Problem | str] = list(problems)
        lines = [str(p) for p in self.problems[:MAX_REPORTED_PROBLEMS]]
        hidden = len(self.problems) - len(lines)
        if hidden > 0:
            lines.append(f"... and {hidden} more problem{'s' if hidden > 1 else ''}")
        super().__init__("\n".join(lines))

    @property
    def lines(self) -> list[str]:
        """The message, one problem per line."""
        return str(self).splitlines()


class ModelNotFoundError(InputError):
    """The sentence-transformers model could not be found locally (nothing is ever downloaded)."""


class NotFittedError(ValueError, AttributeError):
    """A method that needs a fitted estimator was called before ``fit``.

    As scikit-learn's ``sklearn.exceptions.NotFittedError``: both a ``ValueError`` and an ``AttributeError``, so
    ``except ValueError`` and ``hasattr``-style checks both see it. (Earlier versions raised ``RuntimeError``
    for an unfitted :class:`~gscp_match.Matcher`; code that caught that should catch this instead.)
    """


def check_choice(name: str, value: object, valid: Sequence[str]) -> str:
    """``value`` when it is one of ``valid``, else an :class:`InputError` naming ``name`` and listing ``valid``.

    >>> check_choice("method", "milp", ("milp", "greedy"))
    'milp'
    >>> check_choice("method", "hungarian", ("milp", "greedy"))
    Traceback (most recent call last):
    ...
    gscp_match.errors.InputError: method: unknown 'hungarian'; valid: milp, greedy
    """
    if not isinstance(value, str) or value not in valid:
        raise InputError(choice_problem(name, value, valid))
    return value


def choice_problem(name: str, value: object, valid: Sequence[str]) -> str:
    """The message of :func:`check_choice`, for validators that collect every problem before raising."""
    return f"{name}: unknown {value!r}; valid: {', '.join(valid)}"


def check_texts(texts: Sequence[str], what: str = "texts") -> list[str]:
    """``texts`` as a list, or an :class:`InputError` when it is a single string or holds a non-string.

    >>> check_texts(("a", "b"))
    ['a', 'b']
    """
    if isinstance(texts, str):
        raise InputError(f"{what} must be a sequence of strings, not a single string")
    items = list(texts)
    for i, t in enumerate(items):
        if not isinstance(t, str):
            raise InputError(f"{what}[{i}] is {type(t).__name__}, expected str")
    return items
