"""Train the BNNs, measure the angles and the dot products, seed by seed."""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple, cast

import jax
import numpy as np

from hamgeo import data, nets
from hamgeo._checks import check_key
from hamgeo.binary_geometry import angle_theory, binarization_angles, dot_product_preservation
from hamgeo.experiments._common import progress
from hamgeo.experiments.bnn_geometry._config import DISTRIBUTIONS, Config
from hamgeo.experiments.bnn_geometry._result import FaninResult, ModelResult, Result, SeedResult
from hamgeo.experiments.bnn_geometry._verdicts import findings
from hamgeo.experiments.findings import array_checksum, dataset_info
from hamgeo.experiments.protocol import seed_keys

__all__ = [
    "Job",
    "fanin_jobs",
    "jobs",
    "load_dataset",
    "measure_angles",
    "run",
    "train_and_measure",
]


class Job(NamedTuple):
    """One BNN to train: its name, description, model, data set, training settings."""

    name: str
    description: str
    model: Any
    dataset: str
    images: bool
    epochs: int
    batch_size: int
    learning_rate: float


def load_dataset(name: str, config: Config, *, images: bool) -> data.Dataset:
    """The data set ``name`` with the config's limits.

    It is read by [`hamgeo.data.load`][hamgeo.data.load].

    ``"digits"`` and ``"mnist1d"`` are made offline and used whole; the downloadable sets
    are read from ``config.data_root`` (downloaded when ``config.download``), their
    training split cut to ``train_limit`` and test split to ``eval_limit`` examples.
    """
    if name == "digits":
        return data.digits(images=images)
    if name == "mnist1d":
        return data.mnist1d()
    ds = data.load(
        cast(data.DatasetName, name), root=config.data_root, download=config.download, images=images
    )
    n_train, n_test = config.train_limit, config.eval_limit
    return dataclasses.replace(
        ds,
        x_train=ds.x_train[:n_train],
        y_train=ds.y_train[:n_train],
        x_test=ds.x_test[:n_test],
        y_test=ds.y_test[:n_test],
    )


def _cifar_job(config: Config) -> Job:
    c = config.cifar_channels
    convs = "-".join(f"{ch}C3" + ("-MP" if i % 2 else "") for i, ch in enumerate(c))
    dense = "-".join(f"{w}FC" for w in config.cifar_dense)
    return Job(
        "cnn_cifar10",
        f"BinaryCNN {convs}-{dense}-10 with batch norm ({config.norm}) on CIFAR-10",
        nets.BinaryCNN(c, config.cifar_dense, 10, pool_every=2, norm=config.norm),
        "cifar10",
        True,
        config.cifar_epochs,
        config.cifar_batch_size,
        config.cifar_learning_rate,
    )


def _mlp_job(config: Config, dataset: str) -> Job:
    widths = "-".join(map(str, config.mlp_widths))
    inputs = {"digits": "64-d", "mnist1d": "40-d", "mnist": "784-d", "fashion-mnist": "784-d"}
    return Job(
        f"mlp_{dataset.replace('-', '_')}",
        f"BinaryMLP {widths}-10 ({config.norm} batch norm) on {dataset} ({inputs[dataset]} input)",
        nets.BinaryMLP(config.mlp_widths, 10, norm=config.norm),
        dataset,
        False,
        config.mlp_epochs,
        config.batch_size,
        config.learning_rate,
    )


def jobs(config: Config) -> list[Job]:
    """The BNNs to train, the main model (on ``config.data``) first, then the side models."""
    main = _cifar_job(config) if config.data == "cifar10" else _mlp_job(config, config.data)
    out = [main]
    if config.mnist1d and config.data != "mnist1d":
        out.append(_mlp_job(config, "mnist1d"))
    if config.cnn:
        convs = "-".join(f"{c}C3" for c in config.cnn_channels)
        dense = "-".join(f"{w}FC" for w in config.cnn_dense)
        out.append(
            Job(
                "cnn_digits",
                f"BinaryCNN {convs}(MP after each)-{dense}-10 ({config.norm} batch norm) "
                "on 8x8 digits",
                nets.BinaryCNN(config.cnn_channels, config.cnn_dense, 10, norm=config.norm),
                "digits",
                True,
                config.cnn_epochs,
                config.batch_size,
                config.learning_rate,
            )
        )
    return out


def fanin_jobs(config: Config) -> list[Job]:
    """The fan-in sweep: BinaryMLPs ``(w, fanin_next)`` on ``config.data`` (MLP data only)."""
    if config.data == "cifar10":
        return []
    return [
        Job(
            f"fanin_{w}",
            f"BinaryMLP {w}-{config.fanin_next}-10 on {config.data} (layer 2: fan-in {w})",
            nets.BinaryMLP((w, config.fanin_next), 10, norm=config.norm),
            config.data,
            False,
            config.mlp_epochs,
            config.batch_size,
            config.learning_rate,
        )
        for w in config.fanin_widths
    ]


def train_and_measure(job: Job, ds: data.Dataset, *, key: jax.Array, config: Config) -> ModelResult:
    """Train ``job.model`` on ``ds``; measure its dot-product preservation on the test split,
    trained and at initialization (the same net, the same pairs).
    """  # noqa: D205
    k_train, k_dpp = jax.random.split(key)
    init = jax.tree.map(
        lambda a: a[0], nets.init_many(job.model, ds.x_train[:1], keys=k_train[None])
    )
    init_acc = float(nets.accuracy(job.model, init, ds.x_test, ds.y_test))
    init_layers = dot_product_preservation(
        job.model, init, ds.x_test, key=k_dpp, positions_per_example=config.positions_per_example
    )
    trained = nets.train(
        job.model,
        ds,
        epochs=job.epochs,
        batch_size=job.batch_size,
        learning_rate=job.learning_rate,
        key=k_train,
        evaluate=False,  # only the variables are used: no per-epoch accuracy passes
    )
    acc = float(nets.accuracy(job.model, trained.variables, ds.x_test, ds.y_test))
    layers = dot_product_preservation(
        job.model,
        trained.variables,
        ds.x_test,
        key=k_dpp,
        positions_per_example=config.positions_per_example,
    )
    return ModelResult(job.name, job.description, acc, layers, init_layers, init_acc)


def measure_angles(config: Config, key: jax.Array) -> dict[str, dict[int, tuple]]:
    """Fig. 2's two angle samples per distribution and dimension."""
    angles: dict[str, dict[int, tuple]] = {d: {} for d in DISTRIBUTIONS}
    for i, dist in enumerate(DISTRIBUTIONS):
        for dim in progress(config.dims, desc=f"angles ({dist})"):
            k = jax.random.fold_in(jax.random.fold_in(key, i), dim)
            s, p = binarization_angles(key=k, dim=dim, n=config.n_angles, distribution=dist)
            angles[dist][dim] = (np.asarray(s), np.asarray(p))
    return angles


def run(config: Config, key: jax.Array) -> Result:
    """Run the experiment: Fig. 2 angle distributions, then Fig. 3 on trained BNNs, per seed.

    Seed ``i`` uses [`seed_keys`][hamgeo.experiments.protocol.seed_keys] ``(key, n_seeds)[i]``:
    it redraws the angles and retrains every network; data sets are loaded once.

    Args:
        config: sizes ([`Config`][hamgeo.experiments.bnn_geometry.Config]; ``Config.quick()`` for a
            fast run).
        key: a JAX PRNG key; the same key gives the same result.

    Returns:
        A [`Result`][hamgeo.experiments.bnn_geometry.Result].
    """
    if not isinstance(config, Config):
        raise TypeError(f"`config` must be a bnn_geometry.Config, got {type(config).__name__}")
    key = check_key(key)
    todo = jobs(config)
    sweep = fanin_jobs(config)
    loaded: dict[tuple[str, bool], data.Dataset] = {}
    for job in todo:  # load (and download) everything before any training
        if (job.dataset, job.images) not in loaded:
            loaded[job.dataset, job.images] = load_dataset(job.dataset, config, images=job.images)
    theory = {d: {dim: angle_theory(dim, d) for dim in config.dims} for d in DISTRIBUTIONS}
    seeds = []
    for seed_key in seed_keys(key, config.n_seeds):
        k_angles, k_models = jax.random.split(seed_key)
        angles = measure_angles(config, k_angles)
        models = [
            train_and_measure(
                job,
                loaded[job.dataset, job.images],
                key=jax.random.fold_in(k_models, i),
                config=config,
            )
            for i, job in enumerate(progress(todo, desc="BNNs"))
        ]
        fanin = []
        for i, job in enumerate(progress(sweep, desc="fan-in sweep")):
            m = train_and_measure(
                job,
                loaded[job.dataset, job.images],
                key=jax.random.fold_in(jax.random.fold_in(k_models, 1000), i),
                config=config,
            )
            fanin.append(FaninResult(m.layers[1].input_dim, m.layers[1], m.init_layers[1],
                                     m.test_accuracy))  # fmt: skip
        seeds.append(SeedResult(angles, models, fanin))
    infos = {name: dict(ds.info) for (name, _), ds in loaded.items()}
    main = loaded[todo[0].dataset, todo[0].images]
    dataset = dataset_info(
        main.name,
        source=str(main.info.get("source", main.name)),
        checksum=array_checksum(main.x_train, main.y_train, main.x_test, main.y_test),
        n_train=int(main.x_train.shape[0]),
        n_test=int(main.x_test.shape[0]),
    )
    result = Result(config, theory, seeds, infos, dataset)
    result.findings = findings(result)
    return result
