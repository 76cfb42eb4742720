"""Row-sharded calls: a kernel per row shard of the first operand, the second replicated.

The jitted ``shard_map`` is built once per (kernel, static options, mesh, row axes) and
cached, so a repeated sharded call compiles nothing (a fresh ``jax.jit(shard_map(...))``
per call would).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
from jax.sharding import NamedSharding, PartitionSpec

from hamgeo._checks import is_tracer

__all__ = ["row_sharded_call", "sharded_rows"]


def sharded_rows(arr: Any) -> NamedSharding | None:
    """The NamedSharding of a concrete array sharded along its first axis, else None."""
    if is_tracer(arr):
        return None
    sharding = getattr(arr, "sharding", None)
    if not isinstance(sharding, NamedSharding) or len(sharding.device_set) < 2:
        return None
    spec = tuple(sharding.spec) + (None,) * arr.ndim
    if spec[0] is None:
        return None
    return sharding


def _replicated(arr: Any, mesh: Any) -> jax.Array:
    """``arr`` replicated over ``mesh`` (the second operand of a row-sharded call)."""
    target = NamedSharding(mesh, PartitionSpec())
    if isinstance(arr, jax.Array) and arr.sharding.is_equivalent_to(target, arr.ndim):
        return arr
    return jax.device_put(arr, target)


@functools.lru_cache(maxsize=128)
def _jitted(kernel: Callable, statics: tuple, mesh: Any, rows: Any, n_out: int) -> Callable:
    """``jit(shard_map(kernel(a, b, rows=rows, **statics)))``, one per key."""
    out = PartitionSpec(rows, None)
    fn = functools.partial(kernel, rows=rows, **dict(statics))
    sm = jax.shard_map(
        fn,
        mesh=mesh,
        in_specs=(PartitionSpec(rows, None), PartitionSpec()),
        out_specs=out if n_out == 1 else (out,) * n_out,
        check_vma=False,
    )
    return jax.jit(sm)


def row_sharded_call(
    kernel: Callable, statics: dict, sharding: NamedSharding, a: jax.Array, b: jax.Array, n_out: int
):
    """``kernel(a_shard, b, rows=..., **statics)`` per row shard of ``a``, ``b`` replicated.

    ``kernel`` is a module-level function and ``statics`` hashable, so the jitted map is
    cached; rows of the result stay sharded like ``a``.
    """
    rows = sharding.spec[0]
    fn = _jitted(kernel, tuple(sorted(statics.items())), sharding.mesh, rows, n_out)
    return fn(a, _replicated(b, sharding.mesh))
