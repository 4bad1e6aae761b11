"""Flows (diffrax), the learning-rate refinement test (Turinici 2020) and stability maps."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxgan as jg

TURINICI = jg.games.turinici(1.0)


@pytest.mark.parametrize("tau", [0.05, 0.3])
def test_turinici_map_conserves_its_ellipse(tau):
    out = jax.jit(lambda w: jg.rollout(TURINICI, jg.transforms.alternating(optax.sgd(tau)), w, 5000, record_every=1).trajectory)(
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
    fl = jg.flows.flow(TURINICI, jg.Joint(2.0, 0.0), ts)
    np.testing.assert_allclose(fl.ys.phi, 1.0 + np.cos(ts), atol=1e-8)
    np.testing.assert_allclose(fl.ys.theta, np.sin(ts), atol=1e-8)
    # consensus on the Dirac-GAN (wgan): eigenvalues -gamma +- i, the norm decays as exp(-gamma t)
    game = jg.games.dirac("wgan")
    fl = jg.flows.flow(game, jg.Joint(1.0, 0.0), ts, transform=jg.transforms.consensus(0.3))
    np.testing.assert_allclose(np.hypot(fl.ys.phi, fl.ys.theta), np.exp(-0.3 * ts), rtol=1e-8)


def test_refinement_first_order_on_turinici():
    r = jg.flows.refinement_test(
        TURINICI, lambda lr: jg.transforms.alternating(optax.sgd(lr)), jg.Joint(2.0, 0.0), 0.2, 40, levels=4, points=41
    )
    ratios = np.asarray(r.errors[:-1] / r.errors[1:])
    np.testing.assert_allclose(ratios, 2.0, rtol=0.1)  # the error to the flow halves with the step
    np.testing.assert_allclose(np.asarray(r.gaps[:-1] / r.gaps[1:]), 2.0, rtol=0.1)
    assert abs(r.order - 1.0) < 0.05
    coarse = jg.flows.refinement_test(
        TURINICI, lambda lr: jg.transforms.alternating(optax.sgd(lr)), jg.Joint(2.0, 0.0), 0.4, 20, levels=2, points=21
    )
    assert coarse.verdict == "first order, not yet resolved"
    fine = jg.flows.refinement_test(
        TURINICI, lambda lr: jg.transforms.alternating(optax.sgd(lr)), jg.Joint(2.0, 0.0), 0.002, 4000, levels=2, points=41
    )
    assert fine.verdict == "resolved"


def test_refinement_first_order_on_the_regularised_dirac_gan():
    game = jg.regularizers.r1(jg.games.dirac("standard"), 0.5)
    r = jg.flows.refinement_test(game, optax.sgd, jg.Joint(1.0, 0.5), 0.5, 40, levels=4, points=41)
    np.testing.assert_allclose(np.asarray(r.errors[:-1] / r.errors[1:]), 2.0, rtol=0.1)
    assert abs(r.order - 1.0) < 0.05
    # the consensus-corrected run tends to the consensus flow
    rc = jg.flows.refinement_test(
        game, lambda lr: optax.chain(jg.transforms.consensus(0.5), optax.sgd(lr)), jg.Joint(1.0, 0.5), 0.5, 40, levels=3, points=41,
        transform=jg.transforms.consensus(0.5),
    )
    assert abs(rc.order - 1.0) < 0.1


def test_refinement_bad_input():
    with pytest.raises(ValueError, match="divide"):
        jg.flows.refinement_test(TURINICI, optax.sgd, jg.Joint(2.0, 0.0), 0.1, 10, points=4)
    with pytest.raises(ValueError, match="levels"):
        jg.flows.refinement_test(TURINICI, optax.sgd, jg.Joint(2.0, 0.0), 0.1, 10, levels=1)
    with pytest.raises(TypeError, match="make_tx"):
        jg.flows.refinement_test(TURINICI, 0.1, jg.Joint(2.0, 0.0), 0.1, 10)


# --------------------------------------------------------------------------- stability maps



def test_refinement_batched_equals_separate_runs():
    game = jg.regularizers.r1(jg.games.dirac("standard"), 0.5)
    kw = dict(levels=3, points=11, with_flow=False)
    a = jg.flows.refinement_test(game, optax.sgd, jg.Joint(1.0, 0.5), 0.4, 20, **kw)
    b = jg.flows.refinement_test(game, optax.sgd, jg.Joint(1.0, 0.5), 0.4, 20, batched=False, **kw)
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
