"""Discriminability of samples in Hamming space, step by step through the Python API.

The procedure of the discriminability paper (section 3) at a small size: Gaussian-grid data,
a ReLU net trained to predict the k-means group, diagonal probe samples S1 (start) and S2
(shifted by t), and distances between them in code, activation and data space.
`hamgeo reproduce discriminability` runs the whole experiment; this is its core by hand.

Run: python examples/04_discriminability.py
"""

import jax
import jax.numpy as jnp
import numpy as np

import hamgeo
from hamgeo.data import diagonal_probe, gaussian_grid
from hamgeo.experiments.discriminability import benchmark_window, saturation, spearman_window
from hamgeo.nets import MLP, accuracy, train
from hamgeo.regions import tessellation_distance

key = jax.random.key(0)
k_data, k_train, k_probe = jax.random.split(key, 3)

# 1. 25 Gaussians on a 5 x 5 grid of [0, 1]^2, five labels from k-means over the means
data = gaussian_grid(key=k_data, per_axis=5, dim=2, n_groups=5, n_per_gaussian=40)
model = MLP(widths=(15, 15, 15), n_classes=5)
variables = train(model, data, epochs=30, batch_size=64, learning_rate=1e-2, key=k_train).variables
print(f"test accuracy: {accuracy(model, variables, data.x_test, data.y_test):.3f}")

# 2. probe clouds of m points on the diagonal; S2 is S1 shifted by t
shifts = np.linspace(0.0, np.sqrt(2.0), 12, dtype=np.float32)
clouds = diagonal_probe(jnp.asarray(shifts), dim=2, m=10, key=k_probe)  # [T, m, 2]
s1 = clouds[0]
codes_1 = hamgeo.activation_codes(model, variables, s1)

# 3. distances between S1 and every S2: code space (W1 with Hamming cost, MMD with
#    exp(-d_H)) against the benchmark (Fréchet distance in data space)
w1, mmd2, fd = [], [], []
for s2 in clouds:
    codes_2 = hamgeo.activation_codes(model, variables, s2)
    same = bool(jnp.all(codes_1.words == codes_2.words))  # t = 0: S2 is S1, W1 = 0
    w1.append(0.0 if same else float(hamgeo.wasserstein(codes_1, codes_2).value))
    mmd2.append(float(hamgeo.mmd(codes_1, codes_2, unbiased=False)))
    fd.append(float(hamgeo.frechet_distance(s1, s2)))

print(" shift  code-W1  code-MMD2  data-Frechet")
for t, a, b, c in zip(shifts, w1, mmd2, fd, strict=True):
    print(f"{t:6.2f} {a:8.2f} {b:10.3f} {c:13.3f}")
# 4. statistics that can fail: where code W1 reaches its final plateau (within delta = 0.1
#    of the mean of its last 3 values), and its rank agreement with the benchmark over the
#    local window up to where the benchmark reaches half its rise
sat = saturation(np.asarray(w1), shifts, delta=0.1, tail=3)
print(
    f"code W1: plateau {sat.plateau:.2f} bits, reached (0.9) at t = {sat.onset:.2f}, "
    f"saturation region {sat.region:.2f} of {shifts[-1]:.2f}"
)
n = benchmark_window(np.asarray(fd), level=0.5, minimum=5)
rho = spearman_window(np.asarray(w1), np.asarray(fd), n)
print(f"Spearman(code W1, data Fréchet) over the first {n} shifts: {rho:.2f}")

# 5. the cells along the diagonal: Hamming distance vs the tessellation distance d_T
#    (exact: breadth-first search on the exact partition of the plane into cells)
start = np.zeros((len(shifts), 2))
ends = np.asarray(diagonal_probe(jnp.asarray(shifts), dim=2), np.float64)[:, 0, :]
d_t = tessellation_distance(model, variables, start, ends)
codes = hamgeo.activation_codes(model, variables, jnp.asarray(ends, jnp.float32))
d_h = np.asarray(hamgeo.pairwise_hamming(codes[:1], codes))[0]
print("d_H:", d_h.tolist())
print("d_T:", d_t.tolist(), "(d_H <= d_T; d_H < d_T is the paper's Fig. 1 effect)")
