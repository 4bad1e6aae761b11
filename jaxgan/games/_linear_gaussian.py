"""The linear Gaussian GAN of Nie & Patel 2019 with exact expectations."""

from __future__ import annotations

from typing import Optional

import jax.numpy as jnp
import numpy as np

from .._core.game import Game, Joint
from .._gan.expect import expectation, fixed_samples, gauss_hermite
from .._gan.losses import LOSSES, check_loss, loss_f
from .._validation.domains import Choice, FiniteArray, Integer, Real, domains


@domains(v=FiniteArray(), sigma2=Real(0, low_open=True), loss=Choice(*LOSSES), order=Integer(1))
def linear_gaussian(
    v,
    sigma2: float,
    *,
    loss: str = "standard",
    order: int = 6,
    data: Optional[jnp.ndarray] = None,
    latents: Optional[jnp.ndarray] = None,
) -> Game:
    """Nie & Patel's linear GAN: ``z ~ N(0, s2 I)``, ``x ~ N(v, s2 I)``, ``D(x) = theta^T x``.

    The generator is ``G(z) = phi + z`` and the payoff (min over ``phi``, max over ``theta``)

    .. math:: f(\\phi, \\theta) = E_x[g_1(\\theta^T x)] + E_z[g_2(\\theta^T(\\phi + z))]

    with ``g1(t) = f(t)``, ``g2(t) = f(-t)`` of the loss family (standard:
    ``g1 = -log(1 + e^-t)``, ``g2 = -log(1 + e^t)``). The equilibrium is ``phi* = v``,
    ``theta* = 0``. With ``a = g2'(0)`` and ``q = g1''(0) + g2''(0)`` the Jacobian there is
    ``A = [[0, -a I], [a I, q (s2 I + v v^T)]]`` and per eigenvalue ``mu`` of
    ``s2 I + v v^T`` (``s2`` and ``beta^2 = s2 + |v|^2``)

    .. math:: \\lambda = (q\\mu \\pm \\sqrt{q^2\\mu^2 - 4a^2}) / 2,

    Theorem 1 (``(-mu +- sqrt(mu^2 - 4)) / 4`` for the standard loss). The theorem needs
    exact expectations: by default both are tensor-grid Gauss-Hermite rules (exact for
    the polynomial moments the Jacobian at the equilibrium needs); ``data`` / ``latents``
    replace them by fixed samples (full-batch empirical expectations).

    For ``"non_saturating"`` the generator minimises ``-E_z[g1(theta^T(phi + z))]``.

    Args:
      v: the data mean, ``(d,)``.
      sigma2: the common variance ``s2 > 0``.
      loss: loss family (``"standard"``, ``"non_saturating"``, ``"wgan"``).
      order: Gauss-Hermite nodes per dimension (``order**d`` nodes in all).
      data: optional fixed data samples ``(N, d)`` instead of the Gaussian ``x``.
      latents: optional fixed latent samples ``(M, d)`` instead of the Gaussian ``z``.

    Returns:
      A ``Game`` with ``phi, theta`` of shape ``(d,)`` and its equilibrium.

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> game = jg.games.linear_gaussian(jnp.array([1.0, 0.0]), 1.0)
      >>> # mu = 2: -1/2 twice; mu = 1: (-1 +- i sqrt(3))/4
      >>> lam = jg.eigenvalues(game, game.equilibrium)
      >>> [round(float(x), 3) for x in lam.real]
      [-0.5, -0.5, -0.25, -0.25]
    """
    check_loss(loss, "linear_gaussian")
    v_np = np.asarray(v, dtype=np.float64)
    if v_np.ndim != 1 or v_np.shape[0] < 1:
        raise ValueError(f"linear_gaussian: `v` must have shape (d,), got {v_np.shape}.")
    if not np.isscalar(sigma2) and np.ndim(sigma2) != 0:
        raise ValueError(
            f"linear_gaussian: `sigma2` must be a scalar variance, got shape {np.shape(sigma2)}."
        )
    if not float(sigma2) > 0:
        raise ValueError(f"linear_gaussian: `sigma2` must be > 0, got {sigma2}.")
    d = v_np.shape[0]
    v = jnp.asarray(v)
    rule_x = gauss_hermite(v_np, float(sigma2), order) if data is None else fixed_samples(data)
    rule_z = (
        gauss_hermite(np.zeros(d), float(sigma2), order)
        if latents is None
        else fixed_samples(latents)
    )
    for name, rule in (("data", rule_x), ("latents", rule_z)):
        if rule.nodes.ndim != 2 or rule.nodes.shape[1] != d:
            raise ValueError(
                f"linear_gaussian: `{name}` must have shape (N, {d}), got {rule.nodes.shape}."
            )
    f = loss_f(loss)

    def g1(t):
        return f(t)

    def g2(t):
        return f(-t)

    def real_term(theta):
        return expectation(lambda x: g1(x.astype(theta.dtype) @ theta), rule_x)

    def fake_term(phi, theta):
        return expectation(lambda z: g2((phi + z.astype(phi.dtype)) @ theta), rule_z)

    def payoff(phi, theta):
        return real_term(theta) + fake_term(phi, theta)

    if loss == "non_saturating":

        def loss_g(phi, theta):
            return -expectation(lambda z: g1((phi + z.astype(phi.dtype)) @ theta), rule_z)

    else:
        loss_g = payoff

    def loss_d(phi, theta):
        return -payoff(phi, theta)

    return Game(
        loss_g=loss_g,
        loss_d=loss_d,
        equilibrium=Joint(v, jnp.zeros_like(v)),
        name=f"linear-gaussian-{loss}-d{d}",
    )
