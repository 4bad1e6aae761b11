"""transforms/_proximal_point: the implicit step ``w+ = w - eta xi(w+)`` (Mokhtari et al. 2020),
against its closed forms and the implicit equation itself."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxgan as jg


@pytest.mark.parametrize("eta", [0.5, 2.0])  # 1.0: the docstring example
def test_radius_on_the_bilinear_game(eta):
    game = jg.games.bilinear(1.0)
    assert float(jg.spectral_radius(game, jg.transforms.proximal_point(eta), game.equilibrium)) == pytest.approx(
        1 / np.sqrt(1 + eta**2), abs=1e-12)


@pytest.mark.parametrize("linear_solver", ["dense", "gmres"])
def test_the_step_jacobian_is_the_resolvent_on_a_quadratic_game(linear_solver):
    game, eta = jg.games.quadratic(1.0, 2.0, 0.5), 1.0
    j_xi = -np.asarray(jg.jacobian(game, game.equilibrium))
    resolvent = np.linalg.inv(np.eye(2) + eta * j_xi)
    tx = jg.transforms.proximal_point(eta, linear_solver=linear_solver)
    np.testing.assert_allclose(jg.update_jacobian(game, tx, game.equilibrium), resolvent, atol=1e-10)
    radius = float(jg.spectral_radius(game, tx, game.equilibrium))
    assert radius == pytest.approx(np.max(np.abs(np.linalg.eigvals(resolvent))), abs=1e-10)
    assert radius == pytest.approx(0.378, abs=5e-4)  # where CGD's radius is 0.1
    assert float(jg.spectral_radius(game, jg.transforms.cgd(eta), game.equilibrium)) == pytest.approx(0.1, abs=1e-8)


def test_a_nonlinear_step_solves_the_implicit_equation():
    game = jg.games.dirac("standard")
    xi = jg.simultaneous_gradient(game)
    w = jg.Joint(jnp.asarray(0.8), jnp.asarray(-0.6))
    out = jg.rollout(game, jg.transforms.proximal_point(0.7), w, 1)
    z = out.final
    residual = jax.tree.map(lambda a, b, g: a - b + 0.7 * g, z, w, xi(z))
    assert max(abs(float(x)) for x in jax.tree.leaves(residual)) < 1e-10
    assert int(out.state.failures) == 0
    # one Newton step cannot solve it: the failure is counted, and NaN with strict
    short = jg.rollout(game, jg.transforms.proximal_point(0.7, maxiter=1, tol=1e-14), w, 1)
    assert int(short.state.failures) == 1
    strict = jg.rollout(game, jg.transforms.proximal_point(0.7, maxiter=1, tol=1e-14, strict=True), w, 1)
    assert not bool(strict.finite)


def test_n_players_and_corrections_before_it():
    game = jg.games.cyclic(4)
    eta = 0.5
    # with consensus before it, the implicit step is taken on the corrected field of 4 players
    tx = optax.chain(jg.transforms.consensus(0.3), jg.transforms.proximal_point(eta))
    a_c = -np.asarray(jg.jacobian(game, game.equilibrium, transform=jg.transforms.consensus(0.3)))
    np.testing.assert_allclose(jg.update_jacobian(game, tx, game.equilibrium), np.linalg.inv(np.eye(4) + eta * a_c),
                               atol=1e-10)


def test_the_step_derivative_is_the_resolvent_at_its_solution_and_nan_when_the_solve_fails():
    game = jg.games.dirac("standard")
    w = jg.Joint(jnp.asarray(0.8), jnp.asarray(-0.6))
    xi = jg.simultaneous_gradient(game)

    def step(v, **options):
        tx = jg.transforms.proximal_point(0.7, tol=1e-14, **options)
        update, _ = tx.update(xi(v), tx.init(v), v, game=game)
        return jnp.stack([v.phi + update.phi, v.theta + update.theta])

    z = step(w)
    # d z / d w = (I + eta d xi / dw (z))^{-1}, from z - w + eta xi(z) = 0
    j_xi = -np.asarray(jg.jacobian(game, jg.Joint(z[0], z[1])))
    jac = jax.jacfwd(lambda a: step(jg.Joint(a[0], a[1])))(jnp.stack([w.phi, w.theta]))
    np.testing.assert_allclose(jac, np.linalg.inv(np.eye(2) + 0.7 * j_xi), atol=1e-10)
    # one Newton step misses tol: no derivative (it was that of the unconverged iterate)
    cut = jax.jacfwd(lambda a: step(jg.Joint(a[0], a[1]), maxiter=1))(jnp.stack([w.phi, w.theta]))
    assert bool(jnp.all(jnp.isnan(cut)))


def test_inject_hyperparams_with_maxiter_static_steps_like_the_plain_transform():
    game = jg.games.dirac("standard")
    w = jg.Joint(jnp.asarray(0.8), jnp.asarray(-0.6))
    xi = jg.simultaneous_gradient(game)(w)
    inject = optax.inject_hyperparams(jg.transforms.proximal_point, static_args=("maxiter",))
    tx = inject(learning_rate=0.7)
    update, _ = jax.jit(lambda s: tx.update(xi, s, w, game=game))(tx.init(w))
    plain = jg.transforms.proximal_point(0.7)
    expected, _ = plain.update(xi, plain.init(w), w, game=game)
    np.testing.assert_allclose(list(update), list(expected), atol=1e-12)


# init outside jit: maxiter reaches its domain check as a concrete array; under jit, a tracer
@pytest.mark.parametrize("when", ["eager", "jit"])
def test_inject_hyperparams_without_maxiter_static_says_to_name_it_in_static_args(when):
    w = jg.Joint(jnp.asarray(0.8), jnp.asarray(-0.6))
    tx = optax.inject_hyperparams(jg.transforms.proximal_point)(learning_rate=0.7)
    init = tx.init if when == "eager" else jax.jit(tx.init)
    with pytest.raises(TypeError) as err:
        init(w)
    message = str(err.value)
    assert "`maxiter`" in message and "optax.inject_hyperparams" in message
    assert re.search(r"static_args=\((\"maxiter\"|'maxiter'),\)", message), message
