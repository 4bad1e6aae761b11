"""Cost of one step of SimGD, SGA, LOLA, SOS and CGD on n-player games, against a hand-written
per-player loop of the same formulas in plain JAX.

The game is Cournot competition (``jg.games.cournot(n)``, scalar firms): ``Players`` of
``n = 2, 8, 64`` scalar players (a Python loop over players inside one trace), and the stacked
form ``StackedPlayers`` of ``n = 1,000`` for SimGD and SGA (one ``vmap`` over the players).
For each it times ``jit(make_step(game, tx))`` under ``lax.scan`` (steady state, best of
``--repeats`` runs of ``--steps`` steps) and the hand-written step on one array of firms (the
per-player gradients with ``jax.grad`` in a loop, the block products ``H_o v`` as a ``vmap``
of ``jax.jvp`` over the players' unit tangents, LOLA's cross terms as a ``vmap`` of
``jax.vjp``, CGD's system solved by CG on the normal equations), and reports the time per step, the ratio jaxgan / hand,
the trace-and-compile time, and how each grows with ``n`` (the exponent of a power-law fit).

Usage: ``python benchmarks/n_player.py [--steps 50] [--repeats 3] [--sizes 2,8,64]``. Writes
``benchmarks/results/n_player.json``.
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
LR, LAM, ALPHA, ETA = 0.01, 0.1, 0.1, 0.01
A, B, C = 10.0, 1.0, 1.0


def cournot_loss(i, q):
    return -q[i] * (A - B * jnp.sum(q) - C)


# --------------------------------------------------------------------------- hand-written steps


def hand_field(q):
    """``xi_i = d l_i / d q_i``, one ``jax.grad`` per player (the loop a user writes)."""
    n = q.shape[0]
    return jnp.stack([jax.grad(lambda x, i=i: cournot_loss(i, q.at[i].set(x)))(q[i]) for i in range(n)])


def hand_field_stacked(q):
    return jax.vmap(lambda i: jax.grad(lambda x: cournot_loss(i, q.at[i].set(x)))(q[i]))(jnp.arange(q.shape[0]))


def hand_step(name, field):
    def step(q):
        xi = field(q)
        if name == "simgd":
            return q - LR * xi
        if name == "sga":
            _, j_xi = jax.jvp(field, (q,), (xi,))
            jt_xi = jax.vjp(field, q)[1](xi)[0]
            return q - LR * (xi + LAM * (jt_xi - j_xi) / 2)
        n = q.shape[0]
        eye = jnp.eye(n, dtype=q.dtype)

        def off(v, lin=None):  # H_o v: the n products J (e_i v_i), batched, the own blocks dropped
            jvp = lin if lin is not None else (lambda t: jax.jvp(field, (q,), (t,))[1])
            return jnp.sum(jax.vmap(lambda e: jvp(v * e))(eye) * (1 - eye), axis=0)

        if name in ("lola", "sos"):
            xi0 = xi - ALPHA * off(xi)
            _, vjp = jax.vjp(field, q)
            grads = jax.vmap(lambda i: jax.grad(lambda w: cournot_loss(i, w))(q))(jnp.arange(n))  # row i: grad l_i
            chi = jnp.diagonal(jax.vmap(lambda c: vjp(c)[0])(grads * (1 - eye)))
            if name == "lola":
                return q - LR * (xi0 - ALPHA * chi)
            inner = -ALPHA * jnp.vdot(chi, xi0)
            p1 = jnp.where(inner >= 0, 1.0, jnp.minimum(1.0, -0.5 * jnp.vdot(xi0, xi0) / jnp.where(inner >= 0, -1.0, inner)))
            p2 = jnp.where(jnp.linalg.norm(xi) >= 0.1, 1.0, jnp.vdot(xi, xi))
            return q - LR * (xi0 - ALPHA * jnp.minimum(p1, p2) * chi)
        # cgd: (I + eta H_o) x = xi by CG on the normal equations
        _, lin = jax.linearize(field, q)

        def m(v):
            return v + ETA * off(v, lin)

        mt = jax.linear_transpose(m, xi)
        x, _ = jax.scipy.sparse.linalg.cg(lambda v: mt(m(v))[0], mt(xi)[0], tol=1e-10, maxiter=2 * n + 10)
        return q - ETA * x

    return step


# --------------------------------------------------------------------------- timing


def jaxgan_tx(name):
    return {
        "simgd": optax.sgd(LR),
        "sga": optax.chain(jg.transforms.sga(LAM, align=False), optax.sgd(LR)),
        "lola": optax.chain(jg.transforms.lola(ALPHA), optax.sgd(LR)),
        "sos": optax.chain(jg.transforms.sos(ALPHA), optax.sgd(LR)),
        "cgd": jg.transforms.cgd(ETA, tol=1e-10, warm_start=False),
    }[name]


def timed_scan(step, carry, steps, repeats):
    run = jax.jit(lambda c: jax.lax.scan(lambda c_, _: (step(c_), None), c, None, length=steps)[0])
    t0 = time.perf_counter()
    jax.block_until_ready(run(carry))
    compile_s = time.perf_counter() - t0
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(run(carry))
        best = min(best, time.perf_counter() - t0)
    return best / steps, compile_s


def measure(name, n, stacked, steps, repeats):
    game = jg.games.cournot(n, a=A, b=B, c=C, stacked=stacked)
    start = jnp.linspace(0.5, 2.0, n)
    w0 = jg.StackedPlayers(start) if stacked else jg.Players(*start)
    tx = jaxgan_tx(name)
    step = jg.make_step(game, tx)
    ours, ours_compile = timed_scan(lambda c: step(*c), (w0, tx.init(w0)), steps, repeats)
    hand, hand_compile = timed_scan(hand_step(name, hand_field_stacked if stacked else hand_field), start, steps, repeats)
    # the two steps agree (one step from the same point)
    w1 = step(w0, tx.init(w0))[0]
    ours_q = w1.x if stacked else jnp.stack(list(w1))
    agree = float(jnp.max(jnp.abs(ours_q - hand_step(name, hand_field_stacked if stacked else hand_field)(start))))
    return {"algorithm": name, "n": n, "form": "stacked" if stacked else "players", "jaxgan_us": ours * 1e6,
            "hand_us": hand * 1e6, "ratio": ours / hand, "jaxgan_compile_s": ours_compile,
            "hand_compile_s": hand_compile, "max_step_difference": agree}


def growth(rows, name, form):
    pts = [(r["n"], r["jaxgan_us"]) for r in rows if r["algorithm"] == name and r["form"] == form]
    if len(pts) < 2:
        return None
    n, t = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
    return float(np.polyfit(n, t, 1)[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", default="2,8,64")
    parser.add_argument("--stacked", type=int, default=1000)
    args = parser.parse_args()
    jax.config.update("jax_enable_x64", True)
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    print(f"{'algorithm':<8} {'form':<8} {'n':>5} {'jaxgan us':>10} {'hand us':>10} {'ratio':>6} {'compile s':>10} "
          f"{'max |diff|':>10}")
    plan = [(a, n, False) for a in ("simgd", "sga", "lola", "sos", "cgd") for n in sizes]
    plan += [(a, args.stacked, True) for a in ("simgd", "sga")]
    for name, n, stacked in plan:
        r = measure(name, n, stacked, args.steps, args.repeats)
        rows.append(r)
        print(f"{name:<8} {r['form']:<8} {n:>5} {r['jaxgan_us']:>10.1f} {r['hand_us']:>10.1f} {r['ratio']:>6.2f} "
              f"{r['jaxgan_compile_s']:>10.2f} {r['max_step_difference']:>10.1e}", flush=True)
    exponents = {name: growth(rows, name, "players") for name in ("simgd", "sga", "lola", "sos", "cgd")}
    print("time per step ~ n^k over n in", sizes, ":", {k: round(v, 2) for k, v in exponents.items() if v is not None})
    out = {"hardware": hardware(), "steps": args.steps, "repeats": args.repeats, "rows": rows,
           "growth_exponent_players": exponents}
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "n_player.json"), "w") as fh:
        json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
