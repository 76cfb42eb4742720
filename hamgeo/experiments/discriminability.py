"""Reproduction of the discriminability paper: samples in the Hamming space of ReLU codes.

The paper is *On the discriminability of samples in the Hamming space of binarized ReLU
activations* (``shared/papers/discriminability.txt``).

The procedure of the paper's section 3:

1. Gaussian-grid data (25 Gaussians on a 5 x 5 grid of ``[0, 1]^2``, grouped into 5 labels by
   k-means over the means); a ReLU MLP is trained to predict the group, once per depth
   (3 and 10 hidden layers) and, for the sample-size and label sweeps, as a 3 x 50 net.
2. Probe samples on the diagonal of the cube: ``S1`` at the start corner, ``S2`` the same
   sample shifted by ``t`` along the diagonal, for a range of shifts ``t``; single points
   (``m = 1``) or clouds of ``m`` points (``S2`` is an exact translate of ``S1``).
3. Both samples go through the trained net; distances between them are measured in
   *code* space (binarized activations: Hamming, Wasserstein-1 by Sinkhorn with Hamming cost,
   MMD with the kernel ``exp(-d_H)``, truncated Hamming ``min(d_H, theta)``), *activation*
   space (post-ReLU values: Fréchet and Wasserstein-1 with Euclidean cost) and *data* space
   (Fréchet, the paper's benchmark, and the Euclidean shift itself).
4. Each curve is min-max normalized to ``[0, 1]`` (as in the paper's plots) and compared with
   the benchmark: Spearman rank correlation at small shifts, and the shift after which the
   code-Wasserstein curve saturates.

The tessellation side of the paper (its Fig. 1: Hamming distance is not the number of cell
boundaries between two cells) is measured along the same diagonal for 2-D inputs: Hamming
distance ``d_H``, the exact cell distance ``d_T``, the boundary crossings on the segment and the
facet-aware Hamming distance (:mod:`hamgeo.regions`).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import scipy.stats

from hamgeo.experiments._common import progress
from hamgeo.experiments._discriminability_cells import cell_curves, cell_stats

__all__ = [
    "CODE_DISTANCES",
    "DISTANCES",
    "NAME",
    "Config",
    "NetResult",
    "Result",
    "normalize_curve",
    "plot",
    "run",
    "saturation_index",
    "spearman_small_shifts",
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
#: Cell distances along the diagonal (2-D inputs only).
CELL_DISTANCES = ("hamming", "tessellation", "crossings", "facet_aware")


@dataclasses.dataclass(frozen=True)
class Config:
    """Sizes of the discriminability experiment; the defaults follow the paper.

    Attributes:
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
        depth_sample_size: ``m`` of the depth sweep and of the summary statistics.
        label_sample_size: ``m`` of the label sweep.
        n_shifts: shifts ``t``, evenly spaced over ``[0, max_shift]``.
        max_shift: largest shift as a fraction of the diagonal's length ``sqrt(dim)``.
        probe_spread: standard deviation of a probe cloud around its centre.
        truncate_fraction: ``theta`` of the truncated Hamming distance, as a fraction of the
            number of hidden units.
        epochs, batch_size, learning_rate: training.
        grid_resolution: raster of the input square for the cell count and the figures.
        saturation_level: level the normalized code-Wasserstein curve must stay above.
        min_spearman_shifts: Spearman correlations use at least this many first shifts.
        sinkhorn_epsilon: entropic regularization (``None``: hamgeo's default).
        tessellation: measure d_T, crossings and facet-aware distances (2-D inputs only).
        cell_graph_resolution: traced lines per direction of the cell graph behind d_T.
    """

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
    saturation_level: float = 0.95
    min_spearman_shifts: int = 5
    sinkhorn_epsilon: float | None = None
    tessellation: bool = True
    cell_graph_resolution: int = 128

    @classmethod
    def quick(cls) -> Config:
        """Small sizes that finish in about a minute on a 2-core CPU."""
        return cls(
            n_per_gaussian=40,
            sample_sizes=(1, 10, 30),
            label_counts=(2, 5),
            n_shifts=16,
            epochs=30,
            batch_size=64,
            learning_rate=1e-2,
            grid_resolution=160,
            cell_graph_resolution=64,
        )

    def __post_init__(self):
        positive = (
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
            "min_spearman_shifts",
            "cell_graph_resolution",
        )
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"`{name}` must be a positive int, got {value!r}")
        if self.n_shifts < 2:
            raise ValueError(f"`n_shifts` must be at least 2, got {self.n_shifts!r}")
        for name in ("depths", "sample_sizes", "label_counts"):
            value = getattr(self, name)
            if not value or any(not isinstance(v, int) or v < 1 for v in value):
                raise ValueError(
                    f"`{name}` must be a non-empty tuple of positive ints, got {value!r}"
                )
        if self.dim < 2:
            raise ValueError(f"`dim` must be at least 2, got {self.dim!r}")
        if not 0.0 < self.max_shift <= 1.0:
            raise ValueError(f"`max_shift` must be in (0, 1], got {self.max_shift!r}")
        if not 0.0 < self.truncate_fraction <= 1.0:
            raise ValueError(
                f"`truncate_fraction` must be in (0, 1], got {self.truncate_fraction!r}"
            )
        if not 0.0 < self.saturation_level <= 1.0:
            raise ValueError(f"`saturation_level` must be in (0, 1], got {self.saturation_level!r}")
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


@dataclasses.dataclass
class NetResult:
    """One trained net and every curve measured with it.

    Attributes:
        depth, width, n_groups: the architecture and the number of labels it was trained on.
        accuracy: test accuracy on the Gaussian grid.
        n_cells: distinct codes over a ``grid_resolution``-square raster of the input plane.
        curves: ``{m: {distance: float[n_shifts]}}`` raw distances between ``S1`` and ``S2``.
        converged: ``{m: {"code_wasserstein": [bool], "activ_wasserstein": [bool]}}``.
        cells: ``{distance: float[n_shifts]}`` for ``CELL_DISTANCES`` (2-D inputs), else empty.
    """

    depth: int
    width: int
    n_groups: int
    accuracy: float
    n_cells: int
    curves: dict[int, dict[str, np.ndarray]]
    converged: dict[int, dict[str, list[bool]]]
    cells: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)

    @property
    def name(self) -> str:
        """``"L{depth}_w{width}_g{n_groups}"``."""
        return f"L{self.depth}_w{self.width}_g{self.n_groups}"


@dataclasses.dataclass
class Result:
    """Everything :func:`run` measured; :meth:`to_dict` is ``results.json``.

    Attributes:
        config: the :class:`Config` of the run.
        shifts: ``float32[n_shifts]`` the shifts ``t``.
        nets: ``{name: NetResult}``; names ``L{depth}_w{width}_g{groups}``.
        depth_nets, sample_size_net, label_nets: which net each sweep used.
        data: the training data and the grid partition, for the figures (not in the JSON).
        summary: the named scalars (see :func:`run`).
    """

    config: Config
    shifts: np.ndarray
    nets: dict[str, NetResult]
    depth_nets: dict[int, str]
    sample_size_net: str
    label_nets: dict[int, str]
    summary: dict[str, Any]
    data: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able content of ``results.json``: config, every curve, summary."""
        nets = {}
        for name, net in self.nets.items():
            nets[name] = {
                "depth": net.depth,
                "width": net.width,
                "n_groups": net.n_groups,
                "accuracy": float(net.accuracy),
                "n_cells": int(net.n_cells),
                "curves": {
                    str(m): {k: np.asarray(v, dtype=float).tolist() for k, v in c.items()}
                    for m, c in net.curves.items()
                },
                "normalized": {
                    str(m): {
                        k: normalize_curve(np.asarray(v)).astype(float).tolist()
                        for k, v in c.items()
                    }
                    for m, c in net.curves.items()
                },
                "sinkhorn_converged": {str(m): c for m, c in net.converged.items()},
                "cells": {k: np.asarray(v, dtype=float).tolist() for k, v in net.cells.items()},
            }
        config = dataclasses.asdict(self.config)
        return {
            "experiment": NAME,
            "config": config,
            "shifts": np.asarray(self.shifts, dtype=float).tolist(),
            "sweeps": {
                "depth": {f"L{d}": n for d, n in self.depth_nets.items()},
                "sample_size": self.sample_size_net,
                "labels": {f"g{g}": n for g, n in self.label_nets.items()},
            },
            "nets": nets,
            "summary": dict(self.summary),
        }


# --------------------------------------------------------------------------- statistics


def normalize_curve(values: np.ndarray) -> np.ndarray:
    """Min-max normalize a curve to ``[0, 1]``, as in the paper's plots.

    A constant curve maps to zeros; non-finite entries stay NaN.

    Args:
        values: ``float[T]`` a distance at each shift.

    Returns:
        ``float64[T]`` ``(v - min) / (max - min)``.

    Examples:
        >>> normalize_curve(np.array([2.0, 4.0, 3.0])).tolist()
        [0.0, 1.0, 0.5]
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1:
        raise ValueError(f"`values` must be 1-D, got shape {v.shape}")
    finite = np.isfinite(v)
    if not finite.any():
        return np.full_like(v, np.nan)
    lo, hi = v[finite].min(), v[finite].max()
    if hi <= lo:
        return np.where(finite, 0.0, np.nan)
    return (v - lo) / (hi - lo)


def saturation_index(normalized: np.ndarray, level: float = 0.95) -> int | None:
    """Index of the smallest shift after which a normalized curve stays ``>= level``.

    Args:
        normalized: ``float[T]`` a curve normalized to ``[0, 1]``.
        level: the saturation level.

    Returns:
        The first index ``k`` with ``normalized[k:] >= level`` everywhere, or ``None`` when
        the last value is below ``level`` (no saturation).

    Examples:
        >>> saturation_index(np.array([0.0, 0.5, 0.96, 0.9, 0.97, 1.0]))
        4
        >>> saturation_index(np.array([0.0, 1.0, 0.5])) is None
        True
    """
    v = np.asarray(normalized, dtype=np.float64)
    if v.ndim != 1 or v.size == 0:
        raise ValueError(f"`normalized` must be a non-empty 1-D array, got shape {v.shape}")
    above = np.nan_to_num(v, nan=-np.inf) >= level
    if not above[-1]:
        return None
    below = np.flatnonzero(~above)
    return int(below[-1] + 1) if below.size else 0


def spearman_small_shifts(a: np.ndarray, b: np.ndarray, stop: int, minimum: int = 5) -> float:
    """Spearman rank correlation of two curves over their first ``max(stop + 1, minimum)`` shifts.

    Args:
        a: ``float[T]`` a curve over the shifts.
        b: ``float[T]`` another curve over the same shifts.
        stop: last index to include (the saturation index).
        minimum: include at least this many first shifts.

    Returns:
        The correlation, NaN if either curve is constant over the range.

    Examples:
        >>> spearman_small_shifts(np.array([0, 1, 2, 4, 3.0]), np.arange(5.0), stop=2, minimum=4)
        1.0
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"`a` and `b` must be 1-D of one shape, got {a.shape} and {b.shape}")
    n = min(a.size, max(int(stop) + 1, int(minimum)))
    x, y = a[:n], b[:n]
    if n < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(scipy.stats.spearmanr(x, y).statistic)


# --------------------------------------------------------------------------- measurement


@functools.cache
def _batched_distances():
    """Jitted Fréchet and MMD of one sample against each of ``T`` samples (compiled once)."""
    from hamgeo.codes import PackedCodes
    from hamgeo.gaussian import frechet_distance
    from hamgeo.mmd import mmd

    def mmd_words(w1, w2, n_bits):
        return mmd(PackedCodes(w1, n_bits), PackedCodes(w2, n_bits), unbiased=False)

    frechet = jax.jit(jax.vmap(frechet_distance, in_axes=(None, 0)))
    mmds = jax.jit(jax.vmap(mmd_words, in_axes=(None, 0, None)), static_argnums=2)
    return frechet, mmds


def _frechet_many(x: jax.Array, ys: jax.Array) -> np.ndarray:
    """Fréchet distance of ``x`` ``[m, d]`` to each ``ys[t]`` ``[T, m, d]``.

    For single points (zero covariances) the Fréchet distance is the Euclidean distance.
    """
    if x.shape[0] == 1:
        return np.linalg.norm(
            np.asarray(ys[:, 0], np.float64) - np.asarray(x[0], np.float64), axis=-1
        )
    return np.asarray(_batched_distances()[0](x, ys), np.float64)


def _all_equal(u, v) -> bool:
    """Whether every row of both samples (codes or vectors) is one and the same."""
    u = np.asarray(getattr(u, "words", u))
    v = np.asarray(getattr(v, "words", v))
    return bool((u == u[:1]).all() and (v == u[:1]).all())


def _sample_curves(model, variables, s1, s2, *, theta: int, epsilon):
    """Distances between ``S1`` ``[m, d]`` and each shifted ``S2`` ``[T, m, d]``.

    Codes and post-ReLU activations come from one jitted pass of the pre-activations. For
    ``m = 1`` both Wasserstein distances are ground distances between two point masses (no
    Sinkhorn is run); otherwise each is a Sinkhorn run whose ``converged`` is recorded.

    Returns ``({distance: float64[T]}, {"code_wasserstein": [bool], "activ_wasserstein":
    [bool]})``.
    """
    from hamgeo.codes import pack_bits
    from hamgeo.hamming import pairwise_hamming
    from hamgeo.nets import preactivations
    from hamgeo.transport import wasserstein

    n_t, m, d = s2.shape
    pre = jax.jit(lambda v, x: jnp.concatenate(preactivations(model, v, x), axis=-1))
    both = pre(variables, jnp.asarray(np.concatenate([s1[None], s2]).reshape(-1, d)))
    codes = pack_bits(both > 0)
    acts = jax.nn.relu(both).reshape(n_t + 1, m, -1)
    c1, c2_all = codes[:m], codes[m:]
    a1, a2_all = acts[0], acts[1:]
    # paired Hamming: point i of S1 against its own translate in S2
    dh = np.asarray(pairwise_hamming(c2_all, c1)).reshape(n_t, m, m)
    paired = np.diagonal(dh, axis1=1, axis2=2).astype(np.float64)
    curves = {k: np.zeros(n_t) for k in DISTANCES}
    curves["code_hamming"] = paired.mean(axis=1)
    curves["code_truncated_hamming"] = np.minimum(paired, theta).mean(axis=1)
    converged = {"code_wasserstein": [], "activ_wasserstein": []}
    if m == 1:
        # W1 between two point masses is their ground distance: no Sinkhorn to run
        curves["code_wasserstein"] = paired[:, 0].copy()
        curves["activ_wasserstein"] = _frechet_many(a1, a2_all)
    else:
        for i in range(n_t):
            pairs = {
                "code_wasserstein": (c1, c2_all[i * m : (i + 1) * m], "hamming"),
                "activ_wasserstein": (a1, a2_all[i], "euclidean"),
            }
            for name, (u, v, cost) in pairs.items():
                if _all_equal(u, v):
                    # one point repeated in both samples: every plan costs 0, no Sinkhorn to run
                    continue
                ot = wasserstein(u, v, cost=cost, p=1, epsilon=epsilon, method="kernel")
                curves[name][i] = float(ot.value)
                converged[name].append(bool(ot.converged))
    words2 = c2_all.words.reshape(n_t, m, -1)
    curves["code_mmd"] = np.asarray(
        _batched_distances()[1](c1.words, words2, c1.n_bits), np.float64
    )
    curves["activ_frechet"] = _frechet_many(a1, a2_all)
    curves["data_frechet"] = _frechet_many(jnp.asarray(s1), jnp.asarray(s2))
    curves["data_euclidean"] = (
        np.linalg.norm(s2 - s1[None], axis=-1).mean(axis=1).astype(np.float64)
    )
    return curves, converged


def _plane(dim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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


def _plane_extent(dim: int) -> tuple[float, float, float, float]:
    """``(a_min, a_max, b_min, b_max)`` of the window of :func:`_plane`."""
    return (0.0, 1.0, 0.0, 1.0) if dim == 2 else (0.0, math.sqrt(dim), -0.5, 0.5)


def _count_cells(model, variables, config: Config) -> int:
    """Distinct codes of the net over a raster of the input plane (:func:`_plane`)."""
    from hamgeo.regions import slice_partition

    origin, u, v = _plane(config.dim)
    part = slice_partition(
        model,
        variables,
        origin,
        u,
        v,
        extent=_plane_extent(config.dim),
        resolution=config.grid_resolution,
    )
    return int(part.n_cells)


# --------------------------------------------------------------------------- the run


def _plan(config: Config) -> dict[tuple[int, int, int], set[int]]:
    """``{(depth, width, groups): {m}}``: every net the sweeps need and its sample sizes."""
    plan: dict[tuple[int, int, int], set[int]] = {}
    for depth in config.depths:
        plan.setdefault((depth, config.width, config.n_groups), set()).update(
            {1, config.depth_sample_size}
        )
    sweep = (config.sweep_depth, config.sweep_width, config.n_groups)
    plan.setdefault(sweep, set()).update(config.sample_sizes)
    for groups in config.label_counts:
        plan.setdefault((config.sweep_depth, config.sweep_width, groups), set()).add(
            config.label_sample_size
        )
    return plan


def _net_name(depth: int, width: int, groups: int) -> str:
    return f"L{depth}_w{width}_g{groups}"


def run(config: Config, key: jax.Array) -> Result:
    """Run the discriminability experiment of the paper's section 3.

    Trains one ReLU MLP per (depth, width, number of labels) the sweeps need, probes it with
    diagonal samples at every shift and records every distance curve (see the module
    docstring). The summary holds, for each depth ``L`` of ``config.depths`` (measured with
    ``m = config.depth_sample_size``):

    - ``saturation_shift_L{L}``: smallest shift after which the normalized code-Wasserstein
      curve stays ``>= config.saturation_level`` (``None`` if it never does);
    - ``spearman_code_wasserstein_vs_data_frechet_L{L}``,
      ``spearman_code_mmd_vs_data_frechet_L{L}``, ``spearman_code_hamming_vs_euclidean_L{L}``:
      Spearman correlations over the shifts up to the saturation shift (at least the first
      ``config.min_spearman_shifts``);
    - ``n_cells_L{L}`` (distinct codes over a raster of the input plane) and ``accuracy_L{L}``;
    - for 2-D inputs, ``mean_dH_over_dT_L{L}`` and ``frac_dH_lt_dT_L{L}`` over the probe
      points in another cell than the start (the paper's Fig. 1 effect);

    the same saturation and Spearman statistics for each sample size (``_m{m}``) and number
    of labels (``_g{g}``), and ``sinkhorn_all_converged``.

    Args:
        config: the sizes.
        key: a ``jax.random.key``; the same key gives the same result.

    Returns:
        A :class:`Result`.

    Examples:
        >>> cfg = Config(n_per_gaussian=4, depths=(1,), width=3, sweep_depth=1, sweep_width=3,
        ...              sample_sizes=(2,), label_counts=(5,), depth_sample_size=2,
        ...              label_sample_size=2, n_shifts=5, epochs=1, grid_resolution=8,
        ...              tessellation=False)
        >>> res = run(cfg, jax.random.key(0))
        >>> sorted(res.nets), len(res.shifts)
        (['L1_w3_g5'], 5)
    """
    from hamgeo.data import diagonal_probe, gaussian_grid
    from hamgeo.nets import MLP, accuracy, train

    if not isinstance(config, Config):
        raise TypeError(f"`config` must be a Config, got {type(config).__name__}")
    data_key, probe_key, train_key = jax.random.split(key, 3)
    shifts = config.shifts
    plan = _plan(config)
    grid_kwargs = {} if config.spread is None else {"spread": config.spread}
    datasets = {}
    probes = {}
    nets: dict[str, NetResult] = {}
    trained = {}
    for i, ((depth, width, groups), sizes) in enumerate(
        progress(list(plan.items()), desc="discriminability nets")
    ):
        if groups not in datasets:
            datasets[groups] = gaussian_grid(
                key=data_key,
                per_axis=config.per_axis,
                dim=config.dim,
                n_groups=groups,
                n_per_gaussian=config.n_per_gaussian,
                **grid_kwargs,
            )
        data = datasets[groups]
        model = MLP(widths=(width,) * depth, n_classes=groups)
        variables = train(
            model,
            data,
            epochs=config.epochs,
            batch_size=config.batch_size,
            learning_rate=config.learning_rate,
            key=jax.random.fold_in(train_key, i),
        ).variables
        n_bits = width * depth
        theta = max(1, round(config.truncate_fraction * n_bits))
        curves, converged = {}, {}
        for m in sorted(sizes):
            if m not in probes:
                probes[m] = np.asarray(
                    diagonal_probe(
                        jnp.asarray(shifts),
                        dim=config.dim,
                        m=m,
                        key=None if m == 1 else probe_key,
                        start=0.0,
                        spread=config.probe_spread,
                    )
                )
            s2 = probes[m]
            curves[m], converged[m] = _sample_curves(
                model, variables, s2[0], s2, theta=theta, epsilon=config.sinkhorn_epsilon
            )
        name = _net_name(depth, width, groups)
        nets[name] = NetResult(
            depth=depth,
            width=width,
            n_groups=groups,
            accuracy=float(accuracy(model, variables, data.x_test, data.y_test)),
            n_cells=_count_cells(model, variables, config),
            curves=curves,
            converged=converged,
        )
        trained[name] = (model, variables)
    depth_nets = {d: _net_name(d, config.width, config.n_groups) for d in config.depths}
    if config.tessellation and config.dim == 2:
        for name in dict.fromkeys(depth_nets.values()):
            model, variables = trained[name]
            nets[name].cells = cell_curves(
                model, variables, shifts, resolution=config.cell_graph_resolution
            )
    result = Result(
        config=config,
        shifts=shifts,
        nets=nets,
        depth_nets=depth_nets,
        sample_size_net=_net_name(config.sweep_depth, config.sweep_width, config.n_groups),
        label_nets={
            g: _net_name(config.sweep_depth, config.sweep_width, g) for g in config.label_counts
        },
        summary={},
        data={"datasets": datasets, "trained": trained, "probes": probes},
    )
    result.summary = _summarize(result)
    return result


def _curve_stats(result: Result, curves: dict[str, np.ndarray], suffix: str) -> dict[str, Any]:
    cfg = result.config
    norm_w = normalize_curve(curves["code_wasserstein"])
    k = saturation_index(norm_w, cfg.saturation_level)
    stop = len(norm_w) - 1 if k is None else k
    out: dict[str, Any] = {
        f"saturation_shift_{suffix}": None if k is None else float(result.shifts[k]),
    }
    for a, b in (
        ("code_wasserstein", "data_frechet"),
        ("code_mmd", "data_frechet"),
        ("code_hamming", "euclidean"),
    ):
        ref = curves["data_euclidean" if b == "euclidean" else b]
        out[f"spearman_{a}_vs_{b}_{suffix}"] = spearman_small_shifts(
            curves[a], ref, stop, cfg.min_spearman_shifts
        )
    return out


def _summarize(result: Result) -> dict[str, Any]:
    cfg = result.config
    summary: dict[str, Any] = {}
    for depth, name in result.depth_nets.items():
        net = result.nets[name]
        summary.update(_curve_stats(result, net.curves[cfg.depth_sample_size], f"L{depth}"))
        summary[f"n_cells_L{depth}"] = int(net.n_cells)
        summary[f"accuracy_L{depth}"] = float(net.accuracy)
        if net.cells:
            summary.update(cell_stats(net.cells, f"L{depth}"))
        else:  # d_T is exact for 2-D inputs only
            summary[f"mean_dH_over_dT_L{depth}"] = None
            summary[f"frac_dH_lt_dT_L{depth}"] = None
    sweep = result.nets[result.sample_size_net]
    for m in cfg.sample_sizes:
        summary.update(_curve_stats(result, sweep.curves[m], f"m{m}"))
    for g, name in result.label_nets.items():
        summary.update(
            _curve_stats(result, result.nets[name].curves[cfg.label_sample_size], f"g{g}")
        )
    flags = [
        ok
        for net in result.nets.values()
        for per_m in net.converged.values()
        for runs in per_m.values()
        for ok in runs
    ]
    summary["sinkhorn_runs"] = len(flags)
    summary["sinkhorn_all_converged"] = bool(all(flags))
    return summary


# --------------------------------------------------------------------------- figures


def plot(result: Result, out_dir) -> list[str]:
    """Draw the paper's figures from a :class:`Result` into ``out_dir``.

    Writes ``discriminability_setup.png`` (Fig. 2: data by group, the net's cells with the
    probe, distances vs shift), ``discriminability_depth.png`` (Fig. 3),
    ``discriminability_sample_size.png`` and ``discriminability_labels.png`` (Fig. 4) and, for
    2-D inputs, ``discriminability_tessellation.png`` (d_H, d_T, crossings and facet-aware
    distance vs shift) and ``discriminability_fig1_effect.png`` (Fig. 1 on the trained net).

    Args:
        result: what :func:`run` returned.
        out_dir: the folder (created if missing).

    Returns:
        The paths of the PNG files written.
    """
    from hamgeo.experiments._discriminability_plots import plot_all

    if not isinstance(result, Result):
        raise TypeError(f"`result` must be a discriminability Result, got {type(result).__name__}")
    return plot_all(result, out_dir, normalize=normalize_curve)
