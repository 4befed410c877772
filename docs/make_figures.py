"""Write the documentation figures.

docs/procedural_classes.png  ``contact``: a contact sheet of the 52 Anomaly-ShapeNet classes (both
                             releases) as built by the procedural shape library
                             (``anomalygen.shapes.procedural``).
docs/anomaly_types.png       ``types``: one row per registered anomaly operator: the labelled
                             sample, then close-ups around the defect of the original mesh, the
                             edited mesh and the labelled point cloud.
docs/sample_<type>.png       ``samples``: :func:`anomalygen.render.render_sample` of one bulge,
                             hole and break sample.
docs/watertight.png          ``watertight``: open, single-sheet real meshes from ../shared/data
                             before and after preparation with ``source.watertight: auto``.
docs/real_mesh_operators.png ``real``: every operator once on a real mesh made watertight.
docs/scan_views.png          ``scan``: a bulge complete and as a partial, posed scan (real3d_like's
                             test sensor) with its viewpoint.

Run: ``python docs/make_figures.py [contact|types|samples]`` (from anywhere; writes next to
this file; no argument writes all). ``types`` and ``samples`` first generate a small dataset
(~15 s) with the public CLI into ``$TMPDIR/anomalygen_docs_figures``, afresh each run so that
the pictures show the operators as they are now.
"""

from __future__ import annotations

import functools
import math
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

import anomalygen  # noqa: E402
from anomalygen.ops import OPERATORS  # noqa: E402
from anomalygen.mesh_ply import sample_mesh  # noqa: E402
from anomalygen.drawing import frame_2d, project  # noqa: E402
from anomalygen.render import (SAMPLE_DPI, View, anomaly_closeup, anomaly_direction, draw_mesh,  # noqa: E402
                               draw_points, label_colors, point_spacing, render_sample, sample_views, save)
from contact_sheets import contact_sheet  # noqa: E402  (beside this script)
from anomalygen.shapes.procedural import REGISTRY, build  # noqa: E402

# looking down a little (30 degrees) shows that vessels are hollow
VIEW = View(elev=30.0, azim=-60.0)

FIGURE_CLASSES = ("vase3", "helmet0", "tap0", "bucket0", "cup0")
"""Classes of the figure dataset; each anomaly type is shown on the first class that has it."""
SAMPLE_FIGURES = ("bulge", "hole", "broken")
"""Tokens of the samples written as docs/sample_<token>.png."""
TYPE_CLASS = {"bending": "bucket0", "bulge": "bucket0", "concavity": "cup0"}
"""The class a type is shown on where the first class does not show it well: a bent bucket
handle reads better than a bent helmet brim, and vase3's bulge of seed 11 lies on the inside
of the vase, hidden from every outside view."""
TYPE_CLOSEUP = {"crack": {"max_radius": 0.18}, "scratch": {"max_radius": 0.2},
                "bulge": {"tilt": 65.0}, "concavity": {"tilt": 65.0}}
"""Keyword arguments of :func:`anomaly_closeup` by type: a crack is a thin fissure, seen
closer than the others; a bump or dent reads best near profile, in the outline."""


def canonical_classes() -> list[tuple[str, int]]:
    """The 52 (kind, variant) pairs of Anomaly-ShapeNet's two releases, in class-name order."""
    return [(kind, v) for kind in REGISTRY for v in sorted(REGISTRY[kind].presets)]


def procedural_classes(path: Path = DOCS / "procedural_classes.png") -> Path:
    """Build the 52 classes and write their contact sheet to ``path``."""
    meshes = {}
    for kind, variant in canonical_classes():
        start = time.perf_counter()
        meshes[f"{kind}{variant}"] = mesh = build(kind, variant)
        print(f"{kind}{variant:<3d} {len(mesh.faces):6d} faces "
              f"{1000 * (time.perf_counter() - start):6.0f} ms")
    return contact_sheet(meshes, path, columns=8, view=VIEW)


# --------------------------------------------------------------------------- figure dataset

def figure_recipe() -> dict:
    """A small recipe: 1 normal and 1 sample of every registered operator per class, meshes kept."""
    return {
        "name": "docs_figures",
        "version": 1,
        "seed": 11,
        "source": {"kind": "procedural", "remesh_edge": 0.025},
        "points": {"count": 20000, "label_threshold": 0.004},
        "anomalies": {"per_sample": 1, "anomalous_fraction": [0.01, 0.1], "max_attempts": 12},
        "splits": {"train": 0, "test": {"normal": 1, **{name: 1 for name in OPERATORS}}},
        "classes": {name: None for name in FIGURE_CLASSES},
        "output": {"dir": "out/docs_figures", "shard_size": 16, "compression": "gzip",
                   "keep_meshes": True},
    }


def figure_dataset(out: Path | None = None, recipe_data: dict | None = None) -> Path:
    """Generate the figure dataset (or ``recipe_data``'s) afresh with ``anomalygen synth``; returns its folder.

    (A resumed run would keep samples made by older versions of the operators.)
    """
    out = out or Path(tempfile.gettempdir()) / "anomalygen_docs_figures"
    shutil.rmtree(out, ignore_errors=True)
    recipe = out.with_name(out.name + ".yaml")
    recipe.write_text(yaml.safe_dump(recipe_data or figure_recipe(), sort_keys=False))
    command = [str(Path(sys.executable).with_name("anomalygen")), "synth", str(recipe),
               "--out", str(out), "--workers", "2", "--quiet",
               "--cache-dir", str(Path.home() / ".cache/anomalygen/prepared")]
    if not Path(command[0]).exists():
        command[:1] = [sys.executable, "-m", "anomalygen.cli"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"anomalygen synth failed ({done.returncode}):\n{done.stderr}")
    return out


@functools.lru_cache(maxsize=None)
def shared_dataset() -> Path:
    """The figure dataset, generated once per run of this script."""
    return figure_dataset()


def figure_samples(data: Path) -> dict[tuple[str, str], anomalygen.shards.Sample]:
    """(class, kind) -> the first test sample of that kind and class of the figure dataset."""
    found: dict[tuple[str, str], anomalygen.shards.Sample] = {}
    for sample in anomalygen.open_dataset(data, classes=list(FIGURE_CLASSES), split="test"):
        found.setdefault((sample.class_name, sample.kind), sample)
    return found


def pick(samples: dict, kind: str) -> anomalygen.shards.Sample | None:
    """The sample shown for ``kind``: of TYPE_CLASS[kind] if any, else of the first class
    (in FIGURE_CLASSES order) that has one."""
    preferred = [TYPE_CLASS[kind]] if kind in TYPE_CLASS else []
    for name in preferred + list(FIGURE_CLASSES):
        if (name, kind) in samples:
            return samples[name, kind]
    return None


# --------------------------------------------------------------------------- figures

def describe_params(params: dict, limit: int = 3) -> str:
    """The first ``limit`` scalar parameters of an anomaly, e.g. 'radius 0.31, height 0.06'."""
    scalars = [(k, v) for k, v in params.items()
               if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "area_scale"]
    return ", ".join(f"{k} {v:.3g}" for k, v in scalars[:limit])


COLUMNS = ("labelled sample", "original mesh, close-up", "edited mesh, close-up",
           "labelled points, close-up")


def type_row(fig, row: int, rows: int, sample, reference, label_inches: float,
             tile_inches: float) -> None:
    """One row of anomaly_types.png: a caption and the :data:`COLUMNS` tiles.

    ``reference`` is the normal sample of the same class: its mesh is the unedited one.
    """
    width, height = fig.get_size_inches()
    mask = sample.anomaly_index > 0
    view, window = anomaly_closeup(sample, **TYPE_CLOSEUP.get(sample.kind, {}))
    overview = sample_views(sample, views=1)[0][1]
    spacing = point_spacing(sample.points)
    colors = label_colors(sample.anomaly_index)
    bottom = (rows - row - 1) * tile_inches / height
    for column, caption in enumerate(COLUMNS):
        ax = fig.add_axes(((label_inches + column * tile_inches) / width, bottom,
                           tile_inches / width, tile_inches / height))
        if column == 0:
            draw_points(ax, sample.points, sample.normals, colors, overview, spacing=spacing,
                        emphasis=mask)
        elif column == 3:
            draw_points(ax, sample.points, sample.normals, colors, view, spacing=spacing,
                        window=window, emphasis=mask)
        else:
            mesh = sample_mesh(reference if column == 1 else sample)
            if mesh is not None:
                draw_mesh(ax, mesh, view, window=window)
        if row == 0:
            ax.set_title(caption, fontsize=11)
    fig.text(0.1 / width, bottom + tile_inches / 2 / height,
             f"{sample.kind}\n\n{sample.sample_id}\n{describe_params(sample.params[0], 2)}\n"
             f"{100 * sample.anomalous_fraction:.1f}% of points labelled",
             fontsize=9, va="center", linespacing=1.4)


def anomaly_types(path: Path = DOCS / "anomaly_types.png", data: Path | None = None,
                  tile_inches: float = 2.4, label_inches: float = 2.1) -> Path:
    """One row per registered anomaly type present in the figure dataset (see :func:`pick`)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    samples = figure_samples(data or shared_dataset())
    chosen = {kind: pick(samples, kind) for kind in OPERATORS}
    missing = [kind for kind, sample in chosen.items() if sample is None]
    if missing:
        print(f"no sample of {', '.join(missing)} in the figure dataset: not shown")
    rows = [(kind, sample) for kind, sample in chosen.items() if sample is not None]
    fig = Figure(figsize=(label_inches + len(COLUMNS) * tile_inches, len(rows) * tile_inches + 0.3))
    FigureCanvasAgg(fig)
    for row, (kind, sample) in enumerate(rows):
        start = time.perf_counter()
        type_row(fig, row, len(rows), sample, samples.get((sample.class_name, "normal")),
                 label_inches, tile_inches)
        print(f"{kind:<10s} {sample.sample_id:<24s} {time.perf_counter() - start:5.2f} s")
    return save(fig, path, dpi=SAMPLE_DPI)


def sample_pictures(data: Path | None = None, tokens=SAMPLE_FIGURES) -> list[Path]:
    """docs/sample_<token>.png: render_sample of the first sample of each anomaly token."""
    tokens_to_kind = {op.token: name for name, op in OPERATORS.items()}
    samples = figure_samples(data or shared_dataset())
    written = []
    for token in tokens:
        sample = pick(samples, tokens_to_kind[token])
        start = time.perf_counter()
        written.append(render_sample(sample, DOCS / f"sample_{token}.png"))
        print(f"{sample.sample_id:<24s} {time.perf_counter() - start:5.2f} s")
    return written


WATERTIGHT_MESHES = ("odedstein/cube_no_bottom.obj", "trimesh-models/chair_model.obj")
"""Open meshes with single-sheet walls from ../shared/data/meshes, shown before and after."""
WATERTIGHT_EDGE = 0.025


def _shared_mesh(name: str):
    from anomalygen.shapes.load import load_mesh

    path = ROOT.parent / "shared" / "data" / "meshes" / name
    if not path.is_file():
        raise SystemExit(f"{path} is missing: the watertight figures need ../shared/data")
    return load_mesh(path)


def watertight(path: Path = DOCS / "watertight.png") -> Path:
    """Each mesh of WATERTIGHT_MESHES prepared plainly (open) and with watertight: auto, from below."""
    from anomalygen.shapes.prepare import prepare_mesh

    tiles = {}
    for name in WATERTIGHT_MESHES:
        raw, short = _shared_mesh(name), Path(name).stem
        tiles[f"{short}: before"] = prepare_mesh(raw, WATERTIGHT_EDGE, "never")
        after = prepare_mesh(raw, WATERTIGHT_EDGE, "auto")
        report = after.metadata["preparation"]
        tiles[f"after (H={report['hausdorff']:.3f})"] = after
    return contact_sheet(tiles, path, columns=4, view=View(elev=-35.0, azim=-60.0), tile_inches=2.6)


def real_mesh_operators(path: Path = DOCS / "real_mesh_operators.png", name: str = WATERTIGHT_MESHES[1]) -> Path:
    """One edit by every operator on a real mesh prepared with watertight: auto (first seed that works)."""
    import numpy as np

    from anomalygen.ops.base import OperatorNotApplicable, area_scale
    from anomalygen.shapes.prepare import prepare_mesh

    base = prepare_mesh(_shared_mesh(name), WATERTIGHT_EDGE, "auto")
    tiles = {"prepared": base}
    for op_name, op in OPERATORS.items():
        for seed in range(20):
            rng = np.random.default_rng(seed)
            try:
                tiles[op_name] = op.apply(base, op.absolute(op.draw(op.default_ranges(), rng), area_scale(base)), rng).mesh
                break
            except OperatorNotApplicable:
                continue
    return contact_sheet(tiles, path, columns=4, view=VIEW, tile_inches=2.6)


SCAN_SENSOR = {"test": {"pose": {"rotation": "any", "translation": 0.05},
                        "scan": {"placement": "single", "elevation": 30, "oversample": 12},
                        "noise": {"range_std": 0.0005, "outliers": 0.001}}}
"""The test sensor of recipes/real3d_like.yaml: a random pose, one viewpoint 30 degrees up."""


def scanned_sample():
    """One tap0 bulge sample scanned by :data:`SCAN_SENSOR` (mesh kept), generated afresh."""
    recipe = {**figure_recipe(), "name": "docs_scan", "classes": {"tap0": None},
              "splits": {"train": 0, "test": {"bulge": 1}}, "sensor": SCAN_SENSOR}
    data = figure_dataset(Path(tempfile.gettempdir()) / "anomalygen_docs_scan", recipe)
    return next(iter(anomalygen.open_dataset(data, split="test")))


def scan_views(path: Path = DOCS / "scan_views.png", tile_inches: float = 3.2) -> Path:
    """The same bulge complete (the edited mesh) and scanned (its partial scan, anomaly in red),
    both in the canonical pose facing the anomaly, then the scan from the side with its
    viewpoint and the viewpoint's ray to the object's centre."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    sample = scanned_sample()
    rot, shift = sample.pose[:3, :3], sample.pose[:3, 3]
    # undo the pose (stored = R canonical + t), so the scan lines up with the kept mesh
    points, normals, eyes = (sample.points - shift) @ rot, sample.normals @ rot, (sample.viewpoints - shift) @ rot
    mask = sample.anomaly_index > 0
    facing = anomaly_direction(points, normals, mask)
    azim = math.degrees(math.atan2(facing[1], facing[0]))
    front, side = View(elev=25.0, azim=azim, zoom=1.0), View(elev=20.0, azim=azim + 90.0, zoom=1.0)
    colors, spacing = label_colors(sample.anomaly_index), point_spacing(points)
    fig = Figure(figsize=(3 * tile_inches, tile_inches + 0.8))
    FigureCanvasAgg(fig)
    axes = [fig.add_axes((k / 3, 0, 1 / 3, tile_inches / (tile_inches + 0.8))) for k in range(3)]
    draw_mesh(axes[0], sample_mesh(sample), front)
    draw_points(axes[1], points, normals, colors, front, spacing=spacing, emphasis=mask)
    draw_points(axes[2], points, normals, colors, side, spacing=spacing, emphasis=mask)
    eye_xy, centre_xy = project(eyes, side)[0], project(np.zeros((1, 3)), side)[0][0]
    for xy in eye_xy:
        axes[2].plot([xy[0], centre_xy[0]], [xy[1], centre_xy[1]], color="0.4", lw=0.8, ls="--")
    axes[2].scatter(eye_xy[:, 0], eye_xy[:, 1], s=60, marker="s", color="tab:blue", zorder=5)
    frame_2d(axes[2], np.concatenate([project(points, side)[0], eye_xy]), side)
    titles = ("complete (edited mesh)", f"scanned: {len(points)} points, {100 * mask.mean():.1f}% anomalous",
              f"scan and its viewpoint ({len(eyes)}, blue)")
    for ax, title in zip(axes, titles):
        ax.set_title(title, fontsize=10)
    fig.suptitle(f"{sample.sample_id}: real3d_like's test sensor, pose undone", fontsize=11)
    return save(fig, path, dpi=SAMPLE_DPI)


FIGURES = {
    "contact": lambda: [procedural_classes()],
    "watertight": lambda: [watertight()],
    "real": lambda: [real_mesh_operators()],
    "types": lambda: [anomaly_types()],
    "samples": sample_pictures,
    "scan": lambda: [scan_views()],
}


if __name__ == "__main__":
    wanted = sys.argv[1:] or list(FIGURES)
    unknown = [name for name in wanted if name not in FIGURES]
    if unknown:
        raise SystemExit(f"usage: python docs/make_figures.py [{'|'.join(FIGURES)}] ...; "
                         f"unknown: {', '.join(unknown)}")
    for name in wanted:
        for out in FIGURES[name]():
            print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")
