"""Extragradient (Korpelevich 1976; Gidel et al. 2019), with one optimiser for both half-steps
or a separate extrapolation step (Hsieh et al. 2020)."""

from __future__ import annotations

from typing import NamedTuple, Optional, Union

import jax
import optax

from .._core.algebra import Info, Place, Role, field_of, inner_extra, probe_inner, transformation
from .._core.field import game_field
from .._core.players import require_point
from .._validation.checks import accept_transformation, check_hyperparameter, checked_game_update

__all__ = ["ExtragradientState", "extragradient"]


class ExtragradientState(NamedTuple):
    """State of ``extragradient`` with a separate ``extrapolation``: its two optimisers' states.

    The update optimiser's state and the extrapolation optimiser's (without ``extrapolation``
    the state is ``inner``'s own).

    Examples:
      >>> import optax, jaxgan as jg
      >>> tx = jg.transforms.extragradient(optax.sgd(0.1), extrapolation=0.3)
      >>> type(tx.init(jg.Joint(1.0, 0.0))).__name__, jg.transforms.ExtragradientState._fields
      ('ExtragradientState', ('update', 'extrapolation'))
    """

    update: optax.OptState
    extrapolation: optax.OptState


def extragradient(
    inner: optax.GradientTransformation,
    *,
    extrapolation: Optional[Union[optax.GradientTransformation, jax.typing.ArrayLike]] = None,
) -> optax.GradientTransformationExtraArgs:
    """Extragradient: a look-ahead step, then the step taken with the look-ahead's field.

    The two steps are

    .. math:: w_{1/2} = w + u(\\xi(w)), \\qquad w^+ = w + u(\\xi(w_{1/2})),

    where ``u`` is ``inner`` (it applies the learning rate, e.g. ``optax.sgd(eta)``) and
    ``xi`` is the field *as the corrections before* ``extragradient`` *in the chain define
    it* (the composition rule): ``optax.chain(jg.transforms.consensus(g),
    jg.transforms.extragradient(sgd))``
    looks ahead and steps with the consensus field. Corrections inside ``inner`` mean the
    same (each is evaluated where its field was: the second time at ``w_{1/2}``), and a
    projection inside ``inner`` projects both half-steps; a projection after
    ``extragradient`` would skip the look-ahead and raises. With
    ``inner = optax.sgd(eta)`` the operator at an equilibrium is ``I + eta A + eta^2
    A^2``: on a bilinear game (``lambda = +- i s``) its modulus is ``sqrt(1 - eta^2 s^2 +
    eta^4 s^4) < 1`` for ``eta s < 1``, where SimGD diverges for every step. The inner
    state advances once per round (the look-ahead does not commit its state). Cost per
    round: one extra field evaluation.

    **Two step sizes** (Hsieh, Iutzeler, Malick & Mertikopoulos 2020): with ``extrapolation``
    (an optax transformation, or a learning rate ``gamma`` for ``optax.sgd(gamma)``) the
    look-ahead is ``w_{1/2} = w + e(xi(w))`` with that optimiser, which keeps its own state,
    and ``inner`` takes the update. With ``sgd`` for both the operator at an equilibrium is
    ``I + eta A + eta gamma A^2``; on ``f = x y`` its radius is ``sqrt((1 - eta gamma)^2 +
    eta^2)``.

    Args:
      inner: optax transformation applying the step (learning rate included).
      extrapolation: optional optax transformation (or learning rate) of the look-ahead step;
        default ``inner``.

    Returns:
      An ``optax.GradientTransformationExtraArgs``; ``update`` needs ``params`` and ``game=``.

    Examples:
      >>> import optax, jaxgan as jg
      >>> game = jg.games.bilinear(1.0)
      >>> round(float(jg.spectral_radius(game, jg.transforms.extragradient(optax.sgd(0.5)),
      ... game.equilibrium)),
      ... 6)
      0.901388

    References:
      Korpelevich, "The extragradient method for finding saddle points and other
      problems", 1976. Gidel, Berard, Vignoud, Vincent & Lacoste-Julien, "A variational
      inequality perspective on generative adversarial networks", ICLR 2019.
    """
    inner = accept_transformation(inner, "extragradient")
    separate = extrapolation is not None
    if separate and not isinstance(extrapolation, optax.GradientTransformation):
        check_hyperparameter(extrapolation, "extragradient", "extrapolation", low_open=True)
        extrapolation = optax.sgd(extrapolation)
    look_tx = (
        accept_transformation(extrapolation, "extragradient", "extrapolation")
        if separate
        else inner
    )

    def init_fn(params):
        if separate:
            return ExtragradientState(inner.init(params), look_tx.init(params))
        return inner.init(params)

    def update_fn(updates, state, params=None, *, game=None, **extra_args):
        game = checked_game_update(updates, params, game, "extragradient", joint=("params",))
        field = field_of(extra_args, game_field(game))
        step_state, look_state = (state.update, state.extrapolation) if separate else (state, state)
        look, look_state = look_tx.update(
            updates, look_state, params, game=game, **inner_extra(extra_args, field=field)
        )
        w_half = optax.apply_updates(params, look)
        xi_half = field(w_half)
        out, step_state = inner.update(
            xi_half,
            step_state,
            params,
            game=game,
            **inner_extra(extra_args, field=field, at=w_half),
        )
        return out, (ExtragradientState(step_state, look_state) if separate else step_state)

    def probe_inners(updates, state, params, extra, record):
        require_point(params, "extragradient")
        if separate:
            look = probe_inner(
                record,
                look_tx,
                updates,
                state.extrapolation,
                params,
                extra,
                Place.SHIFTED,
                "extragradient",
            )
            step = probe_inner(
                record, inner, updates, state.update, params, extra, Place.SHIFTED, "extragradient"
            )
            _check_both_project(_projections(step), _projections(look))
        else:
            probe_inner(
                record, inner, updates, state, params, extra, Place.SHIFTED, "extragradient"
            )

    info = Info(
        Role.STEP,
        "extragradient",
        form="`jg.transforms.extragradient(optax.chain(optax.sgd(lr), {after_call}(...)))`",
    )
    return transformation(info, init_fn, update_fn, probe_inner=probe_inners)


def _projections(record) -> list:
    return [i.name for i in record.sequence if i.role is Role.PROJECTION]


def _check_both_project(in_update: list, in_look: list) -> None:
    """Projected extragradient projects both points: a projection in one half-step only is
    refused (the field would be evaluated off the set, or the iterate would leave it)."""
    if bool(in_update) == bool(in_look):
        return
    if in_update:
        raise ValueError(
            f"extragradient: `inner` projects ({', '.join(in_update)}) "
            "but `extrapolation` does not, so the look-ahead point would leave the set "
            "and the field would be evaluated outside it. "
            "Projected extragradient projects both points: "
            "give the extrapolation the same projection, "
            "e.g. `extrapolation=optax.chain(optax.sgd(gamma), jg.transforms.project_box(box))`."
        )
    raise ValueError(
        f"extragradient: `extrapolation` projects ({', '.join(in_look)}) but `inner` does not, "
        "so the update would leave the set the look-ahead stays on. "
        "Projected extragradient projects both points: give `inner` the same projection, "
        "e.g. `optax.chain(optax.sgd(lr), jg.transforms.project_box(box))`."
    )
