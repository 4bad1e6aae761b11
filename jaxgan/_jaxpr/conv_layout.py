"""Convolutions in the one layout XLA's CPU kernels take, for products run inside loops.

XLA's CPU backend computes a convolution with its fast kernels (Eigen / YNNPACK) only in
the canonical layout: input ``(batch, spatial..., feature)``, kernel ``(spatial..., in,
out)``, output ``(batch, spatial..., feature)`` (``NHWC`` / ``HWIO`` in 2-D). Reverse mode
makes convolutions in other layouts: the kernel gradient of ``NHWC`` / ``HWIO`` is a
convolution of the input with the output cotangent, batch and feature swapped
(``f01b_i01o->01bf`` in XLA's labels). At the top level of a program XLA rewrites those into
the canonical form with transposes around them; inside a ``while`` body (``fori_loop``,
``scan``, ``while_loop``) jaxlib 0.10 leaves them to a naive loop. A Jacobian-vector product
of a GAN's simultaneous gradient is forward-over-reverse, so it holds such convolutions, and
every matrix-free spectrum runs its products inside a loop: on the million-parameter DCGAN
(``benchmarks/spectra.py --conv``, 2-core Xeon, float64) one product took 0.30 s alone and
1.25 s inside ``fori_loop``; 0.29 s in the loop after this rewrite (one kernel-gradient
convolution of the DCGAN discriminator: 0.010 s alone, 0.17 s in a loop, 0.008 s rewritten).

``canonical_convolutions(fn)`` traces ``fn`` to a jaxpr and evaluates it again with every
``conv_general_dilated`` in another layout replaced by the canonical convolution between
transposes (the same numbers: a transpose only relabels axes), inlining ``jit`` calls and
rewriting the bodies of loops and branches. Differentiating the result keeps the layout:
a convolution's JVP is convolutions with its own dimension numbers. Applied on the CPU
backend only (``jax.default_backend()`` at trace time); elsewhere ``fn`` runs as written.
"""

from __future__ import annotations

import functools
from typing import Callable

import jax
import jax.numpy as jnp
from jax import lax
from jax.extend import core

from .dependence import nested_equations

_INLINED = ("jit", "pjit", "closed_call", "core_call")


def _canonical_specs(nd: int):
    spatial = tuple(range(1, nd + 1))
    lhs = (0, nd + 1) + spatial  # (batch, feature, spatial...) of an NHWC-like array
    rhs = (nd + 1, nd) + tuple(range(nd))  # (out, in, spatial...) of an HWIO-like kernel
    return lhs, rhs


def _convolution(lhs, rhs, *, dimension_numbers, **params):
    """``conv_general_dilated`` computed in the canonical layout between transposes."""
    lhs_spec, rhs_spec, out_spec = (tuple(s) for s in dimension_numbers)
    nd = len(lhs_spec) - 2
    canon_lhs, canon_rhs = _canonical_specs(nd)
    if lhs_spec == canon_lhs and rhs_spec == canon_rhs and out_spec == canon_lhs:
        return lax.conv_general_dilated_p.bind(
            lhs, rhs, dimension_numbers=dimension_numbers, **params
        )
    lhs = jnp.transpose(lhs, (lhs_spec[0], *lhs_spec[2:], lhs_spec[1]))
    rhs = jnp.transpose(rhs, (*rhs_spec[2:], rhs_spec[1], rhs_spec[0]))
    numbers = lax.ConvDimensionNumbers(canon_lhs, canon_rhs, canon_lhs)
    out = lax.conv_general_dilated_p.bind(lhs, rhs, dimension_numbers=numbers, **params)
    # out is (batch, spatial..., feature); out_spec names where each role goes
    perm = [0] * (nd + 2)
    perm[out_spec[0]], perm[out_spec[1]] = 0, nd + 1
    for i, axis in enumerate(out_spec[2:]):
        perm[axis] = 1 + i
    return jnp.transpose(out, perm)


def _rewrite_closed(closed: core.ClosedJaxpr) -> core.ClosedJaxpr:
    """The same function as ``closed`` with its convolutions canonical (same in/out types)."""
    if not _has_convolution(closed.jaxpr):
        return closed  # nothing to rewrite: no second trace
    avals = [jax.ShapeDtypeStruct(v.aval.shape, v.aval.dtype) for v in closed.jaxpr.invars]
    new = jax.make_jaxpr(lambda *args: _evaluate(closed.jaxpr, closed.consts, args))(*avals)
    if new.consts and not closed.consts:
        return closed  # a body that would need constants it did not have: left as written
    return new


def _rewrite_param(value):
    """A parameter with every closed jaxpr in it rewritten: a jaxpr, or a tuple, list or named
    tuple holding some (``cond``'s branches, ``custom_linear_solve``'s four jaxprs)."""
    if isinstance(value, core.ClosedJaxpr):
        return _rewrite_closed(value)
    if isinstance(value, (tuple, list)) and any(isinstance(v, core.ClosedJaxpr) for v in value):
        items = [_rewrite_param(v) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    return value


def _evaluate(jaxpr, consts, args):
    env = {}

    def read(v):
        return v.val if isinstance(v, core.Literal) else env[v]

    for v, x in zip(jaxpr.constvars, consts):
        env[v] = x
    for v, x in zip(jaxpr.invars, args):
        env[v] = x
    for eqn in jaxpr.eqns:
        invals = [read(v) for v in eqn.invars]
        name = eqn.primitive.name
        with eqn.ctx.manager:
            if name == "conv_general_dilated":
                outs = [_convolution(*invals, **eqn.params)]
            elif name in _INLINED and isinstance(eqn.params.get("jaxpr"), core.ClosedJaxpr):
                sub = eqn.params["jaxpr"]
                outs = _evaluate(sub.jaxpr, sub.consts, invals)
            else:
                params = {
                    k: _rewrite_param(v)
                    for k, v in eqn.primitive.get_bind_params(eqn.params).items()
                }
                outs = eqn.primitive.bind(*invals, **params)
                if not eqn.primitive.multiple_results:
                    outs = [outs]
        for v, x in zip(eqn.outvars, outs):
            if not isinstance(v, core.DropVar):
                env[v] = x
    return [read(v) for v in jaxpr.outvars]


def _has_convolution(jaxpr) -> bool:
    return any(e.primitive.name == "conv_general_dilated" for e in nested_equations(jaxpr))


def canonical_convolutions(fn: Callable) -> Callable:
    """``fn`` with every convolution it computes (its derivatives included) in the layout of
    XLA's CPU convolution kernels; the same values. See the module docstring for why.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxgan._jaxpr.conv_layout import canonical_convolutions
      >>> x, k = jnp.ones((2, 5, 5, 3)), jnp.ones((3, 3, 3, 4))
      >>> conv = lambda k: jnp.sum(jax.lax.conv_general_dilated(x, k, (1, 1), "SAME",
      ...                          dimension_numbers=("NHWC", "HWIO", "NHWC")) ** 2)
      >>> g = jax.grad(conv)  # its kernel gradient is a convolution in another layout
      >>> bool(jnp.allclose(canonical_convolutions(g)(k), g(k)))
      True
    """

    @functools.wraps(fn)
    def wrapped(*args):
        if jax.default_backend() != "cpu":
            return fn(*args)
        closed, shape = jax.make_jaxpr(fn, return_shape=True)(*args)
        leaves = jax.tree.leaves(args)
        if _has_convolution(closed.jaxpr):
            outs = _evaluate(closed.jaxpr, closed.consts, leaves)
        else:  # the traced program as it is (no second trace of fn)
            outs = core.jaxpr_as_fun(closed)(*leaves)
        return jax.tree.unflatten(jax.tree.structure(shape), outs)

    return wrapped
