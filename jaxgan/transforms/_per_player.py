"""Per-player optimisers and learning rates (two time-scale update rule)."""

from __future__ import annotations

import jax
import optax

from .._core import players as players
from .._core.algebra import (
    PLAYER,
    Info,
    Place,
    Role,
    check_place,
    inner_extra,
    probe_inner,
    transformation,
)
from .._core.game import Joint, Players, StackedPlayers
from .._validation.checks import accept_transformation
from .._validation.domains import Real, describe, domains

__all__ = ["per_player", "ttur"]


def per_player(
    generator: optax.GradientTransformation,
    discriminator: optax.GradientTransformation,
    *more: optax.GradientTransformation,
):
    """Apply an optimiser of its own to each player's part of ``xi``, in one transformation.

    One optimiser for the generator's part of ``xi`` and another for the discriminator's (state
    ``Joint(state_g, state_d)``); for an n-player game, one optimiser per player in player order
    (``per_player(tx_0, tx_1, tx_2)``, state ``Players(state_0, ...)``).

    .. math:: (u_\\phi, u_\\theta) = (T_g(\\xi_\\phi), T_d(\\xi_\\theta))

    Put corrections first and this last: ``optax.chain(jg.transforms.jare(1.0),
    jg.transforms.per_player(optax.sgd(1e-4), optax.adam(4e-4)))``. Extra arguments (``game=``)
    pass through to every optimiser, with ``jaxgan_player`` ("phi" or "theta"; the player
    index for n players) saying which player each steps, so a projection in one of them
    (``jg.transforms.project_box``, ``jg.regularizers.clip_discriminator``) acts on that player's
    parameters. ``ttur(lr_g, lr_d)`` is ``per_player(optax.sgd(lr_g), optax.sgd(lr_d))``.

    Args:
      generator: optax transformation for ``phi`` (player 0).
      discriminator: optax transformation for ``theta`` (player 1).
      *more: the optimisers of players 2, 3, ... of an n-player game.

    Returns:
      An ``optax.GradientTransformationExtraArgs``.

    Examples:
      >>> import jax.numpy as jnp, optax, jaxgan as jg
      >>> tx = jg.transforms.per_player(optax.sgd(0.1), optax.sgd(1.0))
      >>> w = jg.Joint(jnp.array(0.0), jnp.array(0.0))
      >>> u, _ = tx.update(jg.Joint(jnp.array(1.0), jnp.array(1.0)), tx.init(w), w)
      >>> round(float(u.phi), 6), float(u.theta)
      (-0.1, -1.0)
    """
    names = ("generator", "discriminator") + tuple(f"more[{i}]" for i in range(len(more)))
    txs = tuple(
        accept_transformation(tx, "per_player", name)
        for tx, name in zip((generator, discriminator) + more, names)
    )
    for tx in txs:
        check_place(tx, Place.PLAYER, "per_player")

    def check(value, where, arg):
        if isinstance(value, StackedPlayers):
            raise ValueError(
                f"{where}: stacked players share one optimiser along their axis; "
                "give it on its own (per_player is for players with optimisers of their own)."
            )
        if not isinstance(value, (Joint, Players)):
            raise TypeError(
                f"{where}: `{arg}` must be a jaxgan.Joint (or jaxgan.Players), got "
                f"{describe(value)}."
            )
        if players.count(value) != len(txs):
            raise ValueError(
                f"{where}: `{arg}` holds {players.count(value)} players but per_player was given "
                f"{len(txs)} optimisers."
            )
        return value

    def name_of(value, i):
        return players.JOINT_NAMES[i] if isinstance(value, Joint) else i

    def init_fn(params):
        check(params, "per_player.init", "params")
        return players.for_each(params, lambda i: txs[i].init(players.get(params, i)))

    def update_fn(updates, state, params=None, **extra_args):
        check(updates, "per_player", "updates")
        outs = [
            txs[i].update(
                players.get(updates, i),
                players.get(state, i),
                None if params is None else players.get(params, i),
                **inner_extra(extra_args, player=name_of(updates, i)),
            )
            for i in range(len(txs))
        ]
        kind = Joint if isinstance(updates, Joint) else Players
        return kind(*(u for u, _ in outs)), kind(*(s_ for _, s_ in outs))

    def probe_inners(updates, state, params, extra, record):
        if not isinstance(updates, (Joint, Players)) or not isinstance(params, (Joint, Players)):
            raise TypeError("per_player: `updates` and `params` must be jaxgan.Joint pytrees.")
        check(params, "per_player", "params")
        for i in range(len(txs)):
            probe_inner(
                record,
                txs[i],
                players.get(updates, i),
                players.get(state, i),
                players.get(params, i),
                {**extra, PLAYER: name_of(updates, i)},
                Place.PLAYER,
                "per_player",
            )

    return transformation(
        Info(Role.DIRECTION, "per_player"), init_fn, update_fn, probe_inner=probe_inners
    )


@domains(lr_g=Real(0), lr_d=Real(0))
def ttur(
    lr_g: jax.typing.ArrayLike, lr_d: jax.typing.ArrayLike
) -> optax.GradientTransformationExtraArgs:
    """The two time-scale update rule (Heusel et al. 2017): SGD with a learning rate per player.

    The learning rate is ``lr_g`` for the generator and ``lr_d`` for the discriminator.

    .. math::

        \\phi \\leftarrow \\phi - \\mathrm{lr}_g\\, \\xi_\\phi, \\qquad \\theta \\leftarrow \\theta
        - \\mathrm{lr}_d\\, \\xi_\\theta

    The update operator at an equilibrium is ``I + diag(lr_g I, lr_d I) A``.

    Examples:
      >>> import optax, jaxgan as jg
      >>> game = jg.games.dirac("wgan")
      >>> m = jg.update_jacobian(game, jg.transforms.ttur(0.1, 0.4), game.equilibrium)
      >>> [[round(float(x), 6) for x in row] for row in m]
      [[1.0, -0.1], [0.4, 1.0]]
    """
    return per_player(optax.sgd(lr_g), optax.sgd(lr_d))
