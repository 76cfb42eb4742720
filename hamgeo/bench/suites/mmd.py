"""MMD permutation test: hamgeo against a NumPy loop, in one run.

``hamgeo.mmd_test`` (pooled kernel once, all permutations as one matrix product
``K0 @ S``) against the NumPy loop a user would write: the pooled kernel
``exp(-d_H / bandwidth)`` computed once with NumPy, then for every permutation the
permuted kernel ``K[perm][:, perm]`` and the unbiased MMD² recomputed from it. The
loop is timed on the first permutations only and scaled to all of them
(``extra["measured_permutations"]``). Throughput is in permutations per second.
"""

from __future__ import annotations

import time
from typing import Any

import jax
import numpy as np

import hamgeo
from hamgeo.bench._timing import Row, timed_row

SUITE = "mmd"


def _numpy_loop(xb, yb, bandwidth, n_perm, seed=0):
    z = np.concatenate([xb, yb]).astype(np.float32)
    n, big_n = len(xb), len(z)
    # Pooled Hamming distances through a float matrix product (d = a(1-b) + (1-a)b).
    d = z @ (1 - z).T + (1 - z) @ z.T
    k = np.exp(-d / bandwidth)
    rng = np.random.default_rng(seed)

    def stat(kp):
        kxx, kyy, kxy = kp[:n, :n], kp[n:, n:], kp[:n, n:]
        m = big_n - n
        return (
            (kxx.sum() - np.trace(kxx)) / (n * (n - 1))
            + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
            - 2 * kxy.mean()
        )

    t_obs = stat(k)
    null = []
    for _ in range(n_perm):
        perm = rng.permutation(big_n)
        null.append(stat(k[np.ix_(perm, perm)]))
    return t_obs, (1 + np.sum(np.asarray(null) >= t_obs)) / (1 + n_perm)


def run(quick: bool) -> list[Row]:
    """The MMD permutation test on codes against the NumPy loop (``quick``: small sizes)."""
    n, bits, n_perm = (500, 256, 1000) if quick else (1000, 1024, 1000)
    rng = np.random.default_rng(0)
    w = rng.normal(size=(8, bits))
    bias = rng.normal(size=bits) * 0.5
    xb = ((rng.normal(size=(n, 8)) * 0.6) @ w + bias) > 0
    yb = ((rng.normal(size=(n, 8)) * 0.6 + 0.05) @ w + bias) > 0
    x, y = hamgeo.pack_bits(xb), hamgeo.pack_bits(yb)
    bandwidth = float(bits) / 8  # keeps exp(-d_H / bandwidth) well inside float32
    shape = f"pooled={2 * n} bits={bits} P={n_perm}"
    common: dict[str, Any] = dict(
        suite=SUITE, op="mmd_test", shape=shape, unit="perms", work=float(n_perm)
    )
    key = jax.random.key(0)
    out = {}

    def run_hamgeo():
        out["res"] = hamgeo.mmd_test(x, y, key=key, n_permutations=n_perm, bandwidth=bandwidth)
        return out["res"]

    rows = [timed_row(run_hamgeo, repeats=3, dtype="uint32 packed", impl="hamgeo[K0@S]", **common)]
    rows[0].extra.update(statistic=float(out["res"].statistic), p_value=float(out["res"].p_value))
    sub = 20 if quick else 100
    t0 = time.perf_counter()
    t_obs, p = _numpy_loop(xb, yb, bandwidth, sub)
    loop_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    _numpy_loop(xb, yb, bandwidth, 0)
    setup_s = time.perf_counter() - t0
    r = Row(
        seconds=setup_s + (loop_s - setup_s) * n_perm / sub,
        dtype="float32",
        impl="numpy loop",
        **common,
    )
    r.extra.update(measured_permutations=sub, statistic=float(t_obs), p_value_subset=float(p))
    rows.append(r)
    return rows
