"""``nash_gap`` and ``duality_gap`` (issue 44): closed forms on boxes (bilinear, convex-concave with
clipped responses, three players) and the refusals."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgan as jg

BOX = jg.Box(jg.Joint(-1.0, -1.0), jg.Joint(1.0, 1.0))

PROBE_CALLS = {
    "jaxgan._analysis.gap.nash_gap": lambda **k: jg.nash_gap(
        jg.Game(lambda x, y: (x - y) ** 2, lambda x, y: (y - 0.5) ** 2), jg.Joint(0.0, 0.0), BOX, **k),
    "jaxgan._analysis.gap.duality_gap": lambda **k: jg.duality_gap(
        jg.zero_sum(lambda x, y: x * y), jg.Joint(0.5, -0.25), BOX, **k),
}



@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_bilinear_duality_gap_on_a_box_is_the_sum_of_two_l1_norms(seed):
    """``max_y' x^T A y' - min_x' x'^T A y = |A^T x|_1 + |A y|_1`` on ``[-1, 1]`` boxes, the
    responses the vertices ``sign(A^T x)`` and ``-sign(A y)``."""
    rng = np.random.default_rng(seed)
    A = jnp.asarray(rng.normal(size=(4, 3)))
    x, y = jnp.asarray(rng.uniform(-1, 1, 4)), jnp.asarray(rng.uniform(-1, 1, 3))
    gap = jg.duality_gap(jg.zero_sum(lambda a, b: a @ A @ b), jg.Joint(x, y), BOX)
    np.testing.assert_allclose(gap.value, jnp.abs(A.T @ x).sum() + jnp.abs(A @ y).sum(), rtol=1e-12)
    np.testing.assert_allclose(gap.improvements, [x @ A @ y + jnp.abs(A @ y).sum(), jnp.abs(A.T @ x).sum() - x @ A @ y],
                               rtol=1e-12)
    np.testing.assert_array_equal(gap.responses.phi, -jnp.sign(A @ y))
    np.testing.assert_array_equal(gap.responses.theta, jnp.sign(A.T @ x))
    assert bool(gap.converged) and float(gap.bound) == 0.0


@pytest.mark.parametrize("x, y", [(0.3, -0.7), (0.9, 0.8)])
def test_a_convex_concave_duality_gap_with_clipped_responses(x, y):
    """``f = a/2 x^2 + b x y - c/2 y^2``: ``y* = clip(b x / c)``, ``x* = clip(-b y / a)`` on the box."""
    a, b, c = 1.0, 2.0, 0.5
    f = lambda p, q: a / 2 * p**2 + b * p * q - c / 2 * q**2
    gap = jg.duality_gap(jg.zero_sum(f), jg.Joint(jnp.asarray(x), jnp.asarray(y)), BOX)
    xs, ys = np.clip(-b * y / a, -1, 1), np.clip(b * x / c, -1, 1)
    np.testing.assert_allclose(gap.value, f(x, ys) - f(xs, y), rtol=1e-10)
    np.testing.assert_allclose([gap.responses.phi, gap.responses.theta], [xs, ys], atol=1e-8)
    assert bool(gap.converged) and float(gap.bound) <= 1e-8 * (1 + abs(f(x, y)))


def test_the_nash_gap_of_three_players_is_the_sum_of_their_best_improvements():
    """Player i minimises ``(x_i - c_i x_{i+1})^2 + x_i^2 / 2`` on ``[-1, 1]``: its best response
    is ``clip(2 c_i x_{i+1} / 3)``; the gap is the sum of the three improvements."""
    c = [1.0, -2.0, 3.0]
    losses = [lambda w, i=i: (w[i] - c[i] * w[(i + 1) % 3]) ** 2 + w[i] ** 2 / 2 for i in range(3)]
    game = jg.n_player_game(losses)
    w = jg.Players(jnp.asarray(0.2), jnp.asarray(0.6), jnp.asarray(-0.5))
    box = jg.Box(jg.Players(-1.0, -1.0, -1.0), jg.Players(1.0, 1.0, 1.0))
    gap = jg.nash_gap(game, w, box)
    expected = []
    for i in range(3):
        best = np.clip(2 * c[i] * w[(i + 1) % 3] / 3, -1, 1)
        moved = w.replace(i, jnp.asarray(best))
        expected.append(losses[i](w) - losses[i](moved))
    np.testing.assert_allclose(gap.improvements, expected, rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(gap.value, sum(expected), rtol=1e-9)


def test_the_gap_is_zero_at_a_saddle_and_traceable():
    game = jg.zero_sum(lambda x, y: x**2 - y**2 + x * y)
    assert float(jg.duality_gap(game, jg.Joint(0.0, 0.0), BOX).value) == 0.0
    values = jax.jit(jax.vmap(lambda x: jg.duality_gap(game, jg.Joint(x, 0.0), BOX).value))(jnp.asarray([0.0, 0.5]))
    # max_y x^2 - y^2 + x y = x^2 + x^2/4 at y = x/2; min_x' x'^2 = 0: 1.25 x^2
    np.testing.assert_allclose(values, [0.0, 1.25 * 0.25], rtol=1e-10)


def test_a_scalar_box_bounds_every_coordinate_and_a_zero_gradient_start_still_moves():
    """``Box(-1, 1)`` is the unit box of every player; the generator's loss ``-x^2`` has a zero
    gradient at its maximum ``x = 0``, where the solver's corner starts find the minimum ``-1``."""
    game = jg.Game(lambda x, y: -(x**2) + 0 * y, lambda x, y: (y - x) ** 2)
    gap = jg.nash_gap(game, jg.Joint(0.0, 0.0), jg.Box(-1.0, 1.0))
    np.testing.assert_allclose(gap.improvements, [1.0, 0.0], atol=1e-14)
    assert abs(float(gap.responses.phi)) == 1.0


def test_under_jit_a_point_outside_the_box_or_crossed_bounds_give_nan():
    game = jg.zero_sum(lambda x, y: x * y)
    outside = jax.jit(lambda x: jg.duality_gap(game, jg.Joint(x, 0.5), BOX))(3.0)
    crossed = jax.jit(lambda s: jg.duality_gap(game, jg.Joint(0.2, 0.1), jg.Box(jg.Joint(s, s), jg.Joint(-s, -s))))(1.0)
    for gap in (outside, crossed):
        assert np.isnan(gap.value) and np.isnan(gap.bound) and not bool(gap.converged)


BAD_GAPS = [
    ("a general-sum game", lambda: jg.duality_gap(jg.Game(lambda x, y: x * y, lambda x, y: y**2), jg.Joint(0.1, 0.1), BOX),
     ValueError, "zero-sum game"),
    ("a strategically zero-sum game", lambda: jg.duality_gap(
        jg.Game(lambda x, y: x * y, lambda x, y: -x * y + y**2, zero_sum=True), jg.Joint(0.1, 0.3), BOX),
     ValueError, "loss_g + loss_d"),
    ("an unbounded domain", lambda: jg.nash_gap(
        jg.zero_sum(lambda x, y: x * y), jg.Joint(0.1, 0.1), jg.Box(jg.Joint(-1.0, -1.0), jg.Joint(1.0, jnp.inf))),
     ValueError, "`domain.hi` has non-finite entries"),
    ("a domain that is not a box", lambda: jg.nash_gap(jg.zero_sum(lambda x, y: x * y), jg.Joint(0.1, 0.1), 1.0),
     TypeError, "`domain` must be a jaxgan.Box"),
    ("a domain of another structure", lambda: jg.nash_gap(
        jg.zero_sum(lambda x, y: x * y), jg.Joint(0.1, 0.1), jg.Box(jg.Players(0.0, 0.0, 0.0), jg.Players(1.0, 1.0, 1.0))),
     ValueError, "`domain.lo` must be a scalar or a point like `w` (a jaxgan.Joint(phi, theta), with the same leaves), got a jaxgan.Players of 3 players"),
    ("crossed bounds", lambda: jg.nash_gap(
        jg.zero_sum(lambda x, y: x * y), jg.Joint(0.1, 0.1), jg.Box(jg.Joint(1.0, -1.0), jg.Joint(-1.0, 1.0))),
     ValueError, "lo <= hi"),
    ("a point outside the box", lambda: jg.duality_gap(jg.zero_sum(lambda x, y: x * y), jg.Joint(-3.0, 0.5), BOX),
     ValueError, "`w` lies outside `domain`"),
    ("a non-finite point", lambda: jg.duality_gap(jg.zero_sum(lambda x, y: x * y), jg.Joint(jnp.nan, 0.5), BOX),
     ValueError, "`w.phi` has non-finite values"),
    ("no game", lambda: jg.nash_gap(None, jg.Joint(0.0, 0.0), BOX), TypeError, "`game` must be a jaxgan.Game"),
    ("a traced tolerance", lambda: jax.jit(lambda t: jg.nash_gap(jg.zero_sum(lambda x, y: x * y), jg.Joint(0.1, 0.1), BOX, tol=t).value)(1e-6),
     TypeError, "`tol` is a static option"),
]


@pytest.mark.parametrize("case, call, error, match", BAD_GAPS, ids=[c[0] for c in BAD_GAPS])
def test_a_gap_refuses_what_it_cannot_measure(case, call, error, match):
    """Each message holds its phrase whole (a plain substring, as a user pastes it into grep)."""
    with pytest.raises(error) as err:
        call()
    assert match in str(err.value), str(err.value)

