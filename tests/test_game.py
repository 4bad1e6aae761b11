import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgan as jg


def test_zero_sum_signs():
    game = jg.zero_sum(lambda x, y: x**2 * y)
    xi = jg.simultaneous_gradient(game)(jg.Joint(jnp.array(2.0), jnp.array(3.0)))
    assert float(xi.phi) == 12.0  # d/dx x^2 y
    assert float(xi.theta) == -4.0  # d/dy of -x^2 y
    v = jg.vector_field(game)(jg.Joint(jnp.array(2.0), jnp.array(3.0)))
    assert float(v.phi) == -12.0 and float(v.theta) == 4.0


def test_general_sum_and_pytree_players():
    def loss_g(phi, theta):
        return jnp.sum(phi["a"] ** 2) + jnp.sum(phi["b"]) * theta[0]

    def loss_d(phi, theta):
        return jnp.sum(theta**2) * phi["b"][1]

    game = jg.Game(loss_g, loss_d)
    w = jg.Joint({"a": jnp.array([1.0, 2.0]), "b": jnp.array([3.0, 4.0])}, jnp.array([5.0, 6.0]))
    xi = jg.simultaneous_gradient(game)(w)
    np.testing.assert_allclose(xi.phi["a"], [2.0, 4.0])
    np.testing.assert_allclose(xi.phi["b"], [5.0, 5.0])
    np.testing.assert_allclose(xi.theta, [40.0, 48.0])


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


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: jg.Game(1.0, lambda p, t: p), TypeError, "loss_g"),
        (lambda: jg.Game(lambda p, t: p, lambda p, t: p, grad_fn=3), TypeError, "grad_fn"),
        (lambda: jg.Game(lambda p, t: p, lambda p, t: p, equilibrium=(0.0, 0.0)), TypeError, "equilibrium"),
        (lambda: jg.zero_sum("f"), TypeError, "`f`"),
    ],
)
def test_construction_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


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
