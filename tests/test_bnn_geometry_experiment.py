import dataclasses
import json

import jax
import numpy as np
import pytest

from hamgeo import nets
from hamgeo.experiments import bnn_geometry as exp
from hamgeo.experiments._common import to_jsonable

TINY = dataclasses.replace(
    exp.Config.quick(),
    dims=(64,),
    n_angles=300,
    mlp_widths=(32, 32),
    mlp_epochs=2,
    mnist1d=False,
    cnn=False,  # the CNN path runs in the CIFAR test
)


def _json(result):
    return json.dumps(to_jsonable(result.to_dict()), sort_keys=True)


@pytest.mark.slow
def test_tiny_end_to_end_schema_determinism_and_figures(tmp_path):
    result = exp.run(TINY, jax.random.key(0))
    payload = json.loads(_json(result))
    assert set(payload) >= {"config", "summary", "angles", "models"}
    summary = payload["summary"]
    n_layers = len(TINY.mlp_widths) + 1
    expected = {"test_accuracy"}
    for d in TINY.dims:
        expected |= {
            f"angle_sign_uniform_deg_d{d}",
            f"angle_sign_gaussian_deg_d{d}",
            f"angle_random_pairs_deg_d{d}",
        }
    for k in range(1, n_layers + 1):
        expected |= {f"dot_corr_layer{k}", f"act_corr_layer{k}", f"control_corr_layer{k}"}
    assert set(summary) == expected
    assert summary["act_corr_layer1"] is None  # layer 1 reads the real data
    for key, value in summary.items():
        if key != "act_corr_layer1":
            assert isinstance(value, float), key
    assert 0.0 <= summary["test_accuracy"] <= 1.0
    # angle means: 300 samples at dim 64, 5 standard errors (std 2.3 and 7.2 degrees)
    assert abs(summary["angle_sign_uniform_deg_d64"] - 29.85) < 5 * 2.3 / 300**0.5
    assert abs(summary["angle_random_pairs_deg_d64"] - 90.0) < 5 * 7.2 / 300**0.5
    assert [m["name"] for m in payload["models"]] == ["mlp_digits"]
    assert [r["input_dim"] for r in payload["models"][0]["layers"]] == [64, 32, 32]
    # same key, same results.json
    assert _json(exp.run(TINY, jax.random.key(0))) == _json(result)
    paths = exp.plot(result, tmp_path)
    assert len(paths) == 5
    for p in paths:
        with open(p, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_config_defaults_follow_the_paper():
    cfg = exp.Config()
    assert cfg.cifar_channels == (128, 128, 256, 256, 512, 512)
    assert cfg.cifar_dense == (1024, 1024)
    assert 1000 in cfg.dims and 1000 in exp.Config.quick().dims
    assert cfg.cifar10_path is None
    # the paper's CIFAR-10 network, built as run() builds it, checked by shape only
    model = nets.BinaryCNN(cfg.cifar_channels, cfg.cifar_dense, 10, pool_every=2)
    shapes = jax.eval_shape(
        lambda: model.init(jax.random.key(0), np.zeros((1, 32, 32, 3), np.float32))
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
    assert "bn_conv_0" in shapes["batch_stats"] and "bn_head" in shapes["batch_stats"]


def _fake_cifar(directory, n=12, seed=0):
    rng = np.random.default_rng(seed)
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        records = np.empty((n, 3073), np.uint8)
        records[:, 0] = rng.integers(0, 10, n)
        records[:, 1:] = rng.integers(0, 256, (n, 3072))
        (directory / name).write_bytes(records.tobytes())


def test_cifar_job_is_the_papers_network(tmp_path):
    jobs = exp._jobs(dataclasses.replace(exp.Config(), cifar10_path=str(tmp_path)))
    assert [j[0] for j in jobs] == ["mlp_digits", "mlp_mnist1d", "cnn_digits", "cnn_cifar10"]
    assert "128C3-128C3-MP-256C3-256C3-MP-512C3-512C3-MP-1024FC-1024FC-10" in jobs[-1][1]
    assert [j[0] for j in exp._jobs(exp.Config())] == ["mlp_digits", "mlp_mnist1d", "cnn_digits"]


@pytest.mark.slow
def test_cifar_path_trains_and_measures_on_a_fake_cifar_file(tmp_path):
    # the CIFAR-10 job of run(), at a tiny width, on fake files in the binary format
    _fake_cifar(tmp_path)
    cfg = dataclasses.replace(
        TINY,
        cifar10_path=str(tmp_path),
        cifar_channels=(2, 2),
        cifar_dense=(4,),
        cifar_epochs=1,
        cifar_batch_size=20,
        cifar_eval=5,
        positions_per_example=4,
    )
    name, desc, model, load, epochs, bs, lr = exp._jobs(cfg)[-1]
    ds = load()
    assert ds.x_train.shape == (60, 32, 32, 3) and ds.x_test.shape == (5, 32, 32, 3)
    cifar = exp._train_and_measure(
        name,
        desc,
        model,
        ds,
        epochs=epochs,
        batch_size=bs,
        lr=lr,
        key=jax.random.key(1),
        config=cfg,
    )
    assert cifar.name == "cnn_cifar10" and "2C3-2C3-MP-4FC-10" in cifar.description
    assert [r.input_dim for r in cifar.layers] == [27, 18, 16 * 16 * 2, 4]
    # conv layers: 4 sampled positions per example, not all 1024
    assert [r.n_pairs for r in cifar.layers] == [5 * 4 * 2, 5 * 4 * 2, 5 * 4, 5 * 10]
