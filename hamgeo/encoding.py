"""Categorization on neural codes: k-NN, k-means and logistic regression.

The hash-encoder paper (He et al., "Neural networks behave as hash encoders: an
empirical study", [Hash-Encoders] in ``docs/references.md``) measures how well an
activation code *categorizes*: simple algorithms run on the codes instead of the
inputs — k-NN under the Hamming distance, k-means, and multinomial logistic
regression — and their accuracy is set next to the network's own. This module
provides those three.

* :func:`knn_classify` / :func:`knn_accuracy`: majority vote among the ``k``
  Hamming-nearest training codes. The default follows the paper's protocol,
  scikit-learn's ``KNeighborsClassifier(n_neighbors=9, metric="hamming")``, with its
  rules for ties (the same predictions, to the example); ``ties="nearest"`` is
  hamgeo's streaming rule (:func:`hamgeo.hamming.hamming_knn`, ties to the nearest).
* :func:`kmeans_accuracy`: Lloyd's k-means on the {0, 1} code vectors with a
  k-means++ start, scored by the Hungarian matching of clusters to labels and by
  normalized mutual information.
* :func:`logreg_accuracy`: L2-regularized multinomial logistic regression on the
  codes, trained full batch with optax's Adam.
"""

from __future__ import annotations

import functools
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from hamgeo._checks import (
    check_choice,
    check_float,
    check_key,
    check_labels,
    check_positive_float,
    check_positive_int,
    describe,
)
from hamgeo.codes import PackedCodes, as_packed_batch
from hamgeo.hamming import hamming_knn, pairwise_hamming

__all__ = [
    "KMeansResult",
    "KnnTies",
    "LogRegResult",
    "kmeans_accuracy",
    "knn_accuracy",
    "knn_classify",
    "logreg_accuracy",
]


# --------------------------------------------------------------------------- validation

#: Tie rules of :func:`knn_classify`.
KnnTies = Literal["sklearn", "nearest"]

# Host memory of one block of scikit-learn-rule distances: at most this many float64s.
_HOST_BLOCK_ELEMENTS = 1 << 23


def _labels(y: Any, name: str, n: int, n_classes: int | None = None) -> np.ndarray:
    """Host ``int32[n]`` labels in ``[0, n_classes)`` (:func:`hamgeo._checks.check_labels`)."""
    if isinstance(y, jax.core.Tracer):
        raise TypeError(f"`{name}` must be a concrete array (these functions are not traceable)")
    return check_labels(y, name, n_classes=n_classes, length=n)


def _n_classes(n_classes: Any, *label_arrays: np.ndarray) -> int:
    if n_classes is None:
        return int(max(int(a.max()) for a in label_arrays if a.size)) + 1
    return check_positive_int(n_classes, "n_classes")


def _same_bits(a: PackedCodes, b: PackedCodes, na: str, nb: str) -> None:
    if a.n_bits != b.n_bits:
        raise ValueError(
            f"`{na}` and `{nb}` must have the same n_bits, got {a.n_bits} and {b.n_bits}"
        )


# --------------------------------------------------------------------------------- k-NN


@functools.partial(jax.jit, static_argnames=("n_classes",))
def _vote_nearest(neighbour_labels: jax.Array, n_classes: int) -> jax.Array:
    """Majority vote over ``[m, k]`` labels ordered nearest first; ties to the nearest."""
    k = neighbour_labels.shape[-1]
    hit = neighbour_labels[:, :, None] == jnp.arange(n_classes, dtype=jnp.int32)[None, None, :]
    votes = jnp.sum(hit, axis=1, dtype=jnp.int32)  # [m, C]
    rank = jnp.arange(k, dtype=jnp.int32)[None, :, None]
    first = jnp.min(jnp.where(hit, rank, k), axis=1)  # [m, C], k where absent
    # votes dominate (factor k + 1 > any rank term); among tied classes the one
    # whose member comes first in the neighbour order wins.
    score = votes * (k + 1) + (k - first)
    return jnp.argmax(score, axis=-1).astype(jnp.int32)


def _vote_lowest(neighbour_labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Majority vote over ``[m, k]`` labels; ties to the lowest label (``scipy.stats.mode``)."""
    votes = np.zeros((neighbour_labels.shape[0], n_classes), np.int32)
    rows = np.broadcast_to(np.arange(neighbour_labels.shape[0])[:, None], neighbour_labels.shape)
    np.add.at(votes, (rows, neighbour_labels), 1)
    return np.argmax(votes, axis=1).astype(np.int32)  # argmax: the first, lowest, maximum


def _sklearn_neighbours(
    test: PackedCodes, train: PackedCodes, k: int, exclude_self: bool, block_size: int | None
) -> np.ndarray:
    """``[m, k]`` indices of the neighbours scikit-learn's brute-force search picks.

    scikit-learn (``KNeighborsClassifier(metric="hamming", algorithm="brute")``, which
    ``algorithm="auto"`` selects for codes of more than 15 bits) computes the rows of
    fractions ``d_H / n_bits`` in float64 and keeps ``np.argpartition(row, k - 1)[:k]``;
    which of several codes tied at the ``k``-th distance stay is whatever that
    selection leaves. The same NumPy call on the same float64 rows (``d_H`` counted
    exactly on device, divided on the host like SciPy's ``cdist``) leaves the same ones.
    With ``exclude_self`` it mirrors ``kneighbors(X=None)``: ``k + 1`` neighbours,
    sorted by distance, the query itself removed (or the first of them if its
    duplicates crowd it out).
    """
    n, m = train.shape[0], test.shape[0]
    rows = block_size if block_size is not None else max(1, _HOST_BLOCK_ELEMENTS // n)
    rows = min(rows, m)
    kk = k + 1 if exclude_self else k
    out = np.empty((m, k), np.intp)
    for start in range(0, m, rows):
        stop = min(start + rows, m)
        counts = np.asarray(pairwise_hamming(test[start:stop], train))
        dist = counts.astype(np.float64) / train.n_bits
        ind = np.argpartition(dist, kk - 1, axis=1)[:, :kk]
        if exclude_self:
            r = np.arange(stop - start)[:, None]
            ind = ind[r, np.argsort(dist[r, ind])]
            keep = ind != np.arange(start, stop)[:, None]
            keep[np.all(keep, axis=1), 0] = False  # duplicates crowd out the query itself
            ind = ind[keep].reshape(stop - start, k)
        out[start:stop] = ind
    return out


def knn_classify(
    train_codes: PackedCodes | ArrayLike,
    train_labels: ArrayLike,
    test_codes: PackedCodes | ArrayLike,
    *,
    k: int = 9,
    n_classes: int | None = None,
    ties: KnnTies = "sklearn",
    exclude_self: bool = False,
    block_size: int | None = None,
) -> jax.Array:
    """k-nearest-neighbour classification of codes under the Hamming distance.

    The categorization test of the hash-encoder paper (He et al., [Hash-Encoders] in
    ``docs/references.md``): each test code takes the majority label of its ``k``
    Hamming-nearest training codes. The paper's code runs scikit-learn's
    ``KNeighborsClassifier(n_neighbors=9, metric="hamming")``; the defaults
    (``k=9``, ``ties="sklearn"``) give the same predictions, to the example.

    Tie rules (``ties``):

    * ``"sklearn"``: scikit-learn's brute-force rules. Among training codes tied at
      the ``k``-th distance, those that ``np.argpartition`` keeps on the float64
      rows of ``d_H / n_bits`` (the distances are counted on device, a block of
      query rows at a time, and selected on the host); a tied vote goes to the
      lowest label (``scipy.stats.mode``, ``argmax`` of the class probabilities).
      Host memory: a block of ``[rows, n]`` float64 (``block_size`` rows, by default
      about 64 MiB).
    * ``"nearest"``: hamgeo's streaming rule, all on device
      (:func:`hamgeo.hamming.hamming_knn`, no ``[m, n]`` block kept): neighbours by
      distance then training index; a tied vote goes to the class whose first
      member comes earliest in that order.

    Args:
        train_codes: ``[n, n_bits]`` training codes (``PackedCodes`` or bool/{0,1}).
        train_labels: ``int[n]`` labels in ``[0, n_classes)``.
        test_codes: ``[m, n_bits]`` codes to classify.
        k: number of neighbours, ``1 <= k <= n`` (``n - 1`` with ``exclude_self``).
        n_classes: number of classes; defaults to ``max(train_labels) + 1``.
        ties: ``"sklearn"`` (the paper's protocol) or ``"nearest"`` (see above).
        exclude_self: ``test_codes`` *are* ``train_codes`` (same order); each code
            leaves itself out (leave-one-out; scikit-learn's ``predict(None)``).
        block_size: query rows per block (``"sklearn"``) or passed to
            :func:`hamgeo.hamming.hamming_knn` (``"nearest"``).

    Returns:
        ``int32[m]`` predicted labels.

    Raises:
        TypeError: codes of a wrong dtype, non-integer labels, ``k`` or ``n_classes``,
            a non-bool ``exclude_self``.
        ValueError: mismatched shapes or bit counts, labels out of range, bad ``k``,
            an unknown ``ties``.

    Examples:
        >>> import numpy as np
        >>> train = np.array([[0, 0, 0], [0, 0, 1], [1, 1, 1], [1, 1, 0]])
        >>> knn_classify(train, np.array([0, 0, 1, 1]), [[0, 1, 0], [1, 1, 1]], k=3).tolist()
        [0, 1]

        A tied vote: the lowest label (scikit-learn) or the nearest member's label.

        >>> train, y = np.array([[0, 0], [1, 1]]), np.array([1, 0])
        >>> knn_classify(train, y, [[0, 0]], k=2).tolist()
        [0]
        >>> knn_classify(train, y, [[0, 0]], k=2, ties="nearest").tolist()
        [1]
    """
    train = as_packed_batch(train_codes, "train_codes")
    test = as_packed_batch(test_codes, "test_codes")
    _same_bits(train, test, "train_codes", "test_codes")
    ties = check_choice(ties, "ties", ("sklearn", "nearest"))
    if not isinstance(exclude_self, bool | np.bool_):
        raise TypeError(f"`exclude_self` must be a bool, got {describe(exclude_self)}")
    exclude_self = bool(exclude_self)
    n = train.shape[0]
    labels = _labels(train_labels, "train_labels", n)
    n_classes = _n_classes(n_classes, labels)
    labels = _labels(train_labels, "train_labels", n, n_classes)
    k = check_positive_int(k, "k")
    if block_size is not None:
        block_size = check_positive_int(block_size, "block_size")
    if exclude_self and test.shape[0] != n:
        raise ValueError(
            "`exclude_self` needs `test_codes` to be `train_codes`, "
            f"got {test.shape[0]} and {n} codes"
        )
    available = n - 1 if exclude_self else n
    if k > available:
        raise ValueError(f"`k` must be <= {available} (the training codes available), got {k}")
    if ties == "sklearn":
        idx = _sklearn_neighbours(test, train, k, exclude_self, block_size)
        return jnp.asarray(_vote_lowest(labels[idx], n_classes))
    _, idx = hamming_knn(test, train, k, exclude_self=exclude_self, block_size=block_size)
    return _vote_nearest(jnp.asarray(labels)[idx], n_classes)


def knn_accuracy(
    train_codes: PackedCodes | ArrayLike,
    train_labels: ArrayLike,
    test_codes: PackedCodes | ArrayLike,
    test_labels: ArrayLike,
    *,
    k: int = 9,
    n_classes: int | None = None,
    ties: KnnTies = "sklearn",
    exclude_self: bool = False,
    block_size: int | None = None,
) -> float:
    """Accuracy of :func:`knn_classify` on labelled test codes.

    With the defaults this is scikit-learn's
    ``KNeighborsClassifier(n_neighbors=9, metric="hamming").fit(train_codes,
    train_labels).score(test_codes, test_labels)`` (the paper's protocol).

    Args:
        train_codes: ``[n, n_bits]`` training codes.
        train_labels: ``int[n]`` training labels.
        test_codes: ``[m, n_bits]`` test codes.
        test_labels: ``int[m]`` true test labels.
        k: number of neighbours.
        n_classes: number of classes (default: the largest label seen + 1).
        ties: ``"sklearn"`` or ``"nearest"`` (see :func:`knn_classify`).
        exclude_self: leave-one-out on the training set (see :func:`knn_classify`).
        block_size: see :func:`knn_classify`.

    Returns:
        The fraction of test codes classified correctly, a Python float.

    Examples:
        >>> import numpy as np
        >>> train = np.array([[0, 0], [0, 1], [1, 1]])
        >>> knn_accuracy(train, np.array([0, 0, 1]), train, np.array([0, 0, 1]), k=1)
        1.0
    """
    m = as_packed_batch(test_codes, "test_codes").shape[0]
    y_test = _labels(test_labels, "test_labels", m)
    n = as_packed_batch(train_codes, "train_codes").shape[0]
    y_train = _labels(train_labels, "train_labels", n)
    n_classes = _n_classes(n_classes, y_train, y_test)
    pred = knn_classify(
        train_codes,
        y_train,
        test_codes,
        k=k,
        n_classes=n_classes,
        ties=ties,
        exclude_self=exclude_self,
        block_size=block_size,
    )
    return float(np.mean(np.asarray(pred) == y_test))


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


# ------------------------------------------------------------------ logistic regression


class LogRegResult(NamedTuple):
    """Outcome of :func:`logreg_accuracy`.

    Attributes:
        train_accuracy: accuracy on the training codes.
        test_accuracy: accuracy on the test codes.
        loss: final objective (mean cross-entropy + ``l2 / 2 * ||W||^2``).
        weights: ``float32[n_bits, n_classes]``.
        bias: ``float32[n_classes]`` (not regularized).
        converged: the final gradient norm is below ``tolerance``.
        grad_norm: the final gradient norm.
    """

    train_accuracy: float
    test_accuracy: float
    loss: float
    weights: jax.Array
    bias: jax.Array
    converged: bool
    grad_norm: float


def _logreg_loss(params, x, y_onehot, l2):
    w, b = params
    logits = x @ w + b[None, :]
    ce = -jnp.mean(jnp.sum(y_onehot * jax.nn.log_softmax(logits, axis=-1), axis=-1))
    return ce + 0.5 * l2 * jnp.sum(w * w)


@functools.partial(jax.jit, static_argnames=("n_classes", "n_steps"))
def _fit_logreg(train, test, y_tr, y_te, key, l2, learning_rate, n_classes, n_steps):
    """Fit on ``train`` codes, score both sets: one compilation per shape."""
    x, x_te = train.unpack().astype(jnp.float32), test.unpack().astype(jnp.float32)
    y_onehot = jax.nn.one_hot(y_tr, n_classes, dtype=jnp.float32)
    init = (
        0.01 * jax.random.normal(key, (train.n_bits, n_classes), jnp.float32),
        jnp.zeros((n_classes,), jnp.float32),
    )
    # Adam with a cosine decay to zero: cheap to compile, and the decay lets it
    # settle on the optimum of this smooth convex problem.
    opt = optax.adam(optax.cosine_decay_schedule(learning_rate, n_steps))
    grad_fn = jax.grad(_logreg_loss)

    def step(carry, _):
        params, opt_state = carry
        updates, opt_state = opt.update(grad_fn(params, x, y_onehot, l2), opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), None

    (params, _), _ = jax.lax.scan(step, (init, opt.init(init)), None, length=n_steps)
    gnorm = optax.tree.norm(grad_fn(params, x, y_onehot, l2))
    w, b = params

    def acc(xs, ys):
        return jnp.mean(jnp.argmax(xs @ w + b[None, :], axis=-1) == ys)

    return w, b, _logreg_loss(params, x, y_onehot, l2), gnorm, acc(x, y_tr), acc(x_te, y_te)


def logreg_accuracy(
    train_codes: PackedCodes | ArrayLike,
    y_train: ArrayLike,
    test_codes: PackedCodes | ArrayLike,
    y_test: ArrayLike,
    *,
    key: jax.Array,
    n_classes: int | None = None,
    l2: float = 1e-3,
    learning_rate: float = 0.05,
    n_steps: int = 500,
    tolerance: float = 1e-3,
) -> LogRegResult:
    """Multinomial logistic regression on codes: train and test accuracy.

    The third categorization test of the hash-encoder paper (He et al.,
    [Hash-Encoders]): a linear softmax classifier on the codes as {0, 1} features,
    trained full batch with optax's Adam (``n_steps`` steps, cosine-decayed step size)
    on the mean cross-entropy plus ``l2 / 2 * ||W||^2`` (bias not penalized). This is scikit-learn's
    ``LogisticRegression(C=1 / (l2 * n))`` objective divided by ``n``. The problem is
    strictly convex for ``l2 > 0``, so the small random start drawn from ``key``
    does not change the optimum.

    Args:
        train_codes: ``[n, n_bits]`` training codes.
        y_train: ``int[n]`` training labels.
        test_codes: ``[m, n_bits]`` test codes.
        y_test: ``int[m]`` test labels.
        key: ``jax.random`` key for the initial weights.
        n_classes: number of classes (default: the largest label seen + 1).
        l2: L2 penalty on the weights, ``>= 0``.
        learning_rate: Adam's initial step size.
        n_steps: number of full-batch steps (fixed).
        tolerance: ``converged`` is reported when the final gradient norm is below it.

    Returns:
        :class:`LogRegResult`.

    Raises:
        TypeError: bad dtypes.
        ValueError: mismatched shapes or bit counts, negative ``l2``, labels out of range.

    Examples:
        >>> import jax, numpy as np
        >>> codes = np.array([[1, 0], [1, 0], [0, 1], [0, 1]])
        >>> y = np.array([0, 0, 1, 1])
        >>> res = logreg_accuracy(codes, y, codes, y, key=jax.random.key(0), l2=0.1)
        >>> res.train_accuracy, res.test_accuracy, bool(res.converged)
        (1.0, 1.0, True)
    """
    train = as_packed_batch(train_codes, "train_codes")
    test = as_packed_batch(test_codes, "test_codes")
    _same_bits(train, test, "train_codes", "test_codes")
    y_tr = _labels(y_train, "y_train", train.shape[0])
    y_te = _labels(y_test, "y_test", test.shape[0])
    n_classes = _n_classes(n_classes, y_tr, y_te)
    y_tr = _labels(y_train, "y_train", train.shape[0], n_classes)
    y_te = _labels(y_test, "y_test", test.shape[0], n_classes)
    l2 = check_float(l2, "l2", minimum=0.0)
    n_steps = check_positive_int(n_steps, "n_steps")
    learning_rate = check_positive_float(learning_rate, "learning_rate")
    tolerance = check_positive_float(tolerance, "tolerance")
    key = check_key(key)
    w, b, loss, gnorm, acc_tr, acc_te = _fit_logreg(
        train,
        test,
        jnp.asarray(y_tr),
        jnp.asarray(y_te),
        key,
        jnp.float32(l2),
        jnp.float32(learning_rate),
        n_classes,
        n_steps,
    )
    return LogRegResult(
        train_accuracy=float(acc_tr),
        test_accuracy=float(acc_te),
        loss=float(loss),
        weights=w,
        bias=b,
        converged=bool(gnorm <= tolerance),
        grad_norm=float(gnorm),
    )
