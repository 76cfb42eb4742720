"""Repeat-call latency: what the 2nd call of each public function costs (issue 21, item 1).

A research script calls hamgeo's functions in loops with the same shapes. For each public
function this suite times, in a fresh process per group of functions (so the 1st call pays
imports, tracing, compilation and any dispatch probe as a new user's would):

* ``first_s``: the 1st call;
* ``second_s``: the 2nd call, same arguments (the one that must compile nothing);
* ``seconds``: the compute time, the median of the later calls;
* ``second_over_compute``: ``second_s / seconds``; the target is <= 2 (issue 21);
* ``compiles_2nd``: XLA compilations during the 2nd call (``jax.monitoring`` events).

The default size is the issue's (500 x 400 codes of 256 bits); ``quick`` halves the
samples. Groups run in their own process in order; within a group a function may
reuse what an earlier one compiled (``pack_bits`` for instance), which a user would too.
Run it as ``hamgeo bench --suite latency [--quick]``; the environment variables
``HAMGEO_LATENCY_GROUP_TIMEOUT`` (per group) and ``HAMGEO_LATENCY_BUDGET_S`` (whole suite)
bound its time, keeping the rows measured before a cut.
"""

from __future__ import annotations

import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import jax

import hamgeo
from hamgeo.bench._timing import Row
from hamgeo.hamming import Method, _native
from hamgeo.nets import MLP, BinaryMLP

SUITE = "latency"
TARGET = 2.0
GROUPS = ("codes", "hamming", "nets", "transport", "mmd", "analysis")
_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"

Case = tuple[str, str, Callable[[], Any]]  # (function, variant, call)


def _sizes(quick: bool) -> dict[str, int]:
    if os.environ.get("HAMGEO_BENCH_SMOKE"):  # accelerator.sh --cpu-smoke: the code paths only
        return {"n": 64, "m": 48, "bits": 256, "later": 2}
    if quick:
        return {"n": 250, "m": 200, "bits": 256, "later": 5}
    return {"n": 500, "m": 400, "bits": 256, "later": 7}


# --- the cases (built in the child process) --------------------------------------------


def _inputs(sz: dict[str, int]) -> dict[str, Any]:
    import numpy as np

    rng = np.random.default_rng(0)
    return {
        "bx": rng.random((sz["n"], sz["bits"])) < 0.5,
        "by": rng.random((sz["m"], sz["bits"])) < 0.5,
        "rx": rng.standard_normal((sz["n"], 32)).astype(np.float32),
        "ry": rng.standard_normal((sz["m"], 32)).astype(np.float32) + 0.5,
        "lx": rng.integers(0, 10, sz["n"]),
        "ly": rng.integers(0, 10, sz["m"]),
    }


def _cases_codes(sz: dict[str, int]) -> list[Case]:
    d = _inputs(sz)
    x = hamgeo.pack_bits(d["bx"])
    packed = hamgeo.to_packbits(x)
    return [
        ("pack_bits", "", lambda: hamgeo.pack_bits(d["bx"]).words),
        ("unpack_bits", "", lambda: hamgeo.unpack_bits(x)),
        ("to_packbits", "host", lambda: hamgeo.to_packbits(x)),
        ("from_packbits", "host", lambda: hamgeo.from_packbits(packed, sz["bits"]).words),
    ]


def _cases_hamming(sz: dict[str, int]) -> list[Case]:
    d = _inputs(sz)
    x, y = hamgeo.pack_bits(d["bx"]), hamgeo.pack_bits(d["by"])
    methods: list[Method] = ["auto", "popcount", "xla", "matmul"]
    methods += ["native"] if _native.available() else []
    cases: list[Case] = [
        (
            "pairwise_hamming",
            f"method={m}",
            functools.partial(hamgeo.pairwise_hamming, x, y, method=m),
        )
        for m in methods
    ]
    cases += [
        ("pairwise_hamming", "truncate=64", lambda: hamgeo.pairwise_hamming(x, y, truncate=64)),
        ("pairwise_hamming", "self", lambda: hamgeo.pairwise_hamming(x)),
        ("hamming_knn", "k=10", lambda: hamgeo.hamming_knn(x, y, 10)),
        (
            "hamming_knn",
            "k=10 exclude_self",
            lambda: hamgeo.hamming_knn(x, x, 10, exclude_self=True),
        ),
    ]
    return cases


def _cases_nets(sz: dict[str, int]) -> list[Case]:
    d = _inputs(sz)
    x = d["rx"]
    cases: list[Case] = []
    for name, model in (("MLP", MLP((256, 256), 10)), ("BinaryMLP", BinaryMLP((256, 256), 10))):
        v = model.init(jax.random.key(0), x[:1])
        cases.append(
            ("preactivations", name, functools.partial(hamgeo.preactivations, model, v, x))
        )
        cases.append(
            (
                "activation_codes",
                name,
                functools.partial(lambda m, v: hamgeo.activation_codes(m, v, x).words, model, v),
            )
        )
    return cases


def _cases_transport(sz: dict[str, int]) -> list[Case]:
    d = _inputs(sz)
    x, y = hamgeo.pack_bits(d["bx"]), hamgeo.pack_bits(d["by"])
    # Fast ones first: a group cut by its timeout keeps the rows measured before.
    cases: list[Case] = [
        ("exact_wasserstein", "host", lambda: hamgeo.exact_wasserstein(x, y)),
        ("wasserstein", "debiased", lambda: hamgeo.wasserstein(x, y, debiased=True).value),
        (
            "wasserstein",
            "sqeuclidean",
            lambda: hamgeo.wasserstein(d["rx"], d["ry"], cost="sqeuclidean").value,
        ),
    ]
    cases += [
        (
            "wasserstein",
            f"method={m}",
            functools.partial(lambda m: hamgeo.wasserstein(x, y, method=m).value, m),
        )
        for m in ("auto", "kernel", "ott", "online")
    ]
    return cases


def _cases_mmd(sz: dict[str, int]) -> list[Case]:
    d = _inputs(sz)
    x, y = hamgeo.pack_bits(d["bx"]), hamgeo.pack_bits(d["by"])
    key = jax.random.key(0)
    bw = 32.0  # random 256-bit codes lie ~128 apart: exp(-d) would underflow at bandwidth 1
    return [
        ("mmd", "hamming bandwidth=32", lambda: hamgeo.mmd(x, y, bandwidth=bw)),
        ("mmd", "bandwidth=median", lambda: hamgeo.mmd(x, y, bandwidth="median")),
        ("mmd", "gaussian", lambda: hamgeo.mmd(d["rx"], d["ry"], kernel="gaussian")),
        (
            "mmd_test",
            "200 permutations",
            lambda: hamgeo.mmd_test(x, y, key=key, n_permutations=200, bandwidth=bw).p_value,
        ),
        ("frechet_distance", "codes", lambda: hamgeo.frechet_distance(x, y)),
        ("frechet_distance", "real", lambda: hamgeo.frechet_distance(d["rx"], d["ry"])),
    ]


def _cases_analysis(sz: dict[str, int]) -> list[Case]:
    d = _inputs(sz)
    x, y = hamgeo.pack_bits(d["bx"]), hamgeo.pack_bits(d["by"])
    # Few distinct codes, as in a trained net's cells.
    dup = hamgeo.pack_bits(d["bx"][d["lx"]])
    key = jax.random.key(0)
    model = BinaryMLP((64, 64), 10)
    rx = d["rx"][:64]
    v = model.init(key, rx[:1])
    lx, ly = d["lx"], d["ly"]
    return [
        ("count_regions", "", lambda: hamgeo.count_regions(dup)),
        ("redundancy_ratio", "", lambda: hamgeo.redundancy_ratio(dup)),
        (
            "count_regions_per_layer",
            "",
            lambda: hamgeo.count_regions_per_layer(x, [(0, 128), (128, 256)]),
        ),
        ("knn_accuracy", "k=9", lambda: hamgeo.knn_accuracy(x, lx, y, ly, k=9).test_accuracy),
        (
            "kmeans_accuracy",
            "",
            lambda: hamgeo.kmeans_accuracy(x, lx, y, ly, key=key).test_accuracy,
        ),
        ("logreg_accuracy", "", lambda: hamgeo.logreg_accuracy(x, lx, y, ly).test_accuracy),
        (
            "binarization_angles",
            "dim=256",
            lambda: hamgeo.binarization_angles(key=key, dim=256, n=1000),
        ),
        (
            "dot_product_preservation",
            "BinaryMLP",
            lambda: hamgeo.dot_product_preservation(model, v, rx, key=key),
        ),
    ]


_CASES = {
    "codes": _cases_codes,
    "hamming": _cases_hamming,
    "nets": _cases_nets,
    "transport": _cases_transport,
    "mmd": _cases_mmd,
    "analysis": _cases_analysis,
}


# --- timing (child process) ------------------------------------------------------------


def _time_case(fn: Callable[[], Any], later: int) -> dict[str, Any]:
    compiles: list[int] = []

    def listener(event: str, duration_secs: float, **kwargs: str | int) -> None:
        del duration_secs, kwargs
        if event == _COMPILE_EVENT:
            compiles.append(1)

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        times: list[float] = []
        counts: list[int] = []
        while len(times) < 2 + later:
            if len(times) == 2 and times[1] > 1.0:
                later = min(later, 2)  # a slow call: two more are enough for its median
            before = len(compiles)
            t0 = time.perf_counter()
            jax.block_until_ready(fn())
            times.append(time.perf_counter() - t0)
            counts.append(len(compiles) - before)
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
    return {
        "first_s": times[0],
        "second_s": times[1],
        "later_s": times[2:],
        "compiles_1st": counts[0],
        "compiles_2nd": counts[1],
        "compiles_later": sum(counts[2:]),
    }


def _child(group: str, quick: bool) -> None:
    """Time every case of ``group``; print one JSON line per case."""
    sz = _sizes(quick)
    t0 = time.perf_counter()
    cases = _CASES[group](sz)
    print(json.dumps({"setup_s": time.perf_counter() - t0}), flush=True)
    for name, variant, fn in cases:
        try:
            out = _time_case(fn, sz["later"])
        except Exception as err:  # noqa: BLE001 - report and go on to the next function
            out = {"error": f"{type(err).__name__}: {err}"[:300]}
        print(json.dumps({"function": name, "variant": variant, **out}), flush=True)


# --- the suite (parent process) --------------------------------------------------------


def _shape(sz: dict[str, int]) -> str:
    return f"n={sz['n']} m={sz['m']} bits={sz['bits']}"


def _run_group(group: str, quick: bool, timeout: float) -> list[dict[str, Any]]:
    cmd = [sys.executable, "-m", "hamgeo.bench.suites.latency", group] + (
        ["--quick"] if quick else []
    )
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=timeout)
        stdout, rc, tail = proc.stdout, proc.returncode, proc.stderr.strip().splitlines()[-1:]
    except subprocess.TimeoutExpired as err:
        out = err.stdout or b""
        stdout = out.decode() if isinstance(out, bytes) else out
        rc, tail = None, [f"timed out after {timeout:.0f}s"]
    records = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    if rc != 0:
        print(f"  group {group}: exit {rc} {tail}", flush=True)
    return [r for r in records if "function" in r]


def run(quick: bool) -> list[Row]:
    """Time 1st, 2nd and later calls of each public function, one process per group."""
    sz = _sizes(quick)
    rows: list[Row] = []
    timeout = float(os.environ.get("HAMGEO_LATENCY_GROUP_TIMEOUT", 240 if quick else 600))
    # A whole-suite budget (benchmarks/accelerator.sh sets it): groups past it are cut
    # short, and the rows measured so far are still returned.
    deadline = time.monotonic() + float(os.environ.get("HAMGEO_LATENCY_BUDGET_S", "inf"))
    header = (
        f"  {'function':<26} {'variant':<20} {'1st':>9} {'2nd':>9} {'compute':>9} "
        f"{'2nd/compute':>11} {'compiles 2nd':>12}"
    )
    with tempfile.TemporaryDirectory(prefix="hamgeo-latency-") as tmp:
        # A fresh dispatch cache, as on a new machine: the 1st call pays the probe.
        old = os.environ.get("HAMGEO_CACHE")
        os.environ["HAMGEO_CACHE"] = tmp
        try:
            print(header, flush=True)
            for group in GROUPS:
                left = deadline - time.monotonic()
                if left < 5:
                    print(f"  group {group}: skipped (suite budget spent)", flush=True)
                    continue
                for rec in _run_group(group, quick, min(timeout, left)):
                    rows.append(_row(rec, sz))
                    _print(rows[-1])
        finally:
            if old is None:
                os.environ.pop("HAMGEO_CACHE", None)
            else:
                os.environ["HAMGEO_CACHE"] = old
    ok = [r for r in rows if "second_over_compute" in r.extra]
    met = sum(r.extra["within_target"] for r in ok)
    print(f"  2nd call within {TARGET:g}x compute: {met}/{len(ok)} functions", flush=True)
    return rows


def _row(rec: dict[str, Any], sz: dict[str, int]) -> Row:
    impl = f"hamgeo[{rec['variant']}]" if rec["variant"] else "hamgeo"
    row = Row(
        suite=SUITE,
        op=rec["function"],
        shape=_shape(sz),
        dtype="codes" if "real" not in rec["variant"] else "float32",
        impl=impl,
        seconds=float("nan"),
        work=1.0,
        unit="calls",
    )
    if "error" in rec:
        row.extra["error"] = rec["error"]
        return row
    later = rec["later_s"]
    row.seconds = statistics.median(later)
    row.min_s, row.max_s, row.repeats = min(later), max(later), len(later)
    mean = statistics.fmean(later)
    row.cv = statistics.pstdev(later) / mean if mean > 0 else 0.0
    row.compile_s = max(0.0, rec["first_s"] - row.seconds)
    ratio = rec["second_s"] / row.seconds if row.seconds > 0 else float("inf")
    row.extra.update(
        first_s=rec["first_s"],
        second_s=rec["second_s"],
        second_over_compute=round(ratio, 3),
        within_target=bool(ratio <= TARGET),
        compiles_1st=rec["compiles_1st"],
        compiles_2nd=rec["compiles_2nd"],
        compiles_later=rec["compiles_later"],
    )
    return row


def _print(r: Row) -> None:
    variant = r.impl[len("hamgeo[") : -1] if r.impl.startswith("hamgeo[") else ""
    if "error" in r.extra:
        print(f"  {r.op:<26} {variant:<20} error: {r.extra['error']}", flush=True)
        return
    e = r.extra
    flag = "" if e["within_target"] else "  > target"
    print(
        f"  {r.op:<26} {variant:<20} {e['first_s'] * 1e3:>7.1f}ms {e['second_s'] * 1e3:>7.2f}ms "
        f"{r.seconds * 1e3:>7.2f}ms {e['second_over_compute']:>10.2f}x "
        f"{e['compiles_2nd']:>12}{flag}",
        flush=True,
    )


if __name__ == "__main__":
    _child(sys.argv[1], "--quick" in sys.argv[2:])
