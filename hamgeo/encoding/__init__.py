"""Categorization on neural codes: k-NN, k-means and logistic regression.

The hash-encoder paper (He et al., "Neural networks behave as hash encoders: an
empirical study", [Hash-Encoders] in ``docs/references.md``) measures how well an
activation code *categorizes*: simple algorithms run on the codes instead of the
inputs — k-NN under the Hamming distance, k-means, and multinomial logistic
regression — and their accuracy is set next to the network's own. This module
provides those three.

* :func:`knn_classify` / :func:`knn_accuracy`: majority vote among the ``k``
  Hamming-nearest training codes. The default follows the paper's protocol,
  scikit-learn's ``KNeighborsClassifier(n_neighbors=9, metric="hamming")``, with its
  rules for ties (the same predictions, to the example); ``ties="nearest"`` is
  hamgeo's streaming rule (:func:`hamgeo.hamming.hamming_knn`, ties to the nearest).
* :func:`kmeans_accuracy`: Lloyd's k-means on the {0, 1} code vectors with a
  k-means++ start, scored by the Hungarian matching of clusters to labels and by
  normalized mutual information.
* :func:`logreg_accuracy`: L2-regularized multinomial logistic regression on the
  codes, trained full batch with optax's Adam.
"""

from hamgeo.encoding._common import KnnTies as KnnTies
from hamgeo.encoding._kmeans import KMeansResult as KMeansResult
from hamgeo.encoding._kmeans import kmeans_accuracy as kmeans_accuracy
from hamgeo.encoding._knn import knn_accuracy as knn_accuracy
from hamgeo.encoding._knn import knn_classify as knn_classify
from hamgeo.encoding._logreg import LogRegResult as LogRegResult
from hamgeo.encoding._logreg import logreg_accuracy as logreg_accuracy

__all__ = [
    "KMeansResult",
    "KnnTies",
    "LogRegResult",
    "kmeans_accuracy",
    "knn_accuracy",
    "knn_classify",
    "logreg_accuracy",
]
