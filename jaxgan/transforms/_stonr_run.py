"""The STON'R driver: ``run_stonr`` iterates the ``stonr`` transform to termination under
``lax.while_loop`` and returns the point, its path, its events and its certificate."""

from __future__ import annotations

from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from .._core.field import game_field
from .._core.game import Box, Game, Joint
from .._core.status import RESULTS
from .._validation.cache import compiled
from .._validation.checks import check_field, check_game
from .._validation.domains import Integer, Maybe, Real, domains
from ._box import check_box, unit_cube
from ._stonr import stonr
from ._stonr_certificate import LOCAL_TYPES, first_order_certificate

__all__ = ["StonrResult", "run_stonr"]


class StonrResult(NamedTuple):
    """The result of ``run_stonr``.

    Attributes:
      point: the last point (a ``Joint``).
      path: ``(max_steps + 1, d)`` the flat points visited (rows after ``steps`` repeat the last).
      steps: iterations used.
      status: the outcome (``jaxgan.RESULTS``): ``converged`` (every coordinate satisfied:
        STON'R terminated), ``bounded`` (the iteration cap came first; the iterate stays in
        the box) or ``non_finite`` (``status_name`` is its ``RESULTS`` label).
      counts: ``(good, bad, middling, moves)``.
      event_log: ``(max_events, 3)`` rows ``(iteration, event, coordinate)`` of the events
        (event 1 good, 2 bad, 3 middling); unused rows are ``-1``.
      residual: ``|w - Pi_box(w - xi(w))|_inf``: zero exactly at first-order min-max points.
      local_type: 0 first-order only, 1 strict local min-max, 2 strict local Nash
        (``local_type_name``), from the Hessian blocks of the interior coordinates.

    Examples:
      >>> import jaxgan as jg
      >>> jg.transforms.StonrResult._fields[:4]
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
        return RESULTS(int(self.status)).label

    @property
    def local_type_name(self) -> str:
        return LOCAL_TYPES(int(self.local_type)).label


@domains(
    step_size=Real(0, low_open=True, static=True),
    tol=Maybe(Real(0, low_open=True, static=True)),
    max_steps=Integer(1),
    max_events=Integer(1),
)
def run_stonr(
    game: Game,
    box: Box,
    *,
    corner: Optional[jax.typing.ArrayLike] = None,
    step_size: float = 1e-2,
    tol: Optional[float] = None,
    max_steps: int = 20000,
    max_events: int = 256,
) -> StonrResult:
    """Run STON'R to termination under ``jax.lax.while_loop``.

    Starts at the box's lower corner (the algorithm's start ``z = 0``), or at the corner
    given by ``corner`` (a ``(d,)`` 0/1 array: the box is reflected in those coordinates,
    which is again a box game with the same first-order points; vmap over corners for
    several paths). Stops when every coordinate is satisfied (``status`` is
    ``RESULTS.converged``), at ``max_steps`` (``RESULTS.bounded``: the iterate never leaves
    the box) or on a non-finite value (``RESULTS.non_finite``). One compiled program (the run
    and its certificate) per game and static ``step_size``, ``tol``, ``max_steps``, ``max_events``;
    the box and the corner are traced.

    Args:
      game: a ``Game`` (``zero_sum(f)`` for ``min_x max_y f``).
      box: ``Box(lo, hi)`` of ``Joint`` bounds (``lo < hi``; traced).
      corner: optional start corner (traceable).
      step_size: arc length per move in the unit cube (static).
      tol: the zero test for ``V_i`` (static); default ``1e3 eps``.
      max_steps: iteration cap (static).
      max_events: rows of the event log (static).

    Returns:
      A ``StonrResult`` with the certificate.

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> a = jnp.array([[1.0, -1.0], [-1.0, 1.0]])  # matching pennies, mixed strategies
      >>> game = jg.zero_sum(lambda x, y: jnp.array([x, 1 - x]) @ a @ jnp.array([y, 1 - y]))
      >>> out = jg.transforms.run_stonr(game, jg.Box(jg.Joint(0.0, 0.0), jg.Joint(1.0, 1.0)))
      >>> round(float(out.point.phi), 4), round(float(out.point.theta),
      ... 4), float(out.residual) < 1e-5
      (0.5, 0.5, True)
    """
    game = check_game(game, "run_stonr", two_player="stonr")
    box = check_box(box, "run_stonr", strict=True)
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
            "run_stonr: `corner` must be a corner of the unit cube "
            f"(entries 0 or 1: 0 for the lower bound, 1 for the upper), got {c.tolist()[:8]}."
        )
    box = Box(*(jax.tree.map(jnp.asarray, b) for b in box))
    check_field(
        game, box.lo, "run_stonr"
    )  # the field at the box's shapes (the run's own points are inside it)
    options = (
        float(step_size),
        None if tol is None else float(tol),
        int(max_steps),
        int(max_events),
    )
    return compiled("run_stonr", _stonr_program, (game,), options)(box, corner)


def _stonr_program(game, step_size, tol, max_steps, max_events):
    """``(box, corner) -> StonrResult``: one compiled STON'R run with its certificate."""

    def program(box, corner):
        cube = unit_cube(box)
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

        def reflected_field(wz):
            # the chain rule through z -> to_box(z): the game's own field (a hand-derived or a
            # modified one included), scaled per coordinate
            z, back = ravel_pytree(wz)
            xi = ravel_pytree(game_field(game)(unravel(to_box(z))))[0]
            return back(xi * (cube.scale * flip).astype(xi.dtype))

        # the reflected game on the unit cube (its own box is [0, 1]^d)
        reflected = Game(
            loss_g=loss("loss_g"),
            loss_d=loss("loss_d"),
            grad_fn=None if game.grad_fn is None else reflected_field,
            name=game.name,
            field_from_losses=game.field_from_losses,
        )
        unit = Box(
            *(
                jax.tree.map(lambda x, v=v: np.full(np.shape(x), v, dtype), box.lo)
                for v in (0.0, 1.0)
            )
        )
        tx = stonr(unit, step_size=step_size, tol=tol)
        w0 = unravel(jnp.zeros(d, dtype))
        field = game_field(reflected)
        path0 = jnp.zeros((max_steps + 1, d), dtype)  # row 0: the start z = 0
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

        init = (
            w0,
            tx.init(w0),
            jnp.asarray(0, jnp.int32),
            path0,
            log0,
            jnp.asarray(0, jnp.int32),
            jnp.asarray(False),
        )
        w, s, k, path, log, _, bad = jax.lax.while_loop(cond, body, init)
        path = jnp.where(jnp.arange(max_steps + 1)[:, None] <= k, path, path[k])
        status = jnp.where(
            bad, RESULTS.non_finite, jnp.where(s.done, RESULTS.converged, RESULTS.bounded)
        ).astype(jnp.int32)
        point = unravel(to_box(ravel_pytree(w)[0]))
        residual, local_type = first_order_certificate(game, box, point)
        return StonrResult(
            point, jax.vmap(to_box)(path), k, status, s.counts, log, residual, local_type
        )

    return program
