"""Stationary points of a game's field by Newton's method (optimistix), differentiable by the
implicit function theorem."""

from __future__ import annotations

from typing import Any, NamedTuple, Optional

import jax
import jax.numpy as jnp
import optimistix as optx
from jax.flatten_util import ravel_pytree

from ._checks import checked_entry
from ._domains import Choice, Integer, Maybe, Real, domains
from ._field import game_field
from ._solve import default_tol, newton_root_finder


class Equilibrium(NamedTuple):
    """The result of ``solve_equilibrium``.

    Attributes:
      point: the stationary point found (the structure of ``w0``).
      residual: ``|xi(point)|``.
      converged: whether the solver met its tolerance (a failure is reported here, with the
        last iterate in ``point``; never a silent point).
      steps: the solver's steps.

    Examples:
      >>> import jaxgan as jg
      >>> jg.Equilibrium._fields
      ('point', 'residual', 'converged', 'steps')
    """

    point: Any
    residual: jax.Array
    converged: jax.Array
    steps: jax.Array


@domains(
    tol=Maybe(Real(0, low_open=True)),
    maxiter=Integer(1),
    method=Choice("levenberg_marquardt", "newton"),
    linear_solver=Choice("dense", "gmres"),
)
@checked_entry(
    "solve_equilibrium",
    static=("maxiter", "method", "linear_solver"),
    returns=lambda out, join, given: out._replace(point=join(out.point)),
)
def solve_equilibrium(
    game,
    w0,
    *,
    tol: Optional[float] = None,
    maxiter: int = 100,
    method: str = "levenberg_marquardt",
    linear_solver: str = "dense",
) -> Equilibrium:
    """A stationary point of the game's field, ``xi(w*) = 0``, from ``w0``.

    ``method="levenberg_marquardt"`` (default) is damped Newton on ``|xi|^2 / 2`` with a trust
    region, so a poor start does not fly off; ``"newton"`` is Newton's method on ``xi``
    (``optimistix``; its linear solves dense, or matrix-free GMRES on JVPs of the field with
    ``linear_solver="gmres"``, Newton only). The point is differentiable by the implicit
    function theorem (``optimistix.ImplicitAdjoint``): with respect to anything the game's
    losses close over, ``d w* / dp = -J(w*)^{-1} d xi / dp``, e.g.
    ``jax.grad(lambda p: jg.solve_equilibrium(make_game(p), w0).point.phi)(p)``; it works
    under ``jit`` and ``vmap``. A stationary point is not always an equilibrium a player
    would stay at: ``jg.spectrum`` and ``jg.stationary_point_certificate`` say which it is.
    Two-player and n-player games.

    Args:
      game: a game.
      w0: the start (a point of the game).
      tol: relative and absolute tolerance on the iterate; default ``1e-2 sqrt(eps)``.
      maxiter: the solver's steps at most (static).
      method: ``"levenberg_marquardt"`` or ``"newton"``.
      linear_solver: ``"dense"`` or ``"gmres"`` (with ``"newton"``).

    Returns:
      An ``Equilibrium``.

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> game = jg.zero_sum(lambda x, y: (x - 1.0) ** 2 / 2 + x * y - (y + 2.0) ** 2 / 2)
      >>> out = jg.solve_equilibrium(game, jg.Joint(jnp.asarray(0.0), jnp.asarray(0.0)))
      >>> round(float(out.point.phi), 6), round(float(out.point.theta), 6), bool(out.converged)
      (1.5, -0.5, True)

    References:
      Kidger et al., optimistix (root finding with implicit adjoints). Mescheder, Nowozin &
      Geiger, "The numerics of GANs", 2017 (stationary points of the field).
    """
    field = game_field(game)
    t = default_tol(w0) if tol is None else tol
    if method == "newton":
        solver = newton_root_finder(t, linear_solver)
    else:
        solver = optx.LevenbergMarquardt(rtol=t, atol=t)
    start = jax.tree.map(jnp.asarray, w0)
    sol = optx.root_find(lambda w, _: field(w), solver, start, max_steps=maxiter, throw=False)
    point = sol.value
    residual = jnp.linalg.norm(jax.lax.stop_gradient(ravel_pytree(field(point))[0]))
    converged = sol.result == optx.RESULTS.successful
    return Equilibrium(point, residual, converged, sol.stats["num_steps"].astype(jnp.int32))
