"""Anderson-mixed GDA (GDA-AM, He et al. 2022) against plain GDA and a hand-written mixing loop."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.flatten_util import ravel_pytree

import jaxgan as jg

W0 = jg.Joint(jnp.asarray(1.0), jnp.asarray(1.0))


@pytest.mark.parametrize("inner", ["simultaneous", "alternating"])
@pytest.mark.parametrize("game", ["bilinear", "dirac"])
def test_window_zero_is_gda_bitwise(inner, game):
    game = jg.games.bilinear(1.0) if game == "bilinear" else jg.games.dirac("standard")

    def base():
        return optax.sgd(0.3) if inner == "simultaneous" else jg.transforms.alternating(optax.sgd(0.3))

    plain = jg.rollout(game, base(), W0, 40, record=lambda w: w)
    mixed = jg.rollout(game, jg.transforms.gda_am(base(), window=0), W0, 40, record=lambda w: w)
    for a, b in zip(jax.tree.leaves(plain.trajectory), jax.tree.leaves(mixed.trajectory)):
        assert np.array_equal(np.asarray(a), np.asarray(b))


def _reference_anderson(xi, w0, h, m, steps, ridge):
    """Type-II Anderson mixing of w -> w - h xi(w), written out with NumPy lists."""
    w = np.asarray(w0, float)
    images, residuals = [], []
    for _ in range(steps):
        u = -h * xi(w)
        images.insert(0, w + u)
        residuals.insert(0, u)
        del images[m + 1:], residuals[m + 1:]
        F = np.stack(residuals)
        G = F @ F.T
        G = G / max(np.trace(G), np.finfo(float).tiny) + ridge * np.eye(len(F))
        z = np.linalg.solve(G, np.ones(len(F)))
        w = (z / z.sum()) @ np.stack(images)
    return w


def test_mixing_matches_a_hand_written_loop_on_a_quadratic_game():
    rng = np.random.default_rng(0)
    A, B, C = rng.normal(size=(3, 3)), rng.normal(size=(3, 2)), rng.normal(size=(2, 2))
    A, C = A @ A.T / 3, C @ C.T / 2
    game = jg.zero_sum(lambda x, y: 0.5 * x @ A @ x + x @ B @ y - 0.5 * y @ C @ y)
    w0 = jg.Joint(jnp.asarray(rng.normal(size=3)), jnp.asarray(rng.normal(size=2)))

    def xi(z):
        return np.asarray(ravel_pytree(jg.simultaneous_gradient(game)(jg.Joint(jnp.asarray(z[:3]), jnp.asarray(z[3:]))))[0])

    for m, steps in ((1, 7), (3, 12)):
        out = jg.rollout(game, jg.transforms.gda_am(optax.sgd(0.2), window=m, ridge=1e-9), w0, steps).final
        expected = _reference_anderson(xi, ravel_pytree(w0)[0], 0.2, m, steps, 1e-9)
        np.testing.assert_allclose(ravel_pytree(out)[0], expected, rtol=1e-9, atol=1e-12)


def test_converges_on_the_bilinear_game_where_simultaneous_gda_diverges():
    game = jg.games.bilinear(1.0)

    def radius(tx, steps):
        f = jg.rollout(game, tx, W0, steps).final
        return float(jnp.hypot(f.phi, f.theta))

    for lr in (0.1, 0.5, 1.0):
        assert radius(optax.sgd(lr), 200) > radius(optax.sgd(lr), 0 + 1) > np.sqrt(2)  # GDA spirals out
        assert radius(jg.transforms.alternating(optax.sgd(lr)), 200) > 0.5  # alternating GDA: a bounded orbit
        for m in (2, 3, 5):
            assert radius(jg.transforms.gda_am(jg.transforms.alternating(optax.sgd(lr)), window=m), 300) < 1e-10
        for m in (3, 5) if lr <= 0.5 else (5,):  # the window spans the 2-D joint space
            assert radius(jg.transforms.gda_am(optax.sgd(lr), window=m), 300) < 1e-10
    rng = np.random.default_rng(1)
    A = jnp.asarray(rng.normal(size=(4, 4)))
    big = jg.games.bilinear(A)
    w0 = jg.Joint(jnp.asarray(rng.normal(size=4)), jnp.asarray(rng.normal(size=4)))
    f = jg.rollout(big, jg.transforms.gda_am(optax.sgd(0.2), window=10), w0, 300).final
    assert float(jnp.linalg.norm(jnp.concatenate([f.phi, f.theta]))) < 1e-10


def test_the_stagnation_with_a_short_window_is_as_documented():
    # simultaneous GDA-AM with m = 2 on x y: <u0, u1 - u0> = 0, so the second iterate equals the first
    game = jg.games.bilinear(1.0)
    tx = jg.transforms.gda_am(optax.sgd(0.5), window=2)
    step = jg.make_step(game, tx)
    w1, s1 = step(W0, tx.init(W0))
    w2, _ = step(w1, s1)
    np.testing.assert_allclose([float(w1.phi), float(w1.theta)], [0.5, 1.5], rtol=1e-14)
    np.testing.assert_allclose([float(w2.phi), float(w2.theta)], [0.5, 1.5], rtol=1e-8)


def test_the_history_is_fixed_size_and_corrections_reach_the_inner_steps():
    game = jg.games.dirac("standard")
    tx = optax.chain(jg.transforms.consensus(0.5), jg.transforms.gda_am(jg.transforms.alternating(optax.sgd(0.2)), window=0))
    plain = optax.chain(jg.transforms.consensus(0.5), jg.transforms.alternating(optax.sgd(0.2)))
    a = jg.rollout(game, tx, W0, 20).final
    b = jg.rollout(game, plain, W0, 20).final
    np.testing.assert_array_equal(np.asarray(a.phi), np.asarray(b.phi))
    state = jg.transforms.gda_am(optax.sgd(0.1), window=4).init(W0)
    assert state.images.phi.shape == (5,) and state.residuals.theta.shape == (5,)


def test_bad_options():
    with pytest.raises(TypeError, match="inner"):
        jg.transforms.gda_am(0.1)
    with pytest.raises(ValueError, match="window"):
        jg.transforms.gda_am(optax.sgd(0.1), window=-1)
    with pytest.raises(ValueError, match="ridge"):
        jg.transforms.gda_am(optax.sgd(0.1), ridge=0.0)
