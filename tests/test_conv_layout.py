"""canonical_convolutions: the same numbers, every convolution in XLA's CPU kernel layout."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgan as jg
from jaxgan._jaxpr.conv_layout import canonical_convolutions

CANONICAL_2D = "[b, 0, 1, f]x[0, 1, i, o]->[b, 0, 1, f]"
DIMS = re.compile(r"dim_numbers = (\[[^\]]*\]x\[[^\]]*\]->\[[^\]]*\])")


def _layouts(fn, *args):
    """The dimension numbers of every convolution in ``jit(fn)``'s StableHLO (loop bodies included)."""
    return DIMS.findall(jax.jit(fn).lower(*args).as_text())


def _net(dims, strides=(2, 2), dilation=(1, 1), groups=1):
    rng = np.random.default_rng(0)
    cin, cout = 4, 6
    x = jnp.asarray(rng.normal(size=(3, 7, 7, cin) if dims[0] == "NHWC" else (3, cin, 7, 7)))
    kshape = {"HWIO": (3, 3, cin // groups, cout), "OIHW": (cout, cin // groups, 3, 3)}[dims[1]]
    k = jnp.asarray(rng.normal(size=kshape))

    def loss(k, x):
        y = jax.lax.conv_general_dilated(x, k, strides, "SAME", rhs_dilation=dilation, dimension_numbers=dims,
                                         feature_group_count=groups)
        return jnp.sum(jnp.tanh(y) ** 2)

    return loss, k, x


CASES = [
    (("NHWC", "HWIO", "NHWC"), (1, 1), (1, 1), 1),
    (("NHWC", "HWIO", "NHWC"), (2, 2), (1, 1), 1),
    (("NCHW", "OIHW", "NCHW"), (2, 1), (1, 1), 1),
    (("NHWC", "HWIO", "NHWC"), (1, 1), (2, 2), 1),
    (("NHWC", "HWIO", "NHWC"), (1, 1), (1, 1), 2),  # grouped: its kernel gradient has batch groups
]


@pytest.mark.parametrize("dims, strides, dilation, groups", CASES)
def test_forward_over_reverse_same_values_canonical_layout(dims, strides, dilation, groups):
    loss, k, x = _net(dims, strides, dilation, groups)
    grad = jax.grad(loss)
    v = jnp.cos(jnp.arange(k.size, dtype=k.dtype)).reshape(k.shape)

    def hvp(k, v, x):
        return jax.jvp(lambda kk: grad(kk, x), (k,), (v,))[1]

    want = hvp(k, v, x)
    got = jax.jit(canonical_convolutions(hvp))(k, v, x)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert set(_layouts(canonical_convolutions(hvp), k, v, x)) == {CANONICAL_2D}
    if dims[0] == "NHWC" and groups == 1:
        # the premise: reverse mode alone makes another layout (the kernel gradient)
        assert set(_layouts(hvp, k, v, x)) != {CANONICAL_2D}


def test_loop_bodies_and_branches_are_rewritten():
    loss, k, x = _net(("NHWC", "HWIO", "NHWC"))
    grad = jax.grad(loss)

    def run(k):
        def body(i, kk):
            return jax.lax.cond(i % 2 == 0, lambda a: a - 1e-2 * grad(a, x), lambda a: a + 1e-3 * grad(a, x), kk)

        k = jax.lax.fori_loop(0, 3, body, k)
        k, _ = jax.lax.scan(lambda a, _: (a - 1e-2 * grad(a, x), None), k, None, length=2)
        return k

    np.testing.assert_allclose(jax.jit(canonical_convolutions(run))(k), run(k), rtol=1e-12, atol=1e-12)
    layouts = _layouts(canonical_convolutions(run), k)
    assert layouts and set(layouts) == {CANONICAL_2D}
    assert set(_layouts(run, k)) != {CANONICAL_2D}


def test_transformations_pass_through():
    loss, k, x = _net(("NHWC", "HWIO", "NHWC"))
    f = canonical_convolutions(jax.grad(loss))
    ks = jnp.stack([k, 2 * k])
    np.testing.assert_allclose(jax.vmap(f, (0, None))(ks, x), jax.vmap(jax.grad(loss), (0, None))(ks, x), rtol=1e-12)
    v = jnp.ones_like(k)
    np.testing.assert_allclose(jax.jvp(lambda a: f(a, x), (k,), (v,))[1],
                               jax.jvp(lambda a: jax.grad(loss)(a, x), (k,), (v,))[1], rtol=1e-11, atol=1e-12)
    # a pytree in, a pytree out; no convolution: the function as written
    g = canonical_convolutions(lambda d: {"s": d["a"] * 2.0, "t": (d["b"],)})
    out = g({"a": jnp.ones(2), "b": jnp.zeros(3)})
    assert out["s"].tolist() == [2.0, 2.0] and out["t"][0].shape == (3,)


def test_dcgan_products_in_spectra_are_canonical():
    """The Arnoldi program of a DCGAN game holds only canonical convolutions."""
    images, _ = jg.datasets.digits(dtype=np.float64)
    ng = jg.games.dcgan(jnp.asarray(images[:8]), key=jax.random.PRNGKey(0), size="small", num_latents=8)
    from jaxgan._analysis.arnoldi import field_top_eigenvalues

    layouts = _layouts(lambda w: field_top_eigenvalues(ng.game, w, 2, which="LR", krylov_size=8, max_restarts=1).eigenvalues,
                       ng.params)
    assert layouts and set(layouts) == {CANONICAL_2D}


def test_linear_solves_inside_are_rewritten():
    """``custom_linear_solve`` holds its jaxprs in a named tuple: they are rewritten too (a Schur
    complement product solves with CG on the discriminator's Hessian)."""
    from jaxgan._analysis.solve import linear_solve

    loss, k, x = _net(("NHWC", "HWIO", "NHWC"))
    grad = jax.grad(loss)

    def hvp(v):
        return jax.jvp(lambda a: grad(a, x), (k,), (v,))[1] + 50.0 * v  # shifted: positive definite

    def solve(b):
        return linear_solve(hvp, b, tol=1e-12, maxiter=200)[0]

    b = jnp.sin(jnp.arange(k.size, dtype=k.dtype)).reshape(k.shape)
    np.testing.assert_allclose(jax.jit(canonical_convolutions(solve))(b), jax.jit(solve)(b), rtol=1e-10, atol=1e-12)
    layouts = _layouts(canonical_convolutions(solve), b)
    assert layouts and set(layouts) == {CANONICAL_2D}
    # and through a real-arithmetic Arnoldi on the solve: the map is still seen to map reals
    from jaxgan._analysis.arnoldi import _maps_reals

    assert _maps_reals(canonical_convolutions(lambda v: solve(v.reshape(k.shape)).ravel()), jnp.ones(k.size))
