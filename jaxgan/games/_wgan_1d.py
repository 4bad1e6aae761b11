"""Ehab's (2023) 1-D WGAN case study: ``G(z) = z + theta_G``, ``D(x) = theta_D x`` on
``N(0, 1)`` data, with the WGAN-GP or the ReLU gradient penalty."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .._core.game import Joint
from .._gan.expect import gauss_hermite
from .._gan.gan import gan
from .._validation.domains import Choice, Integer, Real, domains
from ..regularizers import relu_gp, wgan_gp

PENALTIES = ("gp", "relu", "none")


@domains(lam=Real(0, low_open=True), penalty=Choice(*PENALTIES), order=Integer(1))
def wgan_1d(lam: float = 1.0, penalty: str = "gp", *, order: int = 4):
    """The 1-D WGAN of Ehab 2023, section 11, with exact expectations.

    Data ``x ~ N(0, 1)``, generator ``G(z) = z + theta_G`` (``z ~ N(0, 1)``), critic
    ``D(x) = theta_D x``, built with ``games.gan`` (``loss="wgan"``) and ``regularizers.wgan_gp``
    / ``relu_gp``; expectations are exact (Gauss-Hermite). In jaxgan's convention
    (``L = E D(G(z)) - E D(x) = theta_D theta_G``, ``loss_g = L``, ``loss_d = -L + penalty``)
    the critic's slope is *positive* toward the generated samples; Ehab 2023 writes the mirror
    image ``theta_D -> -theta_D``.

    With ``penalty="gp"``, ``loss_d = -theta_D theta_G + lam (|theta_D| - 1)^2`` and
    (``wgan_1d_best_responses``) two local best responses exist exactly while ``|theta_G| <
    2 lam``: ``theta_D = 1 + theta_G / (2 lam)`` and ``theta_D = -1 + theta_G / (2 lam)``.
    Minimising ``loss_g`` along each branch gives the fixed points ``(-lam, 1/2)`` and
    ``(lam, -1/2)`` of best-response descent (``wgan_1d_fixed_points``): not Nash
    equilibria, since the generator's own gradient ``theta_D = +-1/2`` is not zero there,
    and they depend on ``lam``. With ``penalty="relu"`` (``lam ReLU(|theta_D| - 1)``) and
    ``lam > W_1 = |theta_G|`` the best response is the WGAN critic ``theta_D =
    sgn(theta_G)``, and ``(0, 0)`` is an equilibrium.

    Args:
      lam: penalty weight ``lambda > 0``.
      penalty: ``"gp"``, ``"relu"`` or ``"none"``.
      order: Gauss-Hermite nodes for data and latents.

    Returns:
      A ``GAN`` with ``equilibrium`` ``(0, 0)`` for ``"relu"``/``"none"`` (none for ``"gp"``).

    Examples:
      >>> import jaxgan as jg
      >>> game = jg.games.wgan_1d(2.0)
      >>> xi = jg.simultaneous_gradient(game)(jg.Joint(1.0, 1.25))  # on the + branch
      >>> # D's gradient 0; G's gradient theta_D
      >>> abs(float(xi.theta)) < 1e-6, round(float(xi.phi), 6)
      (True, 1.25)
    """
    if penalty not in PENALTIES:
        raise ValueError(f"wgan_1d: unknown `penalty` {penalty!r}; expected one of {PENALTIES}.")
    if not np.ndim(lam) == 0 or not float(lam) > 0:
        raise ValueError(f"wgan_1d: `lam` must be a positive scalar, got {lam!r}.")
    rule = gauss_hermite(np.zeros(1), np.eye(1), order)
    base = gan(
        lambda p, z: z + p,
        lambda t, x: t * x[0],
        rule,
        rule,
        loss="wgan",
        name="wgan-1d",
    )
    if penalty == "gp":
        return wgan_gp(base, lam).replace(name=f"wgan-1d+gp{lam:g}")
    zero = Joint(jnp.asarray(0.0), jnp.asarray(0.0))
    if penalty == "relu":
        return relu_gp(base, lam).replace(name=f"wgan-1d+relu{lam:g}", equilibrium=zero)
    return base.replace(equilibrium=zero)


def wgan_1d_best_responses(theta_g, lam):
    """The two local best responses of WGAN-GP's critic in ``wgan_1d`` (jaxgan's sign).

    They are ``upper = 1 + theta_G / (2 lam)`` (a best response iff ``theta_G > -2 lam``) and
    ``lower = -1 + theta_G / (2 lam)`` (iff ``theta_G < 2 lam``).

    Returns:
      ``(upper, lower, upper_exists, lower_exists)``.

    Examples:
      >>> import jaxgan as jg
      >>> [float(x) for x in jg.games.wgan_1d_best_responses(1.0, 2.0)]
      [1.25, -0.75, 1.0, 1.0]
    """
    theta_g = jnp.asarray(theta_g)
    upper = 1 + theta_g / (2 * lam)
    lower = -1 + theta_g / (2 * lam)
    return upper, lower, theta_g > -2 * lam, theta_g < 2 * lam


def wgan_1d_fixed_points(lam):
    """The fixed points of best-response descent on WGAN-GP's two branches.

    They are ``(-lam, 1/2)`` (upper) and ``(lam, -1/2)`` (lower); Ehab 2023's ``(lam, 1/2)``
    in its mirrored sign.

    Examples:
      >>> import jaxgan as jg
      >>> [(float(w.phi), float(w.theta)) for w in jg.games.wgan_1d_fixed_points(3.0)]
      [(-3.0, 0.5), (3.0, -0.5)]
    """
    return (Joint(jnp.asarray(-lam), jnp.asarray(0.5)), Joint(jnp.asarray(lam), jnp.asarray(-0.5)))
