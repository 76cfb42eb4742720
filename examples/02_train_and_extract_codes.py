"""Train a ReLU MLP and a BinaryNet MLP on scikit-learn's digits and look at their codes.

Each network's activation code (one bit per hidden unit, 1 where the pre-activation is
positive; for the BNN its binarized activations) names the cell of the input-space
tessellation an input falls in. A network that gives every training image its own
code has redundancy ratio (n - #distinct codes) / n = 0: it behaves like a hash
encoder (hash_encoders.txt). Runs in well under a minute on a laptop CPU.

    python examples/02_train_and_extract_codes.py
"""

import jax

import hamgeo
from hamgeo.data import digits
from hamgeo.nets import MLP, BinaryMLP, layer_slices, train


def main() -> None:
    data = digits()
    key_relu, key_bnn = jax.random.split(jax.random.key(0))
    runs = [
        ("ReLU MLP (256, 256)", MLP((256, 256), 10), key_relu, 2e-3, 12),
        ("BinaryMLP (512, 512, 512)", BinaryMLP((512, 512, 512), 10), key_bnn, 3e-3, 10),
    ]
    for name, model, key, lr, epochs in runs:
        result = train(model, data, epochs=epochs, batch_size=64, learning_rate=lr, key=key)
        codes = hamgeo.activation_codes(model, result.variables, data.x_train)
        slices = layer_slices(model, result.variables, data.x_train)
        n = codes.shape[0]
        print(f"{name}: test accuracy {result.history['test_accuracy'][-1]:.3f}")
        print(f"  codes: {n} training images x {codes.n_bits} bits ({codes.n_words} words each)")
        print(
            f"  distinct codes {int(hamgeo.count_regions(codes))} / {n}, "
            f"redundancy ratio {float(hamgeo.redundancy_ratio(codes)):.4f}"
        )
        per_layer = hamgeo.redundancy_ratio_per_layer(codes, slices)
        for i, (s, r) in enumerate(zip(slices, per_layer, strict=True)):
            print(f"  layer {i + 1}: bits {s.start}..{s.stop - 1}, redundancy ratio {float(r):.4f}")
        d = hamgeo.pairwise_hamming(codes[:5])
        print(f"  Hamming distances between the first 5 codes:\n{d}")


if __name__ == "__main__":
    main()
