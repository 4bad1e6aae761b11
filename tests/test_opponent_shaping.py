"""Look-ahead, LOLA and SOS against update matrices derived by hand (float64), and the Tandem game."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxgan as jg

ALPHA, ETA = 0.3, 0.1


def test_update_matrices_on_the_bilinear_game():
    # f = x y: xi = (y, -x), H = H_o = [[0, 1], [-1, 0]]; H_o xi = (-x, -y);
    # chi = (D_tp^T grad_y L_g, D_pt^T grad_x L_d) = (-x, -y)
    game = jg.games.bilinear(1.0)
    eq = game.equilibrium
    la = np.array([[ALPHA, 1.0], [-1.0, ALPHA]])  # d xi_LA / dw
    lola = np.array([[2 * ALPHA, 1.0], [-1.0, 2 * ALPHA]])
    for tx, d in ((jg.look_ahead(ALPHA), la), (jg.lola(ALPHA), lola), (jg.sos(ALPHA), la)):
        # SOS at an equilibrium: p = |xi|^2 vanishes to second order, so its operator is LA's
        m = jg.update_jacobian(game, optax.chain(tx, optax.sgd(ETA)), eq)
        np.testing.assert_allclose(np.asarray(m), np.eye(2) - ETA * d, rtol=1e-12, atol=1e-14)


def test_update_matrices_on_a_general_sum_quadratic_game():
    rng = np.random.default_rng(0)
    A, C = (rng.normal(size=(k, k)) for k in (2, 3))
    A, C = A + A.T, C + C.T
    B, D = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    b1, b2 = rng.normal(size=2), rng.normal(size=3)
    # L_g = x^T A x / 2 + x^T B y + b1^T x, L_d = y^T C y / 2 + x^T D y + b2^T y
    game = jg.Game(
        lambda x, y: 0.5 * x @ A @ x + x @ B @ y + b1 @ x,
        lambda x, y: 0.5 * y @ C @ y + x @ D @ y + b2 @ y,
    )
    w = jg.Joint(jnp.asarray(rng.normal(size=2)), jnp.asarray(rng.normal(size=3)))
    H = np.block([[A, B], [D.T, C]])
    H_o = np.block([[np.zeros((2, 2)), B], [D.T, np.zeros((3, 3))]])
    # chi_x = (d xi_y / d x)^T grad_y L_g = D B^T x, chi_y = (d xi_x / d y)^T grad_x L_d = B^T D y
    d_chi = np.block([[D @ B.T, np.zeros((2, 3))], [np.zeros((3, 2)), B.T @ D]])
    la = (np.eye(5) - ALPHA * H_o) @ H
    expected = {"look_ahead": la, "lola": la - ALPHA * d_chi}
    for name, tx in (("look_ahead", jg.look_ahead(ALPHA)), ("lola", jg.lola(ALPHA))):
        m = jg.update_jacobian(game, optax.chain(tx, optax.sgd(ETA)), w)
        np.testing.assert_allclose(np.asarray(m), np.eye(5) - ETA * expected[name], rtol=1e-11, atol=1e-12)


def test_sos_reaches_the_tandem_equilibria_where_lola_does_not():
    # L1 = (x + y)^2 - 2x, L2 = (x + y)^2 - 2y: every point of x + y = 1 is a Nash equilibrium.
    # LOLA's fixed points move to x + y = (1 - 2 alpha) / (1 - 4 alpha) (Letcher et al. 2019)
    tandem = jg.Game(lambda x, y: (x + y) ** 2 - 2 * x, lambda x, y: (x + y) ** 2 - 2 * y)
    alpha = 0.1
    starts = jax.random.normal(jax.random.PRNGKey(0), (50, 2))

    def final_sum(tx):
        run = jax.vmap(lambda s: jg.rollout(tandem, tx, jg.Joint(s[0], s[1]), 500).final)
        out = run(starts)
        return np.asarray(out.phi + out.theta)

    sos = final_sum(optax.chain(jg.sos(alpha), optax.sgd(0.1)))
    lola = final_sum(optax.chain(jg.lola(alpha), optax.sgd(0.1)))
    assert np.mean(np.abs(sos - 1) < 1e-6) == 1.0  # 50 of 50 starts
    np.testing.assert_allclose(lola, (1 - 2 * alpha) / (1 - 4 * alpha), rtol=1e-9)
    assert np.mean(np.abs(lola - 1) < 1e-2) == 0.0  # none of them


def test_sos_rejects_its_criteria_out_of_range():
    with pytest.raises(ValueError, match="`a`"):
        jg.sos(0.1, a=1.5)
    with pytest.raises(ValueError, match="`b`"):
        jg.sos(0.1, b=0.0)
