"""Alternating gradient descent (Goodfellow et al. 2014; Mescheder et al. 2018 Lemma 2.5), and
Gauss-Seidel steps over the players of an n-player game."""

from __future__ import annotations

from typing import NamedTuple, Tuple, Union

import jax
import optax

from .._core import players as players
from .._core.algebra import (
    PLAYER,
    Info,
    Place,
    Role,
    check_place,
    field_of,
    inner_extra,
    probe_inner,
    transformation,
)
from .._core.field import game_field
from .._core.game import Joint, Players, StackedPlayers
from .._core.players import require_point
from .._validation.checks import accept_transformation, checked_game_update
from .._validation.domains import Integer, PlayerOrder, domains

__all__ = ["AlternatingState", "alternating"]

ORDERS = ("d_first", "g_first")


class AlternatingState(NamedTuple):
    """State of ``alternating`` on a two-player game: the inner optimiser state of each player.

    On ``n`` players the state is ``Players(state_0, ..., state_{n-1})``.

    Examples:
      >>> import optax, jaxgan as jg
      >>> tx = jg.transforms.alternating(optax.sgd(0.1), d_steps=2)
      >>> type(tx.init(jg.Joint(1.0, 0.0))).__name__, jg.transforms.AlternatingState._fields
      ('AlternatingState', ('g', 'd'))
    """

    g: optax.OptState
    d: optax.OptState


@domains(d_steps=Integer(1), g_steps=Integer(1), order=PlayerOrder(*ORDERS))
def alternating(
    inner: Union[optax.GradientTransformation, Joint, Players],
    *,
    d_steps: int = 1,
    g_steps: int = 1,
    order: Union[str, Tuple[int, ...]] = "d_first",
) -> optax.GradientTransformationExtraArgs:
    """Alternating gradient descent: discriminator steps, then generator steps, or the reverse.

    ``d_steps`` discriminator steps, then ``g_steps`` generator steps (``order="d_first"``,
    Goodfellow's ``k`` D steps per G step), or the generator first (``order="g_first"``, the
    ``F_2 o F_1`` of Mescheder et al. 2018).

    Each step re-evaluates the player's gradient at the current point: with a
    generator step ``phi <- phi + inner_g(grad_phi loss_g(phi, theta))`` and a
    discriminator step ``theta <- theta + inner_d(grad_theta loss_d(phi, theta))``. The
    returned update is the total displacement, so ``optax.apply_updates`` lands on the
    point after the whole round. ``inner`` applies the learning rate (e.g.
    ``optax.sgd(h)``); give ``Joint(tx_g, tx_d)`` for per-player optimisers, otherwise
    each player gets its own copy (own state) of ``inner``.

    On the Dirac-GAN with ``inner = optax.sgd(h)`` the round's operator at the
    equilibrium has eigenvalues (Mescheder et al. 2018, Lemma 2.5, with its statement corrected)

    .. math:: \\lambda = 1 - a^2/2 \\pm \\sqrt{(1 - a^2/2)^2 - 1}, \\quad a = \\sqrt{n_g n_d} h
      f'(0):

    on the unit circle for ``a <= 2``, real with one outside for ``a > 2``; it never
    converges. Both orders have the same eigenvalues.

    The first step of a round uses the incoming ``updates`` (the ``xi`` at ``params``)
    for the player that moves first; later steps evaluate the field at the points the round
    visits, *as the corrections before ``alternating`` in the chain define it* (the
    composition rule): with
    ``optax.chain(jg.transforms.consensus(g), jg.transforms.alternating(optax.sgd(h)))``
    every player step takes the consensus-corrected field. Each player's inner
    optimiser is told which player it steps (extra argument ``jaxgan_player``), so a
    projection inside it acts after every step of that player:
    ``jg.transforms.alternating(jg.Joint(optax.sgd(h), optax.chain(optax.sgd(h),
    jg.regularizers.clip_discriminator(c))), d_steps=5)`` is WGAN with the critic clipped
    after each of its 5 steps. A projection placed after ``alternating`` would act once per
    round and raises; so does a correction inside an inner optimiser. Cost per round:
    ``d_steps + g_steps - 1`` extra field evaluations (one VJP of one player's loss each
    without corrections; the corrected field's cost with them).

    **n players** (``Players`` of an ``n_player_game``): ``order`` is a permutation of
    ``range(n)``, e.g. ``(2, 0, 1)``: the players step once each in that order, each seeing
    the others' newest values (Gauss-Seidel over players); per-player optimisers are given
    as ``Players(tx_0, ..., tx_{n-1})`` and each is told its player index. For two players a
    tuple works too: ``(1, 0)`` is ``"d_first"``, ``(0, 1)`` is ``"g_first"``.

    Args:
      inner: optax transformation applying each player's step, ``Joint(tx_g, tx_d)``, or
        ``Players(tx_0, ..., tx_{n-1})``.
      d_steps: discriminator steps per round (two players).
      g_steps: generator steps per round (two players).
      order: ``"d_first"``, ``"g_first"``, or a permutation of the players' indices.

    Returns:
      An ``optax.GradientTransformationExtraArgs``; ``update`` needs ``params`` and
      ``game=``.

    Examples:
      >>> import optax, jaxgan as jg
      >>> game = jg.games.dirac("wgan")
      >>> tx = jg.transforms.alternating(optax.sgd(1.0), order="g_first")
      >>> w = jg.Joint(1.0, 0.0)
      >>> u, _ = tx.update(jg.simultaneous_gradient(game)(w), tx.init(w), w, game=game)
      >>> w = optax.apply_updates(w, u)
      >>> float(w.phi), float(w.theta)
      (1.0, 1.0)

    References:
      Goodfellow et al., "Generative Adversarial Nets", 2014 (Algorithm 1).
      Mescheder, Geiger & Nowozin, "Which training methods for GANs do actually
      converge?", 2018 (Lemma 2.5).
    """
    if isinstance(inner, (Joint, Players)):
        names = (
            [f"inner.{n}" for n in players.JOINT_NAMES]
            if isinstance(inner, Joint)
            else [f"inner[{i}]" for i in range(len(inner))]
        )
        txs = tuple(
            accept_transformation(tx, "alternating", name) for tx, name in zip(inner, names)
        )
    else:
        txs = (accept_transformation(inner, "alternating"),)
    for tx in set(txs):
        check_place(tx, Place.PLAYER, "alternating")
    two_player_order = isinstance(order, str) or len(order) == 2
    if isinstance(inner, Joint) and not two_player_order:
        raise ValueError(
            f"alternating: `order` {order!r} "
            f"orders {len(order)} players but `inner` is a Joint of two."
        )
    if isinstance(inner, Players) and not isinstance(order, str) and len(order) != len(inner):
        raise ValueError(
            f"alternating: `order` {order!r} orders {len(order)} players but `inner` holds "
            f"{len(inner)} optimisers."
        )

    def plan(n, where):
        """``(player, steps)`` in the order they move, for a point of ``n`` players."""
        if n == 2:
            sequence = (
                (1, 0) if order == "d_first" else (0, 1) if order == "g_first" else tuple(order)
            )
            return tuple((i, (g_steps, d_steps)[i]) for i in sequence)
        if isinstance(order, str):
            raise ValueError(
                f"{where}: with {n} players `order` must be a permutation of range({n}), e.g. "
                f"{tuple(range(n))}; {order!r} names a generator and a discriminator."
            )
        if len(order) != n:
            raise ValueError(
                f"{where}: `order` {order!r} orders {len(order)} players but the game has {n}."
            )
        if (d_steps, g_steps) != (1, 1):
            raise ValueError(
                f"{where}: `d_steps`/`g_steps` count a generator's and a discriminator's steps; "
                f"with {n} players each player steps once per round in `order`."
            )
        return tuple((i, 1) for i in order)

    def tx_of(i, n, where):
        if len(txs) == 1:
            return txs[0]
        if len(txs) != n:
            raise ValueError(
                f"{where}: `inner` holds {len(txs)} optimisers but the game has {n} players."
            )
        return txs[i]

    def check_params(params, where):
        params = require_point(params, where)
        if isinstance(params, StackedPlayers):
            raise ValueError(
                f"{where}: stacked players move together along their axis; "
                "Gauss-Seidel over players needs one optimiser call per player: use jaxgan.Players."
            )
        plan(players.count(params), where)
        return params

    def init_fn(params):
        params = check_params(params, "alternating.init")
        n = players.count(params)
        states = [tx_of(i, n, "alternating.init").init(players.get(params, i)) for i in range(n)]
        return AlternatingState(*states) if isinstance(params, Joint) else Players(*states)

    def update_fn(updates, state, params=None, *, game=None, **extra_args):
        game = checked_game_update(updates, params, game, "alternating", joint=("updates",))
        check_params(params, "alternating")
        field = field_of(extra_args, game_field(game))
        n = players.count(params)
        names = players.JOINT_NAMES if isinstance(params, Joint) else tuple(range(n))
        states = list(state)

        def move(i):
            tx = tx_of(i, n, "alternating")
            args = dict(inner_extra(extra_args, field=field, player=names[i]), game=game)

            def one(w, s, grad):
                u, s = tx.update(grad, s, players.get(w, i), **args)
                return players.put(w, i, optax.apply_updates(players.get(w, i), u)), s

            return one

        w = params
        for position, (i, steps) in enumerate(plan(n, "alternating")):
            one = move(i)
            grad = players.get(updates, i) if position == 0 else players.get(field(w), i)
            w, states[i] = one(w, states[i], grad)
            if steps > 1:

                def body(_, carry, one=one, i=i):
                    w_, s_ = carry
                    return one(w_, s_, players.get(field(w_), i))

                w, states[i] = jax.lax.fori_loop(1, steps, body, (w, states[i]))
        total = jax.tree.map(lambda new, old: new - old, w, params)
        return total, AlternatingState(*states) if isinstance(params, Joint) else Players(*states)

    def probe_inners(updates, state, params, extra, record):
        require_point(updates, "alternating", "updates")
        params = check_params(params, "alternating")
        n = players.count(params)
        names = players.JOINT_NAMES if isinstance(params, Joint) else tuple(range(n))
        for i in range(n):
            probe_inner(
                record,
                tx_of(i, n, "alternating"),
                players.get(updates, i),
                state[i],
                players.get(params, i),
                {**extra, PLAYER: names[i]},
                Place.PLAYER,
                "alternating",
            )

    info = Info(
        Role.STEP,
        "alternating",
        form="`jg.transforms.alternating(jg.Joint(tx_g, optax.chain(tx_d, {after_call}(...))))` "
        "(or the projection in both players' optimisers)",
    )
    return transformation(info, init_fn, update_fn, probe_inner=probe_inners)
