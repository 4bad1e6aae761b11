"""Prescriptions through the public API, against closed forms: ``tune`` (the best hyperparameters,
non-smooth optima included), ``families`` and ``worst_case_radius`` (the worst case over a class),
``critical_timescale`` (tau* of tau-GDA) and ``noise_ball`` (the stationary covariance of a noisy
step)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxgan as jg

#: a valid call of each function with declared option domains (tests/test_probes.py)
PROBE_CALLS = {
    "jaxgan._prescribe.families.bilinear": lambda **k: jg.families.bilinear(**{"s_min": 0.5, "s_max": 2.0, **k}),
    "jaxgan._prescribe.families.quadratic": lambda **k: jg.families.quadratic(**{"mu": 1.0, "s_min": 0.5, "s_max": 2.0, **k}),
    "jaxgan._prescribe.boundary.stability_boundary": lambda **k: jg.stability_boundary(
        jg.Game(lambda x, y: 2.0 * x**2, lambda x, y: 0.5 * y**2, equilibrium=jg.Joint(0.0, 0.0)),
        lambda h: optax.sgd(h["lr"]), "lr", (0.01, 1.0), **k),
    "jaxgan._prescribe.orbit.periodic_orbit": lambda **k: jg.periodic_orbit(
        **{"game": jg.Game(lambda x, y: 0.5 * x**2 - 0.25 * x**4, lambda x, y: 0.25 * y**2), "tx": optax.sgd(2.2),
           "w0": jg.Joint(0.3, 0.0), "period": 2, **k}),
    "jaxgan._prescribe.noise.noise_ball": lambda **k: jg.noise_ball(
        jg.zero_sum(lambda x, y: 0.5 * x**2 - 0.5 * y**2), optax.sgd(0.1), jg.Joint(0.0, 0.0), 1.0, **k),
}

SQ2 = math.sqrt(2.0)
BLOCK = jg.families.quadratic(1.0, 1.0, 1.0).block(1.0)  # x^2/2 + x y - y^2/2
DIAG12 = jg.games.bilinear(jnp.diag(jnp.array([1.0, 2.0])))  # singular values 1 and 2
HAMILTONIAN = lambda h: optax.chain(jg.transforms.hamiltonian(), optax.sgd(h["lr"], momentum=h.get("b", 0.0)))  # noqa: E731


# --------------------------------------------------------------------------- tune

# (game, make_tx, bounds, closed-form hyperparameters, closed-form radius, tolerance on the radius)
# The tolerance is 1e-8 where the optimum is a double eigenvalue of a defective step matrix:
# an eigenvalue solver resolves a double root only to about sqrt(machine epsilon).
TUNED = {
    # SimGD on mu/2 x^2 + s x y - mu/2 y^2: lr* = mu / (mu^2 + s^2), rho* = s / sqrt(mu^2 + s^2)
    "simgd, smooth": (BLOCK, lambda h: optax.sgd(h["lr"]), {"lr": (0.01, 2.0)}, {"lr": 0.5}, 1 / SQ2, 1e-12),
    # alternating GDA on the same block: the two eigenvalues meet at lr* = 2 (sqrt(2) - 1),
    # rho* = 1 - lr* = 3 - 2 sqrt(2)
    "alternating, double root": (
        BLOCK, lambda h: jg.transforms.alternating(optax.sgd(h["lr"])), {"lr": (0.01, 2.0)},
        {"lr": 2 * (SQ2 - 1)}, 3 - 2 * SQ2, 1e-7,
    ),
    # Hamiltonian GD on x^T diag(1, 2) y: max(|1 - lr|, |1 - 4 lr|), the two branches cross at
    # lr* = 2 / (1 + 4), rho* = 3 / 5
    "hamiltonian, two branches": (DIAG12, HAMILTONIAN, {"lr": (0.01, 1.0)}, {"lr": 0.4}, 0.6, 1e-12),
    # heavy ball on the Hamiltonian (eigenvalues 1 and 4 of J^T J): Polyak's double root,
    # lr* = 4 / (1 + 2)^2, b* = ((2 - 1) / (2 + 1))^2, rho* = (2 - 1) / (2 + 1)
    "heavy ball, Polyak's rate": (
        DIAG12, HAMILTONIAN, {"lr": (0.01, 1.0), "b": (0.0, 0.9)}, {"lr": 4 / 9, "b": 1 / 9}, 1 / 3, 1e-7,
    ),
}


@pytest.mark.parametrize("name", sorted(TUNED))
def test_tune_finds_the_closed_form_optimum(name):
    game, make_tx, bounds, best, rho, tol = TUNED[name]
    t = jg.tune(game, make_tx, bounds)
    assert abs(t.radius - rho) < tol, (t.radius, rho)
    assert t.converges
    for k, v in best.items():
        assert abs(t.hyperparams[k] - v) < 1e-5, (k, t.hyperparams[k], v)
    # the radius reported is the public spectral radius at the hyperparameters reported
    again = float(jg.spectral_radius(game, make_tx, game.equilibrium, hyperparams=t.hyperparams))
    assert abs(again - t.radius) < 1e-12
    assert t.radius <= t.grid_radius and t.evaluations > 0


def test_no_real_momentum_makes_simultaneous_gda_converge_on_xy():
    """Heavy-ball SimGDA on f = x y: for every real momentum the radius is at least one, so tune
    reports the least radius of the box, >= 1, and that nothing converges."""
    game = jg.games.bilinear(1.0)
    t = jg.tune(game, lambda h: optax.sgd(h["lr"], momentum=h["b"]), {"lr": (0.01, 1.0), "b": (0.0, 0.99)})
    assert t.radius >= 1.0 and not t.converges
    # the least radius of the box: the smallest learning rate without momentum, sqrt(1 + lr^2)
    assert abs(t.radius - math.sqrt(1 + 0.01**2)) < 1e-9


def test_tune_over_a_family_minimises_the_worst_case():
    """Extragradient on x^T A y with singular values in [1, 2]: the block radius is
    sqrt(1 - u + u^2), u = lr^2 s^2, convex in u, so the worst case is max(g(lr^2), g(4 lr^2)),
    least where the two ends are equal: lr*^2 = 1/5, rho* = sqrt(1 - 1/5 + 1/25)."""
    fam = jg.families.bilinear(1.0, 2.0)
    eg = lambda h: jg.transforms.extragradient(optax.sgd(h["lr"]))  # noqa: E731
    t = jg.tune(fam, eg, {"lr": (0.05, 1.0)})
    assert abs(t.hyperparams["lr"] - math.sqrt(0.2)) < 1e-6
    assert abs(t.radius - math.sqrt(0.84)) < 1e-9
    assert abs(float(jg.worst_case_radius(fam, eg, hyperparams=t.hyperparams).radius) - t.radius) < 1e-12


# --------------------------------------------------------------------------- families

def _reference_worst(char_poly, s_min, s_max):
    """A reference loop: the largest root modulus of the block's characteristic polynomial on a
    fine grid of s, refined by SciPy's bounded scalar search around the grid's best point."""
    import scipy.optimize

    def rho(s):
        return max(abs(np.roots(char_poly(s))))

    grid = np.linspace(s_min, s_max, 4001)
    values = [rho(s) for s in grid]
    i = int(np.argmax(values))
    a, b = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    res = scipy.optimize.minimize_scalar(lambda s: -rho(s), bounds=(a, b), method="bounded", options={"xatol": 1e-13})
    return max(values[i], -res.fun)


@pytest.mark.parametrize("mu", [0.0, 0.5])
def test_worst_case_radius_equals_a_reference_over_the_class(mu):
    fam = jg.families.quadratic(mu, 0.3, 2.5)
    lr, b = 0.35, 0.4
    # heavy ball on the block with eigenvalue mu + i s: z^2 - (1 + b - lr (mu + i s)) z + b
    wc = jg.worst_case_radius(fam, lambda h: optax.sgd(h["lr"], momentum=h["b"]), hyperparams={"lr": lr, "b": b})
    ref = _reference_worst(lambda s: [1, -(1 + b - lr * (mu + 1j * s)), b], 0.3, 2.5)
    assert abs(float(wc.radius) - ref) < 1e-8
    # and a member with singular values at the maximiser and elsewhere has exactly that radius
    A = jnp.diag(jnp.array([float(wc.singular_value), 1.0]))
    member = fam.member(A)
    rho = jg.spectral_radius(member, optax.sgd(lr, momentum=b), member.equilibrium)
    assert abs(float(rho) - float(wc.radius)) < 1e-9


def test_worst_case_closed_forms_at_either_end():
    fam = jg.families.bilinear(0.5, 2.0)
    sim = jg.worst_case_radius(fam, optax.sgd(0.1))  # sqrt(1 + lr^2 s^2), largest at s_max
    assert abs(float(sim.radius) - math.sqrt(1 + 0.04)) < 1e-12 and float(sim.singular_value) == 2.0
    eg = jg.worst_case_radius(fam, jg.transforms.extragradient(optax.sgd(0.3)))  # largest at s_min
    assert abs(float(eg.radius) - math.sqrt(1 - 0.0225 + 0.0225**2)) < 1e-12
    assert float(eg.singular_value) == 0.5


def test_under_jit_a_coordinatewise_step_has_no_worst_case():
    make = lambda h: optax.chain(optax.scale_by_sign(), optax.sgd(h["lr"]))  # noqa: E731
    fam = jg.families.bilinear(0.5, 2.0)
    r = jax.jit(lambda lr: jg.worst_case_radius(fam, make, hyperparams={"lr": lr}).radius)(0.1)
    assert np.isnan(float(r))


@pytest.mark.parametrize("tx", [optax.adam(0.1, eps_root=1e-8), optax.chain(optax.clip(0.5), optax.sgd(0.1)),
                                optax.sign_sgd(0.1) if hasattr(optax, "sign_sgd") else optax.chain(optax.scale_by_rms(), optax.sgd(0.1))],
                         ids=["adam", "clip", "sign-or-rms"])
def test_a_coordinatewise_step_is_refused_saying_why(tx):
    with pytest.raises(ValueError, match="does not commute with rotations of each player's space"):
        jg.worst_case_radius(jg.families.bilinear(0.5, 2.0), tx)


# --------------------------------------------------------------------------- critical timescale

def _block_game(a, b, c, d):
    """The 1+1 game whose J = d xi / d w is [[a, b], [c, d]]."""
    return jg.Game(lambda x, y: 0.5 * a * x**2 + b * x * y, lambda x, y: 0.5 * d * y**2 + c * x * y,
                   equilibrium=jg.Joint(0.0, 0.0))


def _stable(J, n_phi, tau):
    return np.linalg.eigvals(np.vstack([J[:n_phi], tau * J[n_phi:]])).real.min() > 0


def test_critical_timescale_closed_forms():
    # a < 0 < d, ad - bc > 0: tau* = -a / d
    assert jg.critical_timescale(_block_game(-1.0, 2.0, -2.0, 2.0)) == pytest.approx(0.5, abs=1e-12)
    assert jg.critical_timescale(_block_game(-3.0, 1.0, -4.0, 0.5)) == pytest.approx(6.0, rel=1e-10)
    assert jg.critical_timescale(_block_game(1.0, 1.0, -1.0, 1.0)) == 0.0  # stable for every tau
    assert jg.critical_timescale(_block_game(-1.0, 0.5, -0.5, 2.0)) == math.inf  # ad - bc < 0


def test_critical_timescale_of_a_coupled_game_is_a_certified_crossing():
    """A 3+3 game: below tau* the flow is unstable, above it stable; tau* of a block-diagonal sum
    of two such games is the larger one."""
    rng = np.random.default_rng(1)
    n = 3
    J11 = np.diag([-1.0, 0.5, 1.0])
    J12 = rng.normal(size=(n, n))
    C = rng.normal(size=(n, n))
    J22 = C @ C.T + 0.3 * np.eye(n)
    J = np.block([[J11, J12], [-J12.T, J22]])
    Jm = jnp.asarray(J)
    game = jg.Game(lambda x, y: x @ (Jm[:n, :n] @ x) / 2 + x @ (Jm[:n, n:] @ y),
                   lambda x, y: y @ (Jm[n:, n:] @ y) / 2 + y @ (Jm[n:, :n] @ x))
    tau = jg.critical_timescale(game, jg.Joint(jnp.zeros(n), jnp.zeros(n)))
    assert 0 < tau < math.inf
    assert not _stable(J, n, tau * (1 - 1e-7)) and _stable(J, n, tau * (1 + 1e-7))
    assert all(_stable(J, n, t) for t in tau * np.logspace(1e-6, 3, 200))


def test_critical_timescale_does_not_depend_on_the_scale_of_the_jacobian():
    assert jg.critical_timescale(_block_game(-1e-8, 2e-8, -2e-8, 2e-8)) == pytest.approx(0.5, rel=1e-9)


def test_critical_timescale_refuses_a_singular_jacobian_and_a_game_without_equilibrium():
    with pytest.raises(ValueError, match="singular"):
        jg.critical_timescale(jg.Game(lambda x, y: x * 0.0 * y, lambda x, y: y**2), jg.Joint(0.0, 0.0))
    with pytest.raises(ValueError, match="`w_star=`"):
        jg.critical_timescale(jg.Game(lambda x, y: x * y, lambda x, y: y**2))


# --------------------------------------------------------------------------- noise ball

A_, C_ = 2.0, 0.5
SEPARABLE = jg.zero_sum(lambda x, y: 0.5 * A_ * x**2 - 0.5 * C_ * y**2)  # xi = (a x, c y)
ORIGIN = jg.Joint(0.0, 0.0)
LR, S = 0.1, 0.3


def test_noise_ball_closed_forms():
    # SGD: x' = (1 - lr a) x - lr e: P = lr^2 S / (1 - (1 - lr a)^2), per coordinate
    sgd = jg.noise_ball(SEPARABLE, optax.sgd(LR), ORIGIN, S)
    want = np.diag([LR**2 * S / (1 - (1 - LR * k) ** 2) for k in (A_, C_)])
    np.testing.assert_allclose(np.asarray(sgd.covariance), want, rtol=1e-12, atol=1e-15)
    assert bool(sgd.stable) and sgd.evaluations == 1
    assert float(sgd.trace) == pytest.approx(np.trace(want), rel=1e-12)
    # heavy ball: an AR(2) with phi1 = 1 + b - lr a, phi2 = -b
    b = 0.5
    hb = jg.noise_ball(SEPARABLE, optax.sgd(LR, momentum=b), ORIGIN, S)
    p1, p2 = 1 + b - LR * A_, -b
    ar2 = LR**2 * S * (1 - p2) / ((1 + p2) * ((1 - p2) ** 2 - p1**2))
    assert float(hb.covariance[0, 0]) == pytest.approx(ar2, rel=1e-12)
    # extragradient: two evaluations, each with its own noise:
    # x' = (1 - lr a + lr^2 a^2) x + lr^2 a e1 - lr e2
    eg = jg.noise_ball(SEPARABLE, jg.transforms.extragradient(optax.sgd(LR)), ORIGIN, S)
    m = 1 - LR * A_ + (LR * A_) ** 2
    assert eg.evaluations == 2
    assert float(eg.covariance[0, 0]) == pytest.approx(S * (LR**4 * A_**2 + LR**2) / (1 - m**2), rel=1e-12)


@pytest.mark.parametrize("tx", [optax.sgd(LR, momentum=0.5), jg.transforms.extragradient(optax.sgd(LR)),
                                jg.transforms.lookahead(optax.sgd(0.3), sync_period=3, alpha=0.5)],
                         ids=["heavy ball", "extragradient", "lookahead"])
def test_the_matrix_free_series_equals_the_dense_solve(tx):
    """``method="series"`` never forms the step's Jacobian: the same covariance (to the series'
    cut at eps), the same radius (Arnoldi on the same products), the same evaluations."""
    noise = np.array([[0.3, 0.1], [0.1, 0.2]])
    dense = jg.noise_ball(SEPARABLE, tx, ORIGIN, noise)
    series = jg.noise_ball(SEPARABLE, tx, ORIGIN, noise, method="series")
    np.testing.assert_allclose(np.asarray(series.covariance), np.asarray(dense.covariance), rtol=1e-10, atol=1e-15)
    assert float(series.radius) == pytest.approx(float(dense.radius), rel=1e-9)
    assert series.evaluations == dense.evaluations and bool(series.stable) and series.full is None
    unstable = jg.noise_ball(jg.games.bilinear(1.0), optax.sgd(LR), ORIGIN, S, method="series")
    assert not bool(unstable.stable) and float(unstable.trace) == math.inf


def test_the_series_on_a_game_large_enough_for_arnoldi():
    """40 + 40 parameters with momentum: 160 coordinates, the series' radius by Arnoldi."""
    game = jg.games.quadratic(jnp.diag(jnp.linspace(1.0, 2.0, 40)), 0.3 * jnp.eye(40), jnp.diag(jnp.linspace(1.0, 2.0, 40)))
    tx = optax.sgd(0.3, momentum=0.3)
    dense = jg.noise_ball(game, tx, game.equilibrium, 0.1)
    series = jg.noise_ball(game, tx, game.equilibrium, 0.1, method="series")
    np.testing.assert_allclose(np.asarray(series.covariance), np.asarray(dense.covariance), rtol=1e-9, atol=1e-14)
    assert float(series.radius) == pytest.approx(float(dense.radius), rel=1e-8)


def test_noise_given_per_player_or_as_a_matrix_is_the_same_ball():
    a = jg.noise_ball(SEPARABLE, optax.sgd(LR), ORIGIN, jg.Joint(0.3, 0.7))
    b = jg.noise_ball(SEPARABLE, optax.sgd(LR), ORIGIN, np.diag([0.3, 0.7]))
    np.testing.assert_allclose(np.asarray(a.covariance), np.asarray(b.covariance), rtol=1e-14)


def test_noise_ball_under_jit_a_step_that_circles_and_a_periodic_step():
    eager = jg.noise_ball(SEPARABLE, optax.sgd(LR), ORIGIN, S)
    traced = jax.jit(lambda x: jg.noise_ball(SEPARABLE, optax.sgd(LR), jg.Joint(x, x), S).trace)(0.0)
    assert float(traced) == pytest.approx(float(eager.trace), rel=1e-12)
    # alternating GDA on x y circles (radius one): no stationary covariance
    circle = jg.noise_ball(jg.games.bilinear(1.0), jg.transforms.alternating(optax.sgd(LR)), ORIGIN, S)
    assert not bool(circle.stable) and float(circle.trace) == math.inf
    # a periodic step's radius is per step, as jg.spectral_radius says
    la = jg.transforms.lookahead(optax.sgd(0.3), sync_period=3, alpha=0.5)
    ball = jg.noise_ball(SEPARABLE, la, ORIGIN, S)
    assert float(ball.radius) == pytest.approx(float(jg.spectral_radius(SEPARABLE, la, ORIGIN)), rel=1e-12)
    assert ball.evaluations == 3


def test_an_unstable_step_has_no_finite_ball():
    ball = jg.noise_ball(jg.games.bilinear(1.0), optax.sgd(LR), ORIGIN, S)  # radius sqrt(1 + lr^2)
    assert not bool(ball.stable) and float(ball.trace) == math.inf
    assert float(ball.radius) == pytest.approx(math.sqrt(1 + LR**2), rel=1e-12)


# --------------------------------------------------------------------------- bad input (one table)

NO_EQ = jg.zero_sum(lambda x, y: x * y)
MAKE = lambda h: optax.sgd(h["lr"])  # noqa: E731
BAD = {
    "reversed bounds": (lambda: jg.tune(BLOCK, MAKE, {"lr": (1.0, 0.1)}), ValueError, "`bounds['lr']` must have low < high"),
    "empty bounds": (lambda: jg.tune(BLOCK, MAKE, {"lr": (0.5, 0.5)}), ValueError, "(empty)"),
    "no bounds": (lambda: jg.tune(BLOCK, MAKE, {}), TypeError, "`bounds` must be a non-empty dict"),
    "non-finite bounds": (lambda: jg.tune(BLOCK, MAKE, {"lr": (0.1, np.inf)}), ValueError, "`bounds['lr']` must be finite"),
    "a bound nothing reads": (lambda: jg.tune(BLOCK, MAKE, {"lr": (0.1, 1.0), "b": (0.0, 0.5)}), ValueError, "`bounds` key(s) `b` are never read"),
    "a fixed value nothing reads": (lambda: jg.tune(BLOCK, MAKE, {"lr": (0.1, 1.0)}, fixed={"x": 1.0}), ValueError, "`fixed` key(s) `x` are never read"),
    "no equilibrium": (lambda: jg.tune(NO_EQ, MAKE, {"lr": (0.1, 1.0)}), ValueError, "pass the point with `w_star=`"),
    "not a game": (lambda: jg.tune("dirac", MAKE, {"lr": (0.1, 1.0)}), TypeError, "`target` must be a jaxgan.Game"),
    "a family with a coordinate-wise step": (
        lambda: jg.tune(jg.families.bilinear(1.0, 2.0), lambda h: optax.adam(h["lr"], eps_root=1e-8), {"lr": (0.1, 1.0)}),
        ValueError, "does not commute with rotations"),
    "s_max below s_min": (lambda: jg.families.bilinear(2.0, 1.0), ValueError, "`s_max` (1.0) must be >= `s_min` (2.0)"),
    "noise not PSD": (lambda: jg.noise_ball(SEPARABLE, optax.sgd(LR), ORIGIN, np.diag([1.0, -1.0])), ValueError, "must be positive semidefinite"),
    "noise not symmetric": (lambda: jg.noise_ball(SEPARABLE, optax.sgd(LR), ORIGIN, np.array([[1.0, 0.5], [0.0, 1.0]])), ValueError, "not symmetric"),
    "noise of the wrong shape": (lambda: jg.noise_ball(SEPARABLE, optax.sgd(LR), ORIGIN, np.eye(3)), ValueError, "must be a scalar or a 2 x 2 matrix"),
    "noise per player of the wrong shape": (lambda: jg.noise_ball(SEPARABLE, optax.sgd(LR), ORIGIN, jg.Joint(1.0, np.eye(2))), ValueError, "`noise.theta` must be a scalar or a 1 x 1 matrix"),
    "complex noise": (lambda: jg.noise_ball(SEPARABLE, optax.sgd(LR), ORIGIN, 1 + 1j), TypeError, "`noise` must be a real number or a real matrix"),
    "no noise": (lambda: jg.noise_ball(SEPARABLE, optax.sgd(LR), ORIGIN, None), TypeError, "`noise` must be a real number or a real matrix"),
    "a make_tx reading a key nobody gives": (lambda: jg.tune(BLOCK, lambda h: optax.sgd(h["lr"], momentum=h["b"]), {"lr": (0.1, 1.0)}),
                                             ValueError, "`make_tx` reads the hyperparameter 'b'"),
    "a transformation for make_tx": (lambda: jg.tune(BLOCK, optax.sgd(0.1), {"lr": (0.1, 1.0)}), TypeError, "`make_tx` must be a callable"),
    "a fixed value that is not a number": (lambda: jg.tune(BLOCK, MAKE, {"lr": (0.1, 1.0)}, fixed={"b": "x"}), TypeError, "`fixed['b']` must be a real number"),
    "bounds keyed by a number": (lambda: jg.tune(BLOCK, MAKE, {"lr": (0.1, 1.0), 0: (0.0, 1.0)}), TypeError, "`bounds` keys must be strings"),
    "a w_star that is not a point": (lambda: jg.tune(BLOCK, MAKE, {"lr": (0.1, 1.0)}, w_star=(0.0, 0.0)), TypeError, "`w_star` must be"),
    "a w_star that is not stationary": (lambda: jg.noise_ball(SEPARABLE, optax.sgd(LR), jg.Joint(1.0, 0.0), 1.0), ValueError,
                                        "`w_star` is not a stationary point of the game"),
    "a family built by hand, reversed": (lambda: jg.families.Family(0.0, 2.0, 1.0), ValueError, "Family: `s_max` (1.0) must be >= `s_min` (2.0)"),
    "a NaN hyperparameter for a family": (lambda: jg.worst_case_radius(jg.families.bilinear(0.5, 2.0), MAKE, hyperparams={"lr": np.nan}),
                                          ValueError, "`hyperparams['lr']` has non-finite values"),
    "a schedule over a family": (lambda: jg.worst_case_radius(jg.families.bilinear(0.5, 2.0), optax.sgd(optax.linear_schedule(0.1, 0.01, 10))),
                                 ValueError, "worst_case_radius: the step's map depends on time and never repeats"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_names_the_argument(name):
    call, kind, phrase = BAD[name]
    with pytest.raises(kind) as err:
        call()
    assert phrase in str(err.value), str(err.value)


# --------------------------------------------------------------------------- the stability boundary

POTENTIAL = jg.Game(lambda x, y: 2.0 * x**2, lambda x, y: 0.5 * y**2, equilibrium=jg.Joint(0.0, 0.0))  # L = 4, l = 1
SGD_LR = lambda h: optax.sgd(h["lr"])  # noqa: E731


def _curvature_game(h):
    return jg.Game(lambda x, y: 0.5 * h["a"] * x**2, lambda x, y: 0.5 * y**2, equilibrium=jg.Joint(0.0, 0.0))


@pytest.mark.parametrize("mu,s", [(1.0, 1.0), (0.5, 2.0)])
def test_simgd_s_neimark_sacker_boundary(mu, s):
    """SimGD on mu/2 x^2 + s x y - mu/2 y^2: |1 - lr (mu +- i s)| = 1 at lr = 2 mu / (mu^2 + s^2),
    a complex pair leaving the unit circle."""
    b = jg.stability_boundary(jg.families.quadratic(mu, s, s).block(s), SGD_LR, "lr", (0.01, 3.0))
    (c,) = b.crossings
    assert c.value == pytest.approx(2 * mu / (mu**2 + s**2), abs=1e-10)
    assert c.kind == "neimark_sacker" and c.stable_below
    lam = np.asarray(c.eigenvalues)
    np.testing.assert_allclose(sorted(lam.imag), sorted([-s * c.value, s * c.value]), rtol=1e-9)
    np.testing.assert_allclose(np.abs(lam), 1.0, atol=1e-9)


def test_a_potential_flips_at_two_over_its_largest_curvature_and_momentum_moves_it():
    (c,) = jg.stability_boundary(POTENTIAL, SGD_LR, "lr", (0.01, 3.0)).crossings
    assert c.value == pytest.approx(0.5, abs=1e-10) and c.kind == "flip"
    # the heavy ball's flip: 1 + b - lr L + b = -1 ... at lr = 2 (1 + b) / L
    (c,) = jg.stability_boundary(POTENTIAL, lambda h: optax.sgd(h["lr"], momentum=0.5), "lr", (0.01, 3.0)).crossings
    assert c.value == pytest.approx(0.75, abs=1e-10) and c.kind == "flip"


def test_every_crossing_of_a_game_parameter_and_a_touch_is_none():
    """SGD at lr 0.5 on a/2 x^2: 1 - a/2 crosses +1 at a = 0 (a fold) and -1 at a = 4 (a flip);
    with a = h^2 the radius touches one at h = 0 and turns back: no crossing."""
    b = jg.stability_boundary(_curvature_game, lambda h: optax.sgd(0.5), "a", (-1.0, 5.0))
    assert [(c.kind, c.stable_below) for c in b.crossings] == [("fold", False), ("flip", True)]
    assert [c.value for c in b.crossings] == pytest.approx([0.0, 4.0], abs=1e-10)
    touch = jg.stability_boundary(lambda h: _curvature_game({"a": h["h"] ** 2}), lambda h: optax.sgd(0.5), "h", (-1.0, 1.0))
    assert touch.crossings == ()
    none = jg.stability_boundary(POTENTIAL, SGD_LR, "lr", (0.01, 0.4))
    assert none.crossings == () and np.all(none.radius < 1)


@pytest.mark.parametrize("a, b, c", [(1.0, 0.0, -1.0), (1.0, 0.0, 1.0), (2.0, 1.0, 0.5), (2.0, 0.3, 1.0)])
def test_a_flip_s_criticality_from_its_normal_form_in_closed_form(a, b, c):
    """GD on a/2 x^2 + b/3 x^3 + c/4 x^4 at lr = 2/a is x -> -x - (2b/a) x^2 - (2c/a) x^3, whose
    flip coefficient is (2b/a)^2 - 2c/a: supercritical (a stable 2-cycle) when positive."""
    game = jg.Game(lambda x, y: a / 2 * x**2 + b / 3 * x**3 + c / 4 * x**4, lambda x, y: 0.25 * y**2,
                   equilibrium=jg.Joint(0.0, 0.0))
    (cross,) = jg.stability_boundary(game, SGD_LR, "lr", (0.1, 3.0)).crossings
    expected = 4 * b**2 / a**2 - 2 * c / a
    assert cross.kind == "flip" and cross.coefficient == pytest.approx(expected, rel=1e-8)
    assert cross.criticality == ("supercritical" if expected > 0 else "subcritical") and cross.why == ""


@pytest.mark.parametrize("k", [1.0, -1.0])
def test_a_neimark_sacker_crossing_s_criticality_against_runs_past_it(k):
    """SimGD on s x y + mu/2 (x^2 - y^2) + k/4 (x^4 - y^4), mu = 1, s = 2: the pair 0.6 +- 0.8i at
    lr = 0.4. Supercritical (k = 1): past it the runs settle on an invariant circle of radius
    sqrt(2) sqrt(alpha / |d|) (|mu(lr)| = 1 + alpha; q = (1, i)/sqrt(2) in the normal form's
    coordinates); subcritical (k = -1): they leave and overflow."""
    game = jg.zero_sum(lambda x, y: 2 * x * y + (x**2 - y**2) / 2 + k / 4 * (x**4 - y**4), equilibrium=jg.Joint(0.0, 0.0))
    (cross,) = jg.stability_boundary(game, SGD_LR, "lr", (0.1, 1.0)).crossings
    assert cross.kind == "neimark_sacker" and cross.value == pytest.approx(0.4, abs=1e-10)
    lr = 1.01 * cross.value
    run = jg.rollout(game, optax.sgd(lr), jg.Joint(0.01, 0.0), 20000, record_every=100)
    if k > 0:
        assert cross.criticality == "supercritical" and cross.coefficient < 0
        alpha = abs(1 - lr + 2j * lr) - 1
        radius = np.hypot(run.trajectory.phi[-50:], run.trajectory.theta[-50:])
        np.testing.assert_allclose(radius, np.sqrt(2 * alpha / abs(cross.coefficient)), rtol=0.01)
    else:
        assert cross.criticality == "subcritical" and cross.coefficient > 0
        assert not bool(run.finite)


@pytest.mark.parametrize("c", [-1e-8, 1e-8])
def test_a_small_normal_form_coefficient_is_not_degenerate_by_its_size_alone(c):
    """GD on 2 x^2 + c/4 x^4 flips at lr = 1/4 with coefficient -2c/a = -c/2: tiny, but the one term
    it sums does not cancel, so the verdict is its sign (runs past it settle on the 2-cycle of
    amplitude sqrt((4 - 2/lr)/(-c)) for c < 0, and leave for c > 0); c = 0 is degenerate."""
    game = lambda c: jg.Game(lambda x, y: 2.0 * x**2 + c / 4 * x**4, lambda x, y: 0.5 * y**2, equilibrium=jg.Joint(0.0, 0.0))
    (cross,) = jg.stability_boundary(game(c), SGD_LR, "lr", (0.01, 1.0)).crossings
    assert cross.coefficient == pytest.approx(-c / 2, rel=1e-6)
    assert cross.criticality == ("supercritical" if c < 0 else "subcritical")
    (flat,) = jg.stability_boundary(game(0.0), SGD_LR, "lr", (0.01, 1.0)).crossings
    assert flat.criticality == "degenerate"


def test_a_fold_and_a_strong_resonance_say_why_they_have_no_criticality():
    fold, _ = jg.stability_boundary(_curvature_game, lambda h: optax.sgd(0.5), "a", (-1.0, 5.0)).crossings
    assert fold.criticality is None and "+1" in fold.why and np.isnan(fold.coefficient)
    (res,) = jg.stability_boundary(jg.families.quadratic(1.0, 1.0, 1.0).block(1.0), SGD_LR, "lr", (0.01, 3.0)).crossings
    assert res.criticality is None and "strong resonance" in res.why and "order 4" in res.why


BAD_BOUNDARY = {
    "reversed bounds": (lambda: jg.stability_boundary(POTENTIAL, SGD_LR, "lr", (1.0, 0.1)), ValueError, "`bounds` must have low < high"),
    "a name nothing reads": (lambda: jg.stability_boundary(POTENTIAL, SGD_LR, "beta", (0.1, 1.0), fixed={"lr": 0.1}), ValueError,
                             "the parameter(s) 'beta' are never read"),
    "a key nobody gives": (lambda: jg.stability_boundary(POTENTIAL, SGD_LR, "beta", (0.1, 1.0)), ValueError,
                           "`make_tx` reads 'lr', which is neither `name` ('beta') nor a key of `fixed`"),
    "a game without equilibrium": (lambda: jg.stability_boundary(NO_EQ, SGD_LR, "lr", (0.1, 1.0)), ValueError, "pass the point with `w_star=`"),
    "too few points": (lambda: jg.stability_boundary(POTENTIAL, SGD_LR, "lr", (0.1, 1.0), points=2), ValueError, "`points`"),
}


@pytest.mark.parametrize("name", sorted(BAD_BOUNDARY))
def test_bad_input_to_the_boundary_names_the_argument(name):
    call, kind, phrase = BAD_BOUNDARY[name]
    with pytest.raises(kind) as err:
        call()
    assert phrase in str(err.value), str(err.value)


# --------------------------------------------------------------------------- periodic orbits

SOFT = jg.Game(lambda x, y: 0.5 * x**2 - 0.25 * x**4, lambda x, y: 0.25 * y**2)  # a = 1, b = -1; c = 1/2


def test_the_two_cycle_past_a_flip_in_closed_form_and_a_run_lands_on_it():
    """GD at lr on a/2 x^2 + b/4 x^4 (b < 0) past lr = 2/a: the 2-cycle +-x*, x*^2 = (2/lr - a)/b,
    multipliers (2 lr a - 5)^2 in x and (1 - lr c)^2 in y."""
    lr = 2.2
    orbit = jg.periodic_orbit(SOFT, optax.sgd(lr), jg.Joint(0.3, 0.0), 2)
    x = math.sqrt((2 / lr - 1.0) / -1.0)
    assert bool(orbit.converged) and orbit.least_period == 2 and bool(orbit.stable)
    np.testing.assert_allclose(np.sort(np.asarray(orbit.points.phi)), [-x, x], rtol=1e-12)
    np.testing.assert_allclose(np.sort(np.abs(np.asarray(orbit.multipliers))), sorted([(2 * lr - 5) ** 2, (1 - lr * 0.5) ** 2]),
                               rtol=1e-10)
    final = jg.rollout(SOFT, optax.sgd(lr), jg.Joint(0.2, 0.1), 400).final
    assert abs(abs(float(final.phi)) - x) < 1e-10
    # asked for a 2-cycle near the fixed point, Newton lands on it: said, not a cycle
    fixed = jg.periodic_orbit(SOFT, optax.sgd(lr), jg.Joint(0.01, 0.0), 2)
    assert fixed.least_period == 1 and not bool(fixed.converged)
    # k = 1: the fixed point and the step's eigenvalues 1 - lr a, 1 - lr c
    one = jg.periodic_orbit(SOFT, optax.sgd(lr), jg.Joint(0.01, 0.0), 1)
    np.testing.assert_allclose(np.sort(np.asarray(one.multipliers).real), [1 - lr, 1 - lr * 0.5], rtol=1e-12)
