"""Hamming quick-start: pack codes, distance matrices, truncated distances, k-NN.

Run: ``python examples/01_hamming_quickstart.py`` (a few seconds). Every result is
checked against a NumPy brute force, and the script prints what it measured, the
native kernel's instruction-set path and which path ``method="auto"`` chose (measured
once per size class and cached; ``HAMGEO_DISPATCH=static`` skips the measurement).
"""

from __future__ import annotations

import time

import jax
import numpy as np

import hamgeo
from hamgeo.hamming import _dispatch, _native


def main() -> None:
    rng = np.random.default_rng(0)
    n, m, n_bits = 1000, 1500, 300  # 300 bits: not a multiple of 8 or 32
    bits_x = rng.random((n, n_bits)) < 0.5
    bits_y = rng.random((m, n_bits)) < 0.5

    # 1. Pack: 32 bits per uint32 word, little-endian, zero padding.
    x, y = hamgeo.pack_bits(bits_x), hamgeo.pack_bits(bits_y)
    print(f"packed {n} + {m} codes of {n_bits} bits into words {x.words.shape} {x.words.dtype}")
    print(f"kernel on {jax.default_backend()}: {_native.describe()}")

    # 2. The full distance matrix, and a NumPy check on a slice.
    d = hamgeo.pairwise_hamming(x, y)
    t0 = time.perf_counter()
    d = jax.block_until_ready(hamgeo.pairwise_hamming(x, y))
    seconds = time.perf_counter() - t0
    ref = (bits_x[:50, None, :] != bits_y[None, :, :]).sum(-1)
    assert (np.asarray(d[:50]) == ref).all(), "pairwise_hamming disagrees with NumPy"
    print(
        f"pairwise_hamming {d.shape} {d.dtype}: {seconds * 1e3:.1f} ms, "
        f"{n * m * n_bits / seconds:.3g} bit-pairs/s; mean distance {float(d.mean()):.1f} "
        f"(n_bits/2 = {n_bits / 2})"
    )

    print(f"method='auto' ran {_dispatch.choose('pairwise', n, m, n_bits)!r} for this size")

    # 3. Every method gives the same exact integers; a narrow dtype cuts output traffic.
    for method in ("xla", "matmul"):
        same = bool((hamgeo.pairwise_hamming(x, y, method=method) == d).all())
        print(f"method={method!r} equals method='auto': {same}")
        assert same
    d16 = hamgeo.pairwise_hamming(x, y, out_dtype="uint16")  # distances <= 300 fit
    assert d16.dtype == np.uint16 and (np.asarray(d16) == np.asarray(d)).all()

    # 4. Truncated Hamming d_{H,theta} = min(d_H, theta).
    theta = 140
    dt = hamgeo.pairwise_hamming(x, y, truncate=theta)
    assert (np.asarray(dt) == np.minimum(np.asarray(d), theta)).all()
    print(f"truncate={theta}: {float((np.asarray(d) >= theta).mean()):.1%} of pairs capped")

    # 5. k-NN: ascending distances, ties by the smaller index, no N x M matrix kept.
    k = 5
    dist, idx = hamgeo.hamming_knn(x, y, k)
    d_np = np.asarray(d)
    order = np.lexsort((np.broadcast_to(np.arange(m), d_np.shape), d_np), axis=1)[:, :k]
    assert (np.asarray(idx) == order).all(), "hamming_knn disagrees with NumPy"
    print(f"hamming_knn k={k}: nearest distance {float(dist[:, 0].mean()):.1f} on average")
    _, idx_mm = hamgeo.hamming_knn(x, y, k, method="matmul")  # the GPU/TPU form, same result
    assert (np.asarray(idx_mm) == order).all()

    # 6. Each code's nearest other code in its own set.
    dist, idx = hamgeo.hamming_knn(x, x, 1, exclude_self=True)
    print(f"nearest other code in x: {int(dist.min())}..{int(dist.max())} bits away")
    print("all checks against NumPy passed")


if __name__ == "__main__":
    main()
