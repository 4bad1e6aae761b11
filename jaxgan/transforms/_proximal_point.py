"""The proximal point method for games (Rockafellar 1976; Mokhtari, Ozdaglar & Pattathil 2020):
the implicit step ``w+ = w - eta xi(w+)``, solved by Newton's method (optimistix)."""

from __future__ import annotations

from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp
import optax

from .._analysis.solve import default_tol, implicit_root, newton_root_finder
from .._core.algebra import Info, Role, field_of, transformation
from .._core.field import game_field
from .._core.players import require_point
from .._validation.checks import checked_game_update
from .._validation.domains import Choice, Flag, Integer, Maybe, Real, domains

__all__ = ["ProximalPointState", "proximal_point"]


class ProximalPointState(NamedTuple):
    """State of ``proximal_point``: the last solve's Newton steps and the failures so far.

    The fields are the Newton steps of the last solve and the number of solves that missed
    their tolerance so far.

    Examples:
      >>> import jaxgan as jg
      >>> jg.transforms.ProximalPointState._fields
      ('steps', 'failures')
    """

    steps: jax.Array
    failures: jax.Array


@domains(
    learning_rate=Real(0, low_open=True),
    tol=Maybe(Real(0, low_open=True)),
    maxiter=Integer(1),
    linear_solver=Choice("dense", "gmres"),
    strict=Flag(),
)
def proximal_point(
    learning_rate: jax.typing.ArrayLike,
    *,
    tol: Optional[jax.typing.ArrayLike] = None,
    maxiter: int = 50,
    linear_solver: str = "dense",
    strict: bool = False,
) -> optax.GradientTransformationExtraArgs:
    """The proximal point step: an implicit update, solved by Newton's method.

    The step is the implicit update

    .. math:: w^+ = w - \\eta\\, \\xi(w^+),

    the point where ``z - w + eta xi(z) = 0``, found by Newton's method from the explicit step
    ``w - eta xi(w)`` (``optimistix.Newton``; its linear solves dense, or matrix-free GMRES on
    JVPs of the field with ``linear_solver="gmres"``). Its derivatives are implicit
    (``jax.lax.custom_root``, a dense solve per derivative): at an equilibrium the step's
    Jacobian is exactly ``(I + eta J)^{-1}`` with ``J = d xi / dw``, the operator
    extragradient and optimistic GD approximate (Mokhtari et al. 2020); they are NaN where the
    solve missed ``tol`` or ``I + eta J`` is singular at its solution (no derivative exists).
    On ``f = x y`` its radius is ``1 / sqrt(1 + eta^2)`` for every ``eta``. ``xi`` is the field
    as the corrections before ``proximal_point`` in the chain define it. A solve that misses
    ``tol`` is counted in ``state.failures`` (and gives NaN with ``strict=True``). The
    learning rate is part of the update: it comes last in a chain. Cost per step: Newton's
    steps, each a Jacobian of the field (dense) or a GMRES solve on its JVPs. Any number of
    players.

    Args:
      learning_rate: ``eta`` (traceable).
      tol: Newton's relative and absolute tolerance on the iterate; default ``1e-2 sqrt(eps)``.
      maxiter: Newton's steps at most (static: under ``optax.inject_hyperparams``, pass
        ``static_args=("maxiter",)``).
      linear_solver: ``"dense"`` (a dense Jacobian per Newton step: small games) or ``"gmres"``.
      strict: NaN for an unconverged solve instead of its last iterate.

    Returns:
      An ``optax.GradientTransformationExtraArgs``; ``update`` needs ``params`` and ``game=``.

    Examples:
      >>> import jaxgan as jg
      >>> game = jg.games.bilinear(1.0)
      >>> # 1 / sqrt(2)
      >>> round(float(jg.spectral_radius(game, jg.transforms.proximal_point(1.0),
      ... game.equilibrium)), 6)
      0.707107

    References:
      Rockafellar, "Monotone operators and the proximal point algorithm", SIAM J. Control
      Optim. 1976. Mokhtari, Ozdaglar & Pattathil, "A unified analysis of extra-gradient and
      optimistic gradient methods for saddle point problems: proximal point approach",
      AISTATS 2020.
    """

    def init_fn(params):
        require_point(params, "proximal_point.init")
        return ProximalPointState(jnp.asarray(0, jnp.int32), jnp.asarray(0, jnp.int32))

    def update_fn(updates, state, params=None, *, game=None, **extra_args):
        game = checked_game_update(updates, params, game, "proximal_point")
        field = field_of(extra_args, game_field(game))
        eta = jnp.asarray(learning_rate)
        w = jax.tree.map(jnp.asarray, params)

        def residual(z, w_):
            return jax.tree.map(lambda a, b, g: a - b + eta * g, z, w_, field(z))

        start = jax.tree.map(lambda a, g: a - eta * g, w, updates)
        t = default_tol(w) if tol is None else tol
        solver = newton_root_finder(t, linear_solver)
        z, ok, steps = implicit_root(lambda z_: residual(z_, w), start, solver, maxiter=maxiter)
        if strict:
            z = jax.tree.map(lambda v: jnp.where(ok, v, jnp.nan).astype(v.dtype), z)
        step = jax.tree.map(lambda a, b: (a - b).astype(jnp.result_type(b)), z, w)
        return step, ProximalPointState(steps, state.failures + (~ok).astype(jnp.int32))

    return transformation(Info(Role.STEP, "proximal_point", moves_once=True), init_fn, update_fn)
