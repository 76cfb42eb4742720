import inspect
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import hamgeo
from conftest import f32_tol
from hamgeo.binary_geometry import (
    angle_overlap,
    angle_theory,
    binarization_angles,
    dot_product_preservation,
    sign_angle_limit,
)

# ----------------------------------------------------------------------------- angles


def _numpy_angles(key, dim, n, distribution):
    """Independent reference: redraw the same vectors, form bin(w) explicitly, NumPy math."""
    keys = jax.vmap(lambda k: jax.random.split(k, 3))(jax.random.split(key, n))
    if distribution == "uniform":
        draw = jax.vmap(jax.vmap(lambda k: jax.random.uniform(k, (dim,), minval=-1.0, maxval=1.0)))
    else:
        draw = jax.vmap(jax.vmap(lambda k: jax.random.normal(k, (dim,))))
    w, u, v = np.moveaxis(np.asarray(draw(keys), np.float64), 1, 0)
    b = np.where(w > 0, 1.0, -1.0)
    norm = lambda a: np.linalg.norm(a, axis=1)
    sign = np.degrees(np.arccos((w * b).sum(1) / norm(w) / norm(b)))
    pairs = np.degrees(np.arccos((u * v).sum(1) / norm(u) / norm(v)))
    return sign, pairs


def _assert_angles_close(got, ref, dim):
    """float32 angles (degrees) against ``ref``: the cosine is a ratio of three float32 sums
    of ``dim`` terms whose |terms| add up to at most the product of the norms
    (Cauchy-Schwarz), so it is off by at most f32_tol(3 dim); arccos turns that into
    degrees / sin(angle)."""
    got, ref = np.asarray(got, np.float64), np.asarray(ref, np.float64)
    tol = np.degrees(f32_tol(3 * dim)) / np.maximum(np.sin(np.radians(ref)), 1e-3)
    assert np.all(np.abs(got - ref) <= tol), np.abs(got - ref).max()


@pytest.mark.parametrize("distribution", ["uniform", "gaussian"])
def test_angles_match_numpy_reference(key, distribution):
    sign, pairs = binarization_angles(key=key, dim=33, n=7, distribution=distribution, batch_size=3)
    ref_sign, ref_pairs = _numpy_angles(key, 33, 7, distribution)
    _assert_angles_close(sign, ref_sign, 33)
    _assert_angles_close(pairs, ref_pairs, 33)


def test_batching_jit_and_vmap_do_not_change_results(key):
    # Other batch shapes, jit and vmap compile other programs (XLA may vectorize the
    # 29-term sums differently): equal up to float32 rounding, not bit for bit.
    full = binarization_angles(key=key, dim=29, n=17, batch_size=17)
    for batch_size in (1, None):
        got = binarization_angles(key=key, dim=29, n=17, batch_size=batch_size)
        _assert_angles_close(got.sign, full.sign, 29)
        _assert_angles_close(got.pairs, full.pairs, 29)
    keys = jax.random.split(key, 2)
    vm = jax.vmap(lambda k: binarization_angles(key=k, dim=29, n=17, batch_size=17))(keys)
    jitted = jax.jit(lambda k: binarization_angles(key=k, dim=29, n=17, batch_size=17))
    for i in range(2):
        one = binarization_angles(key=keys[i], dim=29, n=17, batch_size=17)
        _assert_angles_close(jitted(keys[i]).sign, one.sign, 29)
        _assert_angles_close(vm.sign[i], one.sign, 29)
        _assert_angles_close(vm.pairs[i], one.pairs, 29)


def test_limit_angles():
    assert sign_angle_limit("uniform") == pytest.approx(30.0, abs=1e-9)
    assert sign_angle_limit("gaussian") == pytest.approx(
        math.degrees(math.acos(math.sqrt(2 / math.pi))), abs=1e-9
    )


@pytest.mark.parametrize("distribution", ["uniform", "gaussian"])
def test_angles_match_theory_at_moderate_dim(key, distribution):
    dim, n = 257, 2000
    sign, pairs = binarization_angles(key=key, dim=dim, n=n, distribution=distribution)
    sign, pairs = np.asarray(sign, np.float64), np.asarray(pairs, np.float64)
    t = angle_theory(dim, distribution)
    # CLT: the sample mean is off by sigma / sqrt(n); allow 5 standard errors
    assert abs(sign.mean() - t.sign_mean) < 5 * t.sign_std / math.sqrt(n)
    assert abs(pairs.mean() - 90.0) < 5 * t.pair_std / math.sqrt(n)
    # sample std has relative standard error 1/sqrt(2n) = 1.6%; allow 7% (incl. delta method)
    assert sign.std() == pytest.approx(t.sign_std, rel=0.07)
    assert pairs.std() == pytest.approx(t.pair_std, rel=0.07)
    # the limit is approached from below and the O(1/dim) bias is small
    assert t.sign_limit - 0.2 < t.sign_mean < t.sign_limit


def test_pair_angle_spread_against_beta_law():
    # for Gaussian entries (1 + cos) / 2 ~ Beta((d - 1) / 2, (d - 1) / 2)
    for dim in (3, 17, 301):
        a = (dim - 1) / 2
        var = stats.beta(a, a).expect(lambda x: (np.arccos(2 * x - 1) - np.pi / 2) ** 2)
        assert angle_theory(dim, "gaussian").pair_std == pytest.approx(
            math.degrees(math.sqrt(var)), rel=1e-4
        )
    # and tends to 1 / sqrt(dim) radians
    assert angle_theory(4001).pair_std == pytest.approx(math.degrees(4001**-0.5), rel=1e-3)


def test_overlap_shrinks_with_dim_and_matches_samples(key):
    overlaps = [angle_theory(d).overlap for d in (2, 4, 10, 30, 100)]
    assert all(a > b for a, b in zip(overlaps, overlaps[1:], strict=False))
    assert overlaps[-1] < 1e-10
    # histogram overlap of 20000-sample histograms: noise ~ sqrt(overlap / n) ~ 1e-3
    for distribution in ("uniform", "gaussian"):
        sign, pairs = binarization_angles(key=key, dim=10, n=20000, distribution=distribution)
        emp = angle_overlap(sign, pairs)
        assert emp == pytest.approx(angle_theory(10, distribution).overlap, abs=0.006)


def test_dim_one_edge_case(key):
    sign, pairs = binarization_angles(key=key, dim=1, n=200)
    np.testing.assert_allclose(np.asarray(sign), 0.0, atol=1e-6)
    assert set(np.round(np.asarray(pairs)).tolist()) <= {0.0, 180.0}
    t = angle_theory(1)
    assert (t.sign_mean, t.pair_std, t.overlap) == (0.0, 90.0, 0.5)


def test_angle_overlap_reference():
    a = np.array([1.0, 2.0, 3.0, 50.0])
    assert angle_overlap(a, a) == pytest.approx(1.0)
    assert angle_overlap(a, a + 90.0) == pytest.approx(0.0)
    # 2 bins: a -> [3/4, 1/4], b -> [0, 1] -> overlap 1/4
    assert angle_overlap([1.0, 2.0, 3.0, 100.0], [170.0], bins=2) == pytest.approx(0.25)


def test_angles_reexported():
    assert hamgeo.binarization_angles is binarization_angles


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        ({"dim": 10, "n": 5, "distribution": "cauchy"}, ValueError, "`distribution`"),
        ({"dim": 0, "n": 5}, ValueError, "`dim` must be an integer >= 1"),
        ({"dim": 10, "n": 0}, ValueError, "`n` must be an integer >= 1"),
        ({"dim": 10.0, "n": 5}, TypeError, "`dim` must be an int"),
        ({"dim": 10, "n": True}, TypeError, "`n` must be an int"),
        ({"dim": 10, "n": 5, "batch_size": 0}, ValueError, "`batch_size`"),
    ],
)
def test_angles_bad_input(key, kwargs, err, match):
    with pytest.raises(err, match=match):
        binarization_angles(key=key, **kwargs)


def test_theory_bad_input():
    with pytest.raises(ValueError, match="`distribution`"):
        angle_theory(10, "laplace")
    with pytest.raises(ValueError, match="`dim`"):
        angle_theory(0)
    with pytest.raises(ValueError, match="`a` must hold at least one angle"):
        angle_overlap([], [1.0])


@pytest.mark.parametrize(
    ("a", "b", "kwargs", "match"),
    [
        ([np.nan, 1.0], [1.0], {}, "`a`"),
        ([1.0], [2.0, np.inf], {}, "`b`"),
        ([1.0, 200.0], [1.0], {}, r"`a` must be angles in `range_deg` \[0.0, 180.0\]"),
        ([1.0], [-0.5], {}, "`b` must be angles in `range_deg`"),
        ([5.0], [5.0], {"range_deg": (10.0, 5.0)}, "`range_deg` must be"),
        ([5.0], [5.0], {"range_deg": (0.0, np.nan)}, "`range_deg"),
        ([5.0], [5.0], {"range_deg": (0.0, 1.0, 2.0)}, "`range_deg"),
    ],
)
def test_angle_overlap_refuses_what_it_would_drop(a, b, kwargs, match):
    # np.histogram silently drops NaN and out-of-range values: refused, naming the argument.
    with pytest.raises(ValueError, match=match):
        angle_overlap(a, b, **kwargs)
    assert angle_overlap([0.0, 180.0], [180.0], bins=2) == pytest.approx(0.5)  # ends count


def test_keys_keyword_only_and_never_defaulted(key):
    for fn in (binarization_angles, dot_product_preservation):
        p = inspect.signature(fn).parameters["key"]
        assert p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is inspect.Parameter.empty
    with pytest.raises(TypeError):
        binarization_angles(key, dim=3, n=2)  # positional key: refused by the signature
    with pytest.raises(TypeError, match="host-only"):
        jax.jit(lambda t: angle_overlap(t, [1.0]))(jnp.ones(3))


# ----------------------------------------------------------------------------- dot products


def _corr(a, b):
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


def _unit_corr(a, b):
    """Per-column Pearson correlation of two ``[n, units]`` arrays (NaN for a constant column)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    out = np.full(a.shape[1], np.nan)
    for j in range(a.shape[1]):
        if a[:, j].std() > 1e-9 * np.abs(a[:, j]).max() and b[:, j].std() > 0:
            out[j] = np.corrcoef(a[:, j], b[:, j])[0, 1]
    return out


def _trained_mlp():
    from hamgeo import data, nets

    ds = data.digits()
    model = nets.BinaryMLP((96, 96), 10)
    result = nets.train(
        model, ds, epochs=6, batch_size=64, learning_rate=1e-2, key=jax.random.key(3)
    )
    return model, result.variables, ds


def test_dot_products_on_tiny_trained_bnn():
    # one training run shared by three checks (a fixture would train once per xdist worker)
    model, variables, ds = _trained_mlp()
    _check_dense_layers_against_numpy(model, variables, ds)
    _check_trained_bnn_preserves_dot_products(model, variables, ds)
    _check_streaming_does_not_depend_on_batch_size(model, variables, ds)


def _check_dense_layers_against_numpy(model, variables, ds):
    from hamgeo.nets import binary_layer_io

    x = ds.x_test[:101]
    got = dot_product_preservation(
        model, variables, x, batch_size=29, n_keep=50, key=jax.random.key(0)
    )
    ios = binary_layer_io(model, variables, x)
    assert [r.input_dim for r in got] == [64, 96, 96]
    for r, io in zip(got, ios, strict=True):
        a_b, a_c = np.asarray(io.inputs, np.float64), np.asarray(io.inputs_continuous, np.float64)
        wc = np.asarray(io.latent_kernel, np.float64)
        wb = np.where(wc >= 0, 1.0, -1.0)
        assert r.kind == "dense"
        assert r.n_pairs == a_b.shape[0] * wc.shape[1]
        # streamed float64 statistics of float32 products vs float64 products: as in the
        # streaming check below, a few times the products' relative rounding
        tol = 10 * f32_tol(r.input_dim)
        assert r.dot_corr == pytest.approx(_corr(a_b @ wb, a_b @ wc), abs=tol)
        scale = ((a_b @ wb) * (a_b @ wc)).sum() / ((a_b @ wc) ** 2).sum()
        assert r.dot_scale == pytest.approx(scale, rel=tol)
        cos = (wc * wb).sum(0) / np.linalg.norm(wc, axis=0) / np.linalg.norm(wb, axis=0)
        assert r.weight_angle_deg == pytest.approx(np.degrees(np.arccos(cos)).mean(), abs=1e-6)
        if r.layer == 1:
            assert math.isnan(r.act_corr) and math.isnan(r.act_scale)
            assert np.isnan(r.act_corr_units).all() and math.isnan(r.act_corr_unit_median)
        else:
            assert r.act_corr == pytest.approx(_corr(a_c @ wb, a_b @ wb), abs=tol)
            ref_act = _unit_corr(a_c @ wb, a_b @ wb)
            np.testing.assert_allclose(r.act_corr_units, ref_act, atol=tol)
        # per unit: np.corrcoef column by column, then quartiles over the finite ones
        ref_units = _unit_corr(a_b @ wb, a_b @ wc)
        np.testing.assert_allclose(r.dot_corr_units, ref_units, atol=tol)
        q25, q50, q75 = np.nanquantile(ref_units, [0.25, 0.5, 0.75])
        assert r.dot_corr_unit_q25 == pytest.approx(q25, abs=tol)
        assert r.dot_corr_unit_median == pytest.approx(q50, abs=tol)
        assert r.dot_corr_unit_q75 == pytest.approx(q75, abs=tol)
        # isotropic prediction: cos angle(w_b, w_c) per unit
        np.testing.assert_allclose(r.isotropic_corr_units, cos, atol=1e-12)
        assert r.isotropic_corr_median == pytest.approx(np.median(cos), abs=1e-12)
        # random baseline: the documented ±1 weights (one key per layer), pooled and per unit
        k_rand = jax.random.fold_in(jax.random.split(jax.random.key(0))[1], r.layer - 1)
        wr = np.asarray(jax.random.rademacher(k_rand, wc.shape, np.float32), np.float64)
        assert r.random_corr == pytest.approx(_corr(a_b @ wr, a_b @ wc), abs=tol)
        ref_rand = _unit_corr(a_b @ wr, a_b @ wc)
        np.testing.assert_allclose(r.random_corr_units, ref_rand, atol=tol)
        assert r.random_abs_corr_unit_median == pytest.approx(
            np.median(np.abs(ref_rand[np.isfinite(ref_rand)])), abs=tol
        )
        assert r.dots_binary.shape == r.dots_continuous.shape == r.act_continuous.shape == (50,)
        # the kept pairs are real pairs: each (a.w_b, a.w_c) occurs in the full products
        full = set(zip(np.round(a_b @ wb, 3).ravel(), np.round(a_b @ wc, 2).ravel(), strict=True))
        for b, c in zip(r.dots_binary[:5], r.dots_continuous[:5], strict=True):
            assert (round(float(b), 3), round(float(c), 2)) in full


def _check_trained_bnn_preserves_dot_products(model, variables, ds):
    layers = dot_product_preservation(
        model, variables, ds.x_test, batch_size=29, key=jax.random.key(0)
    )
    first, deeper = layers[0], layers[1:]
    for r in deeper:
        # the paper's Fig. 3: high correlation once the fan-in is ~100 (0.90-0.95 for
        # this 96-wide net after 6 epochs; per unit 0.90-0.97)
        assert r.dot_corr > 0.85, r
        assert r.act_corr > 0.85, r
        assert r.dot_corr_unit_q25 > 0.8, r
        # far above what a random binary vector scores on the same inputs
        assert r.dot_corr_unit_median > r.random_abs_corr_unit_median + 0.3, r
    assert first.dot_corr < min(r.dot_corr for r in deeper)
    for r in layers:
        # shuffled control: the null std of Pearson's r is 1/sqrt(n_pairs); allow 5 of them
        assert abs(r.control_corr) < 5 / math.sqrt(r.n_pairs), r


def _check_streaming_does_not_depend_on_batch_size(model, variables, ds):
    x = ds.x_test[:60]
    a = dot_product_preservation(model, variables, x, batch_size=60, key=jax.random.key(0))
    b = dot_product_preservation(
        model, variables, x, batch_size=29, key=jax.random.key(0)
    )  # 29 + 29 + 2 (padded)
    for ra, rb in zip(a, b, strict=True):
        # The products are float32 dot products of input_dim terms (|a|, |w| <= 1 after
        # layer 1; digits pixels <= 1) whose XLA summation order may change with the batch
        # shape; the float64 statistics of the 60 * units pairs then move by a few times
        # the products' relative rounding: f32_tol(input_dim) relative, times 10.
        tol = 10 * f32_tol(ra.input_dim)
        assert ra.dot_corr == pytest.approx(rb.dot_corr, abs=tol)
        assert ra.dot_scale == pytest.approx(rb.dot_scale, rel=tol)
        np.testing.assert_allclose(ra.dot_corr_units, rb.dot_corr_units, atol=tol)


def _numpy_same_conv(x, w):
    """Reference stride-1 'SAME' cross-correlation in NumPy, 1-D or 2-D, float64."""
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    if w.ndim == 3:  # 1-D: view as 2-D with height 1
        return _numpy_same_conv(x[:, None], w[None])[:, 0]
    kh, kw = w.shape[:2]
    pad = ((0, 0), ((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2), (0, 0))
    xp = np.pad(x, pad)
    n, h, wd, _ = x.shape
    out = np.zeros((n, h, wd, w.shape[-1]))
    for i in range(kh):
        for j in range(kw):
            out += np.einsum("nhwc,co->nhwo", xp[:, i : i + h, j : j + wd], w[i, j])
    return out


@pytest.mark.parametrize("image", [True, False])
def test_conv_layers_against_numpy_conv(key, image):
    from hamgeo import nets

    model = nets.BinaryCNN((3, 5), (7,), 4)
    shape = (9, 6, 5, 2) if image else (9, 11, 2)
    x = jax.random.normal(key, shape)
    variables = jax.jit(model.init)(jax.random.key(1), x)
    # every output position sampled: the statistics are those of the full conv outputs
    got = dot_product_preservation(model, variables, x, positions_per_example=1000, key=key)
    layer_arrays = jax.jit(
        lambda v, x: [
            (io.inputs, io.inputs_continuous, io.latent_kernel, io.preactivations)
            for io in nets.binary_layer_io(model, v, x)
        ]
    )(variables, x)
    for r, (a_b, a_c, wc, pre) in zip(got, layer_arrays, strict=True):
        if wc.ndim == 2:
            continue
        wb = np.where(np.asarray(wc) >= 0, 1.0, -1.0)
        z_b = _numpy_same_conv(a_b, wb)
        fan_in = int(np.prod(wc.shape[:-1]))
        # float32 sums of fan_in products with |w_b| = 1: |terms| add up to <= fan_in max|a|
        mag = fan_in * float(np.abs(np.asarray(a_b)).max())
        np.testing.assert_allclose(z_b, np.asarray(pre), atol=f32_tol(fan_in, mag))
        assert r.kind == "conv"
        assert r.input_dim == fan_in
        assert r.n_pairs == z_b.size
        tol = 10 * f32_tol(fan_in)  # as in the dense check
        assert r.dot_corr == pytest.approx(_corr(z_b, _numpy_same_conv(a_b, wc)), abs=tol)
        if r.layer > 1:
            ref = _corr(_numpy_same_conv(a_c, wb), z_b)
            assert r.act_corr == pytest.approx(ref, abs=tol)


def test_dot_product_preservation_bad_input(key):
    from hamgeo import data, nets

    ds = data.digits()
    model = nets.BinaryMLP((5,), 3)
    variables = jax.jit(model.init)(key, ds.x_test[:1])
    with pytest.raises(ValueError, match="`batch_size`"):
        dot_product_preservation(model, variables, ds.x_test, batch_size=0, key=key)
    with pytest.raises(ValueError, match="`positions_per_example`"):
        dot_product_preservation(model, variables, ds.x_test, positions_per_example=0, key=key)
    with pytest.raises(ValueError, match="`x` must be a non-empty batch"):
        dot_product_preservation(model, variables, ds.x_test[:0], key=key)
    relu = nets.MLP((4,), 2)
    with pytest.raises(TypeError, match="`model` must be a BinaryMLP or BinaryCNN"):
        dot_product_preservation(relu, relu.init(key, ds.x_test[:1]), ds.x_test[:3], key=key)
    with pytest.raises(TypeError, match="`key`"):
        dot_product_preservation(model, variables, ds.x_test, key=0)


def test_isotropic_inputs_match_the_angle_prediction_and_random_baseline(key):
    # Layer 1 of an untrained BinaryMLP reads x directly: with isotropic Gaussian x the
    # per-unit correlation of x.w_b with x.w_c is cos angle(w_b, w_c), and a random ±1
    # vector scores |r| ~ |N(0, 1/d + 1/n)|, median 0.674 * sqrt(1/d + 1/n).
    from hamgeo import nets

    n, d, units = 3000, 64, 256
    model = nets.BinaryMLP((units,), 2)
    x = jax.random.normal(key, (n, d))
    variables = jax.jit(model.init)(jax.random.key(1), x[:1])
    first = dot_product_preservation(model, variables, x, batch_size=1000, key=key)[0]
    rho = first.isotropic_corr_units
    # sample correlation: standard error (1 - rho^2) / sqrt(n); 5 of them, per unit
    np.testing.assert_array_less(np.abs(first.dot_corr_units - rho), 5 * (1 - rho**2) / n**0.5)
    expected = 0.674 * math.sqrt(1 / d + 1 / n)
    # median of 256 |normals|: relative standard error ~ 1.25 / (0.674 * 2 * sqrt(256)) ~ 6%
    assert first.random_abs_corr_unit_median == pytest.approx(expected, rel=0.25)
    assert abs(first.random_corr) < 5 / math.sqrt(first.n_pairs) + 0.05


def test_random_baseline_fails_on_rank_one_inputs(key):
    # x = s_i * u: every unit's products are multiples of s_i, so any weights (random too)
    # correlate perfectly in absolute value; the baseline says preservation means nothing.
    from hamgeo import nets

    s_, u = jax.random.normal(key, (2, 200, 1)), jax.random.normal(jax.random.key(5), (1, 31))
    x = s_[0] * u
    model = nets.BinaryMLP((33,), 2)
    variables = jax.jit(model.init)(jax.random.key(1), x[:1])
    first = dot_product_preservation(model, variables, x, key=key)[0]
    assert first.random_abs_corr_unit_median == pytest.approx(1.0, abs=1e-4)
    assert first.dot_corr_unit_median == pytest.approx(1.0, abs=1e-4)
