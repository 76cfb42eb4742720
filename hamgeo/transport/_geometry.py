"""The Hamming ground cost as an OTT-JAX geometry (private; public via hamgeo.transport).

[`HammingGeometry`][hamgeo.transport.HammingGeometry] is an OTT-JAX
[`PointCloud`](https://ott-jax.readthedocs.io) whose points are packed codes and whose
cost function, [`HammingCost`][hamgeo.transport.HammingCost], is ``d_H(x, y) ** power``.
Everything goes through OTT's public interface (a ``CostFn`` with ``__call__`` and
``all_pairs``; the geometry's public ``cost_matrix``, ``dtype``, ``inv_scale_cost``,
``apply_lse_kernel``, ``apply_kernel`` and ``apply_cost``): OTT's own code handles
``epsilon``, ``relative_epsilon`` and ``scale_cost``, so every OTT solver (Sinkhorn,
unbalanced, low-rank, Gromov-Wasserstein) accepts it. The online mode streams row blocks
through hamgeo's blocked map and Hamming kernel itself: OTT 0.6's own online path
(``utils.batched_vmap``) calls ``jax.interpreters.batching.is_vmappable``, which JAX 0.10
removed. No private OTT method is overridden.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from ott.geometry import costs, pointcloud

from hamgeo._blocks import map_blocks
from hamgeo._checks import check_float, check_positive_int, is_tracer
from hamgeo.codes import CodesLike, PackedCodes, as_packed_batch
from hamgeo.hamming import pairwise_hamming

__all__ = ["HammingCost", "HammingGeometry"]


def _float() -> Any:
    return jnp.zeros((), float).dtype


@jax.tree_util.register_pytree_node_class
class HammingCost(costs.CostFn):
    """OTT-JAX cost ``c(x, y) = d_H(x, y) ** power`` between packed codes.

    ``x`` and ``y`` are ``uint32[W]`` words of one code each (``[n, W]`` in
    ``all_pairs``); padding bits are zero, so they never count
    ([Discriminability], the Hamming ground cost).

    Traceable: jit, vmap.

    Args:
        n_bits: bits per code (static).
        power: the exponent ``p`` of the cost ``d_H ** p`` (static, > 0).

    Examples:
        >>> import jax.numpy as jnp
        >>> cost = HammingCost(n_bits=4)
        >>> float(cost(jnp.array([0b0011], jnp.uint32), jnp.array([0b0101], jnp.uint32)))
        2.0
    """

    def __init__(self, n_bits: int, power: float = 1.0):
        self.n_bits = int(n_bits)
        self.power = float(power)

    def _pow(self, d: jax.Array) -> jax.Array:
        d = d.astype(_float())
        return d if self.power == 1.0 else d**self.power

    def __call__(self, x: jax.Array, y: jax.Array) -> jax.Array:  # type: ignore[override]
        """Cost between two codes ``uint32[W]``."""
        return self._pow(jnp.sum(jax.lax.population_count(x ^ y).astype(jnp.int32), axis=-1))

    def all_pairs(self, x: jax.Array, y: jax.Array) -> jax.Array:
        """``[n, m]`` costs between ``uint32[n, W]`` and ``uint32[m, W]`` words (XLA path)."""
        # The XLA kernel: OTT vmaps this in online mode, and it lowers for every platform.
        d = pairwise_hamming(PackedCodes(x, self.n_bits), PackedCodes(y, self.n_bits), method="xla")
        return self._pow(d)

    def tree_flatten(self):  # noqa: D102
        return (), (self.n_bits, self.power)

    @classmethod
    def tree_unflatten(cls, aux_data, children):  # noqa: D102
        del children
        return cls(*aux_data)


def _words(codes: Any, name: str) -> PackedCodes:
    if isinstance(codes, PackedCodes):
        return codes
    return as_packed_batch(codes, name)


@jax.tree_util.register_pytree_node_class
class HammingGeometry(pointcloud.PointCloud):
    """An OTT-JAX geometry on codes with the Hamming ground cost ``d_H ** power``.

    A [`PointCloud`](https://ott-jax.readthedocs.io) over packed codes with
    [`HammingCost`][hamgeo.transport.HammingCost]: dense (the ``[n, m]`` cost through
    hamgeo's dispatched Hamming kernel) or, with ``batch_size``, online (cost rows
    recomputed from the codes in blocks: memory ``O((n + m) W)``). Any OTT-JAX solver
    accepts it: ``ott.solvers.linear.solve`` (balanced or unbalanced with ``tau_a`` /
    ``tau_b``), low-rank ``LRSinkhorn``, Gromov-Wasserstein, Sinkhorn divergences
    ([Discriminability]: Wasserstein distances between samples of activation codes).
    [`wasserstein`][hamgeo.transport.wasserstein] solves on it.

    Traceable: jit, vmap (a pytree; ``n_bits``, ``power``, ``batch_size`` are static).

    Args:
        x: codes ``[n, n_bits]``: ``PackedCodes`` or a bool / {0, 1} array.
        y: codes ``[m, n_bits]``; ``None`` means ``x``.
        power: the exponent ``p`` of the cost ``d_H ** p`` (> 0).
        batch_size: rows per block of the online mode; ``None`` stores the cost.
        **ott_kwargs: OTT's geometry keywords (``epsilon``, ``relative_epsilon``,
            ``scale_cost``, ...).

    Raises:
        ValueError: codes of different ``n_bits``; ``power`` not > 0; ``batch_size < 1``.
        TypeError: codes that are not codes; a ``cost_fn`` that is not a ``HammingCost``.

    Examples:
        >>> import numpy as np
        >>> from ott.solvers import linear
        >>> x = np.array([[0, 0, 0, 0], [1, 1, 0, 0]])
        >>> y = np.array([[0, 0, 0, 1], [1, 1, 1, 0]])
        >>> geom = HammingGeometry(x, y, epsilon=0.05)
        >>> with jax.numpy_rank_promotion("allow"):  # OTT broadcasts internally
        ...     plan = linear.solve(geom).matrix
        >>> round(float(jnp.sum(plan * geom.cost_matrix)), 3)
        1.0
    """

    def __init__(
        self,
        x: CodesLike,
        y: CodesLike | None = None,
        *,
        power: float = 1.0,
        batch_size: int | None = None,
        cost_fn: HammingCost | None = None,
        **ott_kwargs: Any,
    ):
        if cost_fn is not None:
            # From tree_unflatten / subset / prepare_divergences: words and cost as given.
            if not isinstance(cost_fn, HammingCost):
                raise TypeError(f"`cost_fn` must be a HammingCost, got {type(cost_fn).__name__}")
            xw = x.words if isinstance(x, PackedCodes) else x
            yw = xw if y is None else (y.words if isinstance(y, PackedCodes) else y)
        else:
            power = check_float(power, "power", minimum=0.0)
            if not power > 0:
                raise ValueError(f"`power` must be > 0, got {power:g}")
            cx = _words(x, "x")
            cy = cx if y is None else _words(y, "y")
            if cx.n_bits != cy.n_bits:
                raise ValueError(
                    f"`x` and `y` must have the same number of bits, got {cx.n_bits} and "
                    f"{cy.n_bits}"
                )
            cost_fn = HammingCost(cx.n_bits, power)
            xw, yw = cx.words, cy.words
        if batch_size is not None and not is_tracer(batch_size):
            batch_size = check_positive_int(batch_size, "batch_size")
        super().__init__(xw, yw, cost_fn=cost_fn, batch_size=batch_size, **ott_kwargs)  # type: ignore[arg-type]
        self.cost_fn: HammingCost = cost_fn

    @property
    def n_bits(self) -> int:
        """Bits per code."""
        return self.cost_fn.n_bits

    @property
    def power(self) -> float:
        """The exponent of the cost ``d_H ** power``."""
        return self.cost_fn.power

    @property
    def codes_x(self) -> PackedCodes:
        """The first sample as ``PackedCodes``."""
        return PackedCodes(self.x, self.n_bits)

    @property
    def codes_y(self) -> PackedCodes:
        """The second sample as ``PackedCodes``."""
        return PackedCodes(self.y, self.n_bits)

    @property
    def dtype(self) -> jnp.dtype:
        """The cost's floating dtype (the points are ``uint32`` words)."""
        return _float()

    @property
    def cost_matrix(self) -> jax.Array:
        """The dense ``[n, m]`` cost, scaled as ``scale_cost`` says (materializes it)."""
        d = pairwise_hamming(self.codes_x, self.codes_y)
        return self.inv_scale_cost * self.cost_fn._pow(d)

    # -- the online mode: public methods, streamed over row blocks ------------------
    def _block_cost(self, rows: jax.Array, cols: jax.Array) -> jax.Array:
        d = pairwise_hamming(PackedCodes(rows, self.n_bits), PackedCodes(cols, self.n_bits))
        return self.cost_fn._pow(d)

    def _stream(self, axis: int, fn: Any, *row_args: jax.Array) -> Any:
        """``fn(cost block, *row-block args)`` over blocks of the output side of ``axis``.

        ``axis=0`` reduces over the rows of ``C`` (one output per ``y`` point), so the
        blocks are ``y``'s and the cost blocks are ``C^T``'s rows; ``axis=1`` the converse.
        """
        rows, cols = (self.y, self.x) if axis == 0 else (self.x, self.y)

        def block(args):
            words, *rest = args
            return fn(self._block_cost(words, cols), *rest)

        return map_blocks(block, (rows, *row_args), block_size=int(self.batch_size or 1))

    @property
    def inv_scale_cost(self) -> Any:
        """``1 / scale`` of ``scale_cost`` (``"mean"`` / ``"max_cost"`` streamed online)."""
        if not self.is_online or self._scale_cost not in ("mean", "max_cost"):
            return super().inv_scale_cost
        if self._scale_cost == "max_cost":
            return 1.0 / jnp.max(self._stream(1, lambda c: jnp.max(c, axis=1)))
        n, m = self.shape
        return 1.0 / (jnp.sum(self._stream(1, lambda c: jnp.sum(c, axis=1))) / (n * m))

    def apply_lse_kernel(self, f, g, eps, vec=None, axis=0):  # noqa: D102
        if not self.is_online:
            return super().apply_lse_kernel(f, g, eps, vec, axis)
        scale = self.inv_scale_cost
        # axis=0: one value per column j, reduced over rows i (potential f, weights vec).
        pot_out, pot_in = (g, f) if axis == 0 else (f, g)
        has_vec = vec is not None

        def fn(c, pot):
            z = (pot[:, None] + pot_in[None, :] - scale * c) / eps
            if has_vec:
                w = jnp.broadcast_to(vec[None, :], z.shape)
                return jax.nn.logsumexp(z, axis=1, b=w, return_sign=True)
            return jax.nn.logsumexp(z, axis=1), jnp.ones(z.shape[0], z.dtype)

        lse, sgn = self._stream(axis, fn, pot_out)
        out = eps * lse - jnp.where(jnp.isfinite(pot_out), pot_out, 0)
        return out, (sgn if has_vec else jnp.array([1.0]))

    def apply_kernel(self, vec, eps=None, axis=0):  # noqa: D102
        if eps is None:
            eps = self.epsilon
        if not self.is_online:
            return super().apply_kernel(vec, eps, axis)
        scale = self.inv_scale_cost
        return self._stream(axis, lambda c: jnp.exp(-scale * c / eps) @ vec)

    def apply_cost(self, arr, axis=0, fn=None, is_linear=False):  # noqa: D102
        if not self.is_online:
            return super().apply_cost(arr, axis=axis, fn=fn, is_linear=is_linear)
        del is_linear
        scale = self.inv_scale_cost

        def block(c):
            c = scale * c
            return (c if fn is None else fn(c)) @ arr

        return self._stream(axis, block)
