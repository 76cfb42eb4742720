"""The discriminability reproduction end to end at a tiny size (statistics: see _stats tests)."""

import dataclasses
import json

import jax
import numpy as np
import pytest

from hamgeo.experiments import discriminability as disc
from hamgeo.experiments._common import to_jsonable
from hamgeo.experiments._protocol import Interval, check_experiment

TINY = disc.Config(
    n_seeds=2,
    n_per_gaussian=12,
    depths=(2, 5),
    width=10,
    sweep_depth=2,
    sweep_width=10,
    sample_sizes=(1, 6),
    label_counts=(3, 5),
    depth_sample_size=6,
    label_sample_size=6,
    n_shifts=9,
    epochs=12,
    batch_size=32,
    learning_rate=1e-2,
    grid_resolution=48,
    theorem_reference=256,
    theorem_sizes=(4, 32),
    theorem_draws=30,
)


def test_module_follows_the_experiment_protocol():
    check_experiment(disc)


@pytest.mark.parametrize(
    ("field", "value", "error", "message"),
    [
        ("n_seeds", 0, ValueError, "`n_seeds` must be an integer"),
        ("n_seeds", 1.5, TypeError, "`n_seeds` must be an integer"),
        ("data", "mnist", ValueError, "`data` must be one of 'gaussian-grid'"),
        ("width", 0, ValueError, "`width` must be an integer"),
        ("n_shifts", 1, ValueError, "`n_shifts` must be an integer"),
        ("depths", (), ValueError, "`depths` must be a non-empty tuple"),
        ("depths", [3, 10], TypeError, "`depths` must be a non-empty tuple"),
        ("sample_sizes", (0,), ValueError, r"`sample_sizes\[0\]` must be an integer"),
        ("dim", 1, ValueError, "`dim` must be an integer"),
        ("max_shift", 1.5, ValueError, "`max_shift` must be <= 1.0"),
        ("truncate_fraction", 0.0, ValueError, "`truncate_fraction` must be > 0.0"),
        ("saturation_delta", 1.0, ValueError, "`saturation_delta` must be < 1.0"),
        ("plateau_shifts", 31, ValueError, "`plateau_shifts` must be an integer"),
        ("window_level", 0.0, ValueError, "`window_level` must be > 0.0"),
        ("theorem_epsilons", (0.0,), ValueError, r"`theorem_epsilons\[0\]` must be > 0.0"),
        ("tessellation", 1, TypeError, "`tessellation` must be a bool"),
        ("learning_rate", "fast", TypeError, "`learning_rate` must be a real number"),
        ("label_counts", (30,), ValueError, "must not exceed the 25 Gaussians"),
    ],
)
def test_config_rejects_bad_values(field, value, error, message):
    with pytest.raises(error, match=message):
        dataclasses.replace(disc.Config(), **{field: value})


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
    assert paper.depths == (3, 10) and paper.width == 15 and paper.sweep_width == 50
    assert paper.per_axis**paper.dim == 25 and paper.n_groups == 5
    assert paper.n_seeds >= 5 and 2 <= quick.n_seeds <= 3
    assert quick.n_per_gaussian < paper.n_per_gaussian and quick.n_shifts < paper.n_shifts
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
    _check_schema(json.loads(json.dumps(to_jsonable(result.to_dict()))))
    _check_plot(result, tmp_path)


def _check_findings(result):
    s = result.summary
    assert len(result.seeds) == 2
    for depth in TINY.depths:
        for m in (1, TINY.depth_sample_size):
            for dist in disc.SATURATION_DISTANCES:
                iv = s[f"saturation_region_{dist}_L{depth}_m{m}"]
                assert isinstance(iv, Interval) and len(iv.values) == 2
                # the region is a length of the diagonal
                assert all(v is None or 0.0 <= v <= TINY.shifts[-1] + 1e-6 for v in iv.values)
        assert s[f"n_cells_L{depth}"].mean > 1
        for seed in result.seeds:
            # the chain d_H <= d_T <= crossings and facet-aware <= d_H on every probe point
            cells = seed.nets[result.depth_nets[depth]].cells
            assert seed.nets[result.depth_nets[depth]].cells_exact
            assert (cells["tessellation"] >= 0).all()
            if "facet_aware" in cells:  # measured on the first seed only
                assert (cells["facet_aware"] <= cells["hamming"]).all()
            assert (cells["hamming"] <= cells["tessellation"]).all()
            assert (cells["tessellation"] <= cells["crossings"]).all()
        assert 0.0 < s[f"mean_dH_over_dT_L{depth}"].mean <= 1.0
    for m in (1, TINY.depth_sample_size):
        for dist in disc.SATURATION_DISTANCES:
            diff = s[f"saturation_region_diff_{dist}_m{m}"]
            pairs = [
                (a, b, d)
                for a, b, d in zip(
                    s[f"saturation_region_{dist}_L2_m{m}"].values,
                    s[f"saturation_region_{dist}_L5_m{m}"].values,
                    diff.values,
                    strict=True,
                )
                if d is not None
            ]
            assert all(d == pytest.approx(a - b, abs=1e-12) for a, b, d in pairs)
            want = disc.verdict(diff) if diff.n else "one seed"
            assert s[f"verdict_saturation_{dist}_m{m}"] == want
    assert s["sinkhorn_all_converged"] is True and s["sinkhorn_runs"] > 0
    assert s["cells_dT"] == "exact"
    diff = s["n_cells_diff_L5_L2"]
    assert diff.mean == pytest.approx(s["n_cells_L5"].mean - s["n_cells_L2"].mean)
    assert s["verdict_n_cells_L5_L2"] == disc.verdict(diff)
    stats = result.statistics
    for seed_i, seed in enumerate(result.seeds):
        a, b = (
            seed.statistics[f"saturation_region_{d}_L2_m1"] for d in ("code_mmd", "activ_frechet")
        )
        got = stats["saturation_excess_code_mmd_L2_m1"].values[seed_i]
        assert got == (None if a is None or b is None else pytest.approx(a - b, abs=1e-12))
    assert stats["verdict_excess_code_mmd_L2_m1"] == disc.verdict(
        stats["saturation_excess_code_mmd_L2_m1"]
    )
    assert "verdict_excess_code_mmd_L2_m1" not in s
    # the deeper net cuts the square into more cells (Montufar et al., the paper's sec. 3.1)
    assert s["n_cells_L5"].mean > s["n_cells_L2"].mean


def _check_curves(result, f32_tol):
    from hamgeo import pairwise_hamming
    from hamgeo.nets import activation_codes
    from hamgeo.regions import facet_hamming

    net = result.nets[result.depth_nets[2]]
    model, variables = result.data["trained"][result.depth_nets[2]]
    probe = result.data["probes"][1][:, 0, :]  # single points [T, 2]
    codes = activation_codes(model, variables, probe)
    want = np.asarray(pairwise_hamming(codes[:1], codes))[0]
    np.testing.assert_array_equal(net.curves[1]["code_hamming"], want)
    np.testing.assert_array_equal(net.cells["hamming"], want)
    # the facet-aware distance is regions.facet_hamming, computed per distinct cell
    pts = np.asarray(probe, dtype=np.float64)
    some = np.array([1, 4, 8])
    want_f = facet_hamming(model, variables, np.repeat(pts[:1], 3, axis=0), pts[some])
    np.testing.assert_array_equal(net.cells["facet_aware"][some], want_f)
    # W1 of two point masses is their Hamming distance; data distances are the shift itself
    np.testing.assert_array_equal(net.curves[1]["code_wasserstein"], want)
    for m in (1, 6):
        clouds = np.asarray(result.data["probes"][m], np.float64)  # [T, m, 2], float32 data
        # float32 translates of one cloud: a few roundings of coordinates <= 1.5 per axis
        tol = f32_tol(2 * 2 + 2, 3.0)
        np.testing.assert_allclose(net.curves[m]["data_euclidean"], result.shifts, atol=tol)
        # Fréchet: at shift 0 the square root of the float32 roundoff of a squared distance
        # made of moments (sums of m terms) and traces of size <= tr
        tr = max(np.trace(np.atleast_2d(np.cov(c.T))) for c in clouds) if m > 1 else 0.0
        frechet_tol = tol + np.sqrt(f32_tol(4 * m * 2, 4 * tr + tol))
        np.testing.assert_allclose(net.curves[m]["data_frechet"], result.shifts, atol=frechet_tol)
    # each seed retrains: the two seeds' nets differ
    other = result.seeds[1].nets[result.depth_nets[2]]
    assert not np.array_equal(
        net.curves[6]["code_wasserstein"], other.curves[6]["code_wasserstein"]
    )


def _check_theorem(result):
    for seed in result.seeds:
        th = seed.theorem
        assert th.reference >= 0.0 and th.diameter >= 1 and th.n_codes >= 1
        assert th.tail.shape == (2, 3) and ((th.tail >= 0) & (th.tail <= 1)).all()
        # a larger deviation is rarer
        assert (np.diff(th.tail, axis=1) <= 0).all()
        # the paper's bound is vacuous at these sizes for codes of tens of bits
        assert (th.log10_bound >= 0).all() or th.diameter < 3
    s = result.summary
    assert s["theorem_tail_n4_eps1"].n == 2
    assert "theorem_tail_n32_eps1" not in s and "theorem_tail_n32_eps1" in result.statistics


def _check_schema(tiny_dict):
    assert set(tiny_dict) >= {
        "experiment",
        "config",
        "dataset",
        "shifts",
        "sweeps",
        "nets",
        "summary",
        "statistics",
        "theorem",
    }
    assert tiny_dict["experiment"] == "discriminability"
    assert tiny_dict["config"]["depths"] == [2, 5] and tiny_dict["config"]["n_seeds"] == 2
    assert tiny_dict["dataset"]["name"] == "gaussian-grid"
    n_t = TINY.n_shifts
    assert len(tiny_dict["shifts"]) == n_t
    s = tiny_dict["summary"]
    for key in ("mean", "low", "high", "n", "values"):
        assert key in s["accuracy_L2"]
    assert set(s) <= set(tiny_dict["statistics"])
    stats = tiny_dict["statistics"]
    for m in TINY.sample_sizes:
        assert f"saturation_region_code_wasserstein_m{m}" in stats
    for g in TINY.label_counts:
        for bench in disc.BENCHMARKS:
            assert f"spearman_code_mmd_vs_{bench}_g{g}" in stats
            assert f"window_{bench}_g{g}" in stats
    for net in tiny_dict["nets"].values():
        for curves in net["curves"].values():
            assert set(curves) == set(disc.DISTANCES)
            assert all(len(v) == 2 and len(v[0]) == n_t for v in curves.values())
        for curves in net["normalized"].values():
            for band in curves.values():
                assert set(band) == {"mean", "min", "max"}
                assert min(band["mean"]) == 0.0 and max(band["mean"]) <= 1.0 + 1e-12
    depth_net = tiny_dict["nets"][tiny_dict["sweeps"]["depth"]["L2"]]
    assert set(depth_net["cells"][0]) == set(disc.CELL_DISTANCES)
    assert set(depth_net["curves"]) == {"1", "6"}


@pytest.mark.slow
def test_same_seed_same_results_and_more_seeds_keep_the_first():
    micro = dataclasses.replace(
        TINY,
        depths=(2,),
        sample_sizes=(4,),
        label_counts=(5,),
        depth_sample_size=4,
        label_sample_size=4,
        n_shifts=6,
        epochs=3,
        theorem=False,
    )
    runs = [disc.run(micro, jax.random.key(7)) for _ in range(2)]
    first, second = (json.dumps(to_jsonable(r.to_dict())) for r in runs)
    assert first == second
    # seed 0 of a two-seed run is the one-seed run
    one = disc.run(dataclasses.replace(micro, n_seeds=1), jax.random.key(7))
    assert to_jsonable(one.seeds[0].statistics) == to_jsonable(runs[0].seeds[0].statistics)


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
