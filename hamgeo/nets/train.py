"""Training loop for every model in :mod:`hamgeo.nets`: optax, jit-compiled epochs.

One epoch is one compiled ``lax.scan`` over shuffled mini-batches (shuffling from the
key); batch-norm statistics are updated as mutable ``batch_stats``; binarized models
get :func:`hamgeo.nets.binary.clip_latent_weights` appended to their optimizer, so
their latent weights stay in ``[-1, 1]`` (the BinaryNet recipe). After every epoch the
loss, training accuracy and test accuracy go into ``history`` and ``callback(epoch,
variables)`` runs (the hash-encoder study sweeps training time this way).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from hamgeo.nets.binary import clip_latent_weights, has_latent_weights

__all__ = ["TrainResult", "accuracy", "make_train_step", "train"]


class TrainResult(NamedTuple):
    """What :func:`train` returns.

    Attributes:
        variables: the trained variables (``{"params": ..., ["batch_stats": ...]}``).
        history: per-epoch lists ``epoch``, ``loss`` (mean training loss over the
            epoch's steps), ``train_accuracy`` (on the labels trained on, label noise
            included) and ``test_accuracy`` (both in evaluation mode).
        labels: the training labels used (after label noise), ``int32[n_train]``.
    """

    variables: Any
    history: dict[str, list[float]]
    labels: np.ndarray | None = None


def _check_positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer, got {value!r}")
    return int(value)


@functools.partial(jax.jit, static_argnames="model")
def _n_correct(model: nn.Module, variables: Any, x: jax.Array, y: jax.Array) -> jax.Array:
    logits = model.apply(variables, x.astype(jnp.float32), train=False)
    valid = y >= 0  # padding rows carry label -1
    return jnp.sum((jnp.argmax(logits, axis=-1) == y) & valid)


def accuracy(model: nn.Module, variables: Any, x: Any, y: Any, *, batch_size: int = 1024) -> float:
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

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> from hamgeo.nets import MLP
        >>> model = MLP((4,), 3)
        >>> variables = model.init(jax.random.key(0), jnp.ones((1, 2)))
        >>> 0.0 <= accuracy(model, variables, jnp.ones((5, 2)), jnp.array([0, 1, 2, 0, 1])) <= 1.0
        True
    """
    x = np.asarray(x) if not hasattr(x, "shape") else x
    y = np.asarray(y)
    if x.ndim < 2:
        raise ValueError(f"`x` must have shape [n, ...], got {x.shape}")
    if y.shape != (x.shape[0],):
        raise ValueError(f"`y` must have shape [{x.shape[0]}] to match `x`, got {y.shape}")
    batch_size = _check_positive_int(batch_size, "batch_size")
    n = int(x.shape[0])
    if n == 0:
        raise ValueError("`x` must hold at least one input")
    # Batches of `batch_size`, or one batch padded to a power of two: few compilations.
    b = batch_size if n >= batch_size else 1 << (n - 1).bit_length()
    correct = 0
    for start in range(0, n, b):
        xb, yb = jnp.asarray(x[start : start + b]), jnp.asarray(y[start : start + b], jnp.int32)
        m = xb.shape[0]
        if m < b:
            xb = jnp.concatenate([xb, jnp.zeros((b - m, *xb.shape[1:]), xb.dtype)])
            yb = jnp.concatenate([yb, -jnp.ones((b - m,), jnp.int32)])
        correct += int(_n_correct(model, variables, xb, yb))
    return correct / n


def _default_optimizer(learning_rate: float, weight_decay: float) -> optax.GradientTransformation:
    if weight_decay:
        return optax.adamw(learning_rate, weight_decay=weight_decay)
    return optax.adam(learning_rate)


def _make_step(model: nn.Module, tx: optax.GradientTransformation) -> Callable[..., Any]:
    """One optimizer step ``(params, batch_stats, opt_state, x, y) -> (..., loss)``."""

    def loss_fn(params, batch_stats, x, y):
        variables = {"params": params}
        if batch_stats is not None:
            variables["batch_stats"] = batch_stats
            logits, updates = model.apply(variables, x, train=True, mutable=["batch_stats"])
            batch_stats = updates["batch_stats"]
        else:
            logits = model.apply(variables, x, train=True)
        loss = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
        return loss, batch_stats

    def step(params, batch_stats, opt_state, x, y):
        (loss, batch_stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            params, batch_stats, x, y
        )
        updates, opt_state = tx.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        return params, batch_stats, opt_state, loss

    return step


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
    tx = optimizer
    if has_latent_weights(variables["params"]):
        tx = optax.chain(tx, clip_latent_weights())
    step = _make_step(model, tx)

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


def _epoch_function(
    model: nn.Module, tx: optax.GradientTransformation, n: int, b: int
) -> Callable[..., Any]:
    """A jit-compiled epoch: shuffle ``n`` examples, scan over ``n // b`` steps."""
    step = _make_step(model, tx)
    n_steps = n // b

    @jax.jit
    def epoch_fn(params, batch_stats, opt_state, x, y, k):
        perm = jax.random.permutation(k, n)[: n_steps * b].reshape(n_steps, b)

        def body(carry, idx):
            params, batch_stats, opt_state = carry
            params, batch_stats, opt_state, loss = step(
                params, batch_stats, opt_state, x[idx], y[idx]
            )
            return (params, batch_stats, opt_state), loss

        carry, losses = jax.lax.scan(body, (params, batch_stats, opt_state), perm)
        return (*carry, jnp.mean(losses))

    return epoch_fn


@functools.lru_cache(maxsize=16)
def _default_epoch(
    model: nn.Module, learning_rate: float, weight_decay: float, clip: bool, n: int, b: int
) -> tuple[optax.GradientTransformation, Callable[..., Any]]:
    tx = _default_optimizer(learning_rate, weight_decay)
    if clip:
        tx = optax.chain(tx, clip_latent_weights())
    return tx, _epoch_function(model, tx, n, b)


def _noisy_labels(key: jax.Array, y: np.ndarray, fraction: float, n_classes: int) -> np.ndarray:
    """Replace ``round(fraction·n)`` labels, chosen from ``key``, by uniform random labels."""
    n_noisy = int(round(fraction * y.shape[0]))
    if n_noisy == 0:
        return y
    k_idx, k_lab = jax.random.split(key)
    idx = np.asarray(jax.random.permutation(k_idx, y.shape[0]))[:n_noisy]
    y = y.copy()
    y[idx] = np.asarray(jax.random.randint(k_lab, (n_noisy,), 0, n_classes))
    return y


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

    Args:
        model: any model of :mod:`hamgeo.nets`.
        data: a :class:`hamgeo.data.Dataset` (or anything with ``x_train``,
            ``y_train``, ``x_test``, ``y_test``).
        epochs: passes over the training set.
        batch_size: examples per step (capped at the training-set size).
        learning_rate: the step size of the default optimizer (Adam, or AdamW with
            ``weight_decay``); ignored when ``optimizer`` is given.
        key: ``jax.random`` key for initialization, shuffling and label noise.
        optimizer: an optax transformation to use instead of the default. With
            ``weight_decay > 0`` it is preceded by ``optax.add_decayed_weights``.
        weight_decay: decoupled weight decay (AdamW) for the default optimizer.
        label_noise: fraction of training labels replaced by uniformly random labels
            (drawn from ``key``) before training (``hash_encoders.txt``).
        callback: ``callback(epoch, variables)`` after every epoch (``epoch`` from 1).
        variables: start from these variables instead of a fresh initialization.
        progress: show a tqdm bar; default: only when stderr is a terminal.

    Returns:
        :class:`TrainResult` with the variables, the per-epoch history and the
        training labels used.

    Examples:
        >>> import jax
        >>> from hamgeo.data import gaussian_grid
        >>> from hamgeo.nets import MLP
        >>> ds = gaussian_grid(key=jax.random.key(0), per_axis=3, n_groups=3, n_per_gaussian=20)
        >>> result = train(MLP((16,), 3), ds, epochs=2, batch_size=32, learning_rate=1e-2,
        ...                key=jax.random.key(1))
        >>> sorted(result.history), len(result.history["loss"])
        (['epoch', 'loss', 'test_accuracy', 'train_accuracy'], 2)
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"`model` must be a flax.linen Module, got {type(model).__name__}")
    for attr in ("x_train", "y_train", "x_test", "y_test"):
        if not hasattr(data, attr):
            raise TypeError(f"`data` must be a Dataset with `{attr}`, got {type(data).__name__}")
    if not isinstance(key, jax.Array):
        raise TypeError(f"`key` must be a jax.random key, got {type(key).__name__}")
    epochs = _check_positive_int(epochs, "epochs")
    batch_size = _check_positive_int(batch_size, "batch_size")
    if optimizer is None and not (np.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(f"`learning_rate` must be a positive number, got {learning_rate!r}")
    if not (np.isfinite(weight_decay) and weight_decay >= 0):
        raise ValueError(f"`weight_decay` must be a non-negative number, got {weight_decay!r}")
    if not (0.0 <= label_noise <= 1.0):
        raise ValueError(f"`label_noise` must be in [0, 1], got {label_noise!r}")
    if callback is not None and not callable(callback):
        raise TypeError(f"`callback` must be callable, got {type(callback).__name__}")

    x_train = np.asarray(data.x_train, np.float32)
    y_train = np.asarray(data.y_train, np.int32)
    n = x_train.shape[0]
    if n == 0 or y_train.shape != (n,):
        raise ValueError(f"`data` must hold n > 0 training inputs and [n] labels, got {n}")
    n_classes = int(max(y_train.max(), np.max(data.y_test, initial=0))) + 1
    k_init, k_noise, k_epochs = jax.random.split(key, 3)
    y_used = _noisy_labels(k_noise, y_train, label_noise, n_classes)

    if variables is None:
        variables = model.init(k_init, jnp.asarray(x_train[:1]), train=False)
    variables = dict(variables)
    clip = has_latent_weights(variables["params"])
    b = min(batch_size, n)
    if optimizer is None:
        # Default optimizers are rebuilt from plain numbers, so their compiled epochs are
        # cached: repeated runs (sweeps, seeds) compile once.
        tx, epoch_fn = _default_epoch(model, float(learning_rate), float(weight_decay), clip, n, b)
    else:
        tx = optimizer
        if weight_decay:
            tx = optax.chain(optax.add_decayed_weights(weight_decay), tx)
        if clip:
            tx = optax.chain(tx, clip_latent_weights())
        epoch_fn = _epoch_function(model, tx, n, b)

    params, batch_stats = variables["params"], variables.get("batch_stats")
    opt_state = tx.init(params)
    x_dev, y_dev = jnp.asarray(x_train), jnp.asarray(y_used)
    n_test = len(data.y_test)
    # One evaluation batch size for both splits, so evaluation compiles once.
    eval_bs = min(1024, 1 << (min(n, n_test or n) - 1).bit_length())
    history: dict[str, list[float]] = {
        "epoch": [],
        "loss": [],
        "train_accuracy": [],
        "test_accuracy": [],
    }
    if progress is None:
        progress = sys.stderr.isatty()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs, desc=f"train {type(model).__name__}", leave=False)
    try:
        for epoch, k in enumerate(jax.random.split(k_epochs, epochs), start=1):
            params, batch_stats, opt_state, loss = epoch_fn(
                params, batch_stats, opt_state, x_dev, y_dev, k
            )
            current = {"params": params}
            if batch_stats is not None:
                current["batch_stats"] = batch_stats
            history["epoch"].append(epoch)
            history["loss"].append(float(loss))
            history["train_accuracy"].append(
                accuracy(model, current, x_dev, y_used, batch_size=eval_bs)
            )
            test_acc = (
                accuracy(model, current, data.x_test, data.y_test, batch_size=eval_bs)
                if n_test
                else np.nan
            )
            history["test_accuracy"].append(float(test_acc))
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{float(loss):.3f}", test=f"{test_acc:.3f}")
            if callback is not None:
                callback(epoch, current)
    finally:
        if bar is not None:
            bar.close()
    return TrainResult(current, history, y_used)
