"""GAN loss families as the scalar functions ``f`` of Mescheder et al. 2018 (Eq. 1).

A GAN objective is ``L = E_z[f(D(G(z)))] + E_x[f(-D(x))]`` (Mescheder's sign: the
discriminator maximises ``L``, the generator minimises it). Nie & Patel 2019 write
``E_x[g1(D(x))] + E_z[g2(D(G(z)))]`` with the opposite sign of ``D``: ``g1(t) = f(t)``,
``g2(t) = f(-t)``. The families:

* ``"standard"``: ``f(t) = -log(1 + exp(-t)) = log sigmoid(t)``; ``f'(0) = 1/2``,
  ``f''(0) = -1/4`` (Goodfellow et al. 2014).
* ``"non_saturating"``: the same ``f`` for the discriminator; the generator minimises
  ``-f(-D(G(z)))`` instead (Goodfellow et al. 2014, Section 3).
* ``"wgan"``: ``f(t) = t`` (Arjovsky et al. 2017); ``f'(0) = 1``, ``f''(0) = 0``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

LOSSES = ("standard", "non_saturating", "wgan")


@jax.custom_jvp
def log_sigmoid(t):
    """``log sigmoid(t) = -log(1 + exp(-t))``, stable, with a one-op derivative.

    Its JVP is ``sigmoid(-t) * dt``: one logistic instead of the generic
    ``logaddexp`` rule (which recomputes ``exp``, a max and ``where`` guards for
    infinities), so the field and its Jacobian cost what the closed form costs.

    Examples:
      >>> import jax, jaxgan as jg
      >>> float(jax.grad(jg.games.log_sigmoid)(0.0))
      0.5
    """
    return -jnp.logaddexp(jnp.zeros_like(t), -t)


@jax.custom_jvp
def _sigmoid_neg(t):
    # sigmoid(-t) = d/dt log_sigmoid(t); its own derivative -sigmoid(t) sigmoid(-t) is
    # written as a product so that it keeps full relative precision in both tails.
    return jax.nn.sigmoid(-t)


@_sigmoid_neg.defjvp
def _sigmoid_neg_jvp(primals, tangents):
    (t,), (dt,) = primals, tangents
    s_neg = jax.nn.sigmoid(-t)
    return s_neg, -jax.nn.sigmoid(t) * s_neg * dt


@log_sigmoid.defjvp
def _log_sigmoid_jvp(primals, tangents):
    (t,), (dt,) = primals, tangents
    return log_sigmoid(t), _sigmoid_neg(t) * dt


def _identity(t):
    return t


def check_loss(loss: str, where: str) -> str:
    if loss not in LOSSES:
        raise ValueError(
            f"{where}: unknown `loss` {loss!r}; expected one of {', '.join(map(repr, LOSSES))}."
        )
    return loss


def loss_f(loss: str):
    """The function ``f`` of a loss family (``"non_saturating"`` shares the standard ``f``).

    Examples:
      >>> import jaxgan as jg
      >>> # log(1/2); t
      >>> round(float(jg.games.loss_f("standard")(0.0)), 6), float(jg.games.loss_f("wgan")(2.0))
      (-0.693147, 2.0)
    """
    check_loss(loss, "loss_f")
    return _identity if loss == "wgan" else log_sigmoid


def loss_f_prime(loss: str):
    """Closed-form ``f'``: ``sigmoid(-t)`` for the standard families, ``1`` for WGAN.

    Examples:
      >>> import jaxgan as jg
      >>> # f'(0) = 1/2
      >>> float(jg.games.loss_f_prime("standard")(0.0)), float(jg.games.loss_f_prime("wgan")(3.0))
      (0.5, 1.0)
    """
    check_loss(loss, "loss_f_prime")
    if loss == "wgan":
        return jnp.ones_like
    return _sigmoid_neg
