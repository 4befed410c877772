"""Atomic file writes: write a temporary file in the target's folder, then ``os.replace`` it.

A reader sees the old file or the new one, never half of one. The temporary is named
``.<name>.<pid>.tmp`` (:func:`temporary_path`), so a run can tell its own and live writers'
leftovers from those of dead ones (:func:`temporary_owner`), and it is removed when the
write fails or is interrupted.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

TMP_SUFFIX = ".tmp"


def temporary_path(path: str | Path) -> Path:
    """Where ``path`` is written before it is renamed into place: ``.<name>.<pid>.tmp`` beside it."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}{TMP_SUFFIX}")


def temporary_owner(tmp: str | Path) -> int | None:
    """The writer's pid in a name made by :func:`temporary_path` (None for any other name)."""
    name = Path(tmp).name
    pid = name[: -len(TMP_SUFFIX)].rsplit(".", 1)[-1] if name.endswith(TMP_SUFFIX) else ""
    return int(pid) if pid.isdigit() else None


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield the temporary path to write ``path``'s new content to; when the block ends without
    an exception it replaces ``path``. On any exception (or interruption) the temporary is
    deleted and ``path`` is left as it was. The folder must exist."""
    path = Path(path)
    tmp = temporary_path(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # after an error; already gone after the rename


def write_bytes(path: str | Path, data: bytes) -> None:
    """Replace ``path``'s content with ``data`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | Path, text: str) -> None:
    """Replace ``path``'s content with ``text`` (UTF-8) atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
