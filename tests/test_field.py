"""_field: the simultaneous gradient, the vector field and corrected fields."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxgan as jg


def test_grad_fn_is_used_and_checked():
    calls = []

    def grad_fn(w):
        calls.append(1)
        return jg.Joint(w.theta, -w.phi)

    game = jg.zero_sum(lambda x, y: x * y, grad_fn=grad_fn)
    xi = jg.simultaneous_gradient(game)(jg.Joint(jnp.array(1.0), jnp.array(2.0)))
    assert calls and float(xi.phi) == 2.0
    bad = jg.zero_sum(lambda x, y: x * y, grad_fn=lambda w: (w.theta, w.phi))
    with pytest.raises(TypeError, match="grad_fn.*Joint"):
        jg.simultaneous_gradient(bad)(jg.Joint(jnp.array(1.0), jnp.array(2.0)))
    wrong_shape = jg.zero_sum(lambda x, y: x * y, grad_fn=lambda w: jg.Joint(jnp.zeros(3), w.theta))
    with pytest.raises(ValueError, match=r"grad_fn\(w\).*shape"):
        jg.simultaneous_gradient(wrong_shape)(jg.Joint(jnp.array(1.0), jnp.array(2.0)))


def test_field_under_jit_vmap_grad():
    game = jg.games.dirac("standard")
    xi = jg.simultaneous_gradient(game)
    w = jg.Joint(jnp.linspace(-1, 1, 5), jnp.linspace(0.5, 2, 5))
    batched = jax.jit(jax.vmap(xi))(w)
    loop = [xi(jg.Joint(w.phi[i], w.theta[i])) for i in range(5)]
    np.testing.assert_allclose(batched.phi, [x.phi for x in loop], rtol=1e-14)
    g = jax.grad(lambda p: xi(jg.Joint(p, jnp.array(1.0))).phi)(jnp.array(0.3))
    assert np.isfinite(g)


def test_bad_inputs_to_the_field():
    game = jg.zero_sum(lambda x, y: jnp.sum(x * y))
    xi = jg.simultaneous_gradient(game)
    with pytest.raises(TypeError, match=r"`w` must be a jaxgan.Joint"):
        xi((jnp.ones(2), jnp.ones(2)))
    with pytest.raises(TypeError, match=r"`w.phi` has a leaf of dtype int"):
        xi(jg.Joint(jnp.ones(2, dtype=jnp.int32), jnp.ones(2)))
    with pytest.raises(ValueError, match=r"`w.theta` has no array leaves"):
        xi(jg.Joint(jnp.ones(2), {}))
    vector_loss = jg.zero_sum(lambda x, y: x * y)
    with pytest.raises(ValueError, match=r"`loss_g` must return a scalar, but returned shape \(2,\)"):
        jg.simultaneous_gradient(vector_loss)(jg.Joint(jnp.ones(2), jnp.ones(2)))
    with pytest.raises(TypeError, match="needs the game"):
        jg.simultaneous_gradient(None)
    with pytest.raises(TypeError, match="must be a jaxgan.Game"):
        jg.vector_field(lambda w: w)


def test_corrected_field_takes_a_make_tx_with_checked_hyperparams():
    game = jg.games.dirac("wgan")
    w = jg.Joint(1.0, 0.0)
    made = jg.corrected_field(game, lambda h: jg.transforms.consensus(h["g"]), hyperparams={"g": 1.0})(w)
    direct = jg.corrected_field(game, jg.transforms.consensus(1.0))(w)
    assert float(made.phi) == float(direct.phi) and float(made.theta) == float(direct.theta)
    with pytest.raises(ValueError, match="`x` are never read"):
        jg.corrected_field(game, lambda h: jg.transforms.consensus(h["g"]), hyperparams={"g": 1.0, "x": 2.0})
    with pytest.raises(TypeError, match="must be a callable"):
        jg.corrected_field(game, jg.transforms.consensus(1.0), hyperparams={"g": 1.0})
    with pytest.raises(ValueError, match="takes field corrections only"):
        jg.corrected_field(game, optax.chain(jg.transforms.consensus(1.0), optax.sgd(0.1)))(w)
