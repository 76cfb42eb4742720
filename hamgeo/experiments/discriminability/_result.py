"""Results of the discriminability reproduction: per net, per seed, across seeds.

A leaf of [`hamgeo.experiments.discriminability`][hamgeo.experiments.discriminability] next to
[`_config`][hamgeo.experiments.discriminability._config] and
[`_stats`][hamgeo.experiments.discriminability._stats] (it imports only those two of the package).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from hamgeo.experiments.discriminability._config import NAME, Config, net_name
from hamgeo.experiments.discriminability._stats import normalize_curve
from hamgeo.experiments.findings import (
    Finding,
    Record,
    dataset_info,
    results_document,
)

__all__ = ["NetResult", "Result", "SeedResult", "TheoremResult", "curve_band", "key"]


def key(statistic: str, **factors: Any) -> tuple[str, tuple[tuple[str, Any], ...]]:
    """The key of one tidy value: the statistic and its factors, sorted by name.

    Examples:
        >>> key("n_cells", width=15, depth=3)
        ('n_cells', (('depth', 3), ('width', 15)))
    """
    return statistic, tuple(sorted(factors.items()))


def curve_band(per_seed: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and range across seeds of min-max normalized curves.

    The band of the figures is the range (lowest to highest seed at each shift): with
    two or three seeds a Student-t band would cover the whole axis and hide what the
    seeds show. Scalar statistics carry their t intervals.

    Args:
        per_seed: ``float[S, T]`` one raw curve per seed.

    Returns:
        ``(mean, low, high)``, each ``float64[T]``.

    Examples:
        >>> mean, low, high = curve_band(np.array([[0.0, 1.0, 2.0], [0.0, 2.0, 2.0]]))
        >>> mean.tolist(), low.tolist(), high.tolist()
        ([0.0, 0.75, 1.0], [0.0, 0.5, 1.0], [0.0, 1.0, 1.0])
    """
    norm = np.stack([normalize_curve(c) for c in np.asarray(per_seed, np.float64)])
    return norm.mean(axis=0), norm.min(axis=0), norm.max(axis=0)


@dataclasses.dataclass
class NetResult:
    """One trained net of one seed and every curve measured with it.

    Attributes:
        depth: hidden layers.
        width: units per hidden layer.
        n_groups: the number of labels it was trained on.
        accuracy: test accuracy on the Gaussian grid.
        n_cells: cells of the net on the input plane's window (exact with
            ``Config.exact_cells``, else a raster's distinct codes).
        curves: ``{m: {distance: float[n_shifts]}}`` raw distances between ``S1`` and ``S2``.
        converged: ``{m: {"code_wasserstein": [bool], "activ_wasserstein": [bool]}}``.
        cells: ``{distance: int64[n_shifts]}`` for ``CELL_DISTANCES`` (2-D inputs), else empty.
        cells_exact: whether ``cells["tessellation"]`` comes from the exact partition of
            the plane (else it is an upper bound from traced lines).
        controls: ``{arm: {m: {distance: float[n_shifts]}}}`` for the depth-sweep nets:
            ``"init"`` (the same architecture untrained) and ``"random codes"``
            (random-hyperplane codes of the inputs with the same number of bits).
        n_cells_init: cells of the same architecture at initialization (equal-unit nets).
    """

    depth: int
    width: int
    n_groups: int
    accuracy: float
    n_cells: int
    curves: dict[int, dict[str, np.ndarray]]
    converged: dict[int, dict[str, list[bool]]]
    cells: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    cells_exact: bool = False
    controls: dict[str, dict[int, dict[str, np.ndarray]]] = dataclasses.field(default_factory=dict)
    n_cells_init: int | None = None

    @property
    def name(self) -> str:
        """``"L{depth}_w{width}_g{n_groups}"``."""
        return net_name(self.depth, self.width, self.n_groups)


@dataclasses.dataclass
class TheoremResult:
    """The empirical tail of Theorem A.1 on one trained net (one seed).

    ``mu1`` and ``mu2`` are the distributions of the codes of the probe clouds at the
    start and at ``shift`` (histograms of ``theorem_reference`` points each); empirical
    measures of ``n`` codes are drawn i.i.d. from them.

    Attributes:
        shift: the shift of ``S2``.
        reference: ``W1(mu1, mu2)`` (exact, Hamming cost).
        diameter: ``|beta(x)|``, the largest Hamming distance within both supports.
        n_codes: distinct codes in the two supports together.
        sizes: ``int[S]`` the sample sizes ``n = m``.
        epsilons: ``float[E]`` the deviations.
        tail: ``float[S, E]`` the fraction of draws with ``|W - W_nm| > epsilon``.
        mean_abs_error: ``float[S]`` the mean ``|W - W_nm|``.
        log10_bound: ``float[S, E]`` ``log10`` of the paper's bound (vacuous where ``>= 0``).
    """

    shift: float
    reference: float
    diameter: int
    n_codes: int
    sizes: np.ndarray
    epsilons: np.ndarray
    tail: np.ndarray
    mean_abs_error: np.ndarray
    log10_bound: np.ndarray


@dataclasses.dataclass
class SeedResult:
    """What one seed measured.

    Attributes:
        nets: ``{name: NetResult}``.
        theorem: the Theorem A.1 study (``None`` when switched off).
        values: the seed's tidy values, ``{key(statistic, **factors): value}``.
    """

    nets: dict[str, NetResult]
    theorem: TheoremResult | None
    values: dict[tuple, Any]


@dataclasses.dataclass
class Result:
    """Everything [`run`][hamgeo.experiments.discriminability.run] measured.

    Attributes:
        config: the [`Config`][hamgeo.experiments.discriminability.Config] of the run.
        shifts: ``float32[n_shifts]`` the shifts ``t``.
        seeds: one [`SeedResult`][hamgeo.experiments.discriminability.SeedResult] per seed.
        depth_nets: ``{depth: net name}`` of the depth sweep.
        sample_size_net: the net of the sample-size sweep.
        label_nets: ``{labels: net name}`` of the label sweep.
        records: every tidy statistic across seeds.
        findings: the paper's claims judged by rule against controls.
        data: seed 0's data, nets and probes, for the figures (not in the JSON).
    """

    config: Config
    shifts: np.ndarray
    seeds: list[SeedResult]
    depth_nets: dict[int, str]
    sample_size_net: str
    label_nets: dict[int, str]
    records: list[Record]
    findings: list[Finding]
    data: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False)

    @property
    def nets(self) -> dict[str, NetResult]:
        """Seed 0's nets."""
        return self.seeds[0].nets

    @property
    def summary(self) -> list[Record]:
        """Every statistic across seeds as tidy records (``pandas.DataFrame`` reads them)."""
        return list(self.records)

    def values(self, statistic: str, **factors: Any) -> list[Any]:
        """The per-seed values of one statistic at one setting (``None`` where missing)."""
        k = key(statistic, **factors)
        return [s.values.get(k) for s in self.seeds]

    def record(self, statistic: str, **factors: Any) -> Record | None:
        """The record of one statistic at one setting, or ``None``."""
        want = dict(factors)
        for r in self.records:
            if r.statistic == statistic and dict(r.factors) == want:
                return r
        return None

    def band(self, net: str, m: int, distance: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``curve_band`` of one distance curve of one net across seeds."""
        return curve_band(np.stack([s.nets[net].curves[m][distance] for s in self.seeds]))

    def to_dict(self) -> dict[str, Any]:
        """The content of ``results.json`` (the shipped schema).

        ``extra`` holds the shifts, the sweeps, the Theorem A.1 study per seed and, per
        net, the raw curves of every seed and the normalized curves' mean and range.
        """
        nets = {}
        for name in self.nets:
            first = self.nets[name]
            per_seed = [s.nets[name] for s in self.seeds]
            nets[name] = {
                "depth": first.depth,
                "width": first.width,
                "n_groups": first.n_groups,
                "curves": {
                    str(m): {
                        k: [np.asarray(n.curves[m][k], float).tolist() for n in per_seed] for k in c
                    }
                    for m, c in first.curves.items()
                },
                "normalized": {
                    str(m): {
                        k: dict(zip(("mean", "min", "max"), self.band(name, m, k), strict=True))
                        for k in c
                    }
                    for m, c in first.curves.items()
                },
                "sinkhorn_converged": [n.converged for n in per_seed],
                "cells": [
                    {k: np.asarray(v).tolist() for k, v in n.cells.items()} for n in per_seed
                ],
                "cells_exact": [n.cells_exact for n in per_seed],
            }
        info = dict(self.data.get("dataset_info", {}))
        flags = [
            ok
            for s in self.seeds
            for n in s.nets.values()
            for f in n.converged.values()
            for r in f.values()
            for ok in r
        ]
        return results_document(
            experiment=NAME,
            config=self.config,
            dataset=dataset_info(
                self.config.data,
                source="generated",
                checksum=info.get("checksum", "sha256:" + "0" * 64),
                n_train=info.get("n_train", 0),
                n_test=info.get("n_test"),
                generator=info.get("generator", "hamgeo.data.gaussian_grid"),
                parameters={
                    **dataclasses.asdict(self.config.grid),
                    "spread": info.get("spread"),
                    "seed": "each seed draws its own grid; the checksum is seed 0's",
                },
            ),
            seeds=list(range(len(self.seeds))),
            findings=self.findings,
            summary=self.records,
            converged=bool(all(flags)) if flags else None,
            extra={
                "shifts": np.asarray(self.shifts, dtype=float).tolist(),
                "sweeps": {
                    "depth": {f"L{d}": n for d, n in self.depth_nets.items()},
                    "sample_size": self.sample_size_net,
                    "labels": {f"g{g}": n for g, n in self.label_nets.items()},
                },
                "nets": nets,
                "theorem": [s.theorem for s in self.seeds],
            },
        )
