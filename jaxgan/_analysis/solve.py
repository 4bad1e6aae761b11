"""Matrix-free symmetric linear solves on pytrees: conjugate gradient with a warm start.

The transforms that need ``H^{-1} v`` (best-response descent, Follow-the-Ridge) solve
with Hessian-vector products only. ``linear_solve`` wraps the iteration in
``jax.lax.custom_linear_solve``, so derivatives of the solution (``update_jacobian``
differentiates whole steps) are those of the exact solution, not of the iterations,
and the warm start does not enter them.

``implicit_root`` finds a root with an optimistix solver (the stationary points of
``solve_equilibrium``, the proximal point step) and differentiates it by the implicit
function theorem, NaN where no derivative exists.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from .._jaxpr.conv_layout import canonical_convolutions

PyTree = object


class SolveInfo(NamedTuple):
    """What a linear solve did.

    Attributes:
      iterations: matrix-vector products used (one per CG iteration).
      residual: ``|b - M x|`` at the end.
      converged: ``residual <= max(tol * |b|, atol)``.
    """

    iterations: jax.Array
    residual: jax.Array
    converged: jax.Array


def residual_norm(a: PyTree) -> jax.Array:
    """``optax.tree.norm`` of a residual, without a derivative: a stopping test and a
    diagnostic (the norm's derivative at a zero residual is not finite, and forward-mode
    differentiation through a solve or a retraction must not see it)."""
    return optax.tree.norm(jax.lax.stop_gradient(a))


def default_tol(tree: PyTree) -> float:
    """The default tolerance for a solve or a retraction in ``tree``'s precision:
    ``1e-2 sqrt(eps)`` (1.5e-10 in float64, 3.5e-6 in float32)."""
    leaves = jax.tree.leaves(tree)
    dtype = jnp.result_type(*leaves) if leaves else jnp.float32
    return 1e-2 * float(np.sqrt(np.finfo(dtype).eps))


def conjugate_gradient(
    matvec: Callable[[PyTree], PyTree],
    b: PyTree,
    x0: Optional[PyTree] = None,
    *,
    tol: float,
    atol: float = 0.0,
    maxiter: int,
):
    """Conjugate gradient for ``M x = b`` with ``M`` symmetric definite (either sign).

    Stops when ``|r| <= max(tol |b|, atol)`` or after ``maxiter`` products. Runs in a
    ``lax.while_loop`` (jit, vmap and forward-mode differentiation pass through).

    Returns:
      ``(x, SolveInfo)``.
    """
    matvec = canonical_convolutions(matvec)  # products run in a loop body: see _conv_layout
    if x0 is None:
        x0 = jax.tree.map(jnp.zeros_like, b)
    r0 = jax.tree.map(lambda bb, m: bb - m, b, matvec(x0))
    stop = jnp.maximum(tol * residual_norm(b), atol)
    rr0 = optax.tree.vdot(r0, r0)

    def cond(c):
        _, _, _, rr, k = c
        return (k < maxiter) & (jnp.sqrt(rr) > stop)

    def body(c):
        x, r, p, rr, k = c
        mp = matvec(p)
        pmp = optax.tree.vdot(p, mp)
        alpha = rr / jnp.where(pmp == 0, 1, pmp)
        x = optax.tree.cast_like(optax.tree.add_scale(x, alpha, p), x)
        r = optax.tree.cast_like(optax.tree.add_scale(r, -alpha, mp), r)
        rr_new = optax.tree.vdot(r, r)
        beta = rr_new / jnp.where(rr == 0, 1, rr)
        p = optax.tree.cast_like(optax.tree.add_scale(r, beta, p), r)
        return x, r, p, rr_new, k + 1

    x, _, _, rr, k = jax.lax.while_loop(cond, body, (x0, r0, r0, rr0, jnp.asarray(0, jnp.int32)))
    res = jnp.sqrt(jax.lax.stop_gradient(rr))
    return x, SolveInfo(iterations=k, residual=res, converged=res <= stop)


def linear_solve(
    matvec: Callable[[PyTree], PyTree],
    b: PyTree,
    x0: Optional[PyTree] = None,
    *,
    tol: float,
    atol: float = 0.0,
    maxiter: int,
    nan_on_failure: bool = False,
):
    """``M^{-1} b`` for symmetric ``M`` by warm-started CG inside
    ``jax.lax.custom_linear_solve``: derivatives are implicit (those of the exact
    solution), and the warm start ``x0`` carries none. With ``nan_on_failure`` a solve
    that misses its tolerance (a singular or indefinite ``M``) returns NaN, in its value
    and in every derivative, rather than an unconverged iterate.

    Returns:
      ``(x, SolveInfo)``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxgan._analysis.solve import linear_solve
      >>> m = jnp.array([[3.0, 1.0], [1.0, 2.0]])
      >>> x, info = linear_solve(lambda v: m @ v, jnp.array([1.0, 1.0]), tol=1e-6, maxiter=10)
      >>> [round(float(v), 4) for v in x], int(info.iterations)
      ([0.2, 0.4], 2)
    """
    start = None if x0 is None else jax.lax.stop_gradient(x0)

    def solve(mv, rhs):
        x, info = conjugate_gradient(mv, rhs, start, tol=tol, atol=atol, maxiter=maxiter)
        if nan_on_failure:
            x = jax.tree.map(lambda v: jnp.where(info.converged, v, jnp.nan).astype(v.dtype), x)
        return x, info

    return jax.lax.custom_linear_solve(matvec, b, solve, symmetric=True, has_aux=True)


@jax.custom_jvp
def _derivative_nan_unless(x: jax.Array, ok: jax.Array) -> jax.Array:
    """``x`` itself, its derivative NaN unless ``ok`` (a linear rule: the NaN reaches the
    cotangents of reverse mode too)."""
    return x


@_derivative_nan_unless.defjvp
def _derivative_nan_unless_jvp(primals, tangents):
    x, ok = primals
    tx, _ = tangents
    return x, tx * jnp.where(ok, 1.0, jnp.nan).astype(tx.dtype)


def _dense_tangent_solve(linear: Callable[[PyTree], PyTree], b: PyTree) -> PyTree:
    """``J^{-1} b`` for the linear map ``J`` (the root function's derivative at the root), by a
    dense LU solve; NaN when ``J`` is singular to working precision (``numpy.linalg.matrix_rank``'s
    test: its smallest singular value at most ``n eps`` times its largest). ``J`` is assembled
    from the map alone, never from ``b``, so the solve stays linear in ``b`` and transposes."""
    flat_b, unravel = ravel_pytree(b)
    zero = jnp.zeros(flat_b.shape, flat_b.dtype)
    matrix = jax.jacfwd(lambda v: ravel_pytree(linear(unravel(v)))[0])(zero)
    sv = jnp.linalg.svd(matrix, compute_uv=False)
    regular = sv[-1] > sv[0] * flat_b.size * jnp.finfo(matrix.dtype).eps
    x = jnp.linalg.solve(matrix, flat_b) * jnp.where(regular, 1.0, jnp.nan).astype(matrix.dtype)
    return unravel(x)


def implicit_root(fn: Callable[[PyTree], PyTree], start: PyTree, solver, *, maxiter: int):
    """A root of ``fn`` (its values of the structure and dtypes of ``start``) by the optimistix
    root finder ``solver`` from ``start``, differentiable by the implicit function theorem
    with respect to everything ``fn`` closes over: ``dz*/dp = -J(z*)^{-1} dfn/dp`` with
    ``J = dfn/dz`` (``jax.lax.custom_root``; a dense solve per derivative). Where no derivative
    exists the derivative is NaN, in forward and reverse mode, under ``jit`` and ``vmap``
    (never a plausible number, never an error from inside a compiled program): where the solve
    missed its tolerance (no root, or ``maxiter`` reached: the point is not a root), and where
    ``J`` is singular at the root (``_dense_tangent_solve``).

    Returns:
      ``(root, converged, steps)``: the last iterate, whether the solver met its tolerance,
      and its steps (int32).

    Examples:
      >>> import jax, jax.numpy as jnp, optimistix as optx
      >>> from jaxgan._analysis.solve import implicit_root
      >>> def cube_root(p):  # the root of z^3 - p
      ...     solver = optx.Newton(rtol=1e-6, atol=1e-6)
      ...     return implicit_root(lambda z: z**3 - p, jnp.asarray(1.0), solver, maxiter=50)[0]
      >>> round(float(jax.grad(cube_root)(8.0)), 6)  # 1 / (3 p^(2/3))
      0.083333
      >>> bool(jnp.isnan(jax.grad(lambda p: implicit_root(
      ...     lambda z: z**3 - p, jnp.asarray(1.0), optx.Newton(rtol=1e-6, atol=1e-6),
      ...     maxiter=1)[0])(8.0)))
      True
    """
    import optimistix as optx

    def solve(f, z0):
        sol = optx.root_find(
            lambda z, _: f(z), solver, jax.lax.stop_gradient(z0), max_steps=maxiter, throw=False
        )
        # custom_root gives its auxiliary outputs zero tangents of their own dtype, which JAX
        # accepts for floating outputs only: the status and the count travel as floats
        ok = (sol.result == optx.RESULTS.successful).astype(jnp.float32)
        return sol.value, (ok, sol.stats["num_steps"].astype(jnp.float32))

    root, (ok, steps) = jax.lax.custom_root(fn, start, solve, _dense_tangent_solve, has_aux=True)
    ok = ok > 0
    root = jax.tree.map(lambda z: _derivative_nan_unless(z, ok), root)
    return root, ok, steps.astype(jnp.int32)


def newton_root_finder(tol, linear_solver: str):
    """optimistix's Newton root finder at relative and absolute tolerance ``tol``, its linear
    solves dense (lineax picks the factorisation) or matrix-free GMRES: the solver of
    ``solve_equilibrium(method="newton")`` and of the proximal point step."""
    import lineax as lx
    import optimistix as optx

    solve = (
        lx.AutoLinearSolver(well_posed=None)
        if linear_solver == "dense"
        else lx.GMRES(rtol=tol, atol=tol)
    )
    return optx.Newton(rtol=tol, atol=tol, linear_solver=solve)
