"""The types of a game: joint parameters, box constraints, the game itself.

Sign conventions (the contract of the whole library):

* ``Joint(phi, theta)``: ``phi`` is the generator, ``theta`` the discriminator.
* ``Game(loss_g, loss_d)``: *both* players minimise their own loss, each a pure
  function ``loss(phi, theta) -> scalar``. ``zero_sum(f)`` is the game
  ``min_phi max_theta f``, i.e. ``loss_g = f`` and ``loss_d = -f``.
* The simultaneous gradient ``xi(w) = Joint(grad_phi loss_g, grad_theta loss_d)`` is
  what optax consumes (``jaxgan._field``); the vector field is ``v = -xi`` (Mescheder et
  al. 2017, 2018; Nie & Patel 2019). Jacobians and spectra are of ``v``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, NamedTuple, Optional

import jax

from ._domains import describe

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
        grad_theta loss_d)``; used instead of autodiff wherever the field is needed.
      equilibrium: optional known equilibrium ``Joint`` (metadata used by reports and
        sweeps for distances).
      name: a short label for tables and reports.
      zero_sum: declares that ``loss_g + loss_d`` is a function of ``phi`` plus a function
        of ``theta`` (zero-sum up to each player's own terms, e.g. a discriminator
        penalty that depends on ``theta`` alone), so that the mixed blocks satisfy
        ``J_theta_phi = -J_phi_theta^T``. Corrections use it for cheaper identities
        (SGA's adjustment then equals JARE's). ``zero_sum(f)`` sets it.

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> game = jg.Game(loss_g=lambda p, t: p * t, loss_d=lambda p, t: -p * t)
      >>> xi = jg.simultaneous_gradient(game)(jg.Joint(2.0, 3.0))
      >>> float(xi.phi), float(xi.theta)
      (3.0, -2.0)
    """

    loss_g: Loss
    loss_d: Loss
    grad_fn: Optional[Callable[[Joint], Joint]] = None
    equilibrium: Optional[Joint] = None
    name: str = "game"
    zero_sum: bool = False

    def __post_init__(self):
        for arg in ("loss_g", "loss_d"):
            if not callable(getattr(self, arg)):
                raise TypeError(
                    f"Game: `{arg}` must be a callable `(phi, theta) -> scalar`, got "
                    f"{type(getattr(self, arg)).__name__}."
                )
        if self.grad_fn is not None and not callable(self.grad_fn):
            raise TypeError(
                "Game: `grad_fn` must be a callable `w -> Joint(grad_phi loss_g, "
                f"grad_theta loss_d)` or None, got {describe(self.grad_fn)}."
            )
        if self.equilibrium is not None and not isinstance(self.equilibrium, Joint):
            raise TypeError(
                "Game: `equilibrium` must be a jaxgan.Joint or None, got "
                f"{describe(self.equilibrium)}."
            )

    def replace(self, **changes) -> "Game":
        """A copy of the game with some fields replaced."""
        return dataclasses.replace(self, **changes)


def zero_sum(f: Loss, *, grad_fn=None, equilibrium=None, name: str = "zero-sum game") -> Game:
    """The zero-sum game ``min_phi max_theta f(phi, theta)``.

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
        raise TypeError(f"zero_sum: `f` must be a callable `(phi, theta) -> scalar`, got {describe(f)}.")

    def loss_d(phi, theta):
        return -f(phi, theta)

    return Game(loss_g=f, loss_d=loss_d, grad_fn=grad_fn, equilibrium=equilibrium, name=name, zero_sum=True)
