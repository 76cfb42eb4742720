"""Do these variables fit this model? One check for extraction, checkpoints and regions.

A model of `hamgeo.nets` is rebuilt from its config, but its variables come from the
caller or from a file: a tree whose shapes do not fit would fail deep inside flax (a raw
``ScopeParamShapeError``, sometimes only after an epoch) or, worse, run. Here the variables are
compared, leaf by leaf, with the shapes ``model.init`` would make for the same input
(``jax.eval_shape``: no computation), and refused with a message that names ``variables`` (and
``x``), the leaf, the expected and the actual shape.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from hamgeo._checks import describe, is_tracer

__all__ = [
    "check_finite_variables",
    "check_variables",
    "expected_variables",
    "leaves",
    "mlp_dense_layers",
    "n_outputs",
]


def leaves(tree: Any) -> dict[str, Any]:
    """``{"params/hidden_0/kernel": leaf, ...}`` for a nested mapping of arrays."""
    out = {}
    for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
        out["/".join(str(getattr(k, "key", getattr(k, "idx", k))) for k in path)] = leaf
    return out


@functools.lru_cache(maxsize=256)
def _expected(model: nn.Module, example_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    probe = jax.ShapeDtypeStruct((1, *example_shape), jnp.float32)
    shapes = jax.eval_shape(model.init, jax.random.key(0), probe)
    return {path: tuple(leaf.shape) for path, leaf in leaves(shapes).items()}


def expected_variables(model: nn.Module, example_shape: tuple[int, ...]) -> dict[str, tuple]:
    """Leaf shapes of ``model.init`` on inputs ``[n, *example_shape]`` (cached per model)."""
    try:
        return dict(_expected(model, tuple(int(s) for s in example_shape)))
    except TypeError as err:  # a module without hamgeo's call signature, or unhashable
        raise TypeError(
            f"`model` must be a model of hamgeo.nets (or follow its call signature "
            f"model.apply(variables, x, return_preactivations=True)), got "
            f"{type(model).__name__}: {err}"
        ) from None


@functools.lru_cache(maxsize=256)
def _n_outputs(model: nn.Module, example_shape: tuple[int, ...]) -> int:
    probe = jax.ShapeDtypeStruct((1, *example_shape), jnp.float32)
    shapes = jax.eval_shape(model.init, jax.random.key(0), probe)
    logits = jax.eval_shape(lambda v, x: model.apply(v, x, train=False), shapes, probe)
    return int(logits.shape[-1])


def n_outputs(model: nn.Module, example_shape: tuple[int, ...]) -> int:
    """The number of logits (classes) of ``model`` on inputs ``[n, *example_shape]``."""
    expected_variables(model, example_shape)  # a hamgeo model, or a TypeError that says so
    return _n_outputs(model, tuple(int(s) for s in example_shape))


def check_variables(
    model: nn.Module,
    variables: Any,
    example_shape: tuple[int, ...],
    *,
    context: str = "",
    exact: bool = False,
    free_rows: str | None = None,
) -> dict[str, Any]:
    """Refuse ``variables`` whose leaves do not have ``model.init``'s shapes.

    Args:
        model: the model.
        variables: ``{"params": ..., ["batch_stats": ...]}``.
        example_shape: the shape of one input (``x.shape[1:]``).
        context: text appended to the shape message (what ``x`` was).
        exact: also refuse leaves the model would not make (a checkpoint must hold
            exactly the model's tree).
        free_rows: a leaf whose first axis depends on the input size (the first dense
            layer after convolutions): there it only has to be a positive multiple of
            the expected size.

    Returns:
        The flat ``{path: leaf}`` of ``variables``.

    Raises:
        TypeError: ``variables`` is not a mapping of collections of arrays.
        ValueError: a missing, unexpected or wrongly shaped leaf, named with both shapes.
    """
    if not isinstance(variables, Mapping):
        raise TypeError(
            f"`variables` must be a dict like {{'params': ...}} from model.init, "
            f"got {describe(variables)}"
        )
    expected = expected_variables(model, example_shape)
    got = leaves(variables)
    name = type(model).__name__
    for path, want in expected.items():
        if path not in got:
            raise ValueError(
                f"`variables` do not fit {name}: they have no {path!r} (expected shape "
                f"{want}){context}"
            )
        leaf = got[path]
        if not hasattr(leaf, "shape") or not hasattr(leaf, "dtype"):
            raise TypeError(f"`variables` entry {path!r} must be an array, got {describe(leaf)}")
        if np.dtype(leaf.dtype).kind != "f":
            raise TypeError(
                f"`variables` entry {path!r} must be a floating array, got dtype {leaf.dtype}"
            )
        shape = tuple(leaf.shape)
        if path == free_rows and len(shape) == len(want) and shape[1:] == want[1:]:
            if want[0] > 0 and shape[0] > 0 and shape[0] % want[0] == 0:
                continue
        if shape != want:
            raise ValueError(
                f"`variables` do not fit {name}: {path!r} has shape {shape}, expected "
                f"{want}{context}"
            )
    if exact:
        extra = sorted(set(got) - set(expected))
        if extra:
            raise ValueError(f"`variables` have entries {name} does not make: {extra}")
    return got


@jax.jit
def _finite_per_leaf(flat: list[jax.Array]) -> jax.Array:
    return jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in flat])


def check_finite_variables(flat: dict[str, Any]) -> None:
    """Refuse NaN or inf in concrete variables (one compiled reduction per tree shape)."""
    arrays = list(flat.values())
    if not arrays or any(is_tracer(a) for a in arrays):
        return
    # Concrete variables closed over by a jitted function: evaluate now, not as a tracer.
    with jax.ensure_compile_time_eval():
        ok = np.asarray(_finite_per_leaf([jnp.asarray(a) for a in arrays]))
    if not ok.all():
        bad = [path for path, good in zip(flat, ok, strict=True) if not good]
        raise ValueError(f"`variables` must be finite, got NaN or inf in {bad}")


_HIDDEN = re.compile(r"hidden_(\d+)")


def _mlp_params(variables: Any) -> Mapping:
    """``variables["params"]`` (or ``variables`` itself when it is the params) of an MLP."""
    if not isinstance(variables, Mapping):
        raise TypeError(
            f"`variables` must be a dict like {{'params': ...}} from MLP.init, "
            f"got {describe(variables)}"
        )
    params = variables.get("params", variables)
    if not isinstance(params, Mapping):
        raise TypeError(f"`variables['params']` must be a dict, got {describe(params)}")
    return params


def mlp_dense_layers(variables: Any, *, head: bool = False) -> list[tuple[Any, Any]]:
    """The ``(kernel [in, out], bias [out])`` leaves of a ReLU MLP's dense layers, checked.

    Reads the layout of [`MLP`][hamgeo.nets.relu.MLP] from ``variables`` alone (for functions that
    take ``model=None``): ``params`` holds ``hidden_0 ... hidden_{L-1}`` (numbered without a gap)
    and optionally ``head``, each with exactly ``kernel`` and ``bias``, kernels chaining. Anything
    else — a convolutional network's ``conv_i``, a binary network's ``latent_kernel`` or batch
    norms, a missing ``hidden_1`` between ``hidden_0`` and ``hidden_2`` — would be silently dropped
    by a reader that only follows ``hidden_0, hidden_1, ...``, so it is refused here.

    Args:
        variables: ``{"params": {...}}`` of an MLP, or its params.
        head: also return the ``head`` layer (last), which must then be present.

    Returns:
        One ``(kernel, bias)`` pair per hidden layer in order (then the head's), as given.

    Raises:
        TypeError: ``variables`` is not a mapping, or a leaf is not an array.
        ValueError: another model's variables, a gap in the numbering, or shapes that
            do not chain; the message names ``variables`` and what it held.
    """
    params = _mlp_params(variables)
    names = sorted(map(str, params))
    hidden: dict[int, str] = {}
    other = []
    for name in names:
        match = _HIDDEN.fullmatch(name)
        if match:
            hidden[int(match.group(1))] = name
        elif name != "head":
            other.append(name)
    got = f"got params {names}"
    if other:
        raise ValueError(
            "`variables` must be those of a ReLU MLP (hamgeo.nets.MLP: params hidden_0, "
            f"hidden_1, ..., head); {other} belong to another model (pass that model), {got}"
        )
    if not hidden:
        raise ValueError(
            "`variables` must be those of a ReLU MLP with dense layers 'hidden_0', "
            f"'hidden_1', ... (hamgeo.nets.MLP), {got}"
        )
    missing = [f"hidden_{i}" for i in range(max(hidden)) if i not in hidden]
    if missing:
        raise ValueError(
            f"`variables` must number their hidden layers without a gap, but {missing} "
            f"is missing, {got}"
        )
    order = [hidden[i] for i in range(len(hidden))]
    if head:
        if "head" not in params:
            raise ValueError(f"`variables` must have a 'head' layer, {got}")
        order.append("head")
    layers: list[tuple[Any, Any]] = []
    shapes: list[tuple[int, ...]] = []
    for name in order:
        layer = params[name]
        if not isinstance(layer, Mapping) or set(layer) != {"kernel", "bias"}:
            keys = sorted(map(str, layer)) if isinstance(layer, Mapping) else describe(layer)
            raise ValueError(
                f"`variables` layer {name!r} must hold exactly 'kernel' and 'bias' (a dense "
                f"ReLU layer), got {keys}"
            )
        kernel, bias = layer["kernel"], layer["bias"]
        k_shape, b_shape = _shape(kernel, name, "kernel"), _shape(bias, name, "bias")
        if len(k_shape) != 2 or b_shape != (k_shape[1],):
            raise ValueError(
                f"`variables` {name} must be dense (kernel [in, out], bias [out]), got "
                f"kernel {k_shape} and bias {b_shape}"
            )
        if shapes and shapes[-1][1] != k_shape[0]:
            raise ValueError(
                f"`variables` {name} takes {k_shape[0]} inputs but the previous "
                f"layer has {shapes[-1][1]} units"
            )
        shapes.append(k_shape)
        layers.append((kernel, bias))
    return layers


def _shape(leaf: Any, layer: str, what: str) -> tuple[int, ...]:
    """The shape of an array-like leaf (arrays, tracers, nested lists)."""
    if isinstance(leaf, str | bytes | Mapping) or leaf is None:
        raise TypeError(f"`variables` {layer} {what} must be an array, got {describe(leaf)}")
    try:
        return tuple(int(n) for n in np.shape(leaf))
    except (TypeError, ValueError) as err:  # ragged nested lists
        raise TypeError(
            f"`variables` {layer} {what} must be a rectangular array, got {describe(leaf)}: {err}"
        ) from None
