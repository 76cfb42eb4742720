"""Tests of hamgeo.experiments.hash_encoder: config checks, regimes, training, a tiny run."""

import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hamgeo.codes import unpack_bits
from hamgeo.data import digits
from hamgeo.experiments import hash_encoder as he
from hamgeo.experiments._common import to_jsonable
from hamgeo.experiments.findings import validate_results
from hamgeo.experiments.hash_encoder import (
    _analysis,
    _controls,
    _regimes,
    _sweeps,
    _train,
    _verdicts,
)
from hamgeo.experiments.protocol import check_experiment
from hamgeo.nets import MLP, activation_codes


def _tiny(**changes) -> he.Config:
    base = he.Config(
        n_seeds=1,
        epochs=2,
        widths=(1, 8),
        main_width=8,
        time_widths=(8,),
        sample_fractions=(0.1, 1.0),
        sample_widths=(8,),
        depths=(1, 2),
        depth_units=8,
        factor_width=8,
        weight_decays=(0.0, 0.1),
        label_noises=(0.0, 0.5),
        families=(),
        cnn_channels=((2, 2),),
        cnn_dense=(4,),
        cnn_epochs=1,
        logreg_steps=10,
    )
    return dataclasses.replace(base, **changes)


def _small_digits(n_train=97, n_test=31):
    data = digits()
    return dataclasses.replace(
        data,
        x_train=data.x_train[:n_train],
        y_train=data.y_train[:n_train],
        x_test=data.x_test[:n_test],
        y_test=data.y_test[:n_test],
    )


# ------------------------------------------------------------------------------ config


def test_contract():
    check_experiment(he)
    assert he.Config().n_seeds >= 3 and 2 <= he.Config.quick().n_seeds <= 3
    assert he.Config().data == "digits" and he.Config().knn_k == 9


@pytest.mark.parametrize(
    ("changes", "error", "match"),
    [
        ({"widths": ()}, TypeError, "`widths` must be a non-empty tuple"),
        ({"widths": (4, 0)}, ValueError, r"`widths\[1\]` must be an integer >= 1"),
        ({"widths": (4, 2.0)}, TypeError, r"`widths\[1\]` must be an integer"),
        ({"n_seeds": 0}, ValueError, "`n_seeds` must be an integer >= 1"),
        ({"max_train": 1.5}, TypeError, "`max_train` must be an integer"),
        ({"data": "imagenet"}, ValueError, "`data` must be one of"),
        ({"data_root": 3}, TypeError, "`data_root` must be a str or None"),
        ({"download": "yes"}, TypeError, "`download` must be a bool"),
        ({"families": ("alexnet",)}, ValueError, r"`families\[0\]` must be one of"),
        ({"knn_ties": "random"}, ValueError, "`knn_ties` must be one of"),
        ({"label_noises": (0.0, 1.5)}, ValueError, r"`label_noises\[1\]` must be <= 1.0"),
        ({"sample_fractions": (0.0,)}, ValueError, r"`sample_fractions\[0\]` must be > 0.0"),
        ({"weight_decays": (-1.0,)}, ValueError, r"`weight_decays\[0\]` must be >= 0.0"),
        ({"depths": (1, 9), "depth_units": 8}, ValueError, "`depth_units` must be >= max"),
        ({"cnn_channels": ((2, 0),)}, ValueError, r"`cnn_channels\[0\]\[1\]`"),
        ({"learning_rate": 0.0}, ValueError, "`learning_rate` must be > 0.0"),
        ({"kmeans_iterations": 1.7}, TypeError, "`kmeans_iterations` must be an integer"),
    ],
)
def test_config_rejects_bad_fields(changes, error, match):
    with pytest.raises(error, match=match):
        dataclasses.replace(he.Config.quick(), **changes)


def test_run_checks_its_arguments():
    with pytest.raises(TypeError, match="`config` must be a hash_encoder.Config"):
        he.run({"widths": (1,)}, jax.random.key(0))
    with pytest.raises(TypeError, match="`key` must be a JAX PRNG key"):
        he.run(_tiny(), 0)


def test_sweep_members_share_networks_and_split_depth_units():
    cfg = he.Config.quick()
    members = _sweeps.sweep_members(cfg, 1437)
    assert set(members) == set(he.FACTORS)
    for m in members["depth"]:
        assert sum(m.spec.hidden) == cfg.depth_units and len(m.spec.hidden) == m.fields["depth"]
    # The width-64 net of the width sweep is the weight-decay and label-noise sweeps' 0.
    width64 = _sweeps.ModelSpec("mlp", (64,), 1437)
    assert width64 in {m.spec for m in members["width"]}
    assert width64 in {m.spec for m in members["weight_decay"]}
    assert width64 in {m.spec for m in members["label_noise"]}
    assert [m.fields["n_train"] for m in members["sample_size"][:3]] == [90, 359, 1437]


# ----------------------------------------------------------------------------- regimes


def test_spearman_matches_scipy_and_handles_constants(rng):
    from scipy import stats

    x, y = rng.normal(size=17), rng.normal(size=17)
    rho, p = _regimes.spearman(x, y)
    ref = stats.spearmanr(x, y)
    assert rho == pytest.approx(ref.statistic, abs=1e-12)
    assert p == pytest.approx(ref.pvalue, abs=1e-12)
    assert _regimes.spearman([1, 2], [3, 4]) == (None, 1.0)  # too few pairs
    assert _regimes.spearman([1, 2, 3], [0.5, 0.5, 0.5]) == (None, 1.0)


def test_regimes_follow_the_papers_definition_by_effect_size():
    # Redundancy falls steadily (a change in every window), then is 0 and flat.
    red = [[0.9, 0.85, 0.8], [0.6, 0.55, 0.5], [0.3, 0.25, 0.2], [0.1, 0.05, 0.08]]
    red += [[0.0, 0.0, 0.0]] * 4
    acc = [[0.2, 0.25, 0.3], [0.5, 0.45, 0.4], [0.7, 0.65, 0.6], [0.8, 0.85, 0.82]]
    acc += [[0.9, 0.9, 0.9]] * 4
    rows = _regimes.sweep_regimes(list(range(8)), red, acc, factor="width")
    got = [r["regime"] for r in rows]
    assert got[:4] == ["under"] * 4  # above 0.01 and changing by >= EFFECT_SIZE
    assert got[4] == "critical"  # at 0 but its window still sees the fall
    assert got[5:] == ["sufficient"] * 3  # at 0 and flat
    # Above zero, level means within EFFECT_SIZE of each other: critical, never under.
    flat = [[0.5, 0.2, 0.4], [0.3, 0.5, 0.3], [0.4, 0.3, 0.4]]  # means 0.367, 0.367, 0.367
    assert {r["regime"] for r in _regimes.sweep_regimes([1, 2, 3], flat, flat, factor="x")} == {
        "critical"
    }


@pytest.mark.parametrize("copies", [1, 2, 5, 20])
def test_regime_labels_do_not_change_with_the_number_of_seeds(copies):
    # The same per-seed values repeated: a p-value would fall with every copy, the
    # effect-size label must not move (issue 20).
    red = [[0.8, 0.6], [0.45, 0.5], [0.2, 0.3], [0.02, 0.0], [0.0, 0.0], [0.0, 0.01]]
    acc = [[0.3, 0.4], [0.6, 0.62], [0.8, 0.78], [0.9, 0.91], [0.91, 0.9], [0.905, 0.905]]
    base = [r["regime"] for r in _regimes.sweep_regimes(range(6), red, acc, factor="w")]
    more = [r["regime"] for r in _regimes.sweep_regimes(
        range(6), [v * copies for v in red], [v * copies for v in acc], factor="w")]  # fmt: skip
    assert more == base == ["under", "under", "under", "critical", "sufficient", "sufficient"]
    grid = [[v * copies for v in red[:3]], [v * copies for v in red[3:]]]
    labels = [c["regime"] for c in _regimes.grid_regimes(
        [1, 2], [1, 2, 3], grid, grid, row_factor="w", col_factor="e")]  # fmt: skip
    assert labels == ["under", "under", "under", "critical", "critical", "critical"]


def test_grid_regimes_use_either_axis():
    # Rows: redundancy falls with width (a change along the column axis); within a
    # row it is flat over epochs.
    widths, epochs = [1, 2, 4], [1, 2, 3]
    red = [[[v + 0.001 * s for s in range(3)] for _ in epochs] for v in (0.9, 0.5, 0.1)]
    acc = [[[0.5, 0.5, 0.5] for _ in epochs] for _ in widths]
    cells = _regimes.grid_regimes(widths, epochs, red, acc, row_factor="width", col_factor="epoch")
    assert len(cells) == 9
    assert all(c["regime"] == "under" for c in cells)
    assert all(c["effect_width"] >= he.EFFECT_SIZE and c["effect_epoch"] == 0.0 for c in cells)


def _rows(values_by_state, **fields):
    return [
        {"seed": s, "state": state, **fields, **{k: v[s] for k, v in cols.items()}}
        for state, cols in values_by_state.items()
        for s in range(3)
    ]


def test_categorization_is_supported_only_when_every_control_is_beaten():
    cfg = dataclasses.replace(he.Config.quick(), main_width=8, n_seeds=3)

    def tables(init_knn):
        trained = {"knn_test_accuracy": [0.90, 0.91, 0.92], "network_test_accuracy": [0.92] * 3,
                   "redundancy_train": [0.0, 0.0, 0.0]}  # fmt: skip
        init = {"knn_test_accuracy": init_knn, "network_test_accuracy": [0.1] * 3,
                "redundancy_train": [0.5, 0.52, 0.51]}  # fmt: skip
        width = _rows({"trained": trained, "init": init}, width=8)
        return {"width": width, "sample_size": [{"n_train": 100}]}

    controls = {
        "random_hyperplanes": [
            {
                "seed": s,
                "width": 8,
                "n_train": 100,
                "knn_test_accuracy": 0.5,
                "redundancy_train": 0.3,
            }
            for s in range(3)
        ],  # fmt: skip
        "raw_inputs": [
            {"seed": s, "knn_test_accuracy": 0.6, "redundancy_train": 0.0} for s in range(3)
        ],  # fmt: skip
    }
    beaten = _verdicts._categorization(tables([0.5, 0.52, 0.49]), controls, cfg, [0, 1, 2], "knn")
    assert beaten.verdict == "supported"
    assert [e.is_control for e in beaten.estimates] == [False, False, False, True, True, True]
    # The same trained numbers, but the untrained net scores as high: not supported.
    tied = _verdicts._categorization(tables([0.9, 0.92, 0.91]), controls, cfg, [0, 1, 2], "knn")
    assert tied.verdict == "inconclusive"
    # Determinism: trained 0, but the raw inputs have no duplicates either -> inconclusive.
    det = _verdicts._determinism(tables([0.5] * 3), controls, cfg, [0, 1, 2])
    assert det.verdict == "inconclusive"
    assert det.estimates[0].high <= he.REDUNDANCY_NEAR_ZERO


def test_seed_rho_and_hyperplane_codes_against_numpy(rng):
    from scipy import stats

    x, y = rng.normal(size=17), rng.normal(size=17)
    assert _verdicts.seed_rho(x, y) == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
    assert _verdicts.seed_rho([1, 2, 3], [0.2, None, 0.3]) is None
    data = _small_digits()
    tr, te = _controls.hyperplane_codes(data.x_train, data.x_test, 33, key=jax.random.key(1))
    bits = np.asarray(unpack_bits(tr))
    assert bits.shape == (97, 33) and np.asarray(unpack_bits(te)).shape == (31, 33)
    # each hyperplane passes through a training example: every bit splits the data
    assert 0 < bits.mean() < 1 and np.all(bits.sum(0) < 97)
    padded = _controls.padded(tr)
    assert padded.n_bits == 64 and np.array_equal(
        np.asarray(unpack_bits(_analysis.unpadded(padded, 33))), bits
    )


# ---------------------------------------------------------------------------- training


def test_padded_training_gives_the_narrow_nets_codes(key):
    # Widths 3 and 64 trained together in one padded group: the width-3 net's codes are
    # hamgeo.nets.activation_codes of the width-3 MLP cut out of the padded parameters
    # (the dead units' bits are 0), before and after training.
    data = _small_digits()
    cfg = _tiny(epochs=2, batch_size=16)
    specs = [_sweeps.ModelSpec("mlp", (3,), 97), _sweeps.ModelSpec("mlp", (64,), 97, 0.01, 0.2)]
    captured = {}
    original = _train.train_many

    def spy(*args, **kwargs):
        result = original(*args, **kwargs)
        captured["variables"] = result.variables
        return result

    _train.train_many = spy
    try:
        nets = _train.train_specs(specs, data, None, cfg, key)
    finally:
        _train.train_many = original
    narrow = nets[specs[0]]
    assert narrow.trained.n_bits == 3 and narrow.finite
    params = jax.tree.map(lambda a: a[0], captured["variables"]["params"])
    np.testing.assert_array_equal(np.asarray(params["hidden_0"]["kernel"][:, 3:]), 0.0)
    small = {
        "params": {
            "hidden_0": {k: v[..., :3] for k, v in params["hidden_0"].items()},
            "head": {"kernel": params["head"]["kernel"][:3], "bias": params["head"]["bias"]},
        }
    }
    ref = np.asarray(unpack_bits(activation_codes(MLP((3,), 10), small, data.x_train)))
    got = np.asarray(unpack_bits(narrow.trained.codes_train))
    np.testing.assert_array_equal(got[:, :3], ref)  # exact: the same thresholds
    np.testing.assert_array_equal(got[:, 3:], False)
    # Label noise: 20 % of the wide net's labels changed, all in range.
    wide = nets[specs[1]]
    assert int(np.sum(wide.labels != data.y_train)) == round(0.2 * 97)
    assert narrow.labels.tolist() == data.y_train.tolist()


def test_sample_subsets_nest_and_init_is_shared(key):
    data = _small_digits()
    cfg = _tiny(epochs=1, batch_size=16)
    specs = [_sweeps.ModelSpec("mlp", (8,), m) for m in (20, 50, 97)]
    nets = _train.train_specs(specs, data, None, cfg, key)
    sizes = [nets[s].init.codes_train.shape[0] for s in specs]
    assert sizes == [20, 50, 97]
    # Same architecture, same seed: the same initialization, so the subsets' init
    # codes are rows of the full set's init codes.
    full = np.asarray(unpack_bits(nets[specs[2]].init.codes_train))
    sub = np.asarray(unpack_bits(nets[specs[0]].init.codes_train))
    rows = {tuple(r) for r in full.tolist()}
    assert all(tuple(r) in rows for r in sub.tolist())


# ---------------------------------------------------------------------------- the run


@pytest.mark.slow
def test_tiny_run_schema_seeds_and_baselines(tmp_path):
    one = he.run(_tiny(), jax.random.key(3))
    two = he.run(_tiny(n_seeds=2), jax.random.key(3))
    a, b = to_jsonable(one.to_dict()), to_jsonable(two.to_dict())
    a, b = {**a, **a["extra"]}, {**b, **b["extra"]}
    assert a["experiment"] == "hash-encoder" and a["dataset"]["name"] == "digits"
    # Seed 0 of a two-seed run is the one-seed run, row for row (same key, same nets).
    for factor, rows in a["tables"].items():
        seed0 = [r for r in b["tables"][factor] if r["seed"] == 0]
        assert json.dumps(rows, sort_keys=True) == json.dumps(seed0, sort_keys=True), factor
    validate_results(json.loads(json.dumps(to_jsonable(two.to_dict()))))
    records = [r.to_dict() for r in two.summary]
    assert all(0.0 <= r["low"] <= r["mean"] <= r["high"] <= 1.0 for r in records
               if r["factors"]["state"] != "trained - init")  # fmt: skip
    assert {f["key"] for f in b["findings"]} >= {"determinism", "categorization_knn"}
    for f in b["findings"]:  # every finding shows its control rows
        assert any(e["is_control"] for e in f["estimates"]), f["key"]
        if f["verdict"] == "supported":
            assert f["estimates"][0]["n"] == 2
    # Width 1 has two possible codes: redundancy (n - m) / n with m <= 2.
    n = 1437
    width1 = [r for r in b["tables"]["width"] if r["width"] == 1]
    assert all(r["redundancy_train"] >= (n - 2) / n - 1e-6 for r in width1)
    # Every factor table holds the same nets at init beside the trained ones.
    for factor in ("width", "depth", "sample_size", "weight_decay", "label_noise"):
        states = [r["state"] for r in b["tables"][factor]]
        assert states.count("init") == states.count("trained") > 0, factor
    times = b["tables"]["training_time"]
    assert {r["epoch"] for r in times} == {0, 1, 2}
    assert all(r["state"] == ("init" if r["epoch"] == 0 else "trained") for r in times)
    assert {r["label_noise"] for r in b["tables"]["label_noise"]} == {0.0, 0.5}
    assert {r["n_train"] for r in b["tables"]["sample_size"]} == {144, 1437}
    assert {r["widths"] == [4, 4] for r in b["tables"]["depth"] if r["depth"] == 2} == {True}
    assert {r["regime"] for r in b["regimes"]["width"]} <= {"under", "critical", "sufficient"}
    assert any(c["factor"] == "label_noise" for c in b["correlations"])
    hyper = b["controls"]["random_hyperplanes"]
    assert {(r["width"], r["n_train"]) for r in hyper if r["seed"] == 1} == {
        (1, 1437), (8, 1437), (8, 144)}  # fmt: skip
    figures = he.plot(two, tmp_path)
    names = {p.name for p in figures}
    assert {
        "hash_encoder_phase.png",
        "hash_encoder_width.png",
        "hash_encoder_controls.png",
    } <= names
    assert all(p.exists() for p in figures)


@pytest.mark.slow
def test_model_families_on_digit_images(tmp_path):
    cfg = _tiny(
        widths=(8,),
        time_widths=(8,),
        sample_fractions=(1.0,),
        depths=(1,),
        weight_decays=(0.0,),
        label_noises=(0.0,),
        families=("vgg", "resnet"),
    )
    result = he.run(cfg, jax.random.key(0))
    rows = result.tables["family"]
    assert {(r["family"], r["state"]) for r in rows} == {
        (f, s) for f in ("vgg", "resnet") for s in ("init", "trained")
    }
    vgg = next(r for r in rows if r["family"] == "vgg")
    assert vgg["n_bits"] == 2 * 64 + 2 * 16 + 4  # two 8x8 / 4x4 conv maps and the dense layer
    assert "hash_encoder_family.png" in {p.name for p in he.plot(result, tmp_path)}


def test_seed_keys_drive_the_nets(key):
    # Different seeds retrain: their initializations differ.
    data = _small_digits()
    cfg = _tiny(epochs=1, batch_size=16)
    spec = _sweeps.ModelSpec("mlp", (8,), 97)
    a = _train.train_specs([spec], data, None, cfg, jax.random.fold_in(key, 1))[spec]
    b = _train.train_specs([spec], data, None, cfg, jax.random.fold_in(key, 2))[spec]
    assert not jnp.array_equal(a.init.codes_train.words, b.init.codes_train.words)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "flat_dim", "image_shape"),
    [("mnist", 784, (28, 28, 1)), ("cifar10", 3072, (32, 32, 3))],
)
def test_every_factor_runs_on_a_downloadable_data_set(
    tmp_path, monkeypatch, name, flat_dim, image_shape
):
    # Format-exact stand-ins in the cache (no network): the MLPs see flat inputs, the
    # CNNs images, and the data set's record (files, checksums) reaches results.json.
    from hamgeo.data import load, write_fake
    from hamgeo.experiments.hash_encoder import _run

    sums = write_fake(name, tmp_path, n_train=60, n_test=20)
    monkeypatch.setattr(_run, "load", lambda n, **kw: load(n, checksums=sums, **kw))
    cfg = _tiny(data=name, data_root=str(tmp_path), download=False, widths=(4,), main_width=4,
                time_widths=(4,), sample_fractions=(0.5, 1.0), sample_widths=(4,), depths=(1, 2),
                depth_units=4, factor_width=4, families=("vgg",), cnn_channels=((2,),),
                batch_size=16)  # fmt: skip
    flat, images = _run.load_data(cfg)
    assert flat.x_train.shape == (60, flat_dim) and images.x_train.shape == (60, *image_shape)
    if name == "mnist":
        # MNIST's loader is the one path that differs (IDX files, one channel); the run after
        # loading is the same code as CIFAR-10's below, which has the harder shapes (3 channels)
        return
    result = he.run(cfg, jax.random.key(0))
    record = to_jsonable(result.to_dict())
    assert record["dataset"]["name"] == name and record["dataset"]["info"]["files"] == sums
    assert {f for f in he.FACTORS if result.tables[f]} == set(he.FACTORS)
