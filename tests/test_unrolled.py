"""``jg.transforms.unrolled`` (Metz et al. 2017) against a reference loop in plain ``jax.grad`` and
its closed-form step matrix."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxgan as jg

COMMON = {
    "unrolled": dict(
        make=lambda lr: optax.chain(jg.transforms.unrolled(2, 0.3), optax.sgd(lr)),
        injected=lambda lr: optax.chain(
            jg.transforms.unrolled(2, 0.3), optax.inject_hyperparams(optax.sgd)(learning_rate=lr)),
        # the Dirac-GAN's field is f = phi theta's: the unrolled Jacobian has k lr +- sqrt((k lr)^2 - 1)
        radius=lambda lr: max(abs(1 - lr * np.roots([1.0, -1.2, 1.0]))),
    ),
}

PROBE_CALLS = {
    "jaxgan.transforms._unrolled.unrolled": lambda **k: jg.transforms.unrolled(**{"steps": 2, "lr": 0.1, **k}),
}



def _unrolled_reference(game, w, k, lr):
    """The unrolled generator gradient written out with plain jax.grad."""
    def ahead(phi):
        theta = w.theta
        for _ in range(k):
            theta = theta - lr * jax.grad(game.loss_d, argnums=1)(phi, theta)
        return game.loss_g(phi, theta)
    return jg.Joint(jax.grad(ahead)(w.phi), jax.grad(game.loss_d, argnums=1)(w.phi, w.theta))


@pytest.mark.parametrize("k", [0, 1, 3])
def test_the_unrolled_field_against_a_reference_loop(k):
    game = jg.games.dirac("standard")
    w = jg.Joint(jnp.asarray(0.4), jnp.asarray(-0.3))
    tx = jg.transforms.unrolled(k, 0.5)
    xi = jg.simultaneous_gradient(game)(w)
    got, _ = tx.update(xi, tx.init(w), w, game=game)
    chex.assert_trees_all_close(got, _unrolled_reference(game, w, k, 0.5), rtol=1e-12)


def test_the_unrolled_step_jacobian_is_exact_on_the_bilinear_game():
    """On ``f = x y`` the unrolled field is ``(y + 2 k lr x, -x)``: SGD's step matrix is
    ``I - eta [[2 k lr, 1], [-1, 0]]``."""
    k, lr, eta = 3, 0.2, 0.1
    game = jg.zero_sum(lambda x, y: x * y, equilibrium=jg.Joint(0.0, 0.0))
    tx = optax.chain(jg.transforms.unrolled(k, lr), optax.sgd(eta))
    m = jg.update_jacobian(game, tx, game.equilibrium)
    np.testing.assert_allclose(m, np.eye(2) - eta * np.array([[2 * k * lr, 1.0], [-1.0, 0.0]]), rtol=1e-12)


def test_unrolled_refuses_n_players_and_a_modified_game():
    tx = jg.transforms.unrolled(2, 0.1)
    players = jg.n_player_game([lambda w: w[0] * w[1], lambda w: w[1] * w[2], lambda w: w[2] * w[0]])
    with pytest.raises(ValueError, match="unrolled is defined for two players"):
        jg.rollout(players, optax.chain(tx, optax.sgd(0.1)), jg.Players(1.0, 2.0, 3.0), 2)
    modified = jg.modified_game(jg.games.dirac("wgan"), 0.1)
    with pytest.raises(ValueError, match="field_from_losses=False"):
        jg.rollout(modified, optax.chain(tx, optax.sgd(0.1)), jg.Joint(1.0, 0.0), 2)

