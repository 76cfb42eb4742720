"""Networks: BNN training step against the ReLU step of the same shape; code extraction.

* ``train_step``: one jit-compiled Adam step (forward, backward, update; batch-norm
  statistics and latent-weight clipping included for the BNN) of ``BinaryMLP`` against
  ``MLP`` with the same widths and batch. The ReLU net is the "peer" row, so
  ``run.py`` prints BNN throughput / ReLU throughput; the issue's target is a BNN step
  at most 1.5× the ReLU step (ratio ≥ 0.67). Throughput is in steps per second.
* ``activation_codes``: ``hamgeo.activation_codes`` (jit-compiled batches packed on
  device) against what one would write by hand: one ``model.apply`` over all inputs,
  then ``np.packbits`` of ``pre > 0`` on the host. Throughput is in inputs per second;
  ``extra["bits_per_s"]`` gives code bits per second. On a GPU backend a second peer
  packs on the device too (``jnp.packbits`` of all inputs at once, the float activations
  of every input held together), and the sizes grow to GPU sizes (131 072 inputs of a
  784-1024x1024x1024 MLP, batches of 65 536; ``quick``: 65 536 inputs); rows record
  ``jax.devices()[0].device_kind``.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

import jax
import numpy as np
import optax

import hamgeo
from hamgeo.bench._timing import Row, timed_row
from hamgeo.nets import MLP, BinaryMLP, make_train_step

SUITE = "models"


def _train_rows(widths: tuple[int, ...], d: int, batch: int, steps: int, rounds: int) -> list[Row]:
    """BNN and ReLU steps timed in alternation (fair on a shared, loaded machine)."""
    key = jax.random.key(0)
    x = jax.random.normal(key, (batch, d))
    y = jax.random.randint(key, (batch,), 0, 10)
    shape = f"{d}-{'x'.join(map(str, widths))}-10 batch={batch}"
    impls = {"hamgeo[BinaryMLP]": BinaryMLP(widths, 10), "flax ReLU MLP": MLP(widths, 10)}
    runs, first = {}, {}
    for impl, model in impls.items():
        variables = model.init(key, x[:1])
        step, tx = make_train_step(model, variables, optax.adam(1e-3))
        state = {"v": variables, "o": tx.init(variables["params"])}

        def run(step=step, state=state):
            # `steps` chained steps per timed call, so dispatch overhead does not dominate.
            v, o = state["v"], state["o"]
            for _ in range(steps):
                v, o, loss = step(v, o, x, y)
            state["v"], state["o"] = v, o
            return jax.block_until_ready(loss)

        t0 = time.perf_counter()
        run()
        first[impl] = time.perf_counter() - t0
        runs[impl] = run
    times: dict[str, list[float]] = {impl: [] for impl in impls}
    for _ in range(rounds):
        for impl, run in runs.items():
            t0 = time.perf_counter()
            run()
            times[impl].append(time.perf_counter() - t0)
    rows = []
    for impl in impls:
        median = statistics.median(times[impl])
        rows.append(
            Row(
                suite=SUITE,
                op="train_step",
                shape=shape,
                dtype="float32",
                impl=impl,
                seconds=median,
                work=float(steps),
                unit="steps",
                compile_s=max(0.0, first[impl] - median),
            )
        )
    rows[0].extra["bnn_step_over_relu_step"] = rows[0].seconds / rows[1].seconds
    return rows


def _on_gpu() -> bool:
    return jax.default_backend() in ("gpu", "cuda", "rocm")


def _codes_rows(
    n: int, widths: tuple[int, ...], d: int, batch_size: int = 4096, repeats: int = 3
) -> list[Row]:
    key = jax.random.key(1)
    model = MLP(widths, 10)
    x = jax.random.normal(key, (n, d))
    variables = model.init(key, x[:1])
    n_bits = sum(widths)
    shape = f"n={n} {d}-{'x'.join(map(str, widths))}"
    common: dict[str, Any] = dict(
        suite=SUITE,
        op="activation_codes",
        shape=shape,
        dtype="float32",
        work=float(n),
        unit="inputs",
    )
    ours = timed_row(
        lambda: hamgeo.activation_codes(model, variables, x, batch_size=batch_size).words,
        repeats=repeats,
        impl="hamgeo[activation_codes]",
        **common,
    )
    apply = jax.jit(lambda v, x: model.apply(v, x, return_preactivations=True)[1])

    def by_hand():
        pre = np.concatenate([np.asarray(p) for p in apply(variables, x)], axis=1)
        return np.packbits(pre > 0, axis=1, bitorder="little")

    peer = timed_row(by_hand, repeats=repeats, impl="flax apply + np.packbits", **common)
    peers = [peer]
    if _on_gpu():

        @jax.jit
        def on_device(v, x):
            pre = jax.numpy.concatenate(model.apply(v, x, return_preactivations=True)[1], axis=1)
            return jax.numpy.packbits(pre > 0, axis=1, bitorder="little")

        peers.append(
            timed_row(
                lambda: on_device(variables, x),
                repeats=repeats,
                impl="flax apply + jnp.packbits (device)",
                **common,
            )
        )
    rows = [ours, *peers]
    for row in rows:
        row.extra["bits_per_s"] = row.throughput * n_bits
        row.extra["device_kind"] = jax.devices()[0].device_kind
    # The by-hand paths hold every float activation at once; record how much.
    for row in peers:
        row.extra["float_activation_bytes"] = 4 * n * n_bits
    return rows


def run(quick: bool) -> list[Row]:
    """Train steps and code extraction (``quick``: small sizes; GPU sizes on a GPU)."""
    if _on_gpu():
        wide = (1024, 1024, 1024)
        rows = _train_rows(wide, 784, 1024, steps=20, rounds=5 if quick else 9)
        # The host peer moves every float activation to the host: keep n moderate.
        n = 65_536 if quick else 131_072
        rows += _codes_rows(n, wide, 784, batch_size=65_536, repeats=3)
    elif os.environ.get("HAMGEO_BENCH_SMOKE"):  # accelerator.sh --cpu-smoke: the code paths only
        rows = _train_rows((64, 64), 16, 32, steps=2, rounds=2)
        rows += _codes_rows(2_000, (64, 64), 16, repeats=2)
    elif quick:
        rows = _train_rows((256, 256, 256), 64, 128, steps=10, rounds=9)
        rows += _codes_rows(20_000, (256, 256, 256), 64)
    else:
        rows = _train_rows((512, 512, 512), 784, 256, steps=20, rounds=15)
        rows += _train_rows((1024, 1024, 1024), 784, 256, steps=10, rounds=9)
        rows += _codes_rows(100_000, (512, 512, 512), 784)
    return rows
