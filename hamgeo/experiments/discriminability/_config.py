"""Shared definitions of the discriminability reproduction: names, Config, the probe's plane.

A leaf of [`hamgeo.experiments.discriminability`][hamgeo.experiments.discriminability] (it imports
no module of the
package): the results, the measuring modules, the run and the figures import it.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Literal

import jax.numpy as jnp
import numpy as np

from hamgeo._checks import check_int, describe
from hamgeo.data import diagonal_probe
from hamgeo.experiments._common import (
    Validated,
    boolean,
    check_n_seeds,
    checked,
    int_at_least,
    int_tuple,
    one_of,
    optional,
    real,
    real_tuple,
)

__all__ = [
    "ACTIVATION_DISTANCES",
    "BENCHMARKS",
    "CELL_DISTANCES",
    "CODE_DISTANCES",
    "DATASETS",
    "DISTANCES",
    "NAME",
    "SATURATION_DISTANCES",
    "CellsConfig",
    "Config",
    "GridConfig",
    "NetsConfig",
    "ProbeConfig",
    "StatsConfig",
    "TheoremConfig",
    "TrainConfig",
    "endpoints",
    "net_name",
    "plane",
    "plane_extent",
]

NAME = "discriminability"

#: The most pixels / traced lines per side ``hamgeo.regions`` takes (its ``MAX_RESOLUTION``).
_MAX_RESOLUTION = 2**14

#: Distances between two samples, in the order the figures draw them.
DISTANCES = (
    "code_hamming",
    "code_truncated_hamming",
    "code_truncated_hamming_half",
    "code_wasserstein",
    "code_mmd",
    "code_mmd_median",
    "activ_frechet",
    "activ_wasserstein",
    "data_frechet",
    "data_euclidean",
)
#: The distances computed on binarized activations (truncated Hamming at theta = N/4 and
#: N/2, MMD at bandwidth 1 and at the median Hamming distance: the saturation knobs).
CODE_DISTANCES = DISTANCES[:6]
#: The distances computed on post-ReLU activations.
ACTIVATION_DISTANCES = DISTANCES[6:8]
#: The distances whose saturation is measured.
SATURATION_DISTANCES = CODE_DISTANCES + ACTIVATION_DISTANCES
#: The paper's benchmarks: the Fréchet distance in data space (1) and activation space (2).
BENCHMARKS = ("data_frechet", "activ_frechet")
#: Cell distances along the diagonal (2-D inputs only).
CELL_DISTANCES = ("hamming", "tessellation", "crossings", "facet_aware")
#: The data sets this study runs on: its own Gaussian grid (a probe along the diagonal
#: of the input cube has no counterpart on image data sets).
DATASETS = ("gaussian-grid",)
#: The saturation knobs: distance -> (theta, MMD bandwidth) in words.
KNOBS = {
    "code_hamming": "Hamming, theta = none",
    "code_truncated_hamming": "truncated Hamming, theta = N/4",
    "code_truncated_hamming_half": "truncated Hamming, theta = N/2",
    "code_wasserstein": "W1 (Hamming cost)",
    "code_mmd": "MMD, bandwidth 1",
    "code_mmd_median": "MMD, bandwidth = median d_H",
}


def _arches(value: Any, name: str) -> tuple[tuple[int, int], ...]:
    """Non-empty ``((depth, width), ...)`` with one and the same number of hidden units."""
    if not isinstance(value, tuple) or not value:
        raise (TypeError if not isinstance(value, tuple) else ValueError)(
            f"`{name}` must be a non-empty tuple of (depth, width) pairs, got {describe(value)}"
        )
    out = []
    for i, pair in enumerate(value):
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise TypeError(f"`{name}[{i}]` must be a (depth, width) pair, got {describe(pair)}")
        out.append(
            (
                check_int(pair[0], f"{name}[{i}][0]", minimum=1),
                check_int(pair[1], f"{name}[{i}][1]", minimum=1),
            )
        )
    if len({d * w for d, w in out}) != 1:
        raise ValueError(f"`{name}` must hold nets with equal numbers of units, got {out}")
    return tuple(out)


@dataclasses.dataclass(frozen=True)
class GridConfig(Validated):
    """The Gaussian grid (the paper: 25 Gaussians on a 5 x 5 grid of ``[0, 1]^2``, 5 labels).

    Attributes:
        per_axis: Gaussians per axis of the grid.
        dim: input dimension (the paper's figures: 2; higher dims work, without d_T).
        n_groups: labels (k-means groups of the Gaussians) of the depth and sample-size runs.
        n_per_gaussian: training points per Gaussian (hamgeo's choice: 200).
        spread: standard deviation of each Gaussian (``None``: the data module's default).
    """

    per_axis: int = checked(5, int_at_least(2))
    dim: int = checked(2, int_at_least(2))
    n_groups: int = checked(5, int_at_least(1))
    n_per_gaussian: int = checked(200, int_at_least(1))
    spread: float | None = checked(None, optional(real(0.0, open_min=True)))


@dataclasses.dataclass(frozen=True)
class NetsConfig(Validated):
    """The ReLU MLPs (the paper: 3 and 10 hidden layers, 15 units in Fig. 2, 3 x 50 in Fig. 4).

    Attributes:
        depths: hidden layers of the depth sweep.
        width: units per hidden layer of the depth sweep (the 10-layer width is hamgeo's).
        sweep_depth: hidden layers of the net of the sample-size and label sweeps.
        sweep_width: its width.
        equal_units: ``(depth, width)`` nets of the cells-vs-depth comparison, all with the
            same number of hidden units (default 10 x 15, 3 x 50, 1 x 150), deepest first.
    """

    depths: tuple[int, ...] = checked((3, 10), int_tuple())
    width: int = checked(15, int_at_least(1))
    sweep_depth: int = checked(3, int_at_least(1))
    sweep_width: int = checked(50, int_at_least(1))
    equal_units: tuple[tuple[int, int], ...] = checked(((10, 15), (3, 50), (1, 150)), _arches)


@dataclasses.dataclass(frozen=True)
class TrainConfig(Validated):
    """Training (hamgeo's choices: 100 epochs of Adam at 3e-3, batch 128).

    Attributes:
        epochs: training epochs.
        batch_size: training batch size.
        learning_rate: Adam's step size.
    """

    epochs: int = checked(100, int_at_least(1))
    batch_size: int = checked(128, int_at_least(1))
    learning_rate: float = checked(3e-3, real(0.0, open_min=True))


@dataclasses.dataclass(frozen=True)
class ProbeConfig(Validated):
    """The diagonal probes (the paper: single points, sec. 3.1, or clouds, sec. 3.2).

    Attributes:
        sample_sizes: cloud sizes ``m`` of the sample-size sweep (Fig. 4).
        label_counts: numbers of labels of the label sweep (Fig. 4).
        depth_sample_size: ``m`` of the depth sweep's clouds (it also runs ``m = 1``).
        label_sample_size: ``m`` of the label sweep.
        n_shifts: shifts ``t``, evenly spaced over ``[0, max_shift]``.
        max_shift: largest shift as a fraction of the diagonal's length ``sqrt(dim)``.
        probe_spread: standard deviation of a probe cloud around its centre.
    """

    sample_sizes: tuple[int, ...] = checked((1, 10, 100), int_tuple())
    label_counts: tuple[int, ...] = checked((2, 5, 10), int_tuple())
    depth_sample_size: int = checked(10, int_at_least(1))
    label_sample_size: int = checked(10, int_at_least(1))
    n_shifts: int = checked(30, int_at_least(2))
    max_shift: float = checked(1.0, real(0.0, 1.0, open_min=True))
    probe_spread: float = checked(0.03, real(0.0))


@dataclasses.dataclass(frozen=True)
class StatsConfig(Validated):
    """The statistics (all hamgeo's choices).

    Attributes:
        truncate_fraction: ``theta`` of the truncated Hamming distance, as a fraction of the
            number of hidden units (a second curve uses twice it, ``N/2`` by default).
        saturation_delta: the band around the plateau of the saturation statistics.
        plateau_shifts: the plateau is the mean of the curve's last this many shifts.
        window_level: the local window ends where the benchmark's normalized value
            reaches this level.
        min_spearman_shifts: a local window holds at least this many shifts.
        sinkhorn_epsilon: entropic regularization (``None``: hamgeo's default).
        target_width: the saturation-difference interval the seeds should reach; the
            result states the number of seeds that would reach it.
    """

    truncate_fraction: float = checked(0.25, real(0.0, 0.5, open_min=True))
    saturation_delta: float = checked(0.1, real(0.0, 1.0, open_min=True, open_max=True))
    plateau_shifts: int = checked(3, int_at_least(1))
    window_level: float = checked(0.5, real(0.0, 1.0, open_min=True))
    min_spearman_shifts: int = checked(5, int_at_least(3))
    sinkhorn_epsilon: float | None = checked(None, optional(real(0.0, open_min=True)))
    target_width: float = checked(0.1, real(0.0, open_min=True))


@dataclasses.dataclass(frozen=True)
class CellsConfig(Validated):
    """Cells and the tessellation distance d_T.

    Attributes:
        tessellation: measure d_T, crossings and facet-aware distances (2-D inputs only).
        exact_cells: count the cells and measure d_T on the exact partition of the plane
            ([`exact_slice_partition`][hamgeo.regions.exact_slice_partition]); without it
            the count is a raster's (a lower bound) and d_T an upper bound from traced lines.
        grid_resolution: raster of the input square for the figures (and the raster count),
            in ``[2, 2**14]`` (``slice_partition``'s range).
        cell_graph_resolution: traced lines per direction of the cell graph without
            ``exact_cells``, in ``[2, 2**14]`` (``cell_graph``'s range).
    """

    tessellation: bool = checked(True, boolean())
    exact_cells: bool = checked(True, boolean())
    grid_resolution: int = checked(512, int_at_least(2, _MAX_RESOLUTION))
    cell_graph_resolution: int = checked(128, int_at_least(2, _MAX_RESOLUTION))


@dataclasses.dataclass(frozen=True)
class TheoremConfig(Validated):
    """The Theorem A.1 study on the first depth's net (sizes are hamgeo's choices).

    Attributes:
        enabled: run it.
        shift: shift of ``S2``, as a fraction of the diagonal.
        spread: standard deviation of the two clouds (wide, to cover several cells).
        reference: points per distribution whose codes define ``mu1`` and ``mu2``.
        sizes: sample sizes ``n = m`` of the empirical measures.
        draws: pairs of empirical measures drawn per size.
        epsilons: the deviations ``epsilon`` (in bits) of the tail probability.
    """

    enabled: bool = checked(True, boolean())
    shift: float = checked(0.25, real(0.0, 1.0))
    spread: float = checked(0.1, real(0.0, open_min=True))
    reference: int = checked(4096, int_at_least(1))
    sizes: tuple[int, ...] = checked((4, 8, 16, 32, 64, 128, 256), int_tuple())
    draws: int = checked(200, int_at_least(1))
    epsilons: tuple[float, ...] = checked((1.0, 2.0, 4.0), real_tuple(0.0, open_min=True))


def _section(cls: type) -> Any:
    def check(value: Any, name: str) -> Any:
        if not isinstance(value, cls):
            raise TypeError(f"`{name}` must be a {cls.__name__}, got {describe(value)}")
        return value

    return dataclasses.field(default_factory=cls, metadata={"check": check})


@dataclasses.dataclass(frozen=True)
class Config(Validated):
    """Sizes of the discriminability experiment: a tree of frozen sub-configs.

    **What the paper states** (section 3 and its figures): 25 Gaussians on a 5 x 5 grid
    of ``[0, 1]^2`` grouped into 5 labels by k-means; nets of 3 and 10 hidden layers
    (Fig. 3) with 15 units per layer in the 3-layer net of Fig. 2 (the width of the
    10-layer net is not stated); a 3 x 50 net for the sample-size and label sweeps
    (Fig. 4); probes of one point (section 3.1) or several points on the diagonal;
    Hamming, truncated Hamming, Wasserstein-1 (Sinkhorn, Hamming cost) and MMD with
    ``exp(-d_H)``; the Fréchet benchmark in data and activation space.

    **hamgeo's choices** are named in each section's docstring; every field is checked
    declaratively (``hamgeo.experiments._common.checked``) and addressable as
    ``section.field`` (``hamgeo reproduce discriminability --set train.epochs=50``).

    Attributes:
        n_seeds: independent repetitions; each draws its own data and probes and
            retrains every net (seed 0 uses the run's key itself). Default 10, hamgeo's
            choice of cost (a seed is about a CPU-minute at the default size). Ten seeds
            do not make the 3-vs-10-layer saturation interval narrower than
            ``stats.target_width``: the ``saturation_depth`` finding states the width a
            run reached and the number of seeds its own spread needs (about 83 on the
            committed run).
        data: the data set, only ``"gaussian-grid"`` (the study's own set-up).
        grid: [`GridConfig`][hamgeo.experiments.discriminability.GridConfig].
        nets: [`NetsConfig`][hamgeo.experiments.discriminability.NetsConfig].
        train: [`TrainConfig`][hamgeo.experiments.discriminability.TrainConfig].
        probe: [`ProbeConfig`][hamgeo.experiments.discriminability.ProbeConfig].
        stats: [`StatsConfig`][hamgeo.experiments.discriminability.StatsConfig].
        cells: [`CellsConfig`][hamgeo.experiments.discriminability.CellsConfig].
        theorem: [`TheoremConfig`][hamgeo.experiments.discriminability.TheoremConfig].
    """

    n_seeds: int = checked(10, check_n_seeds)
    data: Literal["gaussian-grid"] = checked("gaussian-grid", one_of(DATASETS))
    grid: GridConfig = _section(GridConfig)
    nets: NetsConfig = _section(NetsConfig)
    train: TrainConfig = _section(TrainConfig)
    probe: ProbeConfig = _section(ProbeConfig)
    stats: StatsConfig = _section(StatsConfig)
    cells: CellsConfig = _section(CellsConfig)
    theorem: TheoremConfig = _section(TheoremConfig)

    @classmethod
    def quick(cls) -> Config:
        """Small sizes (2 seeds) that finish in a few minutes on a 2-core CPU.

        Its verdicts are mostly ``inconclusive`` by design: two seeds give a range, not
        an interval. The equal-unit comparison uses 4 x 6 vs 2 x 12 vs 1 x 24.
        """
        return cls(
            n_seeds=2,
            grid=GridConfig(n_per_gaussian=40),
            nets=NetsConfig(equal_units=((4, 6), (2, 12), (1, 24))),
            train=TrainConfig(epochs=30, batch_size=64, learning_rate=1e-2),
            probe=ProbeConfig(sample_sizes=(1, 10, 30), label_counts=(2, 5), n_shifts=16),
            cells=CellsConfig(grid_resolution=160, cell_graph_resolution=64),
            theorem=TheoremConfig(reference=2048, sizes=(4, 16, 64, 256), draws=100),
        )

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int(self.stats.plateau_shifts, "stats.plateau_shifts", maximum=self.probe.n_shifts)
        n_gauss = self.grid.per_axis**self.grid.dim
        if max(self.grid.n_groups, *self.probe.label_counts) > n_gauss:
            raise ValueError(
                f"`grid.n_groups` and `probe.label_counts` must not exceed the {n_gauss} "
                f"Gaussians, got {self.grid.n_groups!r} and {self.probe.label_counts!r}"
            )

    @property
    def shifts(self) -> np.ndarray:
        """``float32[n_shifts]`` shifts ``t`` (arc length along the diagonal)."""
        length = self.probe.max_shift * math.sqrt(self.grid.dim)
        return np.linspace(0.0, length, self.probe.n_shifts, dtype=np.float32)

    def replace(self, **changes: Any) -> Config:
        """A copy with ``section.field`` values changed, e.g. ``replace(**{"train.epochs": 3})``.

        Examples:
            >>> Config().replace(**{"train.epochs": 3, "n_seeds": 2}).train.epochs
            3
        """
        top: dict[str, Any] = {}
        nested: dict[str, dict[str, Any]] = {}
        for name, value in changes.items():
            section, _, field = name.partition(".")
            if field:
                nested.setdefault(section, {})[field] = value
            else:
                top[name] = value
        for section, fields in nested.items():
            if not dataclasses.is_dataclass(getattr(self, section, None)):
                raise ValueError(f"`{section}` is not a section of the Config")
            top[section] = dataclasses.replace(getattr(self, section), **fields)
        return dataclasses.replace(self, **top)


def net_name(depth: int, width: int, groups: int) -> str:
    """``"L{depth}_w{width}_g{groups}"``, the name of a net in ``Result``."""
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
    """``(a_min, a_max, b_min, b_max)`` of the window of ``plane``."""
    return (0.0, 1.0, 0.0, 1.0) if dim == 2 else (0.0, math.sqrt(dim), -0.5, 0.5)


def endpoints(shifts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start corner ``float64[T, 2]`` (repeated) and probe points ``[T, 2]`` on the 2-D diagonal."""
    ends = np.asarray(diagonal_probe(jnp.asarray(shifts), dim=2), dtype=np.float64)[:, 0, :]
    starts = np.repeat(ends[:1], len(shifts), axis=0)
    return starts, ends
