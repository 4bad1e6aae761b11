"""jaxgan._analysis.step_map: the whole state of a step, with its time. Constants of the map held fixed,
periodic steps analysed over their cycle, maps that never repeat refused."""

import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxgan as jg

XY = jg.zero_sum(lambda x, y: x * y)
W_STAR = jg.Joint(jnp.asarray(0.0), jnp.asarray(0.0))


@pytest.mark.parametrize("eta,k,alpha", [(0.5, 5, 0.5), (0.2, 3, 0.3), (1.0, 2, 0.8)])
def test_lookahead_minmax_radius_is_the_cycle_map_s_per_step_rate(eta, k, alpha):
    m = np.array([[1.0, -eta], [eta, 1.0]])  # SimGD on x*y
    cycle = (1 - alpha) * np.eye(2) + alpha * np.linalg.matrix_power(m, k)
    expected = np.max(np.abs(np.linalg.eigvals(cycle))) ** (1.0 / k)
    tx = jg.transforms.lookahead(optax.sgd(eta), sync_period=k, alpha=alpha)
    rho = float(jg.spectral_radius(XY, tx, W_STAR))
    np.testing.assert_allclose(rho, expected, rtol=1e-10)
    # the cycle's Jacobian is documented: its radius is rho^k
    j = jg.update_jacobian(XY, tx, W_STAR, cycle=True)
    np.testing.assert_allclose(np.max(np.abs(np.linalg.eigvals(np.asarray(j)))), expected**k, rtol=1e-10)
    # the measured rate of the runs, at the synchronisation points
    run = jg.rollout(XY, tx, jg.Joint(1.0, 0.5), 60 * k, record_every=k)
    norms = np.linalg.norm(np.stack([np.asarray(run.trajectory.phi), np.asarray(run.trajectory.theta)], -1), axis=-1)
    measured = (norms[-1] / norms[29]) ** (1.0 / (k * (len(norms) - 30)))
    np.testing.assert_allclose(measured, expected, rtol=2e-2)


def test_the_issue_s_lookahead_example_contracts_at_0_9167():
    tx = jg.transforms.lookahead(optax.sgd(0.5), sync_period=5, alpha=0.5)
    assert abs(float(jg.spectral_radius(XY, tx, W_STAR)) - 0.9167291363353403) < 1e-12


def test_stability_map_agrees_with_the_runs_for_lookahead():
    m = jg.stability_map(XY, lambda h: jg.transforms.lookahead(optax.sgd(h["lr"]), sync_period=5, alpha=0.5),
                         {"lr": jnp.asarray([0.1, 0.5, 1.0, 2.5])}, w_star=W_STAR, steps=400)
    agreeing, compared = m.agreement()
    assert compared >= 3 and agreeing == compared, (m.radius, m.status)


def test_injected_hyperparameters_are_constants_of_the_map():
    plain = jg.transforms.alternating(optax.sgd(0.5, momentum=-0.5))
    injected = jg.transforms.alternating(optax.inject_hyperparams(optax.sgd)(learning_rate=0.5, momentum=-0.5))
    a, b = jg.spectral_radius(XY, plain, W_STAR), jg.spectral_radius(XY, injected, W_STAR)
    np.testing.assert_allclose(float(b), float(a), rtol=1e-12)
    np.testing.assert_allclose(float(a), 0.9625437031966955, rtol=1e-12)
    ja, jb = jg.update_jacobian(XY, plain, W_STAR), jg.update_jacobian(XY, injected, W_STAR)
    assert ja.shape == jb.shape == (4, 4)
    np.testing.assert_allclose(np.asarray(jb), np.asarray(ja), rtol=1e-12)


@pytest.mark.parametrize("tx,fragment", [
    (optax.adam(0.1), "state[0].count"),
    (optax.sgd(optax.exponential_decay(0.1, 10, 0.5)), "never repeats"),
    (jg.transforms.acgd(0.1), "bias correction"),
    (jg.transforms.gda_am(optax.sgd(0.5), window=2), "GDA-AM's mixing weights"),
], ids=["adam", "schedule", "acgd", "gda_am"])
def test_a_map_that_never_repeats_has_no_spectral_radius(tx, fragment):
    with pytest.raises(ValueError, match="never repeats") as err:
        jg.spectral_radius(XY, tx, W_STAR)
    assert fragment in str(err.value)


def test_a_step_not_differentiable_at_the_point_is_refused():
    # GDA-AM's mixing weights are undefined where the residuals vanish (at the equilibrium)
    with pytest.raises(ValueError, match="not differentiable"):
        jg.update_jacobian(XY, jg.transforms.gda_am(optax.sgd(0.5), window=2), W_STAR)


def test_acgd_from_a_state_with_positive_second_moments_is_exact_one_step():
    game = jg.games.bilinear(1.0)
    tx = jg.transforms.acgd(0.2)
    w = jg.Joint(jnp.asarray(0.0), jnp.asarray(0.0))
    state = tx.init(w)._replace(nu=jg.Joint(jnp.asarray(0.5), jnp.asarray(0.5)), count=jnp.asarray(3, jnp.int32))
    j = jg.update_jacobian(game, tx, w, state)
    assert bool(jnp.all(jnp.isfinite(j)))


def test_a_periodic_step_s_radius_compiles_once_and_takes_new_hyperparameters():
    import jax
    from test_cache import counting

    tx = jg.transforms.lookahead(optax.sgd(0.5), sync_period=5, alpha=0.5)
    jax.block_until_ready(jg.spectral_radius(XY, tx, W_STAR))
    with counting() as c:
        jax.block_until_ready(jg.spectral_radius(XY, tx, W_STAR))
    assert c == {"compiles": 0, "traces": 0}, c
    make = lambda h: jg.transforms.lookahead(optax.sgd(h["lr"]), sync_period=5, alpha=h["alpha"])  # noqa: E731
    jax.block_until_ready(jg.spectral_radius(XY, make, W_STAR, hyperparams={"lr": 0.5, "alpha": 0.5}))
    with counting() as c:
        rho = jg.spectral_radius(XY, make, W_STAR, hyperparams={"lr": 0.2, "alpha": 0.3})
    assert c == {"compiles": 0, "traces": 0}, c
    m = np.array([[1.0, -0.2], [0.2, 1.0]])
    expected = np.max(np.abs(np.linalg.eigvals(0.7 * np.eye(2) + 0.3 * np.linalg.matrix_power(m, 5)))) ** 0.2
    np.testing.assert_allclose(float(rho), expected, rtol=1e-10)
