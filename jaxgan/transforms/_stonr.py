"""STay-ON-the-Ridge (STON'R; Daskalakis, Golowich, Skoulakis & Zampetakis 2022) on boxes.

The problem is ``min_{x in box_x} max_{y in box_y} f(x, y)`` (or any two-player game whose
players minimise their own losses on a box). The box is mapped to the unit cube ``[0,
1]^d`` (``x`` coordinates first, then ``y``) and ``V_j = -d loss_{player(j)} / d z_j`` is the
improvement direction of coordinate ``j`` (``-df/dx_j`` for the min player, ``+df/dy_j`` for
the max player; ``V = -xi`` in the cube's coordinates). Coordinate ``j`` is *satisfied*
when it cannot improve: ``V_j = 0`` inside ``(0, 1)`` (it joins ``S``, the zero-satisfied
set), or it sits on a face with ``V_j`` pointing out of the box.

The algorithm satisfies the coordinates in order. In phase ``i`` the coordinates
``j < i`` are satisfied, those ``j > i`` sit at their start ``0``; the points with
``V_S = 0`` and the boundary coordinates fixed form (generically) a curve in the
coordinates ``T = S + {i}``, and STON'R moves along it with unit speed in the direction
``d`` spanning the null space of ``J_{S,T}`` (``J = dV/dz``), oriented by
``sign det([J_{S,T}^T | d]) = (-1)^|S|``, until an event:

* good: ``i`` becomes satisfied (``V_i = 0``: ``i`` joins ``S``; or on a face with ``V_i``
  pointing out); then ``i <- i + 1``, and the algorithm ends when ``i`` passes ``d``;
* bad: a coordinate of ``T`` reaches a face moving out. If it is ``i`` (it came back to its
  start face), backtrack: ``i <- i - 1`` and ``i - 1`` leaves ``S``; otherwise the
  coordinate leaves ``S`` and stays on its face;
* middling: a coordinate ``j < i`` on a face stops being satisfied (``V_j`` turns inward):
  it joins ``S``.

Each move is a predictor step ``z + h d`` and a Newton corrector back onto ``V_S = 0``;
the crossing of ``V_i = 0`` is located by a secant step and Newton on ``V_T = 0``, so the
returned point satisfies the first-order conditions to the solver's precision. The
result carries a certificate: the residual ``|w - Pi_box(w - xi(w))|_inf`` of the
variational inequality, and the local type from the Hessian blocks of the interior
coordinates.

STON'R works coordinate by coordinate on a box. ``jaxgan.transforms.best_response`` is the
joint-level, unconstrained adaptation Ehab (2023) argues for: it keeps *all* of the
discriminator's coordinates satisfied at once (the manifold ``grad_theta loss_d = 0`` is
the ridge of the last ``m`` coordinates) while the generator moves along it, with no
boundary and hence no backtracking.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp
import optax
from jax.flatten_util import ravel_pytree

from .._core.algebra import Info, Role, transformation
from .._core.field import game_field
from .._core.game import Box, Game, Joint
from .._validation.checks import check_joint, checked_game_update, require_joint
from .._validation.domains import Integer, Maybe, Real, domains
from ._box import Cube, check_box, check_inside, unit_cube

__all__ = ["StonrState", "stonr"]

#: event codes in ``StonrResult.event_log``
GOOD, BAD, MIDDLING = 1, 2, 3


class StonrState(NamedTuple):
    """State of the ``stonr`` transform.

    Attributes:
      i: the coordinate being satisfied (0-based; ``d`` when done).
      S: the zero-satisfied coordinates (bool ``(d,)``).
      direction: the last unit direction in the cube (its sign is the orientation kept).
      event: the last step's event (0 move, 1 good, 2 bad, 3 middling).
      coord: the coordinate of the last event.
      counts: ``(good, bad, middling, moves)`` so far.
      fresh: the phase was just re-entered by backtracking, at a point where its
        coordinate is still satisfied: it must move before a good exit can count.
      done: all coordinates satisfied.

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> tx = jg.transforms.stonr(jg.Box(jg.Joint(0.0, 0.0), jg.Joint(1.0, 1.0)))
      >>> state = tx.init(jg.Joint(jnp.asarray(0.2), jnp.asarray(0.3)))
      >>> int(state.i), state.S.tolist(), bool(state.done)
      (0, [False, False], False)
    """

    i: jax.Array
    S: jax.Array
    direction: jax.Array
    event: jax.Array
    coord: jax.Array
    counts: jax.Array
    fresh: jax.Array
    done: jax.Array


def _improvement(game: Game, cube: Cube):
    """``z -> V(z)``: minus the simultaneous gradient in cube coordinates."""
    field = game_field(game)

    def v(z):
        w = cube.unravel(cube.lo.astype(z.dtype) + cube.scale.astype(z.dtype) * z)
        return -ravel_pytree(field(w))[0] * cube.scale.astype(z.dtype)

    return v


def _direction(jac, i, S):
    """Unit null vector of ``J_{S, T}`` (``T = S + {i}``), oriented by
    ``sign det([J_{S,T}^T | d]) = (-1)^|S|``; zeros off ``T``."""
    d = jac.shape[0]
    idx = jnp.arange(d)
    T = S | (idx == i)
    eye = jnp.eye(d, dtype=jac.dtype)
    rows = jnp.where(S[:, None], jac * T[None, :], eye * (~T)[:, None])  # row i is zero
    u = jnp.linalg.svd(rows)[2][-1]  # the right singular vector of the zero singular value
    u = jnp.where(T, u, 0.0)
    u = u / jnp.maximum(jnp.linalg.norm(u), jnp.finfo(jac.dtype).tiny)
    # orientation: columns J_j (j in S) then u, in coordinate order (i is the largest of T)
    cols = jnp.where(S[None, :], jac.T * T[:, None], eye * (~T)[None, :])
    det = jnp.linalg.det(cols.at[:, i].set(u))
    sign = jnp.where(jnp.sum(S) % 2 == 0, 1.0, -1.0)
    return jnp.where(jnp.sign(det) == sign, u, -u).astype(jac.dtype)


def _newton(vfn, jfn, z, rows_mask, extra_row=None, extra_rhs=None, iters=3):
    """Newton on ``V_j(z) = 0`` for ``j`` in ``rows_mask`` over those coordinates plus the
    one carried by ``extra_row`` (a hyperplane ``extra_row . z = extra_rhs``)."""
    d = z.shape[0]

    def body(_, z):
        v, jac = vfn(z), jfn(z)
        cols = rows_mask | (jnp.zeros(d, bool) if extra_row is None else extra_row != 0)
        eye = jnp.eye(d, dtype=z.dtype)
        m = jnp.where(rows_mask[:, None], jac * cols[None, :], eye * (~cols)[:, None])
        rhs = jnp.where(rows_mask, -v, 0.0)
        if extra_row is not None:
            k = jnp.argmax(jnp.abs(extra_row) * ~rows_mask)
            m = m.at[k].set(extra_row)
            rhs = rhs.at[k].set(extra_rhs - extra_row @ z)
        dz = jnp.linalg.solve(m, rhs)
        dz = jnp.where(jnp.isfinite(dz), dz, 0.0)
        return jnp.clip(z + jnp.where(cols | rows_mask, dz, 0.0), 0.0, 1.0)

    return jax.lax.fori_loop(0, iters, body, z)


@domains(
    step_size=Real(0, low_open=True), tol=Maybe(Real(0, low_open=True)), corrector_steps=Integer(1)
)
def stonr(
    box: Box,
    *,
    step_size: jax.typing.ArrayLike = 1e-2,
    tol: Optional[jax.typing.ArrayLike] = None,
    corrector_steps: int = 3,
) -> optax.GradientTransformationExtraArgs:
    """STON'R as an optax-style transformation: each ``update`` is one STON'R iteration.

    An iteration (an event's bookkeeping, or one predictor-corrector move along the ridge)
    returns the displacement; ``run_stonr`` drives it to termination. See the module docstring
    for the algorithm.

    .. math::

        \\dot z_T = d, \\quad d \\in \\operatorname{null}(J_{S,T}), \\quad
        \\operatorname{sign}\\det[J_{S,T}^\\top \\mid d] = (-1)^{|S|}

    Args:
      box: ``Box(lo, hi)`` of ``Joint`` bounds.
      step_size: arc length of a move in the unit cube.
      tol: the zero test for ``V_i`` (cube units); default ``1e3 eps``.
      corrector_steps: Newton iterations per move.

    Returns:
      An ``optax.GradientTransformationExtraArgs``; ``update`` needs ``params`` (inside the
      box) and ``game=``. State: ``StonrState``.

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> game = jg.zero_sum(lambda x, y: (x - 0.5) * (y - 0.5))
      >>> box = jg.Box(jg.Joint(0.0, 0.0), jg.Joint(1.0, 1.0))
      >>> out = jg.transforms.run_stonr(game, box)
      >>> round(float(out.point.phi), 6), round(float(out.point.theta), 6), out.status_name
      (0.5, 0.5, 'converged')
    """
    box = check_box(box, "stonr", strict=True)
    cube = unit_cube(box)
    d = int(cube.lo.size)

    def init_fn(params):
        require_joint(params, "stonr.init")
        check_joint(params, "stonr.init", "params")
        check_inside(params, box, "stonr.init")
        dtype = jnp.result_type(*jax.tree.leaves(params))
        int0 = jnp.asarray(0, jnp.int32)
        return StonrState(
            i=int0,
            S=jnp.zeros(d, bool),
            direction=jnp.zeros(d, dtype).at[0].set(1.0),
            event=int0,
            coord=int0,
            counts=jnp.zeros(4, jnp.int32),
            fresh=jnp.asarray(False),
            done=jnp.asarray(False),
        )

    def update_fn(updates, state, params=None, *, game=None, **extra_args):
        if (
            isinstance(params, Joint)
            and sum(int(jnp.size(x)) for x in jax.tree.leaves(params)) != d
        ):
            n = sum(int(jnp.size(x)) for x in jax.tree.leaves(params))
            raise ValueError(f"stonr: `params` have {n} coordinates but the box has {d}.")
        game = checked_game_update(
            updates, params, game, "stonr", joint=("params",), two_player=True
        )
        del updates, extra_args  # STON'R computes its own field in the cube's coordinates
        w = ravel_pytree(jax.tree.map(jnp.asarray, params))[0]
        dtype = w.dtype
        eps = (1e3 * jnp.finfo(dtype).eps) if tol is None else tol
        z = jnp.clip((w - cube.lo.astype(dtype)) / cube.scale.astype(dtype), 0.0, 1.0)
        vfn = _improvement(game, cube)
        jfn = jax.jacfwd(vfn)
        idx = jnp.arange(d)
        i = jnp.minimum(state.i, d - 1)
        S = state.S
        v, jac = vfn(z), jfn(z)
        vi, zi = v[i], z[i]

        # good exit: coordinate i satisfied
        zero = jnp.abs(vi) <= eps
        good = (
            ~state.done
            & ~state.fresh
            & (zero | ((zi <= 0) & (vi < eps)) | ((zi >= 1) & (vi > -eps)))
        )

        direction = _direction(jac, i, S)
        T = S | (idx == i)
        outward = T & (((z <= 0) & (direction < 0)) | ((z >= 1) & (direction > 0)))
        bad = ~state.done & ~good & jnp.any(outward)
        j_bad = jnp.argmax(outward)

        # predictor-corrector move along the ridge
        h = jnp.asarray(step_size, dtype)
        z_pred = jnp.clip(z + h * direction, 0.0, 1.0)
        z_new = _newton(
            vfn,
            jfn,
            z_pred,
            S,
            extra_row=direction,
            extra_rhs=direction @ z_pred,
            iters=corrector_steps,
        )
        v_new = vfn(z_new)
        pinned = (idx < i) & ~S
        turned = pinned & (((z <= 0) & (v_new > 0)) | ((z >= 1) & (v_new < 0)))
        middling = ~state.done & ~good & ~bad & jnp.any(turned)
        j_mid = jnp.argmax(turned)
        move = ~state.done & ~good & ~bad & ~middling

        # the crossing of V_i = 0 inside the step: secant, then Newton on V_T = 0
        crossed = move & (jnp.abs(vi) > eps) & (vi * v_new[i] < 0) & (z_new[i] > 0) & (z_new[i] < 1)
        t = vi / jnp.where(crossed, vi - v_new[i], 1.0)
        z_cross = _newton(vfn, jfn, z + t * (z_new - z), T, iters=corrector_steps + 2)
        z_next = jnp.where(crossed, z_cross, z_new)

        # bookkeeping
        S_good = S.at[i].set(zero)
        i_good = state.i + 1
        back = j_bad == i
        S_bad = jnp.where(back, S.at[jnp.maximum(i - 1, 0)].set(False), S.at[j_bad].set(False))
        i_bad = jnp.where(back, jnp.maximum(state.i - 1, 0), state.i)
        S_mid = S.at[j_mid].set(True)

        new_S = jnp.where(good, S_good, jnp.where(bad, S_bad, jnp.where(middling, S_mid, S)))
        new_i = jnp.where(good, i_good, jnp.where(bad, i_bad, state.i))
        z_out = jnp.where(move, z_next, z)
        event = jnp.where(good, GOOD, jnp.where(bad, BAD, jnp.where(middling, MIDDLING, 0))).astype(
            jnp.int32
        )
        coord = jnp.where(good, i, jnp.where(bad, j_bad, jnp.where(middling, j_mid, i))).astype(
            jnp.int32
        )
        counts = state.counts + jnp.stack([good, bad, middling, move]).astype(jnp.int32)
        done = state.done | (good & (i_good >= d))
        new_dir = jnp.where(move, direction, state.direction)
        fresh = jnp.where(bad, back, jnp.where(move, False, state.fresh))
        new_state = StonrState(
            new_i.astype(jnp.int32), new_S, new_dir, event, coord, counts, fresh, done
        )
        w_out = cube.lo.astype(dtype) + cube.scale.astype(dtype) * z_out
        _, unravel = ravel_pytree(params)
        return jax.tree.map(
            lambda a, b: (a - jnp.asarray(b)).astype(jnp.result_type(b)), unravel(w_out), params
        ), new_state

    info = Info(
        Role.STEP,
        "stonr",
        moves_once=True,
        uses_field=False,
        why="STON'R computes its own field in the box's unit-cube coordinates; "
        "regularise the game instead.",
    )
    return transformation(info, init_fn, update_fn)
