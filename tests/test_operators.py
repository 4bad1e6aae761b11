"""jaxgan._analysis.operators: the matrix-free game operators (player blocks, symmetric part, Schur complement, total Hessian) against dense matrices (float64)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from closed_forms import random_schur_quadratic

import jaxgan as jg
from jaxgan._analysis.operators import (
    OPERATORS,
    blocks,
    jacobian_symmetric,
    operator,
    probe_solve,
    schur_complement,
    stackelberg_hessian,
    stackelberg_total_gradient,
)


def test_the_total_hessian_equals_the_hessian_along_a_nonlinear_best_response():
    # L_d = |theta - g(phi)|^2 / 2, so r(phi) = g(phi); at a point on the ridge the operator is
    # the Hessian of phi -> L_g(phi, g(phi)), third-order terms of r included
    W = jnp.asarray(np.random.default_rng(1).normal(size=(3, 4)))

    def g(p):
        return jnp.tanh(W @ p)

    def loss_g(p, t):
        return jnp.sum(jnp.sin(p)) * jnp.sum(t**2) + t @ jnp.cos(W @ p) + 0.1 * jnp.sum(p**4)

    def loss_d(p, t):
        return 0.5 * jnp.sum((t - g(p)) ** 2)

    game = jg.Game(loss_g, loss_d)
    phi = jnp.asarray([0.3, -0.2, 0.5, 0.1])
    w = jg.Joint(phi, g(phi))
    expected = jax.hessian(lambda p: loss_g(p, g(p)))(phi)
    op = stackelberg_hessian(game, w, tol=1e-13, maxiter=50)
    got = jax.jit(jax.vmap(op))(jnp.eye(4)).T
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-9, atol=1e-10)


def _dense(apply, n):
    return np.asarray(jax.jit(jax.vmap(apply))(jnp.eye(n))).T


@pytest.fixture
def schur_game():
    # f = x^T A x / 2 + x^T B y - y^T C y / 2 (min over x, max over y): J = [[A, B], [-B^T, C]]
    A, B, C = (jnp.asarray(m) for m in random_schur_quadratic(3, 4, 3))
    game = jg.zero_sum(lambda x, y: 0.5 * x @ A @ x + x @ B @ y - 0.5 * y @ C @ y)
    w = jg.Joint(jnp.linspace(-1.0, 1.0, 4), jnp.linspace(0.5, -0.5, 3))
    return game, w, np.asarray(A), np.asarray(B), np.asarray(C)


def test_blocks_and_the_symmetric_part_are_the_dense_jacobians(schur_game):
    game, w, A, B, C = schur_game
    hpp, hpt, htp, htt = blocks(game, w)
    for apply, n, expected in ((hpp, 4, A), (hpt, 3, B), (htp, 4, -B.T), (htt, 3, C)):
        np.testing.assert_allclose(_dense(apply, n), expected, rtol=1e-12, atol=1e-12)
    A_v = np.asarray(jg.jacobian(game, w))  # dv/dw with v = -xi
    np.testing.assert_allclose(A_v, -np.block([[A, B], [-B.T, C]]), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(_dense(jacobian_symmetric(game, w), 7), (A_v + A_v.T) / 2, rtol=1e-12, atol=1e-12)
    # the bilinear coupling cancels in the symmetric part: -blockdiag(A, C)
    np.testing.assert_allclose(_dense(jacobian_symmetric(game, w), 7)[:4, 4:], 0.0, atol=1e-12)


def test_schur_complement_and_total_hessian_agree_in_a_zero_sum_game(schur_game):
    # S = A - B C^{-1} (-B^T) = A + B C^{-1} B^T; in a zero-sum game the leader's total Hessian is S
    game, w, A, B, C = schur_game
    S = A + B @ np.linalg.solve(C, B.T)
    np.testing.assert_allclose(_dense(schur_complement(game, w, tol=1e-13, maxiter=50), 4), S, rtol=1e-10, atol=1e-10)
    for name, n, expected in (("hessian_phi", 4, A), ("hessian_theta", 3, C), ("schur_complement", 4, S),
                              ("stackelberg_hessian", 4, S)):
        apply, size = operator(game, w, name, tol=1e-13, maxiter=50)
        assert size == n
        np.testing.assert_allclose(_dense(apply, n), expected, rtol=1e-10, atol=1e-10)
    with pytest.raises(ValueError, match="unknown operator 'hessian'"):
        operator(game, w, "hessian", tol=1e-13, maxiter=50)
    assert set(OPERATORS) == {"hessian_phi", "hessian_theta", "jacobian_symmetric", "schur_complement",
                              "stackelberg_hessian"}


def test_a_failed_follower_solve_is_nan_and_probe_solve_reports_it(schur_game):
    game, w, A, B, C = schur_game
    info = probe_solve(game, w, tol=1e-13, maxiter=50)
    assert bool(info.converged) and int(info.iterations) <= 3  # CG on a 3x3 SPD block: at most 3 products
    starved = probe_solve(game, w, tol=1e-13, maxiter=1)
    assert not bool(starved.converged)
    s = _dense(schur_complement(game, w, tol=1e-13, maxiter=1), 4)
    assert np.all(np.isnan(s))  # the spectrum built on a missed solve shows the failure


def test_the_leaders_total_gradient_is_zero_on_the_stackelberg_point():
    # L_g = (x - 1)^2 / 2 + x y, L_d = (y - x)^2 / 2: r(x) = x, L_g(x, r(x)) = (x - 1)^2 / 2 + x^2,
    # so T(x) = (x - 1) + 2 x vanishes at x = 1/3 (and is 3 x - 1 along the best response)
    game = jg.Game(lambda x, y: 0.5 * jnp.sum((x - 1) ** 2) + jnp.sum(x * y), lambda x, y: 0.5 * jnp.sum((y - x) ** 2))
    for x in (1 / 3, 0.8):
        w = jg.Joint(jnp.asarray([x]), jnp.asarray([x]))
        np.testing.assert_allclose(stackelberg_total_gradient(game, w, tol=1e-13, maxiter=10), [3 * x - 1], atol=1e-14)
