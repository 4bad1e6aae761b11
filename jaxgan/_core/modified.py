"""Backward error analysis of gradient steps on games: the modified field whose flow follows the
discrete iterates to second order (Barrett & Dherin 2021 for one player; Rosca, Wu, Dherin &
Barrett 2021, "Discretization drift in two-player games")."""

from __future__ import annotations

from typing import Optional, Sequence, Union

import jax
import jax.numpy as jnp

from .._validation.checks import check_game, check_hyperparameter
from .._validation.domains import PlayerOrder, domains
from . import players as players
from .field import game_field
from .game import Game
from .partition import point_function

ORDERS = ("simultaneous", "g_first", "d_first")


@domains(order=PlayerOrder(*ORDERS))
def modified_game(
    game,
    lr: jax.typing.ArrayLike,
    *,
    order: Union[str, tuple] = "simultaneous",
    scales: Optional[Sequence[float]] = None,
):
    """The game whose field is the first-order modified field of gradient steps on ``game``.

    Its flow ``dw/dt = -xi~(w)`` follows the iterates of the discrete steps to ``O(lr^3)`` per
    step, one step being a time ``lr`` (backward error analysis).

    With ``D = diag(s_i)`` the players' relative step sizes (``scales``; player ``i`` steps
    ``lr s_i``; default all 1) and ``J = d xi / dw``, the steps ``w <- w - lr D xi`` have

    .. math:: \\tilde\\xi = D\\xi + \\tfrac{lr}{2} D J D \\xi

    (simultaneous; for one player ``grad L + (lr/2) H grad L``, the gradient of Barrett &
    Dherin's ``L + (lr/4)|grad L|^2``). When the players step one after another (``order``
    ``"g_first"``, ``"d_first"``, or a permutation of the players for n of them), each player
    sees the earlier movers' new values, which adds ``-lr s_i sum_{j earlier} J_ij s_j xi_j``
    to player ``i``'s row (Rosca et al. 2021): for ``g_first`` the discriminator's row is
    ``s_t xi_t + (lr/2) s_t (s_t J_tt xi_t - J_tp xi_p)``, the cross term's sign flipped. The
    field includes ``D``, so that the flow's time is ``lr`` per step for every player.
    Matrix-free: one JVP of the field, plus one per player moving after another. The
    returned game keeps the losses (for metadata) and carries the modified field as its
    ``grad_fn``, which every analysis uses. It is marked ``field_from_losses=False``, so
    what reads the losses (LOLA, SOS, the regularisers, ``games.gman``) refuses it instead of
    mixing this field with losses it is not the gradient of: regularise ``game`` or build its
    GMAN first, then take the modified game of that.

    Args:
      game: a two-player ``Game`` or an ``NPlayerGame``.
      lr: the learning rate (traceable).
      order: ``"simultaneous"``, ``"g_first"``/``"d_first"`` (two players) or a permutation.
      scales: the players' relative step sizes, e.g. ``(1.0, 4.0)`` for a discriminator four
        times faster (two time scales); default all 1.

    Returns:
      A game of the same kind with ``grad_fn`` the modified field.

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> game = jg.games.bilinear(1.0)  # d xi/dw = [[0, 1], [-1, 0]]: the drift adds -(lr/2) xi
      >>> # Re > 0: SimGD spirals out
      >>> a = jg.jacobian(jg.modified_game(game, 0.2), game.equilibrium)
      >>> [[round(float(x), 6) for x in row] for row in a]
      [[0.1, -1.0], [1.0, 0.1]]

    References:
      Barrett & Dherin, "Implicit gradient regularization", ICLR 2021. Rosca, Wu, Dherin &
      Barrett, "Discretization drift in two-player games", ICML 2021.
    """
    game = check_game(game, "modified_game")
    check_hyperparameter(lr, "modified_game", "lr", low_open=True)
    n = players.game_players(game)
    if scales is None:
        scales = (1.0,) * n
    scales = tuple(scales)
    if len(scales) != n:
        raise ValueError(
            f"modified_game: `scales` must give one relative step size per player ({n}), got "
            f"{len(scales)}."
        )
    for i, s in enumerate(scales):
        check_hyperparameter(s, "modified_game", f"scales[{i}]", low_open=True)
    if isinstance(order, str) and order != "simultaneous":
        if n != 2:
            raise ValueError(
                f"modified_game: `order` {order!r} names a generator and a discriminator; with {n} "
                f"players give a permutation of range({n})."
            )
        order = (0, 1) if order == "g_first" else (1, 0)
    if not isinstance(order, str) and len(order) != n:
        raise ValueError(
            f"modified_game: `order` {order!r} orders {len(order)} players but the game has {n}."
        )
    sequence = None if isinstance(order, str) else tuple(int(i) for i in order)
    if getattr(game, "stacked", False) and (sequence is not None or len(set(scales)) > 1):
        raise ValueError(
            "modified_game: stacked players move together along their axis with one step size: "
            "give `order='simultaneous'` and equal `scales`, or use jaxgan.Players."
        )
    eta = jnp.asarray(lr)

    def build(game):  # the modified field of `game` (of its parameters, for equinox players)
        field = game_field(game)

        def scaled(w, v):
            if getattr(game, "stacked", False):
                return jax.tree.map(lambda x: scales[0] * x, v)
            return players.for_each(
                w, lambda i: jax.tree.map(lambda x: scales[i] * x, players.get(v, i))
            )

        def modified(w):
            xi, jvp = jax.linearize(field, w)
            d_xi = scaled(w, xi)
            drift = scaled(w, jvp(d_xi))  # D J D xi
            out = jax.tree.map(lambda a, b: a + 0.5 * eta * b, d_xi, drift)
            if sequence is None:
                return out
            for position, i in enumerate(sequence[1:], start=1):
                earlier = players.sum_over(
                    w,
                    lambda j: (
                        players.only(d_xi, j)
                        if j in sequence[:position]
                        else jax.tree.map(jnp.zeros_like, d_xi)
                    ),
                )
                cross = players.get(jvp(earlier), i)  # sum_{j earlier} J_ij s_j xi_j
                row = jax.tree.map(lambda a, c: a - eta * scales[i] * c, players.get(out, i), cross)
                out = players.put(out, i, row)
            return out

        return modified

    shown = "traced" if isinstance(lr, jax.core.Tracer) else float(lr)
    name = f"{game.name} (modified, lr={shown}, {order})"
    modified = point_function(game, build)
    return (
        game.replace(grad_fn=modified, name=name, zero_sum=False, field_from_losses=False)
        if isinstance(game, Game)
        else game.replace(grad_fn=modified, name=name, field_from_losses=False)
    )
