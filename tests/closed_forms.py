"""Constants and helpers shared by the closed-form tests (the papers' numbers, with their corrected statements)."""

import jax
import numpy as np

# f'(0) and f''(0) of each loss family's f (standard: f(t) = -log(1 + exp(-t)); WGAN: f(t) = t)
F_PRIME_0 = {"standard": 0.5, "non_saturating": 0.5, "wgan": 1.0}
F_SECOND_0 = {"standard": -0.25, "non_saturating": -0.25, "wgan": 0.0}


def sorted_eigs(lam):
    """Eigenvalues in a canonical order; ties in the real part up to rounding sort on rounded keys."""
    lam = np.asarray(lam)
    return lam[np.lexsort((np.round(lam.imag, 8), np.round(lam.real, 8)))]


def player_block(m, w):
    """The parameter block of an update Jacobian (warm-start state columns are zero, so
    the other eigenvalues are zeros)."""
    n = sum(np.size(x) for x in jax.tree.leaves(w))
    return np.asarray(m)[:n, :n]


def random_schur_quadratic(seed, n, m):
    """A quadratic game ``f = x^T A x / 2 + x^T B y - y^T C y / 2`` with ``C`` positive definite
    and the Schur complement ``A + B C^{-1} B^T`` positive definite."""
    rng = np.random.default_rng(seed)
    q = rng.normal(size=(n, n))
    A = (q + q.T) / 2  # indefinite
    B = rng.normal(size=(n, m))
    r = rng.normal(size=(m, m))
    C = r @ r.T + m * np.eye(m)
    # make the Schur complement positive definite
    S = A + B @ np.linalg.solve(C, B.T)
    A = A + (abs(np.linalg.eigvalsh(S).min()) + 0.5) * np.eye(n)
    return A, B, C
