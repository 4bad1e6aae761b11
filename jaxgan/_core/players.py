"""The players of a point, for any number of them: indexing, masking and per-player maps of
``Joint`` (two players), ``Players`` (n) and ``StackedPlayers`` (n along an axis), and the
block products of a field's Jacobian built from them.

With ``J = d xi / d w`` in player blocks ``J_ij = d xi_i / d x_j``, the block-diagonal part
``D`` holds each player's own curvature and the off-diagonal part ``H_o = J - D`` the
interaction between players (Letcher et al. 2019, "Stable opponent shaping"). Products with
them cost one Jacobian-vector product of the field per player: ``H_o v = sum_i
(J P_i v)`` with the ``i``-th block of each term dropped, ``P_i`` keeping player ``i``'s
part of ``v``. For two players that is exactly the pair of JVPs of the two-player
formulas; for ``StackedPlayers`` the sum over players is one ``vmap``.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from .._validation.domains import describe
from .game import Game, Joint, NPlayerGame, Players, StackedPlayers

#: the names a two-player point gives its players (``jaxgan_player`` and error messages)
JOINT_NAMES = ("phi", "theta")


def count(w) -> int:
    """The number of players of a point."""
    return 2 if isinstance(w, Joint) else len(w)


def game_players(game) -> int:
    """The number of players of a game."""
    return 2 if isinstance(game, Game) else game.n


def get(w, i):
    """Player ``i``'s parameters (``i`` a Python int; it may be traced for ``StackedPlayers``)."""
    return w[i]


def put(w, i, value):
    """``w`` with player ``i``'s parameters replaced by ``value``."""
    if isinstance(w, Joint):
        return Joint(value, w.theta) if i == 0 else Joint(w.phi, value)
    if isinstance(w, Players):
        return w.replace(i, value)
    return StackedPlayers(jax.tree.map(lambda a, b: a.at[i].set(b), w.x, value))


def only(w, i):
    """``P_i w``: player ``i``'s part of ``w``, the other players' zeroed."""
    if isinstance(w, StackedPlayers):
        return StackedPlayers(jax.tree.map(lambda a: a * _one_hot(a, i), w.x))
    zero = jax.tree.map(jnp.zeros_like, w)
    return put(zero, i, get(w, i))


def without(w, i):
    """``(I - P_i) w``: ``w`` with player ``i``'s part zeroed."""
    if isinstance(w, StackedPlayers):
        return StackedPlayers(jax.tree.map(lambda a: a * (1 - _one_hot(a, i)), w.x))
    return put(w, i, jax.tree.map(jnp.zeros_like, get(w, i)))


def _one_hot(a, i):
    shape = (a.shape[0],) + (1,) * (a.ndim - 1)
    return (jnp.arange(a.shape[0]) == i).astype(a.dtype).reshape(shape)


def for_each(w, fn: Callable):
    """The point of ``w``'s type whose player ``i`` is ``fn(i)`` (a player's parameters):
    a Python loop over a ``Joint`` or ``Players``, one ``vmap`` over ``StackedPlayers``."""
    if isinstance(w, StackedPlayers):
        return StackedPlayers(jax.vmap(fn)(jnp.arange(len(w))))
    out = [fn(i) for i in range(count(w))]
    return Joint(*out) if isinstance(w, Joint) else Players(*out)


def sum_over(w, fn: Callable):
    """``sum_i fn(i)`` for ``fn`` returning a point like ``w``: a Python loop, or one ``vmap``
    and a sum over ``StackedPlayers``."""
    if isinstance(w, StackedPlayers):
        stacked = jax.vmap(fn)(jnp.arange(len(w)))
        return jax.tree.map(lambda a: jnp.sum(a, axis=0), stacked)
    total = fn(0)
    for i in range(1, count(w)):
        total = jax.tree.map(jnp.add, total, fn(i))
    return total


def stack_tangents(v):
    """The ``n`` tangents ``P_k v`` (player ``k``'s part of ``v``, the others zero) stacked along
    a new leading axis: one batch to ``vmap`` a linear map over, instead of ``n`` traced calls."""
    n = count(v)
    if isinstance(v, StackedPlayers):

        def batch(a):
            eye = jnp.eye(n, dtype=a.dtype).reshape((n, n) + (1,) * (a.ndim - 1))
            return eye * a[None]

        return StackedPlayers(jax.tree.map(batch, v.x))

    def player(j):
        def batch(a):
            a = jnp.asarray(a)
            mask = (jnp.arange(n) == j).astype(a.dtype).reshape((n,) + (1,) * a.ndim)
            return mask * a[None]

        return jax.tree.map(batch, get(v, j))

    return for_each(v, player)


def _pick(batched, like, own: bool):
    """``sum_k [k == i]`` (``own``) or ``sum_k [k != i]`` of player ``i``'s part of the ``k``-th
    batch element: the masked sums are exact (the dropped terms are never added)."""
    n = count(like)
    if isinstance(like, StackedPlayers):

        def pick(a):
            keep = jnp.eye(n, dtype=bool) if own else ~jnp.eye(n, dtype=bool)
            keep = keep.reshape((n, n) + (1,) * (a.ndim - 2))
            return jnp.sum(jnp.where(keep, a, jnp.zeros((), a.dtype)), axis=0)

        return StackedPlayers(jax.tree.map(pick, batched.x))

    def player(i):
        def pick(a):
            keep = (jnp.arange(n) == i) if own else (jnp.arange(n) != i)
            keep = keep.reshape((n,) + (1,) * (a.ndim - 1))
            return jnp.sum(jnp.where(keep, a, jnp.zeros((), a.dtype)), axis=0)

        return jax.tree.map(pick, get(batched, i))

    return for_each(like, player)


def pick_own(batched, like):
    """Player ``i``'s part of the ``i``-th element of a batch stacked along the leading axis
    (``batched`` shaped like ``like`` with one more axis in front)."""
    return _pick(batched, like, own=True)


def off_diagonal(jvp: Callable, v):
    """``H_o v = sum_i (I - P_i) J P_i v`` for a linear ``jvp = v -> J v``: the products of the
    blocks between different players. One ``vmap`` of ``jvp`` over the ``n`` tangents ``P_i v``
    (``n`` products, one traced call: the program does not grow with ``n``). For two players
    the two products one after the other, as the two-player formulas write them."""
    if isinstance(v, Joint):
        return sum_over(v, lambda i: without(jvp(only(v, i)), i))
    return _pick(jax.vmap(jvp)(stack_tangents(v)), v, own=False)


def block_diagonal(jvp: Callable, v):
    """``D v = sum_i P_i J P_i v``: each player's own block applied to its part (as
    ``off_diagonal``, one ``vmap`` over the players' tangents)."""
    return _pick(jax.vmap(jvp)(stack_tangents(v)), v, own=True)


def player_loss(game, i) -> Callable:
    """``w -> l_i(w)``: player ``i``'s loss as a function of the whole point (``i`` traced for
    a stacked game)."""
    if isinstance(game, Game):
        loss = (game.loss_g, game.loss_d)[i]
        return lambda w: loss(w.phi, w.theta)
    if game.stacked:
        return lambda w: game.losses(i, w.x)
    return game.losses[i]


# --------------------------------------------------------------------------- two-player methods

#: why each method is defined for two players only: the refusal names its reason
TWO_PLAYER_ONLY = {
    "jare": "its correction exchanges the two players' gradient norms (grad_phi |xi_theta|^2, "
    "grad_theta |xi_phi|^2); Nie & Patel define it for a generator and a discriminator",
    "best_response": "the discriminator (the follower) is kept at its best response "
    "to the generator (the leader): a leader-follower hierarchy of exactly two players",
    "follow_the_ridge": "it keeps the follower on the ridge grad_theta l_d = 0 "
    "of a leader-follower (Stackelberg) game",
    "stonr": "it is a leader-follower method: "
    "the discriminator is re-solved on its manifold grad_theta l_d = 0",
    "stationary_point_certificate": "its certificate is of a Stackelberg (leader-follower) point "
    "of two players",
    "project_box": "its box is a jaxgan.Box of Joint bounds (phi, theta)",
    "acgd": "its released form is the two-player Schur-complement solve",
    "path_angle": "it measures the angle between a generator's and a discriminator's update",
    "manifold": "the manifold grad_theta l_d = 0 is the discriminator's best response "
    "to the generator",
    "unrolled": "the generator differentiates its loss through the discriminator's unrolled "
    "steps: one generator and one discriminator",
}


def require_two_players(value, where: str, key: str = "", arg: str = "params", why: str = ""):
    """``value`` unchanged when it is a two-player ``Joint`` or ``Game``; otherwise a
    ``ValueError`` that says why ``where`` is defined for two players only (``why``, else
    ``TWO_PLAYER_ONLY[key]``), or a ``TypeError`` for something that is not a point or
    game at all."""
    if isinstance(value, (Joint, Game)):
        return value
    why = why or TWO_PLAYER_ONLY.get(key or where.split(".")[0], "")
    reason = f": {why}" if why else ""
    if isinstance(value, (Players, StackedPlayers)):
        raise ValueError(
            f"{where} is defined for two players{reason}; `{arg}` holds {count(value)} players "
            f"({describe(value)}). Two-player games use jaxgan.Joint(phi, theta)."
        )
    if isinstance(value, NPlayerGame):
        has = (
            "the game is an n-player game (jaxgan.n_player_game) of 2 players"
            if value.n == 2
            else f"the game has {value.n} players"
        )
        raise ValueError(
            f"{where} is defined for two players{reason}; {has}. "
            "Two-player games are jaxgan.Game or jaxgan.zero_sum."
        )
    return None


def require_point(value, where: str, arg: str = "params"):
    """``value`` unchanged when it is a ``Joint``, ``Players`` or ``StackedPlayers``; else a
    ``TypeError`` naming ``where``'s ``arg``."""
    if isinstance(value, (Joint, Players, StackedPlayers)):
        return value
    what = (
        "the field xi (a jaxgan.Joint or jaxgan.Players)"
        if arg == "updates"
        else "a jaxgan.Joint (two players) or jaxgan.Players (n players)"
    )
    raise TypeError(f"{where}: `{arg}` must be {what}, got {describe(value)}.")
