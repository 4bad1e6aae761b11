"""Complex momentum (Lorraine, Acuna, Vicol & Duvenaud 2022)."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from .._core.algebra import Info, Role, transformation
from .._validation.domains import Complex, Real, domains

__all__ = ["ComplexMomentumState", "complex_momentum"]


class ComplexMomentumState(NamedTuple):
    """State of ``complex_momentum``: the buffer ``mu`` as its real and imaginary parts.

    ``re`` and ``im`` are real pytrees shaped like the parameters. Keeping both parts real makes
    the state an ordinary part of the step's map: ``update_jacobian`` and ``spectral_radius``
    differentiate the step over ``(w, Re mu, Im mu)``.

    Examples:
      >>> import jaxgan as jg
      >>> jg.transforms.ComplexMomentumState._fields
      ('re', 'im')
    """

    re: optax.Updates
    im: optax.Updates


@domains(learning_rate=Real(), beta=Complex())
def complex_momentum(
    learning_rate: jax.typing.ArrayLike, beta: jax.typing.ArrayLike
) -> optax.GradientTransformationExtraArgs:
    """Momentum with a complex coefficient: the buffer turns as well as decays.

    The buffer ``mu`` is complex, the parameters stay real and move along its real part,

    .. math:: \\mu_{k+1} = \\beta\\, \\mu_k - \\xi(w_k), \\qquad
              w_{k+1} = w_k + \\alpha\\, \\mathrm{Re}(\\mu_{k+1}),

    with ``alpha = learning_rate`` and ``mu_0 = 0``. A real ``beta`` is heavy-ball momentum.
    With ``beta = b_r + i b_i`` the step is linear in ``(w, Re mu, Im mu)``; at an
    equilibrium with Jacobian ``J`` of the field it is

    .. math:: \\begin{pmatrix} I - \\alpha J & \\alpha b_r I & -\\alpha b_i I \\\\
              -J & b_r I & -b_i I \\\\ 0 & b_i I & b_r I \\end{pmatrix},

    and each eigenvalue ``lambda`` of ``J`` gives three eigenvalues of the step: those of the
    3 x 3 matrix above with ``J`` replaced by ``lambda``. On the bilinear game ``f = x y``
    (``lambda = +-i``) no real ``beta`` converges with simultaneous steps, and
    ``alpha = 0.549725``, ``beta = 0.668098 exp(1.165484 i)`` gives the radius 0.8884 (in
    float64). The best radius, 0.8882, is a double root, so the radius moves with the square
    root of a change in the hyperparameters.

    This is a direction stage: it turns the field into an update, learning rate included, like
    ``optax.sgd``. Corrections go before it and projections after it; it needs neither the game
    nor the parameters, so it also serves as a per-player optimiser
    (``jg.transforms.per_player``, ``jg.transforms.alternating``). Cost per step: none beyond
    the field's one evaluation; the state is twice the parameters.

    Args:
      learning_rate: ``alpha``, the step along ``Re(mu)`` (traceable).
      beta: the complex momentum coefficient (a Python ``complex`` or a complex scalar array;
        traceable). For a search over it, build it from real numbers,
        ``modulus * jnp.exp(1j * argument)``.

    Returns:
      An ``optax.GradientTransformationExtraArgs`` with state ``ComplexMomentumState``.

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> game = jg.games.bilinear(1.0)
      >>> beta = 0.668098 * jnp.exp(1.165484j)
      >>> tx = jg.transforms.complex_momentum(0.549725, beta)
      >>> round(float(jg.spectral_radius(game, tx, game.equilibrium)), 3)
      0.888

    References:
      Lorraine, Acuna, Vicol & Duvenaud, "Complex Momentum for Optimization in Games",
      AISTATS 2022.
    """

    def init_fn(params):
        zeros = jax.tree.map(jnp.zeros_like, params)
        return ComplexMomentumState(zeros, zeros)

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        b = jnp.asarray(beta)
        b_re, b_im = jnp.real(b), jnp.imag(b)

        def turn(g, re, im):
            br, bi = b_re.astype(re.dtype), b_im.astype(re.dtype)
            return br * re - bi * im - g, bi * re + br * im

        pairs = jax.tree.map(turn, updates, state.re, state.im)
        outer = jax.tree.structure(updates)
        re, im = jax.tree.transpose(outer, jax.tree.structure((0, 0)), pairs)
        step = jax.tree.map(lambda r: (learning_rate * r).astype(r.dtype), re)
        return step, ComplexMomentumState(re, im)

    return transformation(Info(Role.DIRECTION, "complex_momentum"), init_fn, update_fn)
