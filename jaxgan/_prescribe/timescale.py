"""``critical_timescale``: tau* of Fiez & Ratliff (2021), the smallest ratio of the
discriminator's to the generator's learning rate above which tau-GDA's flow is stable.

tau-GDA's flow ``phi' = -xi_phi, theta' = -tau xi_theta`` has the Jacobian ``-J_tau`` with
``J_tau = A0 + tau A1`` (``A0`` the generator's rows of ``J = d xi / d w``, ``A1`` the
discriminator's). Its eigenvalues cross the imaginary axis only where ``det(J_tau) = 0`` (at
``tau = 0`` for an equilibrium with ``det J != 0``) or where two of them sum to zero: where the
bialternate sum ``2 J_tau (.) I``, whose eigenvalues are the sums ``lambda_i + lambda_j``
(``i < j``), is singular. That sum is linear in ``tau`` too, so the crossings are the real
positive eigenvalues of the pencil ``(2 A0 (.) I, -2 A1 (.) I)`` (their guardian map). Between
two consecutive crossings stability cannot change, so one eigenvalue check inside each interval
decides it, and tau* is the lowest crossing above which every interval is stable: exact up to
the rounding of the pencil's eigenvalues, never a scan.
"""

from __future__ import annotations

import math

import jax
import numpy as np
import scipy.linalg

from .._analysis.jacobian import jacobian
from .._core.field import checked_equilibrium
from .._validation.checks import check_game

#: the largest bialternate sum built (``n (n - 1) / 2`` rows for ``n`` parameters): above it the
#: pencil's QZ decomposition is refused rather than run for minutes
MAX_BIALTERNATE = 3000


def bialternate_sum(m: np.ndarray) -> np.ndarray:
    """``2 M (.) I``: the matrix of ``X -> M X + X M^T`` on antisymmetric ``X`` in the basis
    ``E_pq - E_qp`` (``p < q``); its eigenvalues are ``lambda_i + lambda_j``, ``i < j``."""
    n = m.shape[0]
    p, q = np.triu_indices(n, 1)
    # C_k = M[:, p] e_q^T - M[:, q] e_p^T + e_p M[:, q]^T - e_q M[:, p]^T, read at (r, s), r < s
    r, s = p, q
    out = (
        m[r[:, None], p[None, :]] * (s[:, None] == q[None, :])
        - m[r[:, None], q[None, :]] * (s[:, None] == p[None, :])
        + m[s[:, None], q[None, :]] * (r[:, None] == p[None, :])
        - m[s[:, None], p[None, :]] * (r[:, None] == q[None, :])
    )
    return out


def _stable(a0, a1, tau) -> bool:
    lam = np.linalg.eigvals(a0 + tau * a1)
    return bool(np.min(lam.real) > 0)


def critical_timescale(game, w_star=None) -> float:
    """The critical timescale tau* of tau-GDA at an equilibrium (Fiez & Ratliff 2021).

    tau* is the smallest ``tau`` such that the flow ``phi' = -xi_phi, theta' = -tau xi_theta`` is
    stable for every larger ``tau``.

    .. math:: \\tau^* = \\inf\\{\\tau_0 \\ge 0 : \\operatorname{Re}\\,\\operatorname{spec}
        \\begin{pmatrix} J_{\\phi\\phi} & J_{\\phi\\theta} \\\\ \\tau J_{\\theta\\phi} &
        \\tau J_{\\theta\\theta} \\end{pmatrix} > 0 \\ \\forall \\tau > \\tau_0\\}

    with ``J = d xi / d w``. ``0`` where every ``tau > 0`` is stable, ``inf`` where no large
    ``tau`` is. Found exactly through the guardian map: the ``tau`` where an eigenvalue can
    cross the imaginary axis are the real positive eigenvalues of a linear pencil of bialternate
    sums (scipy's QZ), and stability is checked once between consecutive crossings. For one
    generator and one discriminator parameter with ``J = [[a, b], [c, d]]``, ``a < 0 < d`` and
    ``ad - bc > 0``: ``tau* = -a / d``. The pencil has ``n (n - 1) / 2`` rows for ``n``
    parameters; above 3,000 rows (about 78 parameters) it is refused.

    Args:
      game: a two-player ``Game``.
      w_star: the equilibrium (default: ``game.equilibrium``).

    Returns:
      tau* as a float (``0.0``, a positive number, or ``inf``).

    Examples:
      >>> import jaxgan as jg
      >>> # the generator sits at a maximum of its loss (a = -1); the discriminator's d = 2
      >>> game = jg.Game(lambda x, y: -0.5 * x**2 + 2 * x * y, lambda x, y: y**2 - 2 * x * y)
      >>> jg.critical_timescale(game, jg.Joint(0.0, 0.0))
      0.5
    """
    where = "critical_timescale"
    game = check_game(game, where, two_player=True)
    if any(isinstance(x, jax.core.Tracer) for x in jax.tree.leaves(w_star)):
        raise TypeError(
            f"{where}: `w_star` is traced (inside jax.jit, vmap or grad): tau* is found on the "
            "host (SciPy's QZ of the bialternate pencil), so call it outside transformations."
        )
    point = checked_equilibrium(game, w_star, where)
    j = -np.asarray(jacobian(game, point), dtype=np.float64)  # d xi / d w
    n = j.shape[0]
    n_phi = sum(int(np.size(x)) for x in jax.tree.leaves(point.phi))
    if n_phi == 0 or n_phi == n:
        raise ValueError(f"{where}: both players need parameters, got {n_phi} of {n} for phi.")
    if not np.all(np.isfinite(j)):
        raise ValueError(f"{where}: the Jacobian at `w_star` has non-finite entries.")
    singular_values = np.linalg.svd(j, compute_uv=False)
    if singular_values[-1] <= n * np.finfo(np.float64).eps * singular_values[0]:
        raise ValueError(
            f"{where}: the Jacobian of the field at `w_star` is singular (det J = 0), so an "
            "eigenvalue sits at zero for every tau and tau-GDA's flow has no stability to decide: "
            "a degenerate equilibrium."
        )
    a0, a1 = j.copy(), j.copy()
    a0[n_phi:] = 0.0
    a1[:n_phi] = 0.0
    rows = n * (n - 1) // 2
    if rows > MAX_BIALTERNATE:
        raise ValueError(
            f"{where}: {n} parameters give a bialternate pencil of {rows} rows, above the "
            f"{MAX_BIALTERNATE} this dense construction handles; reduce the game "
            "(a small network, or the block of the parameters in question)."
        )
    crossings = []
    if rows:
        k0, k1 = bialternate_sum(a0), bialternate_sum(a1)
        # (k0 + tau k1) v = 0  <=>  k0 v = tau (-k1) v
        alpha, beta = scipy.linalg.eig(k0, -k1, right=False, homogeneous_eigvals=True)
        scale = max(1.0, np.abs(k0).max(), np.abs(k1).max())
        for a, b in zip(alpha, beta):
            if abs(b) <= 1e-13 * scale:
                continue  # an infinite eigenvalue: no finite crossing
            tau = a / b
            if abs(tau.imag) <= 1e-9 * max(1.0, abs(tau)) and tau.real > 0:
                crossings.append(float(tau.real))
    crossings = sorted(set(crossings))
    top = crossings[-1] if crossings else 1.0
    if not _stable(a0, a1, 2.0 * top + 1.0):
        return math.inf
    # walk down: tau* is the lowest crossing above which every interval is stable
    tau_star = 0.0
    for i in range(len(crossings) - 1, -1, -1):
        below = crossings[i - 1] if i > 0 else 0.0
        if not _stable(a0, a1, 0.5 * (below + crossings[i])):
            tau_star = crossings[i]
            break
    return float(tau_star)
