"""``noise_ball``: the stationary covariance that independent gradient noise leaves around an
equilibrium, for the linearised step.

Each evaluation of the simultaneous gradient inside a step (counted when the step is traced:
extragradient's two, a lookahead cycle's ``k`` steps, a correction that evaluates the field
again) receives its own noise ``e_k ~ (0, S)``. Linearised at ``(w*, s*)`` over the step's
whole period, the deviation ``z = (w - w*, s - s*)`` follows ``z' = M z + sum_k B_k e_k``
with ``M`` the period's Jacobian and ``B_k`` the derivative with respect to the k-th
evaluation's noise; its stationary covariance solves the discrete Lyapunov equation
``P = M P M^T + sum_k B_k S B_k^T``.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from .._analysis.arnoldi import operator_top_eigenvalues
from .._analysis.eig import eigvals
from .._analysis.spectral import _step_and_structure
from .._analysis.step_map import split_state
from .._core.field import checked_equilibrium, game_field
from .._core.game import Joint
from .._validation.cache import compiled
from .._validation.checks import accept_transformation, check_game
from .._validation.domains import Choice, Integer, describe, domains

#: the series method's radius comes from a dense eig below this many coordinates (a Krylov
#: method needs room for more vectors than the eigenvalues it finds), from Arnoldi above
DENSE_RADIUS_BELOW = 64

#: Smith's doubling iterations at most: the k-th sums ``2^k`` terms of the series
#: ``sum_t M^t Q M^T^t`` (a radius of 0.9999 needs about 20)
DOUBLINGS = 64


class NoiseBall(NamedTuple):
    """The stationary covariance of a noisy linearised step.

    Attributes:
      covariance: the parameters' covariance (ravel order of ``w``), ``n x n``; ``inf`` where
        the step is not stable.
      trace: its trace, the mean squared distance to the equilibrium.
      stable: whether the step's spectral radius is below one by more than an eigenvalue solver
        resolves (``sqrt`` of the machine epsilon): a finite ball exists.
      radius: that spectral radius, per step (over a periodic step's cycle, its root).
      full: the covariance of the parameters and the step's dynamic state (``None`` for the
        series method, which keeps the parameters' block only), at the phase of the
        state the analysis uses: ``tx.init(w*)`` advanced one step (for ``lookahead``, one step
        after a synchronisation).
      evaluations: field evaluations per period of the step, each with its own noise.
      method: how the Lyapunov equation was solved.

    Examples:
      >>> import optax, jaxgan as jg
      >>> game = jg.zero_sum(lambda x, y: 0.5 * x**2 - 0.5 * y**2)
      >>> eg = jg.transforms.extragradient(optax.sgd(0.1))
      >>> ball = jg.noise_ball(game, eg, jg.Joint(0.0, 0.0), 1.0)
      >>> ball.evaluations, bool(ball.stable)  # two field evaluations, each with its own noise
      (2, True)
    """

    covariance: jax.Array
    trace: jax.Array
    stable: jax.Array
    radius: jax.Array
    full: jax.Array
    evaluations: int
    method: str


def _noise_matrix(noise, w, where: str) -> np.ndarray:
    """The noise covariance ``S`` over the ravelled parameters, checked: a scalar (times the
    identity), an ``n x n`` matrix, or a ``Joint`` of one scalar or matrix per player."""
    sizes = [int(ravel_pytree(x)[0].size) for x in (w.phi, w.theta)]
    n = sum(sizes)

    def block(value, size, arg):
        if isinstance(value, jax.core.Tracer):
            raise TypeError(
                f"{where}: `{arg}` is traced (inside jax.jit or vmap): the noise covariance is "
                "checked (symmetric, positive semidefinite) on the host, so pass it as a "
                "concrete number or matrix."
            )
        bad = value is None or isinstance(value, (bool, np.bool_, str, bytes))
        a = None if bad else np.asarray(value)
        if a is None or a.dtype.kind not in "fiu":
            raise TypeError(
                f"{where}: `{arg}` must be a real number or a real matrix (a covariance), "
                f"got {describe(value)}."
            )
        a = a.astype(np.float64)
        if a.ndim == 0:
            return float(a) * np.eye(size)
        if a.shape != (size, size):
            raise ValueError(
                f"{where}: `{arg}` must be a scalar or a {size} x {size} matrix "
                f"(the parameters it covers, in ravel order), got shape {a.shape}."
            )
        return a

    if isinstance(noise, Joint):
        s = np.zeros((n, n))
        s[: sizes[0], : sizes[0]] = block(noise.phi, sizes[0], "noise.phi")
        s[sizes[0] :, sizes[0] :] = block(noise.theta, sizes[1], "noise.theta")
    else:
        s = block(noise, n, "noise")
    if not np.all(np.isfinite(s)):
        raise ValueError(f"{where}: `noise` has non-finite entries.")
    if not np.allclose(s, s.T, rtol=0, atol=1e-12 * max(1.0, np.abs(s).max())):
        raise ValueError(
            f"{where}: `noise` must be a symmetric covariance matrix; it is not symmetric."
        )
    low = float(np.linalg.eigvalsh(s).min())
    if low < -1e-12 * max(1.0, np.abs(s).max()):
        raise ValueError(
            f"{where}: `noise` must be positive semidefinite (a covariance), "
            f"its smallest eigenvalue is {low:.3g}."
        )
    return s


def _period_map(game, tx, w):
    """``(F, z0, e0, count, period)``: the map of the step's period ``F(z, E)`` over
    ``z = (w, dynamic state)`` (at the step's default state) and the noise ``E[k]`` added to its
    k-th field evaluation, its point ``z0``, a zero noise ``e0`` and the evaluations counted."""
    base = game_field(game)
    flat_w, unravel_w = ravel_pytree(w)
    cell = {"noise": None, "count": 0}

    def noisy(x):
        g = base(x)
        if cell["noise"] is None:
            return g
        k = cell["count"]
        cell["count"] += 1
        if isinstance(cell["noise"], str):  # counting
            return g
        return jax.tree.map(jnp.add, g, unravel_w(cell["noise"][k]))

    noisy_game = game.replace(grad_fn=noisy)
    step, state, structure = _step_and_structure(noisy_game, tx, w, None)
    if structure.never_repeats is not None:
        raise ValueError(
            "noise_ball: the step's map depends on time and never repeats, so it has no "
            f"stationary covariance: {structure.never_repeats}."
        )
    s_diff, merge = split_state(state, structure.dynamic)
    z0, unravel = ravel_pytree((w, s_diff))

    def period(z, noise):
        cell["noise"], cell["count"] = noise, 0
        w_, s_ = unravel(z)
        s_ = merge(s_)
        for _ in range(structure.period):
            w_, s_ = step(w_, s_)
        cell["noise"] = None
        return ravel_pytree((w_, split_state(s_, structure.dynamic)[0]))[0]

    jax.eval_shape(lambda z: period(z, "count"), z0)
    count = cell["count"]
    e0 = jnp.zeros((max(count, 1), flat_w.size), flat_w.dtype)
    return period, z0, e0, count, structure.period


def _linearise(game, tx, w):
    """``(M, [B_k], count, period)``: the period's Jacobian over ``(w, dynamic state)`` at the
    step's default state, and the derivative with respect to each field evaluation's noise."""
    period, z0, e0, count, k = _period_map(game, tx, w)
    m, b = jax.jacfwd(period, argnums=(0, 1))(z0, e0)
    return m, b[:, :count, :], count, k


def _series_program(game, tx, max_terms):
    """The matrix-free solve: ``P = sum_t M^t Q M^T^t`` summed from ``Y_0 = B (I (x) S^1/2)`` by
    batched Jacobian-vector products ``Y <- M Y`` (``M`` is never formed) until a term's trace
    is below ``eps`` of the sum's, with the radius of ``M`` by Arnoldi on the same products."""

    def program(w, s_half):
        period, z0, e0, count, k = _period_map(game, tx, w)
        n, big = s_half.shape[0], z0.size
        b = jax.jacfwd(lambda e: period(z0, e))(e0)[:, :count, :]  # count * n products
        y0 = jnp.einsum("ikn,nm->ikm", b, s_half).reshape(big, count * n)

        def mv(v):
            return jax.jvp(lambda z: period(z, e0), (z0,), (v,))[1]

        if big <= DENSE_RADIUS_BELOW:  # too few coordinates for a Krylov space: a dense eig
            top = eigvals(jax.jacfwd(lambda z: period(z, e0))(z0))
        else:
            start = jax.random.normal(jax.random.PRNGKey(0), (big,), z0.dtype)
            top = operator_top_eigenvalues(mv, start, 2, which="LM").eigenvalues
        radius = jnp.max(jnp.abs(top)) ** (1.0 / k)  # per step
        stable = radius < 1.0 - jnp.sqrt(jnp.finfo(z0.dtype).eps)
        eps = jnp.finfo(z0.dtype).eps
        batched = jax.vmap(mv, in_axes=1, out_axes=1)

        def term(y):
            return y[:n] @ y[:n].T

        def going(carry):
            y, p, t = carry
            return stable & (t < max_terms) & (jnp.sum(y[:n] ** 2) > eps * jnp.trace(p))

        def more(carry):
            y, p, t = carry
            y = batched(y)
            return y, p + term(y), t + 1

        _, p, terms = jax.lax.while_loop(going, more, (y0, term(y0), 0))
        finite = stable & (terms < max_terms)
        p = jnp.where(finite, p, jnp.inf)
        return p, radius, finite, count, terms

    return program


def _program(game, tx):
    def program(w, s):
        m, b, count, period = _linearise(game, tx, w)
        q = jnp.einsum("ikn,nm,jkm->ij", b, s, b)
        radius = jnp.max(jnp.abs(eigvals(m))) ** (1.0 / period)  # per step

        def doubling(carry):
            a, p, k = carry
            return a @ a, p + a @ p @ a.T, k + 1

        def going(carry):
            a, p, k = carry
            return (k < DOUBLINGS) & (jnp.max(jnp.abs(a)) > 1e-18)

        _, p, _ = jax.lax.while_loop(going, doubling, (m, q, 0))
        # below one by more than an eigenvalue solver resolves (a step that circles, radius one
        # to rounding, has no stationary covariance)
        stable = radius < 1.0 - jnp.sqrt(jnp.finfo(m.dtype).eps)
        p = jnp.where(stable, p, jnp.inf)
        return p, radius, stable, count

    return program


@domains(method=Choice("dense", "series"), max_terms=Integer(1))
def noise_ball(
    game, tx, w_star, noise, *, method: str = "dense", max_terms: int = 100_000
) -> NoiseBall:
    """The stationary covariance of a noisy step's iterates around an equilibrium.

    Every evaluation of the field gets independent noise of covariance ``noise``, and the step
    is linearised at the equilibrium.

    .. math:: P = M P M^\\top + \\sum_k B_k S B_k^\\top

    ``M`` is the Jacobian of the step's period over the parameters and its dynamic state
    (momentum's buffer is part of the state), ``B_k`` the derivative with respect to the noise of
    the k-th evaluation of the simultaneous gradient in the period (extragradient evaluates it
    twice, each with its own noise; Jacobian-vector products of corrections are exact). Solved
    densely by Smith's doubling iteration ``P <- P + A P A^T, A <- A^2`` (exact to rounding once
    ``A`` vanishes, whatever the Jordan structure of ``M``), or with ``method="series"`` without
    forming ``M``: the series ``sum_t M^t Q M^T^t`` summed by batched Jacobian-vector products of
    the step (one per noise direction and term) until a term is below ``eps`` of the sum, the
    radius by Arnoldi on the same products; only the parameters' block is kept (``full`` is
    ``None``), so memory grows with the state times the parameters, not the state squared. An
    unstable step (radius ``>= 1``, or one to rounding) has no stationary covariance: ``inf``
    and ``stable=False``. A periodic
    step's covariance is at one phase of its cycle: one step after ``tx.init(w*)``. For SGD on
    ``a/2 x^2`` with noise ``s``: ``P = lr^2 s / (1 - (1 - lr a)^2)``.

    Args:
      game: a two-player ``Game``.
      tx: an optax transformation.
      w_star: the equilibrium.
      method: ``"dense"`` (the step's Jacobian formed, Smith's doubling) or ``"series"``
        (matrix-free; for games whose state is too large for a dense Jacobian).
      max_terms: the series' cap (``method="series"``): a series still above ``eps`` after it is
        reported not finite (``stable=False``, ``inf``).
      noise: the covariance of one evaluation's noise: a scalar (times the identity), an
        ``n x n`` matrix over the ravelled parameters, or a ``Joint`` of one scalar or matrix
        per player; symmetric positive semidefinite.

    Returns:
      ``NoiseBall``.

    Examples:
      >>> import optax, jaxgan as jg
      >>> game = jg.zero_sum(lambda x, y: 0.5 * x**2 - 0.5 * y**2)
      >>> ball = jg.noise_ball(game, optax.sgd(0.1), jg.Joint(0.0, 0.0), 1.0)
      >>> round(float(ball.covariance[0, 0]), 6)  # 0.01 / (1 - 0.81)
      0.052632
    """
    where = "noise_ball"
    game = check_game(game, where, two_player=True)
    tx = accept_transformation(tx, where, "tx")
    w = checked_equilibrium(game, w_star, where)
    s = _noise_matrix(noise, w, where)
    if method == "series":
        vals, vecs = np.linalg.eigh(s)
        s_half = (vecs * np.sqrt(np.clip(vals, 0.0, None))) @ vecs.T
        cov, radius, stable, count, terms = compiled(
            where + " (series)", _series_program, (game, tx), (int(max_terms),)
        )(w, jnp.asarray(s_half))
        full = None
        how = "matrix-free series by batched Jacobian-vector products, radius by Arnoldi"
    else:
        p, radius, stable, count = compiled(where, _program, (game, tx))(w, jnp.asarray(s))
        cov, full = p[: s.shape[0], : s.shape[0]], p
        how = "dense Lyapunov solve (Smith's doubling iteration)"
    return NoiseBall(
        covariance=cov,
        trace=jnp.trace(cov),
        stable=stable,
        radius=radius,
        full=full,
        evaluations=count if isinstance(count, jax.core.Tracer) else int(count),
        method=how,
    )
