"""transforms/_per_player: per-player optimisers and TTUR (Heusel et al. 2017)."""

import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxgan as jg


def test_per_player_and_ttur():
    game = jg.games.linear_gaussian(jnp.array([1.0, 0.5]), 1.0)
    m = jg.update_jacobian(game, jg.transforms.ttur(0.1, 0.5), game.equilibrium)
    a = np.asarray(jg.jacobian(game, game.equilibrium))
    scale = np.diag([0.1, 0.1, 0.5, 0.5])
    np.testing.assert_allclose(m, np.eye(4) + scale @ a, atol=1e-13)
    # Adam for D, SGD for G, after a correction, in one chain; runs and keeps both states
    tx = optax.chain(jg.transforms.jare(1.0), jg.transforms.per_player(optax.sgd(0.05), optax.adam(0.01)))
    w0 = jg.Joint(game.equilibrium.phi + 0.2, game.equilibrium.theta + 0.1)
    out = jg.rollout(game, tx, w0, 3000)
    assert bool(out.finite)
    assert float(jnp.linalg.norm(out.final.phi - game.equilibrium.phi)) < 0.05
    with pytest.raises(TypeError, match="`discriminator` must be an optax.GradientTransformation"):
        jg.transforms.per_player(optax.sgd(0.1), "adam")
