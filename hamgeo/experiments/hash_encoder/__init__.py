"""Reproduction of the hash-encoder paper: determinism, categorization, the phase chart.

The paper is *Neural networks behave as hash encoders: an empirical study* (He et al.,
[Hash-Encoders] in ``docs/references.md``). A ReLU network's activation pattern (its
*neural code*) names the linear region an input falls in. The paper finds that trained
classifiers are hash encoders:

* **determinism**: the redundancy ratio ``(n - m) / n`` (``m`` = number of distinct codes
  among ``n`` examples) is near zero;
* **categorization**: k-NN (Hamming), k-means and logistic regression on the codes reach
  training and test accuracies "at least comparable" with the network's;

and that model size, training time and sample size dominate these properties, weight
decay and label noise less. Its *activation hash phase chart* splits the factors' space
into under-, critically- and sufficiently-expressive regimes by the redundancy, the
accuracy and the significance of their correlations with the factors.

What runs (:class:`Config`; defaults on scikit-learn's digits, ``data=`` for MNIST,
Fashion-MNIST, CIFAR-10 or MNIST-1D): every factor table of :data:`FACTORS`, each
network measured at initialization *and* after training, ``n_seeds`` times:

* width: one-hidden-layer MLPs of widths 1 upward;
* depth: MLPs of 1 to 8 hidden layers with the same total number of units;
* family: VGG-style (:class:`hamgeo.nets.CNN`) and ResNet-style
  (:class:`hamgeo.nets.ResidualCNN`) convolutional nets of several sizes;
* training time: the codes of several widths after every epoch (epoch 0 = init);
* sample size: widths × fractions of the training set (same number of steps);
* weight decay (AdamW) and label noise at one width.

Training goes through :func:`hamgeo.nets.train_many` (all same-shaped networks of a seed
at once); the k-NN is the paper's ``KNeighborsClassifier(n_neighbors=9,
metric="hamming")`` protocol (:func:`hamgeo.knn_classify`). The summary holds intervals
across seeds, Spearman correlations with each factor, the regimes and verdicts.

Layout: ``_config`` (names, :class:`Config`, :class:`Result`) is the leaf; ``_regimes``
(statistics), ``_sweeps`` (which networks), ``_train`` (training and codes),
``_analysis`` (measures on codes), ``_summary`` and ``_run`` build on it; ``_plots``
draws from a :class:`Result`.
"""

from __future__ import annotations

from pathlib import Path

from hamgeo.experiments.hash_encoder._config import (
    FACTORS,
    FAMILIES,
    METRICS,
    NAME,
    REDUNDANCY_NEAR_ZERO,
    REGIME_WINDOW,
    SIGNIFICANCE,
    CodeMetrics,
    Config,
    Result,
)
from hamgeo.experiments.hash_encoder._plots import draw
from hamgeo.experiments.hash_encoder._regimes import regime, spearman
from hamgeo.experiments.hash_encoder._run import run
from hamgeo.experiments.hash_encoder._summary import COMPARABLE

__all__ = [
    "COMPARABLE",
    "FACTORS",
    "FAMILIES",
    "METRICS",
    "NAME",
    "REDUNDANCY_NEAR_ZERO",
    "REGIME_WINDOW",
    "SIGNIFICANCE",
    "CodeMetrics",
    "Config",
    "Result",
    "plot",
    "regime",
    "run",
    "spearman",
]


def plot(result: Result, out_dir: str | Path) -> list[Path]:
    """Draw the phase chart and one figure per factor; return the PNG paths.

    Args:
        result: what :func:`run` returned.
        out_dir: folder for the figures.

    Returns:
        Paths of ``hash_encoder_phase.png`` and ``hash_encoder_<factor>.png`` for the
        factors that ran.
    """
    return draw(result, out_dir)
