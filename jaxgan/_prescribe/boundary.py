"""``stability_boundary``: every value of one hyperparameter, or one parameter of the game, where
the step's spectral radius at the equilibrium crosses one, and how (fold, flip, Neimark-Sacker).

The radius is evaluated on a grid in one compiled program; every sign change of ``radius - 1``
between two grid points (one strictly below one, the next strictly above, or the reverse) is
refined by bisection in a second program, all brackets at once, to ``1e-12`` of the bracket. A
radius that touches one without crossing it is not a crossing. At each crossing the eigenvalues of
the step's Jacobian (of its cycle, for a periodic step) on the unit circle say its kind: through
``+1`` a fold, through ``-1`` a flip (period doubling), a complex pair a Neimark-Sacker crossing
(a rotation).
"""

from __future__ import annotations

from typing import Dict, NamedTuple, Optional, Tuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._analysis.eig import eigvals
from .._analysis.spectral import step_jacobian, step_spectral_radius
from .._core.field import checked_equilibrium
from .._core.game import GAME_TYPES
from .._validation.cache import compiled
from .._validation.checks import ReadKeys, check_game
from .._validation.domains import Integer, Real, describe, domains
from .tune import check_interval

#: JVPs per batch of the Jacobian at a crossing
CHUNK = 16
#: bisection steps per bracket (``0.5**60`` of a grid cell)
BISECTIONS = 60
#: within this of one (times ``sqrt(eps)``) the radius counts as on the unit circle: no sign
ON_CIRCLE = 10.0
#: kinds of crossing, by the crossing eigenvalue
KINDS = ("fold", "flip", "neimark_sacker")


class Crossing(NamedTuple):
    """A value where the step's spectral radius crosses one.

    Attributes:
      value: the hyperparameter's (or game parameter's) value, to about ``1e-12`` of the grid
        cell around it.
      kind: ``"fold"`` (an eigenvalue through ``+1``), ``"flip"`` (through ``-1``: period
        doubling) or ``"neimark_sacker"`` (a complex pair: a rotation).
      eigenvalues: the eigenvalues of the step's Jacobian (of its cycle, for a periodic step) on
        the unit circle there.
      stable_below: whether the step is stable just below ``value`` (else just above).

    Examples:
      >>> import optax, jaxgan as jg
      >>> game = jg.Game(lambda x, y: 2.0 * x**2, lambda x, y: 0.5 * y**2,
      ...                equilibrium=jg.Joint(0.0, 0.0))
      >>> sgd = lambda h: optax.sgd(h["lr"])
      >>> c = jg.stability_boundary(game, sgd, "lr", (0.01, 3.0)).crossings[0]
      >>> round(c.value, 6), c.kind, c.stable_below  # gradient descent flips at 2 / L, L = 4
      (0.5, 'flip', True)
    """

    value: float
    kind: str
    eigenvalues: Tuple[complex, ...]
    stable_below: bool


class Boundary(NamedTuple):
    """The crossings of radius one over a range, in increasing value.

    Attributes:
      crossings: each a ``Crossing``; empty where the radius never crosses one.
      name: the parameter varied.
      grid: the values of the starting grid, and ``radius`` the radii there.
      radius: the spectral radius (per step) at each grid value.

    Examples:
      >>> import optax, jaxgan as jg
      >>> # a game parameter: the curvature a of a/2 x^2, at lr 0.5: stable for 0 < a < 4
      >>> game = lambda h: jg.Game(lambda x, y: 0.5 * h["a"] * x**2, lambda x, y: 0.5 * y**2,
      ...                          equilibrium=jg.Joint(0.0, 0.0))
      >>> b = jg.stability_boundary(game, lambda h: optax.sgd(0.5), "a", (-1.0, 5.0))
      >>> [(round(c.value, 6) + 0.0, c.kind) for c in b.crossings]
      [(0.0, 'fold'), (4.0, 'flip')]
    """

    crossings: Tuple[Crossing, ...]
    name: str
    grid: np.ndarray
    radius: np.ndarray


def _parts(target, make_tx, name, fixed, w_star):
    """``(game, tx, w)`` at one value ``v`` of ``name`` (traceable)."""

    def at(v):
        h = {name: v, **fixed}
        game = target(h) if not isinstance(target, GAME_TYPES) else target
        w = w_star if w_star is not None else game.equilibrium
        return game, make_tx(h), w

    return at


def _grid_program(target, make_tx, name, fixed_keys, points, has_w):
    def program(low, high, fixed, w_star):
        at = _parts(target, make_tx, name, fixed, w_star if has_w else None)
        values = jnp.linspace(low, high, points)
        return values, jax.vmap(lambda v: step_spectral_radius(*at(v)))(values)

    return program


def _bisect_program(target, make_tx, name, fixed_keys, has_w):
    def program(a, b, below_at_a, fixed, w_star):
        at = _parts(target, make_tx, name, fixed, w_star if has_w else None)

        def one(a, b, below_at_a):
            def body(_, ab):
                lo, hi = ab
                mid = 0.5 * (lo + hi)
                below = step_spectral_radius(*at(mid)) < 1.0
                left = below == below_at_a  # the sign at mid is a's: the crossing is above
                return jnp.where(left, mid, lo), jnp.where(left, hi, mid)

            lo, hi = jax.lax.fori_loop(0, BISECTIONS, body, (a, b))
            return 0.5 * (lo + hi)

        return jax.vmap(one)(a, b, below_at_a)

    return program


def _spectrum_program(target, make_tx, name, fixed_keys, has_w):
    def program(v, fixed, w_star):
        game, tx, w = _parts(target, make_tx, name, fixed, w_star if has_w else None)(v)
        return eigvals(step_jacobian(game, tx, w, None, CHUNK, cycle=True))

    return program


def _kind(lam: np.ndarray) -> Tuple[str, Tuple[complex, ...]]:
    """The kind of crossing from the eigenvalues of the cycle's Jacobian: those of largest
    modulus (within ``1e-6`` of it) decide."""
    mod = np.abs(lam)
    top = lam[mod >= mod.max() - 1e-6 * max(1.0, mod.max())]
    if np.all(np.abs(top.imag) <= 1e-7 * np.abs(top)):
        kind = "fold" if np.any(top.real > 0) and not np.any(top.real < 0) else "flip"
        if np.any(top.real > 0) and np.any(top.real < 0):
            kind = "flip"  # +1 and -1 at once: the period doubling is what a run shows first
    else:
        kind = "neimark_sacker"
    return kind, tuple(complex(x) for x in top)


@domains(points=Integer(3))
def stability_boundary(
    target,
    make_tx,
    name: str,
    bounds: Tuple[float, float],
    *,
    w_star=None,
    fixed: Optional[Dict[str, float]] = None,
    points: int = 257,
) -> Boundary:
    """Every value in ``bounds`` where a step's spectral radius at the equilibrium crosses one.

    .. math:: \\{ v \\in [l, u] : \\rho(J_v) \\text{ crosses } 1 \\}

    with ``J_v`` the Jacobian of the step ``make_tx(h)`` (over its dynamic state, over its cycle
    for a periodic step) at ``h[name] = v``. ``name`` is a hyperparameter of the step, or, when
    ``target`` is a function ``h -> Game``, a parameter of the game (the equilibrium is then the
    game's own, which may move with ``v``). The radius is evaluated on a grid of ``points`` values
    in one compiled program; each sign change of ``rho - 1`` (strictly below one on one side,
    strictly above on the other) is refined by bisection to about ``1e-12`` of a grid cell, and
    the eigenvalues on the unit circle there give its kind: ``+1`` a fold, ``-1`` a flip (period
    doubling: the oscillating loss curve), a complex pair a Neimark-Sacker crossing (rotation). A
    radius that touches one and turns back is not a crossing. Whether a crossing is
    supercritical (a small stable cycle is born) or subcritical needs the map's normal form,
    which this does not compute: ``jg.rollout`` past the value shows which.

    For SimGD on ``mu/2 x^2 + s x y - mu/2 y^2`` the crossing is a Neimark-Sacker one at
    ``lr = 2 mu / (mu^2 + s^2)``; gradient descent on a potential with largest curvature ``L``
    flips at ``lr = 2 / L``.

    Args:
      target: a ``Game`` (its ``equilibrium``, or ``w_star``), or ``h -> Game``.
      make_tx: ``h -> optax transformation``; ``h`` holds ``name`` and ``fixed``.
      name: the parameter varied.
      bounds: ``(low, high)``, finite, ``low < high``.
      w_star: the equilibrium (default: the game's ``equilibrium``).
      fixed: other hyperparameters, held.
      points: grid values (static; two crossings closer than a grid cell may be missed).

    Returns:
      ``Boundary``: its ``crossings`` in increasing value, and the grid's radii.

    Examples:
      >>> import optax, jaxgan as jg
      >>> game = jg.families.quadratic(1.0, 1.0, 1.0).block(1.0)  # mu = s = 1
      >>> b = jg.stability_boundary(game, lambda h: optax.sgd(h["lr"]), "lr", (0.1, 3.0))
      >>> [(round(c.value, 6), c.kind) for c in b.crossings]  # 2 mu / (mu^2 + s^2)
      [(1.0, 'neimark_sacker')]
    """
    where = "stability_boundary"
    return _stability_boundary(target, make_tx, name, bounds, w_star, fixed, points, where)


def _stability_boundary(target, make_tx, name, bounds, w_star, fixed, points, where):
    if not isinstance(name, str):
        raise TypeError(f"{where}: `name` must be a string (the parameter varied), got {name!r}.")
    low, high = check_interval(bounds, where, "bounds")
    fixed = dict(fixed or {})
    if name in fixed:
        raise ValueError(f"{where}: {name!r} is both varied (`name`) and held (`fixed`).")
    for k, v in fixed.items():
        Real().check(v, where, f"fixed[{k!r}]")
    if isinstance(make_tx, optax.GradientTransformation) or not callable(make_tx):
        raise TypeError(
            f"{where}: `make_tx` must be a callable `h -> optax transformation`, "
            f"got {describe(make_tx)}."
        )
    game_fn = not isinstance(target, GAME_TYPES)
    if game_fn and not callable(target):
        raise TypeError(
            f"{where}: `target` must be a jaxgan.Game or a function `h -> Game`, "
            f"got {describe(target)}."
        )
    # the parts at the middle, concretely: the checks of the game, the point and the reads
    h = ReadKeys({name: 0.5 * (low + high), **fixed})

    def missing(err, who):
        return ValueError(
            f"{where}: {who} reads {err.args[0]!r}, which is neither `name` ({name!r}) "
            f"nor a key of `fixed` ({sorted(fixed)}): give it in `fixed`, or vary it as `name`."
        )

    try:
        game = target(h) if game_fn else target
    except KeyError as err:
        raise missing(err, "the game function") from None
    game = check_game(game, where)
    checked_equilibrium(game, w_star, where)
    try:
        tx = make_tx(h)
    except KeyError as err:
        raise missing(err, "`make_tx`") from None
    if not isinstance(tx, optax.GradientTransformation):
        raise TypeError(
            f"{where}: `make_tx` must return an optax transformation, got {describe(tx)}."
        )
    unread = sorted(set(dict.keys(h)) - h.read)
    if unread:
        reader = "the game function or `make_tx`" if game_fn else "`make_tx`"
        raise ValueError(
            f"{where}: the parameter(s) {', '.join(repr(k) for k in unread)} are never read "
            f"(by {reader}): varying them would change nothing."
        )
    keys = (name, tuple(sorted(fixed)), w_star is not None)
    fixed_ = {k: jnp.asarray(v) for k, v in fixed.items()}
    objects = (target, make_tx)
    grid, radius = compiled(
        "stability_boundary grid", _grid_program, objects, keys[:2] + (int(points),) + keys[2:]
    )(jnp.asarray(low), jnp.asarray(high), fixed_, w_star)
    grid, radius = np.asarray(grid), np.asarray(radius)
    tol = ON_CIRCLE * float(np.sqrt(np.finfo(radius.dtype).eps))
    sign = np.where(radius < 1.0 - tol, -1, np.where(radius > 1.0 + tol, 1, 0))
    sign = np.where(np.isnan(radius), 0, sign)
    brackets = []
    last = None  # the last grid index with a definite sign
    for i, sg in enumerate(sign):
        if sg == 0:
            continue
        if last is not None and sign[last] != sg:
            brackets.append((last, i))
        last = i
    crossings = []
    if brackets:
        a = jnp.asarray([grid[i] for i, _ in brackets])
        b = jnp.asarray([grid[j] for _, j in brackets])
        below = jnp.asarray([bool(sign[i] < 0) for i, _ in brackets])
        values = np.asarray(
            compiled("stability_boundary bisect", _bisect_program, objects, keys)(
                a, b, below, fixed_, w_star
            )
        )
        spectrum = compiled("stability_boundary spectrum", _spectrum_program, objects, keys)
        for (i, _), v in zip(brackets, values):
            kind, on_circle = _kind(np.asarray(spectrum(jnp.asarray(v), fixed_, w_star)))
            crossings.append(Crossing(float(v), kind, on_circle, bool(sign[i] < 0)))
    return Boundary(tuple(crossings), name, grid, radius)
