"""Definitions shared by the transport modules (private leaf of `hamgeo.transport`)."""

from __future__ import annotations

from typing import Any, Literal, get_args

import numpy as np

from hamgeo._checks import check_choice, check_float, is_tracer

__all__ = ["DEGREE", "Cost", "check_common", "power"]

Cost = Literal["hamming", "euclidean", "sqeuclidean"]
_COSTS: tuple[Cost, ...] = get_args(Cost)
Kind = Literal["codes", "real"]
#: How a real cost scales when the points are scaled by s: d -> s ** degree * d.
DEGREE = {"euclidean": 1, "sqeuclidean": 2}


def check_common(cost: Any, p: Any) -> tuple[Kind, Cost, float]:
    """``(kind, cost, p)``: ``kind`` is ``"codes"`` for the Hamming cost, else ``"real"``."""
    checked = check_choice("cost", cost, _COSTS)
    kind: Kind = "codes" if checked == "hamming" else "real"
    return kind, checked, check_float(p, "p", minimum=1.0)


def power(d: Any, p: float) -> Any:
    """``d ** p``, refusing (eagerly) a ``p`` whose powers leave the float range."""
    c = d if p == 1.0 else d**p
    if p != 1.0 and not is_tracer(c):
        host_d, host_c = np.asarray(d), np.asarray(c)
        dtype = np.dtype(host_c.dtype).name
        if not np.all(np.isfinite(host_c)):
            raise ValueError(
                f"`p` = {p:g} makes the ground cost d ** p overflow {dtype} (largest distance "
                f"{host_d.max():.6g}); use a smaller `p`"
            )
        if np.any((host_d > 0) & (host_c == 0)):
            raise ValueError(
                f"`p` = {p:g} makes the ground cost d ** p underflow to 0 in {dtype} (smallest "
                f"distance {host_d[host_d > 0].min():.6g}); use a smaller `p`"
            )
    return c
