"""``tune``: the hyperparameters that make a step fastest on a game, or on a class of games at
worst.

The design and its measurements: the docs page "Prescriptions" (``docs/prescriptions.md``).
"""

from __future__ import annotations

import math
from typing import Dict, NamedTuple, Optional, Tuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._analysis.spectral import spectral_radius, step_spectral_radius
from .._core.field import checked_equilibrium
from .._core.game import GAME_TYPES, Joint
from .._validation.cache import compiled
from .._validation.checks import (
    ReadKeys,
    check_game,
    check_tx,
)
from .._validation.domains import Real, describe
from .families import Family, check_equivariant, without_prefix, worst_case_of, worst_case_radius
from .search import minimise_box

#: at most this many hyperparameters are tuned at once (nested searches cost ``(11 + k)^d``
#: evaluations for ``k`` sections per level): fix the others with ``fixed=``
MAX_DIMENSIONS = 3
#: points per axis of the starting grid, by the number of hyperparameters tuned
GRID = {1: 257, 2: 41, 3: 15}
#: golden sections per level of the refinement, by the number of hyperparameters tuned
#: (``0.618**k`` of a bracket of two of its nine points: two grid cells of the box)
ITERATIONS = {1: 80, 2: 60, 3: 42}
#: points per axis of the starting grid on a family, whose every radius is itself a search over
#: the class (the refinement follows from four cells around each start)
FAMILY_GRID = {1: 33, 2: 17, 3: 9}
#: grid minima refined (the best ones, more than ``BRACKET`` cells apart)
STARTS = 3
#: the refinement's bracket around a grid point, in grid cells on each side
BRACKET = 4


class Tuned(NamedTuple):
    """The result of ``tune``.

    Attributes:
      hyperparams: the best hyperparameters found (the tuned ones and ``fixed``), as floats.
      radius: the spectral radius of the step there (on a family: its worst case over the
        class); equal to ``jg.spectral_radius`` (``jg.worst_case_radius``) at ``hyperparams``.
      converges: whether the radius is below one by more than an eigenvalue solver resolves
        (``sqrt`` of the machine epsilon: a double root is known to no better), so that the
        step converges locally at the best point; a radius of one to that resolution (a step
        that circles) does not converge.
      grid_hyperparams: the best point of the starting grid.
      grid_radius: the radius there.
      evaluations: how many radii the search computed.
      method: how the minimum was found.

    Examples:
      >>> import optax, jaxgan as jg
      >>> game = jg.families.quadratic(1.0, 2.0, 2.0).block(2.0)  # lr* = 1/5, rho* = 2/sqrt(5)
      >>> t = jg.tune(game, lambda h: optax.sgd(h["lr"]), {"lr": (0.01, 1.0)})
      >>> t.converges, round(t.hyperparams["lr"], 3), round(t.radius, 5)
      (True, 0.2, 0.89443)
    """

    hyperparams: Dict[str, float]
    radius: float
    converges: bool
    grid_hyperparams: Dict[str, float]
    grid_radius: float
    evaluations: int
    method: str


def check_interval(pair, where: str, arg: str) -> Tuple[float, float]:
    """``(low, high)`` from a pair of finite real numbers with ``low < high``, or an error that
    names ``arg`` (a reversed or empty interval says which)."""
    try:
        if len(pair) != 2 or any(isinstance(v, (bool, str, bytes)) for v in pair):
            raise TypeError
        lo, hi = (float(np.asarray(v)) for v in pair)
    except (TypeError, ValueError):
        raise TypeError(
            f"{where}: `{arg}` must be a pair of real numbers `(low, high)`, "
            f"got {describe(pair)} {pair!r}."
        ) from None
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"{where}: `{arg}` must be finite, got ({lo!r}, {hi!r}).")
    if not lo < hi:
        raise ValueError(
            f"{where}: `{arg}` must have low < high, got ({lo!r}, {hi!r}) "
            f"({'reversed' if lo > hi else 'empty'})."
        )
    return lo, hi


def _check_bounds(bounds, where: str) -> Tuple[Tuple[str, ...], np.ndarray, np.ndarray]:
    if not isinstance(bounds, dict) or not bounds:
        raise TypeError(
            f"{where}: `bounds` must be a non-empty dict mapping each hyperparameter's name "
            f"to `(low, high)`, e.g. `{{'lr': (0.01, 1.0)}}`, got {describe(bounds)}."
        )
    if len(bounds) > MAX_DIMENSIONS:
        raise ValueError(
            f"{where}: `bounds` has {len(bounds)} hyperparameters; at most {MAX_DIMENSIONS} "
            "are tuned at once (the refinement nests one exact search per hyperparameter): "
            "give the others with `fixed=`."
        )
    names = tuple(sorted(bounds))  # string keys: checked by tune first
    low, high = [], []
    for name in names:
        lo, hi = check_interval(bounds[name], where, f"bounds[{name!r}]")
        low.append(lo)
        high.append(hi)
    return names, np.asarray(low), np.asarray(high)


def _check_fixed(fixed, names, where: str) -> Dict[str, float]:
    if fixed is None:
        return {}
    if not isinstance(fixed, dict):
        raise TypeError(
            f"{where}: `fixed` must be a dict of hyperparameters, got {describe(fixed)}."
        )
    both = sorted(set(fixed) & set(names))
    if both:
        raise ValueError(
            f"{where}: {', '.join(map(repr, both))} is in both `bounds` and `fixed`: "
            "a hyperparameter is either tuned or held fixed."
        )
    for k, v in fixed.items():
        Real().check(v, where, f"fixed[{k!r}]")
    return dict(fixed)


def _check_reads(make_tx, names, fixed, low, high, where: str) -> None:
    """Build ``make_tx`` once at the box's centre; refuse a key of ``bounds`` or ``fixed`` that it
    never reads (a misspelt name would tune nothing)."""
    h = ReadKeys({**{n: (lo + hi) / 2 for n, lo, hi in zip(names, low, high)}, **fixed})
    check_tx(make_tx, where, h)
    unread = sorted(set(dict.keys(h)) - h.read)
    if unread:
        arg = "bounds" if set(unread) & set(names) else "fixed"
        raise ValueError(
            f"{where}: `{arg}` key(s) {', '.join(f'`{k}`' for k in unread)} are never read by "
            f"`make_tx`: a misspelt or unused hyperparameter would be tuned for nothing; "
            f"use the key (e.g. `h[{unread[0]!r}]`) or drop it."
        )


def _objective(target, make_tx, names, w_star):
    """``(t, fixed) -> radius``: the radius at the point ``t`` of the unit box (mapped to the
    hyperparameters by ``low + t (high - low)``), for a game or a family (traceable)."""

    def radius(u, fixed):
        h = {**dict(zip(names, u)), **fixed}
        tx = make_tx(h)
        if isinstance(target, Family):
            return worst_case_of(target, tx).radius
        return step_spectral_radius(target, tx, w_star, where="tune")

    return radius


def _grid_program(target, make_tx, names, points):
    d = len(names)

    def program(low, high, fixed, w_star):
        radius = _objective(target, make_tx, names, w_star)
        axes = [jnp.linspace(0.0, 1.0, points)] * d
        t = jnp.stack([a.ravel() for a in jnp.meshgrid(*axes, indexing="ij")], -1)
        return jax.vmap(lambda ti: radius(low + ti * (high - low), fixed))(t)

    return program


def _refine_program(target, make_tx, names, iterations):
    def program(lo, hi, low, high, fixed, w_star):
        radius = _objective(target, make_tx, names, w_star)

        def one(a, b):
            return minimise_box(lambda t: radius(low + t * (high - low), fixed), a, b, iterations)

        return jax.vmap(one)(lo, hi)

    return program


def _starts(values: np.ndarray, points: int, d: int) -> list:
    """The indices of the best grid points, more than ``BRACKET`` cells apart."""
    order = np.argsort(np.where(np.isnan(values), np.inf, values), kind="stable")
    chosen = []
    for i in order:
        if not np.isfinite(values[i]):
            break
        here = np.asarray(np.unravel_index(i, (points,) * d))
        if all(np.max(np.abs(here - c)) > BRACKET for _, c in chosen):
            chosen.append((i, here))
        if len(chosen) == STARTS:
            break
    return chosen


def refine(game, make_tx, names, low, high, fixed, a, b, point, grid_best, grid_radius):
    """``(hyperparams, radius)``: the nested golden-section searches over the boxes ``[a, b]`` of
    the unit box (one per start, in one compiled program), the best of them (or ``grid_best``
    where no search improved on ``grid_radius``), and its radius recomputed by the public call:
    at a double root a batched eigenvalue solve and the public one differ by up to the square
    root of the machine epsilon, and the radius reported is the public one. ``tune`` and the
    report's "tuned" column (from its stability map's cells) both end here."""
    iterations = ITERATIONS[len(names)]
    fixed_ = {k: jnp.asarray(v) for k, v in fixed.items()}
    t, r = compiled("tune refine", _refine_program, (game, make_tx), (names, iterations))(
        jnp.asarray(a), jnp.asarray(b), jnp.asarray(low), jnp.asarray(high), fixed_, point
    )
    r = np.where(np.isnan(np.asarray(r)), np.inf, np.asarray(r))
    k = int(np.argmin(r))
    best = {n: float(v) for n, v in zip(names, low + np.asarray(t[k]) * (high - low))}
    if grid_radius <= r[k]:  # the grid point itself was best (a minimum on the box's edge)
        best = dict(grid_best)
    h = {**best, **{k_: float(np.asarray(v)) for k_, v in fixed.items()}}
    if isinstance(game, Family):
        radius = float(worst_case_radius(game, make_tx, hyperparams=h).radius)
    else:
        radius = float(spectral_radius(game, make_tx, point, hyperparams=h))
    return h, radius


def tune(
    target,
    make_tx,
    bounds: Dict[str, Tuple[float, float]],
    *,
    w_star: Optional[Joint] = None,
    fixed: Optional[Dict[str, float]] = None,
) -> Tuned:
    """The hyperparameters in a box that minimise a step's spectral radius at an equilibrium.

    .. math:: \\min_{h \\in [l, u]} \\rho\\big(J_h\\big)

    with ``J_h`` the Jacobian of one step of ``make_tx(h)`` over the parameters and the step's
    dynamic state (``jg.spectral_radius``); on a family (``jg.families``) the radius is the worst
    case over the class (``jg.worst_case_radius``). The radius is not smooth at its minima: two
    eigenvalues of equal modulus meet there (alternating GDA's optimum, the heavy ball's double
    root that gives Polyak's rate, the crossing of two branches for Hamiltonian GD), where it
    moves with the square root of a change in ``h``. So the search needs no derivative: a grid
    of the box in one compiled program, then from each of its three best cells a nested
    golden-section search (each hyperparameter's value is the minimum over the ones after it),
    which follows a curved valley of kinks exactly. The radius reported is recomputed at the
    best point by ``jg.spectral_radius`` (``jg.worst_case_radius``). A box where no point
    converges gives its least radius, at least one, and ``converges=False``.

    Complex hyperparameters are tuned through real ones (a modulus and an argument).

    Args:
      target: a ``Game`` (its ``equilibrium``, or ``w_star``), or a family from
        ``jg.families``.
      make_tx: ``h -> optax transformation`` (the callable ``sweep`` takes); ``h`` holds the
        tuned hyperparameters and ``fixed``.
      bounds: ``{name: (low, high)}``, at most three names, each ``low < high``, finite.
      w_star: the equilibrium (default: ``target.equilibrium``).
      fixed: hyperparameters held at one value.

    Returns:
      ``Tuned``.

    Examples:
      >>> import optax, jaxgan as jg
      >>> # SimGD on mu/2 x^2 + x y - mu/2 y^2, mu = 1: best lr mu / (mu^2 + 1), radius 1/sqrt(2)
      >>> game = jg.families.quadratic(1.0, 1.0, 1.0).block(1.0)
      >>> t = jg.tune(game, lambda h: optax.sgd(h["lr"]), {"lr": (0.01, 2.0)})
      >>> round(t.hyperparams["lr"], 3), round(t.radius, 6)
      (0.5, 0.707107)
    """
    where = "tune"
    if isinstance(make_tx, optax.GradientTransformation) or not callable(make_tx):
        raise TypeError(
            f"{where}: `make_tx` must be a callable `h -> optax transformation` "
            f"(e.g. `lambda h: optax.sgd(h['lr'])`), got {describe(make_tx)}."
        )
    if isinstance(bounds, dict):
        for name in bounds:
            if not isinstance(name, str):
                raise TypeError(f"{where}: `bounds` keys must be strings, got {name!r}.")
    traced = [x for x in jax.tree.leaves((bounds, fixed, w_star)) if isinstance(x, jax.core.Tracer)]
    if traced:
        raise TypeError(
            f"{where}: got traced values (inside jax.jit, vmap or grad): tune searches on the "
            "host, a loop of compiled programs that picks its next points from the last ones' "
            "values, so it is called outside transformations, with concrete `bounds`, `fixed` "
            "and `w_star`."
        )
    names, low, high = _check_bounds(bounds, where)
    fixed = _check_fixed(fixed, names, where)
    if isinstance(target, Family):
        if w_star is not None:
            raise ValueError(
                f"{where}: `w_star` is for a game; a family's blocks have their equilibrium at 0."
            )
        game, point = target, Joint(jnp.zeros(()), jnp.zeros(()))
    elif isinstance(target, GAME_TYPES):
        game = check_game(target, where)
        point = checked_equilibrium(game, w_star, where)
    else:
        raise TypeError(
            f"{where}: `target` must be a jaxgan.Game or a family from jaxgan.families, "
            f"got {describe(target)}."
        )
    _check_reads(make_tx, names, fixed, low, high, where)
    if isinstance(game, Family):
        mid = {**{n: (a + b) / 2 for n, a, b in zip(names, low, high)}, **fixed}
        check_equivariant(game, make_tx, mid, where)
    d = len(names)
    points, iterations = (FAMILY_GRID if isinstance(game, Family) else GRID)[d], ITERATIONS[d]
    lo_, hi_ = jnp.asarray(low), jnp.asarray(high)
    fixed_ = {k: jnp.asarray(v) for k, v in fixed.items()}
    try:
        values = np.asarray(
            compiled("tune grid", _grid_program, (game, make_tx), (names, points))(
                lo_, hi_, fixed_, point
            )
        )
    except ValueError as err:
        raise without_prefix(err, where) from None
    starts = _starts(values, points, d)
    if not starts:
        raise ValueError(
            f"{where}: the step's spectral radius is undefined at every point of the grid "
            "(the step is not differentiable at the equilibrium there: e.g. Adam's 1 / sqrt(v) "
            "at v = 0), so there is nothing to minimise."
        )
    cell = 1.0 / (points - 1)
    centres = np.stack([c for _, c in starts]) * cell
    a = np.clip(centres - BRACKET * cell, 0.0, 1.0)
    b = np.clip(centres + BRACKET * cell, 0.0, 1.0)
    g = starts[0][0]
    grid_t = np.asarray(np.unravel_index(g, (points,) * d)) * cell
    grid_best = {n: float(v) for n, v in zip(names, low + grid_t * (high - low))}
    h, radius = refine(game, make_tx, names, low, high, fixed, a, b, point, grid_best, values[g])
    resolution = float(np.sqrt(np.finfo(jnp.result_type(*jax.tree.leaves(point))).eps))
    evaluations = points**d + len(starts) * (9 + iterations + 2) ** d
    return Tuned(
        hyperparams=h,
        radius=radius,
        converges=radius < 1.0 - resolution,
        grid_hyperparams={**grid_best, **{k_: h[k_] for k_ in fixed}},
        grid_radius=float(values[g]),
        evaluations=evaluations,
        method=(
            f"a {points}-point grid per hyperparameter, then nested golden-section searches "
            f"({iterations} sections per level) from its {len(starts)} best cells"
        ),
    )
