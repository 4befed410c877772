"""One writer per output folder: an flock on ``<folder>/.anomalygen.lock``, held while a run
(synth, import) writes there.

A second run into the same folder would delete the first one's temporary files and overwrite
its manifest; instead it gets :class:`FolderLocked`, naming the holder (pid, host, command) that
the lock file records. The kernel releases an flock when its holder dies, so a killed run never
leaves the folder locked. The lock file itself stays (removing it would let a waiting run and a
new one lock two different files).
"""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import socket
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

LOCK_FILE = ".anomalygen.lock"

_held: set[int] = set()   # descriptors of the locks this process holds


def _close_inherited() -> None:
    # a forked child (a pool worker) shares the parent's lock; closing its copy keeps the lock
    # the parent's alone, so it is released when the parent dies, not when the last worker does
    for fd in _held:
        os.close(fd)
    _held.clear()


os.register_at_fork(after_in_child=_close_inherited)


class FolderLocked(Exception):
    """Another live run writes into the folder; ``str`` is one line naming it."""


@contextmanager
def output_lock(folder: str | Path) -> Iterator[Path]:
    """Hold the folder's lock for the with block (creating the folder); yields the folder.
    Raises :class:`FolderLocked` at once if another run holds it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _describe(os.read(fd, 1 << 16))
        os.close(fd)
        raise FolderLocked(f"{folder} is being written by another run ({holder}); "
                           f"wait for it to finish or write elsewhere") from None
    _held.add(fd)
    try:
        os.ftruncate(fd, 0)
        record = {"pid": os.getpid(), "host": socket.gethostname(), "command": shlex.join(sys.argv)}
        os.pwrite(fd, json.dumps(record).encode(), 0)
        yield folder
    finally:
        os.ftruncate(fd, 0)  # the holder's record is stale from here on
        _held.discard(fd)
        os.close(fd)         # releases the lock


def _describe(data: bytes) -> str:
    try:
        record = json.loads(data)
        return f"pid {record['pid']} on {record['host']}: {record['command']}"
    except (ValueError, KeyError, TypeError):  # the holder has not written its record yet
        return "holder not recorded yet"
