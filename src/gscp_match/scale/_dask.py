"""Running work on Dask: the schedulers, the connection, mapping tasks, and models resident on workers.

The lowest module of :mod:`gscp_match.scale`: it knows Dask, not stores or scoring. :mod:`._store` runs its shard
jobs through :func:`run_encoding_jobs`; :mod:`._distributed` maps scoring shards with :func:`_map`.
Dask is optional (``pip install 'gscp_match[distributed]'``): it is imported only when a scheduler is used.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar, Union

from gscp_match.errors import InputError
from gscp_match.text._embed import Embedder, SentenceTransformerEmbedder

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["SCHEDULERS", "Scheduler", "check_scheduler", "run_encoding_jobs", "resident_embedders"]

log = logging.getLogger(__name__)

#: Scheduler names; any other string must be a scheduler address (``tcp://host:port``, ``host:port``).
SCHEDULERS: tuple[str, ...] = ("sync", "threads", "processes", "local")
Scheduler = Union[str, "Client"]
INSTALL_HINT = "pip install 'gscp_match[distributed]'"

_J = TypeVar("_J")
_R = TypeVar("_R")
_ADDRESS = re.compile(r"^([a-z][a-z0-9+.-]*://.+|[A-Za-z0-9_.-]+:\d+)$")


def _require(module: str) -> Any:
    """Import ``dask`` or ``distributed``, or raise an ImportError that names the extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"distributed scoring and encoding need Dask ({module!r} is missing): {INSTALL_HINT}"
        ) from exc


def check_scheduler(scheduler: object) -> None:
    """Raise unless ``scheduler`` is a valid choice and the Dask packages it needs import.

    Raises
    ------
    InputError
        An unknown name (the message lists the valid ones) or an object that is not a Client.
    ImportError
        Dask is missing; the message names ``pip install 'gscp_match[distributed]'``.

    Examples
    --------
    >>> check_scheduler("threads")
    >>> check_scheduler("thread")
    Traceback (most recent call last):
    ...
    gscp_match.errors.InputError: unknown scheduler 'thread'; valid: sync, threads, processes, local, ...
    """
    if isinstance(scheduler, str):
        if scheduler in ("sync", "threads", "processes"):
            _require("dask")
            return
        if scheduler == "local" or _ADDRESS.match(scheduler):
            _require("distributed")
            return
        raise InputError(
            f"unknown scheduler {scheduler!r}; valid: {', '.join(SCHEDULERS)}, a scheduler address "
            "(tcp://host:8786) or a dask.distributed.Client"
        )
    client_type = _require("distributed").Client
    if not isinstance(scheduler, client_type):
        raise InputError(
            f"scheduler must be one of {', '.join(SCHEDULERS)}, a scheduler address or a dask.distributed.Client; "
            f"got {type(scheduler).__name__}"
        )


@contextlib.contextmanager
def _connect(scheduler: Scheduler) -> Iterator[Client | None]:
    """A Client for ``local``, an address or a Client; None for the single-machine schedulers."""
    if isinstance(scheduler, str) and scheduler in ("sync", "threads", "processes"):
        _require("dask")
        yield None
        return
    if not isinstance(scheduler, str):
        yield scheduler
        return
    distributed = _require("distributed")
    if scheduler == "local":
        with _environ_kept():
            cluster = distributed.LocalCluster(
                threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=logging.WARNING
            )
        with cluster, distributed.Client(cluster) as client:
            yield client
        return
    with distributed.Client(scheduler) as client:
        yield client


@contextlib.contextmanager
def _environ_kept() -> Iterator[None]:
    """Undo the environment changes Dask makes while it spawns local workers.

    Dask sets ``OMP_NUM_THREADS=1`` (and the MKL / OpenBLAS equivalents) in this process's environment to pass them
    to its workers, and leaves them set: torch imported afterwards here would run on one thread.
    """
    saved = dict(os.environ)
    try:
        yield
    finally:
        for key in set(os.environ) - set(saved):
            del os.environ[key]
        os.environ.update(saved)


def _worker_slots(client: Client | None) -> int:
    if client is None:
        return os.cpu_count() or 1
    workers = client.scheduler_info().get("workers", {})
    return max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))


def _map(
    function: Callable[..., _R],
    items: Sequence[Any],
    *,
    scheduler: Scheduler,
    client: Client | None,
    shared: object = None,
) -> list[_R]:
    """``[function(item) for item in items]`` (``function(item, shared)`` when ``shared`` is given) on the
    scheduler; results in item order. With a Client, ``shared`` is sent once to each worker, not once per task."""
    extra: tuple[object, ...] = () if shared is None else (shared,)
    if client is None:
        dask = _require("dask")
        common = tuple(dask.delayed(x, traverse=False) for x in extra)
        tasks = [dask.delayed(function, pure=False)(item, *common) for item in items]
        options: dict[str, Any] = {"scheduler": scheduler}
        if scheduler == "processes":
            options.update(num_workers=min(len(items), os.cpu_count() or 1), chunksize=1)
        elif scheduler == "threads":
            options.update(num_workers=min(len(items), os.cpu_count() or 1))
        return list(dask.compute(*tasks, **options))
    # Scatter first, so large items travel once and the graph stays small.
    futures = client.scatter(list(items), hash=False)
    common_futures = [client.scatter(x, broadcast=True, hash=False) for x in extra]
    columns = [[f] * len(futures) for f in common_futures]
    return list(client.gather(client.map(function, futures, *columns, pure=False)))


# ---------------------------------------------------------------------------------------------------------------
# Encoding.

# The embedders a worker process holds, by name: the first one a task brings stays, with its model loaded once.
_RESIDENT: dict[str, Embedder] = {}
_RESIDENT_REGISTRATIONS: dict[str, int] = {}
_RESIDENT_LOCK = threading.Lock()


def _resident_embedder(embedder: Embedder) -> Embedder:
    """The process's embedder with this name (registering ``embedder`` on first use)."""
    with _RESIDENT_LOCK:
        held = _RESIDENT.get(embedder.name)
        if held is None:
            _RESIDENT[embedder.name] = held = embedder
            _RESIDENT_REGISTRATIONS[embedder.name] = _RESIDENT_REGISTRATIONS.get(embedder.name, 0) + 1
        return held


def resident_embedders() -> dict[str, int]:
    """Names of the embedders held by this process and how often each was registered (1 = loaded once).

    Run it on workers with ``client.run(resident_embedders)`` to check that each loaded its model once.

    >>> isinstance(resident_embedders(), dict)
    True
    """
    with _RESIDENT_LOCK:
        return dict(_RESIDENT_REGISTRATIONS)


def _portable(embedder: Embedder) -> Embedder:
    """A copy that pickles without its loaded model (the worker loads its own copy once)."""
    return embedder.without_model() if isinstance(embedder, SentenceTransformerEmbedder) else embedder


def _on_worker(job: _J, *, build: Callable[[_J, Embedder], _R], embedder: Embedder) -> _R:
    return build(job, _resident_embedder(embedder))


def _here(job: _J, *, build: Callable[[_J, Embedder], _R], embedder: Embedder) -> _R:
    return build(job, embedder)


def run_encoding_jobs(
    build: Callable[[_J, Embedder], _R], jobs: Sequence[_J], embedder: Embedder, *, scheduler: Scheduler
) -> list[_R]:
    """``[build(job, embedder) for job in jobs]`` on Dask workers, each worker process loading the model once.

    The profile store runs its shard jobs through this (``build`` writes one shard: it encodes the shard's new or
    changed profiles and writes the file); this module knows nothing of stores.

    Parameters
    ----------
    build : callable
        ``build(job, embedder) -> result``, a module-level function (it is pickled by reference).
    jobs : sequence
        Work items with a ``planned`` attribute (true when the job has texts to encode).
    embedder : Embedder
        Sent to the workers without its loaded model; each worker process loads it once and keeps it.
    scheduler : str or dask.distributed.Client
        As in :func:`gscp_match.scale.distributed_shortlist`. With ``"threads"`` or ``"sync"`` the embedder is
        shared in-process.

    Returns
    -------
    list
        In job order.
    """
    check_scheduler(scheduler)
    if not jobs:
        return []
    with _connect(scheduler) as client:
        if client is None and scheduler in ("sync", "threads"):
            if scheduler == "threads" and len(jobs) > 1 and any(getattr(job, "planned", True) for job in jobs):
                embedder.count_tokens(["warm up"])  # load the model once, before threads race to load it
            return _map(partial(_here, build=build, embedder=embedder), list(jobs), scheduler=scheduler, client=None)
        remote = partial(_on_worker, build=build, embedder=_portable(embedder))
        return _map(remote, list(jobs), scheduler=scheduler, client=client)
