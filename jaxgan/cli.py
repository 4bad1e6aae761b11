"""The ``jaxgan`` command: the full analysis report of the built-in games (or a user's
game file) under every algorithm of the library.

For every chosen game and algorithm (``jaxgan.report``): the field spectrum at the
equilibrium; the stability map, the spectral radius of one algorithm step over (learning
rate x the algorithm's hyperparameter), next to a vmapped sweep of the same grid from a
perturbed start (which runs converge, spiral out or overflow, and at which step); the
measured contraction rate next to the predicted one; and Turinici's learning-rate
refinement verdict. STON'R runs on the box-constrained games. It prints a table and
writes ``report.md``, ``report.json`` and one PNG per game to the output folder.
"""

from __future__ import annotations

import argparse
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np

from . import games as catalogue
from .report import builtin_algorithms, builtin_games, enable_compile_cache, load_game_file, run_report, table_rows

def default_cache_dir() -> str:
    """Where the CLI keeps JAX's persistent compilation cache: ``$XDG_CACHE_HOME/jaxgan/xla``
    (``~/.cache/jaxgan/xla`` by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "jaxgan", "xla")


def main(argv=None) -> int:
    games = builtin_games()
    algorithms = builtin_algorithms()
    parser = argparse.ArgumentParser(
        prog="jaxgan",
        description="Exact local analysis of two-player games: spectra, stability maps, sweeps, refinement tests, STON'R.",
    )
    parser.add_argument("--game", action="append", choices=sorted(games), help="built-in game (repeatable; default all)")
    parser.add_argument(
        "--game-file",
        help="a Python file defining `game = jaxgan.Game(..., equilibrium=...)` or `games = {name: Game}`; "
        "analysed instead of the built-in games unless --game is also given",
    )
    parser.add_argument(
        "--algorithm", action="append", choices=sorted(algorithms), help="algorithm (repeatable; default all)"
    )
    parser.add_argument("--lr-min", type=float, default=1e-2, help="smallest learning rate (default 0.01)")
    parser.add_argument("--lr-max", type=float, default=10.0, help="largest learning rate (default 10)")
    parser.add_argument("--num-lr", type=int, default=24, help="learning rates, log-spaced (default 24)")
    parser.add_argument("--steps", type=int, default=2000, help="steps per run (default 2000)")
    parser.add_argument("--offset", type=float, default=0.5, help="start = equilibrium + offset (default 0.5)")
    parser.add_argument("--no-refinement", action="store_true", help="skip the learning-rate refinement test")
    parser.add_argument("--workers", type=int, default=2, help="worker processes tracing, compiling and running the analyses in parallel (default 2; 1: all in this process)")
    parser.add_argument("--out", default="jaxgan-report", help="output folder (default ./jaxgan-report)")
    parser.add_argument("--no-plot", action="store_true", help="skip the figures")
    parser.add_argument("--float32", action="store_true", help="run in float32 (default float64)")
    parser.add_argument("--devices", choices=["default", "all"], default="default",
                        help="'all' shards every sweep over jax.devices() (default: one device)")
    parser.add_argument(
        "--compile-cache-dir", default=None,
        help=f"JAX's persistent compilation cache: a second run re-uses the compiled programs (default {default_cache_dir()})",
    )
    parser.add_argument("--no-compile-cache", action="store_true", help="do not read or write the compilation cache")
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
    if not args.no_refinement and args.steps % 8:
        parser.error("--steps must be a multiple of 8 for the refinement test (or give --no-refinement)")
    if not args.float32:
        jax.config.update("jax_enable_x64", True)
    if not args.no_compile_cache:
        try:
            enable_compile_cache(args.compile_cache_dir or default_cache_dir())
        except OSError as err:  # a read-only home: run without the cache
            print(f"jaxgan: compilation cache off ({err})", file=sys.stderr)

    chosen, sources = {}, {}
    if args.game_file:
        try:
            chosen.update(load_game_file(args.game_file))
        except ValueError as err:
            parser.error(str(err))
        sources.update({k: ("file", os.path.abspath(args.game_file), k) for k in chosen})
    if args.game or not args.game_file:
        chosen.update({k: games[k] for k in (args.game or list(games))})
        sources.update({k: ("builtin", k) for k in (args.game or list(games))})
    chosen_algs = {k: algorithms[k] for k in (args.algorithm or list(algorithms))}
    chosen_stonr = [] if args.stonr and "none" in args.stonr else (args.stonr or stonr_games)
    lrs = jnp.logspace(np.log10(args.lr_min), np.log10(args.lr_max), args.num_lr)
    print(
        f"jaxgan: {len(chosen)} games x {len(chosen_algs)} algorithms, {args.num_lr} learning rates in "
        f"[{args.lr_min:g}, {args.lr_max:g}] x each algorithm's hyperparameter, {args.steps} steps per run, "
        f"on {jax.devices()[0].platform} ({jax.device_count()} device(s))",
        flush=True,
    )
    report = run_report(
        chosen,
        chosen_algs,
        lrs,
        args.steps,
        args.out,
        offset=args.offset,
        refine=not args.no_refinement,
        stonr=chosen_stonr,
        plot=not args.no_plot,
        devices="all" if args.devices == "all" else None,
        workers=args.workers,
        sources=sources,
        settings=vars(args),
    )
    print("\n".join(table_rows(report)))
    if report.get("stonr"):
        print("\nSTON'R (projected SimGD / extragradient residuals after 10,000 steps at lr 0.02):")
        for name, r in report["stonr"].items():
            print(
                f"  {name:<18} point ({r['point'][0]:+.6f}, {r['point'][1]:+.6f}) residual {r['residual']:.1e} "
                f"{r['local_type']:<14} SimGD {r['projected_simgd_residual']:.2e} EG {r['projected_extragradient_residual']:.2e}"
            )
    print(
        "\nrho: spectral radius of one step at the equilibrium (< 1: locally convergent), minimised over the learning"
        "\nrates at the default hyperparameter; rate: measured per-step contraction of the run there; conv/stable/runs:"
        "\nconverged runs / points with rho < 1 / all; agree: rho < 1 iff converged, away from rho = 1, on the 1-D"
        "\ngrid and on the whole (lr x hyperparameter) map; refinement: Turinici's test at the best lr."
    )
    figures = [e["figure"] for e in report["games"].values() if e.get("figure")]
    print(f"wrote {os.path.join(args.out, 'report.md')}, report.json and {len(figures)} figure(s) in {report['seconds']:.1f} s")
    if not args.no_plot and not figures:
        print("(install matplotlib for the figures: pip install 'jaxgan[plots]')")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
