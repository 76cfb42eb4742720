"""The native CPU Hamming kernels, registered with XLA through ``jax.ffi``.

``setup.py`` builds ``hamgeo/csrc/*.cc`` into ``hamgeo._hamming_ffi`` against the
XLA FFI headers that ship with jaxlib (a build requirement, so ``pip install .`` builds
them). The module hands XLA two handlers (``hamgeo_pairwise``, ``hamgeo_knn``) that this
file registers for the CPU platform and calls with ``jax.ffi.ffi_call``. They run on
XLA's own intra-op thread pool, and pick an instruction-set path at run time: AVX-512
VPOPCNTDQ, AVX2 or portable C++ ([`isa`][hamgeo.hamming._native.isa]).

If the module is missing or fails to load, ``available`` is ``False`` (with a
warning on first use when it was not built) and hamgeo runs its pure-XLA kernels;
``describe`` says which path runs (``hamgeo info`` prints it).

Environment (each read once; a value outside the accepted ones is ignored with one
warning naming the variable, the value and what is accepted):
``HAMGEO_DISABLE_NATIVE=1|true|yes|on`` forces the XLA kernels (``0|false|no|off`` or
empty: enabled); ``HAMGEO_NATIVE_ISA=portable|avx2|avx512`` caps the instruction-set path
(for tests and comparisons); ``HAMGEO_NUM_THREADS=n`` (a positive integer) caps the
threads of one call; ``HAMGEO_NATIVE_POOL=own|xla`` uses a private pool instead of XLA's.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import warnings
from collections.abc import Iterator
from types import FrameType, ModuleType
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "NativeKernelWarning",
    "available",
    "build_info",
    "describe",
    "env_choice",
    "forced_isa",
    "isa",
    "knn",
    "pairwise",
    "pool_info",
    "status",
]

Isa = Literal["portable", "avx2", "avx512"]
_ISA_TEXT = {
    "avx512": "AVX-512 VPOPCNTDQ (16 codes per vector)",
    "avx2": "AVX2 nibble table (64-bit POPCNT for codes <= 256 bits)",
    "portable": "portable C++ 64-bit popcount",
}


class NativeKernelWarning(UserWarning):
    """The native CPU kernels are not built; hamgeo runs its (slower) XLA kernels."""


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")
_warned_env: set[tuple[str, str | None]] = set()


def env_choice(name: str, accepted: tuple[str, ...], default: str) -> str:
    """``$name`` lower-cased if it is one of ``accepted`` (or unset / empty: ``default``).

    Any other value is ignored with one warning per process naming the variable, the
    value and the accepted values: the environment is untrusted input.

    Examples:
        >>> env_choice("HAMGEO_SOME_UNSET_VARIABLE", ("a", "b"), "a")
        'a'
    """
    raw = os.environ.get(name)
    value = "" if raw is None else raw.strip().lower()
    if value == "":
        return default
    if value in accepted:
        return value
    if (name, raw) not in _warned_env:
        _warned_env.add((name, raw))
        warnings.warn(
            f"ignoring {name}={raw!r}: accepted values are "
            f"{', '.join(repr(a) for a in accepted if a)}; using {default!r}",
            RuntimeWarning,
            stacklevel=_user_stacklevel(),
        )
    return default


def _check_env() -> None:
    """Warn (once) about native-kernel variables the C++ side would ignore."""
    env_choice("HAMGEO_NATIVE_ISA", ("portable", "avx2", "avx512"), "")
    env_choice("HAMGEO_NATIVE_POOL", ("own", "xla"), "")
    raw = os.environ.get("HAMGEO_NUM_THREADS", "").strip()
    if raw and not (raw.isdigit() and 0 < int(raw) <= 2**31 - 1):
        if ("HAMGEO_NUM_THREADS", raw) not in _warned_env:
            _warned_env.add(("HAMGEO_NUM_THREADS", raw))
            warnings.warn(
                f"ignoring HAMGEO_NUM_THREADS={raw!r}: accepted values are positive integers; "
                "using every usable CPU",
                RuntimeWarning,
                stacklevel=_user_stacklevel(),
            )


@functools.cache
def _load() -> tuple[ModuleType | None, str]:
    disable = env_choice("HAMGEO_DISABLE_NATIVE", _TRUE + _FALSE, "0")
    if disable in _TRUE:
        return None, "disabled by HAMGEO_DISABLE_NATIVE"
    _check_env()
    try:
        from hamgeo import _hamming_ffi  # type: ignore[attr-defined, unused-ignore]
    except ImportError as err:
        return None, (f"not built ({err}); reinstall with a C++ compiler present: pip install .")
    try:
        for name, capsule in _hamming_ffi.capsules().items():
            jax.ffi.register_ffi_target(name, capsule, platform="cpu")
    except Exception as err:  # any failure means "use XLA"
        return None, f"failed to register with XLA ({err})"
    return _hamming_ffi, ""


def _user_stacklevel() -> int:
    """The ``stacklevel`` that points a warning at the first frame outside hamgeo and jax."""
    here = os.path.dirname(os.path.abspath(__file__))
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None:
        name = os.path.abspath(frame.f_code.co_filename)
        if not name.startswith(here) and f"{os.sep}jax{os.sep}" not in name:
            break
        frame, level = frame.f_back, level + 1
    return level


@functools.cache
def _warn_missing() -> None:
    module, why = _load()
    if module is None and not why.startswith("disabled"):
        warnings.warn(
            f"hamgeo's native CPU Hamming kernels are {why}; using the XLA kernels",
            NativeKernelWarning,
            stacklevel=_user_stacklevel(),
        )


def available() -> bool:
    """Whether the native CPU kernels are built and registered.

    The first call warns (`NativeKernelWarning`) if they were not built.

    Examples:
        >>> isinstance(available(), bool)
        True
    """
    _warn_missing()
    return _load()[0] is not None


def status() -> str:
    """``""`` when the kernels are loaded, else why not (not built, disabled, ...).

    Examples:
        >>> isinstance(status(), str)
        True
    """
    return _load()[1]


def isa() -> Isa | None:
    """The instruction-set path the native kernels use now, or ``None`` if not loaded.

    Examples:
        >>> isa() in (None, "portable", "avx2", "avx512")
        True
    """
    module = _load()[0]
    return None if module is None else module.isa()


@contextlib.contextmanager
def forced_isa(name: Isa) -> Iterator[Isa]:
    """Run the native kernels on ``name`` (or the best path below it the CPU has).

    For tests and comparisons; the environment variable ``HAMGEO_NATIVE_ISA`` does the
    same for a whole process. Yields the path actually used.

    Raises:
        RuntimeError: the native kernels are not loaded.
        ValueError: ``name`` is not ``"portable"``, ``"avx2"`` or ``"avx512"``.

    Examples:
        >>> if available():
        ...     with forced_isa("portable") as used:
        ...         print(used)
        ... else:
        ...     print("portable")
        portable
    """
    module = _load()[0]
    if module is None:
        raise RuntimeError(f"the native Hamming kernel is not available: {describe()}")
    if name not in _ISA_TEXT:
        raise ValueError(f"`name` must be one of 'portable', 'avx2', 'avx512', got {name!r}")
    before = module.isa()
    try:
        yield module.set_isa(name)
    finally:
        module.set_isa(before)


def _module_facts(name: str) -> dict:
    """What the native module's function ``name`` reports, as a dict ({} if not loaded)."""
    module = _load()[0]
    return {} if module is None else dict(getattr(module, name)())


def pool_info() -> dict:
    """Thread-pool facts: XLA's pool compiled in, the pool of the last call, usable CPUs.

    Examples:
        >>> isinstance(pool_info(), dict)
        True
    """
    return _module_facts("pool_info")


def build_info() -> dict:
    """The jaxlib headers and FFI API version the kernels were built against ({} if none).

    Examples:
        >>> isinstance(build_info(), dict)
        True
    """
    return _module_facts("build_info")


def describe() -> str:
    """One line saying which Hamming kernel runs on CPU, and why.

    Examples:
        >>> "kernel" in describe()
        True
    """
    module, why = _load()
    if module is None:
        return f"XLA XOR + popcount kernel (native kernel {why})"
    path = module.isa()
    forced = "" if path == module.best_isa() else f", lowered from {module.best_isa()}"
    info = module.pool_info()
    pool = "XLA's intra-op thread pool" if info["xla_pool_compiled"] else "its own thread pool"
    return (
        f"native CPU kernel via jax.ffi: {_ISA_TEXT[path]}{forced}; "
        f"runs on {pool}, {info['usable_cpus']} usable CPUs"
    )


_OUT_DTYPES = (np.dtype(np.int32), np.dtype(np.uint16), np.dtype(np.uint8))


def pairwise(
    xw: jax.Array, yw: jax.Array, *, truncate: int | None, out_dtype=jnp.int32
) -> jax.Array:
    """``[N, M]`` distances between ``uint32`` word arrays ``[N, W]``, ``[M, W]``.

    ``out_dtype`` is ``int32``, ``uint16`` or ``uint8``; the caller guarantees every
    (truncated) distance fits it.
    """
    if not available():
        raise RuntimeError(f"the native Hamming kernel is not available: {describe()}")
    dtype = np.dtype(out_dtype)
    if dtype not in _OUT_DTYPES:
        raise ValueError(f"`out_dtype` must be int32, uint16 or uint8, got {dtype}")
    out = jax.ShapeDtypeStruct((*xw.shape[:-1], yw.shape[-2]), dtype)
    return jax.ffi.ffi_call("hamgeo_pairwise", out, vmap_method="broadcast_all")(
        xw, yw, truncate=np.int32(0 if truncate is None else truncate)
    )


def knn(
    qw: jax.Array, bw: jax.Array, offset: jax.Array, *, k: int, exclude_self: bool
) -> tuple[jax.Array, jax.Array]:
    """Fused top-``k`` of ``bw`` for each row of ``qw`` (see ``hamming_knn``).

    ``offset`` is the global row index of ``qw[0]`` (for ``exclude_self`` under
    ``shard_map``). Codes must have at least one word.
    """
    if not available():
        raise RuntimeError(f"the native Hamming kernel is not available: {describe()}")
    shape = jax.ShapeDtypeStruct((*qw.shape[:-1], k), jnp.int32)
    dist, idx = jax.ffi.ffi_call("hamgeo_knn", (shape, shape), vmap_method="broadcast_all")(
        qw,
        bw,
        jnp.asarray(offset, jnp.int32),
        k=np.int32(k),
        exclude_self=np.int32(bool(exclude_self)),
    )
    return dist, idx
