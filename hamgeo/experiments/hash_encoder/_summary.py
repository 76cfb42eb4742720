"""From the seeds' rows to descriptive statistics: correlations, regimes, tidy records.

* Spearman correlations of every measure with every factor over its whole sweep, seeds
  pooled (``correlations``), a description (the findings use per-seed statistics,
  ``_verdicts``);
* the paper's regimes (``_regimes``) along the width and depth sweeps and on the two
  phase charts, labelled by effect size;
* the tidy summary (``records``): every measure at every factor level and state, the
  controls, and the paired trained-minus-init differences per width, each an interval
  across seeds that stays in the measure's range.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hamgeo.experiments.findings import Record, interval, paired_difference
from hamgeo.experiments.hash_encoder._config import (
    METRICS,
    SIGNIFICANCE,
    mean_of,
    per_seed,
    rows_where,
)
from hamgeo.experiments.hash_encoder._regimes import grid_regimes, spearman, sweep_regimes

__all__ = ["correlations", "records", "regimes"]

# factor table -> (the level's field, the fields that split it into series)
_LEVELS = {
    "width": ("width", ()),
    "depth": ("depth", ()),
    "family": ("size", ("family",)),
    "training_time": ("epoch", ("width",)),
    "sample_size": ("n_train", ("width",)),
    "weight_decay": ("weight_decay", ()),
    "label_noise": ("label_noise", ()),
}


def _series(rows: Sequence[Mapping[str, Any]], split: tuple[str, ...]) -> list[dict[str, Any]]:
    """The distinct values of the ``split`` fields, in order of appearance."""
    seen: list[dict[str, Any]] = []
    for r in rows:
        key = {f: r[f] for f in split}
        if key not in seen:
            seen.append(key)
    return seen


def correlations(tables: Mapping[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Spearman of each measure with each factor over its whole sweep, seeds pooled."""
    out = []
    for factor, (level, split) in _LEVELS.items():
        rows = tables.get(factor, [])
        for series in _series(rows, split):
            for state in ("trained", "init"):
                sub = rows_where(rows, **series, state=state)
                if factor == "training_time":
                    if state == "init":
                        continue
                    sub = rows_where(rows, **series)  # epoch 0 (init) starts the curve
                if len({r[level] for r in sub}) < 2:
                    continue
                for metric in METRICS:
                    pairs = [(r[level], r[metric]) for r in sub if r.get(metric) is not None]
                    if not pairs:
                        continue
                    x, y = zip(*pairs, strict=True)
                    rho, p = spearman(x, y)
                    means = [mean_of(rows_where(sub, **{level: v}), metric) for v in sorted(set(x))]
                    out.append(
                        {
                            "factor": factor,
                            **series,
                            "metric": metric,
                            "state": state,
                            "rho": rho,
                            "p_value": p,
                            "significant": p < SIGNIFICANCE,
                            "n": len(pairs),
                            "range": float(np.nanmax(means) - np.nanmin(means)),
                        }
                    )
    return out


def _levels(rows, level: str, value_field: str, **where) -> tuple[list, list[list[float]]]:
    sub = rows_where(rows, **where)
    levels = sorted({r[level] for r in sub})
    return levels, [
        [r[value_field] for r in rows_where(sub, **{level: v}) if r.get(value_field) is not None]
        for v in levels
    ]


def regimes(tables: Mapping[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """The paper's regimes along the width and depth sweeps and on both phase charts."""
    out: dict[str, list[dict[str, Any]]] = {}
    for factor in ("width", "depth"):
        sweep = tables.get(factor, [])
        if sweep:
            levels, red = _levels(sweep, factor, "redundancy_train", state="trained")
            _, acc = _levels(sweep, factor, "knn_test_accuracy", state="trained")
            out[factor] = sweep_regimes(levels, red, acc, factor=factor)
    for chart, table, col in (
        ("phase_training_time", "training_time", "epoch"),
        ("phase_sample_size", "sample_size", "n_train"),
    ):
        rows: Sequence[Mapping[str, Any]] = tables.get(table, [])
        if not rows:
            continue
        if table == "sample_size":
            rows = rows_where(rows, state="trained")
        widths = sorted({r["width"] for r in rows})
        cols = sorted({r[col] for r in rows})
        red_grid = [_levels(rows, col, "redundancy_train", width=w)[1] for w in widths]
        acc_grid = [_levels(rows, col, "knn_test_accuracy", width=w)[1] for w in widths]
        out[chart] = grid_regimes(
            widths, cols, red_grid, acc_grid, row_factor="width", col_factor=col
        )
    return out


# the measures of the tidy summary (the others stay in the tables of ``extra``)
_RECORDED = (
    "redundancy_train",
    "knn_test_accuracy",
    "kmeans_test_accuracy",
    "logreg_test_accuracy",
    "network_test_accuracy",
)


def _record(statistic: str, factors: dict[str, Any], values: list, seeds: list[int]) -> Record:
    mean, low, high = interval(values, kind="proportion")
    n = sum(v is not None for v in values)
    return Record(statistic, factors, mean, low, high, n, tuple(seeds))


def records(
    tables: Mapping[str, list[dict[str, Any]]],
    controls: Mapping[str, list[dict[str, Any]]],
    seeds: Sequence[int],
) -> list[Record]:
    """The tidy summary: each measure at each factor level, state and control, over seeds.

    Every value is a proportion (redundancy ratio, accuracy): its interval is clipped to
    ``[0, 1]`` ([`interval`][hamgeo.experiments.findings.interval]). The per-width paired
    differences ``trained - init`` (k-NN test accuracy, training redundancy) come with
    the Student-t (3+ seeds) or range interval of
    [`paired_difference`][hamgeo.experiments.findings.paired_difference].
    """
    seeds = list(seeds)
    out: list[Record] = []
    for factor, (level, split) in _LEVELS.items():
        rows = tables.get(factor, [])
        for series in _series(rows, split):
            sub = rows_where(rows, **series)
            for value in sorted({r[level] for r in sub}):
                for state in ("init", "trained"):
                    at = rows_where(sub, **{level: value}, state=state)
                    if not at:
                        continue
                    for metric in _RECORDED:
                        vals = per_seed(at, metric, seeds)
                        if all(v is None for v in vals):
                            continue
                        factors = {"sweep": factor, **series, level: value, "state": state}
                        out.append(_record(metric, factors, vals, seeds))
    for arm, rows in controls.items():
        for key in sorted({(r["width"], r["n_train"]) for r in rows}):
            at = rows_where(rows, width=key[0], n_train=key[1])
            for metric in _RECORDED[:4]:
                vals = per_seed(at, metric, seeds)
                if all(v is None for v in vals):
                    continue
                factors = {"sweep": "control", "width": key[0], "n_train": key[1], "state": arm}
                out.append(_record(metric, factors, vals, seeds))
    width = tables.get("width", [])
    for w in sorted({r["width"] for r in width}):
        trained = rows_where(width, width=w, state="trained")
        init = rows_where(width, width=w, state="init")
        for metric in ("knn_test_accuracy", "redundancy_train"):
            a, b = per_seed(trained, metric, seeds), per_seed(init, metric, seeds)
            mean, low, high = paired_difference(a, b)
            n = sum(x is not None and y is not None for x, y in zip(a, b, strict=True))
            factors = {"sweep": "width", "width": w, "state": "trained - init"}
            out.append(Record(metric, factors, mean, low, high, n, tuple(seeds)))
    return out
