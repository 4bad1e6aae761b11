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
import signal
import sys
import threading

import jax
import jax.numpy as jnp
import numpy as np

from . import games as catalogue
from .report import (
    N_PLAYER_GAMES,
    builtin_algorithms,
    builtin_games,
    check_output_folder,
    default_games,
    enable_compile_cache,
    load_game_file,
    profile_table,
    run_report,
    table_rows,
)


def default_cache_dir() -> str:
    """Where the CLI keeps JAX's persistent compilation cache: ``$XDG_CACHE_HOME/jaxgan/xla``
    (``~/.cache/jaxgan/xla`` by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "jaxgan", "xla")


class Terminated(KeyboardInterrupt):
    """SIGTERM (a batch scheduler, ``timeout``): stops the run as Ctrl-C does (workers killed,
    the staging folder removed, the output folder left as it was)."""


def _on_sigterm(signum, frame):
    raise Terminated()


def main(argv=None) -> int:
    """The command line; returns the exit code (0, 2 for a refused option, 130 for Ctrl-C,
    143 for SIGTERM)."""
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return _main(argv)
    except Terminated:
        print("jaxgan: terminated (SIGTERM); the output folder was left as it was", file=sys.stderr)
        return 143
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _main(argv=None) -> int:
    games = builtin_games()
    algorithms = builtin_algorithms()
    parser = argparse.ArgumentParser(
        prog="jaxgan",
        description="Exact local analysis of differentiable games (two players, and n): "
        "spectra, stability maps, sweeps, refinement tests, STON'R.",
    )
    parser.add_argument(
        "--game",
        action="append",
        choices=sorted(games),
        help="built-in game (repeatable; default: the two-player games; the n-player games "
        f"{', '.join(N_PLAYER_GAMES)} run when named)",
    )
    parser.add_argument(
        "--game-file",
        help="a Python file defining `game = jaxgan.Game(..., equilibrium=...)` "
        "or `games = {name: Game}`; analysed instead of the built-in games "
        "unless --game is also given",
    )
    parser.add_argument(
        "--algorithm",
        action="append",
        choices=sorted(algorithms),
        help="algorithm (repeatable; default all)",
    )
    parser.add_argument(
        "--lr-min", type=float, default=1e-2, help="smallest learning rate (default 0.01)"
    )
    parser.add_argument(
        "--lr-max", type=float, default=10.0, help="largest learning rate (default 10)"
    )
    parser.add_argument(
        "--num-lr", type=int, default=24, help="learning rates, log-spaced (default 24)"
    )
    parser.add_argument(
        "--steps",
        type=int,
        default=2000,
        help="steps per run (default 2000); "
        "with the refinement test it is rounded up to a multiple of 8",
    )
    parser.add_argument(
        "--offset", type=float, default=0.5, help="start = equilibrium + offset (default 0.5)"
    )
    parser.add_argument(
        "--no-refinement", action="store_true", help="skip the learning-rate refinement test"
    )
    parser.add_argument(
        "--tune",
        action="store_true",
        help="add the 'tuned' column: jg.tune's least spectral radius over each map's box and "
        "where it is (a search compiled per row: minutes on the default grid)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="worker processes tracing, compiling and running the analyses in parallel (default 2; "
        "1: all in this process)",
    )
    parser.add_argument(
        "--out", default="jaxgan-report", help="output folder (default ./jaxgan-report)"
    )
    parser.add_argument("--no-plot", action="store_true", help="skip the figures")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="print where the seconds went: trace, lower, compile, run, plot and write, "
        "summed over the processes",
    )
    parser.add_argument("--float32", action="store_true", help="run in float32 (default float64)")
    parser.add_argument(
        "--devices",
        choices=["default", "all"],
        default="default",
        help="'all' shards every sweep over jax.devices() (default: one device)",
    )
    parser.add_argument(
        "--compile-cache-dir",
        default=None,
        help="JAX's persistent compilation cache: a second run re-uses the compiled programs "
        f"(default {default_cache_dir()})",
    )
    parser.add_argument(
        "--no-compile-cache", action="store_true", help="do not read or write the compilation cache"
    )
    stonr_games = sorted(catalogue.constrained_examples())
    parser.add_argument(
        "--stonr",
        action="append",
        choices=stonr_games + ["none"],
        help="box-constrained game for STON'R (repeatable; 'none' skips; "
        "default: all of them when no --game or --game-file is given, none otherwise)",
    )
    args = parser.parse_args(argv)
    for name in ("lr_min", "lr_max", "offset"):
        if not np.isfinite(getattr(args, name)):
            parser.error(f"--{name.replace('_', '-')} must be finite, got {getattr(args, name)!r}")
    if args.offset == 0:
        parser.error(
            "--offset 0 starts every run at the equilibrium: every run would read as converged "
            "and the report would measure nothing; give a non-zero offset (default 0.5)"
        )
    if not (0 < args.lr_min < args.lr_max):
        parser.error("--lr-min and --lr-max must satisfy 0 < lr-min < lr-max")
    if args.num_lr < 1 or args.steps < 1 or args.workers < 1:
        parser.error("--num-lr, --steps and --workers must be positive")
    if not args.no_refinement and args.steps % 8:
        rounded = args.steps + (-args.steps) % 8
        print(
            f"jaxgan: --steps {args.steps} rounded up to {rounded} "
            "(the refinement test halves the step three times; --no-refinement keeps any count)",
            file=sys.stderr,
        )
        args.steps = rounded
    try:
        check_output_folder(args.out)
    except OSError as err:
        parser.error(str(err))
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
        except SystemExit as err:  # the file called sys.exit(): nothing was analysed, so say so
            parser.error(
                f"--game-file {args.game_file}: the file exited (sys.exit({err.code!r})) "
                "while it was loaded: it must define `game` or `games`, not run a program"
            )
        except Exception as err:  # noqa: BLE001 - the user's file failed: one line, file and line
            parser.error(_where_it_failed(args.game_file, err))
        sources.update({k: ("file", os.path.abspath(args.game_file), k) for k in chosen})
    if args.game or not args.game_file:
        names = args.game or list(default_games())
        chosen.update({k: games[k] for k in names})
        sources.update({k: ("builtin", k) for k in names})
    chosen_algs = {k: algorithms[k] for k in (args.algorithm or list(algorithms))}
    if args.stonr:
        chosen_stonr = [] if "none" in args.stonr else args.stonr
    else:  # STON'R's built-in box games only when the user chose no game
        chosen_stonr = [] if (args.game or args.game_file) else stonr_games
    lrs = jnp.logspace(np.log10(args.lr_min), np.log10(args.lr_max), args.num_lr)
    print(
        f"jaxgan: {len(chosen)} games x {len(chosen_algs)} algorithms, {args.num_lr} "
        f"learning rates in [{args.lr_min:g}, {args.lr_max:g}] x each algorithm's hyperparameter, "
        f"{args.steps} steps per run, "
        f"on {jax.devices()[0].platform} ({jax.device_count()} device(s))",
        flush=True,
    )
    try:
        report = _run(chosen, chosen_algs, lrs, args, chosen_stonr, sources)
    except Terminated:
        raise
    except KeyboardInterrupt:
        print(f"\njaxgan: interrupted; {args.out} left as it was", file=sys.stderr)
        return 130
    _summary(report, args)
    return 0


def _where_it_failed(path: str, err: BaseException) -> str:
    """``file:line: Type: message`` of an exception raised while running a game file."""
    line = getattr(err, "lineno", None) if isinstance(err, SyntaxError) else None
    tb = err.__traceback__
    target = os.path.abspath(path)
    while tb is not None:
        if os.path.abspath(tb.tb_frame.f_code.co_filename) == target:
            line = tb.tb_lineno
        tb = tb.tb_next
    where = f"{path}:{line}" if line else path
    message = str(err).splitlines()[0] if str(err) else ""
    return f"--game-file {where}: {type(err).__name__}: {message}"


def _run(chosen, chosen_algs, lrs, args, chosen_stonr, sources):
    return run_report(
        chosen,
        chosen_algs,
        lrs,
        args.steps,
        args.out,
        offset=args.offset,
        refine=not args.no_refinement,
        tune=args.tune,
        stonr=chosen_stonr,
        plot=not args.no_plot,
        devices="all" if args.devices == "all" else None,
        workers=args.workers,
        sources=sources,
        settings=vars(args),
        profile=args.profile,
    )


def _summary(report, args) -> None:
    print("\n".join(table_rows(report)))
    if report.get("stonr"):
        print("\nSTON'R (projected SimGD / extragradient residuals after 10,000 steps at lr 0.02):")
        for name, r in report["stonr"].items():
            print(
                f"  {name:<18} point ({r['point'][0]:+.6f}, {r['point'][1]:+.6f}) "
                f"residual {r['residual']:.1e} "
                f"{r['local_type']:<14} SimGD {r['projected_simgd_residual']:.2e} "
                f"EG {r['projected_extragradient_residual']:.2e}"
            )
    print(
        "\nrho: spectral radius of one step at the equilibrium, "
        "per step over its cycle for a periodic step (lookahead)"
        "\n(< 1: locally convergent), "
        "minimised over the learning rates at the default hyperparameter; "
        "rate: measured per-step contraction of the run there; conv/stable/runs:"
        "\nconverged runs / points with rho < 1 / all; agree: rho < 1 iff converged, "
        "away from rho = 1, on the 1-D"
        "\ngrid and on the whole (lr x hyperparameter) map; "
        "refinement: Turinici's test at the best lr."
    )
    figures = [e["figure"] for e in report["games"].values() if e.get("figure")]
    print(
        f"wrote {os.path.join(args.out, 'report.md')}, report.json and {len(figures)} figure(s) in "
        f"{report['seconds']:.1f} s"
    )
    if not args.no_plot and not figures:
        print("(install matplotlib for the figures: pip install 'jaxgan[plots]')")
    if "profile" in report:
        print("\n".join(profile_table(report["profile"])))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
