"""Classes of games that split into 1+1-dimensional blocks, and the worst case of a step over
one of them.

``f(x, y) = mu/2 |x|^2 + x^T A y - mu/2 |y|^2`` with ``A = U diag(s) V^T``: in the coordinates
``x = U a``, ``y = V b`` the game is a sum of independent blocks
``mu/2 a_i^2 + s_i a_i b_i - mu/2 b_i^2``, one per singular value. A step that commutes with
rotations of each player's space (SGD, momentum, extragradient, optimistic GD, consensus, the
Hamiltonian correction, lookahead and their chains) acts on each block alone, so its spectral
radius on a member is the largest of its radii on the blocks, and over the class it is the
maximum over ``s`` in ``[s_min, s_max]`` of the radius on one block: a function of one variable,
searched on a grid and refined by golden sections around every local maximum of the grid.
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._analysis.spectral import step_spectral_radius
from .._core.game import Joint, zero_sum
from .._core.step import step_of
from .._validation.cache import compiled
from .._validation.checks import check_finite, check_read, check_tx, read_checked, tx_at
from .._validation.domains import Real, domains
from .search import maximise_1d

#: grid points of ``s`` over ``[s_min, s_max]``, and golden sections of each local maximum's
#: bracket (``0.618**60`` of two grid cells: below ``1e-12`` of the interval)
S_POINTS = 129
S_ITERATIONS = 60
#: local maxima of the grid refined
S_STARTS = 3


@dataclasses.dataclass(frozen=True)
class Family:
    """A class of quadratic games whose coupling's singular values lie in ``[s_min, s_max]``.

    The games are ``f = mu/2 |x|^2 + x^T A y - mu/2 |y|^2`` whose ``A`` has every singular value
    in ``[s_min, s_max]``, in any dimension.

    Attributes:
      mu: the players' own curvature (0: bilinear games).
      s_min, s_max: the interval of the singular values of ``A``.
      name: a label.
    """

    mu: float
    s_min: float
    s_max: float
    name: str = "family"

    def __post_init__(self):
        for arg, low in (("mu", None), ("s_min", 0.0), ("s_max", 0.0)):
            Real(low).check(getattr(self, arg), "Family", arg)
        if float(self.s_max) < float(self.s_min):
            raise ValueError(
                f"Family: `s_max` ({float(self.s_max)!r}) must be >= `s_min` "
                f"({float(self.s_min)!r}): the singular values lie in [s_min, s_max]."
            )

    def block(self, s) -> "object":
        """The 1+1-dimensional member ``mu/2 x^2 + s x y - mu/2 y^2`` (``s`` may be traced), with
        its equilibrium at the origin."""
        mu = self.mu
        return zero_sum(
            lambda x, y: 0.5 * mu * x**2 + s * x * y - 0.5 * mu * y**2,
            equilibrium=Joint(jnp.zeros(()), jnp.zeros(())),
            name=f"{self.name} block s={s}" if not isinstance(s, jax.core.Tracer) else self.name,
        )

    def member(self, A) -> "object":
        """The member with matrix ``A`` (its singular values should lie in ``[s_min, s_max]``):
        a game on ``x`` of ``A.shape[0]`` and ``y`` of ``A.shape[1]`` entries."""
        A = jnp.asarray(A)
        mu = self.mu
        return zero_sum(
            lambda x, y: 0.5 * mu * x @ x + x @ A @ y - 0.5 * mu * y @ y,
            equilibrium=Joint(jnp.zeros(A.shape[0], A.dtype), jnp.zeros(A.shape[1], A.dtype)),
            name=f"{self.name} member",
        )


@domains(s_min=Real(0), s_max=Real(0))
def bilinear(s_min: float, s_max: float) -> Family:
    """The class of bilinear games ``f = x^T A y`` with the singular values of ``A`` in a range.

    Every singular value of ``A`` lies in ``[s_min, s_max]``.

    The field's Jacobian has eigenvalues ``+- i s``; SimGD's radius on a block is
    ``sqrt(1 + lr^2 s^2)``, so its worst case is at ``s_max``.

    Args:
      s_min: the smallest singular value (``>= 0``).
      s_max: the largest singular value (``>= s_min``).

    Examples:
      >>> import optax, jaxgan as jg
      >>> fam = jg.families.bilinear(0.5, 2.0)
      >>> round(float(jg.worst_case_radius(fam, optax.sgd(0.1)).radius), 6)  # sqrt(1 + 0.04)
      1.019804
    """
    return quadratic(0.0, s_min, s_max)


@domains(mu=Real(), s_min=Real(0), s_max=Real(0))
def quadratic(mu: float, s_min: float, s_max: float) -> Family:
    """The class of games ``mu/2 |x|^2 + x^T A y - mu/2 |y|^2`` with the singular values bounded.

    Every singular value of ``A`` lies in ``[s_min, s_max]``.

    The field's Jacobian has eigenvalues ``mu +- i s``. SimGD's radius on a block is
    ``sqrt((1 - lr mu)^2 + lr^2 s^2)``; its best learning rate for one ``s`` is
    ``mu / (mu^2 + s^2)``, with radius ``s / sqrt(mu^2 + s^2)``.

    Args:
      mu: each player's own curvature (``mu > 0``: strongly convex-concave).
      s_min: the smallest singular value (``>= 0``).
      s_max: the largest singular value (``>= s_min``).

    Examples:
      >>> import optax, jaxgan as jg
      >>> fam = jg.families.quadratic(1.0, 1.0, 1.0)
      >>> round(float(jg.worst_case_radius(fam, optax.sgd(0.5)).radius), 6)  # sqrt(0.25 + 0.25)
      0.707107
    """
    name = "bilinear family" if float(mu) == 0.0 else f"quadratic family (mu={float(mu):g})"
    return Family(float(mu), float(s_min), float(s_max), name)


class WorstCase(NamedTuple):
    """The worst case of a step over a family.

    Attributes:
      radius: the largest spectral radius of the step over the class.
      singular_value: a singular value where it is reached.

    Examples:
      >>> import optax, jaxgan as jg
      >>> wc = jg.worst_case_radius(jg.families.bilinear(0.5, 2.0), optax.sgd(0.1))
      >>> round(float(wc.singular_value), 6)  # SimGD is slowest on the largest singular value
      2.0
    """

    radius: jax.Array
    singular_value: jax.Array


def check_family(family, where: str, arg: str = "family") -> Family:
    if not isinstance(family, Family):
        raise TypeError(
            f"{where}: `{arg}` must be a class of games from jaxgan.families "
            "(`jg.families.bilinear(s_min, s_max)` or `jg.families.quadratic(mu, s_min, s_max)`), "
            f"got {type(family).__name__}."
        )
    return family


def block_radius(family: Family, tx, s) -> jax.Array:
    """The spectral radius of ``tx`` on the block of singular value ``s`` (traceable)."""
    game = family.block(s)
    return step_spectral_radius(game, tx, game.equilibrium, where="worst_case_radius")


def worst_case_of(family: Family, tx) -> WorstCase:
    """The traceable body of ``worst_case_radius`` (``tx`` already checked)."""
    lo, hi = jnp.asarray(family.s_min), jnp.asarray(family.s_max)
    if family.s_min == family.s_max:
        return WorstCase(block_radius(family, tx, lo), lo)
    radius = jax.vmap(lambda s: block_radius(family, tx, s))
    s = jnp.linspace(lo, hi, S_POINTS)
    r = radius(s)
    undefined = jnp.any(jnp.isnan(r))
    # every local maximum of the grid (ends included), best first: a bracket of two cells each
    padded = jnp.concatenate(
        [jnp.array([-jnp.inf]), jnp.where(jnp.isnan(r), jnp.inf, r), jnp.array([-jnp.inf])]
    )
    peak = (padded[1:-1] >= padded[:-2]) & (padded[1:-1] >= padded[2:])
    order = jnp.argsort(jnp.where(peak, -padded[1:-1], jnp.inf))[:S_STARTS]
    cell = (hi - lo) / (S_POINTS - 1)

    def refine(i):
        a = jnp.maximum(s[i] - cell, lo)
        b = jnp.minimum(s[i] + cell, hi)
        return maximise_1d(lambda x: block_radius(family, tx, x), a, b, S_ITERATIONS, 5)

    xs, vs = jax.vmap(refine)(order)
    k = jnp.argmax(vs)
    best, at = vs[k], xs[k]
    g = jnp.argmax(jnp.where(jnp.isnan(r), jnp.inf, r))
    best, at = jnp.where(r[g] > best, r[g], best), jnp.where(r[g] > best, s[g], at)
    return WorstCase(jnp.where(undefined, jnp.nan, best), at)


#: two singular values and two rotations of a generic 2+2 member, and two starting points
#: (a unit one and a large one, where clipping acts): the equivariance check's fixed inputs
_ANGLES = (0.7, -0.4)
_STARTS = (1.0, 1e3)
_EQUIVARIANCE_STEPS = 3


def _rotation(angle):
    c, s = math.cos(angle), math.sin(angle)
    return jnp.asarray([[c, -s], [s, c]])


def equivariance_gap(family: Family, tx) -> jax.Array:
    """How far ``tx`` is from commuting with rotations of each player's space: the largest
    relative difference between its iterates on a 2+2 member with diagonal ``A`` mapped by the
    rotations ``(U, V)`` and its iterates on the rotated member ``U A V^T`` (traceable)."""
    s1 = family.s_max if family.s_max > 0 else 1.0
    s2 = 0.5 * (family.s_min + family.s_max) if family.s_max > family.s_min else 0.5 * s1
    A = jnp.diag(jnp.asarray([s1, s2]))
    U, V = _rotation(_ANGLES[0]), _rotation(_ANGLES[1])
    plain, rotated = family.member(A), family.member(U @ A @ V.T)
    gaps = []
    for scale in _STARTS:
        w0 = Joint(scale * jnp.asarray([0.3, -0.8]), scale * jnp.asarray([0.5, 0.2]))
        r0 = Joint(U @ w0.phi, V @ w0.theta)
        a = _run(plain, tx, w0)
        b = _run(rotated, tx, r0)
        diff = jnp.maximum(
            jnp.max(jnp.abs(U @ a.phi - b.phi)), jnp.max(jnp.abs(V @ a.theta - b.theta))
        )
        size = jnp.maximum(jnp.max(jnp.abs(b.phi)), jnp.max(jnp.abs(b.theta)))
        gaps.append(diff / jnp.maximum(size, scale))
    return jnp.max(jnp.asarray(gaps))


def _run(game, tx, w):
    step = step_of(game, tx)
    state = tx.init(w)
    for _ in range(_EQUIVARIANCE_STEPS):
        w, state = step(w, state)
    return w


#: the largest relative gap of a step that commutes with rotations (rounding only), in units
#: of the floating-point epsilon of the computation
EQUIVARIANCE_ULPS = 1e4


def refuse_coordinatewise(gap, where: str) -> None:
    """Refuse a step whose measured equivariance gap shows it acts coordinate by coordinate."""
    tol = EQUIVARIANCE_ULPS * float(jnp.finfo(jnp.asarray(gap).dtype).eps)
    gap = float(gap)
    if math.isnan(gap):
        raise ValueError(
            f"{where}: the step's iterates on a member of the family are not finite "
            "(a hyperparameter that is NaN or inf, or a step that overflows from a unit start), "
            "so the family's worst case is undefined."
        )
    if not (gap <= tol):
        raise ValueError(
            f"{where}: the step does not commute with rotations of each player's space "
            f"(on a rotated 2+2 member of the family its iterates differ from the rotated iterates "
            f"by {gap:.2e} relative), so a member's spectrum is not the union of its "
            "1+1-dimensional blocks and the worst case over the family is not exact. "
            "Coordinate-wise steps (Adam, RMSProp, sign, per-coordinate clipping) are refused; "
            "analyse one member with jg.spectral_radius(family.member(A), tx, w) instead."
        )


def _worst_program(tx, family, with_hyperparams, gap):
    def program(hyperparams):
        h = read_checked(hyperparams) if with_hyperparams else None
        t = tx_at(tx, h, "worst_case_radius")
        out = equivariance_gap(family, t) if gap else worst_case_of(family, t)
        check_read(h, "worst_case_radius")
        return out

    return program


def equivariance_tolerance(gap) -> float:
    return EQUIVARIANCE_ULPS * float(jnp.finfo(jnp.asarray(gap).dtype).eps)


def check_equivariant(family: Family, tx, hyperparams, where: str):
    """Refuse (``refuse_coordinatewise``) a step that does not commute with rotations, measured
    on ``family``; under a transformation (traced hyperparameters) the measured gap is returned
    for the caller to turn the result into NaN where it is too large."""
    gap = compiled(
        "equivariance_gap", _worst_program, (tx,), (family, hyperparams is not None, True)
    )(hyperparams)
    if isinstance(gap, jax.core.Tracer):
        return gap
    refuse_coordinatewise(gap, where)
    return None


def without_prefix(err: ValueError, where: str) -> ValueError:
    """A refusal of the step's radius (``spectral_radius: ...``) said in ``where``'s name; any
    other error as it is."""
    text = str(err)
    for prefix in ("spectral_radius: ", "update_jacobian: "):
        if text.startswith(prefix):
            return ValueError(f"{where}: {text[len(prefix) :]}")
    return err


def worst_case_radius(family: Family, tx, *, hyperparams=None) -> WorstCase:
    """The largest spectral radius of a step over every game of a family.

    .. math:: \\max_{s \\in [s_{min}, s_{max}]} \\rho\\big(T_s\\big)

    with ``T_s`` the step's Jacobian on the block ``mu/2 x^2 + s x y - mu/2 y^2`` at its
    equilibrium (over the step's dynamic state too). Exact for steps that commute with rotations
    of each player's space, which act on each block alone: the maximum over the interval is
    found on a grid of 129 values of ``s`` and refined by golden sections around each local
    maximum (to about ``1e-12`` of the interval), so an interior maximum is found as an end is.
    A step that acts coordinate by coordinate is detected (its iterates on a rotated member
    differ from the rotated iterates) and refused, as is a step whose radius is undefined on
    some member (not differentiable at the equilibrium); under ``jax.jit`` with traced
    ``hyperparams`` such a step gives ``nan``.

    Args:
      family: a class from ``jg.families``.
      tx: an optax transformation, or with ``hyperparams`` a ``make_tx`` (``h -> tx``).
      hyperparams: the dict handed to ``make_tx`` (traced: a new value reuses the program).

    Returns:
      ``WorstCase(radius, singular_value)``.

    Examples:
      >>> import optax, jaxgan as jg
      >>> fam = jg.families.bilinear(0.5, 2.0)
      >>> eg = lambda h: jg.transforms.extragradient(optax.sgd(h["lr"]))
      >>> # |1 - u - i sqrt(u)|, u = lr^2 s^2: largest at s = 0.5 for lr = 0.3
      >>> wc = jg.worst_case_radius(fam, eg, hyperparams={"lr": 0.3})
      >>> round(float(wc.radius), 6), float(wc.singular_value)  # sqrt(1 - 0.0225 + 0.0225^2)
      (0.988942, 0.5)
    """
    where = "worst_case_radius"
    family = check_family(family, where)
    check_tx(tx, where, hyperparams)
    if hyperparams is not None:
        check_finite(hyperparams, where, "hyperparams")
    try:
        gap = check_equivariant(family, tx, hyperparams, where)
        out = compiled(
            "worst_case_radius", _worst_program, (tx,), (family, hyperparams is not None, False)
        )(hyperparams)
    except ValueError as err:
        raise without_prefix(err, where) from None
    if gap is not None:  # traced: a step that does not commute with rotations has no worst case
        undefined = ~(gap <= equivariance_tolerance(gap))
        return WorstCase(jnp.where(undefined, jnp.nan, out.radius), out.singular_value)
    if not isinstance(out.radius, jax.core.Tracer):
        if bool(np.isnan(np.asarray(out.radius))):
            raise ValueError(
                "worst_case_radius: the step's spectral radius is undefined on some member of the "
                "family (the step is not differentiable at the equilibrium: e.g. Adam's "
                "1 / sqrt(v) at v = 0), so the class has no worst-case radius."
            )
    return out
