"""Figures of the hash-encoder reproduction (imports only the leaf and ``_common``).

Every curve is the mean across seeds with its 95% band; trained networks are solid
lines, the same networks at initialization dashed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hamgeo.experiments._common import figure_style, save_figure
from hamgeo.experiments.hash_encoder._config import (
    REDUNDANCY_NEAR_ZERO,
    curve_band,
    rows_where,
)
from hamgeo.experiments.hash_encoder._result import Result

__all__ = ["plot"]

_ACCURACIES = (
    ("network", "network"),
    ("knn", "k-NN"),
    ("kmeans", "k-means"),
    ("logreg", "logreg"),
)
_REGIME_LETTER = {"under": "U", "critical": "C", "sufficient": "S"}


def _curve(ax, rows, x_field, field, xs, positions, **style) -> None:
    mean, low, high = curve_band(rows, x_field, field, xs)
    if np.isnan(mean).all():
        return
    line = ax.plot(positions, mean, **style)[0]
    ax.fill_between(positions, low, high, color=line.get_color(), alpha=0.15, lw=0)


def _factor_figure(plt, rows, x_field: str, xs: Sequence[Any], *, title: str, xlabel: str,
                   log: bool = False, labels: Sequence[str] | None = None):  # fmt: skip
    """Redundancy (trained vs init) and train/test accuracies against one factor."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.3), layout="constrained")
    pos = np.asarray(xs, float) if labels is None else np.arange(len(xs), dtype=float)
    trained, init = rows_where(rows, state="trained"), rows_where(rows, state="init")
    ax = axes[0]
    for split, marker in (("train", "o"), ("test", "s")):
        field = f"redundancy_{split}"
        _curve(ax, trained, x_field, field, xs, pos, marker=marker, label=f"{split}, trained")
        _curve(ax, init, x_field, field, xs, pos, marker=marker, ls="--", label=f"{split}, init")
    ax.axhline(REDUNDANCY_NEAR_ZERO, color="gray", lw=0.8, ls=":")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("redundancy ratio")
    for ax, split in zip(axes[1:], ("train", "test"), strict=True):
        for method, label in _ACCURACIES:
            _curve(ax, trained, x_field, f"{method}_{split}_accuracy", xs, pos, marker="o",
                   ms=3, label=label)  # fmt: skip
        _curve(ax, init, x_field, f"knn_{split}_accuracy", xs, pos, ls="--", color="gray",
               label="k-NN, init")  # fmt: skip
        ax.set_ylim(0, 1.02)
        ax.set_title(f"{split} accuracy (codes; network on inputs)")
    for ax in axes:
        ax.set_xlabel(xlabel)
        if labels is not None:
            ax.set_xticks(pos, labels, rotation=30 if len(xs) > 4 else 0)
        elif log:
            ax.set_xscale("log", base=2)
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=11)
    return fig


def _phase_panel(ax, cells, widths, cols, col_field, value, *, title, cmap) -> Any:
    z = np.full((len(widths), len(cols)), np.nan)
    letters = {}
    for c in cells:
        i, j = widths.index(c["width"]), cols.index(c[col_field])
        z[i, j] = np.nan if c[value] is None else c[value]
        letters[(i, j)] = _REGIME_LETTER[c["regime"]]
    im = ax.pcolormesh(np.arange(len(cols) + 1), np.arange(len(widths) + 1), z, cmap=cmap,
                       vmin=0, vmax=1, shading="flat")  # fmt: skip
    size = 7 if len(cols) <= 20 else 4
    for (i, j), letter in letters.items():
        ax.text(j + 0.5, i + 0.5, letter, ha="center", va="center", fontsize=size, color="gray")
    step = max(1, len(cols) // 10)
    ticks = np.arange(0, len(cols), step)
    ax.set_xticks(ticks + 0.5, [str(cols[t]) for t in ticks])
    ax.set_yticks(np.arange(len(widths)) + 0.5, [str(w) for w in widths])
    ax.set_ylabel("hidden width")
    ax.set_title(title)
    ax.grid(False)
    return im


def _phase_figure(plt, result: Result, data: str):
    charts = [(name, col) for name, col in (("phase_training_time", "epoch"),
              ("phase_sample_size", "n_train")) if result.regimes.get(name)]  # fmt: skip
    if not charts:
        return None
    fig, axes = plt.subplots(
        2, len(charts), figsize=(5.4 * len(charts), 8.5), squeeze=False, layout="constrained"
    )
    for col, (name, field) in enumerate(charts):
        cells = result.regimes[name]
        widths = sorted({c["width"] for c in cells})
        cols = sorted({c[field] for c in cells})
        label = field.replace("_", " ")
        for row, (value, cmap, what) in enumerate(
            (("redundancy", "magma_r", "redundancy (train)"),
             ("knn_test_accuracy", "viridis", "k-NN test accuracy"))
        ):  # fmt: skip
            im = _phase_panel(axes[row, col], cells, widths, cols, field, value,
                              title=f"{what} vs {label}", cmap=cmap)  # fmt: skip
            axes[row, col].set_xlabel(label)
            fig.colorbar(im, ax=axes[row, col])
    fig.suptitle(
        f"Activation hash phase chart ({data}, 1-hidden-layer MLP, mean over seeds)\n"
        "U under-, C critically-, S sufficiently-expressive: Spearman significance of the "
        f"local trend and redundancy <= {REDUNDANCY_NEAR_ZERO} (hamgeo's reading)",
        fontsize=9,
    )
    return fig


def _controls_figure(plt, result: Result, data: str):
    """Training redundancy and k-NN test accuracy against width, with every control."""
    width = result.tables.get("width", [])
    n = max((r["n_train"] for r in result.controls["random_hyperplanes"]), default=0)
    hyper = rows_where(result.controls["random_hyperplanes"], n_train=n)
    raw = result.controls["raw_inputs"]
    if not width or not hyper:
        return None
    xs = sorted({r["width"] for r in width})
    pos = np.asarray(xs, float)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    for ax, metric, title in (
        (axes[0], "redundancy_train", "redundancy ratio (train)"),
        (axes[1], "knn_test_accuracy", "k-NN accuracy (test)"),
    ):
        _curve(ax, rows_where(width, state="trained"), "width", metric, xs, pos, marker="o",
               label="trained")  # fmt: skip
        _curve(ax, rows_where(width, state="init"), "width", metric, xs, pos, marker="s",
               ls="--", label="init (same arch.)")  # fmt: skip
        _curve(ax, hyper, "width", metric, xs, pos, marker="^", ls=":",
               label="random hyperplanes (same bits)")  # fmt: skip
        values = [r[metric] for r in raw if r.get(metric) is not None]
        if values:
            ax.axhline(float(np.mean(values)), color="black", lw=0.9, label="raw inputs")
        ax.set_xscale("log", base=2)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("hidden width (1 layer) = bits")
        ax.set_title(f"{data}: {title}")
    axes[1].legend(fontsize=7)
    return fig


def plot(result: Result, out_dir: str | Path) -> list[Path]:
    """Draw the phase chart, the controls and one figure per factor; return the PNG paths.

    Every curve is the mean across seeds with its 95% band (Student t from 3 seeds, the
    range below, clipped to [0, 1]).

    Args:
        result: what [`run`][hamgeo.experiments.hash_encoder.run] returned.
        out_dir: folder for the figures.

    Returns:
        Paths of ``hash_encoder_phase.png``, ``hash_encoder_controls.png`` and
        ``hash_encoder_<factor>.png`` for the factors that ran.
    """
    t, paths = result.tables, []
    data = result.config.data
    with figure_style() as plt:
        fig = _phase_figure(plt, result, data)
        if fig is not None:
            paths.append(save_figure(fig, out_dir, "hash_encoder_phase"))
        fig = _controls_figure(plt, result, data)
        if fig is not None:
            paths.append(save_figure(fig, out_dir, "hash_encoder_controls"))
        simple = (
            ("width", "width", "hidden width (1 layer)", True),
            ("depth", "depth", "hidden layers (equal total units)", False),
            ("weight_decay", "weight_decay", "weight decay", None),
            ("label_noise", "label_noise", "label noise fraction", None),
        )
        for factor, field, xlabel, log in simple:
            rows = t.get(factor, [])
            if not rows:
                continue
            xs = sorted({r[field] for r in rows})
            labels = [f"{x:g}" for x in xs] if log is None else None
            fig = _factor_figure(plt, rows, field, xs, title=f"{data}: {xlabel}", xlabel=xlabel,
                                 log=bool(log), labels=labels)  # fmt: skip
            paths.append(save_figure(fig, out_dir, f"hash_encoder_{factor}"))
        rows = [
            {**r, "model": f"{r['family']} {tuple(r['channels'])}"} for r in t.get("family", [])
        ]
        if rows:
            order = sorted({(r["family"] != "vgg", r["size"], r["model"]) for r in rows})
            xs = [model for *_, model in order]
            fig = _factor_figure(plt, rows, "model", xs, title=f"{data}: model families",
                                 xlabel="model (channels)", labels=xs)  # fmt: skip
            paths.append(save_figure(fig, out_dir, "hash_encoder_family"))
        for factor, field, xlabel, log in (
            ("training_time", "epoch", "epoch", False),
            ("sample_size", "n_train", "training examples", True),
        ):
            rows = t.get(factor, [])
            if not rows:
                continue
            fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
            for w in sorted({r["width"] for r in rows}):
                sub = rows_where(rows, width=w, state="trained")
                if factor == "training_time":
                    sub = rows_where(rows, width=w)
                xs = sorted({r[field] for r in sub})
                for ax, metric in zip(axes, ("redundancy_train", "knn_test_accuracy"), strict=True):
                    _curve(ax, sub, field, metric, xs, np.asarray(xs, float), marker="o", ms=3,
                           label=f"width {w}")  # fmt: skip
            for ax, title in zip(axes, ("redundancy ratio (train)", "k-NN accuracy (test)"),
                                 strict=True):  # fmt: skip
                ax.set_ylim(-0.02, 1.02)
                ax.set_xlabel(xlabel)
                ax.set_title(f"{data}: {title}")
                if log:
                    ax.set_xscale("log")
            axes[1].legend(fontsize=7)
            paths.append(save_figure(fig, out_dir, f"hash_encoder_{factor}"))
    return [Path(p) for p in paths]
