"""Shared definitions of the discriminability reproduction: names, Config, the probe's plane.

A leaf of :mod:`hamgeo.experiments.discriminability` (it imports no module of the
package): the results, the measuring modules, the run and the figures import it.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Literal

import jax.numpy as jnp
import numpy as np

from hamgeo._checks import (
    check_choice,
    check_float,
    check_int,
    check_positive_int,
    describe,
)
from hamgeo.data import diagonal_probe

__all__ = [
    "ACTIVATION_DISTANCES",
    "BENCHMARKS",
    "CELL_DISTANCES",
    "CODE_DISTANCES",
    "DATASETS",
    "DISTANCES",
    "NAME",
    "SATURATION_DISTANCES",
    "Config",
    "endpoints",
    "net_name",
    "plane",
    "plane_extent",
]

NAME = "discriminability"

#: Distances between two samples, in the order the figures draw them.
DISTANCES = (
    "code_hamming",
    "code_truncated_hamming",
    "code_wasserstein",
    "code_mmd",
    "activ_frechet",
    "activ_wasserstein",
    "data_frechet",
    "data_euclidean",
)
#: The distances computed on binarized activations.
CODE_DISTANCES = DISTANCES[:4]
#: The distances computed on post-ReLU activations.
ACTIVATION_DISTANCES = DISTANCES[4:6]
#: The distances whose saturation is measured.
SATURATION_DISTANCES = CODE_DISTANCES + ACTIVATION_DISTANCES
#: The paper's benchmarks: the Fréchet distance in data space (1) and activation space (2).
BENCHMARKS = ("data_frechet", "activ_frechet")
#: Cell distances along the diagonal (2-D inputs only).
CELL_DISTANCES = ("hamming", "tessellation", "crossings", "facet_aware")
#: The data sets this study runs on: its own Gaussian grid (a probe along the diagonal
#: of the input cube has no counterpart on image data sets).
DATASETS = ("gaussian-grid",)


def _check_tuple(value: Any, name: str, *, minimum: int = 1) -> tuple[int, ...]:
    if not isinstance(value, tuple):
        raise TypeError(f"`{name}` must be a non-empty tuple of ints, got {describe(value)}")
    if not value:
        raise ValueError(f"`{name}` must be a non-empty tuple of ints, got ()")
    return tuple(check_int(v, f"{name}[{i}]", minimum=minimum) for i, v in enumerate(value))


@dataclasses.dataclass(frozen=True)
class Config:
    """Sizes of the discriminability experiment.

    **What the paper states** (section 3 and its figures): 25 Gaussians on a 5 x 5 grid
    of ``[0, 1]^2`` grouped into 5 labels by k-means; nets of 3 and 10 hidden layers
    (Fig. 3) with 15 units per layer in the 3-layer net of Fig. 2 (the width of the
    10-layer net is not stated); a 3 x 50 net for the sample-size and label sweeps
    (Fig. 4); probes of one point (section 3.1) or several points on the diagonal;
    Hamming, truncated Hamming, Wasserstein-1 (Sinkhorn, Hamming cost) and MMD with
    ``exp(-d_H)``; the Fréchet benchmark in data and activation space.

    **hamgeo's choices** (the paper does not state them): width 15 for the 10-layer
    net too, 200 training points per Gaussian, the Gaussians' spread (one eighth of the
    grid spacing), 100 epochs of Adam at learning rate 3e-3 and batch 128, the sample
    sizes 1, 10, 100 and label counts 2, 5, 10, 30 shifts over the whole diagonal,
    the probe clouds' spread 0.03, ``theta`` = a quarter of the hidden units, the
    saturation tolerance ``delta = 0.1`` and plateau of the last 3 shifts, the local
    window up to half the benchmark's rise, 5 seeds, and the Theorem A.1 study's sizes.

    Attributes:
        n_seeds: independent repetitions; each draws its own data and probes and
            retrains every net (seed 0 uses the run's key itself).
        data: the data set, only ``"gaussian-grid"`` (the study's own set-up).
        per_axis: Gaussians per axis of the grid (the paper: 5, so 25 Gaussians in 2-D).
        dim: input dimension (the paper's figures: 2; higher dims work, without d_T).
        n_groups: labels (k-means groups of the Gaussians) of the depth and sample-size runs.
        n_per_gaussian: training points per Gaussian.
        spread: standard deviation of each Gaussian (``None``: the data module's default).
        depths: hidden layers of the depth sweep (the paper's Fig. 3: 3 and 10).
        width: units per hidden layer of the depth sweep (the paper's Fig. 2: 15).
        sweep_depth: hidden layers of the net for the sample-size and label sweeps (Fig. 4: 3).
        sweep_width: its width (Fig. 4: 50).
        sample_sizes: cloud sizes ``m`` of the sample-size sweep (Fig. 4).
        label_counts: numbers of labels of the label sweep (Fig. 4).
        depth_sample_size: ``m`` of the depth sweep's clouds (it also runs ``m = 1``).
        label_sample_size: ``m`` of the label sweep.
        n_shifts: shifts ``t``, evenly spaced over ``[0, max_shift]``.
        max_shift: largest shift as a fraction of the diagonal's length ``sqrt(dim)``.
        probe_spread: standard deviation of a probe cloud around its centre.
        truncate_fraction: ``theta`` of the truncated Hamming distance, as a fraction of the
            number of hidden units.
        epochs: training epochs.
        batch_size: training batch size.
        learning_rate: Adam's step size.
        grid_resolution: raster of the input square for the figures (and for the cell
            count without ``exact_cells``).
        saturation_delta: the band around the plateau of the saturation statistics.
        plateau_shifts: the plateau is the mean of the curve's last this many shifts.
        window_level: the local window ends where the benchmark's normalized value
            reaches this level.
        min_spearman_shifts: a local window holds at least this many shifts.
        sinkhorn_epsilon: entropic regularization (``None``: hamgeo's default).
        tessellation: measure d_T, crossings and facet-aware distances (2-D inputs only).
        exact_cells: count the cells and measure d_T on the exact partition of the plane
            (:func:`hamgeo.regions.exact_slice_partition`); without it the count is a
            raster's (a lower bound) and d_T comes from traced lines (an upper bound).
        cell_graph_resolution: traced lines per direction of the cell graph behind d_T
            without ``exact_cells``.
        theorem: run the Theorem A.1 study on the first depth's net.
        theorem_shift: shift of ``S2`` in that study, as a fraction of the diagonal.
        theorem_spread: standard deviation of that study's two clouds (wider than the
            probe's, so that each covers several cells).
        theorem_reference: points per distribution whose codes define ``mu1`` and ``mu2``.
        theorem_sizes: sample sizes ``n = m`` of the empirical measures.
        theorem_draws: pairs of empirical measures drawn per size.
        theorem_epsilons: the deviations ``epsilon`` (in bits) of the tail probability.
    """

    n_seeds: int = 5
    data: Literal["gaussian-grid"] = "gaussian-grid"
    per_axis: int = 5
    dim: int = 2
    n_groups: int = 5
    n_per_gaussian: int = 200
    spread: float | None = None
    depths: tuple[int, ...] = (3, 10)
    width: int = 15
    sweep_depth: int = 3
    sweep_width: int = 50
    sample_sizes: tuple[int, ...] = (1, 10, 100)
    label_counts: tuple[int, ...] = (2, 5, 10)
    depth_sample_size: int = 10
    label_sample_size: int = 10
    n_shifts: int = 30
    max_shift: float = 1.0
    probe_spread: float = 0.03
    truncate_fraction: float = 0.25
    epochs: int = 100
    batch_size: int = 128
    learning_rate: float = 3e-3
    grid_resolution: int = 512
    saturation_delta: float = 0.1
    plateau_shifts: int = 3
    window_level: float = 0.5
    min_spearman_shifts: int = 5
    sinkhorn_epsilon: float | None = None
    tessellation: bool = True
    exact_cells: bool = True
    cell_graph_resolution: int = 128
    theorem: bool = True
    theorem_shift: float = 0.25
    theorem_spread: float = 0.1
    theorem_reference: int = 4096
    theorem_sizes: tuple[int, ...] = (4, 8, 16, 32, 64, 128, 256)
    theorem_draws: int = 200
    theorem_epsilons: tuple[float, ...] = (1.0, 2.0, 4.0)

    @classmethod
    def quick(cls) -> Config:
        """Small sizes (2 seeds) that finish in a few minutes on a 2-core CPU."""
        return cls(
            n_seeds=2,
            n_per_gaussian=40,
            sample_sizes=(1, 10, 30),
            label_counts=(2, 5),
            n_shifts=16,
            epochs=30,
            batch_size=64,
            learning_rate=1e-2,
            grid_resolution=160,
            cell_graph_resolution=64,
            theorem_reference=2048,
            theorem_sizes=(4, 16, 64, 256),
            theorem_draws=100,
        )

    def __post_init__(self):
        for name in (
            "n_seeds",
            "per_axis",
            "dim",
            "n_groups",
            "n_per_gaussian",
            "width",
            "sweep_depth",
            "sweep_width",
            "depth_sample_size",
            "label_sample_size",
            "epochs",
            "batch_size",
            "grid_resolution",
            "plateau_shifts",
            "min_spearman_shifts",
            "cell_graph_resolution",
            "theorem_reference",
            "theorem_draws",
        ):
            check_positive_int(getattr(self, name), name)
        check_choice("data", self.data, DATASETS)
        check_int(self.n_shifts, "n_shifts", minimum=2)
        check_int(self.per_axis, "per_axis", minimum=2)
        check_int(self.dim, "dim", minimum=2)
        check_int(self.plateau_shifts, "plateau_shifts", maximum=self.n_shifts)
        for name in ("depths", "sample_sizes", "label_counts", "theorem_sizes"):
            _check_tuple(getattr(self, name), name)
        if not isinstance(self.theorem_epsilons, tuple):
            raise TypeError(
                f"`theorem_epsilons` must be a non-empty tuple of numbers, "
                f"got {describe(self.theorem_epsilons)}"
            )
        if not self.theorem_epsilons:
            raise ValueError("`theorem_epsilons` must be a non-empty tuple of numbers, got ()")
        for i, eps in enumerate(self.theorem_epsilons):
            check_float(eps, f"theorem_epsilons[{i}]", minimum=0.0, exclusive_minimum=True)
        if self.spread is not None:
            check_float(self.spread, "spread", minimum=0.0, exclusive_minimum=True)
        if self.sinkhorn_epsilon is not None:
            check_float(
                self.sinkhorn_epsilon, "sinkhorn_epsilon", minimum=0.0, exclusive_minimum=True
            )
        for name, lo_open, hi_open in (
            ("max_shift", True, False),
            ("truncate_fraction", True, False),
            ("saturation_delta", True, True),
            ("window_level", True, False),
            ("theorem_shift", False, False),
        ):
            check_float(
                getattr(self, name),
                name,
                minimum=0.0,
                maximum=1.0,
                exclusive_minimum=lo_open,
                exclusive_maximum=hi_open,
            )
        check_float(self.probe_spread, "probe_spread", minimum=0.0)
        check_float(self.theorem_spread, "theorem_spread", minimum=0.0, exclusive_minimum=True)
        check_float(self.learning_rate, "learning_rate", minimum=0.0, exclusive_minimum=True)
        for name in ("tessellation", "exact_cells", "theorem"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"`{name}` must be a bool, got {describe(getattr(self, name))}")
        n_gauss = self.per_axis**self.dim
        if max(self.n_groups, *self.label_counts) > n_gauss:
            raise ValueError(
                f"`n_groups` and `label_counts` must not exceed the {n_gauss} Gaussians, "
                f"got {self.n_groups!r} and {self.label_counts!r}"
            )

    @property
    def shifts(self) -> np.ndarray:
        """``float32[n_shifts]`` shifts ``t`` (arc length along the diagonal)."""
        length = self.max_shift * math.sqrt(self.dim)
        return np.linspace(0.0, length, self.n_shifts, dtype=np.float32)


def net_name(depth: int, width: int, groups: int) -> str:
    """``"L{depth}_w{width}_g{groups}"``, the name of a net in :class:`Result`."""
    return f"L{depth}_w{width}_g{groups}"


def plane(dim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Origin and axes of the input plane the cells are counted and drawn on.

    In 2-D the unit square itself; in higher dimensions the plane through the start corner
    spanned by the diagonal and ``(e1 - e2) / sqrt(2)``, which contains the probe.
    """
    origin = np.zeros(dim, np.float32)
    if dim == 2:
        return origin, np.eye(2, dtype=np.float32)[0], np.eye(2, dtype=np.float32)[1]
    u = np.full(dim, 1.0 / math.sqrt(dim), np.float32)
    v = np.zeros(dim, np.float32)
    v[0], v[1] = 1.0 / math.sqrt(2.0), -1.0 / math.sqrt(2.0)
    return origin, u, v


def plane_extent(dim: int) -> tuple[float, float, float, float]:
    """``(a_min, a_max, b_min, b_max)`` of the window of :func:`plane`."""
    return (0.0, 1.0, 0.0, 1.0) if dim == 2 else (0.0, math.sqrt(dim), -0.5, 0.5)


def endpoints(shifts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start corner ``float64[T, 2]`` (repeated) and probe points ``[T, 2]`` on the 2-D diagonal."""
    ends = np.asarray(diagonal_probe(jnp.asarray(shifts), dim=2), dtype=np.float64)[:, 0, :]
    starts = np.repeat(ends[:1], len(shifts), axis=0)
    return starts, ends
