"""IMRNet: iterative mask reconstruction for point-cloud anomaly detection, in plain PyTorch.

IMRNet (the Anomaly-ShapeNet paper's detector) was never released; this is an open
implementation from its description, with Point-MAE defaults where the paper is silent and
sizes scaled down so that a class trains on a 2-core CPU in minutes.

- :mod:`.config`: :class:`IMRNetConfig`, every option with its bounds.
- :mod:`.model`: the masked patch autoencoder (torch).
- :mod:`.anomaly_map`: two-way point-level discrepancy between a cloud and its reconstruction.
- :mod:`.reference`: what the maps look like on the training clouds, place by place.
- :mod:`.pretrained`: loading a pretrained checkpoint (``init``) to fine-tune.
- :mod:`.detector`: :class:`IMRNet`, which trains the model and scores clouds (the pipeline is
  described there).
"""

from anomalygen.detect.imrnet.config import ConfigError, IMRNetConfig
from anomalygen.detect.imrnet.detector import IMRNet, PatchFeatures, Reconstruction
from anomalygen.detect.imrnet.model import MaskedPointAutoencoder

__all__ = ["IMRNet", "IMRNetConfig", "ConfigError", "MaskedPointAutoencoder", "PatchFeatures", "Reconstruction"]
