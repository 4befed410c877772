"""The command group, its error handling and the option helpers the commands share."""

from __future__ import annotations

import os
import signal
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Sequence

import click
from click.core import ParameterSource

from anomalygen import __version__
from anomalygen.execute import Execution, ExecutionConflict, ExecutionUnavailable


def _fail(message: str, code: int = 2) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@contextmanager
def _stoppable(kept: str = "finished shards"):
    """SIGTERM and Ctrl-C stop the run the same way (the pool's workers are stopped on the way
    out, see anomalygen.execute); exit status 128 + the signal's number."""
    def stop(signum, frame):
        raise KeyboardInterrupt(signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    except KeyboardInterrupt as interrupt:
        signum = interrupt.args[0] if interrupt.args else signal.SIGINT
        _fail(f"interrupted; run the same command again to finish ({kept} are kept)", 128 + signum)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _user_error(error: Exception) -> str | None:
    """The one-line message of an error the user caused, None for a bug (which keeps its traceback).

    The library raises ValueError for bad input (FileNotFoundError for missing input; a damaged
    shard's ShardError is one too); any OSError here is a file or folder the user named;
    FolderLocked: another run writes the output folder; RunConflict: it holds another recipe's
    run; ExecutionUnavailable: the Dask scheduler named does not answer.
    """
    from anomalygen.outlock import FolderLocked
    from anomalygen.pipeline import RunConflict

    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        return f"{error.filename}: {error.strerror}"
    if isinstance(error, (OSError, ValueError, FolderLocked, RunConflict, ExecutionUnavailable)):
        return str(error)
    return None


def _stderr(describe: Callable[[dict], str]) -> Callable[[dict], None]:
    """A progress callback printing the line ``describe(event)`` of each event on stderr."""
    return lambda event: click.echo(describe(event), err=True)


def _names(text: str | None) -> list[str] | None:
    """A comma-separated list option (None when not given)."""
    return [name.strip() for name in text.split(",") if name.strip()] if text else None


class _Registered(click.Choice):
    """A choice among the names of a registry, read when first needed (reading it may import torch)."""

    def __init__(self, names: Callable[[], Sequence[str]]):
        super().__init__(())
        self._names = names

    choices = property(lambda self: tuple(self._names()), lambda self, value: None)


def _detector_methods() -> list[str]:
    from anomalygen.detect.registry import registered_methods

    return registered_methods()


class _Commands(click.Group):
    """The command group: the one place where user errors become a line on stderr and exit 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except Exception as error:
            message = _user_error(error)
            if message is None:
                raise
            _fail(message)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="anomalygen")
def main() -> None:
    """Manufacture 3D anomaly-detection benchmarks from edited meshes.

    Start with `anomalygen synth recipes/anomaly_shapenet.yaml`, then `anomalygen inspect OUT`.
    """


def execution_options(*, cache: bool = True, workers: int | None = None, jobs_alias: bool = False):
    """--workers, --scheduler, --dask-local (and --cache-dir), shared by the commands that run jobs.
    ``workers``: the default of --workers (all CPUs); ``jobs_alias``: --jobs, its deprecated name."""
    def decorate(command):
        options = [
            click.option("--workers", *(["--jobs"] if jobs_alias else []), "workers", type=click.IntRange(min=1),
                         default=workers or os.cpu_count() or 1, show_default=True,
                         help="Local worker processes; the output is identical for any number"
                              + (" (--jobs: its old name, deprecated)." if jobs_alias else ".")),
            click.option("--scheduler", metavar="tcp://HOST:PORT",
                         help="Run the jobs on the Dask cluster of this scheduler. Its workers need anomalygen "
                              "installed and must see the folders named here at the same paths (a shared file "
                              "system); start them with one thread each (dask worker --nthreads 1)."),
            click.option("--dask-local", type=click.IntRange(min=1), metavar="N",
                         help="Start a local Dask cluster of N worker processes for the run (to try Dask out)."),
        ]
        if cache:
            options.append(click.option(
                "--cache-dir", type=click.Path(file_okay=False, path_type=Path),
                help="Where prepared meshes are cached (default: $ANOMALYGEN_CACHE or ~/.cache/anomalygen/prepared); "
                     "with --scheduler, a folder the workers share."))
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def chosen_execution(workers: int, scheduler: str | None, dask_local: int | None) -> Execution:
    """The Execution that --workers, --scheduler and --dask-local ask for (at most one of them)."""
    if click.get_current_context().get_parameter_source("workers") == ParameterSource.DEFAULT and (
            scheduler is not None or dask_local is not None):
        workers = 1                            # the default --workers gives way to a Dask option
    try:
        return Execution(workers, scheduler, dask_local)
    except ExecutionConflict as conflict:
        raise click.UsageError(str(ExecutionConflict(conflict.options, lambda name: "--" + name.replace("_", "-"))))
