"""The tessellation of a ReLU net: cells, exact line regions, facets, d_H <= d_T <= crossings.

Run: ``python examples/07_tessellation.py [--out DIR]`` (about a minute on 2 cores).
Trains a 3 x 16 ReLU MLP on the discriminability paper's Gaussian grid (2-D), then:

1. draws the cells met on the input square (``slice_partition`` / ``plot_partition``);
2. finds every cell a segment crosses, exactly (``line_regions``), and checks it
   against 10^5 samples;
3. finds the units whose hyperplanes bound one cell (``cell_facets``);
4. measures d_H, the tessellation distance d_T (exact, and its traced upper bound)
   and the crossings of the straight segment on random pairs, checks the chain
   d_H <= d_T <= d_T(traced) <= crossings, and shows the paper's Fig. 1 effect: a
   flipped unit whose hyperplane does not touch the cell;
5. cuts the square exactly into the net's cells (``exact_slice_partition``) and
   marks the cells the 512^2 raster misses.

Figures: ``cells_partition.png``, ``cells_facets.png``, ``cells_chain.png``,
``cells_fig1.png``, ``cells_exact.png`` in ``--out`` (default ``results/examples``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jax
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402

import hamgeo  # noqa: E402
from hamgeo import data, nets, regions  # noqa: E402


def bits_of(variables, x):
    """Codes of the points ``x [n, 2]`` as bool, through the MLP's own layers."""
    h, out = np.asarray(x, np.float64), []
    for w, b in regions.mlp_layers(variables):
        z = h @ w + b
        out.append(z > 0)
        h = np.maximum(z, 0)
    return np.concatenate(out, axis=1)


def unit_zero_set(ax, variables, extent, unit, res=400, **kw):
    """Draw where one unit's pre-activation is zero (its bent hyperplane)."""
    a = np.linspace(extent[0], extent[1], res)
    b = np.linspace(extent[2], extent[3], res)
    pts = np.stack(np.meshgrid(a, b), -1).reshape(-1, 2)
    h, zs = pts, []
    for w, bias in regions.mlp_layers(variables):
        z = h @ w + bias
        zs.append(z)
        h = np.maximum(z, 0)
    z = np.concatenate(zs, axis=1)[:, unit].reshape(res, res)
    ax.contour(a, b, z, levels=[0.0], **kw)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/examples")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    key_data, key_init, key_train = jax.random.split(jax.random.key(0), 3)
    rng = np.random.default_rng(0)

    ds = data.gaussian_grid(key=key_data, n_per_gaussian=100)
    model = nets.MLP((16, 16, 16), 5)
    variables = model.init(key_init, ds.x_train[:1])
    variables = nets.train(
        model,
        ds,
        epochs=30,
        batch_size=128,
        learning_rate=3e-3,
        key=key_train,
        variables=variables,
    ).variables
    print(f"test accuracy {float(nets.accuracy(model, variables, ds.x_test, ds.y_test)):.3f}")

    # 1. cells on the input square, boundaries drawn
    extent = (-0.25, 1.25, -0.25, 1.25)
    part = hamgeo.slice_partition(
        model, variables, np.zeros(2), np.eye(2)[0], np.eye(2)[1], extent=extent, resolution=512
    )
    print(f"{part.n_cells} cells met on the square at 512^2")

    # 2. exact line regions of one segment, checked against dense sampling
    x0, x1 = np.array([0.0, 0.1]), np.array([1.0, 0.9])
    lr = hamgeo.line_regions(model, variables, x0, x1)
    t = (np.arange(100_000) + 0.5) / 100_000
    sample = bits_of(variables, x0 + t[:, None] * (x1 - x0))
    met = len(np.unique(sample, axis=0))
    print(
        f"segment crosses {lr.breakpoints.size} boundaries, {lr.codes.shape[0]} pieces; "
        f"10^5 samples meet {met} distinct cells"
    )

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    hamgeo.plot_partition(part, ax=ax)
    pts = x0 + lr.breakpoints[:, None] * (x1 - x0)
    ax.plot([x0[0], x1[0]], [x0[1], x1[1]], color="white", lw=1.5)
    ax.plot(pts[:, 0], pts[:, 1], "o", ms=3, color="red")
    ax.set_title(f"{part.n_cells} cells; a segment and its {lr.breakpoints.size} crossings")
    fig.savefig(out / "cells_partition.png", dpi=110, bbox_inches="tight")
    plt.close(fig)

    # 3. the facets of one cell
    x = np.array([0.5, 0.5])
    facets = hamgeo.cell_facets(model, variables, x)
    code = bits_of(variables, x[None])[0]
    print(f"the cell of {x.tolist()} has {int(facets.sum())} facets among {code.size} units")
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    own = (np.asarray(part.codes.unpack()) == code).all(axis=1)
    ax.imshow(own[part.ids], origin="lower", extent=extent, cmap="Greys", alpha=0.5)
    for unit in np.nonzero(facets)[0]:
        unit_zero_set(ax, variables, extent, unit, colors="tab:red", linewidths=1)
    for unit in np.nonzero(~facets)[0]:
        unit_zero_set(ax, variables, extent, unit, colors="tab:blue", linewidths=0.4)
    ax.plot(*x, "k*", ms=8)
    ax.set_title("cell of x (grey); facet units red, others blue")
    fig.savefig(out / "cells_facets.png", dpi=110, bbox_inches="tight")
    plt.close(fig)

    # 4. the chain d_H <= d_T <= crossings on random pairs, and the Fig. 1 effect
    xs = rng.uniform(0, 1, size=(120, 2))
    ys = rng.uniform(0, 1, size=(120, 2))
    dh = (bits_of(variables, xs) != bits_of(variables, ys)).sum(axis=1)
    dt = hamgeo.tessellation_distance(model, variables, xs, ys, extent=extent)
    traced = hamgeo.tessellation_distance(
        model, variables, xs, ys, extent=extent, resolution=256, exact=False
    )
    cr = hamgeo.crossing_distance(model, variables, xs, ys)
    assert np.all(dh <= dt) and np.all(dt <= traced) and np.all(traced <= cr), "the chain"
    print(
        f"pairs: d_H < d_T in {np.mean(dh < dt):.0%}, d_T < crossings in {np.mean(dt < cr):.0%}; "
        f"mean d_H / d_T = {np.mean(dh[dt > 0] / dt[dt > 0]):.3f}; the traced d_T (256 lines) "
        f"is above the exact one for {np.mean(traced > dt):.0%}"
    )
    fig, ax = plt.subplots(figsize=(4.5, 3.5))
    e = np.linalg.norm(xs - ys, axis=1)
    ax.scatter(e, cr, s=40, label="crossings (segment)", color="0.6")
    ax.scatter(e, dt, s=16, label="$d_T$ (cell graph)", color="tab:blue")
    ax.scatter(e, dh, s=4, label="$d_H$ (codes)", color="tab:red")
    ax.set_title("nested markers; a bare ring or dot marks a gap")
    ax.set_xlabel("Euclidean distance")
    ax.set_ylabel("distance between cells")
    ax.legend(frameon=False)
    fig.savefig(out / "cells_chain.png", dpi=110, bbox_inches="tight")
    plt.close(fig)

    # Fig. 1: pairs whose flipped units' hyperplanes do not touch the cell of x
    # the pair with the largest gap d_T - d_H (ties: the largest d_H)
    k = int(np.argmax((dt - dh) * 1000 + dh))
    fh = hamgeo.facet_hamming(model, variables, xs[k : k + 1], ys[k : k + 1])[0]
    flipped = np.nonzero(
        bits_of(variables, xs[k : k + 1])[0] != bits_of(variables, ys[k : k + 1])[0]
    )[0]
    fx = hamgeo.cell_facets(model, variables, xs[k])
    print(
        f"pair {k}: d_H = {dh[k]}, d_T = {dt[k]}, crossings = {cr[k]}, facet-aware = {fh}; "
        f"flipped units not bounding the cell of x: {[int(u) for u in flipped if not fx[u]]}"
    )
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    hamgeo.plot_partition(part, ax=ax, boundary_color="0.3")
    for unit in flipped:
        unit_zero_set(
            ax, variables, extent, unit, linewidths=2, colors="tab:red" if fx[unit] else "black"
        )
    ax.plot(*xs[k], "w*", ms=10, mec="k")
    ax.plot(*ys[k], "wo", ms=7, mec="k")
    ax.set_title(f"$d_H$={dh[k]}, $d_T$={dt[k]}: black = flipped, not touching [x]")
    fig.savefig(out / "cells_fig1.png", dpi=110, bbox_inches="tight")
    plt.close(fig)

    # 5. the exact partition of the square, and the cells the raster misses
    plane = (np.zeros(2), np.eye(2)[0], np.eye(2)[1])
    exact = hamgeo.exact_slice_partition(model, variables, *plane, extent=extent)
    seen = {c.tobytes() for c in np.asarray(part.codes.words)}
    missed = np.array([c.tobytes() not in seen for c in np.asarray(exact.codes.words)])
    print(
        f"exact partition: {exact.n_cells} cells, {exact.adjacency.shape[0]} shared edges, "
        f"areas sum to {exact.areas.sum():.12f}; the 512^2 raster meets "
        f"{part.n_cells} and misses {int(missed.sum())} (smallest missed area "
        f"{exact.areas[missed].min() if missed.any() else 0:.1e})"
    )
    figure_exact(exact, missed, out / "cells_exact.png")
    print(f"figures in {out}")


def figure_exact(exact, missed, path: Path) -> None:
    """The exact cells (coloured polygons, edges drawn) and a zoom on cells a raster misses."""
    fig, axes = plt.subplots(1, 2, figsize=(9.0, 4.4), constrained_layout=True)
    regions.plot_partition(exact, ax=axes[0], linewidth=0.25)
    axes[0].set_title(f"exact partition: {exact.n_cells} cells, {int(missed.sum())} missed by 512²")
    # zoom: a window around the missed cell with the most missed neighbours nearby
    ax = axes[1]
    centres = np.stack([p.mean(axis=0) for p in exact.polygons])
    if missed.any():
        k = np.flatnonzero(missed)
        near = [(np.linalg.norm(centres[k] - centres[i], axis=1) < 0.08).sum() for i in k]
        c = centres[k[int(np.argmax(near))]]
    else:
        c = centres[int(np.argmin(exact.areas))]
    half = 0.06
    shades = plt.get_cmap("Blues")(np.random.default_rng(1).uniform(0.05, 0.35, exact.n_cells))
    ax.add_collection(
        PolyCollection(exact.polygons, facecolors=shades, edgecolors="black", linewidths=0.5)
    )
    gone = np.flatnonzero(missed)
    ax.add_collection(
        PolyCollection(
            [exact.polygons[i] for i in gone],
            facecolors="tab:red",
            edgecolors="tab:red",
            linewidths=0.8,
        )
    )
    # rings, so that cells too thin to see still show
    ax.plot(*centres[gone].T, "o", ms=9, mfc="none", mec="tab:red", mew=1.2)
    ax.set_xlim(c[0] - half, c[0] + half)
    ax.set_ylim(c[1] - half, c[1] + half)
    ax.set_title("zoom: cells the 512² raster misses (red rings)")
    axes[0].plot(*centres[gone].T, "o", ms=6, mfc="none", mec="red", mew=1.0)
    for a in axes:
        a.set_aspect("equal")
        a.set_xlabel("$x_1$")
    axes[0].set_ylabel("$x_2$")
    axes[0].add_patch(
        plt.Rectangle((c[0] - half, c[1] - half), 2 * half, 2 * half, fill=False, lw=1.2)
    )
    fig.savefig(path, dpi=200)
    plt.close(fig)


if __name__ == "__main__":
    main()
