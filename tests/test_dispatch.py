"""The measured dispatch of ``method="auto"`` (hamgeo/hamming/_dispatch.py) and its candidates."""

import json
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hamgeo.codes import pack_bits
from hamgeo.hamming import _api, _dispatch, _native, hamming_knn, pairwise_hamming


def _pairwise_compute(path, xw, yw, *, out_dtype, **statics):
    """Distances on one ``path`` everywhere (the jitted entry point, no dispatch)."""
    dtype = np.dtype(out_dtype)
    return _api._pairwise_jit(xw, yw, paths=_api._uniform(path), out_dtype=dtype, **statics)


def _knn_compute(path, qw, bw, offset, **statics):
    return _api._knn_jit(qw, bw, offset, paths=_api._uniform(path), **statics)


def ref_pairwise(x, y):
    return (x[:, None, :] != y[None, :, :]).sum(-1)


def ref_knn(d, k, exclude_self=False):
    d = d.astype(np.int64)
    if exclude_self:
        np.fill_diagonal(d, np.iinfo(np.int64).max)
    order = np.lexsort((np.broadcast_to(np.arange(d.shape[1]), d.shape), d), axis=1)[:, :k]
    return np.take_along_axis(d, order, 1), order


@settings(max_examples=12)
@given(
    n=st.sampled_from([1, 17, 29]),
    m=st.sampled_from([2, 13, 29]),
    n_bits=st.sampled_from([1, 31, 33, 65, 300]),
    p=st.sampled_from([0.1, 0.5]),
    seed=st.integers(0, 2**31 - 1),
)
def test_every_candidate_agrees_exactly(n, m, n_bits, p, seed):
    """All candidates are exact, so the dispatcher's choice never changes a result."""
    rng = np.random.default_rng(seed)
    x, y = rng.random((n, n_bits)) < p, rng.random((m, n_bits)) < p
    xw, yw = pack_bits(x).words, pack_bits(y).words
    ref = ref_pairwise(x, y)
    truncate = max(1, n_bits // 3)
    k = min(3, m)
    rd, ri = ref_knn(ref, k)
    paths = _dispatch.candidates("pairwise", n_bits)
    assert set(paths) >= {"xla", "int8", "bf16"} and paths[0] == _dispatch.static_choice()
    for path in paths:
        kw = dict(n_bits=n_bits, block_size=None)
        got = _pairwise_compute(path, xw, yw, truncate=None, out_dtype=jnp.int32, **kw)
        np.testing.assert_array_equal(np.asarray(got), ref, err_msg=path)
        got = _pairwise_compute(path, xw, yw, truncate=truncate, out_dtype=jnp.uint16, **kw)
        np.testing.assert_array_equal(np.asarray(got), np.minimum(ref, truncate), err_msg=path)
        d, i = _knn_compute(path, xw, yw, 0, k=k, exclude_self=False, **kw)
        np.testing.assert_array_equal(np.asarray(d), rd, err_msg=path)
        np.testing.assert_array_equal(np.asarray(i), ri, err_msg=path)


# ----------------------------------------------------------------------------- measuring


@pytest.fixture
def measured(tmp_path, monkeypatch):
    """Measuring on, a fresh cache directory, small probes (every class counts as big)."""
    monkeypatch.setenv("HAMGEO_DISPATCH", "measure")
    monkeypatch.setenv("HAMGEO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(_dispatch, "_TINY_BIT_PAIRS", 2**10)
    monkeypatch.setattr(_dispatch, "_PROBE_ROWS", (48, 64))
    monkeypatch.setattr(_dispatch, "_tables", {})
    return tmp_path / "cache" / "dispatch.json"


def no_timing(*args, **kwargs):
    raise AssertionError("timed a probe where it must not")


def test_measure_once_and_cache_round_trip(measured, monkeypatch, rng):
    x = rng.random((40, 100)) < 0.5
    want = ref_pairwise(x, x)
    np.testing.assert_array_equal(np.asarray(pairwise_hamming(x, x)), want)
    doc = json.loads(measured.read_text())
    assert doc["format"] == 2
    entry = doc["entries"][_dispatch.device_key()]["pairwise/b<=256/small"]
    assert entry["choice"] in _dispatch.candidates("pairwise", 100)
    assert set(entry["seconds"]) <= set(_dispatch.candidates("pairwise", 100))
    assert entry["probe"] == [40, 40, 100]
    # the same class again: answered from memory, then (memory cleared) from the file
    monkeypatch.setattr(_dispatch, "_time_candidates", no_timing)
    np.testing.assert_array_equal(np.asarray(pairwise_hamming(x[:35], x)), want[:35])
    monkeypatch.setattr(_dispatch, "_tables", {})
    assert _dispatch.choose("pairwise", 40, 40, 100) == entry["choice"]
    assert any("pairwise/b<=256/small" in line for line in _dispatch.info_lines())
    # writes keep other devices' entries; the file never holds a partial document
    doc["entries"]["gpu: another"] = {"knn/b<=64/small": {"choice": "int8"}}
    measured.write_text(json.dumps(doc))
    monkeypatch.setattr(_dispatch, "_time_candidates", lambda *a: {"xla": [1.0]})
    _dispatch.choose("knn", 40, 40, 100)
    doc = json.loads(measured.read_text())
    assert "gpu: another" in doc["entries"]
    assert doc["entries"][_dispatch.device_key()]["knn/b<=256/small"]["choice"] == "xla"
    assert [p.name for p in measured.parent.iterdir()] == ["dispatch.json"]


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[]",
        '{"format": 99}',
        '{"format": 2, "entries": 3}',
        "[" * 100_000 + "]" * 100_000,  # deeply nested: never a RecursionError
        '{"format": 2, "entries": ' + "[" * 5000 + "]" * 5000 + "}",
        "\xff\xfe binary",
    ],
)
def test_corrupt_cache_is_ignored_and_rewritten(measured, monkeypatch, content):
    measured.parent.mkdir(parents=True)
    measured.write_text(content, encoding="latin-1")
    monkeypatch.setattr(_dispatch, "_warned_files", set())
    with pytest.warns(RuntimeWarning, match="ignoring the dispatch cache .*dispatch.json") as rec:
        _dispatch.table()
    assert len(rec) == 1
    monkeypatch.setattr(_dispatch, "_tables", {})
    monkeypatch.setattr(
        _dispatch, "_time_candidates", lambda *a: {"xla": [2.0] * 4, "int8": [1.0] * 4}
    )
    assert _dispatch.choose("pairwise", 40, 40, 70) == "int8"
    doc = json.loads(measured.read_text())
    assert doc["entries"][_dispatch.device_key()]["pairwise/b<=256/small"]["choice"] == "int8"
    # an entry that names a path this machine cannot run is measured again
    doc["entries"][_dispatch.device_key()]["pairwise/b<=256/small"]["choice"] = "tpu-magic"
    measured.write_text(json.dumps(doc))
    monkeypatch.setattr(_dispatch, "_tables", {})
    assert _dispatch.choose("pairwise", 40, 40, 70) == "int8"


def test_static_mode_never_times(measured, monkeypatch, rng):
    monkeypatch.setenv("HAMGEO_DISPATCH", "static")
    monkeypatch.setattr(_dispatch, "_time_candidates", no_timing)
    x = rng.random((40, 100)) < 0.5
    np.testing.assert_array_equal(np.asarray(pairwise_hamming(x, x)), ref_pairwise(x, x))
    d, i = hamming_knn(x, x, 2, exclude_self=True)
    np.testing.assert_array_equal(np.asarray(i), ref_knn(ref_pairwise(x, x), 2, True)[1])
    assert not measured.exists()
    assert _dispatch.choose("knn", 10**5, 10**5, 1024) == _dispatch.static_choice()
    assert any("static rule" in line for line in _dispatch.info_lines())


def test_bad_mode_warns_once_and_measures(monkeypatch):
    monkeypatch.setenv("HAMGEO_DISPATCH", "fastest")
    monkeypatch.setattr(_native, "_warned_env", set())
    with pytest.warns(RuntimeWarning, match="HAMGEO_DISPATCH='fastest'.*'static', 'measure'"):
        assert _dispatch.mode() == "measure"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _dispatch.mode() == "measure"  # once per process
        assert any(line.startswith("dispatch: measured") for line in _dispatch.info_lines())


def test_choice_under_jit_uses_cache_or_static_rule(measured, monkeypatch, rng):
    monkeypatch.setattr(_dispatch, "_time_candidates", no_timing)
    x = rng.random((40, 100)) < 0.5
    xs = pack_bits(x)
    f = jax.jit(lambda a: pairwise_hamming(a, a, truncate=30))
    np.testing.assert_array_equal(np.asarray(f(xs)), np.minimum(ref_pairwise(x, x), 30))
    assert _dispatch.choose("truncated", 40, 40, 100, traced=True) == _dispatch.static_choice()
    # a cached choice is used under a trace too
    _dispatch.table()["truncated/b<=256/small"] = {"choice": "int8"}
    monkeypatch.setattr(_dispatch, "_chosen", {})  # the table was edited behind choose's back
    assert _dispatch.choose("truncated", 40, 40, 100, traced=True) == "int8"
    g = jax.jit(lambda a: pairwise_hamming(a, a, truncate=30))
    np.testing.assert_array_equal(np.asarray(g(xs)), np.minimum(ref_pairwise(x, x), 30))
    d, i = jax.vmap(lambda a: hamming_knn(a, a, 3))(pack_bits(np.stack([x, x[::-1]])))
    np.testing.assert_array_equal(np.asarray(d[0]), ref_knn(ref_pairwise(x, x), 3)[0])


def test_repeated_choice_is_remembered_until_the_table_changes(measured, monkeypatch):
    timings = {"xla": [2.0] * 4, "int8": [1.0] * 4}
    monkeypatch.setattr(_dispatch, "_time_candidates", lambda *a: dict(timings))
    lookups = []
    device_key = _dispatch.device_key
    monkeypatch.setattr(_dispatch, "device_key", lambda: lookups.append(1) or device_key())
    assert _dispatch.choose("pairwise", 40, 40, 70) == "int8"
    before = len(lookups)
    assert _dispatch.choose("pairwise", 40, 41, 70) == "int8"  # same class: remembered
    assert len(lookups) == before
    monkeypatch.setenv("HAMGEO_DISPATCH", "static")  # a changed environment is seen
    assert _dispatch.choose("pairwise", 40, 40, 70) == _dispatch.static_choice()
    monkeypatch.setenv("HAMGEO_DISPATCH", "measure")
    timings = {"xla": [1.0] * 4, "int8": [2.0] * 4}
    monkeypatch.setattr(_dispatch, "_tables", {})  # a new table is read, not the memo
    measured.unlink()
    assert _dispatch.choose("pairwise", 40, 40, 70) == "xla"


def test_tune_measures_every_operation(measured, monkeypatch):
    monkeypatch.setattr(_dispatch, "_TUNE_BITS", (64,))
    monkeypatch.setattr(_dispatch, "_TUNE_ROWS", (32,))
    table = _dispatch.tune()
    assert sorted(table) == ["knn/b<=64/small", "pairwise/b<=64/small", "truncated/b<=64/small"]
    for entry in table.values():
        fastest = min(entry["seconds"], key=entry["seconds"].get)
        assert entry["choice"] == fastest or entry["rule"] == "static (within spread)"
        assert set(entry["spread"]) == set(entry["seconds"])
    stored = json.loads(measured.read_text())["entries"][_dispatch.device_key()]
    assert sorted(stored) == sorted(table)
    with pytest.raises(ValueError, match="`ops` must be drawn from"):
        _dispatch.tune(("sort",))


def test_size_classes_and_probe_shapes():
    assert _dispatch.size_class(100, 100, 8) is None  # tiny: static rule
    assert _dispatch.size_class(4096, 4096, 64) == "b<=64/large"  # a 64 MiB int32 result
    assert _dispatch.size_class(2048, 4096, 64) == "b<=64/medium"  # 32 MiB: recycled
    assert _dispatch.size_class(1000, 1000, 300) == "b<=1024/medium"
    assert _dispatch.size_class(200, 200, 5000) == "b>1024/small"
    pn, pm = _dispatch._probe_shape(10**6, 10**6, 4096)
    assert pn * pm * 4096 <= _dispatch._PROBE_BIT_PAIRS and pm == 4096
    assert _dispatch._probe_shape(10**6, 10**6, 64) == (4096, 4096)  # short codes: as they run
    assert _dispatch._probe_shape(300, 500, 64) == (300, 500)


def test_info_lines_report_native_and_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("HAMGEO_CACHE", str(tmp_path))
    monkeypatch.setenv("HAMGEO_DISPATCH", "measure")
    monkeypatch.setattr(_dispatch, "_tables", {})
    lines = _dispatch.info_lines()
    assert lines[0].startswith("native kernels:")
    if _native.available():
        assert _native.describe() in lines[0]
    else:
        assert "NOT available" in lines[0]
    assert str(tmp_path / "dispatch.json") in "\n".join(lines)
    assert any(line.startswith("device key:") for line in lines)


def test_auto_reads_no_file_on_repeated_calls(monkeypatch, tmp_path):
    """A call of ``method="auto"`` costs its compute: the CPU description that keys the
    dispatch table is read once per process, not once per call (it was 0.1 ms a call,
    more than the kernel on 256 x 256 codes)."""  # noqa: D205
    import builtins

    monkeypatch.setenv("HAMGEO_DISPATCH", "measure")  # the table keyed by the CPU
    monkeypatch.setenv("HAMGEO_CACHE", str(tmp_path))
    monkeypatch.setattr(_dispatch, "_tables", {})
    x = pack_bits(np.random.default_rng(1).random((301, 200)) < 0.5)  # past the static rule
    np.asarray(pairwise_hamming(x, x, method="auto"))  # first call: reads what it needs
    opened = []
    real_open = builtins.open
    monkeypatch.setattr(
        builtins, "open", lambda f, *a, **k: opened.append(str(f)) or real_open(f, *a, **k)
    )
    for _ in range(3):
        np.asarray(pairwise_hamming(x, x, method="auto"))
    assert opened == []
    assert _dispatch.cpu_info()["flags"] == list(_dispatch._proc_cpuinfo()[1])
