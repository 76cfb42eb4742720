import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hamgeo import activation_codes, preactivations
from hamgeo.codes import PackedCodes
from hamgeo.nets import CNN, MLP, BinaryMLP, layer_slices


def _np_mlp_bits(params, x, widths):
    h = x.reshape(x.shape[0], -1).astype(np.float64)
    bits = []
    for i in range(len(widths)):
        z = h @ np.asarray(params[f"hidden_{i}"]["kernel"]) + np.asarray(
            params[f"hidden_{i}"]["bias"]
        )
        bits.append(z > 0)
        h = np.maximum(z, 0)
    return np.concatenate(bits, axis=1)


def test_codes_equal_positive_preactivations_by_hand(key, rng):
    widths = (13, 31, 21)  # 65 bits: three words, padding in the last
    model = MLP(widths, 4)
    x = rng.normal(size=(29, 5)).astype(np.float32)
    variables = model.init(key, x[:1])
    codes = activation_codes(model, variables, x)
    assert isinstance(codes, PackedCodes)
    assert codes.n_bits == sum(widths) and codes.shape == (29,) and codes.n_words == 3
    ref = _np_mlp_bits(variables["params"], x, widths)
    # float32 vs float64 may flip a bit only where |pre| is tiny (< 1e-4).
    pre = np.concatenate([np.asarray(p) for p in preactivations(model, variables, x)], 1)
    agree = np.asarray(codes.unpack()) == ref
    assert np.all(agree | (np.abs(pre) < 1e-4))
    np.testing.assert_array_equal(codes.unpack(), pre > 0)


def test_batched_extraction_equals_unbatched(key, rng):
    model = CNN((3,), (5,), 2)
    x = rng.normal(size=(23, 6, 6, 1)).astype(np.float32)
    variables = model.init(key, x[:1])
    whole = activation_codes(model, variables, x, batch_size=1000)
    for bs in (1, 7, 23):
        part = activation_codes(model, variables, x, batch_size=bs)
        np.testing.assert_array_equal(part.words, whole.words)
    assert whole.n_bits == 6 * 6 * 3 + 5


def test_layer_slices_tile_the_code(key):
    model = CNN((2, 3), (4,), 2)
    x = jnp.ones((1, 8, 8, 1))
    variables = model.init(key, x)
    slices = layer_slices(model, variables, x)
    assert slices == [slice(0, 128), slice(128, 176), slice(176, 180)]
    pres = preactivations(model, variables, x)
    assert [p.shape[1] for p in pres] == [s.stop - s.start for s in slices]


def test_binary_codes_are_the_signs(key, rng):
    model = BinaryMLP((9, 7), 3)
    x = rng.normal(size=(11, 4)).astype(np.float32)
    variables = model.init(key, x)
    pres = preactivations(model, variables, x)
    codes = activation_codes(model, variables, x, batch_size=4)
    signs = np.concatenate([np.where(np.asarray(p) >= 0, 1, -1) for p in pres], 1)
    np.testing.assert_array_equal(codes.unpack(), signs == 1)
    assert codes.n_bits == 16


def test_empty_input_gives_empty_codes(key):
    model = MLP((3,), 2)
    variables = model.init(key, jnp.ones((1, 2)))
    codes = activation_codes(model, variables, np.zeros((0, 2), np.float32))
    assert codes.shape == (0,) and codes.n_bits == 3


def test_extraction_rejects_bad_input(key):
    model = MLP((3,), 2)
    variables = model.init(key, jnp.ones((1, 2)))
    with pytest.raises(ValueError, match=r"`x` must have shape \[n, ...\]"):
        activation_codes(model, variables, jnp.ones(2))
    with pytest.raises(ValueError, match="`batch_size`"):
        activation_codes(model, variables, jnp.ones((2, 2)), batch_size=0)
    with pytest.raises(TypeError, match="`model` must be a flax.linen Module"):
        preactivations(lambda x: x, variables, jnp.ones((2, 2)))
    with pytest.raises(TypeError, match="`x` must be a real array"):
        preactivations(model, variables, jnp.ones((2, 2), jnp.complex64))


def test_codes_under_four_devices_match(key, rng):
    # Input sharded across the simulated devices gives the same codes.
    model = MLP((33,), 2)
    x = rng.normal(size=(8, 3)).astype(np.float32)
    variables = model.init(key, x[:1])
    mesh = jax.make_mesh((len(jax.devices()),), ("batch",))
    xs = jax.device_put(x, jax.NamedSharding(mesh, jax.P("batch")))
    np.testing.assert_array_equal(
        activation_codes(model, variables, xs).words, activation_codes(model, variables, x).words
    )
