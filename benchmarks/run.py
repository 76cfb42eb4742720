"""Run hamgeo's benchmark suites against the peers a user would otherwise pick.

    python benchmarks/run.py [--suite NAME ...] [--quick] [--json FILE]

Each suite times hamgeo and its peers in the same run and returns rows; this
script prints them as a table with throughput and the ratio of hamgeo's
throughput to every peer's on the same operation and size.
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import suites  # noqa: E402
from benchmarks.timing import Row  # noqa: E402
from hamgeo._io import atomic_write_json  # noqa: E402


def available_suites() -> list[str]:
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", action="append", choices=available_suites())
    parser.add_argument("--quick", action="store_true", help="small sizes (CI smoke run)")
    parser.add_argument("--json", default=None, help="write the rows to this JSON file")
    parser.add_argument("--force", action="store_true", help="replace an existing --json file")
    args = parser.parse_args(argv)
    if args.json and Path(args.json).exists() and not args.force:  # before minutes of timing
        print(f"error: {args.json!r} exists; pass --force to replace it", file=sys.stderr)
        return 2

    import jax

    names = args.suite or available_suites()
    rows: list[Row] = []
    start = time.perf_counter()
    for name in names:
        module = importlib.import_module(f"benchmarks.suites.{name}")
        print(f"# suite {name}", flush=True)
        rows.extend(module.run(quick=args.quick))
    print()
    print_table(rows)
    print(f"\ntotal {time.perf_counter() - start:.1f}s on {jax.default_backend()}")
    if args.json:
        from hamgeo.hamming import _dispatch, _native

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


if __name__ == "__main__":
    sys.exit(main())
