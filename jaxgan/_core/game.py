"""The types of a game: joint parameters, box constraints, the game itself, for two
players and for n.

Sign conventions (the contract of the whole library):

* ``Joint(phi, theta)``: ``phi`` is the generator, ``theta`` the discriminator.
* ``Game(loss_g, loss_d)``: *both* players minimise their own loss, each a pure
  function ``loss(phi, theta) -> scalar``. ``zero_sum(f)`` is the game
  ``min_phi max_theta f``, i.e. ``loss_g = f`` and ``loss_d = -f``.
* The simultaneous gradient ``xi(w) = Joint(grad_phi loss_g, grad_theta loss_d)`` is
  what optax consumes (``jaxgan._core.field``); the vector field is ``v = -xi`` (Mescheder et
  al. 2017, 2018; Nie & Patel 2019). Jacobians and spectra are of ``v``.
* ``Players(x_1, ..., x_n)`` and ``n_player_game(losses)``: player ``i`` minimises
  ``losses[i](w)``; ``xi = Players(grad_{x_1} l_1, ..., grad_{x_n} l_n)`` (Balduzzi et
  al. 2018, "The mechanics of n-player differentiable games"). ``StackedPlayers(x)`` holds
  many identical players along the leading axis of ``x`` (one program whatever ``n``).
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, Callable, NamedTuple, Optional, Sequence, Union

import jax

from .._validation.domains import describe

PyTree = Any
Loss = Callable[[PyTree, PyTree], jax.Array]


class Joint(NamedTuple):
    """Joint parameters of a two-player game.

    Attributes:
      phi: the generator's parameters (any pytree); the first player.
      theta: the discriminator's parameters (any pytree); the second player.

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> w = jg.Joint(phi=jnp.zeros(2), theta=jnp.ones(3))
      >>> w.theta.shape
      (3,)
    """

    phi: PyTree
    theta: PyTree


class Box(NamedTuple):
    """A box ``lo <= w <= hi`` for the joint parameters of a constrained game.

    Attributes:
      lo: lower bounds, a ``Joint`` shaped like the parameters.
      hi: upper bounds, a ``Joint`` shaped like the parameters (``lo < hi``).

    Examples:
      >>> import jaxgan as jg
      >>> box = jg.Box(jg.Joint(0.0, 0.0), jg.Joint(1.0, 1.0))
      >>> float(box.hi.theta)
      1.0
    """

    lo: "Joint"
    hi: "Joint"


@dataclasses.dataclass(frozen=True, eq=False)
class Game:
    """A two-player differentiable game: each player minimises its own loss.

    ``phi`` (generator) minimises ``loss_g(phi, theta)``; ``theta`` (discriminator)
    minimises ``loss_d(phi, theta)``. Both losses are pure scalar functions; data is
    closed over. A zero-sum game ``min_phi max_theta f`` is ``zero_sum(f)``.

    Args:
      loss_g: the generator's loss ``(phi, theta) -> scalar``.
      loss_d: the discriminator's loss ``(phi, theta) -> scalar``.
      grad_fn: optional hand-derived simultaneous gradient ``w -> Joint(grad_phi loss_g,
        grad_theta loss_d)``; used instead of autodiff wherever the field is needed. This and
        every argument after it are keyword-only.
      equilibrium: optional known equilibrium ``Joint`` (metadata used by reports and
        sweeps for distances).
      name: a short label for tables and reports.
      zero_sum: declares that ``loss_g + loss_d`` is a function of ``phi`` plus a function
        of ``theta`` (zero-sum up to each player's own terms, e.g. a discriminator
        penalty that depends on ``theta`` alone), so that the mixed blocks satisfy
        ``J_theta_phi = -J_phi_theta^T``. Corrections use it for cheaper identities
        (SGA's adjustment then equals JARE's). ``zero_sum(f)`` sets it.
      field_from_losses: whether the field is the gradient of the losses (``grad_fn`` a
        faster spelling of it). ``False`` for a game that carries another field, such as
        ``modified_game``'s: what reads the losses (LOLA, SOS, the regularisers,
        ``games.gman``) then refuses the game instead of mixing the two.

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> game = jg.Game(loss_g=lambda p, t: p * t, loss_d=lambda p, t: -p * t)
      >>> xi = jg.simultaneous_gradient(game)(jg.Joint(2.0, 3.0))
      >>> float(xi.phi), float(xi.theta)
      (3.0, -2.0)
    """

    loss_g: Loss
    loss_d: Loss
    # everything after the two losses is keyword-only: a third positional function would
    # silently become the field
    _: dataclasses.KW_ONLY
    grad_fn: Optional[Callable[[Joint], Joint]] = None
    equilibrium: Optional[Joint] = None
    name: str = "game"
    zero_sum: bool = False
    field_from_losses: bool = True

    def __new__(cls, *args, **kwargs):
        if len(args) > 2:
            names = ", ".join(f"`{f.name}`" for f in dataclasses.fields(cls) if f.kw_only)
            raise TypeError(
                f"{cls.__name__}: takes the two losses `loss_g` and `loss_d` positionally "
                f"and the rest by keyword ({names}), got {len(args)} positional arguments: "
                "write `Game(loss_g, loss_d, grad_fn=...)` for a hand-derived field."
            )
        return super().__new__(cls)

    def __post_init__(self):
        for arg in ("loss_g", "loss_d"):
            if not callable(getattr(self, arg)):
                raise TypeError(
                    f"Game: `{arg}` must be a callable `(phi, theta) -> scalar`, got "
                    f"{type(getattr(self, arg)).__name__}."
                )
        if self.grad_fn is not None and not callable(self.grad_fn):
            raise TypeError(
                "Game: `grad_fn` must be a callable "
                "`w -> Joint(grad_phi loss_g, grad_theta loss_d)` or None, "
                f"got {describe(self.grad_fn)}."
            )
        if self.equilibrium is not None and not isinstance(self.equilibrium, Joint):
            raise TypeError(
                "Game: `equilibrium` must be a jaxgan.Joint or None, got "
                f"{describe(self.equilibrium)}."
            )
        if not isinstance(self.field_from_losses, bool):
            got = describe(self.field_from_losses)
            raise TypeError(f"Game: `field_from_losses` must be True or False, got {got}.")

    def replace(self, **changes) -> "Game":
        """A copy of the game with some fields replaced."""
        return dataclasses.replace(self, **changes)


def zero_sum(f: Loss, *, grad_fn=None, equilibrium=None, name: str = "zero-sum game") -> Game:
    """The zero-sum game ``min_phi max_theta f(phi, theta)``.

    .. math:: \\min_\\phi \\max_\\theta f(\\phi, \\theta): \\qquad L_g = f, \\quad L_d = -f

    ``loss_g = f`` and ``loss_d = -f``, so ``xi = (grad_phi f, -grad_theta f)``.

    Args:
      f: the payoff ``(phi, theta) -> scalar``; the generator minimises it, the
        discriminator maximises it.
      grad_fn: optional hand-derived simultaneous gradient (see ``Game``).
      equilibrium: optional known equilibrium.
      name: label.

    Returns:
      A ``Game``.

    Examples:
      >>> import jaxgan as jg
      >>> game = jg.zero_sum(lambda x, y: x * y)
      >>> float(jg.simultaneous_gradient(game)(jg.Joint(1.0, 2.0)).theta)
      -1.0
    """
    if not callable(f):
        raise TypeError(
            f"zero_sum: `f` must be a callable `(phi, theta) -> scalar`, got {describe(f)}."
        )

    def loss_d(phi, theta):
        return -f(phi, theta)

    return Game(
        loss_g=f, loss_d=loss_d, grad_fn=grad_fn, equilibrium=equilibrium, name=name, zero_sum=True
    )


# --------------------------------------------------------------------------- n players


@jax.tree_util.register_pytree_node_class
class Players(tuple):
    """Joint parameters of an n-player game (``n >= 2``): a pytree that indexes like a tuple.

    ``w[i]`` is player ``i``'s parameters (any pytree), ``len(w)`` the number of players.
    Jacobians of n-player games have rows and columns in player order, ``ravel`` order
    within a player (``jax.flatten_util.ravel_pytree`` of ``w``).

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> w = jg.Players(jnp.zeros(2), 1.0, jnp.ones(3))
      >>> len(w), w[2].shape
      (3, (3,))
    """

    def __new__(cls, *players):
        return super().__new__(cls, players)

    def __repr__(self) -> str:
        return "Players(" + ", ".join(repr(x) for x in self) + ")"

    def tree_flatten(self):
        return tuple(self), None

    @classmethod
    def tree_unflatten(cls, _, children):
        return cls(*children)

    def replace(self, i: int, value) -> "Players":
        """A copy with player ``i``'s parameters replaced by ``value``."""
        return Players(*(value if j == i else x for j, x in enumerate(self)))


@jax.tree_util.register_pytree_node_class
class StackedPlayers:
    """Many identical players stacked along the leading axis of every leaf of ``x``.

    Player ``i``'s parameters are ``jax.tree.map(lambda a: a[i], x)``. The batched form of
    ``Players`` for games written as one loss ``loss(i, x)`` (``n_player_game(loss, n=...)``):
    the field and every analysis are one program whatever the number of players.

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> w = jg.StackedPlayers(jnp.arange(5.0))
      >>> len(w), float(w[3])
      (5, 3.0)
    """

    __slots__ = ("x",)

    def __init__(self, x):
        self.x = x

    def __len__(self) -> int:
        leaves = jax.tree.leaves(self.x)
        return int(leaves[0].shape[0]) if leaves and getattr(leaves[0], "ndim", 0) else 0

    def __getitem__(self, i):
        return jax.tree.map(lambda a: a[i], self.x)

    def __repr__(self) -> str:
        return f"StackedPlayers({self.x!r})"

    def tree_flatten(self):
        return (self.x,), None

    @classmethod
    def tree_unflatten(cls, _, children):
        return cls(children[0])


#: the types of a game's joint parameters
POINT_TYPES = (Joint, Players, StackedPlayers)


def is_point(w) -> bool:
    """Whether ``w`` is a game's joint parameters (``Joint``, ``Players`` or ``StackedPlayers``)."""
    return isinstance(w, POINT_TYPES)


@dataclasses.dataclass(frozen=True, eq=False)
class NPlayerGame:
    """An n-player differentiable game, in which each player minimises a loss of its own.

    Player ``i`` minimises its own loss of the joint parameters. Made by ``n_player_game``; see
    there.

    Attributes:
      losses: the players' losses ``w -> scalar`` (a tuple, player order), or for stacked
        players one function ``(i, x) -> scalar``.
      n: the number of players.
      stacked: whether the points are ``StackedPlayers`` (one loss for all players).
      grad_fn: optional hand-derived field ``w -> xi``.
      equilibrium: optional known equilibrium (a point of the game's type).
      name: a short label.
      field_from_losses: whether the field is the gradient of the losses (see ``Game``);
        ``False`` for ``modified_game``'s.

    Examples:
      >>> import jaxgan as jg
      >>> game = jg.n_player_game([lambda w: w[0] * w[1], lambda w: -w[0] * w[1],
      ... lambda w: w[2] ** 2])
      >>> game.n, game.stacked
      (3, False)
    """

    losses: Union[tuple, Callable]
    n: int
    stacked: bool = False
    grad_fn: Optional[Callable] = None
    equilibrium: Any = None
    name: str = "n-player game"
    #: never declared for n players: the two-player identity ``J_theta_phi = -J_phi_theta^T``
    zero_sum: bool = False
    field_from_losses: bool = True

    def replace(self, **changes) -> "NPlayerGame":
        """A copy of the game with some fields replaced."""
        return dataclasses.replace(self, **changes)


def n_player_game(
    losses: Union[Sequence[Callable], Callable],
    *,
    n: Optional[int] = None,
    grad_fn=None,
    equilibrium=None,
    name: str = "n-player game",
) -> NPlayerGame:
    """The n-player game in which player ``i`` minimises ``losses[i](w)``.

    Each loss is a pure scalar function of the whole joint parameters ``w = Players(x_1,
    ..., x_n)``; the simultaneous gradient is ``xi = Players(grad_{x_1} l_1(w), ...,
    grad_{x_n} l_n(w))`` and the game Jacobian ``d(-xi)/dw`` has ``n x n`` blocks, the
    off-diagonal ones (``H_o``) between different players (Balduzzi et al. 2018; Letcher
    et al. 2019). For many identical players pass one function ``loss(i, x)`` (``i`` a
    traced player index, ``x`` the players stacked along the leading axis) and ``n=``: the
    points are then ``StackedPlayers(x)`` and the field is one ``vmap`` over the players.

    Args:
      losses: a sequence of ``n >= 2`` callables ``w -> scalar``, or one callable
        ``(i, x) -> scalar`` with ``n``.
      n: the number of players of a stacked game (only with one callable).
      grad_fn: optional hand-derived field ``w -> xi`` (same structure as ``w``).
      equilibrium: optional known equilibrium (``Players`` or ``StackedPlayers``).
      name: a short label.

    Returns:
      An ``NPlayerGame``.

    Examples:
      >>> import jaxgan as jg
      >>> game = jg.n_player_game([lambda w: w[0] * w[1], lambda w: w[1] * w[2],
      ... lambda w: w[2] * w[0]])
      >>> xi = jg.simultaneous_gradient(game)(jg.Players(1.0, 2.0, 3.0))
      >>> [float(v) for v in xi]
      [2.0, 3.0, 1.0]

    References:
      Balduzzi, Racaniere, Martens, Foerster, Tuyls & Graepel, "The mechanics of n-player
      differentiable games", ICML 2018.
    """
    where = "n_player_game"
    if grad_fn is not None and not callable(grad_fn):
        raise TypeError(
            f"{where}: `grad_fn` must be a callable `w -> xi` or None, got {describe(grad_fn)}."
        )
    if not isinstance(name, str):
        raise TypeError(f"{where}: `name` must be a str, got {describe(name)}.")
    if callable(losses) and not isinstance(losses, (list, tuple)):
        if n is None or isinstance(n, bool) or not isinstance(n, int) or n < 2:
            raise ValueError(
                f"{where}: one loss `(i, x) -> scalar` is a stacked game and needs `n=`, "
                f"the number of players (an int >= 2), got n={n!r}."
            )
        _check_arity(
            losses,
            2,
            f"{where}: the stacked loss",
            "`(i, x) -> scalar`: the player's index and the players stacked along the leading axis",
        )
        if equilibrium is not None and not isinstance(equilibrium, StackedPlayers):
            raise TypeError(
                f"{where}: `equilibrium` of a stacked game must be a jaxgan.StackedPlayers "
                f"or None, got {describe(equilibrium)}."
            )
        return NPlayerGame(losses, n, True, grad_fn, equilibrium, name)
    if not isinstance(losses, (list, tuple)):
        raise TypeError(
            f"{where}: `losses` must be a sequence of callables `w -> scalar` (one per player), "
            f"or one callable `(i, x) -> scalar` with `n=`, got {describe(losses)}."
        )
    if n is not None:
        raise ValueError(
            f"{where}: `n` is for a stacked game (one loss `(i, x) -> scalar`); "
            f"with a sequence of losses the number of players is its length ({len(losses)})."
        )
    if len(losses) < 2:
        raise ValueError(
            f"{where}: `losses` must hold at least two players' losses, got {len(losses)}."
        )
    for i, loss in enumerate(losses):
        if not callable(loss):
            raise TypeError(
                f"{where}: `losses[{i}]` must be a callable `w -> scalar` "
                f"of the whole jaxgan.Players, got {describe(loss)}."
            )
        _check_arity(
            loss,
            1,
            f"{where}: `losses[{i}]`",
            "`w -> scalar`, one argument: the whole jaxgan.Players "
            "(`w[j]` is player j's parameters)",
        )
    if equilibrium is not None:
        if not isinstance(equilibrium, Players) or len(equilibrium) != len(losses):
            raise TypeError(
                f"{where}: `equilibrium` must be a jaxgan.Players of "
                f"{len(losses)} players or None, got {describe(equilibrium)}."
            )
    return NPlayerGame(tuple(losses), len(losses), False, grad_fn, equilibrium, name)


def _check_arity(fn, count: int, what: str, form: str) -> None:
    """Raise unless ``fn`` can be called with ``count`` positional arguments (when its
    signature can be read)."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return
    try:
        signature.bind(*([None] * count))
    except TypeError:
        raise TypeError(f"{what} must be {form}; its signature is {signature}.") from None


#: the types of a game
GAME_TYPES = (Game, NPlayerGame)


#: the remedy of a function that reads the losses, refused a game that carries another field
INSTEAD_OF_A_MODIFIED_GAME = (
    "Use the game given to jaxgan.modified_game, whose field is its losses' gradient."
)


def require_field_from_losses(game, where: str, instead: str):
    """``game`` unchanged when its field is the gradient of its losses; else a ``ValueError``
    saying that ``where``, which reads the losses, cannot be applied exactly to a game that
    carries another field (``modified_game``'s), and what works instead (``instead``).

    The one check of every function that reads a game's losses for more than their value:
    the second-order opponent-shaping terms (LOLA, SOS) and the constructors that rebuild a
    game from its losses (the regularisers, ``games.gman``)."""
    if getattr(game, "field_from_losses", True):
        return game
    raise ValueError(
        f"{where}: `game` ({game.name!r}) has a field that is not the gradient of its losses "
        "(field_from_losses=False, as jaxgan.modified_game builds), "
        f"so {where}, which reads the losses, cannot be applied to it exactly. {instead}"
    )
