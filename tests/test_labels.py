"""Labels traced back through several edits, including edits that re-triangulate the surface."""

import numpy as np
import trimesh

from anomalygen.labels import anomaly_index
from anomalygen.ops import OPERATORS, EditResult
from anomalygen.sample import sample_surface

THRESHOLD = 0.004


def subdivided(mesh):
    """An edit that changes the faces but moves nothing: each face split into four."""
    vertices, faces, index = trimesh.remesh.subdivide(mesh.vertices, mesh.faces, return_index=True)
    out = trimesh.Trimesh(vertices, faces, process=False)
    origin = np.empty(len(faces), dtype=np.int64)
    for parent, children in index.items():
        origin[children] = parent
    return EditResult(out, np.zeros_like(vertices), np.zeros(len(faces), bool), {}, face_origin=origin)


def bulge(mesh, seed, **params):
    rng = np.random.default_rng(seed)
    return OPERATORS["bulge"].apply(mesh, {"radius": 0.35, "height": 0.06, **params}, rng)


def labels_for(base, edits, seed=0, count=30000):
    surface = sample_surface(edits[-1].mesh if edits else base, count, np.random.default_rng(seed))
    return surface, anomaly_index(base, edits, surface.face_index, surface.barycentric, THRESHOLD)


def test_no_edit_no_label():
    base = trimesh.creation.icosphere(4)
    _, labels = labels_for(base, [])
    assert not labels.any()


def test_two_bulges_get_their_own_indices():
    base = trimesh.creation.icosphere(5)
    first = bulge(base, seed=1)
    second = bulge(first.mesh, seed=2)
    surface, labels = labels_for(base, [first, second])
    assert {0, 1, 2} <= set(np.unique(labels))
    for k, edit in enumerate([first, second], start=1):
        center = np.array(edit.params["center"])
        near = np.linalg.norm(surface.points[labels == k] - center, axis=1)
        assert near.max() <= edit.params["radius"] + 0.07  # the later bump may have moved it a bit


def test_labels_survive_a_retriangulating_edit():
    base = trimesh.creation.icosphere(4)
    bumped = bulge(base, seed=5)
    refined = subdivided(bumped.mesh)
    surface, labels = labels_for(base, [bumped, refined])
    assert not (labels == 2).any()  # the subdivision moved nothing
    # the bulge's points are found through face_origin: compare with labelling before refining
    offset = np.linalg.norm(surface.points, axis=1) - 1.0
    assert offset[labels == 1].min() > 0
    assert np.abs(offset[labels == 0]).max() < THRESHOLD + 0.01  # coarse icosphere chords


def test_new_faces_and_rim_band_are_anomalous():
    base = trimesh.creation.icosphere(4)
    new = np.zeros(len(base.faces), bool)
    new[:10] = True
    rim = base.vertices[:1]
    edit = EditResult(base.copy(), np.zeros_like(base.vertices), new, {}, face_origin=np.arange(len(base.faces)),
                      rim_points=rim, rim_band=0.2)
    surface, labels = labels_for(base, [edit])
    expected = new[surface.face_index] | (np.linalg.norm(surface.points - rim[0], axis=1) < 0.2)
    np.testing.assert_array_equal(labels > 0, expected)
