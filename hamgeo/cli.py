"""The ``hamgeo`` command: ``reproduce``, ``bench`` and ``info``."""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["main"]


def _experiments() -> dict[str, str]:
    from hamgeo.experiments import REGISTRY

    return dict(REGISTRY)


def _available() -> dict[str, str]:
    """Experiments whose module exists in this installation."""
    out = {}
    for name, mod in _experiments().items():
        if importlib.util.find_spec(mod) is not None:
            out[name] = mod
    return out


def _print_summary(name: str, summary: dict) -> None:
    print(f"\n{name}: summary")
    width = max((len(k) for k in summary), default=0)
    for key, value in summary.items():
        if isinstance(value, float):
            text = f"{value:.4g}"
        elif isinstance(value, dict):
            text = ", ".join(
                f"{k}: {v:.3g}" if isinstance(v, float) else f"{k}: {v}" for k, v in value.items()
            )
        else:
            text = str(value)
        print(f"  {key:<{width}}  {text}")


def _reproduce_one(name: str, module_name: str, args: argparse.Namespace) -> int:
    import jax

    from hamgeo.experiments._common import to_jsonable

    module = importlib.import_module(module_name)
    out_dir = Path(args.out) / name
    results_file = out_dir / "results.json"
    if results_file.exists() and not args.force:
        print(
            f"error: {results_file} exists; pass --force to overwrite it "
            "or --out to write elsewhere",
            file=sys.stderr,
        )
        return 2
    config = module.Config.quick() if args.quick else module.Config()
    fields = {f.name for f in dataclasses.fields(config)}
    for option, field in (("cifar10", "cifar10_path"), ("mnist", "mnist_path")):
        value = getattr(args, option, None)
        if value is None:
            continue
        if field not in fields:
            if args.experiment != "all":
                print(f"error: --{option} is not used by {name}", file=sys.stderr)
                return 2
            continue
        config = dataclasses.replace(config, **{field: value})
    print(f"[{name}] running ({'quick' if args.quick else 'paper'} sizes, seed {args.seed})")
    start = time.perf_counter()
    result = module.run(config, jax.random.key(args.seed))
    elapsed = time.perf_counter() - start
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = module.plot(result, out_dir)
    payload = to_jsonable(result.to_dict())
    results_file.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n")
    _print_summary(name, payload.get("summary", {}))
    print(f"[{name}] done in {elapsed:.1f} s; results in {results_file}")
    for fig in figures:
        print(f"  figure: {fig}")
    return 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    available = _available()
    if args.experiment == "all":
        names = list(available)
        if not names:
            print("error: no reproduction is installed", file=sys.stderr)
            return 2
    else:
        if args.experiment not in available:
            print(
                f"error: the reproduction {args.experiment!r} is not available; "
                f"available: {', '.join(available) or 'none'}",
                file=sys.stderr,
            )
            return 2
        names = [args.experiment]
    status = 0
    for name in names:
        status = max(status, _reproduce_one(name, available[name], args))
    return status


def _cmd_info(args: argparse.Namespace) -> int:
    del args
    import importlib.metadata as md

    import jax

    import hamgeo

    print(f"hamgeo {hamgeo.__version__}")
    print(f"python {platform.python_version()} on {platform.platform()}")
    for dist in ("jax", "jaxlib", "flax", "optax", "ott-jax", "numpy", "scipy"):
        try:
            print(f"{dist} {md.version(dist)}")
        except md.PackageNotFoundError:
            print(f"{dist} not installed")
    try:
        from hamgeo import _native

        print(f"native CPU kernels: {_native.describe()}")
    except ImportError:
        print("native CPU kernels: not built (pure-XLA paths in use)")
    print(f"backend: {jax.default_backend()}")
    print(f"process {jax.process_index()} of {jax.process_count()}")
    for device in jax.devices():
        print(f"device: {device.id} {device.platform} {device.device_kind}")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    script = Path(__file__).resolve().parent.parent / "benchmarks" / "run.py"
    if not script.exists():
        print("error: benchmarks/run.py ships with the source tree only", file=sys.stderr)
        return 2
    cmd = [sys.executable, str(script), *args.bench_args]
    return subprocess.call(cmd)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hamgeo", description="Geometry of binarized neural-network activations."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("reproduce", help="reproduce a paper's experiments and figures")
    rep.add_argument("experiment", choices=[*_experiments(), "all"])
    rep.add_argument("--quick", action="store_true", help="small sizes: minutes on a laptop")
    rep.add_argument("--out", default="results", help="output folder (default: results)")
    rep.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    rep.add_argument("--force", action="store_true", help="overwrite existing results")
    rep.add_argument("--cifar10", default=None, help="folder of CIFAR-10's binary version")
    rep.add_argument("--mnist", default=None, help="folder of MNIST's four IDX files")
    rep.set_defaults(func=_cmd_reproduce)
    info = sub.add_parser("info", help="versions, backend and devices")
    info.set_defaults(func=_cmd_info)
    bench = sub.add_parser("bench", help="run benchmarks/run.py (source tree only)")
    bench.add_argument("bench_args", nargs=argparse.REMAINDER)
    bench.set_defaults(func=_cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``hamgeo`` command."""
    args = _parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
