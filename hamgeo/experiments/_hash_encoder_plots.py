"""Figures of the hash-encoder reproduction (split from ``hash_encoder.py``)."""

from __future__ import annotations

import numpy as np

from hamgeo.experiments._common import figure_style, save_figure
from hamgeo.experiments.hash_encoder import (
    SUFFICIENT_REDUNDANCY,
    UNDER_REDUNDANCY,
    Result,
    _mean,
    regime,
)

__all__ = ["draw"]


def _grid(rows: list[dict], x: str, y: str, value: str):
    """Mean of ``value`` over seeds on the grid of ``x`` × ``y`` values."""
    xs = sorted({r[x] for r in rows})
    ys = sorted({r[y] for r in rows})
    z = np.full((len(ys), len(xs)), np.nan)
    for i, yv in enumerate(ys):
        for j, xv in enumerate(xs):
            z[i, j] = _mean([r for r in rows if r[x] == xv and r[y] == yv], value)
    return xs, ys, z


def _phase_panel(ax, xs, ys, z, *, title, xlabel, cmap, vmin, vmax, regimes):
    im = ax.pcolormesh(
        np.arange(len(xs) + 1),
        np.arange(len(ys) + 1),
        z,
        cmap=cmap,
        vmin=vmin,
        vmax=vmax,
        shading="flat",
    )
    ax.set_xticks(
        np.arange(len(xs)) + 0.5, [str(v) for v in xs], rotation=90 if len(xs) > 12 else 0
    )
    ax.set_yticks(np.arange(len(ys)) + 0.5, [str(v) for v in ys])
    ax.set_xlabel(xlabel)
    ax.set_ylabel("hidden width")
    ax.set_title(title)
    ax.grid(False)
    if regimes is not None and np.isfinite(regimes).any() and len(xs) > 1 and len(ys) > 1:
        cx, cy = np.arange(len(xs)) + 0.5, np.arange(len(ys)) + 0.5
        cs = ax.contour(
            cx,
            cy,
            regimes,
            levels=[SUFFICIENT_REDUNDANCY, UNDER_REDUNDANCY],
            colors=["white", "black"],
            linewidths=1.5,
        )
        ax.clabel(cs, fmt={SUFFICIENT_REDUNDANCY: "0.01", UNDER_REDUNDANCY: "0.1"}, fontsize=8)
    if regimes is not None:
        for i in range(len(ys)):
            for j in range(len(xs)):
                if np.isfinite(regimes[i, j]):
                    ax.text(
                        j + 0.5,
                        i + 0.5,
                        regime(regimes[i, j])[0].upper(),
                        ha="center",
                        va="center",
                        fontsize=6,
                        color="gray",
                    )
    return im


def draw(result: Result, out_dir) -> list[str]:
    """Draw the figures of :func:`hamgeo.experiments.hash_encoder.plot`."""
    t = result.tables
    paths = []
    digits_time = [r for r in t.get("training_time", []) if r["dataset"] == "digits"]
    sample = t.get("sample_size", [])
    with figure_style() as plt:
        panels = [("training time", digits_time, "epoch")] if digits_time else []
        if sample:
            panels.append(("sample size", sample, "n_train"))
        if panels:
            fig, axes = plt.subplots(2, len(panels), figsize=(5.2 * len(panels), 8), squeeze=False)
            for col, (label, rows, xkey) in enumerate(panels):
                xs, ys, red = _grid(rows, xkey, "width", "redundancy_train")
                _, _, acc = _grid(rows, xkey, "width", "knn_accuracy")
                im = _phase_panel(
                    axes[0, col],
                    xs,
                    ys,
                    red,
                    title=f"redundancy (train) vs {label}",
                    xlabel=xkey.replace("_", " "),
                    cmap="magma_r",
                    vmin=0,
                    vmax=1,
                    regimes=red,
                )
                fig.colorbar(im, ax=axes[0, col])
                im = _phase_panel(
                    axes[1, col],
                    xs,
                    ys,
                    acc,
                    title=f"k-NN accuracy vs {label}",
                    xlabel=xkey.replace("_", " "),
                    cmap="viridis",
                    vmin=0,
                    vmax=1,
                    regimes=red,
                )
                fig.colorbar(im, ax=axes[1, col])
            fig.suptitle(
                "Activation hash phase chart (digits, 1-hidden-layer MLP)\n"
                "U under-, C critically-, S sufficiently-expressive "
                "(redundancy > 0.1 / between / <= 0.01)",
                fontsize=10,
            )
            paths.append(save_figure(fig, out_dir, "hash_encoder_phase"))

        width_rows = t.get("width", [])
        names = sorted({r["dataset"] for r in width_rows}, key=lambda d: (d != "digits", d))
        if names:
            fig, axes = plt.subplots(2, len(names), figsize=(4.6 * len(names), 7), squeeze=False)
            for col, name in enumerate(names):
                rows = [r for r in width_rows if r["dataset"] == name]
                ws = sorted({r["width"] for r in rows})
                ax = axes[0, col]
                for field, lab in (("redundancy_train", "train"), ("redundancy_test", "test")):
                    ax.plot(
                        ws,
                        [_mean([r for r in rows if r["width"] == w], field) for w in ws],
                        "o-",
                        label=lab,
                    )
                ax.set_xscale("log", base=2)
                ax.set_title(f"{name}: redundancy ratio")
                ax.set_xlabel("hidden width")
                ax.legend()
                ax = axes[1, col]
                for field, lab in (
                    ("network_accuracy", "network"),
                    ("knn_accuracy", "k-NN"),
                    ("kmeans_accuracy", "k-means"),
                    ("logreg_accuracy", "logreg"),
                ):
                    ax.plot(
                        ws,
                        [_mean([r for r in rows if r["width"] == w], field) for w in ws],
                        "o-",
                        label=lab,
                    )
                ax.set_xscale("log", base=2)
                ax.set_ylim(0, 1.02)
                ax.set_title(f"{name}: test accuracy on codes")
                ax.set_xlabel("hidden width")
                ax.legend()
            paths.append(save_figure(fig, out_dir, "hash_encoder_width"))

        for sweep, xkey, xlabel, log in (
            ("training_time", "epoch", "epoch", False),
            ("sample_size", "n_train", "training examples", True),
        ):
            rows = [r for r in t.get(sweep, []) if r["dataset"] == "digits"]
            if not rows:
                continue
            fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
            for w in sorted({r["width"] for r in rows}):
                sub = [r for r in rows if r["width"] == w]
                xs = sorted({r[xkey] for r in sub})
                for ax, field in zip(axes, ("redundancy_train", "knn_accuracy"), strict=True):
                    ax.plot(
                        xs,
                        [_mean([r for r in sub if r[xkey] == x], field) for x in xs],
                        "o-",
                        ms=3,
                        label=f"width {w}",
                    )
            for ax, title in zip(
                axes, ("redundancy ratio (train)", "k-NN accuracy (test)"), strict=True
            ):
                ax.set_xlabel(xlabel)
                ax.set_title(f"digits: {title}")
                if log:
                    ax.set_xscale("log")
            axes[1].legend(fontsize=8)
            paths.append(save_figure(fig, out_dir, f"hash_encoder_{sweep}"))

        for sweep, xkey, xlabel in (
            ("weight_decay", "weight_decay", "weight decay"),
            ("label_noise", "label_noise", "label noise fraction"),
        ):
            rows = t.get(sweep, [])
            if not rows:
                continue
            xs = sorted({r[xkey] for r in rows})
            pos = np.arange(len(xs))
            fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
            for field, lab in (("redundancy_train", "train"), ("redundancy_test", "test")):
                axes[0].plot(
                    pos,
                    [_mean([r for r in rows if r[xkey] == x], field) for x in xs],
                    "o-",
                    label=lab,
                )
            for field, lab in (
                ("network_accuracy", "network"),
                ("knn_accuracy", "k-NN"),
                ("kmeans_accuracy", "k-means"),
                ("logreg_accuracy", "logreg"),
            ):
                axes[1].plot(
                    pos,
                    [_mean([r for r in rows if r[xkey] == x], field) for x in xs],
                    "o-",
                    label=lab,
                )
            for ax, title in zip(axes, ("redundancy ratio", "test accuracy on codes"), strict=True):
                ax.set_xticks(pos, [f"{x:g}" for x in xs])
                ax.set_xlabel(xlabel)
                ax.set_title(f"digits, width {rows[0]['width']}: {title}")
                ax.legend(fontsize=8)
            axes[1].set_ylim(0, 1.02)
            paths.append(save_figure(fig, out_dir, f"hash_encoder_{sweep}"))
    return paths
