"""The jit contract: each public docstring's statement, checked against the code.

Every public function says in one docstring line either ``Traceable: jit, vmap`` (with
``grad`` where gradients flow) or ``Host-only: <why>``. This test walks the public API
(``hamgeo`` and ``hamgeo.nets`` / ``data`` / ``regions`` / ``encoding`` /
``binary_geometry``), reads the line, and calls the function on small inputs: a traceable
one must give under ``jax.jit`` (and ``jax.vmap`` over a batch of two) what it gives
eagerly, and ``jax.grad`` must be finite (where a traced input is floating); a host-only
one must raise hamgeo's ``TypeError`` ("... is host-only ...") under ``jit``, never a raw
tracer error. A host-only function with no array argument (paths, names, options: nothing
a trace could reach) is called eagerly and must return.

Functions that state nothing yet, or have no sample input below, are listed by the
``*_listed`` tests, which fail once ``STRICT`` is on (the lead turns it on when the sweep is
done).
"""

from __future__ import annotations

import inspect
import re
import tarfile
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import hamgeo
from hamgeo import binary_geometry, data, encoding, nets, regions

STRICT = True

# statements the code does not keep yet (their owners are fixing them): expected failures
# until then; any other mismatch fails now
PENDING: set[str] = set()

MODULES = (hamgeo, nets, data, regions, encoding, binary_geometry)
STATEMENT = re.compile(
    r"^\s*(?:Traceable:\s*(?P<t>(?:jit|vmap|grad)(?:\s*,\s*(?:jit|vmap|grad))*)|Host-only:)", re.M
)


def _public() -> dict[str, Callable[..., Any]]:
    found: dict[str, Callable[..., Any]] = {}
    for module in MODULES:
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if inspect.isfunction(obj):
                found.setdefault(name, obj)
    return found


def _contract(fn: Callable[..., Any]) -> set[str] | None:
    """``{"jit", "vmap", ...}``, ``set()`` for host-only, ``None`` when nothing is stated."""
    m = STATEMENT.search(inspect.getdoc(fn) or "")
    if m is None:
        return None
    if m.group("t") is None:
        return set()
    return {t.strip() for t in m.group("t").split(",")}


# ------------------------------------------------------------------------- sample inputs

_RNG = np.random.default_rng(17)
BITS = _RNG.random((7, 37)) > 0.5
BITS2 = _RNG.random((9, 37)) > 0.5
X = _RNG.normal(size=(7, 3)).astype(np.float32)
Y = _RNG.normal(size=(9, 3)).astype(np.float32) + 0.5
LABELS = np.arange(7) % 3
LABELS2 = np.arange(9) % 3
KEY = jax.random.key(0)
MODEL = nets.MLP((6, 5), 3)
VARIABLES = MODEL.init(KEY, X[:1])
MODEL2 = nets.MLP((6,), 2)
VARIABLES2 = MODEL2.init(KEY, np.zeros((1, 2), np.float32))
P2 = _RNG.random((4, 2)).astype(np.float32)
Q2 = _RNG.random((4, 2)).astype(np.float32)
KEYS = jax.random.split(KEY, 2)
STACKED = nets.init_many(MODEL, X[:1], keys=KEYS)
BMODEL = nets.BinaryMLP((6,), 2)
BVARIABLES = BMODEL.init(KEY, X[:1])
DATASET = data.Dataset(X, LABELS.astype(np.int32), X[:4], LABELS[:4].astype(np.int32))
LATENT = {"w": {"latent_kernel": jnp.array([0.9, -0.9])}, "b": jnp.array([0.9])}
GRADS = {"w": {"latent_kernel": jnp.array([-0.5, 0.5])}, "b": jnp.array([-0.5])}


def _case(*args: Any, traced: tuple[int | str, ...] = (0,), **kwargs: Any):
    return args, kwargs, traced


def _clip_step(fn):
    """``clip_latent_weights`` is a factory: its contract is the transformation's update."""

    def step(grads, params):
        tx = fn(-1.0, 1.0)
        updates, _ = tx.update(grads, tx.init(params), params)
        return optax.apply_updates(params, updates)

    return step


def _fake(tmp_path, name):
    """A fake copy of data set ``name`` under ``tmp_path`` (the loader's ``root``)."""
    data.write_fake(name, tmp_path, n_train=8, n_test=4)  # into tmp_path / name
    return tmp_path


def _fake_files(tmp_path, name):
    """The directory of a fake copy's raw files (CIFAR-10's archive extracted)."""
    data.write_fake(name, tmp_path, n_train=8, n_test=4)
    folder = tmp_path / name
    if name != "cifar10":
        return folder
    with tarfile.open(next(folder.glob("*.tar.gz"))) as archive:
        archive.extractall(tmp_path / "extracted", filter="data")
    return tmp_path / "extracted" / "cifar-10-batches-bin"


def _partition():
    return regions.slice_partition(MODEL2, VARIABLES2, P2[0], P2[1], P2[2], resolution=8)


def _saved(tmp_path):
    return nets.save(tmp_path / "model.msgpack", MODEL, VARIABLES, overwrite=False)


# name -> (positional args, keyword args, the traced arguments: indices of positional ones,
# names of keyword ones); a case that takes an argument gets pytest's ``tmp_path``
CASES: dict[str, Callable[..., tuple[tuple, dict, tuple[int | str, ...]]]] = {
    "pack_bits": lambda: _case(BITS),
    "unpack_bits": lambda: _case(hamgeo.pack_bits(BITS)),
    "to_packbits": lambda: _case(BITS),
    "from_packbits": lambda: _case(np.packbits(BITS, axis=-1, bitorder="little"), 37),
    "pairwise_hamming": lambda: _case(BITS, BITS2, traced=(0, 1)),
    "hamming_knn": lambda: _case(BITS, BITS2, 2, traced=(0, 1)),
    "frechet_distance": lambda: _case(X, Y, traced=(0, 1)),
    "mmd": lambda: _case(BITS, BITS2, traced=(0, 1)),
    "mmd_test": lambda: _case(BITS, BITS2, traced=(0, 1), key=KEY, n_permutations=20),
    "wasserstein": lambda: _case(BITS, BITS2, traced=(0, 1)),
    "exact_wasserstein": lambda: _case(BITS, BITS2, traced=(0, 1)),
    "redundancy_ratio": lambda: _case(BITS),
    "count_regions": lambda: _case(BITS),
    "region_ids": lambda: _case(BITS),
    "redundancy_ratio_per_layer": lambda: _case(BITS, [slice(0, 20), slice(20, 37)]),
    "count_regions_per_layer": lambda: _case(BITS, [slice(0, 20), slice(20, 37)]),
    "select_bits": lambda: _case(BITS, 3, 20),
    "preactivations": lambda: _case(MODEL, VARIABLES, X, traced=(2,)),
    "activation_codes": lambda: _case(MODEL, VARIABLES, X, traced=(2,)),
    "layer_slices": lambda: _case(MODEL, VARIABLES, X, traced=(2,)),
    "accuracy": lambda: _case(MODEL, VARIABLES, X, LABELS, traced=(2,)),
    "sign_ste": lambda: _case(jnp.asarray(X)),
    "binarization_angles": lambda: _case(traced=("key",), key=KEY, dim=8, n=5),
    "angle_theory": lambda: _case(16, traced=()),
    "sign_angle_limit": lambda: _case("gaussian", traced=()),
    "dot_product_preservation": lambda: _case(BMODEL, BVARIABLES, X, traced=(2,), key=KEY),
    "plot_partition": lambda: _case(_partition(), traced=()),
    "label_noise": lambda: _case(LABELS, 0.3, 3, traced=(0,), key=KEY),
    "mlp_layers": lambda: _case(VARIABLES),
    "knn_classify": lambda: _case(BITS, LABELS, BITS2, traced=(0, 2), k=3),
    "knn_accuracy": lambda: _case(BITS, LABELS, BITS2, LABELS2, traced=(0, 2), k=3),
    "kmeans_accuracy": lambda: _case(BITS, LABELS, BITS2, LABELS2, traced=(0, 2), key=KEY),
    "logreg_accuracy": lambda: _case(BITS, LABELS, BITS2, LABELS2, traced=(0, 2)),
    "line_regions": lambda: _case(MODEL2, VARIABLES2, P2[0], Q2[0], traced=(2, 3)),
    "crossing_distance": lambda: _case(MODEL2, VARIABLES2, P2, Q2, traced=(2, 3)),
    "facet_hamming": lambda: _case(MODEL2, VARIABLES2, P2, Q2, traced=(2, 3)),
    "tessellation_distance": lambda: _case(MODEL2, VARIABLES2, P2[:2], Q2[:2], traced=(2, 3)),
    "cell_facets": lambda: _case(MODEL2, VARIABLES2, P2, traced=(2,)),
    "cell_graph": lambda: _case(MODEL2, VARIABLES2, P2[0], P2[1], P2[2], traced=(2, 3, 4)),
    "exact_slice_partition": lambda: _case(
        MODEL2, VARIABLES2, P2[0], P2[1], P2[2], traced=(2, 3, 4)
    ),
    "slice_partition": lambda: _case(
        MODEL2, VARIABLES2, P2[0], P2[1], P2[2], traced=(2, 3, 4), resolution=8
    ),
    # nets
    "accuracy_many": lambda: _case(MODEL, STACKED, X, LABELS, traced=(2,)),
    "activation_codes_many": lambda: _case(MODEL, STACKED, X, traced=(2,)),
    "binary_layer_io": lambda: _case(BMODEL, BVARIABLES, X, traced=(2,)),
    "clip_latent_weights": lambda: _case(GRADS, LATENT, traced=(0, 1)),
    "mask_mlp_widths": lambda: _case(VARIABLES, np.array([4, 3]), traced=(0,)),
    "init_many": lambda: _case(MODEL, X[:1], traced=(1,), keys=KEYS),
    "make_train_step": lambda: _case(MODEL, VARIABLES, optax.sgd(0.1), traced=(1,)),
    "make_epoch": lambda: _case(MODEL, VARIABLES, optax.sgd(0.1), traced=(1,), batch_size=4),
    "train": lambda: _case(
        MODEL,
        DATASET,
        traced=("key",),
        key=KEY,
        epochs=1,
        batch_size=4,
        learning_rate=0.1,
        progress=False,
    ),
    "train_many": lambda: _case(
        MODEL,
        DATASET,
        traced=("keys",),
        keys=KEYS,
        epochs=1,
        batch_size=4,
        learning_rate=0.1,
        progress=False,
    ),
    "save": lambda tmp_path: _case(
        tmp_path / "model.msgpack", MODEL, VARIABLES, traced=(2,), overwrite=False
    ),
    "load": lambda tmp_path: _case(_saved(tmp_path), traced=()),
    "model_config": lambda: _case(MODEL, traced=()),
    "model_from_config": lambda: _case(nets.model_config(MODEL), traced=()),
    # data
    "cache_dir": lambda tmp_path: _case(traced=(), root=tmp_path),
    "write_fake": lambda tmp_path: _case("mnist", tmp_path, traced=(), n_train=8, n_test=4),
    "load_mnist": lambda tmp_path: _case(_fake_files(tmp_path, "mnist"), traced=()),
    "load_cifar10": lambda tmp_path: _case(_fake_files(tmp_path, "cifar10"), traced=()),
    # fake files do not match the pinned checksums: verify=False reads them
    "mnist": lambda tmp_path: _case(
        traced=(), root=_fake(tmp_path, "mnist"), download=False, verify=False
    ),
    "fashion_mnist": lambda tmp_path: _case(
        traced=(), root=_fake(tmp_path, "fashion-mnist"), download=False, verify=False
    ),
    "cifar10": lambda tmp_path: _case(
        traced=(), root=_fake(tmp_path, "cifar10"), download=False, verify=False
    ),
    "digits": lambda: _case(traced=()),
    "mnist1d": lambda: _case(traced=()),
    "gaussian_grid": lambda: _case(traced=("key",), key=KEY, per_axis=2, n_per_gaussian=5),
    "diagonal_probe": lambda: _case(jnp.linspace(0.0, 1.0, 5, dtype=jnp.float32)),
    # binary_geometry
    "angle_overlap": lambda: _case(X[:, 0], Y[:, 0], traced=(0, 1)),
}

# functions tested through an adapter: name -> (the function -> what is tested)
ADAPTERS: dict[str, Callable[[Callable[..., Any]], Callable[..., Any]]] = {
    "clip_latent_weights": _clip_step,
}


def _call(fn, args, kwargs, traced):
    """``fn`` as a function of the traced arguments only (the rest closed over)."""

    def partial(*values):
        full, named = list(args), dict(kwargs)
        for i, v in zip(traced, values, strict=True):
            if isinstance(i, str):
                named[i] = v
            else:
                full[i] = v
        out = fn(*full, **named)
        # static metadata (a layer's name or kind) is not an array: left out of the comparison
        return jax.tree.map(lambda leaf: None if isinstance(leaf, str) else leaf, out)

    return partial, [kwargs[i] if isinstance(i, str) else args[i] for i in traced]


def _sample(name, tmp_path):
    case = CASES[name]
    return case(tmp_path) if inspect.signature(case).parameters else case()


def _is_float(value) -> bool:
    leaves = jax.tree.leaves(value)
    return bool(leaves) and all(jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating) for x in leaves)


def _as_jax(value):
    return jax.tree.map(jnp.asarray, value)


def _assert_same(got, want, what):
    got_leaves, want_leaves = jax.tree.leaves(got), jax.tree.leaves(want)
    assert len(got_leaves) == len(want_leaves), f"{what}: a different structure"
    for g, w in zip(got_leaves, want_leaves, strict=True):
        g, w = np.asarray(g), np.asarray(w)
        if np.issubdtype(w.dtype, np.floating):
            # the same float32 computation compiled apart: a few ulps on these small sizes
            np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5, err_msg=what)
        else:
            np.testing.assert_array_equal(g, w, err_msg=what)


STATED = {n: f for n, f in _public().items() if _contract(f) is not None}
CHECKED = sorted(n for n in STATED if n in CASES)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(reason="pending fix", strict=STRICT))
        if n in PENDING and not STRICT
        else n
        for n in CHECKED
    ],
)
def test_statement_holds(name, tmp_path):
    fn = STATED[name]
    contract = _contract(fn)
    args, kwargs, traced = _sample(name, tmp_path)
    fn = ADAPTERS.get(name, lambda f: f)(fn)
    partial, values = _call(fn, args, kwargs, traced)
    values = [_as_jax(v) for v in values]
    if not contract:  # host-only
        if not traced:  # nothing a trace could reach: it must run on the host
            partial()
            return
        with pytest.raises(TypeError, match="host-only"):
            jax.jit(partial)(*values)
        return
    eager = partial(*values)
    if "jit" in contract:
        _assert_same(jax.jit(partial)(*values), eager, f"{name} under jit")
    if "vmap" in contract:
        pair = [jax.tree.map(lambda a: jnp.stack([a, a]), v) for v in values]
        batched = jax.vmap(partial)(*pair)
        first = jax.tree.map(lambda a: a[0], batched)
        _assert_same(first, eager, f"{name} under vmap")
    # grad is checked where a traced input is floating (codes and bits have no gradient)
    position = next((i for i, v in enumerate(values) if _is_float(v)), None)
    if "grad" in contract and position is not None:

        def total(*vs):
            out = partial(*vs)
            return sum(
                jnp.sum(leaf)
                for leaf in jax.tree.leaves(out)
                if jnp.issubdtype(leaf.dtype, jnp.floating)
            )

        grad = jax.grad(total, argnums=position)(*values)
        for leaf in jax.tree.leaves(grad):
            assert np.isfinite(np.asarray(leaf)).all(), f"{name}: gradient not finite"


def test_functions_without_a_statement_are_listed():
    missing = sorted(n for n, f in _public().items() if _contract(f) is None)
    if missing and not STRICT:
        pytest.xfail(f"{len(missing)} public functions state no jit contract: {missing}")
    assert not missing, f"public functions without a jit contract line: {missing}"


def test_stated_functions_without_a_sample_input_are_listed():
    unchecked = sorted(n for n in STATED if n not in CASES)
    if unchecked and not STRICT:
        pytest.xfail(f"no sample input in CASES for: {unchecked}")
    assert not unchecked, f"add a sample input to CASES for: {unchecked}"


def test_the_statement_parser():
    def traceable():
        """Do it.

        Traceable: jit, vmap, grad (with a note)
        """

    def host():
        """Do it.

        Host-only: reads files.
        """

    def silent():
        """Do it under jit (prose is not a statement)."""

    assert _contract(traceable) == {"jit", "vmap", "grad"}
    assert _contract(host) == set()
    assert _contract(silent) is None
