"""First hits of the rays through one eye point: a perspective face buffer (z-buffer).

A scanner sees the surface along rays from its viewpoint. Casting one ray per point with
trimesh's triangle intersector (:mod:`anomalygen.geometry.rays`) costs about 4 ms a ray on a
40k-face mesh (measured: 20,000 rays in 80 s), far too slow for tens of thousands of points
per sample; so the rays through one eye point are cast together, by rasterising the mesh into
a buffer of the nearest face per pixel. The buffer names, for any point, the few faces its own
ray can meet first (those at its pixel and around it), which callers then test exactly. Every
step is elementwise IEEE arithmetic or an exact min/max, so the buffer has the same bits on
every CPU.
"""

from __future__ import annotations

import numpy as np

from anomalygen.geometry.canonical import row_norms, snap
from anomalygen.geometry.frames import tangent_frame

RESOLUTION = 256
"""Pixels along each side of the buffer; the image spans the mesh's bounding sphere."""
_PAD = 2
"""Width of the border of -1 around the copy of the buffer that :meth:`FaceBuffer.faces_around` reads."""


def dot3(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, 3) . (3,) or (N, 3) -> (N,), summed x, y, z in that order (the same bits on every CPU)."""
    return a[..., 0] * b[..., 0] + a[..., 1] * b[..., 1] + a[..., 2] * b[..., 2]


class FaceBuffer:
    """The nearest face behind every pixel of a pinhole camera at ``eye`` looking at the origin.

    vertices: (V, 3), faces: (F, 3) of a mesh inside the sphere of radius ``radius`` about the
    origin; eye: (3,) outside it. ``face`` is the (R, R) int64 buffer, -1 where no face covers
    the pixel centre; ties go to the lowest face index.
    """

    def __init__(self, vertices: np.ndarray, faces: np.ndarray, eye: np.ndarray, radius: float,
                 resolution: int = RESOLUTION):
        self.eye = np.asarray(eye, dtype=np.float64)
        distance = float(row_norms(self.eye[None])[0])
        if not distance > radius:
            raise ValueError(f"the eye must lie outside the mesh's bounding sphere (distance {distance}, radius {radius})")
        self.frame = snap(tangent_frame(-self.eye / distance))      # columns: right, up, forward
        self.half = radius / np.sqrt(distance * distance - radius * radius) * 1.001  # tan(half angle)
        self.resolution = resolution
        x, y, z = self.project(vertices)
        corner_x, corner_y, corner_z = x[faces], y[faces], z[faces]   # (F, 3) each
        self.face = _rasterise(corner_x, corner_y, corner_z, resolution)
        self._padded: np.ndarray | None = None               # made by the first faces_around

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(N, 3) -> pixel coordinates x, y (pixel i spans [i, i + 1)) and depth z along the view axis."""
        rel = np.asarray(points, dtype=np.float64) - self.eye
        z = dot3(rel, self.frame[:, 2])
        scale = self.resolution / (2.0 * self.half)
        x = (dot3(rel, self.frame[:, 0]) / z + self.half) * scale
        y = (dot3(rel, self.frame[:, 1]) / z + self.half) * scale
        return x, y, z

    def faces_around(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """(N, 9) the buffer's faces at the pixel of each image point (x, y) and its 8 neighbours
        (rows j - 1, j, j + 1, each with columns i - 1, i, i + 1); -1 outside the image or where
        empty. One look-up in a copy of the buffer with a border of -1 two pixels wide."""
        size = self.resolution + 2 * _PAD
        if self._padded is None:
            self._padded = np.full((size, size), -1, dtype=self.face.dtype)
            self._padded[_PAD:-_PAD, _PAD:-_PAD] = self.face
        i, j = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
        beyond = (i < -1) | (i > self.resolution) | (j < -1) | (j > self.resolution)   # no neighbour inside
        at = (np.clip(j, -1, self.resolution) + _PAD) * size + np.clip(i, -1, self.resolution) + _PAD
        steps = np.array([dj * size + di for dj in (-1, 0, 1) for di in (-1, 0, 1)])
        found = self._padded.ravel()[at[:, None] + steps]
        found[beyond] = -1
        return found


BLOCK = 4
"""Faces whose pixel-centre bounding box is at most BLOCK x BLOCK (nearly all on a remeshed
surface) are tested at all BLOCK x BLOCK centres of a block at once; larger ones pixel by pixel."""
_OFFSETS = np.arange(BLOCK)


def _rasterise(x: np.ndarray, y: np.ndarray, z: np.ndarray, resolution: int) -> np.ndarray:
    """(F, 3) corner pixel coordinates and depths -> (R, R) nearest face per pixel centre.

    Each face is tested at the pixel centres of its bounding box. Its three barycentric
    coordinates and its inverse depth (1/z is linear on the image: perspective-correct) are
    affine functions of the pixel centre, so their coefficients are found once per face and each
    (face, pixel) pair costs a few products. Faces whose box holds no pixel centre (most of a
    fine mesh) are dropped first. The nearest face per pixel is an exact max and min, whatever
    order the pairs come in.
    """
    def low(v: np.ndarray) -> np.ndarray:                  # elementwise: a reduce over 3 columns is slow
        return np.minimum(np.minimum(v[:, 0], v[:, 1]), v[:, 2])

    def high(v: np.ndarray) -> np.ndarray:
        return np.maximum(np.maximum(v[:, 0], v[:, 1]), v[:, 2])

    lo_i = np.clip(np.ceil(low(x) - 0.5), 0, resolution).astype(np.int64)
    hi_i = np.clip(np.floor(high(x) - 0.5), -1, resolution - 1).astype(np.int64)
    lo_j = np.clip(np.ceil(low(y) - 0.5), 0, resolution).astype(np.int64)
    hi_j = np.clip(np.floor(high(y) - 0.5), -1, resolution - 1).astype(np.int64)
    width, height = hi_i - lo_i + 1, hi_j - lo_j + 1
    active = np.flatnonzero((width > 0) & (height > 0))
    # float32 from here: halves the memory traffic of the (face, pixel) pairs, and elementwise
    # float32 arithmetic is exact IEEE too (the same bits on every CPU)
    boxes = _Boxes(_affine_coefficients(x[active], y[active], z[active]).astype(np.float32),
                   lo_i[active], lo_j[active], width[active], height[active], resolution)
    small = (boxes.width <= BLOCK) & (boxes.height <= BLOCK)
    parts = (boxes.blocks(np.flatnonzero(small)), boxes.pairs(np.flatnonzero(~small)))
    local, pixel, inverse = (np.concatenate(column) for column in zip(*parts))
    face = active[local]
    nearest = np.full(resolution * resolution, -np.inf, dtype=np.float32)
    np.maximum.at(nearest, pixel, inverse)                  # the largest 1/z is the nearest face
    winner = inverse == nearest[pixel]
    buffer = np.full(resolution * resolution, np.iinfo(np.int64).max)
    np.minimum.at(buffer, pixel[winner], face[winner])
    buffer[buffer == np.iinfo(np.int64).max] = -1
    return buffer.reshape(resolution, resolution)


class _Boxes:
    """The faces to rasterise: (12, A) float32 affine coefficients (:func:`_affine_coefficients`)
    and (A,) pixel-centre bounding boxes (first column and row, width, height). :meth:`blocks`
    and :meth:`pairs` return, for the faces ``sel``, ((P,) face, (P,) pixel, (P,) float32 1/z)
    of every pixel centre a face covers."""

    def __init__(self, coefficients, lo_i, lo_j, width, height, resolution: int):
        self.coefficients, self.resolution = coefficients, resolution
        self.lo_i, self.lo_j, self.width, self.height = lo_i, lo_j, width, height

    def blocks(self, sel: np.ndarray):
        """Faces whose box fits BLOCK x BLOCK: all centres of their first ``h`` rows at once, faces
        grouped by their box's height ``h``."""
        height = self.height[sel]
        parts = [self._rows(sel[height == h], h) for h in range(1, BLOCK + 1) if (height == h).any()]
        if not parts:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
        return tuple(np.concatenate(column) for column in zip(*parts))

    def _rows(self, sel: np.ndarray, rows: int):
        """Faces ``sel`` whose boxes are ``rows`` high and at most BLOCK wide, laid out (row, column,
        face) so that numpy's inner loops run along the faces."""
        i = self.lo_i[sel] + _OFFSETS[:, None]              # (BLOCK, S) columns, (rows, S) rows of each box
        j = self.lo_j[sel] + _OFFSETS[:rows, None]
        px, py = (i + 0.5).astype(np.float32)[None], (j + 0.5).astype(np.float32)[:, None]
        c = self.coefficients[:, sel]

        def value(k: int) -> np.ndarray:                    # w0, w1 or w2 (k = 0, 3, 6), (rows, BLOCK, S)
            return c[k] * px + c[k + 1] * py + c[k + 2]

        inside = np.flatnonzero((_OFFSETS[None, :, None] < self.width[sel])
                                & (value(0) >= 0) & (value(3) >= 0) & (value(6) >= 0))
        row, rest = np.divmod(inside, BLOCK * len(sel))
        column, s = np.divmod(rest, len(sel))
        inverse = c[9, s] * px[0, column, s] + c[10, s] * py[row, 0, s] + c[11, s]   # 1/z where covered only
        return sel[s], j[row, s] * self.resolution + i[column, s], inverse

    def pairs(self, sel: np.ndarray):
        """Any faces: one (face, pixel) pair per centre of each box; 1/z only where covered."""
        counts = self.width[sel] * self.height[sel]
        face = np.repeat(sel, counts)
        step = np.arange(len(face), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
        i = self.lo_i[face] + step % self.width[face]
        j = self.lo_j[face] + step // self.width[face]
        px, py = (i + 0.5).astype(np.float32), (j + 0.5).astype(np.float32)

        def value(k: int, rows) -> np.ndarray:             # w0, w1, w2 or 1/z (k = 0, 3, 6, 9) at ``rows``
            a, b, c = self.coefficients[k:k + 3, face[rows]]
            return a * px[rows] + b * py[rows] + c

        inside = np.flatnonzero((value(0, slice(None)) >= 0) & (value(3, slice(None)) >= 0))
        inside = inside[value(6, inside) >= 0]              # 1/z only where the face covers the pixel
        return face[inside], (j * self.resolution + i)[inside], value(9, inside)


def _affine_coefficients(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """(12, F): for each face, (a, b, c) with ``value = a px + b py + c`` of its barycentric
    coordinates w0, w1, w2 and of the inverse depth at the image point (px, py). Degenerate
    faces (zero image area) get coefficients that fail the inside test everywhere."""
    area = (x[:, 1] - x[:, 0]) * (y[:, 2] - y[:, 0]) - (y[:, 1] - y[:, 0]) * (x[:, 2] - x[:, 0])
    degenerate = area == 0
    safe = np.where(degenerate, 1.0, area)
    coefficients = np.empty((12, len(x)))
    for k in range(3):                                      # w_k: the edge opposite corner k
        b, c = (k + 1) % 3, (k + 2) % 3
        np.divide(y[:, b] - y[:, c], safe, out=coefficients[3 * k])
        np.divide(x[:, c] - x[:, b], safe, out=coefficients[3 * k + 1])
        np.divide(x[:, b] * y[:, c] - y[:, b] * x[:, c], safe, out=coefficients[3 * k + 2])
    coefficients[9:12] = 0.0
    for k in range(3):
        coefficients[9:12] += coefficients[3 * k:3 * k + 3] / z[:, k]
    coefficients[:2, degenerate] = 0.0
    coefficients[2, degenerate] = -1.0                      # w0 < 0 everywhere
    return coefficients
