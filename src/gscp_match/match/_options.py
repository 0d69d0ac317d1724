"""The options of the matcher, each concern in one record with its defaults and its checks.

* :class:`ExpertModel`: how an expert's (and a case's) texts become the text components, the "expert model" of
  ``benchmarks/README.md``, where each default was chosen by measurement.
* The solver's options are :class:`gscp_match.core._assign.SolveOptions`.
* :data:`TOP_M` and :data:`N_ALTERNATES`: the candidate lists of :meth:`gscp_match.Matcher.assign`.

Nothing here imports pandas or a model, so the command line reads its defaults and choices from here cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from gscp_match.core._aggregate import AGGREGATION_METHODS
from gscp_match.errors import InputError, choice_problem

__all__ = [
    "AGGREGATIONS",
    "MULTILINGUAL",
    "NORMALIZATIONS",
    "UNITS",
    "MIN_PASSAGE_TOKENS",
    "ExpertModel",
    "N_ALTERNATES",
    "TOP_M",
    "check_count",
]

#: Valid ``aggregation`` values (:func:`gscp_match.core._aggregate.aggregate`).
AGGREGATIONS = AGGREGATION_METHODS
#: Valid ``unit`` values.
UNITS = ("document", "passage")
#: Valid ``normalize`` values.
NORMALIZATIONS = ("zscore", "none")
#: Valid ``multilingual`` values.
MULTILINGUAL = ("auto", "never")
#: Shortest ``passage_tokens``.
MIN_PASSAGE_TOKENS = 16

#: Default candidates per request given to the solver by :meth:`gscp_match.Matcher.assign`.
TOP_M = 20
#: Default stand-by experts listed per request by :meth:`gscp_match.Matcher.assign`.
N_ALTERNATES = 3


@dataclass(frozen=True, slots=True)
class ExpertModel:
    """How texts are scored against a request. Each default was chosen by measurement (``benchmarks/README.md``,
    "Quality: the expert model"): whole documents, the best three weighted 1, 1/2, 1/3, standardized per request,
    passages of the model's 256 word pieces.

    Attributes
    ----------
    aggregation : {"max", "mean", "topk"}, default "topk"
        How an expert's documents (its bio and each evidence row) aggregate into one similarity: the best, the
        mean, or the weighted mean of the best three (1, 1/2, 1/3). Cases always take their best document.
    unit : {"document", "passage"}, default "document"
        What is scored against a request: whole documents (a document longer than ``passage_tokens`` is embedded
        passage by passage and pooled; TF-IDF over the whole text), or every passage as a document of its own.
    bio : {"document", "fallback"}, default "document"
        The bio as one document among the evidence, or only for experts without evidence.
    normalize : {"zscore", "none"}, default "zscore"
        ``"zscore"``: each request's text components become standard scores over the roster, on the components'
        usual scale (:mod:`gscp_match.core._standardize`); ``"none"``: raw cosines.
    passage_tokens : int >= 16, default 256
        Longest passage embedded at once, in word pieces (capped at the model's own limit).
    multilingual : {"auto", "never"}, default "auto"
        ``"auto"``: a pair in which either text is not English is scored with multilingual-e5-small, calibrated to
        the English model's scale (:mod:`gscp_match.text._crosslingual`); ``"never"``: the English model for all.

    Raises
    ------
    InputError
        Every bad option at once, one line each, naming the option and listing the valid values.

    Examples
    --------
    >>> ExpertModel().aggregation, ExpertModel.of(aggregation=None, unit="passage").unit
    ('topk', 'passage')
    >>> ExpertModel(normalize="rank")
    Traceback (most recent call last):
    ...
    gscp_match.errors.InputError: normalize: unknown 'rank'; valid: zscore, none
    """

    aggregation: str = "topk"
    unit: str = "document"
    bio: str = "document"
    normalize: str = "zscore"
    passage_tokens: int = 256
    multilingual: str = "auto"

    def __post_init__(self) -> None:
        from gscp_match.text._texts import BIO_MODES  # pandas: not needed to read a default

        problems = [
            choice_problem(name, getattr(self, name), valid)
            for name, valid in (
                ("aggregation", AGGREGATIONS),
                ("unit", UNITS),
                ("bio", BIO_MODES),
                ("normalize", NORMALIZATIONS),
                ("multilingual", MULTILINGUAL),
            )
            if not isinstance(getattr(self, name), str) or getattr(self, name) not in valid
        ]
        tokens = self.passage_tokens
        if isinstance(tokens, bool) or not isinstance(tokens, int | np.integer) or tokens < MIN_PASSAGE_TOKENS:
            problems.append(f"passage_tokens: expected an integer >= {MIN_PASSAGE_TOKENS}, got {tokens!r}")
        if problems:
            raise InputError(problems)
        object.__setattr__(self, "passage_tokens", int(tokens))

    @classmethod
    def of(cls, **given: Any) -> ExpertModel:
        """The record from keyword arguments in which None means "the default" (as :class:`gscp_match.Matcher`
        takes them)."""
        return cls(**{name: value for name, value in given.items() if value is not None})

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Each option's default, by name.

        >>> ExpertModel.defaults()["normalize"]
        'zscore'
        """
        return {field.name: field.default for field in fields(cls)}


def check_count(argument: str, value: object, least: int) -> int:
    """An integer option: a TypeError for another type (1.5, "5", True), an InputError below ``least``.

    >>> check_count("top_m", 5, 1)
    5
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{argument} must be an integer >= {least}, got {value!r} ({type(value).__name__})")
    if value < least:
        raise InputError(f"{argument} must be an integer >= {least}, got {value!r}")
    return int(value)
