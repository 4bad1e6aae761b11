"""Players with leaves that are not parameters: equinox and flax nnx modules as players.

Which leaves of a module are parameters (the rule, in one place: ``split_point``):

* flax nnx: the ``nnx.Param`` variables, what ``nnx.Optimizer(..., wrt=nnx.Param)`` moves;
  every other variable (``nnx.BatchStat``, the RNG state, ``nnx.Cache``) is module state;
* equinox: the array leaves, except a floating-point array that no loss of the game
  reaches differentiably (a buffer read through ``jax.lax.stop_gradient``, the equinox
  idiom), found from the game's losses by ``_reached`` at an entry point given the game;
* outside modules: arrays and Python numbers.

Module state is left out of the dynamics and handed back as it was; a loss that mutates it
is refused (``_call_pure``). The design and its reasons: the docs page "Design notes"
(``docs/design.md``), section "Networks as players".
"""

from __future__ import annotations

import inspect
import sys
import weakref
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from .._jaxpr.dependence import reads
from .game import GAME_TYPES, Game, Joint, Players, StackedPlayers, is_point

_NUMBERS = (bool, int, float, complex, np.number)
_ARRAYS = (jax.Array, np.ndarray, np.generic)

# what a leaf is: not a parameter; a parameter; a floating-point array of an equinox module
# (a parameter unless no loss of the game reaches it differentiably: a buffer)
_STATIC, _PARAMETER, _MODULE_ARRAY = 0, 1, 2


def _is_array(x) -> bool:
    return isinstance(x, _ARRAYS)


# what a pytree node is, by its type: not a module; an equinox module; an nnx module; an nnx
# variable; an nnx.Param (cached per type: a type of a library not imported yet is neither)
_PLAIN, _EQX, _NNX, _VARIABLE, _PARAM = 0, 1, 2, 3, 4
_KINDS: dict = {}


def _kind(t) -> int:
    kind = _KINDS.get(t)
    if kind is None:
        eqx, nnx = sys.modules.get("equinox"), sys.modules.get("flax.nnx")
        kind = _PLAIN
        if nnx is not None and hasattr(nnx, "Variable") and issubclass(t, nnx.Variable):
            kind = _PARAM if issubclass(t, nnx.Param) else _VARIABLE
        elif nnx is not None and hasattr(nnx, "Module") and issubclass(t, nnx.Module):
            kind = _NNX
        elif eqx is not None and issubclass(t, eqx.Module):
            kind = _EQX
        _KINDS[t] = kind
    return kind


def _is_node(n) -> bool:
    return _kind(type(n)) != _PLAIN


def _is_variable(n) -> bool:
    return _kind(type(n)) >= _VARIABLE


def _floating(x) -> bool:
    return _is_array(x) and jnp.issubdtype(x.dtype, jnp.floating)


def _marks(x) -> Tuple[int, ...]:
    """What each leaf of one player is (``jax.tree.leaves`` order): ``_STATIC``,
    ``_PARAMETER`` or ``_MODULE_ARRAY``."""
    out = []
    for node in jax.tree.leaves(x, is_leaf=_is_node):
        kind = _kind(type(node))
        if kind == _PLAIN:
            out.append(_PARAMETER if _is_array(node) or isinstance(node, _NUMBERS) else _STATIC)
        elif kind == _EQX:
            out += [
                (_MODULE_ARRAY if _floating(v) else _PARAMETER) if _is_array(v) else _STATIC
                for v in jax.tree.leaves(node)
            ]
        else:
            # an nnx variable, or a module's variables: only nnx.Param is a parameter; a
            # bare array attribute of an nnx module is not one either (nnx.Optimizer's rule)
            for part in jax.tree.leaves(node, is_leaf=_is_variable):
                param = _kind(type(part)) == _PARAM
                out += [
                    _PARAMETER if param and _is_array(v) else _STATIC for v in jax.tree.leaves(part)
                ]
    return tuple(out)


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

    def parameters(self, tree):
        """``tree`` (the player's shape: a whole player, or a field in equinox's gradient
        form with ``None`` at some leaves) with ``None`` at this player's static leaves."""
        leaves = jax.tree.leaves(tree, is_leaf=lambda x: x is None)
        if len(leaves) != len(self.mask):
            return split_player(tree)[0]  # not of the player's shape: the call's checks say so
        return jax.tree.unflatten(
            self.treedef, [v if m else None for v, m in zip(leaves, self.mask)]
        )


def split_player(
    x, reached: Optional[Sequence[bool]] = None, marks: Optional[Tuple[int, ...]] = None
) -> Tuple[Any, Optional[Static]]:
    """``(parameters, static)`` of one player; ``(x, None)`` when every leaf is a parameter.

    ``reached``: per leaf, whether a loss of the game reaches it differentiably
    (``_reached``); the floating arrays of equinox modules that none reaches are then
    static (buffers), unless none of the player's parameters would be left (the game's
    differentiability check then names the player). ``marks``: ``_marks(x)``, if known."""
    marks = _marks(x) if marks is None else marks
    mask = tuple(m != _STATIC for m in marks)
    if reached is not None:
        refined = tuple(
            m == _PARAMETER or (m == _MODULE_ARRAY and r) for m, r in zip(marks, reached)
        )
        mask = refined if any(refined) else mask
    if all(mask):
        return x, None
    leaves, treedef = jax.tree.flatten(x)
    parameters = jax.tree.unflatten(treedef, [v if m else None for v, m in zip(leaves, mask)])
    return parameters, Static(treedef, mask, [v for v, m in zip(leaves, mask) if not m])


def _players(w) -> tuple:
    return (w.x,) if isinstance(w, StackedPlayers) else tuple(w)


def _labels(w) -> Tuple[str, ...]:
    if isinstance(w, StackedPlayers):
        return ("x",)
    if isinstance(w, Joint):
        return ("phi", "theta")
    return tuple(f"w[{i}]" for i in range(len(w)))


def _rebuild(w, players):
    if isinstance(w, StackedPlayers):
        return StackedPlayers(players[0])
    if isinstance(w, Joint):
        return Joint(*players)
    return Players(*players)


def split_point(w, game=None, instance: Optional[Callable] = None) -> Tuple[Any, Optional[tuple]]:
    """``(parameters, statics)`` of a point: each player split (``split_player``);
    ``statics`` is ``None`` when no player has a static leaf (``w`` is returned as is).

    With ``game``, the floating arrays of equinox modules that no loss of the game reaches
    differentiably are static too (``_reached``). ``game`` may be a function of one (a
    grid's ``h -> Game``, a minibatch ``key -> Game``) with ``instance()`` one of its games
    (at the grid's first point, at the run's key), built only when the buffers of ``w`` are
    not known yet for that function."""
    if not is_point(w):
        return w, None
    players = _players(w)
    marks = [_marks(x) for x in players]
    if all(_STATIC not in m and _MODULE_ARRAY not in m for m in marks):
        return w, None  # arrays and numbers only (the common case): nothing is static
    reached = None
    if any(_MODULE_ARRAY in m for m in marks):
        if isinstance(game, GAME_TYPES):
            reached = _reached(game, lambda: game, w, marks)
        elif callable(game) and instance is not None:
            reached = _reached(game, instance, w, marks)
    parts = [
        split_player(x, None if reached is None else reached[i], marks[i])
        for i, x in enumerate(players)
    ]
    if all(s is None for _, s in parts):
        return w, None
    return _rebuild(w, [p for p, _ in parts]), tuple(s for _, s in parts)


def join_point(w, statics: Optional[tuple]):
    """The point with each player's static leaves put back (``w`` itself without statics)."""
    if statics is None or not is_point(w):
        return w
    return _rebuild(w, [x if s is None else s.join(x) for x, s in zip(_players(w), statics)])


def parameters_of(tree, statics: Optional[tuple] = None):
    """A point or field returned by a user's function (a ``grad_fn``, an equilibrium) as
    parameters: its static leaves dropped (``None``), its parameters kept; with ``statics``
    (the split of the point it belongs to), the leaves static there."""
    if not is_point(tree):
        return tree
    if statics is None:
        return split_point(tree)[0]
    players = _players(tree)
    if len(players) != len(statics):
        return split_point(tree)[0]
    return _rebuild(tree, [x if s is None else s.parameters(x) for x, s in zip(players, statics)])


# --------------------------------------------------------------------------- buffers

# per game (weakly), per point signature: which leaves some loss reaches differentiably
_REACHED: "weakref.WeakKeyDictionary[Any, dict]" = weakref.WeakKeyDictionary()


def _signature(w) -> tuple:
    leaves, treedef = jax.tree.flatten(w)
    return (treedef,) + tuple((x.shape, x.dtype) if _is_array(x) else _Value(x) for x in leaves)


def _reached(owner, instance: Callable, w, marks) -> Optional[Tuple[Tuple[bool, ...], ...]]:
    """Per player, per leaf: whether some loss of the game ``instance()`` depends
    differentiably on the leaf (leaves that are not floating arrays of equinox modules count
    as reached). Structural: the JVP of every loss is traced with the arrays abstract
    (nothing runs) and the tangents it reads are found (``_jaxpr.dependence.reads``).
    ``None`` when the losses cannot be traced here: the entry point's own checks then name the
    loss. Cached per ``owner`` (the game, or the function that makes it) and signature of ``w``."""
    key = _signature(w)
    try:
        per_game = _REACHED.setdefault(owner, {})
    except TypeError:  # not weakly referable
        per_game = {}
    if key not in per_game:
        per_game[key] = _trace_reached(instance, w, marks)
    return per_game[key]


def _trace_reached(instance: Callable, w, marks) -> Optional[Tuple[Tuple[bool, ...], ...]]:
    try:
        game = instance()
    except Exception:  # a function of a game that fails here: the entry point's call says why
        return None
    if not isinstance(game, GAME_TYPES):
        return None
    leaves, treedef = jax.tree.flatten(w)
    flat_marks = [m for player in marks for m in player]
    arrays = [i for i, x in enumerate(leaves) if _is_array(x)]
    wanted = [k for k, i in enumerate(arrays) if flat_marks[i] == _MODULE_ARRAY]

    def tangents(values, t):
        def losses(chosen):
            full = list(leaves)
            for i, v in zip(arrays, values):
                full[i] = v
            for k, v in zip(wanted, chosen):
                full[arrays[k]] = v
            return _all_losses(game, jax.tree.unflatten(treedef, full))

        return jax.jvp(losses, ([values[k] for k in wanted],), (t,))[1]

    spec = [jax.ShapeDtypeStruct(jnp.shape(leaves[i]), jnp.result_type(leaves[i])) for i in arrays]
    try:
        closed = jax.make_jaxpr(tangents)(spec, [spec[k] for k in wanted])
    except Exception as err:
        if getattr(err, "_jaxgan_mutating_loss", False):
            raise
        return None  # the entry point's checks say what is wrong with the losses
    read = reads(closed.jaxpr, [True] * len(closed.jaxpr.outvars))[len(spec) :]
    flat = [True] * len(leaves)
    for k, r in zip(wanted, read):
        flat[arrays[k]] = r
    out, start = [], 0
    for player in marks:
        out.append(tuple(flat[start : start + len(player)]))
        start += len(player)
    return tuple(out)


def _all_losses(game, w) -> tuple:
    """Every loss of ``game`` at the whole point ``w`` (each refusing to mutate modules)."""
    labels = _labels(w)
    if isinstance(game, Game):
        return tuple(
            _call_pure(loss, name, w, labels, w.phi, w.theta)
            for loss, name in ((game.loss_g, "loss_g"), (game.loss_d, "loss_d"))
        )
    if game.stacked:
        return (
            jax.vmap(lambda i: _call_pure(game.losses, "losses", w, labels, i, w.x))(
                jnp.arange(game.n)
            ),
        )
    return tuple(
        _call_pure(loss, f"losses[{i}]", w, labels, w) for i, loss in enumerate(game.losses)
    )


# --------------------------------------------------------------------------- pure losses


def _module_state(w, labels) -> list:
    """``(where, variable, value)`` of every nnx variable of the point's players."""
    if sys.modules.get("flax.nnx") is None:
        return []
    out = []
    for label, x in zip(labels, _players(w)):
        for path, var in jax.tree_util.tree_flatten_with_path(x, is_leaf=_is_variable)[0]:
            if _is_variable(var):
                out.append((f"{label}{jax.tree_util.keystr(path)}", var, var.get_raw_value()))
    return out


def _mutating_loss(name: str, what: str) -> TypeError:
    err = TypeError(
        f"`{name}` mutates module state ({what}), which a game's loss must not do: "
        "a loss is a pure function of the players, "
        "and jaxgan calls it on modules it rebuilds under jit, grad and vmap, so batch statistics, "
        "RNG counts or caches cannot be updated inside it. Pass the modules in evaluation mode "
        "(`model.eval()`, or `use_running_average=True` for nnx.BatchNorm, "
        "`deterministic=True` for nnx.Dropout), or keep the statistics out of the loss."
    )
    err._jaxgan_mutating_loss = True
    return err


def _call_pure(loss, name: str, w, labels, *args):
    """``loss(*args)`` on the whole point ``w``; a loss that mutates an nnx variable of a
    player (flax refuses it across traces, or it would be lost) is refused, naming it."""
    state = _module_state(w, labels)
    if not state:
        return loss(*args)
    try:
        out = loss(*args)
    except Exception as err:
        flax_errors = sys.modules.get("flax.errors")
        trace_error = getattr(flax_errors, "TraceContextError", ())
        if isinstance(err, trace_error):
            said = str(err).split(" (https")[0]
            held = [at for at, var, _ in state if f" {type(var).__name__} " in f" {said} "]
            shown = ", ".join(f"`{h}`" for h in held[:4]) + (", ..." if len(held) > 4 else "")
            what = f"flax says: {said}" + (f"; the players hold it at {shown}" if held else "")
            raise _mutating_loss(name, what) from err
        raise
    for where, var, before in state:
        if var.get_raw_value() is not before:
            raise _mutating_loss(name, f"it sets `{where}`, an nnx.{type(var).__name__}")
    return out


# --------------------------------------------------------------------------- the game on parameters

_ON_PARAMETERS: "weakref.WeakKeyDictionary[Any, dict]" = weakref.WeakKeyDictionary()


def game_on_parameters(game, statics: tuple):
    """The game whose points are the parameters: its losses rebuild the players (``join``)
    and call ``game``'s (refusing one that mutates module state: ``_call_pure``); a
    ``grad_fn`` is called on the rebuilt point and its static leaves dropped. One object per
    game and statics (cached weakly in the game), so that the compiled programs keyed by
    the game's identity are found again. ``game`` may also be a function ``h -> game`` (a
    grid's game)."""
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
            return parameters_of(game.grad_fn(whole(w)), statics)

    equilibrium = None if game.equilibrium is None else parameters_of(game.equilibrium, statics)
    if isinstance(game, Game):
        s_phi, s_theta = statics

        def joint(phi, theta):
            return Joint(
                phi if s_phi is None else s_phi.join(phi),
                theta if s_theta is None else s_theta.join(theta),
            )

        def loss(fn, name):
            def on_parameters(phi, theta):
                w = joint(phi, theta)
                return _call_pure(fn, name, w, ("phi", "theta"), w.phi, w.theta)

            return on_parameters

        return game.replace(
            loss_g=loss(game.loss_g, "loss_g"),
            loss_d=loss(game.loss_d, "loss_d"),
            grad_fn=grad_fn,
            equilibrium=equilibrium,
        )
    if game.stacked:
        (s_x,) = statics

        def losses(i, x):
            w = StackedPlayers(x if s_x is None else s_x.join(x))
            return _call_pure(game.losses, "losses", w, ("x",), i, w.x)

    else:

        def one(i, loss):
            def on_parameters(w):
                w = whole(w)
                return _call_pure(loss, f"losses[{i}]", w, _labels(w), w)

            return on_parameters

        losses = tuple(one(i, loss) for i, loss in enumerate(game.losses))
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


def split_modules(
    bound: inspect.BoundArguments,
    points: Tuple[str, ...],
    game: str = "game",
    functions: Tuple[str, ...] = (),
) -> Optional[Tuple[Callable, Dict[str, Any]]]:
    """Let the points of a public call (the arguments named in ``points``) hold equinox or
    flax nnx modules: each is split in ``bound`` (``split_point``, with the game when ``game``
    names one, so that equinox buffers are static too), the game is put on the parameters
    (``game_on_parameters``), and the user's functions of points named in ``functions`` get
    whole points (``on_whole_points``). Module state that is not a parameter (nnx variables
    other than ``nnx.Param``, equinox buffers) is thus left out of the Jacobian, the step and
    the runs. Returns ``(join, given)``: ``join(point)`` puts the static leaves back into a
    point of the output, ``given`` the arguments as the user passed them; ``None`` (``bound``
    untouched) when no point has a static leaf, the common case."""
    arguments = bound.arguments
    the_game = arguments.get(game)
    one = None
    if not isinstance(the_game, GAME_TYPES):  # a function of games: one of them, to split with
        grid, key = arguments.get("grid"), arguments.get("key")
        if isinstance(grid, dict) and grid:
            one = lambda: the_game({k: jnp.asarray(v)[0] for k, v in grid.items()})  # noqa: E731
        elif key is not None:
            one = lambda: the_game(key)  # noqa: E731
    splits = [(name, split_point(arguments.get(name), the_game, one)) for name in points]
    if all(found is None for _, (_, found) in splits):
        return None
    given, statics = dict(arguments), None
    for name, (parameters, found) in splits:
        if found is not None and name in arguments:
            arguments[name] = parameters
            statics = statics if statics is not None else found
    if game in arguments:
        arguments[game] = game_on_parameters(arguments[game], statics)
    for name in functions:
        if callable(arguments.get(name)):
            arguments[name] = on_whole_points(arguments[name], statics)
    return (lambda p: join_point(p, statics)), given


def point_function(game, build: Callable, *, whole_output: bool = False) -> Callable:
    """``w -> build(game)(w)``, a public function of points (``simultaneous_gradient``,
    ``make_step``), for points with modules too: ``build(game_on_parameters(game,
    statics))`` on the parameters, built once per statics; with ``whole_output`` the first
    output (the next point of a step) gets its static leaves back. The split is the
    declared one (nnx state out, equinox buffers in, with their field identically zero),
    so that a field or a step handed to a user's own loop has the form that the user's
    ``tx.init(eqx.filter(w, eqx.is_inexact_array))`` state expects."""
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
    """A transformation's ``init`` and ``update`` for points with modules too: ``params``
    (and ``updates``, the field) are split (the declared split, as ``point_function``'s:
    ``init`` has no game), the ``game=`` they are handed is ``game_on_parameters``, and the
    updates come back in the parameters' form (for ``equinox.apply_updates``)."""

    def init_fn(params):
        return init(split_point(params)[0])

    def update_fn(updates, state, params=None, **extra):
        parameters, statics = split_point(params)
        if statics is None:
            return update(updates, state, params, **extra)
        if "game" in extra:
            extra = {**extra, "game": game_on_parameters(extra["game"], statics)}
        return update(parameters_of(updates, statics), state, parameters, **extra)

    return init_fn, update_fn


def record_coordinates(trajectory, reference) -> Tuple[np.ndarray, np.ndarray]:
    """``(records, target)``: the coordinates of each record of ``trajectory`` (a point whose
    leaves have a leading record axis), ``(T, n)``, and of ``reference``, ``(n,)``, for the
    distances of ``measured_rate``. Points of modules are taken on their parameters (the
    reference from ``solve_equilibrium`` comes back as modules, split as the start is); a
    leaf the run gave back without a record axis (module state left out of the dynamics)
    is a constant of the run and is left out."""

    def ravel(w):
        return ravel_pytree(w)[0]

    traj, t_statics = split_point(trajectory)
    ref, r_statics = split_point(reference)
    modules = t_statics is not None or r_statics is not None
    if not modules and not any(_MODULE_ARRAY in _marks(x) for x in _players(reference)):
        return np.asarray(jax.vmap(ravel)(trajectory)), np.asarray(ravel(reference))
    t_leaves, r_leaves = jax.tree.leaves(traj), jax.tree.leaves(ref)
    if len(t_leaves) != len(r_leaves):
        return np.asarray(jax.vmap(ravel)(traj)), np.asarray(ravel(ref))
    pairs = [(t, r) for t, r in zip(t_leaves, r_leaves) if jnp.ndim(t) == jnp.ndim(r) + 1]
    if not pairs or any(jnp.shape(t)[1:] != jnp.shape(r) for t, r in pairs):
        return np.asarray(jax.vmap(ravel)(traj)), np.asarray(ravel(ref))
    records = [np.reshape(np.asarray(t), (np.shape(t)[0], -1)) for t, _ in pairs]
    if len({r.shape[0] for r in records}) != 1:
        return np.asarray(jax.vmap(ravel)(traj)), np.asarray(ravel(ref))
    target = np.concatenate([np.ravel(np.asarray(r)) for _, r in pairs])
    return np.concatenate(records, axis=1), target
