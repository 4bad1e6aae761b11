"""``nash_gap`` and ``duality_gap``: how far a point is from an equilibrium, as the sum of what
each player gains by its best response over a box.

Each player's best response is a box-constrained minimisation of its own loss, the other
players held fixed: an accelerated projected gradient method (FISTA with backtracking and
restarts) started from the better of the player's own point and the box's vertex that
minimises the loss's linearisation there. That start makes a loss linear in the player's
parameters exact at once (a bilinear game's responses are vertices). The Frank-Wolfe gap
``g . (u - s)`` at the response ``u`` (``s`` the box's vertex minimising ``g . s``) bounds what
the solver missed when the loss is convex in the player's parameters, so ``bound`` certifies
the gap for convex(-concave) games.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from .._core.game import Box, Game, Joint, Players, StackedPlayers
from .._core.players import count, get, player_loss, put
from .._validation.cache import compiled
from .._validation.checks import check_finite, check_game, check_point
from .._validation.domains import Integer, Maybe, Real, describe, domains


class Gap(NamedTuple):
    """How far a point is from an equilibrium over a box: each player's best improvement.

    Attributes:
      value: the gap, the sum of ``improvements`` (``duality_gap``: ``max_y' f(x, y') -
        min_x' f(x', y)``).
      improvements: ``l_i(w) - min_{u in box} l_i(u, w_-i)`` for each player ``i``, an array
        of one entry per player.
      responses: each player's best response, a point like ``w`` whose player ``i`` is
        player ``i``'s response to the others' parameters in ``w``.
      bound: the most the true gap can exceed ``value`` by when each loss is convex in its own
        player's parameters: the sum of the Frank-Wolfe gaps at the responses (zero at an
        exact response).
      converged: whether every response met the tolerance (its Frank-Wolfe gap below
        ``tol (1 + |l_i|)``) within ``maxiter`` iterations.

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> box = jg.Box(jg.Joint(-1.0, -1.0), jg.Joint(1.0, 1.0))
      >>> gap = jg.duality_gap(jg.zero_sum(lambda x, y: x * y), jg.Joint(0.5, -0.25), box)
      >>> float(gap.value)  # |y| + |x|
      0.75
    """

    value: jax.Array
    improvements: jax.Array
    responses: object
    bound: jax.Array
    converged: jax.Array


def _minimise_on_box(h, u0, lo, hi, maxiter, tol):
    """``(u, h(u), fw_gap, converged)``: FISTA with backtracking on ``min h`` over ``lo <= u <=
    hi`` (flat vectors), restarted when the value rises, from the better of ``u0`` and the
    vertex minimising ``h``'s linearisation at ``u0``."""
    value_and_grad = jax.value_and_grad(h)

    def vertex(u, g):
        return jnp.where(g > 0, lo, jnp.where(g < 0, hi, u))

    def fw_gap(u, g):
        return jnp.sum(g * (u - vertex(u, g)))

    # the best of a few starts: the point, its linearisation's vertex (exact for a loss linear in
    # the player), and the box's corners and centre (a point where the gradient vanishes but the
    # loss is not at a minimum, a maximum or a saddle, would otherwise never move)
    _, g0 = value_and_grad(u0)
    starts = jnp.stack([u0, vertex(u0, g0), lo, hi, 0.5 * (lo + hi)])
    values = jax.vmap(h)(starts)
    start = starts[jnp.argmin(jnp.where(jnp.isnan(values), jnp.inf, values))]

    def done(u, fu, g):
        return fw_gap(u, g) <= tol * (1.0 + jnp.abs(fu))

    def body(carry):
        it, u, y, t, step, fu, _ = carry
        fy, gy = value_and_grad(y)

        # backtracking: the projected step from y must decrease the quadratic upper model
        def shrink(c):
            step_, _, _ = c
            step_ = step_ / 2
            z = jnp.clip(y - step_ * gy, lo, hi)
            return step_, z, h(z)

        def too_long(c):
            step_, z, fz = c
            d = z - y
            return jnp.logical_and(
                fz > fy + gy @ d + d @ d / (2 * step_), step_ > jnp.finfo(y.dtype).tiny
            )

        z = jnp.clip(y - step * gy, lo, hi)
        step, z, fz = jax.lax.while_loop(too_long, shrink, (step, z, h(z)))
        # the value rose: restart the momentum from the better point
        rose = fz > fu
        z, fz = jnp.where(rose, u, z), jnp.where(rose, fu, fz)
        t_next = jnp.where(rose, 1.0, (1 + jnp.sqrt(1 + 4 * t * t)) / 2)
        y_next = z + ((t - 1) / t_next) * (z - u) * (1 - rose)
        _, gz = value_and_grad(z)
        return it + 1, z, y_next, t_next, step * 2, fz, done(z, fz, gz)

    def go_on(carry):
        it, *_, ok = carry
        return jnp.logical_and(it < maxiter, jnp.logical_not(ok))

    f_start, g_start = value_and_grad(start)
    carry = (
        0,
        start,
        start,
        jnp.asarray(1.0, u0.dtype),
        jnp.asarray(1.0, u0.dtype),
        f_start,
        done(start, f_start, g_start),
    )
    _, u, _, _, _, fu, ok = jax.lax.while_loop(go_on, body, carry)
    _, gu = value_and_grad(u)
    return u, fu, fw_gap(u, gu), ok


def _program(game, n, maxiter, tol):
    def program(w, lo, hi):
        # a point outside its box, or a box with lo > hi (traced: not refused before): NaN
        valid = jnp.all(
            jnp.stack(
                [
                    jnp.all((a <= x) & (x <= b))
                    for a, x, b in zip(jax.tree.leaves(lo), jax.tree.leaves(w), jax.tree.leaves(hi))
                ]
            )
        )
        improvements, responses, bounds, oks = [], [], [], []
        for i in range(n):
            loss = player_loss(game, i)
            flat, unravel = ravel_pytree(get(w, i))
            lo_i, hi_i = ravel_pytree(get(lo, i))[0], ravel_pytree(get(hi, i))[0]

            def h(u, i=i, loss=loss, unravel=unravel):
                return loss(put(w, i, unravel(u)))

            u, fu, fw, ok = _minimise_on_box(h, flat, lo_i, hi_i, maxiter, tol)
            improvements.append(h(flat) - fu)
            responses.append(unravel(u))
            bounds.append(fw)
            oks.append(ok)
        nan = jnp.asarray(jnp.nan, improvements[0].dtype)
        improvements = jnp.where(valid, jnp.stack(improvements), nan)
        out = w
        for i, r in enumerate(responses):
            out = put(out, i, r)
        bound = jnp.where(valid, jnp.sum(jnp.stack(bounds)), nan)
        return jnp.sum(improvements), improvements, out, bound, valid & jnp.all(jnp.stack(oks))

    return program


def _point_kind(w) -> str:
    if isinstance(w, Joint):
        return "a jaxgan.Joint(phi, theta)"
    return f"a jaxgan.Players of {count(w)} players"


def _bounds(domain, w, where: str):
    """The box's bounds broadcast to ``w``'s leaves (a scalar bound to every coordinate),
    refused unless a ``jaxgan.Box`` of scalars or of points like ``w`` with finite, ordered
    bounds, ``w`` inside (concrete values; traced ones give NaN in the program)."""
    if isinstance(domain, (tuple, list)) and len(domain) == 2 and not isinstance(domain, Box):
        domain = Box(*domain)
    if not isinstance(domain, Box):
        raise TypeError(
            f"{where}: `domain` must be a jaxgan.Box(lo, hi) whose bounds are points like `w` "
            f"({_point_kind(w)}) or scalars, got {describe(domain)}."
        )
    out = []
    for name in ("lo", "hi"):
        bound = getattr(domain, name)
        if not isinstance(bound, (Joint, Players)) and jnp.ndim(bound) == 0:
            bound = jax.tree.map(lambda _, b=bound: b, w)  # a scalar bound for every coordinate
        if jax.tree.structure(bound) != jax.tree.structure(w):
            got = _point_kind(bound) if isinstance(bound, (Joint, Players)) else describe(bound)
            raise ValueError(
                f"{where}: `domain.{name}` must be a scalar or a point like `w` "
                f"({_point_kind(w)}, with the same leaves), got {got}."
            )
        leaves = []
        for b, x in zip(jax.tree.leaves(bound), jax.tree.leaves(w)):
            b = jnp.asarray(b, jnp.result_type(x))
            try:
                leaves.append(jnp.broadcast_to(b, jnp.shape(x)))
            except ValueError:
                raise ValueError(
                    f"{where}: `domain.{name}` has a leaf of shape {jnp.shape(b)} where `w` has "
                    f"{jnp.shape(x)}; a bound is a scalar or has its parameter's shape."
                ) from None
            if not isinstance(b, jax.core.Tracer) and not np.all(np.isfinite(np.asarray(b))):
                raise ValueError(
                    f"{where}: `domain.{name}` has non-finite entries; a gap needs a bounded box "
                    "(the best responses must exist), so give finite bounds."
                )
        out.append(jax.tree.unflatten(jax.tree.structure(w), leaves))
    lo, hi = out
    for a, x, b in zip(jax.tree.leaves(lo), jax.tree.leaves(w), jax.tree.leaves(hi)):
        if any(isinstance(v, jax.core.Tracer) for v in (a, x, b)):
            continue
        a, x, b = np.asarray(a), np.asarray(x), np.asarray(b)
        if not np.all(a <= b):
            raise ValueError(
                f"{where}: `domain` needs lo <= hi in every coordinate (got lo > hi somewhere)."
            )
        if not np.all((a <= x) & (x <= b)):
            raise ValueError(
                f"{where}: `w` lies outside `domain` (a coordinate below lo or above hi); the "
                "gap compares each player with its best response in the box, so give a point "
                "inside it."
            )
    return lo, hi


def _checked(game, w, where):
    if game is None:
        raise TypeError(f"{where}: `game` must be a jaxgan.Game or an n-player game, got None.")
    game = check_game(game, where)
    w = check_point(game, w, where)
    check_finite(w, where, "w")
    return game, w


def _gap(game, w, domain, where, maxiter, tol):
    game, w = _checked(game, w, where)
    if isinstance(w, StackedPlayers):
        raise ValueError(
            f"{where}: `w` holds its players stacked along an axis (jaxgan.StackedPlayers); give "
            "the players as jaxgan.Players, one best response per player."
        )
    lo, hi = _bounds(domain, w, where)
    dtype = jnp.result_type(*jax.tree.leaves(w))
    t = float(np.sqrt(np.finfo(dtype).eps)) if tol is None else float(tol)
    value, improvements, responses, bound, ok = compiled(
        where, _program, (game,), (count(w), int(maxiter), t)
    )(w, lo, hi)
    return Gap(value, improvements, responses, bound, ok)


@domains(maxiter=Integer(1), tol=Maybe(Real(0, low_open=True, static=True)))
def nash_gap(game, w, domain, *, maxiter: int = 2000, tol=None) -> Gap:
    """The Nash gap of a point over a box: the sum of what each player gains by its best response.

    .. math:: \\operatorname{gap}(w) = \\sum_i \\Big( l_i(w) - \\min_{u \\in B_i} l_i(u, w_{-i})
              \\Big) \\;\\ge\\; 0

    For losses convex in their own player's parameters it is zero exactly at a Nash equilibrium
    of the game restricted to the box, and ``Gap.bound`` (the Frank-Wolfe gap at the responses)
    bounds what the solver missed. Each best response is an accelerated projected gradient
    descent (FISTA) on the box from the best of the player's point, its linearisation's vertex
    and the box's corners and centre; for a non-convex loss it is a local minimum, so the gap is
    a lower bound of the true one. Any number of players; each player's bounds are finite and
    ``w`` lies in the box (under ``jit``, a point outside it or crossed bounds give NaN).

    Args:
      game: a ``Game`` or an n-player game.
      w: the point, a ``Joint`` or ``Players``.
      domain: a ``jaxgan.Box(lo, hi)`` whose bounds are points like ``w`` or scalars (a scalar
        bounds every coordinate), finite, with ``w`` inside.
      maxiter: iterations of each best response at most (static).
      tol: the best responses' tolerance on the Frank-Wolfe gap, relative to ``1 + |l_i|``
        (default ``sqrt`` of the machine epsilon; static).

    Returns:
      ``Gap``.

    Examples:
      >>> import jaxgan as jg
      >>> game = jg.Game(lambda x, y: (x - y) ** 2, lambda x, y: (y - 0.5) ** 2)
      >>> box = jg.Box(jg.Joint(-1.0, -1.0), jg.Joint(1.0, 1.0))
      >>> gap = jg.nash_gap(game, jg.Joint(0.0, 0.0), box)
      >>> [round(float(v), 8) for v in gap.improvements]  # (x - y)^2 at x = y: 0; (0 - 0.5)^2
      [0.0, 0.25]
    """
    return _gap(game, w, domain, "nash_gap", maxiter, tol)


@domains(maxiter=Integer(1), tol=Maybe(Real(0, low_open=True, static=True)))
def duality_gap(game, w, domain, *, maxiter: int = 2000, tol=None) -> Gap:
    """The duality gap of a zero-sum game at a point over a box.

    .. math:: \\operatorname{gap}(x, y) = \\max_{y' \\in Y} f(x, y') - \\min_{x' \\in X} f(x', y)

    for ``min_x max_y f`` (``jaxgan.zero_sum(f)``: ``loss_g = f``, ``loss_d = -f``). It is the
    Nash gap of the zero-sum game: zero exactly at a saddle point in the box for a
    convex-concave ``f``. A bilinear ``f = x^T A y`` on ``[-1, 1]`` boxes has the closed form
    ``|A^T x|_1 + |A y|_1``; its responses are the box's vertices and are found exactly. A
    general-sum game is refused (``nash_gap`` is its measure), and so is a game declared
    zero-sum whose losses do not sum to zero at ``w`` (a strategically zero-sum game).

    Args:
      game: a zero-sum ``Game`` (``jaxgan.zero_sum``).
      w: the point ``(x, y)``, a ``Joint``.
      domain: a ``jaxgan.Box(lo, hi)`` of ``Joint`` bounds (scalars broadcast), finite.
      maxiter: iterations of each best response at most (static).
      tol: the best responses' tolerance (see ``nash_gap``; static).

    Returns:
      ``Gap`` (``improvements``: ``max_y' f(x, y') - f(x, y)`` and ``f(x, y) - min_x' f(x',
      y)``).

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> A = jnp.array([[1.0, -2.0], [0.5, 1.0]])
      >>> game = jg.zero_sum(lambda x, y: x @ A @ y)
      >>> x, y = jnp.array([0.2, -0.4]), jnp.array([0.5, 0.1])
      >>> box = jg.Box(jg.Joint(-1.0, -1.0), jg.Joint(1.0, 1.0))
      >>> gap = jg.duality_gap(game, jg.Joint(x, y), box)
      >>> bool(jnp.isclose(gap.value, jnp.abs(A.T @ x).sum() + jnp.abs(A @ y).sum()))
      True
    """
    where = "duality_gap"
    game, w = _checked(game, w, where)
    if not isinstance(game, Game) or not game.zero_sum:
        raise ValueError(
            f"{where}: `game` must be a zero-sum game (jaxgan.zero_sum(f), loss_d = -loss_g); "
            f"got {describe(game)} without that declaration. A general-sum game's distance to an "
            "equilibrium is jaxgan.nash_gap."
        )
    if isinstance(w, Joint) and not any(isinstance(x, jax.core.Tracer) for x in jax.tree.leaves(w)):
        try:
            total = float(game.loss_g(w.phi, w.theta) + game.loss_d(w.phi, w.theta))
            scale = 1.0 + abs(float(game.loss_g(w.phi, w.theta)))
        except Exception:  # the point's own errors are check_point's, with their message
            total, scale = 0.0, 1.0
        if not abs(total) <= 1e-12 * scale:
            raise ValueError(
                f"{where}: `game` is declared zero-sum but loss_g + loss_d = {total:.3g} at `w` "
                "(a strategically zero-sum game, not min-max of one f); its duality gap is "
                "undefined, and jaxgan.nash_gap measures it."
            )
    return _gap(game, w, domain, where, maxiter, tol)


__all__ = ["Gap", "duality_gap", "nash_gap"]
