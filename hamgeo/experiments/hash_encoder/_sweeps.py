"""The factor sweeps: which networks each factor table needs, and its rows.

A network is named by its ``ModelSpec`` (architecture, hidden sizes, training-set
size, weight decay, label noise); a network that several tables need (the width-64 MLP
of the width sweep is also the weight-decay sweep's ``0`` and the label-noise sweep's
``0``) is trained once per seed and shared. Every table gets the network at
initialization beside the trained one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from hamgeo.experiments.hash_encoder._config import CodeMetrics, Config

__all__ = ["Member", "ModelSpec", "depth_widths", "sample_sizes", "sweep_members", "table_rows"]


class ModelSpec(NamedTuple):
    """One network of the study (one per seed is trained).

    Attributes:
        arch: ``"mlp"``, ``"vgg"`` ([`hamgeo.nets.CNN`][hamgeo.nets.CNN]) or ``"resnet"``
            ([`hamgeo.nets.ResidualCNN`][hamgeo.nets.ResidualCNN]).
        hidden: the MLP's hidden widths, or the CNN's convolution channels.
        n_train: training examples (the first ``n_train`` of a per-seed random order).
        weight_decay: decoupled weight decay.
        label_noise: fraction of training labels given a random other class.
    """

    arch: str
    hidden: tuple[int, ...]
    n_train: int
    weight_decay: float = 0.0
    label_noise: float = 0.0


class Member(NamedTuple):
    """A network's place in a factor table: the factor values its rows carry."""

    spec: ModelSpec
    fields: dict[str, Any]


def depth_widths(depth: int, units: int) -> tuple[int, ...]:
    """``units`` hidden units over ``depth`` layers, as evenly as possible (wider first).

    Examples:
        >>> depth_widths(3, 128)
        (43, 43, 42)
    """
    base, extra = divmod(units, depth)
    return tuple(base + (1 if i < extra else 0) for i in range(depth))


def sample_sizes(config: Config, n: int) -> tuple[int, ...]:
    """The distinct training-set sizes of the sample-size sweep, ascending."""
    return tuple(sorted({max(1, min(n, round(f * n))) for f in config.sample_fractions}))


def sweep_members(config: Config, n: int) -> dict[str, list[Member]]:
    """``{factor: members}`` for a training set of ``n`` examples.

    ``training_time`` lists the networks whose codes are analysed after every epoch.
    """
    mlp = "mlp"
    out: dict[str, list[Member]] = {
        "width": [Member(ModelSpec(mlp, (w,), n), {"width": w}) for w in config.all_widths],
        "depth": [
            Member(
                ModelSpec(mlp, depth_widths(d, config.depth_units), n),
                {"depth": d, "widths": list(depth_widths(d, config.depth_units))},
            )
            for d in sorted(set(config.depths))
        ],
        "family": [
            Member(
                ModelSpec(family, tuple(channels), n),
                {"family": family, "channels": list(channels), "size": i},
            )
            for family in config.families
            for i, channels in enumerate(config.cnn_channels)
        ],
        "training_time": [
            Member(ModelSpec(mlp, (w,), n), {"width": w}) for w in sorted(set(config.time_widths))
        ],
        "sample_size": [
            Member(ModelSpec(mlp, (w,), m), {"width": w, "n_train": m})
            for w in sorted(set(config.sample_widths))
            for m in sample_sizes(config, n)
        ],
        "weight_decay": [
            Member(
                ModelSpec(mlp, (config.factor_width,), n, weight_decay=float(wd)),
                {"width": config.factor_width, "weight_decay": float(wd)},
            )
            for wd in sorted(set(config.weight_decays))
        ],
        "label_noise": [
            Member(
                ModelSpec(mlp, (config.factor_width,), n, label_noise=float(p)),
                {"width": config.factor_width, "label_noise": float(p)},
            )
            for p in sorted(set(config.label_noises))
        ],
    }
    return out


def table_rows(
    members: list[Member],
    measured: Mapping[tuple[ModelSpec, str], CodeMetrics],
    seed: int,
    finite: Mapping[ModelSpec, bool],
) -> list[dict[str, Any]]:
    """Rows of one factor table for one seed: each member at ``init`` and ``trained``.

    ``finite`` says whether each network's training stayed finite (its trained row is
    flagged otherwise; the initialization is always finite).
    """
    rows = []
    for member in members:
        for state in ("init", "trained"):
            metrics = measured[(member.spec, state)]
            ok = True if state == "init" else finite[member.spec]
            rows.append(
                {"seed": seed, "state": state, **member.fields, **metrics._asdict(), "finite": ok}
            )
    return rows
