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
    for tx, d in ((jg.transforms.opponent_lookahead(ALPHA), la), (jg.transforms.lola(ALPHA), lola), (jg.transforms.sos(ALPHA), la)):
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
    expected = {"opponent_lookahead": la, "lola": la - ALPHA * d_chi}
    for name, tx in (("opponent_lookahead", jg.transforms.opponent_lookahead(ALPHA)), ("lola", jg.transforms.lola(ALPHA))):
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

    sos = final_sum(optax.chain(jg.transforms.sos(alpha), optax.sgd(0.1)))
    lola = final_sum(optax.chain(jg.transforms.lola(alpha), optax.sgd(0.1)))
    assert np.mean(np.abs(sos - 1) < 1e-6) == 1.0  # 50 of 50 starts
    np.testing.assert_allclose(lola, (1 - 2 * alpha) / (1 - 4 * alpha), rtol=1e-9)
    assert np.mean(np.abs(lola - 1) < 1e-2) == 0.0  # none of them


def test_sos_rejects_its_criteria_out_of_range():
    with pytest.raises(ValueError, match="`a`"):
        jg.transforms.sos(0.1, a=1.5)
    with pytest.raises(ValueError, match="`b`"):
        jg.transforms.sos(0.1, b=0.0)


def test_ipd_values_against_the_markov_chain_summed_by_hand():
    rng = np.random.default_rng(2)
    gamma = 0.96
    ipd_values = jax.jit(jg.games.ipd_values)  # one compiled program, not one per jnp operation
    for _ in range(3):
        t1, t2 = rng.normal(size=5), rng.normal(size=5)
        p1 = 1 / (1 + np.exp(-t1))
        p2 = 1 / (1 + np.exp(-t2))
        # player 2 conditions on (its action, player 1's): player 1's state CD is its DC
        coop2 = {"CC": p2[1], "CD": p2[3], "DC": p2[2], "DD": p2[4]}
        coop1 = {"CC": p1[1], "CD": p1[2], "DC": p1[3], "DD": p1[4]}
        states = ["CC", "CD", "DC", "DD"]

        def dist(a, b):
            return np.array([a * b, a * (1 - b), (1 - a) * b, (1 - a) * (1 - b)])

        P = np.stack([dist(coop1[s], coop2[s]) for s in states])
        x = dist(p1[0], p2[0])
        l1 = l2 = 0.0
        for t in range(2000):  # gamma^2000 < 1e-35
            l1 += gamma**t * x @ np.array([1.0, 3.0, 0.0, 2.0])
            l2 += gamma**t * x @ np.array([1.0, 0.0, 3.0, 2.0])
            x = x @ P
        got = ipd_values(jnp.asarray(t1), jnp.asarray(t2), gamma)
        np.testing.assert_allclose([float(got[0]), float(got[1])], [(1 - gamma) * l1, (1 - gamma) * l2], rtol=1e-12)
    # deterministic policies: always-C against always-D scores 3 and 0; tit-for-tat against
    # always-D is exploited once: (1 - gamma) 3 + gamma 2
    c, d = jnp.full(5, 40.0), jnp.full(5, -40.0)
    tft = jnp.array([40.0, 40.0, -40.0, 40.0, -40.0])
    np.testing.assert_allclose([float(v) for v in ipd_values(c, d)], [3.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(float(ipd_values(tft, d)[0]), 0.04 * 3 + 0.96 * 2, atol=1e-12)


def _shaped(name, alpha, lr):
    if name == "naive":
        return optax.sgd(lr)
    return optax.chain({"la": jg.transforms.opponent_lookahead, "lola": jg.transforms.lola, "sos": jg.transforms.sos}[name](alpha), optax.sgd(lr))


def test_matching_pennies_from_50_starts():
    # the Nash equilibrium p = q = 1/2 has Jacobian eigenvalues +- i/4: naive learning spirals
    # out to the boundary; LA, LOLA and SOS (alpha = 1, lr = 0.1) converge from every start
    game = jg.games.matching_pennies()
    starts = jax.random.normal(jax.random.PRNGKey(0), (50, 2))
    names = ("naive", "la", "lola", "sos")

    @jax.jit
    def gaps(starts):
        # the four learners' distances to (1/2, 1/2) from the 50 starts: one program
        out = []
        for name in names:
            tx = _shaped(name, 1.0, 0.1)
            final = jax.vmap(lambda s: jg.rollout(game, tx, jg.Joint(s[0], s[1]), 2000).final)(starts)
            out.append(jnp.hypot(jax.nn.sigmoid(final.phi) - 0.5, jax.nn.sigmoid(final.theta) - 0.5))
        return out

    fractions = {name: float(np.mean(np.asarray(gap) < 1e-3)) for name, gap in zip(names, gaps(starts))}
    assert fractions == {"naive": 0.0, "la": 1.0, "lola": 1.0, "sos": 1.0}


def test_iterated_prisoners_dilemma_from_50_starts():
    # Foerster et al.'s exact-gradient IPD, gamma = 0.96, policies N(0, 1), learning rate and
    # alpha of 1 in undiscounted units (25 in these (1 - gamma)-scaled ones), 200 steps.
    # Mutual cooperation scores 1, mutual defection 2. Measured fractions (average loss
    # < 1.1 / > 1.9): naive 0.02 / 0.98, LA 0.08 / 0.92, LOLA 0.84 / 0.04, SOS 0.78 / 0.16.
    game = jg.games.iterated_prisoners_dilemma(0.96)
    starts = jax.random.normal(jax.random.PRNGKey(0), (50, 10))
    names = ("naive", "la", "lola", "sos")

    @jax.jit
    def final_losses(starts):
        # the four learners' runs from the 50 starts and their players' values: one program
        out = []
        for name in names:
            tx = _shaped(name, 25.0, 25.0)
            final = jax.vmap(lambda s: jg.rollout(game, tx, jg.Joint(s[:5], s[5:]), 200).final)(starts)
            out.append(jax.vmap(lambda a, b: jnp.stack(jg.games.ipd_values(a, b)))(final.phi, final.theta))
        return out

    got = {}
    for name, losses in zip(names, final_losses(starts)):
        average = np.asarray(losses).mean(axis=1)
        assert np.all(np.isfinite(average)) and np.all((average > 0.99) & (average < 2.01))
        got[name] = (float(np.mean(average < 1.1)), float(np.mean(average > 1.9)))
    assert got["naive"] == (0.02, 0.98) and got["la"] == (0.08, 0.92)
    assert got["lola"] == (0.84, 0.04) and got["sos"] == (0.78, 0.16)
