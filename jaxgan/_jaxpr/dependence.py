"""Which outputs of a jaxpr depend on which inputs, and which outputs hand an input on unchanged.

The one walker behind every structural answer of the library: the step map's dynamic state,
constants and counters (``_analysis.step_map``), the differentiability check of a game's losses
(``_validation.checks``) and the buffers of module players (``_core.partition``). Its interface is
five functions on a ``jax.extend.core.Jaxpr`` (what ``jax.make_jaxpr(f)(...).jaxpr`` gives):

* ``depends(jaxpr, sources)``: for each output, whether it is computed from an input flagged in
  ``sources`` (forward);
* ``reads(jaxpr, used)``: for each input, whether an output flagged in ``used`` is computed from
  it (backward: the transpose of ``depends``);
* ``forwarded(jaxpr)``: for each output, the index of the input it is, unchanged in value, or
  ``None``;
* ``call_body(eqn)``: the body of a call-like equation (``jit``, ``custom_jvp_call``, ...) whose
  inputs and outputs match the equation's one to one, else ``None``;
* ``nested_equations(jaxpr)``: every equation, those of the sub-jaxprs of loops, branches and
  calls included (the convolution rewrite's search, the sweep's measure of a step's size).

All are structural (shapes only, nothing runs) and precise through call-like equations; through
loops and branches they are conservative: every output of the equation depends on every input,
so a leaf is never taken for a constant, a buffer or a forwarded value by mistake.
"""

from __future__ import annotations

from typing import List, Optional, Sequence


def nested_equations(jaxpr):
    """Every equation of ``jaxpr``, then those of its sub-jaxprs (loops, branches, calls).

    Examples:
      >>> import jax
      >>> from jaxgan._jaxpr.dependence import nested_equations
      >>> jaxpr = jax.make_jaxpr(lambda x: jax.jit(lambda y: y * 2.0)(x) + 1.0)(1.0).jaxpr
      >>> sorted(e.primitive.name for e in nested_equations(jaxpr))
      ['add', 'jit', 'mul']
    """
    for eqn in jaxpr.eqns:
        yield eqn
        for value in eqn.params.values():
            for sub in value if isinstance(value, (tuple, list)) else (value,):
                inner = getattr(sub, "jaxpr", sub)  # a ClosedJaxpr's jaxpr, or a Jaxpr
                if hasattr(inner, "eqns"):
                    yield from nested_equations(inner)


#: primitives that hand their one operand on unchanged in value
PASS_THROUGH = ("convert_element_type", "copy", "copy_p")


def is_var(v) -> bool:
    """Whether a jaxpr atom is a variable (a ``Literal`` carries its value)."""
    return not hasattr(v, "val")


#: higher-order primitives whose one body is iterated: a body's dependence is not the loop's
LOOPS = ("scan", "while")


def call_body(eqn):
    """The body of a call-like equation whose inputs and outputs match the equation's one to
    one (``jit``, ``custom_jvp_call``, ``remat``), else ``None`` (loops, branches, primitives)."""
    if eqn.primitive.name in LOOPS:
        return None  # a scan's body maps carries one to one, but iterating it mixes them
    subs = [p for p in eqn.params.values() if hasattr(p, "eqns") or hasattr(p, "jaxpr")]
    if len(subs) != 1:
        return None
    sub = subs[0].jaxpr if hasattr(subs[0], "jaxpr") and not hasattr(subs[0], "eqns") else subs[0]
    if len(sub.invars) != len(eqn.invars) or len(sub.outvars) != len(eqn.outvars):
        return None
    return sub


def depends(jaxpr, sources: Sequence[bool]) -> List[bool]:
    """For each output of ``jaxpr``, whether it depends on an input flagged in ``sources``.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxgan._jaxpr.dependence import depends
      >>> jaxpr = jax.make_jaxpr(lambda x, y: (x * 2.0, jnp.sin(y), x + y))(1.0, 2.0).jaxpr
      >>> depends(jaxpr, [True, False])
      [True, False, True]
    """
    flag = {v: s for v, s in zip(jaxpr.invars, sources)}

    def of(v):
        return is_var(v) and flag.get(v, False)

    for eqn in jaxpr.eqns:
        ins = [of(v) for v in eqn.invars]
        sub = call_body(eqn) if any(ins) else None
        outs = depends(sub, ins) if sub is not None else [any(ins)] * len(eqn.outvars)
        for v, o in zip(eqn.outvars, outs):
            flag[v] = o
    return [of(v) for v in jaxpr.outvars]


def reads(jaxpr, used: Sequence[bool]) -> List[bool]:
    """For each input of ``jaxpr``, whether an output flagged in ``used`` is computed from it.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxgan._jaxpr.dependence import reads
      >>> jaxpr = jax.make_jaxpr(lambda x, y, z: (x * y, z))(1.0, 2.0, 3.0).jaxpr
      >>> reads(jaxpr, [True, False])
      [True, True, False]
    """
    live = {v for v, u in zip(jaxpr.outvars, used) if u and is_var(v)}
    for eqn in reversed(jaxpr.eqns):
        outs = [v in live for v in eqn.outvars]
        if not any(outs):
            continue
        sub = call_body(eqn)
        ins = reads(sub, outs) if sub is not None else [True] * len(eqn.invars)
        live.update(v for v, r in zip(eqn.invars, ins) if r and is_var(v))
    return [v in live for v in jaxpr.invars]


def forwarded(jaxpr) -> List[Optional[int]]:
    """For each output, the index of the input it is unchanged in value (through dtype
    conversions, copies and call bodies), or ``None`` where it is computed.

    Examples:
      >>> import jax
      >>> from jaxgan._jaxpr.dependence import forwarded
      >>> jaxpr = jax.make_jaxpr(lambda x, y: (y, x + 1.0, jax.jit(lambda a: a)(x)))(1.0, 2.0).jaxpr
      >>> forwarded(jaxpr)
      [1, None, 0]
    """
    producer = {}
    for eqn in jaxpr.eqns:
        for i, v in enumerate(eqn.outvars):
            producer[v] = (eqn, i)
    position = {v: i for i, v in enumerate(jaxpr.invars)}

    def source(v):
        while is_var(v):
            if v in position:
                return position[v]
            if v not in producer:
                return None
            eqn, i = producer[v]
            if eqn.primitive.name in PASS_THROUGH and len(eqn.invars) == 1:
                v = eqn.invars[0]
                continue
            sub = call_body(eqn)
            if sub is None:
                return None
            inner = forwarded(sub)[i]
            if inner is None:
                return None
            v = eqn.invars[inner]
        return None

    return [source(v) for v in jaxpr.outvars]
