"""Distance curves between a probe sample and its shifted copy, and the cell count.

Private to [`hamgeo.experiments.discriminability`][hamgeo.experiments.discriminability]: for one
trained net, the codes and
post-ReLU activations of ``S1`` and of every shifted ``S2`` come from one jitted pass of
the pre-activations; the distances between them are measured in code, activation and
data space ([`DISTANCES`][hamgeo.experiments.discriminability.DISTANCES]).
"""

from __future__ import annotations

import functools
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np

from hamgeo.codes import PackedCodes, pack_bits
from hamgeo.data import diagonal_probe
from hamgeo.experiments.discriminability._config import DISTANCES, Config, plane, plane_extent
from hamgeo.gaussian import frechet_distance
from hamgeo.hamming import pairwise_hamming
from hamgeo.mmd import mmd
from hamgeo.nets import preactivations
from hamgeo.regions import exact_slice_partition, slice_partition
from hamgeo.transport import wasserstein

__all__ = [
    "count_cells",
    "hyperplane_preactivations",
    "net_preactivations",
    "plan",
    "probe_clouds",
    "random_hyperplanes",
    "sample_curves",
]


@functools.cache
def _batched_distances():
    """Jitted Fréchet and MMD of one sample against each of ``T`` samples (compiled once)."""

    def mmd_words(w1, w2, bandwidth, n_bits):
        return mmd(
            PackedCodes(w1, n_bits), PackedCodes(w2, n_bits), bandwidth=bandwidth, unbiased=False
        )

    frechet = jax.jit(jax.vmap(frechet_distance, in_axes=(None, 0)))
    # the bandwidth is traced (one compilation per shape, whatever the median comes out as)
    mmds = jax.jit(jax.vmap(mmd_words, in_axes=(None, 0, None, None)), static_argnums=(3,))
    return frechet, mmds


def _preactivations(model, variables, x):
    return jnp.concatenate(preactivations(model, variables, x), axis=-1)


#: all hidden pre-activations ``[n, N]`` of a net (compiled once per model and shape)
net_preactivations = jax.jit(_preactivations, static_argnums=0)


def random_hyperplanes(n_bits: int, dim: int, key: jax.Array) -> tuple[np.ndarray, np.ndarray]:
    """``n_bits`` random hyperplanes through uniform points of ``[0, 1]^dim``.

    Returns ``(normals float32[n_bits, dim], points float32[n_bits, dim])``; the codes of
    ``x`` are ``(x - points) . normals > 0`` per hyperplane: the random-code control.
    """
    k1, k2 = jax.random.split(key)
    normals = np.asarray(jax.random.normal(k1, (n_bits, dim)), np.float32)
    points = np.asarray(jax.random.uniform(k2, (n_bits, dim)), np.float32)
    return normals, points


def hyperplane_preactivations(planes: tuple[np.ndarray, np.ndarray], x: np.ndarray) -> np.ndarray:
    """``float32[n, n_bits]`` signed distances of ``x`` to the hyperplanes (times their norm)."""
    normals, points = planes
    return np.asarray(x, np.float32) @ normals.T - (normals * points).sum(axis=1)[None, :]


def _frechet_many(x: jax.Array, ys: jax.Array) -> np.ndarray:
    """Fréchet distance of ``x`` ``[m, d]`` to each ``ys[t]`` ``[T, m, d]``.

    For single points (zero covariances) the Fréchet distance is the Euclidean distance.
    """
    if x.shape[0] == 1:
        return np.linalg.norm(
            np.asarray(ys[:, 0], np.float64) - np.asarray(x[0], np.float64), axis=-1
        )
    return np.asarray(_batched_distances()[0](x, ys), np.float64)


def _all_equal(u, v) -> bool:
    """Whether every row of both samples (codes or vectors) is one and the same."""
    u = np.asarray(getattr(u, "words", u))
    v = np.asarray(getattr(v, "words", v))
    return bool((u == u[:1]).all() and (v == u[:1]).all())


def _sinkhorn_curves(c1, c2_all, a1, a2_all, m, epsilon, curves, converged) -> None:
    """Code and activation W1 of ``S1`` against each ``S2`` by Sinkhorn (clouds, ``m > 1``)."""
    for i in range(a2_all.shape[0]):
        pairs: dict[str, tuple[Any, Any, Literal["hamming", "euclidean"]]] = {
            "code_wasserstein": (c1, c2_all[i * m : (i + 1) * m], "hamming"),
            "activ_wasserstein": (a1, a2_all[i], "euclidean"),
        }
        for name, (u, v, cost) in pairs.items():
            if _all_equal(u, v):
                # one point repeated in both samples: every plan costs 0, no Sinkhorn to run
                continue
            ot = wasserstein(u, v, cost=cost, p=1, epsilon=epsilon, method="kernel")
            curves[name][i] = float(ot.value)
            converged[name].append(bool(ot.converged))


def sample_curves(
    pre: Any, s1: np.ndarray, s2: np.ndarray, *, theta: int, epsilon: float | None
) -> tuple[dict[str, np.ndarray], dict[str, list[bool]]]:
    """Distances between ``S1`` ``[m, d]`` and each shifted ``S2`` ``[T, m, d]``.

    ``pre`` maps points ``[n, d]`` to hidden pre-activations ``[n, N]`` (a trained net, the
    same net at initialization, or random hyperplanes). For ``m = 1`` both Wasserstein
    distances are ground distances between two point masses (no Sinkhorn is run);
    otherwise each is a Sinkhorn run whose ``converged`` is recorded. "Hamming" of clouds
    is the mean Hamming distance of each point to its own translate; the truncated ones are
    ``min(d_H, theta)`` and ``min(d_H, 2 theta)`` averaged likewise; the MMD runs at
    bandwidth 1 (the paper's ``exp(-d_H)``) and at the median Hamming distance between
    ``S1`` and all ``S2`` points (at least 1).

    Returns:
        ``({distance: float64[T]}, {"code_wasserstein": [bool], "activ_wasserstein": [bool]})``.
    """
    n_t, m, d = s2.shape
    both = jnp.asarray(pre(jnp.asarray(np.concatenate([s1[None], s2]).reshape(-1, d))))
    codes = pack_bits(both > 0)
    acts = jax.nn.relu(both).reshape(n_t + 1, m, -1)
    c1, c2_all = codes[:m], codes[m:]
    a1, a2_all = acts[0], acts[1:]
    # paired Hamming: point i of S1 against its own translate in S2
    dh = np.asarray(pairwise_hamming(c2_all, c1)).reshape(n_t, m, m)
    paired = np.diagonal(dh, axis1=1, axis2=2).astype(np.float64)
    curves = {k: np.zeros(n_t) for k in DISTANCES}
    curves["code_hamming"] = paired.mean(axis=1)
    curves["code_truncated_hamming"] = np.minimum(paired, theta).mean(axis=1)
    curves["code_truncated_hamming_half"] = np.minimum(paired, 2 * theta).mean(axis=1)
    converged: dict[str, list[bool]] = {"code_wasserstein": [], "activ_wasserstein": []}
    if m == 1:
        # W1 between two point masses is their ground distance: no Sinkhorn to run
        curves["code_wasserstein"] = paired[:, 0].copy()
        curves["activ_wasserstein"] = _frechet_many(a1, a2_all)
    else:
        _sinkhorn_curves(c1, c2_all, a1, a2_all, m, epsilon, curves, converged)
    words2 = c2_all.words.reshape(n_t, m, -1)
    median = max(1.0, float(np.median(dh)))
    for name, bandwidth in (("code_mmd", 1.0), ("code_mmd_median", median)):
        curves[name] = np.asarray(
            _batched_distances()[1](c1.words, words2, np.float32(bandwidth), c1.n_bits),
            np.float64,
        )
    curves["activ_frechet"] = _frechet_many(a1, a2_all)
    curves["data_frechet"] = _frechet_many(jnp.asarray(s1), jnp.asarray(s2))
    curves["data_euclidean"] = (
        np.linalg.norm(s2 - s1[None], axis=-1).mean(axis=1).astype(np.float64)
    )
    return curves, converged


def count_cells(model, variables, config: Config) -> int:
    """Cells of the net on the input plane's window (``plane``).

    The exact count ([`hamgeo.regions.exact_slice_partition`][hamgeo.regions.exact_slice_partition])
    with
    ``config.cells.exact_cells``, else the distinct codes of a ``grid_resolution``-square
    raster (a lower bound: cells thinner than a pixel are missed).
    """
    origin, u, v = plane(config.grid.dim)
    extent = plane_extent(config.grid.dim)
    if config.cells.exact_cells:
        return int(exact_slice_partition(model, variables, origin, u, v, extent=extent).n_cells)
    part = slice_partition(
        model, variables, origin, u, v, extent=extent, resolution=config.cells.grid_resolution
    )
    return int(part.n_cells)


def plan(config: Config) -> dict[tuple[int, int, int], set[int]]:
    """``{(depth, width, groups): {m}}``: every net the sweeps need and its sample sizes."""
    out: dict[tuple[int, int, int], set[int]] = {}
    for depth in config.nets.depths:
        out.setdefault((depth, config.nets.width, config.grid.n_groups), set()).update(
            {1, config.probe.depth_sample_size}
        )
    sweep = (config.nets.sweep_depth, config.nets.sweep_width, config.grid.n_groups)
    out.setdefault(sweep, set()).update(config.probe.sample_sizes)
    for groups in config.probe.label_counts:
        out.setdefault((config.nets.sweep_depth, config.nets.sweep_width, groups), set()).add(
            config.probe.label_sample_size
        )
    for depth, width in config.nets.equal_units:  # cells only (last: earlier keys unchanged)
        out.setdefault((depth, width, config.grid.n_groups), set())
    return out


def probe_clouds(config: Config, sizes: Any, key: jax.Array) -> dict[int, np.ndarray]:
    """``{m: float32[T, m, dim]}`` the probe clouds (``m = 1``: the points themselves)."""
    out = {}
    for m in sorted(sizes):
        out[m] = np.asarray(
            diagonal_probe(
                jnp.asarray(config.shifts),
                dim=config.grid.dim,
                m=m,
                key=None if m == 1 else key,
                start=0.0,
                spread=config.probe.probe_spread,
            )
        )
    return out
