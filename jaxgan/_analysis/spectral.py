"""Eigenvalues of the game Jacobian, Nie & Patel's (2019) diagnostics, and update-map Jacobians.

Diagnostics (Nie & Patel 2019, "Towards a better understanding and regularization of
GAN training dynamics"):

* *phase factor*: the largest imaginary-to-real ratio ``|Im lambda| / |Re lambda|``;
* *conditioning factor*: ``max |lambda| / min |lambda|``;
* *largest stable SimGD step*: SimGD's update operator is ``I + eta A``; it is a
  contraction iff ``|1 + eta lambda| < 1`` for every eigenvalue, i.e.
  ``eta < min_lambda 2 |Re lambda| / |lambda|^2`` with every ``Re lambda < 0``.

At a GAN equilibrium the Jacobian has the block form of Lemma 3,
``A = [[0, -P], [P^T, Q]]`` (``P`` is ``n_phi x n_theta``). Then every eigenpair
``(lambda, (x, y))`` satisfies ``lambda^2 - a1 lambda + a2 = 0`` with the Rayleigh
quotients ``a1 = y^H Q y / y^H y`` and ``a2 = y^H P^T P y / y^H y`` (Theorem 4). That
quadratic is the eigenvalue's 2x2 block: complex roots give the phase factor ``zeta =
sqrt(4 a2 - a1^2) / |a1|`` (Corollary 1: SimGD needs ``eta < 2 / (sqrt(a2) sqrt(1 +
zeta^2))``, which is ``4 / sqrt(1 + zeta^2)`` for the standard GAN where ``a2 = 1/4``);
real roots give the conditioning factor ``tau = |r_max| / |r_min|`` (Corollary 2:
``eta < 2 / sqrt(tau a2)``, i.e. ``4 / sqrt(tau)``). On the linear Gaussian GAN these
blocks are exactly the blocks of Theorem 1.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from .._core.game import Game, Joint
from .._core.step import step_of
from .._validation.cache import compiled
from .._validation.checks import (
    check_finite,
    check_game,
    check_point,
    check_read,
    check_state,
    check_tx,
    entry,
    read_checked,
    tx_at,
)
from .._validation.domains import Flag, Integer, Maybe, Real, domains
from .eig import eig, eigvals
from .jacobian import (
    check_chunk_size,
    dense_jacobian,
    field_jacobian,
    of_field_jacobian,
    player_sizes,
)
from .step_map import off_period, settle, split_state, step_map

_DENSE_EIG_LIMIT = 8192


def _sort_eig(lam, vecs=None):
    order = jnp.lexsort((lam.imag, lam.real))
    if vecs is None:
        return lam[order]
    return lam[order], vecs[:, order]


def _check_square(a, where):
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"{where}: expected a square (n, n) matrix, got shape {a.shape}.")
    if a.shape[0] > _DENSE_EIG_LIMIT:
        raise ValueError(
            f"{where}: a dense eigendecomposition of a {a.shape[0]} x {a.shape[0]} matrix "
            f"is too large (limit {_DENSE_EIG_LIMIT}); use a matrix-free top-k spectrum instead."
        )


def matrix_eigenvalues(a: jax.Array) -> jax.Array:
    """Eigenvalues of a square matrix, complex, sorted by real then imaginary part.

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> jg.matrix_eigenvalues(jnp.array([[0.0, -1.0], [1.0, 0.0]])).imag.tolist()
      [-1.0, 1.0]
    """
    _check_square(
        a if hasattr(a, "shape") and hasattr(a, "ndim") else jnp.asarray(a), "matrix_eigenvalues"
    )
    return _sort_eig(eigvals(jnp.asarray(a)))


@entry("w", chunk_size=Maybe(Integer(1)))
def eigenvalues(
    game: Game, w: Joint, *, transform=None, chunk_size: Optional[int] = None, hyperparams=None
) -> jax.Array:
    """Eigenvalues of the vector-field Jacobian ``A = dv/dw`` at ``w``.

    .. math::

        \\operatorname{spec}(A), \\qquad A = \\frac{\\partial v}{\\partial w} = -\\frac{\\partial
        \\xi}{\\partial w}

    Sorted by real part, then imaginary part. The flow ``dw/dt = v`` is locally
    asymptotically stable at an equilibrium iff every ``Re lambda < 0``. One compiled
    program per ``(game, transform)`` objects and static ``chunk_size``; ``w`` is traced.

    Args:
      game: a ``Game``.
      w: the point, a ``Joint``.
      transform: optional stateless correction; eigenvalues of the corrected field. With
        ``hyperparams``, a callable ``h -> transformation`` (a ``make_tx``).
      chunk_size: JVPs per batch when assembling ``A`` (see ``jacobian``).
      hyperparams: the pytree handed to ``transform`` when it is a ``make_tx`` (traced: a
        new value compiles nothing; a dict key it never reads raises).

    Returns:
      Complex array ``(n,)``.

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> game = jg.games.dirac("wgan")
      >>> jg.eigenvalues(game, game.equilibrium).imag.tolist()
      [-1.0, 1.0]
    """
    return of_field_jacobian(
        "eigenvalues", _sorted_eigenvalues, game, w, transform, chunk_size, hyperparams
    )


def _sorted_eigenvalues(a, w=None):
    _check_square(a, "eigenvalues")
    return _sort_eig(eigvals(a))


def field_eigenvalues(game: Game, transform, w: Joint, chunk_size: int = 16) -> jax.Array:
    """The traceable body of ``eigenvalues`` (checked arguments)."""
    return _sorted_eigenvalues(field_jacobian(game, transform, w, chunk_size))


# --------------------------------------------------------------------------- diagnostics


def verdict_tolerance(lam: jax.Array) -> jax.Array:
    """The tolerance of every verdict on a spectrum: ``100 n eps max|lambda|``.

    A real part within it of zero is on the imaginary axis (``n`` eigenvalues, ``eps`` their
    precision).

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> float(jg.verdict_tolerance(jnp.array([0.0 + 1j, 0.0 - 1j], jnp.complex64))) > 0
      True
    """
    lam = jnp.asarray(lam)
    eps = jnp.finfo(lam.dtype).eps
    return 100.0 * lam.size * eps * jnp.max(jnp.abs(lam), initial=0.0)


def _tolerance(lam, tol):
    return verdict_tolerance(lam) if tol is None else tol


def _eigenvalues_arg(lam, where: str) -> jax.Array:
    """``lam`` as an array, refused when it holds no eigenvalue (every factor is undefined)."""
    lam = jnp.asarray(lam)
    if lam.size == 0:
        raise ValueError(f"{where}: `lam` is empty: the factor of no eigenvalues is undefined.")
    return lam


@domains(tol=Maybe(Real(0)))
def phase_factor(lam: jax.Array, tol: Optional[jax.typing.ArrayLike] = None) -> jax.Array:
    """The phase factor: the largest ``|Im lambda| / |Re lambda|`` over the eigenvalues.

    It is ``inf`` for an eigenvalue on the imaginary axis (``|Re| <= tol``, ``|Im| > tol``); an
    eigenvalue with ``|Im| <= tol`` counts as real.

    .. math:: \\max_i |\\operatorname{Im} \\lambda_i| / |\\operatorname{Re} \\lambda_i|

    ``tol`` defaults to ``verdict_tolerance(lam)``, so a real part at rounding level gives
    ``inf``, not ``1e16``.

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> float(jg.phase_factor(jnp.array([-1 + 2j, -1 - 2j, -3 + 0j])))
      2.0
      >>> float(jg.phase_factor(jnp.array([-1e-16 + 1.7j, -1e-16 - 1.7j])))
      inf
    """
    lam = _eigenvalues_arg(lam, "phase_factor")
    tol = _tolerance(lam, tol)
    re, im = jnp.abs(lam.real), jnp.abs(lam.imag)
    on_axis = re <= tol
    ratio = jnp.where((im <= tol) | on_axis, 0.0, im / jnp.where(on_axis, 1.0, re))
    ratio = jnp.where(on_axis & (im > tol), jnp.inf, ratio)
    return jnp.max(ratio)


@domains(tol=Maybe(Real(0)))
def conditioning_factor(lam: jax.Array, tol: Optional[jax.typing.ArrayLike] = None) -> jax.Array:
    """The conditioning factor ``max |lambda| / min |lambda|`` of the eigenvalues.

    It is ``inf`` if an eigenvalue is zero to ``tol`` (default ``verdict_tolerance(lam)``).

    .. math:: \\max_i |\\lambda_i| / \\min_i |\\lambda_i|

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> float(jg.conditioning_factor(jnp.array([-1.0 + 0j, -4.0 + 0j])))
      4.0
    """
    lam = _eigenvalues_arg(lam, "conditioning_factor")
    tol = _tolerance(lam, tol)
    mod = jnp.abs(lam)
    small = jnp.min(mod)
    return jnp.where(small <= tol, jnp.inf, jnp.max(mod) / jnp.where(small <= tol, 1.0, small))


#: Verdicts on a spectrum (``Spectrum.verdict``): every ``Re < -tol``; the largest real part
#: within ``tol`` of zero; some ``Re > tol``; an eigenvalue is NaN or inf (the spectrum of a
#: non-finite point under ``jit``, or of a matrix with non-finite entries).
VERDICTS = ("stable", "marginal", "unstable", "non-finite")


@domains(tol=Maybe(Real(0)))
def flow_verdict(lam: jax.Array, tol: Optional[jax.typing.ArrayLike] = None) -> jax.Array:
    """The continuous-time verdict on eigenvalues of ``A``: 0, 1, 2 or 3.

    The verdict is 0 (stable), 1 (marginal), 2 (unstable) or 3 (non-finite), with the
    tolerance ``tol`` (default ``verdict_tolerance(lam)``) around the axis; 3 where an
    eigenvalue is NaN or inf (no verdict is defined).

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> [jg.VERDICTS[int(jg.flow_verdict(jnp.array(x)))] for x in ([-1 + 1j], [-1e-17 + 1j],
      ... [1e-3 + 0j])]
      ['stable', 'marginal', 'unstable']
    """
    lam = _eigenvalues_arg(lam, "flow_verdict")
    tol = _tolerance(lam, tol)
    top = jnp.max(lam.real)
    verdict = jnp.where(top < -tol, 0, jnp.where(top <= tol, 1, 2))
    return jnp.where(jnp.all(jnp.isfinite(lam)), verdict, 3).astype(jnp.int32)


@domains(tol=Maybe(Real(0)))
def stable_step_bound(lam: jax.Array, tol: Optional[jax.typing.ArrayLike] = None) -> jax.Array:
    """Largest SimGD step: ``sup{eta : |1 + eta lambda| < 1 for all lambda}``.

    .. math::

        \\eta^* = \\min_i \\frac{-2 \\operatorname{Re} \\lambda_i}{|\\lambda_i|^2} = \\sup\\{\\eta
        : |1 + \\eta \\lambda_i| < 1 \\ \\forall i\\}

    ``min_lambda 2 |Re lambda| / |lambda|^2`` when every ``Re lambda < -tol`` (the flow is
    stable, ``flow_verdict``), else 0 (no positive step contracts).

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> round(float(jg.stable_step_bound(jnp.array([-1.0 + 1j, -1.0 - 1j]))), 6)
      1.0
    """
    lam = _eigenvalues_arg(lam, "stable_step_bound")
    re = lam.real
    mod2 = jnp.abs(lam) ** 2
    bound = jnp.min(-2.0 * re / jnp.where(mod2 == 0, 1.0, mod2))
    return jnp.where(flow_verdict(lam, tol) == 0, bound, jnp.zeros_like(bound))


class Spectrum(NamedTuple):
    """Spectrum of the vector-field Jacobian and the diagnostics of Nie & Patel (2019).

    Attributes:
      eigenvalues: complex ``(n,)``, sorted by real then imaginary part.
      phase_factor: largest ``|Im| / |Re|``.
      conditioning_factor: ``max |lambda| / min |lambda|``.
      stable_step: largest stable SimGD step (0 if none).
      is_stable: every ``Re lambda < -tolerance`` (flow locally asymptotically stable);
        False for a centre (eigenvalues on the axis to ``tolerance``).
      block_structured: ``A`` has Lemma 3's form ``[[0, -P], [P^T, Q]]`` (to ``sqrt(eps)``
        relative); the per-eigenvalue block fields below are NaN where it has not.
      P: ``(n_phi, n_theta)`` block ``-A_{phi theta}``.
      Q: ``(n_theta, n_theta)`` block ``A_{theta theta}``.
      a1: per eigenvalue, Rayleigh quotient of ``Q`` at its ``theta`` part (Theorem 4).
      a2: per eigenvalue, Rayleigh quotient of ``P^T P`` (Theorem 4).
      zeta: per eigenvalue, the block's phase factor ``sqrt(4 a2 - a1^2) / |a1|`` where its
        roots are complex (NaN where real).
      tau: per eigenvalue, the block's conditioning ``|r_max| / |r_min|`` where its roots
        are real (NaN where complex).
      block_step_bound: per eigenvalue, the block's largest stable SimGD step
        (Corollaries 1 and 2).
      verdict: 0 stable, 1 marginal (the largest real part within ``tolerance`` of zero),
        2 unstable, 3 non-finite (an eigenvalue is NaN: the point was NaN or inf under
        ``jit``); ``VERDICTS[verdict]`` is the word (``verdict_label``).
      tolerance: ``verdict_tolerance(eigenvalues)``, ``100 n eps max|lambda|``: the band
        around the imaginary axis that every verdict and factor here uses.

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> s = jg.spectrum(jg.games.bilinear(2.0), jg.Joint(jnp.zeros(()), jnp.zeros(())))
      >>> # +-2i: no SimGD step contracts
      >>> [round(x, 4) for x in s.eigenvalues.imag.tolist()], float(s.stable_step)
      ([-2.0, 2.0], 0.0)
    """

    eigenvalues: jax.Array
    phase_factor: jax.Array
    conditioning_factor: jax.Array
    stable_step: jax.Array
    is_stable: jax.Array
    block_structured: jax.Array
    P: jax.Array
    Q: jax.Array
    a1: jax.Array
    a2: jax.Array
    zeta: jax.Array
    tau: jax.Array
    block_step_bound: jax.Array
    verdict: jax.Array
    tolerance: jax.Array

    @property
    def verdict_label(self) -> str:
        """``"stable"``, ``"marginal"``, ``"unstable"`` or ``"non-finite"`` (a concrete,
        unbatched spectrum)."""
        return VERDICTS[int(self.verdict)]


@domains(n_phi=Integer(1))
def matrix_spectrum(a: jax.Array, n_phi: int) -> Spectrum:
    """The ``Spectrum`` of a joint Jacobian whose first ``n_phi`` rows are the generator's.

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> s = jg.matrix_spectrum(jnp.array([[0.0, -0.5], [0.5, -0.5]]), n_phi=1)
      >>> bool(s.block_structured), round(float(s.stable_step), 5)
      (True, 2.0)
    """
    a = jnp.asarray(a)
    _check_square(a, "spectrum")
    if a.shape[0] < 2:
        raise ValueError(
            f"spectrum: `a` is {a.shape[0]}x{a.shape[0]}: "
            "a joint Jacobian of two players is at least 2x2."
        )
    if not 0 < n_phi < a.shape[0]:
        raise ValueError(f"spectrum: `n_phi` must be in 1..{a.shape[0] - 1}, got {n_phi}.")
    return _spectrum(a, n_phi)


def _spectrum(a, n_phi: Optional[int]) -> Spectrum:
    """``matrix_spectrum``'s body; ``n_phi=None`` for an n-player Jacobian, which has no
    generator/discriminator split: ``block_structured`` is False, ``P`` and ``Q`` are empty
    and the per-block fields NaN (Lemma 3's block form is a two-player form)."""
    if n_phi is None:
        lam = _sort_eig(*eig(a))[0]
        tol_axis = verdict_tolerance(lam)
        verdict = flow_verdict(lam, tol_axis)
        nan = jnp.full(lam.shape, jnp.nan, jnp.real(lam).dtype)
        empty = jnp.zeros((0, 0), a.dtype)
        return Spectrum(
            eigenvalues=lam,
            phase_factor=phase_factor(lam, tol_axis),
            conditioning_factor=conditioning_factor(lam, tol_axis),
            stable_step=stable_step_bound(lam, tol_axis),
            is_stable=verdict == 0,
            block_structured=jnp.asarray(False),
            P=empty,
            Q=empty,
            a1=nan,
            a2=nan,
            zeta=nan,
            tau=nan,
            block_step_bound=nan,
            verdict=verdict,
            tolerance=tol_axis,
        )
    lam, vecs = _sort_eig(*eig(a))
    a_pp, a_pt = a[:n_phi, :n_phi], a[:n_phi, n_phi:]
    a_tp, a_tt = a[n_phi:, :n_phi], a[n_phi:, n_phi:]
    p, q = -a_pt, a_tt
    eps = jnp.finfo(a.dtype).eps
    tol = jnp.sqrt(eps) * jnp.maximum(1.0, jnp.max(jnp.abs(a)))
    structured = (jnp.max(jnp.abs(a_pp)) <= tol) & (jnp.max(jnp.abs(a_pt + a_tp.T)) <= tol)

    # Theorem 4: lambda^2 - a1 lambda + a2 = 0 from the theta part y of each eigenvector.
    y = vecs[n_phi:, :]
    yy = jnp.sum(jnp.abs(y) ** 2, axis=0)
    ok = structured & (yy > eps)
    yy_safe = jnp.where(ok, yy, 1.0)
    a1 = jnp.real(jnp.sum(jnp.conj(y) * (q.astype(y.dtype) @ y), axis=0)) / yy_safe
    py = p.astype(y.dtype) @ y
    a2 = jnp.sum(jnp.abs(py) ** 2, axis=0) / yy_safe
    tol_axis = verdict_tolerance(lam)
    disc = a1**2 - 4.0 * a2
    complex_roots = disc < 0
    sqrt_abs = jnp.sqrt(jnp.abs(disc))
    # a block's real part -a1/2 within the spectrum's tolerance of zero is on the axis: zeta is
    # infinite there
    on_axis = jnp.abs(a1) <= 2.0 * tol_axis
    zeta = jnp.where(
        complex_roots,
        jnp.where(on_axis, jnp.inf, sqrt_abs / jnp.where(on_axis, 1.0, jnp.abs(a1))),
        jnp.nan,
    )
    r_big = jnp.abs(a1) / 2 + sqrt_abs / 2
    r_small = jnp.abs(jnp.abs(a1) / 2 - sqrt_abs / 2)
    tau = jnp.where(complex_roots, jnp.nan, r_big / r_small)
    # Largest step for the block's roots: complex pair |Re|=|a1|/2, |r|^2=a2; real pair 2/|r_max|.
    stable_block = a1 < -2.0 * tol_axis
    step_complex = jnp.abs(a1) / jnp.where(a2 == 0, 1.0, a2)
    step_real = 2.0 / r_big
    block_step = jnp.where(complex_roots, step_complex, step_real)
    block_step = jnp.where(stable_block, block_step, 0.0)
    nan = jnp.nan
    verdict = flow_verdict(lam, tol_axis)
    return Spectrum(
        eigenvalues=lam,
        phase_factor=phase_factor(lam, tol_axis),
        conditioning_factor=conditioning_factor(lam, tol_axis),
        stable_step=stable_step_bound(lam, tol_axis),
        is_stable=verdict == 0,
        block_structured=structured,
        P=p,
        Q=q,
        a1=jnp.where(ok, a1, nan),
        a2=jnp.where(ok, a2, nan),
        zeta=jnp.where(ok, zeta, nan),
        tau=jnp.where(ok, tau, nan),
        block_step_bound=jnp.where(ok, block_step, nan),
        verdict=verdict,
        tolerance=tol_axis,
    )


@entry("w", chunk_size=Maybe(Integer(1)))
def spectrum(
    game: Game, w: Joint, *, transform=None, chunk_size: Optional[int] = None, hyperparams=None
) -> Spectrum:
    """Spectrum of the vector-field Jacobian at ``w`` with the diagnostics of Nie & Patel (2019).

    See ``Spectrum`` for the fields: eigenvalues, phase and conditioning factors, the
    largest stable SimGD step, and where the Jacobian has Lemma 3's GAN form
    ``[[0, -P], [P^T, Q]]`` (Nie & Patel 2019), the ``P`` and ``Q`` blocks with each
    eigenvalue's 2x2 block (Theorem 4's quadratic) and its ``zeta``, ``tau`` and step
    bound (Corollaries 1 and 2). One compiled program per ``(game, transform)`` and static
    ``chunk_size``; ``w`` is traced.

    Args:
      game: a ``Game``.
      w: a finite point (typically an equilibrium), a ``Joint``.
      transform: optional stateless correction; the spectrum of the corrected field. With
        ``hyperparams``, a callable ``h -> transformation`` (a ``make_tx``).
      chunk_size: JVPs per batch when assembling the Jacobian.
      hyperparams: the pytree handed to ``transform`` when it is a ``make_tx`` (traced).

    Returns:
      A ``Spectrum`` (a pytree of arrays: works under ``jit`` and ``vmap``).

    Raises:
      ValueError: ``w`` has NaN or inf values (when concrete).

    Examples:
      >>> import jaxgan as jg
      >>> game = jg.games.dirac("standard")
      >>> s = jg.spectrum(game, game.equilibrium)
      >>> s.eigenvalues.imag.round(6).tolist(), float(s.stable_step)
      ([-0.5, 0.5], 0.0)
    """
    return of_field_jacobian("spectrum", _spectrum_at, game, w, transform, chunk_size, hyperparams)


def _spectrum_at(a, w):
    return _spectrum(a, player_sizes(w)[0] if isinstance(w, Joint) else None)


# --------------------------------------------------------------------------- update maps


@entry("w", chunk_size=Maybe(Integer(1)), cycle=Flag(), period=Maybe(Integer(1)))
def update_jacobian(
    game: Game,
    tx,
    w: Joint,
    state=None,
    *,
    chunk_size: Optional[int] = None,
    hyperparams=None,
    cycle: bool = False,
    period: Optional[int] = None,
) -> jax.Array:
    """Jacobian of one whole step of an optax algorithm, over parameters and dynamic state.

    .. math::

        \\frac{\\partial (w', s')}{\\partial (w, s)}, \\qquad (w', s') = (w + u,\\ s'), \\quad (u,
        s') = \\mathrm{tx.update}(\\xi(w), s, w)

    The step is ``(w, s) -> (w + u, s')`` with ``u, s' = tx.update(xi(w), s, w,
    game=game)`` (``make_step``). Its Jacobian is taken by forward mode over the flat
    vector ``z = (w, s_dynamic)``: the parameters in ravel order, then the state's *dynamic*
    floating-point leaves in tree order. Constants of the map are held fixed, not
    linearised: integer leaves (step counts) and floating-point leaves the step hands back
    unchanged (the hyperparameters of ``optax.inject_hyperparams``), so an injected optimiser
    has the Jacobian of the plain one; a first-step flag the step sets to a constant (optax's
    optimistic GD's ``is_initial_step``) takes its settled value. For stateless algorithms it
    is ``n x n``;
    ``optax.sgd(eta)`` gives exactly ``I + eta A``. A fixed point ``(w*, s*)`` of the step is
    locally asymptotically stable if its spectral radius is below one.

    A step whose map depends on the step count is periodic (``lookahead``: every
    ``sync_period`` steps) or never repeats (a schedule, a bias correction). By default this
    is one step's Jacobian at the phase of ``state``; ``cycle=True`` gives the Jacobian of the
    step's whole period of ``k`` steps from ``state`` (refused, with the reason, for a map that
    never repeats) (``jg.spectral_radius`` is
    ``rho(cycle)^(1/k)``). A step whose hyperparameters cycle (a cyclic learning-rate schedule
    read from optax's step count) is periodic when ``period=k`` declares it: the map is checked
    to repeat every ``k`` steps (its value and derivative at every step of the cycle against
    the next cycles', ``PERIOD_CHECKS``), and a ``period`` it does not have is refused. A
    non-finite Jacobian at a finite point (the step is not differentiable there: Adam at a zero
    second moment) raises.

    Compiled once per structure: cached by the identity of ``game`` and ``tx`` and the
    static options; ``w``, ``state`` and ``hyperparams`` are traced. For a new learning
    rate without a new compilation pass a ``make_tx`` and ``hyperparams``:
    ``update_jacobian(game, lambda h: optax.sgd(h["lr"]), w, hyperparams={"lr": 0.1})``; a
    key that ``make_tx`` never reads raises.

    Args:
      game: a ``Game``.
      tx: an optax transformation; with ``hyperparams``, a callable ``h -> transformation``.
      w: the point (usually an equilibrium).
      state: the optimiser state at which to differentiate. Default: ``tx.init(w)``
        advanced by one step taken at ``w`` (the step's new ``w`` is discarded). That is the
        steady state at an equilibrium for momentum-type states, and it leaves
        first-step special cases behind (optax's optimistic GD takes a plain step first).
      chunk_size: JVPs per batch (static).
      hyperparams: the pytree handed to ``tx`` when it is a ``make_tx`` (traced).
      cycle: the Jacobian of the step's whole period instead of one step (static).
      period: the period ``k >= 1`` of a step whose map depends on the step count (a cyclic
        schedule), checked; the step's period is then ``k`` (static).

    Returns:
      Square array of size ``n + n_dynamic_state``.

    Raises:
      ValueError: the step is not differentiable at the point (non-finite Jacobian).

    Examples:
      >>> import optax, jaxgan as jg
      >>> game = jg.games.dirac("wgan")
      >>> m = jg.update_jacobian(game, optax.sgd(0.1), game.equilibrium)
      >>> [[round(float(x), 6) for x in row] for row in m]
      [[1.0, -0.1], [0.1, 1.0]]
    """
    return _of_step(
        "update_jacobian", False, game, tx, w, state, chunk_size, hyperparams, cycle, period
    )


def _of_step(where, radius, game, tx, w, state, chunk_size, hyperparams, cycle=False, period=None):
    """The entry point of ``update_jacobian`` (``radius=False``) and ``spectral_radius``."""
    game = check_game(game, where)
    w = check_point(game, w, where)
    check_finite(w, where)
    check_tx(tx, where, hyperparams)
    check_state(tx, w, state, where, hyperparams)
    Flag().check(cycle, where, "cycle")
    period = None if period is None else int(period)
    options = (check_chunk_size(chunk_size), hyperparams is not None, radius, cycle, period)
    out, flags = compiled("update_jacobian", _update_jacobian_program, (game, tx), options)(
        w, state, hyperparams
    )
    if isinstance(flags, jax.core.Tracer):
        return out
    first, off, not_finite = np.asarray(flags)  # one read of the three verdicts
    if first:
        raise ValueError(FIRST_STEP_MSG)
    if off:
        raise ValueError(
            OFF_PERIOD_MSG.format(
                where=where, period=period, twice=2 * period, ten=10 * period, far=1000 * period
            )
        )
    if not_finite:
        raise ValueError(NOT_DIFFERENTIABLE_MSG.format(where=where))
    return out


#: why a declared ``period`` is refused
OFF_PERIOD_MSG = (
    "{where}: the step's map does not repeat every `period` = {period} steps: at some step of "
    "the cycle its value or derivative differs from the one {period}, {twice}, {ten} or {far} "
    "steps later (a schedule with another period, or one that decays). Give the period of the "
    "schedule's cycle, or measure the rate with `rollout`/`sweep`."
)


#: why a step's Jacobian or radius at a finite point is refused when it is not finite
NOT_DIFFERENTIABLE_MSG = (
    "{where}: the step is not differentiable at this point and state "
    "(its Jacobian has non-finite entries): e.g. Adam's or RMSProp's 1 / sqrt(v) "
    "at a second moment v = 0, as at a fixed point reached from the default state, "
    "or a solve or mixing undefined at a fixed point. "
    "Pass a `state` where the map is differentiable (v > 0), "
    "or measure the rate with `rollout`/`sweep`."
)


def _update_jacobian_program(game, tx, chunk_size, with_hyperparams, radius, cycle, period=None):
    where = "spectral_radius" if radius else "update_jacobian"

    def program(w, state, hyperparams):
        h = read_checked(hyperparams) if with_hyperparams else None
        t = tx_at(tx, h, where)
        first, off = jnp.asarray(False), jnp.asarray(False)
        if radius:
            out, first, off = _radius_and_first_step(
                game, t, w, state, chunk_size, period=period, flags=True
            )
        else:
            step, s, structure = _step_and_structure(game, t, w, state)
            if period is not None:
                off = off_period(step, w, s, structure, period)
                structure = structure._replace(period=period, never_repeats=None)
            if cycle and structure.never_repeats is not None:
                raise ValueError(never_repeats_message(where, "no period", structure))
            out = _map_jacobian(step, w, s, structure, structure.period if cycle else 1, chunk_size)
        check_read(h, where)
        # a radius made NaN by a first step or a wrong period is said by its own flag
        not_finite = ~jnp.all(jnp.isfinite(out)) & ~first & ~off
        return out, jnp.stack([first, off, not_finite])

    return program


def _step_and_structure(game, tx, w, state):
    """The step, the state to differentiate at and the map's structure. The default state
    (``state=None``) is ``tx.init(w)`` advanced one step, with its first-step flags settled; a
    state the user passes is used as it is."""
    step = step_of(game, tx)
    if state is not None:
        return step, state, step_map(game, tx, step, w, state)
    _, state = step(w, tx.init(w))
    structure = step_map(game, tx, step, w, state)
    return step, settle(step, w, state, structure), structure


def _unsettled(step, w, state, structure) -> jax.Array:
    """Whether a first-step flag of ``state`` (``StepMap.settled``) is not yet at the value the
    step sets it to: the map from ``state`` is then taken once, and differs from the one the
    run repeats."""
    if not structure.settled:
        return jnp.asarray(False)
    leaves = jax.tree.leaves(state)
    after = jax.tree.leaves(step(w, state)[1])
    return jnp.any(jnp.asarray([jnp.any(leaves[i] != after[i]) for i in structure.settled]))


def step_jacobian(
    game: Game, tx, w: Joint, state, chunk_size: int, *, cycle: bool = False
) -> jax.Array:
    """The traceable body of ``update_jacobian`` (``tx`` accepts ``game=``): the Jacobian of
    one step, or with ``cycle`` of the step's whole period, over ``(w, dynamic state)``."""
    step, state, structure = _step_and_structure(game, tx, w, state)
    return _map_jacobian(step, w, state, structure, structure.period if cycle else 1, chunk_size)


def flat_map(step, w, state, structure, steps: int):
    """``(F, z0)``: ``steps`` steps of the map on the flat ``z = (w, dynamic state)`` (the
    constants of the map held), and ``z`` at ``(w, state)``."""
    s_diff, merge = split_state(state, structure.dynamic)
    z0, unravel = ravel_pytree((w, s_diff))

    def map_flat(z):
        w_, s_ = unravel(z)
        s_ = merge(s_)
        for _ in range(steps):
            w_, s_ = step(w_, s_)
        return ravel_pytree((w_, split_state(s_, structure.dynamic)[0]))[0]

    return map_flat, z0


def _map_jacobian(step, w, state, structure, steps: int, chunk_size: int) -> jax.Array:
    return dense_jacobian(*flat_map(step, w, state, structure, steps), chunk_size)


def step_spectral_radius(
    game: Game,
    tx,
    w: Joint,
    state=None,
    chunk_size: int = 16,
    *,
    dominant: bool = False,
    where: str = "spectral_radius",
):
    """The traceable body of ``spectral_radius``: ``rho(cycle)^(1/k)`` over the step's period
    ``k`` (``k = 1``: one step), over its dynamic state; a map that never repeats is refused.
    With ``dominant``, ``(radius, the cycle's eigenvalue of largest modulus)``."""
    out = _radius_and_first_step(game, tx, w, state, chunk_size, dominant=dominant, where=where)
    return (out[0], out[-1]) if dominant else out[0]


def never_repeats_message(where: str, what: str, structure) -> str:
    """Why ``where`` refuses a step whose map never repeats (``what`` it has not: a period, a
    spectral radius)."""
    return (
        f"{where}: the step's map depends on time and never repeats, "
        f"so it has {what}: {structure.never_repeats}. "
        "Use a constant-in-time form of the optimiser "
        "(no schedule, no bias correction), declare the period of a schedule that cycles "
        "(`period=k`), or measure the rate with `rollout`/`sweep` "
        "(`jg.update_jacobian` still gives one step's Jacobian at the state's step count)."
    )


def _radius_and_first_step(
    game,
    tx,
    w,
    state,
    chunk_size,
    *,
    period=None,
    flags=False,
    dominant=False,
    where="spectral_radius",
):
    """``(radius, at a first step)``: the radius is NaN where a ``state`` given is at a first step
    (``_unsettled``), whose map is taken once and has no rate. With a declared ``period`` the
    map's period is checked (``off_period``; NaN where it fails), and with ``flags`` the check's
    flag is returned third."""
    given = state is not None
    step, state, structure = _step_and_structure(game, tx, w, state)
    off = jnp.asarray(False)
    if period is not None:
        off = off_period(step, w, state, structure, period)
        structure = structure._replace(period=period, never_repeats=None)
    if structure.never_repeats is not None:
        raise ValueError(never_repeats_message(where, "no spectral radius", structure))
    m = _map_jacobian(step, w, state, structure, structure.period, chunk_size)
    lam = eigvals(m)
    rho = jnp.max(jnp.abs(lam))
    rho = rho if structure.period == 1 else rho ** (1.0 / structure.period)
    first = jnp.asarray(False)
    if given and structure.settled:
        # a state at a first step: its map is taken once, so no radius of it is a rate (NaN
        # under jit; the entry point refuses a concrete one, see FIRST_STEP_MSG)
        first = _unsettled(step, w, state, structure)
        rho = jnp.where(first, jnp.nan, rho)
    rho = jnp.where(off, jnp.nan, rho)
    out = (rho, first, off) if flags else (rho, first)
    return out + (lam[jnp.argmax(jnp.abs(lam))],) if dominant else out


#: why ``spectral_radius`` refuses a state at a first step
FIRST_STEP_MSG = (
    "spectral_radius: `state` is at a first step: a flag in it "
    "(such as optax's optimistic GD's `is_initial_step`) is set to a constant by the step, "
    "so the map from this state is taken once and differs from the map the run repeats, "
    "and its spectral radius is not a rate. Pass `state=None` (the state after one step) "
    "or the state after a step; `jg.update_jacobian` gives this one step's Jacobian."
)


@entry("w", chunk_size=Maybe(Integer(1)), period=Maybe(Integer(1)))
def spectral_radius(
    game: Game,
    tx,
    w: Joint,
    state=None,
    *,
    chunk_size: Optional[int] = None,
    hyperparams=None,
    period: Optional[int] = None,
) -> jax.Array:
    """Spectral radius of the step per step: ``rho(J)`` of the step's Jacobian.

    The Jacobian is ``update_jacobian(game, tx, w, state)``, over the parameters and the
    dynamic state (constants of the map held fixed).

    .. math::

        \\rho = \\max_i |\\mu_i|, \\qquad \\mu_i \\in \\operatorname{spec}\\Big(\\frac{\\partial
        (w', s')}{\\partial (w, s)}\\Big)

    For a step that repeats every ``k`` steps (``lookahead``) it is ``rho(J_cycle)^(1/k)``,
    ``J_cycle`` the Jacobian of the whole period (``update_jacobian(..., cycle=True)``): the
    rate per step of the runs. A step whose map never repeats (a learning-rate schedule, a bias
    correction: a counter it reads that no stage declares periodic) has no spectral radius
    and raises with the reason, as does a step that is not differentiable at the point. A
    schedule that cycles every ``k`` steps (a cyclic learning rate) is analysed over its cycle
    with ``period=k``: ``rho(J_cycle)^(1/k)``, the period checked as ``update_jacobian`` checks
    it (a ``period`` the map does not have raises; NaN under ``jit``).

    Below one: the algorithm converges locally (linearly, at that rate per step) to the
    fixed point; above one: it is locally unstable. Compiled once per ``(game, tx,
    chunk_size)`` as ``update_jacobian`` is; a ``make_tx`` with ``hyperparams`` gives every
    learning rate from one program (a key ``make_tx`` never reads raises).

    Raises:
      ValueError: the map never repeats, does not have the declared ``period``, or is not
        differentiable at the point.

    Examples:
      >>> import optax, jaxgan as jg
      >>> game = jg.games.dirac("wgan")
      >>> round(float(jg.spectral_radius(game, optax.sgd(0.1), game.equilibrium)), 6)  # sqrt(1.01)
      1.004988
      >>> make_tx = lambda h: optax.sgd(h["lr"])
      >>> [round(float(jg.spectral_radius(game, make_tx, game.equilibrium, hyperparams={"lr": lr})),
      ... 6) for lr in (0.1, 0.2)]
      [1.004988, 1.019804]
    """
    return _of_step(
        "spectral_radius", True, game, tx, w, state, chunk_size, hyperparams, period=period
    )
