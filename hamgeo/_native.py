"""The native CPU Hamming kernels, registered with XLA through ``jax.ffi``.

Built by ``setup.py`` from ``hamgeo/csrc/hamming.cc`` when a C++ compiler is
present; otherwise hamgeo runs its pure-XLA kernels and :func:`describe` says so.
"""

from __future__ import annotations

__all__ = ["available", "describe"]


def available() -> bool:
    """Whether the native CPU kernels are built and registered."""
    return False


def describe() -> str:
    """One line on which Hamming kernel runs on CPU."""
    return "native kernel not built: pure-XLA XOR + popcount"
