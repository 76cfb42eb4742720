"""Findings, intervals and records (hamgeo/experiments/findings.py) against scipy / NumPy."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from hamgeo.experiments.findings import (
    Estimate,
    Finding,
    Record,
    beats,
    estimate,
    format_findings,
    interval,
    judge,
    paired_difference,
    render_findings_markdown,
)


def _t_reference(x):
    x = np.asarray(x, np.float64)
    lo, hi = stats.t.interval(0.95, df=x.size - 1, loc=x.mean(), scale=stats.sem(x))
    return x.mean(), lo, hi


@pytest.mark.parametrize("n", [3, 7, 17])
def test_interval_is_student_t_from_three_values(rng, n):
    x = rng.normal(2.0, 3.0, n)
    got = interval(x)
    want = _t_reference(x)
    # float64 host arithmetic on n terms: a few ulps of the magnitude
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_interval_below_three_values_is_the_range():
    assert interval([4.0, 1.0]) == (2.5, 1.0, 4.0)
    assert interval([3.0]) == (3.0, 3.0, 3.0)
    assert all(math.isnan(v) for v in interval([]))
    # missing and non-finite seeds are left out
    assert interval([None, 1.0, float("nan"), 3.0]) == (2.0, 1.0, 3.0)


def test_interval_respects_the_range_of_its_kind(rng):
    p = [0.99, 1.0, 0.97, 1.0]
    mean, low, high = interval(p, kind="proportion")
    t_mean, t_low, t_high = _t_reference(p)
    assert t_high > 1.0 and high == 1.0 and low == pytest.approx(t_low, abs=1e-12)
    counts = [0, 1, 0, 5]
    _, low, high = interval(counts, kind="count")
    assert _t_reference(counts)[1] < 0 and low == 0.0
    assert high == pytest.approx(_t_reference(counts)[2], abs=1e-12)
    with pytest.raises(ValueError, match="`kind`"):
        interval([1.0], kind="median")


def test_paired_difference_matches_a_paired_t_test(rng):
    a = rng.normal(1.0, 1.0, 11)
    b = a - rng.normal(0.3, 0.2, 11)
    mean, low, high = paired_difference(a, b)
    res = stats.ttest_rel(a, b)
    ci = res.confidence_interval(0.95)
    np.testing.assert_allclose([mean, low, high], [np.mean(a - b), ci.low, ci.high], rtol=1e-10)
    with pytest.raises(ValueError, match="one value per seed"):
        paired_difference([1.0, 2.0], [1.0])


def test_beats_follows_the_paired_interval(rng):
    control = rng.normal(0.5, 0.05, 9)
    better = control + rng.normal(0.2, 0.02, 9)
    noise = control + rng.normal(0.0, 0.05, 9)
    assert beats(better, control)
    assert not beats(better, control, larger_is_better=False)
    assert beats(control, better, larger_is_better=False)
    assert not beats(noise, control) or paired_difference(noise, control)[1] > 0
    # pairing matters: a shared seed effect larger than the gap cancels out
    shift = np.linspace(0, 10, 9)
    assert beats(control + shift + 0.1, control + shift)
    assert not beats([1.0], [0.0])  # one seed has no spread


def test_judge():
    assert judge(supported=True, contradicted=False) == "supported"
    assert judge(supported=False, contradicted=True) == "contradicted"
    assert judge(supported=False, contradicted=False) == "inconclusive"
    assert judge(supported=True, contradicted=False, testable=False) == "untestable"
    with pytest.raises(ValueError, match="both"):
        judge(supported=True, contradicted=True)


def _finding(verdict="supported"):
    return Finding(
        key="depth_vs_cells",
        claim="deeper networks | more cells",
        section="Sec. 4.2",
        statistic="cells, 10x15 - 3x50",
        estimates=(
            estimate("trained", [1.0, 2.0, 3.0], kind="count"),
            estimate("random weights", [0.0, 0.5, float("nan")], is_control=True),
        ),
        rule="paired interval above 0",
        verdict=verdict,
        note="equal units",
    )


def test_finding_round_trips_and_validates():
    f = _finding()
    d = f.to_dict()
    assert list(d) == [
        "key",
        "claim",
        "section",
        "statistic",
        "estimates",
        "rule",
        "verdict",
        "note",
    ]
    assert Finding.from_dict(d) == f
    assert d["estimates"][1]["n"] == 2 and d["estimates"][1]["is_control"] is True
    with pytest.raises(ValueError, match="`verdict`"):
        _finding("reproduced")
    with pytest.raises(TypeError, match="`estimates`"):
        Finding("k", "c", "s", "x", ({"label": "a"},), "r", "supported")


def test_estimate_nan_round_trips_as_null():
    e = Estimate("x", float("nan"), float("nan"), float("nan"), 0)
    d = e.to_dict()
    assert d["mean"] is None
    back = Estimate.from_dict(d)
    assert math.isnan(back.mean) and back.n == 0 and back.format() == "n/a"


def test_record_is_tidy_for_pandas():
    pd = pytest.importorskip("pandas")
    records = [
        Record("cells", {"layers": L, "width": 15}, 10.0 * L, 9.0 * L, 11.0 * L, 3, (0, 1, 2))
        for L in (3, 10)
    ]
    frame = pd.DataFrame([r.to_dict() for r in records])
    assert list(frame["layers"]) == [3, 10]
    assert list(frame["mean"]) == [30.0, 100.0]
    assert Record.from_dict(records[0].to_dict()) == records[0]
    with pytest.raises(ValueError, match="factor names"):
        Record("x", {"mean": 1}, 0, 0, 0, 1)
    with pytest.raises(TypeError, match="factor 'a'"):
        Record("x", {"a": [1]}, 0, 0, 0, 1)


def test_tables_show_every_arm_and_escape_pipes():
    f = _finding()
    md = render_findings_markdown([f])
    assert "deeper networks \\| more cells" in md
    assert "| random weights (control) | 0.25 range [0, 0.5] | 2 |" in md
    assert "| trained | 2 [0, 4.484] | 3 |" in md  # count: clipped at 0
    text = format_findings([f])
    assert text.startswith("depth_vs_cells: supported")
    assert "random weights (control)" in text and "note: equal units" in text


def test_host_only_statistics_refuse_tracers():
    with pytest.raises(TypeError, match="host-only"):
        jax.jit(lambda x: jnp.asarray(interval(x)[0]))(jnp.ones(3))
    with pytest.raises(TypeError, match="host-only"):
        jax.jit(lambda x: jnp.asarray(float(beats(x, x))))(jnp.ones(3))
