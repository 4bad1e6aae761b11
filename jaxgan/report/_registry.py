"""The report's registry: its algorithms (each with the hyperparameter its stability map
spans), its built-in games, and games loaded from a user's file."""

from __future__ import annotations

import os
import runpy
from typing import Callable, Dict, NamedTuple, Optional, Union

import jax.numpy as jnp
import optax
from jax.flatten_util import ravel_pytree

from .. import games as catalogue
from .. import regularizers
from .._core.field import simultaneous_gradient
from .._core.game import Game, Joint
from .._core.players import TWO_PLAYER_ONLY
from ..regularizers import clip_discriminator
from ..transforms import (
    alternating,
    best_response,
    cgd,
    consensus,
    extragradient,
    follow_the_ridge,
    hamiltonian,
    jare,
    lola,
    lookahead,
    opponent_lookahead,
    sga,
    sos,
    ttur,
)


class Algorithm(NamedTuple):
    """An algorithm of the report: ``make(lr, h) -> optax transformation``.

    Attributes:
      make: the transformation at learning rate ``lr`` and hyperparameter ``h``.
      axis: the hyperparameter's name (the stability map's second axis), or None.
      values: the hyperparameter's values on the map.
      default: the value of the 1-D learning-rate analysis and the refinement test.
      batch_radius: whether ``stability_map`` vmaps the radii (False for inner solvers).
    """

    make: Callable
    axis: Optional[str]
    values: tuple
    default: float
    batch_radius: bool = True


RATIOS = (0.25, 0.5, 1.0, 2.0, 4.0)
#: The critic's weight-clipping bound of ``clipped-critic-5`` (the WGAN paper's 0.01 is for
#: networks; on these games the parameters are O(1)).
CRITIC_CLIP = 1.0
WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)
#: The opponent's assumed learning rate of look-ahead, LOLA and SOS.
ALPHAS = (0.0, 0.25, 0.5, 1.0, 2.0)
#: Lookahead-minmax's slow step (in (0, 1]) and its synchronisation period.
SLOW_STEPS = (0.25, 0.5, 0.75, 1.0)
SYNC_PERIOD = 5


def builtin_algorithms() -> Dict[str, Algorithm]:
    """Every algorithm of the library with the hyperparameter its stability map spans:
    the discriminator-to-generator learning-rate ratio (TTUR) for SimGD, alternating GD,
    the clipped 5-step critic, extragradient and Follow-the-Ridge, the correction weight for
    consensus, JARE, SGA and consensus or JARE composed with alternating GD (the corrected
    field at every player step), the opponent's assumed learning rate for look-ahead, LOLA
    and SOS, the slow step of Lookahead-minmax (a periodic step: its radius is the per-step
    rate over its cycle of ``sync_period`` steps); best-response descent (Riemannian step,
    Newton retraction), CGD and Hamiltonian descent have the learning rate only. ACGD and
    GDA-AM are not in the report: their maps never repeat (``jg.spectral_radius`` refuses them
    with the reason: ACGD's bias correction ``1 - beta^t``, GDA-AM's window filling over its
    first ``m + 1`` steps) and are not differentiable at an equilibrium (ACGD's step size
    ``eta / (sqrt(v) + eps)`` at ``v = 0``, GDA-AM's mixing weights where the residuals
    vanish), so no spectral radius describes them; ``notebooks/game_optimisers.ipynb`` and
    ``benchmarks/corrections.py`` measure them by their runs."""
    return {
        "simgd": Algorithm(lambda lr, r: ttur(lr, r * lr), "lr_d/lr_g", RATIOS, 1.0),
        "alternating": Algorithm(
            lambda lr, r: alternating(Joint(optax.sgd(lr), optax.sgd(r * lr))),
            "lr_d/lr_g",
            RATIOS,
            1.0,
        ),
        "consensus": Algorithm(
            lambda lr, g: optax.chain(consensus(g), optax.sgd(lr)), "gamma", WEIGHTS, 1.0
        ),
        "jare": Algorithm(lambda lr, g: optax.chain(jare(g), optax.sgd(lr)), "gamma", WEIGHTS, 1.0),
        "sga": Algorithm(lambda lr, g: optax.chain(sga(g), optax.sgd(lr)), "lambda", WEIGHTS, 1.0),
        # the composition rule: every player step of the alternating round uses the corrected field
        "consensus+alternating": Algorithm(
            lambda lr, g: optax.chain(consensus(g), alternating(optax.sgd(lr))),
            "gamma",
            WEIGHTS,
            1.0,
        ),
        "jare+alternating": Algorithm(
            lambda lr, g: optax.chain(jare(g), alternating(optax.sgd(lr))), "gamma", WEIGHTS, 1.0
        ),
        # WGAN-style training: 5 critic steps per generator step, the critic clipped after each
        "clipped-critic-5": Algorithm(
            lambda lr, r: alternating(
                Joint(
                    optax.sgd(lr), optax.chain(optax.sgd(r * lr), clip_discriminator(CRITIC_CLIP))
                ),
                d_steps=5,
            ),
            "lr_d/lr_g",
            RATIOS,
            1.0,
        ),
        "extragradient": Algorithm(
            lambda lr, r: extragradient(ttur(lr, r * lr)), "lr_d/lr_g", RATIOS, 1.0
        ),
        "follow-the-ridge": Algorithm(
            lambda lr, r: optax.chain(follow_the_ridge(ratio=1.0 / r), ttur(lr, r * lr)),
            "lr_d/lr_g",
            RATIOS,
            1.0,
            batch_radius=False,
        ),
        "best-response": Algorithm(
            lambda lr, _: best_response(optax.sgd(lr)), None, (0.0,), 0.0, batch_radius=False
        ),
        # the field's other methods: the learning rate is part of CGD's update; look-ahead,
        # LOLA and SOS span the opponent's assumed learning rate alpha
        "cgd": Algorithm(lambda lr, _: cgd(lr), None, (0.0,), 0.0, batch_radius=False),
        "hamiltonian": Algorithm(
            lambda lr, _: optax.chain(hamiltonian(), optax.sgd(lr)), None, (0.0,), 0.0
        ),
        "look-ahead": Algorithm(
            lambda lr, a: optax.chain(opponent_lookahead(a), optax.sgd(lr)), "alpha", ALPHAS, 0.5
        ),
        "lola": Algorithm(lambda lr, a: optax.chain(lola(a), optax.sgd(lr)), "alpha", ALPHAS, 0.5),
        "sos": Algorithm(lambda lr, a: optax.chain(sos(a), optax.sgd(lr)), "alpha", ALPHAS, 0.5),
        # periodic: its radius is the cycle's per-step rate rho(J_cycle)^(1/k) (jg.spectral_radius)
        "lookahead": Algorithm(
            lambda lr, a: lookahead(optax.sgd(lr), sync_period=SYNC_PERIOD, alpha=a),
            "alpha",
            SLOW_STEPS,
            0.5,
        ),
    }


def n_player_form(name: str, alg: Algorithm, n: int) -> Union[Algorithm, str]:
    """The form of the report's algorithm ``name`` on a game of ``n`` players, or why it has
    none. Algorithms written over the whole field are unchanged (consensus, SGA, Hamiltonian,
    look-ahead, LOLA, SOS, CGD, lookahead); SimGD and extragradient lose the two players'
    learning-rate ratio (one learning rate for all); alternating steps the players in the
    order ``0, 1, ..., n - 1``; the two-player methods are not applicable, with the reason
    (``jaxgan._core.players.TWO_PLAYER_ONLY``)."""
    if n == 2:
        return alg
    order = tuple(range(n))
    forms = {
        "simgd": Algorithm(lambda lr, _: optax.sgd(lr), None, (0.0,), 0.0),
        "extragradient": Algorithm(lambda lr, _: extragradient(optax.sgd(lr)), None, (0.0,), 0.0),
        "alternating": Algorithm(
            lambda lr, _: alternating(optax.sgd(lr), order=order), None, (0.0,), 0.0
        ),
        "consensus+alternating": Algorithm(
            lambda lr, g: optax.chain(consensus(g), alternating(optax.sgd(lr), order=order)),
            "gamma",
            WEIGHTS,
            1.0,
        ),
    }
    if name in forms:
        return forms[name]
    if name in ("consensus", "sga", "hamiltonian", "look-ahead", "lola", "sos", "cgd", "lookahead"):
        return alg
    reasons = {
        "jare": TWO_PLAYER_ONLY["jare"],
        "jare+alternating": TWO_PLAYER_ONLY["jare"],
        "clipped-critic-5": "it clips a discriminator after each of its five steps "
        "per generator step",
        "follow-the-ridge": TWO_PLAYER_ONLY["follow_the_ridge"],
        "best-response": TWO_PLAYER_ONLY["best_response"],
    }
    return "defined for two players: " + reasons.get(
        name, "it names a generator and a discriminator"
    )


#: the built-in games of n players (offered by ``--game``; not in the default set)
N_PLAYER_GAMES = ("cyclic-4", "cournot-4", "matching-pennies-3", "gman-2-dirac")


def builtin_games() -> Dict[str, Callable[[], Game]]:
    """The games the main job knows, by name (each with its equilibrium): the two-player games
    of the default run and the n-player games of ``N_PLAYER_GAMES``."""
    return {
        "dirac-standard": lambda: catalogue.dirac("standard"),
        "dirac-non_saturating": lambda: catalogue.dirac("non_saturating"),
        "dirac-wgan": lambda: catalogue.dirac("wgan"),
        "dirac-standard+r1": lambda: regularizers.r1(catalogue.dirac("standard"), 0.3),
        "dirac-standard+noise": lambda: regularizers.instance_noise(
            catalogue.dirac("standard"), 0.7
        ),
        "linear-gaussian": lambda: catalogue.linear_gaussian(jnp.array([1.0, 0.5]), 1.0),
        "turinici": lambda: catalogue.turinici(1.0),
        "cyclic-4": lambda: catalogue.cyclic(4),
        "cournot-4": lambda: catalogue.cournot(4, a=10.0, b=0.5, c=1.0),
        "matching-pennies-3": lambda: catalogue.cyclic_matching_pennies(3),
        "gman-2-dirac": lambda: catalogue.gman(catalogue.dirac("standard"), 2),
    }


def default_games() -> Dict[str, Callable[[], Game]]:
    """The games of the default run: the two-player built-in games."""
    return {k: v for k, v in builtin_games().items() if k not in N_PLAYER_GAMES}


def load_game_file(path: str) -> Dict[str, Callable[[], Game]]:
    """Games from a user's Python file: it defines ``game`` (a ``jaxgan.Game`` with an
    ``equilibrium``) or ``games`` (a dict ``name -> Game``)."""
    if not os.path.isfile(path):
        raise ValueError(f"--game-file: no such file {path!r}.")
    namespace = runpy.run_path(path)
    found = namespace.get("games")
    if found is None and "game" in namespace:
        found = {os.path.splitext(os.path.basename(path))[0]: namespace["game"]}
    if not isinstance(found, dict) or not found:
        raise ValueError(
            f"--game-file: {path} must define `game = jaxgan.Game(...)` "
            "or `games = {name: Game}`."
        )
    out = {}
    for name, g in found.items():
        if not isinstance(g, Game):
            raise ValueError(
                f"--game-file: `{name}` in {path} is a {type(g).__name__}, expected a jaxgan.Game."
            )
        if g.equilibrium is None:
            raise ValueError(
                f"--game-file: game `{name}` in {path} has no equilibrium; "
                "build it with `jaxgan.Game(loss_g, loss_d, equilibrium=jaxgan.Joint(...))` "
                "so the analysis knows where to look."
            )
        _check_stationary(g, str(name), path)
        out[str(name)] = lambda g=g: g
    return out


def _check_stationary(game: Game, name: str, path: str) -> None:
    """Refuse a stated equilibrium at which the field does not vanish: a report about it would
    analyse a point the runs move away from."""
    try:
        field = ravel_pytree(simultaneous_gradient(game)(game.equilibrium))[0]
    except (TypeError, ValueError) as err:
        raise ValueError(f"--game-file: game `{name}` in {path}: {err}") from err
    norm = float(jnp.linalg.norm(field))
    scale = float(jnp.linalg.norm(ravel_pytree(game.equilibrium)[0]))
    tol = 1e-6 * (1.0 + scale)
    if not norm <= tol:
        raise ValueError(
            f"--game-file: the stated equilibrium of game `{name}` in "
            f"{path} is not a stationary point: the field has norm |xi(w*)| = {norm:.3g} there "
            f"(at most {tol:.1g} expected); give the point where both players' gradients vanish."
        )


#: Where a game of the report comes from, so that a worker process can build it again:
#: ``("builtin", name)`` or ``("file", path, name)``.
GameSource = tuple


def _build_from_source(source: GameSource) -> Game:
    if source[0] == "builtin":
        return builtin_games()[source[1]]()
    if source[0] == "file":
        return load_game_file(source[1])[source[2]]()
    raise ValueError(f"unknown game source {source!r}")


def build_from_source(source: GameSource) -> Game:
    """The game a ``GameSource`` names (a worker process builds its games again from these)."""
    if source[0] == "builtin":
        return builtin_games()[source[1]]()
    if source[0] == "file":
        return load_game_file(source[1])[source[2]]()
    raise ValueError(f"unknown game source {source!r}")
