"""hamgeo: the geometry of binarized neural-network activations, in JAX.

A ReLU network cuts its input space into polyhedral cells; the on/off pattern of
its hidden units (the activation code) names the cell an input falls in. hamgeo
trains such networks, extracts their codes as packed bits, and measures code
space: Hamming distances, nearest neighbours, optimal transport and kernel
distances between samples, cell counts and cell adjacency.

The public names load on first use (PEP 562), so ``import hamgeo`` and the ``hamgeo``
command's ``--help`` and ``--version`` do not import JAX; the ``TYPE_CHECKING`` block
below is what type checkers and editors read, and ``tests/test_typing.py`` checks that
it names the same things as ``_EXPORTS``.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from hamgeo._version import __version__ as __version__

if TYPE_CHECKING:
    # codes
    from hamgeo.codes import PackedCodes as PackedCodes
    from hamgeo.codes import from_packbits as from_packbits
    from hamgeo.codes import pack_bits as pack_bits
    from hamgeo.codes import to_packbits as to_packbits
    from hamgeo.codes import unpack_bits as unpack_bits

    # hamming kernels
    from hamgeo.hamming import hamming_knn as hamming_knn
    from hamgeo.hamming import pairwise_hamming as pairwise_hamming

    # nets
    from hamgeo.nets.extract import activation_codes as activation_codes
    from hamgeo.nets.extract import preactivations as preactivations

    # distances between samples
    from hamgeo.gaussian import frechet_distance as frechet_distance
    from hamgeo.mmd import KernelUnderflowWarning as KernelUnderflowWarning
    from hamgeo.mmd import TestResult as TestResult
    from hamgeo.mmd import mmd as mmd
    from hamgeo.mmd import mmd_test as mmd_test
    from hamgeo.transport import HammingGeometry as HammingGeometry
    from hamgeo.transport import TransportResult as TransportResult
    from hamgeo.transport import exact_wasserstein as exact_wasserstein
    from hamgeo.transport import wasserstein as wasserstein

    # analysis
    from hamgeo.binary_geometry import binarization_angles as binarization_angles
    from hamgeo.binary_geometry import dot_product_preservation as dot_product_preservation
    from hamgeo.encoding import kmeans_accuracy as kmeans_accuracy
    from hamgeo.encoding import knn_accuracy as knn_accuracy
    from hamgeo.encoding import knn_classify as knn_classify
    from hamgeo.encoding import logreg_accuracy as logreg_accuracy
    from hamgeo.regions import cell_facets as cell_facets
    from hamgeo.regions import cell_graph as cell_graph
    from hamgeo.regions import count_regions as count_regions
    from hamgeo.regions import count_regions_per_layer as count_regions_per_layer
    from hamgeo.regions import crossing_distance as crossing_distance
    from hamgeo.regions import exact_slice_partition as exact_slice_partition
    from hamgeo.regions import facet_hamming as facet_hamming
    from hamgeo.regions import line_regions as line_regions
    from hamgeo.regions import plot_partition as plot_partition
    from hamgeo.regions import redundancy_ratio as redundancy_ratio
    from hamgeo.regions import redundancy_ratio_per_layer as redundancy_ratio_per_layer
    from hamgeo.regions import slice_partition as slice_partition
    from hamgeo.regions import tessellation_distance as tessellation_distance

#: public name -> the module that defines it (loaded on first use)
_EXPORTS = {
    # codes
    "PackedCodes": "hamgeo.codes",
    "from_packbits": "hamgeo.codes",
    "pack_bits": "hamgeo.codes",
    "to_packbits": "hamgeo.codes",
    "unpack_bits": "hamgeo.codes",
    # hamming kernels
    "hamming_knn": "hamgeo.hamming",
    "pairwise_hamming": "hamgeo.hamming",
    # nets
    "activation_codes": "hamgeo.nets.extract",
    "preactivations": "hamgeo.nets.extract",
    # distances between samples
    "frechet_distance": "hamgeo.gaussian",
    "KernelUnderflowWarning": "hamgeo.mmd",
    "TestResult": "hamgeo.mmd",
    "mmd": "hamgeo.mmd",
    "mmd_test": "hamgeo.mmd",
    "HammingGeometry": "hamgeo.transport",
    "TransportResult": "hamgeo.transport",
    "exact_wasserstein": "hamgeo.transport",
    "wasserstein": "hamgeo.transport",
    # analysis
    "binarization_angles": "hamgeo.binary_geometry",
    "dot_product_preservation": "hamgeo.binary_geometry",
    "kmeans_accuracy": "hamgeo.encoding",
    "knn_accuracy": "hamgeo.encoding",
    "knn_classify": "hamgeo.encoding",
    "logreg_accuracy": "hamgeo.encoding",
    "cell_facets": "hamgeo.regions",
    "cell_graph": "hamgeo.regions",
    "count_regions": "hamgeo.regions",
    "count_regions_per_layer": "hamgeo.regions",
    "crossing_distance": "hamgeo.regions",
    "exact_slice_partition": "hamgeo.regions",
    "facet_hamming": "hamgeo.regions",
    "line_regions": "hamgeo.regions",
    "plot_partition": "hamgeo.regions",
    "redundancy_ratio": "hamgeo.regions",
    "redundancy_ratio_per_layer": "hamgeo.regions",
    "slice_partition": "hamgeo.regions",
    "tessellation_distance": "hamgeo.regions",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        try:  # a subpackage not imported yet, e.g. ``hamgeo.nets``
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


class _Namespace(types.ModuleType):
    """The package module: a submodule named like its function keeps the function visible."""

    def __setattr__(self, name: str, value: Any) -> None:
        # importing hamgeo.mmd binds the module as hamgeo.mmd, over the function mmd; keep
        # the function there, as the eager re-exports did
        if isinstance(value, types.ModuleType) and _EXPORTS.get(name) == value.__name__:
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Namespace
