"""The discriminability run: every seed trains its nets, probes them, measures statistics.

Private to :mod:`hamgeo.experiments.discriminability`; :func:`run` is its ``run``.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from hamgeo.data import gaussian_grid
from hamgeo.experiments._common import progress
from hamgeo.experiments._protocol import seed_keys, summarize_seeds
from hamgeo.experiments.discriminability._cells import cell_curves, cell_stats
from hamgeo.experiments.discriminability._config import (
    BENCHMARKS,
    CODE_DISTANCES,
    SATURATION_DISTANCES,
    Config,
    net_name,
)
from hamgeo.experiments.discriminability._measure import (
    count_cells,
    plan,
    probe_clouds,
    sample_curves,
)
from hamgeo.experiments.discriminability._result import NetResult, Result, SeedResult
from hamgeo.experiments.discriminability._stats import (
    benchmark_window,
    bound_useful_from,
    saturation,
    spearman_window,
    verdict,
)
from hamgeo.experiments.discriminability._theorem import theorem_study
from hamgeo.nets import MLP, accuracy, train

__all__ = ["run"]


def run(config: Config, key: jax.Array) -> Result:
    """Run the discriminability experiment of the paper's section 3, once per seed.

    Each seed (seed 0 uses ``key`` itself, seed ``i`` uses ``fold_in(key, i)``) draws its
    Gaussian grid and probe clouds, trains one ReLU MLP per (depth, width, number of
    labels) the sweeps need, probes it with diagonal samples at every shift and records
    every distance curve (see the package docstring). Per seed, for each depth ``L`` at
    ``m = 1`` and ``m = depth_sample_size`` (tag ``L{L}_m{m}``), for each sample size of
    the sweep (tag ``m{m}``) and each number of labels (tag ``g{g}``):

    - ``saturation_region_{distance}_{tag}`` and ``saturation_onset_{distance}_{tag}``
      (:func:`~._stats.saturation`, ``delta = config.saturation_delta``) for the code
      and activation distances;
    - ``spearman_{code distance}_vs_{benchmark}_{tag}`` over the benchmark's local
      window (:func:`~._stats.benchmark_window`), for the data-space and the
      activation-space Fréchet benchmarks, and ``window_{benchmark}_{tag}`` (its last
      shift);

    and ``saturation_excess_{code distance}_L{L}_m{m}`` (its saturation region minus the
    activation Fréchet distance's), ``saturation_region_diff_{distance}_m{m}`` (first
    depth minus last depth), ``n_cells_L{L}``, ``n_cells_diff_L{last}_L{first}``,
    ``accuracy_L{L}``, for 2-D inputs ``mean_dH_over_dT_L{L}`` and
    ``frac_dH_lt_dT_L{L}``, and the Theorem A.1 study's ``theorem_*`` numbers. Across
    seeds each becomes an :class:`~hamgeo.experiments._protocol.Interval`. Each
    difference gets a verdict (:func:`~._stats.verdict`) on the paper's claim, that it
    is positive: ``verdict_saturation_{distance}_m{m}`` (the first depth saturates over
    a larger region, section 3.1), ``verdict_excess_{code distance}_L{L}_m{m}`` (code
    distances saturate more than full-activation ones) and ``verdict_n_cells_...``
    (more layers, more cells).

    Args:
        config: the sizes.
        key: a ``jax.random.key``; the same key gives the same result.

    Returns:
        A :class:`~._config.Result`.

    Examples:
        >>> cfg = Config(n_seeds=1, n_per_gaussian=4, depths=(1,), width=3, sweep_depth=1,
        ...              sweep_width=3, sample_sizes=(2,), label_counts=(5,),
        ...              depth_sample_size=2, label_sample_size=2, n_shifts=5, epochs=1,
        ...              grid_resolution=8, tessellation=False, theorem=False)
        >>> res = run(cfg, jax.random.key(0))
        >>> sorted(res.nets), len(res.shifts), res.summary["accuracy_L1"].n
        (['L1_w3_g5'], 5, 1)
    """
    if not isinstance(config, Config):
        raise TypeError(f"`config` must be a Config, got {type(config).__name__}")
    seeds, data = [], {}
    for i, seed_key in enumerate(seed_keys(key, config.n_seeds)):
        seed, seed_data = _run_seed(
            config, seed_key, desc=f"discriminability seed {i}", first_seed=i == 0
        )
        seeds.append(seed)
        if i == 0:
            data = seed_data
    depth_nets = {d: net_name(d, config.width, config.n_groups) for d in config.depths}
    return Result(
        config=config,
        shifts=config.shifts,
        seeds=seeds,
        depth_nets=depth_nets,
        sample_size_net=net_name(config.sweep_depth, config.sweep_width, config.n_groups),
        label_nets={
            g: net_name(config.sweep_depth, config.sweep_width, g) for g in config.label_counts
        },
        statistics=_aggregate(config, seeds),
        data=data,
    )


def _run_seed(
    config: Config, key: jax.Array, desc: str, first_seed: bool
) -> tuple[SeedResult, dict[str, Any]]:
    """One seed: data, nets, curves, cells, the theorem study and the seed's statistics.

    The facet-aware distance along the diagonal (for the figure) is measured on the
    first seed only.
    """
    data_key, probe_key, train_key = jax.random.split(key, 3)
    shifts = config.shifts
    sweeps = plan(config)
    probes = probe_clouds(config, set().union(*sweeps.values()), probe_key)
    grid_kwargs = {} if config.spread is None else {"spread": config.spread}
    datasets, nets, trained = {}, {}, {}
    for i, ((depth, width, groups), sizes) in enumerate(progress(list(sweeps.items()), desc)):
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
        theta = max(1, round(config.truncate_fraction * width * depth))
        curves, converged = {}, {}
        for m in sorted(sizes):
            curves[m], converged[m] = sample_curves(
                model,
                variables,
                probes[m][0],
                probes[m],
                theta=theta,
                epsilon=config.sinkhorn_epsilon,
            )
        net = NetResult(
            depth=depth,
            width=width,
            n_groups=groups,
            accuracy=float(accuracy(model, variables, data.x_test, data.y_test)),
            n_cells=count_cells(model, variables, config),
            curves=curves,
            converged=converged,
        )
        nets[net.name] = net
        trained[net.name] = (model, variables)
    depth_nets = [net_name(d, config.width, config.n_groups) for d in config.depths]
    if config.tessellation and config.dim == 2:
        for name in dict.fromkeys(depth_nets):
            nets[name].cells = cell_curves(
                *trained[name],
                shifts,
                exact=config.exact_cells,
                resolution=config.cell_graph_resolution,
                facets=first_seed,
            )
            nets[name].cells_exact = config.exact_cells
    theorem = None
    if config.theorem:
        theorem = theorem_study(*trained[depth_nets[0]], config, jax.random.fold_in(probe_key, 1))
    seed = SeedResult(nets=nets, theorem=theorem, statistics={})
    seed.statistics = _seed_statistics(config, seed)
    info = {
        "name": config.data,
        "generated": "gaussian_grid(key) from the seed's key; no files",
        "n_train": {g: int(d.x_train.shape[0]) for g, d in datasets.items()},
        "n_test": {g: int(d.x_test.shape[0]) for g, d in datasets.items()},
        "spread": float(next(iter(datasets.values())).info["spread"]),
    }
    return seed, {"datasets": datasets, "trained": trained, "probes": probes, "dataset_info": info}


def _curve_statistics(config: Config, curves: dict[str, np.ndarray], tag: str) -> dict[str, Any]:
    """Saturation of every code and activation distance; Spearman with both benchmarks."""
    shifts = config.shifts
    out: dict[str, Any] = {}
    for dist in SATURATION_DISTANCES:
        sat = saturation(
            curves[dist], shifts, delta=config.saturation_delta, tail=config.plateau_shifts
        )
        out[f"saturation_region_{dist}_{tag}"] = sat.region
        out[f"saturation_onset_{dist}_{tag}"] = sat.onset
    for bench in BENCHMARKS:
        n = benchmark_window(
            curves[bench], level=config.window_level, minimum=config.min_spearman_shifts
        )
        out[f"window_{bench}_{tag}"] = float(shifts[n - 1])
        for dist in CODE_DISTANCES:
            out[f"spearman_{dist}_vs_{bench}_{tag}"] = spearman_window(
                curves[dist], curves[bench], n
            )
    return out


def _seed_statistics(config: Config, seed: SeedResult) -> dict[str, Any]:
    """The named scalars of one seed (see :func:`run`)."""
    nets = seed.nets
    out: dict[str, Any] = {}
    for depth in config.depths:
        net = nets[net_name(depth, config.width, config.n_groups)]
        out[f"accuracy_L{depth}"] = float(net.accuracy)
        out[f"n_cells_L{depth}"] = int(net.n_cells)
        for m in sorted({1, config.depth_sample_size}):
            tag = f"L{depth}_m{m}"
            out.update(_curve_statistics(config, net.curves[m], tag))
            for dist in CODE_DISTANCES:
                out[f"saturation_excess_{dist}_{tag}"] = _minus(
                    out[f"saturation_region_{dist}_{tag}"],
                    out[f"saturation_region_activ_frechet_{tag}"],
                )
        if net.cells:
            out.update(cell_stats(net.cells, f"L{depth}"))
    out.update(_depth_differences(config, out))
    sweep = nets[net_name(config.sweep_depth, config.sweep_width, config.n_groups)]
    for m in config.sample_sizes:
        out.update(_curve_statistics(config, sweep.curves[m], f"m{m}"))
    for g in config.label_counts:
        net = nets[net_name(config.sweep_depth, config.sweep_width, g)]
        out.update(_curve_statistics(config, net.curves[config.label_sample_size], f"g{g}"))
    if seed.theorem is not None:
        out.update(_theorem_statistics(seed.theorem))
    return out


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _depth_differences(config: Config, stats: dict[str, Any]) -> dict[str, Any]:
    """Saturation regions, first depth minus last; cells, last minus first (claims: > 0)."""
    if len(config.depths) < 2:
        return {}
    first, last = config.depths[0], config.depths[-1]
    out: dict[str, Any] = {
        f"n_cells_diff_L{last}_L{first}": stats[f"n_cells_L{last}"] - stats[f"n_cells_L{first}"]
    }
    for m in sorted({1, config.depth_sample_size}):
        for dist in SATURATION_DISTANCES:
            out[f"saturation_region_diff_{dist}_m{m}"] = _minus(
                stats[f"saturation_region_{dist}_L{first}_m{m}"],
                stats[f"saturation_region_{dist}_L{last}_m{m}"],
            )
    return out


def _theorem_statistics(th) -> dict[str, Any]:
    out: dict[str, Any] = {
        "theorem_reference_w1": th.reference,
        "theorem_diameter": th.diameter,
        "theorem_n_codes": th.n_codes,
    }
    for i, n in enumerate(th.sizes):
        out[f"theorem_mean_abs_error_n{n}"] = float(th.mean_abs_error[i])
        for j, eps in enumerate(th.epsilons):
            out[f"theorem_tail_n{n}_eps{eps:g}"] = float(th.tail[i, j])
    for eps in th.epsilons:
        out[f"theorem_bound_useful_from_n_eps{eps:g}"] = bound_useful_from(eps, th.diameter)
    return out


def _aggregate(config: Config, seeds: list[SeedResult]) -> dict[str, Any]:
    """Intervals across seeds, verdicts on the saturation claim, Sinkhorn flags."""
    stats = summarize_seeds([s.statistics for s in seeds])
    # each of these differences is > 0 where the paper's claim holds
    claims = {
        "saturation_region_diff_": "verdict_saturation_",
        "saturation_excess_": "verdict_excess_",
        "n_cells_diff_": "verdict_n_cells_",
    }
    for key in list(stats):
        for prefix, name in claims.items():
            if key.startswith(prefix):
                stats[name + key.removeprefix(prefix)] = verdict(stats[key])
    flags = [
        ok
        for seed in seeds
        for net in seed.nets.values()
        for per_m in net.converged.values()
        for runs in per_m.values()
        for ok in runs
    ]
    stats["sinkhorn_runs"] = len(flags)
    stats["sinkhorn_all_converged"] = bool(all(flags))
    exact = [n.cells_exact for s in seeds for n in s.nets.values() if n.cells]
    stats["cells_dT"] = (
        "not measured" if not exact else "exact" if all(exact) else "upper bound (traced lines)"
    )
    return stats
