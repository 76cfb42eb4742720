"""Two processes on this machine: jax.distributed over a loopback coordinator.

Each process holds 2 simulated CPU devices (4 in all); CPU collectives go through
gloo. Row-sharded pairwise_hamming and hamming_knn must equal the NumPy result.
"""

import os
import socket
import subprocess
import sys
import textwrap

import pytest

WORKER = textwrap.dedent(
    """
    import sys
    import jax
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    port, pid = sys.argv[1], int(sys.argv[2])
    jax.distributed.initialize(
        coordinator_address=f"127.0.0.1:{port}", num_processes=2, process_id=pid
    )
    import numpy as np
    from jax.experimental import multihost_utils
    from jax.sharding import NamedSharding, PartitionSpec as P
    import hamgeo
    from hamgeo.codes import PackedCodes, pack_bits

    assert jax.process_count() == 2 and jax.device_count() == 4
    mesh = jax.make_mesh((4,), ("data",))
    rng = np.random.default_rng(0)  # same data in both processes
    n_bits = 301
    bx = rng.random((26, n_bits)) < 0.5
    by = rng.random((13, n_bits)) < 0.5
    wx, wy = np.asarray(pack_bits(bx).words), np.asarray(pack_bits(by).words)
    rows = NamedSharding(mesh, P("data", None))
    xs = jax.make_array_from_callback((28, wx.shape[1]), rows,
                                      lambda i: np.pad(wx, ((0, 2), (0, 0)))[i])
    ys = jax.make_array_from_callback(wy.shape, NamedSharding(mesh, P()), lambda i: wy[i])
    x = PackedCodes(xs, n_bits)
    d = hamgeo.pairwise_hamming(x, PackedCodes(ys, n_bits), truncate=150)
    assert d.sharding.spec[0] == "data"
    full = multihost_utils.process_allgather(d, tiled=True)[:26]
    ref = np.minimum((bx[:, None] != by[None]).sum(-1), 150)
    assert (full == ref).all(), "pairwise differs"
    # k-NN of the (sharded) codes against themselves, base sharded too.
    bits_pad = np.pad(bx, ((0, 2), (0, 0)))
    dist, idx = hamgeo.hamming_knn(x, x, 3, exclude_self=True)
    dist = multihost_utils.process_allgather(dist, tiled=True)
    idx = multihost_utils.process_allgather(idx, tiled=True)
    dd = (bits_pad[:, None] != bits_pad[None]).sum(-1)
    np.fill_diagonal(dd, 10**6)
    order = np.lexsort((np.broadcast_to(np.arange(28), dd.shape), dd), axis=1)[:, :3]
    assert (idx == order).all() and (dist == np.take_along_axis(dd, order, 1)).all()
    # the XLA paths (the GPU/TPU forms) give the same, sharded the same way
    d2 = hamgeo.pairwise_hamming(x, PackedCodes(ys, n_bits), truncate=150, method="matmul")
    assert (multihost_utils.process_allgather(d2, tiled=True)[:26] == ref).all(), "matmul"
    dist2, idx2 = hamgeo.hamming_knn(x, x, 3, exclude_self=True, method="xla")
    assert (multihost_utils.process_allgather(idx2, tiled=True) == order).all(), "xla k-NN"
    print("OK", pid)
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_loopback(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = dict(os.environ)
    env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
    env["JAX_PLATFORMS"] = "cpu"
    port = str(_free_port())
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), port, str(pid)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for pid in (0, 1)
    ]
    outputs = []
    try:
        for proc in procs:
            out, _ = proc.communicate(timeout=240)
            outputs.append(out)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    for pid, (proc, out) in enumerate(zip(procs, outputs, strict=True)):
        assert proc.returncode == 0, f"process {pid} failed:\n{out[-3000:]}"
        assert f"OK {pid}" in out
