"""Facets of a ReLU MLP's cells by linear programming (private; see ``hamgeo.regions``)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog

__all__ = ["affine_forms", "facet_mask"]


def affine_forms(layers, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pre-activation as an affine map on the cell of ``x``.

    Inside a cell the on/off pattern is fixed, so ``z = x @ A + c`` exactly.

    Args:
        layers: ``[(kernel, bias), ...]`` of the hidden layers (float64).
        x: one input ``[d]``.

    Returns:
        ``(A [d, units], c [units], bits bool[units])``, layers in order.
    """
    d = x.shape[0]
    a_in, c_in = np.eye(d), np.zeros(d)
    h = x
    a_all, c_all, bits = [], [], []
    for w, b in layers:
        a, c = a_in @ w, c_in @ w + b
        z = h @ w + b
        on = z > 0
        a_all.append(a)
        c_all.append(c)
        bits.append(on)
        a_in, c_in, h = a * on[None], c * on, np.maximum(z, 0.0)
    return np.concatenate(a_all, axis=1), np.concatenate(c_all), np.concatenate(bits)


def facet_mask(a: np.ndarray, c: np.ndarray, bits: np.ndarray, *, tol: float, bounds) -> np.ndarray:
    """Which constraints of the cell ``{x : s_j (x @ A_j + c_j) >= 0}`` are facets.

    Unit ``i`` bounds the cell (its hyperplane carries a (d-1)-dimensional face)
    iff its constraint is irredundant: with it removed, ``s_i z_i`` can go below
    zero while every other unit keeps its sign. One HiGHS LP per unit.
    """
    s = np.where(bits, 1.0, -1.0)
    norms = np.linalg.norm(a, axis=0)
    live = norms > tol  # units constant on the cell never bound it
    g = (a * (s / np.where(live, norms, 1.0))[None]).T  # rows: normalized s_j A_j
    h = c * s / np.where(live, norms, 1.0)
    out = np.zeros(bits.shape[0], dtype=bool)
    # Units constant and negative-signed on the cell would make it empty: ignore them.
    rows = np.nonzero(live)[0]
    for i in rows:
        others = rows[rows != i]
        # minimize s_i z_i  s.t.  s_j z_j >= 0 (j != i)  <=>  -g_j x <= h_j
        res = linprog(
            g[i],
            A_ub=-g[others] if others.size else None,
            b_ub=h[others] if others.size else None,
            bounds=bounds,
            method="highs",
        )
        if res.status == 3:  # unbounded: the constraint cuts the region
            out[i] = True
        elif res.status == 0:
            out[i] = res.fun + h[i] < -tol
    return out
