"""GANs as structured games: generator, discriminator, exact data and latent rules, a loss family.

The objective is Mescheder et al.'s (2018, Eq. 1)

.. math:: L(\\phi, \\theta) = E_z[f(D_\\theta(G_\\phi(z)))] + E_x[f(-D_\\theta(x))],

which the discriminator maximises and the generator minimises (``"standard"``,
``"wgan"``) or replaces by ``-E_z[f(-D(G(z)))]`` (``"non_saturating"``). Expectations
are quadrature rules (``jaxgan.Quadrature``): exact for finite supports and fixed
samples, Gauss-Hermite for Gaussians. Penalties (``jaxgan.regularizers``) are added to
the discriminator's loss; a regulariser returns a new ``GAN``, so a regularised GAN is
still a game with an exact field and Jacobian.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional, Tuple

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from .._core.game import INSTEAD_OF_A_MODIFIED_GAME, Game, Joint, require_field_from_losses
from .._validation.domains import Choice, describe, domains
from .expect import Quadrature, expectation
from .losses import LOSSES, check_loss, loss_f

Penalty = Callable[["GAN", object, object], jax.Array]


@dataclasses.dataclass(frozen=True, eq=False, kw_only=True)
class GAN(Game):
    """A GAN as a ``Game`` that keeps its structure (build it with ``jaxgan.games.gan``).

    Attributes (besides ``Game``'s): ``generator(phi, z) -> x``, ``discriminator(theta,
    x) -> scalar``, ``data`` and ``latents`` (``Quadrature`` rules), ``loss`` (family
    name), ``penalties`` (tuple of ``(name, penalty, depends_on_phi)`` with
    ``penalty(gan, phi, theta)`` added to the discriminator's loss). The game is flagged
    ``zero_sum`` unless the loss is non-saturating or a penalty depends on ``phi``.

    Examples:
      >>> import jaxgan as jg
      >>> g = jg.games.dirac("standard")
      >>> isinstance(g, jg.games.GAN), g.loss, g.zero_sum
      (True, 'standard', True)
    """

    generator: Callable = None
    discriminator: Callable = None
    data: Quadrature = None
    latents: Quadrature = None
    loss: str = "standard"
    penalties: Tuple[Tuple[str, Penalty, bool], ...] = ()

    def fake_samples(self, phi) -> Quadrature:
        """The generator's distribution as a rule: nodes ``G(phi, z_i)``, the latents' weights."""
        nodes = jax.vmap(lambda z: self.generator(phi, z))(self.latents.nodes)
        return Quadrature(nodes, self.latents.weights)

    def with_penalty(self, name: str, penalty: Penalty, *, depends_on_phi: bool = True) -> "GAN":
        """A new GAN with one more discriminator penalty (``depends_on_phi=False`` keeps
        a zero-sum GAN zero-sum)."""
        require_field_from_losses(self, "GAN.with_penalty", INSTEAD_OF_A_MODIFIED_GAME)
        return gan(
            self.generator,
            self.discriminator,
            self.data,
            self.latents,
            loss=self.loss,
            penalties=self.penalties + ((name, penalty, bool(depends_on_phi)),),
            equilibrium=self.equilibrium,
            name=f"{self.name}+{name}",
        )

    def with_rules(
        self,
        data: Quadrature,
        latents: Quadrature,
        generator: Optional[Callable] = None,
        suffix: str = "",
    ) -> "GAN":
        """A new GAN with other data/latent rules (used by instance noise)."""
        require_field_from_losses(self, "GAN.with_rules", INSTEAD_OF_A_MODIFIED_GAME)
        return gan(
            generator if generator is not None else self.generator,
            self.discriminator,
            data,
            latents,
            loss=self.loss,
            penalties=self.penalties,
            equilibrium=self.equilibrium,
            name=self.name + suffix,
        )


def _check_rule(rule, name):
    if not isinstance(rule, Quadrature):
        raise TypeError(
            f"gan: `{name}` must be a jaxgan.Quadrature (jg.fixed_samples(x), "
            f"jg.finite_support(...), jg.gauss_hermite(...)), got {describe(rule)}."
        )
    return rule


@domains(loss=Choice(*LOSSES))
def gan(
    generator: Callable,
    discriminator: Callable,
    data: Quadrature,
    latents: Quadrature,
    *,
    loss: str = "standard",
    penalties: Tuple[Tuple[str, Penalty, bool], ...] = (),
    equilibrium: Optional[Joint] = None,
    name: str = "gan",
) -> GAN:
    """A GAN game with exact (full-batch or quadrature) expectations.

    ``loss_d = -L + sum(penalties)`` and ``loss_g = L`` (or the non-saturating
    ``-E_z[f(-D(G(z)))]``), with ``L = E_z[f(D(G(z)))] + E_x[f(-D(x))]`` (Mescheder et
    al. 2018, Eq. 1). The discriminator's output is a scalar logit.

    Args:
      generator: ``(phi, z) -> x``.
      discriminator: ``(theta, x) -> scalar``.
      data: the data distribution as a ``Quadrature`` (e.g. ``jg.fixed_samples(x)``).
      latents: the latent distribution as a ``Quadrature``.
      loss: ``"standard"``, ``"non_saturating"`` or ``"wgan"``.
      penalties: discriminator penalties (use ``jaxgan.regularizers`` to add them).
      equilibrium: optional known equilibrium.
      name: label.

    Returns:
      A ``GAN`` (a ``Game``).

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> zero = jg.finite_support(jnp.zeros((1, 1)))
      >>> g = jg.games.gan(lambda p, z: p + z, lambda t, x: t @ x, zero, zero, loss="wgan")
      >>> jg.eigenvalues(g, jg.Joint(jnp.zeros(1), jnp.zeros(1))).imag.tolist()  # the Dirac-GAN
      [-1.0, 1.0]
    """
    check_loss(loss, "gan")
    if not callable(generator) or not callable(discriminator):
        raise TypeError(
            "gan: `generator` and `discriminator` must be callables `(phi, z) -> x` "
            "and `(theta, x) -> scalar`."
        )
    _check_rule(data, "data")
    _check_rule(latents, "latents")
    f = loss_f(loss)
    holder = {}

    def d_out(theta, x):
        out = discriminator(theta, x)
        if jnp.shape(out) != ():
            raise ValueError(
                "gan: `discriminator` must return a scalar logit per sample, returned shape "
                f"{jnp.shape(out)}."
            )
        return out

    def fake_term(phi, theta, g):
        return expectation(lambda z: g(d_out(theta, generator(phi, z))), latents)

    def value(phi, theta):
        real = expectation(lambda x: f(-d_out(theta, x)), data)
        return fake_term(phi, theta, f) + real

    if loss == "non_saturating":

        def loss_g(phi, theta):
            return -fake_term(phi, theta, lambda t: f(-t))

    else:
        loss_g = value

    def loss_d(phi, theta):
        total = -value(phi, theta)
        for _, penalty, _ in penalties:
            total = total + penalty(holder["gan"], phi, theta)
        return total

    game = GAN(
        loss_g=loss_g,
        loss_d=loss_d,
        equilibrium=equilibrium,
        name=name,
        generator=generator,
        discriminator=discriminator,
        data=data,
        latents=latents,
        loss=loss,
        penalties=tuple(penalties),
        zero_sum=loss != "non_saturating" and not any(dep for _, _, dep in penalties),
    )
    holder["gan"] = game
    return game


def lemma3_blocks(game: GAN, w: Joint):
    """The blocks ``P`` and ``Q`` of Nie & Patel's Lemma 3 from their formulas.

    At an equilibrium where the generator reproduces the data and the discriminator is
    zero around it (Assumptions 1 and 2), the Jacobian of the (unregularised) field is
    ``A = [[0, -P], [P^T, Q]]`` with, in Mescheder's sign convention used here,

    .. math:: P = f'(0)\\, E_z[\\nabla_\\phi G_\\phi(z)\\, \\nabla^2_{x\\theta}
      D_\\theta(G_\\phi(z))]
              \\quad (n_\\phi \\times n_\\theta),

    .. math:: Q = 2 f''(0)\\, E_x[\\nabla_\\theta D_\\theta(x) \\nabla_\\theta D_\\theta(x)^T].

    (Nie & Patel's ``g2'(0)`` and ``g1''(0) + g2''(0)`` with ``g1(t) = f(t)``,
    ``g2(t) = f(-t)`` and the opposite sign of ``D``.) Compare with
    ``jg.spectrum(game, w).P`` / ``.Q``, which come from the Jacobian itself.

    Args:
      game: a ``GAN`` (its penalties, if any, are ignored: the blocks are the objective's).
      w: the equilibrium.

    Returns:
      ``(P, Q)`` as dense arrays in ravel order.

    Examples:
      >>> import jaxgan as jg
      >>> game = jg.games.dirac("standard")
      >>> P, Q = jg.games.lemma3_blocks(game, game.equilibrium)
      >>> (P + 0.0).tolist(), (Q + 0.0).tolist()
      ([[0.5]], [[0.0]])
    """
    if not isinstance(game, GAN):
        raise TypeError(f"lemma3_blocks: `game` must be a jaxgan.games.GAN, got {describe(game)}.")
    f = loss_f(game.loss)
    f1 = jax.grad(f)(jnp.zeros(()))
    f2 = jax.grad(jax.grad(f))(jnp.zeros(()))
    phi_flat, unravel_phi = ravel_pytree(w.phi)
    theta_flat, unravel_theta = ravel_pytree(w.theta)

    def generator_flat(p, z):
        return jnp.ravel(game.generator(unravel_phi(p), z))

    def disc_flat(t, x_flat, shape):
        return game.discriminator(unravel_theta(t), x_flat.reshape(shape))

    def p_term(z):
        x = game.generator(w.phi, z)
        jg_ = jax.jacfwd(generator_flat)(phi_flat, z)  # (d_x, n)
        grad_x = jax.grad(disc_flat, argnums=1)
        h = jax.jacfwd(lambda t: grad_x(t, jnp.ravel(x), jnp.shape(x)))(theta_flat)  # (d_x, m)
        return jg_.T @ h

    def q_term(x):
        g = jax.grad(disc_flat)(theta_flat, jnp.ravel(x), jnp.shape(x))
        return jnp.outer(g, g)

    @jax.jit
    def blocks(phi_flat, theta_flat):
        del phi_flat, theta_flat  # the point is closed over; jit only to compile once
        return f1 * expectation(p_term, game.latents), 2 * f2 * expectation(q_term, game.data)

    return blocks(phi_flat, theta_flat)


def theorem5_eigenvalues(P, gamma):
    """Nie & Patel's Theorem 5: JARE's eigenvalues at a GAN equilibrium as ``gamma -> inf``.

    With JARE the Jacobian is ``A - gamma B``, ``B = [[P P^T, P Q], [0, P^T P]]`` (block
    triangular), so to leading order the eigenvalues are ``-gamma`` times those of
    ``P P^T`` and of ``P^T P``: every non-zero eigenvalue of ``P^T P`` twice, plus zeros.
    The error of this limit falls like ``gamma^(-1/2)`` where eigenvalues are double
    (measured in ``tests/test_gan_analysis.py``).

    Args:
      P: the ``(n_phi, n_theta)`` block (``lemma3_blocks`` or ``spectrum(...).P``).
      gamma: JARE's weight.

    Returns:
      The ``n_phi + n_theta`` limit eigenvalues, real, sorted ascending.

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> jg.games.theorem5_eigenvalues(jnp.array([[2.0]]), 10.0).tolist()
      [-40.0, -40.0]
    """
    P = jnp.asarray(P)
    if P.ndim != 2:
        raise ValueError(
            f"theorem5_eigenvalues: `P` must be a (n_phi, n_theta) matrix, got shape {P.shape}."
        )
    lam = jnp.concatenate([jnp.linalg.eigvalsh(P @ P.T), jnp.linalg.eigvalsh(P.T @ P)])
    return jnp.sort(-gamma * lam)
