"""Composition you can trust: every correction x every wrapper x every projection, against
reference loops written here with plain ``jax.grad`` (no jaxgan transform inside), to 1e-12
in float64, on the Dirac-GAN and on a general-sum game with vector players.

The rule under test (``jaxgan._composition``): a wrapper that evaluates the field at a new
point evaluates the field as the corrections before it define it; projections inside a
per-player optimiser act after every step of that player.
"""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.flatten_util import ravel_pytree

import jaxgan as jg

STEPS = 4
LR = 0.3
LR_G, LR_D = 0.2, 0.5
CLIP = 0.3
BOX = 0.6
GAMMA = {"consensus": 0.4, "jare": 0.7, "sga": 0.4}
LOOKAHEAD = dict(sync_period=2, alpha=0.5)


# --------------------------------------------------------------------------- the two games


def _dirac_losses():
    f = jax.nn.log_sigmoid
    loss_g = lambda p, t: f(t * p) + f(jnp.zeros(()))  # noqa: E731
    return loss_g, lambda p, t: -loss_g(p, t)


def _general_sum_losses():
    rng = np.random.default_rng(3)
    # scaled so that every composition's first steps stay bounded (a diverging run would
    # amplify rounding and test nothing)
    A, B, C, D = (0.4 * jnp.asarray(rng.normal(size=s)) for s in [(2, 2), (2, 3), (3, 3), (2, 3)])
    A, C = A @ A.T + 0.5 * jnp.eye(2), C @ C.T + 0.5 * jnp.eye(3)

    def loss_g(x, y):
        return 0.5 * x @ A @ x + x @ B @ y + 0.1 * jnp.sum(jnp.sin(x)) * jnp.sum(y)

    def loss_d(x, y):
        return 0.5 * y @ C @ y - x @ D @ y + 0.05 * jnp.sum(x) ** 2 * jnp.sum(jnp.cos(y))

    return loss_g, loss_d


GAMES = {
    "dirac": (_dirac_losses(), jg.Joint(jnp.asarray(0.5), jnp.asarray(0.25))),
    "general-sum": (_general_sum_losses(), jg.Joint(jnp.array([0.5, -0.4]), jnp.array([0.25, -0.2, 0.1]))),
}


def _jaxgan_game(name):
    (loss_g, loss_d), _ = GAMES[name]
    if name == "dirac":
        return jg.games.dirac("standard")  # the catalogue's Dirac-GAN: the same losses
    return jg.Game(loss_g, loss_d, name="general-sum")


# --------------------------------------------------------------------------- references (plain JAX)


class Ref:
    """The reference algorithms on the flat vector ``z = (phi, theta)``."""

    def __init__(self, name):
        (self.loss_g, self.loss_d), w0 = GAMES[name]
        self.z0, self.unravel = ravel_pytree(w0)
        self.n_phi = ravel_pytree(w0.phi)[0].size
        self.n = self.z0.size

    def xi(self, z):
        w = self.unravel(z)
        g_phi = jax.grad(lambda p: self.loss_g(p, w.theta))(w.phi)
        g_theta = jax.grad(lambda t: self.loss_d(w.phi, t))(w.theta)
        return jnp.concatenate([jnp.ravel(g_phi), jnp.ravel(g_theta)])

    def corrected(self, kind):
        if kind == "none":
            return self.xi
        g, k = GAMMA.get(kind), self.n_phi

        def field(z):
            x = self.xi(z)
            J = jax.jacfwd(self.xi)(z)
            if kind == "consensus":
                return x + g * J.T @ x
            if kind == "jare":
                return x + g * jnp.concatenate([J[k:, :k].T @ x[k:], J[:k, k:].T @ x[:k]])
            a_t_x = ((J - J.T) / 2).T @ x
            jt_x = J.T @ x
            sign = jnp.sign(jnp.dot(x, jt_x) * jnp.dot(a_t_x, jt_x) / self.n + 0.1)
            return x + g * sign * a_t_x

        return field

    def project(self, kind, z, player=None):
        """Project the coordinates of ``player`` (both when None)."""
        idx = np.arange(self.n)
        mine = np.ones(self.n, bool) if player is None else ((idx < self.n_phi) if player == "phi" else (idx >= self.n_phi))
        if kind == "box":
            return jnp.where(mine, jnp.clip(z, -BOX, BOX), z)
        if kind == "clip":
            return jnp.where(mine & (idx >= self.n_phi), jnp.clip(z, -CLIP, CLIP), z)
        return z

    def step(self, wrapper, correction, projection):
        """``(z, state) -> (z, state)`` of the reference algorithm."""
        T, P, k = self.corrected(correction), lambda z, p=None: self.project(projection, z, p), self.n_phi
        phi_part = np.arange(self.n) < k
        if wrapper.startswith("alternating"):
            _, order, d_steps, g_steps = wrapper.split(":")
            d_steps, g_steps = int(d_steps), int(g_steps)

            def move(z, player, times):
                mask = phi_part if player == "phi" else ~phi_part
                for _ in range(times):
                    z = P(z - LR * jnp.where(mask, T(z), 0.0), player)
                return z

            def step(z, s):
                phases = [("theta", d_steps), ("phi", g_steps)] if order == "d_first" else [("phi", g_steps), ("theta", d_steps)]
                for player, times in phases:
                    z = move(z, player, times)
                return z, s

        elif wrapper == "extragradient":

            def step(z, s):
                half = P(z - LR * T(z))
                return P(z - LR * T(half)), s

        elif wrapper == "ttur":
            h = jnp.where(phi_part, LR_G, LR_D)

            def step(z, s):
                return P(z - h * T(z)), s

        else:  # lookahead: the state is (slow, count)
            def step(z, s):
                slow, count = s
                fast = P(z - LR * T(z))
                count = count + 1
                sync = count % LOOKAHEAD["sync_period"] == 0
                slow = jnp.where(sync, slow + LOOKAHEAD["alpha"] * (fast - slow), slow)
                return jnp.where(sync, slow, fast), (slow, count)

        return step

    def init_state(self, wrapper, z):
        return (z, 0) if wrapper == "lookahead" else None


# --------------------------------------------------------------------------- the jaxgan forms


def _projection_tx(kind, box):
    if kind == "box":
        return jg.transforms.project_box(box)
    if kind == "clip":
        return jg.regularizers.clip_discriminator(CLIP)
    return None


def _step_tx(lr, projection, box):
    p = _projection_tx(projection, box)
    return optax.sgd(lr) if p is None else optax.chain(optax.sgd(lr), p)


def jaxgan_tx(wrapper, correction, projection, w0):
    box = jg.Box(jax.tree.map(lambda x: jnp.full_like(x, -BOX), w0), jax.tree.map(lambda x: jnp.full_like(x, BOX), w0))
    if wrapper.startswith("alternating"):
        _, order, d_steps, g_steps = wrapper.split(":")
        inner = jg.Joint(_step_tx(LR, projection, box), _step_tx(LR, projection, box))
        tx = jg.transforms.alternating(inner, d_steps=int(d_steps), g_steps=int(g_steps), order=order)
    elif wrapper == "extragradient":
        tx = jg.transforms.extragradient(_step_tx(LR, projection, box))
    elif wrapper == "ttur":
        tx = jg.transforms.per_player(_step_tx(LR_G, projection, box), _step_tx(LR_D, projection, box))
    else:
        tx = jg.transforms.lookahead(_step_tx(LR, projection, box), **LOOKAHEAD)
    if correction == "none":
        return tx
    factory = {"consensus": jg.transforms.consensus, "jare": jg.transforms.jare, "sga": jg.transforms.sga}[correction]
    return optax.chain(factory(GAMMA[correction]), tx)


WRAPPERS = [f"alternating:{o}:{d}:{g}" for o, d, g in itertools.product(("d_first", "g_first"), (1, 3), (1, 3))]
WRAPPERS += ["extragradient", "ttur", "lookahead"]
CORRECTIONS = ("consensus", "jare", "sga")
PROJECTIONS = ("none", "clip", "box")
# A covering design, not the full product (198 cases): every wrapper with every correction once, the
# game and the projection assigned so that every pair of factors (game x wrapper, projection x
# correction, game x projection, ...) still meets at least once (test_the_cases_cover_every_pair).
CASES = [(list(GAMES)[(w + c) % 2], CORRECTIONS[c], wrapper, PROJECTIONS[(c + 2 * w) % 3])
         for w, wrapper in enumerate(WRAPPERS) for c in range(3)]


def _pairs(cases):
    return {(i, j, a[i], a[j]) for a in cases for i, j in itertools.combinations(range(len(a)), 2)}


def test_the_cases_cover_every_pair():
    full = list(itertools.product(GAMES, CORRECTIONS, WRAPPERS, PROJECTIONS))
    assert _pairs(CASES) == _pairs(full) and len(CASES) == len(WRAPPERS) * len(CORRECTIONS)
    jac_full = [c for c in full if c[0] == "dirac" and c[3] != "box"]
    assert _pairs(JACOBIAN_CASES) == _pairs(jac_full)


@pytest.mark.parametrize("game_name,correction,wrapper,projection", CASES, ids=["-".join(c) for c in CASES])
def test_composition_matches_the_reference_loop(game_name, correction, wrapper, projection):
    ref = Ref(game_name)
    _, w0 = GAMES[game_name]
    game = _jaxgan_game(game_name)
    tx = jaxgan_tx(wrapper, correction, projection, w0)
    out = jg.rollout(game, tx, w0, STEPS, record_every=1)
    got = jax.vmap(lambda w: ravel_pytree(w)[0])(out.trajectory)

    step = jax.jit(ref.step(wrapper, correction, projection))
    z, s, expected = ref.z0, ref.init_state(wrapper, ref.z0), [ref.z0]
    for _ in range(STEPS):
        z, s = step(z, s)
        expected.append(z)
    np.testing.assert_allclose(np.asarray(got), np.stack(expected), rtol=1e-12, atol=1e-12)
    assert np.max(np.abs(np.diff(np.stack(expected), axis=0))) > 1e-3  # the runs move
    assert np.max(np.abs(np.stack(expected))) < 5  # and stay bounded


# the same design on the Dirac-GAN without the box: every wrapper with every correction, each
# projection with each of them
JACOBIAN_CASES = [("dirac", CORRECTIONS[c], wrapper, ("none", "clip")[(w + c) % 2])
                  for w, wrapper in enumerate(WRAPPERS) for c in range(3)]


@pytest.mark.parametrize("game_name,correction,wrapper,projection", JACOBIAN_CASES, ids=["-".join(c) for c in JACOBIAN_CASES])
def test_update_jacobian_of_a_composition_is_the_reference_steps(game_name, correction, wrapper, projection):
    ref = Ref(game_name)
    _, w0 = GAMES[game_name]
    game = _jaxgan_game(game_name)
    tx = jaxgan_tx(wrapper, correction, projection, w0)
    got = jg.update_jacobian(game, tx, w0)
    step = ref.step(wrapper, correction, projection)
    if wrapper == "lookahead":
        # update_jacobian differentiates at the state after one step from init: slow = w0, count = 1
        n = ref.n

        def flat(zs):
            z, slow = zs[:n], zs[n:]
            z2, (slow2, _) = step(z, (slow, 1))
            return jnp.concatenate([z2, slow2])

        expected = jax.jacfwd(flat)(jnp.concatenate([ref.z0, ref.z0]))
    else:
        expected = jax.jacfwd(lambda z: step(z, None)[0])(ref.z0)
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-11, atol=1e-12)


# --------------------------------------------------------------------------- forms that cannot mean what they say


def test_a_projection_after_a_wrapper_is_refused_with_the_supported_form():
    game = jg.games.dirac("wgan")
    w0 = jg.Joint(0.5, 0.2)
    clip = jg.regularizers.clip_discriminator(CLIP)
    box = jg.Box(jg.Joint(-1.0, -1.0), jg.Joint(1.0, 1.0))
    for tx, form in [
        (optax.chain(jg.transforms.alternating(optax.sgd(0.1), d_steps=5), clip), "jg.transforms.alternating(jg.Joint(tx_g, optax.chain(tx_d"),
        (optax.chain(jg.transforms.extragradient(optax.sgd(0.1)), jg.transforms.project_box(box)), "jg.transforms.extragradient(optax.chain(optax.sgd(lr)"),
        (optax.chain(jg.transforms.lookahead(optax.sgd(0.1)), clip), "jg.transforms.lookahead(optax.chain"),
    ]:
        with pytest.raises(ValueError, match="once per round") as err:
            jg.rollout(game, tx, w0, 3)
        assert form in str(err.value)


def test_a_correction_inside_a_per_player_optimiser_is_refused():
    game = jg.games.dirac("wgan")
    tx = jg.transforms.alternating(jg.Joint(optax.sgd(0.1), optax.chain(jg.transforms.consensus(1.0), optax.sgd(0.1))))
    with pytest.raises(ValueError, match="consensus inside alternating's inner optimiser"):
        jg.rollout(game, tx, jg.Joint(0.5, 0.2), 3)


def test_a_correction_before_best_response_is_refused():
    game = jg.regularizers.r1(jg.games.dirac("standard"), 1.0)
    tx = optax.chain(jg.transforms.jare(1.0), jg.transforms.best_response(optax.sgd(0.1)))
    with pytest.raises(ValueError, match="regularise the game"):
        jg.rollout(game, tx, jg.Joint(jnp.asarray(0.3), jnp.asarray(0.2)), 2)


def test_a_per_player_projection_outside_a_per_player_optimiser_says_where_it_goes():
    tx = jg.transforms.project_box(jg.Box(jg.Joint(0.0, 0.0), jg.Joint(1.0, 1.0)))
    with pytest.raises(TypeError, match="jaxgan_player"):
        tx.update(jnp.asarray(0.5), tx.init(jnp.asarray(0.0)), jnp.asarray(0.2))


def test_corrections_inside_extragradient_mean_the_same_as_before_it():
    game = jg.games.dirac("standard")
    w0 = jg.Joint(jnp.asarray(0.5), jnp.asarray(0.25))
    inside = jg.transforms.extragradient(optax.chain(jg.transforms.consensus(0.7), optax.sgd(LR)))
    before = optax.chain(jg.transforms.consensus(0.7), jg.transforms.extragradient(optax.sgd(LR)))
    a = jg.rollout(game, inside, w0, STEPS).final
    b = jg.rollout(game, before, w0, STEPS).final
    np.testing.assert_allclose(ravel_pytree(a)[0], ravel_pytree(b)[0], rtol=1e-13)


# --------------------------------------------------------------------------- the GAN_stability notebook's runs
# Transcribed from the formulas of the public GAN_stability DiracGAN notebook (Mescheder et
# al. 2018): generator position theta, discriminator slope psi, velocity
# v = (-psi f'(psi theta), theta f'(psi theta)) with f'(x) = sigmoid(-x); its simulator moves
# the generator first (g steps, then d steps), and "postprocesses" (clips psi for WGAN) after
# every step. Its consensus field uses the regulariser L = (psi^2 + theta^2) f'(psi theta)^2 / 2
# and subtracts gamma grad L; the notebook's code drops a factor 1/2 in the cubic term of
# grad L, the gradient below is the regulariser's own.


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _notebook_consensus_velocity(theta, psi, reg):
    fp = _sigmoid(-psi * theta)
    fp2 = -_sigmoid(-psi * theta) * _sigmoid(psi * theta)
    v1, v2 = -psi * fp, theta * fp
    r = psi**2 + theta**2
    v1 -= reg * (theta * fp**2 + r * fp * fp2 * psi)
    v2 -= reg * (psi * fp**2 + r * fp * fp2 * theta)
    return v1, v2


def _notebook_altgd(velocity, theta, psi, nsteps, h, gsteps, dsteps, post=lambda t, p: (t, p)):
    theta, psi = post(theta, psi)
    out = [(theta, psi)]
    for _ in range(nsteps):
        for _ in range(gsteps):
            v1, _ = velocity(theta, psi)
            theta, psi = post(theta + h * v1, psi)
        for _ in range(dsteps):
            _, v2 = velocity(theta, psi)
            theta, psi = post(theta, psi + h * v2)
        out.append((theta, psi))
    return np.array(out)


@pytest.mark.parametrize("dsteps", [1, 3])
def test_consensus_with_alternating_steps_reproduces_the_notebook(dsteps):
    reg, h, n = 0.3, 0.2, 60
    expected = _notebook_altgd(lambda t, p: _notebook_consensus_velocity(t, p, reg), 1.0, 1.0, n, h, 1, dsteps)
    tx = optax.chain(jg.transforms.consensus(reg), jg.transforms.alternating(optax.sgd(h), d_steps=dsteps, order="g_first"))
    out = jg.rollout(jg.games.dirac("standard"), tx, jg.Joint(jnp.asarray(1.0), jnp.asarray(1.0)), n, record_every=1)
    got = np.stack([out.trajectory.phi, out.trajectory.theta], axis=1)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    # the corrected field at every player step matters: correcting only the first (the old
    # behaviour, the plain field afterwards) is far off
    plain = _notebook_altgd(lambda t, p: (-p * _sigmoid(-p * t), t * _sigmoid(-p * t)), 1.0, 1.0, n, h, 1, dsteps)
    assert np.max(np.abs(plain - expected)) > 0.1


def test_wgan_with_clipping_after_each_critic_step_reproduces_the_notebook():
    c, h, n, dsteps = 0.3, 0.1, 80, 5
    clip = lambda t, p: (t, float(np.clip(p, -c, c)))  # noqa: E731
    expected = _notebook_altgd(lambda t, p: (-p, t), 1.0, 1.0, n, h, 1, dsteps, post=clip)
    critic = optax.chain(optax.sgd(h), jg.regularizers.clip_discriminator(c))
    tx = jg.transforms.alternating(jg.Joint(optax.sgd(h), critic), d_steps=dsteps, order="g_first")
    out = jg.rollout(jg.games.dirac("wgan"), tx, jg.Joint(jnp.asarray(1.0), jnp.asarray(c)), n, record_every=1)
    got = np.stack([out.trajectory.phi, out.trajectory.theta], axis=1)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_r1_wgan_with_clipping_after_each_critic_step_and_not_once_per_round():
    # WGAN with R1 (jaxgan's r1(gamma) penalises gamma/2 |grad_x D|^2 = gamma/2 psi^2 on the
    # Dirac-GAN: the notebook's gradient-penalty form v2 = theta - gamma psi), clipped
    gamma, c, h, n, dsteps = 12.0, 0.3, 0.2, 40, 5  # h gamma = 2.4: the critic's steps overshoot, the clip acts
    clip = lambda t, p: (t, float(np.clip(p, -c, c)))  # noqa: E731
    velocity = lambda t, p: (-p, t - gamma * p)  # noqa: E731
    expected = _notebook_altgd(velocity, 1.0, c, n, h, 1, dsteps, post=clip)
    game = jg.regularizers.r1(jg.games.dirac("wgan"), gamma)
    critic = optax.chain(optax.sgd(h), jg.regularizers.clip_discriminator(c))
    tx = jg.transforms.alternating(jg.Joint(optax.sgd(h), critic), d_steps=dsteps, order="g_first")
    out = jg.rollout(game, tx, jg.Joint(jnp.asarray(1.0), jnp.asarray(c)), n, record_every=1)
    got = np.stack([out.trajectory.phi, out.trajectory.theta], axis=1)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    # clipping once per round (after the 5 critic steps: what `chain(alternating, clip)` would
    # do, and now refuses) is another algorithm here
    theta, psi, rows = 1.0, c, []
    for _ in range(n):
        theta = theta + h * -psi
        for _ in range(dsteps):
            psi = psi + h * (theta - gamma * psi)
        psi = float(np.clip(psi, -c, c))
        rows.append((theta, psi))
    assert np.max(np.abs(np.array(rows) - expected[1:])) > 0.1


# ------------------------------------------------------------------ optax's own game-free transformations


def test_optax_optimistic_gradient_and_lookahead_compose_with_games():
    game = jg.games.bilinear(1.0)
    w0 = jg.Joint(jnp.array(1.0), jnp.array(1.0))
    # optimistic GD: w+ = w - eta (2 xi_t - xi_{t-1}); stateful, its update Jacobian includes the state
    ogd = optax.optimistic_gradient_descent(0.2)
    out = jg.rollout(game, ogd, w0, 2000)
    assert float(jnp.hypot(out.final.phi, out.final.theta)) < 1e-6
    assert float(jg.spectral_radius(game, ogd, game.equilibrium)) < 1
    # lookahead over SimGD (slow weights pull the fast ones back)
    la = optax.lookahead(optax.sgd(0.2), sync_period=5, slow_step_size=0.5)
    params = optax.LookaheadParams.init_synced(w0)
    state = la.init(params)
    xi = jg.simultaneous_gradient(game)

    def body(_, carry):
        params, state = carry
        u, state = la.update(xi(params.fast), state, params)
        return optax.apply_updates(params, u), state

    params, state = jax.jit(lambda c: jax.lax.fori_loop(0, 3000, body, c))((params, state))
    assert float(jnp.hypot(params.slow.phi, params.slow.theta)) < 1e-6
