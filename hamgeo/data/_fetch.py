"""Downloads through pooch, with mirrors, an overall deadline and a size cap on top.

``pooch.retrieve`` does the download proper: a temporary file in the destination
folder, the SHA-256 check, and the move to the final name only when the hash matches
(the temporary file is removed whatever goes wrong, Ctrl-C included). hamgeo adds
what pooch leaves to its caller:

* mirrors: each base URL in turn, every failure recorded for the error message;
* bounded waits: ``_Downloader`` (pooch's downloader hook) stops a transfer at an
  overall deadline (not a per-read timeout: a server dripping a byte at a time ends
  there too) and at a size cap (the pinned size where known), both named in the error;
* a folder lock (``hamgeo._io.folder_lock``), so two processes asking at once end with
  one good copy: the second finds the first's file when it gets the lock.
"""

from __future__ import annotations

import http.client
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pooch

from hamgeo._checks import describe
from hamgeo._io import folder_lock, progress
from hamgeo._version import __version__
from hamgeo.data._cache import ENV_ROOT

__all__ = ["DownloadError"]

ENV_MIRRORS = "HAMGEO_DATA_MIRRORS"
_SCHEMES = ("http", "https", "file")
_CHUNK = 1 << 20
DEFAULT_CAP = 1 << 32  # bytes, for a file without a pinned size (custom `checksums`)


class DownloadError(OSError):
    """No URL gave a verified copy of a file; the message lists each URL and its failure."""


class _MirrorFailed(Exception):
    """One URL failed (unreachable, truncated, too slow, too big, wrong hash): try the next."""


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


def _describe_failure(err: BaseException) -> str:
    if isinstance(err, urllib.error.HTTPError):
        return f"HTTP {err.code} {err.reason}"
    if isinstance(err, urllib.error.URLError):
        return f"{err.reason}"
    return f"{type(err).__name__}: {err}" if str(err) else type(err).__name__


def _set_read_timeout(response: Any, seconds: float) -> None:
    """Bound the next read of an HTTP(S) response (``file://`` ones never block)."""
    sock = getattr(getattr(getattr(response, "fp", None), "raw", None), "_sock", None)
    if sock is not None:
        sock.settimeout(max(seconds, 1e-3))


class _Downloader:
    """pooch's downloader hook: one URL into pooch's temporary file, every wait bounded.

    Reads return as soon as any bytes arrive (``read1``), each with a socket timeout of
    at most the time left, so the transfer ends by ``deadline`` seconds after it began
    however the server drips; more than ``cap`` bytes end it too.
    """

    def __init__(
        self, name: str, *, size: int | None, timeout: float, deadline: float, progress: bool
    ):
        self.name, self.size, self.timeout = name, size, timeout
        self.deadline, self.progress = deadline, progress
        self.cap = size if size is not None else DEFAULT_CAP

    def __call__(self, url: str, output_file: str, _pooch: Any) -> None:
        stop = time.monotonic() + self.deadline
        request = urllib.request.Request(url, headers={"User-Agent": f"hamgeo/{__version__}"})
        try:
            response = urllib.request.urlopen(  # noqa: S310 - schemes checked
                request, timeout=min(self.timeout, self.deadline)
            )
        except (OSError, http.client.HTTPException, ValueError) as err:
            raise _MirrorFailed(_describe_failure(err)) from err
        with response, open(output_file, "wb") as out:
            announced = response.headers.get("Content-Length")
            total = int(announced) if announced and announced.isdigit() else None
            if total is not None and self.size is not None and total != self.size:
                raise _MirrorFailed(f"the server announces {total} bytes, expected {self.size}")
            if total is not None and total > self.cap:
                raise _MirrorFailed(f"the server announces {total} bytes, over the size cap")
            received = self._copy(response, out, stop, total)
        expected = total if total is not None else self.size
        if expected is not None and received != expected:
            raise _MirrorFailed(f"transfer truncated: received {received} of {expected} bytes")

    def _copy(self, response: Any, out: Any, stop: float, total: int | None) -> int:
        read = getattr(response, "read1", response.read)
        received = 0
        with progress(
            total=total or self.size, desc=self.name, enabled=self.progress, unit="B"
        ) as bar:
            while True:
                left = stop - time.monotonic()
                if left <= 0:
                    raise _MirrorFailed(
                        f"the overall deadline of {self.deadline:g} s (`deadline`) passed "
                        f"after {received} bytes"
                    )
                _set_read_timeout(response, min(self.timeout, left))
                try:
                    chunk = read(min(_CHUNK, self.cap + 1 - received))
                except (OSError, http.client.HTTPException) as err:
                    if isinstance(err, socket.timeout) and time.monotonic() >= stop:
                        continue  # reported as the deadline above
                    raise _MirrorFailed(
                        f"transfer broken after {received} bytes: {_describe_failure(err)}"
                    ) from err
                if not chunk:
                    return received
                received += len(chunk)
                if received > self.cap:
                    raise _MirrorFailed(
                        f"stopped at the size cap of {self.cap} bytes: the server sent more"
                    )
                out.write(chunk)
                bar.update(len(chunk))


def fetch(
    folder: Path,
    missing: list[str],
    expected: dict[str, str],
    sizes: dict[str, int | None],
    bases: list[str],
    *,
    title: str,
    timeout: float,
    deadline: float,
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
        # Waiting for another process's download is bounded too.
        with folder_lock(folder, timeout=deadline * len(missing)):
            for filename in missing:
                if (folder / filename).is_file():  # another process got it meanwhile
                    continue
                _remove_stale_parts(folder)
                failures = []
                for base in bases:
                    url = url_for(base, filename)
                    get = _Downloader(
                        filename, size=sizes.get(filename), timeout=timeout, deadline=deadline,
                        progress=progress,
                    )  # fmt: skip
                    try:
                        pooch.retrieve(url, f"sha256:{expected[filename]}", filename, folder,
                                       downloader=get)  # fmt: skip
                        break
                    except _MirrorFailed as err:
                        failures.append(f"  {url}: {err}")
                    except ValueError as err:  # pooch: the hash does not match
                        failures.append(f"  {url}: checksum mismatch: {err}")
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


def _remove_stale_parts(folder: Path) -> None:
    """Delete pooch's temporary files left by a killed download (only under the lock)."""
    for stale in folder.glob("tmp*"):
        if stale.is_file():
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
