"""Distinct codes: cell counts and the redundancy ratio, per layer too (private)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

import jax
import jax.numpy as jnp
import numpy as np

from hamgeo._checks import describe
from hamgeo.codes import CodesLike, PackedCodes, as_packed, select_bits
from hamgeo.regions._unique import bucketed_unique_ids

__all__ = [
    "count_regions",
    "count_regions_per_layer",
    "redundancy_ratio",
    "redundancy_ratio_per_layer",
    "region_ids",
]

LayerSlices: TypeAlias = slice | Sequence[slice | tuple[int, int]]
"""One bit range per layer: ``slice`` objects or ``(start, stop)`` pairs."""


def _flat_words(codes: CodesLike, name: str = "codes") -> PackedCodes:
    c = as_packed(codes, name)
    if c.words.ndim < 2:
        raise ValueError(f"`{name}` must be a batch of codes [n, n_bits], got a single code")
    if c.words.shape[:-1] and min(c.words.shape[:-1]) == 0:  # zero-bit codes are fine
        raise ValueError(f"`{name}` must hold at least one code, got batch shape {c.shape}")
    n = int(np.prod(c.shape))  # explicit: reshape(-1, 0) cannot infer n for zero-bit codes
    return PackedCodes(c.words.reshape(n, c.words.shape[-1]), c.n_bits)


def region_ids(codes: CodesLike) -> tuple[jax.Array, jax.Array]:
    """Number of distinct codes and a dense cell id for each code.

    Equal codes get equal ids in ``0 .. count - 1`` (ids follow the lexicographic
    or hash order of the codes, not their first appearance).

    Traceable: jit, vmap

    Args:
        codes: ``PackedCodes`` or bool / {0, 1} array ``[..., n_bits]`` (batch axes
            are flattened).

    Returns:
        ``(count, ids)``: ``int32`` scalar and ``int32[n]``.

    Examples:
        >>> count, ids = region_ids([[1, 0], [0, 1], [1, 0]])
        >>> int(count), bool(ids[0] == ids[2]), bool(ids[0] != ids[1])
        (2, True, True)
    """
    c = _flat_words(codes)
    return bucketed_unique_ids(c.words)


def count_regions(codes: CodesLike) -> jax.Array:
    """Number of distinct codes, i.e. cells of the tessellation the sample meets.

    Computed on device by sorting packed words (a 64-bit hash, verified against the
    words; an exact lexicographic sort if two different codes ever share a hash):
    no Python loop over samples, ``O(n log n)`` time, ``O(n W)`` memory. The
    hash-encoder paper's count of distinct codes ([Hash-Encoders]).

    Traceable: jit, vmap (no ``size=`` bound needed: the count is a scalar; under a
    trace the exact fallback is a ``lax.cond`` branch).

    Args:
        codes: ``PackedCodes`` or bool / {0, 1} array ``[n, n_bits]`` (further batch
            axes are flattened), at least one code. Zero-bit codes are all equal: one
            cell.

    Returns:
        ``int32`` scalar.

    Raises:
        TypeError: ``codes`` is not binary.
        ValueError: ``codes`` is a single code or empty.

    Examples:
        >>> int(count_regions([[1, 0, 1], [1, 0, 1], [0, 0, 1]]))
        2
    """
    return region_ids(codes)[0]


def redundancy_ratio(codes: CodesLike) -> jax.Array:
    """Redundancy ratio ``(n - m) / n`` with ``m`` the number of distinct codes.

    The hash-encoder paper's measure of determinism ([Hash-Encoders], see
    ``docs/references.md``): near zero when almost every example has its own
    activation code.

    Traceable: jit, vmap

    Args:
        codes: ``PackedCodes`` or bool / {0, 1} array ``[n, n_bits]``.

    Returns:
        ``float32`` scalar in ``[0, 1)``.

    Examples:
        >>> float(redundancy_ratio([[1, 0], [1, 0], [0, 1], [1, 1]]))
        0.25
    """
    c = _flat_words(codes)
    n = c.words.shape[0]
    m = bucketed_unique_ids(c.words)[0]
    return (n - m).astype(jnp.float32) / jnp.float32(n)


def _as_slices(layer_slices: Any, n_bits: int) -> list[tuple[int, int]]:
    if isinstance(layer_slices, slice):
        layer_slices = [layer_slices]
    if not isinstance(layer_slices, Sequence):
        raise TypeError(f"`layer_slices` must be a list of slices, got {describe(layer_slices)}")
    out = []
    for s in layer_slices:
        if isinstance(s, slice):
            if s.step not in (None, 1):
                raise ValueError(f"`layer_slices` must have step 1, got {s}")
            start, stop = s.start or 0, n_bits if s.stop is None else s.stop
        elif (
            isinstance(s, Sequence)
            and len(s) == 2
            and all(isinstance(v, (int, np.integer)) for v in s)
        ):
            start, stop = s
        else:
            raise TypeError(f"`layer_slices` must hold slices or (start, stop) pairs, got {s!r}")
        start, stop = int(start), int(stop)
        if not 0 <= start < stop <= n_bits:
            raise ValueError(
                f"`layer_slices` entries must satisfy 0 <= start < stop <= n_bits={n_bits}, "
                f"got ({start}, {stop})"
            )
        out.append((start, stop))
    if not out:
        raise ValueError("`layer_slices` must hold at least one bit range")
    return out


def count_regions_per_layer(
    codes: CodesLike, layer_slices: LayerSlices, *, cumulative: bool = False
) -> list[jax.Array]:
    """[`count_regions`][hamgeo.regions.count_regions] of each layer's bits (or of layers ``1..l``).

    The per-layer cell counts of the hash-encoder paper ([Hash-Encoders]).

    Traceable: jit, vmap (``layer_slices`` and ``cumulative`` are static)

    Args:
        codes: ``PackedCodes`` or bool / {0, 1} array ``[n, n_bits]``, layers in order.
        layer_slices: one ``slice`` or ``(start, stop)`` bit range per layer, e.g.
            ``hamgeo.nets.layer_slices(model, variables, x)``.
        cumulative: count the codes of layers ``1..l`` (the cells of the first
            ``l`` layers' tessellation) instead of layer ``l`` alone. Needs the
            ranges to start at bit 0 and be contiguous.

    Returns:
        A list of ``int32`` scalars, one per range.

    Examples:
        >>> codes = [[1, 0, 1], [1, 1, 1], [0, 1, 1]]
        >>> [int(c) for c in count_regions_per_layer(codes, [slice(0, 1), slice(1, 3)])]
        [2, 2]
        >>> [int(c) for c in count_regions_per_layer(codes, [(0, 1), (1, 3)], cumulative=True)]
        [2, 3]
    """
    c = _flat_words(codes)
    ranges = _as_slices(layer_slices, c.n_bits)
    if not isinstance(cumulative, bool):
        raise TypeError(f"`cumulative` must be a bool, got {describe(cumulative)}")
    if cumulative:
        ends = [0] + [stop for _, stop in ranges]
        if any(s != e for (s, _), e in zip(ranges, ends[:-1], strict=True)):
            raise ValueError(
                f"`layer_slices` must be contiguous from bit 0 when cumulative, got {ranges}"
            )
        ranges = [(0, stop) for _, stop in ranges]
    return [bucketed_unique_ids(select_bits(c, s, e).words)[0] for s, e in ranges]


def redundancy_ratio_per_layer(
    codes: CodesLike, layer_slices: LayerSlices, *, cumulative: bool = False
) -> list[jax.Array]:
    """The redundancy ratio of each layer's bits (or of layers ``1..l``).

    [`redundancy_ratio`][hamgeo.regions.redundancy_ratio] per bit range.

    The per-layer redundancy of the hash-encoder paper ([Hash-Encoders]).

    Traceable: jit, vmap (``layer_slices`` and ``cumulative`` are static)

    Args:
        codes: ``PackedCodes`` or bool / {0, 1} array ``[n, n_bits]``, layers in order.
        layer_slices: one ``slice`` or ``(start, stop)`` bit range per layer.
        cumulative: use the bits of layers ``1..l`` (see
            [`count_regions_per_layer`][hamgeo.regions.count_regions_per_layer]).

    Returns:
        A list of ``float32`` scalars, one per range.

    Examples:
        >>> codes = [[1, 0, 1], [1, 1, 1], [0, 1, 1], [0, 1, 1]]
        >>> [float(r) for r in redundancy_ratio_per_layer(codes, [(0, 1), (1, 3)])]
        [0.5, 0.5]
    """
    c = _flat_words(codes)
    n = c.words.shape[0]
    counts = count_regions_per_layer(c, layer_slices, cumulative=cumulative)
    return [(n - m).astype(jnp.float32) / jnp.float32(n) for m in counts]
