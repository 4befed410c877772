"""Files on disk: :mod:`~anomalygen.storage.atomic` (write beside, then rename into place) and
:mod:`~anomalygen.storage.ragged` (variable-length per-sample arrays in HDF5). Numpy and
h5py only; nothing here knows about samples, recipes or detectors."""
