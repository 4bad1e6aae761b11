"""Projection of the iterate on a box: projected gradient methods for constrained games."""

from __future__ import annotations

import jax
import numpy as np
import jax.numpy as jnp
import optax

from .._composition import check_projection_placement, player_of
from .._game import Box, Joint


def project_box(box: Box) -> optax.GradientTransformation:
    """Keep the iterate in ``box``: the update ``u`` becomes ``Pi_box(w + u) - w``.

    Place it *last* in a chain (after the learning rate): ``optax.chain(optax.sgd(eta),
    jg.project_box(box))`` is projected SimGD, ``w <- Pi_box(w - eta xi(w))``. With
    ``extragradient(optax.chain(optax.sgd(eta), project_box(box)))`` both half-steps are
    projected (Korpelevich's method on a box). Inside a per-player optimiser (one of
    ``alternating``'s, ``per_player``'s or ``ttur``'s) it projects that player's parameters
    on its part of the box after each of its steps: ``jg.alternating(jg.Joint(chain(sgd,
    project_box(box)), chain(sgd, project_box(box))))``. After ``alternating`` or
    ``extragradient`` it would project once per round and raises.

    Args:
      box: ``Box(lo, hi)`` of ``Joint`` bounds shaped like the parameters.

    Examples:
      >>> import optax, jaxgan as jg
      >>> tx = optax.chain(optax.sgd(1.0), jg.project_box(jg.Box(jg.Joint(0.0, 0.0), jg.Joint(1.0, 1.0))))
      >>> w = jg.Joint(0.5, 0.5)
      >>> u, _ = tx.update(jg.Joint(-2.0, 0.25), tx.init(w), w)
      >>> float(w.phi + u.phi), float(w.theta + u.theta)
      (1.0, 0.25)
    """
    if not isinstance(box, Box) or not isinstance(box.lo, Joint) or not isinstance(box.hi, Joint):
        raise TypeError(f"project_box: `box` must be a jaxgan.Box(lo, hi) of Joint bounds, got {type(box).__name__}.")
    if jax.tree.structure(box.lo) != jax.tree.structure(box.hi):
        raise ValueError("project_box: `box.lo` and `box.hi` have different tree structures.")
    for a, b in zip(jax.tree.leaves(box.lo), jax.tree.leaves(box.hi)):
        if isinstance(a, jax.core.Tracer) or isinstance(b, jax.core.Tracer):
            continue  # traced bounds are the caller's to check
        a, b = np.asarray(a), np.asarray(b)
        if np.any(np.isnan(a)) or np.any(np.isnan(b)):
            raise ValueError("project_box: the box's bounds have NaN entries (infinite bounds are allowed).")
        if not np.all(a <= b):
            raise ValueError("project_box: the box needs lo <= hi in every coordinate (got lo > hi somewhere).")

    def update_fn(updates, state, params=None, **extra_args):
        if params is None:
            raise ValueError("project_box needs the current parameters: call `update(u, state, params)`.")
        check_projection_placement(extra_args, "project_box")
        lo, hi = box.lo, box.hi
        if not isinstance(params, Joint):  # one player's step (inside alternating, per_player, ttur)
            player = player_of(extra_args, "project_box")
            lo, hi = getattr(lo, player), getattr(hi, player)
        new = jax.tree.map(
            lambda p, u, a, b: (jnp.clip(p + u, a, b) - p).astype(jnp.result_type(u)), params, updates, lo, hi
        )
        return new, state

    return optax.GradientTransformationExtraArgs(lambda params: optax.EmptyState(), update_fn)
