import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

import jaxgan as jg


def _random_game(key, n=3, m=4):
    k1, k2, k3 = jax.random.split(key, 3)
    A = jax.random.normal(k1, (n, m))
    b = jax.random.normal(k2, (n,))

    def loss_g(phi, theta):
        return jnp.sum(jnp.tanh(phi["u"] @ A) * theta) + jnp.sum(phi["s"] ** 3) * jnp.sum(theta)

    def loss_d(phi, theta):
        return -jnp.sum(jnp.cos(theta) * (phi["u"] @ A)) + 0.5 * jnp.sum(theta**2) * (b @ phi["u"])

    w = jg.Joint({"u": jax.random.normal(k3, (n,)), "s": jnp.array([0.3, -0.2])}, jnp.linspace(-1.0, 1.0, m))
    return jg.Game(loss_g, loss_d), w


@pytest.mark.parametrize("chunk_size", [None, 1, 2, 5, 100])
def test_chunked_jacobian_equals_jacfwd(key, chunk_size):
    game, w = _random_game(key)
    z, unravel = ravel_pytree(w)
    v = lambda z: ravel_pytree(jg.vector_field(game)(unravel(z)))[0]  # noqa: E731
    expected = jax.jacfwd(v)(z)
    got = jg.jacobian(game, w, chunk_size=chunk_size)
    assert got.shape == (9, 9)
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-13)


def test_jacobian_is_of_v_in_ravel_order():
    # f = x^2/2 * a + x y: A = [[-a, -1], [1, 0]]
    game = jg.zero_sum(lambda x, y: 0.5 * 3.0 * x**2 + x * y)
    a = jg.jacobian(game, jg.Joint(jnp.array(0.2), jnp.array(-0.1)))
    np.testing.assert_allclose(a, [[-3.0, -1.0], [1.0, 0.0]])


def test_jacobian_jit_and_vmap_over_points(key):
    game, w = _random_game(key)
    ws = jax.tree.map(lambda x: jnp.stack([x, 2 * x]), w)
    batched = jax.jit(jax.vmap(lambda w: jg.jacobian(game, w, chunk_size=4)))(ws)
    np.testing.assert_allclose(batched[1], jg.jacobian(game, jax.tree.map(lambda x: 2 * x, w)), rtol=1e-12)


def test_blocks_and_errors():
    w = jg.Joint(jnp.zeros(2), jnp.zeros(3))
    blocks = jg.jacobian_blocks(jnp.arange(25.0).reshape(5, 5), w)
    assert blocks.phi_theta.shape == (2, 3) and blocks.theta_phi.shape == (3, 2)
    with pytest.raises(ValueError, match=r"expected \(5, 5\)"):
        jg.jacobian_blocks(jnp.eye(4), w)
    game = jg.zero_sum(lambda x, y: jnp.sum(x) * jnp.sum(y))
    with pytest.raises(ValueError, match="chunk_size"):
        jg.jacobian(game, w, chunk_size=0)
    with pytest.raises(TypeError, match="Joint"):
        jg.jacobian(game, {"phi": 1.0})
