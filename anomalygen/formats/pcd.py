"""PCD (PCL's Point Cloud Data format, v0.5-v0.7): reader and writer for all three encodings.

A PCD file is a text header (``VERSION FIELDS SIZE TYPE COUNT WIDTH HEIGHT VIEWPOINT POINTS
DATA``) followed by the points:

* ``ascii``: one point a line, values separated by spaces (``nan`` for missing values);
* ``binary``: the points' records back to back, little-endian, no padding (array of structs);
* ``binary_compressed``: two uint32 (compressed size, uncompressed size) then an LZF stream
  that expands to the fields one after another (struct of arrays: all x, then all y, ...).

TYPE F/I/U with SIZE 1/2/4/8 (F only 4/8) maps to numpy ``<f4 <f8 <i1 .. <u8``; COUNT > 1
makes a sub-array field. Fields named ``_`` are PCL's padding and are dropped when read.
Organized clouds (HEIGHT > 1) keep their NaN points; ``PointCloud.grid`` gives the image.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from anomalygen.formats import _lzf

ENCODINGS = ("ascii", "binary", "binary_compressed")
_HEADER_KEYS = ("VERSION", "FIELDS", "SIZE", "TYPE", "COUNT", "WIDTH", "HEIGHT", "VIEWPOINT", "POINTS", "DATA")
_TYPES = {("F", 4): "<f4", ("F", 8): "<f8", ("I", 1): "i1", ("I", 2): "<i2", ("I", 4): "<i4", ("I", 8): "<i8",
          ("U", 1): "u1", ("U", 2): "<u2", ("U", 4): "<u4", ("U", 8): "<u8"}
# enough significant digits that every value reads back bit-identical (NaN as "nan")
_ASCII_FORMAT = {"f": {4: "%.9g", 8: "%.17g"}, "i": "%d", "u": "%d"}


@dataclass
class PointCloud:
    """A read PCD file: ``header`` as parsed and ``data``, a structured (N,) array of fields."""

    header: dict
    data: np.ndarray

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.data[name]

    @property
    def fields(self) -> list[str]:
        return list(self.data.dtype.names)

    @property
    def width(self) -> int:
        return self.header["width"]

    @property
    def height(self) -> int:
        return self.header["height"]

    @property
    def is_organized(self) -> bool:
        return self.header["height"] > 1

    @property
    def xyz(self) -> np.ndarray:
        """(N, 3) coordinates in the file's float type (float32 for F4), NaNs kept."""
        return _stack(self.data, ("x", "y", "z"))

    @property
    def normals(self) -> np.ndarray | None:
        """(N, 3) ``normal_x/y/z`` or None when the file has no normals."""
        names = ("normal_x", "normal_y", "normal_z")
        return _stack(self.data, names) if all(n in self.fields for n in names) else None

    @property
    def rgb(self) -> np.ndarray | None:
        """(N, 3) uint8 colours unpacked from an ``rgb``/``rgba`` field (float or uint32 packed)."""
        for name in ("rgb", "rgba"):
            if name in self.fields:
                return unpack_rgb(self.data[name])[:, :3]
        return None

    def grid(self, name: str) -> np.ndarray:
        """One field as an image, (HEIGHT, WIDTH[, COUNT])."""
        column = self.data[name]
        return column.reshape((self.height, self.width) + column.shape[1:])


def _stack(data: np.ndarray, names) -> np.ndarray:
    missing = [n for n in names if n not in data.dtype.names]
    if missing:
        raise KeyError(f"PCD has no field(s) {missing}; fields are {list(data.dtype.names)}")
    return np.stack([data[n] for n in names], axis=1)


def pack_rgb(rgb: np.ndarray, alpha: np.ndarray | int = 255) -> np.ndarray:
    """(N, 3) uint8 -> (N,) uint32 ``0xAARRGGBB`` as PCL packs it; ``.view(np.float32)`` for F4 rgb."""
    rgb = np.asarray(rgb, np.uint32)
    return (np.asarray(alpha, np.uint32) << 24) | (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]


def unpack_rgb(packed: np.ndarray) -> np.ndarray:
    """(N,) packed rgb(a) as float32 or uint32 bits -> (N, 4) uint8 ``r, g, b, a``."""
    packed = np.ascontiguousarray(packed)
    if packed.dtype.itemsize != 4:
        raise ValueError(f"packed rgb must be 4 bytes a point, got {packed.dtype}")
    bits = packed.view(np.uint32)
    return np.stack([(bits >> 16) & 255, (bits >> 8) & 255, bits & 255, bits >> 24], axis=1).astype(np.uint8)


# --------------------------------------------------------------------------------- reading

def _parse_header(raw: bytes, path: Path) -> tuple[dict, int]:
    """Header lines up to and including DATA -> (header dict, byte offset of the data)."""
    header: dict = {}
    pos = 0
    while "data" not in header:
        end = raw.find(b"\n", pos)
        if end < 0:
            if pos < len(raw):  # a DATA line as the very last line, without a newline
                end = len(raw)
            else:
                raise ValueError(f"{path}: not a PCD file (no DATA line in the header)")
        line = raw[pos:end].decode("ascii", "replace").strip()
        pos = end + 1
        if not line or line.startswith("#"):
            continue
        key, *values = line.split()
        key = key.upper()
        if key not in _HEADER_KEYS:
            raise ValueError(f"{path}: unknown PCD header line {line[:60]!r}")
        header[key.lower()] = values
    return _normalise_header(header, path), min(pos, len(raw))


def _normalise_header(h: dict, path: Path) -> dict:
    try:
        fields = h["fields"]
        n = len(fields)
        size = [int(v) for v in h.get("size", ["4"] * n)]
        types = [v.upper() for v in h.get("type", ["F"] * n)]
        count = [int(v) for v in h.get("count", ["1"] * n)]
        width = int(h["width"][0])
        height = int(h.get("height", ["1"])[0])
        points = int(h["points"][0]) if "points" in h else width * height
        viewpoint = [float(v) for v in h.get("viewpoint", [0, 0, 0, 1, 0, 0, 0])]
        encoding = h["data"][0].lower()
    except (KeyError, IndexError, ValueError) as error:
        raise ValueError(f"{path}: malformed PCD header ({type(error).__name__}: {error})") from None
    if not (len(size) == len(types) == len(count) == n):
        raise ValueError(f"{path}: FIELDS, SIZE, TYPE and COUNT have different lengths")
    for t, s in zip(types, size):
        if (t, s) not in _TYPES:
            raise ValueError(f"{path}: unsupported TYPE {t} with SIZE {s}")
    if encoding not in ENCODINGS:
        raise ValueError(f"{path}: unknown DATA encoding {encoding!r}")
    if points != width * height:
        raise ValueError(f"{path}: POINTS {points} but WIDTH {width} x HEIGHT {height} = {width * height}")
    return {"version": h.get("version", [""])[0], "fields": fields, "size": size, "type": types,
            "count": count, "width": width, "height": height, "viewpoint": viewpoint,
            "points": points, "data": encoding}


def _record_dtype(header: dict) -> tuple[np.dtype, list[str]]:
    """Packed record dtype of the file (padding fields renamed uniquely) and the names kept."""
    names, formats, kept = [], [], []
    for i, (name, t, s, c) in enumerate(zip(header["fields"], header["type"], header["size"], header["count"])):
        unique = name if name != "_" else f"_pad{i}"
        if unique in names:
            raise ValueError(f"field {name!r} appears twice in FIELDS")
        names.append(unique)
        formats.append((_TYPES[(t, s)], (c,)) if c > 1 else _TYPES[(t, s)])
        if name != "_":
            kept.append(unique)
    return np.dtype({"names": names, "formats": formats}), kept


def read_pcd(path: str | Path) -> PointCloud:
    """Read a PCD file of any encoding into a :class:`PointCloud` (ValueError when malformed)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such PCD file")
    raw = path.read_bytes()
    header, offset = _parse_header(raw, path)
    dtype, kept = _record_dtype(header)
    n = header["points"]
    body = memoryview(raw)[offset:]
    try:
        records = _DECODERS[header["data"]](body, dtype, n)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    if kept != list(dtype.names):
        records = _select(records, kept)
    return PointCloud(header, records)


def _select(records: np.ndarray, names: list[str]) -> np.ndarray:
    out = np.empty(len(records), np.dtype([(n, records.dtype[n]) for n in names]))
    for n in names:
        out[n] = records[n]
    return out


def _decode_binary(body: memoryview, dtype: np.dtype, n: int) -> np.ndarray:
    need = n * dtype.itemsize
    if len(body) != need:   # more bytes than POINTS need: the header undercounts, do not truncate
        raise ValueError(f"binary data holds {len(body)} bytes, the {n} points of the header need {need}")
    return np.frombuffer(body, dtype, count=n).copy()


def _decode_compressed(body: memoryview, dtype: np.dtype, n: int) -> np.ndarray:
    if len(body) < 8:
        raise ValueError("binary_compressed data lacks its 8-byte size header")
    packed, unpacked = struct.unpack("<II", body[:8])
    need = n * dtype.itemsize
    if unpacked != need:
        raise ValueError(f"binary_compressed expands to {unpacked} bytes, {n} points need {need}")
    if len(body) - 8 < packed:
        raise ValueError(f"binary_compressed stream truncated ({len(body) - 8} of {packed} bytes)")
    soa = _lzf.decompress(body[8 : 8 + packed], unpacked) if unpacked else b""
    records = np.empty(n, dtype)
    start = 0
    for name in dtype.names:  # fields stored one after the other, each for all points
        field = dtype[name]
        count = n * int(np.prod(field.shape))
        records[name] = np.frombuffer(soa, field.base, count=count, offset=start).reshape((n,) + field.shape)
        start += n * field.itemsize
    return records


def _decode_ascii(body: memoryview, dtype: np.dtype, n: int) -> np.ndarray:
    if n == 0:
        return np.empty(0, dtype)
    try:  # numpy's C parser, each column by its own type (uint64 stays exact); one row more
        # than POINTS so that a header that undercounts is caught, not silently truncated
        records = np.loadtxt(io.BytesIO(body), dtype=dtype, ndmin=1, max_rows=n + 1, comments=None)
    except ValueError:  # e.g. "3.0" in an integer field, or points wrapped over lines
        records = _decode_ascii_tokens(body, dtype, n)
    if len(records) > n:
        raise ValueError(f"ascii data holds more points than the {n} the header says")
    if len(records) < n:
        raise ValueError(f"ascii data holds {len(records)} points, the header says {n}")
    return records


def _decode_ascii_tokens(body: memoryview, dtype: np.dtype, n: int) -> np.ndarray:
    """Slower, lenient ascii parsing: whitespace-separated values in field order."""
    columns = [(name, dtype[name].base, int(np.prod(dtype[name].shape))) for name in dtype.names]
    width = sum(c for _, _, c in columns)
    tokens = bytes(body).split()
    if len(tokens) != n * width:
        raise ValueError(f"ascii data holds {len(tokens)} values, {n} points of {width} need {n * width}")
    table = np.array(tokens[: n * width], dtype=bytes).reshape(n, width)
    records = np.empty(n, dtype)
    col = 0
    for name, base, count in columns:
        text = table[:, col : col + count]
        # floats parse via float64, exact for the <= 17 digits writers print
        values = text.astype(np.float64).astype(base) if base.kind == "f" else _parse_ints(text, base)
        records[name] = values.reshape((n,) + dtype[name].shape)
        col += count
    return records


def _parse_ints(text: np.ndarray, base: np.dtype) -> np.ndarray:
    try:
        return text.astype(base)
    except (ValueError, OverflowError):  # e.g. "3.0" written for an integer field
        return text.astype(np.float64).astype(base)


_DECODERS = {"ascii": _decode_ascii, "binary": _decode_binary, "binary_compressed": _decode_compressed}


# --------------------------------------------------------------------------------- writing

def _as_records(fields: Mapping[str, np.ndarray] | np.ndarray) -> np.ndarray:
    """A dict of (N,) / (N, k) arrays or a structured array -> packed little-endian records."""
    if isinstance(fields, np.ndarray) and fields.dtype.names:
        items = [(name, fields[name]) for name in fields.dtype.names]
    elif isinstance(fields, Mapping):
        items = [(name, np.asarray(values)) for name, values in fields.items()]
    else:
        raise ValueError("write_pcd needs a dict of arrays or a structured array")
    if not items:
        raise ValueError("write_pcd needs at least one field")
    n = len(items[0][1])
    spec = []
    for name, values in items:
        if not name or any(ch.isspace() for ch in name):
            raise ValueError(f"PCD field names cannot be empty or hold spaces: {name!r}")
        if len(values) != n or values.ndim > 2:
            raise ValueError(f"field {name!r}: shape {values.shape}, expected ({n},) or ({n}, k)")
        base = np.dtype(np.uint8) if values.dtype == bool else values.dtype
        if base.kind not in "fiu" or (base.kind == "f" and base.itemsize not in (4, 8)):
            raise ValueError(f"field {name!r}: dtype {values.dtype} has no PCD TYPE (use float32/64 or ints)")
        shape = values.shape[1:]
        spec.append((name, base.newbyteorder("<"), shape))
    out = np.empty(n, np.dtype([(name, base, shape) for name, base, shape in spec]))
    for name, values in items:
        out[name] = values
    return out


def _header_text(records: np.ndarray, width: int, height: int, viewpoint, encoding: str) -> bytes:
    dtype = records.dtype
    fields = [dtype[n] for n in dtype.names]
    line = lambda key, values: f"{key} " + " ".join(str(v) for v in values)
    lines = [
        "# .PCD v0.7 - Point Cloud Data file format",
        "VERSION 0.7",
        line("FIELDS", dtype.names),
        line("SIZE", [f.base.itemsize for f in fields]),
        line("TYPE", [{"f": "F", "i": "I", "u": "U"}[f.base.kind] for f in fields]),
        line("COUNT", [f.shape[0] if f.shape else 1 for f in fields]),
        f"WIDTH {width}",
        f"HEIGHT {height}",
        line("VIEWPOINT", [f"{v:g}" for v in viewpoint]),
        f"POINTS {len(records)}",
        f"DATA {encoding}",
    ]
    return ("\n".join(lines) + "\n").encode("ascii")


def ascii_columns(records: np.ndarray) -> tuple[str, list[list]]:
    """The ``%`` format of one ascii line and its columns as Python lists (shared with GT txt)."""
    formats, columns = [], []
    for name in records.dtype.names:
        field = records.dtype[name]
        fmt = _ASCII_FORMAT[field.base.kind]
        fmt = fmt[field.base.itemsize] if isinstance(fmt, dict) else fmt
        values = records[name].reshape(len(records), int(np.prod(field.shape)))
        for k in range(values.shape[1]):
            formats.append(fmt)
            columns.append(values[:, k].tolist())  # float32 -> exact Python float
    return " ".join(formats), columns


def format_rows(fmt: str, columns: list[list]) -> str:
    """Rows of ``columns`` printed with ``fmt``, newline terminated."""
    return "".join(fmt % row + "\n" for row in zip(*columns))


def write_pcd(path: str | Path, fields: Mapping[str, np.ndarray] | np.ndarray, encoding: str = "binary",
              width: int | None = None, height: int | None = None,
              viewpoint=(0, 0, 0, 1, 0, 0, 0)) -> Path:
    """Write ``fields`` (name -> (N,) or (N, k) array, or a structured array) as a PCD file.

    ``encoding`` is ``binary`` (default), ``ascii`` or ``binary_compressed``. ``width`` x
    ``height`` default to N x 1 (unorganized); give both for an organized cloud.
    """
    if encoding not in ENCODINGS:
        raise ValueError(f"unknown PCD encoding {encoding!r}; use one of {ENCODINGS}")
    records = _as_records(fields)
    n = len(records)
    if width is None and height is None:
        width, height = n, 1
    elif width is None or height is None:
        width, height = (n // height, height) if width is None else (width, n // max(width, 1))
    if width * height != n:
        raise ValueError(f"WIDTH {width} x HEIGHT {height} != {n} points")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(_header_text(records, width, height, viewpoint, encoding))
        if encoding == "binary":
            f.write(records.tobytes())
        elif encoding == "binary_compressed":
            soa = b"".join(np.ascontiguousarray(records[name]).tobytes() for name in records.dtype.names)
            packed = _lzf.compress(soa) if soa else b""
            f.write(struct.pack("<II", len(packed), len(soa)) + packed)
        else:
            fmt, columns = ascii_columns(records)
            f.write(format_rows(fmt, columns).encode("ascii"))
    return path
