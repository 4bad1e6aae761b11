"""Path-angle (Berard et al. 2020) against closed forms and a reference loop with plain jax.grad."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

import jaxgan as jg


def test_closed_forms_rotation_and_descent():
    alphas = jnp.linspace(-0.2, 1.2, 15)
    # f = x y: xi = (y, -x); on the path (1 - alpha, 0) the field is orthogonal to it (pure rotation)
    rot = jg.path_angle(jg.games.bilinear(1.0), jg.Joint(1.0, 0.0), jg.Joint(0.0, 0.0), alphas=alphas)
    np.testing.assert_allclose(np.asarray(rot.cosine), 0.0, atol=1e-15)
    np.testing.assert_allclose(np.asarray(rot.field_norm), np.abs(1 - np.asarray(alphas)), atol=1e-15)
    # f = x^2/2 - y^2/2 (both players minimise a bowl): xi = w, pointing back along the path before w_1
    bowl = jg.path_angle(jg.games.quadratic(1.0, 0.0, 1.0), jg.Joint(1.0, 2.0), jg.Joint(0.0, 0.0), alphas=alphas)
    a = np.asarray(alphas)
    np.testing.assert_allclose(np.asarray(bowl.cosine)[np.abs(1 - a) > 1e-9], -np.sign(1 - a[np.abs(1 - a) > 1e-9]), atol=1e-14)
    np.testing.assert_allclose(np.asarray(bowl.loss_g), 0.5 * (1 - a) ** 2 * (1 - 4), atol=1e-14)


def test_matches_a_reference_loop_with_plain_grad_on_a_neural_gan():
    data = jg.datasets.ring().sample(jax.random.PRNGKey(0), 32)
    ng = jg.games.mlp_gan(data, key=jax.random.PRNGKey(1), hidden=(6,))
    w0 = ng.params
    w1 = jax.tree.map(lambda x: x + 0.5, w0)
    out = jg.path_angle(ng.game, w0, w1, num=9)
    z0, unravel = ravel_pytree(w0)
    d = ravel_pytree(w1)[0] - z0
    n_phi = ravel_pytree(w0.phi)[0].shape[0]
    for i, alpha in enumerate(np.linspace(-0.2, 1.2, 9)):
        w = unravel(z0 + alpha * d)
        g = jnp.concatenate([ravel_pytree(jax.grad(ng.game.loss_g, 0)(w.phi, w.theta))[0],
                             ravel_pytree(jax.grad(ng.game.loss_d, 1)(w.phi, w.theta))[0]])
        cos = lambda a, b: float(a @ b / (jnp.linalg.norm(a) * jnp.linalg.norm(b)))  # noqa: E731
        np.testing.assert_allclose(float(out.field_norm[i]), float(jnp.linalg.norm(g)), rtol=1e-12)
        np.testing.assert_allclose(float(out.cosine[i]), cos(g, d), rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(float(out.cosine_phi[i]), cos(g[:n_phi], d[:n_phi]), rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(float(out.cosine_theta[i]), cos(g[n_phi:], d[n_phi:]), rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(float(out.loss_d[i]), float(ng.game.loss_d(w.phi, w.theta)), rtol=1e-12)


def test_bad_input():
    game = jg.games.bilinear(1.0)
    with pytest.raises(ValueError, match="path_angle: `w_final` must have the structure"):
        jg.path_angle(game, jg.Joint(1.0, 0.0), jg.Joint(jnp.zeros(2), 0.0))
    with pytest.raises(ValueError, match="path_angle: `num`"):
        jg.path_angle(game, jg.Joint(1.0, 0.0), jg.Joint(0.0, 0.0), num=1)
    with pytest.raises(ValueError, match="path_angle: `alphas` has non-finite"):
        jg.path_angle(game, jg.Joint(1.0, 0.0), jg.Joint(0.0, 0.0), alphas=jnp.array([0.0, np.nan]))
    with pytest.raises(ValueError, match="path_angle: `w_init.phi` has non-finite"):
        jg.path_angle(game, jg.Joint(np.inf, 0.0), jg.Joint(0.0, 0.0))


def test_the_cosine_is_undefined_where_the_field_vanishes_never_zero():
    game = jg.games.quadratic(1.0, 1.0, 1.0)  # xi = (x + y, y - x): zero only at the origin
    out = jg.path_angle(game, jg.Joint(1.0, 1.0), jg.Joint(0.0, 0.0), alphas=jnp.asarray([0.0, 0.5, 1.0]))
    norm, cos = np.asarray(out.field_norm), np.asarray(out.cosine)
    assert norm[2] == 0.0 and np.isnan(cos[2])  # at the equilibrium: 0/0, flagged by field_norm == 0
    assert np.all(np.isfinite(cos[:2]))
    only_phi = jg.path_angle(game, jg.Joint(1.0, 1.0), jg.Joint(0.0, 1.0), num=3)
    assert np.all(np.isnan(np.asarray(only_phi.cosine_theta)))  # the segment does not move theta
