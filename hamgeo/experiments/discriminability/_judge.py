"""The discriminability findings, judged by rule from the per-seed values, and the records.

Private to [`hamgeo.experiments.discriminability`][hamgeo.experiments.discriminability]:
[`records`][hamgeo.experiments.discriminability._judge.records] turns the seeds'
tidy values into [`Record`][hamgeo.experiments.findings.Record] s;
[`findings`][hamgeo.experiments.discriminability._judge.findings]
judges the paper's claims against their controls with the rules of
[`hamgeo.experiments.findings`][hamgeo.experiments.findings] (paired intervals over seeds).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from hamgeo.experiments.discriminability._config import CODE_DISTANCES, KNOBS, Config
from hamgeo.experiments.discriminability._result import SeedResult, key
from hamgeo.experiments.discriminability._stats import counterexample_tail, log10_bound
from hamgeo.experiments.findings import (
    Estimate,
    Finding,
    IntervalKind,
    Record,
    beats,
    estimate,
    interval,
    judge,
)

__all__ = ["COUNTEREXAMPLE", "findings", "records", "seeds_needed"]

#: Theorem A.1's counterexample: 1-bit codes, mu1 = mu2 = Bernoulli(1/2) (D = 1), n = m, eps.
COUNTEREXAMPLE = {"n": 400, "epsilon": 0.1, "diameter": 1}

_PROPORTIONS = ("accuracy", "frac_dH_lt_dT", "theorem_tail", "sinkhorn_converged_fraction")
_COUNTS = ("n_cells", "n_cells_init", "theorem_diameter", "theorem_n_codes", "sinkhorn_runs")


def records(seeds: list[SeedResult]) -> list[Record]:
    """Every statistic across seeds: mean and 95 % interval (see ``findings.interval``)."""
    keys: dict[tuple, None] = {}
    for s in seeds:
        keys.update(dict.fromkeys(s.values))
    out = []
    for k in keys:
        statistic, factors = k
        column = [s.values.get(k) for s in seeds]
        finite = [i for i, v in enumerate(column) if v is not None and math.isfinite(float(v))]
        kind: IntervalKind = (
            "proportion"
            if statistic in _PROPORTIONS
            else "count"
            if statistic in _COUNTS
            else "mean"
        )
        mean, low, high = interval(column, kind=kind)
        out.append(Record(statistic, dict(factors), mean, low, high, len(finite), tuple(finite)))
    return out


def seeds_needed(differences: list[float | None], width: float) -> int | None:
    """Seeds for a Student-t 95 % interval of the paired ``differences`` narrower than ``width``.

    Estimated from their standard deviation (``None`` with fewer than 2 values; 3 at
    least, the interval's minimum).

    Examples:
        >>> seeds_needed([0.0, 0.1, 0.2, 0.1], 0.1)
        13
    """
    x = np.asarray([v for v in differences if v is not None and math.isfinite(v)], float)
    if x.size < 2:
        return None
    from scipy import stats

    sd = float(x.std(ddof=1))
    for n in range(3, 100_000):
        if 2 * float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n) < width:
            return n
    return None


def _diff(a: list[Any], b: list[Any]) -> list[float | None]:
    return [
        None if x is None or y is None else float(x) - float(y) for x, y in zip(a, b, strict=True)
    ]


def findings(config: Config, seeds: list[SeedResult]) -> list[Finding]:
    """The paper's claims, each judged by its stated rule against its controls."""

    def v(statistic: str, **factors: Any) -> list[Any]:
        k = key(statistic, **factors)
        return [s.values.get(k) for s in seeds]

    out = []
    groups, width = config.grid.n_groups, config.nets.width
    m = config.probe.depth_sample_size
    for depth in dict.fromkeys(config.nets.depths):
        arch = {"depth": depth, "width": width, "labels": groups, "m": m}
        rho = {
            arm: v(
                "spearman", distance="code_wasserstein", benchmark="data_frechet", arm=arm, **arch
            )
            for arm in ("trained", "init", "random codes")
        }
        controls = [rho["init"], rho["random codes"]]
        out.append(
            Finding(
                key=f"local_discriminability_L{depth}",
                claim="We show experimentally that the discrimination capability is approximately "
                "preserved locally also for deeper networks.",
                section="Sec. 1 (contribution), Sec. 3",
                statistic=f"Spearman rho of code W1 vs the data-space Fréchet benchmark over its "
                f"local window, {depth} x {width} net, clouds of m = {m}",
                estimates=(
                    estimate("trained", rho["trained"]),
                    estimate("init (same arch.)", rho["init"], is_control=True),
                    estimate(
                        "random hyperplanes (same bits)", rho["random codes"], is_control=True
                    ),
                ),
                rule="supported if the trained rho beats both controls by a paired 95 % interval; "
                "contradicted if a control beats it; otherwise inconclusive",
                verdict=judge(
                    supported=all(beats(rho["trained"], c) for c in controls),
                    contradicted=any(beats(c, rho["trained"]) for c in controls),
                ),
            )
        )
    out.append(_cells_finding(config, v))
    if len(config.nets.depths) >= 2:
        out.append(_saturation_finding(config, v))
    out.append(_counterexample_finding())
    if config.theorem.enabled:
        out.append(_theorem_study_finding(config, v))
    return out


def _cells_finding(config: Config, v: Any) -> Finding:
    groups = config.grid.n_groups
    arches = config.nets.equal_units
    name = {a: f"{a[0]}x{a[1]}" for a in arches}
    cells = {a: v("n_cells", depth=a[0], width=a[1], labels=groups) for a in arches}
    init = {a: v("n_cells_init", depth=a[0], width=a[1], labels=groups) for a in arches}
    pairs = list(zip(arches[:-1], arches[1:], strict=True))
    rows = [
        estimate(f"{name[a]} - {name[b]} (trained)", _diff(cells[a], cells[b])) for a, b in pairs
    ]
    rows += [
        estimate(f"{name[a]} - {name[b]} (init)", _diff(init[a], init[b]), is_control=True)
        for a, b in pairs
    ]
    init_holds = bool(pairs) and all(beats(init[a], init[b]) for a, b in pairs)
    units = arches[0][0] * arches[0][1]
    return Finding(
        key="depth_vs_cells",
        claim="a higher number of cells caused by a higher number of layers",
        section="Sec. 3.1",
        statistic=f"paired difference of exact cell counts on the input square between nets of "
        f"equal units ({units}), deeper minus shallower",
        estimates=tuple(rows),
        rule="supported if every deeper-minus-shallower difference of trained nets is above 0 by "
        "a paired 95 % interval; contradicted if one is below 0; otherwise inconclusive",
        verdict=judge(
            supported=bool(pairs) and all(beats(cells[a], cells[b]) for a, b in pairs),
            contradicted=any(beats(cells[b], cells[a]) for a, b in pairs),
        ),
        note="the same ordering "
        + ("also holds" if init_holds else "does not hold by paired interval")
        + " at initialization (control rows)",
    )


def _saturation_finding(config: Config, v: Any) -> Finding:
    groups, width = config.grid.n_groups, config.nets.width
    first, last = config.nets.depths[0], config.nets.depths[-1]

    def region(depth: int, dist: str, arm: str) -> list[Any]:
        return v(
            "saturation_region",
            distance=dist,
            depth=depth,
            width=width,
            labels=groups,
            m=1,
            arm=arm,
        )

    diffs = {
        d: _diff(region(first, d, "trained"), region(last, d, "trained")) for d in CODE_DISTANCES
    }
    holds = [
        d for d in CODE_DISTANCES if beats(region(first, d, "trained"), region(last, d, "trained"))
    ]
    against = beats(
        region(last, "code_hamming", "trained"), region(first, "code_hamming", "trained")
    )
    init_diff = _diff(region(first, "code_hamming", "init"), region(last, "code_hamming", "init"))
    rows = [estimate(f"{KNOBS[d]} (trained)", diffs[d]) for d in CODE_DISTANCES]
    rows.append(estimate("Hamming, theta = none (init)", init_diff, is_control=True))
    plain = diffs["code_hamming"]
    _, low, high = interval(plain)
    n_have = sum(x is not None for x in plain)
    need = seeds_needed(plain, config.stats.target_width)
    seeds_note = (
        f"plain-Hamming interval width {high - low:.3g} with {n_have} seeds"
        + (
            f" (narrower than {config.stats.target_width:g})"
            if high - low < config.stats.target_width
            else f"; about {need} seeds would make it narrower than {config.stats.target_width:g}"
        )
        if n_have >= 2 and math.isfinite(high - low)
        else "fewer than 2 seeds: no interval"
    )
    carried = ", ".join(KNOBS[d] for d in holds) or "no setting"
    return Finding(
        key="saturation_depth",
        claim="the saturation region tends to be larger for lower numbers (e.g., 3) of layers "
        "compared to higher numbers (e.g., 10)",
        section="Sec. 3.1",
        statistic=f"paired difference of the saturation region (length of the diagonal within "
        f"{config.stats.saturation_delta:g} of the plateau), {first} minus {last} layers x "
        f"{width}, single points (m = 1), per distance and knob",
        estimates=tuple(rows),
        rule="supported if the difference is above 0 by a paired 95 % interval for every code "
        "distance and knob (theta in {N/4, N/2, none}, MMD bandwidth in {1, median}) and the "
        "trained plain-Hamming difference beats the same at initialization; contradicted if "
        "the plain-Hamming difference is below 0; otherwise inconclusive",
        verdict=judge(
            supported=len(holds) == len(CODE_DISTANCES) and beats(diffs["code_hamming"], init_diff),
            contradicted=against,
        ),
        note=f"holds under: {carried}; {seeds_note}",
    )


def _counterexample_finding() -> Finding:
    n, eps = int(COUNTEREXAMPLE["n"]), float(COUNTEREXAMPLE["epsilon"])
    d = int(COUNTEREXAMPLE["diameter"])
    tail = counterexample_tail(n, eps)
    bound = float(10 ** log10_bound(np.asarray([n]), eps, d)[0])
    return Finding(
        key="theorem_a1_counterexample",
        claim="P(|W_p(mu1, mu2) - W_p(L_n, L_m)| > eps) < (n+1)^|beta(x)| "
        "exp(-eps n 2^(-(1+2p)/2p) |beta(x)|^-1)",
        section="App. A, Theorem A.1",
        statistic=f"exact tail for 1-bit codes, mu1 = mu2 = Bernoulli(1/2) (|beta(x)| = {d}), "
        f"n = m = {n}, eps = {eps:g}, p = 1 (binomial sum) against the stated bound",
        estimates=(
            Estimate("exact tail (binomial)", tail, tail, tail, 1),
            Estimate("stated bound", bound, bound, bound, 1, is_control=True),
        ),
        rule="contradicted if the exact tail exceeds the stated bound (one counterexample "
        "suffices); a bound cannot be supported by examples",
        verdict=judge(supported=False, contradicted=tail > bound),
    )


def _theorem_study_finding(config: Config, v: Any) -> Finding:
    sizes, epsilons = config.theorem.sizes, config.theorem.epsilons
    rows, testable, above, below = [], False, False, True
    for eps in epsilons:
        for n in sizes:
            bounds = [
                b
                for b in v("theorem_log10_bound", sample_size=n, epsilon=float(eps))
                if b is not None
            ]
            if not bounds or max(bounds) >= 0:
                continue
            testable = True
            tail = v("theorem_tail", sample_size=n, epsilon=float(eps))
            bound = 10 ** max(bounds)
            e = estimate(f"tail, n = {n}, eps = {eps:g}", tail, kind="proportion")
            rows += [
                e,
                Estimate(f"stated bound, n = {n}, eps = {eps:g}", bound, bound, bound, 1, True),
            ]
            above |= e.low > bound
            below &= e.high <= bound
    if not testable:
        n, eps = sizes[-1], epsilons[-1]
        rows = [
            estimate(
                f"tail, n = {n}, eps = {eps:g}",
                v("theorem_tail", sample_size=n, epsilon=float(eps)),
                kind="proportion",
            ),
            estimate(
                f"log10(stated bound), n = {n}, eps = {eps:g}",
                v("theorem_log10_bound", sample_size=n, epsilon=float(eps)),
                is_control=True,
            ),
        ]
    return Finding(
        key="theorem_a1_study_sizes",
        claim="Theorem A.1 (the same bound) on the codes of a trained net",
        section="App. A, Theorem A.1",
        statistic=f"empirical tail of |W1(mu1, mu2) - W1(L_n, L_n)| over {config.theorem.draws} "
        f"draws per size, n in {list(sizes)}, eps in {list(epsilons)} bits, first depth's net",
        estimates=tuple(rows),
        rule="testable only where the stated bound is below 1 in every seed; there, contradicted "
        "if the tail's interval lies above the bound, supported if it lies at or below it "
        "everywhere; untestable where the bound is >= 1 at every study size",
        verdict=judge(
            supported=testable and below and not above, contradicted=above, testable=testable
        ),
        note="" if testable else "the stated bound is >= 1 at every study size: it cannot fail",
    )
