import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hamgeo.nets import CNN, MLP, BinaryMLP, accuracy, activation_codes, preactivations
from hamgeo.nets.stacked import accuracy_many, activation_codes_many, init_many, mask_mlp_widths


@pytest.fixture(scope="module")
def inputs():
    return np.random.default_rng(5).normal(size=(29, 3)).astype(np.float32)


def _model(tree, i):
    return jax.tree.map(lambda a: a[i], tree)


def test_init_many_is_the_init_train_starts_from(inputs, f32_tol):
    model, keys = MLP((6, 5), 4), jax.random.split(jax.random.key(2), 3)
    stacked = init_many(model, inputs, keys=keys)
    for i in range(3):
        k_init = jax.random.split(keys[i], 3)[0]  # `train` splits (init, noise, epochs)
        single = model.init(k_init, jnp.asarray(inputs[:1]), train=False)
        # Elementwise random draws, vmapped or not: equal up to one float32 rounding.
        for a, b in zip(jax.tree.leaves(single), jax.tree.leaves(stacked), strict=True):
            np.testing.assert_allclose(a, b[i], rtol=0, atol=f32_tol(1))


def test_mask_mlp_widths_zeroes_dead_units_and_rescales_fan_in():
    model = MLP((6, 5), 2)
    v = model.init(jax.random.key(0), jnp.ones((1, 3)))
    out = mask_mlp_widths(v, np.array([2, 4]))["params"]
    p = jax.tree.map(np.asarray, v["params"])
    h0, h1, head = (np.asarray(out[n]["kernel"]) for n in ("hidden_0", "hidden_1", "head"))
    # hidden_0: first 2 of 6 units kept as they are
    np.testing.assert_array_equal(h0[:, :2], p["hidden_0"]["kernel"][:, :2])
    assert not h0[:, 2:].any() and not np.asarray(out["hidden_0"]["bias"])[2:].any()
    # hidden_1 reads 2 live units of 6: rows rescaled by sqrt(6 / 2); 4 of 5 units kept
    np.testing.assert_allclose(
        h1[:2, :4], p["hidden_1"]["kernel"][:2, :4] * np.sqrt(3.0), rtol=4 * np.finfo("f4").eps
    )
    assert not h1[2:].any() and not h1[:, 4:].any()
    # head reads 4 live units of 5
    np.testing.assert_allclose(
        head[:4], p["head"]["kernel"][:4] * np.sqrt(5 / 4), rtol=4 * np.finfo("f4").eps
    )
    assert not head[4:].any()
    np.testing.assert_array_equal(out["head"]["bias"], p["head"]["bias"])
    # Without rescaling (trained variables), only zeros are written; full widths: unchanged.
    plain = mask_mlp_widths(v, np.array([2, 4]), rescale=False)["params"]
    np.testing.assert_array_equal(
        plain["hidden_1"]["kernel"][:2, :4], p["hidden_1"]["kernel"][:2, :4]
    )
    same = mask_mlp_widths(v, np.array([6, 5]))["params"]
    for a, b in zip(jax.tree.leaves(same), jax.tree.leaves(p), strict=True):
        np.testing.assert_array_equal(a, b)
    # Traced widths under vmap (the train_many path) agree with eager ones.
    stacked = jax.tree.map(lambda a: jnp.stack([a, a]), v)
    both = jax.jit(jax.vmap(mask_mlp_widths))(stacked, jnp.array([[2, 4], [6, 5]]))
    for a, b in zip(jax.tree.leaves(_model(both, 0)), jax.tree.leaves(out), strict=True):
        np.testing.assert_array_equal(a, b)


def test_mask_mlp_widths_rejects_bad_widths_and_non_mlps():
    v = MLP((4,), 2).init(jax.random.key(0), jnp.ones((1, 3)))
    with pytest.raises(ValueError, match=r"`widths` must be one width or 1 widths in \[1, \[4\]\]"):
        mask_mlp_widths(v, 5)
    with pytest.raises(ValueError, match="`widths`"):
        mask_mlp_widths(v, 0)
    with pytest.raises(TypeError, match="`widths`"):
        mask_mlp_widths(v, 1.5)
    bnn = BinaryMLP((4,), 2).init(jax.random.key(0), jnp.ones((1, 3)))
    with pytest.raises(ValueError, match=r"`variables` must be those of a ReLU MLP"):
        mask_mlp_widths(bnn, 2)
    with pytest.raises(TypeError, match="`variables`"):
        mask_mlp_widths([1], 2)


@pytest.mark.parametrize("model", [MLP((7,), 3), BinaryMLP((6, 5), 3)], ids=["mlp", "bnn"])
def test_codes_and_accuracy_of_stacked_models_equal_single_ones(model, inputs, f32_tol):
    keys = jax.random.split(jax.random.key(4), 3)
    stacked = init_many(model, inputs, keys=keys)
    labels = np.arange(29) % 3
    codes = activation_codes_many(model, stacked, inputs, batch_size=8)
    assert codes.shape == (3, 29)
    accs = accuracy_many(model, stacked, inputs, labels, batch_size=8)
    per_model_labels = np.stack([labels, (labels + 1) % 3, labels])
    accs_rows = accuracy_many(model, stacked, inputs, per_model_labels)
    for i in range(3):
        v = _model(stacked, i)
        # A bit or a prediction could differ only where a pre-activation or the top two
        # logits are within float32 rounding of each other; none is in this fixture, so
        # codes and counts must be exactly equal (codes_at_zero included: `>= 0` for BNNs).
        pres = np.concatenate([np.asarray(p) for p in preactivations(model, v, inputs)], -1)
        # (Exact zeros do occur in the BNN: sums of +-1 products are exact in any order,
        # and there `codes_at_zero` decides the bit.)
        tiny = (np.abs(pres) < f32_tol(8, np.abs(pres).max())) & (pres != 0)  # fan-ins <= 7
        assert not tiny.any()
        top2 = np.sort(np.asarray(model.apply(v, inputs)), axis=-1)[:, -2:]
        gap = top2[:, 1] - top2[:, 0]
        assert not ((gap < f32_tol(8, np.abs(top2).max())) & (gap != 0)).any()
        single = activation_codes(model, v, inputs)
        np.testing.assert_array_equal(codes.words[i], single.words)
        assert codes.n_bits == single.n_bits
        assert accs[i] == accuracy(model, v, inputs, labels)
        assert accs_rows[i] == accuracy(model, v, inputs, per_model_labels[i])


def test_stacked_helpers_reject_bad_arguments(inputs):
    model, keys = MLP((4,), 3), jax.random.split(jax.random.key(0), 2)
    stacked = init_many(model, inputs, keys=keys)
    with pytest.raises(TypeError, match="`keys`"):
        init_many(model, inputs, keys=jax.random.key(0))
    with pytest.raises(ValueError, match="`widths` needs an MLP"):
        init_many(CNN((2,), (), 3), inputs[:, :, None], keys=keys, widths=[1, 2])
    with pytest.raises(ValueError, match=r"`widths` must have shape \[2\]"):
        init_many(model, inputs, keys=keys, widths=[1, 2, 3])
    with pytest.raises(ValueError, match="`x` must be finite"):
        init_many(model, np.full((2, 3), np.nan), keys=keys)
    with pytest.raises(ValueError, match=r"`y` must have shape \[29\] or \[2, 29\]"):
        accuracy_many(model, stacked, inputs, np.zeros(28, int))
    unstacked = {"params": {"a": jnp.ones(3), "b": jnp.ones((2, 2))}}
    with pytest.raises(ValueError, match="`variables` must be stacked models"):
        accuracy_many(model, unstacked, inputs, np.zeros(29, int))
    with pytest.raises(TypeError, match="`model`"):
        activation_codes_many("mlp", stacked, inputs)
    with pytest.raises(TypeError, match="`batch_size`"):
        activation_codes_many(model, stacked, inputs, batch_size=1.5)


def test_accuracy_many_mask_counts_only_masked_rows():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(17, 3)).astype(np.float32)
    y = rng.integers(0, 3, size=17)
    model = MLP((5,), 3)
    v = init_many(model, jnp.asarray(x), keys=jax.random.split(jax.random.key(1), 2))
    mask = rng.random((2, 17)) < 0.5
    got = accuracy_many(model, v, x, y, mask=mask)
    for i in range(2):
        vi = jax.tree.map(lambda a, i=i: a[i], v)
        pred = np.asarray(jnp.argmax(model.apply(vi, jnp.asarray(x), train=False), -1))
        assert got[i] == (pred == y)[mask[i]].mean()  # exact: a ratio of two counts
    with pytest.raises(ValueError, match="mask"):
        accuracy_many(model, v, x, y, mask=np.ones(5, bool))


def test_stacked_functions_refuse_nan_variables(inputs):
    # Issue 23 item 6: NaN variables gave all-zero codes and numbers before.
    model, keys = MLP((4,), 3), jax.random.split(jax.random.key(0), 2)
    stacked = init_many(model, inputs, keys=keys)
    bad = jax.tree.map(lambda a: a.at[1].set(jnp.nan), stacked)  # model 1 only
    with pytest.raises(ValueError, match="`variables` must be finite"):
        activation_codes_many(model, bad, inputs)
    with pytest.raises(ValueError, match="`variables` must be finite"):
        accuracy_many(model, bad, inputs, np.arange(29) % 3)


def test_stacked_inputs_and_labels_are_checked(inputs):
    model, keys = MLP((4,), 3), jax.random.split(jax.random.key(0), 2)
    with pytest.raises(ValueError, match=r"`x` must have shape \[n, \.\.\.\]"):
        init_many(model, inputs[0], keys=keys)  # 1-D: would build 1-feature models
    stacked = init_many(model, inputs, keys=keys)
    with pytest.raises(ValueError, match="`y` must be < n_classes = 3"):
        accuracy_many(model, stacked, inputs, np.full(29, 3))
    with pytest.raises(TypeError):
        init_many(model, keys, inputs)  # keys are keyword-only
