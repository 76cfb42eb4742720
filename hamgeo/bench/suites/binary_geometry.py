"""Binarization angles: hamgeo's vmapped sampler against a NumPy implementation.

``hamgeo.binarization_angles`` (three random vectors per row, angle to the sign and
between a random pair, blocked ``lax.map`` of a vmapped kernel) against the same
computation in NumPy with ``numpy.random.Generator`` (vectorized over rows, float64).
Throughput is in vector entries drawn per second (3 * n * dim).

The full run also times one training step of the BNN-geometry paper's CIFAR-10 network
(128C3-128C3-MP-256C3-256C3-MP-512C3-512C3-MP-1024FC-1024FC-10, no-mean batch norm, Adam)
on a batch of 100 random 32x32x3 images: an epoch of CIFAR-10 is 500 such steps, which is
how ``docs/reproductions/bnn-geometry.md`` extrapolates the paper-size run time.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import numpy as np
import optax

import hamgeo
from hamgeo import nets
from hamgeo.bench._timing import Row, timed_row

SUITE = "binary_geometry"


def _numpy_angles(rng: np.random.Generator, n: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    w, u, v = rng.uniform(-1.0, 1.0, (3, n, dim))
    b = np.where(w > 0, 1.0, -1.0)
    cos_s = (w * b).sum(1) / (np.linalg.norm(w, axis=1) * np.sqrt(dim))
    cos_p = (u * v).sum(1) / (np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1))
    return np.degrees(np.arccos(cos_s)), np.degrees(np.arccos(cos_p))


def cifar_train_step_row(batch: int = 100, repeats: int = 3) -> Row:
    """One Adam step of the paper's CIFAR-10 BNN on random images (work: images)."""
    model = nets.BinaryCNN((128, 128, 256, 256, 512, 512), (1024, 1024), 10, pool_every=2)
    key = jax.random.key(0)
    x = jax.random.uniform(key, (batch, 32, 32, 3))
    y = jax.random.randint(key, (batch,), 0, 10)
    variables = jax.jit(model.init)(key, x[:1])
    step, tx = nets.make_train_step(model, variables, optax.adam(1e-3))
    state = [variables, tx.init(variables["params"])]

    def one():
        state[0], state[1], loss = step(state[0], state[1], x, y)
        return loss.block_until_ready()

    return timed_row(
        one,
        repeats=repeats,
        dtype="float32",
        impl="hamgeo[nets.make_train_step]",
        suite=SUITE,
        op="bnn_cifar10_train_step",
        shape=f"batch={batch} 32x32x3, paper's CNN",
        unit="images",
        work=float(batch),
    )


def run(quick: bool) -> list[Row]:
    """Rows for (n, dim) = (2000, 1000) quick; the full run adds (20000, 1000), CIFAR step."""
    sizes = [(2000, 1000)] if quick else [(2000, 1000), (20000, 1000)]
    rows = []
    key = jax.random.key(0)
    rng = np.random.default_rng(0)
    for n, dim in sizes:
        common: dict[str, Any] = dict(
            suite=SUITE,
            op="binarization_angles",
            shape=f"n={n} dim={dim}",
            unit="entries",
            work=3.0 * n * dim,
        )
        rows.append(
            timed_row(
                functools.partial(hamgeo.binarization_angles, key=key, dim=dim, n=n),
                repeats=3,
                dtype="float32",
                impl="hamgeo[binarization_angles]",
                **common,
            )
        )
        rows.append(
            timed_row(
                functools.partial(_numpy_angles, rng, n, dim),
                repeats=3,
                dtype="float64",
                impl="numpy (vectorized)",
                **common,
            )
        )
    if not quick:
        rows.append(cifar_train_step_row())
    return rows
