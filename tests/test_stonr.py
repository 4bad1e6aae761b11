"""STON'R on box-constrained games: termination at certified first-order points."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxgan as jg
from jaxgan.transforms._stonr import GOOD, MIDDLING

EXAMPLES = jg.games.constrained_examples()
BUDGET = 10000  # SimGD / extragradient steps, more field evaluations than STON'R uses


def _projected_runs(game, box, steps):
    """The certificate residuals of projected SimGD and of projected extragradient (both
    half-steps projected), the two runs in one compiled program."""
    w0 = jax.tree.map(lambda a, b: (jnp.asarray(a) + jnp.asarray(b)) / 2 + 0.1, box.lo, box.hi)
    step = optax.chain(optax.sgd(0.02), jg.transforms.project_box(box))
    txs = (step, jg.transforms.extragradient(step))
    finals = jax.jit(lambda w: [jg.rollout(game, tx, w, steps).final for tx in txs])(w0)
    return [float(jg.transforms.stonr_certificate(game, box, final)[0]) for final in finals]


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_unique_point_games_side_by_side(name):
    ex = EXAMPLES[name]
    out = jg.transforms.run_stonr(ex.game, ex.box)
    assert out.status_name == "converged"
    assert float(out.residual) <= 1e-6
    if ex.solution is not None:
        np.testing.assert_allclose([out.point.phi, out.point.theta], [ex.solution.phi, ex.solution.theta], atol=1e-8)
    else:  # the critical point: xi = 0 inside the box
        xi = jax.jit(jg.simultaneous_gradient(ex.game))(out.point)
        np.testing.assert_allclose([xi.phi, xi.theta], 0.0, atol=1e-9)
    simgd, eg = _projected_runs(ex.game, ex.box, BUDGET)
    print(f"{name}: residual STON'R {float(out.residual):.1e}, SimGD {simgd:.2e}, extragradient {eg:.2e}")
    assert simgd > 1e-2  # gradient descent-ascent does not get there
    if name == "spurious-cycle":
        assert eg > 1e-2  # nor does extragradient: it is caught by the limit cycle


def test_hand_traced_events_on_the_bilinear_game():
    ex = EXAMPLES["bilinear"]
    out = jg.transforms.run_stonr(ex.game, ex.box, step_size=0.01)
    log = np.asarray(out.event_log)
    log = log[log[:, 0] >= 0]
    # x rises to its face 1 (satisfied there), y rises until x's gradient turns at y = 1/2
    # (x leaves its face), then x slides along y = 1/2 until y is satisfied at x = 1/2
    assert [(int(e), int(c)) for _, e, c in log] == [(GOOD, 0), (MIDDLING, 0), (GOOD, 1)]
    np.testing.assert_allclose(out.path[int(log[0, 0])], [1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(out.path[int(log[1, 0])], [1.0, 0.5], atol=0.011)
    assert list(np.asarray(out.counts)[:3]) == [2, 0, 1]


def _double_well():
    return jg.zero_sum(lambda x, y: (x**2 - 0.25) ** 2 - (y**2 - 0.25) ** 2 + 0.1 * x * y)


def test_several_points_each_certified():
    game = _double_well()
    box = jg.Box(jg.Joint(-1.0, -1.0), jg.Joint(1.0, 1.0))
    corners = jnp.array(list(itertools.product([0.0, 1.0], repeat=2)))
    outs = jax.vmap(lambda c: jg.transforms.run_stonr(game, box, corner=c))(corners)
    assert np.all(np.asarray(outs.status) == 0)
    assert np.all(np.asarray(outs.residual) <= 1e-6)
    # the set of first-order points: Newton on xi = 0 from a grid of starts
    field = jg.simultaneous_gradient(game)

    def newton(z):
        f = lambda v: jnp.stack(jax.tree.leaves(field(jg.Joint(v[0], v[1]))))  # noqa: E731
        # 40 Newton steps as a loop, not unrolled: one small loop body to compile
        return jax.lax.fori_loop(0, 40, lambda _, z: z - jnp.linalg.solve(jax.jacfwd(f)(z), f(z)), z)

    starts = jnp.array(list(itertools.product(np.linspace(-0.9, 0.9, 7), repeat=2)))
    roots = np.asarray(jax.jit(jax.vmap(newton))(starts))
    roots = np.unique(np.round(roots[np.all(np.abs(roots) <= 1, axis=1)], 8), axis=0)
    found = np.stack([np.asarray(outs.point.phi), np.asarray(outs.point.theta)], axis=1)
    for p in found:
        assert np.min(np.max(np.abs(roots - p), axis=1)) < 1e-7  # every returned point is in the set
    assert len(np.unique(np.round(found, 6), axis=0)) >= 2  # different starts, different points
    assert np.all(np.asarray(outs.local_type) == 2)  # the wells are local Nash points


def test_six_dimensional_game_terminates():
    rng = np.random.default_rng(0)
    A = jnp.asarray(rng.normal(size=(3, 3)))
    c = jnp.array([0.3, 0.6, 0.5])

    def f(x, y):
        return (x - c) @ A @ (y - c) + 0.25 * jnp.sum((x - c) ** 2) - 0.15 * jnp.sum((y - c) ** 2) + 0.05 * jnp.sum(jnp.sin(4 * x) * y)

    game = jg.zero_sum(f)
    box = jg.Box(jg.Joint(jnp.zeros(3), jnp.zeros(3)), jg.Joint(jnp.ones(3), jnp.ones(3)))
    out = jg.transforms.run_stonr(game, box)
    assert out.status_name == "converged"
    assert float(out.residual) <= 1e-6
    assert int(np.asarray(out.counts)[0]) >= 6


def test_jit_and_float32():
    ex = EXAMPLES["matrix-2x2"]
    point = jax.jit(lambda: jg.transforms.run_stonr(ex.game, ex.box).point)()
    np.testing.assert_allclose([point.phi, point.theta], [3 / 7, 2 / 7], atol=1e-8)
    box32 = jax.tree.map(lambda x: jnp.asarray(x, jnp.float32), ex.box)
    out = jg.transforms.run_stonr(ex.game, jg.Box(*box32))
    assert out.point.phi.dtype == jnp.float32
    assert float(out.residual) <= 1e-5
    np.testing.assert_allclose([out.point.phi, out.point.theta], [3 / 7, 2 / 7], atol=1e-5)


def test_bad_input():
    game = EXAMPLES["bilinear"].game
    with pytest.raises(ValueError, match="lo < hi"):
        jg.transforms.run_stonr(game, jg.Box(jg.Joint(0.0, 1.0), jg.Joint(1.0, 1.0)))
    with pytest.raises(TypeError, match="box"):
        jg.transforms.run_stonr(game, 3.0)
    with pytest.raises(ValueError, match="shapes"):
        jg.transforms.run_stonr(game, jg.Box(jg.Joint(jnp.zeros(2), 0.0), jg.Joint(jnp.ones(3), 1.0)))
    with pytest.raises(ValueError, match="corner"):
        jg.transforms.run_stonr(game, EXAMPLES["bilinear"].box, corner=jnp.zeros(3))
    vector_loss = jg.zero_sum(lambda x, y: jnp.stack([x * y, x]))
    with pytest.raises(ValueError, match="scalar"):
        jg.transforms.run_stonr(vector_loss, EXAMPLES["bilinear"].box)
    tx = jg.transforms.stonr(EXAMPLES["bilinear"].box)
    w = jg.Joint(jnp.zeros(2), 0.0)
    with pytest.raises(ValueError, match="coordinates"):
        tx.update(None, tx.init(w), w, game=game)
