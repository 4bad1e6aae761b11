"""Stationary-point certificates: verdicts on games of known type, extremes against dense eigh (float64)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

import jaxgan as jg
from jaxgan._analysis import certificate as _certificate

NASH = "local Nash"
MINIMAX = "local minimax (differential Stackelberg), not Nash"


@pytest.mark.parametrize(
    "a, b, c, verdict, s",
    [
        (1.0, 1.0, 1.0, NASH, 2.0),  # f = x^2/2 + xy - y^2/2: both strictly convex in their own variable
        (-1.0, 2.0, 1.0, MINIMAX, 3.0),  # S = a + b^2 / c = -1 + 4 > 0 while f_xx < 0
        (-2.0, 1.0, 1.0, "neither", -1.0),  # S = -2 + 1 < 0
        (1.0, 0.5, -1.0, "neither", None),  # the maximiser sits at a minimum of f in y: S not computed
        (0.0, 1.0, 1.0, "local minimax (differential Stackelberg)", 1.0),  # f_xx = 0: Nash undecided, S = 1
        (1.0, 1.0, 0.0, "inconclusive", None),  # f_yy = 0: S undefined
    ],
)
def test_verdicts_on_scalar_quadratic_games(a, b, c, verdict, s):
    # quadratic(a, b, c): f = a x^2/2 + b x y - c y^2/2, min over x, max over y (Jin et al. 2020)
    game = jg.games.quadratic(a, b, c)
    cert = jg.stationary_point_certificate(game, game.equilibrium)
    assert cert.verdict == verdict, cert.reason
    np.testing.assert_allclose(float(cert.leader.smallest), a, atol=1e-12)
    np.testing.assert_allclose(float(cert.follower.smallest), c, atol=1e-12)
    if s is not None:
        np.testing.assert_allclose(float(cert.stackelberg.smallest), s, rtol=1e-10)
    else:  # H_tt not positive definite: no best response, S and T are not computed
        assert np.isnan(float(cert.stackelberg.smallest)) and np.isnan(cert.total_gradient_norm)
        assert c > 0 or "S not computed" in cert.reason
    assert cert.operator == "schur_complement"


def _vector_game(leader_shift, follower_shift, seed=0):
    rng = np.random.default_rng(seed)
    P = rng.normal(size=(7, 7))
    A = (P + P.T) / 2
    A = A - (np.linalg.eigvalsh(A).min() - leader_shift) * np.eye(7)  # lambda_min(A) = leader_shift
    Q = rng.normal(size=(5, 5))
    C = Q @ Q.T / 5
    C = C - (np.linalg.eigvalsh(C).min() - follower_shift) * np.eye(5)
    B = rng.normal(size=(7, 5))
    return jg.games.quadratic(A, B, C), A, B, C


@pytest.mark.parametrize("path", ["matrix-free", "dense"])
@pytest.mark.parametrize("leader_shift, verdict", [(0.5, NASH), (-0.3, None)])
def test_matrix_free_extremes_match_dense_eigh(leader_shift, verdict, path, monkeypatch):
    """Both paths of a zero-sum game against numpy's eigh: restarted Arnoldi with CG solves
    (forced here by a dense limit of 0; the path of games above ``DENSE_CERTIFICATE``) and the
    dense Jacobian's blocks (the path of small games)."""
    if path == "matrix-free":
        monkeypatch.setattr(_certificate, "DENSE_CERTIFICATE", 0)
    game, A, B, C = _vector_game(leader_shift, 0.7)
    cert = jg.stationary_point_certificate(game, game.equilibrium)
    S = A + B @ np.linalg.solve(C, B.T)  # H_pp - H_pt H_tt^-1 H_tp with H_pt = B, H_tp = -B^T, H_tt = C
    for got, M in ((cert.leader, A), (cert.follower, C), (cert.stackelberg, S)):
        lam = np.linalg.eigvalsh(M)
        np.testing.assert_allclose([float(got.smallest), float(got.largest)], [lam[0], lam[-1]], rtol=1e-8, atol=1e-10)
        assert bool(got.converged)
    expected = verdict or (MINIMAX if np.linalg.eigvalsh(S)[0] > 0 else "neither")
    assert cert.verdict == expected
    assert bool(cert.inner_solve.converged)


def test_a_local_minimax_point_that_is_not_nash_in_dimension_seven():
    # shift the leader's own curvature negative but keep S positive: B B^T / C dominates
    game, A, B, C = _vector_game(-0.05, 0.7, seed=4)
    S = A + B @ np.linalg.solve(C, B.T)
    assert np.linalg.eigvalsh(S)[0] > 0 and np.linalg.eigvalsh(A)[0] < 0
    assert jg.stationary_point_certificate(game, game.equilibrium).verdict == MINIMAX



@pytest.mark.parametrize("b, verdict, total", [(1.0, "neither", -3.0), (-1.0, MINIMAX, 1.0)])
def test_general_sum_uses_the_leaders_total_hessian(b, verdict, total):
    # L_g = -x^2/2 + b x y, L_d = y^2/2 + x y: r(x) = -x, D^2 L_g(x, r(x)) = -1 - 2 b
    game = jg.Game(lambda x, y: -0.5 * x**2 + b * x * y, lambda x, y: 0.5 * y**2 + x * y)
    cert = jg.stationary_point_certificate(game, jg.Joint(jnp.asarray(0.0), jnp.asarray(0.0)))
    assert cert.operator == "stackelberg_hessian"
    np.testing.assert_allclose(float(cert.stackelberg.smallest), total, rtol=1e-12)
    assert cert.verdict == verdict, cert.reason


def test_a_point_that_is_not_stationary_says_so_with_its_numbers():
    data = jg.datasets.ring().sample(jax.random.PRNGKey(0), 16)
    ng = jg.games.mlp_gan(data, key=jax.random.PRNGKey(1), hidden=(4,))
    cert = jg.stationary_point_certificate(ng.game, ng.params)
    xi = np.asarray(jax.jit(lambda w: ravel_pytree(jg.simultaneous_gradient(ng.game)(w))[0])(ng.params))  # one program
    np.testing.assert_allclose(cert.gradient_norm, np.linalg.norm(xi), rtol=1e-12)
    assert cert.verdict == "not stationary" and "gtol" in cert.reason
    J = -np.asarray(jg.jacobian(ng.game, ng.params))
    n_phi = sum(int(np.size(x)) for x in jax.tree.leaves(ng.params.phi))
    lam = np.linalg.eigvalsh((J[:n_phi, :n_phi] + J[:n_phi, :n_phi].T) / 2)
    np.testing.assert_allclose([float(cert.leader.smallest), float(cert.leader.largest)], [lam[0], lam[-1]], atol=1e-9)
    # gtol=inf reads the same numbers as a second-order verdict (the same compiled program)
    anywhere = jg.stationary_point_certificate(ng.game, ng.params, gtol=np.inf)
    assert anywhere.verdict != "not stationary" and float(anywhere.leader.smallest) == float(cert.leader.smallest)


def test_bad_options():
    game = jg.games.quadratic(1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="stationary_point_certificate: `gtol`"):
        jg.stationary_point_certificate(game, game.equilibrium, gtol=-1.0)
    with pytest.raises(ValueError, match="stationary_point_certificate: `rtol`"):
        jg.stationary_point_certificate(game, game.equilibrium, rtol=2.0)
    with pytest.raises(ValueError, match="stationary_point_certificate: `w.phi` has non-finite"):
        jg.stationary_point_certificate(game, jg.Joint(jnp.asarray(np.nan), jnp.asarray(0.0)))


@pytest.mark.parametrize("n", [2, 3])
def test_players_of_two_or_three_parameters_get_the_dense_extremes(n):
    """Too few Krylov vectors to keep complex pairs real (n < k + 3): the real Hessian products
    are applied to complex vectors by linearity, and the extremes are the dense eigenvalues."""
    rng = np.random.RandomState(n)
    a, c = rng.randn(n, n), rng.randn(n, n)
    a, c = a @ a.T + np.eye(n), c @ c.T + np.eye(n)  # f_xx > 0, -f_yy > 0: local Nash
    b = rng.randn(n, n)
    game = jg.games.quadratic(a, b, c)
    cert = jg.stationary_point_certificate(game, jg.Joint(jnp.zeros(n), jnp.zeros(n)))
    for got, h in ((cert.leader, a), (cert.follower, c)):
        lam = np.linalg.eigvalsh(h)
        np.testing.assert_allclose([got.smallest, got.largest], [lam[0], lam[-1]], rtol=1e-9)
    s = a + b @ np.linalg.solve(c, b.T)  # the Schur complement of min_x max_y f
    lam = np.linalg.eigvalsh(s)
    np.testing.assert_allclose([cert.stackelberg.smallest, cert.stackelberg.largest], [lam[0], lam[-1]],
                               rtol=1e-8)
    assert cert.verdict.startswith("local Nash")
