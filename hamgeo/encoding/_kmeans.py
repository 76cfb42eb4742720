"""k-means on {0, 1} code vectors, scored by Hungarian accuracy and NMI."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from hamgeo._checks import (
    check_key,
    check_positive_int,
)
from hamgeo.codes import PackedCodes, as_packed_batch
from hamgeo.encoding._common import _labels, _same_bits

__all__ = ["KMeansResult", "kmeans_accuracy"]


# ------------------------------------------------------------------------------ k-means


class KMeansResult(NamedTuple):
    """Outcome of :func:`kmeans_accuracy`.

    Attributes:
        accuracy: fraction of codes whose cluster maps to their label under the
            Hungarian (maximum-agreement, one-to-one) matching of clusters to labels.
        nmi: normalized mutual information between clusters and labels
            (arithmetic normalization, as scikit-learn's default).
        assignments: ``int32[n]`` cluster of each code.
        centroids: ``float32[n_clusters, n_bits]`` cluster means.
        inertia: sum of squared Euclidean (= Hamming, for {0,1} centroids) distances
            of the codes to their centroids.
        converged: the assignments stopped changing before ``max_iterations``.
        n_iters: Lloyd iterations run.
        test_accuracy: with ``test_codes``: the fraction of test codes whose nearest
            centroid maps, under the same matching, to their label; else ``None``.
    """

    accuracy: float
    nmi: float
    assignments: jax.Array
    centroids: jax.Array
    inertia: float
    converged: bool
    n_iters: int
    test_accuracy: float | None = None


def _sq_dists(x: jax.Array, x_sq: jax.Array, c: jax.Array) -> jax.Array:
    """``[n, K]`` squared Euclidean distances, clipped at 0 against rounding."""
    c_sq = jnp.sum(c * c, axis=-1)
    d = x_sq[:, None] - 2.0 * (x @ c.T) + c_sq[None, :]
    return jnp.maximum(d, 0.0)


def _kmeans_impl(codes: PackedCodes, key: jax.Array, n_clusters: int, max_iterations: int):
    x = codes.unpack().astype(jnp.float32)
    n = x.shape[0]
    x_sq = jnp.sum(x * x, axis=-1)

    # k-means++ (Arthur & Vassilvitskii, 2007): each new centre drawn with
    # probability proportional to the squared distance to the nearest centre so far.
    keys = jax.random.split(key, n_clusters)
    first = jax.random.randint(keys[0], (), 0, n)
    centres = jnp.zeros((n_clusters, x.shape[1]), x.dtype).at[0].set(x[first])
    d_min = jnp.sum((x - x[first][None, :]) ** 2, axis=-1)

    def add_centre(j, state):
        centres, d_min = state
        total = jnp.sum(d_min)
        # All points already on a centre (fewer distinct codes than clusters): pick uniformly.
        logits = jnp.where(total > 0, jnp.log(jnp.maximum(d_min, 0.0)), jnp.zeros_like(d_min))
        pick = jax.random.categorical(keys[j], logits)
        centres = centres.at[j].set(x[pick])
        d_min = jnp.minimum(d_min, jnp.sum((x - x[pick][None, :]) ** 2, axis=-1))
        return centres, d_min

    centres, _ = jax.lax.fori_loop(1, n_clusters, add_centre, (centres, d_min))

    def assign(c):
        return jnp.argmin(_sq_dists(x, x_sq, c), axis=-1).astype(jnp.int32)

    def update(c, a):
        onehot = (a[:, None] == jnp.arange(n_clusters, dtype=jnp.int32)[None, :]).astype(x.dtype)
        counts = jnp.sum(onehot, axis=0)
        sums = onehot.T @ x
        # An empty cluster keeps its centre.
        return jnp.where(counts[:, None] > 0, sums / jnp.maximum(counts, 1.0)[:, None], c)

    def cond(state):
        _, _, changed, it = state
        return changed & (it < max_iterations)

    def body(state):
        c, a, _, it = state
        c = update(c, a)
        a_new = assign(c)
        return c, a_new, jnp.any(a_new != a), it + 1

    a0 = assign(centres)
    c, a, changed, it = jax.lax.while_loop(cond, body, (centres, a0, jnp.array(True), jnp.int32(0)))
    inertia = jnp.sum(jnp.min(_sq_dists(x, x_sq, c), axis=-1))
    return a, c, inertia, ~changed, it


_kmeans = jax.jit(_kmeans_impl, static_argnames=("n_clusters", "max_iterations"))


def _contingency(assign: np.ndarray, labels: np.ndarray, n_rows: int, n_cols: int) -> np.ndarray:
    table = np.zeros((n_rows, n_cols), dtype=np.int64)
    np.add.at(table, (assign, labels), 1)
    return table


def _hungarian(table: np.ndarray) -> tuple[float, np.ndarray]:
    """Accuracy of the best one-to-one cluster -> label map, and the map (-1: unmatched)."""
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(table, maximize=True)
    mapping = np.full(table.shape[0], -1, np.int64)
    mapping[rows] = cols
    return float(table[rows, cols].sum() / table.sum()), mapping


@jax.jit
def _nearest_centroid(codes: PackedCodes, c: jax.Array) -> jax.Array:
    x = codes.unpack().astype(jnp.float32)
    return jnp.argmin(_sq_dists(x, jnp.sum(x * x, axis=-1), c), axis=-1).astype(jnp.int32)


def _nmi(table: np.ndarray) -> float:
    """NMI with arithmetic-mean normalization (scikit-learn's default)."""
    n = table.sum()
    p = table / n
    pu, pv = p.sum(axis=1), p.sum(axis=0)
    nz = p > 0
    mi = float(np.sum(p[nz] * np.log(p[nz] / np.outer(pu, pv)[nz])))
    hu = float(-np.sum(pu[pu > 0] * np.log(pu[pu > 0])))
    hv = float(-np.sum(pv[pv > 0] * np.log(pv[pv > 0])))
    if hu == 0.0 and hv == 0.0:
        return 1.0  # both partitions trivial: identical (scikit-learn's convention)
    denom = 0.5 * (hu + hv)
    return max(0.0, mi / denom) if denom > 0 else 0.0


def kmeans_accuracy(
    codes: PackedCodes | ArrayLike,
    labels: ArrayLike,
    *,
    n_clusters: int,
    key: jax.Array,
    max_iterations: int = 100,
    test_codes: PackedCodes | ArrayLike | None = None,
    test_labels: ArrayLike | None = None,
) -> KMeansResult:
    """Cluster codes with k-means and score the clusters against the labels.

    The clustering test of the hash-encoder paper (He et al., [Hash-Encoders]): k-means (Lloyd's
    algorithm, k-means++ start drawn from ``key``) on the codes as {0, 1} vectors
    in ``R^n_bits``; squared Euclidean distance to a {0, 1} point is its Hamming
    distance. Clusters are matched one-to-one to labels by the Hungarian algorithm
    (``scipy.optimize.linear_sum_assignment`` on the contingency table); codes in
    unmatched clusters (when ``n_clusters`` exceeds the number of labels) count as
    wrong. Lloyd iterations stop when the assignments stop changing, or after
    ``max_iterations``; ``converged`` says which. With ``test_codes``, each test code
    joins its nearest centroid and is scored through the same matching (k-means fit
    on the training codes, evaluated on held-out ones).

    Memory: the codes are unpacked to ``float32[n, n_bits]`` on device.

    Args:
        codes: ``[n, n_bits]`` codes (``PackedCodes`` or bool/{0,1}).
        labels: ``int[n]`` non-negative labels.
        n_clusters: number of clusters, ``1 <= n_clusters <= n``.
        key: ``jax.random`` key for the k-means++ start.
        max_iterations: cap on Lloyd iterations.
        test_codes: optional ``[m, n_bits]`` held-out codes.
        test_labels: their ``int[m]`` labels (required with ``test_codes``).

    Returns:
        :class:`KMeansResult`.

    Raises:
        TypeError: bad dtypes, a non-integer ``n_clusters`` or ``max_iterations``,
            ``key`` not a PRNG key.
        ValueError: mismatched shapes, ``n_clusters`` or ``max_iterations`` out of range.

    Examples:
        >>> import jax, numpy as np
        >>> codes = np.array([[1, 1, 0, 0]] * 5 + [[0, 0, 1, 1]] * 5)
        >>> res = kmeans_accuracy(codes, np.array([3] * 5 + [7] * 5), n_clusters=2,
        ...                       key=jax.random.key(0))
        >>> res.accuracy, round(res.nmi, 6), bool(res.converged)
        (1.0, 1.0, True)
    """
    packed = as_packed_batch(codes, "codes")
    n = packed.shape[0]
    y = _labels(labels, "labels", n)
    n_clusters = check_positive_int(n_clusters, "n_clusters")
    if n_clusters > n:
        raise ValueError(f"`n_clusters` must be <= the number of codes {n}, got {n_clusters}")
    max_iterations = check_positive_int(max_iterations, "max_iterations")
    key = check_key(key)
    test = y_test = None
    if (test_codes is None) != (test_labels is None):
        raise ValueError("`test_codes` and `test_labels` must be given together, got one")
    if test_codes is not None:
        test = as_packed_batch(test_codes, "test_codes")
        _same_bits(packed, test, "codes", "test_codes")
        y_test = _labels(test_labels, "test_labels", test.shape[0])
    a, c, inertia, converged, it = _kmeans(packed, key, n_clusters, max_iterations)
    a_host = np.asarray(a)
    n_labels = int(max(y.max(), -1 if y_test is None else y_test.max())) + 1
    table = _contingency(a_host, y, n_clusters, n_labels)
    accuracy, mapping = _hungarian(table)
    test_accuracy = None
    if test is not None:
        nearest = np.asarray(_nearest_centroid(test, c))
        test_accuracy = float(np.mean(mapping[nearest] == y_test))
    return KMeansResult(
        accuracy=accuracy,
        nmi=_nmi(table),
        assignments=a,
        centroids=c,
        inertia=float(inertia),
        converged=bool(converged),
        n_iters=int(it),
        test_accuracy=test_accuracy,
    )
