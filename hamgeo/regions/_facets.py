"""Facets of cells: which units' hyperplanes bound a cell (linear programs; private)."""

from __future__ import annotations

from typing import Any

import numpy as np
from jax.typing import ArrayLike
from scipy.optimize import linprog

from hamgeo._checks import check_float, check_not_traced
from hamgeo.nets import MLP
from hamgeo.regions._common import Variables, check_mlp_model, mlp_layers, segment_points

__all__ = ["affine_forms", "cell_facets", "facet_hamming", "facet_mask"]


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


def cell_facets(
    model: MLP | None,
    variables: Variables,
    x: ArrayLike,
    *,
    bounds: tuple[float, float] | None = None,
    tol: float = 1e-9,
) -> np.ndarray:
    """Which units' hyperplanes bound the cell of ``x`` (carry one of its facets).

    Inside a cell the on/off pattern is fixed, so every pre-activation is affine in
    the input and the cell is the polyhedron ``{x' : s_j z_j(x') >= 0}`` (``s_j = +1``
    for active units, ``-1`` else). Unit ``i`` bounds it iff its constraint is not
    redundant: with it dropped, ``s_i z_i`` can go below zero while every other unit
    keeps its sign. One HiGHS linear program per unit (scipy). A hyperplane that
    only touches a corner of the cell is not a facet. The refinement the
    discriminability paper ([Discriminability], Sec. 5; see ``docs/references.md``)
    leaves for later work:
    a unit whose hyperplane misses the cell (its Fig. 1) is not among the facets.

    Host-only: NumPy / SciPy in float64 on the host; traced points raise hamgeo's ``TypeError``.

    Args:
        model: a ReLU MLP (only ``variables`` are read).
        variables: its variables.
        x: one input ``[d]`` or a batch ``[n, d]``.
        bounds: optional box ``(low, high)`` on the input (the data domain); cells
            are then clipped to it. ``None``: the whole space.
        tol: margin, in units of the normalized pre-activation, below zero a
            constraint must be pushed to count as a facet.

    Returns:
        ``bool[units]`` or ``bool[n, units]``, units in layer order (as in the codes).

    Examples:
        >>> import numpy as np
        >>> # three lines x = 0, y = 0, x + y = 3: the cell of (1, 1) is the triangle
        >>> # bounded by all three; the cell of (-1, -1) is a quadrant (two facets)
        >>> w = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
        >>> params = {"hidden_0": {"kernel": w, "bias": np.array([0.0, 0.0, -3.0])}}
        >>> cell_facets(None, {"params": params}, np.array([[1.0, 1.0], [-1.0, -1.0]])).tolist()
        [[True, True, True], [True, True, False]]
    """
    check_not_traced("cell_facets", x)
    check_mlp_model(model)
    layers = mlp_layers(variables, np.float64)
    d_in = layers[0][0].shape[0]
    pts, batched = segment_points(x, d_in, "x")
    box = _as_box(bounds, d_in)
    tol = check_float(tol, "tol", minimum=0.0)
    out = np.stack([facet_mask(*affine_forms(layers, p), tol=tol, bounds=box) for p in pts])
    return out if batched else out[0]


def _as_box(bounds: Any, d_in: int) -> list[tuple[float | None, float | None]]:
    """``bounds`` ``(low, high)`` as HiGHS variable bounds, one pair per input."""
    if bounds is None:
        return [(None, None)] * d_in
    if not isinstance(bounds, tuple | list) or len(bounds) != 2:
        raise TypeError(f"`bounds` must be a pair (low, high) or None, got {bounds!r}")
    lo, hi = (check_float(t, "bounds") for t in bounds)
    if not lo < hi:
        raise ValueError(f"`bounds` must be (low, high) with low < high, got {bounds}")
    return [(lo, hi)] * d_in


def facet_hamming(
    model: MLP | None,
    variables: Variables,
    x: ArrayLike,
    y: ArrayLike,
    *,
    bounds: tuple[float, float] | None = None,
) -> np.ndarray:
    """Hamming distance counting only flips of units whose hyperplanes bound the cells.

    Of the units whose bit differs between ``x`` and ``y``, count those that bound
    the cell of ``x`` or the cell of ``y`` ([`cell_facets`][hamgeo.regions.cell_facets]). A flipped
    unit
    whose hyperplane touches neither cell is the discriminability paper's Fig. 1
    effect ([Discriminability]): ``d_H - facet_hamming`` counts such flips.
    (Counting flips of units that bound *any* cell met on the straight segment
    would give back d_H: every flipped unit is crossed on the segment, and where it
    is crossed it bounds the cells on both sides.)

    Host-only: NumPy / SciPy in float64 on the host; traced points raise hamgeo's ``TypeError``.

    Args:
        model: a ReLU MLP (only ``variables`` are read).
        variables: its variables.
        x: ``[d]`` or ``[m, d]``.
        y: same shape as ``x``.
        bounds: optional input box, as in [`cell_facets`][hamgeo.regions.cell_facets].

    Returns:
        ``int64`` scalar or ``int64[m]``, at most the Hamming distance of the codes.

    Examples:
        >>> import numpy as np
        >>> w = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
        >>> params = {"hidden_0": {"kernel": w, "bias": np.array([0.0, 0.0, -3.0])}}
        >>> # from the quadrant (-1, -1) to (4, 4): three flips, the line x + y = 3
        >>> # bounds the cell of (4, 4) only; x = 0 and y = 0 bound both
        >>> int(facet_hamming(None, {"params": params}, np.array([-1.0, -1.0]),
        ...                   np.array([4.0, 4.0])))
        3
    """
    check_not_traced("facet_hamming", x, y)
    check_mlp_model(model)
    layers = mlp_layers(variables, np.float64)
    d_in = layers[0][0].shape[0]
    p, batched = segment_points(x, d_in, "x")
    q, batched_q = segment_points(y, d_in, "y")
    if p.shape != q.shape or batched != batched_q:
        raise ValueError(f"`x` and `y` must have the same shape, got {p.shape} and {q.shape}")
    fx = np.atleast_2d(cell_facets(model, variables, p, bounds=bounds))
    fy = np.atleast_2d(cell_facets(model, variables, q, bounds=bounds))
    bx = np.stack([affine_forms(layers, t)[2] for t in p])
    by = np.stack([affine_forms(layers, t)[2] for t in q])
    out = ((bx != by) & (fx | fy)).sum(axis=1).astype(np.int64)
    return out if batched else out[0]
