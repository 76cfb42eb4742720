"""The command line: options checked before any work, locked and atomic output folders.

A tiny experiment module (written into a temporary folder and put into the registry)
stands in for the real reproductions, so these tests time the CLI, not the science; the
real experiments go through ``main`` in ``test_experiments_protocol.py``.
"""

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

from hamgeo import cli
from hamgeo._io import folder_lock

TINY = textwrap.dedent(
    """
    import dataclasses, time
    from pathlib import Path
    from typing import Literal

    import jax

    from hamgeo._checks import check_positive_int
    from hamgeo.experiments._common import figure_style, save_figure
    from hamgeo.experiments.protocol import seed_keys, summarize_seeds

    NAME = "tiny"
    CALLS = []


    @dataclasses.dataclass(frozen=True)
    class Train:
        epochs: int = 3
        learning_rate: float = 0.1
        widths: tuple[int, ...] = (4,)
        norm: Literal["none", "batch"] = "none"

        def __post_init__(self):
            check_positive_int(self.epochs, "train.epochs")


    @dataclasses.dataclass(frozen=True)
    class Config:
        n_seeds: int = 2
        sleep: float = 0.0
        fail: bool = False
        data: str = "digits"
        data_root: str | None = None
        download: bool = True
        raise_in_run: str = ""
        train: Train = Train()

        def __post_init__(self):
            check_positive_int(self.n_seeds, "n_seeds")
            if self.data not in ("digits", "mnist"):
                raise ValueError(f"`data` must be 'digits' or 'mnist', got {self.data!r}")

        @classmethod
        def quick(cls):
            return cls()


    @dataclasses.dataclass
    class Result:
        config: Config
        per_seed: list

        @property
        def summary(self):
            return summarize_seeds(self.per_seed)

        def to_dict(self):
            return {"experiment": NAME, "config": dataclasses.asdict(self.config),
                    "summary": self.summary}


    def run(config, key):
        CALLS.append(config)
        time.sleep(config.sleep)
        if config.raise_in_run == "missing":
            raise FileNotFoundError("no MNIST files in EMPTY/mnist; run without --no-download")
        if config.raise_in_run == "checksum":
            from hamgeo.data import ChecksumError
            raise ChecksumError("train-images-idx3-ubyte.gz: SHA-256 mismatch")
        if config.raise_in_run == "interrupt":
            raise KeyboardInterrupt
        if config.fail:
            raise RuntimeError("tiny failed on purpose")
        per_seed = [{"u": float(jax.random.uniform(k))} for k in seed_keys(key, config.n_seeds)]
        return Result(config, per_seed)


    def plot(result, out_dir):
        with figure_style() as plt:
            fig, ax = plt.subplots()
            ax.plot([0, 1], [0, 1])
            return [save_figure(fig, out_dir, "tiny")]
    """
)


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """Register the tiny experiment as ``tiny`` (and only it)."""
    folder = tmp_path / "mods"
    folder.mkdir()
    (folder / "hamgeo_tiny_experiment.py").write_text(TINY)
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setattr(cli, "REGISTRY", {"tiny": "hamgeo_tiny_experiment"})
    import hamgeo_tiny_experiment

    hamgeo_tiny_experiment.CALLS.clear()
    yield hamgeo_tiny_experiment
    sys.modules.pop("hamgeo_tiny_experiment", None)


def _run(tmp_path, *extra):
    return cli.main(["reproduce", "tiny", "--out", str(tmp_path / "out"), *extra])


def test_success_writes_complete_results_last(tiny, tmp_path, capsys):
    assert _run(tmp_path, "--seeds", "3", "--seed", "7") == 0
    folder = tmp_path / "out" / "tiny"
    payload = json.loads((folder / "results.json").read_text())
    assert payload["status"] == "complete"
    assert payload["experiment"] == "tiny"
    assert payload["run"]["seed"] == 7 and payload["run"]["n_seeds"] == 3
    assert payload["config"]["n_seeds"] == 3
    u = payload["summary"]["u"]
    assert u["n"] == 3 and u["low"] <= u["mean"] <= u["high"]
    assert sorted(p.name for p in folder.iterdir()) == ["results.json", "tiny.png"]
    assert "[" in capsys.readouterr().out  # the interval is printed
    assert payload["overrides"] == {}


@pytest.mark.parametrize("seed", ["-1", str(2**32), "9223372036854775808"])
def test_seed_outside_uint32_is_refused_before_work(tiny, tmp_path, capsys, seed):
    assert _run(tmp_path, "--seed", seed) == 2
    assert "--seed" in capsys.readouterr().err
    assert tiny.CALLS == []
    assert not (tmp_path / "out" / "tiny" / "results.json").exists()


def test_seed_must_be_an_integer(tiny, tmp_path):
    with pytest.raises(SystemExit) as info:
        _run(tmp_path, "--seed", "1.5")
    assert info.value.code == 2


@pytest.mark.parametrize("seeds", ["0", "-2", "100000"])
def test_bad_seeds_refused(tiny, tmp_path, capsys, seeds):
    assert _run(tmp_path, "--seeds", seeds) == 2
    assert "--seeds" in capsys.readouterr().err
    assert tiny.CALLS == []


def test_out_that_is_a_file_is_refused_before_work(tiny, tmp_path, capsys):
    target = tmp_path / "out"
    target.write_text("mine")
    assert _run(tmp_path) == 2
    assert "--out" in capsys.readouterr().err
    assert target.read_text() == "mine"
    assert tiny.CALLS == []


def test_out_below_a_file_is_refused_before_work(tiny, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    code = cli.main(["reproduce", "tiny", "--out", str(tmp_path / "file" / "sub")])
    assert code == 2
    assert "--out" in capsys.readouterr().err
    assert tiny.CALLS == []


def test_bad_config_value_refused_before_work(tiny, tmp_path, capsys):
    assert _run(tmp_path, "--data", "cifar10") == 2
    assert "data" in capsys.readouterr().err
    assert tiny.CALLS == []


def test_data_option_reaches_the_config(tiny, tmp_path):
    data_dir = tmp_path / "cache"
    assert _run(tmp_path, "--data", "mnist", "--data-dir", str(data_dir), "--no-download") == 0
    config = tiny.CALLS[-1]
    assert (config.data, config.data_root, config.download) == ("mnist", str(data_dir), False)


def test_finished_run_is_kept_without_force(tiny, tmp_path, capsys):
    assert _run(tmp_path) == 0
    results = tmp_path / "out" / "tiny" / "results.json"
    before = results.read_bytes()
    assert _run(tmp_path) == 2
    assert "--force" in capsys.readouterr().err
    assert results.read_bytes() == before
    assert len(tiny.CALLS) == 1
    assert _run(tmp_path, "--force", "--seed", "1") == 0
    assert results.read_bytes() != before
    kept = list(results.parent.glob("results.complete-*.json"))
    assert len(kept) == 1 and kept[0].read_bytes() == before


def test_truncated_results_are_not_a_finished_run(tiny, tmp_path):
    folder = tmp_path / "out" / "tiny"
    folder.mkdir(parents=True)
    (folder / "results.json").write_text('{"experiment": "tiny", "summ')
    assert _run(tmp_path) == 0
    assert json.loads((folder / "results.json").read_text())["status"] == "complete"
    assert len(list(folder.glob("results.incomplete-*.json"))) == 1


def test_failed_run_leaves_no_results(tiny, tmp_path, monkeypatch):
    monkeypatch.setattr(tiny.Config, "quick", classmethod(lambda cls: cls(fail=True)))
    with pytest.raises(RuntimeError, match="on purpose"):
        _run(tmp_path, "--quick")
    folder = tmp_path / "out" / "tiny"
    assert not (folder / "results.json").exists()
    assert not (folder / ".hamgeo.lock").exists()
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_live_lock_refuses_and_stale_lock_file_is_taken_over(tiny, tmp_path, capsys):
    import socket

    folder = tmp_path / "out" / "tiny"
    with folder_lock(folder):  # a live holder (this process, another open file)
        assert _run(tmp_path) == 2
    err = capsys.readouterr().err
    assert "another hamgeo process" in err and f"pid {os.getpid()}" in err
    assert "Traceback" not in err
    lock = folder / ".hamgeo.lock"
    lock.write_text(f"{socket.gethostname()} 999999")  # left by a killed run: not held
    assert _run(tmp_path) == 0
    assert not lock.exists()


def test_two_processes_into_one_folder(tiny, tmp_path):
    """A second run into the folder of a running one exits 2; the first finishes."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path / "mods"), *sys.path]))
    code = (
        "import sys, dataclasses; from hamgeo import cli; import hamgeo_tiny_experiment as t;"
        "cli.REGISTRY = {'tiny': 'hamgeo_tiny_experiment'};"
        "t.Config.quick = classmethod(lambda cls: cls(sleep=float(sys.argv[1])));"
        "sys.exit(cli.main(['reproduce', 'tiny', '--quick', '--out', sys.argv[2]]))"
    )
    out = str(tmp_path / "out")
    first = subprocess.Popen([sys.executable, "-c", code, "20", out], env=env)
    lock = tmp_path / "out" / "tiny" / ".hamgeo.lock"
    deadline = time.monotonic() + 60
    while not lock.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert lock.exists()
    second = subprocess.run(
        [sys.executable, "-c", code, "0", out], env=env, capture_output=True, text=True
    )
    assert second.returncode == 2, second.stderr
    assert "another hamgeo process" in second.stderr
    assert first.poll() is None  # still running, untouched
    first.kill()
    first.wait()


def test_unknown_experiment_and_info(capsys):
    with pytest.raises(SystemExit):
        cli.main(["reproduce", "no-such-thing"])
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert "hamgeo" in out and "native CPU kernels" in out


@pytest.mark.parametrize("option", ["--mnist", "--cifar10"])
def test_old_data_options_say_what_replaced_them(tiny, tmp_path, capsys, option):
    assert _run(tmp_path, option, str(tmp_path)) == 2
    assert "--data-dir" in capsys.readouterr().err
    assert tiny.CALLS == []


# ------------------------------------------------------------------ the field's conventions


def _cli(*args, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "hamgeo.cli", *args], capture_output=True, text=True, timeout=timeout
    )


def test_help_and_version_are_fast_and_import_no_jax():
    code = (
        "import sys, time; t = time.perf_counter(); from hamgeo import cli\n"
        "for argv in (['--help'], ['--version'], ['reproduce', '--help']):\n"
        "    try: cli.main(argv)\n"
        "    except SystemExit: pass\n"
        "print('JAX' if 'jax' in sys.modules else 'nojax', time.perf_counter() - t)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    verdict, seconds = out.stdout.split()[-2:]
    assert verdict == "nojax"
    assert float(seconds) < 5.0  # generous for a loaded CI machine; ~0.1 s quiet (imports only)
    assert f"hamgeo {cli.__version__}" in out.stdout
    for name in cli.REGISTRY:  # reproduce --help: each study, a line, its times
        assert name in out.stdout
    assert "quick" in out.stdout and "default" in out.stdout


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--seed", "1", "--seed", "2"], "--seed is given twice"),
        (["--quick", "--quick"], "--quick is given twice"),
        (["--out", "a", "--out", "b"], "--out is given twice"),
    ],
)
def test_options_given_twice_are_refused(tiny, tmp_path, capsys, argv, needle):
    with pytest.raises(SystemExit) as info:
        _run(tmp_path, *argv)
    assert info.value.code == 2
    assert needle in capsys.readouterr().err
    assert tiny.CALLS == []


@pytest.mark.parametrize("argv", [["--no-download"], ["--data-dir", "somewhere"]])
def test_data_options_without_data_are_refused(tiny, tmp_path, capsys, argv):
    assert _run(tmp_path, *argv) == 2
    assert "add --data" in capsys.readouterr().err
    assert tiny.CALLS == []


def test_set_is_typed_validated_and_recorded(tiny, tmp_path, capsys):
    argv = ["--set", "n_seeds=3", "--set", "train.widths=[5, 7]", "--set", "train.learning_rate=1"]
    assert _run(tmp_path, *argv, "--set", "train.norm=batch", "--set", "data_root=none") == 0
    config = tiny.CALLS[-1]
    assert config.n_seeds == 3 and config.train.widths == (5, 7)
    assert config.train.learning_rate == 1.0 and isinstance(config.train.learning_rate, float)
    assert config.train.norm == "batch" and config.data_root is None
    out = capsys.readouterr().out
    assert "default sizes with 5 override(s): data_root, n_seeds, train.learning_rate" in out
    payload = json.loads((tmp_path / "out" / "tiny" / "results.json").read_text())
    assert payload["overrides"] == {
        "n_seeds": 3,
        "train.widths": [5, 7],
        "train.learning_rate": 1.0,
        "train.norm": "batch",
        "data_root": None,
    }


@pytest.mark.parametrize(
    ("setting", "needle"),
    [
        ("n_seeds=2.5", "--set n_seeds must be int, got 2.5"),
        ("train.epochs=0", "--set train.epochs: `train.epochs` must be an integer >= 1"),
        ("train.norm=layer", "must be one of 'none', 'batch'"),
        ("train.widths=[1, 'a']", r"train.widths[1] must be int"),
        ("nope=1", "no such setting 'nope'; known: n_seeds, sleep"),
        ("train=1", "'train' is a section"),
        ("n_seeds.x=1", "'n_seeds' is a value, not a section"),
        ("n_seeds", "--set expects KEY=VALUE"),
        ("fail=yes", "--set fail must be bool, got 'yes'"),
    ],
)
def test_bad_set_is_refused_before_work(tiny, tmp_path, capsys, setting, needle):
    assert _run(tmp_path, "--set", setting) == 2
    err = capsys.readouterr().err
    assert needle in err, err
    assert tiny.CALLS == []


def test_set_same_key_twice_is_refused(tiny, tmp_path, capsys):
    assert _run(tmp_path, "--set", "n_seeds=3", "--set", "n_seeds=4") == 2
    assert "--set n_seeds is given twice" in capsys.readouterr().err


def test_config_file_nested_and_per_study(tiny, tmp_path, capsys):
    toml = tmp_path / "c.toml"
    toml.write_text(
        "n_seeds = 3\n[train]\nepochs = 5\nwidths = [2, 3]\n"
        "[tiny]\nsleep = 0.01\n[hash-encoder]\nwhatever = 1\n"
    )
    assert _run(tmp_path, "--config", str(toml), "--set", "train.epochs=6") == 0
    config = tiny.CALLS[-1]
    assert (config.n_seeds, config.train.epochs, config.train.widths) == (3, 6, (2, 3))
    assert config.sleep == 0.01
    payload = json.loads((tmp_path / "out" / "tiny" / "results.json").read_text())
    assert payload["overrides"]["train.epochs"] == 6 and payload["overrides"]["sleep"] == 0.01
    (tmp_path / "bad.toml").write_text("n_seeds = [")
    assert _run(tmp_path, "--config", str(tmp_path / "bad.toml"), "--force") == 2
    assert "is not valid TOML" in capsys.readouterr().err
    assert _run(tmp_path, "--config", str(tmp_path / "missing.toml"), "--force") == 2
    assert "--config: no such file" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["missing", "checksum"])
def test_missing_or_bad_data_after_running_is_a_message_not_a_traceback(
    tiny, tmp_path, capsys, kind
):
    assert _run(tmp_path, "--set", f"raise_in_run={kind}") == 2
    err = capsys.readouterr().err
    assert err.startswith("hamgeo: error: [tiny] ") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "tiny" / "results.json").exists()


def test_ctrl_c_exits_130_with_one_line(tiny, tmp_path, capsys):
    assert _run(tmp_path, "--set", "raise_in_run=interrupt") == 130
    err = capsys.readouterr().err
    assert err.strip() == "hamgeo: interrupted"
    folder = tmp_path / "out" / "tiny"
    assert not (folder / "results.json").exists() and not (folder / ".hamgeo.lock").exists()


def test_bench_runs_from_anywhere_and_keeps_an_existing_json(tmp_path, monkeypatch, capsys):
    # the suites ship in the package: no checkout needed (the working directory is empty)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "mmd.json"
    assert cli.main(["bench", "--suite", "mmd", "--quick", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    impls = {row["impl"] for row in doc["rows"]}
    assert impls == {"hamgeo[K0@S]", "numpy loop"}  # hamgeo and its peer, same run
    assert doc["meta"]["cpu"]["cores"] >= 1 and doc["meta"]["quick"] is True
    assert "vs numpy loop" in capsys.readouterr().out  # the ratio is printed
    before = out.read_bytes()
    assert cli.main(["bench", "--suite", "mmd", "--quick", "--json", str(out)]) == 2
    assert "--force" in capsys.readouterr().err and out.read_bytes() == before
    assert cli.main(["bench", "--suite", "no-such-suite"]) == 2
    assert "invalid choice: 'no-such-suite'" in capsys.readouterr().err


# --- held-out audit (issue 23) --------------------------------------------------------------


def test_refused_set_creates_no_out_folder(tiny, tmp_path, capsys):
    # held-out audit (issue 23): --out NEWDIR was made before --set was rejected
    target = tmp_path / "new" / "dir"
    code = cli.main(["reproduce", "tiny", "--out", str(target), "--set", "bad=1"])
    assert code == 2
    assert "bad" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()
    assert tiny.CALLS == []


@pytest.mark.parametrize(
    "setting", ["n_seeds=99999999999999999999", "n_seeds=1001", "cells.grid_resolution=1"]
)
def test_discriminability_settings_beyond_their_range_are_refused(tmp_path, capsys, setting):
    # held-out audit (issue 23): --set n_seeds had no cap while --seeds stops at 1000;
    # cells.grid_resolution=1 passed the config and failed in slice_partition
    target = tmp_path / "out"
    argv = ["reproduce", "discriminability", "--quick", "--set", setting, "--out", str(target)]
    assert cli.main(argv) == 2
    key = setting.split("=")[0].split(".")[-1]
    assert f"`{key}` must be an integer" in capsys.readouterr().err
    assert not target.exists()


@pytest.mark.parametrize("name", ["discriminability", "bnn-geometry", "hash-encoder"])
def test_every_study_caps_n_seeds_like_seeds(name):
    # held-out audit (issue 23): one limit, shared by --seeds and every Config.n_seeds
    import dataclasses
    import importlib

    from hamgeo.experiments import MAX_SEEDS, REGISTRY

    config = importlib.import_module(REGISTRY[name]).Config.quick()
    assert dataclasses.replace(config, n_seeds=MAX_SEEDS).n_seeds == MAX_SEEDS
    with pytest.raises(ValueError, match=rf"`n_seeds` must be an integer in \[1, {MAX_SEEDS}\]"):
        dataclasses.replace(config, n_seeds=MAX_SEEDS + 1)
