"""Where jobs run: in this process, on a local process pool, or on a Dask cluster.

Every backend yields results as jobs complete; callers never depend on the order, which is why
the output is identical whatever runs it. A run's maps share one pool or cluster (see
:meth:`Execution.start`), so worker processes keep the meshes they have prepared. Jobs are
taken from their (possibly endless) iterables a few at a time, so memory stays bounded.

Pool workers belong to their run: an interruption (Ctrl-C, SIGTERM, an error) of the process
that started them stops them mid-job, and a worker whose parent died (SIGKILL) exits, by the
kernel's parent-death signal on Linux and by :func:`exit_if_orphaned` everywhere.

Dask runs jobs on worker threads rather than a process's main thread; what that requires is
explained in :mod:`anomalygen.dask_cluster`, which is imported only when Dask is asked for
(importing ``distributed`` takes over a second).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from itertools import islice
from typing import Callable, Iterable, Iterator

MapJobs = Callable[..., Iterator]
"""``map_jobs(fn, *iterables)``: ``fn(*args)`` for every tuple of arguments, results yielded as they complete."""


class ExecutionUnavailable(Exception):
    """The pool or cluster the jobs should run on cannot be reached."""


class ExecutionConflict(ValueError):
    """More than one way of running the jobs was asked for; ``options`` names them (as fields of
    :class:`Execution`, or as ``spell`` writes them, e.g. as command-line flags)."""

    def __init__(self, options: Iterable[str], spell: Callable[[str], str] = str):
        self.options = tuple(options)
        super().__init__(f"{' and '.join(map(spell, self.options))} exclude each other: jobs run on local processes, "
                         f"an existing Dask cluster or a local Dask cluster")


@dataclass(frozen=True)
class Execution:
    workers: int = 1                 # local processes (1: run in this process)
    scheduler: str | None = None     # address of a running Dask scheduler, e.g. tcp://host:8786
    dask_local: int | None = None    # start a local Dask cluster of this many worker processes
    start_method: str | None = None  # how pool workers start (multiprocessing): None for the platform's
                                     # default, "spawn" for fresh interpreters (jobs using torch,
                                     # which a forked child of a process that ran it can deadlock in)

    def __post_init__(self) -> None:
        chosen = [name for name, given in [("workers", self.workers > 1), ("scheduler", self.scheduler is not None),
                                           ("dask_local", self.dask_local is not None)] if given]
        if len(chosen) > 1:
            raise ExecutionConflict(chosen)

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
            from distributed import wait as dask_wait

            from anomalygen.dask_cluster import SchedulerUnreachable, dask_client

            with ExitStack() as stack:
                try:
                    client = stack.enter_context(dask_client(self.scheduler, self.dask_local))
                except SchedulerUnreachable as error:
                    raise ExecutionUnavailable(str(error)) from error
                # pure=False: every job is new work; no need to hash its arguments into a key
                window = 4 * max(sum(client.nthreads().values()), 1)
                yield partial(_map_futures, partial(client.submit, pure=False),
                              partial(dask_wait, return_when="FIRST_COMPLETED"), window)
        elif self.workers > 1:
            context = multiprocessing.get_context(self.start_method)
            pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context, initializer=_start_worker,
                                       initargs=(os.getpid(),))
            try:
                yield partial(_map_futures, pool.submit, partial(wait, return_when=FIRST_COMPLETED), 4 * self.workers)
            except BaseException:
                _stop(pool)
                raise
            pool.shutdown()
        else:
            yield _map_here


def _map_here(fn: Callable, *iterables: Iterable) -> Iterator:
    for args in zip(*iterables):
        yield fn(*args)


def _map_futures(submit: Callable, wait_first: Callable, window: int, fn: Callable, *iterables: Iterable) -> Iterator:
    """At most ``window`` jobs submitted at a time; ``wait_first(futures)`` -> (done, not done)."""
    jobs = zip(*iterables)
    running = {submit(fn, *args) for args in islice(jobs, window)}
    while running:
        done, running = wait_first(running)
        running = set(running) | {submit(fn, *args) for args in islice(jobs, len(done))}
        for future in done:
            yield future.result()


_PARENT: int | None = None   # in a pool worker: the pid of the process that started the pool


def _start_worker(parent: int) -> None:
    """Pool worker initializer: Ctrl-C is the parent's to handle (it stops the pool), and the
    worker dies with its parent."""
    global _PARENT
    _PARENT = parent
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform == "linux":
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    exit_if_orphaned()  # the parent may have died before prctl took effect


def exit_if_orphaned() -> None:
    """In a pool worker whose parent has died: exit at once, writing nothing more. Jobs call it
    before each step that writes (the parent-death signal does not exist on every system)."""
    if _PARENT is not None and os.getppid() != _PARENT:
        os._exit(1)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel the jobs not started and terminate the workers mid-job (a shard is renamed into
    place only when complete, and the next run removes their temporary files). Before Python
    3.14 (``terminate_workers``) only the pool's private ``_processes`` lists its workers."""
    workers = list((pool._processes or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in workers:
        process.terminate()
    for process in workers:
        process.join()
