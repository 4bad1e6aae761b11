"""_manifold (jg.manifold): projections, retractions, total derivatives on the best-response manifold."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxgan as jg


def _nonlinear_game(n=6, m=10, seed=3):
    rng = np.random.default_rng(seed)
    A = jnp.asarray(np.diag(rng.uniform(0.5, 1.5, n)))
    B = jnp.asarray(rng.normal(size=(n, m)) / np.sqrt(m))
    C = jnp.asarray(np.diag(rng.uniform(0.5, 2.0, m)))

    def f(x, y):
        return x @ A @ x / 2 + 0.05 * jnp.sum(x**4) + jnp.tanh(x) @ B @ y - y @ C @ y / 2 - 0.05 * jnp.sum(y**4)

    return jg.zero_sum(f, equilibrium=jg.Joint(jnp.zeros(n), jnp.zeros(m)))


def test_tangent_projection_properties():
    game = _nonlinear_game()

    @jax.jit
    def check(w0, g):
        w = jg.manifold.retract(game, w0).w
        p = jg.manifold.tangent_projection(game, w, g)
        d = jg.manifold.tangent_projection(game, w, g, method="dense")
        _, k_pg = jax.jvp(lambda w_: jg.simultaneous_gradient(game)(w_).theta, (w,), (p.vector,))
        return p.vector, d.vector, k_pg, jg.manifold.tangent_projection(game, w, p.vector).vector

    w0 = jg.Joint(jax.random.normal(jax.random.PRNGKey(0), (6,)), jnp.zeros(10))
    p, d, k_pg, pp = check(w0, jg.Joint(jnp.arange(6.0), jnp.ones(10)))
    chex.assert_trees_all_close(p, d, atol=1e-10)
    np.testing.assert_allclose(k_pg, 0, atol=1e-10)  # tangent: K (P g) = 0
    chex.assert_trees_all_close(pp, p, atol=1e-10)  # P is idempotent


def test_warm_started_projection_is_exact_and_cheaper():
    game = _nonlinear_game(20, 60)
    w0 = jg.Joint(jnp.linspace(-1.0, 1.0, 20), jnp.zeros(60))
    out = jax.jit(lambda w: jg.rollout(game, jg.transforms.best_response(optax.sgd(0.1), projection="dense"), w, 40, record_every=1))(w0)

    @jax.jit
    def sweep(trajectory):
        # the 40 points after the start in order, each warm-started from the previous multiplier:
        # one compiled scan instead of 40 calls (and 80 eager slices)
        def step(warm, w):
            g = jax.grad(lambda w_: game.loss_g(w_.phi, w_.theta))(w)
            warm_p = jg.manifold.tangent_projection(game, w, g, warm=warm)
            cold_p = jg.manifold.tangent_projection(game, w, g)
            exact = jg.manifold.tangent_projection(game, w, g, method="dense")
            return warm_p.multiplier, (warm_p.vector, cold_p.vector, exact.vector, warm_p.info.iterations, cold_p.info.iterations)

        points = jax.tree.map(lambda x: x[1:41], trajectory)
        return jax.lax.scan(step, jnp.zeros(60), points)[1]

    wp, cp, ex, warm_its, cold_its = sweep(out.trajectory)
    assert ex.phi.shape == (40, 20) and ex.theta.shape == (40, 60)
    chex.assert_trees_all_close(wp, ex, atol=1e-8)  # at each of the 40 points
    chex.assert_trees_all_close(cp, ex, atol=1e-8)
    warm_its, cold_its = int(np.sum(warm_its)), int(np.sum(cold_its))
    print(f"least-squares CG iterations over 40 steps: warm {warm_its}, cold {cold_its}")
    assert warm_its < 0.95 * cold_its, (warm_its, cold_its)

    # the transform's own counter: warm starts use fewer Hessian-vector products (both runs in one program)
    def warm_and_cold(w):
        runs = [jg.rollout(game, jg.transforms.best_response(optax.sgd(0.1), warm_start=f), w, 40) for f in (True, False)]
        return [(r.final, r.state.stats.matvecs) for r in runs]

    (warm_final, warm_matvecs), (cold_final, cold_matvecs) = jax.jit(warm_and_cold)(w0)
    print({True: int(warm_matvecs), False: int(cold_matvecs)})
    assert int(warm_matvecs) < int(cold_matvecs)
    chex.assert_trees_all_close(warm_final, cold_final, atol=1e-8)
    chex.assert_trees_all_close(warm_final, out.final, atol=1e-8)


def test_retraction_methods_agree():
    game = _nonlinear_game()
    w = jg.Joint(jnp.linspace(-1.0, 1.0, 6), jnp.ones(10))
    newton = jg.manifold.retract(game, w)
    gd = jg.manifold.retract(game, w, method=optax.sgd(0.3), max_steps=2000)
    assert bool(newton.converged) and bool(gd.converged)
    assert int(newton.steps) < 10 < int(gd.steps)
    chex.assert_trees_all_close(newton.w, gd.w, atol=1e-9)
    capped = jg.manifold.retract(game, w, method=optax.sgd(0.3), max_steps=5)
    assert not bool(capped.converged) and int(capped.steps) == 5


def test_missing_best_response_is_reported_not_used():
    game = jg.games.dirac("wgan")  # loss_d = -psi * theta: no best response for theta != 0
    w0 = jg.Joint(jnp.asarray(1.0), jnp.asarray(0.0))
    strict = jg.rollout(game, jg.transforms.best_response(optax.sgd(0.1)), w0, 5)
    assert not bool(strict.finite) and int(strict.first_nonfinite) == 1
    assert int(strict.state.stats.failures) >= 1
    lax_run = jg.rollout(game, jg.transforms.best_response(optax.sgd(0.1), strict=False, max_retraction_steps=3), w0, 5)
    assert int(lax_run.state.stats.failures) == 5
