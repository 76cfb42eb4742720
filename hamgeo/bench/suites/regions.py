"""Cells: redundancy ratio, exact line regions, 2-D slices (hamgeo.regions).

Peers: ``np.unique(axis=0)`` for distinct codes (on packed bytes and on unpacked
bits); dense sampling of the segment (a jitted forward pass over evenly spaced
points, as many as it takes to meet every cell line_regions finds) for line regions;
the raster ``slice_partition`` for the exact partition of a plane, at the sizes
where it finds a stated fraction of the exact cells (equal completeness).
"""

from __future__ import annotations

import functools
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hamgeo import PackedCodes, line_regions, redundancy_ratio, slice_partition, to_packbits
from hamgeo.bench._timing import Row, timed_row
from hamgeo.codes import pack_bits
from hamgeo.regions import exact_slice_partition

SUITE = "regions"


def _codes(n: int, n_bits: int, rng: np.random.Generator) -> PackedCodes:
    w = n_bits // 32
    words = rng.integers(0, 2**32, size=(n // 2, w), dtype=np.uint32)
    words = words[rng.integers(0, n // 2, size=n)]  # about 43% duplicates
    return PackedCodes(jnp.asarray(words), n_bits)


def _redundancy_rows(n: int, n_bits: int, rng, *, with_bool: bool) -> list[Row]:
    codes = _codes(n, n_bits, rng)
    shape = f"N={n} bits={n_bits}"
    common: dict[str, Any] = dict(
        suite=SUITE, op="redundancy_ratio", shape=shape, work=n, unit="codes"
    )
    rows = [
        timed_row(
            lambda: redundancy_ratio(codes),
            repeats=3,
            dtype="uint32",
            impl="hamgeo[hash-sort]",
            **common,
        )
    ]
    packed = to_packbits(codes)
    rows.append(
        timed_row(
            lambda: 1 - len(np.unique(packed, axis=0)) / n,
            repeats=1,
            dtype="uint8",
            impl="numpy.unique[packbits]",
            **common,
        )
    )
    if with_bool:
        bits = np.asarray(codes.unpack())
        rows.append(
            timed_row(
                lambda: 1 - len(np.unique(bits, axis=0)) / n,
                repeats=1,
                dtype="bool",
                impl="numpy.unique[bool]",
                **common,
            )
        )
    return rows


def _mlp(d: int, widths: list[int], rng) -> dict:
    params = {}
    for i, w in enumerate(widths):
        params[f"hidden_{i}"] = {
            "kernel": (rng.standard_normal((d, w)) * np.sqrt(2.0 / d)).astype(np.float32),
            "bias": (0.1 * rng.standard_normal(w)).astype(np.float32),
        }
        d = w
    return {"params": params}


@jax.jit
def _sample_words(layers, x0, x1, t):
    h = x0[None] + t[:, None] * (x1 - x0)[None]
    bits = []
    for w, b in layers:
        z = h @ w + b[None]
        bits.append(z > 0)
        h = jax.nn.relu(z)
    return pack_bits(jnp.concatenate(bits, axis=1)).words


def _line_rows(d: int, widths: list[int], rng) -> list[Row]:
    v = _mlp(d, widths, rng)
    x0, x1 = rng.random(d).astype(np.float32), rng.random(d).astype(np.float32)
    shape = f"d={d} net={len(widths)}x{widths[0]}"
    common: dict[str, Any] = dict(
        suite=SUITE, op="line_regions", shape=shape, work=1, unit="segments"
    )
    lr = line_regions(None, v, x0, x1)
    n_pieces = lr.codes.shape[0]
    rows = [
        timed_row(
            lambda: line_regions(None, v, x0, x1),
            repeats=3,
            dtype="float64",
            impl="hamgeo[exact]",
            extra={"pieces": n_pieces},
            **common,
        )
    ]
    # Dense sampling meets every piece only if the spacing is below the shortest piece.
    knots = np.concatenate([[0.0], lr.breakpoints, [1.0]])
    n_samples = int(np.ceil(1.0 / np.diff(knots).min()))
    layers = [(jnp.asarray(p["kernel"]), jnp.asarray(p["bias"])) for p in v["params"].values()]
    batch = min(n_samples, 65536)
    t = jnp.linspace(0.0, 1.0, batch)
    a, b = jnp.asarray(x0), jnp.asarray(x1)
    probe = timed_row(
        lambda: _sample_words(layers, a, b, t),
        repeats=3,
        dtype="float32",
        impl="dense sampling (jit)",
        **common,
    )
    batches = -(-n_samples // batch)
    probe.seconds *= batches
    probe.extra = {"samples": n_samples, "extrapolated_from_batches": batches > 1}
    rows.append(probe)
    return rows


def _slice_rows(resolution: int, rng) -> list[Row]:
    v = _mlp(2, [50, 50, 50], rng)
    o, u, w = np.zeros(2), np.eye(2)[0], np.eye(2)[1]
    part = slice_partition(None, v, o, u, w, extent=2.0, resolution=resolution)
    return [
        timed_row(
            lambda: slice_partition(None, v, o, u, w, extent=2.0, resolution=resolution),
            repeats=3,
            suite=SUITE,
            op="slice_partition",
            shape=f"{resolution}^2 net=3x50",
            dtype="float32",
            impl="hamgeo[jit]",
            work=resolution**2,
            unit="pixels",
            extra={"cells": part.n_cells},
        )
    ]


def _exact_rows(widths: list[int], resolutions: list[int], rng) -> list[Row]:
    """Exact polygons of an MLP on the unit square, and the raster at growing sizes.

    The raster's completeness is the fraction of the exact cells its pixel centres
    meet; the exact partition is complete by construction.
    """
    v = _mlp(2, widths, rng)
    o, u, w = np.zeros(2), np.eye(2)[0], np.eye(2)[1]
    square = (0.0, 1.0, 0.0, 1.0)
    part = exact_slice_partition(None, v, o, u, w, extent=square)
    exact_codes = {c.tobytes() for c in np.asarray(part.codes.words)}
    net = f"{len(widths)}x{widths[0]}"
    common: dict[str, Any] = dict(
        suite=SUITE, op="plane_partition", work=part.n_cells, unit="cells"
    )
    rows = [
        timed_row(
            lambda: exact_slice_partition(None, v, o, u, w, extent=square),
            repeats=3,
            shape=f"unit square net={net}",
            dtype="float64",
            impl="hamgeo[exact polygons]",
            extra={
                "cells": part.n_cells,
                "adjacencies": int(part.adjacency.shape[0]),
                "completeness": 1.0,
            },
            **common,
        )
    ]
    for res in resolutions:
        raster = slice_partition(None, v, o, u, w, extent=square, resolution=res)
        found = len(exact_codes & {c.tobytes() for c in np.asarray(raster.codes.words)})
        rows.append(
            timed_row(
                functools.partial(slice_partition, None, v, o, u, w, extent=square, resolution=res),
                repeats=1,
                shape=f"unit square net={net}",
                dtype="float32",
                impl=f"slice_partition[raster {res}^2]",
                extra={"cells": raster.n_cells, "completeness": round(found / part.n_cells, 4)},
                **common,
            )
        )
        if found == part.n_cells:
            break
    return rows


def run(quick: bool) -> list[Row]:
    """Cell counts and redundancy on codes, exact cells of a line and a plane."""
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    rows = _redundancy_rows(100_000, 1024, rng, with_bool=not quick)
    if not quick:
        rows += _redundancy_rows(1_000_000, 1024, rng, with_bool=False)
    rows += _line_rows(784, [64] * 3, rng)
    if not quick:
        rows += _line_rows(784, [512] * 10, rng)
    rows += _slice_rows(256 if quick else 1024, rng)
    exact_rng = np.random.default_rng(0)  # the same two nets whatever ran before
    for widths in ([50] * 3, [15] * 10):
        rows += _exact_rows(widths, [1024] if quick else [1024, 2048, 4096], exact_rng)
    for r in rows:
        r.extra.setdefault("suite_elapsed_s", round(time.perf_counter() - t0, 1))
    return rows
