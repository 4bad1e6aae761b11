"""jaxgan.transforms._box: the box projection and the box checks."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxgan as jg


def _double_well():
    return jg.zero_sum(lambda x, y: (x**2 - 0.25) ** 2 - (y**2 - 0.25) ** 2 + 0.1 * x * y)


def test_project_box_is_the_euclidean_projection_coordinate_by_coordinate():
    # u -> Pi_box(w + u) - w with Pi_box = clip(., lo, hi), infinite bounds allowed
    lo = jg.Joint(jnp.array([0.0, -jnp.inf, -1.0]), -2.0)
    hi = jg.Joint(jnp.array([1.0, 0.0, jnp.inf]), 2.0)
    tx = jg.transforms.project_box(jg.Box(lo, hi))
    w = jg.Joint(jnp.array([0.5, -1.0, 0.0]), 1.0)
    u = jg.Joint(jnp.array([0.7, 5.0, -3.0]), 0.5)
    new, _ = tx.update(u, tx.init(w), w)
    np.testing.assert_array_equal(w.phi + new.phi, [1.0, 0.0, -1.0])
    assert float(w.theta + new.theta) == 1.5  # inside: the update is kept
    # idempotent: a point already in the box does not move
    again, _ = tx.update(jax.tree.map(jnp.zeros_like, u), tx.init(w), jax.tree.map(lambda a, b: a + b, w, new))
    np.testing.assert_array_equal(again.phi, 0.0)


def test_project_box_per_player_inside_alternating_projects_each_players_step():
    # alternating, generator first: phi steps on its own part of the box, then theta at the new phi
    game = jg.zero_sum(lambda x, y: x * y)
    box = jg.Box(jg.Joint(-0.1, -0.1), jg.Joint(0.1, 0.1))
    step = lambda: optax.chain(optax.sgd(4.0), jg.transforms.project_box(box))  # noqa: E731
    tx = jg.transforms.alternating(jg.Joint(step(), step()), order="g_first")
    run = jg.rollout(game, tx, jg.Joint(0.05, 0.08), 1)
    x = min(max(0.05 - 4.0 * 0.08, -0.1), 0.1)  # grad_x xy = y: 0.05 - 0.32 -> -0.1
    y = min(max(0.08 + 4.0 * x, -0.1), 0.1)  # grad_y (-xy) = -x at the new, projected x: 0.08 - 0.4 -> -0.1
    assert (x, y) == (-0.1, -0.1)
    np.testing.assert_allclose([run.final.phi, run.final.theta], [x, y], atol=1e-15)
    # simultaneous steps (y moves with the old x = 0.05) end elsewhere: the test can tell them apart
    sim = jg.rollout(game, step(), jg.Joint(0.05, 0.08), 1)
    np.testing.assert_allclose([sim.final.phi, sim.final.theta], [-0.1, 0.1], atol=1e-15)


def test_box_checks_accept_a_pair_and_name_what_is_wrong():
    lo, hi = jg.Joint(0.0, 0.0), jg.Joint(1.0, 1.0)
    assert jg.transforms.project_box((lo, hi)) is not None
    with pytest.raises(TypeError, match=r"project_box: `box` must be a jaxgan.Box"):
        jg.transforms.project_box(1.0)
    with pytest.raises(TypeError, match=r"`box.hi` must be a jaxgan.Joint"):
        jg.transforms.project_box(jg.Box(lo, (1.0, 1.0)))
    with pytest.raises(ValueError, match="NaN"):
        jg.transforms.project_box(jg.Box(jg.Joint(jnp.nan, 0.0), hi))
    # a projection allows lo == hi (a pinned coordinate); STON'R needs lo < hi
    jg.transforms.project_box(jg.Box(jg.Joint(1.0, 0.0), hi))
    with pytest.raises(ValueError, match="lo < hi"):
        jg.transforms.stonr_certificate(jg.zero_sum(lambda x, y: x * y), jg.Box(jg.Joint(1.0, 0.0), hi), lo)
