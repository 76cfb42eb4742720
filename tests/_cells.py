"""Small ReLU MLPs and a float64 NumPy reference, shared by the hamgeo.regions tests."""

import numpy as np


def mlp(rng, d, widths, bias=0.3):
    """Variables of a random ReLU MLP in hamgeo.nets.MLP's layout (He-scaled kernels)."""
    params = {}
    for i, w in enumerate(widths):
        params[f"hidden_{i}"] = {
            "kernel": (rng.standard_normal((d, w)) * np.sqrt(2.0 / d)).astype(np.float32),
            "bias": (bias * rng.standard_normal(w)).astype(np.float32),
        }
        d = w
    params["head"] = {"kernel": np.ones((d, 3), np.float32), "bias": np.zeros(3, np.float32)}
    return {"params": params}


def preactivations(variables, x):
    """NumPy float64 reference: pre-activations of every hidden unit, ``[n, units]``."""
    h = np.asarray(x, np.float64)
    out = []
    i = 0
    while f"hidden_{i}" in variables["params"]:
        layer = variables["params"][f"hidden_{i}"]
        z = h @ np.asarray(layer["kernel"], np.float64) + np.asarray(layer["bias"], np.float64)
        out.append(z)
        h = np.maximum(z, 0.0)
        i += 1
    return np.concatenate(out, axis=1)


def arrangement(lines):
    """One hidden layer whose units are the lines ``a x + b y + c = 0``."""
    lines = np.asarray(lines, np.float64)
    return {"params": {"hidden_0": {"kernel": lines[:, :2].T, "bias": lines[:, 2]}}}
