"""Spectra along training: the Jacobian's spectrum and Nie & Patel's factors at checkpoints.

Nie & Patel (2019) explain SimGD's failures by two factors of the Jacobian's spectrum:
the *phase factor* ``max |Im lambda| / |Re lambda|`` (rotation: SimGD needs
``eta < 2 |Re lambda| / |lambda|^2``) and the *conditioning factor*
``max |lambda| / min |lambda|``. ``spectral_trace`` records both along a run, at each
checkpoint of a ``Rollout``'s trajectory (or any stack of parameters):

* ``method="dense"``: the whole spectrum (``jaxgan.eigenvalues``), exact factors; for
  games up to a few thousand parameters, on backends with a dense ``eig``.
* ``method="arnoldi"``: matrix-free; the ``k`` eigenvalues of largest magnitude, of
  largest real part and of smallest magnitude (``jaxgan.top_eigenvalues``, restarted
  Arnoldi on JVPs). The conditioning factor is then exact when the smallest-magnitude
  target converged (``NaN`` where it did not: without a shift-invert it converges
  slowly on the near-singular Jacobians of overparameterised networks), and the phase
  factor is taken over the ``3k`` eigenvalues found: those that decide the step bound
  and the slowest modes.

Checkpoints are processed one at a time (``lax.map``): memory is one checkpoint's.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np

from .._core.game import Game
from .._validation.cache import compiled
from .._validation.checks import (
    check_game,
    check_point,
    check_read,
    check_transform_hyperparams,
    entry,
    transform_at,
)
from .._validation.domains import Choice, Flag, Integer, Maybe, Real
from .arnoldi import field_top_eigenvalues
from .spectral import field_eigenvalues, phase_factor


class SpectralTrace(NamedTuple):
    """Spectral diagnostics at each of ``T`` checkpoints.

    Attributes:
      eigenvalues: ``(T, n)`` whole spectra (dense) or ``(T, 3k)`` found eigenvalues
        (Arnoldi: ``k`` LM, then ``k`` LR, then ``k`` SM).
      phase: ``(T,)`` phase factor ``max |Im| / |Re|`` (over the eigenvalues that are
        not numerically zero).
      conditioning: ``(T,)`` conditioning factor ``max |lambda| / min |lambda|`` over the
        eigenvalues that are not numerically zero (see ``zero_count``).
      zero_count: ``(T,)`` eigenvalues with ``|lambda| <= zero_tol * max |lambda|``: the
        flat directions of an overparameterised network (dense only; 0 for Arnoldi).
      max_real: ``(T,)`` largest real part (the flow is locally stable iff negative).
      max_modulus: ``(T,)`` largest ``|lambda|`` (SimGD's step is bounded by
        ``2 |Re| / |lambda|^2``).
      converged: ``(T,)`` whether every Arnoldi target converged (always true for dense).

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> tr = jg.spectral_trace(jg.games.bilinear(1.0), jg.Joint(jnp.zeros((2,)), jnp.zeros((2,))))
      >>> tr.phase.tolist(), [abs(x) for x in tr.max_real.tolist()]  # +-i: pure rotation
      ([inf, inf], [0.0, 0.0])
    """

    eigenvalues: jax.Array
    phase: jax.Array
    conditioning: jax.Array
    max_real: jax.Array
    max_modulus: jax.Array
    converged: jax.Array
    zero_count: jax.Array


@entry(
    "checkpoints",
    method=Choice("dense", "arnoldi"),
    k=Integer(1),
    krylov_size=Maybe(Integer(1)),
    tol=Maybe(Real(0, low_open=True)),
    max_restarts=Integer(0),
    smallest=Flag(),
    zero_tol=Maybe(Real(0, low_open=True)),
)
def spectral_trace(
    game: Game,
    checkpoints,
    *,
    method: str = "dense",
    k: int = 6,
    transform=None,
    krylov_size: Optional[int] = None,
    tol: Optional[float] = None,
    max_restarts: int = 300,
    smallest: bool = True,
    zero_tol: Optional[float] = None,
    hyperparams=None,
) -> SpectralTrace:
    """Phase and conditioning factors of the Jacobian at each checkpoint of a run.

    One compiled program per ``(game, transform)`` and the static options (``method``,
    ``k``, ``krylov_size``, ``tol``, ``max_restarts``, ``smallest``, ``zero_tol``);
    ``checkpoints`` are traced.

    Args:
      game: a ``Game``.
      checkpoints: a ``Joint`` whose leaves have a leading axis ``T`` (e.g.
        ``jg.rollout(..., record_every=r).trajectory``).
      method: ``"dense"`` or ``"arnoldi"`` (see the module docstring).
      k: eigenvalues per Arnoldi target.
      transform: optional stateless correction: the corrected field's spectrum (e.g.
        ``jg.transforms.jare(gamma)``, whose phase factor is the point of JARE).
      krylov_size, tol, max_restarts: passed to ``top_eigenvalues``.
      smallest: Arnoldi only: also seek the ``k`` smallest-magnitude eigenvalues (the
        conditioning factor); ``False`` skips that slow target (``conditioning`` is NaN,
        ``eigenvalues`` has ``2k`` columns).
      hyperparams: the pytree handed to ``transform`` when it is a ``make_tx`` (traced: a new
        value compiles nothing; a dict key it never reads raises).
      zero_tol: dense only: eigenvalues with ``|lambda| <= zero_tol * max |lambda|`` are
        numerically zero (default ``n * eps``, the accuracy of a backward-stable ``eig``)
        and are left out of the conditioning factor; otherwise a network's exact flat
        directions make it ``1e16`` and more, a statement about rounding.

    Returns:
      A ``SpectralTrace``.

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> game = jg.games.quadratic(jnp.eye(2), 3.0 * jnp.eye(2), jnp.eye(2))
      >>> ws = jg.Joint(jnp.zeros((4, 2)), jnp.zeros((4, 2)))  # four checkpoints
      >>> tr = jg.spectral_trace(game, ws)
      >>> [round(float(x), 6) for x in tr.phase[:1]], tr.conditioning.shape  # lambda = -1 +- 3i
      ([3.0], (4,))
    """
    where = "spectral_trace"
    game = check_game(game, where)
    leaves = jax.tree.leaves(checkpoints)
    if not leaves or any(jnp.ndim(x) < 1 for x in leaves):
        raise ValueError(
            f"{where}: `checkpoints` must be a Joint whose leaves have a leading checkpoint axis "
            "(a trajectory)."
        )
    counts = {jnp.shape(x)[0] for x in leaves}
    if len(counts) != 1:
        raise ValueError(
            f"{where}: `checkpoints` leaves disagree on the number of checkpoints: "
            f"{sorted(counts)}."
        )
    # the first checkpoint, sliced on the host (no eager dispatch; traced leaves sliced in trace)
    first = jax.tree.map(
        lambda x: x[0] if isinstance(x, jax.core.Tracer) else np.asarray(x)[0], checkpoints
    )
    check_point(game, first, where, "checkpoints")
    if method not in ("dense", "arnoldi"):
        raise ValueError(f"{where}: unknown `method` {method!r}; expected 'dense' or 'arnoldi'.")

    check_transform_hyperparams(transform, hyperparams, where)
    options = (
        method,
        k,
        krylov_size,
        tol,
        max_restarts,
        bool(smallest),
        zero_tol,
        hyperparams is not None,
    )
    program = compiled("spectral_trace", _trace_program, (game, transform), options)
    return SpectralTrace(*program(checkpoints, hyperparams))


def _trace_program(
    game, make_transform, method, k, krylov_size, tol, max_restarts, smallest, zero_tol, with_hp
):
    def program(ws, hyperparams):
        transform, h = transform_at(
            make_transform, hyperparams if with_hp else None, "spectral_trace"
        )
        out = jax.lax.map(lambda w: at(w, transform), ws)
        check_read(h, "spectral_trace")
        return out

    def at(w, transform):
        if method == "dense":
            lam = field_eigenvalues(game, transform, w)
            ok = jnp.asarray(True)
            mod = jnp.abs(lam)
            floor = lam.shape[0] * jnp.finfo(mod.dtype).eps if zero_tol is None else zero_tol
            zero = mod <= floor * jnp.max(mod)
            cond = jnp.max(mod) / jnp.min(jnp.where(zero, jnp.inf, mod))
            zeros = jnp.sum(zero)
            phase = phase_factor(jnp.where(zero, -jnp.max(mod).astype(lam.dtype), lam))
        else:
            opts = dict(
                transform=transform, krylov_size=krylov_size, tol=tol, max_restarts=max_restarts
            )
            targets = ("LM", "LR", "SM") if smallest else ("LM", "LR")
            parts = [field_top_eigenvalues(game, w, k, which=t, **opts) for t in targets]
            lam = jnp.concatenate([p.eigenvalues for p in parts])
            ok = jnp.all(jnp.stack([p.converged for p in parts]))
            if smallest:
                # |lambda|_min by Arnoldi without a shift-invert converges slowly: NaN until it has
                cond = jnp.where(
                    parts[2].converged,
                    jnp.abs(parts[0].eigenvalues[0]) / jnp.abs(parts[2].eigenvalues[0]),
                    jnp.nan,
                )
            else:
                cond = jnp.asarray(jnp.nan, jnp.abs(lam).dtype)
            zeros = jnp.asarray(0)
            phase = phase_factor(lam)
        return lam, phase, cond, jnp.max(lam.real), jnp.max(jnp.abs(lam)), ok, zeros

    return program
