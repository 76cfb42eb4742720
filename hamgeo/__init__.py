"""hamgeo: the geometry of binarized neural-network activations, in JAX.

A ReLU network cuts its input space into polyhedral cells; the on/off pattern of
its hidden units (the activation code) names the cell an input falls in. hamgeo
trains such networks, extracts their codes as packed bits, and measures code
space: Hamming distances, nearest neighbours, optimal transport and kernel
distances between samples, cell counts and cell adjacency.
"""

from hamgeo._version import __version__ as __version__

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
