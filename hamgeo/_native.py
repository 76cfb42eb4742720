"""The native CPU Hamming kernels, registered with XLA through ``jax.ffi``.

``setup.py`` builds ``hamgeo/csrc/hamming.cc`` into ``hamgeo._hamming_ffi`` when a
C++ compiler and the jaxlib FFI headers are present. The module hands XLA two
handlers (``hamgeo_pairwise``, ``hamgeo_knn``) that this file registers for the
CPU platform and calls with ``jax.ffi.ffi_call``. If the module is missing or
fails to load, :func:`available` is ``False`` and hamgeo runs its pure-XLA
kernels; :func:`describe` says which path runs (``hamgeo info`` prints it).
Set ``HAMGEO_DISABLE_NATIVE=1`` to force the XLA kernels.
"""

from __future__ import annotations

import functools
import os

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["available", "describe", "knn", "pairwise"]


@functools.cache
def _load() -> tuple[object | None, str]:
    if os.environ.get("HAMGEO_DISABLE_NATIVE"):
        return None, "disabled by HAMGEO_DISABLE_NATIVE"
    try:
        from hamgeo import _hamming_ffi  # type: ignore[attr-defined]
    except ImportError as err:
        return None, f"not built ({err})"
    try:
        for name, capsule in _hamming_ffi.capsules().items():
            jax.ffi.register_ffi_target(name, capsule, platform="cpu")
    except Exception as err:  # any failure means "use XLA"
        return None, f"failed to register with XLA ({err})"
    return _hamming_ffi, ""


def available() -> bool:
    """Whether the native CPU kernels are built and registered.

    Examples:
        >>> isinstance(available(), bool)
        True
    """
    return _load()[0] is not None


def describe() -> str:
    """One line saying which Hamming kernel runs on CPU, and why.

    Examples:
        >>> "kernel" in describe()
        True
    """
    module, why = _load()
    if module is None:
        return f"XLA XOR + popcount kernel (native kernel {why})"
    feats = module.cpu_features()
    isa = "AVX2 nibble-table" if feats["avx2"] else "64-bit popcount"
    if not feats["avx2"] and not feats["popcnt"]:
        isa = "portable bit-count"
    return (
        f"native CPU kernel via jax.ffi: {isa} for codes > 256 bits, "
        f"64-bit popcount below; {module.num_threads()} threads"
    )


def _call_pairwise(x, y, *, truncate):
    out = jax.ShapeDtypeStruct((*x.shape[:-1], y.shape[-2]), jnp.int32)
    return jax.ffi.ffi_call("hamgeo_pairwise", out, vmap_method="broadcast_all")(
        x, y, truncate=np.int32(truncate)
    )


def pairwise(xw: jax.Array, yw: jax.Array, *, truncate: int | None) -> jax.Array:
    """``int32[N, M]`` distances between ``uint32`` word arrays ``[N, W]``, ``[M, W]``."""
    if not available():
        raise RuntimeError(f"the native Hamming kernel is not available: {describe()}")
    return _call_pairwise(xw, yw, truncate=0 if truncate is None else truncate)


def knn(
    qw: jax.Array, bw: jax.Array, offset: jax.Array, *, k: int, exclude_self: bool
) -> tuple[jax.Array, jax.Array]:
    """Fused top-``k`` of ``bw`` for each row of ``qw`` (see ``hamming_knn``).

    ``offset`` is the global row index of ``qw[0]`` (for ``exclude_self`` under
    ``shard_map``).
    """
    if not available():
        raise RuntimeError(f"the native Hamming kernel is not available: {describe()}")
    shape = jax.ShapeDtypeStruct((*qw.shape[:-1], k), jnp.int32)
    return tuple(
        jax.ffi.ffi_call("hamgeo_knn", (shape, shape), vmap_method="broadcast_all")(
            qw,
            bw,
            jnp.asarray(offset, jnp.int32),
            k=np.int32(k),
            exclude_self=np.int32(bool(exclude_self)),
        )
    )
