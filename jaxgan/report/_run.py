"""Running the report: the (game, algorithm) analyses on worker processes or threads, the
output folder staged and committed atomically, Ctrl-C handled."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from typing import Callable, Dict, Optional, Sequence

import jax
import numpy as np

from .._core.game import Game
from . import _profile
from ._analysis import analyse_game, analyse_pair, stonr_section
from ._progress import Progress
from ._registry import Algorithm, GameSource, build_from_source, builtin_algorithms
from ._render import Figures, markdown, strict_json

_WORKER_GAMES: Dict[tuple, Game] = {}


def enable_compile_cache(path: str) -> None:
    """Switch on JAX's persistent compilation cache in ``path`` for every program (the
    report's programs compile in well under JAX's default one-second threshold)."""
    os.makedirs(path, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    # JAX decides once per process whether the cache is used: decide again (in-process calls)
    from jax.experimental.compilation_cache import compilation_cache

    compilation_cache.reset_cache()


def _init_worker(x64: bool, cache_dir: Optional[str]):
    """A report worker process: the parent's precision and compilation cache."""
    jax.config.update("jax_enable_x64", x64)
    if cache_dir:
        enable_compile_cache(cache_dir)


def _worker_job(kind: str, spec: tuple, profile: bool = False):
    """One unit of the report in a worker process: an (game, algorithm) analysis or a
    STON'R game. Each process builds a game once and re-uses its compiled programs. With
    ``profile``, the result and the seconds of its phases (``_profile.measured``)."""
    if profile:
        phases: dict = {}
        with _profile.measured(phases):
            result = _worker_job(kind, spec)
        return result, phases
    if kind == "stonr":
        return stonr_section([spec[0]])
    source, aname, lrs, steps, offset, refine, tune, devices = spec
    game = _WORKER_GAMES.get(source)
    if game is None:
        game = _WORKER_GAMES[source] = build_from_source(source)
    return analyse_pair(
        game,
        aname,
        builtin_algorithms()[aname],
        lrs,
        steps,
        offset,
        refine=refine,
        tune=tune,
        devices=devices,
    )


def run_report(
    games: Dict[str, Callable[[], Game]],
    algorithms: Dict[str, Algorithm],
    lrs,
    steps: int,
    out: str,
    *,
    offset: float = 0.5,
    refine: bool = True,
    tune: bool = False,
    stonr: Sequence[str] = (),
    plot: bool = True,
    devices=None,
    settings: Optional[dict] = None,
    workers: int = 2,
    sources: Optional[Dict[str, GameSource]] = None,
    profile: bool = False,
) -> dict:
    """Analyse every game under every algorithm and write ``report.md``, ``report.json``
    and one PNG per game (with matplotlib) to ``out``. Returns the report dict.

    Tracing the programs is Python work, which threads of one process do not run in
    parallel; so with ``workers > 1``, games given with their ``sources`` (built-in names or
    game files) and built-in algorithms, the (game, algorithm) analyses and the STON'R games
    run in ``workers`` processes (started with ``spawn``), while this process computes the
    field spectra and draws each game's figure as soon as its analyses are in. Otherwise
    they run on threads. The numbers do not depend on the number or kind of workers. With
    ``tune`` each row gains the "tuned" column (``jg.tune``'s search from the stability map's
    best cells; it compiles a search per row, which costs seconds to tens of seconds each).
    With ``profile`` the returned dict (not ``report.json``) has ``"profile"``: the seconds of
    each phase (trace, lower, compile, run, plot, write) summed over the processes
    (``_profile.table`` prints it).
    """
    final_out = out
    created = _missing_folders(final_out)
    out = _staging_folder(final_out)
    done = False
    phases: Optional[dict] = {} if profile else None
    start = time.perf_counter()
    try:
        report = _run_report(
            games,
            algorithms,
            lrs,
            steps,
            out,
            offset=offset,
            refine=refine,
            tune=tune,
            stonr=stonr,
            plot=plot,
            devices=devices,
            settings=settings,
            workers=workers,
            sources=sources,
            phases=phases,
        )
        write_start = time.perf_counter()
        _commit(out, final_out, report)
        done = True
        if phases is not None:
            phases["write"] += time.perf_counter() - write_start
            phases["wall"] = time.perf_counter() - start
            report["profile"] = phases
    finally:
        shutil.rmtree(out, ignore_errors=True)
        if not done:  # a failed or stopped run leaves no folder it created
            for folder in created:
                if not os.path.isdir(folder):
                    continue
                try:
                    os.rmdir(folder)
                except OSError:  # not empty: something else put files there
                    break
    return report


def check_output_folder(out: str) -> None:
    """Raise ``OSError`` (with the reason) unless ``out`` can be created and written, and a
    staging folder beside it too: checked before any work, creating nothing."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise OSError(f"--out {out!r} exists and is not a folder")
    existing = os.path.abspath(out)
    while not os.path.isdir(existing):
        parent = os.path.dirname(existing)
        if os.path.exists(existing) or parent == existing:
            raise OSError(f"--out {out!r} is not writable ({existing!r} is not a folder)")
        existing = parent
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as err:
        raise OSError(f"--out {out!r} is not writable ({err.strerror or err})") from err


def _missing_folders(out: str) -> list:
    """The folders of ``out``'s path that do not exist yet, deepest first."""
    missing, path = [], os.path.abspath(out)
    while not os.path.exists(path):
        missing.append(path)
        path = os.path.dirname(path)
    return missing


def _staging_folder(out: str) -> str:
    """A fresh folder beside ``out`` where the report is written before it is committed."""
    parent = os.path.dirname(os.path.abspath(out))
    os.makedirs(parent, exist_ok=True)
    return tempfile.mkdtemp(
        prefix=f".{os.path.basename(os.path.abspath(out))}.staging-", dir=parent
    )


def _commit(staging: str, out: str, report: dict) -> None:
    """Move the finished report from ``staging`` into ``out`` with Ctrl-C and SIGTERM held off: the
    figures of an earlier report that this one does not produce are removed, each file is
    replaced atomically (``os.replace``), ``report.json`` last."""
    os.makedirs(out, exist_ok=True)
    previous = os.path.join(out, "report.json")
    old_figures = set()
    try:
        with open(previous) as fh:
            old_figures = {
                e.get("figure") for e in json.load(fh).get("games", {}).values() if e.get("figure")
            }
    except (OSError, ValueError, AttributeError):
        pass
    new_files = sorted(os.listdir(staging))
    handlers = {}
    if threading.current_thread() is threading.main_thread():
        handlers = {
            sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)
        }
    try:
        for name in old_figures - set(new_files):
            if os.path.basename(name) == name and name.endswith(".png"):
                try:
                    os.remove(os.path.join(out, name))
                except OSError:
                    pass
        for name in sorted(new_files, key=lambda n: n == "report.json"):
            os.replace(os.path.join(staging, name), os.path.join(out, name))
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def _run_report(
    games,
    algorithms,
    lrs,
    steps,
    out,
    *,
    offset,
    refine,
    tune,
    stonr,
    plot,
    devices,
    settings,
    workers,
    sources,
    phases,
):
    start = time.perf_counter()
    report = {"settings": settings or {}, "device": jax.devices()[0].device_kind, "games": {}}
    progress = Progress(len(games) * len(algorithms) + len(stonr))
    pairs = [(g, a) for g in games for a in algorithms]
    builtin = builtin_algorithms()
    in_processes = (
        int(workers) > 1
        and sources is not None
        and all(g in sources for g in games)
        and all(a in builtin for a in algorithms)
    )
    for gname in games:
        report["games"][gname] = {"learning_rates": np.asarray(lrs).tolist(), "algorithms": {}}
    plotter = Figures(out, report, algorithms) if plot else None
    lr_list = [float(x) for x in np.asarray(lrs)]
    profile = phases is not None

    if in_processes:
        import multiprocessing

        cache_dir = jax.config.jax_compilation_cache_dir
        pool = ProcessPoolExecutor(
            int(workers),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(bool(jax.config.jax_enable_x64), cache_dir),
        )
        futures = {
            pool.submit(
                _worker_job,
                "pair",
                (sources[g], a, lr_list, steps, offset, refine, tune, devices),
                profile,
            ): ("pair", g, a)
            for g, a in pairs
        }
        futures.update(
            {
                pool.submit(_worker_job, "stonr", (name,), profile): ("stonr", name, None)
                for name in stonr
            }
        )
    else:
        pool = ThreadPoolExecutor(max(1, int(workers)))
        built = {g: build() for g, build in games.items()}

        def job(pair):
            if profile:
                out: dict = {}
                with _profile.measured(out):
                    result = job_(pair)
                return result, out
            return job_(pair)

        def job_(pair):
            gname, aname = pair
            return analyse_pair(
                built[gname],
                aname,
                algorithms[aname],
                lrs,
                steps,
                offset,
                refine=refine,
                tune=tune,
                devices=devices,
            )

        futures = {pool.submit(job, pair): ("pair",) + pair for pair in pairs}
    _collect(
        pool,
        futures,
        games,
        algorithms,
        report,
        progress,
        plotter,
        in_processes,
        None if in_processes else built,
        phases,
    )
    for gname, entry in report["games"].items():
        entry["algorithms"] = {a: entry["algorithms"][a] for a in algorithms}
    stonr_rows = report.pop("_stonr_rows", {})
    if stonr:
        if not in_processes:
            for name in stonr:
                with _maybe_measured(phases):
                    stonr_rows.update(stonr_section([name]))
                progress.step(f"STON'R {name}")
        report["stonr"] = {name: stonr_rows[name] for name in stonr}
    report["seconds"] = time.perf_counter() - start
    with _maybe_measured(phases, "write"):
        with open(os.path.join(out, "report.json"), "w") as fh:
            json.dump(strict_json(report), fh, indent=1, allow_nan=False)
        with open(os.path.join(out, "report.md"), "w") as fh:
            fh.write(markdown(report))
    if phases is not None:
        phases["processes"] = 1 + (int(workers) if in_processes else 0)
        phases.setdefault("write", 0.0)
    return report


def _maybe_measured(phases: Optional[dict], key: str = "run"):
    """``_profile.measured`` into ``phases``, or nothing when the run is not profiled."""
    return _profile.measured(phases, key) if phases is not None else contextlib.nullcontext()


def _stop(pool) -> None:
    """Stop a pool now (Ctrl-C): queued work is cancelled and worker processes are killed,
    rather than waiting for the compilations they have started."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        try:
            proc.kill()
        except Exception:  # noqa: BLE001 - already gone
            pass


def _collect(
    pool, futures, games, algorithms, report, progress, plotter, in_processes, built, phases
):
    """Gather the analyses as they finish (the field spectra computed here meanwhile); on
    any exception, Ctrl-C included, the pool is stopped at once, not drained. With ``phases``
    (``--profile``) each job's phases are added to it."""
    try:
        for gname, build in games.items():
            with _maybe_measured(phases):
                game = build() if in_processes else built[gname]
                report["games"][gname].update(analyse_game(game))
        stonr_rows = report.setdefault("_stonr_rows", {})
        for fut in as_completed(futures):
            kind, name, aname = futures[fut]
            result = fut.result()
            if phases is not None:
                result, measured = result
                for key, value in measured.items():
                    phases[key] = phases.get(key, 0) + value
            if kind == "stonr":
                stonr_rows.update(result)
                progress.step(f"STON'R {name}")
                continue
            report["games"][name]["algorithms"][aname] = result
            progress.step(f"{name} / {aname}")
            if plotter is not None and len(report["games"][name]["algorithms"]) == len(algorithms):
                with _maybe_measured(phases, "plot"):
                    plotter.draw(name)
    except BaseException:
        _stop(pool)
        raise
    pool.shutdown(wait=True)
