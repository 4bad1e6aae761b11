"""The compiled programs behind the public entry points, one per structure.

The design and its reasons: the docs page "Design notes" (``docs/design.md``), section
"Compiled programs, one per structure".
"""

from __future__ import annotations

import collections
import functools
import threading
import types
from typing import Any, Callable, Hashable, NamedTuple, Tuple

import jax
from jax.extend.core import get_opaque_trace_state

#: Programs kept (least recently used dropped first).
MAX_PROGRAMS = 256


class _Entry(NamedTuple):
    objects: Tuple[Any, ...]
    program: Callable


_entries: "collections.OrderedDict[Hashable, _Entry]" = collections.OrderedDict()
_lock = threading.Lock()


def compiled(
    name: str,
    build: Callable[..., Callable],
    objects: Tuple[Any, ...] = (),
    options: Tuple[Hashable, ...] = (),
    **jit_kwargs,
) -> Callable:
    """``jax.jit(build(*objects, *options))``, cached by ``name``, the identity of each of
    ``objects`` and the value of ``options`` (hashable: ints, strings, floats, None, tuples).

    ``build`` must return a function of arrays (pytrees) only; everything that decides
    the computation's structure comes in through ``objects`` and ``options``.
    """
    return cached(name, lambda *a: jax.jit(build(*a), **jit_kwargs), objects, options)


def cached(
    name: str,
    build: Callable[..., Callable],
    objects: Tuple[Any, ...] = (),
    options: Tuple[Hashable, ...] = (),
) -> Callable:
    """``build(*objects, *options)``, cached as ``compiled`` caches (for functions that
    must keep their identity between calls, such as a grid tool's default start)."""
    if not _outside_transformations() and any(_holds_tracer(o) for o in objects):
        # under the caller's jit/vmap an object built from tracers (a transformation made from
        # a traced learning rate) is new on every call: the caller's own trace is the cache, and
        # an entry here would hold those tracers and never be hit again. Objects free of tracers
        # (the game, a make_tx) are cached as outside: a vmap without jit re-uses the program.
        return build(*objects, *options)
    key = (name, tuple(map(id, objects)), options)
    try:
        hash(key)
    except TypeError:  # an option is an array (a traced tolerance, say): build without caching
        return build(*objects, *options)
    with _lock:
        entry = _entries.get(key)
        if entry is not None and all(a is b for a, b in zip(entry.objects, objects)):
            _entries.move_to_end(key)
            return entry.program
    program = build(*objects, *options)
    with _lock:
        _entries[key] = _Entry(tuple(objects), program)
        _entries.move_to_end(key)
        while len(_entries) > MAX_PROGRAMS:
            _entries.popitem(last=False)
    return program


#: how deep ``_holds_tracer`` looks into closures, containers and attributes
TRACER_SEARCH_DEPTH = 8


def _holds_tracer(obj, depth: int = TRACER_SEARCH_DEPTH, seen=None) -> bool:
    """Whether ``obj`` reaches a JAX tracer through closures, defaults, partials, containers,
    dataclass and named-tuple fields or instance attributes (to ``depth`` levels)."""
    if isinstance(obj, jax.core.Tracer):
        return True
    if depth == 0 or obj is None or isinstance(obj, (str, bytes, int, float, complex, type)):
        return False
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return False
    seen.add(id(obj))
    children = []
    if isinstance(obj, (tuple, list, set, frozenset)):
        children = list(obj)
    elif isinstance(obj, dict):
        children = list(obj.values())
    elif isinstance(obj, functools.partial):
        children = [obj.func, *obj.args, *obj.keywords.values()]
    elif callable(obj) and hasattr(obj, "__code__"):
        children = [c.cell_contents for c in (obj.__closure__ or ()) if _filled(c)]
        children += list(obj.__defaults__ or ()) + list((obj.__kwdefaults__ or {}).values())
    elif hasattr(obj, "__dict__") and not isinstance(obj, types.ModuleType):
        children = list(vars(obj).values())
    elif hasattr(obj, "__slots__"):
        children = [getattr(obj, n) for n in obj.__slots__ if hasattr(obj, n)]
    return any(_holds_tracer(c, depth - 1, seen) for c in children)


def _filled(cell) -> bool:
    try:
        cell.cell_contents
    except ValueError:  # an empty cell (a name assigned after the closure was made)
        return False
    return True


#: the trace at import: JAX's evaluation trace (jaxgan is imported outside transformations)
_EVALUATION = get_opaque_trace_state(convention="jaxgan")


def _outside_transformations() -> bool:
    """Whether no JAX transformation (jit, vmap, grad, ...) is tracing now: the current trace
    is the evaluation trace, compared by JAX's public extension API."""
    return get_opaque_trace_state(convention="jaxgan") == _EVALUATION


def cached_programs() -> int:
    """How many compiled programs the cache holds now."""
    with _lock:
        return len(_entries)


def clear() -> None:
    """Drop every cached program (``jax.clear_caches()`` also drops JAX's own caches)."""
    with _lock:
        _entries.clear()
