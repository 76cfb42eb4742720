"""Cells met on a 2-D plane: the raster of cell ids, a quick preview (private)."""

from __future__ import annotations

from functools import partial
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from hamgeo._blocks import map_blocks
from hamgeo._checks import check_not_traced, check_positive_int, describe
from hamgeo.codes import PackedCodes, pack_bits
from hamgeo.regions._common import (
    Extent,
    Resolution,
    Variables,
    as_extent,
    as_resolution,
    mlp_layers,
    plane_vectors,
)
from hamgeo.regions._unique import bucketed_unique_ids

__all__ = ["SlicePartition", "slice_partition"]


class SlicePartition(NamedTuple):
    """The cells met on the plane ``origin + a u + b v``.

    Attributes:
        ids: ``int32[rows, cols]`` cell id of each pixel centre; row ``j`` is
            ``b = bs[j]``, column ``i`` is ``a = as_[i]``.
        n_cells: number of distinct cells met by the pixel centres.
        codes: ``PackedCodes [n_cells]``: the code of each id.
        extent: ``(a_min, a_max, b_min, b_max)`` in plane coordinates.
    """

    ids: np.ndarray
    n_cells: int
    codes: PackedCodes
    extent: tuple[float, float, float, float]


def _mlp_preacts(layers, x):
    pre = []
    h = x
    for w, b in layers:
        z = h @ w + b[None]
        pre.append(z)
        h = jax.nn.relu(z)
    return pre


def _plane_bits(model, variables, example_shape, origin, u, v, ab):
    x = origin[None] + ab[:, :1] * u[None] + ab[:, 1:] * v[None]
    if model is None:
        pre = _mlp_preacts(variables, x)
    else:
        x = x.reshape(ab.shape[0], *example_shape)
        _, pre = model.apply(variables, x, train=False, return_preactivations=True)
    return jnp.concatenate([p.reshape(ab.shape[0], -1) > 0 for p in pre], axis=1)


@partial(jax.jit, static_argnames=("model", "example_shape"))
def _plane_words(model, variables, example_shape, origin, u, v, ab):
    return pack_bits(_plane_bits(model, variables, example_shape, origin, u, v, ab)).words


def _code_source(model: Any, variables: Any):
    """What ``_plane_words`` evaluates: the model, or an MLP's hidden layers."""
    if model is None:
        return None, [
            (jnp.asarray(w, jnp.float32), jnp.asarray(b, jnp.float32))
            for w, b in mlp_layers(variables, np.float32)
        ]
    if not hasattr(model, "apply"):
        raise TypeError(
            f"`model` must be a hamgeo.nets model (a flax module) or None, got {describe(model)}"
        )
    return model, variables


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _check_window_float32(
    o: np.ndarray, u: np.ndarray, v: np.ndarray, ext: tuple[float, float, float, float]
) -> None:
    """Refuse a window whose bounds or points are not finite in float32 (the grid's dtype).

    The points ``o + a u + b v`` are affine in ``(a, b)``: each coordinate is largest in
    magnitude at a corner of the window, so the four corners decide.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        corners = [o + a * u + b * v for a in ext[:2] for b in ext[2:]]
        fits = max(abs(e) for e in ext) <= _FLOAT32_MAX and all(
            bool(np.all(np.abs(c) <= _FLOAT32_MAX)) for c in corners
        )
    if not fits:
        raise ValueError(
            f"`extent` {ext} with these `origin`, `u`, `v` makes a window whose bounds or "
            "points are not finite in float32 (slice_partition computes in float32); use a "
            "smaller `extent` or `origin`"
        )


def slice_partition(
    model: nn.Module | None,
    variables: Variables,
    origin: ArrayLike,
    u: ArrayLike,
    v: ArrayLike,
    *,
    extent: Extent = 1.0,
    resolution: Resolution = 256,
    batch_size: int = 65536,
) -> SlicePartition:
    """The cells of the tessellation met on a 2-D plane, as an image of cell ids.

    Pixel centres ``origin + a u + b v`` on a regular grid are pushed through the
    model in jit-compiled batches; their packed codes are numbered by
    [`region_ids`][hamgeo.regions.region_ids]. Cells thinner than a pixel can be missed: counts are
    lower
    bounds that grow with ``resolution`` (exact cells along lines come from
    [`line_regions`][hamgeo.regions.line_regions]; every cell with its polygon from
    [`exact_slice_partition`][hamgeo.regions.exact_slice_partition]). The discriminability paper's
    picture of the
    tessellation ([Discriminability], Fig. 1; see ``docs/references.md``) on a real
    network.

    Host-only: the codes of the grid are computed on the device, the cells are counted
    and labelled on the host (NumPy).

    Args:
        model: any ``hamgeo.nets`` model (its ``apply(..., return_preactivations=True)``
            gives the code), or ``None`` for a ReLU MLP given by ``variables`` alone.
        variables: the model's variables.
        origin: a point of the input space (the model's example shape).
        u: first direction, same shape.
        v: second direction, same shape.
        extent: half-width ``e`` (the square ``[-e, e]^2``) or ``(a_min, a_max, b_min, b_max)``.
        resolution: pixels per side, or ``(cols, rows)``, each in ``[2, 2**14]``.
        batch_size: points per compiled batch (memory: ``batch_size x`` input size).

    Returns:
        A [`SlicePartition`][hamgeo.regions.SlicePartition].

    Raises:
        TypeError: ``model`` without ``apply``, non-numeric points, a non-integer
            ``resolution`` or ``batch_size``.
        ValueError: bad shapes (``origin`` not the net's input), non-finite points, an
            empty or non-finite ``extent`` (or a window not finite in float32),
            ``resolution`` outside ``[2, 2**14]`` or ``batch_size < 1``.

    Examples:
        >>> import numpy as np
        >>> params = {"hidden_0": {"kernel": np.eye(2), "bias": np.zeros(2)}}
        >>> part = slice_partition(None, {"params": params}, np.zeros(2), np.array([1.0, 0.0]),
        ...                        np.array([0.0, 1.0]), extent=1.0, resolution=8)
        >>> part.n_cells, part.ids.shape
        (4, (8, 8))
    """
    check_not_traced("slice_partition", origin, u, v)
    o64, u64, v64 = plane_vectors(origin, u, v)
    ext = as_extent(extent)
    cols, rows = as_resolution(resolution)
    batch_size = check_positive_int(batch_size, "batch_size")
    src_model, src_vars = _code_source(model, variables)
    if model is None and o64.size != src_vars[0][0].shape[0]:
        d_in = src_vars[0][0].shape[0]
        raise ValueError(f"`origin` must have {d_in} values (the net's input), got {o64.size}")
    _check_window_float32(o64, u64, v64, ext)
    o, uu, vv = (t.astype(np.float32) for t in (o64, u64, v64))
    a = np.linspace(ext[0], ext[1], cols, dtype=np.float32)
    b = np.linspace(ext[2], ext[3], rows, dtype=np.float32)
    ab = np.stack(np.meshgrid(a, b, indexing="xy"), axis=-1).reshape(-1, 2)
    n = ab.shape[0]
    bs = min(batch_size, n)
    # whole blocks only (padded here), so that one compiled batch serves every resolution
    ab = np.concatenate([ab, np.zeros(((-n) % bs, 2), np.float32)])
    args = (src_model, src_vars, o.shape, o.ravel(), uu.ravel(), vv.ravel())
    words = map_blocks(partial(_plane_words, *args), jnp.asarray(ab), block_size=bs, unroll=True)
    words = words[:n]
    count, device_ids = bucketed_unique_ids(words)
    ids = np.asarray(device_ids)
    n_cells = int(count)
    first = np.zeros(n_cells, dtype=np.int64)
    first[ids[::-1]] = np.arange(n)[::-1]  # any representative pixel of each cell
    n_bits = jax.eval_shape(partial(_plane_bits, *args), jnp.zeros((1, 2))).shape[1]
    codes = PackedCodes(words[jnp.asarray(first)], n_bits)
    return SlicePartition(ids.reshape(rows, cols), n_cells, codes, ext)
