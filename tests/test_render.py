"""Pictures of samples: render_sample, the gallery, and the mesh contact sheet still working."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import trimesh
from PIL import Image

from anomalygen import render
from anomalygen.gallery import write_gallery
from anomalygen.shards import Sample, write_shard

ROOT = Path(__file__).resolve().parents[1]


def sphere_sample(anomalous: bool, n: int = 3000, class_name: str = "sphere0",
                  index: int = 0) -> Sample:
    """A unit sphere of ``n`` evenly spread points; when ``anomalous``, a cap labelled 1."""
    k = np.arange(n) + 0.5
    z = 1 - 2 * k / n
    phi = np.pi * (1 + 5 ** 0.5) * k
    r = np.sqrt(1 - z ** 2)
    points = np.column_stack([r * np.cos(phi), r * np.sin(phi), z]).astype(np.float32)
    anomaly_index = np.zeros(n, np.uint8)
    kind, types = "normal", []
    if anomalous:
        anomaly_index[points @ np.array([0.6, -0.6, 0.53], np.float32) > 0.93] = 1
        kind, types = "bulge", ["bulge"]
    token = "positive" if kind == "normal" else kind
    return Sample(sample_id=f"{class_name}/test/{token}{index}", class_name=class_name,
                  split="test", kind=kind, points=points, normals=points.copy(),
                  anomaly_index=anomaly_index, types=types,
                  params=[{"radius": 0.3, "height": 0.05}] if anomalous else [])


def pixels(path: Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB of a PNG."""
    return np.asarray(Image.open(path).convert("RGB"))


def anomaly_red(image: np.ndarray) -> int:
    """How many pixels have the hue of the first anomaly colour (a clear red, any shade)."""
    r, g, b = (image[..., c].astype(int) for c in range(3))
    return int(np.count_nonzero((r > 60) & (r > 2 * g) & (r > 2 * b)))


def expected_size(views: int, scores: bool) -> tuple[int, int]:
    """(height, width) in pixels of render_sample's PNG, from its documented layout."""
    width = (views + 1) * render.TILE_INCHES + (render.COLORBAR_INCHES if scores else 0)
    height = (2 if scores else 1) * render.TILE_INCHES + render.HEADER_INCHES
    return round(height * render.SAMPLE_DPI), round(width * render.SAMPLE_DPI)


@pytest.mark.parametrize("views", [3, 2])
def test_render_sample_writes_png_of_expected_size(tmp_path, views):
    out = render.render_sample(sphere_sample(True), tmp_path / "a" / "sample.png", views=views)
    assert out == tmp_path / "a" / "sample.png"
    assert pixels(out).shape[:2] == expected_size(views, scores=False)


def test_render_sample_with_scores_adds_a_row_and_a_colour_bar(tmp_path):
    sample = sphere_sample(True)
    scores = sample.points[:, 0].astype(float)
    out = render.render_sample(sample, tmp_path / "scored.png", point_scores=scores)
    image = pixels(out)
    assert image.shape[:2] == expected_size(3, scores=True)
    # the score row holds viridis colours (purple to yellow) the label row never has
    tile = round(render.TILE_INCHES * render.SAMPLE_DPI)
    top = round(render.HEADER_INCHES * render.SAMPLE_DPI)
    score_row = image[top + tile:, : 4 * tile].astype(int)
    yellowish = (score_row[..., 0] > 150) & (score_row[..., 1] > 150) & (score_row[..., 2] < 90)
    assert yellowish.sum() > 50
    with pytest.raises(ValueError):
        render.render_sample(sample, tmp_path / "bad.png", point_scores=scores[:10])


def test_anomaly_colour_appears_only_with_anomalous_points(tmp_path):
    normal = pixels(render.render_sample(sphere_sample(False), tmp_path / "normal.png"))
    anomalous = pixels(render.render_sample(sphere_sample(True), tmp_path / "anomalous.png"))
    assert anomaly_red(normal) == 0
    assert anomaly_red(anomalous) > 500


def test_label_colors_distinguish_anomaly_indices():
    colors = render.label_colors(np.array([0, 1, 2, 3, 1]))
    assert np.allclose(colors[0], render.NORMAL_POINT_COLOR)
    assert np.allclose(colors[1], colors[4])
    assert len({tuple(c) for c in colors[:4]}) == 4


def test_points_are_depth_sorted_back_to_front():
    view = render.View(elev=0.0, azim=0.0)  # camera on +X
    points = np.array([[1.0, 0, 0], [-1.0, 0, 0], [0.0, 0, 0]])
    _, depth = render.project(points, view)
    assert list(np.argsort(depth)) == [1, 2, 0]


def test_write_gallery_links_existing_images(tmp_path):
    data = tmp_path / "data"
    for name in ("sphere0", "sphere1"):
        samples = [sphere_sample(False, 800, name), sphere_sample(True, 800, name),
                   sphere_sample(True, 800, name, index=1)]
        write_shard(data / "shards" / name / "test-0.h5", samples,
                    {"class_name": name, "split": "test", "shard_id": f"{name}/test-0"})
    page = write_gallery(data, tmp_path / "site" / "gallery.html")
    text = page.read_text()
    sources = re.findall(r'<img src="([^"]+)"', text)
    assert len(sources) == 4  # 2 classes x (normal, bulge): the first sample of each kind
    for src in sources:
        assert not Path(src).is_absolute()
        assert (page.parent / src).is_file()
    assert len(re.findall(r'alt="[^"]+"', text)) == 4
    assert "sphere1/test/bulge0" in text and "sphere1/test/bulge1" not in text


def test_contact_sheet_still_draws_meshes(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("contact_sheets", ROOT / "docs" / "contact_sheets.py")
    contact_sheets = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(contact_sheets)
    out = contact_sheets.contact_sheet({"box": trimesh.creation.box(), "ball": trimesh.creation.icosphere(1)},
                                       tmp_path / "sheet.png", columns=2, tile_inches=1.0, dpi=50)
    assert pixels(out).shape[:2] == (54, 100)


def test_operators_declare_their_own_view_hints():
    # render asks the operator; only bending prefers a direction (along its recorded axis)
    direction = np.array([1.0, 0.0, 0.0])
    hinted = render.operator_view("bending", {"axis": [0.0, 2.0, 0.0]}, direction)
    assert np.allclose(hinted, [0.0, 1.0, 0.0])
    assert render.operator_view("bending", {"mode": "plate"}, direction) is None
    assert render.operator_view("bulge", {"center": [0.0, 0.0, 1.0]}, direction) is None
    assert render.operator_view(None, None, direction) is None
