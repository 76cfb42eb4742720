import math

import jax
import numpy as np
import pytest
from scipy import stats

import hamgeo
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


@pytest.mark.parametrize("distribution", ["uniform", "gaussian"])
def test_angles_match_numpy_reference(key, distribution):
    sign, pairs = binarization_angles(key, dim=33, n=7, distribution=distribution, batch_size=3)
    ref_sign, ref_pairs = _numpy_angles(key, 33, 7, distribution)
    # float32 arccos: 1e-3 degrees is ~100 ulp of the cosine
    np.testing.assert_allclose(np.asarray(sign), ref_sign, atol=1e-3)
    np.testing.assert_allclose(np.asarray(pairs), ref_pairs, atol=1e-3)


def test_batching_jit_and_vmap_do_not_change_results(key):
    full = binarization_angles(key, dim=29, n=17, batch_size=17)
    for batch_size in (1, None):
        got = binarization_angles(key, dim=29, n=17, batch_size=batch_size)
        np.testing.assert_array_equal(np.asarray(got.sign), np.asarray(full.sign))
        np.testing.assert_array_equal(np.asarray(got.pairs), np.asarray(full.pairs))
    keys = jax.random.split(key, 2)
    vm = jax.vmap(lambda k: binarization_angles(k, dim=29, n=17, batch_size=17))(keys)
    jitted = jax.jit(lambda k: binarization_angles(k, dim=29, n=17, batch_size=17))
    for i in range(2):
        one = binarization_angles(keys[i], dim=29, n=17, batch_size=17)
        np.testing.assert_array_equal(np.asarray(jitted(keys[i]).sign), np.asarray(one.sign))
        np.testing.assert_allclose(np.asarray(vm.sign[i]), np.asarray(one.sign), atol=1e-5)
        np.testing.assert_allclose(np.asarray(vm.pairs[i]), np.asarray(one.pairs), atol=1e-5)


def test_limit_angles():
    assert sign_angle_limit("uniform") == pytest.approx(30.0, abs=1e-9)
    assert sign_angle_limit("gaussian") == pytest.approx(
        math.degrees(math.acos(math.sqrt(2 / math.pi))), abs=1e-9
    )


@pytest.mark.parametrize("distribution", ["uniform", "gaussian"])
def test_angles_match_theory_at_moderate_dim(key, distribution):
    dim, n = 257, 2000
    sign, pairs = binarization_angles(key, dim=dim, n=n, distribution=distribution)
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
        sign, pairs = binarization_angles(key, dim=10, n=20000, distribution=distribution)
        emp = angle_overlap(sign, pairs)
        assert emp == pytest.approx(angle_theory(10, distribution).overlap, abs=0.006)


def test_dim_one_edge_case(key):
    sign, pairs = binarization_angles(key, dim=1, n=200)
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
        ({"dim": 0, "n": 5}, ValueError, "`dim` must be >= 1"),
        ({"dim": 10, "n": 0}, ValueError, "`n` must be >= 1"),
        ({"dim": 10.0, "n": 5}, TypeError, "`dim` must be an int"),
        ({"dim": 10, "n": True}, TypeError, "`n` must be an int"),
        ({"dim": 10, "n": 5, "batch_size": 0}, ValueError, "`batch_size`"),
    ],
)
def test_angles_bad_input(key, kwargs, err, match):
    with pytest.raises(err, match=match):
        binarization_angles(key, **kwargs)


def test_theory_bad_input():
    with pytest.raises(ValueError, match="`distribution`"):
        angle_theory(10, "laplace")
    with pytest.raises(ValueError, match="`dim`"):
        angle_theory(0)
    with pytest.raises(ValueError, match="`a` and `b` must be non-empty"):
        angle_overlap([], [1.0])


# ----------------------------------------------------------------------------- dot products


def _corr(a, b):
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


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
    got = dot_product_preservation(model, variables, x, batch_size=29, n_keep=50)
    ios = binary_layer_io(model, variables, x)
    assert [r.input_dim for r in got] == [64, 96, 96]
    for r, io in zip(got, ios, strict=True):
        a_b, a_c = np.asarray(io.inputs, np.float64), np.asarray(io.inputs_continuous, np.float64)
        wc = np.asarray(io.latent_kernel, np.float64)
        wb = np.where(wc >= 0, 1.0, -1.0)
        assert r.kind == "dense"
        assert r.n_pairs == a_b.shape[0] * wc.shape[1]
        # streamed float64 sums vs np.corrcoef on everything: agree to float32 rounding
        assert r.dot_corr == pytest.approx(_corr(a_b @ wb, a_b @ wc), abs=1e-5)
        scale = ((a_b @ wb) * (a_b @ wc)).sum() / ((a_b @ wc) ** 2).sum()
        assert r.dot_scale == pytest.approx(scale, rel=1e-5)
        cos = (wc * wb).sum(0) / np.linalg.norm(wc, axis=0) / np.linalg.norm(wb, axis=0)
        assert r.weight_angle_deg == pytest.approx(np.degrees(np.arccos(cos)).mean(), abs=1e-6)
        if r.layer == 1:
            assert math.isnan(r.act_corr) and math.isnan(r.act_scale)
        else:
            assert r.act_corr == pytest.approx(_corr(a_c @ wb, a_b @ wb), abs=1e-5)
        assert r.dots_binary.shape == r.dots_continuous.shape == r.act_continuous.shape == (50,)
        # the kept pairs are real pairs: each (a.w_b, a.w_c) occurs in the full products
        full = set(zip(np.round(a_b @ wb, 3).ravel(), np.round(a_b @ wc, 2).ravel(), strict=True))
        for b, c in zip(r.dots_binary[:5], r.dots_continuous[:5], strict=True):
            assert (round(float(b), 3), round(float(c), 2)) in full


def _check_trained_bnn_preserves_dot_products(model, variables, ds):
    layers = dot_product_preservation(model, variables, ds.x_test, batch_size=29)
    first, deeper = layers[0], layers[1:]
    for r in deeper:
        # the paper's Fig. 3: high correlation once the fan-in is ~100
        assert r.dot_corr > 0.9, r
        assert r.act_corr > 0.85, r
    assert first.dot_corr < min(r.dot_corr for r in deeper)
    for r in layers:
        # shuffled control: the null std of Pearson's r is 1/sqrt(n_pairs); allow 5 of them
        assert abs(r.control_corr) < 5 / math.sqrt(r.n_pairs), r


def _check_streaming_does_not_depend_on_batch_size(model, variables, ds):
    x = ds.x_test[:60]
    a = dot_product_preservation(model, variables, x, batch_size=60)
    b = dot_product_preservation(model, variables, x, batch_size=29)  # 29 + 29 + 2 (padded)
    for ra, rb in zip(a, b, strict=True):
        assert ra.dot_corr == pytest.approx(rb.dot_corr, abs=1e-9)
        assert ra.dot_scale == pytest.approx(rb.dot_scale, rel=1e-9)


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
    got = dot_product_preservation(model, variables, x, positions_per_example=1000)
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
        np.testing.assert_allclose(z_b, np.asarray(pre), atol=1e-4)
        assert r.kind == "conv"
        assert r.input_dim == int(np.prod(wc.shape[:-1]))
        assert r.n_pairs == z_b.size
        assert r.dot_corr == pytest.approx(_corr(z_b, _numpy_same_conv(a_b, wc)), abs=1e-5)
        if r.layer > 1:
            ref = _corr(_numpy_same_conv(a_c, wb), z_b)
            assert r.act_corr == pytest.approx(ref, abs=1e-5)


def test_dot_product_preservation_bad_input(key):
    from hamgeo import data, nets

    ds = data.digits()
    model = nets.BinaryMLP((5,), 3)
    variables = jax.jit(model.init)(key, ds.x_test[:1])
    with pytest.raises(ValueError, match="`batch_size`"):
        dot_product_preservation(model, variables, ds.x_test, batch_size=0)
    with pytest.raises(ValueError, match="`positions_per_example`"):
        dot_product_preservation(model, variables, ds.x_test, positions_per_example=0)
    with pytest.raises(ValueError, match="`x` must be a non-empty batch"):
        dot_product_preservation(model, variables, ds.x_test[:0])
    relu = nets.MLP((4,), 2)
    with pytest.raises(TypeError, match="`model` must be a BinaryMLP or BinaryCNN"):
        dot_product_preservation(relu, relu.init(key, ds.x_test[:1]), ds.x_test[:3])
