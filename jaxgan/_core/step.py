"""One discrete step of an optax algorithm on a game: the map ``(w, s) -> (w', s')``."""

from __future__ import annotations

from typing import Callable, Tuple

import optax

from .._validation.checks import accept_transformation, check_game, check_point
from .algebra import (
    FIELD,
    PROBE,
    Info,
    Place,
    Role,
    check_sequence,
    info_of,
    is_declared,
    probe,
    resolve,
    same_structure,
    static_sequence,
    transformation,
)
from .field import game_field, resolved_update
from .game import GAME_TYPES, Game, Joint
from .partition import on_parameters, point_function


def make_step(game: Game, tx) -> Callable[[Joint, optax.OptState], Tuple[Joint, optax.OptState]]:
    """The one-step map of algorithm ``tx`` on ``game``.

    ``step(w, s)`` computes ``xi(w)``, ``updates, s' = tx.update(xi, s, w, game=game)``
    and returns ``(w + updates, s')``. Every run, sweep and update Jacobian in jaxgan is
    built from this one function. When traced it resolves the chain by the step algebra
    (``jaxgan._core.algebra``): a chain the rule gives no meaning (a correction after a
    learning-rate scaling, a stage after a full step, a projection before one) raises a
    ``ValueError`` naming the rule, and every stage is handed the corrected field as data
    (``jaxgan_field``), so that a full step evaluating the field at a new point
    (``alternating``, ``extragradient``, ``lookahead``, ``cgd``) uses the field as the
    corrections before it define it.

    Args:
      game: a ``Game``.
      tx: an optax transformation (jaxgan transforms receive ``game=``).

    Returns:
      ``step(w, state) -> (w_next, state_next)``.

    Examples:
      >>> import optax, jaxgan as jg
      >>> tx, w0 = optax.sgd(0.5), jg.Joint(1.0, 1.0)
      >>> step = jg.make_step(jg.zero_sum(lambda x, y: x * y), tx)
      >>> w, _ = step(w0, tx.init(w0))
      >>> float(w.phi), float(w.theta)
      (0.5, 1.5)
    """
    game = check_game(game, "make_step")
    tx = accept_transformation(tx, "make_step", "tx")

    def build(game):
        step = step_of(game, tx)
        return lambda w, state: step(check_point(game, w, "make_step"), state)

    return point_function(game, build, whole_output=True)


def step_of(
    game: Game, tx: optax.GradientTransformationExtraArgs
) -> Callable[[Joint, optax.OptState], Tuple[Joint, optax.OptState]]:
    """``make_step``'s map for a game, transformation and points its public entry point
    has checked (``check_game``, ``accept_transformation``, ``check_point``): runs and
    update Jacobians build their programs from it. The chain is still resolved by the step
    algebra each time it is traced."""
    field = game_field(game)
    update = resolved_update(tx, game)

    def step(w, state):
        updates, state = update(field(w), state, w)
        return optax.apply_updates(w, updates), state

    return step


def chain(*stages) -> optax.GradientTransformationExtraArgs:
    """``optax.chain`` with the step algebra built in.

    The chain resolves itself when its ``update`` is called by hand, and a chain whose stages
    are all known (jaxgan's and optax's own) is checked against the step algebra's rule when it
    is built: a correction after a learning rate raises here, not at the first step.

    Inside jaxgan's entry points (``make_step``, ``rollout``, ``sweep``, ``update_jacobian``,
    ...) an ``optax.chain`` and a ``jg.chain`` of the same stages are the same algorithm. A
    hand-written loop that calls ``tx.update(xi, state, w, game=game)`` itself is different:
    ``optax.chain`` hands its stages nothing but the updates, so a full step after a
    correction there would see the game's plain field. ``jg.chain`` resolves the chain
    (checks the rule, composes the corrections into the field) on every call that has
    ``params`` and ``game=``, so a hand-called update equals the entry points' step.

    Examples:
      >>> import optax, jaxgan as jg
      >>> game = jg.games.dirac("wgan")
      >>> tx = jg.chain(jg.transforms.consensus(1.0), jg.transforms.extragradient(optax.sgd(0.5)))
      >>> w = jg.Joint(1.0, 0.5)
      >>> u, _ = tx.update(jg.simultaneous_gradient(game)(w), tx.init(w), w, game=game)
      >>> ref = jg.rollout(game, tx, w, 1).final
      >>> bool(abs(w.phi + u.phi - ref.phi) < 1e-12 and abs(w.theta + u.theta - ref.theta) < 1e-12)
      True
    """
    inner = optax.chain(
        *(accept_transformation(t, "chain", f"stages[{i}]") for i, t in enumerate(stages))
    )
    sequence = static_sequence(inner)
    if sequence is not None:  # its structure is known: the rule is checked now, once
        check_sequence(sequence)

    def update_fn(updates, state, params=None, **extra_args):
        game = extra_args.get("game")
        if (
            PROBE in extra_args
            or FIELD in extra_args
            or params is None
            or not isinstance(game, GAME_TYPES)
        ):
            return inner.update(updates, state, params, **extra_args)
        game = check_game(game, "chain")
        resolution = resolve(inner, game_field(game), updates, state, params, extra_args)
        return inner.update(updates, state, params, **extra_args, **{FIELD: resolution.field})

    out = optax.GradientTransformationExtraArgs(*on_parameters(inner.init, update_fn))
    same_structure(out.update, inner.update)
    return out


ROLES = {"direction": Role.DIRECTION, "projection": Role.PROJECTION}


def declare(tx, role: str, *, name: str = "user_stage") -> optax.GradientTransformationExtraArgs:
    """Declare the role of a transformation of your own in the step algebra.

    An optax transformation that jaxgan does not know is a *direction stage* (it turns the
    field into an update). A projection, which must act on the point after each player's
    step, says so here: ``jg.declare(my_projection, "projection")``. It may then follow a
    direction stage or a step that moves once (``cgd``), sits in a per-player inner optimiser
    (``alternating``, ``per_player``), receives ``jaxgan_player`` ("phi" or "theta") there, and
    is refused before a full step or after one that moves several times in a round. For a
    field correction write ``jg.transforms.field_correction(name, correct)``.

    Args:
      tx: an optax transformation.
      role: ``"direction"`` or ``"projection"`` (static).
      name: the name the step algebra's messages use (default ``"user_stage"``).

    Examples:
      >>> import optax, jaxgan as jg
      >>> proj = jg.declare(optax.identity(), "projection", name="my_projection")
      >>> tx = optax.chain(proj, jg.transforms.extragradient(optax.sgd(0.1)))
      >>> game = jg.games.bilinear(1.0)
      >>> try:
      ...     jg.rollout(game, tx, jg.Joint(1.0, 1.0), 1)
      ... except ValueError as e:
      ...     print(str(e).split(":")[0])
      my_projection before the full step extragradient would project before the step, never after it
    """
    if role not in ROLES:
        raise ValueError(
            f"declare: unknown `role` {role!r}; expected one of {sorted(ROLES)} "
            "(a field correction is declared with jg.transforms.field_correction, "
            "full steps are jaxgan's own)."
        )
    if not isinstance(name, str) or not name:
        raise TypeError(f"declare: `name` must be a non-empty string, got {name!r}.")
    inner = accept_transformation(tx, "declare", "tx")
    if info_of(inner) is not None:
        raise ValueError(
            f"declare: `tx` is jaxgan's {info_of(inner).name}, "
            f"whose role ({info_of(inner).role.value}) is its own: "
            "it cannot be declared a " + ROLES[role].value + "."
        )

    def probe_contents(updates, state, params, extra, record):
        inside = probe(inner, updates, state, params, extra, Place.JOINT, name, check=False)
        ours = [i.name for i in inside.sequence if is_declared(i)]
        if ours:
            raise ValueError(
                f"declare: `tx` ({name}) contains jaxgan's {', '.join(ours)}, "
                "whose roles are their own: declare only transformations of your own, "
                "and chain jaxgan's stages beside them."
            )

    return transformation(
        Info(ROLES[role], name, namespace=None),
        inner.init,
        inner.update,
        probe_inner=probe_contents,
    )
