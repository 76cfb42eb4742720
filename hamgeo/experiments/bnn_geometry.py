"""Reproduction of the BNN-geometry paper: binarization angles and dot-product preservation.

The paper is Anderson & Berg, *The high-dimensional geometry of binary neural networks*
(``shared/papers/bnn_geometry.txt``). Its two results, as this module reproduces them:

1. **Fig. 2** — for vectors with i.i.d. entries (uniform on ``[-1, 1]`` as the paper,
   and Gaussian), the angle between a vector and its sign concentrates near
   ``arccos(E|w| / sqrt(E w^2))`` (30 and 37 degrees), while two random vectors are
   nearly orthogonal (90 degrees, spread ``O(1/sqrt(dim))``); the two distributions
   overlap at low dimension and separate at moderately high dimension
   (:func:`hamgeo.binary_geometry.binarization_angles`,
   :func:`hamgeo.binary_geometry.angle_theory`).
2. **Fig. 3** — in trained BinaryNet-style networks, ``a . w_b`` is highly correlated
   with ``a . w_c`` layer by layer, less so in the first layer where the dimension is
   low; the same for the activation variant ``w_b . a_c`` vs ``w_b . a_b``
   (:func:`hamgeo.binary_geometry.dot_product_preservation`). The paper used a CIFAR-10
   CNN; here a :class:`~hamgeo.nets.BinaryMLP` on digits is the main model, with a
   BinaryMLP on MNIST-1D and a :class:`~hamgeo.nets.BinaryCNN` on digits beside it, and
   the paper's CIFAR-10 network when a local copy of CIFAR-10 is given.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import numpy as np

from hamgeo.binary_geometry import (
    LayerPreservation,
    angle_overlap,
    angle_theory,
    binarization_angles,
    dot_product_preservation,
)
from hamgeo.experiments._common import figure_style, progress, save_figure

__all__ = ["NAME", "Config", "ModelResult", "Result", "plot", "run"]

NAME = "bnn-geometry"
_DISTRIBUTIONS = ("uniform", "gaussian")


@dataclasses.dataclass(frozen=True)
class Config:
    """Sizes of the BNN-geometry experiment; the defaults follow the paper where it says.

    Attributes:
        dims: dimensions of the angle distributions (Fig. 2).
        n_angles: angles of each kind sampled per dimension and distribution.
        hist_bins: bins over [0, 180] degrees for the angle histograms and overlaps.
        mlp_widths: hidden widths of the BinaryMLPs (digits: the main model; MNIST-1D).
        mlp_epochs: training epochs of the BinaryMLPs.
        cnn_channels: binary conv channels of the digits BinaryCNN.
        cnn_dense: binary dense widths of the digits BinaryCNN.
        cnn_epochs: its training epochs.
        batch_size: training mini-batch size.
        learning_rate: Adam step size.
        positions_per_example: conv output positions sampled per example.
        mnist1d: also train and analyse the MNIST-1D BinaryMLP.
        cnn: also train and analyse the digits BinaryCNN.
        cifar10_path: a local CIFAR-10 (binary version) directory; when set, the paper's
            network (128C3-128C3-MP-256C3-256C3-MP-512C3-512C3-MP-1024FC-1024FC-10,
            batch norm after every layer) is trained and analysed too.
        cifar_channels: conv channels of the CIFAR-10 network (the paper's by default).
        cifar_dense: its dense widths.
        cifar_epochs: its training epochs.
        cifar_batch_size: its mini-batch size.
        cifar_learning_rate: its Adam step size.
        cifar_train_limit: use only this many training images (None: all 50000).
        cifar_eval: test images used for the dot-product analysis.
    """

    dims: tuple[int, ...] = (2, 5, 10, 30, 100, 300, 1000, 3000)
    n_angles: int = 20_000
    hist_bins: int = 180
    mlp_widths: tuple[int, ...] = (512, 512, 512)
    mlp_epochs: int = 40
    cnn_channels: tuple[int, ...] = (64, 128)
    cnn_dense: tuple[int, ...] = (256,)
    cnn_epochs: int = 30
    batch_size: int = 64
    learning_rate: float = 3e-3
    positions_per_example: int = 64
    mnist1d: bool = True
    cnn: bool = True
    cifar10_path: str | None = None
    cifar_channels: tuple[int, ...] = (128, 128, 256, 256, 512, 512)
    cifar_dense: tuple[int, ...] = (1024, 1024)
    cifar_epochs: int = 50
    cifar_batch_size: int = 100
    cifar_learning_rate: float = 1e-3
    cifar_train_limit: int | None = None
    cifar_eval: int = 1000

    @classmethod
    def quick(cls) -> Config:
        """Small sizes that finish in about a minute on a 2-core CPU."""
        return cls(
            dims=(2, 10, 100, 1000),
            n_angles=5000,
            hist_bins=90,
            mlp_widths=(256, 256, 256),
            mlp_epochs=15,
            cnn_channels=(32, 64),
            cnn_dense=(128,),
            cnn_epochs=8,
            learning_rate=1e-2,
            cifar_epochs=2,
            cifar_train_limit=2000,
            cifar_eval=200,
        )


@dataclasses.dataclass
class ModelResult:
    """One trained BNN and its per-layer dot-product preservation.

    Attributes:
        name: short name (``mlp_digits``, ``mlp_mnist1d``, ``cnn_digits``, ``cnn_cifar10``).
        description: architecture and data in words.
        test_accuracy: accuracy on the test split.
        layers: one :class:`~hamgeo.binary_geometry.LayerPreservation` per binary layer.
    """

    name: str
    description: str
    test_accuracy: float
    layers: list[LayerPreservation]

    def to_dict(self) -> dict[str, Any]:
        """Scalars only (the pair samples stay in memory for the figures)."""
        scalar = (
            "layer",
            "kind",
            "input_dim",
            "n_pairs",
            "dot_corr",
            "dot_scale",
            "weight_angle_deg",
            "act_corr",
            "act_scale",
            "control_corr",
        )
        return {
            "name": self.name,
            "description": self.description,
            "test_accuracy": self.test_accuracy,
            "layers": [{k: getattr(r, k) for k in scalar} for r in self.layers],
        }


@dataclasses.dataclass
class Result:
    """What :func:`run` measured.

    Attributes:
        config: the configuration.
        angles: ``{distribution: {dim: BinarizationAngles}}`` samples in degrees.
        theory: ``{distribution: {dim: AngleTheory}}``.
        models: the trained BNNs, the main model (BinaryMLP on digits) first.
    """

    config: Config
    angles: dict[str, dict[int, Any]]
    theory: dict[str, dict[int, Any]]
    models: list[ModelResult]

    def angle_table(self) -> dict[str, dict[str, dict[str, float]]]:
        """Per distribution and dimension: measured and theoretical means, spreads, overlap."""
        table: dict[str, dict[str, dict[str, float]]] = {}
        for dist, by_dim in self.angles.items():
            table[dist] = {}
            for dim, (sign, pairs) in by_dim.items():
                sign = np.asarray(sign, np.float64)
                pairs = np.asarray(pairs, np.float64)
                t = self.theory[dist][dim]
                table[dist][str(dim)] = {
                    "sign_mean": float(sign.mean()),
                    "sign_std": float(sign.std()),
                    "pair_mean": float(pairs.mean()),
                    "pair_std": float(pairs.std()),
                    "overlap": angle_overlap(sign, pairs, bins=self.config.hist_bins),
                    "p_sign_above_pair": float((sign > pairs).mean()),
                    "theory_sign_limit": t.sign_limit,
                    "theory_sign_mean": t.sign_mean,
                    "theory_sign_std": t.sign_std,
                    "theory_pair_std": t.pair_std,
                    "theory_overlap": t.overlap,
                }
        return table

    def summary(self) -> dict[str, float | None]:
        """The named scalars of ``results.json``."""
        table = self.angle_table()
        out: dict[str, float | None] = {}
        for dim in self.config.dims:
            out[f"angle_sign_uniform_deg_d{dim}"] = table["uniform"][str(dim)]["sign_mean"]
            out[f"angle_sign_gaussian_deg_d{dim}"] = table["gaussian"][str(dim)]["sign_mean"]
            out[f"angle_random_pairs_deg_d{dim}"] = table["uniform"][str(dim)]["pair_mean"]
        main = self.models[0]
        for r in main.layers:
            out[f"dot_corr_layer{r.layer}"] = r.dot_corr
            # layer 1 reads the real data: there is no binarized input to compare (null)
            out[f"act_corr_layer{r.layer}"] = None if math.isnan(r.act_corr) else r.act_corr
            out[f"control_corr_layer{r.layer}"] = r.control_corr
        out["test_accuracy"] = main.test_accuracy
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-able content of ``results.json`` (deterministic for a seed)."""
        return {
            "config": dataclasses.asdict(self.config),
            "summary": self.summary(),
            "angles": self.angle_table(),
            "models": [m.to_dict() for m in self.models],
        }


def _train_and_measure(name, description, model, ds, *, epochs, batch_size, lr, key, config):
    from hamgeo import nets

    k_train, k_dpp = jax.random.split(key)
    trained = nets.train(
        model, ds, epochs=epochs, batch_size=batch_size, learning_rate=lr, key=k_train
    )
    acc = float(nets.accuracy(model, trained.variables, ds.x_test, ds.y_test))
    layers = dot_product_preservation(
        model,
        trained.variables,
        ds.x_test,
        key=k_dpp,
        positions_per_example=config.positions_per_example,
    )
    return ModelResult(name, description, acc, layers)


def _cifar_data(config: Config):
    from hamgeo import data

    ds = data.load_cifar10(config.cifar10_path, images=True)
    if config.cifar_train_limit is not None:
        n = config.cifar_train_limit
        ds = dataclasses.replace(ds, x_train=ds.x_train[:n], y_train=ds.y_train[:n])
    return dataclasses.replace(
        ds, x_test=ds.x_test[: config.cifar_eval], y_test=ds.y_test[: config.cifar_eval]
    )


def _jobs(config: Config) -> list[tuple]:
    """The BNNs to train: (name, description, model, data loader, epochs, batch, lr)."""
    from hamgeo import data, nets

    digits = data.digits()
    widths = "-".join(map(str, config.mlp_widths))
    jobs = [
        (
            "mlp_digits",
            f"BinaryMLP {widths}-10 on digits (64-d input)",
            nets.BinaryMLP(config.mlp_widths, 10),
            lambda: digits,
            config.mlp_epochs,
            config.batch_size,
            config.learning_rate,
        )
    ]
    if config.mnist1d:
        jobs.append(
            (
                "mlp_mnist1d",
                f"BinaryMLP {widths}-10 on MNIST-1D (40-d input)",
                nets.BinaryMLP(config.mlp_widths, 10),
                data.mnist1d,
                config.mlp_epochs,
                config.batch_size,
                config.learning_rate,
            )
        )
    if config.cnn:
        convs = "-".join(f"{c}C3" for c in config.cnn_channels)
        dense = "-".join(f"{w}FC" for w in config.cnn_dense)
        jobs.append(
            (
                "cnn_digits",
                f"BinaryCNN {convs}(MP after each)-{dense}-10 on 8x8 digits",
                nets.BinaryCNN(config.cnn_channels, config.cnn_dense, 10),
                lambda: data.digits(images=True),
                config.cnn_epochs,
                config.batch_size,
                config.learning_rate,
            )
        )
    if config.cifar10_path is not None:
        c = config.cifar_channels
        convs = "-".join(f"{ch}C3" + ("-MP" if i % 2 else "") for i, ch in enumerate(c))
        dense = "-".join(f"{w}FC" for w in config.cifar_dense)
        jobs.append(
            (
                "cnn_cifar10",
                f"BinaryCNN {convs}-{dense}-10 with batch norm on CIFAR-10",
                nets.BinaryCNN(c, config.cifar_dense, 10, pool_every=2),
                lambda: _cifar_data(config),
                config.cifar_epochs,
                config.cifar_batch_size,
                config.cifar_learning_rate,
            )
        )
    return jobs


def run(config: Config, key: jax.Array) -> Result:
    """Run the experiment: Fig. 2 angle distributions, then Fig. 3 on trained BNNs.

    Args:
        config: sizes (:class:`Config`; ``Config.quick()`` for a fast run).
        key: a JAX PRNG key; the same key gives the same result.

    Returns:
        A :class:`Result`.
    """
    k_angles, k_models = jax.random.split(key)
    angles: dict[str, dict[int, Any]] = {d: {} for d in _DISTRIBUTIONS}
    theory: dict[str, dict[int, Any]] = {d: {} for d in _DISTRIBUTIONS}
    for i, dist in enumerate(_DISTRIBUTIONS):
        for dim in progress(config.dims, desc=f"angles ({dist})"):
            k = jax.random.fold_in(jax.random.fold_in(k_angles, i), dim)
            s, p = binarization_angles(k, dim=dim, n=config.n_angles, distribution=dist)
            angles[dist][dim] = (np.asarray(s), np.asarray(p))
            theory[dist][dim] = angle_theory(dim, dist)

    models = []
    jobs = _jobs(config)
    for i, (name, desc, model, load, epochs, bs, lr) in enumerate(progress(jobs, desc="BNNs")):
        models.append(
            _train_and_measure(
                name,
                desc,
                model,
                load(),
                epochs=epochs,
                batch_size=bs,
                lr=lr,
                key=jax.random.fold_in(k_models, i),
                config=config,
            )
        )
    return Result(config, angles, theory, models)


# ----------------------------------------------------------------------------- figures

_RED, _BLUE = "#d62728", "#1f77b4"


def _plot_angles(result: Result, out_dir) -> str:
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
            "Binarization changes a direction little next to a random direction (Fig. 2)",
            y=1.06,
        )
        return save_figure(fig, out_dir, "bnn_geometry_angles")


def _plot_angle_theory(result: Result, out_dir) -> str:
    table = result.angle_table()
    dims = np.array(result.config.dims)
    grid = np.unique(np.geomspace(2, max(dims.max(), 10), 60).astype(int))
    with figure_style() as plt:
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
        for dist, color in (("uniform", _RED), ("gaussian", "darkred")):
            rows = [table[dist][str(d)] for d in dims]
            ax1.errorbar(
                dims,
                [r["sign_mean"] for r in rows],
                yerr=[r["sign_std"] for r in rows],
                fmt="o",
                color=color,
                label=f"w vs bin(w), {dist}",
            )
            th = [angle_theory(int(d), dist) for d in grid if d >= 2]
            ax1.plot(grid, [t.sign_mean for t in th], color=color, lw=1)
            ax1.axhline(th[0].sign_limit, color=color, ls=":", lw=1)
            seen = [(d, r["overlap"]) for d, r in zip(dims, rows, strict=True) if r["overlap"] > 0]
            if seen:
                ax2.semilogy(*zip(*seen, strict=True), "o", color=color, label=f"measured, {dist}")
            ax2.semilogy(grid, [max(t.overlap, 1e-12) for t in th], color=color, lw=1)
        rows = [table["uniform"][str(d)] for d in dims]
        ax1.errorbar(
            dims,
            [r["pair_mean"] for r in rows],
            yerr=[r["pair_std"] for r in rows],
            fmt="s",
            color=_BLUE,
            label="random pairs",
        )
        ax1.set_xscale("log")
        ax1.set_xlabel("dimension")
        ax1.set_ylabel("angle (degrees), mean ± std")
        ax1.legend(frameon=False)
        ax1.set_title("Angles vs theory (lines)")
        ax2.set_ylim(1e-12, 1.5)
        ax2.set_xscale("log")
        ax2.set_xlabel("dimension")
        ax2.set_ylabel("overlap of the two distributions")
        ax2.set_title("Overlap (lines: theory; measured 0 not drawn)")
        if ax2.get_legend_handles_labels()[0]:
            ax2.legend(frameon=False)
        return save_figure(fig, out_dir, "bnn_geometry_angle_theory")


def _plot_dots(model: ModelResult, out_dir, variant: str) -> str:
    layers = model.layers if variant == "dot" else model.layers[1:]
    with figure_style() as plt:
        fig, axes = plt.subplots(1, len(layers), figsize=(2.9 * len(layers), 3.0), squeeze=False)
        for ax, r in zip(axes[0], layers, strict=True):
            if variant == "dot":
                x, y, corr = r.dots_binary, r.dots_continuous, r.dot_corr
            else:
                x, y, corr = r.act_binary, r.act_continuous, r.act_corr
            ax.hist2d(x, y, bins=40, cmap="Blues", cmin=1)
            ax.set_title(f"Layer {r.layer} (d = {r.input_dim})\nr = {corr:.3f}", fontsize=10)
            ax.grid(False)
        if variant == "dot":
            axes[0, 0].set_xlabel(r"$a \cdot w_b$")
            axes[0, 0].set_ylabel(r"$a \cdot w_c$")
            title = "Binarizing the weights preserves dot products (Fig. 3)"
        else:
            axes[0, 0].set_xlabel(r"$w_b \cdot a_b$")
            axes[0, 0].set_ylabel(r"$w_b \cdot a_c$")
            title = "Binarizing the activations preserves dot products"
        fig.suptitle(f"{title}: {model.description}", fontsize=10, y=1.1)
        return save_figure(fig, out_dir, f"bnn_geometry_{variant}_{model.name}")


def _plot_corr_vs_dim(result: Result, out_dir) -> str:
    markers = {"mlp_digits": "o", "mlp_mnist1d": "s", "cnn_digits": "^", "cnn_cifar10": "D"}
    with figure_style() as plt:
        fig, ax = plt.subplots(figsize=(6, 3.8))
        for i, m in enumerate(result.models):
            dims = [r.input_dim for r in m.layers]
            style = {"marker": markers.get(m.name, "o"), "ls": "none", "color": f"C{i}"}
            ax.plot(dims, [r.dot_corr for r in m.layers], ms=7, label=f"{m.name}: a·w_b", **style)
            act = [(r.input_dim, r.act_corr) for r in m.layers if not math.isnan(r.act_corr)]
            if act:
                ax.plot(
                    *zip(*act, strict=True), mfc="none", ms=10, label=f"{m.name}: w_b·a_c", **style
                )
        ax.set_xscale("log")
        ax.set_xlabel("layer input dimension (fan-in)")
        ax.set_ylabel("Pearson correlation")
        ax.set_title("Dot-product preservation grows with dimension")
        ax.legend(frameon=False, fontsize=8)
        return save_figure(fig, out_dir, "bnn_geometry_corr_vs_dim")


def plot(result: Result, out_dir) -> list[str]:
    """Draw the figures: Fig. 2 histograms, angle theory, Fig. 3 per model, corr vs dim.

    Args:
        result: what :func:`run` returned.
        out_dir: the directory for the PNG files.

    Returns:
        The paths of the PNG files.
    """
    paths = [_plot_angles(result, out_dir), _plot_angle_theory(result, out_dir)]
    for m in result.models:
        paths.append(_plot_dots(m, out_dir, "dot"))
    paths.append(_plot_dots(result.models[0], out_dir, "act"))
    paths.append(_plot_corr_vs_dim(result, out_dir))
    return paths
