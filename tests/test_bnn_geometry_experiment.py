import dataclasses
import json

import jax
import numpy as np
import pytest

from hamgeo import data, nets
from hamgeo.experiments import bnn_geometry as exp
from hamgeo.experiments._common import to_jsonable
from hamgeo.experiments.findings import validate_results
from hamgeo.experiments.protocol import check_experiment

TINY = dataclasses.replace(
    exp.Config.quick(),
    dims=(64,),
    n_angles=300,
    mlp_widths=(32, 32),
    mlp_epochs=2,
    mnist1d=False,
    cnn=False,  # the CNN path runs in the CIFAR test
    fanin_widths=(8, 16, 32),
    fanin_next=16,
)


def _json(obj):
    return json.dumps(to_jsonable(obj), sort_keys=True)


def test_package_meets_the_experiment_contract():
    check_experiment(exp)
    assert exp.NAME == "bnn-geometry"
    assert exp.Config().n_seeds >= 3 and 2 <= exp.Config.quick().n_seeds <= 3


@pytest.mark.slow
def test_tiny_end_to_end_schema_seeds_determinism_and_figures(tmp_path):
    result = exp.run(dataclasses.replace(TINY, n_seeds=2), jax.random.key(0))
    payload = json.loads(_json(result.to_dict()))
    validate_results(payload)
    assert payload["experiment"] == "bnn-geometry" and payload["dataset"]["name"] == "digits"
    assert payload["config"]["norm"] == "no-mean" and payload["config"]["data"] == "digits"
    records = payload["summary"]
    for r in records:  # intervals stay in range: correlations in [-1, 1], angles in [0, 180]
        if "corr" in r["statistic"] and r["low"] is not None:
            assert -1.0 <= r["low"] <= r["mean"] <= r["high"] <= 1.0, r
        if r["statistic"].startswith("angle_") and "deg" not in r["statistic"]:
            assert r["low"] >= 0.0, r
    states = {r["factors"].get("state") for r in records if r["statistic"] == "dot_corr"}
    assert states == {"trained", "init"}  # the untrained control per layer
    keys = {f["key"] for f in payload["findings"]}
    assert {"dot_products_layer1", "layer1_weaker", "layer1_explained_by_dimension"} <= keys
    for f in payload["findings"]:
        assert any(e["is_control"] for e in f["estimates"]), f["key"]
    # angle means: 300 samples at dim 64, 5 standard errors (std 2.3 and 7.2 degrees)
    for t in (result.angle_stats(s) for s in result.seeds):
        assert abs(t["uniform"]["64"]["sign_mean"] - 29.85) < 5 * 2.3 / 300**0.5
        assert abs(t["uniform"]["64"]["pair_mean"] - 90.0) < 5 * 7.2 / 300**0.5
    assert [m["name"] for m in payload["extra"]["models"]] == ["mlp_digits"]
    layers = payload["extra"]["models"][0]["seeds"][0]["layers"]
    assert [r["input_dim"] for r in layers] == [64, 32, 32]
    # seed 0 of a 2-seed run is the 1-seed run with the same key, to the bit
    one = exp.run(dataclasses.replace(TINY, n_seeds=1), jax.random.key(0))
    assert _json(one.seeds[0].models[0].to_dict()) == _json(result.seeds[0].models[0].to_dict())
    paths = exp.plot(result, tmp_path)
    assert len(paths) == 6  # angles, theory, dots, activations, corr vs dim, fan-in
    for p in paths:
        with open(p, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_config_defaults_follow_the_paper():
    cfg = exp.Config()
    assert cfg.cifar_channels == (128, 128, 256, 256, 512, 512)
    assert cfg.cifar_dense == (1024, 1024)
    assert cfg.norm == "no-mean" and cfg.data == "digits"
    assert 1000 in cfg.dims and 1000 in exp.Config.quick().dims
    # the paper's CIFAR-10 network, built as run() builds it, checked by shape only
    job = exp.jobs(dataclasses.replace(cfg, data="cifar10"))[0]
    assert job.name == "cnn_cifar10" and job.model.norm == "no-mean"
    shapes = jax.eval_shape(
        lambda: job.model.init(jax.random.key(0), np.zeros((1, 32, 32, 3), np.float32))
    )
    params = shapes["params"]
    kernels = [params[f"conv_{i}"]["latent_kernel"].shape for i in range(6)]
    assert kernels == [
        (3, 3, 3, 128),
        (3, 3, 128, 128),
        (3, 3, 128, 256),
        (3, 3, 256, 256),
        (3, 3, 256, 512),
        (3, 3, 512, 512),
    ]
    # three 2x2 max-pools: 32 -> 4, so the first dense layer reads 4 * 4 * 512 inputs
    assert params["hidden_0"]["latent_kernel"].shape == (8192, 1024)
    assert params["hidden_1"]["latent_kernel"].shape == (1024, 1024)
    assert params["head"]["latent_kernel"].shape == (1024, 10)
    assert "mean_square" in shapes["batch_stats"]["bn_conv_0"]


def test_jobs_follow_config_data_and_norm():
    names = lambda cfg: [j.name for j in exp.jobs(cfg)]  # noqa: E731
    assert names(exp.Config()) == ["mlp_digits", "mlp_mnist1d", "cnn_digits"]
    assert names(exp.Config(data="mnist")) == ["mlp_mnist", "mlp_mnist1d", "cnn_digits"]
    assert names(exp.Config(data="mnist1d", cnn=False)) == ["mlp_mnist1d"]
    assert names(exp.Config(data="fashion_mnist", mnist1d=False, cnn=False)) == [
        "mlp_fashion_mnist"
    ]
    cifar = exp.jobs(exp.Config(data="cifar10"))
    assert [j.name for j in cifar] == ["cnn_cifar10", "mlp_mnist1d", "cnn_digits"]
    assert "128C3-128C3-MP-256C3-256C3-MP-512C3-512C3-MP-1024FC-1024FC-10" in cifar[0].description
    assert all(j.model.norm == "standard" for j in exp.jobs(exp.Config(norm="standard")))


@pytest.mark.parametrize(
    ("field", "value", "error", "match"),
    [
        ("data", "imagenet", ValueError, "`data` must be one of"),
        ("data", 3, TypeError, "`data` must be a string"),
        ("norm", "centred", ValueError, "`norm` must be one of 'no-mean', 'standard'"),
        ("n_seeds", 0, ValueError, "`n_seeds`"),
        ("n_seeds", 2.0, TypeError, "`n_seeds`"),
        ("dims", (2, 0), ValueError, r"`dims\[1\]`"),
        ("dims", 5, TypeError, "`dims` must be a tuple"),
        ("mlp_widths", (), ValueError, "`mlp_widths` must not be empty"),
        ("learning_rate", -1.0, ValueError, "`learning_rate`"),
        ("download", "yes", TypeError, "`download` must be a bool"),
        ("data_root", 3, TypeError, "`data_root` must be a str or None"),
        ("train_limit", 0, ValueError, "`train_limit`"),
        ("eval_limit", 1.5, TypeError, "`eval_limit`"),
    ],
)
def test_config_rejects_bad_fields_before_any_work(field, value, error, match):
    with pytest.raises(error, match=match):
        dataclasses.replace(exp.Config.quick(), **{field: value})


def _fake_loader(monkeypatch, root, name, **sizes):
    """Write B's format-exact stand-ins and make ``data.load`` read them verified."""
    sums = data.write_fake(name, root, **sizes)
    real = data.load
    monkeypatch.setattr(data, "load", lambda *a, **kw: real(*a, **kw, checksums=sums))
    return sums


def test_mnist_mlp_is_wired_to_hamgeo_data(tmp_path, monkeypatch):
    sums = _fake_loader(monkeypatch, tmp_path, "mnist", n_train=60, n_test=20)
    cfg = dataclasses.replace(
        TINY, data="mnist", data_root=str(tmp_path), download=False, train_limit=50, eval_limit=12
    )
    job = exp.jobs(cfg)[0]
    ds = exp.load_dataset(job.dataset, cfg, images=job.images)
    assert ds.x_train.shape == (50, 784) and ds.x_test.shape == (12, 784)
    assert set(ds.info["files"]) == set(sums)
    res = exp._run.train_and_measure(job, ds, key=jax.random.key(1), config=cfg)
    assert res.name == "mlp_mnist" and "784-d" in res.description
    assert [r.input_dim for r in res.layers] == [784, 32, 32]
    # without the files and without download: a clear error before any training
    cfg_missing = dataclasses.replace(cfg, data_root=str(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError):
        exp.run(cfg_missing, jax.random.key(0))


@pytest.mark.slow
def test_cifar_cnn_trains_and_measures_on_fake_cifar_files(tmp_path, monkeypatch):
    # the CIFAR-10 job of run(), at a tiny width, on format-exact stand-in files
    _fake_loader(monkeypatch, tmp_path, "cifar10", n_train=60, n_test=10)
    cfg = dataclasses.replace(
        TINY,
        data="cifar10",
        data_root=str(tmp_path),
        download=False,
        cifar_channels=(2, 2),
        cifar_dense=(4,),
        cifar_epochs=1,
        cifar_batch_size=20,
        eval_limit=5,
        positions_per_example=4,
    )
    job = exp.jobs(cfg)[0]
    ds = exp.load_dataset(job.dataset, cfg, images=job.images)
    assert ds.x_train.shape == (60, 32, 32, 3) and ds.x_test.shape == (5, 32, 32, 3)
    cifar = exp._run.train_and_measure(job, ds, key=jax.random.key(1), config=cfg)
    assert cifar.name == "cnn_cifar10" and "2C3-2C3-MP-4FC-10" in cifar.description
    assert [r.input_dim for r in cifar.layers] == [27, 18, 16 * 16 * 2, 4]
    # conv layers: 4 sampled positions per example, not all 1024
    assert [r.n_pairs for r in cifar.layers] == [5 * 4 * 2, 5 * 4 * 2, 5 * 4, 5 * 10]
    assert isinstance(job.model, nets.BinaryCNN) and job.model.pool_every == 2
