"""Follow-the-Ridge (Wang, Zhang & Ba 2020)."""

from __future__ import annotations

from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp
import optax

from .._analysis.manifold import ridge_lift
from .._analysis.solve import default_tol
from .._core.algebra import Info, Role, evaluation_point, transformation
from .._core.game import Joint
from .._validation.checks import checked_game_update, require_joint
from .._validation.domains import Flag, Integer, Maybe, Real, domains

__all__ = ["FollowTheRidgeState", "follow_the_ridge"]


class FollowTheRidgeState(NamedTuple):
    """State of ``follow_the_ridge``: the warm start of the ``H_tt`` solve and diagnostics.

    The fields are the last solution of the ``H_tt`` solve (the warm start), the CG iterations
    it took and how many solves missed their tolerance.

    Examples:
      >>> import jaxgan as jg
      >>> jg.transforms.FollowTheRidgeState._fields
      ('warm', 'iterations', 'failures')
    """

    warm: optax.Params
    iterations: jax.Array
    failures: jax.Array


@domains(
    ratio=Real(0, low_open=True),
    damping=Real(0),
    tol=Maybe(Real(0, low_open=True)),
    maxiter=Maybe(Integer(1)),
    warm_start=Flag(),
    strict=Flag(),
)
def follow_the_ridge(
    ratio: jax.typing.ArrayLike = 1.0,
    *,
    damping: jax.typing.ArrayLike = 0.0,
    tol: Optional[jax.typing.ArrayLike] = None,
    maxiter: Optional[int] = None,
    warm_start: bool = True,
    strict: bool = True,
) -> optax.GradientTransformationExtraArgs:
    """Follow-the-Ridge (FR): the discriminator's step is corrected to keep it on the ridge.

    The correction keeps the discriminator on the ridge ``grad_theta loss_d = 0`` while the
    generator moves,

    .. math:: \\xi_\\theta \\leftarrow \\xi_\\theta - r (H_{\\theta\\theta} + \\delta I)^{-1}
              H_{\\theta\\phi} \\xi_\\phi, \\qquad r = \\eta_\\phi / \\eta_\\theta,

    so that with ``optax.sgd(eta)`` (``r = 1``), or ``ttur(eta_phi, eta_theta)``, the
    discriminator moves by ``-eta_theta xi_theta + eta_phi H_tt^{-1} H_tp xi_phi``: its own
    gradient step plus the first-order change of its best response (``jaxgan.manifold.ridge_lift``).
    For ``min_x max_y f`` this is Wang et al.'s ``y <- y + eta_y grad_y f + eta_x
    H_yy^{-1} H_yx grad_x f``. At a strict local minimax the update operator's eigenvalues
    are ``{1 - eta_x lambda(S)} U {1 + eta_y lambda(H_yy)}`` with ``S = H_xx - H_xy
    H_yy^{-1} H_yx`` the Schur complement (``H_yy`` of ``f``): all inside the unit circle
    for small steps, while at a non-minimax fixed point some are outside.

    ``H_tt`` must be definite near the ridge (the discriminator at a strict local
    minimum of its loss); ``damping`` adds ``delta I``. The solve is warm-started CG on
    Hessian-vector products with implicit derivatives. Cost per step: one JVP of
    ``grad_theta loss_d`` in ``phi`` plus one per CG iteration in ``theta``.

    Args:
      ratio: ``eta_phi / eta_theta`` (1 with one learning rate).
      damping: ``delta``.
      tol: CG's relative tolerance; default ``1e-2 sqrt(eps)``.
      maxiter: CG's cap; default ``min(2 m + 10, 1000)``.
      warm_start: start CG from the previous solution.
      strict: a solve that misses its tolerance (singular ``H_tt``: no ridge, e.g. the
        unregularised Dirac-GAN at its equilibrium) gives NaN, in the update and in
        ``update_jacobian``, instead of an unconverged correction.

    Returns:
      An ``optax.GradientTransformationExtraArgs`` (chain it before the learning rate);
      ``update`` needs ``params`` and ``game=``.

    Examples:
      >>> import optax, jaxgan as jg
      >>> game = jg.games.quadratic(-3.0 * 2, 4.0, 2.0)  # -3x^2 + 4xy - y^2 (Wang et al.)
      >>> tx = optax.chain(jg.transforms.follow_the_ridge(), optax.sgd(0.1))
      >>> round(float(jg.spectral_radius(game, tx, game.equilibrium)), 6)  # S = 2, H_yy = -2
      0.8
      >>> round(float(jg.spectral_radius(game, optax.sgd(0.1), game.equilibrium)), 6) > 1
      True

    References:
      Wang, Zhang & Ba, "On solving minimax optimization locally: a follow-the-ridge
      approach", ICLR 2020.
    """
    for name, flag in (("warm_start", warm_start), ("strict", strict)):
        Flag().check(flag, "follow_the_ridge", name)

    def init_fn(params):
        require_joint(params, "follow_the_ridge.init")
        zeros = jax.tree.map(jnp.zeros_like, params.theta)
        return FollowTheRidgeState(zeros, jnp.asarray(0, jnp.int32), jnp.asarray(0, jnp.int32))

    def correct(game, v, w, warm):
        s_tol = default_tol(w) if tol is None else tol
        d_theta, y, info = ridge_lift.unchecked(
            game, w, v.phi, warm=warm, damping=damping, tol=s_tol, maxiter=maxiter, strict=strict
        )
        # d_theta = -H^-1 H_tp xi_phi: add ratio * d_theta to xi_theta
        theta = jax.tree.map(lambda x, c: (x + ratio * c).astype(x.dtype), v.theta, d_theta)
        return Joint(v.phi, theta), y, info

    def update_fn(updates, state, params=None, *, game=None, **extra_args):
        game = checked_game_update(updates, params, game, "follow_the_ridge", two_player=True)
        corrected, y, info = correct(
            game, updates, evaluation_point(extra_args, params), state.warm if warm_start else None
        )
        new_state = FollowTheRidgeState(
            y, info.iterations, state.failures + (~info.converged).astype(jnp.int32)
        )
        return corrected, new_state

    # a full step after it evaluates the corrected field elsewhere with a cold-started solve
    return transformation(
        Info(Role.CORRECTION, "follow_the_ridge"),
        init_fn,
        update_fn,
        correct=lambda game: lambda v, w: correct(game, v, w, None)[0],
    )
