"""Tests for hamgeo.mmd: MMD² against textbook formulas, the permutation test."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hamgeo import KernelUnderflowWarning, mmd, mmd_test


def _hamming(x, y):
    return (x[:, None, :] != y[None, :, :]).sum(-1).astype(np.float64)


def _sqdist(x, y):
    return ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)


def _textbook(kxx, kyy, kxy, unbiased):
    """Gretton et al. (2012), eqs. (3) and (5), written out with loops over pairs."""
    n, m = len(kxx), len(kyy)
    if unbiased:
        sxx = sum(kxx[i, j] for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
        syy = sum(kyy[i, j] for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    else:
        sxx, syy = kxx.sum() / n**2, kyy.sum() / m**2
    return sxx + syy - 2 * kxy.sum() / (n * m)


@pytest.mark.parametrize("unbiased", [True, False])
@pytest.mark.parametrize("kernel", ["hamming", "hamming_normalized", "gaussian"])
def test_mmd_matches_textbook(rng, kernel, unbiased, f32_tol):
    if kernel == "gaussian":
        x, y = rng.normal(size=(17, 3)), rng.normal(size=(13, 3)) + 0.4
        bw = 1.3
        k = lambda p, q: np.exp(-_sqdist(p, q) / (2 * bw**2))
    else:
        x, y = rng.random((17, 31)) < 0.4, rng.random((13, 31)) < 0.6
        bw = 3.0 if kernel == "hamming" else 0.1
        scale = 1.0 if kernel == "hamming" else 31.0
        k = lambda p, q: np.exp(-_hamming(p, q) / scale / bw)
    ref = _textbook(k(x, x), k(y, y), k(x, y), unbiased)
    got = mmd(x, y, kernel=kernel, bandwidth=bw, unbiased=unbiased)
    # three normalized float32 sums of at most 30 * 30 kernel values in [0, 1]
    tol = 3 * f32_tol(30 * 30)
    assert float(got) == pytest.approx(ref, abs=tol)
    blocked = mmd(x, y, kernel=kernel, bandwidth=bw, unbiased=unbiased, block_size=7)
    assert float(blocked) == pytest.approx(ref, abs=tol)


def test_median_bandwidth(rng):
    x, y = rng.random((11, 40)) < 0.5, rng.random((9, 40)) < 0.3
    z = np.concatenate([x, y])
    d = _hamming(z, z)
    med = np.median(d[~np.eye(20, dtype=bool)])
    assert float(mmd(x, y, bandwidth="median")) == pytest.approx(
        float(mmd(x, y, bandwidth=med)), rel=1e-6
    )


def test_underflow_is_reported(rng):
    x, y = rng.random((6, 300)) < 0.5, rng.random((5, 300)) < 0.5
    with pytest.raises(ValueError, match="underflows"):
        mmd(x, y)  # every d_H ~ 150 > 87: exp(-d_H) is 0 in float32
    near = np.concatenate([x[:3], x[:3] ^ (rng.random((3, 300)) < 0.02)])
    with pytest.warns(KernelUnderflowWarning):
        mmd(near, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mmd(x, y, kernel="hamming_normalized")  # d_H / n_bits: no underflow


def test_mmd_test_statistic_and_p_value(rng, key, f32_tol):
    x, y = rng.random((12, 20)) < 0.4, rng.random((15, 20)) < 0.5
    res = mmd_test(x, y, key=key, n_permutations=300, bandwidth=4.0)
    tol = 3 * f32_tol(27 * 27)  # three normalized sums of 27 * 27 kernel values in [0, 1]
    assert float(res.statistic) == pytest.approx(float(mmd(x, y, bandwidth=4.0)), abs=tol)
    assert res.null.shape == (300,)
    expected = (1 + np.sum(np.asarray(res.null) >= float(res.statistic))) / 301
    assert float(res.p_value) == pytest.approx(expected)
    blocked = mmd_test(x, y, key=key, n_permutations=300, bandwidth=4.0, block_size=5)
    np.testing.assert_allclose(blocked.null, res.null, rtol=0, atol=tol)
    # Each null value is the MMD² of some split: check one against a direct computation.
    z = np.concatenate([x, y])
    stats = []
    for perm in np.random.default_rng(0).permuted(np.tile(np.arange(27), (20, 1)), axis=1):
        stats.append(float(mmd(z[perm[:12]], z[perm[12:]], bandwidth=4.0)))
    assert np.min(res.null) <= np.max(stats) and np.max(res.null) >= np.min(stats)


def _rejection_rate(key, seed, reps, p_x, p_y):
    """Fraction of ``reps`` tests on 10 vs 10 codes of 16 bits with p <= 0.05."""
    rng = np.random.default_rng(seed)
    keys = jax.random.split(key, reps)
    rejections = 0
    for i in range(reps):
        x, y = rng.random((10, 16)) < p_x, rng.random((10, 16)) < p_y
        res = mmd_test(x, y, key=keys[i], n_permutations=99, bandwidth=4.0)
        rejections += float(res.p_value) <= 0.05
    return rejections / reps


@pytest.mark.slow
def test_permutation_test_level_under_h0(key):
    """Rejection rate at alpha = 0.05 under H0 over 300 repetitions (binomial sd 0.013)."""
    assert 0.02 <= _rejection_rate(key, 7, 300, 0.5, 0.5) <= 0.09


def test_permutation_test_power_under_shift(key):
    assert _rejection_rate(key, 8, 20, 0.3, 0.7) >= 0.9  # power ~ 1 for this shift


def test_gradient_gaussian_mmd_finite_differences(rng):
    with jax.enable_x64(True):
        x, y = rng.normal(size=(8, 3)), rng.normal(size=(6, 3)) + 0.5
        u = rng.normal(size=x.shape)
        f = lambda z: mmd(z, y, kernel="gaussian", bandwidth=1.5)
        g = jax.grad(f)(jnp.asarray(x))
        h = 1e-5
        fd = (f(x + h * u) - f(x - h * u)) / (2 * h)
        assert float(jnp.sum(g * u)) == pytest.approx(float(fd), rel=1e-5, abs=1e-9)


def test_bad_input_raises(rng, key):
    x, y = rng.random((5, 8)) < 0.5, rng.random((4, 8)) < 0.5
    with pytest.raises(ValueError, match="n_permutations"):
        mmd_test(x, y, key=key, n_permutations=0)
    with pytest.raises(ValueError, match="bandwidth"):
        mmd(x, y, bandwidth=0.0)
    with pytest.raises(ValueError, match="bandwidth"):
        mmd(x, y, bandwidth="mean")
    with pytest.raises(ValueError, match="kernel"):
        mmd(x, y, kernel="laplace")
    with pytest.raises(ValueError, match="same number of bits"):
        mmd(x, rng.random((4, 9)) < 0.5)
    with pytest.raises(ValueError, match="same dimension"):
        mmd(rng.normal(size=(4, 2)), rng.normal(size=(4, 3)), kernel="gaussian")
    bad = rng.normal(size=(4, 2))
    bad[1, 1] = np.inf
    with pytest.raises(ValueError, match="finite"):
        mmd(bad, rng.normal(size=(4, 2)), kernel="gaussian")
    with pytest.raises(ValueError, match="at least one"):
        mmd(np.zeros((0, 8), bool), y)
    with pytest.raises(ValueError, match="at least 2"):
        mmd(x[:1], y)
    with pytest.raises(ValueError, match="block_size"):
        mmd(x, y, block_size=0)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_permutations": 2.5}, TypeError, "`n_permutations` must be an integer"),
        ({"n_permutations": True}, TypeError, "`n_permutations`"),
        ({"n_permutations": 2**31}, ValueError, "`n_permutations`"),
        ({"n_permutations": 10**8}, ValueError, "split matrix"),
        ({"key": 0}, TypeError, r"write jax.random.key\(0\)"),
        ({"key": None}, TypeError, "`key` must be a JAX PRNG key"),
        ({"bandwidth": float("inf")}, ValueError, "`bandwidth`"),
        ({"bandwidth": True}, TypeError, "`bandwidth`"),
        ({"unbiased": "no"}, TypeError, "`unbiased` must be a bool"),
        ({"block_size": 2.0}, TypeError, "`block_size`"),
        ({"kernel": None}, TypeError, "`kernel`"),
    ],
)
def test_mmd_test_bad_arguments_raise_naming_them(rng, key, kwargs, error, match):
    x, y = rng.random((5, 8)) < 0.5, rng.random((4, 8)) < 0.5
    kwargs = {"key": key, "n_permutations": 9, **kwargs}
    with pytest.raises(error, match=match):
        mmd_test(x, y, **kwargs)


@pytest.mark.parametrize("scale", [1e-20, 1.0, 1e20])
def test_gaussian_kernel_at_extreme_scales_and_far_from_origin(rng, scale, f32_tol):
    # Without the common shift and scale, |x - y|^2 overflows (1e40) or underflows
    # (1e-40) in float32, or cancels at 1e4 from the origin.
    x, y = rng.normal(size=(9, 3)), rng.normal(size=(7, 3)) + 0.5
    ref = _textbook(
        *(np.exp(-_sqdist(p, q) / (2 * 1.3**2)) for p, q in ((x, x), (y, y), (x, y))), True
    )
    for offset in (0.0, 1e4):
        got = float(
            mmd(
                (x + offset) * scale, (y + offset) * scale, kernel="gaussian", bandwidth=1.3 * scale
            )
        )
        # float32 sums of 16 * 16 kernel values <= 1, plus the rounding of the 1e4 offset
        # (relative 1e4 * eps32 on each coordinate difference)
        assert got == pytest.approx(ref, abs=f32_tol(16 * 16, 1.0) + f32_tol(16, 1e4))
