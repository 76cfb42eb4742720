"""Reproductions of the three papers, one module each.

Every experiment module exposes ``NAME``, a ``Config`` dataclass with a ``quick()``
classmethod, ``run(config, key) -> Result`` and ``plot(result, out_dir) -> list[str]``;
``Result.to_dict()`` returns the JSON-able ``results.json`` content, with keys
``config`` and ``summary`` (named scalars).
"""

# name on the command line -> module under hamgeo.experiments
REGISTRY = {
    "discriminability": "hamgeo.experiments.discriminability",
    "bnn-geometry": "hamgeo.experiments.bnn_geometry",
    "hash-encoder": "hamgeo.experiments.hash_encoder",
}

__all__ = ["REGISTRY"]
