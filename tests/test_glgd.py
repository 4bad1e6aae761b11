"""transforms/_glgd: GLGD (the generator on the partial gradient, the discriminator at its best
response) on the likelihood-ratio game of mode collapse, against its identities and closed forms."""

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxgan as jg

P = jnp.array([0.4, 0.25, 0.2, 0.1, 0.05])
R0 = jnp.array([2.0, 0.5, 0.1, 1.5, 3.0])


def test_glgd_identities():
    game = jg.games.likelihood_ratio(P)
    R = game.start(R0).phi
    np.testing.assert_allclose(P @ R, 1.0, rtol=1e-14)
    f_star = game.best_response(R)
    np.testing.assert_allclose(jax.grad(game.loss_d, argnums=1)(R, f_star), 0.0, atol=1e-14)
    grad_g = jax.grad(game.loss_g)(R, f_star)
    grad_c = jax.grad(game.cost)(R)
    np.testing.assert_allclose(grad_g, P * jnp.log1p(R), rtol=1e-13)
    np.testing.assert_allclose(grad_c, P * (jnp.log1p(R) + 1), rtol=1e-13)
    np.testing.assert_allclose(grad_c - grad_g, P, rtol=1e-12)  # equal only after P_o
    np.testing.assert_allclose(game.project(grad_g), game.project(grad_c), atol=1e-14)
    np.testing.assert_allclose(P @ game.project(grad_g), 0.0, atol=1e-15)
    # C = 2 KL(pbar || p_r) + 2 log 2, KL(p_R || p_r) = +E[R log R] >= 0
    np.testing.assert_allclose(game.cost(R), 2 * game.mixture_kl(R) + 2 * np.log(2), rtol=1e-13)
    np.testing.assert_allclose(game.kl(R), P @ (R * jnp.log(R)), rtol=1e-13)
    assert float(game.kl(R)) > 0
    # KL(p1 || p2) - 2 JSD(p1 || p2) = 2 KL(pbar || p2) (the notes' "useful relationship" drops the 2)
    np.testing.assert_allclose(game.kl(R) - 2 * game.jsd(R), 2 * game.mixture_kl(R), rtol=1e-12)
    # Arjovsky & Bottou: P_o grad g(R, f*) = P_o grad (KL - 2 JSD)
    grad_ab = jax.grad(lambda r: game.kl(r) - 2 * game.jsd(r))(R)
    np.testing.assert_allclose(game.project(grad_g), game.project(grad_ab), atol=1e-13)
    np.testing.assert_allclose(game.cost(jnp.ones(5)), 2 * np.log(2), rtol=1e-15)


def test_glgd_is_gradient_descent_on_c_and_converges():
    game = jg.games.likelihood_ratio(P)
    alpha = 4.0
    tx = jg.transforms.glgd(optax.sgd(alpha), game.best_response, projection=game.project)
    w0 = game.start(R0)
    u, _ = tx.update(jg.simultaneous_gradient(game)(w0), tx.init(w0), w0, game=game)
    R1 = w0.phi + u.phi
    np.testing.assert_allclose(R1, w0.phi - alpha * game.project(jax.grad(game.cost)(w0.phi)), rtol=1e-13)
    np.testing.assert_allclose(w0.theta + u.theta, game.best_response(R1), rtol=1e-13)
    out = jax.jit(lambda w: jg.rollout(game, tx, w, 600, record_every=1))(w0)
    R = np.asarray(out.trajectory.phi)
    np.testing.assert_allclose(R @ np.asarray(P), 1.0, rtol=1e-13)  # E[R] = 1 throughout
    assert R.min() > 0
    costs = np.asarray(jax.vmap(game.cost)(out.trajectory.phi))
    assert np.all(np.diff(costs) <= 1e-15)  # C decreases monotonically
    np.testing.assert_allclose(out.final.phi, 1.0, atol=1e-10)
    np.testing.assert_allclose(game.cost(out.final.phi), 2 * np.log(2), rtol=1e-12)
    np.testing.assert_allclose(out.final.theta, 0.5, atol=1e-10)


def test_alternating_minimisation_collapses_and_cycles():
    game = jg.games.likelihood_ratio(P)
    hist = game.alternating_minimisation(R0, 6)
    R_prev = np.asarray(hist.R[:-1])
    for k in range(6):
        Rk = np.asarray(hist.R[k + 1])
        assert np.count_nonzero(Rk) == 1  # all the mass on one support point
        i = int(hist.mode[k])
        assert i == int(np.argmin(R_prev[k]))  # where R was smallest (f largest)
        np.testing.assert_allclose(Rk[i], 1 / float(P[i]), rtol=1e-14)
        np.testing.assert_allclose(hist.cost[k + 1], (P[i] + 1) * np.log1p(1 / P[i]), rtol=1e-13)
    assert len(set(np.asarray(hist.mode).tolist())) > 1  # it moves on: no convergence
    assert float(jnp.min(hist.cost[1:])) > 2 * np.log(2) + 0.1
