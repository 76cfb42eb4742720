"""Theorem A.1 of the discriminability paper, checked on the codes of a trained net.

The theorem bounds the probability that the Wasserstein-``p`` distance between two
empirical measures of codes strays from the distance between the measures they are drawn
from: for ``n >= m`` i.i.d. codes ``X^1 ~ mu1`` and ``X^2 ~ mu2``,

    P(|W_p(mu1, mu2) - W_p(L_n, L_m)| > eps) < (n + 1)^D exp(-eps n 2^{-(1 + 2p)/(2p)} / D),

where ``D = |beta(x)|`` is the largest Hamming distance between two codes of the support.
Here ``mu1`` and ``mu2`` are the code histograms of two probe clouds (at the start corner
and at a shift along the diagonal, ``theorem_reference`` points each), so ``W(mu1, mu2)``
is exact (a linear program on the distinct codes), and ``L_n``, ``L_m`` (``n = m``) are
drawn i.i.d. from those histograms ``theorem_draws`` times per size.

The right-hand side is at least 1 (vacuous) until ``eps n 2^{-3/2} / D > D ln(n + 1)``
(``p = 1``), which for a few tens of bits takes thousands to millions of points;
[`bound_useful_from`][hamgeo.experiments.discriminability.bound_useful_from] gives the first ``n``
where it is not.
"""

from __future__ import annotations

import math

import jax
import numpy as np
import scipy.optimize

from hamgeo._checks import check_int
from hamgeo.codes import PackedCodes
from hamgeo.data import diagonal_probe
from hamgeo.experiments.discriminability._config import Config
from hamgeo.experiments.discriminability._result import TheoremResult
from hamgeo.experiments.discriminability._stats import log10_bound
from hamgeo.hamming import pairwise_hamming
from hamgeo.nets import activation_codes
from hamgeo.transport import exact_wasserstein

__all__ = ["theorem_study"]


def _histogram(codes: PackedCodes) -> tuple[PackedCodes, np.ndarray]:
    """Distinct codes and their frequencies."""
    words = np.asarray(codes.words)
    distinct, counts = np.unique(words, axis=0, return_counts=True)
    return PackedCodes(distinct, codes.n_bits), counts / counts.sum()


def _empirical_w(cost: np.ndarray, idx1: np.ndarray, idx2: np.ndarray) -> float:
    """Exact W1 between the uniform empirical measures of two equal-size draws.

    ``idx1``, ``idx2`` index the draws into the two supports, whose Hamming distances
    are ``cost``; with equal sizes and uniform weights the optimal plan is an assignment
    (Birkhoff), solved exactly by ``linear_sum_assignment``.
    """
    c = cost[np.ix_(idx1, idx2)]
    rows, cols = scipy.optimize.linear_sum_assignment(c)
    return float(c[rows, cols].mean())


def theorem_study(model, variables, config: Config, key: jax.Array) -> TheoremResult:
    """The empirical tail ``P(|W(mu1, mu2) - W(L_n, L_n)| > eps)`` for each size and ``eps``.

    Args:
        model: a trained net of `hamgeo.nets`.
        variables: its variables.
        config: the sizes (``theorem_*`` fields, ``probe_spread``, ``dim``).
        key: randomness of the clouds and of the draws.

    Returns:
        A [`TheoremResult`][hamgeo.experiments.discriminability.TheoremResult].
    """
    check_int(config.theorem.reference, "theorem_reference", minimum=1)
    k1, k2, k_draw = jax.random.split(key, 3)
    shift = config.theorem.shift * config.probe.max_shift * math.sqrt(config.grid.dim)
    spread = config.theorem.spread
    n_ref = config.theorem.reference
    clouds = [
        diagonal_probe(t, dim=config.grid.dim, m=n_ref, key=k, spread=spread)
        for t, k in ((0.0, k1), (shift, k2))
    ]
    (supp1, w1), (supp2, w2) = (_histogram(activation_codes(model, variables, c)) for c in clouds)
    reference = exact_wasserstein(supp1, supp2, a=w1, b=w2)
    union = PackedCodes(np.concatenate([supp1.words, supp2.words]), supp1.n_bits)
    diameter = max(1, int(np.asarray(pairwise_hamming(union)).max()))
    n_codes = len(np.unique(np.asarray(union.words), axis=0))
    rng = np.random.default_rng(np.asarray(jax.random.key_data(k_draw)).ravel())
    sizes = np.asarray(config.theorem.sizes, np.int64)
    eps = np.asarray(config.theorem.epsilons, np.float64)
    cost = np.asarray(pairwise_hamming(supp1, supp2), np.float64)
    errors = np.zeros((sizes.size, config.theorem.draws))
    for i, n in enumerate(sizes):
        idx1 = rng.choice(w1.size, size=(config.theorem.draws, int(n)), p=w1)
        idx2 = rng.choice(w2.size, size=(config.theorem.draws, int(n)), p=w2)
        for j in range(config.theorem.draws):
            errors[i, j] = abs(reference - _empirical_w(cost, idx1[j], idx2[j]))
    tail = (errors[:, :, None] > eps[None, None, :]).mean(axis=1)
    bound = np.stack([log10_bound(sizes, e, diameter) for e in eps], axis=-1)
    return TheoremResult(
        shift=float(shift),
        reference=float(reference),
        diameter=diameter,
        n_codes=int(n_codes),
        sizes=sizes,
        epsilons=eps,
        tail=tail,
        mean_abs_error=errors.mean(axis=1),
        log10_bound=bound,
    )
