#!/usr/bin/env bash
# One command for a machine with an NVIDIA GPU (issue 21, item 5). No network, no prompts:
#
#     OUT=/some/dir bash benchmarks/accelerator.sh [--dry-run] [--quick | --cpu-smoke]
#
# The GPU image (Python 3.12) already has jax 0.11.2 with the CUDA 13 plugin, flax, optax,
# equinox, jaxtyping, scikit-learn, scipy, numpy, pytest, pytest-xdist, hypothesis, torch,
# cupy, tqdm and pandas. What it lacks are these wheels, already downloaded by the lead into
# .whl/ at the repository root (else /work/main/.whl, or $WHEELS):
#     ott_jax-0.6.0, jaxopt-0.8.5, lineax-0.1.1, pot-0.9.7.post1 (cp312), mnist1d-0.0.2.post1,
#     pooch-1.9.0, platformdirs-4.14.9
# Each is installed into /tmp/site (no index, no dependencies) unless its distribution is
# already importable; one that does not fit this Python (e.g. the cp312 POT on 3.11) is
# skipped with a message. faiss is not needed: test files whose imports are missing are
# skipped with the reason, and the suites report missing peers as "not run".
#
# Steps, each under its own timeout and all under one deadline ($ACC_BUDGET_S, default
# 440 s), so the whole script ends well under 8 minutes: devices; the GPU-relevant tests
# (pytest -n 4); the hamming suite at GPU sizes (65536^2 x 1024 bits; PyTorch peers); the
# models, latency, transport and mmd suites. hamgeo runs from the source tree (PYTHONPATH)
# with HAMGEO_DISABLE_NATIVE=1 (no C++ build). Writes <suite>.json (5 files) and log.txt
# under $OUT (default benchmarks/results/accelerator), then prints a short summary.
#
# --quick / --cpu-smoke: tiny sizes (HAMGEO_BENCH_SMOKE=1) and one test file, a check of
# the code paths on a CPU machine (a loaded 2-core one may still hit the step timeouts):
#     JAX_PLATFORMS=cpu OUT=/tmp/acc PYTHON=.venv/bin/python bash benchmarks/accelerator.sh --cpu-smoke
set -u
cd "$(dirname "$0")/.."
DRY=0
QUICK=0
for arg in "$@"; do
  case "$arg" in
    --dry-run) DRY=1 ;;
    --quick | --cpu-smoke) QUICK=1 ;;
    *) echo "unknown argument: $arg (expected --dry-run, --quick or --cpu-smoke)"; exit 2 ;;
  esac
done
PY=${PYTHON:-python3}
OUT=${OUT:-benchmarks/results/accelerator}
SITE=${ACC_SITE:-/tmp/site}
BUDGET=${ACC_BUDGET_S:-440}
mkdir -p "$OUT" "$SITE"
exec > >(tee -a "$OUT/log.txt") 2>&1
START=$(date +%s)
echo "accelerator.sh: $(date -u +%FT%TZ) python=$PY out=$OUT quick=$QUICK budget=${BUDGET}s"

export PYTHONPATH="$PWD:$SITE${PYTHONPATH:+:$PYTHONPATH}"
export HAMGEO_DISABLE_NATIVE=1 HAMGEO_CACHE="${TMPDIR:-/tmp}/hamgeo-cache-$$"
export MPLBACKEND=Agg PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
# On demand: pytest workers and the PyTorch peers' process share the card with JAX.
export XLA_PYTHON_CLIENT_PREALLOCATE=false

# --- wheels -------------------------------------------------------------------------------
WHEELS=${WHEELS:-.whl}
[ -d "$WHEELS" ] || WHEELS=/work/main/.whl
if compgen -G "$WHEELS/*.whl" > /dev/null; then
  for whl in "$WHEELS"/*.whl; do
    dist=$(basename "$whl" | cut -d- -f1)
    if "$PY" -c "import importlib.metadata as m, sys; m.version(sys.argv[1])" "$dist" 2> /dev/null; then
      echo "wheel $dist: already installed"
      continue
    fi
    if [ $DRY = 1 ]; then echo "would install $whl into $SITE"; continue; fi
    if "$PY" -m pip --version > /dev/null 2>&1; then
      "$PY" -m pip install -q --no-index --no-deps --no-compile --target "$SITE" "$whl" \
        && echo "wheel $dist: installed" || echo "wheel $dist: skipped (pip refused it)"
    else  # no pip: a wheel is a zip of site-packages (pure-Python ones need nothing else)
      "$PY" -m zipfile -e "$whl" "$SITE" && echo "wheel $dist: unpacked (no pip)"
    fi
  done
else
  echo "no wheels found (.whl/ or /work/main/.whl): optional packages may be missing"
fi

# --- steps under one deadline -------------------------------------------------------------
SUMMARY=()
step() {  # step SECONDS NAME COMMAND...
  local cap=$1 name=$2; shift 2
  local left=$((BUDGET - ($(date +%s) - START)))
  local secs=$((cap < left - 5 ? cap : left - 5))
  if [ "$secs" -lt 15 ]; then
    echo "=== $name: skipped (${left}s of the budget left)"
    SUMMARY+=("$name: skipped, out of time")
    return 0
  fi
  echo "=== $name (timeout ${secs}s)"
  if [ $DRY = 1 ]; then echo "would run: $*"; return 0; fi
  local t0; t0=$(date +%s)
  export HAMGEO_LATENCY_BUDGET_S=$((secs - 30))  # the latency suite keeps what it measured
  timeout -k 10 "$secs" "$@"; local rc=$?
  local took=$(($(date +%s) - t0))
  local why=""; [ $rc = 124 ] && why=" (timed out)"
  echo "=== $name: exit $rc$why in ${took}s"
  SUMMARY+=("$name: exit $rc$why, ${took}s")
  return 0
}

step 60 "devices" "$PY" -c "
import jax, hamgeo
from hamgeo.hamming import _native
d = jax.devices()
print('jax', jax.__version__, 'backend', jax.default_backend(), d, d[0].device_kind)
print('native:', _native.describe())
"

# The kernels and their consumers against NumPy / SciPy / POT on the GPU backend. Files whose
# top-level imports are missing here are skipped, with the reason.
if [ $QUICK = 1 ]; then
  CANDIDATES="tests/test_export.py"
  XDIST=2
else
  CANDIDATES="tests/test_hamming.py tests/test_codes.py tests/test_dispatch.py
    tests/test_compile_once.py tests/test_export.py tests/test_blocks.py tests/test_mmd.py
    tests/test_transport.py tests/test_gaussian.py tests/test_extract.py tests/test_relu.py
    tests/test_binary.py tests/test_regions.py tests/test_encoding.py"
  XDIST=4
fi
TESTS=$("$PY" - $CANDIDATES << 'EOF'
import ast, importlib.util, sys
for path in sys.argv[1:]:
    try:
        tree = ast.parse(open(path).read())
    except OSError:
        print(f"skip {path}: not in this checkout", file=sys.stderr)
        continue
    names = [a.name for n in tree.body if isinstance(n, ast.Import) for a in n.names]
    names += [n.module for n in tree.body if isinstance(n, ast.ImportFrom) and n.module and not n.level]
    missing = sorted({m.split(".")[0] for m in names if importlib.util.find_spec(m.split(".")[0]) is None})
    if missing:
        print(f"skip {path}: needs {', '.join(missing)} (not installed)", file=sys.stderr)
    else:
        print(path)
EOF
)
NPROC=()
"$PY" -c "import xdist" 2> /dev/null && NPROC=(-n "$XDIST")
# shellcheck disable=SC2086
TEST_CAP=170; [ $QUICK = 1 ] && TEST_CAP=90
step "$TEST_CAP" "tests" "$PY" -m pytest -q -ra -p no:cacheprovider -o addopts="" "${NPROC[@]}" \
  -k "not native" $TESTS

SIZE=()
if [ $QUICK = 1 ]; then SIZE=(--quick); export HAMGEO_BENCH_SMOKE=1; fi  # tiny sizes
suite() {  # suite SECONDS NAME [--quick]
  local cap=$1 name=$2; shift 2
  step "$cap" "suite $name" "$PY" -m hamgeo.bench --suite "$name" "$@" --json "$OUT/$name.json"
}
suite 110 hamming "${SIZE[@]}"   # GPU sizes unless --quick
suite 60 models "${SIZE[@]}"
suite 90 latency "${SIZE[@]}"
suite 45 transport --quick
suite 40 mmd --quick

# --- summary ------------------------------------------------------------------------------
echo
echo "=== summary ($(($(date +%s) - START))s in all; JSON and log.txt under $OUT)"
for line in "${SUMMARY[@]}"; do echo "  $line"; done
[ $DRY = 1 ] && exit 0
"$PY" - "$OUT" << 'EOF'
import json, sys
from pathlib import Path

out = Path(sys.argv[1])
def rows(name):
    try:
        return json.loads((out / f"{name}.json").read_text())["rows"]
    except (OSError, ValueError, KeyError):
        return []
meta = {}
for name in ("hamming", "models", "latency"):
    try:
        meta = json.loads((out / f"{name}.json").read_text())["meta"]
        break
    except (OSError, ValueError, KeyError):
        pass
print(f"  devices: {meta.get('devices')} backend {meta.get('backend')} jax {meta.get('jax')}")
groups = {}
for r in rows("hamming"):
    groups.setdefault((r["op"], r["shape"]), []).append(r)
for (op, shape), rs in groups.items():
    ours = [r for r in rs if r["impl"].startswith("hamgeo[") and "out=" not in r["impl"]]
    peers = [r for r in rs if not r["impl"].startswith("hamgeo")]
    auto = next((r for r in ours if r["impl"] == "hamgeo[auto]"), None)
    best = max(ours, key=lambda r: r["throughput"], default=None)
    if auto is None or best is None:
        continue
    line = f"  {op} {shape}: auto -> {auto['extra'].get('auto_choice')} {auto['throughput']:.3g} bit-pairs/s"
    line += f", auto/best {auto['extra'].get('auto_vs_best')}"
    if "fraction_of_int8_peak" in best["extra"]:
        line += f", best {best['impl']} at {best['extra']['fraction_of_int8_peak']:.0%} of int8 peak"
    for p in peers:
        line += f"; vs {p['impl']} {auto['throughput'] / p['throughput']:.2f}x"
    print(line)
for r in rows("models"):
    print(f"  models {r['op']} {r['shape']} {r['impl']}: {r['throughput']:.3g} {r['unit']}/s")
lat = [r for r in rows("latency") if "second_over_compute" in r["extra"]]
if lat:
    ok = sum(r["extra"]["within_target"] for r in lat)
    worst = sorted(lat, key=lambda r: -r["extra"]["second_over_compute"])[:3]
    recompiles = [r["op"] + " " + r["impl"] for r in lat if r["extra"]["compiles_2nd"]]
    print(f"  latency: 2nd call <= 2x compute for {ok}/{len(lat)}; recompiling on 2nd call: {recompiles or 'none'}")
    print("  latency worst: " + ", ".join(f"{r['op']} {r['impl']} {r['extra']['second_over_compute']}x" for r in worst))
for name in ("transport", "mmd"):
    print(f"  {name}: {len(rows(name))} rows")
EOF
