"""The paper's claims, judged by stated rules against the controls (the findings table).

Only claims the paper's text makes are judged, quoted with their place
([Hash-Encoders] in ``docs/references.md``; the text hamgeo has is the abstract and
Sec. 1). A claim about *trained* networks is ``supported`` only when the trained codes
beat each control by a paired interval over seeds: the same architecture at
initialization, random-hyperplane codes of the inputs with the same number of bits, and
the raw inputs (``_controls``). hamgeo's thresholds are named in ``_config`` /
here: [`REDUNDANCY_NEAR_ZERO`][hamgeo.experiments.hash_encoder.REDUNDANCY_NEAR_ZERO] for "near
zero" and
[`COMPARABLE`][hamgeo.experiments.hash_encoder.COMPARABLE] for "at least comparable".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hamgeo.experiments.findings import (
    Estimate,
    Finding,
    beats,
    estimate,
    interval,
    judge,
    paired_difference,
)
from hamgeo.experiments.hash_encoder._config import (
    REDUNDANCY_NEAR_ZERO,
    Config,
    mean_of,
    per_seed,
    rows_where,
)
from hamgeo.experiments.hash_encoder._regimes import spearman

__all__ = ["COMPARABLE", "findings", "seed_rho"]

#: hamgeo's reading of "at least comparable with the network": a categorization test
#: accuracy on codes at most this far below the network's own test accuracy.
COMPARABLE = 0.05

_DETERMINISM = (
    "Experimental results show that the redundancy ratio is near zero in almost every scenario."
)
_CATEGORIZATION = (
    "simple algorithms, such as K-Means, K-NN, and logistic regression can achieve fairly "
    "good training and test performance which is at least comparable with the performance "
    "of the corresponding neural networks on the raw data."
)
_UNDER = (
    "Under-expressive regime. The redundancy ratio is considerably higher than zero while "
    "the categorization accuracy is considerably lower than 100%. However, both redundancy "
    "ratio and categorization accuracy exhibit significantly positive correlations with "
    "model size, training time, and training sample size."
)
_METHODS = {"knn": "k-NN (Hamming, k = 9)", "kmeans": "k-means", "logreg": "logistic regression"}


def _arm(label: str, values: Sequence[float | None], *, control: bool = True) -> Estimate:
    return estimate(label, values, kind="proportion", is_control=control)


def _rho(label: str, values: Sequence[float | None], *, control: bool = True) -> Estimate:
    """A correlation's estimate, its interval clipped to [-1, 1] (rho's range)."""
    e = estimate(label, values, is_control=control)
    return Estimate(label, e.mean, max(e.low, -1.0), min(e.high, 1.0), e.n, control)


def _diff(label: str, a: Sequence[float | None], b: Sequence[float | None]) -> Estimate:
    mean, low, high = paired_difference(a, b)
    n = sum(x is not None and y is not None for x, y in zip(a, b, strict=True))
    return Estimate(label, mean, low, high, n)


def _controls(t, c, config: Config, seeds: list[int], field: str, raw: str) -> dict[str, list]:
    """Per-seed ``field`` of each control of the main net, by label (``raw``: the raw inputs')."""
    w, n = config.main_width, _n_full(t)
    rows = rows_where(t["width"], width=w)
    return {
        f"init (same arch., width {w})": per_seed(rows_where(rows, state="init"), field, seeds),
        f"random hyperplanes ({w} bits)": per_seed(
            rows_where(c["random_hyperplanes"], width=w, n_train=n), field, seeds
        ),
        raw: per_seed(c["raw_inputs"], field, seeds),
    }


def _arms(
    label: str, trained: Sequence[float | None], controls: Mapping[str, list], *rest: Estimate
) -> tuple[Estimate, ...]:
    """The estimates: the trained arm, the ``rest`` (reference rows), then each control."""
    return (_arm(label, trained, control=False), *rest, *(_arm(k, v) for k, v in controls.items()))


def _determinism(t, c, config: Config, seeds: list[int]) -> Finding:
    w, n = config.main_width, _n_full(t)
    rows = rows_where(t["width"], width=w)
    trained = per_seed(rows_where(rows, state="trained"), "redundancy_train", seeds)
    controls = _controls(t, c, config, seeds, "redundancy_train", "raw inputs (duplicate rows)")
    _, _, high = interval(trained, kind="proportion")
    _, low, _ = interval(trained, kind="proportion")
    near_zero = high <= REDUNDANCY_NEAR_ZERO

    def cleared(values) -> bool:  # the control does not reach near zero, or trained is lower
        _, c_low, _ = interval(values, kind="proportion")
        return c_low > REDUNDANCY_NEAR_ZERO or beats(trained, values, larger_is_better=False)

    supported = near_zero and all(cleared(v) for v in controls.values())
    verdict = judge(supported=supported, contradicted=low > REDUNDANCY_NEAR_ZERO)
    return Finding(
        key="determinism",
        claim=_DETERMINISM,
        section="Sec. 1 (Determinism)",
        statistic=f"redundancy ratio (n - m)/n of the {n} training codes of the trained "
        f"width-{w} MLP (the study's main net)",
        estimates=_arms("trained", trained, controls),
        rule=f"supported when the trained interval's upper end is <= {REDUNDANCY_NEAR_ZERO} "
        "(hamgeo's 'near zero') and every control either stays above it or is beaten (lower "
        "redundancy) by a paired interval; contradicted when the trained interval's lower end "
        f"is > {REDUNDANCY_NEAR_ZERO}; inconclusive otherwise",
        verdict=verdict,
        note="a control that also reaches near zero means the property needs no training",
    )


def _n_full(tables: Mapping[str, list[dict[str, Any]]]) -> int:
    return max(r["n_train"] for r in tables["sample_size"]) if tables.get("sample_size") else 0


def _categorization(t, c, config: Config, seeds: list[int], method: str) -> Finding:
    w = config.main_width
    trained_rows = rows_where(t["width"], width=w, state="trained")
    field = f"{method}_test_accuracy"
    trained = per_seed(trained_rows, field, seeds)
    network = per_seed(trained_rows, "network_test_accuracy", seeds)
    controls = _controls(t, c, config, seeds, field, "raw inputs")
    gap = paired_difference(network, trained)  # network - codes
    supported = gap[2] <= COMPARABLE and all(beats(trained, v) for v in controls.values())
    verdict = judge(supported=supported, contradicted=gap[1] > COMPARABLE)
    return Finding(
        key=f"categorization_{method}",
        claim=_CATEGORIZATION,
        section="Sec. 1 (Categorization)",
        statistic=f"test accuracy of {_METHODS[method]} on the codes of the trained "
        f"width-{w} MLP; the network's own test accuracy beside it",
        estimates=_arms(
            "trained codes",
            trained,
            controls,
            _arm("the network itself (reference)", network, control=False),
            _diff("network - trained codes (paired)", network, trained),
        ),
        rule=f"supported when network - codes is <= {COMPARABLE} (upper end of the paired "
        "interval; hamgeo's 'at least comparable') and the trained codes beat every control "
        f"by a paired interval; contradicted when its lower end is > {COMPARABLE}; "
        "inconclusive otherwise",
        verdict=verdict,
        note="raw inputs: scikit-learn on the inputs (Euclidean k-NN, k = 9)",
    )


def seed_rho(levels: Sequence[float], values: Sequence[float | None]) -> float | None:
    """Spearman rho of one seed's ``values`` against ``levels`` (0 when ``values`` is flat).

    ``None`` with fewer than 3 finite values. A constant series has no trend: 0.

    Examples:
        >>> seed_rho([1, 2, 3], [0.1, 0.2, 0.3]), seed_rho([1, 2, 3], [0.5, 0.5, 0.5])
        (1.0, 0.0)
    """
    pairs = [(x, v) for x, v in zip(levels, values, strict=True) if v is not None]
    if len(pairs) < 3:
        return None
    xs, ys = zip(*pairs, strict=True)
    if np.ptp(np.asarray(ys, float)) == 0:
        return 0.0
    rho, _ = spearman(xs, ys)
    return 0.0 if rho is None else rho


def _mean_rho(series: list[tuple[list, list]]) -> float | None:
    rhos = [r for r in (seed_rho(x, v) for x, v in series) if r is not None]
    return float(np.mean(rhos)) if rhos else None


def _under_levels(rows, level: str, **where) -> list:
    """Levels whose trained mean training redundancy is above near zero."""
    sub = rows_where(rows, state="trained", **where)
    levels = sorted({r[level] for r in sub})
    return [
        v
        for v in levels
        if mean_of(rows_where(sub, **{level: v}), "redundancy_train") > REDUNDANCY_NEAR_ZERO
    ]


def _rho_arms(t, c, seeds: list[int], factor: str, metric: str) -> tuple[dict, str, bool]:
    """Per-seed rho of each arm (trained first), the levels used, and whether testable."""
    arms: dict[str, list[float | None]] = {}
    if factor == "width":
        rows = t["width"]
        levels = _under_levels(rows, "width")
        n = _n_full(t)
        sources = {
            "trained": rows_where(rows, state="trained"),
            "init (same arch.)": rows_where(rows, state="init"),
            "random hyperplanes (same bits)": rows_where(c["random_hyperplanes"], n_train=n),
        }
        for arm, sub in sources.items():
            arms[arm] = [
                seed_rho(levels, [_at(sub, s, width=v, field=metric) for v in levels])
                for s in seeds
            ]
        used = f"widths {levels} (trained mean redundancy > {REDUNDANCY_NEAR_ZERO})"
        return arms, used, len(levels) >= 3
    if factor == "sample_size":
        rows = t["sample_size"]
        per_width = {w: _under_levels(rows, "n_train", width=w) for w in _widths(rows)}
        per_width = {w: lv for w, lv in per_width.items() if len(lv) >= 3}
        sources = {
            "trained": rows_where(rows, state="trained"),
            "init (same arch.)": rows_where(rows, state="init"),
            "random hyperplanes (same bits)": c["random_hyperplanes"],
        }
        for arm, sub in sources.items():
            arms[arm] = [
                _mean_rho(
                    [
                        (lv, [_at(sub, s, width=w, n_train=m, field=metric) for m in lv])
                        for w, lv in per_width.items()
                    ]
                )
                for s in seeds
            ]
        used = (
            f"widths {sorted(per_width)}, each over its training-set sizes with trained mean "
            f"redundancy > {REDUNDANCY_NEAR_ZERO} (3 or more), rho averaged over widths"
        )
        return arms, used, bool(per_width)
    rows = t["training_time"]
    final = max(r["epoch"] for r in rows)
    widths = [
        w
        for w in _widths(rows)
        if mean_of(rows_where(rows, width=w, epoch=final), "redundancy_train")
        > REDUNDANCY_NEAR_ZERO
    ]
    epochs = sorted({r["epoch"] for r in rows})
    arms["trained"] = [
        _mean_rho(
            [
                (epochs, [_at(rows, s, width=w, epoch=e, field=metric) for e in epochs])
                for w in widths
            ]
        )
        for s in seeds
    ]
    arms["untrained (no training time: rho = 0)"] = [0.0 if widths else None for _ in seeds]
    used = (
        f"widths {widths} (mean redundancy after the last epoch > {REDUNDANCY_NEAR_ZERO}), "
        f"epochs 0..{final}, rho averaged over widths"
    )
    return arms, used, bool(widths)


def _widths(rows) -> list[int]:
    return sorted({r["width"] for r in rows})


def _at(rows, seed: int, *, field: str, **where) -> float | None:
    hit = rows_where(rows, seed=seed, **where)
    return hit[0].get(field) if hit else None


_FACTOR_WORDS = {
    "width": "model size (hidden width)",
    "training_time": "training time (epochs)",
    "sample_size": "training sample size",
}
_METRIC_WORDS = {
    "redundancy_train": "training redundancy ratio",
    "knn_test_accuracy": "k-NN test accuracy",
}


def _correlation(t, c, seeds: list[int], factor: str, metric: str) -> Finding:
    arms, used, testable = _rho_arms(t, c, seeds, factor, metric)
    names = list(arms)
    trained = arms[names[0]]
    controls = {k: v for k, v in arms.items() if k != names[0]}
    init_name = names[1]
    diff = paired_difference(trained, arms[init_name])
    mean, low, high = interval(trained)
    supported = (
        low > 0
        and beats(trained, arms[init_name])
        and all(beats(trained, v) for v in controls.values())
    )
    contradicted = high < 0 or diff[2] < 0
    estimates = (
        _rho("trained", trained, control=False),
        _diff(f"trained - {init_name} (paired)", trained, arms[init_name]),
        *(_rho(k, v) for k, v in controls.items()),
    )
    return Finding(
        key=f"under_{metric.split('_')[0]}_vs_{factor}",
        claim=_UNDER,
        section="Sec. 1 (Under-expressive regime)",
        statistic=f"per-seed Spearman rho of the {_METRIC_WORDS[metric]} with "
        f"{_FACTOR_WORDS[factor]} in the under-expressive part of the sweep: {used}",
        estimates=estimates,
        rule="supported when the trained rho's interval lies above 0 and the trained rho beats "
        "every control's by a paired interval (the verdict is about the difference from the "
        "untrained nets); contradicted when the trained interval lies below 0 or the paired "
        "difference from the untrained net lies below 0; untestable with fewer than 3 "
        "under-expressive levels; inconclusive otherwise",
        verdict=judge(
            supported=supported and not contradicted,
            contradicted=contradicted,
            testable=testable,
        ),
        note="a positive rho that the untrained nets show too is no effect of training",
    )


def findings(
    tables: Mapping[str, list[dict[str, Any]]],
    controls: Mapping[str, list[dict[str, Any]]],
    config: Config,
    seeds: Sequence[int],
) -> list[Finding]:
    """The findings table of a run: determinism, categorization, the under-expressive regime."""
    s = list(seeds)
    out = [_determinism(tables, controls, config, s)]
    out += [_categorization(tables, controls, config, s, m) for m in _METHODS]
    for factor in ("width", "training_time", "sample_size"):
        if not tables.get(factor):
            continue
        for metric in ("redundancy_train", "knn_test_accuracy"):
            out.append(_correlation(tables, controls, s, factor, metric))
    return out
