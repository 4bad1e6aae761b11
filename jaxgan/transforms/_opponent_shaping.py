"""Look-ahead, LOLA and Stable Opponent Shaping for any number of players (Foerster et al.
2018; Letcher et al. 2019), with exact gradients.

For ``n`` players with losses ``l_i`` and ``H_ij = d xi_i / d x_j``: LA is
``xi - alpha H_o xi``, LOLA adds ``-alpha chi`` with ``chi_i = sum_{j != i} H_ji^T
grad_{x_j} l_i``. Cost per step: LA ``n`` JVPs of the field; LOLA and SOS also ``n`` loss
gradients and ``n`` VJP products, so ``O(n)`` and ``O(n^2)`` loss evaluations."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from .._core import players as players
from .._core.field import game_field
from .._core.game import Joint, StackedPlayers, require_field_from_losses
from .._validation.domains import Real, domains
from ._corrections import correction_transform

__all__ = ["lola", "opponent_lookahead", "sos"]

#: what works where the shaping term cannot be formed (``require_field_from_losses``)
_INSTEAD = (
    "Apply {where} to the game given to jaxgan.modified_game, "
    "whose field is its losses' gradient, or use a correction that reads only the field, "
    "such as jaxgan.transforms.opponent_lookahead (LA) or jaxgan.transforms.consensus."
)


def _off_diagonal(game, xi, w):
    """``H_o xi`` at ``w``: the blocks of ``H = d xi / dw`` between different players applied
    to ``xi``, ``(H_o xi)_i = sum_{j != i} H_ij xi_j`` (one JVP of the field per player,
    ``_players.off_diagonal``; for two players ``(D_pt xi_theta, D_tp xi_phi)``)."""
    field = game_field(game)
    return players.off_diagonal(lambda v: jax.jvp(field, (w,), (v,))[1], xi)


def _shaping(game, w, where):
    """``chi = diag(H_o^T grad L)`` at ``w``: ``chi_i = sum_{j != i} H_ji^T grad_{x_j} l_i``
    (Letcher et al. 2019, Eq. 3), player ``i``'s part of one VJP of the field with the
    cotangent ``grad l_i`` outside player ``i``. For two players ``chi_phi = D_tp^T
    grad_theta L_g``, ``chi_theta = D_pt^T grad_phi L_d``. Cost: ``n`` gradients of the
    losses (a loop over the players; one ``vmap`` for stacked players) and ``n`` VJP products
    (one ``vmap`` over the stacked cotangents), so ``O(n^2)`` loss evaluations. The
    cross gradients read the losses: a game whose field is not their gradient (a
    ``modified_game``) is refused, naming ``where``."""
    require_field_from_losses(game, where, _INSTEAD.format(where=where))
    _, vjp = jax.vjp(game_field(game), w)

    def cross(i):
        return players.without(jax.grad(players.player_loss(game, i))(w), i)

    if isinstance(w, Joint):  # two players: the two products one after the other
        return players.for_each(w, lambda i: players.get(vjp(cross(i))[0], i))
    if isinstance(w, StackedPlayers):
        cotangents = jax.vmap(cross)(jnp.arange(len(w)))
    else:
        crosses = [cross(i) for i in range(players.count(w))]
        cotangents = jax.tree.map(lambda *xs: jnp.stack([jnp.asarray(x) for x in xs]), *crosses)
    back = jax.vmap(lambda c: vjp(c)[0])(cotangents)
    return players.pick_own(back, w)


@domains(alpha=Real(0))
def opponent_lookahead(alpha: jax.typing.ArrayLike) -> optax.GradientTransformationExtraArgs:
    """Look-ahead (LA): each player differentiates its loss at the opponent's next naive step.

    To first order, ``xi_LA = (I - alpha H_o) xi`` (Zhang & Lesser 2010; Letcher et al. 2019),
    ``H_o`` the off-diagonal blocks of ``d xi / dw``. Chain it before the learning rate.
    Preserves every fixed point of ``xi``. Cost per step: two JVPs of the field.

    .. math:: \\xi_{LA} = (I - \\alpha H_o)\\, \\xi

    Args:
      alpha: the opponent's assumed learning rate (traceable).

    Examples:
      >>> import optax, jaxgan as jg
      >>> game = jg.games.bilinear(1.0)  # xi_LA = (y + alpha x, -x + alpha y)
      >>> m = jg.update_jacobian(game, optax.chain(jg.transforms.opponent_lookahead(0.5),
      ... optax.sgd(0.1)),
      ... game.equilibrium)
      >>> [[round(float(v), 6) for v in row] for row in m]
      [[0.95, -0.1], [0.1, 0.95]]

    References:
      Letcher, Foerster, Balduzzi, Rocktaschel & Whiteson, "Stable opponent shaping in
      differentiable games", ICLR 2019.
    """

    def correct(game, xi, w):
        return optax.tree.cast_like(
            optax.tree.add_scale(xi, -alpha, _off_diagonal(game, xi, w)), xi
        )

    return correction_transform("opponent_lookahead", correct)


@domains(alpha=Real(0))
def lola(alpha: jax.typing.ArrayLike) -> optax.GradientTransformationExtraArgs:
    """LOLA with exact gradients (Foerster et al. 2018).

    Each player shapes the opponent's learning step,
    ``xi_LOLA = (I - alpha H_o) xi - alpha chi`` with ``chi = diag(H_o^T grad L)``
    (Letcher et al. 2019, Eq. 3): for the generator
    ``chi_phi = (d xi_theta / d phi)^T grad_theta L_g``. Chain it before the learning rate.
    Unlike LA it can move fixed points (on the Tandem game it converges to
    ``x + y = (1 - 2 alpha) / (1 - 4 alpha)``, not to the equilibria ``x + y = 1``). Cost per
    step: two JVPs and two VJPs of the field, two cross gradients. ``chi`` differentiates the
    losses, so a game whose field is not their gradient (``modified_game``'s) is refused.

    .. math::

        \\xi_{LOLA} = (I - \\alpha H_o)\\, \\xi - \\alpha \\chi, \\qquad \\chi =
        \\operatorname{diag}(H_o^\\top \\nabla L)

    Args:
      alpha: the opponent's assumed learning rate (traceable).

    Examples:
      >>> import optax, jaxgan as jg
      >>> game = jg.games.bilinear(1.0)  # xi_LOLA = (y + 2 alpha x, -x + 2 alpha y)
      >>> m = jg.update_jacobian(game, optax.chain(jg.transforms.lola(0.5), optax.sgd(0.1)),
      ... game.equilibrium)
      >>> [[round(float(v), 6) for v in row] for row in m]
      [[0.9, -0.1], [0.1, 0.9]]

    References:
      Foerster, Chen, Al-Shedivat, Whiteson, Abbeel & Mordatch, "Learning with
      opponent-learning awareness", AAMAS 2018. Letcher et al., ICLR 2019.
    """

    def correct(game, xi, w):
        xi_la = optax.tree.cast_like(
            optax.tree.add_scale(xi, -alpha, _off_diagonal(game, xi, w)), xi
        )
        shaping = _shaping(game, w, "lola")
        return optax.tree.cast_like(optax.tree.add_scale(xi_la, -alpha, shaping), xi)

    return correction_transform("lola", correct)


@domains(
    alpha=Real(0),
    a=Real(0, 1, low_open=True, high_open=True),
    b=Real(0, 1, low_open=True, high_open=True),
)
def sos(
    alpha: jax.typing.ArrayLike, *, a: jax.typing.ArrayLike = 0.5, b: jax.typing.ArrayLike = 0.1
) -> optax.GradientTransformationExtraArgs:
    """Stable Opponent Shaping (Letcher et al. 2019, Algorithm 1).

    LOLA's shaping term scaled by ``p`` so that fixed points are kept and the step stays a
    descent direction,

    .. math:: \\xi_0 = (I - \\alpha H_o)\\xi,\\quad \\xi_{SOS} = \\xi_0 - p\\,\\alpha\\chi,\\quad
              p = \\min(p_1, p_2),

    ``p1 = 1`` if ``<-alpha chi, xi_0> >= 0`` else ``min(1, -a |xi_0|^2 / <-alpha chi, xi_0>)``;
    ``p2 = 1`` if ``|xi| >= b`` else ``|xi|^2``. Chain it before the learning rate. Cost:
    LOLA's. (``p`` is a function of the point: its derivative enters ``update_jacobian``.)
    As LOLA, it refuses a game whose field is not the gradient of its losses.

    Args:
      alpha: the look-ahead rate (traceable).
      a: in ``(0, 1)``, the first criterion's bound.
      b: in ``(0, 1)``, the radius below which shaping is damped by ``|xi|^2``.

    Examples:
      >>> import jax.numpy as jnp, optax, jaxgan as jg
      >>> tandem = jg.Game(lambda x, y: (x + y) ** 2 - 2 * x, lambda x, y: (x + y) ** 2 - 2 * y)
      >>> out = jg.rollout(tandem, optax.chain(jg.transforms.sos(0.1), optax.sgd(0.1)),
      ... jg.Joint(1.5, 0.7),
      ... 400)
      >>> round(float(out.final.phi + out.final.theta), 6)  # an equilibrium: x + y = 1
      1.0

    References:
      Letcher, Foerster, Balduzzi, Rocktaschel & Whiteson, "Stable opponent shaping in
      differentiable games", ICLR 2019.
    """

    def correct(game, xi, w):
        chi = _shaping(game, w, "sos")
        xi0 = optax.tree.cast_like(optax.tree.add_scale(xi, -alpha, _off_diagonal(game, xi, w)), xi)
        inner = -alpha * optax.tree.vdot(chi, xi0)
        norm0 = optax.tree.vdot(xi0, xi0)
        p1 = jnp.where(
            inner >= 0, 1.0, jnp.minimum(1.0, -a * norm0 / jnp.where(inner >= 0, -1.0, inner))
        )
        norm = optax.tree.vdot(xi, xi)
        p2 = jnp.where(jnp.sqrt(norm) >= b, 1.0, norm)
        p = jnp.minimum(p1, p2)
        return optax.tree.cast_like(optax.tree.add_scale(xi0, -(alpha * p), chi), xi0)

    return correction_transform("sos", correct)
