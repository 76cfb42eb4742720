"""Tests for hamgeo._io: atomic writes, the overwrite rule, safe JSON, folder locks, progress."""

import json
import os
import stat
import subprocess
import sys
import textwrap

import pytest

from hamgeo import _io
from hamgeo._io import (
    LOCK_NAME,
    CorruptFileError,
    LockedError,
    atomic_path,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    folder_lock,
    progress,
    read_json,
)


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


# ----------------------------------------------------------------------- the overwrite rule


@pytest.mark.parametrize(
    "write",
    [
        lambda p, ow: atomic_write_bytes(p, b"new", overwrite=ow),
        lambda p, ow: atomic_write_text(p, "new", overwrite=ow),
        lambda p, ow: atomic_write_json(p, {"new": 1}, overwrite=ow),
    ],
)
def test_existing_files_are_kept_unless_overwrite(tmp_path, write):
    target = tmp_path / "user.dat"
    target.write_bytes(b"the user's data")
    with pytest.raises(FileExistsError, match=r"user\.dat.*pass overwrite=True"):
        write(target, False)
    assert target.read_bytes() == b"the user's data"
    assert _names(tmp_path) == ["user.dat"]  # no temporary file left
    write(target, True)
    assert target.read_bytes() != b"the user's data"
    fresh = tmp_path / "sub" / "fresh.dat"  # parents are made
    write(fresh, False)
    assert fresh.exists()


def test_overwrite_is_required_and_a_bool(tmp_path):
    with pytest.raises(TypeError):
        atomic_write_text(tmp_path / "x", "a")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="`overwrite` must be a bool, got 1"):
        atomic_write_text(tmp_path / "x", "a", overwrite=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="`path` must be a path"):
        atomic_write_text(3, "a", overwrite=True)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="`data` must be bytes"):
        atomic_write_bytes(tmp_path / "x", "text", overwrite=True)  # type: ignore[arg-type]
    assert _names(tmp_path) == []


def test_a_file_appearing_during_the_write_is_not_replaced(tmp_path):
    target = tmp_path / "race.txt"
    with pytest.raises(FileExistsError, match="pass overwrite=True"):
        with atomic_path(target, overwrite=False) as tmp:
            tmp.write_text("mine")
            target.write_text("someone else's")  # arrives between the check and the rename
    assert target.read_text() == "someone else's"
    assert _names(tmp_path) == ["race.txt"]


def test_failure_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "r.json"
    atomic_write_json(target, {"v": 1}, overwrite=False)
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_path(target, overwrite=True) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert read_json(target) == {"v": 1}
    assert _names(tmp_path) == ["r.json"]
    with pytest.raises(ValueError):  # NaN is not JSON: refused before any file is made
        atomic_write_json(tmp_path / "nan.json", {"x": float("nan")}, overwrite=True)
    assert _names(tmp_path) == ["r.json"]


def test_a_folder_is_not_a_file(tmp_path):
    with pytest.raises(IsADirectoryError):
        atomic_write_text(tmp_path, "x", overwrite=True)


def test_writing_through_a_symlink_writes_its_target(tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    with pytest.raises(FileExistsError, match="link.txt.*a link to.*real.txt"):
        atomic_write_text(link, "new", overwrite=False)
    atomic_write_text(link, "new", overwrite=True)
    assert link.is_symlink() and real.read_text() == "new"
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "later.txt")
    atomic_write_text(dangling, "made", overwrite=False)
    assert dangling.is_symlink() and (tmp_path / "later.txt").read_text() == "made"


def test_permissions_follow_the_umask_or_the_replaced_file(tmp_path):
    new = atomic_write_text(tmp_path / "new.txt", "x", overwrite=False)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(new.stat().st_mode) == 0o666 & ~umask
    old = tmp_path / "old.txt"
    old.write_text("x")
    old.chmod(0o640)
    atomic_write_text(old, "y", overwrite=True)
    assert stat.S_IMODE(old.stat().st_mode) == 0o640


# ----------------------------------------------------------------------------- read_json


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"[" * 200_000, "nested too deeply"),
        (b'{"a": ' + b"[" * 100 + b"]" * 100 + b"}", "nested deeper than 64"),
        (b"[1, 2]", "expected a JSON object, got a JSON list"),
        (b'"text"', "expected a JSON object, got a JSON str"),
        (b'{"a": NaN}', "NaN"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"", "not JSON"),
    ],
)
def test_read_json_refuses_corrupt_files(tmp_path, content, reason):
    path = tmp_path / "cache.json"
    path.write_bytes(content)
    with pytest.raises(CorruptFileError, match=reason) as info:
        read_json(path)
    assert isinstance(info.value, ValueError) and info.value.path == path
    assert "cache.json" in str(info.value)


def test_read_json_reads_objects_and_bounds_size(tmp_path):
    path = tmp_path / "ok.json"
    payload = {"a": [1, 2.5, None, True], "b": {"c": "d"}}
    path.write_text(json.dumps(payload))
    assert read_json(path) == payload
    with pytest.raises(CorruptFileError, match="larger than 10 bytes"):
        read_json(path, max_bytes=10)
    with pytest.raises(FileNotFoundError):
        read_json(tmp_path / "missing.json")


# --------------------------------------------------------------------------- folder_lock


# _io is a leaf: the holder loads the file alone (no jax import, so the test stays fast)
_HOLD = textwrap.dedent(
    """
    import importlib.util, sys, time
    spec = importlib.util.spec_from_file_location("_io", sys.argv[2])
    io = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(io)
    with io.folder_lock(sys.argv[1]):
        print("held", flush=True)
        time.sleep(30)
    """
)


def test_folder_lock_refuses_a_second_holder_and_frees_on_death(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(tmp_path), _io.__file__],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LockedError, match=rf"pid {holder.pid}\).*wait for it") as info:
            with folder_lock(tmp_path):
                pass
        assert isinstance(info.value, RuntimeError) and info.value.folder == tmp_path
        with pytest.raises(LockedError):
            with folder_lock(tmp_path, timeout=0.3):
                pass
    finally:
        holder.kill()
        holder.wait()
    assert (tmp_path / LOCK_NAME).exists()  # a killed holder leaves its file ...
    with folder_lock(tmp_path) as held:  # ... but not its lock
        assert held == tmp_path and (tmp_path / LOCK_NAME).exists()
        with pytest.raises(LockedError):  # held per open file: a second open in-process waits
            with folder_lock(tmp_path):
                pass
    assert not (tmp_path / LOCK_NAME).exists()  # released and removed
    with folder_lock(tmp_path):  # and it can be taken again
        pass


def test_folder_lock_checks_its_arguments(tmp_path):
    with pytest.raises(ValueError, match="`timeout`"):
        with folder_lock(tmp_path, timeout=-1):
            pass
    with pytest.raises(TypeError, match="`folder` must be a path"):
        with folder_lock(None):  # type: ignore[arg-type]
            pass


# ------------------------------------------------------------------------------ progress


def test_progress_is_silent_off_a_terminal(capsys):
    assert list(progress(range(4), desc="x")) == [0, 1, 2, 3]  # stderr is captured: no bar
    with progress(total=3, enabled=False, unit="B") as bar:
        bar.update(2)
        bar.set_postfix(loss=0.5)
    assert capsys.readouterr().err == ""
