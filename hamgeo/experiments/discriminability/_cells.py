"""Cell distances along the diagonal probe (the paper's Fig. 1 on a trained net).

Private to [`hamgeo.experiments.discriminability`][hamgeo.experiments.discriminability]: for 2-D
inputs the Hamming distance
``d_H`` between the code of the start corner and the code of each probe point is set next
to the tessellation distance ``d_T`` (fewest cell boundaries crossed), the boundary
crossings on the straight segment and the facet-aware Hamming distance (flips of units
whose hyperplanes bound one of the two cells). The chain
``facet_aware <= d_H <= d_T <= crossings`` holds; ``d_H < d_T`` is the paper's Fig. 1
effect.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from hamgeo.experiments.discriminability._config import endpoints
from hamgeo.hamming import pairwise_hamming
from hamgeo.nets import activation_codes
from hamgeo.regions import cell_facets, crossing_distance, tessellation_distance

__all__ = ["cell_curves", "cell_stats"]


def cell_curves(
    model, variables, shifts: np.ndarray, *, exact: bool, resolution: int, facets: bool = True
) -> dict[str, np.ndarray]:
    """``{hamming, tessellation, crossings, facet_aware}``: each ``int64[T]`` from the start.

    d_T comes from the exact partition of the window around the diagonal (``exact``) or
    from ``resolution`` traced lines per direction (an upper bound on the exact value).
    The facet-aware distance (one linear program per unit and distinct cell, the
    costliest) only with ``facets``.
    """
    starts, ends = endpoints(shifts)
    codes = activation_codes(model, variables, jnp.asarray(ends, dtype=jnp.float32))
    d_h = np.asarray(pairwise_hamming(codes[:1], codes))[0].astype(np.int64)
    d_t = tessellation_distance(model, variables, starts, ends, exact=exact, resolution=resolution)
    cross = crossing_distance(model, variables, starts, ends)
    out = {
        "hamming": d_h,
        "tessellation": np.asarray(d_t, np.int64),
        "crossings": np.asarray(cross, np.int64),
    }
    if facets:
        out["facet_aware"] = _facet_aware(model, variables, ends, codes)
    return out


def _facet_aware(model, variables, ends: np.ndarray, codes) -> np.ndarray:
    """``hamgeo.regions.facet_hamming`` from ``ends[0]`` (the start) to each of ``ends``.

    The same count (flipped units that bound the start cell or the end cell), with one facet
    linear program per distinct cell instead of two per pair: the probe meets the start cell
    ``T`` times and some cells more than once.
    """
    bits = np.asarray(codes.unpack(), dtype=bool)  # [T, units]; codes[0] is the start cell
    _, first, inverse = np.unique(bits, axis=0, return_index=True, return_inverse=True)
    facets = np.asarray(cell_facets(model, variables, ends[first]), dtype=bool)[inverse.ravel()]
    flipped = bits != bits[:1]
    return (flipped & (facets | facets[:1])).sum(axis=1).astype(np.int64)


def cell_stats(cells: dict[str, np.ndarray]) -> dict[str, Any]:
    """``mean_dH_over_dT`` and ``frac_dH_lt_dT`` over probe points outside the start cell.

    Points whose d_T is unknown (``-1``: the cell graph did not connect them) are left out.
    """
    d_h = np.asarray(cells["hamming"], dtype=np.float64)
    d_t = np.asarray(cells["tessellation"], dtype=np.float64)
    away = d_t > 0
    if not away.any():
        return {"mean_dH_over_dT": None, "frac_dH_lt_dT": None}
    return {
        "mean_dH_over_dT": float(np.mean(d_h[away] / d_t[away])),
        "frac_dH_lt_dT": float(np.mean(d_h[away] < d_t[away])),
    }
