"""Lookahead on the joint parameters (Zhang et al. 2019; Lookahead-minmax, Chavdarova et al.
2021)."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from .._core.algebra import (
    Counter,
    Info,
    Place,
    Role,
    field_of,
    inner_extra,
    inner_field,
    probe_inner,
    transformation,
)
from .._core.field import game_field
from .._core.game import Joint
from .._core.players import require_point
from .._validation.checks import accept_transformation, checked_game_update
from .._validation.domains import Integer, Real, domains

__all__ = ["LookaheadState", "lookahead"]


class LookaheadState(NamedTuple):
    """State of ``lookahead``: the inner optimiser's state, the slow weights and the step count.

    Examples:
      >>> import optax, jaxgan as jg
      >>> jg.transforms.LookaheadState._fields
      ('inner', 'slow', 'count')
    """

    inner: optax.OptState
    slow: Joint
    count: jax.Array


@domains(sync_period=Integer(1), alpha=Real(0, 1, low_open=True))
def lookahead(
    inner: optax.GradientTransformation, *, sync_period: int = 5, alpha: jax.typing.ArrayLike = 0.5
) -> optax.GradientTransformationExtraArgs:
    """Lookahead-minmax: ``k`` fast steps, then the slow weights move toward the fast ones.

    Both players take ``k`` fast steps of ``inner``, then the slow weights move a fraction
    ``alpha`` of the way to the fast ones and the fast weights restart there,

    .. math:: \\tilde w_{t+1} = \\tilde w_t + u(\\xi(\\tilde w_t)),\\qquad
              \\text{every } k \\text{ steps: } w \\leftarrow w + \\alpha (\\tilde w - w),\\ \\tilde
              w \\leftarrow w.

    The parameters jaxgan steps are the fast weights; the slow ones live in the state
    (optax's own ``lookahead`` needs its ``LookaheadParams`` and does not run on a
    ``Joint``). ``xi`` is the field *as the corrections before* ``lookahead`` *define it*:
    ``optax.chain(jg.transforms.consensus(g), jg.transforms.lookahead(optax.sgd(h)))`` takes every
    fast step with
    the consensus field. A projection goes inside ``inner`` (the slow weights are convex
    combinations of projected points, so they stay in a convex set); after ``lookahead`` it
    raises. Cost per step: ``inner``'s; no extra field evaluation.

    Args:
      inner: the fast optimiser (learning rate included), e.g. ``optax.sgd(h)``.
      sync_period: ``k``, fast steps per synchronisation (static).
      alpha: the slow step, in ``(0, 1]`` (traceable).

    Returns:
      An ``optax.GradientTransformationExtraArgs``; ``update`` needs ``params`` and ``game=``.

    Examples:
      >>> import optax, jaxgan as jg
      >>> game = jg.games.bilinear(1.0)
      >>> tx = jg.transforms.lookahead(optax.sgd(0.5), sync_period=2, alpha=0.5)
      >>> # two fast steps, then w = (w0 + w2) / 2
      >>> out = jg.rollout(game, tx, jg.Joint(1.0, 0.0), 2)
      >>> round(float(out.final.phi), 6), round(float(out.final.theta), 6)
      (0.875, 0.5)

    References:
      Zhang, Lucas, Hinton & Ba, "Lookahead optimizer: k steps forward, 1 step back", 2019.
      Chavdarova, Pagliardini, Stich, Fleuret & Jaggi, "Taming GANs with Lookahead-Minmax",
      ICLR 2021.
    """
    inner = accept_transformation(inner, "lookahead")

    def init_fn(params):
        require_point(params, "lookahead.init")
        slow = jax.tree.map(jnp.asarray, params)
        return LookaheadState(inner.init(params), slow, jnp.asarray(0, jnp.int32))

    def update_fn(updates, state, params=None, *, game=None, **extra_args):
        game = checked_game_update(updates, params, game, "lookahead", joint=("params",))
        field = field_of(extra_args, game_field(game))
        nested = inner_field(
            inner, field, updates, state.inner, params, {**extra_args, "game": game}
        )
        u, inner_state = inner.update(
            updates, state.inner, params, game=game, **inner_extra(extra_args, field=nested)
        )
        fast = optax.apply_updates(params, u)
        count = state.count + 1
        sync = count % sync_period == 0
        slow = jax.tree.map(
            lambda s, f: jnp.where(sync, s + alpha * (f - s), s).astype(s.dtype), state.slow, fast
        )
        target = jax.tree.map(lambda s, f: jnp.where(sync, s, f), slow, fast)
        total = jax.tree.map(lambda t, p: (t - p).astype(jnp.result_type(p)), target, params)
        return total, LookaheadState(inner_state, slow, count)

    def probe_inners(updates, state, params, extra, record):
        require_point(params, "lookahead")
        probe_inner(record, inner, updates, state.inner, params, extra, Place.JOINT, "lookahead")

    info = Info(
        Role.STEP,
        "lookahead",
        form="`jg.transforms.lookahead(optax.chain(optax.sgd(lr), {after_call}(...)))`",
    )
    # the map depends on the step count through the synchronisation every k steps: period k
    return transformation(
        info,
        init_fn,
        update_fn,
        probe_inner=probe_inners,
        counter=lambda state: (state.count, Counter(sync_period)),
    )
