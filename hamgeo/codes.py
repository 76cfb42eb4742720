"""Packed binary codes: the one data type every part of hamgeo shares.

An activation code is a vector of bits, one per hidden unit (1 where the unit's
pre-activation is positive). hamgeo stores codes packed, 32 bits per ``uint32``
word, little-endian within a word (bit ``i`` of a code is bit ``i % 32`` of word
``i // 32``).

**The padding invariant.** The bits of the last word past ``n_bits`` are zero, so they
never count: [`PackedCodes`][hamgeo.codes.PackedCodes] *masks* them off when it is
constructed (one AND on the words; a friendlier choice than rejecting words a shift or a
bitwise NOT produced).
Every consumer can then rely on zero padding: the popcount kernels, the ±1 products,
[`to_packbits`][hamgeo.codes.to_packbits], the cell counts and the distances between
samples. Only JAX's own pytree reconstruction (``tree_unflatten``, inside ``jit``,
``vmap``, ``scan``) skips the mask, because the leaves it passes back came from a valid
``PackedCodes``; words built by hand go through the constructor.

Viewed as bytes on a little-endian machine this is exactly NumPy's
``np.packbits(bits, axis=-1, bitorder="little")`` layout, the layout faiss's
binary indexes use; [`to_packbits`][hamgeo.codes.to_packbits] and
[`from_packbits`][hamgeo.codes.from_packbits] convert.
"""

from __future__ import annotations

from typing import Any, Literal, Union

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from hamgeo._checks import (
    check_array,
    check_choice,
    check_int,
    check_nonnegative_int,
    check_not_traced,
    describe,
    is_tracer,
)

__all__ = [
    "CodesLike",
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


def _padding_mask(n_bits: int) -> np.ndarray | None:
    """``uint32[W]``: all ones but the padding bits of the last word; None without padding."""
    if n_bits % _WORD == 0:
        return None
    mask = np.full((n_words(n_bits),), 0xFFFFFFFF, dtype=np.uint32)
    mask[-1] = (1 << (n_bits % _WORD)) - 1
    return mask


def _valid_words(words: Any, n_bits: int) -> Any:
    """``words`` with the padding bits past ``n_bits`` zeroed (see the module docstring).

    Words of the wrong dtype or width are kept as they are: [`as_packed`][hamgeo.codes.as_packed]
    rejects
    them where they are used, with the name of the argument they came in.
    """
    mask = _padding_mask(n_bits)
    if mask is None or not isinstance(words, np.ndarray | jax.Array):
        return words  # no padding, or a pytree placeholder / ShapeDtypeStruct
    if words.dtype != np.uint32 or words.ndim < 1 or words.shape[-1] != mask.shape[0]:
        return words
    mask = mask.reshape((1,) * (words.ndim - 1) + mask.shape)  # no implicit rank promotion
    if isinstance(words, np.ndarray):
        return words & mask
    return words & jnp.asarray(mask)  # concrete arrays and tracers alike


@jax.tree_util.register_pytree_with_keys_class
class PackedCodes:
    """A batch of binary codes packed into ``uint32`` words.

    A registered pytree: ``words`` is the only leaf, ``n_bits`` is static, so a
    ``PackedCodes`` passes through ``jax.jit``, ``jax.vmap`` and ``jax.lax`` loops.
    The constructor zeroes the padding bits past ``n_bits`` (the padding invariant,
    see the module docstring), so hand-made words never count garbage bits.

    Args:
        words: ``uint32[..., W]`` packed bits, ``W = ceil(n_bits / 32)``.
        n_bits: the number of meaningful bits per code (static), ``>= 0``.

    Attributes:
        words: ``uint32[..., W]`` packed bits, zero padding.
        n_bits: the number of meaningful bits per code.

    Raises:
        TypeError: ``n_bits`` is not an integer.
        ValueError: ``n_bits`` outside ``[0, 2**31 - 1]``. (Words of another dtype or
            width are rejected where they are used, by [`as_packed`][hamgeo.codes.as_packed],
            naming the
            argument.)

    Examples:
        >>> import jax.numpy as jnp
        >>> codes = pack_bits(jnp.array([[1, 0, 1], [0, 0, 1]], dtype=bool))
        >>> codes.shape, codes.n_bits, codes.words.dtype
        ((2,), 3, dtype('uint32'))
        >>> codes.words[:, 0].tolist()
        [5, 4]
        >>> PackedCodes(jnp.array([[0xFF]], jnp.uint32), 3).words.tolist()  # padding masked
        [[7]]
    """

    __slots__ = ("n_bits", "words")
    words: jax.Array
    n_bits: int

    def __init__(self, words: Any, n_bits: int):
        n_bits = check_nonnegative_int(n_bits, "n_bits")
        object.__setattr__(self, "words", _valid_words(words, n_bits))
        object.__setattr__(self, "n_bits", n_bits)

    @classmethod
    def _trusted(cls, words: Any, n_bits: int) -> PackedCodes:
        """Wrap words known to be valid (zero padding), without checks or the mask."""
        obj = object.__new__(cls)
        object.__setattr__(obj, "words", words)
        object.__setattr__(obj, "n_bits", n_bits)
        return obj

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"PackedCodes is immutable; cannot set `{name}`")

    def __reduce__(self):
        return (PackedCodes._trusted, (self.words, self.n_bits))

    def __repr__(self) -> str:
        return f"PackedCodes(words={self.words!r}, n_bits={self.n_bits})"

    # -- pytree --------------------------------------------------------------------------
    def tree_flatten(self):
        """The ``words`` leaf and the static ``n_bits``."""
        return (self.words,), self.n_bits

    def tree_flatten_with_keys(self):
        """Like ``tree_flatten``, with the leaf's key path ``.words``."""
        return ((jax.tree_util.GetAttrKey("words"), self.words),), self.n_bits

    @classmethod
    def tree_unflatten(cls, n_bits: int, leaves: Any) -> PackedCodes:
        """Rebuild from leaves JAX passes back (no re-masking: they came from a valid one)."""
        return cls._trusted(leaves[0], n_bits)

    # -- array-like ------------------------------------------------------------------------
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
        """Index the batch dimensions; the word axis is kept whole.

        Concrete integer indices out of range raise ``IndexError`` like NumPy
        (JAX would clamp them silently).
        """
        if not isinstance(index, tuple):
            index = (index,)
        _check_index(index, self.shape)
        if any(i is Ellipsis for i in index):  # spell it out: the word axis gets its own
            at = next(p for p, i in enumerate(index) if i is Ellipsis)
            used = sum(_axes_used(i) for i in index if i is not Ellipsis)
            index = (*index[:at], *[slice(None)] * (self.ndim - used), *index[at + 1 :])
        return PackedCodes._trusted(self.words[(*index, Ellipsis, slice(None))], self.n_bits)

    def unpack(self) -> jax.Array:
        """The bits as ``bool[..., n_bits]`` (see [`unpack_bits`][hamgeo.codes.unpack_bits])."""
        return unpack_bits(self)


CodesLike = Union[PackedCodes, ArrayLike]  # noqa: UP007 (ArrayLike is itself a Union)
"""Codes as hamgeo's functions accept them: [`PackedCodes`][hamgeo.codes.PackedCodes], or a bool /
{0, 1}
integer array ``[..., n_bits]`` that they pack."""


def _check_index(index: tuple, shape: tuple[int, ...]) -> None:
    """Raise ``IndexError`` for concrete integer indices out of range of ``shape``."""
    n_ellipsis = sum(1 for i in index if i is Ellipsis)
    if n_ellipsis > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    consumed = sum(_axes_used(i) for i in index if i is not Ellipsis)
    if consumed > len(shape):
        raise IndexError(
            f"too many indices for PackedCodes of batch shape {shape}: {consumed} were indexed"
        )
    axis = 0
    for pos, item in enumerate(index):
        if item is Ellipsis:
            rest = sum(_axes_used(i) for i in index[pos + 1 :])
            axis = len(shape) - rest
            continue
        used = _axes_used(item)
        if used == 1 and not is_tracer(item):
            _check_integer_index(item, shape[axis], axis)
        axis += used


def _axes_used(item: Any) -> int:
    if item is None:
        return 0
    dtype = getattr(item, "dtype", None)
    if dtype is not None and np.dtype(dtype) == np.bool_:
        return int(getattr(item, "ndim", 1))
    return 1


def _check_integer_index(item: Any, size: int, axis: int) -> None:
    if isinstance(item, bool | np.bool_ | slice):
        return
    if isinstance(item, int | np.integer):
        values = np.asarray([int(item)])
    elif isinstance(item, np.ndarray | jax.Array) and np.issubdtype(item.dtype, np.integer):
        values = np.asarray(item).ravel()
    elif isinstance(item, list) and item and all(isinstance(v, int | np.integer) for v in item):
        values = np.asarray(item).ravel()
    else:
        return
    bad = values[(values >= size) | (values < -size)]
    if bad.size:
        raise IndexError(f"index {int(bad[0])} is out of bounds for axis {axis} with size {size}")


def pack_bits(bits: ArrayLike) -> PackedCodes:
    """Pack a bool / {0, 1} array ``[..., n_bits]`` into [`PackedCodes`][hamgeo.codes.PackedCodes].

    Args:
        bits: ``bool`` or integer array ``[..., n_bits]`` with values in {0, 1}.
            Floating, complex and other dtypes raise ``TypeError``; eager integer
            inputs holding other values raise ``ValueError``. (Under ``jax.jit``
            values cannot be inspected; there any nonzero value counts as 1.)

    Returns:
        ``PackedCodes`` with ``words: uint32[..., ceil(n_bits / 32)]``.

    Traceable: jit, vmap

    Raises:
        TypeError: ``bits`` is not boolean or integer, is a scalar, or is not a
            rectangular array (ragged nested lists).
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
    if not isinstance(bits, jax.Array | np.ndarray | np.generic):
        bits = check_array(bits, "bits")  # nested lists: a ragged one is refused by name
    dtype = np.dtype(bits.dtype)
    if dtype != np.bool_ and not np.issubdtype(dtype, np.integer):
        raise TypeError(f"`bits` must be a bool or {{0, 1}} integer array, got dtype {dtype}")
    if bits.ndim < 1:
        raise TypeError(f"`bits` must have at least one axis (the bits), got shape {bits.shape}")
    if dtype != np.bool_ and not is_tracer(bits):
        host = np.asarray(bits)
        if host.size and ((host != 0) & (host != 1)).any():
            bad = host[(host != 0) & (host != 1)].ravel()[0]
            raise ValueError(f"`bits` must hold only 0 and 1, got the value {bad}")
    return _pack(jnp.asarray(bits))


@jax.jit
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
    return PackedCodes._trusted(words, n_bits)


def unpack_bits(codes: PackedCodes) -> jax.Array:
    """Unpack [`PackedCodes`][hamgeo.codes.PackedCodes] into ``bool[..., n_bits]``.

    Args:
        codes: packed codes.

    Returns:
        ``bool[..., n_bits]``, the exact inverse of [`pack_bits`][hamgeo.codes.pack_bits].

    Traceable: jit, vmap

    Raises:
        TypeError: ``codes`` is not ``PackedCodes``, or its words are not ``uint32``.
        ValueError: its words per code do not match ``n_bits``.

    Examples:
        >>> import jax.numpy as jnp
        >>> unpack_bits(pack_bits(jnp.array([1, 1, 0, 1]))).tolist()
        [True, True, False, True]
    """
    if not isinstance(codes, PackedCodes):
        raise TypeError(f"`codes` must be PackedCodes, got {type(codes).__name__}")
    return _unpack(_checked_words(codes, "codes"))


@jax.jit
def _unpack(codes: PackedCodes) -> jax.Array:
    shifts = jnp.arange(_WORD, dtype=jnp.uint32).reshape((1,) * codes.words.ndim + (_WORD,))
    bits = ((codes.words[..., None] >> shifts) & jnp.uint32(1)).astype(bool)
    bits = bits.reshape(*codes.words.shape[:-1], codes.n_words * _WORD)
    return bits[..., : codes.n_bits]


def _checked_words(codes: PackedCodes, name: str) -> PackedCodes:
    """``codes`` if its words are ``uint32[..., n_words(n_bits)]``, else a clear error.

    The one check of hand-made words, shared by every consumer (the constructor keeps
    them as they are, see [`PackedCodes`][hamgeo.codes.PackedCodes]). Dtype and shape are
    static, so it runs under ``jax.jit`` too.
    """
    words = codes.words
    if not hasattr(words, "dtype") or np.dtype(words.dtype) != np.uint32:
        raise TypeError(f"`{name}` words must be uint32, got {describe(words)}")
    if words.ndim < 1 or words.shape[-1] != n_words(codes.n_bits):
        got = words.shape[-1] if words.ndim else "no axis of"
        raise ValueError(
            f"`{name}` has {got} words per code, "
            f"but n_bits={codes.n_bits} needs {n_words(codes.n_bits)}"
        )
    return codes


def as_packed(x: CodesLike, name: str = "x") -> PackedCodes:
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
        return _checked_words(x, name)
    try:
        return pack_bits(x)
    except TypeError as err:
        raise TypeError(str(err).replace("`bits`", f"`{name}`")) from None
    except ValueError as err:
        raise ValueError(str(err).replace("`bits`", f"`{name}`")) from None


def as_packed_batch(x: CodesLike, name: str = "x") -> PackedCodes:
    """Like [`as_packed`][hamgeo.codes.as_packed], for a non-empty batch of codes ``[n, n_bits]``.

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


BitOrder = Literal["little", "big"]


def to_packbits(codes: CodesLike, bitorder: BitOrder = "little") -> np.ndarray:
    """Convert to NumPy's ``packbits`` layout: ``uint8[..., ceil(n_bits / 8)]``.

    With ``bitorder="little"`` (the default, faiss's layout) the result equals
    ``np.packbits(unpack_bits(codes), axis=-1, bitorder="little")``.

    Args:
        codes: packed codes (or a bool / {0, 1} array, packed first).
        bitorder: ``"little"`` or ``"big"``, as in ``np.packbits``.

    Returns:
        A host ``uint8`` array.

    Host-only: it returns a NumPy array (a hamgeo ``TypeError`` under a trace).

    Raises:
        TypeError: ``codes`` are not codes.
        ValueError: an unknown ``bitorder``.

    Examples:
        >>> to_packbits(pack_bits([1, 0, 0, 0, 0, 0, 0, 0, 1])).tolist()
        [1, 1]
    """
    check_not_traced("to_packbits", codes.words if isinstance(codes, PackedCodes) else codes)
    bitorder = check_choice("bitorder", bitorder, ("little", "big"))
    codes = as_packed(codes, "codes")
    words = np.asarray(codes.words).astype("<u4")
    n_bytes = -(-codes.n_bits // 8)
    out = words.view(np.uint8).reshape(*words.shape[:-1], 4 * words.shape[-1])[..., :n_bytes]
    if bitorder == "big":
        out = np.packbits(np.unpackbits(out, axis=-1, bitorder="little"), axis=-1)
    return np.ascontiguousarray(out)


def from_packbits(data: ArrayLike, n_bits: int, bitorder: BitOrder = "little") -> PackedCodes:
    """Read NumPy ``packbits`` bytes ``uint8[..., ceil(n_bits / 8)]`` into ``PackedCodes``.

    Args:
        data: ``uint8`` array as made by ``np.packbits(..., axis=-1, bitorder=bitorder)``.
        n_bits: number of meaningful bits, ``>= 0``; bits past it must be zero.
        bitorder: ``"little"`` or ``"big"``.

    Returns:
        ``PackedCodes``.

    Host-only: it reads NumPy bytes (a hamgeo ``TypeError`` under a trace).

    Raises:
        TypeError: ``data`` is not ``uint8``; ``n_bits`` is not an integer.
        TypeError: ``data`` is not a rectangular array (ragged nested lists).
        ValueError: wrong number of bytes, nonzero padding bits, ``n_bits`` outside
            ``[0, 2**31 - 1]``.

    Examples:
        >>> import numpy as np
        >>> bits = np.array([[1, 0, 1, 1, 0, 0, 0, 0, 0, 1]], dtype=bool)
        >>> packed = np.packbits(bits, axis=-1, bitorder="little")
        >>> bool((from_packbits(packed, 10).unpack() == bits).all())
        True
    """
    check_not_traced("from_packbits", data, n_bits)
    bitorder = check_choice("bitorder", bitorder, ("little", "big"))
    n_bits = check_nonnegative_int(n_bits, "n_bits")
    data = np.asarray(check_array(data, "data"))
    if data.dtype != np.uint8:
        raise TypeError(f"`data` must be uint8 (np.packbits output), got {data.dtype}")
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
    return PackedCodes._trusted(jnp.asarray(words), n_bits)


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

    Traceable: jit, vmap (``start`` and ``stop`` static)

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
