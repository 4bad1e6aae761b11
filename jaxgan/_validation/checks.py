"""Input checks, run once at a public entry point: each names the argument and says what
was expected (the bad-input table of docs/errors.md). Internal calls pass checked values.

The one module of structural checks: games, points, losses and fields; the transformations'
shared checks (``accept_transformation``, ``checked_game_update``, ``require_joint``,
``NO_PARAMS_MSG``); an entry point's ``tx``, ``state`` and ``hyperparams``. Option values
(numbers, counts, flags, choices) are checked by their declared domains (``_domains``), here
and at every entry point.
"""

from __future__ import annotations

import inspect
import os
import weakref
from typing import Callable, NamedTuple, Optional, Sequence, Tuple, Union

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._core.game import GAME_TYPES, Game, Joint, NPlayerGame, Players, StackedPlayers, is_point
from .._core.partition import split_modules
from .._core.players import require_point, require_two_players
from .._jaxpr.dependence import depends
from .cache import compiled
from .domains import Domain, Real, describe, one_layer, where_of


def check_game(game, where: str, *, two_player: Union[bool, str] = False) -> Game:
    """Raise a clear error unless ``game`` is a game (a two-player ``Game`` or an
    ``NPlayerGame``). With ``two_player`` (``True``, or the key of ``where``'s reason in
    ``_players.TWO_PLAYER_ONLY``) a game of more than two players is refused, saying why."""
    if game is None:
        raise TypeError(
            f"{where} needs the game: pass `game=game` (a jaxgan.Game), "
            "e.g. `tx.update(xi, state, params, game=game)`."
        )
    if not isinstance(game, GAME_TYPES):
        raise TypeError(
            f"{where}: `game` must be a jaxgan.Game, "
            f"got {describe(game)} (games of n players come from jaxgan.n_player_game)."
        )
    if two_player:
        require_two_players(game, where, two_player if isinstance(two_player, str) else "")
    return game


def check_joint(w, where: str, arg: str = "w", game=None):
    """Raise a clear error unless ``w`` is a point of floating-point leaves: a ``Joint`` for a
    two-player game (or without a game), ``Players`` of ``game.n`` players, or
    ``StackedPlayers`` of a stacked n-player game."""
    if isinstance(game, NPlayerGame):
        want = StackedPlayers if game.stacked else Players
        text = (
            f"a jaxgan.StackedPlayers of {game.n} players (the players along the leading axis)"
            if game.stacked
            else f"a jaxgan.Players of {game.n} players"
        )
        if not isinstance(w, want):
            hint = (
                " (the game has n players: `jg.Players(x_1, ..., x_n)`)"
                if isinstance(w, Joint)
                else ""
            )
            raise TypeError(f"{where}: `{arg}` must be {text}, got {describe(w)}{hint}.")
        if len(w) != game.n:
            raise ValueError(f"{where}: `{arg}` holds {len(w)} players but the game has {game.n}.")
        if game.stacked:
            sizes = {jnp.shape(x)[0] if jnp.ndim(x) else None for x in jax.tree.leaves(w.x)}
            if sizes != {game.n}:
                raise ValueError(
                    f"{where}: every leaf of `{arg}.x` "
                    f"must have the players along its leading axis (length {game.n}), "
                    f"got leading lengths {sorted(map(str, sizes))}."
                )
        named = [(f"[{i}]", x) for i, x in enumerate(w)] if not game.stacked else [(".x", w.x)]
    elif isinstance(w, (Players, StackedPlayers)) and game is None:  # the game is not known here
        named = (
            [(f"[{i}]", x) for i, x in enumerate(w)] if isinstance(w, Players) else [(".x", w.x)]
        )
    elif not isinstance(w, Joint):
        players = (
            (
                " (this is a two-player game: "
                f"use jaxgan.Joint(phi, theta); {describe(w)} is for jaxgan.n_player_game)"
            )
            if isinstance(w, (Players, StackedPlayers))
            else ""
        )
        raise TypeError(
            f"{where}: `{arg}` must be a jaxgan.Joint(phi, theta), got {describe(w)}{players}. "
            f"Wrap the players' parameters: `jg.Joint(phi=..., theta=...)`."
        )
    else:
        named = [(".phi", w.phi), (".theta", w.theta)]
    strong = {}
    for player, value in named:
        leaves = jax.tree.leaves(value)
        if not leaves:
            raise ValueError(
                f"{where}: `{arg}{player}` has no array leaves; each player needs parameters."
            )
        for leaf in leaves:
            dtype = jnp.result_type(leaf)
            if not jnp.issubdtype(dtype, jnp.floating):
                raise TypeError(
                    f"{where}: `{arg}{player}` has a leaf of dtype {dtype}; "
                    "parameters must be floating point (e.g. jnp.float32 or jnp.float64)."
                )
            if jnp.finfo(dtype).bits < 32:
                raise TypeError(
                    f"{where}: `{arg}{player}` has a leaf of dtype {dtype}; half precision is "
                    "not supported (eigendecompositions and solves need float32 or float64): "
                    "cast with `.astype(jnp.float32)`."
                )
            if not _weakly_typed(leaf):
                strong.setdefault(str(dtype), player)
    if len(strong) > 1:
        found = ", ".join(f"{d} (in `{arg}{p}`)" for d, p in strong.items())
        raise TypeError(
            f"{where}: `{arg}` mixes floating dtypes: {found}; cast every leaf to one dtype, "
            f"e.g. `jax.tree.map(lambda x: x.astype(jnp.float64), {arg})`."
        )
    return w


def _weakly_typed(leaf) -> bool:
    """Python scalars and weakly typed arrays take the other leaves' dtype: they never mix."""
    if isinstance(leaf, (bool, int, float, complex)):
        return True
    return bool(getattr(getattr(leaf, "aval", leaf), "weak_type", False))


def as_array(x, dtype=None):
    """``jnp.asarray(x, dtype)``, without an eager conversion (a dispatch on every call) when
    ``x`` is already a JAX array of that dtype."""
    if isinstance(x, jax.Array) and (dtype is None or x.dtype == dtype):
        return x
    return jnp.asarray(x, dtype)


def check_finite(w, where: str, arg: str = "w") -> None:
    """Raise if a concrete (non-traced) pytree has NaN or inf; traced values pass."""
    for leaf in jax.tree.leaves(w):  # the fast pass; the paths only to name a failure
        if not isinstance(leaf, jax.core.Tracer) and not np.isfinite(np.asarray(leaf)).all():
            break
    else:
        return
    for path, leaf in jax.tree_util.tree_leaves_with_path(w):
        if isinstance(leaf, jax.core.Tracer):
            continue
        if not np.all(np.isfinite(np.asarray(leaf))):
            raise ValueError(
                f"{where}: `{arg}{jax.tree_util.keystr(path)}` has non-finite values (NaN or inf); "
                "pass a finite point (an equilibrium for spectra)."
            )


def all_finite(tree) -> jax.Array:
    """Whether every entry of every leaf of ``tree`` is finite (traceable): a result at a
    point that is not is undefined, NaN under ``jit`` (a concrete point is refused)."""
    return jnp.all(jnp.asarray([jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]))


def grid_axis(values, where: str, name: str, *, allow_empty: bool = False) -> jax.Array:
    """A grid axis as a 1-D array of numbers (non-empty unless ``allow_empty``: the caller
    then says the grid is empty), or an error naming the axis."""
    try:
        a = as_array(values)
    except (TypeError, ValueError):
        a = None
    if a is None or not (jnp.issubdtype(a.dtype, jnp.number) or a.dtype == jnp.bool_):
        raise TypeError(
            f"{where}: grid axis `{name}` must be a 1-D array of numbers "
            f"(a list, a NumPy or a JAX array), got {describe(values)}."
        )
    if a.ndim != 1 or (a.shape[0] == 0 and not allow_empty):
        raise ValueError(
            f"{where}: grid axis `{name}` must be 1-D and non-empty, got shape {a.shape}."
        )
    return a


def _shapes(tree):
    return jax.tree.map(lambda x: tuple(jnp.shape(x)), tree)


_TRACED_CONVERSIONS = tuple(
    getattr(jax.errors, name)
    for name in (
        "ConcretizationTypeError",
        "TracerArrayConversionError",
        "TracerBoolConversionError",
        "TracerIntegerConversionError",
    )
    if hasattr(jax.errors, name)
)


def call_loss(loss, name: str, phi, theta):
    """Evaluate a loss; a shape or type error inside it is re-raised naming the parameters'
    shapes."""
    try:
        return loss(phi, theta)
    except _TRACED_CONVERSIONS as err:
        raise TypeError(
            f"`{name}` cannot be differentiated or traced: it turns a parameter "
            f"into a Python or NumPy value ({describe(err)}: {str(err).splitlines()[0]}). "
            "Write losses with jax.numpy only; branch with `jnp.where` or `jax.lax.cond`, "
            "not `if`, `float()` or `np.` calls on the parameters."
        ) from err
    except Exception as err:
        if type(err) not in (TypeError, ValueError) or not _raised_by_array_library(err):
            # the loss's own exception: itself, with a note naming the loss
            err.add_note(
                f"(raised by the game's `{name}` on parameters of shapes phi {_shapes(phi)}, "
                f"theta {_shapes(theta)})"
            )
            raise
        raise _point_error(
            err,
            f"`{name}` failed on parameters of shapes phi {_shapes(phi)}, theta {_shapes(theta)}: "
            f"{str(err).splitlines()[0]}",
            "the structure and shapes the game's losses expect",
        ) from err


def _point_error(err: BaseException, what: str, expect: str) -> BaseException:
    """A loss's failure on a point: ``what`` happened, and the point should have ``expect``;
    ``check_point`` names the point (the argument, or the game's ``equilibrium``)."""
    new = type(err)(f"{what} Check that `w` has {expect}.")
    new.jaxgan_point = (what, expect)
    return new


_ARRAY_LIBRARIES = tuple(
    os.path.dirname(m.__file__) + os.sep for m in (jax, np) if getattr(m, "__file__", None)
) + tuple(os.path.dirname(os.path.dirname(jax.__file__)) + os.sep + d + os.sep for d in ("jaxlib",))


def _raised_by_array_library(err: BaseException) -> bool:
    """Whether the innermost frame of ``err``'s traceback is in JAX or NumPy (a shape or
    dtype error of an array operation) rather than in the user's own code."""
    tb = err.__traceback__
    last = None
    while tb is not None:
        last = tb
        tb = tb.tb_next
    if last is None:
        return False
    return last.tb_frame.f_code.co_filename.startswith(_ARRAY_LIBRARIES)


def call_player_loss(loss, name: str, w):
    """Evaluate an n-player loss ``w -> scalar`` (``name`` like ``losses[2]``); a failure inside
    it is re-raised naming the loss and the players' shapes, as ``call_loss`` does."""
    try:
        return loss(w)
    except _TRACED_CONVERSIONS as err:
        raise TypeError(
            f"`{name}` cannot be differentiated or traced: "
            "it turns a parameter into a Python or NumPy value "
            f"({describe(err)}: {str(err).splitlines()[0]}). Write losses with jax.numpy only."
        ) from err
    except IndexError as err:
        n = len(w)
        raise IndexError(
            f"`{name}` indexes a player that does not exist: "
            f"the game has {n} players, `w[0]` to `w[{n - 1}]` ({err})."
        ) from err
    except Exception as err:
        shapes = _shapes(w.x if isinstance(w, StackedPlayers) else tuple(w))
        if type(err) not in (TypeError, ValueError, IndexError) or not _raised_by_array_library(
            err
        ):
            err.add_note(f"(raised by the game's `{name}` on players of shapes {shapes})")
            raise
        raise _point_error(
            err,
            f"`{name}` failed on players of shapes {shapes}: {str(err).splitlines()[0]} Each loss "
            "is a function of the whole jaxgan.Players (`w[i]` is player i's parameters).",
            "the structure and shapes the game's losses expect",
        ) from err


def _check_scalar_loss(value, name: str):
    if not hasattr(value, "shape") and not isinstance(value, (int, float, np.number)):
        hint = (
            " (return only the loss; keep auxiliary outputs out of the game's losses)"
            if isinstance(value, (tuple, list, dict))
            else ""
        )
        raise TypeError(
            f"`{name}` must return a scalar array, but returned {describe(value)}{hint}."
        )
    shape = jnp.shape(value)
    if shape != ():
        raise ValueError(
            f"`{name}` must return a scalar, but returned shape {shape}. Reduce it "
            "(e.g. `.mean()` over the batch) before returning."
        )
    if not jnp.issubdtype(jnp.result_type(value), jnp.floating):
        raise TypeError(
            f"`{name}` must return a floating-point scalar, got dtype {jnp.result_type(value)}."
        )


def _check_same_structure(reference, value, where: str, arg: str):
    ref_def = jax.tree.structure(reference)
    val_def = jax.tree.structure(value)
    if ref_def != val_def:
        raise ValueError(
            f"{where}: `{arg}` has tree structure {val_def}, "
            f"expected {ref_def} (that of the parameters)."
        )
    for (path, a), b in zip(jax.tree_util.tree_leaves_with_path(reference), jax.tree.leaves(value)):
        if jnp.shape(a) != jnp.shape(b):
            raise ValueError(
                f"{where}: `{arg}{jax.tree_util.keystr(path)}` has shape "
                f"{jnp.shape(b)} but the parameter has shape {jnp.shape(a)}."
            )


def check_hyperparameter(
    value,
    where: str,
    name: str,
    *,
    low: float = 0.0,
    low_open: bool = False,
    high: Optional[float] = None,
    high_open: bool = True,
    allow_inf: bool = False,
):
    """Check a numeric hyperparameter's type and domain when it is concrete: a real number
    (or a scalar array), finite unless ``allow_inf``, at least ``low`` (above it with
    ``low_open``) and below ``high`` when given. Traced values pass unchecked (their domain
    is the caller's responsibility; documented at each transform). Returns ``value``.
    The same check as a declared ``_domains.Real`` domain."""
    Real(low, high, low_open=low_open, high_open=high_open, allow_inf=allow_inf).check(
        value, where, name
    )
    return value


# --------------------------------------------------------------------------- differentiability

# games already checked, with the parameter signatures they were checked at: a validation
# cache (weak in the game), never read for results
_CHECKED_FIELDS: "weakref.WeakKeyDictionary[Game, set]" = weakref.WeakKeyDictionary()


def _own_gradients(game):
    """``w -> (grad_{x_1} l_1, ..., grad_{x_n} l_n)`` by autodiff, each loss checked to be a
    scalar (the checked gradients ``check_differentiable`` traces), with the players' labels
    and the names of their losses."""
    if isinstance(game, Game):

        def grads(w: Joint):
            def lg(phi):
                val = call_loss(game.loss_g, "loss_g", phi, w.theta)
                _check_scalar_loss(val, "loss_g")
                return val

            def ld(theta):
                val = call_loss(game.loss_d, "loss_d", w.phi, theta)
                _check_scalar_loss(val, "loss_d")
                return val

            return jax.grad(lg)(w.phi), jax.grad(ld)(w.theta)

        return grads, (("phi", "loss_g"), ("theta", "loss_d"))

    if game.stacked:

        def stacked(w):
            def own(i):
                def loss(x_i):
                    x = jax.tree.map(lambda a, b: a.at[i].set(b), w.x, x_i)
                    val = call_player_loss(
                        lambda v: game.losses(i, v.x), "losses", StackedPlayers(x)
                    )
                    _check_scalar_loss(val, "losses")
                    return val

                return jax.grad(loss)(jax.tree.map(lambda a: a[i], w.x))

            return (jax.vmap(own)(jnp.arange(game.n)),)

        return stacked, (("x", "losses"),)

    def grads_n(w):
        out = []
        for i, loss in enumerate(game.losses):

            def own(x, i=i, loss=loss):
                val = call_player_loss(loss, f"losses[{i}]", w.replace(i, x))
                _check_scalar_loss(val, f"losses[{i}]")
                return val

            out.append(jax.grad(own)(w[i]))
        return tuple(out)

    return grads_n, tuple((f"w[{i}]", f"losses[{i}]") for i in range(game.n))


def check_differentiable(game, w) -> None:
    """Raise unless each player's loss depends differentiably on the player's own parameters.

    A loss that ignores its player, or reaches it only through operations without a
    derivative (``stop_gradient``, rounding, comparisons, integer casts), has a gradient
    that is *identically* zero: that player never moves, whatever the algorithm. The test
    is structural, on the jaxpr of the players' gradients (shapes only): a player fails when
    none of its gradient leaves depends on the parameters and all of them are zero. A
    single flat leaf (a critic bias that cancels out) is a legitimate zero direction and
    passes. Traced values are fine; ``check_field`` runs it once per game and parameter shapes.
    """
    grads, names = _own_gradients(game)
    closed = jax.make_jaxpr(grads)(w)
    constant = [not d for d in depends(closed.jaxpr, [True] * len(closed.jaxpr.invars))]
    sizes = [len(jax.tree.leaves(g)) for g in jax.eval_shape(grads, w)]
    start = 0
    for index, ((player, loss), size) in enumerate(zip(names, sizes)):
        flags = constant[start : start + size]
        start += size
        if flags and all(flags) and _constant_gradient_is_zero(grads, w, index):
            raise ValueError(
                f"`{loss}` does not depend differentiably on `{player}`: "
                f"its gradient with respect to `{player}` is identically zero "
                f"(the loss ignores `{player}`, or reaches it only through stop_gradient, "
                "rounding, comparisons or integer casts), so that player never moves. "
                f"Check that `{loss}` uses `{player}`."
            )


def _constant_gradient_is_zero(grads, w, index: int) -> bool:
    """Evaluate a parameter-independent gradient (at zeros: it is the same everywhere);
    ``False`` when it closes over traced values and cannot be evaluated now."""
    zeros = jax.tree.map(lambda x: np.zeros(jnp.shape(x), jnp.result_type(x)), w)
    with jax.ensure_compile_time_eval():
        g = grads(zeros)[index]
    leaves = jax.tree.leaves(g)
    if any(isinstance(x, jax.core.Tracer) for x in leaves):
        return False
    return all(not np.any(np.asarray(x)) for x in leaves)


def check_field(game: Game, w: Joint, where: str) -> None:
    """The checks of a game's field at ``w``'s structure and shapes, run once at a public
    entry point (and cached per game and parameter signature): with ``grad_fn``, that it
    returns a ``Joint`` shaped like ``w`` (traced abstractly); otherwise, that each loss
    returns a floating-point scalar and depends differentiably on its player
    (``check_differentiable``). Internal code then evaluates ``_field.game_field``
    unchecked."""
    signature = _signature(w)
    seen = _CHECKED_FIELDS.setdefault(game, set())
    if signature in seen:
        return
    if game.grad_fn is None:
        check_differentiable(game, w)
    else:
        out = jax.eval_shape(game.grad_fn, w)
        if type(out) is not type(w):
            raise TypeError(
                f"`grad_fn` must return a jaxgan.{type(w).__name__}, "
                f"got {describe(out)} (the type of the parameters)."
            )
        _check_same_structure(w, out, where, "grad_fn(w)")
    seen.add(signature)


def check_point(game: Game, w, where: str, arg: str = "w") -> Joint:
    """``w`` checked as a point of ``game`` at a public entry point: a ``Joint`` of floating
    leaves (``check_joint``) at which the game's field is well defined (``check_field``).
    ``game`` must have passed ``check_game``."""
    # the checks read only the point's structure, shapes and dtypes: a point of a signature that
    # passed them for this game passes again (the repeat call of an entry point skips them)
    key = _point_signature(w, where, arg)
    seen = _CHECKED_POINTS.get(game)
    if seen is not None and key in seen:
        return w
    label = f"`{arg}`"
    equilibrium = getattr(game, "equilibrium", None)
    if equilibrium is not None and w is equilibrium and arg != "game.equilibrium":
        label += " (the game's `equilibrium`)"
    w = check_joint(w, where, arg, game)
    try:
        check_field(game, w, where)
    except (TypeError, ValueError, IndexError) as err:
        if not hasattr(err, "jaxgan_point"):
            raise
        what, expect = err.jaxgan_point
        raise type(err)(f"{where}: {what} Check that {label} has {expect}.") from err.__cause__
    if key is not None:
        _CHECKED_POINTS.setdefault(game, set()).add(key)
    return w


#: the point signatures (``_point_signature``) each game has passed ``check_point`` with
_CHECKED_POINTS: "weakref.WeakKeyDictionary[Game, set]" = weakref.WeakKeyDictionary()


def _point_signature(w, where: str, arg: str):
    """What ``check_point``'s checks read of ``w`` (its tree structure and each leaf's type,
    shape, dtype and weak type), with the caller, as a hashable key; ``None`` where a leaf
    has none of them (the checks then run every time)."""
    try:
        leaves, treedef = jax.tree.flatten(w)
        sig = tuple(
            (type(x), x.shape, x.dtype, getattr(x, "weak_type", None))
            if hasattr(x, "shape") and hasattr(x, "dtype")
            else (type(x),)
            for x in leaves
        )
        key = (where, arg, treedef, sig)
        hash(key)
        return key
    except Exception:  # noqa: BLE001 - an unusual leaf: check it every time
        return None


def _signature(w: Joint) -> tuple:
    return (
        jax.tree.structure(w),
        tuple((jnp.shape(x), jnp.result_type(x)) for x in jax.tree.leaves(w)),
    )


class Program(NamedTuple):
    """How ``entry`` runs a public ``fn(game, w, ...)`` as one compiled program: ``game`` and
    ``w`` are checked (``check_game``, with ``two_player``; ``check_point``), and the body runs
    as one program cached (``_cache.compiled``) by the game's identity, the number of positional
    arguments and the values of the ``static`` keyword options (and of every option passed as
    ``None``, which selects a default); the arrays (``w``, the other positional arguments,
    numeric keyword options such as ``tol``) are its traced arguments. A repeat call with the
    same game, options and shapes compiles nothing."""

    static: Tuple[str, ...] = ()
    two_player: Union[bool, str] = False


def entry(
    *points: str,
    game: str = "game",
    returns: Optional[Callable] = None,
    functions: Tuple[str, ...] = (),
    program: Optional[Program] = None,
    **declared: Domain,
) -> Callable[[Callable], Callable]:
    """The one layer between a public call and its work, for a function of points.

    One binding of the call's arguments, then in order: the declared option domains
    (``_validation.domains``, as ``@domains`` checks them), the points named in ``points``
    split when they hold modules (``_core.partition.split_modules``, with ``game`` and the
    user's ``functions`` of points put on the parameters), and the body: called as it is, or,
    with a ``program``, after the game and point checks as one cached compiled program. Last,
    ``returns(out, join, given)`` puts the static leaves of modules back into the output's
    points. The function keeps its signature and gains ``__domains__``, a ``Domains:``
    docstring section and ``.unchecked``, the body itself, for internal callers that hold
    checked values already (a transformation's ``update`` after ``checked_game_update``).
    """

    def wrap(body: Callable) -> Callable:
        where, names = where_of(body), list(inspect.signature(body).parameters)

        def run(bound):
            split = split_modules(bound, points, game, functions) if points else None
            if program is None:
                out = body(*bound.args, **bound.kwargs)
            else:
                out = _run_program(body, where, program, names, bound)
            return out if split is None or returns is None else returns(out, *split)

        public = one_layer(body, declared, run, kind="entry")
        public.unchecked = body
        return public

    return wrap


def _run_program(body, where: str, program: Program, names, bound) -> object:
    arguments = bound.arguments
    the_game = check_game(arguments[names[0]], where, two_player=program.two_player)
    w = check_point(the_game, arguments[names[1]], where)
    args = bound.args[2:]
    kwargs = bound.kwargs
    fixed = {k: v for k, v in kwargs.items() if k in program.static or v is None}
    traced = {k: v for k, v in kwargs.items() if k not in fixed}
    # the type with the value: 100 and 100.0, or True and 1, are different options
    options = (len(args),) + tuple((k, type(v), v) for k, v in sorted(fixed.items()))
    return compiled(where, _entry_program, (body, the_game), options)(w, args, traced)


def _entry_program(body, game, nargs, *options):
    fixed = {k: v for k, _, v in options}

    def program(w, args, traced):
        return body(game, w, *args, **fixed, **traced)

    return program


# --------------------------------------------------------------------------- hyperparameter keys


class ReadKeys(dict):
    """A grid point ``h`` that records which keys the user's functions read (``make_tx``,
    ``game(h)``, ``w0(h)``), so a grid axis nothing reads is refused instead of sweeping a
    hyperparameter that changes nothing. Iterating over it counts as reading every key."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.read = set()

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def __contains__(self, key):
        self.read.add(key)
        return super().__contains__(key)

    def _all(self):
        self.read.update(super().keys())

    def keys(self):
        self._all()
        return super().keys()

    def items(self):
        self._all()
        return super().items()

    def values(self):
        self._all()
        return super().values()

    def __iter__(self):
        self._all()
        return super().__iter__()

    def check_all_read(self, where: str, arg: str = "") -> None:
        unread = sorted(set(dict.keys(self)) - self.read)
        if unread and arg:
            names = ", ".join(f"`{k}`" for k in unread)
            raise ValueError(
                f"{where}: `{arg}` key(s) {names} are never read by `make_tx`: "
                "a misspelt or unused hyperparameter would be silently ignored; "
                f"use the key (e.g. `h[{unread[0]!r}]`) or drop it."
            )
        if unread:
            names = ", ".join(f"`{k}`" for k in unread)
            raise ValueError(
                f"{where}: grid key(s) {names} are never read by `make_tx` "
                "(nor by the game or the start): every run would be the same; "
                f"use the key (e.g. `h[{unread[0]!r}]`) or drop it from the grid."
            )


def read_checked(hyperparams):
    """``hyperparams`` as a ``ReadKeys`` when it is a dict (so that ``check_read`` can refuse a
    key that ``make_tx`` never reads), else unchanged."""
    return ReadKeys(hyperparams) if isinstance(hyperparams, dict) else hyperparams


def check_read(hyperparams, where: str) -> None:
    """After ``make_tx`` has been used: refuse a ``hyperparams`` key it never read."""
    if isinstance(hyperparams, ReadKeys):
        hyperparams.check_all_read(where, "hyperparams")


# --------------------------------------------------------------------------- transformations
# Every jaxgan transformation is an ``optax.GradientTransformationExtraArgs`` whose ``update``
# receives the field ``xi`` as ``updates``, the point ``w`` as ``params`` and the game as ``game=``
# (``make_step`` passes all three); the helpers below are the one place where what it checks,
# and what it says when a call is wrong, is written.

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
            f"{where}: `updates` and `params` must be {names} pytrees "
            "(the field xi and the point w)."
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


# --------------------------------------------------------------------------- an entry point's tx


def check_tx(tx, where: str, hyperparams=None) -> None:
    """Check an entry point's ``tx`` argument: an optax transformation, or with
    ``hyperparams`` a callable ``h -> transformation`` (a ``make_tx``)."""
    if hyperparams is None:
        accept_transformation(tx, where, "tx")
        return
    if isinstance(tx, optax.GradientTransformation) or not callable(tx):
        raise TypeError(
            f"{where}: with `hyperparams=`, `tx` must be a callable `h -> optax transformation` "
            f"(a make_tx, e.g. `lambda h: optax.sgd(h['lr'])`), got {describe(tx)}; "
            "without `hyperparams`, pass the transformation itself."
        )
    if not any(isinstance(x, jax.core.Tracer) for x in jax.tree.leaves(hyperparams)):
        # built once with the concrete values: the option domains of the transformations it makes
        # are checked here (inside the compiled program they are traced, hence unchecked)
        try:
            made = tx(hyperparams)
        except KeyError as err:
            held = sorted(hyperparams) if isinstance(hyperparams, dict) else hyperparams
            raise ValueError(
                f"{where}: `make_tx` reads the hyperparameter {err.args[0]!r}, "
                f"which the hyperparameters given do not hold (they hold {held}): "
                "give it, or read only the keys given."
            ) from None
        accept_transformation(made, f"{where} (the transformation made from `hyperparams`)", "tx")


def check_state(tx, w, state, where: str, hyperparams=None) -> None:
    """Refuse an optimiser state that is not the one ``tx.init(w)`` builds (another
    optimiser's state), by tree structure and leaf shapes, before any work."""
    if state is None:
        return
    try:
        expected = jax.eval_shape(lambda: tx_at(tx, hyperparams, where).init(w))
    except Exception:  # noqa: BLE001 - init needs traced values: checked when the step runs
        return
    got_def, want_def = jax.tree.structure(state), jax.tree.structure(expected)
    if got_def != want_def:
        raise ValueError(
            f"{where}: `state` does not match `tx.init(w)` (another optimiser's state?): "
            f"tree structure {got_def} but `tx.init(w)` gives {want_def}."
        )
    for (path, a), b in zip(jax.tree_util.tree_leaves_with_path(expected), jax.tree.leaves(state)):
        if tuple(a.shape) != tuple(jnp.shape(b)):
            raise ValueError(
                f"{where}: `state{jax.tree_util.keystr(path)}` has shape "
                f"{tuple(jnp.shape(b))} but `tx.init(w)` gives {tuple(a.shape)}."
            )


def check_transform_hyperparams(transform, hyperparams, where: str) -> None:
    """An analysis's ``transform=`` with ``hyperparams=``: a ``make_tx`` is required."""
    if hyperparams is None:
        return
    if transform is None:
        raise TypeError(
            f"{where}: `hyperparams` needs `transform=`, a callable `h -> transformation`."
        )
    check_tx(transform, where, hyperparams)


def transform_at(transform, hyperparams, where: str):
    """Inside a program: ``(transform, None)``, or with ``hyperparams`` the transformation
    ``transform(h)`` and ``h`` (a ``ReadKeys`` for ``check_read`` once it has been used)."""
    if hyperparams is None:
        return transform, None
    h = read_checked(hyperparams)
    return tx_at(transform, h, where), h


def tx_at(tx, hyperparams, where: str) -> optax.GradientTransformationExtraArgs:
    """The transformation of an entry point: ``tx`` itself, or ``tx(hyperparams)`` for a
    ``make_tx`` (``hyperparams`` traced: a new value re-uses the compiled program)."""
    if hyperparams is None:
        return accept_transformation(tx, where, "tx")
    return accept_transformation(
        tx(hyperparams), f"{where} (the transformation made from `hyperparams`)", "tx"
    )
