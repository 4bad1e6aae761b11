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

from .._analysis.eig import eigvals
from .._analysis.spectral import _step_and_structure
from .._analysis.step_map import split_state
from .._core.field import check_stationary, game_field
from .._core.game import Joint
from .._validation.cache import compiled
from .._validation.checks import accept_transformation, check_finite, check_game, check_point
from .._validation.domains import describe

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
      full: the covariance of the parameters and the step's dynamic state, at the phase of the
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


def _linearise(game, tx, w):
    """``(M, [B_k], period)``: the period's Jacobian over ``(w, dynamic state)`` at the step's
    default state, and the derivative with respect to each field evaluation's noise."""
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
    m, b = jax.jacfwd(period, argnums=(0, 1))(z0, e0)
    return m, b[:, :count, :], count, structure.period


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


def noise_ball(game, tx, w_star, noise) -> NoiseBall:
    """The stationary covariance of a noisy step's iterates around an equilibrium.

    Every evaluation of the field gets independent noise of covariance ``noise``, and the step
    is linearised at the equilibrium.

    .. math:: P = M P M^\\top + \\sum_k B_k S B_k^\\top

    ``M`` is the Jacobian of the step's period over the parameters and its dynamic state
    (momentum's buffer is part of the state), ``B_k`` the derivative with respect to the noise of
    the k-th evaluation of the simultaneous gradient in the period (extragradient evaluates it
    twice, each with its own noise; Jacobian-vector products of corrections are exact). Solved
    densely by Smith's doubling iteration ``P <- P + A P A^T, A <- A^2`` (exact to rounding once
    ``A`` vanishes, whatever the Jordan structure of ``M``). An unstable step (radius ``>= 1``,
    or one to rounding) has no stationary covariance: ``inf`` and ``stable=False``. A periodic
    step's covariance is at one phase of its cycle: one step after ``tx.init(w*)``. For SGD on
    ``a/2 x^2`` with noise ``s``: ``P = lr^2 s / (1 - (1 - lr a)^2)``.

    Args:
      game: a two-player ``Game``.
      tx: an optax transformation.
      w_star: the equilibrium.
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
    w = check_point(game, w_star, where, "w_star")
    check_finite(w, where, "w_star")
    check_stationary(game, w, where)
    s = _noise_matrix(noise, w, where)
    p, radius, stable, count = compiled(where, _program, (game, tx))(w, jnp.asarray(s))
    n = s.shape[0]
    cov = p[:n, :n]
    return NoiseBall(
        covariance=cov,
        trace=jnp.trace(cov),
        stable=stable,
        radius=radius,
        full=p,
        evaluations=count if isinstance(count, jax.core.Tracer) else int(count),
        method="dense Lyapunov solve (Smith's doubling iteration)",
    )
