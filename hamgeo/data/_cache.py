"""Where downloaded data sets live, and the SHA-256 of each cached file, computed once.

A folder's ``.checksums.json`` remembers the SHA-256 of each file it holds, keyed by
the file's size, modification time and inode: a file is hashed again only when one
of them changes (a download or a copy always changes them). The record is a cache
of measurements, not a verdict: comparing with the expected checksum happens on
every load.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from hamgeo._checks import describe

__all__ = ["cache_dir"]

ENV_ROOT = "HAMGEO_DATA"
STAMP = ".checksums.json"
_CHUNK = 1 << 20


def _default_root() -> Path:
    """The platform's user cache folder, plus ``hamgeo/data``."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "hamgeo" / "data"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "hamgeo" / "data"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "hamgeo" / "data"


def cache_dir(name: str | None = None, *, root: str | os.PathLike[str] | None = None) -> Path:
    """The folder where a downloaded data set is cached (it need not exist yet).

    The root is ``root`` if given, else the environment variable ``HAMGEO_DATA``, else
    the platform's user cache folder (``$XDG_CACHE_HOME/hamgeo/data`` or
    ``~/.cache/hamgeo/data`` on Linux, ``~/Library/Caches/hamgeo/data`` on macOS,
    ``hamgeo/data`` under ``%LOCALAPPDATA%`` on Windows). Each data set has its own subfolder,
    named as in :data:`DATASETS` (``mnist``, ``fashion-mnist``, ``cifar10``).

    Args:
        name: a data set's name (``"fashion_mnist"`` is read as ``"fashion-mnist"``),
            or ``None`` for the root itself.
        root: the cache root; overrides ``HAMGEO_DATA``.

    Returns:
        An absolute path.

    Examples:
        >>> cache_dir("mnist", root="/data/cache").as_posix()
        '/data/cache/mnist'
    """
    if root is None:
        env = os.environ.get(ENV_ROOT, "").strip()
        base = Path(env).expanduser() if env else _default_root()
    elif isinstance(root, str | os.PathLike):
        base = Path(root).expanduser()
    else:
        raise TypeError(f"`root` must be a path (str or os.PathLike) or None, got {describe(root)}")
    base = base.absolute()
    if name is None:
        return base
    if not isinstance(name, str):
        raise TypeError(f"`name` must be a data set's name (a string), got {describe(name)}")
    return base / name.replace("_", "-")


def _key(stat: os.stat_result) -> list[int]:
    return [stat.st_size, stat.st_mtime_ns, stat.st_ino]


def _read_stamp(folder: Path) -> dict[str, Any]:
    try:
        record = json.loads((folder / STAMP).read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _write_stamp(folder: Path, record: dict[str, Any]) -> None:
    """Write the record atomically; a read-only folder just keeps no record."""
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f"{STAMP}.", suffix=".part")
        with os.fdopen(fd, "w") as f:
            json.dump(record, f, indent=1, sort_keys=True)
        os.replace(tmp, folder / STAMP)
    except OSError:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, streamed in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def cached_sha256(folder: Path, filenames: list[str]) -> dict[str, str]:
    """The SHA-256 of each file in ``folder``, from ``.checksums.json`` where still valid."""
    record = _read_stamp(folder)
    out: dict[str, str] = {}
    changed = False
    for filename in filenames:
        path = folder / filename
        key = _key(path.stat())
        entry = record.get(filename)
        if isinstance(entry, dict) and entry.get("key") == key and "sha256" in entry:
            out[filename] = str(entry["sha256"])
            continue
        digest = sha256_of(path)
        if _key(path.stat()) == key:  # not changed while hashing
            record[filename] = {"key": key, "sha256": digest}
            changed = True
        out[filename] = digest
    if changed:
        _write_stamp(folder, record)
    return out


def remember_sha256(folder: Path, filename: str, digest: str) -> None:
    """Record the SHA-256 of a file just written (a verified download)."""
    record = _read_stamp(folder)
    record[filename] = {"key": _key((folder / filename).stat()), "sha256": digest}
    _write_stamp(folder, record)
