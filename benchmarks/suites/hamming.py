"""Hamming kernels: full distance matrices and k-NN, hamgeo against its peers.

Peers: faiss ``hammings`` (full matrix; a single-threaded loop in faiss) and
``IndexBinaryFlat.search`` (k-NN, OpenMP), scipy ``cdist(metric="hamming")`` and
a NumPy ``np.bitwise_count`` brute force. Peers that are too slow for the full
size are timed on the first rows of ``x`` and scaled by the number of pairs
(``extra["measured_rows"]`` says so). Throughput is in bit-pairs per second.
The non-quick run adds the peak memory of a 100 000 x 100 000 k-NN on 256-bit codes,
measured in a fresh subprocess (growth of the maximum resident set size).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import jax
import numpy as np

import hamgeo
from benchmarks.timing import Row, timed_row
from hamgeo import _native
from hamgeo.codes import to_packbits

SUITE = "hamming"


def _codes(rng, n, bits):
    return hamgeo.pack_bits(rng.random((n, bits)) < 0.5)


def _faiss():
    try:
        import faiss
    except ImportError:
        return None
    return faiss


def _faiss_hammings(faiss, a, b):
    out = np.empty((a.shape[0], b.shape[0]), np.int32)
    faiss.hammings(
        faiss.swig_ptr(a), faiss.swig_ptr(b), a.shape[0], b.shape[0], a.shape[1],
        faiss.swig_ptr(out),
    )  # fmt: skip
    return out


def _numpy_pairwise(a, b, block=64):
    a64 = a.view(np.uint64) if a.shape[1] % 8 == 0 else a
    b64 = b.view(np.uint64) if b.shape[1] % 8 == 0 else b
    out = np.empty((a.shape[0], b.shape[0]), np.int32)
    for i in range(0, a.shape[0], block):
        out[i : i + block] = np.bitwise_count(a64[i : i + block, None, :] ^ b64[None]).sum(-1)
    return out


def _scaled(fn, rows_measured, rows_total, repeats, **row):
    r = timed_row(fn, repeats=repeats, **row)
    scale = rows_total / rows_measured
    r.seconds *= scale
    r.compile_s = None
    r.extra["measured_rows"] = rows_measured
    return r


def _pairwise_rows(rng, n, bits, quick):
    x = _codes(rng, n, bits)
    xb = to_packbits(x)
    shape = f"N=M={n} bits={bits}"
    common = dict(suite=SUITE, op="pairwise", shape=shape, work=float(n) * n * bits)
    rows = []
    methods = ["auto", "xla", "matmul"]
    for method in methods:
        if method == "matmul" and bits * n * n > 2**34:
            continue  # the int8 matmul is far slower on CPU; keep the run short
        rows.append(
            timed_row(
                lambda m=method: hamgeo.pairwise_hamming(x, x, method=m),
                repeats=3 if quick else 5,
                dtype="uint32 words",
                impl=f"hamgeo[{method}]",
                unit="bit-pairs",
                **common,
            )
        )
    faiss = _faiss()
    if faiss is not None:
        rows.append(
            timed_row(
                lambda: _faiss_hammings(faiss, xb, xb),
                repeats=3 if quick else 5,
                dtype="uint8 packbits",
                impl="faiss.hammings",
                unit="bit-pairs",
                **common,
            )
        )
    sub = min(n, 256 if quick else 512)
    rows.append(
        _scaled(
            lambda: _numpy_pairwise(xb[:sub], xb),
            sub,
            n,
            3,
            dtype="uint8 packbits",
            impl="numpy.bitwise_count",
            unit="bit-pairs",
            **common,
        )
    )
    from scipy.spatial.distance import cdist

    bools = np.asarray(x.unpack())
    sub = min(n, 64 if quick else 128)
    rows.append(
        _scaled(
            lambda: cdist(bools[:sub], bools, metric="hamming"),
            sub,
            n,
            3,
            dtype="bool",
            impl="scipy.cdist",
            unit="bit-pairs",
            **common,
        )
    )
    return rows


def _knn_rows(rng, n, bits, quick, k=10):
    x = _codes(rng, n, bits)
    xb = to_packbits(x)
    shape = f"N=M={n} bits={bits} k={k}"
    common = dict(suite=SUITE, op="knn", shape=shape, work=float(n) * n * bits, unit="bit-pairs")
    rows = [
        timed_row(
            lambda: hamgeo.hamming_knn(x, x, k),
            repeats=3 if quick else 5,
            dtype="uint32 words",
            impl="hamgeo[auto]",
            **common,
        )
    ]
    if _native.available():
        # The streaming XLA path (running top-k over base blocks), for reference.
        import os

        os.environ["HAMGEO_DISABLE_NATIVE"] = "1"
        _native._load.cache_clear()
        try:
            rows.append(
                timed_row(
                    lambda: hamgeo.hamming_knn(x, x, k),
                    repeats=3,
                    dtype="uint32 words",
                    impl="hamgeo[xla]",
                    **common,
                )
            )
        finally:
            del os.environ["HAMGEO_DISABLE_NATIVE"]
            _native._load.cache_clear()
            _native.available()
    faiss = _faiss()
    if faiss is not None:
        index = faiss.IndexBinaryFlat(bits)
        index.add(xb)
        rows.append(
            timed_row(
                lambda: index.search(xb, k),
                repeats=3 if quick else 5,
                dtype="uint8 packbits",
                impl="faiss.IndexBinaryFlat",
                **common,
            )
        )
    return rows


_PEAK_SCRIPT = textwrap.dedent(
    """
    import json, resource, time, sys
    import numpy as np, jax, hamgeo
    n, bits, k = int(sys.argv[1]), int(sys.argv[2]), 10
    words = np.random.default_rng(0).integers(0, 2**32, (n, bits // 32), dtype=np.uint32)
    codes = hamgeo.PackedCodes(jax.numpy.asarray(words), bits)
    jax.block_until_ready(hamgeo.hamming_knn(codes[:64], codes[:64], k))  # compile / load
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    d, i = jax.block_until_ready(hamgeo.hamming_knn(codes, codes, k, exclude_self=True))
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "peak_growth_mib": (after - before) / 1024,
                      "peak_rss_mib": after / 1024, "shape": list(d.shape)}))
    """
)


def _peak_memory_row(n=100_000, bits=256):
    proc = subprocess.run(
        [sys.executable, "-c", _PEAK_SCRIPT, str(n), str(bits)],
        capture_output=True,
        text=True,
        check=True,
    )
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return Row(
        suite=SUITE,
        op="knn peak memory",
        shape=f"N=M={n} bits={bits} k=10",
        dtype="uint32 words",
        impl="hamgeo[auto]",
        seconds=out["seconds"],
        work=float(n) * n * bits,
        unit="bit-pairs",
        extra={
            "peak_rss_growth_mib": round(out["peak_growth_mib"], 1),
            "peak_rss_mib": round(out["peak_rss_mib"], 1),
        },
    )


def run(quick: bool) -> list[Row]:
    """Time the Hamming kernels and their peers (``quick``: small sizes, < 1 minute)."""
    rng = np.random.default_rng(0)
    print(f"  {_native.describe()}; backend {jax.default_backend()}", flush=True)
    rows: list[Row] = []
    pair_sizes = [(1024, 256), (2048, 1024)] if quick else [(4096, 64), (4096, 256), (4096, 1024)]
    for n, bits in pair_sizes:
        rows += _pairwise_rows(rng, n, bits, quick)
    knn_sizes = [(2048, 1024)] if quick else [(4096, 256), (4096, 1024)]
    for n, bits in knn_sizes:
        rows += _knn_rows(rng, n, bits, quick)
    if not quick:
        rows.append(_peak_memory_row())
        print(f"  peak memory: {rows[-1].extra}", flush=True)
    return rows
