"""The discriminability run: every seed trains its nets, probes them, measures statistics.

Private to [`hamgeo.experiments.discriminability`][hamgeo.experiments.discriminability];
[`run`][hamgeo.experiments.discriminability.run] is its ``run``.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hamgeo.data import gaussian_grid
from hamgeo.experiments._common import progress
from hamgeo.experiments.discriminability._cells import cell_curves, cell_stats
from hamgeo.experiments.discriminability._config import (
    BENCHMARKS,
    CODE_DISTANCES,
    SATURATION_DISTANCES,
    Config,
    net_name,
)
from hamgeo.experiments.discriminability._judge import findings, records
from hamgeo.experiments.discriminability._measure import (
    count_cells,
    hyperplane_preactivations,
    net_preactivations,
    plan,
    probe_clouds,
    random_hyperplanes,
    sample_curves,
)
from hamgeo.experiments.discriminability._result import NetResult, Result, SeedResult, key
from hamgeo.experiments.discriminability._stats import (
    benchmark_window,
    saturation,
    spearman_window,
)
from hamgeo.experiments.discriminability._theorem import theorem_study
from hamgeo.experiments.findings import array_checksum
from hamgeo.experiments.protocol import seed_keys
from hamgeo.nets import MLP, accuracy, train

__all__ = ["run"]


@functools.partial(jax.jit, static_argnums=0)
def _init(model, key, x):
    """``model.init`` compiled once per model (eager, it compiled every layer op by op)."""
    return model.init(key, x, train=False)


def run(config: Config, key: jax.Array) -> Result:
    """Run the discriminability experiment of the paper's section 3, once per seed.

    Each seed (seed 0 uses ``key`` itself, seed ``i`` uses ``fold_in(key, i)``) draws its
    Gaussian grid and probe clouds, trains one ReLU MLP per (depth, width, number of
    labels) the sweeps and the equal-unit comparison need, probes it with diagonal
    samples at every shift and records every distance curve (see the package
    docstring). The depth-sweep nets are also probed at initialization (same
    architecture, untrained) and through random-hyperplane codes of the inputs with the
    same number of bits: the controls. Per seed the statistics are tidy values keyed by
    a statistic and its factors ([`key`][hamgeo.experiments.discriminability.key]):
    ``accuracy``, ``n_cells`` and ``n_cells_init`` per net; ``saturation_region``,
    ``saturation_onset``, ``spearman`` and ``window_end`` per net, sample size, arm and
    distance; the cell statistics of the depth nets; the Theorem A.1 study's numbers.
    Across seeds they become [`Record`][hamgeo.experiments.findings.Record] s
    (``Result.summary``), and the findings are judged from them by rule
    ([`judge`][hamgeo.experiments.findings.judge]).

    Args:
        config: the sizes.
        key: a ``jax.random.key``; the same key gives the same result.

    Returns:
        A [`Result`][hamgeo.experiments.discriminability.Result].

    Examples:
        >>> cfg = Config(n_seeds=1).replace(**{
        ...     "grid.n_per_gaussian": 4, "nets.depths": (1,), "nets.width": 3,
        ...     "nets.sweep_depth": 1, "nets.sweep_width": 3, "nets.equal_units": ((1, 3),),
        ...     "probe.sample_sizes": (2,), "probe.label_counts": (5,),
        ...     "probe.depth_sample_size": 2, "probe.label_sample_size": 2,
        ...     "probe.n_shifts": 5, "train.epochs": 1, "cells.grid_resolution": 8,
        ...     "cells.tessellation": False, "theorem.enabled": False})
        >>> res = run(cfg, jax.random.key(0))
        >>> sorted(res.nets), len(res.shifts), [f.verdict for f in res.findings][-1]
        (['L1_w3_g5'], 5, 'contradicted')
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
    nets = config.nets
    depth_nets = {d: net_name(d, nets.width, config.grid.n_groups) for d in nets.depths}
    return Result(
        config=config,
        shifts=config.shifts,
        seeds=seeds,
        depth_nets=depth_nets,
        sample_size_net=net_name(nets.sweep_depth, nets.sweep_width, config.grid.n_groups),
        label_nets={
            g: net_name(nets.sweep_depth, nets.sweep_width, g) for g in config.probe.label_counts
        },
        records=records(seeds),
        findings=findings(config, seeds),
        data=data,
    )


def _run_seed(
    config: Config, key: jax.Array, desc: str, first_seed: bool
) -> tuple[SeedResult, dict[str, Any]]:
    """One seed: data, nets, curves (trained and controls), cells, the theorem study.

    The facet-aware distance along the diagonal (for the figure) is measured on the
    first seed only.
    """
    data_key, probe_key, train_key = jax.random.split(key, 3)
    control_key = jax.random.fold_in(key, 2**20)  # new stream: earlier draws unchanged
    shifts = config.shifts
    sweeps = plan(config)
    probes = probe_clouds(config, set().union(*sweeps.values()), probe_key)
    depth_nets = [net_name(d, config.nets.width, config.grid.n_groups) for d in config.nets.depths]
    equal = {net_name(d, w, config.grid.n_groups) for d, w in config.nets.equal_units}
    datasets, nets, trained = {}, {}, {}
    for i, ((depth, width, groups), sizes) in enumerate(progress(list(sweeps.items()), desc)):
        if groups not in datasets:
            datasets[groups] = gaussian_grid(
                key=data_key,
                per_axis=config.grid.per_axis,
                dim=config.grid.dim,
                n_groups=groups,
                n_per_gaussian=config.grid.n_per_gaussian,
                spread=config.grid.spread,
            )
        data = datasets[groups]
        model = MLP(widths=(width,) * depth, n_classes=groups)
        variables = train(
            model,
            data,
            epochs=config.train.epochs,
            batch_size=config.train.batch_size,
            learning_rate=config.train.learning_rate,
            key=jax.random.fold_in(train_key, i),
            evaluate=False,  # only the variables are used: no per-epoch accuracy passes
        ).variables
        name = net_name(depth, width, groups)
        init = _init(model, jax.random.fold_in(control_key, i), jnp.asarray(data.x_train[:1]))
        theta = max(1, round(config.stats.truncate_fraction * width * depth))
        arms = {"trained": functools.partial(net_preactivations, model, variables)}
        if name in depth_nets:
            planes = random_hyperplanes(
                width * depth, config.grid.dim, jax.random.fold_in(control_key, 2**10 + i)
            )
            arms["init"] = functools.partial(net_preactivations, model, init)
            arms["random codes"] = functools.partial(hyperplane_preactivations, planes)
        curves: dict[str, dict[int, dict[str, np.ndarray]]] = {arm: {} for arm in arms}
        converged: dict[int, dict[str, list[bool]]] = {}
        for m in sorted(sizes):
            for arm, pre in arms.items():
                curves[arm][m], flags = sample_curves(
                    pre,
                    probes[m][0],
                    probes[m],
                    theta=theta,
                    epsilon=config.stats.sinkhorn_epsilon,
                )
                if arm == "trained":
                    converged[m] = flags
        net = NetResult(
            depth=depth,
            width=width,
            n_groups=groups,
            accuracy=float(accuracy(model, variables, data.x_test, data.y_test)),
            n_cells=count_cells(model, variables, config),
            curves=curves.pop("trained"),
            converged=converged,
            controls=curves,
            n_cells_init=count_cells(model, init, config) if name in equal else None,
        )
        nets[net.name] = net
        trained[net.name] = (model, variables)
    if config.cells.tessellation and config.grid.dim == 2:
        for name in dict.fromkeys(depth_nets):
            nets[name].cells = cell_curves(
                *trained[name],
                shifts,
                exact=config.cells.exact_cells,
                resolution=config.cells.cell_graph_resolution,
                facets=first_seed,
            )
            nets[name].cells_exact = config.cells.exact_cells
    theorem = None
    if config.theorem.enabled:
        theorem = theorem_study(*trained[depth_nets[0]], config, jax.random.fold_in(probe_key, 1))
    seed = SeedResult(nets=nets, theorem=theorem, values={})
    seed.values = _seed_values(config, seed)
    first = next(iter(datasets.values()))
    info = {
        "name": config.data,
        "generator": "hamgeo.data.gaussian_grid",
        "n_train": int(first.x_train.shape[0]),
        "n_test": int(first.x_test.shape[0]),
        "spread": float(first.info["spread"]),
        "checksum": array_checksum(
            *(a for g in sorted(datasets) for a in (datasets[g].x_train, datasets[g].y_train))
        ),
    }
    return seed, {"datasets": datasets, "trained": trained, "probes": probes, "dataset_info": info}


def _curve_values(
    config: Config, curves: dict[str, np.ndarray], factors: dict[str, Any]
) -> dict[tuple, Any]:
    """Saturation of every code and activation distance; Spearman with both benchmarks."""
    shifts = config.shifts
    out: dict[tuple, Any] = {}
    for dist in SATURATION_DISTANCES:
        sat = saturation(
            curves[dist],
            shifts,
            delta=config.stats.saturation_delta,
            tail=config.stats.plateau_shifts,
        )
        out[key("saturation_region", distance=dist, **factors)] = sat.region
        out[key("saturation_onset", distance=dist, **factors)] = sat.onset
    for bench in BENCHMARKS:
        n = benchmark_window(
            curves[bench],
            level=config.stats.window_level,
            minimum=config.stats.min_spearman_shifts,
        )
        out[key("window_end", benchmark=bench, **factors)] = float(shifts[n - 1])
        for dist in CODE_DISTANCES:
            rho = spearman_window(curves[dist], curves[bench], n)
            out[key("spearman", distance=dist, benchmark=bench, **factors)] = rho
    return out


def _seed_values(config: Config, seed: SeedResult) -> dict[tuple, Any]:
    """The tidy values of one seed (see [`run`][hamgeo.experiments.discriminability.run])."""
    out: dict[tuple, Any] = {}
    for net in seed.nets.values():
        arch = {"depth": net.depth, "width": net.width, "labels": net.n_groups}
        out[key("accuracy", **arch)] = float(net.accuracy)
        out[key("n_cells", **arch)] = int(net.n_cells)
        if net.n_cells_init is not None:
            out[key("n_cells_init", **arch)] = int(net.n_cells_init)
        for m, curves in net.curves.items():
            out.update(_curve_values(config, curves, {**arch, "m": m, "arm": "trained"}))
        for arm, per_m in net.controls.items():
            for m, curves in per_m.items():
                out.update(_curve_values(config, curves, {**arch, "m": m, "arm": arm}))
        if net.cells:
            for stat, value in cell_stats(net.cells).items():
                out[key(stat, **arch)] = value
    th = seed.theorem
    if th is not None:
        out[key("theorem_reference_w1")] = th.reference
        out[key("theorem_diameter")] = th.diameter
        out[key("theorem_n_codes")] = th.n_codes
        for i, n in enumerate(th.sizes):
            out[key("theorem_mean_abs_error", sample_size=int(n))] = float(th.mean_abs_error[i])
            for j, eps in enumerate(th.epsilons):
                factors = {"sample_size": int(n), "epsilon": float(eps)}
                out[key("theorem_tail", **factors)] = float(th.tail[i, j])
                out[key("theorem_log10_bound", **factors)] = float(th.log10_bound[i, j])
    flags = [
        ok
        for net in seed.nets.values()
        for f in net.converged.values()
        for r in f.values()
        for ok in r
    ]
    out[key("sinkhorn_runs")] = len(flags)
    out[key("sinkhorn_converged_fraction")] = float(np.mean(flags)) if flags else None
    return out
