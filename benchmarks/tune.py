"""``jg.tune`` against a dense grid search of the same spectral radius, and against a hand-written
grid followed by SciPy's Nelder-Mead, on three problems whose optimum is a kink:

- alternating GDA on ``x^2/2 + x y - y^2/2`` (one hyperparameter; closed form ``3 - 2 sqrt 2``),
- heavy ball on the Hamiltonian of ``x^T diag(1, 2) y`` (two; Polyak's ``1/3``),
- complex momentum on ``x y`` (three; no closed form: the reference is the least radius any
  method found).

For each: the error of the radius found and the wall time (the first call, compilation
included, and a repeat call), the dense grid at growing sizes (the time to reach tune's error,
and the error at tune's time), and the grid + SciPy baseline. Float64. Writes
``benchmarks/results/tune.json``.

Usage: ``python benchmarks/tune.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
import scipy.optimize
from sweep_dirac import hardware

import jaxgan as jg

jax.config.update("jax_enable_x64", True)
HERE = os.path.dirname(os.path.abspath(__file__))


def problems():
    block = jg.families.quadratic(1.0, 1.0, 1.0).block(1.0)
    diag12 = jg.games.bilinear(jnp.diag(jnp.array([1.0, 2.0])))
    xy = jg.games.bilinear(1.0)
    return {
        "alternating GDA (1 hyperparameter)": (
            block, lambda h: jg.transforms.alternating(optax.sgd(h["lr"])), {"lr": (0.01, 2.0)}, 3 - 2 * math.sqrt(2),
        ),
        "heavy ball on the Hamiltonian (2)": (
            diag12,
            lambda h: optax.chain(jg.transforms.hamiltonian(), optax.sgd(h["lr"], momentum=h["b"])),
            {"lr": (0.01, 1.0), "b": (0.0, 0.9)},
            1 / 3,
        ),
        "complex momentum on x y (3)": (
            xy,
            lambda h: jg.transforms.complex_momentum(h["lr"], h["mod"] * jnp.exp(1j * h["arg"])),
            {"lr": (0.01, 1.0), "mod": (0.0, 0.99), "arg": (0.0, math.pi)},
            None,
        ),
    }


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    jax.block_until_ready(out)
    return out, time.perf_counter() - t0


def dense_grid(game, make_tx, bounds, n):
    """The least radius on an ``n``-point-per-axis grid, the radii evaluated in chunks of one
    compiled program (a fresh program per grid size: its compilation is part of its cost)."""
    names = sorted(bounds)
    axes = [np.linspace(*bounds[k], n) for k in names]
    points = np.stack([a.ravel() for a in np.meshgrid(*axes, indexing="ij")], -1)
    radius = jax.jit(jax.vmap(lambda u: jg.spectral_radius(
        game, make_tx, game.equilibrium, hyperparams=dict(zip(names, u)))))
    best = np.inf
    for chunk in np.array_split(points, max(1, len(points) // 20000)):
        best = min(best, float(np.nanmin(np.asarray(radius(jnp.asarray(chunk))))))
    return best


def grid_then_scipy(game, make_tx, bounds, n):
    """A hand-written coarse grid, then SciPy's Nelder-Mead from its best point (one compiled
    radius function, called point by point from SciPy)."""
    names = sorted(bounds)
    lo = np.array([bounds[k][0] for k in names])
    hi = np.array([bounds[k][1] for k in names])
    one = jax.jit(lambda u: jg.spectral_radius(game, make_tx, game.equilibrium, hyperparams=dict(zip(names, u))))

    def f(u):
        u = np.clip(u, lo, hi)
        v = float(one(jnp.asarray(u)))
        return v if np.isfinite(v) else np.inf

    axes = [np.linspace(lo[i], hi[i], n) for i in range(len(names))]
    grid = np.stack([a.ravel() for a in np.meshgrid(*axes, indexing="ij")], -1)
    vals = [f(u) for u in grid]
    u0 = grid[int(np.argmin(vals))]
    res = scipy.optimize.minimize(f, u0, method="Nelder-Mead",
                                  options={"xatol": 1e-13, "fatol": 1e-15, "maxfev": 20000, "adaptive": True})
    return min(res.fun, min(vals))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller dense grids")
    args = ap.parse_args()
    out = {"hardware": hardware(), "dtype": "float64", "problems": {}}
    sizes = {1: [257, 4097, 65537, 1048577], 2: [65, 257, 1025], 3: [17, 33, 65]}
    if args.quick:
        sizes = {1: [257, 4097], 2: [65, 257], 3: [17, 33]}
    for name, (game, make_tx, bounds, closed) in problems().items():
        d = len(bounds)
        t, cold = timed(lambda: jg.tune(game, make_tx, bounds))
        _, warm = timed(lambda: jg.tune(game, make_tx, bounds))
        grids = []
        for n in sizes[d]:
            r, dt = timed(lambda n=n: dense_grid(game, make_tx, bounds, n))
            grids.append({"points_per_axis": n, "radius": r, "seconds": dt})
        sp, sp_dt = timed(lambda: grid_then_scipy(game, make_tx, bounds, {1: 33, 2: 11, 3: 6}[d]))
        ref = closed if closed is not None else min([t.radius, sp] + [g["radius"] for g in grids])
        row = {
            "reference": ref,
            "reference_kind": "closed form" if closed is not None else "least radius any method found",
            "tune": {"radius": t.radius, "error": t.radius - ref, "seconds_first_call": cold,
                     "seconds_repeat_call": warm, "evaluations": t.evaluations, "hyperparams": t.hyperparams},
            "dense_grid": [{**g, "error": g["radius"] - ref} for g in grids],
            "grid_then_scipy": {"radius": sp, "error": sp - ref, "seconds": sp_dt},
        }
        reached = [g for g in row["dense_grid"] if g["error"] <= max(row["tune"]["error"], 1e-12)]
        row["dense_grid_time_to_tune_error"] = reached[0]["seconds"] if reached else None
        out["problems"][name] = row
        print(f"\n{name}: reference {ref:.10f} ({row['reference_kind']})")
        print(f"  {'method':<34}{'error':>12}{'seconds':>10}")
        print(f"  {'jg.tune (first call)':<34}{row['tune']['error']:>12.2e}{cold:>10.2f}")
        print(f"  {'jg.tune (repeat call)':<34}{row['tune']['error']:>12.2e}{warm:>10.2f}")
        for g in row["dense_grid"]:
            print(f"  {'dense grid ' + str(g['points_per_axis']) + '^' + str(d):<34}{g['error']:>12.2e}{g['seconds']:>10.2f}")
        print(f"  {'grid + SciPy Nelder-Mead':<34}{row['grid_then_scipy']['error']:>12.2e}{sp_dt:>10.2f}")
        if not reached:
            print("  the dense grid never reached tune's error at these sizes")
    print("\nhardware:", out["hardware"])
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "tune.json"), "w") as fh:
        json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
