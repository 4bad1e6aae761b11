"""Cost of one step of each game algorithm on an MLP GAN of about 20,000 parameters.

Generator 2 -> 96 -> 96 -> 2 and discriminator 2 -> 96 -> 96 -> 1 (flax.linen, tanh),
full batch: 512 fixed latents and 512 points of the 8-Gaussian ring, standard GAN loss,
float32. For each algorithm it times ``jit(make_step(game, tx))`` (steady state, best of
``--repeats`` runs of ``--steps`` steps under ``lax.scan``) and reports the time per step
and the ratio to SimGD (target: every correction <= 3x SimGD). Beside it: PyTorch SimGD,
consensus and CGD (double-backward Hessian-vector products, the same warm-started conjugate
gradient and tolerance) on the same networks and data, the way a PyTorch user would write
them (skipped if torch is absent). CGD's and ACGD's conjugate-gradient products are counted. Writes
``benchmarks/results/corrections.json``.

Usage: ``python benchmarks/corrections.py [--steps 200] [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from sweep_dirac import hardware

import jaxgan as jg

HERE = os.path.dirname(os.path.abspath(__file__))
WIDTH = 96


class MLP(nn.Module):
    width: int
    out: int

    @nn.compact
    def __call__(self, x):
        x = jnp.tanh(nn.Dense(self.width)(x))
        x = jnp.tanh(nn.Dense(self.width)(x))
        return nn.Dense(self.out)(x)


def ring(n, key, radius=2.0, std=0.02):
    k1, k2 = jax.random.split(key)
    centres = radius * jnp.stack([jnp.cos(2 * jnp.pi * jnp.arange(8) / 8), jnp.sin(2 * jnp.pi * jnp.arange(8) / 8)], 1)
    idx = jax.random.randint(k1, (n,), 0, 8)
    return centres[idx] + std * jax.random.normal(k2, (n, 2))


def build(n=512, seed=0):
    keys = jax.random.split(jax.random.PRNGKey(seed), 4)
    gen, disc = MLP(WIDTH, 2), MLP(WIDTH, 1)
    phi = gen.init(keys[0], jnp.zeros(2))
    theta = disc.init(keys[1], jnp.zeros(2))
    data = ring(n, keys[2])
    z = jax.random.normal(keys[3], (n, 2))
    game = jg.games.gan(lambda p, zi: gen.apply(p, zi), lambda t, x: disc.apply(t, x)[0],
                        jg.fixed_samples(data), jg.fixed_samples(z))
    return game, jg.Joint(phi, theta), (gen, disc, data, z)


ALGORITHMS = {
    "simgd": lambda: optax.sgd(1e-2),
    "alternating": lambda: jg.transforms.alternating(optax.sgd(1e-2)),
    "consensus": lambda: optax.chain(jg.transforms.consensus(1.0), optax.sgd(1e-2)),
    "jare": lambda: optax.chain(jg.transforms.jare(1.0), optax.sgd(1e-2)),
    "sga": lambda: optax.chain(jg.transforms.sga(1.0), optax.sgd(1e-2)),
    "sga (no alignment)": lambda: optax.chain(jg.transforms.sga(1.0, align=False), optax.sgd(1e-2)),
    "extragradient": lambda: jg.transforms.extragradient(optax.sgd(1e-2)),
    "hamiltonian": lambda: optax.chain(jg.transforms.hamiltonian(), optax.sgd(1e-2)),
    "cgd": lambda: jg.transforms.cgd(1e-2),
    "acgd": lambda: jg.transforms.acgd(1e-2),
    "look-ahead": lambda: optax.chain(jg.transforms.opponent_lookahead(1e-2), optax.sgd(1e-2)),
    "lola": lambda: optax.chain(jg.transforms.lola(1e-2), optax.sgd(1e-2)),
    "sos": lambda: optax.chain(jg.transforms.sos(1e-2), optax.sgd(1e-2)),
    "gda-am (m=5)": lambda: jg.transforms.gda_am(optax.sgd(1e-2), window=5),
    "gda-am alternating (m=5)": lambda: jg.transforms.gda_am(jg.transforms.alternating(optax.sgd(1e-2)), window=5),
}


def time_jax(game, w0, tx, steps, repeats):
    step = jg.make_step(game, tx)

    @jax.jit
    def run(w, s):
        return jax.lax.scan(lambda c, _: (step(*c), None), (w, s), None, length=steps)[0]

    state = tx.init(w0)
    jax.block_until_ready(run(w0, state))
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(run(w0, state))
        best = min(best, time.perf_counter() - t0)
    return best / steps


def time_torch(parts, w0, steps, repeats, mode):
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    gen, disc, data, z = parts

    def to_torch(params):
        return [torch.tensor(np.asarray(params["params"][layer][name]), requires_grad=True)
                for layer in ("Dense_0", "Dense_1", "Dense_2") for name in ("kernel", "bias")]

    g_params, d_params = to_torch(w0.phi), to_torch(w0.theta)
    x_real, z_t = torch.tensor(np.asarray(data)), torch.tensor(np.asarray(z))

    def mlp(params, x):
        for i in range(0, 6, 2):
            x = x @ params[i] + params[i + 1]
            if i < 4:
                x = torch.tanh(x)
        return x

    logsig = torch.nn.functional.logsigmoid

    def value(gp, dp):  # L = E f(D(G(z))) + E f(-D(x))
        return logsig(mlp(dp, mlp(gp, z_t))).mean() + logsig(-mlp(dp, x_real)).mean()

    lr = 1e-2
    tol = 1e-2 * float(np.sqrt(np.finfo(np.float32).eps))  # jaxgan's default in float32
    warm = {}

    def flat(ts):
        return torch.cat([t.reshape(-1) for t in ts])

    def unflat(v, like):
        out, i = [], 0
        for t in like:
            out.append(v[i:i + t.numel()].view_as(t))
            i += t.numel()
        return out

    def cg(matvec, b, x0, maxiter):
        x = x0.clone()
        r = b - matvec(x)
        p, rr = r.clone(), r @ r
        stop, k = tol * torch.linalg.vector_norm(b), 0
        while k < maxiter and torch.sqrt(rr) > stop:
            mp = matvec(p)
            alpha = rr / (p @ mp)
            x, r = x + alpha * p, r - alpha * mp
            rr_new = r @ r
            p, rr, k = r + (rr_new / rr) * p, rr_new, k + 1
        return x

    def cgd_step(gp, dp):
        # f = value: the generator minimises it, the discriminator maximises it.
        # dx = -lr (I + lr^2 Dxy Dyx)^-1 (gx + lr Dxy gy), dy = lr (I + lr^2 Dyx Dxy)^-1 (gy - lr Dyx gx)
        L = value(gp, dp)
        gx = torch.autograd.grad(L, gp, create_graph=True)
        gy = torch.autograd.grad(L, dp, create_graph=True)
        fx, fy = flat(gx).detach(), flat(gy).detach()

        def d_xy(v):  # d/dx <grad_y f, v>
            return flat(torch.autograd.grad(gy, gp, grad_outputs=unflat(v, dp), retain_graph=True))

        def d_yx(u):
            return flat(torch.autograd.grad(gx, dp, grad_outputs=unflat(u, gp), retain_graph=True))

        n = fx.numel() + fy.numel()
        cap = min(2 * n + 10, 1000)
        x = cg(lambda u: u + lr**2 * d_xy(d_yx(u)), fx + lr * d_xy(fy), warm.get("x", torch.zeros_like(fx)), cap)
        y = cg(lambda v: v + lr**2 * d_yx(d_xy(v)), fy - lr * d_yx(fx), warm.get("y", torch.zeros_like(fy)), cap)
        warm["x"], warm["y"] = x.detach(), y.detach()
        with torch.no_grad():
            new = [p - lr * g for p, g in zip(gp, unflat(x, gp))] + [p + lr * g for p, g in zip(dp, unflat(y, dp))]
        new = [p.detach().requires_grad_(True) for p in new]
        return new[: len(gp)], new[len(gp):]

    def one_step(gp, dp):
        if mode == "cgd":
            return cgd_step(gp, dp)
        consensus = mode == "consensus"
        L = value(gp, dp)
        xi = torch.autograd.grad(L, gp + dp, create_graph=consensus)
        xi = list(xi[: len(gp)]) + [-g for g in xi[len(gp):]]  # (grad_phi L, -grad_theta L)
        if consensus:
            half_sq = 0.5 * sum((g * g).sum() for g in xi)
            corr = torch.autograd.grad(half_sq, gp + dp)
            xi = [g + c for g, c in zip(xi, corr)]
        with torch.no_grad():
            new = [p - lr * g for p, g in zip(gp + dp, xi)]
        new = [p.detach().requires_grad_(True) for p in new]
        return new[: len(gp)], new[len(gp):]

    gp, dp = g_params, d_params
    for _ in range(3):
        gp, dp = one_step(gp, dp)
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(steps):
            gp, dp = one_step(gp, dp)
        best = min(best, time.perf_counter() - t0)
    return best / steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=os.path.join(HERE, "results", "corrections.json"))
    args = parser.parse_args()
    game, w0, parts = build()
    n_params = sum(x.size for x in jax.tree.leaves(w0))
    hw = hardware()
    print(f"hardware: {hw}\nMLP GAN with {n_params} parameters, full batch of 512, float32")
    rows = {}
    for name, make in ALGORITHMS.items():
        rows[name] = {"seconds_per_step": time_jax(game, w0, make(), args.steps, args.repeats)}
    # CGD's conjugate-gradient work: matrix-vector products of both players' solves per step,
    # warm-started along a run (the timing above includes them)
    tx = ALGORITHMS["cgd"]()
    out = jg.rollout(game, tx, w0, args.steps)
    one = jg.rollout(game, jg.transforms.cgd(1e-2, warm_start=False), w0, 1)
    rows["cgd"]["cg_products_per_step_warm"] = int(out.state.iterations)
    rows["cgd"]["cg_products_first_step_cold"] = int(one.state.iterations)
    rows["cgd"]["unconverged_solves"] = int(out.state.failures)
    out = jg.rollout(game, ALGORITHMS["acgd"](), w0, args.steps)
    rows["acgd"]["cg_products_last_step"] = int(out.state.iterations)
    rows["acgd"]["unconverged_solves"] = int(out.state.failures)
    base = rows["simgd"]["seconds_per_step"]
    try:
        import torch  # noqa: F401

        for mode in ("simgd", "consensus", "cgd"):
            rows[f"pytorch {mode}"] = {"seconds_per_step": time_torch(parts, w0, max(20, args.steps // 10), args.repeats, mode)}
    except ImportError:
        print("note: torch is not installed; PyTorch rows skipped")
    print(f"\n{'algorithm':<26} {'ms / step':>10} {'x SimGD (jaxgan)':>17}")
    for name, row in rows.items():
        row["ratio_to_simgd"] = row["seconds_per_step"] / base
        print(f"{name:<26} {1e3 * row['seconds_per_step']:>10.3f} {row['ratio_to_simgd']:>17.2f}")
    if "pytorch cgd" in rows:
        rows["pytorch cgd"]["jaxgan_speedup"] = rows["pytorch cgd"]["seconds_per_step"] / rows["cgd"]["seconds_per_step"]
        print(f"cgd: jaxgan is {rows['pytorch cgd']['jaxgan_speedup']:.2f}x PyTorch's speed on the same update")
    c = rows["cgd"]
    print(f"cgd: {c['cg_products_first_step_cold']} CG products (both players) on a cold first step, "
          f"{c['cg_products_per_step_warm']} per step warm-started after {args.steps} steps, "
          f"{c['unconverged_solves']} unconverged solves")
    a = rows["acgd"]
    print(f"acgd: {a['cg_products_last_step']} CG products on the last of {args.steps} steps (its per-coordinate "
          f"steps eta / (sqrt(v) + eps) reach eta / eps, so its solves are worse conditioned), "
          f"{a['unconverged_solves']} unconverged solves")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump({"benchmark": "corrections", "hardware": hw, "parameters": int(n_params), "rows": rows}, fh, indent=1)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
