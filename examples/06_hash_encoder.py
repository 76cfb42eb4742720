"""Networks as hash encoders: redundancy and categorization of activation codes.

Trains a one-hidden-layer ReLU MLP on scikit-learn's digits, extracts the activation
codes (one bit per hidden unit), and measures the hash-encoder paper's two
properties: the redundancy ratio (n - #distinct codes) / n, near zero for a wide
network, and how well k-NN (Hamming), k-means and logistic regression categorize
the codes, next to the network's own test accuracy.

Run: ``python examples/06_hash_encoder.py`` (about a minute on a laptop CPU).
The full study (widths, training time, sample size, weight decay, label noise and
the phase chart) is ``hamgeo reproduce hash-encoder``.
"""

import jax

import hamgeo
from hamgeo import nets
from hamgeo.data import digits


def main() -> None:
    data = digits()
    key = jax.random.key(0)
    for width in (4, 32, 512):
        model = nets.MLP((width,), 10)
        trained = nets.train(model, data, epochs=20, batch_size=64, learning_rate=1e-3, key=key)
        codes_tr = nets.activation_codes(model, trained.variables, data.x_train)
        codes_te = nets.activation_codes(model, trained.variables, data.x_test)
        net = nets.accuracy(model, trained.variables, data.x_test, data.y_test)
        knn = hamgeo.knn_accuracy(codes_tr, data.y_train, codes_te, data.y_test, k=9)
        km = hamgeo.kmeans_accuracy(codes_te, data.y_test, n_clusters=10, key=key)
        lr = hamgeo.logreg_accuracy(codes_tr, data.y_train, codes_te, data.y_test, key=key)
        print(
            f"width {width:4d}: redundancy train {float(hamgeo.redundancy_ratio(codes_tr)):.3f}"
            f" test {float(hamgeo.redundancy_ratio(codes_te)):.3f} | test accuracy:"
            f" network {net:.3f}, k-NN {knn:.3f}, k-means {km.accuracy:.3f},"
            f" logreg {lr.test_accuracy:.3f}"
        )


if __name__ == "__main__":
    main()
