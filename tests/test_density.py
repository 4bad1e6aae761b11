"""Stochastic Lanczos quadrature of the game operators against dense matrices (float64)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

import jaxgan as jg

RNG = np.random.default_rng(3)
A = RNG.normal(size=(12, 12))
A = (A + A.T) / 2
B = RNG.normal(size=(12, 9))
C = RNG.normal(size=(9, 9))
C = C @ C.T / 9 + np.eye(9)
QUAD = jg.games.quadratic(A, B, C)


def _mlp_point():
    data = jg.datasets.ring().sample(jax.random.PRNGKey(0), 16)
    ng = jg.games.mlp_gan(data, key=jax.random.PRNGKey(1), hidden=(4,))
    leaves, tree = jax.tree.flatten(ng.params)
    keys = jax.random.split(jax.random.PRNGKey(2), len(leaves))
    w = jax.tree.unflatten(tree, [x + 0.3 * jax.random.normal(k, x.shape) for x, k in zip(leaves, keys)])
    return ng.game, w


def _dense(game, w, operator):
    """The operator assembled from the dense Jacobian of xi = -A (A from jg.jacobian)."""
    J = -np.asarray(jg.jacobian(game, w))
    n_phi = ravel_pytree(w.phi)[0].shape[0]
    hpp, hpt, htp, htt = J[:n_phi, :n_phi], J[:n_phi, n_phi:], J[n_phi:, :n_phi], J[n_phi:, n_phi:]
    return {
        "hessian_phi": hpp,
        "hessian_theta": htt,
        "jacobian_symmetric": -(J + J.T) / 2,
        "schur_complement": hpp - hpt @ np.linalg.solve(htt, htp),
    }[operator]


CASES = [(QUAD, QUAD.equilibrium, op) for op in ("hessian_phi", "hessian_theta", "jacobian_symmetric", "schur_complement")]
CASES += [(*_mlp_point(), op) for op in ("hessian_phi", "hessian_theta", "jacobian_symmetric")]


@pytest.mark.parametrize("game, w, operator", CASES, ids=[f"{g.name}-{op}" for g, _, op in CASES])
def test_each_probe_is_an_exact_gauss_quadrature(game, w, operator):
    # m Lanczos steps integrate polynomials of degree <= 2m - 1 exactly: v^T H^k v / n
    H = _dense(game, w, operator)
    n, m = H.shape[0], 5
    key = jax.random.PRNGKey(7)
    sd = jg.spectral_density(game, w, operator=operator, num_probes=3, lanczos_steps=m, key=key)
    probes = np.asarray(jax.random.rademacher(key, (3, n), dtype=jnp.float64))
    np.testing.assert_allclose(np.asarray(sd.weights).sum(axis=1), 1.0, rtol=1e-12)
    orders = range(0, 2 * m)
    got = np.asarray(sd.probe_moments(orders))
    for k in orders:
        Hk = np.linalg.matrix_power(H, k)
        expected = np.einsum("pi,ij,pj->p", probes, Hk, probes) / n
        scale = np.linalg.norm(H, 2) ** k
        np.testing.assert_allclose(got[k], expected, rtol=0, atol=1e-8 * scale)


def test_the_mean_over_probes_estimates_the_trace_within_its_standard_error():
    # Hutchinson with Rademacher probes: Var(v^T M v) = 2 (|M|_F^2 - sum_i M_ii^2); 400 probes,
    # each moment within 4 standard errors of tr(H^k)/n (a deterministic key)
    H = _dense(QUAD, QUAD.equilibrium, "hessian_phi")
    n, probes = H.shape[0], 400
    sd = jg.spectral_density(QUAD, QUAD.equilibrium, num_probes=probes, lanczos_steps=6, key=jax.random.PRNGKey(11))
    for k in (1, 2, 3, 4):
        M = np.linalg.matrix_power(H, k)
        se = np.sqrt(2 * (np.sum(M * M) - np.sum(np.diag(M) ** 2)) / probes) / n
        assert abs(float(sd.moments((k,))[0]) - np.trace(M) / n) <= 4 * se, k


def test_full_length_lanczos_finds_the_spectrum_and_the_density_integrates_to_one():
    H = _dense(QUAD, QUAD.equilibrium, "schur_complement")
    n = H.shape[0]
    sd = jg.spectral_density(QUAD, QUAD.equilibrium, operator="schur_complement", num_probes=2, lanczos_steps=n)
    exact = np.linalg.eigvalsh(H)
    for nodes, weights in zip(np.asarray(sd.nodes), np.asarray(sd.weights)):
        seen = nodes[weights > 1e-10]
        assert len(seen) == n
        np.testing.assert_allclose(np.sort(seen), exact, atol=1e-8 * np.abs(exact).max())
    grid = np.linspace(exact.min() - 5, exact.max() + 5, 4001)
    dens = np.asarray(sd.density(jnp.asarray(grid), 0.3))
    np.testing.assert_allclose(np.trapezoid(dens, grid), 1.0, atol=1e-6)


def test_the_stackelberg_hessian_is_the_schur_complement_in_a_zero_sum_game():
    a = jg.spectral_density(QUAD, QUAD.equilibrium, operator="schur_complement", num_probes=2, lanczos_steps=6)
    b = jg.spectral_density(QUAD, QUAD.equilibrium, operator="stackelberg_hessian", num_probes=2, lanczos_steps=6)
    np.testing.assert_allclose(np.asarray(a.probe_moments(range(6))), np.asarray(b.probe_moments(range(6))), rtol=1e-8)


def test_bad_options():
    w = QUAD.equilibrium
    with pytest.raises(ValueError, match="spectral_density: `operator`"):
        jg.spectral_density(QUAD, w, operator="hessian")
    with pytest.raises(ValueError, match="`lanczos_steps` must be at most the operator's size 9"):
        jg.spectral_density(QUAD, w, operator="hessian_theta", lanczos_steps=10)
    with pytest.raises(ValueError, match="`num_probes`"):
        jg.spectral_density(QUAD, w, num_probes=0)
    with pytest.raises(ValueError, match="`tol`"):
        jg.spectral_density(QUAD, w, operator="schur_complement", tol=-1.0)
