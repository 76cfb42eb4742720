"""Timing helpers shared by the suites.

Every measurement warms up first, times compilation apart, waits for the device
with ``block_until_ready`` and reports the median of repeats, with the minimum, the
maximum and the coefficient of variation (standard deviation / mean) of the repeats,
so a table says how steady its numbers were.
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
        min_s: fastest repeat, seconds.
        max_s: slowest repeat, seconds.
        cv: coefficient of variation of the repeats (standard deviation / mean).
        repeats: number of timed repeats.
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
    min_s: float | None = None
    max_s: float | None = None
    cv: float | None = None
    repeats: int | None = None

    @property
    def throughput(self) -> float:
        """Work per second."""
        return self.work / self.seconds if self.seconds > 0 else float("inf")


def _block(out: Any) -> Any:
    return jax.block_until_ready(out)


@dataclasses.dataclass
class Stats:
    """Repeat times of one measurement (seconds) and the first call's."""

    times: list[float]
    first: float

    @property
    def median(self) -> float:
        """Median repeat."""
        return statistics.median(self.times)

    @property
    def cv(self) -> float:
        """Coefficient of variation: population standard deviation / mean."""
        mean = statistics.fmean(self.times)
        return statistics.pstdev(self.times) / mean if mean > 0 else 0.0

    def fill(self, row: Row) -> Row:
        """Set ``row``'s median, min, max, CV and repeats from these times."""
        row.seconds = self.median
        row.min_s, row.max_s = min(self.times), max(self.times)
        row.cv, row.repeats = self.cv, len(self.times)
        return row


def measure_stats(
    fn: Callable[[], Any],
    *,
    repeats: int = 5,
    warmup: int = 1,
    min_time: float = 0.0,
) -> Stats:
    """Time ``fn()``: the first call (compilation included) apart, then the repeats.

    After the first call, ``warmup - 1`` more untimed calls, then ``repeats`` timed
    calls (more, until ``min_time`` seconds are spent; at most 100).
    """
    t0 = time.perf_counter()
    _block(fn())
    first = time.perf_counter() - t0
    for _ in range(max(0, warmup - 1)):
        _block(fn())
    times: list[float] = []
    spent = 0.0
    while len(times) < repeats or spent < min_time:
        t0 = time.perf_counter()
        _block(fn())
        dt = time.perf_counter() - t0
        times.append(dt)
        spent += dt
        if len(times) >= 100:
            break
    return Stats(times, first)


def measure(
    fn: Callable[[], Any],
    *,
    repeats: int = 5,
    warmup: int = 1,
    min_time: float = 0.0,
) -> tuple[float, float]:
    """Time ``fn()`` and return ``(median seconds, first-call seconds)`` (see measure_stats)."""
    stats = measure_stats(fn, repeats=repeats, warmup=warmup, min_time=min_time)
    return stats.median, stats.first


def timed_row(
    fn: Callable[[], Any],
    *,
    repeats: int = 5,
    warmup: int = 1,
    **row: Any,
) -> Row:
    """Measure ``fn`` and return a ``Row`` (compile time recorded apart)."""
    stats = measure_stats(fn, repeats=repeats, warmup=warmup)
    r = stats.fill(Row(seconds=0.0, **row))
    r.compile_s = max(0.0, stats.first - r.seconds)
    return r
