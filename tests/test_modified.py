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
    return jg.Game(
        lambda p, t: p * (m[0, 0] * p / 2 + m[0, 1] * t),
        lambda p, t: t * (m[1, 0] * p + m[1, 1] * t / 2),
        equilibrium=jg.Joint(jnp.asarray(0.0), jnp.asarray(0.0)),
    )


def test_the_simultaneous_modified_field_of_a_linear_game():
    # v = J w with J = -M: the modified field is (J - (lr/2) J^2) w
    game, lr = _linear_game(M), 0.3
    j = -M
    got = jg.jacobian(jg.modified_game(game, lr), game.equilibrium)
    np.testing.assert_allclose(got, j - lr / 2 * j @ j, atol=1e-12)


@pytest.mark.parametrize("order", ["g_first", "d_first"])
def test_the_alternating_modified_field_of_a_linear_game(order):
    # the second mover's cross term changes sign: g_first,
    # xi~_t = xi_t + (lr/2)(M_tt xi_t - M_tp xi_p)
    game, lr, r = _linear_game(M), 0.3, 2.0
    d = np.diag([1.0, r])
    want = d @ M + lr / 2 * d @ M @ d @ M
    second = 1 if order == "g_first" else 0
    first = 1 - second
    e_second, e_first = np.zeros((2, 2)), np.zeros((2, 2))
    e_second[second, second], e_first[first, first] = 1.0, 1.0
    want = want - lr * e_second @ d @ M @ e_first @ d @ M
    got = -np.asarray(
        jg.jacobian(jg.modified_game(game, lr, order=order, scales=(1.0, r)), game.equilibrium)
    )
    np.testing.assert_allclose(got, want, atol=1e-12)
    # n-player spelling of the same order
    tup = (0, 1) if order == "g_first" else (1, 0)
    np.testing.assert_allclose(
        -np.asarray(
            jg.jacobian(jg.modified_game(game, lr, order=tup, scales=(1.0, r)), game.equilibrium)
        ),
        want,
        atol=1e-12,
    )


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
    -eps + (h/2)(omega^2 - eps^2), zero at h = 2 eps / (omega^2 - eps^2) (the notebook's
    section 6)."""
    eps, om = 0.1, 1.0
    game = jg.zero_sum(lambda x, y: 0.5 * eps * x**2 - 0.5 * eps * y**2 + om * x * y)
    origin = jg.Joint(jnp.asarray(0.0), jnp.asarray(0.0))
    lrs = jnp.array([0.1, 0.2, 2 * eps / (om**2 - eps**2), 0.3])
    lam = np.linalg.eigvals(
        np.asarray(jax.vmap(lambda h: jg.jacobian(jg.modified_game(game, h), origin))(lrs))
    )
    expected = -eps + 0.5 * np.asarray(lrs) * (om**2 - eps**2)
    np.testing.assert_allclose(lam.real.max(-1), expected, atol=1e-13)
    assert abs(lam.real.max(-1)[2]) < 1e-13


# --------------------------------------------------------------------------- derived games
# A modified game's field is not the gradient of its losses (field_from_losses=False): what reads
# the losses refuses it, naming itself and the order that works; what reads only the field uses
# the modified field.

LR, ALPHA = 0.2, 0.3
W = jg.Joint(jnp.asarray(0.7), jnp.asarray(-0.4))


def _update(tx, game, w):
    """One update, traced as one program (eagerly, each operation would compile on its own)."""

    def update(w):
        return tx.update(jg.simultaneous_gradient(game)(w), tx.init(w), w, game=game)[0]

    return jax.jit(update)(w)


def _lola_through_a_rollout(game):  # the step algebra's route to the correction
    return jg.rollout(game, optax.chain(jg.transforms.lola(ALPHA), optax.sgd(0.1)), W, 2).final


#: every entry point that reads a game's losses: (name in the message, call, the remedy it names)
LOSS_READERS = [
    ("lola", lambda g: _update(jg.transforms.lola(ALPHA), g, W), "opponent_lookahead"),
    ("lola", _lola_through_a_rollout, "opponent_lookahead"),
    ("sos", lambda g: _update(jg.transforms.sos(ALPHA), g, W), "opponent_lookahead"),
    ("gman", lambda g: jg.games.gman(g, 2), "jaxgan.modified_game(jaxgan.games.gman(game, k), lr)"),
    ("r1", lambda g: jg.regularizers.r1(g, 1.0), "jaxgan.regularizers.r1(game, ...), lr)"),
    ("r2", lambda g: jg.regularizers.r2(g, 1.0), "jaxgan.regularizers.r2(game, ...), lr)"),
    ("wgan_gp", lambda g: jg.regularizers.wgan_gp(g, 1.0), "regularizers.wgan_gp(game, ...), lr)"),
    ("relu_gp", lambda g: jg.regularizers.relu_gp(g, 1.0), "regularizers.relu_gp(game, ...), lr)"),
    (
        "instance_noise",
        lambda g: jg.regularizers.instance_noise(g, 0.5),
        "instance_noise(game, ...), lr)",
    ),
    (
        "fresh_instance_noise",
        lambda g: jg.regularizers.fresh_instance_noise(g, 0.5),
        "fresh_instance_noise(game, ...)(key), lr)",
    ),
    ("best_response", lambda g: jg.rollout(g, jg.transforms.best_response(optax.sgd(0.1)), W, 1),
     "the game given to jaxgan.modified_game"),
    ("total_derivative", lambda g: jg.manifold.total_derivative(g, W), "the game given to jaxgan.modified_game"),
    ("GAN.with_penalty", lambda g: g.with_penalty("zero", lambda d, x: 0.0 * d(x)),
     "the game given to jaxgan.modified_game"),
    ("the Stackelberg total gradient", lambda g: jg.stationary_point_certificate(g, W),
     "the game given to jaxgan.modified_game"),
]


@pytest.mark.parametrize(
    "name, call, remedy", LOSS_READERS, ids=[f"{r[0]}-{i}" for i, r in enumerate(LOSS_READERS)]
)
def test_every_loss_reader_refuses_a_modified_game_and_accepts_the_original(name, call, remedy):
    game = jg.games.dirac("wgan")
    call(game)  # the original game: accepted
    with pytest.raises(ValueError) as err:
        call(jg.modified_game(game, LR))
    message = str(err.value)
    assert message.startswith(f"{name}: `game` ('dirac-wgan (modified, lr=0.2, simultaneous)')"), (
        message
    )
    assert "not the gradient of its losses" in message and remedy in message, message


@pytest.mark.parametrize(
    "tx", [jg.transforms.lola(ALPHA), jg.transforms.sos(ALPHA)], ids=["lola", "sos"]
)
def test_opponent_shaping_refuses_a_modified_n_player_game_and_a_declared_one(tx):
    for stacked in (False, True):
        cyclic = jg.games.cyclic(3, stacked=stacked)
        w = (
            jg.StackedPlayers(jnp.array([0.1, -0.2, 0.3]))
            if stacked
            else jg.Players(0.1, -0.2, 0.3)
        )
        _update(tx, cyclic, w)
        with pytest.raises(ValueError, match="not the gradient of its losses"):
            _update(tx, jg.modified_game(cyclic, LR), w)
    # the rule is the game's declaration, not who built it: a hand-made field that is no gradient
    declared = jg.Game(
        lambda p, t: p * t,
        lambda p, t: -p * t,
        grad_fn=lambda w: jg.Joint(w.theta, w.phi),
        field_from_losses=False,
    )
    with pytest.raises(ValueError, match="`game` .'game'. has a field that is not the gradient"):
        _update(tx, declared, W)


def test_field_from_losses_must_be_a_bool():
    with pytest.raises(TypeError, match="`field_from_losses` must be True or False, got"):
        jg.Game(lambda p, t: p * t, lambda p, t: -p * t, field_from_losses="no")
    assert jg.modified_game(jg.games.cyclic(3), LR).field_from_losses is False
    assert jg.games.cyclic(3).field_from_losses and jg.games.dirac().field_from_losses


def _general_sum():
    # a general-sum game with curvature everywhere, so no term of the references vanishes
    loss_g = lambda p, t: jnp.sin(p) * t + 0.5 * p**2 * t**2 + 0.3 * p**3
    loss_d = lambda p, t: jnp.cos(t) * p - 0.4 * t**2 * p + 0.2 * t**4
    return loss_g, loss_d


def _hand_modified_field(lr):
    """The simultaneous modified field ``xi + (lr/2) J xi`` by plain jax.grad and jax.jacfwd."""
    loss_g, loss_d = _general_sum()

    def xi(z):
        return jnp.stack([jax.grad(loss_g, 0)(z[0], z[1]), jax.grad(loss_d, 1)(z[0], z[1])])

    return lambda z: xi(z) + lr / 2 * jax.jacfwd(xi)(z) @ xi(z)


@pytest.mark.parametrize("name", ["opponent_lookahead", "consensus"])
def test_field_only_corrections_use_the_modified_field(name):
    # LA: xi~ - alpha H~_o xi~; consensus: xi~ + gamma H~^T xi~, H~ = d xi~ / dw (by hand)
    game = jg.Game(*_general_sum())
    field = _hand_modified_field(LR)
    z = jnp.array([0.7, -0.4])
    x, h = field(z), jax.jacfwd(field)(z)
    if name == "opponent_lookahead":
        tx, want = (
            jg.transforms.opponent_lookahead(ALPHA),
            x - ALPHA * (h - jnp.diag(jnp.diag(h))) @ x,
        )
    else:
        tx, want = jg.transforms.consensus(ALPHA), x + ALPHA * h.T @ x
    got = _update(tx, jg.modified_game(game, LR), W)
    np.testing.assert_allclose([got.phi, got.theta], want, rtol=1e-12)
    plain = _update(tx, game, W)  # the modification reaches the correction
    assert abs(float(plain.phi) - float(got.phi)) > 1e-3


def test_the_regularise_then_modify_order_matches_its_closed_form():
    # r1 on the Dirac-GAN (wgan, f' = 1): J = d xi / dw = [[0, f'], [-f', gamma]] at the
    # equilibrium; the modified field's Jacobian there is J + (lr/2) J^2 (xi = 0), A its negative
    gamma = 1.5
    game = jg.regularizers.r1(jg.games.dirac("wgan"), gamma)
    j = np.array([[0.0, 1.0], [-1.0, gamma]])
    got = jg.jacobian(jg.modified_game(game, LR), game.equilibrium)
    np.testing.assert_allclose(got, -(j + LR / 2 * j @ j), atol=1e-12)


def test_the_gman_then_modify_order_matches_its_closed_form():
    # GMAN of the Dirac-GAN (wgan, f' = 1) with k discriminators: xi_phi = mean_j psi_j,
    # xi_psi_j = -phi, so J = [[0, 1/k ... 1/k], [-1, 0, ...], ...] at the equilibrium
    k = 3
    game = jg.games.gman(jg.games.dirac("wgan"), k)
    j = np.zeros((k + 1, k + 1))
    j[0, 1:], j[1:, 0] = 1.0 / k, -1.0
    got = jg.jacobian(jg.modified_game(game, LR), game.equilibrium)
    np.testing.assert_allclose(got, -(j + LR / 2 * j @ j), atol=1e-12)


def test_composing_the_pairs_modified_fields_is_not_the_modified_gman():
    # why gman refuses a modified game: the drift of k discriminators couples them through the
    # generator, so the pairs' modified fields, composed as GMAN composes losses, miss it
    base, k = jg.games.dirac("standard"), 2
    w = jg.Players(jnp.asarray(0.6), jnp.asarray(-0.5), jnp.asarray(0.9))
    pair = jg.simultaneous_gradient(jg.modified_game(base, LR))
    pairs = [pair(jg.Joint(w[0], w[j])) for j in range(1, k + 1)]
    composed = np.array([np.mean([float(p.phi) for p in pairs])] + [float(p.theta) for p in pairs])
    exact = np.array(
        [
            float(x)
            for x in jg.simultaneous_gradient(jg.modified_game(jg.games.gman(base, k), LR))(w)
        ]
    )
    assert np.max(np.abs(composed - exact)) > 1e-3, (composed, exact)


def test_stonr_reflects_the_games_own_field():
    """STON'R runs on the unit cube through the reflection, with the game's own field: the same
    field declared by hand gives the same path, and on a modified game the certificate's residual
    is the modified field's, ``|w - Pi_box(w - xi_mod(w))|_inf`` (computed here by hand)."""
    example = jg.games.constrained_examples()["bilinear"]
    game, box = example.game, example.box
    plain = jg.transforms.run_stonr(game, box)
    declared = jg.transforms.run_stonr(game.replace(grad_fn=jg.simultaneous_gradient(game)), box)
    np.testing.assert_allclose(declared.path, plain.path, atol=1e-12)
    modified = jg.modified_game(game, LR)
    out = jg.transforms.run_stonr(modified, box)
    xi = jg.simultaneous_gradient(modified)(out.point)
    lo, hi = box
    by_hand = max(
        float(jnp.max(jnp.abs(w - jnp.clip(w - g, a, b))))
        for w, g, a, b in zip(jax.tree.leaves(out.point), jax.tree.leaves(xi), jax.tree.leaves(lo), jax.tree.leaves(hi))
    )
    assert float(out.residual) == pytest.approx(by_hand, abs=1e-12)
