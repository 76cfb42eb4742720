"""Measured dispatch: which exact Hamming path ``method="auto"`` runs on this machine.

The fastest exact formulation differs by backend *and by machine*: the native popcount
kernel wins on a CPU with AVX-512 VPOPCNTDQ or AVX2, an int8 ±1 product wins where a
matrix unit (AMX, tensor cores) makes one dot cheaper than the popcounts. So for each
operation (``pairwise``, ``truncated``, ``knn``) and size class (an ``n_bits`` bucket x
a rows bucket) ``choose`` times every exact candidate in a few interleaved rounds
on random codes of a capped probe size (about a second in all), keeps the fastest in
memory and in a JSON file under the user cache directory (``$HAMGEO_CACHE``, else
``$XDG_CACHE_HOME/hamgeo``, else ``~/.cache/hamgeo``), keyed by the device (CPU model,
ISA flags and usable cores, or GPU/TPU kind), the native kernel's path, and the jax
and hamgeo versions.

Rules:

* Candidates are timed in interleaved rounds (the order rotating each round); each
  keeps its median and its spread (interquartile range). A candidate that beats the
  static rule by less than the spread of the two does not replace it: noise never
  decides. The spread is stored and ``hamgeo info`` shows it.
* Tiny problems (fewer than 2^22 bit-pairs) and ``HAMGEO_DISPATCH=static`` use the
  static rule: on CPU the native kernel when built, else XLA popcount; on GPU the int8
  ±1 product (tensor cores), on TPU the bf16 one (MXU).
* Under a trace (``jit``, ``vmap``) nothing is timed: the cached choice of the size
  class if there is one, else the static rule.
* The cache file is untrusted input: an unreadable, corrupt, deeply nested or wrongly
  typed file is ignored with one warning naming it (and rewritten on the next
  measurement), and so is any entry whose fields have the wrong types or whose choice is
  not a candidate here. An unknown ``HAMGEO_DISPATCH`` value is ignored with one
  warning. Writes are atomic (temporary file + ``os.replace``).

``hamgeo info`` prints ``info_lines`` (``dispatch_rows`` gives the table as records),
``hamgeo tune`` runs ``tune``.
"""

from __future__ import annotations

import functools
import math
import os
import platform
import statistics
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax

from hamgeo._io import CorruptFileError, atomic_write_json, read_json
from hamgeo._version import __version__
from hamgeo.hamming import _native

__all__ = [
    "BF16_EXACT_BITS",
    "OPS",
    "PATHS",
    "cache_path",
    "candidates",
    "choose",
    "cpu_info",
    "decide",
    "device_key",
    "dispatch_rows",
    "info_lines",
    "mode",
    "register_probe",
    "size_class",
    "static_choice",
    "table",
    "tune",
]

OPS = ("pairwise", "truncated", "knn")
PATHS = ("native", "xla", "int8", "bf16")
_FORMAT = 2  # 2: medians with their spread (1: minima, no spread)
# Size classes: n_bits buckets and rows buckets (by pairs N * M).
_BITS = ((64, "b<=64"), (256, "b<=256"), (1024, "b<=1024"), (None, "b>1024"))
# "large": int32 results over 32 MiB, which glibc maps afresh on every call (first-touch
# page faults), where smaller ones are recycled: the two regimes rank paths differently.
_ROWS = ((2**16, "small"), (2**23, "medium"), (None, "large"))
_TINY_BIT_PAIRS = 2**22
BF16_EXACT_BITS = 2**24
# Probe sizes: at most this many rows each side and this many bit-pairs (the first side
# halves until it fits): large classes of short codes probe a 64 MiB result, as they run.
_PROBE_ROWS = (4096, 4096)
_PROBE_BIT_PAIRS = 2**32
# Round-robin rounds over the candidates: at least / at most this many, more of them
# (up to the maximum) until this many seconds are spent.
_PROBE_ROUNDS = (4, 12)
_PROBE_SECONDS = 0.3
# Representative sizes `tune` measures: (n_bits, rows) per class.
_TUNE_BITS = (64, 256, 1024, 4096)
_TUNE_ROWS = (256, 1024, 4096)
_CPU_FLAGS = (
    "avx2",
    "avx512f",
    "avx512_vpopcntdq",
    "avx512bw",
    "avx512_vnni",
    "avx512_bf16",
    "avx_vnni",
    "amx_int8",
    "amx_bf16",
)

# A cache file deeper than this is refused before it is parsed (no RecursionError).
_MAX_DEPTH = 8
_MAX_FILE_BYTES = 4 * 2**20

_lock = threading.RLock()
_warned_files: set[str] = set()
_probe_factory: Callable[[str, str, int, int, int], Callable[[], Any]] | None = None
_tables: dict[str, dict[str, dict]] = {}  # device key -> class key -> entry
# What `choose` answered, per call signature: (the `_tables` it read, the path). An eager call
# in a loop then pays one dict look-up, not the device key and table walk (~5 us). Every
# write to a table clears it; a replaced `_tables` (or a changed environment) misses it.
_chosen: dict[tuple, tuple[dict, str]] = {}


def register_probe(factory: Callable[[str, str, int, int, int], Callable[[], Any]]) -> None:
    """Install ``factory(op, path, n, m, n_bits) -> call`` (hamming.py does, at import).

    ``call()`` runs ``path`` once on random codes of that size, already compiled.
    """
    global _probe_factory
    _probe_factory = factory


# ----------------------------------------------------------------------------- environment


def mode() -> str:
    """``"static"`` or ``"measure"``, from ``HAMGEO_DISPATCH`` (default ``"measure"``).

    Examples:
        >>> mode() in ("static", "measure")
        True
    """
    return _native.env_choice("HAMGEO_DISPATCH", ("static", "measure"), "measure")


def cache_path() -> Path:
    """The dispatch cache file (``dispatch.json`` in the user cache directory).

    Examples:
        >>> cache_path().name
        'dispatch.json'
    """
    root = os.environ.get("HAMGEO_CACHE")
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = os.path.join(xdg, "hamgeo") if xdg else os.path.join("~", ".cache", "hamgeo")
    return Path(root).expanduser() / "dispatch.json"


def cpu_info() -> dict[str, Any]:
    """The CPU's model name, the ISA flags that matter to the kernels, and usable cores.

    Examples:
        >>> sorted(cpu_info())
        ['cores', 'flags', 'model']
    """
    model, flags = _proc_cpuinfo()
    try:  # the affinity can change in a process's life: asked each time (one system call)
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return {"model": model, "flags": list(flags), "cores": cores}


@functools.cache
def _proc_cpuinfo() -> tuple[str, tuple[str, ...]]:
    """The model name and the kernels' ISA flags, read once: every ``auto`` call keys the
    dispatch table by them, and re-reading ``/proc/cpuinfo`` cost 0.1 ms a call.
    """  # noqa: D205
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and ":" in line:
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and ":" in line:
                    flags = set(line.split(":", 1)[1].split())
                if model and flags:
                    break
    except OSError:
        pass
    return model, tuple(f for f in _CPU_FLAGS if f in flags)


def _cpu_description() -> str:
    info = cpu_info()
    return f"{info['model']} [{','.join(info['flags']) or '-'}] {info['cores']} cores"


def device_key() -> str:
    """What the cached choices depend on: device, native path, jax and hamgeo versions.

    Examples:
        >>> "jax" in device_key()
        True
    """
    backend = jax.default_backend()
    native: str
    if backend == "cpu":
        device = _cpu_description()
        native = str(_native.isa()) if _native.available() else "none"
    else:
        devices = jax.devices()
        device = f"{devices[0].device_kind} x{len(devices)}"
        native = "n/a"
    return f"{backend}: {device} | native {native} | jax {jax.__version__} | hamgeo {__version__}"


# ----------------------------------------------------------------------------- candidates


def candidates(op: str, n_bits: int) -> tuple[str, ...]:
    """The exact paths for ``op`` on the default backend, the static choice first.

    ``native`` (CPU, when built), ``xla`` (XOR + popcount), ``int8`` (±1 product,
    int32 accumulation) and ``bf16`` (±1 product, f32 accumulation: exact while
    ``n_bits <= 2**24``).

    Examples:
        >>> set(candidates("pairwise", 64)) >= {"xla", "int8", "bf16"}
        True
    """
    del op  # every operation has every path
    paths = []
    if jax.default_backend() == "cpu" and _native.available():
        paths.append("native")
    paths += ["xla", "int8"]
    if n_bits <= BF16_EXACT_BITS:
        paths.append("bf16")
    static = static_choice(n_bits)
    return (static, *[p for p in paths if p != static])


def static_choice(n_bits: int = 0) -> str:
    """The rule without measurement: CPU native (else xla), GPU int8, TPU bf16.

    (bf16 sums are exact up to ``2**24`` bits; past that TPUs get int8 too.)

    Examples:
        >>> static_choice() in ("native", "xla", "int8", "bf16")
        True
    """
    backend = jax.default_backend()
    if backend == "cpu":
        return "native" if _native.available() else "xla"
    return "bf16" if backend == "tpu" and n_bits <= BF16_EXACT_BITS else "int8"


def _bucket(value: int, buckets) -> str:
    for limit, name in buckets:
        if limit is None or value <= limit:
            return name
    raise AssertionError("unreachable")


def size_class(n: int, m: int, n_bits: int) -> str | None:
    """``"<bits bucket>/<rows bucket>"``, or ``None`` for tiny problems (static rule).

    Examples:
        >>> size_class(4096, 4096, 1024)
        'b<=1024/large'
        >>> size_class(8, 8, 64) is None
        True
    """
    if n * m * max(n_bits, 1) < _TINY_BIT_PAIRS:
        return None
    return f"{_bucket(n_bits, _BITS)}/{_bucket(n * m, _ROWS)}"


def _probe_shape(n: int, m: int, n_bits: int) -> tuple[int, int]:
    pn, pm = min(n, _PROBE_ROWS[0]), min(m, _PROBE_ROWS[1])
    while pn * pm * n_bits > _PROBE_BIT_PAIRS and pn > 16:
        pn //= 2
    return pn, pm


# ----------------------------------------------------------------------------- cache file


def _warn_file(path: Path, why: str) -> None:
    if str(path) not in _warned_files:
        _warned_files.add(str(path))
        warnings.warn(
            f"ignoring the dispatch cache {path}: {why}; it is rewritten on the next measurement",
            RuntimeWarning,
            stacklevel=3,
        )


def _read_file(*, warn: bool = True) -> dict:
    """The ``entries`` of the cache file, or ``{}`` (with one warning) if it is unusable."""
    path = cache_path()
    try:
        doc = read_json(path, max_depth=_MAX_DEPTH, max_bytes=_MAX_FILE_BYTES)
    except FileNotFoundError:
        return {}
    except (CorruptFileError, OSError) as err:
        if warn:
            _warn_file(path, str(err))
        return {}
    if not isinstance(doc.get("entries"), dict):
        if warn:
            _warn_file(path, "not a dispatch table (no `entries` object)")
        return {}
    if doc.get("format") != _FORMAT:
        return {}  # an older format: re-measured quietly
    return doc["entries"]


def _write_file(key: str, table_: dict[str, dict]) -> None:
    entries = _read_file(warn=False)
    entries[key] = table_
    try:
        atomic_write_json(cache_path(), {"format": _FORMAT, "entries": entries}, overwrite=True)
    except OSError:
        pass  # an unwritable cache only costs a re-measurement next time


def _is_seconds(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )


def _valid_entry(entry: Any) -> bool:
    """An entry as ``_measure`` writes it, field by field (the file is untrusted)."""
    if not isinstance(entry, dict) or entry.get("choice") not in PATHS:
        return False
    for field in ("seconds", "spread"):
        times = entry.get(field, {})
        if not isinstance(times, dict) or not all(
            p in PATHS and _is_seconds(t) for p, t in times.items()
        ):
            return False
    probe = entry.get("probe", [])
    if not isinstance(probe, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in probe
    ):
        return False
    return all(isinstance(entry.get(f, ""), str) for f in ("when", "rule"))


def table() -> dict[str, dict]:
    """The cached choices for this device (``"op/class" -> entry``), loaded once.

    Examples:
        >>> isinstance(table(), dict)
        True
    """
    key = device_key()
    with _lock:
        if key not in _tables:
            stored = _read_file().get(key)
            stored = stored if isinstance(stored, dict) else {}
            valid = {k: v for k, v in stored.items() if isinstance(k, str) and _valid_entry(v)}
            if len(valid) < len(stored):
                _warn_file(cache_path(), f"{len(stored) - len(valid)} malformed entries")
            _tables[key] = valid
        return _tables[key]


# ----------------------------------------------------------------------------- measuring


def _time_candidates(
    op: str, paths: tuple[str, ...], pn: int, pm: int, n_bits: int
) -> dict[str, list[float]]:
    """Seconds of every timed run per candidate, in interleaved rounds.

    Rounds interleave the candidates, in an order that rotates each round, so a busy
    spell on the machine or a warm cache favours none of them. (A probe's results are
    either at most 32 MiB, which the allocator recycles after the first calls, or over
    it, which it maps afresh every time, as for the size class probed: all candidates
    run in the same regime.) A candidate 8x slower than the best after one round, or 4x
    after two (by the median), drops out.
    """
    factory = _probe_factory
    assert factory is not None, "the probe factory is registered when hamgeo.hamming loads"
    calls = {}
    for path in paths:
        try:
            call = factory(op, path, pn, pm, n_bits)  # compiled ahead of time
        except Exception:  # a path that fails here (memory, backend) is not a candidate
            continue
        calls[path] = call
    for call in calls.values():  # one untimed run each: first-touch memory, caches
        jax.block_until_ready(call())
    times: dict[str, list[float]] = {path: [] for path in calls}
    active = list(calls)
    spent, rounds = 0.0, 0
    while (
        active
        and rounds < _PROBE_ROUNDS[1]
        and (rounds < _PROBE_ROUNDS[0] or spent < _PROBE_SECONDS)
    ):
        shift = rounds % len(active)
        for path in active[shift:] + active[:shift]:
            t0 = time.perf_counter()
            jax.block_until_ready(calls[path]())
            times[path].append(time.perf_counter() - t0)
            spent += times[path][-1]
        rounds += 1
        limit = 8 if rounds == 1 else 4
        best = min(statistics.median(times[p]) for p in active)
        active = [p for p in active if statistics.median(times[p]) <= limit * best]
    return {path: t for path, t in times.items() if t}


def _spread(times: list[float]) -> float:
    """The interquartile range of ``times`` (0 for fewer than 2)."""
    if len(times) < 2:
        return 0.0
    q = statistics.quantiles(times, n=4, method="inclusive")
    return q[2] - q[0]


def decide(static: str, medians: dict[str, float], spreads: dict[str, float]) -> tuple[str, str]:
    """``(choice, rule)``: the fastest median, unless within the spread of the static rule.

    Examples:
        >>> decide("native", {"native": 1.0, "xla": 0.95}, {"native": 0.1, "xla": 0.1})
        ('native', 'static (within spread)')
        >>> decide("native", {"native": 1.0, "xla": 0.5}, {"native": 0.1, "xla": 0.1})
        ('xla', 'measured')
    """
    if not medians:
        return static, "static (no candidate ran)"
    best = min(medians, key=lambda p: medians[p])
    if best == static or static not in medians:
        return best, "measured"
    noise = max(spreads.get(best, 0.0), spreads.get(static, 0.0))
    if medians[static] - medians[best] <= noise:
        return static, "static (within spread)"
    return best, "measured"


def _measure(op: str, n: int, m: int, n_bits: int, cls: str) -> dict:
    paths = candidates(op, n_bits)
    pn, pm = _probe_shape(n, m, n_bits)
    times = _time_candidates(op, paths, pn, pm, n_bits)
    medians = {p: statistics.median(t) for p, t in times.items()}
    spreads = {p: _spread(t) for p, t in times.items()}
    choice, rule = decide(static_choice(n_bits), medians, spreads)
    return {
        "choice": choice,
        "rule": rule,
        "seconds": {p: float(f"{s:.4g}") for p, s in medians.items()},
        "spread": {p: float(f"{s:.4g}") for p, s in spreads.items()},
        "probe": [pn, pm, n_bits],
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def choose(op: str, n: int, m: int, n_bits: int, *, traced: bool = False) -> str:
    """The path ``method="auto"`` runs for ``op`` on ``[n] x [m]`` codes of ``n_bits``.

    Measures the size class once (eager calls only), then answers from the cache.

    Args:
        op: ``"pairwise"``, ``"truncated"`` or ``"knn"``.
        n: rows of the first operand.
        m: rows of the second operand.
        n_bits: bits per code.
        traced: the call is being traced (``jit``, ``vmap``): never measure.

    Returns:
        ``"native"``, ``"xla"``, ``"int8"`` or ``"bf16"``.

    Examples:
        >>> choose("pairwise", 4, 4, 8) == static_choice()  # tiny: the static rule
        True
    """
    cls = size_class(n, m, n_bits)
    memo_key = (
        op,
        cls,
        n_bits,
        traced,
        jax.default_backend(),
        os.environ.get("HAMGEO_DISPATCH"),
        os.environ.get("HAMGEO_CACHE"),
        os.environ.get("XDG_CACHE_HOME"),
        _probe_factory is None,
    )
    memo = _chosen.get(memo_key)
    if memo is not None and memo[0] is _tables:
        return memo[1]
    path = _choose(op, n, m, n_bits, cls, traced)
    _chosen[memo_key] = (_tables, path)
    return path


def _choose(op: str, n: int, m: int, n_bits: int, cls: str | None, traced: bool) -> str:
    static = static_choice(n_bits)
    if cls is None or mode() == "static" or _probe_factory is None:
        return static
    valid = candidates(op, n_bits)  # a cached choice not runnable here is ignored
    cached = table().get(f"{op}/{cls}")
    if cached is not None and cached["choice"] in valid:
        return cached["choice"]
    if traced:
        return static
    with _lock:
        current = table()
        cached = current.get(f"{op}/{cls}")
        if cached is None or cached["choice"] not in valid:
            current[f"{op}/{cls}"] = _measure(op, n, m, n_bits, cls)
            _chosen.clear()
            _write_file(device_key(), current)
        return current[f"{op}/{cls}"]["choice"]


def tune(ops: tuple[str, ...] = OPS) -> dict[str, dict]:
    """Re-measure every size class of ``ops`` on representative sizes and save them.

    Takes a few seconds per operation (compilation included). ``hamgeo tune`` runs it.

    Args:
        ops: operations to measure (``"pairwise"``, ``"truncated"``, ``"knn"``).

    Returns:
        The table for this device: ``"op/class" -> {"choice", "seconds", "probe", ...}``.

    Raises:
        ValueError: an unknown operation.
    """
    for op in ops:
        if op not in OPS:
            raise ValueError(f"`ops` must be drawn from {OPS}, got {op!r}")
    if _probe_factory is None:
        raise RuntimeError("no probe registered: import hamgeo.hamming first")
    with _lock:
        current = table()
        for op in ops:
            for n_bits in _TUNE_BITS:
                for rows in _TUNE_ROWS:
                    cls = size_class(rows, rows, n_bits)
                    if cls is not None:
                        current[f"{op}/{cls}"] = _measure(op, rows, rows, n_bits, cls)
        _chosen.clear()
        _write_file(device_key(), current)
        return dict(current)


# ----------------------------------------------------------------------------- reporting


def _native_line() -> str:
    if jax.default_backend() != "cpu":
        return f"native kernels: not used on {jax.default_backend()}"
    if not _native.available():
        return f"native kernels: NOT available: {_native.status()}"
    line = f"native kernels: built; {_native.describe()}"
    build = _native.build_info()
    if build:
        line += (
            f"; built against jaxlib {build.get('jaxlib') or '?'} headers "
            f"(FFI API {build['ffi_api_major']}.{build['ffi_api_minor']})"
        )
    return line


def dispatch_rows() -> list[dict[str, Any]]:
    """The dispatch table of this device as records, for ``hamgeo info`` and reports.

    One record per measured ``op/class``: ``name``, ``choice``, ``rule`` (``measured`` or
    ``static (within spread)``), ``median_ms`` and ``spread_ms`` per candidate (the spread
    is the interquartile range of the probe rounds), and ``probe`` (the probed size).

    Examples:
        >>> all("spread_ms" in row for row in dispatch_rows())
        True
    """
    rows = []
    for name, entry in sorted(table().items()):
        rows.append(
            {
                "name": name,
                "choice": entry["choice"],
                "rule": entry.get("rule", "measured"),
                "median_ms": {p: 1e3 * t for p, t in entry.get("seconds", {}).items()},
                "spread_ms": {p: 1e3 * t for p, t in entry.get("spread", {}).items()},
                "probe": list(entry.get("probe", [])),
            }
        )
    return rows


def info_lines() -> list[str]:
    """What ``hamgeo info`` prints about the Hamming paths: native kernels, dispatch table.

    Examples:
        >>> any(line.startswith("native kernels") for line in info_lines())
        True
    """
    lines = [_native_line()]
    how = mode()
    static = static_choice()
    if how == "static":
        lines.append(f"dispatch: static rule (HAMGEO_DISPATCH=static): every operation -> {static}")
        return lines
    lines.append(f"dispatch: measured once per size class, cached in {cache_path()}")
    lines.append(f"device key: {device_key()}")
    lines.append(f"static rule (tiny sizes, under jit before a measurement): {static}")
    rows = dispatch_rows()
    if not rows:
        lines.append("no size class measured yet (run `hamgeo tune`, or call the kernels)")
    for row in rows:
        spread = row["spread_ms"]
        secs = ", ".join(
            f"{p} {t:.2f} ± {spread.get(p, 0.0):.2f} ms"
            for p, t in sorted(row["median_ms"].items(), key=lambda item: item[1])
        )
        probe = "x".join(str(v) for v in row["probe"])
        lines.append(
            f"  {row['name']:<26} -> {row['choice']:<6} [{row['rule']}] "
            f"(median ± IQR: {secs}; probe {probe})"
        )
    return lines
