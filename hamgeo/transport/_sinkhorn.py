"""Sinkhorn engines behind [`hamgeo.transport`][hamgeo.transport] (private).

Two engines live here, both jitted once at module level:

* `kernel_sinkhorn`: a dense, stabilized *kernel-mode* Sinkhorn with
  epsilon-scaling (Schmitzer 2019, "Stabilized sparse scaling algorithms for
  entropy regularized transport problems"). Each iteration is two matrix-vector
  products with an absorbed kernel ``K = exp((f_i + g_j - C_ij) / eps)`` instead
  of two log-sum-exp passes over the cost matrix; the potentials are absorbed
  into the kernel (one ``exp`` pass) only when the scalings leave a safe range
  or epsilon moves to its next stage.
* `online_sinkhorn`: the same algorithm on codes without the ``[n, m]`` cost:
  each iteration is ONE streamed pass over row blocks that forms the Hamming block
  from packed words, the kernel ``exp((f + g - C) / eps)``, the row update and the
  column sums together (the potentials absorb the scalings every iteration, so no
  kernel is stored). Memory ``O((n + m) W)`` plus one block.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from hamgeo.codes import PackedCodes
from hamgeo.hamming import pairwise_hamming

__all__ = ["EpsilonScaling", "KernelSinkhornOutput", "kernel_sinkhorn", "online_sinkhorn"]

# Absorb the scalings into the kernel once |log u| or |log v| exceeds this;
# exp(30) ~ 1e13 keeps float32 products far from overflow.
_ABSORB_TAU = 30.0


class KernelSinkhornOutput(NamedTuple):
    """What [`kernel_sinkhorn`][hamgeo.transport._sinkhorn.kernel_sinkhorn] returns (all arrays)."""

    cost: jax.Array  # <P, C> of the final plan
    f: jax.Array  # [n] log-domain potentials, P = exp((f + g - C) / eps)
    g: jax.Array  # [m]
    error: jax.Array  # L1 column-marginal violation at the target epsilon
    converged: jax.Array
    n_iters: jax.Array  # iterations done in total, epsilon stages included


class EpsilonScaling(NamedTuple):
    """The epsilon-scaling schedule and the stopping rule both engines follow (a pytree).

    Epsilon starts at ``max(epsilon_init, epsilon)`` and is multiplied by ``decay``
    after each stage of at most ``stage_iterations`` iterations (or sooner, once the
    stage's marginal error is below ``threshold``), warm-starting each stage from the
    previous potentials. At the target ``epsilon`` the loop runs until the L1 violation
    of the column marginal (measured after the row update, as POT does) is below
    ``threshold`` or ``max_iterations`` is reached.

    Attributes:
        threshold: stopping tolerance on the L1 column-marginal violation.
        max_iterations: iteration budget, all stages together.
        epsilon_init: epsilon of the first stage.
        decay: factor between stages.
        stage_iterations: iteration cap of an intermediate stage.
    """

    threshold: Any
    max_iterations: Any
    epsilon_init: Any
    decay: Any = 0.5
    stage_iterations: Any = 20

    def first(self, eps_t: jax.Array) -> jax.Array:
        """Epsilon of the first stage (``eps_t``: the target, in the solver's dtype)."""
        return jnp.maximum(jnp.asarray(self.epsilon_init, eps_t.dtype), eps_t)

    def stage(
        self, e: jax.Array, eps_t: jax.Array, err: jax.Array, stage_it: jax.Array
    ) -> tuple[jax.Array, jax.Array]:
        """``(err_final, next_stage)`` after an iteration at epsilon ``e`` with error ``err``.

        ``err_final`` is ``err`` at the target epsilon, else inf; ``next_stage`` whether
        an intermediate stage ends here.
        """
        at_target = e <= eps_t
        err_final = jnp.where(at_target, err, jnp.asarray(jnp.inf, err.dtype))
        ends = (err < self.threshold) | (stage_it + 1 >= self.stage_iterations)
        return err_final, (~at_target) & ends

    def next_epsilon(self, e: jax.Array, eps_t: jax.Array, next_stage: jax.Array) -> jax.Array:
        """Epsilon after this iteration: decayed (never below the target) when a stage ends."""
        return jnp.where(next_stage, jnp.maximum(e * self.decay, eps_t), e)

    def running(self, it: jax.Array, err_final: jax.Array) -> jax.Array:
        """Whether the loop goes on: budget left and the target not reached."""
        return (it < self.max_iterations) & ~(err_final < self.threshold)

    def converged(self, err_final: jax.Array, value: jax.Array) -> jax.Array:
        """The target reached with a finite transport cost."""
        return (err_final < self.threshold) & jnp.isfinite(value)


def _kernel(cost, f, g, eps):
    return jnp.exp((f[:, None] + g[None, :] - cost) / eps)


@jax.jit
def kernel_sinkhorn(
    cost: jax.Array, a: jax.Array, b: jax.Array, epsilon: jax.Array, schedule: EpsilonScaling
) -> KernelSinkhornOutput:
    """Stabilized kernel-mode Sinkhorn with epsilon-scaling on a dense cost.

    Args:
        cost: ``[n, m]`` cost matrix (floating).
        a: ``[n]`` positive row weights summing to 1.
        b: ``[m]`` positive column weights summing to 1.
        epsilon: target regularization (> 0).
        schedule: the stages and the stopping rule
            ([`EpsilonScaling`][hamgeo.transport._sinkhorn.EpsilonScaling]).

    Returns:
        [`KernelSinkhornOutput`][hamgeo.transport._sinkhorn.KernelSinkhornOutput].
    """
    dtype = cost.dtype
    n, m = cost.shape
    tiny = jnp.finfo(dtype).tiny
    eps_t = jnp.asarray(epsilon, dtype)
    e0 = schedule.first(eps_t)
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
        err_final, next_stage = schedule.stage(e, eps_t, err, stage_it)
        big = jnp.maximum(jnp.max(jnp.abs(jnp.log(u))), jnp.max(jnp.abs(jnp.log(v)))) > _ABSORB_TAU

        def absorb(_):
            f_new = f + e * jnp.log(u)
            g_new = g + e * jnp.log(v)
            e_new = schedule.next_epsilon(e, eps_t, next_stage)
            ones_n, ones_m = jnp.ones_like(u), jnp.ones_like(v)
            return f_new, g_new, ones_n, ones_m, _kernel(cost, f_new, g_new, e_new), e_new

        f, g, u, v, k, e_new = jax.lax.cond(
            big | next_stage, absorb, lambda _: (f, g, u, v, k, e), None
        )
        stage_it = jnp.where(e_new != e, 0, stage_it + 1)
        return f, g, u, v, k, e_new, it + 1, stage_it, err_final

    def cond(state):
        *_, it, _, err_final = state
        return schedule.running(it, err_final)

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
    return KernelSinkhornOutput(value, f, g, err_final, schedule.converged(err_final, value), it)


# ---------------------------------------------------------------------------
# online kernel-mode Sinkhorn on packed codes

# Exponents are clipped here: exp(80) is finite in float32, and a clipped entry only
# arises far from a solution, where it pushes the potentials the right way.
_EXP_CLIP = 80.0


def _blocks(words: jax.Array, block: int) -> jax.Array:
    """``[n, W]`` words as ``[n_blocks, block, W]``, zero-padded (padding rows masked)."""
    n = words.shape[0]
    n_blocks = -(-n // block)
    pad = n_blocks * block - n
    return jnp.pad(words, ((0, pad), (0, 0))).reshape(n_blocks, block, words.shape[1])


@functools.partial(jax.jit, static_argnames=("n_bits", "power", "block_size"))
def online_sinkhorn(
    xw: jax.Array,
    yw: jax.Array,
    a: jax.Array,
    b: jax.Array,
    epsilon: jax.Array,
    schedule: EpsilonScaling,
    *,
    n_bits: int,
    power: float,
    block_size: int,
) -> KernelSinkhornOutput:
    """Kernel-mode Sinkhorn with epsilon-scaling on the Hamming cost of packed codes.

    The iterates are those of `kernel_sinkhorn` (the same ``schedule``: stages and
    stopping rule on the L1 column-marginal violation after the row update), with the potentials
    absorbing the scalings at every iteration: one pass over row blocks of
    ``block_size`` codes computes ``d_H`` (hamgeo's Hamming kernel), ``K = exp((f + g -
    d ** power) / eps)``, ``u = a / K 1`` and accumulates ``K^T u``.

    Args:
        xw: ``uint32[n, W]`` words of the first sample.
        yw: ``uint32[m, W]`` words of the second sample.
        a: ``[n]`` weights summing to 1 (zeros allowed: those rows carry no mass).
        b: ``[m]`` positive weights summing to 1.
        epsilon: target regularization (> 0).
        schedule: the stages and the stopping rule (`EpsilonScaling`).
        n_bits: bits per code.
        power: the cost is ``d_H ** power``.
        block_size: rows per streamed block.

    Returns:
        `KernelSinkhornOutput`.
    """
    dtype = a.dtype
    n, m = xw.shape[0], yw.shape[0]
    tiny = jnp.finfo(dtype).tiny
    eps_t = jnp.asarray(epsilon, dtype)
    e0 = schedule.first(eps_t)
    block = min(block_size, n)
    xb = _blocks(xw, block)
    n_blocks = xb.shape[0]
    pad = n_blocks * block - n
    # Padding rows get weight 0 and potential -inf-like: they add nothing anywhere.
    ab = jnp.pad(a, (0, pad)).reshape(n_blocks, block)
    cy = PackedCodes(yw, n_bits)
    # The narrowest exact distance dtype: less memory traffic between kernel and exp.
    out = "uint8" if n_bits <= 255 else "uint16" if n_bits <= 65535 else "int32"

    def cost(words):
        d = pairwise_hamming(PackedCodes(words, n_bits), cy, out_dtype=out).astype(dtype)
        return d if power == 1.0 else d**power

    def kernel(c, fb, g, e):
        return jnp.exp(jnp.minimum((fb[:, None] + g[None, :] - c) / e, _EXP_CLIP))

    def sweep(f, g, e):
        """Row update of every block and the column sums ``K^T u`` in one pass."""
        fb = f.reshape(n_blocks, block)

        def step(col, args):
            words, f_blk, a_blk = args
            k = kernel(cost(words), f_blk, g, e)
            u = a_blk / jnp.maximum(k @ jnp.ones((m,), dtype), tiny)
            u = jnp.where(a_blk > 0, u, 0.0)
            return col + u @ k, f_blk + e * jnp.log(jnp.where(a_blk > 0, u, 1.0))

        col, f_new = jax.lax.scan(step, jnp.zeros((m,), dtype), (xb, fb, ab))
        return f_new.reshape(-1), col

    inf = jnp.asarray(jnp.inf, dtype)

    def body(state):
        f, g, e, it, stage_it, err_final = state
        f, col = sweep(f, g, e)
        err = jnp.sum(jnp.abs(col - b))
        g = g + e * jnp.log(b / jnp.maximum(col, tiny))
        err_final, next_stage = schedule.stage(e, eps_t, err, stage_it)
        e_new = schedule.next_epsilon(e, eps_t, next_stage)
        stage_it = jnp.where(next_stage, 0, stage_it + 1)
        return f, g, e_new, it + 1, stage_it, err_final

    def cond(state):
        *_, it, _, err_final = state
        return schedule.running(it, err_final)

    f0 = jnp.zeros((n_blocks * block,), dtype)
    init = (f0, jnp.zeros((m,), dtype), e0, jnp.int32(0), jnp.int32(0), inf)
    f, g, e, it, _, err_final = jax.lax.while_loop(cond, body, init)

    def value_step(acc, args):
        words, f_blk, a_blk = args
        c = cost(words)
        k = jnp.where((a_blk > 0)[:, None], kernel(c, f_blk, g, e), 0.0)
        return acc + jnp.sum(k * c), None

    value, _ = jax.lax.scan(value_step, jnp.zeros((), dtype), (xb, f.reshape(n_blocks, block), ab))
    return KernelSinkhornOutput(
        value, f[:n], g, err_final, schedule.converged(err_final, value), it
    )
