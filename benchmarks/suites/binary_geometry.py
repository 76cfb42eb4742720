"""Binarization angles: hamgeo's vmapped sampler against a NumPy implementation.

``hamgeo.binarization_angles`` (three random vectors per row, angle to the sign and
between a random pair, blocked ``lax.map`` of a vmapped kernel) against the same
computation in NumPy with ``numpy.random.Generator`` (vectorized over rows, float64).
Throughput is in vector entries drawn per second (3 * n * dim).
"""

from __future__ import annotations

import jax
import numpy as np

import hamgeo
from benchmarks.timing import Row, timed_row

SUITE = "binary_geometry"


def _numpy_angles(rng: np.random.Generator, n: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    w, u, v = rng.uniform(-1.0, 1.0, (3, n, dim))
    b = np.where(w > 0, 1.0, -1.0)
    cos_s = (w * b).sum(1) / (np.linalg.norm(w, axis=1) * np.sqrt(dim))
    cos_p = (u * v).sum(1) / (np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1))
    return np.degrees(np.arccos(cos_s)), np.degrees(np.arccos(cos_p))


def run(quick: bool) -> list[Row]:
    """Rows for (n, dim) = (2000, 1000) quick, plus (20000, 1000) in the full run."""
    sizes = [(2000, 1000)] if quick else [(2000, 1000), (20000, 1000)]
    rows = []
    key = jax.random.key(0)
    rng = np.random.default_rng(0)
    for n, dim in sizes:
        common = dict(
            suite=SUITE,
            op="binarization_angles",
            shape=f"n={n} dim={dim}",
            unit="entries",
            work=3.0 * n * dim,
        )
        rows.append(
            timed_row(
                lambda n=n, dim=dim: hamgeo.binarization_angles(key, dim=dim, n=n),
                repeats=3,
                dtype="float32",
                impl="hamgeo[binarization_angles]",
                **common,
            )
        )
        rows.append(
            timed_row(
                lambda n=n, dim=dim: _numpy_angles(rng, n, dim),
                repeats=3,
                dtype="float64",
                impl="numpy (vectorized)",
                **common,
            )
        )
    return rows
