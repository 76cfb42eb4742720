"""Test-session set-up shared by tests/ and the doctests in hamgeo/.

Four simulated CPU devices (so sharded paths run on one machine), strict rank promotion,
XLA's lowest backend optimization level and a shared compilation cache; the flags must be
set before JAX initializes its backends.
"""

import os
from pathlib import Path

# XLA compiles the suite's programs at LLVM's lowest optimization level: the programs are small
# and run once or twice, so compiling is most of their cost (a tiny discriminability run: 76 s
# at the default level, 54 s at 0). It changes code generation, not the arithmetic XLA asks
# for (no fast-math), so results stay within the float32 tolerances the tests state.
# HAMGEO_TEST_XLA_OPT=default keeps XLA's default level.
if os.environ.get("HAMGEO_TEST_XLA_OPT", "0") != "default" and (
    "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", "")
):
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0"
    ).strip()


os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4"
).strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import matplotlib  # noqa: E402

matplotlib.use("Agg")
jax.config.update("jax_numpy_rank_promotion", "raise")

# Most of the suite's time is XLA compilation, and the test processes (pytest-xdist workers,
# `make test`'s second pass on the pure-XLA paths) compile many of the same programs: they
# share one persistent compilation cache under build/. It holds compiled programs only, keyed
# by their HLO, jax version and flags: a hit gives the executable a compile would. (No size
# limit: JAX's eviction rescans the folder on every write, which costs more than it saves
# here; an entry another worker is still writing fails to decompress, and JAX then warns and
# compiles.) The counting tests (tests/test_compile_once.py) count compilations after the
# first call, which this cache does not touch. HAMGEO_TEST_COMPILATION_CACHE="" turns it off.
_CACHE = os.environ.get(
    "HAMGEO_TEST_COMPILATION_CACHE",
    str(Path(__file__).resolve().parent / "build" / "xla-cache"),
)
if _CACHE:
    jax.config.update("jax_compilation_cache_dir", _CACHE)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
