"""Reading a cached data set: hamgeo's verified loaders against a bare NumPy reader.

Format-exact stand-ins of the real size (``hamgeo.data.write_fake``: MNIST's 60 000 +
10 000 gzipped IDX images, CIFAR-10's 50 000 + 10 000 records in
``cifar-10-binary.tar.gz``) are written to a temporary folder, then read into a
``Dataset`` (flat ``float32`` in ``[0, 1]``):

* ``hamgeo.data.<name>``: verified on every read (SHA-256 of each file and of its
  decompressed content, from the bytes it parses; nothing cached between calls);
* ``numpy gzip+frombuffer``: the floor, an unverified reader that only gunzips, parses
  with ``np.frombuffer`` and scales, with no checks.

Where Debian's ``dataset-fashion-mnist`` is installed, the real Fashion-MNIST is read
from ``/usr/share/datasets/fashion-mnist`` the same two ways (``load fashion-mnist``);
the target is under 2 s for its 70 000 images. No network is used.
"""

from __future__ import annotations

import gzip
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from hamgeo import data
from hamgeo.bench._timing import Row, timed_row

SUITE = "data"


def _member(tar: tarfile.TarFile, name: str) -> bytes:
    """The bytes of ``name`` in ``tar`` (a missing or non-file member is an error)."""
    handle = tar.extractfile(name)
    if handle is None:
        raise ValueError(f"{name!r} is not a regular file in the archive")
    return handle.read()


def _numpy_mnist(folder: Path) -> list[np.ndarray]:
    out = []
    for split in ("train", "t10k"):
        img = gzip.decompress((folder / f"{split}-images-idx3-ubyte.gz").read_bytes())
        lab = gzip.decompress((folder / f"{split}-labels-idx1-ubyte.gz").read_bytes())
        x = np.frombuffer(img, np.uint8, offset=16).reshape(-1, 784).astype(np.float32) / 255.0
        out += [x, np.frombuffer(lab, np.uint8, offset=8).astype(np.int32)]
    return out


def _numpy_cifar10(archive: Path) -> list[np.ndarray]:
    with tarfile.open(archive, "r:gz") as tar:
        names = [f"cifar-10-batches-bin/data_batch_{i}.bin" for i in range(1, 6)]
        out = []
        for group in (names, ["cifar-10-batches-bin/test_batch.bin"]):
            raw = b"".join(_member(tar, n) for n in group)
            rec = np.frombuffer(raw, np.uint8).reshape(-1, 3073)
            x = rec[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).reshape(len(rec), -1)
            out += [x.astype(np.float32) / 255.0, rec[:, 0].astype(np.int32)]
    return out


def _rows(root: Path, name: str, n_train: int, n_test: int) -> list[Row]:
    sums = data.write_fake(name, root, n_train=n_train, n_test=n_test)
    folder = data.cache_dir(name, root=root)
    size = sum((folder / f).stat().st_size for f in sums)
    loader = {"mnist": data.mnist, "cifar10": data.cifar10}[name]
    n = n_train + n_test
    common: dict[str, Any] = dict(
        suite=SUITE,
        op=f"load {name}",
        shape=f"n={n} files={size / 2**20:.0f}MiB",
        dtype="uint8 -> float32",
        unit="images",
        work=float(n),
    )

    rows = [
        timed_row(
            lambda: loader(root=root, checksums=sums, download=False),
            repeats=3,
            impl=f"hamgeo.data.{name}",
            **common,
        ),
    ]
    peer = _numpy_mnist if name == "mnist" else _numpy_cifar10
    target = folder if name == "mnist" else folder / "cifar-10-binary.tar.gz"
    rows.append(timed_row(lambda: peer(target), repeats=3, impl="numpy gzip+frombuffer", **common))
    for r in rows:
        r.compile_s = None  # no compilation: the first call is file-system warm-up
    return rows


def _system_rows() -> list[Row]:
    folder = Path("/usr/share/datasets/fashion-mnist")
    if not (folder / "train-images-idx3-ubyte.gz").is_file():
        return []
    size = sum(p.stat().st_size for p in folder.glob("*.gz"))
    common: dict[str, Any] = dict(
        suite=SUITE,
        op="load fashion-mnist",
        shape=f"n=70000 files={size / 2**20:.0f}MiB (system folder)",
        dtype="uint8 -> float32",
        unit="images",
        work=70_000.0,
    )
    empty = Path(tempfile.mkdtemp(prefix="hamgeo-bench-empty-"))
    try:
        rows = [
            timed_row(
                lambda: data.fashion_mnist(root=empty, download=False),
                repeats=3,
                impl="hamgeo.data.fashion_mnist",
                **common,
            ),
            timed_row(
                lambda: _numpy_mnist(folder), repeats=3, impl="numpy gzip+frombuffer", **common
            ),
        ]
    finally:
        shutil.rmtree(empty, ignore_errors=True)
    for r in rows:
        r.compile_s = None
    return rows


def run(quick: bool) -> list[Row]:
    """Rows for MNIST and CIFAR-10 at their real sizes (a tenth with ``quick``)."""
    scale = 10 if quick else 1
    root = Path(tempfile.mkdtemp(prefix="hamgeo-bench-data-"))
    try:
        rows = _rows(root, "mnist", 60_000 // scale, 10_000 // scale)
        rows += _rows(root, "cifar10", 50_000 // scale, 10_000 // scale)
        rows += _system_rows()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return rows
