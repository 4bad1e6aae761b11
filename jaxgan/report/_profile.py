"""The main job's ``--profile``: where its seconds go, by phase (trace, lower, compile, run,
plot, write), read from JAX's own compilation events in every process of the report."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Dict, List, Tuple

import jax

#: JAX's events (``jax.monitoring`` time spans) and the phase each one is
EVENTS = {
    "/jax/core/compile/jaxpr_trace_duration": "trace",
    "/jax/core/compile/jaxpr_to_mlir_module_duration": "lower",
    "/jax/core/compile/backend_compile_duration": "compile",
}
PHASES = ("trace", "lower", "compile", "run", "plot", "write")
_HIT = "/jax/compilation_cache/cache_hits"


class Recorder:
    """The compilation spans of this process, per thread, while it is installed."""

    def __init__(self):
        self.spans: List[Tuple[str, int, float, float]] = []
        self.hits: List[int] = []  # the thread of each persistent-cache hit
        self._lock = threading.Lock()

    def _span(self, event, start, end, **_):
        phase = EVENTS.get(event)
        if phase is not None:
            with self._lock:
                self.spans.append((phase, threading.get_ident(), start, end))

    def _event(self, event, **_):
        if event == _HIT:
            with self._lock:
                self.hits.append(threading.get_ident())

    def install(self) -> "Recorder":
        jax.monitoring.register_event_time_span_listener(self._span)
        jax.monitoring.register_event_listener(self._event)
        return self

    def mark(self) -> Tuple[int, int]:
        """Where the record stands now: the spans and cache hits from here on are measured by
        ``since``."""
        with self._lock:
            return len(self.spans), len(self.hits)

    def since(self, mark: Tuple[int, int]) -> Dict[str, float]:
        """This thread's seconds in each compilation phase since ``mark`` (each second counted
        once, in its innermost phase: a trace that compiles counts that compile as compile), its
        programs compiled or read, and those of them read from the persistent cache."""
        thread = threading.get_ident()
        with self._lock:
            spans = [s for s in self.spans[mark[0]:] if s[1] == thread]
            hits = sum(1 for t in self.hits[mark[1]:] if t == thread)
        out = exclusive_seconds(spans)
        out["programs"] = sum(1 for s in spans if s[0] == "compile")
        out["cache_hits"] = hits
        return out


def exclusive_seconds(spans) -> Dict[str, float]:
    """Each phase's seconds, a span's time less that of the spans nested in it (the spans of
    one thread nest: they are context managers)."""
    out = {"trace": 0.0, "lower": 0.0, "compile": 0.0}
    by_thread: Dict[int, list] = {}
    for phase, thread, start, end in spans:
        by_thread.setdefault(thread, []).append((start, -end, phase))
    for items in by_thread.values():
        items.sort()
        stack: list = []  # [end, phase, seconds of the spans nested in it, length]
        for start, neg_end, phase in items:
            end = -neg_end
            while stack and stack[-1][0] <= start:
                _close(stack.pop(), out, stack)
            stack.append([end, phase, 0.0, end - start])
        while stack:
            _close(stack.pop(), out, stack)
    return out


def _close(item, out, stack):
    end, phase, nested, length = item
    out[phase] += max(length - nested, 0.0)
    if stack:
        stack[-1][2] += length


_RECORDER = None


def recorder() -> Recorder:
    """This process's recorder, installed on first use."""
    global _RECORDER
    if _RECORDER is None:
        _RECORDER = Recorder().install()
    return _RECORDER


@contextmanager
def measured(into: dict, key: str = "run"):
    """Time the block into ``into``: its compilation phases, and the rest as ``key``."""
    rec, start = recorder(), time.perf_counter()
    mark = rec.mark()
    try:
        yield
    finally:
        add(into, rec.since(mark), time.perf_counter() - start, key)


def add(into: dict, phases: dict, wall: float, key: str = "run") -> None:
    """Add one measured block (its compilation ``phases`` and its ``wall`` seconds) to ``into``."""
    compiling = phases["trace"] + phases["lower"] + phases["compile"]
    for name in ("trace", "lower", "compile", "programs", "cache_hits"):
        into[name] = into.get(name, 0) + phases[name]
    into[key] = into.get(key, 0.0) + max(wall - compiling, 0.0)


def table(profile: dict) -> List[str]:
    """The ``--profile`` table: seconds per phase summed over the report's processes."""
    total = sum(profile.get(p, 0.0) for p in PHASES)
    notes = {
        "compile": f"{profile.get('programs', 0):,} programs, "
        f"{profile.get('cache_hits', 0):,} of them read from the compilation cache",
        "run": "executing the programs, and Python outside the phases above",
        "plot": "drawing and saving the figures",
        "write": "report.json, report.md and the move into the output folder",
    }
    rows = [
        f"profile: seconds by phase, summed over {profile['processes']} process(es); "
        f"wall {profile['wall']:.1f} s",
        f"  {'phase':<8} {'seconds':>8} {'share':>6}",
    ]
    for p in PHASES:
        s = profile.get(p, 0.0)
        share = f"{100 * s / total:5.1f}%" if total > 0 else "   n/a"
        rows.append(f"  {p:<8} {s:8.1f} {share}  {notes.get(p, '')}".rstrip())
    rows.append(f"  {'total':<8} {total:8.1f}")
    return rows
