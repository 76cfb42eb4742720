"""Tests for hamgeo.gaussian.frechet_distance."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import linalg

from hamgeo import frechet_distance, pack_bits


def _with_moments(rng, n, mean, cov):
    """A sample whose empirical mean and (n - 1) covariance are exactly ``mean`` and ``cov``."""
    z = rng.normal(size=(n, len(mean)))
    z -= z.mean(0)
    z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z.T))).T  # empirical cov = I
    return z @ np.linalg.cholesky(cov).T + mean


def test_closed_form_for_gaussians(rng):
    """Commuting (diagonal) covariances: W2^2 = |mu1 - mu2|^2 + sum (s1 - s2)^2."""
    m1, m2 = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.0])
    s1, s2 = np.array([1.0, 2.0, 0.5]), np.array([3.0, 1.0, 0.5])
    x = _with_moments(rng, 200, m1, np.diag(s1**2))
    y = _with_moments(rng, 150, m2, np.diag(s2**2))
    ref = np.sqrt(np.sum((m1 - m2) ** 2) + np.sum((s1 - s2) ** 2))
    assert float(frechet_distance(x, y)) == pytest.approx(ref, rel=1e-4)  # float32


def test_matches_scipy_sqrtm_formula(rng):
    x = rng.normal(size=(41, 5)) @ rng.normal(size=(5, 5))
    y = rng.normal(size=(37, 5)) @ rng.normal(size=(5, 5)) + 0.3
    c1, c2 = np.cov(x.T), np.cov(y.T)
    d2 = np.sum((x.mean(0) - y.mean(0)) ** 2) + np.trace(c1 + c2 - 2 * linalg.sqrtm(c1 @ c2).real)
    assert float(frechet_distance(x, y)) == pytest.approx(np.sqrt(d2), rel=1e-3)


def test_rank_deficient_codes(rng):
    bits = rng.random((30, 40)) < 0.5
    bits[:, :10] = True  # constant units: singular covariance
    other = rng.random((25, 40)) < 0.3
    other[:, :10] = True
    got = float(frechet_distance(pack_bits(bits), other))
    # Reference in float64 through eigendecompositions (scipy's sqrtm struggles when singular).
    c1, c2 = np.cov(bits.T.astype(float)), np.cov(other.T.astype(float))
    w, v = np.linalg.eigh(c1)
    s1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    lam = np.clip(np.linalg.eigvalsh(s1 @ c2 @ s1), 0, None)
    mu = bits.mean(0) - other.mean(0)
    ref = np.sqrt(mu @ mu + np.trace(c1) + np.trace(c2) - 2 * np.sqrt(lam).sum())
    assert np.isfinite(got)
    assert got == pytest.approx(ref, rel=1e-3)
    assert float(frechet_distance(bits, bits)) <= 1e-2  # ~0 up to float32 roundoff (scale ~3)


def test_float64_when_enabled(rng):
    with jax.enable_x64(True):
        x, y = rng.normal(size=(20, 3)), rng.normal(size=(20, 3))
        assert frechet_distance(x, y).dtype == jnp.float64


def test_gradient_finite_differences(rng):
    with jax.enable_x64(True):
        x, y = rng.normal(size=(12, 3)), rng.normal(size=(10, 3)) * 2 + 1
        u = rng.normal(size=x.shape)
        g = jax.grad(frechet_distance)(jnp.asarray(x), y)
        h = 1e-5
        fd = (frechet_distance(x + h * u, y) - frechet_distance(x - h * u, y)) / (2 * h)
        assert float(jnp.sum(g * u)) == pytest.approx(float(fd), rel=1e-5)


def test_bad_input_raises(rng):
    x = rng.normal(size=(5, 3))
    with pytest.raises(ValueError, match="same dimension"):
        frechet_distance(x, rng.normal(size=(5, 2)))
    with pytest.raises(ValueError, match="at least 2"):
        frechet_distance(x[:1], x)
    bad = x.copy()
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="finite"):
        frechet_distance(x, bad)
    with pytest.raises(ValueError, match="at least one"):
        frechet_distance(np.zeros((0, 3)), x)
