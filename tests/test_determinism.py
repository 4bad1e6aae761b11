"""Same inputs and keys give bitwise-identical results on the CPU (docs/scale.md, "Determinism")."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

import jaxgan as jg


def _bits(tree):
    return [np.asarray(x).tobytes() for x in jax.tree.leaves(tree)]


def test_sweeps_and_minibatch_runs_repeat_bitwise():
    data = jg.datasets.ring().sample(jax.random.PRNGKey(0), 32)

    def everything():
        ng = jg.games.mlp_gan(data, key=jax.random.PRNGKey(1), hidden=(6, 6))
        sweep = jg.sweep(ng.game, lambda h: optax.chain(jg.transforms.consensus(h["g"]), optax.sgd(0.05)),
                         ng.params, {"g": jnp.array([0.0, 0.5, 1.0])}, 10)
        mini = jg.rollout(ng.minibatch(8), optax.adam(1e-2), ng.params, 10, key=jax.random.PRNGKey(3))
        return sweep.final, mini.final

    first, second = everything(), everything()
    assert _bits(first) == _bits(second)
    assert np.all(np.isfinite(ravel_pytree(first[0])[0]))
