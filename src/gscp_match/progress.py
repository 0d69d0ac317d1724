"""Progress bars for long work (tqdm), off with ``enabled=False`` or ``GSCP_MATCH_QUIET=1``."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

__all__ = ["progress_bar", "quiet"]


class _Bar(Protocol):
    def update(self, n: int = 1) -> object: ...


class _NoBar:
    def update(self, n: int = 1) -> None:
        return None


def quiet() -> bool:
    """True when ``GSCP_MATCH_QUIET=1`` asks for no progress bars."""
    return os.environ.get("GSCP_MATCH_QUIET", "") == "1"


@contextmanager
def progress_bar(total: int, description: str, *, enabled: bool = True) -> Iterator[_Bar]:
    """A tqdm bar on stderr (or a silent stand-in when disabled or quiet)."""
    if not enabled or quiet():
        yield _NoBar()
        return
    with _tqdm()(total=total, desc=description, unit="", leave=False) as bar:
        yield bar


def _tqdm() -> type:
    """tqdm's notebook bar inside IPython when ipywidgets can draw it, else the plain one: ``tqdm.auto`` warns
    ("IProgress not found") in a notebook without ipywidgets, and its notebook check costs an import in a terminal."""
    if "IPython" in sys.modules:
        try:
            import ipywidgets  # noqa: F401
        except ImportError:
            pass
        else:
            from tqdm.auto import tqdm as notebook_or_plain

            return notebook_or_plain
    from tqdm.std import tqdm

    return tqdm
