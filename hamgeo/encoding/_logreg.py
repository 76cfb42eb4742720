"""Multinomial logistic regression on codes (scikit-learn)."""

from __future__ import annotations

import warnings

import numpy as np
from jax.typing import ArrayLike

from hamgeo._checks import check_float, check_not_traced, check_positive_float, check_positive_int
from hamgeo.codes import PackedCodes, as_packed_batch
from hamgeo.encoding._common import (
    EncodingResult,
    _host_bits,
    _labels,
    _n_classes,
    _same_bits,
)

__all__ = ["logreg_accuracy"]


def logreg_accuracy(
    train_codes: PackedCodes | ArrayLike,
    train_labels: ArrayLike,
    test_codes: PackedCodes | ArrayLike,
    test_labels: ArrayLike,
    *,
    l2: float = 1e-3,
    n_classes: int | None = None,
    max_iterations: int = 500,
    threshold: float = 1e-4,
) -> EncodingResult:
    """Multinomial logistic regression on codes: train and test accuracy.

    The third categorization test of the hash-encoder paper ([Hash-Encoders]), with the
    paper's own tool: scikit-learn's ``LogisticRegression`` (L-BFGS, multinomial) on the
    codes as {0, 1} features, minimizing the mean cross-entropy plus
    ``l2 / 2 * ||W||^2`` (bias not penalized), i.e. ``C = 1 / (l2 * n)``; ``l2 = 0`` is
    the unpenalized fit (``C = inf``). The problem is convex and the solver
    deterministic: no key. Why scikit-learn and not a JAX solver: timed on the
    hash-encoder study's sizes it is faster at its main width (``docs/api/encoding.md``).
    The fit runs with one BLAS thread (``threadpoolctl``): SciPy's L-BFGS-B is 3-4x slower
    with a multithreaded OpenBLAS at these sizes.

    Host-only: scikit-learn runs on the host; under a trace it raises hamgeo's
    ``TypeError``.

    Args:
        train_codes: ``[n, n_bits]`` training codes.
        train_labels: ``int[n]`` training labels.
        test_codes: ``[m, n_bits]`` test codes.
        test_labels: ``int[m]`` test labels.
        l2: L2 penalty on the weights, ``>= 0``.
        n_classes: number of classes, only to check the labels.
        max_iterations: cap on L-BFGS iterations (scikit-learn's ``max_iter``).
        threshold: the stopping threshold, scikit-learn's ``tol`` (hamgeo's one name for a
            stopping threshold, as in [`wasserstein`][hamgeo.transport.wasserstein]).

    Returns:
        An [`EncodingResult`][hamgeo.encoding.EncodingResult] (``nmi`` nan; ``converged``
        false when L-BFGS hit ``max_iterations``).

    Raises:
        TypeError: bad dtypes, a traced argument.
        ValueError: mismatched shapes or bit counts, negative ``l2``, labels out of range.

    Examples:
        >>> import numpy as np
        >>> codes = np.array([[1, 0], [1, 0], [0, 1], [0, 1]])
        >>> y = np.array([0, 0, 1, 1])
        >>> res = logreg_accuracy(codes, y, codes, y, l2=0.1)
        >>> res.train_accuracy, res.test_accuracy, res.converged
        (1.0, 1.0, True)
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    check_not_traced("logreg_accuracy", train_codes, train_labels, test_codes, test_labels)
    train = as_packed_batch(train_codes, "train_codes")
    test = as_packed_batch(test_codes, "test_codes")
    _same_bits(train, test, "train_codes", "test_codes")
    n_classes = _n_classes(n_classes)
    y_tr = _labels(train_labels, "train_labels", train.shape[0], n_classes)
    y_te = _labels(test_labels, "test_labels", test.shape[0], n_classes)
    l2 = check_float(l2, "l2", minimum=0.0)
    max_iterations = check_positive_int(max_iterations, "max_iterations")
    threshold = check_positive_float(threshold, "threshold")
    x, x_te = _host_bits(train).astype(np.float64), _host_bits(test).astype(np.float64)
    c = np.inf if l2 == 0.0 else 1.0 / (l2 * train.shape[0])
    if np.unique(y_tr).size < 2:  # scikit-learn needs two classes; one class predicts itself
        pred_tr, pred_te, n_iter = np.full_like(y_tr, y_tr[0]), np.full_like(y_te, y_tr[0]), 0
    else:
        clf = LogisticRegression(C=c, max_iter=max_iterations, tol=threshold)
        # One BLAS thread: SciPy's L-BFGS-B runs 3-4x slower with a multithreaded OpenBLAS
        # (its many small level-1 calls; scipy#22438, OpenMathLib/OpenBLAS#5383); timed by
        # `hamgeo bench --suite encoding`. Only the reduction order of the sums changes.
        with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
            warnings.simplefilter("ignore", ConvergenceWarning)  # reported as `converged`
            clf.fit(x, y_tr)
        pred_tr, pred_te, n_iter = clf.predict(x), clf.predict(x_te), int(np.max(clf.n_iter_))
    return EncodingResult(
        train_accuracy=float(np.mean(pred_tr == y_tr)),
        test_accuracy=float(np.mean(pred_te == y_te)),
        nmi=float("nan"),
        converged=n_iter < max_iterations,
        n_iters=n_iter,
    )
