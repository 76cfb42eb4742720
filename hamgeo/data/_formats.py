"""Readers for the standard file formats: IDX (MNIST, Fashion-MNIST) and CIFAR-10's binary version.

Every reader parses with ``np.frombuffer`` (no Python loop over images), never
unpickles anything and never extracts an archive to disk.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import tarfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from hamgeo._checks import check_bool, check_existing_path
from hamgeo.data._dataset import Dataset

__all__ = ["load_cifar10", "load_mnist"]

_IDX_DTYPES: dict[int, Any] = {
    0x08: np.uint8,
    0x09: np.int8,
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}
_CIFAR_RECORD = 1 + 3 * 32 * 32
Split = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # x_train, y_train, x_test, y_test
CIFAR_MEMBERS = (
    *(f"cifar-10-batches-bin/data_batch_{i}.bin" for i in range(1, 6)),
    "cifar-10-batches-bin/test_batch.bin",
)


def gunzip(raw: bytes, where: Path | str) -> bytes:
    """``raw`` gunzipped when it starts with the gzip magic number, else ``raw`` itself."""
    try:
        # One-shot zlib decompression: faster than streaming through GzipFile.
        return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    except (OSError, EOFError, zlib.error) as err:
        raise ValueError(f"cannot read {where}: {err}") from None


def _read_bytes(path: Path) -> bytes:
    """The bytes of ``path``, gunzipped when it starts with the gzip magic number."""
    return gunzip(path.read_bytes(), path)


def _parse_idx(raw: bytes, where: Path | str) -> np.ndarray:
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{where} is not an IDX file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise ValueError(f"{where} is not a valid IDX file (truncated header)")
    shape = tuple(int(s) for s in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = header + math.prod(shape) * dtype.itemsize  # Python ints: nothing overflows
    if len(raw) != expected:
        raise ValueError(
            f"{where} is malformed: header says shape {shape} ({expected} bytes), "
            f"file holds {len(raw)} bytes"
        )
    return np.frombuffer(raw, dtype, offset=header).reshape(shape)


def _to_unit_float(pixels: np.ndarray) -> np.ndarray:
    """``uint8`` pixels (any strides) as C-contiguous ``float32`` in ``[0, 1]``.

    ``astype`` then an in-place division: measured faster than one ufunc call with a
    casting ``dtype=`` (NumPy buffers the cast) and than a lookup table, and bit-identical.
    """
    x = pixels.astype(np.float32, order="C")
    np.divide(x, np.float32(255.0), out=x)
    return x


def idx_split(
    img_raw: bytes, lab_raw: bytes, img_where: Path | str, lab_where: Path | str, *, images: bool
) -> tuple[np.ndarray, np.ndarray]:
    """One split from the decompressed bytes of an IDX image file and its label file."""
    img, lab = _parse_idx(img_raw, img_where), _parse_idx(lab_raw, lab_where)
    if img.ndim != 3 or img.dtype != np.uint8:
        raise ValueError(f"{img_where} must hold uint8 images [n, h, w], got {img.shape}")
    if lab.ndim != 1 or lab.shape[0] != img.shape[0]:
        raise ValueError(
            f"{lab_where} must hold {img.shape[0]} labels to match {img_where}, "
            f"got shape {lab.shape}"
        )
    if lab.dtype.kind not in "iu":
        raise ValueError(
            f"{lab_where} must hold integer labels, got IDX data of dtype {lab.dtype.name}"
        )
    if lab.size:
        bad = lab.min() if lab.min() < 0 else lab.max()
        if bad < 0 or bad > 9:
            raise ValueError(f"{lab_where} holds a label {bad} outside 0..9")
    x = _to_unit_float(img)
    x = x[..., None] if images else x.reshape(x.shape[0], -1)
    return x, lab.astype(np.int32)


def mnist_split(img_path: Path, lab_path: Path, *, images: bool) -> tuple[np.ndarray, np.ndarray]:
    """One split of an IDX image file and its label file, checked and scaled to ``[0, 1]``."""
    return idx_split(
        _read_bytes(img_path), _read_bytes(lab_path), img_path, lab_path, images=images
    )


def _folder_dataset(
    name: str, path: Any, images: Any, read: Callable[[Path, bool], tuple[Path, Split]]
) -> Dataset:
    """Check the arguments of a folder loader, ``read`` the folder and record where from.

    ``read(directory, images)`` returns the folder it read (``directory`` or one inside it)
    and the four arrays.
    """
    directory = check_existing_path(path, "path", kind="dir")
    folder, (x_tr, y_tr, x_te, y_te) = read(directory, check_bool(images, "images"))
    info = {"path": str(folder), "n_train": len(y_tr), "n_test": len(y_te)}
    return Dataset(x_tr, y_tr, x_te, y_te, name, info)


def _find(directory: Path, names: list[str]) -> Path:
    for name in names:
        for candidate in (directory / name, directory / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    raise FileNotFoundError(f"{directory / names[0]} (or .gz) not found")


def _read_idx_folder(directory: Path, images: bool) -> tuple[Path, Split]:
    arrays: list[np.ndarray] = []
    for split in ("train", "t10k"):
        img_path = _find(directory, [f"{split}-images-idx3-ubyte", f"{split}-images.idx3-ubyte"])
        lab_path = _find(directory, [f"{split}-labels-idx1-ubyte", f"{split}-labels.idx1-ubyte"])
        arrays += mnist_split(img_path, lab_path, images=images)
    return directory, (arrays[0], arrays[1], arrays[2], arrays[3])


def load_mnist(path: str | os.PathLike[str], *, images: bool = False) -> Dataset:
    """MNIST (or Fashion-MNIST) from the four IDX files in a directory you already have.

    Reads ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (each optionally
    ``.gz``; the ``...-idx3.ubyte`` spelling is accepted too). Nothing is downloaded
    and nothing is verified: [`mnist`][hamgeo.data.mnist] and
    [`fashion_mnist`][hamgeo.data.fashion_mnist] read the cache
    and check the files' SHA-256.

    Args:
        path: the directory holding the files.
        images: return ``[n, 28, 28, 1]`` images instead of flat ``[n, 784]`` vectors.

    Returns:
        A [`Dataset`][hamgeo.data.Dataset] with pixel values scaled to ``[0, 1]``.

    Raises:
        FileNotFoundError: the directory or a file is missing (the message names it).
        ValueError: a file is not a valid IDX file, or images and labels disagree.

    Host-only: it reads files.

    Examples:
        >>> import shutil, tempfile
        >>> from hamgeo.data import write_fake
        >>> root = tempfile.mkdtemp()
        >>> _ = write_fake("mnist", root, n_train=20, n_test=10)  # four .gz IDX files
        >>> ds = load_mnist(f"{root}/mnist", images=True)
        >>> ds.x_train.shape, ds.y_test.shape
        ((20, 28, 28, 1), (10,))
        >>> shutil.rmtree(root)
    """
    return _folder_dataset("mnist", path, images, _read_idx_folder)


def _parse_cifar_batch(raw: bytes | memoryview, where: Path | str) -> np.ndarray:
    """A batch's records, ``uint8[n, 3073]`` (a view of ``raw``), checked."""
    if len(raw) == 0 or len(raw) % _CIFAR_RECORD:
        raise ValueError(
            f"{where} is not a CIFAR-10 binary batch: {len(raw)} bytes is not a positive "
            f"multiple of the {_CIFAR_RECORD}-byte record"
        )
    rec = np.frombuffer(raw, np.uint8).reshape(-1, _CIFAR_RECORD)
    top = rec[:, 0].max()
    if top > 9:
        raise ValueError(f"{where} holds a label {top} outside 0..9")
    return rec


def _cifar_arrays(batches: list[np.ndarray], *, images: bool) -> Split:
    """Five training batches then the test batch, as ``(x_train, y_train, x_test, y_test)``."""
    out = []
    for parts in (batches[:5], batches[5:]):
        rec = np.concatenate(parts)  # [n, 3073]
        # Channel-major records -> [n, 32, 32, 3], converted straight from the strided view.
        x = _to_unit_float(rec[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        if not images:
            x = x.reshape(x.shape[0], -1)
        out += [x, rec[:, 0].astype(np.int32)]
    return out[0], out[1], out[2], out[3]


def cifar10_from_tar(raw: bytes, where: Path | str, *, images: bool) -> Split:
    """The six batches of CIFAR-10's binary tar (already gunzipped), read in memory.

    Only the six regular members named in ``CIFAR_MEMBERS`` are parsed, as views of
    ``raw``; nothing is extracted to disk and other members (``batches.meta.txt``, ...)
    are skipped.
    """
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
            members = {m.name: m for m in tar.getmembers() if m.isfile()}
    except (tarfile.TarError, OSError, EOFError) as err:
        raise ValueError(f"cannot read the CIFAR-10 archive {where}: {err}") from None
    missing = [m for m in CIFAR_MEMBERS if m not in members]
    if missing:
        raise ValueError(f"{where} lacks the member(s) {', '.join(missing)}")
    view = memoryview(raw)
    batches = []
    for name in CIFAR_MEMBERS:
        m = members[name]
        if m.offset_data + m.size > len(raw):
            raise ValueError(f"{where} is truncated inside {name}")
        part = view[m.offset_data : m.offset_data + m.size]
        batches.append(_parse_cifar_batch(part, f"{where}:{name}"))
    return _cifar_arrays(batches, images=images)


def _read_cifar_folder(directory: Path, images: bool) -> tuple[Path, Split]:
    if (directory / "cifar-10-batches-bin").is_dir():
        directory = directory / "cifar-10-batches-bin"
    batches = []
    for member in CIFAR_MEMBERS:
        file = directory / Path(member).name
        if not file.is_file():
            raise FileNotFoundError(f"{file} not found")
        batches.append(_parse_cifar_batch(_read_bytes(file), file))
    return directory, _cifar_arrays(batches, images=images)


def load_cifar10(path: str | os.PathLike[str], *, images: bool = False) -> Dataset:
    """CIFAR-10 from the binary version's extracted files you already have.

    Reads ``data_batch_1..5.bin`` and ``test_batch.bin``. Each file is a run of
    fixed-size records (one label byte, then 3072 pixel bytes in channel-major order);
    nothing is unpickled, downloaded or verified ([`cifar10`][hamgeo.data.cifar10] reads the cached
    archive and checks its SHA-256). ``path`` may be the ``cifar-10-batches-bin``
    directory or its parent.

    Args:
        path: the directory holding the files.
        images: return ``[n, 32, 32, 3]`` images instead of flat ``[n, 3072]`` vectors
            (flattened from the ``[32, 32, 3]`` layout).

    Returns:
        A [`Dataset`][hamgeo.data.Dataset] with pixel values scaled to ``[0, 1]``.

    Raises:
        FileNotFoundError: the directory or a file is missing (the message names it).
        ValueError: a file is not a run of CIFAR-10 records.

    Host-only: it reads files.

    Examples:
        >>> load_cifar10("/nonexistent")
        Traceback (most recent call last):
        ...
        FileNotFoundError: `path`: no such file or directory: '/nonexistent'
    """
    return _folder_dataset("cifar10", path, images, _read_cifar_folder)
