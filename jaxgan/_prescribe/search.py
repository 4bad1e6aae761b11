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
    """``(x, f(x))``: the minimum of ``f`` on ``[lo, hi]``: the best of ``points`` grid points,
    then ``iterations`` golden sections of the bracket between its two neighbours (which
    shrink it by ``0.618**iterations``). Non-finite values count as ``+inf``.

    One loop with one call of ``f`` per pass (the grid's points, the bracket's two inner points,
    then one new point per section): nested searches hold one copy of ``f`` per level, so the
    program compiles in seconds whatever the nesting."""
    xs = jnp.linspace(lo, hi, points)

    def bracket(fs):
        i = jnp.argmin(fs)
        a, b = xs[jnp.maximum(i - 1, 0)], xs[jnp.minimum(i + 1, points - 1)]
        return a, b

    def one_pass(k, s):
        fs, a, b, c, d, fc, fd = s
        grid, first, second, section = k < points, k == points, k == points + 1, k > points + 1
        a0, b0 = bracket(fs)
        left = fc < fd
        a_s, b_s = jnp.where(left, a, c), jnp.where(left, d, b)
        new = jnp.where(left, b_s - _G * (b_s - a_s), a_s + _G * (b_s - a_s))
        x = jnp.where(
            grid,
            xs[jnp.minimum(k, points - 1)],
            jnp.where(first, b0 - _G * (b0 - a0), jnp.where(second, d, new)),
        )
        v = f(x)
        v = jnp.where(jnp.isnan(v), jnp.inf, v)
        fs = jnp.where(grid & (jnp.arange(points) == k), v, fs)
        return (
            fs,
            jnp.where(first, a0, jnp.where(section, a_s, a)),
            jnp.where(first, b0, jnp.where(section, b_s, b)),
            jnp.where(first, x, jnp.where(section, jnp.where(left, new, d), c)),
            jnp.where(first, a0 + _G * (b0 - a0), jnp.where(section, jnp.where(left, c, new), d)),
            jnp.where(first, v, jnp.where(section, jnp.where(left, v, fd), fc)),
            jnp.where(second, v, jnp.where(section, jnp.where(left, fc, v), fd)),
        )

    z = jnp.zeros((), xs.dtype)
    init = (jnp.full((points,), jnp.inf, xs.dtype), z, z, z, z, z + jnp.inf, z + jnp.inf)
    fs, _, _, c, d, fc, fd = jax.lax.fori_loop(0, points + 2 + iterations, one_pass, init)
    x, fx = jnp.where(fc <= fd, c, d), jnp.minimum(fc, fd)
    i = jnp.argmin(fs)
    keep = fs[i] <= fx
    return jnp.where(keep, xs[i], x), jnp.where(keep, fs[i], fx)


def minimise_box(f: Callable, lo: jax.Array, hi: jax.Array, iterations: int) -> Tuple:
    """``(x, f(x))``: the minimum of ``f`` (a function of a vector) over the box ``[lo, hi]`` by
    nested ``minimise_1d``: the outer variable's value is the minimum over the inner ones."""
    d = lo.shape[0]

    def profile(prefix, level):
        if level == d - 1:
            return minimise_1d(lambda z: f(jnp.append(prefix, z)), lo[level], hi[level], iterations)
        return minimise_1d(
            lambda z: profile(jnp.append(prefix, z), level + 1)[1], lo[level], hi[level], iterations
        )

    x = jnp.zeros((0,), lo.dtype)
    for level in range(d):
        z, _ = profile(x, level)
        x = jnp.append(x, z)
    return x, f(x)


def maximise_1d(f: Callable, lo, hi, iterations: int, points: int) -> Tuple:
    """``(x, f(x))``: the maximum of ``f`` on ``[lo, hi]`` (``minimise_1d`` of ``-f``), where a
    non-finite value of ``f`` is the maximum (a divergent member is the worst case)."""

    def neg(x):
        v = f(x)
        return jnp.where(jnp.isfinite(v), -v, -jnp.inf)

    x, v = minimise_1d(neg, lo, hi, iterations, points)
    return x, -v
