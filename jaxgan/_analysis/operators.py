"""Matrix-free second-order operators of a game at a point, on flat vectors.

Every operator here acts on a flat vector in ``ravel`` order (``phi`` leaves first, then
``theta``, as ``jax.flatten_util.ravel_pytree`` orders a ``Joint``) and costs a few
Jacobian-vector products of the simultaneous gradient ``xi = (grad_phi L_g,
grad_theta L_d)``; none forms a matrix. With ``J = d xi / d w`` in blocks

.. math:: J = [[H_{pp}, H_{pt}], [H_{tp}, H_{tt}]],

``H_pp = d^2 L_g / d phi^2`` and ``H_tt = d^2 L_d / d theta^2`` are the players' own
Hessians (symmetric), ``H_pt = d grad_phi L_g / d theta`` and ``H_tp = d grad_theta L_d /
d phi`` the couplings. The game Jacobian of jaxgan's spectra is that of the vector field
``v = -xi``: ``A = -J``.

The leader's Stackelberg Hessian (Fiez, Chasnov & Ratliff 2020, "Implicit learning
dynamics in Stackelberg games"): with the follower at its best response ``r(phi)``
(``grad_theta L_d(phi, r(phi)) = 0``, ``Dr = -H_tt^{-1} H_tp``), the leader's total
gradient is ``T = grad_phi L_g + Dr^T grad_theta L_g`` and its total Hessian is the
derivative of ``T`` along ``(v, Dr v)``. In a zero-sum game at a point where
``grad_theta L_d = 0`` it is the Schur complement ``S = H_pp - H_pt H_tt^{-1} H_tp`` (the
terms in ``grad_theta L_g = -grad_theta L_d`` vanish), the operator of Jin, Netrapalli &
Jordan's (2020) local-minimax test.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from .._core.field import game_field
from .._core.game import INSTEAD_OF_A_MODIFIED_GAME, Game, Joint, require_field_from_losses
from .solve import SolveInfo, conjugate_gradient, linear_solve

Flat = Callable[[jax.Array], jax.Array]

#: The operators ``spectral_density`` and ``game_operator`` know.
OPERATORS = (
    "hessian_phi",
    "hessian_theta",
    "jacobian_symmetric",
    "schur_complement",
    "stackelberg_hessian",
)


class Split(NamedTuple):
    """A point split into flat player vectors, and the maps back."""

    z_phi: jax.Array
    z_theta: jax.Array
    unravel_phi: Callable
    unravel_theta: Callable


def split(w: Joint) -> Split:
    z_phi, un_phi = ravel_pytree(w.phi)
    z_theta, un_theta = ravel_pytree(w.theta)
    return Split(z_phi, z_theta, un_phi, un_theta)


def _flat_xi(game: Game, s: Split):
    """``(zp, zt) -> (xi_phi, xi_theta)`` on flat player vectors."""
    xi = game_field(game)

    def f(zp, zt):
        g = xi(Joint(s.unravel_phi(zp), s.unravel_theta(zt)))
        return ravel_pytree(g.phi)[0], ravel_pytree(g.theta)[0]

    return f


def blocks(game: Game, w: Joint):
    """The four block products ``(H_pp v, H_pt u, H_tp v, H_tt u)`` at ``w`` as flat maps."""
    s = split(w)
    f = _flat_xi(game, s)
    zp, zt = s.z_phi, s.z_theta

    def hpp(v):
        return jax.jvp(lambda p: f(p, zt)[0], (zp,), (v,))[1]

    def hpt(u):
        return jax.jvp(lambda t: f(zp, t)[0], (zt,), (u,))[1]

    def htp(v):
        return jax.jvp(lambda p: f(p, zt)[1], (zp,), (v,))[1]

    def htt(u):
        return jax.jvp(lambda t: f(zp, t)[1], (zt,), (u,))[1]

    return hpp, hpt, htp, htt


def jacobian_symmetric(game: Game, w: Joint) -> Flat:
    """``x -> (A + A^T) x / 2`` with ``A = -J`` the Jacobian of the vector field: negative
    definite exactly when the flow contracts every distance (a strongly monotone game). Any
    number of players (ravel order of ``w``)."""
    z, unravel = ravel_pytree(w)
    xi = game_field(game)

    def v(q):
        return -ravel_pytree(xi(unravel(q)))[0]

    _, vjp = jax.vjp(v, z)

    def apply(x):
        return 0.5 * (jax.jvp(v, (z,), (x,))[1] + vjp(x)[0])

    return apply


def solve_follower(
    game: Game, w: Joint, *, tol: float, maxiter: int
) -> Callable[[jax.Array], tuple]:
    """``b -> (H_tt^{-1} b, SolveInfo)`` by conjugate gradient on ``H_tt`` products; a solve
    that misses ``tol`` returns NaN (so a spectrum built on it shows the failure)."""
    _, _, _, htt = blocks(game, w)

    def solve(b):
        return linear_solve(htt, b, tol=tol, maxiter=maxiter, nan_on_failure=True)

    return solve


def schur_complement(game: Game, w: Joint, *, tol: float, maxiter: int) -> Flat:
    """``v -> (H_pp - H_pt H_tt^{-1} H_tp) v``: the Schur complement of the follower's block
    of ``J`` (one CG solve on ``H_tt`` per product; NaN where it fails)."""
    hpp, hpt, htp, _ = blocks(game, w)
    solve = solve_follower(game, w, tol=tol, maxiter=maxiter)

    def apply(v):
        return hpp(v) - hpt(solve(htp(v))[0])

    return apply


def _total_gradient(game: Game, s: Split, *, tol: float, maxiter: int):
    """``(zp, zt) -> T``: the leader's total gradient ``grad_phi L_g + Dr^T grad_theta L_g``
    with the implicit derivative ``Dr = -H_tt^{-1} H_tp`` taken at ``(zp, zt)``."""
    require_field_from_losses(game, "the Stackelberg total gradient", INSTEAD_OF_A_MODIFIED_GAME)
    f = _flat_xi(game, s)

    def grad_theta_lg(zp, zt):
        return ravel_pytree(
            jax.grad(game.loss_g, argnums=1)(s.unravel_phi(zp), s.unravel_theta(zt))
        )[0]

    def total_gradient(zp, zt):
        def htt(u):
            return jax.jvp(lambda t: f(zp, t)[1], (zt,), (u,))[1]

        u, _ = linear_solve(
            htt, grad_theta_lg(zp, zt), tol=tol, maxiter=maxiter, nan_on_failure=True
        )
        _, vjp = jax.vjp(lambda p: f(p, zt)[1], zp)
        return f(zp, zt)[0] - vjp(u)[0]

    return total_gradient


def stackelberg_total_gradient(game: Game, w: Joint, *, tol: float, maxiter: int) -> jax.Array:
    """The leader's total gradient ``T(w)`` (flat): zero at a Stackelberg critical point."""
    s = split(w)
    return _total_gradient(game, s, tol=tol, maxiter=maxiter)(s.z_phi, s.z_theta)


def stackelberg_hessian(game: Game, w: Joint, *, tol: float, maxiter: int) -> Flat:
    """``v -> D^2 L_g(phi, r(phi)) v``: the leader's total Hessian along the follower's best
    response (Fiez et al. 2020), exact where ``w`` is on the best response
    (``grad_theta L_d = 0``), including the curvature of ``r`` that ``grad_theta L_g``
    weights in a general-sum game. Equals ``schur_complement`` in a zero-sum game there.

    ``T(phi, theta) = grad_phi L_g - (d grad_theta L_d / d phi)^T H_tt^{-1} grad_theta L_g``
    is the leader's total gradient with the implicit derivative of ``r`` at ``(phi,
    theta)``; the product is the JVP of ``T`` along ``(v, Dr v)``, ``Dr v = -H_tt^{-1} H_tp v``.
    """
    s = split(w)
    total_gradient = _total_gradient(game, s, tol=tol, maxiter=maxiter)
    _, _, htp, _ = blocks(game, w)
    solve = solve_follower(game, w, tol=tol, maxiter=maxiter)

    def apply(v):
        d = -solve(htp(v))[0]
        return jax.jvp(total_gradient, (s.z_phi, s.z_theta), (v, d))[1]

    return apply


def operator(game: Game, w: Joint, name: str, *, tol: float, maxiter: int) -> tuple:
    """``(matvec, n)`` of the named operator at ``w`` (``name`` in ``OPERATORS``)."""
    if name == "jacobian_symmetric":
        return jacobian_symmetric(game, w), int(ravel_pytree(w)[0].shape[0])
    s = split(w)
    hpp, _, _, htt = blocks(game, w)
    n_phi, n_theta = s.z_phi.shape[0], s.z_theta.shape[0]
    if name == "hessian_phi":
        return hpp, n_phi
    if name == "hessian_theta":
        return htt, n_theta
    if name == "jacobian_symmetric":
        return jacobian_symmetric(game, w), n_phi + n_theta
    if name == "schur_complement":
        return schur_complement(game, w, tol=tol, maxiter=maxiter), n_phi
    if name == "stackelberg_hessian":
        return stackelberg_hessian(game, w, tol=tol, maxiter=maxiter), n_phi
    raise ValueError(f"unknown operator {name!r}; expected one of {OPERATORS}.")


def probe_solve(game: Game, w: Joint, *, tol: float, maxiter: int) -> SolveInfo:
    """The ``SolveInfo`` of one follower solve ``H_tt x = H_tp 1`` (a diagnostic of the
    inner CG that the Schur products use)."""
    s = split(w)
    _, _, htp, htt = blocks(game, w)
    b = htp(jnp.ones_like(s.z_phi))
    return conjugate_gradient(htt, b, tol=tol, maxiter=maxiter)[1]
