"""The one training loop of ``hamgeo.nets`` (private): k same-shaped models, vmapped.

[`train_many`][hamgeo.nets.batched.train_many] is this loop; [`train`][hamgeo.nets.train.train] is
this loop on one model (``single=True``): the same code path, history, divergence warning, progress
bar and callback.
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

from hamgeo import _checks, _io
from hamgeo.nets import _loop
from hamgeo.nets.binary import clip_latent_weights, has_latent_weights
from hamgeo.nets.stacked import init_many
from hamgeo.nets.variables import check_finite_variables, leaves

__all__ = ["ManyTrainResult", "fit"]


class ManyTrainResult(NamedTuple):
    """What ``train_many`` returns; every array has the model axis first.

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


def _optimizer(optimizer: Any, lr: Any, wd: Any, decay: bool, clip: bool) -> Any:
    """Model ``i``'s optimizer from its (traced) learning rate and weight decay."""
    tx = _loop.default_optimizer(lr, wd, decay) if optimizer is None else optimizer
    return optax.chain(tx, clip_latent_weights()) if clip else tx


@functools.lru_cache(maxsize=16)
def _many_fns(
    model: nn.Module, optimizer: Any, decay: bool, clip: bool, b: int, masked: bool
) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """jit(vmap) of the optimizer's init and of one epoch, over models.

    The epoch also says whether each model's parameters and batch statistics are still
    finite: computed in the same compiled function, so checking costs no compilation of
    its own (one per model shape, ~0.1 s each, was a tenth of ``make demo``'s compiles).
    """

    def init(params, lr, wd):
        return _optimizer(optimizer, lr, wd, decay, clip).init(params)

    def one(params, stats, opt_state, x, y, key, lr, wd, mask):
        tx = _optimizer(optimizer, lr, wd, decay, clip)
        params, stats, opt_state, loss = _loop.epoch(
            model, tx, b, params, stats, opt_state, x, y, key, mask
        )
        finite = _loop.all_finite((params, stats)) & jnp.isfinite(loss)
        return params, stats, opt_state, loss, finite

    axes = (0, 0, 0, None, 0, 0, 0, 0, 0 if masked else None)
    return jax.jit(jax.vmap(init)), jax.jit(jax.vmap(one, in_axes=axes))


@functools.lru_cache(maxsize=16)
def _noise_fn(n_classes: int, masked: bool) -> Callable[..., Any]:
    def noise(key, y, n_noisy, mask):
        return _loop.noisy_labels(key, y, n_noisy, n_classes, mask)

    return jax.jit(jax.vmap(noise, in_axes=(0, None, 0, 0 if masked else None)))


def fit(
    model: nn.Module,
    data: Any,
    keys: Any,
    *,
    epochs: Any,
    batch_size: Any,
    learning_rate: Any,
    weight_decay: Any,
    label_noise: Any,
    optimizer: Any,
    variables: Any,
    widths: Any = None,
    train_mask: Any = None,
    evaluate: Any = True,
    callback: Callable[[int, Any], Any] | None = None,
    progress: Any = True,
    single: bool = False,
) -> ManyTrainResult:
    """The one training loop of `hamgeo.nets` (``train`` is this with ``single``).

    With ``single``, ``keys`` is one key and ``variables`` one model's (they are checked
    as such, then given a model axis of 1); everything else is
    [`train_many`][hamgeo.nets.batched.train_many].
    """
    fn = "train" if single else "train_many"
    parts = (getattr(data, a, None) for a in ("x_train", "y_train", "x_test", "y_test"))
    _checks.check_not_traced(fn, keys, variables, learning_rate, weight_decay, label_noise, *parts)
    _loop.check_module(model)
    if single:
        keys = _checks.check_key(keys)[None]
    else:
        keys = _checks.check_key_batch(keys)
    k = int(keys.shape[0])
    epochs = _checks.check_positive_int(epochs, "epochs")
    batch_size = _checks.check_positive_int(batch_size, "batch_size")
    lrs, wds, noise = _loop.check_hyperparameters(
        optimizer, learning_rate, weight_decay, label_noise, callback, n_models=k
    )
    evaluate = _checks.check_bool(evaluate, "evaluate")
    progress = _checks.check_bool(progress, "progress")
    ds = _loop.check_data(data)
    if variables is not None:
        if widths is not None:
            raise ValueError("`widths` narrows fresh initializations: pass it or `variables`")
        _loop.check_model(model, ds, variables, n_models=None if single else k)
        check_finite_variables(leaves(variables))  # NaN in, NaN out: not a divergence
        if single:
            variables = jax.tree.map(lambda a: jnp.asarray(a)[None], dict(variables))
    else:
        _loop.check_model(model, ds)
    n = int(ds.x_train.shape[0])
    mask = _check_mask(train_mask, k, n)

    _, k_noise, k_epochs = _loop.split_keys(keys)
    if variables is None:
        variables = init_many(model, ds.x_train[:1], keys=keys, widths=widths)
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
    epoch_keys = _split_epochs(k_epochs, epochs)  # [k, epochs]
    x_dev = jnp.asarray(ds.x_train)
    y_eval = np.asarray(labels) if mask is None else np.where(mask, np.asarray(labels), -1)
    n_test = len(ds.y_test)
    # One evaluation batch size for both splits, so evaluation compiles once.
    eval_bs = min(1024, 1 << (min(n, n_test or n) - 1).bit_length())

    nan = np.full((k, epochs), np.nan)
    history = {
        "epoch": np.arange(1, epochs + 1),
        "loss": nan.copy(),
        "train_accuracy": nan.copy(),
        "test_accuracy": nan.copy(),
    }
    finite = np.ones(k, bool)
    name = type(model).__name__
    desc = f"train {name}" if single else f"train {k} x {name}"
    with _io.progress(total=epochs, desc=desc, enabled=progress) as bar:
        for e in range(epochs):
            params, stats, opt_state, loss, now = epoch_fn(
                params, stats, opt_state, x_dev, labels, epoch_keys[:, e], lr_dev, wd_dev, mask_dev
            )
            current = _loop.as_variables(params, stats)
            loss = np.asarray(loss, np.float64)
            history["loss"][:, e] = loss
            now = np.asarray(now)
            if (finite & ~now).any():
                which = "" if single else f" for model(s) {np.flatnonzero(finite & ~now).tolist()}"
                warnings.warn(
                    f"training diverged at epoch {e + 1}{which}: the loss or the parameters "
                    "are not finite; accuracies from then on are NaN (try a smaller "
                    "learning_rate)",
                    RuntimeWarning,
                    stacklevel=3,
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
            bar.update(1)
            bar.set_postfix(loss=f"{float(np.mean(loss)):.3f}")
            if callback is not None:
                callback(e + 1, jax.tree.map(lambda a: a[0], current) if single else current)
    return ManyTrainResult(current, history, np.asarray(labels), finite)


@functools.partial(jax.jit, static_argnames="epochs")
def _split_epochs(keys: jax.Array, epochs: int) -> jax.Array:
    """Per model, one key per epoch: ``[k, epochs]``."""
    return jax.vmap(lambda key: jax.random.split(key, epochs))(keys)
