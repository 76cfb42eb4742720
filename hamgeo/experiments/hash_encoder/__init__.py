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

What runs ([`Config`][hamgeo.experiments.hash_encoder.Config]; defaults on scikit-learn's digits,
``data=`` for MNIST,
Fashion-MNIST, CIFAR-10 or MNIST-1D): every factor table of
`FACTORS`, each
network measured at initialization *and* after training, ``n_seeds`` times:

* width: one-hidden-layer MLPs of widths 1 upward;
* depth: MLPs of 1 to 8 hidden layers with the same total number of units;
* family: VGG-style ([`hamgeo.nets.CNN`][hamgeo.nets.CNN]) and ResNet-style
  ([`hamgeo.nets.ResidualCNN`][hamgeo.nets.ResidualCNN]) convolutional nets of several sizes;
* training time: the codes of several widths after every epoch (epoch 0 = init);
* sample size: widths × fractions of the training set (same number of steps);
* weight decay (AdamW) and label noise at one width.

Training goes through [`hamgeo.nets.train_many`][hamgeo.nets.train_many] (all same-shaped networks
of a seed
at once); the k-NN is the paper's ``KNeighborsClassifier(n_neighbors=9,
metric="hamming")`` protocol ([`hamgeo.knn_classify`][hamgeo.knn_classify]). Beside every trained
net
stand its controls: the same net at initialization, random-hyperplane codes of the
inputs with the same number of bits, and the raw inputs (``_controls``). The findings
(``_verdicts``) judge the claims of the paper's text by stated rules against those
controls; the summary is tidy records with intervals across seeds; the regimes are
labelled by effect size, so that they do not change with the number of seeds.

Layout: ``_config`` (names, [`Config`][hamgeo.experiments.hash_encoder.Config]) is the
leaf; ``_result`` (the Result), ``_run`` (the study) and ``_plots`` (``plot``) follow the
layout every study shares; ``_regimes`` (regimes), ``_sweeps`` (which networks),
``_train`` (training and codes), ``_analysis`` (measures on codes), ``_controls``
(random hyperplanes, raw inputs), ``_summary`` (records) and ``_verdicts`` (findings)
sit between them.
"""

from hamgeo.experiments.hash_encoder._config import (
    EFFECT_SIZE,
    FACTORS,
    FAMILIES,
    METRICS,
    NAME,
    REDUNDANCY_NEAR_ZERO,
    REGIME_WINDOW,
    SIGNIFICANCE,
    CodeMetrics,
    Config,
)
from hamgeo.experiments.hash_encoder._plots import plot
from hamgeo.experiments.hash_encoder._regimes import regime, spearman
from hamgeo.experiments.hash_encoder._result import Result
from hamgeo.experiments.hash_encoder._run import run
from hamgeo.experiments.hash_encoder._verdicts import COMPARABLE

__all__ = [
    "COMPARABLE",
    "EFFECT_SIZE",
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
