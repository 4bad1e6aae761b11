"""Bracketed one-dimensional searches that need no smoothness, and their nesting over a box.

The spectral radius of a step is not smooth at its minima (two eigenvalues of equal modulus, or
a double root, where it moves with the square root of a change in the hyperparameters), and a
worst case over a class of games may sit at a kink between two branches. A bracketing search
needs only that the function be unimodal on the bracket: each level evaluates a small grid on
its interval (one batched evaluation), takes the best point's neighbours as the bracket and
narrows it by golden sections. Several variables are searched by nesting: the value at a point
of the outer variables is the minimum over the inner ones (a profile), so a valley that is
curved in the box is followed exactly, whatever its shape. Everything traces: one program.
"""

from __future__ import annotations

from typing import Callable, Tuple

import jax
import jax.numpy as jnp

#: golden ratio conjugate: each section keeps this fraction of the bracket
_G = (5.0**0.5 - 1.0) / 2.0

#: points of the grid each level evaluates before its golden sections
POINTS = 9


def minimise_1d(f: Callable, lo, hi, iterations: int, points: int = POINTS) -> Tuple:
    """``(x, f(x), aux)``: the minimum of ``f`` on ``[lo, hi]``: the best of ``points`` grid
    points, then ``iterations`` golden sections of the bracket between its two neighbours (which
    shrink it by ``0.618**iterations``). ``f(x)`` returns ``(value, aux)``, ``aux`` an array
    carried with the best value (a nested search's inner argmin). Non-finite values count as
    ``+inf``.

    One loop with one call of ``f`` per pass (the grid's points, the bracket's two inner points,
    then one new point per section): nested searches hold one copy of ``f`` per level, so the
    program compiles in seconds whatever the nesting."""
    xs = jnp.linspace(lo, hi, points)
    aux0 = jax.eval_shape(lambda: f(xs[0])[1])

    def one_pass(k, s):
        fs, auxs, a, b, c, d, fc, fd, ac, ad = s
        grid, first, second, section = k < points, k == points, k == points + 1, k > points + 1
        i = jnp.argmin(fs)
        a0, b0 = xs[jnp.maximum(i - 1, 0)], xs[jnp.minimum(i + 1, points - 1)]
        left = fc < fd
        a_s, b_s = jnp.where(left, a, c), jnp.where(left, d, b)
        new = jnp.where(left, b_s - _G * (b_s - a_s), a_s + _G * (b_s - a_s))
        x = jnp.where(
            grid,
            xs[jnp.minimum(k, points - 1)],
            jnp.where(first, b0 - _G * (b0 - a0), jnp.where(second, d, new)),
        )
        v, aux = f(x)
        v = jnp.where(jnp.isnan(v), jnp.inf, v)
        here = grid & (jnp.arange(points) == k)
        return (
            jnp.where(here, v, fs),
            jnp.where(here[:, None], aux[None, :], auxs),
            jnp.where(first, a0, jnp.where(section, a_s, a)),
            jnp.where(first, b0, jnp.where(section, b_s, b)),
            jnp.where(first, x, jnp.where(section, jnp.where(left, new, d), c)),
            jnp.where(first, a0 + _G * (b0 - a0), jnp.where(section, jnp.where(left, c, new), d)),
            jnp.where(first, v, jnp.where(section, jnp.where(left, v, fd), fc)),
            jnp.where(second, v, jnp.where(section, jnp.where(left, fc, v), fd)),
            jnp.where(first, aux, jnp.where(section, jnp.where(left, aux, ad), ac)),
            jnp.where(second, aux, jnp.where(section, jnp.where(left, ac, aux), ad)),
        )

    z = jnp.zeros((), xs.dtype)
    za = jnp.zeros(aux0.shape, aux0.dtype)
    init = (
        jnp.full((points,), jnp.inf, xs.dtype),
        jnp.zeros((points,) + aux0.shape, aux0.dtype),
        z,
        z,
        z,
        z,
        z + jnp.inf,
        z + jnp.inf,
        za,
        za,
    )
    fs, auxs, _, _, c, d, fc, fd, ac, ad = jax.lax.fori_loop(
        0, points + 2 + iterations, one_pass, init
    )
    x, fx, ax = jnp.where(fc <= fd, c, d), jnp.minimum(fc, fd), jnp.where(fc <= fd, ac, ad)
    i = jnp.argmin(fs)
    keep = fs[i] <= fx
    return jnp.where(keep, xs[i], x), jnp.where(keep, fs[i], fx), jnp.where(keep, auxs[i], ax)


def minimise_box(f: Callable, lo: jax.Array, hi: jax.Array, iterations: int) -> Tuple:
    """``(x, f(x))``: the minimum of ``f`` (a function of a vector) over the box ``[lo, hi]`` by
    nested ``minimise_1d``: a value of the outer variable is the minimum over the inner ones,
    whose argmin rides along, so one pass gives the point."""
    d = lo.shape[0]

    def level(prefix, k):
        if k == d - 1:

            def g(z):
                x = jnp.append(prefix, z)
                return f(x), x

        else:

            def g(z):
                _, v, x = level(jnp.append(prefix, z), k + 1)
                return v, x

        return minimise_1d(g, lo[k], hi[k], iterations)

    _, v, x = level(jnp.zeros((0,), lo.dtype), 0)
    return x, v


def maximise_1d(f: Callable, lo, hi, iterations: int, points: int) -> Tuple:
    """``(x, f(x))``: the maximum of ``f`` on ``[lo, hi]`` (``minimise_1d`` of ``-f``), where a
    non-finite value of ``f`` is the maximum (a divergent member is the worst case)."""

    def neg(x):
        v = f(x)
        return jnp.where(jnp.isfinite(v), -v, -jnp.inf), jnp.zeros((0,), x.dtype)

    x, v, _ = minimise_1d(neg, lo, hi, iterations, points)
    return x, -v
