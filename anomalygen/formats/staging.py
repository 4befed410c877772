"""Write a whole output folder beside its place and rename it in, so a failed run leaves nothing."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Iterator

from anomalygen.outlock import LOCK_FILE, output_lock
from anomalygen.shards import MANIFEST, SHARD_DIR


def _is_dataset(folder: Path) -> bool:
    return (folder / MANIFEST).exists() or (folder / SHARD_DIR).exists()


def check_target(out_dir: Path, overwrite: bool) -> None:
    """Refuse a target that holds something: a dataset unless ``overwrite``, anything else always
    (replacing the whole folder must never swallow files that are no dataset)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"{out_dir}: exists and is not a folder")
    if not out_dir.is_dir() or all(entry.name == LOCK_FILE for entry in out_dir.iterdir()):
        return
    if not _is_dataset(out_dir):
        raise ValueError(f"{out_dir}: folder is not empty and holds no dataset; choose another folder")
    if not overwrite:
        raise ValueError(f"{out_dir}: already holds a dataset (pass --overwrite to replace it)")


@contextlib.contextmanager
def staged_folder(out_dir: Path, overwrite: bool) -> Iterator[Path]:
    """Yield a fresh temporary folder beside ``out_dir``; on success it replaces ``out_dir``
    (the old content removed only after the new one is in place), on any error it is deleted.
    ``out_dir``'s writer lock is held throughout (raises FolderLocked if a synth or another
    import holds it)."""
    out_dir = Path(os.path.abspath(out_dir))     # "." has no name to put a sibling beside
    check_target(out_dir, overwrite)
    existed = out_dir.exists()
    try:
        with output_lock(out_dir), _staged(out_dir) as stage:
            yield stage
    except BaseException:
        if not existed and out_dir.is_dir() and all(entry.name == LOCK_FILE for entry in out_dir.iterdir()):
            shutil.rmtree(out_dir)  # made only to hold the lock: a failed import leaves nothing
        raise


@contextlib.contextmanager
def _staged(out_dir: Path) -> Iterator[Path]:
    stage = out_dir.with_name(f".{out_dir.name}.{os.getpid()}.staging")
    old = out_dir.with_name(f".{out_dir.name}.{os.getpid()}.replaced")
    shutil.rmtree(stage, ignore_errors=True)   # a leftover of this same pid, never another run's
    stage.mkdir()
    try:
        yield stage
        if out_dir.exists():
            os.replace(out_dir, old)
        os.replace(stage, out_dir)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        if old.exists() and not out_dir.exists():   # failed between the two renames
            os.replace(old, out_dir)
        raise
    shutil.rmtree(old, ignore_errors=True)
