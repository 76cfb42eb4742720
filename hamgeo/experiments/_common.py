"""Helpers shared by the reproductions: progress bars, JSON, figure style."""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

__all__ = [
    "figure_style",
    "progress",
    "save_figure",
    "to_jsonable",
]

T = TypeVar("T")


def progress(iterable: Iterable[T], desc: str, total: int | None = None) -> Iterator[T]:
    """Wrap ``iterable`` in a tqdm bar when a person watches (stderr is a terminal)."""
    if not sys.stderr.isatty():
        yield from iterable
        return
    from tqdm.auto import tqdm

    yield from tqdm(iterable, desc=desc, total=total, leave=False)


def to_jsonable(obj: Any) -> Any:
    """Convert NumPy / JAX scalars and arrays, dataclasses and tuples into JSON types.

    Non-finite floats become ``None`` (JSON has no NaN), so a file always parses.

    Examples:
        >>> import numpy as np
        >>> to_jsonable({"a": np.float32(0.5), "b": np.arange(2), "c": float("nan")})
        {'a': 0.5, 'b': [0, 1], 'c': None}
    """
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if hasattr(obj, "__array__"):
        return to_jsonable(np.asarray(obj).tolist())
    return obj


@contextmanager
def figure_style():
    """Matplotlib settings for publication-quality figures (readable fonts, no clutter)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    rc = {
        "figure.dpi": 100,
        "savefig.dpi": 200,
        "savefig.bbox": "tight",
        "font.size": 11,
        "axes.titlesize": 12,
        "axes.labelsize": 11,
        "legend.fontsize": 9,
        "xtick.labelsize": 9,
        "ytick.labelsize": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "lines.linewidth": 1.8,
    }
    with plt.rc_context(rc):
        yield plt


def save_figure(fig: Any, out_dir: str | Path, name: str) -> str:
    """Save ``fig`` as ``out_dir/name.png``, close it, and return the path."""
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.png"
    fig.savefig(path)
    plt.close(fig)
    return str(path)
