"""Shared definitions of the encoding package (the leaf its siblings import)."""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

import jax
import numpy as np

from hamgeo._checks import check_labels, check_positive_int, is_tracer
from hamgeo.codes import PackedCodes

__all__ = ["EncodingResult", "KnnTies"]

#: Tie rules of [`knn_classify`][hamgeo.encoding.knn_classify].
KnnTies = Literal["sklearn", "nearest"]

# Host memory of one block of scikit-learn-rule distances: at most this many float64s.
_HOST_BLOCK_ELEMENTS = 1 << 23


class EncodingResult(NamedTuple):
    """Outcome of the three categorization tests on codes (one type for all three).

    Attributes:
        train_accuracy: accuracy on the training codes (k-NN: each training code voted by
            all training codes, itself included, as scikit-learn's ``score(X_train, y_train)``;
            k-means: the Hungarian matching of clusters to labels; logistic regression: the
            fitted classifier). ``nan`` when not asked for (``knn_accuracy(score_train=False)``).
        test_accuracy: accuracy on the test codes.
        nmi: k-means: normalized mutual information between the training clusters and
            labels (scikit-learn's ``normalized_mutual_info_score``); ``nan`` for the others.
        converged: the solver stopped before ``max_iterations`` (k-NN: always ``True``).
        n_iters: iterations the solver ran (k-NN: 0).
    """

    train_accuracy: float
    test_accuracy: float
    nmi: float
    converged: bool
    n_iters: int


def _labels(y: Any, name: str, n: int, n_classes: int | None = None) -> np.ndarray:
    """Host ``int32[n]`` labels in ``[0, n_classes)`` (``hamgeo._checks.check_labels``)."""
    if is_tracer(y):
        raise TypeError(
            f"`{name}` must be a concrete array, got a tracer: the encoding functions are "
            "host-only (scikit-learn); call them outside jax.jit / vmap"
        )
    return check_labels(y, name, n_classes=n_classes, length=n)


def _n_classes(n_classes: Any) -> int | None:
    """A checked ``n_classes``, or ``None`` (no bound on the labels beyond int32)."""
    return None if n_classes is None else check_positive_int(n_classes, "n_classes")


def _same_bits(a: PackedCodes, b: PackedCodes, na: str, nb: str) -> None:
    if a.n_bits != b.n_bits:
        raise ValueError(
            f"`{na}` and `{nb}` must have the same n_bits, got {a.n_bits} and {b.n_bits}"
        )


def _host_bits(codes: PackedCodes) -> np.ndarray:
    """``bool[n, n_bits]`` on the host, unpacked with NumPy (no compilation per shape)."""
    words = np.ascontiguousarray(np.asarray(codes.words), dtype="<u4")
    bits = np.unpackbits(words.view(np.uint8), axis=-1, bitorder="little")
    return bits[:, : codes.n_bits].astype(bool)


def _seed(key: jax.Array) -> int:
    """A scikit-learn ``random_state`` drawn from a JAX key (no global seed)."""
    data = np.asarray(jax.random.key_data(key)).ravel()
    return int(np.random.SeedSequence(data.tolist()).generate_state(1)[0] >> 1)
