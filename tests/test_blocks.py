import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hamgeo._blocks import map_blocks


def row_fn(block):
    """Row-wise: a sum, a cumulative max and a matrix product, on a pytree."""
    x, v = block["x"], block["v"]
    return x.sum(axis=1) + v, (jnp.cumsum(x, axis=1), x @ jnp.arange(3.0))


@pytest.mark.parametrize("n", [1, 5, 17, 29])
@pytest.mark.parametrize("block_size", [1, 4, 17, 100])
@pytest.mark.parametrize("unroll", [False, True])
def test_map_blocks_equals_unblocked(rng, n, block_size, unroll):
    xs = {"x": jnp.asarray(rng.integers(0, 9, (n, 3)), jnp.float32), "v": jnp.arange(n) * 1.0}
    want = row_fn(xs)
    got = map_blocks(row_fn, xs, block_size=block_size, unroll=unroll)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))  # exact: small integers


def test_map_blocks_under_jit_and_fill():
    x = jnp.arange(7, dtype=jnp.int32)
    # the padding rows see `fill`; a function that would fail on zeros stays finite
    f = jax.jit(lambda a: map_blocks(lambda b: 12 // b, a, block_size=3, fill=1))
    np.testing.assert_array_equal(np.asarray(f(x + 1)), 12 // (np.arange(7) + 1))
    # outputs may have other trailing shapes than the inputs
    out = map_blocks(lambda b: jnp.outer(b, jnp.ones(4, b.dtype)), x, block_size=2)
    assert out.shape == (7, 4)


def test_map_blocks_bad_arguments():
    x = jnp.zeros((4, 2))
    with pytest.raises(ValueError, match="`block_size` must be an integer >= 1"):
        map_blocks(lambda b: b, x, block_size=0)
    with pytest.raises(TypeError, match="`block_size` must be an integer"):
        map_blocks(lambda b: b, x, block_size=2.0)
    with pytest.raises(ValueError, match="share their leading size"):
        map_blocks(lambda b: b, (x, jnp.zeros(3)), block_size=2)
