"""k-means on {0, 1} code vectors (scikit-learn), scored by Hungarian accuracy and NMI."""

from __future__ import annotations

import jax
import numpy as np
from jax.typing import ArrayLike

from hamgeo._checks import check_key, check_not_traced, check_positive_float, check_positive_int
from hamgeo.codes import PackedCodes, as_packed_batch
from hamgeo.encoding._common import (
    EncodingResult,
    _host_bits,
    _labels,
    _n_classes,
    _same_bits,
    _seed,
)

__all__ = ["kmeans_accuracy"]


def _hungarian(assign: np.ndarray, labels: np.ndarray, n_clusters: int) -> tuple[float, np.ndarray]:
    """Accuracy of the best one-to-one cluster -> label map, and the map (-1: unmatched).

    ``labels`` are compact (``0 .. c - 1``); codes in unmatched clusters count as wrong.
    """
    from scipy.optimize import linear_sum_assignment

    table = np.zeros((n_clusters, int(labels.max()) + 1), np.int64)
    np.add.at(table, (assign, labels), 1)
    rows, cols = linear_sum_assignment(table, maximize=True)
    mapping = np.full(n_clusters, -1, np.int64)
    mapping[rows] = cols
    return float(table[rows, cols].sum() / table.sum()), mapping


def kmeans_accuracy(
    train_codes: PackedCodes | ArrayLike,
    train_labels: ArrayLike,
    test_codes: PackedCodes | ArrayLike,
    test_labels: ArrayLike,
    *,
    key: jax.Array,
    n_clusters: int | None = None,
    n_classes: int | None = None,
    max_iterations: int = 300,
    threshold: float = 1e-4,
) -> EncodingResult:
    """Cluster the training codes with k-means; score the clusters against the labels.

    The clustering test of the hash-encoder paper ([Hash-Encoders]), with the paper's
    own tool: scikit-learn's ``KMeans`` (k-means++ start, Lloyd iterations, its default
    number of starts) on the codes as {0, 1} vectors in ``R^n_bits``, where the squared
    Euclidean distance to a {0, 1} point is its Hamming distance. The start is drawn
    from ``key`` (scikit-learn's ``random_state`` is derived from it: no global seed).
    Clusters are matched one-to-one to the training labels by the Hungarian algorithm
    (``scipy.optimize.linear_sum_assignment`` on the contingency table); codes in
    unmatched clusters count as wrong. Each test code joins its nearest centroid and is
    scored through the same matching. Why scikit-learn and not a JAX k-means: timed on
    the hash-encoder study's sizes both take the same time (``docs/api/encoding.md``).

    Host-only: scikit-learn runs on the host; under a trace it raises hamgeo's
    ``TypeError``.

    Args:
        train_codes: ``[n, n_bits]`` codes to cluster (``PackedCodes`` or bool/{0,1}).
        train_labels: ``int[n]`` non-negative labels.
        test_codes: ``[m, n_bits]`` held-out codes.
        test_labels: their ``int[m]`` labels.
        key: ``jax.random`` key for the k-means++ start.
        n_clusters: number of clusters, ``1 <= n_clusters <= n`` (default: the number of
            distinct training labels).
        n_classes: number of classes, only to check the labels.
        max_iterations: cap on Lloyd iterations (scikit-learn's ``max_iter``).
        threshold: the stopping threshold, scikit-learn's ``tol`` (relative centroid shift
            that stops Lloyd).

    Returns:
        An [`EncodingResult`][hamgeo.encoding.EncodingResult]; ``nmi`` is scikit-learn's
        ``normalized_mutual_info_score`` of the training labels and clusters.

    Raises:
        TypeError: bad dtypes, a non-integer ``n_clusters`` or ``max_iterations``,
            ``key`` not a PRNG key, a traced argument.
        ValueError: mismatched shapes, ``n_clusters`` or ``max_iterations`` out of range.

    Examples:
        >>> import jax, numpy as np
        >>> codes = np.array([[1, 1, 0, 0]] * 5 + [[0, 0, 1, 1]] * 5)
        >>> y = np.array([3] * 5 + [7] * 5)
        >>> res = kmeans_accuracy(codes, y, codes[::-1], y[::-1], key=jax.random.key(0))
        >>> res.train_accuracy, res.test_accuracy, round(res.nmi, 6), res.converged
        (1.0, 1.0, 1.0, True)
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import normalized_mutual_info_score

    check_not_traced("kmeans_accuracy", train_codes, train_labels, test_codes, test_labels)
    train = as_packed_batch(train_codes, "train_codes")
    test = as_packed_batch(test_codes, "test_codes")
    _same_bits(train, test, "train_codes", "test_codes")
    n = train.shape[0]
    n_classes = _n_classes(n_classes)
    y = _labels(train_labels, "train_labels", n, n_classes)
    y_test = _labels(test_labels, "test_labels", test.shape[0], n_classes)
    classes, y_compact = np.unique(y, return_inverse=True)
    if n_clusters is None:
        n_clusters = classes.size
    n_clusters = check_positive_int(n_clusters, "n_clusters")
    if n_clusters > n:
        raise ValueError(f"`n_clusters` must be <= the number of codes {n}, got {n_clusters}")
    max_iterations = check_positive_int(max_iterations, "max_iterations")
    threshold = check_positive_float(threshold, "threshold")
    seed = _seed(check_key(key))
    x = _host_bits(train).astype(np.float64)
    km = KMeans(n_clusters, max_iter=max_iterations, tol=threshold, random_state=seed).fit(x)
    assign = km.labels_.astype(np.int64)
    accuracy, mapping = _hungarian(assign, y_compact.reshape(-1), n_clusters)
    nearest = km.predict(_host_bits(test).astype(np.float64))
    matched = mapping[nearest]
    predicted = np.where(matched >= 0, classes[np.maximum(matched, 0)], -1)
    return EncodingResult(
        train_accuracy=accuracy,
        test_accuracy=float(np.mean(predicted == y_test)),
        nmi=float(normalized_mutual_info_score(y, assign)),
        converged=bool(km.n_iter_ < max_iterations),
        n_iters=int(km.n_iter_),
    )
