"""The seeds' 2-D experiments with neural players, full batch (exact dynamics).

Part ``ring`` (Nie & Patel 2019, Fig. 3): SimGD vs consensus optimisation vs JARE on the
8-Gaussian ring, MLP players, RMSProp on the (corrected) simultaneous gradient, fixed
data set and latents. Every ``--record`` steps: W1 to the data, modes covered,
high-quality fraction, how much mass moved between modes since the last checkpoint
(total variation of the mode histogram: an oscillating generator keeps moving it),
and the Jacobian's spectrum (dense ``eig``) with the phase and conditioning factors
of the *corrected* field each algorithm follows.

Part ``table`` (Mescheder et al. 2018, Fig. 5): W1 to the true distribution for the
four 2-D problems (2-D Gaussian, line, circle, four lines) x architectures x
(unregularised, WGAN-GP, R1, R2, consensus, JARE), ``--seeds`` seeds per cell run as one
vmapped ``jaxgan.sweep`` (a run that diverges is flagged, not dropped), mean and spread.

Writes ``benchmarks/results/mixtures_ring.json``, ``benchmarks/results/mixtures_table.json`` (one
file per part, so the parts can run as separate processes) and ``benchmarks/results/mixtures_*.png``.

Usage: ``python benchmarks/mixtures.py [--part ring table] [--steps 4000] [--seeds 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

jax.config.update("jax_enable_x64", True)
from sweep_dirac import hardware  # noqa: E402

import jaxgan as jg  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")

ARCHITECTURES = {
    # name: (hidden sizes, activation)
    "tanh-2x32": ((32, 32), jnp.tanh),
    "lrelu-3x32": ((32, 32, 32), lambda x: jax.nn.leaky_relu(x, 0.2)),
}

METHODS = ("unregularised", "wgan-gp", "r1", "r2", "consensus", "jare")


def method_parts(method: str, gamma: float):
    """(loss, game regulariser, field correction) of a method."""
    if method == "unregularised":
        return "standard", None, None
    if method == "wgan-gp":
        return "wgan", lambda g: jg.regularizers.wgan_gp(g, gamma, order=2, pairing="pairs"), None
    if method == "r1":
        return "standard", lambda g: jg.regularizers.r1(g, gamma), None
    if method == "r2":
        return "standard", lambda g: jg.regularizers.r2(g, gamma), None
    if method == "consensus":
        return "standard", None, jg.transforms.consensus(gamma)
    if method == "jare":
        return "standard", None, jg.transforms.jare(gamma)
    raise ValueError(f"unknown method {method!r}")


def optimiser(correction, lr):
    opt = optax.rmsprop(lr)
    return opt if correction is None else optax.chain(correction, opt)


def mode_histogram(samples, ds):
    rep = jg.metrics.mode_coverage(samples, ds)
    return rep, rep.counts / max(len(samples), 1)


# --------------------------------------------------------------------------- part 1


def ring_part(args):
    ds = jg.datasets.ring()
    data = ds.sample(jax.random.PRNGKey(0), args.n)
    z_eval = jax.random.normal(jax.random.PRNGKey(7), (args.n, 2))
    fresh = np.asarray(ds.sample(jax.random.PRNGKey(8), args.n))
    ng = jg.games.mlp_gan(data, key=jax.random.PRNGKey(1), hidden=(args.ring_width,) * 2)
    algos = {"SimGD": None, f"consensus (gamma={args.gamma:g})": jg.transforms.consensus(args.gamma), f"JARE (gamma={args.gamma:g})": jg.transforms.jare(args.gamma)}
    out = {"parameters": ng.num_parameters, "steps": args.steps, "record_every": args.record, "lr": args.lr, "algorithms": {}}
    print(f"[ring] MLP GAN with {ng.num_parameters} parameters, {args.n} data points, RMSProp lr {args.lr}, {args.steps} steps")
    for name, corr in algos.items():
        t0 = time.perf_counter()
        tx = optimiser(corr, args.lr)
        run = jax.jit(lambda w: jg.rollout(ng.game, tx, w, args.steps, record_every=args.record,
                                           record=lambda v: (ng.generate(v.phi, z_eval), v)))(ng.params)
        samples, checkpoints = jax.device_get(run.trajectory)
        t_run = time.perf_counter() - t0
        rows, prev = [], None
        for t, x in enumerate(samples):
            if not np.all(np.isfinite(x)):
                rows.append({"step": t * args.record, "finite": False})
                prev = None
                continue
            rep, hist = mode_histogram(x, ds)
            moved = None if prev is None else 0.5 * float(np.sum(np.abs(hist - prev)))
            prev = hist
            rows.append({"step": t * args.record, "finite": True, "w1": jg.metrics.wasserstein1(x, fresh), "modes": rep.covered,
                         "high_quality": rep.high_quality, "mass_moved": moved, "histogram": hist.tolist()})
        t1 = time.perf_counter()
        picks = np.linspace(0, len(samples) - 1, args.spectra).round().astype(int)
        sub = jax.tree.map(lambda a: a[picks], checkpoints)
        tr = jg.spectral_trace(ng.game, sub, transform=corr)
        for i, p in enumerate(picks):
            rows[p].update(phase=float(tr.phase[i]), conditioning=float(tr.conditioning[i]), max_real=float(tr.max_real[i]),
                           max_modulus=float(tr.max_modulus[i]), numerically_zero=int(tr.zero_count[i]))
        t_spec = time.perf_counter() - t1
        late = [r["mass_moved"] for r in rows[len(rows) // 2:] if r.get("mass_moved") is not None]
        summary = {"final_w1": rows[-1].get("w1"), "final_modes": rows[-1].get("modes"), "final_high_quality": rows[-1].get("high_quality"),
                   "late_mass_moved_mean": float(np.mean(late)) if late else None, "run_s": t_run, "spectra_s": t_spec,
                   "finite": bool(run.finite), "first_nonfinite": int(run.first_nonfinite)}
        out["algorithms"][name] = {"summary": summary, "trace": rows}
        print(f"  {name:<24} W1 {summary['final_w1']!s:.6} | modes {summary['final_modes']}/8 | high quality "
              f"{summary['final_high_quality']!s:.5} | mass moved per {args.record} steps (2nd half) "
              f"{summary['late_mass_moved_mean']!s:.6} | run {t_run:.1f} s, spectra {t_spec:.1f} s", flush=True)
        for p in picks:
            r = rows[p]
            print(f"      step {r['step']:>6}: phase {r.get('phase', float('nan')):10.4g}  conditioning "
                  f"{r.get('conditioning', float('nan')):10.4g} ({r.get('numerically_zero')} numerically zero)  max Re {r.get('max_real', float('nan')):+.4g}")
    return out, ng, z_eval


def ring_figure(out, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    for name, res in out["algorithms"].items():
        tr = [r for r in res["trace"] if r.get("finite")]
        steps = [r["step"] for r in tr]
        axes[0].plot(steps, [r["w1"] for r in tr], label=name)
        axes[1].plot(steps[1:], [r["mass_moved"] for r in tr[1:]], label=name)
        sp = [r for r in tr if "phase" in r]
        axes[2].semilogy([r["step"] for r in sp], [r["phase"] for r in sp], "o-", label=f"{name}: phase")
        axes[2].semilogy([r["step"] for r in sp], [r["conditioning"] for r in sp], "x--", label=f"{name}: conditioning")
    axes[0].set(title="W1 to the data (8-Gaussian ring)", xlabel="step")
    axes[1].set(title="mode mass moved since last checkpoint", xlabel="step")
    axes[2].set(title="phase / conditioning factor", xlabel="step")
    for ax in axes:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


# --------------------------------------------------------------------------- part 2


def table_part(args):
    cells = []
    print(f"[table] W1 to the true distribution, {args.seeds} seeds per cell, {args.table_steps} full-batch RMSProp steps (lr {args.lr}), "
          f"{args.n} data points")
    for dname in jg.datasets.MESCHEDER_2D:
        ds = jg.datasets.by_name(dname)
        data = ds.sample(jax.random.PRNGKey(0), args.n)
        fresh = np.asarray(ds.sample(jax.random.PRNGKey(9), args.n))
        for arch, (hidden, act) in ARCHITECTURES.items():
            for method in METHODS:
                loss, reg, corr = method_parts(method, args.gamma if method in ("consensus", "jare") else args.penalty)

                def neural(seed, loss=loss, hidden=hidden, act=act):
                    return jg.games.mlp_gan(data, key=jax.random.PRNGKey(seed), hidden=hidden, activation=act, loss=loss)

                def game(h, reg=reg, neural=neural):
                    g = neural(h["seed"]).game
                    return reg(g) if reg is not None else g

                t0 = time.perf_counter()
                res = jg.sweep(game, lambda h, corr=corr: optimiser(corr, args.lr), lambda h, neural=neural: neural(h["seed"]).params,
                               {"seed": jnp.arange(args.seeds)}, args.table_steps)
                w1s, flags = [], []
                for s in range(args.seeds):
                    phi = jax.tree.map(lambda a: a[s], res.final.phi)
                    ng = neural(s)
                    x = np.asarray(ng.sample(phi, jax.random.PRNGKey(100 + s), args.n))
                    ok = bool(np.all(np.isfinite(x)))
                    flags.append(ok)
                    w1s.append(jg.metrics.wasserstein1(x, fresh) if ok else float("nan"))
                good = [w for w in w1s if np.isfinite(w)]
                cell = {"data": dname, "architecture": arch, "method": method, "w1": w1s, "finite": flags,
                        "status": [jg.RESULTS(int(c)).label for c in np.asarray(res.status)],
                        "mean": float(np.mean(good)) if good else None, "std": float(np.std(good)) if good else None,
                        "seconds": time.perf_counter() - t0}
                cells.append(cell)
                bad = "" if all(flags) else f"  ({flags.count(False)} diverged)"
                print(f"  {dname:<10} {arch:<11} {method:<13} W1 {cell['mean']!s:.6} +- {cell['std']!s:.5}{bad}  [{cell['seconds']:.1f} s]", flush=True)
    return cells


def w1_floor(dname, n):
    """W1 between the training set and the fresh evaluation set: what a perfect generator scores."""
    ds = jg.datasets.by_name(dname)
    return jg.metrics.wasserstein1(np.asarray(ds.sample(jax.random.PRNGKey(0), n)), np.asarray(ds.sample(jax.random.PRNGKey(9), n)))


def table_markdown(cells, seeds, n):
    lines = ["| data (floor) | architecture | " + " | ".join(METHODS) + " |", "|---|---|" + "---|" * len(METHODS)]
    for dname in jg.datasets.MESCHEDER_2D:
        floor = w1_floor(dname, n)
        for arch in ARCHITECTURES:
            row = [c for c in cells if c["data"] == dname and c["architecture"] == arch]
            by = {c["method"]: c for c in row}
            vals = []
            for m in METHODS:
                c = by.get(m)
                if c is None or c["mean"] is None:
                    vals.append("diverged")
                else:
                    n_bad = c["finite"].count(False)
                    vals.append(f"{c['mean']:.3f} ± {c['std']:.3f}" + (f" ({n_bad}/{seeds} diverged)" if n_bad else ""))
            lines.append(f"| {dname} ({floor:.3f}) | {arch} | " + " | ".join(vals) + " |")
    return "\n".join(lines)


def table_figure(cells, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(jg.datasets.MESCHEDER_2D), figsize=(16, 3.6), sharey=False)
    for ax, dname in zip(axes, jg.datasets.MESCHEDER_2D):
        for j, arch in enumerate(ARCHITECTURES):
            means = [next(c for c in cells if c["data"] == dname and c["architecture"] == arch and c["method"] == m) for m in METHODS]
            x = np.arange(len(METHODS)) + 0.38 * j - 0.19
            ax.bar(x, [c["mean"] or np.nan for c in means], width=0.36, yerr=[c["std"] or 0 for c in means], label=arch)
        ax.set_xticks(np.arange(len(METHODS)), METHODS, rotation=45, fontsize=8)
        ax.set_title(dname)
    axes[0].set_ylabel("W1 to the true distribution")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", nargs="+", default=["ring", "table"], choices=["ring", "table"])
    parser.add_argument("--n", type=int, default=512, help="data points and latents (full batch)")
    parser.add_argument("--steps", type=int, default=4000, help="steps of the ring experiment")
    parser.add_argument("--record", type=int, default=200)
    parser.add_argument("--spectra", type=int, default=3, help="checkpoints with a dense spectrum (ring)")
    parser.add_argument("--ring-width", type=int, default=32)
    parser.add_argument("--table-steps", type=int, default=2000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--gamma", type=float, default=10.0, help="consensus / JARE weight")
    parser.add_argument("--penalty", type=float, default=1.0, help="WGAN-GP / R1 / R2 weight")
    parser.add_argument("--render", action="store_true", help="re-render the table and figure from mixtures_table.json")
    args = parser.parse_args()
    os.makedirs(RESULTS, exist_ok=True)
    if args.render:
        path = os.path.join(RESULTS, "mixtures_table.json")
        saved = json.load(open(path))
        a = saved["args"]
        md = table_markdown(saved["table"]["cells"], a["seeds"], a["n"])
        saved["table"]["markdown"] = md
        print(md)
        table_figure(saved["table"]["cells"], os.path.join(RESULTS, "mixtures_table.png"))
        with open(path, "w") as fh:
            json.dump(saved, fh, indent=1)
        return

    def save(part, payload):
        with open(os.path.join(RESULTS, f"mixtures_{part}.json"), "w") as fh:
            json.dump({"hardware": hardware(), "args": vars(args), part: payload}, fh, indent=1)

    if "ring" in args.part:
        ring, _, _ = ring_part(args)
        ring_figure(ring, os.path.join(RESULTS, "mixtures_ring.png"))
        save("ring", ring)
    if "table" in args.part:
        cells = table_part(args)
        md = table_markdown(cells, args.seeds, args.n)
        print(md)
        table_figure(cells, os.path.join(RESULTS, "mixtures_table.png"))
        save("table", {"cells": cells, "markdown": md})


if __name__ == "__main__":
    main()
