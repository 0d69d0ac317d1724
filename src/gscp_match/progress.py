"""Progress bars for long work (tqdm), off with ``enabled=False`` or ``GSCP_MATCH_QUIET=1``."""

from __future__ import annotations

import os
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
    from tqdm.auto import tqdm

    with tqdm(total=total, desc=description, unit="", leave=False) as bar:
        yield bar
