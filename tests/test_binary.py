import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from hamgeo.nets import (
    MLP,
    BinaryCNN,
    BinaryConv,
    BinaryDense,
    BinaryMLP,
    NoMeanBatchNorm,
    binary_layer_io,
    clip_latent_weights,
    preactivations,
    sign_ste,
)


def _np_sign(x):
    return np.where(np.asarray(x) >= 0, 1.0, -1.0)


def test_sign_ste_forward_and_backward(rng):
    x = np.concatenate([rng.normal(scale=1.5, size=29), [0.0, 1.0, -1.0, 1.0001, -1.0001]])
    x = jnp.asarray(x, jnp.float32)
    y = sign_ste(x)
    assert y.dtype == jnp.float32
    np.testing.assert_array_equal(y, _np_sign(x))  # sign(0) = +1
    g = jnp.asarray(rng.normal(size=x.shape), jnp.float32)
    _, vjp = jax.vjp(sign_ste, x)
    (grad,) = vjp(g)
    # Straight-through: g where |x| <= 1 (boundary included), 0 elsewhere; exact.
    np.testing.assert_array_equal(grad, np.where(np.abs(np.asarray(x)) <= 1, g, 0.0))
    assert np.all(np.isfinite(grad))
    # Under jit and vmap, the same.
    np.testing.assert_array_equal(jax.jit(jax.vmap(sign_ste))(x[:, None])[:, 0], y)


def test_binary_dense_and_conv_use_the_sign_of_latent_weights(key, rng, f32_tol):
    x = rng.normal(size=(5, 7)).astype(np.float32)
    dense = BinaryDense(3)
    v = dense.init(key, x)
    w = np.asarray(v["params"]["latent_kernel"])
    assert np.abs(w).max() <= 1.0  # Glorot-uniform init inside the clipping box
    # float32 sums of 7 products x_i * (+-1): |terms| add up to sum |x_i| per row
    tol = f32_tol(7, np.abs(x).sum(1).max())
    np.testing.assert_allclose(dense.apply(v, x), x @ _np_sign(w), rtol=0, atol=tol)

    xs = rng.normal(size=(2, 9, 3)).astype(np.float32)  # a 1-D signal, odd length
    conv = BinaryConv(4, (3,))
    v = conv.init(key, xs)
    k = _np_sign(v["params"]["latent_kernel"])  # [3, 3, 4]
    pad = np.pad(xs, ((0, 0), (1, 1), (0, 0)))
    ref = sum(np.einsum("nlc,co->nlo", pad[:, i : i + 9], k[i]) for i in range(3))
    tol = f32_tol(3 * 3, 3 * 3 * np.abs(xs).max())  # 3 taps x 3 channels, |w| = 1
    np.testing.assert_allclose(conv.apply(v, xs), ref, rtol=0, atol=tol)


def _loss(model, variables, x, y):
    def f(params):
        logits, _ = model.apply(
            {**variables, "params": params}, x, train=True, mutable=["batch_stats"]
        )
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    return f


@pytest.mark.parametrize(
    ("model", "shape"),
    [(BinaryMLP((16, 16), 3), (12, 5)), (BinaryCNN((4,), (8,), 3), (12, 6, 6, 1))],
)
def test_bnn_loss_gradient_finite_and_nonzero(key, rng, model, shape):
    x = rng.normal(size=shape).astype(np.float32)
    y = jnp.asarray(rng.integers(0, 3, size=shape[0]), jnp.int32)
    variables = model.init(key, x)
    grads = jax.grad(_loss(model, variables, x, y))(variables["params"])
    for path, g in jax.tree_util.tree_leaves_with_path(grads):
        assert np.all(np.isfinite(g)), path
        if path[-1].key == "latent_kernel":
            assert np.abs(g).max() > 0, path  # the STE lets gradient reach every layer


def test_bnn_gradient_matches_finite_differences_of_relaxed_loss(key, rng, f32_tol):
    # With |pre| <= 1 everywhere, the STE gradient w.r.t. the input of the first sign
    # equals the gradient of the loss with sign replaced by identity there.
    x = jnp.asarray(rng.uniform(-0.9, 0.9, size=(7, 4)), jnp.float32)
    w = jnp.asarray(rng.normal(size=(4, 3)), jnp.float32)

    def ste(x):
        return jnp.sum(sign_ste(x) @ w)

    # both sides sum the 3 entries of each row of w in float32, maybe in other orders
    tol = f32_tol(3, float(jnp.abs(w).sum(1).max()))
    np.testing.assert_allclose(jax.grad(ste)(x), jnp.broadcast_to(w.sum(1), x.shape), atol=tol)


def test_clip_latent_weights_keeps_box_exactly(rng, f32_tol):
    tx = optax.chain(optax.sgd(1.0), clip_latent_weights())
    w = jnp.asarray(rng.uniform(-1, 1, size=(257,)), jnp.float32)
    w = w.at[:4].set(jnp.array([1.0, -1.0, 0.99999994, -0.99999994]))
    other = jnp.asarray(rng.normal(size=(5,)), jnp.float32)
    params = {"layer": {"latent_kernel": w}, "bn": {"scale": other}}
    for scale in (1e-7, 0.3, 3.0):
        grads = jax.tree.map(
            lambda p, s=scale: jnp.asarray(rng.normal(size=p.shape) * s, p.dtype), params
        )
        updates, _ = tx.update(grads, tx.init(params), params)
        new = optax.apply_updates(params, updates)
        lat = np.asarray(new["layer"]["latent_kernel"])
        assert lat.min() >= -1.0 and lat.max() <= 1.0  # exact, no tolerance
        # Inside the box the update is plain SGD (tolerance: one float32 rounding of w - g).
        raw = np.asarray(w) - np.asarray(grads["layer"]["latent_kernel"])
        tol = f32_tol(1, np.abs(np.asarray(w)).max() + np.abs(raw).max())
        np.testing.assert_allclose(lat, np.clip(raw, -1, 1), rtol=0, atol=tol)
        # Other parameters are not clipped.
        want = np.asarray(other) - np.asarray(grads["bn"]["scale"])
        tol = f32_tol(1, np.abs(np.asarray(other)).max() + np.abs(want).max())
        np.testing.assert_allclose(new["bn"]["scale"], want, rtol=0, atol=tol)


def test_clip_latent_weights_rejects_bad_bounds():
    with pytest.raises(ValueError, match="`low` must be below `high`"):
        clip_latent_weights(1.0, -1.0)


def test_binary_layer_io_fields(key, rng, f32_tol):
    model = BinaryMLP((6, 5), 3)
    x = rng.normal(size=(9, 4)).astype(np.float32)
    variables = model.init(key, x)
    # Give the batch norms non-trivial running statistics.
    _, upd = model.apply(variables, x, train=True, mutable=["batch_stats"])
    variables = {**variables, **upd}
    ios = binary_layer_io(model, variables, x)
    pres = preactivations(model, variables, x)
    assert [io.name for io in ios] == ["hidden_0", "hidden_1", "head"]
    assert all(io.kind == "dense" for io in ios)
    np.testing.assert_array_equal(ios[0].inputs, x)
    np.testing.assert_array_equal(ios[0].inputs_continuous, x)
    for i, io in enumerate(ios):
        np.testing.assert_array_equal(io.binary_kernel, _np_sign(io.latent_kernel))
        np.testing.assert_array_equal(
            io.latent_kernel, variables["params"][io.name]["latent_kernel"]
        )
        ref = np.asarray(io.inputs, np.float64) @ np.asarray(io.binary_kernel, np.float64)
        # float32 sums of fan-in products a_i * (+-1): |terms| add up to (|a| |W_b|)
        mag = np.abs(np.asarray(io.inputs)) @ np.abs(np.asarray(io.binary_kernel))
        z_tol = f32_tol(io.binary_kernel.shape[0], mag.max())
        np.testing.assert_allclose(io.preactivations, ref, rtol=0, atol=z_tol)
        if i:
            # Two programs (binary_layer_io, preactivations) compute the previous layer's
            # batch-normed output y = gain * z + bias: z's rounding times the gain (measured
            # per unit as ptp(y) / ptp(z)), plus the rounding of y itself.
            prev, y = ios[i - 1], np.asarray(pres[i - 1], np.float64)
            z = np.asarray(prev.preactivations, np.float64)
            gain = np.ptp(y, 0) / np.maximum(np.ptp(z, 0), np.finfo(np.float32).tiny)
            prev_mag = np.abs(np.asarray(prev.inputs)) @ np.abs(np.asarray(prev.binary_kernel))
            tol = f32_tol(prev.binary_kernel.shape[0], prev_mag.max()) * gain.max()
            tol += f32_tol(4, np.abs(y).max())
            np.testing.assert_allclose(io.inputs_continuous, y, rtol=0, atol=tol)
            np.testing.assert_array_equal(io.inputs, _np_sign(io.inputs_continuous))


def test_binary_layer_io_conv(key, rng, f32_tol):
    model = BinaryCNN((3,), (4,), 2)
    x = rng.normal(size=(2, 5, 5, 1)).astype(np.float32)
    variables = model.init(key, x)
    ios = binary_layer_io(model, variables, x)
    assert [io.kind for io in ios] == ["conv", "dense", "dense"]
    conv = ios[0]
    assert conv.preactivations.shape == (2, 5, 5, 3) and conv.latent_kernel.shape == (3, 3, 1, 3)
    ref = jax.lax.conv_general_dilated(
        x, conv.binary_kernel, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
    )
    tol = f32_tol(3 * 3, 3 * 3 * np.abs(x).max())  # two float32 3x3 convolutions, |w| = 1
    np.testing.assert_allclose(conv.preactivations, ref, rtol=0, atol=tol)
    assert ios[1].inputs.shape == (2, 2 * 2 * 3)  # pooled 5 -> 2, flattened


def test_binary_layer_io_rejects_relu_models(key):
    model = MLP((3,), 2)
    variables = model.init(key, jnp.ones((1, 2)))
    with pytest.raises(TypeError, match="BinaryMLP or BinaryCNN"):
        binary_layer_io(model, variables, jnp.ones((2, 2)))


@pytest.mark.parametrize(("norm", "stat"), [("no-mean", "mean_square"), ("standard", "mean")])
def test_batch_norm_statistics_update_in_training(key, rng, norm, stat):
    model = BinaryMLP((4,), 2, norm=norm)
    x = rng.normal(loc=3.0, size=(8, 3)).astype(np.float32)
    variables = model.init(key, x)
    assert set(variables["batch_stats"]["bn_0"]) == (
        {"mean_square"} if norm == "no-mean" else {"mean", "var"}
    )
    _, upd = model.apply(variables, x, train=True, mutable=["batch_stats"])
    before = variables["batch_stats"]["bn_0"][stat]
    after = upd["batch_stats"]["bn_0"][stat]
    assert np.abs(np.asarray(after) - np.asarray(before)).max() > 0


# ----------------------------------------------------------------------------- no-mean batch norm


def _np_no_mean_bn(x, scale, bias, mean_square=None, eps=1e-4):
    """NumPy reference (float64): x / sqrt(E[x^2] + eps) * scale + bias, E over the batch."""
    x = np.asarray(x, np.float64)
    if mean_square is None:
        mean_square = (x**2).reshape(-1, x.shape[-1]).mean(0)
    return x / np.sqrt(mean_square + eps) * scale + bias, mean_square


def _bn_variables(rng, features):
    return {
        "params": {
            "scale": jnp.asarray(rng.uniform(0.5, 2.0, features), jnp.float32),
            "bias": jnp.asarray(rng.normal(size=features), jnp.float32),
        },
        "batch_stats": {"mean_square": jnp.asarray(rng.uniform(0.5, 3, features), jnp.float32)},
    }


@pytest.mark.parametrize("shape", [(17, 5), (3, 4, 5, 7)])
def test_no_mean_batch_norm_train_and_eval_against_numpy(rng, f32_tol, shape):
    bn = NoMeanBatchNorm(momentum=0.9, epsilon=1e-4)
    x = rng.normal(loc=2.0, size=shape).astype(np.float32)  # a mean far from 0: never removed
    v = _bn_variables(rng, shape[-1])
    scale, bias = np.asarray(v["params"]["scale"]), np.asarray(v["params"]["bias"])
    running = np.asarray(v["batch_stats"]["mean_square"], np.float64)
    n = int(np.prod(shape[:-1]))
    y, upd = bn.apply(v, x, use_running_average=False, mutable=["batch_stats"])
    ref, ms = _np_no_mean_bn(x, scale, bias)
    # a mean of n squares, a square root and a multiply: f32_tol(n) relative, |y| <~ 10
    np.testing.assert_allclose(np.asarray(y), ref, rtol=f32_tol(n), atol=f32_tol(n, 10.0))
    np.testing.assert_allclose(
        np.asarray(upd["batch_stats"]["mean_square"]), 0.9 * running + 0.1 * ms, rtol=f32_tol(n)
    )
    # evaluation: the running second moment, not the batch's, and nothing changes
    y_eval = bn.apply(v, x, use_running_average=True)
    ref_eval, _ = _np_no_mean_bn(x, scale, bias, mean_square=running)
    np.testing.assert_allclose(np.asarray(y_eval), ref_eval, rtol=f32_tol(4), atol=f32_tol(4, 10))
    # no centring: the per-feature mean of the output (bias removed) keeps its sign
    centred = np.asarray(y).reshape(-1, shape[-1]) - bias
    assert (centred.mean(0) > 0).all()


def test_no_mean_batch_norm_is_scale_invariant_and_init_leaves_stats(rng):
    bn = NoMeanBatchNorm(use_running_average=False)
    x = jnp.asarray(rng.normal(size=(29, 6)), jnp.float32)
    v = bn.init(jax.random.key(0), x)
    np.testing.assert_array_equal(v["batch_stats"]["mean_square"], np.ones(6, np.float32))
    y1, _ = bn.apply(v, x, mutable=["batch_stats"])
    y2, _ = bn.apply(v, 7.0 * x, mutable=["batch_stats"])
    # L(v) = L(kv) (the paper's Sec. 5.1); up to epsilon = 1e-4 against E[x^2] ~ 1
    np.testing.assert_allclose(np.asarray(y1), np.asarray(y2), rtol=1e-4, atol=1e-4)


def test_no_mean_batch_norm_gradient_matches_finite_differences(rng):
    bn = NoMeanBatchNorm(use_running_average=False)
    x = jnp.asarray(rng.normal(loc=0.5, size=(11, 4)), jnp.float32)
    v = _bn_variables(rng, 4)
    target = jnp.asarray(rng.normal(size=(11, 4)), jnp.float32)

    def loss(x, params):
        y, _ = bn.apply({**v, "params": params}, x, mutable=["batch_stats"])
        return jnp.sum(jnp.tanh(y) * target)

    gx, gp = jax.grad(loss, argnums=(0, 1))(x, v["params"])
    d_x = jnp.asarray(rng.normal(size=x.shape), jnp.float32)
    d_p = jax.tree.map(lambda p: jnp.asarray(rng.normal(size=p.shape), jnp.float32), gp)
    h = 1e-2
    plus = loss(x + h * d_x, jax.tree.map(lambda p, d: p + h * d, v["params"], d_p))
    minus = loss(x - h * d_x, jax.tree.map(lambda p, d: p - h * d, v["params"], d_p))
    numeric = float(plus - minus) / (2 * h)
    analytic = float(jnp.vdot(gx, d_x) + sum(jnp.vdot(gp[k], d_p[k]) for k in gp))
    # central differences: O(h^2) truncation, float32 rounding ~ eps * |loss| / h ~ 1e-5
    assert analytic == pytest.approx(numeric, rel=2e-3, abs=2e-3)


@pytest.mark.parametrize("model_cls", ["mlp", "cnn"])
def test_models_take_norm_option_and_reject_bad_ones(key, model_cls):
    def build(**kw):
        if model_cls == "mlp":
            return BinaryMLP((4,), 2, **kw), jnp.ones((2, 3))
        return BinaryCNN((2,), (3,), 2, **kw), jnp.ones((2, 4, 4, 1))

    default, x = build()
    assert default.norm == "no-mean"
    for norm, stat in (("no-mean", "mean_square"), ("standard", "var")):
        model, _ = build(norm=norm)
        stats = jax.eval_shape(model.init, key, x)["batch_stats"]
        assert all(stat in s for s in stats.values())
    with pytest.raises(ValueError, match="`norm` must be one of 'no-mean', 'standard'"):
        build(norm="centred")
    with pytest.raises(TypeError, match="`norm` must be a string"):
        build(norm=None)


def test_checkpoints_keep_norm_and_old_ones_load_as_standard(key, tmp_path):
    from hamgeo.nets import load, model_config, model_from_config, save

    for norm in ("no-mean", "standard"):
        model = BinaryMLP((4,), 2, norm=norm)
        variables = model.init(key, jnp.ones((1, 3)))
        path = save(tmp_path / f"{norm}.ckpt", model, variables)
        loaded, v2 = load(path)
        assert loaded == model and model_config(model)["norm"] == norm
        out = loaded.apply(v2, jnp.ones((2, 3)))
        np.testing.assert_array_equal(
            np.asarray(out), np.asarray(model.apply(variables, jnp.ones((2, 3))))
        )
    # a checkpoint written before the `norm` field existed had centred batch norm
    old = model_from_config({"class": "BinaryCNN", "channels": [2], "dense": [3], "n_classes": 2})
    assert old.norm == "standard"


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_binary_nets_jit_with_closed_over_variables(key, rng, kind):
    # Issue 23 item 4: concrete variables closed over by a jitted function must not hit
    # sign_ste's finiteness check as a traced bool (TracerBoolConversionError).
    if kind == "mlp":
        model, x = BinaryMLP((7, 5), 3), rng.normal(size=(9, 5)).astype(np.float32)
    else:
        model, x = BinaryCNN((3,), (5,), 3), rng.normal(size=(9, 7, 7, 1)).astype(np.float32)
    variables = model.init(key, x[:1])
    jitted = jax.jit(lambda x: model.apply(variables, x))
    # Same program as the eager call: exact equality.
    np.testing.assert_array_equal(jitted(x), model.apply(variables, x))


def test_sign_ste_checks_concrete_values_even_under_jit():
    w = jnp.array([1.0, jnp.nan])
    with pytest.raises(ValueError, match="`x` must be finite"):
        jax.jit(lambda s: s * sign_ste(w))(1.0)
    # A traced NaN cannot be seen: it gets its (+1 for NaN >= 0 false -> -1) sign.
    np.testing.assert_array_equal(jax.jit(sign_ste)(w), [1.0, -1.0])
