"""_modified: the modified field of gradient steps (backward error analysis, Barrett & Dherin
2021; Rosca et al. 2021) against its closed forms on linear games and against discrete steps."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxgan as jg

M = np.array([[0.5, 2.0], [-1.5, 0.3]])  # xi = M w


def _linear_game(m):
    m = jnp.asarray(m)
    return jg.Game(lambda p, t: p * (m[0, 0] * p / 2 + m[0, 1] * t), lambda p, t: t * (m[1, 0] * p + m[1, 1] * t / 2),
                   equilibrium=jg.Joint(jnp.asarray(0.0), jnp.asarray(0.0)))


def test_the_simultaneous_modified_field_of_a_linear_game():
    # v = J w with J = -M: the modified field is (J - (lr/2) J^2) w
    game, lr = _linear_game(M), 0.3
    j = -M
    got = jg.jacobian(jg.modified_game(game, lr), game.equilibrium)
    np.testing.assert_allclose(got, j - lr / 2 * j @ j, atol=1e-12)


@pytest.mark.parametrize("order", ["g_first", "d_first"])
def test_the_alternating_modified_field_of_a_linear_game(order):
    # the second mover's cross term changes sign: g_first, xi~_t = xi_t + (lr/2)(M_tt xi_t - M_tp xi_p)
    game, lr, r = _linear_game(M), 0.3, 2.0
    d = np.diag([1.0, r])
    want = d @ M + lr / 2 * d @ M @ d @ M
    second = 1 if order == "g_first" else 0
    first = 1 - second
    e_second, e_first = np.zeros((2, 2)), np.zeros((2, 2))
    e_second[second, second], e_first[first, first] = 1.0, 1.0
    want = want - lr * e_second @ d @ M @ e_first @ d @ M
    got = -np.asarray(jg.jacobian(jg.modified_game(game, lr, order=order, scales=(1.0, r)), game.equilibrium))
    np.testing.assert_allclose(got, want, atol=1e-12)
    # n-player spelling of the same order
    tup = (0, 1) if order == "g_first" else (1, 0)
    np.testing.assert_allclose(-np.asarray(jg.jacobian(jg.modified_game(game, lr, order=tup, scales=(1.0, r)),
                                                       game.equilibrium)), want, atol=1e-12)


def test_one_step_follows_the_modified_flow_to_third_order():
    # one discrete SimGD step against the flow over time lr: the error falls ~8x per halving with
    # the modified field (O(lr^3)), ~4x with the plain field (O(lr^2))
    game = jg.games.dirac("standard")
    xi = jg.simultaneous_gradient(game)
    w0 = jg.Joint(jnp.asarray(0.9), jnp.asarray(-0.7))
    errors = {"modified": [], "plain": []}
    for lr in (0.2, 0.1, 0.05):
        step = jax.tree.map(lambda a, g: a - lr * g, w0, xi(w0))
        for kind, g in (("modified", jg.modified_game(game, lr)), ("plain", game)):
            end = jg.flows.flow(g, w0, jnp.array([0.0, lr])).ys
            errors[kind].append(float(np.hypot(end.phi[-1] - step.phi, end.theta[-1] - step.theta)))
    ratios = {k: np.array(v[:-1]) / np.array(v[1:]) for k, v in errors.items()}
    assert np.all((ratios["modified"] > 7) & (ratios["modified"] < 9)), ratios
    assert np.all((ratios["plain"] > 3.5) & (ratios["plain"] < 4.5)), ratios


def test_the_drift_destabilises_simultaneous_steps_on_the_dirac_gan_and_not_alternating_ones():
    # Dirac-GAN (eigenvalues +- i f'(0)): the simultaneous drift has Re = +(lr/2) f'(0)^2 > 0 (the
    # spiral out of SimGD); with g_first the second mover's flipped cross term cancels it: Re = 0
    game, lr, fp = jg.games.dirac("wgan"), 0.2, 1.0
    sim = np.asarray(jg.eigenvalues(jg.modified_game(game, lr), game.equilibrium))
    np.testing.assert_allclose(sim.real, lr / 2 * fp**2, atol=1e-12)
    alt = np.asarray(jg.eigenvalues(jg.modified_game(game, lr, order="g_first"), game.equilibrium))
    np.testing.assert_allclose(alt.real, 0.0, atol=1e-12)
    assert float(jg.spectral_radius(game, optax.sgd(lr), game.equilibrium)) > 1


def test_bad_input():
    game = jg.games.dirac()
    with pytest.raises(ValueError, match="one relative step size per player"):
        jg.modified_game(game, 0.1, scales=(1.0,))
    with pytest.raises(ValueError, match="lr"):
        jg.modified_game(game, -0.1)
    with pytest.raises(ValueError, match="permutation"):
        jg.modified_game(jg.games.cyclic(3), 0.1, order="g_first")


def test_the_drift_flips_a_stable_flow_where_its_closed_form_says():
    """Flow eigenvalues -eps +- i omega; simultaneous drift: lambda - (h/2) lambda^2, real part
    -eps + (h/2)(omega^2 - eps^2), zero at h = 2 eps / (omega^2 - eps^2) (the notebook's section 6)."""
    eps, om = 0.1, 1.0
    game = jg.zero_sum(lambda x, y: 0.5 * eps * x**2 - 0.5 * eps * y**2 + om * x * y)
    origin = jg.Joint(jnp.asarray(0.0), jnp.asarray(0.0))
    lrs = jnp.array([0.1, 0.2, 2 * eps / (om**2 - eps**2), 0.3])
    lam = np.linalg.eigvals(np.asarray(jax.vmap(lambda h: jg.jacobian(jg.modified_game(game, h), origin))(lrs)))
    expected = -eps + 0.5 * np.asarray(lrs) * (om**2 - eps**2)
    np.testing.assert_allclose(lam.real.max(-1), expected, atol=1e-13)
    assert abs(lam.real.max(-1)[2]) < 1e-13
