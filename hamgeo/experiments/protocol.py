"""The one shape every reproduction has, and the seed statistics they share.

An experiment is a package under ``hamgeo.experiments`` whose ``__init__`` exposes:

* ``NAME``: its name on the command line (``"discriminability"``);
* ``Config``: a frozen dataclass whose ``__post_init__`` validates every field (so a bad
  option fails before any work), with a ``quick()`` classmethod (minutes on a 2-core CPU),
  an ``n_seeds`` field (independent repetitions, each retraining its networks) and, where
  the study can run on several data sets, a ``data`` field naming one of
  ``hamgeo.data.DATASETS``;
* ``Result`` with
    * ``findings``: the paper's claims judged by rule against controls, a list of
      [`Finding`][hamgeo.experiments.findings.Finding];
    * a ``summary`` *property*: every statistic across seeds as a list of tidy
      [`Record`][hamgeo.experiments.findings.Record] s (statistic, factors, mean, 95 %
      interval, number of seeds; ``pandas.DataFrame([r.to_dict() for r in summary])``
      reads them). Studies not yet moved to records return a mapping of named values
      (floats, ``None`` or [`Interval`][hamgeo.experiments.protocol.Interval]), which the
      command line still prints;
    * ``to_dict()``: the JSON-able content of ``results.json``, built by
      [`results_document`][hamgeo.experiments.findings.results_document] (keys
      ``"experiment"`` = ``NAME``, ``"config"``, ``"dataset"``, ``"seeds"``,
      ``"findings"``, ``"summary"``, ... as the shipped schema requires);
* ``run(config, key) -> Result`` and ``plot(result, out_dir) -> list[Path]``.

[`check_experiment`][hamgeo.experiments.protocol.check_experiment] checks a module
against that contract (the test suite runs it over ``hamgeo.experiments.REGISTRY``).

Seed 0 of a run with key ``key`` uses ``key`` itself and seed ``i > 0`` uses
``jax.random.fold_in(key, i)`` ([`seed_keys`][hamgeo.experiments.protocol.seed_keys]):
adding seeds never changes the earlier ones, and a one-seed run gives the numbers it gave
before seeds existed.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, runtime_checkable

import jax
import numpy as np

from hamgeo._checks import check_key, check_positive_int

__all__ = [
    "ConfigLike",
    "Experiment",
    "Interval",
    "ResultLike",
    "check_experiment",
    "seed_interval",
    "seed_keys",
    "summarize_seeds",
]


@dataclasses.dataclass(frozen=True)
class Interval:
    """A mean across seeds with its two-sided confidence interval (Student t).

    Attributes:
        mean: the mean of the finite values.
        low: lower end of the interval (``None`` with fewer than two finite values).
        high: upper end (``None`` likewise).
        n: number of finite values the interval rests on.
        values: the per-seed values in seed order (``None`` where a seed gave none).
        confidence: the interval's confidence level.

    Examples:
        >>> iv = seed_interval([1.0, 2.0, 3.0])
        >>> round(iv.mean, 6), round(iv.low, 3), round(iv.high, 3), iv.n
        (2.0, -0.484, 4.484, 3)
        >>> iv.contains(0.0), iv.excludes(5.0)
        (True, True)
    """

    mean: float | None
    low: float | None
    high: float | None
    n: int
    values: tuple[float | None, ...]
    confidence: float = 0.95

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies in ``[low, high]`` (False without an interval)."""
        if self.low is None or self.high is None:
            return False
        return self.low <= value <= self.high

    def excludes(self, value: float) -> bool:
        """Whether the interval exists and lies entirely on one side of ``value``."""
        if self.low is None or self.high is None:
            return False
        return value < self.low or value > self.high

    def __format__(self, spec: str) -> str:
        spec = spec or ".3g"
        if self.mean is None:
            return "n/a"
        if self.low is None or self.high is None:
            return f"{self.mean:{spec}} (1 seed)"
        return f"{self.mean:{spec}} [{self.low:{spec}}, {self.high:{spec}}]"


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    f = float(value)
    return f if math.isfinite(f) else None


def seed_interval(values: Iterable[float | None], *, confidence: float = 0.95) -> Interval:
    """Mean and Student-t confidence interval of per-seed ``values``.

    ``None`` and non-finite values are kept in
    ``Interval.values`` but left out of
    the statistics. With one finite value the interval is ``(None, None)``: one seed says
    nothing about the spread.

    Args:
        values: one number per seed.
        confidence: the two-sided level, in ``(0, 1)``.

    Returns:
        The [`Interval`][hamgeo.experiments.protocol.Interval].

    Examples:
        >>> seed_interval([0.5]).low is None
        True
    """
    vals = tuple(_finite(v) for v in values)
    finite = np.array([v for v in vals if v is not None], np.float64)
    n = int(finite.size)
    if n == 0:
        return Interval(None, None, None, 0, vals, confidence)
    mean = float(finite.mean())
    if n == 1:
        return Interval(mean, None, None, 1, vals, confidence)
    from scipy import stats

    sem = float(finite.std(ddof=1) / math.sqrt(n))
    half = float(stats.t.ppf(0.5 + confidence / 2, df=n - 1)) * sem
    return Interval(mean, mean - half, mean + half, n, vals, confidence)


def seed_keys(key: jax.Array, n_seeds: int) -> list[jax.Array]:
    """The keys of seeds ``0 .. n_seeds - 1``: ``key`` itself, then ``fold_in(key, i)``.

    Examples:
        >>> ks = seed_keys(jax.random.key(0), 3)
        >>> len(ks), bool((jax.random.key_data(ks[0]) == jax.random.key_data(
        ...     seed_keys(jax.random.key(0), 1)[0])).all())
        (3, True)
    """
    key = check_key(key)
    n_seeds = check_positive_int(n_seeds, "n_seeds")
    return [key, *(jax.random.fold_in(key, i) for i in range(1, n_seeds))]


def summarize_seeds(
    per_seed: Sequence[Mapping[str, Any]], *, confidence: float = 0.95
) -> dict[str, Any]:
    """Turn per-seed summaries (same keys) into ``{key: Interval}``.

    Values that are not numbers (strings, e.g. a verdict) are kept when every seed
    agrees and listed per seed otherwise.

    Examples:
        >>> out = summarize_seeds([{"a": 1.0, "v": "yes"}, {"a": 3.0, "v": "yes"}])
        >>> out["a"].mean, out["v"]
        (2.0, 'yes')
    """
    if not per_seed:
        raise ValueError("`per_seed` must hold at least one seed's summary, got none")
    keys: list[str] = []
    for summary in per_seed:
        keys.extend(k for k in summary if k not in keys)
    out: dict[str, Any] = {}
    for k in keys:
        column = [s.get(k) for s in per_seed]
        numeric = all(
            v is None or (isinstance(v, int | float | np.number) and not isinstance(v, bool))
            for v in column
        )
        if numeric:
            out[k] = seed_interval(column, confidence=confidence)
        elif all(v == column[0] for v in column):
            out[k] = column[0]
        else:
            out[k] = column
    return out


@runtime_checkable
class ConfigLike(Protocol):
    """What the command line needs of a ``Config``."""

    n_seeds: int

    @classmethod
    def quick(cls) -> Any:
        """Small sizes that finish in minutes on a 2-core CPU."""
        ...


@runtime_checkable
class ResultLike(Protocol):
    """What the command line needs of a ``Result``."""

    @property
    def summary(self) -> Sequence[Any] | Mapping[str, Any]:
        """Tidy records across seeds (a mapping of named values for older studies)."""
        ...

    def to_dict(self) -> dict[str, Any]:
        """The content of ``results.json``."""
        ...


@runtime_checkable
class Experiment(Protocol):
    """A reproduction package (see the module docstring)."""

    NAME: str
    Config: type
    Result: type

    def run(self, config: Any, key: jax.Array) -> Any:
        """Run the study."""
        ...

    def plot(self, result: Any, out_dir: str | Path) -> list[Path]:
        """Draw the figures into ``out_dir``."""
        ...


def check_experiment(module: ModuleType) -> None:
    """Raise ``TypeError`` naming what ``module`` lacks of the ``Experiment`` contract."""
    missing = [n for n in ("NAME", "Config", "Result", "run", "plot") if not hasattr(module, n)]
    if missing:
        raise TypeError(f"experiment {module.__name__} lacks {', '.join(missing)}")
    config_cls = module.Config
    if not dataclasses.is_dataclass(config_cls):
        raise TypeError(f"{module.__name__}.Config must be a dataclass")
    if not callable(getattr(config_cls, "quick", None)):
        raise TypeError(f"{module.__name__}.Config must have a quick() classmethod")
    if "n_seeds" not in {f.name for f in dataclasses.fields(config_cls)}:
        raise TypeError(f"{module.__name__}.Config must have an `n_seeds` field")
    if not isinstance(inspect.getattr_static(module.Result, "summary", None), property):
        raise TypeError(f"{module.__name__}.Result.summary must be a property")
    if not callable(getattr(module.Result, "to_dict", None)):
        raise TypeError(f"{module.__name__}.Result must have to_dict()")
    params = list(inspect.signature(module.run).parameters)
    if params[:2] != ["config", "key"]:
        raise TypeError(f"{module.__name__}.run must take (config, key), got {params}")
