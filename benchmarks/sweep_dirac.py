"""Dirac-GAN SimGD learning-rate sweep: jaxgan against the ways a user would otherwise write it.

For G in (1, 100, 10,000) learning rates, 10,000 steps each, float32, standard GAN loss
(``f(t) = log sigmoid(t)``), start (1, 1), it times in one process:

* ``jaxgan.sweep`` with the game written as plain losses (autodiff through jaxgan's
  ``log_sigmoid``, whose custom JVP is one logistic);
* ``jaxgan.sweep`` with the hand-derived field (``dirac(closed_form_grad=True)``);
* ``jaxgan.sweep`` with the losses through ``jax.nn.log_sigmoid`` (JAX's generic rule);
* a Python loop of jitted single runs (``jax.jit(rollout)`` called once per learning rate);
* NumPy, vectorised over the grid, with the hand-derived field (float32 and float64);
* PyTorch autograd, vectorised over the grid, one ``backward`` per step (if torch is installed);
* numba (``fastmath``, ``parallel``: a ``prange`` over runs), with the hand-derived field, the
  tool a NumPy user reaches for (if numba is installed);
* a C loop of the same arithmetic compiled on the spot (``gcc -O3 -march=native -ffast-math
  -fopenmp``: OpenMP over blocks of 16 runs, vectorised ``expf``), where a C compiler is
  present: the machine's limit for this arithmetic;
* ``jaxgan.sweep`` itself (the public call, distances and statuses included), on one device
  and, when the process has several (``XLA_FLAGS=--xla_force_host_platform_device_count=N``),
  sharded over all of them with ``devices="all"``: XLA runs one program's loop on one core, so
  the grid's shards are what put every core to work.

Times are steady-state (compiled programs reused; compile time reported separately), the
best of ``--repeats``. Ratios are baseline time / jaxgan (losses) time. Writes
``benchmarks/results/sweep_dirac.json``.

Usage: ``python benchmarks/sweep_dirac.py [--steps 10000] [--grids 1 100 10000] [--repeats 3]``;
``XLA_FLAGS=--xla_force_host_platform_device_count=2 python benchmarks/sweep_dirac.py`` adds
the sharded row (the committed results were taken so).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxgan as jg

HERE = os.path.dirname(os.path.abspath(__file__))


def hardware():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    dev = jax.devices()[0]
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "jax_backend": dev.platform,
        "jax_device": str(getattr(dev, "device_kind", dev)),
        "jax": jax.__version__,
        "python": platform.python_version(),
    }


def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def naive_dirac():
    """The standard Dirac-GAN written with jax.nn.log_sigmoid (JAX's generic softplus rule)."""
    f = jax.nn.log_sigmoid
    return jg.zero_sum(lambda p, t: f(t * p) + f(jnp.zeros_like(p)), equilibrium=jg.Joint(jnp.zeros(()), jnp.zeros(())))


def jaxgan_sweep(game, steps):
    w0 = jg.Joint(jnp.float32(1.0), jnp.float32(1.0))

    @jax.jit
    def run(lrs):
        def one(lr):
            out = jg.rollout(game, optax.sgd(lr), w0, steps)
            return out.final, out.finite

        return jax.vmap(one)(lrs)

    return run


def python_loop(steps):
    game = jg.games.dirac("standard")
    w0 = jg.Joint(jnp.float32(1.0), jnp.float32(1.0))
    single = jax.jit(lambda lr: jg.rollout(game, optax.sgd(lr), w0, steps).final)

    def run(lrs):  # a NumPy grid, one jitted call per learning rate
        return [single(lr) for lr in np.asarray(lrs)]

    return single, run


def numpy_sweep(lrs, steps, dtype):
    lrs = lrs.astype(dtype)
    phi = np.ones_like(lrs)
    theta = np.ones_like(lrs)
    for _ in range(steps):
        t = theta * phi
        fp = 1.0 / (1.0 + np.exp(t))  # f'(t) = sigmoid(-t)
        g_phi = fp * theta
        g_theta = -fp * phi
        phi = phi - lrs * g_phi
        theta = theta - lrs * g_theta
    return phi, theta


def torch_sweep(lrs, steps):
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    lr = torch.tensor(lrs, dtype=torch.float32)
    phi = torch.ones_like(lr, requires_grad=True)
    theta = torch.ones_like(lr, requires_grad=True)
    f = torch.nn.functional.logsigmoid
    for _ in range(steps):
        value = f(theta * phi) + f(torch.zeros_like(phi))
        loss_g = value.sum()  # runs are independent: the sum's gradient is each run's gradient
        g_phi, g_theta_pos = torch.autograd.grad(loss_g, (phi, theta))
        with torch.no_grad():  # loss_d = -value
            phi_new = phi - lr * g_phi
            theta_new = theta + lr * g_theta_pos
        phi = phi_new.requires_grad_(True)
        theta = theta_new.requires_grad_(True)
    return phi.detach().numpy(), theta.detach().numpy()


C_LOOP = r"""
#include <math.h>
#include <stdlib.h>
#include <omp.h>
/* Dirac-GAN SimGD with f(t) = log sigmoid(t): f'(t) = 1 / (1 + exp(t)). */
void sweep(const float *lr, float *phi, float *theta, int g, int steps) {
  #pragma omp parallel for schedule(static)
  for (int i0 = 0; i0 < g; i0 += 16) {
    int n = g - i0 < 16 ? g - i0 : 16;
    float p[16], t[16], h[16];
    for (int j = 0; j < 16; j++) {  /* the last block's idle lanes repeat its first run */
      int k = i0 + (j < n ? j : 0);
      p[j] = phi[k]; t[j] = theta[k]; h[j] = lr[k];
    }
    for (int s = 0; s < steps; s++) {
      #pragma omp simd
      for (int j = 0; j < 16; j++) {
        float fp = 1.0f / (1.0f + expf(t[j] * p[j]));
        float gp = fp * t[j], gt = -fp * p[j];
        p[j] -= h[j] * gp;
        t[j] -= h[j] * gt;
      }
    }
    for (int j = 0; j < n; j++) { phi[i0 + j] = p[j]; theta[i0 + j] = t[j]; }
  }
}
int main(int argc, char **argv) {
  int g = atoi(argv[1]), steps = atoi(argv[2]), repeats = atoi(argv[3]);
  float *lr = malloc(g * sizeof(float)), *p = malloc(g * sizeof(float)), *t = malloc(g * sizeof(float));
  for (int i = 0; i < g; i++) lr[i] = g > 1 ? powf(10.0f, -3.0f + 3.0f * i / (g - 1)) : 1e-3f;
  double best = 1e30;
  for (int r = 0; r < repeats; r++) {
    for (int i = 0; i < g; i++) { p[i] = 1.0f; t[i] = 1.0f; }
    double t0 = omp_get_wtime();
    sweep(lr, p, t, g, steps);
    double dt = omp_get_wtime() - t0;
    if (dt < best) best = dt;
  }
  printf("%.9f %.9g\n", best, p[g - 1]);
  return 0;
}
"""


def build_c_loop():
    """Compile the C loop; ``None`` (with a note) where no C compiler is present."""
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        print("note: no C compiler found; the C loop column is skipped")
        return None
    folder = tempfile.mkdtemp(prefix="jaxgan-c-loop-")
    src, exe = os.path.join(folder, "dirac.c"), os.path.join(folder, "dirac")
    with open(src, "w") as fh:
        fh.write(C_LOOP)
    flags = ["-O3", "-march=native", "-ffast-math", "-fopenmp"]
    try:
        subprocess.run([cc, *flags, src, "-o", exe, "-lm"], check=True, capture_output=True)
    except subprocess.CalledProcessError as err:
        print(f"note: the C loop did not compile ({err.stderr.decode()[:200]}); skipped")
        return None
    return exe, " ".join([os.path.basename(cc), *flags])


def c_loop_seconds(exe, size, steps, repeats):
    out = subprocess.run([exe, str(size), str(steps), str(repeats)], check=True, capture_output=True, text=True)
    seconds, last_phi = out.stdout.split()
    return float(seconds), float(last_phi)


def numba_sweep_fn():
    import numba

    @numba.njit(fastmath=True, parallel=True, cache=False)
    def run(lrs, steps):
        g = lrs.shape[0]
        phi = np.ones(g, np.float32)
        theta = np.ones(g, np.float32)
        for i in numba.prange(g):
            p, t, h = np.float32(1.0), np.float32(1.0), lrs[i]
            for _ in range(steps):
                fp = np.float32(1.0) / (np.float32(1.0) + np.exp(t * p))
                gp, gt = fp * t, -fp * p
                p, t = p - h * gp, t - h * gt
            phi[i], theta[i] = p, t
        return phi, theta

    return run


def jaxgan_public_sweep(game, steps, devices=None):
    w0 = jg.Joint(jnp.float32(1.0), jnp.float32(1.0))
    make_tx = lambda h: optax.sgd(h["lr"])  # noqa: E731

    def run(lrs):
        return jg.sweep(game, make_tx, w0, {"lr": lrs}, steps, devices=devices).final

    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--grids", type=int, nargs="+", default=[1, 100, 10_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--loop-limit", type=int, default=100,
                        help="time the Python loop on at most this many runs and scale linearly beyond")
    parser.add_argument("--out", default=os.path.join(HERE, "results", "sweep_dirac.json"))
    args = parser.parse_args()
    try:
        import torch  # noqa: F401

        have_torch = True
    except ImportError:
        have_torch = False
        print("note: torch is not installed; the PyTorch column is skipped (pip install torch)")

    try:
        numba_run = numba_sweep_fn()
    except ImportError:
        numba_run = None
        print("note: numba is not installed; the numba column is skipped (pip install numba)")
    c_loop = build_c_loop()
    hw = hardware()
    hw["host_devices"] = jax.device_count()
    if c_loop is not None:
        hw["c_loop_compiler"] = c_loop[1]
    print(f"hardware: {hw}")
    variants = {
        "jaxgan (losses)": jaxgan_sweep(jg.games.dirac("standard"), args.steps),
        "jaxgan (grad_fn)": jaxgan_sweep(jg.games.dirac("standard", closed_form_grad=True), args.steps),
        "jaxgan (losses, jax.nn.log_sigmoid)": jaxgan_sweep(naive_dirac(), args.steps),
    }
    dirac = jg.games.dirac("standard")
    variants["jg.sweep (public call)"] = jaxgan_public_sweep(dirac, args.steps)
    if jax.device_count() > 1:
        variants[f"jg.sweep (sharded over {jax.device_count()} host devices)"] = jaxgan_public_sweep(dirac, args.steps, "all")
    single, loop = python_loop(args.steps)
    rows = []
    for size in args.grids:
        lrs_np = np.logspace(-3, 0, size).astype(np.float32)
        lrs = jnp.asarray(lrs_np)
        row = {"grid": size, "steps": args.steps, "seconds": {}, "compile_seconds": {}}
        for name, run in variants.items():
            t0 = time.perf_counter()
            jax.block_until_ready(run(lrs))
            row["compile_seconds"][name] = time.perf_counter() - t0
            row["seconds"][name] = best_of(lambda: jax.block_until_ready(run(lrs)), args.repeats)
        # the compiled programs agree with NumPy's hand-derived float64 run
        ref = numpy_sweep(lrs_np.astype(np.float64), args.steps, np.float64)
        got = variants["jaxgan (losses)"](lrs)[0]
        row["max_abs_diff_vs_numpy64"] = float(np.max(np.abs(np.asarray(got.phi) - ref[0])))
        n_loop = min(size, args.loop_limit)
        jax.block_until_ready(loop(lrs_np[:1]))
        t_loop = best_of(lambda: jax.block_until_ready(loop(lrs_np[:n_loop])), 1 if n_loop > 10 else args.repeats)
        row["seconds"]["python loop of jitted runs"] = t_loop * size / n_loop
        row["loop_extrapolated_from"] = n_loop
        row["seconds"]["numpy float32 (hand-derived)"] = best_of(lambda: numpy_sweep(lrs_np, args.steps, np.float32), args.repeats)
        row["seconds"]["numpy float64 (hand-derived)"] = best_of(lambda: numpy_sweep(lrs_np, args.steps, np.float64), args.repeats)
        if numba_run is not None:
            numba_run(lrs_np, 10)  # compile
            row["seconds"]["numba (fastmath, parallel)"] = best_of(lambda: numba_run(lrs_np, args.steps), args.repeats)
        if c_loop is not None:
            row["seconds"]["C loop (gcc -O3, OpenMP)"], c_phi = c_loop_seconds(c_loop[0], size, args.steps, args.repeats)
            row["c_loop_last_phi_vs_numpy64"] = abs(c_phi - float(ref[0][-1]))
        if have_torch:
            row["seconds"]["pytorch autograd"] = best_of(lambda: torch_sweep(lrs_np, args.steps), 1 if size > 100 else args.repeats)
        base = row["seconds"]["jaxgan (losses)"]
        row["ratio_vs_jaxgan_losses"] = {k: v / base for k, v in row["seconds"].items()}
        rows.append(row)

    names = list(rows[0]["seconds"])
    print(f"\nDirac-GAN SimGD, {args.steps} steps, float32, on {hw['cpu']} ({hw['cores']} cores), JAX {hw['jax']} {hw['jax_backend']}")
    print("seconds (x = that time / jaxgan (losses) time; compile time not included)")
    width = max(len(n) for n in names)
    print(f"{'':<{width}} " + " ".join(f"{'G=' + str(r['grid']):>20}" for r in rows))
    for name in names:
        cells = " ".join(f"{r['seconds'][name]:>10.4f} ({r['ratio_vs_jaxgan_losses'][name]:>6.1f}x)" for r in rows)
        print(f"{name:<{width}} {cells}")
    print("compile (jaxgan losses): " + ", ".join(f"G={r['grid']}: {r['compile_seconds']['jaxgan (losses)']:.2f}s" for r in rows))
    for r in rows:
        sec = r["seconds"]
        for name in [n for n in sec if n.startswith("jg.sweep")]:
            parts = []
            if "C loop (gcc -O3, OpenMP)" in sec:
                parts.append(f"{sec[name] / sec['C loop (gcc -O3, OpenMP)']:.2f}x the C loop")
            if "numba (fastmath, parallel)" in sec:
                parts.append(f"{sec[name] / sec['numba (fastmath, parallel)']:.2f}x numba")
            if parts:
                print(f"G={r['grid']}: {name} takes " + ", ".join(parts))
    if any(r["loop_extrapolated_from"] < r["grid"] for r in rows):
        print(f"python loop: timed on {args.loop_limit} runs and scaled linearly for larger grids")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump({"benchmark": "sweep_dirac", "hardware": hw, "torch": have_torch, "rows": rows}, fh, indent=1)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
