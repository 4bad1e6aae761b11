"""A GAN on real data: the 8x8 handwritten digits (scikit-learn's copy, no download).

MLP generator (latent 16 -> 128 -> 128 -> 64, tanh output) and discriminator
(64 -> 128 -> 128 -> 1), leaky ReLU, minibatch training (``NeuralGAN.minibatch``,
128 data points and 128 fresh latents per step) with Adam, unregularised and with
regularisation (R1, consensus). Every ``--record`` steps:

* Frechet distance and classifier score of 1,000 generated digits in the feature
  space of ``jaxgan.metrics.digits_classifier()`` (next to the same numbers for real
  held-out digits: the floor and the ceiling);
* the Jacobian's top eigenvalues of the *exact* game on a fixed evaluation batch
  (256 digits, 256 latents): largest magnitude and largest real part by restarted
  Arnoldi on JVPs (``jaxgan.spectral_trace(method="arnoldi", smallest=False)``), with
  the phase factor over them: matrix-free spectra at ~52k parameters.

Writes ``benchmarks/results/digits.json`` and ``benchmarks/results/digits_samples.png``.

Usage: ``python benchmarks/digits.py [--steps 6000] [--record 1500]``.
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
from sweep_dirac import hardware

import jaxgan as jg

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")


def build(images, key, hidden=128, latent_dim=16):
    return jg.games.mlp_gan(jnp.asarray(images), key=key, latent_dim=latent_dim, hidden=(hidden, hidden),
                            activation=lambda x: jax.nn.leaky_relu(x, 0.2), output_activation=jnp.tanh, name="digits-gan")


def configs(gamma_r1, gamma_cons):
    return {
        "unregularised": (None, None),
        f"R1 (gamma={gamma_r1:g})": (lambda g: jg.regularizers.r1(g, gamma_r1), None),
        f"consensus (gamma={gamma_cons:g})": (None, jg.transforms.consensus(gamma_cons)),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--record", type=int, default=1500)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--gamma-r1", type=float, default=1.0)
    parser.add_argument("--gamma-consensus", type=float, default=1.0)
    parser.add_argument("--no-spectra", action="store_true")
    args = parser.parse_args()
    images, labels = jg.datasets.digits()
    clf = jg.metrics.digits_classifier()
    order = np.random.default_rng(0).permutation(len(labels))
    held_out = images[order[3 * len(labels) // 4:]]
    ref_fd = jg.metrics.frechet_distance(clf.features(images[order[:len(held_out)]]), clf.features(held_out))
    ref_score = jg.metrics.classifier_score(clf.probabilities(held_out))
    ng = build(images, jax.random.PRNGKey(0))
    ev = build(images[order[:256]], jax.random.PRNGKey(0))  # the same parameters, a fixed batch: exact spectra
    z_eval = jax.random.normal(jax.random.PRNGKey(1), (1000, ng.latent_dim))
    print(f"digits GAN: {ng.num_parameters} parameters, minibatch {args.batch}, Adam lr {args.lr}, {args.steps} steps "
          f"| real held-out digits: FD {ref_fd:.3f} (real vs real), classifier score {ref_score:.3f}; classifier test accuracy "
          f"{clf.test_accuracy:.4f}")
    out = {"hardware": hardware(), "args": vars(args), "parameters": ng.num_parameters,
           "reference": {"fd_real_vs_real": ref_fd, "score_real": ref_score, "classifier_accuracy": clf.test_accuracy}, "runs": {}}
    finals = {}
    for name, (reg, corr) in configs(args.gamma_r1, args.gamma_consensus).items():
        opt = optax.adam(args.lr, b1=0.5)
        tx = opt if corr is None else optax.chain(corr, opt)
        t0 = time.perf_counter()
        run = jax.jit(lambda w: jg.rollout(ng.minibatch(args.batch, regularize=reg), tx, w, args.steps, record_every=args.record,
                                           key=jax.random.PRNGKey(2)))(ng.params)
        jax.block_until_ready(run.final)
        t_run = time.perf_counter() - t0
        rows = []
        n_ck = jax.tree.leaves(run.trajectory)[0].shape[0]
        for t in range(n_ck):
            w = jax.tree.map(lambda a: a[t], run.trajectory)
            x = np.asarray(ng.generate(w.phi, z_eval))
            if not np.all(np.isfinite(x)):
                rows.append({"step": t * args.record, "finite": False})
                continue
            rows.append({"step": t * args.record, "finite": True, "fd": jg.metrics.frechet_distance(clf.features(x), clf.features(held_out)),
                         "score": jg.metrics.classifier_score(clf.probabilities(x)),
                         "classes": np.bincount(np.argmax(clf.probabilities(x), 1), minlength=10).tolist()})
        t_spec = 0.0
        if not args.no_spectra:
            t1 = time.perf_counter()
            tr = jg.spectral_trace(ev.game, run.trajectory, method="arnoldi", k=args.k, smallest=False, max_restarts=100)
            for t, r in enumerate(rows):
                r.update(phase_found=float(tr.phase[t]), max_real=float(tr.max_real[t]), max_modulus=float(tr.max_modulus[t]),
                         arnoldi_converged=bool(tr.converged[t]))
            t_spec = time.perf_counter() - t1
        out["runs"][name] = {"trace": rows, "run_s": t_run, "spectra_s": t_spec, "finite": bool(run.finite),
                             "first_nonfinite": int(run.first_nonfinite)}
        finals[name] = run.final
        last = rows[-1]
        print(f"  {name:<22} final FD {last.get('fd', float('nan')):8.3f}  score {last.get('score', float('nan')):6.3f}  "
              f"| run {t_run:.1f} s, spectra {t_spec:.1f} s", flush=True)
        for r in rows:
            print(f"      step {r['step']:>6}: FD {r.get('fd', float('nan')):8.3f}  score {r.get('score', float('nan')):6.3f}  "
                  f"top-|lambda| {r.get('max_modulus', float('nan')):9.4g}  max Re {r.get('max_real', float('nan')):+9.4g}  "
                  f"phase(found) {r.get('phase_found', float('nan')):9.4g}")
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "digits.json"), "w") as fh:
        json.dump(out, fh, indent=1)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(finals) + 1, figsize=(3.2 * (len(finals) + 1), 3.4))
    tiles = [("real", held_out[:36])] + [(n, np.asarray(ng.generate(w.phi, z_eval[:36]))) for n, w in finals.items()]
    for ax, (title, x) in zip(axes, tiles):
        grid = x.reshape(6, 6, 8, 8).transpose(0, 2, 1, 3).reshape(48, 48)
        ax.imshow(grid, cmap="gray_r")
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(os.path.join(RESULTS, "digits_samples.png"), dpi=110)


if __name__ == "__main__":
    main()
