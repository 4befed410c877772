"""anomalygen: synthetic 3D anomaly-detection benchmarks from edited meshes.

Data flows one way: recipe -> plan of sample jobs -> prepared mesh -> operator ->
sampled, labelled cloud -> HDF5 shards + manifest -> detectors and evaluation.
"""

__version__ = "0.1.0"


def open_dataset(path, **filters):
    """Open a generated folder (or one shard) for reading; see :mod:`anomalygen.shards`."""
    from anomalygen.shards import open_dataset as _open

    return _open(path, **filters)


__all__ = ["__version__", "open_dataset"]
