"""Tests for hamgeo._checks: the one place argument checks live.

The rule under test: a wrong *type* raises ``TypeError``, a right type with a wrong
*value* raises ``ValueError``, a missing file raises ``FileNotFoundError``, and every
message names the argument, what was expected and what came.
"""

import math
from typing import Literal, get_args

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hamgeo._checks import (
    INT32_MAX,
    check_array,
    check_bool,
    check_choice,
    check_existing_path,
    check_finite_array,
    check_float,
    check_float_dtype,
    check_int,
    check_key,
    check_key_batch,
    check_labels,
    check_nonnegative_int,
    check_not_traced,
    check_positive_float,
    check_positive_int,
    check_probability,
    check_seed,
    check_tuple,
    describe,
    float_dtype,
    is_tracer,
)

# --------------------------------------------------------------------------- integers


@given(st.integers(min_value=-(2**70), max_value=2**70))
def test_check_int_returns_python_ints_unchanged(value):
    for form in (value, np.int64(value) if abs(value) < 2**63 else value):
        got = check_int(form, "k")
        assert got == value and type(got) is int


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_check_int_refuses_every_float(value):
    with pytest.raises(TypeError, match=r"`k` must be an integer, got .*\(float\)"):
        check_int(value, "k")


@pytest.mark.parametrize(
    "value", [True, False, np.bool_(True), "3", None, [3], {"k": 3}, 3 + 0j, np.array([3])]
)
def test_check_int_refuses_other_types(value):
    with pytest.raises(TypeError, match="`k` must be an integer"):
        check_int(value, "k")


def test_check_int_accepts_zero_dim_integer_arrays():
    assert check_int(np.array(7, np.int16), "k") == 7
    assert check_int(jnp.asarray(7, jnp.int32), "k") == 7
    with pytest.raises(TypeError):
        check_int(jnp.asarray(7.0), "k")


def test_integer_bounds_and_messages():
    assert check_positive_int(1, "n") == 1
    assert check_nonnegative_int(0, "n") == 0
    assert check_positive_int(INT32_MAX, "n") == INT32_MAX
    with pytest.raises(ValueError, match=r"`n` must be an integer >= 1 and <= 2147483647, got 0"):
        check_positive_int(0, "n")
    with pytest.raises(ValueError, match=r"got 2147483648"):
        check_positive_int(2**31, "n")  # would wrap around in int32
    with pytest.raises(ValueError, match="`n`"):
        check_nonnegative_int(-1, "n")
    assert check_positive_int(2**40, "n", maximum=None) == 2**40
    with pytest.raises(ValueError, match=r"`k` must be an integer <= 5, got 6"):
        check_int(6, "k", maximum=5)
    with pytest.raises(ValueError, match=r"`k` must be an integer in \[1, 5\], got 6"):
        check_int(6, "k", minimum=1, maximum=5)


@pytest.mark.parametrize("seed", [-1, 2**32, 2**63, 9223372036854775808])
def test_check_seed_refuses_values_that_would_alias(seed):
    with pytest.raises(ValueError, match="`seed`"):
        check_seed(seed)


def test_check_seed_accepts_the_whole_uint32_range():
    assert check_seed(0) == 0 and check_seed(2**32 - 1) == 2**32 - 1
    with pytest.raises(TypeError, match="`seed` must be an integer"):
        check_seed(1.5)


# --------------------------------------------------------------------------- floats


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_check_float_accepts_finite_floats(value):
    assert check_float(value, "x") == value


@pytest.mark.parametrize(
    "value",
    [math.inf, -math.inf, math.nan, 10**400, -(10**400)],
    ids=["inf", "-inf", "nan", "10**400", "-10**400"],
)
def test_check_float_refuses_non_finite(value):
    with pytest.raises(ValueError, match="`x` must be a finite number"):
        check_float(value, "x")


@pytest.mark.parametrize(
    "value", [True, np.bool_(False), "0.5", None, [0.5], 1j, np.array([0.5, 1.0]), np.array(True)]
)
def test_check_float_refuses_other_types(value):
    with pytest.raises(TypeError, match="`x` must be a real number"):
        check_float(value, "x")


def test_check_float_accepts_numpy_and_jax_scalars():
    assert check_float(np.float32(0.5), "x") == 0.5
    assert check_float(np.array(2), "x") == 2.0
    assert check_float(jnp.asarray(0.25), "x") == 0.25
    assert check_float(3, "x") == 3.0
    assert check_float(math.inf, "x", allow_inf=True) == math.inf


def test_float_bounds():
    with pytest.raises(ValueError, match=r"`eps` must be > 0.0, got 0.0"):
        check_positive_float(0.0, "eps")
    with pytest.raises(ValueError, match=r"`eps` must be > 0.0, got -1.0"):
        check_positive_float(-1, "eps")
    assert check_probability(0.0, "p") == 0.0 and check_probability(1, "p") == 1.0
    with pytest.raises(ValueError, match=r"`p` must be < 1.0, got 1.0"):
        check_probability(1.0, "p", allow_one=False)
    with pytest.raises(ValueError, match=r"`p` must be >= 0.0"):
        check_probability(-0.1, "p")
    with pytest.raises(ValueError, match=r"`p` must be <= 1.0"):
        check_probability(1.5, "p")


# --------------------------------------------------------------------------- flags, choices


def test_check_bool():
    assert check_bool(True, "f") is True and check_bool(np.bool_(False), "f") is False
    assert check_bool(np.array(True), "f") is True
    for value in (0, 1, "yes", None, 1.0, np.array([True])):
        with pytest.raises(TypeError, match="`f` must be a bool"):
            check_bool(value, "f")


def test_check_choice():
    assert check_choice("mode", "b", ("a", "b")) == "b"
    with pytest.raises(ValueError, match=r"`mode` must be one of 'a', 'b', got 'c'"):
        check_choice("mode", "c", ("a", "b"))
    for value in (None, 1, b"a", ["a"]):
        with pytest.raises(TypeError, match=r"`mode` must be a string, one of 'a', 'b'"):
            check_choice("mode", value, ("a", "b"))


def test_check_choice_keeps_the_literal_and_refuses_the_old_argument_order():
    mode = Literal["a", "b"]
    options: tuple[mode, ...] = get_args(mode)
    assert check_choice("mode", "a", options) == "a"
    with pytest.raises(TypeError, match=r"takes \(name, value, options\)"):
        check_choice("a", "mode", options)  # the pre-generic order (value, name, options)


def test_check_tuple():
    assert check_tuple((3, 5), "widths", check_positive_int) == (3, 5)
    assert check_tuple((), "widths", check_positive_int, min_length=0) == ()
    with pytest.raises(ValueError, match=r"`widths\[1\]` must be an integer >= 1"):
        check_tuple((3, 0), "widths", check_positive_int)
    with pytest.raises(TypeError, match=r"`widths\[0\]` must be an integer, got 2.5"):
        check_tuple((2.5,), "widths", check_positive_int)
    for value in ([3], "3", 3, None):
        with pytest.raises(TypeError, match="`widths` must be a tuple"):
            check_tuple(value, "widths", check_positive_int)
    with pytest.raises(ValueError, match="`widths` must have at least 1 entries, got 0"):
        check_tuple((), "widths", check_positive_int)
    with pytest.raises(ValueError, match="`widths` must have 1 to 2 entries, got 3"):
        check_tuple((1, 2, 3), "widths", check_positive_int, max_length=2)


def test_float_dtype_and_check_float_dtype():
    assert float_dtype(np.zeros(2, np.int8)) == np.float32
    assert float_dtype(np.float16, jnp.bfloat16) == np.float32
    assert float_dtype(np.zeros(2, bool), np.zeros(2, np.float32)) == np.float32
    want = np.float64 if jax.config.jax_enable_x64 else np.float32
    assert float_dtype(np.zeros(2, np.float64)) == want
    assert check_float_dtype("float64") == np.float64
    for bad in (np.int32, "int8", bool):
        with pytest.raises(TypeError, match="`dtype` must be a floating dtype"):
            check_float_dtype(bad)
    with pytest.raises(TypeError, match="`dt` must be a floating dtype"):
        check_float_dtype("nonsense", "dt")


def test_check_not_traced_names_the_function():
    check_not_traced("f", np.ones(2), {"a": jnp.ones(2)}, None, 3)  # concrete: no error

    @jax.jit
    def traced(x):
        check_not_traced("my_fn", {"inner": [x]})
        return x

    with pytest.raises(TypeError, match=r"`my_fn` is host-only .* call it outside jax.jit"):
        traced(jnp.ones(2))
    with pytest.raises(TypeError, match="`my_fn` is host-only"):
        jax.vmap(traced)(jnp.ones((2, 2)))


def test_is_tracer_sees_pytree_leaves():
    assert not is_tracer({"a": np.ones(2), "b": [1, 2.0]})
    seen = []
    jax.jit(lambda x: seen.append(is_tracer((1, {"x": x}))) or x)(1.0)
    assert seen == [True]


# --------------------------------------------------------------------------- keys


def test_check_key_accepts_typed_and_raw_keys():
    typed = jax.random.key(3)
    assert check_key(typed) is typed
    raw = jax.random.PRNGKey(3)
    assert check_key(raw) is raw
    host = np.asarray(raw)
    assert np.array_equal(np.asarray(check_key(host)), host)


@pytest.mark.parametrize(
    ("key", "hint"),
    [
        (0, r"; write jax.random.key\(0\)"),
        (np.int64(5), r"; write jax.random.key\(5\)"),
        (None, ""),
        ("0", ""),
        (1.5, ""),
        (np.zeros(2, np.float32), ""),
        (np.zeros(3, np.uint32), ""),
    ],
)
def test_check_key_refuses_non_keys_with_a_hint(key, hint):
    with pytest.raises(TypeError, match=r"`key` must be a JAX PRNG key.*" + hint):
        check_key(key)


def test_check_key_refuses_a_batch_of_keys():
    with pytest.raises(ValueError, match="`key` must be a single PRNG key"):
        check_key(jax.random.split(jax.random.key(0), 2))


# --------------------------------------------------------------------------- arrays


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (None, "`x` must be an array"),
        ("abc", "`x` must be an array"),
        ({"a": 1}, "`x` must be an array"),
        ([[1.0, 2.0], [3.0]], "`x` must be a rectangular numeric array"),
        (np.array(["a", "b"]), "`x` must be a numeric array"),
        (np.array([object()]), "`x` must be a numeric array"),
        (np.array(["2020-01-01"], "datetime64[D]"), "`x` must be a numeric array"),
    ],
)
def test_check_array_refuses_non_numeric(value, match):
    with pytest.raises(TypeError, match=match):
        check_array(value, "x")


def test_check_array_rank_kind_and_rows():
    assert check_array([[1, 2]], "x", ndim=2).shape == (1, 2)
    assert check_array(jnp.ones(3), "x", ndim=(1, 2)).shape == (3,)
    with pytest.raises(ValueError, match=r"`x` must be 2-D, got shape \(3,\)"):
        check_array(np.ones(3), "x", ndim=2)
    with pytest.raises(ValueError, match=r"`x` must be 1-D or 2-D, got shape \(\)"):
        check_array(1.0, "x", ndim=(1, 2))
    with pytest.raises(TypeError, match="`x` must have a float dtype, got dtype int64"):
        check_array(np.ones(3, np.int64), "x", kind="f")
    with pytest.raises(
        TypeError, match="must have a float, integer or bool dtype, got dtype complex"
    ):
        check_array(np.ones(3, complex), "x", kind="fiub")
    with pytest.raises(ValueError, match="`x` must have at least 2 row"):
        check_array(np.ones((1, 3)), "x", min_rows=2)


def test_check_finite_array():
    with pytest.raises(ValueError, match=r"`x` must be finite, got 2 NaN or infinite"):
        check_finite_array([np.nan, 1.0, np.inf], "x")
    with pytest.raises(ValueError, match="`x` must be finite"):
        check_finite_array(jnp.asarray([1.0, jnp.nan]), "x")
    assert check_finite_array(np.arange(3), "x").dtype.kind == "i"  # integers are finite
    assert check_finite_array(np.zeros((0, 2)), "x", ndim=2).shape == (0, 2)
    with pytest.raises(TypeError, match="`x`"):
        check_finite_array(np.ones(2, complex), "x")

    # Under jit only shapes and dtypes are known: no value check, no error.
    @jax.jit
    def f(x):
        assert is_tracer(x)
        return check_finite_array(x, "x", ndim=1) * 2

    assert np.isnan(np.asarray(f(jnp.asarray([jnp.nan])))).all()
    assert not is_tracer(jnp.ones(2))


# --------------------------------------------------------------------------- labels


def test_check_labels():
    got = check_labels([2, 0, 1], n_classes=3)
    assert got.dtype == np.int32 and got.tolist() == [2, 0, 1]
    assert check_labels(np.array([], np.int64)).shape == (0,)
    with pytest.raises(TypeError, match="`labels` must be integer class labels, got dtype float"):
        check_labels([0.0, 1.0])
    with pytest.raises(TypeError, match="dtype bool"):
        check_labels([True, False])
    with pytest.raises(TypeError, match="`y`"):
        check_labels(["a"], "y")
    with pytest.raises(ValueError, match=r"`labels` must be 1-D, got shape \(1, 2\)"):
        check_labels([[0, 1]])
    with pytest.raises(ValueError, match="`labels` must be >= 0, got a label -1"):
        check_labels([0, -1])
    with pytest.raises(ValueError, match="`labels` must be < n_classes = 2, got a label 2"):
        check_labels([0, 2], n_classes=2)
    with pytest.raises(ValueError, match=r"<= 2\*\*31 - 1, got a label 2147483648"):
        check_labels(np.array([2**31], np.int64))  # no silent int32 wrap-around
    with pytest.raises(ValueError, match="`labels` must have 3 entries, got 2"):
        check_labels([0, 1], length=3)


# --------------------------------------------------------------------------- paths


def test_check_existing_path(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("x")
    assert check_existing_path(str(f), "path", kind="file") == f
    assert check_existing_path(tmp_path, "root", kind="dir") == tmp_path
    with pytest.raises(FileNotFoundError, match="`path`: no such file or directory"):
        check_existing_path(tmp_path / "missing", "path")
    with pytest.raises(ValueError, match="`path` must be a file, got the directory"):
        check_existing_path(tmp_path, "path", kind="file")
    with pytest.raises(ValueError, match="`root` must be a directory, got the file"):
        check_existing_path(f, "root", kind="dir")
    for bad in (None, 3, ["a"]):
        with pytest.raises(TypeError, match="`path` must be a path"):
            check_existing_path(bad, "path")


# --------------------------------------------------------------------------- messages


def test_describe_is_short_and_typed():
    assert describe(2.5) == "2.5 (float)"
    assert describe(np.ones((2, 3))) == "an array of shape (2, 3) and dtype float64"
    long = describe("x" * 500)
    assert len(long) < 80 and long.endswith("(str)") and "..." in long


def test_check_key_batch():
    typed = jax.random.split(jax.random.key(0), 3)
    assert check_key_batch(typed) is typed
    raw = np.zeros((2, 2), np.uint32)
    assert check_key_batch(raw).shape == (2, 2)
    for bad in (jax.random.key(0), 0, np.zeros((2, 3), np.uint32), [1, 2]):
        with pytest.raises(TypeError, match="`keys` must be a 1-D array of JAX PRNG keys"):
            check_key_batch(bad)
    with pytest.raises(ValueError, match="`k` must hold at least one key"):
        check_key_batch(jax.random.split(jax.random.key(0), 0), "k")
