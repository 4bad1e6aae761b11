import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgan as jg


@pytest.mark.parametrize("order", [1, 2, 5, 10])
def test_gauss_hermite_1d_moments_exact(order):
    x, w = jg.gauss_hermite_1d(order)
    np.testing.assert_allclose(w.sum(), 1.0, rtol=1e-14)
    # E[Z^k] = (k-1)!! for even k, 0 for odd k; exact up to degree 2*order - 1
    for k in range(2 * order):
        exact = 0.0 if k % 2 else float(np.prod(np.arange(k - 1, 0, -2))) if k else 1.0
        scale = (w * np.abs(x) ** k).sum()  # odd moments cancel: compare to the absolute moment
        np.testing.assert_allclose((w * x**k).sum(), exact, atol=1e-13 * max(1.0, scale))


def test_gauss_hermite_tensor_grid_mean_and_covariance():
    mean = jnp.array([1.0, -2.0, 0.5])
    cov = jnp.array([[2.0, 0.3, 0.0], [0.3, 1.0, -0.2], [0.0, -0.2, 0.5]])
    rule = jg.gauss_hermite(mean, cov, order=3)
    assert rule.nodes.shape == (27, 3)
    m = jg.expectation(lambda x: x, rule)
    second = jg.expectation(lambda x: jnp.outer(x, x), rule)
    np.testing.assert_allclose(m, mean, atol=1e-12)
    np.testing.assert_allclose(second - jnp.outer(m, m), cov, atol=1e-12)
    # a smooth non-polynomial function: E[exp(a^T x)] = exp(a^T m + a^T C a / 2)
    a = jnp.array([0.3, -0.2, 0.1])
    rule = jg.gauss_hermite(mean, cov, order=12)
    got = jg.expectation(lambda x: jnp.exp(a @ x), rule)
    np.testing.assert_allclose(got, np.exp(a @ mean + a @ cov @ a / 2), rtol=1e-12)


def test_finite_support_and_fixed_samples_are_differentiable():
    rule = jg.finite_support(jnp.array([[0.0], [1.0], [3.0]]), jnp.array([0.5, 0.25, 0.25]))
    f = lambda t: jg.expectation(lambda x: jnp.sin(t * x[0]), rule)  # noqa: E731
    np.testing.assert_allclose(jax.grad(f)(0.7), 0.25 * np.cos(0.7) + 0.25 * 3 * np.cos(2.1), rtol=1e-14)
    samples = jg.fixed_samples(jnp.arange(4.0))
    np.testing.assert_allclose(jg.expectation(lambda x: x**2, samples), 3.5)


def test_expectation_errors():
    with pytest.raises(ValueError, match="order"):
        jg.gauss_hermite_1d(0)
    with pytest.raises(ValueError, match=r"`cov` must have shape \(2, 2\)"):
        jg.gauss_hermite(jnp.zeros(2), jnp.eye(3))
    with pytest.raises(ValueError, match="positive semi-definite"):
        jg.gauss_hermite(jnp.zeros(2), jnp.array([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match="nodes"):
        jg.gauss_hermite(jnp.zeros(8), 1.0, order=10)
    with pytest.raises(ValueError, match="probs"):
        jg.finite_support(jnp.zeros(3), jnp.array([0.5, 0.6, 0.0]))
    with pytest.raises(ValueError, match=r"`probs` has shape \(2,\), expected \(3,\)"):
        jg.finite_support(jnp.zeros(3), jnp.array([0.5, 0.5]))
    with pytest.raises(TypeError, match="Quadrature"):
        jg.expectation(lambda x: x, (jnp.zeros(2), jnp.ones(2)))
