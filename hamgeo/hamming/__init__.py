"""Hamming distances and nearest neighbours between packed binary codes.

Two formulations of the same exact integer result, four paths in all:

* popcount: XOR the packed words and count the set bits, summed over words, either
  in the native CPU kernel (``_native``: AVX-512 VPOPCNTDQ / AVX2 / portable,
  registered through ``jax.ffi``; path ``"native"``) or in XLA
  (``lax.population_count``; path ``"xla"``);
* ±1 product: with signs s = 1 - 2b, d_H(x, y) = (n - s_x . s_y) / 2, one matrix
  product on int8 operands with int32 accumulation (path ``"int8"``) or bf16 operands
  with f32 accumulation (path ``"bf16"``, exact while n <= 2^24): the form GPU tensor
  cores, TPU MXUs and CPU matrix units (AMX, VNNI) run fastest.

``method="auto"`` lets the measured dispatch (``_dispatch``) pick the fastest path for
the machine, the operation and the size, by a short measurement cached on disk (see
docs/concepts/codes.md). All paths are exact, so results never depend on the choice.
One traced function serves every platform: ``jax.lax.platform_dependent`` runs the
native kernel on CPU and the int8 / bf16 products on GPU / TPU, so ``jax.export``
lowers any entry point for ``cuda`` or ``tpu`` from a CPU-only machine.

The package: ``_api`` (the entry points, validation, per-platform choice), ``_xla``
(XLA kernels), ``_native`` (the native CPU kernels through ``jax.ffi``, built from
``hamgeo/csrc``), ``_dispatch`` (measured choice of ``method="auto"``), ``_sharding``
(row-sharded calls over a mesh).

Memory stays bounded: no ``[N, M, W]`` temporary is formed, and
[`hamming_knn`][hamgeo.hamming.hamming_knn] streams over the base with a running top-k
so its memory is ``O(block * (k + block))`` whatever the sizes. Truncated Hamming
d_{H,θ} = min(d_H, θ) is the metric of the discriminability paper's appendix
([Discriminability], docs/references.md).
"""

from hamgeo.hamming._api import Method as Method
from hamgeo.hamming._api import OutDtype as OutDtype
from hamgeo.hamming._api import hamming_knn as hamming_knn
from hamgeo.hamming._api import pairwise_hamming as pairwise_hamming
from hamgeo.hamming._dispatch import dispatch_rows as dispatch_rows
from hamgeo.hamming._native import NativeKernelWarning as NativeKernelWarning

__all__ = [
    "Method",
    "NativeKernelWarning",
    "OutDtype",
    "dispatch_rows",
    "hamming_knn",
    "pairwise_hamming",
]
