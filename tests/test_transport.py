"""Tests for hamgeo.transport and the Sinkhorn engines in hamgeo._sinkhorn."""

import jax
import jax.numpy as jnp
import numpy as np
import ot
import pytest

from hamgeo import exact_wasserstein, pack_bits, wasserstein
from hamgeo._sinkhorn import OnlineHammingGeometry
from hamgeo.transport import DEFAULT_RELATIVE_EPSILON


def _bits(rng, n, n_bits, p=0.5):
    return rng.random((n, n_bits)) < p


def _hamming(x, y):
    """NumPy brute-force Hamming distances (independent of hamgeo's kernels)."""
    return (x[:, None, :] != y[None, :, :]).sum(-1).astype(np.float64)


def _weights(rng, n, zero=False):
    w = rng.random(n) + 0.1
    if zero:
        w[0] = 0.0
    return w / w.sum()


def _clustered_codes(rng, n, n_bits, shift):
    """Codes of a random ReLU layer on a Gaussian cloud: realistic, clustered codes."""
    w = rng.normal(size=(6, n_bits))
    bias = rng.normal(size=n_bits)
    x = rng.normal(size=(n, 6)) * 0.6 + shift
    return (x @ w + bias) > 0


# --------------------------------------------------------------------------- exact


@pytest.mark.parametrize("p", [1, 2])
def test_exact_matches_pot_emd2_nonuniform(rng, p):
    x, y = _bits(rng, 17, 65, 0.3), _bits(rng, 29, 65, 0.6)
    a, b = _weights(rng, 17, zero=True), _weights(rng, 29)
    ref = ot.emd2(a, b, _hamming(x, y) ** p) ** (1 / p)
    got = exact_wasserstein(x, y, a=a, b=b, p=p)
    assert got == pytest.approx(ref, rel=1e-9, abs=1e-9)  # both exact LP solutions


@pytest.mark.parametrize("cost", ["euclidean", "sqeuclidean"])
def test_exact_real_costs_and_assignment_path(rng, cost):
    x, y = rng.normal(size=(19, 3)), rng.normal(size=(19, 3)) + 0.5
    metric = "euclidean" if cost == "euclidean" else "sqeuclidean"
    m = ot.dist(x, y, metric=metric)
    u = np.full(19, 1 / 19)
    # n == m and uniform: the linear_sum_assignment path.
    assert exact_wasserstein(x, y, cost=cost) == pytest.approx(ot.emd2(u, u, m), rel=1e-5)
    # Non-uniform weights: the HiGHS path, p = 2.
    a = _weights(rng, 19)
    ref = np.sqrt(ot.emd2(a, u, m**2))
    assert exact_wasserstein(x, y, cost=cost, p=2, a=a) == pytest.approx(ref, rel=1e-5)


def test_exact_refuses_large_problems():
    x = np.zeros((10_001, 1), bool)
    with pytest.raises(ValueError, match="too large"):
        exact_wasserstein(x, x)
    with pytest.raises(ValueError, match="too large"):
        exact_wasserstein(np.zeros((501, 1), bool), np.zeros((500, 1), bool))


# --------------------------------------------------------------------------- sinkhorn


@pytest.mark.parametrize("p", [1, 2])
def test_wasserstein_matches_exact_when_converged(rng, p):
    x = _clustered_codes(rng, 61, 96, 0.0)
    y = _clustered_codes(np.random.default_rng(1), 47, 96, 0.8)
    a, b = _weights(rng, 61, zero=True), _weights(rng, 47)
    exact = exact_wasserstein(x, y, a=a, b=b, p=p)
    for method in ("kernel", "ott"):
        res = wasserstein(x, y, a=a, b=b, p=p, method=method)
        assert bool(res.converged), method
        # Default epsilon: within 1 % of exact (the documented rule).
        assert float(res.value) == pytest.approx(exact, rel=1e-2), method
        assert float(res.value) >= exact * (1 - 2e-3)  # an entropic plan costs at least W_p


def test_default_epsilon_rule_and_within_one_percent(rng):
    x = _clustered_codes(rng, 200, 256, 0.0)
    y = _clustered_codes(np.random.default_rng(2), 200, 256, 0.5)
    res = wasserstein(x, y)
    c = _hamming(x, y)
    assert float(res.epsilon) == pytest.approx(DEFAULT_RELATIVE_EPSILON * c.mean(), rel=1e-5)
    exact = exact_wasserstein(x, y)
    assert bool(res.converged)
    assert abs(float(res.value) - exact) <= 1e-2 * exact


def test_real_costs_match_pot_sinkhorn(rng):
    x, y = rng.normal(size=(23, 4)), rng.normal(size=(31, 4)) + 1.0
    a, b = _weights(rng, 23), _weights(rng, 31)
    m = ot.dist(x, y, metric="sqeuclidean")
    eps = 0.5
    ref = ot.sinkhorn2(a, b, m, eps, method="sinkhorn_log", stopThr=1e-9, numItermax=10_000)
    for method in ("ott", "kernel"):
        res = wasserstein(
            x, y, cost="sqeuclidean", a=a, b=b, epsilon=eps, threshold=1e-6, method=method
        )
        assert float(res.value) == pytest.approx(float(ref), rel=1e-3), method
        assert float(res.epsilon) == pytest.approx(eps)


def test_divergence_of_sample_with_itself_is_zero(rng):
    x = _bits(rng, 23, 40)
    for method in ("ott", "online"):
        res = wasserstein(x, x, debiased=True, method=method)
        assert bool(res.converged)
        assert abs(float(res.value)) <= 1e-3 * 20  # vs a typical distance ~20 bits
    other = wasserstein(x, _bits(rng, 19, 40, 0.8), debiased=True)
    assert float(other.value) > 1.0


def test_non_convergence_is_returned_not_raised(rng):
    x, y = _bits(rng, 13, 50), _bits(rng, 11, 50, 0.7)
    for method in ("kernel", "ott", "online"):
        res = wasserstein(x, y, epsilon=0.01, max_iterations=3, method=method)
        assert not bool(res.converged), method
        assert int(res.n_iters) <= 10, method
        assert np.isfinite(float(res.value)), method


# --------------------------------------------------------------------------- online geometry


def test_online_geometry_matches_dense(rng):
    x, y = _bits(rng, 37, 70), _bits(rng, 29, 70, 0.3)
    px, py = pack_bits(x), pack_bits(y)
    c = jnp.asarray(_hamming(x, y) ** 2, jnp.float32)
    online = OnlineHammingGeometry(
        px.words, py.words, n_bits=70, power=2.0, block_size=8, epsilon=5.0
    )
    from ott.geometry import geometry

    dense = geometry.Geometry(cost_matrix=c, epsilon=5.0)
    f = jnp.asarray(rng.normal(size=37) * 10, jnp.float32)
    g = jnp.asarray(rng.normal(size=29) * 10, jnp.float32)
    for axis in (0, 1):
        got = online.apply_lse_kernel(f, g, 5.0, axis=axis)[0]
        ref = dense.apply_lse_kernel(f, g, 5.0, axis=axis)[0]
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-3)  # float32 lse of ~1e3
        vec = jnp.asarray(rng.normal(size=37 if axis == 0 else 29), jnp.float32)
        np.testing.assert_allclose(
            online.apply_cost(vec, axis=axis), dense.apply_cost(vec, axis=axis), rtol=1e-5
        )
    plan = jnp.exp((f[:, None] + g[None, :] - c) / 5.0)
    np.testing.assert_allclose(online.primal_cost(f, g), jnp.sum(plan * c), rtol=1e-4)


def test_online_wasserstein_matches_dense(rng):
    x, y = _bits(rng, 41, 33), _bits(rng, 27, 33, 0.7)
    a = _weights(rng, 41)
    dense = wasserstein(x, y, a=a, epsilon=0.3, method="ott")
    online = wasserstein(x, y, a=a, epsilon=0.3, method="online", block_size=7)
    assert bool(online.converged) and bool(dense.converged)
    assert float(online.value) == pytest.approx(float(dense.value), rel=1e-4)
    assert int(online.n_iters) == int(dense.n_iters)


# --------------------------------------------------------------------------- gradients


@pytest.mark.parametrize(("cost", "debiased"), [("sqeuclidean", False), ("euclidean", True)])
def test_gradient_matches_finite_differences(rng, cost, debiased):
    with jax.enable_x64(True):
        x, y = rng.normal(size=(9, 3)), rng.normal(size=(7, 3)) + 1.0
        u = rng.normal(size=x.shape)

        def f(z):
            return wasserstein(
                z, y, cost=cost, epsilon=0.1, threshold=1e-8, debiased=debiased
            ).value

        # OTT-JAX's backward pass broadcasts implicitly; conftest makes that raise.
        with jax.numpy_rank_promotion("allow"):
            g = jax.grad(f)(jnp.asarray(x))
        h = 1e-4
        fd = (f(x + h * u) - f(x - h * u)) / (2 * h)
        assert float(jnp.sum(g * u)) == pytest.approx(float(fd), rel=1e-4, abs=1e-7)


# --------------------------------------------------------------------------- bad input


def test_bad_input_raises(rng):
    x, y = _bits(rng, 5, 8), _bits(rng, 4, 8)
    xr = rng.normal(size=(5, 3))
    with pytest.raises(ValueError, match="same number of bits"):
        wasserstein(x, _bits(rng, 4, 9))
    with pytest.raises(ValueError, match="same dimension"):
        wasserstein(xr, rng.normal(size=(4, 2)), cost="euclidean")
    bad = xr.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        wasserstein(bad, xr, cost="euclidean")
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="finite"):
        exact_wasserstein(xr, bad, cost="sqeuclidean")
    with pytest.raises(ValueError, match="nonnegative"):
        wasserstein(x, y, a=[0.5, 0.5, 0.5, 0.5, -1.0])
    with pytest.raises(ValueError, match="sum to 1"):
        wasserstein(x, y, b=[0.5, 0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="shape"):
        exact_wasserstein(x, y, a=[0.5, 0.5])
    with pytest.raises(ValueError, match="epsilon"):
        wasserstein(x, y, epsilon=0.0)
    with pytest.raises(ValueError, match="`p`"):
        wasserstein(x, y, p=0.5)
    with pytest.raises(ValueError, match="`p`"):
        exact_wasserstein(x, y, p=0.9)
    with pytest.raises(ValueError, match="at least one"):
        wasserstein(np.zeros((0, 8), bool), y)
    with pytest.raises(ValueError, match="at least one"):
        exact_wasserstein(xr, np.zeros((0, 3)), cost="euclidean")
    with pytest.raises(TypeError, match="real"):
        wasserstein(pack_bits(x), pack_bits(y), cost="euclidean")
    with pytest.raises(TypeError):
        wasserstein(xr, xr)  # floats are not codes
    with pytest.raises(ValueError, match="cost"):
        wasserstein(x, y, cost="cosine")
    with pytest.raises(ValueError, match="method"):
        wasserstein(x, y, method="fast")
    with pytest.raises(ValueError, match="online"):
        wasserstein(xr, xr, cost="euclidean", method="online")
    with pytest.raises(ValueError, match="threshold"):
        wasserstein(x, y, threshold=0)
    with pytest.raises(ValueError, match="max_iterations"):
        wasserstein(x, y, max_iterations=0)


def test_coincident_samples_give_zero(rng):
    x = np.array([[1, 0, 1]])
    y = np.array([[1, 0, 1], [0, 1, 1]])
    # All mass on coinciding codes: the mean cost is 0, W_1 = 0 (default epsilon stays finite).
    res = wasserstein(x, y, b=[1.0, 0.0])
    assert float(res.value) == 0.0 and bool(res.converged) and float(res.epsilon) > 0
    assert exact_wasserstein(x, y, b=[1.0, 0.0]) == 0.0
