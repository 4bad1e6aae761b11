"""Best-response-manifold descent, Follow-the-Ridge and the manifold tools (Ehab 2023;
Wang, Zhang & Ba 2020), against closed forms."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from closed_forms import player_block, random_schur_quadratic, sorted_eigs

import jaxgan as jg

# ----------------------------------------------------------------- quadratic games: exact rates


def test_one_dimensional_rates():
    """Total step: 1 - eta (a + b^2/c); Riemannian: 1 - eta (a + b^2/c) / (1 + b^2/c^2)."""
    params = np.array([(a, b, c, eta) for a, b, c in [(1.0, 2.0, 4.0), (-0.5, 1.5, 1.0), (0.0, 1.0, 0.5)] for eta in (0.05, 0.3)])

    @jax.jit
    @jax.vmap
    def radii(p):
        a, b, c, eta = p
        game = jg.zero_sum(lambda x, y: a * x * x / 2 + b * x * y - c * y * y / 2)
        eq = jg.Joint(jnp.zeros(()), jnp.zeros(()))
        return jnp.stack([
            jg.spectral_radius(game, jg.transforms.best_response(optax.sgd(eta), step="total"), eq),
            jg.spectral_radius(game, jg.transforms.best_response(optax.sgd(eta)), eq),
            jg.spectral_radius(game, jg.transforms.best_response(optax.sgd(eta), projection="dense"), eq),
        ])

    got = np.asarray(radii(jnp.asarray(params)))
    a, b, c, eta = params.T
    s = a + b**2 / c
    np.testing.assert_allclose(got[:, 0], abs(1 - eta * s), rtol=1e-10)
    np.testing.assert_allclose(got[:, 1], abs(1 - eta * s / (1 + b**2 / c**2)), rtol=1e-10)
    np.testing.assert_allclose(got[:, 2], got[:, 1], rtol=1e-10)


@pytest.mark.parametrize("seed,n,m", [(0, 3, 2), (1, 2, 4)])
def test_multidimensional_rates(seed, n, m):
    A, B, C = random_schur_quadratic(seed, n, m)
    game = jg.games.quadratic(A, B, C)
    eta = 0.05
    S = A + B @ np.linalg.solve(C, B.T)
    G = np.linalg.solve(np.eye(n) + B @ np.linalg.solve(C, np.linalg.solve(C, B.T)), S)
    for step, core in (("total", S), ("riemannian", G)):
        tx = jg.transforms.best_response(optax.sgd(eta), step=step)
        lam = np.linalg.eigvals(player_block(jg.update_jacobian(game, tx, game.equilibrium), game.equilibrium))
        expected = np.concatenate([1 - eta * np.linalg.eigvals(core), np.zeros(m)])
        np.testing.assert_allclose(sorted_eigs(lam), sorted_eigs(expected), atol=1e-9)


def test_runs_follow_the_rate_and_stay_on_the_manifold():
    game = jg.games.quadratic(1.0, 2.0, 4.0)
    eta, rho = 0.1, 1 - 0.1 * 2 / 1.25
    out = jax.jit(lambda w: jg.rollout(game, jg.transforms.best_response(optax.sgd(eta)), w, 20, record_every=1))(
        jg.Joint(jnp.asarray(1.0), jnp.asarray(3.0))
    )
    x, y = np.asarray(out.trajectory.phi), np.asarray(out.trajectory.theta)
    np.testing.assert_allclose(y[1:], x[1:] / 2, rtol=1e-12)  # on the manifold y = b x / c
    np.testing.assert_allclose(x[2:] / x[1:-1], rho, rtol=1e-10)
    assert int(out.state.stats.failures) == 0


# ----------------------------------------------------------------- the projection


# ----------------------------------------------------------------- retraction and failures


def test_bad_arguments():
    with pytest.raises(ValueError, match="step"):
        jg.transforms.best_response(optax.sgd(0.1), step="newton")
    with pytest.raises(ValueError, match="retraction"):
        jg.transforms.best_response(optax.sgd(0.1), retraction="exact")
    with pytest.raises(TypeError, match="inner"):
        jg.transforms.best_response(0.1)
    with pytest.raises(ValueError, match="projection"):
        jg.transforms.best_response(optax.sgd(0.1), projection="qr")
    with pytest.raises(ValueError, match="generator_projection"):
        jg.transforms.best_response(optax.sgd(0.1), generator_projection=lambda d: d)
    with pytest.raises(TypeError, match="`g`"):
        jg.manifold.tangent_projection(jg.games.bilinear(1.0), jg.Joint(0.0, 0.0), (1.0, 1.0))
    with pytest.raises(ValueError, match="method"):
        jg.manifold.tangent_projection(jg.games.bilinear(1.0), jg.Joint(0.0, 0.0), jg.Joint(1.0, 1.0), method="qr")


# ----------------------------------------------------------------- Follow-the-Ridge


# ----------------------------------------------------------------- Ehab 2023: the 1-D WGAN


def _local_minima(fn, grid):
    v = np.asarray(jax.vmap(fn)(grid))
    i = np.where((v[1:-1] < v[:-2]) & (v[1:-1] < v[2:]))[0] + 1
    return np.asarray(grid)[i]


@pytest.mark.parametrize("lam", [0.5, 2.0])
def test_wgan_gp_branches(lam):
    game = jg.games.wgan_1d(lam)
    grid = jnp.linspace(-4.0, 4.0, 80001)
    for tg in [-5 * lam, -1.5 * lam, -0.3 * lam, 0.7 * lam, 1.99 * lam, 2.01 * lam, 3 * lam]:
        minima = _local_minima(lambda td: game.loss_d(jnp.asarray(tg), td), grid)
        up, low, up_ok, low_ok = jg.games.wgan_1d_best_responses(tg, lam)
        expected = [float(x) for x, ok in ((low, low_ok), (up, up_ok)) if ok and abs(float(x)) <= 4]
        assert (len(expected) == 2) == (abs(tg) < 2 * lam)
        np.testing.assert_allclose(sorted(minima), sorted(expected), atol=2e-4)


@pytest.mark.parametrize("step", ["total", "riemannian"])
@pytest.mark.parametrize("lam", [0.5, 2.0])
def test_wgan_gp_fixed_points_are_not_nash(step, lam):
    game = jg.games.wgan_1d(lam)
    upper_fp, lower_fp = jg.games.wgan_1d_fixed_points(lam)
    run = jax.jit(lambda w: jg.rollout(game, jg.transforms.best_response(optax.sgd(0.2 * lam), step=step), w, 400).final)
    for start, fp in ((jg.Joint(0.2, 1.1), upper_fp), (jg.Joint(0.2, -0.9), lower_fp)):
        final = run(jax.tree.map(jnp.asarray, start))
        np.testing.assert_allclose([final.phi, final.theta], [fp.phi, fp.theta], atol=1e-8)
        xi = jg.simultaneous_gradient(game)(final)
        np.testing.assert_allclose(xi.theta, 0.0, atol=1e-9)  # the critic is at a best response
        np.testing.assert_allclose(abs(float(xi.phi)), 0.5, rtol=1e-8)  # but the generator's gradient is not 0


def test_relu_penalty_recovers_the_wgan_critic_and_the_equilibrium():
    lam = 1.5
    game = jg.games.wgan_1d(lam, "relu")
    grid = jnp.linspace(-3.0, 3.0, 60001)
    for tg in [-1.2, -0.4, 0.3, 1.4]:  # W_1 = |theta_G| < lam
        v = jax.vmap(lambda td: game.loss_d(jnp.asarray(tg), td))(grid)
        np.testing.assert_allclose(grid[int(jnp.argmin(v))], np.sign(tg), atol=1e-9)
    for tg in [-2.0, 1.8]:  # lam < W_1: unbounded below, the minimum runs to the grid's edge
        v = jax.vmap(lambda td: game.loss_d(jnp.asarray(tg), td))(grid)
        assert abs(float(grid[int(jnp.argmin(v))])) == 3.0
    xi = jg.simultaneous_gradient(game)(game.equilibrium)
    assert float(xi.phi) == 0.0 and float(xi.theta) == 0.0
    # the generator against the WGAN critic reaches the true equilibrium (within one step)
    eta = 0.01
    tx = jg.transforms.glgd(optax.sgd(eta), jnp.sign, strict=False)
    final = jax.jit(lambda w: jg.rollout(game, tx, w, 300).final)(jg.Joint(jnp.asarray(1.0), jnp.asarray(1.0)))
    assert abs(float(final.phi)) <= eta + 1e-12
    # WGAN-GP with its best response instead stops at -lam on the upper branch
    gp = jg.games.wgan_1d(lam)
    final_gp = jax.jit(lambda w: jg.rollout(gp, jg.transforms.best_response(optax.sgd(0.3), step="total"), w, 300).final)(
        jg.Joint(jnp.asarray(1.0), jnp.asarray(1.0))
    )
    np.testing.assert_allclose(final_gp.phi, -lam, atol=1e-8)
