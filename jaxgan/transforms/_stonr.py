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

STON'R works coordinate by coordinate on a box. ``jaxgan.best_response`` is the
joint-level, unconstrained adaptation seed 001 argues for: it keeps *all* of the
discriminator's coordinates satisfied at once (the manifold ``grad_theta loss_d = 0`` is
the ridge of the last ``m`` coordinates) while the generator moves along it, with no
boundary and hence no backtracking.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from .._checks import check_game, check_joint
from .._field import simultaneous_gradient
from .._game import Box, Game, Joint
from .._cache import compiled

#: event codes in ``StonrResult.event_log``
GOOD, BAD, MIDDLING = 1, 2, 3
#: ``StonrResult.status`` codes
TERMINATED, ITERATION_CAP, NON_FINITE = 0, 1, 2
STATUS_NAMES = ("terminated", "iteration cap", "non-finite")
#: ``StonrResult.local_type`` codes
FIRST_ORDER, LOCAL_MINMAX, LOCAL_NASH = 0, 1, 2
LOCAL_TYPES = ("first-order", "local min-max", "local Nash")


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
      >>> tx = jg.stonr(jg.Box(jg.Joint(0.0, 0.0), jg.Joint(1.0, 1.0)))
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


class _Cube(NamedTuple):
    """The box as an affine map of the unit cube, on flat vectors."""

    lo: jax.Array
    scale: jax.Array
    unravel: object
    n_phi: int


def _check_box(box, where) -> Box:
    if not isinstance(box, Box):
        if isinstance(box, (tuple, list)) and len(box) == 2:
            box = Box(*box)
        else:
            raise TypeError(f"{where}: `box` must be a jaxgan.Box(lo, hi) (or a pair) of Joint bounds, got {type(box).__name__}.")
    for name in ("lo", "hi"):
        if not isinstance(getattr(box, name), Joint):
            raise TypeError(f"{where}: `box.{name}` must be a jaxgan.Joint, got {type(getattr(box, name)).__name__}.")
    if jax.tree.structure(box.lo) != jax.tree.structure(box.hi):
        raise ValueError(f"{where}: `box.lo` and `box.hi` have different tree structures.")
    for a, b in zip(jax.tree.leaves(box.lo), jax.tree.leaves(box.hi)):
        if np.shape(a) != np.shape(b):
            raise ValueError(f"{where}: `box.lo` and `box.hi` leaves have shapes {np.shape(a)} and {np.shape(b)}.")
        if isinstance(a, jax.core.Tracer) or isinstance(b, jax.core.Tracer):
            continue  # traced bounds are the caller's to check
        if not np.all(np.asarray(a) < np.asarray(b)):
            raise ValueError(f"{where}: the box needs lo < hi in every coordinate (got lo >= hi somewhere).")
    return box


def _check_inside(params, box: Box, where: str) -> None:
    """Refuse a concrete start outside the box (STON'R would otherwise clip it silently)."""
    for p, a, b in zip(jax.tree.leaves(params), jax.tree.leaves(box.lo), jax.tree.leaves(box.hi)):
        if any(isinstance(x, jax.core.Tracer) for x in (p, a, b)):
            continue
        p = np.asarray(p)
        if not np.all(np.isfinite(p)):
            raise ValueError(f"{where}: `params` has non-finite values (NaN or inf).")
        if not np.all((np.asarray(a) <= p) & (p <= np.asarray(b))):
            raise ValueError(f"{where}: the start `params` lies outside the box; start inside it (e.g. at a corner).")


def _cube(box: Box) -> _Cube:
    lo, unravel = ravel_pytree(jax.tree.map(jnp.asarray, box.lo))
    hi, _ = ravel_pytree(jax.tree.map(jnp.asarray, box.hi))
    n_phi = ravel_pytree(box.lo.phi)[0].size
    return _Cube(lo, hi - lo, unravel, n_phi)


def _improvement(game: Game, cube: _Cube):
    """``z -> V(z)``: minus the simultaneous gradient in cube coordinates."""
    field = simultaneous_gradient(game)

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
    idx = jnp.arange(d)

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

    del idx
    return jax.lax.fori_loop(0, iters, body, z)


def stonr(box, *, step_size: float = 1e-2, tol: Optional[float] = None, corrector_steps: int = 3) -> optax.GradientTransformationExtraArgs:
    """STON'R as an optax-style transformation: each ``update`` is one STON'R iteration
    (an event's bookkeeping, or one predictor-corrector move along the ridge) and returns
    the displacement; ``run_stonr`` drives it to termination. See the module docstring
    for the algorithm.

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
      >>> out = jg.run_stonr(game, box)
      >>> round(float(out.point.phi), 6), round(float(out.point.theta), 6), out.status_name
      (0.5, 0.5, 'terminated')
    """
    box = _check_box(box, "stonr")
    cube = _cube(box)
    d = int(cube.lo.size)

    def init_fn(params):
        check_joint(params, "stonr.init", "params")
        _check_inside(params, box, "stonr.init")
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
        del updates, extra_args
        game = check_game(game, "stonr")
        if params is None:
            raise ValueError("stonr needs the current parameters: call `update(xi, state, params, game=game)`.")
        w = ravel_pytree(jax.tree.map(jnp.asarray, params))[0]
        if w.size != d:
            raise ValueError(f"stonr: `params` have {w.size} coordinates but the box has {d}.")
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
        good = ~state.done & ~state.fresh & (zero | ((zi <= 0) & (vi < eps)) | ((zi >= 1) & (vi > -eps)))

        direction = _direction(jac, i, S)
        T = S | (idx == i)
        outward = T & (((z <= 0) & (direction < 0)) | ((z >= 1) & (direction > 0)))
        bad = ~state.done & ~good & jnp.any(outward)
        j_bad = jnp.argmax(outward)

        # predictor-corrector move along the ridge
        h = jnp.asarray(step_size, dtype)
        z_pred = jnp.clip(z + h * direction, 0.0, 1.0)
        z_new = _newton(vfn, jfn, z_pred, S, extra_row=direction, extra_rhs=direction @ z_pred, iters=corrector_steps)
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
        event = jnp.where(good, GOOD, jnp.where(bad, BAD, jnp.where(middling, MIDDLING, 0))).astype(jnp.int32)
        coord = jnp.where(good, i, jnp.where(bad, j_bad, jnp.where(middling, j_mid, i))).astype(jnp.int32)
        counts = state.counts + jnp.stack([good, bad, middling, move]).astype(jnp.int32)
        done = state.done | (good & (i_good >= d))
        new_dir = jnp.where(move, direction, state.direction)
        fresh = jnp.where(bad, back, jnp.where(move, False, state.fresh))
        new_state = StonrState(new_i.astype(jnp.int32), new_S, new_dir, event, coord, counts, fresh, done)
        w_out = cube.lo.astype(dtype) + cube.scale.astype(dtype) * z_out
        _, unravel = ravel_pytree(params)
        return jax.tree.map(lambda a, b: (a - jnp.asarray(b)).astype(jnp.result_type(b)), unravel(w_out), params), new_state

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


class StonrResult(NamedTuple):
    """The result of ``run_stonr``.

    Attributes:
      point: the last point (a ``Joint``).
      path: ``(max_steps + 1, d)`` the flat points visited (rows after ``steps`` repeat the last).
      steps: iterations used.
      status: 0 terminated, 1 iteration cap, 2 non-finite (``status_name``).
      counts: ``(good, bad, middling, moves)``.
      event_log: ``(max_events, 3)`` rows ``(iteration, event, coordinate)`` of the events
        (event 1 good, 2 bad, 3 middling); unused rows are ``-1``.
      residual: ``|w - Pi_box(w - xi(w))|_inf``: zero exactly at first-order min-max points.
      local_type: 0 first-order only, 1 strict local min-max, 2 strict local Nash
        (``local_type_name``), from the Hessian blocks of the interior coordinates.

    Examples:
      >>> import jaxgan as jg
      >>> jg.StonrResult._fields[:4]
      ('point', 'path', 'steps', 'status')
    """

    point: Joint
    path: jax.Array
    steps: jax.Array
    status: jax.Array
    counts: jax.Array
    event_log: jax.Array
    residual: jax.Array
    local_type: jax.Array

    @property
    def status_name(self) -> str:
        return STATUS_NAMES[int(self.status)]

    @property
    def local_type_name(self) -> str:
        return LOCAL_TYPES[int(self.local_type)]


def certificate(game: Game, box, w: Joint):
    """The first-order certificate of a point of a box game: the residual
    ``|w - Pi_box(w - xi(w))|_inf`` (in the box's units) and the local type.

    The type uses the interior coordinates (strictly inside the box): with ``J = d xi /
    dw`` split by player, a strict local Nash point has ``J_phiphi`` and ``J_thetatheta``
    positive definite; a strict local min-max point has ``J_thetatheta`` positive definite
    and the Schur complement ``J_phiphi - J_phitheta J_thetatheta^{-1} J_thetaphi``
    positive definite (for ``min_x max_y f``: ``-H_yy`` and ``H_xx - H_xy H_yy^{-1}
    H_yx``).

    Returns:
      ``(residual, local_type)`` with ``local_type`` 0, 1 or 2 (``LOCAL_TYPES``).

    Examples:
      >>> import jaxgan as jg
      >>> game = jg.zero_sum(lambda x, y: (x - 0.5) ** 2 - (y - 0.5) ** 2)
      >>> box = jg.Box(jg.Joint(0.0, 0.0), jg.Joint(1.0, 1.0))
      >>> r, t = jg.stonr_certificate(game, box, jg.Joint(0.5, 0.5))
      >>> float(r), jg.transforms.LOCAL_TYPES[int(t)]
      (0.0, 'local Nash')
    """
    game = check_game(game, "certificate")
    box = _check_box(box, "certificate")
    box = Box(*(jax.tree.map(jnp.asarray, b) for b in box))
    return compiled("stonr_certificate", lambda g: lambda b, p: _certificate(g, b, p), (game,))(box, jax.tree.map(jnp.asarray, w))


def _certificate(game: Game, box: Box, w: Joint):
    """The traceable body of ``certificate``."""
    cube = _cube(box)
    z, unravel = ravel_pytree(jax.tree.map(jnp.asarray, w))
    dtype = z.dtype
    field = simultaneous_gradient(game)

    def xi_flat(x):
        return ravel_pytree(field(unravel(x)))[0]

    lo, hi = cube.lo.astype(dtype), (cube.lo + cube.scale).astype(dtype)
    xi = xi_flat(z)
    residual = jnp.max(jnp.abs(z - jnp.clip(z - xi, lo, hi)))
    jac = jax.jacfwd(xi_flat)(z)
    d = z.size
    idx = jnp.arange(d)
    span = hi - lo
    interior = (z > lo + 1e-9 * span) & (z < hi - 1e-9 * span)
    is_phi = idx < cube.n_phi
    eye = jnp.eye(d, dtype=dtype)
    keep = interior[:, None] & interior[None, :]
    jm = jnp.where(keep, jac, eye)
    both_phi = is_phi[:, None] & is_phi[None, :]
    both_theta = ~is_phi[:, None] & ~is_phi[None, :]
    a = jnp.where(both_phi, jm, 0.0) + jnp.where(~both_phi, eye, 0.0)
    c = jnp.where(both_theta, jm, 0.0) + jnp.where(~both_theta, eye, 0.0)
    b = jnp.where(is_phi[:, None] & ~is_phi[None, :], jm, 0.0)
    b2 = jnp.where(~is_phi[:, None] & is_phi[None, :], jm, 0.0)

    def pd(m):
        return jnp.min(jnp.linalg.eigvalsh((m + m.T) / 2)) > 0

    schur = a - b @ jnp.linalg.solve(c, b2)
    nash = pd(a) & pd(c)
    minmax = pd(c) & pd(jnp.where(both_phi, schur, eye))
    local_type = jnp.where(nash, LOCAL_NASH, jnp.where(minmax, LOCAL_MINMAX, FIRST_ORDER))
    return residual, local_type.astype(jnp.int32)


def run_stonr(
    game: Game,
    box,
    *,
    corner=None,
    step_size: float = 1e-2,
    tol: Optional[float] = None,
    max_steps: int = 20000,
    max_events: int = 256,
) -> StonrResult:
    """Run STON'R to termination under ``jax.lax.while_loop``.

    Starts at the box's lower corner (the algorithm's start ``z = 0``), or at the corner
    given by ``corner`` (a ``(d,)`` 0/1 array: the box is reflected in those coordinates,
    which is again a box game with the same first-order points; vmap over corners for
    several paths). Stops when every coordinate is satisfied (``status`` 0), at
    ``max_steps`` (1) or on a non-finite value (2). One compiled program (the run and its
    certificate) per game and static ``step_size``, ``tol``, ``max_steps``, ``max_events``;
    the box and the corner are traced.

    Args:
      game: a ``Game`` (``zero_sum(f)`` for ``min_x max_y f``).
      box: ``Box(lo, hi)`` of ``Joint`` bounds (``lo < hi``).
      corner: optional start corner (traceable).
      step_size: arc length per move in the unit cube.
      tol: the zero test for ``V_i``.
      max_steps: iteration cap (static).
      max_events: rows of the event log (static).

    Returns:
      A ``StonrResult`` with the certificate.

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> a = jnp.array([[1.0, -1.0], [-1.0, 1.0]])  # matching pennies, mixed strategies
      >>> game = jg.zero_sum(lambda x, y: jnp.array([x, 1 - x]) @ a @ jnp.array([y, 1 - y]))
      >>> out = jg.run_stonr(game, jg.Box(jg.Joint(0.0, 0.0), jg.Joint(1.0, 1.0)))
      >>> round(float(out.point.phi), 4), round(float(out.point.theta), 4), float(out.residual) < 1e-5
      (0.5, 0.5, True)
    """
    game = check_game(game, "run_stonr")
    box = _check_box(box, "run_stonr")
    if not isinstance(max_steps, int) or max_steps < 1:
        raise ValueError(f"run_stonr: `max_steps` must be a positive int, got {max_steps!r}.")
    d = sum(int(np.size(x)) for x in jax.tree.leaves(box.lo))
    dtype = jnp.result_type(*jax.tree.leaves(jax.tree.map(jnp.asarray, box.lo)), float)
    if corner is None:
        corner = jnp.zeros(d, dtype)
    corner = jnp.asarray(corner, dtype)
    if corner.shape != (d,):
        raise ValueError(f"run_stonr: `corner` must have shape ({d},), got {corner.shape}.")
    c = None if isinstance(corner, jax.core.Tracer) else np.asarray(corner)
    if c is not None and not np.all((c == 0) | (c == 1)):
        raise ValueError(
            f"run_stonr: `corner` must be a corner of the unit cube (entries 0 or 1: 0 for the lower bound, 1 for the upper), "
            f"got {c.tolist()[:8]}."
        )
    if not isinstance(max_events, int) or isinstance(max_events, bool) or max_events < 1:
        raise ValueError(f"run_stonr: `max_events` must be a positive int, got {max_events!r}.")
    box = Box(*(jax.tree.map(jnp.asarray, b) for b in box))
    options = (float(step_size), None if tol is None else float(tol), int(max_steps), int(max_events))
    return compiled("run_stonr", _stonr_program, (game,), options)(box, corner)


def _stonr_program(game, step_size, tol, max_steps, max_events):
    """``(box, corner) -> StonrResult``: one compiled STON'R run with its certificate."""

    def program(box, corner):
        cube = _cube(box)
        d = int(cube.lo.size)
        dtype = cube.lo.dtype
        flip = 1 - 2 * corner  # reflect the flagged coordinates: z' = corner + flip * z
        unravel = cube.unravel

        def to_box(zr):
            return cube.lo.astype(dtype) + cube.scale.astype(dtype) * (corner + flip * zr)

        def loss(which):
            def fn(phi, theta):
                w = ravel_pytree(Joint(phi, theta))[0]
                return getattr(game, which)(*unravel(to_box(w)))

            return fn

        # the reflected game on the unit cube (its own box is [0, 1]^d)
        reflected = Game(loss_g=loss("loss_g"), loss_d=loss("loss_d"), name=game.name)
        unit = Box(*(jax.tree.map(lambda x, v=v: np.full(np.shape(x), v, dtype), box.lo) for v in (0.0, 1.0)))
        tx = stonr(unit, step_size=step_size, tol=tol)
        w0 = unravel(jnp.zeros(d, dtype))
        field = simultaneous_gradient(reflected)
        path0 = jnp.zeros((max_steps + 1, d), dtype).at[0].set(jnp.zeros(d, dtype))
        log0 = -jnp.ones((max_events, 3), jnp.int32)

        def cond(c):
            w, s, k, _, _, _, bad = c
            return (k < max_steps) & ~s.done & ~bad

        def body(c):
            w, s, k, path, log, n_log, _ = c
            u, s = tx.update(field(w), s, w, game=reflected)
            w = optax.apply_updates(w, u)
            flat = ravel_pytree(w)[0]
            path = path.at[k + 1].set(flat)
            row = jnp.stack([k, s.event, s.coord]).astype(jnp.int32)
            log = jnp.where(s.event > 0, log.at[jnp.minimum(n_log, max_events - 1)].set(row), log)
            n_log = n_log + (s.event > 0)
            return w, s, k + 1, path, log, n_log, ~jnp.all(jnp.isfinite(flat))

        init = (w0, tx.init(w0), jnp.asarray(0, jnp.int32), path0, log0, jnp.asarray(0, jnp.int32), jnp.asarray(False))
        w, s, k, path, log, _, bad = jax.lax.while_loop(cond, body, init)
        path = jnp.where(jnp.arange(max_steps + 1)[:, None] <= k, path, path[k])
        status = jnp.where(bad, NON_FINITE, jnp.where(s.done, TERMINATED, ITERATION_CAP)).astype(jnp.int32)
        point = unravel(to_box(ravel_pytree(w)[0]))
        residual, local_type = _certificate(game, box, point)
        return StonrResult(point, jax.vmap(to_box)(path), k, status, s.counts, log, residual, local_type)

    return program
