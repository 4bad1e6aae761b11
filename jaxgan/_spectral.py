"""Eigenvalues of the game Jacobian, the seed diagnostics, and update-map Jacobians.

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
from jax.flatten_util import ravel_pytree

from ._cache import compiled
from ._checks import check_finite, check_game, check_point
from ._eig import eig, eigvals
from ._game import Game, Joint
from ._jacobian import check_chunk_size, dense_jacobian, field_jacobian, of_field_jacobian, player_sizes
from ._step import check_state, check_tx, step_of, tx_at

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
            f"{where}: a dense eigendecomposition of a {a.shape[0]} x {a.shape[0]} matrix is too large "
            f"(limit {_DENSE_EIG_LIMIT}); use a matrix-free top-k spectrum instead."
        )


def matrix_eigenvalues(a: jax.Array) -> jax.Array:
    """Eigenvalues of a square matrix, complex, sorted by real then imaginary part.

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> jg.matrix_eigenvalues(jnp.array([[0.0, -1.0], [1.0, 0.0]])).imag.tolist()
      [-1.0, 1.0]
    """
    _check_square(a if hasattr(a, "shape") and hasattr(a, "ndim") else jnp.asarray(a), "matrix_eigenvalues")
    return _sort_eig(eigvals(jnp.asarray(a)))


def eigenvalues(game: Game, w: Joint, *, transform=None, chunk_size: Optional[int] = None) -> jax.Array:
    """Eigenvalues of the vector-field Jacobian ``A = dv/dw`` at ``w``.

    Sorted by real part, then imaginary part. The flow ``dw/dt = v`` is locally
    asymptotically stable at an equilibrium iff every ``Re lambda < 0``. One compiled
    program per ``(game, transform)`` objects and static ``chunk_size``; ``w`` is traced.

    Args:
      game: a ``Game``.
      w: the point, a ``Joint``.
      transform: optional stateless correction; eigenvalues of the corrected field.
      chunk_size: JVPs per batch when assembling ``A`` (see ``jacobian``).

    Returns:
      Complex array ``(n,)``.

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> game = jg.games.dirac("wgan")
      >>> jg.eigenvalues(game, game.equilibrium).imag.tolist()
      [-1.0, 1.0]
    """
    return of_field_jacobian("eigenvalues", _sorted_eigenvalues, game, w, transform, chunk_size)


def _sorted_eigenvalues(a, w=None):
    _check_square(a, "eigenvalues")
    return _sort_eig(eigvals(a))


def field_eigenvalues(game: Game, transform, w: Joint, chunk_size: int = 16) -> jax.Array:
    """The traceable body of ``eigenvalues`` (checked arguments)."""
    return _sorted_eigenvalues(field_jacobian(game, transform, w, chunk_size))


# --------------------------------------------------------------------------- diagnostics


def phase_factor(lam: jax.Array) -> jax.Array:
    """Largest ``|Im lambda| / |Re lambda|`` (``inf`` for a non-zero imaginary eigenvalue).

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> float(jg.phase_factor(jnp.array([-1 + 2j, -1 - 2j, -3 + 0j])))
      2.0
    """
    re, im = jnp.abs(lam.real), jnp.abs(lam.imag)
    ratio = jnp.where(im == 0, 0.0, im / jnp.where(re == 0, 0.0, re))
    ratio = jnp.where((re == 0) & (im > 0), jnp.inf, ratio)
    return jnp.max(ratio)


def conditioning_factor(lam: jax.Array) -> jax.Array:
    """``max |lambda| / min |lambda|`` (``inf`` if an eigenvalue is zero).

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> float(jg.conditioning_factor(jnp.array([-1.0 + 0j, -4.0 + 0j])))
      4.0
    """
    mod = jnp.abs(lam)
    return jnp.max(mod) / jnp.min(mod)


def stable_step_bound(lam: jax.Array) -> jax.Array:
    """Largest SimGD step: ``sup{eta : |1 + eta lambda| < 1 for all lambda}``.

    ``min_lambda 2 |Re lambda| / |lambda|^2`` when every ``Re lambda < 0``, else 0 (no
    positive step contracts).

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> round(float(jg.stable_step_bound(jnp.array([-1.0 + 1j, -1.0 - 1j]))), 6)
      1.0
    """
    re = lam.real
    mod2 = jnp.abs(lam) ** 2
    bound = jnp.min(-2.0 * re / jnp.where(mod2 == 0, 1.0, mod2))
    return jnp.where(jnp.all(re < 0), bound, jnp.zeros_like(bound))


class Spectrum(NamedTuple):
    """Spectrum of the vector-field Jacobian and the seed diagnostics.

    Attributes:
      eigenvalues: complex ``(n,)``, sorted by real then imaginary part.
      phase_factor: largest ``|Im| / |Re|``.
      conditioning_factor: ``max |lambda| / min |lambda|``.
      stable_step: largest stable SimGD step (0 if none).
      is_stable: every ``Re lambda < 0`` (flow locally asymptotically stable).
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

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> s = jg.spectrum(jg.games.bilinear(2.0), jg.Joint(jnp.zeros(()), jnp.zeros(())))
      >>> [round(x, 4) for x in s.eigenvalues.imag.tolist()], float(s.stable_step)  # +-2i: no SimGD step contracts
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


def spectrum_of_matrix(a: jax.Array, n_phi: int) -> Spectrum:
    """The ``Spectrum`` of a joint Jacobian whose first ``n_phi`` rows are the generator's.

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> s = jg.spectrum_of_matrix(jnp.array([[0.0, -0.5], [0.5, -0.5]]), n_phi=1)
      >>> bool(s.block_structured), round(float(s.stable_step), 5)
      (True, 2.0)
    """
    a = jnp.asarray(a)
    _check_square(a, "spectrum")
    if not 0 < n_phi < a.shape[0]:
        raise ValueError(f"spectrum: `n_phi` must be in 1..{a.shape[0] - 1}, got {n_phi}.")
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
    disc = a1**2 - 4.0 * a2
    complex_roots = disc < 0
    sqrt_abs = jnp.sqrt(jnp.abs(disc))
    zeta = jnp.where(complex_roots, sqrt_abs / jnp.abs(a1), jnp.nan)
    r_big = jnp.abs(a1) / 2 + sqrt_abs / 2
    r_small = jnp.abs(jnp.abs(a1) / 2 - sqrt_abs / 2)
    tau = jnp.where(complex_roots, jnp.nan, r_big / r_small)
    # Largest step for the block's roots: complex pair |Re|=|a1|/2, |r|^2=a2; real pair 2/|r_max|.
    stable_block = a1 < 0
    step_complex = jnp.abs(a1) / jnp.where(a2 == 0, 1.0, a2)
    step_real = 2.0 / r_big
    block_step = jnp.where(complex_roots, step_complex, step_real)
    block_step = jnp.where(stable_block, block_step, 0.0)
    nan = jnp.nan
    return Spectrum(
        eigenvalues=lam,
        phase_factor=phase_factor(lam),
        conditioning_factor=conditioning_factor(lam),
        stable_step=stable_step_bound(lam),
        is_stable=jnp.all(lam.real < 0),
        block_structured=structured,
        P=p,
        Q=q,
        a1=jnp.where(ok, a1, nan),
        a2=jnp.where(ok, a2, nan),
        zeta=jnp.where(ok, zeta, nan),
        tau=jnp.where(ok, tau, nan),
        block_step_bound=jnp.where(ok, block_step, nan),
    )


def spectrum(game: Game, w: Joint, *, transform=None, chunk_size: Optional[int] = None) -> Spectrum:
    """Spectrum of the vector-field Jacobian at ``w`` with the seed diagnostics.

    See ``Spectrum`` for the fields: eigenvalues, phase and conditioning factors, the
    largest stable SimGD step, and where the Jacobian has Lemma 3's GAN form
    ``[[0, -P], [P^T, Q]]`` (Nie & Patel 2019), the ``P`` and ``Q`` blocks with each
    eigenvalue's 2x2 block (Theorem 4's quadratic) and its ``zeta``, ``tau`` and step
    bound (Corollaries 1 and 2). One compiled program per ``(game, transform)`` and static
    ``chunk_size``; ``w`` is traced.

    Args:
      game: a ``Game``.
      w: a finite point (typically an equilibrium), a ``Joint``.
      transform: optional stateless correction; the spectrum of the corrected field.
      chunk_size: JVPs per batch when assembling the Jacobian.

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
    return of_field_jacobian("spectrum", _spectrum_at, game, w, transform, chunk_size)


def _spectrum_at(a, w):
    return spectrum_of_matrix(a, player_sizes(w)[0])


# --------------------------------------------------------------------------- update maps


def _split_state(state):
    """Inexact (differentiable) leaves of an optimiser state, and a function to put them back."""
    leaves, treedef = jax.tree.flatten(state)
    mask = [jnp.issubdtype(jnp.result_type(x), jnp.inexact) for x in leaves]
    diff = [x for x, m in zip(leaves, mask) if m]

    def merge(diff_leaves):
        it = iter(diff_leaves)
        return jax.tree.unflatten(treedef, [next(it) if m else x for x, m in zip(leaves, mask)])

    return diff, merge


def update_jacobian(
    game: Game, tx, w: Joint, state=None, *, chunk_size: Optional[int] = None, hyperparams=None
) -> jax.Array:
    """Jacobian of one whole step of an optax algorithm, over parameters and state.

    The step is ``(w, s) -> (w + u, s')`` with ``u, s' = tx.update(xi(w), s, w,
    game=game)`` (``make_step``). Its Jacobian is taken by forward mode over the flat
    vector ``z = (w, s_float)``: the parameters in ravel order, then the floating-point
    leaves of the state in tree order (integer leaves such as step counts are held
    fixed). For stateless algorithms it is ``n x n``; ``optax.sgd(eta)`` gives exactly
    ``I + eta A``. A fixed point ``(w*, s*)`` of the step is locally asymptotically
    stable if its spectral radius is below one: the stability of any composed algorithm
    (alternating, momentum, extragradient, corrections) is computed, not derived.

    Compiled once per structure: cached by the identity of ``game`` and ``tx`` and the
    static ``chunk_size``; ``w``, ``state`` and ``hyperparams`` are traced. For a new
    learning rate without a new compilation pass a ``make_tx`` and ``hyperparams``:
    ``update_jacobian(game, lambda h: optax.sgd(h["lr"]), w, hyperparams={"lr": 0.1})``
    (hyperparameters inside an ``inject_hyperparams`` state would count as state
    coordinates of the step).

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

    Returns:
      Square array of size ``n + n_state``.

    Examples:
      >>> import optax, jaxgan as jg
      >>> game = jg.games.dirac("wgan")
      >>> m = jg.update_jacobian(game, optax.sgd(0.1), game.equilibrium)
      >>> [[round(float(x), 6) for x in row] for row in m]
      [[1.0, -0.1], [0.1, 1.0]]
    """
    return _of_step("update_jacobian", False, game, tx, w, state, chunk_size, hyperparams)


def _of_step(where, radius, game, tx, w, state, chunk_size, hyperparams):
    """The entry point of ``update_jacobian`` (``radius=False``) and ``spectral_radius``."""
    game = check_game(game, where)
    w = check_point(game, w, where)
    check_finite(w, where)
    check_tx(tx, where, hyperparams)
    check_state(tx, w, state, where, hyperparams)
    options = (check_chunk_size(chunk_size), hyperparams is not None, radius)
    return compiled("update_jacobian", _update_jacobian_program, (game, tx), options)(w, state, hyperparams)


def _update_jacobian_program(game, tx, chunk_size, with_hyperparams, radius):
    def program(w, state, hyperparams):
        t = tx_at(tx, hyperparams if with_hyperparams else None, "update_jacobian")
        m = step_jacobian(game, t, w, state, chunk_size)
        return jnp.max(jnp.abs(eigvals(m))) if radius else m

    return program


def step_jacobian(game: Game, tx, w: Joint, state, chunk_size: int) -> jax.Array:
    """The traceable body of ``update_jacobian`` (``tx`` accepts ``game=``)."""
    step = step_of(game, tx)
    if state is None:
        _, state = step(w, tx.init(w))
    s_diff, merge = _split_state(state)
    z0, unravel = ravel_pytree((w, s_diff))

    def step_flat(z):
        w_, s_ = unravel(z)
        w_next, s_next = step(w_, merge(s_))
        s_next_diff, _ = _split_state(s_next)
        return ravel_pytree((w_next, s_next_diff))[0]

    return dense_jacobian(step_flat, z0, chunk_size)


def step_spectral_radius(game: Game, tx, w: Joint, state=None, chunk_size: int = 16) -> jax.Array:
    """The traceable body of ``spectral_radius``."""
    return jnp.max(jnp.abs(eigvals(step_jacobian(game, tx, w, state, chunk_size))))


def spectral_radius(
    game: Game, tx, w: Joint, state=None, *, chunk_size: Optional[int] = None, hyperparams=None
) -> jax.Array:
    """Spectral radius of ``update_jacobian(game, tx, w, state)``.

    Below one: the algorithm converges locally (linearly, at that rate per step) to the
    fixed point; above one: it is locally unstable. Compiled once per ``(game, tx,
    chunk_size)`` as ``update_jacobian`` is; a ``make_tx`` with ``hyperparams`` gives every
    learning rate from one program.

    Examples:
      >>> import optax, jaxgan as jg
      >>> game = jg.games.dirac("wgan")
      >>> round(float(jg.spectral_radius(game, optax.sgd(0.1), game.equilibrium)), 6)  # sqrt(1.01)
      1.004988
      >>> make_tx = lambda h: optax.sgd(h["lr"])
      >>> [round(float(jg.spectral_radius(game, make_tx, game.equilibrium, hyperparams={"lr": lr})), 6) for lr in (0.1, 0.2)]
      [1.004988, 1.019804]
    """
    return _of_step("spectral_radius", True, game, tx, w, state, chunk_size, hyperparams)
