"""Data sets: made offline, or read from a cache and downloaded on request, verified.

Offline (nothing ever downloaded):

* :func:`gaussian_grid` and :func:`diagonal_probe`: the controlled set-up of the
  discriminability paper ([Discriminability], section 3): Gaussians centred on an
  evenly spaced grid in ``[0, 1]^dim``, grouped into labels by k-means, and probe data
  on the cube's diagonal.
* :func:`digits`: scikit-learn's bundled 8×8 digits.
* :func:`mnist1d`: MNIST-1D, made by the ``mnist1d`` package's procedural generator.
* :func:`load_mnist` and :func:`load_cifar10`: read files a user already has, in their
  standard formats (IDX; CIFAR-10's binary version), unverified.

On request (downloaded once into :func:`cache_dir`, verified by pinned SHA-256):

* :func:`mnist`, :func:`fashion_mnist`, :func:`cifar10`, and :func:`load` by name
  (:data:`DATASETS`). :func:`write_fake` writes format-exact stand-ins for tests.

Every loader returns a :class:`Dataset` of NumPy ``float32`` inputs and ``int32``
labels. The bibliography keys refer to ``docs/references.md``.
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
from hamgeo.data._remote import cifar10 as cifar10
from hamgeo.data._remote import fashion_mnist as fashion_mnist
from hamgeo.data._remote import load as load
from hamgeo.data._remote import mnist as mnist
from hamgeo.data._sources import ChecksumError as ChecksumError
from hamgeo.data._synthetic import diagonal_probe as diagonal_probe
from hamgeo.data._synthetic import gaussian_grid as gaussian_grid

__all__ = [
    "DATASETS",
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
