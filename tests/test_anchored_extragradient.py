"""``jg.transforms.anchored_extragradient`` (EAG-C, Yoon & Ryu 2021) against a reference loop, its
rate bound, and the analyses' refusal."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxgan as jg

BOX = jg.Box(jg.Joint(-1.0, -1.0), jg.Joint(1.0, 1.0))

COMMON = {
    "anchored_extragradient": dict(
        make=lambda lr: jg.transforms.anchored_extragradient(lr),
        injected=lambda lr: optax.inject_hyperparams(jg.transforms.anchored_extragradient)(learning_rate=lr),
        radius=None,  # beta_k = 1/(k + 2) changes every step: no constant step matrix (refused below)
    ),
}




def _eag_reference(field, z0, alpha, steps):
    z, out = z0, [z0]
    for k in range(steps):
        beta = 1.0 / (k + 2)
        half = z + beta * (z0 - z) - alpha * field(z)
        z = z + beta * (z0 - z) - alpha * field(half)
        out.append(z)
    return out


def test_eag_c_against_a_reference_loop_and_its_rate():
    """The rollout equals EAG-C written out with plain jax.grad, on a bilinear game with ``alpha =
    1/(8L)``, and meets Yoon & Ryu's bound ``|xi(z_k)|^2 <= 4 |z_0 - z*|^2 / (alpha^2 (k+1)^2)`` at
    every step (z* = 0)."""
    rng = np.random.default_rng(0)
    A = jnp.asarray(rng.normal(size=(3, 3)))
    f = lambda x, y: x @ A @ y
    game = jg.zero_sum(f)
    L = float(np.linalg.norm(np.asarray(A), 2))
    alpha, T = 1 / (8 * L), 60
    z0 = jnp.asarray(rng.normal(size=6))
    field = lambda z: jnp.concatenate([jax.grad(f, 0)(z[:3], z[3:]), -jax.grad(f, 1)(z[:3], z[3:])])
    ref = _eag_reference(field, z0, alpha, T)
    out = jg.rollout(game, jg.transforms.anchored_extragradient(alpha), jg.Joint(z0[:3], z0[3:]), T, record_every=1)
    traj = np.concatenate([out.trajectory.phi, out.trajectory.theta], axis=1)
    np.testing.assert_allclose(traj, np.stack(ref), rtol=1e-11, atol=1e-14)
    norms2 = np.array([float(field(jnp.asarray(z)) @ field(jnp.asarray(z))) for z in traj])
    bound = 4 * float(z0 @ z0) / (alpha**2 * (np.arange(T + 1) + 1.0) ** 2)
    assert np.all(norms2 <= bound)


def test_eag_c_has_no_step_matrix_and_the_analyses_say_why():
    game = jg.games.dirac("wgan")
    tx = jg.transforms.anchored_extragradient(0.1)
    with pytest.raises(ValueError, match="beta_k = 1/\\(k \\+ 2\\)"):
        jg.spectral_radius(game, tx, game.equilibrium)
    with pytest.raises(ValueError, match="anchored_extragradient has no inner optimiser to project in"):
        jg.rollout(game, optax.chain(tx, jg.transforms.project_box(BOX)), jg.Joint(1.0, 0.0), 2)

