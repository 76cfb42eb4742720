"""Time hamgeo against the peers a user would otherwise pick: ``hamgeo bench``.

    hamgeo bench [--suite NAME ...] [--quick] [--json FILE] [--force]
    python -m hamgeo.bench ...            (the same)

Each suite (a module of ``hamgeo.bench.suites``) times hamgeo and its
peers in the same run and returns rows; the runner prints them as a table with throughput
and the ratio of hamgeo's throughput to every peer's on the same operation and size, and
with ``--json`` writes the rows and the machine (CPU model and flags, devices, jax, the
native kernel, the dispatch table, the load average) to a file. The benchmarks ship in the
wheel; the peers (faiss, POT, SciPy, scikit-learn) come with the ``bench`` extra:
``pip install 'hamgeo[bench]'`` (a peer that is not installed is reported as not run).

Host-only: a command-line program.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import os
import pkgutil
import platform
import sys
import time
from pathlib import Path

from hamgeo._io import atomic_write_json
from hamgeo.bench import suites
from hamgeo.bench._timing import Row
from hamgeo.hamming import _dispatch, _native

__all__ = ["available_suites", "main"]


def available_suites() -> list[str]:
    """The names of the benchmark suites, sorted.

    Examples:
        >>> "hamming" in available_suites()
        True
    """
    return sorted(
        m.name for m in pkgutil.iter_modules(suites.__path__) if not m.name.startswith("_")
    )


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def print_table(rows: list[Row]) -> None:
    header = (
        f"{'suite':<10} {'op':<22} {'shape':<34} {'impl':<28} "
        f"{'median':>10} {'min':>10} {'max':>10} {'cv':>5} {'throughput':>16} {'compile':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        comp = "" if r.compile_s is None else f"{r.compile_s:.2f}s"
        thr = f"{_fmt(r.throughput)} {r.unit}/s"
        lo = "" if r.min_s is None else f"{r.min_s * 1e3:.2f}ms"
        hi = "" if r.max_s is None else f"{r.max_s * 1e3:.2f}ms"
        cv = "" if r.cv is None else f"{r.cv:.2f}"
        print(
            f"{r.suite:<10} {r.op:<22} {r.shape:<34} {r.impl:<28} "
            f"{r.seconds * 1e3:>8.2f}ms {lo:>10} {hi:>10} {cv:>5} {thr:>16} {comp:>8}"
        )
    print()
    print("ratios (hamgeo throughput / peer throughput, same operation and size):")
    groups: dict[tuple[str, str, str], list[Row]] = {}
    for r in rows:
        groups.setdefault((r.suite, r.op, r.shape), []).append(r)
    for (suite, op, shape), group in groups.items():
        ours = [r for r in group if r.impl.startswith("hamgeo")]
        peers = [r for r in group if not r.impl.startswith("hamgeo")]
        for o in ours:
            for p in peers:
                ratio = o.throughput / p.throughput
                print(f"  {suite}/{op} [{shape}] {o.impl} vs {p.impl}: {ratio:.2f}x")


def main(argv: list[str] | None = None, prog: str = "hamgeo bench") -> int:
    """Run the suites named in ``argv`` (all by default); returns the exit status.

    Examples:
        >>> main(["--suite", "no-such-suite"])  # a usage error: the message goes to stderr
        2
    """
    parser = argparse.ArgumentParser(prog=prog, description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--suite", action="append", choices=available_suites())
    parser.add_argument("--quick", action="store_true", help="small sizes (CI smoke run)")
    parser.add_argument("--json", default=None, help="write the rows to this JSON file")
    parser.add_argument("--force", action="store_true", help="replace an existing --json file")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, or a usage error argparse printed
        return exit_.code if isinstance(exit_.code, int) else 2
    if args.json and Path(args.json).exists() and not args.force:  # before minutes of timing
        print(f"error: {args.json!r} exists; pass --force to replace it", file=sys.stderr)
        return 2

    import jax

    names = args.suite or available_suites()
    rows: list[Row] = []
    start = time.perf_counter()
    for name in names:
        module = importlib.import_module(f"hamgeo.bench.suites.{name}")
        print(f"# suite {name}", flush=True)
        rows.extend(module.run(quick=args.quick))
    print()
    print_table(rows)
    print(f"\ntotal {time.perf_counter() - start:.1f}s on {jax.default_backend()}")
    if args.json:
        meta = {
            "backend": jax.default_backend(),
            "devices": [str(d.device_kind) for d in jax.devices()],
            "machine": platform.platform(),
            "processor": platform.processor(),
            "cpu": _dispatch.cpu_info(),
            "jax": jax.__version__,
            "native": _native.describe(),
            "dispatch": {"mode": _dispatch.mode(), "table": _dispatch.table()},
            "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
            "quick": args.quick,
        }
        payload = {
            "meta": meta,
            "rows": [dataclasses.asdict(r) | {"throughput": r.throughput} for r in rows],
        }
        try:
            atomic_write_json(args.json, payload, overwrite=args.force)
        except FileExistsError as err:  # measured rows are the user's: never replaced unasked
            print(f"error: {err} (or --force)", file=sys.stderr)
            return 2
    return 0
