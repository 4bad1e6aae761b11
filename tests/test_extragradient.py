"""transforms/_extragradient: extragradient (Korpelevich 1976; Gidel et al. 2019)."""

import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxgan as jg


@pytest.mark.parametrize("eta", [0.1, 0.5, 0.9])
def test_extragradient_on_bilinear_games(eta):
    game = jg.games.bilinear(np.diag([1.0, 0.5]))
    rho = jg.spectral_radius(game, jg.extragradient(optax.sgd(eta)), game.equilibrium)
    radii = [np.sqrt(1 - (eta * s) ** 2 + (eta * s) ** 4) for s in (1.0, 0.5)]
    np.testing.assert_allclose(rho, max(radii), rtol=1e-12)
    assert float(jg.spectral_radius(game, optax.sgd(eta), game.equilibrium)) > 1  # SimGD diverges
    steps = 4000
    out = jg.rollout(game, jg.extragradient(optax.sgd(eta)), jg.Joint(jnp.ones(2), jnp.ones(2)), steps)
    dist = float(jnp.linalg.norm(jnp.concatenate([out.final.phi, out.final.theta])))
    assert dist < 10 * 2.0 * max(radii) ** steps  # contracts at the predicted rate (|w0| = 2)
