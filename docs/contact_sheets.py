"""Contact sheets for the docs' figures: one PNG with a labelled tile per mesh, drawn in
matplotlib's 3D axes (flat Lambert shading); used only by ``docs/make_figures.py``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import trimesh
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from mpl_toolkits.mplot3d.art3d import Poly3DCollection

from anomalygen.drawing import DEFAULT_COLOR, View, drawable_triangles, lambert, save


def frame_axes(ax, points: np.ndarray, view: View = View(), margin: float = 0.02) -> None:
    """Equal-aspect limits around (N, 3) ``points``, camera from ``view``, axes hidden."""
    p = np.asarray(points, dtype=float)
    lo, hi = p.min(axis=0), p.max(axis=0)
    center = (lo + hi) / 2
    half = (hi - lo).max() / 2 * (1 + margin) or 1.0
    ax.set_xlim(center[0] - half, center[0] + half)
    ax.set_ylim(center[1] - half, center[1] + half)
    ax.set_zlim(center[2] - half, center[2] + half)
    ax.set_box_aspect((1, 1, 1), zoom=view.zoom)
    view.apply(ax)
    ax.set_axis_off()


def render_mesh(ax, mesh: trimesh.Trimesh, view: View = View(), *,
                color: Sequence[float] = DEFAULT_COLOR, max_faces: int | None = 20000,
                max_edge: float | None = 0.08, frame: bool = True) -> Poly3DCollection:
    """Draw ``mesh`` into the 3D axes ``ax`` with flat Lambert shading.

    color:     base RGB in [0, 1].
    max_faces: draw at most this many faces (see :func:`drawable_triangles`).
    max_edge:  split faces longer than this fraction of the mesh's largest extent.
    frame:     set equal-aspect limits around the mesh and the camera (pass False when
               several things share one axes and you frame it yourself).
    Returns the added collection.
    """
    edge = None if max_edge is None else max_edge * float(mesh.extents.max())
    triangles, normals = drawable_triangles(mesh, view, max_edge=edge, max_faces=max_faces)
    shade = lambert(normals, view.light_direction())
    rgba = np.column_stack([shade[:, None] * np.asarray(color, dtype=float)[None, :3],
                            np.ones(len(shade))])
    # edges drawn in the face colour hide the hairline seams antialiasing leaves between faces
    collection = Poly3DCollection(triangles, facecolors=rgba, edgecolors=rgba, linewidths=0.25)
    ax.add_collection3d(collection)
    if frame:
        frame_axes(ax, mesh.vertices, view)
    return collection


def tile_figure(count: int, columns: int = 8, tile_inches: float = 2.0
                ) -> tuple[Figure, list]:
    """An Agg figure with ``count`` 3D axes in rows of ``columns``: (figure, axes list)."""
    columns = max(1, min(columns, count))
    rows = max(1, math.ceil(count / columns))
    fig = Figure(figsize=(columns * tile_inches, rows * tile_inches * 1.08))
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.0, right=1.0, bottom=0.0, top=0.97, wspace=0.0, hspace=0.08)
    axes = [fig.add_subplot(rows, columns, i + 1, projection="3d") for i in range(count)]
    return fig, axes


def contact_sheet(meshes: Mapping[str, trimesh.Trimesh], path: str | Path, columns: int = 8,
                  view: View = View(), tile_inches: float = 2.0, dpi: int = 90,
                  max_faces: int | None = 30000) -> Path:
    """Write one PNG with a labelled tile per mesh (in the mapping's order); returns the path."""
    fig, axes = tile_figure(len(meshes), columns, tile_inches)
    for ax, (name, mesh) in zip(axes, meshes.items()):
        render_mesh(ax, mesh, view, max_faces=max_faces)
        ax.set_title(name, fontsize=10, pad=0)
    return save(fig, path, dpi)
