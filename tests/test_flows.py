"""Flows (diffrax), the learning-rate refinement test (seed 004) and stability maps."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxgan as jg

TURINICI = jg.games.turinici(1.0)


@pytest.mark.parametrize("tau", [0.05, 0.3])
def test_turinici_map_conserves_its_ellipse(tau):
    out = jax.jit(lambda w: jg.rollout(TURINICI, jg.alternating(optax.sgd(tau)), w, 5000, record_every=1).trajectory)(
        jg.Joint(jnp.asarray(2.0), jnp.asarray(0.5))
    )
    q = np.asarray(jg.games.turinici_invariant(out, tau, 1.0))
    np.testing.assert_allclose(q, q[0], rtol=1e-12)
    circle = np.asarray(jg.games.turinici_invariant(out, 0.0, 1.0))
    assert np.ptp(circle) > 10 * tau * 1e-2  # the circle itself is not conserved by the map


def test_turinici_as_printed_diverges():
    x, y, tau = 2.0, 0.5, 0.1
    for _ in range(500):
        y = y + tau * (x - 1.0)
        x = x + tau * y  # the notes' sign
    assert np.hypot(x - 1.0, y) > 1e3


def test_flow_matches_closed_forms():
    # the Turinici flow is a rotation about (x_r, 0): the circle is conserved
    ts = jnp.linspace(0.0, 10.0, 101)
    fl = jg.flow(TURINICI, jg.Joint(2.0, 0.0), ts)
    np.testing.assert_allclose(fl.ys.phi, 1.0 + np.cos(ts), atol=1e-8)
    np.testing.assert_allclose(fl.ys.theta, np.sin(ts), atol=1e-8)
    # consensus on the Dirac-GAN (wgan): eigenvalues -gamma +- i, the norm decays as exp(-gamma t)
    game = jg.games.dirac("wgan")
    fl = jg.flow(game, jg.Joint(1.0, 0.0), ts, transform=jg.consensus(0.3))
    np.testing.assert_allclose(np.hypot(fl.ys.phi, fl.ys.theta), np.exp(-0.3 * ts), rtol=1e-8)


def test_refinement_first_order_on_turinici():
    r = jg.refinement_test(
        TURINICI, lambda lr: jg.alternating(optax.sgd(lr)), jg.Joint(2.0, 0.0), 0.2, 40, levels=4, points=41
    )
    ratios = np.asarray(r.errors[:-1] / r.errors[1:])
    np.testing.assert_allclose(ratios, 2.0, rtol=0.1)  # the error to the flow halves with the step
    np.testing.assert_allclose(np.asarray(r.gaps[:-1] / r.gaps[1:]), 2.0, rtol=0.1)
    assert abs(r.order - 1.0) < 0.05
    coarse = jg.refinement_test(
        TURINICI, lambda lr: jg.alternating(optax.sgd(lr)), jg.Joint(2.0, 0.0), 0.4, 20, levels=2, points=21
    )
    assert coarse.verdict == "first order, not yet resolved"
    fine = jg.refinement_test(
        TURINICI, lambda lr: jg.alternating(optax.sgd(lr)), jg.Joint(2.0, 0.0), 0.002, 4000, levels=2, points=41
    )
    assert fine.verdict == "resolved"


def test_refinement_first_order_on_the_regularised_dirac_gan():
    game = jg.regularizers.r1(jg.games.dirac("standard"), 0.5)
    r = jg.refinement_test(game, optax.sgd, jg.Joint(1.0, 0.5), 0.5, 40, levels=4, points=41)
    np.testing.assert_allclose(np.asarray(r.errors[:-1] / r.errors[1:]), 2.0, rtol=0.1)
    assert abs(r.order - 1.0) < 0.05
    # the consensus-corrected run tends to the consensus flow
    rc = jg.refinement_test(
        game, lambda lr: optax.chain(jg.consensus(0.5), optax.sgd(lr)), jg.Joint(1.0, 0.5), 0.5, 40, levels=3, points=41,
        transform=jg.consensus(0.5),
    )
    assert abs(rc.order - 1.0) < 0.1


def test_refinement_bad_input():
    with pytest.raises(ValueError, match="divide"):
        jg.refinement_test(TURINICI, optax.sgd, jg.Joint(2.0, 0.0), 0.1, 10, points=4)
    with pytest.raises(ValueError, match="levels"):
        jg.refinement_test(TURINICI, optax.sgd, jg.Joint(2.0, 0.0), 0.1, 10, levels=1)
    with pytest.raises(TypeError, match="make_tx"):
        jg.refinement_test(TURINICI, 0.1, jg.Joint(2.0, 0.0), 0.1, 10)


# --------------------------------------------------------------------------- stability maps

LRS = jnp.logspace(-1.5, 1.0, 12)
GAMMAS = jnp.array([0.1, 0.5, 1.0, 2.0])


def _check_map(m, min_compared):
    agreeing, compared = m.agreement()
    assert compared >= min_compared
    assert agreeing == compared, (agreeing, compared)


@pytest.mark.parametrize("algorithm", ["simgd", "alternating"])
def test_stability_map_dirac_r1_over_lr_and_gamma(algorithm):
    grid, shape = jg.grid_product(lr=LRS, gamma=GAMMAS)
    make = {"simgd": lambda h: optax.sgd(h["lr"]), "alternating": lambda h: jg.alternating(optax.sgd(h["lr"]))}[algorithm]
    m = jg.stability_map(lambda h: jg.regularizers.r1(jg.games.dirac("standard"), h["gamma"]), make, grid,
                         shape=shape, steps=3000)
    _check_map(m, 30)
    if algorithm == "simgd":  # closed form: |1 + lr lambda| < 1 with lambda = -g/2 +- sqrt(g^2/4 - 1/4)
        g, lr = np.asarray(grid["gamma"]), np.asarray(grid["lr"])
        lam = np.stack([-g / 2 + np.sqrt(g**2 / 4 - 0.25 + 0j), -g / 2 - np.sqrt(g**2 / 4 - 0.25 + 0j)])
        # at gamma = 1 the eigenvalue -1/2 is double (a Jordan block): an eigensolver finds it to
        # about sqrt(eps) ~ 1e-8, which cuSOLVER on a GPU reaches (6e-9) where LAPACK does not
        np.testing.assert_allclose(m.radius, np.max(np.abs(1 + lr[None] * lam), axis=0), rtol=3e-8)


@pytest.mark.parametrize("name", ["consensus", "jare"])
def test_stability_map_corrections(name):
    factory = {"consensus": jg.consensus, "jare": jg.jare}[name]
    grid, shape = jg.grid_product(lr=LRS, gamma=GAMMAS)
    make = lambda h: optax.chain(factory(h["gamma"]), optax.sgd(h["lr"]))  # noqa: E731
    dirac = jg.stability_map(jg.games.dirac("standard"), make, grid, shape=shape, steps=3000)
    _check_map(dirac, 30)
    lg = jg.games.linear_gaussian(jnp.array([1.0, 0.5]), 1.0)
    # a local statement: start close to the equilibrium (large steps have small basins)
    near = jax.tree.map(lambda x: x + 1e-3, lg.equilibrium)
    m = jg.stability_map(lg, make, grid, shape=shape, steps=3000, w0=near)
    _check_map(m, 30)
    # the map's boundary in lr is the corrected spectrum's step bound (Nie & Patel Corollary 1)
    for g in np.asarray(GAMMAS):
        bound = float(jg.stable_step_bound(jg.eigenvalues(lg, lg.equilibrium, transform=factory(g))))
        sel = np.isclose(np.asarray(grid["gamma"]), g)
        lrs, pred = np.asarray(grid["lr"])[sel], np.asarray(m.predicted)[sel]
        away = np.abs(lrs / bound - 1) > 0.01
        np.testing.assert_array_equal(pred[away], (lrs < bound)[away])


def test_stability_map_linear_gaussian_simgd_and_alternating():
    lg = jg.games.linear_gaussian(jnp.array([1.0, 0.5]), 1.0)
    grid = {"lr": LRS}
    for make in (lambda h: optax.sgd(h["lr"]), lambda h: jg.alternating(optax.sgd(h["lr"]))):
        m = jg.stability_map(lg, make, grid, steps=3000)
        _check_map(m, 8)
    # SimGD's boundary is the field's stable step (Nie & Patel's eta < min 2|Re l| / |l|^2)
    bound = float(jg.spectrum(lg, lg.equilibrium).stable_step)
    m = jg.stability_map(lg, lambda h: optax.sgd(h["lr"]), grid)
    away = np.abs(np.asarray(LRS) / bound - 1) > 0.01
    np.testing.assert_array_equal(np.asarray(m.predicted)[away], (np.asarray(LRS) < bound)[away])
    assert m.status is None and m.agreement() == (0, 0)


def test_stability_map_bad_input():
    game = jg.games.dirac("wgan")
    with pytest.raises(ValueError, match="same non-zero length"):
        jg.stability_map(game, lambda h: optax.sgd(h["lr"]), {"lr": jnp.ones(3), "g": jnp.ones(2)})
    with pytest.raises(ValueError, match="empty"):
        jg.stability_map(game, lambda h: optax.sgd(0.1), {})
    with pytest.raises(ValueError, match="shape"):
        jg.stability_map(game, lambda h: optax.sgd(h["lr"]), {"lr": jnp.ones(3)}, shape=(2, 2))
    with pytest.raises(ValueError, match="equilibrium"):
        jg.stability_map(jg.zero_sum(lambda x, y: x * y), lambda h: optax.sgd(h["lr"]), {"lr": jnp.ones(2)})


def test_refinement_batched_equals_separate_runs():
    game = jg.regularizers.r1(jg.games.dirac("standard"), 0.5)
    kw = dict(levels=3, points=11, with_flow=False)
    a = jg.refinement_test(game, optax.sgd, jg.Joint(1.0, 0.5), 0.4, 20, **kw)
    b = jg.refinement_test(game, optax.sgd, jg.Joint(1.0, 0.5), 0.4, 20, batched=False, **kw)
    np.testing.assert_allclose(np.asarray(a.runs), np.asarray(b.runs), rtol=1e-12, atol=1e-15)
    assert a.verdict == b.verdict and abs(a.order - b.order) < 1e-9


def test_assess_refinement_closed_form():
    # runs with errors c * eta * s from an exact curve: gaps halve, errors to the flow halve
    s = np.linspace(0.0, 2.0, 9)
    exact = np.stack([np.cos(s), np.sin(s)], axis=1)
    etas = [0.2, 0.1, 0.05, 0.025]
    runs = np.stack([exact + eta * s[:, None] * np.array([1.0, -2.0]) for eta in etas])
    r = jg.flows.assess_refinement(runs, etas, s, exact)
    np.testing.assert_allclose(np.asarray(r.errors), np.array(etas) * 2.0 * np.sqrt(5.0), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(r.gaps), np.array(etas[1:]) * 2.0 * np.sqrt(5.0), rtol=1e-12)
    assert abs(r.order - 1.0) < 1e-12 and r.verdict == "first order, not yet resolved"
    runs[-1, 3, 0] = np.nan
    assert jg.flows.assess_refinement(runs, etas, s).verdict == "not resolved"
    with pytest.raises(ValueError, match="runs"):
        jg.flows.assess_refinement(runs[0], etas, s)
