"""Headless drawing primitives: a camera, shading, and depth-sorted points and triangles.

Only matplotlib's Agg canvas is used (``Figure`` + ``FigureCanvasAgg``), so importing this
module never changes the caller's pyplot backend and works without a display.

* :class:`View` is the camera: elevation/azimuth in degrees (matplotlib's convention, +Z up),
  the unit vector towards the camera, a screen basis and a light placed relative to it.
* :func:`lambert` shades unit normals; :func:`drawable_triangles` culls and splits faces;
  :func:`save` writes a figure.

Point clouds and close-ups are drawn in plain 2D axes with an orthographic projection of our
own (:func:`project`), so that depth order, cropping and marker sizes are under control:

* :func:`draw_points` is a depth-sorted, Lambert-shaded scatter (points far from the camera
  first, so the front surface covers the back); :func:`draw_mesh` the same for triangles.
* A :class:`Window` (a 3D centre and a half-width) zooms a tile onto part of an object and
  crops away everything farther than ``crop`` from the centre (walls in front of a defect);
  :func:`view_towards` places a camera along a direction.

Pictures of samples are composed from these in :mod:`anomalygen.render`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import trimesh
import trimesh.remesh
from matplotlib.figure import Figure

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


def lambert(normals: np.ndarray, light: np.ndarray, ambient: float = 0.28) -> np.ndarray:
    """(N,) brightness in [ambient, 1] of (N, 3) unit ``normals`` lit from unit ``light``."""
    return ambient + (1 - ambient) * np.clip(normals @ light, 0.0, 1.0)


def smoothed_face_normals(mesh: trimesh.Trimesh, crease: float = 40.0) -> np.ndarray:
    """(F, 3) unit normals for flat shading that hides the facets of a curved surface.

    Each face gets the mean of its corners' vertex normals, except that a corner whose vertex
    normal is more than ``crease`` degrees off the face's own normal (a sharp edge: the lip
    of a crack, the rim of a hole) contributes the face normal instead.
    """
    face = mesh.face_normals[:, None, :]
    corners = mesh.vertex_normals[mesh.faces]
    sharp = (corners * face).sum(axis=2) < math.cos(math.radians(crease))
    mean = np.where(sharp[..., None], face, corners).sum(axis=1)
    return mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)


def drawable_triangles(mesh: trimesh.Trimesh, view: View, *, max_edge: float | None = None,
                       max_faces: int | None = 20000, seed: int = 0, cull: bool = True,
                       smooth: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Triangles of ``mesh`` worth drawing from ``view``: ((K, 3, 3) corners, (K, 3) normals).

    * Back-face culling keeps faces whose normal points towards the camera: it halves the
      work and removes most errors of matplotlib's painter's-algorithm depth sort.
      ``cull=False`` keeps every face (for cut-away close-ups, where the inside of a wall
      shows through an opening); shade those with :func:`facing_normals`.
    * ``smooth=True`` returns :func:`smoothed_face_normals` (less faceting, creases kept).
    * Faces with edges longer than ``max_edge`` are split (the depth sort uses one depth
      per polygon, so long thin faces of low-poly boxes get drawn over their neighbours).
    * Above ``max_faces`` a fixed-seed random subset is kept: huge meshes stay drawable at
      the cost of small gaps.
    """
    facing = (np.flatnonzero(mesh.face_normals @ view.direction() > 0) if cull
              else np.arange(len(mesh.faces)))
    vertices, faces = mesh.vertices, mesh.faces[facing]
    normals = (smoothed_face_normals(mesh) if smooth else mesh.face_normals)[facing]
    if max_edge is not None and len(faces):
        vertices, faces, index = trimesh.remesh.subdivide_to_size(
            vertices, faces, max_edge, max_iter=8, return_index=True)
        normals = normals[index]
    if max_faces is not None and len(faces) > max_faces:
        keep = np.sort(np.random.default_rng(seed).choice(len(faces), max_faces, replace=False))
        faces, normals = faces[keep], normals[keep]
    return vertices[faces], normals


def save(fig: Figure, path: str | Path, dpi: int = 90) -> Path:
    """Write ``fig`` as an image (format from the suffix), creating folders; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path



# --------------------------------------------------------------------------- 2D projected drawing

NORMAL_POINT_COLOR = (0.74, 0.74, 0.74)
"""Base RGB of normal (unlabelled) points."""
ANOMALY_COLORS = ((0.90, 0.12, 0.08), (0.08, 0.42, 0.90), (0.98, 0.62, 0.02),
                  (0.15, 0.68, 0.22), (0.62, 0.22, 0.80))
"""Base RGB of anomaly 1, 2, ... (cycled): red, blue, amber, green, purple."""
SCORE_CMAP = "viridis"
"""Perceptually uniform colormap of point scores."""
CLOSEUP_RAKE = 55.0
"""Degrees between a close-up's surface normal and its light (from screen left): a raking
light, so that relief reads from its shading."""


@dataclass(frozen=True)
class Window:
    """A zoomed tile: frame ``half`` units (unit-sphere units) either side of ``center``.

    center: (3,) world point shown in the middle of the tile.
    half:   half the width of the tile in world units.
    crop:   keep only geometry within this distance of ``center`` (None: ``2 * half``), so
            nothing between the camera and the region of interest hides it.
    """

    center: tuple[float, float, float]
    half: float
    crop: float | None = None

    def keep(self, points: np.ndarray) -> np.ndarray:
        """(N,) bool mask of (N, 3) ``points`` inside the crop sphere."""
        radius = 2.0 * self.half if self.crop is None else self.crop
        return np.linalg.norm(np.asarray(points) - np.asarray(self.center), axis=1) <= radius


def view_towards(direction: np.ndarray, tilt: float = 0.0, *, zoom: float = 1.0,
                 light: tuple[float, float, float] = View.light) -> View:
    """A :class:`View` whose camera lies along (3,) ``direction`` from the object.

    tilt: degrees added to the elevation (subtracted where that would pass the zenith), so a
          surface seen along its normal is seen a little obliquely and its relief shows.
    """
    d = np.asarray(direction, dtype=float)
    d = d / (np.linalg.norm(d) or 1.0)
    elev = math.degrees(math.asin(float(np.clip(d[2], -1.0, 1.0))))
    azim = math.degrees(math.atan2(d[1], d[0]))
    elev = elev + tilt if elev + tilt <= 89.0 else elev - tilt
    return View(elev=elev, azim=azim, light=light, zoom=zoom)


def project(points: np.ndarray, view: View) -> tuple[np.ndarray, np.ndarray]:
    """Orthographic projection of (..., 3) ``points``: ((..., 2) screen xy, (...,) depth).

    Depth grows towards the camera, so drawing in ascending depth is back to front.
    """
    q = np.asarray(points, dtype=float) @ view.basis().T
    return q[..., :2], q[..., 2]


def facing_normals(normals: np.ndarray, view: View) -> np.ndarray:
    """(N, 3) ``normals`` flipped where needed to face the camera (two-sided lighting)."""
    n = np.nan_to_num(np.asarray(normals, dtype=float))
    sign = np.where(n @ view.direction() < 0, -1.0, 1.0)
    return n * sign[:, None]


def shade(colors: np.ndarray, normals: np.ndarray, view: View, ambient: float = 0.3) -> np.ndarray:
    """(N, 3) RGB: (N, 3) base ``colors`` times the two-sided Lambert brightness of ``normals``."""
    brightness = lambert(facing_normals(normals, view), view.light_direction(), ambient)
    return np.clip(np.asarray(colors, dtype=float) * brightness[:, None], 0.0, 1.0)


def frame_2d(ax, xy: np.ndarray, view: View = View(), window: Window | None = None,
             margin: float = 0.04) -> None:
    """Equal-aspect limits of a 2D axes, axes hidden.

    Around (N, 2) projected ``xy`` (their bounding box plus ``margin``), or around
    ``window`` (its projected centre, its half-width) when given.
    """
    if window is not None:
        center, half = project(np.asarray(window.center), view)[0], window.half
    else:
        lo, hi = xy.min(axis=0), xy.max(axis=0)
        center, half = (lo + hi) / 2, float((hi - lo).max()) / 2 * (1 + margin) or 1.0
    half /= view.zoom
    ax.set_xlim(center[0] - half, center[0] + half)
    ax.set_ylim(center[1] - half, center[1] + half)
    ax.set_aspect("equal", adjustable="box")
    ax.set_axis_off()


def points_per_unit(ax) -> float:
    """Typographic points per data unit of a framed, equal-aspect 2D axes."""
    box = ax.get_position()
    width, height = ax.figure.get_size_inches() * (box.width, box.height) * 72.0
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    return min(width / abs(x1 - x0), height / abs(y1 - y0))


def point_spacing(points: np.ndarray, probes: int = 2000, seed: int = 0) -> float:
    """Typical distance between neighbouring surface samples of (N, 3) ``points``.

    From the 8th-nearest-neighbour distance r at up to ``probes`` points: 8 points in a disc
    of radius r give ``sqrt(area per point) = r * sqrt(pi / 8)``.
    """
    from scipy.spatial import cKDTree

    p = np.asarray(points, dtype=float)
    if len(p) < 10:
        return float(np.ptp(p, axis=0).max()) / 10 if len(p) > 1 else 0.01
    rng = np.random.default_rng(seed)
    probe = p[rng.choice(len(p), min(probes, len(p)), replace=False)]
    r8 = cKDTree(p).query(probe, k=9)[0][:, -1]
    return float(np.median(r8) * math.sqrt(math.pi / 8))


def draw_points(ax, points: np.ndarray, normals: np.ndarray, colors: np.ndarray, view: View, *,
                spacing: float, window: Window | None = None, emphasis: np.ndarray | None = None,
                ambient: float = 0.3, coverage: float = 1.8):
    """Depth-sorted, shaded scatter of a point cloud in the 2D axes ``ax``; frames the axes.

    points, normals: (N, 3); colors: (N, 3) base RGB in [0, 1].
    spacing:  typical point spacing (:func:`point_spacing`); markers are ``coverage`` times
              as wide, so neighbouring markers overlap into a closed surface.
    window:   zoom and crop (:class:`Window`); None frames the whole cloud.
    emphasis: (N,) bool, points drawn 1.5x as wide and a little nearer the camera, so they win
              over normal points at the same depth (but stay hidden behind nearer surfaces).
    Returns the PathCollection (None if the window holds no point).
    """
    points = np.asarray(points, dtype=float)
    keep = np.ones(len(points), bool) if window is None else window.keep(points)
    xy, depth = project(points[keep], view)
    frame_2d(ax, xy if len(xy) else np.zeros((1, 2)), view, window)
    if not len(xy):
        return None
    diameter = np.full(len(xy), coverage * spacing)
    if emphasis is not None:
        bold = np.asarray(emphasis, bool)[keep]
        diameter[bold] *= 1.5
        depth = depth + bold * 0.4 * coverage * spacing
    order = np.argsort(depth, kind="stable")
    rgb = shade(np.asarray(colors)[keep], np.asarray(normals)[keep], view, ambient)
    sizes = (diameter * points_per_unit(ax)) ** 2
    return ax.scatter(xy[order, 0], xy[order, 1], s=sizes[order], c=rgb[order],
                      marker="o", linewidths=0, edgecolors="none")


def draw_mesh(ax, mesh: trimesh.Trimesh, view: View, *, color: Sequence[float] = DEFAULT_COLOR,
              window: Window | None = None, max_faces: int | None = 60000, ambient: float = 0.3):
    """Depth-sorted, flat-shaded triangles of ``mesh`` in the 2D axes ``ax``; frames the axes.

    With a ``window`` only faces whose centroid lies in its crop sphere are drawn, both sides
    lit (so the inside of a wall shows through an opening); without, back faces are culled.
    Returns the PolyCollection (None if nothing is drawn).
    """
    from matplotlib.collections import PolyCollection

    if window is not None:
        faces = mesh.faces[window.keep(mesh.triangles_center)]
        mesh = trimesh.Trimesh(mesh.vertices, faces, process=False)
    triangles, normals = drawable_triangles(mesh, view, max_faces=max_faces, cull=window is None,
                                            smooth=True)
    xy, depth = project(triangles, view)
    frame_2d(ax, xy.reshape(-1, 2) if len(xy) else np.zeros((1, 2)), view, window)
    if not len(xy):
        return None
    order = np.argsort(depth.mean(axis=1), kind="stable")
    rgb = shade(np.broadcast_to(np.asarray(color, float)[:3], normals.shape), normals, view, ambient)
    collection = PolyCollection(xy[order], facecolors=rgb[order], edgecolors=rgb[order],
                                linewidths=0.3)
    ax.add_collection(collection)
    return collection
