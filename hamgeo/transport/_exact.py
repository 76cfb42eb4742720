"""Exact Wasserstein distances for small samples: the reference of the entropic solvers."""

from __future__ import annotations

import math

import numpy as np
from jax.typing import ArrayLike

from hamgeo._checks import check_not_traced
from hamgeo._samples import host_center_scale, sample_pair, weights
from hamgeo.codes import CodesLike
from hamgeo.hamming import pairwise_hamming
from hamgeo.transport._common import DEGREE, Cost, check_common, power

__all__ = ["exact_wasserstein"]

# Limits: assignment (n == m, equal weights) and HiGHS linear program.
_EXACT_MAX_ASSIGNMENT = 10_000
_EXACT_MAX_LP_ENTRIES = 250_000


def exact_wasserstein(
    x: CodesLike,
    y: CodesLike,
    *,
    cost: Cost = "hamming",
    p: float = 1,
    a: ArrayLike | None = None,
    b: ArrayLike | None = None,
) -> float:
    """Exact Wasserstein-``p`` distance between two small samples.

    Solves the unregularized transport problem on ``C_ij = d(x_i, y_j) ** p``
    and returns its optimal value to the power ``1/p`` (a Python float, computed
    in float64 on the host: Hamming distances exactly, real distances with
    ``scipy.spatial.distance.cdist``). Equal sample sizes with uniform weights are an
    assignment problem (scipy's ``linear_sum_assignment``, up to 10 000 points
    each); otherwise scipy's HiGHS linear program (``linprog``, up to
    250 000 cost entries). The reference [`wasserstein`][hamgeo.transport.wasserstein] is
    tested against ([Discriminability]: the exact W_1 between code samples). Only exactly
    equal weights take the assignment shortcut; nearly uniform ones take the LP.

    Host-only: a linear program solved by scipy on the host (a hamgeo TypeError under a trace).

    Args:
        x: first sample (codes ``[n, n_bits]`` or real ``[n, d]``, as for
            [`wasserstein`][hamgeo.transport.wasserstein]).
        y: second sample.
        cost: ``"hamming"``, ``"euclidean"`` or ``"sqeuclidean"``.
        p: order (>= 1).
        a: ``[n]`` weights (finite, nonnegative, positive sum; normalized); ``None`` is
            uniform.
        b: ``[m]`` weights.

    Returns:
        ``W_p`` as a float.

    Raises:
        ValueError: bad input (as [`wasserstein`][hamgeo.transport.wasserstein]), a problem
            too large for an exact solve, a distance beyond the float64 range, or a linear
            program that HiGHS could not solve.
        TypeError: arguments of the wrong type (as
            [`wasserstein`][hamgeo.transport.wasserstein]); traced inputs.

    Examples:
        >>> exact_wasserstein([[0, 0], [1, 1]], [[0, 1], [1, 1]])
        0.5
        >>> w = exact_wasserstein([[0.0], [1.0]], [[3.0]], cost="euclidean", p=2, a=[0.5, 0.5])
        >>> round(w, 6)  # sqrt((3 ** 2 + 2 ** 2) / 2)
        2.54951
    """
    from scipy import optimize, sparse
    from scipy.spatial import distance

    check_not_traced("exact_wasserstein", x, y, a, b)
    kind, checked_cost, p = check_common(cost, p)
    xs, ys = sample_pair(x, y, kind)
    n, m = xs.shape[0], ys.shape[0]
    a = weights(a, n, "a", host=True)
    b = weights(b, m, "b", host=True)
    # The assignment shortcut holds for EXACTLY equal weights only: nearly uniform ones
    # (a = [0.5 + 4e-6, 0.5 - 4e-6]) have another optimum, which the LP finds.
    uniform = bool(np.all(a == a[0]) and np.all(b == b[0]))
    if n == m and uniform and n > _EXACT_MAX_ASSIGNMENT:
        raise ValueError(
            f"`x` and `y` are too large for an exact assignment ({n} x {m} points, limit "
            f"{_EXACT_MAX_ASSIGNMENT} per side); use wasserstein() instead"
        )
    if not (n == m and uniform) and n * m > _EXACT_MAX_LP_ENTRIES:
        raise ValueError(
            f"`x` and `y` are too large for an exact linear program ({n} x {m} = {n * m} "
            f"variables, limit {_EXACT_MAX_LP_ENTRIES}; equal sizes with uniform weights allow "
            f"{_EXACT_MAX_ASSIGNMENT} points per side); use wasserstein() instead"
        )
    if kind == "codes":
        d = np.asarray(pairwise_hamming(xs, ys), np.float64)
        unit = 1.0
    else:
        # Distances of the conditioned points; W_p scales by `unit` (a power of two).
        x64, y64, scale = host_center_scale(xs, ys)
        d = distance.cdist(x64, y64, checked_cost)
        with np.errstate(over="ignore"):
            unit = float(np.float64(scale) ** DEGREE[checked_cost])
    with np.errstate(over="ignore", under="ignore"):
        c = power(d, p)
    # Solve on costs scaled to [0, 1]: the optimum scales with them, HiGHS's tolerances don't.
    top = float(c.max())
    c = c / top if top > 0 else c
    if n == m and uniform:
        rows, cols = optimize.linear_sum_assignment(c)
        return _exact_value(c[rows, cols].mean() * top, p, unit)
    # Row sums: kron(I_n, 1_m^T); column sums: kron(1_n^T, I_m). Drop one
    # redundant equality (total mass) for a full-rank system.
    rows = sparse.kron(sparse.eye(n), np.ones((1, m)))
    cols = sparse.kron(np.ones((1, n)), sparse.eye(m)).tocsr()
    a_eq = sparse.vstack([rows, cols[:-1]]).tocsr()
    b_eq = np.concatenate([a, b[:-1]])
    res = optimize.linprog(c.ravel(), A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    if res.status != 0:
        raise ValueError(f"exact_wasserstein: HiGHS failed: {res.message}")
    return _exact_value(max(res.fun, 0.0) * top, p, unit)


def _exact_value(cost: float, p: float, unit: float) -> float:
    with np.errstate(over="ignore"):
        value = float(np.float64(cost) ** (1.0 / p) * np.float64(unit))
    if not math.isfinite(value):
        raise ValueError(
            "the distance between `x` and `y` exceeds the float64 range; rescale the samples"
        )
    return value
