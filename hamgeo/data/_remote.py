"""MNIST, Fashion-MNIST and CIFAR-10: read from the cache, downloaded on request, verified.

The SHA-256 and size of every canonical file are pinned below. They are the values
TensorFlow Datasets publishes (``tensorflow_datasets/url_checksums/{mnist,
fashion_mnist,cifar10}.txt``); torchvision's ``datasets/mnist.py`` and the CIFAR-10
page publish the MD5s, recorded in the comments for a second check.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from hamgeo._checks import check_bool, check_choice, check_positive_float, describe
from hamgeo.data._bundled import digits, mnist1d
from hamgeo.data._cache import cache_dir, cached_sha256
from hamgeo.data._dataset import Dataset
from hamgeo.data._fetch import ChecksumError, fetch, mirror_bases, url_for
from hamgeo.data._formats import cifar10_from_archive, mnist_split

__all__ = ["DATASETS", "cifar10", "fashion_mnist", "load", "mnist"]

DATASETS: tuple[str, ...] = ("digits", "mnist1d", "mnist", "fashion-mnist", "cifar10")
"""The names :func:`load` knows (``"fashion_mnist"`` is accepted for ``"fashion-mnist"``)."""

DatasetName = Literal["digits", "mnist1d", "mnist", "fashion-mnist", "fashion_mnist", "cifar10"]

_MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclasses.dataclass(frozen=True)
class _Remote:
    """A data set that lives on web servers: its files, checksums and mirrors."""

    name: str  # also the cache subfolder
    title: str
    files: dict[str, tuple[int, str]]  # canonical file name -> (size in bytes, sha256)
    mirrors: tuple[str, ...]  # base URLs, tried in order
    read: Callable[[dict[str, Path], bool], tuple[np.ndarray, ...]]


def _read_idx_set(paths: dict[str, Path], images: bool) -> tuple[np.ndarray, ...]:
    x_tr, y_tr = mnist_split(
        paths["train-images-idx3-ubyte.gz"], paths["train-labels-idx1-ubyte.gz"], images=images
    )
    x_te, y_te = mnist_split(
        paths["t10k-images-idx3-ubyte.gz"], paths["t10k-labels-idx1-ubyte.gz"], images=images
    )
    return x_tr, y_tr, x_te, y_te


def _read_cifar(paths: dict[str, Path], images: bool) -> tuple[np.ndarray, ...]:
    return cifar10_from_archive(paths["cifar-10-binary.tar.gz"], images=images)


REMOTE: dict[str, _Remote] = {
    "mnist": _Remote(
        name="mnist",
        title="MNIST",
        files={
            # MD5 (torchvision): f68b3c2dcbeaaa9fbdd348bbdeb94873
            "train-images-idx3-ubyte.gz": (
                9912422,
                "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            ),
            # MD5: d53e105ee54ea40749a09fcbcd1e9432
            "train-labels-idx1-ubyte.gz": (
                28881,
                "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            ),
            # MD5: 9fb629c4189551a2d022fa330f9573f3
            "t10k-images-idx3-ubyte.gz": (
                1648877,
                "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            ),
            # MD5: ec29112dd5afa0611ce80d1b7f02629c
            "t10k-labels-idx1-ubyte.gz": (
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
            "train-images-idx3-ubyte.gz": (
                26421880,
                "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            ),
            # MD5: 25c81989df183df01b3e8a0aad5dffbe
            "train-labels-idx1-ubyte.gz": (
                29515,
                "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            ),
            # MD5: bef4ecab320f06d8554ea6380940ec79
            "t10k-images-idx3-ubyte.gz": (
                4422102,
                "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            ),
            # MD5: bb300cfdad3c16e7a12a480ee83cd310
            "t10k-labels-idx1-ubyte.gz": (
                5148,
                "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
            ),
        },
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
            # MD5 (the CIFAR-10 page): c32a1d4ab5d03f1284b67883e8d87530
            "cifar-10-binary.tar.gz": (
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


def _missing_message(spec: _Remote, folder: Path, missing: list[str], bases: list[str]) -> str:
    lines = [
        f"{spec.title} is not in the data cache: {folder} lacks {', '.join(missing)}.",
        f"Call hamgeo.data.load({spec.name!r}) with download=True (the default) to fetch it,",
        "or put these files there by hand:",
        *(f"  {folder / f}" for f in missing),
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
) -> Dataset:
    download = check_bool(download, "download")
    images = check_bool(images, "images")
    verify = check_bool(verify, "verify")
    if progress is not None:
        progress = check_bool(progress, "progress")
    timeout = check_positive_float(timeout, "timeout")
    given = _check_checksums(checksums, spec)
    folder = cache_dir(spec.name, root=root)
    bases = mirror_bases(mirrors, spec.mirrors)
    expected = given if given is not None else {f: s for f, (_, s) in spec.files.items()}
    sizes = {f: (None if given is not None else n) for f, (n, _) in spec.files.items()}

    missing = [f for f in spec.files if not (folder / f).is_file()]
    if missing:
        if not download:
            raise FileNotFoundError(_missing_message(spec, folder, missing, bases))
        show = sys.stderr.isatty() if progress is None else progress
        fetch(
            folder,
            missing,
            expected,
            sizes,
            bases,
            title=spec.title,
            timeout=timeout,
            progress=show,
        )

    measured = cached_sha256(folder, list(spec.files))
    if verify:
        for filename, digest in measured.items():
            if digest != expected[filename]:
                raise ChecksumError(
                    f"{folder / filename} is not the expected {spec.title} file: its SHA-256 "
                    f"is {digest}, expected {expected[filename]}. Delete it to download it "
                    f"again, or pass verify=False to read a deliberately modified copy."
                )
    paths = {f: folder / f for f in spec.files}
    x_tr, y_tr, x_te, y_te = spec.read(paths, images)
    info = {
        "source": spec.name,
        "files": measured,
        "verified": verify,
        "pinned": given is None,
        "n_train": int(x_tr.shape[0]),
        "n_test": int(x_te.shape[0]),
        "path": str(folder),
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
) -> Dataset:
    """MNIST ([MNIST], LeCun et al. 1998): 60 000 training and 10 000 test digits, 28×28.

    Read from the cache folder ``<root>/mnist`` (the four canonical ``*-ubyte.gz``
    files), downloaded first if missing and ``download`` is true, each file checked
    against its pinned SHA-256. Reading a cached copy takes well under a second.

    Args:
        root: the cache root (the data set's files are in its subfolder, see
            :func:`cache_dir`); default ``$HAMGEO_DATA``, else the user cache folder.
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
            (for the stand-ins :func:`write_fake` writes); ``info["pinned"]`` is then
            ``False``.
        progress: show a progress bar while downloading (default: when standard
            error is a terminal).
        timeout: seconds to wait for a server before trying the next URL.

    Returns:
        A :class:`Dataset` with pixel values in ``[0, 1]``; its ``info`` holds
        ``source``, ``files`` (``{file name: sha256}``), ``verified``, ``pinned``,
        ``n_train``, ``n_test`` and ``path`` (the folder read), for an experiment's
        record of which data ran.

    Raises:
        FileNotFoundError: a file is missing and ``download`` is false.
        DownloadError: a file came from no URL (the message lists each URL tried with
            its failure, and where to put the file by hand).
        ChecksumError: a cached file is not the expected one.
        PermissionError: the cache folder cannot be written (nothing partial is left).

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
) -> Dataset:
    """Fashion-MNIST ([Fashion-MNIST], Xiao et al. 2017): 60 000 + 10 000 clothes, 28×28.

    Zalando's drop-in replacement for MNIST (same IDX files, same sizes, 10 classes),
    read from ``<root>/fashion-mnist``, downloaded first if missing and ``download``
    is true, each file checked against its pinned SHA-256. Takes the same arguments,
    returns the same ``info`` and raises the same errors as :func:`mnist`.

    Examples:
        >>> fashion_mnist(root="/no/cache", download=False)
        Traceback (most recent call last):
        ...
        FileNotFoundError: Fashion-MNIST is not in the data cache: /no/cache/fashion-mnist lacks ...
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
) -> Dataset:
    """CIFAR-10 ([CIFAR-10], Krizhevsky 2009): 50 000 training and 10 000 test images, 32×32×3.

    Read from ``<root>/cifar10/cifar-10-binary.tar.gz`` (the binary version: fixed-size
    records, nothing unpickled), downloaded first if missing and ``download`` is true,
    checked against its pinned SHA-256. The six batches are read from the archive in
    one pass, without extracting it. Takes the same arguments, returns the same
    ``info`` and raises the same errors as :func:`mnist`; ``images=True`` gives
    ``[n, 32, 32, 3]`` images, else flat ``[n, 3072]`` vectors in that layout.

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
    """A data set by name: one of :data:`DATASETS`, with its loader's keyword arguments.

    ``"digits"`` and ``"mnist1d"`` are made offline; ``"mnist"``, ``"fashion-mnist"``
    (or ``"fashion_mnist"``) and ``"cifar10"`` are read from the cache and downloaded
    on request, see :func:`mnist`.

    Args:
        name: the data set's name.
        **kwargs: passed to :func:`digits`, :func:`mnist1d`, :func:`mnist`,
            :func:`fashion_mnist` or :func:`cifar10`.

    Returns:
        The :class:`Dataset`.

    Examples:
        >>> load("digits", images=True).input_shape
        (8, 8, 1)
        >>> load("imagenet")
        Traceback (most recent call last):
        ...
        ValueError: `name` must be one of 'digits', 'mnist1d', 'mnist', 'fashion-mnist', 'cifar10', 'fashion_mnist', got 'imagenet'
    """  # noqa: E501
    name = check_choice("name", name, (*DATASETS, "fashion_mnist"))
    return _LOADERS[name.replace("_", "-")](**kwargs)
