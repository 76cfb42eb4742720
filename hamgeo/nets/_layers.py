"""Pieces every model of ``hamgeo.nets`` shares (private leaf): field checks, reshapes, pooling.

[`relu`][hamgeo.nets.relu] and [`binary`][hamgeo.nets.binary] both import from here, so neither
reaches into the other's privates.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from hamgeo._checks import check_array, check_choice, check_positive_int, describe, is_tracer
from hamgeo.codes import PackedCodes

__all__ = [
    "Network",
    "as_widths",
    "check_fields",
    "check_inputs",
    "flatten",
    "maybe_pool",
    "spatial_input",
]


def as_widths(value: Any, name: str, *, allow_empty: bool = True) -> tuple[int, ...]:
    """Validate a sequence of layer sizes and return it as a hashable tuple."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise TypeError(f"`{name}` must be a sequence of positive integers, got {describe(value)}")
    out = tuple(check_positive_int(w, f"{name}[{i}]") for i, w in enumerate(value))
    if not out and not allow_empty:
        raise ValueError(f"`{name}` must not be empty, got {value!r}")
    return out


def check_fields(module: nn.Module, *sequences: str, pool: bool = False) -> None:
    """Validate a model's constructor fields; store sequences as hashable tuples."""
    for name in sequences:
        object.__setattr__(module, name, as_widths(getattr(module, name), name))
    check_positive_int(module.n_classes, "n_classes")
    if pool:
        check_positive_int(module.pool_every, "pool_every")


class Network(nn.Module):
    """The base of every model of ``hamgeo.nets``: its constructor fields checked.

    A model names its layer-size fields in ``_sequences`` (stored as tuples; at least one
    of them non-empty, so that the model has hidden layers and codes), sets
    ``_pooled`` when it has ``pool_every``, and maps each field that takes one of a few
    strings to its options in ``_choices``.
    """

    _sequences: ClassVar[tuple[str, ...]]
    _pooled: ClassVar[bool] = False
    _choices: ClassVar[Mapping[str, tuple[str, ...]]] = {}

    def __post_init__(self) -> None:
        check_fields(self, *self._sequences, pool=self._pooled)
        if self._sequences and not any(getattr(self, name) for name in self._sequences):
            # No hidden layer: no pre-activations, so no activation code, no cells.
            names = " or ".join(f"`{name}`" for name in self._sequences)
            got = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._sequences)
            raise ValueError(
                f"{names} must hold at least one hidden layer (a model without hidden "
                f"layers has no activation codes), got {got}"
            )
        for name, options in self._choices.items():
            check_choice(name, getattr(self, name), options)
        super().__post_init__()


def flatten(x: jax.Array) -> jax.Array:
    """``[n, ...]`` → ``[n, prod(...)]`` (one row per example)."""
    return x.reshape(x.shape[0], math.prod(x.shape[1:]))  # not -1: 0 rows are fine


def spatial_input(x: jax.Array) -> jax.Array:
    """Bring a CNN input to channels-last form with at least one spatial axis.

    ``[n, L]`` (a 1-D signal) becomes ``[n, L, 1]``; ``[n, L, C]`` and
    ``[n, H, W, C]`` pass through.
    """
    if x.ndim == 2:
        return x[..., None]
    if x.ndim in (3, 4):
        return x
    raise ValueError(
        "`x` must be [n, L] or [n, L, C] signals or [n, H, W, C] images, got shape "
        f"{tuple(x.shape)}"
    )


def maybe_pool(x: jax.Array) -> jax.Array:
    """2-wide max-pool over every spatial axis that is at least 2 long."""
    window = tuple(2 if s >= 2 else 1 for s in x.shape[1:-1])
    if all(w == 1 for w in window):
        return x
    return nn.max_pool(x, window, strides=window, padding="VALID")


def check_inputs(x: Any, name: str = "x", *, min_rows: int = 0) -> np.ndarray | jax.Array:
    """A batch of real inputs ``[n, ...]`` for a model, finite once cast to float32.

    The one input check of `hamgeo.nets`. The models compute in float32, so a float64
    ``1e300`` (inf there) is refused, and ``bfloat16`` / ``float16`` inputs are accepted (and
    widened to float32). Under a trace only shapes and dtypes are checked.
    """
    if isinstance(x, PackedCodes):
        raise TypeError(f"`{name}` must be a real array of inputs [n, ...], got {describe(x)}")
    dtype = getattr(x, "dtype", None)
    if dtype is not None and np.dtype(dtype).kind == "V" and jnp.issubdtype(dtype, jnp.floating):
        x = jnp.asarray(x, jnp.float32)  # bfloat16 and other ml_dtypes floats
    x = check_array(x, name)
    if np.dtype(x.dtype).kind not in "fiub":
        raise TypeError(f"`{name}` must be a real array of inputs, got dtype {x.dtype}")
    if x.ndim < 2:
        raise ValueError(
            f"`{name}` must have shape [n, ...] (a batch of inputs), got shape {tuple(x.shape)}"
        )
    if x.shape[0] < min_rows:
        raise ValueError(
            f"`{name}` must have at least {min_rows} row(s), got shape {tuple(x.shape)}"
        )
    if np.dtype(x.dtype).kind == "f" and not is_tracer(x) and x.size:
        # The model computes in float32: a float64 1e300 is inf there.
        finite = (
            jnp.isfinite(x.astype(jnp.float32)).all()
            if isinstance(x, jax.Array)
            else np.isfinite(x.astype(np.float32, copy=False)).all()
        )
        if not bool(finite):
            raise ValueError(f"`{name}` must be finite in float32, got NaN, inf or |x| > 3.4e38")
    return x
