"""Alternating gradient descent (Goodfellow et al. 2014; Mescheder et al. 2018 Lemma 2.5)."""

from __future__ import annotations

from typing import NamedTuple, Union

import jax
import optax

from .._algebra import PLAYER, Info, Place, Role, check_place, field_of, inner_extra, probe_inner, transformation
from .._domains import Choice, Integer, domains
from .._field import game_field
from .._game import Joint
from .._scaffold import accept_transformation, checked_game_update, require_joint

ORDERS = ("d_first", "g_first")


class AlternatingState(NamedTuple):
    """State of ``alternating``: the inner optimiser state of each player.

    Examples:
      >>> import optax, jaxgan as jg
      >>> tx = jg.alternating(optax.sgd(0.1), d_steps=2)
      >>> type(tx.init(jg.Joint(1.0, 0.0))).__name__, jg.AlternatingState._fields
      ('AlternatingState', ('g', 'd'))
    """

    g: optax.OptState
    d: optax.OptState


def _check_steps(name, value):
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"alternating: `{name}` must be a positive int, got {value!r}.")
    return value


@domains(d_steps=Integer(1), g_steps=Integer(1), order=Choice(*ORDERS))
def alternating(
    inner: Union[optax.GradientTransformation, Joint],
    *,
    d_steps: int = 1,
    g_steps: int = 1,
    order: str = "d_first",
) -> optax.GradientTransformationExtraArgs:
    """Alternating gradient descent: ``d_steps`` discriminator steps, then ``g_steps``
    generator steps (``order="d_first"``, Goodfellow's ``k`` D steps per G step), or the
    generator first (``order="g_first"``, the ``F_2 o F_1`` of Mescheder et al. 2018).

    Each step re-evaluates the player's gradient at the current point: with a
    generator step ``phi <- phi + inner_g(grad_phi loss_g(phi, theta))`` and a
    discriminator step ``theta <- theta + inner_d(grad_theta loss_d(phi, theta))``. The
    returned update is the total displacement, so ``optax.apply_updates`` lands on the
    point after the whole round. ``inner`` applies the learning rate (e.g.
    ``optax.sgd(h)``); give ``Joint(tx_g, tx_d)`` for per-player optimisers, otherwise
    each player gets its own copy (own state) of ``inner``.

    On the Dirac-GAN with ``inner = optax.sgd(h)`` the round's operator at the
    equilibrium has eigenvalues (Lemma 2.5, corrected in THEORY.md)

    .. math:: \\lambda = 1 - a^2/2 \\pm \\sqrt{(1 - a^2/2)^2 - 1}, \\quad a = \\sqrt{n_g n_d} h f'(0):

    on the unit circle for ``a <= 2``, real with one outside for ``a > 2``; it never
    converges. Both orders have the same eigenvalues.

    The first step of a round uses the incoming ``updates`` (the ``xi`` at ``params``)
    for the player that moves first; later steps evaluate the field at the points the round
    visits, *as the corrections before ``alternating`` in the chain define it* (the
    composition rule): ``optax.chain(jg.consensus(g), jg.alternating(optax.sgd(h)))``
    takes every player step with the consensus-corrected field. Each player's inner
    optimiser is told which player it steps (extra argument ``jaxgan_player``), so a
    projection inside it acts after every step of that player:
    ``jg.alternating(jg.Joint(optax.sgd(h), optax.chain(optax.sgd(h),
    jg.regularizers.clip_discriminator(c))), d_steps=5)`` is WGAN with the critic clipped
    after each of its 5 steps. A projection placed after ``alternating`` would act once per
    round and raises; so does a correction inside an inner optimiser. Cost per round:
    ``d_steps + g_steps - 1`` extra field evaluations (one VJP of one player's loss each
    without corrections; the corrected field's cost with them).

    Args:
      inner: optax transformation applying each player's step, or ``Joint(tx_g, tx_d)``.
      d_steps: discriminator steps per round.
      g_steps: generator steps per round.
      order: ``"d_first"`` or ``"g_first"``.

    Returns:
      An ``optax.GradientTransformationExtraArgs``; ``update`` needs ``params`` and
      ``game=``.

    Examples:
      >>> import optax, jaxgan as jg
      >>> game = jg.games.dirac("wgan")
      >>> tx = jg.alternating(optax.sgd(1.0), order="g_first")
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
    d_steps = _check_steps("d_steps", d_steps)
    g_steps = _check_steps("g_steps", g_steps)
    if order not in ORDERS:
        raise ValueError(f"alternating: unknown `order` {order!r}; expected 'd_first' or 'g_first'.")
    if isinstance(inner, Joint):
        tx_g, tx_d = accept_transformation(inner.phi, "alternating", "inner.phi"), accept_transformation(inner.theta, "alternating", "inner.theta")
    else:
        tx_g = tx_d = accept_transformation(inner, "alternating")
    for tx in (tx_g, tx_d):
        check_place(tx, Place.PLAYER, "alternating")

    def init_fn(params):
        require_joint(params, "alternating.init")
        return AlternatingState(g=tx_g.init(params.phi), d=tx_d.init(params.theta))

    def update_fn(updates, state, params=None, *, game=None, **extra_args):
        game = checked_game_update(updates, params, game, "alternating", joint=("updates",))
        field = field_of(extra_args, game_field(game))
        g_args = dict(inner_extra(extra_args, field=field, player="phi"), game=game)
        d_args = dict(inner_extra(extra_args, field=field, player="theta"), game=game)

        def g_move(w, s, grad):
            u, s = tx_g.update(grad, s, w.phi, **g_args)
            return Joint(optax.apply_updates(w.phi, u), w.theta), s

        def d_move(w, s, grad):
            u, s = tx_d.update(grad, s, w.theta, **d_args)
            return Joint(w.phi, optax.apply_updates(w.theta, u)), s

        def phase(w, s, first_grad, move, pick, steps):
            if first_grad is None:
                first_grad = pick(field(w))
            w, s = move(w, s, first_grad)

            def body(_, carry):
                w, s = carry
                return move(w, s, pick(field(w)))

            if steps > 1:
                w, s = jax.lax.fori_loop(1, steps, body, (w, s))
            return w, s

        def pick_g(xi):
            return xi.phi

        def pick_d(xi):
            return xi.theta

        w, s_g, s_d = params, state.g, state.d
        if order == "d_first":
            w, s_d = phase(w, s_d, updates.theta, d_move, pick_d, d_steps)
            w, s_g = phase(w, s_g, None, g_move, pick_g, g_steps)
        else:
            w, s_g = phase(w, s_g, updates.phi, g_move, pick_g, g_steps)
            w, s_d = phase(w, s_d, None, d_move, pick_d, d_steps)
        total = jax.tree.map(lambda new, old: new - old, w, params)
        return total, AlternatingState(g=s_g, d=s_d)

    def probe_inners(updates, state, params, extra, record):
        require_joint(updates, "alternating", "updates")
        require_joint(params, "alternating")
        probe_inner(record, tx_g, updates.phi, state.g, params.phi, {**extra, PLAYER: "phi"}, Place.PLAYER, "alternating")
        probe_inner(record, tx_d, updates.theta, state.d, params.theta, {**extra, PLAYER: "theta"}, Place.PLAYER, "alternating")

    info = Info(Role.STEP, "alternating", form="`jg.alternating(jg.Joint(tx_g, optax.chain(tx_d, jg.{after}(...))))` (or "
                "the projection in both players' optimisers)")
    return transformation(info, init_fn, update_fn, probe_inner=probe_inners)
