"""Names, the configuration and the results of the BNN-geometry reproduction (the leaf)."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import numpy as np

from hamgeo._checks import (
    check_choice,
    check_int,
    check_positive_float,
    check_positive_int,
)
from hamgeo.experiments._common import check_n_seeds

__all__ = ["DATASETS", "DISTRIBUTIONS", "HIGHLY_CORRELATED", "LAYER_SCALARS", "NAME", "Config"]

NAME = "bnn-geometry"
DISTRIBUTIONS = ("uniform", "gaussian")
#: Data sets the main model can be trained on (``Config.data``).
DATASETS = ("digits", "mnist1d", "mnist", "fashion-mnist", "cifar10")
_NORMS = ("no-mean", "standard")
#: hamgeo's line for the paper's "highly correlated" (the paper gives no number).
HIGHLY_CORRELATED = 0.9

# Per-layer statistics of LayerPreservation that go into results.json (arrays stay out).
LAYER_SCALARS = (
    "dot_corr",
    "dot_corr_unit_q25",
    "dot_corr_unit_median",
    "dot_corr_unit_q75",
    "act_corr",
    "act_corr_unit_median",
    "random_corr",
    "random_abs_corr_unit_median",
    "isotropic_corr_median",
    "control_corr",
    "dot_scale",
    "weight_angle_deg",
)


def _check_widths(value: Any, name: str, *, allow_empty: bool = False) -> tuple[int, ...]:
    if not isinstance(value, tuple | list):
        raise TypeError(f"`{name}` must be a tuple of positive ints, got {type(value).__name__}")
    if not value and not allow_empty:
        raise ValueError(f"`{name}` must not be empty")
    return tuple(check_positive_int(v, f"{name}[{i}]") for i, v in enumerate(value))


def _check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"`{name}` must be a bool, got {type(value).__name__}")
    return bool(value)


@dataclasses.dataclass(frozen=True)
class Config:
    """Sizes of the BNN-geometry experiment; the defaults follow the paper where it says.

    The paper ([BNN-Geometry] in ``docs/references.md``) trains the CIFAR-10 network below
    and says it gets "similar results when training a MLP on MNIST"; it states no MLP
    widths, epochs or optimizer settings, so those are hamgeo's choices (named here).

    Attributes:
        dims: dimensions of the angle distributions (Fig. 2).
        n_angles: angles of each kind sampled per dimension and distribution.
        hist_bins: bins over [0, 180] degrees for the angle histograms and overlaps.
        data: the main model's data set, one of
        [`DATASETS`][hamgeo.experiments.bnn_geometry.DATASETS]: a
            [`BinaryMLP`][hamgeo.nets.BinaryMLP] for ``"digits"`` (offline; the default),
            ``"mnist1d"``, ``"mnist"`` and ``"fashion-mnist"``; the paper's CNN for
            ``"cifar10"``.
        data_root: cache root of the downloadable data sets (``None``: hamgeo's default,
            see [`hamgeo.data.cache_dir`][hamgeo.data.cache_dir]).
        download: download a missing data set (else a clear error names the files).
        n_seeds: independent repetitions (each redraws the angles and retrains every net).
        norm: batch norm of every BNN: ``"no-mean"`` (the paper's "batch norm without
            subtracting the mean", [`NoMeanBatchNorm`][hamgeo.nets.NoMeanBatchNorm]) or
            ``"standard"``.
        mlp_widths: hidden widths of the BinaryMLPs (hamgeo's choice).
        mlp_epochs: training epochs of the BinaryMLPs.
        cnn_channels: binary conv channels of the digits BinaryCNN (a side model).
        cnn_dense: binary dense widths of the digits BinaryCNN.
        cnn_epochs: its training epochs.
        batch_size: training mini-batch size (MLPs and the digits CNN).
        learning_rate: Adam step size (MLPs and the digits CNN).
        positions_per_example: conv output positions sampled per example.
        mnist1d: also train and analyse a BinaryMLP on MNIST-1D (a side model).
        cnn: also train and analyse the digits BinaryCNN (a side model).
        cifar_channels: conv channels of the CIFAR-10 network (the paper's by default:
            128C3-128C3-MP-256C3-256C3-MP-512C3-512C3-MP-1024FC-1024FC-10).
        cifar_dense: its dense widths.
        cifar_epochs: its training epochs.
        cifar_batch_size: its mini-batch size.
        cifar_learning_rate: its Adam step size.
        train_limit: use only this many training examples of MNIST, Fashion-MNIST or
            CIFAR-10 (``None``: all).
        eval_limit: test examples of those data sets used for the dot-product analysis
            and the accuracy (``None``: all).
        fanin_widths: the fan-in sweep that tests the paper's explanation of layer 1
            (hamgeo's): BinaryMLPs ``(w, fanin_next)`` on ``data``, their layer 2 read at
            fan-in ``w`` with the same input type (binary activations) at every ``w``.
            Empty: no sweep.
        fanin_next: the width of layer 2 of those nets.
    """

    dims: tuple[int, ...] = (2, 5, 10, 30, 100, 300, 1000, 3000)
    n_angles: int = 20_000
    hist_bins: int = 180
    data: str = "digits"
    data_root: str | None = None
    download: bool = True
    n_seeds: int = 3
    norm: Literal["no-mean", "standard"] = "no-mean"
    mlp_widths: tuple[int, ...] = (512, 512, 512)
    mlp_epochs: int = 40
    cnn_channels: tuple[int, ...] = (64, 128)
    cnn_dense: tuple[int, ...] = (256,)
    cnn_epochs: int = 30
    batch_size: int = 64
    learning_rate: float = 3e-3
    positions_per_example: int = 64
    mnist1d: bool = True
    cnn: bool = True
    cifar_channels: tuple[int, ...] = (128, 128, 256, 256, 512, 512)
    cifar_dense: tuple[int, ...] = (1024, 1024)
    cifar_epochs: int = 50
    cifar_batch_size: int = 100
    cifar_learning_rate: float = 1e-3
    train_limit: int | None = None
    eval_limit: int | None = 1000
    fanin_widths: tuple[int, ...] = (16, 32, 64, 128, 256, 512, 1024)
    fanin_next: int = 256

    def __post_init__(self) -> None:
        fix = object.__setattr__
        fix(self, "dims", _check_widths(self.dims, "dims"))
        for name in ("n_angles", "hist_bins", "mlp_epochs", "cnn_epochs"):
            check_positive_int(getattr(self, name), name)
        check_n_seeds(self.n_seeds)
        for name in ("batch_size", "positions_per_example", "cifar_epochs", "cifar_batch_size"):
            check_positive_int(getattr(self, name), name)
        check_choice("data", self.data, (*DATASETS, "fashion_mnist"))
        fix(self, "data", self.data.replace("_", "-"))
        if self.data_root is not None and not isinstance(self.data_root, str):
            raise TypeError(
                f"`data_root` must be a str or None, got {type(self.data_root).__name__}"
            )
        _check_bool(self.download, "download")
        _check_bool(self.mnist1d, "mnist1d")
        _check_bool(self.cnn, "cnn")
        check_choice("norm", self.norm, _NORMS)
        fix(self, "mlp_widths", _check_widths(self.mlp_widths, "mlp_widths"))
        fix(self, "cnn_channels", _check_widths(self.cnn_channels, "cnn_channels"))
        fix(self, "cnn_dense", _check_widths(self.cnn_dense, "cnn_dense", allow_empty=True))
        fix(self, "cifar_channels", _check_widths(self.cifar_channels, "cifar_channels"))
        fix(self, "cifar_dense", _check_widths(self.cifar_dense, "cifar_dense", allow_empty=True))
        fix(
            self, "fanin_widths", _check_widths(self.fanin_widths, "fanin_widths", allow_empty=True)
        )
        check_positive_int(self.fanin_next, "fanin_next")
        check_positive_float(self.learning_rate, "learning_rate")
        check_positive_float(self.cifar_learning_rate, "cifar_learning_rate")
        for name in ("train_limit", "eval_limit"):
            if getattr(self, name) is not None:
                check_int(getattr(self, name), name, minimum=1)

    @classmethod
    def quick(cls) -> Config:
        """Small sizes that finish in about two minutes on a quiet 2-core CPU (3 seeds)."""
        return cls(
            dims=(2, 10, 100, 1000),
            n_angles=5000,
            hist_bins=90,
            n_seeds=3,
            mlp_widths=(256, 256, 256),
            mlp_epochs=15,
            cnn_channels=(32, 64),
            cnn_dense=(128,),
            cnn_epochs=8,
            learning_rate=1e-2,
            cifar_epochs=2,
            train_limit=2000,
            eval_limit=200,
            fanin_widths=(16, 64, 256),
            fanin_next=128,
        )
