"""Networks whose activation codes hamgeo studies: ReLU nets and binarized nets.

* :mod:`hamgeo.nets.relu`: :class:`MLP`, :class:`CNN`, :class:`ResidualCNN`.
* :mod:`hamgeo.nets.binary`: :func:`sign_ste`, :class:`BinaryDense`, :class:`BinaryConv`,
  :class:`BinaryMLP`, :class:`BinaryCNN`, :func:`clip_latent_weights`,
  :func:`binary_layer_io`.
* :mod:`hamgeo.nets.extract`: :func:`preactivations`, :func:`activation_codes`,
  :func:`layer_slices`.
* :mod:`hamgeo.nets.train`: :func:`train`, :func:`accuracy`.
* :mod:`hamgeo.nets.checkpoint`: :func:`save`, :func:`load` (msgpack + checksum, no pickle).
"""

from hamgeo.nets.binary import BinaryCNN as BinaryCNN
from hamgeo.nets.binary import BinaryConv as BinaryConv
from hamgeo.nets.binary import BinaryDense as BinaryDense
from hamgeo.nets.binary import BinaryLayerIO as BinaryLayerIO
from hamgeo.nets.binary import BinaryMLP as BinaryMLP
from hamgeo.nets.binary import NoMeanBatchNorm as NoMeanBatchNorm
from hamgeo.nets.binary import binary_layer_io as binary_layer_io
from hamgeo.nets.binary import clip_latent_weights as clip_latent_weights
from hamgeo.nets.binary import sign_ste as sign_ste
from hamgeo.nets.checkpoint import load as load
from hamgeo.nets.checkpoint import model_config as model_config
from hamgeo.nets.checkpoint import model_from_config as model_from_config
from hamgeo.nets.checkpoint import save as save
from hamgeo.nets.extract import activation_codes as activation_codes
from hamgeo.nets.extract import layer_slices as layer_slices
from hamgeo.nets.extract import preactivations as preactivations
from hamgeo.nets.relu import CNN as CNN
from hamgeo.nets.relu import MLP as MLP
from hamgeo.nets.relu import ResidualCNN as ResidualCNN
from hamgeo.nets.train import TrainResult as TrainResult
from hamgeo.nets.train import accuracy as accuracy
from hamgeo.nets.train import make_train_step as make_train_step
from hamgeo.nets.train import train as train

__all__ = [
    "CNN",
    "MLP",
    "BinaryCNN",
    "BinaryConv",
    "BinaryDense",
    "BinaryLayerIO",
    "BinaryMLP",
    "NoMeanBatchNorm",
    "ResidualCNN",
    "TrainResult",
    "accuracy",
    "activation_codes",
    "binary_layer_io",
    "clip_latent_weights",
    "layer_slices",
    "load",
    "make_train_step",
    "model_config",
    "model_from_config",
    "preactivations",
    "save",
    "sign_ste",
    "train",
]
