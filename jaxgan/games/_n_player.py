"""Games of n players: the cyclic game (Balduzzi et al. 2018), Cournot competition, n-player
matching pennies on sigmoid policies (Jordan 1993), and a GAN with one generator and k
discriminators (GMAN, Durugkar, Gemp & Mahadevan 2017)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .._core.game import (
    Game,
    NPlayerGame,
    Players,
    StackedPlayers,
    n_player_game,
    require_field_from_losses,
)
from .._validation.domains import Flag, Integer, Real, describe, domains


def _players_of(values, stacked: bool):
    values = jnp.asarray(values)
    return StackedPlayers(values) if stacked else Players(*values)


def _as_vector(w):
    """The scalar players of ``w`` as one vector (``Players`` of scalars, or the stack)."""
    return jnp.stack([jnp.asarray(x) for x in w]) if isinstance(w, Players) else w


@domains(n=Integer(2), stacked=Flag())
def cyclic(n: int = 4, *, stacked: bool = False, name: str = "") -> NPlayerGame:
    """The n-player cyclic game of Balduzzi et al. (2018), with scalar players.

    The players' losses are

    .. math:: \\ell_i(x) = x_i \\Big(\\sum_{j > i} x_j - \\sum_{j < i} x_j\\Big).

    The field ``xi_i = sum_{j>i} x_j - sum_{j<i} x_j`` is linear with an antisymmetric
    Jacobian (``+1`` above the diagonal, ``-1`` below): every eigenvalue is imaginary, the
    flow cycles around the equilibrium ``x = 0`` and SimGD spirals out at every step size.
    The eigenvalues of ``d(-xi)/dw`` are ``i cot((2k + 1) pi / (2n))``, ``k = 0, ..., n - 1``;
    for ``n = 4``, ``+-i(1 + sqrt 2)`` and ``+-i(sqrt 2 - 1)``.

    Args:
      n: the number of players (static).
      stacked: the batched form (``StackedPlayers``, one ``vmap`` over the players).
      name: label (default ``"cyclic-<n>"``).

    Examples:
      >>> import jaxgan as jg
      >>> game = jg.games.cyclic(4)
      >>> sorted(round(float(v), 4) for v in jg.eigenvalues(game, game.equilibrium).imag)
      [-2.4142, -0.4142, 0.4142, 2.4142]

    References:
      Balduzzi, Racaniere, Martens, Foerster, Tuyls & Graepel, "The mechanics of n-player
      differentiable games", ICML 2018.
    """
    name = name or f"cyclic-{n}"
    zero = _players_of(jnp.zeros(n), stacked)

    def loss_of(i, x):
        k = jnp.arange(n)
        return x[i] * (jnp.sum(jnp.where(k > i, x, 0.0)) - jnp.sum(jnp.where(k < i, x, 0.0)))

    if stacked:
        return n_player_game(loss_of, n=n, equilibrium=zero, name=name)
    return n_player_game(
        [lambda w, i=i: loss_of(i, _as_vector(w)) for i in range(n)], equilibrium=zero, name=name
    )


@domains(
    n=Integer(2), a=Real(0, low_open=True), b=Real(0, low_open=True), c=Real(0), stacked=Flag()
)
def cournot(
    n: int = 3,
    *,
    a: float = 10.0,
    b: float = 1.0,
    c: float = 1.0,
    stacked: bool = False,
    name: str = "",
) -> NPlayerGame:
    """Cournot competition of ``n`` firms, each minimising its negative profit.

    Firm ``i`` produces ``q_i``, the price is ``a - b sum_j q_j`` and each firm's cost per unit
    ``c``; each minimises its negative profit

    .. math:: \\ell_i(q) = -q_i \\big(a - b \\textstyle\\sum_j q_j - c\\big).

    The field ``xi = b (1 1^T + I) q - (a - c) 1`` has the symmetric Jacobian ``b (1 1^T +
    I)``, eigenvalues ``b`` (multiplicity ``n - 1``) and ``b (n + 1)``; the unique Nash
    equilibrium is ``q_i = (a - c) / (b (n + 1))``. ``jg.eigenvalues`` (of ``v = -xi``) gives
    ``-b`` and ``-b(n + 1)``; SimGD converges for ``lr < 2 / (b (n + 1))``.

    Args:
      n: the number of firms (static).
      a: the price at zero production.
      b: the price's slope.
      c: the cost per unit (``c < a``).
      stacked: the batched form (``StackedPlayers``).
      name: label (default ``"cournot-<n>"``).

    Examples:
      >>> import jaxgan as jg
      >>> game = jg.games.cournot(3)
      >>> [round(float(x), 6) for x in game.equilibrium]
      [2.25, 2.25, 2.25]
    """
    if not c < a:
        raise ValueError(
            f"cournot: the cost `c` must be below the price at zero production `a`, got c={c!r}, "
            f"a={a!r}."
        )
    name = name or f"cournot-{n}"
    star = _players_of(jnp.full(n, (a - c) / (b * (n + 1))), stacked)

    def loss_of(i, q):
        return -q[i] * (a - b * jnp.sum(q) - c)

    if stacked:
        return n_player_game(loss_of, n=n, equilibrium=star, name=name)
    return n_player_game(
        [lambda w, i=i: loss_of(i, _as_vector(w)) for i in range(n)], equilibrium=star, name=name
    )


@domains(n=Integer(2))
def cyclic_matching_pennies(n: int = 3, *, name: str = "") -> NPlayerGame:
    """Matching pennies of ``n`` players on sigmoid policies (Jordan 1993 for three).

    Player ``i`` plays heads with probability ``p_i = sigmoid(x_i)`` and wants to match player
    ``i + 1``; the last player wants to *mismatch* player 0. With ``u_i = 2 p_i - 1``,

    .. math:: \\ell_i = -u_i u_{i+1} \\;(i < n - 1), \\qquad \\ell_{n-1} = u_{n-1} u_0.

    The unique Nash equilibrium is ``x = 0`` (every player mixes evenly). There ``d(-xi)/dw``
    is ``C / 4`` with ``C`` the cyclic shift whose wrap-around entry is ``-1`` (``C^n = -I``):
    its eigenvalues are ``exp(i pi (2k + 1) / n) / 4``, imaginary for ``n = 2`` (the
    two-player ``matching_pennies``) and with positive real parts for ``n >= 3``: the
    gradient flow leaves the equilibrium.

    Args:
      n: the number of players (static).
      name: label (default ``"cyclic-matching-pennies-<n>"``).

    Examples:
      >>> import jaxgan as jg
      >>> game = jg.games.cyclic_matching_pennies(3)
      >>> sorted(round(float(v), 6) for v in jg.eigenvalues(game, game.equilibrium).real)
      [-0.25, 0.125, 0.125]
    """
    name = name or f"cyclic-matching-pennies-{n}"

    def loss_of(i):
        def loss(w):
            u = 2 * jax.nn.sigmoid(_as_vector(w)) - 1
            sign = 1.0 if i == n - 1 else -1.0
            return sign * u[i] * u[(i + 1) % n]

        return loss

    return n_player_game(
        [loss_of(i) for i in range(n)], equilibrium=Players(*jnp.zeros(n)), name=name
    )


@domains(k=Integer(1))
def gman(game: Game, k: int = 2, *, name: str = "") -> NPlayerGame:
    """A GAN with one generator and ``k`` discriminators (GMAN, Durugkar et al. 2017).

    GMAN with the arithmetic mean: the players are ``Players(phi, theta_1, ..., theta_k)``;
    discriminator ``j`` minimises the two-player game's ``loss_d(phi, theta_j)`` and the
    generator the mean ``(1/k) sum_j loss_g(phi, theta_j)``. Pass a ``jg.games.dirac(...)`` for
    its Dirac-GAN version with exact expectations: at the equilibrium the eigenvalues are
    ``+- i f'(0)`` (as with one discriminator) and ``k - 1`` zeros (the discriminators'
    differences are neutral directions of the linearised dynamics).

    The players' losses are read, so a game whose field is not their gradient (a
    ``modified_game``) is refused: the drift of steps on the GMAN couples the discriminators
    through the generator, which no combination of the pairs' modified fields holds; take
    ``modified_game(gman(game, k), lr)`` instead.

    Args:
      game: a two-player ``Game`` (its ``equilibrium``, when set, gives the n-player one).
      k: the number of discriminators (static).
      name: label (default ``"gman-<k>(<game.name>)"``).

    Examples:
      >>> import jaxgan as jg
      >>> game = jg.games.gman(jg.games.dirac("wgan"), 3)
      >>> sorted(round(float(v), 6) for v in jg.eigenvalues(game, game.equilibrium).imag)
      [-1.0, 0.0, 0.0, 1.0]

    References:
      Durugkar, Gemp & Mahadevan, "Generative multi-adversarial networks", ICLR 2017.
    """
    if not isinstance(game, Game):
        raise TypeError(
            f"gman: `game` must be a two-player jaxgan.Game (e.g. jg.games.dirac('standard')), got "
            f"{describe(game)}."
        )
    require_field_from_losses(
        game,
        "gman",
        "Build the GMAN from the game given to jaxgan.modified_game, "
        "then take its modified game: jaxgan.modified_game(jaxgan.games.gman(game, k), lr). "
        "The modified field of k discriminators couples them through the generator, "
        "which the pairs' modified fields do not hold.",
    )

    def generator_loss(w):
        return sum(game.loss_g(w[0], w[j]) for j in range(1, k + 1)) / k

    def discriminator_loss(j):
        return lambda w: game.loss_d(w[0], w[j])

    eq = game.equilibrium
    star = None if eq is None else Players(eq.phi, *([eq.theta] * k))
    return n_player_game(
        [generator_loss] + [discriminator_loss(j) for j in range(1, k + 1)],
        equilibrium=star,
        name=name or f"gman-{k}({game.name})",
    )
