"""Reproduction of the BNN-geometry paper: binarization angles and dot-product preservation.

The paper is Anderson & Berg, *The high-dimensional geometry of binary neural networks*
([BNN-Geometry] in ``docs/references.md``). Its two results, as this package reproduces
them:

1. **Fig. 2** — for vectors with i.i.d. entries uniform on ``[-1, 1]`` (the paper; hamgeo
   adds Gaussian entries), the angle between a vector and its sign is small next to the
   angle between two random vectors, which concentrates near 90 degrees; the two
   distributions overlap at low dimension and separate at moderately high dimension
   ([`hamgeo.binary_geometry.binarization_angles`][hamgeo.binary_geometry.binarization_angles]).
   The limit
   ``arccos(E|w| / sqrt(E w^2))`` (30 degrees for uniform entries, 37 for Gaussian) and
   the finite-dimension theory are hamgeo's
   ([`hamgeo.binary_geometry.angle_theory`][hamgeo.binary_geometry.angle_theory]),
   not stated in the paper.
2. **Fig. 3** — in trained BNNs with batch norm without mean subtraction (the paper's
   Sec. 5.1; [`hamgeo.nets.NoMeanBatchNorm`][hamgeo.nets.NoMeanBatchNorm]), ``a . w_b`` is highly
   correlated with
   ``a . w_c`` layer by layer, less so in the first layer where the dimension is low;
   the same for the activation variant ``w_b . a_c`` vs ``w_b . a_b``
   ([`dot_product_preservation`][hamgeo.binary_geometry.dot_product_preservation], pooled as in
   the paper and
   per unit, against a random-binary-weight baseline and the isotropic-input
   prediction). The main model is a [`BinaryMLP`][hamgeo.nets.BinaryMLP] on ``Config.data``
   (digits offline by default; MNIST as the paper's Sec. 3 says, or the paper's CIFAR-10
   CNN with ``data="cifar10"``), with a BinaryMLP on MNIST-1D and a
   [`BinaryCNN`][hamgeo.nets.BinaryCNN] on digits beside it.

Every seed redraws the angles and retrains every network; every summary number is an
interval across seeds. Every trained net is measured again at initialization (the same
weights before training, the same pairs): the control its claims must beat. A fan-in
sweep (BinaryMLPs ``(w, fanin_next)``, layer 2 read at fan-in ``w``, its input always
binary activations) tests the paper's explanation of layer 1 apart from the observation.

Layout: ``_config`` (names, ``Config``; the leaf), ``_result`` (the Result and its
records), ``_verdicts`` (the findings), ``_run`` (data, training, measurements,
``run``), ``_plots`` (``plot``).
"""

from hamgeo.experiments.bnn_geometry._config import (
    DATASETS,
    HIGHLY_CORRELATED,
    NAME,
    Config,
)
from hamgeo.experiments.bnn_geometry._plots import plot
from hamgeo.experiments.bnn_geometry._result import FaninResult, ModelResult, Result, SeedResult
from hamgeo.experiments.bnn_geometry._run import Job, fanin_jobs, jobs, load_dataset, run

__all__ = [
    "DATASETS",
    "HIGHLY_CORRELATED",
    "NAME",
    "Config",
    "FaninResult",
    "Job",
    "ModelResult",
    "Result",
    "SeedResult",
    "fanin_jobs",
    "jobs",
    "load_dataset",
    "plot",
    "run",
]
