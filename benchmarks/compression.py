"""Shard compression: write time and size of every filter candidate on the same samples.

Reads the shards of a generated folder and writes each one again with every candidate (in
turn, shard by shard, so that a busy machine slows all of them alike); prints the CPU
seconds of writing (``write_shard``: the HDF5 file and its sha256), of reading it back, and
the total size. Every candidate is readable by plain h5py (no plugins)::

    python benchmarks/compression.py OUT_DIR [--candidates gzip1,gzip4,lzf]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from anomalygen import shards
from anomalygen.shards import open_dataset, write_shard

CANDIDATES = {"none": ("none", None), "lzf": ("lzf", None),
              **{f"gzip{level}": ("gzip", level) for level in range(1, 10)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="a generated folder (synth's output)")
    parser.add_argument("--candidates", default="gzip1,gzip2,gzip3,gzip4,lzf,none")
    parser.add_argument("--repeat", type=int, default=1, help="writes per shard and candidate (the fastest counts)")
    args = parser.parse_args()
    names = args.candidates.split(",")
    write, read, size = defaultdict(float), defaultdict(float), defaultdict(int)
    dataset = open_dataset(args.out_dir)
    points = 0
    default_level = shards.GZIP_LEVEL
    with tempfile.TemporaryDirectory() as tmp:
        for shard in dataset.shards:
            samples = list(shard)
            points += sum(len(s.points) for s in samples)
            for name in names:
                compression, level = CANDIDATES[name]
                shards.GZIP_LEVEL = level or default_level
                target = Path(tmp) / f"{name}.h5"
                best = float("inf")
                for _ in range(args.repeat):
                    started = time.process_time()
                    write_shard(target, samples, dict(shard.attrs), compression)
                    best = min(best, time.process_time() - started)
                write[name] += best
                size[name] += target.stat().st_size
                started = time.process_time()
                assert [s.checksum for s in open_dataset(target)] == shard.checksums
                read[name] += time.process_time() - started
    shards.GZIP_LEVEL = default_level
    print(f"{len(dataset.shards)} shards, {len(dataset)} samples, {points} points from {args.out_dir}")
    print(f"{'candidate':10s} {'write s':>8s} {'read s':>8s} {'MB':>8s} {'vs gzip4':>9s}")
    for name in names:
        ratio = f"{write[name] / write['gzip4']:.2f}x" if "gzip4" in write else ""
        print(f"{name:10s} {write[name]:8.2f} {read[name]:8.2f} {size[name] / 1e6:8.1f} {ratio:>9s}")


if __name__ == "__main__":
    main()
