"""Timing helpers shared by the suites.

Every measurement warms up first, times compilation apart, waits for the device
with ``block_until_ready`` and reports the median of repeats.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable
from typing import Any

import jax


@dataclasses.dataclass
class Row:
    """One timed implementation of one operation at one size.

    Attributes:
        suite: the suite's name.
        op: the operation, e.g. ``"pairwise"``.
        shape: the problem's size in words, e.g. ``"N=4096 M=4096 bits=1024"``.
        dtype: the operands' type.
        impl: who ran it, e.g. ``"hamgeo[popcount]"``, ``"faiss.hammings"``.
        seconds: median wall time of one call.
        work: the amount of work per call (``unit`` says what is counted).
        unit: what ``work`` counts, e.g. ``"bit-pairs"``.
        compile_s: first-call time minus the median (compilation and set-up), if any.
        extra: anything else worth recording (peak memory, error, ...).
    """

    suite: str
    op: str
    shape: str
    dtype: str
    impl: str
    seconds: float
    work: float
    unit: str
    compile_s: float | None = None
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def throughput(self) -> float:
        """Work per second."""
        return self.work / self.seconds if self.seconds > 0 else float("inf")


def _block(out: Any) -> Any:
    return jax.block_until_ready(out)


def measure(
    fn: Callable[[], Any],
    *,
    repeats: int = 5,
    warmup: int = 1,
    min_time: float = 0.0,
) -> tuple[float, float]:
    """Time ``fn()`` and return ``(median seconds, first-call seconds)``.

    The first call (compilation included) is timed apart; then ``warmup`` untimed
    calls, then ``repeats`` timed calls (more, until ``min_time`` seconds are spent).
    """
    t0 = time.perf_counter()
    _block(fn())
    first = time.perf_counter() - t0
    for _ in range(max(0, warmup - 1)):
        _block(fn())
    times = []
    spent = 0.0
    while len(times) < repeats or spent < min_time:
        t0 = time.perf_counter()
        _block(fn())
        dt = time.perf_counter() - t0
        times.append(dt)
        spent += dt
        if len(times) >= 100:
            break
    return statistics.median(times), first


def timed_row(
    fn: Callable[[], Any],
    *,
    repeats: int = 5,
    warmup: int = 1,
    **row: Any,
) -> Row:
    """Measure ``fn`` and return a :class:`Row` (compile time recorded apart)."""
    median, first = measure(fn, repeats=repeats, warmup=warmup)
    return Row(seconds=median, compile_s=max(0.0, first - median), **row)
