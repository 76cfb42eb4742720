"""k-NN on codes (Hamming): the paper's scikit-learn protocol and the streaming rule."""

from __future__ import annotations

import functools
import math
import typing

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from hamgeo._checks import check_bool, check_choice, check_not_traced, check_positive_int
from hamgeo.codes import PackedCodes, as_packed_batch
from hamgeo.encoding._common import (
    _HOST_BLOCK_ELEMENTS,
    EncodingResult,
    KnnTies,
    _host_bits,
    _labels,
    _n_classes,
    _same_bits,
)
from hamgeo.hamming import hamming_knn, pairwise_hamming

__all__ = ["knn_accuracy", "knn_classify"]

_TIES: tuple[KnnTies, ...] = typing.get_args(KnnTies)

# scikit-learn's ``algorithm="auto"`` picks a tree (a BallTree for the Hamming metric) for
# codes of at most this many bits, unless ``k >= n // 2`` (``sklearn.neighbors._base``).
_SKLEARN_TREE_MAX_BITS = 15


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


def _sklearn_tree_predict(
    test: PackedCodes, train: PackedCodes, labels: np.ndarray, k: int, exclude_self: bool
) -> np.ndarray:
    """scikit-learn's own prediction, where its default algorithm is a BallTree.

    A BallTree breaks ties at the ``k``-th distance in its own traversal order, which no
    brute-force selection reproduces; for the paper's protocol on narrow codes hamgeo
    therefore calls scikit-learn itself (host, ``O(n)`` memory).
    """
    from sklearn.neighbors import KNeighborsClassifier

    clf = KNeighborsClassifier(n_neighbors=k, metric="hamming").fit(_host_bits(train), labels)
    return clf.predict(None if exclude_self else _host_bits(test)).astype(np.int32)


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

    The categorization test of the hash-encoder paper ([Hash-Encoders] in
    ``docs/references.md``): each test code takes the majority label of its ``k``
    Hamming-nearest training codes. The paper's code runs scikit-learn's
    ``KNeighborsClassifier(n_neighbors=9, metric="hamming")`` with its default
    algorithm; the defaults (``k=9``, ``ties="sklearn"``) give the same predictions, to
    the example, at every bit count.

    Tie rules (``ties``):

    * ``"sklearn"``: scikit-learn's rules. For codes of more than 15 bits (or
      ``k >= n // 2``) its default is a brute-force search: among training codes tied
      at the ``k``-th distance, those that ``np.argpartition`` keeps on the float64
      rows of ``d_H / n_bits`` (the distances are counted on device, a block of query
      rows at a time, and selected on the host). For codes of at most 15 bits its
      default is a BallTree, whose tie order only the tree itself gives: hamgeo calls
      scikit-learn there. A tied vote goes to the lowest label (``argmax`` of the class
      probabilities). Host memory: a block of ``[rows, n]`` float64 (``block_size``
      rows, by default about 64 MiB).
    * ``"nearest"``: hamgeo's streaming rule, all on device
      ([`hamming_knn`][hamgeo.hamming.hamming_knn], no ``[m, n]`` block kept):
      neighbours by distance then training index; a tied vote goes to the class whose
      first member comes earliest in that order.

    Votes are counted over the labels present in ``train_labels`` only, so memory does
    not grow with ``n_classes`` or with the size of the labels.

    Host-only: labels are checked and votes counted on the host (and scikit-learn runs
    there); under a trace it raises hamgeo's ``TypeError``.

    Args:
        train_codes: ``[n, n_bits]`` training codes (``PackedCodes`` or bool/{0,1}).
        train_labels: ``int[n]`` labels in ``[0, n_classes)``.
        test_codes: ``[m, n_bits]`` codes to classify.
        k: number of neighbours, ``1 <= k <= n`` (``n - 1`` with ``exclude_self``).
        n_classes: number of classes, only to check the labels (default: no bound).
        ties: ``"sklearn"`` (the paper's protocol) or ``"nearest"`` (see above).
        exclude_self: ``test_codes`` *are* ``train_codes`` (same order); each code
            leaves itself out (leave-one-out; scikit-learn's ``predict(None)``).
        block_size: query rows per block (``"sklearn"``) or passed to
            [`hamming_knn`][hamgeo.hamming.hamming_knn] (``"nearest"``).

    Returns:
        ``int32[m]`` predicted labels.

    Raises:
        TypeError: codes of a wrong dtype, non-integer labels, ``k`` or ``n_classes``,
            a non-bool ``exclude_self``, a traced argument.
        ValueError: mismatched shapes or bit counts, labels out of range, bad ``k``,
            an unknown ``ties``.

    Examples:
        >>> import numpy as np
        >>> train = np.array([[0, 0, 0], [0, 0, 1], [1, 1, 1], [1, 1, 0]])
        >>> knn_classify(train, np.array([0, 0, 1, 1]), [[0, 1, 0], [1, 1, 1]], k=1).tolist()
        [0, 1]

        A tied vote: the lowest label (scikit-learn) or the nearest member's label.

        >>> train, y = np.array([[0, 0], [1, 1]]), np.array([1, 0])
        >>> knn_classify(train, y, [[0, 0]], k=2).tolist()
        [0]
        >>> knn_classify(train, y, [[0, 0]], k=2, ties="nearest").tolist()
        [1]
    """
    check_not_traced("knn_classify", train_codes, train_labels, test_codes)
    train = as_packed_batch(train_codes, "train_codes")
    test = as_packed_batch(test_codes, "test_codes")
    _same_bits(train, test, "train_codes", "test_codes")
    ties = check_choice("ties", ties, _TIES)
    exclude_self = check_bool(exclude_self, "exclude_self")
    n = train.shape[0]
    labels = _labels(train_labels, "train_labels", n, _n_classes(n_classes))
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
    # Vote over the labels present (sorted, so "lowest index" is "lowest label").
    classes, compact = np.unique(labels, return_inverse=True)
    compact = compact.reshape(-1).astype(np.int32)
    if ties == "sklearn":
        if train.n_bits <= _SKLEARN_TREE_MAX_BITS and k < n // 2:
            pred = _sklearn_tree_predict(test, train, compact, k, exclude_self)
        else:
            idx = _sklearn_neighbours(test, train, k, exclude_self, block_size)
            pred = _vote_lowest(compact[idx], classes.size)
        return jnp.asarray(classes[pred], jnp.int32)
    _, knn_idx = hamming_knn(test, train, k, exclude_self=exclude_self, block_size=block_size)
    nearest = np.asarray(_vote_nearest(jnp.asarray(compact)[knn_idx], classes.size))
    return jnp.asarray(classes[nearest], jnp.int32)


def knn_accuracy(
    train_codes: PackedCodes | ArrayLike,
    train_labels: ArrayLike,
    test_codes: PackedCodes | ArrayLike,
    test_labels: ArrayLike,
    *,
    k: int = 9,
    n_classes: int | None = None,
    ties: KnnTies = "sklearn",
    score_train: bool = True,
    block_size: int | None = None,
) -> EncodingResult:
    """Training and test accuracy of [`knn_classify`][hamgeo.encoding.knn_classify].

    With the defaults this is the paper's protocol ([Hash-Encoders]): scikit-learn's
    ``clf = KNeighborsClassifier(n_neighbors=9, metric="hamming").fit(train_codes,
    train_labels)``, then ``clf.score(train_codes, train_labels)`` (each training code
    voted by all of them, itself included) and ``clf.score(test_codes, test_labels)``.

    Host-only: as [`knn_classify`][hamgeo.encoding.knn_classify].

    Args:
        train_codes: ``[n, n_bits]`` training codes.
        train_labels: ``int[n]`` training labels.
        test_codes: ``[m, n_bits]`` test codes.
        test_labels: ``int[m]`` true test labels.
        k: number of neighbours.
        n_classes: number of classes, only to check the labels.
        ties: ``"sklearn"`` or ``"nearest"`` (see [`knn_classify`][hamgeo.encoding.knn_classify]).
        score_train: also score the training codes (``False``: ``train_accuracy`` is nan,
            half the work).
        block_size: see [`knn_classify`][hamgeo.encoding.knn_classify].

    Returns:
        An [`EncodingResult`][hamgeo.encoding.EncodingResult] (``nmi`` nan,
        ``converged`` true, ``n_iters`` 0).

    Examples:
        >>> import numpy as np
        >>> train = np.array([[0, 0], [0, 1], [1, 1]])
        >>> res = knn_accuracy(train, np.array([0, 0, 1]), train, np.array([0, 0, 1]), k=1)
        >>> res.train_accuracy, res.test_accuracy
        (1.0, 1.0)
    """
    check_not_traced("knn_accuracy", train_codes, train_labels, test_codes, test_labels)
    m = as_packed_batch(test_codes, "test_codes").shape[0]
    n = as_packed_batch(train_codes, "train_codes").shape[0]
    n_classes = _n_classes(n_classes)
    y_train = _labels(train_labels, "train_labels", n, n_classes)
    y_test = _labels(test_labels, "test_labels", m, n_classes)
    score_train = check_bool(score_train, "score_train")
    pred = knn_classify(train_codes, y_train, test_codes, k=k, ties=ties, block_size=block_size)
    train_accuracy = math.nan
    if score_train:
        pred_train = knn_classify(
            train_codes, y_train, train_codes, k=k, ties=ties, block_size=block_size
        )
        train_accuracy = float(np.mean(np.asarray(pred_train) == y_train))
    return EncodingResult(
        train_accuracy=train_accuracy,
        test_accuracy=float(np.mean(np.asarray(pred) == y_test)),
        nmi=math.nan,
        converged=True,
        n_iters=0,
    )
