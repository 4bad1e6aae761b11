"""Stability maps: the spectral radius of one algorithm step over a hyperparameter grid,
next to the empirical outcome of the same grid."""

from __future__ import annotations

from typing import Callable, Dict, NamedTuple, Optional, Tuple, Union

import jax
import jax.numpy as jnp
import numpy as np

from .._analysis.spectral import step_spectral_radius
from .._core.game import GAME_TYPES, Game, Joint, is_point
from .._core.status import RESULTS
from .._validation.cache import cached, compiled
from .._validation.checks import (
    ReadKeys,
    accept_transformation,
    check_finite,
    check_game,
    check_joint,
    check_point,
    entry,
    grid_axis,
)
from .._validation.domains import Flag, Integer, IntSequence, Maybe, Real, describe
from .rollout import SweepResult, game_of_grid_point, sweep


class StabilityMap(NamedTuple):
    """The result of ``stability_map`` (flat over the grid; ``shape`` restores it).

    Attributes:
      grid: ``{name: (G,) array}``.
      shape: the grid's shape (``grid_product``'s), or ``(G,)``.
      radius: ``(G,)`` spectral radius of one step at the fixed point (``spectral_radius``: per
        step over the cycle of a periodic step).
      predicted: ``(G,)`` ``radius < 1 - 1e-6``.
      status: ``(G,)`` the sweep's outcome codes (``jaxgan.RESULTS``), or None without runs.
      agree: ``(G,)`` the prediction matches the outcome (converged iff predicted stable),
        or None.
      clear: ``(G,)`` points away from the boundary, ``|radius - 1| > margin``.
      runs: the ``SweepResult`` of the runs (distances, divergence steps), or None.
      dominant: ``(G,)`` the eigenvalue of largest modulus of the step's Jacobian (of its cycle,
        for a periodic step): its sign or its rotation says how stability is lost where
        ``radius`` crosses one (``+1`` a fold, ``-1`` a flip, a complex pair a rotation).

    Examples:
      >>> import jaxgan as jg
      >>> jg.StabilityMap._fields[:4]
      ('grid', 'shape', 'radius', 'predicted')
    """

    grid: Dict[str, jax.Array]
    shape: Tuple[int, ...]
    radius: jax.Array
    predicted: jax.Array
    status: Optional[jax.Array]
    agree: Optional[jax.Array]
    clear: jax.Array
    runs: Optional[SweepResult] = None
    dominant: Optional[jax.Array] = None

    def agreement(self) -> Tuple[int, int]:
        """``(agreeing, compared)`` over the points away from the boundary."""
        if self.agree is None:
            return 0, 0
        clear = np.asarray(self.clear)
        return int(np.sum(np.asarray(self.agree) & clear)), int(clear.sum())


@entry(
    "w_star",
    steps=Maybe(Integer(1)),
    margin=Real(0),
    record_every=Maybe(Integer(1)),
    batch_radius=Flag(),
    shape=Maybe(IntSequence(1)),
)
def stability_map(
    game: Union[Game, Callable[[dict], Game]],
    make_tx: Callable[[dict], object],
    grid: Dict[str, jax.Array],
    *,
    w_star: Optional[Union[Joint, Callable[[dict], Joint]]] = None,
    shape: Optional[Tuple[int, ...]] = None,
    steps: Optional[int] = None,
    w0: Optional[Union[Joint, Callable[[dict], Joint]]] = None,
    margin: float = 0.02,
    record_every: Optional[int] = None,
    devices=None,
    batch_radius: bool = True,
) -> StabilityMap:
    """Stability of any composed algorithm over a grid of hyperparameters.

    The stability is computed and (with ``steps``) measured.

    For each grid point ``h``: the spectral radius of ``update_jacobian(game(h),
    make_tx(h), w_star)`` (one vmapped, jitted program), and with ``steps`` a ``sweep``
    of the same grid from ``w0``. A point is predicted stable when the radius is below
    one; the map agrees with the runs where a predicted-stable point converges and a
    predicted-unstable one does not. Points within ``margin`` of radius one are slow
    either way in finitely many steps and are left out of ``agreement``. The radius
    program is cached by the identity of ``game``, ``make_tx`` (and ``w_star`` when it is a
    function); the grid's values are traced, so a new grid of the same size compiles
    nothing (nor do its runs: ``sweep``'s cache).

    Args:
      game: a ``Game`` or ``h -> Game`` (e.g. a regulariser's weight on the grid).
      make_tx: ``h -> optax transformation``.
      grid: ``{name: (G,) array}`` (``grid_product`` for products).
      w_star: the fixed point (or ``h -> Joint``); default the game's equilibrium.
      shape: the grid's shape, for plots.
      steps: run the sweep for this many steps (None: no runs).
      w0: the runs' start (or ``h -> Joint``); default ``w_star + 0.1``.
      margin: the band around radius one left out of the comparison.
      record_every: the runs' recording interval (``sweep``'s).
      devices: shard the runs over devices (``sweep``'s ``devices``).
      batch_radius: compute the radii in one vmapped program (default); ``False`` compiles
        the one-point program once and loops over the grid, which compiles faster for
        algorithms with inner solver loops (``best_response``, ``follow_the_ridge``).

    Returns:
      A ``StabilityMap``.

    Examples:
      >>> import jax.numpy as jnp, optax, jaxgan as jg
      >>> grid, shape = jg.grid_product(lr=jnp.array([0.1, 0.5, 3.0]), gamma=jnp.array([0.0, 1.0]))
      >>> m = jg.stability_map(jg.games.dirac("wgan"),
      ... lambda h: optax.chain(jg.transforms.jare(h["gamma"]),
      ... optax.sgd(h["lr"])),
      ...                      grid, shape=shape, steps=200)
      >>> m.predicted.reshape(shape).tolist()  # gamma = 0 is SimGD: never stable
      [[False, True], [False, True], [False, False]]
      >>> m.agreement()  # (0.1, 0) has radius 1.005: too close to 1 to compare
      (5, 5)
    """
    game_fn = game_of_grid_point(game, make_tx, "stability_map")
    if not isinstance(grid, dict):
        raise TypeError(
            f"stability_map: `grid` must be a dict {{name: 1-D array}}, got {describe(grid)}."
        )
    if not grid:
        raise ValueError("stability_map: `grid` is empty; give at least one hyperparameter array.")
    grid = {k: grid_axis(v, "stability_map", k, allow_empty=True) for k, v in grid.items()}
    for k, v in grid.items():
        if not isinstance(v, jax.core.Tracer) and not np.all(np.isfinite(np.asarray(v))):
            raise ValueError(f"stability_map: grid axis `{k}` has non-finite values (NaN or inf).")
    size = {int(np.size(v)) for v in grid.values()}
    if len(size) != 1 or 0 in size:
        raise ValueError(
            f"stability_map: every grid array needs the same non-zero length, got {sorted(size)}."
        )
    (g,) = size
    if steps is None:
        ignored = [
            name
            for name, value in (("w0", w0), ("record_every", record_every), ("devices", devices))
            if value is not None
        ]
        if ignored:
            raise ValueError(
                f"stability_map: {', '.join(f'`{n}`' for n in ignored)} set the runs, "
                "and there are runs only with `steps`: pass `steps=` to run the sweep, "
                f"or leave {'it' if len(ignored) == 1 else 'them'} out."
            )
    shape = (g,) if shape is None else tuple(shape)
    if int(np.prod(shape)) != g:
        raise ValueError(f"stability_map: `shape` {shape} does not hold {g} grid points.")

    if w_star is not None and not callable(w_star):
        check_joint(
            w_star, "stability_map", "w_star", game if isinstance(game, GAME_TYPES) else None
        )
        check_finite(w_star, "stability_map", "w_star")
    star_fn = w_star if callable(w_star) else None
    star_value = None if callable(w_star) else w_star
    program = compiled(
        "stability_map", _radius_program, (game, make_tx, star_fn), (bool(batch_radius),)
    )
    if batch_radius:
        radius, dominant, predicted, clear = program(grid, star_value, margin)
    else:
        radius, dominant, predicted, clear = (
            jnp.stack(x)
            for x in zip(
                *(program({k: v[i] for k, v in grid.items()}, star_value, margin) for i in range(g))
            )
        )
    status = agree = None
    if steps is not None:
        start = w0
        if (
            start is None
            and star_fn is None
            and (star_value is not None or isinstance(game, GAME_TYPES))
        ):
            start = jax.tree.map(
                lambda x: x + 0.1 if isinstance(x, jax.core.Tracer) else np.asarray(x) + 0.1,
                _fixed_point(game_fn, None, star_value, None),
            )
        elif (
            start is None
        ):  # the fixed point moves with the grid: one start function per (game, w_star)
            start = cached("stability_map start", _default_start, (game, make_tx, star_fn))
        res = sweep(
            game,
            make_tx,
            start,
            grid,
            steps,
            w_star=w_star if is_point(w_star) else None,
            record_every=record_every,
            devices=devices,
        )
        status = res.status
        agree = predicted == (status == RESULTS.converged)
    return StabilityMap(
        grid,
        shape,
        radius,
        predicted,
        status,
        agree,
        clear,
        res if steps is not None else None,
        dominant,
    )


def _fixed_point(game_fn, star_fn, star_value, h):
    if star_fn is not None:
        return star_fn(h)
    if star_value is not None:
        return star_value
    eq = check_game(game_fn(h), "stability_map").equilibrium
    if eq is None:
        raise ValueError("stability_map: the game has no equilibrium; pass `w_star`.")
    return eq


def _default_start(game, make_tx, star_fn):
    game_fn = game_of_grid_point(game, make_tx, "stability_map")
    return lambda h: jax.tree.map(
        lambda x: jnp.asarray(x) + 0.1, _fixed_point(game_fn, star_fn, None, h)
    )


def _radius_program(game, make_tx, star_fn, batched):
    """``(grid, w_star, margin) -> (radii, dominant eigenvalues, predicted, clear)``: one step's
    spectral radius at each grid point (vmapped), or at one point (``batched=False``: called once
    per point), with the map's verdicts on it (no eager operation after the program)."""
    game_fn = game_of_grid_point(game, make_tx, "stability_map")

    def one(h, star_value):
        h = ReadKeys(h)
        g = check_game(game_fn(h), "stability_map (the game built from the grid)")
        tx = accept_transformation(
            make_tx(h), "stability_map (the transformation made by `make_tx`)", "tx"
        )
        radius, dominant = step_spectral_radius(
            g,
            tx,
            check_point(
                g, _fixed_point(game_fn, star_fn, star_value, h), "stability_map", "w_star"
            ),
            dominant=True,
            where="stability_map",
        )
        h.check_all_read("stability_map")
        return radius, dominant

    def verdicts(radius, dominant, margin):
        return radius, dominant, radius < 1 - 1e-6, jnp.abs(radius - 1) > margin

    if batched:
        return lambda grid, star_value, margin: verdicts(
            *jax.vmap(one, in_axes=(0, None))(grid, star_value), margin
        )
    return lambda h, star_value, margin: verdicts(*one(h, star_value), margin)
