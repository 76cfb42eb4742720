"""The high-dimensional geometry of binary neural networks (Anderson & Berg 2018), small.

1. Fig. 2: the angle between a random vector and its sign is small next to the angle
   between two random vectors (near 90 degrees); the two distributions overlap in low
   dimension and separate in moderately high dimension. (The limit of 30 degrees for
   uniform entries and the theory columns are hamgeo's, not the paper's.)
2. Fig. 3: a BinaryNet MLP with batch norm without mean subtraction (the paper's
   Sec. 5.1), trained on scikit-learn's digits, preserves dot products,
   a . sign(w_c) ~ a . w_c, strongly in the wide layers, less in the first one: pooled
   over all (example, unit) pairs as in the paper, and unit by unit, against a random
   binary vector (which scores high only when the inputs vary along few directions) and
   the correlation isotropic inputs would give, cos angle(w_b, w_c).

    python examples/05_bnn_geometry.py      (about half a minute on a laptop CPU)

The full reproduction with seeds, intervals and figures:
``hamgeo reproduce bnn-geometry --quick``.
"""

import jax
import numpy as np

import hamgeo
from hamgeo.binary_geometry import angle_overlap, angle_theory
from hamgeo.data import digits
from hamgeo.nets import BinaryMLP, accuracy, train


def main() -> None:
    key = jax.random.key(0)

    print("dim   sign angle (theory)   random pair +- std (theory)   overlap (theory)")
    for dim in (2, 10, 100, 1000):
        sign, pairs = hamgeo.binarization_angles(key=jax.random.fold_in(key, dim), dim=dim, n=4000)
        sign, pairs = np.asarray(sign), np.asarray(pairs)
        t = angle_theory(dim)
        print(
            f"{dim:<5} {sign.mean():6.2f} ({t.sign_mean:6.2f})        "
            f"{pairs.mean():6.2f} +- {pairs.std():5.2f} ({t.pair_std:5.2f})        "
            f"{angle_overlap(sign, pairs):.3f} ({t.overlap:.1e})"
        )

    ds = digits()
    model = BinaryMLP((256, 256), 10)  # norm="no-mean" by default
    result = train(model, ds, epochs=10, batch_size=64, learning_rate=1e-2, key=key)
    print(
        f"\nBinaryMLP 256-256-10 on digits: test accuracy "
        f"{accuracy(model, result.variables, ds.x_test, ds.y_test):.3f}"
    )
    print(
        "layer  fan-in  pooled  per unit [q25, median, q75]  activations  "
        "random |r|  isotropic  shuffled"
    )
    for r in hamgeo.dot_product_preservation(model, result.variables, ds.x_test, key=key):
        print(
            f"{r.layer:<6} {r.input_dim:<7} {r.dot_corr:.3f}   "
            f"[{r.dot_corr_unit_q25:.3f}, {r.dot_corr_unit_median:.3f}, "
            f"{r.dot_corr_unit_q75:.3f}]    {r.act_corr:<12.3f} "
            f"{r.random_abs_corr_unit_median:<11.3f} {r.isotropic_corr_median:<10.3f} "
            f"{r.control_corr:+.3f}"
        )


if __name__ == "__main__":
    main()
