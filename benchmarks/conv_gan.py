"""Train the DCGAN-style convolutional GAN on the 8x8 digits and look at its landscape.

``train`` (used by ``spectra.py --conv`` and ``gpu_spectra.py``) trains
``jg.games.dcgan`` (size ``"million"``: 1,013,122 parameters, or ``"small"``) by minibatch
Adam (Radford et al.'s lr 2e-4, b1 0.5; 64 digits and 64 fresh latents a step), from a
fixed seed, and returns the initial and final parameters with the *exact* game on a fixed
evaluation batch (the first 64 digits, 64 fixed latents), whose field, Jacobian and spectra
are deterministic functions of the parameters.

Run as a script, it trains the small model with SimGD-style Adam, with consensus
optimisation and with R1, and writes for each the path-angle from the initial to the
final parameters (Berard et al. 2020) and the certificate at the end of training to
``benchmarks/results/conv_gan.json``.

Usage: ``python benchmarks/conv_gan.py [--size small] [--steps 400]``.
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

import jaxgan as jg

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")


def train(size="million", steps=300, batch=64, lr=2e-4, seed=0, dtype=np.float64, method="adam"):
    """``(eval_game, w_init, w_final, seconds)`` of ``steps`` minibatch steps on the digits."""
    images, _ = jg.datasets.digits(dtype=dtype)
    key = jax.random.PRNGKey(seed)
    ng = jg.games.dcgan(jnp.asarray(images), key=key, size=size)
    evaluation = jg.games.dcgan(jnp.asarray(images[:batch]), key=key, size=size, num_latents=batch, name=f"dcgan-{size}")
    regularize = (lambda g: jg.regularizers.r1(g, 1.0)) if method == "r1" else None
    opt = optax.adam(lr, b1=0.5)
    tx = optax.chain(jg.transforms.consensus(0.1), opt) if method == "consensus" else opt
    t0 = time.perf_counter()
    run = jg.rollout(ng.minibatch(batch, regularize=regularize), tx, ng.params, steps, key=jax.random.PRNGKey(seed + 1))
    final = jax.block_until_ready(run.final)
    return evaluation, ng.params, final, time.perf_counter() - t0


def main():
    from sweep_dirac import hardware

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="small")
    parser.add_argument("--steps", type=int, default=400)
    args = parser.parse_args()
    jax.config.update("jax_enable_x64", True)
    rows = {}
    for method in ("adam", "consensus", "r1"):
        game, w0, w1, seconds = train(args.size, args.steps, method=method, lr=1e-3)
        pa = jg.path_angle(game.game, w0, w1)
        cert = jg.stationary_point_certificate(game.game, w1, gtol=np.inf)
        rows[method] = {
            "train_s": seconds,
            "alphas": np.asarray(pa.alphas).tolist(),
            "field_norm": np.asarray(pa.field_norm).tolist(),
            "cosine": np.asarray(pa.cosine).tolist(),
            "loss_d": np.asarray(pa.loss_d).tolist(),
            "gradient_norm_at_end": cert.gradient_norm,
            "lambda_min_H_pp": float(cert.leader.smallest),
            "lambda_min_H_tt": float(cert.follower.smallest),
            # NaN where H_tt is not positive definite (S not computed): written as null
            "lambda_min_S": None if np.isnan(cert.stackelberg.smallest) else float(cert.stackelberg.smallest),
            "second_order_verdict_ignoring_gradient": cert.verdict,
        }
        i1 = int(np.argmin(np.abs(np.asarray(pa.alphas) - 1.0)))
        print(f"{method:>10}: trained {seconds:.1f} s; |xi| at end {cert.gradient_norm:.3g}; cos at alpha=1: "
              f"{rows[method]['cosine'][i1]:+.3f}; lambda_min H_pp {rows[method]['lambda_min_H_pp']:.3g}, "
              f"H_tt {rows[method]['lambda_min_H_tt']:.3g}, S {float(cert.stackelberg.smallest):.3g} -> second order alone: "
              f"{cert.verdict} (not a stationary point: |xi| > 0)", flush=True)
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "conv_gan.json"), "w") as fh:
        json.dump({"hardware": hardware(), "size": args.size, "steps": args.steps, "rows": rows}, fh, indent=1)


if __name__ == "__main__":
    main()
