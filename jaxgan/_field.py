"""The field of a game: the simultaneous gradient ``xi``, the vector field ``v = -xi``, and
the field of a correction ``v_T = -T(xi)``.

Below the step (``_step``) and everything that analyses a game: Jacobians and spectra
differentiate these functions, runs step along them.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable, Dict

import jax
import jax.numpy as jnp
import numpy as np

from ._chain_order import check_chain_order
from ._checks import _call_loss, _check_same_structure, _check_scalar_loss, check_game, check_joint
from ._composition import FIELD_CONTEXT, FieldContext, context
from ._game import Game, Joint
from ._scaffold import accept_transformation

# --------------------------------------------------------------------------- differentiability

# games already checked, with the parameter signatures they were checked at: a validation
# cache (weak in the game), never read for results
_DIFFERENTIABLE: "weakref.WeakKeyDictionary[Game, set]" = weakref.WeakKeyDictionary()


def _own_gradients(game: Game):
    """``w -> (grad_phi loss_g, grad_theta loss_d)`` by autodiff, each loss checked to be a scalar."""

    def grads(w: Joint):
        def lg(phi):
            val = _call_loss(game.loss_g, "loss_g", phi, w.theta)
            _check_scalar_loss(val, "loss_g")
            return val

        def ld(theta):
            val = _call_loss(game.loss_d, "loss_d", w.phi, theta)
            _check_scalar_loss(val, "loss_d")
            return val

        return jax.grad(lg)(w.phi), jax.grad(ld)(w.theta)

    return grads


def check_differentiable(game: Game, w: Joint) -> None:
    """Raise unless each player's loss depends differentiably on the player's own parameters.

    A loss that ignores its player, or reaches it only through operations without a
    derivative (``stop_gradient``, rounding, comparisons, integer casts), has a gradient
    that is *identically* zero: that player never moves, whatever the algorithm. The test
    is structural, on the jaxpr of the two gradients (shapes only): a player fails when
    none of its gradient leaves depends on the parameters and all of them are zero. A
    single flat leaf (a critic bias that cancels out) is a legitimate zero direction and
    passes. Checked once per game and parameter shapes; traced values are fine.
    """
    signature = (jax.tree.structure(w), tuple((jnp.shape(x), jnp.result_type(x)) for x in jax.tree.leaves(w)))
    seen = _DIFFERENTIABLE.setdefault(game, set())
    if signature in seen:
        return
    grads = _own_gradients(game)
    closed = jax.make_jaxpr(grads)(w)
    jaxpr = closed.jaxpr
    varying = set(jaxpr.invars)
    for eqn in jaxpr.eqns:
        if any(_is_var(v) and v in varying for v in eqn.invars):
            varying.update(eqn.outvars)
    constant = [not (_is_var(v) and v in varying) for v in jaxpr.outvars]
    n_phi = len(jax.tree.leaves(w.phi))
    for player, loss, flags in (("phi", "loss_g", constant[:n_phi]), ("theta", "loss_d", constant[n_phi:])):
        if flags and all(flags) and _constant_gradient_is_zero(grads, w, player):
            raise ValueError(
                f"`{loss}` does not depend differentiably on `{player}`: its gradient with respect to `{player}` is "
                f"identically zero (the loss ignores `{player}`, or reaches it only through stop_gradient, rounding, "
                f"comparisons or integer casts), so that player never moves. Check that `{loss}` uses `{player}`."
            )
    seen.add(signature)


def _is_var(v) -> bool:
    return not hasattr(v, "val")  # a jaxpr Literal carries its value


def _constant_gradient_is_zero(grads, w, player: str) -> bool:
    """Evaluate a parameter-independent gradient (at zeros: it is the same everywhere);
    ``False`` when it closes over traced values and cannot be evaluated now."""
    zeros = jax.tree.map(lambda x: np.zeros(jnp.shape(x), jnp.result_type(x)), w)
    with jax.ensure_compile_time_eval():
        g = grads(zeros)[0 if player == "phi" else 1]
    leaves = jax.tree.leaves(g)
    if any(isinstance(x, jax.core.Tracer) for x in leaves):
        return False
    return all(not np.any(np.asarray(x)) for x in leaves)


# --------------------------------------------------------------------------- fields


def simultaneous_gradient(game: Game) -> Callable[[Joint], Joint]:
    """The simultaneous gradient ``xi(w) = Joint(grad_phi loss_g, grad_theta loss_d)``.

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
    own_gradients = _own_gradients(game)

    def xi(w: Joint) -> Joint:
        w = check_joint(w, "simultaneous_gradient")
        if game.grad_fn is not None:
            out = game.grad_fn(w)
            if not isinstance(out, Joint):
                raise TypeError(f"`grad_fn` must return a jaxgan.Joint, got {type(out).__name__}.")
            _check_same_structure(w, out, "simultaneous_gradient", "grad_fn(w)")
            return out
        check_differentiable(game, w)
        return Joint(*own_gradients(w))

    return xi


def vector_field(game: Game) -> Callable[[Joint], Joint]:
    """The vector field ``v(w) = -xi(w)`` of the continuous dynamics ``dw/dt = v(w)``.

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


def field_of(extra_args: Dict[str, Any], game) -> Callable:
    """The field a wrapper evaluates at new points: the context's, else the game's plain ``xi``."""
    ctx = context(extra_args)
    return ctx.field if ctx is not None else simultaneous_gradient(game)


# --------------------------------------------------------------------------- corrected fields


def checked_update(tx, game: Game):
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
    tx = accept_transformation(transform, "corrected_field", "transform")

    update = checked_update(tx, game)

    def v(w):
        updates, _ = update(field(w), tx.init(w), w)
        return jax.tree.map(jnp.negative, updates)

    return v
