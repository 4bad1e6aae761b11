"""Dirac-GAN SimGD learning-rate sweep: jaxgan against the ways a user would otherwise write it.

For G in (1, 100, 10,000) learning rates, 10,000 steps each, float32, standard GAN loss
(``f(t) = log sigmoid(t)``), start (1, 1), it times in one process:

* ``jaxgan.sweep`` with the game written as plain losses (autodiff through jaxgan's
  ``log_sigmoid``, whose custom JVP is one logistic);
* ``jaxgan.sweep`` with the hand-derived field (``dirac(closed_form_grad=True)``);
* ``jaxgan.sweep`` with the losses through ``jax.nn.log_sigmoid`` (JAX's generic rule);
* a Python loop of jitted single runs (``jax.jit(rollout)`` called once per learning rate);
* NumPy, vectorised over the grid, with the hand-derived field (float32 and float64);
* PyTorch autograd, vectorised over the grid, one ``backward`` per step (if torch is installed).

Times are steady-state (compiled programs reused; compile time reported separately), the
best of ``--repeats``. Ratios are baseline time / jaxgan (losses) time. Writes
``benchmarks/results/sweep_dirac.json``.

Usage: ``python benchmarks/sweep_dirac.py [--steps 10000] [--grids 1 100 10000] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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

    hw = hardware()
    print(f"hardware: {hw}")
    variants = {
        "jaxgan (losses)": jaxgan_sweep(jg.games.dirac("standard"), args.steps),
        "jaxgan (grad_fn)": jaxgan_sweep(jg.games.dirac("standard", closed_form_grad=True), args.steps),
        "jaxgan (losses, jax.nn.log_sigmoid)": jaxgan_sweep(naive_dirac(), args.steps),
    }
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
    if any(r["loop_extrapolated_from"] < r["grid"] for r in rows):
        print(f"python loop: timed on {args.loop_limit} runs and scaled linearly for larger grids")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump({"benchmark": "sweep_dirac", "hardware": hw, "torch": have_torch, "rows": rows}, fh, indent=1)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
