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


def test_closed_form_for_gaussians(rng, f32_tol):
    """Commuting (diagonal) covariances: W2^2 = |mu1 - mu2|^2 + sum (s1 - s2)^2."""
    m1, m2 = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.0])
    s1, s2 = np.array([1.0, 2.0, 0.5]), np.array([3.0, 1.0, 0.5])
    x = _with_moments(rng, 200, m1, np.diag(s1**2))
    y = _with_moments(rng, 150, m2, np.diag(s2**2))
    ref = np.sqrt(np.sum((m1 - m2) ** 2) + np.sum((s1 - s2) ** 2))
    # float32 moments (sums of 200 terms) and eigh; the covariances' condition numbers (<= 36)
    # bound how much the relative rounding grows
    assert float(frechet_distance(x, y)) == pytest.approx(ref, rel=f32_tol(200, 36.0))


def test_matches_scipy_sqrtm_formula(rng, f32_tol):
    x = rng.normal(size=(41, 5)) @ rng.normal(size=(5, 5))
    y = rng.normal(size=(37, 5)) @ rng.normal(size=(5, 5)) + 0.3
    c1, c2 = np.cov(x.T), np.cov(y.T)
    d2 = np.sum((x.mean(0) - y.mean(0)) ** 2) + np.trace(c1 + c2 - 2 * linalg.sqrtm(c1 @ c2).real)
    cond = max(np.linalg.cond(c1), np.linalg.cond(c2))  # amplifies float32 rounding
    assert float(frechet_distance(x, y)) == pytest.approx(np.sqrt(d2), rel=f32_tol(41 * 5, cond))


def test_rank_deficient_codes(rng, f32_tol):
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
    # float32 moments (sums of 30 terms per entry) and eigh on traces of about 10 (40 bits)
    assert got == pytest.approx(ref, abs=f32_tol(30 * 40, np.trace(c1) + np.trace(c2)))
    # ~0: the square root of the roundoff of a squared distance of 40 sums of 30 terms
    assert float(frechet_distance(bits, bits)) <= np.sqrt(f32_tol(30 * 40, 2 * np.trace(c1)))


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


@pytest.mark.parametrize("scale", [1e-20, 1e20, 1e300])
def test_extreme_scales_finite_or_clear_error(rng, scale, f32_tol):
    # float64 samples of scale 1e20 used to give inf silently (covariances of 1e40 in float32)
    x, y = rng.normal(size=(20, 3)), rng.normal(size=(15, 3)) * 2 + 1
    ref = float(frechet_distance(x, y))
    if scale == 1e300:
        with pytest.raises(ValueError, match="exceeds the float32 range"):
            frechet_distance(x * scale, y * scale)
        with jax.enable_x64(True):  # float64 holds it
            got = float(frechet_distance(x * scale, y * scale))
            assert got == pytest.approx(ref * scale, rel=f32_tol(20 * 3, 10.0))
        return
    got = float(frechet_distance(x * scale, y * scale))
    assert np.isfinite(got)
    # The conditioned float32 inputs agree up to one rounding; the moments (sums of 20
    # terms) and eigh of 3 x 3 covariances (condition number < 10) carry that through.
    assert got == pytest.approx(ref * scale, rel=f32_tol(20 * 3, 10.0))


def test_far_from_origin_does_not_cancel(rng):
    x, y = rng.normal(size=(30, 2)), rng.normal(size=(25, 2)) * 0.5
    ref = float(frechet_distance(x, y))
    got = float(frechet_distance(x + 1e5, y + 1e5))
    # the inputs themselves are rounded to float32 at 1e5: relative 1e5 * eps32 per value
    assert got == pytest.approx(ref, abs=30 * 1e5 * float(np.finfo(np.float32).eps))


def test_bad_types_raise_type_error(rng):
    x = rng.normal(size=(5, 3))
    for bad in ("abc", None, {"a": 1}, [["a", "b"]], x.astype(complex)):
        with pytest.raises(TypeError, match="`y`"):
            frechet_distance(x, bad)
