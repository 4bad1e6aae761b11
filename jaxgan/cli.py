"""The ``jaxgan`` command: an exact stability analysis of the built-in games.

For every chosen game and algorithm it computes, at the game's equilibrium, the field
spectrum (phase and conditioning factors, the largest stable SimGD step), the spectral
radius of one whole algorithm step over a learning-rate grid (vmapped
``spectral_radius``), and runs the same grid as one vmapped sweep from a perturbed
start: which runs converge, spiral out or overflow, and the measured contraction rate
next to the predicted one. It prints a table and writes ``report.json`` and (with
matplotlib) ``report.png`` to the output folder.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Callable, Dict

import jax
import jax.numpy as jnp
import numpy as np
import optax

from . import games as catalogue
from . import regularizers
from ._game import Game
from ._rollout import STATUS_NAMES, rollout, sweep
from ._spectral import spectral_radius, spectrum
from .plotting import have_matplotlib, report_figure
from .transforms import alternating, best_response, consensus, extragradient, follow_the_ridge, jare, project_box, run_stonr, sga, stonr_certificate


def builtin_games() -> Dict[str, Callable[[], Game]]:
    """The games the main job knows, by name."""
    return {
        "dirac-standard": lambda: catalogue.dirac("standard"),
        "dirac-non_saturating": lambda: catalogue.dirac("non_saturating"),
        "dirac-wgan": lambda: catalogue.dirac("wgan"),
        "dirac-standard+r1": lambda: regularizers.r1(catalogue.dirac("standard"), 0.3),
        "dirac-standard+noise": lambda: regularizers.instance_noise(catalogue.dirac("standard"), 0.7),
        "linear-gaussian": lambda: catalogue.linear_gaussian(jnp.array([1.0, 0.5]), 1.0),
    }


def builtin_algorithms() -> Dict[str, Callable]:
    """The algorithms the main job knows: ``lr -> optax transformation`` (corrections
    with weight 1; best-response descent takes the Riemannian step with Newton
    retraction, and reports a game without a best response as non-finite runs)."""
    return {
        "simgd": lambda lr: optax.sgd(lr),
        "alternating": lambda lr: alternating(optax.sgd(lr)),
        "consensus": lambda lr: optax.chain(consensus(1.0), optax.sgd(lr)),
        "jare": lambda lr: optax.chain(jare(1.0), optax.sgd(lr)),
        "sga": lambda lr: optax.chain(sga(1.0), optax.sgd(lr)),
        "extragradient": lambda lr: extragradient(optax.sgd(lr)),
        "follow-the-ridge": lambda lr: optax.chain(follow_the_ridge(), optax.sgd(lr)),
        "best-response": lambda lr: best_response(optax.sgd(lr)),
    }


def _fmt_eigs(lam, limit=4):
    lam = np.asarray(lam)
    clean = lambda x: 0.0 if abs(x) < 1e-12 else x  # noqa: E731
    parts = [f"{clean(z.real):+.3g}{clean(z.imag):+.3g}i" for z in lam[:limit]]
    return " ".join(parts) + (" ..." if lam.size > limit else "")


def _fmt(x, digits=3):
    x = float(x)
    if np.isinf(x):
        return "inf"
    if np.isnan(x):
        return "-"
    return f"{x:.{digits}g}"


MARGINAL_TOL = 1e-6


def _record_every(steps: int) -> int:
    for k in range(max(1, steps // 100), 0, -1):
        if steps % k == 0:
            return k
    return 1


def measured_rates(distance: np.ndarray, every: int) -> np.ndarray:
    """Per-step contraction ``(d_k / d_0)^(1/k)`` of each run, taken at the last recorded
    ``k`` before the distance reaches the rounding floor (``1e-12 d_0``); for runs that
    do not contract it is the rate over the whole run (above one when they grow)."""
    d0 = distance[:, :1]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        above = np.isfinite(distance) & (distance > 1e-12 * d0)
        above[:, 0] = True
        last = np.where(above.all(axis=1), distance.shape[1] - 1, np.argmin(above, axis=1) - 1)
        last = np.maximum(last, 1)
        dk = np.take_along_axis(distance, last[:, None], axis=1)[:, 0]
        rate = (dk / d0[:, 0]) ** (1.0 / (last * every))
    return np.where(np.isfinite(rate), rate, np.inf)


def analyse(game: Game, algorithms: Dict[str, Callable], lrs, steps: int, offset: float):
    """Spectrum, stability over the grid and an empirical sweep for one game."""
    w_star = game.equilibrium
    spec = spectrum(game, w_star)
    w0 = jax.tree.map(lambda x: x + offset, w_star)
    rows = []
    radius, status = {}, {}
    for name, make in algorithms.items():
        rho = np.asarray(jax.jit(jax.vmap(lambda lr: spectral_radius(game, make(lr), w_star)))(lrs))
        every = _record_every(steps)
        res = sweep(game, lambda h: make(h["lr"]), w0, {"lr": lrs}, steps, record_every=every)
        st = np.asarray(res.status)
        measured = measured_rates(np.asarray(res.distance), every)
        best = int(np.nanargmin(rho)) if np.any(np.isfinite(rho)) else 0  # NaN: the algorithm is undefined there
        # |rho - 1| <= MARGINAL_TOL is marginal (eigenvalues on the unit circle up to rounding)
        predicted_stable = rho < 1.0 - MARGINAL_TOL
        converged = st == 0
        # runs within 2% of the stability boundary may go either way in finitely many steps
        clear = np.abs(rho - 1.0) > 0.02
        agree = int(np.sum((predicted_stable == converged) & clear))
        radius[name], status[name] = rho, st
        rows.append(
            {
                "algorithm": name,
                "min_radius": float(rho[best]),
                "best_lr": float(lrs[best]),
                "measured_rate_at_best": float(measured[best]),
                "converged": int(converged.sum()),
                "predicted_stable": int(predicted_stable.sum()),
                "runs": int(lrs.size),
                "agree_away_from_boundary": f"{agree}/{int(clear.sum())}",
                "outcomes": {n: int((st == c).sum()) for c, n in enumerate(STATUS_NAMES)},
                "radius": rho.tolist(),
                "status": [STATUS_NAMES[int(s)] for s in st],
                "first_nonfinite": np.asarray(res.first_nonfinite).tolist(),
            }
        )
    return spec, rows, radius, status


def run_stonr_section(names):
    """STON'R on built-in box-constrained games: the point, its certificate and events,
    next to projected SimGD's and extragradient's residuals after 10,000 steps."""
    examples = catalogue.constrained_examples()
    print(f"\nSTON'R on box-constrained games (projected SimGD / extragradient: lr 0.02, {STONR_BASELINE_STEPS} steps)")
    header = f"{'game':<18} {'point':<24} {'residual':>9} {'type':<14} {'good/bad/mid':>12} {'moves':>6} {'SimGD res':>10} {'EG res':>9}"
    print(header)
    print("-" * len(header))
    rows = {}
    for name in names:
        ex = examples[name]
        out = run_stonr(ex.game, ex.box)
        base = {k: _projected_residual(ex, tx) for k, tx in (("simgd", optax.sgd(0.02)), ("extragradient", extragradient(optax.sgd(0.02))))}
        counts = [int(c) for c in np.asarray(out.counts)]
        point = [float(out.point.phi), float(out.point.theta)]
        print(
            f"{name:<18} ({point[0]:+.6f}, {point[1]:+.6f})   {float(out.residual):>9.1e} {out.local_type_name:<14} "
            f"{counts[0]:>4}/{counts[1]}/{counts[2]:<4} {counts[3]:>6} {base['simgd']:>10.2e} {base['extragradient']:>9.2e}"
        )
        rows[name] = {
            "point": point,
            "status": out.status_name,
            "residual": float(out.residual),
            "local_type": out.local_type_name,
            "events_good_bad_middling_moves": counts,
            "projected_simgd_residual": base["simgd"],
            "projected_extragradient_residual": base["extragradient"],
        }
    return rows


STONR_BASELINE_STEPS = 10000


def _projected_residual(ex, tx):
    chain = optax.chain(tx, project_box(ex.box))
    w0 = jax.tree.map(lambda a, b: jnp.asarray((a + b) / 2 + 0.1), ex.box.lo, ex.box.hi)
    final = jax.jit(lambda w: rollout(ex.game, chain, w, STONR_BASELINE_STEPS).final)(w0)
    return float(stonr_certificate(ex.game, ex.box, final)[0])


def main(argv=None) -> int:
    games = builtin_games()
    algorithms = builtin_algorithms()
    parser = argparse.ArgumentParser(
        prog="jaxgan",
        description="Exact local analysis of two-player games: spectra, stability over learning rates, sweeps.",
    )
    parser.add_argument("--game", action="append", choices=sorted(games), help="game to analyse (repeatable; default all)")
    parser.add_argument(
        "--algorithm", action="append", choices=sorted(algorithms), help="algorithm (repeatable; default all)"
    )
    parser.add_argument("--lr-min", type=float, default=1e-2, help="smallest learning rate (default 0.01)")
    parser.add_argument("--lr-max", type=float, default=10.0, help="largest learning rate (default 10)")
    parser.add_argument("--num-lr", type=int, default=40, help="learning rates, log-spaced (default 40)")
    parser.add_argument("--steps", type=int, default=2000, help="steps per run (default 2000)")
    parser.add_argument("--offset", type=float, default=0.5, help="start = equilibrium + offset (default 0.5)")
    parser.add_argument("--out", default="jaxgan-report", help="output folder (default ./jaxgan-report)")
    parser.add_argument("--no-plot", action="store_true", help="skip the figure")
    parser.add_argument("--float32", action="store_true", help="run in float32 (default float64)")
    stonr_games = sorted(catalogue.constrained_examples())
    parser.add_argument(
        "--stonr",
        action="append",
        choices=stonr_games + ["none"],
        help="box-constrained game for STON'R (repeatable; default all; 'none' skips)",
    )
    args = parser.parse_args(argv)
    if not (0 < args.lr_min < args.lr_max):
        parser.error("--lr-min and --lr-max must satisfy 0 < lr-min < lr-max")
    if args.num_lr < 1 or args.steps < 1:
        parser.error("--num-lr and --steps must be positive")
    if not args.float32:
        jax.config.update("jax_enable_x64", True)

    chosen_games = args.game or list(games)
    chosen_algs = {k: algorithms[k] for k in (args.algorithm or list(algorithms))}
    lrs = jnp.logspace(np.log10(args.lr_min), np.log10(args.lr_max), args.num_lr)
    os.makedirs(args.out, exist_ok=True)
    start = time.perf_counter()
    print(f"jaxgan: {len(chosen_games)} games x {len(chosen_algs)} algorithms, {args.num_lr} learning rates in "
          f"[{args.lr_min:g}, {args.lr_max:g}], {args.steps} steps per run, on {jax.devices()[0].platform}")
    header = (
        f"{'game':<22} {'algorithm':<14} {'field eigenvalues':<34} {'phase':>6} {'cond':>6} {'SimGD eta<':>10} "
        f"{'min rho':>8} {'at lr':>7} {'rate':>7} {'conv/stable/runs':>17} {'agree':>6}"
    )
    print(header)
    print("-" * len(header))
    report, panels = {"settings": vars(args), "games": {}}, []
    for gname in chosen_games:
        game = games[gname]()
        spec, rows, radius, status = analyse(game, chosen_algs, lrs, args.steps, args.offset)
        for row in rows:
            print(
                f"{gname:<22} {row['algorithm']:<14} {_fmt_eigs(spec.eigenvalues):<34} {_fmt(spec.phase_factor):>6} "
                f"{_fmt(spec.conditioning_factor):>6} {_fmt(spec.stable_step):>10} {_fmt(row['min_radius'], 4):>8} "
                f"{row['best_lr']:>7.3g} {_fmt(row['measured_rate_at_best'], 4):>7} "
                f"{row['converged']:>5}/{row['predicted_stable']}/{row['runs']:<5} {row['agree_away_from_boundary']:>6}"
            )
        report["games"][gname] = {
            "eigenvalues": [[float(z.real), float(z.imag)] for z in np.asarray(spec.eigenvalues)],
            "phase_factor": float(spec.phase_factor),
            "conditioning_factor": float(spec.conditioning_factor),
            "stable_simgd_step": float(spec.stable_step),
            "flow_stable": bool(spec.is_stable),
            "zeta": np.asarray(spec.zeta).tolist(),
            "tau": np.asarray(spec.tau).tolist(),
            "learning_rates": np.asarray(lrs).tolist(),
            "algorithms": rows,
        }
        panels.append({"title": gname, "eigenvalues": spec.eigenvalues, "lrs": lrs, "radius": radius, "status": status})
    chosen_stonr = [] if args.stonr and "none" in args.stonr else (args.stonr or stonr_games)
    if chosen_stonr:
        report["stonr"] = run_stonr_section(chosen_stonr)
    elapsed = time.perf_counter() - start
    report["seconds"] = elapsed
    with open(os.path.join(args.out, "report.json"), "w") as fh:
        json.dump(report, fh, indent=1, default=float)
    print(
        "\nrho: spectral radius of one algorithm step at the equilibrium (< 1: locally convergent), minimised over the"
        "\ngrid; rate: measured per-step contraction (d_T/d_0)^(1/T) of the run at that lr; conv/stable/runs: runs that"
        "\nconverged / grid points with rho < 1 / all; agree: points where both verdicts match, away from rho = 1."
    )
    print(f"wrote {os.path.join(args.out, 'report.json')}", end="")
    if not args.no_plot and have_matplotlib():
        path = report_figure(os.path.join(args.out, "report.png"), panels)
        print(f" and {path}", end="")
    elif not args.no_plot:
        print(" (install matplotlib for the figure: pip install 'jaxgan[plots]')", end="")
    print(f" in {elapsed:.1f} s")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
