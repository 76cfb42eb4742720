"""The controls a trained network's codes must beat: random hyperplanes and raw inputs.

A trained network's codes earn a claim only when they do better than what needs no
training ([Hash-Encoders] in ``docs/references.md`` makes its claims about *trained*
networks):

* **random-hyperplane codes** of the inputs with the same number of bits: bit ``j`` of
  ``x`` is ``w_j . (x - x_{i_j}) > 0`` with ``w_j ~ N(0, I)`` and ``x_{i_j}`` a training
  example drawn at random (the hyperplane passes through it, so every bit splits the data);
  measured exactly as the network's codes (``code_metrics``);
* **raw inputs**: the redundancy of the inputs themselves (duplicate rows), and
  scikit-learn's k-NN (``KNeighborsClassifier(n_neighbors=9)``, Euclidean), k-means
  (``KMeans``, Hungarian matching) and logistic regression on the inputs.

The untrained network itself (the same architecture at initialization) is the third
control; ``_train`` measures it beside every trained net.
"""

from __future__ import annotations

import jax
import numpy as np

from hamgeo.codes import PackedCodes, pack_bits
from hamgeo.experiments.hash_encoder._config import CodeMetrics

__all__ = ["hyperplane_codes", "padded", "raw_metrics"]


def padded(codes: PackedCodes) -> PackedCodes:
    """``codes`` with zero words up to a power of two of at least 2 words (as ``_train``).

    Zero bits change no Hamming distance, no count of distinct codes, no k-means step;
    equal shapes share compilations. The k-NN cuts them off again (``_analysis``).

    Examples:
        >>> padded(pack_bits(np.ones((3, 5), bool))).n_bits
        64
    """
    words = np.asarray(codes.words)
    target = max(2, 1 << (words.shape[-1] - 1).bit_length())
    pad = [(0, 0)] * (words.ndim - 1) + [(0, target - words.shape[-1])]
    return PackedCodes(np.pad(words, pad), 32 * target)


def hyperplane_codes(
    x_train: np.ndarray, x_test: np.ndarray, n_bits: int, *, key: jax.Array
) -> tuple[PackedCodes, PackedCodes]:
    """Random-hyperplane codes ``[n, n_bits]`` of the training and test inputs.

    Each hyperplane has a standard normal direction and passes through a training
    example drawn uniformly (with replacement), the classic locality-sensitive hash of
    the inputs with the same number of bits as a network's code.

    Examples:
        >>> x = np.arange(12.0).reshape(6, 2)
        >>> tr, te = hyperplane_codes(x, x[:2], 5, key=jax.random.key(0))
        >>> tr.shape, te.shape, tr.n_bits
        ((6,), (2,), 5)
    """
    x_train = np.asarray(x_train, np.float32).reshape(len(x_train), -1)
    x_test = np.asarray(x_test, np.float32).reshape(len(x_test), -1)
    k_w, k_i = jax.random.split(key)
    w = np.asarray(jax.random.normal(k_w, (x_train.shape[1], n_bits), np.float32))
    anchors = np.asarray(jax.random.randint(k_i, (n_bits,), 0, x_train.shape[0]))
    offset = np.einsum("ij,ij->j", x_train[anchors].T, w)  # w_j . x_{i_j}

    def codes(x: np.ndarray) -> PackedCodes:
        return pack_bits(x @ w - offset[None, :] > 0)

    return codes(x_train), codes(x_test)


def _redundancy_rows(x: np.ndarray) -> float:
    """``(n - #distinct rows) / n`` of the raw inputs."""
    return 1.0 - np.unique(x, axis=0).shape[0] / x.shape[0]


def _kmeans(x_train, y_train, x_test, y_test, n_classes: int, seed: int) -> tuple[float, float]:
    from scipy.optimize import linear_sum_assignment
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=n_classes, n_init=1, random_state=seed).fit(x_train)
    counts = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(counts, (km.labels_, y_train), 1)
    rows, cols = linear_sum_assignment(-counts)
    mapping = np.zeros(n_classes, np.int64)
    mapping[rows] = cols
    train = float(np.mean(mapping[km.labels_] == y_train))
    test = float(np.mean(mapping[km.predict(x_test)] == y_test))
    return train, test


def raw_metrics(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    *,
    n_classes: int,
    k: int,
    seed: int,
) -> CodeMetrics:
    """The raw-input baselines of the paper's three methods.

    One [`CodeMetrics`][hamgeo.experiments.hash_encoder.CodeMetrics] row.

    ``n_bits`` is the input dimension; the network columns are NaN (no network).
    ``seed`` seeds scikit-learn's k-means (one per study seed, for paired intervals).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier

    xtr = np.asarray(x_train, np.float64).reshape(len(x_train), -1)
    xte = np.asarray(x_test, np.float64).reshape(len(x_test), -1)
    ytr, yte = np.asarray(y_train), np.asarray(y_test)
    knn = KNeighborsClassifier(n_neighbors=min(k, len(xtr))).fit(xtr, ytr)
    lr = LogisticRegression(max_iter=500).fit(xtr, ytr)
    km_train, km_test = _kmeans(xtr, ytr, xte, yte, n_classes, seed)
    nan = float("nan")
    return CodeMetrics(
        n_bits=int(xtr.shape[1]),
        redundancy_train=_redundancy_rows(xtr),
        redundancy_test=_redundancy_rows(xte),
        knn_train_accuracy=float(knn.score(xtr, ytr)),
        knn_test_accuracy=float(knn.score(xte, yte)),
        kmeans_train_accuracy=km_train,
        kmeans_test_accuracy=km_test,
        logreg_train_accuracy=float(lr.score(xtr, ytr)),
        logreg_test_accuracy=float(lr.score(xte, yte)),
        network_train_accuracy=nan,
        network_test_accuracy=nan,
    )
