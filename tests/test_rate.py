"""``jg.measured_rate``: the per-step contraction rate of runs, against geometric sequences and
against the spectral radius of a linear step."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxgan as jg


@pytest.mark.parametrize("every", [1, 5])
def test_geometric_sequences_give_their_ratio(every):
    k = np.arange(40)
    rhos = np.array([0.5, 0.9, 0.99, 1.0, 1.2])
    distance = rhos[:, None] ** (every * k[None, :])
    np.testing.assert_allclose(jg.measured_rate(distance, every=every), rhos, rtol=1e-12)
    assert jg.measured_rate(distance[1], every=every) == pytest.approx(0.9, rel=1e-12)


def test_the_rate_is_fitted_above_the_floor():
    # a geometric transient at 0.7 down to a floor of 1e-9 (an inner solver's tolerance): the rate
    # is that of the transient, not the average down to the plateau
    d = np.maximum(0.7 ** np.arange(200.0), 1e-9)
    assert jg.measured_rate(d) == pytest.approx(0.7, rel=1e-12)
    # a run that overflows: its growth up to the last finite record, inf without one
    assert jg.measured_rate(np.concatenate([[1.0, 10.0], [np.inf] * 5])) == pytest.approx(10.0, rel=1e-12)
    assert jg.measured_rate(np.array([1.0, np.inf])) == np.inf


def test_a_linear_step_contracts_at_its_spectral_radius():
    game = jg.games.quadratic(1.0, 0.5, 1.0)
    tx = optax.sgd(0.3)
    rho = float(jg.spectral_radius(game, tx, game.equilibrium))
    start = jax.tree.map(lambda x: x + 0.5, game.equilibrium)
    run = jg.rollout(game, tx, start, 60, record_every=1)
    assert jg.measured_rate(run, reference=game.equilibrium) == pytest.approx(rho, rel=1e-6)
    res = jg.sweep(game, lambda h: optax.sgd(h["lr"]), start, {"lr": jnp.array([0.3, 0.1])}, 60, record_every=2)
    rates = jg.measured_rate(res)  # the result knows its spacing: no `every=` to repeat
    want = [float(jg.spectral_radius(game, optax.sgd(lr), game.equilibrium)) for lr in (0.3, 0.1)]
    np.testing.assert_allclose(rates, want, rtol=1e-6)
    np.testing.assert_allclose(jg.measured_rate(res, every=2), want, rtol=1e-6)  # agreeing: fine
    sparse = jg.rollout(game, tx, start, 60, record_every=5)
    assert int(sparse.record_every) == 5
    assert jg.measured_rate(sparse, reference=game.equilibrium) == pytest.approx(rho, rel=1e-6)
    batched = jax.vmap(lambda lr: jg.rollout(game, optax.sgd(lr), start, 60, record_every=3))(jnp.array([0.3, 0.3]))
    assert jg.measured_rate(jax.tree.map(lambda x: x[0], batched), reference=game.equilibrium) == pytest.approx(rho, rel=1e-6)
    with pytest.raises(ValueError, match="`every=1` contradicts the run's own spacing"):
        jg.measured_rate(res, every=1)


@pytest.mark.parametrize("bad, error, pattern", [
    (np.array([1.0]), ValueError, "at least two records"),
    (np.array([0.0, 0.0]), ValueError, "positive, finite distance"),
    (jg.Joint(jnp.zeros(3), jnp.zeros(3)), TypeError, "needs `reference=`"),
])
def test_bad_input_is_refused(bad, error, pattern):
    with pytest.raises(error, match=pattern):
        jg.measured_rate(bad)
