"""Cells of a ReLU network's tessellation: counts, redundancy, line regions, slices, facets.

A ReLU network cuts its input space into convex polyhedral cells; the on/off
pattern of the hidden units (the activation code) names the cell an input falls
in. This module counts the distinct cells a sample meets (the *redundancy ratio*
of the hash-encoder paper, ``hash_encoders.txt``), finds every cell a straight
segment crosses exactly, draws the cells met on a 2-D plane, finds the units
whose hyperplanes bound a cell (its facets), and measures distances between
cells: boundary crossings on a segment, the tessellation distance d_T of the
discriminability paper (``discriminability.txt``) and a facet-aware Hamming
distance.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from hamgeo.codes import PackedCodes, as_packed, n_words, pack_bits

__all__ = [
    "CellGraph",
    "LineRegions",
    "SlicePartition",
    "cell_facets",
    "cell_graph",
    "count_regions",
    "crossing_distance",
    "count_regions_per_layer",
    "facet_hamming",
    "line_regions",
    "mlp_layers",
    "plot_partition",
    "redundancy_ratio",
    "redundancy_ratio_per_layer",
    "region_ids",
    "select_bits",
    "slice_partition",
    "tessellation_distance",
]

_WORD = 32


# --------------------------------------------------------------------------------------
# distinct codes: sort 64 bits of hash, verify against the full words, exact fallback
# --------------------------------------------------------------------------------------


def _fmix(h: jax.Array) -> jax.Array:
    """MurmurHash3's 32-bit finalizer (a bijection of ``uint32``)."""
    h = h ^ (h >> 16)
    h = h * jnp.uint32(0x85EBCA6B)
    h = h ^ (h >> 13)
    h = h * jnp.uint32(0xC2B2AE35)
    return h ^ (h >> 16)


def _row_hashes(words: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Two independent 32-bit hashes of each row of ``uint32[n, W]``."""
    w = words.shape[1]
    salt = (jnp.arange(w, dtype=jnp.uint32) * jnp.uint32(0x9E3779B9))[None]
    h1 = jnp.sum(_fmix(words ^ salt), axis=1, dtype=jnp.uint32)
    h2 = jnp.sum(
        _fmix(words + salt + jnp.uint32(0x7F4A7C15)) * (salt | jnp.uint32(1)),
        axis=1,
        dtype=jnp.uint32,
    )
    return h1, h2


def _lex_sort(words: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Exact lexicographic sort of the rows: ``(sorted words, permutation)``."""
    cols = tuple(words[:, j] for j in range(words.shape[1]))
    idx = jnp.arange(words.shape[0], dtype=jnp.int32)
    out = jax.lax.sort((*cols, idx), num_keys=len(cols))
    return jnp.stack(out[:-1], axis=1), out[-1]


@jax.jit
def _unique_ids(words: jax.Array) -> tuple[jax.Array, jax.Array]:
    """:func:`_unique_ids_given_hashes` with :func:`_row_hashes`."""
    return _unique_ids_given_hashes(words, *_row_hashes(words))


def _unique_ids_given_hashes(
    words: jax.Array, h1: jax.Array, h2: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """Number of distinct rows of ``uint32[n, W]`` and a dense id per row.

    Rows are sorted by a 64-bit hash (two sort keys instead of ``W``), then every
    pair of neighbours in that order is compared word by word. If two different
    rows ever share a hash, an exact ``W``-key lexicographic sort takes over, so
    the answer never depends on the hash. Ids are ranks in the sorted order.
    """
    n = words.shape[0]
    idx = jnp.arange(n, dtype=jnp.int32)
    h1s, h2s, perm = jax.lax.sort((h1, h2, idx), num_keys=2)
    rows = words[perm]
    row_change = jnp.any(rows[1:] != rows[:-1], axis=1)
    hash_change = (h1s[1:] != h1s[:-1]) | (h2s[1:] != h2s[:-1])
    collision = jnp.any(row_change & ~hash_change)

    def exact(_):
        rows_e, perm_e = _lex_sort(words)
        return jnp.any(rows_e[1:] != rows_e[:-1], axis=1), perm_e

    change, perm = jax.lax.cond(collision, exact, lambda _: (row_change, perm), None)
    rank = jnp.concatenate([jnp.zeros((1,), jnp.int32), jnp.cumsum(change, dtype=jnp.int32)])
    ids = jnp.zeros((n,), jnp.int32).at[perm].set(rank)
    return rank[-1] + 1, ids


def _flat_words(codes: Any, name: str = "codes") -> PackedCodes:
    c = as_packed(codes, name)
    if c.words.ndim < 2:
        raise ValueError(f"`{name}` must be a batch of codes [n, n_bits], got a single code")
    if c.words.size == 0 or c.words.shape[0] == 0:
        raise ValueError(f"`{name}` must hold at least one code, got shape {c.shape}")
    return PackedCodes(c.words.reshape(-1, c.words.shape[-1]), c.n_bits)


def region_ids(codes: Any) -> tuple[jax.Array, jax.Array]:
    """Number of distinct codes and a dense cell id for each code.

    Equal codes get equal ids in ``0 .. count - 1`` (ids follow the lexicographic
    or hash order of the codes, not their first appearance).

    Args:
        codes: ``PackedCodes`` or bool / {0, 1} array ``[..., n_bits]`` (batch axes
            are flattened).

    Returns:
        ``(count, ids)``: ``int32`` scalar and ``int32[n]``.

    Examples:
        >>> count, ids = region_ids([[1, 0], [0, 1], [1, 0]])
        >>> int(count), bool(ids[0] == ids[2]), bool(ids[0] != ids[1])
        (2, True, True)
    """
    c = _flat_words(codes)
    return _bucketed_unique_ids(c.words)


def _bucketed_unique_ids(words: jax.Array) -> tuple[jax.Array, jax.Array]:
    """:func:`_unique_ids` on rows padded (with copies of row 0) to one of 8 sizes per octave.

    Padding with a row already present changes no count, and it bounds the number
    of compilations over many calls with different ``n`` (at most 12.5% more rows).
    """
    n = words.shape[0]
    step = max(1, 1 << max(0, n.bit_length() - 4))
    size = -(-n // step) * step
    if size > n:
        words = jnp.concatenate([words, jnp.broadcast_to(words[:1], (size - n, words.shape[1]))])
    count, ids = _unique_ids(words)
    return count, ids[:n]


def _host_unique_ids(words: np.ndarray) -> tuple[int, np.ndarray]:
    """Small host-side variant (no compilation): ``(count, ids)`` through ``np.unique``."""
    _, ids = np.unique(np.asarray(words), axis=0, return_inverse=True)
    ids = ids.reshape(-1).astype(np.int32)
    return int(ids.max()) + 1, ids


def count_regions(codes: Any) -> jax.Array:
    """Number of distinct codes, i.e. cells of the tessellation the sample meets.

    Computed on device by sorting packed words (a 64-bit hash, verified against the
    words; an exact lexicographic sort if two different codes ever share a hash):
    no Python loop over samples, ``O(n log n)`` time, ``O(n W)`` memory.

    Args:
        codes: ``PackedCodes`` or bool / {0, 1} array ``[n, n_bits]`` (further batch
            axes are flattened), at least one code.

    Returns:
        ``int32`` scalar.

    Raises:
        TypeError: ``codes`` is not binary.
        ValueError: ``codes`` is a single code or empty.

    Examples:
        >>> int(count_regions([[1, 0, 1], [1, 0, 1], [0, 0, 1]]))
        2
    """
    return region_ids(codes)[0]


def redundancy_ratio(codes: Any) -> jax.Array:
    """Redundancy ratio ``(n - m) / n`` with ``m`` the number of distinct codes.

    The hash-encoder paper's measure of determinism (``hash_encoders.txt``): near
    zero when almost every example has its own activation code.

    Args:
        codes: ``PackedCodes`` or bool / {0, 1} array ``[n, n_bits]``.

    Returns:
        ``float32`` scalar in ``[0, 1)``.

    Examples:
        >>> float(redundancy_ratio([[1, 0], [1, 0], [0, 1], [1, 1]]))
        0.25
    """
    c = _flat_words(codes)
    n = c.words.shape[0]
    m = _bucketed_unique_ids(c.words)[0]
    return (n - m).astype(jnp.float32) / jnp.float32(n)


def _as_slices(layer_slices: Any, n_bits: int) -> list[tuple[int, int]]:
    if isinstance(layer_slices, slice):
        layer_slices = [layer_slices]
    if not isinstance(layer_slices, Sequence):
        raise TypeError(f"`layer_slices` must be a list of slices, got {type(layer_slices)}")
    out = []
    for s in layer_slices:
        if isinstance(s, slice):
            if s.step not in (None, 1):
                raise ValueError(f"`layer_slices` must have step 1, got {s}")
            start, stop = s.start or 0, n_bits if s.stop is None else s.stop
        elif (
            isinstance(s, Sequence)
            and len(s) == 2
            and all(isinstance(v, (int, np.integer)) for v in s)
        ):
            start, stop = s
        else:
            raise TypeError(f"`layer_slices` must hold slices or (start, stop) pairs, got {s!r}")
        start, stop = int(start), int(stop)
        if not 0 <= start < stop <= n_bits:
            raise ValueError(
                f"`layer_slices` entries must satisfy 0 <= start < stop <= n_bits={n_bits}, "
                f"got ({start}, {stop})"
            )
        out.append((start, stop))
    if not out:
        raise ValueError("`layer_slices` must hold at least one bit range")
    return out


def select_bits(codes: Any, start: int, stop: int) -> PackedCodes:
    """The bits ``start:stop`` of every code, repacked (shifts on words, no unpacking).

    Args:
        codes: ``PackedCodes`` or bool / {0, 1} array ``[..., n_bits]``.
        start: first bit, ``0 <= start < stop``.
        stop: one past the last bit, ``<= n_bits``.

    Returns:
        ``PackedCodes`` with ``n_bits = stop - start``.

    Examples:
        >>> select_bits([[1, 0, 1, 1]], 1, 4).unpack().astype(int).tolist()
        [[0, 1, 1]]
    """
    c = as_packed(codes, "codes")
    ((start, stop),) = _as_slices([(start, stop)], c.n_bits)
    nb = stop - start
    w = c.words
    q, r = divmod(start, _WORD)
    nw = n_words(nb)
    lo = w[..., q : q + nw]
    if r:
        hi_idx = np.arange(q + 1, q + 1 + nw)
        valid = (hi_idx < w.shape[-1]).astype(np.uint32).reshape((1,) * (w.ndim - 1) + (nw,))
        hi = w[..., np.minimum(hi_idx, w.shape[-1] - 1)] * jnp.asarray(valid)
        if lo.shape[-1] < nw:  # the slice ends inside the last word
            lo = jnp.concatenate(
                [lo, jnp.zeros((*lo.shape[:-1], nw - lo.shape[-1]), jnp.uint32)], axis=-1
            )
        out = (lo >> jnp.uint32(r)) | (hi << jnp.uint32(_WORD - r))
    else:
        out = lo
    if nb % _WORD:
        mask = np.full((nw,), 0xFFFFFFFF, dtype=np.uint32)
        mask[-1] = (1 << (nb % _WORD)) - 1
        out = out & jnp.asarray(mask.reshape((1,) * (out.ndim - 1) + (nw,)))
    return PackedCodes(out, nb)


def count_regions_per_layer(
    codes: Any, layer_slices: Any, *, cumulative: bool = False
) -> list[jax.Array]:
    """:func:`count_regions` of each layer's bits (or of layers ``1..l``).

    Args:
        codes: ``PackedCodes`` or bool / {0, 1} array ``[n, n_bits]``, layers in order.
        layer_slices: one ``slice`` or ``(start, stop)`` bit range per layer, e.g.
            ``hamgeo.nets.layer_slices(model, variables, x)``.
        cumulative: count the codes of layers ``1..l`` (the cells of the first
            ``l`` layers' tessellation) instead of layer ``l`` alone. Needs the
            ranges to start at bit 0 and be contiguous.

    Returns:
        A list of ``int32`` scalars, one per range.

    Examples:
        >>> codes = [[1, 0, 1], [1, 1, 1], [0, 1, 1]]
        >>> [int(c) for c in count_regions_per_layer(codes, [slice(0, 1), slice(1, 3)])]
        [2, 2]
        >>> [int(c) for c in count_regions_per_layer(codes, [(0, 1), (1, 3)], cumulative=True)]
        [2, 3]
    """
    c = _flat_words(codes)
    ranges = _as_slices(layer_slices, c.n_bits)
    if cumulative:
        ends = [0] + [stop for _, stop in ranges]
        if any(s != e for (s, _), e in zip(ranges, ends[:-1], strict=True)):
            raise ValueError(
                f"`layer_slices` must be contiguous from bit 0 when cumulative, got {ranges}"
            )
        ranges = [(0, stop) for _, stop in ranges]
    return [_bucketed_unique_ids(select_bits(c, s, e).words)[0] for s, e in ranges]


def redundancy_ratio_per_layer(
    codes: Any, layer_slices: Any, *, cumulative: bool = False
) -> list[jax.Array]:
    """:func:`redundancy_ratio` of each layer's bits (or of layers ``1..l``).

    Args:
        codes: ``PackedCodes`` or bool / {0, 1} array ``[n, n_bits]``, layers in order.
        layer_slices: one ``slice`` or ``(start, stop)`` bit range per layer.
        cumulative: use the bits of layers ``1..l`` (see :func:`count_regions_per_layer`).

    Returns:
        A list of ``float32`` scalars, one per range.

    Examples:
        >>> codes = [[1, 0, 1], [1, 1, 1], [0, 1, 1], [0, 1, 1]]
        >>> [float(r) for r in redundancy_ratio_per_layer(codes, [(0, 1), (1, 3)])]
        [0.5, 0.5]
    """
    c = _flat_words(codes)
    n = c.words.shape[0]
    counts = count_regions_per_layer(c, layer_slices, cumulative=cumulative)
    return [(n - m).astype(jnp.float32) / jnp.float32(n) for m in counts]


# --------------------------------------------------------------------------------------
# ReLU MLPs: parameters, exact line regions
# --------------------------------------------------------------------------------------


class LineRegions(NamedTuple):
    """The cells a straight segment ``x(t) = x0 + t (x1 - x0)``, ``t in [0, 1]``, crosses.

    Attributes:
        breakpoints: ``float[k]``, increasing, in ``(0, 1)``: every ``t`` where some
            hidden unit's pre-activation changes sign.
        codes: ``PackedCodes [k + 1]``: the activation code of each piece
            ``[0, t_1], [t_1, t_2], ..., [t_k, 1]``, in order.
    """

    breakpoints: np.ndarray
    codes: PackedCodes


def mlp_layers(variables: Any, dtype: Any = np.float64) -> list[tuple[np.ndarray, np.ndarray]]:
    """The hidden layers ``(kernel [n_in, n_out], bias [n_out])`` of a ReLU MLP, on the host.

    Reads the layout of ``hamgeo.nets.MLP``: ``variables["params"]["hidden_{i}"]``
    with ``"kernel"`` and ``"bias"``, ``i = 0, 1, ...`` (the ``head`` has no ReLU
    after it and does not cut cells).

    Args:
        variables: the model's variables (``{"params": {...}}``) or its params.
        dtype: NumPy float dtype of the returned arrays.

    Returns:
        One ``(kernel, bias)`` pair per hidden layer, in order.

    Raises:
        ValueError: no ``hidden_0`` dense layer, or shapes that do not chain.

    Examples:
        >>> import numpy as np
        >>> params = {"hidden_0": {"kernel": np.ones((2, 3)), "bias": np.zeros(3)}}
        >>> [w.shape for w, _ in mlp_layers({"params": params})]
        [(2, 3)]
    """
    params = variables.get("params", variables) if isinstance(variables, dict) else None
    if params is None or not hasattr(params, "get"):
        raise TypeError(f"`variables` must be a dict of parameters, got {type(variables).__name__}")
    layers = []
    while f"hidden_{len(layers)}" in params:
        layer = params[f"hidden_{len(layers)}"]
        if "kernel" not in layer or "bias" not in layer:
            raise ValueError(f"`variables` layer hidden_{len(layers)} must hold kernel and bias")
        w = np.asarray(layer["kernel"], dtype=dtype)
        b = np.asarray(layer["bias"], dtype=dtype)
        if w.ndim != 2 or b.shape != (w.shape[1],):
            raise ValueError(
                f"`variables` hidden_{len(layers)} must be dense (kernel [in, out], bias [out]), "
                f"got kernel {w.shape} and bias {b.shape}"
            )
        if layers and layers[-1][0].shape[1] != w.shape[0]:
            raise ValueError(
                f"`variables` hidden_{len(layers)} takes {w.shape[0]} inputs but the previous "
                f"layer has {layers[-1][0].shape[1]} units"
            )
        layers.append((w, b))
    if not layers:
        raise ValueError(
            "`variables` must be those of a ReLU MLP with dense layers 'hidden_0', 'hidden_1', "
            f"... (hamgeo.nets.MLP), got keys {sorted(params)}"
        )
    return layers


def _segment_points(x: Any, d_in: int, name: str) -> tuple[np.ndarray, bool]:
    a = np.asarray(x)
    if not np.issubdtype(a.dtype, np.number) or np.iscomplexobj(a):
        raise TypeError(f"`{name}` must be a real array, got dtype {a.dtype}")
    if a.ndim == 2 and a.shape[1] == d_in:
        return a.astype(np.float64), True
    if a.size == d_in:
        return a.reshape(1, d_in).astype(np.float64), False
    raise ValueError(f"`{name}` must be one input of {d_in} values or [m, {d_in}], got {a.shape}")


def _line_pieces(layers, x0: np.ndarray, x1: np.ndarray):
    """All segments at once: knots sorted by (segment, t) and the codes of the pieces."""
    m = x0.shape[0]
    seg = np.repeat(np.arange(m), 2)
    t = np.tile(np.array([0.0, 1.0], dtype=x0.dtype), m)
    origin = np.full(2 * m, -1, dtype=np.int32)  # the layer that inserted each knot
    h = x0[seg] + t[:, None] * (x1 - x0)[seg]
    interval_bits = []
    for layer, (w, b) in enumerate(layers):
        z = h @ w + b
        same = seg[1:] == seg[:-1]
        za, zb = z[:-1], z[1:]
        i, j = np.nonzero((za * zb < 0) & same[:, None])
        if i.size:
            frac = za[i, j] / (za[i, j] - zb[i, j])
            zn = z[i] + frac[:, None] * (z[i + 1] - z[i])
            zn[np.arange(i.size), j] = 0.0  # exactly on the unit's hyperplane
            t = np.concatenate([t, t[i] + frac * (t[i + 1] - t[i])])
            seg = np.concatenate([seg, seg[i]])
            origin = np.concatenate([origin, np.full(i.size, layer, np.int32)])
            z = np.concatenate([z, zn])
            order = np.lexsort((t, seg))
            t, seg, origin, z = t[order], seg[order], origin[order], z[order]
        # Between two knots every unit of this layer keeps one sign: read it at the midpoint.
        interval_bits.append((z[:-1] + z[1:]) > 0)
        h = np.maximum(z, 0.0)
    return t, seg, origin, interval_bits


def line_regions(
    model: Any, variables: Any, x0: Any, x1: Any, *, dtype: Any = np.float64
) -> LineRegions | list[LineRegions]:
    """Every cell a straight segment crosses, exactly, for a ReLU MLP.

    On the segment ``x(t) = x0 + t (x1 - x0)`` every pre-activation is piecewise
    linear in ``t``. Layer by layer, the knots found so far cut ``[0, 1]`` into
    pieces on which the current layer's input is affine, so each unit's
    pre-activation is linear between two knots: its values at the knots give its
    roots exactly; the roots become knots, with the layer's values there by
    interpolation, and ReLU passes them to the next layer. No sampling: nothing is
    missed however small the piece. Cost: one ``[knots, n_in] @ [n_in, n_out]``
    product per layer, on the host in ``dtype`` (float64 by default, since JAX runs
    in float32). This makes exact the cells along a path between two inputs of the
    discriminability paper (``discriminability.txt``).

    Args:
        model: a ReLU MLP (``hamgeo.nets.MLP``); only its ``variables`` are read.
        variables: the model's variables, dense hidden layers ``hidden_0, ...``.
        x0: start ``[d]`` (or the model's example shape), or ``[m, d]`` for ``m`` segments.
        x1: end, same shape as ``x0``.
        dtype: host float dtype of the computation.

    Returns:
        A :class:`LineRegions`, or a list of ``m`` of them for ``[m, d]`` inputs.

    Raises:
        TypeError: non-numeric points or variables that are not a dict.
        ValueError: variables that are not an MLP's, or mismatched points.

    Examples:
        >>> import numpy as np
        >>> params = {"hidden_0": {"kernel": np.eye(2), "bias": np.array([-0.5, -0.25])}}
        >>> lr = line_regions(None, {"params": params}, np.zeros(2), np.ones(2))
        >>> lr.breakpoints.tolist()
        [0.25, 0.5]
        >>> lr.codes.unpack().astype(int).tolist()
        [[0, 0], [0, 1], [1, 1]]
    """
    del model  # the variables say everything about an MLP's cells
    layers = mlp_layers(variables, dtype)
    d_in = layers[0][0].shape[0]
    a, batched = _segment_points(x0, d_in, "x0")
    b, batched_b = _segment_points(x1, d_in, "x1")
    if a.shape != b.shape or batched != batched_b:
        raise ValueError(f"`x0` and `x1` must have the same shape, got {a.shape} and {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("`x0` and `x1` must be finite")
    t, seg, origin, interval_bits = _line_pieces(layers, a.astype(dtype), b.astype(dtype))
    # A piece is an interval of the final knots; in layer l it lies in the interval
    # that starts at the last knot inserted by layers <= l.
    starts = np.nonzero((seg[1:] == seg[:-1]) & (t[1:] > t[:-1]))[0]
    bits = []
    for layer, ib in enumerate(interval_bits):
        idx = np.cumsum(origin <= layer) - 1
        bits.append(ib[idx[starts]])
    codes = pack_bits(jnp.asarray(np.concatenate(bits, axis=1)))
    piece_seg = seg[starts]
    bounds = np.searchsorted(piece_seg, np.arange(a.shape[0] + 1))
    out = []
    for s in range(a.shape[0]):
        lo, hi = bounds[s], bounds[s + 1]
        out.append(LineRegions(t[starts[lo + 1 : hi]], codes[lo:hi]))
    return out if batched else out[0]


def _popcount_rows(words: np.ndarray) -> np.ndarray:
    return np.unpackbits(np.ascontiguousarray(words).view(np.uint8), axis=-1).sum(-1)


def crossing_distance(model: Any, variables: Any, x: Any, y: Any) -> np.ndarray:
    """Hyperplane crossings on the straight segment from ``x`` to ``y``.

    The number of unit sign changes along the segment, found exactly with
    :func:`line_regions` (each breakpoint counts the units that flip there). A path
    through the tessellation, so an upper bound on the tessellation distance d_T
    of the discriminability paper: ``d_H <= d_T <= crossings``.

    Args:
        model: a ReLU MLP (only ``variables`` are read).
        variables: its variables.
        x: ``[d]`` or ``[m, d]``.
        y: same shape as ``x``.

    Returns:
        ``int64`` scalar, or ``int64[m]``.

    Examples:
        >>> import numpy as np
        >>> params = {"hidden_0": {"kernel": np.eye(2), "bias": np.array([-0.5, -0.25])}}
        >>> int(crossing_distance(None, {"params": params}, np.zeros(2), np.ones(2)))
        2
    """
    out = line_regions(model, variables, x, y)
    many = isinstance(out, list)
    counts = np.array(
        [
            _popcount_rows(np.asarray(r.codes.words[1:] ^ r.codes.words[:-1])).sum()
            for r in (out if many else [out])
        ],
        dtype=np.int64,
    )
    return counts if many else counts[0]


# --------------------------------------------------------------------------------------
# 2-D slices: raster of cell ids, plotting
# --------------------------------------------------------------------------------------


class SlicePartition(NamedTuple):
    """The cells met on the plane ``origin + a u + b v``.

    Attributes:
        ids: ``int32[rows, cols]`` cell id of each pixel centre; row ``j`` is
            ``b = bs[j]``, column ``i`` is ``a = as_[i]``.
        n_cells: number of distinct cells met by the pixel centres.
        codes: ``PackedCodes [n_cells]``: the code of each id.
        extent: ``(a_min, a_max, b_min, b_max)`` in plane coordinates.
    """

    ids: np.ndarray
    n_cells: int
    codes: PackedCodes
    extent: tuple[float, float, float, float]


def _mlp_preacts(layers, x):
    pre = []
    h = x
    for w, b in layers:
        z = h @ w + b[None]
        pre.append(z)
        h = jax.nn.relu(z)
    return pre


def _plane_bits(model, variables, example_shape, origin, u, v, ab):
    x = origin[None] + ab[:, :1] * u[None] + ab[:, 1:] * v[None]
    if model is None:
        pre = _mlp_preacts(variables, x)
    else:
        x = x.reshape(ab.shape[0], *example_shape)
        _, pre = model.apply(variables, x, train=False, return_preactivations=True)
    return jnp.concatenate([p.reshape(ab.shape[0], -1) > 0 for p in pre], axis=1)


@partial(jax.jit, static_argnames=("model", "example_shape"))
def _plane_words(model, variables, example_shape, origin, u, v, ab):
    return pack_bits(_plane_bits(model, variables, example_shape, origin, u, v, ab)).words


def _code_source(model: Any, variables: Any):
    """What :func:`_plane_words` evaluates: the model, or an MLP's hidden layers."""
    if model is None:
        return None, [
            (jnp.asarray(w, jnp.float32), jnp.asarray(b, jnp.float32))
            for w, b in mlp_layers(variables, np.float32)
        ]
    if not hasattr(model, "apply"):
        raise TypeError(f"`model` must be a flax module or None, got {type(model).__name__}")
    return model, variables


def _as_extent(extent: Any) -> tuple[float, float, float, float]:
    e = np.asarray(extent, dtype=np.float64).ravel()
    if e.size == 1:
        e = np.array([-e[0], e[0], -e[0], e[0]])
    if e.size != 4 or not np.isfinite(e).all() or e[0] >= e[1] or e[2] >= e[3]:
        raise ValueError(
            f"`extent` must be a positive half-width or (a_min, a_max, b_min, b_max), got {extent}"
        )
    return tuple(float(t) for t in e)


def _as_resolution(resolution: Any) -> tuple[int, int]:
    r = np.asarray(resolution).ravel()
    if r.size == 1:
        r = np.array([r[0], r[0]])
    if r.size != 2 or not np.issubdtype(r.dtype, np.integer) or (r < 2).any():
        raise ValueError(f"`resolution` must be an int >= 2 or (cols, rows), got {resolution}")
    return int(r[0]), int(r[1])


def _plane_vectors(origin, u, v):
    o = np.asarray(origin, dtype=np.float32)
    uu = np.asarray(u, dtype=np.float32)
    vv = np.asarray(v, dtype=np.float32)
    if uu.shape != o.shape or vv.shape != o.shape:
        raise ValueError(
            f"`u` and `v` must have the shape of `origin` {o.shape}, got {uu.shape} and {vv.shape}"
        )
    if not (np.isfinite(o).all() and np.isfinite(uu).all() and np.isfinite(vv).all()):
        raise ValueError("`origin`, `u` and `v` must be finite")
    return o, uu, vv


def slice_partition(
    model: Any,
    variables: Any,
    origin: Any,
    u: Any,
    v: Any,
    *,
    extent: Any = 1.0,
    resolution: Any = 256,
    batch_size: int = 65536,
) -> SlicePartition:
    """The cells of the tessellation met on a 2-D plane, as an image of cell ids.

    Pixel centres ``origin + a u + b v`` on a regular grid are pushed through the
    model in jit-compiled batches; their packed codes are numbered by
    :func:`region_ids`. Cells thinner than a pixel can be missed: counts are lower
    bounds that grow with ``resolution`` (exact cells along lines come from
    :func:`line_regions`). The discriminability paper's picture of the tessellation
    (``discriminability.txt``, Fig. 1) on a real network.

    Args:
        model: any ``hamgeo.nets`` model (its ``apply(..., return_preactivations=True)``
            gives the code), or ``None`` for a ReLU MLP given by ``variables`` alone.
        variables: the model's variables.
        origin: a point of the input space (the model's example shape).
        u: first direction, same shape.
        v: second direction, same shape.
        extent: half-width ``e`` (the square ``[-e, e]^2``) or ``(a_min, a_max, b_min, b_max)``.
        resolution: pixels per side, or ``(cols, rows)``.
        batch_size: points per compiled batch (memory: ``batch_size x`` input size).

    Returns:
        A :class:`SlicePartition`.

    Raises:
        TypeError: ``model`` without ``apply``.
        ValueError: bad shapes, extent or resolution.

    Examples:
        >>> import numpy as np
        >>> params = {"hidden_0": {"kernel": np.eye(2), "bias": np.zeros(2)}}
        >>> part = slice_partition(None, {"params": params}, np.zeros(2), np.array([1.0, 0.0]),
        ...                        np.array([0.0, 1.0]), extent=1.0, resolution=8)
        >>> part.n_cells, part.ids.shape
        (4, (8, 8))
    """
    o, uu, vv = _plane_vectors(origin, u, v)
    ext = _as_extent(extent)
    cols, rows = _as_resolution(resolution)
    if int(batch_size) < 1:
        raise ValueError(f"`batch_size` must be positive, got {batch_size}")
    src_model, src_vars = _code_source(model, variables)
    a = np.linspace(ext[0], ext[1], cols, dtype=np.float32)
    b = np.linspace(ext[2], ext[3], rows, dtype=np.float32)
    ab = np.stack(np.meshgrid(a, b, indexing="xy"), axis=-1).reshape(-1, 2)
    n = ab.shape[0]
    bs = min(int(batch_size), n)
    pad = (-n) % bs
    ab = np.concatenate([ab, np.zeros((pad, 2), np.float32)])
    args = (src_model, src_vars, o.shape, o.ravel(), uu.ravel(), vv.ravel())
    words = jnp.concatenate(
        [_plane_words(*args, jnp.asarray(ab[i : i + bs])) for i in range(0, n + pad, bs)]
    )[:n]
    count, ids = _bucketed_unique_ids(words)
    ids = np.asarray(ids)
    n_cells = int(count)
    first = np.zeros(n_cells, dtype=np.int64)
    first[ids[::-1]] = np.arange(n)[::-1]  # any representative pixel of each cell
    n_bits = jax.eval_shape(partial(_plane_bits, *args), jnp.zeros((1, 2))).shape[1]
    codes = PackedCodes(words[jnp.asarray(first)], n_bits)
    return SlicePartition(ids.reshape(rows, cols), n_cells, codes, ext)


def plot_partition(
    partition: SlicePartition,
    *,
    ax: Any = None,
    cmap: str = "tab20",
    boundaries: bool = True,
    boundary_color: str = "black",
    seed: int = 0,
) -> Any:
    """Draw the cells of a :func:`slice_partition` (colours) and their boundaries.

    Args:
        partition: the slice.
        ax: a matplotlib ``Axes`` (a new figure when ``None``).
        cmap: colormap; cells get shuffled colours so that neighbours differ.
        boundaries: draw the pixels where the cell id changes.
        boundary_color: colour of the boundaries.
        seed: seed of the colour shuffle (a NumPy generator, local).

    Returns:
        The ``Axes``.

    Examples:
        >>> import numpy as np
        >>> params = {"hidden_0": {"kernel": np.eye(2), "bias": np.zeros(2)}}
        >>> part = slice_partition(None, {"params": params}, np.zeros(2), np.eye(2)[0],
        ...                        np.eye(2)[1], resolution=16)
        >>> ax = plot_partition(part)
        >>> [float(t) for t in ax.get_xlim()]
        [-1.0, 1.0]
    """
    import matplotlib.colors as mcolors
    import matplotlib.pyplot as plt

    if not isinstance(partition, SlicePartition):
        raise TypeError(f"`partition` must be a SlicePartition, got {type(partition).__name__}")
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    ids = partition.ids
    perm = np.random.default_rng(seed).permutation(max(partition.n_cells, 1))
    colours = plt.get_cmap(cmap)
    img = colours(perm[ids] % colours.N)
    ax.imshow(img, origin="lower", extent=partition.extent, interpolation="nearest", aspect="auto")
    if boundaries:
        edge = np.zeros(ids.shape, dtype=bool)
        edge[:, 1:] |= ids[:, 1:] != ids[:, :-1]
        edge[1:, :] |= ids[1:, :] != ids[:-1, :]
        overlay = np.zeros((*ids.shape, 4))
        overlay[edge] = mcolors.to_rgba(boundary_color)
        ax.imshow(
            overlay, origin="lower", extent=partition.extent, interpolation="nearest", aspect="auto"
        )
    ax.set_xlim(partition.extent[0], partition.extent[1])
    ax.set_ylim(partition.extent[2], partition.extent[3])
    return ax


# --------------------------------------------------------------------------------------
# cells as a graph: facets, adjacency on a plane, d_T
# --------------------------------------------------------------------------------------


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
    from hamgeo._facets import affine_forms, facet_mask

    del model
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
    count, ids = _host_unique_ids(words)
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
    from hamgeo._facets import affine_forms

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
