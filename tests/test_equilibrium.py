"""_equilibrium: stationary points by Newton's method with implicit derivatives, against an
affine field's closed form, ``H(w*)^-1 d xi / dp`` and finite differences."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgan as jg

A = np.array([[2.0, 1.0], [-1.0, 0.5]])  # xi = A w - b


def _affine(b):
    a = jnp.asarray(A)
    return jg.Game(lambda p, t: a[0, 0] * p**2 / 2 + a[0, 1] * p * t - b[0] * p,
                   lambda p, t: a[1, 1] * t**2 / 2 + a[1, 0] * p * t - b[1] * t)


W0 = jg.Joint(jnp.asarray(0.3), jnp.asarray(-0.2))


@pytest.mark.parametrize("method", ["levenberg_marquardt", "newton"])
def test_an_affine_field_and_its_derivative_in_the_linear_terms(method):
    b = jnp.array([1.0, -2.0])
    out = jg.solve_equilibrium(_affine(b), W0, method=method)
    assert bool(out.converged) and float(out.residual) < 1e-9
    np.testing.assert_allclose([out.point.phi, out.point.theta], np.linalg.solve(A, np.asarray(b)), atol=1e-9)
    # d w* / d b = A^-1 by the implicit function theorem, through jax.jacfwd and jax.grad
    jac = jax.jacfwd(lambda bb: jnp.stack(list(jg.solve_equilibrium(_affine(bb), W0, method=method).point)))(b)
    np.testing.assert_allclose(jac, np.linalg.inv(A), atol=1e-9)
    g = jax.grad(lambda bb: jg.solve_equilibrium(_affine(bb), W0, method=method).point.phi)(b)
    np.testing.assert_allclose(g, np.linalg.inv(A)[0], atol=1e-9)


def test_a_nonlinear_game_derivative_against_the_ift_and_finite_differences():
    def game(p):
        return jg.Game(lambda x, y: x**2 / 2 + jnp.sin(x * y) + p * x, lambda x, y: y**2 - x * y + p**2 * y / 2)

    p0 = 0.3
    out = jg.solve_equilibrium(game(p0), W0)
    w = out.point
    assert bool(out.converged)
    grad = jax.grad(lambda p: jg.solve_equilibrium(game(p), W0).point.phi)(p0)
    # -H(w*)^-1 d xi / dp
    xi = lambda p, ww: jnp.stack(list(jg.simultaneous_gradient(game(p))(ww)))  # noqa: E731
    h = jax.jacfwd(lambda z: xi(p0, jg.Joint(z[0], z[1])))(jnp.stack([w.phi, w.theta]))
    dxi_dp = jax.jacfwd(lambda p: xi(p, w))(p0)
    ift = -np.linalg.solve(np.asarray(h), np.asarray(dxi_dp))
    assert float(grad) == pytest.approx(float(ift[0]), abs=1e-9)
    eps = 1e-6
    fd = (jg.solve_equilibrium(game(p0 + eps), W0).point.phi - jg.solve_equilibrium(game(p0 - eps), W0).point.phi) / (2 * eps)
    assert float(grad) == pytest.approx(float(fd), abs=1e-7)


def test_a_failure_is_reported_and_n_players_and_vmap_work():
    # no stationary point: xi = (1, y) never vanishes
    game = jg.Game(lambda x, y: x, lambda x, y: y**2 / 2)
    out = jg.solve_equilibrium(game, W0, maxiter=20)
    assert not bool(out.converged) and float(out.residual) > 0.5
    cournot = jg.games.cournot(3, b=0.5)
    start = jax.tree.map(lambda x: x + 1.0, cournot.equilibrium)
    found = jg.solve_equilibrium(cournot, start)
    np.testing.assert_allclose(list(found.point), list(cournot.equilibrium), atol=1e-9)
    bs = jnp.array([[1.0, -2.0], [0.5, 0.5]])
    points = jax.vmap(lambda bb: jnp.stack(list(jg.solve_equilibrium(_affine(bb), W0).point)))(bs)
    np.testing.assert_allclose(points, np.linalg.solve(A, np.asarray(bs).T).T, atol=1e-9)
