"""Weights files: the component weights as JSON, ``{"weights": {"semantic": 0.42, ...}}`` (or a flat mapping)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from gscp_match.core._scoring import Weights
from gscp_match.errors import InputError

__all__ = ["read_weights"]


def read_weights(path: str | os.PathLike[str]) -> Weights:
    """Weights from a JSON file ``{"weights": {"semantic": 0.5, ...}}`` (or a flat mapping); components not named
    get 0.

    Raises
    ------
    InputError
        Naming the file: not readable, not JSON, not a mapping of weights, an unknown component or a bad value.

    Examples
    --------
    >>> from importlib.resources import files
    >>> read_weights(files("gscp_match.models") / "default_weights.json") == Weights.default()
    True
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        values = data.get("weights", data) if isinstance(data, dict) else data
        if not isinstance(values, dict):
            raise ValueError(f"expected a JSON object of component weights, got {type(values).__name__}")
        return Weights.from_mapping(values)
    except OSError as exc:
        raise InputError(f"{Path(path).name}: cannot read the weights file ({exc.strerror or exc})") from exc
    except (ValueError, TypeError) as exc:  # json.JSONDecodeError is a ValueError
        raise InputError(f"{Path(path).name}: {exc}") from exc
