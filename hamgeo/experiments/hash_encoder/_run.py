"""Running the study: load the data, train and measure every network of every seed.

Each seed ([`seed_keys`][hamgeo.experiments.protocol.seed_keys]) retrains every network;
``run_seed`` returns that seed's rows of every factor table, and
[`run`][hamgeo.experiments.hash_encoder.run]
stacks the seeds, then summarizes them (``_summary``).
"""

from __future__ import annotations

from typing import Any, cast

import jax
import numpy as np

from hamgeo._checks import check_key
from hamgeo.data import Dataset, DatasetName, load
from hamgeo.experiments._common import progress
from hamgeo.experiments.findings import array_checksum, dataset_info
from hamgeo.experiments.hash_encoder._analysis import code_metrics
from hamgeo.experiments.hash_encoder._config import FACTORS, CodeMetrics, Config
from hamgeo.experiments.hash_encoder._controls import hyperplane_codes, padded, raw_metrics
from hamgeo.experiments.hash_encoder._result import Result
from hamgeo.experiments.hash_encoder._summary import correlations, records, regimes
from hamgeo.experiments.hash_encoder._sweeps import (
    ModelSpec,
    sample_sizes,
    sweep_members,
    table_rows,
)
from hamgeo.experiments.hash_encoder._train import NetState, TrainedNet, stable_id, train_specs
from hamgeo.experiments.hash_encoder._verdicts import findings
from hamgeo.experiments.protocol import seed_keys

__all__ = ["load_data", "run", "run_controls", "run_seed"]


def _capped(data: Dataset, cap: int | None) -> Dataset:
    if cap is None or data.x_train.shape[0] <= cap:
        return data
    info = {**data.info, "n_train_used": cap}
    return Dataset(
        data.x_train[:cap], data.y_train[:cap], data.x_test, data.y_test, data.name, info
    )


def load_data(config: Config) -> tuple[Dataset, Dataset | None]:
    """The data set with flat inputs (MLPs), and as images (CNNs) when families run.

    Downloaded data sets are read through [`hamgeo.data.load`][hamgeo.data.load] with
    ``config.data_root`` and ``config.download``; the training set is capped at
    ``config.max_train`` examples (the first ones).
    """
    kwargs: dict[str, Any] = {}
    if config.data not in ("digits", "mnist1d"):
        kwargs = {"root": config.data_root, "download": config.download}
    name = cast(DatasetName, config.data)  # Config checked it against DATASETS
    flat = _capped(load(name, **kwargs), config.max_train)
    images = None
    if config.families and config.cnn_channels:
        # MNIST-1D signals [n, 40] are what the CNNs convolve; the others become images.
        extra = {} if config.data == "mnist1d" else {"images": True}
        images = _capped(load(name, **kwargs, **extra), config.max_train)
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


def run_controls(
    config: Config, flat: Dataset, seed_key: jax.Array, seed: int
) -> list[dict[str, Any]]:
    """One seed's random-hyperplane rows: each width of the width sweep (all training
    examples) and each width x training-set size of the sample-size sweep (the subsets
    the networks train on), with as many bits as the width's network.
    """  # noqa: D205
    n = int(flat.x_train.shape[0])
    n_classes = int(max(flat.y_train.max(), flat.y_test.max())) + 1
    y_train, y_test = np.asarray(flat.y_train), np.asarray(flat.y_test)
    perm = np.asarray(jax.random.permutation(jax.random.fold_in(seed_key, stable_id("subset")), n))
    wanted = {(w, n) for w in config.all_widths}
    wanted |= {(w, m) for w in config.sample_widths for m in sample_sizes(config, n)}
    rows = []
    nan = (float("nan"), float("nan"))
    analysis_key = jax.random.fold_in(seed_key, stable_id("analysis"))
    for w in progress(sorted({w for w, _ in wanted}), desc=f"seed {seed}: hyperplanes"):
        k = jax.random.fold_in(seed_key, stable_id("hyperplanes", w))
        train, test = hyperplane_codes(flat.x_train, flat.x_test, w, key=k)
        train_words, test_codes = np.asarray(padded(train).words), padded(test)
        for m in sorted(m for v, m in wanted if v == w):
            subset = np.sort(perm[:m])
            codes = type(test_codes)(train_words[subset], test_codes.n_bits)
            metrics = code_metrics(
                codes,
                test_codes,
                y_train[subset],
                y_test,
                nan,
                config,
                jax.random.fold_in(analysis_key, stable_id("hyperplanes", w, m)),
                n_bits=w,
                n_classes=n_classes,
                full=w == config.main_width and m == n,
            )
            rows.append({"seed": seed, "width": w, "n_train": m, **metrics._asdict()})
    return rows


def run(config: Config, key: jax.Array) -> Result:
    """Run every factor sweep of the hash-encoder study, ``config.n_seeds`` times.

    Args:
        config: sizes ([`Config`][hamgeo.experiments.hash_encoder.Config]; ``Config.quick()`` for a
            fast run).
        key: ``jax.random`` key; the same key gives the same
            [`Result`][hamgeo.experiments.hash_encoder.Result].

    Returns:
        [`Result`][hamgeo.experiments.hash_encoder.Result].

    Examples:
        >>> import jax
        >>> cfg = Config(n_seeds=1, epochs=1, widths=(2,), main_width=2, time_widths=(2,),
        ...              sample_fractions=(1.0,), sample_widths=(2,), depths=(1,),
        ...              depth_units=2, factor_width=2, weight_decays=(0.0,),
        ...              label_noises=(0.0,), families=(), logreg_steps=5)
        >>> res = run(cfg, jax.random.key(0))
        >>> [f.key for f in res.findings][:2]
        ['determinism', 'categorization_knn']
    """
    if not isinstance(config, Config):
        raise TypeError(f"`config` must be a hash_encoder.Config, got {type(config).__name__}")
    key = check_key(key)
    flat, images = load_data(config)
    tables: dict[str, list[dict[str, Any]]] = {f: [] for f in FACTORS}
    n = int(flat.x_train.shape[0])
    n_classes = int(max(flat.y_train.max(), flat.y_test.max())) + 1
    # the raw inputs need no seed (k-means gets seed 0's start): one row, every seed
    raw = raw_metrics(
        flat.x_train, flat.y_train, flat.x_test, flat.y_test,
        n_classes=n_classes, k=config.knn_k, seed=0,
    )  # fmt: skip
    controls: dict[str, list[dict[str, Any]]] = {"random_hyperplanes": [], "raw_inputs": []}
    seeds = tuple(range(config.n_seeds))
    for seed, seed_key in zip(seeds, seed_keys(key, config.n_seeds), strict=True):
        for factor, rows in run_seed(config, flat, images, seed_key, seed).items():
            tables[factor].extend(rows)
        controls["random_hyperplanes"].extend(run_controls(config, flat, seed_key, seed))
        controls["raw_inputs"].append({"seed": seed, "width": 0, "n_train": n, **raw._asdict()})
    info = dict(flat.info)
    dataset = dataset_info(
        flat.name,
        source=str(info.get("source", flat.name)),
        checksum=array_checksum(flat.x_train, flat.y_train, flat.x_test, flat.y_test),
        n_train=n,
        n_test=int(flat.x_test.shape[0]),
    ) | {"info": info}
    return Result(
        config=config,
        tables=tables,
        controls=controls,
        correlations=correlations(tables),
        regimes=regimes(tables),
        findings=findings(tables, controls, config, seeds),
        records=records(tables, controls, seeds),
        dataset=dataset,
        seeds=seeds,
    )
