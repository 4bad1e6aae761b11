"""STON'R's certificate of a point of a box game: the residual of its variational inequality
and its local type (first-order, local min-max, local Nash)."""

from __future__ import annotations

import enum

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from .._core.field import game_field
from .._core.game import Box, Game, Joint
from .._deprecations import warn
from .._validation.cache import compiled
from .._validation.checks import check_game, check_point, entry
from ._box import check_box, unit_cube

__all__ = ["LOCAL_TYPES", "stonr_certificate"]


class _CodesOrNames(enum.EnumMeta):
    """``LOCAL_TYPES[code]`` (the old tuple's indexing) still gives the label, with a warning."""

    def __getitem__(cls, key):
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            warn("jaxgan.transforms.LOCAL_TYPES[code]", "jaxgan.transforms.LOCAL_TYPES(code).label")
            return cls(int(key)).label
        return super().__getitem__(key)


class LOCAL_TYPES(enum.IntEnum, metaclass=_CodesOrNames):
    """The local type of a point of a box game (``stonr_certificate``, ``StonrResult.local_type``).

    Members compare equal to their codes, as ``jaxgan.RESULTS``; ``label`` is the printed name.

    Examples:
      >>> import jaxgan as jg
      >>> int(jg.transforms.LOCAL_TYPES.local_nash), jg.transforms.LOCAL_TYPES(1).label
      (2, 'local min-max')
    """

    first_order = 0
    local_minmax = 1
    local_nash = 2

    @property
    def label(self) -> str:
        """The printed name: ``"first-order"``, ``"local min-max"`` or ``"local Nash"``."""
        return {0: "first-order", 1: "local min-max", 2: "local Nash"}[int(self)]


FIRST_ORDER, LOCAL_MINMAX, LOCAL_NASH = (int(t) for t in LOCAL_TYPES)


@entry("w")
def stonr_certificate(game: Game, box: Box, w: Joint):
    """The first-order certificate of a point of a box game: its residual and local type.

    The residual is ``|w - Pi_box(w - xi(w))|_inf`` (in the box's units).

    .. math::

        r(w) = |w - \\Pi_{\\mathrm{box}}(w - \\xi(w))|_\\infty, \\qquad S = J_{\\phi\\phi} -
        J_{\\phi\\theta} J_{\\theta\\theta}^{-1} J_{\\theta\\phi}

    The type uses the interior coordinates (strictly inside the box): with ``J = d xi /
    dw`` split by player, a strict local Nash point has ``J_phiphi`` and ``J_thetatheta``
    positive definite; a strict local min-max point has ``J_thetatheta`` positive definite
    and the Schur complement ``J_phiphi - J_phitheta J_thetatheta^{-1} J_thetaphi``
    positive definite (for ``min_x max_y f``: ``-H_yy`` and ``H_xx - H_xy H_yy^{-1}
    H_yx``).

    Returns:
      ``(residual, local_type)`` with ``local_type`` a ``LOCAL_TYPES`` code (0, 1 or 2).

    Examples:
      >>> import jaxgan as jg
      >>> game = jg.zero_sum(lambda x, y: (x - 0.5) ** 2 - (y - 0.5) ** 2)
      >>> box = jg.Box(jg.Joint(0.0, 0.0), jg.Joint(1.0, 1.0))
      >>> r, t = jg.transforms.stonr_certificate(game, box, jg.Joint(0.5, 0.5))
      >>> float(r), jg.transforms.LOCAL_TYPES(int(t)).label
      (0.0, 'local Nash')
    """
    game = check_game(game, "stonr_certificate", two_player="stonr")
    box = check_box(box, "stonr_certificate", strict=True)
    box = Box(*(jax.tree.map(jnp.asarray, b) for b in box))
    w = jax.tree.map(jnp.asarray, check_point(game, w, "stonr_certificate"))
    return compiled(
        "stonr_certificate", lambda g: lambda b, p: first_order_certificate(g, b, p), (game,)
    )(box, w)


def first_order_certificate(game: Game, box: Box, w: Joint):
    """The traceable body of ``stonr_certificate``."""
    cube = unit_cube(box)
    z, unravel = ravel_pytree(jax.tree.map(jnp.asarray, w))
    dtype = z.dtype
    field = game_field(game)

    def xi_flat(x):
        return ravel_pytree(field(unravel(x)))[0]

    lo, hi = cube.lo.astype(dtype), (cube.lo + cube.scale).astype(dtype)
    xi = xi_flat(z)
    residual = jnp.max(jnp.abs(z - jnp.clip(z - xi, lo, hi)))
    jac = jax.jacfwd(xi_flat)(z)
    d = z.size
    idx = jnp.arange(d)
    span = hi - lo
    interior = (z > lo + 1e-9 * span) & (z < hi - 1e-9 * span)
    is_phi = idx < cube.n_phi
    eye = jnp.eye(d, dtype=dtype)
    keep = interior[:, None] & interior[None, :]
    jm = jnp.where(keep, jac, eye)
    both_phi = is_phi[:, None] & is_phi[None, :]
    both_theta = ~is_phi[:, None] & ~is_phi[None, :]
    a = jnp.where(both_phi, jm, 0.0) + jnp.where(~both_phi, eye, 0.0)
    c = jnp.where(both_theta, jm, 0.0) + jnp.where(~both_theta, eye, 0.0)
    b = jnp.where(is_phi[:, None] & ~is_phi[None, :], jm, 0.0)
    b2 = jnp.where(~is_phi[:, None] & is_phi[None, :], jm, 0.0)

    def pd(m):
        return jnp.min(jnp.linalg.eigvalsh((m + m.T) / 2)) > 0

    schur = a - b @ jnp.linalg.solve(c, b2)
    nash = pd(a) & pd(c)
    minmax = pd(c) & pd(jnp.where(both_phi, schur, eye))
    local_type = jnp.where(nash, LOCAL_NASH, jnp.where(minmax, LOCAL_MINMAX, FIRST_ORDER))
    return residual, local_type.astype(jnp.int32)
