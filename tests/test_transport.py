"""Tests for hamgeo.transport: HammingGeometry, the Sinkhorn engines, exact transport."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import ot
import pytest

from hamgeo import HammingGeometry, exact_wasserstein, pack_bits, wasserstein
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
    # both float64 and exact (assignment vs network simplex)
    assert exact_wasserstein(x, y, cost=cost) == pytest.approx(ot.emd2(u, u, m), rel=1e-9)
    # Non-uniform weights: the HiGHS path, p = 2.
    a = _weights(rng, 19)
    ref = np.sqrt(ot.emd2(a, u, m**2))
    assert exact_wasserstein(x, y, cost=cost, p=2, a=a) == pytest.approx(ref, rel=1e-9)


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


def test_default_epsilon_rule_and_within_one_percent(rng, f32_tol):
    x = _clustered_codes(rng, 200, 256, 0.0)
    y = _clustered_codes(np.random.default_rng(2), 200, 256, 0.5)
    res = wasserstein(x, y)
    c = _hamming(x, y)
    # a^T C b in float32: two matrix-vector reductions of 200 terms (relative error)
    assert float(res.epsilon) == pytest.approx(
        DEFAULT_RELATIVE_EPSILON * c.mean(), rel=f32_tol(2 * 200)
    )
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


def test_online_geometry_matches_dense(rng, f32_tol):
    x, y = _bits(rng, 37, 70), _bits(rng, 29, 70, 0.3)
    px, py = pack_bits(x), pack_bits(y)
    c64 = _hamming(x, y) ** 2
    c = jnp.asarray(c64, jnp.float32)
    online = HammingGeometry(px, py, power=2.0, batch_size=8, epsilon=5.0)
    from ott.geometry import geometry

    dense = geometry.Geometry(cost_matrix=c, epsilon=5.0)
    f = jnp.asarray(rng.normal(size=37) * 10, jnp.float32)
    g = jnp.asarray(rng.normal(size=29) * 10, jnp.float32)
    z = np.abs(np.asarray(f)[:, None] + np.asarray(g)[None, :] - c64)  # |f + g - C|
    for axis in (0, 1):
        n_terms = 37 if axis == 0 else 29  # axis=0 reduces over the rows of C
        got = online.apply_lse_kernel(f, g, 5.0, axis=axis)[0]
        ref = dense.apply_lse_kernel(f, g, 5.0, axis=axis)[0]
        # eps * logsumexp: the rounding of arguments of size |f + g - C| dominates
        np.testing.assert_allclose(got, ref, rtol=0, atol=f32_tol(n_terms, z.max()))
        vec = np.asarray(rng.normal(size=n_terms), np.float32)
        # C^T vec or C vec: sums of n_terms products, bounded by |C| |vec|
        mag = (np.abs(c64).T if axis == 0 else np.abs(c64)) @ np.abs(vec)
        np.testing.assert_allclose(
            online.apply_cost(jnp.asarray(vec), axis=axis),
            dense.apply_cost(jnp.asarray(vec), axis=axis),
            rtol=0,
            atol=f32_tol(n_terms, mag.max()),
        )
    plan = jnp.exp((f[:, None] + g[None, :] - c) / 5.0)
    # exp turns the rounding of its argument (|f + g - C| / eps) into a relative error,
    # then a sum of 37 * 29 positive terms
    rel = f32_tol(4, z.max() / 5.0) + f32_tol(37 * 29)
    got = jnp.sum(online.transport_from_potentials(f, g) * online.cost_matrix)
    np.testing.assert_allclose(got, jnp.sum(plan * c), rtol=rel)


def test_online_wasserstein_matches_dense(rng):
    x, y = _bits(rng, 41, 33), _bits(rng, 27, 33, 0.7)
    a = _weights(rng, 41)
    dense = wasserstein(x, y, a=a, epsilon=0.3, method="ott")
    online = wasserstein(x, y, a=a, epsilon=0.3, method="online", block_size=7)
    assert bool(online.converged) and bool(dense.converged)
    # Two float32 paths of one algorithm: each stops once its marginal error is below the
    # threshold (1e-3, checked every 10 iterations), so they may stop one check apart and
    # their values differ by at most about 2 * threshold * max cost (33 bits).
    assert abs(int(online.n_iters) - int(dense.n_iters)) <= 10
    assert float(online.value) == pytest.approx(float(dense.value), abs=2 * 1e-3 * 33)


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
    with pytest.raises(ValueError, match="positive sum"):
        wasserstein(x, y, b=[0.0, 0.0, 0.0, 0.0])
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
    with pytest.raises(TypeError, match="`x`"):
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


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        # epsilon=inf used to give 1.0 with converged=True (the exact value is 0.5)
        ({"epsilon": float("inf")}, ValueError, "`epsilon` must be a finite number"),
        ({"epsilon": float("nan")}, ValueError, "`epsilon`"),
        ({"epsilon": -1.0}, ValueError, "`epsilon` must be > 0"),
        ({"epsilon": "0.1"}, TypeError, "`epsilon` must be a real number"),
        ({"p": float("inf")}, ValueError, "`p`"),
        ({"p": "2"}, TypeError, "`p`"),
        ({"p": True}, TypeError, "`p`"),
        ({"max_iterations": 1.7}, TypeError, "`max_iterations` must be an integer"),
        ({"max_iterations": 2**40}, ValueError, "`max_iterations`"),
        ({"threshold": float("nan")}, ValueError, "`threshold`"),
        ({"threshold": -1e-3}, ValueError, "`threshold`"),
        ({"debiased": "yes"}, TypeError, "`debiased` must be a bool"),
        ({"block_size": 0, "method": "online"}, ValueError, "`block_size`"),
        ({"block_size": 2.5, "method": "online"}, TypeError, "`block_size`"),
        ({"method": None}, TypeError, "`method`"),
        ({"cost": 1}, TypeError, "`cost`"),
        ({"a": [0.5, np.nan]}, ValueError, "`a` must be finite"),
        ({"a": [1.0, 1.0, 1.0]}, ValueError, r"`a` must have shape \[2\]"),
        ({"a": [[0.5, 0.5]]}, ValueError, "`a` must be 1-D"),
        ({"a": ["a", "b"]}, TypeError, "`a`"),
        ({"b": [0.5, 0.5j]}, TypeError, "`b`"),
        ({"b": [-0.5, 1.5]}, ValueError, "`b` must be nonnegative"),
        ({"p": 200}, ValueError, "`p` = 200 makes the ground cost d \\*\\* p overflow"),
    ],
)
def test_bad_arguments_raise_naming_them(kwargs, error, match):
    x, y = [[0, 0], [1, 1]], [[0, 1], [1, 1]]
    with pytest.raises(error, match=match):
        wasserstein(x, y, **kwargs)


def test_unnormalized_weights_are_normalized(rng, f32_tol):
    x, y = _bits(rng, 5, 8), _bits(rng, 4, 8)
    a = rng.random(5) + 0.1
    got = exact_wasserstein(x, y, a=a * 7.0)
    assert got == exact_wasserstein(x, y, a=a / a.sum())  # same float64 LP, exact
    res = wasserstein(x, y, a=a * 7.0, epsilon=0.1)
    ref = wasserstein(x, y, a=a / a.sum(), epsilon=0.1)
    # one float32 rounding of each weight apart: a relative change of a few eps32
    assert float(res.value) == pytest.approx(float(ref.value), rel=f32_tol(5 * 4, 1.0))


def test_large_finite_epsilon_gives_the_independent_plan(f32_tol):
    x, y = [[0, 0], [1, 1]], [[0, 1], [1, 1]]
    assert exact_wasserstein(x, y) == 0.5
    # A huge finite epsilon gives the cost of the product plan a b^T (here 1.0): that is
    # the entropic value, documented, not an error.
    res = wasserstein(x, y, epsilon=1e6, method="ott")
    # float32 sums of 4 costs <= 2, plus the O(max C / eps) departure of the plan from a b^T
    assert float(res.value) == pytest.approx(1.0, abs=f32_tol(4, 4 * 2.0) + 4 * 2.0 / 1e6)


@pytest.mark.parametrize("cost", ["euclidean", "sqeuclidean"])
@pytest.mark.parametrize("scale", [1e-15, 1.0, 1e15])
def test_real_costs_far_from_origin_and_at_extreme_scales(rng, cost, scale):
    # float32 would overflow (1e20 ** 2), underflow (1e-20 ** 2) or cancel (|x|^2 + |y|^2 -
    # 2 x.y at 1e4 from the origin) without the common shift and power-of-two scale.
    x, y = rng.normal(size=(13, 3)), rng.normal(size=(11, 3)) + 0.7
    exact = exact_wasserstein(x, y, cost=cost)
    for offset in (0.0, 1e4):
        xs, ys = (x + offset) * scale, (y + offset) * scale
        assert exact_wasserstein(xs, ys, cost=cost) == pytest.approx(
            exact * scale ** (2 if cost == "sqeuclidean" else 1), rel=1e-9
        )  # float64 on the host
        for method in ("kernel", "ott"):
            res = wasserstein(xs, ys, cost=cost, method=method)
            unit = scale ** (2 if cost == "sqeuclidean" else 1)
            assert bool(res.converged), (method, offset)
            # default epsilon: within 1 % of exact (as for codes)
            assert float(res.value) == pytest.approx(exact * unit, rel=1e-2), (method, offset)
            assert float(res.epsilon) > 0 and np.isfinite(float(res.epsilon))


def test_distance_beyond_float32_raises_not_inf_or_denormal():
    x = np.array([[0.0], [1.0]])
    with pytest.raises(ValueError, match="outside the float32 range"):
        wasserstein(x * 1e300, (x + 3.0) * 1e300, cost="euclidean")
    with pytest.raises(ValueError, match="outside the float32 range"):
        wasserstein(x * 1e-25, (x + 3.0) * 1e-25, cost="sqeuclidean")  # W ~ 1e-50
    # float64 on the host: exact_wasserstein is fine
    assert exact_wasserstein(x * 1e300, (x + 3.0) * 1e300, cost="euclidean") == pytest.approx(
        3e300, rel=1e-12
    )


def test_coincident_samples_give_zero(rng):
    x = np.array([[1, 0, 1]])
    y = np.array([[1, 0, 1], [0, 1, 1]])
    # All mass on coinciding codes: the mean cost is 0, W_1 = 0 (default epsilon stays finite).
    res = wasserstein(x, y, b=[1.0, 0.0])
    assert float(res.value) == 0.0 and bool(res.converged) and float(res.epsilon) > 0
    assert exact_wasserstein(x, y, b=[1.0, 0.0]) == 0.0


# --------------------------------------------------------------------------- HammingGeometry


@pytest.mark.parametrize("batch_size", [None, 5])
def test_hamming_geometry_with_ott_solve_matches_pot(rng, batch_size):
    from ott.solvers import linear

    x, y = _bits(rng, 17, 33), _bits(rng, 29, 33, 0.7)
    a, b = _weights(rng, 17), _weights(rng, 29)
    c = _hamming(x, y)
    eps = 2.0
    geom = HammingGeometry(x, y, batch_size=batch_size, epsilon=eps)
    assert geom.is_online == (batch_size is not None)
    with jax.numpy_rank_promotion("allow"):  # OTT broadcasts internally
        out = linear.solve(geom, a=a, b=b, threshold=1e-6, max_iterations=5000)
        plan = np.asarray(geom.transport_from_potentials(out.f, out.g))
    ref = ot.sinkhorn(a, b, c, eps, method="sinkhorn_log", stopThr=1e-10, numItermax=100_000)
    assert bool(out.converged)
    # float32 potentials of |f + g - C| <= 2 * 33: plan entries carry a relative error of
    # f32_tol-size on exp's argument, plus OTT's stopping threshold 1e-6 on the marginals
    np.testing.assert_allclose(plan, ref, rtol=0, atol=1e-5)
    np.testing.assert_allclose(np.sum(plan * c), np.sum(ref * c), rtol=1e-4)


def test_hamming_geometry_dense_cost_and_scale_cost(rng):
    x, y = _bits(rng, 13, 65), _bits(rng, 11, 65, 0.3)
    c = _hamming(x, y)
    np.testing.assert_array_equal(HammingGeometry(x, y, power=2).cost_matrix, c**2)  # exact
    for batch in (None, 4):
        g = HammingGeometry(pack_bits(x), pack_bits(y), scale_cost="mean", batch_size=batch)
        # a mean of 13 * 11 integer costs in float32
        assert float(g.inv_scale_cost) == pytest.approx(1 / c.mean(), rel=1e-6)
        g = HammingGeometry(x, y, scale_cost="max_cost", batch_size=batch)
        # 1 / max in float32: one rounding
        assert float(g.inv_scale_cost) == pytest.approx(
            1 / c.max(), rel=float(np.finfo(np.float32).eps)
        )
    # a pytree: through jit with its static options intact
    geom = HammingGeometry(x, y, power=2, epsilon=0.5)
    got = jax.jit(lambda g: g.cost_matrix)(geom)
    np.testing.assert_array_equal(got, c**2)


def test_hamming_geometry_unbalanced_matches_pot(rng):
    from ott.problems.linear import linear_problem
    from ott.solvers.linear import sinkhorn

    x, y = _bits(rng, 15, 31), _bits(rng, 19, 31, 0.6)
    a, b = _weights(rng, 15) * 1.3, _weights(rng, 19)
    c = _hamming(x, y)
    eps, tau = 3.0, 0.8
    rho = eps * tau / (1 - tau)  # OTT's tau = rho / (rho + eps)
    for batch in (None, 4):
        geom = HammingGeometry(x, y, epsilon=eps, batch_size=batch)
        prob = linear_problem.LinearProblem(geom, a=a, b=b, tau_a=tau, tau_b=tau)
        with jax.numpy_rank_promotion("allow"):
            out = sinkhorn.Sinkhorn(threshold=1e-7, max_iterations=10_000)(prob)
            plan = np.asarray(geom.transport_from_potentials(out.f, out.g))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # POT: "c is overwritten" (intended)
            ref = ot.unbalanced.sinkhorn_unbalanced(
                a, b, c, eps, rho, reg_type="entropy", stopThr=1e-12, numItermax=100_000
            )
        # both solve min <P,C> - eps H(P) + rho KL(P1|a) + rho KL(P^T1|b)
        np.testing.assert_allclose(plan, ref, rtol=0, atol=2e-5 * ref.max())


def test_hamming_geometry_bad_input():
    with pytest.raises(ValueError, match="same number of bits"):
        HammingGeometry([[0, 1]], [[0, 1, 1]])
    with pytest.raises(ValueError, match="`power`"):
        HammingGeometry([[0, 1]], power=0)
    with pytest.raises(ValueError, match="`batch_size`"):
        HammingGeometry([[0, 1]], batch_size=0)
    with pytest.raises(TypeError, match="`x`"):
        HammingGeometry([[0.5, 1.0]])


# --------------------------------------------------------------------------- online solver


@pytest.mark.parametrize("p", [1, 2])
def test_online_kernel_solver_matches_dense_kernel(rng, p):
    x = _clustered_codes(rng, 43, 37, 0.0)
    y = _clustered_codes(np.random.default_rng(7), 31, 37, 0.6)
    a, b = _weights(rng, 43, zero=True), _weights(rng, 31)
    for eps in (None, 0.5 * 37**p / 37):
        dense = wasserstein(x, y, a=a, b=b, p=p, epsilon=eps, method="kernel", threshold=1e-4)
        online = wasserstein(
            x, y, a=a, b=b, p=p, epsilon=eps, method="online", block_size=7, threshold=1e-4
        )
        assert bool(online.converged) and bool(dense.converged)
        assert float(online.epsilon) == pytest.approx(float(dense.epsilon), rel=1e-5)
        # One algorithm, two float32 summation orders: each stops once its L1 marginal error
        # is below 1e-4, so the plans' costs differ by at most ~2 * 1e-4 * max cost.
        tol = 2 * 1e-4 * 37**p
        assert float(online.value) ** p == pytest.approx(float(dense.value) ** p, abs=tol)


# --------------------------------------------------------------------------- exact edge cases


def test_exact_nearly_uniform_weights_take_the_linear_program():
    # issue 23: allclose(a, 1/n) sent these to the assignment solver, which returned 0.0
    x = np.array([[0] * 1000, [1] * 1000])
    a = np.array([0.5 + 4e-6, 0.5 - 4e-6])
    b = np.full(2, 0.5)
    ref = ot.emd2(a, b, _hamming(x, x))
    assert ref == pytest.approx(0.004, rel=1e-9)
    assert exact_wasserstein(x, x, a=a) == pytest.approx(ref, rel=1e-9)  # float64 LP


def test_exact_and_entropic_extreme_inputs_raise_naming_them():
    x = np.array([[0.0], [1.0]])
    with pytest.raises(ValueError, match="`x` and `y`.*float64"):  # not OverflowError
        exact_wasserstein(x * 1e300, (x + 3.0) * 1e300, cost="sqeuclidean")
    for kwargs in ({"epsilon": 1e300}, {"threshold": 1e300}):
        with pytest.raises(ValueError, match=f"`{next(iter(kwargs))}` must be finite in float32"):
            wasserstein([[0, 1]], [[1, 1]], **kwargs)
    with pytest.raises(TypeError, match="host-only"):
        jax.jit(lambda z: exact_wasserstein(z, z))(jnp.zeros((2, 3), bool))
