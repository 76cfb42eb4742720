"""The paper's regimes and the Spearman statistics they rest on.

The paper ([Hash-Encoders] in ``docs/references.md``) names three regimes of its
activation hash phase chart by the redundancy ratio, the categorization accuracy and
the *significance of their correlations* with model size, training time and sample
size:

* **under-expressive**: the redundancy ratio is considerably above zero, and both it
  and the accuracy correlate significantly with the factors;
* **critically-expressive**: the transition, where the correlations become
  insignificant;
* **sufficiently-expressive**: the redundancy ratio is almost zero and neither it nor
  the accuracy changes with the factors.

hamgeo's operational reading (its thresholds, named in ``_config``): the paper's
"significant" rests on a p-value, which falls as seeds are added even when nothing else
changes; hamgeo labels by *effect size* instead, so that the labels do not depend on the
number of seeds. At a sweep point, the neighbourhood is the ``2 * REGIME_WINDOW + 1``
levels centred on it (shifted inward at the ends of the sweep); a measure *changes* there
when its seed-mean varies by at least [`EFFECT_SIZE`][hamgeo.experiments.hash_encoder.EFFECT_SIZE]
(largest minus smallest level
mean), once for the redundancy ratio and once for the k-NN test accuracy. A point is
*sufficient* when its mean redundancy is at most
[`REDUNDANCY_NEAR_ZERO`][hamgeo.experiments.hash_encoder.REDUNDANCY_NEAR_ZERO] and neither
measure changes; *under* when its redundancy is above that and a measure changes;
*critical* otherwise. In a phase chart the neighbourhood runs along each axis, and a
change along either counts. The Spearman correlations
([`spearman`][hamgeo.experiments.hash_encoder.spearman]) and their
p-values stay in the results as a description, not as the label.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hamgeo.experiments.hash_encoder._config import (
    EFFECT_SIZE,
    REDUNDANCY_NEAR_ZERO,
    REGIME_WINDOW,
)

__all__ = ["grid_regimes", "regime", "spearman", "sweep_regimes"]

# (level index, per-seed values) for each level of one sweep
Levels = Sequence[Sequence[float]]


def spearman(x: Sequence[float], y: Sequence[float]) -> tuple[float | None, float]:
    """Spearman's rho and its two-sided p-value; ``(None, 1.0)`` when undefined.

    Undefined: fewer than three pairs, or either side constant (no ranking to
    correlate). Such a correlation counts as not significant.

    Examples:
        >>> rho, p = spearman([1, 2, 3, 4, 5], [5, 4, 3, 2, 1])
        >>> round(rho, 6), p < 0.01
        (-1.0, True)
        >>> spearman([1, 2, 3], [0, 0, 0])
        (None, 1.0)
    """
    from scipy import stats

    xa, ya = np.asarray(x, np.float64), np.asarray(y, np.float64)
    keep = np.isfinite(xa) & np.isfinite(ya)
    xa, ya = xa[keep], ya[keep]
    if xa.size < 3 or np.ptp(xa) == 0 or np.ptp(ya) == 0:
        return None, 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = stats.spearmanr(xa, ya)
    rho, p = float(res.statistic), float(res.pvalue)
    if not math.isfinite(rho):
        return None, 1.0
    return rho, (p if math.isfinite(p) else 1.0)


def regime(redundancy: float, changes: bool) -> str:
    """Name a point's regime from its mean redundancy and whether a measure changes.

    Examples:
        >>> regime(0.4, True), regime(0.4, False), regime(0.0, False), regime(0.0, True)
        ('under', 'critical', 'sufficient', 'critical')
    """
    near_zero = redundancy <= REDUNDANCY_NEAR_ZERO
    if near_zero and not changes:
        return "sufficient"
    if not near_zero and changes:
        return "under"
    return "critical"


def _window(i: int, n_levels: int) -> tuple[int, int]:
    """The ``2 * REGIME_WINDOW + 1`` levels around ``i``, shifted inward at the ends.

    Examples:
        >>> [_window(i, 5) for i in range(5)]
        [(0, 2), (0, 2), (1, 3), (2, 4), (2, 4)]
    """
    size = 2 * REGIME_WINDOW + 1
    if n_levels <= size:
        return 0, n_levels - 1
    lo = min(max(0, i - REGIME_WINDOW), n_levels - size)
    return lo, lo + size - 1


def _level_mean(values: Sequence[float | None]) -> float:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def _window_test(values: Mapping[str, Levels], lo: int, hi: int) -> dict[str, Any]:
    """Effect size (range of the level means) of each measure over levels ``lo .. hi``.

    Only the seed-means enter, so adding seeds that repeat the same values changes
    nothing (unlike a p-value).
    """
    out: dict[str, Any] = {}
    for name, per_level in values.items():
        means = [_level_mean(per_level[i]) for i in range(lo, hi + 1)]
        means = [m for m in means if math.isfinite(m)]
        out[f"effect_{name}"] = float(max(means) - min(means)) if len(means) > 1 else 0.0
    out["changes"] = any(out[f"effect_{name}"] >= EFFECT_SIZE for name in values)
    return out


def sweep_regimes(
    levels: Sequence[Any], redundancy: Levels, accuracy: Levels, *, factor: str
) -> list[dict[str, Any]]:
    """The regime of each level of a one-factor sweep.

    Args:
        levels: the factor's values, in sweep order.
        redundancy: per level, the training redundancy ratio of each seed.
        accuracy: per level, the k-NN test accuracy of each seed.
        factor: the factor's name (the key of the level in each returned row).

    Returns:
        One row per level: the level, ``redundancy`` (mean over seeds),
        ``knn_test_accuracy`` (mean), the window's ``effect_*`` for both measures,
        ``changes`` and ``regime``.

    Examples:
        >>> red = [[0.9, 0.8], [0.5, 0.6], [0.1, 0.2], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]
        >>> acc = [[0.3, 0.3], [0.5, 0.6], [0.8, 0.8], [0.9, 0.9], [0.9, 0.9], [0.9, 0.9]]
        >>> rows = sweep_regimes([1, 2, 4, 8, 16, 32], red, acc, factor="width")
        >>> [r["regime"] for r in rows]  # 8: near zero, but still falling around it
        ['under', 'under', 'under', 'critical', 'sufficient', 'sufficient']
    """
    rows = []
    measures = {"redundancy": redundancy, "accuracy": accuracy}
    for i, level in enumerate(levels):
        test = _window_test(measures, *_window(i, len(levels)))
        red = float(np.mean(redundancy[i])) if len(redundancy[i]) else float("nan")
        row = {
            factor: level,
            "redundancy": red,
            "knn_test_accuracy": float(np.mean(accuracy[i])) if len(accuracy[i]) else None,
            **test,
            "regime": regime(red, test["changes"]),
        }
        rows.append(row)
    return rows


def grid_regimes(
    rows_levels: Sequence[Any],
    col_levels: Sequence[Any],
    redundancy: Sequence[Levels],
    accuracy: Sequence[Levels],
    *,
    row_factor: str,
    col_factor: str,
) -> list[dict[str, Any]]:
    """The regime of each cell of a two-factor phase chart.

    ``redundancy[i][j]`` holds the per-seed values at ``rows_levels[i]`` ×
    ``col_levels[j]`` (likewise ``accuracy``). A cell's neighbourhood runs along its
    row and along its column (as in ``sweep_regimes``); a change along either
    counts.

    Returns:
        One row per cell: both levels, the mean redundancy, the mean k-NN test
        accuracy, the largest effect along each axis, ``changes`` and ``regime``.

    Examples:
        >>> red = [[[0.5], [0.4]], [[0.0], [0.0]]]
        >>> out = grid_regimes([2, 64], [1, 2], red, red, row_factor="width",
        ...                    col_factor="epoch")
        >>> [c["regime"] for c in out]  # 0.5 -> 0.0 down the first column: a change
        ['under', 'under', 'critical', 'critical']
    """
    n_rows, n_cols = len(rows_levels), len(col_levels)
    out = []
    for i in range(n_rows):
        for j in range(n_cols):
            along_col = {
                "redundancy": [redundancy[k][j] for k in range(n_rows)],
                "accuracy": [accuracy[k][j] for k in range(n_rows)],
            }
            along_row = {"redundancy": redundancy[i], "accuracy": accuracy[i]}
            t_row = _window_test(along_col, *_window(i, n_rows))
            t_col = _window_test(along_row, *_window(j, n_cols))
            red = float(np.mean(redundancy[i][j])) if len(redundancy[i][j]) else float("nan")
            changes = t_row["changes"] or t_col["changes"]
            out.append(
                {
                    row_factor: rows_levels[i],
                    col_factor: col_levels[j],
                    "redundancy": red,
                    "knn_test_accuracy": float(np.mean(accuracy[i][j]))
                    if len(accuracy[i][j])
                    else None,
                    f"effect_{row_factor}": max(
                        t_row["effect_redundancy"], t_row["effect_accuracy"]
                    ),
                    f"effect_{col_factor}": max(
                        t_col["effect_redundancy"], t_col["effect_accuracy"]
                    ),
                    "changes": changes,
                    "regime": regime(red, changes),
                }
            )
    return out
