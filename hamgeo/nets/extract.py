"""Pre-activations and activation codes of any model in `hamgeo.nets`.

The activation code of an input is one bit per hidden unit, in layer order: 1 where
the unit's pre-activation is positive (the side of the unit's hyperplane the input
lies on; the discriminability paper's section 2 and the hash-encoder paper,
[Discriminability] and [Hash-Encoders] in ``docs/references.md``). For a binarized
network the code is its binarized activations, ``sign(pre) = +1`` (with
``sign(0) = +1``).
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from hamgeo._checks import check_not_traced, check_positive_int
from hamgeo.codes import PackedCodes, n_words, pack_bits
from hamgeo.nets._layers import check_inputs
from hamgeo.nets.variables import check_finite_variables, check_variables

__all__ = ["activation_codes", "layer_slices", "preactivations"]


def _check_model(model: Any) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"`model` must be a flax.linen Module, got {type(model).__name__}")
    try:
        takes_flag = "return_preactivations" in inspect.signature(type(model).__call__).parameters
    except (TypeError, ValueError):  # no signature to inspect
        takes_flag = False
    if not takes_flag:
        raise TypeError(
            f"`model` must be a model of hamgeo.nets (its __call__ takes "
            f"return_preactivations=True), got {type(model).__name__}"
        )


def _check_inputs(model: Any, variables: Any, x: Any) -> np.ndarray | jax.Array:
    """Validate ``model``, ``x`` and that ``variables`` fit both; return ``x``."""
    _check_model(model)
    x = check_inputs(x)
    example = tuple(int(s) for s in x.shape[1:])
    flat = check_variables(
        model,
        variables,
        example,
        context=f" for inputs `x` of shape [n, {', '.join(map(str, example))}]",
    )
    check_finite_variables(flat)
    return x


@functools.partial(jax.jit, static_argnames="model")
def _forward(model: nn.Module, variables: Any, x: jax.Array) -> list[jax.Array]:
    out: Any = model.apply(
        variables, x.astype(jnp.float32), train=False, return_preactivations=True
    )
    return list(out[1])


@functools.partial(jax.jit, static_argnames="model")
def _codes(model: nn.Module, variables: Any, x: jax.Array) -> jax.Array:
    pres = _forward(model, variables, x)
    pre = jnp.concatenate(pres, axis=-1)
    bits = pre >= 0 if getattr(model, "codes_at_zero", False) else pre > 0
    return pack_bits(bits).words


def preactivations(model: nn.Module, variables: Any, x: ArrayLike) -> list[jax.Array]:
    """The hidden pre-activations of ``model`` on ``x``, one array per layer, in order.

    ``pre_l`` is ``[n, units_l]``: the input to the l-th ReLU (convolutional maps
    flattened per example), or, for a binarized network, the value whose sign is the
    l-th binarized activation (after batch norm). Evaluation mode (running batch
    statistics).

    Traceable: jit, vmap, grad

    Args:
        model: any model of `hamgeo.nets`.
        variables: its variables (``{"params": ..., ["batch_stats": ...]}``).
        x: inputs ``[n, ...]``.

    Returns:
        ``[pre_1, ..., pre_L]``, ``float32[n, units_l]`` each.

    Raises:
        TypeError: ``model`` is not a flax module, ``x`` is not a real array.
        ValueError: ``x`` is not a batch ``[n, ...]`` or holds NaN / inf; ``variables``
            do not fit ``model`` on inputs shaped like ``x`` (the message names the
            leaf, its shape and the expected one) or hold NaN / inf.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> from hamgeo.nets import MLP
        >>> model = MLP((5, 3), 2)
        >>> variables = model.init(jax.random.key(0), jnp.ones((1, 4)))
        >>> [p.shape for p in preactivations(model, variables, jnp.ones((6, 4)))]
        [(6, 5), (6, 3)]
    """
    x = _check_inputs(model, variables, x)
    return list(_forward(model, variables, x))


def layer_slices(model: nn.Module, variables: Any, x: ArrayLike) -> list[slice]:
    """Which bits of ``activation_codes`` belong to which layer.

    Computed from shapes only (``jax.eval_shape``), so it costs no forward pass.

    Host-only: it returns Python slices (from shapes only; no computation).

    Args:
        model: any model of `hamgeo.nets`.
        variables: its variables.
        x: inputs ``[n, ...]`` of the shape the codes are taken on (only
            ``x[:1]``'s shape matters, which fixes the size of convolutional maps).

    Returns:
        One ``slice`` per hidden layer; together they tile ``range(total units)``.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> from hamgeo.nets import MLP
        >>> model = MLP((5, 3), 2)
        >>> variables = model.init(jax.random.key(0), jnp.ones((1, 4)))
        >>> layer_slices(model, variables, jnp.ones((1, 4)))
        [slice(0, 5, None), slice(5, 8, None)]
    """
    check_not_traced("layer_slices", variables, x)
    return _slices(model, variables, _check_inputs(model, variables, x))


def _slices(model: nn.Module, variables: Any, x: Any) -> list[slice]:
    probe = jax.ShapeDtypeStruct((1, *x.shape[1:]), jnp.float32)
    shapes = jax.eval_shape(lambda v, xb: _forward(model, v, xb), variables, probe)
    out, start = [], 0
    for s in shapes:
        out.append(slice(start, start + int(s.shape[-1])))
        start += int(s.shape[-1])
    return out


def activation_codes(
    model: nn.Module, variables: Any, x: ArrayLike, *, batch_size: int = 1024
) -> PackedCodes:
    """Activation codes of ``model`` on ``x``: one bit per hidden unit, packed.

    Bit ``j`` of a code is 1 where hidden unit ``j``'s pre-activation is positive
    (units in layer order, see [`layer_slices`][hamgeo.nets.extract.layer_slices]); for binarized
    networks it is the unit's binarized activation (``sign = +1``). Inputs go through a jit-compiled
    function in batches of ``batch_size`` that returns packed ``uint32`` words, so only one batch of
    float activations exists at a time (100 000 inputs of a wide network stay within memory). The
    last batch is padded, so every batch reuses one compilation.

    Traceable: jit, vmap

    Args:
        model: any model of `hamgeo.nets`.
        variables: its variables.
        x: inputs ``[n, ...]``.
        batch_size: inputs per compiled batch.

    Returns:
        ``PackedCodes`` of shape ``[n]`` with ``n_bits`` = total hidden units.

    Raises:
        TypeError: as [`preactivations`][hamgeo.nets.extract.preactivations], or a non-integer
            ``batch_size``.
        ValueError: as [`preactivations`][hamgeo.nets.extract.preactivations], or ``batch_size <
            1``.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> from hamgeo.nets import MLP
        >>> model = MLP((5, 3), 2)
        >>> variables = model.init(jax.random.key(0), jnp.ones((1, 4)))
        >>> codes = activation_codes(model, variables, jnp.ones((6, 4)), batch_size=4)
        >>> codes.shape, codes.n_bits
        ((6,), 8)
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    x = _check_inputs(model, variables, x)
    n = int(x.shape[0])
    n_bits = sum(s.stop - s.start for s in _slices(model, variables, x))
    if n == 0:
        return PackedCodes(jnp.zeros((0, n_words(n_bits)), jnp.uint32), n_bits)
    b = min(batch_size, n)
    chunks = []
    for start in range(0, n, b):
        xb = jnp.asarray(x[start : start + b])
        m = xb.shape[0]
        if m < b:
            xb = jnp.concatenate([xb, jnp.zeros((b - m, *xb.shape[1:]), xb.dtype)])
        chunks.append(_codes(model, variables, xb)[:m])
    words = chunks[0] if len(chunks) == 1 else jnp.concatenate(chunks)
    return PackedCodes(words, n_bits)
