"""The field of a game: the simultaneous gradient ``xi``, the vector field ``v = -xi``, and
the field of a correction ``v_T = -T(xi)``.

Below the step (``_step``) and everything that analyses a game: Jacobians and spectra
differentiate these functions, runs step along them.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import optax

from .._validation.checks import (
    accept_transformation,
    call_loss,
    call_player_loss,
    check_finite,
    check_game,
    check_point,
    check_read,
    read_checked,
)
from . import players as players
from .algebra import FIELD, Place, resolve
from .game import Game, Joint, NPlayerGame
from .partition import point_function
from .players import player_loss

# --------------------------------------------------------------------------- fields


def simultaneous_gradient(game: Game) -> Callable[[Joint], Joint]:
    """The simultaneous gradient ``xi(w) = Joint(grad_phi loss_g, grad_theta loss_d)``.

    .. math:: \\xi(w) = (\\nabla_\\phi L_g(\\phi, \\theta),\\ \\nabla_\\theta L_d(\\phi, \\theta))

    Uses ``game.grad_fn`` when given, else reverse-mode autodiff of each loss with
    respect to its own player. Plain ``optax.sgd(lr)`` on ``xi`` is simultaneous
    gradient descent ``w <- w - lr * xi``. Cost: one VJP per player.

    Args:
      game: a ``Game``.

    Returns:
      A function ``w -> xi`` with ``w`` and ``xi`` ``Joint`` pytrees of the same structure.

    Examples:
      >>> import jaxgan as jg
      >>> xi = jg.simultaneous_gradient(jg.zero_sum(lambda x, y: x * y))
      >>> g = xi(jg.Joint(1.0, 2.0))
      >>> float(g.phi), float(g.theta)
      (2.0, -1.0)
    """
    game = check_game(game, "simultaneous_gradient")

    def build(game):
        field = game_field(game)
        return lambda w: field(check_point(game, w, "simultaneous_gradient"))

    return point_function(game, build)


def game_field(game: Game) -> Callable[[Joint], Joint]:
    """``w -> xi(w)`` of a game that passed ``check_game``, evaluated without checks: the
    form every internal caller uses once its public entry point has checked the game and
    the point (``_checks.check_point``). ``game.grad_fn`` when given, else reverse-mode
    autodiff of each loss in its own player (a failing loss still names itself:
    ``_checks.call_loss``)."""
    if game.grad_fn is not None:
        return game.grad_fn
    if isinstance(game, NPlayerGame):
        return _n_player_field(game)

    def xi(w: Joint) -> Joint:
        g = jax.grad(lambda phi: call_loss(game.loss_g, "loss_g", phi, w.theta))(w.phi)
        d = jax.grad(lambda theta: call_loss(game.loss_d, "loss_d", w.phi, theta))(w.theta)
        return Joint(g, d)

    return xi


def _n_player_field(game: NPlayerGame):
    """``xi_i = grad_{x_i} l_i(w)``: one reverse pass of each player's loss in its own
    parameters (a Python loop over ``Players``; one ``vmap`` over ``StackedPlayers``, so
    ``n`` reverse passes of one loss, ``O(n)`` times a loss's cost)."""

    def own_gradient(w, i):
        loss = player_loss(game, i)
        name = "losses" if game.stacked else f"losses[{i}]"
        return jax.grad(lambda x: call_player_loss(loss, name, players.put(w, i, x)))(
            players.get(w, i)
        )

    def xi(w):
        return players.for_each(w, lambda i: own_gradient(w, i))

    return xi


def vector_field(game: Game) -> Callable[[Joint], Joint]:
    """The vector field ``v(w) = -xi(w)`` of the continuous dynamics ``dw/dt = v(w)``.

    .. math:: \\frac{dw}{dt} = v(w) = -\\xi(w)

    Jacobians and spectra in jaxgan are of this field (the papers' ``A``): local
    asymptotic stability of the flow is ``Re(lambda) < 0`` for every eigenvalue.

    Args:
      game: a ``Game``.

    Returns:
      A function ``w -> v(w)``.

    Examples:
      >>> import jaxgan as jg
      >>> v = jg.vector_field(jg.zero_sum(lambda x, y: x * y))
      >>> float(v(jg.Joint(1.0, 2.0)).phi)
      -2.0
    """
    xi = simultaneous_gradient(game)

    def v(w: Joint) -> Joint:
        return jax.tree.map(jnp.negative, xi(w))

    return v


def checked_equilibrium(game, w_star, where: str):
    """The point an analysis linearises at: ``w_star``, else the game's ``equilibrium`` (refused
    when there is none), checked as a point of the game, finite and stationary."""
    point = w_star if w_star is not None else game.equilibrium
    if point is None:
        raise ValueError(
            f"{where}: the game has no equilibrium (`equilibrium` is None): "
            "pass the point with `w_star=`."
        )
    point = check_point(game, point, where, "w_star")
    check_finite(point, where, "w_star")
    check_stationary(game, point, where)
    return point


def check_stationary(game, w, where: str, arg: str = "w_star") -> None:
    """Refuse a concrete point where the game's field does not vanish (to ``sqrt(eps)`` of the
    point's size): an analysis of the step linearised at a fixed point needs one."""
    leaves = jax.tree.leaves(w)
    if any(isinstance(x, jax.core.Tracer) for x in leaves):
        return
    field = jax.tree.leaves(game_field(game)(w))
    size = max(float(jnp.max(jnp.abs(x))) for x in field) if field else 0.0
    scale = max([1.0] + [float(jnp.max(jnp.abs(x))) for x in leaves if jnp.size(x)])
    tol = float(jnp.sqrt(jnp.finfo(jnp.result_type(*leaves)).eps)) * scale
    if not size <= tol:
        raise ValueError(
            f"{where}: `{arg}` is not a stationary point of the game: "
            f"the field there has entries of size {size:.2e}, above {tol:.1e}; "
            "the step is linearised at a fixed point, where the field vanishes. "
            "Pass an equilibrium (jg.solve_equilibrium finds one)."
        )


# --------------------------------------------------------------------------- corrected fields


def resolved_update(tx, game: Game, place: Place = Place.TOP):
    """``tx.update(xi, state, w, game=game)`` as the step algebra means it: each time it is
    traced the chain is resolved (``_algebra.resolve``: its order checked against the rule,
    abstractly) and every stage is handed the corrected field as the immutable extra argument
    ``jaxgan_field``."""
    field = game_field(game)

    def update(xi, state, w):
        resolution = resolve(tx, field, xi, state, w, {"game": game}, place)
        return tx.update(xi, state, w, game=game, **{FIELD: resolution.field})

    return update


def corrected_field(game: Game, transform=None, *, hyperparams=None) -> Callable[[Joint], Joint]:
    """The vector field of a correction: ``v_T(w) = -T(xi(w))`` at ``w``.

    ``T`` is a stateless jaxgan correction (``consensus``, ``jare``, ``sga``, a
    regulariser's transform, or a chain of them) applied with a fresh state; with
    ``transform=None`` this is the plain ``vector_field``. Its Jacobian at an
    equilibrium is the papers' regularised ``A`` (Mescheder 2017, Nie & Patel Theorem 3).
    With ``hyperparams``, ``transform`` is a ``make_tx`` called on them (a dict key it never
    reads raises). ``transform`` takes field corrections only (the step algebra).

    Examples:
      >>> import jaxgan as jg
      >>> v = jg.corrected_field(jg.games.dirac("wgan"), jg.transforms.consensus(1.0))
      >>> float(v(jg.Joint(1.0, 0.0)).phi)
      -1.0
    """
    game = check_game(game, "corrected_field")
    if hyperparams is not None:
        if (
            transform is None
            or isinstance(transform, optax.GradientTransformation)
            or not callable(transform)
        ):
            raise TypeError(
                "corrected_field: with `hyperparams=`, "
                "`transform` must be a callable `h -> transformation` (a make_tx)."
            )
        h = read_checked(hyperparams)
        transform = transform(h)
        check_read(h, "corrected_field")

    def build(game):
        v = negated_field(game, transform, "corrected_field")
        return lambda w: v(check_point(game, w, "corrected_field"))

    return point_function(game, build)


def negated_field(
    game: Game, transform=None, where: str = "corrected_field"
) -> Callable[[Joint], Joint]:
    """``w -> -T(xi(w))`` (``-xi(w)`` without ``transform``) of a checked game, evaluated
    without the point checks: what ``corrected_field`` returns once its entry point has
    checked ``w``, for the analyses (Jacobians, spectra, flows) that check their point
    themselves. The transform's chain is resolved (``resolved_update``) each time it is traced."""
    field = game_field(game)
    if transform is None:
        return lambda w: jax.tree.map(jnp.negative, field(w))
    tx = accept_transformation(transform, where, "transform")
    update = resolved_update(tx, game, Place.FIELD)

    def v(w):
        updates, _ = update(field(w), tx.init(w), w)
        return jax.tree.map(jnp.negative, updates)

    return v
