"""Regularised Dirac-GANs against Mescheder et al. 2018 (Lemmas 3.2, 3.3, Figure 3), float64."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from closed_forms import F_PRIME_0 as F1
from closed_forms import F_SECOND_0 as F2
from closed_forms import sorted_eigs

import jaxgan as jg

R = jg.regularizers


def _roots(b, c):
    """Roots of lambda^2 - b lambda + c, sorted."""
    d = np.sqrt(complex(b**2 - 4 * c))
    return sorted_eigs([(b + d) / 2, (b - d) / 2])


@pytest.mark.parametrize("loss", ["standard", "non_saturating"])
@pytest.mark.parametrize("sigma", [0.3, 1.0, 2.0**0.5 * 0.999, 2.5])
def test_instance_noise_eigenvalues(loss, sigma):
    game = R.instance_noise(jg.games.dirac(loss), sigma)
    lam = jg.eigenvalues(game, game.equilibrium)
    f1, f2 = F1[loss], F2[loss]
    expected = f2 * sigma**2 + np.array([1, -1]) * np.sqrt(complex(f2**2 * sigma**4 - f1**2))
    np.testing.assert_allclose(sorted_eigs(lam), sorted_eigs(expected), atol=1e-8)


def test_instance_noise_critical_sigma():
    f1, f2 = 0.5, -0.25
    sigma_crit = np.sqrt(abs(f1) / abs(f2))  # sqrt(2)
    game = jg.games.dirac("standard")
    below = jg.eigenvalues(R.instance_noise(game, 0.99 * sigma_crit), game.equilibrium)
    above = jg.eigenvalues(R.instance_noise(game, 1.01 * sigma_crit), game.equilibrium)
    assert np.min(np.abs(np.asarray(below).imag)) > 1e-3
    np.testing.assert_allclose(np.asarray(above).imag, 0.0, atol=1e-12)
    # the WGAN loss has f''(0) = 0: instance noise does not help it
    wgan = R.instance_noise(jg.games.dirac("wgan"), 1.0)
    np.testing.assert_allclose(sorted_eigs(jg.eigenvalues(wgan, wgan.equilibrium)), [-1j, 1j], atol=1e-12)


def test_instance_noise_with_fixed_samples_and_traced_sigma():
    noise = jax.random.normal(jax.random.PRNGKey(1), (64, 1))
    game = R.instance_noise(jg.games.dirac("standard"), 0.8, noise=noise)
    a = jg.jacobian(game, game.equilibrium)
    # Q = 2 f''(0) E[(sigma eps)^2] with the empirical second moment of the samples
    np.testing.assert_allclose(a[1, 1], 2 * -0.25 * 0.64 * float(jnp.mean(noise**2)), rtol=1e-12)
    eig = jax.jit(jax.vmap(lambda s: jg.eigenvalues(R.instance_noise(jg.games.dirac("standard"), s), jg.Joint(0.0, 0.0))))
    lam = eig(jnp.array([0.5, 1.0]))
    np.testing.assert_allclose(lam[:, 0].real, [-0.25 * 0.25, -0.25], atol=1e-12)


@pytest.mark.parametrize("loss", jg.games.LOSSES)
@pytest.mark.parametrize("gamma", [0.2, 1.0, 2.0, 3.0])
@pytest.mark.parametrize("penalty", [R.r1, R.r2])
def test_zero_centred_penalties_lemma_3_3(loss, gamma, penalty):
    game = penalty(jg.games.dirac(loss), gamma)
    lam = jg.eigenvalues(game, game.equilibrium)
    f1 = F1[loss]
    # lambda = -gamma/2 +- sqrt(gamma^2/4 - f'(0)^2); the loss's own f''(0) term vanishes at psi = 0
    np.testing.assert_allclose(sorted_eigs(lam), _roots(-gamma, f1**2), atol=1e-8)


@pytest.mark.parametrize("loss", jg.games.LOSSES)
def test_gamma_critical(loss):
    gamma_crit = 2 * abs(F1[loss])
    game = jg.games.dirac(loss)
    below = jg.eigenvalues(R.r1(game, 0.98 * gamma_crit), game.equilibrium)
    above = jg.eigenvalues(R.r1(game, 1.02 * gamma_crit), game.equilibrium)
    assert np.min(np.abs(np.asarray(below).imag)) > 1e-3
    np.testing.assert_allclose(np.asarray(above).imag, 0.0, atol=1e-12)


@pytest.mark.parametrize("start", [(1.0, 0.5), (0.3, -0.2), (-0.5, 1.0)])
@pytest.mark.parametrize("alternate", [True, False])
def test_r1_converges_while_wgan_gp_does_not(start, alternate):
    """Mescheder et al. 2018 Figure 3: on the Dirac-GAN, WGAN-GP does not converge to the
    equilibrium (0, 0) while R1 does. Near psi = 0 the penalty lam (|psi| - 1)^2 pushes the
    critic's slope away from 0, so runs end elsewhere: the generator stops where the
    critic's best slope reaches 0 (theta_G = -2 lam for lam = 1), not at the data."""
    w0 = jg.Joint(jnp.array(start[0]), jnp.array(start[1]))
    tx = jg.transforms.alternating(optax.sgd(0.1)) if alternate else optax.sgd(0.1)
    r1 = R.r1(jg.games.dirac("standard"), 1.0)
    out = jg.rollout(r1, tx, w0, 3000)
    assert float(jnp.hypot(out.final.phi, out.final.theta)) < 1e-8
    gp = R.wgan_gp(jg.games.dirac("wgan"), 1.0)
    out = jg.rollout(gp, tx, w0, 3000, record_every=30)
    dist = np.hypot(np.asarray(out.trajectory.phi), np.asarray(out.trajectory.theta))
    assert bool(out.finite)
    assert dist[-50:].min() > 0.5  # never near the equilibrium late in the run


def test_wgan_gp_and_relu_gp_values_on_interpolates():
    # a 1-D linear critic: |grad D| = |theta| everywhere
    data = jg.fixed_samples(jnp.array([[0.0], [1.0]]))
    latents = jg.fixed_samples(jnp.array([[0.5], [-0.5], [2.0]]))
    base = jg.games.gan(lambda p, z: z + p, lambda t, x: t * x[0], data, latents, loss="wgan")
    phi, theta = jnp.array(0.3), jnp.array(1.7)
    base_d = base.loss_d(phi, theta)
    np.testing.assert_allclose(R.wgan_gp(base, 2.0).loss_d(phi, theta) - base_d, 2.0 * 0.7**2, rtol=1e-12)
    np.testing.assert_allclose(R.wgan_gp(base, 2.0, target=0.0).loss_d(phi, theta) - base_d, 2.0 * 1.7**2, rtol=1e-12)
    np.testing.assert_allclose(R.relu_gp(base, 2.0).loss_d(phi, theta) - base_d, 2.0 * 0.7, rtol=1e-12)
    np.testing.assert_allclose(R.relu_gp(base, 2.0).loss_d(phi, jnp.array(0.4)) - base.loss_d(phi, jnp.array(0.4)), 0.0, atol=1e-15)
    # a quadratic critic: grad D(x) = 2 theta x; the penalty's t-integral is exact (Gauss-Legendre)
    quad = jg.games.gan(lambda p, z: z + p, lambda t, x: t * x[0] ** 2, data, latents, loss="wgan")
    got = R.wgan_gp(quad, 1.0, target=0.0, order=3).loss_d(phi, theta) - quad.loss_d(phi, theta)
    xs, zs = np.array([0.0, 1.0]), np.array([0.5, -0.5, 2.0]) + 0.3
    # E_t[(2 theta (t x + (1-t) g))^2] = 4 theta^2 (x^2/3 + x g/3 + g^2/3)
    exact = np.mean([[4 * 1.7**2 * (x * x + x * g + g * g) / 3 for g in zs] for x in xs])
    np.testing.assert_allclose(got, exact, rtol=1e-12)
    paired = R.wgan_gp(jg.games.gan(lambda p, z: z + p, lambda t, x: t * x[0] ** 2, data,
                                    jg.fixed_samples(jnp.array([[0.5], [-0.5]])), loss="wgan"),
                       1.0, target=0.0, order=3, pairing="pairs")
    gs = np.array([0.5, -0.5]) + 0.3
    exact_pairs = np.mean([4 * 1.7**2 * (x * x + x * g + g * g) / 3 for x, g in zip(xs, gs)])
    base2 = jg.games.gan(lambda p, z: z + p, lambda t, x: t * x[0] ** 2, data, jg.fixed_samples(jnp.array([[0.5], [-0.5]])), loss="wgan")
    np.testing.assert_allclose(paired.loss_d(phi, theta) - base2.loss_d(phi, theta), exact_pairs, rtol=1e-12)


def test_relu_gp_recovers_the_wgan_critic():
    """Ehab 2023, section 12: with lam above W1 the penalised critic's optimum is the WGAN critic
    (slope 1, pointing at the generated samples in Mescheder's sign convention: L = E D(G) - E D(x)),
    where WGAN-GP's squared penalty is minimised elsewhere: -2 psi + lam (|psi| - 1)^2 at 1 + 1/lam."""
    data = jg.finite_support(jnp.array([[0.0]]))
    latents = jg.finite_support(jnp.array([[0.0]]))
    base = jg.games.gan(lambda p, z: z + p, lambda t, x: t * x[0], data, latents, loss="wgan")
    phi = jnp.array(2.0)  # W1 = 2
    for lam, expect in [(3.0, 1.0), (10.0, 1.0)]:
        game = R.relu_gp(base, lam)
        thetas = jnp.linspace(-3.0, 3.0, 6001)
        values = jax.vmap(lambda t: game.loss_d(phi, t))(thetas)
        np.testing.assert_allclose(thetas[jnp.argmin(values)], expect, atol=1e-3)
    gp = R.wgan_gp(base, 3.0)
    values = jax.vmap(lambda t: gp.loss_d(phi, t))(jnp.linspace(-3.0, 3.0, 6001))
    np.testing.assert_allclose(jnp.linspace(-3.0, 3.0, 6001)[jnp.argmin(values)], 1.0 + 1.0 / 3.0, atol=1e-3)


def test_clip_discriminator_projects():
    game = jg.games.dirac("wgan")
    tx = optax.chain(optax.sgd(0.5), R.clip_discriminator(0.2))
    out = jg.rollout(game, tx, jg.Joint(jnp.array(1.0), jnp.array(0.0)), 200, record_every=1)
    assert float(jnp.max(jnp.abs(out.trajectory.theta))) <= 0.2 + 1e-15
    assert float(jnp.max(jnp.abs(out.trajectory.theta))) == pytest.approx(0.2)


def test_regularizer_errors():
    with pytest.raises(TypeError, match="must be a jaxgan.games.GAN"):
        R.r1(jg.games.quadratic(1.0, 1.0, 1.0), 1.0)
    with pytest.raises(ValueError, match="`gamma` must be >= 0"):
        R.r1(jg.games.dirac("standard"), -1.0)
    with pytest.raises(ValueError, match="unknown `pairing`"):
        R.wgan_gp(jg.games.dirac("wgan"), 1.0, pairing="zip")
    with pytest.raises(ValueError, match="`noise` must have shape"):
        R.instance_noise(jg.games.dirac("standard"), 1.0, noise=jnp.zeros((5, 2)))
    with pytest.raises(TypeError, match="`data` must be a jaxgan.Quadrature"):
        jg.games.gan(lambda p, z: z, lambda t, x: x, jnp.zeros((2, 1)), jg.fixed_samples(jnp.zeros((2, 1))))
    bad = jg.games.gan(lambda p, z: z + p, lambda t, x: t * x, jg.fixed_samples(jnp.zeros((2, 2))),
                       jg.fixed_samples(jnp.zeros((2, 2))))
    with pytest.raises(ValueError, match="scalar logit"):
        jg.simultaneous_gradient(bad)(jg.Joint(jnp.zeros(2), jnp.zeros(2)))


# --------------------------------------------------------------------------- fresh instance noise


def _fresh_noise_setup():
    base = jg.games.dirac("standard")
    sigma = 0.8
    return (R.fresh_instance_noise(base, sigma), R.instance_noise(base, sigma, order=30),
            jg.Joint(jnp.asarray(0.7), jnp.asarray(-0.4)))


def test_fresh_noise_runs_are_bitwise_repeatable_in_the_key():
    noisy, _, w = _fresh_noise_setup()
    tx = optax.sgd(0.1)
    a = jg.rollout(noisy, tx, w, 30, key=jax.random.PRNGKey(3))
    b = jg.rollout(noisy, tx, w, 30, key=jax.random.PRNGKey(3))
    c = jg.rollout(noisy, tx, w, 30, key=jax.random.PRNGKey(4))
    assert float(a.final.phi) == float(b.final.phi) and float(a.final.theta) == float(b.final.theta)
    assert float(a.final.phi) != float(c.final.phi)
    grid = {"lr": jnp.array([0.05, 0.1])}
    s1 = jg.sweep(noisy, lambda h: optax.sgd(h["lr"]), w, grid, 30, key=jax.random.PRNGKey(3))
    s2 = jg.sweep(noisy, lambda h: optax.sgd(h["lr"]), w, grid, 30, key=jax.random.PRNGKey(3))
    np.testing.assert_array_equal(np.asarray(s1.final.phi), np.asarray(s2.final.phi))
    np.testing.assert_allclose(float(s1.final.phi[1]), float(a.final.phi), rtol=1e-12)  # the same draws per grid point


def test_fresh_noise_is_unbiased_and_its_mean_run_approaches_the_exact_run():
    noisy, exact, w = _fresh_noise_setup()
    keys = jax.random.split(jax.random.PRNGKey(1), 4000)
    # the field at a point: the mean over draws is the exact (Gauss-Hermite) expectation,
    # within 4 standard errors of the mean
    xis = jax.vmap(lambda k: jg.simultaneous_gradient(noisy(k))(w))(keys)
    ex = jg.simultaneous_gradient(exact)(w)
    for player in ("phi", "theta"):
        v = np.asarray(getattr(xis, player))
        assert abs(v.mean() - float(getattr(ex, player))) <= 4 * v.std() / np.sqrt(v.size)
    # 40 SimGD steps at lr 0.1: the mean final point is the exact-expectation run's, within
    # 4 standard errors (the nonlinearity's bias is below that here)
    tx = optax.sgd(0.1)
    finals = jax.vmap(lambda k: jg.rollout(noisy, tx, w, 40, key=k).final)(keys)
    exact_final = jg.rollout(exact, tx, w, 40).final
    for player in ("phi", "theta"):
        v = np.asarray(getattr(finals, player))
        assert abs(v.mean() - float(getattr(exact_final, player))) <= 4 * v.std() / np.sqrt(v.size)
        assert abs(float(getattr(exact_final, player)) - float(getattr(w, player))) > 0.4  # the runs travel


def test_fresh_noise_rejects_bad_arguments():
    with pytest.raises(ValueError, match="samples"):
        R.fresh_instance_noise(jg.games.dirac("standard"), 1.0, samples=0)
    with pytest.raises(ValueError, match="sigma"):
        R.fresh_instance_noise(jg.games.dirac("standard"), -1.0)
    with pytest.raises(TypeError, match="stochastic game"):
        jg.sweep(jg.games.dirac("standard"), lambda h: optax.sgd(h["lr"]), jg.Joint(1.0, 1.0),
                 {"lr": jnp.array([0.1])}, 5, key=jax.random.PRNGKey(0))
