"""Fuzz: generated bad and edge inputs against every public function of hamgeo.

The contract (CONTRIBUTING.md, "Errors": never silently wrong): a call with one bad argument either
raises ``TypeError`` / ``ValueError`` whose message names that argument in backticks
(``FileNotFoundError`` for a missing path), or returns a result equal to a NumPy
reference. Never a raw backend error (``XlaRuntimeError``, a flax scope error,
``AttributeError``, ``ZeroDivisionError``, ``OverflowError``, a JAX shape ``TypeError``
that names no argument), never a silent wrong value.

Three suites:

* ``test_bad_argument_is_refused_naming_it``: every public function of ``hamgeo``,
  ``hamgeo.nets`` and the synthetic loaders of ``hamgeo.data`` (plus the file loaders'
  path argument), called with valid arguments except one, which hypothesis draws from
  the bad inputs of that argument's kind. Every such input must be refused, naming it
  (``None`` is skipped where it is the argument's documented default).
* ``test_edge_codes_match_numpy``: valid but extreme codes (0 points, 0 bits, 1, 31,
  33, 65 bits, duplicates, truncation at 1 and beyond ``n_bits``) through packing,
  ``to_packbits``, ``pairwise_hamming``, ``hamming_knn`` and ``exact_wasserstein``,
  each against a NumPy / SciPy brute force.
* ``test_edge_regions_match_numpy``: the same for ``count_regions`` and
  ``redundancy_ratio``.

Kinds of input covered (34):

1. a string; 2. ``None``; 3. a list of strings; 4. a dict; 5. a non-integral float
where an integer is due (2.5, and any float hypothesis draws); 6. an integral float
(3.0); 7. a bool where a number is due; 8. NaN; 9. +inf; 10. -inf; 11. a negative
number; 12. zero where a positive number is due; 13. 2**31 and beyond (past int32);
14. 2**63 and beyond (past int64); 15. a complex number; 16. an array where a scalar is
due; 17. a non-bool flag (a string, a float, an array); 18. an unknown option string or
an int option; 19. an int where a PRNG key is due (``key=0``); 20. a batch of keys;
21. a float array as codes; 22. codes holding values other than 0 and 1; 23. NaN
codes; 24. complex arrays; 25. ragged nested lists; 26. arrays of the wrong rank or
length (scalar codes, 2-D labels and weights, vectors of the wrong length); 27. codes
with another ``n_bits`` than their partner; 28. empty samples and zero-bit codes (edge
suites); 29. NaN / inf in real arrays; 30. weights that are negative or all zero;
31. labels negative, >= 2**31, boolean or float; 32. a missing path, and a path that
is not a path; 33. a model that is not one (a function, a plain flax layer, a number);
34. variables that do not fit (another model's, without ``params``, with NaN).

Cases that fail in modules other helpers are still fixing are marked
``xfail(strict=True)`` with the module and what is wrong: once fixed they XPASS and
fail, so the mark is removed.
"""

from __future__ import annotations

import functools
import inspect
import math
import re
import types
from collections.abc import Callable
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import Phase, assume, given, settings
from hypothesis import strategies as st

import hamgeo
from conftest import f32_tol
from hamgeo import data, nets

# --------------------------------------------------------------------------- bad values

_COMMON = {
    "str": "abc",
    "none": None,
    "list_of_str": ["a", "b"],
    "dict": {"a": 1},
    "complex": 1 + 2j,
}
_NUMBER_BAD = {
    "nan": math.nan,
    "inf": math.inf,
    "-inf": -math.inf,
    "bool": True,
    "array": np.array([1.0, 2.0]),
}


def _bad_count(minimum: int) -> st.SearchStrategy:
    """Bad values for an integer count ``>= minimum``."""
    fixed = {
        **_COMMON,
        **_NUMBER_BAD,
        "float_for_int": 2.5,
        "integral_float": 3.0,
        "below": minimum - 1,
        "2**31": 2**31,
        "2**63": 2**63,
    }
    return st.one_of(
        st.sampled_from(sorted(fixed.items())),
        st.tuples(st.just("float"), st.floats()),
        st.tuples(st.just("small"), st.integers(max_value=minimum - 1)),
        st.tuples(st.just("huge"), st.integers(min_value=2**31, max_value=2**80)),
    )


def _bad_real(*, positive: bool = True, above: float | None = None) -> st.SearchStrategy:
    """Bad values for a finite real (> 0 when ``positive``; >= ``above`` if given)."""
    fixed = {**_COMMON, **_NUMBER_BAD}
    if positive:
        fixed |= {"zero": 0.0, "negative": -1.5}
    if above is not None:
        fixed |= {"below": above - 0.5}
    extra = (
        st.tuples(st.just("nonpositive"), st.floats(max_value=0.0, allow_nan=False))
        if positive
        else st.nothing()
    )
    return st.one_of(st.sampled_from(sorted(fixed.items(), key=str)), extra)


def _bad_fixed(values: dict[str, Any]) -> st.SearchStrategy:
    return st.sampled_from(sorted(values.items(), key=lambda kv: kv[0]))


def _codes_bad() -> dict[str, Any]:
    return {
        **_COMMON,
        "float_codes": np.full((4, 5), 0.5),
        "nan_codes": np.full((4, 5), np.nan),
        "complex_codes": np.ones((4, 5), complex),
        "values_not_0_1": np.full((4, 5), 2),
        "ragged": [[0, 1], [1]],
        "scalar": 1,
    }


def _real_array_bad() -> dict[str, Any]:
    return {
        **_COMMON,
        "nan_array": np.full((4, 2), np.nan),
        "inf_array": np.full((4, 2), np.inf),
        "complex_array": np.ones((4, 2), complex),
        "ragged": [[0.0, 1.0], [1.0]],
        "strings": np.array([["a", "b"]] * 4),
    }


_LABELS_BAD = {
    **_COMMON,
    "float_labels": np.array([0.0, 1.0, 0.0, 1.0]),
    "bool_labels": np.array([True, False, True, False]),
    "negative": np.array([0, -1, 0, 1]),
    "too_large": np.array([0, 1, 0, 2**31], np.int64),
    "2d": np.zeros((4, 1), int),
}
_VARIABLES_BAD = {
    "none": None,
    "str": "params",
    "list": [1, 2],
    "no_params": {"batch_stats": {}},
}

_BAD = {
    "count": lambda: _bad_count(1),
    "count0": lambda: _bad_count(0),
    "positive": lambda: _bad_real(),
    "p": lambda: _bad_real(above=1.0),
    "real": lambda: _bad_real(positive=False),
    "nonneg": lambda: _bad_fixed({**_COMMON, **_NUMBER_BAD, "negative": -1.5}),
    "bound": lambda: _bad_fixed(
        {**_COMMON, "nan": math.nan, "bool": True, "array": np.array([1.0, 2.0])}
    ),
    "probability": lambda: _bad_fixed(
        {**_COMMON, **_NUMBER_BAD, "negative": -0.1, "above_one": 1.5}
    ),
    "flag": lambda: _bad_fixed({**_COMMON, "str_no": "no", "float": 0.5, "array": np.ones(2)}),
    "choice": lambda: _bad_fixed({**_COMMON, "unknown": "no-such-option", "int": 3}),
    "key": lambda: _bad_fixed(
        {
            **_COMMON,
            "int_key": 0,
            "float": 0.5,
            "float_array": np.zeros(2, np.float32),
            "batch_of_keys": jax.random.split(jax.random.key(0), 2),
        }
    ),
    "codes": lambda: _bad_fixed(_codes_bad()),
    "codes_other_bits": lambda: _bad_fixed(
        {**_codes_bad(), "other_n_bits": np.zeros((4, 7), bool)}
    ),
    "real_array": lambda: _bad_fixed(_real_array_bad()),
    "vector": lambda: _bad_fixed({**_real_array_bad(), "wrong_length": np.zeros(5)}),
    "weights": lambda: _bad_fixed(
        {
            **_real_array_bad(),
            "negative": np.array([-1.0, 0.5, 0.5, 1.0]),
            "wrong_length": np.ones(3),
            "all_zero": np.zeros(4),
            "2d": np.ones((4, 1)),
        }
    ),
    "labels": lambda: _bad_fixed({**_LABELS_BAD, "wrong_length": np.zeros(3, int)}),
    "labels_free": lambda: _bad_fixed(_LABELS_BAD),
    "path": lambda: _bad_fixed(
        {"none": None, "int": 3, "list": ["a"], "dict": {"a": 1}, "missing": "/no/such/dir/f"}
    ),
    "model": lambda: _bad_fixed(
        {**_COMMON, "function": lambda x: x, "plain_flax_layer": nn.Dense(3), "int": 3}
    ),
    "variables": lambda: _bad_fixed(
        {**_VARIABLES_BAD, "other_model": _fx().other_vars, "nan": _fx().nan_vars}
    ),
    # with model=None the variables define the network: another MLP's are valid
    "region_variables": lambda: _bad_fixed(
        {**_VARIABLES_BAD, "nan": jax.tree.map(lambda a: a * np.nan, _fx().region_vars)}
    ),
    "widths": lambda: _bad_fixed(
        {
            **_COMMON,
            "int": 4,
            "float_width": (2.5,),
            "zero_width": (0,),
            "negative_width": (-1,),
            "bool_width": (True,),
            "huge_width": (2**31,),
        }
    ),
    "data": lambda: _bad_fixed({**_COMMON, "int": 3}),
    "partition": lambda: _bad_fixed({**_COMMON, "int": 3, "array": np.zeros((2, 2))}),
    "slices": lambda: _bad_fixed(
        {**_COMMON, "int": 3, "out_of_range": [slice(0, 99)], "floats": [(0.5, 2.5)]}
    ),
}


# --------------------------------------------------------------------------- valid fixtures


@functools.cache
def _fx() -> types.SimpleNamespace:
    """Small valid arguments, built once (jitted inits: one compilation each)."""
    rng = np.random.default_rng(0)
    key = jax.random.key(0)
    bits = rng.random((4, 5)) < 0.5
    mlp = nets.MLP((4,), 3)
    mlp_vars = jax.jit(mlp.init)(key, jnp.ones((1, 2)))
    other = nets.MLP((6,), 3)
    bmlp = nets.BinaryMLP((4,), 3)
    x = rng.normal(size=(4, 2)).astype(np.float32)
    labels = np.array([0, 1, 2, 1])
    region_vars = {
        "params": {
            "hidden_0": {"kernel": rng.normal(size=(2, 5)), "bias": rng.normal(size=5) * 0.3},
            "head": {"kernel": np.ones((5, 3)), "bias": np.zeros(3)},
        }
    }
    ns = types.SimpleNamespace(
        key=key,
        bits=bits,
        bits2=rng.random((4, 5)) < 0.5,
        codes=hamgeo.pack_bits(bits),
        mlp=mlp,
        mlp_vars=mlp_vars,
        other_vars=jax.jit(other.init)(key, jnp.ones((1, 2))),
        nan_vars=jax.tree.map(lambda a: a * jnp.nan, mlp_vars),
        bmlp=bmlp,
        bmlp_vars=jax.jit(bmlp.init)(key, jnp.ones((1, 2))),
        x=x,
        y=rng.normal(size=(4, 2)).astype(np.float32) + 1.0,
        labels=labels,
        dataset=data.Dataset(x, labels, x, labels),
        region_vars=region_vars,
        plane=(np.zeros(2), np.array([1.0, 0.0]), np.array([0.0, 1.0])),
    )
    ns.partition = hamgeo.slice_partition(None, region_vars, *ns.plane, resolution=4)
    ns.stacked = nets.init_many(mlp, x, keys=jax.random.split(key, 2))
    return ns


def _codes_pair(**kw):
    f = _fx()
    return {"x": f.bits, "y": f.bits2, **kw}


def _regions(**kw):
    f = _fx()
    return {"model": None, "variables": f.region_vars, **kw}


def _plane(**kw):
    o, u, v = _fx().plane
    return _regions(origin=o, u=u, v=v, **kw)


def _pts(n=2):
    return np.linspace(-0.5, 0.5, 2 * n).reshape(n, 2)


# name -> (function, valid keyword arguments, {argument: kind of bad values})
_CASES: dict[str, tuple[Callable[[], Callable], Callable[[], dict], dict[str, str]]] = {
    # codes
    "pack_bits": (lambda: hamgeo.pack_bits, lambda: {"bits": _fx().bits}, {"bits": "codes"}),
    "unpack_bits": (
        lambda: hamgeo.unpack_bits,
        lambda: {"codes": _fx().codes},
        {"codes": "codes"},
    ),
    "from_packbits": (
        lambda: hamgeo.from_packbits,
        lambda: {"data": np.zeros((3, 2), np.uint8), "n_bits": 10},
        {"data": "real_array", "n_bits": "count0", "bitorder": "choice"},
    ),
    "to_packbits": (
        lambda: hamgeo.to_packbits,
        lambda: {"codes": _fx().codes},
        {"codes": "codes", "bitorder": "choice"},
    ),
    "PackedCodes": (
        lambda: hamgeo.PackedCodes,
        lambda: {"words": np.zeros((3, 1), np.uint32), "n_bits": 5},
        {"n_bits": "count0"},
    ),
    # hamming kernels
    "pairwise_hamming": (
        lambda: hamgeo.pairwise_hamming,
        _codes_pair,
        {
            "x": "codes",
            "y": "codes_other_bits",
            "truncate": "count0",
            "method": "choice",
            "block_size": "count",
        },
    ),
    "hamming_knn": (
        lambda: hamgeo.hamming_knn,
        lambda: {"queries": _fx().bits, "base": _fx().bits2, "k": 2},
        {
            "queries": "codes",
            "base": "codes_other_bits",
            "k": "count",
            "exclude_self": "flag",
            "method": "choice",
            "block_size": "count",
        },
    ),
    # nets, as re-exported by hamgeo
    "activation_codes": (
        lambda: hamgeo.activation_codes,
        lambda: {"model": _fx().mlp, "variables": _fx().mlp_vars, "x": _fx().x},
        {"model": "model", "variables": "variables", "x": "real_array", "batch_size": "count"},
    ),
    "preactivations": (
        lambda: hamgeo.preactivations,
        lambda: {"model": _fx().mlp, "variables": _fx().mlp_vars, "x": _fx().x},
        {"model": "model", "variables": "variables", "x": "real_array"},
    ),
    # distances
    "frechet_distance": (
        lambda: hamgeo.frechet_distance,
        lambda: {"x": _fx().x, "y": _fx().y},
        {"x": "real_array", "y": "real_array"},
    ),
    "mmd": (
        lambda: hamgeo.mmd,
        _codes_pair,
        {
            "x": "codes",
            "y": "codes_other_bits",
            "kernel": "choice",
            "bandwidth": "positive",
            "unbiased": "flag",
            "block_size": "count",
        },
    ),
    "mmd_test": (
        lambda: hamgeo.mmd_test,
        lambda: _codes_pair(key=_fx().key, n_permutations=5),
        {
            "x": "codes",
            "key": "key",
            "n_permutations": "count",
            "bandwidth": "positive",
            "unbiased": "flag",
        },
    ),
    "wasserstein": (
        lambda: hamgeo.wasserstein,
        lambda: _codes_pair(epsilon=0.5, max_iterations=50),
        {
            "x": "codes",
            "y": "codes_other_bits",
            "cost": "choice",
            "p": "p",
            "epsilon": "positive",
            "debiased": "flag",
            "a": "weights",
            "b": "weights",
            "threshold": "positive",
            "max_iterations": "count",
            "method": "choice",
            "block_size": "count",
        },
    ),
    "exact_wasserstein": (
        lambda: hamgeo.exact_wasserstein,
        _codes_pair,
        {"x": "codes", "y": "codes_other_bits", "cost": "choice", "p": "p", "a": "weights"},
    ),
    # binary geometry
    "binarization_angles": (
        lambda: hamgeo.binarization_angles,
        lambda: {"key": _fx().key, "dim": 3, "n": 4},
        {
            "key": "key",
            "dim": "count",
            "n": "count",
            "distribution": "choice",
            "batch_size": "count",
        },
    ),
    "dot_product_preservation": (
        lambda: hamgeo.dot_product_preservation,
        lambda: {
            "model": _fx().bmlp,
            "variables": _fx().bmlp_vars,
            "x": _fx().x,
            "key": _fx().key,
        },
        {
            "model": "model",
            "x": "real_array",
            "key": "key",
            "batch_size": "count",
            "n_keep": "count",
        },
    ),
    # encoding
    "kmeans_accuracy": (
        lambda: hamgeo.kmeans_accuracy,
        lambda: {
            "train_codes": _fx().bits,
            "train_labels": _fx().labels,
            "test_codes": _fx().bits2,
            "test_labels": _fx().labels,
            "n_clusters": 2,
            "key": _fx().key,
        },
        {
            "train_codes": "codes",
            "train_labels": "labels",
            "n_clusters": "count",
            "key": "key",
            "max_iterations": "count",
        },
    ),
    "knn_accuracy": (
        lambda: hamgeo.knn_accuracy,
        lambda: {
            "train_codes": _fx().bits,
            "train_labels": _fx().labels,
            "test_codes": _fx().bits2,
            "test_labels": _fx().labels,
            "k": 1,
        },
        {"train_codes": "codes", "train_labels": "labels", "test_labels": "labels", "k": "count"},
    ),
    "knn_classify": (
        lambda: hamgeo.knn_classify,
        lambda: {
            "train_codes": _fx().bits,
            "train_labels": _fx().labels,
            "test_codes": _fx().bits2,
            "k": 1,
        },
        {
            "train_codes": "codes",
            "train_labels": "labels",
            "test_codes": "codes_other_bits",
            "k": "count",
            "n_classes": "count",
            "exclude_self": "flag",
        },
    ),
    "logreg_accuracy": (
        lambda: hamgeo.logreg_accuracy,
        lambda: {
            "train_codes": _fx().bits,
            "train_labels": _fx().labels,
            "test_codes": _fx().bits2,
            "test_labels": _fx().labels,
            "max_iterations": 5,
        },
        {
            "train_codes": "codes",
            "train_labels": "labels",
            "l2": "real",
            "max_iterations": "count",
        },
    ),
    # regions
    "count_regions": (
        lambda: hamgeo.count_regions,
        lambda: {"codes": _fx().bits},
        {"codes": "codes"},
    ),
    "count_regions_per_layer": (
        lambda: hamgeo.count_regions_per_layer,
        lambda: {"codes": _fx().bits, "layer_slices": [slice(0, 2), slice(2, 5)]},
        {"codes": "codes", "layer_slices": "slices", "cumulative": "flag"},
    ),
    "redundancy_ratio": (
        lambda: hamgeo.redundancy_ratio,
        lambda: {"codes": _fx().bits},
        {"codes": "codes"},
    ),
    "redundancy_ratio_per_layer": (
        lambda: hamgeo.redundancy_ratio_per_layer,
        lambda: {"codes": _fx().bits, "layer_slices": [slice(0, 2), slice(2, 5)]},
        {"codes": "codes", "layer_slices": "slices", "cumulative": "flag"},
    ),
    "line_regions": (
        lambda: hamgeo.line_regions,
        lambda: _regions(x0=np.zeros(2), x1=np.ones(2)),
        {"variables": "region_variables", "x0": "vector", "x1": "vector"},
    ),
    "slice_partition": (
        lambda: hamgeo.slice_partition,
        lambda: _plane(resolution=4),
        {
            "variables": "region_variables",
            "origin": "vector",
            "u": "vector",
            "extent": "positive",
            "resolution": "count",
            "batch_size": "count",
        },
    ),
    "exact_slice_partition": (
        lambda: hamgeo.exact_slice_partition,
        _plane,
        {"origin": "vector", "v": "vector", "extent": "positive", "tol": "nonneg"},
    ),
    "cell_graph": (
        lambda: hamgeo.cell_graph,
        lambda: _plane(resolution=4, exact=False),
        {"origin": "vector", "extent": "positive", "resolution": "count", "exact": "flag"},
    ),
    "cell_facets": (
        lambda: hamgeo.cell_facets,
        lambda: _regions(x=_pts()),
        {"variables": "region_variables", "x": "real_array", "tol": "nonneg"},
    ),
    "crossing_distance": (
        lambda: hamgeo.crossing_distance,
        lambda: _regions(x=_pts(), y=-_pts()),
        {"x": "real_array", "y": "real_array"},
    ),
    "facet_hamming": (
        lambda: hamgeo.facet_hamming,
        lambda: _regions(x=_pts(), y=-_pts()),
        {"x": "real_array", "y": "real_array"},
    ),
    "tessellation_distance": (
        lambda: hamgeo.tessellation_distance,
        lambda: _regions(x=_pts(), y=-_pts(), resolution=8, exact=False),
        {
            "x": "real_array",
            "y": "real_array",
            "resolution": "count",
            "margin": "nonneg",
            "exact": "flag",
        },
    ),
    "plot_partition": (
        lambda: hamgeo.plot_partition,
        lambda: {"partition": _fx().partition},
        {"partition": "partition", "boundaries": "flag"},
    ),
    # hamgeo.nets
    "MLP": (
        lambda: nets.MLP,
        lambda: {"widths": (3,), "n_classes": 2},
        {"widths": "widths", "n_classes": "count"},
    ),
    "CNN": (
        lambda: nets.CNN,
        lambda: {"channels": (2,), "dense": (3,), "n_classes": 2},
        {"channels": "widths", "dense": "widths", "n_classes": "count", "pool_every": "count"},
    ),
    "ResidualCNN": (
        lambda: nets.ResidualCNN,
        lambda: {"channels": (2,), "dense": (3,), "n_classes": 2},
        {"channels": "widths", "n_classes": "count"},
    ),
    "BinaryMLP": (
        lambda: nets.BinaryMLP,
        lambda: {"widths": (3,), "n_classes": 2},
        {"widths": "widths", "n_classes": "count", "norm": "choice"},
    ),
    "BinaryCNN": (
        lambda: nets.BinaryCNN,
        lambda: {"channels": (2,), "dense": (3,), "n_classes": 2},
        {"channels": "widths", "n_classes": "count", "pool_every": "count", "norm": "choice"},
    ),
    "BinaryDense": (lambda: nets.BinaryDense, lambda: {"features": 3}, {"features": "count"}),
    "BinaryConv": (
        lambda: nets.BinaryConv,
        lambda: {"features": 3, "kernel_size": (3,)},
        {"features": "count", "kernel_size": "widths"},
    ),
    "accuracy": (
        lambda: nets.accuracy,
        lambda: {"model": _fx().mlp, "variables": _fx().mlp_vars, "x": _fx().x, "y": _fx().labels},
        {
            "model": "model",
            "variables": "variables",
            "x": "real_array",
            "y": "labels",
            "batch_size": "count",
        },
    ),
    "layer_slices": (
        lambda: nets.layer_slices,
        lambda: {"model": _fx().mlp, "variables": _fx().mlp_vars, "x": _fx().x},
        {"model": "model", "variables": "variables", "x": "real_array"},
    ),
    "binary_layer_io": (
        lambda: nets.binary_layer_io,
        lambda: {"model": _fx().bmlp, "variables": _fx().bmlp_vars, "x": _fx().x},
        {"model": "model", "x": "real_array"},
    ),
    "train": (
        lambda: nets.train,
        lambda: {
            "model": _fx().mlp,
            "data": _fx().dataset,
            "epochs": 1,
            "batch_size": 2,
            "learning_rate": 0.1,
            "key": _fx().key,
        },
        {
            "model": "model",
            "data": "data",
            "epochs": "count",
            "batch_size": "count",
            "learning_rate": "positive",
            "key": "key",
            "weight_decay": "real",
            "label_noise": "probability",
        },
    ),
    "label_noise": (
        lambda: nets.label_noise,
        lambda: {"key": _fx().key, "labels": _fx().labels, "fraction": 0.5, "n_classes": 3},
        {"key": "key", "labels": "labels_free", "fraction": "probability", "n_classes": "count"},
    ),
    "clip_latent_weights": (
        lambda: nets.clip_latent_weights,
        lambda: {},
        {"low": "bound", "high": "bound"},
    ),
    "sign_ste": (lambda: nets.sign_ste, lambda: {"x": _fx().x}, {"x": "real_array"}),
    "save": (
        lambda: nets.save,
        lambda: {
            "path": "/tmp/hamgeo-fuzz-never-written.ckpt",
            "model": _fx().mlp,
            "variables": _fx().mlp_vars,
        },
        {"path": "path", "model": "model", "variables": "variables", "overwrite": "flag"},
    ),
    "load": (lambda: nets.load, lambda: {"path": "/no/such.ckpt"}, {"path": "path"}),
    "model_config": (lambda: nets.model_config, lambda: {"model": _fx().mlp}, {"model": "model"}),
    "model_from_config": (
        lambda: nets.model_from_config,
        lambda: {"config": {"class": "MLP", "widths": [2], "n_classes": 2}},
        {"config": "data"},
    ),
    "init_many": (
        lambda: nets.init_many,
        lambda: {"model": _fx().mlp, "keys": jax.random.split(_fx().key, 2), "x": _fx().x},
        {"model": "model", "x": "real_array"},
    ),
    "accuracy_many": (
        lambda: nets.accuracy_many,
        lambda: {"model": _fx().mlp, "variables": _fx().stacked, "x": _fx().x, "y": _fx().labels},
        {"model": "model", "x": "real_array", "y": "labels", "batch_size": "count"},
    ),
    # hamgeo.data: synthetic loaders, and the file loaders' paths (nothing is downloaded)
    "gaussian_grid": (
        lambda: data.gaussian_grid,
        lambda: {"key": _fx().key, "per_axis": 2, "n_groups": 2, "n_per_gaussian": 2},
        {
            "key": "key",
            "per_axis": "count",
            "dim": "count",
            "n_groups": "count",
            "n_per_gaussian": "count",
            "spread": "positive",
        },
    ),
    "diagonal_probe": (
        lambda: data.diagonal_probe,
        lambda: {"t": np.array([0.0, 0.5])},
        {"t": "real_array", "dim": "count", "m": "count", "start": "real", "spread": "nonneg"},
    ),
    "digits": (lambda: data.digits, lambda: {}, {"images": "flag", "test_size": "count"}),
    "load_mnist": (lambda: data.load_mnist, lambda: {"path": "/no/such"}, {"path": "path"}),
    "load_cifar10": (lambda: data.load_cifar10, lambda: {"path": "/no/such"}, {"path": "path"}),
    "data.load": (lambda: data.load, lambda: {"name": "digits"}, {"name": "choice"}),
}

# Known failures in modules other helpers are fixing now: "<name>.<argument>" -> reason.
# Each is strict: a fix makes it XPASS, which fails, and the entry is then removed.
_XFAIL: dict[str, str] = {}


def _cases():
    for name, (_, _, args) in _CASES.items():
        for arg, kind in args.items():
            case = f"{name}.{arg}"
            marks = [pytest.mark.xfail(strict=True, reason=_XFAIL[case])] if case in _XFAIL else []
            yield pytest.param(name, arg, kind, id=case, marks=marks)


def _names_argument(message: str, arg: str) -> bool:
    """Whether the message names ``arg`` in backticks (``x``, ``x[0]``, ``x.shape``...)."""
    return re.search(rf"`{re.escape(arg)}(\W[^`]*)?`", message) is not None


@pytest.mark.parametrize(("name", "arg", "kind"), list(_cases()))
@settings(max_examples=10, phases=[Phase.generate], report_multiple_bugs=False)
@given(draw=st.data())
def test_bad_argument_is_refused_naming_it(name, arg, kind, draw):
    make_fn, make_kwargs, _ = _CASES[name]
    fn = make_fn()
    label, bad = draw.draw(_BAD[kind](), label=f"{arg} ({kind})")
    default = inspect.signature(fn).parameters[arg].default
    assume(not (bad is None and default is None))  # None is that argument's valid default
    kwargs = {**make_kwargs(), arg: bad}
    if kind == "path" and label == "missing":
        with pytest.raises(FileNotFoundError):
            fn(**kwargs)
        return
    try:
        out = fn(**kwargs)
    except (TypeError, ValueError) as err:
        message = str(err)
        assert _names_argument(message, arg), (
            f"{name}({arg}={label}): {type(err).__name__} does not name `{arg}`: {message}"
        )
    except FileNotFoundError as err:  # a bad path that could name a file
        assert kind == "path", f"{name}({arg}={label}): FileNotFoundError: {err}"
    else:
        pytest.fail(f"{name}({arg}={label}) was accepted silently and returned {type(out)}")


def test_every_public_function_is_fuzzed():
    public = {
        n for n in dir(hamgeo) if not n.startswith("_") and inspect.isfunction(getattr(hamgeo, n))
    }
    public |= {n for n in nets.__all__ if inspect.isfunction(getattr(nets, n))}
    covered = {name.split(".")[-1] for name in _CASES}
    # trained-model helpers fuzzed through `train` (same validation), or no arguments
    skipped = {
        "make_train_step",
        "make_epoch",
        "train_many",
        "mask_mlp_widths",
        "activation_codes_many",
    }
    assert public - covered - skipped == set()
    for name, (make_fn, _, args) in _CASES.items():
        params = inspect.signature(make_fn()).parameters
        assert set(args) <= set(params), (name, set(args) - set(params))


# --------------------------------------------------------------------------- edge codes


def _np_hamming(x, y):
    return (x[:, None, :] != y[None, :, :]).sum(-1)


@settings(max_examples=20)
@given(
    n=st.sampled_from([0, 1, 3]),
    m=st.sampled_from([1, 4]),
    n_bits=st.sampled_from([0, 1, 31, 33, 65]),
    duplicate=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_edge_codes_match_numpy(n, m, n_bits, duplicate, seed):
    rng = np.random.default_rng(seed)
    x = rng.random((n, n_bits)) < 0.5
    y = rng.random((m, n_bits)) < 0.5
    if duplicate and n:
        y[0] = x[0]
    ref = _np_hamming(x, y)
    codes = hamgeo.pack_bits(x)
    np.testing.assert_array_equal(np.asarray(hamgeo.unpack_bits(codes)), x)
    np.testing.assert_array_equal(
        hamgeo.to_packbits(codes), np.packbits(x, axis=-1, bitorder="little")
    )
    np.testing.assert_array_equal(np.asarray(hamgeo.pairwise_hamming(x, y)), ref)
    for truncate in (1, n_bits + 5):
        got = np.asarray(hamgeo.pairwise_hamming(x, y, truncate=truncate))
        np.testing.assert_array_equal(got, np.minimum(ref, truncate))
    if n:
        d, idx = hamgeo.hamming_knn(x, y, min(2, m))
        order = np.lexsort((np.broadcast_to(np.arange(m), ref.shape), ref), axis=1)[:, : min(2, m)]
        np.testing.assert_array_equal(np.asarray(idx), order)
        np.testing.assert_array_equal(np.asarray(d), np.take_along_axis(ref, order, 1))
        # exact W1 between the uniform samples, brute force over the assignment
        w = hamgeo.exact_wasserstein(x, y)
        from scipy.optimize import linprog

        a, b = np.full(n, 1 / n), np.full(m, 1 / m)
        eq = np.vstack([np.kron(np.eye(n), np.ones(m)), np.kron(np.ones(n), np.eye(m))])
        lp = linprog(ref.ravel(), A_eq=eq, b_eq=np.concatenate([a, b]), bounds=(0, None))
        assert w == pytest.approx(lp.fun, abs=1e-9)  # both float64 linear programs


_EDGE = {
    "n": st.sampled_from([1, 3]),
    "n_bits": st.sampled_from([0, 1, 31, 33, 65]),
    "seed": st.integers(0, 2**16),
}


@settings(max_examples=20)
@given(**_EDGE)
def test_edge_regions_match_numpy(n, n_bits, seed):
    x = np.random.default_rng(seed).random((n, n_bits)) < 0.5
    x[-1] = x[0]  # a duplicate
    distinct = len({row.tobytes() for row in x})
    assert int(hamgeo.count_regions(x)) == distinct
    # one float32 rounding of a ratio <= 1
    assert float(hamgeo.redundancy_ratio(x)) == pytest.approx((n - distinct) / n, abs=f32_tol(1))


# ------------------------------------------------------------- held-out audit (issue 23)
# Defects the held-out robustness audit found (audit/heldout.py): each now raises a clear
# hamgeo error naming the argument, or gives the eager result under jax.jit.


def test_audit23_unpack_bits_checks_words():
    with pytest.raises(ValueError, match=r"`codes` has 1 words per code, but n_bits=40 needs 2"):
        hamgeo.unpack_bits(hamgeo.PackedCodes(np.zeros((2, 1), np.uint32), 40))
    with pytest.raises(ValueError, match="`codes` has 1 words per code"):  # shapes are static
        jax.jit(hamgeo.unpack_bits)(hamgeo.PackedCodes(np.zeros((2, 1), np.uint32), 40))
    with pytest.raises(TypeError, match=r"`codes` words must be uint32, got .*float32"):
        hamgeo.unpack_bits(hamgeo.PackedCodes(np.array([[1.0]], np.float32), 3))


@pytest.mark.parametrize("value", [1e-300, 1e-40, 5e-324])
def test_audit23_options_below_float32_normal_are_refused(value):
    x, y = np.eye(4, 6, dtype=bool), np.eye(4, 6, k=1, dtype=bool)
    with pytest.raises(ValueError, match="`epsilon` must be at least 1.175e-38"):
        hamgeo.wasserstein(x, y, epsilon=value)
    with pytest.raises(ValueError, match="`threshold` must be at least"):
        hamgeo.wasserstein(x, y, threshold=value)
    with pytest.raises(ValueError, match="`bandwidth` must be at least"):
        hamgeo.mmd(x, y, bandwidth=value)
    # the smallest float32 normal itself is fine
    res = hamgeo.wasserstein(x, y, threshold=float(np.finfo(np.float32).tiny), max_iterations=3)
    assert np.isfinite(float(res.value))


def test_audit23_traced_static_ints_are_refused_in_words():
    bits = np.ones((2, 8), bool)
    with pytest.raises(TypeError, match="`stop` must be a static Python int"):
        jax.jit(lambda s: hamgeo.codes.select_bits(bits, 0, s))(3)
    with pytest.raises(TypeError, match="`dim` must be a static Python int"):
        jax.jit(lambda d: hamgeo.binarization_angles(key=jax.random.key(0), dim=d, n=3).sign)(4)


def test_audit23_out_dtype_none_is_reported_as_none():
    with pytest.raises(TypeError, match=r"`out_dtype` must be .*got None"):
        hamgeo.pairwise_hamming(np.ones((2, 3), bool), out_dtype=None)


def test_audit23_coordinates_near_float64_limit():
    with pytest.raises(ValueError, match="`x` and `y` are too far apart for float64"):
        hamgeo.wasserstein(
            np.array([[1e308, 0.0], [-1e308, 0.0]]), np.zeros((1, 2)), cost="euclidean"
        )
    with pytest.raises(ValueError, match="`x` and `y` are too far apart for float64"):
        hamgeo.exact_wasserstein(np.array([[1.5e308]]), np.array([[-1.5e308]]), cost="euclidean")
    # near the limit but close together: conditioned exactly, the distance is right
    x, y = np.array([[1.5e308]]), np.array([[1.5e308 * (1 - 2**-20)]])
    got = hamgeo.exact_wasserstein(x, y, cost="euclidean")
    # x - y is exact in float64 (Sterbenz); one float64 linear program on top
    assert got == pytest.approx(float(x[0, 0] - y[0, 0]), rel=1e-12)
    assert hamgeo.exact_wasserstein(x, x, cost="euclidean") == 0.0


def test_audit23_traced_epsilon_and_bandwidth_match_eager():
    x, y = np.eye(3, dtype=bool), np.eye(3, dtype=bool)[::-1]
    xr = np.random.default_rng(3).normal(size=(5, 2))
    for xs, ys, cost in ((x, np.eye(3, k=1, dtype=bool), "hamming"), (xr, xr + 1, "euclidean")):
        eager = float(hamgeo.wasserstein(xs, ys, cost=cost, epsilon=0.05).value)
        traced = jax.jit(lambda e, a=xs, b=ys, c=cost: hamgeo.wasserstein(a, b, cost=c, epsilon=e))(
            0.05
        )
        # scale-relative epsilon rounded once more in float32; ~300 Sinkhorn iterations
        assert float(traced.value) == pytest.approx(eager, rel=1e-4)
        assert float(traced.epsilon) == pytest.approx(0.05, rel=f32_tol(1))
    for xs, ys, kernel in ((x, y, "hamming"), (xr, xr + 1, "gaussian")):
        eager = float(hamgeo.mmd(xs, ys, kernel=kernel, bandwidth=1.0))
        traced = jax.jit(lambda b, a=xs, c=ys, k=kernel: hamgeo.mmd(a, c, kernel=k, bandwidth=b))
        # kernel sums over (n + m)^2 = 100 entries of magnitude <= 1
        assert float(traced(1.0)) == pytest.approx(eager, abs=f32_tol(100))
    with pytest.raises(TypeError, match="`epsilon` must be a real scalar"):
        jax.jit(lambda e: hamgeo.wasserstein(x, y, epsilon=e))(jnp.ones(2))


def test_audit23_binarization_angles_dim_is_capped_up_front():
    with pytest.raises(ValueError, match=r"`dim` must be at most \d+ .*got 2147483647"):
        hamgeo.binarization_angles(key=jax.random.key(0), dim=2**31 - 1, n=1)


def test_binarization_angles_n_is_capped_up_front():
    # refused before the keys are split (2**30 rows would be 16 GiB), not by the allocator
    with pytest.raises(ValueError, match=r"`n` must be at most 67108864 .*got 1073741824"):
        hamgeo.binarization_angles(key=jax.random.key(0), dim=3, n=2**30)
    sign, pairs = hamgeo.binarization_angles(key=jax.random.key(0), dim=3, n=5)  # small n: fine
    assert sign.shape == pairs.shape == (5,)
