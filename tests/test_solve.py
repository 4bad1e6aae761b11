"""_solve: matrix-free conjugate gradient, the implicitly differentiated linear solve and root."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan._analysis.solve import (
    _dense_tangent_solve,
    conjugate_gradient,
    default_tol,
    implicit_root,
    linear_solve,
    residual_norm,
)


def _spd(n, seed=0):
    q = np.random.default_rng(seed).normal(size=(n, n))
    return jnp.asarray(q @ q.T + n * np.eye(n))


def test_cg_solves_a_pytree_system_to_its_tolerance():
    m = _spd(6)
    b = {"a": jnp.arange(1.0, 4.0), "b": jnp.ones(3)}

    def matvec(x):
        y = m @ jnp.concatenate([x["a"], x["b"]])
        return {"a": y[:3], "b": y[3:]}

    x, info = conjugate_gradient(matvec, b, tol=1e-12, maxiter=50)
    exact = np.linalg.solve(np.asarray(m), np.concatenate([np.asarray(b["a"]), np.asarray(b["b"])]))
    np.testing.assert_allclose(np.concatenate([x["a"], x["b"]]), exact, rtol=1e-10)
    assert bool(info.converged) and int(info.iterations) <= 6 + 1


def test_linear_solve_has_the_exact_solutions_derivative():
    m = _spd(4, seed=1)

    def solve(scale):
        x, _ = linear_solve(lambda v: scale * (m @ v), jnp.ones(4), tol=1e-13, maxiter=40)
        return jnp.sum(x)

    # d/ds sum((s M)^{-1} 1) = -sum(M^{-1} 1) / s^2
    expected = -np.sum(np.linalg.solve(np.asarray(m), np.ones(4))) / 2.0**2
    np.testing.assert_allclose(float(jax.grad(solve)(2.0)), expected, rtol=1e-9)


def test_a_missed_tolerance_is_nan_only_when_asked():
    m = jnp.diag(jnp.array([1.0, -1.0]))  # indefinite: CG need not converge in one step
    x, info = linear_solve(lambda v: m @ v, jnp.ones(2), tol=1e-14, maxiter=1, nan_on_failure=True)
    assert not bool(info.converged) and bool(jnp.all(jnp.isnan(x)))


def test_default_tolerance_and_residual_norm():
    assert default_tol(jnp.ones(2, jnp.float64)) == pytest.approx(1e-2 * np.sqrt(np.finfo(np.float64).eps))
    assert default_tol(jnp.ones(2, jnp.float32)) == pytest.approx(1e-2 * np.sqrt(np.finfo(np.float32).eps))
    assert float(residual_norm({"a": jnp.array([3.0]), "b": jnp.array([4.0])})) == 5.0
    # no derivative through the residual (it would not be finite at zero)
    assert float(jax.grad(lambda t: residual_norm(t * jnp.zeros(2)))(1.0)) == 0.0


# implicit_root: the implicit function theorem, NaN where no derivative exists


def _cube_root(p, maxiter=50):  # the root of z^3 - p: d z*/dp = 1 / (3 p^(2/3))
    import optimistix as optx

    solver = optx.Newton(rtol=1e-12, atol=1e-12)
    return implicit_root(lambda z: z**3 - p, jnp.asarray(1.0), solver, maxiter=maxiter)


def test_implicit_root_has_the_implicit_derivative_and_reports_its_status():
    root, ok, steps = _cube_root(8.0)
    assert float(root) == pytest.approx(2.0, abs=1e-12) and bool(ok) and steps.dtype == jnp.int32
    assert float(jax.grad(lambda p: _cube_root(p)[0])(8.0)) == pytest.approx(1 / 12, abs=1e-12)
    assert float(jax.jacfwd(lambda p: _cube_root(p)[0])(8.0)) == pytest.approx(1 / 12, abs=1e-12)
    grads = jax.vmap(jax.grad(lambda p: _cube_root(p)[0]))(jnp.array([1.0, 27.0]))
    np.testing.assert_allclose(grads, [1 / 3, 1 / 27], atol=1e-12)


def test_implicit_root_cut_short_has_nan_derivatives_in_both_modes():
    root, ok, steps = _cube_root(8.0, maxiter=2)
    assert not bool(ok) and int(steps) == 2 and np.isfinite(float(root))  # the last iterate
    assert np.isnan(float(jax.grad(lambda p: _cube_root(p, 2)[0])(8.0)))
    assert np.isnan(float(jax.jacfwd(lambda p: _cube_root(p, 2)[0])(8.0)))


def test_the_tangent_solve_is_nan_on_a_singular_map_and_exact_otherwise():
    m = jnp.array([[2.0, 1.0], [1.0, 3.0]])
    b = {"u": jnp.array(1.0), "v": jnp.array(-1.0)}

    def linear(mat):
        return lambda x: dict(zip("uv", mat @ jnp.stack([x["u"], x["v"]])))

    x = _dense_tangent_solve(linear(m), b)
    exact = np.linalg.solve(np.asarray(m), [1.0, -1.0])
    np.testing.assert_allclose([x["u"], x["v"]], exact, atol=1e-14)
    # transposable (reverse mode runs it backwards): d/db <c, M^-1 b> = M^-T c
    ct = jax.grad(lambda bb: _dense_tangent_solve(linear(m), bb)["u"])(b)
    np.testing.assert_allclose([ct["u"], ct["v"]], np.linalg.inv(np.asarray(m))[0], atol=1e-14)
    singular = jnp.array([[1.0, 1.0], [1.0, 1.0]])
    x = _dense_tangent_solve(linear(singular), b)
    assert bool(jnp.isnan(x["u"])) and bool(jnp.isnan(x["v"]))
    ct = jax.grad(lambda bb: _dense_tangent_solve(linear(singular), bb)["u"])(b)
    assert bool(jnp.isnan(ct["u"])) and bool(jnp.isnan(ct["v"]))
