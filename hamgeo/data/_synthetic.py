"""The discriminability paper's controlled set-up: a Gaussian grid and diagonal probes."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hamgeo._checks import (
    check_finite_array,
    check_float,
    check_int,
    check_key,
    check_not_traced,
    check_positive_float,
    check_positive_int,
)
from hamgeo.data._dataset import Dataset

__all__ = ["diagonal_probe", "gaussian_grid"]

_MAX_VALUES = 2**28
"""Most float32 values [`gaussian_grid`][hamgeo.data.gaussian_grid] makes (train and test inputs
together)."""


def _seed_from_key(key: jax.Array) -> int:
    """A NumPy / scikit-learn seed drawn from a JAX key (deterministic)."""
    return int(jax.random.randint(key, (), 0, 2**31 - 1))


def _kmeans(points: np.ndarray, n_groups: int, seed: int, n_init: int = 10) -> np.ndarray:
    """Group ``points`` by k-means (scikit-learn, seeded); returns the centres."""
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    # One thread: symmetric grids have tied clusterings, and KMeans keeps the init whose
    # inertia is smallest, a sum it reduces over as many OpenMP threads as the machine has
    # cores; the tie then went one way on 1 core and another on 2 (5 x 5 grid, 2 groups).
    with threadpool_limits(limits=1):
        km = KMeans(n_clusters=n_groups, n_init=n_init, random_state=seed).fit(points)
    return km.cluster_centers_.astype(np.float32)


def gaussian_grid(
    *,
    key: jax.Array,
    per_axis: int = 5,
    dim: int = 2,
    n_groups: int = 5,
    n_per_gaussian: int = 200,
    n_test_per_gaussian: int | None = None,
    spread: float | None = None,
) -> Dataset:
    """Gaussians on an evenly spaced grid in ``[0, 1]^dim``, labelled by k-means groups.

    The set-up of the discriminability paper ([Discriminability], section 3; see the
    bibliography, ``docs/references.md``): ``per_axis**dim`` isotropic Gaussians whose
    means lie on the grid ``linspace(0, 1, per_axis)`` along each axis; k-means over the
    means (``n_groups`` clusters, seeded from ``key``) gives the groups, and every
    Gaussian takes the group of its nearest cluster centre. A sample's label is its
    Gaussian's group.

    Args:
        key: a ``jax.random`` key; the same key gives the same data set.
        per_axis: grid points per axis (``>= 2``). The data set, ``per_axis**dim *
            (n_per_gaussian + n_test_per_gaussian) * dim`` values, must fit in ``2**28``
            float32 values (1 GiB); larger requests raise ``ValueError`` up front.
        dim: the input dimension.
        n_groups: number of labels (``1 <= n_groups <= per_axis**dim``).
        n_per_gaussian: training points drawn from each Gaussian.
        n_test_per_gaussian: test points per Gaussian (default ``n_per_gaussian // 4``,
            at least 1).
        spread: the standard deviation of every coordinate. The default, one eighth of
            the grid spacing, puts neighbouring means 8 standard deviations apart, so
            the clusters do not overlap.

    Returns:
        A [`Dataset`][hamgeo.data.Dataset] (``x: float32[n, dim]``, grouped by Gaussian then
        shuffled)
        whose ``info`` holds ``means`` ``[per_axis**dim, dim]``, ``group_of_gaussian``
        ``[per_axis**dim]``, ``centres`` ``[n_groups, dim]`` (the k-means centres),
        ``gaussian_train`` / ``gaussian_test`` (each sample's Gaussian) and ``spread``.

    Host-only: it groups the means with scikit-learn's KMeans and returns NumPy arrays.

    Examples:
        >>> import jax
        >>> ds = gaussian_grid(key=jax.random.key(0), per_axis=3, n_groups=2, n_per_gaussian=4)
        >>> ds.x_train.shape, ds.info["means"].shape, ds.info["group_of_gaussian"].shape
        ((36, 2), (9, 2), (9,))
        >>> sorted(set(ds.y_train.tolist()))
        [0, 1]
    """
    check_not_traced("gaussian_grid", key)
    key = check_key(key)
    per_axis = check_int(per_axis, "per_axis", minimum=2)
    dim = check_positive_int(dim, "dim")
    n_per_gaussian = check_positive_int(n_per_gaussian, "n_per_gaussian")
    if n_test_per_gaussian is None:
        n_test_per_gaussian = max(1, n_per_gaussian // 4)
    n_test_per_gaussian = check_positive_int(n_test_per_gaussian, "n_test_per_gaussian")
    # Refuse a data set too large to hold before allocating anything (log2 first: a
    # huge per_axis**dim is itself too expensive to compute).
    per_gaussian = n_per_gaussian + n_test_per_gaussian
    log2_values = dim * math.log2(per_axis) + math.log2(per_gaussian * dim)
    if log2_values > math.log2(_MAX_VALUES):
        raise ValueError(
            f"`per_axis`**`dim` Gaussians x (`n_per_gaussian` + `n_test_per_gaussian`) "
            f"points x `dim` coordinates must be at most 2**28 float32 values (1 GiB), got "
            f"{per_axis}**{dim} x {per_gaussian} x {dim} (about 2**{log2_values:.1f})"
        )
    n_gauss = per_axis**dim
    n_groups = check_int(n_groups, "n_groups", minimum=1, maximum=n_gauss)
    spacing = 1.0 / (per_axis - 1)
    spread = spacing / 8.0 if spread is None else check_positive_float(spread, "spread")

    axis = np.linspace(0.0, 1.0, per_axis, dtype=np.float32)
    means = np.stack(np.meshgrid(*([axis] * dim), indexing="ij"), axis=-1).reshape(n_gauss, dim)
    k_kmeans, k_train, k_test, k_perm = jax.random.split(key, 4)
    centres = _kmeans(means, n_groups, _seed_from_key(k_kmeans))
    sq = ((means[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
    group = np.argmin(sq, axis=1).astype(np.int32)

    def draw(k: jax.Array, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        k_noise, k_shuffle = jax.random.split(k)
        gauss = np.repeat(np.arange(n_gauss, dtype=np.int32), n)
        noise = np.asarray(jax.random.normal(k_noise, (n_gauss * n, dim), jnp.float32))
        x = means[gauss] + np.float32(spread) * noise
        order = np.asarray(jax.random.permutation(k_shuffle, n_gauss * n))
        return x[order], group[gauss[order]], gauss[order]

    x_tr, y_tr, g_tr = draw(k_train, n_per_gaussian)
    x_te, y_te, g_te = draw(k_test, n_test_per_gaussian)
    info = {
        "means": means,
        "group_of_gaussian": group,
        "centres": centres,
        "gaussian_train": g_tr,
        "gaussian_test": g_te,
        "spread": float(spread),
        "per_axis": per_axis,
        "dim": dim,
        "n_groups": n_groups,
    }
    return Dataset(x_tr, y_tr, x_te, y_te, f"gaussian_grid({per_axis}^{dim}, {n_groups})", info)


def diagonal_probe(
    t: Any,
    *,
    dim: int = 2,
    m: int = 1,
    key: jax.Array | None = None,
    start: float = 0.0,
    spread: float = 0.03,
) -> jax.Array:
    """Probe points on the diagonal of ``[0, 1]^dim`` ([Discriminability]'s test data).

    The centre at arc length ``t`` from the corner ``start·1`` is
    ``start·1 + t·1/√dim``. With ``key=None`` and ``m = 1`` the probe is that single
    point; with a key it is a cloud of ``m`` points, the centre plus isotropic
    Gaussian noise of standard deviation ``spread``. The noise depends on ``key``
    only, so every ``t`` gets the same cloud shape and clouds differ only by the shift.

    Args:
        t: arc length(s) along the diagonal, a scalar or an array ``[T]``.
        dim: the input dimension.
        m: points per probe.
        key: a ``jax.random`` key for the cloud; required when ``m > 1``.
        start: the diagonal starts at the corner ``start·1``.
        spread: standard deviation of the cloud around its centre.

    Returns:
        ``float32[m, dim]`` for a scalar ``t``, ``float32[T, m, dim]`` for ``t: [T]``.

    Traceable: jit, vmap

    Examples:
        >>> import jax
        >>> p = diagonal_probe(2.0**0.5, dim=2)
        >>> p.shape, [round(v, 4) for v in p[0].tolist()]
        ((1, 2), [1.0, 1.0])
        >>> clouds = diagonal_probe(jax.numpy.array([0.0, 0.5]), m=7, key=jax.random.key(1))
        >>> clouds.shape
        (2, 7, 2)
    """
    dim = check_positive_int(dim, "dim")
    m = check_positive_int(m, "m")
    start = check_float(start, "start")
    spread = check_float(spread, "spread", minimum=0.0)
    if key is not None:
        key = check_key(key)
    t_arr = jnp.asarray(check_finite_array(t, "t", ndim=(0, 1)), dtype=jnp.float32)
    if m > 1 and key is None:
        raise ValueError(f"`key` is required for a cloud of m={m} points")
    centre = jnp.float32(start) + t_arr[..., None] / jnp.sqrt(jnp.float32(dim))  # [..., 1]
    centre = jnp.broadcast_to(centre, (*t_arr.shape, dim))[..., None, :]  # [..., 1, dim]
    if key is None:
        return centre
    noise = jnp.float32(spread) * jax.random.normal(key, (m, dim), jnp.float32)
    return centre + noise.reshape((1,) * t_arr.ndim + (m, dim))
