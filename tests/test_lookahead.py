"""transforms/_lookahead: Lookahead (Zhang et al. 2019; Chavdarova et al. 2021)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxgan as jg


def test_optax_optimistic_gradient_and_lookahead_compose_with_games():
    game = jg.games.bilinear(1.0)
    w0 = jg.Joint(jnp.array(1.0), jnp.array(1.0))
    # optimistic GD: w+ = w - eta (2 xi_t - xi_{t-1}); stateful, its update Jacobian includes the state
    ogd = optax.optimistic_gradient_descent(0.2)
    out = jg.rollout(game, ogd, w0, 2000)
    assert float(jnp.hypot(out.final.phi, out.final.theta)) < 1e-6
    assert float(jg.spectral_radius(game, ogd, game.equilibrium)) < 1
    # lookahead over SimGD (slow weights pull the fast ones back)
    la = optax.lookahead(optax.sgd(0.2), sync_period=5, slow_step_size=0.5)
    params = optax.LookaheadParams.init_synced(w0)
    state = la.init(params)
    xi = jg.simultaneous_gradient(game)

    def body(_, carry):
        params, state = carry
        u, state = la.update(xi(params.fast), state, params)
        return optax.apply_updates(params, u), state

    params, state = jax.jit(lambda c: jax.lax.fori_loop(0, 3000, body, c))((params, state))
    assert float(jnp.hypot(params.slow.phi, params.slow.theta)) < 1e-6


def test_lookahead_period_map_closed_form():
    # on a bilinear game SimGD is M = I + lr A exactly; k fast steps then the slow step:
    # w_k = ((1 - alpha) I + alpha M^k) w_0
    game = jg.games.bilinear(1.0)
    lr, k, alpha = 0.2, 3, 0.4
    w0 = jg.Joint(jnp.asarray(1.0), jnp.asarray(-0.5))
    out = jg.rollout(game, jg.lookahead(optax.sgd(lr), sync_period=k, alpha=alpha), w0, 4 * k, record_every=k)
    A = np.array([[0.0, -1.0], [1.0, 0.0]])
    period = (1 - alpha) * np.eye(2) + alpha * np.linalg.matrix_power(np.eye(2) + lr * A, k)
    expected = [np.linalg.matrix_power(period, j) @ np.array([1.0, -0.5]) for j in range(5)]
    np.testing.assert_allclose(np.stack([out.trajectory.phi, out.trajectory.theta], 1), np.stack(expected), rtol=1e-13)
