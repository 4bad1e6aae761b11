"""The analysis report that the ``jaxgan`` command writes: for each game and algorithm, the
field spectrum at the equilibrium, a stability map over (learning rate, the algorithm's
hyperparameter) next to a sweep of the same grid, and Turinici's learning-rate
refinement verdict; STON'R on the box-constrained games. Results go to a folder as
``report.md``, ``report.json`` and one PNG figure per game.
"""

from __future__ import annotations

import json
import os
import runpy
import shutil
import signal
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from . import games as catalogue
from . import regularizers
from .regularizers import clip_discriminator
from ._game import Game, Joint
from ._rollout import STATUS_NAMES, rollout, sweep
from ._spectral import spectrum
from ._stability import stability_map
from .flows import assess_refinement
from .transforms import (
    alternating,
    best_response,
    cgd,
    consensus,
    extragradient,
    follow_the_ridge,
    hamiltonian,
    jare,
    lola,
    look_ahead,
    project_box,
    run_stonr,
    sga,
    sos,
    stonr_certificate,
    ttur,
)

#: Runs within this distance of spectral radius one may go either way in finitely many steps.
MARGIN = 0.02


class Algorithm(NamedTuple):
    """An algorithm of the report: ``make(lr, h) -> optax transformation``.

    Attributes:
      make: the transformation at learning rate ``lr`` and hyperparameter ``h``.
      axis: the hyperparameter's name (the stability map's second axis), or None.
      values: the hyperparameter's values on the map.
      default: the value of the 1-D learning-rate analysis and the refinement test.
      batch_radius: whether ``stability_map`` vmaps the radii (False for inner solvers).
    """

    make: Callable
    axis: Optional[str]
    values: tuple
    default: float
    batch_radius: bool = True


RATIOS = (0.25, 0.5, 1.0, 2.0, 4.0)
#: The critic's weight-clipping bound of ``clipped-critic-5`` (the WGAN paper's 0.01 is for
#: networks; on these games the parameters are O(1)).
CRITIC_CLIP = 1.0
WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)
#: The opponent's assumed learning rate of look-ahead, LOLA and SOS.
ALPHAS = (0.0, 0.25, 0.5, 1.0, 2.0)


def builtin_algorithms() -> Dict[str, Algorithm]:
    """Every algorithm of the library with the hyperparameter its stability map spans:
    the discriminator-to-generator learning-rate ratio (TTUR) for SimGD, alternating GD,
    the clipped 5-step critic, extragradient and Follow-the-Ridge, the correction weight for
    consensus, JARE, SGA and consensus or JARE composed with alternating GD (the corrected
    field at every player step), the opponent's assumed learning rate for look-ahead, LOLA
    and SOS; best-response descent (Riemannian step, Newton retraction), CGD and Hamiltonian
    descent have the learning rate only. ACGD and GDA-AM are not in the report: their
    updates are not differentiable at an equilibrium (ACGD's step size ``eta / (sqrt(v) +
    eps)`` at ``v = 0``, GDA-AM's mixing weights where the residuals vanish), so a spectral
    radius there does not describe them; ``notebooks/game_optimisers.ipynb`` and
    ``benchmarks/corrections.py`` measure them by their runs."""
    return {
        "simgd": Algorithm(lambda lr, r: ttur(lr, r * lr), "lr_d/lr_g", RATIOS, 1.0),
        "alternating": Algorithm(
            lambda lr, r: alternating(Joint(optax.sgd(lr), optax.sgd(r * lr))), "lr_d/lr_g", RATIOS, 1.0
        ),
        "consensus": Algorithm(
            lambda lr, g: optax.chain(consensus(g), optax.sgd(lr)), "gamma", WEIGHTS, 1.0
        ),
        "jare": Algorithm(lambda lr, g: optax.chain(jare(g), optax.sgd(lr)), "gamma", WEIGHTS, 1.0),
        "sga": Algorithm(lambda lr, g: optax.chain(sga(g), optax.sgd(lr)), "lambda", WEIGHTS, 1.0),
        # the composition rule: every player step of the alternating round uses the corrected field
        "consensus+alternating": Algorithm(
            lambda lr, g: optax.chain(consensus(g), alternating(optax.sgd(lr))), "gamma", WEIGHTS, 1.0
        ),
        "jare+alternating": Algorithm(lambda lr, g: optax.chain(jare(g), alternating(optax.sgd(lr))), "gamma", WEIGHTS, 1.0),
        # WGAN-style training: 5 critic steps per generator step, the critic clipped after each
        "clipped-critic-5": Algorithm(
            lambda lr, r: alternating(
                Joint(optax.sgd(lr), optax.chain(optax.sgd(r * lr), clip_discriminator(CRITIC_CLIP))), d_steps=5
            ),
            "lr_d/lr_g", RATIOS, 1.0,
        ),
        "extragradient": Algorithm(lambda lr, r: extragradient(ttur(lr, r * lr)), "lr_d/lr_g", RATIOS, 1.0),
        "follow-the-ridge": Algorithm(
            lambda lr, r: optax.chain(follow_the_ridge(ratio=1.0 / r), ttur(lr, r * lr)),
            "lr_d/lr_g",
            RATIOS,
            1.0,
            batch_radius=False,
        ),
        "best-response": Algorithm(
            lambda lr, _: best_response(optax.sgd(lr)), None, (0.0,), 0.0, batch_radius=False
        ),
        # the field's other methods: the learning rate is part of CGD's update; look-ahead,
        # LOLA and SOS span the opponent's assumed learning rate alpha
        "cgd": Algorithm(lambda lr, _: cgd(lr), None, (0.0,), 0.0, batch_radius=False),
        "hamiltonian": Algorithm(lambda lr, _: optax.chain(hamiltonian(), optax.sgd(lr)), None, (0.0,), 0.0),
        "look-ahead": Algorithm(lambda lr, a: optax.chain(look_ahead(a), optax.sgd(lr)), "alpha", ALPHAS, 0.5),
        "lola": Algorithm(lambda lr, a: optax.chain(lola(a), optax.sgd(lr)), "alpha", ALPHAS, 0.5),
        "sos": Algorithm(lambda lr, a: optax.chain(sos(a), optax.sgd(lr)), "alpha", ALPHAS, 0.5),
    }


def builtin_games() -> Dict[str, Callable[[], Game]]:
    """The games the main job knows, by name (each with its equilibrium)."""
    return {
        "dirac-standard": lambda: catalogue.dirac("standard"),
        "dirac-non_saturating": lambda: catalogue.dirac("non_saturating"),
        "dirac-wgan": lambda: catalogue.dirac("wgan"),
        "dirac-standard+r1": lambda: regularizers.r1(catalogue.dirac("standard"), 0.3),
        "dirac-standard+noise": lambda: regularizers.instance_noise(catalogue.dirac("standard"), 0.7),
        "linear-gaussian": lambda: catalogue.linear_gaussian(jnp.array([1.0, 0.5]), 1.0),
        "turinici": lambda: catalogue.turinici(1.0),
    }


def load_game_file(path: str) -> Dict[str, Callable[[], Game]]:
    """Games from a user's Python file: it defines ``game`` (a ``jaxgan.Game`` with an
    ``equilibrium``) or ``games`` (a dict ``name -> Game``)."""
    if not os.path.isfile(path):
        raise ValueError(f"--game-file: no such file {path!r}.")
    namespace = runpy.run_path(path)
    found = namespace.get("games")
    if found is None and "game" in namespace:
        found = {os.path.splitext(os.path.basename(path))[0]: namespace["game"]}
    if not isinstance(found, dict) or not found:
        raise ValueError(f"--game-file: {path} must define `game = jaxgan.Game(...)` or `games = {{name: Game}}`.")
    out = {}
    for name, g in found.items():
        if not isinstance(g, Game):
            raise ValueError(f"--game-file: `{name}` in {path} is a {type(g).__name__}, expected a jaxgan.Game.")
        if g.equilibrium is None:
            raise ValueError(
                f"--game-file: game `{name}` in {path} has no equilibrium; build it with "
                "`jaxgan.Game(loss_g, loss_d, equilibrium=jaxgan.Joint(...))` so the analysis knows where to look."
            )
        out[str(name)] = (lambda g=g: g)
    return out


# --------------------------------------------------------------------------- numbers


def record_every(steps: int, multiple: int = 1) -> int:
    """The recording interval of a run of ``steps`` steps: the largest ``k`` at most
    ``max(1, steps // 100)`` (about 100 records) with ``steps / k`` a multiple of
    ``multiple`` (which must divide ``steps``)."""
    if steps % multiple:
        raise ValueError(f"record_every: {multiple} must divide steps ({steps}).")
    for k in range(max(1, steps // 100), 0, -1):
        if (steps // multiple) % k == 0:
            return k
    return 1


def measured_rates(distance: np.ndarray, every: int) -> np.ndarray:
    """Per-step contraction ``(d_k / d_0)^(1/k)`` of each run over its transient: at the
    last recorded ``k`` before the distance first reaches its floor, ``max(1e-12 d_0,
    10 min_k d_k)`` (rounding, or an inner solver's tolerance where the run stalls); for
    runs that do not contract it is the rate over the whole run (above one when they grow).
    For a linear step this is ``rho``."""
    d0 = distance[:, :1]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        finite_d = np.where(np.isfinite(distance), distance, np.inf)
        contracting = finite_d[:, -1:] < d0
        floor = np.where(contracting, np.maximum(1e-12 * d0, 10 * np.min(finite_d, axis=1, keepdims=True)), 1e-12 * d0)
        above = np.isfinite(distance) & (distance > floor)
        above[:, 0] = True
        last = np.where(above.all(axis=1), distance.shape[1] - 1, np.argmin(above, axis=1) - 1)
        last = np.maximum(last, 1)
        dk = np.take_along_axis(distance, last[:, None], axis=1)[:, 0]
        rate = (dk / d0[:, 0]) ** (1.0 / (last * every))
    return np.where(np.isfinite(rate), rate, np.inf)


def _finite_or_none(x):
    x = float(x)
    return x if np.isfinite(x) else None


REFINEMENT_LEVELS = 4


def analyse_algorithm(game: Game, alg: Algorithm, lrs, steps: int, offset: float, *, refine: bool = True,
                      devices=None) -> dict:
    """Stability map (radius and sweep over ``lrs x alg.values``), the 1-D learning-rate
    analysis at ``alg.default``, and the refinement test at the learning rate of smallest
    radius.

    The refinement's four runs (``eta, eta/2, eta/4, eta/8`` for ``steps/8, ..., steps``
    steps) ride in the same sweep as the map, so they cost no compilation of their own;
    ``steps`` must then be a multiple of 8.
    """
    lrs = np.asarray(lrs)
    values = np.asarray(alg.values, dtype=lrs.dtype)
    shape = (lrs.size, values.size)
    grid = {"lr": jnp.asarray(np.repeat(lrs, values.size)), "h": jnp.asarray(np.tile(values, lrs.size))}
    make_tx = lambda h: alg.make(h["lr"], h["h"])  # noqa: E731
    w0 = jax.tree.map(lambda x: jnp.asarray(x) + offset, game.equilibrium)
    m = stability_map(game, make_tx, grid, shape=shape, margin=MARGIN, batch_radius=alg.batch_radius)
    rho = np.asarray(m.radius).reshape(shape)
    col = int(np.argmin(np.abs(values - alg.default)))
    r1 = rho[:, col]
    best = int(np.nanargmin(r1)) if np.any(np.isfinite(r1)) else 0
    eta = float(lrs[best])
    levels = REFINEMENT_LEVELS if refine else 0
    etas = eta / 2.0 ** np.arange(levels)
    every = record_every(steps, 2 ** (levels - 1) if refine else 1)
    runs_grid = {
        "lr": jnp.concatenate([grid["lr"], jnp.asarray(etas, grid["lr"].dtype)]),
        "h": jnp.concatenate([grid["h"], jnp.full(levels, alg.default, grid["h"].dtype)]),
    }
    res = sweep(game, make_tx, w0, runs_grid, steps, record_every=every, devices=devices)
    g = rho.size
    status = np.asarray(res.status)[:g].reshape(shape)
    first_bad = np.asarray(res.first_nonfinite)[:g].reshape(shape)
    distance = np.asarray(res.distance)[:g].reshape(shape + (-1,))
    rates = measured_rates(distance[:, col], every)
    clear_map = np.abs(rho - 1.0) > MARGIN
    agree_map = int(np.sum(((rho < 1 - 1e-6) == (status == 0)) & clear_map))
    predicted = r1 < 1 - 1e-6
    converged = status[:, col] == 0
    clear = clear_map[:, col]
    row = {
        "axis": alg.axis,
        "values": values.tolist(),
        "default": alg.default,
        "radius": [[_finite_or_none(x) for x in r] for r in rho],
        "status": [[STATUS_NAMES[int(s)] for s in r] for r in status],
        "first_nonfinite": first_bad.tolist(),
        "map_agreement": [agree_map, int(clear_map.sum())],
        "min_radius": _finite_or_none(r1[best]),
        "best_lr": eta,
        "measured_rate_at_best": _finite_or_none(rates[best]),
        "converged": int(converged.sum()),
        "predicted_stable": int(predicted.sum()),
        "runs": int(lrs.size),
        "agree_1d": [int(np.sum((predicted == converged) & clear)), int(clear.sum())],
        "outcomes": {n: int((status[:, col] == c).sum()) for c, n in enumerate(STATUS_NAMES)},
        "diverged": [
            {"lr": float(lrs[i]), alg.axis or "h": float(values[j]), "step": int(first_bad[i, j])}
            for i, j in zip(*np.nonzero(first_bad >= 0))
        ],
    }
    if not np.any(np.isfinite(rho)):
        row["not_applicable"] = _why_undefined(game)
    if refine:
        flat = np.asarray(jax.vmap(jax.vmap(lambda w: ravel_pytree(w)[0]))(res.trajectory))[g:]
        points = (flat.shape[1] - 1) // 2 ** (levels - 1)
        runs = np.stack([flat[k, :: 2**k][: points + 1] for k in range(levels)])
        r = assess_refinement(runs, etas, np.arange(points + 1) * every * eta)
        row["refinement"] = {
            "eta": eta,
            "etas": etas.tolist(),
            "steps": [steps // 2 ** (levels - 1 - k) for k in range(levels)],
            "gaps": [_finite_or_none(e) for e in np.asarray(r.gaps)],
            "order": _finite_or_none(r.order),
            "scale": _finite_or_none(r.scale),
            "verdict": r.verdict,
        }
    return row


def _why_undefined(game: Game) -> str:
    """Why no step of an algorithm has a finite spectral radius at the equilibrium."""
    from ._jacobian import jacobian

    eq = game.equilibrium
    n_phi = ravel_pytree(eq.phi)[0].size
    J = np.asarray(jacobian(game, eq))
    h_tt = J[n_phi:, n_phi:]
    smallest = float(np.min(np.abs(np.linalg.eigvals(h_tt)))) if h_tt.size else float("nan")
    if smallest <= 1e-9 * max(1.0, float(np.max(np.abs(J)))):
        return (f"not applicable: the discriminator's Hessian H_tt is singular at the equilibrium (smallest |eigenvalue| "
                f"{smallest:.1e}), and the method solves with it (its update is undefined there)")
    return "not applicable: the update's derivative is not finite at the equilibrium (an inner solve fails there)"


def analyse_game(game: Game) -> dict:
    """The field spectrum at the game's equilibrium."""
    spec = spectrum(game, game.equilibrium)
    return {
        "eigenvalues": [[float(z.real), float(z.imag)] for z in np.asarray(spec.eigenvalues)],
        "phase_factor": _finite_or_none(spec.phase_factor),
        "conditioning_factor": _finite_or_none(spec.conditioning_factor),
        "stable_simgd_step": _finite_or_none(spec.stable_step),
        "flow_stable": bool(spec.is_stable),
    }


# --------------------------------------------------------------------------- STON'R

STONR_BASELINE_STEPS = 10000


def _projected_residual(ex, method: str):
    """The certificate's residual after projected SimGD or projected extragradient (both
    half-steps projected: the projection inside the look-ahead's optimiser)."""
    step = optax.chain(optax.sgd(0.02), project_box(ex.box))
    tx = step if method == "simgd" else extragradient(step)
    w0 = jax.tree.map(lambda a, b: jnp.asarray((a + b) / 2 + 0.1), ex.box.lo, ex.box.hi)
    final = rollout(ex.game, tx, w0, STONR_BASELINE_STEPS).final
    return float(stonr_certificate(ex.game, ex.box, final)[0])


def stonr_section(names: Sequence[str]) -> dict:
    """STON'R on built-in box-constrained games: the point, its certificate and events,
    next to projected SimGD's and extragradient's residuals after 10,000 steps."""
    examples = catalogue.constrained_examples()
    rows = {}
    for name in names:
        ex = examples[name]
        out = run_stonr(ex.game, ex.box)
        rows[name] = {
            "point": [float(out.point.phi), float(out.point.theta)],
            "status": out.status_name,
            "residual": float(out.residual),
            "local_type": out.local_type_name,
            "events_good_bad_middling_moves": [int(c) for c in np.asarray(out.counts)],
            "projected_simgd_residual": _projected_residual(ex, "simgd"),
            "projected_extragradient_residual": _projected_residual(ex, "extragradient"),
        }
    return rows


# --------------------------------------------------------------------------- progress


class Progress:
    """A one-line progress bar on a terminal (a line per item otherwise)."""

    def __init__(self, total: int, stream=None):
        self.total, self.done, self.start = total, 0, time.perf_counter()
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def step(self, label: str):
        self.done += 1
        elapsed = time.perf_counter() - self.start
        eta = elapsed / self.done * (self.total - self.done)
        bar = "#" * int(24 * self.done / self.total)
        line = f"[{bar:<24}] {self.done}/{self.total} {label} ({elapsed:.0f} s, ~{eta:.0f} s left)"
        if self.tty:
            self.stream.write("\r" + line[:110].ljust(110) + ("\n" if self.done == self.total else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


# --------------------------------------------------------------------------- the report


#: Where a game of the report comes from, so that a worker process can build it again:
#: ``("builtin", name)`` or ``("file", path, name)``.
GameSource = tuple


def _build_from_source(source: GameSource) -> Game:
    if source[0] == "builtin":
        return builtin_games()[source[1]]()
    if source[0] == "file":
        return load_game_file(source[1])[source[2]]()
    raise ValueError(f"unknown game source {source!r}")


_WORKER_GAMES: Dict[tuple, Game] = {}


def enable_compile_cache(path: str) -> None:
    """Switch on JAX's persistent compilation cache in ``path`` for every program (the
    report's programs compile in well under JAX's default one-second threshold)."""
    os.makedirs(path, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    try:  # JAX decides once per process whether the cache is used: decide again (in-process calls)
        from jax._src import compilation_cache

        compilation_cache.reset_cache()
    except (ImportError, AttributeError):  # pragma: no cover - a JAX without it
        pass


def _init_worker(x64: bool, cache_dir: Optional[str]):
    """A report worker process: the parent's precision and compilation cache."""
    jax.config.update("jax_enable_x64", x64)
    if cache_dir:
        enable_compile_cache(cache_dir)


def _worker_job(kind: str, spec: tuple):
    """One unit of the report in a worker process: an (game, algorithm) analysis or a
    STON'R game. Each process builds a game once and re-uses its compiled programs."""
    if kind == "stonr":
        return stonr_section([spec[0]])
    source, aname, lrs, steps, offset, refine, devices = spec
    game = _WORKER_GAMES.get(source)
    if game is None:
        game = _WORKER_GAMES[source] = _build_from_source(source)
    return analyse_algorithm(game, builtin_algorithms()[aname], lrs, steps, offset, refine=refine, devices=devices)


def run_report(
    games: Dict[str, Callable[[], Game]],
    algorithms: Dict[str, Algorithm],
    lrs,
    steps: int,
    out: str,
    *,
    offset: float = 0.5,
    refine: bool = True,
    stonr: Sequence[str] = (),
    plot: bool = True,
    devices=None,
    settings: Optional[dict] = None,
    workers: int = 2,
    sources: Optional[Dict[str, GameSource]] = None,
) -> dict:
    """Analyse every game under every algorithm and write ``report.md``, ``report.json``
    and one PNG per game (with matplotlib) to ``out``. Returns the report dict.

    Tracing the programs is Python work, which threads of one process do not run in
    parallel; so with ``workers > 1``, games given with their ``sources`` (built-in names or
    game files) and built-in algorithms, the (game, algorithm) analyses and the STON'R games
    run in ``workers`` processes (started with ``spawn``), while this process computes the
    field spectra and draws each game's figure as soon as its analyses are in. Otherwise
    they run on threads. The numbers do not depend on the number or kind of workers.
    """
    final_out = out
    out = _staging_folder(final_out)
    try:
        report = _run_report(games, algorithms, lrs, steps, out, offset=offset, refine=refine, stonr=stonr, plot=plot,
                             devices=devices, settings=settings, workers=workers, sources=sources)
        _commit(out, final_out, report)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return report


def check_output_folder(out: str) -> None:
    """Raise ``OSError`` (with the reason) unless ``out`` can be created and written, and a
    staging folder beside it too: checked before any work."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise OSError(f"--out {out!r} exists and is not a folder")
    try:
        os.makedirs(out, exist_ok=True)
        for folder in (out, os.path.dirname(os.path.abspath(out))):
            with tempfile.TemporaryFile(dir=folder):
                pass
    except OSError as err:
        raise OSError(f"--out {out!r} is not writable ({err.strerror or err})") from err


def _staging_folder(out: str) -> str:
    """A fresh folder beside ``out`` where the report is written before it is committed."""
    parent = os.path.dirname(os.path.abspath(out))
    os.makedirs(parent, exist_ok=True)
    return tempfile.mkdtemp(prefix=f".{os.path.basename(os.path.abspath(out))}.staging-", dir=parent)


def _commit(staging: str, out: str, report: dict) -> None:
    """Move the finished report from ``staging`` into ``out`` with Ctrl-C held off: the
    figures of an earlier report that this one does not produce are removed, each file is
    replaced atomically (``os.replace``), ``report.json`` last."""
    os.makedirs(out, exist_ok=True)
    previous = os.path.join(out, "report.json")
    old_figures = set()
    try:
        with open(previous) as fh:
            old_figures = {e.get("figure") for e in json.load(fh).get("games", {}).values() if e.get("figure")}
    except (OSError, ValueError, AttributeError):
        pass
    new_files = sorted(os.listdir(staging))
    handler = None
    if threading.current_thread() is threading.main_thread():
        handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
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
        if handler is not None:
            signal.signal(signal.SIGINT, handler)


def strict_json(value):
    """``value`` with every non-finite float replaced by ``None`` (JSON has no NaN or
    infinity; strict parsers reject them)."""
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _run_report(games, algorithms, lrs, steps, out, *, offset, refine, stonr, plot, devices, settings, workers, sources):
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
    plotter = _Figures(out, report, algorithms) if plot else None
    lr_list = [float(x) for x in np.asarray(lrs)]

    if in_processes:
        import multiprocessing

        cache_dir = jax.config.jax_compilation_cache_dir
        pool = ProcessPoolExecutor(
            int(workers), mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker,
            initargs=(bool(jax.config.jax_enable_x64), cache_dir),
        )
        futures = {
            pool.submit(_worker_job, "pair", (sources[g], a, lr_list, steps, offset, refine, devices)): ("pair", g, a)
            for g, a in pairs
        }
        futures.update({pool.submit(_worker_job, "stonr", (name,)): ("stonr", name, None) for name in stonr})
    else:
        pool = ThreadPoolExecutor(max(1, int(workers)))
        built = {g: build() for g, build in games.items()}

        def job(pair):
            gname, aname = pair
            return analyse_algorithm(built[gname], algorithms[aname], lrs, steps, offset, refine=refine, devices=devices)

        futures = {pool.submit(job, pair): ("pair",) + pair for pair in pairs}
    _collect(pool, futures, games, algorithms, report, progress, plotter, in_processes, None if in_processes else built)
    for gname, entry in report["games"].items():
        entry["algorithms"] = {a: entry["algorithms"][a] for a in algorithms}
    stonr_rows = report.pop("_stonr_rows", {})
    if stonr:
        if not in_processes:
            for name in stonr:
                stonr_rows.update(stonr_section([name]))
                progress.step(f"STON'R {name}")
        report["stonr"] = {name: stonr_rows[name] for name in stonr}
    report["seconds"] = time.perf_counter() - start
    with open(os.path.join(out, "report.json"), "w") as fh:
        json.dump(strict_json(report), fh, indent=1, allow_nan=False)
    with open(os.path.join(out, "report.md"), "w") as fh:
        fh.write(markdown(report))
    return report


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


def _collect(pool, futures, games, algorithms, report, progress, plotter, in_processes, built):
    """Gather the analyses as they finish (the field spectra computed here meanwhile); on
    any exception, Ctrl-C included, the pool is stopped at once, not drained."""
    try:
        for gname, build in games.items():
            report["games"][gname].update(analyse_game(build() if in_processes else built[gname]))
        stonr_rows = report.setdefault("_stonr_rows", {})
        for fut in as_completed(futures):
            kind, name, aname = futures[fut]
            if kind == "stonr":
                stonr_rows.update(fut.result())
                progress.step(f"STON'R {name}")
                continue
            report["games"][name]["algorithms"][aname] = fut.result()
            progress.step(f"{name} / {aname}")
            if plotter is not None and len(report["games"][name]["algorithms"]) == len(algorithms):
                plotter.draw(name)
    except BaseException:
        _stop(pool)
        raise
    pool.shutdown(wait=True)


class _Figures:
    """Draws one game's figure once its analyses are complete (matplotlib, if installed)."""

    def __init__(self, out: str, report: dict, algorithms):
        from .plotting import have_matplotlib

        self.out, self.report, self.algorithms = out, report, list(algorithms)
        self.enabled = have_matplotlib()

    def draw(self, gname: str):
        if not self.enabled:
            return
        from .plotting import game_report_figure

        entry = self.report["games"][gname]
        ordered = dict(entry, algorithms={a: entry["algorithms"][a] for a in self.algorithms})
        entry["figure"] = f"{_slug(gname)}.png"
        game_report_figure(os.path.join(self.out, entry["figure"]), gname, ordered)


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


def _f(x, digits=3):
    if x is None:
        return "-"
    x = float(x)
    if np.isinf(x):
        return "inf"
    if np.isnan(x):
        return "-"
    return f"{x:.{digits}g}"


def _eigs(pairs, limit=4):
    clean = lambda x: 0.0 if abs(x) < 1e-12 else x  # noqa: E731
    text = " ".join(f"{clean(a):+.3g}{clean(b):+.3g}i" for a, b in pairs[:limit])
    return text + (" ..." if len(pairs) > limit else "")


def _simgd_bound(step) -> str:
    if step is None or not step > 0:
        return "no SimGD step is stable (an eigenvalue has `Re >= 0`)"
    return f"SimGD stable for `0 < eta < {_f(step)}`"


def table_rows(report: dict) -> List[str]:
    """The printed summary table, one line per (game, algorithm)."""
    header = (
        f"{'game':<21} {'algorithm':<16} {'min rho':>8} {'at lr':>7} {'rate':>7} {'conv/stable/runs':>16} "
        f"{'agree 1-D':>9} {'map agree':>9} {'refinement (order)':<34}"
    )
    lines = [header, "-" * len(header)]
    for gname, entry in report["games"].items():
        for aname, row in entry["algorithms"].items():
            ref = row.get("refinement")
            ref_text = "-" if ref is None else f"{ref['verdict']} ({_f(ref.get('order'), 2)})"
            if row.get("not_applicable"):
                ref_text = "n/a: " + ("H_tt singular" if "singular" in row["not_applicable"] else "undefined") + " at eq."
            lines.append(
                f"{gname:<21} {aname:<16} {_f(row['min_radius'], 4):>8} {row['best_lr']:>7.3g} "
                f"{_f(row['measured_rate_at_best'], 4):>7} {row['converged']:>5}/{row['predicted_stable']}/{row['runs']:<5} "
                f"{row['agree_1d'][0]:>4}/{row['agree_1d'][1]:<4} {row['map_agreement'][0]:>4}/{row['map_agreement'][1]:<4} "
                f"{ref_text:<34}"
            )
    return lines


def markdown(report: dict) -> str:
    """The report as markdown."""
    s = report.get("settings", {})
    out = [
        "# jaxgan analysis report",
        "",
        f"Device: {report.get('device', '?')}; {s.get('steps', '?')} steps per run from the equilibrium + "
        f"{s.get('offset', '?')}; learning rates {s.get('lr_min', '?')} to {s.get('lr_max', '?')} "
        f"({s.get('num_lr', '?')}, log-spaced); {report.get('seconds', 0):.0f} s.",
        "",
        "For each game: the eigenvalues of the field's Jacobian `A = dv/dw` at the equilibrium (stable flow iff every "
        "`Re < 0`), and for each algorithm the spectral radius `rho` of one step at the equilibrium over a grid of "
        "learning rates x the algorithm's hyperparameter (the stability map; `rho < 1`: locally convergent), next to "
        "the outcome of a run from the perturbed start at every grid point. *Agree* counts grid points where "
        f"`rho < 1` iff the run converged, among those with `|rho - 1| > {MARGIN}`. *Rate* is the measured per-step "
        "contraction at the learning rate of smallest `rho`, fitted on the run's transient (above its floor: rounding, "
        "or an inner solver's tolerance); for a linear step it equals `rho`. *Refinement* is Turinici's test "
        "at that learning rate: runs at `eta, eta/2, eta/4, eta/8` with 1x, 2x, 4x, 8x the steps, compared with each other on "
        "the cumulative learning rate; *order* is `log2` of the ratio of successive gaps (1: first order, the runs "
        "approach the flow); *resolved* means the finest gap is within 1% of the curve's size, i.e. the step "
        "resolves the gradient flow (it says nothing about convergence to the equilibrium; `jaxgan.refinement_test` "
        "also compares with the flow, by diffrax).",
        "",
    ]
    for gname, e in report["games"].items():
        out += [
            f"## {gname}",
            "",
            f"Eigenvalues {_eigs(e['eigenvalues'])}; phase factor {_f(e['phase_factor'])}, conditioning factor "
            f"{_f(e['conditioning_factor'])}; {_simgd_bound(e['stable_simgd_step'])}; flow "
            f"{'stable' if e['flow_stable'] else 'not stable'} at the equilibrium.",
            "",
            "| algorithm | min rho | at lr | measured rate | converged / predicted / runs | agree (1-D) | "
            "map axis | agree (map) | diverged runs | refinement | order |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for aname, r in e["algorithms"].items():
            ref = r.get("refinement") or {}
            div = r["diverged"]
            div_text = f"{len(div)} (first at step {min(d['step'] for d in div)})" if div else "0"
            out.append(
                f"| {aname} | {_f(r['min_radius'], 4)} | {r['best_lr']:.3g} | {_f(r['measured_rate_at_best'], 4)} | "
                f"{r['converged']} / {r['predicted_stable']} / {r['runs']} | {r['agree_1d'][0]}/{r['agree_1d'][1]} | "
                f"{r['axis'] or 'lr only'} | {r['map_agreement'][0]}/{r['map_agreement'][1]} | {div_text} | "
                f"{ref.get('verdict', '-')} | {_f(ref.get('order'), 2)} |"
            )
        for aname, r in e["algorithms"].items():
            if r.get("not_applicable"):
                out += ["", f"*{aname}*: {r['not_applicable']}; its runs are still measured."]
        if e.get("figure"):
            out += ["", f"![{gname}]({e['figure']})"]
        out.append("")
    if report.get("stonr"):
        out += [
            "## STON'R on box-constrained games",
            "",
            f"Residual of the first-order min-max conditions `|z - Pi_box(z - V(z))|` at STON'R's point, next to "
            f"projected SimGD and extragradient after {STONR_BASELINE_STEPS} steps at lr 0.02.",
            "",
            "| game | point | residual | local type | good / bad / middling events | SimGD residual | EG residual |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, r in report["stonr"].items():
            c = r["events_good_bad_middling_moves"]
            out.append(
                f"| {name} | ({r['point'][0]:+.6f}, {r['point'][1]:+.6f}) | {r['residual']:.1e} | {r['local_type']} | "
                f"{c[0]} / {c[1]} / {c[2]} | {r['projected_simgd_residual']:.2e} | {r['projected_extragradient_residual']:.2e} |"
            )
        out.append("")
    return "\n".join(out)
