"""Distinct rows of packed words on device (private; see ``hamgeo.regions``)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from hamgeo._checks import is_tracer

__all__ = ["bucketed_unique_ids", "host_unique_ids", "unique_ids"]


# --------------------------------------------------------------------------------------
# distinct codes: sort 64 bits of hash, verify against the full words, exact fallback
# --------------------------------------------------------------------------------------


def _fmix(h: jax.Array) -> jax.Array:
    """MurmurHash3's 32-bit finalizer (a bijection of ``uint32``)."""
    h = h ^ (h >> 16)
    h = h * jnp.uint32(0x85EBCA6B)
    h = h ^ (h >> 13)
    h = h * jnp.uint32(0xC2B2AE35)
    return h ^ (h >> 16)


def _row_hashes(words: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Two independent 32-bit hashes of each row of ``uint32[n, W]``."""
    w = words.shape[1]
    salt = (jnp.arange(w, dtype=jnp.uint32) * jnp.uint32(0x9E3779B9))[None]
    h1 = jnp.sum(_fmix(words ^ salt), axis=1, dtype=jnp.uint32)
    h2 = jnp.sum(
        _fmix(words + salt + jnp.uint32(0x7F4A7C15)) * (salt | jnp.uint32(1)),
        axis=1,
        dtype=jnp.uint32,
    )
    return h1, h2


def _lex_sort(words: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Exact lexicographic sort of the rows: ``(sorted words, permutation)``."""
    cols = tuple(words[:, j] for j in range(words.shape[1]))
    idx = jnp.arange(words.shape[0], dtype=jnp.int32)
    out = jax.lax.sort((*cols, idx), num_keys=len(cols))
    return jnp.stack(out[:-1], axis=1), out[-1]


def _hashed_unique(
    words: jax.Array, h1: jax.Array, h2: jax.Array
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Distinct rows of ``uint32[n, W]`` through their hashes: ``(count, ids, collision)``.

    Rows are sorted by a 64-bit hash (two sort keys instead of ``W``), then every
    pair of neighbours in that order is compared word by word. ``collision`` is
    true when two different rows share a hash; the count is then not trusted.
    Ids are ranks in the sorted order.
    """
    n = words.shape[0]
    idx = jnp.arange(n, dtype=jnp.int32)
    h1s, h2s, perm = jax.lax.sort((h1, h2, idx), num_keys=2)
    rows = words[perm]
    row_change = jnp.any(rows[1:] != rows[:-1], axis=1)
    hash_change = (h1s[1:] != h1s[:-1]) | (h2s[1:] != h2s[:-1])
    collision = jnp.any(row_change & ~hash_change)
    count, ids = _ranks(row_change, perm)
    return count, ids, collision


def _ranks(change: jax.Array, perm: jax.Array) -> tuple[jax.Array, jax.Array]:
    rank = jnp.concatenate([jnp.zeros((1,), jnp.int32), jnp.cumsum(change, dtype=jnp.int32)])
    ids = jnp.zeros(perm.shape, jnp.int32).at[perm].set(rank)
    return rank[-1] + 1, ids


@jax.jit
def _hash_unique_ids(words: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    return _hashed_unique(words, *_row_hashes(words))


@jax.jit
def _exact_unique_ids(words: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Distinct rows by an exact ``W``-key lexicographic sort (slower to compile and run)."""
    rows, perm = _lex_sort(words)
    return _ranks(jnp.any(rows[1:] != rows[:-1], axis=1), perm)


def unique_ids(words: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Number of distinct rows of ``uint32[n, W]`` and a dense id per row.

    The hashed sort, verified; if two different rows ever share a 64-bit hash the
    exact lexicographic sort takes over (eagerly: compiled only then; under a trace:
    through ``lax.cond``), so the answer never depends on the hash.
    """
    count, ids, collision = _hash_unique_ids(words)
    if is_tracer(collision):
        return jax.lax.cond(collision, _exact_unique_ids, lambda _: (count, ids), words)
    if bool(collision):
        count, ids = _exact_unique_ids(words)
    return count, ids


def bucketed_unique_ids(words: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``unique_ids`` on rows padded (with copies of row 0) to one of 8 sizes per octave.

    Padding with a row already present changes no count, and it bounds the number
    of compilations over many calls with different ``n`` (at most 12.5% more rows).
    """
    n = words.shape[0]
    if words.shape[1] == 0:  # zero-bit codes: all equal, one cell
        return jnp.int32(1), jnp.zeros((n,), jnp.int32)
    step = max(1, 1 << max(0, n.bit_length() - 4))
    size = -(-n // step) * step
    if size > n:
        words = jnp.concatenate([words, jnp.broadcast_to(words[:1], (size - n, words.shape[1]))])
    count, ids = unique_ids(words)
    return count, ids[:n]


def host_unique_ids(words: np.ndarray) -> tuple[int, np.ndarray]:
    """Small host-side variant (no compilation): ``(count, ids)`` through ``np.unique``."""
    _, ids = np.unique(np.asarray(words), axis=0, return_inverse=True)
    ids = ids.reshape(-1).astype(np.int32)
    return int(ids.max()) + 1, ids
