"""Compile once: a public function called again with the same shapes and static options
compiles nothing (issue 21 item 1).

A table of cases: each row is ``(name, make)`` where ``make()`` returns ``(fn, args,
kwargs)`` built from small fixed inputs. The first call may compile; the second must
not (counted through ``jax.monitoring``'s backend-compile events). To cover a new public
function, append a row to ``CASES``.
"""

from __future__ import annotations

import contextlib
import types
from collections.abc import Callable, Iterator
from typing import Any

import jax
import numpy as np
import pytest
from jax.sharding import NamedSharding, PartitionSpec

import hamgeo
from hamgeo import codes, nets

_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"


@contextlib.contextmanager
def count_compiles() -> Iterator[list[str]]:
    """Collects one entry per XLA backend compilation inside the block."""
    seen: list[str] = []

    def listener(event: str, duration: float, **kwargs: Any) -> None:
        del duration, kwargs
        if event == _COMPILE_EVENT:
            seen.append(event)

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield seen
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)


def _bits(n: int, n_bits: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, n_bits)) < 0.5


def _sharded_codes() -> hamgeo.PackedCodes:
    mesh = jax.make_mesh((len(jax.devices()),), ("rows",))
    x = hamgeo.pack_bits(_bits(4 * len(jax.devices()) + 0, 70))
    return hamgeo.PackedCodes(
        jax.device_put(x.words, NamedSharding(mesh, PartitionSpec("rows", None))), 70
    )


_X = hamgeo.pack_bits(_bits(29, 70))
_Y = hamgeo.pack_bits(_bits(17, 70, seed=1))
_PACKED_BYTES = codes.to_packbits(_X)

_MLP, _BNN = nets.MLP((5,), 3), nets.BinaryMLP((5,), 3)
_INPUTS = np.random.default_rng(2).normal(size=(29, 4)).astype(np.float32)
_NET_DATA = types.SimpleNamespace(  # a Dataset-like: 29 training, 17 test rows
    x_train=_INPUTS, y_train=np.arange(29) % 3, x_test=_INPUTS[:17], y_test=np.arange(17) % 3
)
_TRAIN = {"epochs": 2, "batch_size": 8, "learning_rate": 1e-2, "progress": False}


def _net(model: Any) -> tuple[Any, Any]:
    return model, model.init(jax.random.key(0), _INPUTS[:1])


def _stacked(model: Any) -> tuple[Any, Any]:
    return model, nets.init_many(model, _INPUTS, keys=jax.random.split(jax.random.key(0), 2))


# (name, make() -> (callable, args, kwargs)); others append their public functions.
CASES: list[tuple[str, Callable[[], tuple[Callable, tuple, dict]]]] = [
    ("pack_bits", lambda: (hamgeo.pack_bits, (_bits(29, 70),), {})),
    ("unpack_bits", lambda: (hamgeo.unpack_bits, (_X,), {})),
    ("to_packbits", lambda: (codes.to_packbits, (_X,), {})),
    ("from_packbits", lambda: (codes.from_packbits, (_PACKED_BYTES, 70), {})),
    *[
        (f"pairwise_hamming[{m}]", lambda m=m: (hamgeo.pairwise_hamming, (_X, _Y), {"method": m}))
        for m in ("auto", "popcount", "xla", "matmul")
    ],
    (
        "pairwise_hamming[truncate]",
        lambda: (hamgeo.pairwise_hamming, (_X, _Y), {"truncate": 9}),
    ),
    (
        "pairwise_hamming[uint8]",
        lambda: (hamgeo.pairwise_hamming, (_X,), {"out_dtype": "uint8"}),
    ),
    *[
        (f"hamming_knn[{m}]", lambda m=m: (hamgeo.hamming_knn, (_X, _Y, 3), {"method": m}))
        for m in ("auto", "xla", "matmul")
    ],
    (
        "hamming_knn[exclude_self]",
        lambda: (hamgeo.hamming_knn, (_X, _X, 4), {"exclude_self": True}),
    ),
    ("pairwise_hamming[sharded]", lambda: (hamgeo.pairwise_hamming, (_sharded_codes(),), {})),
    ("hamming_knn[sharded]", lambda: (hamgeo.hamming_knn, (_sharded_codes(), _Y, 2), {})),
    # nets: extraction, evaluation and the training loop's compiled epoch
    *[
        (f"{fn.__name__}[{m.__class__.__name__}]", lambda fn=fn, m=m: (fn, (*_net(m), _INPUTS), {}))
        for fn in (nets.preactivations, nets.activation_codes)
        for m in (_MLP, _BNN)
    ],
    (
        "activation_codes[batched]",
        lambda: (nets.activation_codes, (*_net(_MLP), _INPUTS), {"batch_size": 8}),
    ),
    ("accuracy", lambda: (nets.accuracy, (*_net(_MLP), _INPUTS, np.arange(29) % 3), {})),
    ("activation_codes_many", lambda: (nets.activation_codes_many, (*_stacked(_BNN), _INPUTS), {})),
    (
        "accuracy_many",
        lambda: (nets.accuracy_many, (*_stacked(_MLP), _INPUTS, np.arange(29) % 3), {}),
    ),
    *[
        (
            f"train[{m.__class__.__name__}]",
            lambda m=m: (nets.train, (m, _NET_DATA), {"key": jax.random.key(1), **_TRAIN}),
        )
        for m in (_MLP, _BNN)
    ],
    (
        "train_many",
        lambda: (
            nets.train_many,
            (_MLP, _NET_DATA),
            {"keys": jax.random.split(jax.random.key(1), 3), **_TRAIN},
        ),
    ),
    # distances between samples
    *[
        (f"wasserstein[{m}]", lambda m=m: (hamgeo.wasserstein, (_X, _Y), {"method": m}))
        for m in ("kernel", "ott", "online")
    ],
    (
        "wasserstein[online,p=2]",
        lambda: (hamgeo.wasserstein, (_X, _Y), {"p": 2, "method": "online"}),
    ),
    ("wasserstein[debiased]", lambda: (hamgeo.wasserstein, (_X, _Y), {"debiased": True})),
    (
        "wasserstein[sqeuclidean]",
        lambda: (
            hamgeo.wasserstein,
            (_bits(9, 3) * 1.5, _bits(7, 3, 1) - 0.5),
            {"cost": "sqeuclidean"},
        ),
    ),
    ("exact_wasserstein", lambda: (hamgeo.exact_wasserstein, (_X, _Y), {})),
    ("mmd", lambda: (hamgeo.mmd, (_X, _Y), {"bandwidth": 8.0})),
    (
        "mmd_test",
        lambda: (
            hamgeo.mmd_test,
            (_X, _Y),
            {"key": jax.random.key(0), "n_permutations": 19, "bandwidth": 8.0},
        ),
    ),
    (
        "frechet_distance",
        lambda: (hamgeo.frechet_distance, (_bits(9, 3) * 1.0, _bits(7, 3, 1) * 2.0), {}),
    ),
]


@pytest.mark.parametrize("name,make", CASES, ids=[name for name, _ in CASES])
def test_second_call_compiles_nothing(name, make):
    fn, args, kwargs = make()
    jax.block_until_ready(fn(*args, **kwargs))  # may compile
    with count_compiles() as seen:
        jax.block_until_ready(fn(*args, **kwargs))
    assert not seen, f"{name}: the second call compiled {len(seen)} time(s)"


def test_the_counter_sees_a_compilation():
    """The listener must be able to fail: a fresh jit is counted."""
    with count_compiles() as seen:
        jax.jit(lambda v: v * 3 + 1)(np.arange(7.0))
    assert seen


def test_train_with_other_hyperparameters_compiles_nothing():
    """Learning rate, weight decay and label noise are traced: a sweep compiles once."""
    run = {"key": jax.random.key(1), **_TRAIN}
    jax.block_until_ready(nets.train(_MLP, _NET_DATA, **run).variables)
    with count_compiles() as seen:
        other = run | {"learning_rate": 3e-3, "label_noise": 0.2}
        jax.block_until_ready(nets.train(_MLP, _NET_DATA, **other).variables)
    assert not seen, f"another learning rate compiled {len(seen)} time(s)"
