"""Data sets: made offline, or read from a cache or a system folder, downloaded on request.

Offline (nothing ever downloaded):

* [`gaussian_grid`][hamgeo.data.gaussian_grid] and
  [`diagonal_probe`][hamgeo.data.diagonal_probe]: the controlled set-up of the
  discriminability paper ([Discriminability], section 3): Gaussians centred on an evenly
  spaced grid in ``[0, 1]^dim``, grouped into labels by k-means, and probe data on the
  cube's diagonal.
* [`digits`][hamgeo.data.digits]: scikit-learn's bundled 8×8 digits.
* [`mnist1d`][hamgeo.data.mnist1d]: MNIST-1D, made by the ``mnist1d`` package's
  procedural generator.
* [`load_mnist`][hamgeo.data.load_mnist] and [`load_cifar10`][hamgeo.data.load_cifar10]:
  read files a user already has, in their standard formats (IDX; CIFAR-10's binary
  version), unverified.

Verified by pinned SHA-256 (of the archive, or of its decompressed content), read from
the cache ([`cache_dir`][hamgeo.data.cache_dir]), from the read-only folders
``$HAMGEO_DATA_PATH`` and ``/usr/share/datasets``, or downloaded on request (through
pooch): [`mnist`][hamgeo.data.mnist], [`fashion_mnist`][hamgeo.data.fashion_mnist],
[`cifar10`][hamgeo.data.cifar10], and [`load`][hamgeo.data.load] by name
([`DATASETS`][hamgeo.data.DATASETS]). [`write_fake`][hamgeo.data.write_fake] writes
format-exact stand-ins for tests.

Every loader returns a [`Dataset`][hamgeo.data.Dataset] of NumPy ``float32`` inputs and
``int32`` labels. The bibliography keys refer to ``docs/references.md``.
"""

from hamgeo.data._bundled import digits as digits
from hamgeo.data._bundled import mnist1d as mnist1d
from hamgeo.data._cache import cache_dir as cache_dir
from hamgeo.data._dataset import Dataset as Dataset
from hamgeo.data._fake import write_fake as write_fake
from hamgeo.data._fetch import DownloadError as DownloadError
from hamgeo.data._formats import load_cifar10 as load_cifar10
from hamgeo.data._formats import load_mnist as load_mnist
from hamgeo.data._remote import DATASETS as DATASETS
from hamgeo.data._remote import DatasetName as DatasetName
from hamgeo.data._remote import cifar10 as cifar10
from hamgeo.data._remote import fashion_mnist as fashion_mnist
from hamgeo.data._remote import load as load
from hamgeo.data._remote import mnist as mnist
from hamgeo.data._sources import ChecksumError as ChecksumError
from hamgeo.data._synthetic import diagonal_probe as diagonal_probe
from hamgeo.data._synthetic import gaussian_grid as gaussian_grid

__all__ = [
    "DATASETS",
    "DatasetName",
    "ChecksumError",
    "Dataset",
    "DownloadError",
    "cache_dir",
    "cifar10",
    "diagonal_probe",
    "digits",
    "fashion_mnist",
    "gaussian_grid",
    "load",
    "load_cifar10",
    "load_mnist",
    "mnist",
    "mnist1d",
    "write_fake",
]
