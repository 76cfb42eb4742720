"""Facets of cells (linear programs), cell adjacency on a plane, d_T (private)."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax.numpy as jnp
import numpy as np
from scipy.optimize import linprog

from hamgeo._lines import (
    _popcount_rows,
    _segment_points,
    check_mlp_model,
    line_regions,
    mlp_layers,
)
from hamgeo._slices import _as_extent, _plane_vectors
from hamgeo._unique import host_unique_ids
from hamgeo.codes import PackedCodes

__all__ = [
    "CellGraph",
    "affine_forms",
    "cell_facets",
    "cell_graph",
    "facet_hamming",
    "facet_mask",
    "tessellation_distance",
]


def affine_forms(layers, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pre-activation as an affine map on the cell of ``x``.

    Inside a cell the on/off pattern is fixed, so ``z = x @ A + c`` exactly.

    Args:
        layers: ``[(kernel, bias), ...]`` of the hidden layers (float64).
        x: one input ``[d]``.

    Returns:
        ``(A [d, units], c [units], bits bool[units])``, layers in order.
    """
    d = x.shape[0]
    a_in, c_in = np.eye(d), np.zeros(d)
    h = x
    a_all, c_all, bits = [], [], []
    for w, b in layers:
        a, c = a_in @ w, c_in @ w + b
        z = h @ w + b
        on = z > 0
        a_all.append(a)
        c_all.append(c)
        bits.append(on)
        a_in, c_in, h = a * on[None], c * on, np.maximum(z, 0.0)
    return np.concatenate(a_all, axis=1), np.concatenate(c_all), np.concatenate(bits)


def facet_mask(a: np.ndarray, c: np.ndarray, bits: np.ndarray, *, tol: float, bounds) -> np.ndarray:
    """Which constraints of the cell ``{x : s_j (x @ A_j + c_j) >= 0}`` are facets.

    Unit ``i`` bounds the cell (its hyperplane carries a (d-1)-dimensional face)
    iff its constraint is irredundant: with it removed, ``s_i z_i`` can go below
    zero while every other unit keeps its sign. One HiGHS LP per unit.
    """
    s = np.where(bits, 1.0, -1.0)
    norms = np.linalg.norm(a, axis=0)
    live = norms > tol  # units constant on the cell never bound it
    g = (a * (s / np.where(live, norms, 1.0))[None]).T  # rows: normalized s_j A_j
    h = c * s / np.where(live, norms, 1.0)
    out = np.zeros(bits.shape[0], dtype=bool)
    # Units constant and negative-signed on the cell would make it empty: ignore them.
    rows = np.nonzero(live)[0]
    for i in rows:
        others = rows[rows != i]
        # minimize s_i z_i  s.t.  s_j z_j >= 0 (j != i)  <=>  -g_j x <= h_j
        res = linprog(
            g[i],
            A_ub=-g[others] if others.size else None,
            b_ub=h[others] if others.size else None,
            bounds=bounds,
            method="highs",
        )
        if res.status == 3:  # unbounded: the constraint cuts the region
            out[i] = True
        elif res.status == 0:
            out[i] = res.fun + h[i] < -tol
    return out


def cell_facets(
    model: Any, variables: Any, x: Any, *, bounds: Any = None, tol: float = 1e-9
) -> np.ndarray:
    """Which units' hyperplanes bound the cell of ``x`` (carry one of its facets).

    Inside a cell the on/off pattern is fixed, so every pre-activation is affine in
    the input and the cell is the polyhedron ``{x' : s_j z_j(x') >= 0}`` (``s_j = +1``
    for active units, ``-1`` else). Unit ``i`` bounds it iff its constraint is not
    redundant: with it dropped, ``s_i z_i`` can go below zero while every other unit
    keeps its sign. One HiGHS linear program per unit (scipy). A hyperplane that
    only touches a corner of the cell is not a facet. The refinement the
    discriminability paper (``discriminability.txt``, Sec. 5) leaves for later work:
    a unit whose hyperplane misses the cell (its Fig. 1) is not among the facets.

    Args:
        model: a ReLU MLP (only ``variables`` are read).
        variables: its variables.
        x: one input ``[d]`` or a batch ``[n, d]``.
        bounds: optional box ``(low, high)`` on the input (the data domain); cells
            are then clipped to it. ``None``: the whole space.
        tol: margin, in units of the normalized pre-activation, below zero a
            constraint must be pushed to count as a facet.

    Returns:
        ``bool[units]`` or ``bool[n, units]``, units in layer order (as in the codes).

    Examples:
        >>> import numpy as np
        >>> # three lines x = 0, y = 0, x + y = 3: the cell of (1, 1) is the triangle
        >>> # bounded by all three; the cell of (-1, -1) is a quadrant (two facets)
        >>> w = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
        >>> params = {"hidden_0": {"kernel": w, "bias": np.array([0.0, 0.0, -3.0])}}
        >>> cell_facets(None, {"params": params}, np.array([[1.0, 1.0], [-1.0, -1.0]])).tolist()
        [[True, True, True], [True, True, False]]
    """
    check_mlp_model(model)
    layers = mlp_layers(variables, np.float64)
    d_in = layers[0][0].shape[0]
    pts, batched = _segment_points(x, d_in, "x")
    if not np.isfinite(pts).all():
        raise ValueError("`x` must be finite")
    if bounds is not None:
        lo, hi = (float(t) for t in bounds)
        if not lo < hi:
            raise ValueError(f"`bounds` must be (low, high) with low < high, got {bounds}")
        box = [(lo, hi)] * d_in
    else:
        box = [(None, None)] * d_in
    out = np.stack([facet_mask(*affine_forms(layers, p), tol=float(tol), bounds=box) for p in pts])
    return out if batched else out[0]


class CellGraph(NamedTuple):
    """Cells met on a plane and which of them share a facet.

    Attributes:
        codes: ``PackedCodes [n_cells]``, one per node.
        edges: ``int32[n_edges, 2]`` pairs of nodes (``i < j``) whose cells share a
            boundary segment: some traced line crosses from one to the other
            through a single unit's hyperplane.
    """

    codes: PackedCodes
    edges: np.ndarray


def cell_graph(
    model: Any,
    variables: Any,
    origin: Any,
    u: Any,
    v: Any,
    *,
    extent: Any = 1.0,
    resolution: int = 64,
    segments: Any = None,
) -> CellGraph:
    """The adjacency graph of the cells met on a plane, from exact line regions.

    ``resolution`` horizontal and as many vertical lines across the window (and
    any extra ``segments``) are traced exactly with :func:`line_regions`. Two cells
    are adjacent when a line passes from one to the other where exactly one unit
    changes sign: the crossing point lies inside a shared facet, so they share a
    boundary segment, not just a corner. (A line through a vertex flips several
    units at once and gives no edge.) Every edge is real; cells or facets that no
    line meets are missing, so graph distances are upper bounds on the true d_T
    within the window that tighten as ``resolution`` grows.

    Args:
        model: a ReLU MLP (only ``variables`` are read).
        variables: its variables.
        origin: a point ``[d]``.
        u: first direction ``[d]``.
        v: second direction ``[d]``.
        extent: half-width or ``(a_min, a_max, b_min, b_max)`` in plane coordinates.
        resolution: lines per direction.
        segments: optional ``(starts [m, d], ends [m, d])`` traced as well.

    Returns:
        A :class:`CellGraph`.

    Examples:
        >>> import numpy as np
        >>> params = {"hidden_0": {"kernel": np.eye(2), "bias": np.zeros(2)}}
        >>> g = cell_graph(None, {"params": params}, np.zeros(2), np.eye(2)[0], np.eye(2)[1],
        ...                resolution=4)
        >>> g.codes.shape, g.edges.shape  # four quadrants in a ring
        ((4,), (4, 2))
    """
    check_mlp_model(model)
    return _cell_graph(variables, origin, u, v, extent, resolution, segments)[0]


def _cell_graph(variables, origin, u, v, extent, resolution, segments):
    """:func:`cell_graph`, and the nodes where each extra segment starts and ends."""
    layers = mlp_layers(variables, np.float64)
    d_in = layers[0][0].shape[0]
    o, uu, vv = (np.asarray(t, np.float64).reshape(-1) for t in _plane_vectors(origin, u, v))
    if o.shape != (d_in,):
        raise ValueError(f"`origin` must have {d_in} values, got {o.shape}")
    a0, a1, b0, b1 = _as_extent(extent)
    r = int(resolution)
    if r < 2:
        raise ValueError(f"`resolution` must be >= 2, got {resolution}")
    a = np.linspace(a0, a1, r)[:, None]
    b = np.linspace(b0, b1, r)[:, None]
    starts = [o[None] + a0 * uu[None] + b * vv[None], o[None] + a * uu[None] + b0 * vv[None]]
    ends = [o[None] + a1 * uu[None] + b * vv[None], o[None] + a * uu[None] + b1 * vv[None]]
    if segments is not None:
        s0, s1 = segments
        starts.append(_segment_points(s0, d_in, "segments")[0])
        ends.append(_segment_points(s1, d_in, "segments")[0])
    pieces = line_regions(None, variables, np.concatenate(starts), np.concatenate(ends))
    words = np.concatenate([np.asarray(p.codes.words) for p in pieces])
    n_bits = pieces[0].codes.n_bits
    count, ids = host_unique_ids(words)
    sizes = np.array([p.codes.words.shape[0] for p in pieces])
    last = np.cumsum(sizes) - 1
    step = np.ones(ids.shape[0] - 1, dtype=bool)
    step[last[:-1]] = False  # no step from one line to the next
    one_flip = _popcount_rows(words[1:] ^ words[:-1]) == 1
    pairs = np.stack([ids[:-1], ids[1:]], axis=1)[step & one_flip]
    pairs = np.unique(np.sort(pairs, axis=1), axis=0).astype(np.int32)
    first = np.zeros(int(count), dtype=np.int64)
    first[ids[::-1]] = np.arange(ids.shape[0])[::-1]
    graph = CellGraph(PackedCodes(jnp.asarray(words[first]), n_bits), pairs.reshape(-1, 2))
    n_extra = 0 if segments is None else starts[-1].shape[0]
    seg_first = ids[np.concatenate([[0], last[:-1] + 1])][sizes.size - n_extra :]
    seg_last = ids[last][sizes.size - n_extra :]
    return graph, seg_first, seg_last


def tessellation_distance(
    model: Any,
    variables: Any,
    x: Any,
    y: Any,
    *,
    extent: Any = None,
    resolution: int = 128,
    margin: float = 0.5,
) -> np.ndarray:
    """The tessellation distance d_T between the cells of ``x`` and ``y``, for 2-D inputs.

    d_T (``discriminability.txt``) is the fewest cell boundaries crossed going
    from one cell to the other through cells that share a facet: a breadth-first
    search over :func:`cell_graph`, which also traces every segment ``x -> y`` so
    that ``d_H <= d_T <= crossings`` holds for each pair. Paths stay inside the
    window; cells or facets thinner than the line spacing may be missed, which can
    only lengthen paths (raise ``resolution`` to check).

    Args:
        model: a ReLU MLP with 2-D input (only ``variables`` are read).
        variables: its variables.
        x: ``[2]`` or ``[m, 2]``.
        y: same shape as ``x``.
        extent: window ``(x_min, x_max, y_min, y_max)``; by default the bounding box
            of all points grown by ``margin`` times its larger side on each side.
        resolution: traced lines per direction.
        margin: see ``extent``.

    Returns:
        ``int64`` scalar or ``int64[m]``; ``-1`` where the graph does not connect
        the two cells.

    Examples:
        >>> import numpy as np
        >>> params = {"hidden_0": {"kernel": np.eye(2), "bias": np.zeros(2)}}
        >>> int(tessellation_distance(None, {"params": params}, np.array([-1.0, -1.0]),
        ...                           np.array([1.0, 1.0]), resolution=8))
        2
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import shortest_path

    check_mlp_model(model)
    layers = mlp_layers(variables, np.float64)
    if layers[0][0].shape[0] != 2:
        raise ValueError(
            f"`variables` must be those of a net with 2-D input for the exact d_T, "
            f"got {layers[0][0].shape[0]}-D (use crossing_distance, or a slice's cell_graph)"
        )
    p, batched = _segment_points(x, 2, "x")
    q, batched_q = _segment_points(y, 2, "y")
    if p.shape != q.shape or batched != batched_q:
        raise ValueError(f"`x` and `y` must have the same shape, got {p.shape} and {q.shape}")
    if extent is None:
        pts = np.concatenate([p, q])
        lo, hi = pts.min(0), pts.max(0)
        pad = float(margin) * max(float((hi - lo).max()), 1e-6)
        extent = (lo[0] - pad, hi[0] + pad, lo[1] - pad, hi[1] + pad)
    graph, nx, ny = _cell_graph(
        variables, np.zeros(2), np.eye(2)[0], np.eye(2)[1], extent, resolution, (p, q)
    )
    n = graph.codes.words.shape[0]
    e = graph.edges
    adj = coo_matrix((np.ones(e.shape[0]), (e[:, 0], e[:, 1])), shape=(n, n)).tocsr()
    src, inv = np.unique(nx, return_inverse=True)
    dist = shortest_path(adj, directed=False, unweighted=True, indices=src)
    out = dist[inv, ny]
    out = np.where(np.isfinite(out), out, -1).astype(np.int64)
    return out if batched else out[0]


def facet_hamming(model: Any, variables: Any, x: Any, y: Any, *, bounds: Any = None) -> np.ndarray:
    """Hamming distance counting only flips of units whose hyperplanes bound the cells.

    Of the units whose bit differs between ``x`` and ``y``, count those that bound
    the cell of ``x`` or the cell of ``y`` (:func:`cell_facets`). A flipped unit
    whose hyperplane touches neither cell is the discriminability paper's Fig. 1
    effect (``discriminability.txt``): ``d_H - facet_hamming`` counts such flips.
    (Counting flips of units that bound *any* cell met on the straight segment
    would give back d_H: every flipped unit is crossed on the segment, and where it
    is crossed it bounds the cells on both sides.)

    Args:
        model: a ReLU MLP (only ``variables`` are read).
        variables: its variables.
        x: ``[d]`` or ``[m, d]``.
        y: same shape as ``x``.
        bounds: optional input box, as in :func:`cell_facets`.

    Returns:
        ``int64`` scalar or ``int64[m]``, at most the Hamming distance of the codes.

    Examples:
        >>> import numpy as np
        >>> w = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
        >>> params = {"hidden_0": {"kernel": w, "bias": np.array([0.0, 0.0, -3.0])}}
        >>> # from the quadrant (-1, -1) to (4, 4): three flips, the line x + y = 3
        >>> # bounds the cell of (4, 4) only; x = 0 and y = 0 bound both
        >>> int(facet_hamming(None, {"params": params}, np.array([-1.0, -1.0]),
        ...                   np.array([4.0, 4.0])))
        3
    """
    layers = mlp_layers(variables, np.float64)
    d_in = layers[0][0].shape[0]
    p, batched = _segment_points(x, d_in, "x")
    q, batched_q = _segment_points(y, d_in, "y")
    if p.shape != q.shape or batched != batched_q:
        raise ValueError(f"`x` and `y` must have the same shape, got {p.shape} and {q.shape}")
    fx = np.atleast_2d(cell_facets(model, variables, p, bounds=bounds))
    fy = np.atleast_2d(cell_facets(model, variables, q, bounds=bounds))
    bx = np.stack([affine_forms(layers, t)[2] for t in p])
    by = np.stack([affine_forms(layers, t)[2] for t in q])
    out = ((bx != by) & (fx | fy)).sum(axis=1).astype(np.int64)
    return out if batched else out[0]
