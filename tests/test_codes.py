import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hamgeo
from hamgeo import regions, transport
from hamgeo.codes import CodesLike, PackedCodes, as_packed, from_packbits, n_words, to_packbits
from hamgeo.hamming import _native, hamming_knn, pairwise_hamming


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
    with pytest.raises(TypeError, match="`x` words must be uint32"):
        as_packed(PackedCodes(jnp.zeros((3, 2), jnp.int32), 40), "x")
    with pytest.raises(TypeError, match="`n_bits` must be an integer"):
        from_packbits(np.zeros((2, 2), np.uint8), 8.7)
    with pytest.raises(TypeError, match="`n_bits` must be an integer"):
        PackedCodes(jnp.zeros((3, 1), jnp.uint32), 8.0)
    with pytest.raises(ValueError, match="`n_bits` must be an integer >= 0"):
        PackedCodes(jnp.zeros((3, 1), jnp.uint32), -1)
    with pytest.raises(ValueError, match="`bitorder` must be one of"):
        to_packbits(hamgeo.pack_bits([1, 0]), bitorder="middle")
    with pytest.raises(ValueError, match="`bitorder` must be one of"):
        from_packbits(np.zeros((1, 1), np.uint8), 8, bitorder="BIG")
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


# ----------------------------------------------------------------------------- indexing


def test_index_out_of_range_raises_like_numpy():
    codes = hamgeo.pack_bits(np.eye(3, dtype=bool))
    for index in [10, -4, (3,), np.int64(5), np.array([0, 3]), [1, -9], jnp.asarray(7)]:
        with pytest.raises(IndexError, match="out of bounds for axis 0 with size 3"):
            codes[index]
    with pytest.raises(IndexError, match="too many indices"):
        codes[0, 0]
    with pytest.raises(IndexError, match="single ellipsis"):
        codes[..., ...]
    # in range: like NumPy on the batch axes, the word axis kept whole
    assert codes[-3].words.tolist() == [1]
    assert codes[np.array([2, 0])].words.tolist() == [[4], [1]]
    assert codes[np.array([True, False, True])].shape == (2,)
    assert codes[...].shape == (3,) and codes[None].shape == (1, 3) and codes[1:9].shape == (2,)
    grid = hamgeo.pack_bits(np.zeros((2, 3, 5), bool))
    assert grid[..., 2].shape == (2,) and grid[1, ..., -1].shape == ()
    with pytest.raises(IndexError, match="axis 1 with size 3"):
        grid[..., 3]
    with pytest.raises(IndexError, match="axis 0 with size 2"):
        grid[2, ...]
    # traced indices cannot be checked (and need not be: they come from the program)
    assert jax.jit(lambda c, i: c[i].words)(codes, 1).tolist() == [2]


def test_codes_like_alias():
    assert PackedCodes in CodesLike.__args__
    assert hamgeo.codes.CodesLike is CodesLike


# ----------------------------------------------------------------------------- padding invariant


@pytest.mark.parametrize("n_bits", [1, 31, 33, 65])
def test_constructor_masks_padding_once(n_bits):
    w = n_words(n_bits)
    garbage = np.full((4, w), 0xFFFFFFFF, np.uint32)
    for words in (garbage, jnp.asarray(garbage)):
        codes = PackedCodes(words, n_bits)
        assert isinstance(codes.words, type(words))
        assert np.asarray(codes.unpack()).all()
        np.testing.assert_array_equal(to_packbits(codes), to_packbits(np.ones((4, n_bits), bool)))
    # under jit the mask is part of the program
    masked = jax.jit(lambda wd: PackedCodes(wd, n_bits).words)(jnp.asarray(garbage))
    np.testing.assert_array_equal(
        np.asarray(masked), np.asarray(hamgeo.pack_bits(np.ones((4, n_bits), bool)).words)
    )
    # tree_unflatten trusts its leaves (JAX passes back leaves of a valid PackedCodes)
    treedef = jax.tree_util.tree_structure(PackedCodes(garbage, n_bits))
    kept = jax.tree_util.tree_unflatten(treedef, [garbage])
    np.testing.assert_array_equal(np.asarray(kept.words), garbage)
    assert jax.tree_util.tree_unflatten(treedef, [None]).words is None  # placeholders pass


def test_pickle_and_immutability():
    import pickle

    codes = hamgeo.pack_bits(np.eye(3, dtype=bool))
    back = pickle.loads(pickle.dumps(codes))
    assert back.n_bits == 3 and np.asarray(back.words).tolist() == [[1], [2], [4]]
    with pytest.raises(AttributeError, match="immutable"):
        codes.n_bits = 4
    assert "n_bits=3" in repr(codes)
    paths = [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_flatten_with_path(codes)[0]]
    assert paths == [".words"]


def _garbage_codes(rng, n, n_bits, garbage):
    """Random codes, and the same codes whose padding bits hold ``garbage``."""
    b = rng.random((n, n_bits)) < 0.5
    clean = hamgeo.pack_bits(b)
    words = np.array(clean.words)
    if n_bits % 32:
        words[:, -1] |= np.uint32(garbage) & ~np.uint32((1 << (n_bits % 32)) - 1)
    return b, clean, PackedCodes(jnp.asarray(words), n_bits), words


@settings(max_examples=12)
@given(
    n_bits=st.sampled_from([1, 31, 33, 65]),
    garbage=st.integers(1, 2**32 - 1),
    seed=st.integers(0, 2**31 - 1),
)
def test_garbage_padding_never_counts_in_kernels(n_bits, garbage, seed):
    rng = np.random.default_rng(seed)
    bx, cx, gx, raw = _garbage_codes(rng, 7, n_bits, garbage)
    by, cy, gy, _ = _garbage_codes(rng, 5, n_bits, garbage >> 1 | 1)
    ref = (bx[:, None, :] != by[None, :, :]).sum(-1)
    np.testing.assert_array_equal(np.asarray(gx.unpack()), bx)
    np.testing.assert_array_equal(to_packbits(gx), np.packbits(bx, axis=-1, bitorder="little"))
    np.testing.assert_array_equal(np.asarray(gx.words), np.asarray(cx.words))
    np.testing.assert_array_equal(np.asarray(PackedCodes(raw, n_bits).words), np.asarray(cx.words))
    methods = ["auto", "popcount", "xla", "matmul"] + (["native"] if _native.available() else [])
    for method in methods:
        np.testing.assert_array_equal(np.asarray(pairwise_hamming(gx, gy, method=method)), ref)
        d, i = hamming_knn(gx, gy, 3, method=method)
        np.testing.assert_array_equal(np.asarray(d), np.sort(ref, axis=1)[:, :3])


@settings(max_examples=6)
@given(
    n_bits=st.sampled_from([1, 33, 65]),
    garbage=st.integers(1, 2**32 - 1),
    seed=st.integers(0, 2**31 - 1),
)
def test_garbage_padding_never_counts_downstream(n_bits, garbage, seed):
    """Every consumer gives on garbage-padded codes exactly what it gives on clean ones."""
    rng = np.random.default_rng(seed)
    bx, cx, gx, _ = _garbage_codes(rng, 6, n_bits, garbage)
    _, cy, gy, _ = _garbage_codes(rng, 5, n_bits, garbage)
    assert (
        int(regions.count_regions(gx))
        == int(regions.count_regions(cx))
        == len({r.tobytes() for r in bx})
    )
    assert float(regions.redundancy_ratio(gx)) == float(regions.redundancy_ratio(cx))
    assert transport.exact_wasserstein(gx, gy) == transport.exact_wasserstein(cx, cy)
    w_g, w_c = transport.wasserstein(gx, gy), transport.wasserstein(cx, cy)
    assert float(w_g.value) == float(w_c.value)
    assert float(hamgeo.mmd(gx, gy)) == float(hamgeo.mmd(cx, cy))
