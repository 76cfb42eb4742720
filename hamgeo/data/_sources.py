"""Where a data set's files are looked for, and how a copy found there is verified.

The folders, in order: the data cache (``cache_dir(name)``, the only one hamgeo ever
writes), then ``<entry>/<name>`` for each entry of ``$HAMGEO_DATA_PATH``
(``os.pathsep``-separated), then ``/usr/share/datasets/<name>`` (where Debian's
``dataset-*`` packages put them). The last two are only read.

A copy verifies when the SHA-256 of the file *or* of its decompressed content is an
expected one: the archive pins the canonical download, the content pin accepts the same
data recompressed (Debian's gzip headers differ from the canonical ones). Both hashes
come from the bytes the loader parses anyway, so verifying costs one SHA-256 pass over
each (about 0.08 s for all of Fashion-MNIST) and nothing is cached between calls.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path
from typing import NamedTuple

from hamgeo.data._formats import gunzip

__all__: list[str] = []

ENV_PATH = "HAMGEO_DATA_PATH"
SYSTEM_ROOTS: tuple[Path, ...] = (Path("/usr/share/datasets"),)


class ChecksumError(ValueError):
    """A file's SHA-256 (of the file and of its content) is not an expected one."""


class Copy(NamedTuple):
    """One file as read: where from, both hashes, and the decompressed content."""

    path: Path
    sha256: str  # of the file as stored
    content_sha256: str  # of its decompressed content (= sha256 when not compressed)
    content: bytes


def search_folders(name: str, cache: Path) -> list[Path]:
    """The folders that may hold data set ``name``'s files, ``cache`` first."""
    entries = [e for e in os.environ.get(ENV_PATH, "").split(os.pathsep) if e.strip()]
    folders = [cache, *(Path(e).expanduser().absolute() / name for e in entries)]
    folders += [root / name for root in SYSTEM_ROOTS]
    return list(dict.fromkeys(folders))  # without repeats, order kept


def read_copy(path: Path) -> Copy:
    """Read ``path`` and hash it and its decompressed content."""
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    content = gunzip(raw, path)
    same = content is raw
    return Copy(path, digest, digest if same else hashlib.sha256(content).hexdigest(), content)


def find_copy(
    filename: str, folders: list[Path], accepted: set[str] | None, title: str
) -> Copy | None:
    """The first copy of ``filename`` in ``folders`` that verifies (any, if ``accepted`` is None).

    A copy in the cache (``folders[0]``) that does not verify raises
    [`ChecksumError`][hamgeo.data.ChecksumError]: it is the user's to delete. One in a read-only
    folder is
    skipped with a warning naming it, so a damaged system copy never blocks the others.
    """
    for i, folder in enumerate(folders):
        path = folder / filename
        if not path.is_file():
            continue
        try:
            copy = read_copy(path)
        except ValueError as err:  # not gzip-readable: damaged, so never the expected file
            if accepted is None:
                raise
            copy, problem = None, str(err)
        if copy is not None:
            if accepted is None or {copy.sha256, copy.content_sha256} & accepted:
                return copy
            problem = f"its SHA-256 is {copy.sha256} (content {copy.content_sha256})"
        message = (
            f"{path} is not the expected {title} file: {problem}, expected a SHA-256 in "
            f"{', '.join(sorted(accepted or ()))}."
        )
        if i == 0:
            raise ChecksumError(
                f"{message} Delete it to download it again, or pass verify=False to read "
                "a deliberately modified copy."
            )
        warnings.warn(f"{message} Skipping it.", RuntimeWarning, stacklevel=3)
    return None
