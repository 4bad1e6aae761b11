"""The structure of a step's map ``(w, s) -> (w', s')``: which state is dynamic, which is a
constant of the map, which counter the map depends on, and its period.

The design and its reasons: the docs page "Design notes" (``docs/design.md``), section
"The map of a step".
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Tuple

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from .._core.algebra import lcm, resolve
from .._core.field import game_field
from .._core.game import Game, Joint
from .._jaxpr.dependence import depends, forwarded


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
      counters: integer leaves the map reads and advances (step counts), declared or not.
    """

    dynamic: Tuple[bool, ...]
    constants: Tuple[str, ...]
    period: int
    never_repeats: Optional[str]
    settled: Tuple[int, ...] = ()
    counters: Tuple[int, ...] = ()


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
    forwarded_from = forwarded(jaxpr)
    inexact = [jnp.issubdtype(jnp.result_type(x), jnp.inexact) for x in leaves]
    dynamic = []
    constants = []
    for i, (x, is_float) in enumerate(zip(leaves, inexact)):
        constant = is_float and forwarded_from[n_w + i] == n_w + i
        dynamic.append(is_float and not constant)
        if constant:
            constants.append(f"state{paths[i]}")
    # which integer leaves do the coordinates of the next point and state depend on?
    counters = (
        None  # the stages' declared counters, resolved only when the map reads an integer leaf
    )
    period, reasons, settled, counting = 1, [], [], []
    wanted = list(range(n_w)) + [n_w + i for i, d in enumerate(dynamic) if d]
    computed = depends(jaxpr, [True] * len(jaxpr.invars))
    for i, is_float in enumerate(inexact):
        if is_float:
            continue
        sources = [False] * len(jaxpr.invars)
        sources[n_w + i] = True
        deps = depends(jaxpr, sources)
        if not any(deps[j] for j in wanted):
            continue
        if not computed[n_w + i]:
            settled.append(i)
            continue
        counting.append(i)
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
        tuple(dynamic),
        tuple(constants),
        period,
        "; ".join(reasons) or None,
        tuple(settled),
        tuple(counting),
    )


def shift_counters(state, structure: StepMap, by: int):
    """``state`` with every step count the map reads (``StepMap.counters``) advanced by ``by``."""
    if not structure.counters or by == 0:
        return state
    leaves, treedef = jax.tree.flatten(state)
    return jax.tree.unflatten(
        treedef,
        [
            (x + jnp.asarray(by, jnp.result_type(x))) if i in structure.counters else x
            for i, x in enumerate(leaves)
        ],
    )


#: the multiples ``m`` of a declared period ``k`` whose maps are compared with the first
#: cycle's: the map at step count ``c + m k`` must equal the one at ``c`` for every ``c`` of the
#: cycle (two neighbouring cycles and two distant ones: a warm-up that ends within them is seen)
PERIOD_CHECKS = (1, 2, 10, 1000)


def off_period(step, w, state, structure: StepMap, period: int) -> jax.Array:
    """Whether the map does *not* repeat every ``period`` steps from ``state``'s phase: for each
    step ``c`` of the cycle and each multiple ``m`` in ``PERIOD_CHECKS``, the map's value and its
    derivative along a fixed direction at step count ``c + m k`` are compared with those at ``c``
    (to rounding). The derivative matters: at a fixed point every step's value is the same."""
    s_diff, merge = split_state(state, structure.dynamic)
    z0, unravel = ravel_pytree((w, s_diff))
    direction = jax.random.normal(jax.random.PRNGKey(0), z0.shape, z0.dtype)

    def at(shift):
        def one(z):
            w_, s_ = unravel(z)
            w_, s_ = step(w_, shift_counters(merge(s_), structure, shift))
            return ravel_pytree((w_, split_state(s_, structure.dynamic)[0]))[0]

        value, tangent = jax.jvp(one, (z0,), (direction,))
        return jnp.concatenate([value, tangent])

    tol = 1e3 * jnp.finfo(z0.dtype).eps
    bad = jnp.asarray(False)
    for c in range(period):
        base = at(c)
        scale = 1.0 + jnp.max(jnp.abs(base))
        for m in PERIOD_CHECKS:
            other = at(c + m * period)
            bad = bad | ~(jnp.max(jnp.abs(other - base)) <= tol * scale)
    return bad


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
