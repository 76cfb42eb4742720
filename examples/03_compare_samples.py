"""Compare samples in code space: Wasserstein, MMD and Fréchet on activation codes.

Run: ``python examples/03_compare_samples.py`` (under a minute on a laptop CPU).

A random 3-layer ReLU network maps 2-D Gaussian clouds to activation codes; the
clouds slide along the diagonal, away from a reference cloud (the discriminability
paper's "diagonal" probe). For each shift the script prints the Wasserstein-1
distance between the samples of codes (Sinkhorn, checked against the exact value),
the Sinkhorn divergence, the MMD² with its permutation-test p-value, and the
Fréchet distance in data space. Every code-space distance grows with the shift.
"""

from __future__ import annotations

import jax
import numpy as np

import hamgeo


def relu_codes(x: np.ndarray, layers: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Activation codes (pre-activation > 0) of a ReLU MLP, all layers concatenated."""
    bits, h = [], x
    for w, b in layers:
        pre = h @ w + b
        bits.append(pre > 0)
        h = np.maximum(pre, 0.0)
    return np.concatenate(bits, axis=1)


def main() -> None:
    rng = np.random.default_rng(0)
    widths = [2, 50, 50, 50]  # 150 units: codes of 150 bits
    layers = [
        (rng.normal(size=(i, o)) / np.sqrt(i), rng.normal(size=o) * 0.3)
        for i, o in zip(widths[:-1], widths[1:], strict=True)
    ]
    n = 300
    ref_x = rng.normal(size=(n, 2)) * 0.1
    ref = hamgeo.pack_bits(relu_codes(ref_x, layers))
    key = jax.random.key(0)
    print(
        f"{'shift':>6} {'W1 (Sinkhorn)':>14} {'W1 exact':>9} {'conv':>5} {'S_eps':>7} "
        f"{'MMD2':>8} {'p':>6} {'Frechet':>8}"
    )
    for shift in (0.0, 0.1, 0.3, 0.6, 1.0):
        x = rng.normal(size=(n, 2)) * 0.1 + shift / np.sqrt(2)
        codes = hamgeo.pack_bits(relu_codes(x, layers))
        w1 = hamgeo.wasserstein(ref, codes)
        exact = hamgeo.exact_wasserstein(ref, codes)
        assert not bool(w1.converged) or abs(float(w1.value) - exact) <= 0.01 * max(exact, 1.0)
        div = hamgeo.wasserstein(ref, codes, debiased=True, epsilon=1.0)
        key, sub = jax.random.split(key)
        # exp(-d_H) underflows for 150-bit codes far apart: use the median bandwidth.
        test = hamgeo.mmd_test(ref, codes, key=sub, n_permutations=500, bandwidth="median")
        fd = hamgeo.frechet_distance(ref_x, x)
        print(
            f"{shift:6.2f} {float(w1.value):14.3f} {exact:9.3f} {bool(w1.converged)!s:>5} "
            f"{float(div.value):7.3f} {float(test.statistic):8.4f} {float(test.p_value):6.3f} "
            f"{float(fd):8.3f}"
        )


if __name__ == "__main__":
    main()
