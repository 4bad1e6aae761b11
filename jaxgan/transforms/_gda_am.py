"""Anderson-mixed gradient descent-ascent (GDA-AM, He et al. 2022)."""

from __future__ import annotations

from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp
import optax

from .._analysis.solve import default_tol
from .._core.algebra import (
    Counter,
    Info,
    Place,
    Role,
    field_of,
    inner_extra,
    inner_field,
    probe_inner,
    transformation,
)
from .._core.field import game_field
from .._core.game import Joint
from .._core.players import require_point
from .._validation.checks import accept_transformation, checked_game_update
from .._validation.domains import Integer, Maybe, Real, domains

__all__ = ["AndersonState", "gda_am"]


class AndersonState(NamedTuple):
    """State of ``gda_am``: the inner optimiser's state, the mixing history and the step count.

    The history is the last ``window + 1`` images ``g(w_j) = w_j + u_j`` and residuals
    ``u_j`` (newest first, each leaf with a leading axis of ``window + 1``).

    Examples:
      >>> import jaxgan as jg
      >>> jg.transforms.AndersonState._fields
      ('inner', 'images', 'residuals', 'count')
    """

    inner: optax.OptState
    images: Joint
    residuals: Joint
    count: jax.Array


@domains(window=Integer(0), ridge=Maybe(Real(0, low_open=True)))
def gda_am(
    inner: optax.GradientTransformation,
    *,
    window: int = 5,
    ridge: Optional[jax.typing.ArrayLike] = None,
) -> optax.GradientTransformationExtraArgs:
    """Anderson mixing of a GDA iteration (GDA-AM, He et al. 2022).

    The fixed-point map ``g(w) = w + u(xi(w))`` of ``inner`` (``optax.sgd(h)`` for simultaneous
    GDA, ``jg.transforms.alternating(optax.sgd(h))`` for alternating GDA), extrapolated over the
    newest ``m + 1`` iterates (type-II Anderson acceleration):

    .. math:: w_{k+1} = \\sum_{j=0}^{m} \\alpha_j\\, g(w_{k-j}), \\qquad
              \\alpha = \\arg\\min_{\\sum_j \\alpha_j = 1}
              \\Big|\\sum_j \\alpha_j (g(w_{k-j}) - w_{k-j})\\Big|^2,

    the weights from the ``(m+1) x (m+1)`` Gram matrix of the residuals (normalised by its
    trace, ``ridge`` added to its diagonal): ``alpha = G^-1 1 / (1^T G^-1 1)``. Before ``m``
    steps are stored it mixes those there are. With ``window=0`` the update is ``inner``'s,
    bitwise. The history is a fixed-size state, so ``lax.scan`` carries it.

    On a bilinear game ``x^T A y``, where simultaneous GDA spirals out for every step size,
    alternating GDA-AM converges for every ``m >= 1`` tested and simultaneous GDA-AM once the
    window spans the joint space (``m + 1 > n_phi + n_theta``, measured: on ``x y`` ``m = 3``
    for ``h <= 0.5`` and ``m = 5`` for ``h <= 1``; on a random 4 x 4 ``A``, ``m = 10``). With
    a smaller window simultaneous GDA-AM stagnates: the residual map ``u = -h J w`` has a
    skew-symmetric ``J``, so ``<u_0, u_1 - u_0> = 0`` and every other mixing step returns
    to the previous iterate (the odd steps of GMRES on ``I - h J`` stagnate the same way);
    measured on ``x y`` with ``m = 2`` it diverges, more slowly than GDA. (He et al. 2022
    prove convergence of both forms on bilinear games; their theorems are for the
    untruncated history.)

    ``xi`` is the field as the corrections before ``gda_am`` define it, and ``inner`` sees
    that field at every point it visits. The map is not differentiable at a fixed point
    (the weights depend on the residuals' directions, which vanish there), so its
    ``update_jacobian`` at an equilibrium is not a linearisation of the method: measure its
    behaviour with ``rollout`` or ``sweep`` (at an equilibrium ``spectral_radius`` is NaN:
    the derivative does not exist). Cost per step: ``inner``'s, a Gram matrix
    (``(m + 1)^2 n`` flops) and an ``(m + 1)``-sized solve.

    Args:
      inner: the GDA step (learning rate included), e.g. ``optax.sgd(h)`` or
        ``jg.transforms.alternating(optax.sgd(h))``.
      window: ``m``, past iterates mixed with the current one (static, ``>= 0``).
      ridge: Tikhonov term on the normalised Gram matrix; default ``1e-2 sqrt(eps)``.

    Returns:
      An ``optax.GradientTransformationExtraArgs``; ``update`` needs ``params`` and ``game=``.

    Examples:
      >>> import optax, jax.numpy as jnp, jaxgan as jg
      >>> game, w0 = jg.games.bilinear(1.0), jg.Joint(jnp.asarray(1.0), jnp.asarray(1.0))
      >>> final = jg.rollout(game, jg.transforms.gda_am(optax.sgd(0.5), window=4), w0, 50).final
      >>> bool(abs(final.phi) + abs(final.theta) < 1e-6)
      True

    References:
      He, Wang, Lin, Zhang & Xu, "GDA-AM: On the effectiveness of solving minimax
      optimization via Anderson acceleration", ICLR 2022.
      Walker & Ni, "Anderson acceleration for fixed-point iterations", SIAM J. Numer. Anal.
      2011.
    """
    inner = accept_transformation(inner, "gda_am")
    size = window + 1

    def init_fn(params):
        require_point(params, "gda_am.init")
        history = jax.tree.map(
            lambda p: jnp.zeros((size,) + jnp.shape(p), jnp.result_type(p)), params
        )
        return AndersonState(inner.init(params), history, history, jnp.asarray(0, jnp.int32))

    def update_fn(updates, state, params=None, *, game=None, **extra_args):
        game = checked_game_update(updates, params, game, "gda_am", joint=("params",))
        field = field_of(extra_args, game_field(game))
        nested = inner_field(
            inner, field, updates, state.inner, params, {**extra_args, "game": game}
        )
        u, inner_state = inner.update(
            updates, state.inner, params, game=game, **inner_extra(extra_args, field=nested)
        )
        count = state.count + 1
        if window == 0:
            return u, AndersonState(inner_state, state.images, state.residuals, count)
        image = optax.apply_updates(params, u)

        def push(history, new):
            return jax.tree.map(
                lambda h, x: jnp.concatenate([jnp.asarray(x, h.dtype)[None], h[:-1]]), history, new
            )

        images, residuals = push(state.images, image), push(state.residuals, u)
        weights = _mixing_weights(residuals, jnp.minimum(count, size), size, ridge)
        mixed = jax.tree.map(lambda g: jnp.tensordot(weights.astype(g.dtype), g, axes=1), images)
        total = jax.tree.map(lambda m, p: (m - p).astype(jnp.result_type(p)), mixed, params)
        return total, AndersonState(inner_state, images, residuals, count)

    def probe_inners(updates, state, params, extra, record):
        require_point(params, "gda_am")
        probe_inner(record, inner, updates, state.inner, params, extra, Place.JOINT, "gda_am")

    info = Info(
        Role.STEP,
        "gda_am",
        form="`jg.transforms.gda_am(optax.chain(optax.sgd(lr), {after_call}(...)))`",
    )
    why = (
        "GDA-AM's mixing weights use the `min(count, m + 1)` newest residuals, "
        "so its map changes over the first m + 1 steps and its step count is part of the map"
    )
    return transformation(
        info,
        init_fn,
        update_fn,
        probe_inner=probe_inners,
        counter=lambda state: (state.count, Counter(None, why)),
    )


def _mixing_weights(
    residuals: Joint, valid: jax.Array, size: int, ridge: Optional[jax.typing.ArrayLike]
) -> jax.Array:
    """``alpha = G^-1 1 / (1^T G^-1 1)`` over the ``valid`` newest residuals (the others get
    weight zero), ``G`` their Gram matrix normalised by its trace plus ``ridge I``."""
    leaves = [jnp.reshape(r, (size, -1)) for r in jax.tree.leaves(residuals)]
    dtype = jnp.result_type(*leaves)
    gram = sum(x @ x.T for x in leaves).astype(dtype)
    mask = jnp.arange(size) < valid
    both = mask[:, None] & mask[None, :]
    gram = jnp.where(both, gram, 0)
    scale = jnp.maximum(jnp.trace(gram), jnp.finfo(dtype).tiny)
    reg = default_tol(residuals) if ridge is None else ridge
    system = gram / scale + jnp.diag(jnp.where(mask, reg, 1.0).astype(dtype))
    z = jnp.linalg.solve(system, mask.astype(dtype))
    return z / jnp.sum(z)
