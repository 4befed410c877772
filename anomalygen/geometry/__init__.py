"""The geometry toolkit shared by preparation, operators, formats and detectors.

Plain numpy arrays in and out, one concern per module:

* :mod:`~anomalygen.geometry.canonical`: snapping to a fixed grid and norms summed in a fixed
  order, so that discrete decisions are the same on every CPU;
* :mod:`~anomalygen.geometry.topology`: equal-row grouping, compaction, connected components,
  edges and rims;
* :mod:`~anomalygen.geometry.orientation`: coherent, outward face winding;
* :mod:`~anomalygen.geometry.frames`: tangent frames around a direction;
* :mod:`~anomalygen.geometry.sampling`: area-uniform random surface points;
* :mod:`~anomalygen.geometry.normals`: PCA normals of point clouds;
* :mod:`~anomalygen.geometry.rays`: the ray caster (trimesh's ray module);
* :mod:`~anomalygen.geometry.zbuffer`: the rays through one eye point at once (a face buffer).
"""
