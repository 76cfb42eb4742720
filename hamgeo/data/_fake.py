"""Format-exact stand-ins for MNIST, Fashion-MNIST and CIFAR-10 (for tests and timings offline)."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import struct
import tarfile
from pathlib import Path

import numpy as np

from hamgeo._checks import check_bool, check_choice, check_int, check_seed
from hamgeo._io import atomic_write_bytes
from hamgeo.data._cache import cache_dir
from hamgeo.data._formats import CIFAR_MEMBERS

__all__ = ["write_fake"]

_CIFAR_LABELS = "airplane automobile bird cat deer dog frog horse ship truck".split()


_IDX_FILES = tuple(
    f"{split}-{kind}-idx{rank}-ubyte.gz"
    for split in ("train", "t10k")
    for kind, rank in (("images", 3), ("labels", 1))
)
_CIFAR_FILE = "cifar-10-binary.tar.gz"


def _write(path: Path, payload: bytes) -> str:
    """Write ``payload`` to ``path`` atomically (existing files were refused before)."""
    atomic_write_bytes(path, payload, overwrite=True)
    return hashlib.sha256(payload).hexdigest()


def _balanced_labels(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` labels in ``0..9``, every class as often as possible, shuffled."""
    return rng.permutation(np.arange(n) % 10).astype(np.uint8)


def _shifted(templates: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each label's template ``[..., h, w]`` moved by a random shift of up to 3 pixels."""
    n = labels.shape[0]
    h, w = templates.shape[-2:]
    dy, dx = rng.integers(-3, 4, size=(2, n))
    rows = (np.arange(h)[None, :] - dy[:, None]) % h  # [n, h]
    cols = (np.arange(w)[None, :] - dx[:, None]) % w  # [n, w]
    if templates.ndim == 3:  # [10, h, w]
        return templates[labels[:, None, None], rows[:, :, None], cols[:, None, :]]
    c = templates.shape[1]  # [10, c, h, w]
    return templates[
        labels[:, None, None, None],
        np.arange(c)[None, :, None, None],
        rows[:, None, :, None],
        cols[:, None, None, :],
    ]


def _stroke_templates(rng: np.random.Generator) -> np.ndarray:
    """Ten digit-like ``uint8[10, 28, 28]`` templates: about 19% lit pixels, centred."""
    field = rng.standard_normal((10, 20, 20))
    kernel = np.ones(5) / 5
    for axis in (1, 2):  # smooth, so lit pixels form strokes rather than salt
        field = np.apply_along_axis(np.convolve, axis, field, kernel, mode="same")
    cut = np.quantile(field.reshape(10, -1), 1 - 0.3, axis=1)[:, None, None]
    lit = np.clip((field - cut) / (field.max(axis=(1, 2), keepdims=True) - cut), 0, 1)
    out = np.zeros((10, 28, 28), np.uint8)
    out[:, 4:24, 4:24] = np.round(255 * np.sqrt(lit)).astype(np.uint8)
    return out


def _idx(arr: np.ndarray) -> bytes:
    header = struct.pack(">BBBB", 0, 0, 0x08, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + np.ascontiguousarray(arr, np.uint8).tobytes()


def _write_idx_set(folder: Path, rng: np.random.Generator, n_train: int, n_test: int) -> dict:
    templates = _stroke_templates(rng)
    sums = {}
    for split, n in (("train", n_train), ("t10k", n_test)):
        labels = _balanced_labels(rng, n)
        pixels = _shifted(templates, labels, rng)
        dim = rng.integers(60, 101, size=(n, 1, 1)).astype(np.uint16)  # ink intensity
        pixels = (pixels.astype(np.uint16) * dim // 100).astype(np.uint8)
        for kind, arr, rank in (("images", pixels, 3), ("labels", labels, 1)):
            name = f"{split}-{kind}-idx{rank}-ubyte.gz"
            payload = gzip.compress(_idx(arr), compresslevel=6, mtime=0)
            sums[name] = _write(folder / name, payload)
    return sums


def _write_cifar(folder: Path, rng: np.random.Generator, n_train: int, n_test: int) -> dict:
    templates = rng.integers(0, 256, size=(10, 3, 32, 32)).astype(np.int16)
    # Balanced over the whole training set, then cut into the five batches.
    batch_labels = [
        *np.array_split(_balanced_labels(rng, n_train), 5),
        _balanced_labels(rng, n_test),
    ]
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:

        def add(name: str, payload: bytes | None) -> None:
            info = tarfile.TarInfo(name)
            info.mtime, info.mode = 0, 0o644
            if payload is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
                return
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))

        add("cifar-10-batches-bin", None)
        add("cifar-10-batches-bin/batches.meta.txt", "\n".join(_CIFAR_LABELS).encode() + b"\n")
        for member, labels in zip(CIFAR_MEMBERS, batch_labels, strict=True):
            n = labels.shape[0]
            noise = rng.integers(-40, 41, size=(n, 3, 32, 32), dtype=np.int16)
            pixels = np.clip(_shifted(templates, labels, rng) + noise, 0, 255).astype(np.uint8)
            records = np.concatenate([labels[:, None], pixels.reshape(n, -1)], axis=1)
            add(member, records.tobytes())
    payload = gzip.compress(raw.getvalue(), compresslevel=6, mtime=0)
    return {_CIFAR_FILE: _write(folder / _CIFAR_FILE, payload)}


_REAL_SIZES = {"mnist": (60_000, 10_000), "cifar10": (50_000, 10_000)}
"""The real data sets' ``(n_train, n_test)``: the most a stand-in holds (MNIST and
Fashion-MNIST share their sizes)."""


def write_fake(
    name: str,
    root: str | os.PathLike[str],
    *,
    n_train: int,
    n_test: int,
    seed: int = 0,
    overwrite: bool = False,
) -> dict[str, str]:
    """Write format-exact stand-ins for a downloadable data set; return their checksums.

    The files have the canonical names and formats (gzipped IDX for MNIST and
    Fashion-MNIST, ``cifar-10-binary.tar.gz`` for CIFAR-10) and go where
    [`mnist`][hamgeo.data.mnist] / [`fashion_mnist`][hamgeo.data.fashion_mnist] /
    [`cifar10`][hamgeo.data.cifar10] look for them:
    ``cache_dir(name, root=root)``. Each class is a template (digit-like strokes for
    the IDX sets, a colour pattern plus noise for CIFAR-10) shifted by up to 3 pixels,
    so a network learns them, and the labels are balanced. The same arguments write
    the same bytes. Files are written atomically; other files in the folder stay, and
    an existing file of the same name (a real data set, say) is replaced only with
    ``overwrite=True``: otherwise nothing is written.

    Use them to test code that takes ``--data mnist`` offline, or to time loading
    at the real size: ``load(name, root=root, checksums=write_fake(...))`` reads
    them verified (``info["pinned"]`` is ``False``: a stand-in is never taken for
    the real data set).

    Args:
        name: ``"mnist"``, ``"fashion-mnist"`` (or ``"fashion_mnist"``) or ``"cifar10"``.
        root: the cache root (created if needed).
        n_train: training examples (``>= 5`` for CIFAR-10: one per training batch), at
            most the real data set's (60 000 for the IDX sets, 50 000 for CIFAR-10).
        n_test: test examples, at most the real data set's 10 000.
        seed: the NumPy seed of the content.
        overwrite: replace files already there.

    Returns:
        ``{file name: sha256}`` of the files written.

    Raises:
        FileExistsError: a file to write exists and ``overwrite`` is false (the
            message names it).
        ValueError: ``n_train`` or ``n_test`` below the minimum or above the real size.

    Host-only: it writes files.

    Examples:
        >>> import shutil, tempfile
        >>> root = tempfile.mkdtemp()
        >>> sorted(write_fake("fashion-mnist", root, n_train=12, n_test=3))
        ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz', 'train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz']
        >>> shutil.rmtree(root)
    """  # noqa: E501
    name = check_choice("name", name, ("mnist", "fashion-mnist", "fashion_mnist", "cifar10"))
    if root is None:
        raise TypeError("`root` must be a path (str or os.PathLike), got None")
    folder = cache_dir(name, root=root)
    max_train, max_test = _REAL_SIZES["cifar10" if name == "cifar10" else "mnist"]
    n_train = check_int(
        n_train, "n_train", minimum=5 if name == "cifar10" else 1, maximum=max_train
    )
    n_test = check_int(n_test, "n_test", minimum=1, maximum=max_test)
    rng = np.random.default_rng(check_seed(seed))
    overwrite = check_bool(overwrite, "overwrite")
    names = (_CIFAR_FILE,) if name == "cifar10" else _IDX_FILES
    there = [str(folder / f) for f in names if (folder / f).exists()]
    if there and not overwrite:
        raise FileExistsError(
            f"write_fake would replace {', '.join(there)}; pass overwrite=True to replace them"
        )
    folder.mkdir(parents=True, exist_ok=True)
    if name == "cifar10":
        return _write_cifar(folder, rng, n_train, n_test)
    return _write_idx_set(folder, rng, n_train, n_test)
