"""Hamming kernels: full distance matrices and k-NN, hamgeo against its peers.

hamgeo rows: ``auto`` (the measured dispatch, ``hamgeo/hamming/_dispatch.py``) and every
exact candidate it chooses from on the backend it runs on (``native``, ``xla`` popcount,
``int8`` ±1 product, ``bf16`` ±1 product), so each size shows ``auto``'s choice and its
ratio to the best candidate; plus ``auto`` with a narrow ``out_dtype`` where the distances
fit.

On a GPU backend the suite times GPU sizes (65 536 x 65 536 pairs of 1024-bit codes, far
past launch overhead; ``quick``: 8192) against what a GPU user would write by hand in
PyTorch, in its own process: ``torch._int_mm`` on ±1 int8 (tensor cores, int32
accumulation) and an fp16 ±1 matmul (exact: the sums are integers below 2048), both
turned into ``int32`` distances, and for k-NN the same ``_int_mm`` per block of queries
with ``torch.topk``. Rows record ``jax.devices()[0].device_kind`` and the fraction of the
card's dense int8 peak (2 N M n_bits operations) where the card is known.

CPU peers, each in its own process (no thread pool competing with XLA's, no import of
jax): faiss ``hammings`` (full matrix; a single-threaded loop in faiss) and
``IndexBinaryFlat.search`` (k-NN, OpenMP), scipy ``cdist(metric="hamming")`` and a
NumPy ``np.bitwise_count`` brute force. Peers too slow for the full size are timed on
the first rows and scaled by the number of pairs (``extra["measured_rows"]``).
Throughput is in bit-pairs per second; every row carries min / median / max and the
coefficient of variation of its repeats. The non-quick run adds the peak memory of a
100 000 x 100 000 k-NN on 256-bit codes, measured in a fresh subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time

import jax
import numpy as np

import hamgeo
from hamgeo.bench._timing import Row, Stats, _block, timed_row
from hamgeo.codes import to_packbits
from hamgeo.hamming import _api, _dispatch, _native

SUITE = "hamming"

_PEER_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np
    impl, path, bits, k, rows, repeats = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
    xb = np.load(path)
    n = xb.shape[0]
    try:
        if impl.startswith("faiss"):
            import faiss
        if impl == "faiss.hammings":
            def fn():  # a fresh result per call, as hamgeo returns one
                out = np.empty((rows, n), np.int32)
                faiss.hammings(faiss.swig_ptr(xb), faiss.swig_ptr(xb), rows, n, xb.shape[1],
                               faiss.swig_ptr(out))
        elif impl == "faiss.IndexBinaryFlat":
            index = faiss.IndexBinaryFlat(bits)
            index.add(xb)
            fn = lambda: index.search(xb[:rows], k)
        elif impl == "scipy.cdist":
            from scipy.spatial.distance import cdist
            bools = np.unpackbits(xb, axis=-1, bitorder="little")[:, :bits].astype(bool)
            fn = lambda: cdist(bools[:rows], bools, metric="hamming")
        elif impl == "numpy.bitwise_count":
            a64 = xb.view(np.uint64) if xb.shape[1] % 8 == 0 else xb
            def fn(block=64):
                out = np.empty((rows, n), np.int32)
                for i in range(0, rows, block):
                    xor = a64[i:i + block, None, :] ^ a64[None]
                    out[i:i + block] = np.bitwise_count(xor).sum(-1)
                return out
        else:
            raise ValueError(impl)
    except ImportError as err:
        print(json.dumps({"error": str(err)}))
        sys.exit(0)
    t0 = time.perf_counter(); fn(); first = time.perf_counter() - t0
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter(); fn(); times.append(time.perf_counter() - t0)
    print(json.dumps({"times": times, "first": first}))
    """
)


def _codes(rng, n, bits):
    """Random codes ``[n, bits]`` (uniform words, padding masked by ``PackedCodes``)."""
    words = rng.integers(0, 2**32, (n, -(-bits // 32)), dtype=np.uint32)
    return hamgeo.PackedCodes(jax.numpy.asarray(words), bits)


def _on_gpu() -> bool:
    return jax.default_backend() in ("gpu", "cuda", "rocm")


def _path_call(op, path, x, y, k=10):
    """One exact candidate ``path`` (``native``/``xla``/``int8``/``bf16``) on every platform."""
    if op == "knn":
        return _api._knn_jit(
            x.words, y.words, 0, k=k, exclude_self=False, n_bits=x.n_bits,
            paths=_api._uniform(path), block_size=None,
        )  # fmt: skip
    return _api._pairwise_jit(
        x.words, y.words, n_bits=x.n_bits, truncate=None, paths=_api._uniform(path),
        block_size=None, out_dtype=np.dtype(np.int32),
    )  # fmt: skip


def _call(op, method, x, k=10):
    """``auto`` through the public API, a candidate path through ``_path_call``."""
    if method == "auto":
        return _public(op, "auto", x, k)
    return _path_call(op, method, x, x, k)


def _peer_row(impl, xb_path, n, bits, rows, repeats, k=0, **row):
    """Time a peer in a fresh process on the first ``rows`` rows; scale to ``n`` rows."""
    proc = subprocess.run(
        [sys.executable, "-c", _PEER_SCRIPT, impl, xb_path, str(bits), str(k), str(rows),
         str(repeats)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        print(f"  {impl}: failed ({proc.stderr.strip().splitlines()[-1:]})", flush=True)
        return None
    out = json.loads(lines[-1])
    if "error" in out:
        print(f"  {impl}: not run ({out['error']})", flush=True)
        return None
    scale = n / rows
    stats = Stats([t * scale for t in out["times"]], out["first"] * scale)
    r = stats.fill(Row(seconds=0.0, impl=impl, **row))
    r.extra["process"] = "own subprocess"
    if rows < n:
        r.extra["measured_rows"] = rows
    else:
        r.compile_s = max(0.0, stats.first - r.seconds)
    return r


def _interleaved_ratio(fn_auto, fn_best, rounds=9, sample_s=5e-3):
    """Median time of ``fn_best`` over ``fn_auto``, the two timed alternately.

    Timing them in separate blocks lets memory and allocator state drift between the
    blocks (results over 32 MiB are faulted in afresh on every call), which moved the same
    kernel by +-40 % from one block to the next; alternating calls share that state. Each
    sample is a loop of calls lasting about ``sample_s`` (a single 0.1 ms call is within the
    timer's and the scheduler's noise), and the order alternates from round to round (the
    call that runs first after the other's result was freed is not always the same one).
    """
    t_auto, t_best = [], []
    single = []
    for fn in (fn_auto, fn_best):
        _block(fn())  # compiled and warm before the rounds
        t0 = time.perf_counter()
        _block(fn())
        single.append(time.perf_counter() - t0)
    loops = max(1, int(sample_s / max(min(single), 1e-7)))
    pairs = ((fn_auto, t_auto), (fn_best, t_best))
    for r in range(rounds):
        for fn, times in pairs if r % 2 == 0 else pairs[::-1]:
            t0 = time.perf_counter()
            for _ in range(loops):
                _block(fn())
            times.append((time.perf_counter() - t0) / loops)
    return float(np.median(t_best) / np.median(t_auto))


def _public(op, method, x, k=10):
    """``method`` through the public API, as a user calls it."""
    if op == "knn":
        return hamgeo.hamming_knn(x, x, k, method=method)
    return hamgeo.pairwise_hamming(x, x, method=method)


def _report_auto(rows, op, n, bits, call, public):
    """Print (and record) auto's choice and its speed over the best candidate's.

    The best candidate is the fastest row; the ratios come from interleaved calls
    (``_interleaved_ratio``) of ``call("auto")`` against ``public(best)`` — the best
    method named through the public API, what a user would otherwise call: the cost of the
    choice — and against ``call(best)``, the bare jitted kernel without the public API's
    argument checks (the whole per-call overhead). ``public`` is ``None`` when the best
    path has no public method name of its own (``int8`` / ``bf16`` are ``matmul``).
    """
    auto = next(r for r in rows if r.impl == "hamgeo[auto]")
    cands = [r for r in rows if r.impl.startswith("hamgeo[") and r.impl != "hamgeo[auto]"]
    cands = [r for r in cands if "out=" not in r.impl]
    best = max(cands, key=lambda r: r.throughput)
    choice = _dispatch.choose(op, n, n, bits)
    method = best.impl[len("hamgeo[") : -1]
    bare = _interleaved_ratio(lambda: call("auto"), lambda: call(method))
    named = None
    if method in ("native", "xla"):
        named = _interleaved_ratio(lambda: call("auto"), lambda: public(method))
    auto.extra.update(
        auto_choice=choice,
        best_candidate=best.impl,
        auto_vs_best=round(named if named is not None else bare, 3),
        auto_vs_best_method=None if named is None else round(named, 3),
        auto_vs_bare_kernel=round(bare, 3),
    )
    versus = "" if named is None else f"{named:.2f}x vs method={method!r}, "
    print(
        f"  {op} N=M={n} bits={bits}: auto -> {choice}; best candidate {best.impl}; "
        f"auto / best = {versus}{bare:.2f}x vs its bare kernel (interleaved; cv auto "
        f"{auto.cv:.2f})",
        flush=True,
    )


def _hamgeo_rows(op, x, k, repeats, common):
    """``auto`` and every exact candidate of the backend, as rows; auto's ratio reported."""
    rows = []
    n, bits = x.shape[0], x.n_bits
    for method in ("auto", *_dispatch.candidates(op, bits)):
        # The XLA streaming top-k on CPU is the slow, GPU/TPU form: fewer repeats.
        slow = op == "knn" and method in ("xla", "int8", "bf16") and not _on_gpu()
        rows.append(
            timed_row(
                lambda m=method: _call(op, m, x, k),
                repeats=3 if slow else repeats,
                dtype="uint32 words",
                impl=f"hamgeo[{method}]",
                **common,
            )
        )
    _report_auto(rows, op, n, bits, lambda m: _call(op, m, x, k), lambda m: _public(op, m, x, k))
    return rows


def _pairwise_rows(rng, n, bits, quick, tmp):
    x = _codes(rng, n, bits)
    shape = f"N=M={n} bits={bits}"
    common = dict(suite=SUITE, op="pairwise", shape=shape, work=float(n) * n * bits)
    repeats = 3 if quick else 7
    rows = []
    if _on_gpu():
        rows += _gpu_peer_rows("pairwise", n, bits, repeats, common)
    else:
        xb_path = os.path.join(tmp, f"pair-{n}-{bits}.npy")
        np.save(xb_path, to_packbits(x))
        peers = [("faiss.hammings", n), ("numpy.bitwise_count", min(n, 256 if quick else 512))]
        peers.append(("scipy.cdist", min(n, 64 if quick else 128)))
        for impl, sub in peers:
            dtype = "bool" if impl == "scipy.cdist" else "uint8 packbits"
            r = _peer_row(impl, xb_path, n, bits, sub, 3 if sub < n else repeats, dtype=dtype,
                          unit="bit-pairs", **common)  # fmt: skip
            rows += [r] if r is not None else []
    rows += _hamgeo_rows("pairwise", x, 0, repeats, dict(common, unit="bit-pairs"))
    narrow = "uint8" if bits <= 255 else ("uint16" if bits <= 65535 else None)
    if narrow:
        rows.append(
            timed_row(
                lambda: hamgeo.pairwise_hamming(x, x, out_dtype=narrow),
                repeats=repeats,
                dtype="uint32 words",
                impl=f"hamgeo[auto,out={narrow}]",
                unit="bit-pairs",
                **common,
            )
        )
    return rows


def _knn_rows(rng, n, bits, quick, tmp, k=10):
    x = _codes(rng, n, bits)
    shape = f"N=M={n} bits={bits} k={k}"
    common = dict(suite=SUITE, op="knn", shape=shape, work=float(n) * n * bits, unit="bit-pairs")
    repeats = 3 if quick else 7
    rows = []
    if _on_gpu():
        rows += _gpu_peer_rows("knn", n, bits, repeats, common, k=k)
    else:
        xb_path = os.path.join(tmp, f"knn-{n}-{bits}.npy")
        np.save(xb_path, to_packbits(x))
        r = _peer_row("faiss.IndexBinaryFlat", xb_path, n, bits, n, repeats, k=k,
                      dtype="uint8 packbits", **common)  # fmt: skip
        rows += [r] if r is not None else []
    rows += _hamgeo_rows("knn", x, k, repeats, common)
    return rows


# --- GPU peers: PyTorch in its own process ----------------------------------------------

_GPU_PEER_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    op, n, bits, k, repeats = sys.argv[1], *map(int, sys.argv[2:])
    try:
        import torch
        if not torch.cuda.is_available():
            raise ImportError("torch has no CUDA device")
    except ImportError as err:
        print(json.dumps({"error": str(err)}))
        sys.exit(0)
    dev = torch.device("cuda")
    g = torch.Generator(device=dev).manual_seed(0)
    # +-1 codes as a GPU user holds them: one int8 (or fp16) per bit.
    s = (torch.randint(0, 2, (n, bits), device=dev, generator=g, dtype=torch.int8) * 2 - 1)
    sh = s.half()

    def int_mm():  # int8 tensor cores, int32 sums -> int32 distances, in place
        d = torch._int_mm(s, s.t())
        return d.neg_().add_(bits).div_(2, rounding_mode="floor")

    def fp16_mm():  # exact: every partial sum is an integer below 2048
        return ((bits - (sh @ sh.t()).float()) * 0.5).to(torch.int32)

    def knn_int_mm(block=8192):
        out_d, out_i = [], []
        for i in range(0, n, block):
            sims = torch._int_mm(s[i:i + block], s.t())
            v, idx = torch.topk(sims, k, dim=1)
            out_d.append((bits - v) // 2)
            out_i.append(idx)
        return torch.cat(out_d), torch.cat(out_i)

    impls = {"pairwise": {"torch._int_mm int8": int_mm, "torch fp16 matmul": fp16_mm},
             "knn": {"torch._int_mm int8 + topk": knn_int_mm}}[op]
    res = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "impls": {}}
    for name, fn in impls.items():
        try:
            torch.cuda.synchronize(); t0 = time.perf_counter(); fn(); torch.cuda.synchronize()
            first = time.perf_counter() - t0
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter(); fn(); torch.cuda.synchronize()
                times.append(time.perf_counter() - t0)
            res["impls"][name] = {"times": times, "first": first}
        except Exception as err:  # a peer that cannot run is reported, not fatal
            res["impls"][name] = {"error": f"{type(err).__name__}: {err}"[:300]}
        torch.cuda.empty_cache()
    print(json.dumps(res))
    """
)

# Dense int8 tensor-core peak (operations/s, no sparsity) of cards we know.
_INT8_PEAK = {"H200": 1979e12, "H100": 1979e12, "A100": 624e12, "L40S": 733e12, "L4": 242e12}


def _int8_peak(device_kind: str) -> float | None:
    for name, peak in _INT8_PEAK.items():
        if name.lower() in device_kind.lower():
            return peak
    return None


def _gpu_extra(row: Row, n: int, bits: int) -> Row:
    kind = jax.devices()[0].device_kind
    row.extra["device_kind"] = kind
    peak = _int8_peak(kind)
    if peak is not None and row.seconds > 0:
        row.extra["fraction_of_int8_peak"] = round(2.0 * n * n * bits / row.seconds / peak, 4)
    return row


def _gpu_peer_rows(op, n, bits, repeats, common, k=10):
    """PyTorch peers in a fresh process (its own CUDA context and allocator)."""
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _GPU_PEER_SCRIPT, op, str(n), str(bits), str(k), str(repeats)],
            capture_output=True, text=True, check=False, timeout=300,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        print(f"  torch peers ({op}): timed out", flush=True)
        return []
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        print(f"  torch peers ({op}): failed ({proc.stderr.strip().splitlines()[-1:]})", flush=True)
        return []
    out = json.loads(lines[-1])
    if "error" in out:
        print(f"  torch peers ({op}): not run ({out['error']})", flush=True)
        return []
    rows = []
    for impl, res in out["impls"].items():
        if "error" in res:
            print(f"  {impl}: {res['error']}", flush=True)
            continue
        stats = Stats(res["times"], res["first"])
        r = stats.fill(
            Row(seconds=0.0, impl=impl, dtype="int8 +-1", **dict(common, unit="bit-pairs"))
        )
        r.compile_s = max(0.0, stats.first - r.seconds)
        r.extra.update(process="own subprocess", torch=out["torch"])
        rows.append(_gpu_extra(r, n, bits))
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
        env={**os.environ, "HAMGEO_DISPATCH": "static"},  # memory, not a dispatch probe
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
    """Time the Hamming kernels and their peers (``quick``: small sizes, < 1 minute).

    ``auto`` starts from an empty dispatch cache (a temporary ``HAMGEO_CACHE``), as on a
    fresh machine: each size class is measured on its first call (in ``compile_s``).
    On a GPU backend the sizes are GPU sizes and the peers PyTorch's (module docstring).
    """
    rng = np.random.default_rng(0)
    print(f"  {_native.describe()}; backend {jax.default_backend()}", flush=True)
    rows: list[Row] = []
    if _on_gpu():
        print(f"  device kind: {jax.devices()[0].device_kind}", flush=True)
        pair_sizes = [(8192, 1024)] if quick else [(65536, 1024), (32768, 256)]
        knn_sizes = [(8192, 1024)] if quick else [(65536, 1024)]
    elif os.environ.get("HAMGEO_BENCH_SMOKE"):  # accelerator.sh --cpu-smoke: the code paths only
        pair_sizes, knn_sizes = [(256, 256)], [(256, 256)]
    elif quick:
        pair_sizes, knn_sizes = [(1024, 256), (2048, 1024)], [(2048, 1024)]
    else:
        # one size per dispatch class auto measures: small (<= 2**16 pairs), medium
        # (<= 2**23), large; 64 / 256 / 1024 bits
        pair_sizes = [
            (256, 1024),
            (2048, 256),
            (2048, 1024),
            (4096, 64),
            (4096, 256),
            (4096, 1024),
        ]
        knn_sizes = [(2048, 256), (4096, 256), (4096, 1024)]
    old_cache = os.environ.get("HAMGEO_CACHE")
    with tempfile.TemporaryDirectory(prefix="hamgeo-bench-") as tmp:
        os.environ["HAMGEO_CACHE"] = os.path.join(tmp, "cache")
        _dispatch._tables.clear()  # the choices measured here stay in memory for the JSON
        try:
            print(f"  dispatch: {_dispatch.mode()}; device {_dispatch.device_key()}", flush=True)
            for n, bits in pair_sizes:
                rows += _pairwise_rows(rng, n, bits, quick, tmp)
            for n, bits in knn_sizes:
                rows += _knn_rows(rng, n, bits, quick, tmp)
        finally:
            if old_cache is None:
                del os.environ["HAMGEO_CACHE"]
            else:
                os.environ["HAMGEO_CACHE"] = old_cache
    if _on_gpu():
        for r in rows:
            if r.impl.startswith("hamgeo"):
                n = int(r.shape.split()[0].split("=")[-1])
                bits = int(r.shape.split()[1].split("=")[-1])
                _gpu_extra(r, n, bits)
    elif not quick:  # host memory of a large k-NN (ru_maxrss means nothing for a GPU)
        rows.append(_peak_memory_row())
        print(f"  peak memory: {rows[-1].extra}", flush=True)
    return rows
