"""Stacked models: initialization, narrower MLPs, accuracy and codes of ``k`` at once.

Stacked variables hold ``k`` same-shaped models, each leaf with a leading model axis
(what [`train_many`][hamgeo.nets.batched.train_many] returns). The functions here map the
single-model ones of `hamgeo.nets` over that axis with ``jax.vmap``:

* [`init_many`][hamgeo.nets.stacked.init_many]: the initial variables
  [`train_many`][hamgeo.nets.batched.train_many] starts from (the same key splits as
  [`train`][hamgeo.nets.train.train]);
* [`mask_mlp_widths`][hamgeo.nets.stacked.mask_mlp_widths]: a narrower MLP embedded in a wide one
  with exact zeros, so models of several widths share one shape and one compilation;
* [`accuracy_many`][hamgeo.nets.stacked.accuracy_many],
  [`activation_codes_many`][hamgeo.nets.stacked.activation_codes_many]: accuracy and activation
  codes of every model (codes through [`activation_codes`][hamgeo.nets.extract.activation_codes]
  under ``vmap``, so the threshold convention, ``codes_at_zero`` included, is that of a single
  model).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from hamgeo import _checks
from hamgeo.codes import PackedCodes
from hamgeo.nets import _loop
from hamgeo.nets._layers import check_inputs
from hamgeo.nets.extract import activation_codes
from hamgeo.nets.relu import MLP
from hamgeo.nets.variables import check_finite_variables, leaves, mlp_dense_layers, n_outputs

__all__ = ["accuracy_many", "activation_codes_many", "init_many", "mask_mlp_widths"]


def _check_stacked(variables: Any, name: str = "variables") -> int:
    """The number of stacked models (the shared leading axis of every leaf)."""
    flat = jax.tree.leaves(variables)
    sizes = {int(np.shape(leaf)[0]) if np.ndim(leaf) else -1 for leaf in flat}
    if not flat or len(sizes) != 1 or -1 in sizes:
        raise ValueError(
            f"`{name}` must be stacked models (every leaf with the same leading model axis), "
            f"got leading sizes {sorted(sizes)}"
        )
    check_finite_variables(leaves(variables))
    return sizes.pop()


def _check_widths(widths: Any, model: nn.Module, k: int) -> np.ndarray:
    """Per-model hidden widths ``int32[k, L]`` within an [`MLP`][hamgeo.nets.relu.MLP]'s widths."""
    if not isinstance(model, MLP) or not model.widths:
        raise ValueError(f"`widths` needs an MLP `model` with hidden layers, got {model!r}")
    full = tuple(model.widths)
    arr = _checks.check_array(widths, "widths", ndim=(1, 2), kind="iu")
    arr = np.asarray(arr).astype(np.int64)
    if arr.ndim == 1:
        arr = np.broadcast_to(arr[:, None], (arr.shape[0], len(full)))
    if arr.shape != (k, len(full)):
        raise ValueError(f"`widths` must have shape [{k}] or [{k}, {len(full)}], got {arr.shape}")
    if (arr < 1).any() or (arr > np.asarray(full)).any():
        raise ValueError(f"`widths` must lie in [1, {tuple(full)}] per layer, got {arr.tolist()}")
    return arr.astype(np.int32)


def mask_mlp_widths(variables: Any, widths: ArrayLike, *, rescale: bool = True) -> Any:
    """Embed a narrower MLP in a wider one with exact zeros: only the first units live.

    For an [`MLP`][hamgeo.nets.relu.MLP] with hidden widths ``(W_1, ..., W_L)``, keep units ``j <
    widths[l]`` of hidden layer ``l``: their incoming weights and biases stay, the other units' are
    set to 0, and so are the rows of the next layer that read them. A dead unit's pre-activation is
    then exactly 0, its ReLU gradient 0, and no optimizer step (Adam, AdamW, SGD) moves it: the wide
    net trains as the narrow one, and its activation code is the narrow net's followed by zero bits
    (which add nothing to a Hamming distance or a count of distinct codes). So models of several
    widths share one shape, one compilation and one [`train_many`][hamgeo.nets.batched.train_many]
    call.

    With ``rescale`` (for a fresh initialization) the kept rows of each layer after a
    narrowed one are multiplied by ``sqrt(W_l / widths[l])``: flax's default LeCun
    normal initializer has a standard deviation proportional to ``1/sqrt(fan_in)``, so
    the narrow net is distributed exactly as a freshly initialized width-``widths`` MLP
    (biases start at 0 either way). Jit-compatible; ``jax.vmap`` it over stacked models.

    Traceable: jit, vmap, grad

    Args:
        variables: one MLP's variables (``{"params": {"hidden_0": ..., "head": ...}}``).
        widths: the widths to keep, one per hidden layer (``int[L]``) or one for all.
        rescale: rescale the following layers' kept rows (initializations only).

    Returns:
        Variables of the same shapes.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> from hamgeo.nets import MLP
        >>> v = MLP((4,), 2).init(jax.random.key(0), jnp.ones((1, 3)))
        >>> narrow = mask_mlp_widths(v, 1)
        >>> (narrow["params"]["hidden_0"]["kernel"] != 0).sum(axis=0).tolist()
        [3, 0, 0, 0]
    """
    if not isinstance(variables, dict) or "params" not in variables:
        raise TypeError(
            f"`variables` must be a dict with 'params', got {_checks.describe(variables)}"
        )
    params = variables["params"]
    n_layers = len(mlp_dense_layers(variables, head=True)) - 1
    names = [f"hidden_{i}" for i in range(n_layers)]
    if not isinstance(widths, jax.core.Tracer):
        arr = np.asarray(_checks.check_array(widths, "widths", ndim=(0, 1), kind="iu"))
        full = [int(params[name]["kernel"].shape[-1]) for name in names]
        arr = np.broadcast_to(arr, (n_layers,)) if arr.ndim == 0 else arr
        if arr.shape != (n_layers,) or (arr < 1).any() or (arr > np.asarray(full)).any():
            raise ValueError(
                f"`widths` must be one width or {n_layers} widths in [1, {full}], got "
                f"{arr.tolist()}"
            )
    w = jnp.broadcast_to(jnp.asarray(widths, jnp.int32), (n_layers,))
    out = dict(params)
    rows: Any = None  # multiplier of the next kernel's rows (the previous layer's live units)
    for i, name in enumerate(names):
        kernel, bias = params[name]["kernel"], params[name]["bias"]
        big = kernel.shape[-1]
        live = (jnp.arange(big) < w[i]).astype(kernel.dtype)
        if rows is not None:
            kernel = kernel * rows[:, None]
        out[name] = {**params[name], "kernel": kernel * live[None, :], "bias": bias * live}
        rows = live * jnp.sqrt(big / w[i].astype(kernel.dtype)) if rescale else live
    out["head"] = {**params["head"], "kernel": params["head"]["kernel"] * rows[:, None]}
    return {**variables, "params": out}


@functools.lru_cache(maxsize=16)
def _init_fn(model: nn.Module, masked: bool) -> Callable[..., Any]:
    def init(key, x, widths):
        variables = model.init(key, x, train=False)
        return mask_mlp_widths(variables, widths) if masked else variables

    return jax.jit(jax.vmap(init, in_axes=(0, None, 0 if masked else None)))


def init_many(
    model: nn.Module, x: ArrayLike, *, keys: jax.Array, widths: ArrayLike | None = None
) -> Any:
    """The stacked initial variables ``train_many`` starts from, for the same ``keys``.

    Model ``i`` is ``model.init`` with the initialization key [`train`][hamgeo.nets.train.train]
    derives from ``keys[i]``; with ``widths``, narrowed by
    [`mask_mlp_widths`][hamgeo.nets.stacked.mask_mlp_widths] (rescaled). Use it for a baseline "the
    same net before training".

    Host-only: it checks `widths` and `x` on the host.

    Args:
        model: any model of `hamgeo.nets` (an MLP with ``widths``).
        x: example inputs ``[n, ...]`` (only ``x[:1]`` is used, for shapes).
        keys: one ``jax.random`` key per model, ``[k]``.
        widths: per-model hidden widths ``int[k]`` or ``int[k, L]``.

    Returns:
        Stacked variables, each leaf ``[k, ...]``.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> from hamgeo.nets import MLP
        >>> keys = jax.random.split(jax.random.key(0), 3)
        >>> v = init_many(MLP((8,), 2), jnp.ones((1, 5)), keys=keys, widths=jnp.array([1, 4, 8]))
        >>> v["params"]["hidden_0"]["kernel"].shape
        (3, 5, 8)
    """
    _checks.check_not_traced("init_many", x, keys, widths)
    _loop.check_module(model)
    keys = _checks.check_key_batch(keys)
    x = check_inputs(x, min_rows=1)
    k_init = _loop.split_keys(keys)[0]
    w = None if widths is None else jnp.asarray(_check_widths(widths, model, keys.shape[0]))
    return _init_fn(model, w is not None)(k_init, jnp.asarray(x[:1], jnp.float32), w)


def accuracy_many(
    model: nn.Module,
    variables: Any,
    x: ArrayLike,
    y: ArrayLike,
    *,
    mask: ArrayLike | None = None,
    batch_size: int = 1024,
) -> np.ndarray:
    """[`accuracy`][hamgeo.nets.train.accuracy] of each of ``k`` stacked models, vmapped.

    Host-only: it counts on the host and returns NumPy arrays.

    Args:
        model: any model of `hamgeo.nets`.
        variables: stacked variables, each leaf ``[k, ...]``.
        x: inputs ``[n, ...]``.
        y: integer labels ``[n]``, or ``[k, n]`` (one row per model).
        mask: optional bool ``[n]`` or ``[k, n]``: only the rows where it is true count
            (e.g. each model's own training subset); each accuracy is over its counted rows.
        batch_size: inputs per compiled batch.

    Returns:
        ``float64[k]`` accuracies (NaN for a model with no counted row).

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> from hamgeo.nets import MLP
        >>> model = MLP((4,), 3)
        >>> v = init_many(model, jnp.ones((1, 2)), keys=jax.random.split(jax.random.key(0), 2))
        >>> accuracy_many(model, v, jnp.ones((5, 2)), jnp.array([0, 1, 2, 0, 1])).shape
        (2,)
    """
    _checks.check_not_traced("accuracy_many", variables, x, y, mask)
    _loop.check_module(model)
    k = _check_stacked(variables)
    x = check_inputs(x, min_rows=1)
    n = int(x.shape[0])
    y = np.asarray(_checks.check_array(y, "y", ndim=(1, 2), kind="iu"))
    if y.shape not in ((n,), (k, n)):
        raise ValueError(f"`y` must have shape [{n}] or [{k}, {n}] to match `x`, got {y.shape}")
    n_classes = n_outputs(model, tuple(x.shape[1:]))
    y = _checks.check_labels(y.reshape(-1), "y", n_classes=n_classes).reshape(y.shape)
    batch_size = _checks.check_positive_int(batch_size, "batch_size")
    if mask is None:
        return _loop.count_many(model, variables, x, y, batch_size) / n
    m = np.asarray(_checks.check_array(mask, "mask", ndim=(1, 2), kind="b"))
    if m.shape not in ((n,), (k, n)):
        raise ValueError(f"`mask` must have shape [{n}] or [{k}, {n}] to match `x`, got {m.shape}")
    y = np.where(m, y, -1)  # the count skips label -1 (its padding convention)
    counted = np.broadcast_to(m, (k, n)).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _loop.count_many(model, variables, x, y, batch_size) / counted


def activation_codes_many(
    model: nn.Module, variables: Any, x: ArrayLike, *, batch_size: int = 1024
) -> PackedCodes:
    """Activation codes of ``k`` stacked models on the same inputs: ``PackedCodes [k, n]``.

    [`activation_codes`][hamgeo.nets.extract.activation_codes] mapped over the models with
    ``jax.vmap``: the same bits (pre-activation ``> 0``, or ``>= 0`` for models with
    ``codes_at_zero`` such as binarized networks), the same batching, one compilation.

    Traceable: jit, vmap

    Args:
        model: any model of `hamgeo.nets`.
        variables: stacked variables, each leaf ``[k, ...]``.
        x: inputs ``[n, ...]``.
        batch_size: inputs per compiled batch.

    Returns:
        ``PackedCodes`` of shape ``[k, n]``; row ``i`` is model ``i``'s codes.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> from hamgeo.nets import MLP
        >>> model = MLP((5,), 2)
        >>> v = init_many(model, jnp.ones((1, 4)), keys=jax.random.split(jax.random.key(0), 3))
        >>> codes = activation_codes_many(model, v, jnp.ones((6, 4)))
        >>> codes.shape, codes.n_bits
        ((3, 6), 5)
    """
    _loop.check_module(model)
    _check_stacked(variables)
    batch_size = _checks.check_positive_int(batch_size, "batch_size")
    x = check_inputs(x)
    return jax.vmap(lambda v: activation_codes(model, v, x, batch_size=batch_size))(variables)
