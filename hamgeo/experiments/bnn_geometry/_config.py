"""Names, the configuration and the results of the BNN-geometry reproduction (the leaf)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Literal

import numpy as np

from hamgeo._checks import (
    check_choice,
    check_int,
    check_positive_float,
    check_positive_int,
)
from hamgeo.binary_geometry import LayerPreservation, angle_overlap
from hamgeo.experiments._protocol import Interval, summarize_seeds

__all__ = ["DATASETS", "DISTRIBUTIONS", "NAME", "Config", "ModelResult", "Result", "SeedResult"]

NAME = "bnn-geometry"
DISTRIBUTIONS = ("uniform", "gaussian")
#: Data sets the main model can be trained on (``Config.data``).
DATASETS = ("digits", "mnist1d", "mnist", "fashion-mnist", "cifar10")
_NORMS = ("no-mean", "standard")

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
        data: the main model's data set, one of :data:`DATASETS`: a
            :class:`~hamgeo.nets.BinaryMLP` for ``"digits"`` (offline; the default),
            ``"mnist1d"``, ``"mnist"`` and ``"fashion-mnist"``; the paper's CNN for
            ``"cifar10"``.
        data_root: cache root of the downloadable data sets (``None``: hamgeo's default,
            see :func:`hamgeo.data.cache_dir`).
        download: download a missing data set (else a clear error names the files).
        n_seeds: independent repetitions (each redraws the angles and retrains every net).
        norm: batch norm of every BNN: ``"no-mean"`` (the paper's "batch norm without
            subtracting the mean", :class:`~hamgeo.nets.NoMeanBatchNorm`) or ``"standard"``.
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

    def __post_init__(self) -> None:
        fix = object.__setattr__
        fix(self, "dims", _check_widths(self.dims, "dims"))
        for name in ("n_angles", "hist_bins", "n_seeds", "mlp_epochs", "cnn_epochs"):
            check_positive_int(getattr(self, name), name)
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
        )


@dataclasses.dataclass
class ModelResult:
    """One trained BNN (one seed) and its per-layer dot-product preservation.

    Attributes:
        name: short name (``mlp_digits``, ``mlp_mnist``, ``mlp_mnist1d``, ``cnn_digits``,
            ``cnn_cifar10``, ...).
        description: architecture and data in words.
        test_accuracy: accuracy on the (limited) test split.
        layers: one :class:`~hamgeo.binary_geometry.LayerPreservation` per binary layer.
    """

    name: str
    description: str
    test_accuracy: float
    layers: list[LayerPreservation]

    def layer_summary(self) -> dict[str, float | None]:
        """``{stat_layer{k}: value}`` and ``test_accuracy`` (non-finite values as None)."""
        out: dict[str, float | None] = {"test_accuracy": self.test_accuracy}
        for r in self.layers:
            for stat in LAYER_SCALARS:
                value = float(getattr(r, stat))
                out[f"{stat}_layer{r.layer}"] = value if math.isfinite(value) else None
        return out

    def to_dict(self) -> dict[str, Any]:
        """Scalars only (the pair samples and per-unit arrays stay in memory)."""
        keep = ("layer", "kind", "input_dim", "n_pairs", *LAYER_SCALARS)
        return {
            "name": self.name,
            "description": self.description,
            "test_accuracy": self.test_accuracy,
            "layers": [{k: getattr(r, k) for k in keep} for r in self.layers],
        }


@dataclasses.dataclass
class SeedResult:
    """What one seed measured.

    Attributes:
        angles: ``{distribution: {dim: (sign, pairs)}}`` angle samples in degrees.
        models: the trained BNNs, the main model first.
    """

    angles: dict[str, dict[int, tuple[np.ndarray, np.ndarray]]]
    models: list[ModelResult]


@dataclasses.dataclass
class Result:
    """What :func:`~hamgeo.experiments.bnn_geometry.run` measured.

    Attributes:
        config: the configuration.
        theory: ``{distribution: {dim: AngleTheory}}``.
        seeds: one :class:`SeedResult` per seed, seed 0 first.
        datasets: ``{data set name: Dataset.info}`` of every data set used.
    """

    config: Config
    theory: dict[str, dict[int, Any]]
    seeds: list[SeedResult]
    datasets: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)

    @property
    def angles(self) -> dict[str, dict[int, tuple[np.ndarray, np.ndarray]]]:
        """Seed 0's angle samples (for the histograms)."""
        return self.seeds[0].angles

    @property
    def models(self) -> list[ModelResult]:
        """Seed 0's models (for the 2-D histograms)."""
        return self.seeds[0].models

    def _angle_table(self, seed: SeedResult) -> dict[str, dict[str, dict[str, float]]]:
        table: dict[str, dict[str, dict[str, float]]] = {}
        for dist, by_dim in seed.angles.items():
            table[dist] = {}
            for dim, (sign, pairs) in by_dim.items():
                sign = np.asarray(sign, np.float64)
                pairs = np.asarray(pairs, np.float64)
                table[dist][str(dim)] = {
                    "sign_mean": float(sign.mean()),
                    "sign_std": float(sign.std()),
                    "pair_mean": float(pairs.mean()),
                    "pair_std": float(pairs.std()),
                    "overlap": angle_overlap(sign, pairs, bins=self.config.hist_bins),
                    "p_sign_above_pair": float((sign > pairs).mean()),
                }
        return table

    def angle_table(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Per distribution and dimension: measured statistics (intervals across seeds), theory."""
        tables = [self._angle_table(s) for s in self.seeds]
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for dist in tables[0]:
            out[dist] = {}
            for dim in tables[0][dist]:
                row: dict[str, Any] = summarize_seeds([t[dist][dim] for t in tables])
                t = self.theory[dist][int(dim)]
                row |= {
                    "theory_sign_limit": t.sign_limit,
                    "theory_sign_mean": t.sign_mean,
                    "theory_sign_std": t.sign_std,
                    "theory_pair_std": t.pair_std,
                    "theory_overlap": t.overlap,
                }
                out[dist][dim] = row
        return out

    def seed_summary(self, i: int) -> dict[str, float | None]:
        """The named scalars of seed ``i`` (angles, then the main model's layers)."""
        table = self._angle_table(self.seeds[i])
        out: dict[str, float | None] = {}
        for dim in self.config.dims:
            out[f"angle_sign_uniform_deg_d{dim}"] = table["uniform"][str(dim)]["sign_mean"]
            out[f"angle_sign_gaussian_deg_d{dim}"] = table["gaussian"][str(dim)]["sign_mean"]
            out[f"angle_random_pairs_deg_d{dim}"] = table["uniform"][str(dim)]["pair_mean"]
            out[f"angle_overlap_uniform_d{dim}"] = table["uniform"][str(dim)]["overlap"]
        out |= self.seeds[i].models[0].layer_summary()
        return out

    @property
    def summary(self) -> dict[str, Interval | float | str | None]:
        """Every scalar of the main model and the angles, as an interval across seeds."""
        return summarize_seeds([self.seed_summary(i) for i in range(len(self.seeds))])

    def model_summaries(self) -> list[dict[str, Any]]:
        """Per model: its name, description and every scalar as an interval across seeds."""
        out = []
        for j, first in enumerate(self.seeds[0].models):
            runs = [s.models[j] for s in self.seeds]
            out.append(
                {
                    "name": first.name,
                    "description": first.description,
                    "summary": summarize_seeds([m.layer_summary() for m in runs]),
                    "seeds": [m.to_dict() for m in runs],
                }
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-able content of ``results.json`` (deterministic for a key)."""
        return {
            "experiment": NAME,
            "config": dataclasses.asdict(self.config) | {"datasets": self.datasets},
            "summary": self.summary,
            "angles": self.angle_table(),
            "models": self.model_summaries(),
        }
