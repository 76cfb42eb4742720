"""Argument checks shared by every public function (one place, one wording).

The rule: a value of the wrong *type* raises ``TypeError``, a value of the right type
but outside what is allowed raises ``ValueError``, a missing file raises
``FileNotFoundError``. Every message names the argument, says what was expected and
shows what came: "`k` must be a positive integer, got 2.5 (float)".

Checks run eagerly at the API boundary, before tracing; they never see tracers
(callers check static configuration and concrete arrays only). Host-only functions call
[check_not_traced][hamgeo._checks.check_not_traced] first, so a call under ``jax.jit``
says so in words instead of a raw tracer error.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import jax
import numpy as np

__all__ = [
    "INT32_MAX",
    "check_array",
    "check_bool",
    "check_choice",
    "check_existing_path",
    "check_finite_array",
    "check_float",
    "check_float_dtype",
    "check_int",
    "check_key",
    "check_key_batch",
    "check_labels",
    "check_nonnegative_int",
    "check_positive_float",
    "check_positive_int",
    "check_probability",
    "check_not_traced",
    "check_seed",
    "check_static",
    "check_tuple",
    "describe",
    "float_dtype",
    "is_tracer",
]

T = TypeVar("T")

INT32_MAX = 2**31 - 1
_SEED_LIMIT = 2**32


def describe(value: Any) -> str:
    """``repr`` of a value with its type, short enough for an error message."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    shape = getattr(value, "shape", None)
    if shape is not None and getattr(value, "ndim", 0) > 0:
        return f"an array of shape {tuple(shape)} and dtype {getattr(value, 'dtype', '?')}"
    return f"{text} ({type(value).__name__})"


def is_tracer(x: Any) -> bool:
    """Whether ``x`` is a JAX tracer (inside ``jit`` / ``vmap`` / ``grad``): values unknown.

    The one tracer test in hamgeo. A pytree (``PackedCodes``, a dict of arrays) counts as
    traced when any of its leaves is.

    Examples:
        >>> is_tracer(np.ones(2)), jax.jit(lambda x: is_tracer(x) * x)(1.0).item()
        (False, 1.0)
    """
    if isinstance(x, jax.core.Tracer):
        return True
    if isinstance(x, np.ndarray | jax.Array | numbers.Number | str | bytes) or x is None:
        return False
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(x))


def check_not_traced(fn: str, *values: Any) -> None:
    """Refuse to run the host-only function ``fn`` on traced ``values``, in words.

    Host-only functions need concrete values (they call NumPy, scikit-learn or a
    solver on the host, or return a data-dependent shape); under ``jax.jit``,
    ``jax.vmap`` or ``jax.grad`` they would fail deep inside with a raw tracer error.

    Raises:
        TypeError: a value (or a leaf of a pytree value) is a JAX tracer.

    Examples:
        >>> check_not_traced("redundancy_ratio", np.zeros(3))
        >>> try:
        ...     jax.jit(lambda x: check_not_traced("redundancy_ratio", x))(1.0)
        ... except TypeError as err:
        ...     print(str(err).split(" (")[0])
        `redundancy_ratio` is host-only
    """
    if any(is_tracer(v) for v in values):
        raise TypeError(
            f"`{fn}` is host-only (it needs concrete values, and got a JAX tracer: it was "
            "called under jax.jit, jax.vmap or jax.grad); call it outside jax.jit / jax.vmap / "
            "jax.grad"
        )


def check_static(value: Any, name: str, what: str = "a static Python int") -> Any:
    """``value`` as it came, or hamgeo's ``TypeError`` if it is traced (it sets a shape).

    Sizes, counts and other options that fix shapes or compile-time constants must be
    concrete under ``jax.jit``; a traced one would otherwise fail deep inside with a raw
    ``ConcretizationTypeError``.

    Examples:
        >>> check_static(3, "k")
        3
        >>> try:
        ...     jax.jit(lambda k: check_static(k, "k"))(3)
        ... except TypeError as err:
        ...     print(str(err).split(",")[0])
        `k` must be a static Python int
    """
    if is_tracer(value):
        raise TypeError(
            f"`{name}` must be {what}, got a traced value ({describe(value)}); "
            f"mark it static: jax.jit(f, static_argnames=({name!r},))"
        )
    return value


def _as_python_int(value: Any) -> int | None:
    """``value`` as a Python int if it is an integer (not bool, not float), else None."""
    if isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, np.ndarray | jax.Array) and value.ndim == 0:
        if np.issubdtype(value.dtype, np.integer):
            return int(value)
    return None


def check_int(
    value: Any, name: str, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """``value`` as a Python ``int``, checked against ``[minimum, maximum]``.

    Floats are refused, even integral ones (``2.0``): a count that arrives as a float
    is usually a bug upstream, and truncating ``2.5`` silently would hide it.

    Examples:
        >>> check_int(3, "k", minimum=1)
        3
        >>> check_int(2.5, "k")
        Traceback (most recent call last):
        ...
        TypeError: `k` must be an integer, got 2.5 (float)
    """
    check_static(value, name)
    as_int = _as_python_int(value)
    if as_int is None:
        raise TypeError(f"`{name}` must be an integer, got {describe(value)}")
    if minimum is not None and as_int < minimum:
        bound = f"<= {maximum}" if maximum is not None else ""
        expected = f">= {minimum}" + (f" and {bound}" if bound else "")
        raise ValueError(f"`{name}` must be an integer {expected}, got {as_int}")
    if maximum is not None and as_int > maximum:
        expected = f"<= {maximum}" if minimum is None else f"in [{minimum}, {maximum}]"
        raise ValueError(f"`{name}` must be an integer {expected}, got {as_int}")
    return as_int


def check_positive_int(value: Any, name: str, *, maximum: int | None = INT32_MAX) -> int:
    """An integer ``>= 1`` (and ``<= maximum``, int32 range by default)."""
    return check_int(value, name, minimum=1, maximum=maximum)


def check_nonnegative_int(value: Any, name: str, *, maximum: int | None = INT32_MAX) -> int:
    """An integer ``>= 0`` (and ``<= maximum``, int32 range by default)."""
    return check_int(value, name, minimum=0, maximum=maximum)


def check_seed(value: Any, name: str = "seed") -> int:
    """A seed in ``[0, 2**32)``; larger or negative values would alias other seeds."""
    return check_int(value, name, minimum=0, maximum=_SEED_LIMIT - 1)


def check_float(
    value: Any,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: bool = False,
    exclusive_maximum: bool = False,
    allow_inf: bool = False,
) -> float:
    """``value`` as a finite Python ``float`` within the given bounds.

    Integers are accepted (``1`` means ``1.0``); bools, strings and arrays with more
    than one element are not. NaN is always refused; infinities unless ``allow_inf``.

    Examples:
        >>> check_float(0.5, "epsilon", minimum=0.0, exclusive_minimum=True)
        0.5
        >>> check_float(float("inf"), "epsilon")
        Traceback (most recent call last):
        ...
        ValueError: `epsilon` must be a finite number, got inf
    """
    check_static(value, name, "a static Python number")
    if isinstance(value, bool | np.bool_) or not (
        isinstance(value, numbers.Real)
        or (
            isinstance(value, np.ndarray | jax.Array)
            and value.ndim == 0
            and np.issubdtype(value.dtype, np.number)
            and not np.issubdtype(value.dtype, np.complexfloating)
        )
    ):
        raise TypeError(f"`{name}` must be a real number, got {describe(value)}")
    try:
        as_float = float(value)
    except OverflowError:  # an int beyond the float range, e.g. 10**400
        as_float = math.inf if value > 0 else -math.inf  # type: ignore[operator]
    if math.isnan(as_float) or (math.isinf(as_float) and not allow_inf):
        raise ValueError(f"`{name}` must be a finite number, got {as_float}")
    if minimum is not None:
        if as_float < minimum or (exclusive_minimum and as_float == minimum):
            op = ">" if exclusive_minimum else ">="
            raise ValueError(f"`{name}` must be {op} {minimum}, got {as_float}")
    if maximum is not None:
        if as_float > maximum or (exclusive_maximum and as_float == maximum):
            op = "<" if exclusive_maximum else "<="
            raise ValueError(f"`{name}` must be {op} {maximum}, got {as_float}")
    return as_float


def check_positive_float(value: Any, name: str) -> float:
    """A finite float ``> 0``."""
    return check_float(value, name, minimum=0.0, exclusive_minimum=True)


def check_probability(value: Any, name: str, *, allow_one: bool = True) -> float:
    """A float in ``[0, 1]`` (``[0, 1)`` when ``allow_one`` is false)."""
    return check_float(value, name, minimum=0.0, maximum=1.0, exclusive_maximum=not allow_one)


def check_bool(value: Any, name: str) -> bool:
    """A Python or NumPy bool (``0`` / ``1`` / ``"yes"`` are refused: a flag is a bool).

    Examples:
        >>> check_bool(True, "debiased")
        True
        >>> check_bool("no", "debiased")
        Traceback (most recent call last):
        ...
        TypeError: `debiased` must be a bool, got 'no' (str)
    """
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray | jax.Array) and value.shape == () and value.dtype == bool:
        if not is_tracer(value):
            return bool(value)
    raise TypeError(f"`{name}` must be a bool, got {describe(value)}")


def check_choice(name: str, value: Any, options: tuple[T, ...]) -> T:
    """``value`` if it is one of ``options`` (strings), typed as the options' ``Literal``.

    Derive ``options`` from the ``Literal`` so the two never drift, and the result keeps
    its type for the type checker::

        Method = Literal["auto", "xla"]
        _METHODS: tuple[Method, ...] = typing.get_args(Method)
        method = check_choice("method", method, _METHODS)  # typed Method

    Examples:
        >>> check_choice("method", "xla", ("auto", "xla"))
        'xla'
        >>> check_choice("method", "fast", ("auto", "xla"))
        Traceback (most recent call last):
        ...
        ValueError: `method` must be one of 'auto', 'xla', got 'fast'
    """
    options = tuple(options)
    shown = ", ".join(map(repr, options))
    if isinstance(value, str) and value in options:
        return value  # one of the options, so of their type
    if (
        isinstance(name, str)
        and name in options
        and not (isinstance(value, str) and value in options)
    ):
        # a call written in the old order check_choice(value, name, options)
        raise TypeError(f"check_choice takes (name, value, options), got the value {name!r} first")
    if not isinstance(value, str):
        raise TypeError(f"`{name}` must be a string, one of {shown}, got {describe(value)}")
    raise ValueError(f"`{name}` must be one of {shown}, got {value!r}")


def check_tuple(
    value: Any,
    name: str,
    item: Callable[[Any, str], T],
    *,
    min_length: int = 1,
    max_length: int | None = None,
) -> tuple[T, ...]:
    """A tuple whose entries each pass ``item(entry, f"{name}[i]")``, as a tuple of the results.

    Lists are refused (configs are frozen and hashable); so are strings.

    Args:
        value: the value to check.
        name: the argument's name for messages.
        item: the check of one entry, e.g. ``check_positive_int`` or
            ``functools.partial(check_float, minimum=0.0)``.
        min_length: the fewest entries allowed.
        max_length: the most entries allowed.

    Examples:
        >>> check_tuple((3, 5), "widths", check_positive_int)
        (3, 5)
        >>> check_tuple((3, 0), "widths", check_positive_int)
        Traceback (most recent call last):
        ...
        ValueError: `widths[1]` must be an integer >= 1 and <= 2147483647, got 0
    """
    if not isinstance(value, tuple):
        raise TypeError(f"`{name}` must be a tuple, got {describe(value)}")
    if len(value) < min_length or (max_length is not None and len(value) > max_length):
        want = f"at least {min_length}" if max_length is None else f"{min_length} to {max_length}"
        raise ValueError(f"`{name}` must have {want} entries, got {len(value)}")
    return tuple(item(v, f"{name}[{i}]") for i, v in enumerate(value))


def check_key(key: Any, name: str = "key") -> jax.Array:
    """A JAX PRNG key: a typed key (``jax.random.key``) or a raw ``uint32[2]`` one.

    Plain ints are refused with a hint, because hamgeo never seeds behind the caller's
    back: ``key=0`` must be written ``key=jax.random.key(0)``.

    Examples:
        >>> check_key(jax.random.key(0)).shape
        ()
        >>> check_key(0)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        TypeError: `key` must be a JAX PRNG key ...; write jax.random.key(0), got 0 (int)
    """
    if isinstance(key, np.ndarray) and key.dtype == np.uint32 and key.shape == (2,):
        key = jax.numpy.asarray(key)  # a raw key held in NumPy
    if isinstance(key, jax.Array):
        if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
            if key.ndim != 0:
                raise ValueError(
                    f"`{name}` must be a single PRNG key, got keys of shape {key.shape}"
                )
            return key
        if key.dtype == np.uint32 and key.shape == (2,):
            return key
    hint = ""
    if _as_python_int(key) is not None:
        hint = f"; write jax.random.key({int(key)})"
    raise TypeError(
        f"`{name}` must be a JAX PRNG key (jax.random.key(seed)){hint}, got {describe(key)}"
    )


def check_key_batch(keys: Any, name: str = "keys") -> jax.Array:
    """A 1-D batch of PRNG keys: typed ``key[k]`` or raw ``uint32[k, 2]``, ``k >= 1``.

    Examples:
        >>> check_key_batch(jax.random.split(jax.random.key(0), 3)).shape
        (3,)
        >>> check_key_batch(jax.random.key(0))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        TypeError: `keys` must be a 1-D array of JAX PRNG keys, one per model ...
    """
    if isinstance(keys, np.ndarray) and keys.dtype == np.uint32:
        keys = jax.numpy.asarray(keys)
    if isinstance(keys, jax.Array):
        typed = jax.dtypes.issubdtype(keys.dtype, jax.dtypes.prng_key)
        raw = not typed and keys.dtype == np.uint32 and keys.ndim == 2 and keys.shape[1] == 2
        if (typed and keys.ndim == 1) or raw:
            if keys.shape[0] >= 1:
                return keys
            raise ValueError(f"`{name}` must hold at least one key, got none")
    raise TypeError(
        f"`{name}` must be a 1-D array of JAX PRNG keys, one per model "
        f"(jax.random.split(jax.random.key(seed), k)), got {describe(keys)}"
    )


def float_dtype(*xs: Any) -> np.dtype:
    """The floating dtype to compute in for inputs ``xs`` (arrays or dtypes).

    The widest floating dtype among them, at least float32: integer, bool, float16 and
    bfloat16 inputs compute in float32; float64 stays float64 only when
    ``jax_enable_x64`` is on. The one float-dtype rule of hamgeo: real results follow the
    input's floating dtype.

    Examples:
        >>> float_dtype(np.zeros(2, np.int8)), float_dtype(np.float16, np.float32)
        (dtype('float32'), dtype('float32'))
    """
    out: np.dtype[Any] = np.dtype(np.float32)
    for x in xs:
        d = np.dtype(x if isinstance(x, type | str | np.dtype) else getattr(x, "dtype", x))
        if d.kind == "f" and d.itemsize > out.itemsize:
            out = d
    return np.dtype(jax.dtypes.canonicalize_dtype(out))


def check_float_dtype(value: Any, name: str = "dtype") -> np.dtype:
    """``value`` as a NumPy floating dtype (``np.float32``, ``"float64"``, ...).

    Examples:
        >>> check_float_dtype("float64")
        dtype('float64')
        >>> check_float_dtype(np.int32)
        Traceback (most recent call last):
        ...
        TypeError: `dtype` must be a floating dtype, got int32
    """
    try:
        dt = np.dtype(value)
    except TypeError:
        raise TypeError(f"`{name}` must be a floating dtype, got {describe(value)}") from None
    if dt.kind != "f":
        raise TypeError(f"`{name}` must be a floating dtype, got {dt}")
    return dt


def check_array(
    x: Any,
    name: str,
    *,
    ndim: int | Sequence[int] | None = None,
    kind: str | None = None,
    min_rows: int | None = None,
) -> np.ndarray | jax.Array:
    """An array (NumPy, JAX or nested lists) with the given rank and dtype kind.

    ``kind`` is a set of NumPy dtype kind letters: ``"f"`` floating, ``"iu"``
    integers, ``"b"`` bool, ``"fiub"`` any real number. Returns a JAX array as given,
    else a NumPy array.
    """
    if isinstance(x, str | bytes | dict) or x is None:
        raise TypeError(f"`{name}` must be an array, got {describe(x)}")
    arr: np.ndarray | jax.Array
    if isinstance(x, jax.Array):
        arr = x
    else:
        try:
            arr = np.asarray(x)
        except (TypeError, ValueError) as err:  # ragged nested lists, unconvertible objects
            raise TypeError(
                f"`{name}` must be a rectangular numeric array, got {describe(x)}: {err}"
            ) from None
    if np.dtype(arr.dtype).kind not in "biufc":  # strings, objects, dates
        raise TypeError(f"`{name}` must be a numeric array, got {describe(x)} of dtype {arr.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(f"`{name}` must be {want}, got shape {tuple(arr.shape)}")
    if kind is not None and np.dtype(arr.dtype).kind not in kind:
        raise TypeError(f"`{name}` must have a {_kind_words(kind)} dtype, got dtype {arr.dtype}")
    if min_rows is not None and (arr.ndim == 0 or arr.shape[0] < min_rows):
        raise ValueError(
            f"`{name}` must have at least {min_rows} row(s), got shape {tuple(arr.shape)}"
        )
    return arr


_KIND_WORDS = {"f": "float", "i": "integer", "u": "integer", "b": "bool", "c": "complex"}


def _kind_words(kind: str) -> str:
    """``"fiub"`` -> ``"float, integer or bool"`` (NumPy dtype kind letters in words)."""
    words = list(dict.fromkeys(_KIND_WORDS.get(k, k) for k in kind))
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def check_finite_array(x: Any, name: str, **kwargs: Any) -> np.ndarray | jax.Array:
    """[check_array][hamgeo._checks.check_array] with real dtype, and no NaN or inf anywhere.

    Under ``jax.jit`` (a tracer) the values cannot be seen: only the shape and dtype are
    checked.

    Examples:
        >>> check_finite_array([[0.0, 1.0]], "x", ndim=2).shape
        (1, 2)
        >>> check_finite_array([1.0, float("nan")], "x")
        Traceback (most recent call last):
        ...
        ValueError: `x` must be finite, got 1 NaN or infinite value(s)
    """
    kwargs.setdefault("kind", "fiub")
    arr = check_array(x, name, **kwargs)
    if np.dtype(arr.dtype).kind == "f" and not is_tracer(arr):
        finite = jax.numpy.isfinite(arr) if isinstance(arr, jax.Array) else np.isfinite(arr)
        if not bool(finite.all()):
            bad = int(np.size(arr) - int(finite.sum()))
            raise ValueError(f"`{name}` must be finite, got {bad} NaN or infinite value(s)")
    return arr


def check_labels(
    labels: Any, name: str = "labels", *, n_classes: int | None = None, length: int | None = None
) -> np.ndarray:
    """Integer class labels in ``[0, n_classes)`` as ``int32[n]``.

    Integral floats are refused like in [check_int][hamgeo._checks.check_int]; labels beyond
    int32 raise instead of wrapping around.

    Examples:
        >>> check_labels([0, 2, 1], n_classes=3).tolist()
        [0, 2, 1]
        >>> check_labels([0, 3], n_classes=3)
        Traceback (most recent call last):
        ...
        ValueError: `labels` must be < n_classes = 3, got a label 3
    """
    arr = np.asarray(check_array(labels, name))
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"`{name}` must be integer class labels, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"`{name}` must be 1-D, got shape {arr.shape}")
    if length is not None and arr.shape[0] != length:
        raise ValueError(f"`{name}` must have {length} entries, got {arr.shape[0]}")
    if arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0:
            raise ValueError(f"`{name}` must be >= 0, got a label {lo}")
        limit = INT32_MAX if n_classes is None else n_classes - 1
        if hi > limit:
            what = f"< n_classes = {n_classes}" if n_classes is not None else "<= 2**31 - 1"
            raise ValueError(f"`{name}` must be {what}, got a label {hi}")
    return arr.astype(np.int32)


def check_existing_path(path: Any, name: str, *, kind: str = "any") -> Path:
    """An existing path (``kind`` = ``"file"``, ``"dir"`` or ``"any"``)."""
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"`{name}` must be a path (str or os.PathLike), got {describe(path)}")
    p = Path(path).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"`{name}`: no such file or directory: {str(p)!r}")
    if kind == "file" and not p.is_file():
        raise ValueError(f"`{name}` must be a file, got the directory {str(p)!r}")
    if kind == "dir" and not p.is_dir():
        raise ValueError(f"`{name}` must be a directory, got the file {str(p)!r}")
    return p
