"""transforms/_extragradient: extragradient (Korpelevich 1976; Gidel et al. 2019)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxgan as jg


@pytest.mark.parametrize("eta", [0.1, 0.5, 0.9])
def test_extragradient_on_bilinear_games(eta):
    game = jg.games.bilinear(np.diag([1.0, 0.5]))
    rho = jg.spectral_radius(game, jg.transforms.extragradient(optax.sgd(eta)), game.equilibrium)
    radii = [np.sqrt(1 - (eta * s) ** 2 + (eta * s) ** 4) for s in (1.0, 0.5)]
    np.testing.assert_allclose(rho, max(radii), rtol=1e-12)
    assert float(jg.spectral_radius(game, optax.sgd(eta), game.equilibrium)) > 1  # SimGD diverges
    steps = 4000
    out = jg.rollout(game, jg.transforms.extragradient(optax.sgd(eta)), jg.Joint(jnp.ones(2), jnp.ones(2)), steps)
    dist = float(jnp.linalg.norm(jnp.concatenate([out.final.phi, out.final.theta])))
    assert dist < 10 * 2.0 * max(radii) ** steps  # contracts at the predicted rate (|w0| = 2)


@pytest.mark.parametrize("eta, gamma", [(0.3, 0.5), (0.5, 0.1), (0.2, 1.0)])
def test_two_step_sizes_radius_on_the_bilinear_game(eta, gamma):
    # w_half = w - gamma J w, w+ = w - eta J w_half = ((1 - eta gamma) I - eta J) w on f = x y
    game = jg.games.bilinear(1.0)
    tx = jg.transforms.extragradient(optax.sgd(eta), extrapolation=gamma)
    want = np.sqrt((1 - eta * gamma) ** 2 + eta**2)
    assert float(jg.spectral_radius(game, tx, game.equilibrium)) == pytest.approx(want, abs=1e-12)
    m = np.asarray(jg.update_jacobian(game, tx, game.equilibrium))
    np.testing.assert_allclose(m, [[1 - eta * gamma, -eta], [eta, 1 - eta * gamma]], atol=1e-14)


def test_a_separate_extrapolation_optimiser_keeps_its_own_state_and_equals_the_reference_loop():
    game = jg.games.quadratic(1.0, 2.0, 0.5)
    xi = jg.simultaneous_gradient(game)
    tx = jg.transforms.extragradient(optax.adam(0.05), extrapolation=optax.sgd(0.2))
    w0 = jg.Joint(jnp.asarray(0.7), jnp.asarray(-0.4))
    run = jg.rollout(game, tx, w0, 5)
    assert isinstance(run.state, jg.transforms.ExtragradientState)
    # the reference: plain SGD look-ahead, Adam on the field at the look-ahead point
    adam = optax.adam(0.05)
    w, s = w0, adam.init(w0)
    for _ in range(5):
        g = xi(w)
        w_half = jax.tree.map(lambda a, b: a - 0.2 * b, w, g)
        u, s = adam.update(xi(w_half), s, w)
        w = optax.apply_updates(w, u)
    np.testing.assert_allclose([run.final.phi, run.final.theta], [w.phi, w.theta], rtol=1e-12)
    with pytest.raises(ValueError, match="extrapolation"):
        jg.transforms.extragradient(optax.sgd(0.1), extrapolation=-1.0)
