"""The ``hamgeo`` command: ``reproduce``, ``info``, ``tune`` and ``bench``.

``hamgeo reproduce NAME`` checks every option before any work starts (a bad ``--seed``,
``--out``, ``--data`` or config value exits with status 2 and a message naming it), holds
a lock on ``OUT/NAME`` so two runs never write the same folder, writes each figure and
``results.json`` atomically (temporary file, then rename) and writes ``results.json``
last, with ``"status": "complete"``: a folder without it holds no finished result.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.util
import json
import os
import platform
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hamgeo._checks import check_positive_int, check_seed
from hamgeo._version import __version__
from hamgeo.experiments import REGISTRY
from hamgeo.experiments._common import to_jsonable, write_json_atomic
from hamgeo.hamming import _native

__all__ = ["main"]

_RESULTS = "results.json"
_LOCK = ".hamgeo.lock"
_MAX_SEEDS = 1000


class UsageError(Exception):
    """A bad command-line option, found before any work (exit status 2)."""


# ----------------------------------------------------------------------------- reproduce


def _available() -> dict[str, str]:
    """Experiments whose module exists in this installation."""
    return {n: m for n, m in REGISTRY.items() if importlib.util.find_spec(m) is not None}


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict) and "mean" in value and "low" in value:
        mean, low, high, n = value["mean"], value["low"], value["high"], value.get("n")
        if mean is None:
            return "n/a"
        if low is None or high is None:
            return f"{mean:.4g} (n={n})"
        return f"{mean:.4g}  [{low:.4g}, {high:.4g}]  (n={n})"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items())
    return str(value)


def _print_summary(name: str, summary: dict) -> None:
    print(f"\n{name}: summary (mean [95% interval across seeds] (seeds))")
    width = max((len(k) for k in summary), default=0)
    for key, value in summary.items():
        print(f"  {key:<{width}}  {_fmt(value)}")


def _existing_result(path: Path) -> str:
    """``"none"``, ``"complete"`` or ``"incomplete"`` for an existing ``results.json``."""
    if not path.exists():
        return "none"
    try:
        payload = json.loads(path.read_text())
    except (OSError, ValueError):
        return "incomplete"
    if isinstance(payload, dict) and payload.get("status") == "complete":
        return "complete"
    return "incomplete"


def _check_out(out: str) -> Path:
    """``--out`` must be a writable folder (made if missing); checked before any work."""
    path = Path(out).expanduser()
    if path.exists() and not path.is_dir():
        raise UsageError(f"--out must be a folder, got the existing file {str(path)!r}")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".hamgeo-write-test-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise UsageError(f"--out {str(path)!r} is not a writable folder: {err}") from err
    return path


def _config_for(name: str, module: Any, args: argparse.Namespace) -> Any:
    """The experiment's Config with the command-line options applied (validated)."""
    config_cls = module.Config
    fields = {f.name for f in dataclasses.fields(config_cls)}
    changes: dict[str, Any] = {}
    if args.seeds is not None:
        changes["n_seeds"] = args.seeds
    data, data_root = args.data, args.data_dir
    if data is not None:
        if "data" not in fields:
            if args.experiment != "all":
                raise UsageError(f"--data is not used by {name}: it has its own data set-up")
        else:
            changes["data"] = data
            if data_root is not None:
                changes["data_root"] = str(data_root)
            if args.no_download:
                changes["download"] = False
    try:
        config = config_cls.quick() if args.quick else config_cls()
        unknown = set(changes) - fields
        for key in unknown:
            del changes[key]
        return dataclasses.replace(config, **changes)
    except (TypeError, ValueError) as err:
        raise UsageError(f"{name}: {err}") from err


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """Hold ``folder/.hamgeo.lock``; refuse when another live run holds it."""
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / _LOCK
    me = f"{socket.gethostname()} {os.getpid()}"
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                host, pid = lock.read_text().split()
                stale = host == socket.gethostname() and not _pid_alive(int(pid))
            except (OSError, ValueError):
                host, pid, stale = "?", "?", False
            if stale:
                lock.unlink(missing_ok=True)
                continue
            raise UsageError(
                f"another hamgeo run (host {host}, pid {pid}) is writing to {str(folder)!r}; "
                f"wait for it, or remove {str(lock)!r} if that run is gone"
            ) from None
        with os.fdopen(fd, "w") as f:
            f.write(me)
        break
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def _plan(args: argparse.Namespace) -> list[tuple[str, Any, Any, Path]]:
    """Check every option and build every config before any work: (name, module, config, dir)."""
    check_seed(args.seed, "--seed")
    if args.seeds is not None:
        check_positive_int(args.seeds, "--seeds", maximum=_MAX_SEEDS)
    for option, dataset in (("mnist", "mnist"), ("cifar10", "cifar10")):
        if getattr(args, option) is not None:
            raise UsageError(
                f"--{option} PATH is replaced by --data {dataset} --data-dir DIR, which reads "
                f"(or downloads and verifies) the files in DIR/{dataset}/"
            )
    if args.data_dir is not None:
        root = Path(args.data_dir).expanduser()
        if root.exists() and not root.is_dir():
            raise UsageError(f"--data-dir must be a folder, got the file {str(root)!r}")
    available = _available()
    if args.experiment == "all":
        names = list(available)
        if not names:
            raise UsageError("no reproduction is installed")
    elif args.experiment not in available:
        raise UsageError(
            f"the reproduction {args.experiment!r} is not available; "
            f"available: {', '.join(available) or 'none'}"
        )
    else:
        names = [args.experiment]
    out = _check_out(args.out)
    plan = []
    for name in names:
        module = importlib.import_module(available[name])
        config = _config_for(name, module, args)
        folder = out / name
        state = _existing_result(folder / _RESULTS)
        if state == "complete" and not args.force:
            raise UsageError(
                f"{folder / _RESULTS} holds a finished run; pass --force to replace it "
                "or --out to write elsewhere"
            )
        plan.append((name, module, config, folder))
    return plan


def _reproduce_one(name: str, module: Any, config: Any, folder: Path, args) -> None:
    import jax

    results = folder / _RESULTS
    with _folder_lock(folder):
        state = _existing_result(results)
        if state != "none":
            # never leave an old results.json beside new figures of a run that may fail
            kept = results.with_name(f"results.{state}-{time.strftime('%Y%m%d-%H%M%S')}.json")
            results.rename(kept)
            print(f"[{name}] kept the previous {state} results as {kept.name}")
        n_seeds = getattr(config, "n_seeds", 1)
        print(
            f"[{name}] running ({'quick' if args.quick else 'default'} sizes, "
            f"seed {args.seed}, {n_seeds} seed(s))",
            flush=True,
        )
        start = time.perf_counter()
        result = module.run(config, jax.random.key(args.seed))
        elapsed = time.perf_counter() - start
        figures = [str(p) for p in module.plot(result, folder)]
        payload = to_jsonable(result.to_dict())
        payload.setdefault("experiment", name)
        payload["run"] = {
            "seed": args.seed,
            "n_seeds": n_seeds,
            "quick": bool(args.quick),
            "elapsed_s": round(elapsed, 2),
            "hamgeo_version": __version__,
            "jax_version": jax.__version__,
            "backend": jax.default_backend(),
            "figures": [Path(f).name for f in figures],
        }
        payload["status"] = "complete"
        write_json_atomic(results, payload)
    _print_summary(name, payload.get("summary", {}))
    print(f"[{name}] done in {elapsed:.1f} s; results in {results}")
    for fig in figures:
        print(f"  figure: {fig}")


def _cmd_reproduce(args: argparse.Namespace) -> int:
    try:
        plan = _plan(args)
    except (UsageError, TypeError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for name, module, config, folder in plan:
        try:
            _reproduce_one(name, module, config, folder, args)
        except UsageError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    return 0


# ----------------------------------------------------------------------------- info, tune, bench


def _dispatch_module() -> Any:
    try:
        return importlib.import_module("hamgeo.hamming._dispatch")
    except ImportError:
        return None


def _cmd_info(args: argparse.Namespace) -> int:
    del args
    import importlib.metadata as md

    import jax

    print(f"hamgeo {__version__}")
    print(f"python {platform.python_version()} on {platform.platform()}")
    for dist in ("jax", "jaxlib", "flax", "optax", "ott-jax", "numpy", "scipy"):
        try:
            print(f"{dist} {md.version(dist)}")
        except md.PackageNotFoundError:
            print(f"{dist} not installed")
    print(f"native CPU kernels: {_native.describe()}")
    dispatch = _dispatch_module()
    if dispatch is not None and hasattr(dispatch, "info_lines"):
        for line in dispatch.info_lines():
            print(line)
    print(f"backend: {jax.default_backend()}")
    print(f"process {jax.process_index()} of {jax.process_count()}")
    for device in jax.devices():
        print(f"device: {device.id} {device.platform} {device.device_kind}")
    return 0


def _cmd_tune(args: argparse.Namespace) -> int:
    del args
    dispatch = _dispatch_module()
    if dispatch is None or not hasattr(dispatch, "tune"):
        print("error: this build has no measured dispatch", file=sys.stderr)
        return 2
    dispatch.tune()
    for line in dispatch.info_lines():
        print(line)
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    script = Path(__file__).resolve().parent.parent / "benchmarks" / "run.py"
    if not script.exists():
        print("error: benchmarks/run.py ships with the source tree only", file=sys.stderr)
        return 2
    return subprocess.call([sys.executable, str(script), *args.bench_args])


def _int_option(text: str) -> int:
    """Parse a base-10 integer option (its range is checked later, with its name)."""
    try:
        return int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hamgeo", description="Geometry of binarized neural-network activations."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("reproduce", help="reproduce a paper's experiments and figures")
    rep.add_argument("experiment", choices=[*REGISTRY, "all"])
    rep.add_argument("--quick", action="store_true", help="small sizes: minutes on a laptop")
    rep.add_argument("--out", default="results", help="output folder (default: results)")
    rep.add_argument(
        "--seed", type=_int_option, default=0, help="base random seed in [0, 2**32) (default: 0)"
    )
    rep.add_argument(
        "--seeds",
        type=_int_option,
        default=None,
        help="independent seeds, each retraining its networks (default: the experiment's)",
    )
    rep.add_argument(
        "--data",
        default=None,
        help="data set for the studies that take one: digits, mnist1d, mnist, fashion-mnist, "
        "cifar10 (downloaded on first use unless --no-download)",
    )
    rep.add_argument("--data-dir", default=None, help="data cache folder (default: $HAMGEO_DATA)")
    rep.add_argument(
        "--no-download", action="store_true", help="never download; fail if files are missing"
    )
    rep.add_argument("--force", action="store_true", help="replace a finished run's results")
    # replaced by --data/--data-dir; kept only to say so
    rep.add_argument("--cifar10", default=None, help=argparse.SUPPRESS)
    rep.add_argument("--mnist", default=None, help=argparse.SUPPRESS)
    rep.set_defaults(func=_cmd_reproduce)
    info = sub.add_parser("info", help="versions, devices, native kernels and the dispatch table")
    info.set_defaults(func=_cmd_info)
    tune = sub.add_parser("tune", help="re-measure the Hamming dispatch table on this machine")
    tune.set_defaults(func=_cmd_tune)
    bench = sub.add_parser("bench", help="run benchmarks/run.py (source tree only)")
    bench.add_argument("bench_args", nargs=argparse.REMAINDER)
    bench.set_defaults(func=_cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``hamgeo`` command; returns the exit status.

    Examples:
        >>> main(["reproduce", "discriminability", "--seed", "-1"])
        2
    """
    args = _parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
