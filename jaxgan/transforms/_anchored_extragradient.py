"""Extra anchored gradient with a constant step (EAG-C, Yoon & Ryu 2021)."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from .._core.algebra import Counter, Info, Role, field_of, transformation
from .._core.field import game_field
from .._core.players import require_point
from .._validation.checks import check_hyperparameter, checked_game_update

__all__ = ["AnchoredState", "anchored_extragradient"]


class AnchoredState(NamedTuple):
    """State of ``anchored_extragradient``: its anchor and its step count.

    The anchor ``z_0`` is the starting point; the count ``k`` sets the weight ``1/(k + 2)``.

    Examples:
      >>> import jaxgan as jg
      >>> jg.transforms.AnchoredState._fields
      ('anchor', 'count')
    """

    anchor: object
    count: jax.Array


_WHY = (
    "EAG-C pulls every step toward its anchor z_0 with the weight beta_k = 1/(k + 2), which "
    "changes every step, so the step has no constant matrix"
)


def anchored_extragradient(
    learning_rate: jax.typing.ArrayLike,
) -> optax.GradientTransformationExtraArgs:
    """Extra anchored gradient with a constant step (EAG-C): extragradient pulled toward its start.

    With ``alpha = learning_rate``, ``beta_k = 1/(k + 2)`` and the anchor ``z_0`` (the point
    ``init`` is given), step ``k = 0, 1, ...`` is

    .. math:: z_{k+1/2} = z_k + \\beta_k (z_0 - z_k) - \\alpha\\, \\xi(z_k), \\qquad
              z_{k+1} = z_k + \\beta_k (z_0 - z_k) - \\alpha\\, \\xi(z_{k+1/2}).

    For a convex-concave game whose field is ``L``-Lipschitz and ``alpha <= 1/(8 L)``, Yoon &
    Ryu (2021, Theorem 1) prove ``|xi(z_k)|^2 <= 4 |z_0 - z*|^2 / (alpha^2 (k + 1)^2)``: the
    field's norm falls as ``O(1/k)``, the optimal rate for such games, where extragradient's last
    iterate has ``O(1/sqrt(k))``. ``xi`` is the field as the corrections before it in the chain
    define it. The map changes every step (``beta_k``) and depends on the anchor, so the linear
    analyses (``spectral_radius``, ``update_jacobian(..., cycle=True)``, ``stability_map``, ...)
    refuse it and say why (``update_jacobian`` without ``cycle`` gives one step's Jacobian at the
    state's count); rollouts and sweeps run it. Cost per step: two field evaluations.

    Args:
      learning_rate: the step ``alpha > 0`` (an array under ``optax.inject_hyperparams``).

    Returns:
      An ``optax.GradientTransformationExtraArgs``; ``update`` needs ``params`` and ``game=``.

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> game, w0 = jg.games.bilinear(1.0), jg.Joint(jnp.asarray(1.0), jnp.asarray(1.0))
      >>> out = jg.rollout(game, jg.transforms.anchored_extragradient(0.125), w0, 100)
      >>> field = jg.simultaneous_gradient(game)(out.final)
      >>> bool(float(jnp.hypot(field.phi, field.theta)) <= 2 * 2**0.5 / (0.125 * 101))
      True

    References:
      Yoon & Ryu, "Accelerated algorithms for smooth convex-concave minimax problems with
      O(1/k^2) rate on squared gradient norm", ICML 2021.
    """
    check_hyperparameter(learning_rate, "anchored_extragradient", "learning_rate", low_open=True)

    def init_fn(params):
        require_point(params, "anchored_extragradient.init")
        return AnchoredState(params, jnp.asarray(0, jnp.int32))

    def update_fn(updates, state, params=None, *, game=None, **extra_args):
        game = checked_game_update(
            updates, params, game, "anchored_extragradient", joint=("params",)
        )
        field = field_of(extra_args, game_field(game))
        beta = 1.0 / (state.count + 2)

        def step(xi):
            return jax.tree.map(
                lambda z0, z, g: (
                    beta.astype(jnp.result_type(z)) * (z0 - z)
                    - jnp.asarray(learning_rate, jnp.result_type(z)) * g
                ).astype(jnp.result_type(z)),
                state.anchor,
                params,
                xi,
            )

        half = optax.apply_updates(params, step(updates))
        return step(field(half)), AnchoredState(state.anchor, state.count + 1)

    return transformation(
        Info(Role.STEP, "anchored_extragradient"),
        init_fn,
        update_fn,
        counter=lambda state: (state.count, Counter(None, _WHY)),
    )
