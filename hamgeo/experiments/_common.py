"""Helpers shared by the reproductions: config checks, progress, JSON, figures, writes."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from hamgeo._checks import check_bool, check_choice, check_float, check_int, describe
from hamgeo.experiments import MAX_SEEDS

__all__ = [
    "Check",
    "Validated",
    "atomic_path",
    "boolean",
    "check_n_seeds",
    "checked",
    "int_at_least",
    "int_tuple",
    "one_of",
    "optional",
    "real",
    "real_tuple",
    "validate_fields",
    "figure_style",
    "progress",
    "save_figure",
    "to_jsonable",
    "write_json_atomic",
]

T = TypeVar("T")

#: A field check: ``check(value, name)`` returns the (normalized) value or raises
#: ``TypeError`` / ``ValueError`` naming the field (the rules of
#: [`hamgeo._checks`][hamgeo._checks]).
Check = Callable[[Any, str], Any]


def checked(default: Any, check: Check) -> Any:
    """A dataclass field with a declarative ``check``, run by ``validate_fields``.

    Examples:
        >>> @dataclasses.dataclass(frozen=True)
        ... class Train(Validated):
        ...     epochs: int = checked(10, int_at_least(1))
        >>> Train(epochs=0)
        Traceback (most recent call last):
        ...
        ValueError: `epochs` must be an integer >= 1, got 0
    """
    return dataclasses.field(default=default, metadata={"check": check})


def validate_fields(obj: Any) -> None:
    """Run every field's declarative check (see ``checked``), storing normalized values."""
    for f in dataclasses.fields(obj):
        check = f.metadata.get("check")
        if check is not None:
            object.__setattr__(obj, f.name, check(getattr(obj, f.name), f.name))


class Validated:
    """A base for dataclasses of ``checked`` fields: construction runs their checks."""

    def __post_init__(self) -> None:
        validate_fields(self)


def check_n_seeds(value: Any, name: str = "n_seeds") -> int:
    """A number of seeds in ``[1, MAX_SEEDS]``, the limit of ``--seeds`` too."""
    return check_int(value, name, minimum=1, maximum=MAX_SEEDS)


def int_at_least(minimum: int, maximum: int | None = None) -> Check:
    """An integer in ``[minimum, maximum]``."""
    return lambda v, n: check_int(v, n, minimum=minimum, maximum=maximum)


def real(
    minimum: float | None = None,
    maximum: float | None = None,
    *,
    open_min: bool = False,
    open_max: bool = False,
) -> Check:
    """A finite real number in the stated (half-)open or closed range."""
    return lambda v, n: check_float(
        v,
        n,
        minimum=minimum,
        maximum=maximum,
        exclusive_minimum=open_min,
        exclusive_maximum=open_max,
    )


def boolean() -> Check:
    """A bool (not an int)."""
    return check_bool


def one_of(options: Iterable[str]) -> Check:
    """One of the string ``options``."""
    opts = tuple(options)
    return lambda v, n: check_choice(value=v, name=n, options=opts)


def optional(check: Check) -> Check:
    """``None`` or what ``check`` accepts."""
    return lambda v, n: None if v is None else check(v, n)


def _tuple_of(item: Check, what: str) -> Check:
    def check(value: Any, name: str) -> tuple[Any, ...]:
        if not isinstance(value, tuple):
            raise TypeError(f"`{name}` must be a non-empty tuple of {what}, got {describe(value)}")
        if not value:
            raise ValueError(f"`{name}` must be a non-empty tuple of {what}, got ()")
        return tuple(item(v, f"{name}[{i}]") for i, v in enumerate(value))

    return check


def int_tuple(minimum: int = 1) -> Check:
    """A non-empty tuple of integers ``>= minimum``."""
    return _tuple_of(int_at_least(minimum), "ints")


def real_tuple(minimum: float | None = None, *, open_min: bool = False) -> Check:
    """A non-empty tuple of real numbers above ``minimum``."""
    return _tuple_of(real(minimum, open_min=open_min), "numbers")


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


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` when the block succeeds.

    Readers never see a half-written file: either the old content or the new, complete
    one. On an exception the temporary file is removed and ``path`` is untouched.

    Examples:
        >>> import tempfile
        >>> target = Path(tempfile.mkdtemp()) / "x.txt"
        >>> with atomic_path(target) as tmp:
        ...     _ = tmp.write_text("done")
        >>> target.read_text(), sorted(p.name for p in target.parent.iterdir())
        ('done', ['x.txt'])
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; results are ordinary files
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_json_atomic(path: str | Path, payload: Any) -> Path:
    """Write ``payload`` (JSON types) to ``path`` atomically, indented, with a final newline."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, sort_keys=False, allow_nan=False) + "\n")
    return Path(path)


def save_figure(fig: Any, out_dir: str | Path, name: str) -> Path:
    """Save ``fig`` as ``out_dir/name.png`` atomically, close it, and return the path."""
    import matplotlib.pyplot as plt

    path = Path(out_dir) / f"{name}.png"
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png")
    finally:
        plt.close(fig)
    return path
