"""Which stationary point is this? Local Nash, differential Stackelberg (local minimax), or neither.

At a point with ``xi = 0`` (both players' own gradients vanish), with ``H_pp = d^2 L_g /
d phi^2``, ``H_tt = d^2 L_d / d theta^2`` and the leader's Stackelberg Hessian ``S``
(``jaxgan._analysis.operators``):

* **strict local Nash equilibrium** iff ``H_pp > 0`` and ``H_tt > 0`` (each player at a
  strict local minimum of its own loss; Ratliff, Burden & Sastry 2013's differential Nash
  equilibrium);
* **differential Stackelberg equilibrium** (generator leading) iff ``H_tt > 0`` and
  ``S > 0``, with the leader's total gradient zero (Fiez, Chasnov & Ratliff 2020). In a
  zero-sum game ``min_phi max_theta f`` this is Jin, Netrapalli & Jordan's (2020) strict
  local minimax point: ``f_tt < 0`` and ``f_pp - f_pt f_tt^{-1} f_tp > 0``, ``S`` being that
  Schur complement. Every strict local Nash point of a zero-sum game is local minimax
  (``S >= H_pp``); the converse fails (Jin et al.'s Proposition 18);
* **neither** otherwise: the follower is not at a strict local minimum, or the leader's
  total curvature has a negative direction.

A zero eigenvalue (within ``rtol`` of the operator's scale) makes the second-order test
inconclusive, and the verdict says so. Every extreme eigenvalue is computed matrix-free
(restarted Arnoldi on products of the symmetric operator; the Schur products solve with
``H_tt`` by conjugate gradient, and a failed solve shows as NaN), with its residual, except in
a zero-sum game of at most ``DENSE_CERTIFICATE`` parameters: there one forward-mode Jacobian of
the field gives every block, and the Hessians' and the Schur complement's spectra come from
dense symmetric eigendecompositions and dense solves (exact to rounding, with their residuals;
the inner solve's ``iterations`` is 0), a program that compiles in a fraction of the time.
``S``, ``T`` and the inner solve are computed only where ``H_tt`` is positive definite:
elsewhere the follower has no strict local best response, the verdict does not read them
(it is "neither" or "inconclusive" from ``H_tt`` alone), and CG on an indefinite ``H_tt``
would only spend its iteration budget; they are NaN and the reason says so.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from .._core.field import game_field
from .._core.game import Game, Joint
from .._validation.cache import compiled
from .._validation.checks import check_finite, check_game, check_point, entry
from .._validation.domains import Integer, Maybe, Real
from .arnoldi import operator_top_eigenvalues
from .density import inner_solve_options
from .jacobian import dense_jacobian
from .operators import operator, probe_solve, stackelberg_total_gradient
from .solve import SolveInfo


class Extremes(NamedTuple):
    """The smallest and largest eigenvalue of a symmetric operator, with residuals.

    Attributes:
      smallest, largest: the extreme eigenvalues.
      residuals: ``(2,)`` ``|H x - lambda x|`` of the unit Ritz vectors (smallest, largest).
      converged: both residuals within the Arnoldi tolerance.

    Examples:
      >>> import jaxgan as jg
      >>> game = jg.games.quadratic(2.0, 1.0, 3.0)
      >>> e = jg.stationary_point_certificate(game, game.equilibrium).follower
      >>> round(float(e.smallest), 4), round(float(e.largest), 4)  # H_tt = 3 (a scalar player)
      (3.0, 3.0)
    """

    smallest: jax.Array
    largest: jax.Array
    residuals: jax.Array
    converged: jax.Array


class StationaryPointCertificate(NamedTuple):
    """The result of ``stationary_point_certificate``.

    Attributes:
      gradient_norm: ``|xi(w)|``.
      total_gradient_norm: ``|T(w)|``, the leader's total gradient along the follower's
        best response (zero wherever ``xi = 0`` in a zero-sum game); NaN where ``H_tt``
        is not positive definite, as are ``stackelberg`` and ``inner_solve``.
      leader: ``Extremes`` of ``H_pp``.
      follower: ``Extremes`` of ``H_tt``.
      stackelberg: ``Extremes`` of ``S`` (the Schur complement in a zero-sum game, the
        leader's total Hessian otherwise).
      inner_solve: the ``SolveInfo`` of one CG solve with ``H_tt`` (a diagnostic of the
        solves inside the ``S`` products).
      operator: ``"schur_complement"`` or ``"stackelberg_hessian"``.
      verdict: ``"local Nash"``, ``"local minimax (differential Stackelberg), not Nash"``,
        ``"local minimax (differential Stackelberg)"`` (``H_pp`` singular: Nash undecided),
        ``"neither"``, ``"inconclusive"`` or ``"not stationary"``.
      reason: one sentence with the numbers behind the verdict.

    Examples:
      >>> import jaxgan as jg
      >>> game = jg.games.quadratic(-2.0, 1.0, 1.0)  # S = -2 + 1 < 0
      >>> cert = jg.stationary_point_certificate(game, game.equilibrium)
      >>> cert.verdict, cert.operator
      ('neither', 'schur_complement')
    """

    gradient_norm: float
    total_gradient_norm: float
    leader: Extremes
    follower: Extremes
    stackelberg: Extremes
    inner_solve: SolveInfo
    operator: str
    verdict: str
    reason: str


#: what the leader's own Hessian adds to a minimax verdict: a negative eigenvalue, else a zero one
LEADER_HESSIAN = {
    True: " while its own Hessian has a negative eigenvalue",
    False: ", its own Hessian has a zero eigenvalue",
}


def _extremes(matvec, n, dtype, tol):
    if n == 1:
        lam = matvec(jnp.ones((1,), dtype))[0]
        return Extremes(lam, lam, jnp.zeros(2, dtype), jnp.asarray(True))

    v0 = 1.0 + 0.5 * jnp.sin(jnp.arange(n, dtype=dtype) * 1.618 + 0.5)

    # the smallest eigenvalue of M is minus the largest of -M: both ends come from one restarted
    # Arnoldi (a real map: real arithmetic) run twice in a loop over the sign, so the operator's
    # products are compiled once, not once per end
    def largest(sign):
        return operator_top_eigenvalues(lambda v: sign * matvec(v), v0, 1, which="LR", tol=tol)

    ends = jax.lax.map(largest, jnp.asarray([-1.0, 1.0], dtype))
    lam = ends.eigenvalues[:, 0].real
    return Extremes(-lam[0], lam[1], ends.residuals[:, 0].astype(dtype), jnp.all(ends.converged))


@entry(
    "w",
    gtol=Real(0, allow_inf=True, static=True),
    rtol=Real(0, 1, high_open=True, static=True),
    tol=Maybe(Real(0, low_open=True, static=True)),
    maxiter=Maybe(Integer(1)),
)
def stationary_point_certificate(
    game: Game,
    w: Joint,
    *,
    gtol: float = 1e-6,
    rtol: float = 1e-6,
    tol: Optional[float] = None,
    maxiter: Optional[int] = None,
) -> StationaryPointCertificate:
    """Certify the type of the stationary point ``w``.

    The type is strict local Nash, differential Stackelberg / local minimax (generator leading)
    but not Nash, neither, or inconclusive (see the module docstring for the conditions and
    their papers).

    The numbers come from one compiled program per game object (``w`` traced); the
    verdict is read from them on the host. A point with ``|xi| > gtol`` is reported
    ``"not stationary"``, with the second-order numbers still given. An eigenvalue within
    ``rtol * max(|smallest|, |largest|)`` of zero counts as zero.

    Args:
      game: a ``Game``.
      w: the point.
      gtol: largest ``|xi|`` (and, in a general-sum game, ``|T|``) taken as stationary;
        ``inf`` reads the second-order conditions at any point (e.g. at the end of training).
      rtol: relative size of an eigenvalue taken as zero.
      tol, maxiter: of the inner CG solves with ``H_tt`` (defaults ``1e-2 sqrt(eps)`` and
        ``max(4 n_theta, 20)``).

    Returns:
      A ``StationaryPointCertificate``.

    Examples:
      >>> import jaxgan as jg
      >>> game = jg.games.quadratic(-1.0, 2.0, 1.0)  # f = -x^2/2 + 2xy - y^2/2
      >>> cert = jg.stationary_point_certificate(game, game.equilibrium)
      >>> cert.verdict, round(float(cert.stackelberg.smallest), 6)  # S = -1 + 4/1
      ('local minimax (differential Stackelberg), not Nash', 3.0)
    """
    where = "stationary_point_certificate"
    game = check_game(game, where, two_player="stationary_point_certificate")
    w = jax.tree.map(jnp.asarray, check_point(game, w, where))
    check_finite(w, where)
    gtol, rtol = float(gtol), float(rtol)  # checked by their declared domains
    tol, maxiter = inner_solve_options(w, tol, maxiter, where)
    name = "schur_complement" if game.zero_sum else "stackelberg_hessian"
    dense = name == "schur_complement" and ravel_pytree(w)[0].shape[0] <= DENSE_CERTIFICATE
    out = compiled(where, _certificate_program, (game,), (name, tol, maxiter, rtol, dense))(w)
    out = jax.tree.map(np.asarray, out)
    verdict, reason = _verdict(out, gtol, rtol, game.zero_sum)
    g, t, leader, follower, stack, info = out
    return StationaryPointCertificate(
        float(g), float(t), leader, follower, stack, info, name, verdict, reason
    )


#: a zero-sum game with at most this many parameters is certified from its dense Jacobian
DENSE_CERTIFICATE = 1024


def _dense_extremes(m):
    """``Extremes`` of the symmetric part of a dense matrix, with the residuals of its unit
    eigenvectors."""
    m = 0.5 * (m + m.T)
    lam, vec = jnp.linalg.eigh(m)
    ends = vec[:, jnp.asarray([0, -1])]
    residuals = jnp.linalg.norm(m @ ends - ends * lam[jnp.asarray([0, -1])][None, :], axis=0)
    return Extremes(lam[0], lam[-1], residuals, jnp.asarray(True))


def _dense_zero_sum_program(game, tol):
    """The certificate's numbers of a small zero-sum game from its dense Jacobian ``J = d xi /
    d w``: ``H_pp``, ``H_tt``, ``S = H_pp - H_pt H_tt^{-1} H_tp``, ``T = xi_p - H_tp^T H_tt^{-1}
    grad_theta L_g`` and the probe solve ``H_tt x = H_tp 1``, as the matrix-free operators define
    them (``jaxgan._analysis.operators``)."""

    def program(w):
        z, unravel = ravel_pytree(w)
        n_phi = ravel_pytree(w.phi)[0].shape[0]
        xi = game_field(game)
        field = ravel_pytree(xi(w))[0]
        J = dense_jacobian(lambda q: ravel_pytree(xi(unravel(q)))[0], z)
        hpp, hpt = J[:n_phi, :n_phi], J[:n_phi, n_phi:]
        htp, htt = J[n_phi:, :n_phi], J[n_phi:, n_phi:]
        dtype = z.dtype

        def with_best_response(_):
            grad_theta_lg = ravel_pytree(jax.grad(game.loss_g, argnums=1)(w.phi, w.theta))[0]
            t = jnp.linalg.norm(field[:n_phi] - htp.T @ jnp.linalg.solve(htt, grad_theta_lg))
            stack = _dense_extremes(hpp - hpt @ jnp.linalg.solve(htt, htp))
            b = htp @ jnp.ones((n_phi,), dtype)
            x = jnp.linalg.solve(htt, b)
            residual = jnp.linalg.norm(b - htt @ x)
            info = SolveInfo(
                jnp.asarray(0, jnp.int32),
                residual,
                residual <= jnp.maximum(tol * jnp.linalg.norm(b), jnp.finfo(dtype).tiny),
            )
            return t, stack, info

        leader, follower = _dense_extremes(hpp), _dense_extremes(htt)
        return jnp.linalg.norm(field), leader, follower, with_best_response

    return program


def _certificate_program(game, name, tol, maxiter, rtol, dense=False):
    def program(w):
        dtype = jnp.result_type(*jax.tree.leaves(w))
        arnoldi_tol = 1e-10 if dtype == jnp.float64 else 1e-4
        if dense:
            g, leader, follower, dense_response = _dense_zero_sum_program(game, tol)(w)
        else:
            g = jnp.linalg.norm(ravel_pytree(game_field(game)(w))[0])
            leader, follower = (
                _extremes(*operator(game, w, op, tol=tol, maxiter=maxiter), dtype, arnoldi_tol)
                for op in ("hessian_phi", "hessian_theta")
            )
        scale = jnp.maximum(
            jnp.maximum(jnp.abs(follower.smallest), jnp.abs(follower.largest)),
            jnp.finfo(dtype).tiny,
        )
        definite = follower.smallest > rtol * scale  # NaN compares False

        def with_best_response(w):
            if dense:
                return dense_response(w)
            t = jnp.linalg.norm(stackelberg_total_gradient(game, w, tol=tol, maxiter=maxiter))
            stack = _extremes(
                *operator(game, w, name, tol=tol, maxiter=maxiter), dtype, arnoldi_tol
            )
            return t, stack, probe_solve(game, w, tol=tol, maxiter=maxiter)

        def undefined(
            w,
        ):  # H_tt not positive definite: no best response to solve for (and CG would fail)
            shapes = jax.eval_shape(with_best_response, w)
            return jax.tree.map(
                lambda x: jnp.full(
                    x.shape, jnp.nan if jnp.issubdtype(x.dtype, jnp.inexact) else 0, x.dtype
                ),
                shapes,
            )

        t, stack, info = jax.lax.cond(definite, with_best_response, undefined, w)
        return g, t, leader, follower, stack, info

    return program


def _is_positive(e: Extremes, rtol: float) -> str:
    """``"positive"``, ``"negative"`` (a negative eigenvalue), ``"zero"`` or ``"failed"``."""
    lo, hi = float(e.smallest), float(e.largest)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "failed"
    zero = rtol * max(abs(lo), abs(hi), np.finfo(float).tiny)
    if lo > zero:
        return "positive"
    if lo < -zero:
        return "negative"
    return "zero"


def _verdict(out, gtol, rtol, zero_sum):
    g, t, leader, follower, stack, info = out
    lp, fp, sp = (_is_positive(e, rtol) for e in (leader, follower, stack))
    s_text = (
        f"lambda_min(S) = {float(stack.smallest):.6g}"
        if fp == "positive"
        else "S not computed: H_tt is not positive definite"
    )
    numbers = (
        f"lambda_min(H_pp) = {float(leader.smallest):.6g}, "
        f"lambda_min(H_tt) = {float(follower.smallest):.6g}, {s_text}"
    )
    if float(g) > gtol:
        return (
            "not stationary",
            f"|xi| = {float(g):.3g} > gtol = {gtol:g}: no second-order verdict ({numbers}).",
        )
    if fp == "negative":
        return "neither", f"the discriminator is not at a local minimum of its loss ({numbers})."
    if fp in ("zero", "failed"):
        return (
            "inconclusive",
            "H_tt has a zero eigenvalue within rtol: S is not defined and the test cannot decide "
            f"({numbers}).",
        )
    if lp == "positive":
        return (
            "local Nash",
            f"both players are at strict local minima of their own losses ({numbers}).",
        )
    if not zero_sum and float(t) > gtol:
        return "neither", (
            f"not Nash (H_pp has a {'negative' if lp == 'negative' else 'zero'} eigenvalue) "
            f"and the leader's total gradient |T| = {float(t):.3g} > gtol: "
            f"not a Stackelberg critical point ({numbers})."
        )
    if sp == "positive":
        tail = ", not Nash" if lp == "negative" else ""
        return f"local minimax (differential Stackelberg){tail}", (
            f"the generator's curvature along the discriminator's best response is positive"
            f"{LEADER_HESSIAN[lp == 'negative']}"
            f" ({numbers})."
        )
    if sp == "negative":
        return (
            "neither",
            "the leader's curvature along the follower's best response has a negative direction "
            f"({numbers}).",
        )
    if sp == "failed":
        return (
            "inconclusive",
            "the CG solves with H_tt inside S failed "
            f"({numbers}; inner solve residual {float(info.residual):.3g}).",
        )
    return (
        "inconclusive",
        f"a zero eigenvalue within rtol: the second-order test cannot decide ({numbers}).",
    )
