"""Scanner realism: what a sensor makes of a sample's surface.

* :mod:`~anomalygen.sensor.spec`: the recipe's ``sensor:`` section, per split;
* :mod:`~anomalygen.sensor.pose`: rigid poses (drawn per sample, applied to points);
* :mod:`~anomalygen.sensor.scan`: viewpoints, visibility, density and grazing dropout;
* :mod:`~anomalygen.sensor.noise`: range noise, outliers, quantisation;
* :mod:`~anomalygen.sensor.capture`: one sample through all of them, labels in between.

May import ``geometry``, ``checks`` and ``sample``; never the recipe, the plan or the pipeline.
"""
