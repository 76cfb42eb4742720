"""The discriminability reproduction end to end at a tiny size, plus its statistics."""

import dataclasses
import json

import jax
import numpy as np
import pytest
import scipy.stats

from hamgeo.experiments import discriminability as disc
from hamgeo.experiments._common import to_jsonable

TINY = disc.Config(
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
    cell_graph_resolution=24,
)


# --------------------------------------------------------------------------- statistics


def test_normalize_curve_matches_minmax(rng):
    v = rng.normal(size=17)
    got = disc.normalize_curve(v)
    want = (v - v.min()) / (v.max() - v.min())
    np.testing.assert_allclose(got, want, atol=1e-12)
    assert got.min() == 0.0 and got.max() == 1.0
    np.testing.assert_array_equal(disc.normalize_curve(np.full(5, 3.0)), np.zeros(5))
    with pytest.raises(ValueError, match="`values` must be 1-D"):
        disc.normalize_curve(np.zeros((2, 2)))


def test_saturation_index_against_brute_force(rng):
    for _ in range(50):
        v = rng.uniform(0.8, 1.0, size=11)
        got = disc.saturation_index(v, 0.95)
        want = next((k for k in range(11) if (v[k:] >= 0.95).all()), None)
        assert got == want
    with pytest.raises(ValueError, match="`normalized` must be a non-empty 1-D"):
        disc.saturation_index(np.zeros(0))


def test_spearman_small_shifts_against_scipy(rng):
    a, b = rng.normal(size=13), rng.normal(size=13)
    for stop, minimum, n in ((2, 5, 5), (8, 5, 9), (20, 5, 13)):
        want = scipy.stats.spearmanr(a[:n], b[:n]).statistic
        assert disc.spearman_small_shifts(a, b, stop, minimum) == pytest.approx(want, abs=1e-12)
    assert np.isnan(disc.spearman_small_shifts(np.ones(6), b[:6], 5))
    with pytest.raises(ValueError, match="`a` and `b` must be 1-D of one shape"):
        disc.spearman_small_shifts(a, b[:5], 3)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("width", 0, "`width` must be a positive int"),
        ("n_shifts", 1, "`n_shifts` must be at least 2"),
        ("depths", (), "`depths` must be a non-empty tuple"),
        ("sample_sizes", (0,), "`sample_sizes` must be a non-empty tuple"),
        ("dim", 1, "`dim` must be at least 2"),
        ("max_shift", 1.5, "`max_shift` must be in"),
        ("truncate_fraction", 0.0, "`truncate_fraction` must be in"),
        ("saturation_level", 0.0, "`saturation_level` must be in"),
        ("label_counts", (30,), "must not exceed the 25 Gaussians"),
    ],
)
def test_config_rejects_bad_values(field, value, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(disc.Config(), **{field: value})


def test_run_rejects_a_non_config(key):
    with pytest.raises(TypeError, match="`config` must be a Config"):
        disc.run({"depths": (3,)}, key)


def test_quick_is_smaller_than_the_paper():
    quick, paper = disc.Config.quick(), disc.Config()
    assert paper.depths == (3, 10) and paper.width == 15 and paper.sweep_width == 50
    assert paper.per_axis**paper.dim == 25 and paper.n_groups == 5
    assert quick.n_per_gaussian < paper.n_per_gaussian and quick.n_shifts < paper.n_shifts
    shifts = paper.shifts
    assert shifts[0] == 0.0 and shifts[-1] == pytest.approx(np.sqrt(2.0), rel=1e-6)


# --------------------------------------------------------------------------- end to end


@pytest.mark.slow
def test_tiny_run_end_to_end(tmp_path):
    # one run feeds every check (a module fixture would run once per xdist worker)
    result = disc.run(TINY, jax.random.key(3))
    _check_findings(result)
    _check_curves(result)
    _check_schema(json.loads(json.dumps(to_jsonable(result.to_dict()))))
    _check_plot(result, tmp_path)


def _check_findings(tiny_result):
    s = tiny_result.summary
    for depth in TINY.depths:
        # a saturation shift exists, and code distances align with the benchmark before it
        assert s[f"saturation_shift_L{depth}"] is not None
        assert s[f"spearman_code_wasserstein_vs_data_frechet_L{depth}"] > 0.5
        assert s[f"spearman_code_hamming_vs_euclidean_L{depth}"] > 0.5
        assert s[f"n_cells_L{depth}"] > 1
        # the chain d_H <= d_T <= crossings and facet-aware <= d_H on every probe point
        cells = tiny_result.nets[tiny_result.depth_nets[depth]].cells
        ok = cells["tessellation"] >= 0
        assert ok.all()
        assert (cells["facet_aware"] <= cells["hamming"]).all()
        assert (cells["hamming"] <= cells["tessellation"]).all()
        assert (cells["tessellation"] <= cells["crossings"]).all()
        assert 0.0 < s[f"mean_dH_over_dT_L{depth}"] <= 1.0
    assert s["sinkhorn_all_converged"] is True
    assert s["sinkhorn_runs"] > 0
    # the deeper net cuts the square into more cells (Montufar et al., the paper's sec. 3.1)
    assert s["n_cells_L5"] > s["n_cells_L2"]


def _check_curves(tiny_result):
    from hamgeo import pairwise_hamming
    from hamgeo.nets import activation_codes

    net = tiny_result.nets[tiny_result.depth_nets[2]]
    model, variables = tiny_result.data["trained"][tiny_result.depth_nets[2]]
    probe = tiny_result.data["probes"][1][:, 0, :]  # single points [T, 2]
    codes = activation_codes(model, variables, probe)
    want = np.asarray(pairwise_hamming(codes[:1], codes))[0]
    np.testing.assert_array_equal(net.curves[1]["code_hamming"], want)
    np.testing.assert_array_equal(net.cells["hamming"], want)
    # the facet-aware distance is regions.facet_hamming, computed per distinct cell
    from hamgeo.regions import facet_hamming

    pts = np.asarray(probe, dtype=np.float64)
    some = np.array([1, 4, 8])
    want_f = facet_hamming(model, variables, np.repeat(pts[:1], 3, axis=0), pts[some])
    np.testing.assert_array_equal(net.cells["facet_aware"][some], want_f)
    # W1 of two point masses is their Hamming distance; data distances are the shift itself
    np.testing.assert_array_equal(net.curves[1]["code_wasserstein"], want)
    for m in (1, 6):
        np.testing.assert_allclose(net.curves[m]["data_euclidean"], tiny_result.shifts, atol=1e-5)
        np.testing.assert_allclose(net.curves[m]["data_frechet"], tiny_result.shifts, atol=2e-3)


def _check_schema(tiny_dict):
    assert set(tiny_dict) >= {"experiment", "config", "shifts", "sweeps", "nets", "summary"}
    assert tiny_dict["config"]["depths"] == [2, 5]
    n_t = TINY.n_shifts
    assert len(tiny_dict["shifts"]) == n_t
    s = tiny_dict["summary"]
    for depth in TINY.depths:
        for key in (
            "saturation_shift",
            "spearman_code_wasserstein_vs_data_frechet",
            "spearman_code_mmd_vs_data_frechet",
            "spearman_code_hamming_vs_euclidean",
            "n_cells",
            "mean_dH_over_dT",
            "frac_dH_lt_dT",
        ):
            assert f"{key}_L{depth}" in s
    assert isinstance(s["sinkhorn_all_converged"], bool)
    for m in TINY.sample_sizes:
        assert f"saturation_shift_m{m}" in s
    for g in TINY.label_counts:
        assert f"saturation_shift_g{g}" in s
    for net in tiny_dict["nets"].values():
        for per_m in (net["curves"], net["normalized"]):
            for curves in per_m.values():
                assert set(curves) == set(disc.DISTANCES)
                assert all(len(v) == n_t for v in curves.values())
        for curves in net["normalized"].values():
            for v in curves.values():
                assert min(v) == 0.0 and max(v) <= 1.0
    depth_net = tiny_dict["nets"][tiny_dict["sweeps"]["depth"]["L2"]]
    assert set(depth_net["cells"]) == {"hamming", "tessellation", "crossings", "facet_aware"}
    assert set(depth_net["curves"]) == {"1", "6"}


@pytest.mark.slow
def test_same_seed_same_results():
    micro = dataclasses.replace(
        TINY,
        depths=(2,),
        sample_sizes=(4,),
        label_counts=(5,),
        depth_sample_size=4,
        label_sample_size=4,
        n_shifts=6,
        epochs=3,
    )
    first, second = (
        json.dumps(to_jsonable(disc.run(micro, jax.random.key(7)).to_dict())) for _ in range(2)
    )
    assert first == second


def _check_plot(tiny_result, tmp_path):
    paths = disc.plot(tiny_result, tmp_path)
    names = sorted(p.split("/")[-1] for p in paths)
    assert names == sorted(
        f"discriminability_{n}.png"
        for n in ("setup", "depth", "sample_size", "labels", "tessellation", "fig1_effect")
    )
    for p in paths:
        with open(p, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(TypeError, match="`result` must be a discriminability Result"):
        disc.plot({}, tmp_path)
