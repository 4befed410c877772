"""Headless pictures of meshes (and, later, labelled point clouds and score maps).

Only matplotlib's Agg canvas is used (``Figure`` + ``FigureCanvasAgg``), so importing this
module never changes the caller's pyplot backend and works without a display.

Building blocks, meant to be reused by other kinds of pictures:

* :class:`View` is the camera: elevation/azimuth in degrees (matplotlib's convention, +Z up),
  the unit vector towards the camera, a screen basis and a light placed relative to it.
* :func:`frame_axes` gives a 3D axes equal aspect around some points and hides the axes.
* :func:`lambert` shades unit normals; :func:`drawable_triangles` culls and splits faces.
* :func:`render_mesh` draws one mesh into a 3D axes.
* :func:`tile_figure` and :func:`save` lay out and write a grid of tiles;
  :func:`contact_sheet` uses them to write one PNG with a labelled tile per mesh.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import trimesh
import trimesh.remesh
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from mpl_toolkits.mplot3d.art3d import Poly3DCollection

DEFAULT_COLOR = (0.62, 0.70, 0.84)
"""Base RGB of drawn surfaces (a light steel blue that shows shading well)."""


@dataclass(frozen=True)
class View:
    """A camera looking at the origin of an object, matplotlib convention (+Z up).

    elev:  degrees above the XY plane (positive looks down onto the object, e.g. into a bowl).
    azim:  degrees about +Z, measured from +X.
    light: light direction in camera terms (right, up, towards the viewer); normalised.
    zoom:  matplotlib's box zoom; > 1 fills more of the tile.
    """

    elev: float = 28.0
    azim: float = -60.0
    light: tuple[float, float, float] = (-0.45, 0.6, 1.0)
    zoom: float = 1.25

    def direction(self) -> np.ndarray:
        """(3,) unit vector from the object towards the camera."""
        e, a = math.radians(self.elev), math.radians(self.azim)
        return np.array([math.cos(e) * math.cos(a), math.cos(e) * math.sin(a), math.sin(e)])

    def basis(self) -> np.ndarray:
        """(3, 3) rows: screen right, screen up, towards the camera (world coordinates)."""
        a = math.radians(self.azim)
        back = self.direction()
        right = np.array([-math.sin(a), math.cos(a), 0.0])
        return np.stack([right, np.cross(back, right), back])

    def light_direction(self) -> np.ndarray:
        """(3,) unit world vector towards the light."""
        d = np.asarray(self.light, dtype=float) @ self.basis()
        return d / np.linalg.norm(d)

    def apply(self, ax) -> None:
        """Point a 3D axes' camera along this view."""
        ax.view_init(elev=self.elev, azim=self.azim)


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


def lambert(normals: np.ndarray, light: np.ndarray, ambient: float = 0.28) -> np.ndarray:
    """(N,) brightness in [ambient, 1] of (N, 3) unit ``normals`` lit from unit ``light``."""
    return ambient + (1 - ambient) * np.clip(normals @ light, 0.0, 1.0)


def drawable_triangles(mesh: trimesh.Trimesh, view: View, *, max_edge: float | None = None,
                       max_faces: int | None = 20000, seed: int = 0
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Triangles of ``mesh`` worth drawing from ``view``: ((K, 3, 3) corners, (K, 3) normals).

    * Back-face culling keeps faces whose normal points towards the camera: it halves the
      work and removes most errors of matplotlib's painter's-algorithm depth sort.
    * Faces with edges longer than ``max_edge`` are split (the depth sort uses one depth
      per polygon, so long thin faces of low-poly boxes get drawn over their neighbours).
    * Above ``max_faces`` a fixed-seed random subset is kept: huge meshes stay drawable at
      the cost of small gaps.
    """
    facing = np.flatnonzero(mesh.face_normals @ view.direction() > 0)
    vertices, faces = mesh.vertices, mesh.faces[facing]
    normals = mesh.face_normals[facing]
    if max_edge is not None and len(faces):
        vertices, faces, index = trimesh.remesh.subdivide_to_size(
            vertices, faces, max_edge, max_iter=8, return_index=True)
        normals = normals[index]
    if max_faces is not None and len(faces) > max_faces:
        keep = np.sort(np.random.default_rng(seed).choice(len(faces), max_faces, replace=False))
        faces, normals = faces[keep], normals[keep]
    return vertices[faces], normals


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


def save(fig: Figure, path: str | Path, dpi: int = 90) -> Path:
    """Write ``fig`` as an image (format from the suffix), creating folders; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path


def contact_sheet(meshes: Mapping[str, trimesh.Trimesh], path: str | Path, columns: int = 8,
                  view: View = View(), tile_inches: float = 2.0, dpi: int = 90,
                  max_faces: int | None = 30000) -> Path:
    """Write one PNG with a labelled tile per mesh (in the mapping's order); returns the path."""
    fig, axes = tile_figure(len(meshes), columns, tile_inches)
    for ax, (name, mesh) in zip(axes, meshes.items()):
        render_mesh(ax, mesh, view, max_faces=max_faces)
        ax.set_title(name, fontsize=10, pad=0)
    return save(fig, path, dpi)
