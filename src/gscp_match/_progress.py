"""Progress bars for long work (tqdm), off with ``enabled=False`` or ``GSCP_MATCH_QUIET=1``."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

__all__ = ["bars_unwelcome", "progress_bar", "quiet"]


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
    tqdm = _tqdm()
    if tqdm is None:
        yield _NoBar()
        return

    with tqdm(total=total, desc=description, unit="", leave=False) as bar:
        yield bar


def bars_unwelcome() -> bool:
    """True in a Jupyter kernel without ipywidgets: tqdm (ours, transformers', sentence-transformers') would warn
    "IProgress not found" (a red TqdmWarning) and draw a text bar on the notebook's stderr."""

    if "ipykernel" not in sys.modules:
        return False
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return True
    return False


def _tqdm():
    """tqdm's class for where we run: the widget bar in a notebook with ipywidgets, none in one without
    (:func:`bars_unwelcome`), the text bar elsewhere."""

    if bars_unwelcome():
        return None
    if "ipykernel" in sys.modules:
        from tqdm.notebook import tqdm as notebook_tqdm

        return notebook_tqdm
    from tqdm.std import tqdm as text_tqdm

    return text_tqdm
