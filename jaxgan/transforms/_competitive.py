"""Competitive gradient descent (Schaefer & Anandkumar 2019)."""

from __future__ import annotations

from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp
import optax

from .._analysis.solve import default_tol, linear_solve
from .._core import players as players
from .._core.algebra import Counter, Info, Role, field_of, is_corrected, transformation
from .._core.field import game_field
from .._core.game import Joint
from .._core.players import require_point
from .._validation.checks import checked_game_update, require_joint
from .._validation.domains import Flag, Integer, Maybe, Real, domains

__all__ = ["ACGDState", "CGDState", "acgd", "cgd"]


class CGDState(NamedTuple):
    """State of ``cgd``: the warm starts, the last solve's cost and the failures so far.

    The fields are the last solutions (warm starts), the last solve's matrix-vector products,
    and the number of solves that missed their tolerance so far.

    Examples:
      >>> import jaxgan as jg
      >>> jg.transforms.CGDState._fields
      ('warm', 'iterations', 'failures')
    """

    warm: Joint
    iterations: jax.Array
    failures: jax.Array


@domains(
    learning_rate=Real(0, low_open=True),
    tol=Maybe(Real(0, low_open=True)),
    maxiter=Maybe(Integer(1)),
    warm_start=Flag(),
    strict=Flag(),
)
def cgd(
    learning_rate: jax.typing.ArrayLike,
    *,
    tol: Optional[jax.typing.ArrayLike] = None,
    maxiter: Optional[int] = None,
    warm_start: bool = True,
    strict: bool = False,
) -> optax.GradientTransformationExtraArgs:
    """Competitive gradient descent: each player plays the Nash equilibrium of a local game.

    The local game is the bilinear approximation of the game, regularised by
    ``|step|^2 / (2 eta)``.

    With ``xi = (grad_phi L_g, grad_theta L_d)`` and the mixed blocks of its Jacobian,
    ``D_pt = d xi_phi / d theta`` and ``D_tp = d xi_theta / d phi``, the step solves

    .. math:: \\begin{pmatrix} I & \\eta D_{pt} \\\\ \\eta D_{tp} & I \\end{pmatrix}
              \\begin{pmatrix} \\Delta\\phi \\\\ \\Delta\\theta \\end{pmatrix}
              = -\\eta \\begin{pmatrix} \\xi_\\phi \\\\ \\xi_\\theta \\end{pmatrix},

    i.e. ``dphi = -eta (I - eta^2 D_pt D_tp)^-1 (xi_phi - eta D_pt xi_theta)`` and the same
    with the players exchanged (Schaefer & Anandkumar 2019, Eq. 4, for general-sum games).
    In a zero-sum game ``D_tp = -D_pt^T``, so ``I + eta^2 D_pt D_pt^T`` is symmetric positive
    definite and conjugate gradient solves it; otherwise CG runs on the normal equations.
    The solves are matrix-free (Jacobian-vector products from one ``jax.linearize`` of the
    field), warm-started from the previous step, and their derivatives are implicit
    (``update_jacobian`` differentiates the exact solution). On ``f = alpha x y`` the
    one-step spectral radius is ``(1 + eta^2 alpha^2)^(-1/2)`` for every ``alpha``.

    **The learning rate is part of the update**: ``cgd`` returns the step itself, so it
    comes last in a chain (no ``optax.sgd`` after it). Corrections before it define the
    field whose local game it solves. A solve that misses its tolerance is counted in
    ``state.failures`` (and gives NaN with ``strict=True``). Cost per step: two JVPs per CG
    iteration and player (four on the normal equations), plus one linearisation.

    **n players** (``Players`` of an ``n_player_game``): the step is ``w <- w - eta (I + eta
    H_o)^-1 xi`` with ``H_o`` the blocks of ``d xi / dw`` between different players (the same
    local game for every player), solved matrix-free by CG on the normal equations: each
    product costs ``n`` JVPs of the field (one per player), so a step grows like ``n`` times
    the field's cost per iteration.

    Args:
      learning_rate: ``eta`` (traceable).
      tol: CG's relative tolerance; default ``1e-2 sqrt(eps)``.
      maxiter: CG's cap per player; default ``min(2 n + 10, 1000)``.
      warm_start: start CG from the previous step's solution.
      strict: NaN for an unconverged solve instead of its last iterate.

    Returns:
      An ``optax.GradientTransformationExtraArgs``; ``update`` needs ``params`` and ``game=``.

    Examples:
      >>> import jaxgan as jg
      >>> game = jg.games.bilinear(1.0)
      >>> # 1 / sqrt(2)
      >>> round(float(jg.spectral_radius(game, jg.transforms.cgd(1.0), game.equilibrium)), 6)
      0.707107

    References:
      Schaefer & Anandkumar, "Competitive gradient descent", NeurIPS 2019.
    """
    _check_options("cgd", warm_start, strict, maxiter, tol)

    def init_fn(params):
        require_point(params, "cgd.init")
        zeros = jax.tree.map(jnp.zeros_like, params)
        return CGDState(zeros, jnp.asarray(0, jnp.int32), jnp.asarray(0, jnp.int32))

    def update_fn(updates, state, params=None, *, game=None, **extra_args):
        field, corrected, game = _local_game(updates, params, game, extra_args, "cgd")
        eta = jnp.asarray(learning_rate)
        if not isinstance(params, Joint):
            step, solution, iterations, failed = _n_player_step(
                field,
                updates,
                params,
                eta,
                state.warm if warm_start else None,
                tol,
                maxiter,
                strict,
            )
            return step, CGDState(solution, iterations, state.failures + failed)
        scale = jnp.sqrt(eta)
        uniform = Joint(
            jax.tree.map(lambda _: scale, params.phi), jax.tree.map(lambda _: scale, params.theta)
        )
        step, solution, iterations, failed = _competitive_step(
            field,
            game.zero_sum and not corrected,
            updates,
            params,
            uniform,
            state.warm if warm_start else None,
            tol,
            maxiter,
            strict,
        )
        return step, CGDState(solution, iterations, state.failures + failed)

    return transformation(Info(Role.STEP, "cgd", moves_once=True), init_fn, update_fn)


class ACGDState(NamedTuple):
    """State of ``acgd``: warm starts, second moments, step count, solve cost and failures.

    The fields are the warm starts, the second-moment estimates ``v`` of the field, the step
    count, the last solve's matrix-vector products and the failures so far.

    Examples:
      >>> import jaxgan as jg
      >>> jg.transforms.ACGDState._fields
      ('warm', 'nu', 'count', 'iterations', 'failures')
    """

    warm: Joint
    nu: Joint
    count: jax.Array
    iterations: jax.Array
    failures: jax.Array


@domains(
    learning_rate=Real(0, low_open=True),
    beta=Real(0, 1, high_open=True),
    eps=Real(0, low_open=True),
    tol=Maybe(Real(0, low_open=True)),
    maxiter=Maybe(Integer(1)),
    warm_start=Flag(),
    strict=Flag(),
)
def acgd(
    learning_rate: jax.typing.ArrayLike,
    *,
    beta: jax.typing.ArrayLike = 0.9,
    eps: jax.typing.ArrayLike = 1e-3,
    tol: Optional[jax.typing.ArrayLike] = None,
    maxiter: Optional[int] = None,
    warm_start: bool = True,
    strict: bool = False,
) -> optax.GradientTransformationExtraArgs:
    """Adaptive competitive gradient descent (ACGD, Schaefer, Zheng & Anandkumar 2020).

    CGD with an RMSProp-style diagonal step size per coordinate.

    With ``v_t = beta v_{t-1} + (1 - beta) xi_t^2`` (per coordinate, for both players) and
    ``A = eta / (sqrt(v_t / (1 - beta^t)) + eps)`` (diagonal, ``A_phi`` and ``A_theta``),
    the step is the Nash equilibrium of the local bilinear game regularised by
    ``|dphi|^2_{A_phi^-1} / 2`` and ``|dtheta|^2_{A_theta^-1} / 2``:

    .. math:: \\Delta\\phi = A_\\phi^{1/2} u, \\quad
              (I - A_\\phi^{1/2} D_{pt} A_\\theta D_{tp} A_\\phi^{1/2})\\, u
              = -A_\\phi^{1/2} (\\xi_\\phi - D_{pt} A_\\theta \\xi_\\theta),

    and the same with the players exchanged (the paper's Algorithm 1, written for a general
    two-player game: in a zero-sum game ``D_tp = -D_pt^T`` and the matrix is symmetric
    positive definite, solved by CG; otherwise CG runs on the normal equations). With
    ``A = eta I`` it is ``cgd``. ``A`` is not differentiable in ``v`` at ``v = 0``
    (``d sqrt(v) / dv`` is infinite), so at a fresh state ``update_jacobian`` is NaN in the
    rows of the parameters; from a state with ``v > 0`` it is the step's Jacobian. The learning rate
    is part of the update: ``acgd`` comes last
    in a chain. Cost per step: that of ``cgd`` plus two elementwise passes.

    Args:
      learning_rate: ``eta`` (traceable).
      beta: the second moments' decay (traceable); default 0.9, as in the authors' released
        optimiser.
      eps: added to ``sqrt(v)`` (traceable); default ``1e-3``, as there.
      tol, maxiter, warm_start, strict: as for ``cgd``.

    Returns:
      An ``optax.GradientTransformationExtraArgs``; ``update`` needs ``params`` and ``game=``.

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> game = jg.games.bilinear(1.0)
      >>> run = jg.rollout(game, jg.transforms.acgd(0.2), jg.Joint(jnp.asarray(1.0),
      ... jnp.asarray(1.0)), 500)
      >>> bool(abs(run.final.phi) + abs(run.final.theta) < 1e-6)
      True

    References:
      Schaefer, Zheng & Anandkumar, "Implicit competitive regularization in GANs", ICML 2020.
    """
    _check_options("acgd", warm_start, strict, maxiter, tol)
    for name, value in (("beta", beta), ("eps", eps)):
        if not isinstance(value, jax.core.Tracer):
            v = float(value)
            bad = not (0.0 <= v < 1.0) if name == "beta" else not (v > 0.0 and v < float("inf"))
            if bad:
                want = "in [0, 1)" if name == "beta" else "positive and finite"
                raise ValueError(f"acgd: `{name}` must be {want}, got {value!r}.")

    def init_fn(params):
        require_joint(params, "acgd.init")
        zeros = jax.tree.map(jnp.zeros_like, params)
        i0 = jnp.asarray(0, jnp.int32)
        return ACGDState(zeros, zeros, i0, i0, i0)

    def update_fn(updates, state, params=None, *, game=None, **extra_args):
        field, corrected, game = _local_game(updates, params, game, extra_args, "acgd")
        eta, b = jnp.asarray(learning_rate), jnp.asarray(beta)
        count = state.count + 1
        nu = jax.tree.map(
            lambda v, g: (b * v + (1 - b) * jnp.square(g)).astype(v.dtype), state.nu, updates
        )
        debias = 1 - b ** count.astype(
            b.dtype if jnp.issubdtype(b.dtype, jnp.floating) else jnp.float32
        )
        scale = jax.tree.map(
            lambda v: jnp.sqrt(eta / (jnp.sqrt(v / debias) + eps)).astype(v.dtype), nu
        )
        step, solution, iterations, failed = _competitive_step(
            field,
            game.zero_sum and not corrected,
            updates,
            params,
            scale,
            state.warm if warm_start else None,
            tol,
            maxiter,
            strict,
        )
        return step, ACGDState(solution, nu, count, iterations, state.failures + failed)

    why = (
        "ACGD's step sizes carry the bias correction 1 - beta^t of their second moments, "
        "so its map changes every step"
    )
    return transformation(
        Info(Role.STEP, "acgd", moves_once=True),
        init_fn,
        update_fn,
        counter=lambda state: (state.count, Counter(None, why)),
    )


def _check_options(name, warm_start, strict, maxiter, tol):
    for flag_name, flag in (("warm_start", warm_start), ("strict", strict)):
        Flag().check(flag, name, flag_name)
    Maybe(Integer(1)).check(maxiter, name, "maxiter")


def _local_game(updates, params, game, extra_args, name):
    """The checks shared by ``cgd`` and ``acgd``, and the field whose local game they solve
    (the chain's corrected field when corrections come before)."""
    game = checked_game_update(updates, params, game, name, two_player=name == "acgd")
    field = field_of(extra_args, game_field(game))
    return field, is_corrected(field), game


def _competitive_step(field, symmetric, xi, params, scale, warm, tol, maxiter, strict):
    """The Nash step of the local bilinear game with diagonal step sizes ``A = scale^2``
    (``scale`` a Joint of arrays broadcasting against ``params``): solves
    ``(I - S_p D_pt A_t D_tp S_p) u = -S_p (xi_phi - D_pt A_t xi_theta)`` for ``u``, sets
    ``dphi = S_p u``, and the same for ``theta``. Returns ``(step, u, matvecs, failures)``."""
    _, jvp = jax.linearize(field, params)
    zeros = jax.tree.map(jnp.zeros_like, params)

    def d_pt(v):  # d xi_phi / d theta @ v
        return jvp(Joint(zeros.phi, v)).phi

    def d_tp(u):  # d xi_theta / d phi @ u
        return jvp(Joint(u, zeros.theta)).theta

    def times(s, tree):
        return jax.tree.map(lambda a, x: (a * x).astype(x.dtype), s, tree)

    def minus(a, b):
        return jax.tree.map(lambda x, y: (x - y).astype(x.dtype), a, b)

    s_p, s_t = scale.phi, scale.theta

    def a(s, tree):  # A = S^2
        return times(s, times(s, tree))

    b_phi = jax.tree.map(jnp.negative, times(s_p, minus(xi.phi, d_pt(a(s_t, xi.theta)))))
    b_theta = jax.tree.map(jnp.negative, times(s_t, minus(xi.theta, d_tp(a(s_p, xi.phi)))))
    m_phi = lambda u: minus(u, times(s_p, d_pt(a(s_t, d_tp(times(s_p, u))))))  # noqa: E731
    m_theta = lambda v: minus(v, times(s_t, d_tp(a(s_p, d_pt(times(s_t, v))))))  # noqa: E731
    n = sum(int(jnp.size(x)) for x in jax.tree.leaves(params))
    cap = min(2 * n + 10, 1000) if maxiter is None else maxiter
    kw = dict(tol=default_tol(params) if tol is None else tol, maxiter=cap, nan_on_failure=strict)
    warm = zeros if warm is None else warm
    if symmetric:  # zero-sum: I + S D_pt A D_pt^T S is symmetric positive definite
        u, info_u = linear_solve(m_phi, b_phi, warm.phi, **kw)
        v, info_v = linear_solve(m_theta, b_theta, warm.theta, **kw)
    else:  # CG on the normal equations M^T M x = M^T b
        u, info_u = _normal_solve(m_phi, b_phi, warm.phi, kw)
        v, info_v = _normal_solve(m_theta, b_theta, warm.theta, kw)
    step = Joint(times(s_p, u), times(s_t, v))
    step = jax.tree.map(lambda s_, p: s_.astype(jnp.result_type(p)), step, params)
    failed = (~info_u.converged).astype(jnp.int32) + (~info_v.converged).astype(jnp.int32)
    return step, Joint(u, v), info_u.iterations + info_v.iterations, failed


def _n_player_step(field, xi, params, eta, warm, tol, maxiter, strict):
    """CGD for ``n`` players: ``dw = -eta x`` with ``(I + eta H_o) x = xi``, ``H_o`` the blocks
    of ``d xi / dw`` between different players (Schaefer & Anandkumar 2019, Section 3's
    n-player form; for two players the system ``cgd``'s Schur complements solve). The
    matrix is not symmetric in general: CG on the normal equations, matrix-free (one JVP
    per player per product, two products per iteration), warm-started, with implicit
    derivatives. Returns ``(step, x, matvecs, failures)``."""
    _, jvp = jax.linearize(field, params)

    def matvec(v):
        return jax.tree.map(
            lambda a, b: (a + eta * b).astype(a.dtype), v, players.off_diagonal(jvp, v)
        )

    n = sum(int(jnp.size(x)) for x in jax.tree.leaves(params))
    cap = min(2 * n + 10, 1000) if maxiter is None else maxiter
    kw = dict(tol=default_tol(params) if tol is None else tol, maxiter=cap, nan_on_failure=strict)
    x0 = jax.tree.map(jnp.zeros_like, xi) if warm is None else warm
    x, info = _normal_solve(matvec, xi, x0, kw)
    step = jax.tree.map(lambda v, p: (-eta * v).astype(jnp.result_type(p)), x, params)
    return step, x, info.iterations, (~info.converged).astype(jnp.int32)


def _normal_solve(matvec, b, x0, kw):
    """``M^-1 b`` for a non-symmetric ``M`` by CG on ``M^T M x = M^T b``."""
    transpose = jax.linear_transpose(matvec, b)

    def normal(v):
        return transpose(matvec(v))[0]

    return linear_solve(normal, transpose(b)[0], x0, **kw)
