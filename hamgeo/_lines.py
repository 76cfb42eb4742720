"""Exact line regions of ReLU MLPs (private; public names live in ``hamgeo.regions``)."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax.numpy as jnp
import numpy as np

from hamgeo.codes import PackedCodes, pack_bits

__all__ = ["LineRegions", "check_mlp_model", "crossing_distance", "line_regions", "mlp_layers"]


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


def check_mlp_model(model: Any) -> None:
    """Exact cell geometry here assumes a plain ReLU MLP: ``hamgeo.nets.MLP`` or ``None``."""
    if model is None:
        return
    from hamgeo.nets import MLP  # analysis sits above nets; imported when first needed

    if not isinstance(model, MLP):
        raise TypeError(
            "`model` must be a hamgeo.nets.MLP (a ReLU MLP) or None (variables in its layout), "
            f"got {type(model).__name__}"
        )


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
    check_mlp_model(model)  # then the variables say everything about its cells
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
