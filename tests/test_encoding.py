"""Tests for hamgeo.encoding against NumPy, scipy and scikit-learn references."""

import itertools

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import normalized_mutual_info_score

from hamgeo.codes import pack_bits
from hamgeo.encoding import kmeans_accuracy, knn_accuracy, knn_classify, logreg_accuracy


def _brute_knn_vote(train, y, test, k, n_classes, exclude_self=False):
    """Reference: sort by (distance, index), vote, ties to the class met first."""
    preds = []
    for i, q in enumerate(test):
        d = (train != q[None, :]).sum(axis=1)
        order = sorted(range(len(train)), key=lambda j: (d[j], j))
        if exclude_self:
            order = [j for j in order if j != i]
        nb = [int(y[j]) for j in order[:k]]
        votes = np.bincount(nb, minlength=n_classes)
        tied = set(np.flatnonzero(votes == votes.max()).tolist())
        preds.append(next(c for c in nb if c in tied))
    return np.array(preds)


@pytest.mark.parametrize(("n_bits", "k"), [(1, 4), (7, 2), (33, 9), (65, 6)])
def test_knn_matches_brute_force_vote(rng, n_bits, k):
    # Few bits and even k give many distance ties and vote ties.
    train = rng.integers(0, 2, (29, n_bits)).astype(bool)
    test = rng.integers(0, 2, (17, n_bits)).astype(bool)
    y = rng.integers(0, 5, 29).astype(np.int32)
    got = np.asarray(knn_classify(train, y, test, k=k, n_classes=5))
    want = _brute_knn_vote(train, y, test, k, 5)
    np.testing.assert_array_equal(got, want)  # exact: labels are integers


def test_knn_vote_ties_are_exercised(rng):
    # Guard that the case above really contains ties: k=2 with 2 distinct labels.
    train = rng.integers(0, 2, (29, 7)).astype(bool)
    test = rng.integers(0, 2, (17, 7)).astype(bool)
    y = rng.integers(0, 5, 29).astype(np.int32)
    got = np.asarray(knn_classify(pack_bits(train), y, pack_bits(test), k=2, n_classes=5))
    n_ties = 0
    for q, p in zip(test, got, strict=True):
        d = (train != q[None, :]).sum(axis=1)
        order = sorted(range(29), key=lambda j: (d[j], j))
        if y[order[0]] != y[order[1]]:
            n_ties += 1
            assert p == y[order[0]]  # the tie goes to the nearest neighbour's class
    assert n_ties > 0


def test_knn_exclude_self_and_accuracy(rng):
    train = rng.integers(0, 2, (31, 13)).astype(bool)
    y = rng.integers(0, 3, 31).astype(np.int32)
    got = np.asarray(knn_classify(train, y, train, k=3, exclude_self=True))
    want = _brute_knn_vote(train, y, train, 3, 3, exclude_self=True)
    np.testing.assert_array_equal(got, want)
    acc = knn_accuracy(train, y, train, y, k=3, exclude_self=True)
    assert acc == pytest.approx(np.mean(want == y), abs=1e-12)


def test_hungarian_accuracy_constructed_case(key):
    # Three well-separated groups of codes labelled with a permutation of the
    # clusters, and 2 of 30 codes mislabelled: the Hungarian accuracy is 28/30.
    proto = np.zeros((3, 24), dtype=bool)
    for g in range(3):
        proto[g, 8 * g : 8 * g + 8] = True
    codes = np.repeat(proto, 10, axis=0)
    codes[::10, 0] ^= True  # small perturbations inside each group
    labels = np.repeat(np.array([2, 0, 1], dtype=np.int32), 10)
    labels[3], labels[14] = 1, 2
    res = kmeans_accuracy(codes, labels, n_clusters=3, key=key)
    assert res.accuracy == pytest.approx(28 / 30, abs=1e-12)
    assert res.converged
    ref_nmi = normalized_mutual_info_score(labels, np.asarray(res.assignments))
    assert res.nmi == pytest.approx(ref_nmi, abs=1e-9)


def test_kmeans_hungarian_matches_brute_force_on_random_codes(rng, key):
    codes = rng.integers(0, 2, (37, 11)).astype(bool)
    labels = rng.integers(0, 3, 37).astype(np.int32)
    res = kmeans_accuracy(codes, labels, n_clusters=4, key=key)
    a = np.asarray(res.assignments)
    # Brute force over all injective maps from 3 labels to 4 clusters.
    best = max(
        sum(int(np.sum((a == c) & (labels == lab))) for lab, c in enumerate(perm))
        for perm in itertools.permutations(range(4), 3)
    )
    assert res.accuracy == pytest.approx(best / 37, abs=1e-12)
    assert res.nmi == pytest.approx(normalized_mutual_info_score(labels, a), abs=1e-9)
    # Lloyd's fixed point: every code sits at its nearest centroid (ties allowed).
    c = np.asarray(res.centroids)
    d = ((codes[:, None, :].astype(np.float64) - c[None]) ** 2).sum(-1)
    assert np.all(d[np.arange(37), a] <= d.min(axis=1) + 1e-4)  # float32 rounding


def test_kmeans_deterministic_for_a_key(rng, key):
    codes = rng.integers(0, 2, (23, 9)).astype(bool)
    labels = rng.integers(0, 2, 23).astype(np.int32)
    a = kmeans_accuracy(codes, labels, n_clusters=3, key=key)
    b = kmeans_accuracy(codes, labels, n_clusters=3, key=key)
    np.testing.assert_array_equal(np.asarray(a.assignments), np.asarray(b.assignments))


def test_logreg_matches_sklearn(rng, key):
    # Noisy class prototypes, 4 classes, odd sizes.
    n, m, bits = 151, 67, 29
    proto = rng.integers(0, 2, (4, bits)).astype(bool)
    y = rng.integers(0, 4, n).astype(np.int32)
    yt = rng.integers(0, 4, m).astype(np.int32)
    x = proto[y] ^ (rng.random((n, bits)) < 0.3)
    xt = proto[yt] ^ (rng.random((m, bits)) < 0.3)
    l2 = 0.01
    res = logreg_accuracy(x, y, xt, yt, key=key, l2=l2)
    ref = LogisticRegression(C=1.0 / (l2 * n), max_iter=10_000, tol=1e-10).fit(x, y)
    assert res.converged
    # Same objective, same optimum: accuracies within 1 point, weights within 1e-2.
    assert abs(res.train_accuracy - ref.score(x, y)) <= 0.01
    assert abs(res.test_accuracy - ref.score(xt, yt)) <= 0.01
    w = np.asarray(res.weights)
    # sklearn's softmax weights are centred across classes (a free gauge).
    np.testing.assert_allclose(w - w.mean(1, keepdims=True), ref.coef_.T, atol=1e-2)


def test_bad_inputs(rng, key):
    codes = rng.integers(0, 2, (9, 5))
    y = rng.integers(0, 3, 9).astype(np.int32)
    with pytest.raises(TypeError, match="`train_labels` must be an integer array"):
        knn_classify(codes, y.astype(np.float32), codes)
    with pytest.raises(ValueError, match="`train_labels` must have shape"):
        knn_classify(codes, y[:5], codes)
    with pytest.raises(ValueError, match="`k` must be <= 9"):
        knn_classify(codes, y, codes, k=10)
    with pytest.raises(ValueError, match="`k` must be <= 8"):
        knn_classify(codes, y, codes, k=9, exclude_self=True)
    with pytest.raises(ValueError, match="`k` must be >= 1"):
        knn_classify(codes, y, codes, k=0)
    with pytest.raises(TypeError, match="`k` must be an int"):
        knn_classify(codes, y, codes, k=2.0)
    with pytest.raises(ValueError, match="same n_bits"):
        knn_classify(codes, y, codes[:, :4])
    with pytest.raises(ValueError, match="`train_labels` must be < n_classes=2"):
        knn_classify(codes, y, codes, n_classes=2)
    with pytest.raises(ValueError, match="non-negative"):
        knn_classify(codes, y - 5, codes)
    with pytest.raises(ValueError, match="`exclude_self` needs"):
        knn_classify(codes, y, codes[:4], exclude_self=True)
    with pytest.raises(TypeError, match="`test_codes`"):
        knn_classify(codes, y, codes.astype(np.float32))
    with pytest.raises(ValueError, match="`train_codes` must be a batch"):
        knn_classify(codes[0], y[:1], codes)
    with pytest.raises(ValueError, match="`n_clusters` must be <= the number of codes 9"):
        kmeans_accuracy(codes, y, n_clusters=10, key=key)
    with pytest.raises(TypeError, match="`n_clusters` must be an int"):
        kmeans_accuracy(codes, y, n_clusters=None, key=key)
    with pytest.raises(ValueError, match="`labels` must have shape"):
        kmeans_accuracy(codes, y[:3], n_clusters=2, key=key)
    with pytest.raises(ValueError, match="`l2` must be a finite number >= 0"):
        logreg_accuracy(codes, y, codes, y, key=key, l2=-1.0)
    with pytest.raises(ValueError, match="`learning_rate` must be a finite number > 0"):
        logreg_accuracy(codes, y, codes, y, key=key, learning_rate=0.0)
    with pytest.raises(ValueError, match="`y_test` must be < n_classes=3"):
        logreg_accuracy(codes, y, codes, y + 1, key=key, n_classes=3)
