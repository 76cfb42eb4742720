"""Files, locks and progress bars: the one place hamgeo touches the file system.

A leaf (it imports nothing of hamgeo). Three rules hold for every file hamgeo writes:

- **Atomic.** A file is written to a temporary file in the same folder, flushed to disk
  and renamed into place: a reader sees the old complete file or the new complete one,
  never half of one; a failed write leaves no temporary file behind.
- **Nothing the user has is overwritten without being asked.** Every writer takes a
  keyword-only ``overwrite`` with no default; ``overwrite=False`` on an existing path
  raises ``FileExistsError`` naming it (hamgeo's own caches pass ``overwrite=True``).
  Without overwrite the final step is a hard link, which fails rather than replaces, so
  even a file that appears meanwhile is kept.
- **A symlink is followed, never replaced:** writing to a link writes its target.

Files hamgeo reads back (caches, results) are untrusted input: [read_json][hamgeo._io.read_json]
raises [CorruptFileError][hamgeo._io.CorruptFileError] (a ``ValueError``) for anything that
is not a JSON object of bounded size and depth, never ``RecursionError`` or ``MemoryError``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import math
import os
import secrets
import socket
import stat
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

try:  # advisory locks; absent on Windows, where folder_lock only records the holder
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "LOCK_NAME",
    "CorruptFileError",
    "LockedError",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "folder_lock",
    "progress",
    "read_json",
    "to_jsonable",
]

T = TypeVar("T")
_Writer = TypeVar("_Writer", bound=Callable[..., Path])

#: The lock file [folder_lock][hamgeo._io.folder_lock] holds in a folder.
LOCK_NAME = ".hamgeo.lock"
_MAX_JSON_DEPTH = 64
_MAX_JSON_BYTES = 64 * 2**20


class CorruptFileError(ValueError):
    """A file hamgeo reads back is not what hamgeo writes there (unparsable, too deep, wrong type).

    Attributes:
        path: the file.
    """

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = Path(path)
        super().__init__(f"{str(self.path)!r} is corrupt: {reason}")


class LockedError(RuntimeError):
    """Another live process holds the folder's lock.

    Attributes:
        folder: the locked folder.
        holder: ``"host pid"`` of the process holding it, or ``"?"`` when unknown.
    """

    def __init__(self, folder: Path, holder: str) -> None:
        self.folder = folder
        self.holder = holder
        super().__init__(
            f"another hamgeo process ({holder}) is using {str(folder)!r}; wait for it to finish"
        )


def _as_path(path: Any, name: str = "path") -> Path:
    if not isinstance(path, str | os.PathLike) or isinstance(path, bytes):
        raise TypeError(f"`{name}` must be a path (str or os.PathLike), got {type(path).__name__}")
    return Path(path).expanduser()


def _check_overwrite(overwrite: Any) -> bool:
    if not isinstance(overwrite, bool):
        raise TypeError(
            f"`overwrite` must be a bool, got {overwrite!r} ({type(overwrite).__name__})"
        )
    return overwrite


def _target(path: Path) -> Path:
    """Where a write to ``path`` lands: a symlink's final target, else ``path`` itself."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _refuse_existing(target: Path, path: Path) -> None:
    link = "" if target == path else f" (a link to {str(target)!r})"
    raise FileExistsError(f"{str(path)!r}{link} exists; pass overwrite=True to replace it")


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a folder be opened
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, overwrite: bool) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it onto ``path`` when the block succeeds.

    The block writes the temporary file (any way it likes: ``np.save``, ``fig.savefig``,
    ``open``). On success it is flushed and renamed onto ``path``; on an exception it is
    removed and ``path`` is untouched. Parent folders are made. Writing to a symlink
    writes its target; an existing file's permission bits are kept.

    Args:
        path: the file to write.
        overwrite: replace an existing file. ``False`` raises ``FileExistsError`` if
            ``path`` exists, before the block runs and again (atomically) at the end.

    Yields:
        the temporary path to write.

    Raises:
        FileExistsError: ``path`` exists and ``overwrite`` is false.
        IsADirectoryError: ``path`` is a folder.

    Host-only: it writes files.

    Examples:
        >>> import tempfile
        >>> target = Path(tempfile.mkdtemp()) / "x.txt"
        >>> with atomic_path(target, overwrite=False) as tmp:
        ...     _ = tmp.write_text("done")
        >>> target.read_text(), sorted(p.name for p in target.parent.iterdir())
        ('done', ['x.txt'])
    """
    given = _as_path(path)
    overwrite = _check_overwrite(overwrite)
    target = _target(given)
    if target.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder, expected a file path", str(given))
    mode = None
    if target.exists():
        if not overwrite:
            _refuse_existing(target, given)
        mode = stat.S_IMODE(target.stat().st_mode)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    # os.open applies the umask like any new file (mkstemp would make it 0600)
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    try:
        if mode is not None:
            os.chmod(tmp, mode)
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        if overwrite:
            os.replace(tmp, target)
        else:
            _link_no_clobber(tmp, target, given)
        _fsync_folder(target.parent)
    finally:
        tmp.unlink(missing_ok=True)


def _link_no_clobber(tmp: Path, target: Path, given: Path) -> None:
    """Put ``tmp`` at ``target`` unless something is there (hard link: atomic, never replaces)."""
    try:
        os.link(tmp, target)
    except FileExistsError:
        _refuse_existing(target, given)
    except OSError:  # a file system without hard links: check, then rename
        if target.exists():
            _refuse_existing(target, given)
        os.replace(tmp, target)


_WRITER_DOC = """
    Args:
        path: the file to write.
        {argument}
        overwrite: replace an existing file (else ``FileExistsError``).

    Returns:
        ``path`` as a ``Path``.

    Host-only: it writes files.

    Examples:"""


def _writer(argument: str) -> Callable[[_Writer], _Writer]:
    """Complete a writer's docstring with the Args, Returns and contract all writers share.

    ``argument`` documents what is written (``"name: what it is."``); the text goes
    before the docstring's ``Examples:``.
    """

    def decorate(fn: _Writer) -> _Writer:
        if fn.__doc__ is not None:  # None under python -OO
            head, examples = fn.__doc__.split("\n    Examples:")
            fn.__doc__ = head.rstrip() + "\n" + _WRITER_DOC.format(argument=argument) + examples
        return fn

    return decorate


@_writer("data: the bytes.")
def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, overwrite: bool) -> Path:
    """Write ``data`` to ``path`` atomically (see [atomic_path][hamgeo._io.atomic_path]).

    Examples:
        >>> import tempfile
        >>> p = atomic_write_bytes(Path(tempfile.mkdtemp()) / "b", b"ab", overwrite=False)
        >>> p.read_bytes()
        b'ab'
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"`data` must be bytes, got {type(data).__name__}")
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_bytes(data)
    return _as_path(path)


@_writer("text: the text.")
def atomic_write_text(path: str | os.PathLike[str], text: str, *, overwrite: bool) -> Path:
    """Write ``text`` to ``path`` atomically as UTF-8.

    Examples:
        >>> import tempfile
        >>> atomic_write_text(Path(tempfile.mkdtemp()) / "t.txt", "hi", overwrite=True).read_text()
        'hi'
    """
    if not isinstance(text, str):
        raise TypeError(f"`text` must be a str, got {type(text).__name__}")
    return atomic_write_bytes(path, text.encode("utf-8"), overwrite=overwrite)


@_writer("obj: dicts, lists, strings, finite numbers, bools and ``None``.")
def atomic_write_json(path: str | os.PathLike[str], obj: Any, *, overwrite: bool) -> Path:
    """Write ``obj`` (JSON types only; NaN refused) to ``path`` atomically, indented.

    Examples:
        >>> import tempfile
        >>> p = atomic_write_json(Path(tempfile.mkdtemp()) / "r.json", {"a": [1]}, overwrite=False)
        >>> read_json(p)
        {'a': [1]}
    """
    text = json.dumps(obj, indent=2, allow_nan=False) + "\n"  # fails before any file is made
    return atomic_write_text(path, text, overwrite=overwrite)


def to_jsonable(obj: Any) -> Any:
    """``obj`` in JSON types: dataclasses, mappings, sequences, paths, NumPy / JAX values.

    Non-finite floats become ``None`` (JSON has no NaN), so the file always parses.
    Arrays and NumPy / JAX scalars are recognised by their ``tolist`` / ``item``
    methods, so this leaf imports neither NumPy nor JAX.

    Host-only: converts concrete values.

    Examples:
        >>> import numpy as np
        >>> to_jsonable({"a": np.float32(0.5), "b": np.arange(2), "c": (float("nan"), Path("p"))})
        {'a': 0.5, 'b': [0, 1], 'c': [None, 'p']}
    """
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, bool | int | str) or obj is None:
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if hasattr(obj, "tolist"):  # NumPy / JAX arrays and scalars
        return to_jsonable(obj.tolist())
    if hasattr(obj, "item"):
        return to_jsonable(obj.item())
    return obj


def _depth_exceeds(obj: Any, limit: int) -> bool:
    """Whether ``obj`` nests deeper than ``limit`` (iterative: no recursion to exhaust)."""
    stack: list[tuple[Any, int]] = [(obj, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item if isinstance(v, dict | list))
    return False


def _no_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def read_json(
    path: str | os.PathLike[str],
    *,
    max_depth: int = _MAX_JSON_DEPTH,
    max_bytes: int = _MAX_JSON_BYTES,
) -> dict[str, Any]:
    """The JSON object in ``path``, read as untrusted input.

    Args:
        path: the file.
        max_depth: the deepest nesting of objects / arrays accepted.
        max_bytes: the largest file accepted.

    Returns:
        the object, a ``dict``.

    Raises:
        CorruptFileError: the file is too large, not UTF-8, not JSON (NaN / Infinity
            included), nested deeper than ``max_depth``, or not a JSON object.
        FileNotFoundError: ``path`` does not exist.

    Host-only: it reads files.

    Examples:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "bad.json"
        >>> _ = p.write_text("[" * 100_000)
        >>> read_json(p)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        hamgeo._io.CorruptFileError: '...bad.json' is corrupt: not JSON (nested too deeply)
    """
    p = _as_path(path)
    with open(p, "rb") as f:
        raw = f.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise CorruptFileError(p, f"larger than {max_bytes} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise CorruptFileError(p, f"not UTF-8 text ({err.reason} at byte {err.start})") from None
    try:
        obj = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise CorruptFileError(p, "not JSON (nested too deeply)") from None
    except ValueError as err:
        raise CorruptFileError(p, f"not JSON ({err})") from None
    if not isinstance(obj, dict):
        raise CorruptFileError(p, f"expected a JSON object, got a JSON {type(obj).__name__}")
    if _depth_exceeds(obj, max_depth):
        raise CorruptFileError(p, f"nested deeper than {max_depth} levels")
    return obj


def _holder(lock: Path) -> str:
    try:
        text = lock.read_text(encoding="utf-8", errors="replace").strip()[:200]
    except OSError:
        return "?"
    host, _, pid = text.partition(" ")
    return f"host {host}, pid {pid}" if host and pid else "?"


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike[str], *, timeout: float = 0.0) -> Iterator[Path]:
    """Hold ``folder``'s lock for the block, so two processes never write one folder at once.

    An advisory ``fcntl.flock`` on ``folder/.hamgeo.lock`` (made with the folder if
    missing). The operating system releases it when its process dies, so a killed run
    leaves no stale lock (a leftover file is not a held lock). The file records the
    holder's host and pid for the message of the next process that finds it held, and
    is removed on release.

    Args:
        folder: the folder.
        timeout: seconds to wait for the lock; ``0`` refuses at once.

    Yields:
        the folder as a ``Path``.

    Raises:
        LockedError: another process held the lock for ``timeout`` seconds.

    Host-only: it locks files.

    Examples:
        >>> import tempfile
        >>> with folder_lock(tempfile.mkdtemp()) as held:
        ...     held.is_dir()
        True
    """
    path = _as_path(folder, "folder")
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or not timeout >= 0:
        raise ValueError(f"`timeout` must be a number of seconds >= 0, got {timeout!r}")
    path.mkdir(parents=True, exist_ok=True)
    lock = path / LOCK_NAME
    if fcntl is None:  # pragma: no cover - Windows: unique temporary files + atomic renames
        yield path
        return
    deadline = time.monotonic() + timeout
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if time.monotonic() >= deadline:
                raise LockedError(path, _holder(lock)) from None
            time.sleep(min(0.1, max(deadline - time.monotonic(), 0.0)))
            continue
        if _same_file(fd, lock):
            break
        os.close(fd)  # the holder removed the file as we locked it: lock the new one
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{socket.gethostname()} {os.getpid()}".encode())
        yield path
    finally:
        with contextlib.suppress(OSError):
            lock.unlink()  # while still held, so no one holds a lock on a removed file
        os.close(fd)  # closing releases the lock


def _same_file(fd: int, path: Path) -> bool:
    try:
        now = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (now.st_ino, now.st_dev) == (held.st_ino, held.st_dev)


def progress(
    iterable: Iterable[T] | None = None,
    *,
    total: int | None = None,
    desc: str | None = None,
    enabled: bool = True,
    unit: str = "it",
) -> Any:
    """A tqdm progress bar over ``iterable``, shown only when a person watches.

    With ``enabled=True`` the bar is drawn when stderr is a terminal (or a notebook) and
    is silent in logs and pipes; ``enabled=False`` never draws it. Either way the object
    is a ``tqdm`` (iterate it, or call ``update`` / ``set_postfix`` / ``close``, or use
    it in a ``with`` block), so callers need no branch. ``unit="B"`` counts bytes.

    Args:
        iterable: what to iterate, or ``None`` for a bar updated by hand.
        total: the number of steps (taken from ``len(iterable)`` when it has one).
        desc: the label before the bar.
        enabled: draw the bar (when stderr is a terminal).
        unit: the unit of a step.

    Returns:
        a ``tqdm`` instance.

    Host-only: it writes to the terminal.

    Examples:
        >>> list(progress(range(3), desc="demo", enabled=False))
        [0, 1, 2]
    """
    from tqdm.auto import tqdm

    return tqdm(
        iterable,
        total=total,
        desc=desc,
        disable=None if enabled else True,  # None: tqdm's own rule, draw only on a terminal
        leave=False,
        file=sys.stderr,
        unit=unit,
        unit_scale=unit == "B",
        unit_divisor=1024 if unit == "B" else 1000,
    )
