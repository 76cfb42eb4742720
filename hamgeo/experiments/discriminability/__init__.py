"""Reproduction of the discriminability paper: samples in the Hamming space of ReLU codes.

The paper is *On the discriminability of samples in the Hamming space of binarized ReLU
activations* ([Discriminability] in ``docs/references.md``).

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
   (Fréchet, the paper's benchmark (1), and the Euclidean shift itself).
4. Statistics that can fail (``_stats``): the saturation region of each code and
   activation distance (the length of the diagonal within ``delta`` of the curve's final
   plateau) and Spearman correlations with both Fréchet benchmarks, data space (1) and
   activation space (2), over a local window.
5. Findings judged by rule (``_judge``, with the rules of
   [`judge`][hamgeo.experiments.findings.judge] and
   [`beats`][hamgeo.experiments.findings.beats]): local agreement against an untrained
   net of the same architecture and random-hyperplane codes with the same number of bits;
   cells vs depth at equal numbers of units (10 x 15, 3 x 50, 1 x 150), trained and at
   initialization; the 3-vs-10-layer saturation difference over ``theta`` in
   {N/4, N/2, none} and MMD bandwidth in {1, median}, with the number of seeds its interval
   needs ([`seeds_needed`][hamgeo.experiments.discriminability.seeds_needed]); Theorem A.1
   on an exact counterexample and, where its bound is below 1, on the trained nets.

Every seed redraws the data and the probes and retrains every net; every statistic is a
tidy record with its interval across seeds (``Result.summary``). The tessellation side of
the paper (its Fig. 1: Hamming distance is not the number of cell boundaries between two
cells) is measured along the same diagonal for 2-D inputs.

Layout: ``_config`` (names, ``Config``) and ``_stats`` (pure statistics) are the leaves;
``_result`` holds the results; ``_measure``, ``_cells`` and ``_theorem`` measure; ``_judge``
judges; ``_run`` runs; ``_plots`` draws.
"""

from __future__ import annotations

from pathlib import Path

from hamgeo.experiments.discriminability._config import (
    ACTIVATION_DISTANCES,
    BENCHMARKS,
    CELL_DISTANCES,
    CODE_DISTANCES,
    DATASETS,
    DISTANCES,
    KNOBS,
    NAME,
    SATURATION_DISTANCES,
    CellsConfig,
    Config,
    GridConfig,
    NetsConfig,
    ProbeConfig,
    StatsConfig,
    TheoremConfig,
    TrainConfig,
)
from hamgeo.experiments.discriminability._judge import COUNTEREXAMPLE, seeds_needed
from hamgeo.experiments.discriminability._plots import plot_all
from hamgeo.experiments.discriminability._result import (
    NetResult,
    Result,
    SeedResult,
    TheoremResult,
    key,
)
from hamgeo.experiments.discriminability._run import run
from hamgeo.experiments.discriminability._stats import (
    Saturation,
    benchmark_window,
    bound_useful_from,
    counterexample_tail,
    log10_bound,
    normalize_curve,
    saturation,
    spearman_window,
    verdict,
)

__all__ = [
    "ACTIVATION_DISTANCES",
    "BENCHMARKS",
    "CELL_DISTANCES",
    "CODE_DISTANCES",
    "COUNTEREXAMPLE",
    "DATASETS",
    "DISTANCES",
    "KNOBS",
    "NAME",
    "SATURATION_DISTANCES",
    "CellsConfig",
    "Config",
    "GridConfig",
    "NetResult",
    "NetsConfig",
    "ProbeConfig",
    "Result",
    "Saturation",
    "SeedResult",
    "StatsConfig",
    "TheoremConfig",
    "TheoremResult",
    "TrainConfig",
    "benchmark_window",
    "bound_useful_from",
    "counterexample_tail",
    "key",
    "log10_bound",
    "normalize_curve",
    "plot",
    "run",
    "saturation",
    "seeds_needed",
    "spearman_window",
    "verdict",
]


def plot(result: Result, out_dir: str | Path) -> list[Path]:
    """Draw the paper's figures from a ``Result`` into ``out_dir``.

    Writes ``discriminability_setup.png`` (Fig. 2: data by group, the net's cells with the
    probe, distances vs shift), ``discriminability_depth.png`` (Fig. 3),
    ``discriminability_sample_size.png`` and ``discriminability_labels.png`` (Fig. 4),
    ``discriminability_saturation.png`` (the saturation regions per seed) and, when
    measured, ``discriminability_theorem.png`` (Theorem A.1) and, for 2-D inputs,
    ``discriminability_tessellation.png`` (d_H, d_T, crossings and facet-aware distance
    vs shift) and ``discriminability_fig1_effect.png`` (Fig. 1 on the trained net).
    Curves are the mean across seeds with their range over seeds as a band.

    Args:
        result: what [`run`][hamgeo.experiments.discriminability.run] returned.
        out_dir: the folder (created if missing).

    Returns:
        The paths of the PNG files written.
    """
    if not isinstance(result, Result):
        raise TypeError(f"`result` must be a discriminability Result, got {type(result).__name__}")
    return plot_all(result, out_dir)
