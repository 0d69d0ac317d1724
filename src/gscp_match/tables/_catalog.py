"""Bundled data: the Korean benchmark case catalog and the synthetic demo round.

The case catalog (``data/cases.csv``) is written from public facts (``shared/domain/korean_cases_facts.md``); it is
the default catalog when a user gives none. The demo roster, evidence and round (``data/demo/``) are synthetic:
fictional people from the seeded generator in :mod:`gscp_match.synthetic._generate`.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd

from gscp_match.tables._validate import read_table

__all__ = ["load_cases", "load_demo", "Demo", "data_path", "demo_paths"]


def data_path(name: str) -> Path:
    """Path of a bundled data file, e.g. ``data_path("cases.csv")``."""
    return Path(str(resources.files("gscp_match") / "data" / name))


def load_cases() -> pd.DataFrame:
    """The bundled Korean case catalog, validated.

    >>> cases = load_cases()
    >>> "kr-seoul-topis" in set(cases["case_id"])
    True
    """
    return read_table(data_path("cases.csv"), "cases")


def demo_paths() -> dict[str, Path]:
    """Paths of the demo files: ``experts``, ``evidence``, ``requests`` (synthetic)."""
    return {kind: data_path(f"demo/{kind}.csv") for kind in ("experts", "evidence", "requests")}


@dataclass(frozen=True, slots=True)
class Demo:
    """The synthetic demo: a roster, its evidence and one round of requests (validated tables)."""

    experts: pd.DataFrame
    evidence: pd.DataFrame
    requests: pd.DataFrame


def load_demo() -> Demo:
    """The bundled synthetic demo round.

    >>> demo = load_demo()
    >>> len(demo.experts), len(demo.requests)
    (200, 12)
    """
    paths = demo_paths()
    return Demo(
        experts=read_table(paths["experts"], "experts"),
        evidence=read_table(paths["evidence"], "evidence"),
        requests=read_table(paths["requests"], "requests"),
    )
