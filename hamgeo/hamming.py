"""Hamming distances and nearest neighbours between packed binary codes.

Two formulations of the same exact integer result:

* ``"popcount"``: XOR the packed words and count the set bits
  (``lax.population_count``), summed over words; on CPU a native kernel
  (:mod:`hamgeo._native`, registered through ``jax.ffi``) runs it when built.
* ``"matmul"``: with signs s = 1 - 2b, d_H(x, y) = (n - s_x . s_y) / 2, a ±1 matrix
  product (int8 operands with int32 accumulation, or bf16 operands with f32
  accumulation, exact while n <= 2^24) that runs on GPU/TPU matrix units.

Everything is blocked: no ``[N, M, W]`` temporary is ever formed, and
:func:`hamming_knn` streams over the base with a running top-k so its memory is
``O(block * (k + block))`` whatever the sizes. Truncated Hamming
d_{H,θ} = min(d_H, θ) is the metric of the discriminability paper's appendix.
"""

from __future__ import annotations

import functools
import numbers
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec

from hamgeo import _native
from hamgeo.codes import PackedCodes, as_packed

__all__ = ["hamming_knn", "pairwise_hamming"]

_METHODS = ("auto", "popcount", "matmul", "native", "xla")
# Temporaries per block stay near this many bytes.
_BLOCK_BYTES = 32 * 2**20
_BIG = np.iinfo(np.int32).max


# ----------------------------------------------------------------------------- validation


def _codes(x: Any, name: str) -> PackedCodes:
    """``PackedCodes`` with exactly one batch axis ``[N]``, or a clear error."""
    if not isinstance(x, PackedCodes) and not hasattr(x, "dtype"):
        x = np.asarray(x)
    if not isinstance(x, PackedCodes) and getattr(x, "ndim", 0) != 2:
        raise ValueError(
            f"`{name}` must be a 2-D bool/{{0, 1}} array [n, n_bits] or PackedCodes, "
            f"got shape {tuple(x.shape)}"
        )
    codes = as_packed(x, name)
    if codes.words.ndim != 2:
        raise ValueError(
            f"`{name}` must be PackedCodes with one batch axis (words [n, W]), "
            f"got words of shape {tuple(codes.words.shape)}; use jax.vmap for more axes"
        )
    return codes


def _pair(x: Any, y: Any, xname: str, yname: str) -> tuple[PackedCodes, PackedCodes]:
    x = _codes(x, xname)
    y = x if y is None else _codes(y, yname)
    if x.n_bits != y.n_bits:
        raise ValueError(
            f"`{xname}` and `{yname}` must have the same n_bits, got {x.n_bits} and {y.n_bits}"
        )
    return x, y


def _positive_int(value: Any, name: str, allow_none: bool = True) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be a positive int, got {value!r}")
    if value < 1:
        raise ValueError(f"`{name}` must be >= 1, got {value}")
    return int(value)


def _check_method(method: Any) -> str:
    if method not in _METHODS:
        raise ValueError(f"`method` must be one of {_METHODS}, got {method!r}")
    return method


# ----------------------------------------------------------------------------- XLA kernels


def _popcount_block(xw: jax.Array, yw: jax.Array) -> jax.Array:
    """``int32[b, M]`` distances, XOR + popcount, one fused reduction."""
    diff = jax.lax.population_count(xw[:, None, :] ^ yw[None, :, :])
    return jnp.sum(diff.astype(jnp.int32), axis=-1, dtype=jnp.int32)


def _signs(words: jax.Array, n_bits: int, dtype: Any) -> jax.Array:
    """±1 signs ``[n, n_bits]`` (bit 1 -> -1) in ``dtype``."""
    shifts = jnp.arange(32, dtype=jnp.uint32).reshape(1, 1, 32)
    bits = (words[:, :, None] >> shifts) & jnp.uint32(1)
    bits = bits.reshape(words.shape[0], words.shape[1] * 32)[:, :n_bits]
    return (1 - 2 * bits.astype(jnp.int32)).astype(dtype)


def _matmul_dtypes() -> tuple[Any, Any]:
    # TPUs multiply bf16 natively; int8 with int32 accumulation elsewhere.
    if jax.default_backend() == "tpu":
        return jnp.bfloat16, jnp.float32
    return jnp.int8, jnp.int32


def _matmul_block(xs: jax.Array, ys: jax.Array, n_bits: int) -> jax.Array:
    acc = jnp.int32 if xs.dtype == jnp.int8 else jnp.float32
    dot = jax.lax.dot_general(xs, ys, (((1,), (1,)), ((), ())), preferred_element_type=acc).astype(
        jnp.int32
    )
    return (n_bits - dot) // 2


def _row_block(n_rows: int, row_bytes: int, block_size: int | None) -> int:
    """Rows per block: ``block_size``, or as many as keep temporaries near 32 MiB."""
    if block_size is not None:
        return max(1, min(block_size, max(n_rows, 1)))
    b = _BLOCK_BYTES // max(1, row_bytes)
    return int(max(1, min(b, 4096, max(n_rows, 1))))


def _map_rows(fn, xw: jax.Array, block: int) -> jax.Array:
    """Apply ``fn`` to blocks of ``block`` rows of ``xw`` and stack the results."""
    n = xw.shape[0]
    if n <= block:
        return fn(xw)
    n_blocks = -(-n // block)
    pad = n_blocks * block - n
    xp = jnp.pad(xw, ((0, pad), (0, 0)))
    out = jax.lax.map(fn, xp.reshape(n_blocks, block, xw.shape[1]))
    return out.reshape(n_blocks * block, *out.shape[2:])[:n]


@functools.partial(jax.jit, static_argnames=("n_bits", "truncate", "method", "block"))
def _pairwise_xla(xw, yw, *, n_bits, truncate, method, block):
    if method == "matmul":
        dtype, _ = _matmul_dtypes()
        ys = _signs(yw, n_bits, dtype)
        d = _map_rows(lambda b: _matmul_block(_signs(b, n_bits, dtype), ys, n_bits), xw, block)
    else:
        d = _map_rows(lambda b: _popcount_block(b, yw), xw, block)
    if truncate is not None:
        d = jnp.minimum(d, jnp.int32(truncate))
    return d


def _resolve(method: str, n: int, m: int, n_bits: int) -> str:
    """The concrete path for ``method`` on this backend (see docs/concepts/codes.md)."""
    backend = jax.default_backend()
    if method == "xla":
        return "popcount_xla"
    if method == "native":
        if not _native.available():
            raise ValueError(f"`method`='native' needs the native kernel: {_native.describe()}")
        return "native"
    if method == "popcount":
        return "native" if backend == "cpu" and _native.available() else "popcount_xla"
    if method == "matmul":
        return "matmul"
    # auto. CPU: the native kernel does 2.3-2.7x the work of XLA's fused popcount
    # per CPU-second at 64 to 1024 bits (docs/concepts/codes.md). GPU/TPU: the ±1
    # product runs on the matrix units.
    if backend == "cpu":
        return "native" if _native.available() else "popcount_xla"
    return "matmul"


def _sharded_rows(arr: Any) -> NamedSharding | None:
    """The NamedSharding of a concrete array sharded along its first axis, else None."""
    if isinstance(arr, jax.core.Tracer):
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


# ----------------------------------------------------------------------------- public API


def pairwise_hamming(
    x: Any,
    y: Any = None,
    *,
    truncate: int | None = None,
    method: str = "auto",
    block_size: int | None = None,
) -> jax.Array:
    """Exact Hamming distances ``int32[N, M]`` between two batches of codes.

    d_H(x, y) = #{i : x_i != y_i}; with ``truncate=θ`` the truncated Hamming
    distance d_{H,θ} = min(d_H, θ) of the discriminability paper's appendix
    ("samples in the Hamming space of binarized ReLU activations").

    Args:
        x: ``PackedCodes`` ``[N]`` or a bool / {0, 1} array ``[N, n_bits]``.
        y: the same for ``[M]`` codes with the same ``n_bits``; ``None`` means ``x``.
        truncate: ``θ >= 1`` to return ``min(d_H, θ)``; ``None`` for plain d_H.
        method: ``"auto"`` (the fastest exact path for the backend, see
            docs/concepts/codes.md), ``"popcount"`` (XOR + popcount: the native
            CPU kernel when built, else XLA), ``"xla"`` (XLA XOR + popcount),
            ``"native"`` (the native CPU kernel; error if not built) or
            ``"matmul"`` (±1 matrix product).
        block_size: rows of ``x`` per block (XLA paths); ``None`` picks blocks
            whose temporaries stay near 32 MiB.

    Returns:
        ``int32[N, M]``. If ``x`` is a concrete array sharded by rows over a mesh
        (``NamedSharding``), the result is sharded by rows the same way.

    Raises:
        TypeError: float codes; non-integer ``truncate`` / ``block_size``.
        ValueError: values other than 0/1, a rank other than 2 (arrays) or 1
            (``PackedCodes`` batch), different ``n_bits``, ``truncate < 1``,
            ``block_size < 1``, an unknown ``method``.

    Examples:
        >>> pairwise_hamming([[1, 0, 1]], [[0, 0, 1], [1, 0, 1]]).tolist()
        [[1, 0]]
        >>> pairwise_hamming([[1, 1, 1, 1], [0, 0, 0, 0]], truncate=3).tolist()
        [[0, 3], [3, 0]]
    """
    x, y = _pair(x, y, "x", "y")
    truncate = _positive_int(truncate, "truncate")
    block_size = _positive_int(block_size, "block_size")
    method = _check_method(method)
    n, m, w = x.words.shape[0], y.words.shape[0], x.words.shape[1]
    if n == 0 or m == 0:
        return jnp.zeros((n, m), jnp.int32)
    path = _resolve(method, n, m, x.n_bits)

    def compute(xw, yw):
        if path == "native":
            return _native.pairwise(xw, yw, truncate=truncate)
        m_rows = yw.shape[0]
        # matmul: unpacked bits and signs of a row plus its output row; popcount: the
        # [row, M, W] XOR that XLA normally fuses away, as a worst case.
        row_bytes = 8 * x.n_bits + 4 * m_rows if path == "matmul" else 4 * m_rows * w
        block = _row_block(xw.shape[0], row_bytes, block_size)
        return _pairwise_xla(xw, yw, n_bits=x.n_bits, truncate=truncate, method=path, block=block)

    sharding = _sharded_rows(x.words)
    if sharding is None:
        return compute(x.words, y.words)
    rows = sharding.spec[0]
    fn = jax.shard_map(
        compute,
        mesh=sharding.mesh,
        in_specs=(PartitionSpec(rows, None), PartitionSpec()),
        out_specs=PartitionSpec(rows, None),
        check_vma=False,
    )
    return jax.jit(fn)(x.words, _replicated(y.words, sharding.mesh))


def _merge_topk(best_d, best_i, d, idx, k):
    """Keep the ``k`` smallest of the running best and a new block, ties by index.

    ``lax.top_k`` keeps the lower position first among equal keys; the running
    best comes first and holds smaller base indices, so ties go to the smaller index.
    """
    all_d = jnp.concatenate([best_d, d], axis=1)
    all_i = jnp.concatenate([best_i, jnp.broadcast_to(idx[None, :], d.shape)], axis=1)
    neg, pos = jax.lax.top_k(-all_d, k)
    return -neg, jnp.take_along_axis(all_i, pos, axis=1)


@functools.partial(jax.jit, static_argnames=("k", "exclude_self", "qblock", "bblock"))
def _knn_xla(qw, bw, offset, *, k, exclude_self, qblock, bblock):
    m, w = bw.shape
    n_bb = -(-m // bblock)
    bpad = jnp.pad(bw, ((0, n_bb * bblock - m), (0, 0))).reshape(n_bb, bblock, w)

    def one_query_block(args):
        qb, rows = args

        def step(carry, inp):
            best_d, best_i = carry
            block, start = inp
            d = _popcount_block(qb, block)
            idx = start + jnp.arange(bblock, dtype=jnp.int32)
            invalid = (idx >= m)[None, :]
            if exclude_self:
                invalid = invalid | (idx[None, :] == rows[:, None])
            d = jnp.where(invalid, _BIG, d)
            return _merge_topk(best_d, best_i, d, idx, k), None

        init = (
            jnp.full((qb.shape[0], k), _BIG, jnp.int32),
            jnp.full((qb.shape[0], k), -1, jnp.int32),
        )
        starts = jnp.arange(n_bb, dtype=jnp.int32) * bblock
        (best_d, best_i), _ = jax.lax.scan(step, init, (bpad, starts))
        return best_d, best_i

    n = qw.shape[0]
    rows = offset + jnp.arange(n, dtype=jnp.int32)
    if n <= qblock:
        return one_query_block((qw, rows))
    n_qb = -(-n // qblock)
    pad = n_qb * qblock - n
    qp = jnp.pad(qw, ((0, pad), (0, 0))).reshape(n_qb, qblock, w)
    rp = jnp.pad(rows, (0, pad), constant_values=-1).reshape(n_qb, qblock)
    d, i = jax.lax.map(one_query_block, (qp, rp))
    return d.reshape(-1, k)[:n], i.reshape(-1, k)[:n]


def hamming_knn(
    queries: Any,
    base: Any,
    k: int,
    *,
    exclude_self: bool = False,
    block_size: int | None = None,
) -> tuple[jax.Array, jax.Array]:
    """The ``k`` nearest codes of ``base`` to each query, in Hamming distance.

    Streams over ``base`` in blocks with a running top-k: memory is
    ``O(N * (k + block))``, never ``N x M``. Used for the k-NN categorization
    of neural codes in "neural networks behave as hash encoders".

    Args:
        queries: ``PackedCodes`` ``[N]`` or a bool / {0, 1} array ``[N, n_bits]``.
        base: the same for ``[M]`` codes with the same ``n_bits``.
        k: number of neighbours, ``1 <= k <= M`` (``<= M - 1`` with ``exclude_self``).
        exclude_self: ``queries`` are ``base`` (same rows, ``N == M``): query ``i``
            is never its own neighbour (index ``i`` is skipped, not equal codes).
        block_size: base codes per block (XLA path); ``None`` picks a default.

    Returns:
        ``(distances int32[N, k], indices int32[N, k])``, ascending in distance,
        ties broken by the smaller base index. With ``queries`` sharded by rows
        over a mesh, both come back sharded by rows (``jax.shard_map`` per
        query shard, ``base`` replicated).

    Raises:
        TypeError: float codes; non-integer ``k`` / ``block_size``.
        ValueError: bad values or ranks, different ``n_bits``, ``k`` out of
            range, ``exclude_self`` with ``N != M``, ``block_size < 1``.

    Examples:
        >>> base = [[0, 0, 0], [1, 1, 1], [1, 0, 0], [0, 1, 0]]
        >>> d, i = hamming_knn([[1, 0, 0]], base, k=3)
        >>> d.tolist(), i.tolist()
        ([[0, 1, 2]], [[2, 0, 1]])
        >>> d, i = hamming_knn(base, base, k=1, exclude_self=True)
        >>> i[:, 0].tolist()
        [2, 2, 0, 0]
    """
    q, b = _pair(queries, base, "queries", "base")
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise TypeError(f"`k` must be an int, got {k!r}")
    block_size = _positive_int(block_size, "block_size")
    n, m = q.words.shape[0], b.words.shape[0]
    if exclude_self and n != m:
        raise ValueError(
            f"`exclude_self=True` needs `queries` to be `base` (same length), got {n} and {m}"
        )
    limit = m - 1 if exclude_self else m
    if k < 1 or k > limit:
        raise ValueError(
            f"`k` must be in [1, {limit}] for a base of {m} codes"
            f"{' with exclude_self' if exclude_self else ''}, got {k}"
        )
    k = int(k)
    if n == 0:
        return jnp.zeros((0, k), jnp.int32), jnp.zeros((0, k), jnp.int32)
    use_native = jax.default_backend() == "cpu" and _native.available()
    w = q.words.shape[1]

    def compute(qw, bw):
        offset = jnp.int32(0)
        if sharding is not None:
            offset = jax.lax.axis_index(axes) * qw.shape[0]
        if use_native:
            return _native.knn(qw, bw, offset, k=k, exclude_self=exclude_self)
        bblock = min(block_size or 1024, m)
        qblock = max(1, min(qw.shape[0], _BLOCK_BYTES // (4 * (k + bblock) * 4 + 4 * bblock * w)))
        return _knn_xla(
            qw,
            bw,
            offset.astype(jnp.int32),
            k=k,
            exclude_self=exclude_self,
            qblock=qblock,
            bblock=bblock,
        )

    sharding = _sharded_rows(q.words)
    if sharding is None:
        return compute(q.words, b.words)
    rows = sharding.spec[0]
    axes = rows if isinstance(rows, tuple) else (rows,)
    fn = jax.shard_map(
        compute,
        mesh=sharding.mesh,
        in_specs=(PartitionSpec(rows, None), PartitionSpec()),
        out_specs=(PartitionSpec(rows, None), PartitionSpec(rows, None)),
        check_vma=False,
    )
    return jax.jit(fn)(q.words, _replicated(b.words, sharding.mesh))
