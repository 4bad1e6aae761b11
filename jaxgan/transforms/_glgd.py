"""GLGD: the generator descends the partial gradient of its loss with the discriminator kept at
its best response (a closed form, Newton's method or an optimiser's inner loop)."""

from __future__ import annotations

import inspect
from typing import Callable, Optional, Union

import optax

from .._analysis.manifold import _check_method
from ._best_response import best_response

__all__ = ["glgd"]


def glgd(
    inner: optax.GradientTransformation,
    discriminator: Union[Callable, str, optax.GradientTransformation],
    *,
    projection: Optional[Callable] = None,
    **kwargs,
) -> optax.GradientTransformationExtraArgs:
    """Generator-loss gradient descent, GLGD.

    Algorithm 2 of the lecture notes "Computing the GAN Equilibrium":

    .. math:: f^* \\leftarrow \\arg\\min_f d(R, f), \\qquad
              R \\leftarrow R - \\alpha P_o \\nabla_R g(R, f^*).

    The generator descends the *partial* gradient of its loss with the discriminator at
    its best response, which is ``best_response(inner, step="partial")``. For the
    non-saturating GAN in likelihood-ratio form (``games.likelihood_ratio``) this is
    gradient descent on ``C(R) = E[(1 + R) log(1 + R)]`` (after ``P_o``), not on
    ``g(R, f*(R))``: GLGD converges to ``R = 1``, where ``C = 2 log 2``.

    Args:
      inner: the generator's optimiser (``optax.sgd(alpha)``).
      discriminator: the best response: a closed form ``phi -> theta*``, ``"newton"``, or
        an optax transformation iterated to tolerance.
      projection: optional map of the generator's gradient (``P_o``).
      **kwargs: passed to ``best_response`` (tolerances, ``strict``...).

    Examples:
      >>> import jax.numpy as jnp, optax, jaxgan as jg
      >>> game = jg.games.likelihood_ratio(jnp.array([0.5, 0.3, 0.2]))
      >>> tx = jg.transforms.glgd(optax.sgd(4.0), game.best_response, projection=game.project)
      >>> out = jg.rollout(game, tx, game.start(jnp.array([2.0, 0.5, 0.1])), 200)
      >>> [round(float(r), 4) for r in out.final.phi]
      [1.0, 1.0, 1.0]
    """
    _check_method(discriminator, "glgd", "discriminator")
    # the options glgd hands on are checked, and named, as glgd's own
    own = {"inner", "step", "retraction", "generator_projection", "projection"}
    allowed = [p for p in inspect.signature(best_response).parameters if p not in own]
    for name, value in kwargs.items():
        if name not in allowed:
            raise TypeError(
                f"glgd: unknown option `{name}`; glgd takes `inner`, `discriminator`, "
                f"`projection` and the options {', '.join(f'`{a}`' for a in allowed)}."
            )
        domain = best_response.__domains__.get(name)
        if domain is not None:
            domain.check(value, "glgd", name)
    return best_response(
        inner, step="partial", retraction=discriminator, generator_projection=projection, **kwargs
    )
