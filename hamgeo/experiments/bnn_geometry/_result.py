"""What a BNN-geometry run returns: per-seed measurements, the findings, tidy records."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

import numpy as np

from hamgeo.binary_geometry import LayerPreservation, angle_overlap
from hamgeo.experiments.bnn_geometry._config import LAYER_SCALARS, NAME, Config
from hamgeo.experiments.findings import Finding, Record, interval, results_document

__all__ = ["Band", "FaninResult", "ModelResult", "Result", "SeedResult", "band"]

_ANGLE_STATS = ("sign_mean", "sign_std", "pair_mean", "pair_std")


class Band(NamedTuple):
    """A statistic over seeds: mean and 95 % interval (t from 3 seeds, else the range)."""

    mean: float
    low: float
    high: float
    n: int


def band(values: Sequence[float | None], stat: str = "") -> Band:
    """The ``Band`` of per-seed ``values``, kept inside the statistic's range.

    Correlations (``*corr*``) are clipped to ``[-1, 1]``, angles (``*deg*``, ``sign_*``,
    ``pair_*``) to ``[0, 180]``, overlaps, probabilities and accuracies to ``[0, 1]``.

    Examples:
        >>> band([0.99, 0.999, 0.98], "dot_corr").high
        1.0
    """
    finite = [v for v in values if v is not None and math.isfinite(v)]
    kind: Literal["proportion", "mean"] = (
        "proportion" if any(w in stat for w in ("overlap", "p_", "accuracy")) else "mean"
    )
    mean, low, high = interval(finite, kind=kind)
    if "corr" in stat:
        low, high = max(low, -1.0), min(high, 1.0)
    elif "deg" in stat or stat.startswith(("sign_", "pair_")):
        low, high = max(low, 0.0), min(high, 180.0)
    return Band(mean, low, high, len(finite))


def _scalars(layers: Sequence[LayerPreservation]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for r in layers:
        for stat in LAYER_SCALARS:
            value = float(getattr(r, stat))
            out[f"{stat}_layer{r.layer}"] = value if math.isfinite(value) else None
    return out


@dataclasses.dataclass
class ModelResult:
    """One BNN (one seed): its per-layer dot-product preservation trained and at init.

    Attributes:
        name: short name (``mlp_digits``, ``mlp_mnist1d``, ``cnn_digits``, ...).
        description: architecture and data in words.
        test_accuracy: accuracy of the trained net on the (limited) test split.
        layers: one [`LayerPreservation`][hamgeo.binary_geometry.LayerPreservation] per
            binary layer of the trained net.
        init_layers: the same for the same net at initialization (the control).
        init_test_accuracy: accuracy of the net at initialization.
    """

    name: str
    description: str
    test_accuracy: float
    layers: list[LayerPreservation]
    init_layers: list[LayerPreservation]
    init_test_accuracy: float

    def layer_summary(self, state: str = "trained") -> dict[str, float | None]:
        """``{stat_layer{k}: value}`` and ``test_accuracy`` of ``state`` (``"init"``)."""
        if state == "init":
            return {"test_accuracy": self.init_test_accuracy, **_scalars(self.init_layers)}
        return {"test_accuracy": self.test_accuracy, **_scalars(self.layers)}

    def to_dict(self) -> dict[str, Any]:
        """Scalars only (the pair samples and per-unit arrays stay in memory)."""
        keep = ("layer", "kind", "input_dim", "n_pairs", *LAYER_SCALARS)
        return {
            "name": self.name,
            "description": self.description,
            "test_accuracy": self.test_accuracy,
            "init_test_accuracy": self.init_test_accuracy,
            "layers": [{k: getattr(r, k) for k in keep} for r in self.layers],
            "init_layers": [{k: getattr(r, k) for k in keep} for r in self.init_layers],
        }


class FaninResult(NamedTuple):
    """Layer 2 of one net of the fan-in sweep (one seed), trained and at init."""

    fan_in: int
    trained: LayerPreservation
    init: LayerPreservation
    test_accuracy: float


@dataclasses.dataclass
class SeedResult:
    """What one seed measured.

    Attributes:
        angles: ``{distribution: {dim: (sign, pairs)}}`` angle samples in degrees.
        models: the BNNs, the main model first.
        fanin: the fan-in sweep, ascending fan-in.
    """

    angles: dict[str, dict[int, tuple[np.ndarray, np.ndarray]]]
    models: list[ModelResult]
    fanin: list[FaninResult] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Result:
    """What [`run`][hamgeo.experiments.bnn_geometry.run] measured.

    Attributes:
        config: the configuration.
        theory: ``{distribution: {dim: AngleTheory}}``.
        seeds: one [`SeedResult`][hamgeo.experiments.bnn_geometry.SeedResult] per seed, seed 0
            first.
        datasets: ``{data set name: Dataset.info}`` of every data set used.
        dataset: the main data set's record in ``results.json`` (name, checksum, sizes).
        findings: the paper's claims judged against the controls.
    """

    config: Config
    theory: dict[str, dict[int, Any]]
    seeds: list[SeedResult]
    datasets: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    dataset: dict[str, Any] = dataclasses.field(default_factory=dict)
    findings: list[Finding] = dataclasses.field(default_factory=list)

    @property
    def angles(self) -> dict[str, dict[int, tuple[np.ndarray, np.ndarray]]]:
        """Seed 0's angle samples (for the histograms)."""
        return self.seeds[0].angles

    @property
    def models(self) -> list[ModelResult]:
        """Seed 0's models (for the 2-D histograms)."""
        return self.seeds[0].models

    def angle_stats(self, seed: SeedResult) -> dict[str, dict[str, dict[str, float]]]:
        """One seed's angle statistics per distribution and dimension."""
        table: dict[str, dict[str, dict[str, float]]] = {}
        for dist, by_dim in seed.angles.items():
            table[dist] = {}
            for dim, (sign, pairs) in by_dim.items():
                sign = np.asarray(sign, np.float64)
                pairs = np.asarray(pairs, np.float64)
                table[dist][str(dim)] = {
                    "sign_mean": float(sign.mean()),
                    "sign_std": float(sign.std()),
                    "pair_mean": float(pairs.mean()),
                    "pair_std": float(pairs.std()),
                    "overlap": angle_overlap(sign, pairs, bins=self.config.hist_bins),
                    "p_sign_above_pair": float((sign > pairs).mean()),
                }
        return table

    def angle_table(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Per distribution and dimension: ``Band`` s across seeds, and the theory."""
        tables = [self.angle_stats(s) for s in self.seeds]
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for dist in tables[0]:
            out[dist] = {}
            for dim in tables[0][dist]:
                row: dict[str, Any] = {
                    stat: band([t[dist][dim][stat] for t in tables], stat)
                    for stat in tables[0][dist][dim]
                }
                t = self.theory[dist][int(dim)]
                row |= {
                    "theory_sign_limit": t.sign_limit,
                    "theory_sign_mean": t.sign_mean,
                    "theory_sign_std": t.sign_std,
                    "theory_pair_std": t.pair_std,
                    "theory_overlap": t.overlap,
                }
                out[dist][dim] = row
        return out

    def model_summaries(self) -> list[dict[str, Any]]:
        """Per model: name, description, and each scalar as a ``Band``, trained and init."""
        out = []
        for j, first in enumerate(self.seeds[0].models):
            runs = [s.models[j] for s in self.seeds]
            entry: dict[str, Any] = {"name": first.name, "description": first.description}
            for state, key in (("trained", "summary"), ("init", "init_summary")):
                per_seed = [m.layer_summary(state) for m in runs]
                entry[key] = {k: band([p.get(k) for p in per_seed], k) for k in per_seed[0]}
            entry["seeds"] = [m.to_dict() for m in runs]
            out.append(entry)
        return out

    @property
    def summary(self) -> list[Record]:
        """The tidy summary: angles, every layer of every model (trained and init), fan-ins."""
        seeds = tuple(range(len(self.seeds)))
        out: list[Record] = []

        def add(stat: str, factors: dict[str, Any], values: Sequence[float | None]) -> None:
            b = band(values, stat)
            if b.n:
                out.append(Record(stat, factors, b.mean, b.low, b.high, b.n, seeds))

        tables = [self.angle_stats(s) for s in self.seeds]
        for dist in tables[0]:
            for dim in tables[0][dist]:
                for stat in tables[0][dist][dim]:
                    factors = {"distribution": dist, "dim": int(dim)}
                    add(f"angle_{stat}", factors, [t[dist][dim][stat] for t in tables])
        for j, first in enumerate(self.seeds[0].models):
            runs = [s.models[j] for s in self.seeds]
            for state in ("trained", "init"):
                per_seed = [m.layer_summary(state) for m in runs]
                add("test_accuracy", {"model": first.name, "state": state},
                    [p["test_accuracy"] for p in per_seed])  # fmt: skip
                for r in first.layers:
                    for stat in LAYER_SCALARS:
                        factors = {
                            "model": first.name,
                            "layer": r.layer,
                            "input_dim": r.input_dim,
                            "state": state,
                        }
                        add(stat, factors, [p.get(f"{stat}_layer{r.layer}") for p in per_seed])
        for i, f in enumerate(self.seeds[0].fanin):
            for state in ("trained", "init"):
                for stat in ("dot_corr", "isotropic_corr_median", "random_corr"):
                    values = [float(getattr(getattr(s.fanin[i], state), stat)) for s in self.seeds]
                    add(stat, {"model": "fanin_sweep", "fan_in": f.fan_in, "state": state}, values)
        return out

    def to_dict(self) -> dict[str, Any]:
        """The content of ``results.json`` (the shipped schema; ``extra``: angles, models)."""
        return results_document(
            experiment=NAME,
            config=dataclasses.asdict(self.config),
            dataset=self.dataset,
            seeds=range(len(self.seeds)),
            findings=self.findings,
            summary=self.summary,
            converged=None,
            extra={
                "datasets": self.datasets,
                "angles": {
                    d: {
                        dim: {k: v._asdict() if isinstance(v, Band) else v for k, v in row.items()}
                        for dim, row in rows.items()
                    }
                    for d, rows in self.angle_table().items()
                },  # fmt: skip
                "models": [
                    {
                        **{k: v for k, v in m.items() if k not in ("summary", "init_summary")},
                        "summary": {k: b._asdict() for k, b in m["summary"].items()},
                        "init_summary": {k: b._asdict() for k, b in m["init_summary"].items()},
                    }
                    for m in self.model_summaries()
                ],
                "fanin": [
                    {
                        "seed": i,
                        "fan_in": f.fan_in,
                        "test_accuracy": f.test_accuracy,
                        "trained": {k: float(getattr(f.trained, k)) for k in LAYER_SCALARS},
                        "init": {k: float(getattr(f.init, k)) for k in LAYER_SCALARS},
                    }
                    for i, s in enumerate(self.seeds)
                    for f in s.fanin
                ],  # fmt: skip
            },
        )
