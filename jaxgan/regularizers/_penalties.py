"""Gradient penalties and instance noise on ``GAN`` games."""

from __future__ import annotations

from typing import Callable, Optional

import jax
import jax.numpy as jnp
import numpy as np

from .._core.game import require_field_from_losses
from .._gan.expect import Quadrature, expectation, gauss_hermite
from .._gan.gan import GAN
from .._validation.checks import check_hyperparameter
from .._validation.domains import Choice, Integer, Real, describe, domains

PAIRINGS = ("product", "pairs")


def _check_gan(game, where):
    """``game`` when it is a ``GAN`` whose field is the gradient of its losses. A regulariser
    rebuilds the game from its losses, so a ``modified_game`` is refused rather than
    dropping its field; adding the penalty's gradient to the modified field would not be the
    drift of regularised steps either (that drift holds the penalty's curvature, and with
    ``scales`` the discriminator's step size), so the remedy is the other order."""
    if not isinstance(game, GAN):
        raise TypeError(
            f"{where}: `game` must be a jaxgan.games.GAN "
            "(built with jg.games.gan or a GAN catalogue game) "
            f"so that the penalty can see the discriminator and the data, got {describe(game)}."
        )
    key = "(key)" if where == "fresh_instance_noise" else ""  # that one returns key -> GAN
    return require_field_from_losses(
        game,
        where,
        "Regularise the game given to jaxgan.modified_game, then take the modified game: "
        f"jaxgan.modified_game(jaxgan.regularizers.{where}(game, ...){key}, lr). "
        "The drift of regularised steps holds the penalty's curvature, "
        "which adding the penalty to this modified field would miss.",
    )


def _check_nonnegative(value, name, where):
    check_hyperparameter(value, where, name)


def _safe_norm(g):
    """Euclidean norm whose gradient at 0 is 0 (a subgradient), not NaN."""
    sq = jnp.sum(jnp.square(g))
    positive = sq > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, sq, 1.0)), 0.0)


def _input_grad(game: GAN, theta, x):
    return jax.grad(lambda x_: game.discriminator(theta, x_))(x)


def _mean_sq_grad(game: GAN, theta, rule: Quadrature):
    return expectation(lambda x: jnp.sum(jnp.square(_input_grad(game, theta, x))), rule)


@domains(gamma=Real(0))
def r1(game: GAN, gamma: jax.typing.ArrayLike) -> GAN:
    """R1: the zero-centred gradient penalty on the data.

    The penalty of Mescheder et al. 2018, Eq. 9,

    .. math:: R_1(\\theta) = \\frac{\\gamma}{2} E_{x \\sim p_D}[|\\nabla_x D_\\theta(x)|^2],

    added to the discriminator's loss. On the Dirac-GAN ``R1 = gamma/2 psi^2`` and the
    Jacobian's eigenvalues at the equilibrium are ``-gamma/2 +- sqrt(gamma^2/4 -
    f'(0)^2)`` (Lemma 3.3): locally convergent for every ``gamma > 0``, no rotation past
    ``gamma_crit = 2 |f'(0)|``.

    Examples:
      >>> import jaxgan as jg
      >>> game = jg.regularizers.r1(jg.games.dirac("wgan"), 1.0)
      >>> [round(float(x), 6) for x in jg.eigenvalues(game, game.equilibrium).real]
      [-0.5, -0.5]
    """
    _check_gan(game, "r1")
    _check_nonnegative(gamma, "gamma", "r1")
    return game.with_penalty(
        "r1",
        lambda g, phi, theta: gamma / 2 * _mean_sq_grad(g, theta, g.data),
        depends_on_phi=False,
    )


@domains(gamma=Real(0))
def r2(game: GAN, gamma: jax.typing.ArrayLike) -> GAN:
    """R2: the zero-centred gradient penalty on generated samples.

    The penalty of Mescheder et al. 2018, Eq. 10,

    .. math:: R_2(\\phi, \\theta) = \\frac{\\gamma}{2} E_{z}[|\\nabla_x D_\\theta(G_\\phi(z))|^2],

    added to the discriminator's loss (only the discriminator descends it). On the
    Dirac-GAN it equals R1 at the equilibrium's neighbourhood: ``gamma/2 psi^2``.

    Examples:
      >>> import jaxgan as jg
      >>> game = jg.regularizers.r2(jg.games.dirac("wgan"), 4.0)
      >>> [round(float(x), 6) for x in jg.eigenvalues(game, game.equilibrium).real]
      [-3.732051, -0.267949]
    """
    _check_gan(game, "r2")
    _check_nonnegative(gamma, "gamma", "r2")
    return game.with_penalty(
        "r2", lambda g, phi, theta: gamma / 2 * _mean_sq_grad(g, theta, g.fake_samples(phi))
    )


def _legendre01(order):
    t, w = np.polynomial.legendre.leggauss(order)
    return (t + 1) / 2, w / 2


def _interpolates(game: GAN, phi, order: int, pairing: str) -> Quadrature:
    """Points ``t x + (1 - t) G(z)``, ``t ~ U[0, 1]`` by Gauss-Legendre, with their weights."""
    real, fake = game.data, game.fake_samples(phi)
    t, wt = _legendre01(order)
    t = jnp.asarray(t, dtype=fake.nodes.dtype)
    wt = jnp.asarray(wt, dtype=fake.nodes.dtype)
    extra = (1,) * (real.nodes.ndim - 1)
    if pairing == "pairs":
        if real.nodes.shape[0] != fake.nodes.shape[0]:
            raise ValueError(
                "wgan_gp: pairing='pairs' needs as many data points as latents, "
                f"got {real.nodes.shape[0]} and {fake.nodes.shape[0]}."
            )
        x = real.nodes[:, None]
        g = fake.nodes[:, None]
        tt = t.reshape((1, -1) + extra)
        nodes = tt * x + (1 - tt) * g
        weights = real.weights[:, None] * wt[None, :]
    else:
        x = real.nodes[:, None, None]
        g = fake.nodes[None, :, None]
        tt = t.reshape((1, 1, -1) + extra)
        nodes = tt * x + (1 - tt) * g
        weights = real.weights[:, None, None] * fake.weights[None, :, None] * wt[None, None, :]
    return Quadrature(nodes.reshape((-1,) + real.nodes.shape[1:]), weights.reshape(-1))


def _check_interp_args(order, pairing, where):
    Integer(1).check(order, where, "order")
    Choice(*PAIRINGS).check(pairing, where, "pairing")


@domains(lam=Real(0), target=Real(0), order=Integer(1), pairing=Choice(*PAIRINGS))
def wgan_gp(
    game: GAN,
    lam: jax.typing.ArrayLike,
    *,
    target: jax.typing.ArrayLike = 1.0,
    order: int = 4,
    pairing: str = "product",
) -> GAN:
    """The WGAN-GP gradient penalty on interpolates (Gulrajani et al. 2017).

    The penalty is

    .. math:: \\lambda E_{\\hat x}[(|\\nabla_x D_\\theta(\\hat x)| - g_0)^2], \\quad
              \\hat x = t x + (1 - t) G_\\phi(z), \\ t \\sim U[0, 1],

    with ``target = g0 = 1`` (WGAN-GP) or ``0`` (the zero-centred variant). The
    expectation is exact in the data and latent rules and uses ``order``-point
    Gauss-Legendre in ``t``; ``pairing="product"`` takes every (data, latent) pair,
    ``"pairs"`` pairs them by index (equal sizes). On the Dirac-GAN with ``target = 1``
    the penalty ``lam (|psi| - 1)^2`` pushes the discriminator's slope away from the
    equilibrium's ``psi = 0``: training does not converge (Mescheder et al. 2018, Figure 3).
    The norm's derivative at a zero gradient is taken as 0.

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> game = jg.regularizers.wgan_gp(jg.games.dirac("wgan"), 1.0)
      >>> float(game.loss_d(jnp.array(0.0), jnp.array(0.5)))  # lam (|psi| - 1)^2
      0.25
    """
    _check_gan(game, "wgan_gp")
    _check_nonnegative(lam, "lam", "wgan_gp")
    _check_interp_args(order, pairing, "wgan_gp")

    def penalty(g, phi, theta):
        rule = _interpolates(g, phi, order, pairing)
        return lam * expectation(
            lambda x: jnp.square(_safe_norm(_input_grad(g, theta, x)) - target), rule
        )

    return game.with_penalty("wgan-gp" if target == 1.0 else f"wgan-gp{target:g}", penalty)


@domains(lam=Real(0), order=Integer(1), pairing=Choice(*PAIRINGS))
def relu_gp(
    game: GAN, lam: jax.typing.ArrayLike, *, order: int = 4, pairing: str = "product"
) -> GAN:
    """The ReLU gradient penalty ``lam * E[ReLU(|grad_x D(x_hat)| - 1)]`` on interpolates.

    The penalty of Ehab 2023, section 12:

    .. math:: \\lambda\\, \\mathbb{E}\\big[\\operatorname{ReLU}(|\\nabla_x D(\\hat x)| - 1)\\big]

    It does not penalise a critic whose slope stays below one and grows linearly past
    it, so for ``lam`` above the Wasserstein distance between the data and the generator
    the penalised critic's optimum is the WGAN critic (unlike WGAN-GP's squared penalty).

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> game = jg.regularizers.relu_gp(jg.games.dirac("wgan"), 2.0)
      >>> float(game.loss_d(jnp.array(0.0), jnp.array(1.5)))  # 2 * (1.5 - 1)
      1.0
    """
    _check_gan(game, "relu_gp")
    _check_nonnegative(lam, "lam", "relu_gp")
    _check_interp_args(order, pairing, "relu_gp")

    def penalty(g, phi, theta):
        rule = _interpolates(g, phi, order, pairing)
        return lam * expectation(
            lambda x: jax.nn.relu(_safe_norm(_input_grad(g, theta, x)) - 1.0), rule
        )

    return game.with_penalty("relu-gp", penalty)


@domains(sigma=Real(0), order=Integer(1))
def instance_noise(
    game: GAN, sigma: jax.typing.ArrayLike, *, order: int = 8, noise: Optional[jax.Array] = None
) -> GAN:
    """Instance noise: every sample the discriminator sees is perturbed by Gaussian noise.

    Every sample, real or generated, is ``x + sigma * eps`` with ``eps ~ N(0, I)``
    (Sonderby et al. 2016; Mescheder et al. 2018, Lemma 3.2).

    .. math:: \\tilde x = x + \\sigma \\varepsilon, \\qquad \\varepsilon \\sim \\mathcal{N}(0, I)

    The expectation over ``eps`` is exact: a tensor Gauss-Hermite rule of ``order`` nodes
    per dimension (``order**d`` in all), or fixed standard-normal samples ``noise`` of
    shape ``(M, *x.shape)``. The data rule becomes the product rule of ``(x_i + sigma
    eps_j)``, the latents become pairs ``(z, eps)``. ``sigma`` may be traced (swept). On
    the Dirac-GAN the Jacobian's eigenvalues at the equilibrium are ``f''(0) sigma^2 +-
    sqrt(f''(0)^2 sigma^4 - f'(0)^2)``, real from ``sigma_crit^2 = |f'(0)| / |f''(0)|``.

    Examples:
      >>> import jaxgan as jg
      >>> game = jg.regularizers.instance_noise(jg.games.dirac("standard"), 1.0)
      >>> # f''(0) sigma^2
      >>> [round(float(x), 5) for x in jg.eigenvalues(game, game.equilibrium).real]
      [-0.25, -0.25]
    """
    _check_gan(game, "instance_noise")
    _check_nonnegative(sigma, "sigma", "instance_noise")
    event_shape = tuple(game.data.nodes.shape[1:])
    if noise is None:
        d = int(np.prod(event_shape)) if event_shape else 1
        if order**d > 100_000:
            raise ValueError(
                "instance_noise: a Gauss-Hermite grid "
                f"of order {order} over {d} dimensions has {order**d} nodes; "
                "pass fixed standard-normal samples `noise=` of shape (M, *x.shape) instead."
            )
        eps = gauss_hermite(np.zeros(d), 1.0, order)
        eps_nodes, eps_w = eps.nodes.reshape((-1,) + event_shape), eps.weights
    else:
        noise = jnp.asarray(noise)
        if noise.shape[1:] != event_shape:
            raise ValueError(
                f"instance_noise: `noise` must have shape (M, *{event_shape}), got {noise.shape}."
            )
        eps_nodes, eps_w = noise, jnp.full((noise.shape[0],), 1.0 / noise.shape[0])
    dt = game.data.nodes.dtype
    eps_nodes = eps_nodes.astype(dt)
    x = game.data.nodes[:, None] + sigma * eps_nodes[None]
    data = Quadrature(
        x.reshape((-1,) + event_shape),
        (game.data.weights[:, None] * eps_w[None, :].astype(game.data.weights.dtype)).reshape(-1),
    )
    n_z, n_e = game.latents.nodes.shape[0], eps_nodes.shape[0]
    z_nodes = jnp.repeat(game.latents.nodes, n_e, axis=0)
    e_nodes = jnp.tile(eps_nodes, (n_z,) + (1,) * len(event_shape))
    latents = Quadrature(
        (z_nodes, e_nodes),
        (game.latents.weights[:, None] * eps_w[None, :].astype(game.latents.weights.dtype)).reshape(
            -1
        ),
    )
    base_generator = game.generator

    def generator(phi, z_eps):
        z, e = z_eps
        return base_generator(phi, z) + sigma * e.astype(dt)

    return game.with_rules(data, latents, generator, suffix="+noise")


@domains(sigma=Real(0), samples=Integer(1))
def fresh_instance_noise(
    game: GAN, sigma: jax.typing.ArrayLike, *, samples: int = 1
) -> Callable[[jax.Array], GAN]:
    """Instance noise drawn anew at every step, as practitioners run it (Sonderby et al. 2016).

    The stochastic game ``key -> GAN`` whose discriminator sees ``x + sigma * eps`` with
    ``samples`` fresh standard-normal draws of ``eps`` at every step (the same draws perturb the
    real and the generated samples; each term's expectation is still exact).

    Each key's game is ``instance_noise(game, sigma, noise=eps)`` with ``eps`` drawn from
    the key, so its field is an unbiased estimate of the exact-expectation field of
    ``instance_noise(game, sigma)``. Run it with ``jaxgan.rollout(stochastic, tx, w0,
    steps, key=key)`` (step ``t`` plays ``stochastic(jax.random.fold_in(key, t))``) or
    ``jaxgan.sweep(..., key=key)``: runs are bitwise repeatable in the key.

    Args:
      game: a ``GAN``.
      sigma: the noise level (traceable).
      samples: fresh draws per step (static).

    Returns:
      ``key -> GAN``.

    Examples:
      >>> import jax, optax, jaxgan as jg
      >>> noisy = jg.regularizers.fresh_instance_noise(jg.games.dirac("standard"), 1.0)
      >>> a = jg.rollout(noisy, optax.sgd(0.1), jg.Joint(1.0, 1.0), 20, key=jax.random.PRNGKey(0))
      >>> b = jg.rollout(noisy, optax.sgd(0.1), jg.Joint(1.0, 1.0), 20, key=jax.random.PRNGKey(0))
      >>> bool(a.final.phi == b.final.phi)
      True
    """
    _check_gan(game, "fresh_instance_noise")
    _check_nonnegative(sigma, "sigma", "fresh_instance_noise")
    Integer(1).check(samples, "fresh_instance_noise", "samples")
    event_shape = tuple(game.data.nodes.shape[1:])
    dtype = game.data.nodes.dtype

    def game_at(key):
        eps = jax.random.normal(key, (int(samples),) + event_shape, dtype)
        return instance_noise(game, sigma, noise=eps)

    return game_at
