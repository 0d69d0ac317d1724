"""Progress bars for long work (tqdm), off with ``enabled=False`` or ``GSCP_MATCH_QUIET=1``.

A command of the CLI shows **one** bar for its whole run (:func:`run_progress`): each step relabels it in words
("reading and checking the input files", "encoding texts: 73 of 500", "scoring experts", "staffing the round",
"writing the outputs"), and the library's own bars (:func:`progress_bar`) become steps of it instead of bars of
their own. Outside a run (a notebook, a script) each long step keeps its own bar.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol

__all__ = ["bars_unwelcome", "progress_bar", "quiet", "run_progress", "step"]


class _Bar(Protocol):
    def update(self, n: int = 1) -> object: ...


class _NoBar:
    def update(self, n: int = 1) -> None:
        return None


class _RunBar:
    """The one bar of a run: :meth:`step` relabels it, :meth:`update` counts within a step that has a total."""

    def __init__(self, bar: Any) -> None:
        self._bar = bar

    def step(self, words: str, total: int | None = None) -> None:
        self._bar.bar_format = "{desc}: {n_fmt} of {total_fmt} ({elapsed})" if total else "{desc} ({elapsed})"
        self._bar.set_description_str(words, refresh=False)
        self._bar.reset(total=total)

    def update(self, n: int = 1) -> None:
        self._bar.update(n)


_RUN: ContextVar[_RunBar | None] = ContextVar("gscp_match_run_bar", default=None)


@contextmanager
def run_progress(*, enabled: bool = True) -> Iterator[None]:
    """One bar on stderr for everything done inside (nothing when disabled, quiet, or where bars are unwelcome)."""
    tqdm = _tqdm() if enabled and not quiet() else None
    if tqdm is None:
        yield
        return
    with tqdm(total=None, desc="starting", unit="", leave=False, bar_format="{desc}") as bar:
        token = _RUN.set(_RunBar(bar))
        try:
            yield
        finally:
            _RUN.reset(token)


def step(words: str, total: int | None = None) -> None:
    """Name the step a run is at (a no-op outside :func:`run_progress`)."""
    run = _RUN.get()
    if run is not None:
        run.step(words, total)


def quiet() -> bool:
    """True when ``GSCP_MATCH_QUIET=1`` asks for no progress bars."""
    return os.environ.get("GSCP_MATCH_QUIET", "") == "1"


@contextmanager
def progress_bar(total: int, description: str, *, enabled: bool = True) -> Iterator[_Bar]:
    """A tqdm bar on stderr (or a silent stand-in when disabled or quiet); inside :func:`run_progress`, a step of
    the run's bar instead."""
    run = _RUN.get()
    if run is not None:
        run.step(description, total)
        yield run
        return
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
