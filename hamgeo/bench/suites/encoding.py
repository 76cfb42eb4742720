"""Categorization on codes: hamgeo's k-NN classifier against scikit-learn's.

``hamgeo.knn_classify`` with both tie rules — ``ties="sklearn"`` (the default: the same
predictions as scikit-learn; distances counted on device in blocks, neighbours selected
on the host with scikit-learn's ``np.argpartition``) and ``ties="nearest"`` (all on
device, streaming ``hamming_knn``) — against
``sklearn.neighbors.KNeighborsClassifier(metric="hamming", algorithm="brute")`` on the
same bool codes, k = 9, 10 classes. scikit-learn is timed on the first queries only and
scaled by the number of query-base pairs (``extra["measured_queries"]`` says so).
Throughput is in code pairs per second.

``hamgeo.kmeans_accuracy`` and ``hamgeo.logreg_accuracy`` run scikit-learn (the paper's
tool): their rows time them at the hash-encoder study's sizes (digits: 1437 training and
360 test codes, 10 classes, 64 and 512 bits) against the bare scikit-learn calls, so the
ratio is hamgeo's overhead (unpacking, checks, Hungarian matching) — and, for
``logreg_accuracy``, its gain: it fits with one BLAS thread, where the bare call uses
OpenBLAS's default pool, which slows SciPy's L-BFGS-B.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import numpy as np

import hamgeo
from hamgeo.bench._timing import Row, timed_row

SUITE = "encoding"


def _knn_rows(rng, n_base: int, n_query: int, bits: int, quick: bool) -> list[Row]:
    base_bits = rng.random((n_base, bits)) < 0.5
    query_bits = rng.random((n_query, bits)) < 0.5
    labels = rng.integers(0, 10, n_base).astype(np.int32)
    base = hamgeo.pack_bits(base_bits)
    queries = hamgeo.pack_bits(query_bits)
    shape = f"N={n_base} Q={n_query} bits={bits} k=9"
    common: dict[str, Any] = dict(suite=SUITE, op="knn_classify", shape=shape, unit="code-pairs")
    rows = [
        timed_row(
            functools.partial(
                hamgeo.knn_classify, base, labels, queries, k=9, n_classes=10, ties=ties
            ),
            repeats=3,
            dtype="uint32 packed",
            impl=f"hamgeo[knn_classify, ties={ties}]",
            work=float(n_base) * n_query,
            **common,
        )
        for ties in ("sklearn", "nearest")
    ]
    from sklearn.neighbors import KNeighborsClassifier

    clf = KNeighborsClassifier(n_neighbors=9, metric="hamming", algorithm="brute", n_jobs=1)
    clf.fit(base_bits, labels)
    sub = min(n_query, 16 if quick or n_base > 100_000 else 64)
    r = timed_row(
        lambda: clf.predict(query_bits[:sub]),
        repeats=1 if quick else 3,
        dtype="bool",
        impl="sklearn.KNeighborsClassifier",
        work=float(n_base) * sub,
        **common,
    )
    # Same work as hamgeo's row: scale the times to all queries.
    scale = n_query / sub
    r.seconds *= scale
    r.min_s = None if r.min_s is None else r.min_s * scale
    r.max_s = None if r.max_s is None else r.max_s * scale
    r.work = float(n_base) * n_query
    r.compile_s = None
    r.extra["measured_queries"] = sub
    rows.append(r)
    return rows


def _sklearn_rows(rng, bits: int, quick: bool) -> list[Row]:
    from sklearn.cluster import KMeans
    from sklearn.linear_model import LogisticRegression

    n, m, classes = 1437, 360, 10
    proto = rng.random((classes, bits)) < 0.5
    y, y_test = rng.integers(0, classes, n), rng.integers(0, classes, m)
    x = proto[y] ^ (rng.random((n, bits)) < 0.3)
    x_test = proto[y_test] ^ (rng.random((m, bits)) < 0.3)
    key = jax.random.key(0)
    shape = f"n={n} m={m} bits={bits} classes={classes}"
    repeats = 1 if quick else 3
    l2 = 1e-3
    cases = [
        (
            "kmeans_accuracy",
            lambda: hamgeo.kmeans_accuracy(x, y, x_test, y_test, key=key),
            lambda: KMeans(classes, random_state=0).fit(x.astype(float)).predict(x_test),
        ),
        (
            "logreg_accuracy",
            lambda: hamgeo.logreg_accuracy(x, y, x_test, y_test, l2=l2),
            lambda: LogisticRegression(C=1 / (l2 * n), max_iter=500).fit(x, y).predict(x_test),
        ),
    ]
    rows = []
    for op, ours, peer in cases:
        common: dict[str, Any] = dict(
            suite=SUITE, op=op, shape=shape, unit="fits", work=1.0, repeats=repeats
        )
        rows.append(timed_row(ours, dtype="bool", impl=f"hamgeo[{op}]", **common))
        rows.append(timed_row(peer, dtype="float64", impl="sklearn", **common))
    return rows


def run(quick: bool) -> list[Row]:
    """Benchmark rows of the encoding suite."""
    rng = np.random.default_rng(0)
    rows = _sklearn_rows(rng, 64, quick) + _sklearn_rows(rng, 512, quick)
    rows += _knn_rows(rng, 100_000, 256 if quick else 1024, 256, quick)
    if not quick:
        rows += _knn_rows(rng, 1_000_000, 256, 256, quick)
    return rows
