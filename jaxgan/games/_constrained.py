"""Small box-constrained min-max games with known first-order points (for STON'R)."""

from __future__ import annotations

from typing import Dict, NamedTuple, Optional

import jax.numpy as jnp

from .._core.game import Box, Game, Joint, zero_sum


class ConstrainedGame(NamedTuple):
    """A game on a box, with its unique first-order min-max point when known.

    Examples:
      >>> import jaxgan as jg
      >>> ex = jg.games.constrained_examples()["bilinear"]
      >>> float(ex.solution.phi), float(ex.box.lo.phi), float(ex.box.hi.phi)
      (0.5, 0.0, 1.0)
    """

    game: Game
    box: Box
    solution: Optional[Joint]


def _matrix_game(a, name):
    a = jnp.asarray(a)

    def f(x, y):  # x, y: probabilities of the first pure strategy; the row player minimises
        return jnp.stack([x, 1 - x]) @ a.astype(jnp.result_type(x)) @ jnp.stack([y, 1 - y])

    return zero_sum(f, name=name)


def _spurious_cycle(x, y):
    def phi(z):
        return z**2 / 4 - z**4 / 2 + z**6 / 6

    return x * (y - 0.45) + phi(x) - phi(y)


def constrained_examples() -> Dict[str, ConstrainedGame]:
    """Box games with a unique first-order min-max point (scalar players).

    The games are:

    * ``"bilinear"``: ``(x - 1/2)(y - 1/2)`` on ``[0, 1]^2``; point ``(1/2, 1/2)``
      (Daskalakis et al. 2022, Appendix D). SimGD spirals out of it.
    * ``"matching-pennies"``: the 2x2 matrix game ``[[1, -1], [-1, 1]]`` in mixed strategies;
      ``(1/2, 1/2)``.
    * ``"matrix-2x2"``: ``[[3, -1], [-2, 1]]``; ``x = 3/7``, ``y = 2/7``.
    * ``"spurious-cycle"``: ``x (y - 0.45) + phi(x) - phi(y)``, ``phi(z) = z^2/4 - z^4/2 +
      z^6/6`` on ``[-1.5, 1.5]^2`` (Hsieh, Mertikopoulos & Cevher 2021): nonconvex-
      nonconcave, its only critical point is surrounded by a limit cycle that gradient
      descent-ascent and extragradient converge to.

    Returns:
      ``{name: ConstrainedGame(game, box, solution)}`` (``solution`` None where it has no
      closed form).

    Examples:
      >>> import jaxgan as jg
      >>> ex = jg.games.constrained_examples()["matrix-2x2"]
      >>> round(float(ex.solution.phi), 6), round(float(ex.solution.theta), 6)
      (0.428571, 0.285714)
    """
    unit = Box(Joint(0.0, 0.0), Joint(1.0, 1.0))
    half = Joint(jnp.asarray(0.5), jnp.asarray(0.5))
    return {
        "bilinear": ConstrainedGame(
            zero_sum(lambda x, y: (x - 0.5) * (y - 0.5), name="bilinear-box"), unit, half
        ),
        "matching-pennies": ConstrainedGame(
            _matrix_game([[1.0, -1.0], [-1.0, 1.0]], "matching-pennies"), unit, half
        ),
        "matrix-2x2": ConstrainedGame(
            _matrix_game([[3.0, -1.0], [-2.0, 1.0]], "matrix-2x2"),
            unit,
            Joint(jnp.asarray(3 / 7), jnp.asarray(2 / 7)),
        ),
        "spurious-cycle": ConstrainedGame(
            zero_sum(_spurious_cycle, name="spurious-cycle"),
            Box(Joint(-1.5, -1.5), Joint(1.5, 1.5)),
            None,
        ),
    }
