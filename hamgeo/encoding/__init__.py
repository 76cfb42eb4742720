"""Categorization on neural codes: k-NN, k-means and logistic regression.

The hash-encoder paper (He et al., "Neural networks behave as hash encoders: an
empirical study", [Hash-Encoders] in ``docs/references.md``) measures how well an
activation code *categorizes*: simple algorithms run on the codes instead of the
inputs — k-NN under the Hamming distance, k-means, and multinomial logistic
regression — and their accuracy is set next to the network's own. This module
provides those three, with one signature
``(train_codes, train_labels, test_codes, test_labels, *, ...)`` and one result type,
[`EncodingResult`][hamgeo.encoding.EncodingResult].

* [`knn_classify`][hamgeo.encoding.knn_classify] /
  [`knn_accuracy`][hamgeo.encoding.knn_accuracy]: majority vote among the ``k``
  Hamming-nearest training codes. The default follows the paper's protocol,
  scikit-learn's ``KNeighborsClassifier(n_neighbors=9, metric="hamming")``, with its
  rules for ties (the same predictions, to the example); ``ties="nearest"`` is
  hamgeo's streaming rule.
* [`kmeans_accuracy`][hamgeo.encoding.kmeans_accuracy]: scikit-learn's k-means on the
  {0, 1} code vectors, scored by the Hungarian matching of clusters to labels and by
  normalized mutual information.
* [`logreg_accuracy`][hamgeo.encoding.logreg_accuracy]: scikit-learn's L2-regularized
  multinomial logistic regression on the codes.
"""

from hamgeo.encoding._common import EncodingResult as EncodingResult
from hamgeo.encoding._common import KnnTies as KnnTies
from hamgeo.encoding._kmeans import kmeans_accuracy as kmeans_accuracy
from hamgeo.encoding._knn import knn_accuracy as knn_accuracy
from hamgeo.encoding._knn import knn_classify as knn_classify
from hamgeo.encoding._logreg import logreg_accuracy as logreg_accuracy

__all__ = [
    "EncodingResult",
    "KnnTies",
    "kmeans_accuracy",
    "knn_accuracy",
    "knn_classify",
    "logreg_accuracy",
]
