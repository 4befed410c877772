"""Pictures of labelled samples (and their score maps), composed from :mod:`anomalygen.drawing`.

* :func:`anomaly_window` and :func:`anomaly_closeup` aim a camera at a sample's anomaly; an
  operator may prefer its own direction (:func:`operator_view`, from the operator's
  ``view_direction``: this module knows no operator's parameters).
* :func:`render_sample` writes the multi-view picture of one labelled sample (and its score
  map); :func:`render_thumbnail` one small tile for galleries.

The drawing primitives are imported here too, so ``anomalygen.render.View`` and the like keep
working. Contact sheets of meshes in 3D axes, used only by the docs' figures, live beside them
in ``docs/contact_sheets.py``; a sample's kept mesh is decoded by :mod:`anomalygen.mesh_ply`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from anomalygen.drawing import (ANOMALY_COLORS, CLOSEUP_RAKE, DEFAULT_COLOR, NORMAL_POINT_COLOR,  # noqa: F401
                                SCORE_CMAP, View, Window, draw_mesh, draw_points, drawable_triangles,
                                facing_normals, frame_2d, lambert, point_spacing, points_per_unit, project,
                                save, shade, smoothed_face_normals, view_towards)

# --------------------------------------------------------------------------- samples

def label_colors(anomaly_index: np.ndarray) -> np.ndarray:
    """(N, 3) base RGB: grey for index 0, ``ANOMALY_COLORS[(k - 1) % 5]`` for anomaly k."""
    index = np.asarray(anomaly_index, dtype=int)
    palette = np.array((NORMAL_POINT_COLOR,) + ANOMALY_COLORS)
    return palette[np.where(index > 0, (index - 1) % len(ANOMALY_COLORS) + 1, 0)]


def focus_mask(points: np.ndarray, mask: np.ndarray, max_radius: float = 0.35) -> np.ndarray:
    """(N,) bool: the part of an anomaly a close-up shows.

    All ``mask``-ed points when they lie within ``max_radius`` of the one nearest their
    centroid (a point on the defect); otherwise (a long scratch, a large break) only those.
    """
    p = np.asarray(points, float)
    chosen = np.flatnonzero(mask)
    anchor = p[chosen[np.argmin(np.linalg.norm(p[chosen] - p[chosen].mean(axis=0), axis=1))]]
    near = np.linalg.norm(p - anchor, axis=1) <= max_radius
    return np.asarray(mask, bool) & near


def anomaly_direction(points: np.ndarray, normals: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(3,) unit direction to look at the ``mask``-ed points from: their mean normal.

    Where the normals cancel (a through hole labelled on both sides, a bent tube) it is the
    direction from the object's centre to the points' centroid instead.
    """
    mean = np.nan_to_num(np.asarray(normals, float)[mask]).mean(axis=0)
    if np.linalg.norm(mean) < 0.35:
        p = np.asarray(points, float)
        mean = p[mask].mean(axis=0) - (p.min(axis=0) + p.max(axis=0)) / 2
    return mean / (np.linalg.norm(mean) or 1.0)


def operator_view(kind: str | None, params: Mapping | None, direction: np.ndarray) -> np.ndarray | None:
    """(3,) direction the operator of anomaly type ``kind`` prefers to be seen from, given the
    ``params`` it recorded and the generic (3,) ``direction``; None where it has no preference
    (see :attr:`anomalygen.ops.base.Operator.view_direction`)."""
    from anomalygen.ops import OPERATORS

    operator = OPERATORS.get(kind) if kind else None
    if operator is None or operator.view_direction is None or not params:
        return None
    return operator.view_direction(params, direction)


def anomaly_window(points: np.ndarray, mask: np.ndarray, view: View, context: float = 1.6,
                   min_half: float = 0.12) -> Window:
    """A :class:`Window` on the ``mask``-ed points' bounding box as seen from ``view``.

    The half-width is ``context`` times half the box's larger screen side (at least
    ``min_half``); the centre is the box's centre, kept at the depth of the points' centroid.
    """
    chosen = np.asarray(points, float)[mask]
    xy, depth = project(chosen, view)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    half = max(float((hi - lo).max()) / 2 * context, min_half)
    center = np.append((lo + hi) / 2, depth.mean()) @ view.basis()
    return Window(tuple(center), half, crop=max(1.5 * half, float(np.ptp(depth)) / 2 + half))


def raking_light(view: View, normal: np.ndarray, rake: float = CLOSEUP_RAKE
                 ) -> tuple[float, float, float]:
    """A light (camera terms, for :class:`View`) ``rake`` degrees off the world ``normal``,
    turned towards screen left, so a surface along ``normal`` is lit from the side whatever
    the camera's tilt."""
    n = view.basis() @ (np.asarray(normal, float) / (np.linalg.norm(normal) or 1.0))
    side = np.array([-1.0, 0.25, 0.0])
    side -= (side @ n) * n
    side /= np.linalg.norm(side) or 1.0
    r = math.radians(rake)
    return tuple(math.cos(r) * n + math.sin(r) * side)


def anomaly_closeup(sample, tilt: float = 30.0, max_radius: float = 0.35,
                    rake: float = CLOSEUP_RAKE) -> tuple[View, Window]:
    """Camera and window of a close-up on a sample's first anomalous region.

    The camera looks along the mean normal of the shown part (:func:`focus_mask`) raised by
    ``tilt`` degrees, or along the direction its operator prefers (:func:`operator_view`); the light
    rakes across that normal (:func:`raking_light`).
    """
    points = np.asarray(sample.points, float)
    focus = focus_mask(points, np.asarray(sample.anomaly_index) > 0, max_radius)
    direction = anomaly_direction(points, sample.normals, focus)
    hinted = operator_view(sample.types[0] if sample.types else None,
                           sample.params[0] if sample.params else None, direction)
    direction = direction if hinted is None else hinted
    view = view_towards(direction, tilt=tilt)
    view = view_towards(direction, tilt=tilt, light=raking_light(view, direction, rake))
    return view, anomaly_window(points, focus, view)


def sample_views(sample, views: int = 3, elev: float = 25.0
                 ) -> list[tuple[str, View, Window | None]]:
    """The tiles of :func:`render_sample`: ``views + 1`` (caption, View, Window or None).

    ``views`` azimuths 360/views apart at elevation ``elev``, the first facing the anomaly
    (if any; from below or from high up when it faces down or up), then a close-up on the
    anomaly (:func:`anomaly_closeup`), or for a normal sample a view from above.
    """
    mask = np.asarray(sample.anomaly_index) > 0
    start, first_elev = -60.0, elev
    if mask.any():
        direction = anomaly_direction(sample.points, sample.normals, mask)
        start = math.degrees(math.atan2(direction[1], direction[0]))
        facing = math.degrees(math.asin(float(np.clip(direction[2], -1.0, 1.0))))
        if facing < -25.0:  # an anomaly underneath: the first view looks up at it
            first_elev = float(np.clip(facing, -60.0, -20.0))
        elif facing > 45.0:  # on a floor or a top: the first view looks down onto it
            first_elev = min(facing, 70.0)
    tiles = []
    for k in range(views):
        azim = (start + 360.0 * k / views + 180.0) % 360.0 - 180.0
        e = first_elev if k == 0 else elev
        tiles.append((f"azimuth {azim:.0f}, elevation {e:.0f}", View(elev=e, azim=azim, zoom=1.0),
                      None))
    if mask.any():
        tiles.append(("close-up on the anomaly", *anomaly_closeup(sample)))
    else:
        tiles.append(("from above", View(elev=75.0, azim=start, zoom=1.0), None))
    return tiles


TILE_INCHES = 3.0
"""Side of one square tile of :func:`render_sample`."""
HEADER_INCHES = 0.5
"""Height of the title band of :func:`render_sample`."""
COLORBAR_INCHES = 0.9
"""Width of the colour-bar column :func:`render_sample` adds when given scores."""
SAMPLE_DPI = 100


def _describe(sample) -> str:
    """One-line title: id, anomaly types, point count, anomalous fraction."""
    index = np.asarray(sample.anomaly_index)
    types = ", ".join(sample.types) if sample.types else "normal"
    fraction = np.count_nonzero(index) / max(len(index), 1)
    return f"{sample.sample_id}   [{types}]   {len(index)} points, {100 * fraction:.2f}% anomalous"


def render_sample(sample, path: str | Path, point_scores: np.ndarray | None = None,
                  views: int = 3) -> Path:
    """Write a PNG picture of one labelled sample (a :class:`anomalygen.shards.Sample`).

    Row 1: normal points grey, anomalous points coloured by anomaly index (larger, winning
    ties in depth), from ``views`` azimuths (the first facing the anomaly) plus a close-up on
    the anomaly (for a normal sample, a view from above). Row 2, with ``point_scores`` (N,):
    the same tiles coloured by score (viridis, mildly shaded) with a colour bar.
    Size: ``(views + 1) * TILE_INCHES`` (+ ``COLORBAR_INCHES`` with scores) wide,
    ``rows * TILE_INCHES + HEADER_INCHES`` high, at ``SAMPLE_DPI``. Returns the path.
    """
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    tiles = sample_views(sample, views)
    rows = 1 if point_scores is None else 2
    extra = 0.0 if point_scores is None else COLORBAR_INCHES
    width, height = len(tiles) * TILE_INCHES + extra, rows * TILE_INCHES + HEADER_INCHES
    fig = Figure(figsize=(width, height), dpi=SAMPLE_DPI)
    FigureCanvasAgg(fig)

    def tile(row: int, column: int):
        bottom = height - HEADER_INCHES - (row + 1) * TILE_INCHES
        return fig.add_axes((column * TILE_INCHES / width, bottom / height,
                             TILE_INCHES / width, TILE_INCHES / height))

    spacing = point_spacing(sample.points)
    mask = np.asarray(sample.anomaly_index) > 0
    layers = [(label_colors(sample.anomaly_index), mask, 0.3)]
    if point_scores is not None:
        scores = np.asarray(point_scores, dtype=float).reshape(-1)
        if len(scores) != len(sample.points):
            raise ValueError(f"point_scores has {len(scores)} values, the sample {len(sample.points)} points")
        finite = scores[np.isfinite(scores)]
        norm = Normalize(*(finite.min(), finite.max()) if len(finite) else (0.0, 1.0))
        cmap = colormaps[SCORE_CMAP]
        layers.append((cmap(norm(np.nan_to_num(scores, nan=norm.vmin)))[:, :3], None, 0.65))
    for row, (colors, emphasis, ambient) in enumerate(layers):
        for column, (caption, view, window) in enumerate(tiles):
            ax = tile(row, column)
            draw_points(ax, sample.points, sample.normals, colors, view, spacing=spacing,
                        window=window, emphasis=emphasis, ambient=ambient)
            ax.text(0.02, 0.98, caption if row == 0 else f"score, {caption}", fontsize=8,
                    color="0.3", transform=ax.transAxes, va="top",
                    bbox=dict(facecolor="white", alpha=0.75, linewidth=0, pad=1.5))
    if point_scores is not None:
        cax = fig.add_axes(((width - COLORBAR_INCHES + 0.08) / width, 0.12 * TILE_INCHES / height,
                            0.14 / width, 0.76 * TILE_INCHES / height))
        fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), cax=cax).set_label("point score", fontsize=8)
        cax.tick_params(labelsize=7)
    fig.text(0.5, 1 - HEADER_INCHES / 2 / height, _describe(sample), ha="center", va="center",
             fontsize=11)
    return save(fig, path, dpi=SAMPLE_DPI)


def render_thumbnail(sample, path: str | Path, size_px: int = 220) -> Path:
    """Write a square PNG of ``size_px`` pixels: the whole sample from the side of its anomaly."""
    caption, view, _ = sample_views(sample, views=1)[0]
    fig = Figure(figsize=(size_px / SAMPLE_DPI,) * 2, dpi=SAMPLE_DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    draw_points(ax, sample.points, sample.normals, label_colors(sample.anomaly_index), view,
                spacing=point_spacing(sample.points), emphasis=np.asarray(sample.anomaly_index) > 0)
    return save(fig, path, dpi=SAMPLE_DPI)
