"""From the seeds' rows to the study's numbers: intervals, correlations, regimes, verdicts.

* per seed, the main network's numbers (the ``main_width`` MLP), summarized across seeds
  by :func:`~hamgeo.experiments._protocol.summarize_seeds` (Student-t intervals);
* per factor level, trained against initialized: the redundancy of both and their
  difference, each an interval across seeds (:func:`baselines`);
* Spearman correlations of every measure with every factor over its whole sweep, seeds
  pooled (:func:`correlations`);
* the paper's regimes (:mod:`._regimes`) along the width and depth sweeps and on the two
  phase charts;
* verdicts on the paper's claims that follow the intervals (:func:`verdicts`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hamgeo.experiments._protocol import Interval, seed_interval, summarize_seeds
from hamgeo.experiments.hash_encoder._config import (
    METRICS,
    REDUNDANCY_NEAR_ZERO,
    SIGNIFICANCE,
    Config,
    mean_of,
    rows_where,
)
from hamgeo.experiments.hash_encoder._regimes import grid_regimes, spearman, sweep_regimes

__all__ = ["COMPARABLE", "baselines", "correlations", "summarize", "verdicts"]

#: hamgeo's reading of "at least comparable with the network": a categorization test
#: accuracy on codes at most this far below the network's own test accuracy.
COMPARABLE = 0.05

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


def _per_seed(rows: Sequence[Mapping[str, Any]], field: str, n_seeds: int) -> list[float | None]:
    by_seed = {r["seed"]: r.get(field) for r in rows}
    return [by_seed.get(s) for s in range(n_seeds)]


def _main_summary(tables: Mapping[str, list[dict[str, Any]]], config: Config, seed: int) -> dict:
    """One seed's named numbers of the main network (the ``main_width`` MLP)."""
    rows = rows_where(tables["width"], seed=seed, width=config.main_width)
    trained = rows_where(rows, state="trained")[0]
    init = rows_where(rows, state="init")[0]
    out: dict[str, Any] = {
        "main_width": config.main_width,
        "redundancy_train": trained["redundancy_train"],
        "redundancy_train_init": init["redundancy_train"],
        "redundancy_drop": init["redundancy_train"] - trained["redundancy_train"],
        "redundancy_test": trained["redundancy_test"],
    }
    out.update({m: trained[m] for m in METRICS[2:]})
    for method in ("knn", "kmeans", "logreg"):
        out[f"{method}_gap"] = trained["network_test_accuracy"] - trained[f"{method}_test_accuracy"]
    out["knn_test_accuracy_init"] = init["knn_test_accuracy"]
    return out


def baselines(
    tables: Mapping[str, list[dict[str, Any]]], n_seeds: int
) -> dict[str, list[dict[str, Any]]]:
    """Per factor level: redundancy and k-NN accuracy, trained vs at initialization.

    Every value is an :class:`~hamgeo.experiments._protocol.Interval` across seeds;
    ``redundancy_drop`` is ``init - trained`` per seed (positive: training lowered it).
    """
    out: dict[str, list[dict[str, Any]]] = {}
    for factor, (level, split) in _LEVELS.items():
        rows = tables.get(factor, [])
        entries = []
        for series in _series(rows, split):
            levels = sorted({r[level] for r in rows_where(rows, **series, state="trained")})
            for value in levels:
                trained = rows_where(rows, **series, **{level: value}, state="trained")
                if factor == "training_time":  # every epoch against epoch 0
                    init = rows_where(rows, **series, epoch=0)
                else:
                    init = rows_where(rows, **series, **{level: value}, state="init")
                tr = _per_seed(trained, "redundancy_train", n_seeds)
                it = _per_seed(init, "redundancy_train", n_seeds)
                drop = [
                    None if a is None or b is None else a - b for a, b in zip(it, tr, strict=True)
                ]
                entries.append(
                    {
                        **series,
                        level: value,
                        "redundancy_trained": seed_interval(tr),
                        "redundancy_init": seed_interval(it),
                        "redundancy_drop": seed_interval(drop),
                        "knn_test_trained": seed_interval(
                            _per_seed(trained, "knn_test_accuracy", n_seeds)
                        ),
                        "knn_test_init": seed_interval(
                            _per_seed(init, "knn_test_accuracy", n_seeds)
                        ),
                    }
                )
        out[factor] = entries
    return out


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
        rows = tables.get(factor, [])
        if rows:
            levels, red = _levels(rows, factor, "redundancy_train", state="trained")
            _, acc = _levels(rows, factor, "knn_test_accuracy", state="trained")
            out[factor] = sweep_regimes(levels, red, acc, factor=factor)
    for chart, table, col in (
        ("phase_training_time", "training_time", "epoch"),
        ("phase_sample_size", "sample_size", "n_train"),
    ):
        rows = tables.get(table, [])
        if not rows:
            continue
        if table == "sample_size":
            rows = rows_where(rows, state="trained")
        widths = sorted({r["width"] for r in rows})
        cols = sorted({r[col] for r in rows})
        red = [[_levels(rows, col, "redundancy_train", width=w)[1][j] for j in range(len(cols))]
               for w in widths]  # fmt: skip
        acc = [[_levels(rows, col, "knn_test_accuracy", width=w)[1][j] for j in range(len(cols))]
               for w in widths]  # fmt: skip
        out[chart] = grid_regimes(widths, cols, red, acc, row_factor="width", col_factor=col)
    return out


def _interval_verdict(iv: Interval, *, below: float | None = None, above: float | None = None):
    """``"reproduced"`` when the interval lies on the claimed side, ``"not reproduced"``
    when it lies entirely on the other, ``"inconclusive"`` otherwise (or one seed)."""  # noqa: D205, D209
    if iv.mean is None:
        return "n/a"
    if iv.low is None or iv.high is None:
        return "inconclusive (1 seed)"
    if below is not None:
        return (
            "reproduced"
            if iv.high <= below
            else "not reproduced"
            if iv.low > below
            else "inconclusive"
        )
    if iv.low > above:
        return "reproduced"
    return "not reproduced" if iv.high <= above else "inconclusive"


def verdicts(summary: Mapping[str, Any], base: Mapping[str, list[dict[str, Any]]]) -> dict:
    """Verdicts on the paper's claims, each following its statistic's interval.

    * determinism: the main network's training redundancy lies at or below
      :data:`REDUNDANCY_NEAR_ZERO` (the interval's upper end);
    * training lowers redundancy: at each width whose *untrained* net is above
      :data:`REDUNDANCY_NEAR_ZERO`, whether ``init - trained`` is above 0;
    * categorization "at least comparable": each method's gap to the network is at most
      :data:`COMPARABLE` (upper end of the interval).
    """
    out = {
        "verdict_determinism": _interval_verdict(
            summary["redundancy_train"], below=REDUNDANCY_NEAR_ZERO
        )
    }
    lowered, raised, unclear, already = [], [], [], []
    for entry in base.get("width", []):
        init, drop = entry["redundancy_init"], entry["redundancy_drop"]
        if init.mean is not None and init.mean <= REDUNDANCY_NEAR_ZERO:
            already.append(entry["width"])
        elif drop.low is not None and drop.low > 0:
            lowered.append(entry["width"])
        elif drop.high is not None and drop.high < 0:
            raised.append(entry["width"])
        else:
            unclear.append(entry["width"])
    out["training_lowers_redundancy_at_widths"] = lowered
    out["training_raises_redundancy_at_widths"] = raised
    out["training_effect_unclear_at_widths"] = unclear
    out["untrained_already_near_zero_at_widths"] = already
    for method in ("knn", "kmeans", "logreg"):
        out[f"verdict_{method}_comparable"] = _interval_verdict(
            summary[f"{method}_gap"], below=COMPARABLE
        )
    return out


def summarize(
    tables: Mapping[str, list[dict[str, Any]]], config: Config
) -> tuple[list[dict], dict[str, Any], list[dict], dict[str, Any], dict[str, Any]]:
    """``(per_seed, summary, correlations, regimes, baselines)`` of a run's tables."""
    per_seed = [_main_summary(tables, config, s) for s in range(config.n_seeds)]
    summary = summarize_seeds(per_seed)
    base = baselines(tables, config.n_seeds)
    corr = correlations(tables)
    reg = regimes(tables)
    summary.update(verdicts(summary, base))
    for factor in ("width", "depth"):
        if factor in reg:
            summary[f"regime_by_{factor}"] = {str(r[factor]): r["regime"] for r in reg[factor]}
    for factor in _LEVELS:
        red = [
            c
            for c in corr
            if c["factor"] == factor
            and c["state"] == "trained"
            and c["metric"] == "redundancy_train"
        ]
        if red:
            rhos = ", ".join("n/a" if c["rho"] is None else f"{c['rho']:+.2f}" for c in red)
            summary[f"redundancy_correlates_with_{factor}"] = (
                f"{sum(c['significant'] for c in red)}/{len(red)} series significant (rho {rhos})"
            )
    return per_seed, summary, corr, reg, base
