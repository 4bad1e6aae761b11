"""The compiled programs behind the public entry points, one per structure.

The design and its reasons: the docs page "Design notes" (``docs/design.md``), section
"Compiled programs, one per structure".
"""

from __future__ import annotations

import collections
import threading
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
    if not _outside_transformations():
        # under the caller's jit/vmap the objects are often built from tracers (a transformation
        # made from a traced learning rate): the caller's own trace is the cache, and an entry
        # here would hold those tracers and never be hit again
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
