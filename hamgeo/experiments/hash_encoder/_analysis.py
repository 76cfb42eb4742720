"""What is measured on one network's codes: redundancy and categorization.

The paper's two encoding properties ([Hash-Encoders] in ``docs/references.md``):
*determinism*, the redundancy ratio ``(n - m) / n`` of the training (and test) codes;
*categorization*, the training and test accuracy of k-NN (Hamming, the paper's
``KNeighborsClassifier(n_neighbors=9, metric="hamming")`` protocol), k-means (fit on the
training codes, Hungarian matching) and logistic regression on the codes.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from hamgeo.codes import PackedCodes
from hamgeo.encoding import kmeans_accuracy, knn_accuracy, logreg_accuracy
from hamgeo.experiments.hash_encoder._config import CodeMetrics, Config
from hamgeo.regions import redundancy_ratio

__all__ = ["code_metrics", "unpadded"]


def unpadded(codes: PackedCodes, n_bits: int) -> PackedCodes:
    """``codes`` cut to their first ``n_bits`` bits (the padding words and bits dropped).

    Examples:
        >>> c = PackedCodes(np.array([[5, 0]], np.uint32), 64)
        >>> u = unpadded(c, 3)
        >>> u.n_bits, u.words.tolist()
        (3, [[5]])
    """
    if n_bits == codes.n_bits:
        return codes
    words = np.asarray(codes.words)[..., : -(-n_bits // 32)]
    return PackedCodes(words, n_bits)


def code_metrics(
    codes_train: PackedCodes,
    codes_test: PackedCodes,
    y_train: np.ndarray,
    y_test: np.ndarray,
    network_accuracy: tuple[float, float],
    config: Config,
    key: jax.Array,
    *,
    n_bits: int,
    n_classes: int,
    full: bool,
) -> CodeMetrics:
    """Measure one network's codes.

    Args:
        codes_train: codes of the training examples the network was trained on.
        codes_test: codes of the test examples.
        y_train: the labels it was trained on (label noise included).
        y_test: the test labels.
        network_accuracy: the network's own (train, test) accuracy.
        n_bits: the network's hidden units (the codes may carry more, all-zero, bits).
        config: the study's configuration (k-NN, k-means and logistic regression).
        key: the k-means++ start and the logistic regression's initial weights.
        n_classes: number of classes.
        full: also k-means, logistic regression and the training-set k-NN and test
            redundancy (``False``: redundancy and test k-NN only, the per-epoch rows).

    Returns:
        [`CodeMetrics`][hamgeo.experiments.hash_encoder.CodeMetrics].
    """
    k = min(config.knn_k, codes_train.shape[0])
    # The k-NN sees the unpadded codes: scikit-learn's protocol depends on the number of
    # bits (fractions d_H / n_bits; a tree search for codes of at most 15 bits).
    knn_train, knn_test = unpadded(codes_train, n_bits), unpadded(codes_test, n_bits)
    knn_res = knn_accuracy(
        knn_train,
        y_train,
        knn_test,
        y_test,
        score_train=full,
        k=k,
        n_classes=n_classes,
        ties=config.knn_ties,
    )
    row: dict[str, Any] = {
        "n_bits": int(n_bits),
        "redundancy_train": float(redundancy_ratio(codes_train)),
        "redundancy_test": None,
        "knn_train_accuracy": None,
        "knn_test_accuracy": knn_res.test_accuracy,
        "kmeans_train_accuracy": None,
        "kmeans_test_accuracy": None,
        "logreg_train_accuracy": None,
        "logreg_test_accuracy": None,
        "network_train_accuracy": float(network_accuracy[0]),
        "network_test_accuracy": float(network_accuracy[1]),
    }
    if full:
        k_km, k_lr = jax.random.split(key)
        km = kmeans_accuracy(
            codes_train,
            y_train,
            codes_test,
            y_test,
            n_clusters=min(n_classes, codes_train.shape[0]),
            key=k_km,
            max_iterations=config.kmeans_iterations,
        )
        lr = logreg_accuracy(
            codes_train,
            y_train,
            codes_test,
            y_test,
            n_classes=n_classes,
            l2=config.logreg_l2,
            max_iterations=config.logreg_steps,
        )
        row.update(
            redundancy_test=float(redundancy_ratio(codes_test)),
            knn_train_accuracy=knn_res.train_accuracy,
            kmeans_train_accuracy=km.train_accuracy,
            kmeans_test_accuracy=km.test_accuracy,
            logreg_train_accuracy=lr.train_accuracy,
            logreg_test_accuracy=lr.test_accuracy,
        )
    return CodeMetrics(**row)
