"""Path-angle plots (Berard et al. 2020): the field along the segment between two points.

Berard, Gidel, Almahairi, Vincent & Lacoste-Julien (2020, "A closer look at the
optimization landscapes of generative adversarial networks", Section 4) look at a
trained GAN along the straight line from the initial parameters ``w_0`` to the final ones
``w_1``, ``w(alpha) = w_0 + alpha (w_1 - w_0)``: the norm of the simultaneous gradient,
the cosine between it and the segment's direction, and the losses. At a point where
training converged to a stationary point with rotation (a local Nash or a saddle with
large imaginary eigenvalues), the norm dips near ``alpha = 1`` while the cosine swings
across zero, a "bump" rather than the sign change a minimisation shows; a cosine that
stays near zero where the norm is large says the field turns around the path (rotation).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from .._core.field import game_field
from .._core.game import Game, Joint
from .._validation.cache import compiled
from .._validation.checks import check_finite, check_game, check_joint, check_point, entry
from .._validation.domains import Integer


class PathAngle(NamedTuple):
    """The result of ``path_angle``, each field of shape ``(num,)`` except ``alphas``'s own.

    Attributes:
      alphas: the path coordinates (``0`` at ``w_0``, ``1`` at ``w_1``).
      field_norm: ``|xi(w(alpha))|``.
      cosine: ``<xi, w_1 - w_0> / (|xi| |w_1 - w_0|)``: the path-angle's cosine (``-1``:
        descent points along the path towards ``w_1``); NaN where the field vanishes
        (``field_norm == 0``: the angle is undefined there, never reported as 0).
      cosine_phi, cosine_theta: the same cosine for each player's part alone; NaN where that
        player's part of the field vanishes, or everywhere when the segment does not move
        that player.
      loss_g, loss_d: the players' losses.

    Examples:
      >>> import jaxgan as jg
      >>> out = jg.path_angle(jg.games.bilinear(1.0), jg.Joint(1.0, 0.0), jg.Joint(0.0, 0.0), num=3)
      >>> [round(float(c), 6) for c in out.cosine]  # x y: the field turns around the path
      [0.0, 0.0, 0.0]
    """

    alphas: jax.Array
    field_norm: jax.Array
    cosine: jax.Array
    cosine_phi: jax.Array
    cosine_theta: jax.Array
    loss_g: jax.Array
    loss_d: jax.Array


@entry("w_init", "w_final", num=Integer(2))
def path_angle(
    game: Game, w_init: Joint, w_final: Joint, *, alphas=None, num: int = 57
) -> PathAngle:
    """The path angle: the field's norm, its cosine with a segment, and the losses along it.

    The norm of the simultaneous gradient ``xi``, its cosine with the segment direction
    ``w_1 - w_0`` (joint and per player), and the losses along
    ``w(alpha) = w_0 + alpha (w_1 - w_0)`` (Berard et al. 2020, Section 4; see the module
    docstring).

    The cosine is of ``xi`` (what gradient descent follows downhill): ``-1`` means the
    field points straight back along the path. Default ``alphas``: ``num`` points evenly
    on ``[-0.2, 1.2]`` (57 puts both ends on the grid). One compiled program per game
    object; points and ``alphas`` are traced; vmappable over pairs of points.

    Args:
      game: a ``Game``.
      w_init, w_final: the ends, ``Joint`` pytrees of the same structure.
      alphas: optional 1-D array of path coordinates (overrides ``num``).
      num: number of evenly spaced coordinates on ``[-0.2, 1.2]``.

    Returns:
      A ``PathAngle``.

    Examples:
      >>> import jaxgan as jg
      >>> # xi = w: it points back along the path, then ahead past w_1
      >>> game = jg.games.quadratic(1.0, 0.0, 1.0)
      >>> out = jg.path_angle(game, jg.Joint(1.0, 1.0), jg.Joint(0.0, 0.0), num=3)
      >>> [round(float(c), 6) for c in out.alphas], [round(float(c), 6) for c in out.cosine]
      ([-0.2, 0.5, 1.2], [-1.0, -1.0, 1.0])
    """
    where = "path_angle"
    game = check_game(game, where, two_player="path_angle")
    w_init = jax.tree.map(jnp.asarray, check_point(game, w_init, where, "w_init"))
    # w_final must be shaped like w_init (below), so the field check of w_init serves both
    w_final = jax.tree.map(jnp.asarray, check_joint(w_final, where, "w_final"))
    check_finite(w_init, where, "w_init")
    check_finite(w_final, where, "w_final")
    if jax.tree.structure(w_init) != jax.tree.structure(w_final) or [
        jnp.shape(x) for x in jax.tree.leaves(w_init)
    ] != [jnp.shape(x) for x in jax.tree.leaves(w_final)]:
        raise ValueError(f"{where}: `w_final` must have the structure and shapes of `w_init`.")
    leaves = jax.tree.leaves((w_init, w_final))
    if not any(isinstance(x, jax.core.Tracer) for x in leaves) and all(
        bool(np.all(np.asarray(a) == np.asarray(b)))
        for a, b in zip(jax.tree.leaves(w_init), jax.tree.leaves(w_final))
    ):
        raise ValueError(
            f"{where}: `w_final` equals `w_init`: the segment has zero length, "
            "so its direction and every cosine with it are undefined; give two different points."
        )
    if alphas is None:
        Integer(2).check(num, where, "num")
        dtype = jnp.result_type(*jax.tree.leaves(w_init))
        alphas = jnp.linspace(-0.2, 1.2, int(num), dtype=dtype)
    else:
        alphas = jnp.asarray(alphas)
        if alphas.ndim != 1 or alphas.shape[0] < 1:
            raise ValueError(
                f"{where}: `alphas` must be a non-empty 1-D array, got shape {alphas.shape}."
            )
        if not isinstance(alphas, jax.core.Tracer) and not bool(
            np.all(np.isfinite(np.asarray(alphas)))
        ):
            raise ValueError(f"{where}: `alphas` has non-finite values.")
    return compiled(where, _path_angle_program, (game,))(w_init, w_final, alphas)


def _cosine(a, b):
    """``<a, b> / (|a| |b|)``, NaN where either vanishes (0/0: undefined, not 0)."""
    na, nb = jnp.linalg.norm(a), jnp.linalg.norm(b)
    return jnp.where(
        (na > 0) & (nb > 0), jnp.vdot(a, b) / jnp.where(na * nb > 0, na * nb, 1.0), jnp.nan
    )


def _path_angle_program(game):
    xi = game_field(game)

    def program(w0, w1, alphas):
        z0, unravel = ravel_pytree(w0)
        d = ravel_pytree(w1)[0] - z0
        n_phi = ravel_pytree(w0.phi)[0].shape[0]

        def at(alpha):
            w = unravel(z0 + alpha * d)
            g = ravel_pytree(xi(w))[0]
            return (
                jnp.linalg.norm(g),
                _cosine(g, d),
                _cosine(g[:n_phi], d[:n_phi]),
                _cosine(g[n_phi:], d[n_phi:]),
                game.loss_g(w.phi, w.theta),
                game.loss_d(w.phi, w.theta),
            )

        out = jax.lax.map(at, alphas)
        return PathAngle(alphas, *out)

    return program
