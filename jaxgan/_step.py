"""One discrete step of an optax algorithm on a game: the map ``(w, s) -> (w', s')``."""

from __future__ import annotations

from typing import Callable, Tuple

import jax
import jax.numpy as jnp
import optax

from ._chain_order import check_chain_order
from ._composition import FIELD_CONTEXT, FieldContext
from ._game import Game, Joint, check_game, simultaneous_gradient


def as_extra_args(tx, where: str) -> optax.GradientTransformationExtraArgs:
    """Accept any optax transformation; wrap plain ones so that ``game=`` passes through."""
    if not isinstance(tx, optax.GradientTransformation):
        raise TypeError(
            f"{where}: `tx` must be an optax.GradientTransformation (e.g. `optax.sgd(0.1)` or "
            f"`optax.chain(jg.alternating(...), ...)`), got {type(tx).__name__}."
        )
    return optax.with_extra_args_support(tx)


def check_tx(tx, where: str, hyperparams=None) -> None:
    """Check an entry point's ``tx`` argument: an optax transformation, or with
    ``hyperparams`` a callable ``h -> transformation`` (a ``make_tx``)."""
    if hyperparams is None:
        as_extra_args(tx, where)
        return
    if isinstance(tx, optax.GradientTransformation) or not callable(tx):
        raise TypeError(
            f"{where}: with `hyperparams=`, `tx` must be a callable `h -> optax transformation` (a make_tx, e.g. "
            f"`lambda h: optax.sgd(h['lr'])`), got {type(tx).__name__}; without `hyperparams`, pass the "
            "transformation itself."
        )


def tx_at(tx, hyperparams, where: str) -> optax.GradientTransformationExtraArgs:
    """The transformation of an entry point: ``tx`` itself, or ``tx(hyperparams)`` for a
    ``make_tx`` (``hyperparams`` traced: a new value re-uses the compiled program)."""
    if hyperparams is None:
        return as_extra_args(tx, where)
    return as_extra_args(tx(hyperparams), f"{where} (the transformation made from `hyperparams`)")


def _order_checked_update(tx, game: Game):
    """``tx.update(xi, state, w, game=game)`` whose chain order is checked once, the first
    time it is traced (``check_chain_order``)."""
    checked = []
    field = simultaneous_gradient(game)

    def update(xi, state, w):
        if not checked:
            check_chain_order(tx, xi, state, w, game=game, **{FIELD_CONTEXT: FieldContext(field)})
            checked.append(True)
        return tx.update(xi, state, w, game=game, **{FIELD_CONTEXT: FieldContext(field)})

    return update


def make_step(game: Game, tx) -> Callable[[Joint, optax.OptState], Tuple[Joint, optax.OptState]]:
    """The one-step map of algorithm ``tx`` on ``game``.

    ``step(w, s)`` computes ``xi(w)``, ``updates, s' = tx.update(xi, s, w, game=game)``
    and returns ``(w + updates, s')``. Every run, sweep and update Jacobian in jaxgan is
    built from this one function. When first traced it checks the chain's order: a jaxgan
    correction placed after a stage that rewrote ``xi`` (a learning-rate scaling) raises a
    ``ValueError`` naming it. It also passes the step's field context (``jaxgan_field``),
    so that a wrapper evaluating the field at a new point (``alternating``,
    ``extragradient``, ``lookahead``) uses the field as the corrections before it in the
    chain define it (``jaxgan._composition``).

    Args:
      game: a ``Game``.
      tx: an optax transformation (jaxgan transforms receive ``game=``).

    Returns:
      ``step(w, state) -> (w_next, state_next)``.

    Examples:
      >>> import optax, jaxgan as jg
      >>> tx, w0 = optax.sgd(0.5), jg.Joint(1.0, 1.0)
      >>> step = jg.make_step(jg.zero_sum(lambda x, y: x * y), tx)
      >>> w, _ = step(w0, tx.init(w0))
      >>> float(w.phi), float(w.theta)
      (0.5, 1.5)
    """
    game = check_game(game, "make_step")
    tx = as_extra_args(tx, "make_step")
    field = simultaneous_gradient(game)

    update = _order_checked_update(tx, game)

    def step(w, state):
        updates, state = update(field(w), state, w)
        return optax.apply_updates(w, updates), state

    return step


def corrected_field(game: Game, transform=None) -> Callable[[Joint], Joint]:
    """The vector field of a correction: ``v_T(w) = -T(xi(w))`` at ``w``.

    ``T`` is a stateless jaxgan correction (``consensus``, ``jare``, ``sga``, a
    regulariser's transform, or a chain of them) applied with a fresh state; with
    ``transform=None`` this is the plain ``vector_field``. Its Jacobian at an
    equilibrium is the papers' regularised ``A`` (Mescheder 2017, Nie & Patel Theorem 3).

    Examples:
      >>> import jaxgan as jg
      >>> v = jg.corrected_field(jg.games.dirac("wgan"), jg.consensus(1.0))
      >>> float(v(jg.Joint(1.0, 0.0)).phi)
      -1.0
    """
    game = check_game(game, "corrected_field")
    field = simultaneous_gradient(game)
    if transform is None:
        return lambda w: jax.tree.map(jnp.negative, field(w))
    tx = as_extra_args(transform, "corrected_field")

    update = _order_checked_update(tx, game)

    def v(w):
        updates, _ = update(field(w), tx.init(w), w)
        return jax.tree.map(jnp.negative, updates)

    return v
