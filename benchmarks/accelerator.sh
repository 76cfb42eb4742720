#!/usr/bin/env bash
# One command for a machine with an NVIDIA GPU (no network, repo copied, python3 with jax +
# CUDA plugin, flax, optax, scikit-learn, scipy, pytest, hypothesis already installed):
#
#     bash benchmarks/accelerator.sh [--dry-run]
#
# Runs the GPU-relevant tests, then the hamming / transport / mmd / models suites, writing
# JSON under $OUT (else benchmarks/results/). Each step has its own timeout; total < 8 min.
# hamgeo runs from the source tree (PYTHONPATH) with HAMGEO_DISABLE_NATIVE=1: no C++ build.
#
# Wheels the GPU image lacks go in .whl/ at the repo root (the lead downloads them on a
# machine with network, for CPython 3.11+/manylinux x86_64):
#     pip download --no-deps -d .whl ott-jax==0.5.0 mnist1d==0.0.2.post1 pooch==1.8.2 \
#         jaxopt==0.8.5 lineax==0.0.8 equinox==0.13.2 jaxtyping==0.3.2 wadler_lindig==0.1.7
# (POT and faiss are not needed: tests that need them skip with a reason.)
set -u
cd "$(dirname "$0")/.."
DRY=0
[ "${1:-}" = "--dry-run" ] && DRY=1
PY=${PYTHON:-python3}
RESULTS=${OUT:-benchmarks/results}
mkdir -p "$RESULTS"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export HAMGEO_DISABLE_NATIVE=1 HAMGEO_CACHE="${TMPDIR:-/tmp}/hamgeo-cache"
if compgen -G ".whl/*.whl" > /dev/null; then
  run_pip=("$PY" -m pip install --no-index --no-deps --target /tmp/site .whl/*.whl)
  if [ $DRY = 1 ]; then echo "would run: ${run_pip[*]}"; else "${run_pip[@]}" -q; fi
  export PYTHONPATH="$PYTHONPATH:/tmp/site"
fi

step() {  # step SECONDS NAME COMMAND...
  local secs=$1 name=$2; shift 2
  echo "=== $name (timeout ${secs}s)"
  if [ $DRY = 1 ]; then echo "would run: $*"; return 0; fi
  timeout "$secs" "$@"; local rc=$?
  echo "=== $name: exit $rc"
  return 0
}

step 30 "devices" "$PY" -c "import jax; print(jax.devices(), jax.devices()[0].device_kind)"
# The kernels and their consumers: every formulation against NumPy on the GPU backend.
step 150 "tests" "$PY" -m pytest -q -x -p no:cacheprovider \
  tests/test_hamming.py tests/test_codes.py tests/test_dispatch.py tests/test_compile_once.py \
  tests/test_mmd.py tests/test_transport.py tests/test_relu.py \
  -k "not native" -o addopts=""
for suite in hamming transport mmd models; do
  step 75 "bench $suite" "$PY" benchmarks/run.py --suite "$suite" --quick \
    --json "$RESULTS/accelerator-$suite.json"
done
echo "results under $RESULTS"
