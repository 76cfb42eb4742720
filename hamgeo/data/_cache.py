"""Where downloaded data sets live (the one folder hamgeo writes data into).

No hash is cached: the loaders hash the bytes they parse anyway (see ``_sources``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hamgeo._checks import describe

__all__ = ["cache_dir"]

ENV_ROOT = "HAMGEO_DATA"


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
    named as in [`DATASETS`][hamgeo.data.DATASETS] (``mnist``, ``fashion-mnist``, ``cifar10``).

    Args:
        name: a data set's name (``"fashion_mnist"`` is read as ``"fashion-mnist"``),
            or ``None`` for the root itself.
        root: the cache root; overrides ``HAMGEO_DATA``.

    Returns:
        An absolute path.

    Host-only: it resolves a path.

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
