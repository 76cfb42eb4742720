"""Validation and conditioning of the samples that distances compare (private).

The distance packages [`transport`][hamgeo.transport], [`mmd`][hamgeo.mmd] and
[`gaussian`][hamgeo.gaussian] all take two samples, either codes ``[n, n_bits]`` or real
vectors ``[n, d]``, and optionally weights. This module is their shared leaf (as
``experiments/_common.py`` is the studies'): it checks the samples once, with the wording
of [`_checks`][hamgeo._checks], and conditions real samples so that float32 never overflows
or cancels:
[`center_scale`][hamgeo._samples.center_scale] moves both samples by one common shift
and scales them by one common power of two, which every distance here is equivariant to.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np

from hamgeo._checks import (
    check_array,
    check_finite_array,
    check_positive_float,
    describe,
    float_dtype,
    is_tracer,
)
from hamgeo.codes import PackedCodes, as_packed_batch
from hamgeo.hamming import pairwise_hamming

__all__ = [
    "Distance",
    "center_scale",
    "check_float32_range",
    "float32_option",
    "host_center_scale",
    "pairwise_distances",
    "real_sample",
    "sample_pair",
    "weights",
]


#: The ground distances between samples: Hamming (optionally / n_bits) on codes,
#: (squared) Euclidean on real vectors.
Distance = Literal["hamming", "hamming_normalized", "euclidean", "sqeuclidean"]


def pairwise_distances(x: Any, y: Any, distance: Distance) -> jax.Array:
    """Dense ``[n, m]`` distances ``d(x_i, y_j)`` in the default float dtype (or ``x``'s).

    The one distance helper of [`hamgeo.transport`][hamgeo.transport] and
    [`hamgeo.mmd`][hamgeo.mmd]. Hamming distances go through
    [`pairwise_hamming`][hamgeo.hamming.pairwise_hamming] (the dispatched kernels, native
    on CPU and XLA elsewhere); real ones are ``|x|^2 + |y|^2 - 2 x.y`` clipped at 0 (on
    conditioned samples, see [`center_scale`][hamgeo._samples.center_scale]), and the
    Euclidean square root has a finite (zero) gradient at coincident points.
    """
    if distance in ("hamming", "hamming_normalized"):
        d = pairwise_hamming(x, y).astype(jnp.zeros((), float).dtype)
        return d / x.n_bits if distance == "hamming_normalized" else d
    sq = jnp.sum(x * x, axis=1)[:, None] + jnp.sum(y * y, axis=1)[None, :] - 2.0 * (x @ y.T)
    sq = jnp.maximum(sq, 0.0)
    if distance == "sqeuclidean":
        return sq
    pos = sq > 0
    return jnp.where(pos, jnp.sqrt(jnp.where(pos, sq, 1.0)), 0.0)


def check_float32_range(x: Any, name: str) -> None:
    """Refuse real inputs that are finite in float64 but not normal in float32 (when concrete).

    For scalar options (``epsilon``, ``bandwidth``, ``threshold``) that hamgeo casts to
    float32: 1e300 would become inf there, and a nonzero 1e-300 would become 0 (or a
    denormal, below float32's smallest normal), silently changing the result.
    """
    if is_tracer(x):
        return
    values = np.asarray(x)
    if values.dtype.kind not in "fiu" or values.size == 0:
        return
    with np.errstate(over="ignore", under="ignore"):
        as32 = values.astype(np.float32)
    if not np.all(np.isfinite(as32)):
        raise ValueError(
            f"`{name}` must be finite in float32 (the precision hamgeo computes in), got a "
            f"value of magnitude {float(np.abs(values).max()):.3g}; rescale it"
        )
    tiny = float(np.finfo(np.float32).tiny)
    small = (values != 0) & (np.abs(as32) < tiny)
    if np.any(small):
        raise ValueError(
            f"`{name}` must be at least {tiny:.4g} in magnitude (float32's smallest normal "
            f"number, the precision hamgeo computes in) where nonzero, got "
            f"{float(np.abs(values[small]).min()):.3g}, which underflows; rescale it"
        )


def float32_option(value: Any, name: str) -> Any:
    """A positive scalar option computed in float32 (``epsilon``, ``bandwidth``, ``threshold``).

    Concrete values must be finite, ``> 0`` and normal in float32
    ([`check_float32_range`][hamgeo._samples.check_float32_range]); they come back as a
    Python float. A traced value (``jax.jit`` over the option) can only be checked to be
    a real scalar, and comes back as it is.
    """
    if is_tracer(value):
        dtype = np.dtype(value.dtype)
        if getattr(value, "ndim", None) != 0 or dtype.kind not in "fiu":
            raise TypeError(f"`{name}` must be a real scalar, got {describe(value)}")
        return value
    checked = check_positive_float(value, name)
    check_float32_range(checked, name)
    return checked


def real_sample(x: Any, name: str) -> np.ndarray | jax.Array:
    """``x`` as a finite real ``[n, d]`` array with ``n >= 1`` (not yet cast), or a clear error.

    Bool and integer arrays are accepted as real vectors. NumPy inputs stay NumPy (float64
    values are conditioned on the host before any cast to float32, see
    [`center_scale`][hamgeo._samples.center_scale]); JAX inputs stay JAX.
    """
    if isinstance(x, PackedCodes):
        raise TypeError(f"`{name}` must be a real array [n, d] for this cost, got PackedCodes")
    x = check_finite_array(x, name, ndim=2, kind="fiub")
    if x.shape[0] < 1:
        raise ValueError(f"`{name}` must hold at least one point, got shape {tuple(x.shape)}")
    if x.shape[1] < 1:
        raise ValueError(f"`{name}` must have at least one coordinate, got shape {tuple(x.shape)}")
    return x


def sample_pair(x: Any, y: Any, kind: Literal["codes", "real"]) -> tuple[Any, Any]:
    """Validate two samples of one kind (codes, or real vectors) and one dimension."""
    if kind == "codes":
        for name, z in (("x", x), ("y", y)):
            if not isinstance(z, PackedCodes):
                check_array(z, name)  # ragged lists, strings, None: one clear TypeError
        x, y = as_packed_batch(x, "x"), as_packed_batch(y, "y")
        if x.n_bits != y.n_bits:
            raise ValueError(
                f"`x` and `y` must have the same number of bits, got {x.n_bits} and {y.n_bits}"
            )
    else:
        x, y = real_sample(x, "x"), real_sample(y, "y")
        if x.shape[1] != y.shape[1]:
            raise ValueError(
                f"`x` and `y` must have the same dimension, got {x.shape[1]} and {y.shape[1]}"
            )
    return x, y


def center_scale(x: Any, y: Any) -> tuple[jax.Array, jax.Array, Any]:
    """Shift both samples by their pooled mean and divide by a common power of two.

    Returns ``(x', y', scale)`` with ``x = x' * scale + shift`` (same for ``y``), the
    largest ``|x'|`` in ``[0.5, 1)`` (``scale = 1`` when all points coincide), cast to
    [`float_dtype`][hamgeo._checks.float_dtype]. Euclidean distances scale by ``scale``
    exactly (a power of two),
    and the shift removes the cancellation ``|x|^2 + |y|^2 - 2 x.y`` suffers far from the
    origin, so float32 neither overflows (coordinates of 1e20) nor underflows (1e-30).

    Concrete inputs are conditioned in float64 on the host, so float64 data beyond the
    float32 range still work; ``scale`` is then a Python float. Traced inputs (``jit``,
    ``grad``) are conditioned in their own dtype with shift and scale held constant
    (``stop_gradient``; every distance here is shift-invariant and scale-equivariant, so
    gradients are unchanged); ``scale`` is then a scalar array.
    """
    dtype = float_dtype(x.dtype, y.dtype)
    if not (is_tracer(x) or is_tracer(y)):
        x64, y64, scale = host_center_scale(x, y)
        return jnp.asarray(x64, dtype), jnp.asarray(y64, dtype), scale
    x, y = jnp.asarray(x, dtype), jnp.asarray(y, dtype)
    shift = jax.lax.stop_gradient(jnp.mean(jnp.concatenate([x, y]), axis=0, keepdims=True))
    x, y = x - shift, y - shift
    top = jax.lax.stop_gradient(jnp.maximum(jnp.max(jnp.abs(x)), jnp.max(jnp.abs(y))))
    pow2 = jnp.exp2(jnp.floor(jnp.log2(jnp.where(top > 0, top, 1.0))) + 1)
    traced_scale = jnp.where(top > 0, pow2, 1.0)
    return x / traced_scale, y / traced_scale, traced_scale


def host_center_scale(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray, float]:
    """[`center_scale`][hamgeo._samples.center_scale] for concrete samples, in float64.

    Powers of two are applied as exponents (``np.ldexp``), so coordinates up to the
    float64 limit are conditioned exactly; a ``scale`` beyond float64 raises ``ValueError``.
    """
    x64, y64 = np.asarray(x, np.float64), np.asarray(y, np.float64)
    # A first power-of-two scale keeps the sums below finite (coordinates up to 1.8e308).
    pre = _pow2_exponent_above(max(float(np.abs(x64).max()), float(np.abs(y64).max())))
    x64, y64 = np.ldexp(x64, -pre), np.ldexp(y64, -pre)
    shift = np.concatenate([x64, y64]).mean(axis=0)
    x64, y64 = x64 - shift, y64 - shift
    top = max(float(np.abs(x64).max()), float(np.abs(y64).max()))
    if not top > 0:  # all points coincide
        return x64, y64, 1.0
    post = _pow2_exponent_above(top)
    if pre + post >= 1024:  # 2.0 ** 1024 is past float64
        raise ValueError(
            "`x` and `y` are too far apart for float64 (coordinates near the float64 limit)"
        )
    return np.ldexp(x64, -post), np.ldexp(y64, -post), math.ldexp(1.0, pre + post)


def _pow2_exponent_above(top: float) -> int:
    """``e`` with ``2**(e - 1) <= top < 2**e`` (0 for 0): dividing by ``2**e`` is exact."""
    return math.frexp(top)[1] if top > 0 else 0


def weights(w: Any, n: int, name: str, *, host: bool = False) -> jax.Array | np.ndarray:
    """Probability weights ``[n]``: ``None`` is uniform; others are normalized to sum 1.

    Weights must be real, finite, nonnegative, one per point, with a positive sum.
    ``host=True`` returns them as a float64 NumPy array (for exact host solvers).
    """
    dtype = jnp.zeros((), float).dtype
    if w is None:
        return np.full((n,), 1.0 / n) if host else jnp.full((n,), 1.0 / n, dtype)
    if isinstance(w, PackedCodes):
        raise TypeError(f"`{name}` must be a real array of weights, got {describe(w)}")
    w = check_finite_array(w, name, ndim=1, kind="fiu")
    if w.shape[0] != n:
        raise ValueError(
            f"`{name}` must have shape [{n}] (one weight per point), got shape {tuple(w.shape)}"
        )
    if is_tracer(w):
        w = jnp.asarray(w, dtype)
        return w / jnp.sum(w)
    values = np.asarray(w, np.float64)
    if np.any(values < 0):
        raise ValueError(f"`{name}` must be nonnegative, got a weight {values.min():.6g}")
    top = float(values.max())
    if not top > 0:
        raise ValueError(f"`{name}` must have a positive sum, got all weights 0")
    values = values / top  # no overflow of the sum, whatever the units
    values = values / values.sum()
    return values if host else jnp.asarray(values, dtype)
