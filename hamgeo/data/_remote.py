"""MNIST, Fashion-MNIST and CIFAR-10: read from the cache or a system folder, downloaded on request.

The SHA-256 and size of every canonical archive are pinned below. They are the values
TensorFlow Datasets publishes (``tensorflow_datasets/url_checksums/{mnist,
fashion_mnist,cifar10}.txt``); torchvision's ``datasets/mnist.py`` and the CIFAR-10
page publish the MD5s, recorded in the comments for a second check.

The SHA-256 and size of the *decompressed content* are pinned too where they were
measured: Fashion-MNIST's, from the Debian package ``dataset-fashion-mnist`` (its
uncompressed sizes match the canonical ones). MNIST's and CIFAR-10's content could
not be downloaded where this was written, and a hash nobody computed is not pinned:
those files verify by their archive hash only (``content_sha256=None``), so a
recompressed copy of them is refused until someone measures and pins the content.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple, get_args

import numpy as np

from hamgeo._checks import check_bool, check_choice, check_positive_float, describe
from hamgeo.data._bundled import digits, mnist1d
from hamgeo.data._cache import cache_dir
from hamgeo.data._dataset import Dataset
from hamgeo.data._fetch import fetch, mirror_bases, url_for
from hamgeo.data._formats import Split, cifar10_from_tar, idx_split
from hamgeo.data._sources import Copy, find_copy, search_folders

__all__ = ["DATASETS", "cifar10", "fashion_mnist", "load", "mnist"]

DATASETS: tuple[str, ...] = ("digits", "mnist1d", "mnist", "fashion-mnist", "cifar10")
"""The names [`load`][hamgeo.data.load] knows (``"fashion_mnist"`` is accepted for
``"fashion-mnist"``)."""

DatasetName = Literal["digits", "mnist1d", "mnist", "fashion-mnist", "cifar10", "fashion_mnist"]
_NAMES: tuple[DatasetName, ...] = get_args(DatasetName)

_MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
_HEX64 = re.compile(r"[0-9a-f]{64}")


class _File(NamedTuple):
    """A canonical file's pins: the archive, and its decompressed content where measured."""

    size: int  # bytes of the archive
    sha256: str
    content_size: int | None = None
    content_sha256: str | None = None


@dataclasses.dataclass(frozen=True)
class _Remote:
    """A data set that lives on web servers: its files, checksums and mirrors."""

    name: str  # also the cache subfolder
    title: str
    files: dict[str, _File]  # canonical file name -> its pins
    mirrors: tuple[str, ...]  # base URLs, tried in order
    read: Callable[[dict[str, Copy], bool], Split]


def _read_idx_set(copies: dict[str, Copy], images: bool) -> Split:
    out: list[np.ndarray] = []
    for split in ("train", "t10k"):
        img, lab = copies[f"{split}-images-idx3-ubyte.gz"], copies[f"{split}-labels-idx1-ubyte.gz"]
        out += idx_split(img.content, lab.content, img.path, lab.path, images=images)
    return out[0], out[1], out[2], out[3]


def _read_cifar(copies: dict[str, Copy], images: bool) -> Split:
    copy = copies["cifar-10-binary.tar.gz"]
    return cifar10_from_tar(copy.content, copy.path, images=images)


REMOTE: dict[str, _Remote] = {
    "mnist": _Remote(
        name="mnist",
        title="MNIST",
        files={
            # Archive-only pins: the content SHA-256 was never measured here (no copy).
            # MD5 (torchvision): f68b3c2dcbeaaa9fbdd348bbdeb94873
            "train-images-idx3-ubyte.gz": _File(
                9912422,
                "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            ),
            # MD5: d53e105ee54ea40749a09fcbcd1e9432
            "train-labels-idx1-ubyte.gz": _File(
                28881,
                "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            ),
            # MD5: 9fb629c4189551a2d022fa330f9573f3
            "t10k-images-idx3-ubyte.gz": _File(
                1648877,
                "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            ),
            # MD5: ec29112dd5afa0611ce80d1b7f02629c
            "t10k-labels-idx1-ubyte.gz": _File(
                4542,
                "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            ),
        },
        # The canonical yann.lecun.com often refuses scripted downloads; the mirrors
        # torchvision and TensorFlow Datasets use come first.
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        read=_read_idx_set,
    ),
    "fashion-mnist": _Remote(
        name="fashion-mnist",
        title="Fashion-MNIST",
        files={
            # MD5 (torchvision): 8d4fb7e6c68d591d4c3dfef9ec88bf0d
            "train-images-idx3-ubyte.gz": _File(
                26421880,
                "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                47040016,
                "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            ),
            # MD5: 25c81989df183df01b3e8a0aad5dffbe
            "train-labels-idx1-ubyte.gz": _File(
                29515,
                "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                60008,
                "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            ),
            # MD5: bef4ecab320f06d8554ea6380940ec79
            "t10k-images-idx3-ubyte.gz": _File(
                4422102,
                "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                7840016,
                "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            ),
            # MD5: bb300cfdad3c16e7a12a480ee83cd310
            "t10k-labels-idx1-ubyte.gz": _File(
                5148,
                "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
                10008,
                "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
            ),
        },
        # Content pins: measured on the files of Debian's dataset-fashion-mnist
        # (recompressed; the same uncompressed sizes and CRC-32 as the canonical files).
        mirrors=(
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        ),
        read=_read_idx_set,
    ),
    "cifar10": _Remote(
        name="cifar10",
        title="CIFAR-10",
        files={
            # Archive-only pin: the content SHA-256 was never measured here (no copy).
            # MD5 (the CIFAR-10 page): c32a1d4ab5d03f1284b67883e8d87530
            "cifar-10-binary.tar.gz": _File(
                170052171,
                "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
            ),
        },
        mirrors=("https://www.cs.toronto.edu/~kriz/",),
        read=_read_cifar,
    ),
}


def _check_checksums(checksums: Any, spec: _Remote) -> dict[str, str] | None:
    if checksums is None:
        return None
    if not isinstance(checksums, Mapping):
        raise TypeError(
            f"`checksums` must map file names to SHA-256 hex digests, got {describe(checksums)}"
        )
    out = {}
    for filename in spec.files:
        if filename not in checksums:
            raise ValueError(
                f"`checksums` must give the SHA-256 of every {spec.title} file "
                f"({', '.join(spec.files)}), got none for {filename}"
            )
        digest = checksums[filename]
        if not isinstance(digest, str) or not _HEX64.fullmatch(digest.lower()):
            raise ValueError(
                f"`checksums[{filename!r}]` must be a SHA-256 hex digest (64 hex digits), "
                f"got {describe(digest)}"
            )
        out[filename] = digest.lower()
    return out


def _missing_message(
    spec: _Remote, folders: list[Path], missing: list[str], bases: list[str]
) -> str:
    lines = [
        f"{spec.title} is not in the data cache nor in a system folder: no verified "
        f"{', '.join(missing)} in any of",
        *(f"  {folder}" for folder in folders),
        f"Call hamgeo.data.load({spec.name!r}) with download=True (the default) to fetch it,",
        "or put these files by hand at:",
        *(f"  {folders[0] / f}" for f in missing),
        "from any of:",
        *(f"  {url_for(b, f)}" for f in missing for b in bases),
    ]
    return "\n".join(lines)


def _load_remote(
    spec: _Remote,
    *,
    root: str | os.PathLike[str] | None,
    download: bool,
    images: bool,
    verify: bool,
    mirrors: Sequence[str] | None,
    checksums: Mapping[str, str] | None,
    progress: bool | None,
    timeout: float,
    deadline: float,
) -> Dataset:
    download = check_bool(download, "download")
    images = check_bool(images, "images")
    verify = check_bool(verify, "verify")
    if progress is not None:
        progress = check_bool(progress, "progress")
    timeout = check_positive_float(timeout, "timeout")
    deadline = check_positive_float(deadline, "deadline")
    given = _check_checksums(checksums, spec)
    folder = cache_dir(spec.name, root=root)
    bases = mirror_bases(mirrors, spec.mirrors)
    if given is not None:
        accepted = {f: {given[f]} for f in spec.files}
    else:
        accepted = {
            f: {p.sha256} | ({p.content_sha256} if p.content_sha256 else set())
            for f, p in spec.files.items()
        }
    folders = search_folders(spec.name, folder)

    def find(filename: str, where: list[Path]) -> Copy | None:
        return find_copy(filename, where, accepted[filename] if verify else None, spec.title)

    copies = {f: find(f, folders) for f in spec.files}
    missing = [f for f, copy in copies.items() if copy is None]
    if missing:
        if not download:
            raise FileNotFoundError(_missing_message(spec, folders, missing, bases))
        show = sys.stderr.isatty() if progress is None else progress
        expected = {f: given[f] if given else spec.files[f].sha256 for f in missing}
        sizes = {f: None if given else spec.files[f].size for f in missing}
        fetch(folder, missing, expected, sizes, bases, title=spec.title, timeout=timeout,
              deadline=deadline, progress=show)  # fmt: skip
        copies.update({f: find(f, [folder]) for f in missing})
    found = {f: copy for f, copy in copies.items() if copy is not None}
    if len(found) < len(spec.files):  # pragma: no cover - a download is verified before use
        raise FileNotFoundError(_missing_message(spec, folders, missing, bases))
    x_tr, y_tr, x_te, y_te = spec.read(found, images)
    first = next(iter(found.values()))
    info = {
        "source": spec.name,
        "files": {f: c.sha256 for f, c in found.items()},
        "content_sha256": {f: c.content_sha256 for f, c in found.items()},
        "verified": verify,
        "pinned": given is None,
        "n_train": int(x_tr.shape[0]),
        "n_test": int(x_te.shape[0]),
        "path": str(first.path.parent),
        "paths": {f: str(c.path) for f, c in found.items()},
    }
    return Dataset(x_tr, y_tr, x_te, y_te, spec.name, info)


def mnist(
    *,
    root: str | os.PathLike[str] | None = None,
    download: bool = True,
    images: bool = False,
    verify: bool = True,
    mirrors: Sequence[str] | None = None,
    checksums: Mapping[str, str] | None = None,
    progress: bool | None = None,
    timeout: float = 60.0,
    deadline: float = 900.0,
) -> Dataset:
    """MNIST ([MNIST], LeCun et al. 1998): 60 000 training and 10 000 test digits, 28×28.

    Each of the four canonical ``*-ubyte.gz`` files is read from the first folder
    that holds a verified copy: the cache folder ``<root>/mnist``, then
    ``<entry>/mnist`` for each entry of ``$HAMGEO_DATA_PATH`` (``os.pathsep``-
    separated), then ``/usr/share/datasets/mnist``; the last two are only read, and a
    copy there that does not verify is skipped with a warning. A file found nowhere is
    downloaded into the cache folder if ``download`` is true. A copy verifies when the
    SHA-256 of the file or of its decompressed content is pinned (MNIST pins only the
    archives: its content hashes were never measured). Reading takes about a second.

    Args:
        root: the cache root (the data set's files are in its subfolder, see
            [`cache_dir`][hamgeo.data.cache_dir]); default ``$HAMGEO_DATA``, else the user cache
            folder.
        download: fetch missing files. ``True`` by default because calling this
            function is the request (as with TensorFlow Datasets); ``make demo`` and
            the tests never call it without a loopback server. With ``False`` a
            missing file raises ``FileNotFoundError`` naming the folder and the files
            to put there.
        images: return ``[n, 28, 28, 1]`` images instead of flat ``[n, 784]`` vectors.
        verify: compare each file's SHA-256 with the expected one (pinned, or
            ``checksums``). ``False`` reads a deliberately modified copy; downloads are
            verified either way, and ``info["files"]`` always records the SHA-256 of
            the files read.
        mirrors: base URLs to download from, in order, replacing
            ``$HAMGEO_DATA_MIRRORS`` and the built-in ones; a file is fetched from
            ``<base>/<canonical file name>`` (``http``, ``https`` or ``file`` URLs).
        checksums: ``{file name: sha256}`` to expect instead of the pinned values
            (for the stand-ins [`write_fake`][hamgeo.data.write_fake] writes); ``info["pinned"]``
            is then
            ``False``.
        progress: show a progress bar while downloading (default: when standard
            error is a terminal).
        timeout: seconds to wait for a server to answer or send more (each read)
            before trying the next URL.
        deadline: seconds one file's download may take in all, however the server
            drips; past it the download stops and the next URL is tried. A download
            also stops at the file's pinned size (or 4 GiB with custom ``checksums``).

    Returns:
        A [`Dataset`][hamgeo.data.Dataset] with pixel values in ``[0, 1]``; its ``info`` holds
        ``source``, ``files`` (``{file name: sha256}``), ``verified``, ``pinned``,
        ``n_train``, ``n_test`` and ``path`` (the folder read), for an experiment's
        record of which data ran.

    Raises:
        FileNotFoundError: a file is missing and ``download`` is false (the message
            names every folder searched, where to put the file and its URLs).
        DownloadError: a file came from no URL (the message lists each URL tried with
            its failure, and where to put the file by hand).
        ChecksumError: a cached file is not the expected one.
        PermissionError: the cache folder cannot be written (nothing partial is left).

    Host-only: it reads (and may download) files.

    Examples:
        >>> import shutil, tempfile
        >>> from hamgeo.data import write_fake
        >>> root = tempfile.mkdtemp()
        >>> sums = write_fake("mnist", root, n_train=20, n_test=10)  # stand-in files
        >>> ds = mnist(root=root, checksums=sums, download=False)
        >>> ds.x_train.shape, ds.info["verified"], ds.info["pinned"], ds.info["n_test"]
        ((20, 784), True, False, 10)
        >>> shutil.rmtree(root)
    """
    return _load_remote(REMOTE["mnist"], **locals())  # exactly the arguments


def fashion_mnist(
    *,
    root: str | os.PathLike[str] | None = None,
    download: bool = True,
    images: bool = False,
    verify: bool = True,
    mirrors: Sequence[str] | None = None,
    checksums: Mapping[str, str] | None = None,
    progress: bool | None = None,
    timeout: float = 60.0,
    deadline: float = 900.0,
) -> Dataset:
    """Fashion-MNIST ([Fashion-MNIST], Xiao et al. 2017): 60 000 + 10 000 clothes, 28×28.

    Zalando's drop-in replacement for MNIST (same IDX files, same sizes, 10 classes),
    read from ``<root>/fashion-mnist``, else from a system folder
    (``$HAMGEO_DATA_PATH``, ``/usr/share/datasets/fashion-mnist``: Debian's
    ``apt-get install dataset-fashion-mnist``), else downloaded if ``download`` is true.
    Each file is checked against its pinned SHA-256, of the archive or of its
    decompressed content (so Debian's recompressed copies verify). Takes the same
    arguments, returns the same ``info`` and raises the same errors as [`mnist`][hamgeo.data.mnist].

    Host-only: it reads (and may download) files.

    Examples:
        >>> import shutil, tempfile
        >>> from hamgeo.data import write_fake
        >>> root = tempfile.mkdtemp()
        >>> sums = write_fake("fashion-mnist", root, n_train=20, n_test=10)
        >>> ds = fashion_mnist(root=root, checksums=sums, download=False)
        >>> ds.x_train.shape, ds.info["verified"], ds.info["path"] == f"{root}/fashion-mnist"
        ((20, 784), True, True)
        >>> shutil.rmtree(root)
    """
    return _load_remote(REMOTE["fashion-mnist"], **locals())  # exactly the arguments


def cifar10(
    *,
    root: str | os.PathLike[str] | None = None,
    download: bool = True,
    images: bool = False,
    verify: bool = True,
    mirrors: Sequence[str] | None = None,
    checksums: Mapping[str, str] | None = None,
    progress: bool | None = None,
    timeout: float = 60.0,
    deadline: float = 900.0,
) -> Dataset:
    """CIFAR-10 ([CIFAR-10], Krizhevsky 2009): 50 000 training and 10 000 test images, 32×32×3.

    Read from ``<root>/cifar10/cifar-10-binary.tar.gz`` (the binary version: fixed-size
    records, nothing unpickled), downloaded first if missing and ``download`` is true,
    checked against its pinned SHA-256. The six batches are read from the archive in
    one pass, without extracting it. Takes the same arguments, returns the same
    ``info`` and raises the same errors as [`mnist`][hamgeo.data.mnist]; ``images=True`` gives
    ``[n, 32, 32, 3]`` images, else flat ``[n, 3072]`` vectors in that layout.

    Host-only: it reads (and may download) files.

    Examples:
        >>> import shutil, tempfile
        >>> from hamgeo.data import write_fake
        >>> root = tempfile.mkdtemp()
        >>> sums = write_fake("cifar10", root, n_train=10, n_test=4)
        >>> ds = cifar10(root=root, checksums=sums, images=True)
        >>> ds.x_train.shape, ds.x_test.shape, list(ds.info["files"])
        ((10, 32, 32, 3), (4, 32, 32, 3), ['cifar-10-binary.tar.gz'])
        >>> shutil.rmtree(root)
    """
    return _load_remote(REMOTE["cifar10"], **locals())  # exactly the arguments


_LOADERS: dict[str, Callable[..., Dataset]] = {
    "digits": digits,
    "mnist1d": mnist1d,
    "mnist": mnist,
    "fashion-mnist": fashion_mnist,
    "cifar10": cifar10,
}


def load(name: DatasetName, **kwargs: Any) -> Dataset:
    """A data set by name: one of [`DATASETS`][hamgeo.data.DATASETS], with its loader's arguments.

    ``"digits"`` and ``"mnist1d"`` are made offline; ``"mnist"``, ``"fashion-mnist"``
    (or ``"fashion_mnist"``) and ``"cifar10"`` are read from the cache and downloaded
    on request, see [`mnist`][hamgeo.data.mnist].

    Args:
        name: the data set's name.
        **kwargs: passed to [`digits`][hamgeo.data.digits], [`mnist1d`][hamgeo.data.mnist1d],
            [`mnist`][hamgeo.data.mnist],
            [`fashion_mnist`][hamgeo.data.fashion_mnist] or [`cifar10`][hamgeo.data.cifar10].

    Returns:
        The [`Dataset`][hamgeo.data.Dataset].

    Host-only: it reads, generates or downloads a data set on the host.

    Examples:
        >>> load("digits", images=True).input_shape
        (8, 8, 1)
        >>> load("imagenet")
        Traceback (most recent call last):
        ...
        ValueError: `name` must be one of 'digits', 'mnist1d', 'mnist', 'fashion-mnist', 'cifar10', 'fashion_mnist', got 'imagenet'
    """  # noqa: E501
    name = check_choice("name", name, _NAMES)
    return _LOADERS[name.replace("_", "-")](**kwargs)
