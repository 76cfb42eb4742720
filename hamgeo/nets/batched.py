"""Many same-shaped models at once: ``jax.vmap`` over seeds and hyper-parameters.

Sweeps in the hash-encoder study ([Hash-Encoders], see ``docs/references.md``) train
dozens of small networks that differ only in their seed, learning rate, weight decay,
label-noise fraction, training subset or width. [`train_many`][hamgeo.nets.batched.train_many]
trains them together: one compiled epoch maps [`train`][hamgeo.nets.train.train]'s epoch over the
models with ``jax.vmap``, so ``k`` models cost one compilation and one dispatch per epoch.

* [`train_many`][hamgeo.nets.batched.train_many]: model ``i`` is what
  [`train`][hamgeo.nets.train.train] gives with ``key=keys[i]`` and model ``i``'s hyper-parameters,
  up to float32 rounding (the vmapped matrix products may sum in another order).
* [`make_epoch`][hamgeo.nets.batched.make_epoch]: the pure, un-jitted epoch itself, to ``vmap`` and
  ``jit`` in a research script (hyper-parameters as optimizer state through
  ``optax.inject_hyperparams``).
* [`init_many`][hamgeo.nets.stacked.init_many],
  [`mask_mlp_widths`][hamgeo.nets.stacked.mask_mlp_widths]: the initial variables ``train_many``
  starts from; narrower MLPs embedded in a wide one with exact zeros, so widths share a shape.
* [`accuracy_many`][hamgeo.nets.stacked.accuracy_many],
  [`activation_codes_many`][hamgeo.nets.stacked.activation_codes_many]: evaluation and codes of
  stacked models (codes through [`activation_codes`][hamgeo.nets.extract.activation_codes] under
  ``vmap``, so the threshold convention, ``codes_at_zero`` included, is the one of single models).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flax.linen as nn
import jax
import optax
from jax.typing import ArrayLike

from hamgeo import _checks
from hamgeo.nets import _loop
from hamgeo.nets._fit import ManyTrainResult, fit

__all__ = ["ManyTrainResult", "make_epoch", "train_many"]


def make_epoch(
    model: nn.Module, variables: Any, optimizer: optax.GradientTransformation, *, batch_size: int
) -> tuple[Callable[..., Any], optax.GradientTransformation]:
    """One training epoch of one model as a pure function, to ``vmap`` and ``jit``.

    The epoch of [`train`][hamgeo.nets.train.train] and
    [`train_many`][hamgeo.nets.batched.train_many]: shuffle the ``n`` inputs from ``key``, then ``n
    // b`` optimizer steps on mini-batches of ``b = min(batch_size, n)`` (softmax cross-entropy;
    batch statistics updated). With ``mask`` (``bool[n]``) only the masked inputs are used, cycled
    for the same number of steps. Binarized models get
    [`clip_latent_weights`][hamgeo.nets.binary.clip_latent_weights] appended to the optimizer. To
    vary hyper-parameters across vmapped models, build the optimizer with
    ``optax.inject_hyperparams`` and vmap its ``init`` (example below).

    Host-only: it builds the epoch function (which itself traces).

    Args:
        model: any model of `hamgeo.nets`.
        variables: its variables (to see whether it has latent binary weights).
        optimizer: an optax transformation.
        batch_size: examples per step.

    Returns:
        ``(epoch, tx)``: ``epoch(variables, opt_state, x, y, key, mask=None) ->
        (variables, opt_state, mean_loss)`` (not jitted) and the optimizer actually
        used (initialize ``opt_state`` with ``tx.init(variables["params"])``).

    Examples:
        >>> import jax, jax.numpy as jnp, optax
        >>> from hamgeo.nets import MLP
        >>> model, x = MLP((8,), 2), jnp.linspace(-1, 1, 64).reshape(32, 2)
        >>> y = (x[:, 0] > 0).astype(jnp.int32)
        >>> keys = jax.random.split(jax.random.key(0), 3)
        >>> v = jax.vmap(lambda k: model.init(k, x[:1]))(keys)
        >>> tx = optax.inject_hyperparams(optax.adam)(learning_rate=0.0)
        >>> epoch, tx = make_epoch(model, v, tx, batch_size=8)
        >>> def init(params, lr):  # per-model learning rates live in the optimizer state
        ...     state = tx.init(params)
        ...     state.hyperparams["learning_rate"] = lr
        ...     return state
        >>> state = jax.vmap(init)(v["params"], jnp.array([1e-3, 1e-2, 1e-1]))
        >>> run = jax.jit(jax.vmap(epoch, in_axes=(0, 0, None, None, 0)))
        >>> v, state, loss = run(v, state, x, y, keys)
        >>> loss.shape
        (3,)
    """
    _checks.check_not_traced("make_epoch", variables)
    _loop.check_module(model)
    if optimizer is None:
        raise TypeError("`optimizer` must be an optax.GradientTransformation, got None")
    _loop.check_callables(optimizer, None)
    batch_size = _checks.check_positive_int(batch_size, "batch_size")
    if not isinstance(variables, dict) or "params" not in variables:
        raise TypeError(
            f"`variables` must be a dict with 'params', got {_checks.describe(variables)}"
        )
    tx = _loop.with_clipping(optimizer, variables["params"])

    def run(variables, opt_state, x, y, key, mask=None):
        params, stats, opt_state, loss = _loop.epoch(
            model,
            tx,
            batch_size,
            variables["params"],
            variables.get("batch_stats"),
            opt_state,
            x,
            y,
            key,
            mask,
        )
        return _loop.as_variables(params, stats), opt_state, loss

    return run, tx


def train_many(
    model: nn.Module,
    data: Any,
    *,
    keys: jax.Array,
    epochs: int,
    batch_size: int,
    learning_rate: ArrayLike | None = None,
    weight_decay: ArrayLike = 0.0,
    label_noise: ArrayLike = 0.0,
    optimizer: optax.GradientTransformation | None = None,
    variables: Any = None,
    widths: ArrayLike | None = None,
    train_mask: ArrayLike | None = None,
    evaluate: bool = True,
    callback: Callable[[int, Any], Any] | None = None,
    progress: bool = True,
) -> ManyTrainResult:
    """Train ``k`` same-shaped models at once, one per key: seeds and sweeps in one call.

    Model ``i`` is trained as [`train`][hamgeo.nets.train.train] trains with ``key=keys[i]`` and its
    own ``learning_rate[i]``, ``weight_decay[i]`` and ``label_noise[i]`` (each a number for all
    models or an array ``[k]``): the same key splits, initialization, label noise
    ([`label_noise`][hamgeo.nets.train.label_noise]), shuffling, optimizer (Adam, AdamW with weight
    decay — one spelling) and latent-weight clipping. One compiled epoch maps all models with
    ``jax.vmap``; the results equal ``k`` separate [`train`][hamgeo.nets.train.train] calls up to
    float32 rounding (vmapped matrix products may sum in another order). Inputs, labels and shapes
    are checked before the first epoch, as in [`train`][hamgeo.nets.train.train].

    Host-only: a Python loop over epochs with callbacks and warnings.

    Args:
        model: any model of `hamgeo.nets`; every model has its shape.
        data: a [`Dataset`][hamgeo.data.Dataset] (``x_train``, ``y_train``, ``x_test``, ``y_test``).
        keys: one ``jax.random`` key per model, ``[k]``.
        epochs: passes over the training set.
        batch_size: examples per step (capped at the training-set size).
        learning_rate: Adam's step size, a number or ``[k]``; required unless
            ``optimizer`` is given (then ignored).
        weight_decay: decoupled (AdamW) weight decay, a number or ``[k]``; 0 with a
            custom ``optimizer``.
        label_noise: fraction of each model's training labels given a random other class.
        optimizer: one optax transformation for every model, instead of Adam(W).
        variables: stacked initial variables (leaves ``[k, ...]``) instead of
            [`init_many`][hamgeo.nets.stacked.init_many]'s.
        widths: per-model hidden widths ``int[k]`` or ``int[k, L]`` of an
            [`MLP`][hamgeo.nets.relu.MLP] ``model``: the fresh initializations are narrowed by
            [`mask_mlp_widths`][hamgeo.nets.stacked.mask_mlp_widths], so models of several widths
            train together (not with ``variables``).
        train_mask: ``bool[n]`` or ``bool[k, n]``: the training examples each model
            uses (sample-size sweeps). An epoch stays ``n // batch_size`` steps, cycling
            through the model's subset: a fixed step budget. Label noise and training
            accuracy are taken on the subset.
        evaluate: compute training and test accuracy after every epoch (else NaN).
        callback: ``callback(epoch, variables)`` after every epoch (stacked variables).
        progress: show a progress bar (drawn only when stderr is a terminal).

    Returns:
        [`ManyTrainResult`][hamgeo.nets.batched.ManyTrainResult] (stacked variables, per-model
        history, labels, finite).

    Examples:
        >>> import jax
        >>> from hamgeo.data import gaussian_grid
        >>> from hamgeo.nets import MLP
        >>> ds = gaussian_grid(key=jax.random.key(0), per_axis=3, n_groups=3, n_per_gaussian=20)
        >>> keys = jax.random.split(jax.random.key(1), 4)
        >>> result = train_many(MLP((16,), 3), ds, keys=keys, epochs=2, batch_size=32,
        ...                     learning_rate=[1e-3, 1e-3, 1e-2, 1e-2], label_noise=0.1)
        >>> result.history["loss"].shape, result.labels.shape, result.finite.tolist()
        ((4, 2), (4, 180), [True, True, True, True])
    """
    options = {name: v for name, v in locals().items() if name not in ("model", "data", "keys")}
    return fit(model, data, keys, **options)  # every keyword, as given
