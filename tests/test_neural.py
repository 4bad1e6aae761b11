"""jaxgan.games._neural: neural games from plain MLPs, flax linen and nnx players, minibatch games."""


import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.flatten_util import ravel_pytree

import jaxgan as jg


def _data(n=32):
    return jg.datasets.ring().sample(jax.random.PRNGKey(0), n)


def test_mlp_gan_losses_are_the_full_batch_gan_objective():
    ng = jg.games.mlp_gan(_data(), key=jax.random.PRNGKey(1), hidden=(8, 8))
    phi, theta = ng.params
    fake = jax.vmap(lambda z: jg.games.mlp_apply(phi, z))(ng.latents)
    d = lambda x: jax.vmap(lambda xi: jg.games.mlp_apply(theta, xi)[0])(x)  # noqa: E731
    value = jnp.mean(jax.nn.log_sigmoid(d(fake))) + jnp.mean(jax.nn.log_sigmoid(-d(ng.data)))
    assert abs(float(ng.game.loss_g(phi, theta) - value)) < 1e-12
    assert abs(float(ng.game.loss_d(phi, theta) + value)) < 1e-12
    assert ng.num_parameters == (2 * 8 + 8 + 8 * 8 + 8 + 8 * 2 + 2) + (2 * 8 + 8 + 8 * 8 + 8 + 8 + 1)


def _copy_into_linen(params, variables):
    """Plain MLP [(W, b), ...] into a linen Sequential-of-Dense variables dict."""
    names = sorted(variables["params"], key=lambda s: int(s.split("_")[-1]))
    return {"params": {n: {"kernel": w, "bias": b} for n, (w, b) in zip(names, params)}}


def test_linen_players_give_the_same_field_as_the_plain_mlp():
    nn = pytest.importorskip("flax.linen")

    class MLP(nn.Module):
        sizes: tuple

        @nn.compact
        def __call__(self, x):
            for i, s in enumerate(self.sizes):
                x = nn.Dense(s, name=f"Dense_{i}", param_dtype=jnp.float64)(x)
                if i < len(self.sizes) - 1:
                    x = jnp.tanh(x)
            return x

    data, key = _data(), jax.random.PRNGKey(2)
    lin = jg.games.neural_gan(MLP((8, 8, 2)), MLP((8, 8, 1)), data, key=key, latent_dim=2)
    ref = jg.games.mlp_gan(data, key=key, hidden=(8, 8))
    w = jg.Joint(_copy_into_linen(ref.params.phi, lin.params.phi), _copy_into_linen(ref.params.theta, lin.params.theta))
    lin_game = jg.games.gan(lin.generator, lin.discriminator, jg.fixed_samples(data), jg.fixed_samples(ref.latents))
    xi_lin = jg.simultaneous_gradient(lin_game)(w)
    xi_ref = jg.simultaneous_gradient(ref.game)(ref.params)
    back = jg.Joint(_copy_into_linen(xi_ref.phi, lin.params.phi), _copy_into_linen(xi_ref.theta, lin.params.theta))
    a, b = ravel_pytree(xi_lin)[0], ravel_pytree(back)[0]
    assert a.shape == b.shape and float(jnp.max(jnp.abs(a - b))) < 1e-12 and float(jnp.max(jnp.abs(b))) > 1e-3
    assert jg.jacobian(lin.game, lin.params).shape == (lin.num_parameters,) * 2


def test_nnx_players_and_their_errors():
    nnx = pytest.importorskip("flax.nnx")

    class MLP(nnx.Module):
        def __init__(self, sizes, rngs):
            layers = [nnx.Linear(a, b, rngs=rngs, param_dtype=jnp.float64) for a, b in zip(sizes[:-1], sizes[1:])]
            self.layers = getattr(nnx, "List", list)(layers)  # nnx.List from flax 0.11; a plain list before

        def __call__(self, x):
            for i, layer in enumerate(self.layers):
                x = layer(x)
                if i < len(self.layers) - 1:
                    x = jnp.tanh(x)
            return x

    rngs = nnx.Rngs(0)
    ng = jg.games.neural_gan(MLP((2, 6, 2), rngs), MLP((2, 6, 1), rngs), _data(), key=jax.random.PRNGKey(0), latent_dim=2)
    assert ng.num_parameters == (2 * 6 + 6 + 6 * 2 + 2) + (2 * 6 + 6 + 6 + 1)
    lam = jg.eigenvalues(ng.game, ng.params)
    assert lam.shape == (ng.num_parameters,) and bool(jnp.all(jnp.isfinite(lam)))
    out = jax.jit(lambda w: jg.rollout(ng.game, optax.sgd(0.05), w, 5))(ng.params)
    assert bool(out.finite)
    with pytest.raises(TypeError, match="`generator` must be a flax.linen.Module or a flax.nnx.Module"):
        jg.games.neural_gan(lambda p, z: z, MLP((2, 1), rngs), _data(), key=jax.random.PRNGKey(0), latent_dim=2)
    with pytest.raises(ValueError, match=r"generator outputs shape \(3,\)"):
        jg.games.neural_gan(MLP((2, 3), rngs), MLP((2, 1), rngs), _data(), key=jax.random.PRNGKey(0), latent_dim=2)
    bad = jg.games.neural_gan(MLP((2, 2), rngs), MLP((2, 2), rngs), _data(), key=jax.random.PRNGKey(0), latent_dim=2)
    with pytest.raises(ValueError, match="one logit per sample"):
        bad.game.loss_d(*bad.params)


def test_linen_state_besides_params_is_refused():
    nn = pytest.importorskip("flax.linen")

    class WithStats(nn.Module):
        @nn.compact
        def __call__(self, x):
            return nn.BatchNorm(use_running_average=True)(nn.Dense(2)(x))

    with pytest.raises(ValueError, match=r"`generator` has variable collections \['batch_stats'\]"):
        jg.games.neural_gan(WithStats(), WithStats(), _data(), key=jax.random.PRNGKey(0), latent_dim=2)


def test_minibatch_games_are_deterministic_in_the_key():
    ng = jg.games.mlp_gan(_data(64), key=jax.random.PRNGKey(1), hidden=(6,))
    game_at = ng.minibatch(16, regularize=lambda g: jg.regularizers.r1(g, 1.0))
    g = game_at(jax.random.PRNGKey(3))
    rows = np.asarray(g.data.nodes)
    assert rows.shape == (16, 2) and len({tuple(r) for r in rows}) == 16
    assert all(np.any(np.all(np.asarray(ng.data) == r, axis=1)) for r in rows)  # drawn from the data set
    run = jax.jit(lambda w, k: jg.rollout(game_at, optax.adam(1e-2), w, 20, key=k).final)
    a, b, c = run(ng.params, jax.random.PRNGKey(0)), run(ng.params, jax.random.PRNGKey(0)), run(ng.params, jax.random.PRNGKey(1))
    fa, fb, fc = (ravel_pytree(x)[0] for x in (a, b, c))
    assert bool(jnp.all(fa == fb)) and not bool(jnp.all(fa == fc))
    with pytest.raises(ValueError, match="needs `key=`"):
        jg.rollout(game_at, optax.sgd(0.1), ng.params, 2)
    with pytest.raises(ValueError, match="`batch_size` must be an int in"):
        ng.minibatch(65)
    with pytest.raises(ValueError, match="`data` has non-finite values"):
        jg.games.mlp_gan(np.full((4, 2), np.nan), key=jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match=r"`data` must be an \(N, d\) array"):
        jg.games.mlp_gan(np.zeros(4), key=jax.random.PRNGKey(0))
    # the data check passes under tracing (games built inside jit / sweep from a traced seed)
    loss = jax.jit(lambda s: jg.games.mlp_gan(_data(8), key=jax.random.PRNGKey(s), hidden=(3,)).game.loss_g(
        *jg.games.mlp_gan(_data(8), key=jax.random.PRNGKey(s), hidden=(3,)).params))(1)
    assert np.isfinite(float(loss))
