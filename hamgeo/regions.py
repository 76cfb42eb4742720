"""Cells of a ReLU network's tessellation: counts, redundancy, line regions, slices, facets.

A ReLU network cuts its input space into convex polyhedral cells; the on/off
pattern of the hidden units (the activation code) names the cell an input falls
in. This module counts the distinct cells a sample meets (the *redundancy ratio*
of the hash-encoder paper, ``hash_encoders.txt``), finds every cell a straight
segment crosses exactly, draws the cells met on a 2-D plane, finds the units
whose hyperplanes bound a cell (its facets), and measures distances between
cells: boundary crossings on a segment, the tessellation distance d_T of the
discriminability paper (``discriminability.txt``) and a facet-aware Hamming
distance.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hamgeo._facets import CellGraph, cell_facets, cell_graph, facet_hamming, tessellation_distance
from hamgeo._lines import LineRegions, crossing_distance, line_regions, mlp_layers
from hamgeo._slices import SlicePartition, plot_partition, slice_partition
from hamgeo._unique import bucketed_unique_ids
from hamgeo.codes import PackedCodes, as_packed, n_words

__all__ = [
    "CellGraph",
    "LineRegions",
    "SlicePartition",
    "cell_facets",
    "cell_graph",
    "count_regions",
    "crossing_distance",
    "count_regions_per_layer",
    "facet_hamming",
    "line_regions",
    "mlp_layers",
    "plot_partition",
    "redundancy_ratio",
    "redundancy_ratio_per_layer",
    "region_ids",
    "select_bits",
    "slice_partition",
    "tessellation_distance",
]

_WORD = 32


def _flat_words(codes: Any, name: str = "codes") -> PackedCodes:
    c = as_packed(codes, name)
    if c.words.ndim < 2:
        raise ValueError(f"`{name}` must be a batch of codes [n, n_bits], got a single code")
    if c.words.size == 0 or c.words.shape[0] == 0:
        raise ValueError(f"`{name}` must hold at least one code, got shape {c.shape}")
    return PackedCodes(c.words.reshape(-1, c.words.shape[-1]), c.n_bits)


def region_ids(codes: Any) -> tuple[jax.Array, jax.Array]:
    """Number of distinct codes and a dense cell id for each code.

    Equal codes get equal ids in ``0 .. count - 1`` (ids follow the lexicographic
    or hash order of the codes, not their first appearance).

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


def count_regions(codes: Any) -> jax.Array:
    """Number of distinct codes, i.e. cells of the tessellation the sample meets.

    Computed on device by sorting packed words (a 64-bit hash, verified against the
    words; an exact lexicographic sort if two different codes ever share a hash):
    no Python loop over samples, ``O(n log n)`` time, ``O(n W)`` memory.

    Args:
        codes: ``PackedCodes`` or bool / {0, 1} array ``[n, n_bits]`` (further batch
            axes are flattened), at least one code.

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


def redundancy_ratio(codes: Any) -> jax.Array:
    """Redundancy ratio ``(n - m) / n`` with ``m`` the number of distinct codes.

    The hash-encoder paper's measure of determinism (``hash_encoders.txt``): near
    zero when almost every example has its own activation code.

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
        raise TypeError(f"`layer_slices` must be a list of slices, got {type(layer_slices)}")
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


def select_bits(codes: Any, start: int, stop: int) -> PackedCodes:
    """The bits ``start:stop`` of every code, repacked (shifts on words, no unpacking).

    Args:
        codes: ``PackedCodes`` or bool / {0, 1} array ``[..., n_bits]``.
        start: first bit, ``0 <= start < stop``.
        stop: one past the last bit, ``<= n_bits``.

    Returns:
        ``PackedCodes`` with ``n_bits = stop - start``.

    Examples:
        >>> select_bits([[1, 0, 1, 1]], 1, 4).unpack().astype(int).tolist()
        [[0, 1, 1]]
    """
    c = as_packed(codes, "codes")
    ((start, stop),) = _as_slices([(start, stop)], c.n_bits)
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


def count_regions_per_layer(
    codes: Any, layer_slices: Any, *, cumulative: bool = False
) -> list[jax.Array]:
    """:func:`count_regions` of each layer's bits (or of layers ``1..l``).

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
    if cumulative:
        ends = [0] + [stop for _, stop in ranges]
        if any(s != e for (s, _), e in zip(ranges, ends[:-1], strict=True)):
            raise ValueError(
                f"`layer_slices` must be contiguous from bit 0 when cumulative, got {ranges}"
            )
        ranges = [(0, stop) for _, stop in ranges]
    return [bucketed_unique_ids(select_bits(c, s, e).words)[0] for s, e in ranges]


def redundancy_ratio_per_layer(
    codes: Any, layer_slices: Any, *, cumulative: bool = False
) -> list[jax.Array]:
    """:func:`redundancy_ratio` of each layer's bits (or of layers ``1..l``).

    Args:
        codes: ``PackedCodes`` or bool / {0, 1} array ``[n, n_bits]``, layers in order.
        layer_slices: one ``slice`` or ``(start, stop)`` bit range per layer.
        cumulative: use the bits of layers ``1..l`` (see :func:`count_regions_per_layer`).

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
