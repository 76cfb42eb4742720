"""Reproductions of the three papers, one package each.

Every experiment package follows :mod:`hamgeo.experiments._protocol`: ``NAME``, a
validated ``Config`` dataclass with ``quick()`` and ``n_seeds``,
``run(config, key) -> Result``, ``plot(result, out_dir) -> list[Path]``, a
``Result.summary`` property of named values (intervals across seeds) and
``Result.to_dict()``, the JSON-able ``results.json`` content with the keys
``experiment``, ``config`` and ``summary``.
"""

# name on the command line -> module under hamgeo.experiments
REGISTRY = {
    "discriminability": "hamgeo.experiments.discriminability",
    "bnn-geometry": "hamgeo.experiments.bnn_geometry",
    "hash-encoder": "hamgeo.experiments.hash_encoder",
}

__all__ = ["REGISTRY"]
