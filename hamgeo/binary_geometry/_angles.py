"""Fig. 2 of the BNN-geometry paper: binarization angles, their theory and overlap."""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from hamgeo._checks import (
    check_choice,
    check_finite_array,
    check_float,
    check_key,
    check_positive_int,
    check_tuple,
    is_tracer,
)

__all__ = [
    "AngleTheory",
    "BinarizationAngles",
    "angle_overlap",
    "angle_theory",
    "binarization_angles",
    "sign_angle_limit",
]

_DISTRIBUTIONS = ("uniform", "gaussian")

# Raw moments E|w|, E w^2, E|w|^3, E w^4 of one weight.
_MOMENTS = {
    "uniform": (0.5, 1.0 / 3.0, 0.25, 0.2),  # U[-1, 1]
    "gaussian": (math.sqrt(2 / math.pi), 1.0, 2 * math.sqrt(2 / math.pi), 3.0),  # N(0, 1)
}

# Elements of random vectors drawn per lax.map step (bounds memory for large n * dim).
_DEFAULT_BLOCK_ELEMENTS = 1 << 21
# One row draws three float32 vectors of `dim`: at most 2**28 values (1 GiB) in all.
_MAX_DIM = (1 << 28) // 3
_MAX_N = 2**26  # n keys (8 bytes) and two float32 outputs: 16 bytes a row, 1 GiB in all


class BinarizationAngles(NamedTuple):
    """Samples of the two angle distributions of the paper's Fig. 2, in degrees.

    Attributes:
        sign: ``[n]`` angle between a random vector ``w`` and ``bin(w)`` (red curves).
        pairs: ``[n]`` angle between two independent random vectors (blue curves).
    """

    sign: jax.Array
    pairs: jax.Array


class AngleTheory(NamedTuple):
    """Closed-form description of the two angle distributions at one dimension (degrees).

    Attributes:
        dim: the dimension.
        sign_limit: ``arccos(E|w| / sqrt(E w^2))``, the ``dim -> inf`` sign angle.
        sign_mean: mean sign angle at ``dim`` (delta method to second order).
        sign_std: standard deviation of the sign angle (delta method, first order).
        pair_mean: mean angle between random pairs (exactly 90 by symmetry).
        pair_std: standard deviation of the random-pair angle (exact for Gaussian
            entries, where the angle has density proportional to ``sin(t)^(dim - 2)``;
            the cosine has variance exactly ``1 / dim`` for every symmetric entry law).
        overlap: overlap coefficient ``int min(p_sign, p_pair)`` of the two densities
            (normal approximation for the sign angle; meaningful for ``dim`` >~ 10).
    """

    dim: int
    sign_limit: float
    sign_mean: float
    sign_std: float
    pair_mean: float
    pair_std: float
    overlap: float


# ----------------------------------------------------------------------------- validation


def _check_distribution(distribution: Any) -> str:
    return check_choice("distribution", distribution, _DISTRIBUTIONS)


# ----------------------------------------------------------------------------- sampling


def _draw(key: jax.Array, dim: int, distribution: str) -> jax.Array:
    if distribution == "uniform":
        return jax.random.uniform(key, (dim,), minval=-1.0, maxval=1.0)
    return jax.random.normal(key, (dim,))


def _angle_deg(cos: jax.Array) -> jax.Array:
    return jnp.degrees(jnp.arccos(jnp.clip(cos, -1.0, 1.0)))


def _one_row(key: jax.Array, dim: int, distribution: str) -> tuple[jax.Array, jax.Array]:
    kw, ku, kv = jax.random.split(key, 3)
    w = _draw(kw, dim, distribution)
    b = jnp.where(w > 0, 1.0, -1.0)  # the paper's bin(x): 1 if x > 0 else -1
    w_norm = jnp.linalg.norm(w)
    cos_sign = jnp.where(w_norm > 0, jnp.dot(w, b) / (w_norm * math.sqrt(dim)), 1.0)
    u = _draw(ku, dim, distribution)
    v = _draw(kv, dim, distribution)
    denom = jnp.linalg.norm(u) * jnp.linalg.norm(v)
    cos_pair = jnp.where(denom > 0, jnp.dot(u, v) / jnp.where(denom > 0, denom, 1.0), 0.0)
    return _angle_deg(cos_sign), _angle_deg(cos_pair)


@functools.partial(jax.jit, static_argnames=("dim", "n", "distribution", "batch_size"))
def _binarization_angles(key, *, dim, n, distribution, batch_size):
    keys = jax.random.split(key, n)  # one key per row: results do not depend on batch_size
    return jax.lax.map(lambda k: _one_row(k, dim, distribution), keys, batch_size=batch_size)


def binarization_angles(
    *,
    key: jax.Array,
    dim: int,
    n: int,
    distribution: str = "uniform",
    batch_size: int | None = None,
) -> BinarizationAngles:
    """Sample the angles of the paper's Fig. 2: vector vs. its sign, and random pairs.

    Each of the ``n`` rows draws three independent vectors with i.i.d. entries: ``w``
    for the angle between ``w`` and ``bin(w)`` (``bin(x) = 1`` if ``x > 0`` else ``-1``)
    and ``u, v`` for the angle between two random vectors. Rows are computed by a
    vmapped kernel in blocks of ``batch_size`` rows, so memory stays
    ``O(batch_size * dim)`` whatever ``n``; the result does not depend on the block size.

    Anderson & Berg (2018), Sec. 2 and Fig. 2.

    Traceable: jit, vmap (``key`` traced; ``dim``, ``n``, ``distribution`` and
    ``batch_size`` are static Python values).

    Args:
        key: a JAX PRNG key.
        dim: the dimension of the vectors (>= 1).
        n: the number of angles of each kind (>= 1).
        distribution: ``"uniform"`` (entries on ``[-1, 1]``, as the paper: the training
            algorithm clips latent weights there) or ``"gaussian"`` (standard normal).
        batch_size: rows per vmapped block; default keeps a block near 2M entries.

    Returns:
        ``BinarizationAngles(sign, pairs)``, two ``float32[n]`` arrays in degrees.

    Raises:
        ValueError: if ``distribution`` is unknown, ``dim``, ``n``, ``batch_size``
            are not positive, ``dim`` is above ``2**28 // 3`` (one row's three vectors
            would exceed 1 GiB), ``n`` is above ``2**26`` (its keys and angles would exceed
            1 GiB), or ``key`` is a batch of keys.
        TypeError: if ``key`` is not a PRNG key, or ``dim``, ``n`` or ``batch_size``
            are not ints (or are traced).

    Examples:
        >>> import jax
        >>> sign, pairs = binarization_angles(key=jax.random.key(0), dim=1000, n=64)
        >>> sign.shape, pairs.shape
        ((64,), (64,))
        >>> bool(abs(float(sign.mean()) - 30.0) < 1.0), bool(abs(float(pairs.mean()) - 90) < 1)
        (True, True)
    """
    key = check_key(key)
    distribution = _check_distribution(distribution)
    dim = check_positive_int(dim, "dim")
    if dim > _MAX_DIM:  # refused before anything is allocated
        raise ValueError(
            f"`dim` must be at most {_MAX_DIM} (each row draws three float32 vectors of `dim` "
            f"entries, at most 2**28 values = 1 GiB), got {dim}"
        )
    n = check_positive_int(n, "n")
    if n > _MAX_N:  # refused before anything is allocated
        raise ValueError(
            f"`n` must be at most {_MAX_N} (2**26: one key and two float32 angles per row, "
            f"16 bytes a row, 1 GiB in all; draw larger samples in several calls), got {n}"
        )
    if batch_size is None:
        batch_size = max(1, min(n, _DEFAULT_BLOCK_ELEMENTS // (3 * dim)))
    else:
        batch_size = min(check_positive_int(batch_size, "batch_size"), n)
    sign, pairs = _binarization_angles(
        key, dim=dim, n=n, distribution=distribution, batch_size=batch_size
    )
    return BinarizationAngles(sign, pairs)


# ----------------------------------------------------------------------------- theory


def sign_angle_limit(distribution: str = "uniform") -> float:
    """Limit (``dim -> inf``) of the angle between ``w`` and ``bin(w)``, in degrees.

    ``cos = sum|w_i| / (sqrt(dim) ||w||) -> E|w| / sqrt(E w^2)`` by the law of large
    numbers: ``sqrt(3) / 2`` (30 degrees) for ``U[-1, 1]`` and ``sqrt(2 / pi)``
    (37.0 degrees) for Gaussian entries. hamgeo's formula for the angle the paper's
    Fig. 2 shows (Anderson & Berg 2018, Sec. 2, which states no value or formula).

    Host-only: a closed-form Python float (no array argument).

    Args:
        distribution: ``"uniform"`` or ``"gaussian"``.

    Returns:
        The limit angle in degrees.

    Examples:
        >>> round(sign_angle_limit("uniform"), 6), round(sign_angle_limit("gaussian"), 3)
        (30.0, 37.071)
    """
    m1, m2, _, _ = _MOMENTS[_check_distribution(distribution)]
    return math.degrees(math.acos(m1 / math.sqrt(m2)))


def _sign_angle_moments(dim: int, distribution: str) -> tuple[float, float]:
    """Delta method for ``arccos(A / sqrt(B))``, A = mean|w|, B = mean w^2 (radians)."""
    m1, m2, m3, m4 = _MOMENTS[distribution]
    cov = np.array([[m2 - m1**2, m3 - m1 * m2], [m3 - m1 * m2, m4 - m2**2]]) / dim
    c = m1 / math.sqrt(m2)
    # gradient and Hessian of f(A, B) = A B^(-1/2)
    df = np.array([m2**-0.5, -0.5 * m1 * m2**-1.5])
    d2f = np.array([[0.0, -0.5 * m2**-1.5], [-0.5 * m2**-1.5, 0.75 * m1 * m2**-2.5]])
    # h = arccos(f): h' = -f' / s, h'' = -c f' f'^T / s^3 - f'' / s, s = sqrt(1 - c^2)
    s = math.sqrt(1 - c * c)
    dh = -df / s
    d2h = -c * np.outer(df, df) / s**3 - d2f / s
    mean = math.acos(c) + 0.5 * float(np.sum(d2h * cov))
    std = math.sqrt(float(dh @ cov @ dh))
    return mean, std


def _pair_angle_density(dim: int, grid: np.ndarray) -> np.ndarray:
    """Density of the angle between two random Gaussian vectors, ``∝ sin(t)^(dim-2)``."""
    log_p = (dim - 2) * np.log(np.clip(np.sin(grid), 1e-300, None))
    p = np.exp(log_p - log_p.max())
    return p / np.trapezoid(p, grid)


def angle_theory(dim: int, distribution: str = "uniform") -> AngleTheory:
    """The two angle distributions of Fig. 2 in closed form, at dimension ``dim``.

    Sign angle: ``cos = A / sqrt(B)`` with ``A = mean|w_i|``, ``B = mean w_i^2``; the
    central limit theorem for ``(A, B)`` and the delta method give its mean (to
    ``O(1/dim)``) and standard deviation (``O(1/sqrt(dim))``). Random pairs: the cosine
    has mean 0 and variance exactly ``1/dim`` for any i.i.d. symmetric entries (sign
    symmetry kills the cross terms and ``E[u_1^2/|u|^2] = 1/dim``); for Gaussian
    entries the angle has density ``∝ sin(t)^(dim-2)``, which gives the angle's spread
    (about ``57.3 / sqrt(dim)`` degrees). ``overlap`` integrates the smaller of the two
    densities: for uniform entries it falls from about 0.3 at ``dim = 2`` to 0.01 at
    ``dim = 10`` and below 1e-5 by ``dim = 30`` — the paper's statement that the red
    and blue curves separate in moderately high dimension. hamgeo's theory for the
    paper's Fig. 2 (Anderson & Berg 2018, Sec. 2, after Kanerva 2009, who gives the
    ``O(1/sqrt(dim))`` spread of random-pair cosines).

    Host-only: closed-form float64 arithmetic on the host (no array argument).

    Args:
        dim: the dimension (>= 1).
        distribution: ``"uniform"`` or ``"gaussian"``.

    Returns:
        An [`AngleTheory`][hamgeo.binary_geometry.AngleTheory] (angles in degrees).

    Examples:
        >>> t = angle_theory(1000)
        >>> round(t.sign_limit, 1), round(t.sign_mean, 1), round(t.pair_std, 2)
        (30.0, 30.0, 1.81)
        >>> bool(angle_theory(16).overlap > angle_theory(64).overlap)
        True
    """
    distribution = _check_distribution(distribution)
    dim = check_positive_int(dim, "dim")
    limit = sign_angle_limit(distribution)
    if dim == 1:  # bin(w) is parallel to w; two random scalars are at 0 or 180 degrees
        return AngleTheory(1, limit, 0.0, 0.0, 90.0, 90.0, 0.5)
    mean, std = _sign_angle_moments(dim, distribution)
    grid = np.linspace(0.0, math.pi, 200_001)
    p_pair = _pair_angle_density(dim, grid)
    pair_std = math.sqrt(float(np.trapezoid((grid - math.pi / 2) ** 2 * p_pair, grid)))
    p_sign = np.exp(-0.5 * ((grid - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))
    overlap = float(np.trapezoid(np.minimum(p_sign, p_pair), grid))
    return AngleTheory(
        dim=dim,
        sign_limit=limit,
        sign_mean=math.degrees(mean),
        sign_std=math.degrees(std),
        pair_mean=90.0,
        pair_std=math.degrees(pair_std),
        overlap=min(overlap, 1.0),
    )


def _angles(x: Any, name: str, lo: float, hi: float) -> np.ndarray:
    """Finite angles in ``[lo, hi]``, flattened, non-empty (none dropped silently)."""
    if is_tracer(x):
        raise TypeError(
            f"`{name}` must be a concrete array, got a tracer: angle_overlap is host-only "
            "(NumPy histograms); call it outside jax.jit / vmap"
        )
    arr = np.asarray(check_finite_array(x, name, kind="fiu"), np.float64).ravel()
    if arr.size == 0:
        raise ValueError(f"`{name}` must hold at least one angle, got an empty array")
    if arr.min() < lo or arr.max() > hi:
        raise ValueError(
            f"`{name}` must be angles in `range_deg` [{lo}, {hi}] degrees, "
            f"got values in [{arr.min()}, {arr.max()}]"
        )
    return arr


def angle_overlap(
    a: Any, b: Any, *, bins: int = 90, range_deg: tuple[float, float] = (0.0, 180.0)
) -> float:
    """Overlap coefficient ``sum_k min(p_a[k], p_b[k])`` of two samples' histograms.

    1 for identical histograms, 0 for disjoint supports: the measured counterpart of
    the `overlap` field of [`AngleTheory`][hamgeo.binary_geometry.AngleTheory].

    Args:
        a: ``[n]`` angles in degrees.
        b: ``[m]`` angles in degrees.
        bins: number of equal bins over ``range_deg``.
        range_deg: the histogram range; every angle must lie in it.

    Returns:
        The overlap, in ``[0, 1]``.

    Raises:
        ValueError: NaN or infinite angles, angles outside ``range_deg``, an empty
            sample, a bad ``range_deg`` or ``bins``.
        TypeError: non-numeric angles.

    Host-only: NumPy histograms; under a trace it raises hamgeo's ``TypeError``.

    Examples:
        >>> angle_overlap([10.0, 20.0], [10.5, 100.0], bins=18)
        0.5
    """
    bins = check_positive_int(bins, "bins")
    if isinstance(range_deg, list):
        range_deg = tuple(range_deg)
    lo, hi = check_tuple(range_deg, "range_deg", check_float, min_length=2, max_length=2)
    if not lo < hi:
        raise ValueError(f"`range_deg` must be (low, high) with low < high, got {range_deg!r}")
    a, b = _angles(a, "a", lo, hi), _angles(b, "b", lo, hi)
    ha, edges = np.histogram(a, bins=bins, range=(lo, hi))
    hb, _ = np.histogram(b, bins=edges)
    return float(np.minimum(ha / a.size, hb / b.size).sum())
