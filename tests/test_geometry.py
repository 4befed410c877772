"""The geometry toolkit: topology, frames, sampling, normals and the ray caster on small cases."""

from __future__ import annotations

import numpy as np
import trimesh

from anomalygen.geometry.frames import tangent_frame
from anomalygen.geometry.normals import local_pca, pca_normals
from anomalygen.geometry.rays import RayCaster
from anomalygen.geometry.sampling import area_uniform_faces, area_uniform_point, area_uniform_points
from anomalygen.geometry.topology import boundary_edges, compact, edge_face_counts, rim_loops, vertex_components


def test_components_compaction_and_rims():
    faces = np.array([[0, 1, 2], [3, 4, 5], [3, 5, 6]])
    count, labels = vertex_components(8, faces)          # vertex 7 is alone
    assert count == 3 and labels[0] == labels[2] != labels[3] == labels[6] != labels[7]
    assert vertex_components(8, faces[:, :2])[0] == 5     # edges 0-1, 3-4, 3-5 only
    vertices, kept = compact(np.arange(24.0).reshape(8, 3), faces[1:])
    assert len(vertices) == 4 and kept.tolist() == [[0, 1, 2], [0, 2, 3]] and kept.dtype == np.int64
    assert sorted(edge_face_counts(faces).tolist()) == [1] * 7 + [2]
    assert boundary_edges(faces) == 7
    edges, owner, loop, bad = rim_loops(8, faces)
    assert len(edges) == 7 and len(set(loop.tolist())) == 2 and not bad.any()
    assert boundary_edges(trimesh.creation.icosphere(1).faces) == 0


def test_tangent_frame_is_right_handed_and_orthonormal():
    for axis in np.random.default_rng(0).normal(size=(20, 3)):
        axis /= np.linalg.norm(axis)
        frame = tangent_frame(axis)
        assert np.allclose(frame.T @ frame, np.eye(3)) and np.isclose(np.linalg.det(frame), 1.0)
        assert np.array_equal(frame[:, 2], axis)


def test_one_point_and_many_points_consume_the_same_stream():
    mesh = trimesh.creation.icosphere(2)
    face, uv = area_uniform_faces(mesh.area_faces, None, np.random.default_rng(5))
    faces, uvs = area_uniform_faces(mesh.area_faces, 1, np.random.default_rng(5))
    assert face == faces[0] and np.array_equal(uv, uvs[0])
    point, face = area_uniform_point(mesh.vertices, mesh.faces, mesh.area_faces, np.random.default_rng(5))
    assert np.allclose(point, area_uniform_points(mesh.vertices, mesh.faces, mesh.area_faces, 1,
                                                  np.random.default_rng(5))[0][0])


def test_pca_normals_of_a_sphere_point_outward():
    points = trimesh.creation.icosphere(3).vertices
    normals = pca_normals(points)
    assert normals.dtype == np.float32 and (np.einsum("ij,ij->i", normals, points) > 0.99).all()
    eigenvalues, _ = local_pca(points, 16)
    assert (np.diff(eigenvalues, axis=1) >= 0).all()


def test_ray_caster_finds_the_far_wall_and_skips_faces():
    box = trimesh.creation.box((1.0, 1.0, 0.1))       # a plate 0.1 thick, top at z = 0.05
    caster = RayCaster(box, engine="triangle")
    top = np.array([0.1, 0.2, 0.05])
    distance, face = caster.first_hits(top[None], np.array([[0.0, 0.0, -1.0]]), reach=0.5)
    assert np.isclose(distance[0], 0.1) and box.face_normals[face[0]][2] < -0.99
    distance, face = caster.first_hits(top[None], np.array([[0.0, 0.0, -1.0]]), reach=0.05)
    assert np.isinf(distance[0]) and face[0] == -1
    bottom = np.flatnonzero(box.face_normals[:, 2] < -0.99)
    distance, face = caster.first_hits(top[None], np.array([[0.0, 0.0, -1.0]]), reach=0.5, skip=[bottom])
    assert face[0] == -1
