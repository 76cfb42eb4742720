"""The ``hamgeo`` command: ``reproduce``, ``info``, ``tune`` and ``bench``.

``hamgeo reproduce NAME`` checks every option before any work starts (a bad ``--seed``,
``--out``, ``--data``, ``--set`` or ``--config`` value exits with status 2 and a message
naming it), holds a lock on ``OUT/NAME`` so two runs never write the same folder, writes
each figure and ``results.json`` atomically (temporary file, then rename) and writes
``results.json`` last, with ``"status": "complete"``: a folder without it holds no
finished result. A user's mistake or a missing file ends with one line and status 2,
Ctrl-C with one line and status 130; only a bug shows a traceback.

The command imports JAX only when it computes: ``hamgeo --help``, ``--version`` and
``reproduce --help`` answer at once. Heavy modules of hamgeo are therefore loaded with
``importlib`` inside the commands that need them.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.util
import os
import platform
import sys
import time
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

from hamgeo._io import (
    CorruptFileError,
    LockedError,
    atomic_write_json,
    folder_lock,
    read_json,
    to_jsonable,
)
from hamgeo._version import __version__
from hamgeo.experiments import MAX_SEEDS, REGISTRY

__all__ = ["main"]

_RESULTS = "results.json"

#: One line per study for ``reproduce --help``, and its wall time on a quiet 2-core CPU
#: (measured; see each study's docs page). Kept here so ``--help`` needs no JAX.
ABOUT: dict[str, tuple[str, str]] = {
    "discriminability": (
        "Hamming / Wasserstein / MMD between samples of codes vs the Frechet benchmark",
        "quick 53 s, default 139 s",
    ),
    "bnn-geometry": (
        "binarized nets: angles of binarized vectors, dot-product preservation per layer",
        "quick 79 s, default 532 s",
    ),
    "hash-encoder": (
        "nets as hash encoders: redundancy ratio, k-NN / k-means / logistic regression",
        "quick 60 s, default 849 s (at load 5)",
    ),
}


class UsageError(Exception):
    """A bad command-line option or a missing / bad input file (exit status 2)."""


def _error(message: Any) -> int:
    print(f"hamgeo: error: {message}", file=sys.stderr)
    return 2


# ----------------------------------------------------------------------------- overrides


def _type_name(tp: Any) -> str:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Literal:
        return "one of " + ", ".join(map(repr, args))
    if origin in (typing.Union, types.UnionType):
        return " or ".join("none" if a is type(None) else _type_name(a) for a in args)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {_type_name(args[0])}"
        return f"a list [{', '.join(map(_type_name, args))}]"
    return getattr(tp, "__name__", str(tp))


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """``value`` (from TOML or a ``--set`` string) as the field type ``tp``, or a UsageError."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    wrong = UsageError(f"{key} must be {_type_name(tp)}, got {value!r}")
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for option in args:
            if option is not type(None):
                try:
                    return _coerce(value, option, key)
                except UsageError:
                    pass
        raise wrong
    if origin is typing.Literal:
        if value in args:
            return value
        raise wrong
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise wrong
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise wrong
    if tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise wrong
    if tp is str or tp is Path:
        if isinstance(value, str):
            return tp(value)
        raise wrong
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise wrong
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], f"{key}[{i}]") for i, v in enumerate(value))
        if len(args) != len(value):
            raise wrong
        return tuple(
            _coerce(v, a, f"{key}[{i}]") for i, (v, a) in enumerate(zip(args, value, strict=True))
        )
    return value  # anything else: the Config's own checks decide


def _parse_text(text: str) -> Any:
    """A ``--set`` value as TOML (``3``, ``0.5``, ``true``, ``[1, 2]``, ``"s"``), else as text."""
    if text.lower() in ("none", "null"):
        return None
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _takes_text(tp: Any) -> bool:
    """Whether a field of type ``tp`` takes a string (then ``--set k=true`` means "true")."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return any(_takes_text(a) for a in args)
    if origin is typing.Literal:
        return all(isinstance(a, str) for a in args)
    return tp is str or tp is Path


def _fields(obj: Any) -> dict[str, Any]:
    """Init fields of the dataclass instance ``obj`` -> their resolved types."""
    try:
        hints = typing.get_type_hints(type(obj))
    except (NameError, TypeError):  # an annotation that does not resolve: let the class check
        hints = {}
    return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(obj) if f.init}


def settable_keys(config: Any, prefix: str = "") -> list[str]:
    """Every dotted key ``--set`` accepts for ``config`` (fields of nested dataclasses too).

    Examples:
        >>> @dataclasses.dataclass(frozen=True)
        ... class Train:
        ...     epochs: int = 3
        >>> @dataclasses.dataclass(frozen=True)
        ... class Config:
        ...     n_seeds: int = 2
        ...     train: Train = Train()
        >>> settable_keys(Config())
        ['n_seeds', 'train.epochs']
    """
    keys = []
    for name in _fields(config):
        value = getattr(config, name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            keys += settable_keys(value, f"{prefix}{name}.")
        else:
            keys.append(prefix + name)
    return keys


def _replace(config: Any, path: list[str], raw: Any, key: str, *, text: bool) -> tuple[Any, Any]:
    """``config`` with the field at ``path`` set to ``raw`` (typed); returns (config, value)."""
    fields = _fields(config)
    name = path[0]
    if name not in fields:
        known = ", ".join(settable_keys(config))
        raise UsageError(f"{key}: no such setting {name!r}; known: {known}")
    current = getattr(config, name)
    nested = dataclasses.is_dataclass(current) and not isinstance(current, type)
    if len(path) > 1:
        if not nested:
            raise UsageError(f"{key}: {name!r} is a value, not a section")
        inner, value = _replace(current, path[1:], raw, key, text=text)
    elif nested:
        raise UsageError(f"{key}: {name!r} is a section; set its fields ({name}.FIELD=VALUE)")
    else:
        tp = fields[name]
        parsed = raw if not text else (raw if _takes_text(tp) else _parse_text(raw))
        if text and isinstance(parsed, str) and parsed.lower() in ("none", "null"):
            parsed = None
        value = inner = _coerce(parsed, tp, key)
    try:
        return dataclasses.replace(config, **{name: inner}), value
    except (TypeError, ValueError) as err:
        raise UsageError(f"{key}: {err}") from None


def _flatten(table: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for k, v in table.items():
        if isinstance(v, dict):
            out += _flatten(v, f"{prefix}{k}.")
        else:
            out.append((prefix + k, v))
    return out


def _read_config_file(path: str) -> dict[str, Any]:
    p = Path(path).expanduser()
    try:
        with open(p, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise UsageError(f"--config: no such file: {str(p)!r}") from None
    except IsADirectoryError:
        raise UsageError(f"--config must be a TOML file, got the folder {str(p)!r}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"--config: cannot read {str(p)!r}: {err}") from None
    except tomllib.TOMLDecodeError as err:
        raise UsageError(f"--config {str(p)!r} is not valid TOML: {err}") from None


def apply_overrides(
    config: Any, table: dict[str, Any], sets: list[str], *, name: str
) -> tuple[Any, dict[str, Any]]:
    """``config`` with the values of a TOML ``table`` and then of ``--set KEY=VALUE`` applied.

    Keys are dotted paths into nested dataclasses (``train.epochs``); values are typed
    from the fields' annotations and then validated by the dataclasses themselves. In
    the table, a section named after the study (``[hash-encoder]``) applies to that
    study only; sections named after other studies are skipped.

    Returns:
        the new config and the overrides as ``{dotted key: value}`` (for ``results.json``).

    Examples:
        >>> @dataclasses.dataclass(frozen=True)
        ... class Config:
        ...     n_seeds: int = 2
        ...     widths: tuple[int, ...] = (8,)
        >>> apply_overrides(Config(), {}, ["widths=[4, 16]"], name="demo")
        (Config(n_seeds=2, widths=(4, 16)), {'widths': (4, 16)})
    """
    items: list[tuple[str, Any, bool, str]] = []
    for key, value in table.items():
        if key in REGISTRY or key in ABOUT:
            if key == name and isinstance(value, dict):
                items += [(k, v, False, f"--config {k}") for k, v in _flatten(value)]
            continue
        pairs = _flatten(value, f"{key}.") if isinstance(value, dict) else [(key, value)]
        items += [(k, v, False, f"--config {k}") for k, v in pairs]
    seen: set[str] = set()
    for item in sets:
        key, eq, text = item.partition("=")
        key = key.strip()
        if not eq or not key:
            raise UsageError(f"--set expects KEY=VALUE, got {item!r}")
        if key in seen:
            raise UsageError(f"--set {key} is given twice")
        seen.add(key)
        items.append((key, text.strip(), True, f"--set {key}"))
    overrides: dict[str, Any] = {}
    for key, value, from_text, label in items:
        config, typed = _replace(config, key.split("."), value, label, text=from_text)
        overrides[key] = typed
    return config, overrides


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


def _print_summary(name: str, summary: Any) -> None:
    if isinstance(summary, list):  # tidy records: statistic, factors, mean, low, high, n
        rows = {}
        for r in summary:
            factors = ", ".join(f"{k}={v}" for k, v in (r.get("factors") or {}).items())
            rows[f"{r.get('statistic')}" + (f" ({factors})" if factors else "")] = r
        summary = rows
    print(f"\n{name}: summary (mean [interval across seeds] (seeds))")
    width = max((len(k) for k in summary), default=0)
    for key, value in summary.items():
        print(f"  {key:<{width}}  {_fmt(value)}")


def _existing_result(path: Path) -> str:
    """``"none"``, ``"complete"`` or ``"incomplete"`` for an existing ``results.json``."""
    if not path.exists():
        return "none"
    try:
        payload = read_json(path)
    except (OSError, CorruptFileError):
        return "incomplete"
    return "complete" if payload.get("status") == "complete" else "incomplete"


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


def _config_for(
    name: str, module: Any, args: argparse.Namespace, table: dict[str, Any]
) -> tuple[Any, dict[str, Any]]:
    """The experiment's Config with the command-line options applied (validated)."""
    fields = {f.name for f in dataclasses.fields(module.Config)}
    changes: dict[str, Any] = {}
    if args.seeds is not None:
        changes["n_seeds"] = args.seeds
    if args.data is not None:
        if "data" not in fields:
            if args.experiment != "all":
                raise UsageError(f"--data is not used by {name}: it has its own data set-up")
        else:
            changes["data"] = args.data
            if args.data_dir is not None:
                changes["data_root"] = str(args.data_dir)
            if args.no_download:
                changes["download"] = False
    try:
        config = module.Config.quick() if args.quick else module.Config()
        config = dataclasses.replace(config, **{k: v for k, v in changes.items() if k in fields})
    except (TypeError, ValueError) as err:
        raise UsageError(f"{name}: {err}") from err
    return apply_overrides(config, table, args.set, name=name)


def _plan(args: argparse.Namespace) -> list[tuple[str, Any, Any, dict[str, Any], Path]]:
    """Check every option and build every config before any work."""
    if args.data is None:
        for flag, given in (
            ("--data-dir", args.data_dir is not None),
            ("--no-download", args.no_download),
        ):
            if given:
                raise UsageError(f"{flag} applies to --data NAME (mnist, cifar10, ...); add --data")
    for option, dataset in (("mnist", "mnist"), ("cifar10", "cifar10")):
        if getattr(args, option) is not None:
            raise UsageError(
                f"--{option} PATH is replaced by --data {dataset} --data-dir DIR, which reads "
                f"(or downloads and verifies) the files in DIR/{dataset}/"
            )
    checks = importlib.import_module("hamgeo._checks")
    checks.check_seed(args.seed, "--seed")
    if args.seeds is not None:
        checks.check_positive_int(args.seeds, "--seeds", maximum=MAX_SEEDS)
    if args.data_dir is not None:
        root = Path(args.data_dir).expanduser()
        if root.exists() and not root.is_dir():
            raise UsageError(f"--data-dir must be a folder, got the file {str(root)!r}")
    table = _read_config_file(args.config) if args.config is not None else {}
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
    out = Path(args.out).expanduser()
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out must be a folder, got the existing file {str(out)!r}")
    plan = []
    for name in names:  # every config is valid before anything is created
        module = importlib.import_module(available[name])
        config, overrides = _config_for(name, module, args, table)
        folder = out / name
        if _existing_result(folder / _RESULTS) == "complete" and not args.force:
            raise UsageError(
                f"{folder / _RESULTS} holds a finished run; pass --force to replace it "
                "or --out to write elsewhere"
            )
        plan.append((name, module, config, overrides, folder))
    _check_out(args.out)  # made (if missing) only for a command that will run
    return plan


def _user_errors() -> tuple[type[BaseException], ...]:
    """Errors a run ends with for a user's reason (missing or bad data files, a held lock)."""
    data = importlib.import_module("hamgeo.data")
    found = (getattr(data, n, None) for n in ("ChecksumError", "DownloadError"))
    return (OSError, LockedError, CorruptFileError, *(e for e in found if isinstance(e, type)))


def _payload(result: Any, name: str, overrides: dict[str, Any], run: dict[str, Any]) -> Any:
    """The content of ``results.json``: the study's document plus what the command knows."""
    payload = to_jsonable(result.to_dict())
    payload.setdefault("experiment", name)
    payload["overrides"] = to_jsonable(overrides)
    if "schema_version" in payload:  # the versioned schema: run details go under "extra"
        payload.setdefault("extra", {})["run"] = run
    else:
        payload["run"] = run
    payload["status"] = "complete"
    return payload


def _print_findings(result: Any) -> bool:
    findings = getattr(result, "findings", None)
    try:
        module = importlib.import_module("hamgeo.experiments.findings")
    except ImportError:
        return False
    if not findings or not hasattr(module, "format_findings"):
        return False
    finding_type = getattr(module, "Finding", None)
    if finding_type is not None and not all(isinstance(f, finding_type) for f in findings):
        return False  # a study still on the old result layout: print its summary instead
    print()
    print(module.format_findings(findings))
    return True


def _reproduce_one(
    name: str, module: Any, config: Any, overrides: dict[str, Any], folder: Path, args: Any
) -> None:
    import jax  # heavy: only once a run starts

    results = folder / _RESULTS
    with folder_lock(folder):
        state = _existing_result(results)
        if state != "none":
            # never leave an old results.json beside new figures of a run that may fail
            kept = results.with_name(f"results.{state}-{time.strftime('%Y%m%d-%H%M%S')}.json")
            results.rename(kept)
            print(f"[{name}] kept the previous {state} results as {kept.name}")
        n_seeds = getattr(config, "n_seeds", 1)
        sizes = f"{'quick' if args.quick else 'default'} sizes"
        if overrides:
            sizes += f" with {len(overrides)} override(s): {', '.join(sorted(overrides))}"
        print(f"[{name}] running ({sizes}, seed {args.seed}, {n_seeds} seed(s))", flush=True)
        start = time.perf_counter()
        result = module.run(config, jax.random.key(args.seed))
        elapsed = time.perf_counter() - start
        figures = [str(p) for p in module.plot(result, folder)]
        run = {
            "seed": args.seed,
            "n_seeds": n_seeds,
            "quick": bool(args.quick),
            "elapsed_s": round(elapsed, 2),
            "hamgeo_version": __version__,
            "jax_version": jax.__version__,
            "backend": jax.default_backend(),
            "figures": [Path(f).name for f in figures],
        }
        payload = _payload(result, name, overrides, run)
        atomic_write_json(results, payload, overwrite=True)  # the old one was moved aside
    if not _print_findings(result):
        _print_summary(name, payload.get("summary", {}))
    if args.quick:
        print(f"[{name}] --quick: few seeds and small sizes, so most verdicts are inconclusive")
    print(f"[{name}] done in {elapsed:.1f} s; results in {results}")
    for fig in figures:
        print(f"  figure: {fig}")


def _cmd_reproduce(args: argparse.Namespace) -> int:
    try:
        plan = _plan(args)
    except (UsageError, TypeError, ValueError) as err:
        return _error(err)
    user_errors = _user_errors()
    for name, module, config, overrides, folder in plan:
        try:
            _reproduce_one(name, module, config, overrides, folder, args)
        except UsageError as err:
            return _error(err)
        except user_errors as err:
            return _error(f"[{name}] {err}")
    return 0


# ----------------------------------------------------------------------------- info, tune, bench


def _cmd_info(args: argparse.Namespace) -> int:
    del args
    import importlib.metadata as md

    import jax

    native = importlib.import_module("hamgeo.hamming._native")
    print(f"hamgeo {__version__}")
    print(f"python {platform.python_version()} on {platform.platform()}")
    for dist in ("jax", "jaxlib", "flax", "optax", "ott-jax", "numpy", "scipy"):
        try:
            print(f"{dist} {md.version(dist)}")
        except md.PackageNotFoundError:
            print(f"{dist} not installed")
    print(f"native CPU kernels: {native.describe()}")
    dispatch = importlib.import_module("hamgeo.hamming._dispatch")
    if hasattr(dispatch, "info_lines"):
        for line in dispatch.info_lines():
            print(line)
    print(f"backend: {jax.default_backend()}")
    print(f"process {jax.process_index()} of {jax.process_count()}")
    for device in jax.devices():
        print(f"device: {device.id} {device.platform} {device.device_kind}")
    return 0


def _cmd_tune(args: argparse.Namespace) -> int:
    del args
    dispatch = importlib.import_module("hamgeo.hamming._dispatch")
    if not hasattr(dispatch, "tune"):
        return _error("this build has no measured dispatch")
    dispatch.tune()
    for line in dispatch.info_lines():
        print(line)
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    bench = importlib.import_module("hamgeo.bench")  # the suites import their peers lazily
    return int(bench.main(list(args.bench_args)))


# ----------------------------------------------------------------------------- the parser


def _int_option(text: str) -> int:
    """Parse a base-10 integer option (its range is checked later, with its name)."""
    try:
        return int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


class _Once(argparse.Action):
    """An option that may be given once (a second value is refused, not silently used)."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option: Any = None) -> None:
        seen = namespace.__dict__.setdefault("_given", set())
        if self.dest in seen:
            parser.error(f"{'/'.join(self.option_strings)} is given twice")
        seen.add(self.dest)
        setattr(namespace, self.dest, True if self.nargs == 0 else values)


def _flag(parser: argparse.ArgumentParser, name: str, help: str) -> None:
    parser.add_argument(name, action=_Once, nargs=0, default=False, help=help)


def _epilog() -> str:
    width = max(map(len, ABOUT))
    lines = ["studies (wall time on a quiet 2-core CPU):"]
    for name in REGISTRY:
        about, times = ABOUT.get(name, ("", ""))
        lines.append(f"  {name:<{width}}  {about}")
        if times:
            lines.append(f"  {'':<{width}}  ({times})")
    lines += [
        "",
        "examples:",
        "  hamgeo reproduce all --quick",
        "  hamgeo reproduce hash-encoder --set n_seeds=3 --set widths='[64, 256]'",
        "  hamgeo reproduce discriminability --config my.toml   # TOML, [section] per sub-config",
    ]
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hamgeo", description="Geometry of binarized neural-network activations."
    )
    parser.add_argument("--version", action="version", version=f"hamgeo {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    rep = sub.add_parser(
        "reproduce",
        help="reproduce a paper's experiments and figures",
        description="Run a study, write OUT/NAME/results.json and its figures, print its findings.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rep.add_argument(
        "experiment",
        choices=[*REGISTRY, "all"],
        metavar="STUDY",
        help=f"one of {', '.join([*REGISTRY, 'all'])} (see below)",
    )
    _flag(rep, "--quick", "small sizes: minutes on a laptop (verdicts mostly inconclusive)")
    rep.add_argument(
        "--out", action=_Once, default="results", help="output folder (default: results)"
    )
    rep.add_argument(
        "--seed", action=_Once, type=_int_option, default=0, help="base random seed in [0, 2**32)"
    )
    rep.add_argument(
        "--seeds",
        action=_Once,
        type=_int_option,
        default=None,
        help="independent seeds, each retraining its networks (default: the study's)",
    )
    rep.add_argument(
        "--data",
        action=_Once,
        default=None,
        help="data set for the studies that take one: digits, mnist1d, mnist, fashion-mnist, "
        "cifar10 (downloaded on first use unless --no-download)",
    )
    rep.add_argument(
        "--data-dir", action=_Once, default=None, help="data cache folder (with --data)"
    )
    _flag(rep, "--no-download", "never download; fail if files are missing (with --data)")
    rep.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="change a config value, typed from the config (dotted for sub-configs: "
        "train.epochs=5; lists as [1, 2]); repeatable",
    )
    rep.add_argument(
        "--config",
        action=_Once,
        default=None,
        metavar="FILE",
        help="config values from a TOML file",
    )
    _flag(rep, "--force", "replace a finished run's results")
    # replaced by --data/--data-dir; kept only to say so
    rep.add_argument("--cifar10", default=None, help=argparse.SUPPRESS)
    rep.add_argument("--mnist", default=None, help=argparse.SUPPRESS)
    rep.set_defaults(func=_cmd_reproduce)
    info = sub.add_parser("info", help="versions, devices, native kernels and the dispatch table")
    info.set_defaults(func=_cmd_info)
    tune = sub.add_parser("tune", help="re-measure the Hamming dispatch table on this machine")
    tune.set_defaults(func=_cmd_tune)
    bench = sub.add_parser(
        "bench", help="time hamgeo against its peers (pip install 'hamgeo[bench]' for them)"
    )
    bench.add_argument("bench_args", nargs=argparse.REMAINDER)
    bench.set_defaults(func=_cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``hamgeo`` command; returns the exit status.

    Host-only: a command-line program.

    Examples:
        >>> main(["reproduce", "discriminability", "--seed", "-1"])
        2
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv[:1] == ["bench"]:  # everything after `bench` is hamgeo.bench's
            return _cmd_bench(argparse.Namespace(bench_args=argv[1:]))
        args = _parser().parse_args(argv)
        return int(args.func(args))
    except KeyboardInterrupt:
        print("hamgeo: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
