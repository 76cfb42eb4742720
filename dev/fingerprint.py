"""Same seed, same numbers: fingerprint the reproductions before and after a refactor.

A refactor must not move a single number. This script runs every study of
``hamgeo.experiments.REGISTRY`` at its ``--quick`` size with key 0 (the sizes ``make demo``
runs), hashes ``results.json``'s content without ``provenance`` (the commit, versions and
CPU, which a refactor changes by definition) and prints one SHA-256 per study::

    .venv/bin/python dev/fingerprint.py                 # this working tree
    .venv/bin/python dev/fingerprint.py --base HEAD     # ... and HEAD, compared

With ``--base REV`` the same runs are made on ``REV`` (checked out with ``git worktree``
into a temporary folder, sharing this tree's built native kernel) in a separate process,
and the script exits 1 naming the studies and the first differing fields where the two
disagree. Compare on one machine: XLA reduces floats in another order on another CPU, so
fingerprints are not portable between machines, only between commits.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def canonical(result: Any) -> dict[str, Any]:
    """``results.json``'s content without ``provenance``, as plain JSON values."""
    content = json.loads(json.dumps(result.to_dict(), sort_keys=True, allow_nan=True))
    content.pop("provenance", None)
    return content


def digest(content: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON text (floats as Python's shortest round-trip repr)."""
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()


def run_studies(names: list[str]) -> dict[str, dict[str, Any]]:
    """Each study's canonical content at its quick size, key 0."""
    import importlib
    import warnings

    import jax

    from hamgeo.experiments import REGISTRY

    warnings.simplefilter("ignore")  # the numbers are the point here, not sklearn's notes
    out = {}
    for name in names:
        module = importlib.import_module(REGISTRY[name])
        result = module.run(module.Config.quick(), jax.random.key(0))
        out[name] = canonical(result)
    return out


def first_differences(a: Any, b: Any, path: str = "", limit: int = 5) -> list[str]:
    """Up to ``limit`` JSON paths where ``a`` and ``b`` differ, with both values."""
    found: list[str] = []

    def walk(x: Any, y: Any, where: str) -> None:
        if len(found) >= limit:
            return
        if isinstance(x, dict) and isinstance(y, dict):
            for key in sorted(x.keys() | y.keys()):
                walk(x.get(key, "<absent>"), y.get(key, "<absent>"), f"{where}/{key}")
        elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
            for i, (u, v) in enumerate(zip(x, y, strict=True)):
                walk(u, v, f"{where}[{i}]")
        elif x != y and not (x != x and y != y):  # NaN equals NaN here
            found.append(f"{where}: {str(x)[:80]} != {str(y)[:80]}")

    walk(a, b, path)
    return found


def _at_base(rev: str, names: list[str]) -> dict[str, dict[str, Any]]:
    """Run the studies on ``rev`` in a temporary worktree, in another process."""
    tmp = Path(tempfile.mkdtemp(prefix="hamgeo-fingerprint-"))
    tree = tmp / "tree"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), rev],
        check=True,
        capture_output=True,
    )
    try:
        for lib in (ROOT / "hamgeo").glob("_hamming_ffi*.so"):  # the same built kernel
            shutil.copy2(lib, tree / "hamgeo" / lib.name)
        out = tmp / "base.json"
        code = (
            "import json, sys; sys.path.insert(0, sys.argv[1]);"
            "sys.path.insert(0, sys.argv[2]); import fingerprint as f;"
            "json.dump(f.run_studies(sys.argv[4:]), open(sys.argv[3], 'w'))"
        )
        script_dir = str(Path(__file__).resolve().parent)
        subprocess.run(
            [sys.executable, "-c", code, str(tree), script_dir, str(out), *names],
            check=True,
            cwd=tree,
        )
        return json.loads(out.read_text())
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """Print the fingerprints; with ``--base``, compare and exit 1 on a difference."""
    from hamgeo.experiments import REGISTRY

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="a git revision to compare with (e.g. HEAD)")
    parser.add_argument(
        "--study",
        action="append",
        choices=sorted(REGISTRY),
        help="only this study (repeatable; default: all)",
    )
    args = parser.parse_args(argv)
    names = args.study or list(REGISTRY)
    here = run_studies(names)
    base = _at_base(args.base, names) if args.base else None
    differ = []
    for name in names:
        line = f"{name:18s} {digest(here[name])}"
        if base is not None:
            same = digest(base[name]) == digest(here[name])
            line += f"  {args.base}: {digest(base[name])}  {'same' if same else 'DIFFERENT'}"
            if not same:
                differ.append(name)
        print(line)
        if name in differ:
            for d in first_differences(base[name], here[name]):  # type: ignore[index]
                print(f"    {d}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
