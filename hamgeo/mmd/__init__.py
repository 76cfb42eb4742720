"""Maximum mean discrepancy between samples, and its permutation test.

The discriminability paper compares samples of activation codes with the MMD
(Gretton et al. 2012, "A kernel two-sample test") under the exponentiated
Hamming kernel ``k(x, y) = exp(-d_H(x, y))`` (Yang et al. 2018). Here:

* ``kernel="hamming"``: ``exp(-d_H / bandwidth)`` on codes;
* ``kernel="hamming_normalized"``: ``exp(-(d_H / n_bits) / bandwidth)`` on codes;
* ``kernel="gaussian"``: ``exp(-|x - y|^2 / (2 bandwidth^2))`` on real vectors.

``bandwidth="median"`` is the median heuristic: the median of the pooled
pairwise distances (``d_H``, ``d_H / n_bits`` or the Euclidean distance).

**Underflow.** With hundreds of bits, ``exp(-d_H)`` is below the smallest
float32 (``d_H > 87``) for almost every pair: the kernel matrix is the identity
and the MMD only counts sample sizes. hamgeo checks this on the distances:
when every off-diagonal entry underflows it raises ``ValueError``; when some do
it warns with [`KernelUnderflowWarning`][hamgeo.mmd.KernelUnderflowWarning].
"""

from hamgeo.mmd._mmd import KernelUnderflowWarning as KernelUnderflowWarning
from hamgeo.mmd._mmd import TestResult as TestResult
from hamgeo.mmd._mmd import mmd as mmd
from hamgeo.mmd._mmd import mmd_test as mmd_test

__all__ = ["KernelUnderflowWarning", "TestResult", "mmd", "mmd_test"]
