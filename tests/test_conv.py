"""jaxgan.games._conv: the DCGAN-style convolutional game (shapes, parameter counts, top-k spectrum)."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

import jaxgan as jg

TINY_DCGAN = dict(size=None, latent_dim=2, g_channels=4, d_channels=2)


@functools.lru_cache(maxsize=None)
def _tiny_dcgan(n=24):
    """One game object for the file (its compiled programs and the modules' init are shared);
    every parameter perturbed by 0.2 N(0, 1), drawn in NumPy (no eager op per leaf shape)."""
    images, _ = jg.datasets.digits(dtype=np.float64)
    ng = jg.games.dcgan(jnp.asarray(images[:n]), key=jax.random.PRNGKey(0), **TINY_DCGAN)
    leaves, tree = jax.tree.flatten(ng.params)
    rng = np.random.default_rng(5)
    w = jax.tree.unflatten(tree, [jnp.asarray(np.asarray(x) + 0.2 * rng.standard_normal(x.shape)) for x in leaves])
    return ng, w


def test_dcgan_shapes_parameter_counts_and_dtype():
    images, _ = jg.datasets.digits(dtype=np.float64)
    for size, expected in (("small", 5042), ("million", 1013122)):
        ng = jax.eval_shape(lambda: jg.games.dcgan(jnp.asarray(images[:4]), key=jax.random.PRNGKey(0), size=size).params)
        assert sum(int(np.prod(x.shape)) for x in jax.tree.leaves(ng)) == expected
    ng, w = _tiny_dcgan()
    # G: dense 2 -> 4*4*4, convT 4 -> 2 (3x3), conv 2 -> 1; D: conv 1 -> 2, conv 2 -> 4 (stride 2), dense 64 -> 1
    assert ng.num_parameters == (2 * 64 + 64) + (9 * 4 * 2 + 2) + (9 * 2 + 1) + (9 * 2 + 2) + (9 * 2 * 4 + 4) + (64 + 1)
    assert {x.dtype for x in jax.tree.leaves(ng.params)} == {jnp.dtype(jnp.float64)}
    # one compiled program for the samples and the field (not one eager op per layer)
    x, xi = jax.jit(lambda w: (ng.generate(w.phi, ng.latents), ravel_pytree(jg.simultaneous_gradient(ng.game)(w))[0]))(w)
    x, xi = np.asarray(x), np.asarray(xi)
    assert x.shape == (24, 64) and x.dtype == np.float64 and np.max(np.abs(x)) <= 1.0
    assert xi.shape == (ng.num_parameters,) and np.all(np.isfinite(xi))


def test_dcgan_top_k_matches_dense_eig():
    # matrix-free top-k of the convolutional game's Jacobian (joint, one player's block) against eig of the assembled matrix, to 1e-8 in float64
    ng, w = _tiny_dcgan()
    J = np.asarray(jg.jacobian(ng.game, w))
    dense = np.linalg.eigvals(J)
    n_phi = sum(int(np.size(x)) for x in jax.tree.leaves(w.phi))
    block = np.linalg.eigvals(J[:n_phi, :n_phi])
    for which, ref, kwargs in (("LR", dense, {}), ("SR", block, {"block": "phi"})):  # corrected fields: test_top_eigenvalues
        out = jg.top_eigenvalues(ng.game, w, 4, which=which, **kwargs)
        assert bool(out.converged)
        key = {"LR": lambda z: -z.real, "SR": lambda z: z.real, "LM": lambda z: -abs(z)}[which]
        best = sorted(ref, key=key)[:4]
        scale = np.abs(ref).max()
        for lam in np.asarray(out.eigenvalues):
            assert np.min(np.abs(np.asarray(best) - lam)) <= 1e-8 * scale, (which, lam, best)
        assert np.all(np.asarray(out.residuals) <= 1e-9 * scale)


def test_dcgan_bad_input():
    with pytest.raises(ValueError, match="dcgan: `image_shape`"):
        jg.games.dcgan(jnp.zeros((4, 64)), key=jax.random.PRNGKey(0), image_shape=(4, 4, 1))
    with pytest.raises(ValueError, match="dcgan: images must be square"):
        jg.games.dcgan(jnp.zeros((4, 36)), key=jax.random.PRNGKey(0), image_shape=(6, 6, 1))
    with pytest.raises(ValueError, match="dcgan: `size`"):
        jg.games.dcgan(jnp.zeros((4, 64)), key=jax.random.PRNGKey(0), size="huge")
    with pytest.raises(ValueError, match=r"dcgan: with size=None give \['g_channels', 'd_channels'\]"):
        jg.games.dcgan(jnp.zeros((4, 64)), key=jax.random.PRNGKey(0), size=None, latent_dim=3)
