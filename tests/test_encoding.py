"""Tests for hamgeo.encoding against NumPy, scipy and scikit-learn references.

Accuracies and NMI are float64 host results (ratios of integer counts, NMI from a
contingency table in NumPy float64), so their 1e-12 / 1e-9 tolerances hold on any CPU.
"""

import itertools
import math

import jax
import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import normalized_mutual_info_score
from sklearn.neighbors import KNeighborsClassifier

from hamgeo.codes import pack_bits
from hamgeo.encoding import kmeans_accuracy, knn_accuracy, knn_classify, logreg_accuracy


def _brute_knn_vote(train, y, test, k, n_classes, exclude_self=False):
    """``ties="nearest"`` reference: sort by (distance, index), vote, ties to the first met."""
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
    got = np.asarray(knn_classify(train, y, test, k=k, n_classes=5, ties="nearest"))
    want = _brute_knn_vote(train, y, test, k, 5)
    np.testing.assert_array_equal(got, want)  # exact: labels are integers


def test_knn_vote_ties_are_exercised(rng):
    # Guard that the case above really contains ties: k=2 with 2 distinct labels.
    train = rng.integers(0, 2, (29, 7)).astype(bool)
    test = rng.integers(0, 2, (17, 7)).astype(bool)
    y = rng.integers(0, 5, 29).astype(np.int32)
    got = np.asarray(
        knn_classify(pack_bits(train), y, pack_bits(test), k=2, n_classes=5, ties="nearest")
    )
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
    got = np.asarray(knn_classify(train, y, train, k=3, exclude_self=True, ties="nearest"))
    want = _brute_knn_vote(train, y, train, 3, 3, exclude_self=True)
    np.testing.assert_array_equal(got, want)
    res = knn_accuracy(train, y, train[:7], y[:7], k=3, ties="nearest")
    want_train = _brute_knn_vote(train, y, train, 3, 3)
    assert res.train_accuracy == pytest.approx(np.mean(want_train == y), abs=1e-12)
    assert res.test_accuracy == pytest.approx(np.mean(want_train[:7] == y[:7]), abs=1e-12)
    assert res.converged and res.n_iters == 0 and math.isnan(res.nmi)


def _sklearn_knn(k, **kwargs):
    return KNeighborsClassifier(n_neighbors=k, metric="hamming", **kwargs)


@pytest.mark.parametrize(
    ("n_bits", "k", "n", "m"),
    [
        (1, 9, 29, 17),
        (4, 9, 97, 31),
        (7, 9, 97, 31),
        (8, 9, 211, 37),
        (11, 5, 131, 29),
        (15, 9, 97, 31),
        (16, 9, 131, 29),
        (65, 4, 61, 17),
        (301, 9, 211, 37),
    ],
)
def test_knn_matches_sklearn_default_algorithm(rng, n_bits, k, n, m):
    # The paper's protocol: KNeighborsClassifier(n_neighbors=9, metric="hamming") with
    # its DEFAULT algorithm (a BallTree at <= 15 bits, brute force above). Few bits make
    # many codes tie at the k-th distance and many votes tie; labels with gaps.
    train = rng.integers(0, 2, (n, n_bits)).astype(bool)
    test = rng.integers(0, 2, (m, n_bits)).astype(bool)
    y = rng.choice(np.array([0, 2, 3, 6], np.int32), n)
    y_test = rng.choice(np.array([0, 2, 3, 6], np.int32), m)
    ref = _sklearn_knn(k).fit(train, y)
    want = ref.predict(test)
    np.testing.assert_array_equal(np.asarray(knn_classify(train, y, test, k=k)), want)
    # Blocks of query rows and packed codes give the same predictions.
    got = knn_classify(pack_bits(train), y, pack_bits(test), k=k, block_size=5)
    np.testing.assert_array_equal(np.asarray(got), want)
    res = knn_accuracy(train, y, test, y_test, k=k)
    assert res.test_accuracy == ref.score(test, y_test)  # exact: the same predictions
    assert res.train_accuracy == ref.score(train, y)


def test_knn_narrow_codes_differ_from_brute_force_tie_order(rng):
    # Guard that the test above can fail: at 8 bits the BallTree's tie order gives other
    # predictions than a brute-force search, and hamgeo follows the default (the tree).
    train = rng.integers(0, 2, (211, 8)).astype(bool)
    test = rng.integers(0, 2, (97, 8)).astype(bool)
    y = rng.integers(0, 10, 211).astype(np.int32)
    brute = _sklearn_knn(9, algorithm="brute").fit(train, y).predict(test)
    tree = _sklearn_knn(9).fit(train, y).predict(test)
    assert np.any(brute != tree)
    np.testing.assert_array_equal(np.asarray(knn_classify(train, y, test)), tree)


def test_knn_memory_does_not_grow_with_n_classes_or_labels(rng):
    # n_classes = 2**31 - 1 or labels near 2**30 used to allocate [m, n_classes] votes.
    train = rng.integers(0, 2, (41, 33)).astype(bool)
    test = rng.integers(0, 2, (13, 33)).astype(bool)
    y = rng.integers(0, 3, 41).astype(np.int32)
    big = (y + 2**30).astype(np.int32)
    for ties in ("sklearn", "nearest"):
        small = np.asarray(knn_classify(train, y, test, ties=ties))
        got = np.asarray(knn_classify(train, big, test, ties=ties, n_classes=2**31 - 1))
        np.testing.assert_array_equal(got, small + 2**30)  # exact: labels
    res = knn_accuracy(train, big, test, big[:13], n_classes=2**31 - 1)
    assert 0.0 <= res.test_accuracy <= 1.0


@pytest.mark.parametrize("n_bits", [3, 33])
def test_knn_exclude_self_matches_sklearn_predict_none(rng, n_bits):
    # kneighbors(X=None) leaves each training code out; with 3 bits most codes have
    # many duplicates, which exercises scikit-learn's "duplicates crowd out self" case.
    train = rng.integers(0, 2, (53, n_bits)).astype(bool)
    y = rng.integers(0, 4, 53).astype(np.int32)
    want = _sklearn_knn(9).fit(train, y).predict(None)  # default algorithm: a tree at 3 bits
    got = knn_classify(train, y, train, k=9, exclude_self=True, block_size=7)
    np.testing.assert_array_equal(np.asarray(got), want)


def test_knn_matches_sklearn_on_network_codes(key):
    # Codes of a ReLU MLP on digits (untrained: cheap, and many shared codes).
    from hamgeo.data import digits
    from hamgeo.nets import MLP, activation_codes

    data = digits()
    model = MLP((24,), 10)
    variables = model.init(key, data.x_train[:1])
    tr = np.asarray(activation_codes(model, variables, data.x_train).unpack())
    te = np.asarray(activation_codes(model, variables, data.x_test).unpack())
    ref = _sklearn_knn(9).fit(tr, data.y_train)
    res = knn_accuracy(tr, data.y_train, te, data.y_test)
    assert res.test_accuracy == ref.score(te, data.y_test)  # exact, to the example
    assert res.train_accuracy == ref.score(tr, data.y_train)


def test_knn_tie_rules_differ_where_they_should():
    # Query [0, 0]: one neighbour of each label, a 1-1 vote. scikit-learn takes the
    # lowest label; "nearest" the label of the nearer code.
    train, y = np.array([[0, 0], [1, 1]]), np.array([1, 0], np.int32)
    assert knn_classify(train, y, [[0, 0]], k=2).tolist() == [0]
    assert _sklearn_knn(2, algorithm="brute").fit(train, y).predict([[0, 0]]).tolist() == [0]
    assert knn_classify(train, y, [[0, 0]], k=2, ties="nearest").tolist() == [1]


def _groups(rng, n_per, bits=24, groups=3):
    """Separated groups of codes: group g has bits 8g..8g+7 set, one bit flipped per code."""
    proto = np.zeros((groups, bits), dtype=bool)
    for g in range(groups):
        proto[g, 8 * g : 8 * g + 8] = True
    codes = np.repeat(proto, n_per, axis=0)
    codes[np.arange(codes.shape[0]), rng.integers(0, bits, codes.shape[0])] ^= True
    return codes


def test_kmeans_constructed_case_and_test_scoring(rng, key):
    # Three separated groups labelled with a permutation of the clusters; 2 of 30
    # training codes mislabelled: Hungarian accuracy 28/30. Test codes from the same
    # groups, 3 of 15 labelled wrongly (one with a label training never saw): 12/15.
    codes = _groups(rng, 10)
    perm = np.array([2, 0, 1], np.int32)
    labels = np.repeat(perm, 10)
    labels[3], labels[14] = 1, 2
    test = _groups(rng, 5)
    y_test = np.repeat(perm, 5)
    y_test[[0, 6, 12]] = [1, 3, 2]
    res = kmeans_accuracy(codes, labels, test, y_test, key=key)
    assert res.train_accuracy == pytest.approx(28 / 30, abs=1e-12)
    assert res.test_accuracy == pytest.approx(12 / 15, abs=1e-12)
    assert res.converged and res.n_iters >= 1
    clusters = np.repeat(np.arange(3), 10)  # the groups are the clusters
    assert res.nmi == pytest.approx(normalized_mutual_info_score(labels, clusters), abs=1e-9)


def test_kmeans_matches_sklearn_and_brute_force_hungarian(rng, key):
    codes = rng.integers(0, 2, (37, 11)).astype(bool)
    labels = rng.integers(0, 3, 37).astype(np.int32)
    test = rng.integers(0, 2, (17, 11)).astype(bool)
    y_test = rng.integers(0, 3, 17).astype(np.int32)
    res = kmeans_accuracy(codes, labels, test, y_test, key=key, n_clusters=4)
    # The same scikit-learn run, seeded as hamgeo seeds it from the key.
    seed = np.random.SeedSequence(np.asarray(jax.random.key_data(key)).ravel().tolist())
    km = KMeans(4, random_state=int(seed.generate_state(1)[0] >> 1)).fit(codes.astype(float))
    a = km.labels_
    # Brute force over all injective maps from 3 labels to 4 clusters.
    best = max(
        (sum(int(np.sum((a == c) & (labels == lab))) for lab, c in enumerate(p)), p)
        for p in itertools.permutations(range(4), 3)
    )
    assert res.train_accuracy == pytest.approx(best[0] / 37, abs=1e-12)
    assert res.nmi == pytest.approx(normalized_mutual_info_score(labels, a), abs=1e-9)
    to_label = {c: lab for lab, c in enumerate(best[1])}
    pred = np.array([to_label.get(c, -1) for c in km.predict(test.astype(float))])
    assert res.test_accuracy == pytest.approx(np.mean(pred == y_test), abs=1e-12)


def test_kmeans_deterministic_for_a_key(rng, key):
    codes = rng.integers(0, 2, (23, 9)).astype(bool)
    labels = rng.integers(0, 2, 23).astype(np.int32)
    a = kmeans_accuracy(codes, labels, codes, labels, n_clusters=3, key=key)
    b = kmeans_accuracy(codes, labels, codes, labels, n_clusters=3, key=key)
    assert a == b


def test_logreg_matches_sklearn(rng):
    # Noisy class prototypes, 4 classes, odd sizes; labels with a gap.
    n, m, bits = 151, 67, 29
    proto = rng.integers(0, 2, (4, bits)).astype(bool)
    y = rng.integers(0, 4, n).astype(np.int32)
    yt = rng.integers(0, 4, m).astype(np.int32)
    x = proto[y] ^ (rng.random((n, bits)) < 0.3)
    xt = proto[yt] ^ (rng.random((m, bits)) < 0.3)
    y, yt = 2 * y, 2 * yt
    l2 = 0.01
    res = logreg_accuracy(x, y, xt, yt, l2=l2)
    ref = LogisticRegression(C=1.0 / (l2 * n), max_iter=500, tol=1e-4).fit(x, y)
    assert res.converged and 1 <= res.n_iters < 500 and math.isnan(res.nmi)
    assert res.train_accuracy == ref.score(x, y)  # exact: the same solver and data
    assert res.test_accuracy == ref.score(xt, yt)


def test_logreg_one_class_and_unpenalized(rng):
    x = rng.integers(0, 2, (9, 5)).astype(bool)
    res = logreg_accuracy(x, np.full(9, 4), x[:3], np.array([4, 4, 1]))
    assert (res.train_accuracy, res.test_accuracy) == (1.0, pytest.approx(2 / 3, abs=1e-12))
    sep = np.array([[1, 0], [1, 0], [0, 1], [0, 1]])
    res = logreg_accuracy(sep, np.array([0, 0, 1, 1]), sep, np.array([0, 0, 1, 1]), l2=0.0)
    assert res.train_accuracy == 1.0


@pytest.mark.parametrize("fn", [knn_accuracy, logreg_accuracy, kmeans_accuracy])
def test_trio_is_host_only_under_jit(rng, key, fn):
    codes = rng.integers(0, 2, (9, 5)).astype(bool)
    y = rng.integers(0, 3, 9).astype(np.int32)
    extra = {"key": key} if fn is kmeans_accuracy else {}

    def traced(labels):
        return fn(codes, labels, codes, y, **extra).test_accuracy

    with pytest.raises(TypeError, match="host-only"):
        jax.jit(traced)(y)


def test_bad_inputs(rng, key):
    codes = rng.integers(0, 2, (9, 5))
    y = rng.integers(0, 3, 9).astype(np.int32)
    with pytest.raises(TypeError, match="`train_labels` must be integer class labels"):
        knn_classify(codes, y.astype(np.float32), codes)
    with pytest.raises(ValueError, match="`train_labels` must have 9 entries, got 5"):
        knn_classify(codes, y[:5], codes)
    with pytest.raises(ValueError, match="`k` must be <= 9"):
        knn_classify(codes, y, codes, k=10)
    with pytest.raises(ValueError, match="`k` must be <= 8"):
        knn_classify(codes, y, codes, k=9, exclude_self=True)
    with pytest.raises(ValueError, match="`k` must be an integer >= 1"):
        knn_classify(codes, y, codes, k=0)
    with pytest.raises(TypeError, match="`k` must be an integer, got 2.0"):
        knn_classify(codes, y, codes, k=2.0)
    with pytest.raises(TypeError, match="`k` must be an integer"):
        knn_classify(codes, y, codes, k=True)
    with pytest.raises(ValueError, match="`ties` must be one of 'sklearn', 'nearest'"):
        knn_classify(codes, y, codes, ties="random")
    with pytest.raises(TypeError, match="`block_size` must be an integer"):
        knn_classify(codes, y, codes, block_size=2.5)
    with pytest.raises(ValueError, match="same n_bits"):
        knn_classify(codes, y, codes[:, :4])
    with pytest.raises(ValueError, match="`train_labels` must be < n_classes = 2"):
        knn_classify(codes, y, codes, n_classes=2)
    with pytest.raises(TypeError, match="`n_classes` must be an integer"):
        knn_classify(codes, y, codes, n_classes=3.0)
    with pytest.raises(ValueError, match="`train_labels` must be >= 0"):
        knn_classify(codes, y - 5, codes)
    with pytest.raises(ValueError, match="`train_labels` must be 1-D"):
        knn_classify(codes, y[:, None], codes)
    with pytest.raises(TypeError, match="`exclude_self` must be a bool"):
        knn_classify(codes, y, codes, exclude_self=np.ones(2))
    with pytest.raises(ValueError, match="`exclude_self` needs"):
        knn_classify(codes, y, codes[:4], exclude_self=True)
    with pytest.raises(TypeError, match="`test_codes`"):
        knn_classify(codes, y, codes.astype(np.float32))
    with pytest.raises(ValueError, match="`train_codes` must be a batch"):
        knn_classify(codes[0], y[:1], codes)
    with pytest.raises(ValueError, match="`test_labels` must have 9 entries"):
        knn_accuracy(codes, y, codes, y[:4])
    with pytest.raises(TypeError, match="`score_train` must be a bool"):
        knn_accuracy(codes, y, codes, y, score_train=1)
    with pytest.raises(ValueError, match="`n_clusters` must be <= the number of codes 9"):
        kmeans_accuracy(codes, y, codes, y, n_clusters=10, key=key)
    with pytest.raises(TypeError, match="`n_clusters` must be an integer, got 2.0"):
        kmeans_accuracy(codes, y, codes, y, n_clusters=2.0, key=key)
    with pytest.raises(TypeError, match="`max_iterations` must be an integer, got 1.7"):
        kmeans_accuracy(codes, y, codes, y, key=key, max_iterations=1.7)
    with pytest.raises(ValueError, match="`max_iterations` must be an integer >= 1"):
        kmeans_accuracy(codes, y, codes, y, key=key, max_iterations=0)
    with pytest.raises(ValueError, match="`threshold` must be > 0"):
        kmeans_accuracy(codes, y, codes, y, key=key, threshold=0.0)
    with pytest.raises(TypeError, match="`key` must be a JAX PRNG key"):
        kmeans_accuracy(codes, y, codes, y, key=0)
    with pytest.raises(TypeError, match="key"):
        kmeans_accuracy(codes, y, codes, y)  # keys are never defaulted
    with pytest.raises(ValueError, match="`train_labels` must have 9 entries"):
        kmeans_accuracy(codes, y[:3], codes, y, key=key)
    with pytest.raises(TypeError, match="`test_labels` must be integer class labels"):
        kmeans_accuracy(codes, y, codes, y.astype(float), key=key)
    with pytest.raises(ValueError, match="same n_bits"):
        kmeans_accuracy(codes, y, codes[:, :4], y, key=key)
    with pytest.raises(ValueError, match="`l2` must be >= 0.0"):
        logreg_accuracy(codes, y, codes, y, l2=-1.0)
    with pytest.raises(ValueError, match="`l2` must be a finite number"):
        logreg_accuracy(codes, y, codes, y, l2=float("nan"))
    with pytest.raises(TypeError, match="`max_iterations` must be an integer, got 10.5"):
        logreg_accuracy(codes, y, codes, y, max_iterations=10.5)
    with pytest.raises(ValueError, match="`threshold` must be > 0"):
        logreg_accuracy(codes, y, codes, y, threshold=0.0)
    with pytest.raises(ValueError, match="`test_labels` must be < n_classes = 3"):
        logreg_accuracy(codes, y, codes, y + 1, n_classes=3)
