"""transforms/_proximal_point: the implicit step ``w+ = w - eta xi(w+)`` (Mokhtari et al. 2020),
against its closed forms and the implicit equation itself."""

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
