"""_eig: eigendecompositions on every backend (LAPACK where the backend has it, the host otherwise)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxgan as jg


@pytest.fixture
def eigless_backend(monkeypatch):
    """Declare the backend eig-less, as a TPU is: every dense spectrum takes the host path."""
    from jaxgan._analysis import eig as _eig
    monkeypatch.setattr(_eig, "_platform", lambda: "tpu")
    calls = []
    host = _eig.host_eig

    def counted(a, *, vectors):
        calls.append(vectors)
        return host(a, vectors=vectors)

    monkeypatch.setattr(_eig, "host_eig", counted)
    return calls


def test_host_eig_matches_lapack_under_jit_and_vmap(eigless_backend):
    from jaxgan._analysis import eig as _eig
    a = jnp.asarray(np.random.default_rng(0).normal(size=(3, 6, 6)))
    ref = np.sort_complex(np.linalg.eigvals(np.asarray(a)))
    got = jax.jit(jax.vmap(_eig.eigvals))(a)
    assert got.dtype == jnp.complex128 and eigless_backend == [False]
    np.testing.assert_allclose(np.sort_complex(np.asarray(got)), ref, rtol=1e-12, atol=1e-12)
    lam, vecs = jax.jit(_eig.eig)(a[0])
    np.testing.assert_allclose(np.asarray(a[0] @ vecs), np.asarray(vecs * lam[None, :]), atol=1e-10)
    assert _eig.eigvals(a[0].astype(jnp.float32)).dtype == jnp.complex64


def test_every_dense_spectrum_runs_on_an_eigless_backend(eigless_backend):
    game = jg.games.dirac("wgan")
    np.testing.assert_allclose(np.asarray(jg.eigenvalues(game, game.equilibrium)), [-1j, 1j], atol=1e-12)
    s = jg.spectrum(game, game.equilibrium)
    np.testing.assert_allclose(np.asarray(s.eigenvalues).imag, [-1.0, 1.0], atol=1e-12)
    rho = jg.spectral_radius(game, optax.sgd(0.1), game.equilibrium)
    np.testing.assert_allclose(float(rho), np.sqrt(1.01), rtol=1e-12)
    rng = np.random.default_rng(3)
    a, b = jnp.asarray(rng.normal(size=(5, 5))), jnp.asarray(rng.normal(size=(5, 4)))
    big = jg.zero_sum(lambda x, y: 0.5 * x @ ((a + a.T) @ x) + x @ (b @ y) + jnp.sum(jnp.sin(x)) * jnp.sum(y**2))
    w = jg.Joint(jnp.asarray(rng.normal(size=5)), jnp.asarray(rng.normal(size=4)))
    top = jg.top_eigenvalues(big, w, 2, which="LM", tol=1e-10)
    dense = np.asarray(jg.eigenvalues(big, w))
    np.testing.assert_allclose(np.sort(np.abs(np.asarray(top.eigenvalues))), np.sort(np.abs(dense))[-2:], rtol=1e-8)
    assert True in eigless_backend and False in eigless_backend
