"""jg.transforms.complex_momentum against a reference loop with plain jax.grad and complex
NumPy arithmetic, and against its closed forms: the step matrix over (w, Re mu, Im mu), its
spectrum from the 3 x 3 blocks of the field's eigenvalues, heavy ball for a real beta, and the
bilinear game that no real momentum solves with simultaneous steps (Lorraine et al. 2022)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxgan as jg

#: the Dirac-GAN entry of the transforms' common matrix (tests/test_transforms_common.py)
BETA = 0.5 * np.exp(0.5j)


def _block(lam, alpha, beta):
    """The 3 x 3 block of the step at an equilibrium for an eigenvalue ``lam`` of J."""
    br, bi = beta.real, beta.imag
    return np.array([[1 - alpha * lam, alpha * br, -alpha * bi], [-lam, br, -bi], [0, bi, br]], complex)


def _radius(eigs_of_j, alpha, beta):
    return max(np.abs(np.linalg.eigvals(_block(lam, alpha, beta))).max() for lam in eigs_of_j)


COMMON = {
    "complex_momentum": dict(
        make=lambda lr: jg.transforms.complex_momentum(lr, BETA),
        injected=lambda lr: optax.inject_hyperparams(jg.transforms.complex_momentum)(learning_rate=lr, beta=BETA),
        radius=lambda lr: _radius((1j, -1j), lr, BETA),  # the Dirac-GAN's J has eigenvalues +- i
        needs_game=False,  # a direction stage: it turns the field it is given into an update
        needs_params=False,
    )
}

#: a valid call for the probe suite (tests/test_probes.py), which tries each option's bad values
PROBE_CALLS = {
    "jaxgan.transforms._complex_momentum.complex_momentum": lambda **k: jg.transforms.complex_momentum(
        **{"learning_rate": 0.1, "beta": 0.5j, **k}),
}


def _random_quadratic(seed, n_phi=3, n_theta=2):
    """A general-sum quadratic game with a random field Jacobian ``J`` (equilibrium at 0):
    ``l_g = phi A phi / 2 + phi B theta``, ``l_d = theta C theta / 2 + theta D phi``."""
    rng = np.random.default_rng(seed)
    n = n_phi + n_theta
    J = rng.normal(size=(n, n)) + 2.0 * np.eye(n)
    J[:n_phi, :n_phi] = (J[:n_phi, :n_phi] + J[:n_phi, :n_phi].T) / 2
    J[n_phi:, n_phi:] = (J[n_phi:, n_phi:] + J[n_phi:, n_phi:].T) / 2
    A, B = jnp.asarray(J[:n_phi, :n_phi]), jnp.asarray(J[:n_phi, n_phi:])
    D, C = jnp.asarray(J[n_phi:, :n_phi]), jnp.asarray(J[n_phi:, n_phi:])
    game = jg.Game(lambda phi, theta: phi @ A @ phi / 2 + phi @ B @ theta,
                   lambda phi, theta: theta @ C @ theta / 2 + theta @ D @ phi,
                   equilibrium=jg.Joint(jnp.zeros(n_phi), jnp.zeros(n_theta)))
    return game, J


def test_a_run_equals_a_reference_loop_with_plain_grad_and_complex_numpy():
    game = jg.games.dirac("non_saturating")
    alpha, beta = 0.3, 0.8 * np.exp(0.4j)
    w0 = jg.Joint(jnp.asarray(0.7), jnp.asarray(-0.4))
    out = jg.rollout(game, jg.transforms.complex_momentum(alpha, beta), w0, 40)
    phi, theta = 0.7, -0.4
    mu = np.zeros(2, complex)
    for _ in range(40):
        xi = np.array([float(jax.grad(game.loss_g, 0)(phi, theta)), float(jax.grad(game.loss_d, 1)(phi, theta))])
        mu = beta * mu - xi
        phi, theta = phi + alpha * mu.real[0], theta + alpha * mu.real[1]
    np.testing.assert_allclose([float(out.final.phi), float(out.final.theta)], [phi, theta], rtol=1e-12, atol=1e-14)


def test_the_step_matrix_over_w_and_both_parts_of_the_buffer_is_the_closed_form():
    game, J = _random_quadratic(0)
    alpha, beta = 0.2, 0.7 * np.exp(0.9j)
    tx = jg.transforms.complex_momentum(alpha, beta)
    n = len(J)
    I, Z = np.eye(n), np.zeros((n, n))
    br, bi = beta.real, beta.imag
    # the state (Re mu, Im mu) is a Joint of two players each, ordered after w's (phi, theta)
    M = np.block([[I - alpha * J, alpha * br * I, -alpha * bi * I], [-J, br * I, -bi * I], [Z, bi * I, br * I]])
    # one step from a state with a non-zero buffer (the fresh state's first step is a different map)
    w = game.equilibrium
    state = jg.transforms.ComplexMomentumState(jax.tree.map(lambda x: x + 0.1, w), jax.tree.map(lambda x: x - 0.2, w))
    got = np.asarray(jg.update_jacobian(game, tx, w, state))
    np.testing.assert_allclose(got, M, atol=1e-12)
    # the radius from the 3 x 3 blocks, one per eigenvalue of J
    rho = jg.spectral_radius(game, tx, w)
    np.testing.assert_allclose(rho, _radius(np.linalg.eigvals(J), alpha, beta), rtol=1e-10)
    np.testing.assert_allclose(rho, np.abs(np.linalg.eigvals(M)).max(), rtol=1e-10)


def test_a_real_beta_is_heavy_ball():
    game = jg.games.dirac("non_saturating")
    w0 = jg.Joint(jnp.asarray(0.7), jnp.asarray(-0.4))
    ours = jg.rollout(game, jg.transforms.complex_momentum(0.2, 0.6), w0, 30, record_every=1)
    heavy_ball = jg.rollout(game, optax.sgd(0.2, momentum=0.6), w0, 30, record_every=1)
    np.testing.assert_allclose(np.asarray(ours.trajectory.phi), np.asarray(heavy_ball.trajectory.phi), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(ours.trajectory.theta), np.asarray(heavy_ball.trajectory.theta), rtol=1e-12)


def test_no_real_momentum_converges_on_xy_and_a_complex_one_does():
    game = jg.games.bilinear(1.0)
    grid, shape = jg.grid_product(lr=np.linspace(0.05, 2.0, 12), beta=np.linspace(-0.95, 0.95, 15))
    real = jg.stability_map(game, lambda h: jg.transforms.complex_momentum(h["lr"], h["beta"]), grid,
                            w_star=game.equilibrium)
    radii = np.asarray(real.radius)
    assert radii.shape == (12 * 15,) and radii.min() >= 1 - 1e-12
    # the closed form on the same grid: the 3 x 3 blocks with lambda = +- i
    expected = [_radius((1j, -1j), float(a), complex(b)) for a, b in zip(grid["lr"], grid["beta"])]
    np.testing.assert_allclose(radii, expected, rtol=1e-9)
    # near the best complex beta (the optimum 0.8882 is a double root, so the radius moves with
    # the square root of a change in the hyperparameters)
    alpha, beta = 0.549725, 0.668098 * np.exp(1.165484j)
    rho = jg.spectral_radius(game, jg.transforms.complex_momentum(alpha, beta), game.equilibrium)
    np.testing.assert_allclose(rho, _radius((1j, -1j), alpha, beta), rtol=1e-10)
    assert 0.8882 < rho < 0.8885


def test_traced_complex_beta_under_vmap_and_as_a_per_player_optimiser():
    game = jg.games.bilinear(1.0)
    tx_of = lambda m, a: jg.transforms.complex_momentum(0.5, m * jnp.exp(1j * a))  # noqa: E731
    rho = jax.vmap(lambda a: jg.spectral_radius(game, tx_of(0.7, a), game.equilibrium))(jnp.asarray([0.3, 1.2]))
    np.testing.assert_allclose(rho, [_radius((1j, -1j), 0.5, 0.7 * np.exp(1j * a)) for a in (0.3, 1.2)], rtol=1e-10)
    # one optimiser per player: the generator with complex momentum, the discriminator plain SGD
    tx = jg.transforms.per_player(jg.transforms.complex_momentum(0.1, BETA), optax.sgd(0.1))
    w0 = jg.Joint(jnp.asarray(1.0), jnp.asarray(0.5))
    out = jg.rollout(game, tx, w0, 3)
    phi, theta, mu = 1.0, 0.5, 0j
    for _ in range(3):
        g_phi, g_theta = theta, -phi  # xi of f = x y
        mu = BETA * mu - g_phi
        phi, theta = phi + 0.1 * mu.real, theta - 0.1 * g_theta
    np.testing.assert_allclose([float(out.final.phi), float(out.final.theta)], [phi, theta], rtol=1e-12)
