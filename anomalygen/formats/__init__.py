"""Other on-disk formats: PCD files and the field's folder layouts, both ways.

``export_dataset(src_dir, fmt, dest)`` writes a shard folder as ``fmt``;
``import_dataset(src, fmt, out_dir)`` reads a release folder into shards. ``fmt`` is one of
:data:`EXPORT_FORMATS` / :data:`IMPORT_FORMATS`. Both return a small summary dict and raise
ValueError (bad format, options or content) or FileNotFoundError (missing input).
"""

from __future__ import annotations

import importlib

# format -> module with export() / import_()  (imported lazily: pcd readers need no h5py)
_MODULES = {"anomaly-shapenet": "anomaly_shapenet", "real3d-ad": "real3d_ad", "ply": "ply"}
EXPORT_FORMATS = ("anomaly-shapenet", "real3d-ad", "ply")
IMPORT_FORMATS = ("anomaly-shapenet", "real3d-ad")


def _module(fmt: str, allowed: tuple[str, ...], verb: str):
    if fmt not in allowed:
        raise ValueError(f"cannot {verb} format {fmt!r}; choose one of {', '.join(allowed)}")
    return importlib.import_module(f"{__name__}.{_MODULES[fmt]}")


def export_dataset(src_dir, fmt: str, dest, **options) -> dict:
    """Write the shards under ``src_dir`` to ``dest`` in format ``fmt``; returns a summary.

    Options (anomaly-shapenet, real3d-ad): ``encoding`` ("ascii" | "binary" |
    "binary_compressed"), ``normals`` (bool), ``meshes`` (bool), ``overwrite`` (bool);
    ply: ``overwrite``.
    """
    return _module(fmt, EXPORT_FORMATS, "export").export(src_dir, dest, **options)


def import_dataset(src, fmt: str, out_dir, **options) -> dict:
    """Read a release folder ``src`` in format ``fmt`` into shards under ``out_dir``.

    Options: ``normals`` ("estimate" | "zeros"), ``points`` ("auto" | "pcd" | "gt"),
    ``tolerance`` (GT match distance / bounding-box diagonal), ``meshes``, ``shard_size``,
    ``overwrite``. Returns a summary; per-sample details and failures are in the manifest.
    A folder written by :func:`export_dataset` is restored from its ``anomalygen.json``.
    """
    return _module(fmt, IMPORT_FORMATS, "import").import_(src, out_dir, **options)


__all__ = ["EXPORT_FORMATS", "IMPORT_FORMATS", "export_dataset", "import_dataset"]
