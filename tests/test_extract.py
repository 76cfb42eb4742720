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


def _magnitude(model, variables, x):
    """An upper bound on every partial sum of every pre-activation of a ReLU net.

    The same network with |weights| on |x|: each unit then sums |a_i w_i| + |b| over
    everything upstream (ReLU and max-pool are monotone on nonnegative values).
    """
    abs_v = jax.tree.map(jnp.abs, variables)
    _, mags = model.apply(abs_v, jnp.abs(jnp.asarray(x)), return_preactivations=True)
    return float(max(jnp.max(m) for m in mags))


def _assert_bits_agree(bits_a, bits_b, pre, tol):
    """Bits equal except where |pre| <= tol (a float32 rounding may flip those)."""
    agree = np.asarray(bits_a) == np.asarray(bits_b)
    assert np.all(agree | (np.abs(np.asarray(pre)) <= tol))


def test_codes_equal_positive_preactivations_by_hand(key, rng, f32_tol):
    widths = (13, 31, 21)  # 65 bits: three words, padding in the last
    model = MLP(widths, 4)
    x = rng.normal(size=(29, 5)).astype(np.float32)
    variables = model.init(key, x[:1])
    codes = activation_codes(model, variables, x)
    assert isinstance(codes, PackedCodes)
    assert codes.n_bits == sum(widths) and codes.shape == (29,) and codes.n_words == 3
    ref = _np_mlp_bits(variables["params"], x, widths)
    # float32 vs float64 may flip a bit only where |pre| is within the rounding of the
    # sums along the network's depth (5 + 13 + 31 terms and biases)
    tol = f32_tol(5 + 13 + 31 + 3, _magnitude(model, variables, x))
    pre = np.concatenate([np.asarray(p) for p in preactivations(model, variables, x)], 1)
    _assert_bits_agree(codes.unpack(), ref, pre, tol)
    # activation_codes and preactivations are two compiled programs: same tolerance
    _assert_bits_agree(codes.unpack(), pre > 0, pre, tol)


def test_batched_extraction_equals_unbatched(key, rng, f32_tol):
    model = CNN((3,), (5,), 2)
    x = rng.normal(size=(23, 6, 6, 1)).astype(np.float32)
    variables = model.init(key, x[:1])
    whole = activation_codes(model, variables, x, batch_size=1000)
    # other batch shapes compile to other programs: bits may differ only within rounding
    pre = np.concatenate([np.asarray(p) for p in preactivations(model, variables, x)], 1)
    tol = f32_tol(3 * 3 * 1 + 3 * 3 * 3 + 2, _magnitude(model, variables, x))
    for bs in (1, 7, 23):
        part = activation_codes(model, variables, x, batch_size=bs)
        _assert_bits_agree(part.unpack(), whole.unpack(), pre, tol)
    assert whole.n_bits == 6 * 6 * 3 + 5


def test_layer_slices_tile_the_code(key):
    model = CNN((2, 3), (4,), 2)
    x = jnp.ones((1, 8, 8, 1))
    variables = model.init(key, x)
    slices = layer_slices(model, variables, x)
    assert slices == [slice(0, 128), slice(128, 176), slice(176, 180)]
    pres = preactivations(model, variables, x)
    assert [p.shape[1] for p in pres] == [s.stop - s.start for s in slices]


def test_binary_codes_are_the_signs(key, rng, f32_tol):
    model = BinaryMLP((9, 7), 3)
    x = rng.normal(size=(11, 4)).astype(np.float32)
    variables = model.init(key, x)
    pres = preactivations(model, variables, x)
    codes = activation_codes(model, variables, x, batch_size=4)
    signs = np.concatenate([np.where(np.asarray(p) >= 0, 1, -1) for p in pres], 1)
    # Batches of 4 and of 11 are two programs. Only the first layer sums real inputs (4
    # terms of at most |x| each, through a batch norm of scale ~1); deeper layers sum
    # +-1s exactly. A first-layer sign within rounding of 0 may flip, and with it the
    # rest of that row: such rows are excused.
    tol = f32_tol(4 + 2, 2 * np.abs(x).sum(1).max())
    clear = np.abs(np.asarray(pres[0])).min(1) > tol
    np.testing.assert_array_equal(np.asarray(codes.unpack())[clear], (signs == 1)[clear])
    assert clear.sum() >= 9  # nearly every row is far from a tie
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


def test_variables_that_do_not_fit_raise_naming_variables_and_x(key):
    model = MLP((3,), 2)
    variables = jax.jit(model.init)(key, jnp.ones((1, 2)))
    # input width 4 against a first layer made for width 2: no raw flax scope error
    with pytest.raises(
        ValueError,
        match=r"`variables` do not fit MLP: 'params/hidden_0/kernel' "
        r"has shape \(2, 3\), expected \(4, 3\) for inputs `x` of shape \[n, 4\]",
    ):
        preactivations(model, variables, jnp.ones((5, 4)))
    with pytest.raises(ValueError, match="`variables` do not fit"):
        activation_codes(model, variables, jnp.ones((5, 4)))
    with pytest.raises(ValueError, match="`variables` do not fit"):
        layer_slices(model, variables, jnp.ones((5, 4)))
    other = jax.jit(MLP((4,), 2).init)(key, jnp.ones((1, 2)))  # another model's variables
    with pytest.raises(ValueError, match=r"`variables` do not fit MLP: .* has shape"):
        activation_codes(model, other, jnp.ones((5, 2)))
    with pytest.raises(ValueError, match="have no 'params/head/bias'"):
        preactivations(
            model, {"params": {"hidden_0": variables["params"]["hidden_0"]}}, jnp.ones((5, 2))
        )
    for bad in (None, [1, 2], "params"):
        with pytest.raises(TypeError, match="`variables` must be a dict"):
            preactivations(model, bad, jnp.ones((5, 2)))
    nan = jax.tree.map(lambda a: a.at[0].set(jnp.nan), variables)
    with pytest.raises(ValueError, match="`variables` must be finite"):
        activation_codes(model, nan, jnp.ones((5, 2)))


@pytest.mark.parametrize(
    ("x", "error", "match"),
    [
        (np.array([[0.0, np.nan]]), ValueError, "`x` must be finite"),
        (np.array([[1e300, 0.0]]), ValueError, "`x` must be finite in float32"),
        (np.array([["a", "b"]]), TypeError, "`x` must be a numeric array"),
        (None, TypeError, "`x` must be an array"),
        ([[1.0, 2.0], [3.0]], TypeError, "`x` must be a rectangular"),
        (np.ones(2), ValueError, r"`x` must have shape \[n, ...\]"),
    ],
)
def test_bad_inputs_raise_naming_x(key, x, error, match):
    model = MLP((3,), 2)
    variables = jax.jit(model.init)(key, jnp.ones((1, 2)))
    with pytest.raises(error, match=match):
        activation_codes(model, variables, x)


def test_batch_size_must_be_a_positive_integer(key):
    model = MLP((3,), 2)
    variables = jax.jit(model.init)(key, jnp.ones((1, 2)))
    with pytest.raises(TypeError, match="`batch_size` must be an integer"):
        activation_codes(model, variables, jnp.ones((2, 2)), batch_size=2.5)
    with pytest.raises(ValueError, match="`batch_size`"):
        activation_codes(model, variables, jnp.ones((2, 2)), batch_size=2**31)


def test_preactivations_under_jit_skip_value_checks_only(key, f32_tol):
    # the discriminability experiment calls preactivations inside jax.jit
    model = MLP((3,), 2)
    variables = jax.jit(model.init)(key, jnp.ones((1, 2)))
    x = jnp.linspace(-1, 1, 8).reshape(4, 2)
    f = jax.jit(lambda v, x: preactivations(model, v, x)[0])
    # one program inside another: the same sums of 2 products and a bias, maybe reordered
    np.testing.assert_allclose(
        f(variables, x),
        preactivations(model, variables, x)[0],
        rtol=0,
        atol=f32_tol(3, _magnitude(model, variables, x)),
    )
    with pytest.raises(ValueError, match="`variables` do not fit"):
        f(variables, jnp.ones((4, 3)))


def test_mlp_dense_layers_refuse_other_models_and_gaps(key):
    from hamgeo.nets import CNN, BinaryMLP
    from hamgeo.nets.variables import mlp_dense_layers

    v = MLP((4, 5, 3), 2).init(key, jnp.ones((1, 3)))
    shapes = [(k.shape, b.shape) for k, b in mlp_dense_layers(v, head=True)]
    assert shapes == [((3, 4), (4,)), ((4, 5), (5,)), ((5, 3), (3,)), ((3, 2), (2,))]
    gap = {"params": {k: w for k, w in v["params"].items() if k != "hidden_1"}}
    with pytest.raises(ValueError, match=r"variables.*'hidden_1'.*missing"):
        mlp_dense_layers(gap)
    cnn = CNN((2,), (3,), 2).init(key, jnp.ones((1, 6, 6, 1)))
    with pytest.raises(ValueError, match=r"variables.*'conv_0'.*another model"):
        mlp_dense_layers(cnn)
    binary = BinaryMLP((3,), 2).init(key, jnp.ones((1, 3)))
    with pytest.raises(ValueError, match=r"variables.*another model"):
        mlp_dense_layers(binary)
    with pytest.raises(TypeError, match="`variables` must be a dict"):
        mlp_dense_layers([1, 2])
    bad = {"params": {**v["params"], "hidden_1": {"kernel": jnp.ones((3, 5)), "bias": jnp.ones(5)}}}
    with pytest.raises(ValueError, match="hidden_1 takes 3 inputs but the previous layer has 4"):
        mlp_dense_layers(bad)


@pytest.mark.parametrize(
    ("model", "shape"),
    [(MLP((5,), 2), (3,)), (CNN((2,), (3,), 2), (6, 6, 1))],
    ids=["mlp", "cnn"],
)
def test_zero_rows_give_empty_preactivations(key, model, shape):
    # Issue 23: a ZeroDivisionError before (reshape(0, -1)).
    v = model.init(key, jnp.ones((1, *shape)))
    full = preactivations(model, v, jnp.ones((2, *shape)))
    empty = preactivations(model, v, jnp.ones((0, *shape)))
    assert [p.shape for p in empty] == [(0, p.shape[1]) for p in full]
    assert activation_codes(model, v, jnp.ones((0, *shape))).shape == (0,)


def test_bfloat16_inputs_are_numeric(key, rng):
    # Issue 23: bfloat16 was "not a numeric array". The models compute in float32, so a
    # bfloat16 input gives exactly the float32 result of the same (rounded) values.
    model = MLP((7,), 3)
    v = model.init(key, jnp.ones((1, 4)))
    x = jnp.asarray(rng.normal(size=(9, 4)), jnp.bfloat16)
    got = preactivations(model, v, x)
    want = preactivations(model, v, x.astype(jnp.float32))
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(
        activation_codes(model, v, x).words, activation_codes(model, v, x.astype(jnp.float32)).words
    )
