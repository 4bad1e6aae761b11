"""Players with leaves that are not parameters: equinox modules as players.

The design and its reasons: the docs page "Design notes" (``docs/design.md``), section
"Networks as players".
"""

from __future__ import annotations

import functools
import inspect
import sys
import weakref
from typing import Any, Callable, Optional, Sequence, Tuple

import jax
import numpy as np

from ._game import GAME_TYPES, Game, Joint, Players, StackedPlayers, is_point

_NUMBERS = (bool, int, float, complex, np.number)


def _is_array(x) -> bool:
    return isinstance(x, (jax.Array, np.ndarray, np.generic))


def _module_type():
    """``equinox.Module`` when equinox is imported (no module exists otherwise)."""
    eqx = sys.modules.get("equinox")
    return None if eqx is None else eqx.Module


def parameter_mask(tree) -> Tuple[bool, ...]:
    """For each leaf of ``tree`` (``jax.tree.leaves`` order): whether it is a parameter."""
    module = _module_type()
    if module is None:
        return tuple(_is_array(x) or isinstance(x, _NUMBERS) for x in jax.tree.leaves(tree))

    def mark(node):
        if isinstance(node, module):
            return jax.tree.map(_is_array, node)
        return _is_array(node) or isinstance(node, _NUMBERS)

    return tuple(jax.tree.leaves(jax.tree.map(mark, tree, is_leaf=lambda x: isinstance(x, module))))


class _Value:
    """A static leaf as part of a hashable key: by value when hashable, else by identity."""

    __slots__ = ("value", "_key")

    def __init__(self, value):
        self.value = value
        try:
            hash(value)
            self._key = (type(value), value)
        except TypeError:
            self._key = ("id", id(value))

    def __hash__(self):
        return hash(self._key)

    def __eq__(self, other):
        return isinstance(other, _Value) and (self.value is other.value or self._key == other._key)


class Static:
    """The leaves of one player that are not parameters, with where they go.

    Hashable and compared by value (by identity for unhashable leaves), so that a repeat
    call with the same modules finds the same wrapped game and compiled program."""

    __slots__ = ("treedef", "mask", "values", "_key")

    def __init__(self, treedef, mask: Tuple[bool, ...], values: Sequence[Any]):
        self.treedef = treedef
        self.mask = mask
        self.values = tuple(_Value(v) for v in values)
        self._key = (treedef, mask, self.values)

    def __hash__(self):
        return hash(self._key)

    def __eq__(self, other):
        return isinstance(other, Static) and self._key == other._key

    def join(self, parameters):
        """The whole player: ``parameters`` (the player with ``None`` at the static leaves)
        with the static leaves put back."""
        given = iter(jax.tree.leaves(parameters))
        fixed = iter(v.value for v in self.values)
        leaves = [next(given) if m else next(fixed) for m in self.mask]
        return jax.tree.unflatten(self.treedef, leaves)


_ARRAYS = (jax.Array, np.ndarray, np.generic)


def split_player(x) -> Tuple[Any, Optional[Static]]:
    """``(parameters, static)`` of one player; ``(x, None)`` when every leaf is a parameter."""
    if all(isinstance(leaf, _ARRAYS) for leaf in jax.tree.leaves(x)):
        return x, None  # arrays only, in a module or not: nothing is static
    mask = parameter_mask(x)
    if all(mask):
        return x, None
    leaves, treedef = jax.tree.flatten(x)
    parameters = jax.tree.unflatten(treedef, [v if m else None for v, m in zip(leaves, mask)])
    return parameters, Static(treedef, mask, [v for v, m in zip(leaves, mask) if not m])


def _players(w) -> tuple:
    return (w.x,) if isinstance(w, StackedPlayers) else tuple(w)


def _rebuild(w, players):
    if isinstance(w, StackedPlayers):
        return StackedPlayers(players[0])
    if isinstance(w, Joint):
        return Joint(*players)
    return Players(*players)


def split_point(w) -> Tuple[Any, Optional[tuple]]:
    """``(parameters, statics)`` of a point: each player split (``split_player``);
    ``statics`` is ``None`` when no player has a static leaf (``w`` is returned as is)."""
    if not is_point(w):
        return w, None
    if all(isinstance(leaf, _ARRAYS) for leaf in jax.tree.leaves(w)):
        return w, None
    parts = [split_player(x) for x in _players(w)]
    if all(s is None for _, s in parts):
        return w, None
    return _rebuild(w, [p for p, _ in parts]), tuple(s for _, s in parts)


def join_point(w, statics: Optional[tuple]):
    """The point with each player's static leaves put back (``w`` itself without statics)."""
    if statics is None or not is_point(w):
        return w
    return _rebuild(w, [x if s is None else s.join(x) for x, s in zip(_players(w), statics)])


def parameters_of(tree):
    """A point or field returned by a user's function (a ``grad_fn``, an equilibrium) as
    parameters: its static leaves dropped (``None``), its parameters kept."""
    return split_point(tree)[0] if is_point(tree) else tree


# --------------------------------------------------------------------------- the game on parameters

_ON_PARAMETERS: "weakref.WeakKeyDictionary[Any, dict]" = weakref.WeakKeyDictionary()


def game_on_parameters(game, statics: tuple):
    """The game whose points are the parameters: its losses rebuild the players (``join``)
    and call ``game``'s; a ``grad_fn`` is called on the rebuilt point and its static leaves
    dropped. One object per game and statics (cached weakly in the game), so that the
    compiled programs keyed by the game's identity are found again. ``game`` may also be a
    function ``h -> game`` (a grid's game)."""
    if not isinstance(game, GAME_TYPES) and not callable(game):
        return game  # not a game: the entry point's own check names it
    try:
        per_game = _ON_PARAMETERS.setdefault(game, {})
    except TypeError:  # not weakly referable: build without caching
        per_game = {}
    found = per_game.get(statics)
    if found is None:
        found = per_game[statics] = _build(game, statics)
    return found


def _build(game, statics):
    if not isinstance(game, GAME_TYPES):  # a grid's game h -> game
        return lambda h: game_on_parameters(game(h), statics)

    def whole(w):
        return join_point(w, statics)

    grad_fn = None
    if game.grad_fn is not None:

        def grad_fn(w):
            return parameters_of(game.grad_fn(whole(w)))

    equilibrium = None if game.equilibrium is None else parameters_of(game.equilibrium)
    if isinstance(game, Game):
        s_phi, s_theta = statics

        def player(x, s):
            return x if s is None else s.join(x)

        return game.replace(
            loss_g=lambda phi, theta: game.loss_g(player(phi, s_phi), player(theta, s_theta)),
            loss_d=lambda phi, theta: game.loss_d(player(phi, s_phi), player(theta, s_theta)),
            grad_fn=grad_fn,
            equilibrium=equilibrium,
        )
    if game.stacked:
        (s_x,) = statics
        losses = lambda i, x: game.losses(i, x if s_x is None else s_x.join(x))
    else:
        losses = tuple((lambda w, loss=loss: loss(whole(w))) for loss in game.losses)
    return game.replace(losses=losses, grad_fn=grad_fn, equilibrium=equilibrium)


# --------------------------------------------------------------------------- public entry points


def on_whole_points(fn: Callable, statics: tuple) -> Callable:
    """``w -> fn(join_point(w))``: a user's function of points (``record``) called on the
    parameters; one object per function and statics, as ``game_on_parameters``."""
    try:
        per_fn = _ON_PARAMETERS.setdefault(fn, {})
    except TypeError:
        per_fn = {}
    key = ("whole", statics)
    found = per_fn.get(key)
    if found is None:
        found = per_fn[key] = lambda w: fn(join_point(w, statics))
    return found


def accepts_modules(
    *points: str,
    game: str = "game",
    returns: Optional[Callable] = None,
    functions: Tuple[str, ...] = (),
):
    """Decorate a public ``fn(game, w, ...)`` so that its points (the arguments named in
    ``points``) may hold equinox modules: each is split (``split_point``), ``fn`` runs on
    the parameters with ``game_on_parameters``, the user's functions of points named in
    ``functions`` get whole points (``on_whole_points``), and ``returns(out, join,
    arguments)`` puts the static leaves back into the points of its output (``join(point)``;
    fields and updates stay in the parameters' form). Calls whose points have no static
    leaf run ``fn`` untouched."""

    def wrap(fn):
        signature = inspect.signature(fn)
        names = list(signature.parameters)
        where = [(names.index(name), name) for name in points]

        @functools.wraps(fn)
        def public(*args, **kwargs):
            given = [args[i] if i < len(args) else kwargs.get(name) for i, name in where]
            if all(split_point(value)[1] is None for value in given):
                return fn(*args, **kwargs)  # no static leaf (the common case): untouched
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError:
                return fn(*args, **kwargs)  # the call's own error
            statics = None
            for name in points:
                value = bound.arguments.get(name)
                parameters, found = split_point(value)
                if found is not None:
                    bound.arguments[name] = parameters
                    statics = statics if statics is not None else found
            given = dict(bound.arguments)
            if game in bound.arguments:
                bound.arguments[game] = game_on_parameters(bound.arguments[game], statics)
            for name in functions:
                if callable(bound.arguments.get(name)):
                    bound.arguments[name] = on_whole_points(bound.arguments[name], statics)
            out = fn(*bound.args, **bound.kwargs)
            return out if returns is None else returns(out, lambda p: join_point(p, statics), given)

        return public

    return wrap


def point_function(game, build: Callable, *, whole_output: bool = False) -> Callable:
    """``w -> build(game)(w)``, a public function of points (``simultaneous_gradient``,
    ``make_step``), for points with equinox modules too: ``build(game_on_parameters(game,
    statics))`` on the parameters, built once per statics; with ``whole_output`` the first
    output (the next point of a step) gets its static leaves back."""
    plain = build(game)
    built = {}

    def fn(w, *rest):
        parameters, statics = split_point(w)
        if statics is None:
            return plain(w, *rest)
        if statics not in built:
            built[statics] = build(game_on_parameters(game, statics))
        out = built[statics](parameters, *rest)
        return (join_point(out[0], statics),) + tuple(out[1:]) if whole_output else out

    return fn


def on_parameters(init: Callable, update: Callable) -> Tuple[Callable, Callable]:
    """A transformation's ``init`` and ``update`` for points with equinox modules too:
    ``params`` (and ``updates``, the field) are split, the ``game=`` they are handed is
    ``game_on_parameters``, and the updates come back in the parameters' form (for
    ``equinox.apply_updates``)."""

    def init_fn(params):
        return init(split_point(params)[0])

    def update_fn(updates, state, params=None, **extra):
        parameters, statics = split_point(params)
        if statics is None:
            return update(updates, state, params, **extra)
        if "game" in extra:
            extra = {**extra, "game": game_on_parameters(extra["game"], statics)}
        return update(split_point(updates)[0], state, parameters, **extra)

    return init_fn, update_fn
