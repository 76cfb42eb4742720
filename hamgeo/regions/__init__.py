"""Cells of a ReLU network's tessellation: counts, redundancy, line regions, slices, facets.

A ReLU network cuts its input space into convex polyhedral cells; the on/off
pattern of the hidden units (the activation code) names the cell an input falls
in. This package counts the distinct cells a sample meets (the *redundancy ratio*
of the hash-encoder paper, [Hash-Encoders]), finds every cell a straight segment
crosses exactly, draws the cells met on a 2-D plane (a raster preview, or the
exact partition into polygons), finds the units whose hyperplanes bound a cell
(its facets), and measures distances between cells: boundary crossings on a
segment, the tessellation distance d_T of the discriminability paper
([Discriminability]) and a facet-aware Hamming distance. References:
``docs/references.md``.

The public names live in private modules (see ``README.md`` in this folder) and
are re-exported here; import them from ``hamgeo.regions``.
"""

from hamgeo.codes import select_bits as select_bits
from hamgeo.regions._common import mlp_layers as mlp_layers
from hamgeo.regions._counts import count_regions as count_regions
from hamgeo.regions._counts import count_regions_per_layer as count_regions_per_layer
from hamgeo.regions._counts import redundancy_ratio as redundancy_ratio
from hamgeo.regions._counts import redundancy_ratio_per_layer as redundancy_ratio_per_layer
from hamgeo.regions._counts import region_ids as region_ids
from hamgeo.regions._exact import ExactPartition as ExactPartition
from hamgeo.regions._exact import exact_slice_partition as exact_slice_partition
from hamgeo.regions._facets import cell_facets as cell_facets
from hamgeo.regions._facets import facet_hamming as facet_hamming
from hamgeo.regions._graph import CellGraph as CellGraph
from hamgeo.regions._graph import cell_graph as cell_graph
from hamgeo.regions._graph import tessellation_distance as tessellation_distance
from hamgeo.regions._lines import LineRegions as LineRegions
from hamgeo.regions._lines import crossing_distance as crossing_distance
from hamgeo.regions._lines import line_regions as line_regions
from hamgeo.regions._plot import plot_partition as plot_partition
from hamgeo.regions._slices import SlicePartition as SlicePartition
from hamgeo.regions._slices import slice_partition as slice_partition

__all__ = [
    "CellGraph",
    "ExactPartition",
    "LineRegions",
    "SlicePartition",
    "cell_facets",
    "cell_graph",
    "count_regions",
    "count_regions_per_layer",
    "crossing_distance",
    "exact_slice_partition",
    "facet_hamming",
    "line_regions",
    "mlp_layers",
    "plot_partition",
    "redundancy_ratio",
    "redundancy_ratio_per_layer",
    "region_ids",
    "select_bits",
    "slice_partition",
    "tessellation_distance",
]
