"""Other on-disk formats: PCD files and the field's folder layouts, both ways.

``export_dataset(src_dir, fmt, dest)`` writes a shard folder as ``fmt``;
``import_dataset(src, fmt, out_dir)`` reads a release folder into shards. ``fmt`` is one of
:data:`EXPORT_FORMATS` / :data:`IMPORT_FORMATS`. Both return a small summary dict and raise
ValueError (bad format, options or content) or FileNotFoundError (missing input).
"""

from __future__ import annotations

import importlib

from anomalygen.formats.pcd import ENCODINGS
from anomalygen.formats.trees import LAYOUTS as _TREES

# format -> module with export() / import_()  (imported lazily: pcd readers need no h5py)
_MODULES = {"anomaly-shapenet": "anomaly_shapenet", "real3d-ad": "real3d_ad", "ply": "ply"}
EXPORT_FORMATS = ("anomaly-shapenet", "real3d-ad", "ply")
IMPORT_FORMATS = ("anomaly-shapenet", "real3d-ad")
# anomaly-shapenet's export flavours
LAYOUTS = tuple(_TREES)
GT_DELIMITERS = {"comma": ",", "space": " "}
# format -> the export options it takes
_FOLDER_OPTIONS = ("encoding", "normals", "meshes", "recipe", "cache_dir", "overwrite")
EXPORT_OPTIONS = {"anomaly-shapenet": _FOLDER_OPTIONS + ("layout", "gt_delimiter"),
                  "real3d-ad": _FOLDER_OPTIONS + ("ply_templates",),
                  "ply": ("overwrite",)}


def _module(fmt: str, allowed: tuple[str, ...], verb: str):
    if fmt not in allowed:
        raise ValueError(f"cannot {verb} format {fmt!r}; choose one of {', '.join(allowed)}")
    return importlib.import_module(f"{__name__}.{_MODULES[fmt]}")


def export_dataset(src_dir, fmt: str, dest, **options) -> dict:
    """Write the shards under ``src_dir`` to ``dest`` in format ``fmt``; returns a summary.

    Options (:data:`EXPORT_OPTIONS` says which a format takes): ``encoding`` ("ascii" |
    "binary" | "binary_compressed"), ``normals`` (bool), ``meshes`` (bool), ``recipe`` (the
    recipe file that regenerates meshes the shards did not keep), ``cache_dir``, ``overwrite``
    (bool); anomaly-shapenet: ``layout`` (:data:`LAYOUTS`), ``gt_delimiter``
    (:data:`GT_DELIMITERS`); real3d-ad: ``ply_templates`` (bool).
    """
    module = _module(fmt, EXPORT_FORMATS, "export")
    foreign = sorted(set(options) - set(EXPORT_OPTIONS[fmt]))
    if foreign:
        raise ValueError(f"option(s) {', '.join(foreign)} do not apply to format {fmt}")
    return module.export(src_dir, dest, **options)


def import_dataset(src, fmt: str, out_dir, **options) -> dict:
    """Read a release folder ``src`` in format ``fmt`` into shards under ``out_dir``.

    Options: ``normals`` ("estimate" | "zeros"), ``points`` ("auto" | "pcd" | "gt"),
    ``tolerance`` (GT match distance / bounding-box diagonal), ``meshes``, ``shard_size``,
    ``overwrite``. Returns a summary; per-sample details and failures are in the manifest.
    A folder written by :func:`export_dataset` is restored from its ``anomalygen.json``.
    """
    return _module(fmt, IMPORT_FORMATS, "import").import_(src, out_dir, **options)


__all__ = ["ENCODINGS", "EXPORT_FORMATS", "EXPORT_OPTIONS", "GT_DELIMITERS", "IMPORT_FORMATS", "LAYOUTS", "export_dataset",
           "import_dataset"]
