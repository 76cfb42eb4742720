"""Hamming distances between packed codes (placeholder: the foundation issue replaces this)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from hamgeo.codes import PackedCodes, as_packed

__all__ = ["pairwise_hamming"]


def pairwise_hamming(x, y=None, *, truncate=None, method="auto", block_size=None) -> jax.Array:
    """``int32[N, M]`` Hamming distances between two batches of codes.

    Examples:
        >>> pairwise_hamming([[1, 0, 1]], [[0, 0, 1], [1, 0, 1]]).tolist()
        [[1, 0]]
    """
    x = as_packed(x, "x")
    y = x if y is None else as_packed(y, "y")
    d = jnp.sum(
        jax.lax.population_count(x.words[:, None, :] ^ y.words[None, :, :]).astype(jnp.int32),
        axis=-1,
    )
    if truncate is not None:
        d = jnp.minimum(d, truncate)
    return d


def _unused(c: PackedCodes) -> None:  # pragma: no cover
    del c
