"""Statistics of distance curves along the diagonal: saturation, local agreement, verdicts.

Pure functions of NumPy arrays (the leaf of the package). A *curve* is one distance
between ``S1`` and ``S2`` at each shift ``t`` of the probe: ``float[T]`` over increasing
shifts ``float[T]``, starting at ``t = 0`` where ``S2 = S1``.

**Saturation** (the paper's section 3.1, "the saturation region tends to be larger for
lower numbers of layers"). The curve's *plateau* ``P`` is the mean of its last
``tail`` values (a robust estimate, not the maximum, which the min-max normalization
puts at the end of the diagonal by construction). The curve is rescaled so that its
start is 0 and its plateau is 1, ``r(t) = (y(t) - y(0)) / (P - y(0))``, and read as
the piecewise-linear interpolant of its samples. Then, for a tolerance ``delta``:

* the **saturation onset** is the first ``t`` with ``r(t) = 1 - delta``;
* the **saturation region** is the length of the diagonal over which the curve lies
  within ``delta`` of its plateau, ``|{t : |r(t) - 1| <= delta}|`` (for a curve that
  rises and then stays, the stretch from its entry into the band to the end).

Both are interpolated between shifts, so they move when the curve moves rather than
jumping on the grid of shifts. A linear curve has a region of about ``delta`` times the
diagonal, a curve that reaches its plateau early has a long one; a curve with no rise
(``P <= y(0)``) has neither (``None``).

**Local agreement with a benchmark** (the paper's "alignment" with the Fréchet
distance): the Spearman rank correlation of a curve with the benchmark's over a *local
window*, from ``t = 0`` up to the first shift where the benchmark's min-max normalized
value reaches ``level`` (0.5 by default), and at least ``minimum`` shifts.

**Verdicts** follow the seed interval of a statistic
([`verdict`][hamgeo.experiments.discriminability.verdict]).

**Theorem A.1** of the paper bounds ``P(|W_p(mu1, mu2) - W_p(L_n, L_m)| > eps)`` by
``(n + 1)^D exp(-eps n 2^{-(1+2p)/(2p)} / D)``
([`log10_bound`][hamgeo.experiments.discriminability.log10_bound],
[`bound_useful_from`][hamgeo.experiments.discriminability.bound_useful_from]).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import scipy.stats
from jax.typing import ArrayLike

from hamgeo._checks import check_array, check_float, check_int, check_positive_int
from hamgeo.experiments.protocol import Interval

__all__ = [
    "counterexample_tail",
    "Saturation",
    "benchmark_window",
    "bound_useful_from",
    "log10_bound",
    "normalize_curve",
    "saturation",
    "spearman_window",
    "verdict",
]


class Saturation(NamedTuple):
    """Where a distance curve reaches its plateau (see the module docstring).

    Attributes:
        plateau: the plateau ``P``, the mean of the last ``tail`` values (raw units).
        onset: the first shift where the rescaled curve reaches ``1 - delta``
            (interpolated); ``None`` without a rise.
        region: the length of the set of shifts where the rescaled curve lies within
            ``delta`` of 1 (interpolated); ``None`` without a rise.
    """

    plateau: float
    onset: float | None
    region: float | None


def _curve(values, shifts) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(check_array(values, "values", ndim=1, kind="fiub"), np.float64)
    t = np.asarray(check_array(shifts, "shifts", ndim=1, kind="fiub"), np.float64)
    if y.shape != t.shape or y.size < 2:
        raise ValueError(
            f"`values` and `shifts` must be 1-D of one length >= 2, got {y.shape} and {t.shape}"
        )
    if not np.all(np.isfinite(y)) or not np.all(np.isfinite(t)):
        raise ValueError("`values` and `shifts` must be finite")
    if np.any(np.diff(t) <= 0):
        raise ValueError("`shifts` must be strictly increasing")
    return y, t


def normalize_curve(values: ArrayLike) -> np.ndarray:
    """Min-max normalize a curve to ``[0, 1]``, as in the paper's plots.

    A constant curve maps to zeros; non-finite entries stay NaN.

    Args:
        values: ``float[T]`` a distance at each shift.

    Returns:
        ``float64[T]`` ``(v - min) / (max - min)``.

    Examples:
        >>> normalize_curve(np.array([2.0, 4.0, 3.0])).tolist()
        [0.0, 1.0, 0.5]
    """
    v = np.asarray(check_array(values, "values", kind="fiub"), dtype=np.float64)
    if v.ndim != 1:
        raise ValueError(f"`values` must be 1-D, got shape {v.shape}")
    finite = np.isfinite(v)
    if not finite.any():
        return np.full_like(v, np.nan)
    lo, hi = v[finite].min(), v[finite].max()
    if hi <= lo:
        return np.where(finite, 0.0, np.nan)
    return (v - lo) / (hi - lo)


def _time_in_band(t: np.ndarray, r: np.ndarray, lo: float, hi: float) -> float:
    """Length of ``{s : lo <= r(s) <= hi}`` for the piecewise-linear interpolant of ``r``."""
    r0, r1, dt = r[:-1], r[1:], np.diff(t)
    d = r1 - r0
    flat = d == 0
    safe = np.where(flat, 1.0, d)
    a, b = (lo - r0) / safe, (hi - r0) / safe
    s_lo = np.clip(np.minimum(a, b), 0.0, 1.0)
    s_hi = np.clip(np.maximum(a, b), 0.0, 1.0)
    frac = np.where(flat, ((r0 >= lo) & (r0 <= hi)).astype(np.float64), s_hi - s_lo)
    return float((frac * dt).sum())


def saturation(
    values: ArrayLike, shifts: ArrayLike, *, delta: float = 0.1, tail: int = 3
) -> Saturation:
    """Plateau, saturation onset and saturation region of a distance curve.

    Args:
        values: ``float[T]`` the distance at each shift (``T >= 2``).
        shifts: ``float[T]`` strictly increasing shifts.
        delta: the tolerance band around the plateau, as a fraction of the rise
            ``P - y(0)`` (``0 < delta < 1``).
        tail: the plateau is the mean of the last ``tail`` values (``1 <= tail <= T``).

    Returns:
        A [`Saturation`][hamgeo.experiments.discriminability.Saturation].

    Examples:
        A linear curve is near its plateau only at the end; a curve with an early
        plateau is from its knee on (11 shifts over ``[0, 1]``, ``delta = 0.1``):

        >>> t = np.linspace(0.0, 1.0, 11)
        >>> [round(v, 3) for v in saturation(t, t)]
        [0.9, 0.81, 0.18]
        >>> [round(v, 3) for v in saturation(np.minimum(t / 0.2, 1.0), t)]
        [1.0, 0.18, 0.82]
        >>> saturation(np.ones(11), t).region is None
        True
    """
    y, t = _curve(values, shifts)
    delta = check_float(
        delta, "delta", minimum=0.0, maximum=1.0, exclusive_minimum=True, exclusive_maximum=True
    )
    tail = check_positive_int(tail, "tail", maximum=y.size)
    plateau = float(y[-tail:].mean())
    rise = plateau - y[0]
    if not rise > 0:
        return Saturation(plateau, None, None)
    r = (y - y[0]) / rise
    hit = np.flatnonzero(r >= 1.0 - delta)
    k = int(hit[0])  # exists: the tail's mean is 1, so one of its values is >= 1
    onset = float(t[k])
    if k > 0:
        onset = float(t[k - 1] + (1.0 - delta - r[k - 1]) / (r[k] - r[k - 1]) * (t[k] - t[k - 1]))
    return Saturation(plateau, onset, _time_in_band(t, r, 1.0 - delta, 1.0 + delta))


def benchmark_window(benchmark: ArrayLike, *, level: float = 0.5, minimum: int = 5) -> int:
    """Number of first shifts in the local window of a benchmark curve.

    The window runs from the first shift up to and including the first one where the
    benchmark's min-max normalized value reaches ``level``, and holds at least
    ``minimum`` shifts (all of them if the curve has fewer).

    Args:
        benchmark: ``float[T]`` the benchmark distance at each shift.
        level: the normalized level that ends the window, in ``(0, 1]``.
        minimum: the smallest window.

    Returns:
        The window length ``n`` (the window is ``[:n]``).

    Examples:
        >>> benchmark_window(np.linspace(0.0, 1.0, 11), minimum=3)
        6
        >>> benchmark_window(np.array([0.0, 0.9, 1.0, 1.0]), minimum=3)
        3
    """
    level = check_float(level, "level", minimum=0.0, maximum=1.0, exclusive_minimum=True)
    minimum = check_positive_int(minimum, "minimum")
    norm = normalize_curve(benchmark)
    reached = np.flatnonzero(np.nan_to_num(norm, nan=-np.inf) >= level)
    stop = int(reached[0]) + 1 if reached.size else norm.size
    return int(min(norm.size, max(stop, minimum)))


def spearman_window(a: ArrayLike, b: ArrayLike, n: int) -> float:
    """Spearman rank correlation of two curves over their first ``n`` shifts.

    Args:
        a: ``float[T]`` a curve.
        b: ``float[T]`` another curve over the same shifts (the benchmark).
        n: the window length (e.g. from
            [`benchmark_window`][hamgeo.experiments.discriminability.benchmark_window]).

    Returns:
        The correlation; NaN when either curve is constant over the window.

    Examples:
        >>> spearman_window(np.array([0, 1, 2, 4, 3.0]), np.arange(5.0), 4)
        1.0
    """
    a = np.asarray(check_array(a, "a", ndim=1, kind="fiub"), dtype=np.float64)
    b = np.asarray(check_array(b, "b", ndim=1, kind="fiub"), dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"`a` and `b` must be 1-D of one shape, got {a.shape} and {b.shape}")
    n = min(check_positive_int(n, "n"), a.size)
    x, y = a[:n], b[:n]
    if n < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(scipy.stats.spearmanr(x, y).statistic)


def verdict(interval: Interval, *, threshold: float = 0.0) -> str:
    """The verdict on the claim "the statistic is above ``threshold``", from its interval.

    ``"supported"`` when the whole interval lies above ``threshold``, ``"contradicted"``
    when it lies below, ``"inconclusive"`` when it contains it, and ``"one seed"`` when
    there is no interval.

    Examples:
        >>> from hamgeo.experiments.protocol import seed_interval
        >>> verdict(seed_interval([0.2, 0.3, 0.25])), verdict(seed_interval([-1.0, 1.0, 0.1]))
        ('supported', 'inconclusive')
        >>> verdict(seed_interval([-0.2, -0.3, -0.25])), verdict(seed_interval([0.2]))
        ('contradicted', 'one seed')
    """
    threshold = check_float(threshold, "threshold")
    if interval.low is None or interval.high is None:
        return "one seed"
    if interval.low > threshold:
        return "supported"
    if interval.high < threshold:
        return "contradicted"
    return "inconclusive"


def log10_bound(n: ArrayLike, epsilon: float, diameter: int, p: float = 1.0) -> np.ndarray:
    """``log10`` of the paper's bound ``(n + 1)^D exp(-eps n 2^{-(1+2p)/(2p)} / D)``.

    Args:
        n: sample size(s) ``n`` (the larger of the two).
        epsilon: the deviation ``eps > 0``.
        diameter: ``D``, the largest Hamming distance within the support (``>= 1``).
        p: the order of the Wasserstein distance.

    Returns:
        ``float64`` of the shape of ``n``; the bound is vacuous where it is ``>= 0``.

    Examples:
        >>> float(log10_bound(10, 1.0, 5)) > 0, float(log10_bound(10**4, 1.0, 5)) < 0
        (True, True)
    """
    epsilon = check_float(epsilon, "epsilon", minimum=0.0, exclusive_minimum=True)
    diameter = check_positive_int(diameter, "diameter")
    p = check_float(p, "p", minimum=1.0)
    n = np.asarray(n, np.float64)
    rate = epsilon * 2.0 ** (-(1.0 + 2.0 * p) / (2.0 * p)) / diameter
    return (diameter * np.log1p(n) - rate * n) / math.log(10.0)


def bound_useful_from(epsilon: float, diameter: int, p: float = 1.0) -> int:
    """The smallest ``n`` at which the paper's bound drops below 1.

    Examples:
        >>> n = bound_useful_from(1.0, 1)
        >>> bool(log10_bound(n, 1.0, 1) < 0 <= log10_bound(n - 1, 1.0, 1))
        True
    """
    lo, hi = 1, 2
    while log10_bound(hi, epsilon, diameter, p) >= 0:
        lo, hi = hi, hi * 2
    # the exponent is concave in n: once negative it stays negative
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if log10_bound(mid, epsilon, diameter, p) >= 0:
            lo = mid
        else:
            hi = mid
    return hi


def counterexample_tail(n: int, epsilon: float) -> float:
    """Exact ``P(|W1(mu, mu) - W1(L_n, L_n')| > epsilon)`` for 1-bit codes, ``mu = Bernoulli(1/2)``.

    With one bit and Hamming cost, ``W1`` between two empirical measures of ``n`` codes
    is ``|K1 - K2| / n`` for their counts of ones ``K1, K2 ~ Binomial(n, 1/2)``, and
    ``W1(mu, mu) = 0``; ``K1 + (n - K2) ~ Binomial(2n, 1/2)``, so the tail is
    ``P(|B - n| > epsilon n)`` for ``B ~ Binomial(2n, 1/2)``, summed exactly.

    Host-only: an exact sum on the host.

    Examples:
        >>> round(counterexample_tail(400, 0.1), 5)
        0.00416
    """
    check_int(n, "n", minimum=1)
    k = np.arange(2 * n + 1)
    log_pmf = scipy.stats.binom.logpmf(k, 2 * n, 0.5)
    # |B - n| > eps n, with a tolerance for eps n landing on an integer in float arithmetic
    far = np.abs(k - n) > epsilon * n + 1e-9
    return float(np.exp(log_pmf[far]).sum())
