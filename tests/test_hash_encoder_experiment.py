"""End-to-end and unit tests of hamgeo.experiments.hash_encoder (tiny sizes)."""

import dataclasses
import json

import jax
import numpy as np
import pytest

from hamgeo.codes import unpack_bits
from hamgeo.data import digits
from hamgeo.experiments import hash_encoder as he
from hamgeo.experiments._common import to_jsonable
from hamgeo.nets import activation_codes


def _tiny() -> he.Config:
    return he.Config(
        datasets=("digits",),
        widths=(1, 8),
        main_width=8,
        seeds=1,
        epochs=2,
        time_widths=(8,),
        sample_sizes=(150,),
        sample_widths=(8,),
        factor_width=8,
        weight_decays=(0.0, 0.1),
        label_noises=(0.0, 0.5),
        cnn_channels=((2, 2),),
        cnn_dense=(4,),
        cnn_epochs=1,
        logreg_steps=10,
    )


@pytest.mark.slow
def test_tiny_run_schema_and_determinism(tmp_path):
    cfg = _tiny()
    result = he.run(cfg, jax.random.key(3))
    a = to_jsonable(result.to_dict())
    b = to_jsonable(he.run(cfg, jax.random.key(3)).to_dict())
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)  # exact
    s = a["summary"]
    for name in (
        "redundancy_ratio_train",
        "redundancy_ratio_test",
        "knn_accuracy",
        "kmeans_accuracy",
        "logreg_accuracy",
        "network_accuracy",
    ):
        assert 0.0 <= s[name] <= 1.0, name
    assert sorted(s["redundancy_by_width"]) == ["1", "8"]
    # Width 1 has two possible codes: redundancy (n - m) / n with m <= 2.
    n = 1437
    assert s["redundancy_by_width"]["1"] >= (n - 2) / n - 1e-6
    t = a["tables"]
    assert {r["epoch"] for r in t["training_time"]} == {1, 2}
    assert {r["label_noise"] for r in t["label_noise"]} == {0.0, 0.5}
    assert {r["n_train"] for r in t["sample_size"]} == {150}
    assert all(r["redundancy_train"] is not None for r in t["training_time"])
    assert len(t["cnn"]) == 1 and t["cnn"][0]["n_bits"] == 2 * 64 + 2 * 16 + 4
    figures = he.plot(result, tmp_path)
    assert any("phase" in p for p in figures)
    assert all(p.endswith(".png") for p in figures)


def test_zero_padding_is_exact_and_codes_match_nets():
    # A width-3 MLP trained inside a width-8 one (extra units zero) equals the
    # width-3 MLP trained alone from the same start; its codes equal
    # hamgeo.nets.activation_codes of the width-3 net.
    data = digits()
    data = dataclasses.replace(
        data,
        x_train=data.x_train[:97],
        y_train=data.y_train[:97],
        x_test=data.x_test[:31],
        y_test=data.y_test[:31],
    )
    cfg = dataclasses.replace(_tiny(), batch_size=16)
    spec = he._Spec("width", 3, 0, 97, weight_decay=0.01)
    big_model = he._mlp(10, 8)
    init_big = jax.jit(big_model.init)(jax.random.key(5), data.x_train[:1])["params"]
    init_big = he._shrink_mlp_jit(jax.tree.map(lambda a: a[None], init_big), jax.numpy.asarray([3]))
    init_small = {
        "hidden_0": {k: v[..., :3] for k, v in init_big["hidden_0"].items()},
        "head": {"kernel": init_big["head"]["kernel"][:, :3], "bias": init_big["head"]["bias"]},
    }
    (big,) = he._train_group(big_model, [spec], data, jax.random.key(1), cfg, 3, init=init_big)
    (small,) = he._train_group(
        he._mlp(10, 3), [spec], data, jax.random.key(1), cfg, 3, init=init_small
    )
    pb, ps = big["params"], small["params"]
    np.testing.assert_allclose(
        pb["hidden_0"]["kernel"][:, :3], ps["hidden_0"]["kernel"], atol=1e-5
    )  # float32 rounding of differently shaped matmuls
    np.testing.assert_allclose(pb["head"]["kernel"][:3], ps["head"]["kernel"], atol=1e-5)
    np.testing.assert_array_equal(pb["hidden_0"]["kernel"][:, 3:], 0.0)  # exactly dead
    np.testing.assert_array_equal(pb["hidden_0"]["bias"][3:], 0.0)
    np.testing.assert_array_equal(pb["head"]["kernel"][3:], 0.0)
    bits_big = np.asarray(unpack_bits(big["train_codes"]))
    np.testing.assert_array_equal(bits_big[:, 3:], False)
    ref = np.asarray(unpack_bits(activation_codes(he._mlp(10, 3), {"params": ps}, data.x_train)))
    np.testing.assert_array_equal(np.asarray(unpack_bits(small["train_codes"])), ref)
    # Same network up to rounding: at most 1 of 97 codes may differ by a boundary bit.
    assert np.all(bits_big[:, :3] == ref, axis=1).mean() >= 96 / 97


def test_shrink_mlp_matches_a_fresh_narrow_init_in_distribution():
    # The carved head rows must have the narrow net's std 1/sqrt(w) (LeCun, fan_in = w).
    x = np.zeros((1, 64), np.float32)
    big = jax.jit(he._mlp(10, 512).init)(jax.random.key(0), x)["params"]
    out = he._shrink_mlp_jit(jax.tree.map(lambda a: a[None], big), jax.numpy.asarray([16]))
    head = np.asarray(out["head"]["kernel"][0, :16])
    ref = np.asarray(
        jax.jit(he._mlp(10, 16).init)(jax.random.key(1), x)["params"]["head"]["kernel"]
    )
    assert abs(head.std() - ref.std()) / ref.std() < 0.25  # 160 samples each: ~8% std error
    np.testing.assert_array_equal(np.asarray(out["head"]["kernel"][0, 16:]), 0.0)


def test_regime_thresholds():
    assert he.regime(he.UNDER_REDUNDANCY + 1e-6) == "under"
    assert he.regime(he.UNDER_REDUNDANCY) == "critical"
    assert he.regime(he.SUFFICIENT_REDUNDANCY) == "sufficient"


def test_bad_inputs():
    with pytest.raises(ValueError, match="`widths` must be a non-empty tuple"):
        he.Config(widths=())
    with pytest.raises(ValueError, match="`seeds` must be >= 1"):
        he.Config(seeds=0)
    with pytest.raises(ValueError, match="`datasets` must be among"):
        he.Config(datasets=("imagenet",))
    with pytest.raises(TypeError, match="`config` must be a hash_encoder.Config"):
        he.run({"widths": (1,)}, jax.random.key(0))
    with pytest.raises(TypeError, match="`key` must be a jax.random key"):
        he.run(_tiny(), 0)
    with pytest.raises(ValueError, match="`logreg_steps` must be >= 1"):
        he.Config(logreg_steps=0)
