"""Findings computed by rule, tidy summary records, and the one ``results.json`` format.

Every reproduction judges the papers' claims the same way (CONTRIBUTING.md, "Science
judged against controls"): a [`Finding`][hamgeo.experiments.findings.Finding] quotes the
claim and its section,
names the statistic, lists one [`Estimate`][hamgeo.experiments.findings.Estimate] per arm (the
trained arm first, then
every control), states the decision rule and carries the verdict that rule computed
([`judge`][hamgeo.experiments.findings.judge], usually from
[`beats`][hamgeo.experiments.findings.beats]). Intervals come from
[`interval`][hamgeo.experiments.findings.interval] and
[`paired_difference`][hamgeo.experiments.findings.paired_difference]. Summaries are tidy
[`Record`][hamgeo.experiments.findings.Record] s that
``pandas.DataFrame([r.to_dict() for r in records])`` reads.

[`results_document`][hamgeo.experiments.findings.results_document] assembles ``results.json`` with
the keys the shipped JSON Schema
(``hamgeo/experiments/results.schema.json``,
[`load_schema`][hamgeo.experiments.findings.load_schema]) requires;
[`validate_results`][hamgeo.experiments.findings.validate_results] checks a document against it.

This module is a leaf inside ``hamgeo.experiments``: studies import it, it imports no study.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import platform
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

import jax
import numpy as np

from hamgeo._checks import is_tracer
from hamgeo._version import __version__
from hamgeo.experiments._common import to_jsonable
from hamgeo.hamming._dispatch import cpu_info

__all__ = [
    "KINDS",
    "SCHEMA_VERSION",
    "VERDICTS",
    "Estimate",
    "Finding",
    "IntervalKind",
    "Record",
    "Verdict",
    "array_checksum",
    "beats",
    "dataset_info",
    "estimate",
    "format_findings",
    "interval",
    "judge",
    "load_schema",
    "paired_difference",
    "provenance",
    "render_findings_markdown",
    "results_document",
    "validate_results",
]

Verdict = Literal["supported", "contradicted", "inconclusive", "untestable"]
VERDICTS: tuple[str, ...] = get_args(Verdict)

IntervalKind = Literal["mean", "proportion", "count"]
KINDS: tuple[str, ...] = get_args(IntervalKind)

# bump when a key of results.json changes meaning or disappears (adding one is compatible)
SCHEMA_VERSION = 1

_NAN = float("nan")


def _float_or_nan(value: Any) -> float:
    if value is None:
        return _NAN
    return float(value)


def _json_float(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _fmt(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:.4g}"


def _same(value: Any) -> Any:
    return value


_Convert = Mapping[str, Callable[[Any], Any]]


def _fields_dict(obj: Any, convert: _Convert) -> dict[str, Any]:
    """``obj``'s dataclass fields in order, each through its ``convert`` function if any."""
    return {
        f.name: convert.get(f.name, _same)(getattr(obj, f.name)) for f in dataclasses.fields(obj)
    }


def _from_fields(cls: Any, d: Mapping[str, Any], convert: _Convert) -> Any:
    """``cls`` from the dict ``d`` of its fields (a field with a default may be missing)."""
    kwargs = {}
    for f in dataclasses.fields(cls):
        value = d[f.name] if f.default is dataclasses.MISSING else d.get(f.name, f.default)
        kwargs[f.name] = convert.get(f.name, _same)(value)
    return cls(**kwargs)


# How each class's fields go to JSON types and come back (other fields pass as they are).
_BOUNDS = ("mean", "low", "high")
_ESTIMATE_OUT: _Convert = dict.fromkeys(_BOUNDS, _json_float)
_ESTIMATE_IN: _Convert = {**dict.fromkeys(_BOUNDS, _float_or_nan), "n": int, "is_control": bool}
_RECORD_IN: _Convert = {
    "factors": dict,
    **dict.fromkeys(_BOUNDS, _float_or_nan),
    "n": int,
    "seeds": tuple,
}


@dataclasses.dataclass(frozen=True)
class Estimate:
    """One row of a findings table: a statistic for one arm (trained or a control).

    Attributes:
        label: the arm, e.g. ``"trained"``, ``"init (same arch.)"``, ``"random hyperplanes"``.
        mean: the mean over seeds (NaN when no seed gave a value).
        low: lower end of the 95 % interval
            (see [`interval`][hamgeo.experiments.findings.interval]).
        high: upper end.
        n: number of seeds / samples behind it.
        is_control: whether the row is a control arm.

    Examples:
        >>> e = Estimate("trained", 0.9, 0.85, 0.95, 5)
        >>> Estimate.from_dict(e.to_dict()) == e
        True
    """

    label: str
    mean: float
    low: float
    high: float
    n: int
    is_control: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.label, str) or not self.label:
            raise TypeError(f"`label` must be a non-empty string, got {self.label!r}")
        if isinstance(self.n, bool) or not isinstance(self.n, int | np.integer) or self.n < 0:
            raise ValueError(f"`n` must be an integer >= 0, got {self.n!r}")
        for name in ("mean", "low", "high"):
            object.__setattr__(self, name, _float_or_nan(getattr(self, name)))
        object.__setattr__(self, "n", int(self.n))
        object.__setattr__(self, "is_control", bool(self.is_control))

    def to_dict(self) -> dict[str, Any]:
        """JSON types; non-finite numbers become ``None``."""
        return _fields_dict(self, _ESTIMATE_OUT)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Estimate:
        """Inverse of ``to_dict`` (``None`` reads back as NaN)."""
        return _from_fields(cls, d, _ESTIMATE_IN)

    def format(self) -> str:
        """``mean [low, high]``, with ``range`` in place of the interval below 3 values."""
        if self.n == 0 or not math.isfinite(self.mean):
            return "n/a"
        if self.n == 1:
            return f"{_fmt(self.mean)} (1 value)"
        word = "" if self.n >= 3 else "range "
        return f"{_fmt(self.mean)} {word}[{_fmt(self.low)}, {_fmt(self.high)}]"


@dataclasses.dataclass(frozen=True)
class Finding:
    """A claim of a paper, judged by a stated rule against controls.

    Attributes:
        key: stable id, e.g. ``"depth_vs_cells"``.
        claim: quoted from the paper's text.
        section: where the paper says it, e.g. ``"Sec. 4.2"``.
        statistic: what was measured.
        estimates: the trained arm first, then every control row.
        rule: the stated decision rule, in words.
        verdict: one of [`VERDICTS`][hamgeo.experiments.findings.VERDICTS], computed by the rule
            ([`judge`][hamgeo.experiments.findings.judge]).
        note: e.g. which knob carries it.

    Examples:
        >>> f = Finding("k", "Codes saturate.", "Sec. 4", "W1", (Estimate("trained", 1, 0, 2, 3),),
        ...             "interval excludes 0", "supported")
        >>> Finding.from_dict(f.to_dict()) == f
        True
    """

    key: str
    claim: str
    section: str
    statistic: str
    estimates: tuple[Estimate, ...]
    rule: str
    verdict: Verdict
    note: str = ""

    def __post_init__(self) -> None:
        for name in ("key", "claim", "section", "statistic", "rule", "note"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"`{name}` must be a string, got {getattr(self, name)!r}")
        if not self.key:
            raise ValueError("`key` must be a non-empty string, got ''")
        estimates = tuple(self.estimates)
        if not all(isinstance(e, Estimate) for e in estimates):
            raise TypeError("`estimates` must be a sequence of Estimate")
        object.__setattr__(self, "estimates", estimates)
        if self.verdict not in VERDICTS:
            raise ValueError(
                f"`verdict` must be one of {', '.join(map(repr, VERDICTS))}, got {self.verdict!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON types, in the order of the fields."""
        return _fields_dict(self, {"estimates": lambda es: [e.to_dict() for e in es]})

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Finding:
        """Inverse of [`to_dict`][hamgeo.experiments.findings.Finding.to_dict]."""
        return _from_fields(cls, d, {"estimates": lambda es: tuple(map(Estimate.from_dict, es))})


@dataclasses.dataclass(frozen=True)
class Record:
    """One tidy summary row: a statistic at one setting of the factors, over seeds.

    Attributes:
        statistic: what was measured, e.g. ``"code_wasserstein"``.
        factors: the setting, e.g. ``{"layers": 10, "region": "saturation"}``.
        mean: the mean over seeds (NaN when none gave a value).
        low: lower end of the 95 % interval.
        high: upper end.
        n: number of values behind it.
        seeds: the seed indices that gave them.

    Examples:
        >>> r = Record("cells", {"layers": 3}, 10.0, 8.0, 12.0, 3, (0, 1, 2))
        >>> r.to_dict()["layers"], Record.from_dict(r.to_dict()) == r
        (3, True)
    """

    statistic: str
    factors: Mapping[str, str | int | float]
    mean: float
    low: float
    high: float
    n: int
    seeds: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.statistic, str) or not self.statistic:
            raise TypeError(f"`statistic` must be a non-empty string, got {self.statistic!r}")
        factors = dict(self.factors)
        reserved = {"statistic", "mean", "low", "high", "n", "seeds", "factors"}
        for name, value in factors.items():
            if not isinstance(name, str) or name in reserved:
                raise ValueError(f"factor names must be strings other than {sorted(reserved)}")
            if isinstance(value, bool) or not isinstance(value, str | int | float | np.number):
                raise TypeError(f"factor {name!r} must be a str, int or float, got {value!r}")
        object.__setattr__(self, "factors", to_jsonable(factors))
        for name in ("mean", "low", "high"):
            object.__setattr__(self, name, _float_or_nan(getattr(self, name)))
        object.__setattr__(self, "n", int(self.n))
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))

    def to_dict(self) -> dict[str, Any]:
        """A flat dict: ``statistic``, ``factors``, each factor as its own column, values.

        The factors appear both nested (``factors``, what the schema reads back) and as
        columns, so ``pandas.DataFrame(records)`` gives one column per factor.
        """
        return {
            "statistic": self.statistic,
            "factors": dict(self.factors),
            **self.factors,
            "mean": _json_float(self.mean),
            "low": _json_float(self.low),
            "high": _json_float(self.high),
            "n": self.n,
            "seeds": list(self.seeds),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Record:
        """Inverse of [`to_dict`][hamgeo.experiments.findings.Record.to_dict]."""
        return _from_fields(cls, d, _RECORD_IN)


def _check_host(values: Any, name: str) -> None:
    if is_tracer(values) or (
        isinstance(values, list | tuple) and any(is_tracer(v) for v in values)
    ):
        raise TypeError(
            f"`{name}` must be concrete per-seed numbers: interval statistics are host-only "
            "and cannot run under jax.jit / vmap / grad"
        )


def _finite_values(values: Iterable[Any], name: str) -> np.ndarray:
    out = []
    _check_host(values, name)
    for v in values:
        if v is None:
            continue
        f = float(v)
        if math.isfinite(f):
            out.append(f)
    return np.asarray(out, np.float64)


@functools.cache
def _t_quantile(df: int) -> float:
    from scipy import stats

    return float(stats.t.ppf(0.975, df=df))


def interval(
    values: Iterable[float | None], *, kind: IntervalKind = "mean"
) -> tuple[float, float, float]:
    """Mean and 95 % interval of per-seed ``values``.

    With 3 or more finite values the interval is Student t (mean ± t₀.₉₇₅ · s / √n).
    With fewer, a t interval says nothing useful (2 seeds give t₀.₉₇₅ = 12.7): the
    interval is the **range** min..max of the values (one value: a point). ``None`` and
    non-finite values are left out; none left gives ``(nan, nan, nan)``.

    ``kind="proportion"`` clips the interval to ``[0, 1]`` and ``kind="count"`` to
    ``[0, ∞)``, so a statistic's interval never leaves its valid range (issue 22).

    Host-only: computes with NumPy / SciPy on concrete per-seed numbers.

    Args:
        values: one number per seed.
        kind: ``"mean"``, ``"proportion"`` or ``"count"``.

    Returns:
        ``(mean, low, high)``.

    Examples:
        >>> [round(v, 3) for v in interval([1.0, 2.0, 3.0])]
        [2.0, -0.484, 4.484]
        >>> [round(v, 3) for v in interval([0.98, 0.99, 1.0], kind="proportion")]
        [0.99, 0.965, 1.0]
        >>> interval([4, 7])  # below 3 values: the range
        (5.5, 4.0, 7.0)
    """
    if kind not in KINDS:
        raise ValueError(f"`kind` must be one of {', '.join(map(repr, KINDS))}, got {kind!r}")
    x = _finite_values(values, "values")
    n = x.size
    if n == 0:
        return _NAN, _NAN, _NAN
    mean = float(x.mean())
    if n < 3:
        low, high = float(x.min()), float(x.max())
    else:
        half = _t_quantile(n - 1) * float(x.std(ddof=1)) / math.sqrt(n)
        low, high = mean - half, mean + half
    if kind == "proportion":
        low, high = max(low, 0.0), min(high, 1.0)
    elif kind == "count":
        low = max(low, 0.0)
    return mean, low, high


def _pairs(a: Sequence[float | None], b: Sequence[float | None]) -> np.ndarray:
    _check_host(a, "a")
    _check_host(b, "b")
    a, b = list(a), list(b)
    if len(a) != len(b):
        raise ValueError(
            f"paired values must have one value per seed each, got {len(a)} and {len(b)}"
        )
    out = []
    for x, y in zip(a, b, strict=True):
        if x is None or y is None:
            continue
        d = float(x) - float(y)
        if math.isfinite(d):
            out.append(d)
    return np.asarray(out, np.float64)


def paired_difference(
    a: Sequence[float | None], b: Sequence[float | None]
) -> tuple[float, float, float]:
    """Mean of ``a - b`` over paired seeds with its 95 % interval.

    Seed ``i`` of ``a`` is paired with seed ``i`` of ``b``; pairs where either is
    missing or non-finite are dropped. The interval follows
    [`interval`][hamgeo.experiments.findings.interval]: Student t from 3 pairs, the
    range below.

    Host-only: computes with NumPy / SciPy on concrete per-seed numbers.

    Args:
        a: one value per seed (e.g. the trained arm).
        b: one value per seed (e.g. its control), same length.

    Returns:
        ``(mean, low, high)`` of the differences.

    Examples:
        >>> [round(v, 3) for v in paired_difference([3.0, 4.0, 5.0], [1.0, 1.5, 2.5])]
        [2.333, 1.616, 3.05]
    """
    return interval(_pairs(a, b))


def beats(
    trained: Sequence[float | None],
    control: Sequence[float | None],
    *,
    larger_is_better: bool = True,
) -> bool:
    """Whether ``trained`` beats ``control`` by a paired interval.

    True when the 95 % interval of the paired difference ``trained - control``
    ([`paired_difference`][hamgeo.experiments.findings.paired_difference]) lies entirely
    above 0 (``larger_is_better``) or entirely below it. At least 2 pairs are needed: one
    seed has no spread, so it never beats anything.

    Host-only: computes with NumPy / SciPy on concrete per-seed numbers.

    Examples:
        >>> beats([0.9, 0.92, 0.95], [0.5, 0.55, 0.52])
        True
        >>> beats([0.9, 0.92, 0.95], [0.5, 0.55, 0.52], larger_is_better=False)
        False
        >>> beats([0.9], [0.1])
        False
    """
    d = _pairs(trained, control)
    if d.size < 2:
        return False
    _, low, high = interval(d)
    return low > 0 if larger_is_better else high < 0


def judge(*, supported: bool, contradicted: bool, testable: bool = True) -> Verdict:
    """The verdict of a rule: ``untestable``, ``supported``, ``contradicted`` or ``inconclusive``.

    Host-only: takes the Python booleans a rule computed.

    Examples:
        >>> judge(supported=True, contradicted=False)
        'supported'
        >>> judge(supported=False, contradicted=False)
        'inconclusive'
        >>> judge(supported=True, contradicted=False, testable=False)
        'untestable'
    """
    if not testable:
        return "untestable"
    if supported and contradicted:
        raise ValueError("a rule cannot both support and contradict a claim: check the rule")
    if supported:
        return "supported"
    if contradicted:
        return "contradicted"
    return "inconclusive"


def estimate(
    label: str,
    values: Iterable[float | None],
    *,
    kind: IntervalKind = "mean",
    is_control: bool = False,
) -> Estimate:
    """An [`Estimate`][hamgeo.experiments.findings.Estimate] of per-seed ``values``.

    Host-only: computes with NumPy / SciPy on concrete per-seed numbers.

    Examples:
        >>> estimate("init", [1.0, 2.0], is_control=True)
        Estimate(label='init', mean=1.5, low=1.0, high=2.0, n=2, is_control=True)
    """
    x = _finite_values(values, "values")
    mean, low, high = interval(x, kind=kind)
    return Estimate(label, mean, low, high, int(x.size), is_control)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_findings_markdown(findings: Sequence[Finding], *, anchor: str = "finding-") -> str:
    """The findings as Markdown: an overview table, then one table per finding.

    Each finding's table carries the HTML id ``anchor + key`` (underscores as hyphens), the
    overview links to it; a page holding two runs of a study gives each its own ``anchor``.

    Intervals are 95 %: Student t from 3 or more values; with fewer, the min..max range
    (marked ``range``). This is what ``python -m hamgeo.experiments.render_docs`` puts between the
    ``<!-- findings:begin -->`` / ``<!-- findings:end -->`` markers of a docs page.

    Host-only: formats text.

    Examples:
        >>> f = Finding("k", "Codes saturate.", "Sec. 4", "W1", (Estimate("trained", 1, 0, 2, 3),),
        ...             "interval excludes 0", "inconclusive")
        >>> print(render_findings_markdown([f]).splitlines()[2])
        | [`k`](#finding-k) | Codes saturate. (Sec. 4) | **inconclusive** |
    """
    if not isinstance(anchor, str) or not anchor.replace("-", "").isalnum():
        raise ValueError(f"anchor must be letters, digits and hyphens, got {anchor!r}")
    findings = list(findings)
    lines = ["| finding | claim (paper) | verdict |", "| --- | --- | --- |"]
    for f in findings:
        lines.append(
            f"| [`{f.key}`](#{anchor}{f.key.replace('_', '-')}) | "
            f"{_md(f.claim)} ({_md(f.section)}) | **{f.verdict}** |"
        )
    for f in findings:
        lines += [
            "",
            f'<a id="{anchor}{f.key.replace("_", "-")}"></a>',
            f"**`{f.key}`: {f.verdict}.** The paper ({_md(f.section)}): “{_md(f.claim)}”",
            "",
            f"- Statistic: {_md(f.statistic)}",
            f"- Rule: {_md(f.rule)}",
        ]
        if f.note:
            lines.append(f"- Note: {_md(f.note)}")
        lines += ["", "| arm | mean [95 % interval] | n |", "| --- | --- | --- |"]
        for e in f.estimates:
            label = f"{_md(e.label)} (control)" if e.is_control else _md(e.label)
            lines.append(f"| {label} | {e.format()} | {e.n} |")
    return "\n".join(lines) + "\n"


def format_findings(findings: Sequence[Finding]) -> str:
    """The findings as the plain-text table ``hamgeo reproduce`` prints.

    Host-only: formats text.

    Examples:
        >>> f = Finding("k", "Codes saturate.", "Sec. 4", "W1", (Estimate("trained", 1, 0, 2, 3),),
        ...             "interval excludes 0", "inconclusive")
        >>> print(format_findings([f]))
        k: inconclusive
          claim (Sec. 4): Codes saturate.
          statistic: W1
          rule: interval excludes 0
            trained  1 [0, 2]  n=3
    """
    blocks = []
    for f in findings:
        rows = [f"{f.key}: {f.verdict}", f"  claim ({f.section}): {f.claim}"]
        rows.append(f"  statistic: {f.statistic}")
        rows.append(f"  rule: {f.rule}")
        if f.note:
            rows.append(f"  note: {f.note}")
        labels = [f"{e.label} (control)" if e.is_control else e.label for e in f.estimates]
        width = max((len(s) for s in labels), default=0)
        for label, e in zip(labels, f.estimates, strict=True):
            rows.append(f"    {label:<{width}}  {e.format()}  n={e.n}")
        blocks.append("\n".join(rows))
    return "\n\n".join(blocks)


# --- results.json -------------------------------------------------------------------------


def array_checksum(*arrays: Any) -> str:
    """SHA-256 over the dtype, shape and bytes of each array, in order (``"sha256:<hex>"``).

    Host-only: hashes concrete host arrays.

    Examples:
        >>> import numpy as np
        >>> array_checksum(np.zeros(3)) == array_checksum(np.zeros(3))
        True
        >>> array_checksum(np.zeros(3)) == array_checksum(np.zeros(3, np.float32))
        False
    """
    h = hashlib.sha256()
    for a in arrays:
        x = np.ascontiguousarray(np.asarray(a))
        h.update(f"{x.dtype.str}{x.shape}".encode())
        h.update(x.tobytes())
    return "sha256:" + h.hexdigest()


def dataset_info(
    name: str,
    *,
    source: str,
    checksum: str,
    n_train: int,
    n_test: int | None,
    generator: str | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``dataset`` entry of ``results.json``.

    ``checksum`` is [`array_checksum`][hamgeo.experiments.findings.array_checksum] of
    the arrays the study used (``"sha256:<64 hex digits>"``); for generated data,
    ``generator`` / ``parameters`` say how they were made.

    Examples:
        >>> x = np.zeros((4, 2), np.float32)
        >>> dataset_info("grid", source="generated", checksum=array_checksum(x), n_train=4,
        ...              n_test=None, generator="gaussian_grid", parameters={"d": 2})["generator"]
        'gaussian_grid'
    """
    out: dict[str, Any] = {
        "name": name,
        "source": source,
        "checksum": checksum,
        "n_train": int(n_train),
        "n_test": None if n_test is None else int(n_test),
    }
    if generator is not None:
        out["generator"] = generator
    if parameters is not None:
        out["parameters"] = to_jsonable(dict(parameters))
    return out


_ISA_FLAGS = (
    "sse4_2",
    "popcnt",
    "avx",
    "avx2",
    "fma",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vpopcntdq",
    "avx512_vnni",
    "avx512_bf16",
    "amx_tile",
    "amx_int8",
    "amx_bf16",
    "neon",
    "asimd",
)


@functools.cache
def _cpu() -> tuple[str, tuple[str, ...]]:
    model, flags = platform.processor() or platform.machine(), set()
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        text = ""
    for line in text.splitlines():
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "model name" and value.strip():
            model = value.strip()
        elif name in ("flags", "features"):
            flags.update(value.split())
    return model, tuple(f for f in _ISA_FLAGS if f in flags)


@functools.cache
def _git_commit() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--show-toplevel", "HEAD"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None
    # the package must belong to that checkout, not merely sit below some other repository
    if len(out) != 2 or Path(out[0]).resolve() != here.parents[1]:
        return None
    return out[1]


def provenance() -> dict[str, Any]:
    """The ``provenance`` entry: hamgeo version, git commit, JAX version, CPU, devices.

    ``git_commit`` is ``None`` outside a checkout of hamgeo; ``cpu_flags`` lists the ISA
    extensions the kernels care about; ``usable_cpus`` is the number of CPUs the process
    may run on (threaded reductions in XLA and scikit-learn can sum in another order on
    another count, so the last digits of a result may depend on it).

    Host-only: reads the machine.

    Examples:
        >>> sorted(provenance())  # doctest: +NORMALIZE_WHITESPACE
        ['cpu_flags', 'cpu_model', 'devices', 'git_commit', 'hamgeo_version', 'jax_version',
         'usable_cpus']
    """
    model, flags = _cpu()
    return {
        "hamgeo_version": __version__,
        "git_commit": _git_commit(),
        "jax_version": jax.__version__,
        "cpu_model": model,
        "cpu_flags": list(flags),
        "usable_cpus": cpu_info()["cores"],
        "devices": [f"{d.platform}:{d.device_kind}" for d in jax.devices()],
    }


def results_document(
    *,
    experiment: str,
    config: Any,
    dataset: Mapping[str, Any],
    seeds: Sequence[int],
    findings: Sequence[Finding],
    summary: Sequence[Record],
    converged: bool | None,
    extra: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The content of ``results.json``, in the shipped schema's key order.

    ``config`` is the (nested, frozen) dataclass of the run; ``overrides`` the values
    the user set with ``--set section.field=value`` (the command line fills it in).

    Host-only: reads the machine and converts to JSON types.

    Examples:
        >>> doc = results_document(experiment="demo", config={"n_seeds": 1},
        ...     dataset=dataset_info("d", source="generated", checksum=array_checksum([0]),
        ...                          n_train=1, n_test=None),
        ...     seeds=[0], findings=[], summary=[], converged=None)
        >>> validate_results(doc)
        >>> list(doc)[:3]
        ['schema_version', 'experiment', 'status']
    """
    return {
        "schema_version": SCHEMA_VERSION,
        "experiment": experiment,
        "status": "complete",
        "config": to_jsonable(config),
        "overrides": to_jsonable(dict(overrides or {})),
        "dataset": to_jsonable(dict(dataset)),
        "provenance": provenance(),
        "seeds": [int(s) for s in seeds],
        "findings": [f.to_dict() for f in findings],
        "summary": [r.to_dict() for r in summary],
        "converged": None if converged is None else bool(converged),
        "extra": to_jsonable(dict(extra or {})),
    }


@functools.cache
def _schema_text() -> str:
    return resources.files("hamgeo.experiments").joinpath("results.schema.json").read_text()


def load_schema() -> dict[str, Any]:
    """The JSON Schema of ``results.json`` shipped in the package.

    Examples:
        >>> load_schema()["properties"]["schema_version"]["const"] == SCHEMA_VERSION
        True
    """
    return json.loads(_schema_text())


def validate_results(document: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` saying where ``document`` departs from the shipped schema.

    Needs the ``jsonschema`` package (the ``test`` extra).

    Host-only: validates JSON on the host.
    """
    import jsonschema

    validator = jsonschema.Draft202012Validator(load_schema())
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        where = "; ".join(
            f"{'/'.join(map(str, e.absolute_path)) or '<top>'}: {e.message}" for e in errors[:5]
        )
        raise ValueError(f"results.json does not follow schema v{SCHEMA_VERSION}: {where}")
