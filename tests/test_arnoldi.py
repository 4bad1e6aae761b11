"""Matrix-free top-k spectra (restarted Arnoldi on JVPs) against dense eig."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgan as jg


def _match(dense, got, which, k):
    """Largest relative error of (a) each returned value against the nearest true eigenvalue
    and (b) the target's keys (|lambda| or Re lambda) against the true top k (a conjugate
    pair ties in Re, so either member may come first)."""
    dense, got = np.asarray(dense), np.asarray(got)
    keyf = {"LM": lambda z: -np.abs(z), "LR": lambda z: -z.real, "SR": lambda z: z.real}[which]
    ref = dense[np.argsort(keyf(dense), kind="stable")][:k]
    scale = np.max(np.abs(dense))
    found = max(np.min(np.abs(dense - z)) / max(np.abs(z), 1e-3 * scale) for z in got)
    keys = np.max(np.abs(np.sort(keyf(got)) - np.sort(keyf(ref)))) / scale
    return max(found, keys), ref


@functools.lru_cache(maxsize=None)
def _quadratic_game(n, seed):
    """One game object per ``(n, seed)`` for the file: the tests that share it share its compiled programs."""
    rng = np.random.default_rng(seed)
    A, B, C = (jnp.asarray(rng.normal(size=(n, n)) / np.sqrt(n)) for _ in range(3))
    # strong coupling B: complex pairs; the tanh/sin term makes the field nonlinear
    f = lambda x, y: 0.5 * x @ (A @ x) + 3.0 * x @ (B @ y) - 0.5 * y @ (C @ y) + 0.2 * jnp.sum(jnp.tanh(x)) * jnp.sum(jnp.sin(y))  # noqa: E731
    w = jg.Joint(jnp.asarray(rng.normal(size=n)), jnp.asarray(rng.normal(size=n)))
    return jg.zero_sum(f), w


def _mlp_gan(width, seed=0):
    """A 2-D MLP GAN (tanh, two hidden layers) on 64 fixed samples: about 2 width^2 + 14 width parameters."""
    ks = jax.random.split(jax.random.PRNGKey(seed), 3)
    data = jax.random.normal(ks[0], (64, 2)) + 1.0
    ng = jg.games.mlp_gan(data, key=ks[1], hidden=(width, width))
    # every parameter perturbed by 0.1 N(0, 1): away from the zero-bias start (drawn in NumPy:
    # no eager program per leaf shape)
    rng = np.random.default_rng(seed)
    phi, theta = (jax.tree.map(lambda x: jnp.asarray(np.asarray(x) + 0.1 * rng.standard_normal(x.shape)), p) for p in ng.params)
    return ng.game, jg.Joint(phi, theta)


@pytest.mark.parametrize("which", ["LM", "LR", "SR"])
def test_top_k_matches_dense_with_complex_pairs(which):
    game, w = _quadratic_game(150, 0)  # one game for the three targets: one dense program
    dense = np.asarray(jg.eigenvalues(game, w))
    assert np.sum(np.abs(dense.imag) > 1e-3) > 100  # mostly complex pairs
    out = jax.jit(lambda w: jg.top_eigenvalues(game, w, 8, which=which))(w)
    err, ref = _match(dense, out.eigenvalues, which, 8)
    assert bool(out.converged) and err < 1e-8, (err, ref, out.eigenvalues)
    assert np.any(np.abs(np.asarray(out.eigenvalues).imag) > 1e-3)
    assert np.all(np.asarray(out.residuals) <= 1e-9 * np.max(np.abs(dense)))


def test_top_k_on_an_mlp_gan_of_a_thousand_parameters():
    # (1k, 5k and 20k parameters: benchmarks/spectra.py)
    game, w = _mlp_gan(20)
    n = sum(x.size for x in jax.tree.leaves(w))
    assert 1000 < n < 1200
    dense = np.asarray(jg.eigenvalues(game, w))
    out = jg.top_eigenvalues(game, w, 6, which="LR")
    err, _ = _match(dense, out.eigenvalues, "LR", 6)
    assert bool(out.converged) and err < 1e-6, err


def test_top_k_vmaps_over_checkpoints_and_player_blocks():
    game, w = _quadratic_game(40, 1)
    points = [w, jax.tree.map(lambda x: 0.5 * x, w), jax.tree.map(lambda x: -x, w)]
    ws = jax.tree.map(lambda *xs: jnp.stack(xs), *points)
    batched = jax.vmap(lambda w: jg.top_eigenvalues(game, w, 4, which="LR").eigenvalues)(ws)
    for i, wi in enumerate(points):
        # the dense spectrum by NumPy of the dense Jacobian (the program used for the blocks below)
        dense = np.linalg.eigvals(np.asarray(jg.jacobian(game, wi)))
        err, _ = _match(dense, batched[i], "LR", 4)
        assert err < 1e-8
    a = jg.jacobian(game, w)
    blocks = jg.jacobian_blocks(a, w)
    for block, mat in (("phi", blocks.phi_phi), ("theta", blocks.theta_theta)):
        out = jg.top_eigenvalues(game, w, 3, which="LM", block=block)
        err, _ = _match(np.linalg.eigvals(np.asarray(mat)), out.eigenvalues, "LM", 3)
        assert err < 1e-8, block


def test_top_k_of_the_corrected_field_and_float32():
    game, w = _quadratic_game(30, 2)
    dense = np.asarray(jg.eigenvalues(game, w, transform=jg.transforms.consensus(0.3)))
    out = jg.top_eigenvalues(game, w, 4, which="LR", transform=jg.transforms.consensus(0.3))
    assert _match(dense, out.eigenvalues, "LR", 4)[0] < 1e-8
    w32 = jax.tree.map(lambda x: x.astype(jnp.float32), w)
    out32 = jg.top_eigenvalues(game, w32, 4, which="LM")
    assert out32.eigenvalues.dtype == jnp.complex64
    assert _match(np.asarray(jg.eigenvalues(game, w)), out32.eigenvalues, "LM", 4)[0] < 1e-4


def test_top_k_bad_input():
    game, w = _quadratic_game(5, 3)
    with pytest.raises(ValueError, match="`k` must be an int in"):
        jg.top_eigenvalues(game, w, 10)
    with pytest.raises(ValueError, match="`which` must be one of"):
        jg.top_eigenvalues(game, w, 2, which="largest")
    with pytest.raises(ValueError, match="`block` must be"):
        jg.top_eigenvalues(game, w, 2, block="generator")
    with pytest.raises(ValueError, match="krylov_size"):
        jg.top_eigenvalues(game, w, 2, krylov_size=2)


@pytest.mark.parametrize("k, m", [(3, 9), (4, 10), (5, 12)])
def test_real_arithmetic_keeps_conjugate_pairs_whole_across_restarts(k, m):
    # a real matrix made of rotation blocks (complex pairs) and real eigenvalues; a small Krylov
    # space forces many restarts, and odd and even k put the cut inside a pair
    rng = np.random.default_rng(k)
    blocks = []
    for i in range(12):
        r, a = 1.0 + 0.3 * i, 0.5 + 0.2 * i
        blocks.append(np.array([[r, -a], [a, r]]) if i % 2 == 0 else np.diag([r + 0.05, -r]))
    D = np.zeros((24, 24))
    for i, b in enumerate(blocks):
        D[2 * i:2 * i + 2, 2 * i:2 * i + 2] = b
    P = rng.normal(size=(24, 24))
    A = P @ D @ np.linalg.inv(P)
    dense = np.linalg.eigvals(A)
    seen = []

    def matvec(x):
        seen.append(x.dtype)
        return jnp.asarray(A, x.dtype) @ x

    # under jit: one compiled program (eagerly, each loop and each operation between them compiles)
    v0 = jnp.ones(24)
    out = jax.jit(lambda: jg.operator_top_eigenvalues(matvec, v0, k, which="LR", krylov_size=m, max_restarts=2000))()
    assert bool(out.converged) and int(out.restarts) > 3
    assert all(not jnp.issubdtype(d, jnp.complexfloating) for d in seen)  # real products only
    want = dense[np.argsort(-dense.real)][:k]
    got = np.asarray(out.eigenvalues)
    # the k-th value may be either member of a pair: compare real parts and |imag|
    np.testing.assert_allclose(got.real, want.real, rtol=1e-8)
    np.testing.assert_allclose(np.abs(got.imag), np.abs(want.imag), rtol=1e-8, atol=1e-9)
    v0c = jnp.ones(24, jnp.complex128)
    complex_start = jax.jit(lambda: jg.operator_top_eigenvalues(lambda x: jnp.asarray(A, x.dtype) @ x, v0c, k,
                                                           which="LR", krylov_size=m, max_restarts=2000))()
    np.testing.assert_allclose(np.sort(np.asarray(complex_start.eigenvalues).real), np.sort(got.real), rtol=1e-8)


def test_a_start_vector_closed_over_inside_a_users_jit_is_checked_not_crashed():
    """The start vector's concrete checks read it with NumPy: inside a user's ``jit`` a
    closed-over ``v0`` is still concrete, and a jnp check of it would be a traced boolean (an
    internal ``TracerBoolConversionError``)."""
    a = jnp.diag(jnp.arange(1.0, 9.0))
    v0 = jnp.ones(8)
    top = jax.jit(lambda m: jg.operator_top_eigenvalues(lambda v: m @ v, v0, 1).eigenvalues)(a)
    assert abs(complex(top[0]) - 8.0) < 1e-8
    zero = jnp.zeros(8)
    with pytest.raises(ValueError, match="`v0` is the zero vector"):
        jax.jit(lambda m: jg.operator_top_eigenvalues(lambda v: m @ v, zero, 1).eigenvalues)(a)
