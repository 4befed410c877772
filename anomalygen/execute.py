"""Where jobs run: in this process, on a local process pool, or on a Dask cluster.

Every backend yields results as jobs complete; callers never depend on the order, which is why
the output is identical whatever runs it. A run's maps share one pool or cluster (see
:meth:`Execution.start`), so worker processes keep the meshes they have prepared.

Dask runs jobs on worker threads rather than a process's main thread; what that requires is
explained in :mod:`anomalygen.dask_cluster`, which is imported only when Dask is asked for
(importing ``distributed`` takes over a second).
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Callable, Iterable, Iterator

MapJobs = Callable[..., Iterator]
"""``map_jobs(fn, *iterables)``: ``fn(*args)`` for every tuple of arguments, results yielded as they complete."""


class ExecutionUnavailable(Exception):
    """The pool or cluster the jobs should run on cannot be reached."""


@dataclass(frozen=True)
class Execution:
    workers: int = 1                 # local processes (1: run in this process)
    scheduler: str | None = None     # address of a running Dask scheduler, e.g. tcp://host:8786
    dask_local: int | None = None    # start a local Dask cluster of this many worker processes

    def __post_init__(self) -> None:
        if sum([self.workers > 1, self.scheduler is not None, self.dask_local is not None]) > 1:
            raise ValueError("choose one of workers > 1, scheduler and dask_local")

    @property
    def uses_dask(self) -> bool:
        return self.scheduler is not None or self.dask_local is not None

    @property
    def parallel(self) -> bool:
        return self.workers > 1 or self.uses_dask

    @contextmanager
    def start(self) -> Iterator[MapJobs]:
        """This execution's ``map_jobs``; its pool, cluster or connection lasts for the with block."""
        if self.uses_dask:
            from distributed import as_completed as dask_as_completed

            from anomalygen.dask_cluster import dask_client

            with dask_client(self.scheduler, self.dask_local) as client:
                # pure=False: every job is new work; no need to hash its arguments into a key
                yield partial(_map_futures, partial(client.submit, pure=False), dask_as_completed)
        elif self.workers > 1:
            with ProcessPoolExecutor(max_workers=self.workers) as pool:
                yield partial(_map_futures, pool.submit, as_completed)
        else:
            yield _map_here


def _map_here(fn: Callable, *iterables: Iterable) -> Iterator:
    for args in zip(*iterables):
        yield fn(*args)


def _map_futures(submit: Callable, completed: Callable, fn: Callable, *iterables: Iterable) -> Iterator:
    for future in completed([submit(fn, *args) for args in zip(*iterables)]):
        yield future.result()
