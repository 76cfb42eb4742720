"""The XLA kernels: XOR + popcount and ±1 products, pairwise and streaming k-NN.

Two formulations of the same exact integer result:

* popcount: XOR the packed words and count the set bits, summed over words
  (``lax.population_count``; path ``"xla"``);
* ±1 product: with signs s = 1 - 2b, d_H(x, y) = (n - s_x . s_y) / 2, one matrix
  product on int8 operands with int32 accumulation (path ``"int8"``) or bf16 operands
  with f32 accumulation (path ``"bf16"``, exact while n <= 2^24): the form GPU tensor
  cores, TPU MXUs and CPU matrix units (AMX, VNNI) run fastest.

Every function here is traced inside the jitted entry points of ``_api.py``; block sizes
are static.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from hamgeo._blocks import map_blocks
from hamgeo._checks import INT32_MAX

__all__ = [
    "SIGN_DTYPES",
    "knn_blocks",
    "knn_xla",
    "pairwise_block",
    "pairwise_xla",
]

# Temporaries of the popcount blocks stay near this many bytes.
_BLOCK_BYTES = 32 * 2**20
# The int32 product of one ±1 block: a single large dot up to this many bytes.
_DOT_BYTES = 64 * 2**20
# Up to this many ±1 blocks are unrolled (each one XLA dot); more go through lax.map.
_UNROLL_BLOCKS = 8
_BIG = INT32_MAX

SIGN_DTYPES = {"int8": (jnp.int8, jnp.int32), "bf16": (jnp.bfloat16, jnp.float32)}
"""The ±1 product paths: operand dtype and accumulation dtype."""


def _popcount_block(xw: jax.Array, yw: jax.Array) -> jax.Array:
    """``int32[b, M]`` distances, XOR + popcount, one fused reduction."""
    diff = jax.lax.population_count(xw[:, None, :] ^ yw[None, :, :])
    return jnp.sum(diff.astype(jnp.int32), axis=-1, dtype=jnp.int32)


def _signs(words: jax.Array, n_bits: int, dtype: Any) -> jax.Array:
    """±1 signs ``[n, n_bits]`` (bit 1 -> -1) in ``dtype``."""
    shifts = jnp.arange(32, dtype=jnp.uint32).reshape(1, 1, 32)
    bits = (words[:, :, None] >> shifts) & jnp.uint32(1)
    bits = bits.reshape(words.shape[0], words.shape[1] * 32)[:, :n_bits]
    return (1 - 2 * bits.astype(jnp.int8)).astype(dtype)


def _matmul_block(xs: jax.Array, ys: jax.Array, n_bits: int) -> jax.Array:
    """``int32[b, M]`` distances from ±1 signs: ``(n - s_x . s_y) / 2``."""
    acc = jnp.int32 if xs.dtype == jnp.int8 else jnp.float32
    dims = (((1,), (1,)), ((), ()))
    dot = jax.lax.dot_general(xs, ys, dims, preferred_element_type=acc).astype(jnp.int32)
    return (n_bits - dot) // 2


def _finish(d: jax.Array, truncate: int | None, out_dtype: Any) -> jax.Array:
    if truncate is not None:
        d = jnp.minimum(d, jnp.int32(truncate))
    return d.astype(out_dtype)


def pairwise_xla(xw, yw, *, n_bits, truncate, path, block, out_dtype):
    """``out_dtype[N, M]`` distances on an XLA ``path`` (xla, int8, bf16), ``block`` rows a step."""
    if path in SIGN_DTYPES:
        dtype = SIGN_DTYPES[path][0]
        ys = _signs(yw, n_bits, dtype)

        def fn(b):
            return _finish(_matmul_block(_signs(b, n_bits, dtype), ys, n_bits), truncate, out_dtype)

        unroll = -(-xw.shape[0] // block) <= _UNROLL_BLOCKS
        return map_blocks(fn, xw, block_size=block, unroll=unroll)
    return map_blocks(
        lambda b: _finish(_popcount_block(b, yw), truncate, out_dtype), xw, block_size=block
    )


def pairwise_block(path: str, n: int, m: int, w: int, n_bits: int, block_size: int | None) -> int:
    """Rows of ``x`` per block for an XLA path."""
    if block_size is not None:
        return max(1, min(block_size, n))
    if path in SIGN_DTYPES:
        # Blocks as large as the memory bound allows: each block is one large dot.
        rows = min(_DOT_BYTES // max(1, 4 * m), _DOT_BYTES // max(1, 2 * n_bits))
    else:
        # The [rows, M, W] XOR that XLA normally fuses away, as a worst case.
        rows = min(_BLOCK_BYTES // max(1, 4 * m * w), 4096)
    return int(max(1, min(rows, n)))


def _merge_topk(best_d, best_i, d, start, k, n_bits):
    """Keep the ``k`` smallest of the running best and a block of base ``start + j``.

    ``lax.top_k`` keeps the lower position first among equal keys; the running
    best comes first and holds smaller base indices, so ties go to the smaller index.
    The keys are float32 (exact for distances up to 2^24; the int32 sentinel only has to
    stay largest): XLA's CPU top-k has a fast float32 kernel, 30x the int32 sort.
    Indices come from the positions, so no ``[rows, k + block]`` index array is formed.
    """
    all_d = jnp.concatenate([best_d, d], axis=1)
    keys = -all_d.astype(jnp.float32) if n_bits <= 2**24 else -all_d
    _, pos = jax.lax.top_k(keys, k)
    kept = jnp.take_along_axis(best_i, jnp.minimum(pos, k - 1), axis=1)
    index = jnp.where(pos < k, kept, start + pos - k)
    return jnp.take_along_axis(all_d, pos, axis=1), index


def knn_xla(qw, bw, offset, *, k, exclude_self, n_bits, path, qblock, bblock):
    """Streaming k-NN: base blocks scanned with a running top-k, query blocks mapped."""
    m, w = bw.shape
    n_bb = -(-m // bblock)
    bpad = jnp.pad(bw, ((0, n_bb * bblock - m), (0, 0))).reshape(n_bb, bblock, w)
    signs = path in SIGN_DTYPES
    dtype = SIGN_DTYPES[path][0] if signs else None

    def one_query_block(args):
        qb, rows = args
        qs = _signs(qb, n_bits, dtype) if signs else None

        def step(carry, inp):
            block, start = inp
            if signs:
                d = _matmul_block(qs, _signs(block, n_bits, dtype), n_bits)
            else:
                d = _popcount_block(qb, block)
            idx = start + jnp.arange(bblock, dtype=jnp.int32)
            invalid = (idx >= m)[None, :]
            if exclude_self:
                invalid = invalid | (idx[None, :] == rows[:, None])
            d = jnp.where(invalid, _BIG, d)
            return _merge_topk(*carry, d, start, k, n_bits), None

        init = (
            jnp.full((qb.shape[0], k), _BIG, jnp.int32),
            jnp.full((qb.shape[0], k), -1, jnp.int32),
        )
        starts = jnp.arange(n_bb, dtype=jnp.int32) * bblock
        return jax.lax.scan(step, init, (bpad, starts))[0]

    rows = offset + jnp.arange(qw.shape[0], dtype=jnp.int32)
    return map_blocks(one_query_block, (qw, rows), block_size=qblock)


def knn_blocks(path: str, n: int, m: int, w: int, n_bits: int, k: int, block_size: int | None):
    """(query rows, base rows) per block of the streaming k-NN."""
    if path in SIGN_DTYPES:
        bblock = min(block_size or 4096, m)
        per_row = 4 * 4 * (k + bblock) + 2 * n_bits  # top-k merge temporaries, signs
    else:
        bblock = min(block_size or 1024, m)
        per_row = 4 * 4 * (k + bblock) + 4 * bblock * w
    qblock = max(1, min(n, _BLOCK_BYTES // per_row))
    return qblock, bblock
