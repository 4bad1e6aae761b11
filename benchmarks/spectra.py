"""Spectra of MLP GAN Jacobians: dense assembly + eig against matrix-free top-k.

Generator 2 -> w -> w -> 2 and discriminator 2 -> w -> w -> 1 (tanh), standard GAN loss,
full batch of 256 fixed latents and 256 points of the 8-Gaussian ring, float64, at a
perturbed initialisation. For each size (about 1k, 5k and 20k parameters) it reports, side
by side in one run:

* dense: time of the jitted Jacobian assembly (``jg.jacobian``, forward mode) and of
  ``eig``; their ratio (target: assembly <= 20% of eig) and the compiled assembly's memory
  (temporaries + output) over the matrix's size (target <= 3x);
* top-k (``k`` eigenvalues of largest real part, the least stable directions): jaxgan's
  ``top_eigenvalues`` (restarted Arnoldi on JVPs, jitted) against ARPACK
  (``scipy.sparse.linalg.eigs``) driving the same jitted JVP, and against ARPACK on a
  PyTorch vector-Jacobian-product operator (double backward) as a PyTorch user would
  write it (skipped with a note if torch is absent); time and relative error against the
  dense eigenvalues (where dense ran).

Writes ``benchmarks/results/spectra.json``.

Usage: ``python benchmarks/spectra.py [--widths 20 48 96] [--dense-max 6000] [--k 6]`` (rows of
other widths already in the JSON are kept).
"""

from __future__ import annotations

import argparse
import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse.linalg as sla
from jax.flatten_util import ravel_pytree

jax.config.update("jax_enable_x64", True)
import jaxgan as jg  # noqa: E402
from sweep_dirac import hardware  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def build(width, n=256, seed=0):
    ds = jg.datasets.ring()
    keys = jax.random.split(jax.random.PRNGKey(seed), 3)
    ng = jg.games.mlp_gan(ds.sample(keys[0], n), key=keys[1], hidden=(width, width))
    # every parameter perturbed by 0.1 N(0, 1): away from the zero-bias start
    w = jg.Joint(*(jax.tree.map(lambda x: x + 0.1 * jax.random.normal(keys[2], x.shape), p) for p in ng.params))
    return ng.game, w, (ng.data, ng.latents)


def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = jax.block_until_ready(fn())
        times.append(time.perf_counter() - t)
    return min(times), out


def rel_error(got, dense):
    if dense is None:
        return None
    scale = np.max(np.abs(dense))
    return float(max(np.min(np.abs(dense - z)) for z in np.asarray(got)) / scale)  # dense: the reference values


def torch_operator(w, data, z):
    """J^T v of the simultaneous field by double backward, on the same weights and data."""
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    leaves = [torch.tensor(np.asarray(x), requires_grad=True) for x in jax.tree.leaves(w)]
    n_phi = len(jax.tree.leaves(w.phi))
    gp, dp = leaves[:n_phi], leaves[n_phi:]
    x_real, zt = torch.tensor(np.asarray(data)), torch.tensor(np.asarray(z))

    def net(params, x):
        for i in range(0, len(params), 2):
            x = x @ params[i] + params[i + 1]
            if i + 2 < len(params):
                x = torch.tanh(x)
        return x

    logsig = torch.nn.functional.logsigmoid
    d_fake = net(dp, net(gp, zt))[:, 0]
    d_real = net(dp, x_real)[:, 0]
    # f(t) = log sigmoid(t): L = E f(D(G z)) + E f(-D x); the generator minimises L, D maximises it
    L = logsig(d_fake).mean() + logsig(-d_real).mean()
    g_phi = torch.autograd.grad(L, gp, create_graph=True)
    g_theta = torch.autograd.grad(-L, dp, create_graph=True)
    field = torch.cat([-g.reshape(-1) for g in g_phi + g_theta])  # v = -xi
    n = field.numel()

    def rmatvec(v):
        vt = torch.tensor(np.real(v).astype(np.float64))
        out = torch.autograd.grad(field, leaves, grad_outputs=vt, retain_graph=True)
        return torch.cat([o.reshape(-1) for o in out]).numpy()

    def matvec(v):  # ARPACK on J^T: same eigenvalues
        v = np.asarray(v)
        if np.iscomplexobj(v):
            return rmatvec(v.real) + 1j * rmatvec(v.imag)
        return rmatvec(v)

    return sla.LinearOperator((n, n), matvec=matvec, dtype=np.float64)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[20, 48, 96])
    parser.add_argument("--dense-max", type=int, default=6000, help="largest n for dense eig")
    parser.add_argument("--k", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=16, help="Jacobian columns per forward-mode block")
    args = parser.parse_args()
    rows = []
    for width in args.widths:
        game, w, (data, z) = build(width)
        n = sum(x.size for x in jax.tree.leaves(w))
        row = {"width": width, "parameters": n}
        dense = None
        if n <= args.dense_max:
            assemble = jax.jit(lambda w: jg.jacobian(game, w, chunk_size=args.chunk))
            compiled = assemble.lower(w).compile()
            mem = compiled.memory_analysis()
            a = jax.block_until_ready(assemble(w))
            t_asm, a = best_of(lambda: assemble(w), args.repeats)
            t0 = time.perf_counter()
            dense = np.linalg.eigvals(np.asarray(a))
            t_eig = time.perf_counter() - t0
            matrix = n * n * 8
            used = (mem.temp_size_in_bytes + mem.output_size_in_bytes) if mem is not None else float("nan")
            row.update(assembly_s=t_asm, eig_s=t_eig, assembly_over_eig=t_asm / t_eig, memory_over_matrix=used / matrix)
        z0, unravel = ravel_pytree(w)
        field = jg.vector_field(game)
        jvp = jax.jit(lambda v: jax.jvp(lambda q: ravel_pytree(field(unravel(q)))[0], (z0,), (v,))[1])
        top = jax.jit(lambda w: jg.top_eigenvalues(game, w, args.k, which="LR"))
        jax.block_until_ready(top(w))
        t_top, out = best_of(lambda: top(w), args.repeats)
        row.update(topk_s=t_top, topk_matvecs=int(out.matvecs), topk_error=rel_error(out.eigenvalues, dense),
                   topk_converged=bool(out.converged))
        op = sla.LinearOperator((n, n), matvec=lambda v: np.asarray(jvp(jnp.asarray(np.real(v))))
                                + (1j * np.asarray(jvp(jnp.asarray(np.imag(v)))) if np.iscomplexobj(v) else 0), dtype=np.float64)
        t0 = time.perf_counter()
        vals = sla.eigs(op, k=args.k, which="LR", tol=1e-10, v0=np.ones(n), return_eigenvectors=False)
        row.update(arpack_jax_s=time.perf_counter() - t0, arpack_jax_error=rel_error(vals, dense),
                   topk_vs_arpack=rel_error(out.eigenvalues, np.asarray(vals)))
        try:
            import torch  # noqa: F401

            op_t = torch_operator(w, data, z)
            t0 = time.perf_counter()
            vals_t = sla.eigs(op_t, k=args.k, which="LR", tol=1e-10, v0=np.ones(n), return_eigenvectors=False)
            row.update(arpack_torch_s=time.perf_counter() - t0, arpack_torch_error=rel_error(vals_t, dense))
        except ImportError:
            row.update(arpack_torch_s=None, arpack_torch_error=None, note="torch not installed: PyTorch column skipped")
        rows.append(row)
        f = lambda x, d=3: "-" if x is None else f"{x:.{d}g}"  # noqa: E731
        print(
            f"n={n:>6}  dense: assembly {f(row.get('assembly_s'))} s, eig {f(row.get('eig_s'))} s "
            f"(ratio {f(row.get('assembly_over_eig'))}, memory {f(row.get('memory_over_matrix'))}x matrix) | "
            f"top-{args.k} LR: jaxgan {f(row['topk_s'])} s (err {f(row['topk_error'], 2)}), "
            f"ARPACK+jax JVP {f(row['arpack_jax_s'])} s (err {f(row['arpack_jax_error'], 2)}; jaxgan vs ARPACK {f(row['topk_vs_arpack'], 2)}), "
            f"ARPACK+torch VJP {f(row['arpack_torch_s'])} s (err {f(row['arpack_torch_error'], 2)})",
            flush=True,
        )
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    path = os.path.join(HERE, "results", "spectra.json")
    # rows of other widths from an earlier run are kept (a single width can be re-measured)
    old = json.load(open(path))["rows"] if os.path.exists(path) else []
    merged = sorted([r for r in old if r["width"] not in args.widths] + rows, key=lambda r: r["width"])
    with open(path, "w") as fh:
        json.dump({"hardware": hardware(), "k": args.k, "rows": merged}, fh, indent=1)


if __name__ == "__main__":
    main()
