"""Consensus, JARE, SGA and extragradient against their closed forms (float64, 1e-8)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from closed_forms import F_PRIME_0, sorted_eigs

import jaxgan as jg


@pytest.mark.parametrize("loss", jg.games.LOSSES)
@pytest.mark.parametrize("gamma", [0.1, 1.0, 5.0])
def test_consensus_and_jare_on_the_dirac_gan(loss, gamma):
    game = jg.games.dirac(loss)
    c = F_PRIME_0[loss]
    expected = [-gamma * c**2 - 1j * c, -gamma * c**2 + 1j * c]  # consensus on the Dirac-GAN (Mescheder et al. 2017)
    for tx in (jg.transforms.consensus(gamma), jg.transforms.jare(gamma)):  # both only see the off-diagonal blocks here
        np.testing.assert_allclose(sorted_eigs(jg.eigenvalues(game, game.equilibrium, transform=tx)), expected, atol=1e-12)


def _random_quadratic(key, n=3, m=2):
    k1, k2, k3 = jax.random.split(key, 3)
    a = jax.random.normal(k1, (n, n))
    c = jax.random.normal(k3, (m, m))
    game = jg.games.quadratic(np.asarray(a @ a.T) / n, np.asarray(jax.random.normal(k2, (n, m))), np.asarray(c @ c.T) / m)
    j_xi = -np.asarray(jg.jacobian(game, game.equilibrium))  # Jacobian of xi
    return game, j_xi, n


def test_corrections_reduce_to_their_closed_forms_on_quadratic_games(key):
    game, j, n = _random_quadratic(key)
    w = game.equilibrium
    gamma = 0.7
    # consensus: xi + gamma J^T xi  ->  J + gamma J^T J
    np.testing.assert_allclose(-jg.jacobian(game, w, transform=jg.transforms.consensus(gamma)), j + gamma * j.T @ j, atol=1e-12)
    # JARE: phi gets J_tp^T xi_theta, theta gets J_pt^T xi_phi; differentiate at xi = 0
    jpp, jpt, jtp, jtt = j[:n, :n], j[:n, n:], j[n:, :n], j[n:, n:]
    block = np.block([[jtp.T @ jtp, jtp.T @ jtt], [jpt.T @ jpp, jpt.T @ jpt]])
    np.testing.assert_allclose(-jg.jacobian(game, w, transform=jg.transforms.jare(gamma)), j + gamma * block, atol=1e-12)
    # SGA: xi + lam A^T xi with A = (J - J^T)/2  ->  J + lam A^T J (alignment sign is +1 at xi = 0)
    anti = (j - j.T) / 2
    for align in (False, True):
        np.testing.assert_allclose(-jg.jacobian(game, w, transform=jg.transforms.sga(gamma, align=align)), j + gamma * anti.T @ j, atol=1e-12)
    # the corrected fields vanish at the equilibrium: corrections keep the fixed point
    for tx in (jg.transforms.consensus(gamma), jg.transforms.jare(gamma), jg.transforms.sga(gamma)):
        v = jg.corrected_field(game, tx)(w)
        np.testing.assert_allclose(np.concatenate([v.phi, v.theta]), 0.0, atol=1e-12)


def test_sga_alignment_flips_the_sign_where_it_should():
    # a game with a strongly repelling symmetric part: <xi, J^T xi> < 0 ... the rule picks the sign
    game = jg.zero_sum(lambda x, y: -2.0 * x**2 + x * y + 2.0 * y**2)
    w = jg.Joint(jnp.array(1.0), jnp.array(0.5))
    xi = jg.simultaneous_gradient(game)(w)
    j = -np.asarray(jg.jacobian(game, w))
    x = np.array([float(xi.phi), float(xi.theta)])
    anti = (j - j.T) / 2
    sign = np.sign((x @ j.T @ x) * ((anti.T @ x) @ (j.T @ x)) / 2 + 0.1)
    u, _ = jg.transforms.sga(0.3).update(xi, optax.EmptyState(), w, game=game)
    np.testing.assert_allclose([u.phi, u.theta], x + sign * 0.3 * anti.T @ x, rtol=1e-13)
    u_plain, _ = jg.transforms.sga(0.3, align=False).update(xi, optax.EmptyState(), w, game=game)
    np.testing.assert_allclose([u_plain.phi, u_plain.theta], x + 0.3 * anti.T @ x, rtol=1e-13)


def _theorem3(mu, gamma):
    d = np.sqrt(complex((mu + gamma) ** 2 - (gamma**2 + 4)))
    return [(-(mu + gamma) + d) / 4, (-(mu + gamma) - d) / 4]


@pytest.mark.parametrize("v, sigma2", [([1.0, 0.5], 1.0), ([0.2, -0.3], 0.4), ([1.0, 1.0, -1.0], 0.8), ([2.0, 0.0, 1.0], 2.5)])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 10.0])
def test_jare_theorem3(v, sigma2, gamma):
    v = np.asarray(v)
    game = jg.games.linear_gaussian(jnp.asarray(v), sigma2)
    lam = jg.eigenvalues(game, game.equilibrium, transform=jg.transforms.jare(gamma))
    expected = _theorem3(sigma2 + v @ v, gamma) + sum((_theorem3(sigma2, gamma) for _ in range(v.size - 1)), [])
    np.testing.assert_allclose(sorted_eigs(lam), sorted_eigs(expected), atol=1e-8)


@pytest.mark.parametrize("sigma2", [0.3, 1.0, 1.6])
def test_jare_gamma_above_which_every_eigenvalue_is_real(sigma2):
    # (mu + g)^2 - g^2 - 4 >= 0  <=>  g >= (4 - mu^2) / (2 mu); the smallest mu (= sigma2) binds
    v = jnp.array([1.0, 1.0])
    game = jg.games.linear_gaussian(v, sigma2)
    g_star = (4 - sigma2**2) / (2 * sigma2)
    below = jg.eigenvalues(game, game.equilibrium, transform=jg.transforms.jare(0.98 * g_star))
    above = jg.eigenvalues(game, game.equilibrium, transform=jg.transforms.jare(1.02 * g_star))
    assert np.max(np.abs(np.asarray(below).imag)) > 1e-3
    np.testing.assert_allclose(np.asarray(above).imag, 0.0, atol=1e-12)


def test_jare_phase_to_zero_and_conditioning_to_one():
    game = jg.games.linear_gaussian(jnp.array([1.5, -1.0]), 0.5)
    phase, cond = [], []
    for gamma in [0.0, 1.0, 10.0, 100.0, 1000.0]:
        s = jg.spectrum(game, game.equilibrium, transform=jg.transforms.jare(gamma))
        phase.append(float(s.phase_factor))
        cond.append(float(s.conditioning_factor))
    assert phase[0] > 1 and phase[-1] == 0.0 and phase[2] == 0.0
    assert all(a > b for a, b in zip(cond[1:], cond[2:])) and cond[-1] < 1.2
    # Theorem 3 at gamma = 1000: every eigenvalue near -gamma/4
    lam = np.asarray(jg.eigenvalues(game, game.equilibrium, transform=jg.transforms.jare(1000.0)))
    np.testing.assert_allclose(lam.real / 250.0, -1.0, atol=0.15)


def test_correction_errors():
    game = jg.games.dirac("wgan")
    w = game.equilibrium
    xi = jg.simultaneous_gradient(game)(w)
    for tx in (jg.transforms.consensus(1.0), jg.transforms.jare(1.0), jg.transforms.sga(1.0), jg.transforms.extragradient(optax.sgd(0.1))):
        with pytest.raises(TypeError, match="needs the game"):
            tx.update(xi, tx.init(w), w)
    with pytest.raises(TypeError, match="`align` must be a bool"):
        jg.transforms.sga(1.0, align="yes")
    with pytest.raises(TypeError, match="`inner` must be an optax.GradientTransformation"):
        jg.transforms.extragradient(0.1)


def _dense_products(game, w):
    """J^T xi, A^T xi and JARE's correction from the dense Jacobian of xi."""
    from jax.flatten_util import ravel_pytree

    j = -np.asarray(jg.jacobian(game, w))
    xi = np.asarray(ravel_pytree(jg.simultaneous_gradient(game)(w))[0])
    n = np.asarray(ravel_pytree(w.phi)[0]).size
    jare = np.concatenate([j[n:, :n].T @ xi[n:], j[:n, n:].T @ xi[:n]])
    return j, xi, jare


def _flat(tree):
    from jax.flatten_util import ravel_pytree

    return np.asarray(ravel_pytree(tree)[0])


@pytest.mark.parametrize("loss", jg.games.LOSSES)
def test_corrections_at_generic_points_match_dense_formulas(loss):
    # a GAN with a 2-D quadratic critic: general-sum for the non-saturating loss
    data = jg.fixed_samples(jnp.array([[0.3, -0.1], [1.0, 0.5], [-0.7, 0.2]]))
    latents = jg.fixed_samples(jnp.array([[0.1, 0.2], [-0.4, 0.3], [0.5, -0.6]]))
    game = jg.games.gan(lambda p, z: p["A"] @ z + p["b"], lambda t, x: t["w"] @ x + x @ t["Q"] @ x,
                        data, latents, loss=loss)
    assert game.zero_sum == (loss != "non_saturating")
    w = jg.Joint({"A": jnp.array([[1.0, 0.2], [-0.3, 0.8]]), "b": jnp.array([0.1, -0.2])},
                 {"w": jnp.array([0.4, -0.5]), "Q": jnp.array([[0.2, 0.1], [0.1, -0.3]])})
    j, xi, jare = _dense_products(game, w)
    anti = (j - j.T) / 2
    xi_tree = jg.simultaneous_gradient(game)(w)
    checks = {
        "consensus": (jg.transforms.consensus(1.0), xi + j.T @ xi),
        "jare": (jg.transforms.jare(1.0), xi + jare),
        "sga": (jg.transforms.sga(1.0, align=False), xi + anti.T @ xi),
    }
    for name, (tx, expected) in checks.items():
        u, _ = tx.update(xi_tree, tx.init(w), w, game=game)
        np.testing.assert_allclose(_flat(u), expected, rtol=1e-10, atol=1e-12, err_msg=name)
    # alignment sign as Balduzzi et al. define it
    jt = j.T @ xi
    sign = np.sign((xi @ jt) * ((anti.T @ xi) @ jt) / xi.size + 0.1)
    u, _ = jg.transforms.sga(1.0).update(xi_tree, optax.EmptyState(), w, game=game)
    np.testing.assert_allclose(_flat(u), xi + sign * anti.T @ xi, rtol=1e-10, atol=1e-12)
    if game.zero_sum:  # the shortcut (A^T xi = JARE's correction) equals the general path
        general = game.replace(zero_sum=False)
        for align in (True, False):
            a, _ = jg.transforms.sga(0.7, align=align).update(xi_tree, optax.EmptyState(), w, game=game)
            b, _ = jg.transforms.sga(0.7, align=align).update(xi_tree, optax.EmptyState(), w, game=general)
            np.testing.assert_allclose(_flat(a), _flat(b), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(jare, anti.T @ xi, rtol=1e-10, atol=1e-12)


def test_corrections_with_a_hand_derived_field():
    auto, closed = jg.games.dirac("standard"), jg.games.dirac("standard", closed_form_grad=True)
    w = jg.Joint(jnp.array(0.7), jnp.array(-0.4))
    for tx in (jg.transforms.consensus(0.5), jg.transforms.jare(0.5), jg.transforms.sga(0.5)):
        a, _ = tx.update(jg.simultaneous_gradient(auto)(w), optax.EmptyState(), w, game=auto)
        b, _ = tx.update(jg.simultaneous_gradient(closed)(w), optax.EmptyState(), w, game=closed)
        np.testing.assert_allclose(_flat(a), _flat(b), rtol=1e-12)


def test_zero_sum_flags():
    assert jg.zero_sum(lambda x, y: x * y).zero_sum
    assert not jg.Game(lambda p, t: p * t, lambda p, t: -p * t).zero_sum
    dirac = jg.games.dirac("standard")
    assert dirac.zero_sum and jg.regularizers.r1(dirac, 1.0).zero_sum
    assert jg.regularizers.instance_noise(dirac, 0.5).zero_sum
    assert not jg.regularizers.r2(dirac, 1.0).zero_sum  # R2 depends on the generator
    assert not jg.regularizers.wgan_gp(jg.games.dirac("wgan"), 1.0).zero_sum
    assert not jg.games.dirac("non_saturating").zero_sum


# --------------------------------------------------------------------------- the composition rule

_F = lambda x, y: 0.5 * jnp.sum(x**2) + x @ jnp.array([[2.0, 0.5], [-1.0, 0.3]]) @ y - 0.25 * jnp.sum(y**2) + 0.3 * x[0] ** 3 * y[1]


def _reference_corrected_field(corrections, w):
    """The composition rule with plain JAX: each correction is an operator of the game's Jacobian
    ``J = d xi / dw`` (``jax.jacfwd``) applied to the field it receives."""
    def xi(z):
        x, y = z[:2], z[2:]
        return jnp.concatenate([jax.grad(_F, 0)(x, y), -jax.grad(_F, 1)(x, y)])

    z = jnp.concatenate([w.phi, w.theta])
    J = jax.jacfwd(xi)(z)
    A = (J - J.T) / 2
    off = J.at[:2, :2].set(0.0).at[2:, 2:].set(0.0)  # the blocks between the players
    v = xi(z)
    for name, g in corrections:
        if name == "consensus":
            v = v + g * J.T @ v
        elif name == "jare":
            v = v + g * off.T @ v
        elif name == "sga":  # aligned: sign(<v, J^T v> <A^T v, J^T v> / d + 0.1)
            s = jnp.sign((v @ J.T @ v) * ((A.T @ v) @ (J.T @ v)) / v.size + 0.1)
            v = v + g * s * A.T @ v
    return v


@pytest.mark.parametrize("first", ["consensus", "jare", "sga"])
@pytest.mark.parametrize("second", ["consensus", "jare", "sga"])
def test_a_declaration_never_changes_what_a_chain_computes(first, second):
    """``zero_sum(f)`` and ``Game(f, -f)`` give the same step under every pair of corrections, and
    both equal the composition rule written with ``jax.jacfwd`` (design notes: what a correction
    computes)."""
    make = {"consensus": jg.transforms.consensus, "jare": jg.transforms.jare, "sga": jg.transforms.sga}
    corrections = [(first, 0.5), (second, 0.7)]
    tx = optax.chain(*(make[n](g) for n, g in corrections))
    w = jg.Joint(jnp.array([0.4, -0.2]), jnp.array([-0.3, 0.5]))
    want = _reference_corrected_field(corrections, w)
    for game in (jg.zero_sum(_F), jg.Game(_F, lambda x, y: -_F(x, y))):
        out, _ = tx.update(jg.simultaneous_gradient(game)(w), tx.init(w), w, game=game)
        np.testing.assert_allclose(_flat(out), want, rtol=1e-12, atol=1e-12)
        field = jg.corrected_field(game, tx)  # v = -F: the field a full step after the chain evaluates
        np.testing.assert_allclose(-_flat(field(w)), want, rtol=1e-12, atol=1e-12)
