"""n-player games: closed forms of the cyclic game, Cournot competition, cyclic matching pennies
and GMAN through the public API; LA, LOLA and CGD against references written here with plain
``jax.grad``/``jax.jacfwd``; Gauss-Seidel step matrices of ``alternating`` over players; the
two-player case equal to ``Game``; two-player-only methods refused; repeat calls compile nothing."""

import collections
import contextlib

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxgan as jg

SQRT2 = np.sqrt(2.0)


def cyclic_frequencies(n):
    """``mu_k = cot((2k + 1) pi / (2n))``: the eigenvalues of the cyclic game are ``i mu_k``."""
    k = np.arange(n)
    return 1.0 / np.tan((2 * k + 1) * np.pi / (2 * n))


# --------------------------------------------------------------------------- the cyclic game


@pytest.mark.parametrize("stacked", [False, True])
def test_cyclic_game_jacobian_and_eigenvalues_for_four_players(stacked):
    game = jg.games.cyclic(4, stacked=stacked)
    a = np.asarray(jg.jacobian(game, game.equilibrium))
    upper = np.triu(np.ones((4, 4)), 1)
    np.testing.assert_allclose(a, -(upper - upper.T), atol=1e-15)  # v = -xi, xi_i = sum_{j>i} - sum_{j<i}
    lam = np.asarray(jg.eigenvalues(game, game.equilibrium))
    np.testing.assert_allclose(lam.real, 0.0, atol=1e-10)
    want = [-(1 + SQRT2), -(SQRT2 - 1), SQRT2 - 1, 1 + SQRT2]
    np.testing.assert_allclose(np.sort(lam.imag), want, atol=1e-10)


@pytest.mark.parametrize("n", [3, 5, 6, 7])
def test_cyclic_game_eigenvalues_for_n_players(n):
    game = jg.games.cyclic(n)
    lam = np.asarray(jg.eigenvalues(game, game.equilibrium))
    np.testing.assert_allclose(np.sort(lam.imag), np.sort(cyclic_frequencies(n)), atol=1e-10)


@pytest.mark.parametrize("n, stacked", [(3, False), (4, True), (6, False)])
def test_cyclic_game_simgd_and_sga_radii(n, stacked):
    # SimGD: eigenvalues 1 - lr i mu; SGA with A = J (antisymmetric): J_lam = J - lam J^2, so the
    # step's eigenvalues are 1 - lr (lam mu^2 + i mu)
    game, lr, lam = jg.games.cyclic(n, stacked=stacked), 0.1, 0.5
    mu = cyclic_frequencies(n)
    simgd = np.max(np.sqrt(1 + (lr * mu) ** 2))
    assert float(jg.spectral_radius(game, optax.sgd(lr), game.equilibrium)) == pytest.approx(simgd, abs=1e-10)
    sga = np.max(np.abs(1 - lr * (lam * mu**2 + 1j * mu)))
    for align in (False, True):  # at the equilibrium the alignment sign is that of epsilon > 0
        tx = optax.chain(jg.transforms.sga(lam, align=align), optax.sgd(lr))
        assert float(jg.spectral_radius(game, tx, game.equilibrium)) == pytest.approx(sga, abs=1e-10)


# --------------------------------------------------------------------------- Cournot


@pytest.mark.parametrize("n, stacked", [(2, False), (3, True), (8, False), (8, True)])
def test_cournot_spectrum_and_simgd_threshold(n, stacked):
    b = 0.5
    game = jg.games.cournot(n, a=10.0, b=b, c=1.0, stacked=stacked)
    np.testing.assert_allclose(np.asarray(jax.tree.leaves(game.equilibrium)).ravel(), 9.0 / (b * (n + 1)), rtol=1e-14)
    np.testing.assert_allclose(np.asarray(jax.tree.leaves(jg.simultaneous_gradient(game)(game.equilibrium))), 0.0,
                               atol=1e-13)
    lam = np.sort(np.asarray(jg.eigenvalues(game, game.equilibrium)).real)
    np.testing.assert_allclose(lam, [-b * (n + 1)] + [-b] * (n - 1), atol=1e-10)  # of v = -xi
    threshold = 2 / (b * (n + 1))
    lrs = threshold * np.array([0.3, 0.7, 0.95, 1.05, 1.3])
    radii = [float(jg.spectral_radius(game, MAKE_SGD, game.equilibrium, hyperparams={"lr": lr})) for lr in lrs]
    want = [max(abs(1 - lr * b), abs(1 - lr * b * (n + 1))) for lr in lrs]
    np.testing.assert_allclose(radii, want, atol=1e-10)
    start = jax.tree.map(lambda x: x + 0.1, game.equilibrium)
    res = jg.sweep(game, MAKE_SGD, start, {"lr": jnp.asarray(lrs)}, 600)
    assert res.reference == "game.equilibrium"
    status = np.asarray(res.status)
    assert list(status[:3]) == [int(jg.RESULTS.converged)] * 3, status
    assert set(status[3:]) <= {int(jg.RESULTS.grew), int(jg.RESULTS.non_finite)}, status


# --------------------------------------------------------------------------- matching pennies and GMAN


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_cyclic_matching_pennies_eigenvalues(n):
    game = jg.games.cyclic_matching_pennies(n)
    lam = np.asarray(jg.eigenvalues(game, game.equilibrium))
    want = np.exp(1j * np.pi * (2 * np.arange(n) + 1) / n) / 4
    key = lambda z: (round(z.real, 9), round(z.imag, 9))  # noqa: E731
    np.testing.assert_allclose(sorted(lam, key=key), sorted(want, key=key), atol=1e-10)
    if n == 2:  # the two-player game of the catalogue
        two = jg.games.matching_pennies()
        np.testing.assert_allclose(jg.jacobian(game, game.equilibrium), jg.jacobian(two, two.equilibrium), atol=1e-15)


@pytest.mark.parametrize("loss, fp", [("standard", 0.5), ("wgan", 1.0)])
@pytest.mark.parametrize("k", [1, 2, 4])
def test_gman_dirac_eigenvalues(loss, fp, k):
    game = jg.games.gman(jg.games.dirac(loss), k)
    lam = np.asarray(jg.eigenvalues(game, game.equilibrium))
    np.testing.assert_allclose(lam.real, 0.0, atol=1e-12)
    np.testing.assert_allclose(np.sort(lam.imag), [-fp] + [0.0] * (k - 1) + [fp], atol=1e-10)
    one = jg.games.dirac(loss)
    w = jg.Players(jnp.asarray(0.3), *([jnp.asarray(-0.2)] * k))
    xi = jg.simultaneous_gradient(game)(w)
    ref = jg.simultaneous_gradient(one)(jg.Joint(w[0], w[1]))
    assert float(xi[0]) == pytest.approx(float(ref.phi), abs=1e-15)  # equal discriminators: the mean is one
    assert all(float(x) == pytest.approx(float(ref.theta), abs=1e-15) for x in list(xi)[1:])


# --------------------------------------------------------------------------- references with plain jax.grad


def _nonlinear_losses(n):
    """A general-sum game of ``n`` players of sizes 2, 1, 3, ...: smooth, with couplings in both
    directions and own curvature, so that every block of the Jacobian is non-zero."""

    def loss(i):
        def f(w):
            x = [jnp.atleast_1d(p) for p in w]
            own = jnp.sum(x[i] ** 2) * (0.5 + 0.1 * i) + 0.2 * jnp.sum(jnp.sin(x[i]) ** 3)
            nxt, prv = x[(i + 1) % n], x[(i - 1) % n]
            coupling = jnp.sum(x[i]) * jnp.sum(nxt) * (1.0 + 0.3 * i) - 0.7 * jnp.sum(jnp.tanh(x[i])) * jnp.sum(prv ** 2)
            return own + coupling + 0.05 * jnp.prod(jnp.array([jnp.sum(p) for p in x]))

        return f

    return [loss(i) for i in range(n)]


def _point(n):
    sizes = [2, 1, 3, 2][:n] if n <= 4 else [2] * n
    key = jax.random.PRNGKey(3)
    return jg.Players(*[jax.random.normal(jax.random.fold_in(key, i), (s,)) * 0.7 for i, s in enumerate(sizes)])


def _reference_blocks(losses, w):
    """``grad_j l_i`` and ``H_ij = d xi_i / d x_j`` as dense arrays (plain jax.grad/jacfwd, traced
    once under ``jit``: the same derivatives as op by op, without the eager dispatch)."""
    return jax.jit(lambda w: _blocks(losses, w))(w)


def _blocks(losses, w):
    n = len(losses)

    def with_player(j, x):
        return jg.Players(*[x if k == j else w[k] for k in range(n)])

    grads = [[jax.grad(lambda x, i=i, j=j: losses[i](with_player(j, x)))(w[j]) for j in range(n)] for i in range(n)]
    xi = [grads[i][i] for i in range(n)]

    def own_gradient(i, j, x):
        w_j = with_player(j, x)
        return jax.grad(lambda y: losses[i](jg.Players(*[y if k == i else w_j[k] for k in range(n)])))(w_j[i])

    h = [[jax.jacfwd(lambda x, i=i, j=j: own_gradient(i, j, x))(w[j]) for j in range(n)] for i in range(n)]
    return grads, xi, h


def _reference_la_lola(losses, w, alpha):
    grads, xi, h = _reference_blocks(losses, w)
    n = len(losses)
    la = [xi[i] - alpha * sum(h[i][j] @ xi[j] for j in range(n) if j != i) for i in range(n)]
    chi = [sum(h[j][i].T @ grads[i][j] for j in range(n) if j != i) for i in range(n)]
    lola = [la[i] - alpha * chi[i] for i in range(n)]
    return la, lola


def _reference_cgd(losses, w, eta):
    _, xi, h = _reference_blocks(losses, w)
    n = len(losses)
    sizes = [x.shape[0] for x in xi]
    big = np.block([[np.asarray(h[i][j]) if i != j else np.zeros((sizes[i], sizes[i])) for j in range(n)]
                    for i in range(n)])
    step = -eta * np.linalg.solve(np.eye(sum(sizes)) + eta * big, np.concatenate([np.asarray(x) for x in xi]))
    return np.split(step, np.cumsum(sizes)[:-1])


def _one_step(game, tx, w):
    return jax.tree.map(lambda a, b: a - b, jg.rollout(game, tx, w, 1).final, w)


@pytest.mark.parametrize("n", [3, 4])  # two players: test_the_two_player_references_reproduce_...
def test_look_ahead_and_lola_one_step_against_plain_jax_grad(n):
    losses, w, alpha, lr = _nonlinear_losses(n), _point(n), 0.3, 0.1
    game = jg.n_player_game(losses)
    la, lola = _reference_la_lola(losses, w, alpha)
    for tx_factory, ref in ((jg.transforms.opponent_lookahead, la), (jg.transforms.lola, lola)):
        step = _one_step(game, optax.chain(tx_factory(alpha), optax.sgd(lr)), w)
        for i in range(n):
            np.testing.assert_allclose(np.atleast_1d(step[i]), -lr * np.asarray(ref[i]), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("n", [3, 4])
def test_cgd_one_step_against_plain_jax_grad(n):
    losses, w, eta = _nonlinear_losses(n), _point(n), 0.4
    game = jg.n_player_game(losses)
    ref = _reference_cgd(losses, w, eta)
    step = _one_step(game, jg.transforms.cgd(eta, tol=1e-14, maxiter=200), w)
    for i in range(n):
        np.testing.assert_allclose(np.atleast_1d(step[i]), ref[i], rtol=1e-8, atol=1e-11)


def _two_player_version(losses):
    """The same two-player game as a ``Game`` of ``(phi, theta)``."""
    return jg.Game(lambda p, t: losses[0](jg.Players(p, t)), lambda p, t: losses[1](jg.Players(p, t)))


def test_the_two_player_references_reproduce_the_two_player_transforms():
    losses, w = _nonlinear_losses(2), _point(2)
    two, joint = _two_player_version(losses), jg.Joint(w[0], w[1])
    alpha, lr, eta = 0.3, 0.1, 0.4
    la, lola = _reference_la_lola(losses, w, alpha)
    for factory, ref in ((jg.transforms.opponent_lookahead, la), (jg.transforms.lola, lola)):
        step = _one_step(two, optax.chain(factory(alpha), optax.sgd(lr)), joint)
        np.testing.assert_allclose(step.phi, -lr * np.asarray(ref[0]), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(step.theta, -lr * np.asarray(ref[1]), rtol=1e-10, atol=1e-12)
    ref = _reference_cgd(losses, w, eta)
    step = _one_step(two, jg.transforms.cgd(eta, tol=1e-14, maxiter=200), joint)
    np.testing.assert_allclose(step.phi, ref[0], rtol=1e-8, atol=1e-11)
    np.testing.assert_allclose(step.theta, ref[1], rtol=1e-8, atol=1e-11)


# --------------------------------------------------------------------------- alternating over players


def _linear_game(m):
    """``xi = M w`` for scalar players: ``l_i = x_i (M w)_i - M_ii x_i^2 / 2``."""
    m = jnp.asarray(m)
    n = m.shape[0]

    def loss(i):
        return lambda w: w[i] * (m[i] @ jnp.stack(list(w))) - 0.5 * m[i, i] * w[i] ** 2

    return jg.n_player_game([loss(i) for i in range(n)], equilibrium=jg.Players(*jnp.zeros(n)))


M3 = np.array([[1.0, 2.0, -0.5], [-1.5, 0.5, 1.0], [0.7, -2.0, 0.8]])


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 0, 1), (1, 2, 0)])
def test_alternating_gauss_seidel_step_matrix(order):
    game, lr = _linear_game(M3), 0.3
    np.testing.assert_allclose(jg.jacobian(game, game.equilibrium), -M3, atol=1e-15)
    want = np.eye(3)
    for i in order:  # player i steps with the others' newest values: E_i = I - lr e_i e_i^T M
        e = np.zeros((3, 3))
        e[i, i] = 1.0
        want = (np.eye(3) - lr * e @ M3) @ want
    got = jg.update_jacobian(game, jg.transforms.alternating(optax.sgd(lr), order=order), game.equilibrium)
    np.testing.assert_allclose(got, want, atol=1e-14)


def test_alternating_orders_differ_and_the_two_player_tuple_orders_keep_their_meaning():
    game, lr = _linear_game(M3), 0.3
    a = jg.update_jacobian(game, jg.transforms.alternating(optax.sgd(lr), order=(0, 1, 2)), game.equilibrium)
    b = jg.update_jacobian(game, jg.transforms.alternating(optax.sgd(lr), order=(2, 0, 1)), game.equilibrium)
    assert np.max(np.abs(np.asarray(a) - np.asarray(b))) > 0.01
    dirac = jg.games.dirac("wgan")
    for name, tup in (("d_first", (1, 0)), ("g_first", (0, 1))):
        np.testing.assert_allclose(
            jg.update_jacobian(dirac, jg.transforms.alternating(optax.sgd(0.5), order=tup), dirac.equilibrium),
            jg.update_jacobian(dirac, jg.transforms.alternating(optax.sgd(0.5), order=name), dirac.equilibrium), atol=1e-15)


def test_alternating_with_an_optimiser_per_player():
    game = _linear_game(M3)
    lrs = (0.1, 0.2, 0.3)
    tx = jg.transforms.alternating(jg.Players(*[optax.sgd(lr) for lr in lrs]), order=(1, 2, 0))
    want = np.eye(3)
    for i in (1, 2, 0):
        e = np.zeros((3, 3))
        e[i, i] = 1.0
        want = (np.eye(3) - lrs[i] * e @ M3) @ want
    np.testing.assert_allclose(jg.update_jacobian(game, tx, game.equilibrium), want, atol=1e-14)


def test_per_player_optimisers_for_three_players():
    game = _linear_game(M3)
    tx = jg.transforms.per_player(optax.sgd(0.1), optax.sgd(0.2), optax.sgd(0.3))
    np.testing.assert_allclose(jg.update_jacobian(game, tx, game.equilibrium),
                               np.eye(3) - np.diag([0.1, 0.2, 0.3]) @ M3, atol=1e-14)


# --------------------------------------------------------------------------- two players: n-player == Game


def _radius_pairs():
    """Two-player equality of radii (CGD's and LOLA's two-player steps are also checked against
    the plain-jax.grad references above)."""
    lr = 0.1
    return {
        "simgd": optax.sgd(lr),
        "consensus": optax.chain(jg.transforms.consensus(0.3), optax.sgd(lr)),
        "sga": optax.chain(jg.transforms.sga(0.5, align=False), optax.sgd(lr)),
        "opponent_lookahead": optax.chain(jg.transforms.opponent_lookahead(0.3), optax.sgd(lr)),
        "lola": optax.chain(jg.transforms.lola(0.3), optax.sgd(lr)),
        "extragradient": jg.transforms.extragradient(optax.sgd(lr)),
        "alternating": jg.transforms.alternating(optax.sgd(lr), order=(1, 0)),
        "lookahead": jg.transforms.lookahead(optax.sgd(lr), sync_period=3),
        "per_player": jg.transforms.per_player(optax.sgd(lr), optax.sgd(2 * lr)),
    }


@pytest.mark.parametrize("name", sorted(_radius_pairs()))
def test_an_n_player_game_of_two_players_has_the_two_player_radii(name):
    losses = _nonlinear_losses(2)
    # a point where the field vanishes for both forms: take one where xi = 0 by shifting the losses
    w = _point(2)
    xi_w = jg.simultaneous_gradient(jg.n_player_game(losses))(w)
    shifted = [lambda v, i=i: losses[i](v) - jnp.vdot(xi_w[i], v[i]) for i in range(2)]
    game_n = jg.n_player_game(shifted)
    game_2 = _two_player_version(shifted)
    tx = _radius_pairs()[name]
    r_n = float(jg.spectral_radius(game_n, tx, w))
    r_2 = float(jg.spectral_radius(game_2, tx, jg.Joint(w[0], w[1])))
    assert r_n == pytest.approx(r_2, abs=1e-12)


# --------------------------------------------------------------------------- refusals and bad input

THREE = jg.games.cyclic_matching_pennies(3)
W3 = THREE.equilibrium
BOX = jg.Box(jg.Joint(0.0, 0.0), jg.Joint(1.0, 1.0))

TWO_PLAYER_ONLY = {
    "jare": lambda: jg.rollout(THREE, optax.chain(jg.transforms.jare(1.0), optax.sgd(0.1)), W3, 1),
    "best_response": lambda: jg.rollout(THREE, jg.transforms.best_response(optax.sgd(0.1)), W3, 1),
    "glgd": lambda: jg.rollout(THREE, jg.transforms.glgd(optax.sgd(0.1), "newton"), W3, 1),
    "follow_the_ridge": lambda: jg.rollout(THREE, jg.transforms.follow_the_ridge(0.1), W3, 1),
    "stonr": lambda: jg.rollout(THREE, jg.transforms.stonr(BOX), W3, 1),
    "acgd": lambda: jg.rollout(THREE, jg.transforms.acgd(0.1), W3, 1),
    "project_box": lambda: jg.rollout(THREE, optax.chain(optax.sgd(0.1), jg.transforms.project_box(BOX)), W3, 1),
    "stationary_point_certificate": lambda: jg.stationary_point_certificate(THREE, W3),
    "path_angle": lambda: jg.path_angle(THREE, W3, jax.tree.map(lambda x: x + 1.0, W3)),
    "retract": lambda: jg.manifold.retract(THREE, W3),
    "tangent_projection": lambda: jg.manifold.tangent_projection(THREE, W3, W3),
    "spectral_density of hessian_phi": lambda: jg.spectral_density(THREE, W3),
    "clip_discriminator": lambda: jg.rollout(
        THREE, jg.transforms.per_player(optax.sgd(0.1), optax.sgd(0.1), optax.chain(optax.sgd(0.1),
                                                                           jg.regularizers.clip_discriminator(0.1))), W3, 1),
}


@pytest.mark.parametrize("name", sorted(TWO_PLAYER_ONLY))
def test_two_player_only_methods_refuse_three_players(name):
    with pytest.raises(ValueError, match="two players") as err:
        TWO_PLAYER_ONLY[name]()
    assert "Tracer" not in str(err.value) and "NPlayerGame(" not in str(err.value)


BAD_INPUT = {
    "a loss of (phi, theta)": (lambda: jg.n_player_game([lambda p, t: p * t, lambda w: w[0] * w[1]]), TypeError,
                               r"losses\[0\]` must be `w -> scalar`, one argument"),
    "one player": (lambda: jg.n_player_game([lambda w: w[0] ** 2]), ValueError, "at least two"),
    "a loss that is not callable": (lambda: jg.n_player_game([lambda w: w[0], 3.0]), TypeError, r"losses\[1\]"),
    "a stacked loss without n": (lambda: jg.n_player_game(lambda i, x: x[i] ** 2), ValueError, "needs `n=`"),
    "too few players": (lambda: jg.eigenvalues(THREE, jg.Players(0.0, 0.0)), ValueError, "holds 2 players but the game has 3"),
    "a Joint for an n-player game": (lambda: jg.eigenvalues(THREE, jg.Joint(0.0, 0.0)), TypeError, "jaxgan.Players of 3"),
    "Players for a two-player game": (lambda: jg.eigenvalues(jg.games.dirac(), jg.Players(0.0, 0.0)), TypeError,
                                      "two-player game"),
    "players of mismatched structure": (
        lambda: jg.eigenvalues(jg.n_player_game([lambda w: jnp.sum(w[0] * w[1]), lambda w: jnp.sum(w[0] * w[1])]),
                               jg.Players(jnp.ones(2), jnp.ones(3))), TypeError, r"losses\[0\]` failed on players of shapes"),
    "a player index out of range": (
        lambda: jg.eigenvalues(jg.n_player_game([lambda w: w[0] * w[2], lambda w: w[0] * w[1]]), jg.Players(1.0, 2.0)),
        IndexError, "indexes a player that does not exist"),
    "an order that is not a permutation": (lambda: jg.transforms.alternating(optax.sgd(0.1), order=(0, 0, 1)), ValueError,
                                           "not a permutation"),
    "an order as a list": (lambda: jg.transforms.alternating(optax.sgd(0.1), order=[1, 0]), TypeError, "permutation"),
    "an order of the wrong length": (lambda: jg.rollout(THREE, jg.transforms.alternating(optax.sgd(0.1), order=(1, 0)), W3, 1),
                                     ValueError, "orders 2 players but the game has 3"),
    "a named order for three players": (lambda: jg.rollout(THREE, jg.transforms.alternating(optax.sgd(0.1)), W3, 1), ValueError,
                                        r"permutation of range\(3\)"),
    "a stacked point with the wrong length": (
        lambda: jg.eigenvalues(jg.games.cyclic(4, stacked=True), jg.StackedPlayers(jnp.zeros(3))), ValueError,
        "holds 3 players but the game has 4"),
    "d_steps with three players": (
        lambda: jg.rollout(THREE, jg.transforms.alternating(optax.sgd(0.1), order=(0, 1, 2), d_steps=2), W3, 1), ValueError,
        "each player steps once per round"),
    "per_player with too few optimisers": (lambda: jg.rollout(THREE, jg.transforms.per_player(optax.sgd(0.1), optax.sgd(0.1)), W3, 1),
                                           ValueError, "per_player was given 2 optimisers"),
    "gman of an n-player game": (lambda: jg.games.gman(THREE, 2), TypeError, "two-player jaxgan.Game"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUT))
def test_bad_n_player_input_gets_a_clear_error(name):
    call, error, pattern = BAD_INPUT[name]
    with pytest.raises(error, match=pattern):
        call()


# --------------------------------------------------------------------------- compiled once

_counts = collections.Counter()


def _listener(event, duration, **kwargs):
    if event == "/jax/core/compile/backend_compile_duration":
        _counts["compiles"] += 1


jax.monitoring.register_event_duration_secs_listener(_listener)


@contextlib.contextmanager
def _compiles():
    before = _counts["compiles"]
    seen = {}
    yield seen
    seen["compiles"] = _counts["compiles"] - before


ENTRIES = {
    "eigenvalues": lambda g, w: jg.eigenvalues(g, w),
    "spectrum": lambda g, w: jg.spectrum(g, w).eigenvalues,
    "jacobian": lambda g, w: jg.jacobian(g, w),
    "spectral_radius lola": lambda g, w: jg.spectral_radius(g, LOLA, w),
    "spectral_radius cgd": lambda g, w: jg.spectral_radius(g, CGD, w),
    "update_jacobian alternating": lambda g, w: jg.update_jacobian(g, ALT, w),
    "rollout": lambda g, w: jg.rollout(g, SGD, w, 5).final,
    "sweep": lambda g, w: jg.sweep(g, MAKE_SGD, w, {"lr": jnp.array([0.1, 0.2])}, 5).status,
    "top_eigenvalues": lambda g, w: jg.top_eigenvalues(g, w, k=2).eigenvalues,
    "spectral_density": lambda g, w: jg.spectral_density(g, w, operator="jacobian_symmetric", num_probes=2).nodes,
}
# one transformation object per entry: a new object is a new program (tests/test_cache.py)
LOLA, CGD, ALT = optax.chain(jg.transforms.lola(0.1), optax.sgd(0.1)), jg.transforms.cgd(0.1), jg.transforms.alternating(optax.sgd(0.1), order=(2, 0, 1))
SGD = optax.sgd(0.1)


def MAKE_SGD(h):
    return optax.sgd(h["lr"])


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_a_repeat_n_player_call_compiles_nothing(name):
    game = jg.games.cournot(3)
    w1 = jax.tree.map(lambda x: x + 0.1, game.equilibrium)
    w2 = jax.tree.map(lambda x: x - 0.2, game.equilibrium)
    jax.block_until_ready(ENTRIES[name](game, w1))
    with _compiles() as c:
        jax.block_until_ready(ENTRIES[name](game, w2))
    assert c["compiles"] == 0, c


def test_a_stacked_game_of_many_players_is_one_program_whatever_n():
    # the stacked form's program does not grow with n: its jaxpr has the same number of equations
    sizes = []
    for n in (10, 1000):
        game = jg.games.cyclic(n, stacked=True)
        step = jg.make_step(game, optax.chain(jg.transforms.sga(0.1), optax.sgd(0.01)))
        w = jax.tree.map(lambda x: x + 0.1, game.equilibrium)
        sizes.append(len(jax.make_jaxpr(step)(w, optax.chain(jg.transforms.sga(0.1), optax.sgd(0.01)).init(w)).jaxpr.eqns))
    assert sizes[0] == sizes[1], sizes
    game = jg.games.cournot(1000, b=1.0, stacked=True)
    radius = float(jg.spectral_radius(game, optax.sgd(1e-3), game.equilibrium))
    assert radius == pytest.approx(max(1 - 1e-3, abs(1 - 1e-3 * 1001)), abs=1e-10)


def test_stacked_and_listed_players_agree():
    listed, stacked = jg.games.cournot(5, b=0.3), jg.games.cournot(5, b=0.3, stacked=True)
    start = jnp.linspace(0.5, 2.0, 5)
    tx = optax.chain(jg.transforms.lola(0.2), optax.sgd(0.1))
    a = jg.rollout(listed, tx, jg.Players(*start), 7).final
    b = jg.rollout(stacked, tx, jg.StackedPlayers(start), 7).final
    np.testing.assert_allclose(jnp.stack(list(a)), b.x, rtol=1e-12)
    np.testing.assert_allclose(jg.update_jacobian(listed, jg.transforms.cgd(0.2), jg.Players(*start)),
                               jg.update_jacobian(stacked, jg.transforms.cgd(0.2), jg.StackedPlayers(start)), atol=1e-10)


def test_jacobian_blocks_of_n_players_and_the_symmetric_density():
    game = jg.n_player_game(_nonlinear_losses(3))
    w = _point(3)
    a = jg.jacobian(game, w)
    blocks = jg.jacobian_blocks(a, w)
    assert [[b.shape for b in row] for row in blocks] == [[(2, 2), (2, 1), (2, 3)], [(1, 2), (1, 1), (1, 3)],
                                                         [(3, 2), (3, 1), (3, 3)]]
    _, _, h = _reference_blocks(_nonlinear_losses(3), w)
    for i in range(3):
        for j in range(3):
            np.testing.assert_allclose(blocks[i][j], -np.asarray(h[i][j]), atol=1e-12)
    cournot = jg.games.cournot(4, b=0.5)
    density = jg.spectral_density(cournot, cournot.equilibrium, operator="jacobian_symmetric", num_probes=4)
    support = np.unique(np.round(np.asarray(density.nodes)[np.asarray(density.weights) > 1e-8], 8))
    assert set(support) <= {-0.5, -2.5}
