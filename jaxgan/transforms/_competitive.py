"""Competitive gradient descent (Schaefer & Anandkumar 2019)."""

from __future__ import annotations

from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp
import optax

from .._composition import context, field_of, mark_wrapped
from .._game import Joint, check_game
from .._solve import default_tol, linear_solve


class CGDState(NamedTuple):
    """State of ``cgd``: the last solutions (warm starts), the last solve's matrix-vector
    products, and the number of solves that missed their tolerance so far.

    Examples:
      >>> import jaxgan as jg
      >>> jg.CGDState._fields
      ('warm', 'iterations', 'failures')
    """

    warm: Joint
    iterations: jax.Array
    failures: jax.Array


def cgd(
    learning_rate: jax.typing.ArrayLike,
    *,
    tol: Optional[float] = None,
    maxiter: Optional[int] = None,
    warm_start: bool = True,
    strict: bool = False,
) -> optax.GradientTransformationExtraArgs:
    """Competitive gradient descent: each player plays the Nash equilibrium of the local
    bilinear approximation of the game, regularised by ``|step|^2 / (2 eta)``.

    With ``xi = (grad_phi L_g, grad_theta L_d)`` and the mixed blocks of its Jacobian,
    ``D_pt = d xi_phi / d theta`` and ``D_tp = d xi_theta / d phi``, the step solves

    .. math:: \\begin{pmatrix} I & \\eta D_{pt} \\\\ \\eta D_{tp} & I \\end{pmatrix}
              \\begin{pmatrix} \\Delta\\phi \\\\ \\Delta\\theta \\end{pmatrix}
              = -\\eta \\begin{pmatrix} \\xi_\\phi \\\\ \\xi_\\theta \\end{pmatrix},

    i.e. ``dphi = -eta (I - eta^2 D_pt D_tp)^-1 (xi_phi - eta D_pt xi_theta)`` and the same
    with the players exchanged (Schaefer & Anandkumar 2019, Eq. 4, for general-sum games).
    In a zero-sum game ``D_tp = -D_pt^T``, so ``I + eta^2 D_pt D_pt^T`` is symmetric positive
    definite and conjugate gradient solves it; otherwise CG runs on the normal equations.
    The solves are matrix-free (Jacobian-vector products from one ``jax.linearize`` of the
    field), warm-started from the previous step, and their derivatives are implicit
    (``update_jacobian`` differentiates the exact solution). On ``f = alpha x y`` the
    one-step spectral radius is ``(1 + eta^2 alpha^2)^(-1/2)`` for every ``alpha``.

    **The learning rate is part of the update**: ``cgd`` returns the step itself, so it
    comes last in a chain (no ``optax.sgd`` after it). Corrections before it define the
    field whose local game it solves. A solve that misses its tolerance is counted in
    ``state.failures`` (and gives NaN with ``strict=True``). Cost per step: two JVPs per CG
    iteration and player (four on the normal equations), plus one linearisation.

    Args:
      learning_rate: ``eta`` (traceable).
      tol: CG's relative tolerance; default ``1e-2 sqrt(eps)``.
      maxiter: CG's cap per player; default ``min(2 n + 10, 1000)``.
      warm_start: start CG from the previous step's solution.
      strict: NaN for an unconverged solve instead of its last iterate.

    Returns:
      An ``optax.GradientTransformationExtraArgs``; ``update`` needs ``params`` and ``game=``.

    Examples:
      >>> import jaxgan as jg
      >>> game = jg.games.bilinear(1.0)
      >>> round(float(jg.spectral_radius(game, jg.cgd(1.0), game.equilibrium)), 6)  # 1 / sqrt(2)
      0.707107

    References:
      Schaefer & Anandkumar, "Competitive gradient descent", NeurIPS 2019.
    """
    for name, flag in (("warm_start", warm_start), ("strict", strict)):
        if not isinstance(flag, bool):
            raise TypeError(f"cgd: `{name}` must be a bool, got {type(flag).__name__}.")
    if maxiter is not None and (not isinstance(maxiter, int) or isinstance(maxiter, bool) or maxiter < 1):
        raise ValueError(f"cgd: `maxiter` must be a positive int or None, got {maxiter!r}.")

    def init_fn(params):
        if not isinstance(params, Joint):
            raise TypeError(f"cgd.init: `params` must be a jaxgan.Joint, got {type(params).__name__}.")
        zeros = jax.tree.map(jnp.zeros_like, params)
        return CGDState(zeros, jnp.asarray(0, jnp.int32), jnp.asarray(0, jnp.int32))

    def update_fn(updates, state, params=None, *, game=None, **extra_args):
        game = check_game(game, "cgd")
        if params is None:
            raise ValueError("cgd needs the current parameters: call `update(xi, state, params, game=game)`.")
        if not isinstance(params, Joint) or not isinstance(updates, Joint):
            raise TypeError("cgd: `updates` and `params` must be jaxgan.Joint pytrees (the field xi and the point w).")
        ctx = context(extra_args)
        corrected = ctx is not None and bool(ctx.corrections)
        field = field_of(extra_args, game)
        mark_wrapped(extra_args, "cgd")
        eta = jnp.asarray(learning_rate)
        _, jvp = jax.linearize(field, params)
        zeros = jax.tree.map(jnp.zeros_like, params)

        def d_pt(v):  # d xi_phi / d theta @ v
            return jvp(Joint(zeros.phi, v)).phi

        def d_tp(u):  # d xi_theta / d phi @ u
            return jvp(Joint(u, zeros.theta)).theta

        def combine(a, scale, b):
            return jax.tree.map(lambda x, y: (x + scale * y).astype(x.dtype), a, b)

        b_phi = combine(updates.phi, -eta, d_pt(updates.theta))
        b_theta = combine(updates.theta, -eta, d_tp(updates.phi))
        m_phi = lambda x: combine(x, -(eta**2), d_pt(d_tp(x)))  # noqa: E731
        m_theta = lambda y: combine(y, -(eta**2), d_tp(d_pt(y)))  # noqa: E731
        n = sum(int(jnp.size(x)) for x in jax.tree.leaves(params))
        cap = min(2 * n + 10, 1000) if maxiter is None else maxiter
        s_tol = default_tol(params) if tol is None else tol
        kw = dict(tol=s_tol, maxiter=cap, nan_on_failure=strict)
        warm = state.warm if warm_start else zeros
        if game.zero_sum and not corrected:  # I + eta^2 D_pt D_pt^T: symmetric positive definite
            x, info_x = linear_solve(m_phi, b_phi, warm.phi, **kw)
            y, info_y = linear_solve(m_theta, b_theta, warm.theta, **kw)
        else:  # CG on the normal equations M^T M x = M^T b
            x, info_x = _normal_solve(m_phi, b_phi, warm.phi, kw)
            y, info_y = _normal_solve(m_theta, b_theta, warm.theta, kw)
        step = Joint(jax.tree.map(lambda v: -eta * v, x), jax.tree.map(lambda v: -eta * v, y))
        step = jax.tree.map(lambda s_, p: s_.astype(jnp.result_type(p)), step, params)
        failed = (~info_x.converged).astype(jnp.int32) + (~info_y.converged).astype(jnp.int32)
        return step, CGDState(Joint(x, y), info_x.iterations + info_y.iterations, state.failures + failed)

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


def _normal_solve(matvec, b, x0, kw):
    """``M^-1 b`` for a non-symmetric ``M`` by CG on ``M^T M x = M^T b``."""
    transpose = jax.linear_transpose(matvec, b)

    def normal(v):
        return transpose(matvec(v))[0]

    return linear_solve(normal, transpose(b)[0], x0, **kw)
