import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hamgeo.nets import CNN, MLP, ResidualCNN


def _np_conv_same(x, k):
    """Reference 'SAME' cross-correlation, x [n, H, W, C], k [3, 3, C, O] (NumPy loops)."""
    n, h, w, _ = x.shape
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    out = np.zeros((n, h, w, k.shape[-1]), np.float64)
    for i in range(3):
        for j in range(3):
            out += np.einsum("nhwc,co->nhwo", xp[:, i : i + h, j : j + w], k[i, j])
    return out


def test_mlp_layer_names_and_preactivations_by_hand(key, rng, f32_tol):
    model = MLP((7, 5), 3)
    x = rng.normal(size=(17, 2, 3)).astype(np.float32)  # flattened per example to [17, 6]
    variables = model.init(key, x[:1])
    p = variables["params"]
    assert sorted(p) == ["head", "hidden_0", "hidden_1"]
    assert p["hidden_0"]["kernel"].shape == (6, 7) and p["head"]["bias"].shape == (3,)
    logits, pres = model.apply(variables, x, return_preactivations=True)
    h = x.reshape(17, -1).astype(np.float64)
    ref, tols, err = [], [], 0.0
    for name in ("hidden_0", "hidden_1", "head"):
        w, b = np.asarray(p[name]["kernel"], np.float64), np.asarray(p[name]["bias"])
        z = h @ w + b
        # float32 vs float64: this layer's sums of fan-in + 1 terms (bounded by |h| |W| + |b|)
        # plus the previous layer's error carried through |W|
        err = f32_tol(w.shape[0] + 1, (np.abs(h) @ np.abs(w) + np.abs(b)).max())
        err += tols[-1] * np.abs(w).sum(0).max() if tols else 0.0
        ref.append(z)
        tols.append(err)
        h = np.maximum(z, 0)
    for got, want, tol in zip([*pres, logits], ref, tols, strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=tol)
    np.testing.assert_array_equal(model.apply(variables, x), logits)


def test_cnn_first_layer_matches_numpy_convolution(key, rng, f32_tol):
    model = CNN((3, 4), (5,), 2)
    x = rng.normal(size=(3, 7, 5, 2)).astype(np.float32)  # odd sizes: pooling floors 7 -> 3
    variables = model.init(key, x)
    logits, pres = model.apply(variables, x, return_preactivations=True)
    c0 = variables["params"]["conv_0"]
    ref = _np_conv_same(x, np.asarray(c0["kernel"])) + np.asarray(c0["bias"])
    # float32 sums of 3 * 3 * 2 products and the bias, bounded by |x| * |k| + |b|
    mag = (_np_conv_same(np.abs(x), np.abs(np.asarray(c0["kernel"]))) + np.abs(c0["bias"])).max()
    np.testing.assert_allclose(pres[0], ref.reshape(3, -1), rtol=0, atol=f32_tol(19, mag))
    assert [p.shape for p in pres] == [(3, 7 * 5 * 3), (3, 3 * 2 * 4), (3, 5)]
    assert logits.shape == (3, 2)


@pytest.mark.parametrize("shape", [(4, 40), (4, 40, 1), (4, 40, 3)])
def test_cnn_accepts_signals(key, shape):
    model = CNN((4, 4), (6,), 10, pool_every=2)
    x = jnp.ones(shape)
    variables = model.init(key, x)
    _, pres = model.apply(variables, x, return_preactivations=True)
    assert [p.shape for p in pres] == [(4, 160), (4, 160), (4, 6)]


def test_residual_cnn_skip_and_projection(key, rng, f32_tol):
    model = ResidualCNN((3, 3), (4,), 2)
    x = rng.normal(size=(2, 6, 6, 1)).astype(np.float32)
    variables = model.init(key, x)
    # Channel change 1 -> 3 needs a projection; 3 -> 3 does not.
    assert "proj_0" in variables["params"] and "proj_1" not in variables["params"]
    _, pres = model.apply(variables, x, return_preactivations=True)
    assert [p.shape for p in pres] == [(2, 108), (2, 108), (2, 27), (2, 27), (2, 4)]
    # Second block: pre-activation (skip + b) minus b equals its input, relu(pool(...)).
    first_out = jnp.maximum(pres[1].reshape(2, 6, 6, 3), 0)
    pooled = first_out.reshape(2, 3, 2, 3, 2, 3).max(axis=(2, 4))
    p = variables["params"]["block_1_a"]
    a = jax.lax.conv_general_dilated(
        pooled, p["kernel"], (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
    ) + p["bias"].reshape(1, 1, 1, 3)
    # two float32 convolutions (3 * 3 * 3 products and the bias each) in different orders
    mag = (_np_conv_same(np.abs(pooled), np.abs(np.asarray(p["kernel"]))) + np.abs(p["bias"])).max()
    np.testing.assert_allclose(pres[2], a.reshape(2, -1), rtol=0, atol=f32_tol(28, mag))


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: MLP((4, 0), 2), ValueError, r"`widths\[1\]` must be an integer >= 1"),
        (lambda: MLP(4, 2), TypeError, "`widths` must be a sequence"),
        (lambda: MLP("44", 2), TypeError, "`widths` must be a sequence"),
        (lambda: MLP((4,), 0), ValueError, "`n_classes`"),
        (lambda: MLP((4,), 2.0), TypeError, "`n_classes` must be an integer"),
        (lambda: MLP((4,), None), TypeError, "`n_classes`"),
        (lambda: MLP((True,), 2), TypeError, r"`widths\[0\]`"),
        (lambda: MLP((2**31,), 2), ValueError, r"`widths\[0\]`"),
        (lambda: CNN((4,), (2.5,), 2), TypeError, r"`dense\[0\]` must be an integer"),
        (lambda: CNN((4,), (), 2, pool_every=0), ValueError, "`pool_every`"),
        (lambda: CNN((4,), (), 2, pool_every=1.5), TypeError, "`pool_every`"),
        (lambda: ResidualCNN((-1,), (), 2), ValueError, r"`channels\[0\]`"),
    ],
)
def test_models_reject_bad_configs(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_cnn_rejects_bad_input_rank(key):
    with pytest.raises(ValueError, match="`x` must be"):
        CNN((2,), (), 2).init(key, jnp.ones((1, 2, 3, 4, 5)))


# --- held-out audit (issue 23) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: MLP((), 3), r"`widths` must hold at least one hidden layer .*got widths=\(\)"),
        (lambda: CNN((), (), 3), r"`channels` or `dense` must hold at least one hidden layer"),
        (lambda: ResidualCNN([], [], 3), r"`channels` or `dense` must hold at least one"),
    ],
)
def test_models_without_hidden_layers_are_refused(make, match):
    # held-out audit (issue 23): MLP((), 3) built, then activation_codes failed with
    # numpy's "need at least one array to concatenate"
    with pytest.raises(ValueError, match=match):
        make()
    assert CNN((4,), (), 3).dense == ()  # convolutions alone are hidden layers


@pytest.mark.parametrize(
    ("learning_rate", "match"),
    [
        (1e40, r"`learning_rate` must be <= 3\.4028"),
        (1e-50, r"`learning_rate` must be > 0 in float32"),
    ],
)
def test_train_refuses_a_learning_rate_beyond_float32(key, learning_rate, match):
    # held-out audit (issue 23): 1e40 was accepted and became inf in float32
    from hamgeo import data
    from hamgeo.nets import train

    ds = data.Dataset(np.zeros((4, 2)), [0, 1, 0, 1], np.zeros((2, 2)), [0, 1])
    kw = dict(epochs=1, batch_size=4, key=key)
    with pytest.raises(ValueError, match=match):
        train(MLP((2,), 2), ds, learning_rate=learning_rate, **kw)
    with pytest.raises(ValueError, match=r"`weight_decay` must be <= 3\.4028"):
        train(MLP((2,), 2), ds, learning_rate=1e-2, weight_decay=1e40, **kw)
