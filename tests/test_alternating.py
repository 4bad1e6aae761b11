"""Alternating GD on the Dirac-GAN: Mescheder et al. 2018 Lemma 2.5 (corrected)."""

import jax.numpy as jnp
import numpy as np
import optax
import pytest
from closed_forms import F_PRIME_0

import jaxgan as jg


def lemma_2_5(a):
    c = 1 - a**2 / 2
    r = np.sqrt(complex(c**2 - 1))
    return np.sort_complex(np.array([c + r, c - r]))


@pytest.mark.parametrize("loss", jg.games.LOSSES)
@pytest.mark.parametrize("order", ["d_first", "g_first"])
@pytest.mark.parametrize("h, n_g, n_d", [(0.5, 1, 1), (1.0, 1, 3), (2.0, 2, 1), (3.0, 1, 1), (5.0, 2, 3)])
def test_lemma_2_5_eigenvalues(loss, order, h, n_g, n_d):
    game = jg.games.dirac(loss)
    tx = jg.transforms.alternating(optax.sgd(h), d_steps=n_d, g_steps=n_g, order=order)
    m = np.asarray(jg.update_jacobian(game, tx, game.equilibrium))
    a = np.sqrt(n_g * n_d) * h * F_PRIME_0[loss]
    lam = np.sort_complex(np.linalg.eigvals(m))
    np.testing.assert_allclose(lam, lemma_2_5(a), atol=1e-8)
    np.testing.assert_allclose(np.linalg.det(m), 1.0, atol=1e-10)  # area preserving
    modulus = np.abs(lam)
    if a <= 2:  # both on the unit circle: no convergence, no divergence
        np.testing.assert_allclose(modulus, 1.0, atol=1e-7)
    else:  # real, one outside the unit circle
        assert np.all(np.abs(lam.imag) < 1e-12) and modulus.max() > 1.0 + 1e-6


def test_alternating_round_is_the_sequential_update():
    game = jg.games.dirac("standard")
    fp = jg.games.loss_f_prime("standard")
    h = 0.7
    w = jg.Joint(jnp.array(0.4), jnp.array(-0.9))
    tx = jg.transforms.alternating(optax.sgd(h), d_steps=2, g_steps=1, order="d_first")
    u, _ = tx.update(jg.simultaneous_gradient(game)(w), tx.init(w), w, game=game)
    got = optax.apply_updates(w, u)
    phi, psi = 0.4, -0.9
    for _ in range(2):  # discriminator ascends f(psi phi)
        psi = psi + h * float(fp(jnp.array(psi * phi))) * phi
    phi = phi - h * float(fp(jnp.array(psi * phi))) * psi
    np.testing.assert_allclose([got.phi, got.theta], [phi, psi], rtol=1e-14)


def test_per_player_optimisers_and_states():
    game = jg.games.dirac("wgan")
    tx = jg.transforms.alternating(jg.Joint(optax.sgd(0.1), optax.sgd(0.2, momentum=0.5)))
    w = jg.Joint(jnp.array(1.0), jnp.array(0.0))
    state = tx.init(w)
    assert isinstance(state, jg.transforms.AlternatingState)
    out = jg.rollout(game, tx, w, 20)
    assert bool(out.finite)
    assert float(jnp.abs(out.state.d[0].trace)) > 0


def test_alternating_errors():
    with pytest.raises(ValueError, match="`d_steps` must be a positive int"):
        jg.transforms.alternating(optax.sgd(0.1), d_steps=0)
    with pytest.raises(ValueError, match="unknown `order`"):
        jg.transforms.alternating(optax.sgd(0.1), order="both")
    with pytest.raises(TypeError, match="`inner` must be an optax.GradientTransformation"):
        jg.transforms.alternating(0.1)
    with pytest.raises(TypeError, match=r"`inner.theta` must be"):
        jg.transforms.alternating(jg.Joint(optax.sgd(0.1), None))
