"""jaxgan._gan.losses: the GAN loss families and their numerically safe derivatives."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgan as jg


def test_log_sigmoid_custom_derivative_matches_reference():
    t = jnp.linspace(-40.0, 40.0, 101)
    np.testing.assert_allclose(jg.games.log_sigmoid(t), jax.nn.log_sigmoid(t), rtol=1e-14, atol=1e-300)
    d1 = jax.vmap(jax.grad(jg.games.log_sigmoid))(t)
    np.testing.assert_allclose(d1, jax.vmap(jax.grad(jax.nn.log_sigmoid))(t), rtol=1e-12)
    d2 = jax.vmap(jax.grad(jax.grad(jg.games.log_sigmoid)))(t)
    np.testing.assert_allclose(d2, -jax.nn.sigmoid(t) * jax.nn.sigmoid(-t), rtol=1e-12, atol=1e-300)
    assert float(jax.grad(jax.grad(jg.games.log_sigmoid))(0.0)) == -0.25


def test_loss_families_f_and_f_prime_closed_forms():
    # Mescheder et al. 2018, Eq. 1: f(t) = log sigmoid(t) = -log(1 + e^-t) for the standard
    # families, f(t) = t for WGAN; f' is the closed form and agrees with autodiff of f.
    t = jnp.linspace(-30.0, 30.0, 61)
    for loss in jg.games.LOSSES:
        f, fp = jg.games.loss_f(loss), jg.games.loss_f_prime(loss)
        expected = t if loss == "wgan" else -jnp.log1p(jnp.exp(-t))
        np.testing.assert_allclose(f(t), expected, rtol=1e-13, atol=1e-300)
        np.testing.assert_allclose(fp(t), jax.vmap(jax.grad(f))(t), rtol=1e-12, atol=1e-300)
    assert float(jg.games.loss_f_prime("standard")(0.0)) == 0.5
    assert jg.games.loss_f("non_saturating") is jg.games.loss_f("standard")


def test_unknown_loss_names_the_argument_and_the_choices():
    for fn in (jg.games.loss_f, jg.games.loss_f_prime):
        with pytest.raises(ValueError, match=r"unknown `loss` 'hinge'; expected one of 'standard', 'non_saturating', 'wgan'"):
            fn("hinge")
