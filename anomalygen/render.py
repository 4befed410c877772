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

Point clouds and close-ups are drawn in plain 2D axes with an orthographic projection of our
own (:func:`project`), so that depth order, cropping and marker sizes are under control:

* :func:`draw_points` is a depth-sorted, Lambert-shaded scatter (points far from the camera
  first, so the front surface covers the back); :func:`draw_mesh` the same for triangles.
* A :class:`Window` (a 3D centre and a half-width) zooms a tile onto part of an object and
  crops away everything farther than ``crop`` from the centre (walls in front of a defect).
* :func:`anomaly_window` and :func:`view_towards` aim a camera at a sample's anomaly.
* :func:`render_sample` writes the multi-view picture of one labelled sample (and its score
  map); :func:`render_thumbnail` one small tile for galleries.
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


def _along_bend_axis(params: dict, direction: np.ndarray) -> np.ndarray | None:
    """A bend reads best in profile: look along its axis, from the side of ``direction``."""
    axis = np.asarray(params.get("axis", ()), float)
    if axis.shape != (3,) or not np.linalg.norm(axis):
        return None
    sign = np.sign(axis @ direction + 0.1 * axis[2]) or 1.0
    return sign * axis / np.linalg.norm(axis)


VIEW_HINTS = {"bending": _along_bend_axis}
"""anomaly type -> f(its params, generic direction) -> (3,) better direction to look from, or None."""


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
    ``tilt`` degrees, or along a type-specific direction (:data:`VIEW_HINTS`); the light
    rakes across that normal (:func:`raking_light`).
    """
    points = np.asarray(sample.points, float)
    focus = focus_mask(points, np.asarray(sample.anomaly_index) > 0, max_radius)
    direction = anomaly_direction(points, sample.normals, focus)
    kind = sample.types[0] if sample.types else None
    if kind in VIEW_HINTS and sample.params:
        hinted = VIEW_HINTS[kind](sample.params[0], direction)
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


def sample_mesh(sample) -> trimesh.Trimesh | None:
    """The edited mesh kept with a sample (``mesh_ply``), or None when it was not kept."""
    import io

    if not sample.mesh_ply:
        return None
    return trimesh.load(io.BytesIO(sample.mesh_ply), file_type="ply", process=False, force="mesh")
