"""The structure of a step's map ``(w, s) -> (w', s')``: which state is dynamic, which is a
constant of the map, which counter the map depends on, and its period.

The design and its reasons: the docs page "Design notes" (``docs/design.md``), section
"The map of a step".
"""

from __future__ import annotations

from typing import List, NamedTuple, Optional, Tuple

import jax
import jax.numpy as jnp

from .._core.algebra import lcm, resolve
from .._core.field import game_field
from .._core.game import Game, Joint

#: primitives that hand their operand on unchanged in value
_PASS_THROUGH = ("convert_element_type", "copy", "copy_p")


class StepMap(NamedTuple):
    """The structure of a step at a state.

    Attributes:
      dynamic: per state leaf (``jax.tree.leaves`` order), whether it is a coordinate.
      constants: paths of the floating-point leaves held fixed (constants of the map).
      period: steps per cycle (1: the map does not depend on time).
      never_repeats: ``None``, or why the map changes with time and never repeats.
      settled: integer leaves the map reads but sets to a constant (a first-step flag, such
        as optax's optimistic GD's ``is_initial_step``): from the second step on the map is
        the one with their settled value, which the analysis uses.
    """

    dynamic: Tuple[bool, ...]
    constants: Tuple[str, ...]
    period: int
    never_repeats: Optional[str]
    settled: Tuple[int, ...] = ()


def _is_var(v) -> bool:
    return not hasattr(v, "val")


def _sub_jaxpr(eqn):
    """The one sub-jaxpr of a call-like equation whose inputs and outputs match the
    equation's one to one (``pjit``, ``custom_jvp_call``, ...), else ``None``."""
    subs = [p for p in eqn.params.values() if hasattr(p, "eqns") or hasattr(p, "jaxpr")]
    if len(subs) != 1:
        return None
    sub = subs[0].jaxpr if hasattr(subs[0], "jaxpr") and not hasattr(subs[0], "eqns") else subs[0]
    if len(sub.invars) != len(eqn.invars) or len(sub.outvars) != len(eqn.outvars):
        return None
    return sub


def _depends(jaxpr, sources: List[bool]) -> List[bool]:
    """For each output of ``jaxpr``, whether it depends on an input flagged in ``sources``
    (precise through call-like equations, conservative through loops and branches)."""
    flag = {v: s for v, s in zip(jaxpr.invars, sources)}

    def of(v):
        return _is_var(v) and flag.get(v, False)

    for eqn in jaxpr.eqns:
        ins = [of(v) for v in eqn.invars]
        sub = _sub_jaxpr(eqn) if any(ins) else None
        outs = _depends(sub, ins) if sub is not None else [any(ins)] * len(eqn.outvars)
        for v, o in zip(eqn.outvars, outs):
            flag[v] = o
    return [of(v) for v in jaxpr.outvars]


def _forwarded(jaxpr) -> List[Optional[int]]:
    """For each output, the index of the input it is unchanged in value (``None``: computed)."""
    producer = {}
    for eqn in jaxpr.eqns:
        for i, v in enumerate(eqn.outvars):
            producer[v] = (eqn, i)
    position = {v: i for i, v in enumerate(jaxpr.invars)}

    def source(v):
        while _is_var(v):
            if v in position:
                return position[v]
            if v not in producer:
                return None
            eqn, i = producer[v]
            if eqn.primitive.name in _PASS_THROUGH and len(eqn.invars) == 1:
                v = eqn.invars[0]
                continue
            sub = _sub_jaxpr(eqn)
            if sub is None:
                return None
            inner = _forwarded(sub)[i]
            if inner is None:
                return None
            v = eqn.invars[inner]
        return None

    return [source(v) for v in jaxpr.outvars]


def step_map(game: Game, tx, step, w: Joint, state) -> StepMap:
    """The structure of ``step`` (``make_step``'s map of ``tx`` on ``game``) at ``(w, state)``:
    traced abstractly, nothing runs."""
    leaves = jax.tree.leaves(state)
    if not leaves:  # a stateless step (SimGD, corrections, CGD without state): one map, no time
        return StepMap((), (), 1, None)
    paths = [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_leaves_with_path(state)]
    n_w = len(jax.tree.leaves(w))
    closed = jax.make_jaxpr(step)(w, state)
    jaxpr = closed.jaxpr
    forwarded = _forwarded(jaxpr)
    inexact = [jnp.issubdtype(jnp.result_type(x), jnp.inexact) for x in leaves]
    dynamic = []
    constants = []
    for i, (x, is_float) in enumerate(zip(leaves, inexact)):
        constant = is_float and forwarded[n_w + i] == n_w + i
        dynamic.append(is_float and not constant)
        if constant:
            constants.append(f"state{paths[i]}")
    # which integer leaves do the coordinates of the next point and state depend on?
    counters = (
        None  # the stages' declared counters, resolved only when the map reads an integer leaf
    )
    period, reasons, settled = 1, [], []
    wanted = list(range(n_w)) + [n_w + i for i, d in enumerate(dynamic) if d]
    computed = _depends(jaxpr, [True] * len(jaxpr.invars))
    for i, is_float in enumerate(inexact):
        if is_float:
            continue
        sources = [False] * len(jaxpr.invars)
        sources[n_w + i] = True
        deps = _depends(jaxpr, sources)
        if not any(deps[j] for j in wanted):
            continue
        if not computed[n_w + i]:
            settled.append(i)
            continue
        if counters is None:
            counters = resolve(
                tx, game_field(game), game_field(game)(w), state, w, {"game": game}
            ).counters
        declared = counters.get(i)
        if declared is not None and declared.period is not None:
            period = lcm([period, declared.period])
        elif declared is not None:
            reasons.append(f"{declared.why} (`state{paths[i]}`)")
        else:
            reasons.append(
                f"the integer state leaf `state{paths[i]}` "
                "(a step count: a learning-rate schedule, Adam's bias correction 1 - b^t, ...) "
                "enters the map, so the map changes every step and never repeats"
            )
    return StepMap(
        tuple(dynamic), tuple(constants), period, "; ".join(reasons) or None, tuple(settled)
    )


def settle(step, w, state, structure: StepMap):
    """``state`` with its settled leaves (``StepMap.settled``) at the value the step sets them
    to."""
    if not structure.settled:
        return state
    _, after = step(w, state)
    leaves, treedef = jax.tree.flatten(state)
    new = jax.tree.leaves(after)
    return jax.tree.unflatten(
        treedef, [new[i] if i in structure.settled else x for i, x in enumerate(leaves)]
    )


def split_state(state, dynamic):
    """The dynamic leaves of ``state`` and a function that puts new ones back."""
    leaves, treedef = jax.tree.flatten(state)
    diff = [x for x, d in zip(leaves, dynamic) if d]

    def merge(diff_leaves):
        it = iter(diff_leaves)
        return jax.tree.unflatten(treedef, [next(it) if d else x for x, d in zip(leaves, dynamic)])

    return diff, merge


def dynamic_leaves(state, dynamic) -> list:
    return [x for x, d in zip(jax.tree.leaves(state), dynamic) if d]
