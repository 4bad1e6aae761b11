"""Sweep throughput with the grid sharded over 1 and 2 host devices (and any accelerators).

Each configuration runs in a fresh process (``XLA_FLAGS=--xla_force_host_platform_device_count=N``
must be set before JAX starts): a Dirac-GAN SimGD sweep of ``--grid`` learning rates x
``--steps`` steps, float32, ``jg.sweep(..., devices="all")``. Prints runs x steps per second
and the speed-up over one device; writes ``benchmarks/results/sharding.json``.

Usage: ``python benchmarks/sharding.py [--grid 20000] [--steps 5000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

CHILD = """
import json, sys, time
import jax, jax.numpy as jnp, optax, jaxgan as jg
grid_size, steps, repeats = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
game = jg.games.dirac("standard")
grid = {"lr": jnp.logspace(-3, 0, grid_size, dtype=jnp.float32)}
w0 = jg.Joint(jnp.float32(1.0), jnp.float32(1.0))
run = lambda: jax.block_until_ready(jg.sweep(game, lambda h: optax.sgd(h["lr"]), w0, grid, steps, devices="all").status)
t0 = time.perf_counter(); run(); first = time.perf_counter() - t0
best = min((lambda: (lambda t: (run(), time.perf_counter() - t)[1])(time.perf_counter()))() for _ in range(repeats))
print(json.dumps({"devices": jax.device_count(), "platform": jax.devices()[0].platform, "first_call_s": first, "seconds": best}))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=int, default=20_000)
    parser.add_argument("--steps", type=int, default=5_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--host-devices", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--out", default=os.path.join(HERE, "results", "sharding.json"))
    args = parser.parse_args()
    sys.path.insert(0, HERE)
    from sweep_dirac import hardware

    rows = []
    for n in args.host_devices:
        env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={n}")
        out = subprocess.run([sys.executable, "-c", CHILD, str(args.grid), str(args.steps), str(args.repeats)],
                             env=env, capture_output=True, text=True, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        row["host_devices_requested"] = n
        row["run_steps_per_second"] = args.grid * args.steps / row["seconds"]
        rows.append(row)
    base = rows[0]["seconds"]
    hw = hardware()
    print(f"Dirac-GAN SimGD sweep, {args.grid} runs x {args.steps} steps, float32, on {hw['cpu']} ({hw['cores']} cores)")
    print(f"{'devices':>8} {'platform':>9} {'seconds':>9} {'run-steps/s':>13} {'speed-up':>9}")
    for r in rows:
        print(f"{r['devices']:>8} {r['platform']:>9} {r['seconds']:>9.3f} {r['run_steps_per_second']:>13.3g} {base / r['seconds']:>9.2f}")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump({"benchmark": "sharding", "hardware": hw, "grid": args.grid, "steps": args.steps, "rows": rows}, fh, indent=1)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
