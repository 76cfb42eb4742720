"""Statistics of the discriminability reproduction on curves with known answers."""

import math

import numpy as np
import pytest
import scipy.stats

from hamgeo.experiments import discriminability as disc
from hamgeo.experiments.discriminability._result import curve_band
from hamgeo.experiments.protocol import seed_interval

# 29 shifts over [0, 1]: spacing 1/28, so knees and steps at round numbers fall off the grid
T = np.linspace(0.0, 1.0, 29)
DT = T[1] - T[0]
DELTA = 0.1


def _dense_region(y, t, delta=DELTA, tail=3, n=400_001):
    """Independent reference: the in-band length of the interpolant on a dense grid."""
    plateau = y[-tail:].mean()
    r = (y - y[0]) / (plateau - y[0])
    s = np.linspace(t[0], t[-1], n)
    inside = np.abs(np.interp(s, t, r) - 1.0) <= delta
    return inside.mean() * (t[-1] - t[0]), (t[-1] - t[0]) / (n - 1)


def test_linear_curve_saturates_only_at_the_end():
    sat = disc.saturation(2.0 * T, T, delta=DELTA)
    plateau = T[-3:].mean()  # of the rescaled-by-2 curve: 2 * mean / 2
    assert sat.plateau == pytest.approx(2.0 * plateau, abs=1e-12)
    assert sat.onset == pytest.approx((1 - DELTA) * plateau, abs=1e-12)
    assert sat.region == pytest.approx(min(1.0, (1 + DELTA) * plateau) - (1 - DELTA) * plateau)
    assert sat.region < 0.2


def test_step_curve_saturates_right_after_the_step():
    t0 = 0.3  # between grid points 8/28 and 9/28
    k = int(np.searchsorted(T, t0))
    sat = disc.saturation((T >= t0).astype(float), T, delta=DELTA)
    onset = T[k - 1] + (1 - DELTA) * DT
    assert sat.onset == pytest.approx(onset, abs=1e-12)
    assert sat.region == pytest.approx(1.0 - onset, abs=1e-12)


@pytest.mark.parametrize("knee", [2 / 28, 6 / 28, 10 / 28])
def test_early_plateau_from_its_knee(knee):
    sat = disc.saturation(np.minimum(T / knee, 1.0), T, delta=DELTA)
    assert sat.plateau == 1.0
    assert sat.onset == pytest.approx((1 - DELTA) * knee, abs=1e-12)
    assert sat.region == pytest.approx(1.0 - (1 - DELTA) * knee, abs=1e-12)


def test_noisy_early_plateau_stays_close_to_the_clean_one(rng):
    clean = np.minimum(T / 0.3, 1.0)
    noisy = clean + rng.normal(scale=0.01, size=T.size) * (T > 0)
    a, b = disc.saturation(clean, T), disc.saturation(noisy, T)
    assert abs(a.region - b.region) < 0.05
    assert abs(a.onset - b.onset) < 0.02


def test_the_four_shapes_are_told_apart(rng):
    linear = disc.saturation(T, T).region
    plateau = disc.saturation(np.minimum(T / 0.5, 1.0), T).region
    noisy = disc.saturation(
        np.minimum(T / 0.25, 1.0) + rng.normal(scale=0.01, size=T.size) * (T > 0), T
    ).region
    step = disc.saturation((T >= 0.1).astype(float), T).region
    assert linear < plateau < noisy < step
    assert linear < 0.2 and step > 0.85


def test_statistic_moves_with_the_curve_not_with_the_grid():
    knees = np.linspace(0.30, 0.40, 11)  # steps of 0.01, finer than the grid (1/28)
    sats = [disc.saturation(np.minimum(T / c, 1.0), T) for c in knees]
    regions = np.array([s.region for s in sats])
    onsets = np.array([s.onset for s in sats])
    assert np.all(np.diff(regions) < 0) and np.all(np.diff(onsets) > 0)
    # the onset of the piecewise-linear interpolant is within a grid step of the knee's 0.9 c
    assert np.all(np.abs(onsets - 0.9 * knees) < DT)
    assert len(np.unique(np.round(regions, 12))) == knees.size


def test_region_against_dense_sampling(rng):
    for _ in range(20):
        y = np.cumsum(rng.uniform(-0.3, 1.0, size=T.size))
        y -= y[0]
        if y[-3:].mean() <= 0:
            continue
        want, h = _dense_region(y, T)
        got = disc.saturation(y, T, delta=DELTA).region
        # each of at most 2 (T - 1) band edges costs at most one dense step
        assert got == pytest.approx(want, abs=2 * (T.size - 1) * h)


def test_no_rise_gives_none():
    for y in (np.ones(T.size), 1.0 - T):
        sat = disc.saturation(y, T)
        assert sat.onset is None and sat.region is None


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"values": np.zeros((2, 3)), "shifts": T}, ValueError, "`values` must be 1-D"),
        ({"values": np.zeros(5), "shifts": T}, ValueError, "of one length"),
        ({"values": T, "shifts": T[::-1]}, ValueError, "strictly increasing"),
        ({"values": np.full(T.size, np.nan), "shifts": T}, ValueError, "must be finite"),
        ({"values": T, "shifts": T, "delta": 0.0}, ValueError, "`delta` must be > 0"),
        ({"values": T, "shifts": T, "delta": 1.0}, ValueError, "`delta` must be < 1"),
        (
            {"values": T, "shifts": T, "tail": 30},
            ValueError,
            r"`tail` must be an integer in \[1, 29\]",
        ),
        ({"values": T, "shifts": T, "tail": 2.0}, TypeError, "`tail` must be an integer"),
        ({"values": "abc", "shifts": T}, TypeError, "`values` must be"),
    ],
)
def test_saturation_rejects_bad_input(kwargs, error, message):
    with pytest.raises(error, match=message):
        disc.saturation(**kwargs)


def test_benchmark_window():
    assert disc.benchmark_window(T, minimum=3) == int(np.searchsorted(T, 0.5)) + 1
    # an early-rising benchmark gives a short window, floored at `minimum`
    assert disc.benchmark_window(np.minimum(T / 0.1, 1.0), minimum=5) == 5
    assert disc.benchmark_window(np.minimum(T / 0.1, 1.0), minimum=1) == 3
    # a constant benchmark never reaches the level: the whole curve
    assert disc.benchmark_window(np.ones(T.size)) == T.size
    with pytest.raises(ValueError, match="`level` must be > 0"):
        disc.benchmark_window(T, level=0.0)


def test_spearman_window_against_scipy(rng):
    a, b = rng.normal(size=13), rng.normal(size=13)
    for n in (2, 5, 13, 40):
        k = min(n, 13)
        want = scipy.stats.spearmanr(a[:k], b[:k]).statistic
        assert disc.spearman_window(a, b, n) == pytest.approx(want, abs=1e-12)
    assert np.isnan(disc.spearman_window(np.ones(6), b[:6], 5))
    with pytest.raises(ValueError, match="`a` and `b` must be 1-D of one shape"):
        disc.spearman_window(a, b[:5], 3)


def test_verdict_follows_the_interval():
    assert disc.verdict(seed_interval([0.1, 0.2, 0.15])) == "supported"
    assert disc.verdict(seed_interval([-0.1, -0.2, -0.15])) == "contradicted"
    assert disc.verdict(seed_interval([-0.1, 0.2, 0.05])) == "inconclusive"
    assert disc.verdict(seed_interval([0.3])) == "one seed"
    assert disc.verdict(seed_interval([0.1, 0.2, 0.15]), threshold=0.5) == "contradicted"


def test_normalize_curve_matches_minmax(rng):
    v = rng.normal(size=17)
    got = disc.normalize_curve(v)
    np.testing.assert_allclose(got, (v - v.min()) / (v.max() - v.min()), atol=1e-12)
    np.testing.assert_array_equal(disc.normalize_curve(np.full(5, 3.0)), np.zeros(5))
    with pytest.raises(ValueError, match="`values` must be 1-D"):
        disc.normalize_curve(np.zeros((2, 2)))


def test_curve_band_is_the_range_of_normalized_curves(rng):
    curves = rng.uniform(size=(4, 7)).cumsum(axis=1)
    mean, low, high = curve_band(curves)
    norm = (curves - curves[:, :1]) / (curves[:, -1:] - curves[:, :1])  # increasing curves
    np.testing.assert_allclose(mean, norm.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(low, norm.min(axis=0), atol=1e-12)
    np.testing.assert_allclose(high, norm.max(axis=0), atol=1e-12)
    one = curve_band(curves[:1])
    np.testing.assert_array_equal(one[0], one[1])


def test_theorem_bound_and_where_it_stops_being_vacuous():
    for eps, diam in ((1.0, 1), (1.0, 21), (4.0, 10), (0.5, 3)):
        n = np.array([1, 10, 1000])
        want = (diam * np.log(n + 1.0) - eps * n * 2.0**-1.5 / diam) / math.log(10.0)
        np.testing.assert_allclose(disc.log10_bound(n, eps, diam), want, rtol=1e-12)
        k = disc.bound_useful_from(eps, diam)
        assert disc.log10_bound(k, eps, diam) < 0 <= disc.log10_bound(k - 1, eps, diam)
    # for codes of a few tens of bits the bound is vacuous for thousands of points
    assert disc.bound_useful_from(1.0, 20) > 5000
    # p = 2 changes the rate 2^{-(1+2p)/(2p)}
    assert disc.log10_bound(100, 1.0, 5, p=2.0) == pytest.approx(
        (5 * math.log(101) - 100 * 2.0**-1.25 / 5) / math.log(10.0)
    )
