"""PCD reader/writer and LZF: real PCL files in every encoding, round trips of any field set."""

import functools
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anomalygen.formats import _lzf
from anomalygen.formats.pcd import pack_rgb, read_pcd, unpack_rgb, write_pcd

# name: (encoding, points, finite xyz rows, bbox min, bbox max) as listed in the data's
# SOURCE.txt, measured there with an independent parser (bounding boxes to 4 decimals)
REAL = {
    "bun0.pcd": ("ascii", 397, 397, [-0.0939, 0.0374, -0.055], [0.0596, 0.1845, 0.0578]),
    "bunny.pcd": ("ascii", 397, 397, [-0.0939, 0.0374, -0.055], [0.0596, 0.1845, 0.0578]),
    "car6.pcd": ("binary_compressed", 10031, 10031, [-40.169, -68.56, -6.99], [-33.95, -61.88, -5.43]),
    "colored_cloud.pcd": ("binary", 1000, 1000, [-0.8871, -0.6507, 0.882], [0.4888, -0.3755, 1.532]),
    "cturtle.pcd": ("binary_compressed", 167198, 167198, [-1.4197, -1.0497, 1.3961], [1.4197, 1.0647, 2.0]),
    "curve3d.pcd": ("ascii", 110, 110, [0.0, 0.0, -0.0997], [1.0, 1.0, 0.0997]),
    "ism_test.pcd": ("binary_compressed", 3400, 3400, [-46.0598, -55.0859, -1.3185], [18.8971, 100.1281, 98.3337]),
    "lamppost.pcd": ("ascii", 1771, 1771, [-11.1719, -0.375, -5.448], [-9.7656, 0.5938, 0.467]),
    "milk.pcd": ("binary_compressed", 13704, 13704, [-0.1401, -0.2638, 0.714], [0.0138, -0.0117, 0.891]),
    "milk_color.pcd": ("binary_compressed", 13704, 13704, [-0.1401, -0.2638, 0.714], [0.0138, -0.0117, 0.891]),
    "noisy_slice_displaced.pcd": ("binary_compressed", 3782, 3782, [0.9429, 0.6897, 1.2435], [1.0561, 0.7996, 1.3118]),
    "octants.pcd": ("ascii", 8, 8, [-9.0, -9.0, -9.0], [9.0, -3.0, -3.0]),
    "rops_cloud.pcd": ("ascii", 32087, 32087, [-0.4198, -0.2403, -1.4022], [0.4062, 0.2487, -1.0098]),
    "sac_plane_test.pcd": ("ascii", 3283, 3283, [0.6665, -0.5787, -0.3425], [1.4515, 0.4466, 0.3026]),
    "table_scene_mug_stereo_textured.pcd": ("binary_compressed", 307200, 209280, [-0.4564, -0.5107, 0.69],
                                            [0.7152, 0.1792, 2.5927]),
}


@pytest.fixture(scope="module")
def pcl(shared_data):
    return shared_data / "pcd" / "pcl"


@functools.lru_cache(maxsize=None)
def read_once(path):
    """The big real files are read once per session (the PointCloud is not modified)."""
    return read_pcd(path)


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_files_read_with_the_right_counts_and_extent(pcl, name):
    encoding, n, finite, lo, hi = REAL[name]
    cloud = read_once(pcl / name)
    assert cloud.header["data"] == encoding
    assert len(cloud) == n and cloud.xyz.shape == (n, 3) and cloud.xyz.dtype == np.float32
    ok = np.isfinite(cloud.xyz).all(axis=1)
    assert ok.sum() == finite
    np.testing.assert_allclose(cloud.xyz[ok].min(axis=0), lo, atol=6e-5)
    np.testing.assert_allclose(cloud.xyz[ok].max(axis=0), hi, atol=6e-5)


@pytest.mark.parametrize("name", [n for n, v in REAL.items() if v[0] == "ascii"])
def test_ascii_values_match_a_plain_line_parser(pcl, name):
    lines = pcl.joinpath(name).read_text().splitlines()
    body = lines[next(i for i, line in enumerate(lines) if line.startswith("DATA")) + 1:]
    expected = np.array([[float(v) for v in line.split()] for line in body if line.strip()], np.float32)
    cloud = read_pcd(pcl / name)
    got = np.stack([cloud[f] for f in cloud.fields], axis=1)
    np.testing.assert_array_equal(got, expected)


def test_same_cloud_in_two_files_reads_the_same(pcl):
    # bun0 (v0.7, with normals) and bunny (v.5, no COUNT/VIEWPOINT) hold the same points
    np.testing.assert_array_equal(read_pcd(pcl / "bun0.pcd").xyz, read_pcd(pcl / "bunny.pcd").xyz)
    assert read_pcd(pcl / "bunny.pcd").header["version"] == ".5"
    # milk (x y z) and milk_color (x y z rgba), both LZF compressed, share their coordinates
    np.testing.assert_array_equal(read_pcd(pcl / "milk.pcd").xyz, read_pcd(pcl / "milk_color.pcd").xyz)


def test_binary_records_match_struct_unpacking(pcl):
    raw = (pcl / "colored_cloud.pcd").read_bytes()
    start = raw.index(b"DATA binary\n") + len(b"DATA binary\n")
    cloud = read_pcd(pcl / "colored_cloud.pcd")
    assert cloud.fields == ["x", "y", "z", "rgb", "normal_x", "normal_y", "normal_z", "curvature"]
    for i in (0, 1, 517, 999):
        x, y, z, rgb, nx, ny, nz, c = struct.unpack_from("<fffIffff", raw, start + 32 * i)
        assert (cloud["x"][i], cloud["y"][i], cloud["z"][i]) == (np.float32(x), np.float32(y), np.float32(z))
        assert cloud["rgb"][i] == rgb and cloud["curvature"][i] == np.float32(c)
        assert tuple(cloud.rgb[i]) == ((rgb >> 16) & 255, (rgb >> 8) & 255, rgb & 255)
    assert cloud.normals.shape == (1000, 3)
    np.testing.assert_allclose(np.linalg.norm(cloud.normals, axis=1), 1, atol=1e-3)


def test_organized_cloud_keeps_its_nan_pixels(pcl):
    cloud = read_once(pcl / "table_scene_mug_stereo_textured.pcd")
    assert cloud.is_organized and (cloud.width, cloud.height) == (640, 480)
    x = cloud.grid("x")
    assert x.shape == (480, 640)
    missing = np.isnan(cloud.xyz)
    assert missing.any(axis=1).sum() == 307200 - 209280
    assert (missing.any(axis=1) == missing.all(axis=1)).all()   # a missing pixel lacks x, y and z
    assert cloud.rgb.dtype == np.uint8 and cloud.rgb.shape == (307200, 3)


def test_real_file_rewritten_in_every_encoding_reads_back_identically(pcl, tmp_path):
    cloud = read_pcd(pcl / "milk_color.pcd")
    for encoding in ("ascii", "binary", "binary_compressed"):
        path = write_pcd(tmp_path / f"{encoding}.pcd", cloud.data, encoding)
        again = read_pcd(path)
        assert again.header["data"] == encoding and again.fields == cloud.fields
        assert again.data.tobytes() == cloud.data.tobytes()


def test_organized_write_and_read(tmp_path):
    z = np.arange(12, dtype=np.float32)
    z[[3, 7]] = np.nan
    path = write_pcd(tmp_path / "o.pcd", {"x": z, "y": z, "z": z}, "binary_compressed", width=4, height=3)
    cloud = read_pcd(path)
    assert (cloud.width, cloud.height) == (4, 3)
    np.testing.assert_array_equal(cloud.grid("z"), z.reshape(3, 4))


def test_rgb_packing():
    rgb = np.array([[255, 0, 0], [1, 2, 3]], np.uint8)
    packed = pack_rgb(rgb)
    assert packed[0] == 0xFFFF0000
    np.testing.assert_array_equal(unpack_rgb(packed.view(np.float32))[:, :3], rgb)


# ----------------------------------------------------------------------------- round trips

FIELD_TYPES = [np.float32, np.float64, np.uint8, np.uint16, np.uint32, np.uint64,
               np.int8, np.int16, np.int32, np.int64]


@st.composite
def field_sets(draw):
    """Random field names, types, COUNTs and values (floats with NaN, inf, -0, extremes)."""
    n = draw(st.integers(0, 40))
    names = draw(st.lists(st.sampled_from(["x", "y", "z", "normal_x", "rgb", "intensity", "curvature",
                                           "label", "t", "ring"]), min_size=1, max_size=6, unique=True))
    fields = {}
    for name in names:
        dtype = np.dtype(draw(st.sampled_from(FIELD_TYPES)))
        count = draw(st.sampled_from([1, 1, 2, 3]))
        if dtype.kind == "f":
            width = dtype.itemsize * 8
            element = st.floats(width=width, allow_nan=True, allow_infinity=True)
        else:
            info = np.iinfo(dtype)
            element = st.integers(int(info.min), int(info.max))
        values = draw(st.lists(element, min_size=n * count, max_size=n * count))
        array = np.array(values, dtype=dtype)
        fields[name] = array.reshape(n, count) if count > 1 else array
    return fields


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fields=field_sets(), encoding=st.sampled_from(["ascii", "binary", "binary_compressed"]))
def test_written_fields_read_back_identically(tmp_path, fields, encoding):
    path = write_pcd(tmp_path / "r.pcd", fields, encoding)
    cloud = read_pcd(path)
    assert cloud.fields == list(fields) and len(cloud) == len(next(iter(fields.values())))
    for name, values in fields.items():
        assert cloud[name].dtype == values.dtype and cloud[name].shape == values.shape
        if values.dtype.kind == "f":   # NaN payloads are not kept in ascii; everything else is
            same = (cloud[name] == values) | (np.isnan(cloud[name]) & np.isnan(values))
            assert same.all() and (np.signbit(cloud[name]) == np.signbit(values))[~np.isnan(values)].all()
        else:
            np.testing.assert_array_equal(cloud[name], values)


def test_writer_rejects_what_pcd_cannot_hold(tmp_path):
    with pytest.raises(ValueError, match="encoding"):
        write_pcd(tmp_path / "a.pcd", {"x": np.zeros(2, np.float32)}, "zip")
    with pytest.raises(ValueError, match="dtype"):
        write_pcd(tmp_path / "a.pcd", {"x": np.zeros(2, np.float16)})
    with pytest.raises(ValueError, match="shape"):
        write_pcd(tmp_path / "a.pcd", {"x": np.zeros(2, np.float32), "y": np.zeros(3, np.float32)})
    with pytest.raises(ValueError, match="WIDTH"):
        write_pcd(tmp_path / "a.pcd", {"x": np.zeros(6, np.float32)}, width=4, height=2)


def test_reader_errors_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_pcd(tmp_path / "missing.pcd")
    path = write_pcd(tmp_path / "t.pcd", {"x": np.arange(10, dtype=np.float32)}, "binary")
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(ValueError, match="binary data holds"):
        read_pcd(path)
    (tmp_path / "junk.pcd").write_text("hello\nworld\n")
    with pytest.raises(ValueError, match="t.pcd|junk.pcd"):
        read_pcd(tmp_path / "junk.pcd")


@pytest.mark.parametrize("encoding", ["ascii", "binary"])
@pytest.mark.parametrize("points", [9, 11])
def test_a_header_that_miscounts_the_data_is_refused_not_truncated(tmp_path, encoding, points):
    path = write_pcd(tmp_path / "t.pcd", {"x": np.arange(10, dtype=np.float32)}, encoding)
    path.write_bytes(path.read_bytes().replace(b"WIDTH 10", b"WIDTH %d" % points).replace(b"POINTS 10", b"POINTS %d" % points))
    with pytest.raises(ValueError, match=f"{path}: .*data holds .*{points}"):
        read_pcd(path)
    path.write_bytes(path.read_bytes().replace(b"WIDTH %d" % points, b"WIDTH 10"))
    with pytest.raises(ValueError, match=f"POINTS {points} but WIDTH 10 x HEIGHT 1"):
        read_pcd(path)


def test_lenient_ascii_ints_written_as_floats_and_wrapped_lines(tmp_path):
    header = "VERSION .7\nFIELDS x label\nSIZE 4 1\nTYPE F U\nWIDTH 3\nHEIGHT 1\nPOINTS 3\nDATA ascii\n"
    (tmp_path / "l.pcd").write_text(header + "0.5 1.0\n-2 0\n1e-3\n2\n")
    cloud = read_pcd(tmp_path / "l.pcd")
    np.testing.assert_array_equal(cloud["x"], np.array([0.5, -2, 1e-3], np.float32))
    np.testing.assert_array_equal(cloud["label"], [1, 0, 2])
    (tmp_path / "s.pcd").write_text(header + "0.5 1\n")
    with pytest.raises(ValueError, match="ascii data"):
        read_pcd(tmp_path / "s.pcd")


def test_padding_fields_are_skipped(tmp_path):
    header = "VERSION 0.7\nFIELDS x _ y\nSIZE 4 2 4\nTYPE F U F\nCOUNT 1 1 1\nWIDTH 2\nHEIGHT 1\nPOINTS 2\nDATA binary\n"
    body = struct.pack("<fHf", 1.5, 7, 2.5) + struct.pack("<fHf", -1.0, 7, 3.0)
    (tmp_path / "p.pcd").write_bytes(header.encode() + body)
    cloud = read_pcd(tmp_path / "p.pcd")
    assert cloud.fields == ["x", "y"]
    np.testing.assert_array_equal(cloud["y"], [2.5, 3.0])


# ------------------------------------------------------------------------------------- LZF

EDGE = [b"", b"a", b"ab", b"abc", b"abcabcabcabc", b"a" * 1000, bytes(20000), bytes(range(256)) * 50,
        np.random.default_rng(0).integers(0, 3, 9000).astype(np.uint8).tobytes()]


@pytest.mark.parametrize("data", EDGE, ids=range(len(EDGE)))
def test_lzf_round_trip_edge_cases(data):
    packed = _lzf._compress(data)
    assert _lzf._decompress(packed, len(data)) == data
    if len(data) > 1000:
        assert len(packed) < len(data)  # repetitive input does compress


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=3000), st.integers(1, 9))
def test_lzf_round_trip_random(data, repeat):
    data = data * repeat              # repeats give back references, long ones up to 264 bytes
    assert _lzf._decompress(_lzf._compress(data), len(data)) == data


def test_lzf_hand_made_stream_with_overlapping_reference():
    # literal "ab", then a reference of 2+4 bytes at distance 2 (overlaps its own output)
    stream = bytes([1]) + b"ab" + bytes([(4 << 5) | 0, 1])
    assert _lzf._decompress(stream, 8) == b"abababab"


@pytest.mark.parametrize("stream, size", [(bytes([5]) + b"ab", 6), (bytes([0x20, 5]), 3), (bytes([0]) + b"a", 2)])
def test_lzf_rejects_broken_streams(stream, size):
    with pytest.raises(ValueError):
        _lzf._decompress(stream, size)


def test_lzf_agrees_with_liblzf_when_installed():
    clzf = pytest.importorskip("lzf")  # python-lzf, the C liblzf binding (optional)
    rng = np.random.default_rng(1)
    for data in EDGE[1:] + [np.round(rng.normal(size=30000), 2).astype(np.float32).tobytes()]:
        assert clzf.decompress(_lzf._compress(data), len(data)) == data
        packed = clzf.compress(data, len(data) * 2 + 64)
        assert _lzf._decompress(packed, len(data)) == data
