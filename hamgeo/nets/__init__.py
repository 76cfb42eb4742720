"""Networks whose activation codes hamgeo studies: ReLU nets and binarized nets.

* [`hamgeo.nets.relu`][hamgeo.nets.relu]: [`MLP`][hamgeo.nets.relu.MLP],
  [`CNN`][hamgeo.nets.relu.CNN], [`ResidualCNN`][hamgeo.nets.relu.ResidualCNN].
* [`hamgeo.nets.binary`][hamgeo.nets.binary]: [`sign_ste`][hamgeo.nets.binary.sign_ste],
  [`BinaryDense`][hamgeo.nets.binary.BinaryDense], [`BinaryConv`][hamgeo.nets.binary.BinaryConv],
  [`BinaryMLP`][hamgeo.nets.binary.BinaryMLP], [`BinaryCNN`][hamgeo.nets.binary.BinaryCNN],
  [`clip_latent_weights`][hamgeo.nets.binary.clip_latent_weights],
  [`binary_layer_io`][hamgeo.nets.binary.binary_layer_io].
* [`hamgeo.nets.extract`][hamgeo.nets.extract]:
  [`preactivations`][hamgeo.nets.extract.preactivations],
  [`activation_codes`][hamgeo.nets.extract.activation_codes],
  [`layer_slices`][hamgeo.nets.extract.layer_slices].
* [`hamgeo.nets.train`][hamgeo.nets.train]: [`train`][hamgeo.nets.train.train],
  [`accuracy`][hamgeo.nets.train.accuracy], [`label_noise`][hamgeo.nets.train.label_noise].
* [`hamgeo.nets.batched`][hamgeo.nets.batched]: [`train_many`][hamgeo.nets.batched.train_many] (many
  same-shaped models at once), [`make_epoch`][hamgeo.nets.batched.make_epoch];
  [`hamgeo.nets.stacked`][hamgeo.nets.stacked]: [`init_many`][hamgeo.nets.stacked.init_many],
  [`mask_mlp_widths`][hamgeo.nets.stacked.mask_mlp_widths],
  [`accuracy_many`][hamgeo.nets.stacked.accuracy_many],
  [`activation_codes_many`][hamgeo.nets.stacked.activation_codes_many].
* [`hamgeo.nets.checkpoint`][hamgeo.nets.checkpoint]: [`save`][hamgeo.nets.checkpoint.save],
  [`load`][hamgeo.nets.checkpoint.load] (msgpack + checksum, no pickle).
"""

from hamgeo.nets.batched import ManyTrainResult as ManyTrainResult
from hamgeo.nets.batched import make_epoch as make_epoch
from hamgeo.nets.batched import train_many as train_many
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
from hamgeo.nets.stacked import accuracy_many as accuracy_many
from hamgeo.nets.stacked import activation_codes_many as activation_codes_many
from hamgeo.nets.stacked import init_many as init_many
from hamgeo.nets.stacked import mask_mlp_widths as mask_mlp_widths
from hamgeo.nets.train import TrainResult as TrainResult
from hamgeo.nets.train import accuracy as accuracy
from hamgeo.nets.train import label_noise as label_noise
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
    "ManyTrainResult",
    "NoMeanBatchNorm",
    "ResidualCNN",
    "TrainResult",
    "accuracy",
    "accuracy_many",
    "activation_codes",
    "activation_codes_many",
    "binary_layer_io",
    "clip_latent_weights",
    "init_many",
    "label_noise",
    "layer_slices",
    "load",
    "make_epoch",
    "make_train_step",
    "mask_mlp_widths",
    "model_config",
    "model_from_config",
    "preactivations",
    "save",
    "sign_ste",
    "train",
    "train_many",
]
