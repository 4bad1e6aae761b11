"""Stationary points of a game's field by Newton's method (optimistix), differentiable by the
implicit function theorem."""

from __future__ import annotations

from typing import Any, NamedTuple, Optional

import jax
import jax.numpy as jnp
import optimistix as optx
from jax.flatten_util import ravel_pytree

from .._core.field import game_field
from .._validation.checks import Program, entry
from .._validation.domains import Choice, Integer, Maybe, Real
from .solve import default_tol, implicit_root, newton_root_finder


class Equilibrium(NamedTuple):
    """The result of ``solve_equilibrium``.

    Attributes:
      point: the stationary point found (the structure of ``w0``).
      residual: ``|xi(point)|``.
      converged: whether the solver met its tolerance (a failure is reported here, with the
        last iterate in ``point``; never a silent point). Where it is ``False`` every
        derivative of ``point`` is NaN.
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


@entry(
    "w0",
    program=Program(static=("maxiter", "method", "linear_solver")),
    returns=lambda out, join, given: out._replace(point=join(out.point)),
    tol=Maybe(Real(0, low_open=True)),
    maxiter=Integer(1),
    method=Choice("levenberg_marquardt", "newton"),
    linear_solver=Choice("dense", "gmres"),
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
    function theorem (``jax.lax.custom_root``, a dense solve with ``J`` per derivative): with
    respect to anything the game's losses close over, ``d w* / dp = -J(w*)^{-1} d xi / dp``,
    e.g. ``jax.grad(lambda p: jg.solve_equilibrium(make_game(p), w0).point.phi)(p)``; it works
    under ``jit`` and ``vmap``. Where that derivative does not exist it is NaN (forward and
    reverse mode, per element under ``vmap``; never an error from inside the compiled
    program): when the solve did not converge (``converged`` is ``False``: no stationary
    point, or ``maxiter`` reached), and when ``J(w*)`` is singular to working precision
    (``converged`` is ``True``; its smallest singular value is at most ``n eps`` times its
    largest: ``jg.eigenvalues(game, out.point)`` shows the zero eigenvalue). A stationary
    point is not always an equilibrium a player would stay at: ``jg.spectrum`` and
    ``jg.stationary_point_certificate`` say which it is. Two-player and n-player games.

    The solve runs in the promoted dtype of ``w0`` and of the field's values (a game may
    close over wider arrays than its point; with ``"levenberg_marquardt"``, at least JAX's
    default float, the dtype of optimistix's damping: float64 under ``jax_enable_x64``);
    ``point`` comes back in ``w0``'s dtype and the default ``tol`` is ``w0``'s.

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
    start = jax.tree.map(jnp.asarray, w0)
    t = default_tol(start) if tol is None else tol
    if method == "newton":
        solver = newton_root_finder(t, linear_solver)
    else:
        solver = optx.LevenbergMarquardt(rtol=t, atol=t)
    dtype = _solve_dtype(field, start, method)

    def field_in(w):
        return jax.tree.map(lambda g: g.astype(dtype), field(w))

    work = jax.tree.map(lambda x: x.astype(dtype), start)
    root, converged, steps = implicit_root(field_in, work, solver, maxiter=maxiter)
    point = jax.tree.map(lambda z, x: z.astype(x.dtype), root, start)
    residual = jnp.linalg.norm(jax.lax.stop_gradient(ravel_pytree(field(point))[0]))
    return Equilibrium(point, residual, converged, steps)


def _solve_dtype(field, start, method: str):
    """The dtype the solve runs in: the promotion of the start's and the field's (a game may
    close over wider arrays than its point), and with Levenberg-Marquardt at least JAX's
    default float, the dtype optimistix keeps its damping parameter in (a float32 solve under
    ``jax_enable_x64`` would otherwise mix float32 and float64 in one linear solve)."""
    values = jax.eval_shape(field, start)
    dtypes = [x.dtype for x in jax.tree.leaves(start) + jax.tree.leaves(values)]
    if method == "levenberg_marquardt":
        dtypes.append(jnp.result_type(float))
    return jnp.result_type(*dtypes)
