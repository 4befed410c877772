"""The Dask backend of :class:`anomalygen.execute.Execution`: a client of a running scheduler,
or of a local cluster started for the run.

A Dask worker runs jobs on a worker thread, and pymeshlab must not be *imported* on a thread
that ends before the process (found with valgrind). Importing it makes its bundled Qt adopt the
importing thread; Qt frees that thread's data when the thread ends, and at process exit
pymeshlab's plugin manager still decrements a reference count inside the freed block. That
write corrupts malloc's free lists, and glibc aborts in a later exit handler
("malloc_consolidate(): unaligned fastbin chunk detected", in HDF5's when h5py wrote on that
thread). With the import done on the main thread, every ci_small job runs cleanly on a worker
thread, and valgrind finds nothing wrong with pymeshlab's filters run there. So every worker
imports it on its main thread: a worker plugin's ``setup`` runs on the worker's event loop,
which is the main thread of a worker process.

Workers read the recipe's sources and write shards and prepared meshes at the paths the client
gives them, so on a remote cluster the output and cache folders must be on a file system every
worker sees at the same path.
"""

from __future__ import annotations

from contextlib import ExitStack, contextmanager
from typing import Iterator

from distributed import Client, LocalCluster, WorkerPlugin


class SchedulerUnreachable(ConnectionError):
    """No Dask scheduler answers at the address given (:class:`anomalygen.execute.Execution`
    reports it as ExecutionUnavailable; this module imports nothing of anomalygen)."""


class ImportPymeshlabOnMainThread(WorkerPlugin):
    name = "anomalygen-import-pymeshlab"    # one per worker, however many runs register it

    def setup(self, worker) -> None:
        import pymeshlab  # noqa: F401  (the import is the point, see the module docstring)


@contextmanager
def dask_client(scheduler: str | None, n_local: int | None) -> Iterator[Client]:
    """A client of ``scheduler``, or else of a new local cluster of ``n_local`` worker processes."""
    with ExitStack() as stack:
        if scheduler is None:
            # one thread per process: the jobs mostly hold the GIL, so processes run them side by side
            cluster = LocalCluster(n_workers=n_local, threads_per_worker=1, processes=True, dashboard_address=None)
            scheduler = stack.enter_context(cluster).scheduler_address
        try:
            client = stack.enter_context(Client(scheduler))
        except OSError as error:
            raise SchedulerUnreachable(f"cannot reach the Dask scheduler at {scheduler}: {error}") from error
        client.register_plugin(ImportPymeshlabOnMainThread())
        yield client
