"""One discrete step of an optax algorithm on a game: the map ``(w, s) -> (w', s')``."""

from __future__ import annotations

from typing import Callable, Tuple

import jax
import jax.numpy as jnp
import optax

from ._checks import check_game, check_point
from ._field import checked_update, game_field
from ._game import Game, Joint
from ._scaffold import accept_transformation


def check_tx(tx, where: str, hyperparams=None) -> None:
    """Check an entry point's ``tx`` argument: an optax transformation, or with
    ``hyperparams`` a callable ``h -> transformation`` (a ``make_tx``)."""
    if hyperparams is None:
        accept_transformation(tx, where, "tx")
        return
    if isinstance(tx, optax.GradientTransformation) or not callable(tx):
        raise TypeError(
            f"{where}: with `hyperparams=`, `tx` must be a callable `h -> optax transformation` (a make_tx, e.g. "
            f"`lambda h: optax.sgd(h['lr'])`), got {type(tx).__name__}; without `hyperparams`, pass the "
            "transformation itself."
        )


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

    def check_all_read(self, where: str) -> None:
        unread = sorted(set(dict.keys(self)) - self.read)
        if unread:
            names = ", ".join(f"`{k}`" for k in unread)
            raise ValueError(
                f"{where}: grid key(s) {names} are never read by `make_tx` (nor by the game or the start): every run "
                f"would be the same; use the key (e.g. `h[{unread[0]!r}]`) or drop it from the grid."
            )


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
            f"{where}: `state` does not match `tx.init(w)` (another optimiser's state?): tree structure "
            f"{got_def} but `tx.init(w)` gives {want_def}."
        )
    for (path, a), b in zip(jax.tree_util.tree_leaves_with_path(expected), jax.tree.leaves(state)):
        if tuple(a.shape) != tuple(jnp.shape(b)):
            raise ValueError(
                f"{where}: `state{jax.tree_util.keystr(path)}` has shape {tuple(jnp.shape(b))} but `tx.init(w)` gives {tuple(a.shape)}."
            )


def tx_at(tx, hyperparams, where: str) -> optax.GradientTransformationExtraArgs:
    """The transformation of an entry point: ``tx`` itself, or ``tx(hyperparams)`` for a
    ``make_tx`` (``hyperparams`` traced: a new value re-uses the compiled program)."""
    if hyperparams is None:
        return accept_transformation(tx, where, "tx")
    return accept_transformation(tx(hyperparams), f"{where} (the transformation made from `hyperparams`)", "tx")


def make_step(game: Game, tx) -> Callable[[Joint, optax.OptState], Tuple[Joint, optax.OptState]]:
    """The one-step map of algorithm ``tx`` on ``game``.

    ``step(w, s)`` computes ``xi(w)``, ``updates, s' = tx.update(xi, s, w, game=game)``
    and returns ``(w + updates, s')``. Every run, sweep and update Jacobian in jaxgan is
    built from this one function. When first traced it checks the chain's order: a jaxgan
    correction placed after a stage that rewrote ``xi`` (a learning-rate scaling) raises a
    ``ValueError`` naming it. It also passes the step's field context (``jaxgan_field``),
    so that a wrapper evaluating the field at a new point (``alternating``,
    ``extragradient``, ``lookahead``) uses the field as the corrections before it in the
    chain define it (``jaxgan._composition``).

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
    step = step_of(game, accept_transformation(tx, "make_step", "tx"))
    return lambda w, state: step(check_point(game, w, "make_step"), state)


def step_of(game: Game, tx: optax.GradientTransformationExtraArgs) -> Callable[[Joint, optax.OptState], Tuple[Joint, optax.OptState]]:
    """``make_step``'s map for a game, transformation and points its public entry point
    has checked (``check_game``, ``accept_transformation``, ``check_point``): runs and
    update Jacobians build their programs from it. The chain order is still checked, the
    first time it is traced."""
    field = game_field(game)
    update = checked_update(tx, game)

    def step(w, state):
        updates, state = update(field(w), state, w)
        return optax.apply_updates(w, updates), state

    return step

