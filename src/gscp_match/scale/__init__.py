"""Past one process: a persistent profile store (encode once, reuse) and scoring on Dask workers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gscp_match._lazy import attach

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from gscp_match.scale._dask import SCHEDULERS
    from gscp_match.scale._distributed import distributed_shortlist, store_shortlist
    from gscp_match.scale._store import ProfileStore, StoreError

__all__ = [
    "ProfileStore",
    "StoreError",
    "distributed_shortlist",
    "store_shortlist",
    "SCHEDULERS",
]

_EXPORTS = {
    "ProfileStore": "._store",
    "StoreError": "._store",
    "distributed_shortlist": "._distributed",
    "store_shortlist": "._distributed",
    "SCHEDULERS": "._dask",
}

__getattr__, __dir__ = attach(__name__, _EXPORTS)
