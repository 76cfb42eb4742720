"""Data sets, all offline: synthetic set-ups, bundled data, and local files.

* :func:`gaussian_grid` and :func:`diagonal_probe`: the controlled set-up of the
  discriminability paper (``discriminability.txt``, section 3): Gaussians centred
  on an evenly spaced grid in ``[0, 1]^dim``, grouped into labels by k-means, and
  probe data on the cube's diagonal.
* :func:`digits`: scikit-learn's bundled 8×8 digits.
* :func:`mnist1d`: MNIST-1D, made by the ``mnist1d`` package's procedural
  generator (never downloaded).
* :func:`load_mnist` and :func:`load_cifar10`: read the files a user already has,
  in their standard formats (IDX; CIFAR-10's binary version).

Every loader returns a :class:`Dataset` of NumPy ``float32`` inputs and ``int32``
labels. Nothing here touches the network.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import os
import random
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "Dataset",
    "diagonal_probe",
    "digits",
    "gaussian_grid",
    "load_cifar10",
    "load_mnist",
    "mnist1d",
]


@dataclasses.dataclass(frozen=True)
class Dataset:
    """A labelled train / test split.

    Attributes:
        x_train: ``float32[n_train, ...]`` inputs.
        y_train: ``int32[n_train]`` labels in ``0 .. n_classes - 1``.
        x_test: ``float32[n_test, ...]`` inputs (same trailing shape as ``x_train``).
        y_test: ``int32[n_test]`` labels.
        name: a short name, e.g. ``"digits"``.
        info: extras (e.g. the Gaussian means of :func:`gaussian_grid`).

    Examples:
        >>> import numpy as np
        >>> ds = Dataset(np.zeros((3, 2)), [0, 1, 1], np.zeros((1, 2)), [1], "toy")
        >>> ds.x_train.dtype, ds.y_train.dtype, ds.n_classes, ds.input_shape
        (dtype('float32'), dtype('int32'), 2, (2,))
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    name: str = "dataset"
    info: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            x = np.asarray(getattr(self, f"x_{split}"), dtype=np.float32)
            y = np.asarray(getattr(self, f"y_{split}"))
            if x.ndim < 2:
                raise ValueError(f"`x_{split}` must have shape [n, ...], got {x.shape}")
            if y.ndim != 1 or y.shape[0] != x.shape[0]:
                raise ValueError(
                    f"`y_{split}` must have shape [{x.shape[0]}] to match `x_{split}`, "
                    f"got {y.shape}"
                )
            if y.size and not np.issubdtype(y.dtype, np.integer):
                if not np.all(y == np.round(y)):
                    raise TypeError(f"`y_{split}` must hold integer labels, got dtype {y.dtype}")
            y = y.astype(np.int32)
            if y.size and y.min() < 0:
                raise ValueError(f"`y_{split}` must be non-negative, got {y.min()}")
            object.__setattr__(self, f"x_{split}", x)
            object.__setattr__(self, f"y_{split}", y)
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise ValueError(
                f"`x_train` and `x_test` must share their trailing shape, got "
                f"{self.x_train.shape[1:]} and {self.x_test.shape[1:]}"
            )

    @property
    def n_classes(self) -> int:
        """``1 + `` the largest label in either split."""
        top = [int(y.max()) for y in (self.y_train, self.y_test) if y.size]
        return 1 + max(top) if top else 0

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of one input."""
        return tuple(self.x_train.shape[1:])


def _seed_from_key(key: jax.Array) -> int:
    """A NumPy / scikit-learn seed drawn from a JAX key (deterministic)."""
    return int(jax.random.randint(key, (), 0, 2**31 - 1))


def _check_key(key: Any, name: str = "key") -> jax.Array:
    if not isinstance(key, jax.Array):
        raise TypeError(f"`{name}` must be a jax.random key, got {type(key).__name__}")
    return key


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer, got {value!r}")
    return int(value)


def _kmeans(points: np.ndarray, n_groups: int, seed: int, n_init: int = 10) -> np.ndarray:
    """Group ``points`` by k-means (scikit-learn, seeded); returns the centres."""
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=n_groups, n_init=n_init, random_state=seed).fit(points)
    return km.cluster_centers_.astype(np.float32)


def gaussian_grid(
    *,
    key: jax.Array,
    per_axis: int = 5,
    dim: int = 2,
    n_groups: int = 5,
    n_per_gaussian: int = 200,
    n_test_per_gaussian: int | None = None,
    spread: float | None = None,
) -> Dataset:
    """Gaussians on an evenly spaced grid in ``[0, 1]^dim``, labelled by k-means groups.

    The set-up of the discriminability paper (section 3): ``per_axis**dim``
    isotropic Gaussians whose means lie on the grid ``linspace(0, 1, per_axis)``
    along each axis; k-means over the means (``n_groups`` clusters, seeded from
    ``key``) gives the groups, and every Gaussian takes the group of its nearest
    cluster centre. A sample's label is its Gaussian's group.

    Args:
        key: a ``jax.random`` key; the same key gives the same data set.
        per_axis: grid points per axis (``>= 2``).
        dim: the input dimension.
        n_groups: number of labels (``1 <= n_groups <= per_axis**dim``).
        n_per_gaussian: training points drawn from each Gaussian.
        n_test_per_gaussian: test points per Gaussian (default ``n_per_gaussian // 4``,
            at least 1).
        spread: the standard deviation of every coordinate. The default, one eighth of
            the grid spacing, puts neighbouring means 8 standard deviations apart, so
            the clusters do not overlap.

    Returns:
        A :class:`Dataset` (``x: float32[n, dim]``, grouped by Gaussian then shuffled)
        whose ``info`` holds ``means`` ``[per_axis**dim, dim]``, ``group_of_gaussian``
        ``[per_axis**dim]``, ``centres`` ``[n_groups, dim]`` (the k-means centres),
        ``gaussian_train`` / ``gaussian_test`` (each sample's Gaussian) and ``spread``.

    Examples:
        >>> import jax
        >>> ds = gaussian_grid(key=jax.random.key(0), per_axis=3, n_groups=2, n_per_gaussian=4)
        >>> ds.x_train.shape, ds.info["means"].shape, ds.info["group_of_gaussian"].shape
        ((36, 2), (9, 2), (9,))
        >>> sorted(set(ds.y_train.tolist()))
        [0, 1]
    """
    key = _check_key(key)
    per_axis = _positive_int(per_axis, "per_axis")
    if per_axis < 2:
        raise ValueError(f"`per_axis` must be at least 2, got {per_axis}")
    dim = _positive_int(dim, "dim")
    n_gauss = per_axis**dim
    n_groups = _positive_int(n_groups, "n_groups")
    if n_groups > n_gauss:
        raise ValueError(f"`n_groups` must be at most per_axis**dim = {n_gauss}, got {n_groups}")
    n_per_gaussian = _positive_int(n_per_gaussian, "n_per_gaussian")
    if n_test_per_gaussian is None:
        n_test_per_gaussian = max(1, n_per_gaussian // 4)
    n_test_per_gaussian = _positive_int(n_test_per_gaussian, "n_test_per_gaussian")
    spacing = 1.0 / (per_axis - 1)
    if spread is None:
        spread = spacing / 8.0
    if not np.isfinite(spread) or spread <= 0:
        raise ValueError(f"`spread` must be a positive number, got {spread!r}")

    axis = np.linspace(0.0, 1.0, per_axis, dtype=np.float32)
    means = np.stack(np.meshgrid(*([axis] * dim), indexing="ij"), axis=-1).reshape(n_gauss, dim)
    k_kmeans, k_train, k_test, k_perm = jax.random.split(key, 4)
    centres = _kmeans(means, n_groups, _seed_from_key(k_kmeans))
    sq = ((means[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
    group = np.argmin(sq, axis=1).astype(np.int32)

    def draw(k: jax.Array, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        k_noise, k_shuffle = jax.random.split(k)
        gauss = np.repeat(np.arange(n_gauss, dtype=np.int32), n)
        noise = np.asarray(jax.random.normal(k_noise, (n_gauss * n, dim), jnp.float32))
        x = means[gauss] + np.float32(spread) * noise
        order = np.asarray(jax.random.permutation(k_shuffle, n_gauss * n))
        return x[order], group[gauss[order]], gauss[order]

    x_tr, y_tr, g_tr = draw(k_train, n_per_gaussian)
    x_te, y_te, g_te = draw(k_test, n_test_per_gaussian)
    info = {
        "means": means,
        "group_of_gaussian": group,
        "centres": centres,
        "gaussian_train": g_tr,
        "gaussian_test": g_te,
        "spread": float(spread),
        "per_axis": per_axis,
        "dim": dim,
        "n_groups": n_groups,
    }
    return Dataset(x_tr, y_tr, x_te, y_te, f"gaussian_grid({per_axis}^{dim}, {n_groups})", info)


def diagonal_probe(
    t: Any,
    *,
    dim: int = 2,
    m: int = 1,
    key: jax.Array | None = None,
    start: float = 0.0,
    spread: float = 0.03,
) -> jax.Array:
    """Probe points on the diagonal of ``[0, 1]^dim`` (the discriminability paper's test data).

    The centre at arc length ``t`` from the corner ``start·1`` is
    ``start·1 + t·1/√dim``. With ``key=None`` and ``m = 1`` the probe is that single
    point; with a key it is a cloud of ``m`` points, the centre plus isotropic
    Gaussian noise of standard deviation ``spread``. The noise depends on ``key``
    only, so every ``t`` gets the same cloud shape and clouds differ only by the shift.

    Args:
        t: arc length(s) along the diagonal, a scalar or an array ``[T]``.
        dim: the input dimension.
        m: points per probe.
        key: a ``jax.random`` key for the cloud; required when ``m > 1``.
        start: the diagonal starts at the corner ``start·1``.
        spread: standard deviation of the cloud around its centre.

    Returns:
        ``float32[m, dim]`` for a scalar ``t``, ``float32[T, m, dim]`` for ``t: [T]``.

    Examples:
        >>> import jax
        >>> p = diagonal_probe(2.0**0.5, dim=2)
        >>> p.shape, [round(v, 4) for v in p[0].tolist()]
        ((1, 2), [1.0, 1.0])
        >>> clouds = diagonal_probe(jax.numpy.array([0.0, 0.5]), m=7, key=jax.random.key(1))
        >>> clouds.shape
        (2, 7, 2)
    """
    dim = _positive_int(dim, "dim")
    m = _positive_int(m, "m")
    t_arr = jnp.asarray(t, dtype=jnp.float32)
    if t_arr.ndim > 1:
        raise ValueError(f"`t` must be a scalar or a 1-D array [T], got shape {t_arr.shape}")
    if m > 1 and key is None:
        raise ValueError(f"`key` is required for a cloud of m={m} points")
    if not np.isfinite(spread) or spread < 0:
        raise ValueError(f"`spread` must be a non-negative number, got {spread!r}")
    centre = jnp.float32(start) + t_arr[..., None] / jnp.sqrt(jnp.float32(dim))  # [..., 1]
    centre = jnp.broadcast_to(centre, (*t_arr.shape, dim))[..., None, :]  # [..., 1, dim]
    if key is None:
        return centre
    noise = jnp.float32(spread) * jax.random.normal(_check_key(key), (m, dim), jnp.float32)
    return centre + noise.reshape((1,) * t_arr.ndim + (m, dim))


def digits(*, images: bool = False, test_size: int = 360) -> Dataset:
    """scikit-learn's bundled 8×8 digits, scaled to ``[0, 1]``, with a fixed stratified split.

    Args:
        images: return inputs as ``[n, 8, 8, 1]`` images (for a CNN) instead of ``[n, 64]``.
        test_size: number of test images (the split is stratified by label and fixed).

    Returns:
        A :class:`Dataset` with 1797 − ``test_size`` training and ``test_size`` test images.

    Examples:
        >>> ds = digits()
        >>> ds.x_train.shape, ds.x_test.shape, float(ds.x_train.max())
        ((1437, 64), (360, 64), 1.0)
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=test_size, stratify=y, random_state=0, shuffle=True
    )
    if images:
        x_tr, x_te = x_tr.reshape(-1, 8, 8, 1), x_te.reshape(-1, 8, 8, 1)
    return Dataset(x_tr, y_tr, x_te, y_te, "digits", {"image_shape": (8, 8, 1)})


@functools.lru_cache(maxsize=1)
def _mnist1d_arrays() -> tuple[np.ndarray, ...]:
    from mnist1d.data import get_dataset_args, make_dataset

    # make_dataset seeds the global `random` / `np.random`; restore the caller's state.
    py_state, np_state = random.getstate(), np.random.get_state()  # noqa: NPY002
    try:
        d = make_dataset(get_dataset_args())
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)  # noqa: NPY002
    arrays = (d["x"], d["y"], d["x_test"], d["y_test"])
    for a in arrays:
        a.setflags(write=False)
    return arrays


def mnist1d() -> Dataset:
    """MNIST-1D (Greydanus 2020): 4000 training and 1000 test signals of length 40.

    Made offline by the ``mnist1d`` package's procedural generator with its default
    arguments (``make_dataset(get_dataset_args())``, seed 42); its global seeding of
    ``random`` and ``np.random`` is undone, so the caller's random state is untouched.

    Returns:
        A :class:`Dataset` with ``x: float32[n, 40]`` and 10 classes.

    Examples:
        >>> ds = mnist1d()
        >>> ds.x_train.shape, ds.x_test.shape, ds.n_classes
        ((4000, 40), (1000, 40), 10)
    """
    x_tr, y_tr, x_te, y_te = _mnist1d_arrays()
    return Dataset(x_tr.copy(), y_tr.copy(), x_te.copy(), y_te.copy(), "mnist1d", {})


# --- local files in their standard formats -------------------------------------------------

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _read_bytes(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            head = f.read(2)
            f.seek(0)
            if head == b"\x1f\x8b":
                with gzip.GzipFile(fileobj=f) as g:
                    return g.read()
            return f.read()
    except (OSError, EOFError) as err:
        if isinstance(err, FileNotFoundError):
            raise
        raise ValueError(f"cannot read {path}: {err}") from None


def _read_idx(path: Path) -> np.ndarray:
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise ValueError(f"{path} is not a valid IDX file (truncated header)")
    shape = tuple(int(s) for s in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(
            f"{path} is malformed: header says shape {shape} ({expected} bytes), "
            f"file holds {len(raw)} bytes"
        )
    return np.frombuffer(raw, dtype, offset=header).reshape(shape)


def _find(directory: Path, names: list[str]) -> Path:
    for name in names:
        for candidate in (directory / name, directory / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    raise FileNotFoundError(f"{directory / names[0]} (or .gz) not found")


def load_mnist(path: str | os.PathLike[str], *, images: bool = False) -> Dataset:
    """MNIST (or Fashion-MNIST) from the four IDX files in a directory.

    Reads ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (each optionally
    ``.gz``; the ``...-idx3.ubyte`` spelling is accepted too). Nothing is downloaded.

    Args:
        path: the directory holding the files.
        images: return ``[n, 28, 28, 1]`` images instead of flat ``[n, 784]`` vectors.

    Returns:
        A :class:`Dataset` with pixel values scaled to ``[0, 1]``.

    Raises:
        FileNotFoundError: the directory or a file is missing (the message names it).
        ValueError: a file is not a valid IDX file, or images and labels disagree.

    Examples:
        >>> load_mnist("/nonexistent")
        Traceback (most recent call last):
        ...
        FileNotFoundError: MNIST directory /nonexistent not found
    """
    directory = Path(path)
    if not directory.is_dir():
        raise FileNotFoundError(f"MNIST directory {directory} not found")
    arrays = []
    for split in ("train", "t10k"):
        img_path = _find(directory, [f"{split}-images-idx3-ubyte", f"{split}-images.idx3-ubyte"])
        lab_path = _find(directory, [f"{split}-labels-idx1-ubyte", f"{split}-labels.idx1-ubyte"])
        img, lab = _read_idx(img_path), _read_idx(lab_path)
        if img.ndim != 3 or img.dtype != np.uint8:
            raise ValueError(f"{img_path} must hold uint8 images [n, h, w], got {img.shape}")
        if lab.ndim != 1 or lab.shape[0] != img.shape[0]:
            raise ValueError(
                f"{lab_path} must hold {img.shape[0]} labels to match {img_path}, "
                f"got shape {lab.shape}"
            )
        if lab.size and lab.max() > 9:
            raise ValueError(f"{lab_path} holds a label {lab.max()} outside 0..9")
        x = img.astype(np.float32) / 255.0
        x = x[..., None] if images else x.reshape(x.shape[0], -1)
        arrays += [x, lab.astype(np.int32)]
    return Dataset(*arrays, "mnist", {"path": str(directory)})


_CIFAR_RECORD = 1 + 3 * 32 * 32


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    raw = _read_bytes(path)
    if len(raw) == 0 or len(raw) % _CIFAR_RECORD:
        raise ValueError(
            f"{path} is not a CIFAR-10 binary batch: {len(raw)} bytes is not a positive "
            f"multiple of the {_CIFAR_RECORD}-byte record"
        )
    rec = np.frombuffer(raw, np.uint8).reshape(-1, _CIFAR_RECORD)
    labels = rec[:, 0]
    if labels.max() > 9:
        raise ValueError(f"{path} holds a label {labels.max()} outside 0..9")
    x = rec[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return x, labels.astype(np.int32)


def load_cifar10(path: str | os.PathLike[str], *, images: bool = False) -> Dataset:
    """CIFAR-10 from the binary version's files (``data_batch_1..5.bin``, ``test_batch.bin``).

    Each file is a run of fixed-size records (one label byte, then 3072 pixel bytes
    in channel-major order); nothing is unpickled and nothing is downloaded. ``path``
    may be the ``cifar-10-batches-bin`` directory or its parent.

    Args:
        path: the directory holding the files.
        images: return ``[n, 32, 32, 3]`` images instead of flat ``[n, 3072]`` vectors
            (flattened from the ``[32, 32, 3]`` layout).

    Returns:
        A :class:`Dataset` with pixel values scaled to ``[0, 1]``.

    Raises:
        FileNotFoundError: the directory or a file is missing (the message names it).
        ValueError: a file is not a run of CIFAR-10 records.

    Examples:
        >>> load_cifar10("/nonexistent")
        Traceback (most recent call last):
        ...
        FileNotFoundError: CIFAR-10 directory /nonexistent not found
    """
    directory = Path(path)
    if not directory.is_dir():
        raise FileNotFoundError(f"CIFAR-10 directory {directory} not found")
    if (directory / "cifar-10-batches-bin").is_dir():
        directory = directory / "cifar-10-batches-bin"
    names = [f"data_batch_{i}.bin" for i in range(1, 6)]
    out = []
    for files in (names, ["test_batch.bin"]):
        parts = []
        for name in files:
            file = directory / name
            if not file.is_file():
                raise FileNotFoundError(f"{file} not found")
            parts.append(_read_cifar_batch(file))
        x = np.concatenate([p[0] for p in parts]).astype(np.float32) / 255.0
        if not images:
            x = x.reshape(x.shape[0], -1)
        out += [x, np.concatenate([p[1] for p in parts])]
    return Dataset(*out, "cifar10", {"path": str(directory)})
