import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import hamgeo
from hamgeo.codes import PackedCodes, as_packed, from_packbits, n_words, to_packbits


@pytest.mark.parametrize("n_bits", [1, 7, 8, 31, 32, 33, 63, 64, 65, 300])
def test_pack_matches_numpy_reference(rng, n_bits):
    bits = rng.random((17, n_bits)) < 0.5
    codes = hamgeo.pack_bits(bits)
    assert codes.words.dtype == jnp.uint32
    assert codes.words.shape == (17, n_words(n_bits))
    # reference: little-endian bytes from np.packbits, viewed as little-endian uint32
    ref = np.zeros((17, n_words(n_bits) * 4), np.uint8)
    ref[:, : -(-n_bits // 8)] = np.packbits(bits, axis=-1, bitorder="little")
    np.testing.assert_array_equal(np.asarray(codes.words), ref.view("<u4"))
    np.testing.assert_array_equal(np.asarray(hamgeo.unpack_bits(codes)), bits)


@given(
    shape=st.lists(st.integers(0, 4), min_size=0, max_size=2),
    n_bits=st.integers(1, 300),
    seed=st.integers(0, 2**31 - 1),
)
def test_roundtrip_property(shape, n_bits, seed):
    bits = np.random.default_rng(seed).random((*shape, n_bits)) < 0.3
    codes = hamgeo.pack_bits(bits)
    assert codes.shape == tuple(shape)
    np.testing.assert_array_equal(np.asarray(codes.unpack()), bits)
    # padding bits are zero
    if n_bits % 32:
        last = np.asarray(codes.words)[..., -1]
        assert not (last >> np.uint32(n_bits % 32)).any()
    # packbits layout round trip, both bit orders
    for order in ("little", "big"):
        packed = to_packbits(codes, bitorder=order)
        np.testing.assert_array_equal(packed, np.packbits(bits, axis=-1, bitorder=order))
        back = from_packbits(packed, n_bits, bitorder=order)
        np.testing.assert_array_equal(np.asarray(back.words), np.asarray(codes.words))


def test_pytree_jit_vmap(rng):
    bits = rng.random((5, 3, 40)) < 0.5
    codes = hamgeo.pack_bits(bits)
    leaves, treedef = jax.tree_util.tree_flatten(codes)
    assert len(leaves) == 1
    assert jax.tree_util.tree_unflatten(treedef, leaves).n_bits == 40

    @jax.jit
    def count(c: PackedCodes):
        return jnp.sum(jax.lax.population_count(c.words).astype(jnp.int32), axis=-1)

    np.testing.assert_array_equal(np.asarray(count(codes)), bits.sum(-1))
    unpacked = jax.vmap(hamgeo.unpack_bits)(codes)
    np.testing.assert_array_equal(np.asarray(unpacked), bits)
    packed = jax.jit(hamgeo.pack_bits)(jnp.asarray(bits))
    np.testing.assert_array_equal(np.asarray(packed.words), np.asarray(codes.words))
    assert codes[1:3].shape == (2, 3)
    assert codes[0, 1].shape == ()


def test_integer_and_bool_inputs_agree(rng):
    bits = rng.random((9, 70)) < 0.5
    a = hamgeo.pack_bits(bits)
    b = hamgeo.pack_bits(bits.astype(np.int8))
    c = hamgeo.pack_bits(jnp.asarray(bits, jnp.int32))
    np.testing.assert_array_equal(np.asarray(a.words), np.asarray(b.words))
    np.testing.assert_array_equal(np.asarray(a.words), np.asarray(c.words))


def test_bad_inputs():
    with pytest.raises(TypeError, match="`bits` must be a bool"):
        hamgeo.pack_bits(np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match="only 0 and 1, got the value 2"):
        hamgeo.pack_bits(np.array([[0, 2, 1]]))
    with pytest.raises(TypeError, match="at least one axis"):
        hamgeo.pack_bits(np.array(1))
    with pytest.raises(TypeError, match="`queries` must be a bool"):
        as_packed(np.ones((2, 3)), "queries")
    with pytest.raises(ValueError, match="needs 2"):
        as_packed(PackedCodes(jnp.zeros((3, 1), jnp.uint32), 40), "x")
    with pytest.raises(TypeError, match="uint8"):
        from_packbits(np.zeros((2, 1), np.int32), 8)
    with pytest.raises(ValueError, match=r"shape \[\.\.\., 2\]"):
        from_packbits(np.zeros((2, 1), np.uint8), 9)
    with pytest.raises(ValueError, match="nonzero bits past"):
        from_packbits(np.full((1, 1), 0xFF, np.uint8), 5)
    with pytest.raises(TypeError, match="`codes` must be PackedCodes"):
        hamgeo.unpack_bits(np.zeros((2, 1), np.uint32))


def test_empty():
    codes = hamgeo.pack_bits(np.zeros((0, 10), bool))
    assert codes.words.shape == (0, 1)
    assert hamgeo.unpack_bits(codes).shape == (0, 10)
