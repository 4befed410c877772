"""Recalibrate kept IMRNet models after a change to how maps are scored, without training again.

    python benchmarks/imrnet_recalibrate.py MODEL.pt --data DIR --class NAME [--out NEW.pt]

A fitted IMRNet ends its training by calibrating on its training clouds: the normal reference
and the statistics that z-score each level for the fusion (``IMRNet._calibrate``). A scoring
option added since a model was saved (``IMRNetConfig.BEFORE``: ``object_level``, ``smooth_k``)
loads with the value that reproduces the old scores; this script gives such a model the current
defaults of those options instead and recalibrates it on the same training clouds, since
``smooth_k`` changes the statistics but not the network. The result is the checkpoint a
training run of the current code would write (the weights do not depend on how maps are
scored). Used to rescore the kept models of a benchmark run (README, IMRNet).
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from anomalygen.detect.base import read_checkpoint
from anomalygen.detect.imrnet import IMRNet
from anomalygen.detect.imrnet.config import IMRNetConfig
from anomalygen.detect.pointops import torch_settings
from anomalygen.shards import open_dataset


def recalibrate(model: str | Path, data: str | Path, class_name: str, out: str | Path | None = None) -> Path:
    det = IMRNet.load(model)
    missing = set(IMRNetConfig.BEFORE) - set(read_checkpoint(model)["config"])
    det.config = dataclasses.replace(det.config, **{key: getattr(IMRNetConfig(), key) for key in missing})
    clouds = [s.points for s in open_dataset(data, classes=[class_name], split="train")]
    with torch_settings(det.config.threads, det.config.deterministic):
        det._calibrate([det._prepare(cloud) for cloud in clouds])
    det.info["stats"] = dict(det.stats)
    return det.save(out or model, data_digest=det.data_digest)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--data", required=True, help="the generated folder the model was trained on")
    parser.add_argument("--class", dest="class_name", required=True)
    parser.add_argument("--out", help="where to write the recalibrated checkpoint (default: over MODEL)")
    args = parser.parse_args()
    print(recalibrate(args.model, args.data, args.class_name, args.out))


if __name__ == "__main__":
    main()
