"""Figures of the BNN-geometry reproduction (from a Result; bands: 95 %, range below 3 seeds)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hamgeo.binary_geometry import angle_theory
from hamgeo.experiments._common import figure_style, save_figure
from hamgeo.experiments.bnn_geometry._result import ModelResult, Result, band

__all__ = ["plot"]

_RED, _BLUE, _GREY = "#d62728", "#1f77b4", "#7f7f7f"


def _plot_angles(result: Result, out_dir) -> Path:
    dims = result.config.dims
    bins = np.linspace(0, 180, result.config.hist_bins + 1)
    with figure_style() as plt:
        fig, axes = plt.subplots(
            1, len(dims), figsize=(2.6 * len(dims), 2.8), sharey=False, squeeze=False
        )
        for ax, dim in zip(axes[0], dims, strict=True):
            sign, pairs = result.angles["uniform"][dim]
            g_sign, _ = result.angles["gaussian"][dim]
            ax.hist(pairs, bins=bins, density=True, color=_BLUE, alpha=0.6, label="random pair")
            ax.hist(sign, bins=bins, density=True, color=_RED, alpha=0.6, label="w vs bin(w)")
            ax.hist(
                g_sign,
                bins=bins,
                density=True,
                histtype="step",
                color="darkred",
                linestyle="--",
                label="w vs bin(w), Gaussian",
            )
            ax.set_title(f"dim = {dim}")
            ax.set_xlabel("angle (degrees)")
            ax.set_xlim(0, 180)
            ax.set_yticks([])
        axes[0, 0].set_ylabel("density")
        axes[0, -1].legend(loc="upper left", frameon=False)
        fig.suptitle(
            "Binarization changes a direction little next to a random direction (Fig. 2, seed 0)",
            y=1.06,
        )
        return Path(save_figure(fig, out_dir, "bnn_geometry_angles"))


def _mean(iv) -> float:
    return float("nan") if iv.mean is None else iv.mean


def _mean_std_bars(ax, dims, rows, stat: str, **style) -> None:
    """``stat``'s mean per dimension with its standard deviation as error bars."""
    means = [_mean(r[f"{stat}_mean"]) for r in rows]
    ax.errorbar(dims, means, yerr=[_mean(r[f"{stat}_std"]) for r in rows], **style)


def _plot_angle_theory(result: Result, out_dir) -> Path:
    table = result.angle_table()
    dims = np.array(result.config.dims)
    grid = np.unique(np.geomspace(2, max(dims.max(), 10), 60).astype(int))
    with figure_style() as plt:
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
        for dist, color in (("uniform", _RED), ("gaussian", "darkred")):
            rows = [table[dist][str(d)] for d in dims]
            _mean_std_bars(
                ax1, dims, rows, "sign", fmt="o", color=color, label=f"w vs bin(w), {dist}"
            )
            th = [angle_theory(int(d), dist) for d in grid if d >= 2]
            ax1.plot(grid, [t.sign_mean for t in th], color=color, lw=1)
            ax1.axhline(th[0].sign_limit, color=color, ls=":", lw=1)
            seen = [(d, _mean(r["overlap"])) for d, r in zip(dims, rows, strict=True)]
            seen = [(d, o) for d, o in seen if o > 0]
            if seen:
                ax2.semilogy(*zip(*seen, strict=True), "o", color=color, label=f"measured, {dist}")
            ax2.semilogy(grid, [max(t.overlap, 1e-12) for t in th], color=color, lw=1)
        rows = [table["uniform"][str(d)] for d in dims]
        _mean_std_bars(ax1, dims, rows, "pair", fmt="s", color=_BLUE, label="random pairs")
        ax1.set_xscale("log")
        ax1.set_xlabel("dimension")
        ax1.set_ylabel("angle (degrees), mean ± std")
        ax1.legend(frameon=False)
        ax1.set_title("Angles vs hamgeo's theory (lines)")
        ax2.set_ylim(1e-12, 1.5)
        ax2.set_xscale("log")
        ax2.set_xlabel("dimension")
        ax2.set_ylabel("overlap of the two distributions")
        ax2.set_title("Overlap (lines: theory; measured 0 not drawn)")
        if ax2.get_legend_handles_labels()[0]:
            ax2.legend(frameon=False)
        return Path(save_figure(fig, out_dir, "bnn_geometry_angle_theory"))


def _plot_dots(model: ModelResult, out_dir, variant: str) -> Path:
    layers = model.layers if variant == "dot" else model.layers[1:]
    with figure_style() as plt:
        fig, axes = plt.subplots(1, len(layers), figsize=(2.9 * len(layers), 3.0), squeeze=False)
        for ax, r in zip(axes[0], layers, strict=True):
            if variant == "dot":
                x, y = r.dots_binary, r.dots_continuous
                corr, unit = r.dot_corr, r.dot_corr_unit_median
            else:
                x, y = r.act_binary, r.act_continuous
                corr, unit = r.act_corr, r.act_corr_unit_median
            ax.hist2d(x, y, bins=40, cmap="Blues", cmin=1)
            ax.set_title(
                f"Layer {r.layer} (d = {r.input_dim})\nr = {corr:.3f}, per unit {unit:.3f}",
                fontsize=10,
            )
            ax.grid(False)
        if variant == "dot":
            axes[0, 0].set_xlabel(r"$a \cdot w_b$")
            axes[0, 0].set_ylabel(r"$a \cdot w_c$")
            title = "Binarizing the weights preserves dot products (Fig. 3)"
        else:
            axes[0, 0].set_xlabel(r"$w_b \cdot a_b$")
            axes[0, 0].set_ylabel(r"$w_b \cdot a_c$")
            title = "Binarizing the activations preserves dot products"
        fig.suptitle(f"{title}: {model.description}, seed 0", fontsize=10, y=1.1)
        return Path(save_figure(fig, out_dir, f"bnn_geometry_{variant}_{model.name}"))


def _interval_err(ivs) -> tuple[np.ndarray, np.ndarray]:
    """Mean and the asymmetric error bars of intervals (0 where there is no interval)."""
    mean = np.array([_mean(iv) for iv in ivs])
    low = np.array([iv.low if iv.low is not None else _mean(iv) for iv in ivs])
    high = np.array([iv.high if iv.high is not None else _mean(iv) for iv in ivs])
    return mean, np.stack([mean - low, high - mean])


def _plot_corr_vs_dim(result: Result, out_dir) -> Path:
    markers = ("o", "s", "^", "D", "v")
    summaries = result.model_summaries()
    with figure_style() as plt:
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.2))
        for i, m in enumerate(summaries):
            dims = [r["input_dim"] for r in m["seeds"][0]["layers"]]
            k = np.arange(1, len(dims) + 1)
            style = {"marker": markers[i % len(markers)], "ls": "none", "color": f"C{i}"}
            for stat, fill, label in (
                ("dot_corr", None, "pooled"),
                ("dot_corr_unit_median", "none", "per-unit median"),
            ):
                mean, err = _interval_err([m["summary"][f"{stat}_layer{j}"] for j in k])
                ax1.errorbar(
                    dims, mean, yerr=err, mfc=fill, ms=7, label=f"{m['name']}: {label}", **style
                )
        ax1.set_xscale("log")
        ax1.set_xlabel("layer input dimension (fan-in)")
        ax1.set_ylabel(r"corr($a \cdot w_b$, $a \cdot w_c$)")
        ax1.set_title("All models (bars: 95% interval across seeds)")
        ax1.legend(frameon=False, fontsize=7)

        main = summaries[0]
        layers = main["seeds"][0]["layers"]
        k = np.arange(1, len(layers) + 1)
        s = main["summary"]
        init = main["init_summary"]
        mean, err = _interval_err([init[f"dot_corr_layer{j}"] for j in k])
        ax2.errorbar(k + 0.12, mean, yerr=err, fmt="s", mfc="none", color="C1", ms=8,
                     label="pooled, same net at init")  # fmt: skip
        mean, err = _interval_err([s[f"dot_corr_layer{j}"] for j in k])
        ax2.errorbar(k - 0.12, mean, yerr=err, fmt="s", color="C1", ms=8, label="pooled, trained")
        for stat, color, marker, label in (
            ("dot_corr_unit_median", "C0", "o", r"per-unit median, $w_b$"),
            ("isotropic_corr_median", _RED, "_", r"isotropic inputs: cos$\angle(w_b, w_c)$"),
            ("random_abs_corr_unit_median", _GREY, "x", r"random $\pm1$ weights: median |r|"),
        ):
            mean, err = _interval_err([s[f"{stat}_layer{j}"] for j in k])
            ax2.errorbar(k, mean, yerr=err, fmt=marker, color=color, ms=9, label=label)
        q25, _ = _interval_err([s[f"dot_corr_unit_q25_layer{j}"] for j in k])
        q75, _ = _interval_err([s[f"dot_corr_unit_q75_layer{j}"] for j in k])
        ax2.vlines(k, q25, q75, color="C0", lw=5, alpha=0.3, label="per-unit IQR (mean)")
        ax2.set_xticks(k, [f"{j}\n(d={r['input_dim']})" for j, r in zip(k, layers, strict=True)])
        ax2.set_xlabel("layer of the main model")
        ax2.set_ylim(-0.05, 1.05)
        ax2.set_title(f"{main['name']}: per unit, against two baselines")
        ax2.legend(frameon=False, fontsize=8, loc="center left")
        fig.suptitle("Dot-product preservation against dimension and baselines", y=1.02)
        return Path(save_figure(fig, out_dir, "bnn_geometry_corr_vs_dim"))


def _plot_fanin(result: Result, out_dir) -> Path | None:
    """Layer-2 correlation against its fan-in at a fixed input type, trained and at init."""
    if len(result.seeds[0].fanin) < 2:
        return None
    fanins = np.array([f.fan_in for f in result.seeds[0].fanin], float)
    with figure_style() as plt:
        fig, ax = plt.subplots(figsize=(6, 4))
        for state, stat, style, label in (
            ("trained", "dot_corr", {"fmt": "o-", "color": "C0"}, "trained"),
            ("init", "dot_corr", {"fmt": "s--", "color": "C1", "mfc": "none"}, "same net at init"),
            ("trained", "isotropic_corr_median", {"fmt": "_:", "color": _RED, "ms": 12},
             "isotropic inputs (theory)"),
        ):  # fmt: skip
            bands = [
                band([float(getattr(getattr(s.fanin[i], state), stat)) for s in result.seeds],
                     stat)
                for i in range(len(fanins))
            ]  # fmt: skip
            mean, err = _interval_err(bands)
            ax.errorbar(fanins, mean, yerr=err, label=label, **style)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("fan-in of layer 2 (width of layer 1)")
        ax.set_ylabel(r"corr($a \cdot w_b$, $a \cdot w_c$), layer 2")
        ax.set_title(f"Fan-in sweep on {result.config.data}: binary inputs at every fan-in")
        ax.legend(frameon=False, fontsize=8)
        return Path(save_figure(fig, out_dir, "bnn_geometry_fanin"))


def plot(result: Result, out_dir: str | Path) -> list[Path]:
    """Draw the figures: Fig. 2 histograms, angle theory, Fig. 3 per model, corr vs dim.

    Args:
        result: what [`run`][hamgeo.experiments.bnn_geometry.run] returned.
        out_dir: the directory for the PNG files.

    Returns:
        The paths of the PNG files.
    """
    paths = [_plot_angles(result, out_dir), _plot_angle_theory(result, out_dir)]
    for m in result.models:
        paths.append(_plot_dots(m, out_dir, "dot"))
    paths.append(_plot_dots(result.models[0], out_dir, "act"))
    paths.append(_plot_corr_vs_dim(result, out_dir))
    fanin = _plot_fanin(result, out_dir)
    return paths if fanin is None else [*paths, fanin]
