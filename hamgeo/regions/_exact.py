"""The exact partition of a 2-D slice into convex polygons, one per cell (private).

Polygons are kept flat, as in a CSR matrix: ``xy float64[V, 2]`` vertices, ``poly
int[V]`` the polygon of each vertex (polygons contiguous, vertices counter-clockwise)
and ``label int[V]`` the seam the edge from a vertex to the next one lies on (``-1``:
the window's border). A *seam* is one cut: the segment along which one polygon was
split by one unit's line; every later edge on it keeps its id, so the cells on the
two sides of a boundary are found by matching the edges of each seam (see
``_adjacency``). Every step is a handful of NumPy passes over all vertices.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from hamgeo._checks import check_float, check_not_traced
from hamgeo.codes import PackedCodes
from hamgeo.nets import MLP
from hamgeo.regions._common import (
    Extent,
    Variables,
    as_extent,
    check_mlp_model,
    host_words,
    mlp_layers,
    plane_vectors,
)

__all__ = ["ExactPartition", "exact_slice_partition"]


class ExactPartition(NamedTuple):
    """The cells of a ReLU MLP on the plane ``origin + a u + b v``, as exact polygons.

    Attributes:
        polygons: one ``float64[k, 2]`` array of vertices ``(a, b)`` per cell, in
            plane coordinates, counter-clockwise, convex.
        codes: ``PackedCodes [n_cells]``: the activation code of each polygon (the
            code of every point of its interior); all distinct.
        areas: ``float64[n_cells]`` areas in plane coordinates; they sum to the
            window's area.
        adjacency: ``int32[m, 2]`` pairs ``i < j`` of polygons that share an edge of
            positive length across which exactly one unit changes sign.
        adjacency_units: ``int32[m]``: that unit (its bit index in the codes).
        adjacency_lengths: ``float64[m]``: the length of the shared edge.
        n_cells: the number of polygons (cells met by the window).
        extent: ``(a_min, a_max, b_min, b_max)``, the window.
    """

    polygons: list[np.ndarray]
    codes: PackedCodes
    areas: np.ndarray
    adjacency: np.ndarray
    adjacency_units: np.ndarray
    adjacency_lengths: np.ndarray
    n_cells: int
    extent: tuple[float, float, float, float]


class _Polygons(NamedTuple):
    """Flat polygons (see the module docstring) and the seams cut so far."""

    xy: np.ndarray  # float64[V, 2]
    poly: np.ndarray  # int64[V], non-decreasing
    label: np.ndarray  # int64[V], seam id or -1
    n: int  # number of polygons
    seam_unit: list[np.ndarray]  # per batch of seams: the unit's bit index
    seam_dir: list[np.ndarray]  # per batch of seams: unit tangent [k, 2]


def _next_vertex(poly: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Index of each vertex's successor (cyclic within its polygon), and vertex counts."""
    counts = np.bincount(poly, minlength=n)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    nxt = np.arange(1, poly.size + 1)
    nxt[starts + counts - 1] = starts
    return nxt, counts


def _emit(keep_v, keep_i, xy, ipt, lab_v, lab_i, pid):
    """Vertices then edge crossings, interleaved in boundary order, where kept."""
    m = np.stack([keep_v, keep_i], axis=1).ravel()
    pts = np.stack([xy, ipt], axis=1).reshape(-1, 2)[m]
    lab = np.stack([lab_v, lab_i], axis=1).ravel()[m]
    return pts, lab, np.repeat(pid, 2)[m]


def _cut(
    p: _Polygons, z: np.ndarray, unit: int, tol: float
) -> tuple[_Polygons, np.ndarray, np.ndarray]:
    """Split every polygon that the line ``z[:, 0] a + z[:, 1] b + z[:, 2] = 0`` crosses.

    ``z [n, 3]`` is the unit's pre-activation, affine on each polygon. Vertices within
    ``tol`` (distance) of the line count as on it; a polygon is split only if it has
    vertices beyond ``tol`` on both sides, so both parts have positive area. The part
    where the unit is on keeps the polygon's id, the other gets a new id.

    Returns:
        ``(polygons, bit, parent)``: the unit's bit for every polygon (new ones
        included) and, for the new polygons, the id they were split from.
    """
    xy, poly, label, n = p.xy, p.poly, p.label, p.n
    grad = np.hypot(z[:, 0], z[:, 1])
    val = xy[:, 0] * z[poly, 0] + xy[:, 1] * z[poly, 1] + z[poly, 2]
    s = val / np.where(grad > 0, grad, 1.0)[poly]  # signed distance to the line
    pos, neg = s > tol, s < -tol
    n_pos = np.bincount(poly, pos, minlength=n)
    n_neg = np.bincount(poly, neg, minlength=n)
    cut = (n_pos > 0) & (n_neg > 0)
    bit = n_pos > 0
    flat = (n_pos == 0) & (n_neg == 0)  # thinner than tol around the line: its centre decides
    if flat.any():
        counts = np.bincount(poly, minlength=n)
        bit[flat] = (np.bincount(poly, s, minlength=n) / counts)[flat] > 0
    if not cut.any():
        return p, bit, np.zeros(0, np.int64)
    nxt, _ = _next_vertex(poly, n)
    cv = cut[poly]
    pos_n, neg_n, s_n = pos[nxt], neg[nxt], s[nxt]
    cross = cv & ((pos & neg_n) | (neg & pos_n))
    frac = np.where(cross, s / np.where(cross, s - s_n, 1.0), 0.0)
    ipt = xy + frac[:, None] * (xy[nxt] - xy)
    on = ~pos & ~neg
    rank = np.cumsum(cut) - 1
    n_cut = int(rank[-1]) + 1
    seam_base = sum(u.size for u in p.seam_unit)
    seam = np.where(cv, seam_base + rank[poly], -1)
    # The part on the positive side keeps its id; the edge leaving the last point on
    # the line before the negative run is the cut (and symmetrically for the other).
    a = _emit(
        ~cv | ~neg,
        cross,
        xy,
        ipt,
        np.where(cv & on & neg_n, seam, label),
        np.where(neg_n, seam, label),
        poly,
    )
    b = _emit(
        cv & ~pos,
        cross,
        xy,
        ipt,
        np.where(on & pos_n, seam, label),
        np.where(pos_n, seam, label),
        n + rank[poly],
    )
    parents = np.nonzero(cut)[0]
    zc = z[parents]
    g = grad[parents][:, None]
    out = _Polygons(
        np.concatenate([a[0], b[0]]),
        np.concatenate([a[2], b[2]]),
        np.concatenate([a[1], b[1]]),
        n + n_cut,
        [*p.seam_unit, np.full(n_cut, unit, np.int64)],
        [*p.seam_dir, np.concatenate([-zc[:, 1:2], zc[:, 0:1]], axis=1) / g],
    )
    bit = np.concatenate([bit, np.zeros(n_cut, bool)])
    bit[parents] = True
    return out, bit, parents


def _partition(layers, plane: np.ndarray, tol: float) -> tuple[_Polygons, np.ndarray]:
    """Split the square ``[-1, 1]^2`` layer by layer, unit by unit.

    ``plane [3, d]``: the input as an affine map of ``(a, b, 1)``. Per polygon the
    current layer's input stays an affine map ``[3, n_in]`` (ReLU with the
    polygon's on/off pattern of the layer before); the layer's pre-activations are
    then affine on the polygon and every unit's zero set is a line there.
    """
    p = _Polygons(
        np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]]),
        np.zeros(4, np.int64),
        np.full(4, -1, np.int64),
        1,
        [],
        [],
    )
    affine = plane[None]  # [n, 3, n_in]
    bits = np.zeros((1, 0), bool)
    offset = 0
    for w, b in layers:
        z = affine @ w  # [n, 3, n_out] for the polygons at the layer's start
        z[:, 2, :] += b
        if not np.all(np.isfinite(z)):
            raise ValueError(
                "`extent` makes a window whose pre-activations overflow float64 (with these "
                "`origin`, `u`, `v`); use a smaller window"
            )
        src = np.arange(p.n)  # the polygon at the layer's start each polygon lies in
        layer_bits = np.zeros((p.n, w.shape[1]), bool)
        for j in range(w.shape[1]):
            p, bit, parents = _cut(p, z[src, :, j], offset + j, tol)
            if parents.size:
                src = np.concatenate([src, src[parents]])
                layer_bits = np.concatenate([layer_bits, layer_bits[parents]])
            layer_bits[:, j] = bit
        bits = np.concatenate([bits[src], layer_bits], axis=1)
        affine = z[src] * layer_bits[:, None, :]
        offset += w.shape[1]
    return p, bits


def _adjacency(
    p: _Polygons, bits: np.ndarray, tol: float, scale: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of polygons sharing a stretch of positive length of some seam.

    The edges on one seam lie on one segment, and those of the polygons on each
    side of it tile that segment. Sorting the edges of every seam by where they
    start and carrying forward the last edge seen on each side gives, for every
    stretch between two consecutive starts, the polygon on either side.

    Returns:
        ``(pairs int64[k, 2], unit int64[k], length float64[k])``, one row per
        stretch (pairs may repeat); lengths in plane coordinates (the square's
        stretched by ``scale``, the window's half-widths).
    """
    if not p.seam_unit:
        return np.zeros((0, 2), np.int64), np.zeros(0, np.int64), np.zeros(0)
    seam_unit = np.concatenate(p.seam_unit)
    seam_dir = np.concatenate(p.seam_dir)
    nxt, _ = _next_vertex(p.poly, p.n)
    e = np.nonzero(p.label >= 0)[0]
    seam = p.label[e]
    t0 = np.einsum("ij,ij->i", p.xy[e], seam_dir[seam])
    t1 = np.einsum("ij,ij->i", p.xy[nxt[e]], seam_dir[seam])
    lo, hi = np.minimum(t0, t1), np.maximum(t0, t1)
    side = bits[p.poly[e], seam_unit[seam]]
    order = np.lexsort((lo, seam))
    seam, lo, hi, side, owner = seam[order], lo[order], hi[order], side[order], p.poly[e][order]
    idx = np.arange(seam.size)
    cur_on = np.maximum.accumulate(np.where(side, idx, -1))
    cur_off = np.maximum.accumulate(np.where(side, -1, idx))
    ok = (cur_on >= 0) & (cur_off >= 0)
    cur_on, cur_off = np.maximum(cur_on, 0), np.maximum(cur_off, 0)
    ok &= (seam[cur_on] == seam) & (seam[cur_off] == seam)
    end = np.minimum(hi[cur_on], hi[cur_off])
    same_next = np.zeros(seam.size, bool)
    same_next[:-1] = seam[1:] == seam[:-1]
    end[:-1] = np.where(same_next[:-1], np.minimum(end[:-1], lo[1:]), end[:-1])
    length = end - lo
    ok &= length > tol
    pairs = np.stack([owner[cur_on], owner[cur_off]], axis=1)[ok]
    stretch = np.hypot(*(seam_dir[seam[ok]] * scale).T)
    return pairs, seam_unit[seam[ok]], length[ok] * stretch


#: Smallest ``tol``: below it, float64 rounding of vertices in the normalized window
#: (about ``1e-16``) would split cells into slivers that do not exist.
MIN_TOL = 1e-13
# A first-layer vertex is "distinct" from another when their distance exceeds this many
# float64 roundings of the vertices (concurrent lines stay one vertex).
_NOISE = 64.0


def _times_exp2(x: np.ndarray, e: np.ndarray) -> np.ndarray:
    """``x * 2**e`` without intermediate overflow or underflow (``ldexp`` of the integer part)."""
    k = np.floor(e)
    return np.ldexp(x * np.exp2(e - k), k.astype(np.int64))


def _normalized_layers(layers: list[tuple[np.ndarray, np.ndarray]]) -> list:
    """The same cells from weights scaled per unit to max ``|w|, |b|`` = 1 (no overflow).

    ReLU is positively homogeneous: dividing unit ``j`` by ``s_j > 0`` changes no sign,
    and multiplying the next layer's row ``j`` by ``s_j`` keeps its pre-activations. The
    scales are carried as ``log2`` so that weights near 1e300 (or 1e-300) neither
    overflow nor vanish: the cells of a net and of the net times ``c > 0`` agree.
    """
    out = []
    log_s = None  # log2 of the previous layer's per-unit scales
    for w, b in layers:
        if log_s is not None:
            top = float(log_s.max())
            w = _times_exp2(w, (log_s - top)[:, None])
            b = _times_exp2(b, np.full(b.shape, -top))
        m = np.maximum(np.abs(w).max(axis=0), np.abs(b))
        m = np.where(m > 0, m, 1.0)  # a zero unit stays zero (never on)
        out.append((w / m, b / m))
        log_s = (0.0 if log_s is None else float(log_s.max())) + np.log2(m)
    return out


def _merged_vertices(
    w: np.ndarray, b: np.ndarray, plane: np.ndarray, tol: float, max_units: int = 64
) -> int:
    """Pairs of first-layer vertices closer than ``tol`` but distinct (a merge), counted.

    In the normalized window ``[-1, 1]^2`` the first layer's lines are exact; two of
    their intersection points that lie within ``tol`` of each other without being the
    same point (further apart than float64 rounding of each) are cells that ``tol``
    merges. The check takes the first ``max_units`` units (bounded work).
    """
    from scipy.spatial import cKDTree

    z = plane @ w[:, :max_units]
    z[2] += b[:max_units]
    a, c = z[:2].T, z[2]  # line j: a_j . p + c_j = 0
    norm = np.hypot(a[:, 0], a[:, 1])
    live = norm > 0
    a, c = a[live] / norm[live, None], c[live] / norm[live]
    i, j = np.triu_indices(a.shape[0], 1)
    det = a[i, 0] * a[j, 1] - a[i, 1] * a[j, 0]
    ok = np.abs(det) > 1e-12
    i, j, det = i[ok], j[ok], det[ok]
    px = (-c[i] * a[j, 1] + c[j] * a[i, 1]) / det
    py = (-a[i, 0] * c[j] + a[j, 0] * c[i]) / det
    inside = (np.abs(px) <= 1.0 + tol) & (np.abs(py) <= 1.0 + tol)
    pts = np.stack([px, py], axis=1)[inside]
    scale = (np.abs(c[i]) + np.abs(c[j]) + np.hypot(px, py))[inside]
    noise = _NOISE * np.finfo(np.float64).eps * scale / np.abs(det[inside])
    if pts.shape[0] < 2:
        return 0
    pairs = cKDTree(pts).query_pairs(tol, output_type="ndarray")
    if pairs.size == 0:
        return 0
    dist = np.hypot(*(pts[pairs[:, 0]] - pts[pairs[:, 1]]).T)
    return int(np.sum(dist > noise[pairs[:, 0]] + noise[pairs[:, 1]]))


def exact_slice_partition(
    model: MLP | None,
    variables: Variables,
    origin: ArrayLike,
    u: ArrayLike,
    v: ArrayLike,
    *,
    extent: Extent = 1.0,
    tol: float = 1e-10,
) -> ExactPartition:
    """The exact partition of a 2-D slice of the input space into the cells of a ReLU MLP.

    The window ``{origin + a u + b v}`` (``a``, ``b`` in ``extent``, the same closed
    window as [`slice_partition`][hamgeo.regions.slice_partition]'s) starts as one polygon. Layer
    by layer,
    each polygon carries the affine map from ``(a, b)`` to the layer's input, so
    each unit's pre-activation is affine on it and its zero set a line; the units
    split the polygons one after the other (Sutherland-Hodgman clipping, all
    polygons at once with NumPy), and ReLU with the part's on/off pattern gives
    the next layer's maps. The way SplineCam computes exact partitions
    ([SplineCam], see ``docs/references.md``); the picture of the discriminability
    paper's Fig. 1 ([Discriminability]) without sampling: no cell is missed however
    thin, unlike the raster [`slice_partition`][hamgeo.regions.slice_partition].

    Each cell of a ReLU net is convex (given its code every pre-activation is
    affine, so the cell is an intersection of half-spaces), so its trace on the
    window is one convex polygon, and the polygons have distinct codes by
    construction (a split gives its two parts different bits of the splitting
    unit): ``n_cells`` is both the number of polygons and of distinct codes.

    Tolerances: the window is mapped to ``[-1, 1]^2``; there, a vertex within
    ``tol`` of a unit's line counts as on it, so a polygon is split only when it
    reaches beyond ``tol`` on both sides. Parts thinner than ``tol`` are never
    created, lines through a vertex within ``tol`` pass through it, and shared
    edges shorter than ``tol`` are not adjacencies. All in float64.

    Precision: each unit's weights are rescaled to unit size first (ReLU is positively
    homogeneous), so a net and the same net times ``c > 0`` give the same cells, even
    at ``c = 1e300``. A window so large that the cells near its centre are thinner than
    ``tol`` times its width would merge them: when two distinct vertices of the first
    layer's lines fall within ``tol`` of each other, a ``RuntimeWarning`` names
    ``extent`` and ``tol``. A window whose area or corners overflow float64 is refused.

    Host-only: NumPy in float64; traced arguments raise hamgeo's ``TypeError``.

    Args:
        model: a ReLU MLP (``hamgeo.nets.MLP``) or ``None``; only ``variables`` are
            read. (Other models, e.g. CNNs with max-pooling, are not supported:
            use the raster [`slice_partition`][hamgeo.regions.slice_partition].)
        variables: its variables, dense hidden layers ``hidden_0, ...``.
        origin: a point of the input space (``[d]`` or the model's example shape).
        u: first direction, same shape.
        v: second direction, same shape.
        extent: half-width ``e`` (the square ``[-e, e]^2``) or ``(a_min, a_max, b_min, b_max)``.
        tol: the tolerance above, relative to the window's half-widths, in
            ``[1e-13, 1e-3]`` (below ``1e-13`` float64 rounding makes slivers).

    Returns:
        An [`ExactPartition`][hamgeo.regions.ExactPartition].

    Raises:
        TypeError: a model other than an MLP, or non-numeric arguments.
        ValueError: shapes that do not match the net, non-finite points, a bad
            ``extent`` (or one whose window overflows float64) or ``tol``.

    Warns:
        RuntimeWarning: ``tol`` merges distinct cells at this ``extent``.

    Examples:
        >>> import numpy as np
        >>> # three lines in general position cut the square into 1 + 3 + 3 = 7 cells
        >>> w = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
        >>> params = {"hidden_0": {"kernel": w, "bias": np.array([0.1, -0.2, 0.3])}}
        >>> part = exact_slice_partition(None, {"params": params}, np.zeros(2),
        ...                              np.array([1.0, 0.0]), np.array([0.0, 1.0]))
        >>> part.n_cells, float(part.areas.sum()), part.adjacency.shape
        (7, 4.0, (9, 2))
    """
    check_not_traced("exact_slice_partition", origin, u, v)
    check_mlp_model(model)
    layers = _normalized_layers(mlp_layers(variables, np.float64))
    o, uu, vv = (t.reshape(-1) for t in plane_vectors(origin, u, v))
    d_in = layers[0][0].shape[0]
    if o.size != d_in:
        raise ValueError(f"`origin` must have {d_in} values (the net's input), got {o.size}")
    ext = as_extent(extent)
    tol = check_float(tol, "tol", minimum=MIN_TOL, maximum=1e-3)
    ca, cb = (ext[0] + ext[1]) / 2, (ext[2] + ext[3]) / 2
    ha, hb = ext[1] / 2 - ext[0] / 2, ext[3] / 2 - ext[2] / 2
    with np.errstate(over="ignore", invalid="ignore"):
        plane = np.stack([ha * uu, hb * vv, o + ca * uu + cb * vv])
        fits = np.isfinite(4.0 * ha * hb) and np.all(np.isfinite(plane))
        if fits:
            p, bits = _partition(layers, plane, tol)
            fits = np.all(np.isfinite(p.xy))
    if not fits:
        raise ValueError(
            f"`extent` {ext} makes a window whose area or points overflow float64 (with "
            "these `origin`, `u`, `v`); use a smaller window"
        )
    merged = _merged_vertices(layers[0][0], layers[0][1], plane, tol)
    if merged:
        warnings.warn(
            f"exact_slice_partition: {merged} pairs of distinct vertices lie within `tol` = "
            f"{tol} (relative to the window) of each other at `extent` = {extent!r}: cells "
            "thinner than that were merged; use a smaller `extent` (or a smaller `tol`)",
            RuntimeWarning,
            stacklevel=2,
        )
    # back to plane coordinates
    xy = p.xy * np.array([ha, hb]) + np.array([ca, cb])
    nxt, counts = _next_vertex(p.poly, p.n)
    cross = p.xy[:, 0] * p.xy[nxt, 1] - p.xy[nxt, 0] * p.xy[:, 1]
    areas = np.bincount(p.poly, cross, minlength=p.n) * (ha * hb / 2)
    polygons = np.split(xy, np.cumsum(counts)[:-1])
    pairs, units, length = _adjacency(p, bits, tol, np.array([ha, hb]))
    flips = (bits[pairs[:, 0]] != bits[pairs[:, 1]]).sum(axis=1)
    keep = flips == 1  # boundaries where several units flip at once are no adjacency
    pairs, units, length = np.sort(pairs[keep], axis=1), units[keep], length[keep]
    _, first, inverse = np.unique(
        pairs[:, 0] * p.n + pairs[:, 1], return_index=True, return_inverse=True
    )
    total = np.bincount(inverse.ravel(), length, minlength=first.size)
    return ExactPartition(
        polygons=polygons,
        codes=PackedCodes(jnp.asarray(host_words(bits)), bits.shape[1]),
        areas=areas,
        adjacency=pairs[first].astype(np.int32).reshape(-1, 2),
        adjacency_units=units[first].astype(np.int32),
        adjacency_lengths=total,
        n_cells=int(p.n),
        extent=ext,
    )
