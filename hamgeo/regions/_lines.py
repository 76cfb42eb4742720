"""Exact line regions of ReLU MLPs (private; public names live in ``hamgeo.regions``)."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike, DTypeLike

from hamgeo._checks import check_int, check_not_traced
from hamgeo.codes import PackedCodes
from hamgeo.nets import MLP
from hamgeo.regions._common import (
    Variables,
    check_mlp_model,
    float_dtype,
    host_words,
    mlp_layers,
    popcount_rows,
    segment_points,
)

__all__ = ["LineRegions", "crossing_distance", "line_regions"]


class LineRegions(NamedTuple):
    """The cells straight segments ``x(t) = x0 + t (x1 - x0)``, ``t in [0, 1]``, cross.

    One type for one segment and for ``m`` of them, stored like a CSR matrix: segment
    ``i`` has the breakpoints ``breakpoints[offsets[i]:offsets[i + 1]]`` and the codes
    ``codes[offsets[i] + i : offsets[i + 1] + i + 1]`` (one more piece than
    breakpoints). For one segment (``m = 1``) ``breakpoints`` and ``codes`` are simply
    its own; ``segment(i)`` cuts out segment ``i``.

    Attributes:
        breakpoints: ``float[k]``, increasing within each segment, in ``(0, 1)``: every
            ``t`` where some hidden unit's pre-activation changes sign.
        codes: ``PackedCodes [k + m]``: the activation code of each piece
            ``[0, t_1], [t_1, t_2], ..., [t_k, 1]``, in order, segment after segment.
        offsets: ``int64[m + 1]``: where each segment's breakpoints start (``offsets[0]
            = 0``, ``offsets[m] = k``).
    """

    breakpoints: np.ndarray
    codes: PackedCodes
    offsets: np.ndarray

    @property
    def n_segments(self) -> int:
        """The number of segments ``m``."""
        return int(self.offsets.shape[0]) - 1

    def segment(self, i: int) -> LineRegions:
        """The breakpoints and codes of segment ``i`` alone (a one-segment ``LineRegions``)."""
        i = check_int(i, "i", minimum=0, maximum=self.n_segments - 1)
        lo, hi = int(self.offsets[i]), int(self.offsets[i + 1])
        codes = PackedCodes(self.codes.words[lo + i : hi + i + 1], self.codes.n_bits)
        return LineRegions(self.breakpoints[lo:hi], codes, np.array([0, hi - lo], np.int64))


def _line_pieces(layers, x0: np.ndarray, x1: np.ndarray, names: tuple[str, str]):
    """All segments at once: knots sorted by (segment, t) and the codes of the pieces.

    Written without differences of values (``x1 - x0``, ``za - zb``), which overflow for
    points near the dtype's limit; pre-activations that overflow anyway are refused.
    """
    m = x0.shape[0]
    seg = np.repeat(np.arange(m), 2)
    t = np.tile(np.array([0.0, 1.0], dtype=x0.dtype), m)
    origin = np.full(2 * m, -1, dtype=np.int32)  # the layer that inserted each knot
    h = np.where((t == 0.0)[:, None], x0[seg], x1[seg])  # the ends themselves
    interval_bits = []
    for layer, (w, b) in enumerate(layers):
        with np.errstate(over="ignore", invalid="ignore"):
            z = h @ w + b
        if not np.all(np.isfinite(z)):
            raise ValueError(
                f"`{names[0]}` and `{names[1]}` must be finite in {np.dtype(x0.dtype)} through "
                f"the net: their layer-{layer} pre-activations overflow; use smaller points"
            )
        same = seg[1:] == seg[:-1]
        za, zb = z[:-1], z[1:]
        # signs, not za * zb < 0: the product underflows to 0 or overflows
        i, j = np.nonzero((((za > 0) & (zb < 0)) | ((za < 0) & (zb > 0))) & same[:, None])
        if i.size:
            # the root of the linear piece, scaled so that nothing overflows
            scale = np.maximum(np.abs(za[i, j]), np.abs(zb[i, j]))
            frac = (za[i, j] / scale) / (za[i, j] / scale - zb[i, j] / scale)
            zn = (1.0 - frac)[:, None] * z[i] + frac[:, None] * z[i + 1]
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
    model: MLP | None,
    variables: Variables,
    x0: ArrayLike,
    x1: ArrayLike,
    *,
    dtype: DTypeLike = np.float64,
) -> LineRegions:
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
    discriminability paper ([Discriminability], see ``docs/references.md``).

    Args:
        model: a ReLU MLP (``hamgeo.nets.MLP``); only its ``variables`` are read.
        variables: the model's variables, dense hidden layers ``hidden_0, ...``.
        x0: start ``[d]`` (or the model's example shape), or ``[m, d]`` for ``m`` segments.
        x1: end, same shape as ``x0``.
        dtype: host float dtype of the computation.

    Returns:
        A [`LineRegions`][hamgeo.regions.LineRegions] of the ``m`` segments (``m = 1``
        for ``[d]`` inputs).

    Host-only: NumPy in ``dtype`` on the host; traced arguments raise hamgeo's ``TypeError``.

    Raises:
        TypeError: a model other than an MLP, non-numeric points, variables that are
            not a dict, or a ``dtype`` that is not a float dtype.
        ValueError: variables that are not an MLP's, or mismatched or non-finite points.

    Examples:
        >>> import numpy as np
        >>> params = {"hidden_0": {"kernel": np.eye(2), "bias": np.array([-0.5, -0.25])}}
        >>> lr = line_regions(None, {"params": params}, np.zeros(2), np.ones(2))
        >>> lr.breakpoints.tolist()
        [0.25, 0.5]
        >>> lr.codes.unpack().astype(int).tolist()
        [[0, 0], [0, 1], [1, 1]]
    """
    check_not_traced("line_regions", x0, x1)
    return _segment_regions(model, variables, x0, x1, float_dtype(dtype), ("x0", "x1"))[0]


def _segment_regions(
    model: Any, variables: Variables, x0: Any, x1: Any, dtype: Any, names: tuple[str, str]
) -> tuple[LineRegions, bool]:
    """``line_regions`` of every segment, and whether they came as a batch.

    ``names`` are the caller's names of ``x0`` and ``x1``, for error messages.
    """
    check_mlp_model(model)  # then the variables say everything about its cells
    layers = mlp_layers(variables, dtype)
    d_in = layers[0][0].shape[0]
    a, batched = segment_points(x0, d_in, names[0])
    b, batched_b = segment_points(x1, d_in, names[1])
    if a.shape != b.shape or batched != batched_b:
        raise ValueError(
            f"`{names[0]}` and `{names[1]}` must have the same shape, got {a.shape} and {b.shape}"
        )
    with np.errstate(over="ignore"):
        a, b = a.astype(dtype), b.astype(dtype)
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError(
            f"`{names[0]}` and `{names[1]}` must be finite in `dtype` {np.dtype(dtype)}, "
            "got values beyond its range"
        )
    t, seg, origin, interval_bits = _line_pieces(layers, a, b, names)
    # A piece is an interval of the final knots; in layer l it lies in the interval
    # that starts at the last knot inserted by layers <= l.
    starts = np.nonzero((seg[1:] == seg[:-1]) & (t[1:] > t[:-1]))[0]
    bits = []
    for layer, ib in enumerate(interval_bits):
        idx = np.cumsum(origin <= layer) - 1
        bits.append(ib[idx[starts]])
    all_bits = np.concatenate(bits, axis=1)
    words = host_words(all_bits)
    # pieces of segment s: bounds[s] .. bounds[s + 1]; its breakpoints start every piece
    # but its first, so they number bounds[s + 1] - bounds[s] - 1
    bounds = np.searchsorted(seg[starts], np.arange(a.shape[0] + 1))
    first = np.zeros(starts.size, bool)
    first[bounds[:-1]] = True
    offsets = (bounds - np.arange(a.shape[0] + 1)).astype(np.int64)
    codes = PackedCodes(jnp.asarray(words), all_bits.shape[1])
    return LineRegions(t[starts[~first]], codes, offsets), batched


def crossing_distance(
    model: MLP | None, variables: Variables, x: ArrayLike, y: ArrayLike
) -> np.ndarray:
    """Hyperplane crossings on the straight segment from ``x`` to ``y``.

    The number of unit sign changes along the segment, found exactly with
    [`line_regions`][hamgeo.regions.line_regions] (each breakpoint counts the units that flip
    there). A path
    through the tessellation, so an upper bound on the tessellation distance d_T
    of the discriminability paper: ``d_H <= d_T <= crossings``.

    Host-only: NumPy / SciPy in float64 on the host; traced points raise hamgeo's ``TypeError``.

    Args:
        model: a ReLU MLP (only ``variables`` are read).
        variables: its variables.
        x: ``[d]`` or ``[m, d]``.
        y: same shape as ``x``.

    Returns:
        ``int64`` scalar, or ``int64[m]``.

    Raises:
        TypeError: as [`line_regions`][hamgeo.regions.line_regions], naming ``x`` and ``y``.
        ValueError: as [`line_regions`][hamgeo.regions.line_regions], naming ``x`` and ``y``.

    Examples:
        >>> import numpy as np
        >>> params = {"hidden_0": {"kernel": np.eye(2), "bias": np.array([-0.5, -0.25])}}
        >>> int(crossing_distance(None, {"params": params}, np.zeros(2), np.ones(2)))
        2
    """
    check_not_traced("crossing_distance", x, y)
    lr, many = _segment_regions(model, variables, x, y, np.float64, ("x", "y"))
    words = np.asarray(lr.codes.words)
    flips = np.concatenate([popcount_rows(words[1:] ^ words[:-1]), [0]]).astype(np.int64)
    piece0 = lr.offsets[:-1] + np.arange(lr.n_segments)  # each segment's first piece
    flips[piece0[1:] - 1] = 0  # no step from one segment to the next
    counts = np.add.reduceat(flips, piece0)
    return counts if many else counts[0]
