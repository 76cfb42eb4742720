"""The :class:`Dataset` every loader returns."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

__all__ = ["Dataset"]


@dataclasses.dataclass(frozen=True)
class Dataset:
    """A labelled train / test split.

    Attributes:
        x_train: ``float32[n_train, ...]`` inputs.
        y_train: ``int32[n_train]`` labels in ``0 .. n_classes - 1``.
        x_test: ``float32[n_test, ...]`` inputs (same trailing shape as ``x_train``).
        y_test: ``int32[n_test]`` labels.
        name: a short name, e.g. ``"digits"``.
        info: extras (e.g. the Gaussian means of :func:`gaussian_grid`; for the data sets
            read from the cache, the source, each file's SHA-256 and whether it was
            verified, see :func:`mnist`).

    Examples:
        >>> import numpy as np
        >>> ds = Dataset(np.zeros((3, 2)), [0, 1, 1], np.zeros((1, 2)), [1], "toy")
        >>> ds.x_train.dtype, ds.y_train.dtype, ds.n_classes, ds.input_shape
        (dtype('float32'), dtype('int32'), 2, (2,))
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    name: str = "dataset"
    info: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            x = np.asarray(getattr(self, f"x_{split}"), dtype=np.float32)
            y = np.asarray(getattr(self, f"y_{split}"))
            if x.ndim < 2:
                raise ValueError(f"`x_{split}` must have shape [n, ...], got {x.shape}")
            if y.ndim != 1 or y.shape[0] != x.shape[0]:
                raise ValueError(
                    f"`y_{split}` must have shape [{x.shape[0]}] to match `x_{split}`, "
                    f"got {y.shape}"
                )
            if y.size and not np.issubdtype(y.dtype, np.integer):
                if not np.all(y == np.round(y)):
                    raise TypeError(f"`y_{split}` must hold integer labels, got dtype {y.dtype}")
            y = y.astype(np.int32)
            if y.size and y.min() < 0:
                raise ValueError(f"`y_{split}` must be non-negative, got {y.min()}")
            object.__setattr__(self, f"x_{split}", x)
            object.__setattr__(self, f"y_{split}", y)
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise ValueError(
                f"`x_train` and `x_test` must share their trailing shape, got "
                f"{self.x_train.shape[1:]} and {self.x_test.shape[1:]}"
            )

    @property
    def n_classes(self) -> int:
        """``1 + `` the largest label in either split."""
        top = [int(y.max()) for y in (self.y_train, self.y_test) if y.size]
        return 1 + max(top) if top else 0

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of one input."""
        return tuple(self.x_train.shape[1:])
