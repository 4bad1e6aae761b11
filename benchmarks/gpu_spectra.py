"""Spectra of the million-parameter convolutional GAN on an accelerator (GPU / TPU).

On the device that JAX picks (``jax.devices()[0]``), for float32 (matrix products at
``"highest"`` precision: no TF32) and float64, it trains ``jg.games.dcgan(size="million")``
on the digits (``conv_gan.train``), then at the checkpoint, on the exact game of 64 digits
and 64 latents, times:

* ``jg.top_eigenvalues``: top-6 by real part (first call with compilation, then a warm call),
  top-6 by modulus, and top-6 by real part of the consensus field (``jg.transforms.consensus(0.1)``),
  each with its products and largest relative residual;
* ``jg.spectral_density`` of the discriminator's Hessian and of the symmetric part of the
  game Jacobian (8 probes, 32 Lanczos steps);
* ``jg.eigenvalues`` (dense: assembly and the device's non-symmetric ``eig``) on a
  ~2,000-parameter DCGAN, against NumPy's ``eig`` on the host for the same matrix.

Writes ``benchmarks/results/gpu_spectra.json`` (``--smoke``: a tiny CPU-sized version that
checks the script, written to ``results/gpu_spectra_smoke.json``).

Usage: ``python benchmarks/gpu_spectra.py [--steps 100] [--smoke]``.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_default_matmul_precision", "highest")
from conv_gan import train  # noqa: E402
from sweep_dirac import hardware  # noqa: E402

import jaxgan as jg  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def timed(fn):
    t0 = time.perf_counter()
    out = jax.block_until_ready(fn())
    return time.perf_counter() - t0, out


def top_row(game, w, k, which, transform=None):
    cold, out = timed(lambda: jg.top_eigenvalues(game, w, k, which=which, transform=transform))
    warm, out = timed(lambda: jg.top_eigenvalues(game, w, k, which=which, transform=transform))
    vals = np.asarray(out.eigenvalues)
    return {"which": which, "first_call_s": cold, "warm_s": warm, "matvecs": int(out.matvecs),
            "converged": bool(out.converged), "max_residual": float(np.max(np.asarray(out.residuals)) / np.max(np.abs(vals))),
            "eigenvalues": [[float(v.real), float(v.imag)] for v in vals]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--smoke", action="store_true", help="small model, few steps: checks the script on a CPU")
    args = parser.parse_args()
    size, steps, k = ("small", 5, 4) if args.smoke else ("million", args.steps, 6)
    out = {"hardware": hardware(), "size": size, "train_steps": steps, "rows": []}
    print(f"device: {out['hardware']['jax_device']} ({out['hardware']['jax_backend']})", flush=True)
    for dtype in (np.float32, np.float64):
        ng, _, w, train_s = train(size, steps, dtype=dtype)
        game = ng.game
        row = {"dtype": np.dtype(dtype).name, "parameters": ng.num_parameters, "train_s": train_s,
               "top": [top_row(game, w, k, "LR"), top_row(game, w, k, "LM"),
                       dict(top_row(game, w, k, "LR", jg.transforms.consensus(0.1)), transform="consensus(0.1)")]}
        for op in ("hessian_theta", "jacobian_symmetric"):
            s, dens = timed(lambda: jg.spectral_density(game, w, operator=op, num_probes=8, lanczos_steps=32))
            row[f"density_{op}_s"] = s
            row[f"density_{op}_range"] = [float(jnp.min(dens.nodes)), float(jnp.max(dens.nodes))]
        out["rows"].append(row)
        for t in row["top"]:
            print(f"{row['dtype']:>8} {t['which']} {t.get('transform', ''):>15}: first {t['first_call_s']:.2f} s, "
                  f"warm {t['warm_s']:.2f} s, {t['matvecs']} products, residual {t['max_residual']:.1e}, "
                  f"lambda_1 {t['eigenvalues'][0][0]:+.6g}", flush=True)
        print(f"{row['dtype']:>8} densities: H_tt {row['density_hessian_theta_s']:.2f} s, "
              f"sym(J) {row['density_jacobian_symmetric_s']:.2f} s; trained {train_s:.1f} s", flush=True)
    # the dense path: assembly and the device's eig against the host's LAPACK on the same matrix
    images, _ = jg.datasets.digits(dtype=np.float64)
    dense_game = jg.games.dcgan(jnp.asarray(images[:64]), key=jax.random.PRNGKey(0), size=None, latent_dim=8,
                                g_channels=8 if args.smoke else 24, d_channels=4 if args.smoke else 8, num_latents=64)
    w = dense_game.params
    jg.eigenvalues(dense_game.game, w)  # compile
    s_dev, vals = timed(lambda: jg.eigenvalues(dense_game.game, w))
    a = np.asarray(jg.jacobian(dense_game.game, w))
    t0 = time.perf_counter()
    ref = np.linalg.eigvals(a)
    s_host = time.perf_counter() - t0
    err = float(max(np.min(np.abs(ref - z)) for z in np.asarray(vals)) / np.max(np.abs(ref)))
    out["dense"] = {"parameters": dense_game.num_parameters, "device_assembly_and_eig_s": s_dev, "host_numpy_eigvals_s": s_host,
                    "max_relative_difference": err}
    print(f"dense {dense_game.num_parameters} parameters: jg.eigenvalues (assembly + eig) {s_dev:.2f} s on the device, "
          f"NumPy eigvals (eig only) {s_host:.2f} s on the host, difference {err:.1e}", flush=True)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    name = "gpu_spectra_smoke.json" if args.smoke else "gpu_spectra.json"
    with open(os.path.join(HERE, "results", name), "w") as fh:
        json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
