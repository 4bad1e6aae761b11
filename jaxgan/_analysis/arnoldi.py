"""Matrix-free spectra: a few eigenvalues of the game Jacobian by restarted Arnoldi on JVPs."""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from .._core.field import negated_field
from .._core.game import Game, Joint
from .._jaxpr.conv_layout import canonical_convolutions
from .._validation.cache import compiled
from .._validation.checks import (
    all_finite,
    check_finite,
    check_game,
    check_point,
    check_read,
    check_transform_hyperparams,
    entry,
    transform_at,
)
from .._validation.domains import Choice, Integer, Maybe, Real, domains
from .eig import eig

TARGETS = ("LM", "LR", "SR", "SM")


class TopEigenvalues(NamedTuple):
    """The result of ``top_eigenvalues``.

    Attributes:
      eigenvalues: ``(k,)`` complex, best first for the target.
      residuals: ``(k,)`` ``|A x - lambda x|`` of each unit Ritz vector.
      restarts: restarts taken.
      converged: every residual is at most ``tol`` times the largest ``|lambda|``.
      matvecs: Jacobian-vector products used.

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> out = jg.operator_top_eigenvalues(lambda x: jnp.arange(1.0, 11.0) * x, jnp.ones(10), 2)
      >>> [round(float(v.real), 4) for v in out.eigenvalues], bool(out.converged)
      ([10.0, 9.0], True)
    """

    eigenvalues: jax.Array
    residuals: jax.Array
    restarts: jax.Array
    converged: jax.Array
    matvecs: jax.Array


def check_start_vector(v0, where: str) -> None:
    """Refuse a concrete start vector that is zero or not finite: Krylov's basis starts from
    ``v0 / |v0|``, undefined there (every eigenvalue would come back NaN)."""
    if isinstance(v0, jax.core.Tracer):
        return
    if not bool(np.all(np.isfinite(np.asarray(v0)))):
        raise ValueError(
            f"{where}: `v0` has non-finite values; the start vector must be finite and non-zero."
        )
    if not bool(np.any(np.asarray(v0) != 0)):
        raise ValueError(
            f"{where}: `v0` is the zero vector: Krylov's basis starts from v0 / |v0|, "
            "which is undefined; give a non-zero start vector (or None for the default)."
        )


def _maps_reals(matvec, v0) -> bool:
    """Whether ``matvec`` maps real vectors of ``v0``'s shape (and real precision) to real
    vectors (checked on shapes only)."""
    real = jnp.finfo(jnp.result_type(v0.dtype, jnp.complex64)).dtype
    try:
        out = jax.eval_shape(matvec, jax.ShapeDtypeStruct(v0.shape, real))
    except Exception:  # a map written for complex vectors only
        return False
    return getattr(out, "shape", None) == v0.shape and not jnp.issubdtype(
        out.dtype, jnp.complexfloating
    )


def _order(theta, which):
    """Sort key (ascending = best first)."""
    if which == "LM":
        return -jnp.abs(theta)
    if which == "SM":
        return jnp.abs(theta)
    if which == "LR":
        return -theta.real
    return theta.real  # SR


@domains(
    k=Integer(1),
    which=Choice("LM", "LR", "SR", "SM"),
    krylov_size=Maybe(Integer(1)),
    tol=Maybe(Real(0, low_open=True)),
    max_restarts=Integer(0),
)
def operator_top_eigenvalues(
    matvec: Callable[[jax.Array], jax.Array],
    v0: jax.Array,
    k: int,
    *,
    which: str = "LM",
    krylov_size: Optional[int] = None,
    tol: Optional[float] = None,
    max_restarts: int = 300,
) -> TopEigenvalues:
    """``k`` eigenvalues of the linear map ``matvec`` by thick-restarted Arnoldi.

    The map acts on ``R^n`` (or ``C^n``); the method is a Krylov-Schur scheme, jittable and
    vmappable.

    The Krylov decomposition ``A V_m = V_m H_m + f e_m^T`` (``V`` orthonormal, double
    Gram-Schmidt) is built to ``m = krylov_size`` vectors; the Ritz pairs ``(theta, V y)``
    come from ``eig(H_m)``. A restart keeps the span of the ``p`` best Ritz vectors
    (``Q = qr(Y_p)``): ``A (V Q) = (V Q)(Q^H H Q) + f (e_m^T Q)`` is again a Krylov
    decomposition, since ``span(Y_p)`` is invariant under ``H_m``; the basis then grows
    back to ``m``. The residual of a Ritz pair is ``|f| |e_m^T y|``; iteration stops when
    the ``k`` best are at most ``tol * max|theta|``. A real map (real vectors to real
    vectors, read from ``jax.eval_shape``) from a real start runs in real arithmetic, as
    ARPACK's ``dnaupd`` does: a complex pair's Ritz vectors ``y, conj(y)`` are kept as the
    real pair ``Re y, Im y`` (one more vector where the cut would split a pair), so each
    product is one real product and the basis is real. Otherwise arithmetic is complex.

    Args:
      matvec: ``x -> A x`` on real ``(n,)`` vectors (a real map) or complex ones.
      v0: ``(n,)`` start vector (nonzero).
      k: number of eigenvalues.
      which: ``"LM"`` (largest magnitude), ``"LR"`` / ``"SR"`` (largest / smallest real
        part) or ``"SM"`` (smallest magnitude; slow without a shift-invert).
      krylov_size: ``m``, default ``min(n, max(2 k + 20, 60))`` (60 vectors: on a 150-parameter
        game with complex pairs the smallest-real-part target took 27 restarts and 762 JVPs at
        60, 358 restarts and 5,768 JVPs at 40). A target inside a dense cluster needs more: on
        the million-parameter DCGAN (``benchmarks/spectra.py --conv``) the top six by real
        part, spaced about 0.05 apart, had residuals up to 5e-2 after 167 products with 60
        vectors (two of the six not yet found) and up to 3e-4 after 234 with 120.
      tol: relative residual tolerance; default ``1e-10`` in float64, ``1e-2 sqrt(eps)`` in float32.
      max_restarts: cap on restarts; 0 is one Krylov pass of ``krylov_size`` products (exact
        when ``krylov_size = n``).

    Returns:
      A ``TopEigenvalues``.

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> rot = jnp.array([[0.0, -2.0], [2.0, 0.0]])  # eigenvalues +-2i
      >>> a = jnp.block([[rot, jnp.zeros((2, 2))], [jnp.zeros((2, 2)), jnp.diag(jnp.array([1.0,
      ... -0.5]))]])
      >>> out = jg.operator_top_eigenvalues(lambda x: a.astype(x.dtype) @ x, jnp.ones(4), 2)
      >>> sorted(round(float(v.imag), 4) for v in out.eigenvalues)
      [-2.0, 2.0]
    """
    return krylov_schur(
        matvec,
        v0,
        k,
        which=which,
        krylov_size=krylov_size,
        tol=tol,
        max_restarts=max_restarts,
        where="operator_top_eigenvalues",
    )


def krylov_schur(
    matvec, v0, k, *, which, krylov_size, tol, max_restarts, where: str
) -> TopEigenvalues:
    """``operator_top_eigenvalues``'s body; ``where`` names the public function in messages."""
    Choice(*TARGETS).check(which, where, "which")
    v0 = jnp.asarray(v0)
    if v0.ndim != 1:
        raise ValueError(f"{where}: the start vector must be 1-D, got shape {v0.shape}.")
    check_start_vector(v0, where)
    n = v0.shape[0]
    try:
        Integer(1, n - 1).check(k, where, "k")
    except ValueError as err:
        raise ValueError(
            f"{err} A Krylov method finds fewer than all n = {n} eigenvalues: use eigenvalues() "
            "for all."
        ) from None
    m = int(krylov_size) if krylov_size is not None else min(n, max(2 * k + 20, 60))
    if not k < m <= n:
        raise ValueError(f"{where}: `krylov_size` must be in ({k}, {n}], got {m}.")
    cdtype = jnp.result_type(v0.dtype, jnp.complex64)
    real = jnp.finfo(cdtype).dtype
    matvec = canonical_convolutions(matvec)  # products run in a loop body: see _conv_layout
    # a real map from a real start keeps a real Krylov space: real arithmetic (as ARPACK's
    # dnaupd), half the products' cost and the basis's memory of complex arithmetic
    maps_reals = _maps_reals(matvec, v0)
    real_path = maps_reals and not jnp.iscomplexobj(v0) and m >= k + 3
    if maps_reals and not real_path:
        # complex arithmetic (a complex start, or too few vectors to keep complex pairs real:
        # n < k + 3) with a real map, which may accept real vectors only: applied by linearity,
        # one batched product of the real and imaginary parts
        real_matvec = matvec

        def matvec(z):
            parts = jax.vmap(real_matvec)(jnp.stack([z.real, z.imag]).astype(real))
            return parts[0] + 1j * parts[1]

    work = real if real_path else cdtype
    if tol is None:
        tol = 1e-2 * float(np.sqrt(np.finfo(real).eps)) if real == jnp.float32 else 1e-10
    keep = min(m - 2 if real_path else m - 1, k + (m - k) // 2)
    rows = jnp.arange(m + 1)

    def orthogonalise(V, w, j):
        # classical Gram-Schmidt, repeated only where it lost more than 1 - 1/sqrt(2) of the
        # norm (the DGKS criterion, as ARPACK): a pass reads the whole basis
        mask = (rows <= j).astype(real)

        def gs(w):
            h = (V.conj() @ w) * mask
            return w - V.T @ h, h

        w1, h = gs(w)

        def again(w1):
            w2, h2 = gs(w1)
            return w2, h + h2

        return jax.lax.cond(
            jnp.linalg.norm(w1) < 0.7071 * jnp.linalg.norm(w), again, lambda w1: (w1, h), w1
        )

    def extend(V, H, start):
        def body(j, carry):
            V, H, count = carry
            w = matvec(V[j]).astype(work)
            w, h = orthogonalise(V, w, j)
            beta = jnp.linalg.norm(w)
            small = beta <= 1e3 * jnp.finfo(real).eps * jnp.maximum(jnp.linalg.norm(h), 1.0)

            def restart_direction(_):
                # breakdown (an invariant subspace): continue from a fresh orthogonal direction
                fresh = jnp.cos(jnp.arange(n, dtype=real) * (j + 1.7) + 0.3).astype(work)
                fresh, _ = orthogonalise(V, fresh, j)
                return fresh / jnp.linalg.norm(fresh)

            nxt = jax.lax.cond(
                small, restart_direction, lambda _: w / jnp.where(small, 1.0, beta), None
            )
            H = H.at[:, j].set(h.astype(work)).at[j + 1, j].set(jnp.where(small, 0.0, beta))
            return V.at[j + 1].set(nxt), H, count + 1

        return jax.lax.fori_loop(start, m, body, (V, H, jnp.int32(0)))

    def ritz(H):
        theta, Y = eig(H[:m, :m])
        idx = jnp.argsort(_order(theta, which))
        theta, Y = theta[idx], Y[:, idx]
        Y = Y / jnp.linalg.norm(Y, axis=0, keepdims=True)
        res = jnp.abs(H[m, m - 1]) * jnp.abs(Y[m - 1])
        return theta, Y, res

    def done(theta, res):
        scale = jnp.maximum(jnp.max(jnp.abs(theta[:k])), jnp.finfo(real).tiny)
        return jnp.all(res[:k] <= tol * scale)

    def kept_basis(theta, Y):
        """``(Q, p)``: an orthonormal basis (``m x width``, columns past ``p`` zero) of the span
        of the ``keep`` best Ritz vectors, and its dimension ``p``."""
        if not real_path:
            return jnp.linalg.qr(Y[:, :keep])[0], keep
        # the real span of a conjugate pair {y, conj y} is {Re y, Im y}: each Ritz vector gives
        # one real column (Re y where Im theta >= 0, Im y where Im theta < 0); a pair split by
        # the cut (an odd count of non-real values kept; pairs sort side by side) keeps one more
        cols = jnp.where(
            theta.imag[None, : keep + 1] >= 0, Y.real[:, : keep + 1], Y.imag[:, : keep + 1]
        )
        split = jnp.sum(theta.imag[:keep] != 0) % 2
        p = keep + split
        Q = jnp.linalg.qr(cols)[0]
        return Q * (jnp.arange(keep + 1) < p).astype(real)[None, :], p

    V = jnp.zeros((m + 1, n), work).at[0].set(v0.astype(work) / jnp.linalg.norm(v0))
    H = jnp.zeros((m + 1, m), work)
    V, H, count = extend(V, H, 0)
    theta, Y, res = ritz(H)

    def cond(state):
        _, _, theta, _, res, restarts, _ = state
        return (~done(theta, res)) & (restarts < max_restarts)

    def restart(state):
        V, H, theta, Y, res, restarts, count = state
        Q, p = kept_basis(theta, Y)
        width = Q.shape[1]
        Vk = Q.T @ V[:m]
        Hk = Q.conj().T @ H[:m, :m] @ Q
        b = H[m, m - 1] * Q[m - 1]
        V2 = jnp.zeros_like(V).at[:width].set(Vk).at[p].set(V[m])
        H2 = jnp.zeros_like(H).at[:width, :width].set(Hk).at[p, :width].set(b)
        V2, H2, c = extend(V2, H2, p)
        theta, Y, res = ritz(H2)
        return V2, H2, theta, Y, res, restarts + 1, count + c

    state = (V, H, theta, Y, res, jnp.int32(0), count)
    _, _, theta, _, res, restarts, count = jax.lax.while_loop(cond, restart, state)
    return TopEigenvalues(theta[:k], res[:k], restarts, done(theta, res), count)


@entry(
    "w",
    k=Integer(1),
    which=Choice("LM", "LR", "SR", "SM"),
    block=Maybe(Choice("phi", "theta")),
    krylov_size=Maybe(Integer(1)),
    tol=Maybe(Real(0, low_open=True)),
    max_restarts=Integer(0),
)
def top_eigenvalues(
    game: Game,
    w: Joint,
    k: int = 6,
    *,
    which: str = "LM",
    block: Optional[str] = None,
    transform=None,
    krylov_size: Optional[int] = None,
    tol: Optional[float] = None,
    max_restarts: int = 300,
    v0=None,
    hyperparams=None,
) -> TopEigenvalues:
    """``k`` eigenvalues of the Jacobian ``A = dv/dw`` of the game's vector field at ``w``.

    Matrix-free: restarted Arnoldi on Jacobian-vector products (``jax.jvp``), never forming
    ``A``. Jittable, vmappable (e.g. over training checkpoints), and it runs where JVPs run
    (GPU, TPU: no dense ``eig`` of size ``n`` is needed).

    ``which``: ``"LM"`` largest magnitude (what limits SimGD's step), ``"LR"`` largest real
    part (the least stable direction: the flow is stable iff it is negative), ``"SR"``
    smallest real part, ``"SM"`` smallest magnitude. ``block="phi"`` or ``"theta"`` gives
    a player's own block ``dv_phi/dphi`` or ``dv_theta/dtheta``. ``transform`` gives the
    corrected field's Jacobian (as in ``eigenvalues``). Arithmetic is real: one JVP per
    product (a complex ``v0`` makes it complex, two JVPs a product). The memory is the
    Krylov basis, ``(krylov_size + 1) n`` numbers. One compiled program per ``(game, transform)``
    objects and the static ``k``, ``which``, ``block``, ``krylov_size``, ``tol`` and
    ``max_restarts``; ``w`` and ``v0`` are traced.

    Args:
      game: a ``Game``.
      w: the point.
      k: number of eigenvalues (``< n``).
      which: the target, see above.
      block: ``None`` (the joint Jacobian), ``"phi"`` or ``"theta"``.
      transform: optional stateless correction; with ``hyperparams``, a callable
        ``h -> transformation`` (a ``make_tx``).
      krylov_size, tol, max_restarts: see ``operator_top_eigenvalues``.
      v0: start vector ``(n,)`` (default: a fixed deterministic vector).
      hyperparams: the pytree handed to ``transform`` when it is a ``make_tx`` (traced: a new
        value compiles nothing; a dict key it never reads raises).

    Returns:
      A ``TopEigenvalues`` (eigenvalues best first, residuals, restarts, converged,
      matvecs).

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> game = jg.games.quadratic(jnp.diag(jnp.arange(1.0, 9.0)), jnp.eye(8), jnp.eye(8))
      >>> out = jg.top_eigenvalues(game, game.equilibrium, 2, which="LR")
      >>> # -(a + c)/2 +- ...: least stable first
      >>> [round(float(x), 4) for x in out.eigenvalues.real]
      [-1.0, -1.0]
    """
    game = check_game(game, "top_eigenvalues")
    w = jax.tree.map(jnp.asarray, check_point(game, w, "top_eigenvalues", "w"))
    check_finite(w, "top_eigenvalues")
    if block is not None and not isinstance(w, Joint):
        raise ValueError(
            f"top_eigenvalues: `block={block!r}` names a player of a two-player game (a `Joint`), "
            f"but this game has {len(w)} players (`Players`): "
            "pass `block=None` for the joint Jacobian."
        )
    check_transform_hyperparams(transform, hyperparams, "top_eigenvalues")
    if v0 is not None:
        v0 = jnp.asarray(v0)
        space = w if block is None else getattr(w, block)
        n = sum(int(np.size(x)) for x in jax.tree.leaves(space))
        if v0.shape != (n,):
            of = "the joint point `w`" if block is None else f"the player `w.{block}`"
            raise ValueError(
                f"top_eigenvalues: `v0` has shape {tuple(v0.shape)}, expected ({n},): "
                f"one entry per parameter of {of}, in ravel order."
            )
        check_start_vector(v0, "top_eigenvalues")
    options = (k, which, block, krylov_size, tol, max_restarts, hyperparams is not None)
    return compiled("top_eigenvalues", _top_eigenvalues_program, (game, transform), options)(
        w, v0, hyperparams
    )


def _top_eigenvalues_program(
    game, transform, k, which, block, krylov_size, tol, max_restarts, with_hyperparams
):
    def program(w, v0, hyperparams):
        t, h = transform_at(transform, hyperparams if with_hyperparams else None, "top_eigenvalues")
        out = field_top_eigenvalues(
            game,
            w,
            k,
            which=which,
            block=block,
            transform=t,
            krylov_size=krylov_size,
            tol=tol,
            max_restarts=max_restarts,
            v0=v0,
        )
        check_read(h, "top_eigenvalues")
        # at a non-finite point (under jit: a concrete one is refused) nothing is defined
        defined = all_finite(w)
        return out._replace(
            eigenvalues=jnp.where(defined, out.eigenvalues, jnp.nan),
            residuals=jnp.where(defined, out.residuals, jnp.nan),
            converged=out.converged & defined,
        )

    return program


def field_top_eigenvalues(
    game,
    w,
    k,
    *,
    which="LM",
    block=None,
    transform=None,
    krylov_size=None,
    tol=None,
    max_restarts=300,
    v0=None,
) -> TopEigenvalues:
    """The traceable body of ``top_eigenvalues`` (checked arguments)."""
    field = negated_field(game, transform)
    if block is None:
        z0, unravel = ravel_pytree(w)

        def f(z):
            return ravel_pytree(field(unravel(z)))[0]
    elif block in ("phi", "theta"):
        z0, unravel = ravel_pytree(getattr(w, block))

        def f(z):
            moved = w._replace(**{block: unravel(z)})
            return ravel_pytree(getattr(field(moved), block))[0]

    def matvec(x):  # a real map: a complex start is handled by linearity in krylov_schur
        return jax.jvp(f, (z0,), (x.astype(z0.dtype),))[1]

    if v0 is None:
        n = z0.shape[0]
        v0 = 1.0 + 0.5 * jnp.sin(jnp.arange(n, dtype=z0.dtype) * 1.618 + 0.5)
    return krylov_schur(
        matvec,
        v0,
        k,
        which=which,
        krylov_size=krylov_size,
        tol=tol,
        max_restarts=max_restarts,
        where="top_eigenvalues",
    )
