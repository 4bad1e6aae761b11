"""Per-player optimisers and learning rates (two time-scale update rule)."""

from __future__ import annotations

import jax
import optax

from .._algebra import PLAYER, Info, Place, Role, check_place, inner_extra, probe_inner, transformation
from .._checks import check_hyperparameter
from .._domains import Real, describe, domains
from .._game import Joint
from .._scaffold import accept_transformation


def per_player(generator: optax.GradientTransformation, discriminator: optax.GradientTransformation):
    """Apply one optimiser to the generator's part of ``xi`` and another to the
    discriminator's, in one transformation (state ``Joint(state_g, state_d)``).

    Put corrections first and this last: ``optax.chain(jg.jare(1.0),
    jg.per_player(optax.sgd(1e-4), optax.adam(4e-4)))``. Extra arguments (``game=``)
    pass through to both, with ``jaxgan_player`` ("phi" or "theta") saying which player
    each steps, so a projection in one of them (``jg.project_box``,
    ``jg.regularizers.clip_discriminator``) acts on that player's parameters. ``ttur(lr_g, lr_d)`` is ``per_player(optax.sgd(lr_g),
    optax.sgd(lr_d))``.

    Args:
      generator: optax transformation for ``phi``.
      discriminator: optax transformation for ``theta``.

    Returns:
      An ``optax.GradientTransformationExtraArgs``.

    Examples:
      >>> import jax.numpy as jnp, optax, jaxgan as jg
      >>> tx = jg.per_player(optax.sgd(0.1), optax.sgd(1.0))
      >>> w = jg.Joint(jnp.array(0.0), jnp.array(0.0))
      >>> u, _ = tx.update(jg.Joint(jnp.array(1.0), jnp.array(1.0)), tx.init(w), w)
      >>> round(float(u.phi), 6), float(u.theta)
      (-0.1, -1.0)
    """
    tx_g, tx_d = accept_transformation(generator, "per_player", "generator"), accept_transformation(discriminator, "per_player", "discriminator")
    for tx in (tx_g, tx_d):
        check_place(tx, Place.PLAYER, "per_player")

    def init_fn(params):
        if not isinstance(params, Joint):
            raise TypeError(f"per_player.init: `params` must be a jaxgan.Joint, got {describe(params)}.")
        return Joint(tx_g.init(params.phi), tx_d.init(params.theta))

    def update_fn(updates, state, params=None, **extra_args):
        if not isinstance(updates, Joint):
            raise TypeError(f"per_player: `updates` must be a jaxgan.Joint, got {describe(updates)}.")
        p_phi = None if params is None else params.phi
        p_theta = None if params is None else params.theta
        u_g, s_g = tx_g.update(updates.phi, state.phi, p_phi, **inner_extra(extra_args, player="phi"))
        u_d, s_d = tx_d.update(updates.theta, state.theta, p_theta, **inner_extra(extra_args, player="theta"))
        return Joint(u_g, u_d), Joint(s_g, s_d)

    def probe_inners(updates, state, params, extra, record):
        if not isinstance(updates, Joint) or not isinstance(params, Joint):
            raise TypeError("per_player: `updates` and `params` must be jaxgan.Joint pytrees.")
        probe_inner(record, tx_g, updates.phi, state.phi, params.phi, {**extra, PLAYER: "phi"}, Place.PLAYER, "per_player")
        probe_inner(record, tx_d, updates.theta, state.theta, params.theta, {**extra, PLAYER: "theta"}, Place.PLAYER,
                    "per_player")

    return transformation(Info(Role.DIRECTION, "per_player"), init_fn, update_fn, probe_inner=probe_inners)


@domains(lr_g=Real(0), lr_d=Real(0))
def ttur(lr_g: jax.typing.ArrayLike, lr_d: jax.typing.ArrayLike) -> optax.GradientTransformationExtraArgs:
    """The two time-scale update rule (Heusel et al. 2017): SGD with learning rate
    ``lr_g`` for the generator and ``lr_d`` for the discriminator.

    The update operator at an equilibrium is ``I + diag(lr_g I, lr_d I) A``.

    Examples:
      >>> import optax, jaxgan as jg
      >>> game = jg.games.dirac("wgan")
      >>> m = jg.update_jacobian(game, jg.ttur(0.1, 0.4), game.equilibrium)
      >>> [[round(float(x), 6) for x in row] for row in m]
      [[1.0, -0.1], [0.4, 1.0]]
    """
    check_hyperparameter(lr_g, "ttur", "lr_g")
    check_hyperparameter(lr_d, "ttur", "lr_d")
    return per_player(optax.sgd(lr_g), optax.sgd(lr_d))
