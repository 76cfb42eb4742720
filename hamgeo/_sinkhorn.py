"""Sinkhorn engines behind :mod:`hamgeo.transport` (private).

Two pieces live here:

* :func:`kernel_sinkhorn`: a dense, stabilized *kernel-mode* Sinkhorn with
  epsilon-scaling (Schmitzer 2019, "Stabilized sparse scaling algorithms for
  entropy regularized transport problems"). Each iteration is two matrix-vector
  products with an absorbed kernel ``K = exp((f_i + g_j - C_ij) / eps)`` instead
  of two log-sum-exp passes over the cost matrix; the potentials are absorbed
  into the kernel (one ``exp`` pass) only when the scalings leave a safe range
  or epsilon moves to its next stage.
* :class:`OnlineHammingGeometry`: an implementation of OTT-JAX's
  :class:`~ott.geometry.geometry.Geometry` interface that never stores the cost
  matrix: it recomputes blocks of Hamming costs from packed codes inside each
  log-sum-exp, so memory is ``O((n + m) * W)`` plus one block.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from ott.geometry import geometry

from hamgeo._blocks import map_blocks
from hamgeo.codes import PackedCodes
from hamgeo.hamming import pairwise_hamming

__all__ = ["KernelSinkhornOutput", "OnlineHammingGeometry", "kernel_sinkhorn"]

# Absorb the scalings into the kernel once |log u| or |log v| exceeds this;
# exp(30) ~ 1e13 keeps float32 products far from overflow.
_ABSORB_TAU = 30.0


class KernelSinkhornOutput(NamedTuple):
    """What :func:`kernel_sinkhorn` returns (all arrays)."""

    cost: jax.Array  # <P, C> of the final plan
    f: jax.Array  # [n] log-domain potentials, P = exp((f + g - C) / eps)
    g: jax.Array  # [m]
    error: jax.Array  # L1 column-marginal violation at the target epsilon
    converged: jax.Array
    n_iters: jax.Array  # iterations done in total, epsilon stages included


def _kernel(cost, f, g, eps):
    return jnp.exp((f[:, None] + g[None, :] - cost) / eps)


@functools.partial(jax.jit, static_argnames=("max_iterations", "stage_iterations"))
def kernel_sinkhorn(
    cost: jax.Array,
    a: jax.Array,
    b: jax.Array,
    epsilon: jax.Array,
    *,
    threshold: float,
    max_iterations: int,
    epsilon_init: jax.Array,
    decay: float = 0.5,
    stage_iterations: int = 20,
) -> KernelSinkhornOutput:
    """Stabilized kernel-mode Sinkhorn with epsilon-scaling on a dense cost.

    Epsilon starts at ``max(epsilon_init, epsilon)`` and is multiplied by
    ``decay`` after each stage of at most ``stage_iterations`` iterations (or
    sooner, once the stage's marginal error is below ``threshold``), warm-starting
    each stage from the previous potentials. At the target ``epsilon`` the loop
    runs until the L1 violation of the column marginal (measured after the row
    update, as POT does) is below ``threshold`` or ``max_iterations`` is reached.

    Args:
        cost: ``[n, m]`` cost matrix (floating).
        a: ``[n]`` positive row weights summing to 1.
        b: ``[m]`` positive column weights summing to 1.
        epsilon: target regularization (> 0).
        threshold: stopping tolerance on the L1 marginal violation.
        max_iterations: iteration budget, all stages together.
        epsilon_init: epsilon of the first stage.
        decay: factor between stages.
        stage_iterations: iteration cap of an intermediate stage.

    Returns:
        :class:`KernelSinkhornOutput`.
    """
    dtype = cost.dtype
    n, m = cost.shape
    tiny = jnp.finfo(dtype).tiny
    eps_t = jnp.asarray(epsilon, dtype)
    e0 = jnp.maximum(jnp.asarray(epsilon_init, dtype), eps_t)
    f0 = jnp.zeros((n,), dtype)
    g0 = jnp.zeros((m,), dtype)
    inf = jnp.asarray(jnp.inf, dtype)

    def body(state):
        f, g, u, v, k, e, it, stage_it, err_final = state
        kv = k @ v
        u = a / jnp.maximum(kv, tiny)
        ktu = u @ k
        err = jnp.sum(jnp.abs(v * ktu - b))
        v = b / jnp.maximum(ktu, tiny)
        at_target = e <= eps_t
        err_final = jnp.where(at_target, err, inf)
        big = jnp.maximum(jnp.max(jnp.abs(jnp.log(u))), jnp.max(jnp.abs(jnp.log(v)))) > _ABSORB_TAU
        next_stage = (~at_target) & ((err < threshold) | (stage_it + 1 >= stage_iterations))

        def absorb(_):
            f_new = f + e * jnp.log(u)
            g_new = g + e * jnp.log(v)
            e_new = jnp.where(next_stage, jnp.maximum(e * decay, eps_t), e)
            ones_n, ones_m = jnp.ones_like(u), jnp.ones_like(v)
            return f_new, g_new, ones_n, ones_m, _kernel(cost, f_new, g_new, e_new), e_new

        f, g, u, v, k, e_new = jax.lax.cond(
            big | next_stage, absorb, lambda _: (f, g, u, v, k, e), None
        )
        stage_it = jnp.where(e_new != e, 0, stage_it + 1)
        return f, g, u, v, k, e_new, it + 1, stage_it, err_final

    def cond(state):
        *_, it, _, err_final = state
        return (it < max_iterations) & ~(err_final < threshold)

    init = (
        f0,
        g0,
        jnp.ones((n,), dtype),
        jnp.ones((m,), dtype),
        _kernel(cost, f0, g0, e0),
        e0,
        jnp.asarray(0, jnp.int32),
        jnp.asarray(0, jnp.int32),
        inf,
    )
    f, g, u, v, k, e, it, _, err_final = jax.lax.while_loop(cond, body, init)
    value = u @ ((k * cost) @ v)
    f = f + e * jnp.log(u)
    g = g + e * jnp.log(v)
    converged = (err_final < threshold) & jnp.isfinite(value)
    return KernelSinkhornOutput(value, f, g, err_final, converged, it)


# ---------------------------------------------------------------------------
# Online Hamming geometry for OTT-JAX


@jax.tree_util.register_pytree_node_class
class OnlineHammingGeometry(geometry.Geometry):
    """Hamming ground cost ``d_H(x_i, y_j) ** power`` computed block by block.

    Implements the parts of OTT-JAX's :class:`~ott.geometry.geometry.Geometry`
    interface that its log-domain :class:`~ott.solvers.linear.sinkhorn.Sinkhorn`
    and :func:`~ott.tools.sinkhorn_divergence.sinkhorn_divergence` use
    (``apply_lse_kernel`` through ``_softmax``, ``apply_cost``, ``diag_cost``),
    without ever forming the ``[n, m]`` cost matrix: each call streams row
    blocks of ``block_size`` codes through :func:`hamgeo.pairwise_hamming`.

    Args:
        x: ``uint32[n, W]`` packed words of the first sample.
        y: ``uint32[m, W]`` packed words of the second sample.
        n_bits: bits per code.
        power: the cost is ``d_H ** power``.
        block_size: rows per streamed block.
        epsilon: absolute entropic regularization.
    """

    def __init__(
        self,
        x: jax.Array,
        y: jax.Array,
        *,
        n_bits: int,
        power: float = 1.0,
        block_size: int = 256,
        epsilon: Any = None,
        **kwargs: Any,
    ):
        super().__init__(epsilon=epsilon, **kwargs)
        self.x = x
        self.y = y
        self.n_bits = int(n_bits)
        self.power = float(power)
        self.block_size = int(block_size)

    # -- cost blocks -------------------------------------------------------
    def _cost(self, rows: jax.Array, cols: jax.Array) -> jax.Array:
        d = pairwise_hamming(PackedCodes(rows, self.n_bits), PackedCodes(cols, self.n_bits))
        d = d.astype(self.dtype)
        return d if self.power == 1.0 else d**self.power

    @property
    def shape(self) -> tuple[int, int]:  # noqa: D102
        return int(self.x.shape[0]), int(self.y.shape[0])

    @property
    def dtype(self) -> jnp.dtype:  # noqa: D102
        return jnp.zeros((), float).dtype

    @property
    def is_online(self) -> bool:  # noqa: D102
        return True

    @property
    def is_symmetric(self) -> bool:  # noqa: D102
        return False

    @property
    def cost_matrix(self) -> jax.Array:
        """The dense ``[n, m]`` cost (materializes it: for tests and small problems only)."""
        return self._cost(self.x, self.y)

    @property
    def kernel_matrix(self) -> jax.Array:  # noqa: D102
        return jnp.exp(-self.cost_matrix / self.epsilon)

    @property
    def diag_cost(self) -> jax.Array:  # noqa: D102
        # d_H(x_i, x_i) = 0 for the self-geometries of a Sinkhorn divergence; in
        # general compute the diagonal pairwise (O(n W)).
        pop = jax.lax.population_count(self.x ^ self.y).astype(jnp.int32).sum(-1)
        d = pop.astype(self.dtype)
        return d if self.power == 1.0 else d**self.power

    @property
    def inv_scale_cost(self) -> float:  # noqa: D102
        return 1.0

    # -- the OTT interface ---------------------------------------------------
    def _softmax(self, f, g, eps, vec, axis):
        # axis=1: reduce over columns (one value per x row); axis=0: per y column.
        if axis == 1:
            rows, cols, row_pot, col_pot = self.x, self.y, f, g
        else:
            rows, cols, row_pot, col_pot = self.y, self.x, g, f
        has_vec = vec is not None

        def block(words, pot):
            c = self._cost(words, cols)
            z = (pot[:, None] + col_pot[None, :] - c) / eps
            if has_vec:
                w = jnp.broadcast_to(vec[None, :], z.shape)
                return jax.nn.logsumexp(z, axis=1, b=w, return_sign=True)
            return jax.nn.logsumexp(z, axis=1), jnp.ones(z.shape[0], z.dtype)

        lse, sgn = map_blocks(
            lambda args: block(*args), (rows, row_pot), block_size=self.block_size
        )
        return eps * lse, (sgn if has_vec else jnp.array([1.0]))

    def _apply_cost_to_vec(self, vec, axis=0, fn=None, is_linear=False):
        del is_linear
        # axis=1: C @ vec (one value per x row); axis=0: C.T @ vec.
        rows, cols = (self.x, self.y) if axis == 1 else (self.y, self.x)

        def block(words):
            c = self._cost(words, cols)
            c = c if fn is None else fn(c)
            return c @ vec

        return map_blocks(block, rows, block_size=self.block_size)

    def transport_from_potentials(self, f, g):  # noqa: D102
        return jnp.exp((f[:, None] + g[None, :] - self.cost_matrix) / self.epsilon)

    def primal_cost(self, f: jax.Array, g: jax.Array) -> jax.Array:
        """``<P, C>`` for ``P = exp((f + g - C) / eps)``, streamed over row blocks."""
        eps = self.epsilon

        def block(args):
            words, fb = args
            c = self._cost(words, self.y)
            p = jnp.exp((fb[:, None] + g[None, :] - c) / eps)
            return jnp.sum(p * c, axis=1)

        return jnp.sum(map_blocks(block, (self.x, f), block_size=self.block_size))

    # -- divergences and pytree ------------------------------------------------
    @classmethod
    def prepare_divergences(cls, x, y, *, static_b: bool = False, **kwargs: Any):
        """The ``(x, y)``, ``(x, x)`` and ``(y, y)`` geometries of a Sinkhorn divergence."""
        pairs = [(x, y), (x, x)] + ([] if static_b else [(y, y)])
        return tuple(cls(p, q, **kwargs) for p, q in pairs)

    def tree_flatten(self):  # noqa: D102
        return (self.x, self.y, self._epsilon_init), {
            "n_bits": self.n_bits,
            "power": self.power,
            "block_size": self.block_size,
            "relative_epsilon": self._relative_epsilon,
            "scale_cost": self._scale_cost,
        }

    @classmethod
    def tree_unflatten(cls, aux_data, children):  # noqa: D102
        x, y, epsilon = children
        return cls(x, y, epsilon=epsilon, **aux_data)
