"""Data sets made or shipped locally: scikit-learn's digits and MNIST-1D (never downloaded)."""

from __future__ import annotations

import functools
import random

import numpy as np

from hamgeo._checks import check_bool, check_int
from hamgeo.data._dataset import Dataset

__all__ = ["digits", "mnist1d"]

_N_DIGITS = 1797


def digits(*, images: bool = False, test_size: int = 360) -> Dataset:
    """scikit-learn's bundled 8×8 digits, scaled to ``[0, 1]``, with a fixed stratified split.

    The digits are the test part of the UCI "Optical Recognition of Handwritten Digits"
    data, shipped with scikit-learn (nothing is downloaded).

    Args:
        images: return inputs as ``[n, 8, 8, 1]`` images (for a CNN) instead of ``[n, 64]``.
        test_size: number of test images (the split is stratified by label and fixed;
            between 10 and 1787, so each split holds every label).

    Returns:
        A [`Dataset`][hamgeo.data.Dataset] with 1797 − ``test_size`` training and ``test_size``
        test images.

    Host-only: it reads scikit-learn's bundled files.

    Examples:
        >>> ds = digits()
        >>> ds.x_train.shape, ds.x_test.shape, float(ds.x_train.max())
        ((1437, 64), (360, 64), 1.0)
    """
    images = check_bool(images, "images")
    test_size = check_int(test_size, "test_size", minimum=10, maximum=_N_DIGITS - 10)
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=test_size, stratify=y, random_state=0, shuffle=True
    )
    if images:
        x_tr, x_te = x_tr.reshape(-1, 8, 8, 1), x_te.reshape(-1, 8, 8, 1)
    info = {
        "source": "digits",
        "image_shape": (8, 8, 1),
        "n_train": int(x_tr.shape[0]),
        "n_test": int(x_te.shape[0]),
    }
    return Dataset(x_tr, y_tr, x_te, y_te, "digits", info)


@functools.lru_cache(maxsize=1)
def _mnist1d_arrays() -> tuple[np.ndarray, ...]:
    from mnist1d.data import get_dataset_args, make_dataset

    # make_dataset seeds the global `random` / `np.random`; restore the caller's state.
    py_state, np_state = random.getstate(), np.random.get_state()  # noqa: NPY002
    try:
        d = make_dataset(get_dataset_args())
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)  # noqa: NPY002
    arrays = (d["x"], d["y"], d["x_test"], d["y_test"])
    for a in arrays:
        a.setflags(write=False)
    return arrays


def mnist1d() -> Dataset:
    """MNIST-1D ([MNIST-1D], Greydanus 2020): 4000 training and 1000 test signals of length 40.

    Made offline by the ``mnist1d`` package's procedural generator with its default
    arguments (``make_dataset(get_dataset_args())``, seed 42); its global seeding of
    ``random`` and ``np.random`` is undone, so the caller's random state is untouched.

    Returns:
        A [`Dataset`][hamgeo.data.Dataset] with ``x: float32[n, 40]`` and 10 classes.

    Host-only: it runs the ``mnist1d`` generator (NumPy).

    Examples:
        >>> ds = mnist1d()
        >>> ds.x_train.shape, ds.x_test.shape, ds.n_classes
        ((4000, 40), (1000, 40), 10)
    """
    x_tr, y_tr, x_te, y_te = _mnist1d_arrays()
    info = {"source": "mnist1d", "n_train": int(x_tr.shape[0]), "n_test": int(x_te.shape[0])}
    return Dataset(x_tr.copy(), y_tr.copy(), x_te.copy(), y_te.copy(), "mnist1d", info)
