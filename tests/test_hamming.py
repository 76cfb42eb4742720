import os
import subprocess
import sys
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.sharding import NamedSharding, PartitionSpec

import hamgeo
from hamgeo.codes import PackedCodes, pack_bits
from hamgeo.hamming import _api, _native, _xla, hamming_knn, pairwise_hamming

METHODS = ["auto", "popcount", "xla", "matmul"] + (["native"] if _native.available() else [])


def ref_pairwise(x, y, truncate=None):
    """NumPy brute force on unpacked bits (independent of the packing)."""
    d = (x[:, None, :] != y[None, :, :]).sum(-1).astype(np.int64)
    return d if truncate is None else np.minimum(d, truncate)


def ref_knn(x, y, k, exclude_self=False):
    d = ref_pairwise(x, y)
    if exclude_self:
        np.fill_diagonal(d, np.iinfo(np.int64).max)
    # ascending distance, ties by the smaller index
    order = np.lexsort((np.broadcast_to(np.arange(y.shape[0]), d.shape), d), axis=1)[:, :k]
    return np.take_along_axis(d, order, 1), order


def bits(rng, *shape, p=0.5):
    return rng.random(shape) < p


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("n_bits", [1, 31, 33, 65, 300])
def test_pairwise_matches_numpy(rng, method, n_bits):
    x, y = bits(rng, 17, n_bits), bits(rng, 29, n_bits)
    got = pairwise_hamming(x, y, method=method)
    assert got.dtype == jnp.int32 and got.shape == (17, 29)
    np.testing.assert_array_equal(np.asarray(got), ref_pairwise(x, y))  # exact
    # y=None means x against itself; packed and unpacked inputs agree
    np.testing.assert_array_equal(
        np.asarray(pairwise_hamming(pack_bits(x), method=method)), ref_pairwise(x, x)
    )


@pytest.mark.parametrize("method", ["xla", "matmul"])
@pytest.mark.parametrize("block_size", [1, 4, 17, 100])
def test_pairwise_blocked(rng, method, block_size):
    x, y = bits(rng, 17, 70), bits(rng, 13, 70)
    got = pairwise_hamming(x, y, method=method, block_size=block_size, truncate=30)
    np.testing.assert_array_equal(np.asarray(got), ref_pairwise(x, y, truncate=30))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("theta", [1, 7, 1000])
def test_truncate(rng, method, theta):
    x, y = bits(rng, 11, 40), bits(rng, 9, 40)
    got = pairwise_hamming(x, y, truncate=theta, method=method)
    np.testing.assert_array_equal(np.asarray(got), ref_pairwise(x, y, truncate=theta))


@pytest.mark.parametrize("method", METHODS)
def test_pairwise_jit_and_vmap(rng, method):
    xb, yb = bits(rng, 3, 7, 45), bits(rng, 3, 5, 45)
    xs, ys = pack_bits(xb), pack_bits(yb)
    jitted = jax.jit(lambda a, b: pairwise_hamming(a, b, method=method, truncate=20))
    np.testing.assert_array_equal(np.asarray(jitted(xs[0], ys[0])), ref_pairwise(xb[0], yb[0], 20))
    batched = jax.vmap(lambda a, b: pairwise_hamming(a, b, method=method))(xs, ys)
    for i in range(3):
        np.testing.assert_array_equal(np.asarray(batched[i]), ref_pairwise(xb[i], yb[i]))
    # vmap over x only, y shared
    half = jax.vmap(lambda a: pairwise_hamming(a, ys[1], method=method))(xs)
    np.testing.assert_array_equal(np.asarray(half[2]), ref_pairwise(xb[2], yb[1]))


def test_empty_inputs():
    e = np.zeros((0, 10), bool)
    x = np.ones((3, 10), bool)
    for method in METHODS:
        assert pairwise_hamming(e, x, method=method).shape == (0, 3)
        assert pairwise_hamming(x, e, method=method).shape == (3, 0)
    d, i = hamming_knn(e, x, 2)
    assert d.shape == i.shape == (0, 2) and d.dtype == i.dtype == jnp.int32


@pytest.fixture(params=["native", "xla"])
def knn_path(request, monkeypatch):
    """Run hamming_knn on the native kernel, then with it hidden (the XLA streaming top-k)."""
    if request.param == "native" and not _native.available():
        pytest.skip("native kernel not built; the xla case covers this platform")
    if request.param == "xla":
        monkeypatch.setattr(_native, "available", lambda: False)
    return request.param


@pytest.mark.parametrize("block_size", [None, 1, 5, 64])
@pytest.mark.parametrize("exclude_self", [False, True])
def test_knn_matches_numpy_with_many_ties(rng, block_size, exclude_self, knn_path):
    # 6 bits -> only 7 distinct distances among 41 codes: many ties.
    x = bits(rng, 41, 6)
    y = x if exclude_self else bits(rng, 37, 6)
    k = 9
    d, i = hamming_knn(x, y, k, exclude_self=exclude_self, block_size=block_size)
    rd, ri = ref_knn(x, y, k, exclude_self)
    assert d.dtype == i.dtype == jnp.int32
    np.testing.assert_array_equal(np.asarray(d), rd)
    np.testing.assert_array_equal(np.asarray(i), ri)  # ties by smaller index


def test_knn_k_equals_base(rng, knn_path):
    x, y = bits(rng, 5, 33), bits(rng, 7, 33)
    d, i = hamming_knn(x, y, 7, block_size=3)
    rd, ri = ref_knn(x, y, 7)
    np.testing.assert_array_equal(np.asarray(i), ri)
    d, i = hamming_knn(y, y, 6, exclude_self=True)
    rd, ri = ref_knn(y, y, 6, True)
    np.testing.assert_array_equal(np.asarray(i), ri)


def test_knn_jit_vmap(rng, knn_path):
    xb, yb = bits(rng, 2, 9, 20), bits(rng, 2, 11, 20)
    xs, ys = pack_bits(xb), pack_bits(yb)
    d, i = jax.jit(lambda a, b: hamming_knn(a, b, 4))(xs[1], ys[1])
    np.testing.assert_array_equal(np.asarray(i), ref_knn(xb[1], yb[1], 4)[1])
    d, i = jax.vmap(lambda a, b: hamming_knn(a, b, 3, exclude_self=True))(ys, ys)
    for j in range(2):
        rd, ri = ref_knn(yb[j], yb[j], 3, True)
        np.testing.assert_array_equal(np.asarray(d[j]), rd)
        np.testing.assert_array_equal(np.asarray(i[j]), ri)


@pytest.mark.skipif(jax.device_count() < 4, reason="needs the 4 simulated CPU devices")
@pytest.mark.parametrize("method", METHODS)
def test_sharded_pairwise(rng, method):
    mesh = jax.make_mesh((4,), ("data",))
    x, y = bits(rng, 20, 77), bits(rng, 12, 77)
    rows = NamedSharding(mesh, PartitionSpec("data", None))
    xs = PackedCodes(jax.device_put(pack_bits(x).words, rows), 77)
    ys = PackedCodes(jax.device_put(pack_bits(y).words, rows), 77)  # resharded to replicated
    got = pairwise_hamming(xs, ys if method == "auto" else y, method=method, truncate=35)
    assert got.sharding.is_equivalent_to(rows, 2)
    np.testing.assert_array_equal(np.asarray(got), ref_pairwise(x, y, truncate=35))


@pytest.mark.skipif(jax.device_count() < 4, reason="needs the 4 simulated CPU devices")
def test_sharded_knn(rng, knn_path):
    mesh = jax.make_mesh((2, 2), ("a", "b"))
    x = bits(rng, 24, 9)
    rows = NamedSharding(mesh, PartitionSpec(("a", "b"), None))
    xs = PackedCodes(jax.device_put(pack_bits(x).words, rows), 9)
    d, i = hamming_knn(xs, xs, 5, exclude_self=True, block_size=4)  # base sharded too
    assert d.sharding.is_equivalent_to(rows, 2) and i.sharding.is_equivalent_to(rows, 2)
    rd, ri = ref_knn(x, x, 5, True)
    np.testing.assert_array_equal(np.asarray(d), rd)
    np.testing.assert_array_equal(np.asarray(i), ri)


@settings(max_examples=15)
@given(
    n=st.integers(0, 9),
    m=st.integers(1, 9),
    n_bits=st.integers(1, 300),
    p=st.sampled_from([0.1, 0.5, 0.9]),
    seed=st.integers(0, 2**31 - 1),
)
def test_property_pairwise_and_knn(n, m, n_bits, p, seed):
    rng = np.random.default_rng(seed)
    x, y = bits(rng, n, n_bits, p=p), bits(rng, m, n_bits, p=p)
    ref = ref_pairwise(x, y)
    np.testing.assert_array_equal(np.asarray(pairwise_hamming(x, y)), ref)
    np.testing.assert_array_equal(np.asarray(pairwise_hamming(x, y, method="matmul")), ref)
    k = int(rng.integers(1, m + 1))
    d, i = hamming_knn(x, y, k)
    rd, ri = ref_knn(x, y, k)
    np.testing.assert_array_equal(np.asarray(d), rd)
    np.testing.assert_array_equal(np.asarray(i), ri)


# ----------------------------------------------------------------------------- bad input


def test_bad_inputs_pairwise():
    ok = np.zeros((3, 5), bool)
    with pytest.raises(ValueError, match="`x` must hold only 0 and 1"):
        pairwise_hamming(np.full((2, 5), 2), ok)
    with pytest.raises(ValueError, match="`y` must hold only 0 and 1"):
        pairwise_hamming(ok, np.full((2, 5), -1))
    with pytest.raises(TypeError, match="`x`"):
        pairwise_hamming(np.zeros((2, 5), np.float32), ok)
    with pytest.raises(TypeError, match="`y`"):
        pairwise_hamming(ok, np.zeros((2, 5)))
    with pytest.raises(ValueError, match="same n_bits"):
        pairwise_hamming(ok, np.zeros((3, 6), bool))
    with pytest.raises(ValueError, match="`x` must be a 2-D"):
        pairwise_hamming(np.zeros(5, bool))
    with pytest.raises(ValueError, match="`y` must be a 2-D"):
        pairwise_hamming(ok, np.zeros((1, 3, 5), bool))
    with pytest.raises(ValueError, match="`x` must be PackedCodes with one batch axis"):
        pairwise_hamming(pack_bits(np.zeros((2, 3, 5), bool)))
    with pytest.raises(ValueError, match="`truncate` must be an integer >= 1"):
        pairwise_hamming(ok, truncate=0)
    with pytest.raises(
        ValueError, match=r"`truncate` must be an integer in \[1, 2147483647\], got 2147483648"
    ):
        pairwise_hamming(ok, truncate=2**31)
    with pytest.raises(TypeError, match="`truncate`"):
        pairwise_hamming(ok, truncate=2.5)
    with pytest.raises(ValueError, match="`method` must be one of"):
        pairwise_hamming(ok, method="fast")
    with pytest.raises(TypeError, match="`method` must be a string"):
        pairwise_hamming(ok, method=None)
    with pytest.raises(ValueError, match="`block_size` must be an integer >= 1"):
        pairwise_hamming(ok, block_size=0)
    with pytest.raises(ValueError, match="`block_size`"):
        pairwise_hamming(ok, block_size=2**31)
    with pytest.raises(TypeError, match="`block_size`"):
        pairwise_hamming(ok, block_size="8")
    with pytest.raises(TypeError, match="`block_size`"):
        pairwise_hamming(ok, block_size=4.0)
    with pytest.raises(ValueError, match="`out_dtype` must be one of"):
        pairwise_hamming(ok, out_dtype="int8")
    with pytest.raises(TypeError, match="`out_dtype`"):
        pairwise_hamming(ok, out_dtype=3.5)


def test_bad_inputs_knn():
    q, b = np.zeros((3, 5), bool), np.zeros((4, 5), bool)
    with pytest.raises(ValueError, match=r"`k` must be in \[1, 4\]"):
        hamming_knn(q, b, 0)
    with pytest.raises(ValueError, match=r"`k` must be in \[1, 4\]"):
        hamming_knn(q, b, 5)
    with pytest.raises(ValueError, match=r"`k` must be in \[1, 3\].*exclude_self"):
        hamming_knn(b, b, 4, exclude_self=True)
    with pytest.raises(ValueError, match="exclude_self"):
        hamming_knn(q, b, 1, exclude_self=True)
    with pytest.raises(TypeError, match="`k`"):
        hamming_knn(q, b, 1.0)
    with pytest.raises(TypeError, match="`k`"):
        hamming_knn(q, b, True)
    with pytest.raises(ValueError, match=r"`k` must be in \[1, 4\].*got 2147483648"):
        hamming_knn(q, b, 2**31)
    with pytest.raises(ValueError, match="`method` must be one of"):
        hamming_knn(q, b, 1, method="brute")
    with pytest.raises(ValueError, match="`queries` and `base` must have the same n_bits"):
        hamming_knn(q, np.zeros((4, 6), bool), 1)
    with pytest.raises(TypeError, match="`queries`"):
        hamming_knn(q.astype(np.float64), b, 1)
    with pytest.raises(ValueError, match="`base` must hold only 0 and 1"):
        hamming_knn(q, np.full((4, 5), 3), 1)
    with pytest.raises(ValueError, match="`base` must be a 2-D"):
        hamming_knn(q, np.zeros(5, bool), 1)
    with pytest.raises(ValueError, match="`block_size` must be an integer >= 1"):
        hamming_knn(q, b, 1, block_size=-3)


def test_exported():
    assert hamgeo.hamming_knn is hamming_knn
    assert isinstance(_native.describe(), str)


# ----------------------------------------------------------------------------- out_dtype


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    ("out_dtype", "n_bits", "truncate"),
    [("uint8", 255, None), ("uint8", 300, 255), ("uint16", 300, None), ("uint16", 70, 9)],
)
def test_narrow_out_dtype(rng, method, out_dtype, n_bits, truncate):
    x, y = bits(rng, 19, n_bits, p=0.2), bits(rng, 23, n_bits, p=0.8)  # distances near n_bits
    got = pairwise_hamming(x, y, method=method, truncate=truncate, out_dtype=out_dtype)
    assert got.dtype == np.dtype(out_dtype)
    np.testing.assert_array_equal(np.asarray(got), ref_pairwise(x, y, truncate))


def test_out_dtype_too_narrow():
    x = np.zeros((2, 300), bool)
    with pytest.raises(ValueError, match="`out_dtype`='uint8' holds distances up to 255"):
        pairwise_hamming(x, out_dtype="uint8")
    with pytest.raises(ValueError, match="`out_dtype`='uint8'"):
        pairwise_hamming(x, truncate=256, out_dtype="uint8")
    assert pairwise_hamming(x, out_dtype=np.uint16).dtype == np.uint16  # dtypes work too


# ----------------------------------------------------------------------------- every path


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("exclude_self", [False, True])
def test_knn_every_method(rng, method, exclude_self):
    x = bits(rng, 29, 65, p=0.3)
    y = x if exclude_self else bits(rng, 31, 65, p=0.3)
    d, i = hamming_knn(x, y, 6, exclude_self=exclude_self, method=method, block_size=7)
    rd, ri = ref_knn(x, y, 6, exclude_self)
    np.testing.assert_array_equal(np.asarray(d), rd)
    np.testing.assert_array_equal(np.asarray(i), ri)


@pytest.mark.parametrize("method", ["xla", "matmul"])
def test_knn_query_blocks(rng, monkeypatch, method):
    """Small temporaries: queries in several blocks (lax.map), base in several blocks."""
    monkeypatch.setattr(_xla, "_BLOCK_BYTES", 4096)
    _api._knn_jit.clear_cache()  # block sizes are chosen at trace time
    x = bits(rng, 29, 40)
    d, i = hamming_knn(x, x, 5, exclude_self=True, method=method, block_size=6)
    rd, ri = ref_knn(x, x, 5, True)
    np.testing.assert_array_equal(np.asarray(d), rd)
    np.testing.assert_array_equal(np.asarray(i), ri)
    assert _xla.knn_blocks("int8", 29, 29, 2, 40, 5, 6)[0] < 29  # really blocked
    _api._knn_jit.clear_cache()


@pytest.mark.parametrize("method", METHODS)
def test_zero_bit_codes(method):
    """Zero-bit codes are all equal: a defined result on every path, never a backend error."""
    e = np.zeros((4, 0), bool)
    assert np.asarray(pairwise_hamming(e, method=method)).tolist() == [[0] * 4] * 4
    d, i = hamming_knn(e, e, 2, method=method)
    assert np.asarray(d).tolist() == [[0, 0]] * 4 and np.asarray(i).tolist() == [[0, 1]] * 4
    d, i = hamming_knn(e, e, 2, exclude_self=True, method=method)
    assert np.asarray(i).tolist() == [[1, 2], [0, 2], [0, 1], [0, 1]]
    np.testing.assert_array_equal(np.asarray(d), 0)


# ----------------------------------------------------------------------------- native kernel

needs_native = pytest.mark.skipif(not _native.available(), reason="native kernel not built")


@needs_native
@pytest.mark.parametrize("isa", ["portable", "avx2", "avx512"])
def test_native_isa_paths_match_numpy(rng, isa):
    """Each instruction-set path (forced, where the CPU has it) against a brute force."""
    with _native.forced_isa(isa) as used:
        if used != isa:
            pytest.skip(f"this CPU has no {isa} path (best below it: {used})")
        assert _native.isa() == isa
        # n_bits: 1 word, 64-bit tails, the AVX2 nibble path (> 256 bits), byte counters
        # flushed in chunks (> 62 nibble vectors = 7936 bits); odd rows everywhere.
        for n, m, n_bits in [(1, 1, 1), (17, 29, 31), (33, 35, 65), (6, 37, 300), (5, 3, 8000)]:
            x, y = bits(rng, n, n_bits), bits(rng, m, n_bits)
            ref = ref_pairwise(x, y)
            xw, yw = pack_bits(x).words, pack_bits(y).words
            for dtype, truncate in [(jnp.int32, None), (jnp.int32, 20), (jnp.uint16, None)]:
                got = _native.pairwise(xw, yw, truncate=truncate, out_dtype=dtype)
                want = ref if truncate is None else np.minimum(ref, truncate)
                np.testing.assert_array_equal(np.asarray(got), want)
            got = _native.pairwise(xw, yw, truncate=min(n_bits, 255), out_dtype=jnp.uint8)
            np.testing.assert_array_equal(np.asarray(got), np.minimum(ref, 255))
            k = min(4, m)
            d, i = _native.knn(xw, yw, 0, k=k, exclude_self=False)
            rd, ri = ref_knn(x, y, k)
            np.testing.assert_array_equal(np.asarray(d), rd)
            np.testing.assert_array_equal(np.asarray(i), ri)
    assert _native.isa() not in (None,)


@needs_native
@pytest.mark.parametrize("pool", ["xla", "own"])
def test_native_thread_pools(rng, monkeypatch, pool):
    """A call big enough to split over threads: XLA's intra-op pool, or the private one."""
    if pool == "own":
        monkeypatch.setenv("HAMGEO_NATIVE_POOL", "own")
    x = bits(rng, 203, 2048)
    want = ref_pairwise(x[:7], x)
    for isa in ["portable", "avx2", "avx512"]:
        with _native.forced_isa(isa):
            got = pairwise_hamming(x, method="native")
            np.testing.assert_array_equal(np.asarray(got[:7]), want)
            d, i = hamming_knn(x, x, 3, exclude_self=True, method="native")
            rd, ri = ref_knn(x[:7], x, 4)
            np.testing.assert_array_equal(np.asarray(i[:7]), ri[:, 1:])  # self is first
    info = _native.pool_info()
    if info["usable_cpus"] > 1:
        assert info["last_pool"] == pool and info["last_threads"] >= 2
    assert str(info["usable_cpus"]) in _native.describe()


def test_native_isa_bad_name():
    if not _native.available():
        with pytest.raises(RuntimeError, match="not available"):
            with _native.forced_isa("avx2"):
                pass
        return
    with pytest.raises(ValueError, match="`name` must be one of"):
        with _native.forced_isa("sse"):
            pass


def test_missing_native_kernel_warns_once_at_the_caller(monkeypatch):
    monkeypatch.setattr(_native, "_load", lambda: (None, "not built (no compiler)"))
    _native._warn_missing.cache_clear()
    try:
        with pytest.warns(_native.NativeKernelWarning, match="not built") as record:
            assert not _native.available()
        assert record[0].filename == __file__  # points at the caller, not hamgeo
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert not _native.available()  # once per process
        assert "not built" in _native.describe()
        assert _native.isa() is None and _native.pool_info() == {} and _native.build_info() == {}
    finally:
        _native._warn_missing.cache_clear()
    monkeypatch.setattr(_native, "_load", lambda: (None, "disabled by HAMGEO_DISABLE_NATIVE"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not _native.available()  # disabling on purpose is not worth a warning
    _native._warn_missing.cache_clear()


# ----------------------------------------------------------------------------- traced statics


def test_traced_static_arguments_raise_a_hamgeo_type_error(rng):
    x = pack_bits(bits(rng, 9, 33))
    with pytest.raises(TypeError, match=r"`k` must be a static Python int.*static_argnames"):
        jax.jit(lambda a, k: hamming_knn(a, a, k))(x, 3)
    with pytest.raises(TypeError, match=r"`truncate` must be a static Python int"):
        jax.jit(lambda a, t: pairwise_hamming(a, truncate=t))(x, 5)
    with pytest.raises(TypeError, match=r"`block_size` must be a static Python int"):
        jax.jit(lambda a, b: pairwise_hamming(a, block_size=b))(x, 4)
    # marked static, the same calls work and agree with the eager ones
    f = jax.jit(lambda a, k: hamming_knn(a, a, k), static_argnames="k")
    np.testing.assert_array_equal(np.asarray(f(x, k=3)[1]), np.asarray(hamming_knn(x, x, 3)[1]))


# ----------------------------------------------------------------------------- environment

_ENV_SCRIPT = """
import warnings
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as seen:
    from hamgeo.hamming import _dispatch, _native
    for _ in range(2):
        status = _native.status()
        mode = _dispatch.mode()
print(repr(status))
print(mode)
for w in seen:
    if issubclass(w.category, RuntimeWarning):
        print("WARN", w.message)
"""


def test_bad_environment_values_warn_once_each():
    """Untrusted environment: each bad value is ignored with one warning naming it."""
    env = {
        **os.environ,
        "HAMGEO_DISABLE_NATIVE": "0",  # means enabled
        "HAMGEO_NATIVE_ISA": "sse9",
        "HAMGEO_NUM_THREADS": "2x",
        "HAMGEO_NATIVE_POOL": "mine",
        "HAMGEO_DISPATCH": "fastest",
        "JAX_PLATFORMS": "cpu",
    }
    out = subprocess.run(
        [sys.executable, "-c", _ENV_SCRIPT], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "disabled" not in lines[0]  # HAMGEO_DISABLE_NATIVE=0 does not disable
    assert lines[1] == "measure"
    warned = [line for line in lines if line.startswith("WARN")]
    for name, value, accepted in [
        ("HAMGEO_NATIVE_ISA", "sse9", "'avx512'"),
        ("HAMGEO_NUM_THREADS", "2x", "positive integers"),
        ("HAMGEO_NATIVE_POOL", "mine", "'own'"),
        ("HAMGEO_DISPATCH", "fastest", "'static', 'measure'"),
    ]:
        hits = [w for w in warned if f"{name}={value!r}" in w]
        if name != "HAMGEO_DISPATCH" and not _native.available():
            continue  # the native variables are read only when the kernel loads
        assert len(hits) == 1 and accepted in hits[0], (name, warned)


@pytest.mark.parametrize(
    "value,disabled", [("1", True), ("yes", True), ("0", False), ("no", False)]
)
def test_disable_native_values(monkeypatch, value, disabled):
    monkeypatch.setenv("HAMGEO_DISABLE_NATIVE", value)
    got = _native.env_choice("HAMGEO_DISABLE_NATIVE", _native._TRUE + _native._FALSE, "0")
    assert (got in _native._TRUE) is disabled
