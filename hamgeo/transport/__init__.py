"""Optimal transport between samples of codes or vectors.

The Hamming ground cost is an OTT-JAX geometry,
[`HammingGeometry`][hamgeo.transport.HammingGeometry] (dense or online), that OTT's own
solvers accept; [`wasserstein`][hamgeo.transport.wasserstein] solves the entropic problem
on it with hamgeo's kernel-mode Sinkhorn (dense or streamed) or OTT's;
[`exact_wasserstein`][hamgeo.transport.exact_wasserstein] is the exact reference for small
samples ([Discriminability]).
"""

from hamgeo.transport._common import Cost as Cost
from hamgeo.transport._exact import exact_wasserstein as exact_wasserstein
from hamgeo.transport._geometry import HammingCost as HammingCost
from hamgeo.transport._geometry import HammingGeometry as HammingGeometry
from hamgeo.transport._wasserstein import DEFAULT_RELATIVE_EPSILON as DEFAULT_RELATIVE_EPSILON
from hamgeo.transport._wasserstein import Method as Method
from hamgeo.transport._wasserstein import TransportResult as TransportResult
from hamgeo.transport._wasserstein import wasserstein as wasserstein

__all__ = [
    "DEFAULT_RELATIVE_EPSILON",
    "Cost",
    "HammingCost",
    "HammingGeometry",
    "Method",
    "TransportResult",
    "exact_wasserstein",
    "wasserstein",
]
