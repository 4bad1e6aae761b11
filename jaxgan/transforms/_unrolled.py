"""Unrolled GANs (Metz, Poole, Pfau & Sohl-Dickstein 2017): the generator's gradient taken
through ``k`` steps of the discriminator's gradient descent."""

from __future__ import annotations

import jax
import optax

from .._core.game import INSTEAD_OF_A_MODIFIED_GAME, Joint, require_field_from_losses
from .._validation.domains import Integer, Real, domains
from ._corrections import correction_transform

__all__ = ["unrolled"]


@domains(steps=Integer(0), lr=Real(0))
def unrolled(steps: int, lr: jax.typing.ArrayLike) -> optax.GradientTransformationExtraArgs:
    """The unrolled-GAN correction: the generator descends its loss at the discriminator k steps on.

    With ``theta_0 = theta`` and ``theta_{j+1} = theta_j - lr grad_theta l_d(phi, theta_j)``
    (``k = steps`` steps of the discriminator's gradient descent), the generator's field is the
    total derivative of its loss at the unrolled discriminator, differentiated through the
    unrolling; the discriminator's field is unchanged:

    .. math:: \\xi_\\phi \\leftarrow \\xi_\\phi + \\frac{d}{d\\phi} l_g(\\phi,
              \\theta_k(\\phi)) - \\nabla_\\phi l_g(\\phi, \\theta)

    (with nothing before it in the chain, ``xi_phi`` becomes exactly ``d l_g(phi,
    theta_k(phi)) / d phi``; after another correction, the unrolling's term is added to the
    field that correction made). ``steps = 0`` is the identity. On ``f = x y`` the unrolled field
    is ``(y + 2 k lr x, -x)``: the unrolling adds damping ``2 k lr`` to the generator, and its
    Jacobian's eigenvalues are ``k lr +- sqrt((k lr)^2 - 1)``. The correction is a smooth
    function of the point, so ``update_jacobian`` and every linear analysis differentiate it
    exactly (through the unrolled steps). It reads the losses, so a game whose field is not
    their gradient (``modified_game``'s) is refused. Two players. Cost per step: ``k`` field
    evaluations of the discriminator and one reverse pass through them.

    Args:
      steps: the discriminator's unrolled steps ``k >= 0`` (static).
      lr: the unrolled steps' learning rate (traceable).

    Returns:
      An ``optax.GradientTransformationExtraArgs``; ``update`` needs ``params`` and ``game=``.

    Examples:
      >>> import optax, jaxgan as jg
      >>> game = jg.zero_sum(lambda x, y: x * y)
      >>> J = jg.jacobian(game, jg.Joint(0.0, 0.0), transform=jg.transforms.unrolled(3, 0.1))
      >>> [[round(float(v), 6) for v in row] for row in J]  # A = -d xi/dw, 2 k lr = 0.6
      [[-0.6, -1.0], [1.0, 0.0]]

    References:
      Metz, Poole, Pfau & Sohl-Dickstein, "Unrolled generative adversarial networks", ICLR
      2017.
    """
    k = int(steps)

    def correct(game, xi, w):
        require_field_from_losses(game, "unrolled", INSTEAD_OF_A_MODIFIED_GAME)
        if k == 0:
            return xi

        def ahead(phi):
            theta = w.theta
            for _ in range(k):
                g = jax.grad(game.loss_d, argnums=1)(phi, theta)
                theta = jax.tree.map(lambda t, d: t - lr * d, theta, g)
            return game.loss_g(phi, theta)

        total = jax.grad(ahead)(w.phi)
        direct = jax.grad(game.loss_g, argnums=0)(w.phi, w.theta)
        phi = jax.tree.map(lambda v, a, b: (v + (a - b)).astype(v.dtype), xi.phi, total, direct)
        return Joint(phi, xi.theta)

    return correction_transform("unrolled", correct, two_player=True)
