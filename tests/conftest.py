import os

# The suite runs `method="auto"` on the static rule: no timing probes, no writes to the
# user cache (tests/test_dispatch.py measures with a temporary cache directory).
os.environ.setdefault("HAMGEO_DISPATCH", "static")

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
    """Tolerance for comparing two float32 reductions of the same ``n_terms`` terms.

    ``magnitude`` bounds ``sum|x_i|``, the sum of the absolute values of the terms (not
    the size of one term): for a dot product ``sum|a_i w_i|``; for a relative tolerance on
    a sum of positive terms, 1. Elementwise results use ``f32_tol(k, |value|)`` for ``k``
    roundings. Two float32 sums of the same n terms in different orders (XLA picks the
    order per CPU and per fusion) differ by at most about ``2 (n - 1) eps sum|x_i|``; we
    allow twice that, ``4 n eps magnitude``, so the bound holds on any CPU. Exact integer
    results are compared exactly, never with this. See tests/README.md.
    """
    return 4.0 * max(int(n_terms), 1) * EPS32 * float(magnitude)


@pytest.fixture(name="f32_tol")
def _f32_tol_fixture():
    """The :func:`f32_tol` rule as a fixture."""
    return f32_tol


# --- network guard: the suite talks to loopback only ---------------------------------------

import ipaddress  # noqa: E402
import socket  # noqa: E402


class NetworkAccessBlocked(RuntimeError):
    """A test tried to reach a host other than loopback.

    Deliberately not an ``OSError``: code that retries on network errors (a download
    trying its next mirror) must not swallow it.
    """


_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def _is_local_host(host) -> bool:
    if host is None or host == "":
        return True
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    host = str(host).split("%", 1)[0].strip("[]").lower()
    if host in _LOCAL_NAMES or host.endswith(".localhost") or host == socket.gethostname().lower():
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_unspecified


def _check_address(sock, address) -> None:
    if getattr(socket, "AF_UNIX", None) is not None and sock.family == socket.AF_UNIX:
        return
    host = address[0] if isinstance(address, tuple) and address else address
    if not _is_local_host(host):
        raise NetworkAccessBlocked(f"tests may only connect to loopback, not {address!r}")


def _guarded_socket_methods():
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex
    sendto, getaddrinfo = socket.socket.sendto, socket.getaddrinfo

    def guarded_connect(self, address):
        _check_address(self, address)
        return connect(self, address)

    def guarded_connect_ex(self, address):
        _check_address(self, address)
        return connect_ex(self, address)

    def guarded_sendto(self, data, *args):
        _check_address(self, args[-1])
        return sendto(self, data, *args)

    def guarded_getaddrinfo(host, *args, **kwargs):
        # Resolving a remote name is the first step of reaching it (and may hang
        # without network); numeric addresses are checked at connect time.
        if not _is_local_host(host):
            try:
                ipaddress.ip_address(str(host).split("%", 1)[0])
            except ValueError:
                raise NetworkAccessBlocked(f"tests may not resolve {host!r}") from None
        return getaddrinfo(host, *args, **kwargs)

    return {
        (socket.socket, "connect"): guarded_connect,
        (socket.socket, "connect_ex"): guarded_connect_ex,
        (socket.socket, "sendto"): guarded_sendto,
        (socket, "getaddrinfo"): guarded_getaddrinfo,
    }


@pytest.fixture(scope="session", autouse=True)
def _loopback_only():
    """Every test runs with connections beyond loopback (and name lookups) refused.

    Unix sockets, 127.0.0.0/8, ::1 and localhost stay open: the loopback HTTP server of
    the download tests, jax.distributed's loopback coordinator, pytest-xdist's workers
    (which talk over pipes anyway). Subprocesses are not covered; they get no network
    from hamgeo's tests either.
    """
    with pytest.MonkeyPatch.context() as mp:
        for (owner, name), guarded in _guarded_socket_methods().items():
            mp.setattr(owner, name, guarded)
        yield
