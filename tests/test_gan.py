"""Seed 000 (Nie & Patel 2019) Lemma 3 to Theorem 5 on a small neural GAN built at an exact
equilibrium: the generator reproduces the data (the data are its outputs on fixed latents),
the discriminator's output layer is zero, so D is identically zero."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

import jaxgan as jg


def _mlp(params, x):
    h = jnp.tanh(params["W1"] @ x + params["b1"])
    return params["W2"] @ h + params["b2"]


def neural_gan_at_equilibrium(loss="standard", seed=0, n_latent=6):
    k = jax.random.split(jax.random.PRNGKey(seed), 6)
    phi = {"W1": jax.random.normal(k[0], (4, 2)), "b1": 0.1 * jax.random.normal(k[1], (4,)),
           "W2": jax.random.normal(k[2], (2, 4)), "b2": jnp.zeros(2)}
    theta = {"W1": jax.random.normal(k[3], (5, 2)), "b1": 0.1 * jax.random.normal(k[4], (5,)),
             "W2": jnp.zeros((1, 5)), "b2": jnp.zeros(1)}  # output layer zero: D = 0 everywhere
    z = jax.random.normal(k[5], (n_latent, 2))
    data = jax.vmap(lambda zi: _mlp(phi, zi))(z)  # the generator interpolates the data exactly
    game = jg.games.gan(
        lambda p, zi: _mlp(p, zi),
        lambda t, x: _mlp(t, x)[0],
        jg.fixed_samples(data),
        jg.fixed_samples(z),
        loss=loss,
        equilibrium=jg.Joint(phi, theta),
        name="mlp-gan",
    )
    return game


@pytest.mark.parametrize("loss", jg.games.LOSSES)
def test_lemma3_blocks_match_their_formulas(loss):
    game = neural_gan_at_equilibrium(loss)
    w = game.equilibrium
    xi = jg.simultaneous_gradient(game)(w)
    np.testing.assert_allclose(ravel_pytree(xi)[0], 0.0, atol=1e-12)  # an exact equilibrium
    s = jg.spectrum(game, w)
    assert bool(s.block_structured)
    P, Q = jg.games.lemma3_blocks(game, w)
    n, m = ravel_pytree(w.phi)[0].size, ravel_pytree(w.theta)[0].size
    assert P.shape == (n, m) == (22, 21) and Q.shape == (m, m)  # P is n x m (Nie & Patel's Lemma 3, corrected)
    np.testing.assert_allclose(s.P, P, atol=1e-10)
    np.testing.assert_allclose(s.Q, Q, atol=1e-10)
    a = jg.jacobian(game, w)
    np.testing.assert_allclose(a, np.block([[np.zeros((n, n)), -P], [P.T, Q]]), atol=1e-10)
    assert np.abs(P).max() > 0.01 and (loss == "wgan" or np.abs(Q).max() > 0.01)


def test_theorem4_relation_for_every_eigenpair():
    game = neural_gan_at_equilibrium("standard")
    s = jg.spectrum(game, game.equilibrium)
    lam, a1, a2 = np.asarray(s.eigenvalues), np.asarray(s.a1), np.asarray(s.a2)
    ok = ~np.isnan(a1)
    assert ok.sum() >= 21  # every eigenvector with a discriminator part
    scale = np.max(np.abs(lam)) ** 2
    np.testing.assert_allclose(lam[ok] ** 2 - a1[ok] * lam[ok] + a2[ok], 0.0, atol=1e-9 * scale)
    # a1, a2 are convex combinations of the eigenvalues of Q and P^T P
    P, Q = np.asarray(s.P), np.asarray(s.Q)
    q_eig, pp_eig = np.linalg.eigvalsh(Q), np.linalg.eigvalsh(P.T @ P)
    assert np.all((a1[ok] >= q_eig.min() - 1e-9) & (a1[ok] <= q_eig.max() + 1e-9))
    assert np.all((a2[ok] >= pp_eig.min() - 1e-9) & (a2[ok] <= pp_eig.max() + 1e-9))
    # eigenvectors with no discriminator part have lambda = 0 (P^T x = 0)
    np.testing.assert_allclose(lam[~ok], 0.0, atol=1e-8)


def test_theorem5_jare_asymptotics():
    """As gamma grows, JARE's eigenvalues approach -gamma times the eigenvalues of P^T P,
    each twice (and the zero eigenvalues of P P^T beyond P^T P's rank). Each limit eigenvalue
    is double, so the error falls like gamma^(-1/2): measured 0.26, 0.019, 0.0019 (relative)
    at gamma = 1e2, 1e4, 1e6."""
    game = neural_gan_at_equilibrium("standard")
    w = game.equilibrium
    P, Q = jg.games.lemma3_blocks(game, w)
    P = np.asarray(P)
    limit = np.sort(np.concatenate([-np.linalg.eigvalsh(P @ P.T), -np.linalg.eigvalsh(P.T @ P)]))
    np.testing.assert_allclose(jg.games.theorem5_eigenvalues(P, 1.0), limit, atol=1e-12)
    gammas = jnp.array([1.0, 1e2, 1e4, 1e6])
    lams = jax.vmap(lambda g: jg.eigenvalues(game, w, transform=jg.transforms.jare(g)) / g)(gammas)  # one compilation
    errors = []
    for lam in np.asarray(lams):
        err = np.max(np.abs(np.sort(lam.real) - limit)) + np.max(np.abs(lam.imag))
        errors.append(err / np.abs(limit).max())
    assert errors[0] > errors[1] > errors[2] > errors[3]
    assert errors[3] < 5e-3 and errors[2] / errors[3] > 5  # ~ sqrt(100) per factor 100 in gamma
