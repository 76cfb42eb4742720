"""Every public kernel lowers for GPU and TPU from this CPU-only machine (issue 21 item 3).

``jax.export`` lowers a jitted function for ``cuda`` and ``tpu``; the native CPU kernel is
chosen through ``jax.lax.platform_dependent``, so the GPU / TPU module must hold no CPU
custom call (the FFI targets ``hamgeo_pairwise`` / ``hamgeo_knn``). A table of cases:
each row is ``(name, make)`` with ``make() -> (fn, args)``; append a row per public kernel.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import export

import hamgeo
from hamgeo.hamming import _native

CPU_TARGETS = ("hamgeo_pairwise", "hamgeo_knn")
N_BITS = 70


def _words(n: int, seed: int) -> jax.Array:
    bits = np.random.default_rng(seed).random((n, N_BITS)) < 0.5
    return hamgeo.pack_bits(bits).words


def _codes(w: jax.Array) -> hamgeo.PackedCodes:
    return hamgeo.PackedCodes(w, N_BITS)


def _mlp_case():
    model = hamgeo.nets.MLP((7, 5), 3)
    variables = model.init(jax.random.key(0), jnp.ones((1, 4)))
    x = jnp.asarray(np.random.default_rng(2).normal(size=(11, 4)), jnp.float32)
    return (lambda v, a: hamgeo.activation_codes(model, v, a).words), (variables, x)


X, Y = _words(29, 0), _words(17, 1)

# (name, make() -> (fn, args)): fn is jitted and exported as is.
CASES: list[tuple[str, Callable[[], tuple[Callable, tuple]]]] = [
    ("pairwise", lambda: (lambda a, b: hamgeo.pairwise_hamming(_codes(a), _codes(b)), (X, Y))),
    (
        "pairwise[truncate]",
        lambda: (lambda a, b: hamgeo.pairwise_hamming(_codes(a), _codes(b), truncate=9), (X, Y)),
    ),
    (
        "pairwise[popcount]",
        lambda: (
            lambda a, b: hamgeo.pairwise_hamming(_codes(a), _codes(b), method="popcount"),
            (X, Y),
        ),
    ),
    ("hamming_knn", lambda: (lambda a, b: hamgeo.hamming_knn(_codes(a), _codes(b), 3), (X, Y))),
    (
        "hamming_knn[exclude_self]",
        lambda: (lambda a: hamgeo.hamming_knn(_codes(a), _codes(a), 3, exclude_self=True), (X,)),
    ),
    ("activation_codes", _mlp_case),
    ("mmd", lambda: (lambda a, b: hamgeo.mmd(_codes(a), _codes(b)), (X, Y))),
    ("wasserstein", lambda: (lambda a, b: hamgeo.wasserstein(_codes(a), _codes(b)).value, (X, Y))),
    *[
        (
            f"wasserstein[{m}]",
            lambda m=m: (
                lambda a, b: hamgeo.wasserstein(_codes(a), _codes(b), epsilon=1.0, method=m).value,
                (X, Y),
            ),
        )
        for m in ("ott", "online")
    ],
    (
        "HammingGeometry[online]",
        lambda: (
            lambda a, b: hamgeo.HammingGeometry(_codes(a), _codes(b), batch_size=5).apply_cost(
                jnp.ones(29)
            ),
            (X, Y),
        ),
    ),
]


@pytest.mark.parametrize("platform", ["cuda", "tpu"])
@pytest.mark.parametrize("name,make", CASES, ids=[name for name, _ in CASES])
def test_exports_without_cpu_custom_call(name, make, platform):
    fn, args = make()
    text = export.export(jax.jit(fn), platforms=[platform])(*args).mlir_module()
    for target in CPU_TARGETS:
        assert target not in text, f"{name} on {platform} calls the CPU kernel {target}"


@pytest.mark.skipif(not _native.available(), reason="native kernel not built")
def test_cpu_lowering_still_runs_the_native_kernel():
    """The measured dispatch still picks the CPU candidate on CPU (the check can fail)."""
    fn = jax.jit(lambda a, b: hamgeo.pairwise_hamming(_codes(a), _codes(b), method="popcount"))
    text = fn.lower(X, Y).as_text()
    assert "hamgeo_pairwise" in text
    # and the same function also lowers for every platform at once
    checks = [export.DisabledSafetyCheck.custom_call(t) for t in CPU_TARGETS]
    multi = export.export(fn, platforms=["cpu", "cuda", "tpu"], disabled_checks=checks)(X, Y)
    assert multi.platforms == ("cpu", "cuda", "tpu")
