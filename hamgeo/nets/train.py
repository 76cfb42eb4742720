"""Training a model of `hamgeo.nets`: optax, jit-compiled epochs, one loop.

[`train`][hamgeo.nets.train.train] is [`train_many`][hamgeo.nets.batched.train_many] on one model:
the same code path, history, divergence warning, progress bar and callback. One epoch is one
compiled ``lax.scan`` over shuffled mini-batches (shuffling from the key); batch-norm statistics are
updated as mutable ``batch_stats``; binarized models get
[`clip_latent_weights`][hamgeo.nets.binary.clip_latent_weights] appended to their optimizer, so
their latent weights stay in ``[-1, 1]`` (the BinaryNet recipe). After every epoch the loss,
training accuracy and test accuracy go into ``history`` and ``callback(epoch, variables)`` runs (the
hash-encoder study sweeps training time this way).

Both share [`label_noise`][hamgeo.nets.train.label_noise] and one weight-decay spelling (decoupled,
as in AdamW).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from hamgeo import _checks
from hamgeo.nets import _loop
from hamgeo.nets._fit import fit
from hamgeo.nets._layers import check_inputs
from hamgeo.nets.variables import check_finite_variables, check_variables, n_outputs

__all__ = ["TrainResult", "accuracy", "label_noise", "make_train_step", "train"]


class TrainResult(NamedTuple):
    """What [`train`][hamgeo.nets.train.train] returns.

    Attributes:
        variables: the trained variables (``{"params": ..., ["batch_stats": ...]}``).
        history: the history of [`train_many`][hamgeo.nets.batched.train_many] without the model
            axis: ``epoch`` (``int[epochs]``, from 1) and ``float[epochs]`` arrays ``loss`` (mean
            training loss over the epoch's steps), ``train_accuracy`` (on the labels trained on,
            label noise included) and ``test_accuracy`` (both in evaluation mode). Accuracies are
            NaN from the first epoch whose loss or parameters are not finite.
        labels: the training labels used (after label noise), ``int32[n_train]``.
        finite: whether training stayed finite (every epoch's loss and the final
            parameters); ``False`` means the model diverged (a warning says when).
    """

    variables: Any
    history: dict[str, np.ndarray]
    labels: np.ndarray | None = None
    finite: bool = True


def accuracy(
    model: nn.Module, variables: Any, x: ArrayLike, y: ArrayLike, *, batch_size: int = 1024
) -> float:
    """Fraction of ``x`` that ``model`` classifies as ``y`` (evaluation mode, batched).

    Host-only: it counts on the host and returns a Python float.

    Args:
        model: any model of `hamgeo.nets`.
        variables: its variables.
        x: inputs ``[n, ...]``.
        y: integer labels ``[n]``.
        batch_size: inputs per compiled batch (the last batch is padded; fewer inputs
            than that go as one batch padded to a power of two).

    Returns:
        The accuracy, a Python float in ``[0, 1]``.

    Raises:
        TypeError: ``model`` is not a model of `hamgeo.nets`, ``variables`` not a
            dict of arrays, ``x`` not a real array, ``y`` not integer labels.
        ValueError: ``variables`` that do not fit ``model`` and ``x`` or hold NaN;
            ``x`` empty, of rank < 2 or not finite; ``y`` negative or not of length n.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> from hamgeo.nets import MLP
        >>> model = MLP((4,), 3)
        >>> variables = model.init(jax.random.key(0), jnp.ones((1, 2)))
        >>> 0.0 <= accuracy(model, variables, jnp.ones((5, 2)), jnp.array([0, 1, 2, 0, 1])) <= 1.0
        True
    """
    _checks.check_not_traced("accuracy", variables, x, y)
    _loop.check_module(model)
    x = check_inputs(x, min_rows=1)
    n = int(x.shape[0])
    example = tuple(int(s) for s in x.shape[1:])
    batch_size = _checks.check_positive_int(batch_size, "batch_size")
    shape = ", ".join(map(str, example))
    flat = check_variables(
        model, variables, example, context=f" for inputs `x` of shape [n, {shape}]"
    )
    check_finite_variables(flat)
    y = _checks.check_labels(y, "y", length=n, n_classes=n_outputs(model, example))
    return _accuracy(model, variables, x, y, batch_size)


def _accuracy(model: nn.Module, variables: Any, x: Any, y: Any, batch_size: int) -> float:
    """``accuracy`` on checked arguments (the training loop's evaluations)."""
    count = functools.partial(_loop.n_correct, model, variables)
    return int(_loop.count_correct(count, x, y, batch_size)) / int(x.shape[0])


def label_noise(
    labels: ArrayLike, fraction: float, n_classes: int, *, key: jax.Array, mask: Any = None
) -> jax.Array:
    """Give exactly ``round(fraction * n)`` of ``labels`` a random *different* class.

    The label noise of the hash-encoder study ([Hash-Encoders], see
    ``docs/references.md``), used by [`train`][hamgeo.nets.train.train] and
    [`train_many`][hamgeo.nets.batched.train_many]. The labels to change are drawn uniformly without
    replacement; each gets a class drawn uniformly from the ``n_classes - 1`` others, so the
    fraction of wrong labels is exactly ``round(fraction * n) / n`` (``round`` rounds half to even).
    With ``mask``, only the ``n = sum(mask)`` masked labels are candidates. Pure and jit-compatible;
    under ``jax.jit`` with a traced ``fraction`` the count is rounded in float32.

    Traceable: jit, vmap

    Args:
        labels: integer class labels ``[n]`` in ``[0, n_classes)``.
        fraction: fraction of labels to change, in ``[0, 1]``.
        n_classes: number of classes (at least 2 when anything changes).
        key: ``jax.random`` key.
        mask: optional ``bool[n]``: the labels that may change.

    Returns:
        ``int32[n]``: the noisy labels.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> y = jnp.zeros(10, jnp.int32)
        >>> noisy = label_noise(y, 0.3, 4, key=jax.random.key(0))
        >>> int((noisy != y).sum()), bool(((noisy >= 0) & (noisy < 4)).all())
        (3, True)
    """
    n_classes = _checks.check_positive_int(n_classes, "n_classes")
    if not _checks.is_tracer(key):
        key = _checks.check_key(key)
    traced = _checks.is_tracer(labels)
    y: Any = labels if traced else jnp.asarray(_checks.check_labels(labels, n_classes=n_classes))
    if y.ndim != 1:
        raise ValueError(f"`labels` must be 1-D, got shape {tuple(y.shape)}")
    n = int(y.shape[0])
    if mask is not None:
        if not _checks.is_tracer(mask):
            mask = _checks.check_array(mask, "mask", ndim=1, kind="b")
        if tuple(mask.shape) != (n,):
            raise ValueError(f"`mask` must have shape [{n}] like `labels`, got {mask.shape}")
        mask = jnp.asarray(mask)
    n_noisy: Any
    if _checks.is_tracer(fraction):
        n_sub = n if mask is None else jnp.sum(mask)
        n_noisy = jnp.round(fraction * n_sub).astype(jnp.int32)
    else:
        fraction = _checks.check_probability(fraction, "fraction")
        if _checks.is_tracer(mask):
            n_noisy = jnp.round(fraction * jnp.sum(mask)).astype(jnp.int32)
        else:
            n_sub = n if mask is None else int(np.sum(np.asarray(mask)))
            n_noisy = _loop.n_noisy_labels(fraction, n_sub)
            if n_noisy and n_classes < 2:
                raise ValueError(f"`n_classes` must be >= 2 to change labels, got {n_classes}")
    return _loop.noisy_labels(key, y, n_noisy, n_classes, mask)


def make_train_step(
    model: nn.Module, variables: Any, optimizer: optax.GradientTransformation
) -> tuple[Callable[..., Any], optax.GradientTransformation]:
    """A jit-compiled single training step (used by the benchmarks).

    Binarized models get [`clip_latent_weights`][hamgeo.nets.binary.clip_latent_weights] appended,
    as in [`train`][hamgeo.nets.train.train].

    Host-only: it builds a jitted step (the step itself traces).

    Args:
        model: any model of `hamgeo.nets`.
        variables: its variables (to see whether it has latent binary weights).
        optimizer: an optax transformation.

    Returns:
        ``step(variables, opt_state, x, y) -> (variables, opt_state, loss)`` and the
        optimizer actually used, as ``(step, tx)``.

    Examples:
        >>> import jax, jax.numpy as jnp, optax
        >>> from hamgeo.nets import MLP
        >>> model = MLP((4,), 2)
        >>> variables = model.init(jax.random.key(0), jnp.ones((1, 3)))
        >>> step, tx = make_train_step(model, variables, optax.sgd(0.1))
        >>> variables, state, loss = step(variables, tx.init(variables["params"]),
        ...                               jnp.ones((8, 3)), jnp.zeros(8, jnp.int32))
        >>> bool(jnp.isfinite(loss))
        True
    """
    _checks.check_not_traced("make_train_step", variables)
    tx = _loop.with_clipping(optimizer, variables["params"])
    step = _loop.make_step(model, tx)

    @jax.jit
    def run(variables, opt_state, x, y):
        params, stats, opt_state, loss = step(
            variables["params"], variables.get("batch_stats"), opt_state, x, y
        )
        return _loop.as_variables(params, stats), opt_state, loss

    return run, tx


def train(
    model: nn.Module,
    data: Any,
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    key: jax.Array,
    optimizer: optax.GradientTransformation | None = None,
    weight_decay: float = 0.0,
    label_noise: float = 0.0,
    callback: Callable[[int, Any], Any] | None = None,
    variables: Any = None,
    progress: bool = True,
    evaluate: bool = True,
) -> TrainResult:
    """Train ``model`` on ``data`` with softmax cross-entropy and optax.

    Each epoch shuffles the training set (from ``key``), runs one jit-compiled
    ``lax.scan`` over ``n_train // batch_size`` mini-batches (the remainder, different
    each epoch, is left out), then evaluates. Models with batch norm update their
    running statistics; binarized models get their latent weights clipped to
    ``[-1, 1]`` after every update. The same key gives the same result.

    Everything is checked before the first epoch: inputs must be finite, labels in
    ``[0, n_classes)`` of the model, and ``model`` (and ``variables``) must fit the
    inputs' shape (``jax.eval_shape``, no compilation). A loss or parameters that turn
    NaN or infinite during training make ``finite`` false, with a ``RuntimeWarning``;
    the history then holds NaN accuracies rather than those of a diverged model.

    Host-only: a Python loop over epochs with callbacks and warnings.

    Args:
        model: any model of `hamgeo.nets`.
        data: a [`Dataset`][hamgeo.data.Dataset] (or anything with ``x_train``, ``y_train``,
            ``x_test``, ``y_test``).
        epochs: passes over the training set.
        batch_size: examples per step (capped at the training-set size).
        learning_rate: the step size of the default optimizer (Adam, or AdamW with
            ``weight_decay``), ``> 0`` and within float32's range; ignored when
            ``optimizer`` is given.
        key: ``jax.random`` key for initialization, shuffling and label noise.
        optimizer: an optax transformation to use instead of the default.
        weight_decay: decoupled weight decay (AdamW, ``optax.adamw``): every step also
            moves each parameter by ``-learning_rate * weight_decay * p``. The one
            spelling of weight decay in `hamgeo.nets`; with a custom ``optimizer`` it
            must be 0 (put the decay in the optimizer).
        label_noise: fraction of training labels given a random different class before
            training ([`label_noise`][hamgeo.nets.train.label_noise]; the hash-encoder study).
        callback: ``callback(epoch, variables)`` after every epoch (``epoch`` from 1).
        variables: start from these variables instead of a fresh initialization.
        progress: show a progress bar (drawn only when stderr is a terminal).
        evaluate: compute the training and test accuracy after every epoch (else the
            history's accuracies are NaN: a caller that reads only the variables skips two
            passes over the data per epoch). The variables do not depend on it.

    Returns:
        [`TrainResult`][hamgeo.nets.train.TrainResult] with the variables, the per-epoch history,
        the training labels used and whether training stayed finite.

    Examples:
        >>> import jax
        >>> from hamgeo.data import gaussian_grid
        >>> from hamgeo.nets import MLP
        >>> ds = gaussian_grid(key=jax.random.key(0), per_axis=3, n_groups=3, n_per_gaussian=20)
        >>> result = train(MLP((16,), 3), ds, epochs=2, batch_size=32, learning_rate=1e-2,
        ...                key=jax.random.key(1))
        >>> sorted(result.history), len(result.history["loss"]), result.finite
        (['epoch', 'loss', 'test_accuracy', 'train_accuracy'], 2, True)
    """
    options = {name: v for name, v in locals().items() if name not in ("model", "data", "key")}
    result = fit(model, data, key, single=True, **options)  # every keyword, as given
    history = {name: v if name == "epoch" else v[0] for name, v in result.history.items()}
    variables = jax.tree.map(lambda a: a[0], result.variables)
    return TrainResult(variables, history, result.labels[0], bool(result.finite[0]))
