"""The scaffold every jaxgan transformation shares: its error messages, accepting an inner
optax transformation, and the checks at the top of a game-aware ``update``.

A jaxgan transformation is an ``optax.GradientTransformationExtraArgs`` whose ``update``
receives the field ``xi`` as ``updates``, the point ``w`` as ``params`` and the game as
``game=`` (``make_step`` passes all three). The helpers here are the one place where what
it checks, and what it says when a call is wrong, is written:

* ``NO_PARAMS_MSG``: the message of an ``update`` called without ``params`` (in the manner
  of optax's ``NO_PARAMS_MSG``);
* ``accept_transformation``: an inner transformation (``extragradient(inner)``,
  ``alternating(Joint(g, d))``, ...) type-checked and given extra-args support, so that
  ``game=`` and the field context pass through it;
* ``require_params``, ``require_joint`` and ``checked_game_update``: the game, ``params``
  and ``Joint`` checks (``init`` functions use ``require_joint``).

Hyperparameters follow one rule: a numeric hyperparameter that may be traced (a learning
rate, weight, damping or tolerance: ``vmap`` over it in a sweep) is annotated
``jax.typing.ArrayLike`` and checked with ``_checks.check_hyperparameter`` when concrete;
a structural one (a number of steps, a window, a static compile option) is an ``int`` or
``float`` whose docstring says "(static)". ``tests/test_transforms_common.py`` checks both.
"""

from __future__ import annotations

from typing import Sequence

import optax

from ._checks import check_field, check_game
from ._domains import describe
from ._game import Game, Joint, Players, StackedPlayers, is_point
from ._players import require_point, require_two_players

#: The message of a game-aware ``update`` called without ``params``; ``{where}`` is the
#: transformation's name, ``{call}`` the call to write.
NO_PARAMS_MSG = "{where} needs the current parameters: call `{call}`."

#: The call of a game-aware ``update`` (corrections, wrappers, solvers).
GAME_CALL = "update(xi, state, params, game=game)"
#: The call of a stage after the learning rate (projections, clipping): no game needed.
PLAIN_CALL = "update(u, state, params)"


def require_params(params, where: str, call: str = GAME_CALL) -> None:
    """Raise ``ValueError`` (``NO_PARAMS_MSG``) when ``params`` is ``None``."""
    if params is None:
        raise ValueError(NO_PARAMS_MSG.format(where=where, call=call))


def accept_transformation(
    tx, where: str, arg: str = "inner", example: str = "optax.sgd(0.1)"
) -> optax.GradientTransformationExtraArgs:
    """``tx`` with extra-args support (``game=`` and the field context pass through it).

    Raises:
      TypeError: ``tx`` is not an ``optax.GradientTransformation``; the message names
        ``where``'s argument ``arg`` and gives ``example``.
    """
    if not isinstance(tx, optax.GradientTransformation):
        raise TypeError(
            f"{where}: `{arg}` must be an optax.GradientTransformation (e.g. {example}), got "
            f"{describe(tx)}."
        )
    return optax.with_extra_args_support(tx)


def checked_game_update(
    updates,
    params,
    game,
    where: str,
    *,
    joint: Sequence[str] = ("updates", "params"),
    two_player: bool = False,
):
    """The checks at the top of a game-aware ``update``, its public entry point: ``game``
    is a valid game, ``params`` is given, the arguments named in ``joint`` are points of the
    game's kind (``Joint`` for a two-player ``Game``, ``Players`` or ``StackedPlayers`` of
    the right number for an n-player game) and the game's field is well defined at
    ``params`` (``_checks.check_field``, cached per game and shapes). With ``two_player``
    an n-player game is refused with the reason (``_players.TWO_PLAYER_ONLY``). Returns the
    checked game; the update then evaluates the field unchecked (``_field.game_field``).

    Raises:
      TypeError: ``game`` is missing or not a game; an argument of ``joint`` is not a point.
      ValueError: ``params`` is ``None`` (``NO_PARAMS_MSG``); with ``two_player``, the game
        has more than two players.
    """
    game = check_game(game, where)
    if two_player:
        require_two_players(game, where)
    require_params(params, where)
    _check_point_args(where, game, joint, updates=updates, params=params)
    if is_point(params):
        check_field(game, params, where)
    return game


def require_joint(value, where: str, arg: str = "params") -> Joint:
    """``value`` unchanged; raise unless it is a ``Joint``: a ``ValueError`` saying why
    ``where`` is a two-player method when it holds n players (``_players.require_two_players``),
    a ``TypeError`` naming ``where``'s ``arg`` otherwise."""
    if isinstance(value, Joint):
        return value
    require_two_players(value, where, arg=arg)
    what = "the Joint field xi" if arg == "updates" else "a jaxgan.Joint"
    raise TypeError(f"{where}: `{arg}` must be {what}, got {describe(value)}.")


def _check_point_args(where: str, game, joint: Sequence[str], **values) -> None:
    kind = Joint if isinstance(game, Game) else (StackedPlayers if game.stacked else Players)
    names = "jaxgan.Joint" if kind is Joint else f"jaxgan.{kind.__name__} of {game.n} players"
    if tuple(joint) == ("updates", "params") and not all(
        isinstance(values[n], kind) for n in joint
    ):
        raise TypeError(
            f"{where}: `updates` and `params` must be {names} pytrees (the field xi and the point "
            "w)."
        )
    for name in joint:
        value = values[name]
        if not isinstance(value, kind):
            require_point(value, where, name)
            raise TypeError(
                f"{where}: `{name}` must be a {names} (the game's kind of point), got "
                f"{describe(value)}."
            )
        if kind is not Joint and len(value) != game.n:
            raise ValueError(
                f"{where}: `{name}` holds {len(value)} players but the game has {game.n}."
            )
