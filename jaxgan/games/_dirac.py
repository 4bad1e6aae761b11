"""The Dirac-GAN (Mescheder, Geiger & Nowozin 2018, Definition 2.1)."""

from __future__ import annotations

import jax.numpy as jnp

from .._game import Game, Joint
from ._losses import check_loss, loss_f, loss_f_prime


def dirac(loss: str = "standard", *, closed_form_grad: bool = False) -> Game:
    """The Dirac-GAN: data ``delta_0``, generator ``delta_theta``, ``D(x) = psi x``.

    In jaxgan's names ``phi = theta_G`` (the generator's position, a scalar) and
    ``theta = psi`` (the discriminator's slope). The objective is

    .. math:: L(\\theta_G, \\psi) = f(\\psi \\theta_G) + f(0)

    (THEORY.md corrects the notes' ``f(theta)``), which the discriminator maximises; the
    generator minimises ``L`` (``"standard"``, ``"wgan"``) or ``-f(-psi theta_G)``
    (``"non_saturating"``). The unique equilibrium is ``(0, 0)`` and the field Jacobian
    there has eigenvalues ``+- f'(0) i`` (Lemma 2.2): SimGD's operator ``1 +- h f'(0) i``
    has modulus above one (Lemma 2.4), and exactly ``|w+|^2 = |w|^2 (1 + h^2 f'(psi
    theta_G)^2)`` for the standard and WGAN losses.

    Args:
      loss: ``"standard"``, ``"non_saturating"`` or ``"wgan"``.
      closed_form_grad: attach the hand-derived simultaneous gradient (``grad_fn``)
        ``xi = (f'(psi theta) psi, -f'(psi theta) theta)`` instead of autodiff.

    Returns:
      A ``Game`` with scalar players and ``equilibrium = Joint(0, 0)``.

    Examples:
      >>> import jaxgan as jg
      >>> game = jg.games.dirac("wgan")
      >>> jg.eigenvalues(game, game.equilibrium).imag.tolist()
      [-1.0, 1.0]
    """
    check_loss(loss, "dirac")
    f = loss_f(loss)
    fp = loss_f_prime(loss)

    def value(phi, theta):
        return f(theta * phi) + f(jnp.zeros_like(theta * phi))

    if loss == "non_saturating":

        def loss_g(phi, theta):
            return -f(-theta * phi)

    else:
        loss_g = value

    def loss_d(phi, theta):
        return -value(phi, theta)

    grad_fn = None
    if closed_form_grad:

        def grad_fn(w):
            t = w.theta * w.phi
            g_phi = (fp(-t) if loss == "non_saturating" else fp(t)) * w.theta
            return Joint(g_phi, -fp(t) * w.phi)

    return Game(
        loss_g=loss_g,
        loss_d=loss_d,
        grad_fn=grad_fn,
        equilibrium=Joint(jnp.zeros(()), jnp.zeros(())),
        name=f"dirac-{loss}",
    )
