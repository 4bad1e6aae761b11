"""jaxgan._analysis.trace: spectral_trace, the Jacobian spectrum along a run, against closed forms and dense eig."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxgan as jg


def _data(n=32):
    return jg.datasets.ring().sample(jax.random.PRNGKey(0), n)


def test_spectral_trace_closed_form_on_a_quadratic_game():
    # A = [[-a, -b], [b, -c]] blocks (diagonal): eigenvalues -(a+c)/2 +- sqrt(((a-c)/2)^2 - b^2)
    a, b, c = 1.0, 3.0, 1.0
    game = jg.games.quadratic(a * jnp.eye(3), b * jnp.eye(3), c * jnp.eye(3))
    ws = jg.Joint(jnp.zeros((2, 3)), jnp.zeros((2, 3)))
    dense = jg.spectral_trace(game, ws)
    np.testing.assert_allclose(np.asarray(dense.phase), 3.0, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(dense.conditioning), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(dense.max_real), -1.0, rtol=1e-12)
    game2 = jg.games.quadratic(jnp.diag(jnp.array([1.0, 2.0, 4.0])), jnp.zeros((3, 3)), jnp.diag(jnp.array([8.0, 16.0, 32.0])))
    arn = jg.spectral_trace(game2, ws, method="arnoldi", k=2)
    assert bool(jnp.all(arn.converged))
    np.testing.assert_allclose(np.asarray(arn.conditioning), 32.0, rtol=1e-10)
    np.testing.assert_allclose(np.asarray(arn.max_real), -1.0, rtol=1e-10)
    with pytest.raises(ValueError, match="unknown `method` 'qr'"):
        jg.spectral_trace(game, ws, method="qr")
    with pytest.raises(ValueError, match="leading checkpoint axis"):
        jg.spectral_trace(game, jg.Joint(jnp.zeros(()), jnp.zeros(())))


def test_spectral_trace_arnoldi_agrees_with_dense_along_a_run():
    # one hidden layer: three Arnoldi targets, each with two copies of the field's JVP, make one
    # program whose compile time grows with the depth (75 parameters, still 60 Krylov vectors)
    ng = jg.games.mlp_gan(_data(48), key=jax.random.PRNGKey(4), hidden=(8,))
    run = jax.jit(lambda w: jg.rollout(ng.game, optax.sgd(0.05), w, 40, record_every=20))(ng.params)
    dense = jg.spectral_trace(ng.game, run.trajectory)
    arn = jg.spectral_trace(ng.game, run.trajectory, method="arnoldi", k=4, max_restarts=60)
    assert dense.eigenvalues.shape == (3, ng.num_parameters) and arn.eigenvalues.shape == (3, 12)
    np.testing.assert_allclose(np.asarray(arn.max_modulus), np.asarray(dense.max_modulus), rtol=1e-8)
    np.testing.assert_allclose(np.asarray(arn.max_real), np.asarray(dense.max_real), rtol=1e-6, atol=1e-10)
    # where the smallest-magnitude target converged, the conditioning factor is the dense one
    ok = np.asarray(~jnp.isnan(arn.conditioning))
    assert ok.any()  # not vacuous: here it converges at every checkpoint
    np.testing.assert_allclose(np.asarray(arn.conditioning)[ok], np.asarray(dense.conditioning)[ok], rtol=1e-6)
