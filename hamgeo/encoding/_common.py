"""Shared checks of the encoding package (the leaf its siblings import)."""

from __future__ import annotations

from typing import Any, Literal

import jax
import numpy as np

from hamgeo._checks import (
    check_labels,
    check_positive_int,
)
from hamgeo.codes import PackedCodes

__all__ = ["KnnTies"]

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
