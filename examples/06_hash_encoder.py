"""Networks as hash encoders: redundancy and categorization of activation codes.

Trains one-hidden-layer ReLU MLPs on scikit-learn's digits, extracts the activation
codes (one bit per hidden unit), and measures the hash-encoder paper's two properties
on the same network before and after training: the redundancy ratio
(n - #distinct codes) / n, and how well k-NN (Hamming, the paper's
``KNeighborsClassifier(n_neighbors=9, metric="hamming")`` protocol), k-means and
logistic regression categorize the codes, next to the network's own test accuracy.
The untrained column is the baseline: a wide random ReLU layer already gives almost
every example its own code, so what training does shows in the difference.

Run: ``python examples/06_hash_encoder.py`` (about a minute on a laptop CPU).
The full study (width, depth, model families, training time, sample size, weight
decay, label noise, seeds and the phase chart) is ``hamgeo reproduce hash-encoder``.
"""

import jax

import hamgeo
from hamgeo import nets
from hamgeo.data import digits


def describe(model, variables, data, key) -> str:
    """Redundancy and categorization accuracies of one network's codes."""
    codes_tr = nets.activation_codes(model, variables, data.x_train)
    codes_te = nets.activation_codes(model, variables, data.x_test)
    knn = hamgeo.knn_accuracy(codes_tr, data.y_train, codes_te, data.y_test, k=9)
    km = hamgeo.kmeans_accuracy(codes_tr, data.y_train, codes_te, data.y_test, key=key)
    lr = hamgeo.logreg_accuracy(codes_tr, data.y_train, codes_te, data.y_test)
    net = nets.accuracy(model, variables, data.x_test, data.y_test)
    return (
        f"redundancy {float(hamgeo.redundancy_ratio(codes_tr)):.3f} | test accuracy: "
        f"network {net:.3f}, k-NN {knn.test_accuracy:.3f}, k-means {km.test_accuracy:.3f}, "
        f"logreg {lr.test_accuracy:.3f}"
    )


def main() -> None:
    data = digits()
    key = jax.random.key(0)
    for width in (4, 32, 512):
        model = nets.MLP((width,), 10)
        init = model.init(key, data.x_train[:1])
        trained = nets.train(
            model, data, epochs=20, batch_size=64, learning_rate=1e-3, key=key, variables=init
        )
        print(f"width {width:4d}, untrained: {describe(model, init, data, key)}")
        print(f"width {width:4d}, trained:   {describe(model, trained.variables, data, key)}")


if __name__ == "__main__":
    main()
