"""Meshes that are hard to prepare, as real ShapeNet models are: open boundaries, single-sheet
walls, several parts, thin plates, parts that touch. Used by the watertight tests and by
``benchmarks/real_meshes.py``; each is a plain (vertices (V, 3) float64, faces (F, 3) int64) pair.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import trimesh

ROOT = Path(__file__).resolve().parents[1]
SHARED_MESHES = ROOT.parent / "shared" / "data" / "meshes"


def _open_cylinder(radius: float, height: float, sections: int = 48, rings: int = 12) -> trimesh.Trimesh:
    """Side wall of a cylinder along z, from z=0 to z=height, no caps (one sheet)."""
    angle = np.linspace(0.0, 2.0 * np.pi, sections, endpoint=False)
    z = np.linspace(0.0, height, rings + 1)
    ring = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    vertices = np.concatenate([np.c_[ring, np.full(sections, h)] for h in z])
    i, j = np.meshgrid(np.arange(rings), np.arange(sections), indexing="ij")
    a = i * sections + j
    b = i * sections + (j + 1) % sections
    c, d = a + sections, b + sections
    faces = np.concatenate([np.stack([a, b, d], -1).reshape(-1, 3), np.stack([a, d, c], -1).reshape(-1, 3)])
    return trimesh.Trimesh(vertices, faces, process=False)


def _disk(radius: float, z: float, sections: int = 48) -> trimesh.Trimesh:
    """A flat disk (one sheet) at height z."""
    angle = np.linspace(0.0, 2.0 * np.pi, sections, endpoint=False)
    vertices = np.r_[[[0.0, 0.0, z]], np.c_[radius * np.cos(angle), radius * np.sin(angle), np.full(sections, z)]]
    faces = np.c_[np.zeros(sections, int), 1 + (np.arange(sections) + 1) % sections, 1 + np.arange(sections)]
    return trimesh.Trimesh(vertices, faces, process=False)


def open_cup() -> trimesh.Trimesh:
    """A cup made of one sheet: side wall and bottom, open at the top, no thickness."""
    return trimesh.util.concatenate([_open_cylinder(0.4, 1.0), _disk(0.4, 0.0)])


def single_sheet_bowl() -> trimesh.Trimesh:
    """The lower half of a sphere as one open sheet (a bowl with zero wall thickness)."""
    sphere = trimesh.creation.icosphere(subdivisions=4)
    keep = sphere.triangles_center[:, 2] < 0.0
    return trimesh.Trimesh(sphere.vertices, sphere.faces[keep], process=False)


def multi_part() -> trimesh.Trimesh:
    """Two overlapping closed boxes and a separate sphere: several parts, some intersecting."""
    a = trimesh.creation.box((1.0, 0.4, 0.4))
    b = trimesh.creation.box((0.4, 1.0, 0.4))
    b.apply_translation((0.2, 0.2, 0.1))
    c = trimesh.creation.icosphere(subdivisions=3, radius=0.25)
    c.apply_translation((0.0, -0.7, 0.0))
    box_open = trimesh.Trimesh(a.vertices, a.faces[2:], process=False)  # one side left open
    return trimesh.util.concatenate([box_open, b, c])


def thin_plate() -> trimesh.Trimesh:
    """A flat square sheet of zero thickness, subdivided."""
    plate = trimesh.creation.box((1.0, 0.7, 1e-9))
    top = plate.triangles_center[:, 2] > 0.0
    sheet = trimesh.Trimesh(plate.vertices, plate.faces[top], process=False)
    return sheet.subdivide().subdivide().subdivide()


def handle_touching_body() -> trimesh.Trimesh:
    """A closed can with a handle: an open tube bent into a C whose ends sink into the can."""
    body = trimesh.creation.cylinder(radius=0.4, height=1.0, sections=48)
    angle = np.linspace(-0.6 * np.pi, 0.6 * np.pi, 24)
    path = np.c_[0.45 + 0.25 * np.cos(angle), np.zeros_like(angle), 0.3 * np.sin(angle)]
    circle = np.linspace(0.0, 2.0 * np.pi, 12, endpoint=False)
    tangent = np.gradient(path, axis=0)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    normal = np.cross(tangent, [0.0, 1.0, 0.0])
    binormal = np.cross(tangent, normal)
    rings = path[:, None] + 0.06 * (np.cos(circle)[None, :, None] * normal[:, None] + np.sin(circle)[None, :, None] * binormal[:, None])
    n = len(circle)
    i, j = np.meshgrid(np.arange(len(path) - 1), np.arange(n), indexing="ij")
    a, b = i * n + j, i * n + (j + 1) % n
    faces = np.concatenate([np.stack([a, b, b + n], -1).reshape(-1, 3), np.stack([a, b + n, a + n], -1).reshape(-1, 3)])
    tube = trimesh.Trimesh(rings.reshape(-1, 3), faces, process=False)
    return trimesh.util.concatenate([body, tube])


HARD_MESHES = {
    "open_cup": open_cup,
    "single_sheet_bowl": single_sheet_bowl,
    "multi_part": multi_part,
    "thin_plate": thin_plate,
    "handle_touching_body": handle_touching_body,
}
"""name -> function making the mesh (in arbitrary units, not prepared)."""


def shared_meshes() -> dict[str, Path]:
    """name -> path of every triangle mesh in the shared real-mesh folder (empty if absent)."""
    from anomalygen.shapes.load import MESH_SUFFIXES

    if not SHARED_MESHES.is_dir():
        return {}
    return {f"{p.parent.name}/{p.name}": p for p in sorted(SHARED_MESHES.glob("*/*"))
            if p.suffix.lower() in MESH_SUFFIXES and not p.name.startswith("points_")}
