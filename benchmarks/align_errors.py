"""How well ``align: template`` puts posed test scans back in the training pose, per class.

Registers every test scan of a generated folder to its class's first training cloud, as a
detector with ``align: template`` does, and compares with the pose the shard records: the
rotation angle of ``T @ pose`` (T: the registration, pose: canonical -> stored) is 0 when the
scan is put back exactly. An object with a half-turn symmetry may come back turned by 180
degrees, which a detector cannot tell from the right answer; that count is printed apart.

    python benchmarks/align_errors.py DATA [--classes a,b] [--seed 0]
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from anomalygen.detect.align import TemplateAligner, register_to
from anomalygen.shards import open_dataset


def rotation_errors(data: str, class_name: str, seed: int = 0) -> np.ndarray:
    """(T,) degrees: each test scan's registration error against its recorded pose."""
    aligner = TemplateAligner("template")
    aligner.fit([next(iter(open_dataset(data, classes=[class_name], split="train"))).points], seed)
    errors = []
    for sample in open_dataset(data, classes=[class_name], split="test"):
        back = register_to(sample.points, aligner.template, seed) @ sample.pose
        errors.append(math.degrees(math.acos(np.clip((np.trace(back[:3, :3]) - 1) / 2, -1, 1))))
    return np.asarray(errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("--classes", help="comma-separated (default: every class)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    names = args.classes.split(",") if args.classes else open_dataset(args.data, split="test").class_names
    for name in names:
        err = rotation_errors(args.data, name, args.seed)
        half_turn = np.minimum(err, 180 - err)
        print(f"{name}: {len(err)} scans, median {np.median(err):.2f} deg, within 2 deg {(err < 2).sum()}, "
              f"within 5 deg {(err < 5).sum()}, within 5 deg of a half turn {((err >= 5) & (half_turn < 5)).sum()}, "
              f"worst {err.max():.1f} deg")


if __name__ == "__main__":
    main()
