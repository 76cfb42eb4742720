"""Figures of the discriminability reproduction (the paper's Figs. 1-4).

Private to :mod:`hamgeo.experiments.discriminability`; :func:`plot_all` is its ``plot``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hamgeo.experiments._common import figure_style, save_figure
from hamgeo.experiments._discriminability_cells import figure_fig1

__all__ = ["draw_cells", "plot_all"]

_STYLE = {
    "code_hamming": {"color": "C0", "ls": "-", "label": "code: Hamming"},
    "code_truncated_hamming": {"color": "C1", "ls": "-", "label": "code: truncated Hamming"},
    "code_wasserstein": {"color": "C2", "ls": "-", "lw": 2.4, "label": "code: Wasserstein-1"},
    "code_mmd": {"color": "C3", "ls": "-", "label": "code: MMD (exp(-d_H))"},
    "activ_frechet": {"color": "C4", "ls": "--", "label": "activ: Fréchet"},
    "activ_wasserstein": {"color": "C5", "ls": "--", "label": "activ: Wasserstein-1"},
    "data_frechet": {"color": "k", "ls": ":", "lw": 2.6, "label": "data: Fréchet (benchmark)"},
    "data_euclidean": {"color": "0.5", "ls": "-.", "label": "data: Euclidean"},
}
_CELL_STYLE = {
    "hamming": {"color": "C0", "marker": "o", "label": "$d_H$ (Hamming)"},
    "tessellation": {"color": "C3", "marker": "s", "label": "$d_T$ (cell distance)"},
    "crossings": {"color": "C2", "marker": "^", "label": "boundary crossings"},
    "facet_aware": {"color": "C1", "marker": "x", "label": "facet-aware Hamming"},
}
_XLABEL = "shift $t$ of $S_2$ along the diagonal (Euclidean)"


def _curves_panel(ax, shifts, curves, normalize, title, saturation=None, names=None):
    """Normalized distances against the shift, one line per distance."""
    for name in names or _STYLE:
        if name not in curves:
            continue
        style = dict(_STYLE[name])
        label = style.pop("label")
        ax.plot(shifts, normalize(np.asarray(curves[name])), label=label, **style)
    if saturation is not None:
        ax.axvline(saturation, color="C2", lw=1.0, alpha=0.6)
        ax.annotate(
            "code W1\nsaturates",
            (saturation, 0.05),
            xytext=(4, 0),
            textcoords="offset points",
            fontsize=8,
            color="C2",
        )
    ax.set_title(title)
    ax.set_xlabel(_XLABEL)
    ax.set_ylim(-0.03, 1.05)


def _legend_below(fig, ax, ncol=4):
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=ncol, frameon=False)


def _figure_setup(result, plt, draw_cells, normalize) -> Any:
    cfg = result.config
    depth = cfg.depths[0]
    name = result.depth_nets[depth]
    net = result.nets[name]
    data = result.data["datasets"][cfg.n_groups]
    fig, axes = plt.subplots(1, 3, figsize=(15.5, 5.0))
    ax = axes[0]
    x, y = np.asarray(data.x_train), np.asarray(data.y_train)
    sc = ax.scatter(x[:, 0], x[:, 1], c=y, cmap="tab10", vmin=0, vmax=9, s=4, alpha=0.7)
    del sc
    ax.scatter(
        *np.asarray(data.info["centres"])[:, :2].T,
        marker="*",
        s=160,
        c="k",
        label="k-means centres",
    )
    ax.set_title(f"(a) training data: {cfg.per_axis**cfg.dim} Gaussians, {cfg.n_groups} groups")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=8)
    ax = axes[1]
    model, variables = result.data["trained"][name]
    draw_cells(ax, model, variables, cfg)
    m = cfg.depth_sample_size
    probe = result.data["probes"][m]
    shifts = result.shifts
    picks = sorted({0, len(shifts) // 4, len(shifts) // 2, (3 * len(shifts)) // 4})
    from hamgeo.experiments.discriminability import _plane

    origin, u, v = _plane(cfg.dim)
    # probe points in the plane's coordinates (for 2-D inputs, x1 and x2 themselves)
    ends = np.stack([np.zeros(cfg.dim), np.full(cfg.dim, shifts[-1] / np.sqrt(cfg.dim))])
    ends = np.stack([(ends - origin) @ u, (ends - origin) @ v], axis=-1)
    ax.plot(ends[:, 0], ends[:, 1], color="k", lw=1.2, ls="--", label="diagonal")
    for j, k in enumerate(picks):
        pts = np.stack([(probe[k] - origin) @ u, (probe[k] - origin) @ v], axis=-1)
        label = "$S_1$ (t = 0)" if k == 0 else f"$S_2$, t = {shifts[k]:.2f}"
        ax.scatter(pts[:, 0], pts[:, 1], s=14, color=f"C{j}", edgecolor="k", lw=0.3, label=label)
    ax.set_title(f"(b) cells of the {depth} x {cfg.width} net and the probe (m = {m})")
    ax.set_xlabel("$x_1$" if cfg.dim == 2 else "along the diagonal")
    ax.set_ylabel("$x_2$" if cfg.dim == 2 else "along $(e_1 - e_2)/\\sqrt{2}$")
    ax.legend(loc="upper left", fontsize=8)
    sat = result.summary.get(f"saturation_shift_L{depth}")
    _curves_panel(
        axes[2],
        shifts,
        net.curves[m],
        normalize,
        f"(c) distances vs shift ({depth} layers, m = {m})",
        saturation=sat,
    )
    axes[2].set_ylabel("normalized distance")
    axes[2].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def _figure_grid(result, plt, panels, normalize, title) -> Any:
    """One panel per (curves, title, saturation); shared legend below."""
    n = len(panels)
    fig, axes = plt.subplots(1, n, figsize=(4.6 * n, 4.4), sharey=True, squeeze=False)
    for ax, (curves, sub, sat) in zip(axes[0], panels, strict=True):
        _curves_panel(ax, result.shifts, curves, normalize, sub, saturation=sat)
    axes[0][0].set_ylabel("normalized distance")
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.11, 1, 1))
    _legend_below(fig, axes[0][0])
    return fig


def _figure_depth(result, plt, normalize) -> Any:
    cfg = result.config
    sizes = sorted({1, cfg.depth_sample_size})
    fig, axes = plt.subplots(
        len(sizes),
        len(cfg.depths),
        figsize=(4.8 * len(cfg.depths), 3.9 * len(sizes)),
        sharey=True,
        squeeze=False,
    )
    for i, m in enumerate(sizes):
        for j, depth in enumerate(cfg.depths):
            net = result.nets[result.depth_nets[depth]]
            sat = (
                result.summary.get(f"saturation_shift_L{depth}")
                if m == cfg.depth_sample_size
                else None
            )
            _curves_panel(
                axes[i][j],
                result.shifts,
                net.curves[m],
                normalize,
                f"{depth} hidden layers x {cfg.width}, m = {m}",
                saturation=sat,
            )
        axes[i][0].set_ylabel("normalized distance")
    fig.suptitle("Distances vs shift for varying depth (paper Fig. 3)")
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    _legend_below(fig, axes[0][0])
    return fig


def _figure_cells(result, plt) -> Any:
    cfg = result.config
    depths = [d for d in cfg.depths if result.nets[result.depth_nets[d]].cells]
    fig, axes = plt.subplots(1, len(depths), figsize=(5.2 * len(depths), 4.4), squeeze=False)
    for ax, depth in zip(axes[0], depths, strict=True):
        cells = result.nets[result.depth_nets[depth]].cells
        for name, style in _CELL_STYLE.items():
            if name in cells:
                ax.plot(result.shifts, cells[name], ms=4, **style)
        ax.set_title(f"{depth} hidden layers x {cfg.width}")
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
    from hamgeo.experiments.discriminability import _plane, _plane_extent
    from hamgeo.regions import plot_partition, slice_partition

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
    plot_partition(part, ax=ax, boundary_color="0.3")
    if config.dim == 2:
        ax.set_aspect("equal")


def plot_all(result, out_dir, *, normalize) -> list[str]:
    """Draw every figure of ``result`` into ``out_dir``; returns the PNG paths."""
    out = Path(out_dir)
    cfg = result.config
    paths = []
    with figure_style() as plt:
        paths.append(
            save_figure(
                _figure_setup(result, plt, draw_cells, normalize), out, "discriminability_setup"
            )
        )
        paths.append(
            save_figure(_figure_depth(result, plt, normalize), out, "discriminability_depth")
        )
        sweep = result.nets[result.sample_size_net]
        panels = [
            (sweep.curves[m], f"m = {m}", result.summary.get(f"saturation_shift_m{m}"))
            for m in cfg.sample_sizes
        ]
        title = f"Sample size ({cfg.sweep_depth} hidden layers x {cfg.sweep_width}; paper Fig. 4)"
        paths.append(
            save_figure(
                _figure_grid(result, plt, panels, normalize, title),
                out,
                "discriminability_sample_size",
            )
        )
        panels = [
            (
                result.nets[name].curves[cfg.label_sample_size],
                f"{g} labels",
                result.summary.get(f"saturation_shift_g{g}"),
            )
            for g, name in result.label_nets.items()
        ]
        title = (
            f"Number of labels ({cfg.sweep_depth} hidden layers x {cfg.sweep_width}, "
            f"m = {cfg.label_sample_size}; paper Fig. 4)"
        )
        paths.append(
            save_figure(
                _figure_grid(result, plt, panels, normalize, title), out, "discriminability_labels"
            )
        )
        if any(net.cells for net in result.nets.values()):
            paths.append(
                save_figure(_figure_cells(result, plt), out, "discriminability_tessellation")
            )
            fig = figure_fig1(result, plt)
            if fig is not None:
                paths.append(save_figure(fig, out, "discriminability_fig1_effect"))
    return paths
