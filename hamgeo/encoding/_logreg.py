"""Multinomial logistic regression on codes (optax, full batch)."""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from hamgeo._checks import (
    check_float,
    check_key,
    check_positive_float,
    check_positive_int,
)
from hamgeo.codes import PackedCodes, as_packed_batch
from hamgeo.encoding._common import _labels, _n_classes, _same_bits

__all__ = ["LogRegResult", "logreg_accuracy"]


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
