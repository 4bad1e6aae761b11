"""Composition: the field as the stages before a transform define it.

The rule (DESIGN.md, section 3): a stage that evaluates the field at a new point
(``alternating``'s inner steps, ``extragradient``'s look-ahead) evaluates the field *as
corrected by the stages before it in the chain*. ``optax.chain`` hands every stage the same
extra arguments, so jaxgan's step (``make_step``, behind every run, sweep and update
Jacobian) passes one mutable ``FieldContext`` per step as the extra argument
``jaxgan_field``:

* it starts as the game's simultaneous gradient ``xi``;
* each correction (``consensus``, ``jare``, ``sga``, ``follow_the_ridge``) rewrites the
  updates at the current point and replaces ``context.field`` by ``w -> C(field(w), w)``, its
  own formula applied to the field so far at ``w``;
* a wrapper that needs the field elsewhere reads ``context.field``, hands its inner
  optimiser a fresh context and marks the outer one as wrapped. A joint inner optimiser
  (``extragradient``'s, ``lookahead``'s) may hold corrections: the context tells them the
  point at which their incoming field was evaluated (``extragradient``'s look-ahead point),
  so ``extragradient(chain(consensus, sgd))`` and ``chain(consensus, extragradient(sgd))``
  are the same algorithm. A per-player inner optimiser (``alternating``'s, ``per_player``'s)
  is told its player (``jaxgan_player``: "phi" or "theta") so that projections
  (``project_box``, ``clip_discriminator`` or a user's own) act after every player step; a
  correction there is refused (it needs both players);
* a projection placed after a wrapper would act once per round, not after each player
  step: it raises, naming the supported form.

A ``tx.update`` called by hand without ``jaxgan_field`` falls back to the game's plain field
inside wrappers: call it through ``jg.make_step(game, tx)`` to get the rule.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

FIELD_CONTEXT = "jaxgan_field"
PLAYER = "jaxgan_player"
PLAYERS = ("phi", "theta")


class FieldContext:
    """The field of one step as the stages so far define it (mutable, one per step trace).

    Attributes:
      field: ``w -> Joint``, the (corrected) field at any point.
      corrections: names of the corrections applied so far.
      wrapped_by: the wrapper that produced the round's update (``None`` before one).
      inner_of: set for a wrapper's inner optimiser: the wrapper's name.
      no_corrections: the inner optimiser steps one player, or a direction that is not a
        field (``best_response``'s): a correction there is refused.
      at: the point at which the incoming updates were evaluated, when it is not ``params``
        (``extragradient``'s second inner call: the field at the look-ahead point, applied
        at ``w``); a correction is computed there.
    """

    def __init__(self, field: Callable, *, inner_of: Optional[str] = None, no_corrections: bool = False, at=None):
        self.field = field
        self.corrections: List[str] = []
        self.wrapped_by: Optional[str] = None
        self.inner_of = inner_of
        self.no_corrections = no_corrections
        self.at = at


def context(extra_args: Dict[str, Any]) -> Optional[FieldContext]:
    ctx = extra_args.get(FIELD_CONTEXT)
    return ctx if isinstance(ctx, FieldContext) else None


def check_correction_allowed(extra_args: Dict[str, Any], name: str) -> None:
    """Refuse a correction inside an inner optimiser that steps one player (or a direction
    that is not a field)."""
    ctx = context(extra_args)
    if ctx is not None and ctx.no_corrections:
        raise ValueError(
            f"{name} inside {ctx.inner_of}'s inner optimiser would be evaluated at the wrong point: put corrections "
            f"before the wrapper, e.g. `optax.chain(jg.{name}(...), jg.{ctx.inner_of}(optax.sgd(lr)))`; "
            f"{ctx.inner_of} then uses the corrected field at every point it visits."
        )


def register_correction(extra_args: Dict[str, Any], name: str, correct: Callable) -> None:
    """Record a correction ``correct(field_value, w) -> corrected value`` in the context."""
    check_correction_allowed(extra_args, name)
    ctx = context(extra_args)
    if ctx is None:
        return
    previous = ctx.field
    ctx.field = lambda w: correct(previous(w), w)
    ctx.corrections.append(name)


def inner_args(
    extra_args: Dict[str, Any], wrapper: str, field: Callable, player: Optional[str] = None, at=None,
    no_corrections: bool = False,
) -> Dict[str, Any]:
    """Extra arguments for a wrapper's inner optimiser: a fresh context (its field is the
    wrapper's; ``at`` the point where the updates handed to it were evaluated), and the
    player whose step it applies."""
    out = {k: v for k, v in extra_args.items() if k not in (FIELD_CONTEXT, PLAYER)}
    out[FIELD_CONTEXT] = FieldContext(field, inner_of=wrapper, no_corrections=no_corrections or player is not None, at=at)
    if player is not None:
        out[PLAYER] = player
    return out


def evaluation_point(extra_args: Dict[str, Any], params):
    """Where a correction evaluates its Jacobian products: where its incoming field was
    evaluated (``params``, unless a wrapper says otherwise)."""
    ctx = context(extra_args)
    return params if ctx is None or ctx.at is None else ctx.at


def refuse_corrections_before(extra_args: Dict[str, Any], where: str, why: str) -> None:
    """Raise if corrections precede a transform that does not use the incoming field."""
    ctx = context(extra_args)
    if ctx is not None and ctx.corrections:
        raise ValueError(
            f"{where} does not use the incoming field, so {', '.join(ctx.corrections)} before it would be ignored: {why}"
        )


def mark_wrapped(extra_args: Dict[str, Any], wrapper: str) -> None:
    ctx = context(extra_args)
    if ctx is not None:
        ctx.wrapped_by = wrapper


def check_projection_placement(extra_args: Dict[str, Any], where: str) -> None:
    """Refuse a projection placed after a wrapper (it would project once per round)."""
    ctx = context(extra_args)
    if ctx is None or ctx.wrapped_by is None:
        return
    wrapper = ctx.wrapped_by
    if wrapper == "alternating":
        form = (
            f"`jg.alternating(jg.Joint(tx_g, optax.chain(tx_d, jg.{where}(...))))` (or the projection in both "
            "players' optimisers)"
        )
    else:
        form = f"`jg.{wrapper}(optax.chain(optax.sgd(lr), jg.{where}(...)))`"
    raise ValueError(
        f"{where} after {wrapper} would project once per round, not after each step {wrapper} takes: put it in "
        f"the inner optimiser, {form}."
    )


def player_of(extra_args: Dict[str, Any], where: str) -> str:
    """The player a per-player projection acts for (``jaxgan_player``), or a clear error."""
    player = extra_args.get(PLAYER)
    if player not in PLAYERS:
        raise TypeError(
            f"{where}: got one player's parameters (not a jaxgan.Joint) but no `jaxgan_player`: use it inside "
            "jg.alternating, jg.per_player or jg.ttur (which say which player each step is for), or on the joint "
            "parameters."
        )
    return player
