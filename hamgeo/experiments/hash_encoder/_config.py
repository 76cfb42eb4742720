"""Shared definitions of the hash-encoder reproduction: names, Config, rows, Result.

The leaf of [`hamgeo.experiments.hash_encoder`][hamgeo.experiments.hash_encoder]: the training,
analysis, regime and
run modules and the figures import it, it imports none of them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any, Literal, NamedTuple

import numpy as np

from hamgeo._checks import (
    check_choice,
    check_float,
    check_int,
    check_positive_int,
    check_probability,
    describe,
)
from hamgeo.data import DATASETS
from hamgeo.experiments._common import check_n_seeds
from hamgeo.experiments.findings import interval

__all__ = [
    "EFFECT_SIZE",
    "FACTORS",
    "FAMILIES",
    "METRICS",
    "NAME",
    "REDUNDANCY_NEAR_ZERO",
    "REGIME_WINDOW",
    "SIGNIFICANCE",
    "CodeMetrics",
    "Config",
    "curve_band",
    "mean_of",
    "per_seed",
    "rows_where",
]

NAME = "hash-encoder"

#: hamgeo's threshold, not the paper's: a redundancy ratio at or below it is "almost
#: zero" (the paper: "the redundancy ratio is almost zero" in the sufficiently-expressive
#: regime, without a number).
REDUNDANCY_NEAR_ZERO = 0.01
#: hamgeo's significance level for the Spearman correlations that define the regimes
#: (the paper: "significantly positive correlations" / "insignificant", without a level).
SIGNIFICANCE = 0.05
#: hamgeo's effect-size threshold for the regimes: a measure (redundancy ratio or k-NN
#: accuracy, both in [0, 1]) *changes* across a sweep point's neighbourhood when its
#: seed-mean moves by at least this much (a p-value would fall with the number of seeds).
EFFECT_SIZE = 0.02
#: hamgeo's neighbourhood of a sweep point for the regime test: the levels within this
#: many steps on each side along a factor.
REGIME_WINDOW = 1

#: The factor tables of ``tables``, in the order of the paper's list.
FACTORS = (
    "width",
    "depth",
    "family",
    "training_time",
    "sample_size",
    "weight_decay",
    "label_noise",
)
#: The model families of the family sweep: VGG-style ([`hamgeo.nets.CNN`][hamgeo.nets.CNN]) and
#: ResNet-style ([`hamgeo.nets.ResidualCNN`][hamgeo.nets.ResidualCNN]) convolutional nets.
FAMILIES = ("vgg", "resnet")
#: The measured columns of a row, see [`CodeMetrics`][hamgeo.experiments.hash_encoder.CodeMetrics].
METRICS = (
    "redundancy_train",
    "redundancy_test",
    "knn_train_accuracy",
    "knn_test_accuracy",
    "kmeans_train_accuracy",
    "kmeans_test_accuracy",
    "logreg_train_accuracy",
    "logreg_test_accuracy",
    "network_train_accuracy",
    "network_test_accuracy",
)

Family = Literal["vgg", "resnet"]


def _ints(value: Any, name: str, *, minimum: int = 1) -> tuple[int, ...]:
    """A non-empty tuple of ints ``>= minimum`` (each entry checked by ``check_int``)."""
    if not isinstance(value, tuple) or not value:
        raise TypeError(f"`{name}` must be a non-empty tuple of ints, got {describe(value)}")
    return tuple(check_int(v, f"{name}[{i}]", minimum=minimum) for i, v in enumerate(value))


def _floats(value: Any, name: str, **bounds: Any) -> tuple[float, ...]:
    """A non-empty tuple of finite floats within ``bounds`` (see ``check_float``)."""
    if not isinstance(value, tuple) or not value:
        raise TypeError(f"`{name}` must be a non-empty tuple of numbers, got {describe(value)}")
    return tuple(check_float(v, f"{name}[{i}]", **bounds) for i, v in enumerate(value))


@dataclasses.dataclass(frozen=True)
class Config:
    """Sizes of the hash-encoder study; hamgeo's choices, on scikit-learn's digits by default.

    The paper ([Hash-Encoders] in ``docs/references.md``) trains MLPs, VGGs and ResNets
    on MNIST and CIFAR-10; its text here gives no sizes, schedules or seeds. The
    defaults are hamgeo's: the 1797 8×8 digits (offline, minutes on a CPU), Adam at
    1e-3, 50 epochs, 3 seeds. ``data="mnist"`` (or ``"fashion-mnist"``, ``"cifar10"``,
    ``"mnist1d"``) runs every factor on that data set instead.

    Every model is measured twice: at initialization and after training (the same net,
    same seed), so each table holds the untrained baseline beside the trained row.

    Attributes:
        data: the data set of every sweep, one of [`hamgeo.data.DATASETS`][hamgeo.data.DATASETS].
        data_root: cache root of downloaded data sets (``--data-dir``).
        download: fetch a missing data set (``--no-download`` sets ``False``).
        max_train: cap on training examples (the first ones; MNIST has 60 000);
            ``None`` keeps all.
        n_seeds: independent repetitions; each retrains every network.
        epochs: training epochs of the MLPs (Adam).
        batch_size: mini-batch size.
        learning_rate: Adam's step size.
        widths: hidden widths of the one-hidden-layer MLP width sweep.
        main_width: the "wide MLP" of the summary (added to ``widths``).
        time_widths: widths whose codes are analysed after every epoch (training time);
            epoch 0 is the initialization.
        sample_fractions: training-set sizes of the sample-size sweep, as fractions of
            the training set.
        sample_widths: widths of the sample-size sweep.
        depths: hidden layers of the depth sweep.
        depth_units: total hidden units of every net of the depth sweep (split as
            evenly as possible over its layers).
        factor_width: width of the weight-decay and label-noise sweeps.
        weight_decays: decoupled weight decays (AdamW).
        label_noises: fractions of training labels given a random other class.
        families: model families of the family sweep (``"vgg"``, ``"resnet"``).
        cnn_channels: convolution channels of each model size of the family sweep.
        cnn_dense: dense layer widths after the convolutions.
        cnn_epochs: training epochs of the convolutional nets.
        knn_k: neighbours of the k-NN vote (the paper's code: 9).
        knn_ties: tie rule of the k-NN (``"sklearn"``, the paper's protocol, or
            ``"nearest"``), see [`hamgeo.knn_classify`][hamgeo.knn_classify].
        kmeans_iterations: cap on Lloyd iterations.
        logreg_l2: L2 penalty of the logistic regression.
        logreg_steps: full-batch Adam steps of the logistic regression.
    """

    data: str = "digits"
    data_root: str | None = None
    download: bool = True
    max_train: int | None = 20000
    n_seeds: int = 3
    epochs: int = 50
    batch_size: int = 64
    learning_rate: float = 1e-3
    widths: tuple[int, ...] = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 128, 256, 512)
    main_width: int = 512
    time_widths: tuple[int, ...] = (2, 4, 8, 16, 32, 64, 128, 512)
    sample_fractions: tuple[float, ...] = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0)
    sample_widths: tuple[int, ...] = (2, 4, 8, 16, 32, 64, 128, 512)
    depths: tuple[int, ...] = (1, 2, 3, 4, 6, 8)
    depth_units: int = 96
    factor_width: int = 64
    weight_decays: tuple[float, ...] = (0.0, 1e-3, 1e-2, 1e-1, 1.0)
    label_noises: tuple[float, ...] = (0.0, 0.1, 0.2, 0.4, 0.6)
    families: tuple[str, ...] = FAMILIES
    cnn_channels: tuple[tuple[int, ...], ...] = ((2, 4), (4, 8), (8, 16), (16, 32))
    cnn_dense: tuple[int, ...] = (32,)
    cnn_epochs: int = 30
    knn_k: int = 9
    knn_ties: Literal["sklearn", "nearest"] = "sklearn"
    kmeans_iterations: int = 100
    logreg_l2: float = 1e-3
    logreg_steps: int = 500

    @classmethod
    def quick(cls) -> Config:
        """Small sizes: about two minutes on a 2-core CPU."""
        return cls(
            max_train=4000,
            n_seeds=2,
            epochs=15,
            widths=(1, 2, 4, 8, 16, 32, 64, 128, 512),
            time_widths=(2, 8, 32, 512),
            sample_fractions=(1 / 16, 1 / 4, 1.0),
            sample_widths=(4, 16, 64),
            depths=(1, 2, 4, 8),
            depth_units=96,
            weight_decays=(0.0, 1e-2, 1e-1),
            label_noises=(0.0, 0.2, 0.4),
            cnn_channels=((4, 8),),
            cnn_epochs=10,
            logreg_steps=100,
        )

    def __post_init__(self) -> None:
        check_choice("data", self.data, DATASETS)
        if self.data_root is not None and not isinstance(self.data_root, str):
            raise TypeError(f"`data_root` must be a str or None, got {describe(self.data_root)}")
        if not isinstance(self.download, bool):
            raise TypeError(f"`download` must be a bool, got {describe(self.download)}")
        if self.max_train is not None:
            check_positive_int(self.max_train, "max_train")
        check_n_seeds(self.n_seeds)
        for name in (
            "epochs",
            "batch_size",
            "main_width",
            "depth_units",
            "factor_width",
            "cnn_epochs",
            "knn_k",
            "kmeans_iterations",
            "logreg_steps",
        ):
            check_positive_int(getattr(self, name), name)
        for name in ("widths", "time_widths", "sample_widths", "depths", "cnn_dense"):
            _ints(getattr(self, name), name)
        if max(self.depths) > self.depth_units:
            raise ValueError(
                f"`depth_units` must be >= max(depths) = {max(self.depths)} (one unit a "
                f"layer at least), got {self.depth_units}"
            )
        check_float(self.learning_rate, "learning_rate", minimum=0.0, exclusive_minimum=True)
        check_float(self.logreg_l2, "logreg_l2", minimum=0.0)
        _floats(
            self.sample_fractions,
            "sample_fractions",
            minimum=0.0,
            maximum=1.0,
            exclusive_minimum=True,
        )
        _floats(self.weight_decays, "weight_decays", minimum=0.0)
        for i, p in enumerate(_floats(self.label_noises, "label_noises")):
            check_probability(p, f"label_noises[{i}]")
        if not isinstance(self.families, tuple):
            raise TypeError(f"`families` must be a tuple, got {describe(self.families)}")
        for i, family in enumerate(self.families):
            check_choice(f"families[{i}]", family, FAMILIES)
        if not isinstance(self.cnn_channels, tuple):
            got = describe(self.cnn_channels)
            raise TypeError(f"`cnn_channels` must be a tuple of tuples of ints, got {got}")
        for i, channels in enumerate(self.cnn_channels):
            _ints(channels, f"cnn_channels[{i}]")
        check_choice("knn_ties", self.knn_ties, ("sklearn", "nearest"))

    @property
    def all_widths(self) -> tuple[int, ...]:
        """The width sweep: ``widths`` and ``main_width``, ascending."""
        return tuple(sorted(set(self.widths) | {self.main_width}))


class CodeMetrics(NamedTuple):
    """What is measured on one network's codes (``None``: not measured for this row).

    Attributes:
        n_bits: hidden units (bits per code).
        redundancy_train: ``(n - m) / n`` on the training codes (``m`` distinct codes).
        redundancy_test: the same on the test codes.
        knn_train_accuracy: k-NN on the training codes, each voted by all training codes
            (itself included, as scikit-learn's ``score(X_train, y_train)``).
        knn_test_accuracy: k-NN of the test codes by the training codes.
        kmeans_train_accuracy: k-means on the training codes, Hungarian matching.
        kmeans_test_accuracy: test codes assigned to those centroids, same matching.
        logreg_train_accuracy: logistic regression fit on the training codes.
        logreg_test_accuracy: the same model on the test codes.
        network_train_accuracy: the network on its training inputs and the labels it was
            trained on (label noise included).
        network_test_accuracy: the network on the test inputs.
    """

    n_bits: int
    redundancy_train: float
    redundancy_test: float | None
    knn_train_accuracy: float | None
    knn_test_accuracy: float
    kmeans_train_accuracy: float | None
    kmeans_test_accuracy: float | None
    logreg_train_accuracy: float | None
    logreg_test_accuracy: float | None
    network_train_accuracy: float
    network_test_accuracy: float


def rows_where(rows: Iterable[Mapping[str, Any]], **equal: Any) -> list[Mapping[str, Any]]:
    """The rows whose fields equal ``equal``.

    Examples:
        >>> rows_where([{"a": 1, "b": 2}, {"a": 2, "b": 2}], a=1)
        [{'a': 1, 'b': 2}]
    """
    return [r for r in rows if all(r.get(k) == v for k, v in equal.items())]


def per_seed(
    rows: Iterable[Mapping[str, Any]], field: str, seeds: Iterable[int]
) -> list[float | None]:
    """``field`` of the row of each seed, in the order of ``seeds`` (``None``: missing).

    Examples:
        >>> per_seed([{"seed": 1, "x": 0.5}, {"seed": 0, "x": 0.25}], "x", [0, 1, 2])
        [0.25, 0.5, None]
    """
    by_seed = {r["seed"]: r.get(field) for r in rows}
    return [by_seed.get(s) for s in seeds]


def mean_of(rows: Iterable[Mapping[str, Any]], field: str) -> float:
    """Mean of ``field`` over the rows that have it (NaN when none do).

    Examples:
        >>> mean_of([{"x": 1.0}, {"x": 3.0}, {"x": None}], "x")
        2.0
    """
    values = [r[field] for r in rows if r.get(field) is not None]
    return float(np.mean(values)) if values else float("nan")


def curve_band(
    rows: Iterable[Mapping[str, Any]], x_field: str, field: str, xs: Iterable[Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and 95% band across seeds of the proportion ``field`` at each ``x`` (NaN: none).

    The band is [`interval`][hamgeo.experiments.findings.interval] with
    ``kind="proportion"``: Student t from 3 seeds, the min..max range below, clipped to
    ``[0, 1]``.

    Examples:
        >>> rows = [{"w": 1, "r": 0.5}, {"w": 1, "r": 0.7}, {"w": 2, "r": None}]
        >>> mean, low, high = curve_band(rows, "w", "r", [1, 2])
        >>> mean.round(2).tolist(), bool(np.isnan(mean[1]))
        ([0.6, nan], True)
        >>> float(low[0].round(2)), float(high[0].round(2))
        (0.5, 0.7)
    """
    rows = list(rows)
    xs = list(xs)
    out = np.full((3, len(xs)), np.nan)
    for j, x in enumerate(xs):
        out[:, j] = interval([r.get(field) for r in rows if r.get(x_field) == x], kind="proportion")
    return out[0], out[1], out[2]
