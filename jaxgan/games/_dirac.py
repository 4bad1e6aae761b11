"""The Dirac-GAN (Mescheder, Geiger & Nowozin 2018, Definition 2.1)."""

from __future__ import annotations

import jax.numpy as jnp

from .._core.game import Joint
from .._gan.expect import finite_support
from .._gan.gan import GAN, gan
from .._gan.losses import LOSSES, check_loss, loss_f_prime
from .._validation.domains import Choice, Flag, domains


@domains(loss=Choice(*LOSSES), closed_form_grad=Flag())
def dirac(loss: str = "standard", *, closed_form_grad: bool = False) -> GAN:
    """The Dirac-GAN: data ``delta_0``, generator ``delta_theta``, ``D(x) = psi x``.

    In jaxgan's names ``phi = theta_G`` (the generator's position, a scalar) and
    ``theta = psi`` (the discriminator's slope). The objective is

    .. math:: L(\\theta_G, \\psi) = f(\\psi \\theta_G) + f(0)

    (the notes' ``f(theta)`` corrected), which the discriminator maximises; the
    generator minimises ``L`` (``"standard"``, ``"wgan"``) or ``-f(-psi theta_G)``
    (``"non_saturating"``). The unique equilibrium is ``(0, 0)`` and the field Jacobian
    there has eigenvalues ``+- f'(0) i`` (Lemma 2.2): SimGD's operator ``1 +- h f'(0) i``
    has modulus above one (Lemma 2.4), and exactly ``|w+|^2 = |w|^2 (1 + h^2 f'(psi
    theta_G)^2)`` for the standard and WGAN losses.

    It is a ``GAN`` (one-point data and latent rules, ``G(phi, z) = z + phi``,
    ``D(theta, x) = theta x``), so ``jaxgan.regularizers`` apply to it.

    Args:
      loss: ``"standard"``, ``"non_saturating"`` or ``"wgan"``.
      closed_form_grad: attach the hand-derived simultaneous gradient (``grad_fn``)
        ``xi = (f'(psi theta) psi, -f'(psi theta) theta)`` instead of autodiff (a
        regularised copy drops it and differentiates its losses).

    Returns:
      A ``GAN`` with scalar players and ``equilibrium = Joint(0, 0)``.

    Examples:
      >>> import jaxgan as jg
      >>> game = jg.games.dirac("wgan")
      >>> jg.eigenvalues(game, game.equilibrium).imag.tolist()
      [-1.0, 1.0]
    """
    check_loss(loss, "dirac")
    point = finite_support(jnp.zeros((1, 1)))
    game = gan(
        lambda phi, z: z + phi,
        lambda theta, x: theta * x[0],
        point,
        point,
        loss=loss,
        equilibrium=Joint(jnp.zeros(()), jnp.zeros(())),
        name=f"dirac-{loss}",
    )
    if closed_form_grad:
        fp = loss_f_prime(loss)

        def grad_fn(w):
            t = w.theta * w.phi
            g_phi = (fp(-t) if loss == "non_saturating" else fp(t)) * w.theta
            return Joint(g_phi, -fp(t) * w.phi)

        game = game.replace(grad_fn=grad_fn)
    return game
