"""Where jobs run: in this process or on a local process pool.

Both yield results as jobs complete; callers never depend on the order, which is why the
output is identical whatever runs it. Jobs always run on the main thread of their process:
run on a worker thread (as a Dask worker would), generation followed by HDF5 writing was seen
to corrupt the heap ("malloc_consolidate(): unaligned fastbin chunk detected"), so a
thread-based executor must not be added before that is understood.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator


@dataclass(frozen=True)
class Execution:
    workers: int = 1                 # local processes (1: run in this process)

    @property
    def parallel(self) -> bool:
        return self.workers > 1

    def map(self, fn: Callable, *iterables: Iterable) -> Iterator:
        """``fn(*args)`` for every tuple of arguments, results yielded as they complete."""
        calls = list(zip(*iterables))
        if self.workers <= 1:
            for args in calls:
                yield fn(*args)
        elif calls:
            with ProcessPoolExecutor(max_workers=self.workers) as pool:
                for future in as_completed([pool.submit(fn, *args) for args in calls]):
                    yield future.result()
