"""Many same-shaped models at once: ``jax.vmap`` over seeds and hyper-parameters.

Sweeps in the hash-encoder study ([Hash-Encoders], see ``docs/references.md``) train
dozens of small networks that differ only in their seed, learning rate, weight decay,
label-noise fraction, training subset or width. :func:`train_many` trains them together:
one compiled epoch maps :func:`hamgeo.nets.train`'s epoch over the models with
``jax.vmap``, so ``k`` models cost one compilation and one dispatch per epoch.

* :func:`train_many`: model ``i`` is what :func:`~hamgeo.nets.train.train` gives with
  ``key=keys[i]`` and model ``i``'s hyper-parameters, up to float32 rounding (the vmapped
  matrix products may sum in another order).
* :func:`make_epoch`: the pure, un-jitted epoch itself, to ``vmap`` and ``jit`` in a
  research script (hyper-parameters as optimizer state through
  ``optax.inject_hyperparams``).
* :func:`init_many`, :func:`mask_mlp_widths`: the initial variables ``train_many``
  starts from; narrower MLPs embedded in a wide one with exact zeros, so widths share a
  shape.
* :func:`accuracy_many`, :func:`activation_codes_many`: evaluation and codes of stacked
  models (codes through :func:`hamgeo.nets.extract.activation_codes` under ``vmap``, so
  the threshold convention, ``codes_at_zero`` included, is the one of single models).
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
from hamgeo.nets.binary import clip_latent_weights, has_latent_weights
from hamgeo.nets.stacked import init_many

__all__ = ["ManyTrainResult", "make_epoch", "train_many"]


class ManyTrainResult(NamedTuple):
    """What :func:`train_many` returns; every array has the model axis first.

    Attributes:
        variables: the trained variables, stacked: each leaf ``[k, ...]``.
        history: ``epoch`` (``int[epochs]``, from 1) and ``float[k, epochs]`` arrays
            ``loss`` (mean training loss of the epoch), ``train_accuracy`` (on each
            model's training labels and subset) and ``test_accuracy``; accuracies are
            NaN without ``evaluate`` and from the epoch a model stopped being finite.
        labels: the training labels each model used (after label noise), ``int32[k, n]``.
        finite: ``bool[k]``: whether each model's loss and parameters stayed finite.
    """

    variables: Any
    history: dict[str, np.ndarray]
    labels: np.ndarray
    finite: np.ndarray


# -------------------------------------------------------------------------------- checks


def _check_mask(mask: Any, k: int, n: int) -> np.ndarray | None:
    if mask is None:
        return None
    arr = np.asarray(_checks.check_array(mask, "train_mask", ndim=(1, 2), kind="b"))
    arr = np.broadcast_to(arr, (k, n)) if arr.shape == (n,) else arr
    if arr.shape != (k, n):
        raise ValueError(f"`train_mask` must have shape [{n}] or [{k}, {n}], got {arr.shape}")
    empty = np.flatnonzero(~arr.any(axis=1))
    if empty.size:
        raise ValueError(f"`train_mask` must select >= 1 example per model, model {empty[0]} has 0")
    return arr


# ------------------------------------------------------------------------------ training


def make_epoch(
    model: nn.Module, variables: Any, optimizer: optax.GradientTransformation, *, batch_size: int
) -> tuple[Callable[..., Any], optax.GradientTransformation]:
    """One training epoch of one model as a pure function, to ``vmap`` and ``jit``.

    The epoch of :func:`~hamgeo.nets.train.train` and :func:`train_many`: shuffle the
    ``n`` inputs from ``key``, then ``n // b`` optimizer steps on mini-batches of
    ``b = min(batch_size, n)`` (softmax cross-entropy; batch statistics updated). With
    ``mask`` (``bool[n]``) only the masked inputs are used, cycled for the same number of
    steps. Binarized models get :func:`~hamgeo.nets.binary.clip_latent_weights`
    appended to the optimizer. To vary hyper-parameters across vmapped models, build the
    optimizer with ``optax.inject_hyperparams`` and vmap its ``init`` (example below).

    Args:
        model: any model of :mod:`hamgeo.nets`.
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
        out = {"params": params}
        if stats is not None:
            out["batch_stats"] = stats
        return out, opt_state, loss

    return run, tx


def _optimizer(optimizer: Any, lr: Any, wd: Any, decay: bool, clip: bool) -> Any:
    """Model ``i``'s optimizer from its (traced) learning rate and weight decay."""
    tx = _loop.default_optimizer(lr, wd, decay) if optimizer is None else optimizer
    return optax.chain(tx, clip_latent_weights()) if clip else tx


@functools.lru_cache(maxsize=16)
def _many_fns(
    model: nn.Module, optimizer: Any, decay: bool, clip: bool, b: int, masked: bool
) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """jit(vmap) of the optimizer's init and of one epoch, over models."""

    def init(params, lr, wd):
        return _optimizer(optimizer, lr, wd, decay, clip).init(params)

    def one(params, stats, opt_state, x, y, key, lr, wd, mask):
        tx = _optimizer(optimizer, lr, wd, decay, clip)
        return _loop.epoch(model, tx, b, params, stats, opt_state, x, y, key, mask)

    axes = (0, 0, 0, None, 0, 0, 0, 0, 0 if masked else None)
    return jax.jit(jax.vmap(init)), jax.jit(jax.vmap(one, in_axes=axes))


@functools.lru_cache(maxsize=16)
def _noise_fn(n_classes: int, masked: bool) -> Callable[..., Any]:
    def noise(key, y, n_noisy, mask):
        return _loop.noisy_labels(key, y, n_noisy, n_classes, mask)

    return jax.jit(jax.vmap(noise, in_axes=(0, None, 0, 0 if masked else None)))


_finite_many = jax.jit(jax.vmap(_loop.all_finite))


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
    progress: bool | None = None,
) -> ManyTrainResult:
    """Train ``k`` same-shaped models at once, one per key: seeds and sweeps in one call.

    Model ``i`` is trained as :func:`~hamgeo.nets.train.train` trains with
    ``key=keys[i]`` and its own ``learning_rate[i]``, ``weight_decay[i]`` and
    ``label_noise[i]`` (each a number for all models or an array ``[k]``): the same key
    splits, initialization, label noise (:func:`~hamgeo.nets.train.label_noise`),
    shuffling, optimizer (Adam, AdamW with weight decay — one spelling) and latent-weight
    clipping. One compiled epoch maps all models with ``jax.vmap``; the results equal
    ``k`` separate :func:`train` calls up to float32 rounding (vmapped matrix products
    may sum in another order). Inputs, labels and shapes are checked before the first
    epoch, as in :func:`train`.

    Args:
        model: any model of :mod:`hamgeo.nets`; every model has its shape.
        data: a :class:`hamgeo.data.Dataset` (``x_train``, ``y_train``, ``x_test``, ``y_test``).
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
            :func:`init_many`'s.
        widths: per-model hidden widths ``int[k]`` or ``int[k, L]`` of an
            :class:`~hamgeo.nets.MLP` ``model``: the fresh initializations are narrowed
            by :func:`mask_mlp_widths`, so models of several widths train together
            (not with ``variables``).
        train_mask: ``bool[n]`` or ``bool[k, n]``: the training examples each model
            uses (sample-size sweeps). An epoch stays ``n // batch_size`` steps, cycling
            through the model's subset: a fixed step budget. Label noise and training
            accuracy are taken on the subset.
        evaluate: compute training and test accuracy after every epoch (else NaN).
        callback: ``callback(epoch, variables)`` after every epoch (stacked variables).
        progress: show a tqdm bar; default: only when stderr is a terminal.

    Returns:
        :class:`ManyTrainResult` (stacked variables, per-model history, labels, finite).

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
    _loop.check_module(model)
    keys = _loop.check_keys(keys)
    k = int(keys.shape[0])
    epochs = _checks.check_positive_int(epochs, "epochs")
    batch_size = _checks.check_positive_int(batch_size, "batch_size")
    lrs, wds, noise = _loop.check_hyperparameters(
        optimizer, learning_rate, weight_decay, label_noise, callback, n_models=k
    )
    if not isinstance(evaluate, bool):
        raise TypeError(f"`evaluate` must be a bool, got {_checks.describe(evaluate)}")
    ds = _loop.check_data(data)
    if variables is not None:
        if widths is not None:
            raise ValueError("`widths` narrows fresh initializations: pass it or `variables`")
        _loop.check_model(model, ds, variables, n_models=k)
    else:
        _loop.check_model(model, ds)
    n = int(ds.x_train.shape[0])
    mask = _check_mask(train_mask, k, n)

    _, k_noise, k_epochs = _loop.split_keys(keys)
    if variables is None:
        variables = init_many(model, keys, ds.x_train[:1], widths=widths)
    variables = dict(variables)
    sizes = np.full(k, n) if mask is None else mask.sum(axis=1)
    n_noisy = np.array([_loop.n_noisy_labels(f, m) for f, m in zip(noise, sizes, strict=True)])
    if n_noisy.any() and ds.n_classes < 2:
        raise ValueError("`label_noise` needs >= 2 classes in `data`, got 1")
    mask_dev = None if mask is None else jnp.asarray(mask)
    labels = _noise_fn(ds.n_classes, mask is not None)(
        k_noise, jnp.asarray(ds.y_train), jnp.asarray(n_noisy, jnp.int32), mask_dev
    )

    clip = has_latent_weights(variables["params"])
    decay = bool(wds.any())
    b = min(batch_size, n)
    opt_init, epoch_fn = _many_fns(model, optimizer, decay, clip, b, mask is not None)
    lr_dev, wd_dev = jnp.asarray(lrs, jnp.float32), jnp.asarray(wds, jnp.float32)
    params, stats = variables["params"], variables.get("batch_stats")
    opt_state = opt_init(params, lr_dev, wd_dev)
    epoch_keys = jax.vmap(lambda kk: jax.random.split(kk, epochs))(k_epochs)  # [k, epochs]
    x_dev = jnp.asarray(ds.x_train)
    y_eval = np.asarray(labels) if mask is None else np.where(mask, np.asarray(labels), -1)
    n_test = len(ds.y_test)
    eval_bs = min(1024, 1 << (min(n, n_test or n) - 1).bit_length())

    nan = np.full((k, epochs), np.nan)
    history = {
        "epoch": np.arange(1, epochs + 1),
        "loss": nan.copy(),
        "train_accuracy": nan.copy(),
        "test_accuracy": nan.copy(),
    }
    finite = np.ones(k, bool)
    with _loop.progress_bar(progress, epochs, f"train {k} × {type(model).__name__}") as bar:
        for e in range(epochs):
            params, stats, opt_state, loss = epoch_fn(
                params,
                stats,
                opt_state,
                x_dev,
                labels,
                epoch_keys[:, e],
                lr_dev,
                wd_dev,
                mask_dev,
            )
            current = (
                {"params": params} if stats is None else {"params": params, "batch_stats": stats}
            )
            loss = np.asarray(loss, np.float64)
            history["loss"][:, e] = loss
            now = np.isfinite(loss) & np.asarray(_finite_many(current))
            if (finite & ~now).any():
                warnings.warn(
                    f"training diverged at epoch {e + 1} for model(s) "
                    f"{np.flatnonzero(finite & ~now).tolist()}: the loss or the parameters are "
                    "not finite; their accuracies from then on are NaN",
                    RuntimeWarning,
                    stacklevel=2,
                )
            finite &= now
            if evaluate:
                train_acc = _loop.count_many(model, current, x_dev, y_eval, eval_bs) / sizes
                history["train_accuracy"][:, e] = np.where(finite, train_acc, np.nan)
                if n_test:
                    test_acc = (
                        _loop.count_many(model, current, ds.x_test, ds.y_test, eval_bs) / n_test
                    )
                    history["test_accuracy"][:, e] = np.where(finite, test_acc, np.nan)
            if bar is not None:
                bar.update(1)
            if callback is not None:
                callback(e + 1, current)
    return ManyTrainResult(current, history, np.asarray(labels), finite)
