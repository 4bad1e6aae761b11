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
    # -H(w*)^-1 d xi / dp (H and d xi / dp in one compiled program, not op by op)
    xi = lambda p, ww: jnp.stack(list(jg.simultaneous_gradient(game(p))(ww)))  # noqa: E731

    @jax.jit
    def h_and_dxi_dp(w):
        h = jax.jacfwd(lambda z: xi(p0, jg.Joint(z[0], z[1])))(jnp.stack([w.phi, w.theta]))
        return h, jax.jacfwd(lambda p: xi(p, w))(p0)

    h, dxi_dp = h_and_dxi_dp(w)
    ift = -np.linalg.solve(np.asarray(h), np.asarray(dxi_dp))
    assert float(grad) == pytest.approx(float(ift[0]), abs=1e-9)
    eps = 1e-6
    phi_at = jax.jit(lambda p: jg.solve_equilibrium(game(p), W0).point.phi)  # both solves: one program of p
    fd = (phi_at(p0 + eps) - phi_at(p0 - eps)) / (2 * eps)
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


# the implicit derivative where none exists: NaN, never a plausible number or a runtime error


def _cube(p):  # xi = (x^3 - p, y - x): the root x* = y* = p^(1/3), d x*/dp = 1 / (3 p^(2/3))
    return jg.Game(lambda x, y: x**4 / 4 - p * x, lambda x, y: y**2 / 2 - x * y)


def _no_root(p):  # xi = (x^2 + 1, y - p): the first component never vanishes
    return jg.Game(lambda x, y: x**3 / 3 + x, lambda x, y: y**2 / 2 - p * y)


def _singular(p):  # xi = (x + y - p, x + y - p): a line of roots, J = [[1, 1], [1, 1]] everywhere
    return jg.Game(lambda x, y: (x + y - p) ** 2 / 2, lambda x, y: (x + y - p) ** 2 / 2)


@pytest.mark.parametrize("method", ["levenberg_marquardt", "newton"])
def test_a_converged_solve_has_the_closed_form_derivative(method):
    theta = lambda p: jg.solve_equilibrium(_cube(p), W0, method=method).point.theta  # noqa: E731
    assert float(jax.grad(theta)(8.0)) == pytest.approx(1 / 12, abs=1e-8)
    assert float(jax.jacfwd(theta)(8.0)) == pytest.approx(1 / 12, abs=1e-8)
    # d^2 x*/dp^2 = -2 / (9 p^(5/3)): the derivative is itself differentiable
    assert float(jax.grad(jax.grad(theta))(8.0)) == pytest.approx(-2 / (9 * 32), abs=1e-8)


@pytest.mark.parametrize("method", ["levenberg_marquardt", "newton"])
def test_no_root_and_a_solve_cut_short_have_nan_derivatives(method):
    # before the NaN, jax.grad of theta here was 1.0 (y* = p looks solved), and 1.25 (LM) or
    # 8e-4 (Newton) for the cut-short solve, where the derivative at the root is 1/12
    out = jg.solve_equilibrium(_no_root(0.5), W0, method=method, maxiter=30)
    assert not bool(out.converged)
    for make, maxiter in [(_no_root, 30), (_cube, 2)]:
        options = {"method": method, "maxiter": maxiter}
        assert not bool(jg.solve_equilibrium(make(8.0), W0, **options).converged)

        def theta(p, make=make, options=options):
            return jg.solve_equilibrium(make(p), W0, **options).point.theta

        assert np.isnan(float(jax.grad(theta)(8.0)))
        assert np.isnan(float(jax.jacfwd(theta)(8.0)))
        assert np.isnan(float(jax.jit(jax.grad(theta))(8.0)))


def test_nan_derivatives_are_per_element_under_vmap():
    # xi = (x^2 + p, y - x): the root x* = y* = sqrt(-p) for p < 0, d y*/dp = -1 / (2 sqrt(-p));
    # none for p > 0
    def game(p):
        return jg.Game(lambda x, y: x**3 / 3 + p * x, lambda x, y: y**2 / 2 - x * y)

    ps = jnp.array([-4.0, 1.0, -1.0])
    grads = jax.vmap(jax.grad(lambda p: jg.solve_equilibrium(game(p), W0).point.theta))(ps)
    np.testing.assert_allclose(grads[jnp.array([0, 2])], [-0.25, -0.5], atol=1e-8)
    assert np.isnan(float(grads[1]))
    converged = jax.vmap(lambda p: jg.solve_equilibrium(game(p), W0).converged)(ps)
    assert list(converged) == [True, False, True]


# dense Newton steps on a singular Jacobian are NaN; Levenberg-Marquardt and GMRES reach the line
@pytest.mark.parametrize("options", [{}, {"method": "newton", "linear_solver": "gmres"}])
def test_a_singular_root_has_a_nan_derivative_not_a_runtime_error(options):
    out = jg.solve_equilibrium(_singular(1.0), W0, **options)
    # a root, converged: the singular Jacobian is what leaves the derivative undefined
    assert bool(out.converged) and float(out.residual) < 1e-9
    assert float(out.point.phi + out.point.theta) == pytest.approx(1.0, abs=1e-9)
    assert float(jnp.min(jnp.abs(jg.eigenvalues(_singular(1.0), out.point)))) < 1e-12
    phi = lambda p: jg.solve_equilibrium(_singular(p), W0, **options).point.phi  # noqa: E731
    assert np.isnan(float(jax.grad(phi)(1.0)))  # was lineax's "non-finite output" from a callback
    assert np.isnan(float(jax.jacfwd(phi)(1.0)))


@pytest.mark.parametrize("method", ["levenberg_marquardt", "newton"])
def test_a_float32_start_under_x64_is_solved_and_returned_in_float32(method):
    # with x64 on, Levenberg-Marquardt from a float32 start raised lineax's structure mismatch
    assert jax.config.jax_enable_x64
    w32 = jax.tree.map(lambda x: x.astype(jnp.float32), W0)
    out = jg.solve_equilibrium(_cube(8.0), w32, method=method)
    assert bool(out.converged)
    assert {x.dtype for x in jax.tree.leaves(out.point)} == {jnp.dtype(jnp.float32)}
    np.testing.assert_allclose(list(out.point), [2.0, 2.0], rtol=1e-6)
    g = jax.grad(lambda p: jg.solve_equilibrium(_cube(p), w32, method=method).point.theta)(8.0)
    assert float(g) == pytest.approx(1 / 12, rel=1e-5)
    # a field wider than the point (a hand-written float64 field): solved in float64
    p64 = jnp.asarray(8.0, jnp.float64)
    field = lambda w: jg.Joint(w.phi**3 - p64, w.theta - w.phi)  # noqa: E731
    wide = jg.Game(_cube(p64).loss_g, _cube(p64).loss_d, grad_fn=field)
    out = jg.solve_equilibrium(wide, w32, method=method)
    assert bool(out.converged) and out.point.phi.dtype == jnp.float32
    np.testing.assert_allclose(list(out.point), [2.0, 2.0], rtol=1e-6)
