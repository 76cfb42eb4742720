"""Do these variables fit this model? One check for extraction and checkpoints (private).

A model of :mod:`hamgeo.nets` is rebuilt from its config, but its variables come from
the caller or from a file: a tree whose shapes do not fit would fail deep inside flax
(a raw ``ScopeParamShapeError``, sometimes only after an epoch) or, worse, run. Here
the variables are compared, leaf by leaf, with the shapes ``model.init`` would make
for the same input (``jax.eval_shape``: no computation), and refused with a message
that names ``variables`` (and ``x``), the leaf, the expected and the actual shape.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from hamgeo._checks import describe, is_tracer

__all__ = ["check_finite_variables", "check_variables", "expected_variables", "leaves"]


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
    ok = np.asarray(_finite_per_leaf([jnp.asarray(a) for a in arrays]))
    if not ok.all():
        bad = [path for path, good in zip(flat, ok, strict=True) if not good]
        raise ValueError(f"`variables` must be finite, got NaN or inf in {bad}")
