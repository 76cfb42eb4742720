"""Packed binary codes: the one data type every part of hamgeo shares.

An activation code is a vector of bits, one per hidden unit (1 where the unit's
pre-activation is positive). hamgeo stores codes packed, 32 bits per ``uint32``
word, little-endian within a word (bit ``i`` of a code is bit ``i % 32`` of word
``i // 32``); padding bits in the last word are zero and never count.

Viewed as bytes on a little-endian machine this is exactly NumPy's
``np.packbits(bits, axis=-1, bitorder="little")`` layout, the layout faiss's
binary indexes use; :func:`to_packbits` and :func:`from_packbits` convert.
"""

from __future__ import annotations

from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np

from hamgeo._checks import check_int

__all__ = [
    "PackedCodes",
    "as_packed",
    "as_packed_batch",
    "from_packbits",
    "n_words",
    "pack_bits",
    "select_bits",
    "to_packbits",
    "unpack_bits",
]

_WORD = 32


def n_words(n_bits: int) -> int:
    """Number of ``uint32`` words that hold ``n_bits`` bits.

    Examples:
        >>> n_words(1), n_words(32), n_words(33)
        (1, 1, 2)
    """
    return -(-int(n_bits) // _WORD)


@flax.struct.dataclass
class PackedCodes:
    """A batch of binary codes packed into ``uint32`` words.

    A registered pytree: ``words`` is the only leaf, ``n_bits`` is static, so a
    ``PackedCodes`` passes through ``jax.jit``, ``jax.vmap`` and ``jax.lax`` loops.

    Attributes:
        words: ``uint32[..., W]`` packed bits, ``W = ceil(n_bits / 32)``, zero padding.
        n_bits: the number of meaningful bits per code (static).

    Examples:
        >>> import jax.numpy as jnp
        >>> codes = pack_bits(jnp.array([[1, 0, 1], [0, 0, 1]], dtype=bool))
        >>> codes.shape, codes.n_bits, codes.words.dtype
        ((2,), 3, dtype('uint32'))
        >>> codes.words[:, 0].tolist()
        [5, 4]
    """

    words: jax.Array
    n_bits: int = flax.struct.field(pytree_node=False)

    @property
    def shape(self) -> tuple[int, ...]:
        """Batch shape: ``words.shape`` without the trailing word axis."""
        return tuple(self.words.shape[:-1])

    @property
    def n_words(self) -> int:
        """Words per code, ``ceil(n_bits / 32)``."""
        return int(self.words.shape[-1])

    @property
    def ndim(self) -> int:
        """Number of batch dimensions."""
        return self.words.ndim - 1

    def __len__(self) -> int:
        if self.words.ndim < 2:
            raise TypeError("len() of a single (unbatched) PackedCodes")
        return int(self.words.shape[0])

    def __getitem__(self, index: Any) -> PackedCodes:
        """Index the batch dimensions; the word axis is kept whole."""
        if not isinstance(index, tuple):
            index = (index,)
        return PackedCodes(self.words[(*index, Ellipsis, slice(None))], self.n_bits)

    def unpack(self) -> jax.Array:
        """The bits as ``bool[..., n_bits]`` (see :func:`unpack_bits`)."""
        return unpack_bits(self)


def _is_tracer(x: Any) -> bool:
    return isinstance(x, jax.core.Tracer)


def pack_bits(bits: Any) -> PackedCodes:
    """Pack a bool / {0, 1} array ``[..., n_bits]`` into :class:`PackedCodes`.

    Args:
        bits: ``bool`` or integer array ``[..., n_bits]`` with values in {0, 1}.
            Floating, complex and other dtypes raise ``TypeError``; eager integer
            inputs holding other values raise ``ValueError``. (Under ``jax.jit``
            values cannot be inspected; there any nonzero value counts as 1.)

    Returns:
        ``PackedCodes`` with ``words: uint32[..., ceil(n_bits / 32)]``.

    Raises:
        TypeError: ``bits`` is not boolean or integer, or is a scalar.
        ValueError: ``bits`` holds values other than 0 and 1.

    Examples:
        >>> import numpy as np
        >>> bits = np.zeros((2, 33), dtype=bool)
        >>> bits[0, 0] = bits[0, 32] = bits[1, 31] = True
        >>> codes = pack_bits(bits)
        >>> codes.words.tolist()
        [[1, 1], [2147483648, 0]]
        >>> bool((unpack_bits(codes) == bits).all())
        True
    """
    if isinstance(bits, PackedCodes):
        return bits
    if not hasattr(bits, "dtype"):
        bits = np.asarray(bits)
    dtype = np.dtype(bits.dtype)
    if dtype != np.bool_ and not np.issubdtype(dtype, np.integer):
        raise TypeError(f"`bits` must be a bool or {{0, 1}} integer array, got dtype {dtype}")
    if bits.ndim < 1:
        raise TypeError(f"`bits` must have at least one axis (the bits), got shape {bits.shape}")
    if dtype != np.bool_ and not _is_tracer(bits):
        host = np.asarray(bits)
        if host.size and ((host != 0) & (host != 1)).any():
            bad = host[(host != 0) & (host != 1)].ravel()[0]
            raise ValueError(f"`bits` must hold only 0 and 1, got the value {bad}")
    return _pack(jnp.asarray(bits))


def _pack(bits: jax.Array) -> PackedCodes:
    n_bits = int(bits.shape[-1])
    w = n_words(n_bits)
    pad = w * _WORD - n_bits
    b = (bits != 0).astype(jnp.uint32)
    if pad:
        b = jnp.pad(b, [(0, 0)] * (b.ndim - 1) + [(0, pad)])
    b = b.reshape(*b.shape[:-1], w, _WORD)
    shifts = jnp.arange(_WORD, dtype=jnp.uint32).reshape((1,) * (b.ndim - 1) + (_WORD,))
    # Distinct bit positions never carry, so the sum is the bitwise OR.
    words = jnp.sum(b << shifts, axis=-1, dtype=jnp.uint32)
    return PackedCodes(words, n_bits)


def unpack_bits(codes: PackedCodes) -> jax.Array:
    """Unpack :class:`PackedCodes` into ``bool[..., n_bits]``.

    Args:
        codes: packed codes.

    Returns:
        ``bool[..., n_bits]``, the exact inverse of :func:`pack_bits`.

    Examples:
        >>> import jax.numpy as jnp
        >>> unpack_bits(pack_bits(jnp.array([1, 1, 0, 1]))).tolist()
        [True, True, False, True]
    """
    if not isinstance(codes, PackedCodes):
        raise TypeError(f"`codes` must be PackedCodes, got {type(codes).__name__}")
    shifts = jnp.arange(_WORD, dtype=jnp.uint32).reshape((1,) * codes.words.ndim + (_WORD,))
    bits = ((codes.words[..., None] >> shifts) & jnp.uint32(1)).astype(bool)
    bits = bits.reshape(*codes.words.shape[:-1], codes.n_words * _WORD)
    return bits[..., : codes.n_bits]


def as_packed(x: Any, name: str = "x") -> PackedCodes:
    """Accept ``PackedCodes`` or a bool / {0, 1} array, and return ``PackedCodes``.

    The API-boundary helper every code-taking function uses: error messages
    name the caller's argument.

    Args:
        x: ``PackedCodes``, or a bool / {0, 1} integer array ``[..., n_bits]``.
        name: the argument's name, for error messages.

    Returns:
        ``PackedCodes``.

    Raises:
        TypeError: ``x`` has a floating or otherwise unsupported dtype, or
            ``PackedCodes`` whose words are not ``uint32``.
        ValueError: ``x`` holds values other than 0 and 1.

    Examples:
        >>> as_packed([[0, 1], [1, 1]]).words[:, 0].tolist()
        [2, 3]
    """
    if isinstance(x, PackedCodes):
        if np.dtype(x.words.dtype) != np.uint32:
            raise TypeError(f"`{name}` words must be uint32, got {x.words.dtype}")
        if x.words.shape[-1] != n_words(x.n_bits):
            raise ValueError(
                f"`{name}` has {x.words.shape[-1]} words per code, "
                f"but n_bits={x.n_bits} needs {n_words(x.n_bits)}"
            )
        return x
    try:
        return pack_bits(x)
    except TypeError as err:
        raise TypeError(str(err).replace("`bits`", f"`{name}`")) from None
    except ValueError as err:
        raise ValueError(str(err).replace("`bits`", f"`{name}`")) from None


def as_packed_batch(x: Any, name: str = "x") -> PackedCodes:
    """Like :func:`as_packed`, for a non-empty batch of codes ``[n, n_bits]``.

    Args:
        x: ``PackedCodes`` with one batch axis, or a bool / {0, 1} array ``[n, n_bits]``.
        name: the argument's name, for error messages.

    Returns:
        ``PackedCodes`` of shape ``(n,)``, ``n >= 1``.

    Raises:
        ValueError: not exactly one batch axis, or no code at all.

    Examples:
        >>> as_packed_batch([[0, 1], [1, 1]]).shape
        (2,)
    """
    codes = as_packed(x, name)
    if codes.ndim != 1:
        raise ValueError(
            f"`{name}` must be a batch of codes [n, n_bits], got batch shape {codes.shape}"
        )
    if codes.shape[0] < 1:
        raise ValueError(f"`{name}` must hold at least one code, got 0")
    return codes


def to_packbits(codes: PackedCodes, bitorder: str = "little") -> np.ndarray:
    """Convert to NumPy's ``packbits`` layout: ``uint8[..., ceil(n_bits / 8)]``.

    With ``bitorder="little"`` (the default, faiss's layout) the result equals
    ``np.packbits(unpack_bits(codes), axis=-1, bitorder="little")``.

    Args:
        codes: packed codes.
        bitorder: ``"little"`` or ``"big"``, as in ``np.packbits``.

    Returns:
        A host ``uint8`` array.

    Examples:
        >>> to_packbits(pack_bits([1, 0, 0, 0, 0, 0, 0, 0, 1])).tolist()
        [1, 1]
    """
    if bitorder not in ("little", "big"):
        raise ValueError(f"`bitorder` must be 'little' or 'big', got {bitorder!r}")
    words = np.asarray(codes.words).astype("<u4")
    n_bytes = -(-codes.n_bits // 8)
    out = words.view(np.uint8).reshape(*words.shape[:-1], 4 * words.shape[-1])[..., :n_bytes]
    if bitorder == "big":
        out = np.packbits(np.unpackbits(out, axis=-1, bitorder="little"), axis=-1)
    return np.ascontiguousarray(out)


def from_packbits(data: Any, n_bits: int, bitorder: str = "little") -> PackedCodes:
    """Read NumPy ``packbits`` bytes ``uint8[..., ceil(n_bits / 8)]`` into ``PackedCodes``.

    Args:
        data: ``uint8`` array as made by ``np.packbits(..., axis=-1, bitorder=bitorder)``.
        n_bits: number of meaningful bits; bits past it must be zero.
        bitorder: ``"little"`` or ``"big"``.

    Returns:
        ``PackedCodes``.

    Raises:
        TypeError: ``data`` is not ``uint8``.
        ValueError: wrong number of bytes, or nonzero padding bits.

    Examples:
        >>> import numpy as np
        >>> bits = np.array([[1, 0, 1, 1, 0, 0, 0, 0, 0, 1]], dtype=bool)
        >>> packed = np.packbits(bits, axis=-1, bitorder="little")
        >>> bool((from_packbits(packed, 10).unpack() == bits).all())
        True
    """
    if bitorder not in ("little", "big"):
        raise ValueError(f"`bitorder` must be 'little' or 'big', got {bitorder!r}")
    data = np.asarray(data)
    if data.dtype != np.uint8:
        raise TypeError(f"`data` must be uint8 (np.packbits output), got {data.dtype}")
    n_bits = int(n_bits)
    n_bytes = -(-n_bits // 8)
    if data.ndim < 1 or data.shape[-1] != n_bytes:
        raise ValueError(
            f"`data` must have shape [..., {n_bytes}] for n_bits={n_bits}, got {data.shape}"
        )
    if bitorder == "big":
        data = np.packbits(np.unpackbits(data, axis=-1), axis=-1, bitorder="little")
    if n_bits % 8 and data.size and (data[..., -1] >> (n_bits % 8)).any():
        raise ValueError(f"`data` has nonzero bits past n_bits={n_bits}")
    w = n_words(n_bits)
    buf = np.zeros((*data.shape[:-1], w * 4), dtype=np.uint8)
    buf[..., :n_bytes] = data
    words = buf.view("<u4").astype(np.uint32)
    return PackedCodes(jnp.asarray(words), n_bits)


def select_bits(codes: Any, start: int, stop: int) -> PackedCodes:
    """The bits ``start:stop`` of every code, repacked (shifts on words, no unpacking).

    Word-level bit surgery: bit ``start + i`` of each code becomes bit ``i`` of the
    result, two shifts and an OR per word; padding bits of the result are zero.
    Used to take one layer's bits out of a whole network's code.

    Args:
        codes: ``PackedCodes`` or bool / {0, 1} array ``[..., n_bits]``.
        start: first bit, ``0 <= start < stop``.
        stop: one past the last bit, ``<= n_bits``.

    Returns:
        ``PackedCodes`` with ``n_bits = stop - start``, same batch shape.

    Raises:
        TypeError: ``codes`` not binary, or ``start`` / ``stop`` not integers.
        ValueError: not ``0 <= start < stop <= n_bits``.

    Examples:
        >>> select_bits([[1, 0, 1, 1]], 1, 4).unpack().astype(int).tolist()
        [[0, 1, 1]]
    """
    c = as_packed(codes, "codes")
    start = check_int(start, "start", minimum=0, maximum=c.n_bits)
    stop = check_int(stop, "stop", minimum=0, maximum=c.n_bits)
    if not 0 <= start < stop <= c.n_bits:
        raise ValueError(
            f"`start` and `stop` must satisfy 0 <= start < stop <= n_bits={c.n_bits}, "
            f"got ({start}, {stop})"
        )
    nb = stop - start
    w = c.words
    q, r = divmod(start, _WORD)
    nw = n_words(nb)
    lo = w[..., q : q + nw]
    if r:
        hi_idx = np.arange(q + 1, q + 1 + nw)
        valid = (hi_idx < w.shape[-1]).astype(np.uint32).reshape((1,) * (w.ndim - 1) + (nw,))
        hi = w[..., np.minimum(hi_idx, w.shape[-1] - 1)] * jnp.asarray(valid)
        if lo.shape[-1] < nw:  # the slice ends inside the last word
            lo = jnp.concatenate(
                [lo, jnp.zeros((*lo.shape[:-1], nw - lo.shape[-1]), jnp.uint32)], axis=-1
            )
        out = (lo >> jnp.uint32(r)) | (hi << jnp.uint32(_WORD - r))
    else:
        out = lo
    if nb % _WORD:
        mask = np.full((nw,), 0xFFFFFFFF, dtype=np.uint32)
        mask[-1] = (1 << (nb % _WORD)) - 1
        out = out & jnp.asarray(mask.reshape((1,) * (out.ndim - 1) + (nw,)))
    return PackedCodes(out, nb)
