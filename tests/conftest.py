import jax
import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "hamgeo",
    derandomize=True,
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("hamgeo")


@pytest.fixture
def key():
    """A fresh JAX key; tests split it locally."""
    return jax.random.key(0)


@pytest.fixture
def rng():
    """A NumPy generator for reference data."""
    return np.random.default_rng(12345)
