"""Cell adjacency on a plane and the tessellation distance d_T (private).

Composes the public functions of two siblings (``line_regions`` for traced lines,
``exact_slice_partition`` for the exact graph) and the shared leaf.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import shortest_path

from hamgeo._checks import check_float, check_int, check_not_traced, describe
from hamgeo.codes import PackedCodes
from hamgeo.nets import MLP
from hamgeo.regions._common import (
    MAX_RESOLUTION,
    Extent,
    Variables,
    as_extent,
    check_mlp_model,
    forward_bits,
    host_words,
    mlp_layers,
    plane_vectors,
    popcount_rows,
    segment_points,
)
from hamgeo.regions._exact import ExactPartition, exact_slice_partition
from hamgeo.regions._lines import line_regions
from hamgeo.regions._unique import host_unique_ids

__all__ = ["CellGraph", "cell_graph", "tessellation_distance"]


class CellGraph(NamedTuple):
    """Cells met on a plane and which of them share a facet.

    Attributes:
        codes: ``PackedCodes [n_cells]``, one per node.
        edges: ``int32[n_edges, 2]`` pairs of nodes (``i < j``) whose cells share a
            boundary segment of positive length across which exactly one unit
            changes sign.
    """

    codes: PackedCodes
    edges: np.ndarray


def _check_exact(exact: Any) -> bool:
    if not isinstance(exact, bool):
        raise TypeError(f"`exact` must be a bool, got {describe(exact)}")
    return exact


def cell_graph(
    model: MLP | None,
    variables: Variables,
    origin: ArrayLike,
    u: ArrayLike,
    v: ArrayLike,
    *,
    extent: Extent = 1.0,
    resolution: int = 64,
    segments: tuple[ArrayLike, ArrayLike] | None = None,
    exact: bool = True,
) -> CellGraph:
    """The adjacency graph of the cells met on a plane.

    ``exact=True`` (the default): the graph of
    [`exact_slice_partition`][hamgeo.regions.exact_slice_partition], every
    cell the window meets and every pair sharing an edge of positive length (across
    which exactly one unit flips); ``resolution`` and ``segments`` are not used.

    ``exact=False``: ``resolution`` horizontal and as many vertical lines across the
    window (and any extra ``segments``) are traced exactly with
    [`line_regions`][hamgeo.regions.line_regions].
    Two cells are adjacent when a line passes from one to the other where exactly
    one unit changes sign: the crossing point lies inside a shared facet, so they
    share a boundary segment, not just a corner. (A line through a vertex flips
    several units at once and gives no edge.) Every edge is real, but cells or
    facets that no line meets are missing: a subgraph of the exact one, whose
    distances are **upper bounds** on the exact graph's, tightening as
    ``resolution`` grows.

    Host-only: NumPy / SciPy in float64 on the host; traced points raise hamgeo's ``TypeError``.

    Args:
        model: a ReLU MLP (only ``variables`` are read).
        variables: its variables.
        origin: a point ``[d]``.
        u: first direction ``[d]``.
        v: second direction ``[d]``.
        extent: half-width or ``(a_min, a_max, b_min, b_max)`` in plane coordinates.
        resolution: lines per direction (traced graph only), in ``[2, 2**14]``.
        segments: optional ``(starts [m, d], ends [m, d])`` traced as well (traced
            graph only).
        exact: the exact graph (``True``) or the traced one.

    Returns:
        A [`CellGraph`][hamgeo.regions.CellGraph].

    Examples:
        >>> import numpy as np
        >>> params = {"hidden_0": {"kernel": np.eye(2), "bias": np.zeros(2)}}
        >>> g = cell_graph(None, {"params": params}, np.zeros(2), np.eye(2)[0], np.eye(2)[1])
        >>> g.codes.shape, g.edges.shape  # four quadrants in a ring
        ((4,), (4, 2))
        >>> cell_graph(None, {"params": params}, np.zeros(2), np.eye(2)[0], np.eye(2)[1],
        ...            resolution=4, exact=False).edges.shape
        (4, 2)
    """
    check_not_traced("cell_graph", origin, u, v)
    check_mlp_model(model)
    check_int(resolution, "resolution", minimum=2, maximum=MAX_RESOLUTION)
    if _check_exact(exact):
        part = exact_slice_partition(model, variables, origin, u, v, extent=extent)
        return CellGraph(part.codes, part.adjacency)
    return _traced_graph(variables, origin, u, v, extent, resolution, segments)[0]


def _segment_pair(segments: Any, d_in: int) -> tuple[np.ndarray, np.ndarray]:
    """``segments = (starts, ends)`` as two float64 ``[m, d_in]`` arrays of one shape."""
    if not isinstance(segments, tuple | list) or len(segments) != 2:
        raise TypeError(
            f"`segments` must be a pair (starts [m, {d_in}], ends [m, {d_in}]) or None, "
            f"got {describe(segments)}"
        )
    s0 = segment_points(segments[0], d_in, "segments[0]")[0]
    s1 = segment_points(segments[1], d_in, "segments[1]")[0]
    if s0.shape != s1.shape:
        raise ValueError(
            f"`segments` must be (starts, ends) of one shape [m, {d_in}], got "
            f"{np.shape(segments[0])} and {np.shape(segments[1])}"
        )
    return s0, s1


def _traced_graph(variables, origin, u, v, extent, resolution, segments):
    """The traced ``cell_graph``, and the nodes where each extra segment starts and ends."""
    layers = mlp_layers(variables, np.float64)
    d_in = layers[0][0].shape[0]
    o, uu, vv = (t.reshape(-1) for t in plane_vectors(origin, u, v))
    if o.shape != (d_in,):
        raise ValueError(f"`origin` must have {d_in} values (the net's input), got {o.size}")
    a0, a1, b0, b1 = as_extent(extent)
    r = check_int(resolution, "resolution", minimum=2, maximum=MAX_RESOLUTION)
    a = np.linspace(a0, a1, r)[:, None]
    b = np.linspace(b0, b1, r)[:, None]
    starts = [o[None] + a0 * uu[None] + b * vv[None], o[None] + a * uu[None] + b0 * vv[None]]
    ends = [o[None] + a1 * uu[None] + b * vv[None], o[None] + a * uu[None] + b1 * vv[None]]
    if segments is not None:
        s0, s1 = _segment_pair(segments, d_in)
        starts.append(s0)
        ends.append(s1)
    pieces = line_regions(None, variables, np.concatenate(starts), np.concatenate(ends))
    words = np.asarray(pieces.codes.words)
    n_bits = pieces.codes.n_bits
    count, ids = host_unique_ids(words)
    sizes = np.diff(pieces.offsets) + 1  # pieces per segment
    last = np.cumsum(sizes) - 1
    step = np.ones(ids.shape[0] - 1, dtype=bool)
    step[last[:-1]] = False  # no step from one line to the next
    one_flip = popcount_rows(words[1:] ^ words[:-1]) == 1
    pairs = np.stack([ids[:-1], ids[1:]], axis=1)[step & one_flip]
    pairs = np.unique(np.sort(pairs, axis=1), axis=0).astype(np.int32)
    first = np.zeros(int(count), dtype=np.int64)
    first[ids[::-1]] = np.arange(ids.shape[0])[::-1]
    graph = CellGraph(PackedCodes(jnp.asarray(words[first]), n_bits), pairs.reshape(-1, 2))
    n_extra = 0 if segments is None else starts[-1].shape[0]
    seg_first = ids[np.concatenate([[0], last[:-1] + 1])][sizes.size - n_extra :]
    seg_last = ids[last][sizes.size - n_extra :]
    return graph, seg_first, seg_last


def _locate(part: ExactPartition, layers, pts: np.ndarray) -> np.ndarray:
    """The polygon of each point: the one with the point's code, else one containing it.

    A point on a boundary has the code of one side (a unit is on where its
    pre-activation is > 0), unless it sits on a vertex whose code no 2-D cell has;
    then the first polygon that contains it. ``-1`` outside the window.
    """
    a0, a1, b0, b1 = part.extent
    inside = (pts[:, 0] >= a0) & (pts[:, 0] <= a1) & (pts[:, 1] >= b0) & (pts[:, 1] <= b1)
    own = {c.tobytes(): i for i, c in enumerate(np.asarray(part.codes.words))}
    words = host_words(forward_bits(layers, pts))
    out = np.array([own.get(c.tobytes(), -1) for c in words], np.int64)
    out[~inside] = -1
    scale = max(a1 - a0, b1 - b0)
    for k in np.nonzero((out < 0) & inside)[0]:
        for i, poly in enumerate(part.polygons):
            edge = np.roll(poly, -1, axis=0) - poly
            rel = pts[k] - poly
            if np.all(edge[:, 0] * rel[:, 1] - edge[:, 1] * rel[:, 0] >= -1e-12 * scale**2):
                out[k] = i
                break
    return out


def tessellation_distance(
    model: MLP | None,
    variables: Variables,
    x: ArrayLike,
    y: ArrayLike,
    *,
    extent: Extent | None = None,
    resolution: int = 128,
    margin: float = 0.5,
    exact: bool = True,
) -> np.ndarray:
    """The tessellation distance d_T between the cells of ``x`` and ``y``, for 2-D inputs.

    d_T ([Discriminability], see ``docs/references.md``) is the fewest cell
    boundaries crossed going from one cell to the other through cells that share a
    facet: a breadth-first search over the adjacency graph of the cells met by a
    window of the input plane. Paths stay inside the window, so d_T here is that of
    the window: an upper bound on d_T over the whole plane, equal to it when a
    shortest path fits in the window (grow ``margin`` to check).

    ``exact=True`` (the default): the graph of
    [`exact_slice_partition`][hamgeo.regions.exact_slice_partition], exact
    within the window. ``exact=False``: the graph of traced lines
    ([`cell_graph`][hamgeo.regions.cell_graph] with ``exact=False``, which also traces every segment
    ``x -> y``), an **upper bound** on the exact value (cells or facets thinner than
    the line spacing may be missed, which can only lengthen paths; raise
    ``resolution`` to check). Either way ``d_H <= d_T <= crossings`` for each pair
    ([`crossing_distance`][hamgeo.regions.crossing_distance]), and exact ``<=`` traced.

    Host-only: NumPy / SciPy in float64 on the host; traced points raise hamgeo's ``TypeError``.

    Args:
        model: a ReLU MLP with 2-D input (only ``variables`` are read).
        variables: its variables.
        x: ``[2]`` or ``[m, 2]``.
        y: same shape as ``x``.
        extent: window ``(x_min, x_max, y_min, y_max)`` (or a half-width); by default
            the bounding box of all points grown by ``margin`` times its larger side
            on each side.
        resolution: traced lines per direction (``exact=False`` only), in
            ``[2, 2**14]``.
        margin: see ``extent``, ``>= 0``.
        exact: the exact graph (``True``) or traced lines (``False``).

    Returns:
        ``int64`` scalar or ``int64[m]``; ``-1`` where the graph does not connect
        the two cells (or a point lies outside ``extent``).

    Examples:
        >>> import numpy as np
        >>> params = {"hidden_0": {"kernel": np.eye(2), "bias": np.zeros(2)}}
        >>> x, y = np.array([-1.0, -1.0]), np.array([1.0, 1.0])
        >>> int(tessellation_distance(None, {"params": params}, x, y))
        2
        >>> int(tessellation_distance(None, {"params": params}, x, y, exact=False,
        ...                           resolution=8))
        2
    """
    check_not_traced("tessellation_distance", x, y)
    check_mlp_model(model)
    exact = _check_exact(exact)
    check_int(resolution, "resolution", minimum=2, maximum=MAX_RESOLUTION)
    layers = mlp_layers(variables, np.float64)
    if layers[0][0].shape[0] != 2:
        raise ValueError(
            f"`variables` must be those of a net with 2-D input for d_T, "
            f"got {layers[0][0].shape[0]}-D (use crossing_distance, or a slice's cell_graph)"
        )
    p, batched = segment_points(x, 2, "x")
    q, batched_q = segment_points(y, 2, "y")
    if p.shape != q.shape or batched != batched_q:
        raise ValueError(f"`x` and `y` must have the same shape, got {p.shape} and {q.shape}")
    margin = check_float(margin, "margin", minimum=0.0)
    if extent is None:
        pts = np.concatenate([p, q])
        lo, hi = pts.min(0), pts.max(0)
        pad = margin * max(float((hi - lo).max()), 1e-6)
        extent = (lo[0] - pad, hi[0] + pad, lo[1] - pad, hi[1] + pad)
    plane = (np.zeros(2), np.eye(2)[0], np.eye(2)[1])
    if exact:
        part = exact_slice_partition(model, variables, *plane, extent=extent)
        n, edges = part.n_cells, part.adjacency
        nx, ny = _locate(part, layers, p), _locate(part, layers, q)
    else:
        graph, nx, ny = _traced_graph(variables, *plane, extent, resolution, (p, q))
        n, edges = graph.codes.words.shape[0], graph.edges
    adj = coo_matrix((np.ones(edges.shape[0]), (edges[:, 0], edges[:, 1])), shape=(n, n)).tocsr()
    src, inv = np.unique(np.maximum(nx, 0), return_inverse=True)
    dist = shortest_path(adj, directed=False, unweighted=True, indices=src)
    out = dist[inv.ravel(), np.maximum(ny, 0)]
    out = np.where(np.isfinite(out) & (nx >= 0) & (ny >= 0), out, -1).astype(np.int64)
    return out if batched else out[0]
