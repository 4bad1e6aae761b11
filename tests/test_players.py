"""The players of a point for any n (``jaxgan._core.players``): indexing, masking, per-player maps
and the block products, for ``Joint``, ``Players`` and ``StackedPlayers`` alike."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgan as jg
from jaxgan._core import players as players

POINTS = {
    "joint": jg.Joint(jnp.arange(2.0), jnp.asarray(5.0)),
    "players": jg.Players(jnp.arange(2.0), jnp.asarray(5.0), jnp.ones((2, 2))),
    "stacked": jg.StackedPlayers(jnp.arange(8.0).reshape(4, 2)),
}


@pytest.mark.parametrize("name", sorted(POINTS))
def test_only_and_without_split_a_point_by_player(name):
    w = POINTS[name]
    for i in range(players.count(w)):
        total = jax.tree.map(jnp.add, players.only(w, i), players.without(w, i))
        for a, b in zip(jax.tree.leaves(total), jax.tree.leaves(w)):
            np.testing.assert_array_equal(a, b)
        kept = players.get(players.only(w, i), i)
        for a, b in zip(jax.tree.leaves(kept), jax.tree.leaves(players.get(w, i))):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", sorted(POINTS))
def test_the_block_products_add_up_to_the_jacobian_product(name):
    # a linear map with every block non-zero: J v = D v + H_o v, and H_o v has no diagonal block
    w = POINTS[name]
    flat, unravel = jax.flatten_util.ravel_pytree(w)
    m = jnp.asarray(np.random.default_rng(0).normal(size=(flat.size, flat.size)))

    def jvp(v):
        return unravel(m @ jax.flatten_util.ravel_pytree(v)[0])

    d, h = players.block_diagonal(jvp, w), players.off_diagonal(jvp, w)
    np.testing.assert_allclose(jax.flatten_util.ravel_pytree(d)[0] + jax.flatten_util.ravel_pytree(h)[0], m @ flat,
                               rtol=1e-13)
    sizes = jg._analysis.jacobian.player_sizes(w)
    edges = np.cumsum((0,) + tuple(sizes))
    dense = np.zeros_like(np.asarray(m))
    for i in range(len(sizes)):
        dense[edges[i]:edges[i + 1], edges[i]:edges[i + 1]] = np.asarray(m)[edges[i]:edges[i + 1], edges[i]:edges[i + 1]]
    np.testing.assert_allclose(jax.flatten_util.ravel_pytree(d)[0], dense @ np.asarray(flat), rtol=1e-13)


def test_players_is_a_tuple_like_pytree():
    w = jg.Players(1.0, jnp.zeros(2), {"a": jnp.ones(3)})
    assert len(w) == 3 and isinstance(w[2], dict)
    assert jax.tree.structure(jax.tree.map(lambda x: x, w)) == jax.tree.structure(w)
    assert type(jax.tree.map(jnp.asarray, w)) is jg.Players
    assert "Players(" in repr(w)
    stacked = jg.StackedPlayers({"a": jnp.zeros((5, 2)), "b": jnp.ones(5)})
    assert len(stacked) == 5 and stacked[1]["a"].shape == (2,)


def test_two_player_only_reasons_name_the_method():
    for key, why in players.TWO_PLAYER_ONLY.items():
        assert why and not why.endswith("."), key
    with pytest.raises(ValueError, match="defined for two players: its correction exchanges"):
        players.require_two_players(jg.Players(1.0, 2.0, 3.0), "jare")
    assert players.require_two_players(jg.Joint(1.0, 2.0), "jare") is not None
