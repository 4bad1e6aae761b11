"""The GAN in likelihood-ratio form on a finite support (the lecture notes "Computing the GAN
Equilibrium": GLGD, mode collapse)."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._core.game import Game, Joint
from .._validation.domains import FiniteArray, Integer, domains


class AlternatingMinimisation(NamedTuple):
    """The iterates of exact alternating minimisation.

    The algorithm is Algorithm 1 of the lecture notes "Computing the GAN Equilibrium".

    Attributes:
      R: ``(iterations + 1, N)`` generator ratios, ``R[0]`` the start.
      f: ``(iterations, N)`` discriminators, ``f[k] = 1 / (1 + R[k])``.
      mode: ``(iterations,)`` the support point that ``R[k + 1]`` puts all its mass on.
      cost: ``(iterations + 1,)`` ``C(R[k])``.

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> game = jg.games.likelihood_ratio(jnp.array([0.5, 0.3, 0.2]))
      >>> out = game.alternating_minimisation(jnp.ones(3), 2)
      >>> out.R.shape, out.f.shape, out.mode.shape
      ((3, 3), (2, 3), (2,))
    """

    R: jax.Array
    f: jax.Array
    mode: jax.Array
    cost: jax.Array


@dataclasses.dataclass(frozen=True, eq=False, kw_only=True)
class LikelihoodRatioGame(Game):
    """The non-saturating GAN over a finite support, reparameterised by the likelihood ratio.

    The support is ``{y_i}`` with reference probabilities ``p_i`` (the lecture notes "Computing
    the GAN Equilibrium"); the players are the likelihood ratio ``R = p_G / p_r`` (the generator,
    ``phi``, with ``E[R] = sum_i p_i R_i = 1``) and the discriminator
    ``f_i = P(real | y_i)`` in ``(0, 1)`` (``theta``):

    .. math:: g(R, f) = E[-R \\log f], \\qquad d(R, f) = E[-\\log f] + E[-R \\log(1 - f)].

    Built by ``likelihood_ratio(p)``. Closed forms (corrected from the lecture notes): the best
    response ``f* = 1 / (1 + R)``; ``grad_R g(R, f*) = p log(1 + R)`` and ``grad_R C =
    p (log(1 + R) + 1)`` with ``C(R) = E[(1 + R) log(1 + R)] = 2 KL(pbar || p_r) + 2
    log 2`` (``pbar = (p_R + p_r)/2``): the two gradients differ by ``p``, which the
    projection ``P_o`` on ``E[delta] = 0`` removes; ``C`` is minimal, ``2 log 2``, at ``R = 1``.

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> game = jg.games.likelihood_ratio(jnp.array([0.5, 0.5]))
      >>> [float(x) for x in game.equilibrium.theta]  # f* = 1 / (1 + R) at R = 1
      [0.5, 0.5]
    """

    p: jax.Array

    def best_response(self, R):
        """``f*(R) = 1 / (1 + R)``: the discriminator minimising ``d(R, .)``."""
        return 1.0 / (1.0 + R)

    def project(self, d):
        """``P_o d = d - E[d] / E[p_r] p_r`` (``E[p_r] = sum p_i^2``): the Euclidean
        projection on the tangent space ``{delta: E[delta] = 0}`` of ``E[R] = 1``."""
        p = self.p.astype(jnp.result_type(d))
        return d - (p @ d) / (p @ p) * p

    def start(self, R) -> Joint:
        """A starting point: ``R`` rescaled to ``E[R] = 1``, the discriminator at its best
        response."""
        R = jnp.asarray(R, dtype=jnp.result_type(float))
        R = R / (self.p.astype(R.dtype) @ R)
        return Joint(R, self.best_response(R))

    def cost(self, R):
        """``C(R) = E[(1 + R) log(1 + R)]``."""
        return self.p.astype(jnp.result_type(R)) @ ((1 + R) * jnp.log1p(R))

    def kl(self, R):
        """``KL(p_R || p_r) = E[R log R]`` (with ``0 log 0 = 0``)."""
        return self.p.astype(jnp.result_type(R)) @ jax.scipy.special.xlogy(R, R)

    def jsd(self, R):
        """``JSD(p_R || p_r) = (KL(p_R || pbar) + KL(p_r || pbar)) / 2``."""
        p = self.p.astype(jnp.result_type(R))
        m = (1 + R) / 2
        return (p @ jax.scipy.special.xlogy(R, R / m) + p @ jnp.log(1 / m)) / 2

    def mixture_kl(self, R):
        """``KL(pbar || p_r)`` with ``pbar = (p_R + p_r) / 2``."""
        p = self.p.astype(jnp.result_type(R))
        m = (1 + R) / 2
        return p @ (m * jnp.log(m))

    def alternating_minimisation(self, R0, iterations: int) -> AlternatingMinimisation:
        """Exact alternating minimisation (the lecture notes "Computing the GAN Equilibrium",
        Algorithm 1): ``f <- 1 / (1 + R)``,
        then ``R <- argmin_{E[R] = 1, R >= 0} g(R, f)``. ``g`` is linear in ``R``, so the
        minimiser puts all the mass on the support point where ``f`` is largest (``R``
        smallest): ``R = e_i / p_i``. That is mode collapse, and the next round moves
        the mass elsewhere: it never converges.
        """
        Integer(1).check(iterations, "alternating_minimisation", "iterations")
        R = self.start(R0).phi
        p = self.p.astype(R.dtype)

        def step(R, _):
            f = self.best_response(R)
            i = jnp.argmax(f)
            R_new = jnp.zeros_like(R).at[i].set(1.0 / p[i])
            return R_new, (R_new, f, i, self.cost(R_new))

        _, (Rs, fs, modes, costs) = jax.lax.scan(step, R, None, length=iterations)
        return AlternatingMinimisation(
            R=jnp.concatenate([R[None], Rs]),
            f=fs,
            mode=modes,
            cost=jnp.concatenate([self.cost(R)[None], costs]),
        )


@domains(p=FiniteArray())
def likelihood_ratio(p) -> LikelihoodRatioGame:
    """The GAN in likelihood-ratio form over a finite support with probabilities ``p``.

    The game of the lecture notes "Computing the GAN Equilibrium": ``phi = R`` (``N`` ratios,
    ``E[R] = 1``), ``theta = f`` (``N`` discriminator outputs in ``(0, 1)``); the equilibrium
    is ``R = 1``, ``f = 1/2``.

    Args:
      p: reference probabilities, positive, summing to 1, shape ``(N,)`` with ``N >= 2``.

    Returns:
      A ``LikelihoodRatioGame`` (a ``Game`` with closed forms and ``P_o``).

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> game = jg.games.likelihood_ratio(jnp.array([0.5, 0.25, 0.25]))
      >>> round(float(game.cost(jnp.ones(3))), 6)  # 2 log 2
      1.386294
    """
    p_np = np.asarray(p, dtype=np.float64)
    if p_np.ndim != 1 or p_np.size < 2:
        raise ValueError(
            f"likelihood_ratio: `p` must be a vector of >= 2 probabilities, got shape {p_np.shape}."
        )
    if not np.all(p_np > 0) or not np.isclose(p_np.sum(), 1.0, rtol=0, atol=1e-6):
        raise ValueError("likelihood_ratio: `p` must be positive and sum to 1.")
    pj = jnp.asarray(p)

    def loss_g(R, f):
        return -(pj.astype(R.dtype) @ (R * jnp.log(f)))

    def loss_d(R, f):
        pp = pj.astype(f.dtype)
        return -(pp @ jnp.log(f)) - pp @ (R * jnp.log1p(-f))

    n = p_np.size
    eq = Joint(jnp.ones(n), jnp.full(n, 0.5))
    return LikelihoodRatioGame(
        loss_g=loss_g, loss_d=loss_d, equilibrium=eq, name="likelihood-ratio", p=pj
    )
