"""The discriminability reproduction end to end at a tiny size (statistics: see _stats tests)."""

import dataclasses
import json

import jax
import numpy as np
import pytest
from scipy import stats

from hamgeo.experiments import discriminability as disc
from hamgeo.experiments._common import to_jsonable
from hamgeo.experiments.findings import validate_results
from hamgeo.experiments.protocol import check_experiment

TINY = disc.Config(n_seeds=2).replace(
    **{
        "grid.n_per_gaussian": 12,
        "nets.depths": (2, 5),
        "nets.width": 10,
        "nets.sweep_depth": 2,
        "nets.sweep_width": 10,
        "nets.equal_units": ((5, 4), (2, 10), (1, 20)),
        "probe.sample_sizes": (1, 6),
        "probe.label_counts": (3, 5),
        "probe.depth_sample_size": 6,
        "probe.label_sample_size": 6,
        "probe.n_shifts": 9,
        "train.epochs": 12,
        "train.batch_size": 32,
        "train.learning_rate": 1e-2,
        "cells.grid_resolution": 48,
        "theorem.reference": 256,
        "theorem.sizes": (4, 32),
        "theorem.draws": 30,
    }
)


def test_module_follows_the_experiment_protocol():
    check_experiment(disc)


@pytest.mark.parametrize(
    ("field", "value", "error", "message"),
    [
        ("n_seeds", 0, ValueError, "`n_seeds` must be an integer"),
        ("n_seeds", 1.5, TypeError, "`n_seeds` must be an integer"),
        ("data", "mnist", ValueError, "`data` must be one of 'gaussian-grid'"),
        ("nets.width", 0, ValueError, "`width` must be an integer"),
        ("probe.n_shifts", 1, ValueError, "`n_shifts` must be an integer"),
        ("nets.depths", (), ValueError, "`depths` must be a non-empty tuple"),
        ("nets.depths", [3, 10], TypeError, "`depths` must be a non-empty tuple"),
        ("nets.equal_units", ((3, 50), (2, 50)), ValueError, "equal numbers of units"),
        ("probe.sample_sizes", (0,), ValueError, r"`sample_sizes\[0\]` must be an integer"),
        ("grid.dim", 1, ValueError, "`dim` must be an integer"),
        ("probe.max_shift", 1.5, ValueError, "`max_shift` must be <= 1.0"),
        ("stats.truncate_fraction", 0.0, ValueError, "`truncate_fraction` must be > 0.0"),
        ("stats.saturation_delta", 1.0, ValueError, "`saturation_delta` must be < 1.0"),
        ("stats.plateau_shifts", 31, ValueError, "`stats.plateau_shifts` must be an integer"),
        ("stats.window_level", 0.0, ValueError, "`window_level` must be > 0.0"),
        ("theorem.epsilons", (0.0,), ValueError, r"`epsilons\[0\]` must be > 0.0"),
        ("cells.tessellation", 1, TypeError, "`tessellation` must be a bool"),
        ("train.learning_rate", "fast", TypeError, "`learning_rate` must be a real number"),
        ("probe.label_counts", (30,), ValueError, "must not exceed the 25 Gaussians"),
        ("train", {"epochs": 3}, TypeError, "`train` must be a TrainConfig"),
        # held-out audit (issue 23): n_seeds had no cap (--seeds has 1000), resolutions
        # below slice_partition's / cell_graph's range passed the config
        ("n_seeds", 10**20, ValueError, r"`n_seeds` must be an integer in \[1, 1000\]"),
        ("cells.grid_resolution", 1, ValueError, r"`grid_resolution` .* >= 2 and <= 16384"),
        ("cells.grid_resolution", 2**14 + 1, ValueError, r"`grid_resolution` .* in \[2, 16384\]"),
        ("cells.cell_graph_resolution", 1, ValueError, r"`cell_graph_resolution` .* >= 2"),
    ],
)
def test_config_rejects_bad_values(field, value, error, message):
    with pytest.raises(error, match=message):
        disc.Config().replace(**{field: value})


def test_resolution_limit_is_the_one_of_hamgeo_regions():
    # held-out audit (issue 23): the config's copy of the limit must not drift
    from hamgeo.experiments.discriminability import _config
    from hamgeo.regions import _common

    assert _config._MAX_RESOLUTION == _common.MAX_RESOLUTION


def test_config_is_a_tree_of_frozen_sections():
    cfg = disc.Config()
    assert dataclasses.is_dataclass(cfg.train) and cfg.train.epochs == 100
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.train.epochs = 3
    assert cfg.replace(**{"train.epochs": 3}).train.epochs == 3
    assert to_jsonable(cfg)["train"]["epochs"] == 100
    with pytest.raises(ValueError, match="`nope` is not a section"):
        cfg.replace(**{"nope.x": 1})


def _binomial_tail_reference(n, eps):
    # independent: the joint law of two Binomial(n, 1/2) counts, summed over |k1 - k2| > eps n
    pmf = stats.binom.pmf(np.arange(n + 1), n, 0.5)
    k = np.arange(n + 1)
    far = np.abs(k[:, None] - k[None, :]) / n > eps + 1e-12
    return float((np.outer(pmf, pmf) * far).sum())


@pytest.mark.parametrize("n", [300, 400, 2000])
def test_theorem_a1_counterexample(n):
    eps = 0.1
    tail = disc.counterexample_tail(n, eps)
    # float64 sums of <= (n + 1)^2 terms of a probability: far below 1e-12 apart
    assert tail == pytest.approx(_binomial_tail_reference(n, eps), rel=1e-9)
    bound = 10 ** float(disc.log10_bound(np.array([n]), eps, 1)[0])
    assert tail > bound  # the stated bound is violated
    if n == 400:
        assert tail == pytest.approx(4.16e-3, abs=5e-6)
        assert bound == pytest.approx(2.9e-4, abs=5e-6)


def test_counterexample_is_a_finding_contradicted():
    from hamgeo.experiments.discriminability._judge import _counterexample_finding

    f = _counterexample_finding()
    assert f.verdict == "contradicted"
    tail, bound = f.estimates
    assert tail.mean > bound.mean and bound.is_control


def test_seeds_needed_reaches_the_width(rng):
    diffs = list(rng.normal(0.3, 0.2, 5))
    n = disc.seeds_needed(diffs, 0.1)
    sd = np.std(diffs, ddof=1)
    half = lambda k: stats.t.ppf(0.975, k - 1) * sd / np.sqrt(k)  # noqa: E731
    assert 2 * half(n) < 0.1 <= 2 * half(n - 1)


def test_theorem_empirical_w1_is_the_exact_transport(rng):
    from hamgeo.experiments.discriminability._theorem import _empirical_w
    from hamgeo.hamming import pairwise_hamming
    from hamgeo.transport import exact_wasserstein

    supp1 = rng.integers(0, 2, size=(7, 33)).astype(bool)
    supp2 = rng.integers(0, 2, size=(5, 33)).astype(bool)
    cost = np.asarray(pairwise_hamming(supp1, supp2), np.float64)
    for n in (1, 4, 17):
        i1, i2 = rng.integers(0, 7, size=n), rng.integers(0, 5, size=n)
        want = exact_wasserstein(supp1[i1], supp2[i2])
        assert _empirical_w(cost, i1, i2) == pytest.approx(want, abs=1e-9)


def test_run_rejects_a_non_config(key):
    with pytest.raises(TypeError, match="`config` must be a Config"):
        disc.run({"depths": (3,)}, key)


def test_quick_is_smaller_than_the_default():
    quick, paper = disc.Config.quick(), disc.Config()
    assert paper.nets.depths == (3, 10) and paper.nets.width == 15
    assert paper.nets.sweep_width == 50
    assert paper.nets.equal_units == ((10, 15), (3, 50), (1, 150))
    assert paper.grid.per_axis**paper.grid.dim == 25 and paper.grid.n_groups == 5
    assert paper.n_seeds >= 10 and 2 <= quick.n_seeds <= 3
    assert quick.grid.n_per_gaussian < paper.grid.n_per_gaussian
    assert quick.probe.n_shifts < paper.probe.n_shifts
    shifts = paper.shifts
    assert shifts[0] == 0.0 and shifts[-1] == pytest.approx(np.sqrt(2.0), rel=1e-6)


# --------------------------------------------------------------------------- end to end


@pytest.mark.slow
def test_tiny_run_end_to_end(tmp_path, f32_tol):
    # one run feeds every check (a module fixture would run once per xdist worker)
    result = disc.run(TINY, jax.random.key(3))
    _check_findings(result)
    _check_curves(result, f32_tol)
    _check_theorem(result)
    doc = json.loads(json.dumps(to_jsonable(result.to_dict()), allow_nan=False))
    validate_results(doc)
    assert doc["config"]["nets"]["depths"] == [2, 5] and doc["seeds"] == [0, 1]
    _check_plot(result, tmp_path)


def _check_findings(result):
    keys = [f.key for f in result.findings]
    assert keys == [
        "local_discriminability_L2",
        "local_discriminability_L5",
        "depth_vs_cells",
        "saturation_depth",
        "theorem_a1_counterexample",
        "theorem_a1_study_sizes",
    ]
    for f in result.findings[:4]:
        # the trained arm first, then at least one control row
        assert "trained" in f.estimates[0].label and not f.estimates[0].is_control
        assert any(e.is_control for e in f.estimates)
    # every record's interval is the rule's, from the per-seed values
    for r in result.summary[:50]:
        vals = result.values(r.statistic, **r.factors)
        finite = [v for v in vals if v is not None and np.isfinite(v)]
        assert r.n == len(finite)
        if finite:
            assert r.mean == pytest.approx(np.mean(finite), abs=1e-12)
            assert r.low <= r.mean <= r.high
    # equal units: cell counts of each architecture, trained and at init
    for d, w in TINY.nets.equal_units:
        arch = {"depth": d, "width": w, "labels": 5}
        assert all(v >= 1 for v in result.values("n_cells", **arch))
        assert all(v >= 1 for v in result.values("n_cells_init", **arch))
    sat = result.findings[3]
    diffs = [
        a - b
        for a, b in zip(
            *(
                result.values(
                    "saturation_region",
                    distance="code_hamming",
                    depth=depth,
                    width=10,
                    labels=5,
                    m=1,
                    arm="trained",
                )
                for depth in (2, 5)
            ),
            strict=True,
        )
        if a is not None and b is not None
    ]
    assert sat.estimates[0].mean == pytest.approx(np.mean(diffs), abs=1e-12)
    assert result.findings[4].verdict == "contradicted"
    assert result.findings[5].verdict == "untestable"  # the bound is >= 1 at these sizes
    for depth in TINY.nets.depths:
        for seed in result.seeds:
            # the chain d_H <= d_T <= crossings and facet-aware <= d_H on every probe point
            cells = seed.nets[result.depth_nets[depth]].cells
            assert seed.nets[result.depth_nets[depth]].cells_exact
            assert (cells["tessellation"] >= 0).all()
            if "facet_aware" in cells:  # measured on the first seed only
                assert (cells["facet_aware"] <= cells["hamming"]).all()
            assert (cells["hamming"] <= cells["tessellation"]).all()
            assert (cells["tessellation"] <= cells["crossings"]).all()


def _check_curves(result, f32_tol):
    from hamgeo import pairwise_hamming
    from hamgeo.nets import activation_codes

    net = result.nets[result.depth_nets[2]]
    model, variables = result.data["trained"][result.depth_nets[2]]
    probe = result.data["probes"][1][:, 0, :]  # single points [T, 2]
    codes = activation_codes(model, variables, probe)
    want = np.asarray(pairwise_hamming(codes[:1], codes))[0]
    np.testing.assert_array_equal(net.curves[1]["code_hamming"], want)
    np.testing.assert_array_equal(net.cells["hamming"], want)
    np.testing.assert_array_equal(net.curves[1]["code_wasserstein"], want)
    theta = max(1, round(0.25 * 20))
    np.testing.assert_array_equal(net.curves[1]["code_truncated_hamming"], np.minimum(want, theta))
    np.testing.assert_array_equal(
        net.curves[1]["code_truncated_hamming_half"], np.minimum(want, 2 * theta)
    )
    # single points: the biased MMD^2 of two point masses is 2 - 2 exp(-d_H / bandwidth)
    np.testing.assert_allclose(
        net.curves[1]["code_mmd"], 2 - 2 * np.exp(-want), atol=f32_tol(4, 2.0)
    )
    # the random-code control: codes of random hyperplanes, as many bits as the net's units
    assert set(net.controls) == {"init", "random codes"}
    for m in (1, 6):
        np.testing.assert_allclose(
            net.curves[m]["data_euclidean"], result.shifts, atol=f32_tol(6, 3.0)
        )
    other = result.seeds[1].nets[result.depth_nets[2]]
    assert not np.array_equal(
        net.curves[6]["code_wasserstein"], other.curves[6]["code_wasserstein"]
    )


def _check_theorem(result):
    for seed in result.seeds:
        th = seed.theorem
        assert th.reference >= 0.0 and th.diameter >= 1 and th.n_codes >= 1
        assert th.tail.shape == (2, 3) and ((th.tail >= 0) & (th.tail <= 1)).all()
        assert (np.diff(th.tail, axis=1) <= 0).all()


@pytest.mark.slow
def test_same_seed_same_results_and_more_seeds_keep_the_first():
    micro = TINY.replace(
        **{
            "nets.depths": (2,),
            "nets.equal_units": ((2, 10),),
            "probe.sample_sizes": (4,),
            "probe.label_counts": (5,),
            "probe.depth_sample_size": 4,
            "probe.label_sample_size": 4,
            "probe.n_shifts": 6,
            "train.epochs": 3,
            "theorem.enabled": False,
        }
    )
    runs = [disc.run(micro, jax.random.key(7)) for _ in range(2)]
    first, second = (
        json.dumps({k: v for k, v in to_jsonable(r.to_dict()).items() if k != "provenance"})
        for r in runs
    )
    assert first == second
    # seed 0 of a two-seed run is the one-seed run
    one = disc.run(dataclasses.replace(micro, n_seeds=1), jax.random.key(7))
    assert repr(one.seeds[0].values) == repr(runs[0].seeds[0].values)


def _check_plot(result, tmp_path):
    paths = disc.plot(result, tmp_path)
    names = sorted(p.name for p in paths)
    assert names == sorted(
        f"discriminability_{n}.png"
        for n in (
            "setup",
            "depth",
            "sample_size",
            "labels",
            "saturation",
            "theorem",
            "tessellation",
            "fig1_effect",
        )
    )
    for p in paths:
        with open(p, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(TypeError, match="`result` must be a discriminability Result"):
        disc.plot({}, tmp_path)
