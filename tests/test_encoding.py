"""Tests for hamgeo.encoding against NumPy, scipy and scikit-learn references.

Accuracies and NMI are float64 host results (ratios of integer counts, NMI from a
contingency table in NumPy float64), so their 1e-12 / 1e-9 tolerances hold on any CPU.
"""

import itertools

import numpy as np
import pytest
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
    acc = knn_accuracy(train, y, train, y, k=3, exclude_self=True, ties="nearest")
    assert acc == pytest.approx(np.mean(want == y), abs=1e-12)


def _sklearn_knn(k, **kwargs):
    return KNeighborsClassifier(n_neighbors=k, metric="hamming", **kwargs)


@pytest.mark.parametrize(
    ("n_bits", "k", "n", "m"),
    [(1, 9, 29, 17), (7, 9, 97, 31), (16, 9, 131, 29), (65, 4, 61, 17), (301, 9, 211, 37)],
)
def test_knn_matches_sklearn_to_the_example(rng, n_bits, k, n, m):
    # The paper's protocol: KNeighborsClassifier(n_neighbors=9, metric="hamming"). Few
    # bits make many codes tie at the k-th distance and many votes tie; labels with gaps.
    train = rng.integers(0, 2, (n, n_bits)).astype(bool)
    test = rng.integers(0, 2, (m, n_bits)).astype(bool)
    y = rng.choice(np.array([0, 2, 3, 6], np.int32), n)
    y_test = rng.choice(np.array([0, 2, 3, 6], np.int32), m)
    # algorithm="auto" is brute force for > 15 features (the paper's codes); force it below.
    ref = _sklearn_knn(k, algorithm="brute" if n_bits <= 15 else "auto").fit(train, y)
    want = ref.predict(test)
    np.testing.assert_array_equal(np.asarray(knn_classify(train, y, test, k=k)), want)
    # Blocks of query rows and packed codes give the same predictions.
    got = knn_classify(pack_bits(train), y, pack_bits(test), k=k, block_size=5)
    np.testing.assert_array_equal(np.asarray(got), want)
    acc = knn_accuracy(train, y, test, y_test, k=k)
    assert acc == ref.score(test, y_test)  # exact: the same predictions


@pytest.mark.parametrize("n_bits", [3, 33])
def test_knn_exclude_self_matches_sklearn_predict_none(rng, n_bits):
    # kneighbors(X=None) leaves each training code out; with 3 bits most codes have
    # many duplicates, which exercises scikit-learn's "duplicates crowd out self" case.
    train = rng.integers(0, 2, (53, n_bits)).astype(bool)
    y = rng.integers(0, 4, 53).astype(np.int32)
    want = _sklearn_knn(9, algorithm="brute").fit(train, y).predict(None)
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
    acc = knn_accuracy(tr, data.y_train, te, data.y_test)
    assert acc == ref.score(te, data.y_test)  # exact, to the example
    train_acc = knn_accuracy(tr, data.y_train, tr, data.y_train)
    assert train_acc == ref.score(tr, data.y_train)


def test_knn_tie_rules_differ_where_they_should():
    # Query [0, 0]: one neighbour of each label, a 1-1 vote. scikit-learn takes the
    # lowest label; "nearest" the label of the nearer code.
    train, y = np.array([[0, 0], [1, 1]]), np.array([1, 0], np.int32)
    assert knn_classify(train, y, [[0, 0]], k=2).tolist() == [0]
    assert _sklearn_knn(2, algorithm="brute").fit(train, y).predict([[0, 0]]).tolist() == [0]
    assert knn_classify(train, y, [[0, 0]], k=2, ties="nearest").tolist() == [1]


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


def test_kmeans_hungarian_matches_brute_force_on_random_codes(rng, key, f32_tol):
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
    # hamgeo assigns with float32 distances: 11 squared differences of size <= 1, however
    # expanded (|x|^2 + |c|^2 - 2 x.c: three sums of 11 terms, |terms| adding up to <= 33)
    assert np.all(d[np.arange(37), a] <= d.min(axis=1) + f32_tol(3 * 11, 3 * 11))


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
    with pytest.raises(ValueError, match="`n_clusters` must be <= the number of codes 9"):
        kmeans_accuracy(codes, y, n_clusters=10, key=key)
    with pytest.raises(TypeError, match="`n_clusters` must be an integer"):
        kmeans_accuracy(codes, y, n_clusters=None, key=key)
    with pytest.raises(TypeError, match="`n_clusters` must be an integer, got 2.0"):
        kmeans_accuracy(codes, y, n_clusters=2.0, key=key)
    with pytest.raises(TypeError, match="`max_iterations` must be an integer, got 1.7"):
        kmeans_accuracy(codes, y, n_clusters=2, key=key, max_iterations=1.7)
    with pytest.raises(ValueError, match="`max_iterations` must be an integer >= 1"):
        kmeans_accuracy(codes, y, n_clusters=2, key=key, max_iterations=0)
    with pytest.raises(TypeError, match="`key` must be a JAX PRNG key"):
        kmeans_accuracy(codes, y, n_clusters=2, key=0)
    with pytest.raises(ValueError, match="`labels` must have 9 entries"):
        kmeans_accuracy(codes, y[:3], n_clusters=2, key=key)
    with pytest.raises(TypeError, match="`labels` must be integer class labels"):
        kmeans_accuracy(codes, y.astype(float), n_clusters=2, key=key)
    with pytest.raises(ValueError, match="`l2` must be >= 0.0"):
        logreg_accuracy(codes, y, codes, y, key=key, l2=-1.0)
    with pytest.raises(ValueError, match="`l2` must be a finite number"):
        logreg_accuracy(codes, y, codes, y, key=key, l2=float("nan"))
    with pytest.raises(ValueError, match="`learning_rate` must be > 0"):
        logreg_accuracy(codes, y, codes, y, key=key, learning_rate=0.0)
    with pytest.raises(TypeError, match="`n_steps` must be an integer, got 10.5"):
        logreg_accuracy(codes, y, codes, y, key=key, n_steps=10.5)
    with pytest.raises(ValueError, match="`tolerance` must be > 0"):
        logreg_accuracy(codes, y, codes, y, key=key, tolerance=0.0)
    with pytest.raises(ValueError, match="`y_test` must be < n_classes = 3"):
        logreg_accuracy(codes, y, codes, y + 1, key=key, n_classes=3)
    with pytest.raises(TypeError, match="`key` must be a JAX PRNG key"):
        logreg_accuracy(codes, y, codes, y, key=1)


def test_kmeans_test_codes_scored_through_the_training_matching(key):
    # Three separated groups of codes, group g labelled perm[g]; test codes are the
    # prototypes with one bit flipped, labelled by group except 3 wrong ones (one with
    # a label training never saw). Each test code joins its group's centroid, whose
    # matched label is perm[g]: accuracy 12 / 15.
    proto = np.zeros((3, 24), dtype=bool)
    for g in range(3):
        proto[g, 8 * g : 8 * g + 8] = True
    perm = np.array([2, 0, 1], np.int32)
    codes = np.repeat(proto, 10, axis=0)
    codes[::10, 0] ^= True
    labels = np.repeat(perm, 10)
    test = np.repeat(proto, 5, axis=0)
    test[np.arange(15), (7 * np.arange(15)) % 24] ^= True
    y_test = np.repeat(perm, 5)
    y_test[[0, 6, 12]] = [1, 3, 2]
    res = kmeans_accuracy(codes, labels, n_clusters=3, key=key, test_codes=test, test_labels=y_test)
    assert res.accuracy == 1.0
    assert res.test_accuracy == pytest.approx(12 / 15, abs=1e-12)
    plain = kmeans_accuracy(codes, labels, n_clusters=3, key=key)
    assert plain.accuracy == res.accuracy and plain.test_accuracy is None
    with pytest.raises(ValueError, match="must be given together"):
        kmeans_accuracy(codes, labels, n_clusters=3, key=key, test_codes=test)
    with pytest.raises(ValueError, match="same n_bits"):
        kmeans_accuracy(
            codes, labels, n_clusters=3, key=key, test_codes=test[:, :5], test_labels=y_test
        )
