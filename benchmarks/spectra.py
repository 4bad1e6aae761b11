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

With ``--conv`` it instead trains the DCGAN-style convolutional GAN (``jg.games.dcgan``,
size ``"million"``: 1,013,122 parameters, float64) on the digits (``conv_gan.train``) and,
at the last checkpoint, on the exact game of a fixed batch (64 digits, 64 latents),
finds the top-``k`` eigenvalues by real part of the game Jacobian side by side:
jaxgan's ``top_eigenvalues``, ARPACK on the same jitted JVP, ARPACK on PyTorch double
backward (``torch_dcgan.py``, the same weights; skipped if torch is absent), and jaxgan on
the consensus and JARE fields. Each runs in its own process, so its peak resident memory is
its own; each reports time, products, the residual ``|A x - lambda x| / max|lambda|`` of
every pair, and its Krylov storage. Writes ``benchmarks/results/spectra_conv.json``.

Usage: ``python benchmarks/spectra.py [--widths 20 48 96] [--dense-max 6000] [--k 6]`` (rows of
other widths already in the JSON are kept); ``python benchmarks/spectra.py --conv
[--conv-size million] [--conv-steps 100] [--methods ...]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse.linalg as sla
from jax.flatten_util import ravel_pytree

jax.config.update("jax_enable_x64", True)
from sweep_dirac import hardware  # noqa: E402

import jaxgan as jg  # noqa: E402

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


CONV_METHODS = ("jaxgan", "jaxgan-tol1e-10", "arpack-jax", "arpack-jax-default-ncv", "arpack-torch", "jaxgan-consensus", "jaxgan-jare")
CONV_CORRECTIONS = {"jaxgan-consensus": ("consensus", 0.1), "jaxgan-jare": ("jare", 0.1)}


def conv_game(size, seed=0, batch=64):
    """The exact game of the fixed evaluation batch (as ``conv_gan.train`` builds it)."""
    images, _ = jg.datasets.digits(dtype=np.float64)
    return jg.games.dcgan(jnp.asarray(images[:batch]), key=jax.random.PRNGKey(seed), size=size, num_latents=batch,
                          name=f"dcgan-{size}")


def peak_rss_bytes():
    """This process's peak resident memory (``VmHWM``: reset by exec, unlike ``ru_maxrss``)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def true_residuals(apply, vals, vecs):
    """``|A x - lambda x| / max|lambda|`` of each pair, ``x`` normalised (one product per pair)."""
    scale = float(np.max(np.abs(vals)))
    out = []
    for lam, x in zip(vals, vecs.T):
        x = x / np.linalg.norm(x)
        out.append(float(np.linalg.norm(apply(x) - lam * x) / scale))
    return out


def conv_child(method, size, checkpoint, k, tol, krylov, arpack_maxiter, max_restarts=300):
    """One solver on the saved checkpoint, in this process: a dict for the JSON."""
    ng = conv_game(size)
    z0_init, unravel = ravel_pytree(ng.params)
    z = jnp.asarray(np.load(checkpoint)["w"])
    w = unravel(z)
    n = int(z.size)
    game = ng.game
    rss_before = peak_rss_bytes()
    row = {"method": method, "parameters": n, "tol": tol}
    if method.startswith("jaxgan"):
        transform = None
        if method in CONV_CORRECTIONS:
            name, gamma = CONV_CORRECTIONS[method]
            transform = getattr(jg, name)(gamma)
            row["correction"] = f"jg.{name}({gamma})"
        m = min(n, krylov)
        t0 = time.perf_counter()
        out = jax.block_until_ready(jg.top_eigenvalues(game, w, k, which="LR", transform=transform, tol=tol, krylov_size=m,
                                                        max_restarts=max_restarts))
        seconds = time.perf_counter() - t0
        vals = np.asarray(out.eigenvalues)
        row.update(seconds=seconds, seconds_note="first call: includes tracing and compilation",
                   matvecs=int(out.matvecs), restarts=int(out.restarts), converged=bool(out.converged),
                   residuals=(np.asarray(out.residuals) / np.max(np.abs(vals))).tolist(),
                   krylov_bytes=(m + 1) * n * 8, krylov_note=f"{m + 1} float64 basis vectors (real arithmetic)")
    else:
        if method.startswith("arpack-jax"):
            field = jg.vector_field(game)
            jvp = jax.jit(lambda q, v: jax.jvp(lambda p: ravel_pytree(field(unravel(p)))[0], (q,), (v,))[1])
            real = lambda v: np.asarray(jvp(z, jnp.asarray(v)))  # noqa: E731
            row["operator"] = "J v: the jitted jax.jvp of the field"
        else:
            try:
                import torch_dcgan
            except ImportError:  # pragma: no cover
                raise
            op_t, torch_field = torch_dcgan.operator(ng, w)
            row["torch_field_vs_jaxgan"] = torch_dcgan.check_field(ng, w, torch_field)
            real = op_t.matvec
            row["operator"] = "J^T v: PyTorch double backward (same eigenvalues)"
        count = [0]

        def matvec(v):
            v = np.asarray(v)
            count[0] += 2 if np.iscomplexobj(v) else 1
            return real(v.real) + 1j * real(v.imag) if np.iscomplexobj(v) else real(v)

        op = sla.LinearOperator((n, n), matvec=matvec, dtype=np.float64)
        ncv = min(n, 2 * k + 1) if method == "arpack-jax-default-ncv" else min(n, krylov)
        maxiter = max(1, arpack_maxiter // max(ncv - k, 1))  # a budget of about arpack_maxiter products
        t0 = time.perf_counter()
        converged = True
        try:
            vals, vecs = sla.eigs(op, k=k, which="LR", tol=tol, v0=np.ones(n), ncv=ncv, maxiter=maxiter)
        except sla.ArpackNoConvergence as err:  # keeps the pairs that did converge
            converged = False
            vals, vecs = err.eigenvalues, err.eigenvectors
        seconds = time.perf_counter() - t0
        order = np.argsort(-vals.real)
        vals, vecs = vals[order], vecs[:, order]
        used = count[0]
        residuals = true_residuals(matvec, vals, vecs) if len(vals) else []
        row.update(seconds=seconds, seconds_note="includes the first product's compilation" if method.startswith("arpack-jax") else "",
                   matvecs=used, converged=converged, converged_pairs=int(len(vals)), residuals=residuals,
                   maxiter=maxiter, krylov_bytes=ncv * n * 8,
                   krylov_note=f"ARPACK's ncv = {ncv} float64 basis vectors" + (" (scipy's default 2k + 1)" if ncv == 2 * k + 1 else ""))
    row.update(eigenvalues=[[float(v.real), float(v.imag)] for v in vals],
               peak_rss_bytes=peak_rss_bytes(), rss_before_solve_bytes=rss_before)
    return row


def compare_conv_rows(rows):
    """Each ARPACK row against jaxgan's (eigenvalues and time), and one printed line a row."""
    ref = next((np.array([complex(*v) for v in r["eigenvalues"]]) for r in rows if r.get("method") == "jaxgan" and "eigenvalues" in r), None)
    for row in rows:
        if "eigenvalues" not in row:
            continue
        vals = np.array([complex(*v) for v in row["eigenvalues"]])
        if ref is not None and row["method"].startswith("arpack") and len(vals):
            row["vs_jaxgan"] = rel_error(vals, ref)
        mib = lambda b: b / 2**20  # noqa: E731
        print(f"{row['method']:>17}: {row['seconds']:7.1f} s, {row['matvecs']:4d} products, "
              f"max residual {max(row['residuals'] or [np.nan]):.1e} ({'converged' if row['converged'] else 'not converged'}), Krylov {mib(row['krylov_bytes']):6.0f} MiB, "
              f"peak RSS {mib(row['peak_rss_bytes']):6.0f} MiB; lambda_1 = {vals[0].real if len(vals) else np.nan:+.6g}"
              + (f"; vs jaxgan {row['vs_jaxgan']:.1e}" if "vs_jaxgan" in row else ""), flush=True)
    for row in rows:
        if row.get("method", "").startswith("arpack") and "seconds" in row:
            base = next((r for r in rows if r.get("method") == "jaxgan" and "seconds" in r), None)
            if base is not None:
                row["seconds_over_jaxgan"] = row["seconds"] / base["seconds"]


def conv_tol(method, args):
    """The tolerance of a method's row: ``--tol`` for the plain field, 1e-10 for the tight
    jaxgan row (residuals below ARPACK's at ``--tol``), ``--corrected-tol`` for the corrected fields."""
    if method == "jaxgan-tol1e-10":
        return 1e-10
    return args.corrected_tol if method in CONV_CORRECTIONS else args.tol


def conv_main(args):
    from conv_gan import train

    ng, w0, w1, train_s = train(args.conv_size, args.conv_steps, dtype=np.float64)
    z1, _ = ravel_pytree(w1)
    grad_norm = float(np.linalg.norm(np.asarray(ravel_pytree(jg.vector_field(ng.game)(w1))[0])))
    print(f"trained dcgan-{args.conv_size} ({z1.size:,} parameters, float64) for {args.conv_steps} Adam steps: "
          f"{train_s:.1f} s; |xi| at the checkpoint {grad_norm:.3g}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = os.path.join(tmp, "checkpoint.npz")
        np.savez(ckpt, w=np.asarray(z1))
        for method in args.methods:
            if method == "arpack-torch":
                import importlib.util

                if importlib.util.find_spec("torch") is None:
                    rows.append({"method": method, "note": "torch not installed: PyTorch column skipped"})
                    print(f"{method:>17}: skipped (torch not installed)", flush=True)
                    continue
            cmd = [sys.executable, os.path.abspath(__file__), "--conv-child", method, "--conv-size", args.conv_size,
                   "--checkpoint", ckpt, "--k", str(args.k), "--tol", str(conv_tol(method, args)),
                   "--krylov", str(args.krylov), "--arpack-maxiter", str(args.arpack_maxiter),
                   "--max-restarts", str(args.max_restarts if method in CONV_CORRECTIONS else 300)]
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=HERE)
            if proc.returncode != 0:
                tail = proc.stderr.strip().splitlines()[-3:]
                rows.append({"method": method, "error": " | ".join(tail)})
                print(f"{method:>17}: failed: {tail}", flush=True)
                continue
            row = json.loads(proc.stdout.strip().splitlines()[-1])
            rows.append(row)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    path = os.path.join(HERE, "results", "spectra_conv.json")
    if os.path.exists(path):  # rows of other methods on the same checkpoint are kept (re-measure one method)
        old = json.load(open(path))
        if (old.get("size"), old.get("train_steps"), old.get("k")) == (args.conv_size, args.conv_steps, args.k):
            done = {r["method"] for r in rows}
            rows = [r for r in old["rows"] if r["method"] not in done] + rows
            rows.sort(key=lambda r: CONV_METHODS.index(r["method"]))
    compare_conv_rows(rows)
    out = {"hardware": hardware(), "size": args.conv_size, "parameters": int(z1.size), "k": args.k, "which": "LR",
           "tol": args.tol, "corrected_tol": args.corrected_tol, "krylov": args.krylov, "arpack_maxiter": args.arpack_maxiter, "train_steps": args.conv_steps, "train_s": train_s, "gradient_norm_at_checkpoint": grad_norm,
           "rows": rows}
    with open(path, "w") as fh:
        json.dump(out, fh, indent=1)


def main():
    if "--conv" in sys.argv or "--conv-child" in sys.argv:
        parser = argparse.ArgumentParser(description="top-k spectra of the convolutional GAN")
        parser.add_argument("--conv", action="store_true")
        parser.add_argument("--conv-child", default=None)
        parser.add_argument("--conv-size", default="million")
        parser.add_argument("--conv-steps", type=int, default=100)
        parser.add_argument("--checkpoint", default=None)
        parser.add_argument("--k", type=int, default=6)
        parser.add_argument("--tol", type=float, default=1e-8)
        parser.add_argument("--corrected-tol", type=float, default=1e-6, help="tolerance for the corrected fields")
        parser.add_argument("--max-restarts", type=int, default=2, help="restart cap for the corrected fields")
        parser.add_argument("--krylov", type=int, default=120, help="Krylov size (jaxgan) and ncv (ARPACK)")
        parser.add_argument("--arpack-maxiter", type=int, default=900,
                            help="ARPACK's budget in products (maxiter = budget / (ncv - k) restarts)")
        parser.add_argument("--methods", nargs="+", default=list(CONV_METHODS), choices=CONV_METHODS)
        args = parser.parse_args()
        if args.conv_child:
            print(json.dumps(conv_child(args.conv_child, args.conv_size, args.checkpoint, args.k, args.tol, args.krylov,
                                        args.arpack_maxiter, args.max_restarts)))
        else:
            conv_main(args)
        return
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
