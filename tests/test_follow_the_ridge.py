"""transforms/_follow_the_ridge: Follow-the-Ridge (Wang, Zhang & Ba 2020)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from closed_forms import player_block, random_schur_quadratic, sorted_eigs

import jaxgan as jg


@pytest.mark.parametrize("seed,n,m", [(0, 3, 2), (4, 2, 3)])
def test_follow_the_ridge_spectrum(seed, n, m):
    A, B, C = random_schur_quadratic(seed, n, m)
    game = jg.games.quadratic(A, B, C)
    eta_x, eta_y = 0.02, 0.05
    tx = optax.chain(jg.transforms.follow_the_ridge(eta_x / eta_y), jg.transforms.ttur(eta_x, eta_y))
    lam = np.linalg.eigvals(player_block(jg.update_jacobian(game, tx, game.equilibrium), game.equilibrium))
    S = A + B @ np.linalg.solve(C, B.T)  # Schur complement of f's Hessian (H_yy = -C)
    expected = np.concatenate([1 - eta_x * np.linalg.eigvals(S), 1 + eta_y * np.linalg.eigvals(-C)])
    np.testing.assert_allclose(sorted_eigs(lam), sorted_eigs(expected), atol=1e-9)


def test_ridge_examples_gda_versus_follow_the_ridge():
    games = jg.games.ridge_examples()
    eta = 0.05
    ftr = optax.chain(jg.transforms.follow_the_ridge(), optax.sgd(eta))
    # g1, g3: strict local minimax, GDA unstable, FR stable with the predicted radius
    for name, schur in (("g1", 2.0), ("g3", 8.0)):
        g = games[name]
        assert float(jg.spectral_radius(g, optax.sgd(eta), g.equilibrium)) > 1
        np.testing.assert_allclose(
            jg.spectral_radius(g, ftr, g.equilibrium), max(abs(1 - eta * schur), abs(1 - eta * 2.0)), rtol=1e-9
        )
        w0 = jg.Joint(jnp.asarray(0.3), jnp.asarray(-0.2))
        run = jax.jit(lambda w, g=g: jg.rollout(g, ftr, w, 2000).final)(w0)
        gda = jax.jit(lambda w, g=g: jg.rollout(g, optax.sgd(eta), w, 2000).final)(w0)
        assert max(abs(float(run.phi)), abs(float(run.theta))) < 1e-8
        assert max(abs(float(gda.phi)), abs(float(gda.theta))) > 1.0
    # g2: not a local minimax; GDA converges to it, FR is repelled
    g = games["g2"]
    assert float(jg.spectral_radius(g, optax.sgd(eta), g.equilibrium)) < 1
    np.testing.assert_allclose(jg.spectral_radius(g, ftr, g.equilibrium), 1 + eta * 2.0, rtol=1e-9)


def test_follow_the_ridge_and_best_response_converge_where_simgd_spirals_out():
    game = jg.games.quadratic(-2.0, 2.0, 1.0)  # Schur -2 + 4 = 2 > 0; trace of A = 1 > 0
    w0 = jg.Joint(jnp.asarray(0.5), jnp.asarray(0.5))
    eta = 0.1
    algos = {
        "simgd": optax.sgd(eta),
        "ftr": optax.chain(jg.transforms.follow_the_ridge(), optax.sgd(eta)),
        "br": jg.transforms.best_response(optax.sgd(eta)),
        "br-total": jg.transforms.best_response(optax.sgd(eta), step="total"),
    }
    dist = {k: float(jnp.hypot(*jax.jit(lambda w, t=t: jg.rollout(game, t, w, 400).final)(w0))) for k, t in algos.items()}
    assert dist["simgd"] > 1.0
    assert max(dist["ftr"], dist["br"], dist["br-total"]) < 1e-6
