"""Closed forms of the catalogue games (the papers' corrected statements), float64, 1e-8."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from closed_forms import F_PRIME_0, sorted_eigs

import jaxgan as jg


@pytest.mark.parametrize("loss", jg.games.LOSSES)
def test_dirac_field_eigenvalues(loss):
    game = jg.games.dirac(loss)
    lam = np.asarray(jg.eigenvalues(game, game.equilibrium))
    np.testing.assert_allclose(lam, [-1j * F_PRIME_0[loss], 1j * F_PRIME_0[loss]], atol=1e-12)


@pytest.mark.parametrize("loss", jg.games.LOSSES)
def test_dirac_closed_form_gradient_equals_autodiff(loss):
    auto = jg.games.dirac(loss)
    closed = jg.games.dirac(loss, closed_form_grad=True)
    for phi, theta in [(0.3, -1.2), (-2.0, 0.7), (5.0, 3.0)]:
        w = jg.Joint(jnp.array(phi), jnp.array(theta))
        a = jg.simultaneous_gradient(auto)(w)
        b = jg.simultaneous_gradient(closed)(w)
        np.testing.assert_allclose([a.phi, a.theta], [b.phi, b.theta], rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(jg.jacobian(auto, w), jg.jacobian(closed, w), rtol=1e-12, atol=1e-15)


def _theorem1(mu, a=-0.5, q=-0.5):
    disc = np.sqrt(complex(q**2 * mu**2 - 4 * a**2))
    return [(q * mu + disc) / 2, (q * mu - disc) / 2]


@pytest.mark.parametrize(
    "v, sigma2",
    [
        ([1.0, 0.0], 1.0),  # complex and complex (mu = 1, 2)
        ([0.3, -0.4], 0.5),  # complex, complex
        ([2.0, 1.0], 1.5),  # mu = 1.5 complex, beta^2 = 6.5 real
        ([1.0, 2.0, 2.0], 0.25),  # 3-D: mu = 0.25 (twice), 9.25
        ([0.5, 0.5, -1.0], 3.0),  # 3-D: all real
    ],
)
def test_linear_gaussian_theorem1(v, sigma2):
    v = np.asarray(v)
    game = jg.games.linear_gaussian(jnp.asarray(v), sigma2)
    lam = jg.eigenvalues(game, game.equilibrium)
    d = v.size
    beta2 = sigma2 + v @ v
    expected = _theorem1(beta2) + sum((_theorem1(sigma2) for _ in range(d - 1)), [])
    np.testing.assert_allclose(sorted_eigs(lam), sorted_eigs(expected), atol=1e-8)


@pytest.mark.parametrize("loss", jg.games.LOSSES)
def test_linear_gaussian_general_jacobian(loss):
    # A = [[0, -a I], [a I, q (s2 I + v v^T)]], a = g2'(0), q = g1''(0) + g2''(0)
    v = jnp.array([1.0, -0.5])
    s2 = 0.8
    game = jg.games.linear_gaussian(v, s2, loss=loss)
    a, q = (-1.0, 0.0) if loss == "wgan" else (-0.5, -0.5)
    eye = np.eye(2)
    expected = np.block([[0 * eye, -a * eye], [a * eye, q * (s2 * eye + np.outer(v, v))]])
    np.testing.assert_allclose(jg.jacobian(game, game.equilibrium), expected, atol=1e-12)
    xi = jg.simultaneous_gradient(game)(game.equilibrium)
    np.testing.assert_allclose(jnp.concatenate([xi.phi, xi.theta]), 0.0, atol=1e-12)


def test_linear_gaussian_fixed_samples_option():
    key1, key2 = jax.random.split(jax.random.PRNGKey(0))
    v = jnp.array([1.0, 0.0])
    data = v[None, :] + jax.random.normal(key1, (512, 2))
    latents = jax.random.normal(key2, (512, 2))
    game = jg.games.linear_gaussian(v, 1.0, data=data, latents=latents)
    # full-batch empirical expectations: Q block is q * E_hat[x x^T] (exactly)
    a = jg.jacobian(game, jg.Joint(v, jnp.zeros(2)))
    np.testing.assert_allclose(a[2:, 2:], -0.5 * (data.T @ data) / 512 / 2 - 0.5 * ((v[None, :] + latents).T @ (v[None, :] + latents)) / 512 / 2, atol=1e-12)
    with pytest.raises(ValueError, match=r"`latents` must have shape \(N, 2\)"):
        jg.games.linear_gaussian(v, 1.0, latents=jnp.zeros((4, 3)))


def test_quadratic_and_bilinear():
    A = np.array([[2.0, 0.5], [0.5, 1.0]])
    B = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, -1.0]])
    C = np.diag([1.0, 2.0, 3.0])
    b, c = np.array([1.0, -1.0]), np.array([0.5, 0.0, 1.0])
    game = jg.games.quadratic(A, B, C, b, c)
    xi = jg.simultaneous_gradient(game)(game.equilibrium)
    np.testing.assert_allclose(np.concatenate([xi.phi, xi.theta]), 0.0, atol=1e-12)
    np.testing.assert_allclose(jg.jacobian(game, game.equilibrium), np.block([[-A, -B], [B.T, -C]]), atol=1e-14)
    game = jg.games.bilinear(np.array([[3.0, 0.0], [0.0, 1.0]]))
    np.testing.assert_allclose(np.asarray(jg.eigenvalues(game, game.equilibrium)).imag, [-3.0, -1.0, 1.0, 3.0], atol=1e-14)
    scalar = jg.games.quadratic(2.0, 1.0, 0.5)
    assert jnp.shape(scalar.equilibrium.phi) == ()


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: jg.games.dirac("hinge"), "unknown `loss` 'hinge'"),
        (lambda: jg.games.linear_gaussian(jnp.ones(2), 1.0, loss="lsgan"), "unknown `loss`"),
        (lambda: jg.games.linear_gaussian(jnp.ones((2, 2)), 1.0), r"`v` must have shape \(d,\)"),
        (lambda: jg.games.linear_gaussian(jnp.ones(2), -1.0), "`sigma2` must be > 0"),
        (lambda: jg.games.quadratic(np.eye(2), np.ones((2, 3)), np.eye(2)), r"`C` has shape \(2, 2\), expected \(3, 3\)"),
        (lambda: jg.games.quadratic(np.array([[1.0, 2.0], [0.0, 1.0]]), np.ones((2, 2)), np.eye(2)), "symmetric"),
    ],
)
def test_catalogue_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
