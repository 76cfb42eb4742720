"""What a hash-encoder run returns: the tables, the findings and the tidy summary."""

from __future__ import annotations

import dataclasses
from typing import Any

from hamgeo.experiments.findings import Finding, Record, results_document
from hamgeo.experiments.hash_encoder._config import NAME, Config

__all__ = ["Result"]


@dataclasses.dataclass
class Result:
    """Everything [`run`][hamgeo.experiments.hash_encoder.run] measured.

    Attributes:
        config: the configuration run.
        tables: ``{factor: rows}`` for the factors of
            `FACTORS`. Every row names its
            seed, its ``state`` (``"init"``: the network at initialization,
            ``"trained"``: the same network after training), the factor values, and the
            columns of [`CodeMetrics`][hamgeo.experiments.hash_encoder.CodeMetrics].
        controls: rows of the controls that need no network: ``"random_hyperplanes"``
            (per seed and width, the same number of bits as the width's net; also per
            width and training-set size) and ``"raw_inputs"`` (the inputs themselves).
        correlations: Spearman correlations of each measured column with each factor
            across its whole sweep (all seeds pooled), a description beside the findings.
        regimes: the paper's regimes per sweep point (``"width"``, ``"depth"``) and per
            cell of the phase charts, labelled by effect size (see ``_regimes``).
        findings: the paper's claims judged against their controls.
        records: the tidy summary (one
            [`Record`][hamgeo.experiments.findings.Record] per statistic and factor
            level, with its interval across seeds).
        dataset: the data set's record (name, source, checksum, sizes).
        seeds: the seed numbers run.
    """

    config: Config
    tables: dict[str, list[dict[str, Any]]]
    controls: dict[str, list[dict[str, Any]]]
    correlations: list[dict[str, Any]]
    regimes: dict[str, list[dict[str, Any]]]
    findings: list[Finding]
    records: list[Record]
    dataset: dict[str, Any]
    seeds: tuple[int, ...]

    @property
    def summary(self) -> list[Record]:
        """The tidy summary records (``pandas.DataFrame([r.to_dict() for r in ...])``)."""
        return self.records

    @property
    def converged(self) -> bool:
        """Whether every trained network's loss and parameters stayed finite."""
        return all(r.get("finite", True) for rows in self.tables.values() for r in rows)

    def to_dict(self) -> dict[str, Any]:
        """The content of ``results.json`` (the shipped schema; ``extra``: every table)."""
        return results_document(
            experiment=NAME,
            config=dataclasses.asdict(self.config),
            dataset=self.dataset,
            seeds=self.seeds,
            findings=self.findings,
            summary=self.records,
            converged=self.converged,
            extra={
                "controls": self.controls,
                "correlations": self.correlations,
                "regimes": self.regimes,
                "tables": self.tables,
            },
        )
