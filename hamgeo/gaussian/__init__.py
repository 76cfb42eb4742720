r"""Fréchet distance: the Wasserstein-2 distance between Gaussian fits.

The discriminability paper benchmarks its code-space distances against the
Fréchet distance (Fréchet 1957; "fd" in its plots), the closed-form ``W_2``
between the Gaussians with the samples' means and covariances (the FID formula,
Heusel et al. 2017):

$$
d_F^2 = |\mu_x - \mu_y|^2 + \operatorname{tr}\big(\Sigma_x + \Sigma_y
        - 2 (\Sigma_x^{1/2} \Sigma_y \Sigma_x^{1/2})^{1/2}\big).
$$
"""

from hamgeo.gaussian._frechet import frechet_distance as frechet_distance

__all__ = ["frechet_distance"]
