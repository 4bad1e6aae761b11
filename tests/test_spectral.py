"""Spectra, the Nie & Patel 2019 diagnostics, and update-map Jacobians against closed forms."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from closed_forms import F_PRIME_0

import jaxgan as jg
from jaxgan._analysis import spectral as _spectral


def test_dirac_spectrum_diagnostics():
    game = jg.games.dirac("standard")
    s = jg.spectrum(game, game.equilibrium)
    assert np.isinf(s.phase_factor)
    assert float(s.conditioning_factor) == pytest.approx(1.0, abs=1e-12)
    assert float(s.stable_step) == 0.0 and not bool(s.is_stable)
    assert bool(s.block_structured)
    np.testing.assert_allclose(s.P, [[0.5]], atol=1e-14)  # P = -A_{phi theta} = f'(0)
    np.testing.assert_allclose(s.Q, [[0.0]], atol=1e-14)


@pytest.mark.parametrize("v, sigma2", [([1.0, 0.0], 0.5), ([2.0, 1.0], 1.5), ([1.0, 1.0, 1.0], 1.0), ([0.3, 0.1, -0.2], 2.5)])
def test_linear_gaussian_corollaries_1_and_2(v, sigma2):
    v = np.asarray(v)
    game = jg.games.linear_gaussian(jnp.asarray(v), sigma2)
    s = jg.spectrum(game, game.equilibrium)
    assert bool(s.block_structured) and bool(s.is_stable)
    lam = np.asarray(s.eigenvalues)
    beta2 = sigma2 + v @ v
    bounds = []
    for mu in (sigma2, beta2):
        # the eigenvalues of this 2x2 block: roots of lambda^2 + mu/2 lambda + 1/4 (a1 = -mu/2, a2 = 1/4)
        idx = np.isclose(np.asarray(s.a1), -mu / 2, atol=1e-8)
        assert idx.sum() == (2 if mu == beta2 else 2 * (v.size - 1)) or (mu == beta2 == sigma2)
        np.testing.assert_allclose(np.asarray(s.a2)[idx], 0.25, atol=1e-8)
        if mu < 2:  # complex pair: Corollary 1
            zeta = np.sqrt(4 - mu**2) / mu
            np.testing.assert_allclose(np.asarray(s.zeta)[idx], zeta, rtol=1e-8)
            assert np.all(np.isnan(np.asarray(s.tau)[idx]))
            bound = 4 / np.sqrt(1 + zeta**2)
            np.testing.assert_allclose(bound, 2 * mu, rtol=1e-12)
        else:  # real pair: Corollary 2
            root = np.sqrt(mu**2 - 4)
            tau = (mu + root) / (mu - root)
            np.testing.assert_allclose(np.asarray(s.tau)[idx], tau, rtol=1e-8)
            bound = 4 / np.sqrt(tau)
        np.testing.assert_allclose(np.asarray(s.block_step_bound)[idx], bound, rtol=1e-8)
        bounds.append(bound)
    # the global stable step is the tightest block's, and it is exact for SimGD
    np.testing.assert_allclose(s.stable_step, min(bounds), rtol=1e-8)
    np.testing.assert_allclose(s.phase_factor, np.max(np.abs(lam.imag) / np.abs(lam.real)), rtol=1e-10)
    np.testing.assert_allclose(s.conditioning_factor, np.abs(lam).max() / np.abs(lam).min(), rtol=1e-10)
    eta = float(s.stable_step)
    rho_in = jg.spectral_radius(game, optax.sgd(0.99 * eta), game.equilibrium)
    rho_out = jg.spectral_radius(game, optax.sgd(1.01 * eta), game.equilibrium)
    assert float(rho_in) < 1.0 < float(rho_out)


def test_theorem4_relation_on_random_gan_blocks(key):
    k1, k2 = jax.random.split(key)
    n, m = 3, 5
    P = jax.random.normal(k1, (n, m))
    G = jax.random.normal(k2, (m, m))
    Q = -(G @ G.T) / m
    A = jnp.block([[jnp.zeros((n, n)), -P], [P.T, Q]])
    s = jg.matrix_spectrum(A, n_phi=n)
    assert bool(s.block_structured)
    lam, a1, a2 = np.asarray(s.eigenvalues), np.asarray(s.a1), np.asarray(s.a2)
    ok = ~np.isnan(a1)
    assert ok.sum() >= m  # eigenvectors with a theta part
    np.testing.assert_allclose(lam[ok] ** 2 - a1[ok] * lam[ok] + a2[ok], 0.0, atol=1e-10)
    q_eig, pp_eig = np.linalg.eigvalsh(np.asarray(Q)), np.linalg.eigvalsh(np.asarray(P.T @ P))
    assert np.all(a1[ok] >= q_eig.min() - 1e-10) and np.all(a1[ok] <= q_eig.max() + 1e-10)
    assert np.all(a2[ok] >= pp_eig.min() - 1e-10) and np.all(a2[ok] <= pp_eig.max() + 1e-10)
    # not GAN-structured: blocks are NaN, the global diagnostics still hold
    s2 = jg.matrix_spectrum(A + jnp.eye(n + m) * 0.1, n_phi=n)
    assert not bool(s2.block_structured) and np.all(np.isnan(np.asarray(s2.zeta)))


def _random_point_game(key):
    k1, k2 = jax.random.split(key)

    def f(x, y):
        return jnp.sum(jnp.sin(x) * y[:2]) + jnp.sum(x**2) * jnp.cos(y[2]) - 0.3 * jnp.sum(y**2)

    w = jg.Joint(jax.random.normal(k1, (2,)), jax.random.normal(k2, (3,)))
    return jg.zero_sum(f), w


@pytest.mark.parametrize("eta", [0.01, 0.3])
def test_update_jacobian_of_sgd_is_i_plus_eta_a(key, eta):
    game, w = _random_point_game(key)
    m = jg.update_jacobian(game, optax.sgd(eta), w)
    np.testing.assert_allclose(m, np.eye(5) + eta * np.asarray(jg.jacobian(game, w)), rtol=1e-13, atol=1e-14)


def test_update_jacobian_of_heavy_ball_includes_state(key):
    game, w = _random_point_game(key)
    eta, beta = 0.1, 0.7
    m = jg.update_jacobian(game, optax.sgd(eta, momentum=beta), w)
    a = np.asarray(jg.jacobian(game, w))
    eye = np.eye(5)
    # trace' = xi + beta trace, w' = w - eta trace'; with J_xi = -A
    expected = np.block([[eye + eta * a, -eta * beta * eye], [-a, beta * eye]])
    np.testing.assert_allclose(m, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("loss", jg.games.LOSSES)
@pytest.mark.parametrize("h", [0.1, 1.0, 3.0])
def test_dirac_simgd_operator(loss, h):
    game = jg.games.dirac(loss)
    m = jg.update_jacobian(game, optax.sgd(h), game.equilibrium)
    c = F_PRIME_0[loss]
    lam = np.sort_complex(np.linalg.eigvals(np.asarray(m)))
    np.testing.assert_allclose(lam, [1 - 1j * h * c, 1 + 1j * h * c], atol=1e-12)
    np.testing.assert_allclose(jg.spectral_radius(game, optax.sgd(h), game.equilibrium), np.sqrt(1 + h**2 * c**2), rtol=1e-12)


@pytest.mark.parametrize("loss", ["standard", "wgan"])
def test_dirac_simgd_exact_norm_growth(loss):
    game = jg.games.dirac(loss)
    h = 0.3
    out = jg.rollout(game, optax.sgd(h), jg.Joint(jnp.array(0.8), jnp.array(-0.6)), 50, record_every=1)
    phi, theta = np.asarray(out.trajectory.phi), np.asarray(out.trajectory.theta)
    norm2 = phi**2 + theta**2
    fp = np.asarray(jg.games.loss_f_prime(loss)(jnp.asarray(theta[:-1] * phi[:-1])))
    np.testing.assert_allclose(norm2[1:], norm2[:-1] * (1 + h**2 * fp**2), rtol=1e-12)
    assert np.all(np.diff(norm2) > 0)


def test_spectrum_jit_and_vmap_over_points():
    game = jg.games.dirac("standard")
    ws = jg.Joint(jnp.array([0.0, 0.5, -1.0]), jnp.array([0.0, 0.2, 0.3]))
    batched = jax.jit(jax.vmap(lambda w: jg.spectrum(game, w)))(ws)
    one = jg.spectrum(game, jg.Joint(jnp.array(0.5), jnp.array(0.2)))
    np.testing.assert_allclose(batched.eigenvalues[1], one.eigenvalues, rtol=1e-12)
    assert batched.stable_step.shape == (3,)


def test_spectrum_errors(monkeypatch):
    game = jg.games.dirac("standard")
    with pytest.raises(ValueError, match=r"`w.phi` has non-finite values"):
        jg.spectrum(game, jg.Joint(jnp.array(jnp.nan), jnp.array(0.0)))
    with pytest.raises(ValueError, match=r"`w.theta` has non-finite values"):
        jg.spectrum(game, jg.Joint(jnp.array(0.0), jnp.array(jnp.inf)))
    with pytest.raises(TypeError, match="needs the game"):
        jg.spectrum(None, game.equilibrium)
    monkeypatch.setattr(_spectral, "_DENSE_EIG_LIMIT", 3)
    with pytest.raises(ValueError, match="too large.*top-k"):
        jg.eigenvalues(jg.games.bilinear(np.eye(2)), jg.Joint(jnp.zeros(2), jnp.zeros(2)))
    with pytest.raises(ValueError, match="n_phi"):
        jg.matrix_spectrum(jnp.eye(2), n_phi=2)
    with pytest.raises(TypeError, match="optax.GradientTransformation"):
        jg.update_jacobian(game, lambda g: g, game.equilibrium)


# ------------------------------------------------ a backend without eig (TPU): host LAPACK




# --------------------------------------------------------------------------- verdicts with a stated tolerance


def test_a_centre_is_marginal_not_stable():
    game = jg.games.quadratic(-1.0, 2.0, 1.0)
    s = jg.spectrum(game, game.equilibrium)
    np.testing.assert_allclose(np.abs(np.asarray(s.eigenvalues.imag)), [3**0.5, 3**0.5], rtol=1e-12)
    assert not bool(s.is_stable) and s.verdict_label == "marginal"
    assert float(s.stable_step) == 0.0
    assert float(s.phase_factor) == float("inf")
    assert float(s.tolerance) == pytest.approx(100 * 2 * np.finfo(np.float64).eps * 3**0.5)


@pytest.mark.parametrize("lam,verdict", [
    ([-1e-17 + 1j, -1e-17 - 1j], "marginal"),
    ([1e-17 + 1j, 1e-17 - 1j], "marginal"),
    ([-1e-9 + 1j, -1e-9 - 1j], "stable"),
    ([1e-9 + 0j, -1.0 + 0j], "unstable"),
    ([-1.0 + 0j, -2.0 + 0j], "stable"),
])
def test_verdicts_at_rounding_level_real_parts(lam, verdict):
    lam = jnp.asarray(lam, jnp.complex128)
    assert jg.VERDICTS[int(jg.flow_verdict(lam))] == verdict
    s = jg.matrix_spectrum(jnp.asarray([[lam[0].real, -lam[0].imag], [lam[0].imag, lam[0].real]]), n_phi=1)
    assert s.verdict_label == verdict if lam[0].imag != 0 else True


def test_factors_are_infinite_on_the_axis_and_at_zero():
    assert float(jg.phase_factor(jnp.asarray([-1e-17 + 2j, -1e-17 - 2j]))) == float("inf")
    assert float(jg.conditioning_factor(jnp.asarray([1e-18 + 0j, -2.0 + 0j]))) == float("inf")
    assert float(jg.phase_factor(jnp.asarray([-1.0 + 2j, -1.0 - 2j]))) == 2.0


# --------------------------------------------------------------------------- hyperparameters everywhere, checked


def test_a_misspelt_hyperparameter_is_refused_by_every_entry_point():
    game = jg.games.dirac("wgan")
    w = game.equilibrium

    def make_tx(h):
        return optax.sgd(h["lr"], momentum=h["beta"])

    assert float(jg.spectral_radius(game, make_tx, w, hyperparams={"lr": 0.5, "beta": -0.5})) > 0
    for call in (jg.spectral_radius, jg.update_jacobian):
        with pytest.raises(ValueError, match="`betta` are never read"):
            call(game, make_tx, w, hyperparams={"lr": 0.5, "beta": -0.5, "betta": -0.5})
    for call in (jg.eigenvalues, jg.spectrum, jg.jacobian, lambda *a, **k: jg.top_eigenvalues(*a, k=1, **k),
                 lambda g, w, **k: jg.flows.flow(g, w, jnp.asarray([0.0, 1.0]), **k)):
        with pytest.raises(ValueError, match="`x` are never read"):
            call(game, w, transform=lambda h: jg.transforms.consensus(h["g"]), hyperparams={"g": 0.5, "x": 1.0})
    with pytest.raises(TypeError, match="needs `transform=`"):
        jg.eigenvalues(game, w, hyperparams={"g": 0.5})


def test_spectra_with_a_make_tx_take_new_hyperparameters_without_compiling():
    from test_cache import counting

    game = jg.games.dirac("wgan")
    w = game.equilibrium
    make_tx = lambda h: jg.transforms.consensus(h["g"])  # noqa: E731
    top = lambda g, w, **kw: jg.top_eigenvalues(g, w, k=1, **kw)  # noqa: E731
    flow = lambda g, w, **kw: jg.flows.flow(g, jg.Joint(jnp.asarray(0.3), jnp.asarray(0.1)), jnp.asarray([0.0, 1.0]), **kw)  # noqa: E731
    for call in (jg.eigenvalues, jg.jacobian, jg.spectrum, top, flow):
        jax.block_until_ready(call(game, w, transform=make_tx, hyperparams={"g": jnp.asarray(0.5)}))
        with counting() as c:
            jax.block_until_ready(call(game, w, transform=make_tx, hyperparams={"g": jnp.asarray(0.25)}))
        assert c == {"compiles": 0, "traces": 0}, (call, c)
    np.testing.assert_allclose(np.asarray(jg.eigenvalues(game, w, transform=make_tx, hyperparams={"g": 0.25}).real),
                               np.asarray(jg.eigenvalues(game, w, transform=jg.transforms.consensus(0.25)).real), rtol=1e-12)
    sgd = lambda h: optax.sgd(h["lr"])  # noqa: E731
    jax.block_until_ready(jg.spectral_radius(game, sgd, w, hyperparams={"lr": 0.3}))
    with counting() as c:
        jax.block_until_ready(jg.spectral_radius(game, sgd, w, hyperparams={"lr": 0.4}))
    assert c == {"compiles": 0, "traces": 0}, c


# --------------------------------------------------------------------------- periodic schedules

LRS = jnp.asarray([0.5, 0.1, 0.05])
CYCLIC = optax.sgd(lambda count: LRS[count % 3])


def test_a_cyclic_schedule_is_analysed_over_its_period():
    """SimGD on the Dirac-GAN with learning rates cycling through (0.5, 0.1, 0.05): the cycle map
    is the product of ``[[1, -eta], [eta, 1]]`` over the cycle (from the default state, one step
    in), its radius per step ``prod(1 + eta^2)^(1/6)``; a multiple of the period gives the same."""
    game = jg.games.dirac("wgan")
    m = np.eye(2)
    for eta in (0.1, 0.05, 0.5):
        m = np.array([[1.0, -eta], [eta, 1.0]]) @ m
    np.testing.assert_allclose(jg.update_jacobian(game, CYCLIC, game.equilibrium, period=3, cycle=True), m, rtol=1e-12)
    expected = float(np.prod(1 + np.asarray(LRS) ** 2)) ** (1 / 6)
    for period in (3, 6):
        np.testing.assert_allclose(jg.spectral_radius(game, CYCLIC, game.equilibrium, period=period), expected, rtol=1e-12)
    with pytest.raises(ValueError, match="never repeats.*`period=k`"):
        jg.spectral_radius(game, CYCLIC, game.equilibrium)


WARM_UP = optax.sgd(lambda count: jnp.where(count < 50, 0.01, LRS[count % 3]))


@pytest.mark.parametrize("tx, period", [(CYCLIC, 2), (optax.sgd(optax.cosine_decay_schedule(0.1, 100)), 5), (WARM_UP, 3)],
                         ids=["another period", "a decaying schedule", "a warm-up before the cycle"])
def test_a_period_the_schedule_does_not_have_is_refused(tx, period):
    game = jg.games.dirac("wgan")
    with pytest.raises(ValueError, match=f"does not repeat every `period` = {period} steps"):
        jg.spectral_radius(game, tx, game.equilibrium, period=period)
    with pytest.raises(ValueError, match="`period`"):
        jg.update_jacobian(game, tx, game.equilibrium, period=period)
    assert np.isnan(jax.jit(lambda w: jg.spectral_radius(game, tx, w, period=period))(game.equilibrium))


def test_the_cycle_of_a_map_that_never_repeats_is_refused_naming_period():
    game = jg.games.dirac("wgan")
    for tx in (optax.sgd(lambda count: 0.1 / (1 + count)), jg.transforms.anchored_extragradient(0.1)):
        jg.update_jacobian(game, tx, game.equilibrium)  # one step at the state's count: defined
        with pytest.raises(ValueError, match="update_jacobian: the step's map depends on time and never repeats.*`period=k`"):
            jg.update_jacobian(game, tx, game.equilibrium, cycle=True)
    with pytest.raises(ValueError, match="^stability_map: the step's map depends on time"):
        jg.stability_map(game, lambda h: jg.transforms.anchored_extragradient(h["lr"]), {"lr": jnp.asarray([0.1])})
