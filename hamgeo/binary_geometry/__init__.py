"""High-dimensional geometry of binary neural networks.

Anderson & Berg, *The high-dimensional geometry of binary neural networks* (ICLR 2018
workshop; [BNN-Geometry] in ``docs/references.md``) explain why networks with binary weights and
activations work: in high dimension, binarizing a vector (``bin(x) = 1 if x > 0 else
-1``) turns it by a small angle compared with the angle between two random vectors
(their Fig. 2), so a trained BNN approximately preserves the dot products ``a . w_c``
of its continuous latent weights ``w_c`` when it uses ``w_b = bin(w_c)`` instead
(their Fig. 3).

This package holds both halves (``_angles``: Fig. 2; ``_dots``: Fig. 3):

- [`binarization_angles`][hamgeo.binary_geometry.binarization_angles] samples the two angle
  distributions of Fig. 2, and
  [`angle_theory`][hamgeo.binary_geometry.angle_theory] /
  [`sign_angle_limit`][hamgeo.binary_geometry.sign_angle_limit] give their closed forms (limit angle
  ``arccos(E|w| / sqrt(E w^2))``, finite-dimension mean and spread, overlap of the two
  distributions); [`angle_overlap`][hamgeo.binary_geometry.angle_overlap] measures the overlap of
  two samples.
- [`dot_product_preservation`][hamgeo.binary_geometry.dot_product_preservation] measures, per
  binary layer of a trained
  [`BinaryMLP`][hamgeo.nets.BinaryMLP] / [`BinaryCNN`][hamgeo.nets.BinaryCNN], how well ``a . w_b``
  tracks ``a . w_c`` (pooled over units and unit by unit), the activation variant
  ``w_b . a_c`` vs ``w_b . a_b``, and two baselines: a random binary vector in place of
  ``w_b`` (which scores high when the layer's inputs are nearly low-rank, so it can
  fail) and the isotropic-input prediction ``cos angle(w_b, w_c)``.

The paper shows the angle distributions (its Fig. 2) but gives no formula for them: the
limit ``arccos(E|w| / sqrt(E w^2))`` (30 degrees for uniform entries), the
finite-dimension moments, the overlap and the isotropic prediction are hamgeo's theory.
"""

from hamgeo.binary_geometry._angles import AngleTheory as AngleTheory
from hamgeo.binary_geometry._angles import BinarizationAngles as BinarizationAngles
from hamgeo.binary_geometry._angles import angle_overlap as angle_overlap
from hamgeo.binary_geometry._angles import angle_theory as angle_theory
from hamgeo.binary_geometry._angles import binarization_angles as binarization_angles
from hamgeo.binary_geometry._angles import sign_angle_limit as sign_angle_limit
from hamgeo.binary_geometry._dots import LayerPreservation as LayerPreservation
from hamgeo.binary_geometry._dots import dot_product_preservation as dot_product_preservation

__all__ = [
    "AngleTheory",
    "BinarizationAngles",
    "LayerPreservation",
    "angle_overlap",
    "angle_theory",
    "binarization_angles",
    "dot_product_preservation",
    "sign_angle_limit",
]
