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

import itertools
from typing import Dict, NamedTuple, Optional, Tuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._analysis.eig import eig, eigvals
from .._analysis.spectral import (
    _step_and_structure,
    flat_map,
    step_jacobian,
    step_spectral_radius,
)
from .._core.field import checked_equilibrium
from .._core.game import GAME_TYPES
from .._validation.cache import compiled
from .._validation.checks import ReadKeys, check_game
from .._validation.domains import Integer, Real, describe, domains
from .tune import check_interval

WHERE = "stability_boundary"
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
      criticality: ``"supercritical"`` (a small stable cycle is born on the unstable side: a
        2-cycle at a flip, an invariant circle at a Neimark-Sacker crossing),
        ``"subcritical"`` (an unstable one dies there: runs past the value leave the
        neighbourhood), ``"degenerate"`` (the cubic normal-form coefficient vanishes: higher
        orders decide), or ``None`` where the normal form does not give it (a fold, a strong
        resonance ``theta = pi/2, 2 pi/3`` of a Neimark-Sacker crossing), ``why`` says.
      coefficient: the normal form's cubic coefficient: for a flip ``c`` (the 2-cycle map is
        ``x -> x - 2 c x^3``: supercritical when ``c > 0``), for a Neimark-Sacker crossing the
        first Lyapunov coefficient ``d`` of the map (supercritical when ``d < 0``); NaN for a fold.
      why: why ``criticality`` is ``None`` (empty otherwise).

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
    criticality: Optional[str] = None
    coefficient: float = float("nan")
    why: str = ""


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
        return values, jax.vmap(lambda v: step_spectral_radius(*at(v), where=WHERE))(values)

    return program


def _bisect_program(target, make_tx, name, fixed_keys, has_w):
    def program(a, b, below_at_a, fixed, w_star):
        at = _parts(target, make_tx, name, fixed, w_star if has_w else None)

        def one(a, b, below_at_a):
            def body(_, ab):
                lo, hi = ab
                mid = 0.5 * (lo + hi)
                below = step_spectral_radius(*at(mid), where=WHERE) < 1.0
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


def _map_at(game, tx, w):
    """``(F, z*)``: the step's map over its period on the flat ``z = (w, dynamic state)`` and
    the fixed point it is expanded at (the equilibrium, the state one step in)."""
    step, state, structure = _step_and_structure(game, tx, w, None)
    return flat_map(step, w, state, structure, structure.period)


def _derivative(F, z, vectors):
    """``D^m F(z)[v_1, ..., v_m]`` for real vectors, by nested JVPs."""
    if not vectors:
        return F(z)
    *rest, last = vectors
    return jax.jvp(lambda y: _derivative(F, y, rest), (z,), (last,))[1]


def _multilinear(F, z, vectors):
    """``D^m F(z)`` at complex vectors, by multilinearity over their real and imaginary parts."""
    total = 0.0
    for parts in itertools.product((0, 1), repeat=len(vectors)):
        factor = 1j ** sum(parts)
        real = [jnp.real(v) if p == 0 else jnp.imag(v) for v, p in zip(vectors, parts)]
        total = total + factor * _derivative(F, z, real)
    return total


def _criticality_program(target, make_tx, name, fixed_keys, has_w, kind):
    """The cubic normal-form coefficient of the map at a flip (``c``) or a Neimark-Sacker
    crossing (``d``, the first Lyapunov coefficient of a map), by the center-manifold formulas
    with multilinear derivatives from nested JVPs (Kuznetsov, Elements of Applied Bifurcation
    Theory, sections 5.4 and 5.5)."""

    def program(v, fixed, w_star):
        game, tx, w = _parts(target, make_tx, name, fixed, w_star if has_w else None)(v)
        F, z = _map_at(game, tx, w)
        A = jax.jacfwd(F)(z)
        n = A.shape[0]
        eye = jnp.eye(n, dtype=A.dtype)
        lam, right = eig(A)
        lam_t, left = eig(A.T)
        if kind == "flip":
            i = jnp.argmin(jnp.abs(lam + 1.0))
            j = jnp.argmin(jnp.abs(lam_t + 1.0))
            q, p = jnp.real(right[:, i]), jnp.real(left[:, j])
            p = p / (p @ q)
            B = lambda x, y: _derivative(F, z, [x, y])
            C = lambda x, y, u: _derivative(F, z, [x, y, u])
            inner = jnp.linalg.solve(A - eye, B(q, q))
            terms = jnp.stack([(p @ C(q, q, q)) / 6.0, -(p @ B(q, inner)) / 2.0])
            return jnp.sum(terms), jnp.sum(jnp.abs(terms))
        # Neimark-Sacker: the pair e^{+- i theta} on the unit circle, q for e^{i theta}
        top = jnp.abs(jnp.abs(lam) - 1.0) + jnp.where(jnp.imag(lam) > 0, 0.0, jnp.inf)
        i = jnp.argmin(top)
        mu = lam[i]
        j = jnp.argmin(jnp.abs(lam_t - jnp.conj(mu)))
        q, p = right[:, i], left[:, j]
        p = p / jnp.conj(jnp.vdot(p, q))  # <p, q> = conj(p) . q = 1
        B = lambda x, y: _multilinear(F, z, [x, y])
        C = lambda x, y, u: _multilinear(F, z, [x, y, u])
        qb = jnp.conj(q)
        ceye = eye.astype(lam.dtype)
        terms = 0.5 * jnp.real(
            jnp.conj(mu)
            * jnp.stack(
                [
                    jnp.vdot(p, C(q, q, qb)),
                    2.0 * jnp.vdot(p, B(q, jnp.linalg.solve(ceye - A, B(q, qb)))),
                    jnp.vdot(p, B(qb, jnp.linalg.solve(mu**2 * ceye - A, B(q, q)))),
                ]
            )
        )
        return jnp.sum(terms), jnp.sum(jnp.abs(terms))

    return program


#: a normal-form coefficient within this of zero (times ``sqrt(eps)`` and the sum of the
#: magnitudes of the terms it adds up, which cancel in it) is degenerate: the crossing's
#: criticality is decided by higher orders
DEGENERATE = 100.0
#: the strong resonances of a Neimark-Sacker crossing, ``e^{i theta}`` a root of unity of these
#: orders: the cubic normal form does not hold there
RESONANCES = (1, 2, 3, 4)


def _criticality(kind, eigenvalues, coefficient, scale, eps):
    """``(criticality, why)`` from a crossing's kind and its normal-form coefficient."""
    if kind == "fold":
        return None, (
            "an eigenvalue through +1 at a fixed point that persists on both sides (the "
            "equilibrium): a transcritical or pitchfork crossing, whose criticality the cubic "
            "normal form of a fold does not give"
        )
    if kind == "neimark_sacker":
        theta = abs(np.angle(eigenvalues[0]))
        for order in RESONANCES:
            for m in range(1, order):
                if abs(theta - 2 * np.pi * m / order) < 1e-6:
                    return None, (
                        f"a strong resonance (e^(i theta) a root of unity of order {order}, "
                        f"theta = {theta:.6g}): the cubic normal form does not hold there"
                    )
    if not np.isfinite(coefficient):
        return None, "the normal-form coefficient is not finite at the crossing"
    if abs(coefficient) <= DEGENERATE * np.sqrt(eps) * scale:
        return "degenerate", ""
    super_ = coefficient > 0 if kind == "flip" else coefficient < 0
    return ("supercritical" if super_ else "subcritical"), ""


def grid_brackets(radius: np.ndarray):
    """``(brackets, sign)``: the pairs ``(i, j)`` of grid indices between which ``radius - 1``
    changes sign (``i``, ``j`` the nearest points with a definite sign: strictly beyond
    ``ON_CIRCLE sqrt(eps)`` of one, and not NaN), and each point's sign (``0``: indefinite)."""
    radius = np.asarray(radius)
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
    return brackets, sign


def grid_crossings(values, radius, dominant) -> list:
    """The crossings of radius one that a grid shows, without refining them: for each bracket
    ``(i, j)`` of ``grid_brackets``, the interval ``(values[i], values[j])`` it lies in, whether
    the step is stable below it, and its kind from the eigenvalue of largest modulus at the
    grid point on the unstable side (``dominant``, e.g. ``StabilityMap.dominant``)."""
    out = []
    brackets, sign = grid_brackets(radius)
    for i, j in brackets:
        unstable = j if sign[j] > 0 else i
        kind, _ = _kind(np.asarray([dominant[unstable]]))
        out.append(
            {
                "between": [float(values[i]), float(values[j])],
                "kind": kind,
                "stable_below": bool(sign[i] < 0),
            }
        )
    return out


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
    radius that touches one and turns back is not a crossing. Each flip and Neimark-Sacker
    crossing says whether it is supercritical (a small stable cycle is born past it) or
    subcritical (runs past it leave the equilibrium's neighbourhood), from the cubic coefficient
    of the map's normal form on its center manifold (``Crossing.coefficient``): for gradient
    descent on ``a/2 x^2 + b/3 x^3 + c/4 x^4`` the flip at ``2/a`` has ``c_flip = 4 b^2 / a^2 -
    2 c / a``, supercritical when positive.

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
    brackets, sign = grid_brackets(radius)
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
        eps = float(np.finfo(radius.dtype).eps)
        for (i, _), v in zip(brackets, values):
            kind, on_circle = _kind(np.asarray(spectrum(jnp.asarray(v), fixed_, w_star)))
            coefficient, scale = float("nan"), float("nan")
            if kind != "fold":
                normal_form = compiled(
                    "stability_boundary normal form", _criticality_program, objects, keys + (kind,)
                )
                coefficient, scale = map(float, normal_form(jnp.asarray(v), fixed_, w_star))
            criticality, why = _criticality(kind, on_circle, coefficient, scale, eps)
            crossings.append(
                Crossing(
                    float(v), kind, on_circle, bool(sign[i] < 0), criticality, coefficient, why
                )
            )
    return Boundary(tuple(crossings), name, grid, radius)
