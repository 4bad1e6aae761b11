import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxgan as jg


def test_rollout_records_and_matches_python_loop():
    game = jg.games.dirac("standard")
    w0 = jg.Joint(jnp.array(0.5), jnp.array(0.1))
    out = jg.rollout(game, optax.sgd(0.2), w0, 40, record_every=10)
    assert out.trajectory.phi.shape == (5,)
    step = jg.make_step(game, optax.sgd(0.2))
    w, s, seen = w0, optax.sgd(0.2).init(w0), [w0]
    for t in range(40):
        w, s = step(w, s)
        if (t + 1) % 10 == 0:
            seen.append(w)
    np.testing.assert_allclose(out.trajectory.phi, [x.phi for x in seen], rtol=1e-13)
    assert bool(out.finite) and int(out.first_nonfinite) == -1


def test_rollout_custom_record_and_state():
    game = jg.games.dirac("wgan")
    tx = optax.sgd(0.1, momentum=0.9)
    w0 = jg.Joint(jnp.array(1.0), jnp.array(0.0))
    out = jg.rollout(game, tx, w0, 6, record_every=2, record=lambda w: w.phi**2 + w.theta**2)
    assert out.trajectory.shape == (4,)
    assert float(out.trajectory[0]) == 1.0
    out2 = jg.rollout(game, tx, out.final, 6, state=out.state)
    assert bool(out2.finite)


def test_divergent_run_is_flagged_not_raised():
    game = jg.games.quadratic(1.0, 0.0, 1.0)  # SimGD diverges for lr > 2
    out = jg.rollout(game, optax.sgd(5.0), jg.Joint(jnp.array(1.0), jnp.array(1.0)), 2000)
    assert not bool(out.finite)
    # |1 - 5|^t overflows float64 (1.8e308) after t = 512 steps: 4^512 = 2^1024
    assert int(out.first_nonfinite) == 512


def test_sweep_equals_loop_traces_once_and_flags_divergence():
    game = jg.games.linear_gaussian(jnp.array([1.0, 0.5]), 1.0)
    w0 = jg.Joint(game.equilibrium.phi + 0.3, game.equilibrium.theta - 0.2)
    lrs = jnp.array([0.1, 1.0, 1.9, 2.5, 50.0])
    traces = []

    def make_tx(h):
        traces.append(1)
        return optax.sgd(h["lr"])

    res = jg.sweep(game, make_tx, w0, {"lr": lrs}, 400, record_every=100)
    assert len(traces) == 1  # one trace (one compilation) for the whole grid
    assert res.trajectory.phi.shape == (5, 5, 2) and res.distance.shape == (5, 5)
    for i, lr in enumerate(lrs):
        single = jg.rollout(game, optax.sgd(float(lr)), w0, 400)
        assert bool(res.finite[i]) == bool(single.finite)
        if i < 3:  # contracting runs agree to rounding; unstable ones amplify it (chaos)
            np.testing.assert_allclose(res.final.phi[i], single.final.phi, rtol=1e-10)
    bound = float(jg.spectrum(game, game.equilibrium).stable_step)  # = 2 * sigma2 = 2
    np.testing.assert_allclose(bound, 2.0, rtol=1e-10)
    names = [jg.RESULTS(int(s)).label for s in res.status]
    assert names[:2] == ["converged", "converged"]
    # past the bound: the run leaves the equilibrium (bounded gradients keep it finite) and wanders
    # chaotically, its envelope's growth depends on the window: not converged either way
    assert names[3] in ("grew", "bounded") and float(res.distance[3, -1]) > 10
    # lr = 50 jumps to 8.5e6 in its first step and stays there: bounded (the envelope of its last
    # quarter is not above that of its middle), far from the equilibrium, not converged
    assert names[4] == "bounded" and float(res.distance[4, -1]) > 1e6
    # a game whose runs overflow: flagged per run, the others kept
    quad = jg.games.quadratic(1.0, 0.0, 1.0)
    res = jg.sweep(quad, lambda h: optax.sgd(h["lr"]), jg.Joint(jnp.array(1.0), jnp.array(1.0)),
                   {"lr": jnp.array([0.5, 1.0, 3.0, 5.0])}, 2000)
    assert [jg.RESULTS(int(s)).label for s in res.status] == ["converged", "converged", "non-finite", "non-finite"]
    assert res.finite.tolist() == [True, True, False, False]
    assert res.first_nonfinite.tolist() == [-1, -1, 1024, 512]  # |1 - lr|^t passes 2^1024
    assert res.summary() == {"converged": 2, "bounded": 0, "grew": 0, "non-finite": 2}


def test_sweep_over_game_hyperparameters_and_starting_points():
    def game_fn(h):
        return jg.games.quadratic(1.0, 1.0, 1.0).replace(equilibrium=jg.Joint(jnp.array(0.0), jnp.array(0.0)))

    grid, shape = jg.grid_product(lr=jnp.array([0.1, 0.5]), x0=jnp.array([1.0, -2.0, 3.0]))
    res = jg.sweep(game_fn, lambda h: optax.sgd(h["lr"]), lambda h: jg.Joint(h["x0"], jnp.array(0.0)), grid, 300)
    assert shape == (2, 3) and res.status.shape == (6,)
    np.testing.assert_allclose(res.distance[:, 0], jnp.abs(grid["x0"]), rtol=1e-14)
    assert res.summary()["converged"] == 6


@pytest.mark.parametrize(
    "grid, match",
    [
        ({}, "non-empty dict"),
        ([0.1, 0.2], "non-empty dict"),
        ({"lr": jnp.zeros((2, 2))}, r"`lr` must be 1-D and non-empty, got shape \(2, 2\)"),
        ({"lr": jnp.zeros(3), "gamma": jnp.zeros(2)}, "same length"),
        ({"lr": jnp.zeros(0)}, "empty"),
    ],
)
def test_sweep_grid_errors(grid, match):
    game = jg.games.dirac("wgan")
    with pytest.raises(ValueError, match=match):
        jg.sweep(game, lambda h: optax.sgd(h["lr"]), game.equilibrium, grid, 10)


def test_run_argument_errors():
    game = jg.games.dirac("wgan")
    w = game.equilibrium
    with pytest.raises(ValueError, match="`record_every` .* must divide `steps`"):
        jg.rollout(game, optax.sgd(0.1), w, 10, record_every=3)
    with pytest.raises(ValueError, match="`steps` must be a positive int"):
        jg.rollout(game, optax.sgd(0.1), w, 0)
    with pytest.raises(TypeError, match="`w0` must be a jaxgan.Joint"):
        jg.rollout(game, optax.sgd(0.1), (0.0, 0.0), 10)
    with pytest.raises(TypeError, match="`tx` must be an optax.GradientTransformation"):
        jg.rollout(game, 0.1, w, 10)
    with pytest.raises(TypeError, match="`make_tx` must be a callable"):
        jg.sweep(game, optax.sgd(0.1), w, {"lr": jnp.ones(2)}, 10)
    with pytest.raises(ValueError, match="at least one axis"):
        jg.grid_product()
    with pytest.raises(ValueError, match="axis `lr` must be 1-D and non-empty"):
        jg.grid_product(lr=[])


def test_a_large_sweep_runs_on_every_core_with_the_same_outcomes(monkeypatch):
    import jaxgan._runs.rollout as R

    game = jg.games.quadratic(1.0, 1.0, 1.0)
    lrs = jnp.linspace(0.05, 3.0, 67)  # not a multiple of the chunk count: the grid is padded
    make_tx = lambda h: optax.sgd(h["lr"])  # noqa: E731
    w0 = jg.Joint(jnp.asarray(1.0), jnp.asarray(1.0))
    monkeypatch.setattr(R, "MIN_CHUNKED_GRID", 32)  # split this small grid too
    split = jg.sweep(game, make_tx, w0, {"lr": lrs}, 300, record_every=100)
    monkeypatch.setattr(R, "MIN_CHUNKED_GRID", 10**9)  # one program call over the whole grid
    whole = jg.sweep(game, make_tx, w0, {"lr": lrs}, 300, record_every=100)
    np.testing.assert_array_equal(np.asarray(split.status), np.asarray(whole.status))
    np.testing.assert_array_equal(np.asarray(split.first_nonfinite), np.asarray(whole.first_nonfinite))
    ok = np.asarray(whole.status) == 0
    np.testing.assert_allclose(np.asarray(split.distance)[ok], np.asarray(whole.distance)[ok], rtol=1e-12, atol=1e-300)
    assert split.trajectory.phi.shape == (67, 4)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_a_bounded_orbit_is_bounded_whatever_the_step_count_and_precision(dtype):
    # alternating GD on x y conserves a quadratic form: its orbit is an ellipse, so the last
    # sample's distance depends on the phase; the envelope does not
    game = jg.games.bilinear(1.0)
    w0 = jg.Joint(jnp.asarray(1.0, dtype), jnp.asarray(0.0, dtype))
    for steps in (100, 101, 250, 257, 1001):
        res = jg.sweep(game, lambda h: jg.transforms.alternating(optax.sgd(h["lr"])), w0,
                       {"lr": jnp.array([0.1, 0.5, 1.0, 1.5], dtype)}, steps)
        assert [jg.RESULTS(int(s)).label for s in res.status] == ["bounded"] * 4, steps
        grew = jg.sweep(game, lambda h: optax.sgd(h["lr"]), w0, {"lr": jnp.array([0.1, 0.2], dtype)}, steps)
        assert [jg.RESULTS(int(s)).label for s in grew.status] == ["grew", "grew"], steps


def test_a_non_finite_start_is_an_error_not_a_divergence():
    game = jg.games.bilinear(1.0)
    with pytest.raises(ValueError, match="rollout: `w0.phi` has non-finite"):
        jg.rollout(game, optax.sgd(0.1), jg.Joint(jnp.nan, 0.0), 5)
    with pytest.raises(ValueError, match="sweep: `w0.theta` has non-finite"):
        jg.sweep(game, lambda h: optax.sgd(h["lr"]), jg.Joint(0.0, jnp.inf), {"lr": jnp.ones(2)}, 5)


# --------------------------------------------------------------------------- averaged iterates


def test_the_average_of_alternating_gd_on_a_bilinear_game_in_closed_form():
    """Alternating GD on ``f = x y`` is the linear map ``M`` with ``|eig| = 1`` (it cycles); the
    uniform average of ``w_1..w_T`` is ``(1/T) (I - M)^-1 (M - M^(T+1)) w_0``, and the EMA is the
    recursion from ``a_0 = w_0`` written out in the test."""
    eta, T, w0 = 0.3, 200, jg.Joint(jnp.asarray(1.0), jnp.asarray(0.5))
    game = jg.zero_sum(lambda x, y: x * y)
    tx = jg.transforms.alternating(optax.sgd(eta))
    M = np.array([[1.0 - eta**2, -eta], [eta, 1.0]])  # the discriminator first: y' = y + eta x, x' = x - eta y'
    z0 = np.array([1.0, 0.5])
    uniform = np.linalg.solve(np.eye(2) - M, (M - np.linalg.matrix_power(M, T + 1)) @ z0) / T
    out = jg.rollout(game, tx, w0, T, average="uniform")
    np.testing.assert_allclose([out.average.phi, out.average.theta], uniform, rtol=1e-10, atol=1e-13)
    assert np.linalg.norm(uniform) < 0.05 < np.linalg.norm([out.final.phi, out.final.theta])  # it cycles, the mean settles
    a, z = z0.copy(), z0.copy()
    for _ in range(T):
        z = M @ z
        a = 0.9 * a + 0.1 * z
    ema = jg.rollout(game, tx, w0, T, average=("ema", 0.9)).average
    np.testing.assert_allclose([ema.phi, ema.theta], a, rtol=1e-10)


def test_a_sweep_averages_every_run_as_its_rollout_does():
    game, w0 = jg.games.dirac("wgan"), jg.Joint(jnp.asarray(1.0), jnp.asarray(0.0))
    make_tx = lambda h: jg.transforms.extragradient(optax.sgd(h["lr"]))
    lrs = jnp.asarray([0.1, 0.4])
    res = jg.sweep(game, make_tx, w0, {"lr": lrs}, 60, average=("ema", 0.5))
    for i, lr in enumerate(lrs):
        one = jg.rollout(game, make_tx, w0, 60, hyperparams={"lr": lr}, average=("ema", 0.5)).average
        chex.assert_trees_all_close(jax.tree.map(lambda x: x[i], res.average), one, rtol=1e-12)
    assert jg.sweep(game, make_tx, w0, {"lr": lrs}, 60).average is None


@pytest.mark.parametrize("bad", ["mean", ("ema", 1.0), ("ema", -0.1), ("ema",), 3, ("ema", "0.5")])
def test_an_unknown_average_is_refused_naming_the_forms(bad):
    with pytest.raises(ValueError, match="`average` must be None, 'uniform' or \\('ema', decay\\)"):
        jg.rollout(jg.games.dirac("wgan"), optax.sgd(0.1), jg.Joint(1.0, 0.0), 5, average=bad)


def test_a_decay_given_as_a_concrete_array_is_read_and_a_traced_one_is_refused():
    game, w0 = jg.games.dirac("wgan"), jg.Joint(1.0, 0.0)
    a = jg.rollout(game, optax.sgd(0.1), w0, 5, average=("ema", jnp.asarray(0.5))).average
    chex.assert_trees_all_close(a, jg.rollout(game, optax.sgd(0.1), w0, 5, average=("ema", 0.5)).average)
    with pytest.raises(TypeError, match="the decay of `average` is a static option"):
        jax.jit(lambda d: jg.rollout(game, optax.sgd(0.1), w0, 5, average=("ema", d)).final)(0.5)



def test_the_step_loop_is_unrolled_only_for_small_steps_and_unrolling_changes_no_outcome():
    """``sweep(unroll=)``: the default unrolls the step loop of a small game whose step is
    small (``small_body``: SimGD's step is, CGD's inner solve is not); any unrolling gives the
    runs a plain loop of ``rollout`` gives."""
    from jaxgan._runs.rollout import SMALL_BODY_EQUATIONS, small_body

    game, w0 = jg.games.dirac("standard"), jg.Joint(jnp.asarray(0.5), jnp.asarray(0.5))
    lrs = jnp.asarray([0.05, 0.3, 1.0])

    def body(tx):
        def one(carry, _):
            w, s = carry
            return jg.make_step(game, tx)(w, s), None
        return small_body(one, (w0, tx.init(w0)))

    assert body(optax.sgd(0.1)) and not body(jg.transforms.cgd(0.1))
    assert SMALL_BODY_EQUATIONS >= 100
    make_tx = lambda h: optax.sgd(h["lr"])  # noqa: E731
    loop = [jg.rollout(game, optax.sgd(lr), w0, 60).final for lr in lrs]
    for unroll in (None, 1, 3):
        res = jg.sweep(game, make_tx, w0, {"lr": lrs}, 60, unroll=unroll)
        for i, ref in enumerate(loop):
            chex.assert_trees_all_close(jax.tree.map(lambda x: x[i], res.final), ref, rtol=1e-13)
