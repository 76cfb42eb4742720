"""The Fréchet distance between Gaussian fits of two samples (see the package)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from hamgeo._checks import is_tracer
from hamgeo._samples import center_scale, sample_pair
from hamgeo.codes import CodesLike, PackedCodes

__all__ = ["frechet_distance"]


def _psd_sqrt(mat: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Symmetric square root of a PSD matrix by ``eigh``; eigenvalues clipped at 0.

    Returns ``(sqrt(mat), clipped eigenvalues)``.
    """
    mat = 0.5 * (mat + mat.T)
    w, v = jnp.linalg.eigh(mat)
    w = jnp.maximum(w, 0.0)
    return (v * _safe_sqrt(w)[None, :]) @ v.T, w


def _safe_sqrt(w: jax.Array) -> jax.Array:
    """``sqrt`` with a finite (zero) gradient at 0."""
    pos = w > 0
    return jnp.where(pos, jnp.sqrt(jnp.where(pos, w, 1.0)), 0.0)


def _moments(z: jax.Array) -> tuple[jax.Array, jax.Array]:
    mu = jnp.mean(z, axis=0)
    c = z - mu[None, :]
    return mu, (c.T @ c) / (z.shape[0] - 1)


def frechet_distance(x: CodesLike, y: CodesLike) -> jax.Array:
    """W2 between the Gaussian fits of two samples (not squared).

    Fits means and covariances (unbiased, ``n - 1``) and returns
    ``sqrt(|mu_x - mu_y|^2 + tr(S_x + S_y - 2 (S_x^{1/2} S_y S_x^{1/2})^{1/2}))``,
    the benchmark distance of the discriminability paper (Fréchet 1957).

    Both square roots are symmetric square roots through ``eigh``, so no
    inverse is ever taken: rank-deficient covariances (binary codes have
    constant units; fewer points than dimensions) are fine. The only
    regularization is clipping eigenvalues that roundoff makes slightly negative
    to 0 (and the final squared distance at 0); there is no additive ridge, so
    the value is exact for singular covariances.

    **Precision.** Computed in the input's floating dtype (float64 when
    ``jax_enable_x64`` is on and the input is float64; float32 otherwise). Both
    samples are first shifted by their pooled mean and scaled by a common power of
    two (the distance is invariant to the one and equivariant to the other), so
    samples of scale 1e20 or 1e-20 give finite, accurate values in float32 too;
    float64 data beyond the float32 range are conditioned in float64 on the host. A
    distance that itself exceeds the result dtype's range raises ``ValueError``.
    Differentiable in ``x`` and ``y`` where the eigenvalues are distinct.

    Traceable: jit, vmap, grad

    Args:
        x: ``[n, d]`` real sample (n >= 2), or codes (``PackedCodes`` /
            bool ``[n, n_bits]``, taken as {0, 1} vectors).
        y: ``[m, d]`` real sample (m >= 2), or codes.

    Returns:
        The distance as a scalar array.

    Raises:
        ValueError: mismatched dimensions, fewer than 2 points, NaN / inf, or a
            distance beyond the float range.
        TypeError: samples that are not real arrays or codes.

    Examples:
        >>> import numpy as np
        >>> x = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
        >>> round(float(frechet_distance(x, x + 3.0)), 4)  # shift of (3, 3)
        4.2426
        >>> round(float(frechet_distance(x * 1e20, (x + 3.0) * 1e20)) / 1e20, 4)
        4.2426
    """
    xs, ys = sample_pair(_as_real(x), _as_real(y), "real")
    for name, z in (("x", xs), ("y", ys)):
        if z.shape[0] < 2:
            raise ValueError(
                f"`{name}` must hold at least 2 points to fit a covariance, "
                f"got shape {tuple(z.shape)}"
            )
    xc, yc, scale = center_scale(xs, ys)
    mu_x, cov_x = _moments(xc)
    mu_y, cov_y = _moments(yc)
    sx, _ = _psd_sqrt(cov_x)
    _, w = _psd_sqrt(sx @ cov_y @ sx)
    diff = mu_x - mu_y
    sq = diff @ diff + jnp.trace(cov_x) + jnp.trace(cov_y) - 2.0 * jnp.sum(_safe_sqrt(w))
    d = _safe_sqrt(jnp.maximum(sq, 0.0)) * jnp.asarray(scale, xc.dtype)
    if not is_tracer(d) and not bool(jnp.isfinite(d)):
        raise ValueError(
            f"the Fréchet distance between `x` and `y` exceeds the {d.dtype} range "
            f"(scale {float(scale):.3g}); rescale the samples or enable jax_enable_x64"
        )
    return d


def _as_real(z: Any) -> Any:
    if isinstance(z, PackedCodes):
        return z.unpack()
    return z
