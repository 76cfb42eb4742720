"""Cell distances along the diagonal probe and the paper's Fig. 1 on a trained net.

Private to :mod:`hamgeo.experiments.discriminability` (issue 8, part 5): for 2-D inputs the
Hamming distance ``d_H`` between the code of the start corner and the code of each probe point
is set next to the exact tessellation distance ``d_T`` (fewest cell boundaries crossed), the
boundary crossings on the straight segment (an upper bound on ``d_T``) and the facet-aware
Hamming distance (flips of units whose hyperplanes bound one of the two cells). The chain
``facet_aware <= d_H <= d_T <= crossings`` holds; ``d_H < d_T`` is the paper's Fig. 1 effect.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

__all__ = ["cell_curves", "cell_stats", "figure_fig1"]


def _endpoints(shifts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start corner ``[T, 2]`` (repeated) and probe points ``[T, 2]`` on the 2-D diagonal."""
    from hamgeo.data import diagonal_probe

    ends = np.asarray(diagonal_probe(jnp.asarray(shifts), dim=2), dtype=np.float64)[:, 0, :]
    starts = np.repeat(ends[:1], len(shifts), axis=0)
    return starts, ends


def cell_curves(model, variables, shifts: np.ndarray, *, resolution: int) -> dict[str, np.ndarray]:
    """``{hamming, tessellation, crossings, facet_aware}``: each ``int64[T]`` from the start.

    ``resolution`` is the number of traced lines per direction of the cell graph behind d_T.
    """
    from hamgeo.hamming import pairwise_hamming
    from hamgeo.nets import activation_codes
    from hamgeo.regions import crossing_distance, tessellation_distance

    starts, ends = _endpoints(shifts)
    codes = activation_codes(model, variables, jnp.asarray(ends, dtype=jnp.float32))
    d_h = np.asarray(pairwise_hamming(codes[:1], codes))[0].astype(np.int64)
    d_t = tessellation_distance(model, variables, starts, ends, resolution=resolution)
    cross = crossing_distance(model, variables, starts, ends)
    facet = _facet_aware(model, variables, ends, codes)
    return {
        "hamming": d_h,
        "tessellation": np.asarray(d_t, np.int64),
        "crossings": np.asarray(cross, np.int64),
        "facet_aware": facet,
    }


def _facet_aware(model, variables, ends: np.ndarray, codes) -> np.ndarray:
    """:func:`hamgeo.regions.facet_hamming` from ``ends[0]`` (the start) to each of ``ends``.

    The same count (flipped units that bound the start cell or the end cell), with one facet
    linear program per distinct cell instead of two per pair: the probe meets the start cell
    ``T`` times and some cells more than once.
    """
    from hamgeo.regions import cell_facets

    bits = np.asarray(codes.unpack(), dtype=bool)  # [T, units]; codes[0] is the start cell
    _, first, inverse = np.unique(bits, axis=0, return_index=True, return_inverse=True)
    facets = np.asarray(cell_facets(model, variables, ends[first]), dtype=bool)[inverse.ravel()]
    flipped = bits != bits[:1]
    return (flipped & (facets | facets[:1])).sum(axis=1).astype(np.int64)


def cell_stats(cells: dict[str, np.ndarray], suffix: str) -> dict[str, Any]:
    """``mean_dH_over_dT`` and ``frac_dH_lt_dT`` over probe points outside the start cell.

    Points whose d_T is unknown (``-1``: the cell graph did not connect them) are left out.
    """
    d_h = np.asarray(cells["hamming"], dtype=np.float64)
    d_t = np.asarray(cells["tessellation"], dtype=np.float64)
    away = d_t > 0
    if not away.any():
        return {f"mean_dH_over_dT_{suffix}": None, f"frac_dH_lt_dT_{suffix}": None}
    return {
        f"mean_dH_over_dT_{suffix}": float(np.mean(d_h[away] / d_t[away])),
        f"frac_dH_lt_dT_{suffix}": float(np.mean(d_h[away] < d_t[away])),
    }


def figure_fig1(result, plt) -> Any:
    """The paper's Fig. 1 on the first depth's net: a pair of cells with ``d_H < d_T``.

    Left: the net's cells around the start corner and the probe point whose ``d_T - d_H`` is
    largest, the two cells filled, the straight segment, and the zero sets of the units that
    the segment crosses and crosses back (their bit is equal at both ends, yet each costs two
    boundaries). Right: ``d_H`` against ``d_T`` for every probe point of every depth. ``None``
    when no net has cell curves.
    """
    from hamgeo.nets import activation_codes, preactivations
    from hamgeo.regions import line_regions, plot_partition, slice_partition

    cfg = result.config
    depths = [d for d in cfg.depths if result.nets[result.depth_nets[d]].cells]
    if not depths:
        return None
    # the closest probe point with d_H < d_T over all depths (a local, readable picture);
    # without one, the closest whose straight segment crosses more boundaries than d_H
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
    _, _, depth, k = best
    name = result.depth_nets[depth]
    cells = result.nets[name].cells
    model, variables = result.data["trained"][name]
    starts, ends = _endpoints(result.shifts)
    x, y = starts[k], ends[k]
    lo = np.minimum(x, y) - 0.15
    hi = np.maximum(x, y) + 0.15
    extent = (lo[0], hi[0], lo[1], hi[1])
    res = cfg.grid_resolution
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
        f"{depth} x {cfg.width} net: $d_H$ = {cells['hamming'][k]}, "
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
    ax.set_xlabel("$d_T$: fewest boundaries crossed (exact, 2-D)")
    ax.set_ylabel("$d_H$: Hamming distance of the codes")
    ax.set_title("Probe points vs the start corner: $d_H \\leq d_T$")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
