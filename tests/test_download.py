"""Downloads of MNIST / Fashion-MNIST / CIFAR-10 against a loopback HTTP server only.

The server (``http.server`` on 127.0.0.1, an ephemeral port) serves stand-ins written
by ``write_fake`` in the real formats; the pinned checksums are patched to theirs. Every
failure mode must leave no partial or unverified file under a final name.
"""

from __future__ import annotations

import dataclasses
import errno
import gzip
import hashlib
import http.server
import json
import os
import socket
import subprocess
import sys
import tarfile
import textwrap
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from conftest import NetworkAccessBlocked
from hamgeo import data
from hamgeo._io import LOCK_NAME
from hamgeo.data import _fetch, _remote, _sources

MNIST_FILES = list(_remote.REMOTE["mnist"].files)
CIFAR_FILE = "cifar-10-binary.tar.gz"


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.routes[path]``: bytes, or (mode, bytes) for misbehaviour."""

    def do_GET(self):  # noqa: N802 - the http.server API
        server = self.server
        with server.lock:
            server.hits.append(self.path)
        route = server.routes.get(self.path)
        if route is None:
            self.send_error(404)
            return
        mode, body = route if isinstance(route, tuple) else ("ok", route)
        if server.delay:
            time.sleep(server.delay)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if mode == "endless":  # no Content-Length: the body ends when the connection does
            self.end_headers()
            try:
                for _ in range(10_000):  # bounded: 10 000 x body at most
                    self.wfile.write(body)
            except OSError:  # the client hung up: what it should do
                pass
            self.close_connection = True
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if mode == "drip":  # one byte every 0.5 s (bounded: 60 bytes, 30 s)
            try:
                for i in range(min(len(body), 60)):
                    self.wfile.write(body[i : i + 1])
                    self.wfile.flush()
                    time.sleep(0.5)
            except OSError:
                pass
            self.close_connection = True
            return
        if mode == "truncate":  # announce everything, send half, hang up
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    """A loopback HTTP server on an ephemeral port, stopped after the test."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.routes, httpd.hits, httpd.delay, httpd.lock = {}, [], 0.0, threading.Lock()
    httpd.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture(autouse=True)
def _no_proxy_no_env(monkeypatch):
    # A proxy would take loopback requests elsewhere; the user's cache must not be touched.
    for var in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
        monkeypatch.delenv(var.upper(), raising=False)
    monkeypatch.delenv("HAMGEO_DATA_MIRRORS", raising=False)
    monkeypatch.setenv("HAMGEO_DATA", "/nonexistent/hamgeo-test-cache")
    # Never the machine's own copies (dataset-fashion-mnist may be installed).
    monkeypatch.delenv("HAMGEO_DATA_PATH", raising=False)
    monkeypatch.setattr(_sources, "SYSTEM_ROOTS", ())


def _sha(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def _fakes(tmp_path, name, n_train=20, n_test=10):
    """Stand-in files (bytes by file name) and their checksums, written outside the cache."""
    sums = data.write_fake(name, tmp_path / "source", n_train=n_train, n_test=n_test)
    folder = data.cache_dir(name, root=tmp_path / "source")
    return {f: (folder / f).read_bytes() for f in sums}, sums


def _pin(monkeypatch, name, files, mirrors, content=True):
    """Patch the pinned checksums and sizes (and built-in mirrors) to the stand-ins'.

    With ``content``, the decompressed content is pinned too (as for Fashion-MNIST).
    """
    spec = _remote.REMOTE[name]
    pinned = {}
    for f, b in files.items():
        raw = gzip.decompress(b)
        extra = (len(raw), _sha(raw)) if content else ()
        pinned[f] = _remote._File(len(b), _sha(b), *extra)
    monkeypatch.setitem(
        _remote.REMOTE, name, dataclasses.replace(spec, files=pinned, mirrors=tuple(mirrors))
    )


def _serve(server, prefix, files, mode="ok"):
    for f, body in files.items():
        server.routes[f"/{prefix}/{f}"] = body if mode == "ok" else (mode, body)
    return f"{server.base}/{prefix}/"


def _assert_clean(folder: Path, files, sums=None):
    """No temporary file, and each final name absent or holding the verified file."""
    if not folder.exists():
        return
    leftovers = [p.name for p in folder.iterdir() if p.name not in files and p.name != LOCK_NAME]
    assert leftovers == [], leftovers  # no temporary file of pooch's or ours
    for f in files:
        path = folder / f
        if path.exists():
            assert sums is not None and _sha(path.read_bytes()) == sums[f], f


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- success -------------------------------------------------------------------------------


def test_download_verifies_and_caches(tmp_path, server, monkeypatch):
    files, sums = _fakes(tmp_path, "mnist")
    _pin(monkeypatch, "mnist", files, [_serve(server, "m1", files)])
    root = tmp_path / "cache"
    ds = data.mnist(root=root, progress=False)
    ref = data.load_mnist(data.cache_dir("mnist", root=tmp_path / "source"))
    np.testing.assert_array_equal(ds.x_train, ref.x_train)  # same parse: exact
    np.testing.assert_array_equal(ds.y_test, ref.y_test)
    assert ds.info["files"] == sums and ds.info["verified"] and ds.info["pinned"]
    assert (ds.info["n_train"], ds.info["n_test"], ds.info["source"]) == (20, 10, "mnist")
    folder = root / "mnist"
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == sorted(
        MNIST_FILES
    )
    _assert_clean(folder, MNIST_FILES, sums)
    # Cached: a second call opens no connection and reads the same data.
    n_hits = len(server.hits)
    again = data.load("mnist", root=root, images=True)
    assert len(server.hits) == n_hits and again.x_train.shape == (20, 28, 28, 1)


def test_cifar10_download_reads_the_archive(tmp_path, server, monkeypatch):
    files, sums = _fakes(tmp_path, "cifar10", n_train=12, n_test=3)
    _pin(monkeypatch, "cifar10", files, [_serve(server, "c", files)])
    ds = data.cifar10(root=tmp_path / "cache", progress=False)
    assert ds.x_train.shape == (12, 3072) and ds.x_test.shape == (3, 3072)
    assert ds.info["files"] == sums and ds.name == "cifar10"
    assert ds.x_train.dtype == np.float32 and 0.0 <= ds.x_train.min() <= ds.x_train.max() <= 1.0


def test_progress_bar_runs(tmp_path, server, monkeypatch):
    files, _ = _fakes(tmp_path, "mnist")
    _pin(monkeypatch, "mnist", files, [_serve(server, "m1", files)])
    assert data.mnist(root=tmp_path / "cache", progress=True).x_test.shape == (10, 784)


# --- each failure leaves the cache clean -----------------------------------------------------


def test_checksum_mismatch(tmp_path, server, monkeypatch):
    files, sums = _fakes(tmp_path, "mnist")
    bad = dict(files)
    name = "train-images-idx3-ubyte.gz"
    bad[name] = files[name][:-1] + bytes([files[name][-1] ^ 0xFF])  # same size, one byte off
    _pin(monkeypatch, "mnist", files, [_serve(server, "m1", bad)])
    root = tmp_path / "cache"
    with pytest.raises(data.DownloadError, match="checksum mismatch") as err:
        data.mnist(root=root, progress=False)
    assert f"{server.base}/m1/{name}" in str(err.value)
    assert str(root / "mnist" / name) in str(err.value)  # where to put it by hand
    assert not (root / "mnist" / name).exists()
    _assert_clean(root / "mnist", MNIST_FILES, sums)


@pytest.mark.parametrize("pinned_size", [True, False])
def test_truncated_transfer(tmp_path, server, monkeypatch, pinned_size):
    files, sums = _fakes(tmp_path, "mnist")
    _pin(monkeypatch, "mnist", files, [_serve(server, "m1", files, mode="truncate")])
    root = tmp_path / "cache"
    # Without pinned sizes (custom checksums) only the Content-Length catches it.
    checksums = None if pinned_size else sums
    with pytest.raises(data.DownloadError, match="truncated"):
        data.mnist(root=root, progress=False, checksums=checksums)
    _assert_clean(root / "mnist", MNIST_FILES, sums)
    assert not any((root / "mnist" / f).exists() for f in MNIST_FILES)


def test_wrong_announced_size_is_refused_before_reading(tmp_path, server, monkeypatch):
    files, sums = _fakes(tmp_path, "mnist")
    _pin(monkeypatch, "mnist", files, [_serve(server, "m1", files)])
    spec = _remote.REMOTE["mnist"]
    wrong = {f: p._replace(size=p.size + 1) for f, p in spec.files.items()}
    monkeypatch.setitem(_remote.REMOTE, "mnist", dataclasses.replace(spec, files=wrong))
    with pytest.raises(data.DownloadError, match="announces"):
        data.mnist(root=tmp_path / "cache", progress=False)
    _assert_clean(tmp_path / "cache" / "mnist", MNIST_FILES, sums)


def test_a_dripping_server_ends_at_the_overall_deadline(tmp_path, server, monkeypatch):
    files, sums = _fakes(tmp_path, "mnist")
    slow = _serve(server, "slow", files, mode="drip")
    good = _serve(server, "good", files)
    _pin(monkeypatch, "mnist", files, [slow, good])
    root = tmp_path / "cache"
    start = time.monotonic()
    with pytest.raises(data.DownloadError, match=r"deadline of 1\.5 s") as err:
        data.mnist(root=root, progress=False, timeout=5.0, deadline=1.5, mirrors=[slow])
    took = time.monotonic() - start
    assert took < 1.5 + 1.0, took  # ended at the deadline, not at 60 x 0.5 s (nor per read)
    assert "`deadline`" in str(err.value)
    _assert_clean(root / "mnist", MNIST_FILES, sums)
    # The next mirror is tried after a slow one.
    assert data.mnist(root=root, progress=False, deadline=1.0).info["verified"]


def test_a_stream_without_length_stops_at_the_size_cap(tmp_path, server, monkeypatch):
    files, sums = _fakes(tmp_path, "mnist")
    _pin(monkeypatch, "mnist", files, [_serve(server, "m", files, mode="endless")])
    root = tmp_path / "cache"
    name = "train-images-idx3-ubyte.gz"
    start = time.monotonic()
    with pytest.raises(data.DownloadError, match="size cap") as err:
        data.mnist(root=root, progress=False)
    assert time.monotonic() - start < 30
    assert f"size cap of {len(files[name])} bytes" in str(err.value)  # the pinned size
    _assert_clean(root / "mnist", MNIST_FILES, sums)


def test_an_announced_size_over_the_cap_is_refused(tmp_path, server, monkeypatch):
    files, sums = _fakes(tmp_path, "mnist")
    _pin(monkeypatch, "mnist", files, [_serve(server, "m", files)])
    monkeypatch.setattr(_fetch, "DEFAULT_CAP", 100)  # custom checksums: no pinned size
    with pytest.raises(data.DownloadError, match="over the size cap"):
        data.mnist(root=tmp_path / "cache", progress=False, checksums=sums)
    _assert_clean(tmp_path / "cache" / "mnist", MNIST_FILES, sums)


def test_server_down_names_urls_and_paths(tmp_path, monkeypatch):
    files, sums = _fakes(tmp_path, "mnist")
    down = f"http://127.0.0.1:{_closed_port()}/mnist/"
    _pin(monkeypatch, "mnist", files, [down])
    root = tmp_path / "cache"
    with pytest.raises(data.DownloadError) as err:
        data.mnist(root=root, progress=False, timeout=5.0)
    text = str(err.value)
    assert f"{down}train-images-idx3-ubyte.gz" in text and "refused" in text.lower()
    for f in MNIST_FILES:  # every file still to fetch, with its exact path
        assert str(root / "mnist" / f) in text
    assert "HAMGEO_DATA_MIRRORS" in text
    _assert_clean(root / "mnist", MNIST_FILES, sums)


def test_interrupted_download_leaves_no_part_file(tmp_path, server, monkeypatch):
    files, sums = _fakes(tmp_path, "mnist")
    _pin(monkeypatch, "mnist", files, [_serve(server, "m1", files)])

    class Bar:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def update(self, n):
            raise KeyboardInterrupt

    monkeypatch.setattr(_fetch, "progress", lambda **kw: Bar())
    root = tmp_path / "cache"
    with pytest.raises(KeyboardInterrupt):
        data.mnist(root=root, progress=False)
    _assert_clean(root / "mnist", MNIST_FILES, sums)
    assert not any((root / "mnist" / f).exists() for f in MNIST_FILES)


def test_read_only_cache(tmp_path, server, monkeypatch):
    files, sums = _fakes(tmp_path, "mnist")
    _pin(monkeypatch, "mnist", files, [_serve(server, "m1", files)])
    folder = tmp_path / "cache" / "mnist"
    folder.mkdir(parents=True)
    folder.chmod(0o555)
    real_open = os.open

    def read_only_open(path, flags, *args, **kwargs):
        # chmod does not stop root: refuse creation in the folder as a read-only mount would.
        if flags & os.O_CREAT and Path(os.fsdecode(path)).parent == folder:
            raise PermissionError(errno.EROFS, "Read-only file system", os.fsdecode(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only_open)
    try:
        with pytest.raises(PermissionError, match="cannot write the MNIST files") as err:
            data.mnist(root=tmp_path / "cache", progress=False)
        assert str(folder) in str(err.value) and "HAMGEO_DATA" in str(err.value)
        assert list(folder.iterdir()) == []
        assert server.hits == []  # failed before any transfer
    finally:
        folder.chmod(0o755)


def test_second_mirror_is_used_after_the_first_fails(tmp_path, server, monkeypatch):
    files, sums = _fakes(tmp_path, "mnist")
    good = _serve(server, "good", files)
    missing = f"{server.base}/empty/"  # 404 for everything
    down = f"http://127.0.0.1:{_closed_port()}/"
    _pin(monkeypatch, "mnist", files, [])
    ds = data.mnist(root=tmp_path / "cache", mirrors=[down, missing, good], progress=False)
    assert ds.info["verified"]
    for f in MNIST_FILES:  # each file: the 404 mirror first, then the good one
        assert server.hits.index(f"/empty/{f}") < server.hits.index(f"/good/{f}")
    _assert_clean(tmp_path / "cache" / "mnist", MNIST_FILES, sums)


def test_env_mirrors_come_before_the_built_in_ones(tmp_path, server, monkeypatch):
    files, _ = _fakes(tmp_path, "fashion-mnist")
    builtin = _serve(server, "builtin", files)
    lab = _serve(server, "lab", files)
    _pin(monkeypatch, "fashion-mnist", files, [builtin])
    monkeypatch.setenv("HAMGEO_DATA_MIRRORS", f" {server.base}/none/ ,{lab}")
    ds = data.load("fashion_mnist", root=tmp_path / "cache", progress=False)
    assert ds.name == "fashion-mnist" and ds.x_train.shape == (20, 784)
    assert not any(h.startswith("/builtin/") for h in server.hits)
    assert [h for h in server.hits if h.startswith("/lab/")] == [f"/lab/{f}" for f in files]


def test_concurrent_downloads_end_with_one_good_copy(tmp_path, server, monkeypatch):
    files, sums = _fakes(tmp_path, "mnist")
    _pin(monkeypatch, "mnist", files, [_serve(server, "m1", files)])
    server.delay = 0.05  # keep the first download in flight while the second arrives
    root = tmp_path / "cache"
    results, errors = [], []

    def worker():
        try:
            results.append(data.mnist(root=root, progress=False))
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == [] and len(results) == 3
    for f in MNIST_FILES:  # each file downloaded once: the others waited on the lock
        assert server.hits.count(f"/m1/{f}") == 1
    for ds in results[1:]:
        np.testing.assert_array_equal(ds.x_train, results[0].x_train)
    _assert_clean(root / "mnist", MNIST_FILES, sums)


@pytest.mark.slow
def test_two_processes_download_at_once(tmp_path, server):
    files, sums = _fakes(tmp_path, "mnist")
    base = _serve(server, "m1", files)
    server.delay = 0.2
    root = tmp_path / "cache"
    # `mirrors` and `checksums` replace every built-in URL and checksum: loopback only.
    script = textwrap.dedent(
        f"""
        from hamgeo import data
        ds = data.mnist(root={str(root)!r}, mirrors=[{base!r}], checksums={sums!r},
                        progress=False)
        print(ds.info["n_train"])
        """
    )
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    procs = [
        subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0] and [o.strip() for o in outs] == ["20"] * 2
    for f in MNIST_FILES:
        assert server.hits.count(f"/m1/{f}") == 1
    _assert_clean(root / "mnist", MNIST_FILES, sums)


# --- files put by hand, download=False, verification cache -----------------------------------


def test_download_false_names_folder_files_and_urls(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    with pytest.raises(FileNotFoundError) as err:
        data.cifar10(root=root, download=False)
    text = str(err.value)
    assert str(root / "cifar10" / CIFAR_FILE) in text
    assert "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz" in text
    assert not (root / "cifar10").exists()  # nothing created
    # Every folder searched is named, in order.
    monkeypatch.setattr(_sources, "SYSTEM_ROOTS", (tmp_path / "system",))
    monkeypatch.setenv("HAMGEO_DATA_PATH", str(tmp_path / "lab"))
    with pytest.raises(FileNotFoundError) as err:
        data.fashion_mnist(root=root, download=False)
    text = str(err.value)
    folders = [root / "fashion-mnist", tmp_path / "lab" / "fashion-mnist"]
    folders.append(tmp_path / "system" / "fashion-mnist")
    assert [text.index(f"  {f}\n") for f in folders] == sorted(
        text.index(f"  {f}\n") for f in folders
    )
    assert "fashion-mnist.s3-website" in text


def test_default_root_is_hamgeo_data_then_the_user_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HAMGEO_DATA", str(tmp_path / "env"))
    assert data.cache_dir("fashion_mnist") == tmp_path / "env" / "fashion-mnist"
    monkeypatch.delenv("HAMGEO_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert data.cache_dir("mnist") == tmp_path / "xdg" / "hamgeo" / "data" / "mnist"
    assert data.cache_dir(root=tmp_path / "r") == tmp_path / "r"
    with pytest.raises(TypeError, match="`root`"):
        data.cache_dir("mnist", root=3)


def test_hand_placed_files_are_verified(tmp_path):
    root = tmp_path / "cache"
    sums = data.write_fake("mnist", root, n_train=12, n_test=6)
    with pytest.raises(data.ChecksumError, match="train-images-idx3-ubyte.gz") as err:
        data.mnist(root=root, download=False)  # the pinned (real) checksums
    assert "verify=False" in str(err.value)
    ds = data.mnist(root=root, download=False, verify=False)  # a deliberately modified copy
    assert not ds.info["verified"] and ds.info["files"] == sums
    assert data.mnist(root=root, checksums=sums).info["verified"]


def test_a_recompressed_copy_verifies_a_modified_one_does_not(tmp_path, monkeypatch):
    files, sums = _fakes(tmp_path, "fashion-mnist")
    _pin(monkeypatch, "fashion-mnist", files, [])
    root = tmp_path / "cache"
    folder = root / "fashion-mnist"
    folder.mkdir(parents=True)
    # Recompressed: another level, a file name and an mtime in the header (as Debian's).
    name = "train-images-idx3-ubyte.gz"
    content = gzip.decompress(files[name])
    for f, b in files.items():
        (folder / f).write_bytes(b)
    (folder / name).write_bytes(gzip.compress(content, compresslevel=9, mtime=12345))
    assert _sha((folder / name).read_bytes()) != sums[name]
    ds = data.fashion_mnist(root=root, download=False)
    ref = data.load_mnist(tmp_path / "source" / "fashion-mnist")
    np.testing.assert_array_equal(ds.x_train, ref.x_train)  # the same parse: exact
    assert ds.info["verified"] and ds.info["content_sha256"][name] == _sha(content)
    # One pixel changed, then recompressed: neither hash matches.
    changed = bytearray(content)
    changed[-1] ^= 1
    (folder / name).write_bytes(gzip.compress(bytes(changed), mtime=0))
    with pytest.raises(data.ChecksumError, match=name):
        data.fashion_mnist(root=root, download=False)
    # Archive-only pins (MNIST's, CIFAR-10's today): a recompressed copy is refused.
    _pin(monkeypatch, "fashion-mnist", files, [], content=False)
    (folder / name).write_bytes(gzip.compress(content, compresslevel=9, mtime=12345))
    with pytest.raises(data.ChecksumError, match=name):
        data.fashion_mnist(root=root, download=False)


def _system_copy(tmp_path, files, name="fashion-mnist", where="system"):
    folder = tmp_path / where / name
    folder.mkdir(parents=True)
    for f, b in files.items():
        (folder / f).write_bytes(gzip.compress(gzip.decompress(b), mtime=7))  # recompressed
        (folder / f).chmod(0o444)
    return folder


def test_system_folders_are_read_before_any_download(tmp_path, server, monkeypatch):
    files, _ = _fakes(tmp_path, "fashion-mnist")
    _pin(monkeypatch, "fashion-mnist", files, [_serve(server, "m", files)])
    system = _system_copy(tmp_path, files)
    monkeypatch.setattr(_sources, "SYSTEM_ROOTS", (tmp_path / "system",))
    root = tmp_path / "cache"
    ds = data.fashion_mnist(root=root, progress=False)
    assert server.hits == [] and ds.info["verified"] and ds.info["path"] == str(system)
    assert not (root / "fashion-mnist").exists()  # nothing written, nothing copied
    assert sorted(p.name for p in system.iterdir()) == sorted(files)  # read only
    # $HAMGEO_DATA_PATH roots come before /usr/share/datasets, in their order.
    other = _system_copy(tmp_path, files, where="mine")
    monkeypatch.setenv(
        "HAMGEO_DATA_PATH", os.pathsep.join([str(tmp_path / "none"), str(other.parent)])
    )
    assert data.fashion_mnist(root=root, download=False).info["path"] == str(other)
    # The cache comes first.
    sums = data.write_fake("fashion-mnist", root, n_train=20, n_test=10)
    assert data.fashion_mnist(root=root, download=False).info["files"] == sums


def test_write_fake_never_overwrites_without_being_asked(tmp_path):
    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    real = folder / "t10k-labels-idx1-ubyte.gz"
    real.write_bytes(b"the user's real file")
    with pytest.raises(FileExistsError, match="overwrite=True") as err:
        data.write_fake("fashion-mnist", tmp_path, n_train=5, n_test=5)
    assert str(real) in str(err.value)
    assert real.read_bytes() == b"the user's real file"
    assert sorted(p.name for p in folder.iterdir()) == [real.name]  # nothing else written
    sums = data.write_fake("fashion-mnist", tmp_path, n_train=5, n_test=5, overwrite=True)
    assert _sha(real.read_bytes()) == sums[real.name]
    with pytest.raises(FileExistsError):  # the CIFAR archive too
        data.write_fake("cifar10", tmp_path, n_train=5, n_test=1)
        data.write_fake("cifar10", tmp_path, n_train=5, n_test=1)
    with pytest.raises(TypeError, match="`overwrite`"):
        data.write_fake("mnist", tmp_path, n_train=5, n_test=5, overwrite="yes")


def test_a_damaged_system_copy_is_skipped_with_a_warning(tmp_path, server, monkeypatch):
    files, sums = _fakes(tmp_path, "fashion-mnist")
    _pin(monkeypatch, "fashion-mnist", files, [_serve(server, "m", files)])
    system = _system_copy(tmp_path, files)
    name = "t10k-labels-idx1-ubyte.gz"
    (system / name).chmod(0o644)
    (system / name).write_bytes(gzip.compress(b"not the labels"))
    monkeypatch.setattr(_sources, "SYSTEM_ROOTS", (tmp_path / "system",))
    root = tmp_path / "cache"
    with pytest.warns(RuntimeWarning, match=str(system / name)):
        with pytest.raises(FileNotFoundError, match=name):
            data.fashion_mnist(root=root, download=False)
    (system / name).write_bytes(b"\x1f\x8b" + b"not gzip")  # damaged beyond gunzip: skipped too
    with pytest.warns(RuntimeWarning, match="Skipping"):
        ds = data.fashion_mnist(root=root, progress=False)  # downloads only that file
    assert server.hits == [f"/m/{name}"] and ds.info["verified"]
    assert ds.info["paths"][name] == str(root / "fashion-mnist" / name)
    assert ds.info["files"][name] == sums[name]


def test_a_hostile_checksums_json_is_never_read(tmp_path):
    # Earlier versions cached hashes in .checksums.json; nothing reads it now, so a corrupt,
    # deeply nested or lying one neither crashes a load nor vouches for a file.
    root = tmp_path / "cache"
    sums = data.write_fake("mnist", root, n_train=12, n_test=6)
    stamp = root / "mnist" / ".checksums.json"
    for text in ("{" * 100_000, '{"x": [1, 2', "[]", '{"train-images-idx3-ubyte.gz": 5}'):
        stamp.write_text(text)
        assert data.mnist(root=root, checksums=sums).info["verified"]
    other = data.write_fake("mnist", root, n_train=12, n_test=6, seed=1, overwrite=True)
    lie = {f: {"key": [0, 0, 0], "sha256": sums[f]} for f in sums}  # claims the old hashes
    stamp.write_text(json.dumps(lie))
    with pytest.raises(data.ChecksumError):
        data.mnist(root=root, checksums=sums)
    assert data.mnist(root=root, checksums=other).info["files"] == other


def test_write_fake_is_deterministic_and_format_exact(tmp_path):
    a = data.write_fake("cifar10", tmp_path / "a", n_train=7, n_test=2)
    b = data.write_fake("cifar10", tmp_path / "b", n_train=7, n_test=2)
    assert a == b
    ds = data.load_cifar10(_extract(tmp_path / "a" / "cifar10" / CIFAR_FILE, tmp_path / "x"))
    assert ds.x_train.shape == (7, 3072) and ds.n_classes == 7
    m = data.write_fake("mnist", tmp_path / "m", n_train=30, n_test=10, seed=3)
    ds = data.load_mnist(tmp_path / "m" / "mnist")
    assert sorted(m) == sorted(MNIST_FILES)
    assert np.bincount(ds.y_train).tolist() == [3] * 10  # balanced labels
    lit = (ds.x_train > 0).mean()
    assert 0.05 < lit < 0.5  # digit-like: mostly background


def _extract(archive, dest):
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    return dest


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"mirrors": "http://127.0.0.1/"}, TypeError, "`mirrors`"),
        ({"mirrors": ["ftp://127.0.0.1/"]}, ValueError, "`mirrors`"),
        ({"checksums": {"x": "00"}}, ValueError, "`checksums`"),
        ({"checksums": "abc"}, TypeError, "`checksums`"),
        ({"download": 1}, TypeError, "`download`"),
        ({"timeout": 0}, ValueError, "`timeout`"),
        ({"deadline": -1.0}, ValueError, "`deadline`"),
        ({"root": 5}, TypeError, "`root`"),
    ],
)
def test_arguments_are_checked(tmp_path, kwargs, error, match):
    kwargs = {"root": tmp_path, "download": False, **kwargs}
    with pytest.raises(error, match=match):
        data.mnist(**kwargs)


def test_bad_env_mirror_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("HAMGEO_DATA_MIRRORS", "gopher://x/")
    with pytest.raises(ValueError, match="HAMGEO_DATA_MIRRORS"):
        data.mnist(root=tmp_path)


# --- the network guard of conftest.py ---------------------------------------------------------


def test_network_guard_blocks_everything_but_loopback(server):
    with pytest.raises(NetworkAccessBlocked):
        socket.create_connection(("192.0.2.1", 80), timeout=0.1)  # TEST-NET-1, never routed
    with pytest.raises(NetworkAccessBlocked):
        urllib.request.urlopen("http://example.com/", timeout=0.1)  # noqa: S310
    with (
        socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s,
        pytest.raises(NetworkAccessBlocked),
    ):
        s.sendto(b"x", ("2001:db8::1", 53))
    # Loopback stays open: a plain connection and an HTTP request.
    socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=5).close()
    server.routes["/ok"] = b"fine"
    with urllib.request.urlopen(f"{server.base}/ok", timeout=5) as r:  # noqa: S310
        assert r.read() == b"fine"


def test_network_guard_is_not_swallowed_by_the_mirror_loop(tmp_path):
    # The real, built-in mirrors: the guard must stop the first attempt loudly
    # (not as one more failed mirror).
    with pytest.raises(NetworkAccessBlocked):
        data.mnist(root=tmp_path, progress=False)
    _assert_clean(tmp_path / "mnist", MNIST_FILES)


def test_file_mirror_and_stale_part_cleanup(tmp_path, monkeypatch):
    files, sums = _fakes(tmp_path, "mnist")
    _pin(monkeypatch, "mnist", files, [])
    folder = tmp_path / "cache" / "mnist"
    folder.mkdir(parents=True)
    stale = folder / "tmpabc123"  # pooch's temporary file, left by a killed download
    stale.write_bytes(b"partial")
    source = data.cache_dir("mnist", root=tmp_path / "source").as_uri() + "/"
    ds = data.mnist(root=tmp_path / "cache", mirrors=[source], progress=False)
    assert ds.info["verified"] and not stale.exists()
    _assert_clean(folder, MNIST_FILES, sums)
