"""The MMD statistic, its kernels and bandwidth, and the permutation test (see the package)."""

from __future__ import annotations

import functools
import math
import warnings
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from hamgeo._checks import (
    check_bool,
    check_choice,
    check_key,
    check_not_traced,
    check_positive_int,
    is_tracer,
)
from hamgeo._samples import center_scale, float32_option, pairwise_distances, sample_pair
from hamgeo.codes import CodesLike, PackedCodes

__all__ = ["KernelUnderflowWarning", "TestResult", "mmd", "mmd_test"]

Kernel = Literal["hamming", "hamming_normalized", "gaussian"]
_KERNELS = ("hamming", "hamming_normalized", "gaussian")
# Pooled samples above this many points are streamed in row blocks.
_DENSE_MAX_POINTS = 8192
# The median heuristic looks at most at this many pooled points (a fixed, even subsample).
_MEDIAN_MAX_POINTS = 2048
# mmd_test's [N, P + 1] split matrix is refused beyond this many entries (1 GiB of float32).
_SPLITS_MAX_ENTRIES = 2**28


class KernelUnderflowWarning(UserWarning):
    """Some kernel entries are exactly 0 in floating point (bandwidth too small)."""


class TestResult(NamedTuple):
    """Result of [`mmd_test`][hamgeo.mmd.mmd_test].

    Attributes:
        statistic: the MMD² of the observed split (unbiased unless asked otherwise).
        p_value: ``(1 + #{T_perm >= T}) / (1 + n_permutations)``.
        null: ``[n_permutations]`` statistics of the permuted splits.
    """

    statistic: jax.Array
    p_value: jax.Array
    null: jax.Array


TestResult.__test__ = False  # type: ignore[attr-defined]  # not a pytest test class


# ---------------------------------------------------------------------------
# kernels


def _kind(kernel: Any) -> str:
    kernel = check_choice("kernel", kernel, _KERNELS)
    return "real" if kernel == "gaussian" else "codes"


def _distances(x: Any, y: Any, kernel: Any) -> jax.Array:
    """The distance the kernel is a function of: ``d_H``, ``d_H / n_bits`` or ``|x - y|^2``."""
    return pairwise_distances(x, y, "sqeuclidean" if kernel == "gaussian" else kernel)


def _from_distance(d: jax.Array, kernel: str, bandwidth: jax.Array) -> jax.Array:
    if kernel == "gaussian":
        return jnp.exp(-d / (2.0 * bandwidth * bandwidth))
    return jnp.exp(-d / bandwidth)


def _concat(x: Any, y: Any) -> Any:
    if isinstance(x, PackedCodes):
        return PackedCodes(jnp.concatenate([x.words, y.words]), x.n_bits)
    return jnp.concatenate([x, y])


def _bandwidth(x: Any, y: Any, kernel: str, bandwidth: Any) -> jax.Array:
    dtype = jnp.zeros((), float).dtype
    if isinstance(bandwidth, str):
        if bandwidth != "median":
            raise ValueError(
                f"`bandwidth` must be a positive number or 'median', got {bandwidth!r}"
            )
        if is_tracer(getattr(x, "words", x)) or is_tracer(getattr(y, "words", y)):
            raise ValueError(
                "`bandwidth='median'` needs concrete samples (it is computed on the host); "
                "under jax.jit give a number"
            )
        z = _concat(x, y)
        n = z.shape[0]
        if n > _MEDIAN_MAX_POINTS:
            z = z[np.linspace(0, n - 1, _MEDIAN_MAX_POINTS).astype(np.int64)]
        d = np.asarray(_distances(z, z, kernel), np.float64)
        k = d.shape[0]
        med = jnp.asarray(np.median(d[~np.eye(k, dtype=bool)]) if k > 1 else 0.0, dtype)
        med = jnp.sqrt(med) if kernel == "gaussian" else med
        if not float(med) > 0:
            raise ValueError(
                "`bandwidth='median'`: the median pooled distance is 0 (most points coincide); "
                "give a positive number"
            )
        return med.astype(dtype)
    return jnp.asarray(bandwidth, dtype)  # a number, validated by _prepare


def _check_underflow(d_off_min: float, d_off_max: float, kernel: str, bandwidth: float) -> None:
    """Raise if every off-diagonal kernel entry underflows, warn if some do."""
    dtype = jnp.zeros((), float).dtype
    limit = -math.log(float(jnp.finfo(dtype).tiny))  # exp(-t) == 0 (or denormal) past t
    scale = 2.0 * bandwidth * bandwidth if kernel == "gaussian" else bandwidth
    lo, hi = d_off_min / scale, d_off_max / scale
    if lo > limit:
        raise ValueError(
            f"the {kernel!r} kernel underflows: every off-diagonal entry exp(-d/{scale:.4g}) is 0 "
            f"in {np.dtype(dtype).name} (smallest distance {d_off_min:.4g}); use a larger "
            "`bandwidth`, bandwidth='median' or kernel='hamming_normalized'"
        )
    if hi > limit:
        warnings.warn(
            f"the {kernel!r} kernel underflows to 0 for distances above {limit * scale:.4g} "
            f"(largest {d_off_max:.4g}); consider a larger `bandwidth` or bandwidth='median'",
            KernelUnderflowWarning,
            stacklevel=3,
        )


def _prepare(x, y, kernel, bandwidth, unbiased, block_size):
    """Validate what [`mmd`][hamgeo.mmd.mmd] and [`mmd_test`][hamgeo.mmd.mmd_test] share.

    Real samples are conditioned too.

    Gaussian-kernel samples are shifted and scaled by a power of two (see
    [`center_scale`][hamgeo._samples.center_scale]); a numeric bandwidth is scaled with them, so
    the kernel values are those of the caller's units.
    """
    kind = _kind(kernel)
    if not isinstance(bandwidth, str):
        bandwidth = float32_option(bandwidth, "bandwidth")
    unbiased = check_bool(unbiased, "unbiased")
    if block_size is not None:
        block_size = check_positive_int(block_size, "block_size")
    x, y = sample_pair(x, y, kind)
    n, m = x.shape[0], y.shape[0]
    if unbiased and (n < 2 or m < 2):
        raise ValueError(f"unbiased MMD needs at least 2 points in `x` and in `y`, got {n} and {m}")
    if kind == "real":
        x, y, scale = center_scale(x, y)
        if not isinstance(bandwidth, str):
            bandwidth = bandwidth / scale
            if not is_tracer(bandwidth) and not np.float32(bandwidth) > 0:
                raise ValueError(
                    f"`bandwidth` is below the float32 range relative to the data's scale "
                    f"({float(scale):.3g}); give a larger bandwidth or 'median'"
                )
    bw = _bandwidth(x, y, kernel, bandwidth)
    return x, y, bw, unbiased, block_size


# ---------------------------------------------------------------------------
# blocked kernel sums


@functools.partial(jax.jit, static_argnames=("kernel",))
def _pooled_block(rows, z, start, s, bw, kernel):
    """One row block of the pooled kernel, reduced against the split matrix.

    ``rows`` are pooled points ``start .. start + b``; ``K0`` is the kernel with
    its diagonal zeroed. Returns ``(K0_block @ 1, sum(s_block * (K0_block @ s), 0),
    min and max off-diagonal distance)``.
    """
    d = _distances(rows, z, kernel)
    b, big_n = d.shape
    diag = jnp.arange(big_n)[None, :] == (start + jnp.arange(b))[:, None]
    k0 = jnp.where(diag, 0.0, _from_distance(d, kernel, bw))
    s_rows = jax.lax.dynamic_slice_in_dim(s, start, b, axis=0)
    quad = jnp.sum(s_rows * (k0 @ s), axis=0)
    lo = jnp.min(jnp.where(diag, jnp.inf, d))
    hi = jnp.max(jnp.where(diag, -jnp.inf, d))
    return jnp.sum(k0, axis=1), quad, lo, hi


def _pooled_statistics(x, y, s, kernel, bw, block, unbiased):
    """MMD² of every split in ``s`` (``[N, P]`` indicators of the "x" points).

    With ``K0`` the pooled kernel without its diagonal and ``r = K0 1``, a split
    ``s`` has ``A = s^T K0 s`` (the x-x sum), cross sum ``s^T r - A`` and y-y sum
    ``1^T r - 2 s^T r + A``: one product ``K0 @ S`` gives all splits. The pooled
    kernel is streamed in row blocks of ``block`` points.
    """
    n, m = x.shape[0], y.shape[0]
    z = _concat(x, y)
    big_n = n + m
    r_parts, quad, lo, hi = [], 0.0, math.inf, -math.inf
    for start in range(0, big_n, block):
        rows = z[start : min(big_n, start + block)]
        r_b, q_b, lo_b, hi_b = _pooled_block(rows, z, start, s, bw, kernel)
        r_parts.append(r_b)
        quad = quad + q_b
        if not isinstance(lo_b, jax.core.Tracer):  # under jax.grad the check is skipped
            lo, hi = min(lo, float(lo_b)), max(hi, float(hi_b))
    if big_n > 1 and math.isfinite(lo):
        _check_underflow(lo, hi, kernel, float(bw))
    return _finish(jnp.concatenate(r_parts), quad, s, n, m, unbiased)


@functools.partial(jax.jit, static_argnames=("n", "m", "unbiased"))
def _finish(r, quad, s, n, m, unbiased):
    sr = r @ s
    yy = jnp.sum(r) - 2.0 * sr + quad
    cross = sr - quad
    if unbiased:
        return quad / (n * (n - 1)) + yy / (m * (m - 1)) - 2.0 * cross / (n * m)
    # Biased: the diagonal adds k(z, z) = 1 per point.
    return (quad + n) / (n * n) + (yy + m) / (m * m) - 2.0 * cross / (n * m)


def _labels(n: int, m: int) -> jax.Array:
    dtype = jnp.zeros((), float).dtype
    return jnp.concatenate([jnp.ones((n, 1), dtype), jnp.zeros((m, 1), dtype)])


def mmd(
    x: CodesLike,
    y: CodesLike,
    *,
    kernel: Kernel = "hamming",
    bandwidth: float | Literal["median"] = 1.0,
    unbiased: bool = True,
    block_size: int | None = None,
) -> jax.Array:
    r"""Squared maximum mean discrepancy between two samples (Gretton et al. 2012).

    The biased estimate is
    :math:`\frac{1}{n^2}\sum k(x_i, x_j) + \frac{1}{m^2}\sum k(y_i, y_j) -
    \frac{2}{nm}\sum k(x_i, y_j)`; the unbiased one (``unbiased=True``, the
    default) leaves out the diagonal terms and divides by :math:`n(n-1)` and
    :math:`m(m-1)` (it can be negative). The discriminability paper uses
    ``kernel="hamming"`` with ``bandwidth=1``: ``k = exp(-d_H)``
    ([Discriminability]). Every kernel block goes through one module-level jitted
    function: a repeated call compiles nothing.

    Traceable: jit, vmap, grad

    (With a numeric ``bandwidth``, which may itself be traced; under a trace the range and
    underflow checks are skipped, and ``bandwidth="median"`` needs concrete samples.
    ``kernel``, ``unbiased`` and ``block_size`` are static.)

    Args:
        x: first sample: codes ``[n, n_bits]`` (``PackedCodes`` or bool / {0, 1})
            for the Hamming kernels, real ``[n, d]`` for ``"gaussian"``.
        y: second sample ``[m, n_bits]`` or ``[m, d]``.
        kernel: ``"hamming"``, ``"hamming_normalized"`` or ``"gaussian"``.
        bandwidth: a positive number or ``"median"`` (the median heuristic).
        unbiased: the unbiased estimate (needs ``n, m >= 2``).
        block_size: rows per streamed block (default: all rows up to 8192).

    Returns:
        MMD² as a scalar array.

    Raises:
        ValueError: bad samples (empty, mismatched dimension, NaN / inf), a
            bad bandwidth, or a kernel that underflows everywhere off the diagonal.
        TypeError: arguments of the wrong type (a string ``unbiased``, a float
            ``block_size``, float vectors for a Hamming kernel).

    Warns:
        KernelUnderflowWarning: some off-diagonal kernel entries underflow to 0.

    Examples:
        >>> x = [[0, 0, 0], [0, 0, 1]]
        >>> y = [[1, 1, 1], [1, 1, 0]]
        >>> round(float(mmd(x, y, unbiased=False)), 4)
        1.1828
    """
    xs, ys, bw, unbiased, block_size = _prepare(x, y, kernel, bandwidth, unbiased, block_size)
    n, m = xs.shape[0], ys.shape[0]
    block = _block(n + m, block_size)
    return _pooled_statistics(xs, ys, _labels(n, m), kernel, bw, block, unbiased)[0]


def _block(n_pooled: int, block_size: int | None) -> int:
    if block_size is None:
        return max(n_pooled, 1) if n_pooled <= _DENSE_MAX_POINTS else 1024
    return block_size


# ---------------------------------------------------------------------------
# permutation test


def _split_matrix(key: jax.Array, n_x: int, n_total: int, n_perm: int, dtype: Any) -> jax.Array:
    """``[N, P]`` indicators of ``n_x`` of ``N`` points drawn without replacement, per column.

    A column's points are the ``n_x`` smallest of ``N`` random 32-bit keys drawn
    from ``key`` (a uniform random split; ties, of probability about
    ``N^2 / 2^33`` per column, are broken by position). Selected on the host with
    ``np.argpartition`` (linear time), which XLA's CPU sort is far slower than.
    """
    bits = np.asarray(jax.random.bits(key, (n_perm, n_total), jnp.uint32))
    chosen = np.argpartition(bits, n_x - 1, axis=1)[:, :n_x]
    s = np.zeros((n_perm, n_total), np.dtype(dtype))
    s[np.arange(n_perm)[:, None], chosen] = 1.0
    return jnp.asarray(s.T)


def mmd_test(
    x: CodesLike,
    y: CodesLike,
    *,
    key: jax.Array,
    n_permutations: int = 1000,
    kernel: Kernel = "hamming",
    bandwidth: float | Literal["median"] = 1.0,
    unbiased: bool = True,
    block_size: int | None = None,
) -> TestResult:
    r"""Permutation two-sample test with the MMD² statistic (Gretton et al. 2012).

    The pooled kernel matrix ``K`` (``N = n + m`` points) is computed once.
    A split is an indicator vector ``s`` of the points labelled "x"; with
    ``K0 = K - diag(K)`` and ``r = K0 1``, every MMD² follows from
    ``A = s^T K0 s`` and ``s^T r`` (the cross sum is ``s^T r - A``, the y sum
    ``1^T r - 2 s^T r + A``), so all ``P`` permutations are evaluated together
    as one product ``K0 @ S`` with ``S`` the ``[N, P]`` matrix of permuted
    indicators. Pooled samples above 8192 points are streamed: ``K0`` is
    computed one row block at a time and multiplied by ``S`` at once.

    The p-value is ``(1 + #{T_perm >= T}) / (1 + P)``, valid at every level
    ([Discriminability]).

    Host-only: the permutations are drawn on the host (a hamgeo TypeError under a trace).

    Args:
        x: first sample (as for [`mmd`][hamgeo.mmd.mmd]).
        y: second sample.
        key: a ``jax.random`` key for the permutations.
        n_permutations: number of random permutations ``P`` (>= 1).
        kernel: ``"hamming"``, ``"hamming_normalized"`` or ``"gaussian"``.
        bandwidth: a positive number or ``"median"``.
        unbiased: use the unbiased MMD² (needs ``n, m >= 2``).
        block_size: rows of the pooled kernel per streamed block.

    Returns:
        [`TestResult`][hamgeo.mmd.TestResult] ``(statistic, p_value, null)``.

    Raises:
        ValueError: as [`mmd`][hamgeo.mmd.mmd], ``n_permutations < 1``, or more permutations
            times points than fit in memory (``(n + m) (P + 1) > 2**28``).
        TypeError: as [`mmd`][hamgeo.mmd.mmd]; a ``key`` that is not a JAX PRNG key (``key=0``:
            write ``key=jax.random.key(0)``); a non-integer ``n_permutations``; traced
            inputs (the splits are drawn on the host: call it outside ``jax.jit``).

    Examples:
        >>> import jax
        >>> x = [[0, 0, 0, 0]] * 6 + [[0, 0, 0, 1]] * 6
        >>> y = [[1, 1, 1, 1]] * 6 + [[1, 1, 1, 0]] * 6
        >>> res = mmd_test(x, y, key=jax.random.key(0), n_permutations=199)
        >>> round(float(res.p_value), 4), res.null.shape
        (0.005, (199,))
    """
    # the permutations are drawn on the host: `x`, `y` and `key` must be concrete
    check_not_traced("mmd_test", key, getattr(x, "words", x), getattr(y, "words", y))
    key = check_key(key)
    n_perm = check_positive_int(n_permutations, "n_permutations")
    xs, ys, bw, unbiased, block_size = _prepare(x, y, kernel, bandwidth, unbiased, block_size)
    n, m = xs.shape[0], ys.shape[0]
    if (n + m) * (n_perm + 1) > _SPLITS_MAX_ENTRIES:
        raise ValueError(
            f"`n_permutations` = {n_perm} with {n + m} pooled points needs a split matrix of "
            f"{(n + m) * (n_perm + 1)} entries (limit {_SPLITS_MAX_ENTRIES}); use fewer "
            "permutations"
        )
    big_n = n + m
    dtype = jnp.zeros((), float).dtype
    s = _split_matrix(key, n, big_n, n_perm, dtype)
    s = jnp.concatenate([_labels(n, m), s], axis=1)  # column 0: the observed split
    stats = _pooled_statistics(xs, ys, s, kernel, bw, _block(big_n, block_size), unbiased)
    t_obs, null = stats[0], stats[1:]
    p_value = (1.0 + jnp.sum(null >= t_obs)) / (1.0 + n_perm)
    return TestResult(t_obs, p_value, null)
