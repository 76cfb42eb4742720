"""Shared definitions of ``hamgeo.regions`` (private leaf: imports no sibling module).

The argument checks every regions function runs (model, variables, points, planes,
windows, resolutions), the host-side layers of a ReLU MLP and a popcount on words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import numpy as np
from jax.typing import ArrayLike, DTypeLike

from hamgeo._checks import (
    check_finite_array,
    check_int,
    check_not_traced,
    check_positive_float,
    describe,
)
from hamgeo.codes import n_words
from hamgeo.nets import MLP
from hamgeo.nets.variables import mlp_dense_layers

__all__ = [
    "MAX_RESOLUTION",
    "Extent",
    "Resolution",
    "Variables",
    "as_extent",
    "as_resolution",
    "check_mlp_model",
    "float_dtype",
    "forward_bits",
    "host_words",
    "mlp_layers",
    "plane_vectors",
    "popcount_rows",
    "segment_points",
]

Variables: TypeAlias = Mapping[str, Any]
"""A model's variables (``{"params": {...}}``) or its params alone."""
Extent: TypeAlias = float | Sequence[float]
"""A window in plane coordinates: a half-width ``e`` or ``(a_min, a_max, b_min, b_max)``."""
Resolution: TypeAlias = int | Sequence[int]
"""Pixels per side, or ``(cols, rows)``."""
MAX_RESOLUTION = 2**14
"""Largest ``resolution`` per side: ``2**28`` grid points (or ``2**14`` traced lines per
direction) is already GiBs of work; more is refused up front, not by running out of memory."""


def mlp_layers(
    variables: Variables, dtype: DTypeLike = np.float64
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The hidden layers ``(kernel [n_in, n_out], bias [n_out])`` of a ReLU MLP, on the host.

    Reads the layout of ``hamgeo.nets.MLP``: ``variables["params"]["hidden_{i}"]``
    with ``"kernel"`` and ``"bias"``, ``i = 0, 1, ...`` (the ``head`` has no ReLU
    after it and does not cut cells).

    Host-only: it returns NumPy arrays on the host.

    Args:
        variables: the model's variables (``{"params": {...}}``) or its params.
        dtype: NumPy float dtype of the returned arrays.

    Returns:
        One ``(kernel, bias)`` pair per hidden layer, in order.

    Raises:
        TypeError: ``variables`` is not a mapping, or holds non-numeric arrays.
        ValueError: no ``hidden_0`` dense layer, non-finite weights, shapes that do not
            chain, another model's layers (a CNN's ``conv_i``) or a gap in ``hidden_i``.

    Examples:
        >>> import numpy as np
        >>> params = {"hidden_0": {"kernel": np.ones((2, 3)), "bias": np.zeros(3)}}
        >>> [w.shape for w, _ in mlp_layers({"params": params})]
        [(2, 3)]
    """
    check_not_traced("mlp_layers", variables)
    # The nets' own reader refuses other models' variables (a CNN's conv_i, a binary
    # net's latent kernels) and gaps in hidden_i instead of silently dropping them.
    layers = []
    for i, (kernel, bias) in enumerate(mlp_dense_layers(variables)):
        w = np.asarray(check_finite_array(kernel, f"variables hidden_{i} kernel"), dtype)
        b = np.asarray(check_finite_array(bias, f"variables hidden_{i} bias"), dtype)
        layers.append((w, b))
    return layers


def check_mlp_model(model: Any) -> None:
    """Exact cell geometry here assumes a plain ReLU MLP: ``hamgeo.nets.MLP`` or ``None``."""
    if model is not None and not isinstance(model, MLP):
        raise TypeError(
            "`model` must be a hamgeo.nets.MLP (a ReLU MLP) or None (variables in its layout), "
            f"got {describe(model)}"
        )


def segment_points(x: ArrayLike, d_in: int, name: str) -> tuple[np.ndarray, bool]:
    """``x`` as float64 ``[m, d_in]`` and whether it came as a batch (finite, real)."""
    check_not_traced("this hamgeo.regions function", x)
    a = np.asarray(check_finite_array(x, name, kind="fiu"))
    if a.ndim == 2 and a.shape[1] == d_in:
        return a.astype(np.float64), True
    if a.size == d_in:
        return a.reshape(1, d_in).astype(np.float64), False
    raise ValueError(f"`{name}` must be one input of {d_in} values or [m, {d_in}], got {a.shape}")


def popcount_rows(words: np.ndarray) -> np.ndarray:
    """Set bits per row of ``uint32[..., W]`` (host side)."""
    return np.unpackbits(np.ascontiguousarray(words).view(np.uint8), axis=-1).sum(-1)


def as_extent(extent: Extent) -> tuple[float, float, float, float]:
    """A window ``(a_min, a_max, b_min, b_max)`` from a half-width ``e`` or four bounds."""
    if isinstance(extent, Sequence | np.ndarray) and np.ndim(extent) > 0:
        e = np.asarray(check_finite_array(extent, "extent", kind="fiu"), np.float64).ravel()
        if e.size != 4 or e[0] >= e[1] or e[2] >= e[3]:
            raise ValueError(
                "`extent` must be a positive half-width or (a_min, a_max, b_min, b_max) with "
                f"a_min < a_max and b_min < b_max, got {extent!r}"
            )
        return (float(e[0]), float(e[1]), float(e[2]), float(e[3]))
    half = check_positive_float(extent, "extent")
    return (-half, half, -half, half)


def as_resolution(resolution: Resolution) -> tuple[int, int]:
    """``(cols, rows)`` from one int or a pair, each in ``[2, MAX_RESOLUTION]``."""
    if isinstance(resolution, Sequence | np.ndarray) and np.ndim(resolution) > 0:
        pair = list(np.asarray(resolution).ravel())
        if len(pair) != 2:
            raise ValueError(f"`resolution` must be an int >= 2 or (cols, rows), got {resolution}")
        cols, rows = (check_int(t, "resolution", minimum=2, maximum=MAX_RESOLUTION) for t in pair)
        return cols, rows
    r = check_int(resolution, "resolution", minimum=2, maximum=MAX_RESOLUTION)
    return r, r


def plane_vectors(
    origin: ArrayLike, u: ArrayLike, v: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``origin``, ``u``, ``v`` as finite float64 arrays of one shape."""
    check_not_traced("this hamgeo.regions function", origin, u, v)
    o, uu, vv = (
        np.asarray(check_finite_array(t, name, kind="fiu"), np.float64)
        for t, name in ((origin, "origin"), (u, "u"), (v, "v"))
    )
    if o.size == 0:
        raise ValueError(f"`origin` must hold at least one value, got shape {o.shape}")
    if uu.shape != o.shape or vv.shape != o.shape:
        raise ValueError(
            f"`u` and `v` must have the shape of `origin` {o.shape}, got {uu.shape} and {vv.shape}"
        )
    return o, uu, vv


def float_dtype(dtype: Any) -> np.dtype:
    """``dtype`` as a NumPy floating dtype (``TypeError`` for anything else)."""
    try:
        dt = np.dtype(dtype)
    except TypeError as err:
        raise TypeError(f"`dtype` must be a NumPy float dtype, got {describe(dtype)}") from err
    if dt.kind != "f":
        raise TypeError(f"`dtype` must be a NumPy float dtype, got {dt}")
    return dt


def forward_bits(layers: list[tuple[np.ndarray, np.ndarray]], x: np.ndarray) -> np.ndarray:
    """Activation bits ``bool[n, units]`` of the points ``x [n, d]`` (host, ``pre > 0``)."""
    h, out = x, []
    for w, b in layers:
        z = h @ w + b
        out.append(z > 0)
        h = np.maximum(z, 0.0)
    return np.concatenate(out, axis=1)


def host_words(bits: np.ndarray) -> np.ndarray:
    """``bool[n, n_bits]`` packed on the host into ``uint32[n, W]`` words (hamgeo's layout).

    No JAX call: host results with a new shape each time would otherwise compile anew.
    """
    n, n_bits = bits.shape
    buf = np.zeros((n, 4 * n_words(n_bits)), np.uint8)
    buf[:, : -(-n_bits // 8)] = np.packbits(bits, axis=1, bitorder="little")
    return buf.view("<u4").astype(np.uint32)
