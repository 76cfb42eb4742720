"""hamgeo.codes.select_bits: word-level bit surgery against slicing of unpacked bits."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hamgeo import regions
from hamgeo.codes import PackedCodes, pack_bits, select_bits


@pytest.mark.parametrize("n_bits", [1, 33, 97])
def test_ranges_across_word_boundaries_match_slicing(rng, n_bits):
    bits = rng.integers(0, 2, size=(5, n_bits)).astype(bool)
    c = pack_bits(bits)
    # starts and stops on, just before and just after word boundaries (one compile each)
    for start in sorted({0, 1, 31, 32, 33, 64, 65, n_bits - 1} & set(range(n_bits))):
        for stop in sorted({start + 1, min(start + 32, n_bits), n_bits}):
            got = select_bits(c, start, stop)
            assert got.n_bits == stop - start
            assert np.array_equal(
                np.asarray(got.words), np.asarray(pack_bits(bits[:, start:stop]).words)
            ), (start, stop)


@settings(max_examples=12)  # every new shape compiles; 12 cover 1..130 bits well enough
@given(
    bits=st.integers(1, 130).flatmap(
        lambda n: st.lists(st.lists(st.booleans(), min_size=n, max_size=n), min_size=1, max_size=4)
    ),
    data=st.data(),
)
def test_property_against_numpy(bits, data):
    arr = np.array(bits, dtype=bool)
    n_bits = arr.shape[1]
    start = data.draw(st.integers(0, n_bits - 1))
    stop = data.draw(st.integers(start + 1, n_bits))
    got = select_bits(arr, start, stop)
    assert np.array_equal(np.asarray(got.unpack()), arr[:, start:stop])
    # padding bits of the result are zero (they never count)
    assert np.array_equal(np.asarray(got.words), np.asarray(pack_bits(arr[:, start:stop]).words))


def test_batch_shapes_and_jit(rng):
    bits = rng.integers(0, 2, size=(2, 3, 70)).astype(bool)
    got = select_bits(bits, 5, 69)
    assert got.shape == (2, 3) and got.n_bits == 64
    assert np.array_equal(np.asarray(got.unpack()), bits[..., 5:69])
    single = select_bits(bits[0, 0], 40, 41)
    assert single.shape == () and bool(single.unpack()[0]) == bits[0, 0, 40]
    jitted = jax.jit(select_bits, static_argnums=(1, 2))(pack_bits(bits), 5, 69)
    assert np.array_equal(np.asarray(jitted.words), np.asarray(got.words))


def test_bad_arguments():
    bits = np.zeros((3, 8), bool)
    for start, stop in [(0, 9), (4, 4), (5, 3), (-1, 3)]:
        with pytest.raises(ValueError, match="`st"):
            select_bits(bits, start, stop)
    with pytest.raises(TypeError, match="`start`"):
        select_bits(bits, 1.0, 3)
    with pytest.raises(TypeError, match="`stop`"):
        select_bits(bits, 1, "3")
    with pytest.raises(TypeError, match="`codes`"):
        select_bits(np.zeros((3, 8), np.float32), 0, 3)
    with pytest.raises(ValueError, match="`codes`"):
        select_bits(PackedCodes(jnp.zeros((3, 1), jnp.uint32), 40), 0, 3)


def test_regions_reexports_it():
    assert regions.select_bits is select_bits
