"""Best-response-manifold descent (Bonnabel 2013; Fiez et al. 2020): the generator steps on
the manifold of the discriminator's best responses."""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import optax

from .._analysis.manifold import (
    RetractionMethod,
    _check_method,
    retract,
    ridge_lift,
    tangent_projection,
    total_derivative,
)
from .._analysis.solve import default_tol
from .._core.algebra import Info, Place, Role, inner_extra, probe_inner, transformation
from .._core.game import INSTEAD_OF_A_MODIFIED_GAME, Joint, require_field_from_losses
from .._validation.checks import accept_transformation, checked_game_update, require_joint
from .._validation.domains import Choice, Flag, Integer, Maybe, Real, domains

__all__ = ["BestResponseState", "BestResponseStats", "best_response"]

STEPS = ("riemannian", "total", "partial")


class BestResponseStats(NamedTuple):
    """Diagnostics of best-response descent, kept in its state.

    Attributes:
      retraction_steps: retraction iterations of the last step (before and after it).
      retraction_residual: ``|grad_theta loss_d|`` after the last retraction.
      solver_iterations: CG iterations of the last step's projection or solves.
      matvecs: Hessian-vector products so far (a ``K K^T`` product counts two).
      failures: steps so far whose retraction or solve missed its tolerance within its cap.

    Examples:
      >>> import jax.numpy as jnp, optax, jaxgan as jg
      >>> game = jg.games.quadratic(1.0, 2.0, 4.0)
      >>> run = jg.rollout(game, jg.transforms.best_response(optax.sgd(0.1)),
      ... jg.Joint(jnp.asarray(1.0),
      ... jnp.asarray(0.0)), 5)
      >>> stats = run.state.stats
      >>> int(stats.failures), int(stats.matvecs), bool(stats.retraction_residual < 1e-6)
      (0, 11, True)
    """

    retraction_steps: jax.Array
    retraction_residual: jax.Array
    solver_iterations: jax.Array
    matvecs: jax.Array
    failures: jax.Array


class BestResponseState(NamedTuple):
    """State of ``best_response``: the inner optimiser's state, warm starts and diagnostics.

    The warm starts are those of the linear solves (shaped like ``theta``).

    Examples:
      >>> import jaxgan as jg
      >>> jg.transforms.BestResponseState._fields
      ('inner', 'multiplier', 'lift', 'stats')
    """

    inner: optax.OptState
    multiplier: optax.Params
    lift: optax.Params
    stats: BestResponseStats


@domains(
    step=Choice(*STEPS),
    projection=Choice("cg", "dense"),
    tol=Maybe(Real(0, low_open=True)),
    max_retraction_steps=Integer(1),
    solver_tol=Maybe(Real(0, low_open=True)),
    solver_maxiter=Maybe(Integer(1)),
    damping=Real(0),
    warm_start=Flag(),
    strict=Flag(),
)
def best_response(
    inner: optax.GradientTransformation,
    *,
    step: str = "riemannian",
    retraction: RetractionMethod = "newton",
    projection: str = "cg",
    generator_projection: Optional[Callable] = None,
    tol: Optional[jax.typing.ArrayLike] = None,
    max_retraction_steps: int = 100,
    solver_tol: Optional[jax.typing.ArrayLike] = None,
    solver_maxiter: Optional[int] = None,
    damping: jax.typing.ArrayLike = 0.0,
    warm_start: bool = True,
    strict: bool = True,
) -> optax.GradientTransformationExtraArgs:
    """Best-response-manifold descent: minimise the generator's loss on the best responses.

    The loss is minimised over ``M = {grad_theta loss_d = 0}`` (Ehab 2023, sections 4-7).

    .. math::

        \\min_\\phi L_G(\\phi, \\theta) \\ \\text{ over } \\ \\mathcal{M} = \\{(\\phi, \\theta) :
        \\nabla_\\theta L_D = 0\\}

    One round, from ``w``: retract ``w`` onto ``M``; take a generator step ``delta =
    inner(d)``; retract ``w + delta`` onto ``M``. The update returned is the whole
    displacement. ``step`` chooses ``d`` (``K = [H_tp, H_tt]`` is the Jacobian of
    ``grad_theta loss_d``, see ``jaxgan.manifold.tangent_projection``):

    * ``"riemannian"``: ``d = P grad_w L_G``, the tangent projection of the joint gradient
      of ``L_G`` (Bonnabel's Riemannian SGD in the embedded metric). On ``f = a x^2/2 +
      b x y - c y^2/2`` its local rate is ``1 - eta (a + b^2/c) / (1 + b^2/c^2)``.
    * ``"total"``: ``d_phi = grad_phi L_G - H_tp^T H_tt^{-1} grad_theta L_G``, the
      derivative of ``L_G(phi, theta*(phi))`` (Stackelberg, implicit function), and the
      discriminator moves along the ridge, ``d_theta = -H_tt^{-1} H_tp delta_phi``, before
      retracting. Local rate ``1 - eta (a + b^2/c)``.
    * ``"partial"``: ``d_phi = grad_phi L_G`` at the best response (GLGD;
      equal to ``"total"`` in zero-sum games, where ``grad_theta L_G = 0`` on ``M``).

    ``generator_projection`` (for ``"total"``/``"partial"``) maps ``d_phi`` before the
    step, e.g. the ``P_o`` that keeps ``E[R] = 1`` in ``games.likelihood_ratio``.

    The retraction is ``"newton"`` (CG on Hessian-vector products), an optax
    transformation (discriminator gradient steps until ``|grad_theta loss_d| <= tol``),
    or a closed form ``phi -> theta*``; the final one has implicit derivatives, so
    ``update_jacobian`` gives the exact local rates. A retraction or solve that misses its
    tolerance within its cap is counted in ``state.stats.failures``; with ``strict`` the
    step's update is NaN, so ``rollout``/``sweep`` flag the run non-finite at that step
    instead of using an off-manifold discriminator, and a singular ``H_tt`` (no
    nondegenerate best response) makes ``update_jacobian`` NaN rather than wrong.

    Cost per round (CG iterations ``k``): ``"riemannian"``: ``2 k`` Hessian-vector
    products plus the retractions (one Newton solve each once on ``M``); ``"total"``: two
    ``H_tt`` solves. Warm starts (``warm_start``) reuse the last solutions.

    Args:
      inner: optax transformation applying the generator's step on the joint direction
        (learning rate included, e.g. ``optax.sgd(eta)``).
      step: ``"riemannian"``, ``"total"`` or ``"partial"``.
      retraction: ``"newton"``, an optax transformation, or a callable ``phi -> theta*``.
      projection: ``"cg"`` (matrix-free least squares) or ``"dense"`` (exact, small games).
      generator_projection: optional map of the generator's direction.
      tol: retraction tolerance on ``|grad_theta loss_d|``; default ``1e-2 sqrt(eps)``.
      max_retraction_steps: retraction cap.
      solver_tol: CG's relative tolerance; default ``1e-2 sqrt(eps)``.
      solver_maxiter: CG's cap; default ``min(2 m + 10, 1000)``.
      damping: ``delta`` added to ``H_tt`` in the solves.
      warm_start: warm-start CG from the previous step's solution.
      strict: NaN updates on a failed retraction or solve.

    Returns:
      An ``optax.GradientTransformationExtraArgs`` returning the displacement; ``update``
      needs ``params`` and ``game=``. State: ``BestResponseState``.

    Examples:
      >>> import optax, jaxgan as jg
      >>> game = jg.games.quadratic(1.0, 2.0, 4.0)  # a + b^2/c = 2, b^2/c^2 = 1/4
      >>> tx = jg.transforms.best_response(optax.sgd(0.1), step="total")
      >>> round(float(jg.spectral_radius(game, tx, game.equilibrium)), 6)  # 1 - 0.1 * 2
      0.8
      >>> round(float(jg.spectral_radius(game, jg.transforms.best_response(optax.sgd(0.1)),
      ... game.equilibrium)),
      ... 6)
      0.84

    References:
      Ehab, "Towards theoretically-grounded GAN training", 2023.
      Bonnabel, "Stochastic gradient descent on Riemannian manifolds", IEEE TAC 2013.
      Fiez, Chasnov & Ratliff, "Implicit learning dynamics in Stackelberg games", 2020.
    """
    inner = accept_transformation(inner, "best_response")
    retraction = _check_method(retraction, "best_response")
    if generator_projection is not None:
        if not callable(generator_projection):
            raise TypeError(
                "best_response: `generator_projection` must be a callable "
                "on the generator's direction."
            )
        if step == "riemannian":
            raise ValueError(
                "best_response: `generator_projection` applies to step='total' or 'partial'; "
                "the Riemannian step is already a projection."
            )
    direction_of = _DIRECTIONS[step]

    def init_fn(params):
        require_joint(params, "best_response.init")
        zeros = jax.tree.map(jnp.zeros_like, params.theta)
        residual_dtype = jnp.result_type(*jax.tree.leaves(params))
        int0 = jnp.asarray(0, jnp.int32)
        stats = BestResponseStats(int0, jnp.asarray(0, residual_dtype), int0, int0, int0)
        return BestResponseState(inner.init(params), zeros, zeros, stats)

    def update_fn(updates, state, params=None, *, game=None, **extra_args):
        game = checked_game_update(
            updates, params, game, "best_response", joint=("params",), two_player=True
        )
        require_field_from_losses(game, "best_response", INSTEAD_OF_A_MODIFIED_GAME)
        del updates  # the direction is computed at the retracted point
        params = jax.tree.map(jnp.asarray, params)
        r_tol = default_tol(params) if tol is None else tol
        solve = _Solve(
            damping=damping,
            tol=default_tol(params) if solver_tol is None else solver_tol,
            maxiter=solver_maxiter,
            strict=strict,
            warm_start=warm_start,
            projection=projection,
        )
        kw = dict(
            method=retraction,
            tol=r_tol,
            max_steps=max_retraction_steps,
            damping=damping,
            solver_maxiter=solver_maxiter,
            strict=strict,
        )

        def step_inner(direction, w):
            return inner.update(direction, state.inner, w, game=game, **inner_extra(extra_args))

        before = retract.unchecked(game, params, **kw)
        move = direction_of(game, before.w, state, step_inner, solve, generator_projection)
        after = retract.unchecked(
            game, optax.apply_updates(before.w, move.delta), implicit=True, **kw
        )
        failed = ~(before.converged & after.converged & move.converged)
        displacement = jax.tree.map(lambda new, old: (new - old).astype(old.dtype), after.w, params)
        if strict:
            displacement = jax.tree.map(
                lambda x: jnp.where(failed, jnp.nan, x).astype(x.dtype), displacement
            )
        s = state.stats
        stats = BestResponseStats(
            retraction_steps=before.steps + after.steps,
            retraction_residual=after.residual.astype(s.retraction_residual.dtype),
            solver_iterations=move.iterations,
            matvecs=s.matvecs + move.matvecs + before.matvecs + after.matvecs,
            failures=s.failures + failed.astype(jnp.int32),
        )
        return displacement, BestResponseState(move.inner_state, move.multiplier, move.lift, stats)

    def probe_inners(updates, state, params, extra, record):
        require_joint(params, "best_response")
        probe_inner(
            record,
            inner,
            updates,
            state.inner,
            params,
            extra,
            Place.DIRECTION_ONLY,
            "best_response",
        )

    info = Info(
        Role.STEP,
        "best_response",
        uses_field=False,
        why="it computes its direction from the game's losses on the best-response manifold; "
        "regularise the game instead (jg.regularizers), "
        "e.g. `jg.transforms.best_response(optax.sgd(lr))` on `jg.regularizers.r1(game, gamma)`.",
        form="`jg.transforms.best_response(optax.chain(optax.sgd(lr), {after_call}(...)))`",
    )
    return transformation(info, init_fn, update_fn, probe_inner=probe_inners)


class _Solve(NamedTuple):
    """The inner solves' options of one ``best_response`` round."""

    damping: jax.typing.ArrayLike
    tol: jax.typing.ArrayLike
    maxiter: Optional[int]
    strict: bool
    warm_start: bool
    projection: str

    def warm(self, x):
        return x if self.warm_start else None

    def kwargs(self):
        return dict(damping=self.damping, tol=self.tol, maxiter=self.maxiter, strict=self.strict)


class _Move(NamedTuple):
    """A round's step on the manifold, before the retraction: the displacement ``delta``, the
    inner optimiser's state, the warm starts it leaves, and its solves' counts."""

    delta: Joint
    inner_state: optax.OptState
    multiplier: optax.Params
    lift: optax.Params
    iterations: jax.Array
    converged: jax.Array
    matvecs: jax.Array


def _riemannian(game, w, state, step_inner, solve: _Solve, generator_projection) -> _Move:
    """``d = P grad_w L_G``: the tangent projection of the joint gradient of the generator's
    loss (Bonnabel's Riemannian step in the embedded metric); one least-squares solve."""
    grad_w = jax.grad(lambda w_: game.loss_g(w_.phi, w_.theta))(w)
    if solve.projection == "dense":
        proj = tangent_projection.unchecked(game, w, grad_w, method="dense")
    else:
        proj = tangent_projection.unchecked(
            game,
            w,
            grad_w,
            warm=solve.warm(state.multiplier),
            tol=solve.tol,
            maxiter=solve.maxiter,
            strict=solve.strict,
        )
    delta, inner_state = step_inner(proj.vector, w)
    zeros = jax.tree.map(jnp.zeros_like, w.theta)  # no lift: its warm start stays reset
    iterations = proj.info.iterations
    return _Move(
        delta, inner_state, proj.multiplier, zeros, iterations, proj.info.converged, 2 * iterations
    )


def _total(game, w, state, step_inner, solve: _Solve, generator_projection) -> _Move:
    """``d_phi = grad_phi L_G - H_tp^T H_tt^-1 grad_theta L_G`` (the total derivative along the
    best response), then the discriminator moves along the ridge, ``d_theta = -H_tt^-1 H_tp
    delta_phi``; two ``H_tt`` solves."""
    d_phi, multiplier, info = total_derivative.unchecked(
        game, w, warm=solve.warm(state.multiplier), **solve.kwargs()
    )
    if generator_projection is not None:
        d_phi = generator_projection(d_phi)
    delta, inner_state = step_inner(Joint(d_phi, jax.tree.map(jnp.zeros_like, w.theta)), w)
    d_theta, lift, lifted = ridge_lift.unchecked(
        game, w, delta.phi, warm=solve.warm(state.lift), **solve.kwargs()
    )
    iterations = info.iterations + lifted.iterations
    return _Move(
        Joint(delta.phi, d_theta),
        inner_state,
        multiplier,
        lift,
        iterations,
        info.converged & lifted.converged,
        iterations,
    )


def _partial(game, w, state, step_inner, solve: _Solve, generator_projection) -> _Move:
    """``d_phi = grad_phi L_G`` at the best response (GLGD); the discriminator stays, and the
    retraction after the step restores its best response. No solve."""
    zeros = jax.tree.map(jnp.zeros_like, w.theta)
    d_phi = jax.grad(game.loss_g)(w.phi, w.theta)
    if generator_projection is not None:
        d_phi = generator_projection(d_phi)
    delta, inner_state = step_inner(Joint(d_phi, zeros), w)
    none = jnp.asarray(0, jnp.int32)
    return _Move(Joint(delta.phi, zeros), inner_state, zeros, zeros, none, jnp.asarray(True), none)


#: ``best_response``'s step modes
_DIRECTIONS = {"riemannian": _riemannian, "total": _total, "partial": _partial}
