"""Reproductions of the three papers, one package each.

Every experiment package follows [`hamgeo.experiments.protocol`][hamgeo.experiments.protocol]:
``NAME``, a validated frozen ``Config`` dataclass with ``quick()`` and ``n_seeds``,
``run(config, key) -> Result`` and ``plot(result, out_dir) -> list[Path]``. A ``Result``
holds ``findings`` (the papers' claims judged by a stated rule against controls, see
[`hamgeo.experiments.findings`][hamgeo.experiments.findings]), ``summary`` (tidy records:
statistic, factors, mean, 95 % interval, seeds) and ``to_dict()``, the content of
``results.json`` in the one versioned schema every study shares (``results.schema.json``).
"""

# name on the command line -> module under hamgeo.experiments
REGISTRY = {
    "discriminability": "hamgeo.experiments.discriminability",
    "bnn-geometry": "hamgeo.experiments.bnn_geometry",
    "hash-encoder": "hamgeo.experiments.hash_encoder",
}

#: The most seeds a study runs (``--seeds`` and every ``Config.n_seeds``): each seed
#: retrains every network, so more is a typo, not a plan. Here, not in a study, so that
#: the command line reads it without importing JAX.
MAX_SEEDS = 1000

__all__ = ["MAX_SEEDS", "REGISTRY"]
