"""The [`Dataset`][hamgeo.data.Dataset] every loader returns."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from hamgeo._checks import check_array, check_not_traced

__all__ = ["Dataset"]


_INT32_MAX = np.iinfo(np.int32).max


def _int32_labels(y: np.ndarray, name: str) -> np.ndarray:
    """``y`` as ``int32`` labels, refusing every value the cast would change."""
    what = f"`{name}` (labels) must hold integers in 0 .. {_INT32_MAX}"
    if y.dtype == np.bool_:
        return y.astype(np.int32)
    if not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating)):
        raise TypeError(f"{what}, got dtype {y.dtype}")
    if y.size == 0:
        return y.astype(np.int32)
    if np.issubdtype(y.dtype, np.floating):
        bad = ~np.isfinite(y) | (y != np.round(y))
        if bad.any():
            raise ValueError(f"{what}, got {y[bad][0].item()} (dtype {y.dtype})")
    low, high = y.min(), y.max()  # exact in the input's own dtype: nothing wraps
    if low < 0 or high > _INT32_MAX:
        raise ValueError(f"{what}, got {(low if low < 0 else high).item()} (dtype {y.dtype})")
    return y.astype(np.int32)


def _float32_inputs(x: Any, name: str) -> np.ndarray:
    """``x`` as ``float32``, refusing what the cast would change silently.

    Strings and objects (``TypeError``), complex values (the imaginary part would be
    dropped: ``TypeError``) and values not finite in float32 (NaN, inf, ``|x| > 3.4e38``:
    ``ValueError``).
    """
    dtype = getattr(x, "dtype", None)
    if dtype is not None and np.dtype(dtype).kind == "V":  # bfloat16 and other ml_dtypes
        try:
            x = np.asarray(x, np.float32)
        except (TypeError, ValueError):
            pass  # not a float after all: check_array names it
    arr = np.asarray(check_array(x, name))  # numeric, rectangular
    if arr.dtype.kind == "c":
        raise TypeError(f"`{name}` must be a real array, got dtype {arr.dtype}")
    with np.errstate(over="ignore", invalid="ignore"):
        out = arr.astype(np.float32)
    if out.size and not np.isfinite(out).all():
        bad = int(out.size - np.isfinite(out).sum())
        raise ValueError(
            f"`{name}` must be finite in float32, got {bad} NaN, inf or |x| > 3.4e38 value(s)"
        )
    return out


@dataclasses.dataclass(frozen=True)
class Dataset:
    """A labelled train / test split.

    Attributes:
        x_train: ``float32[n_train, ...]`` inputs.
        y_train: ``int32[n_train]`` labels in ``0 .. n_classes - 1``.
        x_test: ``float32[n_test, ...]`` inputs (same trailing shape as ``x_train``).
        y_test: ``int32[n_test]`` labels.
        name: a short name, e.g. ``"digits"``.
        info: extras (e.g. the Gaussian means of [`gaussian_grid`][hamgeo.data.gaussian_grid]; for
            the data sets
            read from the cache, the source, each file's SHA-256 and whether it was
            verified, see [`mnist`][hamgeo.data.mnist]).

    Host-only: it holds NumPy arrays (a traced input raises ``TypeError``).

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
        check_not_traced("Dataset", self.x_train, self.y_train, self.x_test, self.y_test)
        for split in ("train", "test"):
            x = _float32_inputs(getattr(self, f"x_{split}"), f"x_{split}")
            y = np.asarray(getattr(self, f"y_{split}"))
            if x.ndim < 2:
                raise ValueError(f"`x_{split}` must have shape [n, ...], got {x.shape}")
            if y.ndim != 1 or y.shape[0] != x.shape[0]:
                raise ValueError(
                    f"`y_{split}` must have shape [{x.shape[0]}] to match `x_{split}`, "
                    f"got {y.shape}"
                )
            y = _int32_labels(y, f"y_{split}")
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
