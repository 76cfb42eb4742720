"""Downloads that never leave a file that looks complete.

Each file is streamed into a uniquely named temporary file in the destination
folder (``.<name>.<random>.part``), hashed on the way, checked against its expected
size and SHA-256, flushed to disk and only then renamed to its final name with
``os.replace`` (atomic on POSIX and Windows). Whatever goes wrong (a refused
connection, a truncated transfer, a wrong checksum, Ctrl-C), the temporary file is
removed. Downloads into one folder are serialized by an advisory lock
(``fcntl.flock`` on ``<folder>/.lock``), so two processes asking at once end with one
good copy: the second finds the first's file when it gets the lock. Where ``fcntl``
does not exist (Windows), the unique temporary name, the check and the atomic rename
still guarantee that the final name only ever holds a verified file.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import http.client
import os
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from hamgeo._checks import describe
from hamgeo._version import __version__
from hamgeo.data._cache import ENV_ROOT

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["DownloadError"]

ENV_MIRRORS = "HAMGEO_DATA_MIRRORS"
_SCHEMES = ("http", "https", "file")
_CHUNK = 1 << 20
LOCK = ".lock"


class DownloadError(OSError):
    """No URL gave a verified copy of a file; the message lists each URL and its failure."""


class _MirrorFailed(Exception):
    """One URL failed (unreachable, truncated, wrong checksum); try the next one."""


def _check_base(base: Any, where: str) -> str:
    if not isinstance(base, str):
        raise TypeError(f"{where} must hold base URLs (strings), got {describe(base)}")
    scheme = urllib.parse.urlsplit(base).scheme
    if scheme not in _SCHEMES:
        raise ValueError(f"{where} must hold http://, https:// or file:// base URLs, got {base!r}")
    return base


def mirror_bases(mirrors: Sequence[str] | None, builtin: Sequence[str]) -> list[str]:
    """The base URLs to try, in order.

    ``mirrors`` (an argument) replaces every other source; otherwise the bases in
    ``$HAMGEO_DATA_MIRRORS`` (comma-separated) come first, then the built-in ones.
    """
    if mirrors is not None:
        if isinstance(mirrors, str) or not isinstance(mirrors, Sequence):
            raise TypeError(
                f"`mirrors` must be a list of base URLs or None, got {describe(mirrors)}"
            )
        return [_check_base(b, "`mirrors`") for b in mirrors]
    env = [b.strip() for b in os.environ.get(ENV_MIRRORS, "").split(",") if b.strip()]
    return [_check_base(b, f"${ENV_MIRRORS}") for b in env] + list(builtin)


def url_for(base: str, filename: str) -> str:
    """``filename`` under the base URL ``base``."""
    return base.rstrip("/") + "/" + filename


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold the folder's download lock (blocks while another process holds it)."""
    if fcntl is None:  # pragma: no cover - Windows: rely on unique temp + atomic rename
        yield
        return
    fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if sys.stderr.isatty():
                print(f"waiting for another download into {folder} ...", file=sys.stderr)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _describe_failure(err: BaseException) -> str:
    if isinstance(err, urllib.error.HTTPError):
        return f"HTTP {err.code} {err.reason}"
    if isinstance(err, urllib.error.URLError):
        return f"{err.reason}"
    return f"{type(err).__name__}: {err}" if str(err) else type(err).__name__


def _progress_bar(total: int | None, filename: str, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        desc=filename,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        disable=not enabled,
        file=sys.stderr,
        leave=False,
    )


def _stream(
    url: str,
    out: Any,
    *,
    size: int | None,
    timeout: float,
    progress: bool,
    filename: str,
) -> str:
    """Copy ``url`` into the open file ``out``; return the SHA-256 of what came.

    Remote failures raise :class:`_MirrorFailed`; a failing local write raises its
    ``OSError`` unchanged (it is not the mirror's fault).
    """
    request = urllib.request.Request(url, headers={"User-Agent": f"hamgeo/{__version__}"})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - schemes checked
    except (OSError, http.client.HTTPException, ValueError) as err:
        raise _MirrorFailed(_describe_failure(err)) from err
    with response:
        announced = response.headers.get("Content-Length")
        total = int(announced) if announced and announced.isdigit() else None
        if total is not None and size is not None and total != size:
            raise _MirrorFailed(f"the server announces {total} bytes, expected {size}")
        digest = hashlib.sha256()
        received = 0
        with _progress_bar(total or size, filename, progress) as bar:
            while True:
                try:
                    chunk = response.read(_CHUNK)
                except (OSError, http.client.HTTPException) as err:
                    raise _MirrorFailed(
                        f"transfer broken after {received} bytes: {_describe_failure(err)}"
                    ) from err
                if not chunk:
                    break
                out.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    expected_len = total if total is not None else size
    if expected_len is not None and received != expected_len:
        raise _MirrorFailed(f"transfer truncated: received {received} of {expected_len} bytes")
    return digest.hexdigest()


def download_file(
    url: str,
    folder: Path,
    filename: str,
    *,
    sha256: str,
    size: int | None,
    timeout: float,
    progress: bool,
) -> None:
    """Download ``url`` to ``folder / filename``, verified, atomically (see the module)."""
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{filename}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            got = _stream(
                url, out, size=size, timeout=timeout, progress=progress, filename=filename
            )
            if got != sha256:
                raise _MirrorFailed(f"checksum mismatch: got sha256 {got}, expected {sha256}")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, folder / filename)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def fetch(
    folder: Path,
    missing: list[str],
    expected: dict[str, str],
    sizes: dict[str, int | None],
    bases: list[str],
    *,
    title: str,
    timeout: float,
    progress: bool,
) -> None:
    """Download every file of ``missing`` into ``folder``, trying each base URL in turn.

    Raises:
        DownloadError: some file came from no URL (each URL and its failure, and
            where to put the files by hand, are in the message).
        OSError: the folder cannot be written (the message says what to do).
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with folder_lock(folder):
            for filename in missing:
                if (folder / filename).is_file():  # another process got it meanwhile
                    continue
                _remove_stale_parts(folder, filename)
                failures = []
                for base in bases:
                    url = url_for(base, filename)
                    try:
                        download_file(
                            url,
                            folder,
                            filename,
                            sha256=expected[filename],
                            size=sizes.get(filename),
                            timeout=timeout,
                            progress=progress,
                        )
                        break
                    except _MirrorFailed as err:
                        failures.append(f"  {url}: {err}")
                else:
                    raise DownloadError(
                        _no_copy_message(title, folder, filename, failures, missing)
                    )
    except DownloadError:
        raise
    except OSError as err:
        message = (
            f"cannot write the {title} files into the data cache {folder}: {err}. Point "
            f"`root=` or ${ENV_ROOT} to a writable folder, or put these files into "
            f"{folder} by hand: {', '.join(missing)}"
        )
        raise (PermissionError if isinstance(err, PermissionError) else OSError)(message) from err


def _remove_stale_parts(folder: Path, filename: str) -> None:
    """Delete temporary files left by a killed download (only while holding the lock)."""
    if fcntl is None:  # pragma: no cover - without the lock another process may be writing
        return
    for stale in folder.glob(f".{glob.escape(filename)}.*.part"):
        stale.unlink(missing_ok=True)


def _no_copy_message(
    title: str, folder: Path, filename: str, failures: list[str], missing: list[str]
) -> str:
    tried = "\n".join(failures) if failures else "  (no URL to try: the mirror list is empty)"
    still = [f for f in missing if not (folder / f).is_file()]
    return (
        f"could not download {filename} of {title}; tried:\n{tried}\n"
        f"Without network, put the file(s) by hand at:\n"
        + "\n".join(f"  {folder / f}" for f in still)
        + f"\nor list a server that has them in ${ENV_MIRRORS} (comma-separated base URLs)."
    )
