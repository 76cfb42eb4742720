"""Running the study: load the data, train and measure every network of every seed.

Each seed (:func:`~hamgeo.experiments._protocol.seed_keys`) retrains every network;
:func:`run_seed` returns that seed's rows of every factor table, and :func:`run`
stacks the seeds, then summarizes them (:mod:`._summary`).
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from hamgeo._checks import check_key
from hamgeo.data import Dataset, load
from hamgeo.experiments._common import progress
from hamgeo.experiments._protocol import seed_keys
from hamgeo.experiments.hash_encoder._analysis import code_metrics
from hamgeo.experiments.hash_encoder._config import FACTORS, CodeMetrics, Config, Result
from hamgeo.experiments.hash_encoder._summary import summarize
from hamgeo.experiments.hash_encoder._sweeps import ModelSpec, sweep_members, table_rows
from hamgeo.experiments.hash_encoder._train import NetState, TrainedNet, stable_id, train_specs

__all__ = ["load_data", "run", "run_seed"]


def _capped(data: Dataset, cap: int | None) -> Dataset:
    if cap is None or data.x_train.shape[0] <= cap:
        return data
    info = {**data.info, "n_train_used": cap}
    return Dataset(
        data.x_train[:cap], data.y_train[:cap], data.x_test, data.y_test, data.name, info
    )


def load_data(config: Config) -> tuple[Dataset, Dataset | None]:
    """The data set with flat inputs (MLPs), and as images (CNNs) when families run.

    Downloaded data sets are read through :func:`hamgeo.data.load` with
    ``config.data_root`` and ``config.download``; the training set is capped at
    ``config.max_train`` examples (the first ones).
    """
    kwargs: dict[str, Any] = {}
    if config.data not in ("digits", "mnist1d"):
        kwargs = {"root": config.data_root, "download": config.download}
    flat = _capped(load(config.data, **kwargs), config.max_train)
    images = None
    if config.families and config.cnn_channels:
        # MNIST-1D signals [n, 40] are what the CNNs convolve; the others become images.
        extra = {} if config.data == "mnist1d" else {"images": True}
        images = _capped(load(config.data, **kwargs, **extra), config.max_train)
    return flat, images


def _measure(
    net: TrainedNet, state: NetState, config: Config, key: jax.Array, y_test: np.ndarray, c: int
) -> CodeMetrics:
    return code_metrics(
        state.codes_train,
        state.codes_test,
        net.labels,
        y_test,
        state.network_accuracy,
        config,
        key,
        n_bits=state.n_bits,
        n_classes=c,
        full=True,
    )


def run_seed(
    config: Config, flat: Dataset, images: Dataset | None, seed_key: jax.Array, seed: int
) -> dict[str, list[dict[str, Any]]]:
    """Every factor table's rows for one seed (each network at init and trained)."""
    n = int(flat.x_train.shape[0])
    n_classes = int(max(flat.y_train.max(), flat.y_test.max())) + 1
    y_test = np.asarray(flat.y_test)
    members = sweep_members(config, n)
    if images is None:
        members["family"] = []
    specs: list[ModelSpec] = []
    for factor in FACTORS:
        specs.extend(m.spec for m in members[factor] if m.spec not in specs)
    tracked = frozenset(m.spec for m in members["training_time"])
    analysis_key = jax.random.fold_in(seed_key, stable_id("analysis"))
    time_rows: list[dict[str, Any]] = []

    def on_epoch(epoch: int, spec: ModelSpec, state: NetState, labels: np.ndarray) -> None:
        metrics = code_metrics(
            state.codes_train,
            state.codes_test,
            labels,
            y_test,
            state.network_accuracy,
            config,
            analysis_key,
            n_bits=state.n_bits,
            n_classes=n_classes,
            full=False,
        )
        row = {"seed": seed, "state": "trained", "width": spec.hidden[0], "epoch": epoch}
        time_rows.append({**row, **metrics._asdict(), "finite": None})

    nets = train_specs(specs, flat, images, config, seed_key, tracked=tracked, on_epoch=on_epoch)
    for row in time_rows:
        row["finite"] = nets[ModelSpec("mlp", (row["width"],), n)].finite
    measured: dict[tuple[ModelSpec, str], CodeMetrics] = {}
    for spec in progress(specs, desc=f"seed {seed}: codes"):
        net = nets[spec]
        key = jax.random.fold_in(analysis_key, stable_id(*spec))
        measured[(spec, "init")] = _measure(net, net.init, config, key, y_test, n_classes)
        measured[(spec, "trained")] = _measure(net, net.trained, config, key, y_test, n_classes)
    finite = {spec: net.finite for spec, net in nets.items()}
    tables = {
        f: table_rows(members[f], measured, seed, finite) for f in FACTORS if f != "training_time"
    }
    for m in members["training_time"]:  # epoch 0: the network at initialization
        row = {"seed": seed, "state": "init", "width": m.fields["width"], "epoch": 0}
        time_rows.append({**row, **measured[(m.spec, "init")]._asdict(), "finite": True})
    time_rows.sort(key=lambda r: (r["width"], r["epoch"]))
    tables["training_time"] = time_rows
    return tables


def run(config: Config, key: jax.Array) -> Result:
    """Run every factor sweep of the hash-encoder study, ``config.n_seeds`` times.

    Args:
        config: sizes (:class:`Config`; ``Config.quick()`` for a fast run).
        key: ``jax.random`` key; the same key gives the same :class:`Result`.

    Returns:
        :class:`Result`.

    Examples:
        >>> import jax
        >>> cfg = Config(n_seeds=1, epochs=1, widths=(2,), main_width=2, time_widths=(2,),
        ...              sample_fractions=(1.0,), sample_widths=(2,), depths=(1,),
        ...              depth_units=2, factor_width=2, weight_decays=(0.0,),
        ...              label_noises=(0.0,), families=(), logreg_steps=5)
        >>> res = run(cfg, jax.random.key(0))
        >>> res.summary["redundancy_train"].mean > 0.99  # 2 units: at most 4 codes
        True
    """
    if not isinstance(config, Config):
        raise TypeError(f"`config` must be a hash_encoder.Config, got {type(config).__name__}")
    key = check_key(key)
    flat, images = load_data(config)
    tables: dict[str, list[dict[str, Any]]] = {f: [] for f in FACTORS}
    for seed, seed_key in enumerate(seed_keys(key, config.n_seeds)):
        for factor, rows in run_seed(config, flat, images, seed_key, seed).items():
            tables[factor].extend(rows)
    per_seed, summary, correlations, regimes, baselines = summarize(tables, config)
    dataset = {**flat.info, "name": flat.name}
    dataset.update(n_train=int(flat.x_train.shape[0]), n_test=int(flat.x_test.shape[0]))
    return Result(config, tables, correlations, regimes, baselines, per_seed, summary, dataset)
