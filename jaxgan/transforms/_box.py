"""Boxes: the projection on a box (``project_box``) and the unit-cube geometry STON'R works in."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from .._core.algebra import Info, Role, player_of, transformation
from .._core.game import Box, Joint, is_point
from .._core.players import require_two_players
from .._validation.checks import PLAIN_CALL, require_params
from .._validation.domains import describe

__all__ = ["project_box"]


def check_box(box, where: str, *, strict: bool) -> Box:
    """``box`` as a ``Box`` of ``Joint`` bounds of matching structure and shapes (a pair
    ``(lo, hi)`` is accepted), its concrete bounds free of NaN and ordered: ``lo < hi``
    in every coordinate when ``strict`` (STON'R maps the box onto the unit cube), else
    ``lo <= hi`` (a projection; infinite bounds allowed). Traced bounds are the caller's
    to check."""
    if not isinstance(box, Box):
        if isinstance(box, (tuple, list)) and len(box) == 2:
            box = Box(*box)
        else:
            raise TypeError(
                f"{where}: `box` must be a jaxgan.Box(lo, hi) (or a pair) of Joint bounds, got "
                f"{describe(box)}."
            )
    for name in ("lo", "hi"):
        if not isinstance(getattr(box, name), Joint):
            raise TypeError(
                f"{where}: `box.{name}` must be a jaxgan.Joint, got "
                f"{type(getattr(box, name)).__name__}."
            )
    if jax.tree.structure(box.lo) != jax.tree.structure(box.hi):
        raise ValueError(f"{where}: `box.lo` and `box.hi` have different tree structures.")
    for a, b in zip(jax.tree.leaves(box.lo), jax.tree.leaves(box.hi)):
        if np.shape(a) != np.shape(b):
            raise ValueError(
                f"{where}: `box.lo` and `box.hi` leaves have shapes {np.shape(a)} and "
                f"{np.shape(b)}."
            )
        if isinstance(a, jax.core.Tracer) or isinstance(b, jax.core.Tracer):
            continue
        a, b = np.asarray(a), np.asarray(b)
        if np.any(np.isnan(a)) or np.any(np.isnan(b)):
            raise ValueError(
                f"{where}: the box's bounds have NaN entries (infinite bounds are allowed)."
            )
        if strict and not np.all(a < b):
            raise ValueError(
                f"{where}: the box needs lo < hi in every coordinate (got lo >= hi somewhere)."
            )
        if not strict and not np.all(a <= b):
            raise ValueError(
                f"{where}: the box needs lo <= hi in every coordinate (got lo > hi somewhere)."
            )
    return box


def check_inside(params, box: Box, where: str) -> None:
    """Refuse a concrete start outside the box (STON'R would otherwise clip it silently)."""
    for p, a, b in zip(jax.tree.leaves(params), jax.tree.leaves(box.lo), jax.tree.leaves(box.hi)):
        if any(isinstance(x, jax.core.Tracer) for x in (p, a, b)):
            continue
        p = np.asarray(p)
        if not np.all(np.isfinite(p)):
            raise ValueError(f"{where}: `params` has non-finite values (NaN or inf).")
        if not np.all((np.asarray(a) <= p) & (p <= np.asarray(b))):
            raise ValueError(
                f"{where}: the start `params` lies outside the box; "
                "start inside it (e.g. at a corner)."
            )


class Cube(NamedTuple):
    """The box as an affine map of the unit cube, on flat vectors."""

    lo: jax.Array
    scale: jax.Array
    unravel: object
    n_phi: int


def unit_cube(box: Box) -> Cube:
    """The affine map of the unit cube onto ``box``, on flat vectors (``x`` coordinates first)."""
    lo, unravel = ravel_pytree(jax.tree.map(jnp.asarray, box.lo))
    hi, _ = ravel_pytree(jax.tree.map(jnp.asarray, box.hi))
    n_phi = ravel_pytree(box.lo.phi)[0].size
    return Cube(lo, hi - lo, unravel, n_phi)


def project_box(box: Box) -> optax.GradientTransformation:
    """Keep the iterate in ``box``: the update ``u`` becomes ``Pi_box(w + u) - w``.

    .. math:: u \\leftarrow \\Pi_{\\mathrm{box}}(w + u) - w

    Place it *last* in a chain (after the learning rate): ``optax.chain(optax.sgd(eta),
    jg.transforms.project_box(box))`` is projected SimGD, ``w <- Pi_box(w - eta xi(w))``. With
    ``extragradient(optax.chain(optax.sgd(eta), project_box(box)))`` both half-steps are
    projected (Korpelevich's method on a box). Inside a per-player optimiser (one of
    ``alternating``'s, ``per_player``'s or ``ttur``'s) it projects that player's parameters
    on its part of the box after each of its steps: ``jg.transforms.alternating(jg.Joint(chain(sgd,
    project_box(box)), chain(sgd, project_box(box))))``. After ``alternating`` or
    ``extragradient`` it would project once per round and raises.

    Args:
      box: ``Box(lo, hi)`` of ``Joint`` bounds shaped like the parameters.

    Examples:
      >>> import optax, jaxgan as jg
      >>> tx = optax.chain(optax.sgd(1.0), jg.transforms.project_box(jg.Box(jg.Joint(0.0, 0.0),
      ... jg.Joint(1.0,
      ... 1.0))))
      >>> w = jg.Joint(0.5, 0.5)
      >>> u, _ = tx.update(jg.Joint(-2.0, 0.25), tx.init(w), w)
      >>> float(w.phi + u.phi), float(w.theta + u.theta)
      (1.0, 0.25)
    """
    box = check_box(box, "project_box", strict=False)

    def update_fn(updates, state, params=None, **extra_args):
        require_params(params, "project_box", PLAIN_CALL)
        lo, hi = box.lo, box.hi
        if is_point(params):
            require_two_players(params, "project_box")
        if not isinstance(
            params, Joint
        ):  # one player's step (inside alternating, per_player, ttur)
            player = player_of(extra_args, "project_box")
            lo, hi = getattr(lo, player), getattr(hi, player)
        new = jax.tree.map(
            lambda p, u, a, b: (jnp.clip(p + u, a, b) - p).astype(jnp.result_type(u)),
            params,
            updates,
            lo,
            hi,
        )
        return new, state

    return transformation(
        Info(Role.PROJECTION, "project_box"), lambda params: optax.EmptyState(), update_fn
    )
