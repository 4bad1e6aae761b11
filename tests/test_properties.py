"""Property-based tests (hypothesis) over random bilinear and quadratic games of random sizes.

Each property is checked on games nobody hand-picked: ``f(x, y) = x^T A x / 2 + x^T B y -
y^T C y / 2 (+ a smooth coupling)``, zero-sum, with random dimensions and entries. The
examples are derandomised (the same on every run: the suite stays deterministic) and few
(every new shape compiles).
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from compat import float32_mode
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.flatten_util import ravel_pytree

import jaxgan as jg

SETTINGS = settings(max_examples=3, deadline=None, derandomize=True, database=None)
FEW = settings(max_examples=2, deadline=None, derandomize=True, database=None)


@st.composite
def quadratic_games(draw, min_dim=1, max_dim=4, nonlinear=True):
    m = draw(st.integers(min_dim, max_dim))
    n = draw(st.integers(min_dim, max_dim))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    A, B, C = rng.normal(size=(m, m)), rng.normal(size=(m, n)), rng.normal(size=(n, n))
    A, C = (A + A.T) / 2, (C + C.T) / 2
    eps = 0.3 if (nonlinear and draw(st.booleans())) else 0.0
    A, B, C = jnp.asarray(A), jnp.asarray(B), jnp.asarray(C)
    w = jg.Joint(jnp.asarray(rng.normal(size=m)), jnp.asarray(rng.normal(size=n)))
    return _quadratic_game(A, B, C, eps), w, (A, B, C, eps)


def _quadratic_game(A, B, C, eps):
    """``min_x max_y x^T A x / 2 + x^T B y - y^T C y / 2 + eps sum(sin x) sum(tanh y)``."""

    def f(x, y):
        return 0.5 * x @ (A @ x) + x @ (B @ y) - 0.5 * y @ (C @ y) + eps * jnp.sum(jnp.sin(x)) * jnp.sum(jnp.tanh(y))

    return jg.zero_sum(f)


def _xi_flat(game, w):
    return ravel_pytree(jg.simultaneous_gradient(game)(w))[0]


def _jac_xi(game, w):
    """d xi / dw by jax.jacfwd of the flat field: the reference for the corrections."""
    z, unravel = ravel_pytree(w)
    return jax.jacfwd(lambda q: _xi_flat(game, unravel(q)))(z)


@SETTINGS
@given(quadratic_games())
def test_dense_jacobian_equals_the_jvp_assembled_one(case):
    game, w, (A, B, C, eps) = case
    a = jg.jacobian(game, w, chunk_size=2)
    np.testing.assert_allclose(np.asarray(a), -np.asarray(_jac_xi(game, w)), rtol=1e-12, atol=1e-12)
    if eps == 0.0:  # the closed form [[-A, -B], [B^T, -C]]
        ref = np.block([[-np.asarray(A), -np.asarray(B)], [np.asarray(B).T, -np.asarray(C)]])
        np.testing.assert_allclose(np.asarray(a), ref, rtol=1e-12, atol=1e-12)


@FEW
@given(quadratic_games(min_dim=4, max_dim=7), st.sampled_from(["LM", "LR", "SR"]))
def test_top_k_equals_dense(case, which):
    game, w, _ = case
    dense = np.asarray(jg.eigenvalues(game, w))
    out = jg.top_eigenvalues(game, w, 2, which=which, tol=1e-12)
    key = {"LM": lambda z: -np.abs(z), "LR": lambda z: -z.real, "SR": lambda z: z.real}[which]
    ref = np.sort(key(dense))[:2]
    scale = np.max(np.abs(dense))
    assert bool(out.converged)
    np.testing.assert_allclose(np.sort(key(np.asarray(out.eigenvalues))), ref, atol=1e-8 * scale)
    for lam in np.asarray(out.eigenvalues):  # each found value is an eigenvalue
        assert np.min(np.abs(dense - lam)) <= 1e-8 * scale


@SETTINGS
@given(quadratic_games(), st.floats(1e-3, 0.5))
def test_simgd_update_jacobian_is_identity_plus_eta_a(case, eta):
    game, w, _ = case
    a = np.asarray(jg.jacobian(game, w))
    m = np.asarray(jg.update_jacobian(game, optax.sgd(eta), w))
    np.testing.assert_allclose(m, np.eye(len(a)) + eta * a, rtol=1e-12, atol=1e-12)


@SETTINGS
@given(quadratic_games(), st.lists(st.floats(1e-3, 0.3), min_size=1, max_size=4))
def test_vmapped_sweep_equals_the_loop(case, lrs):
    game, w, _ = case
    res = jg.sweep(game, lambda h: optax.sgd(h["lr"]), w, {"lr": jnp.asarray(lrs)}, 20)
    for i, lr in enumerate(lrs):
        one = jg.rollout(game, optax.sgd(lr), w, 20)
        got = ravel_pytree(jax.tree.map(lambda a: a[i], res.final))[0]
        want = ravel_pytree(one.final)[0]
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-12, atol=1e-12)


@pytest.mark.filterwarnings("ignore:Explicitly requested dtype float64")
@SETTINGS
@given(quadratic_games())
def test_float32_agrees_with_float64_to_float32_precision(case):
    game, w, (A, B, C, eps) = case
    a64 = np.asarray(jg.jacobian(game, w))
    xi64 = np.asarray(_xi_flat(game, w))
    with float32_mode():  # a float32 user: float32 parameters and float32 data
        w32 = jax.tree.map(lambda x: jnp.asarray(np.asarray(x), jnp.float32), w)
        game = _quadratic_game(*(jnp.asarray(np.asarray(M), jnp.float32) for M in (A, B, C)), eps)
        a32 = jg.jacobian(game, w32)
        xi32 = _xi_flat(game, w32)
        assert a32.dtype == jnp.float32 and xi32.dtype == jnp.float32
    scale = max(np.max(np.abs(a64)), 1.0)
    assert np.max(np.abs(np.asarray(a32, np.float64) - a64)) <= 1e-5 * scale
    assert np.max(np.abs(np.asarray(xi32, np.float64) - xi64)) <= 1e-5 * max(np.max(np.abs(xi64)), 1.0)


@SETTINGS
@given(quadratic_games(), st.floats(0.05, 2.0))
def test_corrections_reduce_to_their_closed_forms(case, gamma):
    game, w, _ = case
    xi = np.asarray(_xi_flat(game, w))
    J = np.asarray(_jac_xi(game, w))
    m = len(np.ravel(w.phi))
    blocks = np.zeros_like(J)
    blocks[:m, m:], blocks[m:, :m] = J[:m, m:], J[m:, :m]
    antisym = (J - J.T) / 2
    expected = {
        "consensus": xi + gamma * J.T @ xi,  # xi + gamma grad |xi|^2 / 2
        "jare": xi + gamma * blocks.T @ xi,  # only the off-diagonal blocks of J^T xi
        "sga": xi + gamma * antisym.T @ xi,  # xi + lambda A^T xi, A = (J - J^T) / 2
    }
    transforms = {"consensus": jg.transforms.consensus(gamma), "jare": jg.transforms.jare(gamma), "sga": jg.transforms.sga(gamma, align=False)}
    for name, tx in transforms.items():
        got = -np.asarray(ravel_pytree(jg.corrected_field(game, tx)(w))[0])
        np.testing.assert_allclose(got, expected[name], rtol=1e-10, atol=1e-10, err_msg=name)
