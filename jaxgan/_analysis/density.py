"""Spectral densities of symmetric game operators by stochastic Lanczos quadrature.

For a symmetric ``H`` (``n x n``) and a Rademacher probe ``v`` (``|v|^2 = n``), ``m`` steps
of Lanczos from ``q_1 = v / sqrt(n)`` give a tridiagonal ``T_m = Y diag(theta) Y^T``; the
Gauss quadrature with nodes ``theta_j`` and weights ``tau_j = (e_1^T y_j)^2`` satisfies

.. math:: v^T f(H) v / n \\approx \\sum_j \\tau_j f(\\theta_j),

exactly for polynomials of degree ``<= 2m - 1`` (Golub & Meurant 2010), and the mean over
probes is an unbiased estimate of ``tr f(H) / n`` (Hutchinson 1989). The spectral density
``(1/n) sum_i delta(x - lambda_i)`` is estimated by the nodes and weights averaged over the
probes (Ubaru, Chen & Saad 2017; Ghorbani, Krishnan & Xiao 2019 for neural-network
Hessians). Lanczos here reorthogonalises every vector against all the previous ones (two
Gram-Schmidt passes), so ``lanczos_steps`` vectors of size ``n`` are kept per probe and the
probes run one after another (``lax.map``): memory ``O(lanczos_steps n)``.

Written here rather than taken from a library: it is forty lines on top of the game
operators of ``_operators.py``, it must run inside jaxgan's compiled programs with its
``vmap``/``jit`` contract, and full reorthogonalisation (which the moments test to 1e-8
needs) is a choice the test can then see.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from .._core.game import Game, Joint
from .._jaxpr.conv_layout import canonical_convolutions
from .._validation.cache import compiled
from .._validation.checks import (
    all_finite,
    check_finite,
    check_game,
    check_hyperparameter,
    check_point,
    entry,
)
from .._validation.domains import Choice, Integer, IntSequence, Maybe, Real, domains
from .operators import OPERATORS, operator, probe_solve
from .solve import default_tol

DENSITY_OPERATORS = OPERATORS


class SpectralDensity(NamedTuple):
    """The quadrature of ``spectral_density``: per probe, Lanczos nodes and weights.

    Attributes:
      nodes: ``(num_probes, lanczos_steps)`` Ritz values ``theta_j`` of each probe.
      weights: ``(num_probes, lanczos_steps)`` Gauss weights ``tau_j`` (each row sums to 1).
      defined: whether the operator is defined at the point: ``False`` where the Schur
        complement or the Stackelberg Hessian needs ``H_tt^{-1}`` and the inner solve with
        ``H_tt`` failed (``H_tt`` singular or indefinite there, or CG out of ``maxiter``), or
        where a node is not finite. The nodes are then NaN. ``spectral_density`` raises on a
        concrete result that is not defined; under ``jit`` this is the status.

    Examples:
      >>> import jax, jax.numpy as jnp, jaxgan as jg
      >>> from jaxgan._analysis.density import lanczos_quadrature
      >>> h = jnp.diag(jnp.arange(1.0, 9.0))
      >>> sd = lanczos_quadrature(lambda x: h @ x, 8, 8, 3, jax.random.PRNGKey(0))
      >>> [round(float(m), 3) for m in sd.moments((1, 2))]  # tr(H)/8, tr(H^2)/8
      [4.5, 25.5]
    """

    nodes: jax.Array
    weights: jax.Array
    defined: jax.Array = True

    @domains(orders=IntSequence(0))
    def moments(self, orders: Sequence[int]) -> jax.Array:
        """``tr(H^k) / n`` estimated for each ``k`` in ``orders`` (mean over probes)."""
        ks = jnp.asarray(list(orders))
        per_probe = jnp.sum(self.weights[None] * self.nodes[None] ** ks[:, None, None], axis=-1)
        return jnp.mean(per_probe, axis=-1)

    @domains(orders=IntSequence(0))
    def probe_moments(self, orders: Sequence[int]) -> jax.Array:
        """``(len(orders), num_probes)``: each probe's ``v^T H^k v / n`` (exact in exact
        arithmetic for ``k <= 2 lanczos_steps - 1``)."""
        ks = jnp.asarray(list(orders))
        return jnp.sum(self.weights[None] * self.nodes[None] ** ks[:, None, None], axis=-1)

    def density(self, grid, width: float) -> jax.Array:
        """The density smoothed by a Gaussian of standard deviation ``width``, on ``grid``:
        ``mean_probes sum_j tau_j N(x; theta_j, width^2)`` (integrates to 1)."""
        x = jnp.asarray(grid)[:, None, None]
        g = jnp.exp(-0.5 * ((x - self.nodes[None]) / width) ** 2) / (width * jnp.sqrt(2 * jnp.pi))
        return jnp.mean(jnp.sum(self.weights[None] * g, axis=-1), axis=-1)


def lanczos_tridiagonal(matvec: Callable[[jax.Array], jax.Array], v0: jax.Array, steps: int):
    """``(alpha, beta)`` of ``steps`` Lanczos steps from ``v0`` with full reorthogonalisation:
    ``T = tridiag(beta, alpha, beta)`` with ``alpha`` of length ``steps`` and ``beta`` of
    length ``steps - 1``. An invariant subspace found early (``beta_j ~ 0``) ends the
    recurrence: the remaining rows are zero, their nodes carry zero weight."""
    n = v0.shape[0]
    dtype = v0.dtype
    eps = jnp.finfo(dtype).eps
    V = jnp.zeros((steps, n), dtype)
    q = v0 / jnp.linalg.norm(v0)
    matvec = canonical_convolutions(matvec)  # products run in a loop body: see _conv_layout

    def body(j, carry):
        V, q, alpha, beta = carry
        V = V.at[j].set(q)
        w = matvec(q)
        a = jnp.vdot(q, w)
        size = jnp.linalg.norm(w)
        w = w - V.T @ (V @ w)
        w = w - V.T @ (V @ w)
        b = jnp.linalg.norm(w)
        alive = (b > 1e3 * eps * jnp.maximum(size, jnp.finfo(dtype).tiny)) & (
            jnp.linalg.norm(q) > 0
        )
        q_next = jnp.where(alive, w / jnp.where(alive, b, 1.0), 0.0)
        alpha = alpha.at[j].set(a)
        beta = beta.at[j].set(jnp.where(alive, b, 0.0))
        return V, q_next, alpha, beta

    init = (V, q, jnp.zeros(steps, dtype), jnp.zeros(steps, dtype))
    _, _, alpha, beta = jax.lax.fori_loop(0, steps, body, init)
    return alpha, beta[: steps - 1]


def _quadrature(alpha, beta):
    m = alpha.shape[0]
    T = jnp.diag(alpha) + jnp.diag(beta, 1) + jnp.diag(beta, -1)
    theta, Y = jnp.linalg.eigh(T)
    return theta, Y[0] ** 2 if m > 0 else Y


def lanczos_quadrature(
    matvec: Callable[[jax.Array], jax.Array],
    n: int,
    lanczos_steps: int,
    num_probes: int,
    key: jax.Array,
    dtype=None,
) -> SpectralDensity:
    """Stochastic Lanczos quadrature of a symmetric flat operator ``matvec`` on ``R^n``
    with ``num_probes`` Rademacher probes drawn from ``key`` (traceable)."""
    dtype = jnp.zeros(()).dtype if dtype is None else dtype
    probes = jax.random.rademacher(key, (num_probes, n), dtype=dtype)

    def one(v):
        return _quadrature(*lanczos_tridiagonal(matvec, v, lanczos_steps))

    nodes, weights = jax.lax.map(one, probes)
    return SpectralDensity(nodes, weights)


@entry(
    "w",
    operator=Choice(*DENSITY_OPERATORS),
    num_probes=Integer(1),
    lanczos_steps=Maybe(Integer(1)),
    tol=Maybe(Real(0, low_open=True)),
    maxiter=Maybe(Integer(1)),
)
def spectral_density(
    game: Game,
    w: Joint,
    *,
    operator: str = "hessian_phi",
    num_probes: int = 8,
    lanczos_steps: Optional[int] = None,
    key: Optional[jax.Array] = None,
    tol: Optional[float] = None,
    maxiter: Optional[int] = None,
) -> SpectralDensity:
    """The spectral density of a symmetric operator of the game at ``w``, matrix-free.

    The density is estimated by stochastic Lanczos quadrature (see the module docstring).

    ``operator``:

    * ``"hessian_phi"``: the generator's Hessian ``d^2 L_g / d phi^2``;
    * ``"hessian_theta"``: the discriminator's Hessian ``d^2 L_d / d theta^2``;
    * ``"jacobian_symmetric"``: ``(A + A^T) / 2`` of the game Jacobian ``A = dv/dw``
      (``v = -xi``): its largest eigenvalue bounds the flow's contraction rate;
    * ``"schur_complement"``: ``H_pp - H_pt H_tt^{-1} H_tp`` (symmetric in a zero-sum game;
      one CG solve per product, ``tol``/``maxiter`` for it);
    * ``"stackelberg_hessian"``: the leader's total Hessian along the follower's best
      response (``jaxgan._analysis.operators.stackelberg_hessian``).

    One compiled program per game object and the static ``operator``, ``num_probes``,
    ``lanczos_steps``, ``tol`` and ``maxiter``; ``w`` and ``key`` are traced.

    Args:
      game: a ``Game``.
      w: the point.
      operator: see above.
      num_probes: Rademacher probes (the estimate's standard error falls as
        ``1/sqrt(num_probes)``).
      lanczos_steps: Lanczos steps per probe (``<= n``, default ``min(n, 64)``; moments up
        to order ``2 lanczos_steps - 1`` are exact per probe).
      key: draws the probes (default ``PRNGKey(0)``).
      tol, maxiter: of the inner CG solve (Schur and Stackelberg operators only); defaults
        ``1e-2 sqrt(eps)`` and ``4 n_theta``.

    Returns:
      A ``SpectralDensity`` (``.moments(ks)``, ``.density(grid, width)``).

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> game = jg.games.quadratic(jnp.diag(jnp.array([1.0, 2.0, 3.0])), jnp.ones((3, 2)),
      ... jnp.eye(2))
      >>> sd = jg.spectral_density(game, game.equilibrium, operator="hessian_phi", num_probes=2)
      >>> # (1+2+3)/3, (1+4+9)/3: Rademacher probes of a diagonal H
      >>> [round(float(m), 4) for m in sd.moments((1, 2))]
      [2.0, 4.6667]
    """
    where = "spectral_density"
    game = check_game(game, where)
    w = jax.tree.map(jnp.asarray, check_point(game, w, where))
    check_finite(w, where)
    if operator not in DENSITY_OPERATORS:
        raise ValueError(
            f"{where}: `operator` must be one of {DENSITY_OPERATORS}, got {operator!r}."
        )
    if operator != "jacobian_symmetric" and not isinstance(w, Joint):
        raise ValueError(
            f"{where}: `operator` {operator!r} is of a generator and a discriminator, "
            "so it is defined for two players; "
            f"the game has {len(w)}: use operator='jacobian_symmetric' "
            "(the symmetric part of the game Jacobian, any number of players)."
        )
    n = _size(w, operator)
    lanczos_steps = min(n, 64) if lanczos_steps is None else lanczos_steps
    for name, value in (("num_probes", num_probes), ("lanczos_steps", lanczos_steps)):
        Integer(1).check(value, where, name)
    if lanczos_steps > n:
        raise ValueError(
            f"{where}: `lanczos_steps` must be at most the operator's size {n}, got "
            f"{lanczos_steps}."
        )
    tol, maxiter = inner_solve_options(w, tol, maxiter, where)
    key = jax.random.PRNGKey(0) if key is None else key
    options = (operator, int(num_probes), int(lanczos_steps), tol, maxiter)
    out = compiled(where, _density_program, (game,), options)(w, key)
    if not isinstance(out.defined, jax.core.Tracer) and not bool(out.defined):
        if operator in ("schur_complement", "stackelberg_hessian"):
            raise ValueError(
                f"{where}: the operator {operator!r} is undefined at `w`: it needs H_tt^{{-1}}, "
                "and the conjugate-gradient solve with H_tt (the discriminator's Hessian) "
                f"did not converge within maxiter={maxiter} at tol={tol:g}, "
                "so H_tt is singular or indefinite here (e.g. a bilinear game, where H_tt = 0). "
                "Use operator='hessian_phi' or 'jacobian_symmetric', "
                "or a point where H_tt is definite; raise `maxiter` if the solve is only slow."
            )
        raise ValueError(
            f"{where}: the density of {operator!r} at `w` has non-finite nodes: "
            "the game's second derivatives are not finite at this point."
        )
    return out


def inner_solve_options(w, tol, maxiter, where):
    """Checked ``(tol, maxiter)`` of the inner CG solves on ``H_tt``."""
    if tol is None:
        tol = default_tol(w)
    else:
        tol = float(check_hyperparameter(tol, where, "tol", low=0.0, low_open=True))
    n_theta = int(sum(np.size(x) for x in jax.tree.leaves(w.theta if isinstance(w, Joint) else w)))
    if maxiter is None:
        maxiter = max(4 * n_theta, 20)
    else:
        Integer(1).check(maxiter, where, "maxiter")
    return tol, int(maxiter)


def _size(w, name):
    if name == "jacobian_symmetric":
        return int(sum(np.size(x) for x in jax.tree.leaves(w)))
    n_phi = int(sum(np.size(x) for x in jax.tree.leaves(w.phi)))
    n_theta = int(sum(np.size(x) for x in jax.tree.leaves(w.theta)))
    return {"hessian_theta": n_theta, "jacobian_symmetric": n_phi + n_theta}.get(name, n_phi)


def _density_program(game, name, num_probes, lanczos_steps, tol, maxiter):
    def program(w, key):
        matvec, n = operator(game, w, name, tol=tol, maxiter=maxiter)
        dtype = jnp.result_type(*jax.tree.leaves(w))
        out = lanczos_quadrature(matvec, n, lanczos_steps, num_probes, key, dtype)
        defined = jnp.all(jnp.isfinite(out.nodes)) & all_finite(w)
        if name in ("schur_complement", "stackelberg_hessian"):
            defined &= probe_solve(game, w, tol=tol, maxiter=maxiter).converged
        return SpectralDensity(jnp.where(defined, out.nodes, jnp.nan), out.weights, defined)

    return program
