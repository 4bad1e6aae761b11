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


