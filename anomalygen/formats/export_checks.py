"""What every export checks before it writes: the source shards and the destination folder."""

from __future__ import annotations

from pathlib import Path

from anomalygen.formats.folders import check_sample_id
from anomalygen.shards import SHARD_DIR, Dataset, open_dataset


def open_source(src_dir) -> Dataset:
    """The shards to export, every sample id checked before anything is written."""
    dataset = open_dataset(src_dir)
    if len(dataset) == 0:
        raise ValueError(f"{src_dir}: no samples to export (no shards under {Path(src_dir) / SHARD_DIR})")
    for shard in dataset.shards:
        for sample_id in shard.sample_ids:
            check_sample_id(sample_id, shard.path)
    return dataset


def check_dest(dest: Path, overwrite: bool) -> None:
    """Refuse a DEST that is a file, or a folder with something in it unless ``overwrite``."""
    if dest.exists() and not dest.is_dir():
        raise ValueError(f"{dest}: exists and is not a folder")
    if dest.exists() and any(dest.iterdir()) and not overwrite:
        raise ValueError(f"{dest}: folder is not empty (pass --overwrite to write into it)")
