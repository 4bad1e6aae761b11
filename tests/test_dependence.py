"""The one jaxpr walker (``jaxgan._jaxpr.dependence``) on its own: forward dependence, its
transpose, forwarded inputs, precise through calls and conservative through loops and branches,
on the jaxprs the installed JAX makes (CI runs the oldest supported versions too)."""

import jax
import jax.numpy as jnp

from jaxgan._jaxpr.dependence import call_body, depends, forwarded, reads


def _jaxpr(fn, *args):
    return jax.make_jaxpr(fn)(*args).jaxpr


def test_depends_and_reads_are_transposes_of_each_other():
    def fn(x, y, z):
        inner = jax.jit(lambda a, b: (a * 2.0, b + 1.0))(x, y)  # precise through the call
        return inner[0], jnp.sin(inner[1]) * z, jax.lax.stop_gradient(z) + 0.0

    jaxpr = _jaxpr(fn, 1.0, 2.0, 3.0)
    table = [depends(jaxpr, [i == k for k in range(3)]) for i in range(3)]  # table[input][output]
    assert table == [[True, False, False], [False, True, False], [False, True, True]]
    for out in range(3):
        assert reads(jaxpr, [o == out for o in range(3)]) == [table[i][out] for i in range(3)]


def test_loops_are_conservative():
    """A scan's body maps its carries one to one, but iterating it mixes them: after the swap
    ``(a, b) -> (b, a)`` twice, each output depends on the other input's first value too."""
    def fn(x, y):
        swapped = jax.lax.fori_loop(0, 2, lambda i, c: (c[1], c[0]), (x * 1.0, y * 1.0))
        grown = jax.lax.fori_loop(0, 3, lambda i, c: (c[0] * 2.0, c[1] + 1.0), (x, y))
        return swapped[0], grown[1]

    jaxpr = _jaxpr(fn, 1.0, 2.0)
    assert depends(jaxpr, [True, False]) == [True, True]
    assert reads(jaxpr, [True, False]) == [True, True] and reads(jaxpr, [False, True]) == [True, True]
    assert forwarded(jaxpr) == [None, None]


def test_forwarded_through_conversions_and_calls_not_through_arithmetic():
    def fn(x, y, n):
        return y, x.astype(jnp.float32), jax.jit(lambda a: a)(x), x + 0.0, n + 1

    jaxpr = _jaxpr(fn, jnp.float32(1.0), 2.0, 3)
    assert forwarded(jaxpr) == [1, 0, 0, None, None]


def test_call_body_is_only_for_one_to_one_calls():
    jaxpr = _jaxpr(lambda x: jax.jit(jnp.sin)(x) + jax.lax.fori_loop(0, 2, lambda i, c: c, x), 1.0)
    kinds = {eqn.primitive.name: call_body(eqn) is not None for eqn in jaxpr.eqns}
    assert kinds["pjit" if "pjit" in kinds else "jit"]
    assert not any(kinds.get(loop, False) for loop in ("scan", "while"))
