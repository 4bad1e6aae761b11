"""Weight clipping of the discriminator as a projection (Arjovsky, Chintala & Bottou 2017)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from .._core.algebra import Info, Role, player_of, transformation
from .._core.game import Joint
from .._validation.checks import PLAIN_CALL, require_params
from .._validation.domains import Real, domains


@domains(c=Real(0, low_open=True))
def clip_discriminator(c: jax.typing.ArrayLike) -> optax.GradientTransformationExtraArgs:
    """Project the discriminator's parameters onto the box ``[-c, c]`` after each step.

    A projection acts on where the step lands, so this transform goes *last* in a chain
    (after the learning rate): it turns the incoming update ``u`` into
    ``clip(theta + u_theta, -c, c) - theta`` and leaves the generator's update as it is.
    In the discriminator's optimiser of ``alternating`` it clips after *each* critic step,
    as WGAN is trained: ``jg.transforms.alternating(jg.Joint(optax.sgd(h), optax.chain(optax.sgd(h),
    clip_discriminator(c))), d_steps=5)`` (the inner optimiser is told its player). After
    ``alternating`` it would clip once per round and raises.

    Args:
      c: the clipping bound (> 0; traceable).

    Returns:
      An ``optax.GradientTransformationExtraArgs``; ``update`` needs ``params``.

    Examples:
      >>> import jax.numpy as jnp, optax, jaxgan as jg
      >>> tx = optax.chain(optax.sgd(1.0), jg.regularizers.clip_discriminator(0.1))
      >>> w = jg.Joint(jnp.array(0.0), jnp.array(0.05))
      >>> u, _ = tx.update(jg.Joint(jnp.array(1.0), jnp.array(-1.0)), tx.init(w), w)
      >>> float(u.phi), round(float(w.theta + u.theta), 6)
      (-1.0, 0.1)
    """

    def clip(p_theta, u_theta):
        return jax.tree.map(
            lambda p, u: (jnp.clip(p + u, -c, c) - p).astype(u.dtype), p_theta, u_theta
        )

    def update_fn(updates, state, params=None, **extra_args):
        require_params(params, "clip_discriminator", PLAIN_CALL)
        if isinstance(params, Joint) and isinstance(updates, Joint):
            return Joint(updates.phi, clip(params.theta, updates.theta)), state
        if isinstance(params, Joint) or isinstance(updates, Joint):
            raise TypeError(
                "clip_discriminator: `updates` and `params` must both be jaxgan.Joint pytrees, "
                "or both one player's."
            )
        # one player's step (inside alternating, per_player, ttur): clip the critic's, leave the
        # generator's
        if player_of(extra_args, "clip_discriminator") == "theta":
            return clip(params, updates), state
        return updates, state

    return transformation(
        Info(Role.PROJECTION, "clip_discriminator", namespace="regularizers"),
        lambda params: optax.EmptyState(),
        update_fn,
    )
