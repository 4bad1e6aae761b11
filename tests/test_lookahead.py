"""transforms/_lookahead: Lookahead (Zhang et al. 2019; Chavdarova et al. 2021)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxgan as jg


def test_lookahead_period_map_closed_form():
    # on a bilinear game SimGD is M = I + lr A exactly; k fast steps then the slow step:
    # w_k = ((1 - alpha) I + alpha M^k) w_0
    game = jg.games.bilinear(1.0)
    lr, k, alpha = 0.2, 3, 0.4
    w0 = jg.Joint(jnp.asarray(1.0), jnp.asarray(-0.5))
    out = jg.rollout(game, jg.transforms.lookahead(optax.sgd(lr), sync_period=k, alpha=alpha), w0, 4 * k, record_every=k)
    A = np.array([[0.0, -1.0], [1.0, 0.0]])
    period = (1 - alpha) * np.eye(2) + alpha * np.linalg.matrix_power(np.eye(2) + lr * A, k)
    expected = [np.linalg.matrix_power(period, j) @ np.array([1.0, -0.5]) for j in range(5)]
    np.testing.assert_allclose(np.stack([out.trajectory.phi, out.trajectory.theta], 1), np.stack(expected), rtol=1e-13)


def test_lookahead_equals_a_reference_loop_with_plain_grad():
    """jg.transforms.lookahead on a nonlinear game against the method written out with ``jax.grad``: k fast
    SimGD steps, then ``slow <- slow + alpha (fast - slow)`` and ``fast <- slow``; 11 steps end
    mid-period (phase 2 of 3), so the fast weights and the counter are checked too."""
    game = jg.games.dirac("standard")
    lr, k, alpha, steps = 0.3, 3, 0.4, 11
    w0 = jg.Joint(jnp.asarray(0.9), jnp.asarray(-0.4))

    def xi(w):
        return (jax.grad(game.loss_g, argnums=0)(w[0], w[1]), jax.grad(game.loss_d, argnums=1)(w[0], w[1]))

    fast = slow = (w0.phi, w0.theta)
    for t in range(1, steps + 1):
        g = xi(fast)
        fast = tuple(f - lr * gi for f, gi in zip(fast, g))
        if t % k == 0:
            slow = tuple(s + alpha * (f - s) for s, f in zip(slow, fast))
            fast = slow
    out = jg.rollout(game, jg.transforms.lookahead(optax.sgd(lr), sync_period=k, alpha=alpha), w0, steps)
    np.testing.assert_allclose([out.final.phi, out.final.theta], fast, rtol=1e-13)
    np.testing.assert_allclose([out.state.slow.phi, out.state.slow.theta], slow, rtol=1e-13)


def test_the_spectral_radius_covers_the_period():
    """On the bilinear game the radius is rho((1 - alpha) I + alpha (I + lr A)^k)^(1/k)."""
    game = jg.games.bilinear(1.0)
    lr, k, alpha = 0.2, 3, 0.4
    A = np.array([[0.0, -1.0], [1.0, 0.0]])
    period = (1 - alpha) * np.eye(2) + alpha * np.linalg.matrix_power(np.eye(2) + lr * A, k)
    expected = np.max(np.abs(np.linalg.eigvals(period))) ** (1 / k)
    radius = jg.spectral_radius(game, jg.transforms.lookahead(optax.sgd(lr), sync_period=k, alpha=alpha), game.equilibrium)
    np.testing.assert_allclose(float(radius), expected, rtol=1e-12)

