"""``periodic_orbit``: a period-k orbit of a step's map, through its optimiser state, by Newton
shooting on ``S^k(z) - z`` (optimistix), with its Floquet multipliers."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from .._analysis.eig import eigvals
from .._analysis.solve import implicit_root, newton_root_finder
from .._analysis.spectral import _step_and_structure
from .._analysis.step_map import split_state
from .._core.game import Joint
from .._validation.cache import compiled
from .._validation.checks import accept_transformation, check_finite, check_game, check_point
from .._validation.domains import Integer, Maybe, Real, domains


class PeriodicOrbit(NamedTuple):
    """A period-k orbit of a step's map.

    Attributes:
      points: the orbit's ``k`` points, the leaves of a ``Joint`` stacked along a leading axis.
      multipliers: the Floquet multipliers, the eigenvalues of the ``k``-step map's Jacobian on
        the orbit (over the parameters and the step's dynamic state): the orbit attracts nearby
        runs when they are all below one in modulus.
      converged: whether Newton met its tolerance and the orbit's least period is ``k``.
      residual: ``|S^k(z) - z|`` at the orbit's first point.
      least_period: the smallest ``j`` dividing ``k`` with ``S^j(z) = z`` (to the tolerance): ``k``
        for a true ``k``-cycle, ``1`` where Newton landed on a fixed point.
      stable: whether every multiplier is below one in modulus.

    Examples:
      >>> import optax, jaxgan as jg
      >>> game = jg.Game(lambda x, y: 0.5 * x**2 - 0.25 * x**4, lambda x, y: 0.25 * y**2)
      >>> orbit = jg.periodic_orbit(game, optax.sgd(2.2), jg.Joint(0.3, 0.0), 2)
      >>> bool(orbit.converged), round(abs(float(orbit.points.phi[0])), 6)  # sqrt(1 - 2/2.2)
      (True, 0.301511)
    """

    points: Joint
    multipliers: jax.Array
    converged: jax.Array
    residual: jax.Array
    least_period: int
    stable: jax.Array


def _program(game, tx, period, maxiter, tol):
    def program(w0):
        step, state, structure = _step_and_structure(game, tx, w0, None)
        if structure.period != 1:
            raise ValueError(
                "periodic_orbit: the step itself repeats every "
                f"{structure.period} steps (a periodic step); its orbits are found on its cycle "
                "map, which periodic_orbit does not build: give a step without a counter."
            )
        if structure.never_repeats is not None:
            raise ValueError(
                "periodic_orbit: the step's map depends on time and never repeats, so it has no "
                f"periodic orbit: {structure.never_repeats}."
            )
        s_diff, merge = split_state(state, structure.dynamic)
        z0, unravel = ravel_pytree((w0, s_diff))

        def one(z):
            w_, s_ = unravel(z)
            w_, s_ = step(w_, merge(s_))
            return ravel_pytree((w_, split_state(s_, structure.dynamic)[0]))[0]

        def many(z, k):
            for _ in range(k):
                z = one(z)
            return z

        t = jnp.asarray(tol, z0.dtype)
        root, converged, _ = implicit_root(
            lambda z: many(z, period) - z, z0, newton_root_finder(t, "dense"), maxiter=maxiter
        )
        points = [root]
        for _ in range(period - 1):
            points.append(one(points[-1]))
        stacked = jnp.stack(points)
        residual = jnp.max(jnp.abs(many(root, period) - root))
        multipliers = eigvals(jax.jacfwd(lambda z: many(z, period))(root))
        # the least period: the smallest divisor j of k with S^j(z) = z
        gaps = jnp.asarray([jnp.max(jnp.abs(many(root, j) - root)) for j in range(1, period + 1)])
        params = jax.vmap(lambda z: unravel(z)[0])(stacked)
        return params, multipliers, converged, residual, gaps

    return program


@domains(period=Integer(1), maxiter=Integer(1), tol=Maybe(Real(0, low_open=True, static=True)))
def periodic_orbit(game, tx, w0, period: int, *, maxiter: int = 100, tol=None) -> PeriodicOrbit:
    """A period-k orbit of a step's map near a start, by Newton shooting on ``S^k(z) - z``.

    .. math:: S^k(z^*) = z^*, \\qquad \\mu_i \\in \\operatorname{spec}\\big(D S^k(z^*)\\big)

    ``z = (w, s)`` is the point and the step's dynamic state (momentum's buffer is part of the
    orbit); ``S`` is ``make_step``'s map. Newton's method (optimistix, a dense linear solve) from
    ``w0`` and the state one step after ``tx.init(w0)`` finds a root of ``S^k(z) - z``; the
    orbit's ``k`` points follow by stepping, its Floquet multipliers are the eigenvalues of the
    ``k``-step map's Jacobian there. An orbit is reported only where Newton met its tolerance and
    the orbit's least period is ``k``: landing on a fixed point (or a shorter cycle) while asked
    for ``k`` says so (``least_period``, ``converged=False``). For ``k = 1`` it is the fixed point
    and the step's eigenvalues.

    Gradient descent on ``a/2 x^2 + b/4 x^4`` with ``b < 0`` flips at ``lr = 2/a`` into the
    2-cycle ``+-x*``, ``x*^2 = (2/lr - a)/b``, with multiplier ``(2 lr a - 5)^2``.

    Args:
      game: a ``Game``.
      tx: an optax transformation.
      w0: the start of Newton's method.
      period: ``k >= 1`` (static).
      maxiter: Newton's iterations at most (static).
      tol: Newton's tolerance (default ``sqrt`` of the machine epsilon; static).

    Returns:
      ``PeriodicOrbit``.

    Examples:
      >>> import optax, jaxgan as jg
      >>> game = jg.Game(lambda x, y: 0.5 * x**2 - 0.25 * x**4, lambda x, y: 0.25 * y**2)
      >>> orbit = jg.periodic_orbit(game, optax.sgd(2.2), jg.Joint(0.3, 0.0), 2)
      >>> [round(abs(complex(m)), 6) for m in orbit.multipliers]  # (2 lr - 5)^2, (1 - lr/2)^2
      [0.36, 0.01]
    """
    where = "periodic_orbit"
    game = check_game(game, where)
    tx = accept_transformation(tx, where, "tx")
    w = check_point(game, w0, where, "w0")
    check_finite(w, where, "w0")
    dtype = jnp.result_type(*jax.tree.leaves(w))
    t = float(np.sqrt(np.finfo(dtype).eps)) if tol is None else float(tol)
    params, multipliers, converged, residual, gaps = compiled(
        where, _program, (game, tx), (int(period), int(maxiter), t)
    )(w)
    gaps = np.asarray(gaps) if not isinstance(gaps, jax.core.Tracer) else None
    scale = (
        1.0 + float(np.max(np.abs(np.asarray(ravel_pytree(params)[0]))))
        if gaps is not None
        else 1.0
    )
    least = int(period)
    if gaps is not None:
        for j in range(1, int(period) + 1):
            if int(period) % j == 0 and gaps[j - 1] <= 100 * t * scale:
                least = j
                break
    ok = jnp.logical_and(converged, least == int(period))
    return PeriodicOrbit(
        points=params,
        multipliers=multipliers,
        converged=ok,
        residual=residual,
        least_period=least,
        stable=jnp.all(jnp.abs(multipliers) < 1.0),
    )
