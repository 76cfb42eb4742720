"""Test-session set-up shared by tests/ and the doctests in hamgeo/.

Four simulated CPU devices (so sharded paths run on one machine) and strict rank
promotion; both must be set before JAX initializes its backends.
"""

import os

os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4"
).strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import matplotlib  # noqa: E402

matplotlib.use("Agg")
jax.config.update("jax_numpy_rank_promotion", "raise")
