"""Figures of the discriminability reproduction (the paper's Figs. 1-4, saturation, Theorem A.1).

Private to [`hamgeo.experiments.discriminability`][hamgeo.experiments.discriminability];
[`plot_all`][hamgeo.experiments.discriminability._plots.plot_all] is its ``plot``.
Imports only the package's leaves ([`_config`][hamgeo.experiments.discriminability._config],
[`_result`][hamgeo.experiments.discriminability._result],
[`_stats`][hamgeo.experiments.discriminability._stats]), the
shared figure helpers and the analysis layers below the experiments. Curves are drawn as
the mean across seeds of the min-max normalized curves with their range over seeds as a
band; cells and the Fig. 1 picture are seed 0's.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax.numpy as jnp
import numpy as np

from hamgeo.experiments._common import figure_style, save_figure
from hamgeo.experiments.discriminability._config import (
    SATURATION_DISTANCES,
    endpoints,
    plane,
    plane_extent,
)
from hamgeo.experiments.discriminability._result import Result
from hamgeo.experiments.discriminability._stats import bound_useful_from, log10_bound
from hamgeo.nets import activation_codes, preactivations
from hamgeo.regions import line_regions, plot_partition, slice_partition

__all__ = ["draw_cells", "plot_all"]

_STYLE: dict[str, dict[str, Any]] = {
    "code_hamming": {"color": "C0", "ls": "-", "label": "code: Hamming"},
    "code_truncated_hamming": {"color": "C1", "ls": "-", "label": "code: truncated Hamming"},
    "code_wasserstein": {"color": "C2", "ls": "-", "lw": 2.4, "label": "code: Wasserstein-1"},
    "code_mmd": {"color": "C3", "ls": "-", "label": "code: MMD (exp(-d_H))"},
    "activ_frechet": {"color": "C4", "ls": "--", "label": "activ: Fréchet (benchmark 2)"},
    "activ_wasserstein": {"color": "C5", "ls": "--", "label": "activ: Wasserstein-1"},
    "data_frechet": {"color": "k", "ls": ":", "lw": 2.6, "label": "data: Fréchet (benchmark 1)"},
    "data_euclidean": {"color": "0.5", "ls": "-.", "label": "data: Euclidean"},
}
_CELL_STYLE = {
    "hamming": {"color": "C0", "marker": "o", "label": "$d_H$ (Hamming)"},
    "tessellation": {"color": "C3", "marker": "s", "label": "$d_T$ (cell distance)"},
    "crossings": {"color": "C2", "marker": "^", "label": "boundary crossings"},
    "facet_aware": {"color": "C1", "marker": "x", "label": "facet-aware Hamming"},
}
_XLABEL = "shift $t$ of $S_2$ along the diagonal (Euclidean)"


def _n_seeds(result: Result) -> str:
    n = len(result.seeds)
    return f"{n} seed" + ("s: mean, band = range over seeds" if n > 1 else "")


def _curves_panel(ax, result: Result, net: str, m: int, title: str) -> None:
    """Normalized distances against the shift: mean across seeds, band = their range."""
    shifts = result.shifts
    for name, style in _STYLE.items():
        if name not in result.nets[net].curves[m]:
            continue
        style = dict(style)
        label = style.pop("label")
        mean, low, high = result.band(net, m, name)
        ax.plot(shifts, mean, label=label, **style)
        if len(result.seeds) > 1:
            ax.fill_between(shifts, low, high, color=style["color"], alpha=0.12, lw=0)
    ax.set_title(title)
    ax.set_xlabel(_XLABEL)
    ax.set_ylim(-0.03, 1.05)


def _legend_below(fig, ax, ncol=4):
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=ncol, frameon=False)


def _figure_setup(result: Result, plt) -> Any:
    cfg = result.config
    depth = cfg.nets.depths[0]
    name = result.depth_nets[depth]
    data = result.data["datasets"][cfg.grid.n_groups]
    fig, axes = plt.subplots(1, 3, figsize=(15.5, 5.0))
    ax = axes[0]
    x, y = np.asarray(data.x_train), np.asarray(data.y_train)
    ax.scatter(x[:, 0], x[:, 1], c=y, cmap="tab10", vmin=0, vmax=9, s=4, alpha=0.7)
    ax.scatter(
        *np.asarray(data.info["centres"])[:, :2].T,
        marker="*",
        s=160,
        c="k",
        label="k-means centres",
    )
    ax.set_title(
        f"(a) training data: {cfg.grid.per_axis**cfg.grid.dim} Gaussians, "
        f"{cfg.grid.n_groups} groups"
    )
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=8)
    ax = axes[1]
    model, variables = result.data["trained"][name]
    draw_cells(ax, model, variables, cfg)
    m = cfg.probe.depth_sample_size
    probe = result.data["probes"][m]
    shifts = result.shifts
    picks = sorted({0, len(shifts) // 4, len(shifts) // 2, (3 * len(shifts)) // 4})
    origin, u, v = plane(cfg.grid.dim)
    # probe points in the plane's coordinates (for 2-D inputs, x1 and x2 themselves)
    ends = np.stack(
        [np.zeros(cfg.grid.dim), np.full(cfg.grid.dim, shifts[-1] / np.sqrt(cfg.grid.dim))]
    )
    ends = np.stack([(ends - origin) @ u, (ends - origin) @ v], axis=-1)
    ax.plot(ends[:, 0], ends[:, 1], color="k", lw=1.2, ls="--", label="diagonal")
    for j, k in enumerate(picks):
        pts = np.stack([(probe[k] - origin) @ u, (probe[k] - origin) @ v], axis=-1)
        label = "$S_1$ (t = 0)" if k == 0 else f"$S_2$, t = {shifts[k]:.2f}"
        ax.scatter(pts[:, 0], pts[:, 1], s=14, color=f"C{j}", edgecolor="k", lw=0.3, label=label)
    ax.set_title(f"(b) cells of the {depth} x {cfg.nets.width} net (seed 0), probe m = {m}")
    ax.set_xlabel("$x_1$" if cfg.grid.dim == 2 else "along the diagonal")
    ax.set_ylabel("$x_2$" if cfg.grid.dim == 2 else "along $(e_1 - e_2)/\\sqrt{2}$")
    ax.legend(loc="upper left", fontsize=8)
    _curves_panel(axes[2], result, name, m, f"(c) distances vs shift ({depth} layers, m = {m})")
    axes[2].set_ylabel(f"normalized distance ({_n_seeds(result)})")
    axes[2].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def _figure_grid(result: Result, plt, rows, title, panel=(4.6, 4.4), legend_room=0.11) -> Any:
    """One panel per (net, m, title) in ``rows`` of panels; ``panel``: one panel's size."""
    n_rows, n_cols = len(rows), len(rows[0])
    fig, axes = plt.subplots(
        n_rows,
        n_cols,
        figsize=(panel[0] * n_cols, panel[1] * n_rows),
        sharey=True,
        squeeze=False,
    )
    for ax_row, row in zip(axes, rows, strict=True):
        for ax, (net, m, sub) in zip(ax_row, row, strict=True):
            _curves_panel(ax, result, net, m, sub)
        ax_row[0].set_ylabel("normalized distance")
    fig.suptitle(f"{title}; {_n_seeds(result)}")
    fig.tight_layout(rect=(0, legend_room, 1, 1))
    _legend_below(fig, axes[0][0])
    return fig


def _figure_depth(result: Result, plt) -> Any:
    cfg = result.config
    rows = [
        [
            (result.depth_nets[depth], m, f"{depth} hidden layers x {cfg.nets.width}, m = {m}")
            for depth in cfg.nets.depths
        ]
        for m in sorted({1, cfg.probe.depth_sample_size})
    ]
    title = "Distances vs shift for varying depth (paper Fig. 3)"
    return _figure_grid(result, plt, rows, title, panel=(4.8, 3.9), legend_room=0.08)


def _figure_saturation(result: Result, plt) -> Any:
    """Saturation region per distance and depth: seeds as dots, mean and interval as bars."""
    cfg = result.config
    sizes = sorted({1, cfg.probe.depth_sample_size})
    fig, axes = plt.subplots(1, len(sizes), figsize=(7.0 * len(sizes), 4.6), squeeze=False)
    xs = np.arange(len(SATURATION_DISTANCES))
    width = 0.8 / len(cfg.nets.depths)
    for ax, m in zip(axes[0], sizes, strict=True):
        for j, depth in enumerate(cfg.nets.depths):
            off = (j - (len(cfg.nets.depths) - 1) / 2) * width
            for i, dist in enumerate(SATURATION_DISTANCES):
                factors = {
                    "distance": dist,
                    "depth": depth,
                    "width": cfg.nets.width,
                    "labels": cfg.grid.n_groups,
                    "m": m,
                    "arm": "trained",
                }
                rec = result.record("saturation_region", **factors)
                if rec is None or not np.isfinite(rec.mean):
                    continue
                vals = [v for v in result.values("saturation_region", **factors) if v is not None]
                ax.scatter(np.full(len(vals), xs[i] + off), vals, s=14, color=f"C{j}", alpha=0.6)
                err = [[rec.mean - rec.low], [rec.high - rec.mean]]
                ax.errorbar(
                    xs[i] + off,
                    rec.mean,
                    yerr=err,
                    fmt="_",
                    ms=14,
                    color=f"C{j}",
                    capsize=4,
                    label=f"{depth} hidden layers" if i == 0 else None,
                )
        labels = [
            dist.replace("_", " ").replace(" hamming", "\nhamming") for dist in SATURATION_DISTANCES
        ]
        ax.set_xticks(xs, labels, fontsize=6, rotation=30)
        ax.set_ylabel("saturation region (length of the diagonal)")
        ax.set_title(f"m = {m}: region within {cfg.stats.saturation_delta:g} of the final plateau")
        ax.legend(fontsize=8)
    fig.suptitle(
        f"Do {cfg.nets.depths[0]} layers saturate over a larger region than {cfg.nets.depths[-1]}? "
        f"(paper Sec. 3.1; dots: {len(result.seeds)} seeds, bars: mean and 95% interval, "
        f"the range below 3 seeds)"
    )
    fig.tight_layout()
    return fig


def _figure_theorem(result: Result, plt) -> Any:
    """Theorem A.1: the empirical tail against n, and the paper's bound (vacuous where >= 1)."""
    ths = [s.theorem for s in result.seeds if s.theorem is not None]
    th0 = ths[0]
    tails = np.stack([t.tail for t in ths])  # [S, sizes, eps]
    fig, axes = plt.subplots(1, 2, figsize=(12.0, 4.6))
    ax = axes[0]
    for j, eps in enumerate(th0.epsilons):
        mean = tails[:, :, j].mean(axis=0)
        ax.plot(th0.sizes, mean, marker="o", color=f"C{j}", label=f"empirical, eps = {eps:g}")
        if len(ths) > 1:
            ax.fill_between(
                th0.sizes,
                tails[:, :, j].min(axis=0),
                tails[:, :, j].max(axis=0),
                color=f"C{j}",
                alpha=0.15,
                lw=0,
            )
    ax.axhline(1.0, color="0.4", ls=":", lw=1.0)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("sample size $n = m$ of the empirical measures")
    ax.set_ylabel(r"$P(|W(\mu^1,\mu^2) - W(L_n, L_m)| > \varepsilon)$")
    ax.set_title(
        f"empirical tail (seed 0: W = {th0.reference:.2f} bits, D = {th0.diameter}, "
        f"{th0.n_codes} codes; band: min-max over seeds)",
        fontsize=9,
    )
    ax.legend(fontsize=8)
    ax = axes[1]
    from_n = [bound_useful_from(e, th0.diameter) for e in th0.epsilons]
    grid = np.unique(np.geomspace(1, max(max(from_n) * 4, th0.sizes[-1]), 200).astype(np.int64))
    for j, eps in enumerate(th0.epsilons):
        ax.plot(grid, log10_bound(grid, eps, th0.diameter), color=f"C{j}", label=f"eps = {eps:g}")
        ax.axvline(from_n[j], color=f"C{j}", ls=":", lw=1.0)
    ax.axhline(0.0, color="k", lw=1.0)
    top = max(float(log10_bound(grid, e, th0.diameter).max()) for e in th0.epsilons)
    ax.set_ylim(-0.5 * top - 5.0, 1.15 * top + 5.0)
    ax.axvspan(grid[0], th0.sizes[-1], color="0.85", alpha=0.5, label="sizes measured (left)")
    ax.set_xscale("log")
    ax.set_xlabel("$n$")
    ax.set_ylabel("log10 of the paper's bound (vacuous above 0)")
    ax.set_title(f"bound $(n+1)^D e^{{-\\varepsilon n 2^{{-3/2}}/D}}$, D = {th0.diameter}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _figure_cells(result: Result, plt) -> Any:
    cfg = result.config
    depths = [d for d in cfg.nets.depths if result.nets[result.depth_nets[d]].cells]
    fig, axes = plt.subplots(1, len(depths), figsize=(5.2 * len(depths), 4.4), squeeze=False)
    exact = all(n.cells_exact for s in result.seeds for n in s.nets.values() if n.cells)
    for ax, depth in zip(axes[0], depths, strict=True):
        cells = result.nets[result.depth_nets[depth]].cells
        for name, style in _CELL_STYLE.items():
            if name in cells:
                style = dict(style)
                if name == "tessellation":
                    style["label"] = (
                        "$d_T$ (exact cell distance)"
                        if exact
                        else "$d_T$ (upper bound: traced lines)"
                    )
                ax.plot(result.shifts, cells[name], ms=4, **style)
        ax.set_title(f"{depth} hidden layers x {cfg.nets.width} (seed 0)")
        ax.set_xlabel("shift $t$ from the start corner (Euclidean)")
        ax.set_ylabel("distance to the start cell")
    axes[0][0].legend(fontsize=8)
    fig.suptitle(
        "Hamming distance vs cell distance along the diagonal ($d_H \\leq d_T \\leq$ crossings)"
    )
    fig.tight_layout()
    return fig


def draw_cells(ax, model, variables, config) -> None:
    """The net's cells on the input plane of the experiment, drawn with ``plot_partition``."""
    origin, u, v = plane(config.grid.dim)
    part = slice_partition(
        model,
        variables,
        origin,
        u,
        v,
        extent=plane_extent(config.grid.dim),
        resolution=config.cells.grid_resolution,
    )
    plot_partition(part, ax=ax, boundary_color="0.3")
    if config.grid.dim == 2:
        ax.set_aspect("equal")


def _fig1_pick(result: Result, depths) -> tuple[int, int]:
    """The closest probe point with d_H < d_T over all depths (a local, readable picture).

    Without one, the closest whose straight segment crosses more boundaries than d_H.
    """
    best = None
    for depth in depths:
        c = result.nets[result.depth_nets[depth]].cells
        d_h, d_t, cross = (np.asarray(c[n]) for n in ("hamming", "tessellation", "crossings"))
        for rank, hit in enumerate(((d_h < d_t) & (d_t > 0), (d_h < cross) & (d_t > 0))):
            for k in np.flatnonzero(hit):
                cand = (rank, int(d_t[k]), depth, int(k))
                best = cand if best is None or cand < best else best
    if best is None:
        best = (0, 0, depths[0], len(result.shifts) // 4)
    return best[2], best[3]


def _figure_fig1(result: Result, plt) -> Any:
    """The paper's Fig. 1 on seed 0's nets: a pair of cells with ``d_H < d_T``.

    Left: the net's cells around the start corner and the probe point whose ``d_T - d_H`` is
    largest, the two cells filled, the straight segment, and the zero sets of the units that
    the segment crosses and crosses back (their bit is equal at both ends, yet each costs two
    boundaries). Right: ``d_H`` against ``d_T`` for every probe point of every depth.
    """
    cfg = result.config
    depths = [d for d in cfg.nets.depths if result.nets[result.depth_nets[d]].cells]
    depth, k = _fig1_pick(result, depths)
    name = result.depth_nets[depth]
    cells = result.nets[name].cells
    model, variables = result.data["trained"][name]
    starts, ends = endpoints(result.shifts)
    x, y = starts[k], ends[k]
    lo = np.minimum(x, y) - 0.15
    hi = np.maximum(x, y) + 0.15
    extent = (lo[0], hi[0], lo[1], hi[1])
    res = cfg.cells.grid_resolution
    part = slice_partition(
        model, variables, np.zeros(2), np.eye(2)[0], np.eye(2)[1], extent=extent, resolution=res
    )
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 5.0))
    ax = axes[0]
    plot_partition(part, ax=ax, boundary_color="0.35")
    ends_codes = activation_codes(model, variables, jnp.asarray(np.stack([x, y]), jnp.float32))
    for code, colour, label in (
        (ends_codes[0], "C0", "cell of $x$"),
        (ends_codes[1], "C3", "cell of $y$"),
    ):
        match = np.flatnonzero(
            np.all(np.asarray(part.codes.words) == np.asarray(code.words), axis=-1)
        )
        if match.size:
            mask = np.ma.masked_where(part.ids != match[0], np.ones_like(part.ids))
            ax.imshow(
                mask,
                origin="lower",
                extent=part.extent,
                cmap=plt.matplotlib.colors.ListedColormap([colour]),
                alpha=0.55,
                interpolation="nearest",
                aspect="auto",
            )
        ax.plot([], [], color=colour, lw=8, alpha=0.55, label=label)
    # units crossed twice on the segment: same bit at both ends, two boundaries crossed
    lr = line_regions(model, variables, x, y)
    assert not isinstance(lr, list)  # one segment in, one LineRegions out
    bits = np.asarray(lr.codes.unpack())
    flips = np.abs(np.diff(bits.astype(np.int8), axis=0)).sum(axis=0)
    twice = np.flatnonzero((flips >= 2) & (bits[0] == bits[-1]))
    if twice.size:
        a = np.linspace(extent[0], extent[1], res, dtype=np.float32)
        b = np.linspace(extent[2], extent[3], res, dtype=np.float32)
        aa, bb = np.meshgrid(a, b, indexing="xy")
        pts = jnp.asarray(np.stack([aa.ravel(), bb.ravel()], axis=-1))
        pre = np.concatenate(
            [np.asarray(p) for p in preactivations(model, variables, pts)], axis=-1
        )
        for j, unit in enumerate(twice[:3]):
            ax.contour(
                aa,
                bb,
                pre[:, unit].reshape(res, res),
                levels=[0.0],
                colors=[f"C{j + 4}"],
                linewidths=2.2,
            )
            ax.plot(
                [], [], color=f"C{j + 4}", lw=2.2, label=f"zero set of unit {unit} (crossed twice)"
            )
    ax.plot(*np.stack([x, y]).T, "k--", lw=1.4, label="straight segment")
    ax.plot(*x, "o", color="C0", mec="k", ms=7)
    ax.plot(*y, "s", color="C3", mec="k", ms=7)
    ax.set_title(
        f"{depth} x {cfg.nets.width} net: $d_H$ = {cells['hamming'][k]}, "
        f"$d_T$ = {cells['tessellation'][k]}, crossings = {cells['crossings'][k]}"
    )
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.legend(fontsize=7, loc="upper left", framealpha=0.9)
    ax = axes[1]
    top = 1
    for j, d in enumerate(depths):
        c = result.nets[result.depth_nets[d]].cells
        ok = np.asarray(c["tessellation"]) >= 0
        dt, dh = np.asarray(c["tessellation"])[ok], np.asarray(c["hamming"])[ok]
        ax.scatter(dt, dh, s=22, color=f"C{j}", alpha=0.75, label=f"{d} hidden layers")
        top = max(top, int(dt.max(initial=0)), int(dh.max(initial=0)))
    ax.plot([0, top], [0, top], color="0.4", ls=":", label="$d_H = d_T$ (isometry)")
    exact = all(n.cells_exact for s in result.seeds for n in s.nets.values() if n.cells)
    ax.set_xlabel(
        "$d_T$: fewest boundaries crossed" + (" (exact, 2-D)" if exact else " (upper bound)")
    )
    ax.set_ylabel("$d_H$: Hamming distance of the codes")
    ax.set_title("Probe points vs the start corner: $d_H \\leq d_T$")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_all(result: Result, out_dir: str | Path) -> list[Path]:
    """Draw every figure of ``result`` into ``out_dir``; returns the PNG paths."""
    out = Path(out_dir)
    cfg = result.config
    figures: list[tuple[str, Callable[[Result, Any], Any]]] = [
        ("discriminability_setup", _figure_setup),
        ("discriminability_depth", _figure_depth),
    ]
    sweep = result.sample_size_net
    size_panels = [(sweep, m, f"m = {m}") for m in cfg.probe.sample_sizes]
    size_title = (
        f"Sample size ({cfg.nets.sweep_depth} hidden layers x {cfg.nets.sweep_width}; paper Fig. 4)"
    )
    label_panels = [
        (n, cfg.probe.label_sample_size, f"{g} labels") for g, n in result.label_nets.items()
    ]
    label_title = (
        f"Number of labels ({cfg.nets.sweep_depth} hidden layers x {cfg.nets.sweep_width}, "
        f"m = {cfg.probe.label_sample_size}; paper Fig. 4)"
    )
    figures += [
        (
            "discriminability_sample_size",
            lambda r, p: _figure_grid(r, p, [size_panels], size_title),
        ),
        ("discriminability_labels", lambda r, p: _figure_grid(r, p, [label_panels], label_title)),
        ("discriminability_saturation", _figure_saturation),
    ]
    if any(s.theorem is not None for s in result.seeds):
        figures.append(("discriminability_theorem", _figure_theorem))
    if any(net.cells for net in result.nets.values()):
        figures.append(("discriminability_tessellation", _figure_cells))
        figures.append(("discriminability_fig1_effect", _figure_fig1))
    paths = []
    with figure_style() as plt:
        for name, draw in figures:
            paths.append(Path(save_figure(draw(result, plt), out, name)))
    return paths
