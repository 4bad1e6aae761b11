"""The best-response manifold ``M = {(phi, theta): grad_theta loss_d(phi, theta) = 0}``.

Ehab (2023, sections 4-7) turns ``min_phi max_theta`` into minimisation of the
generator's loss over ``M``, the set of points where the discriminator is at a local
best response; Bonnabel (2013) gives the Riemannian gradient step: project the gradient
on the tangent space, step, retract onto ``M``. Writing ``xi_theta(w) =
grad_theta loss_d`` and its Jacobian ``K = d xi_theta / dw = [H_tp, H_tt]`` (``H_tp =
d xi_theta / d phi``, ``H_tt = d xi_theta / d theta``, the discriminator's Hessian):

* tangent space ``T_w M = null(K) = {(u, v): H_tp u + H_tt v = 0}``;
* tangent projection ``P g = g - K^T x`` with ``x`` the least-squares solution of
  ``min_x |K^T x - g|^2``, i.e. ``K K^T x = K g`` (CG on products ``K K^T x``: one JVP and
  one VJP of ``xi_theta``, warm-started from the previous step's ``x``);
* implicit best response ``d theta*/d phi = -H_tt^{-1} H_tp`` (implicit function
  theorem), so the total derivative of ``loss_g(phi, theta*(phi))`` is
  ``grad_phi loss_g - H_tp^T H_tt^{-1} grad_theta loss_g`` (the Stackelberg gradient);
* retraction: bring ``theta`` back to ``M`` by Newton steps ``theta <- theta - H_tt^{-1}
  xi_theta``, by discriminator gradient steps of any optax optimiser, or by a closed form
  ``phi -> theta*``.

Every product with ``K`` comes from one ``jax.linearize`` of ``xi_theta``; no Hessian is
formed unless ``method="dense"`` asks for it.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional, Union

import jax
import jax.numpy as jnp
import optax
from jax.flatten_util import ravel_pytree

from .._core.field import game_field
from .._core.game import INSTEAD_OF_A_MODIFIED_GAME, Game, Joint, require_field_from_losses
from .._validation.checks import Program, entry
from .._validation.domains import Choice, Flag, Integer, Maybe, Real, describe
from .solve import SolveInfo, default_tol, linear_solve, residual_norm

PyTree = object
RetractionMethod = Union[str, optax.GradientTransformation, Callable]


class Retraction(NamedTuple):
    """The result of ``retract``.

    Attributes:
      w: the retracted point.
      steps: retraction iterations used (0 for a closed form).
      residual: ``|grad_theta loss_d|`` at the end of the iterations.
      converged: ``residual <= tol``.
      matvecs: Hessian-vector products used (Newton's CG).

    Examples:
      >>> import jaxgan as jg
      >>> jg.manifold.Retraction._fields
      ('w', 'steps', 'residual', 'converged', 'matvecs')
    """

    w: Joint
    steps: jax.Array
    residual: jax.Array
    converged: jax.Array
    matvecs: jax.Array


class Projection(NamedTuple):
    """The result of ``tangent_projection``.

    Attributes:
      vector: ``P g``, the tangent component of ``g`` (a ``Joint``).
      multiplier: ``x`` with ``P g = g - K^T x`` (shaped like ``theta``); the warm start of
        the next projection.
      info: the ``SolveInfo`` of the least-squares solve (``iterations`` counts ``K K^T``
        products, each one JVP plus one VJP of ``xi_theta``).

    Examples:
      >>> import jaxgan as jg
      >>> jg.manifold.Projection._fields
      ('vector', 'multiplier', 'info')
    """

    vector: Joint
    multiplier: PyTree
    info: SolveInfo


def discriminator_gradient(game: Game) -> Callable[[Joint], PyTree]:
    """``w -> grad_theta loss_d(w)``: the equation ``= 0`` of the best-response manifold."""
    field = game_field(game)
    return lambda w: field(w).theta


def _maxiter(tree, maxiter):
    return min(2 * optax.tree.size(tree) + 10, 1000) if maxiter is None else maxiter


class _Linearized(NamedTuple):
    value: PyTree  # xi_theta(w)
    jvp: Callable  # Joint(u, v) -> H_tp u + H_tt v
    vjp: Callable  # x -> Joint(H_tp^T x, H_tt^T x)


def _linearize(game: Game, w: Joint) -> _Linearized:
    value, jvp = jax.linearize(discriminator_gradient(game), w)
    transpose = jax.linear_transpose(jvp, w)
    return _Linearized(value, jvp, lambda x: transpose(x)[0])


def _h_tt_solve(lin: _Linearized, w: Joint, b, warm, damping, tol, maxiter, strict=False):
    """``(H_tt + damping I)^{-1} b`` by warm-started CG (``H_tt`` symmetric: the
    discriminator's Hessian)."""
    zeros_phi = optax.tree.zeros_like(w.phi)

    def matvec(v):
        jv = lin.jvp(Joint(zeros_phi, v))
        return optax.tree.cast_like(optax.tree.add_scale(jv, damping, v), jv)

    return linear_solve(matvec, b, warm, tol=tol, maxiter=maxiter, nan_on_failure=strict)


def _check_method(method, where, arg: str = "retraction"):
    if isinstance(method, str):
        if method != "newton":
            raise ValueError(
                f"{where}: unknown `{arg}` {method!r}; expected 'newton', an optax transformation "
                "(discriminator gradient steps) or a callable phi -> theta*."
            )
    elif not isinstance(method, optax.GradientTransformation) and not callable(method):
        raise TypeError(
            f"{where}: `{arg}` must be 'newton', "
            f"an optax.GradientTransformation or a callable phi -> theta*, got {describe(method)}."
        )
    return method


@entry(
    "w",
    program=Program(
        static=("method", "max_steps", "implicit", "solver_maxiter", "strict"),
        two_player="manifold",
    ),
    returns=lambda out, join, given: out._replace(w=join(out.w)),
    tol=Maybe(Real(0, low_open=True)),
    max_steps=Integer(1),
    damping=Real(0),
    implicit=Flag(),
    solver_maxiter=Maybe(Integer(1)),
    strict=Flag(),
)
def retract(
    game: Game,
    w: Joint,
    *,
    method: RetractionMethod = "newton",
    tol: Optional[float] = None,
    max_steps: int = 100,
    damping: float = 0.0,
    implicit: bool = False,
    solver_maxiter: Optional[int] = None,
    strict: bool = False,
) -> Retraction:
    """Bring ``theta`` back to the best-response manifold ``grad_theta loss_d(phi, .) = 0``.

    Methods: ``"newton"``, ``theta <- theta - (H_tt + damping I)^{-1} grad_theta loss_d``
    (CG on Hessian-vector products; quadratic convergence near a nondegenerate best
    response); an optax transformation, whose steps on ``grad_theta loss_d`` are iterated
    (plain discriminator training); or a callable ``phi -> theta*`` (a closed-form best
    response). Iterations stop at ``|grad_theta loss_d| <= tol`` or after ``max_steps``;
    ``converged`` says which. Runs in a ``lax.while_loop``.

    With ``implicit=True`` the iterations run without derivatives and the result gets
    the implicit one, ``d theta*/d phi = -H_tt^{-1} H_tp`` (one CG solve per JVP, none
    in the plain evaluation), and ``0`` in the incoming ``theta``: what the exact
    best-response map has. ``update_jacobian`` of best-response descent relies on it.

    Args:
      game: a ``Game``.
      w: the point; ``w.phi`` is kept.
      method: ``"newton"``, an optax transformation, or a callable.
      tol: residual tolerance; default ``1e-2 sqrt(eps)`` of the dtype.
      max_steps: iteration cap.
      damping: ``delta`` in Newton's ``H_tt + delta I``.
      implicit: implicit derivatives (see above).
      solver_maxiter: CG cap per Newton step.
      strict: NaN from a Newton or implicit solve that misses its tolerance (a singular
        ``H_tt``: no nondegenerate best response).

    Returns:
      A ``Retraction``.

    Examples:
      >>> import jaxgan as jg
      >>> game = jg.games.quadratic(1.0, 2.0, 4.0)  # best response y = x / 2
      >>> r = jg.manifold.retract(game, jg.Joint(1.0, 3.0))
      >>> float(r.w.theta), bool(r.converged), int(r.steps)
      (0.5, True, 1)
    """
    w = jax.tree.map(jnp.asarray, w)
    method = _check_method(method, "retract")
    tol = default_tol(w) if tol is None else tol
    xi_theta = discriminator_gradient(game)
    maxiter = _maxiter(w.theta, solver_maxiter)
    int0 = jnp.asarray(0, jnp.int32)

    def newton_step(w_):
        lin = _linearize(game, w_)
        s, info = _h_tt_solve(lin, w_, lin.value, None, damping, default_tol(w_), maxiter, strict)
        return Joint(w_.phi, optax.tree.sub(w_.theta, s)), info.iterations

    if callable(method) and not isinstance(method, (str, optax.GradientTransformation)):
        theta = method(w.phi)
        out = Joint(
            w.phi,
            jax.tree.map(
                lambda t, ref: jnp.asarray(t).astype(jnp.result_type(ref)), theta, w.theta
            ),
        )
        res = residual_norm(xi_theta(out))
        return Retraction(out, int0, res, res <= tol, int0)

    start = jax.lax.stop_gradient(w) if implicit else w
    if method == "newton":

        def body(c):
            w_, k, mv, _ = c
            w_, it = newton_step(w_)
            return w_, k + 1, mv + it, residual_norm(xi_theta(w_))

        carry0 = (start, int0, int0, residual_norm(xi_theta(start)))
    else:
        tx = optax.with_extra_args_support(method)

        def body(c):
            (w_, s), k, mv, _ = c
            u, s = tx.update(xi_theta(w_), s, w_.theta)
            w_ = Joint(w_.phi, optax.apply_updates(w_.theta, u))
            return (w_, s), k + 1, mv, residual_norm(xi_theta(w_))

        carry0 = ((start, tx.init(start.theta)), int0, int0, residual_norm(xi_theta(start)))

    def cond(c):
        return (c[1] < max_steps) & (c[3] > tol)

    carry, steps, matvecs, res = jax.lax.while_loop(cond, body, carry0)
    out = carry if method == "newton" else carry[0]
    converged = res <= tol
    if implicit:
        theta = _implicit_best_response(game, damping, maxiter, strict)(
            w.phi, jax.lax.stop_gradient(out.theta)
        )
        out = Joint(w.phi, theta)
    return Retraction(out, steps, res, converged, matvecs)


def _implicit_best_response(game, damping, maxiter, strict):
    """``(phi, theta*) -> theta*`` with the implicit-function derivative
    ``d theta* = -(H_tt + delta I)^{-1} H_tp d phi`` (and none through ``theta*``): the
    value costs nothing, a JVP one ``H_tt`` solve."""

    @jax.custom_jvp
    def best(phi, theta):
        return theta

    @best.defjvp
    def best_jvp(primals, tangents):
        phi, theta = primals
        phi_dot, _ = tangents
        w = Joint(phi, theta)
        lin = _linearize(game, w)
        rhs = lin.jvp(Joint(phi_dot, optax.tree.zeros_like(theta)))
        y, _ = _h_tt_solve(lin, w, rhs, None, damping, default_tol(w), maxiter, strict)
        return theta, jax.tree.map(jnp.negative, y)

    return best


@entry(
    "w",
    program=Program(static=("method", "maxiter", "strict"), two_player="manifold"),
    method=Choice("cg", "dense"),
    tol=Maybe(Real(0, low_open=True)),
    maxiter=Maybe(Integer(1)),
    strict=Flag(),
)
def tangent_projection(
    game: Game,
    w: Joint,
    g: Joint,
    *,
    method: str = "cg",
    warm: Optional[PyTree] = None,
    tol: Optional[float] = None,
    maxiter: Optional[int] = None,
    strict: bool = False,
) -> Projection:
    """Project ``g`` on the tangent space of the best-response manifold at ``w``.

    .. math:: P g = g - K^T x, \\qquad x = \\arg\\min_x |K^T x - g|^2
              \\;(K K^T x = K g), \\qquad K = [H_{\\theta\\phi}, H_{\\theta\\theta}],

    the iterative least squares of Ehab 2023, section 7: CG on ``K K^T`` (one JVP and one
    VJP of ``grad_theta loss_d`` per iteration), warm-started from ``warm`` (the previous
    step's multiplier, since the projection changes continuously along a run).
    ``method="dense"`` forms ``K`` by forward mode and solves exactly (small games).

    Args:
      game: a ``Game``.
      w: a point (on the manifold for a true tangent projection).
      g: the ``Joint`` vector to project.
      method: ``"cg"`` or ``"dense"``.
      warm: CG's starting multiplier (shaped like ``theta``).
      tol: CG's relative residual tolerance; default ``1e-2 sqrt(eps)``.
      maxiter: CG's cap; default ``min(2 m + 10, 1000)``.
      strict: NaN when CG misses its tolerance (``K`` rank-deficient).

    Returns:
      A ``Projection``.

    Examples:
      >>> import jaxgan as jg
      >>> game = jg.games.quadratic(1.0, 2.0, 2.0)  # manifold y = x: tangent (1, 1)
      >>> p = jg.manifold.tangent_projection(game, jg.Joint(1.0, 1.0), jg.Joint(2.0, 0.0))
      >>> round(float(p.vector.phi), 6), round(float(p.vector.theta), 6)
      (1.0, 1.0)
    """
    w = jax.tree.map(jnp.asarray, w)
    if not isinstance(g, Joint):
        raise TypeError(
            f"tangent_projection: `g` must be a jaxgan.Joint like `w`, got {describe(g)}."
        )
    g = jax.tree.map(jnp.asarray, g)
    if method not in ("cg", "dense"):
        raise ValueError(
            f"tangent_projection: unknown `method` {method!r}; expected 'cg' or 'dense'."
        )
    tol = default_tol(w) if tol is None else tol
    if method == "dense":
        return _dense_projection(game, w, g)
    lin = _linearize(game, w)
    x, info = linear_solve(
        lambda x_: lin.jvp(lin.vjp(x_)),
        lin.jvp(g),
        warm,
        tol=tol,
        maxiter=_maxiter(w.theta, maxiter),
        nan_on_failure=strict,
    )
    return Projection(optax.tree.cast_like(optax.tree.sub(g, lin.vjp(x)), g), x, info)


def _dense_projection(game, w, g):
    z, unravel = ravel_pytree(w)
    _, unravel_theta = ravel_pytree(w.theta)
    xi_flat = lambda z_: ravel_pytree(discriminator_gradient(game)(unravel(z_)))[0]  # noqa: E731
    k = jax.jacfwd(xi_flat)(z)
    gz = ravel_pytree(g)[0]
    x = jnp.linalg.lstsq(k @ k.T, k @ gz)[0]
    resid = jnp.linalg.norm(jax.lax.stop_gradient(k @ k.T @ x - k @ gz))
    info = SolveInfo(jnp.asarray(0, jnp.int32), resid, jnp.asarray(True))
    return Projection(unravel(gz - k.T @ x), unravel_theta(x), info)


@entry(
    "w",
    program=Program(static=("maxiter", "strict"), two_player="manifold"),
    damping=Real(0),
    tol=Maybe(Real(0, low_open=True)),
    maxiter=Maybe(Integer(1)),
    strict=Flag(),
)
def total_derivative(
    game: Game,
    w: Joint,
    *,
    warm: Optional[PyTree] = None,
    damping: float = 0.0,
    tol: Optional[float] = None,
    maxiter: Optional[int] = None,
    strict: bool = False,
):
    """The total (Stackelberg, implicit-function) derivative of the generator's loss.

    The derivative is taken along the best response:

    .. math:: \\frac{d}{d\\phi} L_G(\\phi, \\theta^*(\\phi)) = \\nabla_\\phi L_G
              - H_{\\theta\\phi}^T (H_{\\theta\\theta} + \\delta I)^{-1} \\nabla_\\theta L_G.

    In a zero-sum game ``grad_theta L_G = -grad_theta L_D = 0`` on the manifold and this
    is the partial gradient (envelope theorem); in general-sum games (WGAN-GP) it is not.

    ``strict``: NaN when the solve misses its tolerance (singular ``H_tt``).

    Returns:
      ``(d_phi, y, info)``: the derivative, the solution ``y`` of the solve (the next warm
      start) and its ``SolveInfo``.

    Examples:
      >>> import jaxgan as jg
      >>> game = jg.games.quadratic(1.0, 2.0, 4.0)   # L(x, y*(x)) = (1 + 1) x^2 / 2
      >>> d, _, _ = jg.manifold.total_derivative(game, jg.Joint(1.0, 0.5))
      >>> round(float(d), 6)
      2.0
    """
    require_field_from_losses(game, "total_derivative", INSTEAD_OF_A_MODIFIED_GAME)
    w = jax.tree.map(jnp.asarray, w)
    tol = default_tol(w) if tol is None else tol
    grads = jax.grad(lambda w_: game.loss_g(w_.phi, w_.theta))(w)
    lin = _linearize(game, w)
    y, info = _h_tt_solve(
        lin, w, grads.theta, warm, damping, tol, _maxiter(w.theta, maxiter), strict
    )
    return optax.tree.sub(grads.phi, lin.vjp(y).phi), y, info


@entry(
    "w",
    program=Program(static=("maxiter", "strict"), two_player="manifold"),
    damping=Real(0),
    tol=Maybe(Real(0, low_open=True)),
    maxiter=Maybe(Integer(1)),
    strict=Flag(),
)
def ridge_lift(
    game: Game,
    w: Joint,
    dphi: PyTree,
    *,
    warm: Optional[PyTree] = None,
    damping: float = 0.0,
    tol: Optional[float] = None,
    maxiter: Optional[int] = None,
    strict: bool = False,
):
    """The discriminator's move that keeps it on the ridge when the generator moves by ``dphi``.

    The move is ``dtheta = -(H_tt + delta I)^{-1} H_tp dphi`` (the first-order change of the
    best response; Follow-the-Ridge's correction, Wang, Zhang & Ba 2020).

    ``strict``: NaN when the solve misses its tolerance (singular ``H_tt``).

    Returns:
      ``(dtheta, y, info)`` with ``y = -dtheta`` the next warm start.

    Examples:
      >>> import jaxgan as jg
      >>> game = jg.games.quadratic(1.0, 2.0, 4.0)   # y*(x) = x / 2
      >>> dt, _, _ = jg.manifold.ridge_lift(game, jg.Joint(0.0, 0.0), 1.0)
      >>> round(float(dt), 6)
      0.5
    """
    w = jax.tree.map(jnp.asarray, w)
    tol = default_tol(w) if tol is None else tol
    lin = _linearize(game, w)
    rhs = lin.jvp(Joint(jax.tree.map(jnp.asarray, dphi), optax.tree.zeros_like(w.theta)))
    y, info = _h_tt_solve(lin, w, rhs, warm, damping, tol, _maxiter(w.theta, maxiter), strict)
    return jax.tree.map(jnp.negative, y), y, info
