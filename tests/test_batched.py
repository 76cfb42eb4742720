import types

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from hamgeo import data
from hamgeo.nets import MLP, BinaryMLP, train
from hamgeo.nets.batched import ManyTrainResult, make_epoch, train_many
from hamgeo.nets.stacked import init_many

EPOCHS, BATCH = 2, 16


@pytest.fixture(scope="module")
def grid():
    # 108 training points, 27 test points, 3 classes
    return data.gaussian_grid(
        key=jax.random.key(3), per_axis=3, n_groups=3, n_per_gaussian=12, spread=0.02
    )


@pytest.fixture(scope="module")
def keys():
    return jax.random.split(jax.random.key(11), 3)


# Per-model hyper-parameters, all traced inside one compiled epoch.
HYPER = {"learning_rate": [1e-2, 3e-3, 1e-2], "weight_decay": [0.0, 0.1, 0.3], "label_noise": 0.2}


@pytest.fixture(scope="module")
def many(grid, keys):
    return train_many(MLP((9,), 3), grid, keys=keys, epochs=EPOCHS, batch_size=BATCH, **HYPER)


def _model(tree, i):
    return jax.tree.map(lambda a: a[i], tree)


def _steps_tol(f32_tol, n_train):
    # Every trained parameter sums (through the optimizer) one term per example seen:
    # epochs * (n // b) * b of them, each bounded by ~1 (LeCun inits, Adam steps <= lr).
    return f32_tol(EPOCHS * (n_train // BATCH) * BATCH)


def _assert_same_training(one, many, i, tol, n_test, n_train):
    for a, b in zip(jax.tree.leaves(one.variables), jax.tree.leaves(many.variables), strict=True):
        np.testing.assert_allclose(a, b[i], rtol=0, atol=tol)
    np.testing.assert_array_equal(one.labels, many.labels[i])  # integer draws: exact
    np.testing.assert_allclose(one.history["loss"], many.history["loss"][i], rtol=0, atol=tol)
    # Accuracies are counts of argmax predictions; float32 rounding could flip an input
    # whose two top logits tie within `tol`, so allow one input either way.
    np.testing.assert_allclose(
        one.history["test_accuracy"], many.history["test_accuracy"][i], atol=1 / n_test + 1e-12
    )
    np.testing.assert_allclose(
        one.history["train_accuracy"], many.history["train_accuracy"][i], atol=1 / n_train + 1e-12
    )
    assert one.finite and many.finite[i]


def test_train_many_equals_separate_train_calls(grid, keys, many, f32_tol):
    # Not bit-identical: the vmapped epoch is another XLA computation (batched matrix
    # products may sum in another order), so float32 tolerances of the reduction sizes.
    assert isinstance(many, ManyTrainResult)
    n_train, n_test = len(grid.y_train), len(grid.y_test)
    for i in range(3):
        kw = {name: (v[i] if isinstance(v, list) else v) for name, v in HYPER.items()}
        one = train(MLP((9,), 3), grid, key=keys[i], epochs=EPOCHS, batch_size=BATCH, **kw)
        _assert_same_training(one, many, i, _steps_tol(f32_tol, n_train), n_test, n_train)
    np.testing.assert_array_equal(many.history["epoch"], [1, 2])
    assert many.history["loss"].shape == many.history["test_accuracy"].shape == (3, EPOCHS)
    # label noise: exactly round(0.2 * 108) = 22 labels changed for every model
    np.testing.assert_array_equal((many.labels != grid.y_train).sum(axis=1), [22, 22, 22])


def test_train_many_binary_models_with_batch_stats_and_clipping(grid, keys, f32_tol):
    model = BinaryMLP((8, 8), 3)
    many = train_many(
        model, grid, keys=keys[:2], epochs=EPOCHS, batch_size=BATCH, learning_rate=0.05
    )
    assert "batch_stats" in many.variables
    kernel = np.asarray(many.variables["params"]["hidden_0"]["latent_kernel"])
    assert kernel.min() >= -1.0 and kernel.max() <= 1.0  # exact: clipping after every step
    n_train, n_test = len(grid.y_train), len(grid.y_test)
    one = train(model, grid, key=keys[1], epochs=EPOCHS, batch_size=BATCH, learning_rate=0.05)
    _assert_same_training(one, many, 1, _steps_tol(f32_tol, n_train), n_test, n_train)


def test_train_mask_trains_each_model_on_its_subset_only(grid, keys):
    n = len(grid.y_train)
    mask = np.zeros((2, n), bool)
    mask[0, :40] = True
    mask[1, ::3] = True
    kw = dict(keys=keys[:2], epochs=1, batch_size=BATCH, learning_rate=1e-2, label_noise=0.25)
    a = train_many(MLP((5,), 3), grid, train_mask=mask, **kw)
    # Outside its subset a model never sees an input or a label: garbage there changes nothing.
    x, y = np.array(grid.x_train), np.array(grid.y_train)
    outside = ~mask.any(axis=0)
    x[outside] = 1e3
    y[outside] = (y[outside] + 1) % 3
    other = types.SimpleNamespace(x_train=x, y_train=y, x_test=grid.x_test, y_test=grid.y_test)
    b = train_many(MLP((5,), 3), other, train_mask=mask, **kw)
    for u, v in zip(jax.tree.leaves(a.variables), jax.tree.leaves(b.variables), strict=True):
        np.testing.assert_array_equal(u, v)  # same program, same inputs used: bit-identical
    # Label noise within the subset only: round(0.25 * 40) = 10 and round(0.25 * 36) = 9.
    changed = a.labels != np.asarray(grid.y_train)
    assert not (changed & ~mask).any()
    np.testing.assert_array_equal(changed.sum(axis=1), [10, 9])


def test_an_all_true_mask_uses_the_batches_of_no_mask(grid, keys, f32_tol):
    kw = dict(keys=keys[:1], epochs=1, batch_size=BATCH, learning_rate=1e-2, evaluate=False)
    a = train_many(MLP((5,), 3), grid, **kw)
    b = train_many(MLP((5,), 3), grid, train_mask=np.ones(len(grid.y_train), bool), **kw)
    for u, v in zip(jax.tree.leaves(a.variables), jax.tree.leaves(b.variables), strict=True):
        np.testing.assert_allclose(u, v, rtol=0, atol=f32_tol(len(grid.y_train)))
    assert np.isnan(a.history["test_accuracy"]).all()  # evaluate=False: nothing claimed


def test_widths_train_narrow_mlps_inside_a_wide_one(grid, keys, f32_tol):
    widths = np.array([1, 3, 9])
    wide = train_many(
        MLP((9,), 3),
        grid,
        keys=keys,
        epochs=EPOCHS,
        batch_size=BATCH,
        learning_rate=1e-2,
        widths=widths,
    )
    start = init_many(MLP((9,), 3), grid.x_train, keys=keys, widths=widths)
    for i, w in enumerate(widths):
        p = _model(wide.variables, i)["params"]
        # Dead units stay exactly zero: no gradient ever reaches them.
        assert not np.asarray(p["hidden_0"]["kernel"])[:, w:].any()
        assert not np.asarray(p["hidden_0"]["bias"])[w:].any()
        assert not np.asarray(p["head"]["kernel"])[w:].any()
        # ... and the live units train exactly as a width-w MLP from the same start.
        s = _model(start, i)["params"]
        hidden = {"kernel": s["hidden_0"]["kernel"][:, :w], "bias": s["hidden_0"]["bias"][:w]}
        head = {"kernel": s["head"]["kernel"][:w], "bias": s["head"]["bias"]}
        narrow_start = {"params": {"hidden_0": hidden, "head": head}}
        narrow = train(
            MLP((int(w),), 3),
            grid,
            key=keys[i],
            epochs=EPOCHS,
            batch_size=BATCH,
            learning_rate=1e-2,
            variables=narrow_start,
        )
        q = narrow.variables["params"]
        tol = _steps_tol(f32_tol, len(grid.y_train))
        np.testing.assert_allclose(
            q["hidden_0"]["kernel"], p["hidden_0"]["kernel"][:, :w], atol=tol
        )
        np.testing.assert_allclose(q["head"]["kernel"], p["head"]["kernel"][:w], atol=tol)
        np.testing.assert_allclose(q["head"]["bias"], p["head"]["bias"], atol=tol)


def test_a_diverging_model_is_flagged_and_not_scored(grid, keys):
    seen = []
    with pytest.warns(RuntimeWarning, match=r"diverged at epoch 1 for model\(s\) \[1\]"):
        r = train_many(
            MLP((5,), 3),
            grid,
            keys=keys[:2],
            epochs=2,
            batch_size=BATCH,
            learning_rate=[1e-2, 1e38],
            callback=lambda e, v: seen.append((e, v)),
        )
    np.testing.assert_array_equal(r.finite, [True, False])
    assert np.isfinite(r.history["test_accuracy"][0]).all()
    assert np.isnan(r.history["test_accuracy"][1]).all()
    assert np.isnan(r.history["train_accuracy"][1]).all()
    # The callback sees the stacked variables after every epoch.
    assert [e for e, _ in seen] == [1, 2]
    for a, b in zip(jax.tree.leaves(seen[-1][1]), jax.tree.leaves(r.variables), strict=True):
        np.testing.assert_array_equal(a, b)
        assert a.shape[0] == 2


def test_make_epoch_vmapped_over_learning_rates(grid, keys, many, f32_tol):
    # A research script's own loop: make_epoch + optax.inject_hyperparams reproduce
    # train_many (no weight decay or label noise here; per-model learning rates).
    model, lrs = MLP((9,), 3), jnp.array([1e-2, 3e-3, 1e-2])
    reference = train_many(
        model, grid, keys=keys, epochs=EPOCHS, batch_size=BATCH, learning_rate=lrs, evaluate=False
    )
    k_epochs = jax.vmap(lambda k: jax.random.split(k, 3)[2])(keys)
    epoch_keys = jax.vmap(lambda k: jax.random.split(k, EPOCHS))(k_epochs)
    variables = init_many(model, grid.x_train, keys=keys)
    epoch, tx = make_epoch(
        model, variables, optax.inject_hyperparams(optax.adam)(0.0), batch_size=BATCH
    )

    def init(params, lr):
        state = tx.init(params)
        state.hyperparams["learning_rate"] = lr
        return state

    state = jax.vmap(init)(variables["params"], lrs)
    run = jax.jit(jax.vmap(epoch, in_axes=(0, 0, None, None, 0)))
    x, y = jnp.asarray(grid.x_train), jnp.asarray(grid.y_train)
    for e in range(EPOCHS):
        variables, state, loss = run(variables, state, x, y, epoch_keys[:, e])
    tol = _steps_tol(f32_tol, len(grid.y_train))
    np.testing.assert_allclose(loss, reference.history["loss"][:, -1], rtol=0, atol=tol)
    for a, b in zip(jax.tree.leaves(variables), jax.tree.leaves(reference.variables), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=tol)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"keys": jax.random.key(0)}, TypeError, "`keys` must be a 1-D array of JAX PRNG keys"),
        ({"keys": 3}, TypeError, "`keys`"),
        ({"learning_rate": None}, TypeError, "`learning_rate`"),
        ({"learning_rate": [1e-2, 1e-2]}, ValueError, r"`learning_rate` must .* shape \[3\]"),
        ({"learning_rate": [1e-2, -1.0, 1e-2]}, ValueError, r"`learning_rate\[1\]` must be > 0"),
        ({"weight_decay": -0.1}, ValueError, "`weight_decay` must be >= 0"),
        ({"label_noise": [0.1, 0.2, 1.5]}, ValueError, r"`label_noise\[2\]`"),
        ({"optimizer": optax.sgd(0.1), "weight_decay": 0.1}, ValueError, "custom `optimizer`"),
        ({"optimizer": "adam"}, TypeError, "`optimizer`"),
        ({"epochs": 0}, ValueError, "`epochs`"),
        ({"batch_size": 2.0}, TypeError, "`batch_size`"),
        ({"train_mask": np.zeros(108, bool)}, ValueError, "`train_mask` must select >= 1"),
        ({"train_mask": np.ones((2, 108), bool)}, ValueError, r"`train_mask` must have shape"),
        ({"widths": [1, 2, 10]}, ValueError, r"`widths` must lie in \[1, \(9,\)\]"),
        ({"widths": [1.0, 2.0, 3.0]}, TypeError, "`widths`"),
        ({"evaluate": 1}, TypeError, "`evaluate`"),
        ({"callback": 1}, TypeError, "`callback`"),
    ],
)
def test_train_many_rejects_bad_arguments(grid, keys, kwargs, error, match):
    args = dict(keys=keys, epochs=1, batch_size=8, learning_rate=1e-2) | kwargs
    with pytest.raises(error, match=match):
        train_many(MLP((9,), 3), grid, **args)


def test_train_many_rejects_bad_data_or_variables_before_training(grid, keys):
    kw = dict(keys=keys, epochs=1, batch_size=8, learning_rate=1e-2)
    x = np.array(grid.x_train)
    x[0, 0] = np.nan
    bad = types.SimpleNamespace(
        x_train=x, y_train=grid.y_train, x_test=grid.x_test, y_test=grid.y_test
    )
    with pytest.raises(ValueError, match=r"`data.x_train` must be finite"):
        train_many(MLP((4,), 3), bad, **kw)
    with pytest.raises(ValueError, match=r"`data.y_train` must be < n_classes = 2"):
        train_many(MLP((4,), 2), grid, **kw)
    two = init_many(MLP((4,), 3), grid.x_train, keys=keys[:2])  # 2 models, 3 keys
    with pytest.raises(ValueError, match=r"`variables` \(stacked, 3 models\) do not match"):
        train_many(MLP((4,), 3), grid, variables=two, **kw)
    three = init_many(MLP((4,), 3), grid.x_train, keys=keys)
    with pytest.raises(ValueError, match="`widths` narrows fresh initializations"):
        train_many(MLP((4,), 3), grid, variables=three, widths=[1, 2, 3], **kw)
    with pytest.raises(ValueError, match="`widths` needs an MLP"):
        train_many(BinaryMLP((4,), 3), grid, widths=[1, 2, 3], **kw)
