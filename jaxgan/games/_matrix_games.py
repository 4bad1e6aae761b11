"""Small general-sum games of the opponent-shaping papers: the Tandem game, matching pennies
and the iterated prisoner's dilemma with exact discounted values (Foerster et al. 2018;
Letcher et al. 2019)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .._core.game import Game, Joint, zero_sum
from .._validation.domains import Real, domains

#: The prisoner's dilemma's losses (years in prison) of player 1 and player 2 in the states
#: (C, C), (C, D), (D, C), (D, D), actions written (player 1, player 2).
PD_LOSS_1 = (1.0, 3.0, 0.0, 2.0)
PD_LOSS_2 = (1.0, 0.0, 3.0, 2.0)


def tandem(*, name: str = "tandem") -> Game:
    """The Tandem game of Letcher et al. (2019).

    Its losses are ``L1 = (x + y)^2 - 2x``, ``L2 = (x + y)^2 - 2y``. Every point of the line
    ``x + y = 1`` is a Nash equilibrium; LOLA's fixed points move off it, SOS's do not.

    Examples:
      >>> import jaxgan as jg
      >>> xi = jg.simultaneous_gradient(jg.games.tandem())(jg.Joint(0.25, 0.75))
      >>> float(xi.phi), float(xi.theta)
      (0.0, 0.0)
    """
    return Game(
        lambda x, y: (x + y) ** 2 - 2 * x,
        lambda x, y: (x + y) ** 2 - 2 * y,
        equilibrium=Joint(jnp.asarray(0.5), jnp.asarray(0.5)),
        name=name,
    )


def matching_pennies(*, name: str = "matching-pennies") -> Game:
    """Matching pennies with mixed strategies ``p = sigmoid(x)``, ``q = sigmoid(y)``.

    The strategies are the probabilities of heads; player 1 wins when the pennies match,
    ``L1 = -(2p - 1)(2q - 1) = -L2``. The unique Nash equilibrium is ``p = q = 1/2``
    (``x = y = 0``), where the Jacobian ``[[0, 1/4], [-1/4, 0]]`` has eigenvalues ``+-i/4``, so
    simultaneous gradient descent spirals away from it.

    Examples:
      >>> import jaxgan as jg
      >>> game = jg.games.matching_pennies()
      >>> jg.eigenvalues(game, game.equilibrium).imag.round(6).tolist()
      [-0.25, 0.25]
    """

    def f(x, y):
        return -(2 * jax.nn.sigmoid(x) - 1) * (2 * jax.nn.sigmoid(y) - 1)

    return zero_sum(f, equilibrium=Joint(jnp.asarray(0.0), jnp.asarray(0.0)), name=name)


@domains(gamma=Real(0, 1, high_open=True))
def ipd_values(theta1: jax.Array, theta2: jax.Array, gamma: jax.typing.ArrayLike = 0.96):
    """The exact discounted losses ``(L1, L2)`` of the iterated prisoner's dilemma.

    The losses are (1 - gamma)-scaled, the policies memory-one (Foerster et al. 2018,
    section 4.1).

    Each player's policy is five logits: the probability of cooperating at the first round,
    and after each of the states (C, C), (C, D), (D, C), (D, D) *seen from that player*
    (player 2's state (C, D) is player 1's (D, C)). With ``P0`` the first state's
    distribution and ``P`` the 4 x 4 transition matrix,
    ``L_i = (1 - gamma) P0^T (I - gamma P)^-1 r_i``, ``r_1 = (1, 3, 0, 2)``,
    ``r_2 = (1, 0, 3, 2)``: mutual cooperation scores 1, mutual defection 2.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxgan.games import ipd_values
      >>> always = jnp.full(5, 30.0)  # cooperate always
      >>> [round(float(v), 6) for v in ipd_values(always, always)]
      [1.0, 1.0]
      >>> [round(float(v), 6) for v in ipd_values(-always, -always)]
      [2.0, 2.0]
    """
    p1 = jax.nn.sigmoid(theta1)
    p2 = jax.nn.sigmoid(theta2)[jnp.array([0, 1, 3, 2, 4])]  # into player 1's state order

    def joint(a, b):  # P(CC), P(CD), P(DC), P(DD) from the two cooperation probabilities
        return jnp.stack([a * b, a * (1 - b), (1 - a) * b, (1 - a) * (1 - b)], axis=-1)

    start = joint(p1[0], p2[0])
    transition = joint(p1[1:], p2[1:])  # row s: the next state's distribution after s
    gamma = jnp.asarray(gamma, start.dtype)
    occupancy = jnp.linalg.solve((jnp.eye(4, dtype=start.dtype) - gamma * transition).T, start)
    r1 = jnp.asarray(PD_LOSS_1, start.dtype)
    r2 = jnp.asarray(PD_LOSS_2, start.dtype)
    return (1 - gamma) * occupancy @ r1, (1 - gamma) * occupancy @ r2


@domains(gamma=Real(0, 1, high_open=True))
def iterated_prisoners_dilemma(gamma: float = 0.96, *, name: str = "ipd") -> Game:
    """The iterated prisoner's dilemma with exact discounted values (``ipd_values``).

    Each player's parameters are its five policy logits. Naive learners tend to mutual
    defection (loss 2); LOLA-type learners find reciprocity (tit-for-tat, loss near 1)
    (Foerster et al. 2018).

    Args:
      gamma: the discount, in ``(0, 1)``.

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> game = jg.games.iterated_prisoners_dilemma()
      >>> tft = jnp.array([30.0, 30.0, -30.0, 30.0, -30.0])  # cooperate first, then copy
      >>> round(float(game.loss_g(tft, tft)), 6)
      1.0
    """
    g = float(gamma)
    if not 0.0 < g < 1.0:
        raise ValueError(f"iterated_prisoners_dilemma: `gamma` must be in (0, 1), got {gamma!r}.")
    return Game(lambda a, b: ipd_values(a, b, g)[0], lambda a, b: ipd_values(a, b, g)[1], name=name)
