"""Training loop for every model in :mod:`hamgeo.nets`: optax, jit-compiled epochs.

One epoch is one compiled ``lax.scan`` over shuffled mini-batches (shuffling from the
key); batch-norm statistics are updated as mutable ``batch_stats``; binarized models
get :func:`hamgeo.nets.binary.clip_latent_weights` appended to their optimizer, so
their latent weights stay in ``[-1, 1]`` (the BinaryNet recipe). After every epoch the
loss, training accuracy and test accuracy go into ``history`` and ``callback(epoch,
variables)`` runs (the hash-encoder study sweeps training time this way).

The same loop trains many same-shaped models at once in :mod:`hamgeo.nets.batched`
(:func:`~hamgeo.nets.batched.train_many`); both share :func:`label_noise` and one
weight-decay spelling (decoupled, as in AdamW).
"""

from __future__ import annotations

import functools
import warnings
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
from hamgeo.nets._variables import check_finite_variables, check_variables
from hamgeo.nets.binary import clip_latent_weights, has_latent_weights

__all__ = ["TrainResult", "accuracy", "label_noise", "make_train_step", "train"]


class TrainResult(NamedTuple):
    """What :func:`train` returns.

    Attributes:
        variables: the trained variables (``{"params": ..., ["batch_stats": ...]}``).
        history: per-epoch lists ``epoch``, ``loss`` (mean training loss over the
            epoch's steps), ``train_accuracy`` (on the labels trained on, label noise
            included) and ``test_accuracy`` (both in evaluation mode). Accuracies are
            NaN from the first epoch whose loss or parameters are not finite.
        labels: the training labels used (after label noise), ``int32[n_train]``.
        finite: whether training stayed finite (every epoch's loss and the final
            parameters); ``False`` means the model diverged (a warning says when).
    """

    variables: Any
    history: dict[str, list[float]]
    labels: np.ndarray | None = None
    finite: bool = True


def accuracy(
    model: nn.Module, variables: Any, x: ArrayLike, y: ArrayLike, *, batch_size: int = 1024
) -> float:
    """Fraction of ``x`` that ``model`` classifies as ``y`` (evaluation mode, batched).

    Args:
        model: any model of :mod:`hamgeo.nets`.
        variables: its variables.
        x: inputs ``[n, ...]``.
        y: integer labels ``[n]``.
        batch_size: inputs per compiled batch (the last batch is padded; fewer inputs
            than that go as one batch padded to a power of two).

    Returns:
        The accuracy, a Python float in ``[0, 1]``.

    Raises:
        TypeError: ``model`` is not a model of :mod:`hamgeo.nets`, ``variables`` not a
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
    _loop.check_module(model)
    x = _checks.check_finite_array(x, "x")
    if x.ndim < 2:
        raise ValueError(f"`x` must have shape [n, ...], got {x.shape}")
    n = int(x.shape[0])
    if n == 0:
        raise ValueError("`x` must hold at least one input")
    y = _checks.check_labels(y, "y", length=n)
    batch_size = _checks.check_positive_int(batch_size, "batch_size")
    example = tuple(int(s) for s in x.shape[1:])
    shape = ", ".join(map(str, example))
    flat = check_variables(
        model, variables, example, context=f" for inputs `x` of shape [n, {shape}]"
    )
    check_finite_variables(flat)
    return _accuracy(model, variables, x, y, batch_size)


def _accuracy(model: nn.Module, variables: Any, x: Any, y: Any, batch_size: int) -> float:
    """:func:`accuracy` on checked arguments (the training loop's evaluations)."""
    count = functools.partial(_loop.n_correct, model, variables)
    return int(_loop.count_correct(count, x, y, batch_size)) / int(x.shape[0])


def label_noise(
    key: jax.Array, labels: ArrayLike, fraction: float, n_classes: int, *, mask: Any = None
) -> jax.Array:
    """Give exactly ``round(fraction * n)`` of ``labels`` a random *different* class.

    The label noise of the hash-encoder study ([Hash-Encoders], see
    ``docs/references.md``), used by :func:`train` and
    :func:`~hamgeo.nets.batched.train_many`. The labels to change are drawn uniformly
    without replacement; each gets a class drawn uniformly from the ``n_classes - 1``
    others, so the fraction of wrong labels is exactly ``round(fraction * n) / n``
    (``round`` rounds half to even). With ``mask``, only the ``n = sum(mask)`` masked
    labels are candidates. Pure and jit-compatible; under ``jax.jit`` with a traced
    ``fraction`` the count is rounded in float32.

    Args:
        key: ``jax.random`` key.
        labels: integer class labels ``[n]`` in ``[0, n_classes)``.
        fraction: fraction of labels to change, in ``[0, 1]``.
        n_classes: number of classes (at least 2 when anything changes).
        mask: optional ``bool[n]``: the labels that may change.

    Returns:
        ``int32[n]``: the noisy labels.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> y = jnp.zeros(10, jnp.int32)
        >>> noisy = label_noise(jax.random.key(0), y, 0.3, 4)
        >>> int((noisy != y).sum()), bool(((noisy >= 0) & (noisy < 4)).all())
        (3, True)
    """
    n_classes = _checks.check_positive_int(n_classes, "n_classes")
    if not isinstance(key, jax.core.Tracer):
        key = _checks.check_key(key)
    traced = isinstance(labels, jax.core.Tracer)
    y = labels if traced else jnp.asarray(_checks.check_labels(labels, n_classes=n_classes))
    if y.ndim != 1:
        raise ValueError(f"`labels` must be 1-D, got shape {tuple(y.shape)}")
    n = int(y.shape[0])
    if mask is not None:
        if not isinstance(mask, jax.core.Tracer):
            mask = _checks.check_array(mask, "mask", ndim=1, kind="b")
        if tuple(mask.shape) != (n,):
            raise ValueError(f"`mask` must have shape [{n}] like `labels`, got {mask.shape}")
        mask = jnp.asarray(mask)
    if isinstance(fraction, jax.core.Tracer):
        n_sub = n if mask is None else jnp.sum(mask)
        n_noisy = jnp.round(fraction * n_sub).astype(jnp.int32)
    else:
        fraction = _checks.check_probability(fraction, "fraction")
        if isinstance(mask, jax.core.Tracer):
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

    Binarized models get :func:`~hamgeo.nets.binary.clip_latent_weights` appended,
    as in :func:`train`.

    Args:
        model: any model of :mod:`hamgeo.nets`.
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
    tx = _loop.with_clipping(optimizer, variables["params"])
    step = _loop.make_step(model, tx)

    @jax.jit
    def run(variables, opt_state, x, y):
        params, stats, opt_state, loss = step(
            variables["params"], variables.get("batch_stats"), opt_state, x, y
        )
        out = {"params": params}
        if stats is not None:
            out["batch_stats"] = stats
        return out, opt_state, loss

    return run, tx


def _epoch_function(model: nn.Module, tx: Any, b: int) -> Callable[..., Any]:
    """A jit-compiled epoch ``(params, batch_stats, opt_state, x, y, key) -> (..., loss)``."""
    return jax.jit(functools.partial(_loop.epoch, model, tx, b))


@functools.lru_cache(maxsize=16)
def _default_epoch(
    model: nn.Module, learning_rate: float, weight_decay: float, clip: bool, b: int
) -> tuple[optax.GradientTransformation, Callable[..., Any]]:
    tx = _loop.default_optimizer(learning_rate, weight_decay, decay=weight_decay > 0)
    if clip:
        tx = optax.chain(tx, clip_latent_weights())
    return tx, _epoch_function(model, tx, b)


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
    progress: bool | None = None,
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

    Args:
        model: any model of :mod:`hamgeo.nets`.
        data: a :class:`hamgeo.data.Dataset` (or anything with ``x_train``,
            ``y_train``, ``x_test``, ``y_test``).
        epochs: passes over the training set.
        batch_size: examples per step (capped at the training-set size).
        learning_rate: the step size of the default optimizer (Adam, or AdamW with
            ``weight_decay``); ignored when ``optimizer`` is given.
        key: ``jax.random`` key for initialization, shuffling and label noise.
        optimizer: an optax transformation to use instead of the default.
        weight_decay: decoupled weight decay (AdamW, ``optax.adamw``): every step also
            moves each parameter by ``-learning_rate * weight_decay * p``. The one
            spelling of weight decay in :mod:`hamgeo.nets`; with a custom ``optimizer``
            it must be 0 (put the decay in the optimizer).
        label_noise: fraction of training labels given a random different class before
            training (:func:`label_noise`; the hash-encoder study).
        callback: ``callback(epoch, variables)`` after every epoch (``epoch`` from 1).
        variables: start from these variables instead of a fresh initialization.
        progress: show a tqdm bar; default: only when stderr is a terminal.

    Returns:
        :class:`TrainResult` with the variables, the per-epoch history, the training
        labels used and whether training stayed finite.

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
    _loop.check_module(model)
    key = _checks.check_key(key)
    epochs = _checks.check_positive_int(epochs, "epochs")
    batch_size = _checks.check_positive_int(batch_size, "batch_size")
    lr, wd, noise = (
        float(v[0])
        for v in _loop.check_hyperparameters(
            optimizer, learning_rate, weight_decay, label_noise, callback
        )
    )
    ds = _loop.check_data(data)
    _loop.check_model(model, ds, variables)

    n = ds.x_train.shape[0]
    if _loop.n_noisy_labels(noise, n) and ds.n_classes < 2:
        raise ValueError("`label_noise` needs >= 2 classes in `data`, got 1")
    k_init, k_noise, k_epochs = jax.random.split(key, 3)
    y_used = np.asarray(_label_noise(k_noise, ds.y_train, noise, ds.n_classes))

    if variables is None:
        variables = model.init(k_init, jnp.asarray(ds.x_train[:1]), train=False)
    variables = dict(variables)
    clip = has_latent_weights(variables["params"])
    b = min(batch_size, n)
    if optimizer is None:
        # Default optimizers are rebuilt from plain numbers, so their compiled epochs are
        # cached: repeated runs (sweeps, seeds) compile once.
        tx, epoch_fn = _default_epoch(model, lr, wd, clip, b)
    else:
        tx = _loop.with_clipping(optimizer, variables["params"])
        epoch_fn = _epoch_function(model, tx, b)

    params, batch_stats = variables["params"], variables.get("batch_stats")
    opt_state = tx.init(params)
    x_dev, y_dev = jnp.asarray(ds.x_train), jnp.asarray(y_used)
    n_test = len(ds.y_test)
    # One evaluation batch size for both splits, so evaluation compiles once.
    eval_bs = min(1024, 1 << (min(n, n_test or n) - 1).bit_length())
    history: dict[str, list[float]] = {
        "epoch": [],
        "loss": [],
        "train_accuracy": [],
        "test_accuracy": [],
    }
    finite = True
    with _loop.progress_bar(progress, epochs, f"train {type(model).__name__}") as bar:
        for epoch, k in enumerate(jax.random.split(k_epochs, epochs), start=1):
            params, batch_stats, opt_state, loss = epoch_fn(
                params, batch_stats, opt_state, x_dev, y_dev, k
            )
            current = {"params": params}
            if batch_stats is not None:
                current["batch_stats"] = batch_stats
            history["epoch"].append(epoch)
            history["loss"].append(float(loss))
            if finite and not (np.isfinite(float(loss)) and bool(_loop.all_finite(current))):
                finite = False
                warnings.warn(
                    f"training diverged at epoch {epoch}: the loss or the parameters are not "
                    "finite; accuracies from then on are NaN (try a smaller learning_rate)",
                    RuntimeWarning,
                    stacklevel=2,
                )
            train_acc = test_acc = float("nan")
            if finite:
                train_acc = _accuracy(model, current, x_dev, y_used, eval_bs)
                if n_test:
                    test_acc = _accuracy(model, current, ds.x_test, ds.y_test, eval_bs)
            history["train_accuracy"].append(train_acc)
            history["test_accuracy"].append(float(test_acc))
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{float(loss):.3f}", test=f"{test_acc:.3f}")
            if callback is not None:
                callback(epoch, current)
    return TrainResult(current, history, y_used, finite)


_label_noise = label_noise  # inside `train`, its argument `label_noise` shadows the function
