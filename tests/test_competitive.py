"""Competitive gradient descent and Hamiltonian descent against their closed forms (float64)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.flatten_util import ravel_pytree

import jaxgan as jg

ALPHAS = [0.1, 0.5, 1.0, 3.0, 10.0]


@pytest.mark.parametrize("alpha", ALPHAS)
def test_cgd_radius_on_the_bilinear_game(alpha):
    # f = alpha x y: CGD's operator has eigenvalues (1 +- i eta alpha) / (1 + eta^2 alpha^2)
    game, eta = jg.games.bilinear(alpha), 0.3
    rho = jg.spectral_radius(game, jg.transforms.cgd(eta), game.equilibrium)
    np.testing.assert_allclose(float(rho), (1 + eta**2 * alpha**2) ** -0.5, rtol=1e-10)


@pytest.mark.parametrize("alpha", ALPHAS)
def test_hamiltonian_radius_on_the_bilinear_game(alpha):
    game, eta = jg.games.bilinear(alpha), 0.05
    rho = jg.spectral_radius(game, optax.chain(jg.transforms.hamiltonian(), optax.sgd(eta)), game.equilibrium)
    np.testing.assert_allclose(float(rho), abs(1 - eta * alpha**2), rtol=1e-10)


def test_cgd_contracts_each_singular_direction_of_a_random_bilinear_game():
    rng = np.random.default_rng(0)
    A = jnp.asarray(rng.normal(size=(4, 3)))
    game, eta = jg.games.bilinear(A), 0.4
    w = jg.Joint(jnp.zeros(4), jnp.zeros(3))
    m = np.asarray(jg.update_jacobian(game, jg.transforms.cgd(eta), w))
    # the state (the warm starts) adds rows and columns; the solution does not depend on the
    # warm start (implicit derivatives), so those columns are zero and add zero eigenvalues
    assert m.shape == (14, 14) and np.all(m[:, 7:] == 0)
    sigma = np.linalg.svd(np.asarray(A), compute_uv=False)
    expected = np.sort(np.concatenate([np.repeat((1 + eta**2 * sigma**2) ** -0.5, 2), [1.0]]))
    np.testing.assert_allclose(np.sort(np.abs(np.linalg.eigvals(m[:7, :7]))), expected, rtol=1e-10)


def _general_sum():
    rng = np.random.default_rng(1)
    A, B, C, D = (0.5 * jnp.asarray(rng.normal(size=s)) for s in [(2, 2), (2, 3), (3, 3), (2, 3)])

    def loss_g(x, y):
        return 0.5 * x @ A @ x + x @ B @ y + 0.2 * jnp.sum(jnp.sin(x)) * jnp.sum(y ** 2)

    def loss_d(x, y):
        return 0.5 * y @ C @ y - x @ D @ y + 0.1 * jnp.sum(x) ** 2 * jnp.sum(jnp.cos(y))

    return jg.Game(loss_g, loss_d), jg.Joint(jnp.array([0.3, -0.7]), jnp.array([0.5, 0.1, -0.4]))


def _local_bilinear_nash(game, w, eta):
    """The closed-form step: the Nash equilibrium of the local bilinear game, by a dense solve."""
    z, unravel = ravel_pytree(w)
    n_phi = ravel_pytree(w.phi)[0].size

    def xi(z):
        return ravel_pytree(jg.simultaneous_gradient(game)(unravel(z)))[0]

    J = np.asarray(jax.jacfwd(xi)(z))
    n = z.size
    K = np.eye(n) / eta
    K[:n_phi, n_phi:] = J[:n_phi, n_phi:]
    K[n_phi:, :n_phi] = J[n_phi:, :n_phi]
    return np.linalg.solve(K, -np.asarray(xi(z)))


@pytest.mark.parametrize("which", ["general-sum", "dirac"])
def test_cgd_step_is_the_nash_of_the_local_bilinear_game(which):
    if which == "dirac":
        game, w = jg.games.dirac("standard"), jg.Joint(jnp.asarray(0.8), jnp.asarray(-0.6))
    else:
        game, w = _general_sum()
    eta = 0.7
    tx = jg.transforms.cgd(eta)
    u, state = tx.update(jg.simultaneous_gradient(game)(w), tx.init(w), w, game=game)
    np.testing.assert_allclose(ravel_pytree(u)[0], _local_bilinear_nash(game, w, eta), rtol=1e-9, atol=1e-12)
    assert int(state.failures) == 0 and int(state.iterations) > 0


def test_cgd_reports_unconverged_solves_instead_of_nan():
    game, w = _general_sum()
    tx = jg.transforms.cgd(0.9, maxiter=1, warm_start=False)
    out = jg.rollout(game, tx, w, 3)
    assert bool(out.finite) and int(out.state.failures) > 0
    strict = jg.rollout(game, jg.transforms.cgd(0.9, maxiter=1, warm_start=False, strict=True), w, 1)
    assert not bool(strict.finite)


def test_cgd_and_hamiltonian_converge_where_simgd_spirals_out():
    game = jg.games.bilinear(1.0)
    w0 = jg.Joint(jnp.asarray(1.0), jnp.asarray(1.0))
    for tx in (jg.transforms.cgd(0.5), optax.chain(jg.transforms.hamiltonian(), optax.sgd(0.5))):
        final = jg.rollout(game, tx, w0, 300).final
        assert float(jnp.hypot(final.phi, final.theta)) < 1e-8
    final = jg.rollout(game, optax.sgd(0.5), w0, 300).final
    assert float(jnp.hypot(final.phi, final.theta)) > 1.0


def test_cgd_errors():
    with pytest.raises(TypeError, match="warm_start"):
        jg.transforms.cgd(0.1, warm_start=1)
    with pytest.raises(ValueError, match="maxiter"):
        jg.transforms.cgd(0.1, maxiter=0)
    tx = jg.transforms.cgd(0.1)
    w = jg.Joint(1.0, 1.0)
    with pytest.raises(TypeError, match="game"):
        tx.update(w, tx.init(w), w)


def _dense_adaptive_step(game, w, xi_flat, a_flat):
    """The local bilinear Nash step with diagonal step sizes A, by a dense solve."""
    z, unravel = ravel_pytree(w)
    n_phi = ravel_pytree(w.phi)[0].size
    J = np.asarray(jax.jacfwd(lambda v: ravel_pytree(jg.simultaneous_gradient(game)(unravel(v)))[0])(z))
    K = np.diag(1.0 / a_flat)
    K[:n_phi, n_phi:] = J[:n_phi, n_phi:]
    K[n_phi:, :n_phi] = J[n_phi:, :n_phi]
    return np.linalg.solve(K, -xi_flat)


@pytest.mark.parametrize("which", ["general-sum", "zero-sum"])
def test_acgd_steps_are_the_preconditioned_local_nash(which):
    if which == "zero-sum":
        rng = np.random.default_rng(3)
        A = jnp.asarray(rng.normal(size=(3, 2)))
        game = jg.zero_sum(lambda x, y: x @ A @ y + 0.3 * jnp.sum(x**2) * jnp.sum(jnp.sin(y)) - 0.2 * jnp.sum(y**2))
        w = jg.Joint(jnp.array([0.4, -0.2, 0.9]), jnp.array([0.1, -0.5]))
    else:
        game, w = _general_sum()
    eta, beta, eps = 0.4, 0.8, 1e-3
    tx = jg.transforms.acgd(eta, beta=beta, eps=eps)
    state, nu = tx.init(w), 0.0
    for t in (1, 2, 3):  # three steps: the second-moment estimate and its bias correction by hand
        xi = ravel_pytree(jg.simultaneous_gradient(game)(w))[0]
        nu = beta * nu + (1 - beta) * np.asarray(xi) ** 2
        a = eta / (np.sqrt(nu / (1 - beta**t)) + eps)
        expected = _dense_adaptive_step(game, w, np.asarray(xi), a)
        u, state = tx.update(jg.simultaneous_gradient(game)(w), state, w, game=game)
        np.testing.assert_allclose(ravel_pytree(u)[0], expected, rtol=1e-9, atol=1e-12)
        assert int(state.count) == t and int(state.failures) == 0
        w = optax.apply_updates(w, u)


def test_acgd_converges_on_the_bilinear_game_and_checks_its_options():
    game = jg.games.bilinear(1.0)
    final = jg.rollout(game, jg.transforms.acgd(0.2), jg.Joint(jnp.asarray(1.0), jnp.asarray(1.0)), 500).final
    assert float(jnp.hypot(final.phi, final.theta)) < 1e-8
    for kw, match in (({"beta": 1.0}, "beta"), ({"eps": 0.0}, "eps"), ({"eps": float("nan")}, "eps"),
                      ({"maxiter": 0}, "maxiter"), ({"strict": "yes"}, "strict")):
        with pytest.raises((ValueError, TypeError), match=match):
            jg.transforms.acgd(0.1, **kw)


@pytest.mark.parametrize("batch", [True, False])
def test_stability_maps_of_cgd_hamiltonian_and_lola_against_their_closed_forms(batch):
    # f = alpha x y over (eta, alpha): CGD (1 + eta^2 alpha^2)^(-1/2); Hamiltonian |1 - eta alpha^2|;
    # LOLA (weight a): d xi / dw = [[2 a alpha^2, alpha], [-alpha, 2 a alpha^2]], so
    # |1 - eta (2 a alpha^2 +- i alpha)|
    grid, shape = jg.grid_product(lr=jnp.array([0.1, 0.4, 1.0]), alpha=jnp.array([0.5, 1.0, 2.0]))
    eta, alpha = np.asarray(grid["lr"]), np.asarray(grid["alpha"])
    game = lambda h: jg.games.bilinear(1.0).replace(  # noqa: E731
        loss_g=lambda x, y: h["alpha"] * x * y, loss_d=lambda x, y: -h["alpha"] * x * y, grad_fn=None)
    cases = {
        "cgd": (lambda h: jg.transforms.cgd(h["lr"]), (1 + eta**2 * alpha**2) ** -0.5),
        "hamiltonian": (lambda h: optax.chain(jg.transforms.hamiltonian(), optax.sgd(h["lr"])), np.abs(1 - eta * alpha**2)),
        "lola": (lambda h: optax.chain(jg.transforms.lola(0.3), optax.sgd(h["lr"])),
                 np.hypot(1 - eta * 0.6 * alpha**2, eta * alpha)),
    }
    for name, (make_tx, expected) in cases.items():
        m = jg.stability_map(game, make_tx, grid, shape=shape, batch_radius=batch)
        np.testing.assert_allclose(np.asarray(m.radius).ravel(), expected, rtol=1e-10, err_msg=name)
