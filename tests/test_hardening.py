"""The classes of the fourth hardening round, each pinned through the public API over the entry
points that share it: what the user gave is what is used; undefined results are an error or a
status, never a plain number; no internal error reaches the user; messages blame the input that
was wrong and say the fix. (Derived games, module players and ``solve_equilibrium`` have their
own tests in ``test_modified.py``, ``test_partition.py`` and ``test_equilibrium.py``.)"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxgan as jg

G = jg.games.quadratic(1.0, 1.0, 1.0)  # f = x^2/2 + x y - y^2/2: its Jacobian reads no point
BILINEAR = jg.games.bilinear(1.0)
NAN_POINT = jg.Joint(jnp.asarray(jnp.nan), jnp.asarray(0.2))
BOX = jg.Box(jg.Joint(-1.0, -1.0), jg.Joint(1.0, 1.0))


# --------------------------------------------------------------------------- what the user gave is used


def test_update_jacobian_differentiates_at_the_state_given():
    """optax's optimistic GD, ``w+ = w - eta (2 xi_t - xi_{t-1})``, on ``f = x y`` (``xi = (y,
    -x)``): from ``tx.init(w)`` the first step is the plain step (the buffer is not read), after
    it the optimistic one; coordinates ``(x, y, buffer_x, buffer_y)``."""
    eta = 0.2
    tx = optax.optimistic_gradient_descent(eta)
    w = BILINEAR.equilibrium
    plain = np.array([[1, -eta, 0, 0], [eta, 1, 0, 0], [0, 1, 0, 0], [-1, 0, 0, 0]])
    optimistic = np.array([[1, -2 * eta, eta, 0], [2 * eta, 1, 0, eta], [0, 1, 0, 0], [-1, 0, 0, 0]])
    np.testing.assert_allclose(jg.update_jacobian(BILINEAR, tx, w, tx.init(w)), plain, atol=1e-12)
    np.testing.assert_allclose(jg.update_jacobian(BILINEAR, tx, w), optimistic, atol=1e-12)
    rho = np.max(np.abs(np.linalg.eigvals(optimistic)))
    assert float(jg.spectral_radius(BILINEAR, tx, w)) == pytest.approx(rho, rel=1e-12)
    # the radius of a map taken once is no rate: refused, NaN under jit
    with pytest.raises(ValueError, match="`state` is at a first step"):
        jg.spectral_radius(BILINEAR, tx, w, tx.init(w))
    assert np.isnan(float(jax.jit(lambda s: jg.spectral_radius(BILINEAR, tx, w, s))(tx.init(w))))
    after = jg.make_step(BILINEAR, tx)(w, tx.init(w))[1]
    assert float(jg.spectral_radius(BILINEAR, tx, w, after)) == pytest.approx(rho, rel=1e-12)


def test_max_restarts_zero_is_one_krylov_pass_and_exact_on_the_whole_space():
    game = jg.games.quadratic(jnp.diag(jnp.arange(1.0, 5.0)), jnp.eye(4), jnp.eye(4))
    want = np.sort_complex(np.asarray(jg.eigenvalues(game, game.equilibrium)))
    out = jg.top_eigenvalues(game, game.equilibrium, 2, which="LR", krylov_size=8, max_restarts=0)
    assert int(out.restarts) == 0 and bool(out.converged)
    np.testing.assert_allclose(np.sort(out.eigenvalues.real), np.sort(want.real)[-2:], rtol=1e-10)


def test_measured_rate_reads_the_spacing_of_the_run():
    """SimGD on the quadratic game contracts at ``|1 + eta lambda|``, ``lambda = -1 +- i``."""
    eta = 0.1
    rho = abs(1 + eta * (-1 + 1j))
    start = jg.Joint(jnp.asarray(1.0), jnp.asarray(0.5))
    run = jg.rollout(G, optax.sgd(eta), start, 40, record_every=5)
    assert jg.measured_rate(run, reference=G.equilibrium) == pytest.approx(rho, rel=1e-9)
    res = jg.sweep(G, lambda h: optax.sgd(h["lr"]), start, {"lr": jnp.asarray([eta])}, 40, record_every=4)
    assert float(jg.measured_rate(res)[0]) == pytest.approx(rho, rel=1e-9)


def test_projected_extragradient_projects_both_points_or_is_refused():
    project = jg.transforms.project_box(BOX)
    inner = optax.chain(optax.sgd(0.5), project)
    w = jg.Joint(jnp.asarray(0.9), jnp.asarray(0.9))
    with pytest.raises(ValueError, match="Projected extragradient projects both points"):
        jg.rollout(BILINEAR, jg.transforms.extragradient(inner, extrapolation=0.5), w, 2)
    with pytest.raises(ValueError, match="`extrapolation` projects"):
        jg.rollout(BILINEAR, jg.transforms.extragradient(optax.sgd(0.5), extrapolation=inner), w, 2)
    both = jg.transforms.extragradient(inner, extrapolation=optax.chain(optax.sgd(0.5), project))
    out = jg.rollout(BILINEAR, both, w, 1).final
    # by hand: w_half = clip(w - 0.5 (y, -x)) = (0.45, 1.0); w+ = clip(w - 0.5 (1.0, -0.45))
    np.testing.assert_allclose([float(out.phi), float(out.theta)], [0.4, 1.0], atol=1e-12)


@pytest.mark.parametrize("option", ["w0", "record_every", "devices"])
def test_a_runs_option_without_runs_is_refused_not_ignored(option):
    value = {"w0": jg.Joint(1.0, 1.0), "record_every": 2, "devices": jax.devices()}[option]
    with pytest.raises(ValueError, match=f"stability_map: `{option}` set the runs"):
        jg.stability_map(G, lambda h: optax.sgd(h["lr"]), {"lr": jnp.asarray([0.1])}, **{option: value})


def test_a_third_positional_function_is_not_taken_as_the_field():
    with pytest.raises(TypeError, match="takes the two losses `loss_g` and `loss_d` positionally"):
        jg.Game(lambda x, y: x * y, lambda x, y: -x * y, lambda w: w)


# --------------------------------------------------------------------------- undefined: an error or a status

#: each entry point that analyses a point, under jit at a NaN point: NaN, or its status says so
UNDER_JIT = {
    "jacobian": (lambda w: jg.jacobian(G, w), lambda out: np.all(np.isnan(out))),
    "eigenvalues": (lambda w: jg.eigenvalues(G, w), lambda out: np.all(np.isnan(out))),
    "spectrum": (lambda w: jg.spectrum(G, w),
                 lambda out: jg.VERDICTS[int(out.verdict)] == "non-finite" and not bool(out.is_stable)),
    "update_jacobian": (lambda w: jg.update_jacobian(G, optax.sgd(0.1), w), lambda out: np.all(np.isnan(out))),
    "spectral_radius": (lambda w: jg.spectral_radius(G, optax.sgd(0.1), w), lambda out: np.isnan(out)),
    "top_eigenvalues": (lambda w: jg.top_eigenvalues(G, w, 1),
                        lambda out: np.all(np.isnan(out.eigenvalues)) and not bool(out.converged)),
    "stability_map": (lambda w: jg.stability_map(G, lambda h: optax.sgd(h["lr"]), {"lr": jnp.asarray([0.1])}, w_star=w),
                      lambda out: np.all(np.isnan(out.radius))),
    "spectral_density": (lambda w: jg.spectral_density(G, w, operator="jacobian_symmetric", num_probes=1),
                         lambda out: not bool(out.defined) and np.all(np.isnan(out.nodes))),
}


@pytest.mark.parametrize("name", sorted(UNDER_JIT))
def test_a_non_finite_point_under_jit_gives_nan_or_a_status(name):
    call, undefined = UNDER_JIT[name]
    assert undefined(jax.jit(call)(NAN_POINT))
    finite = jax.jit(call)(G.equilibrium)
    assert not undefined(finite)


def test_a_density_of_an_operator_undefined_at_the_point_is_refused():
    """A bilinear game's ``H_tt`` is 0: the Schur complement ``H_pp - H_pt H_tt^-1 H_tp`` does not
    exist there."""
    game = jg.games.bilinear(np.eye(3))
    for operator in ("schur_complement", "stackelberg_hessian"):
        with pytest.raises(ValueError, match=f"the operator '{operator}' is undefined at `w`"):
            jg.spectral_density(game, game.equilibrium, operator=operator, num_probes=1)
    ok = jg.games.quadratic(np.eye(3), np.eye(3), 2 * np.eye(3))  # S = I + I / 2
    sd = jg.spectral_density(ok, ok.equilibrium, operator="schur_complement", num_probes=2)
    assert bool(sd.defined)
    np.testing.assert_allclose(sd.moments((1,)), [1.5], rtol=1e-8)


@pytest.mark.parametrize("call", [
    lambda: jg.games.turinici(float("nan")),
    lambda: jg.games.quadratic(1.0, np.nan, 1.0),
    lambda: jg.games.bilinear(np.array([[1.0, np.inf]])),
    lambda: jg.games.linear_gaussian(jnp.asarray([np.nan, 1.0]), 1.0),
    lambda: jg.games.likelihood_ratio(np.array([0.5, np.nan])),
], ids=["turinici", "quadratic", "bilinear", "linear_gaussian", "likelihood_ratio"])
def test_a_game_defined_by_non_finite_numbers_is_refused(call):
    with pytest.raises(ValueError, match="finite"):
        call()


# --------------------------------------------------------------------------- no internal errors

#: (call, error, fragment): each a jaxgan message naming the argument and what it accepts
NO_INTERNAL = {
    "grid_product axis of strings": (lambda: jg.grid_product(lr="fast"), TypeError,
                                     "grid_product: grid axis `lr` must be a 1-D array of numbers"),
    "sweep axis of objects": (lambda: jg.sweep(G, lambda h: optax.sgd(h["lr"]), G.equilibrium, {"lr": [object()]}, 2),
                              TypeError, "sweep: grid axis `lr` must be a 1-D array of numbers"),
    "stability_map axis of None": (lambda: jg.stability_map(G, lambda h: optax.sgd(h["lr"]), {"lr": None}), TypeError,
                                   "stability_map: grid axis `lr` must be a 1-D array of numbers"),
    "v0 of the wrong size": (lambda: jg.top_eigenvalues(G, G.equilibrium, 1, v0=jnp.ones(3)), ValueError,
                             "top_eigenvalues: `v0` has shape (3,), expected (2,)"),
    "a two-player block on n players": (lambda: jg.top_eigenvalues(jg.games.cyclic(3), jg.games.cyclic(3).equilibrium, 1,
                                                                   block="phi"),
                                        ValueError, "`block='phi'` names a player of a two-player game"),
    "an int where a sequence is taken": (
        lambda: jg.spectral_density(G, G.equilibrium, operator="jacobian_symmetric", num_probes=1).moments(2),
        TypeError, "SpectralDensity.moments: `orders` must be a non-empty sequence of ints"),
}


@pytest.mark.parametrize("case", sorted(NO_INTERNAL))
def test_no_internal_error_reaches_the_user(case):
    call, error, fragment = NO_INTERNAL[case]
    with pytest.raises(error) as err:
        call()
    assert fragment in str(err.value), str(err.value)
    assert "Tracer" not in str(err.value) and "jaxlib" not in str(err.value)


# --------------------------------------------------------------------------- the right input is blamed


def test_a_wrong_shaped_equilibrium_is_named_not_the_loss():
    game = jg.zero_sum(lambda x, y: x @ jnp.eye(2) @ y, equilibrium=jg.Joint(jnp.zeros(3), jnp.zeros(2)))
    with pytest.raises(TypeError, match=r"spectrum: .* Check that `w` \(the game's `equilibrium`\)"):
        jg.spectrum(game, game.equilibrium)
    with pytest.raises(TypeError, match=r"stability_map: .* Check that `w_star` \(the game's `equilibrium`\)"):
        jg.stability_map(game, lambda h: optax.sgd(h["lr"]), {"lr": jnp.asarray([0.1])})


def test_glgd_names_its_own_arguments():
    with pytest.raises(ValueError, match=r"glgd: unknown `discriminator` 'bogus'"):
        jg.transforms.glgd(optax.sgd(0.1), "bogus")
    with pytest.raises(ValueError, match="glgd: `tol` must be > 0"):
        jg.transforms.glgd(optax.sgd(0.1), "newton", tol=-1.0)
    with pytest.raises(TypeError, match="glgd: unknown option `step`"):
        jg.transforms.glgd(optax.sgd(0.1), "newton", step="total")


def test_a_traced_static_option_says_how_to_keep_it_static():
    tx = optax.inject_hyperparams(jg.transforms.lookahead)(optax.sgd(0.1), sync_period=3)
    with pytest.raises(TypeError, match=r"static_args=\('sync_period',\)"):
        tx.init(jg.Joint(1.0, 1.0))
