"""Constants and helpers shared by the closed-form tests (the papers' numbers, THEORY.md)."""

import numpy as np

# f'(0) and f''(0) of each loss family's f (standard: f(t) = -log(1 + exp(-t)); WGAN: f(t) = t)
F_PRIME_0 = {"standard": 0.5, "non_saturating": 0.5, "wgan": 1.0}
F_SECOND_0 = {"standard": -0.25, "non_saturating": -0.25, "wgan": 0.0}


def sorted_eigs(lam):
    """Eigenvalues in a canonical order; ties in the real part up to rounding sort on rounded keys."""
    lam = np.asarray(lam)
    return lam[np.lexsort((np.round(lam.imag, 8), np.round(lam.real, 8)))]
