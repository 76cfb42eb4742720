"""The one blocked map: a function applied to row blocks, so temporaries stay bounded.

Every blocked path in hamgeo (Hamming distances, k-NN query blocks, the streamed cost
of the online transport geometry, ...) goes through ``map_blocks``: pad the rows to
a whole number of blocks, map the function over the blocks, trim the padding. Each path
has a test against its unblocked result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from hamgeo._checks import check_positive_int

__all__ = ["map_blocks"]


def map_blocks(
    fn: Callable[[Any], Any],
    xs: Any,
    *,
    block_size: int,
    fill: Any = 0,
    unroll: bool = False,
) -> Any:
    """Apply ``fn`` to consecutive blocks of ``block_size`` rows of ``xs``; stack the results.

    ``fn`` sees a block of every leaf of ``xs`` (leading axis ``block_size``) and returns
    a pytree of arrays whose leading axis is that block's rows; the result is the same
    pytree with the rows of all blocks in order, exactly ``fn(xs)`` for a row-wise
    ``fn``, with temporaries of one block only.

    Two ways to run the blocks:

    * ``unroll=False`` (default): the rows are padded with ``fill`` to a whole number
      of blocks, mapped with ``jax.lax.map`` (one compiled body, a loop), and the
      padding rows are dropped. Memory ``O(block)``, compile time independent of the
      number of blocks.
    * ``unroll=True``: a Python loop over static slices (the last block may be
      shorter), concatenated: each block stays one large XLA op (a single big matrix
      product keeps its full speed, where inside a loop it may not). For a few blocks.

    Args:
        fn: ``block -> outputs``, row-wise: row ``i`` of the outputs depends only on
            row ``i`` of the inputs (padding rows are computed and dropped).
        xs: an array or pytree of arrays sharing the leading axis ``n``.
        block_size: rows per block, ``>= 1``. With ``n <= block_size``, ``fn(xs)``.
        fill: the value padding rows get (a scalar for every leaf); pick one for which
            ``fn`` stays finite, e.g. ``0``.
        unroll: unroll the blocks in Python instead of ``lax.map``.

    Returns:
        ``fn``'s pytree of outputs, each with leading axis ``n``.

    Raises:
        TypeError: ``block_size`` is not an integer.
        ValueError: ``block_size < 1``; leaves of ``xs`` with different leading sizes.

    Examples:
        >>> import jax.numpy as jnp
        >>> x = jnp.arange(10.0).reshape(5, 2)
        >>> map_blocks(lambda b: b.sum(axis=1), x, block_size=2).tolist()
        [1.0, 5.0, 9.0, 13.0, 17.0]
        >>> lo, hi = map_blocks(lambda b: (b.min(1), b.max(1)), x, block_size=3, unroll=True)
        >>> lo.tolist(), hi.tolist()
        ([0.0, 2.0, 4.0, 6.0, 8.0], [1.0, 3.0, 5.0, 7.0, 9.0])
    """
    block = check_positive_int(block_size, "block_size", maximum=None)
    leaves = jax.tree.leaves(xs)
    if not leaves:
        return fn(xs)
    n = int(leaves[0].shape[0])
    if any(int(leaf.shape[0]) != n for leaf in leaves):
        sizes = sorted({int(leaf.shape[0]) for leaf in leaves})
        raise ValueError(f"`xs` leaves must share their leading size, got sizes {sizes}")
    if n <= block:
        return fn(xs)
    if unroll:
        parts = [fn(jax.tree.map(lambda a, s=s: a[s : s + block], xs)) for s in range(0, n, block)]
        return jax.tree.map(lambda *p: jnp.concatenate(p, axis=0), *parts)
    n_blocks = -(-n // block)
    pad = n_blocks * block - n

    def to_blocks(a):
        if pad:
            widths = [(0, pad)] + [(0, 0)] * (a.ndim - 1)
            a = jnp.pad(a, widths, constant_values=jnp.asarray(fill, a.dtype))
        return a.reshape(n_blocks, block, *a.shape[1:])

    out = jax.lax.map(fn, jax.tree.map(to_blocks, xs))
    return jax.tree.map(lambda o: o.reshape(n_blocks * block, *o.shape[2:])[:n], out)
