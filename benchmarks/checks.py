"""What the input checks cost: the step algebra's probe and the differentiability check.

Both run at trace time only (shapes, no computation), once per step function and once per
game and parameter shapes. This times the first call of ``jg.rollout`` (tracing, compiling
and running ``--steps`` steps of consensus + SGD) with the differentiability check on, and
again on a fresh game of the same size with it replaced by a no-op, best of ``--repeats``
(the probe resolves the step's field, so it cannot be switched off: it is timed alone); and,
on their own, one ``check_differentiable`` and one probe of the chain (``_algebra.probe``). Games: the Dirac-GAN
(2 parameters) and plain-JAX MLP GANs on the 8-Gaussian ring (219 and about 20,000
parameters, 256 data points, float32). Writes ``benchmarks/results/checks.json``.

Usage: ``python benchmarks/checks.py [--steps 10] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import jax
import optax
from sweep_dirac import hardware

import jaxgan as jg
from jaxgan._core import algebra as _algebra
from jaxgan._validation import checks as _checks

HERE = os.path.dirname(os.path.abspath(__file__))


def games():
    data = jg.datasets.ring().sample(jax.random.PRNGKey(0), 256)

    def mlp(hidden):
        def make():
            ng = jg.games.mlp_gan(data, key=jax.random.PRNGKey(1), hidden=hidden)
            return ng.game, ng.params

        return make

    def dirac():
        return jg.games.dirac("standard"), jg.Joint(1.0, 0.5)

    return {"dirac (2)": dirac, "mlp 8x8 (219)": mlp((8, 8)), "mlp 96x96 (~20k)": mlp((96, 96))}


def first_rollout(make, steps, checks: bool):
    game, w = make()  # a fresh game: nothing cached
    tx = optax.chain(jg.transforms.consensus(0.1), optax.sgd(1e-3))
    saved = _checks.check_differentiable
    if not checks:
        _checks.check_differentiable = lambda game, w: None
    try:
        t = time.perf_counter()
        jax.block_until_ready(jg.rollout(game, tx, w, steps).final)
        return time.perf_counter() - t
    finally:
        _checks.check_differentiable = saved


def alone(make):
    game, w = make()
    t = time.perf_counter()
    _checks.check_differentiable(game, w)
    t_diff = time.perf_counter() - t
    tx = optax.with_extra_args_support(optax.chain(jg.transforms.consensus(0.1), optax.sgd(1e-3)))
    xi = jg.simultaneous_gradient(game)(w)
    t = time.perf_counter()
    _algebra.probe(tx, xi, tx.init(w), w, {"game": game})
    return t_diff, time.perf_counter() - t


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for name, make in games().items():
        on = min(first_rollout(make, args.steps, True) for _ in range(args.repeats))
        off = min(first_rollout(make, args.steps, False) for _ in range(args.repeats))
        t_diff, t_order = min(alone(make) for _ in range(args.repeats))
        rows.append(dict(game=name, first_rollout_s=on, without_checks_s=off, ratio=on / off,
                         check_differentiable_s=t_diff, probe_s=t_order))
    hw = hardware()
    print(f"first rollout ({args.steps} steps of consensus + SGD, trace + compile + run); "
          f"{hw['cpu']}, {hw['cores']} cores, {hw['jax_backend']}, JAX {hw['jax']}")
    print(f"{'game':<18} {'with checks':>12} {'without':>10} {'ratio':>7} {'differentiable':>15} {'probe':>12}")
    for r in rows:
        print(f"{r['game']:<18} {r['first_rollout_s']:>11.3f}s {r['without_checks_s']:>9.3f}s {r['ratio']:>7.3f} "
              f"{r['check_differentiable_s']:>14.4f}s {r['probe_s']:>11.4f}s")
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "checks.json"), "w") as f:
        json.dump(dict(hardware=hw, steps=args.steps, repeats=args.repeats, rows=rows), f, indent=2)


if __name__ == "__main__":
    main()
