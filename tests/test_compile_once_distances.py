"""A repeated call of a distance function compiles nothing (issue 21).

Compilations are counted through ``jax.monitoring``'s backend-compile events: each case
is called once (warm-up), then again with the same shapes and options, and the second
call must not compile.
"""

import jax
import numpy as np
import pytest

import hamgeo

_EVENT = "/jax/core/compile/backend_compile_duration"
_COMPILES: list[str] = []


def _listener(event, duration, **kwargs):
    del duration, kwargs
    if event == _EVENT:
        _COMPILES.append(event)


jax.monitoring.register_event_duration_secs_listener(_listener)

_RNG = np.random.default_rng(0)
_X = _RNG.random((13, 33)) < 0.5
_Y = _RNG.random((11, 33)) < 0.3
_XR = _RNG.normal(size=(9, 3))
_YR = _RNG.normal(size=(7, 3)) + 1.0

CASES = {
    "wasserstein[kernel]": lambda: hamgeo.wasserstein(_X, _Y, method="kernel").value,
    "wasserstein[ott]": lambda: hamgeo.wasserstein(_X, _Y, method="ott").value,
    "wasserstein[online]": lambda: hamgeo.wasserstein(_X, _Y, method="online", block_size=4),
    "wasserstein[online,p=2]": lambda: hamgeo.wasserstein(_X, _Y, p=2, method="online"),
    "wasserstein[debiased]": lambda: hamgeo.wasserstein(_X, _Y, debiased=True).value,
    "wasserstein[online,debiased]": lambda: hamgeo.wasserstein(
        _X, _Y, debiased=True, method="online", block_size=4
    ),
    "wasserstein[sqeuclidean]": lambda: hamgeo.wasserstein(_XR, _YR, cost="sqeuclidean"),
    "exact_wasserstein": lambda: hamgeo.exact_wasserstein(_X, _Y),
    "mmd[hamming]": lambda: hamgeo.mmd(_X, _Y, bandwidth=8.0),
    "mmd[gaussian]": lambda: hamgeo.mmd(_XR, _YR, kernel="gaussian"),
    "mmd_test": lambda: hamgeo.mmd_test(
        _X, _Y, key=jax.random.key(0), n_permutations=19, bandwidth=8.0
    ),
    "frechet_distance": lambda: hamgeo.frechet_distance(_XR, _YR),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_second_call_compiles_nothing(name):
    fn = CASES[name]
    jax.block_until_ready(fn())
    before = len(_COMPILES)
    jax.block_until_ready(fn())
    assert len(_COMPILES) == before, f"{name}: the 2nd call compiled {len(_COMPILES) - before}"


def test_the_counter_counts():
    # the mechanism can fail: a fresh jit of a new lambda compiles
    before = len(_COMPILES)
    jax.jit(lambda z: z + 1)(np.arange(3)).block_until_ready()
    assert len(_COMPILES) > before
