"""The pieces ``hamgeo.nets.train`` and ``hamgeo.nets.batched`` share (private leaf).

One optimizer step, one epoch (a ``lax.scan`` over shuffled mini-batches), the default
optimizer and its weight decay, the label-noise draw, evaluation counts, and the checks
of a dataset and of a model against it. Everything here is written for one model;
[`hamgeo.nets.batched`][hamgeo.nets.batched] maps it over many with ``jax.vmap``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from hamgeo._checks import (
    check_finite_array,
    check_float,
    check_labels,
    check_probability,
    describe,
)
from hamgeo.nets.binary import clip_latent_weights, has_latent_weights

__all__ = [
    "TrainData",
    "all_finite",
    "as_variables",
    "check_callables",
    "check_data",
    "check_hyperparameters",
    "check_model",
    "check_module",
    "count_correct",
    "count_many",
    "default_optimizer",
    "epoch",
    "eval_batch_size",
    "make_step",
    "n_correct",
    "n_noisy_labels",
    "noisy_labels",
    "per_model",
    "split_keys",
    "with_clipping",
]


# ------------------------------------------------------------------------- optimization


def default_optimizer(learning_rate: Any, weight_decay: Any, decay: bool) -> Any:
    """Adam, or AdamW when ``decay``: the one weight-decay spelling of ``hamgeo.nets``.

    Decoupled weight decay as in AdamW: each step moves every parameter by
    ``-learning_rate * (adam_update + weight_decay * p)``. ``decay`` is static (the
    hyper-parameters themselves may be traced); without it the optimizer is plain Adam,
    which keeps [`train`][hamgeo.nets.train.train]'s results for ``weight_decay=0`` unchanged.
    """
    if decay:
        return optax.adamw(learning_rate, weight_decay=weight_decay)
    return optax.adam(learning_rate)


def with_clipping(tx: Any, params: Any) -> Any:
    """``tx`` with ``clip_latent_weights`` appended when ``params`` has latent weights."""
    return optax.chain(tx, clip_latent_weights()) if has_latent_weights(params) else tx


def as_variables(params: Any, batch_stats: Any) -> dict[str, Any]:
    """A model's variables from its parameters and batch statistics (``None``: it has none)."""
    if batch_stats is None:
        return {"params": params}
    return {"params": params, "batch_stats": batch_stats}


def make_step(model: nn.Module, tx: Any) -> Callable[..., Any]:
    """One optimizer step ``(params, batch_stats, opt_state, x, y) -> (..., loss)``."""

    def loss_fn(params, batch_stats, x, y):
        variables = as_variables(params, batch_stats)
        if batch_stats is not None:
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


def _batches(key: jax.Array, n: int, b: int, mask: jax.Array | None) -> jax.Array:
    """Indices ``[n // b, b]`` of one epoch's mini-batches.

    Without ``mask``: the first ``(n // b) * b`` entries of a permutation of ``range(n)``.
    With ``mask`` (``bool[n]``): the same permutation with the masked examples moved to
    the front (stably), cycled over the ``sum(mask)`` of them for the same ``n // b``
    steps. An all-true mask gives exactly the indices of no mask.
    """
    n_steps = n // b
    perm = jax.random.permutation(key, n)
    if mask is None:
        return perm[: n_steps * b].reshape(n_steps, b)
    order = perm[jnp.argsort(~mask[perm], stable=True)]
    n_sub = jnp.maximum(jnp.sum(mask, dtype=jnp.int32), 1)
    return order[jnp.arange(n_steps * b) % n_sub].reshape(n_steps, b)


def epoch(
    model: nn.Module,
    tx: Any,
    batch_size: int,
    params: Any,
    batch_stats: Any,
    opt_state: Any,
    x: jax.Array,
    y: jax.Array,
    key: jax.Array,
    mask: jax.Array | None = None,
) -> tuple[Any, Any, Any, jax.Array]:
    """One epoch of one model: ``n // b`` steps over shuffled mini-batches (``b`` capped at n)."""
    n = x.shape[0]
    step = make_step(model, tx)

    def body(carry, idx):
        params, batch_stats, opt_state = carry
        params, batch_stats, opt_state, loss = step(params, batch_stats, opt_state, x[idx], y[idx])
        return (params, batch_stats, opt_state), loss

    idx = _batches(key, n, min(batch_size, n), mask)
    carry, losses = jax.lax.scan(body, (params, batch_stats, opt_state), idx)
    return (*carry, jnp.mean(losses))


@jax.jit
def all_finite(tree: Any) -> jax.Array:
    """Whether every leaf of ``tree`` is finite everywhere (a scalar bool)."""
    leaves = [jnp.all(jnp.isfinite(leaf)) for leaf in jax.tree.leaves(tree)]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.bool_(True)


# --------------------------------------------------------------------------- label noise


def noisy_labels(
    key: jax.Array, y: jax.Array, n_noisy: jax.Array, n_classes: int, mask: jax.Array | None
) -> jax.Array:
    """Give ``n_noisy`` labels (of those where ``mask``) a uniformly random *other* class.

    Which labels: the first ``n_noisy`` masked entries of a permutation drawn from the
    first half of ``key``; their new class ``(y + s) mod n_classes`` with ``s`` uniform in
    ``[1, n_classes)`` from the second half, so every chosen label changes. Traceable in
    ``key``, ``y``, ``n_noisy`` and ``mask`` (``n_classes`` is static).
    """
    n = y.shape[0]
    k_idx, k_lab = jax.random.split(key)
    perm = jax.random.permutation(k_idx, n)
    if mask is not None:
        perm = perm[jnp.argsort(~mask[perm], stable=True)]
    rank = jnp.zeros(n, jnp.int32).at[perm].set(jnp.arange(n, dtype=jnp.int32))
    chosen = rank < n_noisy
    if mask is not None:
        chosen = chosen & mask
    shift = jax.random.randint(k_lab, (n,), 1, max(n_classes, 2), dtype=jnp.int32)
    return jnp.where(chosen, (y + shift) % n_classes, y).astype(jnp.int32)


def n_noisy_labels(fraction: float, n: int) -> int:
    """``round(fraction * n)`` with Python's rounding (half to even): the labels to flip."""
    return int(round(float(fraction) * int(n)))


# ---------------------------------------------------------------------------- evaluation


@functools.partial(jax.jit, static_argnames="model")
def n_correct(model: nn.Module, variables: Any, x: jax.Array, y: jax.Array) -> jax.Array:
    """How many of ``x`` the model classifies as ``y``; rows with ``y < 0`` do not count."""
    logits: Any = model.apply(variables, x.astype(jnp.float32), train=False)
    valid = y >= 0  # padding rows carry label -1
    return jnp.sum((jnp.argmax(logits, axis=-1) == y) & valid)


def eval_batch_size(n: int, batch_size: int) -> int:
    """``batch_size``, or one power-of-two batch for fewer inputs (few compilations)."""
    return batch_size if n >= batch_size else 1 << (n - 1).bit_length()


def count_correct(
    count: Callable[[jax.Array, jax.Array], jax.Array], x: Any, y: Any, batch_size: int
) -> np.ndarray:
    """Sum ``count(x_batch, y_batch)`` over padded batches of ``x`` (labels ``[..., n]``).

    ``y`` may carry leading model axes (``[k, n]``); padding rows get label ``-1``.
    """
    n = int(x.shape[0])
    b = eval_batch_size(n, batch_size)
    total = np.zeros(np.shape(y)[:-1], np.int64)
    for start in range(0, n, b):
        xb = jnp.asarray(x[start : start + b])
        yb = jnp.asarray(np.asarray(y)[..., start : start + b], jnp.int32)
        m = xb.shape[0]
        if m < b:
            xb = jnp.concatenate([xb, jnp.zeros((b - m, *xb.shape[1:]), xb.dtype)])
            pad = -jnp.ones((*yb.shape[:-1], b - m), jnp.int32)
            yb = jnp.concatenate([yb, pad], axis=-1)
        total = total + np.asarray(count(xb, yb), np.int64)
    return total


# -------------------------------------------------------------------------------- checks


class TrainData(NamedTuple):
    """A validated dataset: float32 inputs, int32 labels, and the number of classes seen."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int


def check_data(data: Any, name: str = "data") -> TrainData:
    """Validate a [`Dataset`][hamgeo.data.Dataset]-like object before any training.

    Inputs must be real and finite, ``[n, ...]`` with ``n >= 1`` training rows and the
    same per-example shape in both splits; labels integer, ``[n]``, non-negative.
    """
    for attr in ("x_train", "y_train", "x_test", "y_test"):
        if not hasattr(data, attr):
            raise TypeError(f"`{name}` must be a Dataset with `{attr}`, got {describe(data)}")
    x_train = check_finite_array(data.x_train, f"{name}.x_train", min_rows=1)
    if x_train.ndim < 2:
        raise ValueError(f"`{name}.x_train` must have shape [n, ...], got {x_train.shape}")
    n = int(x_train.shape[0])
    y_train = check_labels(data.y_train, f"{name}.y_train", length=n)
    x_test = check_finite_array(data.x_test, f"{name}.x_test")
    if tuple(x_test.shape[1:]) != tuple(x_train.shape[1:]) or x_test.ndim != x_train.ndim:
        raise ValueError(
            f"`{name}.x_test` must have shape [n_test, {', '.join(map(str, x_train.shape[1:]))}]"
            f" like `{name}.x_train`, got {tuple(x_test.shape)}"
        )
    y_test = check_labels(data.y_test, f"{name}.y_test", length=int(x_test.shape[0]))
    n_classes = int(max(y_train.max(), np.max(y_test, initial=0))) + 1
    return TrainData(
        np.asarray(x_train, np.float32), y_train, np.asarray(x_test, np.float32), y_test, n_classes
    )


def _path_name(path: tuple) -> str:
    return "/".join(str(getattr(p, "key", getattr(p, "idx", p))) for p in path)


def check_module(model: Any) -> nn.Module:
    """``model`` must be a ``flax.linen`` module whose ``__call__`` takes ``train``.

    Every model of `hamgeo.nets` does; a plain flax layer (``nn.Dense``) does not,
    and would fail inside ``model.apply`` with a message that names no argument.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"`model` must be a flax.linen Module, got {describe(model)}")
    params: Mapping[str, inspect.Parameter]
    try:
        params = inspect.signature(type(model).__call__).parameters
    except (TypeError, ValueError):  # no signature to inspect
        params = {}
    takes_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    if "train" not in params and not takes_kwargs:
        raise TypeError(
            f"`model` must be a model of hamgeo.nets (its __call__ takes `train`), "
            f"got {type(model).__name__}"
        )
    return model


def check_model(
    model: nn.Module, data: TrainData, variables: Any = None, *, n_models: int | None = None
) -> int:
    """Check that ``model`` (and ``variables``) fit ``data``; return the model's class count.

    Shapes only (``jax.eval_shape`` of ``model.init`` on one example), so a mismatch is
    reported before the first epoch, naming the argument. ``n_models``: ``variables``
    are stacked models with that leading axis.
    """
    check_module(model)
    probe = jax.ShapeDtypeStruct((1, *data.x_train.shape[1:]), jnp.float32)
    try:
        expected = jax.eval_shape(lambda x: model.init(jax.random.key(0), x, train=False), probe)
        logits = jax.eval_shape(lambda v, x: model.apply(v, x, train=False), expected, probe)
    except Exception as err:  # flax/XLA errors of many kinds; rephrased, cause kept
        raise ValueError(
            f"`model` ({type(model).__name__}) cannot take inputs of shape "
            f"{tuple(data.x_train.shape[1:])} from `data.x_train`: {err}"
        ) from err
    if variables is not None:
        _check_variables(variables, expected, n_models)
    n_out = int(logits.shape[-1])
    check_labels(data.y_train, "data.y_train", n_classes=n_out)  # the model's classes
    check_labels(data.y_test, "data.y_test", n_classes=n_out)
    return n_out


def _check_variables(variables: Any, expected: Any, n_models: int | None) -> None:
    what = "`variables`" if n_models is None else f"`variables` (stacked, {n_models} models)"
    if not isinstance(variables, dict) or "params" not in variables:
        raise TypeError(f"{what} must be a dict with 'params', got {describe(variables)}")
    got = jax.tree_util.tree_flatten_with_path(dict(variables))[0]
    want = dict(jax.tree_util.tree_flatten_with_path(expected)[0])
    got_paths = {path for path, _ in got}
    missing = [p for p in want if p not in got_paths]
    extra = [p for p in got_paths if p not in want]
    if missing or extra:
        names = [_path_name(p) for p in missing[:1]] + [_path_name(p) for p in extra[:1]]
        raise ValueError(
            f"{what} do not match `model` on inputs like `data.x_train`: "
            f"{len(missing)} missing and {len(extra)} unexpected entries (e.g. {names})"
        )
    for path, leaf in got:
        shape = tuple(np.shape(leaf))
        want_shape = tuple(want[path].shape)
        if n_models is not None:
            want_shape = (n_models, *want_shape)
        if shape != want_shape:
            raise ValueError(
                f"{what} do not match `model` on inputs like `data.x_train`: "
                f"{_path_name(path)} has shape {shape}, expected {want_shape}"
            )


def check_callables(optimizer: Any, callback: Any) -> None:
    """``optimizer``: ``None`` or an optax transformation; ``callback``: ``None`` or callable."""
    if optimizer is not None and not isinstance(optimizer, optax.GradientTransformation):
        raise TypeError(
            f"`optimizer` must be an optax.GradientTransformation, got {describe(optimizer)}"
        )
    if callback is not None and not callable(callback):
        raise TypeError(f"`callback` must be callable, got {describe(callback)}")


def per_model(value: Any, name: str, k: int, check: Callable[[Any, str], float]) -> np.ndarray:
    """A number or a ``[k]`` array of them as ``float64[k]``, each entry checked."""
    if isinstance(value, list | tuple | np.ndarray | jax.Array) and np.ndim(value) > 0:
        arr = np.asarray(value)
        if arr.shape != (k,):
            raise ValueError(f"`{name}` must be a number or have shape [{k}], got {arr.shape}")
        return np.array([check(v, f"{name}[{i}]") for i, v in enumerate(arr)], np.float64)
    return np.full(k, check(value, name), np.float64)


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _check_learning_rate(value: Any, name: str) -> float:
    """A step size ``> 0`` that stays finite and non-zero in float32 (training's dtype)."""
    lr = check_float(value, name, minimum=0.0, exclusive_minimum=True, maximum=_FLOAT32_MAX)
    if np.float32(lr) == 0:
        raise ValueError(f"`{name}` must be > 0 in float32 (training's dtype), got {lr}")
    return lr


def check_hyperparameters(
    optimizer: Any,
    learning_rate: Any,
    weight_decay: Any,
    label_noise: Any,
    callback: Any,
    n_models: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate the hyper-parameters; each a number or one per model: ``float64[n_models]``.

    ``learning_rate`` is checked only for the default optimizer (0s come back otherwise);
    a custom ``optimizer`` takes no ``weight_decay`` (the one spelling is AdamW's).
    """
    check_callables(optimizer, callback)
    if optimizer is None:
        lr = per_model(learning_rate, "learning_rate", n_models, _check_learning_rate)
    else:
        lr = np.zeros(n_models)
    nonneg = functools.partial(check_float, minimum=0.0, maximum=_FLOAT32_MAX)
    wd = per_model(weight_decay, "weight_decay", n_models, nonneg)
    if optimizer is not None and wd.any():
        raise ValueError(
            "`weight_decay` must be 0 with a custom `optimizer` (put the decay in it, e.g. "
            f"optax.adamw), got {weight_decay}"
        )
    noise = per_model(label_noise, "label_noise", n_models, check_probability)
    return lr, wd, noise


# ---------------------------------------------------------------------- many models


def split_keys(keys: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Per model ``(k_init, k_noise, k_epochs)``, split as ``train`` splits its key."""
    split = jax.vmap(lambda k: jax.random.split(k, 3))(keys)
    return split[:, 0], split[:, 1], split[:, 2]


@functools.lru_cache(maxsize=16)
def _count_fn(model: nn.Module, per_model_labels: bool) -> Callable[..., Any]:
    count = functools.partial(n_correct, model)
    return jax.jit(jax.vmap(count, in_axes=(0, None, 0 if per_model_labels else None)))


def count_many(
    model: nn.Module, variables: Any, x: Any, y: np.ndarray, batch_size: int
) -> np.ndarray:
    """Correct predictions of each stacked model: labels ``[n]`` or ``[k, n]`` -> ``int64[k]``."""
    fn = _count_fn(model, np.ndim(y) == 2)
    return count_correct(lambda xb, yb: fn(variables, xb, yb), x, y, batch_size)
