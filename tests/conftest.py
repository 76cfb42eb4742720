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


EPS32 = float(np.finfo(np.float32).eps)


def f32_tol(n_terms: int, magnitude: float = 1.0) -> float:
    """Tolerance for comparing float32 results that reduce ``n_terms`` terms of size ``magnitude``.

    Two float32 sums of the same n terms in different orders (XLA picks the order per CPU
    and per fusion) differ by at most about ``2 (n - 1) eps sum|x_i|``; we allow twice that,
    ``4 n eps magnitude``, so the bound holds on any CPU. Exact integer results are compared
    exactly, never with this. See tests/README.md.
    """
    return 4.0 * max(int(n_terms), 1) * EPS32 * float(magnitude)


@pytest.fixture(name="f32_tol")
def _f32_tol_fixture():
    """The :func:`f32_tol` rule as a fixture."""
    return f32_tol
