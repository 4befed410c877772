"""IMRNet ablations and probes on a validation benchmark: one training per class, many scoring variants.

    python benchmarks/imrnet_ablation.py --data /work/data/anomaly_shapenet_val \\
        --classes vase3,bowl0 [--set steps=600 --set query_noise=0.1 ...] [--score recon_k=1,8] [--smooth 1,16]
        [--models DIR] [--jobs 2] [--out FILE.json]

For every class: IMRNet is trained once (seed 0) with the default config plus ``--set``
overrides, then every test sample is scored under each scoring variant (every combination of
the ``--score`` values of scoring-only options), reusing the same model, and for each: passes T in ``--passes``, point level forward / backward / both (max),
level point / feature / fused (z-scores from the training clouds). Also reported, as the
probes of the diagnostics note: ``context`` (how far the masked predictions move, in RMS
units, when the visible patches are replaced by Gaussian noise; a patch radius is about 0.25),
``refine`` (how far each pass moves the reconstruction from the previous one) and ``nn-train``
(a non-learned reference: each test point's distance to the nearest training point).
Timings: training seconds and scoring seconds per sample at the configured T.

``--models DIR`` keeps each class's trained model as ``DIR/<class>.pt`` and, when it is there
already (trained with the same ``--set``), loads it instead of training again, so that scoring
sweeps do not retrain. ``--smooth`` sweeps a map post-process: every raw map (each level and
direction, training and test clouds alike) averaged over each point's k nearest points of its
own cloud (1: none), before z-scoring, fusion and the object score.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch
import yaml
from scipy.spatial import cKDTree

from anomalygen.detect.geometry import normalise
from anomalygen.detect.imrnet import IMRNet
from anomalygen.detect.imrnet.anomaly_map import smooth_maps, top_mean
from anomalygen.detect.imrnet.model import hidden_points
from anomalygen.detect.metrics import aupro, object_metrics, point_metrics
from anomalygen.shards import open_dataset



@torch.no_grad()
def probes(det: IMRNet, cloud: np.ndarray, passes: int) -> dict:
    """``context`` and ``refine`` probes on one (training) cloud."""
    prepared = det._prepare(cloud)
    full = torch.from_numpy(prepared[0])
    xyz = full[torch.from_numpy(det._gps(prepared[0], prepared[1]))]
    patches, centres, member = det._patches(xyz.unsqueeze(0))
    mask = det._mask_sets()[:1]
    hidden = hidden_points(member, mask, len(xyz))
    real = det.model(patches, centres, mask, hidden=hidden)
    noise = det.model(torch.randn(patches.shape, generator=torch.Generator().manual_seed(0)) * patches.std(),
                      centres, mask, hidden=hidden)
    done = det.reconstruct(patches[0], centres[0], member[0], passes)
    moves = [float((b.points - a.points).pow(2).sum(-1).mean().sqrt()) for a, b in zip(done, done[1:])]
    return {"context": float((real - noise).pow(2).sum(-1).mean().sqrt()),
            "patch_radius": float(patches.pow(2).sum(-1).sqrt().mean()), "refine": moves}


def score_variant(det: IMRNet, train: list, test: list, passes: list[int], prefix: str,
                  smooth: int = 1) -> dict[str, dict]:
    """Metrics of every (T, direction, level) reading of one scoring config, keyed "<prefix>T=.. dir level"."""
    c = det.config

    def point_maps(m: dict) -> dict:
        return {"forward": m["forward"], "backward": m["backward"], "both": np.maximum(m["forward"], m["backward"])}

    def maps_of(cloud: np.ndarray, **kw) -> dict:
        return {t: smooth_maps(cloud, m, smooth) for t, m in det.maps(cloud, passes, **kw).items()}

    # z-score statistics of every map, from the training clouds (as the detector calibrates)
    train_maps = [maps_of(cloud, leave_out=i) for i, cloud in enumerate(train)]
    stats = {}
    for t in passes:
        for key in ("forward", "backward", "both", "feature"):
            v = np.concatenate([point_maps(m[t])[key] if key != "feature" else m[t]["feature"] for m in train_maps])
            stats[t, key] = (float(v.mean()), float(v.std()) or 1.0)
    scored: dict[str, list] = {}
    for s in test:
        maps = maps_of(s.points)
        for t in passes:
            pm = point_maps(maps[t])
            zf = (maps[t]["feature"] - stats[t, "feature"][0]) / stats[t, "feature"][1]
            for direction, values in pm.items():
                zp = (values - stats[t, direction][0]) / stats[t, direction][1]
                for level, v in (("point", zp), ("feature", zf), ("fused", c.point_weight * zp + c.feature_weight * zf)):
                    if level == "feature" and direction != "both":
                        continue
                    scored.setdefault(f"{prefix}T={t} {direction} {level}", []).append(v)
    return {key: evaluate(test, maps, c.top_fraction, key.startswith(f"{prefix}T={c.iterations} both"))
            for key, maps in scored.items()}


def evaluate(test: list, maps: list, top_fraction: float, with_aupro: bool) -> dict:
    labels = [s.labels for s in test]
    row = object_metrics([s.object_label for s in test], [top_mean(m, top_fraction) for m in maps])
    row.update(point_metrics(labels, maps))
    if with_aupro:
        row["AUPRO"] = aupro(labels, maps, [s.points for s in test])
    kinds = {}
    for kind in sorted({s.kind for s in test} - {"normal"}):
        pick = [i for i, s in enumerate(test) if s.kind in ("normal", kind)]
        kinds[kind] = object_metrics([test[i].object_label for i in pick],
                                     [top_mean(maps[i], top_fraction) for i in pick])["I-AUROC"]
    row["per_type"] = kinds
    return row


def run_class(data: str, name: str, overrides: dict, passes: list[int], variants: list[dict],
              smooths: list[int] = (1,), models: str | None = None) -> dict:
    det = IMRNet(overrides)
    base = det.config
    train = [s.points for s in open_dataset(data, classes=[name], split="train")]
    test = list(open_dataset(data, classes=[name], split="test"))
    kept = Path(models) / f"{name}.pt" if models else None
    t0 = time.perf_counter()
    if kept is not None and kept.is_file():
        det = IMRNet.load(kept)
        if dataclasses.asdict(det.config) != dataclasses.asdict(base):
            raise SystemExit(f"{kept}: trained with another config than asked now; use another --models")
    else:
        det.fit(train, seed=0)
        if kept is not None:
            det.save(kept)
    train_seconds = time.perf_counter() - t0
    timed = test[:: max(1, len(test) // 4)]
    t0 = time.perf_counter()
    for s in timed:
        det.score(s.points)
    score_seconds = (time.perf_counter() - t0) / len(timed)
    results = {}
    for variant, smooth in itertools.product(variants, smooths):
        det.config = dataclasses.replace(base, **variant)
        prefix = "".join(f"{k}={v} " for k, v in variant.items()) + (f"smooth={smooth} " if len(smooths) > 1 else "")
        results.update(score_variant(det, train, test, passes, prefix, smooth))
    reference = cKDTree(np.concatenate([normalise(p)[0] for p in train]))
    results["nn-train"] = evaluate(test, [reference.query(normalise(s.points)[0])[0] for s in test], base.top_fraction,
                                   True)
    det.config = base
    return {"class": name, "train_seconds": train_seconds, "score_seconds": score_seconds,
            "val_loss": det.info["history"]["val_loss"], "probes": probes(det, train[0], max(passes)),
            "results": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--classes", required=True)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--score", action="append", default=[], metavar="KEY=V1,V2",
                        help="scoring-only option and the values to sweep (repeatable; every combination)")
    parser.add_argument("--passes", default="1,3,5")
    parser.add_argument("--smooth", default="1", help="map smoothing neighbourhoods to sweep, comma-separated (1: none)")
    parser.add_argument("--models", help="folder keeping each class's trained model (loaded when there)")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--out")
    args = parser.parse_args()
    overrides = {k: yaml.safe_load(v) for k, v in (item.split("=", 1) for item in args.set)}
    passes = [int(p) for p in args.passes.split(",")]
    sweeps = {k: [yaml.safe_load(v) for v in vs.split(",")] for k, vs in (item.split("=", 1) for item in args.score)}
    variants = [dict(zip(sweeps, values)) for values in itertools.product(*sweeps.values())]
    for variant in variants:                              # a bad value fails here, before any work
        IMRNet({**overrides, **variant})
    names = args.classes.split(",")
    n = len(names)
    with ProcessPoolExecutor(args.jobs) as pool:
        smooths = [int(k) for k in args.smooth.split(",")]
        if args.models:
            Path(args.models).mkdir(parents=True, exist_ok=True)
        rows = list(pool.map(run_class, [args.data] * n, names, [overrides] * n, [passes] * n, [variants] * n,
                             [smooths] * n, [args.models] * n))
    keys = list(rows[0]["results"])
    metrics = ("I-AUROC", "P-AUROC", "AUPRO")
    print(f"overrides {overrides}")
    print(f"{'variant':44s} " + " ".join(f"{m:>8s}" for m in metrics))
    for key in keys:
        means = [np.nanmean([r["results"][key][m] for r in rows]) for m in metrics]
        print(f"{key:44s} " + " ".join(f"{v:8.3f}" for v in means))
    for r in rows:
        p = r["probes"]
        print(f"{r['class']}: train {r['train_seconds']:.0f} s, score {r['score_seconds']:.2f} s/sample, "
              f"val loss {r['val_loss'][0]:.4f} -> {r['val_loss'][-1]:.4f}, context {p['context']:.3f} "
              f"(patch radius {p['patch_radius']:.3f}), refine {[round(m, 4) for m in p['refine']]}")
    if args.out:
        Path(args.out).write_text(json.dumps({"overrides": overrides, "variants": variants, "passes": passes,
                                              "classes": rows}, indent=1))


if __name__ == "__main__":
    sys.exit(main())
